//! The analysts' formats, as pure conversions between records and files:
//! IBM i2 Analyst's Notebook charts (ANX XML, [`anx`]) and STIX 2.1
//! bundles ([`stix`]), each both ways. No IO and nothing of the node
//! here: callers (`liaison export`, `liaison ingest`, the console) read
//! and write the files.
//!
//! Export takes records as stored (the canonical [`Record`]) with the
//! agency that holds them; import gives records back, and lists every
//! item it cannot carry by its identity in the file (an ANX chart item's
//! identity, a STIX object's id) with the reason, importing the rest.

use liaison_protocol::record::Record;

pub mod anx;
pub mod stix;

/// Who holds the exported records: the originating agency a chart or a
/// bundle names as its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The agency's node name (`kg-border`).
    pub agency: String,
    /// Its ISO 3166 alpha-3 country, if known.
    pub country: Option<String>,
}

/// An item of an imported file that did not become (part of) a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Its identity in the file: an ANX chart item's identity, a STIX
    /// object's id.
    pub item: String,
    /// Why, and what would fix it.
    pub reason: String,
}

/// What an import gives: the records, and what was left out.
#[derive(Debug, Default)]
pub struct Imported {
    /// Records built from the file.
    pub records: Vec<Record>,
    /// Items that could not be carried.
    pub skipped: Vec<Skipped>,
}

