//! Keys of the `records` and `selectors` columns, and the `tags`
//! column's value (a selector, encoded as in an index key).
//!
//! Written and scanned by the records layer (`store::records`: a record
//! and its index entries) and by matching's owner side (the tags it
//! serves, read back when a peer follows a hit up).

use liaison_protocol::{Selector, SelectorKind};

/// Key of a record.
pub(crate) fn record(id: &str) -> &[u8] {
    id.as_bytes()
}

/// Key of a record, taking the id's bytes.
pub(crate) fn record_owned(id: String) -> Vec<u8> {
    id.into_bytes()
}

/// The prefix shared by every index entry of `selector`.
pub(crate) fn selector_prefix(selector: &Selector) -> Vec<u8> {
    let value = selector.value.as_bytes();
    let mut key = Vec::with_capacity(4 + value.len());
    key.push(selector.kind.code());
    key.push(selector.version);
    key.extend_from_slice(&(value.len() as u16).to_be_bytes());
    key.extend_from_slice(value);
    key
}

/// Key of the index entry "`selector` occurs in record `id`".
pub(crate) fn selector_entry(selector: &Selector, id: &str) -> Vec<u8> {
    let mut key = selector_prefix(selector);
    key.extend_from_slice(id.as_bytes());
    key
}

/// The record id at the end of an index entry whose prefix is `prefix_len` long.
pub(crate) fn selector_entry_record(key: &[u8], prefix_len: usize) -> Option<&str> {
    key.get(prefix_len..)
        .and_then(|id| std::str::from_utf8(id).ok())
}

/// The selector an index entry key starts with, and the record id after it.
pub(crate) fn decode_selector_entry(key: &[u8]) -> Option<(Selector, &str)> {
    let (&kind, rest) = key.split_first()?;
    let (&version, rest) = rest.split_first()?;
    let len = u16::from_be_bytes([*rest.first()?, *rest.get(1)?]) as usize;
    let value = std::str::from_utf8(rest.get(2..2 + len)?).ok()?;
    let id = std::str::from_utf8(rest.get(2 + len..)?).ok()?;
    Some((
        Selector {
            kind: SelectorKind::from_code(kind)?,
            version,
            value: value.to_owned(),
        },
        id,
    ))
}

/// The `tags` column's value for a served tag: its selector, and for a
/// `person_fuzzy` selector (which the local index leaves out) the records
/// holding it, each `len u16 ‖ id`, so a follow-up resolves it without a
/// scan.
pub(crate) fn tag_value(selector: &Selector, records: &[String]) -> Vec<u8> {
    let mut v = selector_prefix(selector);
    for id in records {
        let id = &id.as_bytes()[..id.len().min(u16::MAX as usize)];
        v.extend_from_slice(&(id.len() as u16).to_be_bytes());
        v.extend_from_slice(id);
    }
    v
}

/// Decodes [`tag_value`].
pub(crate) fn decode_tag_value(v: &[u8]) -> Option<(Selector, Vec<String>)> {
    let (&kind, rest) = v.split_first()?;
    let (&version, rest) = rest.split_first()?;
    let len = u16::from_be_bytes([*rest.first()?, *rest.get(1)?]) as usize;
    let value = std::str::from_utf8(rest.get(2..2 + len)?).ok()?;
    let mut rest = rest.get(2 + len..)?;
    let mut records = Vec::new();
    while !rest.is_empty() {
        let n = u16::from_be_bytes([*rest.first()?, *rest.get(1)?]) as usize;
        records.push(std::str::from_utf8(rest.get(2..2 + n)?).ok()?.to_owned());
        rest = rest.get(2 + n..)?;
    }
    Some((
        Selector {
            kind: SelectorKind::from_code(kind)?,
            version,
            value: value.to_owned(),
        },
        records,
    ))
}
