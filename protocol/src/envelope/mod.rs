//! Envelopes: every application message between two nodes, sealed to its
//! recipient and signed by its sender.
//!
//! Sending: [`seal`] draws a random salt, seals `salt ‖ body` to the
//! recipient's X25519 key with HPKE (RFC 9180 base mode, DHKEM(X25519),
//! HKDF-SHA256, ChaCha20-Poly1305), with the clear header as associated
//! data, and signs the whole encoding with ed25519.
//!
//! Receiving: [`Envelope::decode`] parses bytes under a size cap, then
//! [`Envelope::open`] checks, in this order, version, recipient, sender
//! trust, signature (`verify_strict`), time window and replay, and only
//! then decrypts. Each refusal is its own [`OpenError`] variant.
//!
//! The signature covers the ciphertext and a *commitment* to the body,
//! `SHA-256("liaison/body/v1" ‖ salt ‖ body)`, so an auditor can check who
//! sent what without reading it, and either party can later prove the
//! content by revealing salt and body ([`Envelope::verify_reveal`]). The
//! salt (inside the ciphertext) is what keeps a short body (a ping, a
//! yes/no answer) from being confirmed by guessing: DESIGN.md asked for a
//! plain hash of the plaintext, which would allow that.
//!
//! Wire layout, big-endian, in this order:
//!
//! | field | bytes |
//! |---|---|
//! | version (1) | 1 |
//! | context length, context (ASCII) | 1 + ≤ 64 |
//! | sender ed25519 key | 32 |
//! | recipient ed25519 key | 32 |
//! | message id | 16 |
//! | epoch | 8 |
//! | timestamp, Unix milliseconds | 8 |
//! | HPKE encapsulated key | 32 |
//! | body commitment | 32 |
//! | ciphertext length, ciphertext (salt ‖ body ‖ tag) | 4 + n |
//! | ed25519 signature over the domain ‖ all the above | 64 |
//!
//! The domain, `"liaison/envelope/v1\n"` ‖ length ‖ federation id, is also
//! HPKE's `info`: an envelope of one federation is refused in another.

mod receipt;
#[cfg(test)]
mod tests;

use std::fmt;

use ed25519_dalek::{Signature, VerifyingKey};
use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::rand_core::CryptoRng;
use hpke::{Deserializable as _, Serializable as _};
use sha2::{Digest as _, Sha256};

use crate::keys::{AgencyKey, SealingKey, SigningKey};
use crate::wire::{self, Reader};

pub use receipt::{Outcome, Receipt, ReceiptError, Refusal, RECEIPT_LEN, RECEIPT_VERSION};

/// The envelope format's version byte.
pub const VERSION: u8 = 1;
/// Longest context string.
pub const MAX_CONTEXT: usize = 64;
/// Largest body one envelope carries. Larger payloads are split into
/// several messages by the protocol that sends them, never by raising this.
pub const MAX_BODY: usize = 1024 * 1024;
/// Bytes an envelope adds to its body.
pub const OVERHEAD: usize =
    1 + 1 + MAX_CONTEXT + 32 + 32 + 16 + 8 + 8 + 32 + 32 + 4 + SALT + TAG + 64;
/// Largest encoded envelope.
pub const MAX_ENVELOPE: usize = MAX_BODY + OVERHEAD;

const SALT: usize = 32;
const TAG: usize = 16;
const DOMAIN: &[u8] = b"liaison/envelope/v1\n";

/// The domain both the signature and HPKE's `info` are bound to:
/// `"liaison/envelope/v1\n"` ‖ federation id length (u32) ‖ federation id.
/// An envelope made for one federation neither verifies nor decrypts in
/// another, whatever transport carried it (QUIC has no Noise prologue).
fn domain(federation: &str) -> Vec<u8> {
    let mut d = Vec::with_capacity(DOMAIN.len() + 4 + federation.len());
    d.extend_from_slice(DOMAIN);
    d.extend_from_slice(&(federation.len() as u32).to_be_bytes());
    d.extend_from_slice(federation.as_bytes());
    d
}
const COMMITMENT_CONTEXT: &[u8] = b"liaison/body/v1";

