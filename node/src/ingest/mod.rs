//! `liaison ingest`: files in, records and their selectors into the store.
//!
//! The flow: a reader thread streams each file ([`read`]), checks and
//! normalises every record ([`prepare`]) and hands full batches over a
//! bounded channel to the writer (the calling thread), which commits each
//! batch atomically ([`crate::store::records::Records::put_batch`]). Memory
//! stays flat however large the file: at most a few batches are in flight.
//!
//! A refused line never stops the run: it is reported (file, line, field,
//! reason) and the good lines around it are stored. Batches commit in file
//! order, so after a crash the store holds a prefix of the input, and
//! running the same files again completes it.

pub mod read;

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use liaison_protocol::normalize::{self, Context};
use liaison_protocol::record::Record;
use liaison_protocol::{Country, Selector};

use crate::store::records::{Outcome, Records, StoredRecord};
use crate::store::{self, Store};

pub use read::Format;

/// Longest record id accepted, in bytes.
const MAX_ID_LEN: usize = 256;
/// Longest selector value accepted, in bytes (index keys stay small).
const MAX_SELECTOR_LEN: usize = 1024;
/// Batches buffered between the reader and the writer.
const CHANNEL_BATCHES: usize = 4;

/// Why one input line was not stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The field at fault (`entities[1].number`), when one is.
    pub field: Option<String>,
    /// What is wrong and how to fix it.
    pub reason: String,
}

impl Refusal {
    /// A refusal for `field` (if known).
    pub fn new(field: Option<String>, reason: String) -> Refusal {
        Refusal { field, reason }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

/// A refused line, located.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusedLine {
    /// The file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: u64,
    /// Why.
    pub refusal: Refusal,
}

impl fmt::Display for RefusedLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.refusal)
    }
}

/// Checks a record and computes its selectors.
pub fn prepare(record: &Record, default_country: Option<Country>) -> Result<Vec<Selector>, Refusal> {
    let id = record.id.trim();
    if id.is_empty() || id != record.id || record.id.len() > MAX_ID_LEN || record.id.chars().any(char::is_control) {
        return Err(Refusal::new(
            Some("id".into()),
            format!("record ids are 1 to {MAX_ID_LEN} bytes without control characters or surrounding spaces"),
        ));
    }
    if record.entities.is_empty() {
        return Err(Refusal::new(
            Some("entities".into()),
            "a record needs at least one entity to be matched (check the spelling of `entities`)".into(),
        ));
    }
    let mut refs: Vec<&str> = Vec::with_capacity(record.entities.len());
    for (i, e) in record.entities.iter().enumerate() {
        if let Some(r) = e.reference() {
            if refs.contains(&r) {
                return Err(Refusal::new(Some(format!("entities[{i}].ref")), format!("{r:?} is used by two entities: refs must be unique in a record")));
            }
            refs.push(r);
        }
    }
    for (i, l) in record.links.iter().enumerate() {
        for (end, r) in [("from", &l.from), ("to", &l.to)] {
            if !refs.contains(&r.as_str()) {
                return Err(Refusal::new(Some(format!("links[{i}].{end}")), format!("no entity has ref {r:?}")));
            }
        }
    }
    let ctx = Context {
        country: record.country.or(default_country),
    };
    let mut selectors = Vec::with_capacity(record.entities.len() * 2);
    for (i, e) in record.entities.iter().enumerate() {
        normalize::entity_selectors(e, &ctx, &mut selectors)
            .map_err(|e| Refusal::new(Some(format!("entities[{i}].{}", e.field)), e.error.to_string()))?;
    }
    if let Some(s) = selectors.iter().find(|s| s.value.len() > MAX_SELECTOR_LEN) {
        return Err(Refusal::new(
            Some("entities".into()),
            format!("a {} identifier is {} bytes long, over the {MAX_SELECTOR_LEN} byte limit", s.kind, s.value.len()),
        ));
    }
    selectors.sort_unstable();
    selectors.dedup();
    Ok(selectors)
}

/// What an ingest run did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Lines that held a record (blank lines are not counted).
    pub read: u64,
    /// New records stored.
    pub stored: u64,
    /// Existing records replaced.
    pub updated: u64,
    /// Lines refused.
    pub refused: u64,
    /// Records stored or updated without a single selector (a person with
    /// no date of birth, say): held, but they cannot be matched.
    pub unmatchable: u64,
}

/// Options for one run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Force a format instead of detecting it.
    pub format: Option<Format>,
    /// Records per write batch.
    pub batch_size: usize,
    /// Longest line accepted.
    pub max_line: usize,
    /// The node's country, for records without one.
    pub country: Option<Country>,
}

