//! One audit log entry and its canonical bytes.
//!
//! An entry records *that* something was exchanged or decided, never what
//! it said: who (the peer's ed25519 key), what kind of message (its
//! context), which message (id and the SHA-256 of the exact envelope
//! bytes), how many items, and under which case (a salted commitment, see
//! [`super::case`]). Selectors and report text never enter the log.
//!
//! Layout, big-endian, version 1:
//!
//! ```text
//! version (1) ‖ kind (1) ‖ time, Unix ms (8) ‖ flags (1) ‖ context len (1)
//! ‖ context ‖ code (2) ‖ count (8) ‖ [peer (32)] ‖ [message id (16)]
//! ‖ [envelope hash (32)] ‖ [case commitment (32)] ‖ [receipt len (2) ‖ receipt]
//! ‖ [user len (1) ‖ user]
//! ```
//!
//! Bracketed fields are present when their flag bit is set (peer 0x01,
//! message id 0x02, hash 0x04, case 0x08, receipt 0x10, user 0x20). The
//! user is the local account an action was taken under ([`Kind::Local`],
//! and decisions): a name of 1 to [`MAX_USER`] bytes of `a-z 0-9 . _ -`,
//! never a selector or a record's content. The encoding is
//! canonical: [`Entry::decode`] refuses unknown flags, unknown kinds and
//! trailing bytes, so one entry has exactly one byte string and so one leaf
//! hash.

use std::fmt;

use crate::envelope::{MessageId, MAX_CONTEXT, RECEIPT_LEN};
use crate::wire::{self, Reader};

/// Version byte of the entry layout.
pub const ENTRY_VERSION: u8 = 1;
/// Longest user name an entry carries.
pub const MAX_USER: usize = 64;
/// Largest encoded entry.
pub const MAX_ENTRY: usize =
    1 + 1 + 8 + 1 + 1 + MAX_CONTEXT + 2 + 8 + 32 + 16 + 32 + 32 + 2 + RECEIPT_LEN + 1 + MAX_USER;

const PEER: u8 = 0x01;
const MESSAGE_ID: u8 = 0x02;
const HASH: u8 = 0x04;
const CASE: u8 = 0x08;
const RECEIPT: u8 = 0x10;
const USER: u8 = 0x20;

/// What an entry records. The codes are stable: exports carry them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Kind {
    /// An envelope was queued for a peer (it sits in the outbox until the
    /// peer's receipt comes back).
    Sent = 1,
    /// The peer's signed receipt for an envelope we sent. The receipt is in
    /// the entry and names the peer's own log position for it.
    Receipted = 2,
    /// An envelope from a peer was verified and applied. Our receipt to
    /// the peer names this entry's position.
    Received = 3,
    /// An envelope (or bytes claiming to be one) from a peer was refused;
    /// `code` is the refusal reason.
    Refused = 4,
    /// We checked a peer's checkpoint against the last one we saw and
    /// cosigned it: `count` is its tree size, `hash` its root.
    Cosigned = 5,
    /// A peer showed a checkpoint that does not extend the last one we saw
    /// (a fork or a rewrite); the evidence is kept beside the log.
    Fork = 6,
    /// Local records were withdrawn: `count` of them.
    Withdrawn = 7,
    /// Data past its retention period was purged: `count` items.
    Purged = 8,
    /// We committed to an OPRF key and filter for a peer: `hash` is the
    /// signed manifest's SHA-256, `count` its epoch.
    Manifest = 9,
    /// An OPRF key was destroyed at the end of its overlap: `count` is
    /// the epoch whose keys (for every peer) are gone.
    KeyDestroyed = 10,
    /// A peer's evaluation answer failed its proof against the key the
    /// peer's manifest committed to; `hash` is the envelope's, and the
    /// envelope is kept as evidence.
    BadProof = 11,
    /// Something a local user did or tried: `user` names them, `context`
    /// the action (`find`, `match`, `approve`, `login`, `user-add`...),
    /// `code` its outcome ([`LOCAL_DONE`], [`LOCAL_DENIED`],
    /// [`LOCAL_FAILED`]), `count` how many items it touched, `case` the
    /// case commitment it was made under, `message_id` the request it
    /// named, `peer` the agency it concerned. Never a selector's value.
    Local = 12,
}

