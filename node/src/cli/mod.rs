//! The `liaison` command line.
//!
//! Each subcommand is a function from its parsed arguments to an
//! [`ExitCode`]. Errors are `anyhow` with context, printed once with `{:#}`.
//! Exit codes: 0 success; 1 the command ran but found a problem in its
//! input (refused lines, nothing found); 2 it could not run (bad config,
//! missing file, store in use).
//!
//! Every command acts as a user (`--as`, `LIAISON_USER`, or the OS
//! account's name: [`client::acting_as`]), whose roles apply and under
//! whose name its actions are logged, through the daemon or on the store.
//!
//! This module parses the arguments ([`Cli`], in `args`), loads the
//! config, dispatches to the command's module and turns an error into exit
//! code 2; it also holds what the commands share to reach the node
//! (`access`: the running daemon or the store itself; `daemon`: the
//! running daemon only). The commands:
//!
//! - `node`: `init`, `status`, `peer`, `ping`;
//! - `records`: `ingest`, `find`, `show`, `withdraw`, `check`,
//!   `reindex`, `generate`;
//! - `bundles`: `export-bundle`, `import-bundle`;
//! - `audit`, `matching`, `exchange`: the audit log; `match`, `hits`,
//!   `watch`, `alerts`; the follow-up requests and reports;
//! - `people`: `user add|list|disable|enable|passwd|token`;
//! - `export`: `export anx|stix` (records, a report's records);
//! - [`demo`]: `liaison demo`.
//!
//! `print` holds the printing the commands and the demo share; it imports
//! nothing from here, so the demo (imported here) never imports this
//! module back.

mod args;
mod audit;
mod bundles;
pub mod client;
pub mod demo;
mod exchange;
mod export;
mod flags;
mod matching;
mod node;
pub mod peers;
mod people;
mod print;
mod records;

pub use args::Cli;

use std::io::IsTerminal as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use clap::Parser as _;
use liaison_config::Config;

use crate::store::Store;
use crate::users::{self, Right};
use args::{Command, NodeCommand};
use client::Client;

