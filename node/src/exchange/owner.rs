//! The owner's side: a peer's request resolved to records, the policy's
//! decision, the analyst's approval or refusal, the report, and the
//! notices when a requested record changes.

use std::collections::BTreeMap;

use ed25519_dalek::VerifyingKey;
use liaison_config::{Peer, Release};
use liaison_protocol::exchange::{
    Change, Notice, Released, Reply, Report, Request, Status, Tag, MAX_FIELD, MAX_ID, MAX_RECORDS,
    MAX_RECORD_JSON, MAX_REDACTED, MAX_TEXT,
};
use liaison_protocol::SelectorKind;
use serde_json::{Map, Value};
use tracing::{info, warn};

use super::{code, context, load, load_all, pick, Decision, Decisions, Error, Exchange, Incoming};
use crate::hex;
use crate::post::{Applied, Handled};
use crate::store::keys::{self, exchange as k};
use crate::store::records::{is_indexed, Records};
use crate::store::{self, Batch, Column};

/// The record ids `tags` name among what we served `peer`: each tag is
/// looked up in the tags of the epoch it names, and must be of a kind the
/// peer may match and the kind it claims. A tag we never served (a filter
/// false positive, a forged tag, another peer's tag, a retired epoch, the
/// one-way image a delta carried) resolves to nothing. A `person_fuzzy`
/// tag carries its records (the local index leaves those keys out), so
/// nothing here scans the records.
pub fn resolve(exchange: &Exchange, peer: &Peer, tags: &[Tag]) -> Result<Vec<String>, Error> {
    Ok(resolve_weak(exchange, peer, tags)?
        .into_iter()
        .map(|(id, _)| id)
        .collect())
}

/// [`resolve`], with whether each record was reached only through
/// one-letter person keys (`person_fuzzy`): a weak hit on it.
fn resolve_weak(
    exchange: &Exchange,
    peer: &Peer,
    tags: &[Tag],
) -> Result<Vec<(String, bool)>, Error> {
    let store = exchange.post().store();
    let pk = peer.key.verifying_key().to_bytes();
    let records = Records::new(store);
    // Record id -> whether only weak tags reached it so far.
    let mut ids: BTreeMap<String, bool> = BTreeMap::new();
    for t in tags {
        if !peer.kinds.contains(&t.kind) {
            continue;
        }
        let Some(v) = store.get(Column::Tags, &keys::matching::tag(&pk, t.epoch, &t.tag))? else {
            continue;
        };
        let Some((s, held)) = keys::decode_tag_value(&v) else {
            continue;
        };
        if s.kind != t.kind {
            continue;
        }
        let weak = s.kind == SelectorKind::PersonFuzzy;
        let found = if is_indexed(&s) {
            records.find(&s, MAX_RECORDS)?
        } else {
            held
        };
        for id in found {
            let only_weak = ids.entry(id).or_insert(true);
            *only_weak &= weak;
        }
    }
    Ok(ids.into_iter().take(MAX_RECORDS).collect())
}

