//! The commands about the node's records: `ingest`, `find`, `show`,
//! `withdraw`, `check`, `reindex`, and `generate` (synthetic records for
//! load tests).
//!
//! Input: the parsed arguments ([`super::args`]), the node's files, and its
//! records either through the running daemon's local API or from the store
//! opened directly ([`super::access`]). Output: text or JSON on stdout,
//! refusals, warnings and progress on stderr, and an exit code (1 when a
//! line was refused, nothing was found or the store has a problem).

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use liaison_config::Config;
use liaison_protocol::date::Date;
use liaison_protocol::SelectorKind;

use super::args::{FindArgs, GenerateArgs, IngestArgs, ShowArgs, WithdrawArgs};
use super::client::{url_segment, Client};
use super::{access, Access};
use crate::ingest::{self, Observer, RefusedLine, Summary};
use crate::store::records::Records;
use crate::users::Right;
use crate::{daemon, find, synth};

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

/// `liaison ingest`: into the store with a progress bar, or through the daemon.
pub(super) fn ingest_cmd(config: &Config, a: IngestArgs) -> Result<ExitCode> {
    // A mapping file naming a field that does not exist stops the run
    // before anything is read.
    let r = &a.reading;
    let mut reading = ingest::read::Reading::from_options(
        r.encoding.as_deref(),
        r.delimiter.as_deref(),
        r.sheet.as_deref(),
        r.map.as_deref(),
    )
    .map_err(anyhow::Error::msg)?;
    reading.markings = std::sync::Arc::new(config.ingest.markings.clone());
    let store = match access(config, Right::Records, Some("ingest"))? {
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
    let summary = ingest::run_with(&store, &a.files, &opts, &reading, &mut observer)?;
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
        "/api/v1/local/ingest",
        &daemon::api::records::IngestRequest {
            files,
            format: a.format,
            encoding: a.reading.encoding,
            delimiter: a.reading.delimiter,
            sheet: a.reading.sheet,
            map: a
                .reading
                .map
                .map(|m| std::path::absolute(&m).with_context(|| format!("{}", m.display())))
                .transpose()?,
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

/// `liaison find`: local records by an identifier, read every way it can be.
pub(super) fn find_cmd(config: &Config, a: FindArgs) -> Result<ExitCode> {
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
    let case = a.case.pair();
    let v = match super::access_under_case(config, Right::Search, Some("find"), case.as_ref())? {
        Access::Daemon(client) => client.post(
            "/api/v1/searches",
            &serde_json::json!({ "selectors": selectors, "limit": a.limit, "case": case }),
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

/// `liaison show`: one record as stored, pretty-printed JSON.
pub(super) fn show(config: &Config, a: ShowArgs) -> Result<ExitCode> {
    let v = match access(config, Right::Records, Some("record-show"))? {
        Access::Daemon(client) => {
            let path = format!("/api/v1/records/{}", url_segment(&a.id));
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

/// `liaison withdraw`: a record and its index entries.
pub(super) fn withdraw(config: &Config, a: WithdrawArgs) -> Result<ExitCode> {
    let (id, entries) = match access(config, Right::Withdraw, Some("withdraw"))? {
        Access::Daemon(client) => {
            let w: daemon::api::records::Withdrawn =
                client.delete(&format!("/api/v1/records/{}", url_segment(&a.id)))?;
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

/// `liaison check`: the store's consistency, and records indexed under older rules.
pub(super) fn check(config: &Config, json: bool) -> Result<ExitCode> {
    let (report, stale) = match access(config, Right::Upkeep, None)? {
        Access::Daemon(client) => client
            .get::<(crate::store::check::Report, ingest::reindex::Reindex)>(
                "/api/v1/store/check",
            )?,
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

/// `liaison reindex`: moves the index entries of records indexed under older rules.
pub(super) fn reindex(config: &Config, json: bool) -> Result<ExitCode> {
    let done = match access(config, Right::Upkeep, Some("reindex"))? {
        Access::Daemon(client) => {
            client.post::<_, ingest::reindex::Reindex>("/api/v1/store/reindex", &())?
        }
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

/// `liaison generate`: synthetic records to an NDJSON file.
pub(super) fn generate(a: GenerateArgs) -> Result<ExitCode> {
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
