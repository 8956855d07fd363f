//! The owner's side: tags, filters and manifests per (peer, epoch);
//! deltas of new records; evaluations within each peer's budget.

use std::sync::atomic::{AtomicU64, Ordering};

use liaison_config::Peer;
use liaison_protocol::audit::{Entry, Kind};
use liaison_protocol::filter::Filter;
use liaison_protocol::matching::{
    self, Answer, Decline, Delta, Evaluate, Evaluated, FilterInfo, Manifest, Purpose,
    SignedManifest, DELTA_PAD, MAX_DELTA_TAGS,
};
use liaison_protocol::oprf::{self, ServerKey};
use liaison_protocol::Selector;
use rand::RngCore as _;
use tracing::{info, warn};

use super::{context, Build, Error};
use crate::post::{now_ms, Handled, Post};
use crate::store::keys::{self, matching as k};
use crate::store::records::Records;
use crate::store::{Batch, Column, Store};

/// Tags written per store batch during a build.
const WRITE_BATCH: usize = 16 * 1024;
/// Queued selectors drained per delta round.
const DRAIN: usize = 64 * 1024;

/// Our manifest for `peer` in `epoch`, if built.
pub fn manifest(post: &Post, peer: &[u8; 32], epoch: u64) -> Result<Option<SignedManifest>, Error> {
    let Some(bytes) = post
        .store()
        .get(Column::Matching, &k::manifest(peer, epoch))?
    else {
        return Ok(None);
    };
    SignedManifest::decode(&bytes)
        .map(Some)
        .map_err(|e| Error::Store(corrupt(format!("our manifest: {e}"))))
}

fn corrupt(what: String) -> crate::store::Error {
    crate::store::Error::Corrupt {
        column: Column::Matching.name(),
        what,
    }
}

/// Encodes selectors as a run of index-key prefixes.
pub(crate) fn encode_selectors(selectors: &[Selector]) -> Vec<u8> {
    let mut out = Vec::new();
    for s in selectors {
        out.extend_from_slice(&keys::selector_prefix(s));
    }
    out
}

/// Decodes [`encode_selectors`]; `None` if damaged.
pub(crate) fn decode_selectors(mut bytes: &[u8]) -> Option<Vec<Selector>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let len = u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?]) as usize;
        let entry = bytes.get(..4 + len)?;
        let (s, rest) = keys::decode_selector_entry(entry)?;
        if !rest.is_empty() {
            return None;
        }
        out.push(s);
        bytes = &bytes[4 + len..];
    }
    Some(out)
}

/// Queues the selectors of newly stored records for the next delta (the
/// daemon drains the queue; a CLI ingest while it is stopped queues too).
pub fn queue_new(store: &Store, selectors: &[Selector]) -> Result<(), crate::store::Error> {
    if selectors.is_empty() {
        return Ok(());
    }
    let seq = (now_ms() << 20) | u64::from(rand::random::<u32>() & 0xF_FFFF);
    let mut b = Batch::default();
    b.put(
        Column::Matching,
        k::new_selectors(seq),
        encode_selectors(selectors),
    );
    store.write(b)
}

/// `F`'s tag for each selector, on every core.
pub fn tags(
    key: &ServerKey,
    selectors: &[Selector],
    done: &AtomicU64,
) -> Result<Vec<[u8; 32]>, Error> {
    super::on_every_core(selectors, |s| {
        let tag = oprf::tag(&key.evaluate(&oprf::input(s))?);
        done.fetch_add(1, Ordering::Relaxed);
        Ok(tag)
    })
}

/// The tags of `selectors` (sorted, so each kind is one run) for `peer` in
/// `epoch`, each kind under its own key, in slices that `progress` hears of.
fn tags_by_kind(
    post: &Post,
    peer: &[u8; 32],
    epoch: u64,
    selectors: &[Selector],
    mut progress: impl FnMut(u64),
) -> Result<Vec<[u8; 32]>, Error> {
    let done = AtomicU64::new(0);
    let mut out = Vec::with_capacity(selectors.len());
    for run in selectors.chunk_by(|a, b| a.kind == b.kind) {
        let kind = run[0].kind;
        let key = post.matching().key(peer, epoch, kind).ok_or_else(|| {
            Error::Invalid(format!(
                "no OPRF key for epoch {epoch} (destroyed, or the key ratchet is not open)"
            ))
        })?;
        for part in run.chunks(256 * 1024) {
            out.extend(tags(&key, part, &done)?);
            progress(out.len() as u64);
        }
    }
    Ok(out)
}

