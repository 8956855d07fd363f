//! `liaison ingest`: files in, records and their selectors into the store.
//!
//! The flow: a reader thread streams each file ([`read`]) and cuts it into
//! numbered chunks of lines; worker threads, one per core, parse, check and
//! normalise every record ([`prepare`]); the writer (the calling thread)
//! puts their results back in file order and commits them in batches,
//! each atomically ([`crate::store::records::Records::put_batch`]). Every
//! channel is bounded, so memory stays flat however large the file.
//!
//! A refused line never stops the run: it is reported (file, line, field,
//! reason) and the good lines around it are stored. Batches commit in file
//! order, so after a crash the store holds a prefix of the input, and
//! running the same files again completes it.

pub mod read;
pub mod reindex;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use liaison_protocol::normalize::{self, Context};
use liaison_protocol::record::Record;
use liaison_protocol::{Country, Selector};

use crate::store::records::{Outcome, Prepared, Records};
use crate::store::{self, Store};

pub use read::Format;

/// Longest record id accepted, in bytes.
const MAX_ID_LEN: usize = 256;
/// Longest selector value accepted, in bytes (index keys stay small).
const MAX_SELECTOR_LEN: usize = 1024;

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
pub fn prepare(
    record: &Record,
    default_country: Option<Country>,
) -> Result<Vec<Selector>, Refusal> {
    prepare_noting(record, default_country, &mut Vec::new())
}

/// As [`prepare`], and appends to `warnings` what was stored but is most
/// likely miswritten (a phone number no numbering plan holds).
pub fn prepare_noting(
    record: &Record,
    default_country: Option<Country>,
    warnings: &mut Vec<Refusal>,
) -> Result<Vec<Selector>, Refusal> {
    let id = record.id.trim();
    if id.is_empty()
        || id != record.id
        || record.id.len() > MAX_ID_LEN
        || record.id.chars().any(char::is_control)
    {
        return Err(Refusal::new(
            Some("id".into()),
            format!("record ids are 1 to {MAX_ID_LEN} bytes without control characters or surrounding spaces"),
        ));
    }
    if record.entities.is_empty() {
        return Err(Refusal::new(
            Some("entities".into()),
            "a record needs at least one entity to be matched (check the spelling of `entities`)"
                .into(),
        ));
    }
    let mut refs: Vec<&str> = Vec::with_capacity(record.entities.len());
    for (i, e) in record.entities.iter().enumerate() {
        if let Some(r) = e.reference() {
            if refs.contains(&r) {
                return Err(Refusal::new(
                    Some(format!("entities[{i}].ref")),
                    format!("{r:?} is used by two entities: refs must be unique in a record"),
                ));
            }
            refs.push(r);
        }
    }
    for (i, l) in record.links.iter().enumerate() {
        for (end, r) in [("from", &l.from), ("to", &l.to)] {
            if !refs.contains(&r.as_str()) {
                return Err(Refusal::new(
                    Some(format!("links[{i}].{end}")),
                    format!("no entity has ref {r:?}"),
                ));
            }
        }
    }
    let ctx = Context {
        country: record.country.or(default_country),
    };
    let mut selectors = Vec::with_capacity(record.entities.len() * 2);
    let mut noted = Vec::new();
    for (i, e) in record.entities.iter().enumerate() {
        normalize::entity_selectors_noting(e, &ctx, &mut selectors, &mut noted).map_err(|e| {
            Refusal::new(
                Some(format!("entities[{i}].{}", e.field)),
                e.error.to_string(),
            )
        })?;
        warnings.extend(noted.drain(..).map(|w| {
            Refusal::new(
                Some(format!("entities[{i}].{}", w.field)),
                w.warning.to_string(),
            )
        }));
    }
    if let Some(s) = selectors.iter().find(|s| s.value.len() > MAX_SELECTOR_LEN) {
        return Err(Refusal::new(
            Some("entities".into()),
            format!(
                "a {} identifier is {} bytes long, over the {MAX_SELECTOR_LEN} byte limit",
                s.kind,
                s.value.len()
            ),
        ));
    }
    selectors.sort_unstable();
    selectors.dedup();
    Ok(selectors)
}

/// What an ingest run did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// Records stored with a warning (a phone number no numbering plan
    /// holds): held, but likely miswritten.
    #[serde(default)]
    pub warned: u64,
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
    /// Called for each warning on a line that was stored, in file order.
    fn warned(&mut self, line: &RefusedLine);
    /// Called after each committed batch with the bytes read so far.
    fn committed(&mut self, summary: &Summary, bytes_read: u64);
}

/// An observer that ignores everything.
#[derive(Debug, Default)]
pub struct Quiet;

