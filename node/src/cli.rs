//! The `liaison` command line.
//!
//! Each subcommand is a function from its parsed arguments to an
//! [`ExitCode`]. Errors are `anyhow` with context, printed once with `{:#}`.
//! Exit codes: 0 success; 1 the command ran but found a problem in its
//! input (refused lines, nothing found); 2 it could not run (bad config,
//! missing file, store in use).

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use clap::{Args, Parser, Subcommand};
use liaison_config::{Config, NewNode};
use liaison_protocol::date::Date;
use liaison_protocol::SelectorKind;

use crate::identity::{self, Identity};
use crate::ingest::{self, Observer, RefusedLine, Summary};
use crate::store::records::Records;
use crate::store::Store;
use crate::{demo, find, synth};

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
    /// Check the store: every record decodes, the index and the counters agree.
    Check(JsonArg),
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
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
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
        Command::Node(command) => {
            let config = load_config(&cli.config)?;
            match command {
                NodeCommand::Ingest(a) => ingest_cmd(&config, a),
                NodeCommand::Find(a) => find_cmd(&config, a),
                NodeCommand::Show(a) => show(&config, a),
                NodeCommand::Withdraw(a) => withdraw(&config, a),
                NodeCommand::Status(a) => status(&config, a.json),
                NodeCommand::Check(a) => check(&config, a.json),
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
}

/// Refusals printed one by one; past this, only counted (the summary says so).
const MAX_REFUSALS_SHOWN: u64 = 1000;

impl Observer for Progress {
    fn refused(&mut self, line: &RefusedLine) {
        self.shown += 1;
        if self.shown > MAX_REFUSALS_SHOWN {
            return;
        }
        let text = format!("refused {line}");
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
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
    let store = open_store(config)?;
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
    let secs = started.elapsed().as_secs_f64();
    if a.json {
        let mut v = serde_json::to_value(&summary)?;
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
    let store = open_store(config)?;
    let found = find::lookup(&Records::new(&store), &selectors, a.limit)?;
    if a.json {
        let list: Vec<_> = found
            .iter()
            .map(|f| {
                serde_json::json!({
                    "record": f.record.record,
                    "matched": f.matched,
                    "source": f.record.source,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({ "selectors": selectors, "records": list })
        );
    } else {
        let read_as: Vec<String> = selectors.iter().map(ToString::to_string).collect();
        println!("read as: {}", read_as.join(", "));
        if found.is_empty() {
            println!("no local record");
        }
        for f in &found {
            println!(
                "{}  [{}]  matched by {}  {}",
                f.record.record.id,
                f.record.record.handling,
                f.matched_kinds(),
                f.record.record.summary.as_deref().unwrap_or("")
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
    let store = open_store(config)?;
    let Some(r) = Records::new(&store).get(&a.id)? else {
        bail!("no record with id {:?}", a.id);
    };
    let v = serde_json::json!({
        "record": r.record,
        "selectors": r.selectors,
        "source": r.source,
        "ingested_at": r.ingested_at,
    });
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(ExitCode::SUCCESS)
}

fn withdraw(config: &Config, a: WithdrawArgs) -> Result<ExitCode> {
    let store = open_store(config)?;
    match Records::new(&store).withdraw(&a.id)? {
        Some(r) => {
            println!(
                "withdrew {} and its {} index entries",
                r.record.id,
                r.selectors.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        None => bail!("no record with id {:?}: nothing withdrawn", a.id),
    }
}

fn status(config: &Config, json: bool) -> Result<ExitCode> {
    let identity = Identity::load(&config.node.key_dir)?;
    let store = open_store(config)?;
    let counts = Records::new(&store).counts()?;
    let key = identity.agency_key();
    if json {
        let selectors: serde_json::Map<String, serde_json::Value> = counts
            .selectors
            .iter()
            .map(|(k, n)| (k.as_str().to_owned(), (*n).into()))
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "name": config.node.name,
                "agency_key": key.to_string(),
                "fingerprint": key.fingerprint(),
                "peer_id": identity.peer_id().to_string(),
                "records": counts.records,
                "selectors": selectors,
                "peers": config.peers.iter().map(|p| &p.name).collect::<Vec<_>>(),
            })
        );
    } else {
        println!("node        {}", config.node.name);
        println!("agency key  {key}");
        println!("fingerprint {}", key.fingerprint());
        println!("peer id     {}", identity.peer_id());
        println!("records     {}", counts.records);
        for (kind, n) in &counts.selectors {
            println!("  {kind:<16} {n}");
        }
        let peers: Vec<String> = config
            .peers
            .iter()
            .map(|p| format!("{} ({})", p.name, identity::peer_id(&p.key)))
            .collect();
        println!(
            "peers       {}",
            if peers.is_empty() {
                "none".into()
            } else {
                peers.join(", ")
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn check(config: &Config, json: bool) -> Result<ExitCode> {
    let store = open_store(config)?;
    let report = crate::store::check::run(&Records::new(&store))?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
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
    }
    Ok(if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
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
