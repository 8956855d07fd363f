//! The queue of new records' selectors that the owner's deltas drain,
//! in the `matching` column.
//!
//! In: [`crate::store::records::Records::put_batch`] queues the ids of the
//! records it stores, in the same atomic batch as the records, so a record
//! is never stored without reaching its peers' deltas (nor queued without
//! being stored). Out: [`drain`], read by matching's owner role
//! (`matching::owner::send_deltas`), which reads the records' selectors
//! as they are then and deletes what it sent ([`delete_queued`]).
//!
//! Entries hold record ids, not selectors: a batch of 2,048 records
//! queued its 27,000 selectors, as many bytes again as the records
//! themselves, copied four times on ingest's one writer thread (a sixth of
//! its time). Entries of selectors written by earlier versions are still
//! read.

use liaison_protocol::Selector;

use crate::store::keys::{self, matching as k};
use crate::store::{Batch, Column, Error, Store};

/// A selector of a newly stored record, with the record's id where the
/// tag will need it (`person_fuzzy`, which the local index leaves out).
pub type Queued = (Selector, Option<String>);

/// The queue entry of `selector` in record `id`, as earlier versions
/// wrote it.
#[cfg(test)]
fn queued(selector: &Selector, id: &str) -> Queued {
    let id = (selector.kind == liaison_protocol::SelectorKind::PersonFuzzy).then(|| id.to_owned());
    (selector.clone(), id)
}

/// First byte of a queue entry: selectors from records any peer may
/// match, or from `TLP:RED` records (both written by earlier versions
/// only), or the ids of records stored.
const QUEUED_SHARED: u8 = 0;
const QUEUED_RED: u8 = 1;
const QUEUED_IDS: u8 = 2;

/// Queues, in `batch`, the ids of records stored for the next delta.
pub(crate) fn queue_new<'a>(
    store: &Store,
    batch: &mut Batch,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<(), Error> {
    let mut value = vec![QUEUED_IDS];
    for id in ids {
        value.extend_from_slice(&(id.len() as u32).to_be_bytes());
        value.extend_from_slice(id.as_bytes());
    }
    if value.len() == 1 {
        return Ok(());
    }
    // Keys grow with each entry written after another, so a build's mark
    // ([`newest`]) is below every entry written after it: the time part is
    // the millisecond, or one past the last entry's (kept apart from the
    // entries, which the deltas delete) if the clock has not moved on or
    // was set back. The random part keeps two writers in one millisecond
    // apart (the low bit told shared from red selectors once).
    let last_ms = newest(store)?
        .and_then(|key| k::new_selectors_seq(&key))
        .map_or(0, |seq| (seq >> 20) + 1);
    let ms = crate::clock::system_ms().max(last_ms);
    let seq = (ms << 20) | (u64::from(rand::random::<u32>() & 0x7_FFFF) << 1);
    batch.put(Column::Matching, k::new_selectors(seq), value);
    batch.put(
        Column::Matching,
        k::NEW_LAST.to_vec(),
        seq.to_be_bytes().to_vec(),
    );
    Ok(())
}

/// The key of the last entry written to the queue (drained or not), if
/// any. A filter build takes it before it reads the records: every record
/// an entry up to it names is in the filter, so the deltas skip them
/// ([`super::built_through`]). A store from before this mark was kept
/// has its newest entry instead.
pub fn newest(store: &Store) -> Result<Option<Vec<u8>>, Error> {
    match store.get(Column::Matching, k::NEW_LAST)? {
        Some(v) => Ok(<[u8; 8]>::try_from(v.as_slice())
            .ok()
            .map(|seq| k::new_selectors(u64::from_be_bytes(seq)))),
        None => store.last_key(Column::Matching, k::NEW),
    }
}

/// One entry of the queue as [`drain`] reads it.
#[derive(Debug)]
pub enum Drained {
    /// Records stored (the owner reads their selectors and handling code
    /// as they are when it drains: one removed meanwhile is skipped).
    Records(Vec<String>),
    /// Selectors queued together by an earlier version, and whether they
    /// came from `TLP:RED` records.
    Selectors {
        /// Whether from `TLP:RED` records.
        red: bool,
        /// The selectors.
        items: Vec<Queued>,
    },
    /// An entry that does not decode (its records reach peers at the next
    /// rebuild of their filters).
    Damaged,
}

/// Reads the queue in time order, handing `f` each entry's key (to delete
/// once sent) and contents, until `f` says stop.
pub fn drain(store: &Store, mut f: impl FnMut(&[u8], Drained) -> bool) -> Result<(), Error> {
    store.scan_prefix(Column::Matching, k::NEW, |key, value| {
        if value.first() == Some(&QUEUED_IDS) {
            let entry = decode_ids(&value[1..]).map_or(Drained::Damaged, Drained::Records);
            return f(key, entry);
        }
        let red = match value.first() {
            Some(&QUEUED_SHARED) => Some(false),
            Some(&QUEUED_RED) => Some(true),
            _ => None,
        };
        let entry = match (red, value.get(1..).and_then(decode_queued)) {
            (Some(red), Some(items)) => Drained::Selectors { red, items },
            _ => Drained::Damaged,
        };
        f(key, entry)
    })
}

