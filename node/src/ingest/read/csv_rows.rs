//! CSV input: one record a row, read by the header's column names; and
//! the table reading CSV files and worksheets share.
//!
//! [`super::open`] hands the opened file here ([`open`]), or a worksheet
//! ([`super::xlsx`]) as a [`Source`] of rows. [`Table`] finds the header,
//! maps its columns to fields (by name, or by a [`Mapping`]), and makes
//! each row a record: by [`csv_record`] when the columns are named after
//! the record's fields, by [`super::cdr_record`] when they are call detail
//! records. The records (or why a row was refused) go to ingest as
//! [`Item`]s.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::sync::Arc;

use liaison_protocol::record::{
    Account, Device, Document, Email, Entity, Extra, Link, Organization, Person, Phone, Record,
    Vehicle,
};
use liaison_protocol::Country;
use serde_json::Value;

use super::cdr::cdr_record;
use super::encoding::{self, Chosen, Decoding};
use super::when::{self, When};
use super::{Body, Format, Item, Reading, Refusal};

/// Rows looked at for the header when a map names the columns: a title
/// or a blank line above the header is skipped.
const HEADER_SEARCH: usize = 20;

/// One row from a [`Source`].
pub(super) enum SourceRow {
    /// The row's cells, and its 1-based line (or sheet row).
    Cells(u64, csv::StringRecord),
    /// A row that could not be read; the rest can.
    Refused(u64, Refusal),
    /// A read error: nothing after it can be read.
    Fatal(u64, Refusal),
}

/// Where a table's rows come from: a CSV file or a worksheet.
pub(super) trait Source: Send {
    /// The next row, or `None` at the end.
    fn next_row(&mut self) -> Option<SourceRow>;
}

/// Reads a CSV file from `reader` (the raw bytes): its encoding and
/// delimiter as `reading` says or as detected (see [`encoding`]), then its
/// header and one record a row. The rows are call detail records if
/// `forced` or the map says so, or, when neither does, if the header has
/// `caller` and `callee`; else their columns are named after the record's
/// fields.
pub(super) fn open(
    mut reader: Box<dyn Read + Send>,
    forced: Option<Format>,
    reading: &Reading,
    max_line: usize,
    country: Option<Country>,
) -> io::Result<Box<dyn Iterator<Item = Item> + Send>> {
    let mut head = Vec::with_capacity(encoding::SNIFF);
    (&mut reader)
        .take(encoding::SNIFF as u64)
        .read_to_end(&mut head)?;
    let chosen = encoding::choose(&head, reading.encoding);
    let rest = Cursor::new(head).chain(reader);
    let mut rest: Box<dyn Read + Send> = Box::new(rest);
    io::copy(&mut (&mut rest).take(chosen.bom as u64), &mut io::sink())?;
    let text: Box<dyn Read + Send> = if chosen.encoding == encoding_rs::UTF_8 {
        rest
    } else {
        Box::new(Decoding::new(rest, chosen))
    };
    let mut text = BufReader::with_capacity(1 << 16, text);
    let delimiter = match reading.delimiter {
        Some(d) => d,
        None => encoding::delimiter(header_line(text.fill_buf()?)),
    };
    let csv = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .delimiter(delimiter)
        // Lines end at `\n` (a `\r` before it is trimmed with the cell):
        // with the default CR/LF/CRLF terminator, a row after a CRLF is
        // reported on the line before its own.
        .terminator(csv::Terminator::Any(b'\n'))
        .trim(csv::Trim::All)
        .from_reader(text);
    let source = CsvSource {
        csv,
        chosen,
        done: false,
    };
    Table::open(
        Box::new(source),
        forced,
        reading.map.as_deref().map(|m| m as &dyn ColumnMap),
        max_line,
        country,
    )
    .map(|t| {
        Box::new(t.with_markings(reading.markings.clone())) as Box<dyn Iterator<Item = Item> + Send>
    })
}

/// The first line of `text` that holds a `,`, `;` or tab (a title line
/// above the header holds none), else the first.
fn header_line(text: &[u8]) -> &[u8] {
    text.split(|&b| b == b'\n')
        .find(|l| l.iter().any(|b| matches!(b, b',' | b';' | b'\t')))
        .unwrap_or(text)
}

