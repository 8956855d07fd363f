//! STIX 2.1 bundles, both ways: [`write`] turns records into a bundle that
//! the reference validator (`stix2-validator --strict`) passes and the
//! `stix2` library loads; [`read`] turns such a bundle (ours, or a
//! partner's from MISP or OpenCTI) back into records, listing every object
//! it cannot carry by its STIX id with the reason.
//!
//! # Mapping
//!
//! | Liaison | STIX 2.1 |
//! |---|---|
//! | the agency ([`Source`]) | `identity`, `identity_class` `organization`, the `created_by_ref` of every SDO and SRO |
//! | record | `grouping` (`context` `suspicious-activity`), `name` = record id, `description` = summary, `object_refs` its objects |
//! | person | `identity`, `identity_class` `individual`; name parts, date of birth and nationality in our property extension |
//! | organization | `identity`, `identity_class` `organization`; registration number and country in our property extension |
//! | email | `email-addr` (standard SCO, UUIDv5 id from its `value` as the spec computes it) |
//! | phone | `phone-number` (`value`): OpenCTI's custom observable, declared by our extension |
//! | account | `bank-account` (`iban`, `bic`, `account_number`): OpenCTI's custom observable; a bank code that is not a BIC goes in `bank_code` |
//! | document | `travel-document` (`number`, `document_type`, `issuing_country`), ours |
//! | vehicle | `vehicle` (`plate`, `vin`, `registration_country`), ours |
//! | device | `mobile-device` (`imei`), ours |
//! | link (a call too) | `relationship` `related-to`, the link's `rel` as written in our extension and as `description`; a call's start and duration as `start_time`/`stop_time` when the start names its offset |
//! | handling | the TLP 2.0 `marking-definition` (OASIS ids) in `object_marking_refs` of every object |
//! | grading | `confidence` from the information credibility by the STIX 2.1 Admiralty Credibility scale, the whole grading in our extension |
//!
//! New object types are named as OpenCTI names its own custom observables
//! (lower-case, hyphenated, no `x-` prefix: `phone-number`,
//! `bank-account`), and all of ours are declared by one
//! `extension-definition` ([`EXTENSION`]) whose `schema` is the plain text
//! [`SCHEMA`]. Links are `related-to` because the validator in strict mode
//! refuses any other relationship type between identities and observables
//! (and OpenCTI refuses relationship types it does not know).
//!
//! # Handling
//!
//! `TLP:RED` records are not exported at all. `TLP:AMBER+STRICT` records
//! go out with their identifiers and links, marked, but without their
//! summary and their unnamed record fields (`extra`): a bundle is loaded
//! into a shared platform (MISP, OpenCTI) whose whole community can read
//! what its marking does not stop, and the free text is what the record
//! model keeps home unless a report is released. Both are listed by
//! [`write_refusing`].
//!
//! # Ids
//!
//! One record exported twice gives the same bundle. `email-addr` ids are
//! the spec's UUIDv5 (STIX namespace, canonical JSON of `{"value":...}`).
//! Every other id is derived from SHA-256 over our namespace and the
//! agency, record and entity names, shaped as a version-4 UUID: the
//! validator requires UUIDv4 for SDOs, SROs and for observable types it
//! does not know.

use std::collections::{HashMap, HashSet};

use liaison_protocol::record::{
    Account, Device, Document, Email, Entity, Extra, Grading, Handling, Link, Organization, Person,
    Phone, Record, Vehicle,
};
use liaison_protocol::Country;
use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use super::{Imported, Skipped, Source};

/// Our extension definition: every custom object type and property.
pub const EXTENSION: &str = "extension-definition--af2755e8-63b9-4fc1-ba43-d05e9b385504";
/// The identity that publishes [`EXTENSION`] (Liaison, the software).
pub const LIAISON_IDENTITY: &str = "identity--bc6ede36-a166-424c-afed-d47ed4c538b9";
/// The namespace of our derived ids.
const NAMESPACE: &str = "a133b6d1-91e1-4c1d-b7c7-3219b59f34c0";
/// The STIX 2.1 namespace for SCO ids (STIX 2.1, 2.9).
const SCO_NAMESPACE: &str = "00abedb4-aa42-466c-9c01-fed23315a9b7";
/// `created` of the objects that never change (the two identities and the
/// extension definition).
const FIXED: &str = "2025-01-01T00:00:00.000Z";
/// The OASIS TLP 2.0 extension that the TLP 2.0 marking definitions use.
const TLP2_EXTENSION: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// The schema of [`EXTENSION`], as the plain text STIX allows.
pub const SCHEMA: &str = "Liaison records in STIX 2.1. New SCOs (extension_type new-sco): \
phone-number {value: the number as written; extra}; \
bank-account {iban; bic; bank_code: a national bank code that is not a BIC; account_number; extra}; \
travel-document {number; document_type: passport, id_card, residence_permit...; issuing_country: ISO 3166 alpha-3 or ICAO 9303 code; extra}; \
vehicle {plate; vin; registration_country: ISO 3166 alpha-3; extra}; \
mobile-device {imei: IMEI or IMEISV as written; extra}. \
Property extension (extension_type property-extension) on identity (individual): surname, given, patronymic, full_name, dob (as written: YYYY-MM-DD or DD.MM.YYYY), nationality, extra; \
on identity (organization): name, reg_number, country, extra; the exporting agency's identity: country; \
on relationship: rel (the Liaison relation as written: uses, holds, drives, called...), extra (a call's start, duration, cell); \
on grouping (one Liaison record): record_id, grading (Admiralty, e.g. B2), country, created, updated, expires (RFC 3339 as written), \
entities (list of {object: STIX id, ref: the entity's name in the record}, in order), extra. \
extra is always a list of {name, value} pairs: fields Liaison keeps without naming them.";

/// TLP 2.0 marking definitions by their standard ids, from OASIS's TLP 2.0
/// extension (cti-stix-common-objects, extension-definition--60a3c5c5...).
const TLP2: [(Handling, &str, &str); 5] = [
    (
        Handling::Clear,
        "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        "clear",
    ),
    (
        Handling::Green,
        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        "green",
    ),
    (
        Handling::Amber,
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        "amber",
    ),
    (
        Handling::AmberStrict,
        "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        "amber+strict",
    ),
    (
        Handling::Red,
        "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
        "red",
    ),
];

/// TLP 1.0 marking definitions (STIX 2.1, 7.2.1.4), read on import.
const TLP1: [(Handling, &str); 4] = [
    (
        Handling::Clear,
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    ),
    (
        Handling::Green,
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    ),
    (
        Handling::Amber,
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    ),
    (
        Handling::Red,
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
    ),
];

fn marking_id(h: Handling) -> &'static str {
    TLP2.iter()
        .find(|(c, _, _)| *c == h)
        .map(|(_, id, _)| *id)
        .unwrap_or(TLP2[2].1)
}

