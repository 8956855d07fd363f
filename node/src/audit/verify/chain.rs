//! `audit verify`: checking the node's own audit log in its store.
//!
//! Reads the log's entries, tree, checkpoints and cosignatures, and the
//! inbox, from the [`Store`]; checks them against each other, the node's
//! identity and the trusted peers' keys from the config. The result,
//! [`Checked`], goes to the CLI or the daemon's API.

use std::collections::HashMap;

use ed25519_dalek::VerifyingKey;
use liaison_config::Peer;
use liaison_protocol::audit::note::{self, SignedCheckpoint};
use liaison_protocol::audit::tree::{self, Frontier, Hash};
use liaison_protocol::audit::{Entry, Kind};
use liaison_protocol::envelope::Receipt;
use serde::Serialize;

use super::receipt_ok;
use crate::identity::Identity;
use crate::store::mailbox::Mailbox;
use crate::store::{self, Store};

/// What `audit verify` found.
#[derive(Debug, Default, Serialize, serde::Deserialize)]
pub struct Checked {
    /// Entries read and hashed.
    pub entries: u64,
    /// Signed checkpoints checked.
    pub checkpoints: usize,
    /// Witness cosignatures checked.
    pub cosignatures: usize,
    /// Peers' receipts in the log checked.
    pub receipts: u64,
    /// Inbox entries matched to the log.
    pub inbox: u64,
    /// Fork evidence held against peers.
    pub forks: usize,
    /// Everything that did not check out. Empty means all is well.
    pub problems: Vec<String>,
}

/// Receipts checked per parallel step.
const RECEIPT_CHUNK: usize = 8192;

/// Checks the receipts in `entries` (signed by each entry's peer, for an
/// envelope `sender` sent), split across the machine's cores. Returns the
/// problems, in log order.
fn check_receipts(entries: &[(u64, Entry)], sender: &VerifyingKey) -> Vec<String> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = entries.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = entries
            .chunks(per)
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .filter_map(|(i, e)| {
                            receipt_ok(e, sender)
                                .err()
                                .map(|p| format!("entry {i}: receipt: {p}"))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|_| vec!["a receipt check panicked".into()])
            })
            .collect()
    })
}

