//! The inbox: what peers send this node, opened, checked and applied once.
//!
//! In: envelope bytes from the network ([`crate::net`] through the
//! daemon) or a bundle file, each with the transport's authenticated
//! peer. [`Post::receive`] decodes, checks and opens an envelope, hands the
//! opened message to an [`Apply`] (the [`crate::router`], which knows the
//! message types; this layer does not), commits what it returns (its
//! effects and the inbox entry in one atomic batch), queues its reply, and
//! returns the signed receipt. A retransmission of the same bytes gets a
//! `Duplicate` receipt stamped with the first delivery's time; the same id
//! with other bytes is a replay and is refused. Every refusal is signed
//! too, counted per peer and logged.
//! Out: the inbox entry, the audit log and the receipt.
//!
//! Everything here blocks on RocksDB: call it from `spawn_blocking`.

use ed25519_dalek::VerifyingKey;
use liaison_config::Peer;
use liaison_protocol::audit::{Entry, Kind};
use liaison_protocol::envelope::{
    self, Envelope, MessageId, OpenError, Outcome, Receipt, Recipient, Refusal, Window,
};
use sha2::{Digest as _, Sha256};
use tracing::{info, warn};

use super::{Error, Post};
use crate::store::mailbox::{Mailbox, Seen};
use crate::store::Batch;

/// Envelopes a peer's outbox may hold before messages from it that need
/// an answer are refused (`over-limit`): a peer that never takes our
/// answers cannot make us store more of them. An honest peer drains its
/// outbox whenever it is connected, which it is while it sends.
pub const MAX_OWED: u64 = 65_536;

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
    /// the reply is queued too): the domains' lock guards, each of a type
    /// that names what it protects.
    pub guards: Vec<Box<dyn Guard + 'p>>,
    /// Whether `guards` must also cover queuing the reply: a decision
    /// whose answer nothing may overtake. Others release them at commit,
    /// so a reply's fsync does not hold up the next message.
    pub hold_through_reply: bool,
    /// Called once the change has committed and the reply is queued (or
    /// another delivery of the same message won the race): tells waiters
    /// to look again.
    pub committed: Option<Box<dyn FnOnce() + 'p>>,
}

impl<'p> Handled<'p> {
    /// Holds `guard` until the change commits.
    pub fn holding(mut self, guard: impl Guard + 'p) -> Handled<'p> {
        self.guards.push(Box::new(guard));
        self
    }
}

/// Anything a handler holds until its change commits: a lock guard.
pub trait Guard {}

impl<T> Guard for T {}

/// What a message does, as the [`Apply`] says.
#[derive(Debug)]
pub enum Applied<'p> {
    /// Apply this: its effects commit with the inbox entry and receipt.
    Handled(Handled<'p>),
    /// Refused as malformed: the body does not decode, or breaks a rule of
    /// its type. Nothing is applied.
    Malformed,
    /// Refused as over a limit (a peer's deltas past the epoch's cap).
    OverLimit,
    /// A message type this node does not apply.
    Unknown,
}

impl<'p> Applied<'p> {
    /// Holds `guard`, if the message is applied, until its change commits.
    pub fn holding(self, guard: impl Guard + 'p) -> Applied<'p> {
        match self {
            Applied::Handled(h) => Applied::Handled(h.holding(guard)),
            other => other,
        }
    }
}

/// An opened message whose envelope checked out (recipient, sender,
/// signature, time window, first delivery), as [`Apply`] sees it.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// Its type.
    pub context: &'a str,
    /// Its id, unique per sender.
    pub id: MessageId,
    /// The opened body.
    pub body: &'a [u8],
    /// The envelope exactly as it arrived (kept as evidence by some
    /// handlers).
    pub envelope: &'a [u8],
    /// When it arrived, by this node's clock (Unix ms).
    pub now_ms: u64,
}

/// What a message does: the one question the inbox asks the layer above
/// it (the [`crate::router`]), so that this layer names no message type.
pub trait Apply {
    /// Why a message could not be applied now (the store failed, or a
    /// domain did): the envelope gets no receipt and is sent again.
    type Error: From<Error>;

