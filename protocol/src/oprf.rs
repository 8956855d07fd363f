//! The verifiable OPRF that matching is built on: RFC 9497, ciphersuite
//! ristretto255-SHA512, VOPRF mode, on `curve25519-dalek`'s ristretto255,
//! behind the few calls Liaison needs. (It replaced the `voprf` crate,
//! which stays as the tests' oracle: same wire bytes, same outputs.)
//!
//! The flow, for a querier A and an owner B (DESIGN.md, "Matching"):
//! 1. B keeps a [`ServerKey`] per (peer, epoch) and publishes its
//!    [`PublicKey`] in a signed manifest.
//! 2. A [`blind_batch`]es (or [`blind`]s) the [`input`] of each selector
//!    and sends the 32-byte blinded elements.
//! 3. B [`ServerKey::evaluate_batch`]es them: one evaluated element each and
//!    one proof for the whole batch that they were made with the key behind
//!    the published public key.
//! 4. A [`finalize_batch`]es: checks the proof, unblinds, and gets the OPRF
//!    output `F`; [`tag`]`(F)` is what B's filter holds for its own selectors
//!    (B computes them directly with [`ServerKey::evaluate`]).
//!
//! Cost: each side does one constant-time scalar multiplication per
//! element where a secret is involved (blinding, evaluating, unblinding);
//! the proof's composites are public and cost one variable-time
//! multiscalar multiplication per batch and side (two for the querier);
//! encodings of a batch share one field inversion, and the querier's
//! unblinding one scalar inversion.
//!
//! Everything a peer sends is decoded here and refused with an
//! [`Error`] naming the element: no input panics.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha512};
use zeroize::{Zeroize, Zeroizing};

use crate::selector::Selector;

mod dleq;
mod suite;

use suite::{decode, decode_scalar, encode_doubles, finalize_hash, len_be, random_scalar, HALF};

/// Bytes of a group element on the wire (blinded or evaluated).
pub const ELEMENT_LEN: usize = 32;
/// Bytes of a batch proof.
pub const PROOF_LEN: usize = 64;
/// Bytes of an OPRF output.
pub const OUTPUT_LEN: usize = 64;
/// Most elements evaluated in one batch (one proof).
pub const MAX_BATCH: usize = 4096;

/// A blinded or evaluated element as bytes.
pub type Element = [u8; ELEMENT_LEN];
/// An OPRF output `F`.
pub type Output = [u8; OUTPUT_LEN];

/// Why an OPRF step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Element `index` of a batch is not a valid ristretto255 element
    /// (or is the identity).
    #[error("element {index} is not a valid group element")]
    InvalidElement {
        /// Its position in the batch.
        index: usize,
    },
    /// The public key (or a stored secret key) is not a valid encoding.
    #[error("the public key is not a valid group element")]
    InvalidKey,
    /// A batch is empty or over [`MAX_BATCH`], or its parts differ in length.
    #[error("a batch of {len} (must be 1 to {max}, with one state per element)")]
    Batch {
        /// Its length.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// The proof does not verify against the public key.
    #[error("the evaluation proof does not verify against the owner's published key")]
    Proof,
    /// An input is over 65,535 bytes (or hashes to the identity, which no
    /// known input does), or a key's info is over 65,535 bytes.
    #[error("an OPRF input must be at most 65535 bytes")]
    Input,
}

/// The OPRF input of a selector, domain-separated by format version and
/// kind: `v1|phone|+996775987817`.
pub fn input(selector: &Selector) -> Vec<u8> {
    format!("v1|{}|{}", selector.kind.as_str(), selector.value).into_bytes()
}

/// The filter tag of an OPRF output: `SHA-512("liaison tag" ‖ F)[..32]`.
pub fn tag(output: &Output) -> [u8; 32] {
    let d = Sha512::new_with_prefix(b"liaison tag")
        .chain_update(output)
        .finalize();
    let mut t = [0u8; 32];
    t.copy_from_slice(&d[..32]);
    t
}