/// Checks the node's whole log: every entry decodes and hashes into the
/// stored tree, every receipt in it verifies, every checkpoint is signed
/// by us and matches the tree at its size, each is consistent with the
/// one before, every cosignature verifies under a trusted peer's key, and
/// every inbox entry's receipt names a log entry that records it.
pub fn verify_store(
    store: &Store,
    identity: &Identity,
    federation: &str,
    peers: &[Peer],
) -> Result<Checked, store::Error> {
    let me = identity.signing.verifying_key();
    let origin = note::origin(federation, &me);
    let mut out = Checked::default();
    // A snapshot: the daemon may append while this runs, so everything is
    // checked as of this size, and later entries, checkpoints and inbox
    // entries are left for the next run. (The head only moves once an
    // append is written, so every entry below it is in the store.)
    let (size, root) = store.log_head();
    let checkpoints: Vec<SignedCheckpoint> = store
        .checkpoints()?
        .into_iter()
        .filter(|c| c.checkpoint.size <= size)
        .collect();
    let sizes: HashMap<u64, Hash> = checkpoints
        .iter()
        .map(|c| (c.checkpoint.size, c.checkpoint.root))
        .collect();
    let mut frontier = Frontier::default();
    let mut roots = HashMap::new();
    if sizes.contains_key(&0) {
        roots.insert(0, frontier.root());
    }
    let mut expected = 0;
    let mut received = HashMap::new();
    // Receipts are checked in chunks across every core: the signatures are
    // most of the work, and each stands alone.
    let mut pending: Vec<(u64, Entry)> = Vec::with_capacity(RECEIPT_CHUNK);
    let flush = |pending: &mut Vec<(u64, Entry)>, out: &mut Checked| {
        out.receipts += pending.len() as u64;
        out.problems.extend(check_receipts(pending, &me));
        pending.clear();
    };
    store.scan_log(0, |index, bytes| {
        if index >= size {
            return false;
        }
        if index != expected {
            out.problems
                .push(format!("entry {expected} is missing (next is {index})"));
        }
        expected = index + 1;
        out.entries += 1;
        match Entry::decode(bytes) {
            Ok(e) => {
                if matches!(e.kind, Kind::Received | Kind::Refused) {
                    received.insert(index, (e.peer, e.message_id, e.hash));
                }
                if e.kind == Kind::Receipted {
                    pending.push((index, e));
                    if pending.len() == RECEIPT_CHUNK {
                        flush(&mut pending, &mut out);
                    }
                }
            }
            Err(e) => out.problems.push(format!("entry {index}: {e}")),
        }
        frontier.push(tree::leaf_hash(bytes));
        if sizes.contains_key(&frontier.size()) {
            roots.insert(frontier.size(), frontier.root());
        }
        true
    })?;
    flush(&mut pending, &mut out);
    if frontier.size() != size || frontier.root() != root {
        out.problems.push(format!(
            "the entries hash to a tree of size {} that is not the stored tree (size {size})",
            frontier.size()
        ));
    }
    match tree::root(store, size) {
        Ok(r) if r == root => {}
        Ok(_) => out
            .problems
            .push("the stored tree nodes do not give the tree's root".into()),
        Err(e) => out.problems.push(format!("stored tree nodes: {e}")),
    }
    let names: HashMap<String, &Peer> = peers
        .iter()
        .map(|p| (note::origin(federation, p.key.verifying_key()), p))
        .collect();
    let mut previous: Option<&SignedCheckpoint> = None;
    for c in &checkpoints {
        out.checkpoints += 1;
        let cp = &c.checkpoint;
        if cp.origin != origin {
            out.problems.push(format!(
                "checkpoint {}: origin {} is not ours",
                cp.size, cp.origin
            ));
        }
        if let Err(e) = c.verify_log(&me) {
            out.problems.push(format!("checkpoint {}: {e}", cp.size));
        }
        if roots.get(&cp.size) != Some(&cp.root) {
            out.problems.push(format!(
                "checkpoint {}: its root is not the root of the log's first {} entries",
                cp.size, cp.size
            ));
        }
        if let Some(p) = previous {
            let proof = tree::consistency_proof(store, p.checkpoint.size, cp.size);
            let ok = proof.is_ok_and(|proof| {
                tree::verify_consistency(
                    p.checkpoint.size,
                    &p.checkpoint.root,
                    cp.size,
                    &cp.root,
                    &proof,
                )
                .is_ok()
            });
            if !ok {
                out.problems.push(format!(
                    "checkpoint {} is not consistent with checkpoint {}",
                    cp.size, p.checkpoint.size
                ));
            }
        }
        previous = Some(c);
        for s in c.signatures.iter().filter(|s| s.name != cp.origin) {
            out.cosignatures += 1;
            match names.get(&s.name) {
                None => out.problems.push(format!(
                    "checkpoint {}: cosigned by {}, which is not a trusted peer now",
                    cp.size, s.name
                )),
                Some(p) => {
                    if let Err(e) = c.verify_cosignature(&s.name, p.key.verifying_key()) {
                        out.problems
                            .push(format!("checkpoint {}: {}: {e}", cp.size, p.name));
                    }
                }
            }
        }
    }
    Mailbox::new(store).scan_inbox(|sender, id, seen| {
        out.inbox += 1;
        let Ok(seen) = seen else {
            out.problems
                .push(format!("inbox entry {id}: does not decode"));
            return;
        };
        let Ok(r) = Receipt::decode(&seen.receipt) else {
            out.problems
                .push(format!("inbox entry {id}: its receipt does not decode"));
            return;
        };
        if r.log_index >= size {
            out.inbox -= 1; // applied after the snapshot: next run
            return;
        }
        match received.get(&r.log_index) {
            Some((Some(p), Some(m), Some(h))) if *p == sender && *m == id && *h == seen.hash => {}
            _ => out.problems.push(format!(
                "inbox entry {id}: its receipt names log entry {}, which does not record it",
                r.log_index
            )),
        }
    })?;
    out.forks = store.forks()?.len();
    Ok(out)
}
