//! Records and the selector index: the typed layer over [`Store`].
//!
//! A record is stored with the selectors it was indexed under, so replacing
//! or withdrawing it removes exactly its old index entries, in the same
//! atomic batch as the record itself. Counters in the `meta` column are
//! updated in that batch too, so they are exact after any crash.
//!
//! Value encoding of a record (all integers big-endian):
//! `format u8 = 1 | ingested_at i64 | source len u16 | source |
//!  selector count u32 | (kind u8, version u8, len u16, value)* | record JSON`.
//!
//! One writer at a time: `put_batch` and `withdraw` read the counters and
//! write them back, so they must be called from a single thread (ingest's
//! writer, later the daemon's store task).

use std::collections::{BTreeMap, HashMap, HashSet};

use liaison_protocol::record::Record;
use liaison_protocol::{Selector, SelectorKind};

use super::keys::{self, Meta};
use super::{Batch, Column, Error, Store};

const FORMAT: u8 = 1;

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

/// Encodes a stored record.
pub fn encode(r: &StoredRecord) -> Vec<u8> {
    let json = serde_json::to_vec(&r.record).expect("a record always serialises to JSON");
    let source = &r.source.as_bytes()[..r.source.len().min(u16::MAX as usize)];
    let mut out = Vec::with_capacity(16 + source.len() + json.len() + r.selectors.len() * 24);
    out.push(FORMAT);
    out.extend_from_slice(&r.ingested_at.to_be_bytes());
    out.extend_from_slice(&(source.len() as u16).to_be_bytes());
    out.extend_from_slice(source);
    out.extend_from_slice(&(r.selectors.len() as u32).to_be_bytes());
    for s in &r.selectors {
        put_selector(&mut out, s);
    }
    out.extend_from_slice(&json);
    out
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

/// Decodes the header: everything but the record JSON, which is returned raw.
fn decode_head(bytes: &[u8]) -> Result<(i64, String, Vec<Selector>, &[u8]), Error> {
    let mut r = Reader(bytes);
    if r.u8()? != FORMAT {
        return Err(corrupt("unknown record format"));
    }
    let ingested_at = r.i64()?;
    let n = r.u16()? as usize;
    let source = r.str(n)?.to_owned();
    let count = r.u32()? as usize;
    let mut selectors = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        let kind = SelectorKind::from_code(r.u8()?).ok_or_else(|| corrupt("unknown selector kind"))?;
        let version = r.u8()?;
        let len = r.u16()? as usize;
        selectors.push(Selector {
            kind,
            version,
            value: r.str(len)?.to_owned(),
        });
    }
    Ok((ingested_at, source, selectors, r.0))
}

/// Decodes a stored record.
pub fn decode(bytes: &[u8]) -> Result<StoredRecord, Error> {
    let (ingested_at, source, selectors, json) = decode_head(bytes)?;
    let record = serde_json::from_slice(json).map_err(|e| corrupt(format!("record JSON: {e}")))?;
    Ok(StoredRecord {
        record,
        selectors,
        source,
        ingested_at,
    })
}

/// Counter deltas accumulated over one batch.
#[derive(Default)]
struct Deltas {
    records: i64,
    selectors: HashMap<SelectorKind, i64>,
}

impl Deltas {
    fn apply(self, store: &Store, batch: &mut Batch) -> Result<(), Error> {
        let mut put = |meta: Meta, delta: i64| -> Result<(), Error> {
            if delta == 0 {
                return Ok(());
            }
            let key = meta.key();
            let now = read_u64(store.get(Column::Meta, &key)?.as_deref());
            batch.put(Column::Meta, key, now.saturating_add_signed(delta).to_be_bytes().to_vec());
            Ok(())
        };
        put(Meta::RecordCount, self.records)?;
        for (kind, d) in self.selectors {
            put(Meta::SelectorCount(kind), d)?;
        }
        Ok(())
    }
}