/// The owner's public key for one (peer, epoch), as published.
#[derive(Clone, Copy)]
pub struct PublicKey {
    /// Its encoding, as published.
    bytes: Element,
    /// Its point, decoded once.
    point: RistrettoPoint,
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &PublicKey) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for PublicKey {}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PublicKey").field(&self.bytes).finish()
    }
}

impl PublicKey {
    /// Reads a published key, refusing anything that is not a valid
    /// non-identity element.
    pub fn from_bytes(bytes: &[u8]) -> Result<PublicKey, Error> {
        let bytes: Element = bytes.try_into().map_err(|_| Error::InvalidKey)?;
        let point = decode(&bytes).ok_or(Error::InvalidKey)?;
        Ok(PublicKey { bytes, point })
    }

    /// Its bytes.
    pub fn to_bytes(&self) -> Element {
        self.bytes
    }
}

/// The owner's secret OPRF key for one (peer, epoch). Zeroized on drop;
/// its `Debug` shows nothing.
pub struct ServerKey {
    /// `k`, never zero.
    k: Scalar,
    /// `k/2`: evaluating with it and encoding the doubles lets a batch
    /// of encodings share one inversion.
    k_half: Scalar,
    /// `k·G`.
    pk: PublicKey,
}

impl Drop for ServerKey {
    fn drop(&mut self) {
        self.k.zeroize();
        self.k_half.zeroize();
    }
}

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey(..)")
    }
}

impl ServerKey {
    /// The key with secret `k` (not zero).
    fn from_scalar(k: Scalar) -> ServerKey {
        let point = RistrettoPoint::mul_base(&k);
        ServerKey {
            k,
            k_half: k * *HALF,
            pk: PublicKey {
                bytes: point.compress().0,
                point,
            },
        }
    }

    /// A fresh random key.
    pub fn generate(rng: &mut (impl RngCore + CryptoRng)) -> ServerKey {
        ServerKey::from_scalar(random_scalar(rng))
    }

    /// The key RFC 9497 `DeriveKeyPair` gives for `seed` and `info`.
    pub fn from_seed(seed: &[u8; 32], info: &[u8]) -> Result<ServerKey, Error> {
        let info_len = len_be(info).ok_or(Error::Input)?;
        for counter in 0..=u8::MAX {
            let k = suite::hash_to_scalar(
                &[seed, &info_len, info, &[counter]],
                suite::DST_DERIVE_KEY_PAIR,
            );
            if k != Scalar::ZERO {
                return Ok(ServerKey::from_scalar(k));
            }
        }
        // 256 zero scalars in a row: RFC 9497's DeriveKeyPairError.
        Err(Error::Input)
    }

