//! Records and the selector index: the typed layer over [`Store`].
//!
//! A record is stored with the selectors it was indexed under, so replacing
//! or withdrawing it removes exactly its old index entries, in the same
//! atomic batch as the record itself. Counters in the `meta` column are
//! updated in that batch too, so they are exact after any crash.
//!
//! Value encoding of a record (all integers big-endian):
//! `format u8 = 2 | flags u8 | ingested_at i64 | source len u16 | source |
//!  selector count u32 | (kind u8, version u8, len u16, value)* | record JSON`.
//! Flag bit 0: the record is `TLP:RED` (its selectors go into no peer's
//! filter unless that peer's agreement opts in), readable without parsing
//! the JSON. Format 1 (no flags byte) is still read; its handling code is
//! then read from the JSON.
//!
//! One writer at a time: `put_batch` and `withdraw` read the counters and
//! write them back, so they must be called from a single thread (ingest's
//! writer, later the daemon's store task).

use std::collections::{BTreeMap, HashMap, HashSet};

use liaison_protocol::record::{Handling, Record};
use liaison_protocol::{Selector, SelectorKind};

use super::keys::{self, Meta};
use super::{Batch, Column, Error, Store};

const FORMAT: u8 = 2;
/// The format before the flags byte.
const FORMAT_1: u8 = 1;
/// Flag: the record's handling code is `TLP:RED`.
const RED: u8 = 1;

/// Change codes queued for [`crate::exchange`]: the values of
/// [`liaison_protocol::exchange::Change`].
const WITHDRAWN: u8 = liaison_protocol::exchange::Change::Withdrawn as u8;
const CORRECTED: u8 = liaison_protocol::exchange::Change::Corrected as u8;
const EXPIRED: u8 = liaison_protocol::exchange::Change::Expired as u8;

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

/// Whether a selector gets an entry in the local index. `person_fuzzy` keys
/// (up to 24 a person, one per deleted symbol) are kept with the record for
/// matching with peers but not indexed locally: they would triple the
/// index's size and halve ingest speed, and a local look-up already
/// tolerates spelling variants through the phonetic key.
pub fn is_indexed(selector: &Selector) -> bool {
    selector.kind != SelectorKind::PersonFuzzy
}

/// Sorts and deduplicates selectors: every stored list is in this form, so
/// replacing a record is a merge of two sorted lists.
fn canonical(mut selectors: Vec<Selector>) -> Vec<Selector> {
    if !selectors.is_sorted() {
        selectors.sort_unstable();
    }
    selectors.dedup();
    selectors
}

/// Calls `change(s, false)` for each indexed selector only in `old` and
/// `change(s, true)` for each only in `new`; both lists sorted and
/// deduplicated.
fn diff<'s>(old: &'s [Selector], new: &'s [Selector], mut change: impl FnMut(&'s Selector, bool)) {
    let mut old = old.iter().filter(|s| is_indexed(s)).peekable();
    let mut new = new.iter().filter(|s| is_indexed(s)).peekable();
    loop {
        match (old.peek(), new.peek()) {
            (Some(a), Some(b)) => match a.cmp(b) {
                std::cmp::Ordering::Less => change(old.next().expect("peeked"), false),
                std::cmp::Ordering::Greater => change(new.next().expect("peeked"), true),
                std::cmp::Ordering::Equal => {
                    old.next();
                    new.next();
                }
            },
            (Some(_), None) => change(old.next().expect("peeked"), false),
            (None, Some(_)) => change(new.next().expect("peeked"), true),
            (None, None) => return,
        }
    }
}

fn corrupt(what: impl Into<String>) -> Error {
    Error::Corrupt {
        column: "records.v1",
        what: what.into(),
    }
}

fn put_selector(out: &mut Vec<u8>, s: &Selector) {
    out.push(s.kind.code());
    out.push(s.version);
    out.extend_from_slice(&(s.value.len() as u16).to_be_bytes());
    out.extend_from_slice(s.value.as_bytes());
}

