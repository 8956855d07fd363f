//! IBM i2 Analyst's Notebook charts: ANX XML out of records ([`write`]) and
//! back into records ([`read`]).
//!
//! # The chart
//!
//! - **Entities** are icons of the i2 type for their kind ([`ENTITY_TYPES`]:
//!   `Person`, `Telephone`, `Document`, `Vehicle`, `Organisation`,
//!   `Bank Account`, `Mobile Device`, `E-mail Address`). One entity named by
//!   several records is **one** icon: its chart identity is its first
//!   selector as the normaliser reads it (`phone:+996775987817`), so the
//!   same phone written `0775 987 817` in one record and `+996775987817` in
//!   another is one icon, as on the console's link chart. An entity with no
//!   selector is identified by its record and `ref` (`KG-1/p1`).
//! - **Links** are one chart link per record link, labelled and typed with
//!   its relation; a call (`called` with `start`, `duration`, `cell`) is a
//!   link with the call's date and time (`DateTime`, `DateSet`, `TimeSet`,
//!   in UTC with i2's UTC time zone when the start names its offset) and its
//!   duration as a number attribute.
//! - **Grades**: i2's three grade lists are the Admiralty source
//!   reliability (`GradeOne`, A–F), the information credibility
//!   (`GradeTwo`, 1–6) and the TLP 2.0 handling code (`GradeThree`); each
//!   list ends with `-` for an ungraded item, as anxwritter writes it. The
//!   code and the grading are also attributes (`Handling`, `Grading`).
//! - **Source**: every item's `SourceType` is the agency (listed in the
//!   chart's `SourceHints`), its `SourceReference` the ids of the records it
//!   comes from.
//! - **Cards**: every item carries one card per record it comes from
//!   (i2's own place for the report behind an item): the card's summary and
//!   source reference are the record id, its date the record's `created`,
//!   its grades the record's grading and handling, and its text the record's
//!   summary followed by a line `--- liaison` and the record's own view of
//!   the entity or link as `key: JSON value` lines (`ref: "t1"`,
//!   `number: "0775 987 817"`), with the record's other fields as
//!   `@record.country: "KGZ"` and the entity's place in the record as
//!   `@at: 1`. The icon's attributes show the fields as the first record
//!   wrote them; the cards keep each record's writing, so a chart from
//!   Liaison reads back into the very records it was made of.
//!
//! A record with no entity has nothing to draw and is left out of the
//! chart; a link whose `from` or `to` names no entity of its record is left
//! out too (the ingest refuses such records, so stored records have none).
//!
//! # Import
//!
//! Items that carry Liaison cards become the records the cards name (by
//! record id): a chart exported from Liaison, moved about and annotated by
//! an analyst, comes back as the same records. Items without such cards
//! (drawn by the analyst, or from a chart made elsewhere) become records
//! one per chart item: an entity becomes a record of that one entity
//! (`ANX:<identity>`), a link a record of its two ends and the link
//! (`ANX:<identity 1>-><identity 2>:<type>`). One record per item because
//! in i2 grading, source and handling belong to each item, and in Liaison
//! to each record: a record per item keeps every item's grades exactly,
//! and the same phone in several such records still matches as one
//! selector. Everything else — other representations (boxes, circles,
//! theme lines, text blocks), unknown entity types, links to an end that is
//! missing or was refused — is listed in [`Imported::skipped`] by its chart
//! identity with the reason.

use std::collections::HashMap;
use std::fmt::Write as _;

use liaison_protocol::normalize::{entity_selectors, Context};
use liaison_protocol::record::{Entity, Grading, Handling, Link, Record};
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use super::{Imported, Skipped, Source};

/// Liaison's entity types and the i2 entity type each is charted as.
pub const ENTITY_TYPES: [(&str, &str); 8] = [
    ("person", "Person"),
    ("phone", "Telephone"),
    ("document", "Document"),
    ("vehicle", "Vehicle"),
    ("organization", "Organisation"),
    ("account", "Bank Account"),
    ("device", "Mobile Device"),
    ("email", "E-mail Address"),
];

/// Other i2 entity type names import reads as Liaison's (lower case).
const TYPE_ALIASES: [(&str, &str); 22] = [
    ("individual", "person"),
    ("phone", "phone"),
    ("mobile phone", "phone"),
    ("mobile telephone", "phone"),
    ("telephone number", "phone"),
    ("phone number", "phone"),
    ("cell phone", "phone"),
    ("passport", "document"),
    ("identity document", "document"),
    ("travel document", "document"),
    ("id card", "document"),
    ("car", "vehicle"),
    ("lorry", "vehicle"),
    ("truck", "vehicle"),
    ("organization", "organization"),
    ("company", "organization"),
    ("account", "account"),
    ("device", "device"),
    ("mobile handset", "device"),
    ("handset", "device"),
    ("email", "email"),
    ("email address", "email"),
];

/// Entity fields and the attribute class each is shown as.
const FIELD_CLASSES: [(&str, &str, &str); 22] = [
    ("person", "surname", "Surname"),
    ("person", "given", "Given name"),
    ("person", "patronymic", "Patronymic"),
    ("person", "full_name", "Full name"),
    ("person", "dob", "Date of birth"),
    ("person", "nationality", "Nationality"),
    ("phone", "number", "Phone number"),
    ("document", "doc_type", "Document type"),
    ("document", "country", "Issuing country"),
    ("document", "number", "Document number"),
    ("vehicle", "plate", "Plate"),
    ("vehicle", "country", "Registration country"),
    ("vehicle", "vin", "VIN"),
    ("organization", "name", "Organisation name"),
    ("organization", "reg_number", "Registration number"),
    ("organization", "country", "Country of registration"),
    ("account", "iban", "IBAN"),
    ("account", "bank", "Bank"),
    ("account", "number", "Account number"),
    ("device", "imei", "IMEI"),
    ("email", "address", "E-mail address"),
    ("email", "address", "Email"),
];

/// Link fields and the attribute class each is shown as.
const LINK_CLASSES: [(&str, &str); 3] = [
    ("start", "Start"),
    ("duration", "Duration (s)"),
    ("cell", "Cell"),
];

/// The attribute classes every item carries.
const RECORD_CLASS: &str = "Liaison record";
const HANDLING_CLASS: &str = "Handling";
const GRADING_CLASS: &str = "Grading";

/// `GradeOne`: Admiralty source reliability.
const GRADE_ONE: [&str; 6] = [
    "A - Completely reliable",
    "B - Usually reliable",
    "C - Fairly reliable",
    "D - Not usually reliable",
    "E - Unreliable",
    "F - Reliability cannot be judged",
];

/// `GradeTwo`: Admiralty information credibility.
const GRADE_TWO: [&str; 6] = [
    "1 - Confirmed by other sources",
    "2 - Probably true",
    "3 - Possibly true",
    "4 - Doubtful",
    "5 - Improbable",
    "6 - Truth cannot be judged",
];

/// The last entry of every grade list: not graded.
const UNGRADED: &str = "-";

/// The line that starts the structured part of a Liaison card's text.
const MARKER: &str = "--- liaison";

/// i2's time zone id for UTC.
const UTC_ZONE: &str = "1";

// ---------------------------------------------------------------------------
// Export
// ---------------------------------------------------------------------------

/// An attribute's value, typed as i2 types attribute classes.
#[derive(Debug, Clone, PartialEq)]
enum AttValue {
    Text(String),
    Number(String),
    Flag(bool),
}

impl AttValue {
    fn of(v: &Value) -> AttValue {
        match v {
            Value::String(s) => AttValue::Text(s.clone()),
            Value::Number(n) => AttValue::Number(n.to_string()),
            Value::Bool(b) => AttValue::Flag(*b),
            other => AttValue::Text(other.to_string()),
        }
    }

    fn class_type(&self) -> &'static str {
        match self {
            AttValue::Text(_) => "AttText",
            AttValue::Number(_) => "AttNumber",
            AttValue::Flag(_) => "AttFlag",
        }
    }

    fn text(&self) -> String {
        match self {
            AttValue::Text(s) | AttValue::Number(s) => s.clone(),
            AttValue::Flag(b) => b.to_string(),
        }
    }
}

/// A date and time as i2 writes it.
#[derive(Debug, Clone)]
struct When {
    /// `2024-05-01T09:30:00.000`.
    date_time: String,
    time_set: bool,
    /// The time is UTC (its offset was written and it was converted).
    utc: bool,
}

/// One record's card on an item.
#[derive(Debug)]
struct CardOut {
    record: String,
    text: String,
    when: Option<When>,
    grading: Option<Grading>,
    handling: Handling,
}

#[derive(Debug)]
struct EntityItem {
    identity: String,
    anx_type: &'static str,
    label: String,
    attrs: Vec<(String, AttValue)>,
    cards: Vec<CardOut>,
    records: Vec<String>,
    grading: Option<Grading>,
    handling: Handling,
}

#[derive(Debug)]
struct LinkItem {
    end1: usize,
    end2: usize,
    rel: String,
    when: Option<When>,
    attrs: Vec<(String, AttValue)>,
    card: CardOut,
    record: String,
    grading: Option<Grading>,
    handling: Handling,
}

/// The attribute classes in order of first use, each with one type.
#[derive(Debug, Default)]
struct Classes {
    list: Vec<(String, &'static str)>,
    index: HashMap<String, usize>,
}

impl Classes {
    /// The class for a value named `name`: `name` itself, or `name (text)`
    /// when `name` already holds values of another type.
    fn class(&mut self, name: &str, value: &AttValue) -> String {
        let ty = value.class_type();
        let mut name = name.to_owned();
        loop {
            match self.index.get(&name) {
                Some(&i) if self.list[i].1 == ty => return name,
                Some(_) => name = format!("{name} (text)"),
                None => {
                    self.index.insert(name.clone(), self.list.len());
                    self.list.push((name.clone(), ty));
                    return name;
                }
            }
        }
    }
}

fn anx_type_of(liaison: &str) -> &'static str {
    ENTITY_TYPES
        .iter()
        .find(|(l, _)| *l == liaison)
        .map(|(_, a)| *a)
        .unwrap_or("Entity")
}

