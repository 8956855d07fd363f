//! The node's configuration: a TOML file read in two stages.
//!
//! 1. [`raw::RawConfig`]: serde with `deny_unknown_fields`, every key's
//!    default documented on its field, so a misspelt key is refused rather
//!    than silently ignored.
//! 2. [`RawConfig::validate`](raw::RawConfig): typed values (multiaddrs,
//!    durations, absolute paths, non-zero limits, parsed agency keys) and
//!    cross-field checks (unique peer names and keys).
//!
//! Every error names the file, the key and what would be valid.
//! `config/examples/` holds the three-agency demo federation; a test
//! validates each.
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod raw;
mod template;

use std::collections::{BTreeMap, BTreeSet};
use std::num::{NonZeroU32, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::time::Duration;

use liaison_protocol::keys::AgencyKey;
use liaison_protocol::record::Handling;
use liaison_protocol::{Country, SelectorKind};
pub use multiaddr::Multiaddr;

pub use raw::RawConfig;
pub use template::{new_config_text, NewNode, TLS_CERT_FILE, TLS_KEY_FILE};

/// The conventional file name inside a node's folder.
pub const FILE_NAME: &str = "liaison.toml";

/// A configuration that could not be used. Display names the file, then the
/// key (or line), then the problem and the fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read.
    #[error("{}: cannot read the config file: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not valid TOML, a misspelt key, or a value of the wrong type.
    #[error("{}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// toml's report, with the line, column and a snippet.
        message: String,
    },
    /// A value that is well-typed but not valid.
    #[error("{}: key `{key}`: {problem}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The dotted key path, `peers[1].key`.
        key: String,
        /// What is wrong and what would be valid.
        problem: String,
    },
}

/// A validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file it was read from (absolute).
    pub path: PathBuf,
    /// Who this node is.
    pub node: Node,
    /// Ingest limits.
    pub ingest: Ingest,
    /// Listening and connection limits.
    pub network: Network,
    /// The local API.
    pub api: Api,
    /// The audit log's checkpoints.
    pub audit: Audit,
    /// Hit/no-hit matching.
    pub matching: Matching,
    /// Follow-up requests, release policy and retention.
    pub exchange: Exchange,
    /// Trusted agencies.
    pub peers: Vec<Peer>,
}

/// What a follow-up request for a record of one handling code gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Release {
    /// Released at once.
    Auto,
    /// Waits for an analyst's approval or refusal.
    Manual,
    /// Never released.
    Never,
}

impl Release {
    /// The word the config file uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Release::Auto => "auto",
            Release::Manual => "manual",
            Release::Never => "never",
        }
    }
}

/// The release policy of one peer: a decision for every handling code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy(BTreeMap<Handling, Release>);

impl Policy {
    /// What a record of `handling` gets. `TLP:RED` is never released and
    /// `TLP:AMBER+STRICT` never automatically, whatever the map says: the
    /// rule is enforced here as well as at validation.
    pub fn decide(&self, handling: Handling) -> Release {
        let said = self.0.get(&handling).copied().unwrap_or(Release::Manual);
        match handling {
            Handling::Red => Release::Never,
            Handling::AmberStrict => said.max(Release::Manual),
            _ => said,
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        let mut p = Policy(BTreeMap::new());
        for h in Handling::ALL {
            p.0.insert(h, p.decide(h));
        }
        p
    }
}

/// What a withdrawal notice does to our copy of a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnWithdrawal {
    /// Kept and shown as withdrawn.
    Mark,
    /// Deleted (a tombstone stays, saying when and why).
    Delete,
}

/// `[exchange]`, validated.
#[derive(Clone, Debug)]
pub struct Exchange {
    /// How long a request waits before a reminder.
    pub deadline: Duration,
    /// What a withdrawal notice does.
    pub on_withdrawal: OnWithdrawal,
    /// How long received reports are kept.
    pub report_retention: Duration,
    /// How long hits and alerts are kept.
    pub hit_retention: Duration,
    /// How long answered requests are kept.
    pub request_retention: Duration,
    /// How often the daemon purges.
    pub purge_interval: Duration,
    /// Follow-up requests one peer may send per day.
    pub requests_per_day: u32,
    /// New case references one peer's requests may open per day (each is
    /// a durable write of a salt).
    pub cases_per_day: u32,
    /// Handling codes whose release needs two different supervisors'
    /// approvals; never released automatically.
    pub two_person: BTreeSet<Handling>,
}

