//! The requester's side: a request for one of our hits, the owner's
//! answers, and the reports, kept as the envelopes they came in and
//! checked again on every read.

use ed25519_dalek::VerifyingKey;
use liaison_protocol::envelope::{self, Envelope, Recipient};
use liaison_protocol::exchange::{
    Change, Notice, Reply, Report, Request, Status, Tag, MAX_REFERENCE, MAX_TAGS, MAX_TEXT,
};
use liaison_protocol::SelectorKind;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use tracing::{info, warn};

use super::{code, context, load, load_all, pick, Answer, Decisions, Error, Exchange, Outgoing};
use crate::hex;
use crate::matching::querier;
use crate::post::{Applied, Handled};
use crate::store::keys::exchange as k;
use crate::store::{self, Batch, Column};

/// What `liaison request` asks for.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Ask {
    /// The hit's id (`liaison hits`).
    pub hit: u64,
    /// Case reference and legal basis; by default the hit's own case.
    pub case: Option<(String, String)>,
    /// A note for the owner's analyst.
    #[serde(default)]
    pub note: String,
}

/// Sends a follow-up request for a hit to the peer that holds it.
pub fn request(exchange: &Exchange, ask: &Ask) -> Result<Outgoing, Error> {
    let store = exchange.post().store();
    // One request per hit: the check and the write under one lock.
    let _deciding = exchange.deciding();
    let hit = querier::hits(exchange.matching())
        .map_err(|e| match e {
            crate::matching::Error::Store(e) => Error::Store(e),
            other => Error::Matching(Box::new(other)),
        })?
        .into_iter()
        .find(|h| h.id == ask.hit)
        .ok_or_else(|| Error::Unknown {
            what: "hit",
            given: ask.hit.to_string(),
            hint: ": `liaison hits` lists them",
        })?;
    if let Some(v) = store.get(Column::Exchange, &k::hit(hit.id))? {
        return Err(Error::FollowedUp {
            hit: hit.id,
            request: hex::encode(&v)[..8.min(v.len() * 2)].to_owned(),
        });
    }
    let peer = exchange
        .post()
        .peer(&hit.peer)
        .map_err(|_| Error::Untrusted {
            peer: hit.peer.clone(),
            then: "a request cannot be sent",
        })?;
    let tags: Vec<Tag> = hit
        .tags
        .iter()
        .filter_map(|(kind, tag, epoch): &(SelectorKind, String, u64)| {
            Some(Tag {
                kind: *kind,
                epoch: *epoch,
                tag: hex::decode::<32>(tag)?,
            })
        })
        .take(MAX_TAGS)
        .collect();
    let live = exchange
        .matching()
        .settings()
        .live_epochs(exchange.post().now_ms());
    if !tags.iter().any(|t| live.contains(&t.epoch)) {
        return Err(Error::Expired {
            hit: hit.id,
            peer: hit.peer,
        });
    }
    let (reference, basis) = match &ask.case {
        Some(c) => c.clone(),
        None => hit
            .case
            .as_deref()
            .and_then(hex::decode::<32>)
            .map(|c| store.case_opening(&c))
            .transpose()?
            .flatten()
            .ok_or(Error::Text(
                "a request for a record names its case and legal basis: add --case REF --basis TEXT",
            ))?,
    };
    if reference.trim().is_empty() || reference.len() > MAX_REFERENCE {
        return Err(Error::Length {
            flag: "--case",
            max: MAX_REFERENCE,
        });
    }
    if basis.trim().is_empty() || basis.len() > MAX_TEXT || ask.note.len() > MAX_TEXT {
        return Err(Error::TooLong {
            flags: "--basis (required) and --note",
            max: MAX_TEXT,
        });
    }
    let mut id = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut id);
    let out = Outgoing {
        id: hex::encode(&id),
        peer: peer.name.clone(),
        peer_key: hex::encode(peer.key.verifying_key().as_bytes()),
        hit: hit.id,
        entity: hit.entity.clone(),
        sent_ms: exchange.post().now_ms(),
        reference: reference.clone(),
        basis: basis.clone(),
        note: ask.note.clone(),
        answer: Answer::Sent,
        answered_ms: None,
        deadline_ms: None,
        reason: None,
    };
    let body = Request {
        id,
        tags,
        reference,
        basis,
        note: ask.note.clone(),
    }
    .to_bytes();
    let case = store.case_commitment(&out.reference, &out.basis)?;
    // Recorded in the same write that queues it.
    let mut b = Batch::default();
    b.put_json(Column::Exchange, k::outgoing(&id), &out)?;
    b.put(Column::Exchange, k::hit(hit.id), id.to_vec());
    exchange
        .post()
        .queue_with(&peer, context::REQUEST, &[body], Some(case), b)?;
    info!(peer = %peer.name, request = %&out.id[..8], "sent a follow-up request");
    Ok(out)
}

