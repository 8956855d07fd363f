//! Witnessing: each node's peers check its log never forks or rewinds.
//!
//! At every checkpoint interval the node signs a checkpoint of its log
//! ([`publish`]) and sends each peer a [`Push`]: the checkpoint and a
//! consistency proof from the size that peer last cosigned. The peer
//! ([`check`]) verifies the log's signature, checks that the proof starts
//! from the checkpoint *it* last verified and leads to the new one, and
//! then cosigns and sends the cosignature back ([`store_cosignature`]).
//!
//! A fork is flagged only when it is proven: two checkpoints of the same
//! size with different roots, both signed by the log; a signed checkpoint
//! smaller than one the witness already verified (a rollback: an honest
//! log only grows, and sends a witness one push at a time, so no older
//! push can arrive after a newer one); or a new checkpoint that no proof
//! connects to the last one the witness verified. The two signed
//! checkpoints are kept as evidence, a `fork` entry is logged, `liaison
//! status` shows it, and nothing is cosigned. A push proven from a size
//! the witness has moved past (its cosignature was still on the way) is
//! stale: not cosigned, answered with the cosignature of the checkpoint
//! it verified last, so the log learns where its witness stands and
//! proves from there next time.
//!
//! A log could avoid proving anything by only ever sending stale pushes.
//! So the witness notes when a peer first sends it an envelope after the
//! last checkpoint it verified grew: the peer's log has grown since, and
//! an honest peer sends a checkpoint of it within an interval. Past
//! [`STALE_INTERVALS`] intervals without one, `liaison status` shows the
//! peer as `WITNESS STALE`.
//!
//! Witnessing is one step at a time per node ([`Witnessing`]): two
//! pushes checked at once could otherwise both pass against the same last
//! checkpoint and get two different trees cosigned.
//!
//! Both messages travel as envelopes through the outbox, so they reach
//! peers that are offline for a while, and air-gapped sites by bundle.

use liaison_config::Peer;
use liaison_protocol::audit::note::{self, Checkpoint, Push, SignedCheckpoint};
use liaison_protocol::audit::{tree, Entry, Kind};
use tracing::{info, warn};

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::post::{Applied, Error, Handled, Post};
use crate::store::mailbox::Mailbox;
use crate::store::{Batch, Store};

/// Message types of witnessing.
pub mod context {
    /// A peer's signed audit checkpoint with a consistency proof, to
    /// witness.
    pub const CHECKPOINT: &str = "liaison/audit/checkpoint/v1";
    /// A peer's cosignature on one of our checkpoints.
    pub const COSIGNATURE: &str = "liaison/audit/cosignature/v1";
}

/// The right to read and change witness state (a peer's last verified
/// checkpoint, our checkpoints' cosignatures), held from reading it until
/// the change commits: [`Witness::witnessing`] hands it out one holder at
/// a time. A function that needs it held takes `&Witnessing`, which
/// nothing else can make.
#[derive(Debug)]
pub struct Witnessing(());

/// Witnessing, over the envelope layer it sends through. The
/// [`crate::router`] owns it; the daemon publishes through it.
#[derive(Debug)]
pub struct Witness {
    post: Arc<Post>,
    witnessing: Mutex<Witnessing>,
}

impl Witness {
    /// Witnessing over `post`.
    pub fn new(post: Arc<Post>) -> Witness {
        Witness {
            post,
            witnessing: Mutex::new(Witnessing(())),
        }
    }

    /// The envelope layer below.
    pub fn post(&self) -> &Post {
        &self.post
    }

    /// Takes [`Witnessing`]; before any store lock.
    pub fn witnessing(&self) -> MutexGuard<'_, Witnessing> {
        self.witnessing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Checkpoint intervals a peer may exchange envelopes with us without a
/// larger checkpoint of its log verified before it is `WITNESS STALE`.
pub const STALE_INTERVALS: u64 = 3;

/// How a peer's log was shown to fork.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fork {
    /// The proof from the last checkpoint we verified does not verify.
    Inconsistent = 1,
    /// The same tree size with another root.
    SameSize = 2,
    /// A smaller tree than one already verified: the log was rolled back.
    Rollback = 3,
}

