//! Call detail records: CSV rows of `caller,callee,start,duration,cell`.
//!
//! Rows come from the CSV reader (`csv_rows`) when the file's header has
//! `caller` and `callee` columns or the format is forced to `cdr`; each
//! call becomes a record of two phones and a `called` link, for ingest.

use liaison_protocol::normalize::phone;
use liaison_protocol::record::{Entity, Extra, Link, Phone, Record};
use liaison_protocol::Country;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::when::{self, When};
use super::Refusal;

/// Builds a record from one call detail row: the two phones and a `called`
/// link carrying the start, duration and cell. The record id is derived
/// from the normalised numbers and the normalised start time (see
/// [`When::normal`]), so the same call ingested twice (from two exports,
/// written `2024-05-01 09:30:00` in one and `01.05.2024 9:30` in the
/// other, say) is one record. The start is stored in its normal form.
///
/// Ids of calls stored before the start was normalised are unchanged when
/// the start was written `YYYY-MM-DD HH:MM:SS` or in UTC as
/// `YYYY-MM-DDTHH:MM:SSZ` (the normal forms); a start written with another
/// offset (`+06:00`), a fraction of a second or in lower case now gives
/// another id, and ingesting such a file again stores the calls anew
/// beside the old records (withdraw those by their ids).
pub fn cdr_record(cells: &[(&str, &str)], country: Option<Country>) -> Result<Record, Refusal> {
    let get = |name: &str| cells.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
    let need = |name: &str| {
        get(name).ok_or_else(|| {
            Refusal::new(
                Some(name.to_owned()),
                format!("missing: every call needs a `{name}`"),
            )
        })
    };
    let (caller, callee, start) = (need("caller")?, need("callee")?, need("start")?);
    let norm = |name: &str, v: &str| {
        phone::e164(v, country).map_err(|e| Refusal::new(Some(name.to_owned()), e.to_string()))
    };
    let (a, b) = (norm("caller", caller)?, norm("callee", callee)?);
    let start = When::parse(start).map(|w| w.normal()).ok_or_else(|| {
        Refusal::new(
            Some("start".into()),
            format!("{start:?} is not a time: write 2024-05-01T09:30:00Z, 2024-05-01 09:30:00 or 01.05.2024 09:30"),
        )
    })?;
    let mut link_extra = Extra::new();
    link_extra.insert("start".into(), Value::String(start.clone()));
    if let Some(d) = get("duration") {
        let secs = when::seconds(d).ok_or_else(|| {
            Refusal::new(
                Some("duration".into()),
                format!("{d:?} is not a duration: write whole seconds (185) or 0:03:05, not 3:05"),
            )
        })?;
        link_extra.insert("duration".into(), Value::from(secs));
    }
    if let Some(c) = get("cell") {
        link_extra.insert("cell".into(), Value::String(c.to_owned()));
    }
    let mut extra = Extra::new();
    for (name, value) in cells {
        if !matches!(*name, "caller" | "callee" | "start" | "duration" | "cell") {
            extra.insert((*name).to_owned(), Value::String((*value).to_owned()));
        }
    }
    let digest = Sha256::digest(format!("{a}|{b}|{start}").as_bytes());
    let id = format!(
        "CDR-{}",
        digest[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    Ok(Record {
        summary: Some(format!("Call from {a} to {b} at {start}")),
        country,
        entities: vec![
            Entity::Phone(Phone {
                reference: Some("caller".into()),
                number: caller.to_owned(),
                extra: Extra::new(),
            }),
            Entity::Phone(Phone {
                reference: Some("callee".into()),
                number: callee.to_owned(),
                extra: Extra::new(),
            }),
        ],
        links: vec![Link {
            from: "caller".into(),
            to: "callee".into(),
            rel: "called".into(),
            extra: link_extra,
        }],
        extra,
        ..Record::new(id)
    })
}