struct CsvSource<R> {
    csv: csv::Reader<R>,
    chosen: Chosen,
    done: bool,
}

impl<R: Read + Send> Source for CsvSource<R> {
    fn next_row(&mut self) -> Option<SourceRow> {
        if self.done {
            return None;
        }
        let mut row = csv::ByteRecord::new();
        match self.csv.read_byte_record(&mut row) {
            Ok(false) => None,
            Ok(true) => {
                let line = row.position().map_or(0, csv::Position::line);
                Some(match csv::StringRecord::from_byte_record(row) {
                    Ok(row) => SourceRow::Cells(line, row),
                    Err(e) => {
                        let (field, valid) = (e.utf8_error().field(), e.utf8_error().valid_up_to());
                        let row = e.into_byte_record();
                        // Exact when no cell before it is quoted.
                        let offset = row.position().map_or(0, csv::Position::byte)
                            + self.chosen.bom as u64
                            + row
                                .iter()
                                .take(field)
                                .map(|c| c.len() as u64 + 1)
                                .sum::<u64>()
                            + valid as u64;
                        let bytes = &row.get(field).unwrap_or_default()[valid..];
                        SourceRow::Refused(
                            line,
                            Refusal::new(
                                Some(format!("column {}", field + 1)),
                                encoding::undecodable(offset, bytes, &self.chosen),
                            ),
                        )
                    }
                })
            }
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                self.done = true;
                Some(SourceRow::Fatal(
                    line,
                    Refusal::new(None, format!("cannot read the row: {e}")),
                ))
            }
        }
    }
}

/// What a table's rows become.
enum Kind {
    Fields,
    Cdr { country: Option<Country> },
}

/// A table's rows as records: the header found, its columns mapped to
/// fields.
pub(super) struct Table {
    source: Box<dyn Source>,
    /// The field each column fills (`None`: dropped).
    columns: Vec<Option<String>>,
    constants: Vec<(String, String)>,
    id_prefix: Option<String>,
    max_line: usize,
    kind: Kind,
    /// `[ingest.markings]`: handling markings other than TLP.
    markings: Arc<super::ndjson::Markings>,
    /// Set after a fatal error: nothing further can be read reliably.
    done: bool,
}

impl Table {
    /// Reads the header from `source`: its first row with a cell, or with
    /// a map, the first of the first [`HEADER_SEARCH`] rows that holds
    /// every header the map names. A header that cannot be read, or that
    /// lacks a mapped column, is an `InvalidData` error naming it.
    pub(super) fn open(
        mut source: Box<dyn Source>,
        forced: Option<Format>,
        map: Option<&dyn ColumnMap>,
        max_line: usize,
        country: Option<Country>,
    ) -> io::Result<Table> {
        let bad = |m: String| io::Error::new(io::ErrorKind::InvalidData, m);
        let mut first: Option<Vec<String>> = None;
        let mut searched = 0;
        let columns = loop {
            let row = match source.next_row() {
                None => match (&first, map) {
                    (Some(header), Some(map)) => {
                        return Err(bad(map.resolve(header).err().unwrap_or_default()))
                    }
                    _ => return Err(bad("the file is empty: it has no header".into())),
                },
                Some(SourceRow::Cells(_, row)) => row,
                Some(SourceRow::Refused(line, e) | SourceRow::Fatal(line, e)) => {
                    return Err(bad(format!("cannot read the header (line {line}): {e}")))
                }
            };
            if row.iter().all(str::is_empty) {
                continue;
            }
            let header: Vec<String> = row.iter().map(str::to_owned).collect();
            searched += 1;
            let Some(map) = map else {
                break header
                    .iter()
                    .enumerate()
                    .map(|(i, h)| Some(unnamed(h, i)))
                    .collect::<Vec<_>>();
            };
            match map.resolve(&header) {
                Ok(columns) => {
                    break columns
                        .into_iter()
                        .enumerate()
                        .map(|(i, c)| c.map(|c| unnamed(&c, i)))
                        .collect()
                }
                Err(e) if searched >= HEADER_SEARCH => return Err(bad(e)),
                Err(_) => {
                    first.get_or_insert(header);
                }
            }
        };
        let has = |f: &str| columns.iter().any(|c| c.as_deref() == Some(f));
        let is_cdr = match (forced, map) {
            (Some(Format::Cdr), _) => true,
            (_, Some(m)) => m.calls(),
            (Some(_), None) => false,
            (None, None) => has("caller") && has("callee"),
        };
        Ok(Table {
            source,
            columns,
            constants: map.map(|m| m.constants().to_vec()).unwrap_or_default(),
            id_prefix: map.and_then(|m| m.id_prefix().map(str::to_owned)),
            max_line,
            kind: if is_cdr {
                Kind::Cdr { country }
            } else {
                Kind::Fields
            },
            markings: Arc::default(),
            done: false,
        })
    }

