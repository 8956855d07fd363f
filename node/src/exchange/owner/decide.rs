//! The analysts' decisions on requests peers filed: approval (with
//! redactions) or refusal, each recorded under the deciding user's name,
//! and the list of filed requests.
//!
//! In: a user's decision or listing through the daemon's API or the
//! CLI, naming a request by its id or a prefix of it; the request from
//! the store's exchange column. Out: the report or refusal sealed and
//! queued as an envelope through the [`Post`](crate::post::Post), in the
//! same write that records the decision.

use liaison_config::Peer;
use liaison_protocol::exchange::{Status, MAX_TEXT};

use super::release::{report, send, Outbound};
use super::{decide, peer_of, put};
use crate::exchange::{pick, Decision, Error, Exchange, Incoming};
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

/// The approval of the user `by`: releases the request's records (less
/// the redacted fields) to the requester. Records the policy never
/// releases to that peer stay out, whatever the user says. The decision
/// and the report's outbox entry commit together.
pub fn approve(
    exchange: &Exchange,
    given: &str,
    redact_fields: &[String],
    by: &str,
) -> Result<Incoming, Error> {
    let by = decider(by)?;
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
    decide(exchange, &mut req, Decision::Released, by);
    send(exchange, &peer, &id, &mut req, Outbound::Report(report))?;
    Ok(req)
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