/// Applies a peer's request (inside [`Post::receive`](crate::post::Post::receive)): files it, and
/// releases, waits or refuses by the peer's policy. The answer goes back
/// as the reply. A request whose tags name nothing is answered "no such
/// record" and not filed: the answer is the same whatever the reason.
pub(crate) fn on_request<'p>(
    exchange: &'p Exchange,
    peer: &Peer,
    req: Request,
    _held: &Decisions,
) -> Result<Applied<'p>, Error> {
    let store = exchange.post().store();
    let reply = |status| {
        Some((
            context::REPLY,
            Reply {
                request: req.id,
                status,
            }
            .to_bytes(),
        ))
    };
    let pk = peer.key.verifying_key().to_bytes();
    let now = exchange.post().now_ms();
    let settings = exchange.settings();
    let mut effects = Batch::default();
    let refused = |effects, code, reason: String| {
        Ok(Applied::Handled(Handled {
            effects,
            reply: reply(Status::Refused { reason }),
            count: 1,
            code,
            ..Handled::default()
        }))
    };
    // Each request costs a durable write (its audit entry, a new case's
    // salt): a peer may send so many a day.
    let day = now / DAY_MS;
    let tomorrow = liaison_protocol::matching::format_ms((day + 1) * DAY_MS);
    let sent = day_count(store, &mut effects, &k::requests_prefix(&pk), day)?;
    if sent >= u64::from(settings.requests_per_day) {
        warn!(peer = %peer.name, sent, "refused a follow-up request: the peer's requests for today are used up");
        return refused(
            Batch::default(),
            code::RATE,
            format!("{sent} of your requests arrived today, the most we take from one agency in a day: send more after {tomorrow}"),
        );
    }
    effects.put(
        Column::Exchange,
        k::requests(&pk, day),
        (sent + 1).to_be_bytes().to_vec(),
    );
    let case = match store.case_commitment_if_known(&req.reference, &req.basis)? {
        Some(c) => c,
        None => {
            let opened = day_count(store, &mut effects, &k::cases_prefix(&pk), day)?;
            if opened >= u64::from(settings.cases_per_day) {
                warn!(peer = %peer.name, opened, "refused a follow-up request: the peer opened too many new case references today");
                return refused(
                    effects,
                    code::CASES,
                    format!("{opened} requests under new case references arrived today, the most we take from one agency in a day: send requests under a case you used before, or after {tomorrow}"),
                );
            }
            effects.put(
                Column::Exchange,
                k::cases(&pk, day),
                (opened + 1).to_be_bytes().to_vec(),
            );
            store::Store::case_commitment_in(&mut effects, &req.reference, &req.basis)
        }
    };
    let case = Some(case);
    let ids = resolve_weak(exchange, peer, &req.tags)?;
    // A record reached only through one-letter keys is a weak hit, even
    // when the request also names strong tags of another record.
    let weak = ids.iter().any(|(_, weak)| *weak);
    if store
        .get(Column::Exchange, &k::incoming(&req.id))?
        .is_some()
    {
        return Ok(Applied::Handled(Handled {
            effects,
            count: 1,
            case,
            code: code::DUPLICATE,
            ..Handled::default()
        }));
    }
    let waiting = incoming(exchange)?
        .iter()
        .filter(|r| r.decision == Decision::Pending && r.peer_key == hex::encode(&pk))
        .count();
    if waiting >= MAX_WAITING {
        warn!(peer = %peer.name, waiting, "refused a follow-up request: too many of that peer's requests wait already");
        return Ok(Applied::Handled(Handled {
            effects,
            reply: reply(Status::Refused {
                reason: format!("{waiting} of your requests already wait for our analysts: send more once they are answered"),
            }),
            count: 1,
            case,
            code: code::TOO_MANY,
            ..Handled::default()
        }));
    }
    let records = Records::new(store);
    let mut held = Vec::new();
    for (id, _) in ids {
        if let Some(r) = records.get(&id)? {
            held.push((id, r.record.handling));
        }
    }
    if held.is_empty() {
        info!(peer = %peer.name, "a follow-up request named no record we hold for that peer");
        return Ok(Applied::Handled(Handled {
            effects,
            reply: reply(Status::NoSuchRecord),
            count: req.tags.len() as u64,
            case,
            code: code::NO_SUCH_RECORD,
            ..Handled::default()
        }));
    }
    let now = exchange.post().now_ms();
    let mut filed = Incoming {
        id: hex::encode(&req.id),
        peer: peer.name.clone(),
        peer_key: hex::encode(peer.key.verifying_key().as_bytes()),
        received_ms: now,
        reference: req.reference.clone(),
        basis: req.basis.clone(),
        note: req.note.clone(),
        weak,
        records: Vec::new(),
        handling: Vec::new(),
        decision: Decision::Pending,
        decided_ms: None,
        decided_by: None,
        reason: None,
        redacted: Vec::new(),
        withheld: Vec::new(),
        reminded: false,
        owed: false,
    };
    // A weak hit names the wrong person about half the time: an analyst
    // looks before anything leaves.
    let mut automatic = !filed.weak;
    for (id, handling) in held {
        match peer.release.decide(handling) {
            Release::Never => filed.withheld.push(id),
            r => {
                automatic &= r == Release::Auto;
                filed.records.push(id);
                filed.handling.push(handling.as_str().to_owned());
            }
        }
    }
    let (answer, code) = if filed.records.is_empty() {
        filed.decision = Decision::Refused;
        filed.decided_ms = Some(now);
        filed.decided_by = Some("policy".into());
        let reason =
            "the owner's release policy does not allow releasing this record to your agency";
        filed.reason = Some(reason.into());
        let status = Status::Refused {
            reason: reason.into(),
        };
        (reply(status), code::POLICY)
    } else if automatic {
        match report(exchange, peer, &req.id, &filed.records, &[])? {
            Ok(r) => {
                filed.decision = Decision::Released;
                filed.decided_ms = Some(now);
                filed.decided_by = Some("policy".into());
                (Some((context::REPORT, r.to_bytes())), 0)
            }
            Err(problem) => {
                // Too large to go automatically: an analyst redacts.
                warn!(peer = %peer.name, %problem, "a request due for automatic release waits for an analyst");
                (reply(filed_status(exchange, now)), 0)
            }
        }
    } else {
        (reply(filed_status(exchange, now)), 0)
    };
    if filed.decision != Decision::Refused {
        let pk = peer.key.verifying_key().to_bytes();
        for id in &filed.records {
            effects.put(Column::Exchange, k::naming(id, &req.id), pk.to_vec());
        }
    }
    match filed.decision {
        Decision::Pending => {
            warn!(peer = %peer.name, request = %&filed.id[..8], "a follow-up request waits for an analyst: `liaison requests`")
        }
        d => {
            info!(peer = %peer.name, request = %&filed.id[..8], decision = ?d, "a follow-up request was answered by policy")
        }
    }
    // The answer is owed until its outbox entry commits (with the reply,
    // after `effects`); a crash in between leaves it owed, and the
    // scheduled work sends it ([`resend_owed`]).
    let mut reply_effects = Batch::default();
    put(&mut reply_effects, &req.id, &filed)?;
    filed.owed = true;
    put(&mut effects, &req.id, &filed)?;
    Ok(Applied::Handled(Handled {
        effects,
        reply: answer,
        reply_effects,
        hold_through_reply: true,
        count: req.tags.len() as u64,
        case,
        code,
        ..Handled::default()
    }))
}

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

