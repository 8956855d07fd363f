//! The follow-up's purges past retention, in the store: received reports
//! with their marks, and the marks of a request. (The hits and alerts it
//! purges are matching's: `store::matching`'s timelines.)
//!
//! In: [`crate::exchange`]'s retention, with its cutoffs and its batches.
//! Out: deletes in those batches, and how many items they remove (for
//! the `purged` audit entries).

use super::k;
use super::requester::split_report;
use crate::store::{Batch, Column, Error, Store};

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