fn field_class(ty: &str, field: &str) -> Option<&'static str> {
    FIELD_CLASSES
        .iter()
        .find(|(t, f, _)| *t == ty && *f == field)
        .map(|(_, _, c)| *c)
}

/// A date and time written as RFC 3339 (converted to UTC),
/// `YYYY-MM-DD HH:MM:SS`, `YYYY-MM-DDTHH:MM:SS` (local, as written) or a
/// date alone.
fn when_of(s: &str) -> Option<When> {
    let s = s.trim();
    let out = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].000");
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        let t = t.to_offset(UtcOffset::UTC);
        return Some(When {
            date_time: t.format(&out).ok()?,
            time_set: true,
            utc: true,
        });
    }
    for fmt in [
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
    ] {
        if let Ok(t) = PrimitiveDateTime::parse(s, &fmt) {
            return Some(When {
                date_time: t.format(&out).ok()?,
                time_set: true,
                utc: false,
            });
        }
    }
    let d = time::Date::parse(s, &format_description!("[year]-[month]-[day]")).ok()?;
    Some(When {
        date_time: format!("{}T00:00:00.000", d),
        time_set: false,
        utc: false,
    })
}

/// The record's fields other than its id, summary, grading, handling,
/// entities and links, as `@record.NAME` lines.
fn record_lines(r: &Record) -> String {
    let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
    let mut out = String::new();
    if let Some(m) = v.as_object_mut() {
        for k in ["id", "summary", "grading", "handling", "entities", "links"] {
            m.remove(k);
        }
        for (k, v) in m.iter() {
            let _ = writeln!(out, "@record.{k}: {v}");
        }
    }
    out
}

/// A card's text: the summary, the marker, and `lines`.
fn card_text(summary: Option<&str>, lines: &str) -> String {
    let mut t = String::new();
    if let Some(s) = summary {
        t.push_str(s);
        t.push('\n');
    }
    t.push_str(MARKER);
    t.push('\n');
    t.push_str(lines.trim_end_matches('\n'));
    t
}

fn object_lines(m: &Map<String, Value>) -> String {
    let mut out = String::new();
    for (k, v) in m {
        let _ = writeln!(out, "{k}: {v}");
    }
    out
}

/// The chart identity of an entity of a record.
fn identity_of(entity: &Entity, record: &Record, at: usize) -> String {
    let ctx = Context {
        country: record.country,
    };
    let mut selectors = Vec::new();
    if entity_selectors(entity, &ctx, &mut selectors).is_ok() {
        if let Some(s) = selectors.first() {
            return format!("{}:{}", s.kind, s.value);
        }
    }
    match entity.reference() {
        Some(r) => format!("{}/{}", record.id, r),
        None => format!("{}/#{}", record.id, at + 1),
    }
}

/// The ANX XML of a chart of `records`, held by `source`: what Analyst's
/// Notebook 8 and 9 import (File > Import, or open as `.anx`). The text is
/// UTF-8 and says so; [`encode_utf16`] gives the UTF-16 file Analyst's
/// Notebook itself writes.
pub fn write(records: &[Record], source: &Source) -> String {
    let mut entities: Vec<EntityItem> = Vec::new();
    let mut by_identity: HashMap<String, usize> = HashMap::new();
    let mut links: Vec<LinkItem> = Vec::new();

    for r in records {
        let rec_lines = record_lines(r);
        let when = r
            .created
            .and_then(|c| c.format(&Rfc3339).ok())
            .and_then(|c| when_of(&c));
        let card = |lines: &str| CardOut {
            record: r.id.clone(),
            text: card_text(r.summary.as_deref(), lines),
            when: when.clone(),
            grading: r.grading,
            handling: r.handling,
        };
        let mut refs: HashMap<&str, usize> = HashMap::new();
        for (at, e) in r.entities.iter().enumerate() {
            let identity = identity_of(e, r, at);
            let Ok(Value::Object(m)) = serde_json::to_value(e) else {
                continue;
            };
            let lines = format!("{rec_lines}@at: {at}\n{}", object_lines(&m));
            let idx = match by_identity.get(&identity) {
                Some(&i) => i,
                None => {
                    let ty = e.type_name();
                    let attrs = m
                        .iter()
                        .filter(|(k, _)| *k != "type" && *k != "ref")
                        .map(|(k, v)| {
                            let class = field_class(ty, k).unwrap_or(k.as_str()).to_owned();
                            (class, AttValue::of(v))
                        })
                        .collect();
                    entities.push(EntityItem {
                        label: super::entity_label(&m, &identity),
                        identity: identity.clone(),
                        anx_type: anx_type_of(ty),
                        attrs,
                        cards: Vec::new(),
                        records: Vec::new(),
                        grading: r.grading,
                        handling: r.handling,
                    });
                    by_identity.insert(identity, entities.len() - 1);
                    entities.len() - 1
                }
            };
            let item = &mut entities[idx];
            item.cards.push(card(&lines));
            if !item.records.contains(&r.id) {
                item.records.push(r.id.clone());
            }
            item.handling = item.handling.max(r.handling);
            if let Some(reference) = e.reference() {
                refs.insert(reference, idx);
            }
        }
        for (at, l) in r.links.iter().enumerate() {
            let (Some(&end1), Some(&end2)) = (refs.get(l.from.as_str()), refs.get(l.to.as_str()))
            else {
                continue;
            };
            let Ok(Value::Object(m)) = serde_json::to_value(l) else {
                continue;
            };
            let lines = format!("{rec_lines}@at: {at}\n{}", object_lines(&m));
            let attrs = l
                .extra
                .iter()
                .map(|(k, v)| {
                    let class = LINK_CLASSES
                        .iter()
                        .find(|(f, _)| f == k)
                        .map(|(_, c)| *c)
                        .unwrap_or(k.as_str());
                    (class.to_owned(), AttValue::of(v))
                })
                .collect();
            links.push(LinkItem {
                end1,
                end2,
                rel: l.rel.clone(),
                when: l
                    .extra
                    .get("start")
                    .and_then(Value::as_str)
                    .and_then(when_of),
                attrs,
                card: card(&lines),
                record: r.id.clone(),
                grading: r.grading,
                handling: r.handling,
            });
        }
    }
    Chart {
        entities,
        links,
        source,
    }
    .xml()
}

/// A chart ready to be written.
#[derive(Debug)]
struct Chart<'a> {
    entities: Vec<EntityItem>,
    links: Vec<LinkItem>,
    source: &'a Source,
}

/// An indenting XML writer: two spaces a level, attributes in the order
/// given, values escaped so that they read back exactly (line breaks and
/// tabs as character references; characters XML 1.0 cannot hold as
/// U+FFFD).
#[derive(Debug, Default)]
struct Xml {
    out: String,
    depth: usize,
    next_id: usize,
}

impl Xml {
    fn id(&mut self) -> String {
        self.next_id += 1;
        format!("ID{}", self.next_id)
    }

    fn tag(&mut self, name: &str, attrs: &[(&str, &str)], empty: bool) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            self.out.push(' ');
            self.out.push_str(k);
            self.out.push_str("=\"");
            escape_into(&mut self.out, v);
            self.out.push('"');
        }
        self.out.push_str(if empty { "/>\n" } else { ">\n" });
        if !empty {
            self.depth += 1;
        }
    }

    fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.tag(name, attrs, false);
    }

    fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.tag(name, attrs, true);
    }

    fn close(&mut self, name: &str) {
        self.depth -= 1;
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }
}