/// The report releasing `ids` (those still held) to `peer`, with
/// `redact` applied. `Ok(Err(problem))` for a redaction no record has or
/// a report too large for one envelope; nothing is changed.
fn report(
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
            if redact(obj, f) {
                used[i] = true;
                redacted.push(f.clone());
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

/// A filed request, for a decision, with its peer if still trusted;
/// refused if it was decided already.
fn pending(exchange: &Exchange, given: &str) -> Result<(Incoming, [u8; 16], Option<Peer>), Error> {
    let id = pick(
        given,
        super::ids_under(exchange.post().store(), k::INCOMING)?.into_iter(),
        "request",
    )?;
    let req: Incoming =
        load(exchange.post().store(), &k::incoming(&id))?.ok_or_else(|| Error::Unknown {
            what: "request",
            given: given.to_owned(),
            hint: "",
        })?;
    if req.decision != Decision::Pending {
        return Err(Error::Answered {
            id: req.id[..8].to_owned(),
            peer: req.peer,
            decision: req.decision,
            by: req
                .decided_by
                .as_deref()
                .map(|b| format!(" by {b}"))
                .unwrap_or_default(),
            at: req
                .decided_ms
                .map(|t| format!(" at {}", liaison_protocol::matching::format_ms(t)))
                .unwrap_or_default(),
        });
    }
    let peer = peer_of(exchange, &req);
    Ok((req, id, peer))
}

/// The trusted peer that sent `req`, if it still is one.
fn peer_of(exchange: &Exchange, req: &Incoming) -> Option<Peer> {
    hex::decode::<32>(&req.peer_key)
        .and_then(|k| VerifyingKey::from_bytes(&k).ok())
        .and_then(|key| exchange.post().peer_by_key(&key))
}

/// Most requests from one peer that may wait for an analyst at once.
pub const MAX_WAITING: usize = 256;

/// A day, ms: the request and new-case limits count per UTC day.
const DAY_MS: u64 = 24 * 3600 * 1000;

/// Today's count under a per-day counter `prefix` (peer ‖ day keys), and
/// the counters of earlier days deleted in `effects`.
fn day_count(
    store: &store::Store,
    effects: &mut Batch,
    prefix: &[u8],
    day: u64,
) -> Result<u64, Error> {
    let mut today = 0;
    store.scan_prefix(Column::Exchange, prefix, |key, v| {
        match key
            .get(prefix.len()..)
            .and_then(|d| d.try_into().ok())
            .map(u64::from_be_bytes)
        {
            Some(d) if d == day => {
                today = v.try_into().ok().map_or(0, u64::from_be_bytes);
            }
            _ => effects.delete(Column::Exchange, key.to_vec()),
        }
        true
    })?;
    Ok(today)
}

/// The "filed" answer for a request that arrived at `received_ms`.
fn filed_status(exchange: &Exchange, received_ms: u64) -> Status {
    Status::Filed {
        deadline_ms: received_ms.saturating_add(exchange.settings().deadline_ms),
    }
}

/// Stores `req` in `batch`.
fn put(batch: &mut Batch, id: &[u8; 16], req: &Incoming) -> Result<(), store::Error> {
    batch.put_json(Column::Exchange, k::incoming(id), req)
}

/// Records a decision on `req`.
fn decide(exchange: &Exchange, req: &mut Incoming, decision: Decision, by: &str) {
    req.decision = decision;
    req.decided_ms = Some(exchange.post().now_ms());
    req.decided_by = Some(by.into());
}

/// What goes back to a requester.
enum Outbound {
    /// A status answer.
    Status(Status),
    /// The records released.
    Report(Report),
}

/// Queues `out` to `peer` in the same write that stores `req` with its
/// answer no longer owed (and, once it is closed unreleased, without the
/// entries that name its records).
fn send(
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
            with.delete(Column::Exchange, k::naming(r, id));
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

/// An analyst's approval: releases the request's records (less the
/// redacted fields) to the requester. Records the policy never releases
/// to that peer stay out, whatever the analyst says. The decision and the
/// report's outbox entry commit together.
pub fn approve(
    exchange: &Exchange,
    given: &str,
    redact_fields: &[String],
) -> Result<Incoming, Error> {
    let _deciding = exchange.deciding();
    let (mut req, id, peer) = pending(exchange, given)?;
    let peer = peer.ok_or_else(|| Error::Untrusted {
        peer: req.peer.clone(),
        then: "refuse the request, or trust the peer again first",
    })?;
    let report = report(exchange, &peer, &id, &req.records, redact_fields)?.map_err(|problem| {
        Error::CannotRelease {
            id: req.id[..8].to_owned(),
            problem,
        }
    })?;
    req.redacted = redact_fields.to_vec();
    decide(exchange, &mut req, Decision::Released, "analyst");
    send(exchange, &peer, &id, &mut req, Outbound::Report(report))?;
    Ok(req)
}

/// An analyst's refusal, with the reason the requester will read. A
/// request from a peer no longer trusted is closed here without a reply.
pub fn refuse(exchange: &Exchange, given: &str, reason: &str) -> Result<Incoming, Error> {
    let reason = reason.trim();
    if reason.is_empty() || reason.len() > MAX_TEXT {
        return Err(Error::NoReason { max: MAX_TEXT });
    }
    let _deciding = exchange.deciding();
    let (mut req, id, peer) = pending(exchange, given)?;
    req.reason = Some(reason.into());
    decide(exchange, &mut req, Decision::Refused, "analyst");
    match peer {
        Some(peer) => {
            let status = Status::Refused {
                reason: reason.into(),
            };
            send(exchange, &peer, &id, &mut req, Outbound::Status(status))?;
        }
        None => {
            let mut b = Batch::default();
            put(&mut b, &id, &req)?;
            for r in &req.records {
                b.delete(Column::Exchange, k::naming(r, &id));
            }
            exchange.post().store().write_durable(b)?;
        }
    }
    Ok(req)
}

/// Sends the answers still owed: decisions made inside `receive` whose
/// reply never reached the outbox (a crash in between). An automatic
/// release is made again only if the policy still says so and the report
/// can still be built; otherwise the request goes back to the analyst, or
/// is answered "withdrawn" if none of its records is held. Returns how
/// many answers were queued.
pub fn resend_owed(exchange: &Exchange) -> Result<usize, Error> {
    let _deciding = exchange.deciding();
    let mut n = 0;
    for mut req in incoming(exchange)?.into_iter().filter(|r| r.owed) {
        let (Some(id), Some(peer)) = (hex::decode::<16>(&req.id), peer_of(exchange, &req)) else {
            continue;
        };
        let out = match req.decision {
            Decision::Released => {
                let records = Records::new(exchange.post().store());
                let mut held = Vec::new();
                for r in &req.records {
                    if let Some(s) = records.get(r)? {
                        held.push(s.record.handling);
                    }
                }
                let still_auto = held
                    .iter()
                    .all(|h| peer.release.decide(*h) == Release::Auto);
                let built = report(exchange, &peer, &id, &req.records, &req.redacted)?;
                match built {
                    _ if held.is_empty() => {
                        decide(exchange, &mut req, Decision::Withdrawn, "owner");
                        Outbound::Status(Status::Withdrawn)
                    }
                    Ok(r) if still_auto => Outbound::Report(r),
                    _ => {
                        (req.decision, req.decided_ms, req.decided_by) =
                            (Decision::Pending, None, None);
                        Outbound::Status(filed_status(exchange, req.received_ms))
                    }
                }
            }
            Decision::Pending => Outbound::Status(filed_status(exchange, req.received_ms)),
            Decision::Refused => Outbound::Status(Status::Refused {
                reason: req.reason.clone().unwrap_or_default(),
            }),
            Decision::Withdrawn => Outbound::Status(Status::Withdrawn),
        };
        send(exchange, &peer, &id, &mut req, out)?;
        n += 1;
    }
    Ok(n)
}

fn save(exchange: &Exchange, id: &[u8; 16], req: &Incoming) -> Result<(), Error> {
    let mut b = Batch::default();
    put(&mut b, id, req)?;
    exchange.post().store().write_durable(b)?;
    Ok(())
}

/// Requests peers sent us, oldest first.
pub fn incoming(exchange: &Exchange) -> Result<Vec<Incoming>, Error> {
    let mut all: Vec<Incoming> = load_all(exchange.post().store(), k::INCOMING)?;
    all.sort_by_key(|r| r.received_ms);
    Ok(all)
}

/// Tells requesters about records that changed (the queue that
/// withdrawal, correction and expiry fill): a request still waiting is
/// answered "withdrawn"; a peer that received the record gets a signed
/// notice. Returns how many notices and answers were queued.
pub fn drain_changed(exchange: &Exchange) -> Result<usize, Error> {
    let store = exchange.post().store();
    let _deciding = exchange.deciding();
    let mut changed = Vec::new();
    store.scan_prefix(Column::Exchange, k::CHANGED, |key, v| {
        if let (Some(id), Some(&c)) = (k::changed_record(key), v.first()) {
            changed.push((key.to_vec(), id.to_owned(), c));
        }
        changed.len() < 1024
    })?;
    let mut sent = 0;
    for (key, record, c) in changed {
        let change = Change::from_u8(c).unwrap_or(Change::Withdrawn);
        let mut naming = Vec::new();
        store.scan_prefix(Column::Exchange, &k::naming_prefix(&record), |nk, v| {
            if let (Some(req), Ok(peer)) = (k::naming_request(nk), <[u8; 32]>::try_from(v)) {
                naming.push((nk.to_vec(), req, peer));
            }
            true
        })?;
        let mut b = Batch::default();
        for (nk, id, pk) in naming {
            let peer = VerifyingKey::from_bytes(&pk)
                .ok()
                .and_then(|key| exchange.post().peer_by_key(&key));
            let req = load::<Incoming>(exchange.post().store(), &k::incoming(&id))?;
            let case = match &req {
                Some(r) => Some(store.case_commitment(&r.reference, &r.basis)?),
                None => None,
            };
            // A released request purged by retention keeps its naming
            // entries, so its recipient still hears of the change.
            let decision = req.as_ref().map_or(Decision::Released, |r| r.decision);
            match (decision, change, &peer, req) {
                (
                    Decision::Pending,
                    Change::Withdrawn | Change::Expired,
                    Some(peer),
                    Some(mut req),
                ) => {
                    // Other records of the request may still be held.
                    let (records, handling) = req
                        .records
                        .iter()
                        .zip(&req.handling)
                        .filter(|(r, _)| **r != record)
                        .map(|(r, h)| (r.clone(), h.clone()))
                        .unzip();
                    (req.records, req.handling) = (records, handling);
                    if req.records.is_empty() {
                        decide(exchange, &mut req, Decision::Withdrawn, "owner");
                        send(
                            exchange,
                            peer,
                            &id,
                            &mut req,
                            Outbound::Status(Status::Withdrawn),
                        )?;
                        sent += 1;
                    } else {
                        put(&mut b, &id, &req)?;
                    }
                }
                (Decision::Released, _, Some(peer), _) => {
                    let notice = Notice {
                        request: id,
                        record: record.clone(),
                        change,
                        time_ms: exchange.post().now_ms(),
                    };
                    exchange
                        .post()
                        .queue(peer, context::NOTICE, &[notice.to_bytes()], case)?;
                    info!(peer = %peer.name, change = change.as_str(), "told a recipient that a record it holds changed");
                    sent += 1;
                }
                _ => {}
            }
            if change != Change::Corrected {
                b.delete(Column::Exchange, nk);
            }
        }
        b.delete(Column::Exchange, key);
        store.write_durable(b)?;
    }
    Ok(sent)
}

/// Raises the reminder for each request waiting past the deadline (once
/// each): a warning in the daemon's log, and `OVERDUE` in `requests`.
pub fn remind(exchange: &Exchange, now: u64) -> Result<usize, Error> {
    let _deciding = exchange.deciding();
    let deadline = exchange.settings().deadline_ms;
    let mut n = 0;
    for mut req in incoming(exchange)? {
        if req.decision != Decision::Pending
            || req.reminded
            || now.saturating_sub(req.received_ms) <= deadline
        {
            continue;
        }
        warn!(
            peer = %req.peer,
            request = %&req.id[..8],
            waiting_s = now.saturating_sub(req.received_ms) / 1000,
            "a follow-up request is past its deadline: approve or refuse it (`liaison requests`)"
        );
        req.reminded = true;
        if let Some(id) = hex::decode::<16>(&req.id) {
            save(exchange, &id, &req)?;
        }
        n += 1;
    }
    Ok(n)
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
