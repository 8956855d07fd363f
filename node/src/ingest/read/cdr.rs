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

use super::Refusal;

/// Builds a record from one call detail row: the two phones and a `called`
/// link carrying the start, duration and cell. The record id is derived
/// from the normalised numbers and the start time, so the same call
/// ingested twice (from two exports, say) is one record.
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
    let start_ok =
        time::OffsetDateTime::parse(start, &time::format_description::well_known::Rfc3339).is_ok()
            || time::PrimitiveDateTime::parse(
                start,
                time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
            )
            .is_ok();
    if !start_ok {
        return Err(Refusal::new(
            Some("start".into()),
            format!("{start:?} is not a time: write 2024-05-01T09:30:00Z or 2024-05-01 09:30:00"),
        ));
    }
    let mut link_extra = Extra::new();
    link_extra.insert("start".into(), Value::String(start.to_owned()));
    if let Some(d) = get("duration") {
        let secs: u64 = d.parse().map_err(|_| {
            Refusal::new(
                Some("duration".into()),
                format!("{d:?} is not whole seconds: write 185, not 3:05"),
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
