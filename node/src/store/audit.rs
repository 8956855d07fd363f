//! The audit log in RocksDB: entries, the perfect subtrees of their
//! Merkle tree, our signed checkpoints, what we witnessed of each peer's
//! log, fork evidence, and the salts of case commitments.
//!
//! Appends are ordered by one lock around the tree's right edge
//! ([`Frontier`]), held only while an append's batch is built and queued.
//! The queue is written by whichever committer finds no other at work
//! (the leader): every batch waiting, in log order, as one RocksDB write,
//! synced if any of them asked to be durable (group commit). Concurrent
//! durable appends share one write and one fsync, and log order is write
//! order.
//! The entry, its tree nodes and the new tree size are written in the
//! caller's batch, with the change the entry records: a crash keeps both
//! or neither, and RocksDB's log replays batches in order, so what
//! survives a crash is always a prefix of the log.

use std::sync::{Condvar, Mutex, MutexGuard};

use liaison_protocol::audit::note::SignedCheckpoint;
use liaison_protocol::audit::tree::{self, Frontier, Hash, Subtrees};
use liaison_protocol::audit::{case, Entry};
use rand_core::RngCore as _;

use super::{keys, Batch, Column, Error, Store};

/// Fork evidence: the peer's key, when, and the evidence text.
pub type ForkEvidence = ([u8; 32], u64, Vec<u8>);

impl Subtrees for Store {
    type Error = Error;

    fn subtree(&self, level: u8, index: u64) -> Result<Hash, Error> {
        self.get(Column::Audit, &keys::audit::node(level, index))?
            .and_then(|v| Hash::try_from(v.as_slice()).ok())
            .ok_or_else(|| {
                Column::Audit.corrupt(format!("tree node ({level}, {index}) is missing"))
            })
    }
}

/// Appends in progress: holds the log's lock until committed or dropped.
pub struct LogTx<'s> {
    store: &'s Store,
    guard: MutexGuard<'s, Frontier>,
    next: Frontier,
}

impl std::fmt::Debug for LogTx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogTx")
            .field("next", &self.next.size())
            .finish()
    }
}

impl LogTx<'_> {
    /// Adds `entry` to `batch` and returns the index it will have.
    pub fn append(&mut self, batch: &mut Batch, entry: &Entry) -> u64 {
        let bytes = entry.to_bytes();
        let index = self.next.size();
        for (level, at, hash) in self.next.push(tree::leaf_hash(&bytes)) {
            batch.put(Column::Audit, keys::audit::node(level, at), hash.to_vec());
        }
        batch.put(Column::Audit, keys::audit::entry(index), bytes);
        index
    }

    /// Writes `batch` with the appended entries (in log order with every
    /// other append); with `durable`, returns once it is fsynced.
    pub fn commit(mut self, mut batch: Batch, durable: bool) -> Result<(), Error> {
        if self.next.size() != self.guard.size() {
            batch.put(
                Column::Audit,
                keys::audit::SIZE.to_vec(),
                self.next.size().to_be_bytes().to_vec(),
            );
        }
        let head = (self.next.size(), self.next.root());
        let ticket = self.store.commits.queue(batch, durable, head);
        *self.guard = std::mem::take(&mut self.next);
        drop(self.guard);
        self.store.await_commit(ticket, durable)
    }
}

/// The queue of log batches and the group commit state.
#[derive(Debug, Default)]
pub(crate) struct Committer {
    state: Mutex<CommitState>,
    done: Condvar,
}

#[derive(Debug, Default)]
struct CommitState {
    /// Batches not yet written: ticket, batch, durable, head after it.
    queue: Vec<(u64, Batch, bool, (u64, Hash))>,
    /// The last ticket handed out.
    issued: u64,
    /// The last ticket written, and the last fsynced.
    written: u64,
    synced: u64,
    /// The log's size and root as written.
    head: Option<(u64, Hash)>,
    /// A committer is writing.
    leading: bool,
    /// A write failed: the in-memory tree is ahead of the store, so no
    /// further append may be trusted until the store is reopened.
    failed: Option<String>,
}

impl Committer {
    fn lock(&self) -> MutexGuard<'_, CommitState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues a batch (under the log lock, so in log order); its ticket.
    fn queue(&self, batch: Batch, durable: bool, head: (u64, Hash)) -> u64 {
        let mut st = self.lock();
        st.issued += 1;
        let ticket = st.issued;
        st.queue.push((ticket, batch, durable, head));
        ticket
    }
}

