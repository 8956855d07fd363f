//! `audit show` and `audit open-case`: the log and case commitments, for
//! people.
//!
//! Reads entries and case salts from the [`Store`], names peers from the
//! config, and hands the CLI or the daemon's API entries ([`Shown`]) and
//! case openings ([`CaseOpening`]) to print.

use std::collections::HashMap;

use liaison_config::Peer;
use liaison_protocol::audit::{case, Entry, Kind};
use serde::Serialize;

use crate::store::{self, Store};

/// One entry, for people.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct Shown {
    /// Log index.
    pub index: u64,
    /// RFC 3339 time.
    pub time: String,
    /// What happened.
    pub kind: String,
    /// The peer's name (or key fingerprint if not trusted now).
    pub peer: Option<String>,
    /// The message type.
    pub context: String,
    /// Message id.
    pub message: Option<String>,
    /// Items counted.
    pub count: u64,
    /// A refusal or fork code.
    pub code: u16,
    /// The code in words, where it has a meaning beyond the kind (an
    /// evaluation's claimed purpose and outcome).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Whether it was made under a case (commitment present).
    pub case: bool,
}

/// Entries for `audit show`: all, or those with `peer` and/or made under
/// case reference `case` (any legal basis). At most `limit`, newest last.
pub fn show(
    store: &Store,
    peers: &[Peer],
    peer: Option<&Peer>,
    case: Option<&str>,
    limit: usize,
) -> Result<Vec<Shown>, store::Error> {
    let cases = case
        .map(|r| case_openings(store, r))
        .transpose()?
        .map(|o| o.into_iter().map(|(_, _, c)| c).collect::<Vec<_>>());
    let names: HashMap<[u8; 32], &str> = peers
        .iter()
        .map(|p| (p.key.verifying_key().to_bytes(), p.name.as_str()))
        .collect();
    let mut out = std::collections::VecDeque::new();
    store.scan_log(0, |index, bytes| {
        let Ok(e) = Entry::decode(bytes) else {
            return true;
        };
        if peer.is_some_and(|p| e.peer != Some(p.key.verifying_key().to_bytes())) {
            return true;
        }
        if cases
            .as_ref()
            .is_some_and(|c| !e.case.is_some_and(|x| c.contains(&x)))
        {
            return true;
        }
        let time =
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(e.time_ms) * 1_000_000)
                .ok()
                .and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_default();
        let detail = (e.kind == Kind::Received && e.context.starts_with("liaison/match/evaluate/"))
            .then(|| liaison_protocol::matching::describe_evaluation_code(e.code));
        out.push_back(Shown {
            index,
            time,
            kind: e.kind.to_string(),
            peer: e.peer.map(|p| {
                names.get(&p).map_or_else(
                    || p[..8].iter().map(|b| format!("{b:02x}")).collect(),
                    |n| (*n).to_owned(),
                )
            }),
            context: e.context,
            message: e.message_id.map(|m| m.to_string()),
            count: e.count,
            code: e.code,
            detail,
            case: e.case.is_some(),
        });
        if out.len() > limit {
            out.pop_front();
        }
        true
    })?;
    Ok(out.into())
}

/// A case's legal basis, salt and commitment.
pub type CaseOpening = (String, [u8; 32], [u8; 32]);

/// The commitments stored for case `reference` (one per legal basis),
/// with their salts, for `audit open-case`.
pub fn case_openings(store: &Store, reference: &str) -> Result<Vec<CaseOpening>, store::Error> {
    Ok(store
        .case_salts(reference)?
        .into_iter()
        .map(|(basis, salt)| {
            let c = case::commitment(&salt, reference, &basis);
            (basis, salt, c)
        })
        .collect())
}
