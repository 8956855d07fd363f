//! Hit/no-hit matching (DESIGN.md, "Matching").
//!
//! Two roles, both on every node:
//! - [`owner`]: for each trusted peer and epoch, an OPRF key from the
//!   [`ratchet`], the tags of every selector that peer may match, a binary
//!   fuse filter of them, and a signed manifest; all sent to the peer
//!   through the outbox, then deltas of new records on a schedule. It
//!   answers the peer's blinded evaluations within its budget.
//! - [`querier`]: keeps each peer's manifests, filters and deltas; blinds
//!   an analyst's selectors, sends them, checks each answer's proof
//!   against the manifest's key, tests the tags and stores the hits;
//!   keeps the watchlist's tags and raises alerts when a delta holds one.
//!
//! In: analysts' selectors (the API and CLI, through [`input`]), peers'
//! messages (the [`crate::router`] decodes them and calls the handlers
//! here inside [`Post::receive`](crate::post::Post::receive)), the
//! daemon's [`tick`]. Out: bodies to seal and queue through the
//! [`Post`] below, and matching's state in the store through
//! [`crate::store::matching`]. Nothing here logs a selector or a tag.

mod budget;
pub mod input;
pub mod owner;
pub mod querier;
pub mod ratchet;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use liaison_config::Config;
use serde::{Deserialize, Serialize};

use std::sync::Arc;

use crate::post::Post;
use crate::store;

/// Message types of matching.
pub mod context {
    /// The owner's signed manifest for the recipient.
    pub const MANIFEST: &str = "liaison/match/manifest/v1";
    /// A piece of the owner's filter.
    pub const CHUNK: &str = "liaison/match/filter/v1";
    /// One-way images of the tags of new records (v2: v1 carried the
    /// tags themselves, which a follow-up request could name).
    pub const DELTA: &str = "liaison/match/delta/v2";
    /// Blinded selectors to evaluate.
    pub const EVALUATE: &str = "liaison/match/evaluate/v1";
    /// The evaluation, or a signed refusal.
    pub const ANSWER: &str = "liaison/match/answer/v1";
}

