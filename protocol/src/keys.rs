//! An agency's keys.
//!
//! - [`SigningKey`] (ed25519): signs everything the agency sends; its public
//!   half is the agency's identity and its libp2p PeerId.
//! - [`SealingKey`] (X25519): peers seal message bodies to it (HPKE).
//! - [`AgencyKey`]: the public card peers exchange (`liaison peer add --key`):
//!   both public keys and an ed25519 signature binding the sealing key to
//!   the identity, so a card with a swapped or mistyped sealing key is
//!   refused when it is read.
//!
//! Secrets print as `SigningKey(..)` and are zeroed on drop. Their text
//! form (for key files) is only produced as [`Zeroizing`] strings.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, Verifier as _};
use rand_core::CryptoRngCore;
use sha2::{Digest as _, Sha256};
use zeroize::{Zeroize as _, Zeroizing};

/// Why a key or key file could not be read. Never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The agency key text does not start with [`AGENCY_KEY_PREFIX`].
    #[error("an agency key starts with \"{AGENCY_KEY_PREFIX}\": copy the whole line that `liaison init` or `liaison status` printed")]
    Prefix,
    /// Not valid base64url, or the wrong length.
    #[error("the agency key is damaged (wrong length or characters): copy it again, whole")]
    Encoding,
    /// The ed25519 public key is not a valid curve point.
    #[error("the agency key's signing key is not a valid ed25519 key")]
    BadPoint,
    /// The card's self-signature does not verify.
    #[error("the agency key's signature does not verify: it was altered or mistyped")]
    BadSignature,
    /// A key file does not have the expected header line.
    #[error("not a Liaison {expected} key file (its first line should be \"{expected_header}\")")]
    FileHeader {
        /// Which key was expected.
        expected: &'static str,
        /// The header line that was expected.
        expected_header: &'static str,
    },
    /// A key file's body is not 32 bytes of base64url.
    #[error(
        "the {expected} key file is damaged: its second line should be 43 base64url characters"
    )]
    FileBody {
        /// Which key was expected.
        expected: &'static str,
    },
}

/// The prefix of an [`AgencyKey`]'s text form.
pub const AGENCY_KEY_PREFIX: &str = "liaison-agency-v1:";
const CARD_CONTEXT: &[u8] = b"liaison/agency-key/v1";
const SIGNING_HEADER: &str = "LIAISON ED25519 SIGNING KEY v1";
const SEALING_HEADER: &str = "LIAISON X25519 SEALING KEY v1";

fn file_text(header: &str, secret: &[u8; 32]) -> Zeroizing<String> {
    let mut body = Zeroizing::new(URL_SAFE_NO_PAD.encode(secret));
    let text = Zeroizing::new(format!("{header}\n{}\n", body.as_str()));
    body.zeroize();
    text
}

fn parse_file(
    text: &str,
    header: &'static str,
    expected: &'static str,
) -> Result<Zeroizing<[u8; 32]>, Error> {
    let mut lines = text.lines();
    if lines.next().map(str::trim) != Some(header) {
        return Err(Error::FileHeader {
            expected,
            expected_header: header,
        });
    }
    let body = lines.next().map(str::trim).unwrap_or_default();
    let mut bytes = Zeroizing::new([0u8; 32]);
    match URL_SAFE_NO_PAD.decode_slice(body, &mut bytes[..]) {
        Ok(32) => Ok(bytes),
        _ => Err(Error::FileBody { expected }),
    }
}

/// The agency's ed25519 signing key.
pub struct SigningKey(ed25519_dalek::SigningKey);

impl SigningKey {
    /// A new random key.
    pub fn generate(rng: &mut impl CryptoRngCore) -> SigningKey {
        SigningKey(ed25519_dalek::SigningKey::generate(rng))
    }

