//! Keys of the `audit` column.
//!
//! Written and read by the audit log (`store::audit`): entries, the
//! tree's nodes and size, our checkpoints, what we witnessed of peers'
//! logs, fork evidence, and case salts.

pub(crate) const ENTRY: u8 = b'e';
pub(crate) const CHECKPOINT: u8 = b'c';
pub(crate) const WITNESSED: u8 = b'w';
pub(crate) const FORK: u8 = b'f';
pub(crate) const CASE: u8 = b'k';
pub(crate) const SIZE: &[u8] = b"s";

use super::tagged;

pub(crate) fn entry(index: u64) -> Vec<u8> {
    tagged(ENTRY, &[&index.to_be_bytes()])
}

pub(crate) fn index_of(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.get(1..9)?.try_into().ok()?))
}

pub(crate) fn node(level: u8, index: u64) -> Vec<u8> {
    tagged(b'n', &[&[level], &index.to_be_bytes()])
}

pub(crate) fn checkpoint(size: u64) -> Vec<u8> {
    tagged(CHECKPOINT, &[&size.to_be_bytes()])
}

pub(crate) fn witnessed(peer: &[u8; 32]) -> Vec<u8> {
    tagged(WITNESSED, &[peer])
}

pub(crate) fn witness_size(peer: &[u8; 32]) -> Vec<u8> {
    tagged(b'h', &[peer])
}

/// When `peer` first sent us something (not witnessing) since the
/// last checkpoint of its log we verified grew.
pub(crate) fn unwitnessed(peer: &[u8; 32]) -> Vec<u8> {
    tagged(b'u', &[peer])
}

/// Our outbox sequence number of the last checkpoint push to `peer`.
pub(crate) fn push_seq(peer: &[u8; 32]) -> Vec<u8> {
    tagged(b'p', &[peer])
}

pub(crate) fn fork(peer: &[u8; 32], time_ms: u64) -> Vec<u8> {
    tagged(FORK, &[peer, &time_ms.to_be_bytes()])
}

/// Prefix of every (reference, basis) pair under `reference`.
pub(crate) fn case_prefix(reference: &str) -> Vec<u8> {
    let len = (reference.len().min(u16::MAX as usize) as u16).to_be_bytes();
    tagged(CASE, &[&len, reference.as_bytes()])
}

pub(crate) fn case(reference: &str, basis: &str) -> Vec<u8> {
    let mut k = case_prefix(reference);
    k.extend_from_slice(basis.as_bytes());
    k
}
