//! The node's RocksDB store, behind a narrow API.
//!
//! - [`Column`]: one column family per kind of data, with versioned names.
//! - [`Store`]: get, put, delete, atomic [`Batch`], prefix scan. Nothing of
//!   RocksDB's own types leaves this module.
//! - `keys`: every key encoding.
//! - [`records`]: the typed layer for records and the selector index.
//! - [`matching`]: the typed layer for matching's columns (our manifests,
//!   served tags and budgets; peers' manifests, filters and deltas; hits,
//!   the watchlist and alerts; the queue of new selectors).
//! - [`exchange`]: the typed layer for the follow-up's column (requests
//!   both ways, reports, marks, tombstones, the changed-record queue).
//! - [`mailbox`]: the typed layer for the outbox, the inbox of seen
//!   message ids and per-peer counters.
//! - [`audit`]: the append-only Merkle log; every other module appends
//!   its entries in the same batch as the change they record.
//!
//! RocksDB allows one process per store: a second `Store::open` while the
//! daemon runs fails with [`Error::Locked`].
//!
//! Writes use the write-ahead log without fsync per batch: a crash of the
//! process (kill -9) loses nothing that [`Store::write`] returned for, and
//! [`Store::flush`] makes everything durable against power loss too.

pub mod audit;
pub mod check;
pub mod exchange;
pub(crate) mod keys;
pub mod mailbox;
pub mod matching;
pub mod records;
pub(crate) mod users;

use std::path::{Path, PathBuf};

use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamilyDescriptor, IteratorMode, Options, ReadOptions,
    WriteOptions, DB,
};

/// The store layout this code reads and writes.
const LAYOUT_VERSION: u32 = 1;
/// Block cache shared by all columns (data, index and filter blocks).
const BLOCK_CACHE_BYTES: usize = 64 << 20;
/// Locks behind [`Store::key_lock`].
const KEY_LOCK_STRIPES: usize = 64;
/// Memtable size of the busy columns.
const MEMTABLE_BYTES: usize = 16 << 20;

/// One kind of data, one column family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    /// Records by id.
    Records,
    /// The selector index: selector → record ids.
    Selectors,
    /// Counters and the layout version.
    Meta,
    /// Sealed envelopes waiting for their receipt, per peer.
    Outbox,
    /// Message ids received, with the receipt we gave.
    Inbox,
    /// The audit log: entries, tree nodes, checkpoints, witness state.
    Audit,
    /// Matching tags we serve each peer, per epoch: tag → selector.
    Tags,
    /// Matching state: our manifests, budgets, the new-selector queue, and
    /// the peers' manifests, filters and deltas.
    Matching,
    /// What matching found: hits, watchlist entries and their alerts.
    Hits,
    /// Follow-up requests sent and received, received reports, and the
    /// queue of changed records whose copies must be told.
    Exchange,
    /// When records expire: id → time, and time ‖ id.
    Expiry,
    /// The node's local accounts and their API tokens' hashes.
    Users,
}

impl Column {
    const ALL: [Column; 12] = [
        Column::Records,
        Column::Selectors,
        Column::Meta,
        Column::Outbox,
        Column::Inbox,
        Column::Audit,
        Column::Tags,
        Column::Matching,
        Column::Hits,
        Column::Exchange,
        Column::Expiry,
        Column::Users,
    ];

    /// The column family's name; the suffix is its encoding version.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Column::Records => "records.v1",
            Column::Selectors => "selectors.v1",
            Column::Meta => "meta.v1",
            Column::Outbox => "outbox.v1",
            Column::Inbox => "inbox.v1",
            Column::Audit => "audit.v1",
            Column::Tags => "tags.v1",
            Column::Matching => "matching.v1",
            Column::Hits => "hits.v1",
            Column::Exchange => "exchange.v1",
            Column::Expiry => "expiry.v1",
            Column::Users => "users.v1",
        }
    }

    /// A value of this column that does not decode, as the store's
    /// corruption.
    pub(crate) fn corrupt(self, what: impl Into<String>) -> Error {
        Error::Corrupt {
            column: self.name(),
            what: what.into(),
        }
    }
}

