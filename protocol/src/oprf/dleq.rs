//! RFC 9497 §2.2: the batch DLEQ proof that every evaluated element
//! `D[i] = k·C[i]` was made with the `k` behind the public key `B = k·G`
//! (`A = G` in VOPRF mode).
//!
//! The composites `M = Σ dᵢ·C[i]` and `Z = Σ dᵢ·D[i]` are public (the
//! seeds `dᵢ` hash public elements), so both sides compute them with one
//! variable-time multiscalar multiplication (Pippenger's method at batch
//! sizes) instead of one scalar multiplication per element. Only the
//! owner's `Z = k·M`, `r·G` and `r·M` touch secrets, and they are
//! constant-time.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::VartimeMultiscalarMul;
use sha2::{Digest, Sha512};
use zeroize::Zeroizing;

use super::suite::{
    decode_scalar, encode_doubles, hash_to_scalar, DST_HASH_TO_SCALAR, DST_SEED, ELEMENT_LEN_BE,
    HALF,
};
use super::{Element, PROOF_LEN};

/// `ComputeComposites`' `seed`: `Hash(I2OSP(Ne, 2) || Bm ||
/// I2OSP(len(seedDST), 2) || seedDST)`.
fn seed(pk: &Element) -> [u8; 64] {
    Sha512::new()
        .chain_update(ELEMENT_LEN_BE)
        .chain_update(pk)
        .chain_update((DST_SEED.len() as u16).to_be_bytes())
        .chain_update(DST_SEED)
        .finalize()
        .into()
}

/// The composite weights `dᵢ = HashToScalar(I2OSP(64, 2) || seed ||
/// I2OSP(i, 2) || I2OSP(Ne, 2) || Cᵢ || I2OSP(Ne, 2) || Dᵢ ||
/// "Composite")` of each pair of encodings, in order. Batches are at most
/// [`super::MAX_BATCH`], so `i` fits its two bytes.
fn weights<'a>(
    pk: &Element,
    pairs: impl ExactSizeIterator<Item = (&'a Element, &'a Element)>,
) -> Vec<Scalar> {
    let seed = seed(pk);
    let seed_len = 64u16.to_be_bytes();
    pairs
        .enumerate()
        .map(|(i, (c, d))| {
            let i = (i as u16).to_be_bytes();
            hash_to_scalar(
                &[
                    &seed_len,
                    &seed,
                    &i,
                    &ELEMENT_LEN_BE,
                    c,
                    &ELEMENT_LEN_BE,
                    d,
                    b"Composite",
                ],
                DST_HASH_TO_SCALAR,
            )
        })
        .collect()
}

/// The challenge `c = HashToScalar(I2OSP(Ne, 2) || Bm || … || a3 ||
/// "Challenge")` over the public key, `M`, `Z`, `t2` and `t3`.
fn challenge(pk: &Element, m: &Element, z: &Element, t2: &Element, t3: &Element) -> Scalar {
    let n = &ELEMENT_LEN_BE;
    hash_to_scalar(
        &[n, pk, n, m, n, z, n, t2, n, t3, b"Challenge"],
        DST_HASH_TO_SCALAR,
    )
}

/// The owner's side: `GenerateProof(k, G, B, C, D)` with
/// `ComputeCompositesFast` and the proof randomness `r`. `k_half` is
/// `k/2` (for the batched encodings); `cs` are the blinded elements,
/// `c_bytes` and `d_bytes` the encodings of `C` and `D = k·C`, all of
/// one length (`curve25519-dalek`'s multiscalar multiplication asserts
/// it; the callers check batches first).
pub(super) fn generate(
    k: &Scalar,
    k_half: &Scalar,
    pk: &Element,
    cs: &[RistrettoPoint],
    c_bytes: &[Element],
    d_bytes: &[Element],
    r: &Scalar,
) -> [u8; PROOF_LEN] {
    let d = weights(pk, c_bytes.iter().zip(d_bytes));
    // Public: the weights and the blinded elements are.
    let m = RistrettoPoint::vartime_multiscalar_mul(&d, cs);
    let r_half = Zeroizing::new(r * *HALF);
    // Secret scalars from here: constant-time multiplications only.
    let z_half = k_half * m;
    let t2_half = RistrettoPoint::mul_base(&r_half);
    let t3_half = *r_half * m;
    let encoded = encode_doubles(&[z_half, t2_half, t3_half]);
    let c = challenge(pk, &m.compress().0, &encoded[0], &encoded[1], &encoded[2]);
    let s = r - c * k;
    let mut proof = [0u8; PROOF_LEN];
    proof[..32].copy_from_slice(c.as_bytes());
    proof[32..].copy_from_slice(s.as_bytes());
    proof
}

/// The querier's side: `VerifyProof(G, B, C, D, proof)`. Both scalars of
/// the proof must be canonical and non-zero (as `voprf` reads them).
/// Everything here is public, so it is all variable-time. `cs`,
/// `c_bytes`, `ds` and `d_bytes` are of one length (as for [`generate`]).
pub(super) fn verify(
    pk: &RistrettoPoint,
    pk_bytes: &Element,
    cs: impl ExactSizeIterator<Item = RistrettoPoint>,
    c_bytes: &[&Element],
    ds: &[RistrettoPoint],
    d_bytes: &[Element],
    proof: &[u8; PROOF_LEN],
) -> bool {
    let (Some(c), Some(s)) = (decode_scalar(&proof[..32]), decode_scalar(&proof[32..])) else {
        return false;
    };
    let d = weights(pk_bytes, c_bytes.iter().copied().zip(d_bytes));
    let m = RistrettoPoint::vartime_multiscalar_mul(&d, cs);
    let z = RistrettoPoint::vartime_multiscalar_mul(&d, ds);
    // t2 = s·G + c·B, t3 = s·M + c·Z.
    let t2 = RistrettoPoint::vartime_double_scalar_mul_basepoint(&c, pk, &s);
    let t3 = RistrettoPoint::vartime_multiscalar_mul([s, c], [m, z]);
    let expected = challenge(
        pk_bytes,
        &m.compress().0,
        &z.compress().0,
        &t2.compress().0,
        &t3.compress().0,
    );
    // Scalar equality is constant-time (not that anything here is secret).
    expected == c
}
