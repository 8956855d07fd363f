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
    /// The local user it was made for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// Which entries `audit show` and `GET /api/v1/audit/entries` want.
#[derive(Debug, Clone, Default)]
pub struct Filter<'a> {
    /// Only entries with this peer.
    pub peer: Option<&'a Peer>,
    /// Only entries made under this case reference (any legal basis).
    pub case: Option<&'a str>,
    /// Only entries made for this local user.
    pub user: Option<&'a str>,
    /// Only entries from this time on, Unix ms.
    pub from_ms: Option<u64>,
    /// Only entries before this time, Unix ms.
    pub to_ms: Option<u64>,
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
    let filter = Filter {
        peer,
        case,
        ..Filter::default()
    };
    Ok(page(
        store,
        peers,
        &filter,
        Cursor::Newest { before: None },
        limit,
    )?
    .0)
}

/// Where a page of entries starts.
#[derive(Debug, Clone, Copy)]
pub enum Cursor {
    /// The oldest entries after index `after` (all, if none), oldest first.
    Oldest {
        /// The last index of the previous page.
        after: Option<u64>,
    },
    /// The newest entries before index `before` (all, if none), in log
    /// order (newest last).
    Newest {
        /// The first index of the previous page.
        before: Option<u64>,
    },
}

/// A page of entries that `filter` lets through, and whether there are
/// more beyond it (in the cursor's direction).
pub fn page(
    store: &Store,
    peers: &[Peer],
    filter: &Filter<'_>,
    cursor: Cursor,
    limit: usize,
) -> Result<(Vec<Shown>, bool), store::Error> {
    let cases = filter
        .case
        .map(|r| case_openings(store, r))
        .transpose()?
        .map(|o| o.into_iter().map(|(_, _, c)| c).collect::<Vec<_>>());
    let names: HashMap<[u8; 32], &str> = peers
        .iter()
        .map(|p| (p.key.verifying_key().to_bytes(), p.name.as_str()))
        .collect();
    let peer = filter.peer.map(|p| p.key.verifying_key().to_bytes());
    let from = match cursor {
        Cursor::Oldest { after: Some(a) } => a.saturating_add(1),
        _ => 0,
    };
    let mut out = std::collections::VecDeque::new();
    let mut more = false;
    store.scan_log(from, |index, bytes| {
        if let Cursor::Newest { before: Some(b) } = cursor {
            if index >= b {
                return false;
            }
        }
        let Ok(e) = Entry::decode(bytes) else {
            return true;
        };
        if peer.is_some_and(|p| e.peer != Some(p))
            || cases
                .as_ref()
                .is_some_and(|c| !e.case.is_some_and(|x| c.contains(&x)))
            || filter.user.is_some_and(|u| e.user.as_deref() != Some(u))
            || filter.from_ms.is_some_and(|t| e.time_ms < t)
            || filter.to_ms.is_some_and(|t| e.time_ms >= t)
        {
            return true;
        }
        if out.len() == limit {
            more = true;
            match cursor {
                Cursor::Oldest { .. } => return false,
                Cursor::Newest { .. } => {
                    out.pop_front();
                }
            }
        }
        out.push_back(shown(index, e, &names));
        true
    })?;
    Ok((out.into(), more))
}

fn shown(index: u64, e: Entry, names: &HashMap<[u8; 32], &str>) -> Shown {
    let time = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(e.time_ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    let detail = if e.kind == Kind::Received && e.context.starts_with("liaison/match/evaluate/") {
        Some(liaison_protocol::matching::describe_evaluation_code(e.code))
    } else if e.kind == Kind::Local {
        Some(
            match e.code {
                liaison_protocol::audit::LOCAL_DONE => "done",
                liaison_protocol::audit::LOCAL_DENIED => "denied: the user lacks the right",
                _ => "failed",
            }
            .to_owned(),
        )
    } else {
        None
    };
    Shown {
        index,
        time,
        kind: e.kind.to_string(),
        peer: e.peer.map(|p| {
            names
                .get(&p)
                .map_or_else(|| crate::hex::encode(&p[..8]), |n| (*n).to_owned())
        }),
        context: e.context,
        message: e.message_id.map(|m| m.to_string()),
        count: e.count,
        code: e.code,
        detail,
        case: e.case.is_some(),
        user: e.user,
    }
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
