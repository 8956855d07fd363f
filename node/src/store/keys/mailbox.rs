//! Keys of the `outbox` and `inbox` columns, and the per-peer counters
//! the mailbox keeps in `meta`.
//!
//! Written and scanned by the mailbox (`store::mailbox`): envelopes queued
//! for a peer until it receipts them, envelopes received (for duplicate
//! detection), and the counts `status` shows per peer.

use ed25519_dalek::VerifyingKey;
use liaison_protocol::envelope::MessageId;

/// Key of an outbox entry.
pub(crate) fn outbox(peer: &VerifyingKey, seq: u64) -> Vec<u8> {
    let mut k = outbox_prefix(peer);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// Prefix of one peer's outbox.
pub(crate) fn outbox_prefix(peer: &VerifyingKey) -> Vec<u8> {
    peer.as_bytes().to_vec()
}

/// The sequence number of an outbox key.
pub(crate) fn outbox_seq(key: &[u8]) -> Option<u64> {
    let seq: [u8; 8] = key.get(32..)?.try_into().ok()?;
    Some(u64::from_be_bytes(seq))
}

/// Key of an inbox entry.
pub(crate) fn inbox(sender: &VerifyingKey, id: &MessageId) -> Vec<u8> {
    [sender.as_bytes().as_slice(), &id.0].concat()
}

/// A per-peer counter in `meta`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PeerCounter {
    Queued = 1,
    Delivered = 2,
    RefusedByPeer = 3,
    Received = 4,
    Duplicates = 5,
    Refused = 6,
    Outbox = 7,
    /// The next outbox sequence number.
    NextSeq = 8,
}

impl PeerCounter {
    const ALL: [PeerCounter; 8] = [
        PeerCounter::Queued,
        PeerCounter::Delivered,
        PeerCounter::RefusedByPeer,
        PeerCounter::Received,
        PeerCounter::Duplicates,
        PeerCounter::Refused,
        PeerCounter::Outbox,
        PeerCounter::NextSeq,
    ];
}

pub(crate) const PEER_COUNTER_PREFIX: &[u8] = b"peer/";

pub(crate) fn peer_counter(peer: &VerifyingKey, counter: PeerCounter) -> Vec<u8> {
    let mut k = PEER_COUNTER_PREFIX.to_vec();
    k.extend_from_slice(peer.as_bytes());
    k.push(counter as u8);
    k
}

pub(crate) fn decode_peer_counter(key: &[u8]) -> Option<([u8; 32], PeerCounter)> {
    let rest = key.strip_prefix(PEER_COUNTER_PREFIX)?;
    if rest.len() != 33 {
        return None;
    }
    let peer: [u8; 32] = rest[..32].try_into().ok()?;
    let counter = PeerCounter::ALL
        .into_iter()
        .find(|c| *c as u8 == rest[32])?;
    Some((peer, counter))
}
