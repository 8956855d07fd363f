//! The analysts' decisions on requests peers filed: approval (with
//! redactions) or refusal, each recorded under the deciding user's name,
//! and the list of filed requests.
//!
//! The two-person rule (`[exchange] two_person`): a release that would
//! carry a record of a listed handling code needs the approvals of two
//! different supervisors. The first is recorded on the request, which
//! stays pending and sends nothing; the second, by someone else, releases
//! it. One refusal by anyone closes the request at any point.
//!
//! In: a user's decision or listing through the daemon's API or the
//! CLI, naming a request by its id or a prefix of it; the request from
//! the store's exchange column. Out: the report or refusal sealed and
//! queued as an envelope through the [`Post`](crate::post::Post), in the
//! same write that records the decision; a first approval alone is
//! written to the store.

use liaison_config::Peer;
use liaison_protocol::exchange::{Status, MAX_TEXT};
use liaison_protocol::record::Handling;
use tracing::info;

use super::release::{report, send, Outbound};
use super::{decide, peer_of, put};
use crate::exchange::{pick, Approval, Decision, Error, Exchange, Incoming};
use crate::store::exchange as x;
use crate::store::Batch;

/// A filed request, for a decision, with its peer if still trusted;
/// refused if it was decided already.
fn pending(exchange: &Exchange, given: &str) -> Result<(Incoming, [u8; 16], Option<Peer>), Error> {
    let id = pick(
        given,
        x::INCOMING.ids(exchange.post().store())?.into_iter(),
        "request",
    )?;
    let req: Incoming = x::INCOMING
        .get(exchange.post().store(), &id)?
        .ok_or_else(|| Error::Unknown {
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

/// Longest decider's name recorded.
const MAX_DECIDER: usize = 64;

/// `by` as the decider to record: a user's account name, never one of
/// the names the node records for its own decisions.
fn decider(by: &str) -> Result<&str, Error> {
    let name = by.trim();
    if name.is_empty() || name.len() > MAX_DECIDER || matches!(name, "policy" | "owner") {
        return Err(Error::Decider {
            given: by.to_owned(),
            max: MAX_DECIDER,
        });
    }
    Ok(name)
}

/// What an approval did.
#[derive(Debug, Clone)]
pub enum Approved {
    /// The records were released: the report is queued for the
    /// requester.
    Released(Incoming),
    /// The approval is recorded and nothing was sent: the release waits
    /// for a second supervisor, by the two-person rule for `codes`.
    Waiting {
        /// The request, still pending, with the approval.
        request: Incoming,
        /// The handling codes of its records that need two supervisors.
        codes: Vec<Handling>,
    },
}

impl Approved {
    /// The request as it now stands.
    pub fn request(&self) -> &Incoming {
        match self {
            Approved::Released(r) | Approved::Waiting { request: r, .. } => r,
        }
    }

    /// The request as it now stands, taken out.
    pub fn into_request(self) -> Incoming {
        match self {
            Approved::Released(r) | Approved::Waiting { request: r, .. } => r,
        }
    }
}

/// The approval of the user `by`: releases the request's records (less
/// the redacted fields) to the requester. Records the policy never
/// releases to that peer stay out, whatever the user says. The decision
/// and the report's outbox entry commit together.
///
/// If a record the release would carry has a handling code of
/// `[exchange] two_person`, the first approval is only recorded
/// ([`Approved::Waiting`]); a second by a different user releases, and
/// the same user again is refused ([`Error::SameApprover`]). The second
/// release redacts the union of both approvers' fields: each supervisor
/// approved at most what they saw go, so the stricter release is the one
/// both agreed to. Every redaction is checked when it is given, so a
/// first approval naming a field no record has is refused at once.
pub fn approve(
    exchange: &Exchange,
    given: &str,
    redact_fields: &[String],
    by: &str,
) -> Result<Approved, Error> {
    let by = decider(by)?;
    let _deciding = exchange.deciding();
    let (mut req, id, peer) = pending(exchange, given)?;
    let peer = peer.ok_or_else(|| Error::Untrusted {
        peer: req.peer.clone(),
        then: "refuse the request, or trust the peer again first",
    })?;
    let mut redacted: Vec<String> = Vec::new();
    for f in req
        .approvals
        .iter()
        .flat_map(|a| &a.redacted)
        .chain(redact_fields)
    {
        if !redacted.contains(f) {
            redacted.push(f.clone());
        }
    }
    let report = report(exchange, &peer, &id, &req.records, &redacted)?.map_err(|problem| {
        Error::CannotRelease {
            id: req.id[..8].to_owned(),
            problem,
        }
    })?;
    // The codes of what would go, read from the records as held now (a
    // correction may have changed one since the request was filed).
    let two_person = exchange.settings().two_person;
    let mut codes: Vec<Handling> = report
        .records
        .iter()
        .map(|r| r.handling)
        .filter(|h| two_person.contains(h))
        .collect();
    codes.sort();
    codes.dedup();
    if !codes.is_empty() {
        if let Some(first) = req.approvals.iter().find(|a| a.by == by) {
            return Err(Error::SameApprover {
                id: req.id[..8].to_owned(),
                by: first.by.clone(),
                codes: list(&codes),
            });
        }
    }
    req.approvals.push(Approval {
        by: by.to_owned(),
        at_ms: exchange.post().now_ms(),
        redacted: redact_fields.to_vec(),
    });
    let mut deciders: Vec<&str> = Vec::new();
    for a in &req.approvals {
        if !deciders.contains(&a.by.as_str()) {
            deciders.push(&a.by);
        }
    }
    if !codes.is_empty() && deciders.len() < 2 {
        let mut b = Batch::default();
        put(&mut b, &id, &req)?;
        exchange.post().store().write_durable(b)?;
        info!(peer = %req.peer, request = %&req.id[..8], %by, codes = %list(&codes), "a release waits for a second supervisor (two-person rule)");
        return Ok(Approved::Waiting {
            request: req,
            codes,
        });
    }
    let deciders = deciders.join("+");
    req.redacted = redacted;
    decide(exchange, &mut req, Decision::Released, &deciders);
    send(exchange, &peer, &id, &mut req, Outbound::Report(report))?;
    Ok(Approved::Released(req))
}

/// Handling codes as text, `TLP:AMBER, TLP:AMBER+STRICT`.
fn list(codes: &[Handling]) -> String {
    let names: Vec<&str> = codes.iter().map(|h| h.as_str()).collect();
    names.join(", ")
}

/// The refusal of the user `by`, with the reason the requester will
/// read. A request from a peer no longer trusted is closed here without a
/// reply.
pub fn refuse(exchange: &Exchange, given: &str, reason: &str, by: &str) -> Result<Incoming, Error> {
    let by = decider(by)?;
    let reason = reason.trim();
    if reason.is_empty() || reason.len() > MAX_TEXT {
        return Err(Error::NoReason { max: MAX_TEXT });
    }
    let _deciding = exchange.deciding();
    let (mut req, id, peer) = pending(exchange, given)?;
    req.reason = Some(reason.into());
    decide(exchange, &mut req, Decision::Refused, by);
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
                x::delete_naming(&mut b, r, &id);
            }
            exchange.post().store().write_durable(b)?;
        }
    }
    Ok(req)
}

/// Requests peers sent us, oldest first.
pub fn incoming(exchange: &Exchange) -> Result<Vec<Incoming>, Error> {
    let mut all: Vec<Incoming> = x::INCOMING.all(exchange.post().store())?;
    all.sort_by_key(|r| r.received_ms);
    Ok(all)
}
