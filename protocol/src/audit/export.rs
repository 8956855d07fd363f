//! The audit export: a self-contained, signed file that proves a range of
//! an agency's log to someone with no node.
//!
//! Layout (integers big-endian; `str16` is a u16 length and UTF-8, `bytes32`
//! a u32 length and bytes; `hashes` a u8 count and that many 32-byte
//! hashes):
//!
//! ```text
//! "liaison-audit-export\n" ‖ version (1)
//! agency key str16 ‖ agency name str16 ‖ federation str16
//! exported at, Unix ms (8) ‖ first index (8) ‖ end index (8)
//! checkpoint bytes32                      -- signed by the agency, size N ≥ end
//! witnesses (1), each: witness key str16 ‖ cosigned checkpoint bytes32
//!                      ‖ consistency proof from its size to N: hashes
//! left: hashes                            -- the perfect subtrees covering [0, first)
//! entries first..end, each bytes32        -- canonical entry bytes
//! right: hashes                           -- the perfect subtrees covering [end, N)
//! signature (64)                          -- ed25519 by the agency over
//!                                            SHA-256("liaison/audit-export/v1\n" ‖ all the above)
//! ```
//!
//! The verifier streams it: the entries, with the left and right subtrees,
//! must hash to the signed checkpoint's root, so a changed, dropped, added
//! or reordered entry is detected; each witness's cosignature and proof
//! show that the witness saw a prefix of the same tree.

use std::io::{self, Read, Write};

use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};

use super::entry::{Entry, MAX_ENTRY};
use super::note::{self, SignedCheckpoint, MAX_NOTE};
use super::tree::{self, cover, Frontier, Hash};
use crate::keys::{AgencyKey, SigningKey};

const MAGIC: &[u8] = b"liaison-audit-export\n";
const VERSION: u8 = 1;
const SIGNATURE_CONTEXT: &[u8] = b"liaison/audit-export/v1\n";
const MAX_STR: usize = 1024;
const MAX_WITNESSES: usize = 64;

/// Who exported what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The exporting agency.
    pub agency: AgencyKey,
    /// Its name in its own config.
    pub name: String,
    /// Its federation.
    pub federation: String,
    /// When the export was made.
    pub exported_at_ms: u64,
    /// First entry index in the file.
    pub first: u64,
    /// One past the last entry index in the file.
    pub end: u64,
}

/// A witness's cosigned checkpoint and the proof that it is a prefix of
/// the exported tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witnessed {
    /// The witness.
    pub witness: AgencyKey,
    /// A checkpoint of this log carrying the witness's cosignature.
    pub checkpoint: SignedCheckpoint,
    /// Consistency proof from its size to the exported checkpoint's.
    pub proof: Vec<Hash>,
}

/// Writes an export, hashing as it goes.
#[derive(Debug)]
pub struct Writer<W: Write> {
    out: W,
    hash: Sha256,
    next: u64,
    end: u64,
}

