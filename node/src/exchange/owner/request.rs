//! A peer's request arriving: the per-peer limits, its records resolved,
//! and the release policy's answer (release at once, wait for an analyst,
//! or refuse).
//!
//! In: a decoded request from a trusted peer, through the
//! [`crate::router`] inside [`Post::receive`](crate::post::Post::receive).
//! Out: the reply or report the `Post` seals back to the peer, and in the
//! same receipt the filed request, its day counters and the entries that
//! name its records in the store's exchange column.

use liaison_config::{Peer, Release};
use liaison_protocol::exchange::{Reply, Request, Status};
use tracing::{info, warn};

use super::release::report;
use super::resolve::resolve_weak;
use super::{filed_status, incoming, put};
use crate::exchange::{code, context, Decision, Decisions, Error, Exchange, Incoming};
use crate::hex;
use crate::post::{Applied, Handled};
use crate::store::exchange::{self as x, Daily};
use crate::store::records::Records;
use crate::store::{self, Batch};

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
    let sent = x::day_count(store, &mut effects, Daily::Requests, &pk, day)?;
    if sent >= u64::from(settings.requests_per_day) {
        warn!(peer = %peer.name, sent, "refused a follow-up request: the peer's requests for today are used up");
        return refused(
            Batch::default(),
            code::RATE,
            format!("{sent} of your requests arrived today, the most we take from one agency in a day: send more after {tomorrow}"),
        );
    }
    x::put_day_count(&mut effects, Daily::Requests, &pk, day, sent + 1);
    let case = match store.case_commitment_if_known(&req.reference, &req.basis)? {
        Some(c) => c,
        None => {
            let opened = x::day_count(store, &mut effects, Daily::Cases, &pk, day)?;
            if opened >= u64::from(settings.cases_per_day) {
                warn!(peer = %peer.name, opened, "refused a follow-up request: the peer opened too many new case references today");
                return refused(
                    effects,
                    code::CASES,
                    format!("{opened} requests under new case references arrived today, the most we take from one agency in a day: send requests under a case you used before, or after {tomorrow}"),
                );
            }
            x::put_day_count(&mut effects, Daily::Cases, &pk, day, opened + 1);
            store::Store::case_commitment_in(&mut effects, &req.reference, &req.basis)
        }
    };
    let case = Some(case);
    let ids = resolve_weak(exchange, peer, &req.tags)?;
    // A record reached only through one-letter keys is a weak hit, even
    // when the request also names strong tags of another record.
    let weak = ids.iter().any(|(_, weak)| *weak);
    if x::INCOMING.exists(store, &req.id)? {
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
        approvals: Vec::new(),
        withheld: Vec::new(),
        reminded: false,
        owed: false,
    };
    // A weak hit names the wrong person about half the time: an analyst
    // looks before anything leaves. A two-person code needs two people,
    // whatever the policy says (the config refuses `auto` for one, and
    // caps a `default = "auto"`; this holds after a reload too).
    let mut automatic = !filed.weak;
    for (id, handling) in held {
        match peer.release.decide(handling) {
            Release::Never => filed.withheld.push(id),
            r => {
                automatic &= r == Release::Auto && !settings.two_person.contains(&handling);
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
            x::put_naming(&mut effects, id, &req.id, &pk);
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

/// Most requests from one peer that may wait for an analyst at once.
pub const MAX_WAITING: usize = 256;

/// A day, ms: the request and new-case limits count per UTC day.
const DAY_MS: u64 = 24 * 3600 * 1000;