/// Requests we sent, newest last.
pub fn outgoing(exchange: &Exchange) -> Result<Vec<Outgoing>, Error> {
    let mut all: Vec<Outgoing> = load_all(exchange.post().store(), k::OUTGOING)?;
    all.sort_by_key(|r| r.sent_ms);
    Ok(all)
}

/// Our request `id`, if it went to `peer`.
fn ours(
    exchange: &Exchange,
    id: &[u8; 16],
    peer: &VerifyingKey,
) -> Result<Option<Outgoing>, Error> {
    Ok(load::<Outgoing>(exchange.post().store(), &k::outgoing(id))?
        .filter(|o| o.peer_key == hex::encode(peer.as_bytes())))
}

fn declined<'p>(code: u16, what: &str, peer: &str) -> Result<Applied<'p>, Error> {
    warn!(peer, "{what}");
    Ok(Applied::Handled(Handled {
        count: 1,
        code,
        ..Handled::default()
    }))
}

/// Applies the owner's status answer.
pub(crate) fn on_reply<'p>(
    exchange: &'p Exchange,
    peer: &liaison_config::Peer,
    reply: Reply,
    _held: &Decisions,
) -> Result<Applied<'p>, Error> {
    let Some(mut out) = ours(exchange, &reply.request, peer.key.verifying_key())? else {
        return declined(
            code::UNKNOWN_REQUEST,
            "an answer to a request we did not send that peer",
            &peer.name,
        );
    };
    if !matches!(out.answer, Answer::Sent | Answer::Filed) {
        return declined(
            code::DUPLICATE,
            "a second answer to a request already answered",
            &peer.name,
        );
    }
    out.answered_ms = Some(exchange.post().now_ms());
    match reply.status {
        Status::Filed { deadline_ms } => {
            out.answer = Answer::Filed;
            out.deadline_ms = Some(deadline_ms);
        }
        Status::Refused { reason } => {
            out.answer = Answer::Refused;
            out.reason = Some(reason);
        }
        Status::NoSuchRecord => out.answer = Answer::NoSuchRecord,
        Status::Withdrawn => out.answer = Answer::Withdrawn,
    }
    info!(peer = %peer.name, request = %&out.id[..8], answer = ?out.answer, "the owner answered a follow-up request");
    let mut effects = Batch::default();
    effects.put_json(Column::Exchange, k::outgoing(&reply.request), &out)?;
    Ok(Applied::Handled(Handled {
        effects,
        count: 1,
        case: Some(
            exchange
                .post()
                .store()
                .case_commitment(&out.reference, &out.basis)?,
        ),
        ..Handled::default()
    }))
}