/// `[node]`, validated.
#[derive(Clone, Debug)]
pub struct Node {
    /// Short name.
    pub name: String,
    /// Country for national formats.
    pub country: Option<Country>,
    /// Federation id.
    pub federation: String,
    /// Absolute path of the RocksDB store.
    pub data_dir: PathBuf,
    /// Absolute path of the key folder.
    pub key_dir: PathBuf,
}

/// `[ingest]`, validated.
#[derive(Clone, Debug)]
pub struct Ingest {
    /// Records per write batch.
    pub batch_size: NonZeroUsize,
    /// Longest line accepted.
    pub max_line_bytes: NonZeroUsize,
    /// `[ingest.markings]`: national and Europol handling markings, by
    /// their [`marking_key`](liaison_protocol::record::marking_key), and
    /// the TLP code each is handled as.
    pub markings: std::collections::BTreeMap<String, liaison_protocol::record::Handling>,
}

/// `[ingest.markings]` checked: each marking names a TLP 2.0 code, is
/// not itself one, and no two are the same marking written differently.
fn markings(
    raw: &std::collections::BTreeMap<String, String>,
    invalid: impl Fn(String, String) -> Error,
) -> Result<std::collections::BTreeMap<String, liaison_protocol::record::Handling>, Error> {
    use liaison_protocol::record::{marking_key, Handling};
    let mut out = std::collections::BTreeMap::new();
    for (marking, code) in raw {
        let at = format!("ingest.markings.{marking:?}");
        let key = marking_key(marking);
        if key.is_empty() {
            return Err(invalid(
                at,
                "an empty marking: name the marking as records write it".into(),
            ));
        }
        if marking.parse::<Handling>().is_ok() {
            return Err(invalid(
                at,
                "is a TLP code already: list only other markings".into(),
            ));
        }
        let handling: Handling = code.parse().map_err(|_| {
            invalid(
                at.clone(),
                format!("{code:?} is not a TLP 2.0 code: write TLP:CLEAR, TLP:GREEN, TLP:AMBER, TLP:AMBER+STRICT or TLP:RED"),
            )
        })?;
        if out.insert(key, handling).is_some() {
            return Err(invalid(at, "is another marking of this table written differently (case and spaces do not count)".into()));
        }
    }
    Ok(out)
}

/// `[network]`, validated.
#[derive(Clone, Debug)]
pub struct Network {
    /// Listen addresses.
    pub listen: Vec<Multiaddr>,
    /// Idle connection timeout.
    pub idle_timeout: Duration,
    /// Connection limit.
    pub max_connections: NonZeroU32,
    /// Oldest envelope accepted; seen ids are kept this long.
    pub max_message_age: Duration,
    /// Largest clock skew accepted.
    pub max_clock_skew: Duration,
}

/// `[audit]`, validated.
#[derive(Clone, Copy, Debug)]
pub struct Audit {
    /// How often a checkpoint is signed and sent to the peers to witness.
    pub checkpoint_interval: Duration,
}

/// `[matching]`, validated.
#[derive(Clone, Copy, Debug)]
pub struct Matching {
    /// Epoch length.
    pub epoch: Duration,
    /// How long a key outlives its epoch.
    pub overlap: Duration,
    /// How often deltas go out.
    pub delta_interval: Duration,
    /// The budget window.
    pub budget_window: Duration,
    /// How much of a peer's budget its watchlist renewals may take.
    pub renewal_budget: u32,
    /// How long `liaison match` waits for answers.
    pub answer_timeout: Duration,
}

/// `[api]`, validated.
#[derive(Clone, Debug)]
pub struct Api {
    /// A TCP address the API also listens on, for the agency's own tools;
    /// the CLI always uses the Unix socket in the data folder. Loopback
    /// unless [`Api::tls`] is set.
    pub listen: Option<std::net::SocketAddr>,
    /// The certificate and key the TCP listener serves HTTPS with; `None`:
    /// plain HTTP.
    pub tls: Option<Tls>,
    /// OS account → the user the CLI acts as when it runs under it.
    pub os_users: std::collections::BTreeMap<String, String>,
}

