//! The envelope layer's tests, through the router that applies what it
//! opens: refusals, receipts, and witnessing end to end.

use liaison_protocol::audit::{Entry, Kind};
use liaison_protocol::envelope::{Outcome, Receipt, Refusal};
use liaison_protocol::keys::{SealingKey, SigningKey};

use super::*;
use crate::audit::witness::{self, context::CHECKPOINT};
use crate::router::Router;
use crate::store::mailbox::Mailbox;
use crate::store::Batch;

struct Side {
    post: Arc<Post>,
    router: Router,
    card: AgencyKey,
    _dir: tempfile::TempDir,
}

impl Side {
    fn new(post: Post, config: &Config, dir: tempfile::TempDir) -> Side {
        let card = post.identity().agency_key();
        let post = Arc::new(post);
        Side {
            router: Router::new(post.clone(), config),
            post,
            card,
            _dir: dir,
        }
    }

    fn witness(&self) -> &witness::Witness {
        self.router.witness()
    }
}

fn identity(seed: u8) -> Identity {
    Identity {
        signing: SigningKey::from_seed(&[seed; 32]),
        sealing: SealingKey::from_bytes([seed ^ 0x55; 32]),
    }
}

fn config(name: &str, peers: &[(&str, &AgencyKey)]) -> Config {
    let mut text = format!("[node]\nname = \"{name}\"\n");
    for (n, k) in peers {
        text.push_str(&format!("[[peers]]\nname = \"{n}\"\nkey = \"{k}\"\n"));
    }
    Config::from_text(std::path::Path::new("/tmp/liaison.toml"), &text).unwrap()
}

/// Two nodes that trust each other, and a third that neither trusts.
fn sides() -> (Side, Side, Identity) {
    let (a, b, m) = (identity(1), identity(2), identity(3));
    let (ka, kb) = (a.agency_key(), b.agency_key());
    let side = |id: Identity, name: &str, peer: (&str, &AgencyKey)| {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("store")).unwrap());
        let config = config(name, &[peer]);
        Side::new(Post::new(id, store, &config), &config, dir)
    };
    (side(a, "a", ("b", &kb)), side(b, "b", ("a", &ka)), m)
}

/// An envelope with a chosen id and time (the ones `Post::seal` draws).
fn seal_as(
    from: &SigningKey,
    to: &AgencyKey,
    id: MessageId,
    timestamp_ms: u64,
    body: &[u8],
) -> Vec<u8> {
    let draft = Draft {
        federation: "liaison",
        context: context::PING,
        recipient: to,
        message_id: id,
        epoch: 0,
        timestamp_ms,
        body,
    };
    envelope::seal(from, draft, &mut UnwrapErr(OsRng))
        .unwrap()
        .to_bytes()
}

fn outcome(side: &Side, bytes: &[u8]) -> Outcome {
    let r = side.router.receive(None, bytes).unwrap();
    let receipt = Receipt::decode(&r.receipt).unwrap();
    assert_eq!(receipt.outcome, r.outcome);
    assert_eq!(&receipt.receiver, side.card.verifying_key());
    r.outcome
}

fn counts(side: &Side, peer: &AgencyKey) -> crate::store::mailbox::PeerCounts {
    Mailbox::new(side.post.store())
        .counts()
        .unwrap()
        .remove(peer.verifying_key().as_bytes())
        .unwrap_or_default()
}

