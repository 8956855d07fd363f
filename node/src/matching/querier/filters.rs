//! The peers' manifests for us, their filters and their deltas: what the
//! querier tests an answer's tags against.
//!
//! They come from peers' `chunk` and `delta` messages, which the
//! [`crate::router`] decodes and hands to [`on_chunk`] and [`on_delta`]
//! (each carries the manifest it belongs to, checked by
//! `accept_manifest`). What passes goes into matching's column of the
//! store, in the batch the [`Post`](crate::post::Post) commits with the
//! message: manifests, chunks until a filter is whole, filters, and delta
//! images with their count. Queries and renewals read them back through
//! [`usable`]; a delta's new images may raise watchlist alerts
//! (`super::watch`). The daemon's tick drops old epochs ([`forget`]).
//! Nothing here sends anything.

use liaison_config::Peer;
use liaison_protocol::filter::Filter;
use liaison_protocol::matching::{Chunk, Delta, SignedManifest};
use sha2::{Digest as _, Sha256};
use tracing::{info, warn};

use super::watch;
use crate::matching::{Error, Filters, Matching};
use crate::post::{Applied, Handled};
use crate::store::matching as stored;
use crate::store::Batch;

/// Longest epoch a peer's manifest may have (31 days).
const MAX_EPOCH_MS: u64 = 31 * 24 * 3600 * 1000;
/// Manifests held per peer: the previous, current and next epochs, and
/// one to spare while the oldest is forgotten.
const MAX_MANIFESTS: usize = 4;

/// The peer's manifests for us that have a whole filter and whose epoch
/// has not ended, newest first.
pub fn usable(
    matching: &Matching,
    owner: &[u8; 32],
    now: u64,
) -> Result<Vec<SignedManifest>, Error> {
    let store = matching.post().store();
    let mut out = Vec::new();
    stored::scan_peer_manifests(store, owner, |v| {
        if let Ok(m) = SignedManifest::decode(v) {
            out.push(m);
        }
        true
    })?;
    let mut usable = Vec::new();
    for m in out.into_iter().rev() {
        let e = m.manifest.epoch;
        if m.manifest.ends_ms > now && stored::filter(store, owner, e)?.is_some() {
            usable.push(m);
        }
    }
    // The one in force now first, then one that starts soon.
    usable.sort_by_key(|m| {
        (
            m.manifest.starts_ms > now,
            std::cmp::Reverse(m.manifest.epoch),
        )
    });
    Ok(usable)
}

/// Checks a peer's manifest for us (its signature, that it is for us and
/// this federation, that it does not contradict the key already committed
/// to for its epoch) and, if it is newer than the one held, stores it in
/// place of the old one and its filter. `Ok(None)`: refuse the message.
fn accept_manifest(
    matching: &Matching,
    peer: &Peer,
    m: &SignedManifest,
    handled: &mut Handled<'_>,
    filters: &mut Filters,
) -> Result<Option<Accepted>, Error> {
    let owner = peer.key.verifying_key().to_bytes();
    let me = matching
        .post()
        .identity()
        .signing
        .verifying_key()
        .to_bytes();
    if m.verify(peer.key.verifying_key()).is_err()
        || m.manifest.peer != me
        || m.manifest.federation != matching.post().federation()
    {
        warn!(peer = %peer.name, "refused a manifest: not signed by the peer, or not for us");
        return Ok(None);
    }
    // Only epochs that are, or are about to be, in force: a peer cannot
    // fill the store with invented epochs, nor put one far ahead first in
    // line for queries.
    let now = matching.post().now_ms();
    let (starts, ends) = (m.manifest.starts_ms, m.manifest.ends_ms);
    let length = ends - starts;
    if length > MAX_EPOCH_MS
        || ends.saturating_add(length) < now
        || starts > now.saturating_add(length)
    {
        warn!(peer = %peer.name, epoch = m.manifest.epoch, "refused a manifest for an epoch not in force");
        return Ok(None);
    }
    let epoch = m.manifest.epoch;
    let store = matching.post().store();
    let held = stored::peer_manifest(store, &owner, epoch)?;
    if held.is_none() {
        let n = stored::count_peer_manifests(store, &owner)?;
        if n >= MAX_MANIFESTS {
            warn!(peer = %peer.name, epoch, "refused a manifest: {n} of its epochs are held already");
            return Ok(None);
        }
    }
    if let Some(old) = held {
        let Ok(old) = SignedManifest::decode(&old) else {
            return Err(Error::DamagedManifest {
                peer: peer.name.clone(),
                epoch,
            });
        };
        if old.manifest.keys != m.manifest.keys {
            warn!(peer = %peer.name, epoch, "refused a second manifest with another key for the same epoch");
            return Ok(None);
        }
        if old == *m {
            return Ok(Some(Accepted::Held));
        }
        if old.manifest.version >= m.manifest.version {
            return Ok(Some(Accepted::Older));
        }
        // A rebuild: its filter replaces the old one.
        stored::delete_filter(store, &mut handled.effects, &owner, epoch)?;
        filters.decoded.forget(&owner, epoch);
    }
    stored::put_peer_manifest(&mut handled.effects, &owner, epoch, m.to_bytes());
    Ok(Some(Accepted::New))
}

