//! The owner's side: tags, filters and manifests per (peer, epoch);
//! deltas of new records; evaluations within each peer's budget.

use std::sync::atomic::{AtomicU64, Ordering};

use liaison_config::Peer;
use liaison_protocol::audit::{Entry, Kind};
use liaison_protocol::exchange::MAX_RECORDS;
use liaison_protocol::filter::{self, Filter};
use liaison_protocol::matching::{
    self, Answer, Decline, Delta, Evaluate, Evaluated, FilterInfo, Manifest, Purpose,
    SignedManifest, DELTA_PAD, MAX_DELTA_TAGS,
};
use liaison_protocol::oprf::{self, ServerKey};
use liaison_protocol::{Selector, SelectorKind};
use rand::RngCore as _;
use tracing::{info, warn};

use super::{budget, context, Build, Error, Matching};
use crate::post::{Applied, Handled};
use crate::store::matching::{self as stored, Drained};
use crate::store::records::Records;
use crate::store::Batch;

/// Tags written per store batch during a build.
const WRITE_BATCH: usize = 16 * 1024;
/// Queued selectors drained per delta round.
const DRAIN: usize = 64 * 1024;
/// Queued records drained per delta round (about 13 selectors each).
const DRAIN_RECORDS: usize = 8 * 1024;

/// Our manifest for `peer` in `epoch`, if built.
pub fn manifest(
    matching: &Matching,
    peer: &[u8; 32],
    epoch: u64,
) -> Result<Option<SignedManifest>, Error> {
    Ok(stored::manifest(matching.post().store(), peer, epoch)?)
}

/// The records of each `person_fuzzy` selector, at most
/// [`MAX_RECORDS`] each, sorted.
type FuzzyRecords = std::collections::HashMap<Selector, Vec<String>>;

fn add_fuzzy(map: &mut FuzzyRecords, s: &Selector, id: &str) {
    let ids = map.entry(s.clone()).or_default();
    if ids.len() < MAX_RECORDS && !ids.iter().any(|i| i == id) {
        ids.push(id.to_owned());
        ids.sort_unstable();
    }
}

/// Selectors evaluated together: their encodings share one inversion
/// ([`ServerKey::evaluate_many`]), and a stop is seen within one such
/// slice (a few milliseconds).
const TAG_SLICE: usize = 256;

/// `F`'s tag for each selector, on every core. Each slice of
/// [`TAG_SLICE`] first asks `stopping`: a daemon told to stop must not
/// finish minutes of curve arithmetic first (nothing is written here, so
/// stopping loses nothing but the work).
pub fn tags(
    key: &ServerKey,
    selectors: &[Selector],
    done: &AtomicU64,
    stopping: &(dyn Fn() -> bool + Sync),
) -> Result<Vec<[u8; 32]>, Error> {
    let slices: Vec<&[Selector]> = selectors.chunks(TAG_SLICE).collect();
    let tagged = super::on_every_core(&slices, |slice| {
        if stopping() {
            return Err(crate::store::Error::Stopping.into());
        }
        let inputs: Vec<Vec<u8>> = slice.iter().map(oprf::input).collect();
        let outputs = key.evaluate_many(&inputs)?;
        done.fetch_add(slice.len() as u64, Ordering::Relaxed);
        Ok(outputs.iter().map(oprf::tag).collect::<Vec<_>>())
    })?;
    Ok(tagged.concat())
}

/// The tags of `selectors` (sorted, so each kind is one run) for `peer` in
/// `epoch`, each kind under its own key, in parts that `progress` hears of
/// (the count tagged so far).
fn tags_by_kind(
    matching: &Matching,
    peer: &[u8; 32],
    epoch: u64,
    selectors: &[Selector],
    progress: &mut dyn FnMut(usize),
) -> Result<Vec<[u8; 32]>, Error> {
    let done = AtomicU64::new(0);
    let store = matching.post().store();
    let stopping = || store.stopping();
    let mut out = Vec::with_capacity(selectors.len());
    for run in selectors.chunk_by(|a, b| a.kind == b.kind) {
        let kind = run[0].kind;
        let key = matching
            .key(peer, epoch, kind)
            .ok_or(Error::NoKey { epoch })?;
        for part in run.chunks(64 * 1024) {
            out.extend(tags(&key, part, &done, &stopping)?);
            progress(out.len());
        }
    }
    Ok(out)
}

