//! Every storage key encoding, in one place (tikv `components/keys` style).
//!
//! Integers are big-endian so byte order is numeric order. Variable-length
//! parts are length-prefixed (u16) where something follows them, so one
//! key can never be a prefix of an unrelated one.
//!
//! | column      | key                                              | value |
//! |-------------|--------------------------------------------------|-------|
//! | `records`   | record id (UTF-8)                                | [`super::records`] encoding |
//! | `selectors` | kind u8, version u8, len u16, value, record id   | empty |
//! | `meta`      | a [`Meta`] name, or `peer/` ‖ peer key (32) ‖ [`PeerCounter`] u8 | u64 |
//! | `outbox`    | peer key (32), sequence u64                      | envelope |
//! | `inbox`     | sender key (32), message id (16)                 | hash, time, receipt |
//! | `audit`     | `e` ‖ index u64                                  | entry bytes |
//! | `audit`     | `n` ‖ level u8 ‖ index u64                       | perfect subtree hash (32) |
//! | `audit`     | `s`                                              | tree size u64 |
//! | `audit`     | `c` ‖ size u64                                   | our signed checkpoint (note text) |
//! | `audit`     | `w` ‖ peer key (32)                              | the peer's newest checkpoint we verified |
//! | `audit`     | `h` ‖ peer key (32)                              | the size of our log that peer last verified (u64) |
//! | `audit`     | `f` ‖ peer key (32) ‖ time u64                   | fork evidence |
//! | `audit`     | `u` ‖ peer key (32)                              | time u64 the peer first sent us an envelope after its last verified checkpoint |
//! | `audit`     | `p` ‖ peer key (32)                              | outbox sequence u64 of our last checkpoint push to the peer |
//! | `audit`     | `k` ‖ len u16 ‖ case reference ‖ legal basis     | salt (32) |
//! | `tags`      | peer (32) ‖ epoch u64 ‖ tag (32)                 | selector (kind, version, len u16, value) ‖ for `person_fuzzy`, its records (len u16 ‖ id)* |
//! | `matching`  | `m` ‖ peer (32) ‖ epoch u64                      | our signed manifest for that peer |
//! | `matching`  | `b` ‖ peer (32) ‖ purpose u8 ‖ kind u8 ‖ bucket u64 | selectors evaluated in that bucket of the sliding window (u64); purpose 0 all, 1 renewals |
//! | `matching`  | `n` ‖ seq u64                                    | selectors of newly stored records, awaiting their delta |
//! | `matching`  | `d` ‖ peer (32) ‖ epoch u64                      | the last delta number sent (u64) ‖ images sent (u64) |
//! | `matching`  | `M` ‖ owner (32) ‖ epoch u64                     | the owner's manifest for us |
//! | `matching`  | `C` ‖ owner (32) ‖ epoch u64 ‖ index u32         | a filter chunk, until the filter is whole |
//! | `matching`  | `S` ‖ owner (32) ‖ epoch u64                     | chunks held of the filter being received: its manifest's hash (32) ‖ a bit per index (16) |
//! | `matching`  | `F` ‖ owner (32) ‖ epoch u64                     | the owner's filter for us: its manifest's hash (32) ‖ filter |
//! | `matching`  | `D` ‖ owner (32) ‖ epoch u64 ‖ image (32)        | a tag's image from the owner's deltas (empty) |
//! | `matching`  | `K` ‖ owner (32) ‖ epoch u64                     | delta images held for that owner and epoch (u64) |
//! | `matching`  | `E` ‖ owner (32) ‖ time u64 ‖ message id (16)    | evidence: an answer whose proof failed |
//! | `hits`      | `h` ‖ time u64 ‖ id u64                          | a hit (JSON) |
//! | `hits`      | `w` ‖ id u64                                     | a watchlist entry (JSON) |
//! | `hits`      | `W` ‖ owner (32) ‖ epoch u64 ‖ image (32) ‖ id u64 | a watched selector's tag image at that owner: its kind (u8) |
//! | `hits`      | `a` ‖ time u64 ‖ id u64                          | an alert (JSON) |
//! | `hits`      | `R` ‖ owner (32) ‖ epoch u64                     | the watchlist was renewed there (empty) |
//! | `hits`      | `U` ‖ owner (32) ‖ epoch u64                     | its renewal there was declined, until one succeeds: the reason (UTF-8) |
//! | `hits`      | `x` ‖ owner (32) ‖ watch id u64                  | an alert was raised for it there (empty) |
//! | `exchange`  | `i` ‖ request id (16)                            | a request a peer sent us (JSON) |
//! | `exchange`  | `q` ‖ peer (32) ‖ day u64                        | follow-up requests from that peer that day (u64) |
//! | `exchange`  | `c` ‖ peer (32) ‖ day u64                        | new case references its requests opened that day (u64) |
//! | `exchange`  | `o` ‖ request id (16)                            | a request we sent (JSON) |
//! | `exchange`  | `H` ‖ hit id u64                                 | the request sent for that hit (16) |
//! | `exchange`  | `x` ‖ len u16 ‖ record id ‖ request id (16)       | a peer's request names this record: the peer's key (32) |
//! | `exchange`  | `N` ‖ time u64 ‖ record id                       | a requested record changed: the change (u8), awaiting its notices |
//! | `exchange`  | `r` ‖ request id (16)                            | a received report: time u64 ‖ the envelope as it arrived |
//! | `exchange`  | `m` ‖ request id (16) ‖ record id                | the owner's notice about one record of it: change u8 ‖ time u64 |
//! | `exchange`  | `t` ‖ request id (16)                            | a report deleted on withdrawal: its tombstone (JSON) |
//! | `expiry`    | `i` ‖ record id                                  | when the record expires, Unix s (u64) |
//! | `expiry`    | `t` ‖ time u64 ‖ record id                       | empty: records by expiry |

