//! The record model: one item of an agency's intelligence, as NDJSON spells
//! it (see DESIGN.md, "Records and selectors").
//!
//! Records are kept exactly as the agency wrote them: names stay in their
//! script, phones in their format, and fields this model does not know are
//! kept in `extra` rather than dropped. Canonical forms are derived by
//! [`crate::normalize`] and never replace what was written.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// Fields not named by the model, kept as written.
pub type Extra = Map<String, Value>;

/// One intelligence record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Unique within the agency; re-ingesting the same id replaces the record.
    pub id: String,
    /// Free text for an analyst. Never leaves the node except in a released report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Admiralty grading of source and information, e.g. `B2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grading: Option<Grading>,
    /// TLP 2.0 handling code. A record that names none is `TLP:AMBER`, the
    /// most restrictive code that still allows sharing with a need to know.
    #[serde(default)]
    pub handling: Handling,
    /// ISO 3166 alpha-3 country whose national formats the record uses
    /// (read for phone numbers written without a country code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
    /// When the record was created at the agency (RFC 3339).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub created: Option<OffsetDateTime>,
    /// When the record was last changed at the agency (RFC 3339).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub updated: Option<OffsetDateTime>,
    /// When the record must be purged (RFC 3339).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires: Option<OffsetDateTime>,
    /// The people, phones, documents... the record is about.
    #[serde(default)]
    pub entities: Vec<Entity>,
    /// Relations between the record's entities, by their `ref`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    /// Fields the model does not name.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Record {
    /// A record with this id and nothing else: no entities, handling
    /// `TLP:AMBER`. Fill in the rest with struct update syntax.
    pub fn new(id: impl Into<String>) -> Record {
        Record {
            id: id.into(),
            summary: None,
            grading: None,
            handling: Handling::default(),
            country: None,
            created: None,
            updated: None,
            expires: None,
            entities: Vec::new(),
            links: Vec::new(),
            extra: Extra::new(),
        }
    }
}

/// A relation between two entities of one record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Link {
    /// The `ref` of the entity the relation starts at.
    pub from: String,
    /// The `ref` of the entity it points to.
    pub to: String,
    /// What the relation is: `uses`, `holds`, `called`, ...
    pub rel: String,
    /// Fields the model does not name (a call's start and duration, say).
    #[serde(flatten)]
    pub extra: Extra,
}

/// One thing a record is about. The `type` field selects the variant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Entity {
    /// A natural person.
    Person(Person),
    /// A phone number.
    Phone(Phone),
    /// A passport, identity card or other document.
    Document(Document),
    /// A vehicle, by plate, VIN or both.
    Vehicle(Vehicle),
    /// A company or other organisation.
    #[serde(alias = "organisation")]
    Organization(Organization),
    /// A bank account.
    Account(Account),
    /// A mobile device.
    Device(Device),
    /// An e-mail address.
    Email(Email),
}

impl Entity {
    /// The entity's `ref` within its record, if it has one.
    pub fn reference(&self) -> Option<&str> {
        match self {
            Entity::Person(e) => e.reference.as_deref(),
            Entity::Phone(e) => e.reference.as_deref(),
            Entity::Document(e) => e.reference.as_deref(),
            Entity::Vehicle(e) => e.reference.as_deref(),
            Entity::Organization(e) => e.reference.as_deref(),
            Entity::Account(e) => e.reference.as_deref(),
            Entity::Device(e) => e.reference.as_deref(),
            Entity::Email(e) => e.reference.as_deref(),
        }
    }

    /// Sets the entity's `ref` within its record.
    pub fn set_reference(&mut self, reference: impl Into<String>) {
        let slot = match self {
            Entity::Person(e) => &mut e.reference,
            Entity::Phone(e) => &mut e.reference,
            Entity::Document(e) => &mut e.reference,
            Entity::Vehicle(e) => &mut e.reference,
            Entity::Organization(e) => &mut e.reference,
            Entity::Account(e) => &mut e.reference,
            Entity::Device(e) => &mut e.reference,
            Entity::Email(e) => &mut e.reference,
        };
        *slot = Some(reference.into());
    }

    /// The `type` name of the entity.
    pub fn type_name(&self) -> &'static str {
        match self {
            Entity::Person(_) => "person",
            Entity::Phone(_) => "phone",
            Entity::Document(_) => "document",
            Entity::Vehicle(_) => "vehicle",
            Entity::Organization(_) => "organization",
            Entity::Account(_) => "account",
            Entity::Device(_) => "device",
            Entity::Email(_) => "email",
        }
    }
}