#[test]
fn each_bad_envelope_is_refused_counted_and_not_applied() {
    let (a, b, mallory) = sides();
    let env = a.post.seal(&b.card, context::PING, b"hi").unwrap();
    let bytes = env.to_bytes();

    assert_eq!(outcome(&b, &bytes), Outcome::Accepted);
    // The same bytes again: a retransmission, not applied twice.
    assert_eq!(outcome(&b, &bytes), Outcome::Duplicate);
    // The same id with other bytes: a replay.
    let again = seal_as(
        &a.post.identity().signing,
        &b.card,
        env.header.message_id,
        crate::clock::system_ms(),
        b"other",
    );
    assert_eq!(outcome(&b, &again), Outcome::Refused(Refusal::Replayed));
    // Tampered: one bit of the ciphertext.
    let mut tampered = a
        .post
        .seal(&b.card, context::PING, b"hi")
        .unwrap()
        .to_bytes();
    let n = tampered.len();
    tampered[n - 70] ^= 1;
    assert_eq!(
        outcome(&b, &tampered),
        Outcome::Refused(Refusal::BadSignature)
    );
    // Misaddressed: sealed and signed for a (our own card).
    let misaddressed = a
        .post
        .seal(&a.card, context::PING, b"hi")
        .unwrap()
        .to_bytes();
    assert_eq!(
        outcome(&b, &misaddressed),
        Outcome::Refused(Refusal::WrongRecipient)
    );
    // Oversized and garbage.
    let oversized = vec![1u8; envelope::MAX_ENVELOPE + 1];
    assert_eq!(
        outcome(&b, &oversized),
        Outcome::Refused(Refusal::Malformed)
    );
    assert_eq!(
        outcome(&b, b"\x01garbage"),
        Outcome::Refused(Refusal::Malformed)
    );
    assert_eq!(outcome(&b, b"garbage"), Outcome::Refused(Refusal::Version));
    // An unknown message type.
    let unknown = a
        .post
        .seal(&b.card, "liaison/nonsense/v1", b"")
        .unwrap()
        .to_bytes();
    assert_eq!(
        outcome(&b, &unknown),
        Outcome::Refused(Refusal::UnknownContext)
    );
    // From someone b does not trust.
    let stranger = seal_as(
        &mallory.signing,
        &b.card,
        MessageId([7; 16]),
        crate::clock::system_ms(),
        b"",
    );
    assert_eq!(
        outcome(&b, &stranger),
        Outcome::Refused(Refusal::UnknownSender)
    );
    // Stale.
    let stale = seal_as(
        &a.post.identity().signing,
        &b.card,
        MessageId([8; 16]),
        crate::clock::system_ms() - 8 * 24 * 3600 * 1000,
        b"",
    );
    assert_eq!(outcome(&b, &stale), Outcome::Refused(Refusal::Stale));

    let c = counts(&b, &a.card);
    assert_eq!((c.received, c.duplicates), (1, 1));
    // Replayed, unknown context, stale: counted against a, whose
    // signature they carry. Tampered and misaddressed fail before the
    // signature is known good, so they count against whoever brought
    // them (here a bundle: nobody), as do oversized and garbage.
    assert_eq!(c.refused, 3);
}

#[test]
fn the_outbox_empties_only_on_a_valid_receipt() {
    let (a, b, mallory) = sides();
    let peer_b = a.post.peer("b").unwrap();
    let seqs = a
        .post
        .queue(&peer_b, context::PING, &[vec![], vec![1, 2, 3]], None)
        .unwrap();
    let pending = Mailbox::new(a.post.store())
        .pending(b.card.verifying_key(), 0, 10)
        .unwrap();
    assert_eq!(pending.len(), 2);
    let r0 = b.router.receive(None, &pending[0].envelope).unwrap();
    // A receipt signed by someone else is not accepted.
    let forged = Receipt::sign(
        &mallory.signing,
        a.post.identity().signing.verifying_key(),
        MessageId([0; 16]),
        [0; 32],
        crate::clock::system_ms(),
        0,
        Outcome::Accepted,
    );
    assert!(a
        .post
        .confirm(&peer_b, seqs[0], &pending[0].envelope, &forged.to_bytes())
        .is_err());
    // The receipt for the other envelope is not accepted either.
    assert!(a
        .post
        .confirm(&peer_b, seqs[1], &pending[1].envelope, &r0.receipt)
        .is_err());
    assert_eq!(
        a.post
            .confirm(&peer_b, seqs[0], &pending[0].envelope, &r0.receipt)
            .unwrap(),
        Outcome::Accepted
    );
    let left = Mailbox::new(a.post.store())
        .pending(b.card.verifying_key(), 0, 10)
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].seq, seqs[1]);
    // A "from the future" refusal (clock skew) is not final: the
    // envelope stays queued for a later try.
    let env = Envelope::decode(&left[0].envelope, envelope::MAX_ENVELOPE).unwrap();
    let skew = Receipt::sign(
        &b.post.identity().signing,
        a.post.identity().signing.verifying_key(),
        env.header.message_id,
        env.hash(),
        crate::clock::system_ms(),
        0,
        Outcome::Refused(Refusal::FromFuture),
    );
    assert_eq!(
        a.post
            .confirm(&peer_b, seqs[1], &left[0].envelope, &skew.to_bytes())
            .unwrap(),
        Outcome::Refused(Refusal::FromFuture)
    );
    assert_eq!(
        Mailbox::new(a.post.store())
            .pending(b.card.verifying_key(), 0, 10)
            .unwrap()
            .len(),
        1
    );
}