/// Keeps a report: the envelope exactly as it arrived, after checking it
/// answers our request to its sender and names that sender as owner and
/// us as recipient.
pub(crate) fn on_report<'p>(
    exchange: &'p Exchange,
    peer: &liaison_config::Peer,
    report: Report,
    envelope: &[u8],
    _held: &Decisions,
) -> Result<Applied<'p>, Error> {
    let sender = peer.key.verifying_key();
    let Some(mut out) = ours(exchange, &report.request, sender)? else {
        return declined(
            code::UNKNOWN_REQUEST,
            "a report for a request we did not send that peer",
            &peer.name,
        );
    };
    if !matches!(out.answer, Answer::Sent | Answer::Filed) {
        return declined(
            code::DUPLICATE,
            "a report for a request already answered",
            &peer.name,
        );
    }
    let me = exchange
        .post()
        .identity()
        .signing
        .verifying_key()
        .to_bytes();
    if report.owner != sender.to_bytes() || report.recipient != me {
        return declined(
            code::NOT_BOUND,
            "a report that does not name its sender as owner and us as recipient: refused",
            &peer.name,
        );
    }
    out.answer = Answer::Reported;
    out.answered_ms = Some(exchange.post().now_ms());
    let mut effects = Batch::default();
    effects.put_json(Column::Exchange, k::outgoing(&report.request), &out)?;
    // A withdrawal notice can overtake its report (envelopes arrive on
    // parallel streams): its mark is already here, and by our policy the
    // report may be deleted on arrival.
    let mut withdrawn = true;
    for r in &report.records {
        let mark = exchange
            .post()
            .store()
            .get(Column::Exchange, &k::mark(&report.request, &r.id))?;
        withdrawn &= mark.as_deref().and_then(|m| m.first()) == Some(&(Change::Withdrawn as u8));
    }
    if withdrawn && deletes(exchange) {
        let ids = report.records.iter().map(|r| r.id.clone()).collect();
        let hash = hex::encode(&Sha256::digest(envelope));
        tombstone(
            exchange,
            &mut effects,
            &report.request,
            &out,
            peer,
            ids,
            hash,
        )?;
    } else {
        let mut value = exchange.post().now_ms().to_be_bytes().to_vec();
        value.extend_from_slice(envelope);
        effects.put(Column::Exchange, k::report(&report.request), value);
    }
    warn!(peer = %peer.name, request = %&out.id[..8], records = report.records.len(), "a report arrived: `liaison report show {}`", &out.id[..8]);
    Ok(Applied::Handled(Handled {
        effects,
        count: report.records.len() as u64,
        case: Some(
            exchange
                .post()
                .store()
                .case_commitment(&out.reference, &out.basis)?,
        ),
        ..Handled::default()
    }))
}

/// Applies the owner's notice that a record it released to us changed:
/// our copy is marked, and with `on_withdrawal = "delete"` a report whose
/// every record was withdrawn is deleted, leaving a tombstone.
pub(crate) fn on_notice<'p>(
    exchange: &'p Exchange,
    peer: &liaison_config::Peer,
    notice: Notice,
    _held: &Decisions,
) -> Result<Applied<'p>, Error> {
    let Some(out) = ours(exchange, &notice.request, peer.key.verifying_key())? else {
        return declined(
            code::UNKNOWN_REQUEST,
            "a notice about a report we never asked that peer for",
            &peer.name,
        );
    };
    let mut mark = vec![notice.change as u8];
    mark.extend_from_slice(&notice.time_ms.to_be_bytes());
    let case = Some(
        exchange
            .post()
            .store()
            .case_commitment(&out.reference, &out.basis)?,
    );
    let mut effects = Batch::default();
    effects.put(
        Column::Exchange,
        k::mark(&notice.request, &notice.record),
        mark,
    );
    let Some(view) = read(exchange, &notice.request)? else {
        // Before its report (parallel streams): kept, and applied when
        // the report arrives. After a deletion: nothing more to do.
        if !matches!(out.answer, Answer::Sent | Answer::Filed) {
            return declined(
                code::UNKNOWN_REQUEST,
                "a notice about a report we do not hold",
                &peer.name,
            );
        }
        return Ok(Applied::Handled(Handled {
            effects,
            count: 1,
            case,
            ..Handled::default()
        }));
    };
    if !view.records.iter().any(|r| r.id == notice.record) {
        return declined(
            code::UNKNOWN_REQUEST,
            "a notice about a record not in that report",
            &peer.name,
        );
    }
    let all_withdrawn = view.records.iter().all(|r| {
        r.id == notice.record && notice.change == Change::Withdrawn
            || r.change.as_deref() == Some(Change::Withdrawn.as_str())
    });
    let delete = deletes(exchange);
    if delete && all_withdrawn && view.verified {
        effects.delete(Column::Exchange, k::report(&notice.request));
        let ids = view.records.iter().map(|r| r.id.clone()).collect();
        tombstone(
            exchange,
            &mut effects,
            &notice.request,
            &out,
            peer,
            ids,
            view.envelope,
        )?;
    }
    warn!(peer = %peer.name, request = %&out.id[..8], change = notice.change.as_str(), deleted = delete && all_withdrawn, "the owner of a report we hold changed a record in it");
    Ok(Applied::Handled(Handled {
        effects,
        count: 1,
        case,
        ..Handled::default()
    }))
}

