//! Local look-ups: an identifier written any way an agency writes it, read
//! as every kind it could be, and looked up in the selector index.
//!
//! The query goes through the same normaliser as ingest
//! ([`liaison_protocol::normalize::entity_selectors`]) by building the
//! entity it would be, so look-ups and ingest cannot drift apart.

use std::collections::BTreeMap;

use liaison_protocol::date::Date;
use liaison_protocol::normalize::{self, Context};
use liaison_protocol::record::{
    Account, Device, Document, Email, Entity, Organization, Person, Phone, Vehicle,
};
use liaison_protocol::{Country, Selector, SelectorKind};

use crate::store::records::{is_indexed, Records, StoredRecord};
use crate::store::{self};

/// The kinds tried when none is named: every kind a single written
/// identifier can be (person keys need a date of birth, registration
/// numbers an explicit kind).
const GUESSED: [SelectorKind; 8] = [
    SelectorKind::Phone,
    SelectorKind::Document,
    SelectorKind::Plate,
    SelectorKind::Vin,
    SelectorKind::Imei,
    SelectorKind::Iban,
    SelectorKind::Email,
    SelectorKind::Organization,
];

/// The entity a query value would be if it were of `kind`.
fn as_entity(
    kind: SelectorKind,
    value: &str,
    dob: Option<Date>,
    country: Option<Country>,
) -> Option<Entity> {
    let v = value.to_owned();
    Some(match kind {
        SelectorKind::Phone => Entity::Phone(Phone {
            number: v,
            ..Phone::default()
        }),
        SelectorKind::Document => Entity::Document(Document {
            number: v,
            ..Document::default()
        }),
        SelectorKind::Plate => Entity::Vehicle(Vehicle {
            plate: Some(v),
            ..Vehicle::default()
        }),
        SelectorKind::Vin => Entity::Vehicle(Vehicle {
            vin: Some(v),
            ..Vehicle::default()
        }),
        SelectorKind::Imei => Entity::Device(Device {
            imei: v,
            ..Device::default()
        }),
        SelectorKind::Iban => Entity::Account(Account {
            iban: Some(v),
            ..Account::default()
        }),
        SelectorKind::Account => {
            let (bank, number) = value.split_once('|')?;
            Entity::Account(Account {
                bank: Some(bank.into()),
                number: Some(number.into()),
                ..Account::default()
            })
        }
        SelectorKind::Email => Entity::Email(Email {
            address: v,
            ..Email::default()
        }),
        SelectorKind::Organization => Entity::Organization(Organization {
            name: Some(v),
            ..Organization::default()
        }),
        SelectorKind::Registration => Entity::Organization(Organization {
            reg_number: Some(v),
            country: country.map(|c| c.to_string()),
            ..Organization::default()
        }),
        _ if kind.is_person() => Entity::Person(Person {
            full_name: Some(v),
            dob: Some(dob?.to_string()),
            ..Person::default()
        }),
        _ => return None,
    })
}

/// The indexed selectors a query value stands for. With `kind`, only that kind
/// (an error says why it does not read as one); without, every kind it
/// reads as. With `dob`, the value is a person's name.
pub fn query_selectors(
    value: &str,
    kind: Option<SelectorKind>,
    dob: Option<Date>,
    country: Option<Country>,
) -> Result<Vec<Selector>, normalize::FieldError> {
    let ctx = Context { country };
    let mut out = Vec::new();
    let kinds: Vec<SelectorKind> = match (kind, dob) {
        (Some(k), _) => vec![k],
        (None, Some(_)) => vec![SelectorKind::PersonName],
        (None, None) => GUESSED.to_vec(),
    };
    for k in &kinds {
        let Some(entity) = as_entity(*k, value, dob, country) else {
            continue;
        };
        let mut found = Vec::new();
        match normalize::entity_selectors(&entity, &ctx, &mut found) {
            Ok(()) => out.extend(found.into_iter().filter(|s| s.kind == *k || k.is_person())),
            Err(e) if kinds.len() == 1 => return Err(e),
            Err(_) => {}
        }
    }
    // Only what the local index holds can be looked up.
    out.retain(is_indexed);
    out.sort();
    out.dedup();
    Ok(out)
}

/// A record found, with the selectors of the query it matched.
#[derive(Debug)]
pub struct Found {
    /// The record.
    pub record: StoredRecord,
    /// Which of the query's selectors it is indexed under.
    pub matched: Vec<Selector>,
}

impl Found {
    /// The matched kinds for a reader, strongest evidence first as the
    /// query listed them: `person_name, person_phonetic, phone`. A kind
    /// matched by several keys shows the count: `person_fuzzy ×8`.
    pub fn matched_kinds(&self) -> String {
        let mut kinds: Vec<(SelectorKind, usize)> = Vec::new();
        for s in &self.matched {
            match kinds.iter_mut().find(|(k, _)| *k == s.kind) {
                Some((_, n)) => *n += 1,
                None => kinds.push((s.kind, 1)),
            }
        }
        let parts: Vec<String> = kinds
            .iter()
            .map(|(k, n)| {
                if *n > 1 {
                    format!("{k} ×{n}")
                } else {
                    k.to_string()
                }
            })
            .collect();
        parts.join(", ")
    }
}

/// What `liaison find --json` prints (and the API returns): the selectors
/// the value was read as, and each record found with what it matched.
pub fn to_json(selectors: &[Selector], found: &[Found]) -> serde_json::Value {
    let list: Vec<_> = found
        .iter()
        .map(|f| {
            serde_json::json!({
                "record": f.record.record,
                "matched": f.matched,
                "matched_kinds": f.matched_kinds(),
                "source": f.record.source,
            })
        })
        .collect();
    serde_json::json!({ "selectors": selectors, "records": list })
}

/// What `liaison show` prints (and the API returns) for one record.
pub fn record_json(r: &StoredRecord) -> serde_json::Value {
    serde_json::json!({
        "record": r.record,
        "selectors": r.selectors,
        "source": r.source,
        "ingested_at": r.ingested_at,
    })
}

/// Looks up the records indexed under any of `selectors`, at most `limit`.
pub fn lookup(
    records: &Records<'_>,
    selectors: &[Selector],
    limit: usize,
) -> Result<Vec<Found>, store::Error> {
    let mut hits: BTreeMap<String, Vec<Selector>> = BTreeMap::new();
    for s in selectors {
        for id in records.find(s, limit)? {
            hits.entry(id).or_default().push(s.clone());
        }
    }
    let mut out = Vec::new();
    for (id, matched) in hits.into_iter().take(limit) {
        // A record withdrawn between the index scan and here is skipped.
        if let Some(record) = records.get(&id)? {
            out.push(Found { record, matched });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_read_as_every_kind_it_can_be() {
        let kgz = Some("KGZ".parse().unwrap());
        let s = query_selectors("0775 987 817", None, None, kgz).unwrap();
        assert!(
            s.contains(&Selector::new(SelectorKind::Phone, "+996775987817")),
            "{s:?}"
        );
        let s = query_selectors("AN 1234567", None, None, kgz).unwrap();
        assert!(s.contains(&Selector::new(SelectorKind::Document, "AN1234567")));
        assert!(s.contains(&Selector::new(SelectorKind::Plate, "AN1234567")));
        assert!(!s.iter().any(|x| x.kind == SelectorKind::Phone));
        // An explicit kind that does not fit says why.
        let e =
            query_selectors("490154203237517", Some(SelectorKind::Imei), None, kgz).unwrap_err();
        assert!(e.to_string().contains("check digit"), "{e}");
    }
}
