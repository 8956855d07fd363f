//! Records and the selector index: the typed layer over [`Store`].
//!
//! A record is stored with the selectors it was indexed under, so replacing
//! or withdrawing it removes exactly its old index entries, in the same
//! atomic batch as the record itself. Counters in the `meta` column are
//! updated in that batch too, so they are exact after any crash.
//!
//! This file holds the [`Records`] handle: storing records (from ingest and
//! re-indexing), reading them back and scanning them (for look-ups, the
//! consistency check and the owner's filters). The pieces, each over the
//! same [`Store`]:
//! - `format`: the stored value of a record ([`Prepared`], [`decode`]);
//! - `index`: which selectors are indexed, and the index's counters;
//! - `removal`: withdrawal, the expiry purge, and the changed-record queue
//!   that tells peers (see [`crate::exchange`]).
//!
//! One writer at a time: `put_batch` and `withdraw` read the counters and
//! write them back, so they must be called from a single thread (ingest's
//! writer, later the daemon's store task).

use std::collections::BTreeMap;

use liaison_protocol::record::{Handling, Record};
use liaison_protocol::{Selector, SelectorKind};

use super::keys::{self, Meta};
use super::{Batch, Column, Error, Store};

/// The maps of one ingest batch, keyed by record id on the one writer
/// thread: foldhash hashes an id several times faster than SipHash (the
/// ids come from the agency's own files, and the seed is random per run).
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

mod format;
mod index;
mod removal;
#[cfg(test)]
mod tests;

pub use format::{decode, Prepared};
pub use index::is_indexed;
pub(crate) use removal::index_expiry_once;

use format::{decode_head, Head};
use index::{canonical, diff, read_u64, Deltas};
use removal::{unexpire, CORRECTED};

/// A record as held by the node.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredRecord {
    /// The record as the agency wrote it.
    pub record: Record,
    /// The selectors it is indexed under.
    pub selectors: Vec<Selector>,
    /// Where it came from: `file:line`.
    pub source: String,
    /// When it was stored, Unix seconds.
    pub ingested_at: i64,
}

/// What storing one record did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A new record id.
    Stored,
    /// An existing record id, replaced.
    Updated,
}

/// Exact counts of what the store holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Records.
    pub records: u64,
    /// Index entries by selector kind.
    pub selectors: BTreeMap<SelectorKind, u64>,
}

/// Records and their index, over a [`Store`].
#[derive(Debug, Clone, Copy)]
pub struct Records<'a> {
    store: &'a Store,
}