impl<W: Write> Writer<W> {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.hash.update(bytes);
        self.out.write_all(bytes)
    }

    fn put_str16(&mut self, s: &str) -> io::Result<()> {
        let s = &s.as_bytes()[..s.len().min(MAX_STR)];
        self.put(&(s.len() as u16).to_be_bytes())?;
        self.put(s)
    }

    fn put_bytes32(&mut self, b: &[u8]) -> io::Result<()> {
        self.put(&(b.len() as u32).to_be_bytes())?;
        self.put(b)
    }

    fn put_hashes(&mut self, hashes: &[Hash]) -> io::Result<()> {
        let n = u8::try_from(hashes.len())
            .map_err(|_| io::Error::other("more than 255 hashes in one list"))?;
        self.put(&[n])?;
        hashes.iter().try_for_each(|h| self.put(h))
    }

    /// Starts an export: the header, the signed checkpoint (size at least
    /// `header.end`), the witnesses, and the subtrees left of `first`.
    pub fn begin(
        out: W,
        header: &Header,
        checkpoint: &SignedCheckpoint,
        witnesses: &[Witnessed],
        left: &[Hash],
    ) -> io::Result<Writer<W>> {
        let mut w = Writer {
            out,
            hash: Sha256::new_with_prefix(SIGNATURE_CONTEXT),
            next: header.first,
            end: header.end,
        };
        w.put(MAGIC)?;
        w.put(&[VERSION])?;
        w.put_str16(&header.agency.to_string())?;
        w.put_str16(&header.name)?;
        w.put_str16(&header.federation)?;
        w.put(&header.exported_at_ms.to_be_bytes())?;
        w.put(&header.first.to_be_bytes())?;
        w.put(&header.end.to_be_bytes())?;
        w.put_bytes32(checkpoint.to_text().as_bytes())?;
        w.put(&[witnesses.len().min(MAX_WITNESSES) as u8])?;
        for wi in witnesses.iter().take(MAX_WITNESSES) {
            w.put_str16(&wi.witness.to_string())?;
            w.put_bytes32(wi.checkpoint.to_text().as_bytes())?;
            w.put_hashes(&wi.proof)?;
        }
        w.put_hashes(left)?;
        Ok(w)
    }

    /// Adds the next entry's canonical bytes.
    pub fn entry(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.next >= self.end {
            return Err(io::Error::other("more entries than the header announced"));
        }
        self.next += 1;
        self.put_bytes32(bytes)
    }

    /// Ends the export with the subtrees right of `end` and the agency's
    /// signature; returns the output.
    pub fn finish(mut self, right: &[Hash], signer: &SigningKey) -> io::Result<W> {
        if self.next != self.end {
            return Err(io::Error::other("fewer entries than the header announced"));
        }
        self.put_hashes(right)?;
        let digest = self.hash.clone().finalize();
        let signature = signer.sign(&digest).to_bytes();
        self.out.write_all(&signature)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Where in an export a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// The header's `field`.
    Header(&'static str),
    /// The signed checkpoint.
    Checkpoint,
    /// Witness number `n` (from 0).
    Witness(usize),
    /// The subtrees before the first entry.
    Left,
    /// The entry at log index `index`, field `field`.
    Entry {
        /// Log index.
        index: u64,
        /// The field, or `entry` for the whole.
        field: &'static str,
    },
    /// The subtrees after the last entry.
    Right,
    /// The tree as a whole.
    Tree,
    /// The file's signature.
    Signature,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Header(field) => write!(f, "header field `{field}`"),
            Place::Checkpoint => f.write_str("the signed checkpoint"),
            Place::Witness(n) => write!(f, "witness #{n}"),
            Place::Left => f.write_str("the subtrees before the first entry"),
            Place::Entry { index, field } => write!(f, "entry {index}, field `{field}`"),
            Place::Right => f.write_str("the subtrees after the last entry"),
            Place::Tree => f.write_str("the tree"),
            Place::Signature => f.write_str("the file signature"),
        }
    }
}

/// One thing that did not check out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place} (byte {offset}): {problem}")]
pub struct Problem {
    /// Where.
    pub place: Place,
    /// Byte offset in the file where the failing item starts.
    pub offset: u64,
    /// What is wrong.
    pub problem: String,
}

/// What a verified export establishes.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The header.
    pub header: Header,
    /// The signed checkpoint.
    pub checkpoint: SignedCheckpoint,
    /// Each witness and the tree size it cosigned, for those that verified.
    pub witnesses: Vec<(AgencyKey, u64)>,
}

/// The outcome: what verified, and every problem found. `problems` empty
/// means the whole file checked out; the verifier stops at the first
/// problem that leaves the rest unreadable.
#[derive(Debug, Clone)]
pub struct Report {
    /// Filled when the header could be read.
    pub verified: Option<Verified>,
    /// Entries read (whether or not the tree then matched).
    pub entries_read: u64,
    /// Everything that failed.
    pub problems: Vec<Problem>,
}

struct Source<R: Read> {
    inner: R,
    hash: Sha256,
    offset: u64,
}

impl<R: Read> Source<R> {
    fn take(&mut self, n: usize, place: &Place) -> Result<Vec<u8>, Problem> {
        let mut buf = vec![0u8; n];
        self.inner.read_exact(&mut buf).map_err(|e| Problem {
            place: place.clone(),
            offset: self.offset,
            problem: if e.kind() == io::ErrorKind::UnexpectedEof {
                "the file ends here (truncated)".into()
            } else {
                format!("reading: {e}")
            },
        })?;
        self.hash.update(&buf);
        self.offset += n as u64;
        Ok(buf)
    }

    fn u64(&mut self, place: &Place) -> Result<u64, Problem> {
        let b = self.take(8, place)?;
        Ok(u64::from_be_bytes(b.try_into().expect("took 8 bytes")))
    }