impl Fork {
    /// Words for people.
    pub fn as_str(self) -> &'static str {
        match self {
            Fork::Inconsistent => "not an extension of the last checkpoint we verified",
            Fork::SameSize => "the same tree size as the last checkpoint we verified, another root",
            Fork::Rollback => {
                "a smaller tree than the last checkpoint we verified: the log was rolled back"
            }
        }
    }
}

/// Whether an entry is witnessing traffic itself (which alone is no
/// reason for a new checkpoint: otherwise checkpoints would beget
/// checkpoints on an idle node, forever).
fn is_witnessing(e: &Entry) -> bool {
    e.kind == Kind::Cosigned
        || e.context == context::CHECKPOINT
        || e.context == context::COSIGNATURE
}

/// Our log's origin line.
pub fn origin(post: &Post) -> String {
    note::origin(post.federation(), &post.identity().signing.verifying_key())
}

/// The largest size of our checkpoints that `peer` has cosigned, and 0 if
/// none.
fn cosigned_by(store: &Store, federation: &str, peer: &Peer) -> Result<u64, Error> {
    let name = note::origin(federation, peer.key.verifying_key());
    Ok(store
        .checkpoints()?
        .iter()
        .rev()
        .find(|c| {
            c.verify_cosignature(&name, peer.key.verifying_key())
                .is_ok()
        })
        .map_or(0, |c| c.checkpoint.size))
}

/// Signs a checkpoint if the log grew since `last` and queues it, with a
/// proof, for every peer. Returns the size signed.
pub fn publish(witness: &Witness, peers: &[Peer], last: u64) -> Result<u64, Error> {
    let _witnessing = witness.witnessing();
    let post = witness.post();
    let store = post.store();
    let (size, _) = store.log_head();
    let mut news = false;
    store.scan_log(last, |_, bytes| {
        news = Entry::decode(bytes).map_or(true, |e| !is_witnessing(&e));
        !news
    })?;
    if !news {
        return Ok(size);
    }
    let origin = origin(post);
    let signed = store.checkpoint(|size, root| {
        Checkpoint {
            origin: origin.clone(),
            size,
            root,
        }
        .sign(&post.identity().signing)
    })?;
    let size = signed.checkpoint.size;
    for peer in peers {
        let key = peer.key.verifying_key();
        // One push in flight per witness: pushes then arrive in the order
        // they were signed, so a smaller checkpoint is a rollback, never
        // an older push overtaken by a newer one.
        if let Some(seq) = store.push_seq(key.as_bytes())? {
            let outbox = Mailbox::new(store).pending(key, seq, 1)?;
            if outbox.first().is_some_and(|p| p.seq == seq) {
                continue;
            }
        }
        // Prove from where the witness says it stands (its cosignatures
        // tell us), which is where it will check from.
        let from = match store.witness_size(peer.key.verifying_key().as_bytes())? {
            Some(at) => at,
            None => cosigned_by(store, post.federation(), peer)?,
        };
        if from > size {
            warn!(peer = %peer.name, witnessed = from, size, "the witness has seen our log larger than it is now: it was rolled back");
            continue;
        }
        let proof = tree::consistency_proof(store.as_ref(), from, size).map_err(|e| match e {
            tree::ProofError::Source(e) => Error::Store(e),
            other => Error::Store(crate::store::Column::Audit.corrupt(other.to_string())),
        })?;
        let push = Push {
            checkpoint: signed.clone(),
            from,
            proof,
        };
        let seqs = post.queue(peer, context::CHECKPOINT, &[push.to_bytes()], None)?;
        if let Some(&seq) = seqs.first() {
            let mut b = Batch::default();
            Store::put_push_seq(&mut b, key.as_bytes(), seq);
            store.write(b)?;
        }
    }
    info!(
        size,
        peers = peers.len(),
        "signed a checkpoint and sent it to be witnessed"
    );
    Ok(size)
}