/// Errors of matching.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// The envelope layer failed.
    #[error(transparent)]
    Post(#[from] crate::post::Error),
    /// A peer's manifest we hold does not decode (the store is damaged).
    #[error("the manifest {peer} sent for epoch {epoch}, as stored, does not decode: the store is damaged (`liaison check`)")]
    DamagedManifest {
        /// The peer's name.
        peer: String,
        /// The epoch.
        epoch: u64,
    },
    /// A worker thread of a batch panicked.
    #[error("a matching worker panicked")]
    WorkerPanicked,
    /// The key ratchet failed.
    #[error(transparent)]
    Ratchet(#[from] ratchet::Error),
    /// The OPRF refused an input.
    #[error("OPRF: {0}")]
    Oprf(#[from] liaison_protocol::oprf::Error),
    /// A filter could not be built.
    #[error("filter: {0}")]
    Filter(#[from] liaison_protocol::filter::Error),
    /// No OPRF key for an epoch: destroyed with its epoch, or the key
    /// ratchet is not open.
    #[error("no OPRF key for epoch {epoch} (destroyed, or the key ratchet is not open)")]
    NoKey {
        /// The epoch.
        epoch: u64,
    },
}

/// Timing and budgets, from `[matching]`.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Epoch length, ms.
    pub epoch_ms: u64,
    /// Key overlap, ms.
    pub overlap_ms: u64,
    /// Budget window, ms.
    pub window_ms: u64,
    /// How much of a peer's budget (per kind per window) its watchlist
    /// renewals may take.
    pub renewal_budget: u32,
    /// How long a match waits for its answers.
    pub answer_timeout: Duration,
}

impl Settings {
    /// From a validated config.
    pub fn from_config(config: &Config) -> Settings {
        let m = &config.matching;
        Settings {
            epoch_ms: m.epoch.as_millis().max(1) as u64,
            overlap_ms: m.overlap.as_millis() as u64,
            window_ms: m.budget_window.as_millis().max(1) as u64,
            renewal_budget: m.renewal_budget,
            answer_timeout: m.answer_timeout,
        }
    }

    /// The epoch at `now_ms`.
    pub fn epoch_at(&self, now_ms: u64) -> u64 {
        now_ms / self.epoch_ms
    }

    /// When `epoch` starts, Unix ms.
    pub fn starts(&self, epoch: u64) -> u64 {
        epoch.saturating_mul(self.epoch_ms)
    }

    /// The epochs whose keys are live at `now_ms`, oldest first: the
    /// previous one during the overlap after it ended, the current one,
    /// and the next one during the overlap before it starts (built early
    /// so peers hold its filter when it begins).
    pub fn live_epochs(&self, now_ms: u64) -> Vec<u64> {
        let e = self.epoch_at(now_ms);
        let mut out = Vec::with_capacity(3);
        if e > 0 && now_ms < self.starts(e) + self.overlap_ms {
            out.push(e - 1);
        }
        out.push(e);
        if now_ms + self.overlap_ms >= self.starts(e + 1) {
            out.push(e + 1);
        }
        out
    }
}

/// Progress of one filter build, for `liaison status`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Build {
    /// The epoch being built.
    pub epoch: u64,
    /// Records whose selectors are tagged (a build reads records in runs
    /// and tags each run's selectors together).
    pub done: u64,
    /// Records held when the build started (or read, if more).
    pub total: u64,
    /// Whether it is finished (manifest sent).
    pub finished: bool,
}

/// The right to check and reserve a peer's budget, held from the check
/// until the charge commits with the receipt (`Matching::budgets`).
#[derive(Debug)]
pub struct Budgets(());

/// The right to change a peer's filter state (manifests, chunks,
/// deltas), held from reading it to committing the change
/// ([`Matching::filters`]). Not a striped store key lock: those are also
/// taken inside the commit, and two stripes may coincide.
///
/// It holds the peers' filters as last decoded: only under this lock is a
/// stored filter replaced or read, so the copy cannot go stale.
#[derive(Debug, Default)]
pub struct Filters {
    pub(crate) decoded: querier::Decoded,
}

/// Matching: its state in memory, over the envelope layer it sends
/// through. The [`crate::router`] owns it.
#[derive(Debug)]
pub struct Matching {
    post: Arc<Post>,
    settings: Settings,
    ratchet: Mutex<Option<ratchet::Ratchet>>,
    pub(crate) pending: Mutex<HashMap<[u8; 16], querier::Pending>>,
    pub(crate) queries: Mutex<HashMap<u64, querier::Query>>,
    changed: tokio::sync::watch::Sender<u64>,
    builds: Mutex<BTreeMap<String, Build>>,
    next_id: AtomicU64,
    budgets: Mutex<Budgets>,
    /// Budget reserved for batches being evaluated.
    reserved: Mutex<budget::Reserved>,
    /// Selectors evaluated for peers since start (the owner's work).
    evaluated: AtomicU64,
    /// Delta images per (owner, epoch), both ways: what we send a peer
    /// and what we keep of one ([`MAX_EPOCH_DELTA_TAGS`], lowered by
    /// tests to reach it).
    delta_cap: AtomicU64,
    filters: Mutex<Filters>,
    /// Watchlist renewals in flight: (owner, epoch).
    pub(crate) renewing: Mutex<std::collections::HashSet<([u8; 32], u64)>>,
}

impl Matching {
    /// Matching with `settings` over `post`; the owner role needs
    /// [`Matching::open_keys`].
    pub fn new(post: Arc<Post>, settings: Settings) -> Matching {
        Matching {
            post,
            settings,
            ratchet: Mutex::new(None),
            pending: Mutex::default(),
            queries: Mutex::default(),
            changed: tokio::sync::watch::Sender::new(0),
            builds: Mutex::default(),
            next_id: AtomicU64::new(crate::clock::system_ms() << 16),
            budgets: Mutex::new(Budgets(())),
            reserved: Mutex::default(),
            evaluated: AtomicU64::new(0),
            delta_cap: AtomicU64::new(liaison_protocol::matching::MAX_EPOCH_DELTA_TAGS),
            filters: Mutex::default(),
            renewing: Mutex::default(),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The envelope layer below.
    pub fn post(&self) -> &Post {
        &self.post
    }

    /// Takes [`Budgets`].
    pub(crate) fn budgets(&self) -> std::sync::MutexGuard<'_, Budgets> {
        lock(&self.budgets)
    }

    /// Takes [`Filters`].
    pub fn filters(&self) -> std::sync::MutexGuard<'_, Filters> {
        lock(&self.filters)
    }

    /// Opens the key ratchet in `key_dir` (the owner role) at `now`
    /// (Unix ms): keys of epochs long over are destroyed.
    pub fn open_keys(&self, key_dir: &std::path::Path, now: u64) -> Result<(), Error> {
        let first = self.settings.live_epochs(now)[0];
        let mut r = ratchet::Ratchet::open(key_dir, first)?;
        // Back after a long stop: the keys of epochs long over go now.
        r.forget_before(first)?;
        *lock(&self.ratchet) = Some(r);
        Ok(())
    }

    /// The OPRF key for `peer` in `epoch`, if it exists.
    pub(crate) fn key(
        &self,
        peer: &[u8; 32],
        epoch: u64,
        kind: liaison_protocol::SelectorKind,
    ) -> Option<liaison_protocol::oprf::ServerKey> {
        lock(&self.ratchet).as_ref()?.key(peer, epoch, kind)
    }

    /// Whether the keys of `epoch` still exist.
    pub(crate) fn has_keys(&self, epoch: u64) -> bool {
        lock(&self.ratchet).as_ref().is_some_and(|r| {
            r.key(&[0; 32], epoch, liaison_protocol::SelectorKind::Phone)
                .is_some()
        })
    }

    /// Destroys keys of epochs before `epoch`; returns whether any were.
    pub(crate) fn forget_keys_before(&self, epoch: u64) -> Result<bool, Error> {
        match lock(&self.ratchet).as_mut() {
            Some(r) => Ok(r.forget_before(epoch)?),
            None => Ok(false),
        }
    }

    /// Counts `n` selectors about to be evaluated for a peer.
    pub(crate) fn count_evaluation(&self, n: u64) {
        self.evaluated.fetch_add(n, Ordering::Relaxed);
    }

    /// Selectors evaluated for peers since start.
    pub fn evaluated(&self) -> u64 {
        self.evaluated.load(Ordering::Relaxed)
    }

    /// Delta images per (owner, epoch), both ways.
    pub(crate) fn delta_cap(&self) -> u64 {
        self.delta_cap.load(Ordering::Relaxed)
    }

    /// Lowers the delta cap (tests reach it without a million tags).
    #[cfg(test)]
    pub(crate) fn set_delta_cap(&self, cap: u64) {
        self.delta_cap.store(cap, Ordering::Relaxed);
    }

    /// A fresh local id (queries, hits, alerts).
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Tells waiters that answers arrived.
    pub(crate) fn notify(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that changes whenever answers arrive.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
    }

    pub(crate) fn set_build(&self, peer: &str, build: Build) {
        lock(&self.builds).insert(peer.to_owned(), build);
    }

    /// Filter builds per peer name.
    pub fn builds(&self) -> BTreeMap<String, Build> {
        lock(&self.builds).clone()
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `f` of every item, the items split evenly over the cores (scoped
/// threads), results in order; the first error wins.
pub(crate) fn on_every_core<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&T) -> Result<R, Error> + Sync,
) -> Result<Vec<R>, Error> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = items.len().div_ceil(threads).max(1);
    let f = &f;
    let parts: Vec<Result<Vec<R>, Error>> = std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(per)
            .map(|part| scope.spawn(move || part.iter().map(f).collect()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err(Error::WorkerPanicked)))
            .collect()
    });
    let mut out = Vec::with_capacity(items.len());
    for p in parts {
        out.extend(p?);
    }
    Ok(out)
}

