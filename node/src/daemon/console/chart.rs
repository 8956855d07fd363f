//! The link chart's graph (`GET /console/chart/graph.json`): a record's,
//! a report's or a match's neighbourhood as nodes and edges for the
//! page's chart library (`node/src/daemon/console/web/static/chart.js`).
//!
//! Entities are merged by their first selector (as the normaliser reads
//! them), so the same phone written two ways, or a person in Latin at the
//! owner and in Cyrillic here, is one node joined to both agencies'
//! records. Call records' `called` links between the same two phones are
//! one edge with a count. Every record comes through the API as the
//! user: a report's entities are drawn beside ours only for a user who
//! may search our records.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use liaison_protocol::normalize::{entity_selectors, Context};
use liaison_protocol::record::Entity;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use super::super::api::wire::url_segment;
use super::{Console, Ctx, Refusal};
use crate::users::Right;

/// Our agency's colour; peers take the palette's in their order.
const OURS: &str = "#1f6feb";
const PALETTE: [&str; 8] = [
    "#cf222e", "#8250df", "#bf8700", "#1a7f37", "#e16f24", "#0e7490", "#bf3989", "#57606a",
];

/// Most records one graph draws (a chart past this is unreadable; the
/// analyst expands from it instead).
const MOST_RECORDS: usize = 200;

/// A graph under construction.
#[derive(Debug, Default)]
struct Graph {
    nodes: BTreeMap<String, Value>,
    edges: BTreeMap<(String, String, String), (u64, Value)>,
    agencies: BTreeMap<String, String>,
}

/// The chart's kind for an entity type.
fn kind(t: &str) -> &'static str {
    match t {
        "person" => "person",
        "phone" => "phone",
        "document" => "document",
        "vehicle" => "vehicle",
        "organization" | "organisation" => "organisation",
        "account" => "account",
        "device" => "device",
        "email" => "email",
        _ => "other",
    }
}

/// A short label for an entity, as an i2 chart would show it.
fn label(e: &Value) -> String {
    let fallback = e["ref"].as_str().unwrap_or("?");
    e.as_object().map_or_else(
        || fallback.to_owned(),
        |m| crate::formats::entity_label(m, fallback),
    )
}

fn short_hash(text: &str) -> String {
    crate::hex::encode(&Sha256::digest(text.as_bytes())[..10])
}

/// The node id of an entity: its first selector when it has one (so the
/// same identity merges across records and agencies), else its place in
/// its record.
fn entity_id(e: &Value, agency: &str, record: &str, country: Option<&str>) -> String {
    let parsed: Option<Entity> = serde_json::from_value(e.clone()).ok();
    let ctx = Context {
        country: country.and_then(|c| c.parse().ok()),
    };
    let mut selectors = Vec::new();
    if let Some(entity) = &parsed {
        let _ = entity_selectors(entity, &ctx, &mut selectors);
    }
    match selectors.first() {
        Some(s) => format!("e:{}", short_hash(&format!("{:?}|{}", s.kind, s.value))),
        None => format!(
            "e:{}",
            short_hash(&format!(
                "{agency}|{record}|{}",
                e["ref"].as_str().unwrap_or("")
            ))
        ),
    }
}

impl Graph {
    fn agency(&mut self, name: &str, ours: bool) {
        let n = self.agencies.len();
        self.agencies.entry(name.to_owned()).or_insert_with(|| {
            if ours {
                OURS.to_owned()
            } else {
                PALETTE[n % PALETTE.len()].to_owned()
            }
        });
    }

    fn node(&mut self, id: &str, v: Value) {
        self.nodes.entry(id.to_owned()).or_insert(v);
    }

    fn edge(&mut self, source: &str, target: &str, relation: &str) {
        let key = (source.to_owned(), target.to_owned(), relation.to_owned());
        let n = self.edges.len();
        let e = self.edges.entry(key).or_insert_with(|| {
            (
                0,
                json!({ "id": format!("l:{n}"), "source": source, "target": target, "relation": relation }),
            )
        });
        e.0 += 1;
    }

