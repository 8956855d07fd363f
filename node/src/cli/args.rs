//! The command line's grammar: the clap types `liaison`'s arguments parse
//! into. Their `///` lines are the `--help` text.
//!
//! Input: `std::env::args`, parsed by [`Cli`] in [`super::main`]. Output:
//! the parsed values, which `super::run` dispatches to the command
//! functions in the sibling modules (`node`, `records`, `bundles`, `demo`,
//! `audit`, `matching`, `exchange`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use liaison_protocol::SelectorKind;

use super::flags::{CaseArgs, JsonArg};
use super::{audit, exchange, matching};
use crate::ingest;

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
    pub(super) config: PathBuf,
    /// The user to act as: its roles apply and the audit log names it
    /// (default: the OS account's name).
    #[arg(long = "as", value_name = "USER", global = true, env = "LIAISON_USER")]
    pub(super) acting_as: Option<String>,
    #[command(subcommand)]
    pub(super) command: Command,
}

/// Every subcommand: those that need no node config, and the node's own.
#[derive(Debug, Subcommand)]
pub(super) enum Command {
    /// Create a new agency node: keys (mode 0600), config and store.
    Init(InitArgs),
    /// Three demo agencies in a temporary folder, their sample data, and look-ups across scripts.
    Demo(DemoArgs),
    /// Write synthetic records in the region's spellings (for load tests).
    Generate(GenerateArgs),
    /// Write the API's OpenAPI 3.1 document (what `/api/openapi.json` serves).
    Openapi(OpenapiArgs),
    /// The commands that act on an existing node, read from `--config`.
    #[command(flatten)]
    Node(NodeCommand),
}

/// Commands that need the node's config.
#[derive(Debug, Subcommand)]
pub(super) enum NodeCommand {
    /// Store records from NDJSON, CSV or call detail record files.
    Ingest(IngestArgs),
    /// Look up local records by an identifier written in any form.
    Find(FindArgs),
    /// Print one record as stored.
    Show(ShowArgs),
    /// Write records, or a report's records, as an i2 Analyst's Notebook
    /// chart (anx) or a STIX 2.1 bundle (stix).
    Export(super::export::ExportArgs),
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
    /// The node's users: who may do what, under whose name the log records it.
    #[command(subcommand)]
    User(super::people::Command),
}

/// `liaison export-bundle`.
#[derive(Debug, Args)]
pub(super) struct ExportBundleArgs {
    /// The peer's name.
    #[arg(long)]
    pub(super) peer: String,
    /// The new file (must not exist).
    #[arg(long)]
    pub(super) out: PathBuf,
}

/// `liaison import-bundle`.
#[derive(Debug, Args)]
pub(super) struct ImportBundleArgs {
    /// The bundle file.
    pub(super) file: PathBuf,
    /// Where to write the receipts of imported envelopes (default FILE.receipts).
    #[arg(long)]
    pub(super) receipts_out: Option<PathBuf>,
    /// JSON output.
    #[arg(long)]
    pub(super) json: bool,
}

/// `liaison peer add|list|remove`.
#[derive(Debug, Subcommand)]
pub(super) enum PeerCommand {
    /// Trust an agency: adds a [[peers]] entry to the config.
    Add(PeerAddArgs),
    /// The trusted agencies (with connection state while the daemon runs).
    List(JsonArg),
    /// Stop trusting an agency: removes its [[peers]] entry.
    Remove(PeerRemoveArgs),
}

/// `liaison peer add`.
#[derive(Debug, Args)]
pub(super) struct PeerAddArgs {
    /// Short name for the peer (`tj-drug-control`).
    #[arg(long)]
    pub(super) name: String,
    /// Its agency key, as its `liaison init` printed it.
    #[arg(long)]
    pub(super) key: String,
    /// Multiaddr to reach it at (repeatable; none for a peer that only dials in).
    #[arg(long)]
    pub(super) addr: Vec<String>,
    /// Selector kind it may match (repeatable; default every kind).
    #[arg(long, conflicts_with = "no_matching")]
    pub(super) kind: Vec<String>,
    /// It may match nothing here: no filter is built for it (an agreement
    /// to exchange envelopes and witness logs only).
    #[arg(long)]
    pub(super) no_matching: bool,
}

/// `liaison peer remove`.
#[derive(Debug, Args)]
pub(super) struct PeerRemoveArgs {
    /// The peer's name.
    pub(super) name: String,
}

/// `liaison ping`.
#[derive(Debug, Args)]
pub(super) struct PingArgs {
    /// The peer's name.
    pub(super) peer: String,
    /// Number of pings.
    #[arg(long, default_value_t = 1)]
    pub(super) count: u32,
    /// Queue the pings in the outbox instead of waiting: they are
    /// delivered (exactly once) whenever the peer is reachable.
    #[arg(long)]
    pub(super) queue: bool,
    /// Bytes of random payload per ping (up to 1 MiB), to measure
    /// round trips with a body.
    #[arg(long, default_value_t = 0)]
    pub(super) size: usize,
    #[command(flatten)]
    pub(super) case: CaseArgs,
    /// JSON output.
    #[arg(long)]
    pub(super) json: bool,
}

