//! Follow-up after a hit (DESIGN.md, "Matching", step 5): requests,
//! release policy, reports, withdrawal notices, and retention.
//!
//! Two roles, both on every node:
//! - [`owner`]: resolves a peer's request (the hit's tags) to its records,
//!   through the tags it served that peer; files it; releases at once,
//!   waits for an analyst, or refuses, by the peer's policy for each
//!   record's handling code (`TLP:RED` never). A release is a [`Report`]
//!   sealed to the requester and naming it. When a requested or released
//!   record is withdrawn, corrected or expires, the requester is told.
//! - [`requester`]: sends the request for one of its hits, records the
//!   owner's answer, and keeps a report as the envelope it came in, apart
//!   from its own records (never indexed, never matched, never released
//!   onward), checking signature, binding and content again on every read.
//!
//! [`retention`] purges what is past its period.
//!
//! In: analysts' asks and decisions (the API and CLI), peers' messages
//! (the [`crate::router`] decodes them and calls the handlers here inside
//! [`Post::receive`](crate::post::Post::receive), holding [`Decisions`]),
//! the daemon's scheduled work, and [`crate::matching`]'s hits. Out:
//! bodies to seal and queue through the [`Post`] below, and the
//! follow-up's state in the store. Nothing here logs a record's content
//! or a selector.
//!
//! [`Report`]: liaison_protocol::exchange::Report

pub mod owner;
pub mod requester;
pub mod retention;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use liaison_config::{Config, OnWithdrawal};
use liaison_protocol::record::Handling;
use serde::{Deserialize, Serialize};

use crate::hex;
use crate::matching::Matching;
use crate::post::Post;
use crate::store::{self, Store};

/// Message types of the follow-up.
pub mod context {
    /// A request for the record behind a hit (querier to owner).
    pub const REQUEST: &str = "liaison/exchange/request/v1";
    /// The owner's status answer: filed, refused, no such record, withdrawn.
    pub const REPLY: &str = "liaison/exchange/reply/v1";
    /// A released report.
    pub const REPORT: &str = "liaison/exchange/report/v1";
    /// A released record was withdrawn, corrected or expired.
    pub const NOTICE: &str = "liaison/exchange/notice/v1";
}

/// Codes the `received` audit entry carries when a well-formed message
/// was applied but changed nothing.
pub mod code {
    /// The request's tags name no record held for that peer.
    pub const NO_SUCH_RECORD: u16 = 1;
    /// The release policy refused every record.
    pub const POLICY: u16 = 2;
    /// A reply, report or notice for a request we did not send that peer.
    pub const UNKNOWN_REQUEST: u16 = 3;
    /// A report that does not name its sender as owner and us as recipient.
    pub const NOT_BOUND: u16 = 4;
    /// A second report for one request, or a request id already used.
    pub const DUPLICATE: u16 = 5;
    /// Too many of the peer's requests wait for an analyst already.
    pub const TOO_MANY: u16 = 6;
    /// The peer's requests for the day are used up (`[exchange]
    /// requests_per_day`).
    pub const RATE: u16 = 7;
    /// The peer opened too many new case references today (`[exchange]
    /// cases_per_day`).
    pub const CASES: u16 = 8;
}

