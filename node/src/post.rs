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
//! returns the signed receipt. A retransmission of the same bytes gets the
//! stored receipt again; the same id with other bytes is a replay and is
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
    /// A liveness probe: applied by counting it.
    pub const PING: &str = "liaison/ping/v1";
}

/// Longest ping body.
const MAX_PING_BODY: usize = 64;

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
            &env.hash(),
        )
        .map_err(bad)?;
        let refused = matches!(r.outcome, Outcome::Refused(_));
        if let Outcome::Refused(reason) = r.outcome {
            warn!(peer = %peer.name, msg = %env.header.message_id, reason = reason.as_str(), "peer refused our envelope");
        }
        Mailbox::new(&self.store).delivered(peer.key.verifying_key(), seq, refused)?;
        Ok(r.outcome)
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
        let refuse =
            |sender: VerifyingKey, id: MessageId, reason: Refusal| -> Result<Received, Error> {
                let counted = peers.by_key.contains_key(sender.as_bytes());
                if counted {
                    mailbox.count(&sender, false)?;
                }
                let name = peers
                    .by_key
                    .get(sender.as_bytes())
                    .map_or("?", |p| p.name.as_str());
                warn!(peer = name, msg = %id, reason = reason.as_str(), "refused an envelope");
                let outcome = Outcome::Refused(reason);
                let receipt = Receipt::sign(&self.identity.signing, sender, id, hash, now, outcome);
                Ok(Received {
                    receipt: receipt.to_bytes(),
                    outcome,
                })
            };
        // Refusals of what cannot be read go to the transport's peer.
        let fallback = via
            .copied()
            .unwrap_or_else(|| self.identity.signing.verifying_key());
        let env = match Envelope::decode(bytes, envelope::MAX_ENVELOPE) {
            Ok(env) => env,
            Err(e) => return refuse(fallback, MessageId([0; 16]), Refusal::from(&e)),
        };
        let (sender, id) = (env.header.sender, env.header.message_id);
        let me = Recipient {
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
                        Ok(Received {
                            receipt: seen.receipt,
                            outcome: Outcome::Duplicate,
                        })
                    }
                    _ => refuse(sender, id, Refusal::Replayed),
                };
            }
            Err(e) => {
                // A refusal goes to the sender the envelope names only if
                // that sender is trusted; otherwise to whoever brought it.
                let to = if peers.by_key.contains_key(sender.as_bytes()) {
                    sender
                } else {
                    fallback
                };
                return refuse(to, id, Refusal::from(&e));
            }
        };
        let effects = match opened.header.context.as_str() {
            context::PING if opened.body.len() <= MAX_PING_BODY => Batch::default(),
            context::PING => return refuse(sender, id, Refusal::BadBody),
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
            Some(first) => {
                mailbox.count(&sender, true)?;
                Ok(Received {
                    receipt: first.receipt,
                    outcome: Outcome::Duplicate,
                })
            }
        }
    }

    /// Forgets inbox ids too old to be accepted again anyway.
    pub fn forget_old_ids(&self) -> Result<u64, Error> {
        let horizon = (self.max_age + self.max_skew).as_millis() as u64;
        Ok(Mailbox::new(&self.store).forget_seen_before(now_ms().saturating_sub(horizon))?)
    }
}