/// `liaison init`.
#[derive(Debug, Args)]
pub(super) struct InitArgs {
    /// Folder for the new node (created if missing).
    #[arg(long)]
    pub(super) dir: PathBuf,
    /// Short name: lower-case letters, digits, dashes (`kg-border`).
    #[arg(long)]
    pub(super) name: String,
    /// ISO 3166 alpha-3 country, for reading national phone numbers.
    #[arg(long)]
    pub(super) country: Option<String>,
    /// Multiaddr to listen on (repeatable).
    #[arg(long)]
    pub(super) listen: Vec<String>,
    /// The federation's id.
    #[arg(long)]
    pub(super) federation: Option<String>,
    /// Also make a self-signed certificate and key for the API's TCP
    /// listener (`api-cert.pem`, `api-key.pem` in the node folder), name
    /// them in `[api]` and print the certificate's fingerprint.
    #[arg(long)]
    pub(super) tls: bool,
    /// A host name or IP address tools reach the API at, for the
    /// certificate beside `localhost` and `127.0.0.1` (repeatable).
    #[arg(long, requires = "tls", value_name = "HOST")]
    pub(super) tls_name: Vec<String>,
}

/// `liaison ingest`.
#[derive(Debug, Args)]
pub(super) struct IngestArgs {
    /// Input files, read in order.
    #[arg(required = true)]
    pub(super) files: Vec<PathBuf>,
    /// Read every file as this format instead of detecting it.
    #[arg(long, value_enum)]
    pub(super) format: Option<ingest::Format>,
    /// How to read the files: encoding, delimiter, sheet, column mapping.
    #[command(flatten)]
    pub(super) reading: ReadingArgs,
    /// Print the summary as JSON.
    #[arg(long)]
    pub(super) json: bool,
    /// Print a line to stderr after each committed batch (`committed
    /// read=N stored=N updated=N refused=N`), for tools that watch a long
    /// ingest without a terminal.
    #[arg(long)]
    pub(super) progress_lines: bool,
}

/// How `ingest` reads CSV and XLSX files (all detected when not given).
#[derive(Debug, Args, Clone, Default)]
pub(super) struct ReadingArgs {
    /// The CSV files' text encoding, by any WHATWG label: utf-8,
    /// windows-1251 (cp1251), koi8-r, ibm866 (cp866), utf-16le... Detected
    /// when absent: a byte order mark, else UTF-8 if the first 64 KiB
    /// are, else Windows-1251. A byte order mark wins over it.
    #[arg(long, value_name = "LABEL", value_parser = parse_encoding)]
    pub(super) encoding: Option<String>,
    /// The CSV delimiter: `,`, `;`, `tab` or `|`. Detected when absent:
    /// the one of `,` `;` tab the header line holds most.
    #[arg(long, value_name = "CHAR", value_parser = parse_delimiter)]
    pub(super) delimiter: Option<String>,
    /// The XLSX files' worksheet, by name (the first when absent).
    #[arg(long, value_name = "NAME")]
    pub(super) sheet: Option<String>,
    /// A column mapping file (TOML): the agency's headers (`Фамилия`,
    /// `Абонент А`) as Liaison's fields, and constant values. Examples in
    /// config/examples/maps/. Checked before any file is read.
    #[arg(long, value_name = "FILE.toml")]
    pub(super) map: Option<PathBuf>,
}

fn parse_encoding(label: &str) -> Result<String, String> {
    ingest::read::encoding_for_label(label).map(|e| e.name().to_owned())
}

fn parse_delimiter(value: &str) -> Result<String, String> {
    ingest::read::delimiter_for(value).map(|d| char::from(d).to_string())
}

/// `liaison find`.
#[derive(Debug, Args)]
pub(super) struct FindArgs {
    /// The identifier: a phone, document, plate, VIN, IMEI, IBAN, e-mail,
    /// organisation, or with --dob a person's name.
    pub(super) value: String,
    /// Read the value only as this kind.
    #[arg(long)]
    pub(super) kind: Option<SelectorKind>,
    /// Date of birth (YYYY-MM-DD or DD.MM.YYYY): the value is a person's name.
    #[arg(long)]
    pub(super) dob: Option<String>,
    /// Most records to list.
    #[arg(long, default_value_t = 50)]
    pub(super) limit: usize,
    /// The case the look-up is made for (logged as a salted commitment).
    #[command(flatten)]
    pub(super) case: CaseArgs,
    /// JSON output.
    #[arg(long)]
    pub(super) json: bool,
}

/// `liaison show`.
#[derive(Debug, Args)]
pub(super) struct ShowArgs {
    /// Record id.
    pub(super) id: String,
}

/// `liaison withdraw`.
#[derive(Debug, Args)]
pub(super) struct WithdrawArgs {
    /// Record id.
    pub(super) id: String,
}

/// `liaison demo`.
#[derive(Debug, Args)]
pub(super) struct DemoArgs {
    /// Build the demo federation here (must not exist) and keep it,
    /// instead of a temporary folder removed at the end.
    #[arg(long)]
    pub(super) dir: Option<PathBuf>,
}

/// `liaison generate`.
#[derive(Debug, Args)]
pub(super) struct GenerateArgs {
    /// Number of records.
    #[arg(long, default_value_t = 10_000)]
    pub(super) records: u64,
    /// Output file (NDJSON).
    #[arg(long)]
    pub(super) out: PathBuf,
    /// Random seed, for reproducible files.
    #[arg(long, default_value_t = 1)]
    pub(super) seed: u64,
}

/// `liaison openapi`.
#[derive(Debug, Args)]
pub(super) struct OpenapiArgs {
    /// Write it here (default: standard output).
    #[arg(long)]
    pub(super) out: Option<PathBuf>,
}
