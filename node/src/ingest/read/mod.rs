//! Reading input files into records, one at a time, streaming.
//!
//! Four formats (see README, "Input formats"):
//! - NDJSON: one record a line, the canonical form (`ndjson`);
//! - CSV: one record a row, columns named after the record's fields
//!   (`record_id,surname,given,dob,phone,passport_country,passport_number,...`)
//!   (`csv_rows`), in UTF-8, UTF-16 or Windows-1251 and `,`, `;` or tab
//!   separated, detected (`encoding`);
//! - call detail records: CSV with `caller,callee,start,duration,cell`
//!   columns, each call a record of two phones and a `called` link (`cdr`);
//! - XLSX: a worksheet read as a CSV file is (`xlsx`).
//!
//! A column mapping file (`mapping`) names the fields an agency's own
//! headers hold (`Фамилия` → `surname`). Dates and times in cells are read
//! in the forms agencies write them (`when`).
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
mod encoding;
mod mapping;
mod ndjson;
#[cfg(test)]
mod tests;
mod when;
mod xlsx;

pub use cdr::cdr_record;
pub use csv_rows::csv_record;
pub use encoding::encoding_for_label;
pub use mapping::{Mapping, Rows as MappedRows, Unmapped};
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
    /// An Excel workbook's sheet, read as CSV rows.
    Xlsx,
    /// An i2 Analyst's Notebook chart (ANX XML, UTF-16 or UTF-8).
    Anx,
    /// A STIX 2.1 bundle (one JSON object).
    Stix,
}

/// Largest ANX chart or STIX bundle read (they are read whole).
const MAX_DOCUMENT: u64 = 256 << 20;

/// The records of a whole-file format (ANX, STIX) as items: each record
/// numbered in file order, then each item left out as a refusal naming
/// its identity in the file (`chart item 12`, `phone-number--...`).
fn document_items(
    path: &Path,
    format: Format,
    progress: &AtomicU64,
) -> io::Result<Box<dyn Iterator<Item = Item> + Send>> {
    let bad = |m: String| io::Error::new(io::ErrorKind::InvalidData, m);
    let len = std::fs::metadata(path)?.len();
    if len > MAX_DOCUMENT {
        return Err(bad(format!(
            "{len} bytes: over the {MAX_DOCUMENT} bytes an ANX chart or STIX bundle may have here; split it"
        )));
    }
    let bytes = std::fs::read(path)?;
    progress.fetch_add(len, Ordering::Relaxed);
    let imported = match format {
        Format::Anx => {
            let text = crate::formats::anx::decode(&bytes).map_err(bad)?;
            crate::formats::anx::read(&text)
        }
        _ => {
            let text = std::str::from_utf8(bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes))
                .map_err(|e| {
                bad(format!(
                    "byte {} is not UTF-8: a STIX bundle is UTF-8 JSON",
                    e.valid_up_to()
                ))
            })?;
            crate::formats::stix::read(text).map_err(|e| bad(e.to_string()))?
        }
    };
    let records = imported.records.into_iter().map(Body::Record);
    let skipped = imported
        .skipped
        .into_iter()
        .map(|s| Body::Refused(Refusal::new(Some(s.item), s.reason)));
    let items: Vec<Item> = records
        .chain(skipped)
        .enumerate()
        .map(|(i, body)| Item {
            line: i as u64 + 1,
            body,
        })
        .collect();
    Ok(Box::new(items.into_iter()))
}

/// Whether the first bytes of a `.json` file are a STIX bundle's (one
/// object with `"type": "bundle"`), not a line of NDJSON records.
fn stix_bundle(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&head[..head.len().min(4096)]);
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    compact.contains("\"type\":\"bundle\"")
}

/// How to read files beyond their format: what `--encoding`,
/// `--delimiter`, `--sheet` and `--map` say. The default detects.
#[derive(Clone, Debug, Default)]
pub struct Reading {
    /// The text encoding of CSV files (a byte order mark wins over it).
    pub encoding: Option<&'static encoding_rs::Encoding>,
    /// The CSV delimiter.
    pub delimiter: Option<u8>,
    /// The worksheet of XLSX files (the first when `None`).
    pub sheet: Option<String>,
    /// Column mapping, checked when loaded.
    pub map: Option<Arc<Mapping>>,
    /// `[ingest.markings]`: handling markings other than TLP and the code
    /// each is handled as.
    pub markings: Arc<ndjson::Markings>,
}

impl Reading {
    /// From what the CLI's flags or the API's fields say: an encoding
    /// label, a delimiter, a sheet name, a mapping file (read and checked
    /// now, before any input is read).
    pub fn from_options(
        encoding: Option<&str>,
        delimiter: Option<&str>,
        sheet: Option<&str>,
        map: Option<&Path>,
    ) -> Result<Reading, String> {
        Ok(Reading {
            encoding: encoding.map(encoding_for_label).transpose()?,
            delimiter: delimiter.map(delimiter_for).transpose()?,
            sheet: sheet.map(str::to_owned),
            map: map.map(Mapping::load).transpose()?.map(Arc::new),
            markings: Arc::default(),
        })
    }
}

