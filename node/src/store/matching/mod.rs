//! Matching's columns, typed: `tags`, `matching` and `hits`, read and
//! written only through the named operations here, so matching
//! (the `matching` module) never builds a key or decodes a stored value
//! itself. The store imports nothing from matching: its values (hits,
//! watchlist entries, alerts) are taken and given back as JSON of any
//! type, and manifests as their bytes.
//!
//! By concern:
//! - `queue`: the selectors of newly stored records, queued by
//!   [`crate::store::records`] in the record's own batch and drained by
//!   the owner's deltas (`queue_new`, [`drain`]);
//! - `owner`: our manifests, the tags we serve, delta counts and the
//!   peers' evaluation budgets, written when filters are built, deltas
//!   sent and evaluations charged ([`manifest`], [`put_tag`],
//!   [`budget_counts`]);
//! - `querier`: the peers' manifests for us, filter chunks, filters,
//!   delta images and evidence, written as peers' messages are applied
//!   and read back to test answers ([`peer_manifest`], [`put_chunk`],
//!   [`delta_images_held`], [`forget_peer_epoch`]);
//! - `hits`: stored hits, the watchlist, its tag images, renewals and
//!   alerts ([`HITS`], [`put_watch`], [`ALERTS`]).
//!
//! Writes go into the caller's [`crate::store::Batch`], so each commits
//! with the message or change it belongs to.

use crate::store::keys::matching as k;
use crate::store::{Column, Error, Store};

mod hits;
mod owner;
mod querier;
mod queue;

pub use hits::{
    alerted, delete_watch, has_watch, put_alerted, put_renewed, put_unwatched, put_watch,
    put_watched, renewed, unwatched, watch, watched, watches, Timeline, ALERTS, HITS,
};
pub use owner::{
    budget_count, budget_counts, built_through, delete_budget_before, delete_manifest, delete_tags,
    deltas_sent, manifest, manifest_epochs, put_budget_count, put_built_through, put_deltas_sent,
    put_manifest, put_tag, served_tag, served_tags, tag_records,
};
pub use querier::{
    chunks_held, count_peer_manifests, counts, delete_chunk, delete_chunks_held, delete_filter,
    delta_count, delta_images_held, filter, forget_peer_epoch, peer_manifest, peer_manifest_epochs,
    put_chunk, put_chunks_held, put_delta_count, put_delta_image, put_evidence, put_filter,
    put_peer_manifest, scan_all_peer_manifests, scan_chunks, scan_peer_manifests, Counts,
};
pub(crate) use queue::queue_new;

/// The epochs in the keys under `prefix` (each ending in its epoch),
/// in key order.
fn epochs_under(store: &Store, prefix: &[u8]) -> Result<Vec<u64>, Error> {
    let mut out = Vec::new();
    store.scan_prefix(Column::Matching, prefix, |key, _| {
        out.extend(k::epoch_of(key));
        true
    })?;
    Ok(out)
}
pub use queue::{delete_queued, drain, newest as newest_queued, Drained, Queued};
