//! The owner's side: a peer's request resolved to records, the policy's
//! decision, the analyst's approval or refusal, the report, and the
//! notices when a requested record changes.
//!
//! In: peers' requests (the [`crate::router`] calls `on_request` inside
//! [`Post::receive`](crate::post::Post::receive)), analysts' decisions
//! (the API and CLI call [`approve`], [`refuse`] and [`incoming`]), and
//! the daemon's scheduled work ([`resend_owed`], [`drain_changed`],
//! [`remind`]). Out: replies, reports and notices sealed and queued as
//! envelopes through the [`Post`](crate::post::Post), and each filed
//! request ([`Incoming`]) in the store's exchange column.
//!
//! - `resolve`: a request's tags to the records they name
//!   ([`resolve()`]);
//! - `request`: a peer's request filed and answered under the release
//!   policy and the per-peer limits (`on_request`);
//! - `release`: building a report, with redaction, and sending an answer
//!   with the write that records it;
//! - `decide`: the analysts' decisions, under the two-person rule where
//!   `[exchange] two_person` asks for it, and the list of filed requests
//!   ([`approve`], [`refuse`], [`incoming`]);
//! - `changes`: answers still owed, notices when a requested or released
//!   record changes, reminders ([`resend_owed`], [`drain_changed`],
//!   [`remind`]).
//!
//! The helpers below are shared by these files: storing a filed request
//! and recording its decision, finding its peer, and the "filed" answer.

use ed25519_dalek::VerifyingKey;
use liaison_config::Peer;
use liaison_protocol::exchange::Status;

use super::{Decision, Exchange, Incoming};
use crate::hex;
use crate::store::{self, Batch};

mod changes;
mod decide;
mod release;
mod request;
mod resolve;

pub use changes::{drain_changed, remind, resend_owed};
pub use decide::{approve, incoming, refuse, Approved};
pub(crate) use request::on_request;
pub use request::MAX_WAITING;
pub use resolve::resolve;

/// The trusted peer that sent `req`, if it still is one.
fn peer_of(exchange: &Exchange, req: &Incoming) -> Option<Peer> {
    hex::decode::<32>(&req.peer_key)
        .and_then(|k| VerifyingKey::from_bytes(&k).ok())
        .and_then(|key| exchange.post().peer_by_key(&key))
}

/// The "filed" answer for a request that arrived at `received_ms`.
fn filed_status(exchange: &Exchange, received_ms: u64) -> Status {
    Status::Filed {
        deadline_ms: received_ms.saturating_add(exchange.settings().deadline_ms),
    }
}

/// Stores `req` in `batch`.
fn put(batch: &mut Batch, id: &[u8; 16], req: &Incoming) -> Result<(), store::Error> {
    store::exchange::INCOMING.put(batch, id, req)
}

/// Records a decision on `req`.
fn decide(exchange: &Exchange, req: &mut Incoming, decision: Decision, by: &str) {
    req.decision = decision;
    req.decided_ms = Some(exchange.post().now_ms());
    req.decided_by = Some(by.into());
}