    /// What `message`, from the trusted `peer`, does. Runs before the
    /// change commits; locks it returns in [`Handled::guards`] are held
    /// until then.
    fn apply<'p>(&'p self, peer: &Peer, message: &Message<'_>) -> Result<Applied<'p>, Self::Error>;
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
    /// Opens an envelope that arrived from `via` (the transport's
    /// authenticated peer, or `None` from a bundle), applies it through
    /// `apply` and returns the signed receipt. Errors are only the store's
    /// and `apply`'s (the envelope gets no receipt and is sent again):
    /// every problem with the envelope is a signed refusal.
    pub fn receive<A: Apply>(
        &self,
        via: Option<&VerifyingKey>,
        bytes: &[u8],
        apply: &A,
    ) -> Result<Received, A::Error> {
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
            Err(e) => return Ok(refuse(via, MessageId([0; 16]), None, Refusal::from(&e))?),
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
            return Err(Error::from(e).into());
        }
        let opened = match opened {
            Ok(o) => o,
            Err(OpenError::Replayed(_)) => {
                return match earlier {
                    Some(seen) if seen.hash == hash => {
                        mailbox.count_duplicate(&sender).map_err(Error::from)?;
                        Ok(self.duplicate(&seen))
                    }
                    _ => Ok(refuse(sender, id, ctx, Refusal::Replayed)?),
                };
            }
            Err(
                e @ (OpenError::Decode(_)
                | OpenError::Version(_)
                | OpenError::WrongRecipient
                | OpenError::UnknownSender
                | OpenError::BadSignature),
            ) => return Ok(refuse(via, id, ctx, Refusal::from(&e))?),
            Err(e) => return Ok(refuse(sender, id, ctx, Refusal::from(&e))?),
        };
        let Some(peer) = peers.by_key.get(sender.as_bytes()) else {
            return Ok(refuse(sender, id, ctx, Refusal::UnknownSender)?);
        };
        let message = Message {
            context: &opened.header.context,
            id,
            body: &opened.body,
            envelope: bytes,
            now_ms: now,
        };
        let handled = match apply.apply(peer, &message)? {
            Applied::Handled(h) => h,
            Applied::Malformed => return Ok(refuse(sender, id, ctx, Refusal::Malformed)?),
            Applied::OverLimit => return Ok(refuse(sender, id, ctx, Refusal::OverLimit)?),
            Applied::Unknown => return Ok(refuse(sender, id, ctx, Refusal::UnknownContext)?),
        };
        let Handled {
            effects,
            extra,
            reply,
            reply_effects,
            hold_through_reply,
            count,
            case,
            code,
            guards,
            committed,
        } = handled;
        // A peer that sends us requests but takes none of our answers
        // (our outbox for it only grows) gets no more queued for it.
        let owed_cap = self.max_owed.load(std::sync::atomic::Ordering::Relaxed);
        if reply.is_some() && mailbox.outbox_len(&sender).map_err(Error::from)? >= owed_cap {
            drop(guards);
            warn!(peer = %peer.name, "refused an envelope that needs an answer: the peer's outbox is full (it takes none of our messages)");
            return Ok(refuse(sender, id, ctx, Refusal::OverLimit)?);
        }
        let mut entry = Entry::new(Kind::Received, now);
        entry.context.clone_from(&opened.header.context);
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
        let accepted = mailbox
            .accept(&sender, &id, hash, now, effects, &entry, &extra, sign)
            .map_err(Error::from)?;
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
        if let Some(committed) = committed {
            committed();
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
                mailbox.count_duplicate(&sender).map_err(Error::from)?;
                Ok(self.duplicate(&first))
            }
            Err(_) => Ok(refuse(sender, id, ctx, Refusal::Replayed)?),
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
