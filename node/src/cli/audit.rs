//! `liaison audit`: verify the node's log, export it, verify an export
//! (with the counterparty's), read it, open a case.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use clap::{Args, Subcommand};
use liaison_config::Config;
use liaison_protocol::keys::AgencyKey;

use super::flags::JsonArg;
use super::{access, Access};
use crate::users::Right;

#[derive(Debug, Subcommand)]
pub(super) enum Command {
    /// Check this node's whole log: entries, tree, checkpoints, cosignatures, receipts, inbox.
    Verify(JsonArg),
    /// Write a signed, self-contained export of the log (or of a time range).
    Export(ExportArgs),
    /// Verify an export on any machine; with --with, check both sides' records agree.
    VerifyFile(Box<VerifyFileArgs>),
    /// List log entries for a person to read.
    Show(ShowArgs),
    /// Print the salts of a case reference, for an auditor to check its queries.
    OpenCase(OpenCaseArgs),
}

#[derive(Debug, Args)]
pub(super) struct ExportArgs {
    /// The file to write.
    #[arg(long)]
    out: PathBuf,
    /// Only entries from this time (RFC 3339, or a date YYYY-MM-DD).
    #[arg(long)]
    from: Option<String>,
    /// Only entries up to this time (RFC 3339, or a date: the end of that day).
    #[arg(long)]
    to: Option<String>,
}