/// A record encoded for storage, ready for [`Records::put_batch`]. Built
/// off the writer's thread (ingest's reader), so the single writer does
/// only store work.
#[derive(Clone, Debug)]
pub struct Prepared {
    id: String,
    selectors: Vec<Selector>,
    value: Vec<u8>,
    expires: Option<u64>,
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
fn encode(r: &StoredRecord) -> Vec<u8> {
    Prepared::new(&r.record, r.selectors.clone(), &r.source, r.ingested_at).value
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.0.len() < n {
            return Err(corrupt("value is truncated"));
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
        std::str::from_utf8(self.take(n)?).map_err(|_| corrupt("text is not UTF-8"))
    }
}

/// A stored value with its record JSON not yet parsed.
struct Head<'a> {
    /// Whether the record is `TLP:RED`; `None` in format 1 (read the JSON).
    red: Option<bool>,
    ingested_at: i64,
    source: String,
    selectors: Vec<Selector>,
    json: &'a [u8],
}

/// Decodes everything but the record JSON, which is returned raw.
fn decode_head(bytes: &[u8]) -> Result<Head<'_>, Error> {
    let mut r = Reader(bytes);
    let red = match r.u8()? {
        FORMAT => Some(r.u8()? & RED != 0),
        FORMAT_1 => None,
        _ => return Err(corrupt("unknown record format")),
    };
    let ingested_at = r.i64()?;
    let n = r.u16()? as usize;
    let source = r.str(n)?.to_owned();
    let count = r.u32()? as usize;
    let mut selectors = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        let kind =
            SelectorKind::from_code(r.u8()?).ok_or_else(|| corrupt("unknown selector kind"))?;
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
    let record = serde_json::from_slice(json).map_err(|e| corrupt(format!("record JSON: {e}")))?;
    Ok(StoredRecord {
        record,
        selectors,
        source,
        ingested_at,
    })
}

/// Counter deltas accumulated over one batch.
struct Deltas {
    records: i64,
    /// Indexed by [`SelectorKind::code`].
    selectors: [i64; 256],
}

impl Default for Deltas {
    fn default() -> Self {
        Deltas {
            records: 0,
            selectors: [0; 256],
        }
    }
}

impl Deltas {
    fn add(&mut self, kind: SelectorKind, delta: i64) {
        self.selectors[kind.code() as usize] += delta;
    }

    fn apply(self, store: &Store, batch: &mut Batch) -> Result<(), Error> {
        let mut put = |meta: Meta, delta: i64| -> Result<(), Error> {
            if delta == 0 {
                return Ok(());
            }
            let key = meta.key();
            let now = read_u64(store.get(Column::Meta, &key)?.as_deref());
            batch.put(
                Column::Meta,
                key,
                now.saturating_add_signed(delta).to_be_bytes().to_vec(),
            );
            Ok(())
        };
        put(Meta::RecordCount, self.records)?;
        for kind in SelectorKind::ALL {
            put(
                Meta::SelectorCount(kind),
                self.selectors[kind.code() as usize],
            )?;
        }
        Ok(())
    }
}