    fn sized(&mut self, width: usize, max: usize, place: &Place) -> Result<Vec<u8>, Problem> {
        let start = self.offset;
        let b = self.take(width, place)?;
        let len = b.iter().fold(0u64, |n, &x| n << 8 | u64::from(x));
        if len > max as u64 {
            return Err(Problem {
                place: place.clone(),
                offset: start,
                problem: format!("length {len} is over the limit of {max}"),
            });
        }
        self.take(len as usize, place)
    }

    fn str16(&mut self, place: &Place) -> Result<String, Problem> {
        let start = self.offset;
        String::from_utf8(self.sized(2, MAX_STR, place)?).map_err(|_| Problem {
            place: place.clone(),
            offset: start,
            problem: "not UTF-8".into(),
        })
    }

    fn hashes(&mut self, place: &Place) -> Result<Vec<Hash>, Problem> {
        let n = self.take(1, place)?[0] as usize;
        (0..n)
            .map(|_| {
                self.take(32, place)
                    .map(|b| b.try_into().expect("took 32 bytes"))
            })
            .collect()
    }

    fn problem(&self, place: Place, problem: impl Into<String>) -> Problem {
        Problem {
            place,
            offset: self.offset,
            problem: problem.into(),
        }
    }
}

/// Verifies an export read from `input`, calling `visit` with each entry
/// in log order. If `expect` is given, the export must be by that agency.
///
/// Never reports success on what it could not check: any problem, and any
/// entry it could not read, is in [`Report::problems`].
pub fn verify(
    input: impl Read,
    expect: Option<&VerifyingKey>,
    mut visit: impl FnMut(u64, &Entry),
) -> Report {
    let mut report = Report {
        verified: None,
        entries_read: 0,
        problems: Vec::new(),
    };
    let mut src = Source {
        inner: input,
        hash: Sha256::new_with_prefix(SIGNATURE_CONTEXT),
        offset: 0,
    };
    if let Err(p) = verify_inner(&mut src, expect, &mut visit, &mut report) {
        report.problems.push(p);
    }
    report
}