/// A message's random 128-bit id: the unit of idempotence (a receiver
/// applies each id from each sender once).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageId(pub [u8; 16]);

impl MessageId {
    /// A fresh random id.
    pub fn random(rng: &mut impl CryptoRng) -> MessageId {
        let mut id = [0u8; 16];
        rng.fill_bytes(&mut id);
        MessageId(id)
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId({self})")
    }
}

/// The clear part of an envelope: who, to whom, what kind, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The message type, e.g. `liaison/ping/v1`: lower-case ASCII letters,
    /// digits and `/._-`, 1 to [`MAX_CONTEXT`] bytes.
    pub context: String,
    /// The sender's ed25519 identity.
    pub sender: VerifyingKey,
    /// The recipient's ed25519 identity.
    pub recipient: VerifyingKey,
    /// Random id.
    pub message_id: MessageId,
    /// The matching epoch the message belongs to (0 where none applies).
    pub epoch: u64,
    /// When it was sealed, Unix milliseconds.
    pub timestamp_ms: u64,
}

impl Header {
    fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(VERSION);
        // The context's length is checked at seal and decode.
        out.push(self.context.len() as u8);
        out.extend_from_slice(self.context.as_bytes());
        out.extend_from_slice(self.sender.as_bytes());
        out.extend_from_slice(self.recipient.as_bytes());
        out.extend_from_slice(&self.message_id.0);
        out.extend_from_slice(&self.epoch.to_be_bytes());
        out.extend_from_slice(&self.timestamp_ms.to_be_bytes());
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 1 + self.context.len() + 32 + 32 + 16 + 16);
        self.encode_into(&mut out);
        out
    }
}

fn check_context(context: &str) -> Result<(), &'static str> {
    if context.is_empty() || context.len() > MAX_CONTEXT {
        return Err("must be 1 to 64 bytes");
    }
    if !context
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"/._-".contains(&b))
    {
        return Err("only lower-case ASCII letters, digits and / . _ - are allowed");
    }
    Ok(())
}

/// A sealed, signed message, as it travels.
#[derive(Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The clear header.
    pub header: Header,
    encapped: [u8; 32],
    commitment: [u8; 32],
    ciphertext: Vec<u8>,
    signature: [u8; 64],
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("header", &self.header)
            .field("ciphertext_len", &self.ciphertext.len())
            .finish_non_exhaustive()
    }
}

/// What to seal.
#[derive(Debug, Clone, Copy)]
pub struct Draft<'a> {
    /// The federation id both nodes are configured with.
    pub federation: &'a str,
    /// Message type (see [`Header::context`]).
    pub context: &'a str,
    /// To whom.
    pub recipient: &'a AgencyKey,
    /// Fresh random id.
    pub message_id: MessageId,
    /// Matching epoch, or 0.
    pub epoch: u64,
    /// Now, Unix milliseconds.
    pub timestamp_ms: u64,
    /// The plaintext.
    pub body: &'a [u8],
}

