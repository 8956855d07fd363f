//! Keys of the `tags`, `matching` and `hits` columns.
//!
//! Written and scanned by matching (the `matching` module): the tags an owner
//! serves each peer, manifests, budgets, filters and deltas on both sides,
//! evidence of failed proofs; and the querier's hits, watchlist and
//! alerts, which `status`, `hits` and `watch` read back.

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

/// The sequence number of the last queue entry written (entries are
/// deleted once sent; this stays, so keys keep growing).
pub(crate) const NEW_LAST: &[u8] = b"N";

/// One entry of the new-selector queue.
pub(crate) fn new_selectors(seq: u64) -> Vec<u8> {
    tagged(b'n', &[&seq.to_be_bytes()])
}

/// The newest new-record queue key that a build of `peer`'s filter for
/// `epoch` had seen before reading the records (see
/// `store::matching::built_through`).
pub(crate) fn built_through(peer: &[u8; 32], epoch: u64) -> Vec<u8> {
    tagged(b'q', &[peer, &epoch.to_be_bytes()])
}

/// The sequence number of a [`new_selectors`] key.
pub(crate) fn new_selectors_seq(key: &[u8]) -> Option<u64> {
    let seq = key.strip_prefix(NEW)?;
    Some(u64::from_be_bytes(seq.try_into().ok()?))
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

/// `hits`: prefix of all watched tags' images.
pub(crate) const WATCHED: &[u8] = b"W";

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