/// Whether our policy deletes a report whose records were all withdrawn.
fn deletes(exchange: &Exchange) -> bool {
    exchange.settings().on_withdrawal == liaison_config::OnWithdrawal::Delete
}

/// Puts the tombstone of the report answering `id` in `effects`.
fn tombstone(
    exchange: &Exchange,
    effects: &mut Batch,
    id: &[u8; 16],
    out: &Outgoing,
    peer: &liaison_config::Peer,
    records: Vec<String>,
    envelope: String,
) -> Result<(), store::Error> {
    let tomb = Tombstone {
        id: out.id.clone(),
        peer: peer.name.clone(),
        deleted_ms: exchange.post().now_ms(),
        records,
        envelope,
    };
    effects.put_json(Column::Exchange, k::tombstone(id), &tomb)?;
    Ok(())
}

/// What is left of a report deleted on its owner's withdrawal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tombstone {
    /// The request it answered.
    pub id: String,
    /// The owner.
    pub peer: String,
    /// When it was deleted.
    pub deleted_ms: u64,
    /// The owner's record ids it held.
    pub records: Vec<String>,
    /// SHA-256 of the envelope it came in (the audit log names it).
    pub envelope: String,
}

/// One released record, as `report show` displays it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordView {
    /// The owner's record id.
    pub id: String,
    /// TLP handling code.
    pub handling: String,
    /// Admiralty grading.
    pub grading: Option<String>,
    /// Fields the owner redacted.
    pub redacted: Vec<String>,
    /// `withdrawn`, `corrected` or `expired`, if the owner said so.
    pub change: Option<String>,
    /// When.
    pub changed_ms: Option<u64>,
    /// The record as released.
    pub record: Value,
}

/// A received report, checked again as it is read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportView {
    /// The request it answers (hex).
    pub id: String,
    /// The peer that sent it.
    pub peer: String,
    /// The originating agency, as the report names it.
    pub originator: String,
    /// When it arrived.
    pub received_ms: u64,
    /// When the owner released it.
    pub released_ms: u64,
    /// Our case reference and basis for it.
    pub reference: String,
    /// The legal basis.
    pub basis: String,
    /// Whether the owner's signature, the binding to us and the content
    /// all check out. Content is shown only if they do.
    pub verified: bool,
    /// What failed, if anything.
    pub problem: Option<String>,
    /// SHA-256 of the envelope, as the audit logs on both sides name it.
    pub envelope: String,
    /// The records.
    pub records: Vec<RecordView>,
}

/// A stored report's value: when it arrived, and the envelope as it came.
pub(super) fn stored_report(value: &[u8]) -> (u64, &[u8]) {
    match value.split_at_checked(8) {
        Some((t, b)) => (u64::from_be_bytes(t.try_into().unwrap_or_default()), b),
        None => (0, &[][..]),
    }
}

/// Reads and verifies one stored report.
fn read(exchange: &Exchange, id: &[u8; 16]) -> Result<Option<ReportView>, Error> {
    let store = exchange.post().store();
    let Some(stored) = store.get(Column::Exchange, &k::report(id))? else {
        return Ok(None);
    };
    let out: Option<Outgoing> = load(exchange.post().store(), &k::outgoing(id))?;
    let (received_ms, bytes) = stored_report(&stored);
    let mut view = ReportView {
        id: hex::encode(id),
        peer: out.as_ref().map(|o| o.peer.clone()).unwrap_or_default(),
        originator: String::new(),
        received_ms,
        released_ms: 0,
        reference: out
            .as_ref()
            .map(|o| o.reference.clone())
            .unwrap_or_default(),
        basis: out.as_ref().map(|o| o.basis.clone()).unwrap_or_default(),
        verified: false,
        problem: None,
        envelope: hex::encode(&Sha256::digest(bytes)),
        records: Vec::new(),
    };
    match verify(exchange, id, out.as_ref(), bytes) {
        Ok(report) => {
            view.verified = true;
            view.originator = report.owner_name.clone();
            view.released_ms = report.released_ms;
            for r in report.records {
                let mark = store.get(Column::Exchange, &k::mark(id, &r.id))?;
                let (change, changed_ms) = match mark.as_deref() {
                    Some([c, t @ ..]) if t.len() == 8 => (
                        Some(
                            Change::from_u8(*c)
                                .unwrap_or(Change::Withdrawn)
                                .as_str()
                                .to_owned(),
                        ),
                        Some(u64::from_be_bytes(t.try_into().unwrap_or_default())),
                    ),
                    _ => (None, None),
                };
                view.records.push(RecordView {
                    record: r.value(),
                    id: r.id,
                    handling: r.handling.as_str().to_owned(),
                    grading: r.grading.map(|g| g.to_string()),
                    redacted: r.redacted,
                    change,
                    changed_ms,
                });
            }
        }
        Err(problem) => {
            warn!(request = %&view.id[..8], %problem, "a stored report fails verification: its content is not shown");
            view.problem = Some(problem);
        }
    }
    Ok(Some(view))
}

