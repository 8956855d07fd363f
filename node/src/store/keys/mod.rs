//! Every storage key encoding, in one place (tikv `components/keys` style).
//!
//! Integers are big-endian so byte order is numeric order. Variable-length
//! parts are length-prefixed (u16) where something follows them, so one
//! key can never be a prefix of an unrelated one.
//!
//! | column      | key                                              | value |
//! |-------------|--------------------------------------------------|-------|
//! | `records`   | record id (UTF-8)                                | [`super::records`] encoding |
//! | `selectors` | kind u8, version u8, len u16, value, record id   | empty |
//! | `meta`      | a [`Meta`] name, or `peer/` ‖ peer key (32) ‖ [`PeerCounter`] u8 | u64 |
//! | `outbox`    | peer key (32), sequence u64                      | envelope |
//! | `inbox`     | sender key (32), message id (16)                 | hash, time, receipt |
//! | `audit`     | `e` ‖ index u64                                  | entry bytes |
//! | `audit`     | `n` ‖ level u8 ‖ index u64                       | perfect subtree hash (32) |
//! | `audit`     | `s`                                              | tree size u64 |
//! | `audit`     | `c` ‖ size u64                                   | our signed checkpoint (note text) |
//! | `audit`     | `w` ‖ peer key (32)                              | the peer's newest checkpoint we verified |
//! | `audit`     | `h` ‖ peer key (32)                              | the size of our log that peer last verified (u64) |
//! | `audit`     | `f` ‖ peer key (32) ‖ time u64                   | fork evidence |
//! | `audit`     | `u` ‖ peer key (32)                              | time u64 the peer first sent us an envelope after its last verified checkpoint |
//! | `audit`     | `p` ‖ peer key (32)                              | outbox sequence u64 of our last checkpoint push to the peer |
//! | `audit`     | `k` ‖ len u16 ‖ case reference ‖ legal basis     | salt (32) |
//! | `tags`      | peer (32) ‖ epoch u64 ‖ tag (32)                 | selector (kind, version, len u16, value) ‖ for `person_fuzzy`, its records (len u16 ‖ id)* |
//! | `matching`  | `m` ‖ peer (32) ‖ epoch u64                      | our signed manifest for that peer |
//! | `matching`  | `b` ‖ peer (32) ‖ purpose u8 ‖ kind u8 ‖ bucket u64 | selectors evaluated in that bucket of the sliding window (u64); purpose 0 all, 1 renewals |
//! | `matching`  | `n` ‖ seq u64                                    | selectors of newly stored records, awaiting their delta |
//! | `matching`  | `d` ‖ peer (32) ‖ epoch u64                      | the last delta number sent (u64) ‖ images sent (u64) |
//! | `matching`  | `M` ‖ owner (32) ‖ epoch u64                     | the owner's manifest for us |
//! | `matching`  | `C` ‖ owner (32) ‖ epoch u64 ‖ index u32         | a filter chunk, until the filter is whole |
//! | `matching`  | `S` ‖ owner (32) ‖ epoch u64                     | chunks held of the filter being received: its manifest's hash (32) ‖ a bit per index (16) |
//! | `matching`  | `F` ‖ owner (32) ‖ epoch u64                     | the owner's filter for us: its manifest's hash (32) ‖ filter |
//! | `matching`  | `D` ‖ owner (32) ‖ epoch u64 ‖ image (32)        | a tag's image from the owner's deltas (empty) |
//! | `matching`  | `K` ‖ owner (32) ‖ epoch u64                     | delta images held for that owner and epoch (u64) |
//! | `matching`  | `E` ‖ owner (32) ‖ time u64 ‖ message id (16)    | evidence: an answer whose proof failed |
//! | `hits`      | `h` ‖ time u64 ‖ id u64                          | a hit (JSON) |
//! | `hits`      | `w` ‖ id u64                                     | a watchlist entry (JSON) |
//! | `hits`      | `W` ‖ owner (32) ‖ epoch u64 ‖ image (32) ‖ id u64 | a watched selector's tag image at that owner: its kind (u8) |
//! | `hits`      | `a` ‖ time u64 ‖ id u64                          | an alert (JSON) |
//! | `hits`      | `R` ‖ owner (32) ‖ epoch u64                     | the watchlist was renewed there (empty) |
//! | `hits`      | `U` ‖ owner (32) ‖ epoch u64                     | its renewal there was declined, until one succeeds: the reason (UTF-8) |
//! | `hits`      | `x` ‖ owner (32) ‖ watch id u64                  | an alert was raised for it there (empty) |
//! | `exchange`  | `i` ‖ request id (16)                            | a request a peer sent us (JSON) |
//! | `exchange`  | `q` ‖ peer (32) ‖ day u64                        | follow-up requests from that peer that day (u64) |
//! | `exchange`  | `c` ‖ peer (32) ‖ day u64                        | new case references its requests opened that day (u64) |
//! | `exchange`  | `o` ‖ request id (16)                            | a request we sent (JSON) |
//! | `exchange`  | `H` ‖ hit id u64                                 | the request sent for that hit (16) |
//! | `exchange`  | `x` ‖ len u16 ‖ record id ‖ request id (16)       | a peer's request names this record: the peer's key (32) |
//! | `exchange`  | `N` ‖ time u64 ‖ record id                       | a requested record changed: the change (u8), awaiting its notices |
//! | `exchange`  | `r` ‖ request id (16)                            | a received report: time u64 ‖ the envelope as it arrived |
//! | `exchange`  | `m` ‖ request id (16) ‖ record id                | the owner's notice about one record of it: change u8 ‖ time u64 |
//! | `exchange`  | `t` ‖ request id (16)                            | a report deleted on withdrawal: its tombstone (JSON) |
//! | `expiry`    | `i` ‖ record id                                  | when the record expires, Unix s (u64) |
//! | `expiry`    | `t` ‖ time u64 ‖ record id                       | empty: records by expiry |
//! | `users`     | `u` ‖ name                                       | a local account (JSON) |
//! | `users`     | `t` ‖ SHA-256 of an API token (32)               | the account's name |
//!
//! One file per column's layout: `selectors` (the `records` and
//! `selectors` columns, and the `tags` value), `mailbox` (`outbox`,
//! `inbox` and the per-peer counters in `meta`), [`audit`], [`matching`]
//! (`tags`, `matching` and `hits`), [`exchange`] and [`expiry`]; this file
//! holds the names of the store-wide `meta` entries ([`Meta`]). The store's
//! typed layers (records, the mailbox, the audit log, matching and
//! exchange) build their keys here and decode the keys they scan here.

