//! The commands about the node itself: `init` (keys, config and store),
//! `status`, `peer add|list|remove` and `ping`. (`run` is dispatched
//! straight to [`crate::daemon::run`].)
//!
//! Input: the parsed arguments ([`super::args`]), the config file, the key
//! files, and the running daemon's local API or the store opened directly
//! ([`super::access`]). Output: the new node's files (`init`), the edited
//! config (`peer add|remove`, then a reload of the running daemon), text
//! or JSON on stdout, and an exit code.

use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use liaison_config::{Config, NewNode};

use super::args::{InitArgs, PeerCommand, PingArgs};
use super::client::Client;
use super::peers;
use super::{access, Access};
use crate::daemon::tls;
use crate::identity::Identity;
use crate::status;
use crate::store::Store;
use crate::users::Right;

/// Creates `dir` (mode 0700) or narrows an existing one to 0700, saying so.
fn make_private(dir: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    let mode = std::fs::metadata(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("making {} private (chmod 700)", dir.display()))?;
        eprintln!(
            "note: {} was mode {mode:o}; made it 0700, since it holds the node's keys and store",
            dir.display()
        );
    }
    Ok(())
}

fn open_store(config: &Config) -> Result<Store> {
    Store::open(&config.node.data_dir)
        .with_context(|| format!("opening the store of node {}", config.node.name))
}