/// A bundle of `records` held by `source`, as of `created` (the time given
/// to objects whose record names none). `TLP:RED` records are left out;
/// [`write_refusing`] says what was left out.
pub fn write(records: &[Record], source: &Source, created: OffsetDateTime) -> Value {
    write_refusing(records, source, created).0
}

/// [`write`], with what a handling code kept out of the bundle: each
/// `TLP:RED` record by its id, the withheld summary and fields of each
/// `TLP:AMBER+STRICT` record (`ID/summary`, `ID/extra`), and each link
/// whose ends are not entities of its record (`ID/links/N`).
pub fn write_refusing(
    records: &[Record],
    source: &Source,
    created: OffsetDateTime,
) -> (Value, Vec<Skipped>) {
    let mut refused = Vec::new();
    let agency = derived("identity", &["agency", &source.agency]);
    let mut out = vec![
        liaison_identity(),
        agency_identity(&agency, source),
        extension_definition(),
    ];
    let exported: Vec<&Record> = records
        .iter()
        .filter(|r| {
            let red = r.handling == Handling::Red;
            if red {
                refused.push(Skipped {
                    item: r.id.clone(),
                    reason: "TLP:RED: never leaves Liaison, not exported".into(),
                });
            }
            !red
        })
        .collect();
    // Markings in use, least restrictive first, then each record's objects.
    let mut used: Vec<Handling> = exported.iter().map(|r| r.handling).collect();
    used.sort();
    used.dedup();
    out.extend(used.into_iter().map(marking_definition));
    // An e-mail address is one object however many records name it (its
    // id comes from its value); it carries the strictest of their codes.
    let mut email_marks: HashMap<String, Handling> = HashMap::new();
    for r in &exported {
        for e in &r.entities {
            if let Entity::Email(m) = e {
                let h = email_marks.entry(m.address.clone()).or_insert(r.handling);
                *h = (*h).max(r.handling);
            }
        }
    }
    let mut seen = HashSet::new();
    for r in exported {
        record_objects(
            r,
            &agency,
            &source.agency,
            created,
            &email_marks,
            &mut seen,
            &mut out,
            &mut refused,
        );
    }
    let ids: Vec<&str> = out.iter().filter_map(|o| o["id"].as_str()).collect();
    let bundle = json!({
        "type": "bundle",
        "id": derived("bundle", &ids),
        "objects": out,
    });
    (bundle, refused)
}

#[allow(clippy::too_many_arguments)]
fn record_objects(
    r: &Record,
    agency: &str,
    agency_name: &str,
    now: OffsetDateTime,
    email_marks: &HashMap<String, Handling>,
    seen: &mut HashSet<String>,
    out: &mut Vec<Value>,
    refused: &mut Vec<Skipped>,
) {
    let created = r.created.unwrap_or(now);
    let modified = r.updated.filter(|u| *u > created).unwrap_or(created);
    let base = Base {
        agency,
        created: stamp(created),
        modified: stamp(modified),
        marking: marking_id(r.handling),
        confidence: r.grading.and_then(confidence),
    };
    let strict = r.handling == Handling::AmberStrict;
    let mut entity_list = Vec::new();
    let mut by_ref: HashMap<&str, String> = HashMap::new();
    let mut refs = Vec::new();
    for (i, e) in r.entities.iter().enumerate() {
        let name = e
            .reference()
            .map(str::to_owned)
            .unwrap_or_else(|| format!("#{i}"));
        let (id, object) = entity_object(e, &base, agency_name, &r.id, &name, email_marks);
        if let Some(reference) = e.reference() {
            by_ref.entry(reference).or_insert_with(|| id.clone());
        }
        let mut item = json!({ "object": id });
        if let Some(reference) = e.reference() {
            item["ref"] = json!(reference);
        }
        entity_list.push(item);
        if !refs.contains(&id) {
            refs.push(id.clone());
        }
        if seen.insert(id) {
            out.push(object);
        }
    }
    let mut links = Vec::new();
    for (i, l) in r.links.iter().enumerate() {
        let (Some(from), Some(to)) = (by_ref.get(l.from.as_str()), by_ref.get(l.to.as_str()))
        else {
            refused.push(Skipped {
                item: format!("{}/links/{i}", r.id),
                reason: format!(
                    "link {:?} from {:?} to {:?}: an end is not an entity of the record",
                    l.rel, l.from, l.to
                ),
            });
            continue;
        };
        let id = derived(
            "relationship",
            &[agency_name, &r.id, "link", &i.to_string()],
        );
        let mut o = base.sdo("relationship", &id);
        o.insert("relationship_type".into(), json!("related-to"));
        o.insert("description".into(), json!(l.rel));
        o.insert("source_ref".into(), json!(from));
        o.insert("target_ref".into(), json!(to));
        if let Some((start, stop)) = call_times(l) {
            o.insert("start_time".into(), json!(start));
            if let Some(stop) = stop {
                o.insert("stop_time".into(), json!(stop));
            }
        }
        let mut ext = Map::new();
        ext.insert("rel".into(), json!(l.rel));
        put_extra(&mut ext, &l.extra);
        o.insert("extensions".into(), property_extension(ext));
        refs.push(id);
        links.push(Value::Object(o));
    }
    let id = derived("grouping", &[agency_name, "record", &r.id]);
    let mut g = base.sdo("grouping", &id);
    g.insert("name".into(), json!(r.id));
    g.insert("context".into(), json!("suspicious-activity"));
    match (&r.summary, strict) {
        (Some(s), false) => {
            g.insert("description".into(), json!(s));
        }
        (Some(_), true) => refused.push(Skipped {
            item: format!("{}/summary", r.id),
            reason: "TLP:AMBER+STRICT: the summary stays home, the identifiers go out marked"
                .into(),
        }),
        (None, _) => {}
    }
    if refs.is_empty() {
        // A grouping refers to something: the agency that holds it.
        refs.push(agency.to_owned());
    }
    g.insert("object_refs".into(), json!(refs));
    let mut ext = Map::new();
    ext.insert("record_id".into(), json!(r.id));
    if let Some(grading) = r.grading {
        ext.insert("grading".into(), json!(grading.to_string()));
    }
    if let Some(c) = r.country {
        ext.insert("country".into(), json!(c.alpha3()));
    }
    for (name, t) in [
        ("created", r.created),
        ("updated", r.updated),
        ("expires", r.expires),
    ] {
        if let Some(t) = t.and_then(|t| t.format(&Rfc3339).ok()) {
            ext.insert(name.into(), json!(t));
        }
    }
    if !entity_list.is_empty() {
        // STIX allows no empty lists.
        ext.insert("entities".into(), json!(entity_list));
    }
    if strict && !r.extra.is_empty() {
        refused.push(Skipped {
            item: format!("{}/extra", r.id),
            reason: "TLP:AMBER+STRICT: unnamed record fields stay home".into(),
        });
    } else {
        put_extra(&mut ext, &r.extra);
    }
    g.insert("extensions".into(), property_extension(ext));
    out.push(Value::Object(g));
    out.extend(links);
}

