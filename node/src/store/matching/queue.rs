//! The queue of new records' selectors that the owner's deltas drain,
//! in the `matching` column.
//!
//! In: [`crate::store::records::Records::put_batch`] queues the selectors of
//! every record it stores, in the same atomic batch as the record, so a
//! record is never stored without reaching its peers' deltas (nor queued
//! without being stored). Out: [`drain`], read by matching's owner role
//! (`matching::owner::send_deltas`), which deletes what it sent
//! ([`delete_queued`]).

use liaison_protocol::{Selector, SelectorKind};

use crate::store::keys::{self, matching as k};
use crate::store::{Batch, Column, Error, Store};

/// A selector of a newly stored record, with the record's id where the
/// tag will need it (`person_fuzzy`, which the local index leaves out).
pub type Queued = (Selector, Option<String>);

/// The queue entry of `selector` in record `id`.
pub fn queued(selector: &Selector, id: &str) -> Queued {
    let id = (selector.kind == SelectorKind::PersonFuzzy).then(|| id.to_owned());
    (selector.clone(), id)
}

/// First byte of a new-selector queue entry: from records any peer may
/// match, or from `TLP:RED` records.
const QUEUED_SHARED: u8 = 0;
const QUEUED_RED: u8 = 1;

/// Queues, in `batch`, the selectors of newly stored records for the next
/// delta: `shared` from records of any handling code but `TLP:RED`,
/// `red` from `TLP:RED` records, which go only to peers whose agreement
/// says `match_red`.
pub(crate) fn queue_new(batch: &mut Batch, shared: &[Queued], red: &[Queued]) {
    // Time order, a random part against two writers in one millisecond,
    // and the low bit for which of the two lists.
    let seq =
        (crate::clock::system_ms() << 20) | (u64::from(rand::random::<u32>() & 0x7_FFFF) << 1);
    for (i, (items, flag)) in [(shared, QUEUED_SHARED), (red, QUEUED_RED)]
        .into_iter()
        .enumerate()
    {
        if items.is_empty() {
            continue;
        }
        let mut value = vec![flag];
        value.extend(encode_queued(items));
        batch.put(Column::Matching, k::new_selectors(seq | i as u64), value);
    }
}

/// One entry of the queue as [`drain`] reads it.
#[derive(Debug)]
pub enum Drained {
    /// Selectors queued together, and whether they came from `TLP:RED`
    /// records.
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

/// Encodes queued selectors: each `len u32 ‖` [`keys::tag_value`].
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
    use super::*;

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
