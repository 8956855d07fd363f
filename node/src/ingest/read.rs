//! Reading input files into records, one at a time, streaming.
//!
//! Three formats (see README, "Input formats"):
//! - NDJSON: one record a line, the canonical form;
//! - CSV: one record a row, columns named after the record's fields
//!   (`record_id,surname,given,dob,phone,passport_country,passport_number,...`);
//! - call detail records: CSV with `caller,callee,start,duration,cell`
//!   columns, each call a record of two phones and a `called` link.
//!
//! A line is never read past the configured limit: an over-long line is
//! refused and skipped without being held in memory.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use liaison_protocol::normalize::phone;
use liaison_protocol::record::{
    Account, Device, Document, Email, Entity, Extra, Link, Organization, Person, Phone, Record,
    Vehicle,
};
use liaison_protocol::Country;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::Refusal;

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
        Format::Ndjson => Box::new(Ndjson {
            reader,
            line: 0,
            max_line,
            buf: Vec::new(),
            done: false,
        }),
        Format::Csv | Format::Cdr => {
            let mut csv = csv::ReaderBuilder::new()
                .flexible(true)
                .trim(csv::Trim::All)
                .from_reader(reader);
            let headers: Vec<String> = csv
                .headers()
                .map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("cannot read the CSV header: {e}"),
                    )
                })?
                .iter()
                .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
                .collect();
            let is_cdr =
                headers.iter().any(|h| h == "caller") && headers.iter().any(|h| h == "callee");
            if forced == Some(Format::Cdr) || (forced.is_none() && is_cdr) {
                Box::new(Rows {
                    csv,
                    headers,
                    max_line,
                    map: Mapping::Cdr { country },
                    done: false,
                })
            } else {
                Box::new(Rows {
                    csv,
                    headers,
                    max_line,
                    map: Mapping::Fields,
                    done: false,
                })
            }
        }
    })
}

struct Ndjson<R> {
    reader: R,
    line: u64,
    max_line: usize,
    buf: Vec<u8>,
    /// Set after a read error: nothing further can be read reliably.
    done: bool,
}

impl<R: BufRead> Ndjson<R> {
    /// Reads one line into `buf` (without the newline). Returns false at
    /// end of input, and `Err(len)` for a line over the limit (skipped).
    fn next_line(&mut self) -> io::Result<Option<Result<(), usize>>> {
        self.buf.clear();
        let mut too_long = 0usize;
        let mut any = false;
        loop {
            let chunk = self.reader.fill_buf()?;
            if chunk.is_empty() {
                break;
            }
            any = true;
            let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            if too_long == 0 && self.buf.len() + take <= self.max_line + 1 {
                self.buf.extend_from_slice(&chunk[..take]);
            } else {
                too_long = too_long.max(self.buf.len()) + take;
                self.buf.clear();
            }
            self.reader.consume(take);
            if done {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
            self.buf.pop();
        }
        Ok(Some(if too_long > 0 { Err(too_long) } else { Ok(()) }))
    }
}

impl<R: BufRead> Iterator for Ndjson<R> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        while !self.done {
            let status = match self.next_line() {
                Ok(None) => return None,
                Ok(Some(s)) => s,
                Err(e) => {
                    self.done = true;
                    return Some(Item {
                        line: self.line + 1,
                        body: Body::Refused(Refusal::new(
                            None,
                            format!("read error, the rest of the file is not read: {e}"),
                        )),
                    });
                }
            };
            self.line += 1;
            if let Err(len) = status {
                return Some(Item {
                    line: self.line,
                    body: Body::Refused(Refusal::new(
                        None,
                        format!(
                            "line is {len} bytes, over the {} byte limit (ingest.max_line_bytes): split the record or raise the limit",
                            self.max_line
                        ),
                    )),
                });
            }
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Some(Item {
                line: self.line,
                body: Body::Json(self.buf.clone()),
            });
        }
        None
    }
}