/// Moves everything `from` has queued for `to` across, and the
/// receipts back.
fn deliver(from: &Side, to: &Side) {
    crate::testkit::transfer(&from.router, &to.router);
}

fn checked(side: &Side) -> crate::audit::verify::Checked {
    let peers: Vec<Peer> = side.post.peers().by_key.values().cloned().collect();
    crate::audit::verify::verify_store(side.post.store(), side.post.identity(), "liaison", &peers)
        .unwrap()
}

#[test]
fn logs_verify_agree_across_exports_and_a_witness_catches_a_rewrite() {
    use crate::audit::{verify, witness};
    use liaison_protocol::audit::note::Push;
    use liaison_protocol::audit::tree;

    let (a, b, _) = sides();
    let peer_b = a.post.peer("b").unwrap();
    let peer_a = b.post.peer("a").unwrap();
    a.post
        .queue(&peer_b, context::PING, &[vec![1], vec![2], vec![3]], None)
        .unwrap();
    b.post
        .queue(&peer_a, context::PING, &[vec![4]], None)
        .unwrap();
    deliver(&a, &b);
    deliver(&b, &a);
    // a checkpoints; b witnesses and cosigns; a keeps the cosignature.
    assert!(witness::publish(a.witness(), std::slice::from_ref(&peer_b), 0).unwrap() > 0);
    deliver(&a, &b);
    deliver(&b, &a);
    // While b is away, a checkpoint waits in the outbox: the next one
    // is not queued beside it (pushes travel one at a time, so no
    // older one can arrive after a newer one).
    a.post
        .queue(&peer_b, context::PING, &[vec![5]], None)
        .unwrap();
    deliver(&a, &b);
    let before = b.post.store().log_head().0;
    witness::publish(a.witness(), std::slice::from_ref(&peer_b), 0).unwrap();
    a.post
        .queue(&peer_b, context::PING, &[vec![6]], None)
        .unwrap();
    witness::publish(a.witness(), std::slice::from_ref(&peer_b), 0).unwrap();
    let pending = Mailbox::new(a.post.store())
        .pending(b.card.verifying_key(), 0, 10)
        .unwrap();
    let pushes = pending
        .iter()
        .filter(|p| {
            Envelope::decode(&p.envelope, envelope::MAX_ENVELOPE)
                .unwrap()
                .header
                .context
                == CHECKPOINT
        })
        .count();
    assert_eq!(pushes, 1, "one push in flight per witness");
    deliver(&a, &b);
    assert!(b.post.store().log_head().0 > before);
    assert_eq!(b.post.store().forks().unwrap().len(), 0);
    deliver(&b, &a);
    let ca = checked(&a);
    assert_eq!(ca.problems, Vec::<String>::new());
    assert_eq!((ca.cosignatures, ca.receipts), (2, 7));
    let cb = checked(&b);
    assert_eq!(cb.problems, Vec::<String>::new());
    assert_eq!(cb.inbox, 7, "5 pings and 2 checkpoints");
    assert!(b
        .post
        .store()
        .witnessed(a.card.verifying_key().as_bytes())
        .unwrap()
        .is_some());

    // Both exports verify, and agree message by message.
    let dir = tempfile::tempdir().unwrap();
    let (fa, fb) = (dir.path().join("a.audit"), dir.path().join("b.audit"));
    let export = |side: &Side, name: &str, peer: &Peer, out: &std::path::Path| {
        verify::export_to(
            side.post.store(),
            side.post.identity(),
            name,
            "liaison",
            std::slice::from_ref(peer),
            out,
            None,
            None,
        )
        .unwrap()
    };
    assert_eq!(export(&a, "a", &peer_b, &fa).witnesses, 1);
    export(&b, "b", &peer_a, &fb);
    let r = verify::verify_file(
        &fa,
        Some(a.card.verifying_key()),
        Some(&fb),
        Some(b.card.verifying_key()),
    );
    assert_eq!(r.problems, Vec::<String>::new());
    assert_eq!(r.witnesses.len(), 1);
    assert!(r.matched >= 6, "{r:?}");
    // An export claimed to be b's is refused as a's.
    let r = verify::verify_file(&fb, Some(a.card.verifying_key()), None, None);
    assert!(
        r.problems
            .iter()
            .any(|p| p.contains("not the one expected")),
        "{r:?}"
    );

    // a rewrites history: the same entries, one message id changed,
    // in a fresh store under the same key.
    let dir2 = tempfile::tempdir().unwrap();
    let forged = Arc::new(Store::open(&dir2.path().join("store")).unwrap());
    a.post
        .store()
        .scan_log(0, |i, bytes| {
            let mut e = Entry::decode(bytes).unwrap();
            if i == 1 {
                e.message_id = Some(MessageId([0xAA; 16]));
            }
            forged.append(Batch::default(), &[e], false).unwrap();
            true
        })
        .unwrap();
    let liar_config = config("a", &[("b", &b.card)]);
    let liar = Side::new(
        Post::new(identity(1), forged.clone(), &liar_config),
        &liar_config,
        dir2,
    );
    // Claiming the witness's last size, with a proof from the forged tree.
    let signed = forged
        .checkpoint(|n, root| {
            liaison_protocol::audit::note::Checkpoint {
                origin: witness::origin(&liar.post),
                size: n,
                root,
            }
            .sign(&liar.post.identity().signing)
        })
        .unwrap();
    let seen = b
        .post
        .store()
        .witnessed(a.card.verifying_key().as_bytes())
        .unwrap()
        .unwrap()
        .checkpoint
        .size;
    let push = Push {
        from: seen,
        proof: tree::consistency_proof(forged.as_ref(), seen, signed.checkpoint.size).unwrap(),
        checkpoint: signed,
    };
    let out = witness::check(b.witness(), &peer_a, &push, &b.witness().witnessing())
        .unwrap()
        .unwrap();
    assert!(out.cosigned.is_none());
    assert_eq!(out.entries[0].kind, Kind::Fork);
    assert_eq!(out.entries[0].code, witness::Fork::Inconsistent as u16);
    // Through the network path, running the honest code on the forged
    // store: its first push proves from nothing, which the witness
    // answers with the checkpoint it verified last (stale, not yet a
    // fork); the next push proves from there, and fails.
    let peer_b_of_liar = liar.post.peer("b").unwrap();
    witness::publish(liar.witness(), std::slice::from_ref(&peer_b_of_liar), 0).unwrap();
    deliver(&liar, &b);
    assert_eq!(b.post.store().forks().unwrap().len(), 0);
    deliver(&b, &liar);
    witness::publish(liar.witness(), std::slice::from_ref(&peer_b_of_liar), 0).unwrap();
    deliver(&liar, &b);
    assert_eq!(b.post.store().forks().unwrap().len(), 1);
    assert_eq!(checked(&b).forks, 1);
    assert_eq!(checked(&b).problems, Vec::<String>::new());

    // An entry changed in a's own store is caught by `audit verify`,
    // and so is a receipt in the log that was not the peer's.
    let store = a.post.store();
    let mut batch = Batch::default();
    let mut e = Entry::decode(&store.log_entry(2).unwrap().unwrap()).unwrap();
    e.count = 99;
    batch.put(
        store::Column::Audit,
        store::keys::audit::entry(2),
        e.to_bytes(),
    );
    let receipted = (0..store.log_head().0)
        .find(|i| {
            Entry::decode(&store.log_entry(*i).unwrap().unwrap())
                .unwrap()
                .kind
                == Kind::Receipted
        })
        .unwrap();
    let mut r = Entry::decode(&store.log_entry(receipted).unwrap().unwrap()).unwrap();
    r.receipt.as_mut().unwrap()[120] ^= 1;
    batch.put(
        store::Column::Audit,
        store::keys::audit::entry(receipted),
        r.to_bytes(),
    );
    store.write(batch).unwrap();
    let problems = checked(&a).problems;
    assert!(
        problems
            .iter()
            .any(|p| p.contains("is not the stored tree")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains(&format!("entry {receipted}: receipt"))),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("checkpoint")),
        "{problems:?}"
    );
}

