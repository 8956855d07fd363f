//! CSV input: one record a row, read by the header's column names.
//!
//! [`super::open`] hands the opened file here. Each row becomes a record:
//! by [`csv_record`] when the columns are named after the record's fields,
//! by [`super::cdr_record`] when they are call detail records. The records
//! (or why a row was refused) go to ingest as [`Item`]s.

use std::collections::HashMap;
use std::io::{self, Read};

use liaison_protocol::record::{
    Account, Device, Document, Email, Entity, Extra, Link, Organization, Person, Phone, Record,
    Vehicle,
};
use liaison_protocol::Country;
use serde_json::Value;

use super::cdr::cdr_record;
use super::{Body, Format, Item, Refusal};

/// Reads a CSV file from `reader`: its header, then one record a row. The
/// rows are call detail records if `forced` says so, or, when the format
/// is not forced, if the header has `caller` and `callee`; else their
/// columns are named after the record's fields.
pub(super) fn open<R: Read + Send + 'static>(
    reader: R,
    forced: Option<Format>,
    max_line: usize,
    country: Option<Country>,
) -> io::Result<Box<dyn Iterator<Item = Item> + Send>> {
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
    let is_cdr = headers.iter().any(|h| h == "caller") && headers.iter().any(|h| h == "callee");
    Ok(
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
        },
    )
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