use ed25519_dalek::VerifyingKey;
use liaison_protocol::envelope::MessageId;
use liaison_protocol::{Selector, SelectorKind};

/// Key of a record.
pub(crate) fn record(id: &str) -> &[u8] {
    id.as_bytes()
}

/// Key of a record, taking the id's bytes.
pub(crate) fn record_owned(id: String) -> Vec<u8> {
    id.into_bytes()
}

/// The prefix shared by every index entry of `selector`.
pub(crate) fn selector_prefix(selector: &Selector) -> Vec<u8> {
    let value = selector.value.as_bytes();
    let mut key = Vec::with_capacity(4 + value.len());
    key.push(selector.kind.code());
    key.push(selector.version);
    key.extend_from_slice(&(value.len() as u16).to_be_bytes());
    key.extend_from_slice(value);
    key
}

/// Key of the index entry "`selector` occurs in record `id`".
pub(crate) fn selector_entry(selector: &Selector, id: &str) -> Vec<u8> {
    let mut key = selector_prefix(selector);
    key.extend_from_slice(id.as_bytes());
    key
}

/// The record id at the end of an index entry whose prefix is `prefix_len` long.
pub(crate) fn selector_entry_record(key: &[u8], prefix_len: usize) -> Option<&str> {
    key.get(prefix_len..)
        .and_then(|id| std::str::from_utf8(id).ok())
}

/// The selector an index entry key starts with, and the record id after it.
pub(crate) fn decode_selector_entry(key: &[u8]) -> Option<(Selector, &str)> {
    let (&kind, rest) = key.split_first()?;
    let (&version, rest) = rest.split_first()?;
    let len = u16::from_be_bytes([*rest.first()?, *rest.get(1)?]) as usize;
    let value = std::str::from_utf8(rest.get(2..2 + len)?).ok()?;
    let id = std::str::from_utf8(rest.get(2 + len..)?).ok()?;
    Some((
        Selector {
            kind: SelectorKind::from_code(kind)?,
            version,
            value: value.to_owned(),
        },
        id,
    ))
}