/// Errors of the follow-up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// The envelope layer failed.
    #[error(transparent)]
    Post(#[from] crate::post::Error),
    /// Reading matching's hits failed.
    #[error("reading hits: {0}")]
    Matching(#[from] Box<crate::matching::Error>),
    /// An id given by the caller is not hex, or too short to name one.
    #[error("{given:?} is not a {what} id: give at least its first 6 hex digits, as `liaison requests` shows them")]
    NotAnId {
        /// What was given.
        given: String,
        /// Request or report.
        what: &'static str,
    },
    /// No request, report or hit by the id given.
    #[error("no {what} {given}{hint}")]
    Unknown {
        /// Request, report or hit.
        what: &'static str,
        /// The id given.
        given: String,
        /// Where to find the right ones.
        hint: &'static str,
    },
    /// An id prefix that names several.
    #[error("{given} names {count} {what}s: give more of its digits")]
    Ambiguous {
        /// The prefix given.
        given: String,
        /// Request or report.
        what: &'static str,
        /// How many it names.
        count: usize,
    },
    /// A request already decided.
    #[error(
        "request {id} from {peer} was already answered: {decision:?}{by}{at}; nothing was changed"
    )]
    Answered {
        /// The request's first 8 hex digits.
        id: String,
        /// The requesting peer.
        peer: String,
        /// How it was answered.
        decision: Decision,
        /// " by WHO", or nothing.
        by: String,
        /// " at TIME", or nothing.
        at: String,
    },
    /// A peer the caller names is no longer trusted.
    #[error("{peer} is no longer a trusted peer: {then}")]
    Untrusted {
        /// The peer's name.
        peer: String,
        /// What the caller can do.
        then: &'static str,
    },
    /// The release could not be built as asked (a redaction names no
    /// field, a record is gone).
    #[error("request {id} cannot be approved: {problem}; nothing was changed")]
    CannotRelease {
        /// The request's first 8 hex digits.
        id: String,
        /// Why.
        problem: String,
    },
    /// A hit followed up already.
    #[error("hit {hit} was already followed up: request {request}")]
    FollowedUp {
        /// The hit.
        hit: u64,
        /// The request's first 8 hex digits.
        request: String,
    },
    /// A hit from an epoch whose keys the owner destroyed.
    #[error("hit {hit} is from an epoch whose keys {peer} has destroyed, so it can no longer tell which record matched: run `liaison match` again for a fresh hit and request that")]
    Expired {
        /// The hit.
        hit: u64,
        /// The owner.
        peer: String,
    },
    /// A text field missing or too long; the text names the flag and its
    /// bounds.
    #[error("{0}")]
    Text(&'static str),
    /// A flag's value empty or too long.
    #[error("{flag} must be 1 to {max} bytes")]
    Length {
        /// The flag.
        flag: &'static str,
        /// The most allowed.
        max: usize,
    },
    /// Texts too long.
    #[error("{flags} must each be at most {max} bytes")]
    TooLong {
        /// The flags.
        flags: &'static str,
        /// The most allowed.
        max: usize,
    },
    /// A decision whose decider is not named as a user.
    #[error("{given:?} cannot name who decided: give the user's account name, 1 to {max} bytes (`policy` and `owner` are the node's own)")]
    Decider {
        /// The name given.
        given: String,
        /// The most allowed.
        max: usize,
    },
    /// A second approval by the supervisor who gave the first, of a
    /// request under the two-person rule.
    #[error("request {id} already has {by}'s approval: the two-person rule for {codes} needs a second supervisor; nothing was changed")]
    SameApprover {
        /// The request's first 8 hex digits.
        id: String,
        /// The supervisor.
        by: String,
        /// The handling codes that need two, as `TLP:AMBER+STRICT`.
        codes: String,
    },
    /// A refusal without its reason.
    #[error("give the requester a reason: --reason TEXT, 1 to {max} bytes")]
    NoReason {
        /// The most allowed.
        max: usize,
    },
    /// A report deleted when its owner withdrew it.
    #[error("report {id} from {peer} was deleted at {at} when its owner withdrew it (by this node's `on_withdrawal = \"delete\"`); envelope {envelope}")]
    Deleted {
        /// The request's first 8 hex digits.
        id: String,
        /// The owner.
        peer: String,
        /// When, as text.
        at: String,
        /// The envelope's hash.
        envelope: String,
    },
}

impl Error {
    /// Whether the caller asked for something that does not exist or is
    /// not allowed (nothing was changed), rather than the node failing.
    pub fn is_refusal(&self) -> bool {
        !matches!(self, Error::Store(_) | Error::Post(_) | Error::Matching(_))
    }
}

/// `[exchange]`, as the node uses it.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a request waits before a reminder, ms.
    pub deadline_ms: u64,
    /// What a withdrawal notice does to our copy.
    pub on_withdrawal: OnWithdrawal,
    /// Retention of received reports, ms.
    pub report_ms: u64,
    /// Retention of hits and alerts, ms.
    pub hit_ms: u64,
    /// Retention of answered requests, ms.
    pub request_ms: u64,
    /// How often the daemon purges.
    pub purge_interval: Duration,
    /// Follow-up requests one peer may send per day.
    pub requests_per_day: u32,
    /// New case references one peer may open per day.
    pub cases_per_day: u32,
    /// Handling codes whose release needs two different supervisors
    /// (never released by policy).
    pub two_person: BTreeSet<Handling>,
}

