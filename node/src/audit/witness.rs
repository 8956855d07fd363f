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
//! size with different roots, both signed by the log, or a new checkpoint
//! that no proof connects to the last one the witness verified. The two
//! signed checkpoints are kept as evidence, a `fork` entry is logged,
//! `liaison status` shows it, and nothing is cosigned. A push that is
//! merely stale (an older checkpoint arriving late, or a proof from a size
//! the witness has moved past, as happens when a peer was offline for a
//! few intervals) is not cosigned either; the witness answers it with its
//! cosignature of the checkpoint it did verify last, so the log learns
//! where its witness stands and proves from there next time.
//!
//! Witnessing is one step at a time per node ([`Post::witnessing`]): two
//! pushes checked at once could otherwise both pass against the same last
//! checkpoint and get two different trees cosigned.
//!
//! Both messages travel as envelopes through the outbox, so they reach
//! peers that are offline for a while, and air-gapped sites by bundle.

use liaison_config::Peer;
use liaison_protocol::audit::note::{self, Checkpoint, Push, SignedCheckpoint};
use liaison_protocol::audit::{tree, Entry, Kind};
use tracing::{info, warn};

use crate::post::{context, now_ms, Error, Post};
use crate::store::{Batch, Store};

/// How a peer's log was shown to fork.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fork {
    /// The proof from the last checkpoint we verified does not verify.
    Inconsistent = 1,
    /// The same tree size with another root.
    SameSize = 2,
}

impl Fork {
    /// Words for people.
    pub fn as_str(self) -> &'static str {
        match self {
            Fork::Inconsistent => "not an extension of the last checkpoint we verified",
            Fork::SameSize => "the same tree size as the last checkpoint we verified, another root",
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
pub fn publish(post: &Post, peers: &[Peer], last: u64) -> Result<u64, Error> {
    let _witnessing = post.witnessing();
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
            other => Error::Store(crate::store::Error::Corrupt {
                column: "audit.v1",
                what: other.to_string(),
            }),
        })?;
        let push = Push {
            checkpoint: signed.clone(),
            from,
            proof,
        };
        post.queue(peer, context::CHECKPOINT, &[push.to_bytes()], None)?;
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
/// is refused like any malformed one. Call with [`Post::witnessing`] held
/// until the result is committed.
pub fn check(post: &Post, peer: &Peer, push: &Push) -> Result<Result<Checked, ()>, Error> {
    let store = post.store();
    let key = peer.key.verifying_key();
    let now = now_ms();
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
        // Older than what we verified, or proven from a size we have
        // moved past: stale, not contradictory.
        Some(l) if cp.size < l.checkpoint.size || push.from != l.checkpoint.size => Ok(false),
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
            evidence.extend(
                push.to_bytes()
                    .iter()
                    .flat_map(|b| format!("{b:02x}").into_bytes()),
            );
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
    post: &Post,
    peer: &Peer,
    text: &[u8],
) -> Result<Result<Batch, ()>, Error> {
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
