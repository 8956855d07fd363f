//! The watchlist and its alerts: standing selector sets evaluated once
//! per peer and epoch, so a peer's later deltas can say when it comes to
//! hold one.
//!
//! Entries come from the analyst's API and CLI ([`watch_add`],
//! [`watch_remove`]); their selectors go to every peer with a usable
//! manifest as `evaluate` envelopes of the renewal budget, sealed and
//! queued through the [`Post`](crate::post::Post), and again for each new
//! epoch from the daemon's tick ([`renew`]). A renewal's answer (through
//! the [`crate::router`] to [`super::on_answer`]) stores the entries'
//! tag images; a peer's delta holding one of them (`super::filters`), or
//! a renewal finding one already held, raises an [`Alert`]. The
//! watchlist, its tag images, the alerts and their once-per-peer markers
//! are kept in the store's `hits` column, which the API reads back
//! ([`watches`], [`alerts`]).

use liaison_config::Peer;
use liaison_protocol::matching::Purpose;
use liaison_protocol::{Selector, SelectorKind};
use serde::{Deserialize, Serialize};
use tracing::warn;

use super::{items, send, usable, Item};
use crate::matching::{lock, Error, Matching};
use crate::store::matching as stored;
use crate::store::Batch;

/// A standing selector set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Watch {
    /// Its id.
    pub id: u64,
    /// What the analyst calls it (the entity as written in the file).
    pub label: String,
    /// `FILE:LINE` it came from.
    pub source: String,
    /// Its selectors.
    pub selectors: Vec<Selector>,
    /// When it was added, Unix ms.
    pub added_ms: u64,
    /// Whether weak person hits alert too (`watch add --weak`); without
    /// it the one-letter keys are never sent, so they cannot alert.
    #[serde(default)]
    pub weak: bool,
}

/// A watched selector found at a peer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Alert {
    /// Its id.
    pub id: u64,
    /// When, Unix ms.
    pub time_ms: u64,
    /// The peer that holds it.
    pub peer: String,
    /// The watchlist entry.
    pub watch: u64,
    /// Its label.
    pub label: String,
    /// The kind of selector that matched.
    pub kind: SelectorKind,
    /// `new record` (from a delta) or `already held` (at renewal).
    pub how: String,
}

/// Adds watchlist entries and sends their selectors to every peer with a
/// usable manifest for renewal-budget evaluation. Returns the ids.
///
/// Unless `weak`, a person's one-letter keys ([`SelectorKind::PersonFuzzy`])
/// are left out: a hit on them alone is right about half the time
/// (siblings, namesakes born the same day), too often to wake an analyst,
/// and they are most of a person's keys, so leaving them out also spares
/// the budget.
pub fn watch_add(
    matching: &Matching,
    peers: &[Peer],
    entries: Vec<(String, String, Vec<Selector>)>,
    weak: bool,
) -> Result<Vec<u64>, Error> {
    let mut b = Batch::default();
    let mut added = Vec::with_capacity(entries.len());
    for (label, source, mut selectors) in entries {
        if !weak {
            selectors.retain(|s| s.kind != SelectorKind::PersonFuzzy);
        }
        let w = Watch {
            id: matching.next_id(),
            label,
            source,
            selectors,
            added_ms: matching.post().now_ms(),
            weak,
        };
        stored::put_watch(&mut b, w.id, &w)?;
        added.push(w);
    }
    let items = items(added.iter().map(|w| (w.selectors.as_slice(), Some(w.id))));
    let ids = added.iter().map(|w| w.id).collect();
    matching.post().store().write(b)?;
    renew_items(matching, peers, &items, false)?;
    Ok(ids)
}

/// Removes a watchlist entry (and its tags); whether it existed.
pub fn watch_remove(matching: &Matching, id: u64) -> Result<bool, Error> {
    let store = matching.post().store();
    if !stored::has_watch(store, id)? {
        return Ok(false);
    }
    let mut b = Batch::default();
    stored::delete_watch(store, &mut b, id)?;
    store.write(b)?;
    Ok(true)
}

