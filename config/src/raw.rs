//! The configuration file as written: every key, its default and its
//! meaning. Nothing here is checked beyond TOML types; `validate` turns a
//! [`RawConfig`] into a typed [`crate::Config`].

use serde::{Deserialize, Serialize};

/// The whole file.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `[node]`: who this node is and where it keeps its data.
    pub node: RawNode,
    /// `[ingest]`: limits for `liaison ingest`.
    #[serde(default)]
    pub ingest: RawIngest,
    /// `[network]`: how `liaison run` listens and treats connections.
    #[serde(default)]
    pub network: RawNetwork,
    /// `[api]`: the daemon's local HTTP API.
    #[serde(default)]
    pub api: RawApi,
    /// `[audit]`: checkpoints of the audit log.
    #[serde(default)]
    pub audit: RawAudit,
    /// `[matching]`: epochs, deltas and budgets of hit/no-hit matching.
    #[serde(default)]
    pub matching: RawMatching,
    /// `[exchange]`: follow-up requests, release policy and retention.
    #[serde(default)]
    pub exchange: RawExchange,
    /// `[[peers]]`: the agencies this node trusts (its bilateral agreements).
    #[serde(default)]
    pub peers: Vec<RawPeer>,
}

/// `[exchange]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawExchange {
    /// What a peer's follow-up request for a record of each handling code
    /// gets, unless its `[[peers]]` entry says otherwise: `"auto"`
    /// (released at once), `"manual"` (an analyst approves or refuses) or
    /// `"never"`, by code, with `default` for codes not named:
    /// `{ "TLP:CLEAR" = "auto", default = "manual" }`. `TLP:RED` is never
    /// released and `TLP:AMBER+STRICT` never automatically, whatever is
    /// written. Default: every code `manual`.
    #[serde(default)]
    pub release: Option<std::collections::BTreeMap<String, String>>,
    /// How long a request may wait for an analyst before a reminder is
    /// raised (humantime). Default `48h` (Prüm II's time for core data).
    #[serde(default = "default_deadline")]
    pub deadline: String,
    /// What a withdrawal notice from a report's owner does to our copy:
    /// `"mark"` (kept, shown as withdrawn) or `"delete"`. Default `mark`.
    #[serde(default = "default_on_withdrawal")]
    pub on_withdrawal: String,
    /// How long received reports are kept (humantime). Default `365d`.
    #[serde(default = "default_long_retention")]
    pub report_retention: String,
    /// How long hits and alerts are kept (humantime). Default `90d`.
    #[serde(default = "default_hit_retention")]
    pub hit_retention: String,
    /// How long follow-up requests, sent and received, are kept once
    /// answered (humantime). Default `365d`.
    #[serde(default = "default_long_retention")]
    pub request_retention: String,
    /// How often the daemon purges what is past its retention
    /// (humantime). Default `1h`.
    #[serde(default = "default_purge_interval")]
    pub purge_interval: String,
    /// Follow-up requests one peer may send per day (UTC); more are
    /// refused with a reason until the next day. Default 500.
    #[serde(default = "default_requests_per_day")]
    pub requests_per_day: u32,
    /// New case references one peer's requests may open per day (each
    /// is stored with its salt for the audit log); a request under a
    /// further new case is refused with a reason. Default 100.
    #[serde(default = "default_cases_per_day")]
    pub cases_per_day: u32,
    /// Handling codes whose release needs two different supervisors: the
    /// first approval is recorded and the request waits for a second by
    /// someone else (`["TLP:AMBER+STRICT"]`). A request for a record of
    /// such a code is never released automatically, whatever `release`
    /// says. `TLP:RED` is never released, so it has no place here.
    /// Default: none.
    #[serde(default)]
    pub two_person: Vec<String>,
}

impl Default for RawExchange {
    fn default() -> Self {
        RawExchange {
            release: None,
            deadline: default_deadline(),
            on_withdrawal: default_on_withdrawal(),
            report_retention: default_long_retention(),
            hit_retention: default_hit_retention(),
            request_retention: default_long_retention(),
            purge_interval: default_purge_interval(),
            requests_per_day: default_requests_per_day(),
            cases_per_day: default_cases_per_day(),
            two_person: Vec::new(),
        }
    }
}

fn default_deadline() -> String {
    "48h".into()
}
fn default_on_withdrawal() -> String {
    "mark".into()
}
fn default_long_retention() -> String {
    "365d".into()
}
fn default_hit_retention() -> String {
    "90d".into()
}
fn default_purge_interval() -> String {
    "1h".into()
}
fn default_requests_per_day() -> u32 {
    500
}
fn default_cases_per_day() -> u32 {
    100
}

