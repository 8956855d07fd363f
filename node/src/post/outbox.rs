//! The outbox: what this node sends, sealed and kept until the peer's
//! signed receipt says it arrived.
//!
//! In: bodies from the domains above ([`crate::matching`],
//! [`crate::exchange`], [`crate::audit::witness`]) and the replies the
//! inbox queues. [`Post::queue`] seals a message to a peer and puts it in
//! the outbox (durably, logged as sent) before anyone tries to send it;
//! the courier ([`crate::daemon`]) or a bundle takes it from there and
//! hands each receipt to [`Post::confirm`], which checks the peer's
//! signature and only then takes the envelope out of the outbox.
//! Out: envelopes in [`crate::store::mailbox`], entries in the audit log.
//!
//! Everything here blocks on RocksDB: call it from `spawn_blocking`.

use liaison_config::Peer;
use liaison_protocol::audit::{Entry, Kind};
use liaison_protocol::envelope::{self, Envelope, Outcome, Receipt, Refusal};
use sha2::{Digest as _, Sha256};
use tracing::warn;

use super::{Error, Post};
use crate::store::mailbox::Mailbox;
use crate::store::Batch;

impl Post {
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
    /// and wakes the peer's courier; commits `with` in the same atomic
    /// write (the state change that records the envelopes as sent).
    /// Returns their sequence numbers.
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
}
