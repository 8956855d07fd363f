//! The envelope layer: envelopes in and out over the store, whatever
//! carries them (libp2p or a bundle file).
//!
//! Below the domains and the [`crate::router`], above the store: the
//! domains hand it bodies to seal and queue ([`outbox`]); the network and
//! bundles hand it envelopes to open, check and apply once ([`inbox`]),
//! and it asks the router, through the [`Apply`] trait it defines, what a
//! message does. It knows no message type but its own [`context::PING`].
//! This file holds the [`Post`] handle: identity, the trusted peers, the
//! clock, and sealing.

pub mod inbox;
pub mod outbox;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ed25519_dalek::VerifyingKey;
use liaison_config::{Config, Peer};
use liaison_protocol::envelope::{self, Draft, Envelope, MessageId, OpenError, ReceiptError};
use liaison_protocol::keys::AgencyKey;
use rand_core_09::{OsRng, UnwrapErr};

pub use inbox::{Applied, Apply, Guard, Handled, Message, Received, MAX_OWED};

use crate::clock::Clock;
use crate::identity::{self, Identity};
use crate::store::{self, Store};

/// The envelope layer's own message type.
pub mod context {
    /// A liveness probe: applied by counting it. Its body (any bytes, up
    /// to the envelope limit) is discarded: `liaison ping --size` uses it
    /// to measure round trips with a payload.
    pub const PING: &str = "liaison/ping/v1";
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

/// Called with a peer's key when something was queued for it.
type Waker = Box<dyn Fn(&[u8; 32]) + Send + Sync>;

/// The envelope layer of one node.
pub struct Post {
    identity: Identity,
    store: Arc<Store>,
    peers: RwLock<Arc<Peers>>,
    federation: String,
    max_age: Duration,
    max_skew: Duration,
    name: String,
    waker: RwLock<Option<Waker>>,
    clock: Clock,
    /// [`MAX_OWED`], lowered by tests to reach it.
    max_owed: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Post {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Post")
            .field("federation", &self.federation)
            .field("store", &self.store.path())
            .finish_non_exhaustive()
    }
}

impl Post {
    /// The federation id.
    pub fn federation(&self) -> &str {
        &self.federation
    }

    /// The envelope layer for `config`'s peers, on the system clock.
    pub fn new(identity: Identity, store: Arc<Store>, config: &Config) -> Post {
        Post::with_clock(identity, store, config, Clock::system())
    }

    /// The envelope layer for `config`'s peers, reading the time from
    /// `clock` (tests pin it).
    pub fn with_clock(
        identity: Identity,
        store: Arc<Store>,
        config: &Config,
        clock: Clock,
    ) -> Post {
        let post = Post {
            identity,
            store,
            peers: RwLock::default(),
            federation: config.node.federation.clone(),
            max_age: config.network.max_message_age,
            max_skew: config.network.max_clock_skew,
            name: config.node.name.clone(),
            waker: RwLock::new(None),
            clock,
            max_owed: std::sync::atomic::AtomicU64::new(MAX_OWED),
        };
        post.set_peers(&config.peers);
        post
    }

    /// Now, Unix milliseconds, by this node's clock.
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// This node's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Lowers [`MAX_OWED`] (tests reach it without 65,536 envelopes).
    #[cfg(test)]
    pub(crate) fn set_max_owed(&self, n: u64) {
        self.max_owed.store(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// This node's agency name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sets what is called when something is queued for a peer (the
    /// daemon wakes that peer's courier).
    pub fn set_waker(&self, waker: impl Fn(&[u8; 32]) + Send + Sync + 'static) {
        *self
            .waker
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Box::new(waker));
    }

    fn wake(&self, peer: &[u8; 32]) {
        if let Some(w) = self
            .waker
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
        {
            w(peer);
        }
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
            timestamp_ms: self.now_ms(),
            body,
        };
        Ok(envelope::seal(
            &self.identity.signing,
            draft,
            &mut UnwrapErr(OsRng),
        )?)
    }
}

#[cfg(test)]
mod tests;