/// `[matching]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawMatching {
    /// Length of an epoch (humantime). Default `24h`. Each peer gets a new
    /// OPRF key and a rebuilt filter every epoch; epochs start at multiples
    /// of this length since the Unix epoch, so every node agrees on them.
    #[serde(default = "default_epoch")]
    pub epoch: String,
    /// How long after its epoch ends a key still answers queries already
    /// in flight, before it is destroyed (humantime). Default `10m`.
    #[serde(default = "default_overlap")]
    pub overlap: String,
    /// How often tags of newly ingested records are sent to the peers as a
    /// delta (humantime). Default `60s`.
    #[serde(default = "default_delta_interval")]
    pub delta_interval: String,
    /// The window budgets are counted over (humantime). Default `24h`.
    #[serde(default = "default_budget_window")]
    pub budget_window: String,
    /// Selectors of one kind a peer may have evaluated per window, unless
    /// its `[[peers]]` entry sets `budget`. Default 10000.
    #[serde(default = "default_budget")]
    pub budget: u32,
    /// How many of a peer's evaluations per kind per window may be
    /// watchlist renewals. Renewals count against the peer's budget like
    /// queries: this caps their share of it, it is never added to it.
    /// Default 10000.
    #[serde(default = "default_budget")]
    pub renewal_budget: u32,
    /// How long `liaison match` waits for the peers' answers (humantime).
    /// Default `60s`.
    #[serde(default = "default_answer_timeout")]
    pub answer_timeout: String,
}

impl Default for RawMatching {
    fn default() -> Self {
        RawMatching {
            epoch: default_epoch(),
            overlap: default_overlap(),
            delta_interval: default_delta_interval(),
            budget_window: default_budget_window(),
            budget: default_budget(),
            renewal_budget: default_budget(),
            answer_timeout: default_answer_timeout(),
        }
    }
}

fn default_epoch() -> String {
    "24h".into()
}
fn default_overlap() -> String {
    "10m".into()
}
fn default_delta_interval() -> String {
    "60s".into()
}
fn default_budget_window() -> String {
    "24h".into()
}
fn default_budget() -> u32 {
    10_000
}
fn default_answer_timeout() -> String {
    "60s".into()
}

/// `[audit]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawAudit {
    /// How often the daemon signs a checkpoint of its audit log (when it
    /// has grown) and sends it to its peers to witness (humantime).
    /// Default `5m`.
    #[serde(default = "default_checkpoint_interval")]
    pub checkpoint_interval: String,
}

impl Default for RawAudit {
    fn default() -> Self {
        RawAudit {
            checkpoint_interval: default_checkpoint_interval(),
        }
    }
}

fn default_checkpoint_interval() -> String {
    "5m".into()
}

/// `[api]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawApi {
    /// The daemon always serves its API on the Unix socket
    /// `DATA_DIR/api.sock` (mode 0600: the service account only), which
    /// is what the CLI uses. `listen` adds a loopback `host:port` for the
    /// agency's own tools (port 0: a free one, written to
    /// `DATA_DIR/api.addr`). Every request there is a user's: a bearer
    /// token or a signed-in session. Default `""`: no TCP listener.
    /// An address other than loopback needs `tls_cert` and `tls_key`.
    #[serde(default = "default_api_listen")]
    pub listen: String,
    /// The PEM certificate (chain, leaf first) the TCP listener presents,
    /// relative to this file; with `tls_key`, `listen` speaks HTTPS only.
    /// `liaison init --tls` makes a self-signed one. Default `""`: plain
    /// HTTP, loopback only.
    #[serde(default)]
    pub tls_cert: String,
    /// The PEM private key of `tls_cert`, relative to this file; the
    /// daemon refuses it if group or others may read it (mode 0600).
    /// Default `""`.
    #[serde(default)]
    pub tls_key: String,
    /// The CLI's user for each OS account on this machine that runs it
    /// (`{ "aivanova" = "ivanova" }`); an account not listed acts as the
    /// user of its own name, and `--as` overrides both. Default empty.
    #[serde(default)]
    pub os_users: std::collections::BTreeMap<String, String>,
}

impl Default for RawApi {
    fn default() -> Self {
        RawApi {
            listen: default_api_listen(),
            tls_cert: String::new(),
            tls_key: String::new(),
            os_users: Default::default(),
        }
    }
}

/// `[node]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawNode {
    /// Short name of this agency's node, `[a-z0-9-]`, 1–32 characters
    /// (`kg-border`). Required. Shown in logs and to peers.
    pub name: String,
    /// ISO 3166 alpha-3 country (`KGZ`). Optional; national phone numbers
    /// in records without their own `country` are read by it.
    #[serde(default)]
    pub country: Option<String>,
    /// The federation this node belongs to (`central-asia`). Default
    /// `liaison`. Nodes of different federations refuse each other.
    #[serde(default = "default_federation")]
    pub federation: String,
    /// Where the RocksDB store lives. Default `data`; relative paths are
    /// relative to the config file's folder.
    #[serde(default = "default_data_dir")]
    pub data_dir: String,
    /// Where the agency's secret keys live (mode 0700, files 0600). Default
    /// `keys`, relative to the config file's folder.
    #[serde(default = "default_key_dir")]
    pub key_dir: String,
}