use liaison_protocol::SelectorKind;

pub(crate) mod audit;
pub(crate) mod exchange;
pub(crate) mod expiry;
mod mailbox;
pub(crate) mod matching;
mod selectors;
#[cfg(test)]
mod tests;
pub(crate) mod users;

pub(crate) use mailbox::{
    decode_peer_counter, inbox, outbox, outbox_prefix, outbox_seq, peer_counter, PeerCounter,
    PEER_COUNTER_PREFIX,
};
pub(crate) use selectors::{
    decode_selector_entry, decode_tag_value, record, record_owned, selector_entry,
    selector_entry_record, selector_prefix, tag_value,
};

/// Names of the `meta` column's entries.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Meta {
    /// The store layout version (u32).
    Layout,
    /// Number of records held (u64).
    RecordCount,
    /// Number of index entries of one selector kind (u64).
    SelectorCount(SelectorKind),
    /// Present once every record's `expires` is in the `expiry` column
    /// (stores made before it existed are indexed once, at open).
    ExpiryIndexed,
}

impl Meta {
    pub(crate) fn key(self) -> Vec<u8> {
        match self {
            Meta::Layout => b"layout".to_vec(),
            Meta::RecordCount => b"count/records".to_vec(),
            Meta::ExpiryIndexed => b"expiry-indexed".to_vec(),
            Meta::SelectorCount(kind) => {
                let mut k = b"count/selectors/".to_vec();
                k.push(kind.code());
                k
            }
        }
    }
}

/// A key of a one-byte `tag` followed by the parts of `rest`.
fn tagged(tag: u8, rest: &[&[u8]]) -> Vec<u8> {
    let mut k = vec![tag];
    rest.iter().for_each(|r| k.extend_from_slice(r));
    k
}