/// The `tags` column's value for a served tag: its selector, and for a
/// `person_fuzzy` selector (which the local index leaves out) the records
/// holding it, each `len u16 ‖ id`, so a follow-up resolves it without a
/// scan.
pub(crate) fn tag_value(selector: &Selector, records: &[String]) -> Vec<u8> {
    let mut v = selector_prefix(selector);
    for id in records {
        let id = &id.as_bytes()[..id.len().min(u16::MAX as usize)];
        v.extend_from_slice(&(id.len() as u16).to_be_bytes());
        v.extend_from_slice(id);
    }
    v
}

/// Decodes [`tag_value`].
pub(crate) fn decode_tag_value(v: &[u8]) -> Option<(Selector, Vec<String>)> {
    let (&kind, rest) = v.split_first()?;
    let (&version, rest) = rest.split_first()?;
    let len = u16::from_be_bytes([*rest.first()?, *rest.get(1)?]) as usize;
    let value = std::str::from_utf8(rest.get(2..2 + len)?).ok()?;
    let mut rest = rest.get(2 + len..)?;
    let mut records = Vec::new();
    while !rest.is_empty() {
        let n = u16::from_be_bytes([*rest.first()?, *rest.get(1)?]) as usize;
        records.push(std::str::from_utf8(rest.get(2..2 + n)?).ok()?.to_owned());
        rest = rest.get(2 + n..)?;
    }
    Some((
        Selector {
            kind: SelectorKind::from_code(kind)?,
            version,
            value: value.to_owned(),
        },
        records,
    ))
}

/// Names of the `meta` column's entries.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Meta {
    /// The store layout version (u32).
    Layout,
    /// Number of records held (u64).
    RecordCount,
    /// Number of index entries of one selector kind (u64).
    SelectorCount(SelectorKind),
    /// Present once every record's `expires` is in the `expiry` column
    /// (stores made before it existed are indexed once, at open).
    ExpiryIndexed,
}

impl Meta {
    pub(crate) fn key(self) -> Vec<u8> {
        match self {
            Meta::Layout => b"layout".to_vec(),
            Meta::RecordCount => b"count/records".to_vec(),
            Meta::ExpiryIndexed => b"expiry-indexed".to_vec(),
            Meta::SelectorCount(kind) => {
                let mut k = b"count/selectors/".to_vec();
                k.push(kind.code());
                k
            }
        }
    }
}

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

/// Keys of the `audit` column.
pub(crate) mod audit {
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
}

/// Keys of the `tags`, `matching` and `hits` columns.
pub(crate) mod matching {
    use super::tagged;

    /// `tags`: every tag served to `peer` in `epoch`.
    pub(crate) fn tags_prefix(peer: &[u8; 32], epoch: u64) -> Vec<u8> {
        let mut k = peer.to_vec();
        k.extend_from_slice(&epoch.to_be_bytes());
        k
    }

    /// `tags`: one tag.
    pub(crate) fn tag(peer: &[u8; 32], epoch: u64, tag: &[u8; 32]) -> Vec<u8> {
        let mut k = tags_prefix(peer, epoch);
        k.extend_from_slice(tag);
        k
    }

    /// Our manifest for `peer` in `epoch`.
    pub(crate) fn manifest(peer: &[u8; 32], epoch: u64) -> Vec<u8> {
        tagged(b'm', &[peer, &epoch.to_be_bytes()])
    }

    /// Prefix of our manifests for `peer`.
    pub(crate) fn manifests(peer: &[u8; 32]) -> Vec<u8> {
        tagged(b'm', &[peer])
    }

    /// A budget counter: evaluations charged in one bucket of the
    /// sliding window (`purpose` 0: all, 1: renewals).
    pub(crate) fn budget(peer: &[u8; 32], purpose: u8, kind: u8, bucket: u64) -> Vec<u8> {
        tagged(b'b', &[peer, &[purpose, kind], &bucket.to_be_bytes()])
    }