/// Builds and sends `peer`'s tags, filter and manifest for `epoch`: every
/// selector of every record, of the kinds that peer may match.
pub fn build(post: &Post, peer: &Peer, epoch: u64) -> Result<(), Error> {
    let pk = peer.key.verifying_key().to_bytes();
    let state = post.matching();
    let settings = *state.settings();
    let mut keys = Vec::new();
    for kind in &peer.kinds {
        let key = state.key(&pk, epoch, *kind).ok_or_else(|| {
            Error::Invalid(format!(
                "no OPRF key for epoch {epoch} (destroyed, or the key ratchet is not open)"
            ))
        })?;
        keys.push((*kind, key.public_key().to_bytes()));
    }
    let store = post.store();
    let mut selectors = Vec::new();
    Records::new(store).for_each(|_, sels| {
        selectors.extend(
            sels.iter()
                .filter(|s| peer.kinds.contains(&s.kind))
                .cloned(),
        );
        true
    })?;
    selectors.sort_unstable();
    selectors.dedup();
    let total = selectors.len() as u64;
    let started = std::time::Instant::now();
    let progress = |done| {
        state.set_build(
            &peer.name,
            Build {
                epoch,
                done,
                total,
                finished: false,
            },
        )
    };
    progress(0);
    let tags = tags_by_kind(post, &pk, epoch, &selectors, progress)?;
    for (chunk_tags, chunk_sels) in tags.chunks(WRITE_BATCH).zip(selectors.chunks(WRITE_BATCH)) {
        let mut b = Batch::default();
        for (t, s) in chunk_tags.iter().zip(chunk_sels) {
            b.put(
                Column::Tags,
                k::tag(&pk, epoch, t),
                keys::selector_prefix(s),
            );
        }
        store.write(b)?;
    }
    let filter = Filter::build(&tags, &mut rand::rngs::OsRng)?;
    let bytes = filter.to_bytes();
    let info = FilterInfo::of(filter.bucket(), &bytes);
    let signed = Manifest {
        federation: post.federation().to_owned(),
        owner: post.identity().signing.verifying_key().to_bytes(),
        peer: pk,
        epoch,
        version: now_ms(),
        starts_ms: settings.starts(epoch),
        ends_ms: settings.starts(epoch + 1),
        keys,
        filter: info,
    }
    .sign(&post.identity().signing);
    let manifest_bytes = signed.to_bytes();
    let hash = signed.hash();
    // Sent first, then recorded as built: a crash in between builds again
    // (same key, same tags) and the peer takes the newer version. Each
    // chunk carries the manifest: the courier sends several at once, so
    // they may arrive in any order.
    let chunks: Vec<Vec<u8>> = (0..info.chunks)
        .map(|i| {
            matching::Chunk {
                manifest: signed.clone(),
                index: i,
                data: FilterInfo::chunk(&bytes, i).to_vec(),
            }
            .to_bytes()
        })
        .collect();
    for c in chunks.chunks(4) {
        post.queue(peer, context::CHUNK, c, None)?;
    }
    let mut b = Batch::default();
    b.put(Column::Matching, k::manifest(&pk, epoch), manifest_bytes);
    let mut entry = Entry::new(Kind::Manifest, now_ms());
    entry.context = context::MANIFEST.to_owned();
    entry.peer = Some(pk);
    entry.hash = Some(hash);
    entry.count = epoch;
    post.store().append(b, &[entry], true)?;
    state.set_build(
        &peer.name,
        Build {
            epoch,
            done: total,
            total,
            finished: true,
        },
    );
    info!(
        peer = %peer.name,
        epoch,
        selectors = total,
        bucket = info.bucket,
        bytes = info.len,
        seconds = started.elapsed().as_secs_f64(),
        "filter built and sent"
    );
    Ok(())
}

/// Sends each peer the tags of records stored since its filter was
/// built, for every live epoch it has a manifest for. Returns the peers
/// something was queued for.
pub fn send_deltas(post: &Post, peers: &[Peer], live: &[u64]) -> Result<Vec<[u8; 32]>, Error> {
    let store = post.store();
    let mut woken = Vec::new();
    loop {
        let mut drained = Vec::new();
        let mut selectors = Vec::new();
        let mut damaged = false;
        store.scan_prefix(Column::Matching, k::NEW, |key, value| {
            drained.push(key.to_vec());
            match decode_selectors(value) {
                Some(s) => selectors.extend(s),
                None => damaged = true,
            }
            selectors.len() < DRAIN
        })?;
        if damaged {
            warn!("skipped a damaged entry of the new-selector queue (its records reach peers at the next rebuild)");
        }
        if drained.is_empty() {
            break;
        }
        selectors.sort_unstable();
        selectors.dedup();
        for peer in peers {
            let pk = peer.key.verifying_key().to_bytes();
            let mine: Vec<Selector> = selectors
                .iter()
                .filter(|s| peer.kinds.contains(&s.kind))
                .cloned()
                .collect();
            if mine.is_empty() {
                continue;
            }
            for &epoch in live {
                let Some(m) = manifest(post, &pk, epoch)? else {
                    continue;
                };
                if !post.matching().has_keys(epoch) {
                    continue;
                }
                if delta(post, peer, &m, &mine)? {
                    woken.push(pk);
                }
            }
        }
        let mut b = Batch::default();
        for key in drained {
            b.delete(Column::Matching, key);
        }
        store.write(b)?;
    }
    Ok(woken)
}