/// `[ingest]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawIngest {
    /// Records per atomic RocksDB write batch. Default 2048. A crash loses
    /// at most the batch being written; larger batches ingest faster.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Longest NDJSON line or CSV row accepted, in bytes. Default 1048576
    /// (1 MiB); a longer line is refused, not read into memory.
    #[serde(default = "default_max_line_bytes")]
    pub max_line_bytes: usize,
    /// National and Europol handling markings and the TLP 2.0 code each
    /// is handled as (`"H1" = "TLP:AMBER+STRICT"`, `"ДСП" =
    /// "TLP:AMBER+STRICT"`). A record marked so is handled as that code
    /// and keeps the marking as written (`marking`).
    #[serde(default)]
    pub markings: std::collections::BTreeMap<String, String>,
}

impl Default for RawIngest {
    fn default() -> Self {
        RawIngest {
            batch_size: default_batch_size(),
            max_line_bytes: default_max_line_bytes(),
            markings: std::collections::BTreeMap::new(),
        }
    }
}

/// `[network]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    /// Multiaddrs to listen on. Default
    /// `["/ip4/0.0.0.0/tcp/4710", "/ip4/0.0.0.0/udp/4710/quic-v1"]`.
    #[serde(default = "default_listen")]
    pub listen: Vec<String>,
    /// Close a connection idle this long (humantime: `60s`, `5m`). Default `60s`.
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout: String,
    /// Most connections open at once, all peers together. Default 64.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// Oldest envelope accepted (humantime). Default `7d`: a peer offline
    /// or reached by bundle within a week still gets everything; older
    /// envelopes are refused as stale, and message ids are remembered
    /// this long to refuse replays.
    #[serde(default = "default_max_message_age")]
    pub max_message_age: String,
    /// How far ahead of our clock a peer's timestamp may be. Default `5m`.
    #[serde(default = "default_max_clock_skew")]
    pub max_clock_skew: String,
}

impl Default for RawNetwork {
    fn default() -> Self {
        RawNetwork {
            listen: default_listen(),
            idle_timeout: default_idle_timeout(),
            max_connections: default_max_connections(),
            max_message_age: default_max_message_age(),
            max_clock_skew: default_max_clock_skew(),
        }
    }
}

/// One `[[peers]]` entry.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawPeer {
    /// The peer's short name, `[a-z0-9-]`, unique in this file.
    pub name: String,
    /// The peer's agency key, as its `liaison init` printed it
    /// (`liaison-agency-v1:...`).
    pub key: String,
    /// Multiaddrs to reach the peer at. May be empty for a peer that only
    /// dials in, or one reached by air-gapped bundles.
    #[serde(default)]
    pub addrs: Vec<String>,
    /// Selector kinds the peer may match against this node's records
    /// (`phone`, `document`, `plate`, `vin`, `imei`, `iban`, `account`,
    /// `email`, `organization`, `registration`, `person_full`,
    /// `person_name`, `person_phonetic`, `person_fuzzy`). Default: all.
    #[serde(default)]
    pub kinds: Option<Vec<String>>,
    /// Selectors of each kind the peer may have evaluated per budget
    /// window: `{ phone = 5000, person_full = 200, default = 1000 }`.
    /// Kinds not named take `default`, else `[matching] budget`.
    #[serde(default)]
    pub budget: Option<std::collections::BTreeMap<String, u32>>,
    /// Release policy for this peer's follow-up requests, by handling
    /// code, over `[exchange] release`: `{ "TLP:GREEN" = "auto" }`.
    #[serde(default)]
    pub release: Option<std::collections::BTreeMap<String, String>>,
    /// Whether the selectors of our `TLP:RED` records go into this peer's
    /// filters and deltas. Default `false`: a hit would tell the peer
    /// that such a record exists, which TLP:RED forbids unless the
    /// agreement says so. Even with it, a RED record is never released.
    #[serde(default)]
    pub match_red: bool,
}

fn default_federation() -> String {
    "liaison".into()
}
fn default_data_dir() -> String {
    "data".into()
}
fn default_key_dir() -> String {
    "keys".into()
}
fn default_batch_size() -> usize {
    2048
}
fn default_max_line_bytes() -> usize {
    1 << 20
}
fn default_listen() -> Vec<String> {
    vec![
        "/ip4/0.0.0.0/tcp/4710".into(),
        "/ip4/0.0.0.0/udp/4710/quic-v1".into(),
    ]
}
fn default_idle_timeout() -> String {
    "60s".into()
}
fn default_max_connections() -> u32 {
    64
}
fn default_max_message_age() -> String {
    "7d".into()
}
fn default_max_clock_skew() -> String {
    "5m".into()
}
fn default_api_listen() -> String {
    String::new()
}