fn escape_into(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

fn grade_one_index(g: Option<Grading>) -> String {
    match g {
        Some(g) => (g.reliability as u32 - 'A' as u32).to_string(),
        None => GRADE_ONE.len().to_string(),
    }
}

fn grade_two_index(g: Option<Grading>) -> String {
    match g {
        Some(g) => (u32::from(g.credibility) - 1).to_string(),
        None => GRADE_TWO.len().to_string(),
    }
}

fn grade_three_index(h: Handling) -> String {
    Handling::ALL
        .iter()
        .position(|x| *x == h)
        .unwrap_or(0)
        .to_string()
}

impl Chart<'_> {
    fn item_attrs(
        attrs: &[(String, AttValue)],
        records: &[String],
        grading: Option<Grading>,
        handling: Handling,
    ) -> Vec<(String, AttValue)> {
        let mut all = attrs.to_vec();
        all.push((RECORD_CLASS.into(), AttValue::Text(records.join("; "))));
        all.push((HANDLING_CLASS.into(), AttValue::Text(handling.to_string())));
        if let Some(g) = grading {
            all.push((GRADING_CLASS.into(), AttValue::Text(g.to_string())));
        }
        all
    }

    fn xml(self) -> String {
        let mut classes = Classes::default();
        // Resolve every item's attribute classes first: the collection
        // comes before the items.
        let entity_attrs: Vec<Vec<(String, AttValue)>> = self
            .entities
            .iter()
            .map(|e| {
                Self::item_attrs(&e.attrs, &e.records, e.grading, e.handling)
                    .into_iter()
                    .map(|(n, v)| (classes.class(&n, &v), v))
                    .collect()
            })
            .collect();
        let link_attrs: Vec<Vec<(String, AttValue)>> = self
            .links
            .iter()
            .map(|l| {
                Self::item_attrs(
                    &l.attrs,
                    std::slice::from_ref(&l.record),
                    l.grading,
                    l.handling,
                )
                .into_iter()
                .map(|(n, v)| (classes.class(&n, &v), v))
                .collect()
            })
            .collect();
        let mut entity_types: Vec<&'static str> = Vec::new();
        for e in &self.entities {
            if !entity_types.contains(&e.anx_type) {
                entity_types.push(e.anx_type);
            }
        }
        let mut link_types: Vec<&str> = Vec::new();
        for l in &self.links {
            if !link_types.contains(&l.rel.as_str()) {
                link_types.push(&l.rel);
            }
        }
        let agency = self.source.agency.as_str();

        let mut x = Xml::default();
        x.out
            .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        x.open("Chart", &[]);
        x.empty(
            "ApplicationVersion",
            &[
                ("Major", "9"),
                ("Minor", "0"),
                ("Point", "0"),
                ("Build", "0"),
            ],
        );
        x.open("StrengthCollection", &[]);
        let id = x.id();
        x.empty(
            "Strength",
            &[
                ("Id", &id),
                ("Name", "Default"),
                ("DotStyle", "DotStyleSolid"),
            ],
        );
        x.close("StrengthCollection");
        let handling_names: Vec<&str> = Handling::ALL.iter().map(|h| h.as_str()).collect();
        for (tag, names) in [
            ("GradeOne", &GRADE_ONE[..]),
            ("GradeTwo", &GRADE_TWO[..]),
            ("GradeThree", &handling_names[..]),
            ("SourceHints", &[agency][..]),
        ] {
            x.open(tag, &[]);
            x.open("StringCollection", &[]);
            for n in names {
                let id = x.id();
                x.empty("String", &[("Id", &id), ("Text", n)]);
            }
            if tag != "SourceHints" {
                let id = x.id();
                x.empty("String", &[("Id", &id), ("Text", UNGRADED)]);
            }
            x.close("StringCollection");
            x.close(tag);
        }
        let mut class_ids: HashMap<String, String> = HashMap::new();
        if !classes.list.is_empty() {
            x.open("AttributeClassCollection", &[]);
            for (name, ty) in &classes.list {
                let id = x.id();
                x.empty(
                    "AttributeClass",
                    &[
                        ("Id", &id),
                        ("Name", name),
                        ("Type", ty),
                        ("IsUser", "true"),
                        ("UserCanAdd", "true"),
                        ("UserCanRemove", "true"),
                        ("ShowValue", "true"),
                    ],
                );
                class_ids.insert(name.clone(), id);
            }
            x.close("AttributeClassCollection");
        }
        let mut type_ids: HashMap<&str, String> = HashMap::new();
        if !entity_types.is_empty() {
            x.open("EntityTypeCollection", &[]);
            for t in &entity_types {
                let id = x.id();
                x.empty(
                    "EntityType",
                    &[
                        ("Id", &id),
                        ("Name", t),
                        ("PreferredRepresentation", "RepresentAsIcon"),
                    ],
                );
                type_ids.insert(t, id);
            }
            x.close("EntityTypeCollection");
        }
        let mut link_type_ids: HashMap<&str, String> = HashMap::new();
        if !link_types.is_empty() {
            x.open("LinkTypeCollection", &[]);
            for t in &link_types {
                let id = x.id();
                x.empty("LinkType", &[("Id", &id), ("Name", t)]);
                link_type_ids.insert(t, id);
            }
            x.close("LinkTypeCollection");
        }

        x.open("ChartItemCollection", &[]);
        let cols = (self.entities.len() as f64).sqrt().ceil().max(1.0) as usize;
        for (i, e) in self.entities.iter().enumerate() {
            let (px, py) = (
                ((i % cols) * 200).to_string(),
                ((i / cols) * 200).to_string(),
            );
            let id = x.id();
            let records = e.records.join("; ");
            let g1 = grade_one_index(e.grading);
            let g2 = grade_two_index(e.grading);
            let g3 = grade_three_index(e.handling);
            let mut attrs: Vec<(&str, &str)> = vec![
                ("Id", &id),
                ("Label", &e.label),
                ("SourceReference", &records),
                ("SourceType", agency),
                ("GradeOneIndex", &g1),
                ("GradeTwoIndex", &g2),
                ("GradeThreeIndex", &g3),
            ];
            // As anxwritter writes it: no XPosition for an item at the origin.
            if i != 0 {
                attrs.push(("XPosition", &px));
            }
            x.open("ChartItem", &attrs);
            x.open("End", &[("X", &px), ("Y", &py), ("Z", "0")]);
            let entity_id = (i + 1).to_string();
            let label_is_identity = if e.label == e.identity {
                "true"
            } else {
                "false"
            };
            x.open(
                "Entity",
                &[
                    ("EntityId", &entity_id),
                    ("Identity", &e.identity),
                    ("LabelIsIdentity", label_is_identity),
                ],
            );
            x.open("Icon", &[]);
            x.empty(
                "IconStyle",
                &[
                    ("Type", e.anx_type),
                    ("EntityTypeReference", &type_ids[e.anx_type]),
                ],
            );
            x.close("Icon");
            write_cards(&mut x, &e.cards, agency);
            x.close("Entity");
            x.close("End");
            write_attributes(&mut x, &entity_attrs[i], &class_ids);
            x.close("ChartItem");
        }
        let offsets = link_offsets(&self.links);
        for (i, l) in self.links.iter().enumerate() {
            let id = x.id();
            let g1 = grade_one_index(l.grading);
            let g2 = grade_two_index(l.grading);
            let g3 = grade_three_index(l.handling);
            let mut attrs: Vec<(&str, &str)> = vec![("Id", &id), ("Label", &l.rel)];
            if let Some(w) = &l.when {
                attrs.push(("DateSet", "true"));
                if w.time_set {
                    attrs.push(("TimeSet", "true"));
                }
            }
            attrs.extend([
                ("SourceReference", l.record.as_str()),
                ("SourceType", agency),
                ("GradeOneIndex", &g1),
                ("GradeTwoIndex", &g2),
                ("GradeThreeIndex", &g3),
            ]);
            if let Some(w) = &l.when {
                attrs.push(("DateTime", &w.date_time));
            }
            x.open("ChartItem", &attrs);
            let (e1, e2) = ((l.end1 + 1).to_string(), (l.end2 + 1).to_string());
            let offset = offsets[i].to_string();
            let mut ends: Vec<(&str, &str)> = vec![("End1Id", &e1), ("End2Id", &e2)];
            if offsets[i] != 0 {
                ends.push(("Offset", &offset));
            }
            x.open("Link", &ends);
            write_cards(&mut x, std::slice::from_ref(&l.card), agency);
            x.empty(
                "LinkStyle",
                &[
                    ("Strength", "Default"),
                    ("ArrowStyle", "ArrowOnHead"),
                    ("Type", &l.rel),
                    ("LinkTypeReference", &link_type_ids[l.rel.as_str()]),
                ],
            );
            x.close("Link");
            write_attributes(&mut x, &link_attrs[i], &class_ids);
            if l.when.as_ref().is_some_and(|w| w.utc) {
                x.empty("TimeZone", &[("UniqueID", UTC_ZONE), ("Name", "UTC")]);
            }
            x.close("ChartItem");
        }
        x.close("ChartItemCollection");

        x.open("PaletteCollection", &[]);
        x.open("Palette", &[("Name", "Liaison")]);
        if !classes.list.is_empty() {
            x.open("AttributeClassEntryCollection", &[]);
            for (name, _) in &classes.list {
                x.empty(
                    "AttributeClassEntry",
                    &[
                        ("AttributeClass", name),
                        ("AttributeClassReference", &class_ids[name]),
                    ],
                );
            }
            x.close("AttributeClassEntryCollection");
        }
        if !entity_types.is_empty() {
            x.open("EntityTypeEntryCollection", &[]);
            for t in &entity_types {
                x.empty(
                    "EntityTypeEntry",
                    &[("Entity", t), ("EntityTypeReference", &type_ids[t])],
                );
            }
            x.close("EntityTypeEntryCollection");
        }
        if !link_types.is_empty() {
            x.open("LinkTypeEntryCollection", &[]);
            for t in &link_types {
                x.empty(
                    "LinkTypeEntry",
                    &[("LinkType", t), ("LinkTypeReference", &link_type_ids[t])],
                );
            }
            x.close("LinkTypeEntryCollection");
        }
        x.close("Palette");
        x.close("PaletteCollection");
        x.close("Chart");
        x.out
    }
}

/// Arcs for parallel links (the same two ends, the same way round), so
/// that they are drawn apart: spread symmetrically 20 units apart, as
/// anxwritter spreads them (`10, -10, 30, -30...` for an even count, `0, 20,
/// -20...` for an odd one).
fn link_offsets(links: &[LinkItem]) -> Vec<i64> {
    const SPACING: i64 = 20;
    let mut groups: HashMap<(usize, usize), Vec<usize>> = HashMap::new();
    for (i, l) in links.iter().enumerate() {
        if l.end1 != l.end2 {
            groups.entry((l.end1, l.end2)).or_default().push(i);
        }
    }
    let mut out = vec![0; links.len()];
    for indices in groups.values() {
        let n = indices.len();
        if n < 2 {
            continue;
        }
        let mut spread = Vec::with_capacity(n);
        if n % 2 == 0 {
            for k in 0..n / 2 {
                let m = SPACING / 2 + k as i64 * SPACING;
                spread.extend([m, -m]);
            }
        } else {
            spread.push(0);
            for k in 1..=n / 2 {
                let m = k as i64 * SPACING;
                spread.extend([m, -m]);
            }
        }
        for (&i, off) in indices.iter().zip(spread) {
            out[i] = off;
        }
    }
    out
}

fn write_cards(x: &mut Xml, cards: &[CardOut], agency: &str) {
    if cards.is_empty() {
        return;
    }
    x.open("CardCollection", &[]);
    for c in cards {
        let g1 = grade_one_index(c.grading);
        let g2 = grade_two_index(c.grading);
        let g3 = grade_three_index(c.handling);
        let mut attrs: Vec<(&str, &str)> = vec![("Summary", &c.record)];
        if let Some(w) = &c.when {
            attrs.push(("DateSet", "true"));
            if w.time_set {
                attrs.push(("TimeSet", "true"));
            }
            attrs.push(("DateTime", &w.date_time));
        }
        attrs.extend([
            ("GradeOneIndex", g1.as_str()),
            ("GradeTwoIndex", &g2),
            ("GradeThreeIndex", &g3),
            ("SourceReference", &c.record),
            ("SourceType", agency),
            ("Text", &c.text),
        ]);
        if c.when.as_ref().is_some_and(|w| w.utc) {
            x.open("Card", &attrs);
            x.empty("TimeZone", &[("UniqueID", UTC_ZONE), ("Name", "UTC")]);
            x.close("Card");
        } else {
            x.empty("Card", &attrs);
        }
    }
    x.close("CardCollection");
}

