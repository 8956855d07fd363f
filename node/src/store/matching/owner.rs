//! The owner's side of matching's columns: our signed manifests, the tags
//! we serve each peer (in `tags`), the delta numbers and images sent, and
//! the peers' evaluation budgets.
//!
//! In: matching's owner role (`matching::owner`) writes a peer's
//! tags and manifest when it builds its filter, tags and delta counts when
//! it sends a delta, and `matching::budget` charges evaluations,
//! each in the caller's batch. Out: the same, read back to decide what a
//! delta holds, whether a request names our manifest, and whether a batch
//! fits in its peer's budget; `liaison status` reads the epochs served.

use liaison_protocol::matching::SignedManifest;
use liaison_protocol::{Selector, SelectorKind};

use crate::store::keys::{self, matching as k};
use crate::store::{Batch, Column, Error, Store};

/// Our signed manifest for `peer` in `epoch`, if built; one that no
/// longer decodes is the store's corruption.
pub fn manifest(
    store: &Store,
    peer: &[u8; 32],
    epoch: u64,
) -> Result<Option<SignedManifest>, Error> {
    store
        .get(Column::Matching, &k::manifest(peer, epoch))?
        .map(|bytes| {
            SignedManifest::decode(&bytes)
                .map_err(|e| Column::Matching.corrupt(format!("our manifest: {e}")))
        })
        .transpose()
}

/// Records, in `batch`, our signed manifest for `peer` in `epoch`.
pub fn put_manifest(batch: &mut Batch, peer: &[u8; 32], epoch: u64, bytes: Vec<u8>) {
    batch.put(Column::Matching, k::manifest(peer, epoch), bytes);
}

/// The epochs we hold a manifest for `peer` of, oldest first.
pub fn manifest_epochs(store: &Store, peer: &[u8; 32]) -> Result<Vec<u64>, Error> {
    super::epochs_under(store, &k::manifests(peer))
}

/// Deletes, in `batch`, our manifest for `peer` in `epoch`, the count
/// of deltas sent for it and its build's queue mark.
pub fn delete_manifest(batch: &mut Batch, peer: &[u8; 32], epoch: u64) {
    batch.delete(Column::Matching, k::manifest(peer, epoch));
    batch.delete(Column::Matching, k::delta_seq(peer, epoch));
    batch.delete(Column::Matching, k::built_through(peer, epoch));
}

/// Records, in `batch` (the manifest's), the newest queue key the build
/// of `peer`'s filter for `epoch` had seen ([`super::queue::newest`]).
pub fn put_built_through(batch: &mut Batch, peer: &[u8; 32], epoch: u64, queue_key: &[u8]) {
    batch.put(
        Column::Matching,
        k::built_through(peer, epoch),
        queue_key.to_vec(),
    );
}

/// The queue key up to which the records are in `peer`'s filter for
/// `epoch` already: the deltas skip those entries (recomputing their
/// tags would cost as much as the build).
pub fn built_through(store: &Store, peer: &[u8; 32], epoch: u64) -> Result<Option<Vec<u8>>, Error> {
    store.get(Column::Matching, &k::built_through(peer, epoch))
}

/// Records, in `batch`, that `tag` is served to `peer` in `epoch`, for
/// `selector` (and, for `person_fuzzy`, its `records`).
pub fn put_tag(
    batch: &mut Batch,
    peer: &[u8; 32],
    epoch: u64,
    tag: &[u8; 32],
    selector: &Selector,
    records: &[String],
) {
    batch.put(
        Column::Tags,
        k::tag(peer, epoch, tag),
        keys::tag_value(selector, records),
    );
}

/// For each of `tags`, its stored value if it is served to `peer` in
/// `epoch` already (see [`tag_records`]).
pub fn served_tags(
    store: &Store,
    peer: &[u8; 32],
    epoch: u64,
    tags: &[[u8; 32]],
) -> Result<Vec<Option<Vec<u8>>>, Error> {
    let keys: Vec<Vec<u8>> = tags.iter().map(|t| k::tag(peer, epoch, t)).collect();
    store.multi_get(Column::Tags, keys.iter().map(Vec::as_slice))
}

/// The tag `tag` of `epoch` as we served it to `peer`: its selector and
/// the records it carries, or `None` if we never served it (or its entry
/// does not decode). Read by the follow-up to resolve a request.
pub fn served_tag(
    store: &Store,
    peer: &[u8; 32],
    epoch: u64,
    tag: &[u8; 32],
) -> Result<Option<(Selector, Vec<String>)>, Error> {
    Ok(store
        .get(Column::Tags, &k::tag(peer, epoch, tag))?
        .and_then(|v| keys::decode_tag_value(&v)))
}

