//! The `liaison` command line.
//!
//! Each subcommand is a function from its parsed arguments to an
//! [`ExitCode`]. Errors are `anyhow` with context, printed once with `{:#}`.
//! Exit codes: 0 success; 1 the command ran but found a problem in its
//! input (refused lines, nothing found); 2 it could not run (bad config,
//! missing file, store in use).

mod audit;
mod exchange;
mod matching;

pub(crate) use matching::print_match;

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use clap::{Args, Parser, Subcommand};
use liaison_config::{Config, NewNode};
use liaison_protocol::date::Date;
use liaison_protocol::SelectorKind;

use crate::client::Client;
use crate::identity::Identity;
use crate::ingest::{self, Observer, RefusedLine, Summary};
use crate::store::records::Records;
use crate::store::Store;
use crate::{daemon, demo, find, peers, status, synth};

/// Liaison: an agency's intelligence-exchange node.
#[derive(Debug, Parser)]
#[command(name = "liaison", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// The node's config file.
    #[arg(
        long,
        global = true,
        env = "LIAISON_CONFIG",
        default_value = "liaison.toml"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a new agency node: keys (mode 0600), config and store.
    Init(InitArgs),
    /// Three demo agencies in a temporary folder, their sample data, and look-ups across scripts.
    Demo(DemoArgs),
    /// Write synthetic records in the region's spellings (for load tests).
    Generate(GenerateArgs),
    /// The commands that act on an existing node, read from `--config`.
    #[command(flatten)]
    Node(NodeCommand),
}

/// Commands that need the node's config.
#[derive(Debug, Subcommand)]
enum NodeCommand {
    /// Store records from NDJSON, CSV or call detail record files.
    Ingest(IngestArgs),
    /// Look up local records by an identifier written in any form.
    Find(FindArgs),
    /// Print one record as stored.
    Show(ShowArgs),
    /// Remove a record and its index entries.
    Withdraw(WithdrawArgs),
    /// The node's identity and what its store holds.
    Status(JsonArg),
    /// Check the store: every record decodes, the index and the counters agree,
    /// and no record is indexed under older normalisation rules.
    Check(JsonArg),
    /// Re-read every record indexed under older normalisation rules and move
    /// its index entries (after an upgrade; `check` says when).
    Reindex(JsonArg),
    /// Run the daemon: connect to trusted peers, deliver the outbox, serve the local API.
    Run,
    /// Trust, list or stop trusting peer agencies (edits the config file).
    #[command(subcommand)]
    Peer(PeerCommand),
    /// A signed round trip to a peer through envelopes, with its time.
    Ping(PingArgs),
    /// Write the envelopes waiting for a peer to a file, for removable media.
    ExportBundle(ExportBundleArgs),
    /// Apply a bundle of envelopes (writing their receipts beside it) or of receipts.
    ImportBundle(ImportBundleArgs),
    /// The audit log: verify it, export it, verify an export, read it.
    #[command(subcommand)]
    Audit(audit::Command),
    /// Hit/no-hit: which peers hold the entities in FILE, without showing them the values.
    Match(matching::MatchArgs),
    /// Hits found by `match`.
    Hits(JsonArg),
    /// Standing selectors: an alert when a peer comes to hold one.
    #[command(subcommand)]
    Watch(matching::WatchCommand),
    /// Alerts raised by the watchlist.
    Alerts(JsonArg),
    /// Ask a hit's owner for the record behind it.
    Request(exchange::RequestArgs),
    /// Follow-up requests: those peers sent us (to approve or refuse) and ours.
    Requests(JsonArg),
    /// Release a waiting request's records to the requester.
    Approve(exchange::ApproveArgs),
    /// Refuse a waiting request, with a reason the requester reads.
    Refuse(exchange::RefuseArgs),
    /// Reports received, each verified as it is read.
    Reports(JsonArg),
    /// One received report.
    #[command(subcommand)]
    Report(exchange::ReportCommand),
    /// Purge now what is past its retention (the daemon also does, on schedule).
    Purge(JsonArg),
}