/// What [`accept_manifest`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Accepted {
    /// The one already held.
    Held,
    /// Older than the one held (same key): its tags are good, its filter
    /// is not wanted.
    Older,
    /// New, or newer than the one held: stored, replacing the old filter.
    New,
}

/// Stores a filter chunk; the last one makes the filter, checked against
/// the manifest's hash, length and bucket.
pub(crate) fn on_chunk<'p>(
    matching: &'p Matching,
    peer: &Peer,
    chunk: Chunk,
    filters: &mut Filters,
) -> Result<Applied<'p>, Error> {
    let owner = peer.key.verifying_key().to_bytes();
    let m = chunk.manifest.clone();
    let info = m.manifest.filter;
    let epoch = m.manifest.epoch;
    if chunk.index >= info.chunks {
        return Ok(Applied::Malformed);
    }
    let store = matching.post().store();
    let mut handled = Handled {
        count: u64::from(chunk.index),
        ..Handled::default()
    };
    let replaced = match accept_manifest(matching, peer, &m, &mut handled, filters)? {
        None => return Ok(Applied::Malformed),
        // A chunk of a filter already replaced: nothing to keep.
        Some(Accepted::Older) => return Ok(Applied::Handled(handled)),
        Some(Accepted::Held) => false,
        // The chunks held (if any) belong to the filter being replaced.
        Some(Accepted::New) => true,
    };
    let manifest_hash = m.hash();
    let whole = stored::filter(store, &owner, epoch)?
        .is_some_and(|v| v.get(..32) == Some(&manifest_hash[..]));
    if whole {
        // This manifest's filter is whole already: a resent chunk.
        return Ok(Applied::Handled(handled));
    }
    // Which chunks of this manifest's filter are held: a small set read
    // per arrival, so the stored chunks are read once, by the last one
    // (not all of them again for every chunk).
    let mut have = [0u8; 16];
    if !replaced {
        have = stored::chunks_held(store, &owner, epoch, &manifest_hash)?;
    }
    let (byte, bit) = (chunk.index as usize / 8, 1u8 << (chunk.index % 8));
    if have[byte] & bit != 0 {
        // Held already: a resent chunk.
        return Ok(Applied::Handled(handled));
    }
    have[byte] |= bit;
    let held = have.iter().map(|b| b.count_ones()).sum::<u32>();
    if held < info.chunks {
        stored::put_chunk(&mut handled.effects, &owner, epoch, chunk.index, chunk.data);
        stored::put_chunks_held(&mut handled.effects, &owner, epoch, &manifest_hash, &have);
        return Ok(Applied::Handled(handled));
    }
    let mut parts: Vec<Option<Vec<u8>>> = vec![None; info.chunks as usize];
    stored::scan_chunks(store, &owner, epoch, |i, v| {
        if let Some(slot) = parts.get_mut(i as usize) {
            *slot = Some(v.to_vec());
        }
    })?;
    parts[chunk.index as usize] = Some(chunk.data.clone());
    stored::delete_chunks_held(&mut handled.effects, &owner, epoch);
    let bytes: Vec<u8> = parts.into_iter().flatten().flatten().collect();
    for i in 0..info.chunks {
        stored::delete_chunk(&mut handled.effects, &owner, epoch, i);
    }
    let hash: [u8; 32] = Sha256::digest(&bytes).into();
    let ok = hash == info.hash
        && bytes.len() == info.len as usize
        && Filter::decode(&bytes).is_ok_and(|f| f.bucket() == info.bucket);
    if !ok {
        warn!(peer = %peer.name, epoch, "refused a filter that does not match its manifest (hash, length or bucket)");
        return Ok(Applied::Malformed);
    }
    // Stored under the manifest it belongs to: an older version's filter
    // (same keys) answers until a newer one is whole.
    stored::put_filter(&mut handled.effects, &owner, epoch, &manifest_hash, &bytes);
    filters.decoded.forget(&owner, epoch);
    info!(peer = %peer.name, epoch, bucket = info.bucket, "filter received");
    handled.committed = Some(Box::new(|| matching.notify()));
    Ok(Applied::Handled(handled))
}