/// One peer's delta for one epoch: tags not yet served, padded.
fn delta(
    post: &Post,
    peer: &Peer,
    m: &SignedManifest,
    selectors: &[Selector],
) -> Result<bool, Error> {
    let store = post.store();
    let pk = m.manifest.peer;
    let epoch = m.manifest.epoch;
    let tags = tags_by_kind(post, &pk, epoch, selectors, |_| {})?;
    let keys: Vec<Vec<u8>> = tags.iter().map(|t| k::tag(&pk, epoch, t)).collect();
    let held = store.multi_get(Column::Tags, keys.iter().map(Vec::as_slice))?;
    let mut b = Batch::default();
    let mut new = Vec::new();
    for ((t, s), (key, had)) in tags.iter().zip(selectors).zip(keys.into_iter().zip(held)) {
        if had.is_none() {
            b.put(Column::Tags, key, keys::selector_prefix(s));
            new.push(*t);
        }
    }
    if new.is_empty() {
        return Ok(false);
    }
    let seq_key = k::delta_seq(&pk, epoch);
    let mut seq = store
        .get(Column::Matching, &seq_key)?
        .and_then(|v| v.try_into().ok().map(u64::from_be_bytes))
        .unwrap_or(0);
    let n = new.len();
    while new.len() % DELTA_PAD != 0 {
        let mut t = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut t);
        new.push(t);
    }
    let bodies: Vec<Vec<u8>> = new
        .chunks(MAX_DELTA_TAGS)
        .map(|part| {
            seq += 1;
            Delta {
                manifest: m.clone(),
                seq,
                tags: part.to_vec(),
            }
            .to_bytes()
        })
        .collect();
    b.put(Column::Matching, seq_key, seq.to_be_bytes().to_vec());
    // Queued first, then recorded as served: a crash in between sends
    // the same tags again next time (harmless), never leaves them unsent.
    post.queue(peer, context::DELTA, &bodies, None)?;
    store.write(b)?;
    info!(peer = %peer.name, epoch, tags = n, "delta sent");
    Ok(true)
}

/// Drops tags and manifests of epochs before `epoch` (their keys are
/// destroyed), a bounded amount per call (the rest at the next tick), and
/// logs the destruction if `destroyed`.
pub fn forget(post: &Post, peers: &[Peer], epoch: u64, destroyed: bool) -> Result<(), Error> {
    let store = post.store();
    for peer in peers {
        let pk = peer.key.verifying_key().to_bytes();
        let mut old = Vec::new();
        store.scan_prefix(Column::Matching, &k::manifests(&pk), |key, _| {
            if let Some(e) = k::epoch_of(key) {
                if e < epoch {
                    old.push(e);
                }
            }
            true
        })?;
        for e in old {
            let mut b = Batch::default();
            let mut n = 0;
            store.scan_prefix(Column::Tags, &k::tags_prefix(&pk, e), |key, _| {
                b.delete(Column::Tags, key.to_vec());
                n += 1;
                n < WRITE_BATCH
            })?;
            if n < WRITE_BATCH {
                // The last of its tags: the manifest goes too.
                b.delete(Column::Matching, k::manifest(&pk, e));
                b.delete(Column::Matching, k::delta_seq(&pk, e));
            }
            store.write(b)?;
        }
    }
    if destroyed {
        let mut entry = Entry::new(Kind::KeyDestroyed, now_ms());
        entry.count = epoch.saturating_sub(1);
        store.append(Batch::default(), &[entry], true)?;
        info!(before = epoch, "OPRF keys of past epochs destroyed");
    }
    Ok(())
}

/// What a budget window is for one purpose: its number and when it ends.
fn window(post: &Post, purpose: Purpose, epoch: u64, now: u64) -> (u64, u64) {
    let s = post.matching().settings();
    match purpose {
        Purpose::Query => {
            let w = now / s.window_ms;
            (w, (w + 1).saturating_mul(s.window_ms))
        }
        Purpose::Renewal => (epoch, s.starts(epoch + 1)),
    }
}