/// A [`Kind::Local`] action that was carried out.
pub const LOCAL_DONE: u16 = 0;
/// A [`Kind::Local`] action refused: the user lacks the right.
pub const LOCAL_DENIED: u16 = 1;
/// A [`Kind::Local`] action that failed: a wrong password, a locked or
/// disabled account.
pub const LOCAL_FAILED: u16 = 2;

impl Kind {
    /// Every kind, by code.
    pub const ALL: [Kind; 12] = [
        Kind::Sent,
        Kind::Receipted,
        Kind::Received,
        Kind::Refused,
        Kind::Cosigned,
        Kind::Fork,
        Kind::Withdrawn,
        Kind::Purged,
        Kind::Manifest,
        Kind::KeyDestroyed,
        Kind::BadProof,
        Kind::Local,
    ];

    /// The kind with this code.
    pub fn from_code(code: u8) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| *k as u8 == code)
    }

    /// A lower-case name for people.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Sent => "sent",
            Kind::Receipted => "receipted",
            Kind::Received => "received",
            Kind::Refused => "refused",
            Kind::Cosigned => "cosigned",
            Kind::Fork => "fork",
            Kind::Withdrawn => "withdrawn",
            Kind::Purged => "purged",
            Kind::Manifest => "manifest",
            Kind::KeyDestroyed => "key-destroyed",
            Kind::BadProof => "bad-proof",
            Kind::Local => "local",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// What happened.
    pub kind: Kind,
    /// When, Unix milliseconds.
    pub time_ms: u64,
    /// The message type (an envelope context such as `liaison/ping/v1`),
    /// or empty.
    pub context: String,
    /// A refusal reason or other kind-specific code; 0 when none.
    pub code: u16,
    /// How many items (selectors evaluated, records purged...); 0 when
    /// not counted.
    pub count: u64,
    /// The counterparty's ed25519 key.
    pub peer: Option<[u8; 32]>,
    /// The message's id.
    pub message_id: Option<MessageId>,
    /// SHA-256 of the exact envelope bytes (or another object's hash, by
    /// kind).
    pub hash: Option<[u8; 32]>,
    /// The case-reference commitment the exchange was made under.
    pub case: Option<[u8; 32]>,
    /// A signed receipt from the counterparty, as received.
    pub receipt: Option<Vec<u8>>,
    /// The local user the entry was made for.
    pub user: Option<String>,
}

impl Entry {
    /// An entry of `kind` at `time_ms` with every optional field empty.
    pub fn new(kind: Kind, time_ms: u64) -> Entry {
        Entry {
            kind,
            time_ms,
            context: String::new(),
            code: 0,
            count: 0,
            peer: None,
            message_id: None,
            hash: None,
            case: None,
            receipt: None,
            user: None,
        }
    }

    /// Whether `name` may be a user name: 1 to [`MAX_USER`] bytes of
    /// lower-case ASCII letters, digits, `.`, `_` and `-`, starting with a
    /// letter or digit.
    pub fn valid_user(name: &str) -> bool {
        !name.is_empty()
            && name.len() <= MAX_USER
            && name
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
    }