fn write_attributes(x: &mut Xml, attrs: &[(String, AttValue)], ids: &HashMap<String, String>) {
    if attrs.is_empty() {
        return;
    }
    x.open("AttributeCollection", &[]);
    for (class, v) in attrs {
        let value = v.text();
        x.empty(
            "Attribute",
            &[
                ("AttributeClass", class),
                ("AttributeClassReference", &ids[class]),
                ("Value", &value),
            ],
        );
    }
    x.close("AttributeCollection");
}

/// The chart as Analyst's Notebook writes `.anx` files: UTF-16
/// little-endian with a byte-order mark, the declaration saying so.
pub fn encode_utf16(xml: &str) -> Vec<u8> {
    let xml = xml.replacen(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
        "<?xml version=\"1.0\" encoding=\"UTF-16\"?>",
        1,
    );
    let mut out = vec![0xFF, 0xFE];
    for u in xml.encode_utf16() {
        out.extend_from_slice(&u.to_le_bytes());
    }
    out
}

/// The text of an `.anx` file: UTF-16 (little- or big-endian, by its
/// byte-order mark, as Analyst's Notebook writes it) or UTF-8 (with or
/// without a mark). An error names the byte offset that does not decode.
pub fn decode(bytes: &[u8]) -> Result<String, String> {
    let utf16 = |rest: &[u8], le: bool| -> Result<String, String> {
        if rest.len() % 2 != 0 {
            return Err(format!(
                "the file is UTF-16 by its byte-order mark but has an odd length ({} bytes)",
                rest.len() + 2
            ));
        }
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        let mut out = String::with_capacity(units.len());
        for (i, c) in char::decode_utf16(units.iter().copied()).enumerate() {
            out.push(c.map_err(|_| {
                format!(
                    "invalid UTF-16 at byte {}: an unpaired surrogate",
                    2 + 2 * i
                )
            })?);
        }
        Ok(out)
    };
    match bytes {
        [0xFF, 0xFE, rest @ ..] => utf16(rest, true),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, false),
        [0xEF, 0xBB, 0xBF, rest @ ..] => std::str::from_utf8(rest)
            .map(str::to_owned)
            .map_err(|e| format!("invalid UTF-8 at byte {}", 3 + e.valid_up_to())),
        _ => std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|e| format!("invalid UTF-8 at byte {}", e.valid_up_to())),
    }
}

// ---------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------

/// An element of the chart: its name, attributes and child elements (ANX
/// keeps everything in attributes; text is ignored).
#[derive(Debug, Default, Clone)]
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Node>,
}

impl Node {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

fn element(e: &BytesStart<'_>, at: u64) -> Result<Node, String> {
    let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| format!("not XML: {err} in <{name}> near byte {at}"))?;
        let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|err| format!("not XML: {err} in <{name}> near byte {at}"))?;
        attrs.push((key, value.into_owned()));
    }
    Ok(Node {
        name,
        attrs,
        children: Vec::new(),
    })
}

/// The document's root element, or why the text is not XML.
fn parse(xml: &str) -> Result<Node, String> {
    let mut reader = Reader::from_str(xml.strip_prefix('\u{FEFF}').unwrap_or(xml));
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    loop {
        let at = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| format!("not XML: {e} at byte {}", reader.error_position()))?;
        match event {
            Event::Start(e) => {
                if root.is_some() {
                    return Err(format!("not XML: a second root element near byte {at}"));
                }
                stack.push(element(&e, at)?);
            }
            Event::Empty(e) => {
                let node = element(&e, at)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None if root.is_none() => root = Some(node),
                    None => return Err(format!("not XML: a second root element near byte {at}")),
                }
            }
            Event::End(_) => {
                let node = stack
                    .pop()
                    .ok_or_else(|| format!("not XML: a stray end tag at byte {at}"))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::Text(t) if stack.is_empty() && !t.iter().all(u8::is_ascii_whitespace) => {
                return Err(format!(
                    "not XML: text outside the root element at byte {at}"
                ));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(format!(
            "not XML: the file ends inside <{}>",
            stack.last().map(|n| n.name.as_str()).unwrap_or("")
        ));
    }
    root.ok_or_else(|| "not XML: no root element (is the file empty?)".to_owned())
}

/// A chart's grade lists, read by index.
#[derive(Debug, Default)]
struct Grades {
    one: Vec<String>,
    two: Vec<String>,
    three: Vec<String>,
}

impl Grades {
    fn of(chart: &Node) -> Grades {
        let list = |tag: &str| -> Vec<String> {
            chart
                .child(tag)
                .and_then(|g| g.child("StringCollection"))
                .map(|s| {
                    s.all("String")
                        .map(|n| n.attr("Text").unwrap_or("").to_owned())
                        .collect()
                })
                .unwrap_or_default()
        };
        Grades {
            one: list("GradeOne"),
            two: list("GradeTwo"),
            three: list("GradeThree"),
        }
    }

    fn text<'a>(list: &'a [String], node: &Node, attr: &str) -> Option<&'a str> {
        let i: usize = node.attr(attr)?.trim().parse().ok()?;
        list.get(i).map(String::as_str)
    }

    /// The Admiralty grading of an item or card: the source letter of its
    /// GradeOne and the digit of its GradeTwo (`B - Usually reliable`,
    /// `2 - Probably true`, or `B` and `2` alone).
    fn grading(&self, node: &Node) -> Option<Grading> {
        let lead = |t: &str| -> Option<char> {
            let t = t.trim();
            let mut chars = t.chars();
            let c = chars.next()?;
            match chars.next() {
                None => Some(c),
                Some(n) if n.is_whitespace() || "-–—:.)".contains(n) => Some(c),
                _ => None,
            }
        };
        let r = lead(Self::text(&self.one, node, "GradeOneIndex")?)?;
        let c = lead(Self::text(&self.two, node, "GradeTwoIndex")?)?;
        format!("{r}{c}").parse().ok()
    }

    fn handling(&self, node: &Node) -> Option<Handling> {
        Self::text(&self.three, node, "GradeThreeIndex")?
            .parse()
            .ok()
    }
}

/// One chart entity as read.
#[derive(Debug)]
struct EntityIn<'a> {
    item: &'a Node,
    entity: &'a Node,
    /// How the entity is named in skips: its identity, else its label.
    name: String,
}

/// A Liaison card read back: the record it comes from and its view.
#[derive(Debug)]
struct CardIn {
    record: String,
    summary: Option<String>,
    record_fields: Map<String, Value>,
    at: usize,
    object: Map<String, Value>,
    grading: Option<Grading>,
    handling: Option<Handling>,
}

/// A card's Liaison part, if it has one; `Err` when it has one that does
/// not read.
fn liaison_card(card: &Node, grades: &Grades) -> Option<Result<CardIn, String>> {
    let text = card.attr("Text")?;
    let (summary, lines) = match text.rfind(&format!("\n{MARKER}\n")) {
        Some(i) => (Some(text[..i].to_owned()), &text[i + MARKER.len() + 2..]),
        None => (None, text.strip_prefix(&format!("{MARKER}\n"))?),
    };
    let record = card.attr("Summary").unwrap_or("").trim().to_owned();
    Some((|| {
        if record.is_empty() {
            return Err("its Liaison card has no record id in its summary".to_owned());
        }
        let mut record_fields = Map::new();
        let mut object = Map::new();
        let mut at = None;
        for line in lines.lines().filter(|l| !l.trim().is_empty()) {
            let (k, v) = line
                .split_once(": ")
                .ok_or_else(|| format!("card of {record}: line {line:?} is not `key: value`"))?;
            let v: Value = serde_json::from_str(v)
                .map_err(|e| format!("card of {record}: the value of {k} is not JSON: {e}"))?;
            if let Some(field) = k.strip_prefix("@record.") {
                record_fields.insert(field.to_owned(), v);
            } else if k == "@at" {
                at = v.as_u64().map(|n| n as usize);
            } else {
                object.insert(k.to_owned(), v);
            }
        }
        Ok(CardIn {
            record,
            summary,
            record_fields,
            at: at.unwrap_or(usize::MAX),
            object,
            grading: grades.grading(card),
            handling: grades.handling(card),
        })
    })())
}

/// The Liaison entity type an i2 entity type names, if any.
fn liaison_type(anx: &str) -> Option<&'static str> {
    let t = anx.trim().to_lowercase();
    ENTITY_TYPES
        .iter()
        .find(|(l, a)| a.to_lowercase() == t || *l == t)
        .map(|(l, _)| *l)
        .or_else(|| TYPE_ALIASES.iter().find(|(a, _)| *a == t).map(|(_, l)| *l))
}