    /// A record and its entities and links, as `agency` holds it.
    fn record(&mut self, record: &Value, agency: &str, ours: bool, handling: Option<&str>) {
        let id = record["id"].as_str().unwrap_or("?");
        let country = record["country"].as_str();
        let rid = format!("r:{agency}:{id}");
        let handling = handling.or(record["handling"].as_str()).unwrap_or("");
        let mut node = json!({
            "id": rid, "kind": "record", "label": format!("{id} {handling}").trim(),
            "agency": agency, "ours": ours,
        });
        if ours {
            node["expand"] = json!(format!(
                "/console/chart/graph.json?record={}",
                url_segment(id)
            ));
        }
        self.node(&rid, node);
        let mut refs = BTreeMap::new();
        for e in record["entities"].as_array().into_iter().flatten() {
            let eid = entity_id(e, agency, id, country);
            let mut node = json!({
                "id": eid, "kind": kind(e["type"].as_str().unwrap_or("")),
                "label": label(e), "agency": agency, "ours": ours,
            });
            if ours {
                if let Some(r) = e["ref"].as_str() {
                    node["expand"] = json!(format!(
                        "/console/chart/graph.json?record={}&entity={}",
                        url_segment(id),
                        url_segment(r)
                    ));
                }
            }
            // An entity both sides hold is drawn as ours, with the other
            // agency's record beside it.
            match self.nodes.get_mut(&eid) {
                Some(existing) if ours && existing["ours"] == false => *existing = node,
                Some(_) => {}
                None => self.node(&eid, node),
            }
            if let Some(r) = e["ref"].as_str() {
                refs.insert(r.to_owned(), eid.clone());
            }
            self.edge(&rid, &eid, "record");
        }
        for l in record["links"].as_array().into_iter().flatten() {
            let (Some(from), Some(to)) = (
                l["from"].as_str().and_then(|f| refs.get(f)).cloned(),
                l["to"].as_str().and_then(|t| refs.get(t)).cloned(),
            ) else {
                continue;
            };
            let rel = l["rel"].as_str().unwrap_or("link");
            let rel = if rel == "called" { "call" } else { rel };
            self.edge(&from, &to, rel);
        }
    }