/// A short label for an entity as a record writes it (JSON), from the
/// fields people read: a chart's icon, the console's link chart; `fallback`
/// when it has none of them.
pub fn entity_label(e: &serde_json::Map<String, serde_json::Value>, fallback: &str) -> String {
    use serde_json::Value;
    let s = |k: &str| {
        e.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let join = |parts: &[Option<&str>]| {
        parts
            .iter()
            .flatten()
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let text = match e.get("type").and_then(Value::as_str).unwrap_or("") {
        "person" => {
            let name = s("full_name")
                .map(str::to_owned)
                .unwrap_or_else(|| join(&[s("surname"), s("given"), s("patronymic")]));
            join(&[Some(name.as_str()).filter(|n| !n.is_empty()), s("dob")])
        }
        "phone" => join(&[s("number")]),
        "document" => join(&[s("doc_type"), s("country"), s("number")]),
        "vehicle" => join(&[s("plate"), s("vin")]),
        "organization" | "organisation" => join(&[s("name")]),
        "account" => join(&[s("iban"), s("bank"), s("number")]),
        "device" => join(&[s("imei")]),
        "email" => join(&[s("address")]),
        _ => String::new(),
    };
    if text.is_empty() {
        fallback.to_owned()
    } else {
        text
    }
}

/// A match's hits (`GET /api/v1/matches/{id}`'s items) as records a
/// chart or bundle can carry: per hit, the entity as the analyst's file
/// wrote it (`phone +996 775 987 817`, `person KURBANOV IUSUF
/// 1985-03-14`) and the agency that holds it, as an organisation, linked
/// `hit`; the kinds that matched and the strength in the summary. An
/// entity its label cannot give back is left out of its record and the
/// record still names the agency.
pub fn hits_as_records(match_id: u64, hits: &[serde_json::Value]) -> Vec<Record> {
    use serde_json::json;
    let entity = |label: &str| -> Option<serde_json::Value> {
        let (kind, text) = label.split_once(' ')?;
        let text = text.trim();
        let words: Vec<&str> = text.split_whitespace().collect();
        let v = match kind {
            "phone" => json!({ "type": "phone", "number": text }),
            "email" => json!({ "type": "email", "address": text }),
            "device" => json!({ "type": "device", "imei": text }),
            "vehicle" => json!({ "type": "vehicle", "plate": text }),
            "organization" => json!({ "type": "organization", "name": text }),
            "account" => json!({ "type": "account", "number": text }),
            "document" => match words.as_slice() {
                [doc_type, country, number] => {
                    json!({ "type": "document", "doc_type": doc_type, "country": country, "number": number })
                }
                [doc_type, number] => {
                    json!({ "type": "document", "doc_type": doc_type, "number": number })
                }
                _ => json!({ "type": "document", "number": text }),
            },
            "person" => {
                let dob = words
                    .last()
                    .filter(|w| w.parse::<liaison_protocol::date::Date>().is_ok());
                let name = match dob {
                    Some(_) => words[..words.len() - 1].join(" "),
                    None => text.to_owned(),
                };
                match dob {
                    Some(d) => json!({ "type": "person", "full_name": name, "dob": d }),
                    None => json!({ "type": "person", "full_name": name }),
                }
            }
            _ => return None,
        };
        Some(v)
    };
    hits.iter()
        .filter_map(|h| {
            let id = h["id"].as_u64()?;
            let peer = h["peer"].as_str().unwrap_or("?");
            let label = h["entity"].as_str().unwrap_or("");
            let kinds: Vec<&str> = h["kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(serde_json::Value::as_str)
                .collect();
            let mut summary = format!(
                "Hit {id} of match {match_id} at {peer}: {label} ({}), from {}",
                kinds.join(", "),
                h["source"].as_str().unwrap_or("")
            );
            if let Some(s) = h["strength"].as_str() {
                summary.push_str(&format!("; {s}"));
            }
            let mut entities =
                vec![json!({ "ref": "agency", "type": "organization", "name": peer })];
            let mut links = Vec::new();
            if let Some(mut e) = entity(label) {
                e["ref"] = json!("entity");
                let parsed: Result<liaison_protocol::record::Entity, _> =
                    serde_json::from_value(e.clone());
                if parsed.is_ok() {
                    entities.insert(0, e);
                    links.push(json!({ "from": "entity", "to": "agency", "rel": "hit" }));
                }
            }
            serde_json::from_value(json!({
                "id": format!("match-{match_id}-hit-{id}"),
                "summary": summary,
                "entities": entities,
                "links": links,
            }))
            .ok()
        })
        .collect()
}

/// A format an export is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    /// An i2 Analyst's Notebook chart: ANX XML in UTF-16 with a byte
    /// order mark, as Analyst's Notebook writes it.
    Anx,
    /// A STIX 2.1 bundle (JSON).
    Stix,
}

impl Export {
    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Export::Anx => "anx",
            Export::Stix => "json",
        }
    }

    /// The media type a download is served with.
    pub fn media_type(self) -> &'static str {
        match self {
            Export::Anx => "application/xml",
            Export::Stix => "application/stix+json;version=2.1",
        }
    }

    /// `records` held by `source` in this format, created now, and the
    /// items left out (a STIX bundle keeps out what a handling code
    /// forbids: a TLP:RED record, an AMBER+STRICT record's summary).
    pub fn write(
        self,
        records: &[Record],
        source: &Source,
        now: time::OffsetDateTime,
    ) -> (Vec<u8>, Vec<Skipped>) {
        // A record without a country was read with the agency's (its
        // national phone numbers, say): it says so in the file, so that
        // another agency reads it the same way.
        let country = source.country.as_deref().and_then(|c| c.parse().ok());
        let owned: Vec<Record> = records
            .iter()
            .map(|r| {
                let mut r = r.clone();
                if r.country.is_none() {
                    r.country = country;
                }
                r
            })
            .collect();
        let records = owned.as_slice();
        match self {
            Export::Anx => (anx::encode_utf16(&anx::write(records, source)), Vec::new()),
            Export::Stix => {
                let (bundle, skipped) = stix::write_refusing(records, source, now);
                let text = serde_json::to_string_pretty(&bundle).unwrap_or_default();
                (text.into_bytes(), skipped)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_matchs_hits_become_records_of_the_entity_and_the_agency_holding_it() {
        let hits = serde_json::json!([
            {"id": 3, "peer": "kg-border", "entity": "person KURBANOV IUSUF 1985-03-14", "source": "q.csv:2", "kinds": ["person_name"], "strength": "good: surname"},
            {"id": 4, "peer": "tj-drug-control", "entity": "phone +996 775 987 817", "source": "q.csv:2", "kinds": ["phone"]},
            {"id": 5, "peer": "tj-drug-control", "entity": "document passport KGZ AC1234567", "source": "q.csv:3", "kinds": ["document"]},
            {"id": 6, "peer": "kg-border", "entity": "spaceship X-1", "source": "q.csv:4", "kinds": []}
        ]);
        let records = hits_as_records(7, hits.as_array().expect("hits"));
        assert_eq!(records.len(), 4);
        assert_eq!(records[0].id, "match-7-hit-3");
        assert_eq!(records[0].entities.len(), 2);
        assert_eq!(records[0].links.len(), 1);
        let person = serde_json::to_value(&records[0].entities[0]).expect("json");
        assert_eq!(person["full_name"], "KURBANOV IUSUF");
        assert_eq!(person["dob"], "1985-03-14");
        let doc = serde_json::to_value(&records[2].entities[0]).expect("json");
        assert_eq!(
            (doc["country"].as_str(), doc["number"].as_str()),
            (Some("KGZ"), Some("AC1234567"))
        );
        // An entity its label cannot give back: the agency alone.
        assert_eq!(records[3].entities.len(), 1);
        assert!(records[3]
            .summary
            .as_deref()
            .is_some_and(|s| s.contains("spaceship")));
        let (chart, _) = Export::Anx.write(
            &records,
            &Source {
                agency: "kz-customs".into(),
                country: None,
            },
            time::OffsetDateTime::UNIX_EPOCH,
        );
        assert!(chart.len() > 1000);
    }
}
