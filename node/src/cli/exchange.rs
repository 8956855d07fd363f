//! `liaison request`, `requests`, `approve`, `refuse`, `reports`,
//! `report show` and `purge`: the follow-up after a hit, all through the
//! running daemon (it holds the peers' connections and the policy).

use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use liaison_config::Config;

use super::client::url_segment;
use super::daemon;
use super::flags::{CaseArgs, JsonArg};
use super::print::time;
use crate::daemon::api::exchange::{Approval, Approve, Refuse, Reports, Requests};
use crate::exchange::requester::{Ask, ReportView};
use crate::exchange::retention::Purged;
use crate::exchange::{Answer, Decision, Incoming, Outgoing};

#[derive(Debug, Args)]
pub(super) struct RequestArgs {
    /// The hit's id (`liaison hits`).
    hit: u64,
    /// Case reference and legal basis (default: the case the match named).
    #[command(flatten)]
    case: CaseArgs,
    /// A note for the owner's analyst.
    #[arg(long, default_value = "")]
    note: String,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(super) struct ApproveArgs {
    /// The request's id, or its first 6+ hex digits (`liaison requests`).
    request: String,
    /// Leave out a field: a top-level one (`summary`, `links`), an entity
    /// by its ref (`p1`), or one field of an entity (`p1.dob`). Repeat it.
    #[arg(long = "redact", value_name = "FIELD")]
    redact: Vec<String>,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(super) struct RefuseArgs {
    /// The request's id, or its first 6+ hex digits.
    request: String,
    /// Why: the requesting agency reads it.
    #[arg(long)]
    reason: String,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
pub(super) enum ReportCommand {
    /// One report, verified as it is read, grading and handling first.
    Show(ShowArgs),
}

#[derive(Debug, Args)]
pub(super) struct ShowArgs {
    /// The report's id (its request's), or its first 6+ hex digits.
    id: String,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

fn short(id: &str) -> &str {
    &id[..id.len().min(8)]
}

fn age(ms: u64) -> String {
    let s = crate::clock::system_ms().saturating_sub(ms) / 1000;
    match s {
        0..120 => format!("{s}s"),
        120..7200 => format!("{}m", s / 60),
        7200..172_800 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

pub(super) fn request(config: &Config, a: RequestArgs) -> Result<ExitCode> {
    let out: Outgoing = daemon(config)?.post(
        "/api/v1/requests/outgoing",
        &Ask {
            hit: a.hit,
            case: a.case.pair(),
            note: a.note,
        },
    )?;
    if a.json {
        println!("{}", serde_json::to_string(&out)?);
    } else {
        println!(
            "request {} sent to {} for hit {} ({}), case {}: `liaison requests` shows its answer",
            short(&out.id),
            out.peer,
            out.hit,
            out.entity,
            out.reference
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn incoming_line(r: &Incoming, deadline_ms: u64) -> String {
    let state = match r.decision {
        Decision::Pending
            if crate::clock::system_ms().saturating_sub(r.received_ms) > deadline_ms =>
        {
            "OVERDUE".to_owned()
        }
        Decision::Pending => "waiting".to_owned(),
        d => format!(
            "{}{}",
            match d {
                Decision::Released => "released",
                Decision::Refused => "refused",
                _ => "withdrawn",
            },
            r.decided_by
                .as_deref()
                .map(|b| format!(" by {b}"))
                .unwrap_or_default()
        ),
    };
    let state = if r.weak {
        format!("{state} WEAK HIT (names one letter apart: check it is the same person)")
    } else {
        state
    };
    format!(
        "{}  from {:<16} {:>5} ago  {:<16} case {} ({}){}  records {}{}",
        short(&r.id),
        r.peer,
        age(r.received_ms),
        state,
        r.reference,
        r.basis,
        if r.note.is_empty() {
            String::new()
        } else {
            format!("  note: {}", r.note)
        },
        r.records
            .iter()
            .zip(&r.handling)
            .map(|(id, h)| format!("{id} [{h}]"))
            .collect::<Vec<_>>()
            .join(", "),
        if r.withheld.is_empty() {
            String::new()
        } else {
            format!("  (withheld by policy: {})", r.withheld.join(", "))
        }
    )
}

fn outgoing_line(r: &Outgoing) -> String {
    let answer = match r.answer {
        Answer::Sent => "sent, no answer yet".to_owned(),
        Answer::Filed => format!(
            "filed by the owner{}",
            r.deadline_ms
                .map(|d| format!(", due by {}", time(d)))
                .unwrap_or_default()
        ),
        Answer::Refused => format!(
            "REFUSED: {}",
            r.reason.as_deref().unwrap_or("no reason given")
        ),
        Answer::NoSuchRecord => "no such record".into(),
        Answer::Withdrawn => "withdrawn by the owner before a decision".into(),
        Answer::Reported => format!("REPORT: `liaison report show {}`", short(&r.id)),
    };
    format!(
        "{}  to {:<16} {:>5} ago  hit {} ({})  case {}  {}",
        short(&r.id),
        r.peer,
        age(r.sent_ms),
        r.hit,
        r.entity,
        r.reference,
        answer
    )
}

pub(super) fn requests(config: &Config, json: bool) -> Result<ExitCode> {
    let r: Requests = daemon(config)?.requests(deadline_ms(config))?;
    if json {
        println!("{}", serde_json::to_string(&r)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("Requests from peers ({}):", r.incoming.len());
    for i in &r.incoming {
        println!("  {}", incoming_line(i, r.deadline_ms));
    }
    println!("Requests we sent ({}):", r.outgoing.len());
    for o in &r.outgoing {
        println!("  {}", outgoing_line(o));
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn approve(config: &Config, a: ApproveArgs) -> Result<ExitCode> {
    let approval: Approval = daemon(config)?.post(
        &format!(
            "/api/v1/requests/incoming/{}/approval",
            url_segment(&a.request)
        ),
        &Approve { redact: a.redact },
    )?;
    let r = &approval.request;
    if a.json {
        println!("{}", serde_json::to_string(&approval)?);
    } else if !approval.released {
        println!(
            "approved by you; request {} from {} waits for a second supervisor (two-person rule for {})",
            short(&r.id),
            r.peer,
            approval.waiting_for.join(", ")
        );
    } else {
        println!(
            "released {} to {}{}",
            r.records.join(", "),
            r.peer,
            if r.redacted.is_empty() {
                String::new()
            } else {
                format!(", redacted: {}", r.redacted.join(", "))
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn refuse(config: &Config, a: RefuseArgs) -> Result<ExitCode> {
    let r: Incoming = daemon(config)?.post(
        &format!(
            "/api/v1/requests/incoming/{}/refusal",
            url_segment(&a.request)
        ),
        &Refuse { reason: a.reason },
    )?;
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!("refused request {} from {}", short(&r.id), r.peer);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(r: &ReportView) {
    if !r.verified {
        println!(
            "report {} from {}: FAILED VERIFICATION ({}); its content is not shown",
            short(&r.id),
            r.peer,
            r.problem.as_deref().unwrap_or("unknown")
        );
        return;
    }
    println!(
        "report {}  from {} (originator {}), released {}, received {}  case {} ({})",
        short(&r.id),
        r.peer,
        r.originator,
        time(r.released_ms),
        time(r.received_ms),
        r.reference,
        r.basis
    );
    println!(
        "  verified: signed by {}, sealed and addressed to us; envelope {}",
        r.peer, r.envelope
    );
    for rec in &r.records {
        println!(
            "  [{}] grading {}  record {}{}",
            rec.handling,
            rec.grading.as_deref().unwrap_or("none"),
            rec.id,
            rec.change
                .as_deref()
                .map(|c| format!(
                    "  {} BY THE OWNER{}",
                    c.to_ascii_uppercase(),
                    rec.changed_ms
                        .map(|t| format!(" at {}", time(t)))
                        .unwrap_or_default()
                ))
                .unwrap_or_default()
        );
        if !rec.redacted.is_empty() {
            println!("    redacted: {}", rec.redacted.join(", "));
        }
        let pretty = serde_json::to_string_pretty(&rec.record).unwrap_or_default();
        for line in pretty.lines() {
            println!("    {line}");
        }
    }
}

pub(super) fn reports(config: &Config, json: bool) -> Result<ExitCode> {
    let r: Reports = daemon(config)?.reports()?;
    if json {
        println!("{}", serde_json::to_string(&r)?);
        return Ok(ExitCode::SUCCESS);
    }
    if r.reports.is_empty() && r.deleted.is_empty() {
        println!("no reports: after a hit, `liaison request HIT` asks its owner for the record");
    }
    for v in &r.reports {
        if !v.verified {
            println!(
                "{}  from {}  FAILED VERIFICATION: {}",
                short(&v.id),
                v.peer,
                v.problem.as_deref().unwrap_or("unknown")
            );
            continue;
        }
        for rec in &v.records {
            println!(
                "{}  [{}] {}  from {}  record {}  received {}{}",
                short(&v.id),
                rec.handling,
                rec.grading.as_deref().unwrap_or("--"),
                v.originator,
                rec.id,
                time(v.received_ms),
                rec.change
                    .as_deref()
                    .map(|c| format!("  {}", c.to_ascii_uppercase()))
                    .unwrap_or_default()
            );
        }
    }
    for t in &r.deleted {
        println!(
            "{}  from {}  DELETED at {} when its owner withdrew {}",
            short(&t.id),
            t.peer,
            time(t.deleted_ms),
            t.records.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn report(config: &Config, cmd: ReportCommand) -> Result<ExitCode> {
    let ReportCommand::Show(a) = cmd;
    if a.id.len() < 6 || !a.id.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!(
            "{:?} is not a report id: give at least its first 6 hex digits, as `liaison reports` shows them",
            a.id
        );
    }
    let r: ReportView = daemon(config)?.get(&format!("/api/v1/reports/{}", a.id))?;
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        print_report(&r);
    }
    Ok(if r.verified {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub(super) fn purge(config: &Config, a: JsonArg) -> Result<ExitCode> {
    let p: Purged = daemon(config)?.post("/api/v1/store/purge", &serde_json::json!({}))?;
    if a.json {
        println!("{}", serde_json::to_string(&p)?);
    } else {
        println!(
            "purged: {} records past their expiry, {} reports, {} hits, {} alerts, {} requests",
            p.records, p.reports, p.hits, p.alerts, p.requests
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The reminder deadline of requests peers send us, ms.
pub(super) fn deadline_ms(config: &Config) -> u64 {
    u64::try_from(config.exchange.deadline.as_millis()).unwrap_or(u64::MAX)
}