/// The records a served tag's value names (`person_fuzzy` only); `None`
/// if it does not decode.
pub fn tag_records(value: &[u8]) -> Option<Vec<String>> {
    keys::decode_tag_value(value).map(|(_, ids)| ids)
}

/// Deletes, in `batch`, up to `limit` of the tags served to `peer` in
/// `epoch`; returns how many.
pub fn delete_tags(
    store: &Store,
    batch: &mut Batch,
    peer: &[u8; 32],
    epoch: u64,
    limit: usize,
) -> Result<usize, Error> {
    let mut n = 0;
    store.scan_prefix(Column::Tags, &k::tags_prefix(peer, epoch), |key, _| {
        batch.delete(Column::Tags, key.to_vec());
        n += 1;
        n < limit
    })?;
    Ok(n)
}

/// The last delta number sent to `peer` for `epoch` and the images sent
/// so far (padding included); `(0, 0)` before the first.
pub fn deltas_sent(store: &Store, peer: &[u8; 32], epoch: u64) -> Result<(u64, u64), Error> {
    Ok(store
        .get(Column::Matching, &k::delta_seq(peer, epoch))?
        .map_or((0, 0), |v| decode_delta_seq(&v)))
}

/// Records, in `batch`, the last delta number sent to `peer` for `epoch`
/// and the images sent so far.
pub fn put_deltas_sent(batch: &mut Batch, peer: &[u8; 32], epoch: u64, seq: u64, sent: u64) {
    batch.put(
        Column::Matching,
        k::delta_seq(peer, epoch),
        encode_delta_seq(seq, sent),
    );
}

/// The `d` value: the last delta number sent and the images sent so far
/// (padding included). A value of 8 bytes (before the count) counts 0.
fn decode_delta_seq(v: &[u8]) -> (u64, u64) {
    let word = |i: usize| {
        v.get(i..i + 8)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u64::from_be_bytes)
    };
    (word(0), word(8))
}

fn encode_delta_seq(seq: u64, sent: u64) -> Vec<u8> {
    let mut v = seq.to_be_bytes().to_vec();
    v.extend_from_slice(&sent.to_be_bytes());
    v
}

/// Evaluations charged to `peer` for `kind` under `purpose` in each of
/// `buckets`, in order (0 where none).
pub fn budget_counts(
    store: &Store,
    peer: &[u8; 32],
    purpose: u8,
    kind: SelectorKind,
    buckets: std::ops::RangeInclusive<u64>,
) -> Result<Vec<u64>, Error> {
    let keys: Vec<Vec<u8>> = buckets
        .map(|i| k::budget(peer, purpose, kind.code(), i))
        .collect();
    let values = store.multi_get(Column::Matching, keys.iter().map(Vec::as_slice))?;
    Ok(values.into_iter().map(count).collect())
}

/// Evaluations charged to `peer` for `kind` under `purpose` in `bucket`.
pub fn budget_count(
    store: &Store,
    peer: &[u8; 32],
    purpose: u8,
    kind: SelectorKind,
    bucket: u64,
) -> Result<u64, Error> {
    Ok(count(store.get(
        Column::Matching,
        &k::budget(peer, purpose, kind.code(), bucket),
    )?))
}

/// Sets, in `batch`, the evaluations charged to `peer` for `kind` under
/// `purpose` in `bucket`.
pub fn put_budget_count(
    batch: &mut Batch,
    peer: &[u8; 32],
    purpose: u8,
    kind: SelectorKind,
    bucket: u64,
    n: u64,
) {
    batch.put(
        Column::Matching,
        k::budget(peer, purpose, kind.code(), bucket),
        n.to_be_bytes().to_vec(),
    );
}

/// Deletes, in `batch`, `peer`'s buckets for `kind` under `purpose`
/// before bucket `first` (the oldest first, up to the first that counts).
pub fn delete_budget_before(
    store: &Store,
    batch: &mut Batch,
    peer: &[u8; 32],
    purpose: u8,
    kind: SelectorKind,
    first: u64,
) -> Result<(), Error> {
    let prefix = k::budget_prefix(peer, purpose, kind.code());
    store.scan_prefix(Column::Matching, &prefix, |key, _| {
        match k::budget_bucket(key) {
            Some(i) if i < first => {
                batch.delete(Column::Matching, key.to_vec());
                true
            }
            _ => false,
        }
    })
}

/// A stored u64 count; 0 if missing or not 8 bytes.
fn count(v: Option<Vec<u8>>) -> u64 {
    v.and_then(|v| v.try_into().ok().map(u64::from_be_bytes))
        .unwrap_or(0)
}