/// What every SDO and SRO of one record shares.
struct Base<'a> {
    agency: &'a str,
    created: String,
    modified: String,
    marking: &'static str,
    confidence: Option<u8>,
}

impl Base<'_> {
    fn sdo(&self, kind: &str, id: &str) -> Map<String, Value> {
        let mut o = Map::new();
        o.insert("type".into(), json!(kind));
        o.insert("spec_version".into(), json!("2.1"));
        o.insert("id".into(), json!(id));
        o.insert("created_by_ref".into(), json!(self.agency));
        o.insert("created".into(), json!(self.created));
        o.insert("modified".into(), json!(self.modified));
        if let Some(c) = self.confidence {
            o.insert("confidence".into(), json!(c));
        }
        o.insert("object_marking_refs".into(), json!([self.marking]));
        o
    }

    fn sco(&self, kind: &str, id: &str, marking: &'static str) -> Map<String, Value> {
        let mut o = Map::new();
        o.insert("type".into(), json!(kind));
        o.insert("spec_version".into(), json!("2.1"));
        o.insert("id".into(), json!(id));
        o.insert("object_marking_refs".into(), json!([marking]));
        o
    }
}

fn entity_object(
    e: &Entity,
    base: &Base<'_>,
    agency: &str,
    record: &str,
    name: &str,
    email_marks: &HashMap<String, Handling>,
) -> (String, Value) {
    let key = |kind: &str| derived(kind, &[agency, record, "entity", name]);
    let new_sco = |kind: &str, fields: Vec<(&str, Option<&String>)>, extra: &Extra| {
        let id = key(kind);
        let mut o = base.sco(kind, &id, base.marking);
        for (k, v) in fields {
            if let Some(v) = v {
                o.insert(k.into(), json!(v));
            }
        }
        put_extra(&mut o, extra);
        o.insert(
            "extensions".into(),
            json!({ EXTENSION: { "extension_type": "new-sco" } }),
        );
        (id, Value::Object(o))
    };
    match e {
        Entity::Person(p) => {
            let id = key("identity");
            let mut o = base.sdo("identity", &id);
            let parts: Vec<&str> = [&p.surname, &p.given, &p.patronymic]
                .into_iter()
                .filter_map(|s| s.as_deref())
                .collect();
            let display = p.full_name.clone().unwrap_or_else(|| parts.join(" "));
            o.insert(
                "name".into(),
                json!(if display.trim().is_empty() {
                    "(unnamed person)".into()
                } else {
                    display
                }),
            );
            o.insert("identity_class".into(), json!("individual"));
            let mut ext = Map::new();
            for (k, v) in [
                ("surname", &p.surname),
                ("given", &p.given),
                ("patronymic", &p.patronymic),
                ("full_name", &p.full_name),
                ("dob", &p.dob),
                ("nationality", &p.nationality),
            ] {
                if let Some(v) = v {
                    ext.insert(k.into(), json!(v));
                }
            }
            put_extra(&mut ext, &p.extra);
            o.insert("extensions".into(), property_extension(ext));
            (id, Value::Object(o))
        }
        Entity::Organization(org) => {
            let id = key("identity");
            let mut o = base.sdo("identity", &id);
            let display = org
                .name
                .clone()
                .or_else(|| org.reg_number.clone())
                .unwrap_or_else(|| "(unnamed organization)".into());
            o.insert("name".into(), json!(display));
            o.insert("identity_class".into(), json!("organization"));
            let mut ext = Map::new();
            for (k, v) in [
                ("name", &org.name),
                ("reg_number", &org.reg_number),
                ("country", &org.country),
            ] {
                if let Some(v) = v {
                    ext.insert(k.into(), json!(v));
                }
            }
            put_extra(&mut ext, &org.extra);
            o.insert("extensions".into(), property_extension(ext));
            (id, Value::Object(o))
        }
        Entity::Email(m) => {
            // The spec's id: UUIDv5 over the canonical JSON of the id
            // contributing property. Shared by every record naming it, so
            // it carries nothing of any one record.
            let canonical =
                serde_json::to_string(&json!({ "value": m.address })).unwrap_or_default();
            let id = format!("email-addr--{}", uuid5(SCO_NAMESPACE, canonical.as_bytes()));
            let h = email_marks
                .get(&m.address)
                .copied()
                .unwrap_or(Handling::Amber);
            let mut o = base.sco("email-addr", &id, marking_id(h));
            o.insert("value".into(), json!(m.address));
            (id, Value::Object(o))
        }
        Entity::Phone(p) => new_sco("phone-number", vec![("value", Some(&p.number))], &p.extra),
        Entity::Account(a) => {
            let (bic, code) = match &a.bank {
                Some(b) if is_bic(b) => (Some(b), None),
                other => (None, other.as_ref()),
            };
            new_sco(
                "bank-account",
                vec![
                    ("iban", a.iban.as_ref()),
                    ("bic", bic),
                    ("bank_code", code),
                    ("account_number", a.number.as_ref()),
                ],
                &a.extra,
            )
        }
        Entity::Document(d) => new_sco(
            "travel-document",
            vec![
                ("number", Some(&d.number)),
                ("document_type", d.doc_type.as_ref()),
                ("issuing_country", d.country.as_ref()),
            ],
            &d.extra,
        ),
        Entity::Vehicle(v) => new_sco(
            "vehicle",
            vec![
                ("plate", v.plate.as_ref()),
                ("vin", v.vin.as_ref()),
                ("registration_country", v.country.as_ref()),
            ],
            &v.extra,
        ),
        Entity::Device(d) => new_sco("mobile-device", vec![("imei", Some(&d.imei))], &d.extra),
    }
}

