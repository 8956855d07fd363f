//! Keys of the `expiry` column.
//!
//! Written by the records layer when a record with an `expires` is stored
//! (and once for stores made before the column existed), read back by
//! time by the purge of expired records.

use super::tagged;

/// Prefix of the by-time entries.
pub(crate) const BY_TIME: &[u8] = b"t";

pub(crate) fn of(record: &str) -> Vec<u8> {
    tagged(b'i', &[record.as_bytes()])
}

pub(crate) fn at(time_s: u64, record: &str) -> Vec<u8> {
    tagged(b't', &[&time_s.to_be_bytes(), record.as_bytes()])
}

/// The time and record id of a by-time key.
pub(crate) fn decode_at(key: &[u8]) -> Option<(u64, &str)> {
    let time = u64::from_be_bytes(key.get(1..9)?.try_into().ok()?);
    Some((time, std::str::from_utf8(key.get(9..)?).ok()?))
}