    fn into_json(self) -> Value {
        let edges: Vec<Value> = self
            .edges
            .into_values()
            .map(|(count, mut e)| {
                e["count"] = if e["relation"] == "call" {
                    json!(count)
                } else {
                    Value::Null
                };
                e
            })
            .collect();
        json!({
            "nodes": self.nodes.into_values().collect::<Vec<_>>(),
            "edges": edges,
            "agencies": self.agencies,
        })
    }
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct GraphQuery {
    #[serde(default)]
    report: Option<String>,
    #[serde(default)]
    record: Option<String>,
    #[serde(default)]
    entity: Option<String>,
    #[serde(default, rename = "match")]
    matched: Option<u64>,
}

fn refusal_json(r: Refusal) -> Response {
    let (status, detail) = match r {
        Refusal::SignIn => (StatusCode::UNAUTHORIZED, "sign in again".to_owned()),
        Refusal::NotFound => (StatusCode::NOT_FOUND, "not found".to_owned()),
        Refusal::Api(s, d) => (s, d),
    };
    (
        status,
        Json(json!({ "status": status.as_u16(), "detail": detail })),
    )
        .into_response()
}

/// Our records holding any of `selectors` (through the API's search,
/// logged as the user's look-up), at most [`MOST_RECORDS`].
async fn ours_holding(
    c: &Console,
    ctx: &Ctx,
    selectors: Vec<Value>,
) -> Result<Vec<Value>, Refusal> {
    if selectors.is_empty() || !ctx.who.as_ref().is_some_and(|w| w.may(Right::Search)) {
        return Ok(Vec::new());
    }
    let csrf = ctx.who.as_ref().map(|w| w.csrf.clone());
    let body = json!({ "selectors": selectors, "limit": MOST_RECORDS });
    let found = c
        .call(
            ctx,
            Method::POST,
            "/api/v1/searches",
            csrf.as_deref(),
            Some(body),
        )
        .await
        .into_result()?;
    Ok(found["records"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["record"].clone())
        .collect())
}

/// The selectors of a record's entities (of one entity, if named).
fn record_selectors(record: &Value, only: Option<&str>) -> Vec<Value> {
    let ctx = Context {
        country: record["country"].as_str().and_then(|c| c.parse().ok()),
    };
    let mut out = Vec::new();
    for e in record["entities"].as_array().into_iter().flatten() {
        if only.is_some_and(|r| e["ref"].as_str() != Some(r)) {
            continue;
        }
        if let Ok(entity) = serde_json::from_value::<Entity>(e.clone()) {
            let _ = entity_selectors(&entity, &ctx, &mut out);
        }
    }
    out.iter()
        .filter_map(|s| serde_json::to_value(s).ok())
        .collect()
}

pub(super) async fn graph(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Query(q): Query<GraphQuery>,
) -> Response {
    let ctx = c.ctx(&headers).await;
    let Some(who) = ctx.who.clone() else {
        return refusal_json(Refusal::SignIn);
    };
    let need = if q.report.is_some() {
        Right::Reports
    } else if q.record.is_some() {
        Right::Records
    } else {
        Right::Match
    };
    if !who.may(need) {
        return refusal_json(Refusal::Api(
            StatusCode::FORBIDDEN,
            crate::users::denied(&who.name, need).to_string(),
        ));
    }
    match build(&c, &ctx, &q).await {
        Ok(g) => Json(g.into_json()).into_response(),
        Err(r) => refusal_json(r),
    }
}

async fn build(c: &Console, ctx: &Ctx, q: &GraphQuery) -> Result<Graph, Refusal> {
    let mut g = Graph::default();
    let us = c.node.clone();
    g.agency(&us, true);
    if let Some(id) = &q.report {
        let r = c
            .get(ctx, &format!("/api/v1/reports/{}", url_segment(id)))
            .await?;
        if r["verified"] != true {
            // A report that does not verify shows no content, here as on
            // its page.
            return Ok(g);
        }
        let owner = r["originator"]
            .as_str()
            .filter(|o| !o.is_empty())
            .or(r["peer"].as_str())
            .unwrap_or("?")
            .to_owned();
        g.agency(&owner, false);
        let mut selectors = Vec::new();
        for rec in r["records"].as_array().into_iter().flatten() {
            g.record(&rec["record"], &owner, false, rec["handling"].as_str());
            selectors.extend(record_selectors(&rec["record"], None));
        }
        for ours in ours_holding(c, ctx, selectors).await? {
            g.record(&ours, &us, true, None);
        }
    } else if let Some(id) = &q.record {
        let stored = c
            .get(ctx, &format!("/api/v1/records/{}", url_segment(id)))
            .await?;
        let record = &stored["record"];
        g.record(record, &us, true, None);
        if let Some(entity) = &q.entity {
            for other in ours_holding(c, ctx, record_selectors(record, Some(entity))).await? {
                g.record(&other, &us, true, None);
            }
        }
    } else if let Some(id) = q.matched {
        let hits = c
            .get(ctx, &format!("/api/v1/matches/{id}?limit=1000"))
            .await?;
        for h in hits["items"].as_array().into_iter().flatten() {
            let peer = h["peer"].as_str().unwrap_or("?");
            g.agency(peer, false);
            let pid = format!("a:{peer}");
            g.node(&pid, json!({ "id": pid, "kind": "organisation", "label": peer, "agency": peer, "ours": false }));
            let kinds: Vec<&str> = h["kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let k = match kinds.first().copied().unwrap_or("") {
                "phone" => "phone",
                "passport" | "document" | "id_card" => "document",
                "plate" | "vin" => "vehicle",
                "email" => "email",
                "account" | "iban" => "account",
                "imei" => "device",
                "organization" => "organisation",
                k if k.starts_with("person") => "person",
                _ => "other",
            };
            let source = h["source"].as_str().unwrap_or("");
            let eid = format!("h:{}", short_hash(&format!("{source}|{}", h["entity"])));
            let mut node =
                json!({ "id": eid, "kind": k, "label": h["entity"], "agency": us, "ours": true });
            if !source.is_empty() {
                node["expand"] = json!(format!(
                    "/console/chart/graph.json?record={}",
                    url_segment(source)
                ));
            }
            g.node(&eid, node);
            let strength = h["strength"].as_str().unwrap_or("hit");
            g.edge(&eid, &pid, strength);
        }
    }
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_identity_is_one_node_and_calls_are_counted() {
        let ours = json!({"id": "KG-1", "country": "KGZ", "handling": "TLP:AMBER", "entities": [
            {"ref": "p1", "type": "person", "surname": "Курбонов", "given": "Юсуф", "dob": "1985-03-14"},
            {"ref": "t1", "type": "phone", "number": "0775 987 817"}],
            "links": [{"from": "p1", "to": "t1", "rel": "uses"}]});
        let theirs = json!({"id": "KZ-9", "entities": [
            {"ref": "a", "type": "phone", "number": "+996 775 987 817"},
            {"ref": "b", "type": "phone", "number": "+992 93 555 1234"}],
            "links": [{"from": "a", "to": "b", "rel": "called"}]});
        let call2 = json!({"id": "KZ-10", "entities": [
            {"ref": "a", "type": "phone", "number": "+996775987817"},
            {"ref": "b", "type": "phone", "number": "+992935551234"}],
            "links": [{"from": "a", "to": "b", "rel": "called"}]});
        let mut g = Graph::default();
        g.agency("kg", true);
        g.agency("kz", false);
        g.record(&ours, "kg", true, None);
        g.record(&theirs, "kz", false, None);
        g.record(&call2, "kz", false, None);
        let v = g.into_json();
        let nodes = v["nodes"].as_array().expect("nodes");
        // 3 records, 1 person, 2 phones (the KG phone is the KZ caller).
        assert_eq!(nodes.len(), 6, "{nodes:#?}");
        let phones: Vec<_> = nodes.iter().filter(|n| n["kind"] == "phone").collect();
        assert_eq!(phones.len(), 2);
        assert!(phones
            .iter()
            .any(|p| p["ours"] == true && p["label"] == "0775 987 817"));
        let calls: Vec<_> = v["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .filter(|e| e["relation"] == "call")
            .cloned()
            .collect();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0]["count"], 2);
        assert_eq!(v["agencies"]["kg"], OURS);
        assert_ne!(v["agencies"]["kz"], OURS);
    }
}