/// A store operation that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Another process has the store open.
    #[error("the store at {} is in use by another liaison process (is `liaison run` running? stop it, or use its API)", path.display())]
    Locked {
        /// The store folder.
        path: PathBuf,
    },
    /// The store was written by a newer or incompatible version.
    #[error("the store at {} has layout version {found}, this liaison reads version {LAYOUT_VERSION}: use the liaison release that wrote it", path.display())]
    Layout {
        /// The store folder.
        path: PathBuf,
        /// The version found.
        found: u32,
    },
    /// The store's folder can be entered or read by other users.
    #[error("{} is mode {mode:o}: other local users could read the records, reports and case salts in it; run `chmod 700 {}` (the daemon and the CLI refuse such a store)", path.display(), path.display())]
    Permissions {
        /// The folder.
        path: PathBuf,
        /// Its mode bits.
        mode: u32,
    },
    /// The store's folder could not be made.
    #[error("creating the store folder {}: {source}", path.display())]
    Create {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A value that does not decode.
    #[error("corrupt entry in column {column}: {what}")]
    Corrupt {
        /// The column family.
        column: &'static str,
        /// What failed to decode.
        what: String,
    },
    /// A value could not be encoded to be stored (nothing was written).
    #[error("encoding a value for column {column}: {source}")]
    Encode {
        /// The column family.
        column: &'static str,
        /// Why.
        source: serde_json::Error,
    },
    /// The node is stopping ([`Store::request_stop`]): long work stopped
    /// between whole batches, and is redone or resumed at the next start.
    #[error("the node is stopping: this work stopped between whole batches and goes on at the next start")]
    Stopping,
    /// RocksDB reported an error.
    #[error("store error while {doing}: {message}")]
    Rocks {
        /// What the store was doing.
        doing: &'static str,
        /// RocksDB's message.
        message: String,
    },
}

fn rocks(doing: &'static str) -> impl FnOnce(rocksdb::Error) -> Error {
    move |e| Error::Rocks {
        doing,
        message: e.into_string(),
    }
}

/// One write in a [`Batch`].
#[derive(Debug)]
enum Op {
    Put(Vec<u8>),
    Delete,
    /// Adds to a u64 counter (see [`add_merge`]).
    Add(i64),
}

/// An atomic group of writes: all land, or none.
#[derive(Default)]
pub struct Batch {
    ops: Vec<(Column, Vec<u8>, Op)>,
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("ops", &self.ops.len())
            .finish()
    }
}

impl Batch {
    /// Sets `key` to `value`.
    pub fn put(&mut self, column: Column, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push((column, key.into(), Op::Put(value.into())));
    }

    /// Sets `key` to `value` as JSON; an error if it does not encode
    /// (never an empty value in its place).
    pub fn put_json(
        &mut self,
        column: Column,
        key: impl Into<Vec<u8>>,
        value: &impl serde::Serialize,
    ) -> Result<(), Error> {
        let bytes = serde_json::to_vec(value).map_err(|source| Error::Encode {
            column: column.name(),
            source,
        })?;
        self.put(column, key, bytes);
        Ok(())
    }

    /// Removes `key`.
    pub fn delete(&mut self, column: Column, key: impl Into<Vec<u8>>) {
        self.ops.push((column, key.into(), Op::Delete));
    }

