//! The ciphersuite's primitives (RFC 9497 §4.1, ristretto255-SHA512):
//! encoding and decoding of elements, `HashToGroup`, `HashToScalar`
//! (RFC 9380 `expand_message_xmd` over SHA-512), random scalars, and the
//! batched encoding of points whose halves are known.

use std::sync::LazyLock;

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha512};
use zeroize::Zeroize;

use super::{Element, ELEMENT_LEN};

/// RFC 9497 §3.1 `contextString` for VOPRF mode (0x01) and this suite,
/// which every DST below ends with (a test checks them).
#[cfg(test)]
pub(super) const CONTEXT: &[u8] = b"OPRFV1-\x01-ristretto255-SHA512";
/// `"HashToGroup-" || contextString`.
pub(super) const DST_HASH_TO_GROUP: &[u8] = b"HashToGroup-OPRFV1-\x01-ristretto255-SHA512";
/// `"HashToScalar-" || contextString`.
pub(super) const DST_HASH_TO_SCALAR: &[u8] = b"HashToScalar-OPRFV1-\x01-ristretto255-SHA512";
/// `"DeriveKeyPair" || contextString` (no hyphen: RFC 9497 §3.2.1).
pub(super) const DST_DERIVE_KEY_PAIR: &[u8] = b"DeriveKeyPairOPRFV1-\x01-ristretto255-SHA512";
/// `"Seed-" || contextString`.
pub(super) const DST_SEED: &[u8] = b"Seed-OPRFV1-\x01-ristretto255-SHA512";

/// `I2OSP(Ne, 2)`: the length prefix of a serialized element.
pub(super) const ELEMENT_LEN_BE: [u8; 2] = (ELEMENT_LEN as u16).to_be_bytes();

/// SHA-512's state after `Z_pad` (one zero block), the common start of
/// every `expand_message_xmd` call: one compression saved per hash.
static AFTER_Z_PAD: LazyLock<Sha512> = LazyLock::new(|| Sha512::new_with_prefix([0u8; 128]));

/// `2⁻¹ mod ℓ`: multiplying a point by `s/2` and encoding its double is
/// how a batch of encodings shares one inversion.
pub(super) static HALF: LazyLock<Scalar> = LazyLock::new(|| Scalar::from(2u8).invert());

/// RFC 9380 §5.3.1 `expand_message_xmd` with SHA-512 for 64 bytes, the
/// only length this suite asks for (`ell = 1`, so the output is `b_1`).
/// `msg` is given in parts; `dst` is one of this module's (under 256
/// bytes).
pub(super) fn expand_message_xmd(msg: &[&[u8]], dst: &[u8]) -> [u8; 64] {
    debug_assert!(dst.len() < 256);
    let dst_len = [dst.len() as u8];
    let mut h = AFTER_Z_PAD.clone();
    for part in msg {
        h.update(part);
    }
    // l_i_b_str = I2OSP(64, 2), then I2OSP(0, 1), then DST_prime.
    h.update([0u8, 64, 0]);
    h.update(dst);
    h.update(dst_len);
    let b0 = h.finalize();
    let b1 = Sha512::new()
        .chain_update(b0)
        .chain_update([1u8])
        .chain_update(dst)
        .chain_update(dst_len)
        .finalize();
    b1.into()
}

/// RFC 9497 `HashToGroup`: RFC 9380's `hash_to_ristretto255` (Appendix B).
pub(super) fn hash_to_group(input: &[u8]) -> RistrettoPoint {
    RistrettoPoint::from_uniform_bytes(&expand_message_xmd(&[input], DST_HASH_TO_GROUP))
}

/// RFC 9497 `HashToScalar` with the given DST: 64 uniform bytes read
/// little-endian and reduced modulo the group order.
pub(super) fn hash_to_scalar(msg: &[&[u8]], dst: &[u8]) -> Scalar {
    let mut wide = expand_message_xmd(msg, dst);
    let s = Scalar::from_bytes_mod_order_wide(&wide);
    wide.zeroize();
    s
}

/// RFC 9497 `RandomScalar`: a uniform non-zero scalar, by wide reduction
/// of 64 random bytes (as `curve25519-dalek`'s `Scalar::random`).
pub(super) fn random_scalar(rng: &mut (impl RngCore + CryptoRng)) -> Scalar {
    let mut wide = [0u8; 64];
    loop {
        rng.fill_bytes(&mut wide);
        let s = Scalar::from_bytes_mod_order_wide(&wide);
        if s != Scalar::ZERO {
            wide.zeroize();
            return s;
        }
    }
}

/// RFC 9497 `DeserializeElement`: a canonical ristretto255 encoding of
/// anything but the identity (the refusals of `voprf` 0.5).
pub(super) fn decode(bytes: &Element) -> Option<RistrettoPoint> {
    CompressedRistretto(*bytes)
        .decompress()
        .filter(|p| !p.is_identity())
}

/// A canonical scalar other than zero (how `voprf` 0.5 reads a proof's
/// scalars and a secret key).
pub(super) fn decode_scalar(bytes: &[u8]) -> Option<Scalar> {
    let bytes: [u8; 32] = bytes.try_into().ok()?;
    Option::<Scalar>::from(Scalar::from_canonical_bytes(bytes)).filter(|s| *s != Scalar::ZERO)
}

/// The encodings of `2·P` for each `P` in `halves`, sharing one field
/// inversion across the batch (`double_and_compress_batch`) where each
/// plain encoding costs an inverse square root. Callers pass `P = (s/2)·Q`
/// to get the encoding of `s·Q`.
pub(super) fn encode_doubles(halves: &[RistrettoPoint]) -> Vec<Element> {
    // The batch formula divides by zero on the identity (and would spoil
    // every encoding of the batch); none of our callers has one, but the
    // check costs four multiplications a point.
    if halves.iter().any(IsIdentity::is_identity) {
        return halves.iter().map(|p| (p + p).compress().0).collect();
    }
    RistrettoPoint::double_and_compress_batch(halves)
        .into_iter()
        .map(|c| c.0)
        .collect()
}

/// `I2OSP(len, 2)` of an input, or `None` over 65,535 bytes.
pub(super) fn len_be(input: &[u8]) -> Option<[u8; 2]> {
    u16::try_from(input.len()).ok().map(u16::to_be_bytes)
}

/// RFC 9497 `Finalize`'s hash: `Hash(I2OSP(len(input), 2) || input ||
/// I2OSP(Ne, 2) || element || "Finalize")`. The caller has checked the
/// input's length.
pub(super) fn finalize_hash(len: [u8; 2], input: &[u8], element: &Element) -> [u8; 64] {
    Sha512::new()
        .chain_update(len)
        .chain_update(input)
        .chain_update(ELEMENT_LEN_BE)
        .chain_update(element)
        .chain_update(b"Finalize")
        .finalize()
        .into()
}
