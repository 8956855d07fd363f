//! The matching messages: what an owner publishes to one peer (a signed
//! manifest, its tag filter in chunks, deltas of new tags) and the
//! evaluation exchange (blinded elements in, evaluated elements and a
//! batch proof out, or a refusal that says why and until when).
//!
//! Each travels as the body of a signed, sealed envelope; the manifest
//! carries its own ed25519 signature too, because it is the owner's
//! commitment to one OPRF key for one peer and epoch: it goes into the
//! owner's audit log and is what a querier holds up as evidence if an
//! answer's proof fails against that key.
//!
//! Layouts are big-endian with a version byte first; every decoder checks
//! lengths against the caps below before taking bytes, and refuses
//! trailing bytes.

use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest as _, Sha256};

use crate::keys::SigningKey;
use crate::oprf::{Element, ELEMENT_LEN, MAX_BATCH, PROOF_LEN};
use crate::selector::SelectorKind;
use crate::wire::{self, Reader};

/// Version byte of every layout here.
pub const VERSION: u8 = 1;
/// Signing context of manifests.
const MANIFEST_DOMAIN: &[u8] = b"liaison/manifest/v1\0";
/// Bytes of filter in one chunk: under the envelope cap with room to spare.
pub const CHUNK_BYTES: usize = 768 * 1024;
/// Chunks in one filter (a 16 M-tag filter is about 67 MiB).
pub const MAX_CHUNKS: u32 = 128;
/// Tag images in one delta.
pub const MAX_DELTA_TAGS: usize = 16 * 1024;
/// Tag images an owner may send one peer in deltas for one epoch, and a
/// querier keeps: past it, new records wait for the next epoch's filter
/// (a peer cannot grow our store without bound through deltas).
pub const MAX_EPOCH_DELTA_TAGS: u64 = 256 * 1024;
/// Longest federation id in a manifest.
const MAX_FEDERATION: usize = 256;
/// Deltas are padded with random tags to a multiple of this, so their size
/// says little about how many records arrived.
pub const DELTA_PAD: usize = 16;

/// The owner's signed statement, for one peer and epoch, of the OPRF key
/// it evaluates that peer's queries with and the filter it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The federation id.
    pub federation: String,
    /// The owner's ed25519 key.
    pub owner: [u8; 32],
    /// The peer it is for.
    pub peer: [u8; 32],
    /// The epoch number (Unix time / epoch length).
    pub epoch: u64,
    /// When this filter was built, Unix ms: a rebuild within the epoch
    /// (same key) replaces an older filter, never the reverse.
    pub version: u64,
    /// When the epoch starts, Unix ms.
    pub starts_ms: u64,
    /// When it ends; queries under this key are answered until then plus
    /// the overlap, and the key is destroyed after.
    pub ends_ms: u64,
    /// The OPRF public key of each selector kind the peer may match, in
    /// code order. One key per kind: an element labelled with one kind is
    /// evaluated under that kind's key, so mislabelling a person key as a
    /// phone (to spend the phone budget) can never produce a tag that
    /// matches.
    pub keys: Vec<(SelectorKind, Element)>,
    /// The filter: its size bucket, byte length, chunk count and SHA-256.
    pub filter: FilterInfo,
}

/// The filter a manifest commits to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilterInfo {
    /// Size bucket (tags it is padded to).
    pub bucket: u32,
    /// Byte length.
    pub len: u32,
    /// Chunks it travels in.
    pub chunks: u32,
    /// SHA-256 of its bytes.
    pub hash: [u8; 32],
}

impl FilterInfo {
    /// The description of `bytes` (a filter's encoding) padded to `bucket`.
    pub fn of(bucket: u32, bytes: &[u8]) -> FilterInfo {
        FilterInfo {
            bucket,
            len: bytes.len() as u32,
            chunks: bytes.len().div_ceil(CHUNK_BYTES).max(1) as u32,
            hash: Sha256::digest(bytes).into(),
        }
    }

    /// Chunk `index` of `bytes`.
    pub fn chunk(bytes: &[u8], index: u32) -> &[u8] {
        let start = (index as usize * CHUNK_BYTES).min(bytes.len());
        let end = (start + CHUNK_BYTES).min(bytes.len());
        &bytes[start..end]
    }
}