/// A natural person. Names may be given as parts or as one `full_name` in
/// any order, in any script.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Person {
    /// The entity's name within its record, for links.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Family name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surname: Option<String>,
    /// Given name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given: Option<String>,
    /// Patronymic (`Юсуфович`, `Asan uulu`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patronymic: Option<String>,
    /// The whole name in one field, parts in any order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    /// Date of birth: `YYYY-MM-DD` or `DD.MM.YYYY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dob: Option<String>,
    /// Nationality, ISO 3166 alpha-3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nationality: Option<String>,
    /// Fields the model does not name.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A phone number as written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Phone {
    /// The entity's name within its record, for links.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The number in any common form: `+996 775 987 817`, `00996...`, `0775 987 817`.
    pub number: String,
    /// Fields the model does not name.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A travel or identity document.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// The entity's name within its record, for links.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// `passport`, `id_card`, `residence_permit`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc_type: Option<String>,
    /// Issuing country, ISO 3166 alpha-3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// The document number as written.
    pub number: String,
    /// Fields the model does not name.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A vehicle.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Vehicle {
    /// The entity's name within its record, for links.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Registration plate as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plate: Option<String>,
    /// Registering country, ISO 3166 alpha-3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Vehicle identification number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vin: Option<String>,
    /// Fields the model does not name.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A company or other organisation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Organization {
    /// The entity's name within its record, for links.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The name, with or without its legal form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Registration number in its country's register.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reg_number: Option<String>,
    /// Country of registration, ISO 3166 alpha-3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Fields the model does not name.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A bank account: an IBAN, or a bank code and account number.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Account {
    /// The entity's name within its record, for links.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// International bank account number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iban: Option<String>,
    /// Bank code (BIC, or the national bank identifier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank: Option<String>,
    /// Account number at that bank.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// Fields the model does not name.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A mobile device.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Device {
    /// The entity's name within its record, for links.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// IMEI (15 digits with the Luhn check digit) or IMEISV (16 digits).
    pub imei: String,
    /// Fields the model does not name.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An e-mail address.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Email {
    /// The entity's name within its record, for links.
    #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The address.
    pub address: String,
    /// Fields the model does not name.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An Admiralty (NATO) grading: source reliability `A`–`F` and information
/// credibility `1`–`6`, written together as `B2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Grading {
    /// `A` (completely reliable) to `F` (cannot be judged).
    pub reliability: char,
    /// `1` (confirmed) to `6` (cannot be judged).
    pub credibility: u8,
}

/// A grading that is not a letter `A`–`F` followed by a digit `1`–`6`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("grading {given:?} is not an Admiralty code: write a source letter A-F and an information digit 1-6, like \"B2\" (or Europol's 4x4 as \"4x4:B2\", source A/B/C/X, information 1-4)")]
pub struct BadGrading {
    /// What was given.
    pub given: String,
}

impl Grading {
    /// Europol's 4×4 evaluation read as the Admiralty code it stands
    /// for: source `A` (no doubt) → `A`, `B` (mostly reliable) → `B`, `C`
    /// (mostly unreliable) → `D`, `X` (cannot be assessed) → `F`;
    /// information `1` (known true without reservation) → `1`, `2` (known
    /// to the source, not to the officer) → `2`, `3` (not known to the
    /// source, corroborated) → `3`, `4` (cannot be judged) → `6`.
    pub fn from_europol(source: char, information: char) -> Option<Grading> {
        let reliability = match source.to_ascii_uppercase() {
            'A' => 'A',
            'B' => 'B',
            'C' => 'D',
            'X' => 'F',
            _ => return None,
        };
        let credibility = match information {
            '1' => 1,
            '2' => 2,
            '3' => 3,
            '4' => 6,
            _ => return None,
        };
        Some(Grading {
            reliability,
            credibility,
        })
    }
}

impl Grading {
    /// The Europol 4×4 code of a grading written as one where it cannot
    /// be taken for Admiralty's (`4x4:C3`, `europol:C3`, `X4`: `C3`,
    /// `C3`, `X4`), not yet checked; `None` for anything else.
    pub fn europol_code(text: &str) -> Option<&str> {
        let text = text.trim();
        let after = |prefix: &str| {
            text.get(..prefix.len())
                .filter(|p| p.eq_ignore_ascii_case(prefix))
                .map(|_| &text[prefix.len()..])
        };
        after("4x4:")
            .or_else(|| after("europol:"))
            .or_else(|| text.starts_with(['x', 'X']).then_some(text))
    }
}

impl FromStr for Grading {
    type Err = BadGrading;