/// An ingest that could not run (as opposed to refused lines).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input file could not be opened.
    #[error("{}: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The store failed; batches already committed are kept.
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// Progress callbacks, so the CLI can draw a bar and print refusals as
/// they come without holding them in memory.
pub trait Observer {
    /// Called for each refused line, in file order.
    fn refused(&mut self, line: &RefusedLine);
    /// Called after each committed batch with the bytes read so far.
    fn committed(&mut self, summary: &Summary, bytes_read: u64);
}

/// An observer that ignores everything.
#[derive(Debug, Default)]
pub struct Quiet;

impl Observer for Quiet {
    fn refused(&mut self, _: &RefusedLine) {}
    fn committed(&mut self, _: &Summary, _: u64) {}
}

enum Message {
    Batch(Vec<StoredRecord>),
    Refused(RefusedLine),
    Failed(Error),
}

/// Ingests `files` in order into `store`.
pub fn run(store: &Store, files: &[PathBuf], opts: &Options, observer: &mut dyn Observer) -> Result<Summary, Error> {
    // Every file must open before anything is stored, so a typo in the
    // last name does not leave a half-done run.
    for path in files {
        std::fs::File::open(path).map_err(|source| Error::Open {
            path: path.clone(),
            source,
        })?;
    }
    let progress = Arc::new(AtomicU64::new(0));
    let (tx, rx) = mpsc::sync_channel::<Message>(CHANNEL_BATCHES);
    let records = Records::new(store);
    let mut summary = Summary::default();
    let result = std::thread::scope(|scope| -> Result<(), Error> {
        let reader_progress = Arc::clone(&progress);
        scope.spawn(move || read_all(files, opts, reader_progress, tx));
        let mut last_report = Instant::now();
        for message in rx {
            match message {
                Message::Refused(line) => {
                    summary.read += 1;
                    summary.refused += 1;
                    observer.refused(&line);
                }
                Message::Failed(e) => return Err(e),
                Message::Batch(batch) => {
                    summary.read += batch.len() as u64;
                    summary.unmatchable += batch.iter().filter(|r| r.selectors.is_empty()).count() as u64;
                    for outcome in records.put_batch(&batch)? {
                        match outcome {
                            Outcome::Stored => summary.stored += 1,
                            Outcome::Updated => summary.updated += 1,
                        }
                    }
                    if last_report.elapsed() >= Duration::from_millis(100) {
                        observer.committed(&summary, progress.load(std::sync::atomic::Ordering::Relaxed));
                        last_report = Instant::now();
                    }
                }
            }
        }
        Ok(())
    });
    // Whatever happened, what was committed is made durable.
    let flushed = store.flush();
    result?;
    flushed?;
    observer.committed(&summary, progress.load(std::sync::atomic::Ordering::Relaxed));
    Ok(summary)
}

/// The reader thread: parse, check, normalise, batch.
fn read_all(files: &[PathBuf], opts: &Options, progress: Arc<AtomicU64>, tx: mpsc::SyncSender<Message>) {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut batch = Vec::with_capacity(opts.batch_size);
    for path in files {
        let items = match read::open(path, opts.format, opts.max_line, opts.country, Arc::clone(&progress)) {
            Ok(items) => items,
            Err(source) => {
                let _ = tx.send(Message::Failed(Error::Open {
                    path: path.clone(),
                    source,
                }));
                return;
            }
        };
        let name = path.display().to_string();
        for item in items {
            let refused = |refusal| {
                Message::Refused(RefusedLine {
                    file: path.clone(),
                    line: item.line,
                    refusal,
                })
            };
            let message = match item.record {
                Err(refusal) => Some(refused(refusal)),
                Ok(record) => match prepare(&record, opts.country) {
                    Err(refusal) => Some(refused(refusal)),
                    Ok(selectors) => {
                        batch.push(StoredRecord {
                            record,
                            selectors,
                            source: format!("{name}:{}", item.line),
                            ingested_at: now,
                        });
                        (batch.len() >= opts.batch_size)
                            .then(|| Message::Batch(std::mem::replace(&mut batch, Vec::with_capacity(opts.batch_size))))
                    }
                },
            };
            // A refusal is reported at once, possibly before the batch
            // holding the good lines before it commits; that batch still
            // commits before any later one.
            if let Some(message) = message {
                if tx.send(message).is_err() {
                    return;
                }
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx.send(Message::Batch(batch));
    }
}

/// The files' total size in bytes, for a progress bar's length.
pub fn total_bytes(files: &[PathBuf]) -> u64 {
    files.iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum()
}