/// What checking a peer's push decided.
#[derive(Debug)]
pub struct Checked {
    /// Writes to make with the envelope's inbox entry.
    pub effects: Batch,
    /// Entries to log after the envelope's own.
    pub entries: Vec<Entry>,
    /// The cosigned checkpoint to send back, if all was well.
    pub cosigned: Option<SignedCheckpoint>,
}

/// Checks `peer`'s push against the last checkpoint of its log we saw.
/// `Err` is for a push that is not even signed by the peer: the envelope
/// is refused like any malformed one. [`Witnessing`] is held until the
/// result is committed.
pub fn check(
    witness: &Witness,
    peer: &Peer,
    push: &Push,
    _held: &Witnessing,
) -> Result<Result<Checked, ()>, Error> {
    let post = witness.post();
    let store = post.store();
    let key = peer.key.verifying_key();
    let now = post.now_ms();
    let cp = &push.checkpoint.checkpoint;
    if cp.origin != note::origin(post.federation(), key) || push.checkpoint.verify_log(key).is_err()
    {
        return Ok(Err(()));
    }
    let last = store.witnessed(key.as_bytes())?;
    let mut effects = Batch::default();
    let mut entry = Entry::new(Kind::Cosigned, now);
    entry.peer = Some(key.to_bytes());
    entry.count = cp.size;
    entry.hash = Some(cp.root);
    let cosign = |c: &SignedCheckpoint| {
        let mut c = c.clone();
        c.signatures.retain(|s| s.name == c.checkpoint.origin);
        c.cosign(&origin(post), &post.identity().signing, now / 1000);
        c
    };
    let verdict = match &last {
        None => Ok(true), // first contact: trust on first use
        Some(l) if cp.size == l.checkpoint.size => {
            if cp.root == l.checkpoint.root {
                Ok(true)
            } else {
                Err(Fork::SameSize)
            }
        }
        // Smaller than what we verified: the log signed a tree it had
        // already grown past. Pushes travel one at a time, so this is no
        // late arrival.
        Some(l) if cp.size < l.checkpoint.size => Err(Fork::Rollback),
        // Proven from a size we have moved past: stale, not contradictory.
        Some(l) if push.from != l.checkpoint.size => Ok(false),
        Some(l) => tree::verify_consistency(
            l.checkpoint.size,
            &l.checkpoint.root,
            cp.size,
            &cp.root,
            &push.proof,
        )
        .map(|()| true)
        .map_err(|_| Fork::Inconsistent),
    };
    match verdict {
        Ok(true) => {
            Store::put_witnessed(&mut effects, key.as_bytes(), &push.checkpoint);
            // The log has shown us its growth: it owes nothing now.
            if last.as_ref().is_none_or(|l| cp.size > l.checkpoint.size) {
                Store::clear_unwitnessed(&mut effects, key.as_bytes());
            }
            Ok(Ok(Checked {
                effects,
                entries: vec![entry],
                cosigned: Some(cosign(&push.checkpoint)),
            }))
        }
        Ok(false) => {
            info!(peer = %peer.name, size = cp.size, "stale checkpoint: answered with the last one we verified");
            Ok(Ok(Checked {
                effects,
                entries: Vec::new(),
                cosigned: last.as_ref().map(cosign),
            }))
        }
        Err(fork) => {
            let last_text = last.map(|l| l.to_text()).unwrap_or_default();
            let mut evidence = format!(
                "reason: {}\n\nlast verified:\n{last_text}\nnow shown:\n",
                fork.as_str()
            )
            .into_bytes();
            evidence.extend_from_slice(push.checkpoint.to_text().as_bytes());
            evidence.extend_from_slice(b"\nthe push, hex:\n");
            evidence.extend_from_slice(crate::hex::encode(&push.to_bytes()).as_bytes());
            evidence.push(b'\n');
            Store::put_fork(&mut effects, key.as_bytes(), now, evidence);
            entry.kind = Kind::Fork;
            entry.code = fork as u16;
            warn!(peer = %peer.name, size = cp.size, reason = fork.as_str(), "peer's audit log forked: evidence kept");
            Ok(Ok(Checked {
                effects,
                entries: vec![entry],
                cosigned: None,
            }))
        }
    }
}