    /// An Admiralty code (`B2`), or Europol's 4×4 where it cannot be
    /// taken for one: prefixed (`4x4:C3`, `europol:C3`) or with source
    /// `X` (`X4`). Read as the Admiralty code it maps to
    /// ([`Grading::from_europol`]); ingest keeps what was written in the
    /// record's `grading_as_written`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadGrading {
            given: s.to_owned(),
        };
        let trimmed = s.trim();
        if let Some(code) = Grading::europol_code(trimmed) {
            let mut chars = code.trim().chars();
            return match (chars.next(), chars.next(), chars.next()) {
                (Some(src), Some(info), None) => Grading::from_europol(src, info).ok_or_else(bad),
                _ => Err(bad()),
            };
        }
        let mut chars = trimmed.chars();
        let (Some(r), Some(c), None) = (chars.next(), chars.next(), chars.next()) else {
            return Err(bad());
        };
        let r = r.to_ascii_uppercase();
        if !('A'..='F').contains(&r) {
            return Err(bad());
        }
        let c = c
            .to_digit(10)
            .filter(|d| (1..=6).contains(d))
            .ok_or_else(bad)?;
        Ok(Grading {
            reliability: r,
            credibility: c as u8,
        })
    }
}

impl fmt::Display for Grading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.reliability, self.credibility)
    }
}

crate::serde_as_str!(Grading);

/// Traffic Light Protocol 2.0 handling code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Handling {
    /// `TLP:CLEAR` (TLP 1.0's `TLP:WHITE` is read as this).
    Clear,
    /// `TLP:GREEN`: the community.
    Green,
    /// `TLP:AMBER`: the recipient's organisation and its clients, need to know.
    #[default]
    Amber,
    /// `TLP:AMBER+STRICT`: the recipient's organisation only.
    AmberStrict,
    /// `TLP:RED`: named recipients only. Never released by Liaison.
    Red,
}

impl Handling {
    /// Every code, least restrictive first.
    pub const ALL: [Handling; 5] = [
        Handling::Clear,
        Handling::Green,
        Handling::Amber,
        Handling::AmberStrict,
        Handling::Red,
    ];

    /// The code as TLP 2.0 writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Handling::Clear => "TLP:CLEAR",
            Handling::Green => "TLP:GREEN",
            Handling::Amber => "TLP:AMBER",
            Handling::AmberStrict => "TLP:AMBER+STRICT",
            Handling::Red => "TLP:RED",
        }
    }
}

impl fmt::Display for Handling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A handling code that is not a TLP 2.0 label.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("handling {given:?} is not a TLP 2.0 code nor a marking of the config's [ingest.markings]: write one of TLP:CLEAR, TLP:GREEN, TLP:AMBER, TLP:AMBER+STRICT, TLP:RED, or map the marking to one in [ingest.markings]")]
pub struct BadHandling {
    /// What was given.
    pub given: String,
}

impl FromStr for Handling {
    type Err = BadHandling;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.trim().to_ascii_uppercase();
        let label = upper.strip_prefix("TLP:").unwrap_or(&upper);
        match label {
            "CLEAR" | "WHITE" => Ok(Handling::Clear),
            "GREEN" => Ok(Handling::Green),
            "AMBER" => Ok(Handling::Amber),
            "AMBER+STRICT" => Ok(Handling::AmberStrict),
            "RED" => Ok(Handling::Red),
            _ => Err(BadHandling {
                given: s.to_owned(),
            }),
        }
    }
}

crate::serde_as_str!(Handling);

/// A national or Europol handling marking's key in a markings table: its
/// words trimmed, upper-cased (any script) and single-spaced, so `дсп`
/// and ` ДСП ` are one marking.
pub fn marking_key(text: &str) -> String {
    text.split_whitespace()
        .map(str::to_uppercase)
        .collect::<Vec<_>>()
        .join(" ")
}

impl Handling {
    /// A handling code as written: a TLP 2.0 code, or a marking the
    /// agency's table maps to one (Europol's `H0`-`H3`, `ДСП`...; keys by
    /// [`marking_key`]). Returns the code and, for a marking, the marking
    /// as written, for the record to keep.
    pub fn resolve(
        text: &str,
        markings: &std::collections::BTreeMap<String, Handling>,
    ) -> Result<(Handling, Option<String>), BadHandling> {
        if let Ok(h) = text.parse() {
            return Ok((h, None));
        }
        markings
            .get(&marking_key(text))
            .map(|h| (*h, Some(text.trim().to_owned())))
            .ok_or_else(|| BadHandling {
                given: text.to_owned(),
            })
    }
}

