//! The verifiable OPRF that matching is built on: RFC 9497, ciphersuite
//! ristretto255-SHA512, VOPRF mode, from the `voprf` crate, behind the
//! few calls Liaison needs.
//!
//! The flow, for a querier A and an owner B (DESIGN.md, "Matching"):
//! 1. B keeps a [`ServerKey`] per (peer, epoch) and publishes its
//!    [`PublicKey`] in a signed manifest.
//! 2. A [`blind`]s the [`input`] of each selector and sends the 32-byte
//!    blinded elements.
//! 3. B [`ServerKey::evaluate_batch`]es them: one evaluated element each and
//!    one proof for the whole batch that they were made with the key behind
//!    the published public key.
//! 4. A [`finalize_batch`]es: checks the proof, unblinds, and gets the OPRF
//!    output `F`; [`tag`]`(F)` is what B's filter holds for its own selectors
//!    (B computes them directly with [`ServerKey::evaluate`]).
//!
//! Everything a peer sends is decoded here and refused with an
//! [`Error`] naming the element: no input panics.

use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha512};
use voprf::{
    BlindedElement, EvaluationElement, Group, Proof, Ristretto255, VoprfClient, VoprfServer,
};

use crate::selector::Selector;

type Suite = Ristretto255;

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
    /// The public key is not a valid group element.
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
    /// An input is empty or over 65,535 bytes.
    #[error("an OPRF input must be 1 to 65535 bytes")]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(Element);

impl PublicKey {
    /// Reads a published key, refusing anything that is not a valid
    /// non-identity element.
    pub fn from_bytes(bytes: &[u8]) -> Result<PublicKey, Error> {
        let elem = Suite::deserialize_elem(bytes).map_err(|_| Error::InvalidKey)?;
        Ok(PublicKey(array(&Suite::serialize_elem(elem))))
    }

    /// Its bytes.
    pub fn to_bytes(&self) -> Element {
        self.0
    }

    fn elem(&self) -> Result<<Suite as Group>::Elem, Error> {
        Suite::deserialize_elem(&self.0).map_err(|_| Error::InvalidKey)
    }
}

/// The owner's secret OPRF key for one (peer, epoch). Zeroized on drop
/// (by `voprf`); its `Debug` shows nothing.
pub struct ServerKey(VoprfServer<Suite>);

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey(..)")
    }
}

impl ServerKey {
    /// A fresh random key.
    pub fn generate(rng: &mut (impl RngCore + CryptoRng)) -> ServerKey {
        loop {
            // A zero or invalid scalar is astronomically unlikely; retry.
            if let Ok(k) = VoprfServer::new(rng) {
                return ServerKey(k);
            }
        }
    }

    /// The key RFC 9497 `DeriveKeyPair` gives for `seed` and `info`.
    pub fn from_seed(seed: &[u8; 32], info: &[u8]) -> Result<ServerKey, Error> {
        VoprfServer::new_from_seed(seed, info)
            .map(ServerKey)
            .map_err(|_| Error::Input)
    }

    /// The serialized secret scalar (for the node's key store only).
    pub fn to_secret_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        zeroize::Zeroizing::new(self.0.serialize().to_vec())
    }

    /// A key from [`ServerKey::to_secret_bytes`].
    pub fn from_secret_bytes(bytes: &[u8]) -> Result<ServerKey, Error> {
        VoprfServer::deserialize(bytes)
            .map(ServerKey)
            .map_err(|_| Error::InvalidKey)
    }

    /// Its public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(array(&Suite::serialize_elem(self.0.get_public_key())))
    }

    /// `F = OPRF(k, input)` without blinding: how the owner computes the
    /// tags of its own selectors.
    pub fn evaluate(&self, input: &[u8]) -> Result<Output, Error> {
        Ok(array(&self.0.evaluate(input).map_err(|_| Error::Input)?))
    }

    /// Evaluates a batch of blinded elements from a peer: one evaluated
    /// element each, and one proof for all of them.
    pub fn evaluate_batch(
        &self,
        blinded: &[Element],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<(Vec<Element>, [u8; PROOF_LEN]), Error> {
        if blinded.is_empty() || blinded.len() > MAX_BATCH {
            return Err(Error::Batch {
                len: blinded.len(),
                max: MAX_BATCH,
            });
        }
        let elements = decode_all(blinded, BlindedElement::<Suite>::deserialize)?;
        let result = self
            .0
            .batch_blind_evaluate(rng, &elements)
            .map_err(|_| Error::Batch {
                len: blinded.len(),
                max: MAX_BATCH,
            })?;
        let evaluated = result
            .messages
            .iter()
            .map(|m| array(&m.serialize()))
            .collect();
        Ok((evaluated, array(&result.proof.serialize())))
    }
}

/// The querier's secret for one blinded input, kept until the answer.
pub struct Blind(VoprfClient<Suite>);

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
    let r = VoprfClient::<Suite>::blind(input, rng).map_err(|_| Error::Input)?;
    Ok((Blind(r.state), array(&r.message.serialize())))
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
    let messages = decode_all(evaluated, EvaluationElement::<Suite>::deserialize)?;
    let proof = Proof::<Suite>::deserialize(proof).map_err(|_| Error::Proof)?;
    // `voprf` wants its own client values; each is a scalar and a point.
    let clients: Vec<VoprfClient<Suite>> = blinds.iter().map(|b| b.0.clone()).collect();
    let inputs: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
    let outputs = VoprfClient::batch_finalize(&inputs, &clients, &messages, &proof, key.elem()?)
        .map_err(|_| Error::Proof)?;
    outputs
        .map(|o| o.map(|f| array(&f)).map_err(|_| Error::Input))
        .collect()
}

/// Decodes each element a peer sent, naming the first that is invalid.
fn decode_all<T>(
    elements: &[Element],
    decode: impl Fn(&[u8]) -> voprf::Result<T>,
) -> Result<Vec<T>, Error> {
    elements
        .iter()
        .enumerate()
        .map(|(index, e)| decode(e).map_err(|_| Error::InvalidElement { index }))
        .collect()
}

/// The fixed-size array of a serialized value whose size the ciphersuite
/// fixes.
fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(bytes);
    out
}

#[cfg(test)]
mod tests;