/// Stores `peer`'s cosignature on one of our checkpoints. `Err` if it is
/// not a valid cosignature by that peer of a checkpoint we signed.
pub fn store_cosignature(
    witness: &Witness,
    peer: &Peer,
    text: &[u8],
    _held: &Witnessing,
) -> Result<Result<Batch, ()>, Error> {
    let post = witness.post();
    let Ok(signed) = SignedCheckpoint::parse(text) else {
        return Ok(Err(()));
    };
    let me = post.identity().signing.verifying_key();
    let name = note::origin(post.federation(), peer.key.verifying_key());
    if signed.checkpoint.origin != origin(post) || signed.verify_log(&me).is_err() {
        return Ok(Err(()));
    }
    let Ok((_, line)) = signed.verified_cosignature(&name, peer.key.verifying_key()) else {
        return Ok(Err(()));
    };
    // Where the witness stands: what it will check our next proof from.
    let store = post.store();
    let peer_key = peer.key.verifying_key().to_bytes();
    let size = signed.checkpoint.size;
    let mut batch = Batch::default();
    if store.witness_size(&peer_key)?.is_none_or(|at| at < size) {
        Store::put_witness_size(&mut batch, &peer_key, size);
    }
    // Kept on our checkpoint of that size, if it is the one we hold.
    if let Some(mut ours) = store.checkpoint_of(size)? {
        if ours.checkpoint == signed.checkpoint {
            ours.signatures.retain(|s| s.name != name);
            ours.signatures.push(line.clone());
            Store::put_checkpoint_in(&mut batch, &ours);
        }
    }
    Ok(Ok(batch))
}

/// Whether `context` is witnessing traffic (which is no reason for a
/// checkpoint of its own).
pub fn is_witnessing_context(context: &str) -> bool {
    context == context::CHECKPOINT || context == context::COSIGNATURE
}

/// Applies a peer's push: cosigned and answered if its log is consistent,
/// a `fork` logged if it is proven not to be.
pub(crate) fn on_checkpoint<'p>(
    witness: &'p Witness,
    peer: &Peer,
    push: &Push,
    held: &Witnessing,
) -> Result<Applied<'p>, Error> {
    Ok(match check(witness, peer, push, held)? {
        Err(()) => Applied::Malformed,
        Ok(checked) => Applied::Handled(Handled {
            effects: checked.effects,
            extra: checked.entries,
            reply: checked
                .cosigned
                .map(|c| (context::COSIGNATURE, c.to_text().into_bytes())),
            count: 1,
            // [`Witnessing`] is held until the cosignature is queued too,
            // so cosignatures leave in the order their checks committed.
            hold_through_reply: true,
            ..Handled::default()
        }),
    })
}

/// Keeps a peer's cosignature on one of our checkpoints.
pub(crate) fn on_cosignature<'p>(
    witness: &'p Witness,
    peer: &Peer,
    text: &[u8],
    held: &Witnessing,
) -> Result<Applied<'p>, Error> {
    Ok(match store_cosignature(witness, peer, text, held)? {
        Err(()) => Applied::Malformed,
        Ok(effects) => Applied::Handled(Handled {
            effects,
            count: 1,
            ..Handled::default()
        }),
    })
}

/// The peers that have sent us envelopes for more than
/// [`STALE_INTERVALS`] checkpoint intervals with no larger checkpoint of
/// their log verified: their log grew and they did not show it.
pub fn stale(
    store: &Store,
    peers: &[Peer],
    interval: std::time::Duration,
    now: u64,
) -> Result<Vec<String>, crate::store::Error> {
    let limit = (interval.as_millis() as u64).saturating_mul(STALE_INTERVALS);
    let mut out = Vec::new();
    for p in peers {
        if let Some(since) = store.unwitnessed_since(p.key.verifying_key().as_bytes())? {
            if now.saturating_sub(since) > limit {
                out.push(p.name.clone());
            }
        }
    }
    Ok(out)
}