/// The watchlist.
pub fn watches(matching: &Matching) -> Result<Vec<Watch>, Error> {
    Ok(stored::watches(matching.post().store())?)
}

/// Alerts, oldest first.
pub fn alerts(matching: &Matching) -> Result<Vec<Alert>, Error> {
    Ok(stored::ALERTS.all(matching.post().store())?)
}

/// Sends `items` for renewal to each peer's usable manifests; with
/// `only_new`, only to manifests not renewed yet (then marks them).
fn renew_items(
    matching: &Matching,
    peers: &[Peer],
    items: &[Item],
    only_new: bool,
) -> Result<bool, Error> {
    let now = matching.post().now_ms();
    let mut queued = false;
    for peer in peers {
        let owner = peer.key.verifying_key().to_bytes();
        for m in usable(matching, &owner, now)? {
            let epoch = m.manifest.epoch;
            if only_new {
                // Renewed already (marked when an answer is applied), or
                // its requests are in flight (since this start: after a
                // restart their blinds are gone, so they go again).
                if stored::renewed(matching.post().store(), &owner, epoch)?
                    || !lock(&matching.renewing).insert((owner, epoch))
                {
                    continue;
                }
            }
            // Nobody waits for a renewal's answers: no query entry.
            if send(matching, peer, &m, items, Purpose::Renewal, None, 0)? > 0 {
                queued = true;
            }
        }
    }
    Ok(queued)
}

/// Renews the whole watchlist with `peer` for any manifest not yet
/// renewed (a new epoch). Returns whether anything was queued.
pub fn renew(matching: &Matching, peer: &Peer) -> Result<bool, Error> {
    let watches = watches(matching)?;
    if watches.is_empty() {
        return Ok(false);
    }
    let items = items(watches.iter().map(|w| (w.selectors.as_slice(), Some(w.id))));
    renew_items(matching, std::slice::from_ref(peer), &items, true)
}

fn watch(matching: &Matching, id: u64) -> Result<Option<Watch>, Error> {
    Ok(stored::watch(matching.post().store(), id)?)
}

/// Raises an alert that `peer` holds watchlist entry `watch_id`, once per
/// entry and peer: not again for its other selectors (`raised`, this
/// message's), its next record, or the next epoch's renewal.
#[allow(clippy::too_many_arguments)]
pub(super) fn alert(
    matching: &Matching,
    batch: &mut Batch,
    raised: &mut Vec<u64>,
    peer: &Peer,
    watch_id: u64,
    kind: SelectorKind,
    how: &str,
) -> Result<(), Error> {
    let owner = peer.key.verifying_key().to_bytes();
    if raised.contains(&watch_id) || stored::alerted(matching.post().store(), &owner, watch_id)? {
        return Ok(());
    }
    let Some(w) = watch(matching, watch_id)? else {
        return Ok(());
    };
    raised.push(watch_id);
    stored::put_alerted(batch, &owner, watch_id);
    let now = matching.post().now_ms();
    let id = matching.next_id();
    let a = Alert {
        id,
        time_ms: now,
        peer: peer.name.clone(),
        watch: watch_id,
        label: w.label,
        kind,
        how: how.to_owned(),
    };
    warn!(peer = %peer.name, watch = watch_id, how, "ALERT: a watched selector is held by a peer (see `liaison alerts`)");
    stored::ALERTS.put(batch, now, id, &a)?;
    Ok(())
}

/// Raises an alert for each watchlist entry whose tag image in `owner`'s
/// `epoch` is `image`, new in a delta from `peer` (see [`alert`]).
pub(super) fn alert_new_image(
    matching: &Matching,
    batch: &mut Batch,
    raised: &mut Vec<u64>,
    peer: &Peer,
    owner: &[u8; 32],
    epoch: u64,
    image: &[u8; 32],
) -> Result<(), Error> {
    let watched = stored::watched(matching.post().store(), owner, epoch, image)?;
    for (w, kind) in watched {
        alert(matching, batch, raised, peer, w, kind, "new record")?;
    }
    Ok(())
}