    /// Reads handling markings other than TLP by `markings`: the cell
    /// becomes the TLP code and the record keeps the marking as written
    /// (`marking`).
    pub(super) fn with_markings(mut self, markings: Arc<super::ndjson::Markings>) -> Table {
        self.markings = markings;
        self
    }

    fn record(&self, row: &csv::StringRecord) -> Result<Record, Refusal> {
        let bytes: usize = row.iter().map(str::len).sum();
        if bytes > self.max_line {
            return Err(Refusal::new(
                None,
                format!(
                    "row is {bytes} bytes, over the {} byte limit (ingest.max_line_bytes)",
                    self.max_line
                ),
            ));
        }
        if let Some(extra) = row
            .iter()
            .skip(self.columns.len())
            .position(|v| !v.is_empty())
        {
            return Err(Refusal::new(
                None,
                format!(
                    "row has a cell in column {}, the header names {}: quote cells that contain the delimiter",
                    self.columns.len() + extra + 1,
                    self.columns.len()
                ),
            ));
        }
        let mut cells: Vec<(&str, Cow<'_, str>)> = Vec::new();
        for (field, value) in self.columns.iter().zip(row.iter()) {
            let Some(field) = field.as_deref() else {
                continue;
            };
            if value.is_empty() {
                continue;
            }
            match cells.iter_mut().find(|(f, _)| *f == field) {
                Some((_, joined)) => {
                    let joined = joined.to_mut();
                    joined.push_str(if is_multi(field) { ";" } else { " " });
                    joined.push_str(value);
                }
                None => cells.push((field, Cow::Borrowed(value))),
            }
        }
        for (field, value) in &self.constants {
            // A document's country or type goes with its number only.
            let alone = field
                .rsplit_once('_')
                .filter(|(doc, part)| {
                    matches!(*part, "country" | "type") && DOC_TYPES.contains(doc)
                })
                .is_some_and(|(doc, _)| {
                    !cells
                        .iter()
                        .any(|(f, _)| f.strip_prefix(doc) == Some("_number"))
                });
            if !alone && !cells.iter().any(|(f, _)| f == field) {
                cells.push((field, Cow::Borrowed(value)));
            }
        }
        if let Some(prefix) = &self.id_prefix {
            for (f, v) in &mut cells {
                if matches!(*f, "id" | "record_id") {
                    *v = Cow::Owned(format!("{prefix}{v}"));
                }
            }
        }
        // Europol's 4x4 is read as the Admiralty code it maps to; the
        // record keeps what was written.
        if let Some(g) = cells
            .iter()
            .find(|(f, _)| *f == "grading")
            .map(|(_, g)| g.to_string())
        {
            if liaison_protocol::record::Grading::europol_code(&g).is_some() {
                cells.push(("grading_as_written", Cow::Owned(g)));
            }
        }
        if !self.markings.is_empty() {
            if let Some(i) = cells
                .iter()
                .position(|(f, _)| matches!(*f, "handling" | "tlp"))
            {
                // A code that is neither TLP nor in the table is refused
                // by the record's own reading below, naming the table.
                if let Ok((h, Some(written))) =
                    liaison_protocol::record::Handling::resolve(&cells[i].1, &self.markings)
                {
                    cells[i].1 = Cow::Owned(h.as_str().to_owned());
                    cells.push(("marking", Cow::Owned(written)));
                }
            }
        }
        let cells: Vec<(&str, &str)> = cells.iter().map(|(f, v)| (*f, v.as_ref())).collect();
        match &self.kind {
            Kind::Fields => csv_record(&cells),
            Kind::Cdr { country } => cdr_record(&cells, *country),
        }
    }
}

/// What a table is read through: a column mapping file's headers,
/// constants and row kind (`mapping::Mapping`). A trait here, so that this
/// reader does not import the mapping, which builds records with it.
pub(super) trait ColumnMap {
    /// The field each header fills (`None`: dropped), or why the header
    /// row does not fit.
    fn resolve(&self, headers: &[String]) -> Result<Vec<Option<String>>, String>;
    /// Whether rows are call detail records.
    fn calls(&self) -> bool;
    /// (field, value) set where a row leaves the field empty.
    fn constants(&self) -> &[(String, String)];
    /// Prefixed to each record id.
    fn id_prefix(&self) -> Option<&str>;
}

/// Fields that hold several values, joined by `;`.
pub(super) fn is_multi(field: &str) -> bool {
    matches!(field, "phone" | "phones" | "email" | "emails" | "imei")
}

/// A column's name as read without a map: trimmed, ASCII lower case.
pub(super) fn column_name(header: &str) -> String {
    header
        .trim()
        .trim_start_matches('\u{feff}')
        .to_ascii_lowercase()
}

/// A column without a header is kept as `column_N`.
fn unnamed(name: &str, i: usize) -> String {
    let name = column_name(name);
    if name.is_empty() {
        format!("column_{}", i + 1)
    } else {
        name
    }
}

impl Iterator for Table {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        loop {
            if self.done {
                return None;
            }
            let row = self.source.next_row()?;
            let (line, record) = match row {
                SourceRow::Cells(line, row) => {
                    if row.iter().all(str::is_empty) {
                        // A blank line, or a spreadsheet row left empty.
                        continue;
                    }
                    (line, self.record(&row))
                }
                SourceRow::Refused(line, e) => (line, Err(e)),
                SourceRow::Fatal(line, e) => {
                    self.done = true;
                    (line, Err(e))
                }
            };
            let body = match record {
                Ok(r) => Body::Record(r),
                Err(e) => Body::Refused(e),
            };
            return Some(Item { line, body });
        }
    }
}