/// Selector occurrences a build collects before it tags and writes them:
/// what bounds its memory (these selectors, their tags and `person_fuzzy`
/// records, about 100 MiB), whatever the records held. Of every tag the
/// build keeps only the filter's 8-byte key. A selector found again in a
/// later run is tagged again (same key, same tag, written over itself):
/// the price of not holding every selector at once.
const BUILD_RUN: usize = 1 << 20;

/// The selectors of the records read since the last run was written.
#[derive(Default)]
struct Run {
    selectors: Vec<Selector>,
    fuzzy: FuzzyRecords,
}

/// What a build has written so far.
#[derive(Default)]
struct Written {
    /// The filter key of every tag written (repeats included).
    keys: Vec<u64>,
    /// Selectors tagged, a selector of several runs once per run.
    evaluated: u64,
}

impl Run {
    /// Tags this run's selectors (sorted and deduplicated first, so each
    /// kind is one run) and writes them, a `person_fuzzy` tag's records
    /// merged with those an earlier run of the same build wrote for it.
    fn write(
        &mut self,
        matching: &Matching,
        peer: &[u8; 32],
        epoch: u64,
        written: &mut Written,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<(), Error> {
        let store = matching.post().store();
        let mut selectors = std::mem::take(&mut self.selectors);
        let fuzzy = std::mem::take(&mut self.fuzzy);
        selectors.sort_unstable();
        selectors.dedup();
        let n = selectors.len();
        let tags = tags_by_kind(matching, peer, epoch, &selectors, &mut |done| {
            progress(done, n)
        })?;
        written.keys.extend(tags.iter().map(filter::key));
        written.evaluated += tags.len() as u64;
        let fuzzy_tags: Vec<[u8; 32]> = tags
            .iter()
            .zip(&selectors)
            .filter(|(_, s)| s.kind == SelectorKind::PersonFuzzy)
            .map(|(t, _)| *t)
            .collect();
        let mut earlier = stored::served_tags(store, peer, epoch, &fuzzy_tags)?.into_iter();
        for (chunk_tags, chunk_sels) in tags.chunks(WRITE_BATCH).zip(selectors.chunks(WRITE_BATCH))
        {
            let mut b = Batch::default();
            for (t, s) in chunk_tags.iter().zip(chunk_sels) {
                let mut records = Vec::new();
                if s.kind == SelectorKind::PersonFuzzy {
                    if let Some(v) = earlier.next().flatten() {
                        records = stored::tag_records(&v).unwrap_or_default();
                    }
                    records.extend(fuzzy.get(s).into_iter().flatten().cloned());
                    records.sort_unstable();
                    records.dedup();
                    records.truncate(MAX_RECORDS);
                }
                stored::put_tag(&mut b, peer, epoch, t, s, &records);
            }
            store.check_stop()?;
            store.write(b)?;
        }
        Ok(())
    }
}

/// Builds and sends `peer`'s tags, filter and manifest for `epoch`: every
/// selector of every record, of the kinds that peer may match. The records
/// are read once, in runs of [`BUILD_RUN`] selectors, each tagged and
/// written before the next is read.
///
/// Stops with [`crate::store::Error::Stopping`] when the store is asked
/// to stop, at any point: the manifest is written last, so an
/// interrupted build has none, and the next tick builds again from the
/// start (the tags an interrupted build wrote are deleted first; with
/// the same key they would be the same, but a record deleted meanwhile
/// must not keep its tag).
pub fn build(matching: &Matching, peer: &Peer, epoch: u64) -> Result<(), Error> {
    build_in_runs(matching, peer, epoch, BUILD_RUN)
}

/// [`build`] in runs of `run_len` selectors (tests try small runs).
pub(super) fn build_in_runs(
    matching: &Matching,
    peer: &Peer,
    epoch: u64,
    run_len: usize,
) -> Result<(), Error> {
    let pk = peer.key.verifying_key().to_bytes();
    let settings = *matching.settings();
    let mut keys = Vec::new();
    for kind in &peer.kinds {
        let key = matching
            .key(&pk, epoch, *kind)
            .ok_or(Error::NoKey { epoch })?;
        keys.push((*kind, key.public_key().to_bytes()));
    }
    let store = matching.post().store();
    loop {
        store.check_stop()?;
        let mut b = Batch::default();
        if stored::delete_tags(store, &mut b, &pk, epoch, WRITE_BATCH)? == 0 {
            break;
        }
        store.write(b)?;
    }
    // Taken before the records are read: every record the queue names up
    // to here is in this filter, and the deltas need not send it again.
    let through = stored::newest_queued(store)?;
    let total = Records::new(store).counts()?.records;
    let started = std::time::Instant::now();
    // Progress in records: those of earlier runs, and the share of this
    // run's records that its tagged share of selectors stands for.
    let mut before = 0u64;
    let mut read = 0u64;
    let progress = |before: u64, read: u64, tagged: usize, of: usize| {
        let done = before + (read - before) * tagged as u64 / of.max(1) as u64;
        matching.set_build(
            &peer.name,
            Build {
                epoch,
                done,
                total: total.max(read),
                finished: false,
            },
        )
    };
    progress(0, 0, 0, 0);
    let mut run = Run::default();
    let mut written = Written::default();
    let mut failed = None;
    // `TLP:RED` records put nothing in a filter unless the peer's
    // agreement opts in: even a hit would tell it they exist.
    Records::new(store).for_each_shared(|id, sels, red| {
        read += 1;
        if read % 4096 == 0 && store.stopping() {
            return false;
        }
        if !red || peer.match_red {
            for s in sels.iter().filter(|s| peer.kinds.contains(&s.kind)) {
                if s.kind == SelectorKind::PersonFuzzy {
                    add_fuzzy(&mut run.fuzzy, s, id);
                }
                run.selectors.push(s.clone());
            }
        }
        if run.selectors.len() >= run_len {
            let at = (before, read);
            let mut progress = |tagged, of| progress(at.0, at.1, tagged, of);
            if let Err(e) = run.write(matching, &pk, epoch, &mut written, &mut progress) {
                failed = Some(e);
                return false;
            }
            before = read;
        }
        true
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    store.check_stop()?;
    let at = (before, read);
    run.write(matching, &pk, epoch, &mut written, &mut |tagged, of| {
        progress(at.0, at.1, tagged, of)
    })?;
    let Written {
        keys: mut filter_keys,
        evaluated,
    } = written;
    filter_keys.sort_unstable();
    filter_keys.dedup();
    let distinct = filter_keys.len();
    let filter = Filter::of_keys(filter_keys, &mut rand::rngs::OsRng)?;
    store.check_stop()?;
    let bytes = filter.to_bytes();
    let info = FilterInfo::of(filter.bucket(), &bytes);
    let signed = Manifest {
        federation: matching.post().federation().to_owned(),
        owner: matching
            .post()
            .identity()
            .signing
            .verifying_key()
            .to_bytes(),
        peer: pk,
        epoch,
        version: matching.post().now_ms(),
        starts_ms: settings.starts(epoch),
        ends_ms: settings.starts(epoch + 1),
        keys,
        filter: info,
    }
    .sign(&matching.post().identity().signing);
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
        matching.post().queue(peer, context::CHUNK, c, None)?;
    }
    let mut b = Batch::default();
    stored::put_manifest(&mut b, &pk, epoch, manifest_bytes);
    if let Some(key) = &through {
        stored::put_built_through(&mut b, &pk, epoch, key);
    }
    let mut entry = Entry::new(Kind::Manifest, matching.post().now_ms());
    entry.context = context::MANIFEST.to_owned();
    entry.peer = Some(pk);
    entry.hash = Some(hash);
    entry.count = epoch;
    matching.post().store().append(b, &[entry], true)?;
    matching.set_build(
        &peer.name,
        Build {
            epoch,
            done: read,
            total: read,
            finished: true,
        },
    );
    info!(
        peer = %peer.name,
        epoch,
        records = read,
        selectors = distinct,
        evaluated,
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
pub fn send_deltas(
    matching: &Matching,
    peers: &[Peer],
    live: &[u64],
) -> Result<Vec<[u8; 32]>, Error> {
    let store = matching.post().store();
    let mut woken = Vec::new();
    loop {
        let mut drained = Vec::new();
        // Selectors with whether they came from a `TLP:RED` record, and
        // the (last) queue entry that named them: an index into `drained`.
        let mut selectors: Vec<(Selector, bool, usize)> = Vec::new();
        let (mut fuzzy, mut fuzzy_red) = (FuzzyRecords::new(), FuzzyRecords::new());
        let mut damaged = false;
        let mut ids = Vec::new();
        stored::drain(store, |key, entry| {
            let at = drained.len();
            drained.push(key.to_vec());
            match entry {
                Drained::Records(more) => ids.extend(more.into_iter().map(|id| (id, at))),
                Drained::Selectors { red, items } => {
                    for (s, id) in items {
                        if let Some(id) = id {
                            add_fuzzy(if red { &mut fuzzy_red } else { &mut fuzzy }, &s, &id);
                        }
                        selectors.push((s, red, at));
                    }
                }
                Drained::Damaged => damaged = true,
            }
            selectors.len() < DRAIN && ids.len() < DRAIN_RECORDS
        })?;
        // The records as they are now: one removed since is not sent, one
        // whose handling changed is sent as it is now.
        // An id queued twice counts from its newest entry.
        ids.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        ids.dedup_by(|a, b| a.0 == b.0);
        let names: Vec<&str> = ids.iter().map(|(id, _)| id.as_str()).collect();
        let now = Records::new(store).shared_of(&names)?;
        for (&(ref id, at), record) in ids.iter().zip(now) {
            // Removed since it was queued: nothing to send.
            let Some((sels, red)) = record else { continue };
            for s in sels {
                if s.kind == SelectorKind::PersonFuzzy {
                    add_fuzzy(if red { &mut fuzzy_red } else { &mut fuzzy }, &s, id);
                }
                selectors.push((s, red, at));
            }
        }
        if damaged {
            warn!("skipped a damaged entry of the new-selector queue (its records reach peers at the next rebuild)");
        }
        if drained.is_empty() {
            break;
        }
        // Stopped here or in a peer's delta below, the drained entries stay
        // queued: the next start sends them again, skipping the tags a
        // peer was served already.
        store.check_stop()?;
        // Each selector once per handling, from its newest entry.
        selectors.sort_unstable_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)).then(b.2.cmp(&a.2)));
        selectors.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        for peer in peers {
            let pk = peer.key.verifying_key().to_bytes();
            let theirs: Vec<&(Selector, bool, usize)> = selectors
                .iter()
                .filter(|(s, red, _)| peer.kinds.contains(&s.kind) && (!red || peer.match_red))
                .collect();
            if theirs.is_empty() {
                continue;
            }
            for &epoch in live {
                let Some(m) = manifest(matching, &pk, epoch)? else {
                    continue;
                };
                if !matching.has_keys(epoch) {
                    continue;
                }
                // What the filter holds already is not sent again: the
                // build read the records after the entries up to its mark.
                let through = stored::built_through(store, &pk, epoch)?;
                let mut mine: Vec<Selector> = theirs
                    .iter()
                    .filter(|(_, _, at)| through.as_deref() < Some(drained[*at].as_slice()))
                    .map(|(s, _, _)| s.clone())
                    .collect();
                // Sorted by selector, so each kind is one run.
                mine.dedup();
                if mine.is_empty() {
                    continue;
                }
                let records = |s: &Selector| -> Vec<String> {
                    let mut ids = fuzzy.get(s).cloned().unwrap_or_default();
                    if peer.match_red {
                        ids.extend(fuzzy_red.get(s).into_iter().flatten().cloned());
                    }
                    ids
                };
                if delta(matching, peer, &m, &mine, &records)? {
                    woken.push(pk);
                }
            }
        }
        let mut b = Batch::default();
        for key in drained {
            stored::delete_queued(&mut b, key);
        }
        store.write(b)?;
    }
    Ok(woken)
}

/// One peer's delta for one epoch: one-way images of the tags not yet
/// served, padded. At most [`matching::MAX_EPOCH_DELTA_TAGS`] per (peer, epoch)
/// (the state's delta cap):
/// past that, new records wait for the next epoch's filter (the peer
/// would refuse more).
fn delta(
    matching: &Matching,
    peer: &Peer,
    m: &SignedManifest,
    selectors: &[Selector],
    records: &dyn Fn(&Selector) -> Vec<String>,
) -> Result<bool, Error> {
    let store = matching.post().store();
    let pk = m.manifest.peer;
    let epoch = m.manifest.epoch;
    let tags = tags_by_kind(matching, &pk, epoch, selectors, &mut |_| {})?;
    let held = stored::served_tags(store, &pk, epoch, &tags)?;
    let (mut seq, sent) = stored::deltas_sent(store, &pk, epoch)?;
    let cap = matching.delta_cap();
    let room = cap.saturating_sub(sent);
    let mut b = Batch::default();
    let mut new = Vec::new();
    let mut over = 0usize;
    for ((t, s), had) in tags.iter().zip(selectors).zip(held) {
        if let Some(v) = had {
            // Served already; a fuzzy key learns of its new records.
            if s.kind == SelectorKind::PersonFuzzy {
                if let Some(mut ids) = stored::tag_records(&v) {
                    let before = ids.len();
                    for id in records(s) {
                        if ids.len() < MAX_RECORDS && !ids.contains(&id) {
                            ids.push(id);
                        }
                    }
                    if ids.len() > before {
                        stored::put_tag(&mut b, &pk, epoch, t, s, &ids);
                    }
                }
            }
            continue;
        }
        // Padding counts too: the peer counts what it stores.
        if (new.len() + 1).next_multiple_of(DELTA_PAD) as u64 > room {
            over += 1;
            continue;
        }
        stored::put_tag(&mut b, &pk, epoch, t, s, &records(s));
        new.push(matching::delta_image(t));
    }
    if over > 0 {
        warn!(peer = %peer.name, epoch, left_out = over, cap, "delta cap for this epoch reached: these records reach the peer with the next epoch's filter");
    }
    if new.is_empty() {
        // Nothing to send, but fuzzy keys may have learnt new records.
        if !b.is_empty() {
            store.write(b)?;
        }
        return Ok(false);
    }
    let n = new.len();
    while new.len() % DELTA_PAD != 0 {
        let mut t = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut t);
        new.push(t);
    }
    let padded = new.len() as u64;
    let bodies: Vec<Vec<u8>> = new
        .chunks(MAX_DELTA_TAGS)
        .map(|part| {
            seq += 1;
            Delta {
                manifest: m.clone(),
                seq,
                images: part.to_vec(),
            }
            .to_bytes()
        })
        .collect();
    stored::put_deltas_sent(&mut b, &pk, epoch, seq, sent + padded);
    // Queued first, then recorded as served: a crash in between sends
    // the same tags again next time (harmless), never leaves them unsent.
    matching.post().queue(peer, context::DELTA, &bodies, None)?;
    store.write(b)?;
    info!(peer = %peer.name, epoch, tags = n, "delta sent");
    Ok(true)
}