impl Observer for Quiet {
    fn refused(&mut self, _: &RefusedLine) {}
    fn warned(&mut self, _: &RefusedLine) {}
    fn committed(&mut self, _: &Summary, _: u64) {}
}

/// Lines per unit of work handed to a worker.
const CHUNK: usize = 256;

/// A chunk of consecutive input lines, numbered so the writer can put the
/// workers' results back in file order.
struct Work {
    seq: u64,
    file: Arc<PathBuf>,
    items: Result<Vec<read::Item>, Error>,
}

/// One line worked on: the record ready to store with the warnings on
/// its line, or why it was refused.
type Processed = Result<(Prepared, Vec<RefusedLine>), RefusedLine>;

/// A worker's result for one [`Work`].
struct Done {
    seq: u64,
    results: Result<Vec<Processed>, Error>,
}

/// Ingests `files` in order into `store`.
///
/// Threads: one reads lines and cuts them into chunks; workers (one per
/// core) parse, check and normalise; the calling thread puts results back
/// in file order and commits them in batches. Every channel is bounded, so
/// memory stays flat whatever the input size.
pub fn run(
    store: &Store,
    files: &[PathBuf],
    opts: &Options,
    observer: &mut dyn Observer,
) -> Result<Summary, Error> {
    run_with(store, files, opts, &read::Reading::default(), observer)
}

/// [`run`], reading the files as `reading` says (encoding, delimiter,
/// sheet, column mapping).
pub fn run_with(
    store: &Store,
    files: &[PathBuf],
    opts: &Options,
    reading: &read::Reading,
    observer: &mut dyn Observer,
) -> Result<Summary, Error> {
    // Every file must open before anything is stored, so a typo in the
    // last name does not leave a half-done run. Tables (CSV, XLSX) are
    // opened as they will be read: a header that cannot be decoded, a
    // sheet that is not there or a column the map names and the file
    // lacks stops the run here too.
    for path in files {
        std::fs::File::open(path).map_err(|source| Error::Open {
            path: path.clone(),
            source,
        })?;
        read::open_with(
            path,
            opts.format,
            reading,
            opts.max_line,
            opts.country,
            Arc::default(),
        )
        .map(drop)
        .map_err(|source| Error::Open {
            path: path.clone(),
            source,
        })?;
    }
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    let progress = Arc::new(AtomicU64::new(0));
    let (work_tx, work_rx) = mpsc::sync_channel::<Work>(2 * workers);
    // Shared by the workers only: when they have all stopped, the receiver
    // drops and the reader's next send fails, so no thread is left blocked.
    let work_rx = Arc::new(std::sync::Mutex::new(work_rx));
    let (done_tx, done_rx) = mpsc::sync_channel::<Done>(2 * workers);
    // One token per chunk between the reader and the writer's in-order
    // hand-off: results parked while an earlier chunk is still being worked
    // on can never exceed this many chunks, however uneven the work.
    // Enough for two write batches, so workers keep going while the
    // writer commits one.
    let in_flight = 2 * opts.batch_size.div_ceil(CHUNK) + 4 * workers;
    let (permit_tx, permit_rx) = mpsc::sync_channel::<()>(in_flight);
    let records = Records::new(store);
    let mut summary = Summary::default();
    let result = std::thread::scope(|scope| -> Result<(), Error> {
        let reader_progress = Arc::clone(&progress);
        scope.spawn(move || read_all(files, opts, reading, reader_progress, permit_tx, work_tx));
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        // Owned here so that returning early (a store error) drops it, which
        // stops the workers' sends.
        let (done_rx, permit_rx) = (done_rx, permit_rx);
        for _ in 0..workers {
            let done_tx = done_tx.clone();
            let work_rx = Arc::clone(&work_rx);
            scope.spawn(move || loop {
                let work = match work_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok(work) = work else { return };
                let results = work.items.map(|items| {
                    items
                        .into_iter()
                        .map(|i| process(i, &work.file, opts, now))
                        .collect()
                });
                if done_tx
                    .send(Done {
                        seq: work.seq,
                        results,
                    })
                    .is_err()
                {
                    return;
                }
            });
        }
        drop(done_tx);
        drop(work_rx);

        let mut last_report = Instant::now();
        let started = Instant::now();
        let mut waiting = Duration::ZERO;
        let mut pending: BTreeMap<u64, Done> = BTreeMap::new();
        let mut next = 0u64;
        let mut batch: Vec<Prepared> = Vec::with_capacity(opts.batch_size);
        let commit = |batch: Vec<Prepared>, summary: &mut Summary| -> Result<(), Error> {
            // A daemon told to stop: the batches written stay whole, and
            // the file can be sent again (a record already stored is
            // unchanged).
            store.check_stop()?;
            summary.read += batch.len() as u64;
            summary.unmatchable += batch.iter().filter(|r| r.selectors().is_empty()).count() as u64;
            for outcome in records.put_batch(batch)? {
                match outcome {
                    Outcome::Stored => summary.stored += 1,
                    Outcome::Updated => summary.updated += 1,
                }
            }
            Ok(())
        };
        loop {
            let mark = Instant::now();
            let Ok(done) = done_rx.recv() else { break };
            waiting += mark.elapsed();
            pending.insert(done.seq, done);
            while let Some(done) = pending.remove(&next) {
                next += 1;
                // The reader took a token for this chunk; it cannot be
                // missing, but a closed channel only means the reader is done.
                let _ = permit_rx.try_recv();
                for result in done.results? {
                    match result {
                        Ok((prepared, warnings)) => {
                            if !warnings.is_empty() {
                                summary.warned += 1;
                            }
                            for w in &warnings {
                                observer.warned(w);
                            }
                            batch.push(prepared);
                            if batch.len() >= opts.batch_size {
                                commit(
                                    std::mem::replace(
                                        &mut batch,
                                        Vec::with_capacity(opts.batch_size),
                                    ),
                                    &mut summary,
                                )?;
                                if last_report.elapsed() >= Duration::from_millis(100) {
                                    observer.committed(&summary, progress.load(Ordering::Relaxed));
                                    last_report = Instant::now();
                                }
                            }
                        }
                        Err(line) => {
                            summary.read += 1;
                            summary.refused += 1;
                            observer.refused(&line);
                        }
                    }
                }
            }
        }
        if !batch.is_empty() {
            commit(batch, &mut summary)?;
        }
        // Where the writer's time went tells whether parsing or the store
        // limits the run (RUST_LOG=liaison=debug).
        tracing::debug!(
            workers,
            total_ms = started.elapsed().as_millis() as u64,
            waiting_for_workers_ms = waiting.as_millis() as u64,
            "ingest writer finished"
        );
        Ok(())
    });
    // Whatever happened, what was committed is made durable. (On an error
    // the scope has already joined the other threads: their channels
    // closed when the writer's receiver was dropped.)
    let flushed = store.flush();
    result?;
    flushed?;
    observer.committed(&summary, progress.load(Ordering::Relaxed));
    Ok(summary)
}

