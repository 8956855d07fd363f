//! Every storage key encoding, in one place (tikv `components/keys` style).
//!
//! Integers are big-endian so byte order is numeric order. Variable-length
//! parts are length-prefixed (u16) where something follows them, so one
//! key can never be a prefix of an unrelated one.
//!
//! | column      | key                                              | value |
//! |-------------|--------------------------------------------------|-------|
//! | `records`   | record id (UTF-8)                                | [`super::records`] encoding |
//! | `selectors` | kind u8, version u8, len u16, value, record id   | empty |
//! | `meta`      | a [`Meta`] name                                  | per name |

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

/// Names of the `meta` column's entries.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Meta {
    /// The store layout version (u32).
    Layout,
    /// Number of records held (u64).
    RecordCount,
    /// Number of index entries of one selector kind (u64).
    SelectorCount(SelectorKind),
}

impl Meta {
    pub(crate) fn key(self) -> Vec<u8> {
        match self {
            Meta::Layout => b"layout".to_vec(),
            Meta::RecordCount => b"count/records".to_vec(),
            Meta::SelectorCount(kind) => {
                let mut k = b"count/selectors/".to_vec();
                k.push(kind.code());
                k
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_entries_round_trip_and_do_not_collide() {
        let a = Selector::new(SelectorKind::Phone, "+996775987817");
        let key = selector_entry(&a, "KG-1");
        let (sel, id) = decode_selector_entry(&key).unwrap();
        assert_eq!((sel, id), (a.clone(), "KG-1"));
        // A value that extends another is not under its prefix, thanks to
        // the length prefix.
        let b = Selector::new(SelectorKind::Phone, "+99677598781");
        assert!(!key.starts_with(&selector_prefix(&b)));
        // Kinds separate equal values.
        let c = Selector::new(SelectorKind::Document, "+996775987817");
        assert!(!key.starts_with(&selector_prefix(&c)));
        assert_eq!(
            selector_entry_record(&key, selector_prefix(&a).len()),
            Some("KG-1")
        );
        assert!(decode_selector_entry(&[1, 1, 0]).is_none());
        assert!(decode_selector_entry(&[99, 1, 0, 0]).is_none());
    }
}