/// Deletes, in `batch`, the queue entry whose key [`drain`] handed out.
pub fn delete_queued(batch: &mut Batch, key: Vec<u8>) {
    batch.delete(Column::Matching, key);
}

/// Decodes the ids of a [`QUEUED_IDS`] entry: each `len u32 ‖ UTF-8`;
/// `None` if damaged.
fn decode_ids(mut bytes: &[u8]) -> Option<Vec<String>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let len = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
        let id = std::str::from_utf8(bytes.get(4..4 + len)?).ok()?;
        out.push(id.to_owned());
        bytes = &bytes[4 + len..];
    }
    Some(out)
}

/// Encodes queued selectors as earlier versions did: each `len u32 ‖`
/// [`keys::tag_value`].
#[cfg(test)]
fn encode_queued(items: &[Queued]) -> Vec<u8> {
    let mut out = Vec::new();
    for (s, id) in items {
        let v = keys::tag_value(s, id.as_slice());
        out.extend_from_slice(&(v.len() as u32).to_be_bytes());
        out.extend_from_slice(&v);
    }
    out
}

/// Decodes [`encode_queued`]; `None` if damaged.
fn decode_queued(mut bytes: &[u8]) -> Option<Vec<Queued>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let len = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
        let (s, mut ids) = keys::decode_tag_value(bytes.get(4..4 + len)?)?;
        if ids.len() > 1 {
            return None;
        }
        out.push((s, ids.pop()));
        bytes = &bytes[4 + len..];
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use liaison_protocol::SelectorKind;

    use super::*;

    #[test]
    fn queued_ids_round_trip_and_damage_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s")).unwrap();
        let mut b = Batch::default();
        queue_new(&store, &mut b, ["KG-1", "КГ-2", ""]).unwrap();
        queue_new(&store, &mut b, std::iter::empty()).unwrap();
        store.write(b).unwrap();
        let first = newest(&store).unwrap().unwrap();
        // Each entry written after another, in the same millisecond or
        // not, has a greater key: a build's mark is below all later ones.
        let mut last = first.clone();
        for _ in 0..20 {
            let mut b = Batch::default();
            queue_new(&store, &mut b, ["KG-3"]).unwrap();
            store.write(b).unwrap();
            let now = newest(&store).unwrap().unwrap();
            assert!(now > last);
            last = now;
        }
        let mut keys = Vec::new();
        drain(&store, |key, _| {
            keys.push(key.to_vec());
            true
        })
        .unwrap();
        assert_eq!(keys.len(), 21);
        assert_eq!(keys[0], first);
        let mut b = Batch::default();
        for key in keys.drain(1..) {
            delete_queued(&mut b, key);
        }
        store.write(b).unwrap();
        let mut seen = Vec::new();
        drain(&store, |_, d| {
            seen.push(d);
            true
        })
        .unwrap();
        assert!(
            matches!(&seen[..], [Drained::Records(ids)] if ids == &["KG-1", "КГ-2", ""]),
            "{seen:?}"
        );
        assert_eq!(decode_ids(&[0, 0, 0, 9, b'a']), None);

        // With every entry sent and deleted, the next still comes after the
        // last mark a build could have taken, whatever the clock says.
        let mut b = Batch::default();
        delete_queued(&mut b, first);
        store.write(b).unwrap();
        let mark = newest(&store).unwrap().unwrap();
        assert_eq!(mark, last, "the mark outlives the entries");
        let mut b = Batch::default();
        queue_new(&store, &mut b, ["KG-4"]).unwrap();
        store.write(b).unwrap();
        assert!(newest(&store).unwrap().unwrap() > mark);
    }

    #[test]
    fn queued_selectors_round_trip() {
        let s = [
            Selector::new(SelectorKind::Phone, "+996775987817"),
            Selector::new(SelectorKind::PersonFull, "kurbanov|yusuf|1985-03-14"),
        ];
        let q: Vec<Queued> = s.iter().map(|s| queued(s, "KG-1")).collect();
        assert_eq!(q[0].1, None, "only person_fuzzy keeps its record");
        assert_eq!(decode_queued(&encode_queued(&q)).unwrap(), q);
        assert!(decode_queued(&encode_queued(&q)[..10]).is_none());
        let fuzzy = queued(
            &Selector::new(SelectorKind::PersonFuzzy, "krbanov|1985-03-14"),
            "KG-1",
        );
        assert_eq!(fuzzy.1.as_deref(), Some("KG-1"));
        assert_eq!(
            decode_queued(&encode_queued(std::slice::from_ref(&fuzzy))).unwrap(),
            [fuzzy]
        );
    }
}
