//! Witnessing: each node's peers check its log never forks or rewinds.
//!
//! At every checkpoint interval the node signs a checkpoint of its log
//! ([`publish`]) and sends each peer a [`Push`]: the checkpoint and a
//! consistency proof from the size that peer last cosigned. The peer
//! ([`check`]) verifies the log's signature, checks that the proof starts
//! from the checkpoint *it* last verified and leads to the new one, and
//! then cosigns and sends the cosignature back ([`store_cosignature`]).
//! Anything else (a proof that fails, a proof from another size, a smaller
//! tree, the same size with another root) is a fork: the two signed
//! checkpoints are kept as evidence, a `fork` entry is logged, `liaison
//! status` shows it, and nothing is cosigned.
//!
//! Both messages travel as envelopes through the outbox, so they reach
//! peers that are offline for a while, and air-gapped sites by bundle.

use liaison_config::Peer;
use liaison_protocol::audit::note::{self, Checkpoint, Push, SignedCheckpoint};
use liaison_protocol::audit::{tree, Entry, Kind};
use tracing::{info, warn};

use crate::post::{context, now_ms, Error, Post};
use crate::store::{Batch, Store};

/// Why a peer's checkpoint was not cosigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fork {
    /// The proof from the last checkpoint we saw does not verify.
    Inconsistent = 1,
    /// The proof starts from another size than the one we last saw.
    WrongBase = 2,
    /// The tree is smaller than the last one we saw.
    Rewound = 3,
}

impl Fork {
    /// Words for people.
    pub fn as_str(self) -> &'static str {
        match self {
            Fork::Inconsistent => "not an extension of the last checkpoint we saw",
            Fork::WrongBase => "proof from another tree size than the one we last saw",
            Fork::Rewound => "smaller than the last checkpoint we saw",
        }
    }
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
    let store = post.store();
    let (size, _) = store.log_head();
    if size == last {
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
        let from = cosigned_by(store, post.federation(), peer)?;
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
/// is refused like any malformed one.
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
    let fork = match &last {
        None => None,
        Some(l) if cp.size < l.checkpoint.size => Some(Fork::Rewound),
        Some(l) if push.from != l.checkpoint.size => Some(Fork::WrongBase),
        Some(l) => tree::verify_consistency(
            l.checkpoint.size,
            &l.checkpoint.root,
            cp.size,
            &cp.root,
            &push.proof,
        )
        .err()
        .map(|_| Fork::Inconsistent),
    };
    let mut effects = Batch::default();
    let mut entry = Entry::new(Kind::Cosigned, now);
    entry.peer = Some(key.to_bytes());
    entry.count = cp.size;
    entry.hash = Some(cp.root);
    if let Some(fork) = fork {
        let last_text = last.map(|l| l.to_text()).unwrap_or_default();
        let mut evidence = format!("reason: {}\n\nlast verified:\n", fork.as_str()).into_bytes();
        evidence.extend_from_slice(last_text.as_bytes());
        evidence.extend_from_slice(b"\npushed (hex of the push):\n");
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
        return Ok(Ok(Checked {
            effects,
            entries: vec![entry],
            cosigned: None,
        }));
    }
    let mut cosigned = push.checkpoint.clone();
    cosigned.signatures.retain(|s| s.name == cp.origin);
    cosigned.cosign(&origin(post), &post.identity().signing, now / 1000);
    Store::put_witnessed(&mut effects, key.as_bytes(), &push.checkpoint);
    Ok(Ok(Checked {
        effects,
        entries: vec![entry],
        cosigned: Some(cosigned),
    }))
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
    if signed.checkpoint.origin != origin(post)
        || signed.verify_log(&me).is_err()
        || signed
            .verify_cosignature(&name, peer.key.verifying_key())
            .is_err()
    {
        return Ok(Err(()));
    }
    let Some(mut ours) = post.store().checkpoint_of(signed.checkpoint.size)? else {
        return Ok(Err(()));
    };
    if ours.checkpoint != signed.checkpoint {
        return Ok(Err(()));
    }
    if let Some(line) = signed.signature_by(&name) {
        ours.signatures.retain(|s| s.name != name);
        ours.signatures.push(line.clone());
    }
    let mut batch = Batch::default();
    Store::put_checkpoint_in(&mut batch, &ours);
    Ok(Ok(batch))
}