/// `[api] tls_cert` and `tls_key`, validated: both given, as absolute
/// paths. Whether the files exist and parse is the daemon's to check
/// when it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tls {
    /// The PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// The PEM private key.
    pub key: PathBuf,
}

/// A trusted agency, validated.
#[derive(Clone, Debug)]
pub struct Peer {
    /// Short name.
    pub name: String,
    /// Its agency key.
    pub key: AgencyKey,
    /// Where to dial it.
    pub addrs: Vec<Multiaddr>,
    /// Selector kinds it may match.
    pub kinds: BTreeSet<SelectorKind>,
    /// Its budget per kind per window (every kind present).
    pub budget: BTreeMap<SelectorKind, u32>,
    /// What its follow-up requests get, by handling code.
    pub release: Policy,
    /// Whether our `TLP:RED` records' selectors go into its filters (a
    /// hit still releases nothing).
    pub match_red: bool,
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::from_text(path, &text)
    }

    /// Validates config text as if read from `path` (relative paths in it
    /// are resolved against `path`'s folder).
    pub fn from_text(path: &Path, text: &str) -> Result<Config, Error> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| Error::Syntax {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        raw.validate(path)
    }
}

/// Checks a short name: `[a-z0-9-]`, 1–32 characters, not starting with `-`.
fn check_name(name: &str) -> Result<(), String> {
    let ok = (1..=32).contains(&name.len())
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a valid name: use 1 to 32 lower-case letters, digits and dashes, like \"kg-border\""
        ))
    }
}

fn check_addr(addr: &str) -> Result<Multiaddr, String> {
    let ma: Multiaddr = addr.parse().map_err(|e| {
        format!("{addr:?} is not a multiaddr ({e}): write it like \"/ip4/192.0.2.10/tcp/4710\" or \"/dns4/node.example/udp/4710/quic-v1\"")
    })?;
    use multiaddr::Protocol;
    let mut it = ma.iter();
    let host = matches!(
        it.next(),
        Some(
            Protocol::Ip4(_)
                | Protocol::Ip6(_)
                | Protocol::Dns(_)
                | Protocol::Dns4(_)
                | Protocol::Dns6(_)
        )
    );
    let transport = matches!(
        (it.next(), it.next()),
        (Some(Protocol::Tcp(_)), None | Some(Protocol::P2p(_)))
            | (Some(Protocol::Udp(_)), Some(Protocol::QuicV1))
    );
    if host && transport {
        Ok(ma)
    } else {
        Err(format!(
            "{addr:?} is not an address Liaison can use: give a host (/ip4, /ip6, /dns) then /tcp/PORT or /udp/PORT/quic-v1"
        ))
    }
}

