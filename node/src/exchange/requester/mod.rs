//! The requester's side: a request for one of our hits, the owner's
//! answers, and the reports, kept as the envelopes they came in and
//! checked again on every read.
//!
//! In: an analyst's ask through the daemon's API or the CLI
//! ([`request`], [`outgoing`]), and the owner's reply, report and notice
//! through the [`crate::router`] inside
//! [`Post::receive`](crate::post::Post::receive) (`on_reply`,
//! `on_report`, `on_notice`). Out: the request sealed and queued as
//! an envelope through the [`Post`](crate::post::Post), and our requests,
//! the reports as they arrived, their marks and tombstones in the store's
//! exchange column.
//!
//! This file holds the asking and the three handlers; `reports` holds
//! reading the reports back ([`reports()`], [`report`], [`tombstones`]).

use ed25519_dalek::VerifyingKey;
use liaison_protocol::exchange::{
    Change, Notice, Reply, Report, Request, Status, Tag, MAX_REFERENCE, MAX_TAGS, MAX_TEXT,
};
use liaison_protocol::SelectorKind;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tracing::{info, warn};

use super::{code, context, Answer, Decisions, Error, Exchange, Outgoing};
use crate::hex;
use crate::matching::querier;
use crate::post::{Applied, Handled};
use crate::store::exchange as x;
use crate::store::Batch;

mod reports;

use reports::{read, tombstone};
pub use reports::{report, reports, tombstones, RecordView, ReportView, Tombstone};

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
    if let Some(v) = x::request_for_hit(store, hit.id)? {
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
    x::OUTGOING.put(&mut b, &id, &out)?;
    x::put_hit_request(&mut b, hit.id, &id);
    exchange
        .post()
        .queue_with(&peer, context::REQUEST, &[body], Some(case), b)?;
    info!(peer = %peer.name, request = %&out.id[..8], "sent a follow-up request");
    Ok(out)
}

/// Requests we sent, newest last.
pub fn outgoing(exchange: &Exchange) -> Result<Vec<Outgoing>, Error> {
    let mut all: Vec<Outgoing> = x::OUTGOING.all(exchange.post().store())?;
    all.sort_by_key(|r| r.sent_ms);
    Ok(all)
}

/// Our request `id`, if it went to `peer`.
fn ours(
    exchange: &Exchange,
    id: &[u8; 16],
    peer: &VerifyingKey,
) -> Result<Option<Outgoing>, Error> {
    Ok(x::OUTGOING
        .get::<Outgoing>(exchange.post().store(), id)?
        .filter(|o| o.peer_key == hex::encode(peer.as_bytes())))
}

/// Our request `id` to `peer` that an answer names, or the application
/// to return instead (declined, its code in the `received` entry): the
/// request is unknown (`unknown` logged), or, with `answered`, it has its
/// answer already (`answered` logged).
fn awaited<'p>(
    exchange: &Exchange,
    id: &[u8; 16],
    peer: &liaison_config::Peer,
    unknown: &str,
    answered: Option<&str>,
) -> Result<Result<Outgoing, Applied<'p>>, Error> {
    let Some(out) = ours(exchange, id, peer.key.verifying_key())? else {
        return declined(code::UNKNOWN_REQUEST, unknown, &peer.name).map(Err);
    };
    match answered {
        Some(what) if !matches!(out.answer, Answer::Sent | Answer::Filed) => {
            declined(code::DUPLICATE, what, &peer.name).map(Err)
        }
        _ => Ok(Ok(out)),
    }
}

/// An answer applied: its effects and item count, under the case our
/// request was sent under.
fn applied<'p>(effects: Batch, count: u64, case: [u8; 32]) -> Result<Applied<'p>, Error> {
    Ok(Applied::Handled(Handled {
        effects,
        count,
        case: Some(case),
        ..Handled::default()
    }))
}

/// The case commitment our request was sent under.
fn case_of(exchange: &Exchange, out: &Outgoing) -> Result<[u8; 32], Error> {
    Ok(exchange
        .post()
        .store()
        .case_commitment(&out.reference, &out.basis)?)
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
    let mut out = match awaited(
        exchange,
        &reply.request,
        peer,
        "an answer to a request we did not send that peer",
        Some("a second answer to a request already answered"),
    )? {
        Ok(out) => out,
        Err(declined) => return Ok(declined),
    };
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
    x::OUTGOING.put(&mut effects, &reply.request, &out)?;
    applied(effects, 1, case_of(exchange, &out)?)
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
    let mut out = match awaited(
        exchange,
        &report.request,
        peer,
        "a report for a request we did not send that peer",
        Some("a report for a request already answered"),
    )? {
        Ok(out) => out,
        Err(declined) => return Ok(declined),
    };
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
    x::OUTGOING.put(&mut effects, &report.request, &out)?;
    // A withdrawal notice can overtake its report (envelopes arrive on
    // parallel streams): its mark is already here, and by our policy the
    // report may be deleted on arrival.
    let mut withdrawn = true;
    for r in &report.records {
        let mark = x::mark(exchange.post().store(), &report.request, &r.id)?;
        withdrawn &= mark.map(|m| m.change) == Some(Change::Withdrawn as u8);
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
        x::put_report(
            &mut effects,
            &report.request,
            exchange.post().now_ms(),
            envelope,
        );
    }
    warn!(peer = %peer.name, request = %&out.id[..8], records = report.records.len(), "a report arrived: `liaison report show {}`", &out.id[..8]);
    applied(
        effects,
        report.records.len() as u64,
        case_of(exchange, &out)?,
    )
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
    let out = match awaited(
        exchange,
        &notice.request,
        peer,
        "a notice about a report we never asked that peer for",
        None,
    )? {
        Ok(out) => out,
        Err(declined) => return Ok(declined),
    };
    let case = case_of(exchange, &out)?;
    let mut effects = Batch::default();
    x::put_mark(
        &mut effects,
        &notice.request,
        &notice.record,
        notice.change,
        notice.time_ms,
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
        return applied(effects, 1, case);
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
        x::delete_report(&mut effects, &notice.request);
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
    applied(effects, 1, case)
}

/// Whether our policy deletes a report whose records were all withdrawn.
fn deletes(exchange: &Exchange) -> bool {
    exchange.settings().on_withdrawal == liaison_config::OnWithdrawal::Delete
}
