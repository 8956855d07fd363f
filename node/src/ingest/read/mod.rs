//! Reading input files into records, one at a time, streaming.
//!
//! Three formats (see README, "Input formats"):
//! - NDJSON: one record a line, the canonical form (`ndjson`);
//! - CSV: one record a row, columns named after the record's fields
//!   (`record_id,surname,given,dob,phone,passport_country,passport_number,...`)
//!   (`csv_rows`);
//! - call detail records: CSV with `caller,callee,start,duration,cell`
//!   columns, each call a record of two phones and a `called` link (`cdr`).
//!
//! A line is never read past the configured limit: an over-long line is
//! refused and skipped without being held in memory.
//!
//! This file opens a file and picks its format; the [`Item`]s read go to
//! ingest (and to `liaison match`, which reads its input the same way).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use liaison_protocol::record::Record;
use liaison_protocol::Country;

use super::Refusal;

mod cdr;
mod csv_rows;
mod ndjson;
#[cfg(test)]
mod tests;

pub use cdr::cdr_record;
pub use csv_rows::csv_record;
pub use ndjson::parse_json;

use ndjson::Ndjson;

/// An input format.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// One JSON record a line.
    Ndjson,
    /// One record a row, columns named after the fields.
    Csv,
    /// Call detail records: `caller,callee,start,duration,cell`.
    Cdr,
}

/// One input line, as read.
#[derive(Debug)]
pub struct Item {
    /// 1-based line number in the file.
    pub line: u64,
    /// What the line holds.
    pub body: Body,
}

/// What an input line holds. NDJSON is parsed later, off the reading
/// thread ([`Item::into_record`]), because parsing is most of its cost.
#[derive(Debug)]
pub enum Body {
    /// An NDJSON line, not yet parsed.
    Json(Vec<u8>),
    /// A record already built from a CSV row.
    Record(Record),
    /// A line refused while reading.
    Refused(Refusal),
}

impl Item {
    /// The record, or why the line is refused; with the JSON it was parsed
    /// from, if any, to be stored as written.
    pub fn into_record(self) -> (Result<Record, Refusal>, Option<Vec<u8>>) {
        match self.body {
            Body::Json(bytes) => match parse_json(&bytes) {
                Ok(record) => (Ok(record), Some(bytes)),
                Err(e) => (Err(e), None),
            },
            Body::Record(record) => (Ok(record), None),
            Body::Refused(refusal) => (Err(refusal), None),
        }
    }
}

/// Counts bytes as they are read, for the progress bar.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Opens `path` and picks its format: by `forced`, else by extension
/// (`.ndjson`, `.jsonl`, `.json`, `.csv`), else by its first byte; a CSV
/// whose header has `caller` and `callee` is read as call detail records.
pub fn open(
    path: &Path,
    forced: Option<Format>,
    max_line: usize,
    country: Option<Country>,
    progress: Arc<AtomicU64>,
) -> io::Result<Box<dyn Iterator<Item = Item> + Send>> {
    let file = File::open(path)?;
    let mut reader = BufReader::with_capacity(
        1 << 16,
        Counting {
            inner: file,
            read: progress,
        },
    );
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let format = match (forced, ext.as_deref()) {
        (Some(f), _) => f,
        (None, Some("ndjson" | "jsonl" | "json")) => Format::Ndjson,
        (None, Some("csv" | "cdr")) => Format::Csv,
        (None, _) => {
            let head = reader.fill_buf()?;
            match head.iter().find(|b| !b.is_ascii_whitespace()) {
                Some(b'{') => Format::Ndjson,
                _ => Format::Csv,
            }
        }
    };
    Ok(match format {
        Format::Ndjson => Box::new(Ndjson::new(reader, max_line)),
        Format::Csv | Format::Cdr => csv_rows::open(reader, forced, max_line, country)?,
    })
}