#[derive(Debug, Args)]
pub(super) struct VerifyFileArgs {
    /// The export.
    file: PathBuf,
    /// The counterparty's export of the same period.
    #[arg(long)]
    with: Option<PathBuf>,
    /// The agency key (liaison-agency-v1:...) the export must be by.
    #[arg(long)]
    key: Option<AgencyKey>,
    /// The agency key the --with export must be by.
    #[arg(long, requires = "with")]
    with_key: Option<AgencyKey>,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(super) struct ShowArgs {
    /// Only entries with this peer.
    #[arg(long)]
    peer: Option<String>,
    /// Only entries made under this case reference.
    #[arg(long)]
    case: Option<String>,
    /// Only entries made for this local user (what they did, tried, and
    /// their sign-ins).
    #[arg(long)]
    user: Option<String>,
    /// At most this many, the newest.
    #[arg(long, default_value_t = 200)]
    limit: usize,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(super) struct OpenCaseArgs {
    /// The case reference.
    #[arg(long)]
    case: String,
    /// The legal basis it was opened under (with --salt).
    #[arg(long, requires = "salt")]
    basis: Option<String>,
    /// The salt the agency gave the auditor (64 hex digits). With it, no
    /// node is needed: the entries are read from the export FILE.
    #[arg(long, requires_all = ["basis", "file"])]
    salt: Option<String>,
    /// The agency's audit export (with --salt).
    #[arg(requires = "salt")]
    file: Option<PathBuf>,
}

impl Command {
    /// Whether this runs on a machine with no node (no config needed).
    pub(super) fn offline(&self) -> bool {
        match self {
            Command::VerifyFile(_) => true,
            Command::OpenCase(a) => a.salt.is_some(),
            _ => false,
        }
    }
}

/// Runs an [`Command::offline`] command.
pub(super) fn run_offline(command: Command) -> Result<ExitCode> {
    match command {
        Command::VerifyFile(a) => verify_file(a),
        Command::OpenCase(a) => open_case_offline(a),
        _ => bail!("this audit command needs a node: pass --config"),
    }
}

fn open_case_offline(a: OpenCaseArgs) -> Result<ExitCode> {
    let (Some(basis), Some(salt), Some(file)) = (a.basis, a.salt, a.file) else {
        bail!("--salt needs --basis and the export FILE");
    };
    let salt: [u8; 32] = crate::hex::decode(&salt)
        .context("--salt must be 64 hex digits, as `liaison audit open-case` printed it")?;
    let commitment = liaison_protocol::audit::case::commitment(&salt, &a.case, &basis);
    let opened =
        std::fs::File::open(&file).with_context(|| format!("opening {}", file.display()))?;
    let mut found = Vec::new();
    let report =
        liaison_protocol::audit::export::verify(std::io::BufReader::new(opened), None, |i, e| {
            if e.case == Some(commitment) {
                found.push((i, e.clone()));
            }
        });
    for p in &report.problems {
        println!("FAILED: {}: {p}", file.display());
    }
    if let Some(v) = &report.verified {
        println!(
            "export by {} ({}), entries {}..{}",
            v.header.name,
            v.header.agency.fingerprint(),
            v.header.first,
            v.header.end
        );
    }
    println!(
        "{} entries were made under case {:?}, basis {basis:?}:",
        found.len(),
        a.case
    );
    for (i, e) in &found {
        println!(
            "{i:>7}  {}  {:<9}  {}  {}",
            e.time_ms,
            e.kind,
            e.context,
            e.message_id.map(|m| m.to_string()).unwrap_or_default()
        );
    }
    Ok(if !report.problems.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn parse_time(text: &str, end_of_day: bool) -> Result<u64> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return Ok((t.unix_timestamp_nanos() / 1_000_000).max(0) as u64);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(text, &format).with_context(|| {
        format!("{text:?} is not a time: write 2026-11-29 or 2026-11-29T14:00:00Z")
    })?;
    let t = if end_of_day {
        d.with_hms_milli(23, 59, 59, 999).expect("a valid time")
    } else {
        d.midnight()
    };
    Ok((t.assume_utc().unix_timestamp_nanos() / 1_000_000).max(0) as u64)
}

/// Runs one `liaison audit` command.
pub(super) fn run(config: &Config, command: Command) -> Result<ExitCode> {
    use crate::audit::verify;
    let fail = |bad: bool| {
        if bad {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        }
    };
    match command {
        Command::Verify(a) => {
            let checked = match access(config, Right::Audit, Some("audit-verify"))? {
                Access::Daemon(c) => c.get::<verify::Checked>("/api/v1/audit/verification")?,
                Access::Store(store) => {
                    let identity = crate::identity::Identity::load(&config.node.key_dir)?;
                    verify::verify_store(&store, &identity, &config.node.federation, &config.peers)?
                }
            };
            if a.json {
                println!("{}", serde_json::to_string(&checked)?);
            } else {
                for p in &checked.problems {
                    println!("problem: {p}");
                }
                println!(
                    "{} entries, {} checkpoints, {} cosignatures, {} peer receipts, {} inbox entries checked; {} forks held as evidence",
                    checked.entries, checked.checkpoints, checked.cosignatures, checked.receipts, checked.inbox, checked.forks
                );
                if checked.problems.is_empty() {
                    println!("the audit log verifies");
                }
            }
            Ok(fail(!checked.problems.is_empty()))
        }
        Command::Export(a) => {
            let out = std::path::absolute(&a.out)?;
            if out.exists() {
                bail!("{} exists: choose a new file", out.display());
            }
            let from_ms = a
                .from
                .as_deref()
                .map(|t| parse_time(t, false))
                .transpose()?;
            let to_ms = a.to.as_deref().map(|t| parse_time(t, true)).transpose()?;
            let done = match access(config, Right::Audit, Some("audit-export"))? {
                Access::Daemon(c) => c.post::<_, verify::Exported>(
                    "/api/v1/local/audit/export",
                    &crate::daemon::api::audit::ExportRequest {
                        out: out.clone(),
                        from_ms,
                        to_ms,
                    },
                )?,
                Access::Store(store) => {
                    let identity = crate::identity::Identity::load(&config.node.key_dir)?;
                    verify::export_to(
                        &store,
                        &identity,
                        &config.node.name,
                        &config.node.federation,
                        &config.peers,
                        &out,
                        from_ms,
                        to_ms,
                    )?
                }
            };
            println!(
                "wrote entries {}..{} of {} ({} witnessed) to {}",
                done.first,
                done.end,
                done.size,
                done.witnesses,
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::VerifyFile(a) => verify_file(a),
        Command::Show(a) => {
            let shown = match access(config, Right::Audit, None)? {
                Access::Daemon(c) => newest_entries(&c, &a)?,
                Access::Store(store) => {
                    let peer = a
                        .peer
                        .as_deref()
                        .map(|n| {
                            config
                                .peers
                                .iter()
                                .find(|p| p.name == n)
                                .cloned()
                                .with_context(|| {
                                    format!("no trusted peer named {n:?}: see `liaison peer list`")
                                })
                        })
                        .transpose()?;
                    let filter = verify::Filter {
                        peer: peer.as_ref(),
                        case: a.case.as_deref(),
                        user: a.user.as_deref(),
                        ..verify::Filter::default()
                    };
                    verify::page(
                        &store,
                        &config.peers,
                        &filter,
                        verify::Cursor::Newest { before: None },
                        a.limit,
                    )?
                    .0
                }
            };
            if a.json {
                println!("{}", serde_json::to_string(&shown)?);
            } else {
                for s in &shown {
                    println!(
                        "{:>7}  {}  {:<9}  {:<10}  {:<28}  {}{}{}{}",
                        s.index,
                        s.time,
                        s.kind,
                        s.user
                            .as_ref()
                            .map(|u| format!("@{u}"))
                            .or_else(|| s.peer.clone())
                            .unwrap_or_else(|| "-".into()),
                        s.context,
                        s.message.as_deref().unwrap_or(""),
                        if s.count > 1 {
                            format!("  ×{}", s.count)
                        } else {
                            String::new()
                        },
                        if s.case { "  [case]" } else { "" },
                        s.detail
                            .as_deref()
                            .map(|d| format!("  ({d})"))
                            .unwrap_or_default(),
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::OpenCase(a) => {
            let Access::Store(store) = access(config, Right::Audit, Some("audit-open-case"))?
            else {
                bail!("stop the daemon first: opening a case reads its salts from the store directly, so they never travel over the API");
            };
            let openings = verify::case_openings(&store, &a.case)?;
            if openings.is_empty() {
                println!("no exchange was made under case {:?}", a.case);
                return Ok(ExitCode::from(1));
            }
            for (basis, salt, commitment) in openings {
                println!(
                    "case {:?}, basis {basis:?}: salt {}, commitment {}",
                    a.case,
                    crate::hex::encode(&salt),
                    crate::hex::encode(&commitment)
                );
            }
            let shown = verify::show(&store, &config.peers, None, Some(&a.case), usize::MAX)?;
            println!("{} log entries were made under this case:", shown.len());
            for s in shown {
                println!(
                    "{:>7}  {}  {:<9}  {:<10}  {}",
                    s.index,
                    s.time,
                    s.kind,
                    s.peer.unwrap_or_default(),
                    s.context
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn verify_file(a: Box<VerifyFileArgs>) -> Result<ExitCode> {
    use crate::audit::verify;
    let r = verify::verify_file(
        &a.file,
        a.key.as_ref().map(AgencyKey::verifying_key),
        a.with.as_deref(),
        a.with_key.as_ref().map(AgencyKey::verifying_key),
    );
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        if let Some(agency) = &r.agency {
            println!("export by {agency}");
        }
        if let Some(peer) = &r.peer_agency {
            println!("peer export by {peer}");
        }
        if let Some((first, end, size)) = r.range {
            println!("entries {first}..{end} of a signed tree of {size}");
        }
        for (w, size) in &r.witnesses {
            println!("witnessed by {w} at size {size}");
        }
        if a.with.is_some() {
            println!("{} exchanges recorded identically by both sides", r.matched);
            for u in &r.unchecked {
                println!("not checked: {u}");
            }
        }
        for p in &r.problems {
            println!("FAILED: {p}");
        }
        if r.problems.is_empty() && r.unchecked.is_empty() {
            println!("verified");
        }
    }
    Ok(if !r.problems.is_empty() {
        ExitCode::from(1)
    } else if !r.unchecked.is_empty() {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

/// The newest `a.limit` entries through the daemon, in log order: pages
/// of the newest before the last page's first, until enough.
fn newest_entries(
    c: &super::client::Client,
    a: &ShowArgs,
) -> Result<Vec<crate::audit::verify::Shown>> {
    use super::client::url_segment;
    let mut filters = String::new();
    for (k, v) in [("peer", &a.peer), ("case", &a.case), ("user", &a.user)] {
        if let Some(v) = v {
            filters.push_str(&format!("&{k}={}", url_segment(v)));
        }
    }
    let mut out = std::collections::VecDeque::new();
    let mut cursor: Option<String> = None;
    while out.len() < a.limit {
        let want = (a.limit - out.len()).min(crate::daemon::api::wire::MAX_PAGE);
        let url = format!(
            "/api/v1/audit/entries?order=newest&limit={want}{filters}{}",
            cursor
                .as_ref()
                .map(|c| format!("&cursor={c}"))
                .unwrap_or_default()
        );
        let page: crate::daemon::api::wire::Page<crate::audit::verify::Shown> = c.get(&url)?;
        for e in page.items.into_iter().rev() {
            out.push_front(e);
        }
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    Ok(out.into())
}
