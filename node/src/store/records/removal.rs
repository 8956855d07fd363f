//! Taking records out of the store: withdrawal by the agency, the purge
//! of expired records (and the `expiry` column it reads), and the
//! changed-record queue.
//!
//! A record's `expires` is written to the `expiry` column by
//! [`super::Records::put_batch`]; [`super::Records::purge_expired`] (run
//! by the daemon) reads it back by time. Withdrawals come from the CLI and
//! the daemon's API. Each removal, and each correction of a stored
//! record, queues a notice in the `exchange` column for the peers whose
//! follow-up requests named the record; [`crate::exchange`] drains it.

use super::keys;
use super::{canonical, diff, read_u64, Deltas, Meta};
use super::{decode, Batch, Column, Error, Records, Store, StoredRecord};

/// Change codes queued for [`crate::exchange`]: the values of
/// [`liaison_protocol::exchange::Change`].
const WITHDRAWN: u8 = liaison_protocol::exchange::Change::Withdrawn as u8;
pub(super) const CORRECTED: u8 = liaison_protocol::exchange::Change::Corrected as u8;
const EXPIRED: u8 = liaison_protocol::exchange::Change::Expired as u8;

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
            (Err(_), _) => failure = Some(Column::Records.corrupt("record id is not UTF-8")),
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
pub(super) fn unexpire(batch: &mut Batch, id: &str, at: &[u8]) {
    batch.delete(Column::Expiry, keys::expiry::at(read_u64(Some(at)), id));
    batch.delete(Column::Expiry, keys::expiry::of(id));
}

impl Records<'_> {
    /// Queues a change notice for each of `ids` that a peer's follow-up
    /// request names (see [`crate::exchange`]), in `batch`.
    pub(super) fn mark_changed(
        &self,
        batch: &mut Batch,
        ids: &[&str],
        change: u8,
    ) -> Result<(), Error> {
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
            // Each batch is whole (records, index and log entry together);
            // what is left is purged at the next start.
            self.store.check_stop()?;
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
                return Err(Column::Expiry.corrupt("a by-time key does not decode"));
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
}