impl<'a> Records<'a> {
    /// The typed view of `store`.
    pub fn new(store: &'a Store) -> Records<'a> {
        Records { store }
    }

    /// Stores `items` in one atomic batch, their selectors queued there for
    /// the peers' deltas (`store::matching::queue_new`). A record whose
    /// id is already held replaces it: index entries it no longer has are
    /// removed. When the same id appears twice in `items`, the later one
    /// wins.
    pub fn put_batch(&self, items: Vec<Prepared>) -> Result<Vec<Outcome>, Error> {
        // Previous selectors of each id: from the store, then from earlier
        // items of this batch.
        let mut unique: Vec<&str> = Vec::with_capacity(items.len());
        let mut seen = HashSet::with_capacity_and_hasher(items.len(), Default::default());
        for item in &items {
            if seen.insert(item.id.as_str()) {
                unique.push(item.id.as_str());
            }
        }
        let old = self
            .store
            .multi_get(Column::Records, unique.iter().map(|id| keys::record(id)))?;
        let mut stored_before: HashMap<&str, Vec<Selector>> = HashMap::default();
        // What each replaced record said, to tell a correction from the
        // same record ingested again.
        let mut said_before: HashMap<&str, Vec<u8>> = HashMap::default();
        for (id, value) in unique.iter().zip(old) {
            if let Some(v) = value {
                let head = decode_head(&v)?;
                said_before.insert(id, head.json.to_vec());
                stored_before.insert(id, canonical(head.selectors));
            }
        }
        let mut previous: HashMap<&str, &[Selector]> = stored_before
            .iter()
            .map(|(id, s)| (*id, s.as_slice()))
            .collect();

        let mut batch = Batch::default();
        let mut deltas = Deltas::default();
        let mut outcomes = Vec::with_capacity(items.len());
        for item in &items {
            let id = item.id.as_str();
            let old = previous.insert(id, &item.selectors);
            outcomes.push(if old.is_some() {
                Outcome::Updated
            } else {
                Outcome::Stored
            });
            if old.is_none() {
                deltas.records += 1;
            }
            diff(old.unwrap_or_default(), &item.selectors, |s, added| {
                let key = keys::selector_entry(s, id);
                if added {
                    batch.put(Column::Selectors, key, Vec::new());
                    deltas.add(s.kind, 1);
                } else {
                    batch.delete(Column::Selectors, key);
                    deltas.add(s.kind, -1);
                }
            });
        }
        drop(previous);
        let mut said_now: HashMap<&str, &[u8]> = HashMap::default();
        for item in &items {
            said_now.insert(&item.id, decode_head(&item.value)?.json);
        }
        let corrected: Vec<&str> = said_before
            .iter()
            .filter(|(id, json)| said_now.get(*id).is_some_and(|now| now != &json.as_slice()))
            .map(|(id, _)| *id)
            .collect();
        self.mark_changed(&mut batch, &corrected, CORRECTED)?;
        drop(stored_before);
        let expiry_keys: Vec<Vec<u8>> = unique.iter().map(|id| keys::expiry::of(id)).collect();
        let old_expiry = self
            .store
            .multi_get(Column::Expiry, expiry_keys.iter().map(Vec::as_slice))?;
        for (id, v) in unique.iter().zip(old_expiry) {
            if let Some(v) = v {
                unexpire(&mut batch, id, &v);
            }
        }
        let mut expiring: HashMap<&str, Option<u64>> = HashMap::default();
        for item in &items {
            expiring.insert(&item.id, item.expires);
        }
        for (id, at) in expiring {
            if let Some(at) = at {
                batch.put(
                    Column::Expiry,
                    keys::expiry::of(id),
                    at.to_be_bytes().to_vec(),
                );
                batch.put(Column::Expiry, keys::expiry::at(at, id), Vec::new());
            }
        }
        // The peers' deltas learn of the records in the same write: never
        // a record stored that they miss, nor one queued that was not.
        super::matching::queue_new(self.store, &mut batch, unique.iter().copied())?;
        for item in items {
            batch.put(Column::Records, keys::record_owned(item.id), item.value);
        }
        deltas.apply(self.store, &mut batch)?;
        self.store.write(batch)?;
        Ok(outcomes)
    }

    /// The record with this id.
    pub fn get(&self, id: &str) -> Result<Option<StoredRecord>, Error> {
        self.store
            .get(Column::Records, keys::record(id))?
            .map(|v| decode(&v))
            .transpose()
    }

    /// Ids of the records indexed under `selector`, at most `limit`.
    /// Always empty for a selector that [`is_indexed`] refuses.
    pub fn find(&self, selector: &Selector, limit: usize) -> Result<Vec<String>, Error> {
        let prefix = keys::selector_prefix(selector);
        let mut ids = Vec::new();
        let mut bad = false;
        self.store.scan_prefix(Column::Selectors, &prefix, |k, _| {
            match keys::selector_entry_record(k, prefix.len()) {
                Some(id) => ids.push(id.to_owned()),
                None => bad = true,
            }
            !bad && ids.len() < limit
        })?;
        if bad {
            return Err(Column::Selectors.corrupt("index entry with a record id that is not UTF-8"));
        }
        Ok(ids)
    }

    /// Exact counts of records and of index entries by kind.
    pub fn counts(&self) -> Result<Counts, Error> {
        let mut counts = Counts {
            records: read_u64(
                self.store
                    .get(Column::Meta, &Meta::RecordCount.key())?
                    .as_deref(),
            ),
            ..Counts::default()
        };
        for kind in SelectorKind::ALL {
            let n = read_u64(
                self.store
                    .get(Column::Meta, &Meta::SelectorCount(kind).key())?
                    .as_deref(),
            );
            if n > 0 {
                counts.selectors.insert(kind, n);
            }
        }
        Ok(counts)
    }

    /// Visits every record id with the selectors it is indexed under and
    /// the JSON it was written as, in id order, until `visit` returns
    /// `false`: what re-indexing compares.
    pub fn for_each_written(
        &self,
        mut visit: impl FnMut(&str, &[Selector], &[u8]) -> bool,
    ) -> Result<(), Error> {
        self.for_each_head(|id, head| Ok(visit(id, &head.selectors, head.json)))
    }

    /// Record `id` as stored, held under `selectors` instead of its own:
    /// the same bytes as written, source, time and expiry, ready for
    /// [`Records::put_batch`], which moves its index entries. `None` if no
    /// such record.
    pub fn reselected(
        &self,
        id: &str,
        selectors: Vec<Selector>,
    ) -> Result<Option<Prepared>, Error> {
        let Some(value) = self.store.get(Column::Records, keys::record(id))? else {
            return Ok(None);
        };
        let head = decode_head(&value)?;
        let record: Record = serde_json::from_slice(head.json)
            .map_err(|e| Column::Records.corrupt(format!("record JSON: {e}")))?;
        Ok(Some(
            Prepared::with_json(
                id.to_owned(),
                head.json,
                record.handling,
                selectors,
                &head.source,
                head.ingested_at,
            )
            .expiring(record.expires),
        ))
    }

    /// Visits every record id with the selectors it is indexed under, in id
    /// order, until `visit` returns `false`. Used by consistency checks.
    pub fn for_each(&self, mut visit: impl FnMut(&str, &[Selector]) -> bool) -> Result<(), Error> {
        self.for_each_head(|id, head| Ok(visit(id, &head.selectors)))
    }

    /// For each of `ids`, in order: the selectors it is indexed under and
    /// whether it is `TLP:RED`, or `None` if it is no longer stored. What
    /// the owner's deltas read of the records the queue names.
    pub fn shared_of<I: AsRef<str>>(&self, ids: &[I]) -> Result<Vec<Option<Shared>>, Error> {
        let values = self.store.multi_get(
            Column::Records,
            ids.iter().map(|id| keys::record(id.as_ref())),
        )?;
        values
            .into_iter()
            .map(|value| {
                value
                    .map(|v| {
                        let head = decode_head(&v)?;
                        let red = head_is_red(&head)?;
                        Ok((head.selectors, red))
                    })
                    .transpose()
            })
            .collect()
    }

    /// Visits every record id with its selectors and whether it is
    /// `TLP:RED`, in id order, until `visit` returns `false`: what the
    /// owner's filters are built from.
    pub fn for_each_shared(
        &self,
        mut visit: impl FnMut(&str, &[Selector], bool) -> bool,
    ) -> Result<(), Error> {
        self.for_each_head(|id, head| Ok(visit(id, &head.selectors, head_is_red(&head)?)))
    }

    /// Every record's id and decoded head, in id order, until `visit`
    /// returns `Ok(false)` or an error (which is returned).
    fn for_each_head(
        &self,
        mut visit: impl FnMut(&str, Head<'_>) -> Result<bool, Error>,
    ) -> Result<(), Error> {
        let mut failure = None;
        self.store.scan_prefix(Column::Records, b"", |k, v| {
            let step = std::str::from_utf8(k)
                .map_err(|_| Column::Records.corrupt("record id is not UTF-8"))
                .and_then(|id| visit(id, decode_head(v)?));
            step.unwrap_or_else(|e| {
                failure = Some(e);
                false
            })
        })?;
        failure.map_or(Ok(()), Err)
    }

    /// Visits every index entry, until `visit` returns `false`.
    pub fn for_each_index_entry(
        &self,
        mut visit: impl FnMut(Selector, &str) -> bool,
    ) -> Result<(), Error> {
        let mut failure = None;
        self.store.scan_prefix(
            Column::Selectors,
            b"",
            |k, _| match keys::decode_selector_entry(k) {
                Some((s, id)) => visit(s, id),
                None => {
                    failure = Some(Column::Selectors.corrupt("index key does not decode"));
                    false
                }
            },
        )?;
        failure.map_or(Ok(()), Err)
    }
}

/// What [`Records::shared_of`] gives of a stored record: the selectors it
/// is indexed under, and whether it is `TLP:RED`.
pub type Shared = (Vec<Selector>, bool);

/// Whether a record is `TLP:RED`: from its head, or from its JSON in the
/// first format, whose head did not say.
fn head_is_red(head: &Head<'_>) -> Result<bool, Error> {
    match head.red {
        Some(red) => Ok(red),
        None => {
            let r: Record = serde_json::from_slice(head.json)
                .map_err(|e| Column::Records.corrupt(format!("record JSON: {e}")))?;
            Ok(r.handling == Handling::Red)
        }
    }
}