fn understood_types() -> String {
    ENTITY_TYPES
        .iter()
        .map(|(_, a)| *a)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The entity an item without Liaison cards stands for: its type from the
/// icon, its fields from its attributes (by class name, or the field's own
/// name), the key field from the label or identity when no attribute gives
/// it; attributes of no field kept as the entity's extra fields.
fn foreign_entity(e: &EntityIn<'_>, ty: &str) -> Result<(Entity, Map<String, Value>), String> {
    let mut fields = Map::new();
    let mut record_level = Map::new();
    fields.insert("type".into(), Value::String(ty.into()));
    for a in e
        .item
        .child("AttributeCollection")
        .into_iter()
        .flat_map(|c| c.all("Attribute"))
    {
        let class = a.attr("AttributeClass").unwrap_or("").trim();
        let value = a.attr("Value").unwrap_or("");
        if class.is_empty() {
            continue;
        }
        let lower = class.to_lowercase();
        if [RECORD_CLASS, HANDLING_CLASS, GRADING_CLASS]
            .iter()
            .any(|c| c.to_lowercase() == lower)
        {
            record_level.insert(lower, Value::String(value.to_owned()));
            continue;
        }
        let field = FIELD_CLASSES
            .iter()
            .find(|(t, f, c)| *t == ty && (c.to_lowercase() == lower || *f == lower))
            .map(|(_, f, _)| *f);
        match field {
            Some(f) => {
                fields.insert(f.to_owned(), Value::String(value.to_owned()));
            }
            None if class == "ref" || class == "type" => {}
            None => {
                fields.insert(class.to_owned(), Value::String(value.to_owned()));
            }
        }
    }
    let label = e
        .item
        .attr("Label")
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .or_else(|| {
            e.entity
                .attr("Identity")
                .map(str::trim)
                .filter(|l| !l.is_empty())
        });
    let key = match ty {
        "person" => ["full_name", "surname", "given"].as_slice(),
        "phone" | "document" => ["number"].as_slice(),
        "vehicle" => ["plate", "vin"].as_slice(),
        "organization" => ["name", "reg_number"].as_slice(),
        "account" => ["iban", "number"].as_slice(),
        "device" => ["imei"].as_slice(),
        _ => ["address"].as_slice(),
    };
    if !key.iter().any(|k| fields.contains_key(*k)) {
        let Some(label) = label else {
            return Err(format!(
                "no {} attribute, label or identity to read it from",
                key.join(" or ")
            ));
        };
        // An account's label is its IBAN when it reads like one (two
        // letters and at least 15 characters), else its number.
        let looks_iban = label.replace(' ', "").len() >= 15
            && label.chars().take(2).all(|c| c.is_ascii_alphabetic());
        let field = match ty {
            "account" if looks_iban => "iban",
            "account" => "number",
            _ => key[0],
        };
        fields.insert(field.into(), Value::String(label.to_owned()));
    }
    let entity: Entity = serde_json::from_value(Value::Object(fields))
        .map_err(|err| format!("cannot be read: {err}"))?;
    Ok((entity, record_level))
}

/// Reads an ANX chart (the text: see [`decode`] for the file's bytes) into
/// records; every item it cannot carry is listed with its chart identity
/// and the reason. A text that is not an ANX chart gives no records and
/// one skipped item, `file`, saying why.
pub fn read(xml: &str) -> Imported {
    let mut out = Imported::default();
    let skip = |out: &mut Imported, item: &str, reason: String| {
        out.skipped.push(Skipped {
            item: item.to_owned(),
            reason,
        })
    };
    let chart = match parse(xml) {
        Ok(root) if root.name == "Chart" => root,
        Ok(root) => {
            skip(
                &mut out,
                "file",
                format!(
                    "the root element is <{}>, not <Chart>: not an i2 ANX chart",
                    root.name
                ),
            );
            return out;
        }
        Err(reason) => {
            skip(&mut out, "file", reason);
            return out;
        }
    };
    let Some(items) = chart.child("ChartItemCollection") else {
        skip(
            &mut out,
            "file",
            "the chart has no <ChartItemCollection>: nothing to import".to_owned(),
        );
        return out;
    };
    let grades = Grades::of(&chart);

    // Entities by their EntityId.
    let mut ends: HashMap<String, EntityIn<'_>> = HashMap::new();
    let mut entity_order: Vec<String> = Vec::new();
    let mut link_items: Vec<&Node> = Vec::new();
    for (n, item) in items.all("ChartItem").enumerate() {
        let label = item.attr("Label").unwrap_or("").to_owned();
        if item.child("Link").is_some() {
            link_items.push(item);
            continue;
        }
        let Some(entity) = item.child("End").and_then(|e| e.child("Entity")) else {
            let name = if label.is_empty() {
                format!("chart item {}", n + 1)
            } else {
                label
            };
            skip(
                &mut out,
                &name,
                "neither an entity nor a link (a label or annotation): not carried".into(),
            );
            continue;
        };
        let name = entity
            .attr("Identity")
            .filter(|i| !i.is_empty())
            .map(str::to_owned)
            .unwrap_or_else(|| {
                if label.is_empty() {
                    format!("chart item {}", n + 1)
                } else {
                    label
                }
            });
        let Some(eid) = entity.attr("EntityId").map(str::to_owned) else {
            skip(&mut out, &name, "the entity has no EntityId".into());
            continue;
        };
        if ends.contains_key(&eid) {
            skip(
                &mut out,
                &name,
                format!("a second entity with EntityId {eid}: the first is kept"),
            );
            continue;
        }
        ends.insert(eid.clone(), EntityIn { item, entity, name });
        entity_order.push(eid);
    }

    // Records from Liaison cards, and records of foreign items.
    let mut records: Vec<String> = Vec::new();
    let mut built: HashMap<String, Partial> = HashMap::new();
    let mut foreign: Vec<Record> = Vec::new();
    let mut accepted: HashMap<String, Result<Entity, String>> = HashMap::new();

    for eid in &entity_order {
        let e = &ends[eid];
        let representation = e
            .entity
            .children
            .first()
            .map(|c| c.name.as_str())
            .unwrap_or("nothing");
        if representation != "Icon" {
            let reason = format!(
                "drawn as {representation}, not as an icon: only icons of a type Liaison knows are carried"
            );
            skip(&mut out, &e.name, reason.clone());
            accepted.insert(eid.clone(), Err(reason));
            continue;
        }
        let anx_type = e
            .entity
            .child("Icon")
            .and_then(|i| i.child("IconStyle"))
            .and_then(|s| s.attr("Type"))
            .unwrap_or("");
        let Some(ty) = liaison_type(anx_type) else {
            let reason = format!(
                "icon type {anx_type:?} is not one Liaison carries: it understands {} (and their usual other names)",
                understood_types()
            );
            skip(&mut out, &e.name, reason.clone());
            accepted.insert(eid.clone(), Err(reason));
            continue;
        };
        let cards = cards_of(e.entity, &grades);
        if !cards.is_empty() {
            let mut first: Option<Entity> = None;
            for card in cards {
                match card.and_then(|c| {
                    let mut obj = c.object.clone();
                    obj.insert("type".into(), Value::String(ty.into()));
                    let entity: Entity =
                        serde_json::from_value(Value::Object(obj)).map_err(|err| {
                            format!("the entity of record {} cannot be read: {err}", c.record)
                        })?;
                    Ok((c, entity))
                }) {
                    Ok((c, entity)) => {
                        first.get_or_insert_with(|| entity.clone());
                        partial(&mut built, &mut records, &c)
                            .entities
                            .push((c.at, entity));
                    }
                    Err(reason) => skip(&mut out, &e.name, reason),
                }
            }
            accepted.insert(
                eid.clone(),
                first.ok_or_else(|| "none of its cards could be read".to_owned()),
            );
            continue;
        }
        match foreign_entity(e, ty) {
            Ok((entity, record_level)) => {
                let mut r = foreign_record(e.item, &grades, &record_level);
                r.id = format!("ANX:{}", e.name);
                let mut entity_ref = entity.clone();
                entity_ref.set_reference("e1");
                r.entities.push(entity_ref);
                foreign.push(r);
                accepted.insert(eid.clone(), Ok(entity));
            }
            Err(reason) => {
                skip(&mut out, &e.name, reason.clone());
                accepted.insert(eid.clone(), Err(reason));
            }
        }
    }

    let mut link_ids: HashMap<String, usize> = HashMap::new();
    for item in link_items {
        let Some(link) = item.child("Link") else {
            continue;
        };
        let style = link.child("LinkStyle");
        let rel = style
            .and_then(|s| s.attr("Type"))
            .filter(|t| !t.trim().is_empty())
            .or(item.attr("Label").filter(|t| !t.trim().is_empty()))
            .unwrap_or("linked")
            .trim()
            .to_owned();
        let end_name = |id: Option<&str>| -> String {
            id.and_then(|i| ends.get(i))
                .map(|e| e.name.clone())
                .unwrap_or_else(|| format!("EntityId {}", id.unwrap_or("?")))
        };
        let (id1, id2) = (link.attr("End1Id"), link.attr("End2Id"));
        let name = format!("link {} -{}-> {}", end_name(id1), rel, end_name(id2));
        let mut missing = None;
        for (end, id) in [("End1Id", id1), ("End2Id", id2)] {
            match id {
                None => missing = Some(format!("a link to a missing end: it has no {end}")),
                Some(i) if !ends.contains_key(i) => {
                    missing = Some(format!(
                        "a link to a missing end: {end}={i} names no entity of the chart"
                    ))
                }
                Some(i) => {
                    if let Some(Err(why)) = accepted.get(i) {
                        missing =
                            Some(format!("its end {} was not imported ({why})", ends[i].name));
                    }
                }
            }
            if missing.is_some() {
                break;
            }
        }
        if let Some(reason) = missing {
            skip(&mut out, &name, reason);
            continue;
        }
        let cards = cards_of(link, &grades);
        if !cards.is_empty() {
            for card in cards {
                match card.and_then(|c| {
                    let link: Link = serde_json::from_value(Value::Object(c.object.clone()))
                        .map_err(|err| {
                            format!("the link of record {} cannot be read: {err}", c.record)
                        })?;
                    Ok((c, link))
                }) {
                    Ok((c, l)) => partial(&mut built, &mut records, &c).links.push((c.at, l)),
                    Err(reason) => skip(&mut out, &name, reason),
                }
            }
            continue;
        }
        // A link drawn without Liaison cards: a record of its two ends
        // and the link.
        let (Some(Ok(e1)), Some(Ok(e2))) = (
            id1.and_then(|i| accepted.get(i)),
            id2.and_then(|i| accepted.get(i)),
        ) else {
            continue;
        };
        let mut record_level = Map::new();
        for a in item
            .child("AttributeCollection")
            .into_iter()
            .flat_map(|c| c.all("Attribute"))
        {
            let class = a.attr("AttributeClass").unwrap_or("").trim().to_lowercase();
            if [HANDLING_CLASS, GRADING_CLASS]
                .iter()
                .any(|c| c.to_lowercase() == class)
            {
                record_level.insert(
                    class,
                    Value::String(a.attr("Value").unwrap_or("").to_owned()),
                );
            }
        }
        let mut r = foreign_record(item, &grades, &record_level);
        let base = format!("ANX:{}->{}:{}", end_name(id1), end_name(id2), rel);
        let n = link_ids
            .entry(base.clone())
            .and_modify(|n| *n += 1)
            .or_insert(1);
        r.id = if *n == 1 { base } else { format!("{base}#{n}") };
        let (mut a, mut b) = (e1.clone(), e2.clone());
        a.set_reference("e1");
        b.set_reference("e2");
        r.entities = vec![a, b];
        let mut extra = Map::new();
        if let Some(dt) = item
            .attr("DateTime")
            .filter(|_| item.attr("DateSet") == Some("true"))
        {
            let utc = item.child("TimeZone").and_then(|z| z.attr("UniqueID")) == Some(UTC_ZONE);
            extra.insert(
                "start".into(),
                Value::String(start_of(dt, item.attr("TimeSet") == Some("true"), utc)),
            );
        }
        for a in item
            .child("AttributeCollection")
            .into_iter()
            .flat_map(|c| c.all("Attribute"))
        {
            let class = a.attr("AttributeClass").unwrap_or("").trim();
            let value = a.attr("Value").unwrap_or("");
            let lower = class.to_lowercase();
            if class.is_empty()
                || [RECORD_CLASS, HANDLING_CLASS, GRADING_CLASS]
                    .iter()
                    .any(|c| c.to_lowercase() == lower)
            {
                continue;
            }
            let field = LINK_CLASSES
                .iter()
                .find(|(f, c)| {
                    c.to_lowercase() == lower
                        || *f == lower
                        || (*f == "duration" && lower == "duration")
                })
                .map(|(f, _)| *f);
            let key = field.unwrap_or(class).to_owned();
            let v = if key == "duration" {
                value
                    .trim()
                    .parse::<u64>()
                    .map(Value::from)
                    .unwrap_or_else(|_| Value::String(value.to_owned()))
            } else {
                Value::String(value.to_owned())
            };
            extra.entry(key).or_insert(v);
        }
        r.links.push(Link {
            from: "e1".into(),
            to: "e2".into(),
            rel,
            extra,
        });
        foreign.push(r);
    }

    for id in records {
        let Some(p) = built.remove(&id) else { continue };
        match p.record() {
            Ok((r, dropped)) => {
                for (link, why) in dropped {
                    skip(&mut out, &format!("record {id}: {link}"), why);
                }
                out.records.push(r);
            }
            Err(reason) => skip(&mut out, &format!("record {id}"), reason),
        }
    }
    out.records.extend(foreign);
    out
}

fn cards_of(holder: &Node, grades: &Grades) -> Vec<Result<CardIn, String>> {
    holder
        .child("CardCollection")
        .into_iter()
        .flat_map(|c| c.all("Card"))
        .filter_map(|c| liaison_card(c, grades))
        .collect()
}

/// A call's start as Liaison writes it, from i2's `DateTime`.
fn start_of(dt: &str, time_set: bool, utc: bool) -> String {
    let base = dt.split('.').next().unwrap_or(dt);
    if !time_set {
        return base.split('T').next().unwrap_or(base).to_owned();
    }
    if utc {
        format!("{base}Z")
    } else {
        base.replacen('T', " ", 1)
    }
}

/// A record for a chart item without Liaison cards: its grades, handling
/// (GradeThree, else a `Handling` attribute, else `TLP:AMBER`), its
/// description as the summary, and its source kept as extra fields.
fn foreign_record(item: &Node, grades: &Grades, record_level: &Map<String, Value>) -> Record {
    let mut r = Record::new("");
    r.grading = grades.grading(item).or_else(|| {
        record_level
            .get(&GRADING_CLASS.to_lowercase())
            .and_then(Value::as_str)
            .and_then(|g| g.parse().ok())
    });
    r.handling = grades
        .handling(item)
        .or_else(|| {
            record_level
                .get(&HANDLING_CLASS.to_lowercase())
                .and_then(Value::as_str)
                .and_then(|h| h.parse().ok())
        })
        .unwrap_or_default();
    r.summary = item
        .attr("Description")
        .filter(|d| !d.trim().is_empty())
        .map(str::to_owned);
    for (attr, key) in [
        ("SourceType", "source_type"),
        ("SourceReference", "source_reference"),
    ] {
        if let Some(v) = item.attr(attr).filter(|v| !v.trim().is_empty()) {
            r.extra.insert(key.into(), Value::String(v.to_owned()));
        }
    }
    r
}

/// A record being put together from its cards.
#[derive(Debug, Default)]
struct Partial {
    id: String,
    summary: Option<String>,
    fields: Map<String, Value>,
    grading: Option<Grading>,
    handling: Option<Handling>,
    entities: Vec<(usize, Entity)>,
    links: Vec<(usize, Link)>,
}

fn partial<'a>(
    built: &'a mut HashMap<String, Partial>,
    order: &mut Vec<String>,
    c: &CardIn,
) -> &'a mut Partial {
    built.entry(c.record.clone()).or_insert_with(|| {
        order.push(c.record.clone());
        Partial {
            id: c.record.clone(),
            summary: c.summary.clone(),
            fields: c.record_fields.clone(),
            grading: c.grading,
            handling: c.handling,
            ..Partial::default()
        }
    })
}