impl Manifest {
    /// The OPRF public key for `kind`, if the peer may match it.
    pub fn key(&self, kind: SelectorKind) -> Option<&Element> {
        self.keys.iter().find(|(k, _)| *k == kind).map(|(_, e)| e)
    }
}

/// A manifest with its owner's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedManifest {
    /// What it says.
    pub manifest: Manifest,
    /// The owner's signature over [`Manifest::body`].
    pub signature: [u8; 64],
}

/// Why a manifest, a filter chunk, a delta or an evaluation message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes do not decode.
    #[error(transparent)]
    Decode(#[from] wire::Error),
    /// The signature is not the owner's.
    #[error("the manifest's signature does not verify against its owner's key")]
    Signature,
}

impl Manifest {
    /// The signed bytes: domain ‖ layout.
    pub fn body(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(MANIFEST_DOMAIN);
        out.push(VERSION);
        out.extend_from_slice(&(self.federation.len() as u32).to_be_bytes());
        out.extend_from_slice(self.federation.as_bytes());
        out.extend_from_slice(&self.owner);
        out.extend_from_slice(&self.peer);
        out.extend_from_slice(&self.epoch.to_be_bytes());
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&self.starts_ms.to_be_bytes());
        out.extend_from_slice(&self.ends_ms.to_be_bytes());
        out.push(self.keys.len() as u8);
        for (kind, key) in &self.keys {
            out.push(kind.code());
            out.extend_from_slice(key);
        }
        out.extend_from_slice(&self.filter.bucket.to_be_bytes());
        out.extend_from_slice(&self.filter.len.to_be_bytes());
        out.extend_from_slice(&self.filter.chunks.to_be_bytes());
        out.extend_from_slice(&self.filter.hash);
        out
    }

    /// Signs it.
    pub fn sign(self, owner: &SigningKey) -> SignedManifest {
        let signature = owner.sign(&self.body()).to_bytes();
        SignedManifest {
            manifest: self,
            signature,
        }
    }
}

impl SignedManifest {
    /// Its bytes: the signed body (domain included) ‖ signature.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.manifest.body();
        out.extend_from_slice(&self.signature);
        out
    }

    /// SHA-256 of its bytes: how chunks and the audit log name it.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.to_bytes()).into()
    }

    /// Reads a manifest; [`Self::verify`] checks it.
    pub fn decode(bytes: &[u8]) -> Result<SignedManifest, Error> {
        let mut r = Reader::new(bytes);
        if r.take(MANIFEST_DOMAIN.len(), "domain")? != MANIFEST_DOMAIN {
            return Err(malformed("domain", "not a Liaison manifest"));
        }
        version(&mut r)?;
        let federation = r.bytes32(MAX_FEDERATION, "federation")?;
        let federation = std::str::from_utf8(federation)
            .map_err(|_| malformed("federation", "not UTF-8"))?
            .to_owned();
        let manifest = Manifest {
            federation,
            owner: r.array("owner")?,
            peer: r.array("peer")?,
            epoch: r.u64("epoch")?,
            version: r.u64("version")?,
            starts_ms: r.u64("starts")?,
            ends_ms: r.u64("ends")?,
            keys: {
                let n = r.u8("keys")? as usize;
                if n > SelectorKind::ALL.len() {
                    return Err(malformed("keys", "more keys than selector kinds"));
                }
                let mut keys: Vec<(SelectorKind, Element)> = Vec::with_capacity(n);
                for _ in 0..n {
                    let kind = SelectorKind::from_code(r.u8("keys")?)
                        .ok_or(malformed("keys", "unknown selector kind"))?;
                    if keys.last().is_some_and(|(k, _)| k.code() >= kind.code()) {
                        return Err(malformed("keys", "kinds not in strictly ascending order"));
                    }
                    keys.push((kind, r.array("keys")?));
                }
                keys
            },
            filter: FilterInfo {
                bucket: r.u32("bucket")?,
                len: r.u32("filter length")?,
                chunks: r.u32("chunks")?,
                hash: r.array("filter hash")?,
            },
        };
        let signature = r.array("signature")?;
        r.finish()?;
        let f = &manifest.filter;
        if f.chunks == 0
            || f.chunks > MAX_CHUNKS
            || f.len as usize > f.chunks as usize * CHUNK_BYTES
            || (f.len as usize) <= (f.chunks as usize - 1) * CHUNK_BYTES
        {
            return Err(malformed("chunks", "does not fit the filter length"));
        }
        if manifest.ends_ms <= manifest.starts_ms {
            return Err(malformed("ends", "the epoch ends before it starts"));
        }
        Ok(SignedManifest {
            manifest,
            signature,
        })
    }

    /// Checks the owner's signature (strictly).
    pub fn verify(&self, owner: &VerifyingKey) -> Result<(), Error> {
        if owner.as_bytes() != &self.manifest.owner {
            return Err(Error::Signature);
        }
        owner
            .verify_strict(
                &self.manifest.body(),
                &Signature::from_bytes(&self.signature),
            )
            .map_err(|_| Error::Signature)
    }
}

