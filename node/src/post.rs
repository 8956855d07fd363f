//! Envelopes in and out, over the store, whatever carries them (libp2p or
//! a bundle file).
//!
//! Out: [`Post::queue`] seals a message to a peer and puts it in the
//! outbox (durably) before anyone tries to send it; the courier takes it
//! from there and hands each receipt to [`Post::confirm`], which checks the
//! peer's signature and only then takes the envelope out of the outbox.
//!
//! In: [`Post::receive`] decodes, checks and opens an envelope, applies
//! it once (its effects and its inbox entry in one atomic batch) and
//! returns the signed receipt. A retransmission of the same bytes gets a
//! `Duplicate` receipt stamped with the first delivery's time; the same id with other bytes is a replay and is
//! refused. Every refusal is signed too, counted per peer and logged.
//!
//! Everything here blocks on RocksDB: call it from `spawn_blocking`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ed25519_dalek::VerifyingKey;
use liaison_config::{Config, Peer};
use liaison_protocol::envelope::{
    self, Draft, Envelope, MessageId, OpenError, Outcome, Receipt, ReceiptError, Recipient,
    Refusal, Window,
};
use liaison_protocol::keys::AgencyKey;
use rand_core_09::{OsRng, UnwrapErr};
use sha2::{Digest as _, Sha256};
use tracing::{info, warn};

use crate::identity::{self, Identity};
use crate::store::mailbox::{Mailbox, Seen};
use crate::store::{self, Batch, Store};

/// Message types this node applies.
pub mod context {
    /// A liveness probe: applied by counting it. Its body (any bytes, up
    /// to the envelope limit) is discarded: `liaison ping --size` uses it
    /// to measure round trips with a payload.
    pub const PING: &str = "liaison/ping/v1";
}

/// Now, Unix milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Errors of the envelope layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// No trusted peer of that name.
    #[error("no trusted peer named {0:?}: see `liaison peer list`")]
    UnknownPeer(String),
    /// The message could not be sealed.
    #[error(transparent)]
    Seal(#[from] envelope::SealError),
    /// An outbox entry does not decode (the store is damaged).
    #[error("outbox entry {seq} for {peer} does not decode: {error}")]
    Outbox {
        /// Peer name.
        peer: String,
        /// Its sequence number.
        seq: u64,
        /// Why.
        error: OpenError,
    },
    /// The peer's receipt is not valid.
    #[error("{peer}'s receipt is not valid: {error}")]
    Receipt {
        /// Peer name.
        peer: String,
        /// Why.
        error: ReceiptError,
    },
}

/// The trusted peers, by ed25519 key.
#[derive(Debug, Default)]
struct Peers {
    by_key: HashMap<[u8; 32], Peer>,
    by_peer_id: HashMap<libp2p::PeerId, [u8; 32]>,
}

/// The envelope layer of one node.
#[derive(Debug)]
pub struct Post {
    identity: Identity,
    store: Arc<Store>,
    peers: RwLock<Arc<Peers>>,
    federation: String,
    max_age: Duration,
    max_skew: Duration,
}

/// What [`Post::receive`] did, for the caller's logs and tests.
#[derive(Debug, Clone)]
pub struct Received {
    /// The signed receipt to send back.
    pub receipt: Vec<u8>,
    /// What it says.
    pub outcome: Outcome,
}

impl Post {
    /// The envelope layer for `config`'s peers.
    pub fn new(identity: Identity, store: Arc<Store>, config: &Config) -> Post {
        let post = Post {
            identity,
            store,
            peers: RwLock::default(),
            federation: config.node.federation.clone(),
            max_age: config.network.max_message_age,
            max_skew: config.network.max_clock_skew,
        };
        post.set_peers(&config.peers);
        post
    }

    /// Replaces the trusted peers (after a config reload).
    pub fn set_peers(&self, peers: &[Peer]) {
        let by_key = peers
            .iter()
            .map(|p| (*p.key.verifying_key().as_bytes(), p.clone()))
            .collect();
        let by_peer_id = peers
            .iter()
            .map(|p| (identity::peer_id(&p.key), *p.key.verifying_key().as_bytes()))
            .collect();
        *self
            .peers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Arc::new(Peers { by_key, by_peer_id });
    }