impl Partial {
    /// The record, and the links dropped because an end is not in it.
    fn record(mut self) -> Result<(Record, Vec<(String, String)>), String> {
        self.entities.sort_by_key(|(at, _)| *at);
        self.links.sort_by_key(|(at, _)| *at);
        let mut m = self.fields;
        m.insert("id".into(), Value::String(self.id));
        if let Some(s) = self.summary {
            m.insert("summary".into(), Value::String(s));
        }
        if let Some(g) = self.grading {
            m.insert("grading".into(), Value::String(g.to_string()));
        }
        if let Some(h) = self.handling {
            m.insert("handling".into(), Value::String(h.to_string()));
        }
        let mut r: Record = serde_json::from_value(Value::Object(m))
            .map_err(|e| format!("its card's record fields cannot be read: {e}"))?;
        r.entities = self.entities.into_iter().map(|(_, e)| e).collect();
        let refs: Vec<&str> = r.entities.iter().filter_map(Entity::reference).collect();
        let mut dropped = Vec::new();
        let mut links = Vec::new();
        for (_, l) in self.links {
            let missing: Vec<&str> = [l.from.as_str(), l.to.as_str()]
                .into_iter()
                .filter(|x| !refs.contains(x))
                .collect();
            if missing.is_empty() {
                links.push(l);
            } else {
                dropped.push((
                    format!("link {} -{}-> {}", l.from, l.rel, l.to),
                    format!(
                        "a link to a missing end: the record has no entity {} on the chart",
                        missing.join(" or ")
                    ),
                ));
            }
        }
        r.links = links;
        Ok((r, dropped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The agency's own example records (`config/examples/data/kg-border.ndjson`)
    /// and two calls from an operator's export, one of them to the courier's
    /// phone written another way.
    pub(crate) fn sample() -> Vec<Record> {
        let mut records: Vec<Record> =
            include_str!("../../../config/examples/data/kg-border.ndjson")
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| serde_json::from_str(l).expect("sample record"))
                .collect();
        for line in [
            r#"{"id":"CDR-5c1e0a77d2b94f10","summary":"Call from +77011234567 to +996775987817 at 2024-05-01 09:30:00","handling":"TLP:AMBER","country":"KAZ","entities":[{"ref":"caller","type":"phone","number":"8 701 123 45 67"},{"ref":"callee","type":"phone","number":"+996 775 987 817"}],"links":[{"from":"caller","to":"callee","rel":"called","start":"2024-05-01 09:30:00","duration":185,"cell":"ALA-0042"}]}"#,
            r#"{"id":"CDR-0b7f3c2e9a614d55","grading":"B2","handling":"TLP:GREEN","country":"KGZ","created":"2024-05-02T10:00:00Z","operator":"MegaCom","entities":[{"ref":"caller","type":"phone","number":"+996 775 987 817"},{"ref":"callee","type":"phone","number":"+992 93 555 1234"}],"links":[{"from":"caller","to":"callee","rel":"called","start":"2024-05-01T10:02:11+06:00","duration":64,"cell":"OSH-0007"}]}"#,
        ] {
            records.push(serde_json::from_str(line).expect("sample call"));
        }
        records
    }

    fn source() -> Source {
        Source {
            agency: "kg-border".into(),
            country: Some("KGZ".into()),
        }
    }

    fn by_id(mut records: Vec<Record>) -> Vec<Record> {
        records.sort_by(|a, b| a.id.cmp(&b.id));
        records
    }

    /// The golden chart, compared byte for byte. After a deliberate change
    /// of the chart, regenerate it with
    /// `LIAISON_REGENERATE_GOLDEN=1 cargo test -p liaison --lib formats::anx`
    /// and review the diff.
    #[test]
    fn golden_chart_of_the_sample() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/formats/anx/golden/kg-border.anx"
        );
        let chart = write(&sample(), &source());
        if std::env::var_os("LIAISON_REGENERATE_GOLDEN").is_some() {
            std::fs::create_dir_all(std::path::Path::new(path).parent().unwrap()).unwrap();
            std::fs::write(path, &chart).unwrap();
        }
        let golden = std::fs::read_to_string(path).unwrap_or_else(|e| {
            panic!("{path}: {e} (regenerate with LIAISON_REGENERATE_GOLDEN=1)")
        });
        assert!(golden == chart, "the chart differs from {path}; regenerate with LIAISON_REGENERATE_GOLDEN=1 if the change is meant");
    }

