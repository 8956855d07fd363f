//! The querier's side of the `matching` column: the peers' manifests for
//! us, filter chunks and the set of those held, whole filters, delta
//! images and their count, and evidence of failed proofs.
//!
//! In: peers' `chunk` and `delta` messages and evaluation answers, which
//! matching's querier role (`matching::querier`) checks and
//! writes here in the batch that commits with the message. Out: the
//! same, read back to test an answer's tags, to pick a usable manifest,
//! and for `liaison status`; the daemon's tick drops old epochs
//! ([`forget_peer_epoch`]).

use crate::store::keys::matching as k;
use crate::store::{Batch, Column, Error, Store};

/// The owner's manifest for us in `epoch` (its bytes), if held.
pub fn peer_manifest(
    store: &Store,
    owner: &[u8; 32],
    epoch: u64,
) -> Result<Option<Vec<u8>>, Error> {
    store.get(Column::Matching, &k::peer_manifest(owner, epoch))
}

/// Records, in `batch`, the owner's manifest for us in `epoch`.
pub fn put_peer_manifest(batch: &mut Batch, owner: &[u8; 32], epoch: u64, bytes: Vec<u8>) {
    batch.put(Column::Matching, k::peer_manifest(owner, epoch), bytes);
}

/// Hands `f` each of the owner's manifests for us (their bytes), oldest
/// epoch first, until it says stop.
pub fn scan_peer_manifests(
    store: &Store,
    owner: &[u8; 32],
    mut f: impl FnMut(&[u8]) -> bool,
) -> Result<(), Error> {
    store.scan_prefix(Column::Matching, &k::peer_manifests(owner), |_, v| f(v))
}

/// How many of the owner's manifests for us are held.
pub fn count_peer_manifests(store: &Store, owner: &[u8; 32]) -> Result<usize, Error> {
    let mut n = 0;
    store.scan_prefix(Column::Matching, &k::peer_manifests(owner), |_, _| {
        n += 1;
        true
    })?;
    Ok(n)
}

/// The epochs of the owner's manifests for us, oldest first.
pub fn peer_manifest_epochs(store: &Store, owner: &[u8; 32]) -> Result<Vec<u64>, Error> {
    super::epochs_under(store, &k::peer_manifests(owner))
}

/// Hands `f` every peer's manifest for us: its key (for
/// [`forget_peer_epoch`]) and its bytes, until it says stop.
pub fn scan_all_peer_manifests(
    store: &Store,
    f: impl FnMut(&[u8], &[u8]) -> bool,
) -> Result<(), Error> {
    store.scan_prefix(Column::Matching, &k::peer_manifests(&[]), f)
}

/// The owner's filter for us in `epoch`, if whole: its manifest's hash
/// (32) ‖ the filter.
pub fn filter(store: &Store, owner: &[u8; 32], epoch: u64) -> Result<Option<Vec<u8>>, Error> {
    store.get(Column::Matching, &k::filter(owner, epoch))
}

/// Records, in `batch`, the owner's whole filter for us in `epoch`, under
/// the hash of the manifest it belongs to.
pub fn put_filter(
    batch: &mut Batch,
    owner: &[u8; 32],
    epoch: u64,
    manifest_hash: &[u8; 32],
    filter: &[u8],
) {
    let mut value = manifest_hash.to_vec();
    value.extend_from_slice(filter);
    batch.put(Column::Matching, k::filter(owner, epoch), value);
}

/// Deletes, in `batch`, the owner's filter for us in `epoch`, the set of
/// its chunks held and the chunks (a rebuild replaces them).
pub fn delete_filter(
    store: &Store,
    batch: &mut Batch,
    owner: &[u8; 32],
    epoch: u64,
) -> Result<(), Error> {
    batch.delete(Column::Matching, k::filter(owner, epoch));
    batch.delete(Column::Matching, k::chunk_set(owner, epoch));
    store.scan_prefix(Column::Matching, &k::chunks(owner, epoch), |key, _| {
        batch.delete(Column::Matching, key.to_vec());
        true
    })
}

/// A bit per chunk index of the owner's filter for `epoch` held, if the
/// set held is that of the manifest with `manifest_hash` (else none).
pub fn chunks_held(
    store: &Store,
    owner: &[u8; 32],
    epoch: u64,
    manifest_hash: &[u8; 32],
) -> Result<[u8; 16], Error> {
    let mut have = [0u8; 16];
    if let Some(v) = store.get(Column::Matching, &k::chunk_set(owner, epoch))? {
        if v.get(..32) == Some(&manifest_hash[..]) {
            if let Some(bits) = v.get(32..48) {
                have.copy_from_slice(bits);
            }
        }
    }
    Ok(have)
}

/// Records, in `batch`, which chunks of the filter of the manifest with
/// `manifest_hash` are held.
pub fn put_chunks_held(
    batch: &mut Batch,
    owner: &[u8; 32],
    epoch: u64,
    manifest_hash: &[u8; 32],
    have: &[u8; 16],
) {
    let mut value = manifest_hash.to_vec();
    value.extend_from_slice(have);
    batch.put(Column::Matching, k::chunk_set(owner, epoch), value);
}

/// Deletes, in `batch`, the set of chunks held of the owner's filter for
/// `epoch`.
pub fn delete_chunks_held(batch: &mut Batch, owner: &[u8; 32], epoch: u64) {
    batch.delete(Column::Matching, k::chunk_set(owner, epoch));
}

