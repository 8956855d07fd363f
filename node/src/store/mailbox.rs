//! The typed layer for envelopes in flight: the outbox, the inbox of seen
//! message ids, and per-peer counters.
//!
//! - **Outbox** (`outbox.v1`): `peer key ‖ sequence` → sealed envelope.
//!   An envelope is written here before any attempt to send it, and
//!   removed in the same batch that stores the peer's signed receipt, so a
//!   crash at any point either resends it (the receiver deduplicates) or
//!   has the receipt.
//! - **Inbox** (`inbox.v1`): `sender key ‖ message id` → envelope hash,
//!   time and the receipt we signed. Written in the same batch as the
//!   message's effect, so a message is applied once however often it is
//!   delivered; a retransmission gets the stored receipt back.
//! - **Counters** (`meta.v1`): per peer, in the same batches.
//!
//! Counters are RocksDB merges (additions), so they need no lock; the
//! read-check-write steps (a message id seen? an outbox entry still
//! there? the next sequence number) hold a lock striped by their key
//! ([`Store::key_lock`]), so only writers of the same key wait.

use std::collections::BTreeMap;

use ed25519_dalek::VerifyingKey;
use liaison_protocol::audit::{Entry, Kind};
use liaison_protocol::envelope::MessageId;
use serde::Serialize;

use super::keys::{self, PeerCounter};
use super::{Batch, Column, Error, Store};

/// One envelope waiting in the outbox.
#[derive(Debug, Clone)]
pub struct Pending {
    /// Its place in the peer's queue.
    pub seq: u64,
    /// The encoded envelope.
    pub envelope: Vec<u8>,
}

/// What the inbox remembers of a message it applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// SHA-256 of the envelope's bytes.
    pub hash: [u8; 32],
    /// When it arrived, Unix milliseconds.
    pub received_at_ms: u64,
    /// The receipt we signed for it.
    pub receipt: Vec<u8>,
}

impl Seen {
    fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(40 + self.receipt.len());
        v.extend_from_slice(&self.hash);
        v.extend_from_slice(&self.received_at_ms.to_be_bytes());
        v.extend_from_slice(&self.receipt);
        v
    }

    fn decode(v: &[u8]) -> Result<Seen, Error> {
        if v.len() < 40 {
            return Err(Column::Inbox.corrupt("an entry shorter than its hash and time"));
        }
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&v[..32]);
        let mut t = [0u8; 8];
        t.copy_from_slice(&v[32..40]);
        Ok(Seen {
            hash,
            received_at_ms: u64::from_be_bytes(t),
            receipt: v[40..].to_vec(),
        })
    }
}

/// Per-peer counts, for `liaison status`.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct PeerCounts {
    /// Envelopes put in the outbox for this peer.
    pub queued: u64,
    /// Receipts received: accepted or duplicate.
    pub delivered: u64,
    /// Receipts received that refused our envelope.
    pub refused_by_peer: u64,
    /// Envelopes from this peer applied.
    pub received: u64,
    /// Retransmissions from this peer, answered with the stored receipt.
    pub duplicates: u64,
    /// Envelopes from this peer refused.
    pub refused: u64,
    /// Envelopes still in the outbox.
    pub outbox: u64,
}

/// The outbox, inbox and counters.
#[derive(Debug)]
pub struct Mailbox<'s> {
    store: &'s Store,
}

fn read_u64(store: &Store, key: &[u8]) -> Result<u64, Error> {
    Ok(store
        .get(Column::Meta, key)?
        .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
        .map_or(0, u64::from_be_bytes))
}

