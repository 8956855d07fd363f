//! Receipts: the receiver's signed answer to one envelope.
//!
//! A sender keeps an envelope in its outbox until a receipt for it comes
//! back: `Accepted` (applied now), `Duplicate` (applied before: the first
//! receipt was lost) or `Refused` with a reason. The receipt names the
//! envelope by its hash, so it proves to an auditor which bytes arrived,
//! and names the receiver's audit log position for it, so the sender's log
//! can be matched against the receiver's entry by entry.
//!
//! Wire layout, big-endian: version (1, = 2) ‖ receiver key (32) ‖ sender
//! key (32) ‖ message id (16) ‖ envelope hash (32) ‖ received at, Unix ms
//! (8) ‖ receiver's log index (8) ‖ outcome (1) ‖ refusal reason (1) ‖
//! ed25519 signature over `"liaison/receipt/v2\n"` ‖ the above (64).

use ed25519_dalek::{Signature, VerifyingKey};

use super::{MessageId, OpenError};
use crate::keys::SigningKey;
use crate::wire::{self, Reader};

const SIGNATURE_CONTEXT: &[u8] = b"liaison/receipt/v2\n";
/// Version byte of the receipt layout (2: with the log index).
pub const RECEIPT_VERSION: u8 = 2;
/// Encoded size of a receipt.
pub const RECEIPT_LEN: usize = 1 + 32 + 32 + 16 + 32 + 8 + 8 + 1 + 1 + 64;

/// Why an envelope was refused, as a receipt says it. Stable codes: the
/// sender's audit log records them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Refusal {
    /// Not an envelope.
    Malformed = 1,
    /// Unsupported version.
    Version = 2,
    /// Addressed to someone else.
    WrongRecipient = 3,
    /// Sender not trusted.
    UnknownSender = 4,
    /// Signature does not verify.
    BadSignature = 5,
    /// Too old.
    Stale = 6,
    /// Too far in the future.
    FromFuture = 7,
    /// Same id, different bytes.
    Replayed = 8,
    /// Cannot be decrypted.
    Undecryptable = 9,
    /// Body does not match its commitment.
    Commitment = 10,
    /// A message type this node does not handle.
    UnknownContext = 11,
    /// The body is not a valid message of its type.
    BadBody = 12,
    /// Well formed, but past a limit the receiver keeps for the sender
    /// (the tags it may hold from one owner in one epoch, say): not
    /// applied, and the same message will be refused again.
    OverLimit = 13,
}

impl Refusal {
    /// Its stable name, for logs and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Malformed => "malformed",
            Refusal::Version => "version",
            Refusal::WrongRecipient => "wrong-recipient",
            Refusal::UnknownSender => "unknown-sender",
            Refusal::BadSignature => "bad-signature",
            Refusal::Stale => "stale",
            Refusal::FromFuture => "from-future",
            Refusal::Replayed => "replayed",
            Refusal::Undecryptable => "undecryptable",
            Refusal::Commitment => "commitment",
            Refusal::UnknownContext => "unknown-context",
            Refusal::BadBody => "bad-body",
            Refusal::OverLimit => "over-limit",
        }
    }

    /// Every reason, in code order.
    pub const ALL: [Refusal; 13] = [
        Refusal::Malformed,
        Refusal::Version,
        Refusal::WrongRecipient,
        Refusal::UnknownSender,
        Refusal::BadSignature,
        Refusal::Stale,
        Refusal::FromFuture,
        Refusal::Replayed,
        Refusal::Undecryptable,
        Refusal::Commitment,
        Refusal::UnknownContext,
        Refusal::BadBody,
        Refusal::OverLimit,
    ];

    fn from_code(code: u8) -> Option<Refusal> {
        Refusal::ALL.into_iter().find(|r| *r as u8 == code)
    }
}

impl From<&OpenError> for Refusal {
    fn from(e: &OpenError) -> Refusal {
        match e {
            OpenError::Decode(_) => Refusal::Malformed,
            OpenError::Version(_) => Refusal::Version,
            OpenError::WrongRecipient => Refusal::WrongRecipient,
            OpenError::UnknownSender => Refusal::UnknownSender,
            OpenError::BadSignature => Refusal::BadSignature,
            OpenError::Stale { .. } => Refusal::Stale,
            OpenError::FromFuture { .. } => Refusal::FromFuture,
            OpenError::Replayed(_) => Refusal::Replayed,
            OpenError::Undecryptable => Refusal::Undecryptable,
            OpenError::Commitment => Refusal::Commitment,
        }
    }
}

/// What the receiver did with the envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Verified and applied.
    Accepted,
    /// Applied before (a retransmission): not applied again.
    Duplicate,
    /// Not applied, for this reason.
    Refused(Refusal),
}

/// Why a receipt was not accepted by the sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiptError {
    /// Not a receipt.
    #[error("undecodable receipt: {0}")]
    Decode(#[from] wire::Error),
    /// Signed by someone other than the envelope's recipient.
    #[error("the receipt is not from the envelope's recipient")]
    WrongSigner,
    /// For another envelope.
    #[error("the receipt is for another envelope")]
    WrongEnvelope,
    /// Signature does not verify.
    #[error("the receipt's signature does not verify")]
    BadSignature,
}

