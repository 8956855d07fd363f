//! The owner's side of the follow-up, in the store: the requests peers
//! sent us (JSON values of [`crate::exchange`]'s filed request), the
//! entries naming each requested record (value: the requester's key),
//! the per-peer day counters, and the queue of changed records. (The
//! tags we served a peer, which resolve a request, are matching's:
//! `store::matching::served_tag`.)
//!
//! In: the owner's handlers and analysts' decisions in
//! [`crate::exchange`], writing into their batches; the changed-record
//! queue filled by the records layer on withdrawal, correction and
//! expiry. Out: the same values read
//! back for the owner's side and its scheduled work.

use super::k;
use crate::store::{Batch, Column, Error, Store};

/// Records, in `batch`, that request `request` from `peer` names `record`
/// (so the peer hears when the record changes).
pub(crate) fn put_naming(batch: &mut Batch, record: &str, request: &[u8; 16], peer: &[u8; 32]) {
    batch.put(Column::Exchange, k::naming(record, request), peer.to_vec());
}

/// Deletes, in `batch`, the entry saying request `request` names `record`.
pub(crate) fn delete_naming(batch: &mut Batch, record: &str, request: &[u8; 16]) {
    batch.delete(Column::Exchange, k::naming(record, request));
}

/// One entry naming a record: the request, and the peer that sent it.
#[derive(Debug)]
pub(crate) struct Naming {
    /// The entry's key, as scanned.
    key: Vec<u8>,
    /// The request that names the record.
    pub(crate) request: [u8; 16],
    /// The key of the peer that sent it.
    pub(crate) peer: [u8; 32],
}

impl Naming {
    /// Deletes this entry in `batch`.
    pub(crate) fn delete(self, batch: &mut Batch) {
        batch.delete(Column::Exchange, self.key);
    }
}

/// The entries naming `record`, in request order (a damaged one is
/// skipped).
pub(crate) fn naming(store: &Store, record: &str) -> Result<Vec<Naming>, Error> {
    let mut out = Vec::new();
    store.scan_prefix(Column::Exchange, &k::naming_prefix(record), |nk, v| {
        if let (Some(request), Ok(peer)) = (k::naming_request(nk), <[u8; 32]>::try_from(v)) {
            out.push(Naming {
                key: nk.to_vec(),
                request,
                peer,
            });
        }
        true
    })?;
    Ok(out)
}

/// A per-peer, per-UTC-day counter of requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Daily {
    /// Requests a peer sent.
    Requests,
    /// New case references a peer's requests opened.
    Cases,
}

impl Daily {
    /// The prefix of `peer`'s counters.
    fn prefix(self, peer: &[u8; 32]) -> Vec<u8> {
        match self {
            Daily::Requests => k::requests_prefix(peer),
            Daily::Cases => k::cases_prefix(peer),
        }
    }

    /// The key of `peer`'s counter for `day`.
    fn key(self, peer: &[u8; 32], day: u64) -> Vec<u8> {
        match self {
            Daily::Requests => k::requests(peer, day),
            Daily::Cases => k::cases(peer, day),
        }
    }
}

/// `peer`'s count of `counter` on `day` (0 if none), with the counters of
/// other days deleted in `batch`.
pub(crate) fn day_count(
    store: &Store,
    batch: &mut Batch,
    counter: Daily,
    peer: &[u8; 32],
    day: u64,
) -> Result<u64, Error> {
    let prefix = counter.prefix(peer);
    let mut today = 0;
    store.scan_prefix(Column::Exchange, &prefix, |key, v| {
        match key
            .get(prefix.len()..)
            .and_then(|d| d.try_into().ok())
            .map(u64::from_be_bytes)
        {
            Some(d) if d == day => {
                today = v.try_into().ok().map_or(0, u64::from_be_bytes);
            }
            _ => batch.delete(Column::Exchange, key.to_vec()),
        }
        true
    })?;
    Ok(today)
}

/// Sets `peer`'s count of `counter` on `day` to `n`, in `batch`.
pub(crate) fn put_day_count(batch: &mut Batch, counter: Daily, peer: &[u8; 32], day: u64, n: u64) {
    batch.put(
        Column::Exchange,
        counter.key(peer, day),
        n.to_be_bytes().to_vec(),
    );
}

/// One entry of the changed-record queue.
#[derive(Debug)]
pub(crate) struct Changed {
    /// The entry's key, as scanned.
    key: Vec<u8>,
    /// The record that changed.
    pub(crate) record: String,
    /// How: a [`liaison_protocol::exchange::Change`] as its byte.
    pub(crate) change: u8,
}

impl Changed {
    /// Deletes this entry in `batch`.
    pub(crate) fn delete(self, batch: &mut Batch) {
        batch.delete(Column::Exchange, self.key);
    }
}

/// The first changed records in the queue, oldest first, up to `max`
/// (a damaged entry is skipped).
pub(crate) fn changed(store: &Store, max: usize) -> Result<Vec<Changed>, Error> {
    let mut out = Vec::new();
    store.scan_prefix(Column::Exchange, k::CHANGED, |key, v| {
        if let (Some(record), Some(&change)) = (k::changed_record(key), v.first()) {
            out.push(Changed {
                key: key.to_vec(),
                record: record.to_owned(),
                change,
            });
        }
        out.len() < max
    })?;
    Ok(out)
}
