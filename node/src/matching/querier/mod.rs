//! The querier's side of hit/no-hit matching: the peers' manifests,
//! filters and deltas; blinded queries and their answers; hits; the
//! watchlist and its alerts.
//!
//! This file holds queries and their answers. An analyst's selectors come
//! in through the API and CLI ([`items`], [`query`]); `send` blinds those
//! a peer's usable manifest allows and seals them as `evaluate` envelopes,
//! queued through the [`Post`](crate::post::Post), and keeps each request
//! in flight in memory ([`Pending`]). The peer's answers come back through
//! the [`crate::router`] to `on_answer`, which checks the proof, tests
//! the tags against the peer's filter and deltas, and adds the hits to the
//! query in memory, where the API [`take`]s them; a failed proof leaves
//! its envelope as evidence in matching's column of the store, and a
//! renewal's answer marks the watchlist's tags (`watch`).
//!
//! The pieces, each over the same [`Matching`]:
//! - `filters`: the peers' manifests, filter chunks and deltas
//!   ([`usable`], `on_chunk`, `on_delta`, [`forget`]);
//! - `watch`: the watchlist, its renewals and its alerts ([`Watch`],
//!   [`Alert`], [`watch_add`], [`renew`]);
//! - `hits`: the hits an analyst keeps from a match ([`StoredHit`],
//!   [`store_hits`], [`hits`]).

use std::collections::HashMap;

use liaison_config::Peer;
use liaison_protocol::audit::{Entry, Kind};
use liaison_protocol::matching::{delta_image, Answer, Evaluate, Purpose, SignedManifest};
use liaison_protocol::oprf::{self, Blind};
use liaison_protocol::{Selector, SelectorKind};
use sha2::{Digest as _, Sha256};
use tracing::{info, warn};

use super::{context, lock, Error, Filters, Matching};
use crate::post::{Applied, Handled};
use crate::store::matching as stored;
use crate::store::Batch;

mod filters;
mod hits;
mod watch;

pub use filters::{forget, usable};
pub(crate) use filters::{on_chunk, on_delta, Decoded};
pub use hits::{hits, store_hits, strength, strength_of, tag_hex, StoredHit};
pub use watch::{alerts, renew, watch_add, watch_remove, watches, Alert, Watch};

use watch::alert;

/// Blinded elements per evaluation request: small enough that a large
/// query spreads over both cores at each end, large enough that the
/// per-message cost (two signatures, two fsyncs) stays small.
pub const BATCH: usize = 512;

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
    matching
        .post()
        .enqueue_with(peer, envelopes, case, Batch::default())?;
    Ok(n)
}

/// Blinds every input, on every core: a batch per core (a batch's
/// encodings share one inversion).
fn blind_all(inputs: &[Vec<u8>]) -> Result<Vec<(Blind, oprf::Element)>, Error> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let parts: Vec<&[Vec<u8>]> = inputs
        .chunks(inputs.len().div_ceil(threads).max(1))
        .collect();
    let blinded = super::on_every_core(&parts, |part| {
        Ok(oprf::blind_batch(part, &mut rand::rngs::OsRng)?)
    })?;
    Ok(blinded
        .into_iter()
        .flat_map(|(blinds, elements)| blinds.into_iter().zip(elements))
        .collect())
}

/// Tags present in the owner's filter or deltas for `epoch`.
fn present(
    matching: &Matching,
    held: &mut Filters,
    owner: &[u8; 32],
    epoch: u64,
    tags: &[[u8; 32]],
) -> Result<Vec<bool>, Error> {
    let store = matching.post().store();
    let filter = held.decoded.get(matching, owner, epoch)?;
    let images: Vec<[u8; 32]> = tags.iter().map(delta_image).collect();
    let deltas = stored::delta_images_held(store, owner, epoch, &images)?;
    Ok(tags
        .iter()
        .zip(deltas)
        .map(|(t, d)| d || filter.as_ref().is_some_and(|f| f.contains(t)))
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
                stored::put_unwatched(&mut handled.effects, &owner, p.epoch, &decline.to_string());
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
                stored::put_evidence(&mut handled.effects, &owner, now, &id, envelope.to_vec());
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
                let mut held = matching.filters();
                let found = present(matching, &mut held, &owner, p.epoch, &tags)?;
                handled.guards.push(Box::new(held));
                if p.purpose == Purpose::Renewal {
                    stored::put_renewed(&mut handled.effects, &owner, p.epoch);
                }
                for ((item, tag), hit) in p.items.iter().zip(&tags).zip(found) {
                    if p.purpose == Purpose::Renewal {
                        if let Some(w) = item.watch {
                            stored::put_watched(
                                &mut handled.effects,
                                &owner,
                                p.epoch,
                                &delta_image(tag),
                                w,
                                item.selector.kind,
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

/// Groups a query's hits by slot and peer.
pub fn by_slot(hits: &[Hit]) -> HashMap<usize, Vec<&Hit>> {
    let mut out: HashMap<usize, Vec<&Hit>> = HashMap::new();
    for h in hits {
        out.entry(h.slot).or_default().push(h);
    }
    out
}