    /// The serialized secret key (for a key store only): the 32-byte
    /// little-endian scalar then the 32-byte public key, as `voprf` 0.5's
    /// `VoprfServer::serialize` wrote it.
    pub fn to_secret_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(64));
        out.extend_from_slice(self.k.as_bytes());
        out.extend_from_slice(&self.pk.bytes);
        out
    }

    /// A key from [`ServerKey::to_secret_bytes`] (or `voprf` 0.5's
    /// serialization, the same bytes): a canonical non-zero scalar and
    /// its public key, which must be the scalar's. A bare 32-byte scalar
    /// is read too.
    pub fn from_secret_bytes(bytes: &[u8]) -> Result<ServerKey, Error> {
        let (k, pk) = match bytes.len() {
            32 => (bytes, None),
            64 => (&bytes[..32], Some(&bytes[32..])),
            _ => return Err(Error::InvalidKey),
        };
        let key = ServerKey::from_scalar(decode_scalar(k).ok_or(Error::InvalidKey)?);
        match pk {
            Some(pk) if pk != key.pk.bytes => Err(Error::InvalidKey),
            _ => Ok(key),
        }
    }

    /// Its public key.
    pub fn public_key(&self) -> PublicKey {
        self.pk
    }

    /// `F = OPRF(k, input)` without blinding: how the owner computes the
    /// tags of its own selectors.
    pub fn evaluate(&self, input: &[u8]) -> Result<Output, Error> {
        let len = len_be(input).ok_or(Error::Input)?;
        let p = suite::hash_to_group(input);
        if p.is_identity() {
            return Err(Error::Input);
        }
        // Constant-time: `k` is secret.
        let n = (self.k * p).compress().0;
        Ok(finalize_hash(len, input, &n))
    }

    /// [`ServerKey::evaluate`] of each of `inputs`, in order: the same
    /// outputs, cheaper per input (the encodings share one inversion).
    pub fn evaluate_many<I: AsRef<[u8]>>(&self, inputs: &[I]) -> Result<Vec<Output>, Error> {
        let mut lens = Vec::with_capacity(inputs.len());
        let mut halves = Zeroizing::new(Vec::with_capacity(inputs.len()));
        for input in inputs {
            let input = input.as_ref();
            lens.push(len_be(input).ok_or(Error::Input)?);
            let p = suite::hash_to_group(input);
            if p.is_identity() {
                return Err(Error::Input);
            }
            // N/2 = (k/2)·P, constant-time; the encodings of N in a batch.
            halves.push(self.k_half * p);
        }
        let elements = Zeroizing::new(encode_doubles(&halves));
        Ok(inputs
            .iter()
            .zip(lens)
            .zip(elements.iter())
            .map(|((input, len), n)| finalize_hash(len, input.as_ref(), n))
            .collect())
    }

    /// Evaluates a batch of blinded elements from a peer: one evaluated
    /// element each, and one proof for all of them.
    pub fn evaluate_batch(
        &self,
        blinded: &[Element],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<(Vec<Element>, [u8; PROOF_LEN]), Error> {
        let cs = decode_batch(blinded)?;
        let r = Zeroizing::new(random_scalar(rng));
        Ok(self.evaluate_decoded(&cs, blinded, &r))
    }

    /// [`ServerKey::evaluate_batch`] with the proof's randomness `r` given
    /// (RFC 9497's test vectors fix it).
    #[cfg(test)]
    fn evaluate_batch_with(
        &self,
        blinded: &[Element],
        r: &Scalar,
    ) -> Result<(Vec<Element>, [u8; PROOF_LEN]), Error> {
        let cs = decode_batch(blinded)?;
        Ok(self.evaluate_decoded(&cs, blinded, r))
    }

    /// `BlindEvaluateBatch` on decoded elements `cs` (encoded as
    /// `c_bytes`), with proof randomness `r`.
    fn evaluate_decoded(
        &self,
        cs: &[RistrettoPoint],
        c_bytes: &[Element],
        r: &Scalar,
    ) -> (Vec<Element>, [u8; PROOF_LEN]) {
        // D/2 = (k/2)·C, constant-time; then the encodings of D in a batch.
        let halves: Vec<RistrettoPoint> = cs.iter().map(|c| self.k_half * c).collect();
        let d_bytes = encode_doubles(&halves);
        let proof = dleq::generate(
            &self.k,
            &self.k_half,
            &self.pk.bytes,
            cs,
            c_bytes,
            &d_bytes,
            r,
        );
        (d_bytes, proof)
    }
}

/// The querier's secret for one blinded input, kept until the answer.
/// Zeroized on drop; its `Debug` shows nothing.
pub struct Blind {
    /// The blind `r`, never zero.
    r: Scalar,
    /// The blinded element `C = r·H(input)`.
    element: RistrettoPoint,
    /// Its encoding, as sent.
    bytes: Element,
}

impl Drop for Blind {
    fn drop(&mut self) {
        self.r.zeroize();
    }
}

impl std::fmt::Debug for Blind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Blind(..)")
    }
}

