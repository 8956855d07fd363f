//! Retention: records past their `expires`, received reports, hits and
//! alerts, and answered requests past their configured periods are
//! purged; each purge is one `purged` audit entry with its count, and
//! whose context names what was purged (`records`, `reports`, `hits`,
//! `alerts`, `requests`). Nothing else is touched: a request still
//! waiting for an answer is kept however old (the reminder says so), and
//! a request whose report is still held is kept with it.

use liaison_protocol::audit::{Entry, Kind};
use serde::{Deserialize, Serialize};
use tracing::info;

use super::{Answer, Decision, Error, Exchange, Incoming, Outgoing};
use crate::hex;
use crate::store::exchange as x;
use crate::store::matching::{ALERTS, HITS};
use crate::store::records::Records;
use crate::store::Batch;

/// Deletes per write.
const BATCH: usize = 4096;

/// What one purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purged {
    /// Records past their `expires`.
    pub records: u64,
    /// Received reports (and tombstones) past `report_retention`.
    pub reports: u64,
    /// Hits past `hit_retention`.
    pub hits: u64,
    /// Alerts past `hit_retention`.
    pub alerts: u64,
    /// Answered requests, sent and received, past `request_retention`.
    pub requests: u64,
}

fn logged(exchange: &Exchange, batch: Batch, what: &str, n: u64) -> Result<(), Error> {
    if n == 0 {
        return Ok(());
    }
    let mut entry = Entry::new(Kind::Purged, exchange.post().now_ms());
    entry.context = what.into();
    entry.count = n;
    exchange.post().store().append(batch, &[entry], true)?;
    info!(what, count = n, "purged past retention");
    Ok(())
}

/// Purges everything due at `now_ms`. Holds the follow-up's decision
/// lock throughout: a record purged while a request for it is filed
/// would otherwise miss its notice.
pub fn purge(exchange: &Exchange, now_ms: u64) -> Result<Purged, Error> {
    let _deciding = exchange.deciding();
    let store = exchange.post().store();
    let settings = exchange.settings();
    let mut p = Purged {
        records: Records::new(store).purge_expired(now_ms / 1000, BATCH)?,
        ..Purged::default()
    };

    // Hits and alerts: keyed by time, so the due ones come first.
    for (found, what, cutoff) in [
        (HITS, "hits", now_ms.saturating_sub(settings.hit_ms)),
        (ALERTS, "alerts", now_ms.saturating_sub(settings.hit_ms)),
    ] {
        loop {
            store.check_stop()?;
            let mut b = Batch::default();
            let n = found.purge_before(store, &mut b, cutoff, BATCH)?;
            logged(exchange, b, what, n)?;
            *(if what == "hits" {
                &mut p.hits
            } else {
                &mut p.alerts
            }) += n;
            if n < BATCH as u64 {
                break;
            }
        }
    }

    // Reports by arrival time; their marks go with them. Tombstones by
    // deletion time.
    store.check_stop()?;
    let cutoff = now_ms.saturating_sub(settings.report_ms);
    let mut b = Batch::default();
    p.reports += x::purge_reports(store, &mut b, cutoff)?;
    for t in x::TOMBSTONES.all::<super::requester::Tombstone>(exchange.post().store())? {
        if t.deleted_ms < cutoff {
            if let Some(id) = hex::decode::<16>(&t.id) {
                x::TOMBSTONES.delete(&mut b, &id);
                p.reports += 1;
            }
        }
    }
    logged(exchange, b, "reports", p.reports)?;

    // Requests once answered. A request still waiting is kept; one whose
    // report we hold is kept while the report is (it names the owner).
    let cutoff = now_ms.saturating_sub(settings.request_ms);
    let mut b = Batch::default();
    for r in x::INCOMING.all::<Incoming>(exchange.post().store())? {
        let (Some(id), Some(t)) = (hex::decode::<16>(&r.id), r.decided_ms) else {
            continue;
        };
        if r.decision == Decision::Pending || r.owed || t >= cutoff {
            continue;
        }
        x::INCOMING.delete(&mut b, &id);
        // A released record's naming entries stay: its recipient may hold
        // the report longer than we keep the request, and must still hear
        // of a withdrawal.
        if r.decision != Decision::Released {
            for rec in &r.records {
                x::delete_naming(&mut b, rec, &id);
            }
        }
        p.requests += 1;
    }
    for r in x::OUTGOING.all::<Outgoing>(exchange.post().store())? {
        let (Some(id), Some(t)) = (hex::decode::<16>(&r.id), r.answered_ms) else {
            continue;
        };
        if matches!(r.answer, Answer::Sent | Answer::Filed) || t >= cutoff {
            continue;
        }
        if x::has_report(store, &id)? {
            continue;
        }
        x::OUTGOING.delete(&mut b, &id);
        x::delete_hit_request(&mut b, r.hit);
        // Notices that came for a report that never did.
        x::delete_marks(store, &mut b, &id)?;
        p.requests += 1;
    }
    logged(exchange, b, "requests", p.requests)?;
    Ok(p)
}
