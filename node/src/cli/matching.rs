//! `liaison match`, `hits`, `watch` and `alerts`: all through the running
//! daemon, which holds the peers' filters and the query keys' answers.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use liaison_config::Config;

use super::daemon;
use super::flags::{CaseArgs, JsonArg};
use super::print::{print_match, time};
use crate::daemon::api::matching::{MatchReply, MatchRequest, WatchAdd, WatchAdded};
use crate::matching::querier::{Alert, StoredHit, Watch};

#[derive(Debug, Args)]
pub(super) struct MatchArgs {
    /// Records to look for (NDJSON, CSV or call records, in any spelling).
    file: PathBuf,
    /// Ask only this peer (default: every peer).
    #[arg(long)]
    peer: Option<String>,
    #[command(flatten)]
    case: CaseArgs,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
pub(super) enum WatchCommand {
    /// Watch every entity in FILE: an alert when any peer comes to hold it.
    Add(WatchAddArgs),
    /// The watchlist.
    List(JsonArg),
    /// Stop watching an entry.
    Remove(WatchRemoveArgs),
}

#[derive(Debug, Args)]
pub(super) struct WatchAddArgs {
    /// Records whose entities to watch.
    file: PathBuf,
    /// Also alert on weak person hits (names one letter apart, same date
    /// of birth): right about half the time, so off unless asked.
    #[arg(long)]
    weak: bool,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(super) struct WatchRemoveArgs {
    /// The entry's id (from `watch list`).
    id: u64,
}

fn absolute(file: &Path) -> Result<PathBuf> {
    std::path::absolute(file).with_context(|| format!("resolving {}", file.display()))
}

pub(super) fn run_match(config: &Config, a: MatchArgs) -> Result<ExitCode> {
    let client = daemon(config)?;
    let reply: MatchReply = client.post(
        "/api/v1/local/match",
        &MatchRequest {
            file: absolute(&a.file)?,
            peer: a.peer,
            case: a.case.pair(),
        },
    )?;
    if a.json {
        println!("{}", serde_json::to_string(&reply)?);
    } else {
        print_match(&reply);
    }
    Ok(
        if !reply.complete || !reply.problems.is_empty() || !reply.bad.is_empty() {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        },
    )
}

pub(super) fn hits(config: &Config, json: bool) -> Result<ExitCode> {
    let hits: Vec<StoredHit> = daemon(config)?.get_all("/api/v1/hits")?;
    if json {
        println!("{}", serde_json::to_string(&hits)?);
        return Ok(ExitCode::SUCCESS);
    }
    if hits.is_empty() {
        println!("no hits yet: `liaison match FILE` looks for records at the peers");
    }
    for h in &hits {
        let kinds: Vec<&str> = h.kinds.iter().map(|k| k.as_str()).collect();
        println!(
            "{}  {}  {}  at {} on {}{}{}",
            h.id,
            time(h.time_ms),
            h.entity,
            h.peer,
            kinds.join(", "),
            h.strength
                .as_deref()
                .map(|s| format!(" [{s}]"))
                .unwrap_or_default(),
            h.case
                .as_deref()
                .map(|c| format!("  case {}", &c[..16]))
                .unwrap_or_default(),
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn watch(config: &Config, c: WatchCommand) -> Result<ExitCode> {
    let client = daemon(config)?;
    match c {
        WatchCommand::Add(a) => {
            let added: WatchAdded = client.post(
                "/api/v1/local/watchlist",
                &WatchAdd {
                    file: absolute(&a.file)?,
                    weak: a.weak,
                },
            )?;
            if a.json {
                println!(
                    "{}",
                    serde_json::json!({ "added": added.added, "bad": added.bad, "warnings": added.warnings })
                );
            } else {
                for (id, label) in &added.added {
                    println!("watching {id}: {label}");
                }
                for b in &added.bad {
                    println!("skipped {b}");
                }
                for w in &added.warnings {
                    println!("warning {w}");
                }
            }
            Ok(if added.bad.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        WatchCommand::List(a) => {
            let list: Vec<Watch> = client.get_all("/api/v1/watchlist")?;
            if a.json {
                println!("{}", serde_json::to_string(&list)?);
            } else {
                if list.is_empty() {
                    println!("the watchlist is empty: `liaison watch add FILE`");
                }
                for w in &list {
                    println!(
                        "{}  {}  {}  ({} selectors, added {}{})",
                        w.id,
                        w.label,
                        w.source,
                        w.selectors.len(),
                        time(w.added_ms),
                        if w.weak { ", weak hits alert too" } else { "" }
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        WatchCommand::Remove(a) => {
            let _: serde_json::Value = client.delete(&format!("/api/v1/watchlist/{}", a.id))?;
            println!("stopped watching {}", a.id);
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub(super) fn alerts(config: &Config, json: bool) -> Result<ExitCode> {
    let alerts: Vec<Alert> = daemon(config)?.get_all("/api/v1/alerts")?;
    if json {
        println!("{}", serde_json::to_string(&alerts)?);
        return Ok(ExitCode::SUCCESS);
    }
    if alerts.is_empty() {
        println!("no alerts");
    }
    for a in &alerts {
        println!(
            "{}  {}  ALERT  {} is held by {} ({}, {})",
            a.id,
            time(a.time_ms),
            a.label,
            a.peer,
            a.kind,
            a.how
        );
    }
    Ok(ExitCode::SUCCESS)
}