/// Records, in `batch`, chunk `index` of the owner's filter for `epoch`.
pub fn put_chunk(batch: &mut Batch, owner: &[u8; 32], epoch: u64, index: u32, data: Vec<u8>) {
    batch.put(Column::Matching, k::chunk(owner, epoch, index), data);
}

/// Deletes, in `batch`, chunk `index` of the owner's filter for `epoch`.
pub fn delete_chunk(batch: &mut Batch, owner: &[u8; 32], epoch: u64, index: u32) {
    batch.delete(Column::Matching, k::chunk(owner, epoch, index));
}

/// Hands `f` each chunk held of the owner's filter for `epoch`: its index
/// and data, in index order.
pub fn scan_chunks(
    store: &Store,
    owner: &[u8; 32],
    epoch: u64,
    mut f: impl FnMut(u32, &[u8]),
) -> Result<(), Error> {
    store.scan_prefix(Column::Matching, &k::chunks(owner, epoch), |key, v| {
        if let Some(i) = key
            .get(key.len() - 4..)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_be_bytes)
        {
            f(i, v);
        }
        true
    })
}

/// For each of `images`, whether a delta of the owner's for `epoch` held it.
pub fn delta_images_held(
    store: &Store,
    owner: &[u8; 32],
    epoch: u64,
    images: &[[u8; 32]],
) -> Result<Vec<bool>, Error> {
    let keys: Vec<Vec<u8>> = images
        .iter()
        .map(|i| k::delta_image(owner, epoch, i))
        .collect();
    Ok(store
        .multi_get(Column::Matching, keys.iter().map(Vec::as_slice))?
        .into_iter()
        .map(|v| v.is_some())
        .collect())
}

/// Records, in `batch`, a tag image from the owner's deltas for `epoch`.
pub fn put_delta_image(batch: &mut Batch, owner: &[u8; 32], epoch: u64, image: &[u8; 32]) {
    batch.put(
        Column::Matching,
        k::delta_image(owner, epoch, image),
        Vec::new(),
    );
}

/// How many delta images of the owner's for `epoch` are held.
pub fn delta_count(store: &Store, owner: &[u8; 32], epoch: u64) -> Result<u64, Error> {
    Ok(store
        .get(Column::Matching, &k::delta_count(owner, epoch))?
        .and_then(|v| v.try_into().ok().map(u64::from_be_bytes))
        .unwrap_or(0))
}

/// Sets, in `batch`, how many delta images of the owner's for `epoch` are
/// held.
pub fn put_delta_count(batch: &mut Batch, owner: &[u8; 32], epoch: u64, n: u64) {
    batch.put(
        Column::Matching,
        k::delta_count(owner, epoch),
        n.to_be_bytes().to_vec(),
    );
}

/// Keeps, in `batch`, an answer's envelope whose proof failed, received
/// from `owner` at `time_ms`, under message id `id`.
pub fn put_evidence(
    batch: &mut Batch,
    owner: &[u8; 32],
    time_ms: u64,
    id: &[u8; 16],
    envelope: Vec<u8>,
) {
    batch.put(Column::Matching, k::evidence(owner, time_ms, id), envelope);
}

/// Deletes, in `batch`, everything held of `owner`'s `epoch`: its manifest
/// (under `manifest_key`, as [`scan_all_peer_manifests`] handed it), its
/// filter, the watchlist's renewal and gap there, its delta count, chunk
/// set, chunks, delta images and watched tags.
pub fn forget_peer_epoch(
    store: &Store,
    batch: &mut Batch,
    manifest_key: Vec<u8>,
    owner: &[u8; 32],
    epoch: u64,
) -> Result<(), Error> {
    batch.delete(Column::Matching, manifest_key);
    batch.delete(Column::Matching, k::filter(owner, epoch));
    batch.delete(Column::Hits, k::renewed(owner, epoch));
    batch.delete(Column::Hits, k::unwatched(owner, epoch));
    batch.delete(Column::Matching, k::delta_count(owner, epoch));
    batch.delete(Column::Matching, k::chunk_set(owner, epoch));
    for (column, prefix) in [
        (Column::Matching, k::chunks(owner, epoch)),
        (Column::Matching, k::delta_images(owner, epoch)),
        (Column::Hits, k::watched_prefix(owner, epoch)),
    ] {
        store.scan_prefix(column, &prefix, |key, _| {
            batch.delete(column, key.to_vec());
            true
        })?;
    }
    Ok(())
}

/// How many of each kind of entry [`counts`] found.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    /// Stored hits.
    pub hits: u64,
    /// Watchlist entries.
    pub watches: u64,
    /// Alerts raised.
    pub alerts: u64,
    /// Answers kept as evidence of a failed proof.
    pub evidence: u64,
}

/// Counts the hits, watchlist entries, alerts and evidence held.
pub fn counts(store: &Store) -> Result<Counts, Error> {
    let count = |column, prefix: &[u8]| -> Result<u64, Error> {
        let mut n = 0;
        store.scan_prefix(column, prefix, |_, _| {
            n += 1;
            true
        })?;
        Ok(n)
    };
    Ok(Counts {
        hits: count(Column::Hits, k::HITS)?,
        watches: count(Column::Hits, k::WATCHES)?,
        alerts: count(Column::Hits, k::ALERTS)?,
        evidence: count(Column::Matching, k::EVIDENCE)?,
    })
}