/// Runs the command line and returns the process's exit code.
pub fn main() -> ExitCode {
    // Everything this process creates (the store's files, keys, the
    // config, exports, bundles) is for the service account alone.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let cli = Cli::parse();
    // The daemon says what it does; one-shot commands only warn.
    let default = if matches!(cli.command, Command::Node(NodeCommand::Run)) {
        "info"
    } else {
        "warn"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    if let Some(user) = &cli.acting_as {
        client::set_acting_as(user);
    }
    match cli.command {
        Command::Init(a) => node::init(a),
        Command::Demo(a) => demo::run(a.dir.as_deref()),
        Command::Generate(a) => records::generate(a),
        Command::Openapi(a) => {
            let text = crate::daemon::api::openapi_text();
            match a.out {
                None => print!("{text}"),
                Some(out) => std::fs::write(&out, text)
                    .with_context(|| format!("writing {}", out.display()))?,
            }
            Ok(ExitCode::SUCCESS)
        }
        // The auditor's machine has no node: these need no config.
        Command::Node(NodeCommand::Audit(c)) if c.offline() => audit::run_offline(c),
        Command::Node(command) => {
            let config = load_config(&cli.config)?;
            if cli.acting_as.is_none() {
                if let Some(user) = client::os_login().and_then(|n| config.api.os_users.get(&n)) {
                    client::set_acting_as(user);
                }
            }
            match command {
                NodeCommand::Ingest(a) => records::ingest_cmd(&config, a),
                NodeCommand::Find(a) => records::find_cmd(&config, a),
                NodeCommand::Show(a) => records::show(&config, a),
                NodeCommand::Withdraw(a) => records::withdraw(&config, a),
                NodeCommand::Status(a) => node::status(&config, a.json),
                NodeCommand::Check(a) => records::check(&config, a.json),
                NodeCommand::Reindex(a) => records::reindex(&config, a.json),
                NodeCommand::Run => {
                    crate::daemon::run(config)?;
                    Ok(ExitCode::SUCCESS)
                }
                NodeCommand::Peer(c) => node::peer_cmd(&config, c),
                NodeCommand::Ping(a) => node::ping(&config, a),
                NodeCommand::ExportBundle(a) => bundles::export_bundle(&config, a),
                NodeCommand::ImportBundle(a) => bundles::import_bundle(&config, a),
                NodeCommand::Audit(c) => audit::run(&config, c),
                NodeCommand::Match(a) => matching::run_match(&config, a),
                NodeCommand::Hits(a) => matching::hits(&config, a.json),
                NodeCommand::Watch(c) => matching::watch(&config, c),
                NodeCommand::Alerts(a) => matching::alerts(&config, a.json),
                NodeCommand::Request(a) => exchange::request(&config, a),
                NodeCommand::Requests(a) => exchange::requests(&config, a.json),
                NodeCommand::Approve(a) => exchange::approve(&config, a),
                NodeCommand::Refuse(a) => exchange::refuse(&config, a),
                NodeCommand::Reports(a) => exchange::reports(&config, a.json),
                NodeCommand::Report(c) => exchange::report(&config, c),
                NodeCommand::Purge(a) => exchange::purge(&config, a),
                NodeCommand::User(c) => people::run(&config, c),
                NodeCommand::Export(a) => export::run(&config, a),
            }
        }
    }
}

fn load_config(path: &Path) -> Result<Config> {
    if !path.exists() {
        bail!(
            "no config file at {}: pass --config PATH (or set LIAISON_CONFIG), or create a node with `liaison init --dir DIR --name NAME`",
            path.display()
        );
    }
    Ok(Config::load(path)?)
}

/// The daemon if it runs, else the store itself (opened for the acting
/// user, whose right was checked and whose action was logged).
enum Access {
    /// Its local API.
    Daemon(Client),
    /// The store, opened here (the daemon does not run).
    Store(Store),
}

/// How long a command waits for a daemon that is starting (it holds the
/// store but has not yet written its API address).
const DAEMON_START_WAIT: std::time::Duration = std::time::Duration::from_secs(15);

/// The running daemon, else the store (waiting for a daemon that is
/// starting and holds the store without serving its API yet). With the
/// store, the acting user's `right` is checked here as the daemon would
/// (once the node has accounts), and `action`, if any, is logged under
/// its name before the command runs; through the daemon, the daemon does
/// both.
fn access(config: &Config, right: Right, action: Option<&str>) -> Result<Access> {
    access_under_case(config, right, action, None)
}

/// [`access`], logging on the store the commitment to `case` (reference,
/// legal basis) with the action.
fn access_under_case(
    config: &Config,
    right: Right,
    action: Option<&str>,
    case: Option<&(String, String)>,
) -> Result<Access> {
    let deadline = std::time::Instant::now() + DAEMON_START_WAIT;
    loop {
        if let Some(client) = Client::find(&config.node.data_dir)? {
            return Ok(Access::Daemon(client));
        }
        match Store::open(&config.node.data_dir) {
            Ok(store) => {
                acting_on_store(&store, right, action, case)?;
                return Ok(Access::Store(store));
            }
            Err(crate::store::Error::Locked { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("opening the store of node {}", config.node.name))
            }
        }
    }
}

/// Checks the acting user's `right` on a store opened here and logs
/// `action` under its name.
fn acting_on_store(
    store: &Store,
    right: Right,
    action: Option<&str>,
    case: Option<&(String, String)>,
) -> Result<()> {
    let user = client::acting_as();
    let now = crate::clock::system_ms();
    let action_name = action.unwrap_or("");
    if users::any(store)? {
        users::authorize(store, &user, right, action_name, now)?;
    }
    if let Some(action) = action {
        let mut entry = users::local(action, &user, liaison_protocol::audit::LOCAL_DONE, now);
        entry.case = case
            .map(|(reference, basis)| store.case_commitment(reference, basis))
            .transpose()?;
        store.append(crate::store::Batch::default(), &[entry], true)?;
    }
    Ok(())
}

/// The running daemon: matching and follow-up requests go nowhere else.
fn daemon(config: &Config) -> Result<Client> {
    match Client::find(&config.node.data_dir)? {
        Some(c) => Ok(c),
        None => bail!(
            "the daemon of {} is not running: matching and follow-up requests need it (it holds the peers' filters and connections); start it with `liaison run`",
            config.node.name
        ),
    }
}