impl<'s> Mailbox<'s> {
    /// The mailbox of `store`.
    pub fn new(store: &'s Store) -> Mailbox<'s> {
        Mailbox { store }
    }

    /// Adds to a per-peer counter in `batch` (a RocksDB merge: no read,
    /// no lock).
    fn bump(batch: &mut Batch, peer: &VerifyingKey, counter: PeerCounter, by: i64) {
        batch.add(keys::peer_counter(peer, counter), by);
    }

    /// Puts envelopes for `peer` in the outbox, in order, each with its
    /// audit entry, durably (fsync): once this returns they survive a
    /// crash or a power cut.
    pub fn enqueue(
        &self,
        peer: &VerifyingKey,
        envelopes: Vec<(Vec<u8>, Entry)>,
    ) -> Result<Vec<u64>, Error> {
        self.enqueue_with(peer, envelopes, Batch::default())
    }

    /// [`Mailbox::enqueue`], committing `with` in the same atomic write:
    /// the state change that says the envelopes are on their way.
    pub fn enqueue_with(
        &self,
        peer: &VerifyingKey,
        envelopes: Vec<(Vec<u8>, Entry)>,
        with: Batch,
    ) -> Result<Vec<u64>, Error> {
        let next_key = keys::peer_counter(peer, PeerCounter::NextSeq);
        // The sequence number is read, then written: one enqueue per peer
        // at a time.
        let _guard = self.store.key_lock(&next_key);
        let mut seq = read_u64(self.store, &next_key)?;
        let mut batch = with;
        let mut seqs = Vec::with_capacity(envelopes.len());
        let n = envelopes.len() as i64;
        let mut entries = Vec::with_capacity(envelopes.len());
        for (envelope, entry) in envelopes {
            batch.put(Column::Outbox, keys::outbox(peer, seq), envelope);
            entries.push(entry);
            seqs.push(seq);
            seq += 1;
        }
        batch.put(Column::Meta, next_key, seq.to_be_bytes().to_vec());
        Self::bump(&mut batch, peer, PeerCounter::Queued, n);
        Self::bump(&mut batch, peer, PeerCounter::Outbox, n);
        self.store.append(batch, &entries, true)?;
        Ok(seqs)
    }

    /// Up to `limit` envelopes waiting for `peer`, oldest first, from
    /// sequence `from` on.
    pub fn pending(
        &self,
        peer: &VerifyingKey,
        from: u64,
        limit: usize,
    ) -> Result<Vec<Pending>, Error> {
        let mut out = Vec::new();
        self.scan_outbox(peer, from, |seq, envelope| {
            out.push(Pending {
                seq,
                envelope: envelope.to_vec(),
            });
            Ok::<_, Error>(out.len() < limit)
        })?;
        Ok(out)
    }

    /// Visits the envelopes waiting for `peer`, oldest first, from
    /// sequence `from` on, one at a time (nothing is collected), until
    /// `visit` returns `Ok(false)` or an error.
    pub fn scan_outbox<E: From<Error>>(
        &self,
        peer: &VerifyingKey,
        from: u64,
        mut visit: impl FnMut(u64, &[u8]) -> Result<bool, E>,
    ) -> Result<(), E> {
        let prefix = keys::outbox_prefix(peer);
        let mut failed = None;
        self.store.scan_prefix(Column::Outbox, &prefix, |k, v| {
            let step = match keys::outbox_seq(k) {
                Some(seq) if seq >= from => visit(seq, v),
                Some(_) => Ok(true),
                None => Err(Column::Outbox
                    .corrupt(format!("a key of {} bytes", k.len()))
                    .into()),
            };
            match step {
                Ok(more) => more,
                Err(e) => {
                    failed = Some(e);
                    false
                }
            }
        })?;
        failed.map_or(Ok(()), Err)
    }

    /// Takes a delivered (or refused) envelope out of the outbox, counting
    /// the outcome and logging `entry` (the receipt). Does nothing if it is
    /// already gone (a late duplicate receipt), so counters stay exact.
    pub fn delivered(
        &self,
        peer: &VerifyingKey,
        seq: u64,
        refused: bool,
        entry: &Entry,
    ) -> Result<(), Error> {
        let key = keys::outbox(peer, seq);
        let _guard = self.store.key_lock(&key);
        if self.store.get(Column::Outbox, &key)?.is_none() {
            return Ok(());
        }
        let mut batch = Batch::default();
        batch.delete(Column::Outbox, key);
        let counter = if refused {
            PeerCounter::RefusedByPeer
        } else {
            PeerCounter::Delivered
        };
        Self::bump(&mut batch, peer, counter, 1);
        Self::bump(&mut batch, peer, PeerCounter::Outbox, -1);
        self.store
            .append(batch, std::slice::from_ref(entry), false)?;
        Ok(())
    }

    /// What the inbox holds for this sender's message id.
    pub fn seen(&self, sender: &VerifyingKey, id: &MessageId) -> Result<Option<Seen>, Error> {
        self.store
            .get(Column::Inbox, &keys::inbox(sender, id))?
            .map(|v| Seen::decode(&v))
            .transpose()
    }

    /// Records a message as applied, with `effects` (the message's own
    /// writes) and its audit `entry` in the same atomic batch; `sign` makes
    /// the receipt from the entry's log index. Returns the receipt, or the
    /// stored inbox entry if another delivery of the same id got there
    /// first.
    ///
    /// The batch is durable (the log fsynced) when this returns: the
    /// sender deletes its copy on the receipt that follows, so a power cut
    /// must not lose ours. Only deliveries of the same id wait for each
    /// other (a lock striped by key); the rest write at once, and RocksDB
    /// merges their fsyncs into shared log writes.
    #[allow(clippy::too_many_arguments)]
    pub fn accept(
        &self,
        sender: &VerifyingKey,
        id: &MessageId,
        hash: [u8; 32],
        received_at_ms: u64,
        effects: Batch,
        entry: &Entry,
        extra: &[Entry],
        sign: impl FnOnce(u64) -> Vec<u8>,
    ) -> Result<Result<Vec<u8>, Seen>, Error> {
        let key = keys::inbox(sender, id);
        let _guard = self.store.key_lock(&key);
        if let Some(v) = self.store.get(Column::Inbox, &key)? {
            return Seen::decode(&v).map(Err);
        }
        let mut batch = effects;
        let mut log = self.store.log_tx();
        let receipt = sign(log.append(&mut batch, entry));
        for e in extra {
            log.append(&mut batch, e);
        }
        let seen = Seen {
            hash,
            received_at_ms,
            receipt: receipt.clone(),
        };
        batch.put(Column::Inbox, key, seen.encode());
        Self::bump(&mut batch, sender, PeerCounter::Received, 1);
        log.commit(batch, true)?;
        Ok(Ok(receipt))
    }

    /// Logs a refusal (`entry`), counting it against `counted` (a trusted
    /// peer) if given; `sign` makes the receipt from the entry's log index.
    /// Durable: the receipt that names the entry goes to the sender.
    pub fn refused(
        &self,
        counted: Option<&VerifyingKey>,
        entry: &Entry,
        sign: impl FnOnce(u64) -> Vec<u8>,
    ) -> Result<Vec<u8>, Error> {
        let mut batch = Batch::default();
        if let Some(peer) = counted {
            Self::bump(&mut batch, peer, PeerCounter::Refused, 1);
        }
        let mut log = self.store.log_tx();
        let receipt = sign(log.append(&mut batch, entry));
        log.commit(batch, true)?;
        Ok(receipt)
    }

    /// Envelopes waiting in `peer`'s outbox.
    pub fn outbox_len(&self, peer: &VerifyingKey) -> Result<u64, Error> {
        read_u64(self.store, &keys::peer_counter(peer, PeerCounter::Outbox))
    }

    /// Counts a retransmission from `peer` (nothing is logged: nothing
    /// changed).
    pub fn count_duplicate(&self, peer: &VerifyingKey) -> Result<(), Error> {
        let mut batch = Batch::default();
        Self::bump(&mut batch, peer, PeerCounter::Duplicates, 1);
        self.store.write(batch)
    }

    /// Visits every inbox entry: sender key, message id, what was stored.
    pub fn scan_inbox(
        &self,
        mut visit: impl FnMut([u8; 32], MessageId, Result<Seen, Error>),
    ) -> Result<(), Error> {
        self.store.scan_prefix(Column::Inbox, &[], |k, v| {
            if let (Ok(sender), Ok(id)) = (
                <[u8; 32]>::try_from(&k[..k.len().min(32)]),
                <[u8; 16]>::try_from(&k[k.len().min(32)..]),
            ) {
                visit(sender, MessageId(id), Seen::decode(v));
            }
            true
        })
    }

    /// Forgets seen ids received before `before_ms`: envelopes that old are
    /// refused by their timestamp, so their ids need not be kept. Each
    /// purge is logged by count.
    pub fn forget_seen_before(&self, before_ms: u64) -> Result<u64, Error> {
        let mut old = Vec::new();
        self.store.scan_prefix(Column::Inbox, &[], |k, v| {
            if Seen::decode(v).is_ok_and(|s| s.received_at_ms < before_ms) {
                old.push(k.to_vec());
            }
            true
        })?;
        let n = old.len() as u64;
        for chunk in old.chunks(10_000) {
            let mut batch = Batch::default();
            for k in chunk {
                batch.delete(Column::Inbox, k.clone());
            }
            let mut entry = Entry::new(Kind::Purged, crate::clock::system_ms());
            entry.context = "seen-message-ids".into();
            entry.count = chunk.len() as u64;
            self.store.append(batch, &[entry], false)?;
        }
        Ok(n)
    }

    /// The counters of every peer that has any.
    pub fn counts(&self) -> Result<BTreeMap<[u8; 32], PeerCounts>, Error> {
        let mut out: BTreeMap<[u8; 32], PeerCounts> = BTreeMap::new();
        self.store
            .scan_prefix(Column::Meta, keys::PEER_COUNTER_PREFIX, |k, v| {
                if let (Some((peer, counter)), Ok(n)) =
                    (keys::decode_peer_counter(k), <[u8; 8]>::try_from(v))
                {
                    let n = u64::from_be_bytes(n);
                    let c = out.entry(peer).or_default();
                    match counter {
                        PeerCounter::Queued => c.queued = n,
                        PeerCounter::Delivered => c.delivered = n,
                        PeerCounter::RefusedByPeer => c.refused_by_peer = n,
                        PeerCounter::Received => c.received = n,
                        PeerCounter::Duplicates => c.duplicates = n,
                        PeerCounter::Refused => c.refused = n,
                        PeerCounter::Outbox => c.outbox = n,
                        PeerCounter::NextSeq => {}
                    }
                }
                true
            })?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(b: &[u8]) -> (Vec<u8>, Entry) {
        (b.to_vec(), e())
    }

    fn e() -> Entry {
        Entry::new(Kind::Sent, 1)
    }

    fn accept(
        mb: &Mailbox<'_>,
        a: &VerifyingKey,
        id: &MessageId,
        seen: Seen,
    ) -> Result<Vec<u8>, Seen> {
        let receipt = seen.receipt.clone();
        mb.accept(
            a,
            id,
            seen.hash,
            seen.received_at_ms,
            Batch::default(),
            &e(),
            &[],
            |_| receipt,
        )
        .unwrap()
    }

    fn key(b: u8) -> VerifyingKey {
        liaison_protocol::keys::SigningKey::from_seed(&[b; 32]).verifying_key()
    }

    #[test]
    fn outbox_keeps_order_and_counts_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let mb = Mailbox::new(&store);
        let (a, b) = (key(1), key(2));
        let seqs = mb
            .enqueue(&a, vec![out(b"one"), out(b"two"), out(b"three")])
            .unwrap();
        assert_eq!(seqs, vec![0, 1, 2]);
        mb.enqueue(&b, vec![out(b"other")]).unwrap();
        let p = mb.pending(&a, 0, 10).unwrap();
        assert_eq!(
            p.iter().map(|p| p.envelope.as_slice()).collect::<Vec<_>>(),
            [&b"one"[..], b"two", b"three"]
        );
        assert_eq!(mb.pending(&a, 1, 1).unwrap()[0].seq, 1);
        mb.delivered(&a, 0, false, &e()).unwrap();
        mb.delivered(&a, 0, false, &e()).unwrap(); // late second receipt
        mb.delivered(&a, 1, true, &e()).unwrap();
        let c = &mb.counts().unwrap()[a.as_bytes()];
        assert_eq!(
            (c.queued, c.delivered, c.refused_by_peer, c.outbox),
            (3, 1, 1, 1)
        );
        assert_eq!(mb.pending(&a, 0, 10).unwrap().len(), 1);
        // Sequence numbers continue after a reopen.
        drop(store);
        let store = Store::open(&dir.path().join("store")).unwrap();
        let mb = Mailbox::new(&store);
        assert_eq!(mb.enqueue(&a, vec![out(b"four")]).unwrap(), vec![3]);
    }

    /// Concurrent deliveries: distinct ids all count, the same id applies
    /// once however many threads race with it.
    #[test]
    fn concurrent_accepts_count_exactly_and_apply_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let a = key(1);
        let seen = |n: u8| Seen {
            hash: [n; 32],
            received_at_ms: 1,
            receipt: vec![n],
        };
        let firsts: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8u8)
                .map(|t| {
                    let store = &store;
                    scope.spawn(move || {
                        let mb = Mailbox::new(store);
                        for i in 0..50u8 {
                            let id = MessageId([t, i, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
                            assert!(accept(&mb, &a, &id, seen(t)).is_ok());
                        }
                        let shared = MessageId([0xFF; 16]);
                        usize::from(accept(&mb, &a, &shared, seen(t)).is_ok())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(firsts, 1, "the shared id was applied {firsts} times");
        assert_eq!(
            Mailbox::new(&store).counts().unwrap()[a.as_bytes()].received,
            401
        );
    }

    #[test]
    fn inbox_applies_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let mb = Mailbox::new(&store);
        let a = key(1);
        let id = MessageId([5; 16]);
        let seen = Seen {
            hash: [1; 32],
            received_at_ms: 1000,
            receipt: b"receipt".to_vec(),
        };
        assert_eq!(accept(&mb, &a, &id, seen.clone()), Ok(b"receipt".to_vec()));
        assert_eq!(accept(&mb, &a, &id, seen.clone()), Err(seen.clone()));
        // The purge below is logged by count, after the one application.
        assert_eq!(store.log_head().0, 1);
        assert_eq!(mb.seen(&a, &id).unwrap(), Some(seen));
        assert_eq!(mb.counts().unwrap()[a.as_bytes()].received, 1);
        assert_eq!(mb.forget_seen_before(999).unwrap(), 0);
        assert_eq!(mb.forget_seen_before(1001).unwrap(), 1);
        assert_eq!(mb.seen(&a, &id).unwrap(), None);
        assert_eq!(store.log_head().0, 2);
    }
}