/// Drops tags and manifests of epochs before `epoch` (their keys are
/// destroyed), a bounded amount per call (the rest at the next tick), and
/// logs the destruction if `destroyed`.
pub fn forget(
    matching: &Matching,
    peers: &[Peer],
    epoch: u64,
    destroyed: bool,
) -> Result<(), Error> {
    let store = matching.post().store();
    for peer in peers {
        let pk = peer.key.verifying_key().to_bytes();
        let old = stored::manifest_epochs(store, &pk)?
            .into_iter()
            .filter(|&e| e < epoch);
        for e in old {
            let mut b = Batch::default();
            let n = stored::delete_tags(store, &mut b, &pk, e, WRITE_BATCH)?;
            if n < WRITE_BATCH {
                // The last of its tags: the manifest goes too.
                stored::delete_manifest(&mut b, &pk, e);
            }
            store.write(b)?;
        }
    }
    if destroyed {
        let mut entry = Entry::new(Kind::KeyDestroyed, matching.post().now_ms());
        entry.count = epoch.saturating_sub(1);
        store.append(Batch::default(), &[entry], true)?;
        info!(before = epoch, "OPRF keys of past epochs destroyed");
    }
    Ok(())
}

/// Applies a peer's evaluation request: checks the manifest and the
/// kind, reserves the batch in the peer's budget, evaluates, and answers
/// (a signed refusal if not). `Err(refusal)`: the body does not decode
/// (the envelope is refused). The `received` entry's code is the outcome
/// ([`matching::evaluation_code`]), with the purpose in it.
pub(crate) fn evaluate<'p>(
    matching: &'p Matching,
    peer: &Peer,
    request: [u8; 16],
    req: Evaluate,
) -> Result<Applied<'p>, Error> {
    let pk = peer.key.verifying_key().to_bytes();
    let mut handled = Handled {
        count: req.elements.len() as u64,
        case: req.case,
        ..Handled::default()
    };
    let result = decide(matching, peer, &pk, &req, &mut handled)?;
    handled.code = matching::evaluation_code(req.purpose, result.as_ref().err());
    if let Err(d) = &result {
        warn!(peer = %peer.name, elements = req.elements.len(), purpose = ?req.purpose, reason = %d, "declined an evaluation");
    }
    handled.reply = Some((context::ANSWER, Answer { request, result }.to_bytes()));
    Ok(Applied::Handled(handled))
}