/// Parses one NDJSON line, naming the field that failed.
pub fn parse_json(line: &[u8]) -> Result<Record, Refusal> {
    let de = &mut serde_json::Deserializer::from_slice(line);
    serde_path_to_error::deserialize::<_, Record>(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let mut reason = inner.to_string();
        // serde_json appends "at line 1 column N"; the line is ours to report.
        if let Some(cut) = reason.find(" at line 1 column ") {
            let column = &reason[cut + " at line 1 column ".len()..];
            reason = format!("{} (column {column})", &reason[..cut]);
        }
        if inner.is_syntax() || inner.is_eof() {
            reason = format!("not valid JSON: {reason}; each line must hold one whole JSON record");
        }
        Refusal::new((path != ".").then_some(path), reason)
    })
}

enum Mapping {
    Fields,
    Cdr { country: Option<Country> },
}

struct Rows<R> {
    csv: csv::Reader<R>,
    headers: Vec<String>,
    max_line: usize,
    map: Mapping,
    /// Set after an I/O error: nothing further can be read reliably.
    done: bool,
}

impl<R: Read> Iterator for Rows<R> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        if self.done {
            return None;
        }
        let mut row = csv::StringRecord::new();
        match self.csv.read_record(&mut row) {
            Ok(false) => None,
            Ok(true) => {
                let line = row.position().map_or(0, csv::Position::line);
                let bytes: usize = row.iter().map(str::len).sum();
                let record = if bytes > self.max_line {
                    Err(Refusal::new(
                        None,
                        format!(
                            "row is {bytes} bytes, over the {} byte limit (ingest.max_line_bytes)",
                            self.max_line
                        ),
                    ))
                } else {
                    let cells: Vec<(&str, &str)> = self
                        .headers
                        .iter()
                        .map(String::as_str)
                        .zip(row.iter())
                        .filter(|(_, v)| !v.is_empty())
                        .collect();
                    if row.len() > self.headers.len() {
                        Err(Refusal::new(
                            None,
                            format!("row has {} cells, the header names {}: quote cells that contain commas", row.len(), self.headers.len()),
                        ))
                    } else {
                        match &self.map {
                            Mapping::Fields => csv_record(&cells),
                            Mapping::Cdr { country } => cdr_record(&cells, *country),
                        }
                    }
                };
                let body = match record {
                    Ok(r) => Body::Record(r),
                    Err(e) => Body::Refused(e),
                };
                Some(Item { line, body })
            }
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                let fatal = !matches!(
                    e.kind(),
                    csv::ErrorKind::Utf8 { .. } | csv::ErrorKind::UnequalLengths { .. }
                );
                let item = Item {
                    line,
                    body: Body::Refused(Refusal::new(None, format!("cannot read the row: {e}"))),
                };
                self.done = fatal;
                Some(item)
            }
        }
    }
}

/// Document types recognised in CSV column names (`passport_number`,
/// `passport_country`, ...).
const DOC_TYPES: &[&str] = &[
    "passport",
    "id_card",
    "residence_permit",
    "visa",
    "driving_licence",
    "document",
];

fn text(v: &str) -> Option<String> {
    Some(v.to_owned())
}