/// A BIC: 4 letters (bank), 2 letters (country), 2 letters or digits
/// (location), optionally 3 more (branch).
fn is_bic(s: &str) -> bool {
    let b = s.as_bytes();
    (b.len() == 8 || b.len() == 11)
        && b[..6].iter().all(u8::is_ascii_uppercase)
        && b[6..]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// A call's `start_time` and `stop_time` in STIX form, when its `start`
/// names its offset (RFC 3339); a start in local time without one is
/// carried only as written.
fn call_times(l: &Link) -> Option<(String, Option<String>)> {
    let start = OffsetDateTime::parse(l.extra.get("start")?.as_str()?, &Rfc3339).ok()?;
    let stop = l
        .extra
        .get("duration")
        .and_then(Value::as_u64)
        .filter(|d| *d > 0)
        .and_then(|d| i64::try_from(d).ok())
        .map(|d| stamp(start + time::Duration::seconds(d)));
    Some((stamp(start), stop))
}

/// STIX 2.1 Appendix A, Admiralty Credibility: 1 → 90, 2 → 70, 3 → 50,
/// 4 → 30, 5 → 10; 6 (cannot be judged) has no confidence.
fn confidence(g: Grading) -> Option<u8> {
    match g.credibility {
        c @ 1..=5 => Some(90 - 20 * (c - 1)),
        _ => None,
    }
}

/// The inverse of [`confidence`], by the same scale's ranges.
fn credibility(confidence: u64) -> u8 {
    match confidence {
        80.. => 1,
        60..=79 => 2,
        40..=59 => 3,
        20..=39 => 4,
        _ => 5,
    }
}

fn put_extra(o: &mut Map<String, Value>, extra: &Extra) {
    if !extra.is_empty() {
        let pairs: Vec<Value> = extra
            .iter()
            .map(|(k, v)| json!({ "name": k, "value": v }))
            .collect();
        o.insert("extra".into(), Value::Array(pairs));
    }
}

fn property_extension(fields: Map<String, Value>) -> Value {
    let mut ext = Map::new();
    ext.insert("extension_type".into(), json!("property-extension"));
    ext.extend(fields);
    json!({ EXTENSION: ext })
}

fn liaison_identity() -> Value {
    json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": LIAISON_IDENTITY,
        "created_by_ref": LIAISON_IDENTITY,
        "created": FIXED,
        "modified": FIXED,
        "name": "Liaison",
        "description": "The Liaison node software: publisher of the Liaison STIX extension.",
        "identity_class": "system",
    })
}

fn agency_identity(id: &str, source: &Source) -> Value {
    let mut o = json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": id,
        "created_by_ref": id,
        "created": FIXED,
        "modified": FIXED,
        "name": source.agency,
        "identity_class": "organization",
    });
    if let Some(c) = &source.country {
        let mut ext = Map::new();
        ext.insert("country".into(), json!(c));
        o["extensions"] = property_extension(ext);
    }
    o
}

fn extension_definition() -> Value {
    json!({
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": EXTENSION,
        "created_by_ref": LIAISON_IDENTITY,
        "created": FIXED,
        "modified": FIXED,
        "name": "Liaison records",
        "description": "Border, drug-control and customs records: phones, travel documents, vehicles, bank accounts and mobile devices as observables; people's names and dates of birth, organisations' registration, links and record fields as properties.",
        "schema": SCHEMA,
        "version": "1.0.0",
        "extension_types": ["new-sco", "property-extension"],
    })
}

fn marking_definition(h: Handling) -> Value {
    let (_, id, level) = TLP2
        .iter()
        .find(|(c, _, _)| *c == h)
        .copied()
        .unwrap_or(TLP2[2]);
    json!({
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": id,
        "created": "2022-10-01T00:00:00.000Z",
        "name": h.as_str(),
        "extensions": { TLP2_EXTENSION: { "extension_type": "property-extension", "tlp_2_0": level } },
    })
}

/// A STIX timestamp: UTC, milliseconds, `Z`.
fn stamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

// ---- ids ---------------------------------------------------------------

fn parse_uuid(s: &str) -> [u8; 16] {
    let hex: Vec<u8> = s.bytes().filter(|b| *b != b'-').collect();
    let mut out = [0u8; 16];
    for (i, pair) in hex.chunks(2).enumerate().take(16) {
        let d = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
        out[i] = (d(pair[0]) << 4) | d(pair[1]);
    }
    out
}