/// Longest signed manifest carried in a chunk or delta.
const MAX_MANIFEST: usize = 1024;

/// One piece of a filter, with the signed manifest it belongs to (so
/// pieces and deltas can arrive in any order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The manifest whose filter this is part of.
    pub manifest: SignedManifest,
    /// Which piece.
    pub index: u32,
    /// Its bytes.
    pub data: Vec<u8>,
}

impl Chunk {
    /// Its bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(300 + self.data.len());
        out.push(VERSION);
        put_manifest(&mut out, &self.manifest);
        out.extend_from_slice(&self.index.to_be_bytes());
        out.extend_from_slice(&(self.data.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.data);
        out
    }

    /// Reads one.
    pub fn decode(bytes: &[u8]) -> Result<Chunk, Error> {
        let mut r = Reader::new(bytes);
        version(&mut r)?;
        let manifest = SignedManifest::decode(r.bytes32(MAX_MANIFEST, "manifest")?)?;
        let index = r.u32("index")?;
        if index >= MAX_CHUNKS {
            return Err(malformed("index", "over the chunk limit"));
        }
        let data = r.bytes32(CHUNK_BYTES, "data")?.to_vec();
        r.finish()?;
        Ok(Chunk {
            manifest,
            index,
            data,
        })
    }
}

/// One-way images of the tags of records that arrived since the filter
/// (or the last delta) was built, for one peer and epoch.
///
/// Never the tags themselves: a follow-up request names a tag, and only
/// an evaluation within the querier's budget may yield one. The querier
/// tests [`delta_image`] of the tags it evaluated, as it tests the
/// filter's fingerprints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta {
    /// The manifest (epoch and key) the tags were computed under.
    pub manifest: SignedManifest,
    /// Its number within the epoch, from 1.
    pub seq: u64,
    /// [`delta_image`] of each new tag, padded with random values to a
    /// multiple of [`DELTA_PAD`].
    pub images: Vec<[u8; 32]>,
}

/// Domain of [`delta_image`].
const DELTA_IMAGE_DOMAIN: &[u8] = b"liaison/delta-image/v1\0";

/// The one-way image of a tag that deltas carry: SHA-256 of a domain and
/// the tag. Whoever holds a tag can compute its image; nobody can go back
/// from an image to the tag a follow-up request must name.
pub fn delta_image(tag: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(DELTA_IMAGE_DOMAIN);
    h.update(tag);
    h.finalize().into()
}

impl Delta {
    /// Its bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(300 + 32 * self.images.len());
        out.push(VERSION);
        put_manifest(&mut out, &self.manifest);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&(self.images.len() as u32).to_be_bytes());
        for t in &self.images {
            out.extend_from_slice(t);
        }
        out
    }

    /// Reads one.
    pub fn decode(bytes: &[u8]) -> Result<Delta, Error> {
        let mut r = Reader::new(bytes);
        version(&mut r)?;
        let manifest = SignedManifest::decode(r.bytes32(MAX_MANIFEST, "manifest")?)?;
        let seq = r.u64("seq")?;
        let images = arrays(&mut r, MAX_DELTA_TAGS, "images")?;
        r.finish()?;
        Ok(Delta {
            manifest,
            seq,
            images,
        })
    }
}

/// Why the elements are being evaluated: each purpose has its own budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// An analyst's query (`liaison match`).
    Query,
    /// Renewing a watchlist's values for a new epoch.
    Renewal,
}

/// A querier's blinded selectors, for evaluation under one manifest's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluate {
    /// The manifest whose key to use.
    pub manifest: [u8; 32],
    /// Query or watchlist renewal.
    pub purpose: Purpose,
    /// The case-reference commitment the querier logged the request under.
    pub case: Option<[u8; 32]>,
    /// The selector kind of every element: a batch is of one kind (one
    /// key, one proof, one budget).
    pub kind: SelectorKind,
    /// The blinded elements.
    pub elements: Vec<Element>,
}