    #[test]
    fn round_trip_gives_the_same_records() {
        let records = sample();
        let chart = write(&records, &source());
        let back = read(&chart);
        assert_eq!(back.skipped, vec![], "nothing is skipped");
        assert_eq!(by_id(back.records), by_id(records));
    }

    #[test]
    fn one_phone_in_several_records_is_one_entity() {
        let chart = write(&sample(), &source());
        let root = parse(&chart).unwrap();
        let items = root.child("ChartItemCollection").unwrap();
        let phone: Vec<&Node> = items
            .all("ChartItem")
            .filter(|i| {
                i.child("End")
                    .and_then(|e| e.child("Entity"))
                    .and_then(|e| e.attr("Identity"))
                    == Some("phone:+996775987817")
            })
            .collect();
        assert_eq!(phone.len(), 1, "the courier's phone is one icon");
        let entity = phone[0].child("End").unwrap().child("Entity").unwrap();
        let style = entity.child("Icon").unwrap().child("IconStyle").unwrap();
        assert_eq!(style.attr("Type"), Some("Telephone"));
        let cards: Vec<&str> = entity
            .child("CardCollection")
            .unwrap()
            .all("Card")
            .map(|c| c.attr("Summary").unwrap())
            .collect();
        assert_eq!(
            cards,
            [
                "KG-2017-0042",
                "CDR-5c1e0a77d2b94f10",
                "CDR-0b7f3c2e9a614d55"
            ]
        );
        assert_eq!(
            phone[0].attr("SourceReference"),
            Some("KG-2017-0042; CDR-5c1e0a77d2b94f10; CDR-0b7f3c2e9a614d55")
        );
        assert_eq!(phone[0].attr("SourceType"), Some("kg-border"));
        // The icon shows the number as the first record wrote it; the
        // second record's writing is on its card.
        assert!(chart.contains(r#"Value="0775 987 817""#));
        assert!(chart.contains(r#"number: &quot;+996 775 987 817&quot;"#));
        // Every entity type of the sample is an icon of its i2 type.
        for ty in [
            "Person",
            "Telephone",
            "Document",
            "Vehicle",
            "Organisation",
            "E-mail Address",
        ] {
            assert!(
                chart.contains(&format!(r#"<IconStyle Type="{ty}""#)),
                "{ty}"
            );
        }
    }

    #[test]
    fn calls_are_links_with_date_time_and_duration() {
        let chart = write(&sample(), &source());
        let root = parse(&chart).unwrap();
        let calls: Vec<&Node> = root
            .child("ChartItemCollection")
            .unwrap()
            .all("ChartItem")
            .filter(|i| i.child("Link").is_some() && i.attr("Label") == Some("called"))
            .collect();
        assert_eq!(calls.len(), 2);
        // Written without an offset: kept as local time.
        assert_eq!(calls[0].attr("DateTime"), Some("2024-05-01T09:30:00.000"));
        assert_eq!(calls[0].attr("DateSet"), Some("true"));
        assert_eq!(calls[0].attr("TimeSet"), Some("true"));
        assert!(calls[0].child("TimeZone").is_none());
        // Written with +06:00: in UTC, with i2's UTC zone.
        assert_eq!(calls[1].attr("DateTime"), Some("2024-05-01T04:02:11.000"));
        assert_eq!(
            calls[1].child("TimeZone").and_then(|z| z.attr("Name")),
            Some("UTC")
        );
        let duration = calls[0]
            .child("AttributeCollection")
            .unwrap()
            .all("Attribute")
            .find(|a| a.attr("AttributeClass") == Some("Duration (s)"))
            .unwrap();
        assert_eq!(duration.attr("Value"), Some("185"));
        assert!(chart.contains(r#"Name="Duration (s)" Type="AttNumber""#));
        let style = calls[0].child("Link").unwrap().child("LinkStyle").unwrap();
        assert_eq!(style.attr("Type"), Some("called"));
        assert_eq!(style.attr("ArrowStyle"), Some("ArrowOnHead"));
    }

    #[test]
    fn grading_and_handling_are_grades_and_attributes() {
        let chart = write(&sample(), &source());
        let root = parse(&chart).unwrap();
        let grades = Grades::of(&root);
        assert_eq!(grades.one.len(), 7);
        assert_eq!(grades.three[3], "TLP:AMBER+STRICT");
        assert_eq!(grades.three.last().map(String::as_str), Some("-"));
        // KG-2022-0456: B2, TLP:AMBER+STRICT.
        let item = root
            .child("ChartItemCollection")
            .unwrap()
            .all("ChartItem")
            .find(|i| i.attr("SourceReference") == Some("KG-2022-0456") && i.child("End").is_some())
            .unwrap();
        assert_eq!(item.attr("GradeOneIndex"), Some("1"));
        assert_eq!(item.attr("GradeTwoIndex"), Some("1"));
        assert_eq!(item.attr("GradeThreeIndex"), Some("3"));
        assert_eq!(
            grades.grading(item).map(|g| g.to_string()).as_deref(),
            Some("B2")
        );
        assert_eq!(grades.handling(item), Some(Handling::AmberStrict));
        let attrs: Vec<(&str, &str)> = item
            .child("AttributeCollection")
            .unwrap()
            .all("Attribute")
            .map(|a| (a.attr("AttributeClass").unwrap(), a.attr("Value").unwrap()))
            .collect();
        assert!(
            attrs.contains(&("Handling", "TLP:AMBER+STRICT")),
            "{attrs:?}"
        );
        assert!(attrs.contains(&("Grading", "B2")), "{attrs:?}");
        // An ungraded record's items point at "-".
        let call = root
            .child("ChartItemCollection")
            .unwrap()
            .all("ChartItem")
            .find(|i| i.attr("SourceReference") == Some("CDR-5c1e0a77d2b94f10"))
            .unwrap();
        assert_eq!(call.attr("GradeOneIndex"), Some("6"));
        assert_eq!(grades.grading(call), None);
        // A merged item takes the most restrictive code of its records.
        let courier_phone = root
            .child("ChartItemCollection")
            .unwrap()
            .all("ChartItem")
            .find(|i| {
                i.attr("SourceReference")
                    .is_some_and(|s| s.starts_with("KG-2017-0042; CDR"))
            })
            .unwrap();
        assert_eq!(grades.handling(courier_phone), Some(Handling::Amber));
    }

    #[test]
    fn awkward_text_reads_back_exactly() {
        let r: Record = serde_json::from_value(serde_json::json!({
            "id": "X-1 <&> \"q\"",
            "summary": "line one\nline two\n--- liaison\n\ttabbed & <tagged> \"quoted\" 'single'\r\nend",
            "handling": "TLP:CLEAR",
            "grading": "F6",
            "expires": "2030-01-01T00:00:00Z",
            "source_unit": {"nested": [1, 2, "three"]},
            "entities": [
                {"ref": "p", "type": "person", "full_name": "O'Brien \"Jack\" <Ivanov>", "eye_colour": "brown", "height": 181},
                {"ref": "a", "type": "account", "bank": "KICB", "number": "1280016043457"},
                {"ref": "d", "type": "device", "imei": "490154203237518"},
                {"type": "email", "address": "x@example.org"}
            ],
            "links": [{"from": "p", "to": "a", "rel": "holds", "since": true}]
        }))
        .unwrap();
        let chart = write(std::slice::from_ref(&r), &source());
        let back = read(&chart);
        assert_eq!(back.skipped, vec![]);
        assert_eq!(back.records, vec![r]);
        let r2 = Record {
            summary: Some(String::new()),
            entities: vec![serde_json::from_str(r#"{"type":"phone","number":"1"}"#).unwrap()],
            ..Record::new("E")
        };
        let back = read(&write(std::slice::from_ref(&r2), &source()));
        assert_eq!(back.records, vec![r2]);
    }

    #[test]
    fn utf16_files_decode() {
        let chart = write(&sample(), &source());
        let bytes = encode_utf16(&chart);
        assert_eq!(&bytes[..2], &[0xFF, 0xFE]);
        let text = decode(&bytes).unwrap();
        assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-16\"?>"));
        assert_eq!(by_id(read(&text).records), by_id(sample()));
        assert_eq!(decode(chart.as_bytes()).unwrap(), chart);
        let err = decode(&[b'<', 0xC3, 0x28]).unwrap_err();
        assert!(err.contains("byte 1"), "{err}");
        assert!(decode(&[0xFF, 0xFE, 0x3C])
            .unwrap_err()
            .contains("odd length"));
    }

    fn only_skip(xml: &str) -> Skipped {
        let got = read(xml);
        assert!(got.records.is_empty(), "{:?}", got.records);
        assert_eq!(got.skipped.len(), 1, "{:?}", got.skipped);
        got.skipped.into_iter().next().unwrap()
    }

    #[test]
    fn bad_files_say_why() {
        let s = only_skip("this is not a chart");
        assert_eq!(s.item, "file");
        assert!(
            s.reason.contains("not XML") || s.reason.contains("no root"),
            "{}",
            s.reason
        );
        let s = only_skip("<Chart><ChartItemCollection></Chart>");
        assert!(s.reason.starts_with("not XML"), "{}", s.reason);
        let s = only_skip(r#"<?xml version="1.0"?><stix:Bundle/>"#);
        assert!(s.reason.contains("<Bundle>, not <Chart>"), "{}", s.reason);
        let s = only_skip("<Chart><ApplicationVersion/></Chart>");
        assert!(s.reason.contains("ChartItemCollection"), "{}", s.reason);
        let s = only_skip("");
        assert!(s.reason.contains("no root element"), "{}", s.reason);
    }

    /// A chart drawn in Analyst's Notebook (as anxwritter writes one): no
    /// Liaison cards.
    const FOREIGN: &str = r#"<?xml version='1.0' encoding='utf-8'?>
<Chart>
  <GradeOne><StringCollection><String Id="ID10" Text="A"/><String Id="ID11" Text="B"/><String Id="ID12" Text="Always reliable"/></StringCollection></GradeOne>
  <GradeTwo><StringCollection><String Id="ID14" Text="1"/><String Id="ID15" Text="2 - Probably true"/></StringCollection></GradeTwo>
  <GradeThree><StringCollection><String Id="ID17" Text="TLP:GREEN"/></StringCollection></GradeThree>
  <ChartItemCollection>
    <ChartItem Id="ID2" Label="Kurbonov Yusuf" SourceReference="rep-7" SourceType="Informant" GradeOneIndex="1" GradeTwoIndex="1" GradeThreeIndex="0" Description="Seen at Osh">
      <End X="0" Y="0" Z="0"><Entity EntityId="1" Identity="P-1" LabelIsIdentity="false"><Icon><IconStyle Type="Person"/></Icon></Entity></End>
      <AttributeCollection><Attribute AttributeClass="Date of birth" Value="1985-03-14"/><Attribute AttributeClass="Eye colour" Value="brown"/></AttributeCollection>
    </ChartItem>
    <ChartItem Id="ID5" Label="+996 775 987 817">
      <End X="80" Y="0" Z="0"><Entity EntityId="2" Identity="+996775987817"><Icon><IconStyle Type="Mobile Phone"/></Icon></Entity></End>
      <AttributeCollection><Attribute AttributeClass="Handling" Value="TLP:RED"/></AttributeCollection>
    </ChartItem>
    <ChartItem Id="ID6" Label="Meeting at the bazaar">
      <End><Entity EntityId="3" Identity="M-1"><Icon><IconStyle Type="Meeting"/></Icon></Entity></End>
    </ChartItem>
    <ChartItem Id="ID7" Label="Cell">
      <End><Entity EntityId="4" Identity="Group A"><Box><BoxStyle/></Box></Entity></End>
    </ChartItem>
    <ChartItem Id="ID9" Label="call" DateSet="true" TimeSet="true" DateTime="2024-05-01T09:30:00.000" GradeOneIndex="2" GradeTwoIndex="0">
      <Link End1Id="1" End2Id="2"><LinkStyle Strength="Default" ArrowStyle="ArrowOnHead" Type="called"/></Link>
      <AttributeCollection><Attribute AttributeClass="Duration" Value="185"/></AttributeCollection>
    </ChartItem>
    <ChartItem Id="ID10" Label="attended">
      <Link End1Id="1" End2Id="3"><LinkStyle Type="attended"/></Link>
    </ChartItem>
    <ChartItem Id="ID11" Label="knows">
      <Link End1Id="1" End2Id="99"><LinkStyle Type="knows"/></Link>
    </ChartItem>
    <ChartItem Id="ID12" Label="Note"><TextBlock/></ChartItem>
  </ChartItemCollection>
</Chart>"#;

    #[test]
    fn a_chart_drawn_elsewhere_becomes_one_record_per_item() {
        let got = read(FOREIGN);
        let ids: Vec<&str> = got.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "ANX:P-1",
                "ANX:+996775987817",
                "ANX:P-1->+996775987817:called"
            ]
        );
        let person = &got.records[0];
        assert_eq!(person.grading.map(|g| g.to_string()).as_deref(), Some("B2"));
        assert_eq!(person.handling, Handling::Green);
        assert_eq!(person.summary.as_deref(), Some("Seen at Osh"));
        assert_eq!(person.extra["source_type"], "Informant");
        let Entity::Person(p) = &person.entities[0] else {
            panic!("a person")
        };
        assert_eq!(p.full_name.as_deref(), Some("Kurbonov Yusuf"));
        assert_eq!(p.dob.as_deref(), Some("1985-03-14"));
        assert_eq!(p.extra["Eye colour"], "brown");
        let phone = &got.records[1];
        assert_eq!(phone.handling, Handling::Red, "from the Handling attribute");
        let Entity::Phone(t) = &phone.entities[0] else {
            panic!("a phone")
        };
        assert_eq!(t.number, "+996 775 987 817");
        // A bank account labelled with an IBAN, or with anything else.
        for (label, field) in [
            ("KZ86 125K ZT50 0410 0100", "iban"),
            ("Ёжик в тумане 1234567", "number"),
        ] {
            let xml = format!(
                r#"<Chart><ChartItemCollection><ChartItem Label="{label}"><End><Entity EntityId="1" Identity="A"><Icon><IconStyle Type="Bank Account"/></Icon></Entity></End></ChartItem></ChartItemCollection></Chart>"#
            );
            let got = read(&xml);
            let e = serde_json::to_value(&got.records[0].entities[0]).unwrap();
            assert_eq!(e[field], label, "{e}");
        }
        let call = &got.records[2];
        // "Always reliable" is not a source letter: no grading.
        assert_eq!(call.grading, None);
        assert_eq!(call.links[0].rel, "called");
        assert_eq!(call.links[0].extra["start"], "2024-05-01 09:30:00");
        assert_eq!(call.links[0].extra["duration"], 185);
        assert_eq!(call.entities.len(), 2);

        let skipped: Vec<(&str, &str)> = got
            .skipped
            .iter()
            .map(|s| (s.item.as_str(), s.reason.as_str()))
            .collect();
        assert_eq!(skipped.len(), 5, "{skipped:#?}");
        let reason = |item: &str| {
            skipped
                .iter()
                .find(|(i, _)| *i == item)
                .map(|(_, r)| *r)
                .unwrap_or_else(|| panic!("{item} is not skipped: {skipped:#?}"))
        };
        let r = reason("M-1");
        assert!(r.contains("\"Meeting\"") && r.contains("Telephone"), "{r}");
        assert!(reason("Group A").contains("Box"));
        assert!(reason("Note").contains("neither an entity nor a link"));
        assert!(reason("link P-1 -attended-> M-1").contains("M-1 was not imported"));
        let r = reason("link P-1 -knows-> EntityId 99");
        assert!(r.contains("missing end") && r.contains("End2Id=99"), "{r}");
    }

    #[test]
    fn an_analysts_edits_to_a_liaison_chart() {
        // The analyst deleted the vehicle of KG-2017-0042 and added a
        // phone of their own: the record comes back without the vehicle
        // and its link (listed), the phone as a record of its own.
        let records = sample();
        let chart = write(&records[..1], &source());
        let root = parse(&chart).unwrap();
        let vehicle = root
            .child("ChartItemCollection")
            .unwrap()
            .all("ChartItem")
            .find(|i| i.to_string_contains("Vehicle"))
            .map(|i| i.attr("Id").unwrap().to_owned())
            .unwrap();
        let start = chart.find(&format!("<ChartItem Id=\"{vehicle}\"")).unwrap();
        let end = start + chart[start..].find("</ChartItem>\n").unwrap() + "</ChartItem>\n".len();
        let mut edited = format!("{}{}", &chart[..start], &chart[end..]);
        let added = r#"<ChartItem Id="X1" Label="+7 701 000 00 00"><End><Entity EntityId="77" Identity="mine"><Icon><IconStyle Type="Telephone"/></Icon></Entity></End></ChartItem>
  </ChartItemCollection>"#;
        edited = edited.replacen("</ChartItemCollection>", added, 1);
        let got = read(&edited);
        assert_eq!(got.records.len(), 2);
        let mut expected = records[0].clone();
        expected.entities.retain(|e| e.type_name() != "vehicle");
        expected.links.retain(|l| l.to != "v1");
        assert_eq!(got.records[0], expected);
        assert_eq!(got.records[1].id, "ANX:mine");
        assert_eq!(got.skipped.len(), 1, "{:?}", got.skipped);
        // The link to the deleted vehicle is named by its missing end.
        assert!(
            got.skipped[0].item.ends_with("-drives-> EntityId 4"),
            "{:?}",
            got.skipped
        );
        assert!(
            got.skipped[0].reason.contains("missing end"),
            "{:?}",
            got.skipped
        );
    }

    mod property {
        use super::*;
        use proptest::prelude::*;

        /// Text XML 1.0 can hold (no C0 controls but tab, CR, LF).
        const TEXT: &str = "[^\u{0}-\u{8}\u{b}\u{c}\u{e}-\u{1f}\u{fffe}\u{ffff}]{0,40}";

        fn record() -> impl Strategy<Value = Record> {
            (
                "[A-Z]{2}-[0-9]{1,4}",
                proptest::option::of(TEXT),
                proptest::option::of("[A-F][1-6]"),
                0usize..5,
                TEXT,
                "[0-9 +()-]{3,15}",
                proptest::option::of(TEXT),
                0u64..100_000,
            )
                .prop_map(
                    |(id, summary, grading, h, name, number, extra, duration)| {
                        let mut r = Record::new(id);
                        r.summary = summary;
                        r.grading = grading.map(|g| g.parse().unwrap());
                        r.handling = Handling::ALL[h];
                        let mut person =
                            serde_json::json!({"ref": "p", "type": "person", "full_name": name});
                        if let Some(x) = extra {
                            person["note"] = Value::String(x);
                        }
                        r.entities = vec![
                            serde_json::from_value(person).unwrap(),
                            serde_json::from_value(
                                serde_json::json!({"ref": "t", "type": "phone", "number": number}),
                            )
                            .unwrap(),
                        ];
                        let mut link = Link {
                            from: "p".into(),
                            to: "t".into(),
                            rel: "called".into(),
                            extra: Default::default(),
                        };
                        link.extra.insert("duration".into(), Value::from(duration));
                        r.links = vec![link];
                        r
                    },
                )
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]
            #[test]
            fn records_survive_the_chart(records in proptest::collection::vec(record(), 1..4)) {
                // One record per id, as the store keeps them.
                let mut seen = std::collections::HashSet::new();
                let records: Vec<Record> = records.into_iter().filter(|r| seen.insert(r.id.clone())).collect();
                let back = read(&write(&records, &source()));
                prop_assert_eq!(back.skipped, vec![]);
                prop_assert_eq!(by_id(back.records), by_id(records));
            }
        }
    }

    impl Node {
        fn to_string_contains(&self, needle: &str) -> bool {
            self.attrs.iter().any(|(_, v)| v.contains(needle))
                || self.children.iter().any(|c| c.to_string_contains(needle))
        }
    }
}
