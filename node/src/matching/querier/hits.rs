//! Stored hits: the hits an analyst keeps from a match, each with the
//! tags a follow-up request for the record behind it names.
//!
//! The API's match call makes them from a query's answers (see
//! [`super::take`]) and stores them here ([`store_hits`]) in the store's
//! `hits` column; `liaison hits` (the API and CLI) and the follow-up
//! ([`crate::exchange`]) read them back ([`hits`]). Nothing here is sent.
//! It also words how strong a person match is ([`strength_of`]).

use liaison_protocol::normalize::person::NamePart;
use liaison_protocol::SelectorKind;
use serde::{Deserialize, Serialize};

use crate::hex;
use crate::matching::{Error, Matching};
use crate::store::matching as stored;
use crate::store::Batch;

/// A stored hit, as `liaison hits` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredHit {
    /// Its id.
    pub id: u64,
    /// When, Unix ms.
    pub time_ms: u64,
    /// The peer that holds it.
    pub peer: String,
    /// The entity as the analyst's file wrote it.
    pub entity: String,
    /// `FILE:LINE`.
    pub source: String,
    /// The kinds that matched.
    pub kinds: Vec<SelectorKind>,
    /// For persons: how strong.
    pub strength: Option<String>,
    /// The case commitment (hex), if the match named a case.
    pub case: Option<String>,
    /// The tags that matched (hex) and their epoch, for a follow-up.
    pub tags: Vec<(SelectorKind, String, u64)>,
    /// The match that found it (`GET /api/v1/matches/{id}`); absent for
    /// hits stored before matches had ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched: Option<u64>,
}

/// How strong a person match is, from the keys that matched.
pub fn strength(kinds: &[SelectorKind]) -> Option<String> {
    strength_of(kinds, None)
}

/// [`strength`], saying for a weak match which part of our own name the
/// matched one-letter keys varied, when they say
/// ([`liaison_protocol::normalize::person::differing_part`]).
pub fn strength_of(kinds: &[SelectorKind], differed: Option<NamePart>) -> Option<String> {
    let has = |k| kinds.contains(&k);
    if !kinds.iter().any(|k| k.is_person()) {
        return None;
    }
    Some(if has(SelectorKind::PersonFull) {
        "strong: every name part and the date of birth".to_owned()
    } else if has(SelectorKind::PersonName) {
        "good: surname, given name and date of birth".to_owned()
    } else if has(SelectorKind::PersonPhonetic) {
        "fair: names sound alike, same date of birth".to_owned()
    } else {
        let part = match differed {
            Some(NamePart::Surname) => " (the surname differs)",
            Some(NamePart::Given) => " (the given name differs)",
            Some(NamePart::FullName) => " (one word of the full name differs)",
            None => "",
        };
        format!("weak: names one letter apart{part}, same date of birth; right about half the time, check before acting")
    })
}

/// Stores hits.
pub fn store_hits(matching: &Matching, hits: &[StoredHit]) -> Result<(), Error> {
    let mut b = Batch::default();
    for h in hits {
        stored::HITS.put(&mut b, h.time_ms, h.id, &h)?;
    }
    matching.post().store().write(b)?;
    Ok(())
}

/// Hits, oldest first.
pub fn hits(matching: &Matching) -> Result<Vec<StoredHit>, Error> {
    Ok(stored::HITS.all(matching.post().store())?)
}

/// Hex of a tag (re-exported for the API).
pub fn tag_hex(tag: &[u8; 32]) -> String {
    hex::encode(tag)
}