/// What `liaison status` shows of matching.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Filter builds per peer (only while the daemon runs).
    pub builds: BTreeMap<String, Build>,
    /// Per peer: the epochs of ours it holds a manifest of.
    pub serving: BTreeMap<String, Vec<u64>>,
    /// Per peer: the epochs of its filters we hold whole.
    pub filters: BTreeMap<String, Vec<u64>>,
    /// Stored hits.
    pub hits: u64,
    /// Watchlist entries.
    pub watches: u64,
    /// Alerts raised.
    pub alerts: u64,
    /// Answers kept as evidence of a failed proof.
    pub evidence: u64,
    /// Peers whose agreement lets our `TLP:RED` records into their filters.
    #[serde(default)]
    pub match_red: Vec<String>,
    /// Selectors evaluated for peers since the daemon started (daemon only).
    #[serde(default)]
    pub evaluated: Option<u64>,
    /// Peers at which the watchlist is not watched: its renewal was
    /// declined (peer, epoch, reason), until a renewal succeeds.
    #[serde(default)]
    pub unwatched: Vec<(String, u64, String)>,
}

/// Counts what the store holds of matching.
pub fn summary(
    store: &store::Store,
    peers: &[liaison_config::Peer],
) -> Result<Summary, store::Error> {
    use crate::store::matching as stored;
    let mut out = Summary::default();
    for p in peers {
        let key = p.key.verifying_key().to_bytes();
        let serving = stored::manifest_epochs(store, &key)?;
        let filters = stored::peer_manifest_epochs(store, &key)?;
        let mut whole = Vec::new();
        for e in filters {
            if stored::filter(store, &key, e)?.is_some() {
                whole.push(e);
            }
        }
        out.serving.insert(p.name.clone(), serving);
        out.filters.insert(p.name.clone(), whole);
        if p.match_red {
            out.match_red.push(p.name.clone());
        }
        out.unwatched.extend(
            stored::unwatched(store, &key)?
                .into_iter()
                .map(|(e, reason)| (p.name.clone(), e, reason)),
        );
    }
    let counts = stored::counts(store)?;
    out.hits = counts.hits;
    out.watches = counts.watches;
    out.alerts = counts.alerts;
    out.evidence = counts.evidence;
    Ok(out)
}

