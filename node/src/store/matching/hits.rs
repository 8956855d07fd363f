//! The `hits` column: what matching found and watches for. Stored hits,
//! watchlist entries and alerts (JSON values of matching's types, which
//! the store takes as any `Serialize` and gives back as any
//! `DeserializeOwned`), the watched tags' images, alerted markers, and
//! the watchlist's renewals and gaps per owner and epoch.
//!
//! In: the API's match and watch calls, renewal answers and peers' deltas
//! through matching's querier role (`matching::querier`), each
//! in the caller's batch. Out: the same, for `liaison hits`, `watch`,
//! `alerts` and `status`, the follow-up, and alerting on new images.

use liaison_protocol::SelectorKind;

use crate::store::keys::matching as k;
use crate::store::{Batch, Column, Error, Store};

/// A timeline of JSON values in the `hits` column, each keyed by when it
/// was made and its id, read back oldest first.
#[derive(Debug, Clone, Copy)]
pub struct Timeline {
    key: fn(u64, u64) -> Vec<u8>,
    prefix: &'static [u8],
}

/// Stored hits.
pub const HITS: Timeline = Timeline {
    key: k::hit,
    prefix: k::HITS,
};

/// Alerts raised on the watchlist.
pub const ALERTS: Timeline = Timeline {
    key: k::alert,
    prefix: k::ALERTS,
};

impl Timeline {
    /// Records, in `batch`, `value` made at `time_ms` with id `id`.
    pub fn put(
        self,
        batch: &mut Batch,
        time_ms: u64,
        id: u64,
        value: &impl serde::Serialize,
    ) -> Result<(), Error> {
        batch.put_json(Column::Hits, (self.key)(time_ms, id), value)
    }

    /// Every value, oldest first (one that does not decode is skipped).
    pub fn all<T: serde::de::DeserializeOwned>(self, store: &Store) -> Result<Vec<T>, Error> {
        store.json_values(Column::Hits, self.prefix)
    }

    /// Deletes, in `batch`, the oldest values made before `cutoff_ms`, at
    /// most `max` of them; returns how many.
    pub fn purge_before(
        self,
        store: &Store,
        batch: &mut Batch,
        cutoff_ms: u64,
        max: usize,
    ) -> Result<u64, Error> {
        let mut due = Vec::new();
        store.scan_prefix(Column::Hits, self.prefix, |key, _| {
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
}

/// Records, in `batch`, watchlist entry `id`.
pub fn put_watch(batch: &mut Batch, id: u64, watch: &impl serde::Serialize) -> Result<(), Error> {
    batch.put_json(Column::Hits, k::watch(id), watch)
}

/// Whether watchlist entry `id` exists.
pub fn has_watch(store: &Store, id: u64) -> Result<bool, Error> {
    marked(store, &k::watch(id))
}

/// Watchlist entry `id`, if it exists and decodes.
pub fn watch<T: serde::de::DeserializeOwned>(store: &Store, id: u64) -> Result<Option<T>, Error> {
    Ok(store
        .get(Column::Hits, &k::watch(id))?
        .and_then(|v| serde_json::from_slice(&v).ok()))
}

/// The watchlist, in id order (an entry that does not decode is skipped).
pub fn watches<T: serde::de::DeserializeOwned>(store: &Store) -> Result<Vec<T>, Error> {
    store.json_values(Column::Hits, k::WATCHES)
}

/// Deletes, in `batch`, watchlist entry `id` with its watched tag images
/// and its alerted markers.
pub fn delete_watch(store: &Store, batch: &mut Batch, id: u64) -> Result<(), Error> {
    batch.delete(Column::Hits, k::watch(id));
    for prefix in [k::WATCHED, k::ALERTED] {
        store.scan_prefix(Column::Hits, prefix, |key, _| {
            if key.ends_with(&id.to_be_bytes()) {
                batch.delete(Column::Hits, key.to_vec());
            }
            true
        })?;
    }
    Ok(())
}

/// Records, in `batch`, that watchlist entry `watch_id`'s selector of
/// `kind` has tag image `image` at `owner` in `epoch`.
pub fn put_watched(
    batch: &mut Batch,
    owner: &[u8; 32],
    epoch: u64,
    image: &[u8; 32],
    watch_id: u64,
    kind: SelectorKind,
) {
    batch.put(
        Column::Hits,
        k::watched(owner, epoch, image, watch_id),
        vec![kind.code()],
    );
}

/// The watchlist entries (id, kind of selector) whose tag image at
/// `owner` in `epoch` is `image`.
pub fn watched(
    store: &Store,
    owner: &[u8; 32],
    epoch: u64,
    image: &[u8; 32],
) -> Result<Vec<(u64, SelectorKind)>, Error> {
    let mut out = Vec::new();
    let prefix = {
        let mut p = k::watched_prefix(owner, epoch);
        p.extend_from_slice(image);
        p
    };
    store.scan_prefix(Column::Hits, &prefix, |key, v| {
        let id = key.get(key.len() - 8..).and_then(|b| b.try_into().ok());
        let kind = v.first().and_then(|c| SelectorKind::from_code(*c));
        if let (Some(id), Some(kind)) = (id, kind) {
            out.push((u64::from_be_bytes(id), kind));
        }
        true
    })?;
    Ok(out)
}

/// Whether an alert was raised for watchlist entry `watch_id` at `owner`.
pub fn alerted(store: &Store, owner: &[u8; 32], watch_id: u64) -> Result<bool, Error> {
    marked(store, &k::alerted(owner, watch_id))
}

/// Records, in `batch`, that an alert was raised for watchlist entry
/// `watch_id` at `owner`.
pub fn put_alerted(batch: &mut Batch, owner: &[u8; 32], watch_id: u64) {
    batch.put(Column::Hits, k::alerted(owner, watch_id), Vec::new());
}

/// Whether the watchlist was renewed with `owner` for `epoch`.
pub fn renewed(store: &Store, owner: &[u8; 32], epoch: u64) -> Result<bool, Error> {
    marked(store, &k::renewed(owner, epoch))
}

/// Whether `key` is held in the `hits` column (its value unread).
fn marked(store: &Store, key: &[u8]) -> Result<bool, Error> {
    Ok(store.get(Column::Hits, key)?.is_some())
}

/// Records, in `batch`, that the watchlist was renewed with `owner` for
/// `epoch`, which ends a gap in watching there.
pub fn put_renewed(batch: &mut Batch, owner: &[u8; 32], epoch: u64) {
    batch.put(Column::Hits, k::renewed(owner, epoch), Vec::new());
    batch.delete(Column::Hits, k::unwatched(owner, epoch));
}

/// Records, in `batch`, that the watchlist's renewal with `owner` for
/// `epoch` was declined for `reason`: a gap in watching.
pub fn put_unwatched(batch: &mut Batch, owner: &[u8; 32], epoch: u64, reason: &str) {
    batch.put(
        Column::Hits,
        k::unwatched(owner, epoch),
        reason.as_bytes().to_vec(),
    );
}

/// The gaps in watching at `owner`: each epoch and why its renewal was
/// declined, oldest first.
pub fn unwatched(store: &Store, owner: &[u8; 32]) -> Result<Vec<(u64, String)>, Error> {
    let mut out = Vec::new();
    store.scan_prefix(Column::Hits, &k::unwatched_at(owner), |key, v| {
        out.extend(k::epoch_of(key).map(|e| (e, String::from_utf8_lossy(v).into_owned())));
        true
    })?;
    Ok(out)
}