    fn peers(&self) -> Arc<Peers> {
        self.peers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The trusted peer called `name`.
    pub fn peer(&self, name: &str) -> Result<Peer, Error> {
        self.peers()
            .by_key
            .values()
            .find(|p| p.name == name)
            .cloned()
            .ok_or_else(|| Error::UnknownPeer(name.to_owned()))
    }

    /// The trusted peer with this ed25519 key.
    pub fn peer_by_key(&self, key: &VerifyingKey) -> Option<Peer> {
        self.peers().by_key.get(key.as_bytes()).cloned()
    }

    /// The ed25519 key of the trusted peer with this PeerId.
    pub fn key_of(&self, peer: &libp2p::PeerId) -> Option<[u8; 32]> {
        self.peers().by_peer_id.get(peer).copied()
    }

    /// The store.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Our identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Seals `body` to `peer` (not queued).
    pub fn seal(&self, peer: &AgencyKey, context: &str, body: &[u8]) -> Result<Envelope, Error> {
        let draft = Draft {
            federation: &self.federation,
            context,
            recipient: peer,
            message_id: MessageId::random(&mut UnwrapErr(OsRng)),
            epoch: 0,
            timestamp_ms: now_ms(),
            body,
        };
        Ok(envelope::seal(
            &self.identity.signing,
            draft,
            &mut UnwrapErr(OsRng),
        )?)
    }

    /// Seals messages to `peer` and puts them in the outbox, durably.
    /// Returns their outbox sequence numbers.
    pub fn queue(&self, peer: &Peer, context: &str, bodies: &[Vec<u8>]) -> Result<Vec<u64>, Error> {
        let envelopes = bodies
            .iter()
            .map(|b| self.seal(&peer.key, context, b).map(|e| e.to_bytes()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Mailbox::new(&self.store).enqueue(peer.key.verifying_key(), envelopes)?)
    }

    /// Checks the receipt `peer` returned for outbox entry `seq` and, if it
    /// is valid, takes the entry out of the outbox.
    pub fn confirm(
        &self,
        peer: &Peer,
        seq: u64,
        envelope: &[u8],
        receipt: &[u8],
    ) -> Result<Outcome, Error> {
        let env =
            Envelope::decode(envelope, envelope::MAX_ENVELOPE).map_err(|error| Error::Outbox {
                peer: peer.name.clone(),
                seq,
                error,
            })?;
        let bad = |error| Error::Receipt {
            peer: peer.name.clone(),
            error,
        };
        let r = Receipt::decode(receipt).map_err(bad)?;
        r.verify(
            peer.key.verifying_key(),
            &self.identity.signing.verifying_key(),
            &env.header.message_id,
            &Sha256::digest(envelope).into(),
        )
        .map_err(bad)?;
        let refused = matches!(r.outcome, Outcome::Refused(_));
        if let Outcome::Refused(reason) = r.outcome {
            warn!(peer = %peer.name, msg = %env.header.message_id, reason = reason.as_str(), "peer refused our envelope");
        }
        if !Self::is_final(r.outcome) {
            // Our clock is ahead of the peer's: the same envelope will be
            // accepted once its time has come, so it stays queued.
            return Ok(r.outcome);
        }
        Mailbox::new(&self.store).delivered(peer.key.verifying_key(), seq, refused)?;
        Ok(r.outcome)
    }

    /// Whether a receipt with this outcome settles its envelope (takes it
    /// out of the outbox). Only `FromFuture` does not: it passes with time.
    pub fn is_final(outcome: Outcome) -> bool {
        outcome != Outcome::Refused(Refusal::FromFuture)
    }

    /// Opens an envelope that arrived from `via` (the transport's
    /// authenticated peer, or `None` from a bundle) and returns the signed
    /// receipt. Errors are only the store's: every problem with the
    /// envelope is a signed refusal.
    pub fn receive(&self, via: Option<&VerifyingKey>, bytes: &[u8]) -> Result<Received, Error> {
        let mailbox = Mailbox::new(&self.store);
        let hash: [u8; 32] = Sha256::digest(bytes).into();
        let now = now_ms();
        let peers = self.peers();
        // A refusal is addressed to, and counted against, the sender the
        // envelope names only once its signature has verified; before
        // that, to whoever brought it (the transport's peer), so nobody
        // can run up another agency's refusal count.
        let refuse =
            |to: VerifyingKey, id: MessageId, reason: Refusal| -> Result<Received, Error> {
                if peers.by_key.contains_key(to.as_bytes()) {
                    mailbox.count(&to, false)?;
                }
                let name = peers
                    .by_key
                    .get(to.as_bytes())
                    .map_or("?", |p| p.name.as_str());
                warn!(peer = name, msg = %id, reason = reason.as_str(), "refused an envelope");
                let outcome = Outcome::Refused(reason);
                let receipt = Receipt::sign(&self.identity.signing, to, id, hash, now, outcome);
                Ok(Received {
                    receipt: receipt.to_bytes(),
                    outcome,
                })
            };
        let via = via
            .copied()
            .unwrap_or_else(|| self.identity.signing.verifying_key());
        let env = match Envelope::decode(bytes, envelope::MAX_ENVELOPE) {
            Ok(env) => env,
            Err(e) => return refuse(via, MessageId([0; 16]), Refusal::from(&e)),
        };
        let (sender, id) = (env.header.sender, env.header.message_id);
        let me = Recipient {
            federation: &self.federation,
            signing: &self.identity.signing,
            sealing: &self.identity.sealing,
        };
        let window = Window {
            now_ms: now,
            max_age_ms: self.max_age.as_millis() as u64,
            max_skew_ms: self.max_skew.as_millis() as u64,
        };
        let mut earlier: Option<Seen> = None;
        let mut lookup_failed = None;
        let opened = env.open(
            me,
            |k| peers.by_key.get(k.as_bytes()).map(|p| &p.key),
            |s, id| match mailbox.seen(s, id) {
                Ok(found) => {
                    let seen = found.is_some();
                    earlier = found;
                    seen
                }
                Err(e) => {
                    lookup_failed = Some(e);
                    true
                }
            },
            window,
        );
        if let Some(e) = lookup_failed {
            return Err(e.into());
        }
        let opened = match opened {
            Ok(o) => o,
            Err(OpenError::Replayed(_)) => {
                return match earlier {
                    Some(seen) if seen.hash == hash => {
                        mailbox.count(&sender, true)?;
                        Ok(self.duplicate(sender, id, &seen))
                    }
                    _ => refuse(sender, id, Refusal::Replayed),
                };
            }
            Err(
                e @ (OpenError::Decode(_)
                | OpenError::Version(_)
                | OpenError::WrongRecipient
                | OpenError::UnknownSender
                | OpenError::BadSignature),
            ) => return refuse(via, id, Refusal::from(&e)),
            Err(e) => return refuse(sender, id, Refusal::from(&e)),
        };
        let effects = match opened.header.context.as_str() {
            context::PING => Batch::default(),
            _ => return refuse(sender, id, Refusal::UnknownContext),
        };
        let receipt = Receipt::sign(
            &self.identity.signing,
            sender,
            id,
            hash,
            now,
            Outcome::Accepted,
        )
        .to_bytes();
        let seen = Seen {
            hash,
            received_at_ms: now,
            receipt: receipt.clone(),
        };
        match mailbox.accept(&sender, &id, seen, effects)? {
            None => {
                let name = peers
                    .by_key
                    .get(sender.as_bytes())
                    .map_or("?", |p| p.name.as_str());
                info!(peer = name, msg = %id, context = %opened.header.context, "applied");
                Ok(Received {
                    receipt,
                    outcome: Outcome::Accepted,
                })
            }
            // Another delivery of the same message won the race.
            Some(first) if first.hash == hash => {
                mailbox.count(&sender, true)?;
                Ok(self.duplicate(sender, id, &first))
            }
            Some(_) => refuse(sender, id, Refusal::Replayed),
        }
    }

    /// The receipt for a retransmission: `Duplicate`, stamped with the
    /// time the message was first applied.
    fn duplicate(&self, sender: VerifyingKey, id: MessageId, seen: &Seen) -> Received {
        let outcome = Outcome::Duplicate;
        let receipt = Receipt::sign(
            &self.identity.signing,
            sender,
            id,
            seen.hash,
            seen.received_at_ms,
            outcome,
        );
        Received {
            receipt: receipt.to_bytes(),
            outcome,
        }
    }

    /// Forgets inbox ids too old to be accepted again anyway.
    pub fn forget_old_ids(&self) -> Result<u64, Error> {
        let horizon = (self.max_age + self.max_skew).as_millis() as u64;
        Ok(Mailbox::new(&self.store).forget_seen_before(now_ms().saturating_sub(horizon))?)
    }
}

#[cfg(test)]
mod tests {
    use liaison_protocol::envelope::Refusal;
    use liaison_protocol::keys::{SealingKey, SigningKey};

    use super::*;
    use crate::store::mailbox::Mailbox;

    struct Side {
        post: Post,
        card: AgencyKey,
        _dir: tempfile::TempDir,
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
            let store = Arc::new(Store::open(dir.path()).unwrap());
            let card = id.agency_key();
            Side {
                post: Post::new(id, store, &config(name, &[peer])),
                card,
                _dir: dir,
            }
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
        let r = side.post.receive(None, bytes).unwrap();
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
            now_ms(),
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
        let stranger = seal_as(&mallory.signing, &b.card, MessageId([7; 16]), now_ms(), b"");
        assert_eq!(
            outcome(&b, &stranger),
            Outcome::Refused(Refusal::UnknownSender)
        );
        // Stale.
        let stale = seal_as(
            &a.post.identity().signing,
            &b.card,
            MessageId([8; 16]),
            now_ms() - 8 * 24 * 3600 * 1000,
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
            .queue(&peer_b, context::PING, &[vec![], vec![1, 2, 3]])
            .unwrap();
        let pending = Mailbox::new(a.post.store())
            .pending(b.card.verifying_key(), 0, 10)
            .unwrap();
        assert_eq!(pending.len(), 2);
        let r0 = b.post.receive(None, &pending[0].envelope).unwrap();
        // A receipt signed by someone else is not accepted.
        let forged = Receipt::sign(
            &mallory.signing,
            a.post.identity().signing.verifying_key(),
            MessageId([0; 16]),
            [0; 32],
            now_ms(),
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
            now_ms(),
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
}