fn decide<'p>(
    matching: &'p Matching,
    peer: &Peer,
    pk: &[u8; 32],
    req: &Evaluate,
    handled: &mut Handled<'p>,
) -> Result<Result<Evaluated, Decline>, Error> {
    let now = matching.post().now_ms();
    let mut found = None;
    for epoch in matching.settings().live_epochs(now) {
        if let Some(m) = manifest(matching, pk, epoch)? {
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
    let Some(key) = matching.key(pk, epoch, kind) else {
        return Ok(Err(Decline::UnknownManifest));
    };
    let ask = budget::Ask {
        peer: *pk,
        kind,
        n: req.elements.len() as u64,
        renewal: req.purpose == Purpose::Renewal,
    };
    let limits = budget::Limits {
        budget: u64::from(peer.budget.get(&kind).copied().unwrap_or(0)),
        renewals: u64::from(matching.settings().renewal_budget),
        window_ms: matching.settings().window_ms,
    };
    // Reserved before anything is evaluated: a peer over its budget
    // costs us a lookup, not thousands of scalar multiplications.
    {
        let _budgets = matching.budgets();
        if let Err(renews_ms) = budget::reserve(
            matching.post().store(),
            &matching.reserved,
            ask,
            limits,
            now,
        )? {
            return Ok(Err(Decline::Budget { kind, renews_ms }));
        }
    }
    // Evaluated outside the lock, so batches use every core.
    matching.count_evaluation(ask.n);
    let evaluated = key.evaluate_batch(&req.elements, &mut rand::rngs::OsRng);
    // The reservation becomes a charge that commits with the receipt:
    // the lock is held until then, so a check sees one or the other.
    let guard = matching.budgets();
    budget::release(&matching.reserved, ask);
    let (elements, proof) = match evaluated {
        Ok(e) => e,
        Err(oprf::Error::InvalidElement { index }) => {
            return Ok(Err(Decline::InvalidElement {
                index: index as u32,
            }))
        }
        Err(e) => return Err(e.into()),
    };
    budget::charge(
        matching.post().store(),
        &mut handled.effects,
        ask,
        limits,
        matching.post().now_ms(),
    )?;
    handled.guards.push(Box::new(guard));
    Ok(Ok(Evaluated { elements, proof }))
}
