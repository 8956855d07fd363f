//! `liaison export anx|stix`: records of ours, the records of a report
//! received, or a match's hits, as an i2 Analyst's Notebook chart (ANX) or a STIX 2.1 bundle
//! (`crate::formats`). Through the daemon when it runs (its API checks the
//! user's right and logs each record read), else on the store.
//!
//! A STIX bundle leaves out what a handling code forbids (a TLP:RED
//! record entirely, an AMBER+STRICT record's summary); each is listed on
//! stderr. A report that does not verify is refused: its content is not
//! shown anywhere, exports included.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use clap::{Args, ValueEnum};
use liaison_config::Config;
use liaison_protocol::record::Record;

use super::client::url_segment;
use super::{access, daemon, Access};
use crate::exchange::requester::ReportView;
use crate::formats::{self, Source};
use crate::store::records::Records;
use crate::users::Right;

/// A format analysts' tools read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum ExportFormat {
    /// An i2 Analyst's Notebook chart (ANX XML, UTF-16 as i2 writes it).
    Anx,
    /// A STIX 2.1 bundle (JSON).
    Stix,
}

/// `liaison export`.
#[derive(Debug, Args)]
pub(super) struct ExportArgs {
    /// `anx` or `stix`.
    #[arg(value_enum)]
    pub(super) format: ExportFormat,
    /// A record of ours, by id (repeatable; a link chart's selection).
    #[arg(long = "record", value_name = "ID")]
    pub(super) records: Vec<String>,
    /// A report received (its id, or 6+ leading hex digits): the owner's
    /// records, as released.
    #[arg(long, value_name = "ID", conflicts_with = "records")]
    pub(super) report: Option<String>,
    /// A match's hits (its id, as `liaison match` printed it): each hit's
    /// entity and the agency that holds it.
    #[arg(long = "match", value_name = "ID", conflicts_with_all = ["records", "report"])]
    pub(super) matched: Option<u64>,
    /// The file to write.
    #[arg(long)]
    pub(super) out: PathBuf,
}

fn record_of(v: &serde_json::Value, id: &str) -> Result<Record> {
    serde_json::from_value(v.clone()).with_context(|| format!("record {id:?} as stored"))
}

pub(super) fn run(config: &Config, a: ExportArgs) -> Result<ExitCode> {
    let ours = Source {
        agency: config.node.name.clone(),
        country: config.node.country.map(|c| c.to_string()),
    };
    let (records, source) = match (&a.report, a.matched) {
        (None, Some(id)) => {
            let mut hits = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let mut path = format!("/api/v1/matches/{id}?limit=1000");
                if let Some(c) = &cursor {
                    path.push_str(&format!("&cursor={}", url_segment(c)));
                }
                let page: serde_json::Value = daemon(config)?.get(&path)?;
                hits.extend(page["items"].as_array().cloned().unwrap_or_default());
                match page["next"].as_str() {
                    Some(n) => cursor = Some(n.to_owned()),
                    None => break,
                }
            }
            if hits.is_empty() {
                bail!("match {id} found no hits (or has no id: `liaison hits` lists them)");
            }
            (formats::hits_as_records(id, &hits), ours)
        }
        (Some(id), _) => {
            if id.len() < 6 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                bail!("{id:?} is not a report id: give at least its first 6 hex digits, as `liaison reports` shows them");
            }
            let r: ReportView = daemon(config)?.get(&format!("/api/v1/reports/{id}"))?;
            if !r.verified {
                bail!(
                    "report {} does not verify ({}): its content is not exported",
                    r.id,
                    r.problem.unwrap_or_default()
                );
            }
            let records = r
                .records
                .iter()
                .map(|rec| record_of(&rec.record, &rec.id))
                .collect::<Result<Vec<_>>>()?;
            let owner = if r.originator.is_empty() {
                r.peer
            } else {
                r.originator
            };
            (
                records,
                Source {
                    agency: owner,
                    country: None,
                },
            )
        }
        (None, None) => {
            if a.records.is_empty() {
                bail!("nothing to export: name records (--record ID, repeatable), a report (--report ID) or a match (--match ID)");
            }
            let records = match access(config, Right::Records, Some("export"))? {
                Access::Daemon(client) => a
                    .records
                    .iter()
                    .map(|id| {
                        let v: serde_json::Value =
                            client.get(&format!("/api/v1/records/{}", url_segment(id)))?;
                        record_of(&v["record"], id)
                    })
                    .collect::<Result<Vec<_>>>()?,
                Access::Store(store) => {
                    let records = Records::new(&store);
                    a.records
                        .iter()
                        .map(|id| match records.get(id)? {
                            Some(r) => Ok(r.record),
                            None => bail!("no record with id {id:?}"),
                        })
                        .collect::<Result<Vec<_>>>()?
                }
            };
            (records, ours)
        }
    };
    let format = match a.format {
        ExportFormat::Anx => formats::Export::Anx,
        ExportFormat::Stix => formats::Export::Stix,
    };
    let (bytes, skipped) = format.write(&records, &source, time::OffsetDateTime::now_utc());
    std::fs::write(&a.out, bytes).with_context(|| format!("writing {}", a.out.display()))?;
    for s in &skipped {
        eprintln!("left out {}: {}", s.item, s.reason);
    }
    println!(
        "wrote {} ({} records of {}{})",
        a.out.display(),
        records.len(),
        source.agency,
        if skipped.is_empty() {
            String::new()
        } else {
            format!(", {} items left out", skipped.len())
        }
    );
    Ok(ExitCode::SUCCESS)
}
