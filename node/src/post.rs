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
use std::time::Duration;

use ed25519_dalek::VerifyingKey;
use liaison_config::{Config, Peer};
use liaison_protocol::audit::{note, Entry, Kind};
use liaison_protocol::envelope::{
    self, Draft, Envelope, MessageId, OpenError, Outcome, Receipt, ReceiptError, Recipient,
    Refusal, Window,
};
use liaison_protocol::keys::AgencyKey;
use rand_core_09::{OsRng, UnwrapErr};
use sha2::{Digest as _, Sha256};
use tracing::{info, warn};

use crate::audit::witness;
use crate::clock::Clock;
use crate::identity::{self, Identity};
use crate::store::mailbox::{Mailbox, Seen};
use crate::store::{self, Batch, Store};

/// Message types this node applies.
pub mod context {
    /// A liveness probe: applied by counting it. Its body (any bytes, up
    /// to the envelope limit) is discarded: `liaison ping --size` uses it
    /// to measure round trips with a payload.
    pub const PING: &str = "liaison/ping/v1";
    /// A peer's signed audit checkpoint with a consistency proof, to
    /// witness ([`crate::audit::witness`]).
    pub const CHECKPOINT: &str = "liaison/audit/checkpoint/v1";
    /// A peer's cosignature on one of our checkpoints.
    pub const COSIGNATURE: &str = "liaison/audit/cosignature/v1";
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
    /// Matching failed while applying a message.
    #[error("matching: {0}")]
    Matching(String),
    /// The peer's receipt is not valid.
    #[error("{peer}'s receipt is not valid: {error}")]
    Receipt {
        /// Peer name.
        peer: String,
        /// Why.
        error: ReceiptError,
    },
}

/// Envelopes a peer's outbox may hold before messages from it that need
/// an answer are refused (`over-limit`): a peer that never takes our
/// answers cannot make us store more of them. An honest peer drains its
/// outbox whenever it is connected, which it is while it sends.
pub const MAX_OWED: u64 = 65_536;

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
    /// Serialises witnessing: see [`Post::witnessing`].
    witness: std::sync::Mutex<()>,
    matching: crate::matching::State,
    exchange: crate::exchange::State,
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

/// What applying one message does, as a handler returns it: the state
/// change, extra log entries, a reply to queue to the sender, and what the
/// `received` log entry records (item count, case commitment, and a code:
/// 0, or why the application declined). Locks in `guards` are held until
/// the change has committed.
#[derive(Default)]
pub struct Handled<'p> {
    /// The state change, committed with the inbox entry and receipt.
    pub effects: Batch,
    /// Log entries besides the `received` one.
    pub extra: Vec<Entry>,
    /// A message back to the sender: context and body.
    pub reply: Option<(&'static str, Vec<u8>)>,
    /// Committed with the reply's outbox entry (a state change that says
    /// the reply is on its way); empty without a reply.
    pub reply_effects: Batch,
    /// Items the message carried.
    pub count: u64,
    /// The case commitment it came under.
    pub case: Option<[u8; 32]>,
    /// 0, or the application's reason for declining.
    pub code: u16,
    /// Held until `effects` commit (and, with `hold_through_reply`, until
    /// the reply is queued too).
    pub guards: Vec<std::sync::MutexGuard<'p, ()>>,
    /// Whether `guards` must also cover queuing the reply: a decision
    /// whose answer nothing may overtake. Others release them at commit,
    /// so a reply's fsync does not hold up the next message.
    pub hold_through_reply: bool,
    /// Whether waiters on matching answers should look again.
    pub notify: bool,
}