    /// Adds `n` to the u64 counter at `key` in [`Column::Meta`] (a
    /// missing counter is 0), without reading it: RocksDB applies the
    /// addition, so concurrent writers need no lock around counters.
    pub fn add(&mut self, key: impl Into<Vec<u8>>, n: i64) {
        self.ops.push((Column::Meta, key.into(), Op::Add(n)));
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// The open store.
pub struct Store {
    db: DB,
    /// The audit tree's right edge; its lock orders appends.
    log: std::sync::Mutex<liaison_protocol::audit::tree::Frontier>,
    /// Log batches waiting to be written, in log order (group commit).
    commits: Box<audit::Committer>,
    path: PathBuf,
    stripes: Box<[std::sync::Mutex<()>]>,
    stripe_hasher: std::collections::hash_map::RandomState,
    /// Set when the daemon is told to stop (see [`Store::request_stop`]).
    stopping: std::sync::atomic::AtomicBool,
    /// Bytes of values read, for tests that bound the work a message costs.
    #[cfg(test)]
    read_bytes: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens the store at `path`, creating it (mode 0700) if needed. A
    /// folder that other users can enter or read is refused: RocksDB
    /// writes records, reports and case salts in plain files.
    pub fn open(path: &Path) -> Result<Store, Error> {
        use std::os::unix::fs::DirBuilderExt as _;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
            .map_err(|source| Error::Create {
                path: path.to_owned(),
                source,
            })?;
        let open = crate::files::open_to_others(path).map_err(|source| Error::Create {
            path: path.to_owned(),
            source,
        })?;
        if let Some(mode) = open {
            return Err(Error::Permissions {
                path: path.to_owned(),
                mode,
            });
        }
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_max_background_jobs(2);
        opts.set_bytes_per_sync(1 << 20);
        // One bounded cache for data, index and filter blocks of every
        // column: the store's memory stays flat as it grows, instead of
        // holding every file's index in the heap.
        let cache = Cache::new_lru_cache(BLOCK_CACHE_BYTES);
        let cfs = Column::ALL.map(|c| {
            let mut o = Options::default();
            let mut table = BlockBasedOptions::default();
            // Point lookups (the old version of a re-ingested record) are
            // mostly misses: a bloom filter answers them without a read.
            table.set_bloom_filter(10.0, false);
            table.set_block_cache(&cache);
            table.set_cache_index_and_filter_blocks(true);
            table.set_pin_l0_filter_and_index_blocks_in_cache(true);
            o.set_block_based_table_factory(&table);
            if c == Column::Meta {
                o.set_merge_operator_associative(ADD_MERGE, add_merge);
            }
            if c == Column::Records || c == Column::Expiry {
                // Every ingest batch looks up each id's old record and
                // expiry, nearly always missing: a bloom filter on the
                // memtable answers a miss without walking its skip list
                // (as the table files' filters do on disk).
                o.set_memtable_prefix_bloom_ratio(0.05);
                o.set_memtable_whole_key_filtering(true);
            }
            if c == Column::Records || c == Column::Selectors {
                // Small memtables keep skip-list inserts cache-friendly
                // (measured: 16 MiB ingests faster than 64 or 128 MiB);
                // a third one absorbs a slow flush without stalling.
                o.set_write_buffer_size(MEMTABLE_BYTES);
                o.set_max_write_buffer_number(3);
            }
            ColumnFamilyDescriptor::new(c.name(), o)
        });
        let db = DB::open_cf_descriptors(&opts, path, cfs).map_err(|e| {
            let message = e.into_string();
            if message.contains("LOCK") || message.contains("lock") {
                Error::Locked {
                    path: path.to_owned(),
                }
            } else {
                Error::Rocks {
                    doing: "opening the store",
                    message,
                }
            }
        })?;
        let store = Store {
            db,
            log: Default::default(),
            commits: Default::default(),
            path: path.to_owned(),
            stripes: (0..KEY_LOCK_STRIPES)
                .map(|_| std::sync::Mutex::new(()))
                .collect(),
            stripe_hasher: std::collections::hash_map::RandomState::new(),
            stopping: Default::default(),
            #[cfg(test)]
            read_bytes: Default::default(),
        };
        store.check_layout()?;
        store.load_log()?;
        records::index_expiry_once(&store)?;
        Ok(store)
    }

    fn check_layout(&self) -> Result<(), Error> {
        let key = keys::Meta::Layout.key();
        match self.get(Column::Meta, &key)? {
            None => {
                let mut b = Batch::default();
                b.put(Column::Meta, key, LAYOUT_VERSION.to_be_bytes().to_vec());
                self.write_durable(b)
            }
            Some(v) => {
                let found = <[u8; 4]>::try_from(v.as_slice())
                    .map(u32::from_be_bytes)
                    .unwrap_or(u32::MAX);
                if found == LAYOUT_VERSION {
                    Ok(())
                } else {
                    Err(Error::Layout {
                        path: self.path.clone(),
                        found,
                    })
                }
            }
        }
    }

    /// Every value under `prefix` of `column` that decodes as JSON `T`,
    /// in key order; one that does not is skipped.
    pub fn json_values<T: serde::de::DeserializeOwned>(
        &self,
        column: Column,
        prefix: &[u8],
    ) -> Result<Vec<T>, Error> {
        let mut out = Vec::new();
        self.scan_prefix(column, prefix, |_, v| {
            if let Ok(x) = serde_json::from_slice(v) {
                out.push(x);
            }
            true
        })?;
        Ok(out)
    }

    /// Asks long work on this store (filter builds, purges, ingests,
    /// reindexing) to stop at its next whole batch: each checks
    /// [`Store::check_stop`] between batches, and often inside long
    /// computations, so a daemon told to stop stops within seconds.
    /// Writes themselves are never refused: a batch under way completes.
    pub fn request_stop(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether [`Store::request_stop`] was called.
    pub fn stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// [`Error::Stopping`] once [`Store::request_stop`] was called: the
    /// check long work makes between batches.
    pub fn check_stop(&self) -> Result<(), Error> {
        if self.stopping() {
            Err(Error::Stopping)
        } else {
            Ok(())
        }
    }

    /// The store's folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn cf(&self, column: Column) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(column.name())
            .expect("every column family is created when the store opens")
    }

    /// The value at `key`.
    pub fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        let v = self
            .db
            .get_cf(self.cf(column), key)
            .map_err(rocks("reading"))?;
        self.count_read(v.as_ref().map_or(0, Vec::len));
        Ok(v)
    }

    #[cfg(test)]
    fn count_read(&self, n: usize) {
        self.read_bytes
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
    }

    #[cfg(not(test))]
    fn count_read(&self, _: usize) {}

    /// Bytes of values read so far (tests only).
    #[cfg(test)]
    pub(crate) fn read_bytes(&self) -> u64 {
        self.read_bytes.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The values at `keys`, in order.
    pub fn multi_get<'k>(
        &self,
        column: Column,
        keys: impl IntoIterator<Item = &'k [u8]>,
    ) -> Result<Vec<Option<Vec<u8>>>, Error> {
        let cf = self.cf(column);
        self.db
            .multi_get_cf(keys.into_iter().map(|k| (cf, k)))
            .into_iter()
            .map(|r| r.map_err(rocks("reading")))
            .collect()
    }

    /// Writes `batch` atomically. Survives a process crash once this returns.
    pub fn write(&self, batch: Batch) -> Result<(), Error> {
        let mut wo = WriteOptions::default();
        wo.set_sync(false);
        self.apply(batch, &wo)
    }

    /// Fsyncs the write-ahead log: everything written before is durable.
    pub fn sync(&self) -> Result<(), Error> {
        self.db.flush_wal(true).map_err(rocks("syncing the log"))
    }

    /// Writes `batch` atomically and fsyncs the log before returning.
    pub fn write_durable(&self, batch: Batch) -> Result<(), Error> {
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        self.apply(batch, &wo)
    }

    fn apply(&self, mut batch: Batch, wo: &WriteOptions) -> Result<(), Error> {
        // The memtable skip list reuses its last insert position, so keys in
        // order cost a few comparisons each instead of a full search: ingest
        // of a batch of index entries runs several times faster sorted. The
        // sort is stable, so two writes to one key keep their order.
        batch
            .ops
            .sort_by(|a, b| (a.0 as u8, &a.1).cmp(&(b.0 as u8, &b.1)));
        let mut wb = rocksdb::WriteBatch::default();
        for (column, key, op) in batch.ops {
            match op {
                Op::Put(v) => wb.put_cf(self.cf(column), key, v),
                Op::Delete => wb.delete_cf(self.cf(column), key),
                Op::Add(n) => wb.merge_cf(self.cf(column), key, n.to_be_bytes()),
            }
        }
        self.db.write_opt(wb, wo).map_err(rocks("writing"))
    }

    /// Every `(key, value)` whose key starts with `prefix`, in key order,
    /// until `visit` returns `false`.
    pub fn scan_prefix(
        &self,
        column: Column,
        prefix: &[u8],
        visit: impl FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), Error> {
        self.scan_from(column, prefix, prefix, visit)
    }

    /// The greatest key under `prefix` in `column`, if any (one seek
    /// backwards; no value is read).
    pub fn last_key(&self, column: Column, prefix: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        let mut ro = ReadOptions::default();
        ro.set_iterate_lower_bound(prefix.to_vec());
        if let Some(upper) = prefix_upper_bound(prefix) {
            ro.set_iterate_upper_bound(upper);
        }
        let mut iter = self
            .db
            .iterator_cf_opt(self.cf(column), ro, IteratorMode::End);
        match iter.next() {
            Some(item) => {
                let (k, _) = item.map_err(rocks("scanning"))?;
                Ok(k.starts_with(prefix).then(|| k.to_vec()))
            }
            None => Ok(None),
        }
    }

    /// Like [`Store::scan_prefix`], starting at key `start` (at or after
    /// `prefix`).
    pub fn scan_from(
        &self,
        column: Column,
        start: &[u8],
        prefix: &[u8],
        mut visit: impl FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), Error> {
        let mut ro = ReadOptions::default();
        if let Some(upper) = prefix_upper_bound(prefix) {
            ro.set_iterate_upper_bound(upper);
        }
        let iter = self.db.iterator_cf_opt(
            self.cf(column),
            ro,
            IteratorMode::From(start, rocksdb::Direction::Forward),
        );
        for item in iter {
            let (k, v) = item.map_err(rocks("scanning"))?;
            if !k.starts_with(prefix) {
                break;
            }
            self.count_read(v.len());
            if !visit(&k, &v) {
                break;
            }
        }
        Ok(())
    }

    /// A lock for a read-check-write step on `key` (RocksDB has no
    /// transactions here). Striped: two keys may share a lock, which only
    /// costs a wait, but it also means: never hold one while calling
    /// anything else that takes one (a deadlock when the stripes meet).
    /// A panic while holding it cannot leave a half-written
    /// batch (batches are atomic), so a poisoned lock is taken as it is.
    pub fn key_lock(&self, key: &[u8]) -> std::sync::MutexGuard<'_, ()> {
        use std::hash::{BuildHasher as _, Hasher as _};
        let mut h = self.stripe_hasher.build_hasher();
        h.write(key);
        self.stripes[(h.finish() % KEY_LOCK_STRIPES as u64) as usize]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes everything written so far durable (memtables to disk, log synced).
    pub fn flush(&self) -> Result<(), Error> {
        self.db.flush_wal(true).map_err(rocks("syncing the log"))?;
        for c in Column::ALL {
            self.db.flush_cf(self.cf(c)).map_err(rocks("flushing"))?;
        }
        Ok(())
    }
}

/// The merge operator's name, recorded in the store: never change it.
const ADD_MERGE: &str = "liaison.add-u64.v1";

/// Counters in `meta`: a value is a big-endian u64, an operand a
/// big-endian i64 added to it (wrapping, so a decrement is a negative
/// operand). Associative, so RocksDB may fold operands in any grouping.
/// Anything not 8 bytes is refused (the read then fails loudly).
fn add_merge(
    _key: &[u8],
    existing: Option<&[u8]>,
    operands: &rocksdb::MergeOperands,
) -> Option<Vec<u8>> {
    let eight = |b: &[u8]| <[u8; 8]>::try_from(b).ok().map(u64::from_be_bytes);
    let mut sum = match existing {
        Some(v) => eight(v)?,
        None => 0,
    };
    for op in operands {
        sum = sum.wrapping_add(eight(op)?);
    }
    Some(sum.to_be_bytes().to_vec())
}

/// The smallest key greater than every key starting with `prefix`, if any.
fn prefix_upper_bound(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut upper = prefix.to_vec();
    while let Some(last) = upper.pop() {
        if last < u8::MAX {
            upper.push(last + 1);
            return Some(upper);
        }
    }
    None
}

#[cfg(test)]
mod tests;
