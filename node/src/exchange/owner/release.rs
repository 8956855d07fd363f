//! Releasing: the report built from a request's records under the peer's
//! policy, with the analyst's redactions, and any answer sent in the same
//! write that records it.
//!
//! In: a filed request and its records (from the store), for a release by
//! policy ([`super::on_request`]), an analyst's approval or refusal
//! ([`super::approve`], [`super::refuse`]) or the daemon's scheduled work
//! ([`super::resend_owed`], [`super::drain_changed`]). Out: reports and
//! status replies sealed and queued as envelopes through the
//! [`Post`](crate::post::Post), with the request's new state in the
//! store's exchange column.

use liaison_config::{Peer, Release};
use liaison_protocol::exchange::{
    Released, Reply, Report, Status, MAX_FIELD, MAX_ID, MAX_RECORD_JSON, MAX_REDACTED,
};
use serde_json::{Map, Value};
use tracing::info;

use super::put;
use crate::exchange::{context, Decision, Error, Exchange, Incoming};
use crate::store::exchange as x;
use crate::store::records::Records;
use crate::store::Batch;

/// The fields a report always carries: never redacted.
const KEPT: [&str; 4] = ["id", "handling", "grading", "entities"];

/// Removes `field` from a record's JSON: a top-level field (`summary`,
/// `links`, `country`, any field the model does not name), an entity by
/// its `ref` (with the links that touch it), or one field of an entity as
/// `REF.FIELD` (`p1.dob`). Whether anything was removed.
fn redact(obj: &mut Map<String, Value>, field: &str) -> bool {
    let entities = |obj: &mut Map<String, Value>| -> Vec<Value> {
        obj.get("entities")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let has_ref = |e: &Value, r: &str| e.get("ref").and_then(Value::as_str) == Some(r);
    if let Some((reference, sub)) = field.split_once('.') {
        if matches!(sub, "ref" | "type") {
            return false;
        }
        let mut list = entities(obj);
        let mut done = false;
        for e in list.iter_mut().filter(|e| has_ref(e, reference)) {
            done |= e.as_object_mut().and_then(|m| m.remove(sub)).is_some();
        }
        obj.insert("entities".into(), Value::Array(list));
        return done;
    }
    if KEPT.contains(&field) {
        return false;
    }
    if obj.remove(field).is_some() {
        return true;
    }
    let mut list = entities(obj);
    let before = list.len();
    list.retain(|e| !has_ref(e, field));
    if list.len() == before {
        return false;
    }
    obj.insert("entities".into(), Value::Array(list));
    if let Some(links) = obj.get_mut("links").and_then(Value::as_array_mut) {
        links.retain(|l| {
            l.get("from").and_then(Value::as_str) != Some(field)
                && l.get("to").and_then(Value::as_str) != Some(field)
        });
    }
    true
}

/// A redaction scoped to one record (`KG-1:summary`, `KG-1:p1.dob`): the
/// record of `ids` it names and the field; `None` for a bare field.
fn scoped<'a>(ids: &'a [String], f: &'a str) -> Option<(&'a str, &'a str)> {
    ids.iter().find_map(|id| {
        f.strip_prefix(id.as_str())
            .and_then(|rest| rest.strip_prefix(':'))
            .filter(|field| !field.is_empty())
            .map(|field| (id.as_str(), field))
    })
}

/// The report releasing `ids` (those still held) to `peer`, with
/// `redact` applied. `Ok(Err(problem))` for a redaction no record has or
/// a report too large for one envelope; nothing is changed.
pub(super) fn report(
    exchange: &Exchange,
    peer: &Peer,
    request: &[u8; 16],
    ids: &[String],
    redact_fields: &[String],
) -> Result<Result<Report, String>, Error> {
    if redact_fields.len() > MAX_REDACTED
        || redact_fields
            .iter()
            .any(|f| f.is_empty() || f.len() > MAX_FIELD)
    {
        return Ok(Err(format!(
            "redact at most {MAX_REDACTED} fields, each named in 1 to {MAX_FIELD} bytes"
        )));
    }
    let records = Records::new(exchange.post().store());
    let mut used = vec![false; redact_fields.len()];
    let mut out = Vec::new();
    for id in ids {
        let Some(stored) = records.get(id)? else {
            continue;
        };
        let r = &stored.record;
        if peer.release.decide(r.handling) == Release::Never {
            continue;
        }
        let mut value = serde_json::to_value(r).unwrap_or(Value::Null);
        let Some(obj) = value.as_object_mut() else {
            continue;
        };
        // The handling code goes in explicitly even where the agency's
        // file left it to the default.
        obj.insert("handling".into(), Value::String(r.handling.as_str().into()));
        let mut redacted = Vec::new();
        for (i, f) in redact_fields.iter().enumerate() {
            // `record-id:field` redacts in that record only; a bare
            // `field`, in every record that has it.
            let (applies, field) = match scoped(ids, f) {
                Some((id, field)) => (id == r.id, field),
                None => (true, f.as_str()),
            };
            if applies && redact(obj, field) {
                used[i] = true;
                redacted.push(field.to_owned());
            }
        }
        let json = value.to_string();
        // The requester's caps: refused here, not there.
        if json.len() > MAX_RECORD_JSON || r.id.len() > MAX_ID {
            return Ok(Err(format!(
                "record {} is {} bytes as released, over the {MAX_RECORD_JSON} a report may carry: redact fields (--redact summary, an entity's ref)",
                r.id,
                json.len()
            )));
        }
        out.push(Released {
            id: r.id.clone(),
            handling: r.handling,
            grading: r.grading,
            redacted,
            json,
        });
    }
    if let Some(i) = used.iter().position(|u| !u) {
        return Ok(Err(format!(
            "no record of this request has a field {:?} to redact: name a top-level field (summary, links, country, ...), an entity's ref (p1), or REF.FIELD (p1.dob); the id, handling, grading and entities list always go",
            redact_fields[i]
        )));
    }
    if out.is_empty() {
        return Ok(Err("none of its records is still held".into()));
    }
    let report = Report {
        request: *request,
        owner: exchange
            .post()
            .identity()
            .signing
            .verifying_key()
            .to_bytes(),
        owner_name: exchange.post().name().to_owned(),
        recipient: peer.key.verifying_key().to_bytes(),
        released_ms: exchange.post().now_ms(),
        records: out,
    };
    let len = report.to_bytes().len();
    if len > liaison_protocol::envelope::MAX_BODY {
        return Ok(Err(format!(
            "the report is {len} bytes, over one envelope's {}: redact fields (--redact summary, an entity's ref)",
            liaison_protocol::envelope::MAX_BODY
        )));
    }
    Ok(Ok(report))
}