/// A witness that verified a log at one size is shown a smaller
/// checkpoint of it: a rollback, kept as evidence with both signed
/// checkpoints. (Pushes travel one at a time, so an honest log never
/// shows a smaller one.)
#[test]
fn a_smaller_checkpoint_than_one_verified_is_a_rollback() {
    use crate::audit::witness;
    use liaison_protocol::audit::note::{Checkpoint, Push};

    let (a, b, _) = sides();
    let peer_b = a.post.peer("b").unwrap();
    let peer_a = b.post.peer("a").unwrap();
    a.post
        .queue(&peer_b, context::PING, &[vec![1], vec![2]], None)
        .unwrap();
    deliver(&a, &b);
    let sign = |n, root| {
        Checkpoint {
            origin: witness::origin(&a.post),
            size: n,
            root,
        }
        .sign(&a.post.identity().signing)
    };
    let small = a.post.store().checkpoint(sign).unwrap();
    a.post
        .queue(&peer_b, context::PING, &[vec![3], vec![4]], None)
        .unwrap();
    deliver(&a, &b);
    witness::publish(a.witness(), std::slice::from_ref(&peer_b), 0).unwrap();
    deliver(&a, &b);
    deliver(&b, &a);
    let verified = b
        .post
        .store()
        .witnessed(a.card.verifying_key().as_bytes())
        .unwrap()
        .unwrap();
    assert!(verified.checkpoint.size > small.checkpoint.size);
    // a shows the smaller one, signed by itself, proven from nothing.
    let push = Push {
        checkpoint: small.clone(),
        from: 0,
        proof: Vec::new(),
    };
    let out = witness::check(b.witness(), &peer_a, &push, &b.witness().witnessing())
        .unwrap()
        .unwrap();
    assert!(out.cosigned.is_none());
    assert_eq!(out.entries[0].kind, Kind::Fork);
    assert_eq!(out.entries[0].code, witness::Fork::Rollback as u16);
    // Through the inbox, as a would send it: kept as evidence.
    a.post
        .queue(&peer_b, CHECKPOINT, &[push.to_bytes()], None)
        .unwrap();
    deliver(&a, &b);
    let forks = b.post.store().forks().unwrap();
    assert_eq!(forks.len(), 1);
    let evidence = String::from_utf8_lossy(&forks[0].2).into_owned();
    assert!(evidence.contains("rolled back"), "{evidence}");
    assert!(evidence.contains(&verified.to_text()), "{evidence}");
    assert!(evidence.contains(&small.to_text()), "{evidence}");
    assert_eq!(checked(&b).forks, 1);
}