impl std::fmt::Debug for Handled<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handled")
            .field("writes", &self.effects.len())
            .field("count", &self.count)
            .field("code", &self.code)
            .finish_non_exhaustive()
    }
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
    /// The lock held from reading witness state (a peer's last verified
    /// checkpoint, our checkpoints' cosignatures) until the change is
    /// committed. Taken before any store lock.
    pub fn witnessing(&self) -> std::sync::MutexGuard<'_, ()> {
        self.witness
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

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
            witness: std::sync::Mutex::new(()),
            matching: crate::matching::State::new(crate::matching::Settings::from_config(config)),
            exchange: crate::exchange::State::new(crate::exchange::Settings::from_config(config)),
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

    /// Matching's state.
    pub fn matching(&self) -> &crate::matching::State {
        &self.matching
    }

    /// The follow-up's state.
    pub fn exchange(&self) -> &crate::exchange::State {
        &self.exchange
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

    /// Seals messages to `peer` and puts them in the outbox, durably, each
    /// logged as sent (under the `case` commitment, if given). Returns
    /// their outbox sequence numbers.
    pub fn queue(
        &self,
        peer: &Peer,
        context: &str,
        bodies: &[Vec<u8>],
        case: Option<[u8; 32]>,
    ) -> Result<Vec<u64>, Error> {
        self.queue_with(peer, context, bodies, case, Batch::default())
    }

    /// [`Post::queue`], committing `with` in the same atomic write.
    pub fn queue_with(
        &self,
        peer: &Peer,
        context: &str,
        bodies: &[Vec<u8>],
        case: Option<[u8; 32]>,
        with: Batch,
    ) -> Result<Vec<u64>, Error> {
        let envelopes = bodies
            .iter()
            .map(|b| Ok((self.seal(&peer.key, context, b)?, 1)))
            .collect::<Result<Vec<_>, Error>>()?;
        self.enqueue_with(peer, envelopes, case, with)
    }

    /// Puts sealed envelopes in `peer`'s outbox, durably, each logged as
    /// sent with its item count (under the `case` commitment, if given),
    /// and wakes the peer's courier. Returns their sequence numbers.
    pub fn enqueue(
        &self,
        peer: &Peer,
        envelopes: Vec<(Envelope, u64)>,
        case: Option<[u8; 32]>,
    ) -> Result<Vec<u64>, Error> {
        self.enqueue_with(peer, envelopes, case, Batch::default())
    }

    /// [`Post::enqueue`], committing `with` in the same atomic write: the
    /// state change that records the envelopes as sent.
    pub fn enqueue_with(
        &self,
        peer: &Peer,
        envelopes: Vec<(Envelope, u64)>,
        case: Option<[u8; 32]>,
        with: Batch,
    ) -> Result<Vec<u64>, Error> {
        let envelopes = envelopes
            .into_iter()
            .map(|(env, count)| {
                let bytes = env.to_bytes();
                let mut entry = self.sent_entry(peer, &env, &bytes, case);
                entry.count = count;
                (bytes, entry)
            })
            .collect();
        let seqs =
            Mailbox::new(&self.store).enqueue_with(peer.key.verifying_key(), envelopes, with)?;
        self.wake(peer.key.verifying_key().as_bytes());
        Ok(seqs)
    }

    /// The audit entry for sending `env` (encoded as `bytes`) to `peer`.
    pub fn sent_entry(
        &self,
        peer: &Peer,
        env: &Envelope,
        bytes: &[u8],
        case: Option<[u8; 32]>,
    ) -> Entry {
        let mut entry = Entry::new(Kind::Sent, self.now_ms());
        entry.context = env.header.context.clone();
        entry.peer = Some(peer.key.verifying_key().to_bytes());
        entry.message_id = Some(env.header.message_id);
        entry.hash = Some(Sha256::digest(bytes).into());
        entry.case = case;
        entry.count = 1;
        entry
    }

    /// The audit entry for `peer`'s verified receipt of `env`.
    pub fn receipt_entry(
        &self,
        peer: &Peer,
        env: &Envelope,
        hash: [u8; 32],
        receipt: &Receipt,
    ) -> Entry {
        let mut entry = Entry::new(Kind::Receipted, self.now_ms());
        entry.context = env.header.context.clone();
        entry.peer = Some(peer.key.verifying_key().to_bytes());
        entry.message_id = Some(env.header.message_id);
        entry.hash = Some(hash);
        entry.code = match receipt.outcome {
            Outcome::Refused(reason) => reason as u16,
            _ => 0,
        };
        entry.receipt = Some(receipt.to_bytes());
        entry
    }

    /// Logs entries that record no other state change (a message sent
    /// and answered directly, outside the outbox); `durable` for one that
    /// must outlive a power cut (a send the peer will record).
    pub fn log(&self, entries: &[Entry], durable: bool) -> Result<(), Error> {
        self.store.append(Batch::default(), entries, durable)?;
        Ok(())
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
        let hash: [u8; 32] = Sha256::digest(envelope).into();
        r.verify(
            peer.key.verifying_key(),
            &self.identity.signing.verifying_key(),
            &env.header.message_id,
            &hash,
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
        let entry = self.receipt_entry(peer, &env, hash, &r);
        Mailbox::new(&self.store).delivered(peer.key.verifying_key(), seq, refused, &entry)?;
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
        let now = self.now_ms();
        let peers = self.peers();
        // A refusal is addressed to, and counted against, the sender the
        // envelope names only once its signature has verified; before
        // that, to whoever brought it (the transport's peer), so nobody
        // can run up another agency's refusal count.
        let refuse = |to: VerifyingKey,
                      id: MessageId,
                      context: Option<&str>,
                      reason: Refusal|
         -> Result<Received, Error> {
            let trusted = peers.by_key.get(to.as_bytes());
            let name = trusted.map_or("?", |p| p.name.as_str());
            warn!(peer = name, msg = %id, reason = reason.as_str(), "refused an envelope");
            let outcome = Outcome::Refused(reason);
            let mut entry = Entry::new(Kind::Refused, now);
            entry.context = context.unwrap_or_default().to_owned();
            entry.peer = Some(to.to_bytes());
            entry.message_id = (id != MessageId([0; 16])).then_some(id);
            entry.hash = Some(hash);
            entry.code = reason as u16;
            let receipt = mailbox.refused(trusted.map(|_| &to), &entry, |at| {
                Receipt::sign(&self.identity.signing, to, id, hash, now, at, outcome).to_bytes()
            })?;
            Ok(Received { receipt, outcome })
        };
        let via = via
            .copied()
            .unwrap_or_else(|| self.identity.signing.verifying_key());
        let env = match Envelope::decode(bytes, envelope::MAX_ENVELOPE) {
            Ok(env) => env,
            Err(e) => return refuse(via, MessageId([0; 16]), None, Refusal::from(&e)),
        };
        let (sender, id) = (env.header.sender, env.header.message_id);
        let ctx = Some(env.header.context.as_str());
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
                        mailbox.count_duplicate(&sender)?;
                        Ok(self.duplicate(&seen))
                    }
                    _ => refuse(sender, id, ctx, Refusal::Replayed),
                };
            }
            Err(
                e @ (OpenError::Decode(_)
                | OpenError::Version(_)
                | OpenError::WrongRecipient
                | OpenError::UnknownSender
                | OpenError::BadSignature),
            ) => return refuse(via, id, ctx, Refusal::from(&e)),
            Err(e) => return refuse(sender, id, ctx, Refusal::from(&e)),
        };
        let Some(peer) = peers.by_key.get(sender.as_bytes()) else {
            return refuse(sender, id, ctx, Refusal::UnknownSender);
        };
        let _witnessing = matches!(
            opened.header.context.as_str(),
            context::CHECKPOINT | context::COSIGNATURE
        )
        .then(|| self.witnessing());
        use crate::exchange::{self, context as x};
        use crate::matching::{context as m, owner, querier};
        let handled: Result<Handled<'_>, Refusal> =
            match opened.header.context.as_str() {
                context::PING => Ok(Handled::default()),
                context::CHECKPOINT => match note::Push::decode(&opened.body) {
                    Err(_) => Err(Refusal::Malformed),
                    Ok(push) => witness::check(self, peer, &push)?
                        .map_err(|()| Refusal::Malformed)
                        .map(|checked| Handled {
                            effects: checked.effects,
                            extra: checked.entries,
                            reply: checked
                                .cosigned
                                .map(|c| (context::COSIGNATURE, c.to_text().into_bytes())),
                            count: 1,
                            ..Handled::default()
                        }),
                },
                context::COSIGNATURE => witness::store_cosignature(self, peer, &opened.body)?
                    .map_err(|()| Refusal::Malformed)
                    .map(|effects| Handled {
                        effects,
                        count: 1,
                        ..Handled::default()
                    }),
                m::CHUNK => querier::on_chunk(self, peer, &opened.body).map_err(matching_error)?,
                m::DELTA => querier::on_delta(self, peer, &opened.body).map_err(matching_error)?,
                m::EVALUATE => {
                    owner::evaluate(self, peer, id.0, &opened.body).map_err(matching_error)?
                }
                m::ANSWER => {
                    querier::on_answer(self, peer, &opened.body, bytes).map_err(matching_error)?
                }
                x::REQUEST => {
                    exchange::owner::on_request(self, peer, &opened.body).map_err(exchange_error)?
                }
                x::REPLY => exchange::requester::on_reply(self, peer, &opened.body)
                    .map_err(exchange_error)?,
                x::REPORT => exchange::requester::on_report(self, peer, &opened.body, bytes)
                    .map_err(exchange_error)?,
                x::NOTICE => exchange::requester::on_notice(self, peer, &opened.body)
                    .map_err(exchange_error)?,
                _ => return refuse(sender, id, ctx, Refusal::UnknownContext),
            };
        let handled = match handled {
            Ok(h) => h,
            Err(reason) => return refuse(sender, id, ctx, reason),
        };
        let Handled {
            mut effects,
            extra,
            reply,
            reply_effects,
            hold_through_reply,
            count,
            case,
            code,
            guards,
            notify,
        } = handled;
        // The peer's log grew by this message: it owes its witnesses a
        // checkpoint ([`witness::stale`]).
        if !witness::is_witnessing_context(&opened.header.context) {
            self.store
                .note_unwitnessed(&mut effects, sender.as_bytes(), now)?;
        }
        // A peer that sends us requests but takes none of our answers
        // (our outbox for it only grows) gets no more queued for it.
        let owed_cap = self.max_owed.load(std::sync::atomic::Ordering::Relaxed);
        if reply.is_some() && mailbox.outbox_len(&sender)? >= owed_cap {
            drop(guards);
            warn!(peer = %peer.name, "refused an envelope that needs an answer: the peer's outbox is full (it takes none of our messages)");
            return refuse(sender, id, ctx, Refusal::OverLimit);
        }
        let mut entry = Entry::new(Kind::Received, now);
        entry.context = opened.header.context.clone();
        entry.peer = Some(sender.to_bytes());
        entry.message_id = Some(id);
        entry.hash = Some(hash);
        entry.count = count.max(1);
        entry.case = case;
        entry.code = code;
        let sign = |at| {
            Receipt::sign(
                &self.identity.signing,
                sender,
                id,
                hash,
                now,
                at,
                Outcome::Accepted,
            )
            .to_bytes()
        };
        let accepted = mailbox.accept(&sender, &id, hash, now, effects, &entry, &extra, sign)?;
        let mut guards = guards;
        if !hold_through_reply {
            guards.clear();
        }
        let reply = match &accepted {
            // Queued, where the handler asks, before its locks are
            // released, so nothing that waits on them (a decision, a
            // withdrawal's notices) can overtake the reply.
            Ok(_) => match reply {
                Some((context, body)) => self
                    .queue_with(peer, context, &[body], case, reply_effects)
                    .map(|_| ()),
                None => Ok(()),
            },
            Err(_) => Ok(()),
        };
        drop(guards);
        reply?;
        if notify {
            self.matching.notify();
        }
        match accepted {
            Ok(receipt) => {
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
            Err(first) if first.hash == hash => {
                mailbox.count_duplicate(&sender)?;
                Ok(self.duplicate(&first))
            }
            Err(_) => refuse(sender, id, ctx, Refusal::Replayed),
        }
    }

    /// The receipt for a retransmission: the first delivery's receipt,
    /// which names its log entry, as `Duplicate`. (A stored receipt that
    /// no longer decodes is answered with the stored bytes as they are:
    /// the sender will refuse them and retry, and `audit verify` reports
    /// the damage.)
    fn duplicate(&self, seen: &Seen) -> Received {
        let outcome = Outcome::Duplicate;
        let receipt = match Receipt::decode(&seen.receipt) {
            Ok(first) => Receipt::sign(
                &self.identity.signing,
                first.sender,
                first.message_id,
                seen.hash,
                seen.received_at_ms,
                first.log_index,
                outcome,
            )
            .to_bytes(),
            Err(_) => seen.receipt.clone(),
        };
        Received { receipt, outcome }
    }

    /// Forgets inbox ids too old to be accepted again anyway.
    pub fn forget_old_ids(&self) -> Result<u64, Error> {
        let horizon = (self.max_age + self.max_skew).as_millis() as u64;
        Ok(Mailbox::new(&self.store).forget_seen_before(self.now_ms().saturating_sub(horizon))?)
    }
}