fn read_u64(v: Option<&[u8]>) -> u64 {
    v.and_then(|b| <[u8; 8]>::try_from(b).ok()).map(u64::from_be_bytes).unwrap_or(0)
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
    pub fn put_batch(&self, items: &[StoredRecord]) -> Result<Vec<Outcome>, Error> {
        // Previous selectors of each id: from the store, then from earlier
        // items of this batch.
        let mut unique: Vec<&str> = Vec::with_capacity(items.len());
        let mut seen = HashSet::with_capacity(items.len());
        for item in items {
            if seen.insert(item.record.id.as_str()) {
                unique.push(item.record.id.as_str());
            }
        }
        let old = self.store.multi_get(Column::Records, unique.iter().map(|id| keys::record(id)))?;
        let mut previous: HashMap<&str, Vec<Selector>> = HashMap::with_capacity(items.len());
        for (id, value) in unique.iter().zip(old) {
            if let Some(v) = value {
                previous.insert(id, decode_head(&v)?.2);
            }
        }

        let mut batch = Batch::default();
        let mut deltas = Deltas::default();
        let mut outcomes = Vec::with_capacity(items.len());
        for item in items {
            let id = item.record.id.as_str();
            let new: HashSet<&Selector> = item.selectors.iter().collect();
            match previous.insert(id, item.selectors.clone()) {
                Some(old) => {
                    outcomes.push(Outcome::Updated);
                    let old_set: HashSet<&Selector> = old.iter().collect();
                    for s in old_set.difference(&new) {
                        batch.delete(Column::Selectors, keys::selector_entry(s, id));
                        *deltas.selectors.entry(s.kind).or_default() -= 1;
                    }
                    for s in new.difference(&old_set) {
                        batch.put(Column::Selectors, keys::selector_entry(s, id), Vec::new());
                        *deltas.selectors.entry(s.kind).or_default() += 1;
                    }
                }
                None => {
                    outcomes.push(Outcome::Stored);
                    deltas.records += 1;
                    for s in &new {
                        batch.put(Column::Selectors, keys::selector_entry(s, id), Vec::new());
                        *deltas.selectors.entry(s.kind).or_default() += 1;
                    }
                }
            }
            batch.put(Column::Records, keys::record(id), encode(item));
        }
        deltas.apply(self.store, &mut batch)?;
        self.store.write(batch)?;
        Ok(outcomes)
    }

    /// The record with this id.
    pub fn get(&self, id: &str) -> Result<Option<StoredRecord>, Error> {
        self.store.get(Column::Records, keys::record(id))?.map(|v| decode(&v)).transpose()
    }

    /// Removes a record and its index entries. Returns what was removed.
    pub fn withdraw(&self, id: &str) -> Result<Option<StoredRecord>, Error> {
        let Some(old) = self.get(id)? else {
            return Ok(None);
        };
        let mut batch = Batch::default();
        let mut deltas = Deltas {
            records: -1,
            ..Deltas::default()
        };
        let unique: HashSet<&Selector> = old.selectors.iter().collect();
        for s in unique {
            batch.delete(Column::Selectors, keys::selector_entry(s, id));
            *deltas.selectors.entry(s.kind).or_default() -= 1;
        }
        batch.delete(Column::Records, keys::record(id));
        deltas.apply(self.store, &mut batch)?;
        self.store.write_durable(batch)?;
        Ok(Some(old))
    }

    /// Ids of the records indexed under `selector`, at most `limit`.
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

    /// Exact counts.
    pub fn counts(&self) -> Result<Counts, Error> {
        let mut counts = Counts {
            records: read_u64(self.store.get(Column::Meta, &Meta::RecordCount.key())?.as_deref()),
            ..Counts::default()
        };
        for kind in SelectorKind::ALL {
            let n = read_u64(self.store.get(Column::Meta, &Meta::SelectorCount(kind).key())?.as_deref());
            if n > 0 {
                counts.selectors.insert(kind, n);
            }
        }
        Ok(counts)
    }

    /// Visits every record id with the selectors it is indexed under, in id
    /// order, until `visit` returns `false`. Used by consistency checks.
    pub fn for_each(&self, mut visit: impl FnMut(&str, &[Selector]) -> bool) -> Result<(), Error> {
        let mut failure = None;
        self.store.scan_prefix(Column::Records, b"", |k, v| match (std::str::from_utf8(k), decode_head(v)) {
            (Ok(id), Ok((_, _, selectors, _))) => visit(id, &selectors),
            (Err(_), _) => {
                failure = Some(corrupt("record id is not UTF-8"));
                false
            }
            (_, Err(e)) => {
                failure = Some(e);
                false
            }
        })?;
        failure.map_or(Ok(()), Err)
    }

    /// Visits every index entry, until `visit` returns `false`.
    pub fn for_each_index_entry(&self, mut visit: impl FnMut(Selector, &str) -> bool) -> Result<(), Error> {
        let mut failure = None;
        self.store.scan_prefix(Column::Selectors, b"", |k, _| match keys::decode_selector_entry(k) {
            Some((s, id)) => visit(s, id),
            None => {
                failure = Some(Error::Corrupt {
                    column: "selectors.v1",
                    what: "index key does not decode".into(),
                });
                false
            }
        })?;
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
                id: id.into(),
                summary: None,
                grading: None,
                handling: Default::default(),
                country: None,
                created: None,
                updated: None,
                expires: None,
                entities: phones
                    .iter()
                    .map(|p| {
                        Entity::Phone(Phone {
                            number: (*p).into(),
                            ..Phone::default()
                        })
                    })
                    .collect(),
                links: vec![],
                extra: Default::default(),
            },
            selectors: phones.iter().map(|p| Selector::new(SelectorKind::Phone, *p)).collect(),
            source: "test:1".into(),
            ingested_at: 1_700_000_000,
        }
    }

    fn phone(p: &str) -> Selector {
        Selector::new(SelectorKind::Phone, p)
    }

    #[test]
    fn encoding_round_trips_and_refuses_truncation() {
        let r = stored("KG-1", &["+996775987817", "+992935551234"]);
        let bytes = encode(&r);
        assert_eq!(decode(&bytes).unwrap(), r);
        for cut in [0, 1, 5, 12, 20, bytes.len() - 1] {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn replace_moves_index_entries_and_withdraw_removes_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let records = Records::new(&store);
        let out = records.put_batch(&[stored("KG-1", &["+1", "+2"]), stored("KG-2", &["+2"])]).unwrap();
        assert_eq!(out, vec![Outcome::Stored, Outcome::Stored]);
        assert_eq!(records.find(&phone("+2"), 10).unwrap(), vec!["KG-1", "KG-2"]);

        // Re-ingest KG-1 without +2 and with +3.
        let out = records.put_batch(&[stored("KG-1", &["+1", "+3"])]).unwrap();
        assert_eq!(out, vec![Outcome::Updated]);
        assert_eq!(records.find(&phone("+2"), 10).unwrap(), vec!["KG-2"]);
        assert_eq!(records.find(&phone("+3"), 10).unwrap(), vec!["KG-1"]);
        let c = records.counts().unwrap();
        assert_eq!(c.records, 2);
        assert_eq!(c.selectors[&SelectorKind::Phone], 3);

        // The same id twice in one batch: the later wins, counted once.
        let out = records.put_batch(&[stored("KG-3", &["+4"]), stored("KG-3", &["+5"])]).unwrap();
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
}