impl Store {
    /// Waits until batch `ticket` is written (and fsynced, if `durable`),
    /// writing every queued batch as one group if no one else is.
    fn await_commit(&self, ticket: u64, durable: bool) -> Result<(), Error> {
        let c = &self.commits;
        let mut st = c.lock();
        loop {
            if let Some(message) = &st.failed {
                return Err(Error::Rocks {
                    doing: "writing the audit log (an earlier write failed: restart the node)",
                    message: message.clone(),
                });
            }
            if st.written >= ticket && (!durable || st.synced >= ticket) {
                return Ok(());
            }
            if st.leading {
                st = c
                    .done
                    .wait(st)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                continue;
            }
            st.leading = true;
            let group = std::mem::take(&mut st.queue);
            let sync = durable || group.iter().any(|g| g.2);
            drop(st);
            let last = group.last().map(|g| (g.0, g.3));
            let mut merged = Batch::default();
            for (_, b, _, _) in group {
                merged.ops.extend(b.ops);
            }
            let result = match (last, sync) {
                (None, _) => self.sync(),
                (Some(_), true) => self.write_durable(merged),
                (Some(_), false) => self.write(merged),
            };
            st = c.lock();
            st.leading = false;
            match result {
                Ok(()) => {
                    if let Some((t, head)) = last {
                        st.written = t;
                        st.head = Some(head);
                    }
                    if sync {
                        st.synced = st.written;
                    }
                }
                Err(e) => st.failed = Some(e.to_string()),
            }
            c.done.notify_all();
        }
    }

    pub(super) fn load_log(&self) -> Result<(), Error> {
        let size = match self.get(Column::Audit, keys::audit::SIZE)? {
            None => 0,
            Some(v) => u64::from_be_bytes(
                v.as_slice()
                    .try_into()
                    .map_err(|_| Column::Audit.corrupt("the tree size"))?,
            ),
        };
        let frontier = Frontier::at(self, size)?;
        self.commits.lock().head = Some((frontier.size(), frontier.root()));
        *self.log_lock() = frontier;
        Ok(())
    }

