//! Reading the reports we received: each checked again (the owner's
//! signature, the binding to us and to our request) every time it is
//! read, with the owner's notices marked on its records; and the
//! tombstones of reports deleted on the owner's withdrawal.
//!
//! In: the reports and marks the handlers in [`super`] stored, as they
//! came from peers through the [`crate::router`], read from the store's
//! exchange column for an analyst (the daemon's API or the CLI) and for
//! retention. Out: [`ReportView`]s and [`Tombstone`]s to the analyst;
//! tombstones written into the handlers' batch. Nothing is sent.

use ed25519_dalek::VerifyingKey;
use liaison_protocol::envelope::{self, Envelope, Recipient};
use liaison_protocol::exchange::{Change, Report};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use tracing::warn;

use crate::exchange::{context, pick, Error, Exchange, Outgoing};
use crate::hex;
use crate::store::exchange as x;
use crate::store::{self, Batch};

/// Puts the tombstone of the report answering `id` in `effects`.
pub(super) fn tombstone(
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
    x::TOMBSTONES.put(effects, id, &tomb)?;
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

/// Reads and verifies one stored report.
pub(super) fn read(exchange: &Exchange, id: &[u8; 16]) -> Result<Option<ReportView>, Error> {
    let store = exchange.post().store();
    let Some((received_ms, bytes)) = x::report(store, id)? else {
        return Ok(None);
    };
    let out: Option<Outgoing> = x::OUTGOING.get(exchange.post().store(), id)?;
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
        envelope: hex::encode(&Sha256::digest(&bytes)),
        records: Vec::new(),
    };
    match verify(exchange, id, out.as_ref(), &bytes) {
        Ok(report) => {
            view.verified = true;
            view.originator = report.owner_name.clone();
            view.released_ms = report.released_ms;
            for r in report.records {
                let (change, changed_ms) = match x::mark(store, id, &r.id)? {
                    Some(x::Mark {
                        change,
                        time_ms: Some(t),
                    }) => (
                        Some(
                            Change::from_u8(change)
                                .unwrap_or(Change::Withdrawn)
                                .as_str()
                                .to_owned(),
                        ),
                        Some(t),
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
    for id in x::report_ids(exchange.post().store())? {
        if let Some(v) = read(exchange, &id)? {
            out.push(v);
        }
    }
    out.sort_by_key(|v| v.received_ms);
    Ok(out)
}

/// One report, by its request id or a prefix of it.
pub fn report(exchange: &Exchange, given: &str) -> Result<ReportView, Error> {
    let held = x::report_ids(exchange.post().store())?;
    let id = match pick(given, held.into_iter(), "report") {
        Ok(id) => id,
        Err(e) => {
            // Deleted on withdrawal: say so rather than "no report".
            for t in x::TOMBSTONES.all::<Tombstone>(exchange.post().store())? {
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
    Ok(x::TOMBSTONES.all(exchange.post().store())?)
}