/// Why a message could not be sealed (the caller's mistake, never chance).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The context string is not allowed.
    #[error("context {context:?}: {problem}")]
    Context {
        /// The context given.
        context: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// The body is over [`MAX_BODY`]: split it.
    #[error("body of {len} bytes is over the {max}-byte limit of one envelope: split it")]
    BodyTooLarge {
        /// Its length.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// HPKE refused the recipient's key (a low-order X25519 point).
    #[error("the recipient's sealing key cannot be used")]
    RecipientKey,
}

/// Why a received envelope was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// Not an envelope: truncated, malformed, over a cap, trailing bytes.
    #[error("undecodable envelope: {0}")]
    Decode(#[from] wire::Error),
    /// A version this node does not speak.
    #[error("envelope version {0} is not supported (this node speaks {VERSION})")]
    Version(u8),
    /// Addressed to another agency.
    #[error("the envelope is addressed to another agency")]
    WrongRecipient,
    /// The sender is not one of this node's trusted peers.
    #[error("the sender is not a trusted peer")]
    UnknownSender,
    /// The signature does not verify (`verify_strict`).
    #[error("the signature does not verify")]
    BadSignature,
    /// Older than the allowed age.
    #[error("the envelope is {age_ms} ms old, over the allowed {max_ms} ms")]
    Stale {
        /// Its age.
        age_ms: u64,
        /// The allowed age.
        max_ms: u64,
    },
    /// Stamped too far in the future (clock skew).
    #[error("the envelope is stamped {ahead_ms} ms in the future, over the allowed {max_ms} ms of clock skew")]
    FromFuture {
        /// How far ahead.
        ahead_ms: u64,
        /// The allowed skew.
        max_ms: u64,
    },
    /// This sender's message id was seen before.
    #[error("message {0} was already received from this sender")]
    Replayed(MessageId),
    /// HPKE could not open the ciphertext.
    #[error("the body cannot be decrypted with this node's sealing key")]
    Undecryptable,
    /// The decrypted body does not match the signed commitment.
    #[error("the decrypted body does not match its signed commitment")]
    Commitment,
}

/// The receiver's rules for [`Envelope::open`].
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// Now, Unix milliseconds.
    pub now_ms: u64,
    /// Oldest acceptable envelope. Also how long the receiver must keep
    /// seen message ids: anything older is refused by time instead.
    pub max_age_ms: u64,
    /// How far in the future a timestamp may be.
    pub max_skew_ms: u64,
}

/// This node's keys, as the recipient.
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    /// Our federation id.
    pub federation: &'a str,
    /// Our identity.
    pub signing: &'a SigningKey,
    /// Our sealing key.
    pub sealing: &'a SealingKey,
}

/// A verified, decrypted envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The header, now authenticated.
    pub header: Header,
    /// The plaintext.
    pub body: Vec<u8>,
    /// The commitment salt: with the body, it proves the content later.
    pub salt: [u8; 32],
}

fn commitment(salt: &[u8], body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(COMMITMENT_CONTEXT);
    h.update(salt);
    h.update(body);
    h.finalize().into()
}

/// Seals and signs a message.
pub fn seal(
    signer: &SigningKey,
    draft: Draft<'_>,
    rng: &mut impl CryptoRng,
) -> Result<Envelope, SealError> {
    check_context(draft.context).map_err(|problem| SealError::Context {
        context: draft.context.to_owned(),
        problem,
    })?;
    if draft.body.len() > MAX_BODY {
        return Err(SealError::BodyTooLarge {
            len: draft.body.len(),
            max: MAX_BODY,
        });
    }
    let header = Header {
        context: draft.context.to_owned(),
        sender: signer.verifying_key(),
        recipient: *draft.recipient.verifying_key(),
        message_id: draft.message_id,
        epoch: draft.epoch,
        timestamp_ms: draft.timestamp_ms,
    };
    let mut salt = [0u8; SALT];
    rng.fill_bytes(&mut salt);
    let commitment = commitment(&salt, draft.body);
    let pk = <X25519HkdfSha256 as hpke::Kem>::PublicKey::from_bytes(
        draft.recipient.sealing_key().as_bytes(),
    )
    .map_err(|_| SealError::RecipientKey)?;
    let mut plaintext = zeroize::Zeroizing::new(Vec::with_capacity(SALT + draft.body.len()));
    plaintext.extend_from_slice(&salt);
    plaintext.extend_from_slice(draft.body);
    let aad = header.encode();
    let (encapped, ciphertext) =
        hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256, _>(
            &hpke::OpModeS::Base,
            &pk,
            &domain(draft.federation),
            &plaintext,
            &aad,
            rng,
        )
        .map_err(|_| SealError::RecipientKey)?;
    let mut envelope = Envelope {
        header,
        encapped: encapped.to_bytes().into(),
        commitment,
        ciphertext,
        signature: [0u8; 64],
    };
    let signed = envelope.signed_part(draft.federation);
    envelope.signature = signer.sign(&signed).to_bytes();
    Ok(envelope)
}