/// Applies a peer's evaluation request: checks the manifest, the kinds
/// and the budget, evaluates, and answers (a signed refusal if not).
/// `Err(())`: the body does not decode (the envelope is refused).
pub(crate) fn evaluate<'p>(
    post: &'p Post,
    peer: &Peer,
    request: [u8; 16],
    body: &[u8],
) -> Result<Result<Handled<'p>, ()>, Error> {
    let Ok(req) = Evaluate::decode(body) else {
        return Ok(Err(()));
    };
    let pk = peer.key.verifying_key().to_bytes();
    let now = now_ms();
    let mut handled = Handled {
        count: req.elements.len() as u64,
        case: req.case,
        ..Handled::default()
    };
    let result = decide(post, peer, &pk, &req, now, &mut handled)?;
    handled.code = match &result {
        Ok(_) => 0,
        Err(Decline::Budget { .. }) => 1,
        Err(Decline::UnknownManifest) => 2,
        Err(Decline::NotAllowed { .. }) => 3,
        Err(Decline::InvalidElement { .. }) => 4,
    };
    if let Err(d) = &result {
        warn!(peer = %peer.name, elements = req.elements.len(), reason = %d, "declined an evaluation");
    }
    handled.reply = Some((context::ANSWER, Answer { request, result }.to_bytes()));
    Ok(Ok(handled))
}

fn decide<'p>(
    post: &'p Post,
    peer: &Peer,
    pk: &[u8; 32],
    req: &Evaluate,
    now: u64,
    handled: &mut Handled<'p>,
) -> Result<Result<Evaluated, Decline>, Error> {
    let state = post.matching();
    let mut found = None;
    for epoch in state.settings().live_epochs(now) {
        if let Some(m) = manifest(post, pk, epoch)? {
            if m.hash() == req.manifest {
                found = Some(epoch);
            }
        }
    }
    let Some(epoch) = found else {
        return Ok(Err(Decline::UnknownManifest));
    };
    let kind = req.kind;
    if !peer.kinds.contains(&kind) {
        return Ok(Err(Decline::NotAllowed { kind }));
    }
    let Some(key) = state.key(pk, epoch, kind) else {
        return Ok(Err(Decline::UnknownManifest));
    };
    // Evaluated before the budget is checked, outside its lock, so
    // batches evaluate on every core; an evaluation over budget is thrown
    // away unsent.
    let (elements, proof) = match key.evaluate_batch(&req.elements, &mut rand::rngs::OsRng) {
        Ok(e) => e,
        Err(oprf::Error::InvalidElement { index }) => {
            return Ok(Err(Decline::InvalidElement {
                index: index as u32,
            }))
        }
        Err(e) => return Err(e.into()),
    };
    let (w, renews_ms) = window(post, req.purpose, epoch, now);
    let purpose = match req.purpose {
        Purpose::Query => 0,
        Purpose::Renewal => 1,
    };
    // The check and the charge, held until the charge commits with the
    // envelope's receipt.
    let guard = super::lock(&state.budgets);
    let budget_key = k::budget(pk, purpose, kind.code(), w);
    let used = post
        .store()
        .get(Column::Matching, &budget_key)?
        .and_then(|v| v.try_into().ok().map(u64::from_be_bytes))
        .unwrap_or(0);
    let limit = match req.purpose {
        Purpose::Query => u64::from(peer.budget.get(&kind).copied().unwrap_or(0)),
        Purpose::Renewal => u64::from(state.settings().renewal_budget),
    };
    let n = req.elements.len() as u64;
    if used + n > limit {
        return Ok(Err(Decline::Budget { kind, renews_ms }));
    }
    handled.effects.put(
        Column::Matching,
        budget_key,
        (used + n).to_be_bytes().to_vec(),
    );
    handled.guards.push(guard);
    Ok(Ok(Evaluated { elements, proof }))
}

#[cfg(test)]
mod tests {
    use liaison_protocol::SelectorKind;

    use super::*;

    #[test]
    fn selector_runs_round_trip() {
        let s = vec![
            Selector::new(SelectorKind::Phone, "+996775987817"),
            Selector::new(SelectorKind::PersonFull, "kurbanov|yusuf|1985-03-14"),
        ];
        assert_eq!(decode_selectors(&encode_selectors(&s)).unwrap(), s);
        assert!(decode_selectors(&encode_selectors(&s)[..10]).is_none());
    }
}
