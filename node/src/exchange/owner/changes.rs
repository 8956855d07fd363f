//! What happens after the first answer: answers still owed after a
//! crash, the requesters told when a requested or released record is
//! withdrawn, corrected or expires, and reminders for requests past their
//! deadline.
//!
//! In: the daemon's scheduled work (and tests), reading the filed
//! requests and the queue of changed records that withdrawal, correction
//! and expiry fill in the store's exchange column. Out: answers and
//! signed notices sealed and queued as envelopes through the
//! [`Post`](crate::post::Post), the requests' new state and the drained
//! queue in the store, and warnings in the daemon's log.

use ed25519_dalek::VerifyingKey;
use liaison_config::Release;
use liaison_protocol::exchange::{Change, Notice, Status};
use tracing::{info, warn};

use super::release::{report, send, Outbound};
use super::{decide, filed_status, incoming, peer_of, put};
use crate::exchange::{context, Decision, Error, Exchange, Incoming};
use crate::hex;
use crate::store::exchange as x;
use crate::store::records::Records;
use crate::store::Batch;

/// Sends the answers still owed: decisions made inside `receive` whose
/// reply never reached the outbox (a crash in between). An automatic
/// release is made again only if the policy still says so, no record's
/// code has come to need two supervisors, and the report can still be
/// built; otherwise the request goes back to the analyst, or
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
                let two_person = exchange.settings().two_person;
                let still_auto = held
                    .iter()
                    .all(|h| peer.release.decide(*h) == Release::Auto && !two_person.contains(h));
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

/// Tells requesters about records that changed (the queue that
/// withdrawal, correction and expiry fill): a request still waiting is
/// answered "withdrawn" once none of its records is held, and loses any
/// supervisor's approval it had; a peer that received the record gets a
/// signed notice. Returns how many notices and answers were queued.
pub fn drain_changed(exchange: &Exchange) -> Result<usize, Error> {
    let store = exchange.post().store();
    let _deciding = exchange.deciding();
    let changed = x::changed(store, 1024)?;
    let mut sent = 0;
    for queued in changed {
        let record = queued.record.clone();
        let change = Change::from_u8(queued.change).unwrap_or(Change::Withdrawn);
        let naming = x::naming(store, &record)?;
        let mut b = Batch::default();
        for entry in naming {
            let (id, pk) = (entry.request, entry.peer);
            let peer = VerifyingKey::from_bytes(&pk)
                .ok()
                .and_then(|key| exchange.post().peer_by_key(&key));
            let req = x::INCOMING.get::<Incoming>(exchange.post().store(), &id)?;
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
                    void_approvals(&mut req);
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
                (Decision::Pending, Change::Corrected, _, Some(mut req))
                    if !req.approvals.is_empty() =>
                {
                    void_approvals(&mut req);
                    put(&mut b, &id, &req)?;
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
                entry.delete(&mut b);
            }
        }
        queued.delete(&mut b);
        store.write_durable(b)?;
    }
    Ok(sent)
}

/// Forgets the approvals of a pending request whose records changed:
/// each supervisor approved what they saw, so under the two-person rule
/// both look again at what would go now.
fn void_approvals(req: &mut Incoming) {
    if !req.approvals.is_empty() {
        warn!(peer = %req.peer, request = %&req.id[..8], "a record changed under a supervisor's approval: the request waits for its approvals again");
        req.approvals.clear();
    }
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
