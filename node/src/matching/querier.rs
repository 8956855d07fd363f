//! The querier's side: the peers' manifests, filters and deltas; blinded
//! queries and their answers; hits; the watchlist and its alerts.

use std::collections::HashMap;

use liaison_config::Peer;
use liaison_protocol::audit::{Entry, Kind};
use liaison_protocol::filter::Filter;
use liaison_protocol::matching::{
    delta_image, Answer, Chunk, Delta, Evaluate, Purpose, SignedManifest,
};
use liaison_protocol::normalize::person::NamePart;
use liaison_protocol::oprf::{self, Blind};
use liaison_protocol::{Selector, SelectorKind};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tracing::{info, warn};

use super::{context, lock, Error, Filters, Matching};
use crate::hex;
use crate::post::{Applied, Handled};
use crate::store::keys::matching as k;
use crate::store::{Batch, Column};

/// Blinded elements per evaluation request: small enough that a large
/// query spreads over both cores at each end, large enough that the
/// per-message cost (two signatures, two fsyncs) stays small.
pub const BATCH: usize = 512;
/// Longest epoch a peer's manifest may have (31 days).
const MAX_EPOCH_MS: u64 = 31 * 24 * 3600 * 1000;
/// Manifests held per peer: the previous, current and next epochs, and
/// one to spare while the oldest is forgotten.
const MAX_MANIFESTS: usize = 4;

/// One selector to evaluate: where its answer goes.
#[derive(Debug, Clone)]
pub struct Item {
    /// The caller's slot (an entity of a match file, say).
    pub slot: usize,
    /// The selector.
    pub selector: Selector,
    /// The watchlist entry it belongs to, for renewals.
    pub watch: Option<u64>,
}

/// The items of groups of selectors: group `i` is slot `i`, with its
/// watchlist entry if any.
pub fn items<'s>(groups: impl IntoIterator<Item = (&'s [Selector], Option<u64>)>) -> Vec<Item> {
    groups
        .into_iter()
        .enumerate()
        .flat_map(|(slot, (selectors, watch))| {
            selectors.iter().map(move |s| Item {
                slot,
                selector: s.clone(),
                watch,
            })
        })
        .collect()
}

/// A request in flight: what is needed to finish its answer.
pub struct Pending {
    query: u64,
    owner: [u8; 32],
    epoch: u64,
    key: oprf::PublicKey,
    purpose: Purpose,
    inputs: Vec<Vec<u8>>,
    blinds: Vec<Blind>,
    items: Vec<Item>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("query", &self.query)
            .field("epoch", &self.epoch)
            .field("items", &self.items.len())
            .finish_non_exhaustive()
    }
}

/// A query's answers so far.
#[derive(Debug, Default, Clone)]
pub struct Query {
    /// Requests not yet answered.
    pub outstanding: usize,
    /// Every selector that hit.
    pub hits: Vec<Hit>,
    /// What went wrong, per peer, in words.
    pub problems: Vec<String>,
}

/// One selector found at one peer.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The caller's slot.
    pub slot: usize,
    /// The owner's key.
    pub owner: [u8; 32],
    /// The selector's kind.
    pub kind: SelectorKind,
    /// Its value, as we made it (never sent): which of our own keys hit.
    pub value: String,
    /// Its tag (what a follow-up request names).
    pub tag: [u8; 32],
    /// The owner's epoch it was found in.
    pub epoch: u64,
}

/// A standing selector set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Watch {
    /// Its id.
    pub id: u64,
    /// What the analyst calls it (the entity as written in the file).
    pub label: String,
    /// `FILE:LINE` it came from.
    pub source: String,
    /// Its selectors.
    pub selectors: Vec<Selector>,
    /// When it was added, Unix ms.
    pub added_ms: u64,
    /// Whether weak person hits alert too (`watch add --weak`); without
    /// it the one-letter keys are never sent, so they cannot alert.
    #[serde(default)]
    pub weak: bool,
}

