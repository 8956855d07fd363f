//! The follow-up's columns, typed: requests in and out, the entries that
//! name a request's records, the per-peer day counters, the queue of
//! changed records, reports, marks and tombstones, each a JSON value (or
//! bytes: an envelope, a counter, a peer key) under its key. What the
//! follow-up reads and purges of matching's columns (a served tag, hits
//! and alerts past retention) goes through `store::matching`.
//!
//! In: values from [`crate::exchange`] (generic here: the store does not
//! know the follow-up's types), written in its batches, and the records
//! layer's changed-record queue. Out: the same values read back for the
//! follow-up, a value that no longer decodes reported as the store's
//! corruption. Nothing here writes on its own: every write goes into the
//! caller's [`Batch`].
//!
//! - `owner`: what the owner's side keeps (requests peers sent us, the
//!   entries naming their records, the day counters, the changed-record
//!   queue);
//! - `requester`: what the requester's side keeps (requests we sent, the
//!   hit each answers, reports, marks, tombstones);
//! - `retention`: the purges of reports and marks.

use super::keys::exchange as k;
use super::{Batch, Column, Error, Store};

mod owner;
mod requester;
mod retention;

pub(crate) use owner::{
    changed, day_count, delete_naming, naming, put_day_count, put_naming, Daily,
};
pub(crate) use requester::{
    delete_hit_request, delete_report, has_report, mark, put_hit_request, put_mark, put_report,
    report, report_ids, request_for_hit, Mark,
};

/// A family of JSON values in the follow-up's column, one per request id.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Values {
    key: fn(&[u8; 16]) -> Vec<u8>,
    prefix: &'static [u8],
}

/// The requests peers sent us, as the owner filed them.
pub(crate) const INCOMING: Values = Values {
    key: k::incoming,
    prefix: k::INCOMING,
};

/// The requests we sent, with their answers so far.
pub(crate) const OUTGOING: Values = Values {
    key: k::outgoing,
    prefix: k::OUTGOING,
};

/// What is left of reports deleted on their owner's withdrawal.
pub(crate) const TOMBSTONES: Values = Values {
    key: k::tombstone,
    prefix: k::TOMBSTONES,
};

impl Values {
    /// The value for `id`, if stored.
    pub(crate) fn get<T: serde::de::DeserializeOwned>(
        self,
        store: &Store,
        id: &[u8; 16],
    ) -> Result<Option<T>, Error> {
        load(store, &(self.key)(id))
    }

    /// Whether a value is stored for `id` (it is not decoded).
    pub(crate) fn exists(self, store: &Store, id: &[u8; 16]) -> Result<bool, Error> {
        Ok(store.get(Column::Exchange, &(self.key)(id))?.is_some())
    }

    /// Every value that decodes, in id order.
    pub(crate) fn all<T: serde::de::DeserializeOwned>(
        self,
        store: &Store,
    ) -> Result<Vec<T>, Error> {
        load_all(store, self.prefix)
    }

    /// The ids stored, in order.
    pub(crate) fn ids(self, store: &Store) -> Result<Vec<[u8; 16]>, Error> {
        ids_under(store, self.prefix)
    }

    /// Stores `value` for `id`, as JSON, in `batch`.
    pub(crate) fn put(
        self,
        batch: &mut Batch,
        id: &[u8; 16],
        value: &impl serde::Serialize,
    ) -> Result<(), Error> {
        put_json(batch, (self.key)(id), value)
    }

    /// Deletes the value for `id`, in `batch`.
    pub(crate) fn delete(self, batch: &mut Batch, id: &[u8; 16]) {
        batch.delete(Column::Exchange, (self.key)(id));
    }
}
pub(crate) use retention::{delete_marks, purge_reports};

/// Reads one JSON value; a damaged one is the store's corruption.
fn load<T: serde::de::DeserializeOwned>(store: &Store, key: &[u8]) -> Result<Option<T>, Error> {
    match store.get(Column::Exchange, key)? {
        None => Ok(None),
        Some(v) => serde_json::from_slice(&v)
            .map(Some)
            .map_err(|e| Column::Exchange.corrupt(format!("a request does not decode: {e}"))),
    }
}

/// Every JSON value under a prefix, in key order.
fn load_all<T: serde::de::DeserializeOwned>(store: &Store, prefix: &[u8]) -> Result<Vec<T>, Error> {
    store.json_values(Column::Exchange, prefix)
}

/// The ids under a one-byte prefix of the exchange column.
fn ids_under(store: &Store, prefix: &[u8]) -> Result<Vec<[u8; 16]>, Error> {
    let mut out = Vec::new();
    store.scan_prefix(Column::Exchange, prefix, |key, _| {
        if let Some(id) = k::id_of(key) {
            out.push(id);
        }
        true
    })?;
    Ok(out)
}

/// Puts the JSON `value` at `key` in `batch`.
fn put_json(batch: &mut Batch, key: Vec<u8>, value: &impl serde::Serialize) -> Result<(), Error> {
    batch.put_json(Column::Exchange, key, value)
}