impl RawConfig {
    /// Validates into a [`Config`]; `path` is the file it came from.
    pub fn validate(self, path: &Path) -> Result<Config, Error> {
        let invalid = |key: String, problem: String| Error::Invalid {
            path: path.to_owned(),
            key,
            problem,
        };
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        let base = std::path::absolute(&base).unwrap_or(base);
        let resolve = |p: &str| -> PathBuf {
            let p = Path::new(p);
            if p.is_absolute() {
                p.to_owned()
            } else {
                base.join(p)
            }
        };

        let n = self.node;
        check_name(&n.name).map_err(|e| invalid("node.name".into(), e))?;
        let country = n
            .country
            .as_deref()
            .map(str::parse::<Country>)
            .transpose()
            .map_err(|e| invalid("node.country".into(), e.to_string()))?;
        if n.federation.trim().is_empty() || n.federation.len() > 64 {
            return Err(invalid(
                "node.federation".into(),
                "give the federation's id, 1 to 64 characters, the same on every node of the federation".into(),
            ));
        }
        if n.data_dir.trim().is_empty() {
            return Err(invalid(
                "node.data_dir".into(),
                "give a folder for the store, like \"data\"".into(),
            ));
        }
        if n.key_dir.trim().is_empty() {
            return Err(invalid(
                "node.key_dir".into(),
                "give a folder for the keys, like \"keys\"".into(),
            ));
        }
        let (data_dir, key_dir) = (resolve(&n.data_dir), resolve(&n.key_dir));
        if data_dir == key_dir {
            return Err(invalid(
                "node.key_dir".into(),
                "must differ from node.data_dir: keys are kept apart from the store".into(),
            ));
        }
        let node = Node {
            name: n.name,
            country,
            federation: n.federation,
            data_dir,
            key_dir,
        };

        let ingest = Ingest {
            batch_size: NonZeroUsize::new(self.ingest.batch_size)
                .filter(|n| n.get() <= 1_000_000)
                .ok_or_else(|| {
                    invalid(
                        "ingest.batch_size".into(),
                        "must be between 1 and 1000000 (default 2048)".into(),
                    )
                })?,
            max_line_bytes: NonZeroUsize::new(self.ingest.max_line_bytes)
                .filter(|n| n.get() >= 1024)
                .ok_or_else(|| {
                    invalid(
                        "ingest.max_line_bytes".into(),
                        "must be at least 1024 bytes (default 1048576)".into(),
                    )
                })?,
            markings: markings(&self.ingest.markings, invalid)?,
        };

        let net = self.network;
        let listen = net
            .listen
            .iter()
            .enumerate()
            .map(|(i, a)| check_addr(a).map_err(|e| invalid(format!("network.listen[{i}]"), e)))
            .collect::<Result<Vec<_>, _>>()?;
        let duration = |key: &str, text: &str| {
            humantime::parse_duration(text)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    invalid(
                        format!("network.{key}"),
                        format!(
                            "{text:?} is not a positive duration: write it like \"60s\", \"5m\" or \"7d\""
                        ),
                    )
                })
        };
        let idle_timeout = duration("idle_timeout", &net.idle_timeout)?;
        let max_message_age = duration("max_message_age", &net.max_message_age)?;
        let max_clock_skew = duration("max_clock_skew", &net.max_clock_skew)?;
        let api_listen: Option<std::net::SocketAddr> = match self.api.listen.trim() {
            "" => None,
            text => Some(text.parse().map_err(|_| {
                invalid(
                    "api.listen".into(),
                    format!(
                        "{:?} is not host:port: write it like \"127.0.0.1:7780\", or \"\" for none",
                        self.api.listen
                    ),
                )
            })?),
        };
        let tls = match (self.api.tls_cert.trim(), self.api.tls_key.trim()) {
            ("", "") => None,
            (cert, "") => {
                return Err(invalid(
                    "api.tls_key".into(),
                    format!("api.tls_cert is {cert:?} but no key is given: set tls_key to the certificate's PEM private key, like \"api-key.pem\", or set neither"),
                ))
            }
            ("", key) => {
                return Err(invalid(
                    "api.tls_cert".into(),
                    format!("api.tls_key is {key:?} but no certificate is given: set tls_cert to the key's PEM certificate, like \"api-cert.pem\", or set neither"),
                ))
            }
            (cert, key) => Some(Tls {
                cert: resolve(cert),
                key: resolve(key),
            }),
        };
        if let Some(api_listen) = api_listen.filter(|a| !a.ip().is_loopback() && tls.is_none()) {
            // Plain HTTP with a bearer token: fine on loopback, not on a LAN.
            return Err(invalid(
                "api.listen".into(),
                format!(
                    "{api_listen} is not a loopback address, and plain HTTP would send the API's token in clear: set api.tls_cert and api.tls_key to a PEM certificate and key (`liaison init --tls` makes a self-signed pair for a new node), or listen on 127.0.0.1 or ::1"
                ),
            ));
        }
        for (os, user) in &self.api.os_users {
            let ok = !user.is_empty()
                && user.len() <= 40
                && user
                    .bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                && user
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
            if !ok {
                return Err(invalid(
                    format!("api.os_users.{os}"),
                    format!("{user:?} is not a user name: 1 to 40 of a-z, 0-9, '.', '_', '-' (as `liaison user list` shows them)"),
                ));
            }
        }
        let api = Api {
            listen: api_listen,
            tls,
            os_users: self.api.os_users.clone(),
        };
        let audit = Audit {
            checkpoint_interval: humantime::parse_duration(&self.audit.checkpoint_interval)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    invalid(
                        "audit.checkpoint_interval".into(),
                        format!(
                            "{:?} is not a positive duration: write it like \"30s\" or \"5m\"",
                            self.audit.checkpoint_interval
                        ),
                    )
                })?,
        };
        let m = &self.matching;
        // A duration under `[section]`, at least `min`.
        let at_least = |section: &str, key: &str, text: &str, min: Duration| {
            humantime::parse_duration(text)
                .ok()
                .filter(|d| *d >= min)
                .ok_or_else(|| {
                    invalid(
                        format!("{section}.{key}"),
                        format!(
                            "{text:?} is not a duration of at least {}: write it like \"60s\", \"10m\", \"24h\" or \"90d\"",
                            humantime::format_duration(min)
                        ),
                    )
                })
        };
        let positive = |key: &str, text: &str, min: Duration| at_least("matching", key, text, min);
        let epoch = positive("epoch", &m.epoch, Duration::from_secs(2))?;
        let overlap = positive("overlap", &m.overlap, Duration::from_secs(1))?;
        if overlap >= epoch {
            return Err(invalid(
                "matching.overlap".into(),
                "must be shorter than matching.epoch (only one old key is kept)".into(),
            ));
        }
        let matching = Matching {
            epoch,
            overlap,
            delta_interval: positive(
                "delta_interval",
                &m.delta_interval,
                Duration::from_millis(100),
            )?,
            budget_window: positive("budget_window", &m.budget_window, Duration::from_secs(1))?,
            renewal_budget: m.renewal_budget,
            answer_timeout: positive("answer_timeout", &m.answer_timeout, Duration::from_secs(1))?,
        };
        let default_budget = m.budget;
        let x = &self.exchange;
        let mut two_person = BTreeSet::new();
        for (i, code) in x.two_person.iter().enumerate() {
            let key = || format!("exchange.two_person[{i}]");
            let h = code
                .parse::<Handling>()
                .map_err(|e| invalid(key(), e.to_string()))?;
            if h == Handling::Red {
                return Err(invalid(
                    key(),
                    "TLP:RED is never released, so no approval releases it: take it out".into(),
                ));
            }
            two_person.insert(h);
        }
        let period =
            |key: &str, text: &str| at_least("exchange", key, text, Duration::from_secs(1));
        let exchange = Exchange {
            deadline: period("deadline", &x.deadline)?,
            on_withdrawal: match x.on_withdrawal.as_str() {
                "mark" => OnWithdrawal::Mark,
                "delete" => OnWithdrawal::Delete,
                other => {
                    return Err(invalid(
                        "exchange.on_withdrawal".into(),
                        format!("{other:?} is not a choice: write \"mark\" (keep the copy, shown as withdrawn) or \"delete\""),
                    ))
                }
            },
            report_retention: period("report_retention", &x.report_retention)?,
            hit_retention: period("hit_retention", &x.hit_retention)?,
            request_retention: period("request_retention", &x.request_retention)?,
            purge_interval: period("purge_interval", &x.purge_interval)?,
            requests_per_day: x.requests_per_day,
            cases_per_day: x.cases_per_day,
            two_person,
        };
        let two_person = &exchange.two_person;
        let base_policy = policy(
            &Policy::default(),
            x.release.as_ref(),
            "exchange.release",
            two_person,
        )
        .map_err(|(key, problem)| invalid(key, problem))?;
        let network = Network {
            max_message_age,
            max_clock_skew,
            listen,
            idle_timeout,
            max_connections: NonZeroU32::new(net.max_connections).ok_or_else(|| {
                invalid(
                    "network.max_connections".into(),
                    "must be at least 1 (default 64)".into(),
                )
            })?,
        };

        let mut peers: Vec<Peer> = Vec::with_capacity(self.peers.len());
        for (i, p) in self.peers.into_iter().enumerate() {
            let key_path = |field: &str| format!("peers[{i}].{field}");
            check_name(&p.name).map_err(|e| invalid(key_path("name"), e))?;
            if p.name == node.name {
                return Err(invalid(
                    key_path("name"),
                    format!("{:?} is this node's own name", p.name),
                ));
            }
            if peers.iter().any(|q| q.name == p.name) {
                return Err(invalid(
                    key_path("name"),
                    format!("{:?} is listed twice: peer names must be unique", p.name),
                ));
            }
            let key: AgencyKey = p.key.parse().map_err(|e: liaison_protocol::keys::Error| {
                invalid(key_path("key"), e.to_string())
            })?;
            if let Some(other) = peers
                .iter()
                .find(|q| q.key.verifying_key() == key.verifying_key())
            {
                return Err(invalid(
                    key_path("key"),
                    format!(
                        "the same agency key is already listed for peer {:?}",
                        other.name
                    ),
                ));
            }
            let addrs = p
                .addrs
                .iter()
                .enumerate()
                .map(|(j, a)| {
                    check_addr(a).map_err(|e| invalid(format!("peers[{i}].addrs[{j}]"), e))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let kinds = match p.kinds {
                None => SelectorKind::ALL.into_iter().collect(),
                Some(list) => list
                    .iter()
                    .enumerate()
                    .map(|(j, k)| {
                        k.parse::<SelectorKind>()
                            .map_err(|e| invalid(format!("peers[{i}].kinds[{j}]"), e.to_string()))
                    })
                    .collect::<Result<BTreeSet<_>, _>>()?,
            };
            let mut budget: BTreeMap<SelectorKind, u32> = BTreeMap::new();
            let mut fallback = default_budget;
            for (k, n) in p.budget.iter().flatten() {
                if k == "default" {
                    fallback = *n;
                    continue;
                }
                let kind = k.parse::<SelectorKind>().map_err(|e| {
                    invalid(
                        format!("peers[{i}].budget.{k}"),
                        format!("{e}, or \"default\""),
                    )
                })?;
                budget.insert(kind, *n);
            }
            for kind in SelectorKind::ALL {
                budget.entry(kind).or_insert(fallback);
            }
            let release = policy(
                &base_policy,
                p.release.as_ref(),
                &key_path("release"),
                two_person,
            )
            .map_err(|(key, problem)| invalid(key, problem))?;
            peers.push(Peer {
                name: p.name,
                key,
                addrs,
                kinds,
                budget,
                release,
                match_red: p.match_red,
            });
        }

        Ok(Config {
            path: std::path::absolute(path).unwrap_or_else(|_| path.to_owned()),
            node,
            ingest,
            network,
            api,
            audit,
            matching,
            exchange,
            peers,
        })
    }
}