/// The daemon's periodic work: build what is missing, send deltas,
/// destroy old keys, renew watchlists. Blocking: call from
/// `spawn_blocking`. Returns the peers something was queued for.
pub fn tick(matching: &Matching, peers: &[liaison_config::Peer]) -> Result<Vec<[u8; 32]>, Error> {
    let mut woken = Vec::new();
    let now = matching.post().now_ms();
    let settings = *matching.settings();
    let live = settings.live_epochs(now);
    // Old keys go first, whatever else fails: a key outliving its epoch
    // is the one thing this must never allow.
    let destroyed = matching.forget_keys_before(live[0])?;
    owner::forget(matching, peers, live[0], destroyed)?;
    querier::forget(matching, now)?;
    for peer in peers {
        // One peer's failure (a build that cannot finish) must not stop
        // the others' filters, deltas and renewals.
        match tick_peer(matching, peer, &live) {
            Ok(true) => woken.push(peer.key.verifying_key().to_bytes()),
            Ok(false) => {}
            Err(e @ Error::Store(crate::store::Error::Stopping)) => return Err(e),
            Err(e) => {
                tracing::warn!(peer = %peer.name, error = %e, "matching: scheduled work for this peer failed")
            }
        }
    }
    woken.extend(owner::send_deltas(matching, peers, &live)?);
    woken.sort_unstable();
    woken.dedup();
    Ok(woken)
}

fn tick_peer(
    matching: &Matching,
    peer: &liaison_config::Peer,
    live: &[u64],
) -> Result<bool, Error> {
    let key = peer.key.verifying_key().to_bytes();
    let mut queued = false;
    // A peer that may match nothing gets no filter and no key.
    for &epoch in live.iter().filter(|_| !peer.kinds.is_empty()) {
        if owner::manifest(matching, &key, epoch)?.is_none() {
            owner::build(matching, peer, epoch)?;
            queued = true;
        }
    }
    queued |= querier::renew(matching, peer)?;
    Ok(queued)
}

#[cfg(test)]
mod tests;