/// A `--delimiter` value: `,`, `;`, `tab` (or a tab character), `|`.
pub fn delimiter_for(value: &str) -> Result<u8, String> {
    match value {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        "," | ";" | "|" => Ok(value.as_bytes()[0]),
        _ => Err(format!(
            "{value:?} is not a delimiter: write `,`, `;`, `tab` or `|`"
        )),
    }
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

/// Opens `path` and picks its format, reading as detected (see [`open_with`]).
pub fn open(
    path: &Path,
    forced: Option<Format>,
    max_line: usize,
    country: Option<Country>,
    progress: Arc<AtomicU64>,
) -> io::Result<Box<dyn Iterator<Item = Item> + Send>> {
    open_with(
        path,
        forced,
        &Reading::default(),
        max_line,
        country,
        progress,
    )
}

/// Opens `path` and picks its format: by `forced`, else by extension
/// (`.ndjson`, `.jsonl`, `.json` (a STIX bundle if it is one), `.csv`,
/// `.tsv`, `.txt`, `.xlsx`, `.anx`), else by
/// its first bytes (a ZIP archive: XLSX; `<`, in UTF-16 or UTF-8: ANX; a `{` opening a STIX bundle: STIX; `{`: NDJSON; else CSV); a CSV
/// whose header has `caller` and `callee` is read as call detail records.
/// A file whose header cannot be read, or lacks a column the map names,
/// is an `InvalidData` error.
pub fn open_with(
    path: &Path,
    forced: Option<Format>,
    reading: &Reading,
    max_line: usize,
    country: Option<Country>,
    progress: Arc<AtomicU64>,
) -> io::Result<Box<dyn Iterator<Item = Item> + Send>> {
    let file = File::open(path)?;
    let mut reader = BufReader::with_capacity(
        1 << 16,
        Counting {
            inner: file,
            read: Arc::clone(&progress),
        },
    );
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let format = match (forced, ext.as_deref()) {
        (Some(f), _) => f,
        (None, Some("anx")) => Format::Anx,
        (None, Some("json")) if stix_bundle(reader.fill_buf()?) => Format::Stix,
        (None, Some("ndjson" | "jsonl" | "json")) => Format::Ndjson,
        (None, Some("csv" | "cdr" | "tsv" | "txt")) => Format::Csv,
        (None, Some("xlsx" | "xlsm")) => Format::Xlsx,
        (None, _) => {
            let head = reader.fill_buf()?;
            let text = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
            let text = text.trim_ascii_start();
            if head.starts_with(b"PK\x03\x04") {
                Format::Xlsx
            } else if head.starts_with(b"\xff\xfe<\x00")
                || head.starts_with(b"\xfe\xff\x00<")
                || text.starts_with(b"<")
            {
                // An ANX chart: XML, in UTF-16 as i2 writes it or UTF-8
                // (a UTF-16 CSV starts with its header, not `<`).
                Format::Anx
            } else if text.starts_with(b"{") && stix_bundle(text) {
                Format::Stix
            } else {
                match head
                    .strip_prefix(b"\xef\xbb\xbf")
                    .unwrap_or(head)
                    .iter()
                    .find(|b| !b.is_ascii_whitespace())
                {
                    Some(b'{') => Format::Ndjson,
                    _ => Format::Csv,
                }
            }
        }
    };
    Ok(match format {
        Format::Anx | Format::Stix => {
            drop(reader);
            document_items(path, format, &progress)?
        }
        Format::Ndjson => {
            // JSON is UTF-8: a byte order mark some editors write is dropped.
            if reader.fill_buf()?.starts_with(b"\xef\xbb\xbf") {
                reader.consume(3);
            }
            Box::new(Ndjson::new(reader, max_line, reading.markings.clone()))
        }
        Format::Csv | Format::Cdr => {
            csv_rows::open(Box::new(reader), forced, reading, max_line, country)?
        }
        Format::Xlsx => {
            drop(reader);
            let sheet = xlsx::open(path, reading.sheet.as_deref())?;
            // Read whole: the bar moves once.
            progress.fetch_add(
                std::fs::metadata(path).map_or(0, |m| m.len()),
                Ordering::Relaxed,
            );
            let forced = forced.filter(|f| *f != Format::Xlsx);
            Box::new(
                csv_rows::Table::open(
                    Box::new(sheet),
                    forced,
                    reading
                        .map
                        .as_deref()
                        .map(|m| m as &dyn csv_rows::ColumnMap),
                    max_line,
                    country,
                )?
                .with_markings(reading.markings.clone()),
            )
        }
    })
}
