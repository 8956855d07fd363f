//! Checkpoints, in the C2SP `tlog-checkpoint` form, signed as C2SP signed
//! notes, and witness cosignatures (C2SP `tlog-cosignature`, v1).
//!
//! A checkpoint is three lines: the log's origin, the tree size in
//! decimal, the root hash in base64. The log's signature and each
//! witness's cosignature follow a blank line, one per line:
//!
//! ```text
//! liaison/kg-kz-tj/5d1a…e0
//! 1042
//! 3q2+7w…=
//!
//! — liaison/kg-kz-tj/5d1a…e0 AbCd…
//! — liaison/kg-kz-tj/91f0…7c EfGh…
//! ```
//!
//! The log signs the body with ed25519 (key id `SHA-256(name ‖ "\n" ‖
//! 0x01 ‖ key)[..4]`). A witness signs `"cosignature/v1\ntime <t>\n" ‖
//! body` (key id with algorithm byte 0x04), and its line carries the
//! timestamp: `key id ‖ t (u64) ‖ signature`. Key names are origins, so
//! each agency's key name is the origin of its own log.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};

use super::tree::Hash;
use crate::keys::SigningKey;

/// Largest signed note accepted.
pub const MAX_NOTE: usize = 16 * 1024;
/// Most signature lines accepted on one note.
pub const MAX_SIGNATURES: usize = 64;

const ALG_ED25519: u8 = 0x01;
const ALG_COSIGNATURE_V1: u8 = 0x04;

/// Why a note could not be read or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// Not a checkpoint of the expected form.
    #[error("malformed checkpoint: {0}")]
    Malformed(&'static str),
    /// No signature by the expected key.
    #[error("no signature by {name}")]
    Unsigned {
        /// The key name looked for.
        name: String,
    },
    /// The signature by the expected key does not verify.
    #[error("the signature by {name} does not verify")]
    BadSignature {
        /// The key name.
        name: String,
    },
}

/// The origin line of an agency's log: unique per federation and key.
pub fn origin(federation: &str, key: &VerifyingKey) -> String {
    let hex: String = key.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("liaison/{federation}/{hex}")
}

/// A log's state: its size and root, under its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Which log.
    pub origin: String,
    /// Number of entries.
    pub size: u64,
    /// The RFC 6962 root of those entries.
    pub root: Hash,
}

/// One signature line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The signer's key name.
    pub name: String,
    /// The bytes after the name, base64-decoded: key id, then (for a
    /// cosignature) timestamp, then signature.
    pub bytes: Vec<u8>,
}

/// A checkpoint with its signature lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// What is signed.
    pub checkpoint: Checkpoint,
    /// The log's signature and witnesses' cosignatures, in order.
    pub signatures: Vec<NoteSignature>,
}

fn key_id(name: &str, alg: u8, key: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([alg]);
    h.update(key.as_bytes());
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

fn cosigned_message(body: &str, timestamp: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{body}").into_bytes()
}

impl Checkpoint {
    /// The note body: origin, size and root, each followed by a newline.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        )
    }

    /// Signs as the log, under key name `origin`.
    pub fn sign(&self, signer: &SigningKey) -> SignedCheckpoint {
        let key = signer.verifying_key();
        let mut bytes = key_id(&self.origin, ALG_ED25519, &key).to_vec();
        bytes.extend_from_slice(&signer.sign(self.body().as_bytes()).to_bytes());
        SignedCheckpoint {
            checkpoint: self.clone(),
            signatures: vec![NoteSignature {
                name: self.origin.clone(),
                bytes,
            }],
        }
    }
}