/// `liaison init`: a new node's keys (mode 0600), config and store, in a private folder.
pub(super) fn init(a: InitArgs) -> Result<ExitCode> {
    let config_path = a.dir.join(liaison_config::FILE_NAME);
    if config_path.exists() {
        bail!(
            "{} already exists: this folder already holds a node; choose another --dir",
            config_path.display()
        );
    }
    let text = liaison_config::new_config_text(&NewNode {
        name: &a.name,
        country: a.country.as_deref(),
        federation: a.federation.as_deref(),
        listen: &a.listen,
        tls: a.tls,
    });
    // Validate before writing anything, so a bad --name or --listen leaves
    // no half-made node behind. The error names the option's config key.
    let config = Config::from_text(&config_path, &text).context("the options given to init")?;
    // The node's folder will hold its keys, its store and its config:
    // nobody else's to read, even if it was made beforehand with wider
    // permissions.
    make_private(&a.dir)?;
    // Before the keys: a bad --tls-name stops init before any key is made.
    let tls = match &config.api.tls {
        Some(files) => {
            let dir = files.cert.parent().unwrap_or(&a.dir);
            Some((files, tls::self_signed(dir, &a.tls_name)?))
        }
        None => None,
    };
    let identity = Identity::create(&config.node.key_dir, &mut rand_core::OsRng)?;
    std::fs::write(&config_path, text)
        .with_context(|| format!("writing {}", config_path.display()))?;
    let store = open_store(&config)?;
    // The person installing the node is its first user: the OS account
    // (or --as), with every role, so the CLI acts under a name from the
    // start. An admin then adds the agency's people, each with their one
    // role (`liaison user add`).
    let operator = super::client::acting_as();
    crate::users::add(
        &store,
        &operator,
        &operator,
        &[
            crate::users::Role::Supervisor,
            crate::users::Role::Auditor,
            crate::users::Role::Admin,
        ],
        None,
        crate::clock::system_ms(),
    )?;
    drop(store);
    let key = identity.agency_key();
    println!("Created node {} in {}", config.node.name, a.dir.display());
    println!();
    println!(
        "Agency key (give this to peers: `liaison peer add --name {} --key KEY --addr ...`):",
        config.node.name
    );
    println!("  {key}");
    println!(
        "Fingerprint (compare it with the peer by phone): {}",
        key.fingerprint()
    );
    println!("PeerId: {}", identity.peer_id());
    println!();
    println!(
        "Secret keys: {} (mode 0600; back them up offline)",
        config.node.key_dir.display()
    );
    println!("Config:      {}", config_path.display());
    println!(
        "First user:  {operator} (supervisor, auditor, admin): the CLI acts as it (`--as USER` for another). `liaison user add NAME --role ROLE` makes the agency's people; `liaison user passwd NAME` lets one sign in from a browser."
    );
    if let Some((files, fingerprint)) = tls {
        println!();
        println!(
            "API certificate (self-signed, for localhost, 127.0.0.1{}): {}",
            a.tls_name
                .iter()
                .map(|n| format!(", {}", n.trim()))
                .collect::<String>(),
            files.cert.display()
        );
        println!("  key: {} (mode 0600)", files.key.display());
        println!("  SHA-256 fingerprint (check that the browser shows the same):");
        println!("  {fingerprint}");
        println!(
            "  [api] listen = \"0.0.0.0:7780\" (or this host's address) serves the API over HTTPS"
        );
    }
    println!(
        "Next: liaison --config {} ingest FILE...",
        config_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `liaison status`: the node's identity and what its store holds.
pub(super) fn status(config: &Config, json: bool) -> Result<ExitCode> {
    let s = node_status(config)?;
    if json {
        println!("{}", serde_json::to_string(&s)?);
    } else {
        print!("{}", s.to_text());
    }
    Ok(ExitCode::SUCCESS)
}

fn node_status(config: &Config) -> Result<status::Status> {
    Ok(match access(config, Right::Status, None)? {
        Access::Daemon(client) => client.get::<status::Status>("/api/v1/status")?,
        Access::Store(store) => {
            let identity = Identity::load(&config.node.key_dir)?;
            status::collect(config, &identity, &store, None, None)?
        }
    })
}

/// `liaison peer add|list|remove`: add and remove edit the config, then
/// reload a running daemon.
pub(super) fn peer_cmd(config: &Config, command: PeerCommand) -> Result<ExitCode> {
    if !matches!(command, PeerCommand::List(_)) {
        return peer_change(config, command);
    }
    match command {
        PeerCommand::List(a) => {
            let s = node_status(config)?;
            if a.json {
                println!("{}", serde_json::to_string(&s.peers)?);
            } else {
                for p in &s.peers {
                    let state = match p.connected {
                        Some(true) => "connected",
                        Some(false) => "not connected",
                        None => "daemon not running",
                    };
                    println!(
                        "{}  {}  {}  [{}]",
                        p.name,
                        state,
                        p.fingerprint,
                        p.addrs.join(" ")
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        _ => peer_change(config, command),
    }
}

/// `liaison peer add|remove`: the acting user needs the admin role; the
/// change is logged under its name.
fn peer_change(config: &Config, command: PeerCommand) -> Result<ExitCode> {
    let access = access(config, Right::ManagePeers, None)?;
    if let Access::Daemon(client) = &access {
        let me: crate::daemon::api::people::Session = client.get("/api/v1/session")?;
        if !me.roles.iter().any(|r| r.grants(Right::ManagePeers)) {
            return Err(crate::users::denied(&me.user, Right::ManagePeers).into());
        }
    }
    let (change, name, key) = match command {
        PeerCommand::List(_) => return Ok(ExitCode::SUCCESS),
        PeerCommand::Add(a) => {
            let new = peers::add(
                &config.path,
                &peers::NewPeer {
                    name: &a.name,
                    key: &a.key,
                    addrs: &a.addr,
                    kinds: &a.kind,
                    no_matching: a.no_matching,
                },
            )?;
            let added = new
                .peers
                .iter()
                .find(|p| p.name == a.name)
                .context("the added peer")?;
            println!(
                "{} now trusts {} (fingerprint {}: compare it with theirs by phone)",
                config.node.name,
                a.name,
                added.key.fingerprint()
            );
            ("add", a.name, Some(*added.key.verifying_key().as_bytes()))
        }
        PeerCommand::Remove(a) => {
            let key = config
                .peers
                .iter()
                .find(|p| p.name == a.name)
                .map(|p| *p.key.verifying_key().as_bytes());
            peers::remove(&config.path, &a.name)?;
            println!("{} no longer trusts {}", config.node.name, a.name);
            ("remove", a.name, key)
        }
    };
    match access {
        Access::Daemon(client) => {
            let _: serde_json::Value = client.post(
                "/api/v1/local/peer-changes",
                &crate::daemon::api::people::PeerChange {
                    change: change.into(),
                    peer: name,
                    key: key.map(|k| crate::hex::encode(&k)),
                },
            )?;
            let _: serde_json::Value =
                client.post("/api/v1/config/reload", &serde_json::json!({}))?;
            println!("the running daemon has the new peer list");
        }
        Access::Store(store) => {
            let mut entry = crate::users::local(
                &format!("peer-change:{change}:{name}"),
                &super::client::acting_as(),
                liaison_protocol::audit::LOCAL_DONE,
                crate::clock::system_ms(),
            );
            entry.peer = key;
            store.append(crate::store::Batch::default(), &[entry], true)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `liaison ping`: signed round trips to a peer through the running daemon.
pub(super) fn ping(config: &Config, a: PingArgs) -> Result<ExitCode> {
    let Some(client) = Client::find(&config.node.data_dir)? else {
        bail!(
            "the daemon of {} is not running: start it with `liaison run`",
            config.node.name
        );
    };
    let reply: serde_json::Value = client.post(
        "/api/v1/pings",
        &serde_json::json!({
            "peer": a.peer, "count": a.count, "queue": a.queue, "size": a.size,
            "case": a.case.pair(),
        }),
    )?;
    if a.json {
        println!("{reply}");
    } else if a.queue {
        let n = reply["queued"].as_array().map_or(0, Vec::len);
        println!(
            "{n} pings queued for {}: `liaison status` shows their delivery",
            a.peer
        );
    } else {
        let mut rtts: Vec<f64> = reply["rtt_ms"]
            .as_array()
            .map(|v| v.iter().filter_map(serde_json::Value::as_f64).collect())
            .unwrap_or_default();
        for f in reply["failed"].as_array().into_iter().flatten() {
            println!("ping to {} failed: {}", a.peer, f.as_str().unwrap_or("?"));
        }
        if !rtts.is_empty() {
            rtts.sort_by(f64::total_cmp);
            let median = rtts[rtts.len() / 2];
            let p99 = rtts[(rtts.len() * 99 / 100).min(rtts.len() - 1)];
            println!(
                "{} signed round trips to {}: median {median:.2} ms, p99 {p99:.2} ms, min {:.2} ms",
                rtts.len(),
                a.peer,
                rtts[0]
            );
        }
        if rtts.len() < a.count as usize {
            return Ok(ExitCode::from(1));
        }
    }
    Ok(ExitCode::SUCCESS)
}