/// A signed receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// Who received (and signed).
    pub receiver: VerifyingKey,
    /// Who sent the envelope.
    pub sender: VerifyingKey,
    /// The envelope's message id (zero when it could not be read).
    pub message_id: MessageId,
    /// SHA-256 of the envelope bytes received.
    pub envelope_hash: [u8; 32],
    /// When, Unix milliseconds.
    pub received_at_ms: u64,
    /// The index of the receiver's audit log entry for this envelope.
    pub log_index: u64,
    /// What was done.
    pub outcome: Outcome,
    signature: [u8; 64],
}

impl Receipt {
    /// Signs a receipt.
    pub fn sign(
        signer: &SigningKey,
        sender: VerifyingKey,
        message_id: MessageId,
        envelope_hash: [u8; 32],
        received_at_ms: u64,
        log_index: u64,
        outcome: Outcome,
    ) -> Receipt {
        let mut r = Receipt {
            receiver: signer.verifying_key(),
            sender,
            message_id,
            envelope_hash,
            received_at_ms,
            log_index,
            outcome,
            signature: [0u8; 64],
        };
        r.signature = signer.sign(&r.signed_part()).to_bytes();
        r
    }

    fn encode_unsigned(&self, out: &mut Vec<u8>) {
        let (outcome, reason) = match self.outcome {
            Outcome::Accepted => (0u8, 0u8),
            Outcome::Duplicate => (1, 0),
            Outcome::Refused(r) => (2, r as u8),
        };
        out.push(RECEIPT_VERSION);
        out.extend_from_slice(self.receiver.as_bytes());
        out.extend_from_slice(self.sender.as_bytes());
        out.extend_from_slice(&self.message_id.0);
        out.extend_from_slice(&self.envelope_hash);
        out.extend_from_slice(&self.received_at_ms.to_be_bytes());
        out.extend_from_slice(&self.log_index.to_be_bytes());
        out.push(outcome);
        out.push(reason);
    }

    fn signed_part(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SIGNATURE_CONTEXT.len() + RECEIPT_LEN);
        out.extend_from_slice(SIGNATURE_CONTEXT);
        self.encode_unsigned(&mut out);
        out
    }

    /// The wire encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(RECEIPT_LEN);
        self.encode_unsigned(&mut out);
        out.extend_from_slice(&self.signature);
        out
    }

    /// Parses a receipt (form only; see [`Receipt::verify`]).
    pub fn decode(bytes: &[u8]) -> Result<Receipt, ReceiptError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("version")?;
        if version != RECEIPT_VERSION {
            return Err(wire::Error::Malformed {
                field: "version",
                problem: "unsupported receipt version",
            }
            .into());
        }
        let key = |bytes: [u8; 32], field| {
            VerifyingKey::from_bytes(&bytes).map_err(|_| wire::Error::Malformed {
                field,
                problem: "not an ed25519 public key",
            })
        };
        let receiver = key(r.array("receiver")?, "receiver")?;
        let sender = key(r.array("sender")?, "sender")?;
        let message_id = MessageId(r.array("message_id")?);
        let envelope_hash = r.array("envelope_hash")?;
        let received_at_ms = r.u64("received_at")?;
        let log_index = r.u64("log_index")?;
        let outcome = match (r.u8("outcome")?, r.u8("reason")?) {
            (0, 0) => Outcome::Accepted,
            (1, 0) => Outcome::Duplicate,
            (2, code) => {
                Outcome::Refused(Refusal::from_code(code).ok_or(wire::Error::Malformed {
                    field: "reason",
                    problem: "unknown refusal code",
                })?)
            }
            _ => {
                return Err(wire::Error::Malformed {
                    field: "outcome",
                    problem: "unknown outcome",
                }
                .into())
            }
        };
        let signature = r.array("signature")?;
        r.finish()?;
        Ok(Receipt {
            receiver,
            sender,
            message_id,
            envelope_hash,
            received_at_ms,
            log_index,
            outcome,
            signature,
        })
    }

    /// Checks that this receipt is `receiver`'s signed answer to the
    /// envelope `(message_id, envelope_hash)` that `sender` sent.
    pub fn verify(
        &self,
        receiver: &VerifyingKey,
        sender: &VerifyingKey,
        message_id: &MessageId,
        envelope_hash: &[u8; 32],
    ) -> Result<(), ReceiptError> {
        if &self.receiver != receiver {
            return Err(ReceiptError::WrongSigner);
        }
        if &self.sender != sender
            || &self.message_id != message_id
            || &self.envelope_hash != envelope_hash
        {
            return Err(ReceiptError::WrongEnvelope);
        }
        self.receiver
            .verify_strict(&self.signed_part(), &Signature::from_bytes(&self.signature))
            .map_err(|_| ReceiptError::BadSignature)
    }
}