impl Evaluate {
    /// Its bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(80 + 33 * self.elements.len());
        out.push(VERSION);
        out.extend_from_slice(&self.manifest);
        out.push(match self.purpose {
            Purpose::Query => 0,
            Purpose::Renewal => 1,
        });
        match &self.case {
            Some(c) => {
                out.push(1);
                out.extend_from_slice(c);
            }
            None => out.push(0),
        }
        out.push(self.kind.code());
        out.extend_from_slice(&(self.elements.len() as u32).to_be_bytes());
        for e in &self.elements {
            out.extend_from_slice(e);
        }
        out
    }

    /// Reads one: at most [`MAX_BATCH`] elements of a known kind.
    /// (Whether each element is a valid group element is the OPRF's check.)
    pub fn decode(bytes: &[u8]) -> Result<Evaluate, Error> {
        let mut r = Reader::new(bytes);
        version(&mut r)?;
        let manifest = r.array("manifest")?;
        let purpose = match r.u8("purpose")? {
            0 => Purpose::Query,
            1 => Purpose::Renewal,
            _ => return Err(malformed("purpose", "unknown purpose")),
        };
        let case = match r.u8("case")? {
            0 => None,
            1 => Some(r.array("case")?),
            _ => return Err(malformed("case", "flag is not 0 or 1")),
        };
        let kind = SelectorKind::from_code(r.u8("kind")?)
            .ok_or(malformed("kind", "unknown selector kind"))?;
        let n = r.u32("count")? as usize;
        if n == 0 || n > MAX_BATCH {
            return Err(wire::Error::TooLarge {
                field: "count",
                len: n as u64,
                max: MAX_BATCH as u64,
            }
            .into());
        }
        let mut elements = Vec::with_capacity(n);
        for _ in 0..n {
            elements.push(r.array::<ELEMENT_LEN>("elements")?);
        }
        r.finish()?;
        Ok(Evaluate {
            manifest,
            purpose,
            case,
            kind,
            elements,
        })
    }
}

/// Why an owner did not evaluate a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decline {
    /// The peer's budget for a kind is spent until `renews_ms`.
    Budget {
        /// The kind over budget.
        kind: SelectorKind,
        /// When the window renews, Unix ms.
        renews_ms: u64,
    },
    /// The manifest named is not one this owner holds a key for (unknown,
    /// or its key is destroyed).
    UnknownManifest,
    /// A kind the peer may not match.
    NotAllowed {
        /// The kind.
        kind: SelectorKind,
    },
    /// Element `index` is not a valid group element.
    InvalidElement {
        /// Its position.
        index: u32,
    },
}

impl Decline {
    /// Its code in the owner's audit entry (never 0).
    pub fn code(&self) -> u16 {
        match self {
            Decline::Budget { .. } => 1,
            Decline::UnknownManifest => 2,
            Decline::NotAllowed { .. } => 3,
            Decline::InvalidElement { .. } => 4,
        }
    }
}

/// Added to an evaluation's audit code when its purpose was a renewal.
pub const RENEWAL_CODE: u16 = 0x100;

/// The code of the owner's `received` audit entry for an evaluation
/// request: 0 if it was evaluated, else the [`Decline::code`]; plus
/// [`RENEWAL_CODE`] if it was labelled a watchlist renewal, so an auditor
/// sees the purpose the querier claimed.
pub fn evaluation_code(purpose: Purpose, declined: Option<&Decline>) -> u16 {
    let outcome = declined.map_or(0, Decline::code);
    match purpose {
        Purpose::Query => outcome,
        Purpose::Renewal => RENEWAL_CODE | outcome,
    }
}

/// Words for an evaluation's audit code (see [`evaluation_code`]).
pub fn describe_evaluation_code(code: u16) -> String {
    let purpose = if code & RENEWAL_CODE != 0 {
        "renewal"
    } else {
        "query"
    };
    let outcome = match code & 0xFF {
        0 => "evaluated",
        1 => "declined: budget",
        2 => "declined: unknown manifest",
        3 => "declined: kind not shared",
        4 => "declined: invalid element",
        _ => "unknown outcome",
    };
    format!("{purpose}, {outcome}")
}