/// What goes back to a requester.
pub(super) enum Outbound {
    /// A status answer.
    Status(Status),
    /// The records released.
    Report(Report),
}

/// Queues `out` to `peer` in the same write that stores `req` with its
/// answer no longer owed (and, once it is closed unreleased, without the
/// entries that name its records).
pub(super) fn send(
    exchange: &Exchange,
    peer: &Peer,
    id: &[u8; 16],
    req: &mut Incoming,
    out: Outbound,
) -> Result<(), Error> {
    req.owed = false;
    let case = Some(
        exchange
            .post()
            .store()
            .case_commitment(&req.reference, &req.basis)?,
    );
    let mut with = Batch::default();
    put(&mut with, id, req)?;
    if matches!(req.decision, Decision::Refused | Decision::Withdrawn) {
        for r in &req.records {
            x::delete_naming(&mut with, r, id);
        }
    }
    match out {
        Outbound::Report(r) => {
            let n = r.records.len() as u64;
            let env = exchange
                .post()
                .seal(&peer.key, context::REPORT, &r.to_bytes())?;
            exchange
                .post()
                .enqueue_with(peer, vec![(env, n)], case, with)?;
            info!(peer = %peer.name, request = %&req.id[..8], records = n, "released a report");
        }
        Outbound::Status(status) => {
            let reply = Reply {
                request: *id,
                status,
            };
            exchange
                .post()
                .queue_with(peer, context::REPLY, &[reply.to_bytes()], case, with)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Map<String, Value> {
        serde_json::json!({
            "id": "KG-1", "handling": "TLP:AMBER", "summary": "Courier detained",
            "entities": [{"ref": "p1", "type": "person", "surname": "Kurbanov", "dob": "1985-03-14"},
                         {"ref": "t1", "type": "phone", "number": "0775 987 817"}],
            "links": [{"from": "p1", "to": "t1", "rel": "uses"}]
        })
        .as_object()
        .unwrap()
        .clone()
    }

    #[test]
    fn a_redaction_may_name_its_record() {
        let ids = ["KG-1".to_owned(), "KG-1:x".to_owned()];
        assert_eq!(scoped(&ids, "KG-1:summary"), Some(("KG-1", "summary")));
        assert_eq!(scoped(&ids, "KG-1:p1.dob"), Some(("KG-1", "p1.dob")));
        assert_eq!(scoped(&ids, "summary"), None);
        assert_eq!(scoped(&ids, "KG-1:"), None);
        assert_eq!(scoped(&ids, "KG-2:summary"), None);
    }

    #[test]
    fn redaction_removes_fields_entities_and_their_links_and_nothing_it_must_keep() {
        let mut r = record();
        assert!(redact(&mut r, "summary"));
        assert!(!r.contains_key("summary"));
        assert!(redact(&mut r, "p1.dob"));
        assert!(r["entities"][0].get("dob").is_none());
        assert!(redact(&mut r, "t1"));
        assert_eq!(r["entities"].as_array().unwrap().len(), 1);
        assert!(r["links"].as_array().unwrap().is_empty());
        for kept in [
            "id", "handling", "grading", "entities", "p1.ref", "p1.type", "nothing", "p9.dob",
        ] {
            assert!(!redact(&mut r, kept), "{kept}");
        }
        assert_eq!(r["id"], "KG-1");
    }
}