    /// The canonical bytes (the Merkle leaf).
    ///
    /// # Panics
    /// Never for entries built by this node: the context and receipt are
    /// within their caps by construction; an oversized one is truncated at
    /// its cap rather than written as something [`Entry::decode`] refuses.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96);
        let flags = [
            (self.peer.is_some(), PEER),
            (self.message_id.is_some(), MESSAGE_ID),
            (self.hash.is_some(), HASH),
            (self.case.is_some(), CASE),
            (self.receipt.is_some(), RECEIPT),
            (self.user.is_some(), USER),
        ]
        .iter()
        .filter(|(set, _)| *set)
        .fold(0u8, |f, (_, bit)| f | bit);
        let context = &self.context.as_bytes()[..self.context.len().min(MAX_CONTEXT)];
        out.push(ENTRY_VERSION);
        out.push(self.kind as u8);
        out.extend_from_slice(&self.time_ms.to_be_bytes());
        out.push(flags);
        out.push(context.len() as u8);
        out.extend_from_slice(context);
        out.extend_from_slice(&self.code.to_be_bytes());
        out.extend_from_slice(&self.count.to_be_bytes());
        if let Some(p) = &self.peer {
            out.extend_from_slice(p);
        }
        if let Some(m) = &self.message_id {
            out.extend_from_slice(&m.0);
        }
        if let Some(h) = &self.hash {
            out.extend_from_slice(h);
        }
        if let Some(c) = &self.case {
            out.extend_from_slice(c);
        }
        if let Some(r) = &self.receipt {
            let r = &r[..r.len().min(RECEIPT_LEN)];
            out.extend_from_slice(&(r.len() as u16).to_be_bytes());
            out.extend_from_slice(r);
        }
        if let Some(u) = &self.user {
            let u = &u.as_bytes()[..u.len().min(MAX_USER)];
            out.push(u.len() as u8);
            out.extend_from_slice(u);
        }
        out
    }

    /// Parses canonical entry bytes.
    pub fn decode(bytes: &[u8]) -> Result<Entry, wire::Error> {
        let mut r = Reader::new(bytes);
        if r.u8("version")? != ENTRY_VERSION {
            return Err(wire::Error::Malformed {
                field: "version",
                problem: "unsupported entry version",
            });
        }
        let kind = Kind::from_code(r.u8("kind")?).ok_or(wire::Error::Malformed {
            field: "kind",
            problem: "unknown entry kind",
        })?;
        let time_ms = r.u64("time")?;
        let flags = r.u8("flags")?;
        if flags & !(PEER | MESSAGE_ID | HASH | CASE | RECEIPT | USER) != 0 {
            return Err(wire::Error::Malformed {
                field: "flags",
                problem: "unknown flag bits",
            });
        }
        let len = r.u8("context")? as usize;
        if len > MAX_CONTEXT {
            return Err(wire::Error::TooLarge {
                field: "context",
                len: len as u64,
                max: MAX_CONTEXT as u64,
            });
        }
        let context = std::str::from_utf8(r.take(len, "context")?)
            .map_err(|_| wire::Error::Malformed {
                field: "context",
                problem: "not UTF-8",
            })?
            .to_owned();
        let code = u16::from_be_bytes(r.array("code")?);
        let count = r.u64("count")?;
        let peer = (flags & PEER != 0).then(|| r.array("peer")).transpose()?;
        let message_id = (flags & MESSAGE_ID != 0)
            .then(|| r.array("message_id").map(MessageId))
            .transpose()?;
        let hash = (flags & HASH != 0).then(|| r.array("hash")).transpose()?;
        let case = (flags & CASE != 0).then(|| r.array("case")).transpose()?;
        let receipt = if flags & RECEIPT != 0 {
            let len = u16::from_be_bytes(r.array("receipt")?) as usize;
            if len > RECEIPT_LEN {
                return Err(wire::Error::TooLarge {
                    field: "receipt",
                    len: len as u64,
                    max: RECEIPT_LEN as u64,
                });
            }
            Some(r.take(len, "receipt")?.to_vec())
        } else {
            None
        };
        let user = if flags & USER != 0 {
            let len = r.u8("user")? as usize;
            let name = std::str::from_utf8(r.take(len, "user")?)
                .ok()
                .filter(|n| Entry::valid_user(n))
                .ok_or(wire::Error::Malformed {
                    field: "user",
                    problem: "not a user name",
                })?;
            Some(name.to_owned())
        } else {
            None
        };
        r.finish()?;
        Ok(Entry {
            kind,
            time_ms,
            context,
            code,
            count,
            peer,
            message_id,
            hash,
            case,
            receipt,
            user,
        })
    }
}