impl Envelope {
    /// The bytes the signature covers (without the signature itself).
    fn signed_part(&self, federation: &str) -> Vec<u8> {
        let mut out = domain(federation);
        out.reserve(self.encoded_len());
        self.encode_unsigned(&mut out);
        out
    }

    fn encode_unsigned(&self, out: &mut Vec<u8>) {
        self.header.encode_into(out);
        out.extend_from_slice(&self.encapped);
        out.extend_from_slice(&self.commitment);
        // The ciphertext's length is bounded by MAX_BODY at seal and decode.
        out.extend_from_slice(&(self.ciphertext.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.ciphertext);
    }

    fn encoded_len(&self) -> usize {
        OVERHEAD - MAX_CONTEXT - SALT - TAG + self.header.context.len() + self.ciphertext.len()
    }

    /// The wire encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_unsigned(&mut out);
        out.extend_from_slice(&self.signature);
        out
    }

    /// SHA-256 of the wire encoding: how receipts and the audit log name
    /// an envelope. A holder of the received bytes hashes those instead of
    /// encoding them again.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.to_bytes()).into()
    }

    /// Parses an envelope, refusing anything over `max_len` bytes before
    /// reading further. Checks form only: [`Envelope::open`] checks trust.
    pub fn decode(bytes: &[u8], max_len: usize) -> Result<Envelope, OpenError> {
        if bytes.len() > max_len {
            return Err(wire::Error::TooLarge {
                field: "envelope",
                len: bytes.len() as u64,
                max: max_len as u64,
            }
            .into());
        }
        let mut r = Reader::new(bytes);
        let version = r.u8("version")?;
        if version != VERSION {
            return Err(OpenError::Version(version));
        }
        let context_len = r.u8("context")? as usize;
        let context = r.take(context_len, "context")?;
        let context = std::str::from_utf8(context)
            .ok()
            .filter(|c| check_context(c).is_ok())
            .ok_or(wire::Error::Malformed {
                field: "context",
                problem: "not 1 to 64 lower-case ASCII letters, digits or /._-",
            })?
            .to_owned();
        let sender = verifying_key(r.array("sender")?, "sender")?;
        let recipient = verifying_key(r.array("recipient")?, "recipient")?;
        let header = Header {
            context,
            sender,
            recipient,
            message_id: MessageId(r.array("message_id")?),
            epoch: r.u64("epoch")?,
            timestamp_ms: r.u64("timestamp")?,
        };
        let encapped = r.array("encapped_key")?;
        let commitment = r.array("commitment")?;
        let ciphertext = r.bytes32(SALT + MAX_BODY + TAG, "ciphertext")?;
        if ciphertext.len() < SALT + TAG {
            return Err(wire::Error::Malformed {
                field: "ciphertext",
                problem: "shorter than its salt and tag",
            }
            .into());
        }
        let ciphertext = ciphertext.to_vec();
        let signature = r.array("signature")?;
        r.finish()?;
        Ok(Envelope {
            header,
            encapped,
            commitment,
            ciphertext,
            signature,
        })
    }

    /// Checks the signature against the sender named in the header
    /// (`verify_strict`). Needs no secret: an auditor can run it.
    pub fn verify_signature(&self, federation: &str) -> Result<(), OpenError> {
        let signature = Signature::from_bytes(&self.signature);
        self.header
            .sender
            .verify_strict(&self.signed_part(federation), &signature)
            .map_err(|_| OpenError::BadSignature)
    }

    /// Checks that `salt` and `body` are what the sender committed to.
    pub fn verify_reveal(&self, salt: &[u8; 32], body: &[u8]) -> bool {
        commitment(salt, body) == self.commitment
    }

    /// Checks and decrypts an envelope addressed to `me`.
    ///
    /// `trusted` answers whether a sender is a trusted peer, and with which
    /// card; `seen` whether this sender's message id was received before.
    /// Both are asked only after the cheaper checks pass, `seen` only for
    /// a correctly signed envelope, so a forger cannot probe the replay set.
    pub fn open<'k>(
        &self,
        me: Recipient<'_>,
        trusted: impl FnOnce(&VerifyingKey) -> Option<&'k AgencyKey>,
        seen: impl FnOnce(&VerifyingKey, &MessageId) -> bool,
        window: Window,
    ) -> Result<Opened, OpenError> {
        if self.header.recipient != me.signing.verifying_key() {
            return Err(OpenError::WrongRecipient);
        }
        let sender = trusted(&self.header.sender).ok_or(OpenError::UnknownSender)?;
        if sender.verifying_key() != &self.header.sender {
            return Err(OpenError::UnknownSender);
        }
        self.verify_signature(me.federation)?;
        let ts = self.header.timestamp_ms;
        if ts > window.now_ms {
            let ahead_ms = ts - window.now_ms;
            if ahead_ms > window.max_skew_ms {
                return Err(OpenError::FromFuture {
                    ahead_ms,
                    max_ms: window.max_skew_ms,
                });
            }
        } else {
            let age_ms = window.now_ms - ts;
            if age_ms > window.max_age_ms {
                return Err(OpenError::Stale {
                    age_ms,
                    max_ms: window.max_age_ms,
                });
            }
        }
        if seen(&self.header.sender, &self.header.message_id) {
            return Err(OpenError::Replayed(self.header.message_id));
        }
        self.decrypt(me)
    }

    /// Checks and decrypts an envelope addressed to `me` that was accepted
    /// earlier and kept (a received report, read again): recipient,
    /// sender, signature and body commitment, but not the time window or
    /// replay, which held when it arrived.
    pub fn reopen(&self, me: Recipient<'_>, sender: &VerifyingKey) -> Result<Opened, OpenError> {
        if self.header.recipient != me.signing.verifying_key() {
            return Err(OpenError::WrongRecipient);
        }
        if &self.header.sender != sender {
            return Err(OpenError::UnknownSender);
        }
        self.verify_signature(me.federation)?;
        self.decrypt(me)
    }

    fn decrypt(&self, me: Recipient<'_>) -> Result<Opened, OpenError> {
        let sk = <X25519HkdfSha256 as hpke::Kem>::PrivateKey::from_bytes(
            me.sealing.secret_bytes().as_slice(),
        )
        .map_err(|_| OpenError::Undecryptable)?;
        let encapped = <X25519HkdfSha256 as hpke::Kem>::EncappedKey::from_bytes(&self.encapped)
            .map_err(|_| OpenError::Undecryptable)?;
        let plaintext = hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>(
            &hpke::OpModeR::Base,
            &sk,
            &encapped,
            &domain(me.federation),
            &self.ciphertext,
            &self.header.encode(),
        )
        .map_err(|_| OpenError::Undecryptable)?;
        let (salt, body) = plaintext.split_at(SALT);
        if commitment(salt, body) != self.commitment {
            return Err(OpenError::Commitment);
        }
        let mut salt_out = [0u8; SALT];
        salt_out.copy_from_slice(salt);
        Ok(Opened {
            header: self.header.clone(),
            body: body.to_vec(),
            salt: salt_out,
        })
    }
}

fn verifying_key(bytes: [u8; 32], field: &'static str) -> Result<VerifyingKey, wire::Error> {
    VerifyingKey::from_bytes(&bytes).map_err(|_| wire::Error::Malformed {
        field,
        problem: "not an ed25519 public key",
    })
}