/// Builds a record from one CSV row of field-named columns. Person, vehicle,
/// organisation and account columns each make at most one entity; `phone`,
/// `email` and `imei` cells may hold several values separated by `;`.
/// Other entities are linked from the person when there is one.
pub fn csv_record(cells: &[(&str, &str)]) -> Result<Record, Refusal> {
    let mut r = Record::new(String::new());
    let mut person = Person::default();
    let mut vehicle = Vehicle::default();
    let mut org = Organization::default();
    let mut account = Account::default();
    let mut docs: HashMap<&str, Document> = HashMap::new();
    let mut multi: Vec<(&str, &str)> = Vec::new();
    let field = |name: &str, e: String| Refusal::new(Some(name.to_owned()), e);
    let time = |name: &str, v: &str| {
        time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
            .map(Some)
            .map_err(|_| {
                field(
                    name,
                    format!("{v:?} is not an RFC 3339 time: write it like 2024-05-01T09:30:00Z"),
                )
            })
    };
    for &(name, value) in cells {
        match name {
            "id" | "record_id" => r.id = value.to_owned(),
            "summary" => r.summary = text(value),
            "grading" => r.grading = Some(value.parse().map_err(|e| field(name, format!("{e}")))?),
            "handling" | "tlp" => {
                r.handling = value.parse().map_err(|e| field(name, format!("{e}")))?
            }
            "country" => r.country = Some(value.parse().map_err(|e| field(name, format!("{e}")))?),
            "created" => r.created = time(name, value)?,
            "updated" => r.updated = time(name, value)?,
            "expires" => r.expires = time(name, value)?,
            "surname" | "last_name" | "family_name" => person.surname = text(value),
            "given" | "given_name" | "first_name" => person.given = text(value),
            "patronymic" | "middle_name" => person.patronymic = text(value),
            "full_name" | "name" => person.full_name = text(value),
            "dob" | "date_of_birth" | "birth_date" => person.dob = text(value),
            "nationality" => person.nationality = text(value),
            "plate" => vehicle.plate = text(value),
            "plate_country" | "vehicle_country" => vehicle.country = text(value),
            "vin" => vehicle.vin = text(value),
            "organization" | "organisation" | "org_name" => org.name = text(value),
            "org_reg_number" | "reg_number" => org.reg_number = text(value),
            "org_country" => org.country = text(value),
            "iban" => account.iban = text(value),
            "bank" => account.bank = text(value),
            "account_number" => account.number = text(value),
            "phone" | "phones" | "email" | "emails" | "imei" => multi.push((name, value)),
            _ => {
                let doc = DOC_TYPES.iter().find_map(|t| {
                    let rest = name.strip_prefix(t)?.strip_prefix('_')?;
                    matches!(rest, "number" | "country" | "type").then_some((*t, rest))
                });
                match doc {
                    Some((t, part)) => {
                        let d = docs.entry(t).or_default();
                        match part {
                            "number" => d.number = value.to_owned(),
                            "country" => d.country = text(value),
                            _ => d.doc_type = text(value),
                        }
                    }
                    None => {
                        r.extra
                            .insert(name.to_owned(), Value::String(value.to_owned()));
                    }
                }
            }
        }
    }
    if r.id.is_empty() {
        return Err(Refusal::new(
            Some("record_id".into()),
            "missing: every row needs a `record_id` (or `id`) column value".into(),
        ));
    }
    let has_person = [
        &person.surname,
        &person.given,
        &person.full_name,
        &person.patronymic,
    ]
    .iter()
    .any(|v| v.is_some());
    if has_person {
        person.reference = Some("p1".into());
        r.entities.push(Entity::Person(person));
    }
    let push = |r: &mut Record, entity: Entity, rel: &str| {
        let reference = format!("e{}", r.entities.len() + 1);
        let entity = set_reference(entity, reference.clone());
        r.entities.push(entity);
        if has_person {
            r.links.push(Link {
                from: "p1".into(),
                to: reference,
                rel: rel.into(),
                extra: Extra::new(),
            });
        }
    };
    for (name, value) in multi {
        for v in value.split(';').map(str::trim).filter(|v| !v.is_empty()) {
            let (entity, rel) = match name {
                "phone" | "phones" => (
                    Entity::Phone(Phone {
                        number: v.into(),
                        ..Phone::default()
                    }),
                    "uses",
                ),
                "email" | "emails" => (
                    Entity::Email(Email {
                        address: v.into(),
                        ..Email::default()
                    }),
                    "uses",
                ),
                _ => (
                    Entity::Device(Device {
                        imei: v.into(),
                        ..Device::default()
                    }),
                    "uses",
                ),
            };
            push(&mut r, entity, rel);
        }
    }
    let mut doc_types: Vec<_> = docs.into_iter().collect();
    doc_types.sort_by_key(|(t, _)| *t);
    for (t, mut d) in doc_types {
        if d.number.is_empty() {
            return Err(Refusal::new(
                Some(format!("{t}_number")),
                format!("missing: the row has other {t}_ columns but no number"),
            ));
        }
        if d.doc_type.is_none() && t != "document" {
            d.doc_type = Some(t.to_owned());
        }
        push(&mut r, Entity::Document(d), "holds");
    }
    if vehicle.plate.is_some() || vehicle.vin.is_some() {
        push(&mut r, Entity::Vehicle(vehicle), "uses");
    }
    if org.name.is_some() || org.reg_number.is_some() {
        push(&mut r, Entity::Organization(org), "associated_with");
    }
    if account.iban.is_some() || account.bank.is_some() || account.number.is_some() {
        push(&mut r, Entity::Account(account), "holds");
    }
    Ok(r)
}