/// A watched selector found at a peer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Alert {
    /// Its id.
    pub id: u64,
    /// When, Unix ms.
    pub time_ms: u64,
    /// The peer that holds it.
    pub peer: String,
    /// The watchlist entry.
    pub watch: u64,
    /// Its label.
    pub label: String,
    /// The kind of selector that matched.
    pub kind: SelectorKind,
    /// `new record` (from a delta) or `already held` (at renewal).
    pub how: String,
}

/// The peer's manifests for us that have a whole filter and whose epoch
/// has not ended, newest first.
pub fn usable(
    matching: &Matching,
    owner: &[u8; 32],
    now: u64,
) -> Result<Vec<SignedManifest>, Error> {
    let store = matching.post().store();
    let mut out = Vec::new();
    store.scan_prefix(Column::Matching, &k::peer_manifests(owner), |_, v| {
        if let Ok(m) = SignedManifest::decode(v) {
            out.push(m);
        }
        true
    })?;
    let mut usable = Vec::new();
    for m in out.into_iter().rev() {
        let e = m.manifest.epoch;
        if m.manifest.ends_ms > now && store.get(Column::Matching, &k::filter(owner, e))?.is_some()
        {
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

/// Sends `items` to each of `peers` for evaluation under its current
/// manifest. Returns the query id, the peers asked (name, selectors), and
/// the peers skipped with why.
pub fn query(
    matching: &Matching,
    peers: &[Peer],
    items: &[Item],
    case: Option<[u8; 32]>,
) -> Result<Started, Error> {
    let id = matching.next_id();
    lock(&matching.queries).insert(id, Query::default());
    let now = matching.post().now_ms();
    let (mut asked, mut skipped) = (Vec::new(), Vec::new());
    for peer in peers {
        let owner = peer.key.verifying_key().to_bytes();
        let Some(m) = usable(matching, &owner, now)?.into_iter().next() else {
            skipped.push(format!(
                "{}: no filter from it yet (it sends one when it first connects)",
                peer.name
            ));
            continue;
        };
        let n = send(matching, peer, &m, items, Purpose::Query, case, id)?;
        let mut unshared: Vec<&str> = items
            .iter()
            .filter(|i| m.manifest.key(i.selector.kind).is_none())
            .map(|i| i.selector.kind.as_str())
            .collect();
        unshared.sort_unstable();
        unshared.dedup();
        if n > 0 && !unshared.is_empty() {
            // Not a miss: never asked.
            skipped.push(format!(
                "{}: not asked about {} (kinds it does not share with us)",
                peer.name,
                unshared.join(", ")
            ));
        }
        if n == 0 {
            skipped.push(format!(
                "{}: shares none of these selector kinds with us",
                peer.name
            ));
        } else {
            asked.push((peer.name.clone(), n));
        }
    }
    Ok(Started { id, asked, skipped })
}

/// A query sent.
#[derive(Debug)]
pub struct Started {
    /// Its id, for [`take`].
    pub id: u64,
    /// Peers asked, with the number of selectors sent.
    pub asked: Vec<(String, usize)>,
    /// Peers not asked, and why.
    pub skipped: Vec<String>,
}

/// The query's state, if it is finished (or `force`), taken out.
pub fn take(matching: &Matching, id: u64, force: bool) -> Option<Query> {
    let mut queries = lock(&matching.queries);
    let done = queries.get(&id).is_some_and(|q| q.outstanding == 0);
    if done || force {
        if force {
            lock(&matching.pending).retain(|_, p| p.query != id);
        }
        queries.remove(&id)
    } else {
        None
    }
}

/// Blinds the items `m` allows and queues them in batches. Returns how many.
fn send(
    matching: &Matching,
    peer: &Peer,
    m: &SignedManifest,
    items: &[Item],
    purpose: Purpose,
    case: Option<[u8; 32]>,
    query: u64,
) -> Result<usize, Error> {
    let mut items: Vec<Item> = items
        .iter()
        .filter(|i| m.manifest.key(i.selector.kind).is_some())
        .cloned()
        .collect();
    if items.is_empty() {
        return Ok(0);
    }
    // One kind per batch: one key, one proof, one budget.
    items.sort_by_key(|i| i.selector.kind);
    let inputs: Vec<Vec<u8>> = items.iter().map(|i| oprf::input(&i.selector)).collect();
    let mut blinded = blind_all(&inputs)?.into_iter();
    let mut envelopes = Vec::new();
    let mut at = 0;
    for run in items.chunk_by(|a, b| a.selector.kind == b.selector.kind) {
        let kind = run[0].selector.kind;
        let Some(key) = m.manifest.key(kind) else {
            continue;
        };
        let key = oprf::PublicKey::from_bytes(key)?;
        for part in run.chunks(BATCH) {
            let part_inputs = inputs[at..at + part.len()].to_vec();
            at += part.len();
            let (blinds, elements): (Vec<Blind>, Vec<oprf::Element>) =
                blinded.by_ref().take(part.len()).unzip();
            let body = Evaluate {
                manifest: m.hash(),
                purpose,
                case,
                kind,
                elements,
            }
            .to_bytes();
            let env = matching.post().seal(&peer.key, context::EVALUATE, &body)?;
            lock(&matching.pending).insert(
                env.header.message_id.0,
                Pending {
                    query,
                    owner: m.manifest.owner,
                    epoch: m.manifest.epoch,
                    key,
                    purpose,
                    inputs: part_inputs,
                    blinds,
                    items: part.to_vec(),
                },
            );
            if let Some(q) = lock(&matching.queries).get_mut(&query) {
                q.outstanding += 1;
            }
            envelopes.push((env, part.len() as u64));
        }
    }
    let n = items.len();
    matching.post().enqueue(peer, envelopes, case)?;
    Ok(n)
}

/// Blinds every input, on every core.
fn blind_all(inputs: &[Vec<u8>]) -> Result<Vec<(Blind, oprf::Element)>, Error> {
    super::on_every_core(inputs, |i| Ok(oprf::blind(i, &mut rand::rngs::OsRng)?))
}

/// Tags present in the owner's filter or deltas for `epoch`.
fn present(
    matching: &Matching,
    owner: &[u8; 32],
    epoch: u64,
    tags: &[[u8; 32]],
) -> Result<Vec<bool>, Error> {
    let store = matching.post().store();
    let filter = match store.get(Column::Matching, &k::filter(owner, epoch))? {
        Some(bytes) => bytes.get(32..).and_then(|b| Filter::decode(b).ok()),
        None => None,
    };
    let keys: Vec<Vec<u8>> = tags
        .iter()
        .map(|t| k::delta_image(owner, epoch, &delta_image(t)))
        .collect();
    let deltas = store.multi_get(Column::Matching, keys.iter().map(Vec::as_slice))?;
    Ok(tags
        .iter()
        .zip(deltas)
        .map(|(t, d)| d.is_some() || filter.as_ref().is_some_and(|f| f.contains(t)))
        .collect())
}

/// Applies an owner's answer: checks the proof against the manifest's
/// key, finishes the tags and tests them. A failed proof keeps the
/// envelope as evidence and logs it.
pub(crate) fn on_answer<'p>(
    matching: &'p Matching,
    peer: &Peer,
    answer: Answer,
    envelope: &[u8],
) -> Result<Applied<'p>, Error> {
    let owner = peer.key.verifying_key().to_bytes();
    let pending = {
        let mut map = lock(&matching.pending);
        match map.get(&answer.request) {
            Some(p) if p.owner == owner => map.remove(&answer.request),
            Some(_) => return Ok(Applied::Malformed),
            None => None,
        }
    };
    let mut handled = Handled::default();
    if let Some(p) = &pending {
        if p.purpose == Purpose::Renewal {
            lock(&matching.renewing).remove(&(owner, p.epoch));
        }
    }
    let Some(p) = pending else {
        info!(peer = %peer.name, "an answer to a request no longer waited for (timed out, or sent before a restart)");
        return Ok(Applied::Handled(handled));
    };
    handled.count = p.items.len() as u64;
    let mut problem = None;
    let mut hits = Vec::new();
    match answer.result {
        Err(decline) => {
            handled.code = 1;
            if p.purpose == Purpose::Renewal {
                warn!(peer = %peer.name, reason = %decline, "the watchlist's renewal was declined: it is not watched at this peer until a renewal succeeds");
                // For `status`: a gap an analyst must know of.
                handled.effects.put(
                    Column::Hits,
                    k::unwatched(&owner, p.epoch),
                    decline.to_string().into_bytes(),
                );
            }
            problem = Some(format!("{}: declined: {decline}", peer.name));
        }
        Ok(ev) => match oprf::finalize_batch(&p.inputs, &p.blinds, &ev.elements, &ev.proof, &p.key)
        {
            Err(e) => {
                handled.code = 2;
                let now = matching.post().now_ms();
                let mut id = [0u8; 16];
                id.copy_from_slice(&Sha256::digest(envelope)[..16]);
                handled.effects.put(
                    Column::Matching,
                    k::evidence(&owner, now, &id),
                    envelope.to_vec(),
                );
                let mut entry = Entry::new(Kind::BadProof, now);
                entry.context = context::ANSWER.to_owned();
                entry.peer = Some(owner);
                entry.hash = Some(Sha256::digest(envelope).into());
                entry.count = p.items.len() as u64;
                handled.extra.push(entry);
                warn!(peer = %peer.name, error = %e, "an evaluation answer failed its proof; the envelope is kept as evidence");
                problem = Some(format!(
                    "{}: its answer failed verification ({e}); the signed envelope is kept as evidence",
                    peer.name
                ));
            }
            Ok(outputs) => {
                let tags: Vec<[u8; 32]> = outputs.iter().map(oprf::tag).collect();
                let mut raised = Vec::new();
                // Against deltas being applied at the same time: one of the
                // two sees the other (or a watched tag in a delta could be
                // missed by both).
                handled.guards.push(Box::new(matching.filters()));
                let found = present(matching, &owner, p.epoch, &tags)?;
                if p.purpose == Purpose::Renewal {
                    handled
                        .effects
                        .put(Column::Hits, k::renewed(&owner, p.epoch), Vec::new());
                    handled
                        .effects
                        .delete(Column::Hits, k::unwatched(&owner, p.epoch));
                }
                for ((item, tag), hit) in p.items.iter().zip(&tags).zip(found) {
                    if p.purpose == Purpose::Renewal {
                        if let Some(w) = item.watch {
                            handled.effects.put(
                                Column::Hits,
                                k::watched(&owner, p.epoch, &delta_image(tag), w),
                                vec![item.selector.kind.code()],
                            );
                            if hit {
                                alert(
                                    matching,
                                    &mut handled.effects,
                                    &mut raised,
                                    peer,
                                    w,
                                    item.selector.kind,
                                    "already held",
                                )?;
                            }
                        }
                    } else if hit {
                        hits.push(Hit {
                            slot: item.slot,
                            owner,
                            kind: item.selector.kind,
                            value: item.selector.value.clone(),
                            tag: *tag,
                            epoch: p.epoch,
                        });
                    }
                }
            }
        },
    }
    if let Some(q) = lock(&matching.queries).get_mut(&p.query) {
        q.outstanding = q.outstanding.saturating_sub(1);
        q.hits.extend(hits);
        q.problems.extend(problem);
    }
    handled.committed = Some(Box::new(|| matching.notify()));
    Ok(Applied::Handled(handled))
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
    let held = store.get(Column::Matching, &k::peer_manifest(&owner, epoch))?;
    if held.is_none() {
        let mut n = 0;
        store.scan_prefix(Column::Matching, &k::peer_manifests(&owner), |_, _| {
            n += 1;
            true
        })?;
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
        handled
            .effects
            .delete(Column::Matching, k::filter(&owner, epoch));
        handled
            .effects
            .delete(Column::Matching, k::chunk_set(&owner, epoch));
        store.scan_prefix(Column::Matching, &k::chunks(&owner, epoch), |key, _| {
            handled.effects.delete(Column::Matching, key.to_vec());
            true
        })?;
    }
    handled.effects.put(
        Column::Matching,
        k::peer_manifest(&owner, epoch),
        m.to_bytes(),
    );
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
    _held: &Filters,
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
    let replaced = match accept_manifest(matching, peer, &m, &mut handled)? {
        None => return Ok(Applied::Malformed),
        // A chunk of a filter already replaced: nothing to keep.
        Some(Accepted::Older) => return Ok(Applied::Handled(handled)),
        Some(Accepted::Held) => false,
        // The chunks held (if any) belong to the filter being replaced.
        Some(Accepted::New) => true,
    };
    let manifest_hash = m.hash();
    let whole = store
        .get(Column::Matching, &k::filter(&owner, epoch))?
        .is_some_and(|v| v.get(..32) == Some(&manifest_hash[..]));
    if whole {
        // This manifest's filter is whole already: a resent chunk.
        return Ok(Applied::Handled(handled));
    }
    // Which chunks of this manifest's filter are held: a small set read
    // per arrival, so the stored chunks are read once, by the last one
    // (not all of them again for every chunk).
    let set_key = k::chunk_set(&owner, epoch);
    let mut have = [0u8; 16];
    if !replaced {
        if let Some(v) = store.get(Column::Matching, &set_key)? {
            if v.get(..32) == Some(&manifest_hash[..]) {
                if let Some(bits) = v.get(32..48) {
                    have.copy_from_slice(bits);
                }
            }
        }
    }
    let (byte, bit) = (chunk.index as usize / 8, 1u8 << (chunk.index % 8));
    if have[byte] & bit != 0 {
        // Held already: a resent chunk.
        return Ok(Applied::Handled(handled));
    }
    have[byte] |= bit;
    let held = have.iter().map(|b| b.count_ones()).sum::<u32>();
    if held < info.chunks {
        handled.effects.put(
            Column::Matching,
            k::chunk(&owner, epoch, chunk.index),
            chunk.data,
        );
        let mut value = manifest_hash.to_vec();
        value.extend_from_slice(&have);
        handled.effects.put(Column::Matching, set_key, value);
        return Ok(Applied::Handled(handled));
    }
    let mut parts: Vec<Option<Vec<u8>>> = vec![None; info.chunks as usize];
    store.scan_prefix(Column::Matching, &k::chunks(&owner, epoch), |key, v| {
        if let Some(i) = key
            .get(key.len() - 4..)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_be_bytes)
        {
            if let Some(slot) = parts.get_mut(i as usize) {
                *slot = Some(v.to_vec());
            }
        }
        true
    })?;
    parts[chunk.index as usize] = Some(chunk.data.clone());
    handled.effects.delete(Column::Matching, set_key);
    let bytes: Vec<u8> = parts.into_iter().flatten().flatten().collect();
    for i in 0..info.chunks {
        handled
            .effects
            .delete(Column::Matching, k::chunk(&owner, epoch, i));
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
    let mut value = manifest_hash.to_vec();
    value.extend_from_slice(&bytes);
    handled
        .effects
        .put(Column::Matching, k::filter(&owner, epoch), value);
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
    _held: &Filters,
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
    if accept_manifest(matching, peer, &delta.manifest, &mut handled)?.is_none() {
        return Ok(Applied::Malformed);
    }
    let keys: Vec<Vec<u8>> = delta
        .images
        .iter()
        .map(|i| k::delta_image(&owner, epoch, i))
        .collect();
    let held = store.multi_get(Column::Matching, keys.iter().map(Vec::as_slice))?;
    let count_key = k::delta_count(&owner, epoch);
    let count = store
        .get(Column::Matching, &count_key)?
        .and_then(|v| v.try_into().ok().map(u64::from_be_bytes))
        .unwrap_or(0);
    let fresh = held.iter().filter(|h| h.is_none()).count() as u64;
    let cap = matching.delta_cap();
    if count + fresh > cap {
        warn!(peer = %peer.name, epoch, held = count, more = fresh, cap, "refused a delta: past the tags one owner may have us hold for one epoch");
        return Ok(Applied::OverLimit);
    }
    handled.effects.put(
        Column::Matching,
        count_key,
        (count + fresh).to_be_bytes().to_vec(),
    );
    for ((image, key), had) in delta.images.iter().zip(keys).zip(held) {
        if had.is_some() {
            continue;
        }
        handled.effects.put(Column::Matching, key, Vec::new());
        let mut watched = Vec::new();
        let prefix = {
            let mut p = k::watched_prefix(&owner, epoch);
            p.extend_from_slice(image);
            p
        };
        store.scan_prefix(Column::Hits, &prefix, |key, v| {
            let id = key.get(key.len() - 8..).and_then(|b| b.try_into().ok());
            let kind = v.first().and_then(|c| SelectorKind::from_code(*c));
            if let (Some(id), Some(kind)) = (id, kind) {
                watched.push((u64::from_be_bytes(id), kind));
            }
            true
        })?;
        for (w, kind) in watched {
            alert(
                matching,
                &mut handled.effects,
                &mut raised,
                peer,
                w,
                kind,
                "new record",
            )?;
        }
    }
    Ok(Applied::Handled(handled))
}

fn watch(matching: &Matching, id: u64) -> Result<Option<Watch>, Error> {
    Ok(matching
        .post()
        .store()
        .get(Column::Hits, &k::watch(id))?
        .and_then(|v| serde_json::from_slice(&v).ok()))
}

/// Raises an alert that `peer` holds watchlist entry `watch_id`, once per
/// entry and peer: not again for its other selectors (`raised`, this
/// message's), its next record, or the next epoch's renewal.
#[allow(clippy::too_many_arguments)]
fn alert(
    matching: &Matching,
    batch: &mut Batch,
    raised: &mut Vec<u64>,
    peer: &Peer,
    watch_id: u64,
    kind: SelectorKind,
    how: &str,
) -> Result<(), Error> {
    let owner = peer.key.verifying_key().to_bytes();
    let marker = k::alerted(&owner, watch_id);
    if raised.contains(&watch_id)
        || matching
            .post()
            .store()
            .get(Column::Hits, &marker)?
            .is_some()
    {
        return Ok(());
    }
    let Some(w) = watch(matching, watch_id)? else {
        return Ok(());
    };
    raised.push(watch_id);
    batch.put(Column::Hits, marker, Vec::new());
    let now = matching.post().now_ms();
    let id = matching.next_id();
    let a = Alert {
        id,
        time_ms: now,
        peer: peer.name.clone(),
        watch: watch_id,
        label: w.label,
        kind,
        how: how.to_owned(),
    };
    warn!(peer = %peer.name, watch = watch_id, how, "ALERT: a watched selector is held by a peer (see `liaison alerts`)");
    batch.put_json(Column::Hits, k::alert(now, id), &a)?;
    Ok(())
}

/// Adds watchlist entries and sends their selectors to every peer with a
/// usable manifest for renewal-budget evaluation. Returns the ids.
///
/// Unless `weak`, a person's one-letter keys ([`SelectorKind::PersonFuzzy`])
/// are left out: a hit on them alone is right about half the time
/// (siblings, namesakes born the same day), too often to wake an analyst,
/// and they are most of a person's keys, so leaving them out also spares
/// the budget.
pub fn watch_add(
    matching: &Matching,
    peers: &[Peer],
    entries: Vec<(String, String, Vec<Selector>)>,
    weak: bool,
) -> Result<Vec<u64>, Error> {
    let mut b = Batch::default();
    let mut added = Vec::with_capacity(entries.len());
    for (label, source, mut selectors) in entries {
        if !weak {
            selectors.retain(|s| s.kind != SelectorKind::PersonFuzzy);
        }
        let w = Watch {
            id: matching.next_id(),
            label,
            source,
            selectors,
            added_ms: matching.post().now_ms(),
            weak,
        };
        b.put_json(Column::Hits, k::watch(w.id), &w)?;
        added.push(w);
    }
    let items = items(added.iter().map(|w| (w.selectors.as_slice(), Some(w.id))));
    let ids = added.iter().map(|w| w.id).collect();
    matching.post().store().write(b)?;
    renew_items(matching, peers, &items, false)?;
    Ok(ids)
}

/// Removes a watchlist entry (and its tags); whether it existed.
pub fn watch_remove(matching: &Matching, id: u64) -> Result<bool, Error> {
    let store = matching.post().store();
    if store.get(Column::Hits, &k::watch(id))?.is_none() {
        return Ok(false);
    }
    let mut b = Batch::default();
    b.delete(Column::Hits, k::watch(id));
    for prefix in [&b"W"[..], k::ALERTED] {
        store.scan_prefix(Column::Hits, prefix, |key, _| {
            if key.ends_with(&id.to_be_bytes()) {
                b.delete(Column::Hits, key.to_vec());
            }
            true
        })?;
    }
    store.write(b)?;
    Ok(true)
}

/// The watchlist.
pub fn watches(matching: &Matching) -> Result<Vec<Watch>, Error> {
    listed(matching, k::WATCHES)
}

/// Alerts, oldest first.
pub fn alerts(matching: &Matching) -> Result<Vec<Alert>, Error> {
    listed(matching, k::ALERTS)
}

/// Every JSON value in the `hits` column under `prefix`, in key order
/// (one that does not decode is skipped).
fn listed<T: serde::de::DeserializeOwned>(
    matching: &Matching,
    prefix: &[u8],
) -> Result<Vec<T>, Error> {
    Ok(matching.post().store().json_values(Column::Hits, prefix)?)
}

/// Sends `items` for renewal to each peer's usable manifests; with
/// `only_new`, only to manifests not renewed yet (then marks them).
fn renew_items(
    matching: &Matching,
    peers: &[Peer],
    items: &[Item],
    only_new: bool,
) -> Result<bool, Error> {
    let now = matching.post().now_ms();
    let mut queued = false;
    for peer in peers {
        let owner = peer.key.verifying_key().to_bytes();
        for m in usable(matching, &owner, now)? {
            let epoch = m.manifest.epoch;
            if only_new {
                // Renewed already (marked when an answer is applied), or
                // its requests are in flight (since this start: after a
                // restart their blinds are gone, so they go again).
                if matching
                    .post()
                    .store()
                    .get(Column::Hits, &k::renewed(&owner, epoch))?
                    .is_some()
                    || !lock(&matching.renewing).insert((owner, epoch))
                {
                    continue;
                }
            }
            // Nobody waits for a renewal's answers: no query entry.
            if send(matching, peer, &m, items, Purpose::Renewal, None, 0)? > 0 {
                queued = true;
            }
        }
    }
    Ok(queued)
}

/// Renews the whole watchlist with `peer` for any manifest not yet
/// renewed (a new epoch). Returns whether anything was queued.
pub fn renew(matching: &Matching, peer: &Peer) -> Result<bool, Error> {
    let watches = watches(matching)?;
    if watches.is_empty() {
        return Ok(false);
    }
    let items = items(watches.iter().map(|w| (w.selectors.as_slice(), Some(w.id))));
    renew_items(matching, std::slice::from_ref(peer), &items, true)
}

/// Drops peers' manifests, filters, deltas and watched tags of epochs
/// that ended more than an epoch ago.
pub fn forget(matching: &Matching, now: u64) -> Result<(), Error> {
    let store = matching.post().store();
    let mut old = Vec::new();
    store.scan_prefix(Column::Matching, &k::peer_manifests(&[]), |key, v| {
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
        b.delete(Column::Matching, key);
        b.delete(Column::Matching, k::filter(&owner, epoch));
        b.delete(Column::Hits, k::renewed(&owner, epoch));
        b.delete(Column::Hits, k::unwatched(&owner, epoch));
        b.delete(Column::Matching, k::delta_count(&owner, epoch));
        b.delete(Column::Matching, k::chunk_set(&owner, epoch));
        for (column, prefix) in [
            (Column::Matching, k::chunks(&owner, epoch)),
            (Column::Matching, k::delta_images(&owner, epoch)),
            (Column::Hits, k::watched_prefix(&owner, epoch)),
        ] {
            store.scan_prefix(column, &prefix, |key, _| {
                b.delete(column, key.to_vec());
                true
            })?;
        }
        store.write(b)?;
    }
    Ok(())
}

/// A stored hit, as `liaison hits` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredHit {
    /// Its id.
    pub id: u64,
    /// When, Unix ms.
    pub time_ms: u64,
    /// The peer that holds it.
    pub peer: String,
    /// The entity as the analyst's file wrote it.
    pub entity: String,
    /// `FILE:LINE`.
    pub source: String,
    /// The kinds that matched.
    pub kinds: Vec<SelectorKind>,
    /// For persons: how strong.
    pub strength: Option<String>,
    /// The case commitment (hex), if the match named a case.
    pub case: Option<String>,
    /// The tags that matched (hex) and their epoch, for a follow-up.
    pub tags: Vec<(SelectorKind, String, u64)>,
}

/// How strong a person match is, from the keys that matched.
pub fn strength(kinds: &[SelectorKind]) -> Option<String> {
    strength_of(kinds, None)
}

/// [`strength`], saying for a weak match which part of our own name the
/// matched one-letter keys varied, when they say
/// ([`liaison_protocol::normalize::person::differing_part`]).
pub fn strength_of(kinds: &[SelectorKind], differed: Option<NamePart>) -> Option<String> {
    let has = |k| kinds.contains(&k);
    if !kinds.iter().any(|k| k.is_person()) {
        return None;
    }
    Some(if has(SelectorKind::PersonFull) {
        "strong: every name part and the date of birth".to_owned()
    } else if has(SelectorKind::PersonName) {
        "good: surname, given name and date of birth".to_owned()
    } else if has(SelectorKind::PersonPhonetic) {
        "fair: names sound alike, same date of birth".to_owned()
    } else {
        let part = match differed {
            Some(NamePart::Surname) => " (the surname differs)",
            Some(NamePart::Given) => " (the given name differs)",
            Some(NamePart::FullName) => " (one word of the full name differs)",
            None => "",
        };
        format!("weak: names one letter apart{part}, same date of birth; right about half the time, check before acting")
    })
}

/// Stores hits.
pub fn store_hits(matching: &Matching, hits: &[StoredHit]) -> Result<(), Error> {
    let mut b = Batch::default();
    for h in hits {
        b.put_json(Column::Hits, k::hit(h.time_ms, h.id), &h)?;
    }
    matching.post().store().write(b)?;
    Ok(())
}

/// Hits, oldest first.
pub fn hits(matching: &Matching) -> Result<Vec<StoredHit>, Error> {
    listed(matching, k::HITS)
}

/// Groups a query's hits by slot and peer.
pub fn by_slot(hits: &[Hit]) -> HashMap<usize, Vec<&Hit>> {
    let mut out: HashMap<usize, Vec<&Hit>> = HashMap::new();
    for h in hits {
        out.entry(h.slot).or_default().push(h);
    }
    out
}

/// Hex of a tag (re-exported for the API).
pub fn tag_hex(tag: &[u8; 32]) -> String {
    hex::encode(tag)
}
