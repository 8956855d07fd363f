//! Keys of the `exchange` column.
//!
//! Written and scanned by follow-up exchange (`crate::exchange`): requests
//! sent and received, the daily limits on them, reports and tombstones,
//! and the changed-record queue that the records layer fills on
//! withdrawal, correction and expiry.

use super::tagged;

/// Prefix of the requests peers sent us.
pub(crate) const INCOMING: &[u8] = b"i";
/// Prefix of the requests we sent.
pub(crate) const OUTGOING: &[u8] = b"o";
/// Prefix of the received reports.
pub(crate) const REPORTS: &[u8] = b"r";
/// Prefix of the tombstones.
pub(crate) const TOMBSTONES: &[u8] = b"t";
/// Prefix of the changed-record queue.
pub(crate) const CHANGED: &[u8] = b"N";

/// Follow-up requests from `peer` on `day` (u64 count).
pub(crate) fn requests(peer: &[u8; 32], day: u64) -> Vec<u8> {
    tagged(b'q', &[peer, &day.to_be_bytes()])
}

/// Prefix of [`requests`] for `peer`.
pub(crate) fn requests_prefix(peer: &[u8; 32]) -> Vec<u8> {
    tagged(b'q', &[peer])
}

/// New case references opened by `peer`'s requests on `day` (u64).
pub(crate) fn cases(peer: &[u8; 32], day: u64) -> Vec<u8> {
    tagged(b'c', &[peer, &day.to_be_bytes()])
}

/// Prefix of [`cases`] for `peer`.
pub(crate) fn cases_prefix(peer: &[u8; 32]) -> Vec<u8> {
    tagged(b'c', &[peer])
}

pub(crate) fn incoming(id: &[u8; 16]) -> Vec<u8> {
    tagged(b'i', &[id])
}

pub(crate) fn outgoing(id: &[u8; 16]) -> Vec<u8> {
    tagged(b'o', &[id])
}

pub(crate) fn hit(hit: u64) -> Vec<u8> {
    tagged(b'H', &[&hit.to_be_bytes()])
}

/// Prefix of the requests naming `record`.
pub(crate) fn naming_prefix(record: &str) -> Vec<u8> {
    let len = (record.len().min(u16::MAX as usize) as u16).to_be_bytes();
    tagged(b'x', &[&len, record.as_bytes()])
}

pub(crate) fn naming(record: &str, request: &[u8; 16]) -> Vec<u8> {
    let mut k = naming_prefix(record);
    k.extend_from_slice(request);
    k
}

/// The request id at the end of a `naming` key.
pub(crate) fn naming_request(key: &[u8]) -> Option<[u8; 16]> {
    key.len()
        .checked_sub(16)
        .and_then(|at| key[at..].try_into().ok())
}

pub(crate) fn changed(time_ms: u64, record: &str) -> Vec<u8> {
    tagged(b'N', &[&time_ms.to_be_bytes(), record.as_bytes()])
}

/// The record id of a `changed` key.
pub(crate) fn changed_record(key: &[u8]) -> Option<&str> {
    std::str::from_utf8(key.get(9..)?).ok()
}

pub(crate) fn report(id: &[u8; 16]) -> Vec<u8> {
    tagged(b'r', &[id])
}

/// Prefix of the notices about one report's records.
pub(crate) fn marks(id: &[u8; 16]) -> Vec<u8> {
    tagged(b'm', &[id])
}

pub(crate) fn mark(id: &[u8; 16], record: &str) -> Vec<u8> {
    tagged(b'm', &[id, record.as_bytes()])
}

pub(crate) fn tombstone(id: &[u8; 16]) -> Vec<u8> {
    tagged(b't', &[id])
}

/// The request id after a one-byte tag.
pub(crate) fn id_of(key: &[u8]) -> Option<[u8; 16]> {
    key.get(1..17)?.try_into().ok()
}