/// A store failure inside a matching handler is the envelope layer's
/// error (the envelope gets no receipt and is sent again); anything else
/// is a bug, reported the same way.
fn matching_error(e: crate::matching::Error) -> Error {
    match e {
        crate::matching::Error::Store(e) => Error::Store(e),
        crate::matching::Error::Post(e) => *e,
        other => Error::Matching(other.to_string()),
    }
}

/// The same for the follow-up's handlers.
fn exchange_error(e: crate::exchange::Error) -> Error {
    match e {
        crate::exchange::Error::Store(e) => Error::Store(e),
        crate::exchange::Error::Post(e) => *e,
        other => Error::Matching(other.to_string()),
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
            let store = Arc::new(Store::open(&dir.path().join("store")).unwrap());
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
        let r0 = b.post.receive(None, &pending[0].envelope).unwrap();
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
        crate::testkit::transfer(&from.post, &to.post);
    }

    fn checked(side: &Side) -> crate::audit::verify::Checked {
        let peers: Vec<Peer> = side.post.peers().by_key.values().cloned().collect();
        crate::audit::verify::verify_store(
            side.post.store(),
            side.post.identity(),
            "liaison",
            &peers,
        )
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
        assert!(witness::publish(&a.post, std::slice::from_ref(&peer_b), 0).unwrap() > 0);
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
        witness::publish(&a.post, std::slice::from_ref(&peer_b), 0).unwrap();
        a.post
            .queue(&peer_b, context::PING, &[vec![6]], None)
            .unwrap();
        witness::publish(&a.post, std::slice::from_ref(&peer_b), 0).unwrap();
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
                    == context::CHECKPOINT
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
        let liar = Side {
            post: Post::new(identity(1), forged.clone(), &config("a", &[("b", &b.card)])),
            card: a.card.clone(),
            _dir: dir2,
        };
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
        let out = witness::check(&b.post, &peer_a, &push).unwrap().unwrap();
        assert!(out.cosigned.is_none());
        assert_eq!(out.entries[0].kind, Kind::Fork);
        assert_eq!(out.entries[0].code, witness::Fork::Inconsistent as u16);
        // Through the network path, running the honest code on the forged
        // store: its first push proves from nothing, which the witness
        // answers with the checkpoint it verified last (stale, not yet a
        // fork); the next push proves from there, and fails.
        let peer_b_of_liar = liar.post.peer("b").unwrap();
        witness::publish(&liar.post, std::slice::from_ref(&peer_b_of_liar), 0).unwrap();
        deliver(&liar, &b);
        assert_eq!(b.post.store().forks().unwrap().len(), 0);
        deliver(&b, &liar);
        witness::publish(&liar.post, std::slice::from_ref(&peer_b_of_liar), 0).unwrap();
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
        witness::publish(&a.post, std::slice::from_ref(&peer_b), 0).unwrap();
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
        let out = witness::check(&b.post, &peer_a, &push).unwrap().unwrap();
        assert!(out.cosigned.is_none());
        assert_eq!(out.entries[0].kind, Kind::Fork);
        assert_eq!(out.entries[0].code, witness::Fork::Rollback as u16);
        // Through the inbox, as a would send it: kept as evidence.
        a.post
            .queue(&peer_b, context::CHECKPOINT, &[push.to_bytes()], None)
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
        witness::publish(&a.post, std::slice::from_ref(&peer_b), 0).unwrap();
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
            .queue(&peer_b, context::CHECKPOINT, &[push.to_bytes()], None)
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
                        witness::publish(&a.post, std::slice::from_ref(&peer_b), 0).unwrap();
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
}