pub use crate::country::Country;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn europol_4x4_is_read_where_it_cannot_be_taken_for_admiralty() {
        let g = |s: &str| s.parse::<Grading>().map(|g| g.to_string());
        assert_eq!(g("4x4:A1").as_deref(), Ok("A1"));
        assert_eq!(g("europol:B2").as_deref(), Ok("B2"));
        assert_eq!(g("4X4:C3").as_deref(), Ok("D3"));
        assert_eq!(g(" x4 ").as_deref(), Ok("F6"));
        assert_eq!(g("X1").as_deref(), Ok("F1"));
        // A bare A-C code is Admiralty's.
        assert_eq!(g("C3").as_deref(), Ok("C3"));
        for bad in ["4x4:D1", "4x4:A5", "4x4:A", "X5", "europol:", "4x4:B2x"] {
            assert!(bad.parse::<Grading>().is_err(), "{bad}");
        }
        let e = "Z9".parse::<Grading>().unwrap_err().to_string();
        assert!(e.contains("4x4:B2"), "{e}");
        assert_eq!(Grading::europol_code(" 4X4:c3"), Some("c3"));
        assert_eq!(Grading::europol_code("Europol:B2"), Some("B2"));
        assert_eq!(Grading::europol_code("x4"), Some("x4"));
        assert_eq!(Grading::europol_code("B2"), None);
        assert_eq!(Grading::europol_code("4x"), None);
    }

    #[test]
    fn markings_map_to_tlp_by_the_table_and_are_kept_as_written() {
        let table: std::collections::BTreeMap<String, Handling> = [
            (marking_key("H1"), Handling::AmberStrict),
            (
                marking_key("для служебного  пользования"),
                Handling::AmberStrict,
            ),
            (marking_key("ДСП"), Handling::AmberStrict),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            Handling::resolve("TLP:GREEN", &table),
            Ok((Handling::Green, None))
        );
        assert_eq!(
            Handling::resolve(" дсп ", &table),
            Ok((Handling::AmberStrict, Some("дсп".to_owned())))
        );
        assert_eq!(
            Handling::resolve("Для служебного пользования", &table).map(|r| r.0),
            Ok(Handling::AmberStrict)
        );
        assert_eq!(
            Handling::resolve("h1", &table).map(|r| r.0),
            Ok(Handling::AmberStrict)
        );
        let e = Handling::resolve("H2", &table).unwrap_err().to_string();
        assert!(e.contains("[ingest.markings]"), "{e}");
    }

    #[test]
    fn design_example_parses_and_keeps_unknown_fields() {
        let line = r#"{"id":"KG-2017-0042","summary":"Courier detained at Osh","grading":"B2","handling":"TLP:AMBER","country":"KGZ","source_unit":"Osh border post",
 "entities":[{"ref":"p1","type":"person","surname":"Курбонов","given":"Юсуф","dob":"1985-03-14","eye_colour":"brown"},
             {"ref":"t1","type":"phone","number":"0775 987 817"}],
 "links":[{"from":"p1","to":"t1","rel":"uses"}]}"#;
        let r: Record = serde_json::from_str(line).unwrap();
        assert_eq!(
            r.grading,
            Some(Grading {
                reliability: 'B',
                credibility: 2
            })
        );
        assert_eq!(r.handling, Handling::Amber);
        assert_eq!(r.country.unwrap().alpha3(), "KGZ");
        assert_eq!(r.extra["source_unit"], "Osh border post");
        let Entity::Person(p) = &r.entities[0] else {
            panic!("first entity is the person")
        };
        assert_eq!(p.extra["eye_colour"], "brown");
        let back: Record = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn gradings_and_handling_codes() {
        assert!("G1".parse::<Grading>().is_err());
        assert!("A7".parse::<Grading>().is_err());
        assert!("B22".parse::<Grading>().is_err());
        assert_eq!("c3".parse::<Grading>().unwrap().to_string(), "C3");
        assert_eq!("TLP:WHITE".parse::<Handling>(), Ok(Handling::Clear));
        assert_eq!(
            "tlp:amber+strict".parse::<Handling>(),
            Ok(Handling::AmberStrict)
        );
        assert!("TLP:PURPLE".parse::<Handling>().is_err());
        for h in Handling::ALL {
            assert_eq!(h.as_str().parse::<Handling>(), Ok(h));
        }
    }

    #[test]
    fn unknown_entity_type_is_an_error() {
        let err = serde_json::from_str::<Record>(r#"{"id":"x","entities":[{"type":"spaceship"}]}"#)
            .unwrap_err();
        assert!(err.to_string().contains("spaceship"), "{err}");
    }
}