fn set_reference(entity: Entity, reference: String) -> Entity {
    let r = Some(reference);
    match entity {
        Entity::Person(e) => Entity::Person(Person { reference: r, ..e }),
        Entity::Phone(e) => Entity::Phone(Phone { reference: r, ..e }),
        Entity::Document(e) => Entity::Document(Document { reference: r, ..e }),
        Entity::Vehicle(e) => Entity::Vehicle(Vehicle { reference: r, ..e }),
        Entity::Organization(e) => Entity::Organization(Organization { reference: r, ..e }),
        Entity::Account(e) => Entity::Account(Account { reference: r, ..e }),
        Entity::Device(e) => Entity::Device(Device { reference: r, ..e }),
        Entity::Email(e) => Entity::Email(Email { reference: r, ..e }),
    }
}

/// Builds a record from one call detail row: the two phones and a `called`
/// link carrying the start, duration and cell. The record id is derived
/// from the normalised numbers and the start time, so the same call
/// ingested twice (from two exports, say) is one record.
pub fn cdr_record(cells: &[(&str, &str)], country: Option<Country>) -> Result<Record, Refusal> {
    let get = |name: &str| cells.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
    let need = |name: &str| {
        get(name).ok_or_else(|| {
            Refusal::new(
                Some(name.to_owned()),
                format!("missing: every call needs a `{name}`"),
            )
        })
    };
    let (caller, callee, start) = (need("caller")?, need("callee")?, need("start")?);
    let norm = |name: &str, v: &str| {
        phone::e164(v, country).map_err(|e| Refusal::new(Some(name.to_owned()), e.to_string()))
    };
    let (a, b) = (norm("caller", caller)?, norm("callee", callee)?);
    let start_ok =
        time::OffsetDateTime::parse(start, &time::format_description::well_known::Rfc3339).is_ok()
            || time::PrimitiveDateTime::parse(
                start,
                time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
            )
            .is_ok();
    if !start_ok {
        return Err(Refusal::new(
            Some("start".into()),
            format!("{start:?} is not a time: write 2024-05-01T09:30:00Z or 2024-05-01 09:30:00"),
        ));
    }
    let mut link_extra = Extra::new();
    link_extra.insert("start".into(), Value::String(start.to_owned()));
    if let Some(d) = get("duration") {
        let secs: u64 = d.parse().map_err(|_| {
            Refusal::new(
                Some("duration".into()),
                format!("{d:?} is not whole seconds: write 185, not 3:05"),
            )
        })?;
        link_extra.insert("duration".into(), Value::from(secs));
    }
    if let Some(c) = get("cell") {
        link_extra.insert("cell".into(), Value::String(c.to_owned()));
    }
    let mut extra = Extra::new();
    for (name, value) in cells {
        if !matches!(*name, "caller" | "callee" | "start" | "duration" | "cell") {
            extra.insert((*name).to_owned(), Value::String((*value).to_owned()));
        }
    }
    let digest = Sha256::digest(format!("{a}|{b}|{start}").as_bytes());
    let id = format!(
        "CDR-{}",
        digest[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    Ok(Record {
        summary: Some(format!("Call from {a} to {b} at {start}")),
        country,
        entities: vec![
            Entity::Phone(Phone {
                reference: Some("caller".into()),
                number: caller.to_owned(),
                extra: Extra::new(),
            }),
            Entity::Phone(Phone {
                reference: Some("callee".into()),
                number: callee.to_owned(),
                extra: Extra::new(),
            }),
        ],
        links: vec![Link {
            from: "caller".into(),
            to: "callee".into(),
            rel: "called".into(),
            extra: link_extra,
        }],
        extra,
        ..Record::new(id)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Got {
        line: u64,
        record: Result<Record, Refusal>,
    }

    fn items(text: &str, format: Option<Format>, name: &str) -> Vec<Got> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        open(
            &path,
            format,
            200,
            Some("KGZ".parse().unwrap()),
            Arc::default(),
        )
        .unwrap()
        .map(|i| Got {
            line: i.line,
            record: i.into_record().0,
        })
        .collect()
    }

    #[test]
    fn ndjson_lines_are_numbered_and_over_long_lines_skipped() {
        let long = format!("{{\"id\":\"{}\",\"entities\":[]}}", "x".repeat(300));
        let text = format!(
            "{{\"id\":\"a\",\"entities\":[{{\"type\":\"phone\",\"number\":\"+996775987817\"}}]}}\n\n{long}\n{{\"id\":\"b\"\n{{\"id\":\"c\",\"entities\":[{{\"type\":\"ufo\"}}]}}\r\n{{\"id\":\"d\"}}"
        );
        let got = items(&text, None, "x.ndjson");
        let lines: Vec<u64> = got.iter().map(|i| i.line).collect();
        assert_eq!(lines, vec![1, 3, 4, 5, 6]);
        assert_eq!(got[0].record.as_ref().unwrap().id, "a");
        let e = got[1].record.as_ref().unwrap_err();
        assert!(e.reason.contains("over the 200 byte limit"), "{e}");
        let e = got[2].record.as_ref().unwrap_err();
        assert!(e.reason.contains("not valid JSON"), "{e}");
        let e = got[3].record.as_ref().unwrap_err();
        assert_eq!(e.field.as_deref(), Some("entities[0].type"), "{e}");
        assert!(e.reason.contains("unknown variant `ufo`"), "{e}");
        assert_eq!(
            got[4].record.as_ref().unwrap().id,
            "d",
            "a last line without newline is read"
        );
    }

    #[test]
    fn json_errors_name_the_field() {
        let e = parse_json(br#"{"id":"a","grading":"Z9","entities":[]}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("grading"));
        assert!(e.reason.contains("Admiralty"), "{e}");
        let e = parse_json(br#"{"summary":"no id","entities":[]}"#).unwrap_err();
        assert!(e.reason.contains("missing field `id`"), "{e}");
        let e = parse_json(br#"{"id":"a","created":"yesterday","entities":[]}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("created"));
    }

    #[test]
    fn csv_rows_become_linked_entities() {
        let text = "record_id,surname,given,dob,phone,passport_country,passport_number,plate,source_unit\n\
                    KZ-1,KURBANOV,YUSUF,1985-03-14,+996 775 987 817;8 701 123 45 67,KGZ,AN1234567,123 ABA 02,Dostyk post\n\
                    ,NOBODY,,,,,,,\n";
        let got = items(text, None, "x.csv");
        let r = got[0].record.as_ref().unwrap();
        assert_eq!(got[0].line, 2);
        assert_eq!(r.id, "KZ-1");
        let types: Vec<&str> = r.entities.iter().map(Entity::type_name).collect();
        assert_eq!(
            types,
            vec!["person", "phone", "phone", "document", "vehicle"]
        );
        assert_eq!(r.links.len(), 4);
        assert!(r.links.iter().all(|l| l.from == "p1"));
        assert_eq!(r.extra["source_unit"], "Dostyk post");
        let Entity::Document(d) = &r.entities[3] else {
            panic!()
        };
        assert_eq!(
            (d.doc_type.as_deref(), d.country.as_deref()),
            (Some("passport"), Some("KGZ"))
        );
        let e = got[1].record.as_ref().unwrap_err();
        assert_eq!((got[1].line, e.field.as_deref()), (3, Some("record_id")));
    }

    #[test]
    fn call_detail_records() {
        let text = "caller,callee,start,duration,cell\n\
                    0775 987 817,+992 93 555 1234,2024-05-01 09:30:00,185,OSH-0042\n\
                    +996775987817,+992935551234,2024-05-01 09:30:00,185,OSH-0042\n\
                    0775 987 817,+992 93 555 1234,yesterday,185,OSH-0042\n\
                    0775 987 817,+992 93 555 1234,2024-05-01 09:30:00,3:05,OSH-0042\n";
        let got = items(text, None, "calls.csv");
        let (a, b) = (
            got[0].record.as_ref().unwrap(),
            got[1].record.as_ref().unwrap(),
        );
        assert_eq!(a.id, b.id, "the same call written two ways is one record");
        assert_eq!(a.links[0].rel, "called");
        assert_eq!(a.links[0].extra["duration"], 185);
        assert_eq!(
            got[2].record.as_ref().unwrap_err().field.as_deref(),
            Some("start")
        );
        assert_eq!(
            got[3].record.as_ref().unwrap_err().field.as_deref(),
            Some("duration")
        );
    }
}