    /// Prefix of one peer's budget buckets for a purpose and kind.
    pub(crate) fn budget_prefix(peer: &[u8; 32], purpose: u8, kind: u8) -> Vec<u8> {
        tagged(b'b', &[peer, &[purpose, kind]])
    }

    /// The bucket number of a [`budget`] key.
    pub(crate) fn budget_bucket(key: &[u8]) -> Option<u64> {
        if key.len() != 43 {
            return None;
        }
        Some(u64::from_be_bytes(key.get(35..43)?.try_into().ok()?))
    }

    /// Prefix of the new-selector queue.
    pub(crate) const NEW: &[u8] = b"n";

    /// One entry of the new-selector queue.
    pub(crate) fn new_selectors(seq: u64) -> Vec<u8> {
        tagged(b'n', &[&seq.to_be_bytes()])
    }

    /// The last delta number sent to `peer` for `epoch`.
    pub(crate) fn delta_seq(peer: &[u8; 32], epoch: u64) -> Vec<u8> {
        tagged(b'd', &[peer, &epoch.to_be_bytes()])
    }

    /// The owner's manifest for us.
    pub(crate) fn peer_manifest(owner: &[u8; 32], epoch: u64) -> Vec<u8> {
        tagged(b'M', &[owner, &epoch.to_be_bytes()])
    }

    /// Prefix of an owner's manifests for us (or of all, with `&[]`).
    pub(crate) fn peer_manifests(owner: &[u8]) -> Vec<u8> {
        tagged(b'M', &[owner])
    }

    /// The epoch at the end of a `M`, `F` or `d` key.
    pub(crate) fn epoch_of(key: &[u8]) -> Option<u64> {
        Some(u64::from_be_bytes(key.get(33..41)?.try_into().ok()?))
    }

    /// A filter chunk.
    pub(crate) fn chunk(owner: &[u8; 32], epoch: u64, index: u32) -> Vec<u8> {
        tagged(b'C', &[owner, &epoch.to_be_bytes(), &index.to_be_bytes()])
    }

    /// Prefix of one filter's chunks.
    pub(crate) fn chunks(owner: &[u8; 32], epoch: u64) -> Vec<u8> {
        tagged(b'C', &[owner, &epoch.to_be_bytes()])
    }

    /// Which chunks of an owner's filter for an epoch are held: the
    /// manifest's hash (32) ‖ a bit per chunk index (16).
    pub(crate) fn chunk_set(owner: &[u8; 32], epoch: u64) -> Vec<u8> {
        tagged(b'S', &[owner, &epoch.to_be_bytes()])
    }

    /// The owner's filter for us.
    pub(crate) fn filter(owner: &[u8; 32], epoch: u64) -> Vec<u8> {
        tagged(b'F', &[owner, &epoch.to_be_bytes()])
    }

    /// Prefix of the delta images of an owner's epoch.
    pub(crate) fn delta_images(owner: &[u8; 32], epoch: u64) -> Vec<u8> {
        tagged(b'D', &[owner, &epoch.to_be_bytes()])
    }

    /// One delta image (a tag's one-way image).
    pub(crate) fn delta_image(owner: &[u8; 32], epoch: u64, image: &[u8; 32]) -> Vec<u8> {
        tagged(b'D', &[owner, &epoch.to_be_bytes(), image])
    }

    /// How many delta images of an owner's epoch we hold.
    pub(crate) fn delta_count(owner: &[u8; 32], epoch: u64) -> Vec<u8> {
        tagged(b'K', &[owner, &epoch.to_be_bytes()])
    }

    /// Evidence of a failed proof.
    pub(crate) fn evidence(owner: &[u8; 32], time_ms: u64, id: &[u8; 16]) -> Vec<u8> {
        tagged(b'E', &[owner, &time_ms.to_be_bytes(), id])
    }

    /// Prefix of all evidence.
    pub(crate) const EVIDENCE: &[u8] = b"E";

