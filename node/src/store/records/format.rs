//! The stored value of a record, and its encoding.
//!
//! Records arrive as [`Prepared`], encoded off the writer's thread (by
//! ingest's reader, or by [`super::Records::reselected`] when re-indexing),
//! and go into the `records` column through [`super::Records::put_batch`].
//! Values read back from that column are decoded here: whole
//! ([`decode`]), or all but the record JSON ([`decode_head`]) for scans.
//!
//! Value encoding of a record (all integers big-endian):
//! `format u8 = 2 | flags u8 | ingested_at i64 | source len u16 | source |
//!  selector count u32 | (kind u8, version u8, len u16, value)* | record JSON`.
//! Flag bit 0: the record is `TLP:RED` (its selectors go into no peer's
//! filter unless that peer's agreement opts in), readable without parsing
//! the JSON. Format 1 (no flags byte) is still read; its handling code is
//! then read from the JSON.

use liaison_protocol::record::{Handling, Record};
use liaison_protocol::{Selector, SelectorKind};

use super::index::canonical;
use super::{Column, Error, StoredRecord};

const FORMAT: u8 = 2;
/// The format before the flags byte.
const FORMAT_1: u8 = 1;
/// Flag: the record's handling code is `TLP:RED`.
const RED: u8 = 1;

fn put_selector(out: &mut Vec<u8>, s: &Selector) {
    out.push(s.kind.code());
    out.push(s.version);
    out.extend_from_slice(&(s.value.len() as u16).to_be_bytes());
    out.extend_from_slice(s.value.as_bytes());
}

/// A record encoded for storage, ready for [`super::Records::put_batch`]. Built
/// off the writer's thread (ingest's reader), so the single writer does
/// only store work.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub(super) id: String,
    pub(super) selectors: Vec<Selector>,
    pub(super) value: Vec<u8>,
    pub(super) expires: Option<u64>,
}

impl Prepared {
    /// Encodes `record`, serialising it to JSON.
    pub fn new(
        record: &Record,
        selectors: Vec<Selector>,
        source: &str,
        ingested_at: i64,
    ) -> Prepared {
        let json = serde_json::to_vec(record).expect("a record always serialises to JSON");
        Prepared::with_json(
            record.id.clone(),
            &json,
            record.handling,
            selectors,
            source,
            ingested_at,
        )
        .expiring(record.expires)
    }

    /// Sets when the record is to be purged (its `expires`).
    pub fn expiring(mut self, at: Option<time::OffsetDateTime>) -> Prepared {
        self.expires = at.map(|t| t.unix_timestamp().max(0) as u64);
        self
    }

    /// Encodes a record from the JSON it was read from, byte for byte, so
    /// the store keeps exactly what the agency wrote. `json` must be what
    /// the record was parsed from, and `handling` its handling code.
    pub fn with_json(
        id: String,
        json: &[u8],
        handling: Handling,
        selectors: Vec<Selector>,
        source: &str,
        ingested_at: i64,
    ) -> Prepared {
        let selectors = canonical(selectors);
        let source = &source.as_bytes()[..source.len().min(u16::MAX as usize)];
        let mut value = Vec::with_capacity(17 + source.len() + json.len() + selectors.len() * 24);
        value.push(FORMAT);
        value.push(if handling == Handling::Red { RED } else { 0 });
        value.extend_from_slice(&ingested_at.to_be_bytes());
        value.extend_from_slice(&(source.len() as u16).to_be_bytes());
        value.extend_from_slice(source);
        value.extend_from_slice(&(selectors.len() as u32).to_be_bytes());
        for s in &selectors {
            put_selector(&mut value, s);
        }
        value.extend_from_slice(json);
        Prepared {
            id,
            selectors,
            value,
            expires: None,
        }
    }

    /// The record's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The selectors it will be held under.
    pub fn selectors(&self) -> &[Selector] {
        &self.selectors
    }

    /// Whether the record is `TLP:RED`.
    pub fn is_red(&self) -> bool {
        self.value.get(1).is_some_and(|f| f & RED != 0)
    }
}

/// Encodes a stored record: the inverse of [`decode`], for tests. Records
/// reach the store as [`Prepared`], encoded off the writer's thread.
#[cfg(test)]
pub(super) fn encode(r: &StoredRecord) -> Vec<u8> {
    Prepared::new(&r.record, r.selectors.clone(), &r.source, r.ingested_at).value
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.0.len() < n {
            return Err(Column::Records.corrupt("value is truncated"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, Error> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, Error> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn i64(&mut self) -> Result<i64, Error> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(i64::from_be_bytes(a))
    }
    fn str(&mut self, n: usize) -> Result<&'a str, Error> {
        std::str::from_utf8(self.take(n)?).map_err(|_| Column::Records.corrupt("text is not UTF-8"))
    }
}

/// A stored value with its record JSON not yet parsed.
pub(super) struct Head<'a> {
    /// Whether the record is `TLP:RED`; `None` in format 1 (read the JSON).
    pub(super) red: Option<bool>,
    pub(super) ingested_at: i64,
    pub(super) source: String,
    pub(super) selectors: Vec<Selector>,
    pub(super) json: &'a [u8],
}

/// Decodes everything but the record JSON, which is returned raw.
pub(super) fn decode_head(bytes: &[u8]) -> Result<Head<'_>, Error> {
    let mut r = Reader(bytes);
    let red = match r.u8()? {
        FORMAT => Some(r.u8()? & RED != 0),
        FORMAT_1 => None,
        _ => return Err(Column::Records.corrupt("unknown record format")),
    };
    let ingested_at = r.i64()?;
    let n = r.u16()? as usize;
    let source = r.str(n)?.to_owned();
    let count = r.u32()? as usize;
    let mut selectors = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        let kind = SelectorKind::from_code(r.u8()?)
            .ok_or_else(|| Column::Records.corrupt("unknown selector kind"))?;
        let version = r.u8()?;
        let len = r.u16()? as usize;
        selectors.push(Selector {
            kind,
            version,
            value: r.str(len)?.to_owned(),
        });
    }
    Ok(Head {
        red,
        ingested_at,
        source,
        selectors,
        json: r.0,
    })
}

/// Decodes a stored record.
pub fn decode(bytes: &[u8]) -> Result<StoredRecord, Error> {
    let Head {
        ingested_at,
        source,
        selectors,
        json,
        ..
    } = decode_head(bytes)?;
    let record = serde_json::from_slice(json)
        .map_err(|e| Column::Records.corrupt(format!("record JSON: {e}")))?;
    Ok(StoredRecord {
        record,
        selectors,
        source,
        ingested_at,
    })
}
