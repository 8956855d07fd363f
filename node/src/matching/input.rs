//! Reading a `liaison match` or `watch add` file: records in any format
//! `ingest` reads, each entity turned into its selectors and a label the
//! analyst recognises. Bad lines are reported by line; the good ones are
//! matched.

use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use liaison_protocol::normalize::{self, Context};
use liaison_protocol::record::Entity;
use liaison_protocol::{Country, Selector};
use serde::{Deserialize, Serialize};

use crate::ingest::read;

/// Entities in one file, at most.
pub const MAX_ENTITIES: usize = 100_000;

/// One entity to look for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Wanted {
    /// `FILE:LINE`.
    pub source: String,
    /// The record id and entity ref (or position): `KG-1/p1`.
    pub entity: String,
    /// The entity as written: `person Курбонов Юсуф 1985-03-14`.
    pub label: String,
    /// Its selectors.
    pub selectors: Vec<Selector>,
    /// The entity itself, to tell a weak person hit's differing part.
    pub written: Entity,
}

/// What a file held: the entities, and the lines or entities that could
/// not be read, each with its place and reason.
#[derive(Debug, Default)]
pub struct Read {
    /// Entities with at least one selector.
    pub wanted: Vec<Wanted>,
    /// `FILE:LINE: reason`.
    pub bad: Vec<String>,
    /// Entities read but most likely miswritten (a phone number no
    /// numbering plan holds: no peer will hold it as written),
    /// `FILE:LINE: ENTITY: FIELD: reason`. They are still looked for.
    pub warnings: Vec<String>,
}

/// Reads `path` (NDJSON, CSV or call records).
pub fn read_file(path: &Path, country: Option<Country>, max_line: usize) -> std::io::Result<Read> {
    let items = read::open(path, None, max_line, country, Arc::new(AtomicU64::new(0)))?;
    let mut out = Read::default();
    let file = path.display().to_string();
    for item in items {
        let line = item.line;
        let (record, _) = item.into_record();
        let record = match record {
            Ok(r) => r,
            Err(refusal) => {
                out.bad.push(format!("{file}:{line}: {refusal}"));
                continue;
            }
        };
        let ctx = Context {
            country: record.country.or(country),
        };
        if record.entities.is_empty() {
            out.bad.push(format!(
                "{file}:{line}: {}: no entity to match (check the column names)",
                record.id
            ));
        }
        for (i, entity) in record.entities.iter().enumerate() {
            let mut selectors = Vec::new();
            let place = format!(
                "{}/{}",
                record.id,
                entity
                    .reference()
                    .map_or_else(|| format!("entities[{i}]"), str::to_owned)
            );
            let mut noted = Vec::new();
            if let Err(e) =
                normalize::entity_selectors_noting(entity, &ctx, &mut selectors, &mut noted)
            {
                out.bad.push(format!("{file}:{line}: {place}: {e}"));
                continue;
            }
            out.warnings
                .extend(noted.iter().map(|w| format!("{file}:{line}: {place}: {w}")));
            if selectors.is_empty() {
                out.bad.push(format!(
                    "{file}:{line}: {place}: nothing to match on (a person needs a date of birth)"
                ));
                continue;
            }
            if out.wanted.len() == MAX_ENTITIES {
                out.bad.push(format!(
                    "{file}:{line}: more than {MAX_ENTITIES} entities; split the file"
                ));
                return Ok(out);
            }
            out.wanted.push(Wanted {
                source: format!("{file}:{line}"),
                entity: place,
                label: label(entity),
                selectors,
                written: entity.clone(),
            });
        }
    }
    Ok(out)
}

/// The entity as written, in one line.
pub fn label(entity: &Entity) -> String {
    let join = |parts: &[&Option<String>]| -> String {
        parts
            .iter()
            .filter_map(|p| p.as_deref())
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let text = match entity {
        Entity::Person(p) => join(&[&p.surname, &p.given, &p.patronymic, &p.full_name, &p.dob]),
        Entity::Phone(p) => p.number.clone(),
        Entity::Document(d) => join(&[&d.doc_type, &d.country, &Some(d.number.clone())]),
        Entity::Vehicle(v) => join(&[&v.plate, &v.vin]),
        Entity::Organization(o) => join(&[&o.name, &o.reg_number]),
        Entity::Account(a) => join(&[&a.iban, &a.bank, &a.number]),
        Entity::Device(d) => d.imei.clone(),
        Entity::Email(e) => e.address.clone(),
    };
    format!("{} {text}", entity.type_name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_no_plan_holds_is_looked_for_and_warned_about() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wanted.ndjson");
        std::fs::write(
            &path,
            concat!(
                r#"{"id":"Q-1","country":"TJK","entities":[{"type":"phone","number":"8 918 104804"}]}"#,
                "\n",
                r#"{"id":"Q-2","country":"TJK","entities":[{"ref":"t1","type":"phone","number":"8 111 111 1111"}]}"#,
                "\n",
            ),
        )
        .unwrap();
        let read = read_file(&path, None, 1 << 20).unwrap();
        assert!(read.bad.is_empty(), "{:?}", read.bad);
        assert_eq!(read.wanted.len(), 2);
        assert_eq!(read.wanted[0].selectors[0].value, "+992918104804");
        assert_eq!(read.warnings.len(), 1, "{:?}", read.warnings);
        assert!(
            read.warnings[0].contains("wanted.ndjson:2: Q-2/t1: number: phone number"),
            "{}",
            read.warnings[0]
        );
    }
}