    fn log_lock(&self) -> MutexGuard<'_, Frontier> {
        // Batches are atomic: a panic while holding the lock leaves the
        // frontier as it was before the failed commit.
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts appending: takes the log's lock.
    pub fn log_tx(&self) -> LogTx<'_> {
        let guard = self.log_lock();
        let next = guard.clone();
        LogTx {
            store: self,
            guard,
            next,
        }
    }

    /// Writes `batch` with `entries` appended; returns their indices.
    pub fn append(
        &self,
        mut batch: Batch,
        entries: &[Entry],
        durable: bool,
    ) -> Result<Vec<u64>, Error> {
        let mut tx = self.log_tx();
        let at = entries.iter().map(|e| tx.append(&mut batch, e)).collect();
        tx.commit(batch, durable)?;
        Ok(at)
    }

    /// The log's size and root as written to the store (appends still
    /// queued are not counted).
    pub fn log_head(&self) -> (u64, Hash) {
        self.commits
            .lock()
            .head
            .expect("the head is set when the store opens")
    }

    /// The entry bytes at `index`.
    pub fn log_entry(&self, index: u64) -> Result<Option<Vec<u8>>, Error> {
        self.get(Column::Audit, &keys::audit::entry(index))
    }

    /// Visits entries from `from` on, in order, until `visit` returns false.
    pub fn scan_log(
        &self,
        from: u64,
        mut visit: impl FnMut(u64, &[u8]) -> bool,
    ) -> Result<(), Error> {
        let start = keys::audit::entry(from);
        let mut result = Ok(());
        self.scan_from(Column::Audit, &start, &[keys::audit::ENTRY], |k, v| {
            match keys::audit::index_of(k) {
                Some(i) => visit(i, v),
                None => {
                    result =
                        Err(Column::Audit.corrupt(format!("an entry key of {} bytes", k.len())));
                    false
                }
            }
        })?;
        result
    }

    /// Signs a checkpoint of the log as it is now with `sign`, stores it
    /// and returns it. Nothing is appended meanwhile, and every entry it
    /// covers is written and fsynced before it is signed: a signed
    /// checkpoint must never cover entries a power cut could take back. If a checkpoint of this size is stored
    /// already (nothing was appended since), that one is returned, with
    /// the cosignatures it has gathered.
    pub fn checkpoint(
        &self,
        sign: impl FnOnce(u64, Hash) -> SignedCheckpoint,
    ) -> Result<SignedCheckpoint, Error> {
        let f = self.log_lock();
        // Every queued append written and fsynced before the tree is
        // signed (nothing new can queue while the lock is held).
        let issued = self.commits.lock().issued;
        self.await_commit(issued, true)?;
        if let Some(existing) = self.checkpoint_of(f.size())? {
            if existing.checkpoint.root == f.root() {
                return Ok(existing);
            }
        }
        let signed = sign(f.size(), f.root());
        let mut batch = Batch::default();
        batch.put(
            Column::Audit,
            keys::audit::checkpoint(f.size()),
            signed.to_text().into_bytes(),
        );
        self.write_durable(batch)?;
        Ok(signed)
    }

    /// Puts a checkpoint of ours into `batch`, replacing the stored one of
    /// its size (to add cosignatures).
    pub fn put_checkpoint_in(batch: &mut Batch, signed: &SignedCheckpoint) {
        batch.put(
            Column::Audit,
            keys::audit::checkpoint(signed.checkpoint.size),
            signed.to_text().into_bytes(),
        );
    }

    /// Our stored checkpoint of `size`, if any.
    pub fn checkpoint_of(&self, size: u64) -> Result<Option<SignedCheckpoint>, Error> {
        self.get(Column::Audit, &keys::audit::checkpoint(size))?
            .map(|v| {
                SignedCheckpoint::parse(&v)
                    .map_err(|e| Column::Audit.corrupt(format!("checkpoint of size {size}: {e}")))
            })
            .transpose()
    }

    /// Every stored checkpoint of ours, by size.
    pub fn checkpoints(&self) -> Result<Vec<SignedCheckpoint>, Error> {
        let mut out = Vec::new();
        let mut bad = None;
        self.scan_prefix(Column::Audit, &[keys::audit::CHECKPOINT], |k, v| {
            match SignedCheckpoint::parse(v) {
                Ok(c) => out.push(c),
                Err(e) => {
                    bad = Some(Column::Audit.corrupt(format!("checkpoint key {k:02x?}: {e}")))
                }
            }
            bad.is_none()
        })?;
        bad.map_or(Ok(out), Err)
    }

    /// The newest checkpoint of `peer`'s log that we verified.
    pub fn witnessed(&self, peer: &[u8; 32]) -> Result<Option<SignedCheckpoint>, Error> {
        self.get(Column::Audit, &keys::audit::witnessed(peer))?
            .map(|v| {
                SignedCheckpoint::parse(&v)
                    .map_err(|e| Column::Audit.corrupt(format!("witnessed checkpoint: {e}")))
            })
            .transpose()
    }

    /// Puts "we saw `peer` at `checkpoint`" into `batch`.
    pub fn put_witnessed(batch: &mut Batch, peer: &[u8; 32], checkpoint: &SignedCheckpoint) {
        batch.put(
            Column::Audit,
            keys::audit::witnessed(peer),
            checkpoint.to_text().into_bytes(),
        );
    }

    /// The size of our log that witness `peer` last verified, as its
    /// cosignatures told us.
    pub fn witness_size(&self, peer: &[u8; 32]) -> Result<Option<u64>, Error> {
        self.get(Column::Audit, &keys::audit::witness_size(peer))?
            .map(|v| {
                <[u8; 8]>::try_from(v.as_slice())
                    .map(u64::from_be_bytes)
                    .map_err(|_| Column::Audit.corrupt("a witness size is not 8 bytes"))
            })
            .transpose()
    }

    /// Puts "witness `peer` last verified our log at `size`" into `batch`.
    pub fn put_witness_size(batch: &mut Batch, peer: &[u8; 32], size: u64) {
        batch.put(
            Column::Audit,
            keys::audit::witness_size(peer),
            size.to_be_bytes().to_vec(),
        );
    }

    /// When `peer` first sent us an envelope (other than witnessing)
    /// since its last verified checkpoint grew, if it has.
    pub fn unwitnessed_since(&self, peer: &[u8; 32]) -> Result<Option<u64>, Error> {
        self.get_u64(&keys::audit::unwitnessed(peer))
    }

    /// Notes in `batch` that `peer` sent us an envelope at `now`, unless
    /// an earlier one is already noted.
    pub fn note_unwitnessed(
        &self,
        batch: &mut Batch,
        peer: &[u8; 32],
        now: u64,
    ) -> Result<(), Error> {
        if self.unwitnessed_since(peer)?.is_none() {
            batch.put(
                Column::Audit,
                keys::audit::unwitnessed(peer),
                now.to_be_bytes().to_vec(),
            );
        }
        Ok(())
    }

    /// Clears the note: a larger checkpoint of `peer`'s log verified.
    pub fn clear_unwitnessed(batch: &mut Batch, peer: &[u8; 32]) {
        batch.delete(Column::Audit, keys::audit::unwitnessed(peer));
    }

    /// The outbox sequence number of our last checkpoint push to `peer`.
    pub fn push_seq(&self, peer: &[u8; 32]) -> Result<Option<u64>, Error> {
        self.get_u64(&keys::audit::push_seq(peer))
    }

    /// Records the outbox sequence number of a checkpoint push to `peer`.
    pub fn put_push_seq(batch: &mut Batch, peer: &[u8; 32], seq: u64) {
        batch.put(
            Column::Audit,
            keys::audit::push_seq(peer),
            seq.to_be_bytes().to_vec(),
        );
    }

    fn get_u64(&self, key: &[u8]) -> Result<Option<u64>, Error> {
        self.get(Column::Audit, key)?
            .map(|v| {
                <[u8; 8]>::try_from(v.as_slice())
                    .map(u64::from_be_bytes)
                    .map_err(|_| Column::Audit.corrupt("an audit counter is not 8 bytes"))
            })
            .transpose()
    }

    /// Puts fork evidence against `peer` into `batch`.
    pub fn put_fork(batch: &mut Batch, peer: &[u8; 32], time_ms: u64, evidence: Vec<u8>) {
        batch.put(Column::Audit, keys::audit::fork(peer, time_ms), evidence);
    }

    /// Fork evidence held: `(peer, time, evidence)`.
    pub fn forks(&self) -> Result<Vec<ForkEvidence>, Error> {
        let mut out = Vec::new();
        self.scan_prefix(Column::Audit, &[keys::audit::FORK], |k, v| {
            if let (Some(peer), Some(t)) = (k.get(1..33), k.get(33..41)) {
                let peer: [u8; 32] = peer.try_into().expect("32 bytes");
                let t = u64::from_be_bytes(t.try_into().expect("8 bytes"));
                out.push((peer, t, v.to_vec()));
            }
            true
        })?;
        Ok(out)
    }

    /// The commitment for (`reference`, `basis`), making and storing its
    /// salt the first time.
    pub fn case_commitment(&self, reference: &str, basis: &str) -> Result<[u8; 32], Error> {
        let key = keys::audit::case(reference, basis);
        let _guard = self.key_lock(&key);
        let salt = match self.get(Column::Audit, &key)? {
            Some(v) => <[u8; 32]>::try_from(v.as_slice())
                .map_err(|_| Column::Audit.corrupt("a case salt is not 32 bytes"))?,
            None => {
                let mut salt = [0u8; 32];
                rand_core::OsRng.fill_bytes(&mut salt);
                let mut batch = Batch::default();
                batch.put(Column::Audit, key, salt.to_vec());
                self.write_durable(batch)?;
                salt
            }
        };
        Ok(case::commitment(&salt, reference, basis))
    }

    /// The commitment for (`reference`, `basis`) if its salt exists, else
    /// `None`: [`Store::case_commitment_in`] makes one.
    pub fn case_commitment_if_known(
        &self,
        reference: &str,
        basis: &str,
    ) -> Result<Option<[u8; 32]>, Error> {
        let key = keys::audit::case(reference, basis);
        Ok(match self.get(Column::Audit, &key)? {
            Some(v) => Some(case::commitment(
                &<[u8; 32]>::try_from(v.as_slice())
                    .map_err(|_| Column::Audit.corrupt("a case salt is not 32 bytes"))?,
                reference,
                basis,
            )),
            None => None,
        })
    }

    /// The commitment for a new (`reference`, `basis`): its fresh salt is
    /// put in `batch`, to be written with the entry that uses it (one
    /// write, not a durable one of its own). The caller serialises these
    /// for one case.
    pub fn case_commitment_in(batch: &mut Batch, reference: &str, basis: &str) -> [u8; 32] {
        let mut salt = [0u8; 32];
        rand_core::OsRng.fill_bytes(&mut salt);
        batch.put(
            Column::Audit,
            keys::audit::case(reference, basis),
            salt.to_vec(),
        );
        case::commitment(&salt, reference, basis)
    }

    /// The (reference, basis) whose commitment is `commitment`, if this
    /// node made it.
    pub fn case_opening(&self, commitment: &[u8; 32]) -> Result<Option<(String, String)>, Error> {
        let mut found = None;
        self.scan_prefix(Column::Audit, &[keys::audit::CASE], |k, v| {
            let Some(len) = k
                .get(1..3)
                .map(|l| u16::from_be_bytes([l[0], l[1]]) as usize)
            else {
                return true;
            };
            let (Some(reference), Some(basis), Ok(salt)) = (
                k.get(3..3 + len).and_then(|r| std::str::from_utf8(r).ok()),
                k.get(3 + len..).and_then(|b| std::str::from_utf8(b).ok()),
                <[u8; 32]>::try_from(v),
            ) else {
                return true;
            };
            if &case::commitment(&salt, reference, basis) == commitment {
                found = Some((reference.to_owned(), basis.to_owned()));
                return false;
            }
            true
        })?;
        Ok(found)
    }

    /// Every (basis, salt) stored under case `reference`.
    pub fn case_salts(&self, reference: &str) -> Result<Vec<(String, [u8; 32])>, Error> {
        let prefix = keys::audit::case_prefix(reference);
        let mut out = Vec::new();
        self.scan_prefix(Column::Audit, &prefix, |k, v| {
            if let (Ok(basis), Ok(salt)) = (
                std::str::from_utf8(&k[prefix.len()..]),
                <[u8; 32]>::try_from(v),
            ) {
                out.push((basis.to_owned(), salt));
            }
            true
        })?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use liaison_protocol::audit::{tree, Entry, Kind};

    use super::*;

    #[test]
    fn appends_survive_reopen_and_match_the_tree() {
        let dir = tempfile::tempdir().unwrap();
        let mut leaves = Vec::new();
        {
            let store = Store::open(&dir.path().join("store")).unwrap();
            for i in 0..37u64 {
                let e = Entry::new(Kind::Sent, i);
                leaves.push(tree::leaf_hash(&e.to_bytes()));
                let mut b = Batch::default();
                b.put(Column::Records, format!("r{i}"), b"x".to_vec());
                assert_eq!(store.append(b, &[e], i % 2 == 0).unwrap(), vec![i]);
            }
        }
        let store = Store::open(&dir.path().join("store")).unwrap();
        let (size, root) = store.log_head();
        assert_eq!(size, 37);
        let mut f = Frontier::default();
        leaves.iter().for_each(|l| {
            f.push(*l);
        });
        assert_eq!(root, f.root());
        assert_eq!(tree::root(&store, 37).unwrap(), root);
        for old in 1..37 {
            let proof = tree::consistency_proof(&store, old, 37).unwrap();
            let old_root = tree::root(&store, old).unwrap();
            tree::verify_consistency(old, &old_root, 37, &root, &proof).unwrap();
        }
        let mut n = 0;
        store
            .scan_log(0, |i, _| {
                assert_eq!(i, n);
                n += 1;
                true
            })
            .unwrap();
        assert_eq!(n, 37);
    }

    #[test]
    fn a_dropped_transaction_appends_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        store
            .append(Batch::default(), &[Entry::new(Kind::Sent, 1)], false)
            .unwrap();
        {
            let mut tx = store.log_tx();
            let mut b = Batch::default();
            assert_eq!(tx.append(&mut b, &Entry::new(Kind::Sent, 2)), 1);
        }
        assert_eq!(store.log_head().0, 1);
        let at = store
            .append(Batch::default(), &[Entry::new(Kind::Sent, 3)], false)
            .unwrap();
        assert_eq!(at, vec![1]);
    }

    #[test]
    fn concurrent_appends_get_distinct_positions() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let mut all: Vec<u64> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..8)
                .map(|t| {
                    let store = &store;
                    s.spawn(move || {
                        (0..50)
                            .flat_map(|i| {
                                store
                                    .append(
                                        Batch::default(),
                                        &[Entry::new(Kind::Received, t * 100 + i)],
                                        i % 10 == 0,
                                    )
                                    .unwrap()
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        all.sort();
        assert_eq!(all, (0..400).collect::<Vec<_>>());
        assert_eq!(tree::root(&store, 400).unwrap(), store.log_head().1);
    }
}