fn verify_inner<R: Read>(
    src: &mut Source<R>,
    expect: Option<&VerifyingKey>,
    visit: &mut impl FnMut(u64, &Entry),
    report: &mut Report,
) -> Result<(), Problem> {
    let magic = src.take(MAGIC.len(), &Place::Header("magic"))?;
    if magic != MAGIC {
        return Err(src.problem(Place::Header("magic"), "not a Liaison audit export"));
    }
    if src.take(1, &Place::Header("version"))?[0] != VERSION {
        return Err(src.problem(Place::Header("version"), "unsupported export version"));
    }
    let agency: AgencyKey = src
        .str16(&Place::Header("agency"))?
        .parse()
        .map_err(|e| src.problem(Place::Header("agency"), format!("{e}")))?;
    if let Some(expect) = expect {
        if agency.verifying_key() != expect {
            return Err(src.problem(
                Place::Header("agency"),
                format!(
                    "the export is by agency {}, not the one expected",
                    agency.fingerprint()
                ),
            ));
        }
    }
    let name = src.str16(&Place::Header("name"))?;
    let federation = src.str16(&Place::Header("federation"))?;
    let exported_at_ms = src.u64(&Place::Header("exported_at"))?;
    let first = src.u64(&Place::Header("first"))?;
    let end = src.u64(&Place::Header("end"))?;
    if first > end {
        return Err(src.problem(Place::Header("end"), "end is before first"));
    }
    let header = Header {
        agency: agency.clone(),
        name,
        federation: federation.clone(),
        exported_at_ms,
        first,
        end,
    };

    let at = src.offset;
    let text = src.sized(4, MAX_NOTE, &Place::Checkpoint)?;
    let checkpoint = SignedCheckpoint::parse(&text).map_err(|e| Problem {
        place: Place::Checkpoint,
        offset: at,
        problem: e.to_string(),
    })?;
    let key = agency.verifying_key();
    let origin = note::origin(&federation, key);
    let cp = &checkpoint.checkpoint;
    let mut problems = Vec::new();
    if cp.origin != origin {
        problems.push(Problem {
            place: Place::Checkpoint,
            offset: at,
            problem: format!("origin is {}, but this agency's log is {origin}", cp.origin),
        });
    }
    if let Err(e) = checkpoint.verify_log(key) {
        problems.push(Problem {
            place: Place::Checkpoint,
            offset: at,
            problem: e.to_string(),
        });
    }
    if cp.size < end || cp.size > tree::MAX_SIZE {
        return Err(Problem {
            place: Place::Checkpoint,
            offset: at,
            problem: format!("tree size {} does not cover entries up to {end}", cp.size),
        });
    }

    let n = src.take(1, &Place::Header("witnesses"))?[0] as usize;
    let mut witnesses = Vec::new();
    for i in 0..n {
        let place = Place::Witness(i);
        let at = src.offset;
        let witness: AgencyKey = src
            .str16(&place)?
            .parse()
            .map_err(|e| src.problem(place.clone(), format!("{e}")))?;
        let text = src.sized(4, MAX_NOTE, &place)?;
        let proof = src.hashes(&place)?;
        let fail = |problem: String| Problem {
            place: Place::Witness(i),
            offset: at,
            problem,
        };
        let witnessed = SignedCheckpoint::parse(&text)
            .map_err(|e| fail(e.to_string()))
            .and_then(|w| {
                let wname = note::origin(&federation, witness.verifying_key());
                w.verify_log(key).map_err(|e| fail(e.to_string()))?;
                w.verify_cosignature(&wname, witness.verifying_key())
                    .map_err(|e| fail(format!("cosignature: {e}")))?;
                let c = &w.checkpoint;
                if c.origin != cp.origin {
                    return Err(fail("cosigned a checkpoint of another log".into()));
                }
                tree::verify_consistency(c.size, &c.root, cp.size, &cp.root, &proof).map_err(
                    |_| {
                        fail(format!(
                            "the tree it cosigned (size {}) is not a prefix of this one (size {})",
                            c.size, cp.size
                        ))
                    },
                )?;
                Ok(c.size)
            });
        match witnessed {
            Ok(size) => witnesses.push((witness, size)),
            Err(p) => problems.push(p),
        }
    }

    let at = src.offset;
    let left = src.hashes(&Place::Left)?;
    let want = cover(0, first);
    if left.len() != want.len() {
        return Err(Problem {
            place: Place::Left,
            offset: at,
            problem: format!("{} subtrees, expected {}", left.len(), want.len()),
        });
    }
    let mut frontier = Frontier::default();
    for ((level, _), hash) in want.iter().zip(&left) {
        frontier
            .push_subtree(*level, *hash)
            .expect("the cover of [0, first) is aligned");
    }
    report.verified = Some(Verified {
        header,
        checkpoint: checkpoint.clone(),
        witnesses,
    });

    for index in first..end {
        let place = Place::Entry {
            index,
            field: "entry",
        };
        let at = src.offset;
        let bytes = src.sized(4, MAX_ENTRY, &place)?;
        report.entries_read += 1;
        match Entry::decode(&bytes) {
            Ok(entry) => visit(index, &entry),
            Err(e) => problems.push(Problem {
                place: Place::Entry {
                    index,
                    field: e.field(),
                },
                offset: at,
                problem: e.to_string(),
            }),
        }
        frontier.push(tree::leaf_hash(&bytes));
    }

    let at = src.offset;
    let right = src.hashes(&Place::Right)?;
    let want = cover(end, cp.size);
    if right.len() != want.len() {
        return Err(Problem {
            place: Place::Right,
            offset: at,
            problem: format!("{} subtrees, expected {}", right.len(), want.len()),
        });
    }
    for ((level, _), hash) in want.iter().zip(&right) {
        frontier
            .push_subtree(*level, *hash)
            .expect("the cover of [end, size) is aligned");
    }
    if frontier.root() != cp.root {
        problems.push(Problem {
            place: Place::Tree,
            offset: at,
            problem: format!(
                "entries {first}..{end} do not hash to the signed root of size {}: \
                 an entry was changed, removed, added or reordered",
                cp.size
            ),
        });
    }

    let digest = src.hash.clone().finalize();
    let at = src.offset;
    let mut sig = [0u8; 64];
    src.inner.read_exact(&mut sig).map_err(|_| Problem {
        place: Place::Signature,
        offset: at,
        problem: "the file ends before its signature (truncated)".into(),
    })?;
    if key
        .verify_strict(&digest, &Signature::from_bytes(&sig))
        .is_err()
    {
        problems.push(Problem {
            place: Place::Signature,
            offset: at,
            problem: "the agency's signature over the file does not verify".into(),
        });
    }
    let mut extra = [0u8; 1];
    if matches!(src.inner.read(&mut extra), Ok(n) if n > 0) {
        problems.push(Problem {
            place: Place::Signature,
            offset: at + 64,
            problem: "bytes follow the signature".into(),
        });
    }
    report.problems.extend(problems);
    Ok(())
}