/// `base` with the entries of a `release` table over it. `TLP:RED`
/// named as anything but `never`, or `TLP:AMBER+STRICT` or a code of
/// `two_person` as `auto`, is refused: the file must not say what the
/// node will not do. A `default` covers the codes not named and is capped
/// the same way silently (`default = "auto"` releases `TLP:AMBER+STRICT`
/// and the `two_person` codes manually, `TLP:RED` never).
fn policy(
    base: &Policy,
    table: Option<&BTreeMap<String, String>>,
    at: &str,
    two_person: &BTreeSet<Handling>,
) -> Result<Policy, (String, String)> {
    let Some(table) = table else {
        return Ok(base.clone());
    };
    let choice = |k: &str, v: &str| match v {
        "auto" => Ok(Release::Auto),
        "manual" => Ok(Release::Manual),
        "never" => Ok(Release::Never),
        other => Err((
            format!("{at}.{k}"),
            format!("{other:?} is not a choice: write \"auto\", \"manual\" or \"never\""),
        )),
    };
    let mut map = base.0.clone();
    if let Some(v) = table.get("default") {
        let d = choice("default", v)?;
        for h in Handling::ALL {
            map.insert(h, d);
        }
    }
    for (k, v) in table {
        if k == "default" {
            continue;
        }
        let h: Handling = k
            .parse()
            .map_err(|e: liaison_protocol::record::BadHandling| {
                (format!("{at}.{k:?}"), format!("{e}, or \"default\""))
            })?;
        let r = choice(k, v)?;
        if h == Handling::Red && r != Release::Never {
            return Err((
                format!("{at}.{k:?}"),
                "TLP:RED is never released: write \"never\" or leave it out".into(),
            ));
        }
        if h == Handling::AmberStrict && r == Release::Auto {
            return Err((
                format!("{at}.{k:?}"),
                "TLP:AMBER+STRICT is never released automatically: write \"manual\" or \"never\""
                    .into(),
            ));
        }
        if two_person.contains(&h) && r == Release::Auto {
            return Err((
                format!("{at}.{k:?}"),
                format!("{h} needs two supervisors (exchange.two_person), so it is never released automatically: write \"manual\" or \"never\", or take it out of exchange.two_person"),
            ));
        }
        map.insert(h, r);
    }
    let mut p = Policy(map);
    for h in Handling::ALL {
        let mut d = p.decide(h);
        if two_person.contains(&h) {
            d = d.max(Release::Manual);
        }
        p.0.insert(h, d);
    }
    Ok(p)
}

#[cfg(test)]
mod tests;