    /// The key from its 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> SigningKey {
        SigningKey(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    /// The key file's text: a header line and the base64url seed.
    pub fn to_file_text(&self) -> Zeroizing<String> {
        file_text(SIGNING_HEADER, &self.0.to_bytes())
    }

    /// Reads a key file's text.
    pub fn from_file_text(text: &str) -> Result<SigningKey, Error> {
        parse_file(text, SIGNING_HEADER, "signing").map(|seed| SigningKey::from_seed(&seed))
    }

    /// The 32-byte seed, for handing to libp2p's identity. Zeroed on drop.
    pub fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The public half.
    pub fn verifying_key(&self) -> ed25519_dalek::VerifyingKey {
        self.0.verifying_key()
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> ed25519_dalek::Signature {
        self.0.sign(message)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

/// The agency's X25519 sealing key.
pub struct SealingKey(x25519_dalek::StaticSecret);

impl SealingKey {
    /// A new random key.
    pub fn generate(rng: &mut impl CryptoRngCore) -> SealingKey {
        SealingKey(x25519_dalek::StaticSecret::random_from_rng(rng))
    }

    /// The key from its 32 secret bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> SealingKey {
        SealingKey(x25519_dalek::StaticSecret::from(bytes))
    }

    /// The key file's text: a header line and the base64url secret.
    pub fn to_file_text(&self) -> Zeroizing<String> {
        file_text(SEALING_HEADER, self.0.as_bytes())
    }

    /// Reads a key file's text.
    pub fn from_file_text(text: &str) -> Result<SealingKey, Error> {
        parse_file(text, SEALING_HEADER, "sealing")
            .map(|b| SealingKey(x25519_dalek::StaticSecret::from(*b)))
    }

    /// The public half.
    pub fn public_key(&self) -> x25519_dalek::PublicKey {
        x25519_dalek::PublicKey::from(&self.0)
    }

    /// The secret bytes, for HPKE's own key type. Zeroed on drop.
    pub(crate) fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealingKey(..)")
    }
}

/// An agency's public card: its ed25519 identity, its X25519 sealing key,
/// and the identity's signature over both.
#[derive(Clone, PartialEq, Eq)]
pub struct AgencyKey {
    verifying: ed25519_dalek::VerifyingKey,
    sealing: x25519_dalek::PublicKey,
    signature: ed25519_dalek::Signature,
}

fn card_message(
    verifying: &ed25519_dalek::VerifyingKey,
    sealing: &x25519_dalek::PublicKey,
) -> Vec<u8> {
    [CARD_CONTEXT, verifying.as_bytes(), sealing.as_bytes()].concat()
}

impl AgencyKey {
    /// The card for these secret keys.
    pub fn new(signing: &SigningKey, sealing: &SealingKey) -> AgencyKey {
        let verifying = signing.verifying_key();
        let sealing = sealing.public_key();
        let signature = signing.sign(&card_message(&verifying, &sealing));
        AgencyKey {
            verifying,
            sealing,
            signature,
        }
    }

    /// The ed25519 identity key.
    pub fn verifying_key(&self) -> &ed25519_dalek::VerifyingKey {
        &self.verifying
    }

    /// The X25519 key to seal messages to.
    pub fn sealing_key(&self) -> &x25519_dalek::PublicKey {
        &self.sealing
    }

    /// A short fingerprint to compare over the phone when exchanging keys:
    /// the first 16 bytes of SHA-256 over the card, hex in groups of four.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.to_bytes());
        let hex: Vec<String> = digest[..16]
            .chunks(2)
            .map(|c| format!("{:02x}{:02x}", c[0], c[1]))
            .collect();
        hex.join("-")
    }

    fn to_bytes(&self) -> [u8; 128] {
        let mut out = [0u8; 128];
        out[..32].copy_from_slice(self.verifying.as_bytes());
        out[32..64].copy_from_slice(self.sealing.as_bytes());
        out[64..].copy_from_slice(&self.signature.to_bytes());
        out
    }
}

impl fmt::Display for AgencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{AGENCY_KEY_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(self.to_bytes())
        )
    }
}

impl fmt::Debug for AgencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AgencyKey({})", self.fingerprint())
    }
}

impl FromStr for AgencyKey {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let body = s
            .trim()
            .strip_prefix(AGENCY_KEY_PREFIX)
            .ok_or(Error::Prefix)?;
        let mut bytes = [0u8; 128];
        match URL_SAFE_NO_PAD.decode_slice(body, &mut bytes) {
            Ok(128) => {}
            _ => return Err(Error::Encoding),
        }
        let mut pk = [0u8; 32];
        pk.copy_from_slice(&bytes[..32]);
        let verifying =
            ed25519_dalek::VerifyingKey::from_bytes(&pk).map_err(|_| Error::BadPoint)?;
        let mut xk = [0u8; 32];
        xk.copy_from_slice(&bytes[32..64]);
        let sealing = x25519_dalek::PublicKey::from(xk);
        let mut sig = [0u8; 64];
        sig.copy_from_slice(&bytes[64..]);
        let signature = ed25519_dalek::Signature::from_bytes(&sig);
        verifying
            .verify_strict(&card_message(&verifying, &sealing), &signature)
            .map_err(|_| Error::BadSignature)?;
        // verify_strict also rejects weak keys; keep the plain check too so
        // the intent is visible.
        verifying
            .verify(&card_message(&verifying, &sealing), &signature)
            .map_err(|_| Error::BadSignature)?;
        Ok(AgencyKey {
            verifying,
            sealing,
            signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    #[test]
    fn agency_key_round_trips_and_detects_tampering() {
        let signing = SigningKey::generate(&mut OsRng);
        let sealing = SealingKey::generate(&mut OsRng);
        let card = AgencyKey::new(&signing, &sealing);
        let text = card.to_string();
        assert!(text.starts_with(AGENCY_KEY_PREFIX));
        let back: AgencyKey = text.parse().unwrap();
        assert_eq!(back, card);
        assert_eq!(back.sealing_key(), &sealing.public_key());

        // Flip each character of the body in turn: every change is refused.
        let body_start = AGENCY_KEY_PREFIX.len();
        for i in (body_start..text.len()).step_by(7) {
            let mut bytes = text.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(bytes).unwrap();
            if altered != text {
                assert!(altered.parse::<AgencyKey>().is_err(), "altered at {i}");
            }
        }
        assert_eq!("ed25519:abc".parse::<AgencyKey>(), Err(Error::Prefix));
        assert_eq!(
            format!("{AGENCY_KEY_PREFIX}abc").parse::<AgencyKey>(),
            Err(Error::Encoding)
        );
    }

    #[test]
    fn key_files_round_trip_and_secrets_do_not_print() {
        let signing = SigningKey::generate(&mut OsRng);
        let text = signing.to_file_text();
        let back = SigningKey::from_file_text(&text).unwrap();
        assert_eq!(back.verifying_key(), signing.verifying_key());
        assert_eq!(format!("{signing:?}"), "SigningKey(..)");

        let sealing = SealingKey::generate(&mut OsRng);
        let back = SealingKey::from_file_text(&sealing.to_file_text()).unwrap();
        assert_eq!(back.public_key(), sealing.public_key());
        assert_eq!(format!("{sealing:?}"), "SealingKey(..)");

        assert!(matches!(
            SigningKey::from_file_text(&sealing.to_file_text()),
            Err(Error::FileHeader { .. })
        ));
        assert!(matches!(
            SigningKey::from_file_text("LIAISON ED25519 SIGNING KEY v1\nshort\n"),
            Err(Error::FileBody { .. })
        ));
    }
}