#[derive(Debug, Args)]
struct ExportBundleArgs {
    /// The peer's name.
    #[arg(long)]
    peer: String,
    /// The new file (must not exist).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Args)]
struct ImportBundleArgs {
    /// The bundle file.
    file: PathBuf,
    /// Where to write the receipts of imported envelopes (default FILE.receipts).
    #[arg(long)]
    receipts_out: Option<PathBuf>,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum PeerCommand {
    /// Trust an agency: adds a [[peers]] entry to the config.
    Add(PeerAddArgs),
    /// The trusted agencies (with connection state while the daemon runs).
    List(JsonArg),
    /// Stop trusting an agency: removes its [[peers]] entry.
    Remove(PeerRemoveArgs),
}

#[derive(Debug, Args)]
struct PeerAddArgs {
    /// Short name for the peer (`tj-drug-control`).
    #[arg(long)]
    name: String,
    /// Its agency key, as its `liaison init` printed it.
    #[arg(long)]
    key: String,
    /// Multiaddr to reach it at (repeatable; none for a peer that only dials in).
    #[arg(long)]
    addr: Vec<String>,
    /// Selector kind it may match (repeatable; default every kind).
    #[arg(long, conflicts_with = "no_matching")]
    kind: Vec<String>,
    /// It may match nothing here: no filter is built for it (an agreement
    /// to exchange envelopes and witness logs only).
    #[arg(long)]
    no_matching: bool,
}

#[derive(Debug, Args)]
struct PeerRemoveArgs {
    /// The peer's name.
    name: String,
}

#[derive(Debug, Args)]
struct PingArgs {
    /// The peer's name.
    peer: String,
    /// Number of pings.
    #[arg(long, default_value_t = 1)]
    count: u32,
    /// Queue the pings in the outbox instead of waiting: they are
    /// delivered (exactly once) whenever the peer is reachable.
    #[arg(long)]
    queue: bool,
    /// Bytes of random payload per ping (up to 1 MiB), to measure
    /// round trips with a body.
    #[arg(long, default_value_t = 0)]
    size: usize,
    #[command(flatten)]
    case: CaseArgs,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct InitArgs {
    /// Folder for the new node (created if missing).
    #[arg(long)]
    dir: PathBuf,
    /// Short name: lower-case letters, digits, dashes (`kg-border`).
    #[arg(long)]
    name: String,
    /// ISO 3166 alpha-3 country, for reading national phone numbers.
    #[arg(long)]
    country: Option<String>,
    /// Multiaddr to listen on (repeatable).
    #[arg(long)]
    listen: Vec<String>,
    /// The federation's id.
    #[arg(long)]
    federation: Option<String>,
}

#[derive(Debug, Args)]
struct IngestArgs {
    /// Input files, read in order.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Read every file as this format instead of detecting it.
    #[arg(long, value_enum)]
    format: Option<ingest::Format>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    /// Print a line to stderr after each committed batch (`committed
    /// read=N stored=N updated=N refused=N`), for tools that watch a long
    /// ingest without a terminal.
    #[arg(long)]
    progress_lines: bool,
}

#[derive(Debug, Args)]
struct FindArgs {
    /// The identifier: a phone, document, plate, VIN, IMEI, IBAN, e-mail,
    /// organisation, or with --dob a person's name.
    value: String,
    /// Read the value only as this kind.
    #[arg(long)]
    kind: Option<SelectorKind>,
    /// Date of birth (YYYY-MM-DD or DD.MM.YYYY): the value is a person's name.
    #[arg(long)]
    dob: Option<String>,
    /// Most records to list.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ShowArgs {
    /// Record id.
    id: String,
}

#[derive(Debug, Args)]
struct WithdrawArgs {
    /// Record id.
    id: String,
}

/// `--case REF --basis TEXT`: what an exchange is made under. The audit
/// log keeps only a salted commitment to them (`liaison audit open-case`).
#[derive(Debug, Args)]
pub(super) struct CaseArgs {
    /// The case reference (logged only as a salted commitment).
    #[arg(long, requires = "basis")]
    case: Option<String>,
    /// The legal basis (with --case).
    #[arg(long, requires = "case")]
    basis: Option<String>,
}

impl CaseArgs {
    /// Both, if given.
    pub(super) fn pair(self) -> Option<(String, String)> {
        self.case.zip(self.basis)
    }
}

#[derive(Debug, Args)]
struct JsonArg {
    /// JSON output.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// Build the demo federation here (must not exist) and keep it,
    /// instead of a temporary folder removed at the end.
    #[arg(long)]
    dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct GenerateArgs {
    /// Number of records.
    #[arg(long, default_value_t = 10_000)]
    records: u64,
    /// Output file (NDJSON).
    #[arg(long)]
    out: PathBuf,
    /// Random seed, for reproducible files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

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
    match cli.command {
        Command::Init(a) => init(a),
        Command::Demo(a) => demo::run(a.dir.as_deref()),
        Command::Generate(a) => generate(a),
        // The auditor's machine has no node: these need no config.
        Command::Node(NodeCommand::Audit(c)) if c.offline() => audit::run_offline(c),
        Command::Node(command) => {
            let config = load_config(&cli.config)?;
            match command {
                NodeCommand::Ingest(a) => ingest_cmd(&config, a),
                NodeCommand::Find(a) => find_cmd(&config, a),
                NodeCommand::Show(a) => show(&config, a),
                NodeCommand::Withdraw(a) => withdraw(&config, a),
                NodeCommand::Status(a) => status(&config, a.json),
                NodeCommand::Check(a) => check(&config, a.json),
                NodeCommand::Reindex(a) => reindex(&config, a.json),
                NodeCommand::Run => {
                    daemon::run(config)?;
                    Ok(ExitCode::SUCCESS)
                }
                NodeCommand::Peer(c) => peer_cmd(&config, c),
                NodeCommand::Ping(a) => ping(&config, a),
                NodeCommand::ExportBundle(a) => export_bundle(&config, a),
                NodeCommand::ImportBundle(a) => import_bundle(&config, a),
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

fn init(a: InitArgs) -> Result<ExitCode> {
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
    });
    // Validate before writing anything, so a bad --name or --listen leaves
    // no half-made node behind. The error names the option's config key.
    let config = Config::from_text(&config_path, &text).context("the options given to init")?;
    // The node's folder will hold its keys, its store and its config:
    // nobody else's to read, even if it was made beforehand with wider
    // permissions.
    make_private(&a.dir)?;
    let identity = Identity::create(&config.node.key_dir, &mut rand_core::OsRng)?;
    std::fs::write(&config_path, text)
        .with_context(|| format!("writing {}", config_path.display()))?;
    drop(open_store(&config)?);
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
        "Next: liaison --config {} ingest FILE...",
        config_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Draws a progress bar on a terminal and prints refusals as they come.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    lines: bool,
    shown: u64,
    warnings_shown: u64,
}

/// Refusals printed one by one; past this, only counted (the summary says so).
const MAX_REFUSALS_SHOWN: u64 = 1000;

impl Progress {
    fn print(&self, text: String) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }
}

impl Observer for Progress {
    fn refused(&mut self, line: &RefusedLine) {
        self.shown += 1;
        if self.shown > MAX_REFUSALS_SHOWN {
            return;
        }
        self.print(format!("refused {line}"));
    }

    fn warned(&mut self, line: &RefusedLine) {
        self.warnings_shown += 1;
        if self.warnings_shown <= MAX_REFUSALS_SHOWN {
            self.print(format!("warning {line}"));
        }
    }

    fn committed(&mut self, summary: &Summary, bytes_read: u64) {
        if self.lines {
            eprintln!(
                "committed read={} stored={} updated={} refused={} bytes={bytes_read}",
                summary.read, summary.stored, summary.updated, summary.refused
            );
        }
        if let Some(bar) = &self.bar {
            bar.set_position(bytes_read);
            bar.set_message(format!(
                "{} stored, {} updated, {} refused",
                summary.stored, summary.updated, summary.refused
            ));
        }
    }
}

fn ingest_cmd(config: &Config, a: IngestArgs) -> Result<ExitCode> {
    let store = match access(config)? {
        Access::Store(store) => store,
        Access::Daemon(client) => return ingest_via_daemon(&client, a),
    };
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(ingest::total_bytes(&a.files));
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
            )
            .expect("the progress template is valid"),
        );
        bar
    });
    let mut observer = Progress {
        bar,
        lines: a.progress_lines,
        shown: 0,
        warnings_shown: 0,
    };
    let opts = ingest::Options {
        format: a.format,
        batch_size: config.ingest.batch_size.get(),
        max_line: config.ingest.max_line_bytes.get(),
        country: config.node.country,
    };
    let started = std::time::Instant::now();
    let summary = ingest::run(&store, &a.files, &opts, &mut observer)?;
    if let Some(bar) = &observer.bar {
        bar.finish_and_clear();
    }
    print_ingest_summary(&summary, started.elapsed().as_secs_f64(), a.json)
}

/// Ingest through the running daemon: it reads the files itself, so
/// paths go as absolute paths; refusals come back at the end.
fn ingest_via_daemon(client: &Client, a: IngestArgs) -> Result<ExitCode> {
    let files = a
        .files
        .iter()
        .map(|f| std::path::absolute(f).with_context(|| format!("{}", f.display())))
        .collect::<Result<Vec<_>>>()?;
    let reply: daemon::api::records::IngestReply = client.post(
        "/v1/ingest",
        &daemon::api::records::IngestRequest {
            files,
            format: a.format,
        },
    )?;
    for line in &reply.refused {
        eprintln!("refused {line}");
    }
    for line in &reply.warnings {
        eprintln!("warning {line}");
    }
    print_ingest_summary(&reply.summary, reply.seconds, a.json)
}

fn print_ingest_summary(summary: &Summary, secs: f64, json: bool) -> Result<ExitCode> {
    if json {
        let mut v = serde_json::to_value(summary)?;
        v["seconds"] = serde_json::json!(secs);
        println!("{v}");
    } else {
        println!(
            "{} read: {} stored, {} updated, {} refused ({:.1} s)",
            summary.read, summary.stored, summary.updated, summary.refused, secs
        );
        if summary.unmatchable > 0 {
            println!(
                "{} records have no identifier that can be matched (a person needs a date of birth): stored, but peers cannot hit them",
                summary.unmatchable
            );
        }
        if summary.warned > 0 {
            println!(
                "{} records were stored with a warning (see the lines above): a phone number no numbering plan holds will not meet a peer's copy of it; correct and ingest again",
                summary.warned
            );
        }
        if summary.refused > MAX_REFUSALS_SHOWN {
            println!("only the first {MAX_REFUSALS_SHOWN} refused lines were listed");
        }
        if summary.refused > 0 {
            println!("fix the refused lines and ingest the file again: stored records are replaced, not duplicated");
        }
    }
    Ok(if summary.refused > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn find_cmd(config: &Config, a: FindArgs) -> Result<ExitCode> {
    let dob = a
        .dob
        .as_deref()
        .map(str::parse::<Date>)
        .transpose()
        .context("--dob")?;
    if a.kind.is_some_and(SelectorKind::is_person) && dob.is_none() {
        bail!(
            "--kind {} needs --dob: person keys always include the date of birth",
            a.kind.map(|k| k.as_str()).unwrap_or_default()
        );
    }
    let selectors =
        find::query_selectors(&a.value, a.kind, dob, config.node.country).map_err(|e| {
            anyhow::anyhow!(
                "{:?} does not read as {}: {}",
                a.value,
                a.kind.map_or("any kind", |k| k.as_str()),
                e.error
            )
        })?;
    if selectors.is_empty() {
        bail!("{:?} does not read as any identifier: name its kind with --kind, or give --dob for a person", a.value);
    }
    let v = match access(config)? {
        Access::Daemon(client) => client.post(
            "/v1/find",
            &serde_json::json!({ "selectors": selectors, "limit": a.limit }),
        )?,
        Access::Store(store) => {
            let found = find::lookup(&Records::new(&store), &selectors, a.limit)?;
            find::to_json(&selectors, &found)
        }
    };
    let found = v["records"].as_array().cloned().unwrap_or_default();
    if a.json {
        println!("{v}");
    } else {
        let read_as: Vec<String> = selectors.iter().map(ToString::to_string).collect();
        println!("read as: {}", read_as.join(", "));
        if found.is_empty() {
            println!("no local record");
        }
        for f in &found {
            let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
            println!(
                "{}  [{}]  matched by {}  {}",
                text(&f["record"]["id"]),
                text(&f["record"]["handling"]),
                text(&f["matched_kinds"]),
                text(&f["record"]["summary"]),
            );
        }
    }
    Ok(if found.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn show(config: &Config, a: ShowArgs) -> Result<ExitCode> {
    let v = match access(config)? {
        Access::Daemon(client) => {
            let path = format!("/v1/records/{}", url_segment(&a.id));
            client.get::<serde_json::Value>(&path)?
        }
        Access::Store(store) => {
            let Some(r) = Records::new(&store).get(&a.id)? else {
                bail!("no record with id {:?}", a.id);
            };
            find::record_json(&r)
        }
    };
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(ExitCode::SUCCESS)
}

/// `id` as one URL path segment: unreserved characters as they are, the
/// rest percent-encoded byte by byte.
fn url_segment(id: &str) -> String {
    id.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn withdraw(config: &Config, a: WithdrawArgs) -> Result<ExitCode> {
    let (id, entries) = match access(config)? {
        Access::Daemon(client) => {
            let w: daemon::api::records::Withdrawn =
                client.post("/v1/withdraw", &serde_json::json!({ "id": a.id }))?;
            (w.id, w.index_entries)
        }
        Access::Store(store) => match Records::new(&store).withdraw(&a.id)? {
            Some(r) => (r.record.id, r.selectors.len()),
            None => bail!("no record with id {:?}: nothing withdrawn", a.id),
        },
    };
    println!("withdrew {id} and its {entries} index entries");
    Ok(ExitCode::SUCCESS)
}

fn status(config: &Config, json: bool) -> Result<ExitCode> {
    let s = node_status(config)?;
    if json {
        println!("{}", serde_json::to_string(&s)?);
    } else {
        print!("{}", s.to_text());
    }
    Ok(ExitCode::SUCCESS)
}

/// The daemon if it runs, else the store itself.
enum Access {
    Daemon(Client),
    Store(Store),
}

/// How long a command waits for a daemon that is starting (it holds the
/// store but has not yet written its API address).
const DAEMON_START_WAIT: std::time::Duration = std::time::Duration::from_secs(15);

fn access(config: &Config) -> Result<Access> {
    let deadline = std::time::Instant::now() + DAEMON_START_WAIT;
    loop {
        if let Some(client) = Client::find(&config.node.data_dir)? {
            return Ok(Access::Daemon(client));
        }
        match Store::open(&config.node.data_dir) {
            Ok(store) => return Ok(Access::Store(store)),
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

fn node_status(config: &Config) -> Result<status::Status> {
    Ok(match access(config)? {
        Access::Daemon(client) => client.get::<status::Status>("/v1/status")?,
        Access::Store(store) => {
            let identity = Identity::load(&config.node.key_dir)?;
            status::collect(config, &identity, &store, None, None)?
        }
    })
}

fn peer_cmd(config: &Config, command: PeerCommand) -> Result<ExitCode> {
    let changed = match command {
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
            return Ok(ExitCode::SUCCESS);
        }
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
            new
        }
        PeerCommand::Remove(a) => {
            let new = peers::remove(&config.path, &a.name)?;
            println!("{} no longer trusts {}", config.node.name, a.name);
            new
        }
    };
    drop(changed);
    if let Some(client) = Client::find(&config.node.data_dir)? {
        let _: serde_json::Value = client.post("/v1/reload", &serde_json::json!({}))?;
        println!("the running daemon has the new peer list");
    }
    Ok(ExitCode::SUCCESS)
}

/// The envelope layer over the store opened directly (no daemon).
/// The node's domains over its store, for a bundle moved while the
/// daemon is stopped.
fn offline_router(config: &Config, store: Store) -> Result<crate::router::Router> {
    let identity = Identity::load(&config.node.key_dir)?;
    let post = crate::post::Post::new(identity, std::sync::Arc::new(store), config);
    Ok(crate::router::Router::new(
        std::sync::Arc::new(post),
        config,
    ))
}

fn export_bundle(config: &Config, a: ExportBundleArgs) -> Result<ExitCode> {
    let out = std::path::absolute(&a.out).with_context(|| format!("{}", a.out.display()))?;
    let n = match access(config)? {
        Access::Daemon(client) => {
            let r: daemon::api::Exported = client.post(
                "/v1/bundle/export",
                &daemon::api::ExportRequest {
                    peer: a.peer.clone(),
                    out: out.clone(),
                },
            )?;
            r.envelopes
        }
        Access::Store(store) => {
            crate::bundle::export(offline_router(config, store)?.post(), &a.peer, &out)?
        }
    };
    println!(
        "{n} envelopes for {} written to {} (they stay in the outbox until {}'s receipts come back: `liaison import-bundle FILE.receipts`)",
        a.peer,
        out.display(),
        a.peer
    );
    Ok(ExitCode::SUCCESS)
}

fn import_bundle(config: &Config, a: ImportBundleArgs) -> Result<ExitCode> {
    let file = std::path::absolute(&a.file).with_context(|| format!("{}", a.file.display()))?;
    let receipts_out = match &a.receipts_out {
        Some(p) => std::path::absolute(p)?,
        None => {
            let mut name = file.clone().into_os_string();
            name.push(".receipts");
            PathBuf::from(name)
        }
    };
    let done = match access(config)? {
        Access::Daemon(client) => client.post(
            "/v1/bundle/import",
            &daemon::api::ImportRequest {
                file: file.clone(),
                receipts_out,
            },
        )?,
        Access::Store(store) => {
            crate::bundle::import(&offline_router(config, store)?, &file, &receipts_out)?
        }
    };
    if a.json {
        println!("{}", serde_json::to_string(&done)?);
    } else {
        println!(
            "{}: {} accepted, {} already applied, {} refused, {} invalid",
            file.display(),
            done.accepted,
            done.duplicates,
            done.refused,
            done.invalid
        );
        if let Some(r) = &done.receipts {
            println!(
                "receipts written to {}: carry them back to the sender",
                r.display()
            );
        }
    }
    Ok(if done.refused > 0 || done.invalid > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn ping(config: &Config, a: PingArgs) -> Result<ExitCode> {
    let Some(client) = Client::find(&config.node.data_dir)? else {
        bail!(
            "the daemon of {} is not running: start it with `liaison run`",
            config.node.name
        );
    };
    let reply: serde_json::Value = client.post(
        "/v1/ping",
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

fn check(config: &Config, json: bool) -> Result<ExitCode> {
    let (report, stale) = match access(config)? {
        Access::Daemon(client) => {
            client.get::<(crate::store::check::Report, ingest::reindex::Reindex)>("/v1/check")?
        }
        Access::Store(store) => (
            crate::store::check::run(&Records::new(&store))?,
            ingest::reindex::scan(&store, config.node.country)?,
        ),
    };
    if json {
        let mut v = serde_json::to_value(&report)?;
        v["stale"] = serde_json::to_value(&stale)?;
        println!("{v}");
    } else {
        println!(
            "{} records, {} index entries",
            report.records, report.index_entries
        );
        for p in &report.problems {
            println!("problem: {p}");
        }
        if report.problems.is_empty() {
            println!("store is consistent");
        }
        print_stale(&stale, false);
    }
    Ok(if report.problems.is_empty() && stale.stale == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn reindex(config: &Config, json: bool) -> Result<ExitCode> {
    let done = match access(config)? {
        Access::Daemon(client) => client.post::<_, ingest::reindex::Reindex>("/v1/reindex", &())?,
        Access::Store(store) => {
            ingest::reindex::run(&store, config.node.country, config.ingest.batch_size.get())?
        }
    };
    if json {
        println!("{}", serde_json::to_string(&done)?);
    } else {
        print_stale(&done, true);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_stale(r: &ingest::reindex::Reindex, ran: bool) {
    if ran {
        println!(
            "{} records read, {} re-indexed under today's normalisation rules",
            r.records, r.reindexed
        );
    } else if r.stale > 0 {
        println!(
            "{} records are indexed under older normalisation rules: peers will miss them on the new keys until you run `liaison reindex`",
            r.stale
        );
    }
    if r.unreadable > 0 {
        println!(
            "{} records are refused by today's rules and keep their old keys: correct them and ingest them again",
            r.unreadable
        );
    }
    for e in &r.examples {
        println!("  {e}");
    }
}

fn generate(a: GenerateArgs) -> Result<ExitCode> {
    let file =
        std::fs::File::create(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let mut gen = synth::Generator::new(a.seed);
    for i in 0..a.records {
        serde_json::to_writer(&mut out, &gen.record(i))?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    println!("wrote {} records to {}", a.records, a.out.display());
    Ok(ExitCode::SUCCESS)
}