/// Fills the `expiry` column from the records themselves, once: a store
/// made before the column existed holds records whose `expires` would
/// otherwise never be seen by the purge.
pub(crate) fn index_expiry_once(store: &Store) -> Result<(), Error> {
    let flag = Meta::ExpiryIndexed.key();
    if store.get(Column::Meta, &flag)?.is_some() {
        return Ok(());
    }
    let mut batch = Batch::default();
    let mut failure = None;
    store.scan_prefix(Column::Records, b"", |k, v| {
        let at = decode(v).map(|r| r.record.expires);
        match (std::str::from_utf8(k), at) {
            (Ok(id), Ok(Some(t))) => {
                let t = t.unix_timestamp().max(0) as u64;
                batch.put(
                    Column::Expiry,
                    keys::expiry::of(id),
                    t.to_be_bytes().to_vec(),
                );
                batch.put(Column::Expiry, keys::expiry::at(t, id), Vec::new());
            }
            (Ok(_), Ok(None)) => {}
            (_, Err(e)) => failure = Some(e),
            (Err(_), _) => failure = Some(corrupt("record id is not UTF-8")),
        }
        failure.is_none()
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    batch.put(Column::Meta, flag, Vec::new());
    store.write_durable(batch)
}

/// Deletes a record's two expiry entries; `at` is its by-id value.
fn unexpire(batch: &mut Batch, id: &str, at: &[u8]) {
    batch.delete(Column::Expiry, keys::expiry::at(read_u64(Some(at)), id));
    batch.delete(Column::Expiry, keys::expiry::of(id));
}

fn read_u64(v: Option<&[u8]>) -> u64 {
    v.and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_be_bytes)
        .unwrap_or(0)
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

    /// Stores `items` in one atomic batch. A record whose id is already held
    /// replaces it: index entries it no longer has are removed. When the
    /// same id appears twice in `items`, the later one wins.
    pub fn put_batch(&self, items: Vec<Prepared>) -> Result<Vec<Outcome>, Error> {
        // Previous selectors of each id: from the store, then from earlier
        // items of this batch.
        let mut unique: Vec<&str> = Vec::with_capacity(items.len());
        let mut seen = HashSet::with_capacity(items.len());
        for item in &items {
            if seen.insert(item.id.as_str()) {
                unique.push(item.id.as_str());
            }
        }
        let old = self
            .store
            .multi_get(Column::Records, unique.iter().map(|id| keys::record(id)))?;
        let mut stored_before: HashMap<&str, Vec<Selector>> = HashMap::new();
        // What each replaced record said, to tell a correction from the
        // same record ingested again.
        let mut said_before: HashMap<&str, Vec<u8>> = HashMap::new();
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
        let mut said_now: HashMap<&str, &[u8]> = HashMap::new();
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
        let mut expiring: HashMap<&str, Option<u64>> = HashMap::new();
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
        for item in items {
            batch.put(Column::Records, keys::record_owned(item.id), item.value);
        }
        deltas.apply(self.store, &mut batch)?;
        self.store.write(batch)?;
        Ok(outcomes)
    }

    /// Queues a change notice for each of `ids` that a peer's follow-up
    /// request names (see [`crate::exchange`]), in `batch`.
    fn mark_changed(&self, batch: &mut Batch, ids: &[&str], change: u8) -> Result<(), Error> {
        let now = crate::clock::system_ms();
        for id in ids {
            let mut named = false;
            self.store.scan_prefix(
                Column::Exchange,
                &keys::exchange::naming_prefix(id),
                |_, _| {
                    named = true;
                    false
                },
            )?;
            if named {
                batch.put(
                    Column::Exchange,
                    keys::exchange::changed(now, id),
                    vec![change],
                );
            }
        }
        Ok(())
    }

    /// Removes records and their index and expiry entries in `batch`,
    /// queuing notices for those a peer requested. Returns what was removed.
    fn remove(
        &self,
        batch: &mut Batch,
        ids: &[&str],
        change: u8,
    ) -> Result<Vec<StoredRecord>, Error> {
        let mut removed = Vec::new();
        let mut deltas = Deltas::default();
        for id in ids {
            let Some(old) = self.get(id)? else {
                continue;
            };
            deltas.records -= 1;
            let selectors = canonical(old.selectors.clone());
            diff(&selectors, &[], |s, _| {
                batch.delete(Column::Selectors, keys::selector_entry(s, id));
                deltas.add(s.kind, -1);
            });
            batch.delete(Column::Records, keys::record(id));
            if let Some(at) = self.store.get(Column::Expiry, &keys::expiry::of(id))? {
                unexpire(batch, id, &at);
            }
            removed.push(old);
        }
        let found: Vec<&str> = removed.iter().map(|r| r.record.id.as_str()).collect();
        self.mark_changed(batch, &found, change)?;
        deltas.apply(self.store, batch)?;
        Ok(removed)
    }

    /// Removes every record whose `expires` is at or before `now_s`, in
    /// batches of `batch_size`; each batch is logged as one `purged`
    /// entry with its count (context `records`). Returns how many.
    pub fn purge_expired(&self, now_s: u64, batch_size: usize) -> Result<u64, Error> {
        let mut total = 0;
        loop {
            let mut due: Vec<(Vec<u8>, String)> = Vec::new();
            let mut bad = false;
            self.store
                .scan_prefix(Column::Expiry, keys::expiry::BY_TIME, |k, _| {
                    match keys::expiry::decode_at(k) {
                        Some((t, id)) if t <= now_s => {
                            due.push((k.to_vec(), id.to_owned()));
                            due.len() < batch_size
                        }
                        Some(_) => false,
                        None => {
                            bad = true;
                            false
                        }
                    }
                })?;
            if bad {
                return Err(Error::Corrupt {
                    column: "expiry.v1",
                    what: "a by-time key does not decode".into(),
                });
            }
            if due.is_empty() {
                return Ok(total);
            }
            let mut batch = Batch::default();
            let ids: Vec<&str> = due.iter().map(|(_, id)| id.as_str()).collect();
            let removed = self.remove(&mut batch, &ids, EXPIRED)?;
            // The scanned entries go whatever the per-record entry says, so
            // a stray one cannot come back at every purge.
            for (key, id) in &due {
                batch.delete(Column::Expiry, key.clone());
                batch.delete(Column::Expiry, keys::expiry::of(id));
            }
            if removed.is_empty() {
                self.store.write(batch)?;
            } else {
                let mut entry = liaison_protocol::audit::Entry::new(
                    liaison_protocol::audit::Kind::Purged,
                    crate::clock::system_ms(),
                );
                entry.context = "records".into();
                entry.count = removed.len() as u64;
                total += removed.len() as u64;
                self.store.append(batch, &[entry], true)?;
            }
            if due.len() < batch_size {
                return Ok(total);
            }
        }
    }

    /// The record with this id.
    pub fn get(&self, id: &str) -> Result<Option<StoredRecord>, Error> {
        self.store
            .get(Column::Records, keys::record(id))?
            .map(|v| decode(&v))
            .transpose()
    }

    /// Removes a record and its index entries. Returns what was removed.
    /// Peers it was requested by or released to are told (through the
    /// changed-record queue that [`crate::exchange`] drains).
    pub fn withdraw(&self, id: &str) -> Result<Option<StoredRecord>, Error> {
        let mut batch = Batch::default();
        let Some(old) = self.remove(&mut batch, &[id], WITHDRAWN)?.pop() else {
            return Ok(None);
        };
        // Logged by count only: a hash of the id would let anyone holding
        // an export test guessed ids.
        let mut entry = liaison_protocol::audit::Entry::new(
            liaison_protocol::audit::Kind::Withdrawn,
            crate::clock::system_ms(),
        );
        entry.count = 1;
        self.store.append(batch, &[entry], true)?;
        Ok(Some(old))
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
            return Err(Error::Corrupt {
                column: "selectors.v1",
                what: "index entry with a record id that is not UTF-8".into(),
            });
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
        let record: Record =
            serde_json::from_slice(head.json).map_err(|e| corrupt(format!("record JSON: {e}")))?;
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

    /// Visits every record id with its selectors and whether it is
    /// `TLP:RED`, in id order, until `visit` returns `false`: what the
    /// owner's filters are built from.
    pub fn for_each_shared(
        &self,
        mut visit: impl FnMut(&str, &[Selector], bool) -> bool,
    ) -> Result<(), Error> {
        self.for_each_head(|id, head| {
            let red = match head.red {
                Some(red) => red,
                None => {
                    let r: Record = serde_json::from_slice(head.json)
                        .map_err(|e| corrupt(format!("record JSON: {e}")))?;
                    r.handling == Handling::Red
                }
            };
            Ok(visit(id, &head.selectors, red))
        })
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
                .map_err(|_| corrupt("record id is not UTF-8"))
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
                    failure = Some(Error::Corrupt {
                        column: "selectors.v1",
                        what: "index key does not decode".into(),
                    });
                    false
                }
            },
        )?;
        failure.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use liaison_protocol::record::{Entity, Phone};

    fn stored(id: &str, phones: &[&str]) -> StoredRecord {
        StoredRecord {
            record: Record {
                entities: phones
                    .iter()
                    .map(|p| {
                        Entity::Phone(Phone {
                            number: (*p).into(),
                            ..Phone::default()
                        })
                    })
                    .collect(),
                ..Record::new(id)
            },
            selectors: phones
                .iter()
                .map(|p| Selector::new(SelectorKind::Phone, *p))
                .collect(),
            source: "test:1".into(),
            ingested_at: 1_700_000_000,
        }
    }

    fn prepared(id: &str, phones: &[&str]) -> Prepared {
        let r = stored(id, phones);
        Prepared::new(&r.record, r.selectors, &r.source, r.ingested_at)
    }

    fn phone(p: &str) -> Selector {
        Selector::new(SelectorKind::Phone, p)
    }

    #[test]
    fn encoding_round_trips_and_refuses_truncation() {
        let r = stored("KG-1", &["+992935551234", "+996775987817"]);
        let bytes = encode(&r);
        assert_eq!(decode(&bytes).unwrap(), r);
        for cut in [0, 1, 5, 12, 20, bytes.len() - 1] {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn a_store_made_before_the_expiry_index_is_indexed_once_at_open() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(&dir.path().join("store")).unwrap();
            let mut r = Record::new("OLD");
            r.expires = Some(time::OffsetDateTime::from_unix_timestamp(1_000).unwrap());
            let p = Prepared::new(&r, vec![], "t", 0);
            Records::new(&store).put_batch(vec![p]).unwrap();
            // As a store of the previous layout: no expiry entries, no flag.
            let mut b = Batch::default();
            b.delete(Column::Expiry, keys::expiry::of("OLD"));
            b.delete(Column::Expiry, keys::expiry::at(1_000, "OLD"));
            b.delete(Column::Meta, Meta::ExpiryIndexed.key());
            store.write(b).unwrap();
            assert_eq!(Records::new(&store).purge_expired(2_000, 10).unwrap(), 0);
        }
        let store = Store::open(&dir.path().join("store")).unwrap();
        assert_eq!(Records::new(&store).purge_expired(999, 10).unwrap(), 0);
        assert_eq!(Records::new(&store).purge_expired(2_000, 10).unwrap(), 1);
        assert!(Records::new(&store).get("OLD").unwrap().is_none());
    }

    #[test]
    fn replace_moves_index_entries_and_withdraw_removes_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let records = Records::new(&store);
        let out = records
            .put_batch(vec![
                prepared("KG-1", &["+1", "+2"]),
                prepared("KG-2", &["+2"]),
            ])
            .unwrap();
        assert_eq!(out, vec![Outcome::Stored, Outcome::Stored]);
        assert_eq!(
            records.find(&phone("+2"), 10).unwrap(),
            vec!["KG-1", "KG-2"]
        );

        // Re-ingest KG-1 without +2 and with +3.
        let out = records
            .put_batch(vec![prepared("KG-1", &["+1", "+3"])])
            .unwrap();
        assert_eq!(out, vec![Outcome::Updated]);
        assert_eq!(records.find(&phone("+2"), 10).unwrap(), vec!["KG-2"]);
        assert_eq!(records.find(&phone("+3"), 10).unwrap(), vec!["KG-1"]);
        let c = records.counts().unwrap();
        assert_eq!(c.records, 2);
        assert_eq!(c.selectors[&SelectorKind::Phone], 3);

        // The same id twice in one batch: the later wins, counted once.
        let out = records
            .put_batch(vec![prepared("KG-3", &["+4"]), prepared("KG-3", &["+5"])])
            .unwrap();
        assert_eq!(out, vec![Outcome::Stored, Outcome::Updated]);
        assert!(records.find(&phone("+4"), 10).unwrap().is_empty());
        assert_eq!(records.counts().unwrap().records, 3);

        let gone = records.withdraw("KG-1").unwrap().unwrap();
        assert_eq!(gone.record.id, "KG-1");
        assert!(records.find(&phone("+1"), 10).unwrap().is_empty());
        assert!(records.get("KG-1").unwrap().is_none());
        assert!(records.withdraw("KG-1").unwrap().is_none());
        let c = records.counts().unwrap();
        assert_eq!(c.records, 2);
        assert_eq!(c.selectors[&SelectorKind::Phone], 2);

        // The index and the records agree entry by entry.
        let mut from_records = Vec::new();
        records
            .for_each(|id, sels| {
                from_records.extend(sels.iter().map(|s| (s.clone(), id.to_owned())));
                true
            })
            .unwrap();
        let mut from_index = Vec::new();
        records
            .for_each_index_entry(|s, id| {
                from_index.push((s, id.to_owned()));
                true
            })
            .unwrap();
        from_records.sort();
        from_index.sort();
        assert_eq!(from_records, from_index);
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn selector() -> impl Strategy<Value = Selector> {
            (0usize..SelectorKind::ALL.len(), "[^\\x00]{1,40}")
                .prop_map(|(k, v)| Selector::new(SelectorKind::ALL[k], v))
        }

        proptest! {
            #[test]
            fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
                let _ = decode(&bytes);
            }

            #[test]
            fn values_round_trip(id in "[^\\x00]{1,30}", sels in proptest::collection::vec(selector(), 0..12), source in ".{0,60}", at in any::<i64>()) {
                let mut r = stored(&id, &[]);
                r.selectors = sels;
                r.source = source;
                r.ingested_at = at;
                let back = decode(&encode(&r)).unwrap();
                let mut want = r.selectors.clone();
                want.sort();
                want.dedup();
                prop_assert_eq!(back.selectors, want);
                prop_assert_eq!(back.record, r.record);
                prop_assert_eq!(back.source, r.source);
                prop_assert_eq!(back.ingested_at, r.ingested_at);
            }
        }
    }
}