/// Document types recognised in CSV column names (`passport_number`,
/// `passport_country`, ...).
pub(super) const DOC_TYPES: &[&str] = &[
    "passport",
    "id_card",
    "residence_permit",
    "visa",
    "driving_licence",
    "document",
];

/// The record fields a CSV column (or a map) may name, besides
/// `DOC_TYPES` × `_number`, `_country`, `_type`.
const FIELDS: &[&str] = &[
    "record_id",
    "id",
    "summary",
    "grading",
    "handling",
    "tlp",
    "country",
    "created",
    "updated",
    "expires",
    "surname",
    "last_name",
    "family_name",
    "given",
    "given_name",
    "first_name",
    "patronymic",
    "middle_name",
    "full_name",
    "name",
    "dob",
    "date_of_birth",
    "birth_date",
    "nationality",
    "phone",
    "phones",
    "email",
    "emails",
    "imei",
    "plate",
    "plate_country",
    "vehicle_country",
    "vin",
    "organization",
    "organisation",
    "org_name",
    "org_reg_number",
    "reg_number",
    "org_country",
    "iban",
    "bank",
    "account_number",
];

/// Whether a record row reads `name` as one of its fields.
pub(super) fn is_field(name: &str) -> bool {
    FIELDS.contains(&name) || doc_field(name).is_some()
}

/// Every field a record row reads, for messages.
pub(super) fn field_list() -> String {
    let docs = DOC_TYPES
        .iter()
        .map(|t| format!("{t}_number, {t}_country, {t}_type"));
    FIELDS
        .iter()
        .map(|f| (*f).to_owned())
        .chain(docs)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `passport_number` → (`passport`, `number`).
fn doc_field(name: &str) -> Option<(&'static str, &str)> {
    DOC_TYPES.iter().find_map(|t| {
        let rest = name.strip_prefix(t)?.strip_prefix('_')?;
        matches!(rest, "number" | "country" | "type").then_some((*t, rest))
    })
}

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
        When::parse(v).map(|w| Some(w.instant())).ok_or_else(|| {
            field(
                name,
                format!("{v:?} is not a time: write it like 2024-05-01T09:30:00Z (a time without a zone, like 01.05.2024 09:30, is taken as UTC)"),
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
            "dob" | "date_of_birth" | "birth_date" => person.dob = text(when::date_only(value)),
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
            _ => match doc_field(name) {
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
            },
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