/// The owner's signature over the envelope (re-addressing breaks it), the
/// envelope sealed to us and from the peer we asked, and the report
/// inside naming that peer as owner, us as recipient, and our request.
fn verify(
    exchange: &Exchange,
    id: &[u8; 16],
    out: Option<&Outgoing>,
    bytes: &[u8],
) -> Result<Report, String> {
    let out = out.ok_or("no request of ours matches it")?;
    let sender = hex::decode::<32>(&out.peer_key)
        .and_then(|k| VerifyingKey::from_bytes(&k).ok())
        .ok_or("the request's peer key is damaged")?;
    let env = Envelope::decode(bytes, envelope::MAX_ENVELOPE)
        .map_err(|e| format!("the envelope does not decode: {e}"))?;
    if env.header.context != context::REPORT {
        return Err(format!(
            "the envelope is a {:?}, not a report",
            env.header.context
        ));
    }
    let me = Recipient {
        federation: exchange.post().federation(),
        signing: &exchange.post().identity().signing,
        sealing: &exchange.post().identity().sealing,
    };
    let opened = env
        .reopen(me, &sender)
        .map_err(|e| format!("the owner's envelope does not verify: {e}"))?;
    let report =
        Report::decode(&opened.body).map_err(|e| format!("the report does not decode: {e}"))?;
    if report.request != *id
        || report.owner != sender.to_bytes()
        || report.recipient != me.signing.verifying_key().to_bytes()
    {
        return Err("the report does not name its owner, us as recipient, and our request".into());
    }
    Ok(report)
}

/// Every report held, verified, oldest first; tombstones are not listed.
pub fn reports(exchange: &Exchange) -> Result<Vec<ReportView>, Error> {
    let mut out = Vec::new();
    for id in super::ids_under(exchange.post().store(), k::REPORTS)? {
        if let Some(v) = read(exchange, &id)? {
            out.push(v);
        }
    }
    out.sort_by_key(|v| v.received_ms);
    Ok(out)
}

/// One report, by its request id or a prefix of it.
pub fn report(exchange: &Exchange, given: &str) -> Result<ReportView, Error> {
    let held = super::ids_under(exchange.post().store(), k::REPORTS)?;
    let id = match pick(given, held.into_iter(), "report") {
        Ok(id) => id,
        Err(e) => {
            // Deleted on withdrawal: say so rather than "no report".
            for t in load_all::<Tombstone>(exchange.post().store(), k::TOMBSTONES)? {
                if t.id.starts_with(&given.to_ascii_lowercase()) && given.len() >= 6 {
                    return Err(Error::Deleted {
                        id: t.id[..8].to_owned(),
                        peer: t.peer,
                        at: liaison_protocol::matching::format_ms(t.deleted_ms),
                        envelope: t.envelope,
                    });
                }
            }
            return Err(e);
        }
    };
    read(exchange, &id)?.ok_or_else(|| Error::Unknown {
        what: "report",
        given: given.to_owned(),
        hint: "",
    })
}

/// Reports deleted on withdrawal.
pub fn tombstones(exchange: &Exchange) -> Result<Vec<Tombstone>, Error> {
    Ok(load_all(exchange.post().store(), k::TOMBSTONES)?)
}