impl Settings {
    /// From a validated config.
    pub fn from_config(config: &Config) -> Settings {
        let exchange = &config.exchange;
        let ms = |d: Duration| d.as_millis().min(u128::from(u64::MAX)) as u64;
        Settings {
            deadline_ms: ms(exchange.deadline),
            on_withdrawal: exchange.on_withdrawal,
            report_ms: ms(exchange.report_retention),
            hit_ms: ms(exchange.hit_retention),
            request_ms: ms(exchange.request_retention),
            purge_interval: exchange.purge_interval,
            requests_per_day: exchange.requests_per_day,
            cases_per_day: exchange.cases_per_day,
            two_person: exchange.two_person.clone(),
        }
    }
}

/// The right to change a request's state (file, approve, refuse, answer,
/// withdraw, purge): [`Exchange::deciding`] hands it out one holder at a
/// time, so two decisions never race. A function that needs it held
/// takes `&Decisions`, which nothing else can make.
#[derive(Debug)]
pub struct Decisions(());

/// The follow-up: its settings and [`Decisions`], over matching (whose
/// hits it follows up) and the envelope layer it sends through. The
/// [`crate::router`] owns it.
#[derive(Debug)]
pub struct Exchange {
    post: Arc<Post>,
    matching: Arc<Matching>,
    settings: Mutex<Settings>,
    deciding: Mutex<Decisions>,
}

impl Exchange {
    /// The follow-up with `settings`, over `matching` and `post`.
    pub fn new(post: Arc<Post>, matching: Arc<Matching>, settings: Settings) -> Exchange {
        Exchange {
            post,
            matching,
            settings: Mutex::new(settings),
            deciding: Mutex::new(Decisions(())),
        }
    }

    /// The envelope layer below.
    pub fn post(&self) -> &Post {
        &self.post
    }

    /// Matching, whose hits this follows up.
    pub fn matching(&self) -> &Matching {
        &self.matching
    }

    /// The settings in force.
    pub fn settings(&self) -> Settings {
        self.settings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// New settings (after a config reload).
    pub fn set_settings(&self, settings: Settings) {
        *self
            .settings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = settings;
    }

    /// The lock every change of a request's state takes. Record writers
    /// that remove records (withdraw, purge) take it too, so a request
    /// being filed and its record's removal never interleave.
    pub fn deciding(&self) -> std::sync::MutexGuard<'_, Decisions> {
        self.deciding
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Where a request a peer sent us stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Waiting for an analyst.
    Pending,
    /// Released (by policy or an analyst).
    Released,
    /// Refused (by policy or an analyst), with a reason.
    Refused,
    /// Its record was withdrawn before a decision.
    Withdrawn,
}

/// A request a peer sent us, as `liaison requests` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Incoming {
    /// Its id (hex), chosen by the requester.
    pub id: String,
    /// The requesting peer's name.
    pub peer: String,
    /// Its key (hex).
    pub peer_key: String,
    /// When it arrived, Unix ms.
    pub received_ms: u64,
    /// The requester's case reference.
    pub reference: String,
    /// The legal basis it gave.
    pub basis: String,
    /// Its note.
    pub note: String,
    /// Whether it follows a weak hit: a record it names is reached only
    /// through one-letter person keys (`person_fuzzy`), right about half
    /// the time. Such a request always waits for an analyst, whatever the
    /// policy.
    #[serde(default)]
    pub weak: bool,
    /// Our records the hit's tags resolve to (never sent unless released).
    pub records: Vec<String>,
    /// The handling code of each.
    pub handling: Vec<String>,
    /// Where it stands.
    pub decision: Decision,
    /// When it was decided, Unix ms.
    pub decided_ms: Option<u64>,
    /// Who decided: `policy`, `owner` (its records were withdrawn), or
    /// the deciding user's account name (`ivanov`); a release under the
    /// two-person rule names both supervisors, `ivanov+petrova`.
    pub decided_by: Option<String>,
    /// The refusal's reason.
    pub reason: Option<String>,
    /// Fields redacted from the release.
    pub redacted: Vec<String>,
    /// The supervisors' approvals so far, oldest first: under the
    /// two-person rule the first waits here for a second by someone
    /// else. Empty for a decision by policy.
    #[serde(default)]
    pub approvals: Vec<Approval>,
    /// Records the policy never releases to this peer (left out).
    pub withheld: Vec<String>,
    /// Whether the deadline reminder was raised.
    pub reminded: bool,
    /// Whether the decision's answer (report or status) has yet to be
    /// put in the outbox: set between a decision made inside `receive`
    /// and its reply's commit.
    #[serde(default)]
    pub owed: bool,
}