impl SignedCheckpoint {
    /// The note's text.
    pub fn to_text(&self) -> String {
        let mut out = self.checkpoint.body();
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&format!(
                "\u{2014} {} {}\n",
                s.name,
                STANDARD.encode(&s.bytes)
            ));
        }
        out
    }

    /// Parses a note's text (form only: see the `verify` methods).
    pub fn parse(text: &[u8]) -> Result<SignedCheckpoint, NoteError> {
        use NoteError::Malformed;
        if text.len() > MAX_NOTE {
            return Err(Malformed("longer than 16 KiB"));
        }
        let text = std::str::from_utf8(text).map_err(|_| Malformed("not UTF-8"))?;
        let (body, sigs) = text
            .split_once("\n\n")
            .ok_or(Malformed("no blank line before the signatures"))?;
        let mut lines = body.split('\n');
        let origin = lines
            .next()
            .filter(|o| valid_name(o))
            .ok_or(Malformed("origin line"))?;
        let size = lines
            .next()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .filter(|s| *s == "0" || !s.starts_with('0'))
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or(Malformed("size line is not a decimal number"))?;
        let root: Hash = lines
            .next()
            .and_then(|r| STANDARD.decode(r).ok())
            .and_then(|r| r.try_into().ok())
            .ok_or(Malformed("root line is not 32 bytes of base64"))?;
        if lines.next().is_some() {
            return Err(Malformed("unexpected lines after the root"));
        }
        let checkpoint = Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
        };
        if checkpoint.body() != format!("{body}\n") {
            // Canonical form only: one text per checkpoint.
            return Err(Malformed("root is not canonical base64"));
        }
        let sigs = sigs
            .strip_suffix('\n')
            .ok_or(Malformed("signature lines must end with a newline"))?;
        let mut signatures = Vec::new();
        for line in sigs.split('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(Malformed("too many signature lines"));
            }
            let rest = line
                .strip_prefix("\u{2014} ")
                .ok_or(Malformed("a signature line does not start with an em dash"))?;
            let (name, b64) = rest
                .split_once(' ')
                .ok_or(Malformed("a signature line has no signature"))?;
            if !valid_name(name) {
                return Err(Malformed("a signature line's key name"));
            }
            let bytes = STANDARD
                .decode(b64)
                .map_err(|_| Malformed("a signature is not base64"))?;
            if bytes.len() < 4 {
                return Err(Malformed("a signature is too short"));
            }
            signatures.push(NoteSignature {
                name: name.to_owned(),
                bytes,
            });
        }
        Ok(SignedCheckpoint {
            checkpoint,
            signatures,
        })
    }

    /// Checks the log's signature: by `key`, under the checkpoint's origin
    /// as key name.
    pub fn verify_log(&self, key: &VerifyingKey) -> Result<(), NoteError> {
        let name = &self.checkpoint.origin;
        let id = key_id(name, ALG_ED25519, key);
        let sig = self
            .signatures
            .iter()
            .find(|s| &s.name == name && s.bytes.len() == 68 && s.bytes[..4] == id)
            .ok_or_else(|| NoteError::Unsigned { name: name.clone() })?;
        let signature = Signature::from_slice(&sig.bytes[4..])
            .map_err(|_| NoteError::BadSignature { name: name.clone() })?;
        key.verify_strict(self.checkpoint.body().as_bytes(), &signature)
            .map_err(|_| NoteError::BadSignature { name: name.clone() })
    }

    /// Adds `witness`'s cosignature, made at `timestamp` (Unix seconds),
    /// under key name `name`. Returns the line added.
    pub fn cosign(&mut self, name: &str, witness: &SigningKey, timestamp: u64) -> NoteSignature {
        let key = witness.verifying_key();
        let mut bytes = key_id(name, ALG_COSIGNATURE_V1, &key).to_vec();
        bytes.extend_from_slice(&timestamp.to_be_bytes());
        let message = cosigned_message(&self.checkpoint.body(), timestamp);
        bytes.extend_from_slice(&witness.sign(&message).to_bytes());
        let line = NoteSignature {
            name: name.to_owned(),
            bytes,
        };
        self.signatures.retain(|s| s.name != name);
        self.signatures.push(line.clone());
        line
    }

    /// Checks the cosignature by `key` under key name `name`, returning
    /// its timestamp.
    pub fn verify_cosignature(&self, name: &str, key: &VerifyingKey) -> Result<u64, NoteError> {
        self.verified_cosignature(name, key).map(|(t, _)| t)
    }

    /// The cosignature line by `key` under key name `name` that verifies,
    /// with its timestamp. Lines under the same name that do not verify
    /// are passed over.
    pub fn verified_cosignature(
        &self,
        name: &str,
        key: &VerifyingKey,
    ) -> Result<(u64, &NoteSignature), NoteError> {
        let id = key_id(name, ALG_COSIGNATURE_V1, key);
        let body = self.checkpoint.body();
        let mut found = false;
        for sig in self
            .signatures
            .iter()
            .filter(|s| s.name == name && s.bytes.len() == 76 && s.bytes[..4] == id)
        {
            found = true;
            let mut t = [0u8; 8];
            t.copy_from_slice(&sig.bytes[4..12]);
            let timestamp = u64::from_be_bytes(t);
            let Ok(signature) = Signature::from_slice(&sig.bytes[12..]) else {
                continue;
            };
            if key
                .verify_strict(&cosigned_message(&body, timestamp), &signature)
                .is_ok()
            {
                return Ok((timestamp, sig));
            }
        }
        Err(if found {
            NoteError::BadSignature {
                name: name.to_owned(),
            }
        } else {
            NoteError::Unsigned {
                name: name.to_owned(),
            }
        })
    }

    /// The signature line by key name `name`, if any.
    pub fn signature_by(&self, name: &str) -> Option<&NoteSignature> {
        self.signatures.iter().find(|s| s.name == name)
    }
}

/// What a log sends each witness: its newest checkpoint and a consistency
/// proof from the tree size that witness last cosigned (`from`, 0 for
/// none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    /// The log's signed checkpoint.
    pub checkpoint: SignedCheckpoint,
    /// The size the proof starts from.
    pub from: u64,
    /// `PROOF(from, D[size])`.
    pub proof: Vec<Hash>,
}

/// Most hashes in a consistency proof (2 × 63 levels, with room).
pub const MAX_PROOF: usize = 128;

impl Push {
    /// Wire form: note length u32 ‖ note text ‖ from u64 ‖ count u8 ‖ hashes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let text = self.checkpoint.to_text();
        let mut out = Vec::with_capacity(text.len() + 13 + 32 * self.proof.len());
        out.extend_from_slice(&(text.len() as u32).to_be_bytes());
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(&self.from.to_be_bytes());
        out.push(self.proof.len().min(MAX_PROOF) as u8);
        self.proof
            .iter()
            .take(MAX_PROOF)
            .for_each(|h| out.extend_from_slice(h));
        out
    }

    /// Parses a push from a peer (form only).
    pub fn decode(bytes: &[u8]) -> Result<Push, crate::wire::Error> {
        let mut r = crate::wire::Reader::new(bytes);
        let text = r.bytes32(MAX_NOTE, "checkpoint")?;
        let checkpoint =
            SignedCheckpoint::parse(text).map_err(|_| crate::wire::Error::Malformed {
                field: "checkpoint",
                problem: "not a signed checkpoint",
            })?;
        let from = r.u64("from")?;
        let n = r.u8("proof")? as usize;
        if n > MAX_PROOF {
            return Err(crate::wire::Error::TooLarge {
                field: "proof",
                len: n as u64,
                max: MAX_PROOF as u64,
            });
        }
        let proof = (0..n)
            .map(|_| r.array("proof"))
            .collect::<Result<Vec<Hash>, _>>()?;
        r.finish()?;
        Ok(Push {
            checkpoint,
            from,
            proof,
        })
    }
}
