//! The follow-up's purges past retention, in the store: received reports
//! with their marks, the marks of a request, and the hits and alerts that
//! matching found (matching's hits column, which the follow-up's
//! retention purges).
//!
//! In: [`crate::exchange`]'s retention, with its cutoffs and its batches.
//! Out: deletes in those batches, and how many items they remove (for
//! the `purged` audit entries).

use super::k;
use super::requester::split_report;
use crate::store::keys::matching as m;
use crate::store::{Batch, Column, Error, Store};

/// What matching found, as retention purges it: each keyed by time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Found {
    /// Hits.
    Hits,
    /// Alerts.
    Alerts,
}

/// Deletes, in `batch`, the oldest of `what` from before `cutoff_ms`, at
/// most `max` of them; returns how many.
pub(crate) fn purge_found(
    store: &Store,
    batch: &mut Batch,
    what: Found,
    cutoff_ms: u64,
    max: usize,
) -> Result<u64, Error> {
    let prefix = match what {
        Found::Hits => m::HITS,
        Found::Alerts => m::ALERTS,
    };
    let mut due = Vec::new();
    store.scan_prefix(Column::Hits, prefix, |key, _| {
        let t = key
            .get(1..9)
            .and_then(|t| t.try_into().ok())
            .map_or(u64::MAX, u64::from_be_bytes);
        if t >= cutoff_ms {
            return false;
        }
        due.push(key.to_vec());
        due.len() < max
    })?;
    let n = due.len() as u64;
    due.into_iter()
        .for_each(|key| batch.delete(Column::Hits, key));
    Ok(n)
}

/// Deletes, in `batch`, every report that arrived before `cutoff_ms`,
/// each with its marks; returns how many reports.
pub(crate) fn purge_reports(
    store: &Store,
    batch: &mut Batch,
    cutoff_ms: u64,
) -> Result<u64, Error> {
    let mut due = Vec::new();
    store.scan_prefix(Column::Exchange, k::REPORTS, |key, v| {
        let (t, _) = split_report(v);
        if t < cutoff_ms {
            due.push(key.to_vec());
        }
        true
    })?;
    let mut n = 0;
    for key in due {
        if let Some(id) = k::id_of(&key) {
            delete_marks(store, batch, &id)?;
        }
        batch.delete(Column::Exchange, key);
        n += 1;
    }
    Ok(n)
}

/// Deletes, in `batch`, the owner's marks on the report answering
/// `request` (held or not).
pub(crate) fn delete_marks(
    store: &Store,
    batch: &mut Batch,
    request: &[u8; 16],
) -> Result<(), Error> {
    store.scan_prefix(Column::Exchange, &k::marks(request), |mk, _| {
        batch.delete(Column::Exchange, mk.to_vec());
        true
    })
}
