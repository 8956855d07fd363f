//! Resolving a peer's request to records: each tag it names is looked up
//! among the tags this node served that peer.
//!
//! In: the tags of a request a peer sent (through the [`crate::router`],
//! [`super::on_request`]) or a test's. Reads the served tags and the
//! record index from the store; out: record ids, to the request's filing
//! and release. Writes nothing.

use std::collections::BTreeMap;

use liaison_config::Peer;
use liaison_protocol::exchange::{Tag, MAX_RECORDS};
use liaison_protocol::SelectorKind;

use crate::exchange::{Error, Exchange};
use crate::store::matching::served_tag;
use crate::store::records::{is_indexed, Records};

/// The record ids `tags` name among what we served `peer`: each tag is
/// looked up in the tags of the epoch it names, and must be of a kind the
/// peer may match and the kind it claims. A tag we never served (a filter
/// false positive, a forged tag, another peer's tag, a retired epoch, the
/// one-way image a delta carried) resolves to nothing. A `person_fuzzy`
/// tag carries its records (the local index leaves those keys out), so
/// nothing here scans the records.
pub fn resolve(exchange: &Exchange, peer: &Peer, tags: &[Tag]) -> Result<Vec<String>, Error> {
    Ok(resolve_weak(exchange, peer, tags)?
        .into_iter()
        .map(|(id, _)| id)
        .collect())
}

/// [`resolve`], with whether each record was reached only through
/// one-letter person keys (`person_fuzzy`): a weak hit on it.
pub(super) fn resolve_weak(
    exchange: &Exchange,
    peer: &Peer,
    tags: &[Tag],
) -> Result<Vec<(String, bool)>, Error> {
    let store = exchange.post().store();
    let pk = peer.key.verifying_key().to_bytes();
    let records = Records::new(store);
    // Record id -> whether only weak tags reached it so far.
    let mut ids: BTreeMap<String, bool> = BTreeMap::new();
    for t in tags {
        if !peer.kinds.contains(&t.kind) {
            continue;
        }
        let Some((s, held)) = served_tag(store, &pk, t.epoch, &t.tag)? else {
            continue;
        };
        if s.kind != t.kind {
            continue;
        }
        let weak = s.kind == SelectorKind::PersonFuzzy;
        let found = if is_indexed(&s) {
            records.find(&s, MAX_RECORDS)?
        } else {
            held
        };
        for id in found {
            let only_weak = ids.entry(id).or_insert(true);
            *only_weak &= weak;
        }
    }
    Ok(ids.into_iter().take(MAX_RECORDS).collect())
}