/// One line to a prepared record or a located refusal.
fn process(item: read::Item, file: &Path, opts: &Options, now: i64) -> Processed {
    let line = item.line;
    let refused = |refusal| RefusedLine {
        file: file.to_owned(),
        line,
        refusal,
    };
    let (record, json) = item.into_record();
    let record = record.map_err(refused)?;
    let mut warnings = Vec::new();
    let selectors = prepare_noting(&record, opts.country, &mut warnings).map_err(refused)?;
    let warnings = warnings.into_iter().map(refused).collect();
    let source = format!("{}:{line}", file.display());
    let prepared = match json {
        Some(json) => {
            Prepared::with_json(record.id, &json, record.handling, selectors, &source, now)
                .expiring(record.expires)
        }
        None => Prepared::new(&record, selectors, &source, now),
    };
    Ok((prepared, warnings))
}

/// The reader thread: lines into numbered chunks of work, each sent once a
/// token is free in `permits`.
fn read_all(
    files: &[PathBuf],
    opts: &Options,
    reading: &read::Reading,
    progress: Arc<AtomicU64>,
    permits: mpsc::SyncSender<()>,
    tx: mpsc::SyncSender<Work>,
) {
    let mut seq = 0u64;
    let mut send = |file: &Arc<PathBuf>, items: Result<Vec<read::Item>, Error>| {
        if permits.send(()).is_err() {
            return false;
        }
        let work = Work {
            seq,
            file: Arc::clone(file),
            items,
        };
        seq += 1;
        tx.send(work).is_ok()
    };
    for path in files {
        let file = Arc::new(path.clone());
        let items = match read::open_with(
            path,
            opts.format,
            reading,
            opts.max_line,
            opts.country,
            Arc::clone(&progress),
        ) {
            Ok(items) => items,
            Err(source) => {
                send(
                    &file,
                    Err(Error::Open {
                        path: path.clone(),
                        source,
                    }),
                );
                return;
            }
        };
        let mut chunk = Vec::with_capacity(CHUNK);
        for item in items {
            chunk.push(item);
            if chunk.len() == CHUNK
                && !send(
                    &file,
                    Ok(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK))),
                )
            {
                return;
            }
        }
        if !chunk.is_empty() && !send(&file, Ok(chunk)) {
            return;
        }
    }
}

/// The files' total size in bytes, for a progress bar's length.
pub fn total_bytes(files: &[PathBuf]) -> u64 {
    files
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}