/// One supervisor's approval of a request a peer filed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// The supervisor's account name.
    pub by: String,
    /// When, Unix ms.
    pub at_ms: u64,
    /// The fields they asked to redact.
    pub redacted: Vec<String>,
}

/// Where a request we sent stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// Sent; no answer yet.
    Sent,
    /// Filed by the owner for an analyst's decision.
    Filed,
    /// Refused, with the owner's reason.
    Refused,
    /// The owner holds no such record for us.
    NoSuchRecord,
    /// The record was withdrawn before a decision.
    Withdrawn,
    /// The report arrived (`liaison report show ID`).
    Reported,
}

/// A request we sent, as `liaison requests` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outgoing {
    /// Its id (hex).
    pub id: String,
    /// The peer asked.
    pub peer: String,
    /// Its key (hex).
    pub peer_key: String,
    /// The hit it follows up.
    pub hit: u64,
    /// The hit's entity, as our analyst's file wrote it.
    pub entity: String,
    /// When it was sent, Unix ms.
    pub sent_ms: u64,
    /// Our case reference.
    pub reference: String,
    /// The legal basis.
    pub basis: String,
    /// The note.
    pub note: String,
    /// The answer so far.
    pub answer: Answer,
    /// When it was answered, Unix ms.
    pub answered_ms: Option<u64>,
    /// The owner's deadline, once filed.
    pub deadline_ms: Option<u64>,
    /// The owner's reason, if refused.
    pub reason: Option<String>,
}

/// Parses a request id given in full (32 hex digits) or as a prefix of at
/// least 6 that names exactly one of `ids`.
fn pick(
    given: &str,
    ids: impl Iterator<Item = [u8; 16]>,
    what: &'static str,
) -> Result<[u8; 16], Error> {
    let given = given.trim().to_ascii_lowercase();
    if given.len() < 6 || !given.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::NotAnId { given, what });
    }
    let found: Vec<[u8; 16]> = ids
        .filter(|id| hex::encode(id).starts_with(&given))
        .collect();
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(Error::Unknown {
            what,
            given,
            hint: ": `liaison requests` lists them",
        }),
        _ => Err(Error::Ambiguous {
            given,
            what,
            count: found.len(),
        }),
    }
}

/// What `liaison status` shows of the follow-up.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Requests from peers waiting for an analyst.
    pub pending: u64,
    /// Of those, past the deadline.
    pub overdue: u64,
    /// Requests we sent with no final answer yet.
    pub awaiting: u64,
    /// Reports held.
    pub reports: u64,
}

/// Counts for `liaison status`.
pub fn summary(store: &Store, deadline: Duration, now: u64) -> Result<Summary, Error> {
    let deadline = deadline.as_millis() as u64;
    let mut s = Summary::default();
    for r in store::exchange::INCOMING.all::<Incoming>(store)? {
        if r.decision == Decision::Pending {
            s.pending += 1;
            if now.saturating_sub(r.received_ms) > deadline {
                s.overdue += 1;
            }
        }
    }
    for r in store::exchange::OUTGOING.all::<Outgoing>(store)? {
        if matches!(r.answer, Answer::Sent | Answer::Filed) {
            s.awaiting += 1;
        }
    }
    s.reports = store::exchange::report_ids(store)?.len() as u64;
    Ok(s)
}