    /// `hits`: a hit.
    pub(crate) fn hit(time_ms: u64, id: u64) -> Vec<u8> {
        tagged(b'h', &[&time_ms.to_be_bytes(), &id.to_be_bytes()])
    }

    /// `hits`: prefix of hits.
    pub(crate) const HITS: &[u8] = b"h";

    /// `hits`: a watchlist entry.
    pub(crate) fn watch(id: u64) -> Vec<u8> {
        tagged(b'w', &[&id.to_be_bytes()])
    }

    /// `hits`: prefix of the watchlist.
    pub(crate) const WATCHES: &[u8] = b"w";

    /// `hits`: prefix of the watched tags' images at one owner and epoch.
    pub(crate) fn watched_prefix(owner: &[u8; 32], epoch: u64) -> Vec<u8> {
        tagged(b'W', &[owner, &epoch.to_be_bytes()])
    }

    /// `hits`: a watched tag, by its delta image (what deltas carry).
    pub(crate) fn watched(owner: &[u8; 32], epoch: u64, image: &[u8; 32], id: u64) -> Vec<u8> {
        tagged(
            b'W',
            &[owner, &epoch.to_be_bytes(), image, &id.to_be_bytes()],
        )
    }

    /// `hits`: the watchlist was renewed with `owner` for `epoch`.
    pub(crate) fn renewed(owner: &[u8; 32], epoch: u64) -> Vec<u8> {
        tagged(b'R', &[owner, &epoch.to_be_bytes()])
    }

    /// `hits`: the watchlist's renewal with `owner` for `epoch` was
    /// declined (a gap in watching), until a renewal succeeds.
    pub(crate) fn unwatched(owner: &[u8; 32], epoch: u64) -> Vec<u8> {
        tagged(b'U', &[owner, &epoch.to_be_bytes()])
    }

    /// `hits`: prefix of the gaps in watching at `owner`.
    pub(crate) fn unwatched_at(owner: &[u8; 32]) -> Vec<u8> {
        tagged(b'U', &[owner])
    }

    /// `hits`: `owner` was alerted on for watchlist entry `id`.
    pub(crate) fn alerted(owner: &[u8; 32], id: u64) -> Vec<u8> {
        tagged(b'x', &[owner, &id.to_be_bytes()])
    }

    /// `hits`: prefix of the alerted markers.
    pub(crate) const ALERTED: &[u8] = b"x";

    /// `hits`: an alert.
    pub(crate) fn alert(time_ms: u64, id: u64) -> Vec<u8> {
        tagged(b'a', &[&time_ms.to_be_bytes(), &id.to_be_bytes()])
    }

    /// `hits`: prefix of alerts.
    pub(crate) const ALERTS: &[u8] = b"a";
}

fn tagged(tag: u8, rest: &[&[u8]]) -> Vec<u8> {
    let mut k = vec![tag];
    rest.iter().for_each(|r| k.extend_from_slice(r));
    k
}

/// Keys of the `exchange` column.
pub(crate) mod exchange {
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
}

/// Keys of the `expiry` column.
pub(crate) mod expiry {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_entries_round_trip_and_do_not_collide() {
        let a = Selector::new(SelectorKind::Phone, "+996775987817");
        let key = selector_entry(&a, "KG-1");
        let (sel, id) = decode_selector_entry(&key).unwrap();
        assert_eq!((sel, id), (a.clone(), "KG-1"));
        // A value that extends another is not under its prefix, thanks to
        // the length prefix.
        let b = Selector::new(SelectorKind::Phone, "+99677598781");
        assert!(!key.starts_with(&selector_prefix(&b)));
        // Kinds separate equal values.
        let c = Selector::new(SelectorKind::Document, "+996775987817");
        assert!(!key.starts_with(&selector_prefix(&c)));
        assert_eq!(
            selector_entry_record(&key, selector_prefix(&a).len()),
            Some("KG-1")
        );
        assert!(decode_selector_entry(&[1, 1, 0]).is_none());
        assert!(decode_selector_entry(&[99, 1, 0, 0]).is_none());
    }
}