impl std::fmt::Display for Decline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Decline::Budget { kind, renews_ms } => write!(
                f,
                "the {kind} budget is spent; it renews at {}",
                format_ms(*renews_ms)
            ),
            Decline::UnknownManifest => {
                f.write_str("no key for that manifest (unknown, or its epoch is over)")
            }
            Decline::NotAllowed { kind } => write!(f, "{kind} selectors are not shared with you"),
            Decline::InvalidElement { index } => {
                write!(f, "element {index} is not a valid group element")
            }
        }
    }
}

/// The owner's answer to one [`Evaluate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The message id of the request it answers.
    pub request: [u8; 16],
    /// The evaluation, or why not.
    pub result: Result<Evaluated, Decline>,
}

/// Evaluated elements and one proof for the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluated {
    /// One per blinded element, in order.
    pub elements: Vec<Element>,
    /// The DLEQ batch proof.
    pub proof: [u8; PROOF_LEN],
}

impl Answer {
    /// Its bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96);
        out.push(VERSION);
        out.extend_from_slice(&self.request);
        match &self.result {
            Ok(e) => {
                out.push(0);
                out.extend_from_slice(&(e.elements.len() as u32).to_be_bytes());
                for x in &e.elements {
                    out.extend_from_slice(x);
                }
                out.extend_from_slice(&e.proof);
            }
            Err(Decline::Budget { kind, renews_ms }) => {
                out.extend_from_slice(&[1, kind.code()]);
                out.extend_from_slice(&renews_ms.to_be_bytes());
            }
            Err(Decline::UnknownManifest) => out.push(2),
            Err(Decline::NotAllowed { kind }) => out.extend_from_slice(&[3, kind.code()]),
            Err(Decline::InvalidElement { index }) => {
                out.push(4);
                out.extend_from_slice(&index.to_be_bytes());
            }
        }
        out
    }

    /// Reads one.
    pub fn decode(bytes: &[u8]) -> Result<Answer, Error> {
        let mut r = Reader::new(bytes);
        version(&mut r)?;
        let request = r.array("request")?;
        let kind = |r: &mut Reader<'_>| {
            SelectorKind::from_code(r.u8("kind")?).ok_or(malformed("kind", "unknown selector kind"))
        };
        let result = match r.u8("status")? {
            0 => {
                let elements = arrays(&mut r, MAX_BATCH, "elements")?;
                if elements.is_empty() {
                    return Err(malformed("elements", "an empty evaluation"));
                }
                Ok(Evaluated {
                    elements,
                    proof: r.array("proof")?,
                })
            }
            1 => Err(Decline::Budget {
                kind: kind(&mut r)?,
                renews_ms: r.u64("renews")?,
            }),
            2 => Err(Decline::UnknownManifest),
            3 => Err(Decline::NotAllowed {
                kind: kind(&mut r)?,
            }),
            4 => Err(Decline::InvalidElement {
                index: r.u32("index")?,
            }),
            _ => return Err(malformed("status", "unknown answer status")),
        };
        r.finish()?;
        Ok(Answer { request, result })
    }
}

/// Unix ms as RFC 3339 UTC (or the number, if out of range).
pub fn format_ms(ms: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{ms} ms"))
}

fn put_manifest(out: &mut Vec<u8>, m: &SignedManifest) {
    let bytes = m.to_bytes();
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(&bytes);
}

fn version(r: &mut Reader<'_>) -> Result<(), Error> {
    if r.u8("version")? != VERSION {
        return Err(malformed("version", "unsupported matching message version"));
    }
    Ok(())
}

fn malformed(field: &'static str, problem: &'static str) -> Error {
    Error::Decode(wire::Error::Malformed { field, problem })
}

/// A `u32` count (at most `max`) of 32-byte values.
fn arrays(r: &mut Reader<'_>, max: usize, field: &'static str) -> Result<Vec<[u8; 32]>, Error> {
    let n = r.u32(field)? as usize;
    if n > max {
        return Err(wire::Error::TooLarge {
            field,
            len: n as u64,
            max: max as u64,
        }
        .into());
    }
    let raw = r.take(n * 32, field)?;
    Ok(raw
        .chunks_exact(32)
        .map(|c| {
            let mut a = [0u8; 32];
            a.copy_from_slice(c);
            a
        })
        .collect())
}

#[cfg(test)]
mod tests;