/// A peer that keeps sending envelopes but never lets its witness
/// verify a larger checkpoint (here: pushes proven from the wrong
/// size, which are only ever stale) is `WITNESS STALE` after a few
/// intervals; an honest push clears it.
#[test]
fn a_log_that_grows_without_showing_it_goes_stale() {
    use crate::audit::witness;
    use liaison_protocol::audit::note::{Checkpoint, Push};
    use liaison_protocol::audit::tree;

    let (a, b, _) = sides();
    let peer_b = a.post.peer("b").unwrap();
    let peers_of_b = vec![b.post.peer("a").unwrap()];
    let interval = Duration::from_secs(300);
    let stale_at = |later_ms: u64| {
        witness::stale(
            b.post.store(),
            &peers_of_b,
            interval,
            crate::clock::system_ms() + later_ms,
        )
        .unwrap()
    };
    let minutes = |m: u64| m * 60_000;
    assert!(stale_at(minutes(60)).is_empty(), "nothing exchanged yet");
    a.post
        .queue(&peer_b, context::PING, &[vec![1]], None)
        .unwrap();
    deliver(&a, &b);
    assert!(stale_at(0).is_empty(), "owed, not yet overdue");
    assert_eq!(stale_at(minutes(16)), ["a"]);
    // An honest checkpoint, verified: nothing owed.
    witness::publish(a.witness(), std::slice::from_ref(&peer_b), 0).unwrap();
    deliver(&a, &b);
    deliver(&b, &a);
    assert!(stale_at(minutes(16)).is_empty());
    // More exchanges, and only pushes from a size b never verified.
    a.post
        .queue(&peer_b, context::PING, &[vec![2]], None)
        .unwrap();
    deliver(&a, &b);
    let store = a.post.store();
    let signed = store
        .checkpoint(|n, root| {
            Checkpoint {
                origin: witness::origin(&a.post),
                size: n,
                root,
            }
            .sign(&a.post.identity().signing)
        })
        .unwrap();
    let size = signed.checkpoint.size;
    let push = Push {
        from: 1,
        proof: tree::consistency_proof(store.as_ref(), 1, size).unwrap(),
        checkpoint: signed,
    };
    a.post
        .queue(&peer_b, CHECKPOINT, &[push.to_bytes()], None)
        .unwrap();
    deliver(&a, &b);
    assert_eq!(
        b.post.store().forks().unwrap().len(),
        0,
        "stale, not a fork"
    );
    assert_eq!(stale_at(minutes(16)), ["a"]);
}

/// `audit verify` while the daemon keeps appending: it checks a
/// snapshot, so entries, checkpoints and inbox entries written during
/// the run are no false alarm.
#[test]
fn audit_verify_runs_while_the_log_grows() {
    use crate::audit::witness;
    let (a, b, _) = sides();
    let peer_b = a.post.peer("b").unwrap();
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            for i in 0..150u8 {
                a.post
                    .queue(&peer_b, context::PING, &[vec![i]], None)
                    .unwrap();
                deliver(&a, &b);
                if i % 25 == 0 {
                    witness::publish(a.witness(), std::slice::from_ref(&peer_b), 0).unwrap();
                }
            }
        });
        for _ in 0..30 {
            assert_eq!(checked(&a).problems, Vec::<String>::new());
            assert_eq!(checked(&b).problems, Vec::<String>::new());
        }
        writer.join().unwrap();
    });
    let (ca, cb) = (checked(&a), checked(&b));
    assert_eq!((ca.problems.len(), cb.problems.len()), (0, 0));
    assert!(cb.inbox >= 150, "{cb:?}");
}