/// Blinds `input`: the secret to keep and the element to send.
pub fn blind(
    input: &[u8],
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<(Blind, Element), Error> {
    let (blinds, elements) = blind_batch(&[input], rng)?;
    // One input, one of each.
    blinds.into_iter().zip(elements).next().ok_or(Error::Input)
}

/// Blinds each of `inputs`: the secrets to keep and the elements to send,
/// in order. Cheaper per input than [`blind`]: the encodings share one
/// inversion.
pub fn blind_batch<I: AsRef<[u8]>>(
    inputs: &[I],
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<(Vec<Blind>, Vec<Element>), Error> {
    blind_with(inputs, std::iter::repeat_with(|| random_scalar(rng)))
}

/// [`blind_batch`] with the blinds given (RFC 9497's test vectors fix
/// them); each must be non-zero.
fn blind_with<I: AsRef<[u8]>>(
    inputs: &[I],
    blinds: impl Iterator<Item = Scalar>,
) -> Result<(Vec<Blind>, Vec<Element>), Error> {
    let mut rs = Zeroizing::new(Vec::with_capacity(inputs.len()));
    let mut halves = Vec::with_capacity(inputs.len());
    for (input, r) in inputs.iter().zip(blinds) {
        let input = input.as_ref();
        if len_be(input).is_none() {
            return Err(Error::Input);
        }
        let p = suite::hash_to_group(input);
        if p.is_identity() {
            return Err(Error::Input);
        }
        // C/2 = (r/2)·P, constant-time; the encodings of C in a batch.
        let r_half = Zeroizing::new(r * *HALF);
        halves.push(*r_half * p);
        rs.push(r);
    }
    let bytes = encode_doubles(&halves);
    let blinds = rs
        .iter()
        .zip(&halves)
        .zip(&bytes)
        .map(|((r, half), b)| Blind {
            r: *r,
            element: half + half,
            bytes: *b,
        })
        .collect();
    Ok((blinds, bytes))
}

/// Checks the owner's batch proof against its published key and unblinds
/// every answer: `F` for each input, in order.
pub fn finalize_batch(
    inputs: &[Vec<u8>],
    blinds: &[Blind],
    evaluated: &[Element],
    proof: &[u8; PROOF_LEN],
    key: &PublicKey,
) -> Result<Vec<Output>, Error> {
    let n = inputs.len();
    if n == 0 || n > MAX_BATCH || blinds.len() != n || evaluated.len() != n {
        return Err(Error::Batch {
            len: evaluated.len(),
            max: MAX_BATCH,
        });
    }
    let lens = inputs
        .iter()
        .map(|i| len_be(i).ok_or(Error::Input))
        .collect::<Result<Vec<_>, _>>()?;
    let ds = decode_batch(evaluated)?;
    let c_bytes: Vec<&Element> = blinds.iter().map(|b| &b.bytes).collect();
    let verified = dleq::verify(
        &key.point,
        &key.bytes,
        blinds.iter().map(|b| b.element),
        &c_bytes,
        &ds,
        evaluated,
        proof,
    );
    if !verified {
        return Err(Error::Proof);
    }
    // Unblinding, N = r⁻¹·D: one scalar inversion for the batch
    // (Montgomery's trick), of 2r, for N/2 and the batched encodings.
    let mut inverses: Zeroizing<Vec<Scalar>> =
        Zeroizing::new(blinds.iter().map(|b| b.r + b.r).collect());
    Scalar::batch_invert(&mut inverses);
    // Constant-time: the blinds are secret.
    let halves: Zeroizing<Vec<RistrettoPoint>> =
        Zeroizing::new(inverses.iter().zip(&ds).map(|(i, d)| i * d).collect());
    let unblinded = Zeroizing::new(encode_doubles(&halves));
    Ok(inputs
        .iter()
        .zip(lens)
        .zip(unblinded.iter())
        .map(|((input, len), n)| finalize_hash(len, input, n))
        .collect())
}

/// Decodes a batch a peer sent (1 to [`MAX_BATCH`] elements), naming the
/// first element that is invalid.
fn decode_batch(elements: &[Element]) -> Result<Vec<RistrettoPoint>, Error> {
    if elements.is_empty() || elements.len() > MAX_BATCH {
        return Err(Error::Batch {
            len: elements.len(),
            max: MAX_BATCH,
        });
    }
    elements
        .iter()
        .enumerate()
        .map(|(index, e)| decode(e).ok_or(Error::InvalidElement { index }))
        .collect()
}

#[cfg(test)]
mod tests;