fn format_uuid(b: &[u8]) -> String {
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// `kind--UUID`, the UUID derived from our namespace and `parts`, shaped
/// as version 4 (RFC 4122 variant).
fn derived(kind: &str, parts: &[&str]) -> String {
    let mut h = Sha256::new();
    h.update(parse_uuid(NAMESPACE));
    h.update(kind.as_bytes());
    for p in parts {
        h.update([0]);
        h.update(p.as_bytes());
    }
    let mut b: [u8; 16] = h.finalize()[..16].try_into().unwrap_or([0; 16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    format!("{kind}--{}", format_uuid(&b))
}

/// RFC 4122 UUIDv5 (SHA-1, name-based).
fn uuid5(namespace: &str, name: &[u8]) -> String {
    let mut data = parse_uuid(namespace).to_vec();
    data.extend_from_slice(name);
    let d = sha1(&data);
    let mut b: [u8; 16] = d[..16].try_into().unwrap_or([0; 16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    format_uuid(&b)
}

/// SHA-1 (FIPS 180-4), for UUIDv5 only: no `sha1` crate is in the build,
/// and collision resistance does not matter for a name-based id.
fn sha1(msg: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let mut data = msg.to_vec();
    let bits = (msg.len() as u64).wrapping_mul(8);
    data.push(0x80);
    while data.len() % 64 != 56 {
        data.push(0);
    }
    data.extend_from_slice(&bits.to_be_bytes());
    for block in data.chunks(64) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, x) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

// ---- import ------------------------------------------------------------

/// A file that is not a STIX bundle at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// Not JSON.
    #[error("not JSON: {0}")]
    Json(String),
    /// JSON, but not a bundle.
    #[error("not a STIX 2.1 bundle: {0}")]
    NotBundle(String),
}

/// Records from a STIX 2.1 bundle. Each `grouping` or `report` becomes a
/// record (ours give back exactly what [`write`] put in: id, grading,
/// dates, entities by their `ref`, links); observables and identities
/// that no container names become one record named by the bundle id.
/// Objects Liaison cannot carry (indicators, malware, user accounts...)
/// are listed by id with the reason. The handling is the strictest TLP
/// marking on the container (TLP 2.0 and 1.0 ids, or any marking
/// definition in the bundle named `TLP:...`); unmarked is `TLP:AMBER`.
pub fn read(bundle: &str) -> Result<Imported, ReadError> {
    let v: Value = serde_json::from_str(bundle).map_err(|e| ReadError::Json(e.to_string()))?;
    let Some(top) = v.as_object() else {
        return Err(ReadError::NotBundle("the file is not a JSON object".into()));
    };
    if top.get("type").and_then(Value::as_str) != Some("bundle") {
        return Err(ReadError::NotBundle(format!(
            "its \"type\" is {}, not \"bundle\"",
            top.get("type").map_or("missing".into(), Value::to_string)
        )));
    }
    let Some(objects) = top.get("objects").and_then(Value::as_array) else {
        return Err(ReadError::NotBundle("it has no \"objects\" list".into()));
    };
    let bundle_id = top
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("bundle")
        .to_owned();
    let mut imported = Imported::default();
    let mut by_id: HashMap<&str, &Map<String, Value>> = HashMap::new();
    let mut order = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        match o
            .as_object()
            .and_then(|m| Some((m.get("id")?.as_str()?, m)))
        {
            Some((id, m)) if m.get("type").and_then(Value::as_str).is_some() => {
                if by_id.insert(id, m).is_none() {
                    order.push(id);
                }
            }
            _ => imported.skipped.push(Skipped {
                item: format!("objects/{i}"),
                reason: "not a STIX object: it needs a string \"type\" and \"id\"".into(),
            }),
        }
    }
    let mut reader = Reader {
        by_id: &by_id,
        tlp_names: HashMap::new(),
        used: HashSet::new(),
        skipped: Vec::new(),
    };
    for id in &order {
        let m = by_id[id];
        if kind(m) == "marking-definition" {
            if let Some(h) = m
                .get("name")
                .and_then(Value::as_str)
                .and_then(|n| n.parse::<Handling>().ok())
            {
                reader.tlp_names.insert(id.to_string(), h);
            }
        }
    }
    // Authors are provenance, not entities.
    let authors: HashSet<&str> = by_id
        .values()
        .filter_map(|m| m.get("created_by_ref").and_then(Value::as_str))
        .collect();
    for id in &order {
        let m = by_id[id];
        if matches!(kind(m), "grouping" | "report") {
            reader.used.insert(id.to_string());
            if let Some(r) = reader.container(id, m) {
                imported.records.push(r);
            }
        }
    }
    // What no container named: one record for the bundle.
    let loose: Vec<&str> = order
        .iter()
        .copied()
        .filter(|id| !reader.used.contains(*id))
        .filter(|id| {
            let m = by_id[id];
            match kind(m) {
                "marking-definition" | "extension-definition" | "language-content" => false,
                "identity" => !authors.contains(id),
                _ => true,
            }
        })
        .collect();
    if !loose.is_empty() {
        let mut members = Vec::new();
        let mut rels = Vec::new();
        for id in loose {
            if kind(by_id[id]) == "relationship" {
                rels.push(id);
            } else {
                members.push((id, None));
            }
        }
        let mut r = Record::new(bundle_id.clone());
        let handling = members
            .iter()
            .map(|(id, _)| *id)
            .chain(rels.iter().copied())
            .filter_map(|id| reader.handling(by_id[id]))
            .max();
        r.handling = handling.unwrap_or_default();
        reader.fill(&mut r, &members, &rels);
        if !r.entities.is_empty() {
            imported.records.push(r);
        }
    }
    imported.skipped.extend(reader.skipped);
    Ok(imported)
}

fn kind(m: &Map<String, Value>) -> &str {
    m.get("type").and_then(Value::as_str).unwrap_or("")
}

fn text(m: &Map<String, Value>, k: &str) -> Option<String> {
    m.get(k).and_then(Value::as_str).map(str::to_owned)
}

fn ours(m: &Map<String, Value>) -> Option<&Map<String, Value>> {
    m.get("extensions")?.get(EXTENSION)?.as_object()
}

fn get_extra(m: &Map<String, Value>) -> Extra {
    let mut extra = Extra::new();
    for pair in m
        .get("extra")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let (Some(k), Some(v)) = (pair.get("name").and_then(Value::as_str), pair.get("value")) {
            extra.insert(k.to_owned(), v.clone());
        }
    }
    extra
}

/// A record's entity object: `Some(ref)` as our grouping names it (an
/// entity may have no `ref`), `None` for another producer's object, whose
/// STIX id becomes its `ref`.
type Member = Option<Option<String>>;

struct Reader<'a> {
    by_id: &'a HashMap<&'a str, &'a Map<String, Value>>,
    tlp_names: HashMap<String, Handling>,
    used: HashSet<String>,
    skipped: Vec<Skipped>,
}

impl Reader<'_> {
    fn skip(&mut self, id: &str, reason: impl Into<String>) {
        if !self.skipped.iter().any(|s| s.item == id) {
            self.skipped.push(Skipped {
                item: id.to_owned(),
                reason: reason.into(),
            });
        }
    }

    /// The strictest TLP code among an object's markings.
    fn handling(&self, m: &Map<String, Value>) -> Option<Handling> {
        m.get("object_marking_refs")?
            .as_array()?
            .iter()
            .filter_map(Value::as_str)
            .filter_map(|id| {
                TLP2.iter()
                    .find(|(_, t, _)| *t == id)
                    .map(|(h, _, _)| *h)
                    .or_else(|| TLP1.iter().find(|(_, t)| *t == id).map(|(h, _)| *h))
                    .or_else(|| self.tlp_names.get(id).copied())
            })
            .max()
    }

    fn container(&mut self, id: &str, m: &Map<String, Value>) -> Option<Record> {
        let ext = ours(m);
        let record_id = ext
            .and_then(|e| text(e, "record_id"))
            .unwrap_or_else(|| id.to_owned());
        let mut r = Record::new(record_id);
        r.summary = text(m, "description");
        r.handling = self.handling(m).unwrap_or_default();
        let time = |k: &str| {
            ext.and_then(|e| e.get(k))
                .and_then(Value::as_str)
                .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
        };
        r.created = time("created");
        r.updated = time("updated");
        r.expires = time("expires");
        r.grading = ext
            .and_then(|e| text(e, "grading"))
            .and_then(|g| g.parse().ok())
            .or_else(|| {
                let c = m.get("confidence")?.as_u64()?;
                Some(Grading {
                    reliability: 'F',
                    credibility: credibility(c),
                })
            });
        r.country = ext
            .and_then(|e| text(e, "country"))
            .and_then(|c| c.parse::<Country>().ok());
        if let Some(e) = ext {
            r.extra = get_extra(e);
        }
        let refs: Vec<&str> = m
            .get("object_refs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let mut members: Vec<(&str, Member)> = Vec::new();
        let mut rels = Vec::new();
        match ext {
            // Ours: the entities as listed (none for a record without any),
            // links among the objects it refers to.
            Some(e) => {
                for item in e
                    .get("entities")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(o) = item.get("object").and_then(Value::as_str) {
                        let reference = item.get("ref").and_then(Value::as_str).map(str::to_owned);
                        members.push((o, Some(reference)));
                    }
                }
                for o in &refs {
                    if self.by_id.get(o).is_some_and(|m| kind(m) == "relationship") {
                        rels.push(*o);
                    }
                }
            }
            None => {
                for o in &refs {
                    match self.by_id.get(o).map(|m| kind(m)) {
                        Some("relationship") => rels.push(*o),
                        _ => members.push((o, None)),
                    }
                }
            }
        }
        for o in &refs {
            self.used.insert((*o).to_owned());
        }
        for (o, _) in &members {
            self.used.insert((*o).to_owned());
        }
        self.fill(&mut r, &members, &rels);
        Some(r)
    }

    /// Adds the entities `members` (object id, its `ref` if known) and the
    /// links `rels` between them to `r`.
    fn fill(&mut self, r: &mut Record, members: &[(&str, Member)], rels: &[&str]) {
        let mut ref_of: HashMap<String, String> = HashMap::new();
        for (o, reference) in members {
            let Some(m) = self.by_id.get(o).copied() else {
                self.skip(
                    o,
                    format!("named by record {:?} but not in the bundle", r.id),
                );
                continue;
            };
            match self.entity(m) {
                Ok(mut e) => {
                    // Objects from other producers keep their STIX id as ref.
                    let reference = match reference {
                        Some(ours) => ours.clone(),
                        None => Some((*o).to_owned()),
                    };
                    if let Some(reference) = reference {
                        e.set_reference(reference.clone());
                        ref_of.entry((*o).to_owned()).or_insert(reference);
                    }
                    r.entities.push(e);
                }
                Err(reason) => self.skip(o, reason),
            }
        }
        for id in rels {
            let Some(m) = self.by_id.get(id).copied() else {
                self.skip(
                    id,
                    format!("named by record {:?} but not in the bundle", r.id),
                );
                continue;
            };
            let end = |k: &str| {
                m.get(k)
                    .and_then(Value::as_str)
                    .and_then(|o| ref_of.get(o))
                    .cloned()
            };
            let (Some(from), Some(to)) = (end("source_ref"), end("target_ref")) else {
                self.skip(
                    id,
                    format!(
                        "a relationship whose ends are not both entities of record {:?}",
                        r.id
                    ),
                );
                continue;
            };
            let ext = ours(m);
            let rel = ext
                .and_then(|e| text(e, "rel"))
                .or_else(|| text(m, "relationship_type"))
                .unwrap_or_else(|| "related-to".into());
            let extra = ext.map(get_extra).unwrap_or_default();
            r.links.push(Link {
                from,
                to,
                rel,
                extra,
            });
        }
    }

    fn entity(&self, m: &Map<String, Value>) -> Result<Entity, String> {
        let ext = ours(m);
        let field = |k: &str| ext.and_then(|e| text(e, k));
        let need = |k: &str| text(m, k).ok_or_else(|| format!("{} without {k}", kind(m)));
        Ok(match kind(m) {
            "identity" => match m.get("identity_class").and_then(Value::as_str) {
                Some("individual") => Entity::Person(match ext {
                    Some(e) => Person {
                        reference: None,
                        surname: field("surname"),
                        given: field("given"),
                        patronymic: field("patronymic"),
                        full_name: field("full_name"),
                        dob: field("dob"),
                        nationality: field("nationality"),
                        extra: get_extra(e),
                    },
                    None => Person {
                        full_name: text(m, "name"),
                        ..Person::default()
                    },
                }),
                Some("organization") => Entity::Organization(match ext {
                    Some(e) => Organization {
                        reference: None,
                        name: field("name"),
                        reg_number: field("reg_number"),
                        country: field("country"),
                        extra: get_extra(e),
                    },
                    None => Organization {
                        name: text(m, "name"),
                        ..Organization::default()
                    },
                }),
                other => {
                    return Err(format!(
                        "identity_class {}: Liaison carries people (individual) and organizations",
                        other.unwrap_or("missing")
                    ))
                }
            },
            "email-addr" => Entity::Email(Email {
                reference: None,
                address: need("value")?,
                extra: Extra::new(),
            }),
            "phone-number" => Entity::Phone(Phone {
                reference: None,
                number: need("value")?,
                extra: get_extra(m),
            }),
            "bank-account" => {
                let a = Account {
                    reference: None,
                    iban: text(m, "iban"),
                    bank: text(m, "bic").or_else(|| text(m, "bank_code")),
                    number: text(m, "account_number"),
                    extra: get_extra(m),
                };
                if a.iban.is_none() && a.number.is_none() {
                    return Err("bank-account without iban or account_number".into());
                }
                Entity::Account(a)
            }
            "travel-document" => Entity::Document(Document {
                reference: None,
                doc_type: text(m, "document_type"),
                country: text(m, "issuing_country"),
                number: need("number")?,
                extra: get_extra(m),
            }),
            "vehicle" => {
                let v = Vehicle {
                    reference: None,
                    plate: text(m, "plate"),
                    country: text(m, "registration_country"),
                    vin: text(m, "vin"),
                    extra: get_extra(m),
                };
                if v.plate.is_none() && v.vin.is_none() {
                    return Err("vehicle without plate or vin".into());
                }
                Entity::Vehicle(v)
            }
            "mobile-device" => Entity::Device(Device {
                reference: None,
                imei: need("imei")?,
                extra: get_extra(m),
            }),
            "relationship" => return Err("a relationship among a record's entities".into()),
            other => {
                return Err(format!(
                    "STIX type {other} has no Liaison counterpart (Liaison carries people, organizations, phones, documents, vehicles, bank accounts, mobile devices and e-mail addresses)"
                ))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::sync::atomic::AtomicU64;
    use std::sync::Arc;

    use super::*;

    fn data(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../config/examples/data")
            .join(name)
    }

    /// Every sample record: the NDJSON files as they are, the CSV files
    /// through the CSV and call-record readers.
    fn samples() -> Vec<Record> {
        let mut out = Vec::new();
        for (name, country) in [
            ("kg-border.ndjson", None),
            ("tj-drug-control.ndjson", None),
            ("kz-customs.csv", Some("KAZ")),
            ("kz-customs-calls.csv", Some("KAZ")),
        ] {
            let country = country.map(|c| c.parse::<Country>().unwrap());
            let items = crate::ingest::read::open(
                &data(name),
                None,
                1 << 20,
                country,
                Arc::new(AtomicU64::new(0)),
            )
            .unwrap();
            for item in items {
                out.push(
                    item.into_record()
                        .0
                        .unwrap_or_else(|e| panic!("{name}: {e:?}")),
                );
            }
        }
        assert!(out.len() >= 15, "{}", out.len());
        out
    }

    fn source() -> Source {
        Source {
            agency: "kg-border".into(),
            country: Some("KGZ".into()),
        }
    }

    fn when() -> OffsetDateTime {
        OffsetDateTime::parse("2024-06-01T12:00:00Z", &Rfc3339).unwrap()
    }

    fn objects(bundle: &Value) -> &Vec<Value> {
        bundle["objects"].as_array().unwrap()
    }

    #[test]
    fn sha1_and_uuid5_match_their_standards() {
        let hex = |b: [u8; 20]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        assert_eq!(hex(sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            hex(sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex(sha1(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        // RFC 4122's DNS namespace; Python's uuid.uuid5(NAMESPACE_DNS, "python.org").
        assert_eq!(
            uuid5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", b"python.org"),
            "886313e1-3b8a-5372-9b90-0c9aee199e5d"
        );
    }

    #[test]
    fn email_ids_are_the_ones_the_stix2_library_computes() {
        let r: Record = serde_json::from_str(
            r#"{"id":"E","entities":[{"ref":"e1","type":"email","address":"Aigerim.T@mail.kg"}]}"#,
        )
        .unwrap();
        let b = write(&[r], &source(), when());
        // stix2.EmailAddress(value="Aigerim.T@mail.kg").id, stix2 3.0.2.
        assert!(objects(&b)
            .iter()
            .any(|o| o["id"] == "email-addr--5eb10232-e584-5085-87f2-44d6442179d5"));
    }

    #[test]
    fn ids_are_v4_shaped_and_deterministic() {
        let a = derived("identity", &["agency", "kg-border"]);
        assert_eq!(a, derived("identity", &["agency", "kg-border"]));
        assert_ne!(a, derived("identity", &["agency", "kz-customs"]));
        let u = a.strip_prefix("identity--").unwrap();
        assert_eq!(&u[14..15], "4", "{u}");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"), "{u}");
        let records = samples();
        let one = write(&records, &source(), when());
        let two = write(&records, &source(), when());
        assert_eq!(one, two);
        // Exported alone, a record's objects keep their ids.
        let alone = write(&records[1..2], &source(), when());
        let all: HashSet<&str> = objects(&one)
            .iter()
            .filter_map(|o| o["id"].as_str())
            .collect();
        for o in objects(&alone) {
            assert!(all.contains(o["id"].as_str().unwrap()), "{}", o["id"]);
        }
    }

    #[test]
    fn red_is_refused_and_amber_strict_keeps_its_summary_home() {
        let records = samples();
        let (b, refused) = write_refusing(&records, &source(), when());
        let text = b.to_string();
        let red = records
            .iter()
            .find(|r| r.handling == Handling::Red)
            .unwrap();
        assert!(refused
            .iter()
            .any(|s| s.item == red.id && s.reason.contains("TLP:RED")));
        assert!(
            !text.contains(&red.id),
            "a RED record's id is in the bundle"
        );
        for e in &red.entities {
            if let Entity::Phone(p) = e {
                assert!(
                    !text.contains(&p.number),
                    "a RED record's phone is in the bundle"
                );
            }
        }
        assert!(!text.contains(marking_id(Handling::Red)));
        let strict = records
            .iter()
            .find(|r| r.handling == Handling::AmberStrict)
            .unwrap();
        let summary = strict.summary.as_deref().unwrap();
        assert!(
            !text.contains(summary),
            "an AMBER+STRICT summary is in the bundle"
        );
        assert!(refused
            .iter()
            .any(|s| s.item == format!("{}/summary", strict.id)));
        assert!(
            text.contains(&strict.id),
            "the AMBER+STRICT record itself goes out"
        );
        let amber = records
            .iter()
            .find(|r| r.handling == Handling::Amber && r.summary.is_some())
            .unwrap();
        assert!(text.contains(amber.summary.as_deref().unwrap()));
    }

    #[test]
    fn every_object_is_marked_and_attributed() {
        let b = write(&samples(), &source(), when());
        let agency = derived("identity", &["agency", "kg-border"]);
        let markings: HashSet<&str> = TLP2.iter().map(|(_, id, _)| *id).collect();
        for o in objects(&b) {
            let kind = o["type"].as_str().unwrap();
            match kind {
                "marking-definition" => assert!(markings.contains(o["id"].as_str().unwrap())),
                "identity" | "extension-definition" => assert!(o["created_by_ref"].is_string()),
                "grouping" | "relationship" => {
                    assert_eq!(o["created_by_ref"], json!(agency), "{o}");
                    assert_eq!(o["object_marking_refs"].as_array().unwrap().len(), 1, "{o}");
                }
                _ => assert_eq!(o["object_marking_refs"].as_array().unwrap().len(), 1, "{o}"),
            }
            if kind == "identity" && o["identity_class"] == "individual" {
                assert!(
                    o["object_marking_refs"].is_array() && o["created_by_ref"] == json!(agency)
                );
            }
        }
    }

    #[test]
    fn grading_becomes_confidence_by_the_admiralty_credibility_scale() {
        let g = |s: &str| s.parse::<Grading>().unwrap();
        assert_eq!(confidence(g("B1")), Some(90));
        assert_eq!(confidence(g("B2")), Some(70));
        assert_eq!(confidence(g("C3")), Some(50));
        assert_eq!(confidence(g("A4")), Some(30));
        assert_eq!(confidence(g("A5")), Some(10));
        assert_eq!(confidence(g("F6")), None);
        for c in 1..=5u8 {
            assert_eq!(
                credibility(u64::from(
                    confidence(Grading {
                        reliability: 'A',
                        credibility: c
                    })
                    .unwrap()
                )),
                c
            );
        }
    }

    #[test]
    fn calls_carry_their_times_when_the_start_names_its_offset() {
        let r: Record = serde_json::from_str(
            r#"{"id":"C","entities":[{"ref":"a","type":"phone","number":"+996775987817"},{"ref":"b","type":"phone","number":"+992935551234"}],
                "links":[{"from":"a","to":"b","rel":"called","start":"2024-05-01T09:30:00+06:00","duration":185,"cell":"ALA-0042"}]}"#,
        )
        .unwrap();
        let b = write(std::slice::from_ref(&r), &source(), when());
        let rel = objects(&b)
            .iter()
            .find(|o| o["type"] == "relationship")
            .unwrap();
        assert_eq!(rel["start_time"], "2024-05-01T03:30:00.000Z");
        assert_eq!(rel["stop_time"], "2024-05-01T03:33:05.000Z");
        assert_eq!(rel["description"], "called");
        let back = read(&b.to_string()).unwrap();
        assert_eq!(back.records, vec![r]);
    }

    /// What the bundle carries of `r`: everything but what its handling
    /// code keeps home, and an e-mail's unnamed fields (an address is one
    /// object shared by every record naming it).
    fn carried(r: &Record) -> Record {
        let mut r = r.clone();
        if r.handling == Handling::AmberStrict {
            r.summary = None;
            r.extra.clear();
        }
        for e in &mut r.entities {
            if let Entity::Email(m) = e {
                m.extra.clear();
            }
        }
        r
    }

    #[test]
    fn records_round_trip_through_stix() {
        let records = samples();
        let b = write(&records, &source(), when());
        let back = read(&serde_json::to_string_pretty(&b).unwrap()).unwrap();
        assert!(back.skipped.is_empty(), "{:?}", back.skipped);
        let want: Vec<Record> = records
            .iter()
            .filter(|r| r.handling != Handling::Red)
            .map(carried)
            .collect();
        assert_eq!(back.records.len(), want.len());
        for (got, want) in back.records.iter().zip(&want) {
            assert_eq!(got, want);
        }
        // Every field STIX carries, the unusual ones too.
        let edge = edge();
        let back = read(&write(&edge, &source(), when()).to_string()).unwrap();
        assert!(back.skipped.is_empty(), "{:?}", back.skipped);
        assert_eq!(back.records, edge.iter().map(carried).collect::<Vec<_>>());
    }

    /// `tests/formats/stix/edge.ndjson`: records with every unusual field.
    fn edge() -> Vec<Record> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/formats/stix/edge.ndjson");
        let text = std::fs::read_to_string(&path).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn links_to_missing_entities_are_refused_on_export() {
        let r: Record = serde_json::from_str(
            r#"{"id":"L","entities":[{"ref":"a","type":"phone","number":"1"}],"links":[{"from":"a","to":"zz","rel":"uses"}]}"#,
        )
        .unwrap();
        let (b, refused) = write_refusing(&[r], &source(), when());
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].item, "L/links/0");
        assert!(!objects(&b).iter().any(|o| o["type"] == "relationship"));
    }

    #[test]
    fn bad_files_get_a_clear_error() {
        assert!(matches!(read("{nope"), Err(ReadError::Json(_))));
        let e = read(r#"{"type":"indicator","id":"indicator--1"}"#).unwrap_err();
        assert!(
            e.to_string().contains("not a STIX 2.1 bundle") && e.to_string().contains("indicator"),
            "{e}"
        );
        assert!(matches!(read("[1,2]"), Err(ReadError::NotBundle(_))));
        assert!(matches!(
            read(r#"{"type":"bundle","id":"bundle--1"}"#),
            Err(ReadError::NotBundle(_))
        ));
    }

    #[test]
    fn foreign_bundles_import_what_liaison_carries_and_list_the_rest() {
        let bundle = r#"{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[
          {"type":"identity","spec_version":"2.1","id":"identity--aaaaaaaa-0000-4000-8000-000000000001","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","name":"CERT-KG","identity_class":"organization"},
          {"type":"phone-number","spec_version":"2.1","id":"phone-number--aaaaaaaa-0000-4000-8000-000000000002","value":"+996700000001","object_marking_refs":["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]},
          {"type":"identity","spec_version":"2.1","id":"identity--aaaaaaaa-0000-4000-8000-000000000003","created_by_ref":"identity--aaaaaaaa-0000-4000-8000-000000000001","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","name":"Ivanov Ivan","identity_class":"individual"},
          {"type":"relationship","spec_version":"2.1","id":"relationship--aaaaaaaa-0000-4000-8000-000000000004","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","relationship_type":"related-to","source_ref":"identity--aaaaaaaa-0000-4000-8000-000000000003","target_ref":"phone-number--aaaaaaaa-0000-4000-8000-000000000002"},
          {"type":"indicator","spec_version":"2.1","id":"indicator--aaaaaaaa-0000-4000-8000-000000000005","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z"},
          {"type":"identity","spec_version":"2.1","id":"identity--aaaaaaaa-0000-4000-8000-000000000006","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","name":"a sector","identity_class":"class"},
          {"type":"report","spec_version":"2.1","id":"report--aaaaaaaa-0000-4000-8000-000000000007","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","name":"R","description":"A report","published":"2024-01-01T00:00:00Z","confidence":70,
           "object_marking_refs":["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"],
           "object_refs":["email-addr--aaaaaaaa-0000-5000-8000-000000000008","user-account--aaaaaaaa-0000-4000-8000-000000000009"]},
          {"type":"email-addr","spec_version":"2.1","id":"email-addr--aaaaaaaa-0000-5000-8000-000000000008","value":"a@b.kg"},
          {"type":"user-account","spec_version":"2.1","id":"user-account--aaaaaaaa-0000-4000-8000-000000000009","user_id":"1001"},
          "garbage"
        ]}"#;
        let got = read(bundle).unwrap();
        let skipped: Vec<&str> = got.skipped.iter().map(|s| s.item.as_str()).collect();
        assert!(
            skipped.contains(&"indicator--aaaaaaaa-0000-4000-8000-000000000005"),
            "{skipped:?}"
        );
        assert!(
            skipped.contains(&"identity--aaaaaaaa-0000-4000-8000-000000000006"),
            "{skipped:?}"
        );
        assert!(
            skipped.contains(&"user-account--aaaaaaaa-0000-4000-8000-000000000009"),
            "{skipped:?}"
        );
        assert!(skipped.contains(&"objects/9"), "{skipped:?}");
        assert_eq!(got.records.len(), 2, "{:?}", got.records);
        let report = &got.records[0];
        assert_eq!(report.id, "report--aaaaaaaa-0000-4000-8000-000000000007");
        assert_eq!(report.summary.as_deref(), Some("A report"));
        assert_eq!(report.handling, Handling::Amber);
        assert_eq!(report.grading.map(|g| g.to_string()).as_deref(), Some("F2"));
        assert!(matches!(&report.entities[..], [Entity::Email(m)] if m.address == "a@b.kg"));
        let loose = &got.records[1];
        assert_eq!(loose.id, "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d");
        assert_eq!(loose.handling, Handling::Green);
        assert_eq!(
            loose.entities.len(),
            2,
            "the author CERT-KG is provenance, not an entity"
        );
        assert!(
            matches!(&loose.entities[1], Entity::Person(p) if p.full_name.as_deref() == Some("Ivanov Ivan"))
        );
        assert_eq!(loose.links.len(), 1);
        assert_eq!(loose.links[0].rel, "related-to");
        assert_eq!(
            loose.links[0].from,
            "identity--aaaaaaaa-0000-4000-8000-000000000003"
        );
    }

    /// The bundle for the NDJSON samples and `edge.ndjson`, byte for byte
    /// (`tests/formats/stix/golden/samples.json`, which
    /// `tests/formats_stix.rs` runs the reference validator on too).
    /// Regenerate with `LIAISON_BLESS=1` after a deliberate change:
    /// `LIAISON_BLESS=1 cargo test -p liaison --lib formats::stix::tests::golden_bundle`,
    /// and read the diff.
    #[test]
    fn golden_bundle() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/formats/stix/golden/samples.json");
        // NDJSON only, read by the record model: the golden file follows
        // this module, not the CSV and call-record readers.
        let mut records = Vec::new();
        for name in ["kg-border.ndjson", "tj-drug-control.ndjson"] {
            let text = std::fs::read_to_string(data(name)).unwrap();
            records.extend(
                text.lines()
                    .map(|l| serde_json::from_str::<Record>(l).unwrap()),
            );
        }
        records.extend(edge());
        let got = serde_json::to_string_pretty(&write(&records, &source(), when())).unwrap() + "\n";
        if std::env::var_os("LIAISON_BLESS").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &got).unwrap();
        }
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (write it with LIAISON_BLESS=1)", path.display()));
        assert!(
            got == want,
            "the bundle differs from {}: regenerate with LIAISON_BLESS=1 and read the diff",
            path.display()
        );
    }
}