/// Stores a delta's tag images and raises an alert for each watched one.
/// A delta that would take the images held for its owner and epoch past
/// [`liaison_protocol::matching::MAX_EPOCH_DELTA_TAGS`] is refused
/// (`over-limit`) and stores nothing.
pub(crate) fn on_delta<'p>(
    matching: &'p Matching,
    peer: &Peer,
    delta: Delta,
    filters: &mut Filters,
) -> Result<Applied<'p>, Error> {
    let owner = peer.key.verifying_key().to_bytes();
    let epoch = delta.manifest.manifest.epoch;
    let mut handled = Handled {
        count: delta.images.len() as u64,
        committed: Some(Box::new(|| matching.notify())),
        ..Handled::default()
    };
    let store = matching.post().store();
    let mut raised = Vec::new();
    // Any version of the epoch's manifest will do: the key is the same.
    if accept_manifest(matching, peer, &delta.manifest, &mut handled, filters)?.is_none() {
        return Ok(Applied::Malformed);
    }
    let held = stored::delta_images_held(store, &owner, epoch, &delta.images)?;
    let count = stored::delta_count(store, &owner, epoch)?;
    let fresh = held.iter().filter(|h| !**h).count() as u64;
    let cap = matching.delta_cap();
    if count + fresh > cap {
        warn!(peer = %peer.name, epoch, held = count, more = fresh, cap, "refused a delta: past the tags one owner may have us hold for one epoch");
        return Ok(Applied::OverLimit);
    }
    stored::put_delta_count(&mut handled.effects, &owner, epoch, count + fresh);
    for (image, had) in delta.images.iter().zip(held) {
        if had {
            continue;
        }
        stored::put_delta_image(&mut handled.effects, &owner, epoch, image);
        watch::alert_new_image(
            matching,
            &mut handled.effects,
            &mut raised,
            peer,
            &owner,
            epoch,
            image,
        )?;
    }
    Ok(Applied::Handled(handled))
}

/// Drops peers' manifests, filters, deltas and watched tags of epochs
/// that ended more than an epoch ago.
pub fn forget(matching: &Matching, now: u64) -> Result<(), Error> {
    let store = matching.post().store();
    let mut old = Vec::new();
    stored::scan_all_peer_manifests(store, |key, v| {
        if let Ok(m) = SignedManifest::decode(v) {
            let len = m.manifest.ends_ms - m.manifest.starts_ms;
            if m.manifest.ends_ms.saturating_add(len) < now {
                old.push((m.manifest.owner, m.manifest.epoch, key.to_vec()));
            }
        }
        true
    })?;
    for (owner, epoch, key) in old {
        let mut b = Batch::default();
        stored::forget_peer_epoch(store, &mut b, key, &owner, epoch)?;
        matching.filters().decoded.forget(&owner, epoch);
        store.write(b)?;
    }
    Ok(())
}

/// Filters held decoded at most, in bytes: a few of the largest (16 M
/// tags, 64 MiB each), or hundreds of a hundred thousand. Past it, the
/// least recently used are dropped and read again when next needed.
const DECODED_BYTES: usize = 512 << 20;

/// The peers' filters as last decoded, per (owner, epoch), kept between
/// answers: a large query is answered in batches of [`super::BATCH`], and
/// reading and decoding a peer's filter of ten million tags for each
/// (72 MiB) cost more than the curve did. Reached only through
/// [`Filters`], so under the lock every replacement of a stored filter
/// takes, and each replacement [`Decoded::forget`]s the copy.
#[derive(Debug, Default)]
pub(crate) struct Decoded {
    held: std::collections::HashMap<([u8; 32], u64), (std::sync::Arc<Filter>, u64)>,
    bytes: usize,
    uses: u64,
}

impl Decoded {
    /// The owner's filter for `epoch`: the copy held, or the stored one,
    /// decoded (and held); `None` if none is stored whole.
    pub(crate) fn get(
        &mut self,
        matching: &Matching,
        owner: &[u8; 32],
        epoch: u64,
    ) -> Result<Option<std::sync::Arc<Filter>>, Error> {
        self.uses += 1;
        if let Some((f, used)) = self.held.get_mut(&(*owner, epoch)) {
            *used = self.uses;
            return Ok(Some(f.clone()));
        }
        let stored = stored::filter(matching.post().store(), owner, epoch)?;
        let Some(f) = stored.and_then(|v| v.get(32..).and_then(|b| Filter::decode(b).ok())) else {
            return Ok(None);
        };
        let f = std::sync::Arc::new(f);
        self.bytes += f.len_bytes();
        self.held.insert((*owner, epoch), (f.clone(), self.uses));
        while self.bytes > DECODED_BYTES && self.held.len() > 1 {
            let oldest = self
                .held
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| *k)
                .expect("more than one held");
            self.forget(&oldest.0, oldest.1);
        }
        Ok(Some(f))
    }

    /// Drops the copy of the owner's filter for `epoch`, if held.
    pub(crate) fn forget(&mut self, owner: &[u8; 32], epoch: u64) {
        if let Some((f, _)) = self.held.remove(&(*owner, epoch)) {
            self.bytes -= f.len_bytes();
        }
    }

    /// Filters held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.held.len()
    }
}
