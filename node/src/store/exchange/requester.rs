//! The requester's side of the follow-up, in the store: the requests we
//! sent (JSON values of [`crate::exchange`]'s outgoing request) and the
//! hit each answers, the reports as they arrived (arrival time, then the
//! envelope), the owner's marks on their records, and the tombstones of
//! reports deleted on withdrawal.
//!
//! In: the requester's ask and its handlers for the owner's replies,
//! reports and notices in [`crate::exchange`], writing into their
//! batches. Out: the same values read back for an analyst, for the
//! handlers' checks, and for retention.

use liaison_protocol::exchange::Change;

use super::{ids_under, k};
use crate::store::{Batch, Column, Error, Store};

/// The id of the request we sent for hit `hit`, as stored, if any.
pub(crate) fn request_for_hit(store: &Store, hit: u64) -> Result<Option<Vec<u8>>, Error> {
    store.get(Column::Exchange, &k::hit(hit))
}

/// Records, in `batch`, that request `request` was sent for hit `hit`.
pub(crate) fn put_hit_request(batch: &mut Batch, hit: u64, request: &[u8; 16]) {
    batch.put(Column::Exchange, k::hit(hit), request.to_vec());
}

/// Deletes, in `batch`, which request was sent for hit `hit`.
pub(crate) fn delete_hit_request(batch: &mut Batch, hit: u64) {
    batch.delete(Column::Exchange, k::hit(hit));
}

/// A stored report's value: when it arrived, and the envelope as it came
/// (a value too short for the time reads as time 0 and no envelope).
pub(super) fn split_report(value: &[u8]) -> (u64, &[u8]) {
    match value.split_at_checked(8) {
        Some((t, b)) => (u64::from_be_bytes(t.try_into().unwrap_or_default()), b),
        None => (0, &[][..]),
    }
}

/// The report answering our request `request`: when it arrived (ms) and
/// the envelope as it came, if we hold it.
pub(crate) fn report(store: &Store, request: &[u8; 16]) -> Result<Option<(u64, Vec<u8>)>, Error> {
    Ok(store.get(Column::Exchange, &k::report(request))?.map(|v| {
        let (received_ms, envelope) = split_report(&v);
        (received_ms, envelope.to_vec())
    }))
}

/// Whether we hold the report answering our request `request`.
pub(crate) fn has_report(store: &Store, request: &[u8; 16]) -> Result<bool, Error> {
    Ok(store.get(Column::Exchange, &k::report(request))?.is_some())
}

/// Stores, in `batch`, the report answering `request`: the `envelope` as
/// it came, arrived at `received_ms`.
pub(crate) fn put_report(batch: &mut Batch, request: &[u8; 16], received_ms: u64, envelope: &[u8]) {
    let mut value = received_ms.to_be_bytes().to_vec();
    value.extend_from_slice(envelope);
    batch.put(Column::Exchange, k::report(request), value);
}

/// Deletes, in `batch`, the report answering `request`.
pub(crate) fn delete_report(batch: &mut Batch, request: &[u8; 16]) {
    batch.delete(Column::Exchange, k::report(request));
}

/// The requests whose reports we hold, in order.
pub(crate) fn report_ids(store: &Store) -> Result<Vec<[u8; 16]>, Error> {
    ids_under(store, k::REPORTS)
}

/// The owner's notice on one record of a report: how it changed, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mark {
    /// A [`Change`] as its byte.
    pub(crate) change: u8,
    /// When, if the mark holds a time (a damaged one does not).
    pub(crate) time_ms: Option<u64>,
}

/// The owner's mark on `record` in the report answering `request`, if any
/// (an empty value reads as none).
pub(crate) fn mark(store: &Store, request: &[u8; 16], record: &str) -> Result<Option<Mark>, Error> {
    Ok(store
        .get(Column::Exchange, &k::mark(request, record))?
        .and_then(|v| match v.as_slice() {
            [c, t @ ..] => Some(Mark {
                change: *c,
                time_ms: <[u8; 8]>::try_from(t).ok().map(u64::from_be_bytes),
            }),
            [] => None,
        }))
}

/// Marks, in `batch`, `record` in the report answering `request` as
/// changed by `change` at `time_ms`.
pub(crate) fn put_mark(
    batch: &mut Batch,
    request: &[u8; 16],
    record: &str,
    change: Change,
    time_ms: u64,
) {
    let mut value = vec![change as u8];
    value.extend_from_slice(&time_ms.to_be_bytes());
    batch.put(Column::Exchange, k::mark(request, record), value);
}
