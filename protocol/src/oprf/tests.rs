//! RFC 9497 Appendix A.1.2 (ristretto255-SHA512, VOPRF mode): every test
//! vector, proofs included, through this module's own code; the `voprf`
//! crate as an oracle (both directions, same bytes); then what a dishonest
//! owner or a hostile querier can send.

use curve25519_dalek::ristretto::CompressedRistretto;
use proptest::prelude::*;
use rand_core::{CryptoRng, RngCore};
use voprf::{
    BlindedElement, EvaluationElement, Group, Proof, Ristretto255, VoprfClient, VoprfServer,
};

use super::*;

type Oracle = Ristretto255;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Yields fixed bytes: a 32-byte scalar then zeros, which the wide
/// reduction behind `Scalar::random` (ours and `voprf`'s) maps back to
/// that scalar.
struct Fixed(Vec<u8>);

impl RngCore for Fixed {
    fn next_u32(&mut self) -> u32 {
        0
    }
    fn next_u64(&mut self) -> u64 {
        0
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        let mut src = self.0.clone();
        src.resize(dest.len(), 0);
        dest.copy_from_slice(&src[..dest.len()]);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl CryptoRng for Fixed {}

const SEED: &str = "a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3";
const KEY_INFO: &str = "74657374206b6579";
const SK: &str = "e6f73f344b79b379f1a0dd37e07ff62e38d9f71345ce62ae3a9bc60b04ccd909";
const PK: &str = "c803e2cc6b05fc15064549b5920659ca4a77b2cca6f04f6b357009335476ad4e";

struct Vector {
    inputs: &'static [&'static str],
    blinds: &'static [&'static str],
    blinded: &'static [&'static str],
    evaluated: &'static [&'static str],
    proof: &'static str,
    proof_scalar: &'static str,
    outputs: &'static [&'static str],
}

const VECTORS: [Vector; 3] = [
    Vector {
        inputs: &["00"],
        blinds: &["64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706"],
        blinded: &["863f330cc1a1259ed5a5998a23acfd37fb4351a793a5b3c090b642ddc439b945"],
        evaluated: &["aa8fa048764d5623868679402ff6108d2521884fa138cd7f9c7669a9a014267e"],
        proof: "ddef93772692e535d1a53903db24367355cc2cc78de93b3be5a8ffcc6985dd066d4346421d17bf5117a2a1ff0fcb2a759f58a539dfbe857a40bce4cf49ec600d",
        proof_scalar: "222a5e897cf59db8145db8d16e597e8facb80ae7d4e26d9881aa6f61d645fc0e",
        outputs: &["b58cfbe118e0cb94d79b5fd6a6dafb98764dff49c14e1770b566e42402da1a7da4d8527693914139caee5bd03903af43a491351d23b430948dd50cde10d32b3c"],
    },
    Vector {
        inputs: &["5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"],
        blinds: &["64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706"],
        blinded: &["cc0b2a350101881d8a4cba4c80241d74fb7dcbfde4a61fde2f91443c2bf9ef0c"],
        evaluated: &["60a59a57208d48aca71e9e850d22674b611f752bed48b36f7a91b372bd7ad468"],
        proof: "401a0da6264f8cf45bb2f5264bc31e109155600babb3cd4e5af7d181a2c9dc0a67154fabf031fd936051dec80b0b6ae29c9503493dde7393b722eafdf5a50b02",
        proof_scalar: "222a5e897cf59db8145db8d16e597e8facb80ae7d4e26d9881aa6f61d645fc0e",
        outputs: &["8a9a2f3c7f085b65933594309041fc1898d42d0858e59f90814ae90571a6df60356f4610bf816f27afdd84f47719e480906d27ecd994985890e5f539e7ea74b6"],
    },
    Vector {
        inputs: &["00", "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"],
        blinds: &[
            "64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706",
            "222a5e897cf59db8145db8d16e597e8facb80ae7d4e26d9881aa6f61d645fc0e",
        ],
        blinded: &[
            "863f330cc1a1259ed5a5998a23acfd37fb4351a793a5b3c090b642ddc439b945",
            "90a0145ea9da29254c3a56be4fe185465ebb3bf2a1801f7124bbbadac751e654",
        ],
        evaluated: &[
            "aa8fa048764d5623868679402ff6108d2521884fa138cd7f9c7669a9a014267e",
            "cc5ac221950a49ceaa73c8db41b82c20372a4c8d63e5dded2db920b7eee36a2a",
        ],
        proof: "cc203910175d786927eeb44ea847328047892ddf8590e723c37205cb74600b0a5ab5337c8eb4ceae0494c2cf89529dcf94572ed267473d567aeed6ab873dee08",
        proof_scalar: "419c4f4f5052c53c45f3da494d2b67b220d02118e0857cdbcf037f9ea84bbe0c",
        outputs: &[
            "b58cfbe118e0cb94d79b5fd6a6dafb98764dff49c14e1770b566e42402da1a7da4d8527693914139caee5bd03903af43a491351d23b430948dd50cde10d32b3c",
            "8a9a2f3c7f085b65933594309041fc1898d42d0858e59f90814ae90571a6df60356f4610bf816f27afdd84f47719e480906d27ecd994985890e5f539e7ea74b6",
        ],
    },
];

/// A fixed-size array of `voprf`'s serialized bytes.
fn arr<const N: usize>(bytes: &[u8]) -> [u8; N] {
    bytes.try_into().expect("the suite's length")
}

fn element(s: &str) -> Element {
    hex(s).try_into().expect("32 bytes")
}

fn scalar(s: &str) -> Scalar {
    decode_scalar(&hex(s)).expect("a canonical non-zero scalar")
}

fn vector_key() -> ServerKey {
    let seed: [u8; 32] = hex(SEED).try_into().expect("32 bytes");
    ServerKey::from_seed(&seed, &hex(KEY_INFO)).expect("derives")
}

#[test]
fn rfc9497_a_1_2_voprf_ristretto255_sha512() {
    let key = vector_key();
    assert_eq!(key.k.as_bytes().to_vec(), hex(SK), "skSm");
    assert_eq!(key.public_key().to_bytes().to_vec(), hex(PK), "pkSm");
    let pk = PublicKey::from_bytes(&hex(PK)).expect("valid key");
    for (n, v) in VECTORS.iter().enumerate() {
        let inputs: Vec<Vec<u8>> = v.inputs.iter().map(|i| hex(i)).collect();
        let (blinds, blinded) =
            blind_with(&inputs, v.blinds.iter().map(|b| scalar(b))).expect("blinds");
        let want: Vec<Element> = v.blinded.iter().map(|b| element(b)).collect();
        assert_eq!(blinded, want, "vector {n} blinded");
        let (evaluated, proof) = key
            .evaluate_batch_with(&blinded, &scalar(v.proof_scalar))
            .expect("evaluates");
        let want: Vec<Element> = v.evaluated.iter().map(|e| element(e)).collect();
        assert_eq!(evaluated, want, "vector {n} evaluated");
        assert_eq!(proof.to_vec(), hex(v.proof), "vector {n} proof");
        // The public entry point draws the proof scalar as `voprf` did.
        let (_, drawn) = key
            .evaluate_batch(&blinded, &mut Fixed(hex(v.proof_scalar)))
            .expect("evaluates");
        assert_eq!(drawn, proof, "vector {n} proof through the RNG");
        let outputs = finalize_batch(&inputs, &blinds, &evaluated, &proof, &pk).expect("verifies");
        for (i, o) in outputs.iter().enumerate() {
            assert_eq!(o.to_vec(), hex(v.outputs[i]), "vector {n} output {i}");
            // The owner's direct evaluation gives the same F: tags match.
            assert_eq!(&key.evaluate(&inputs[i]).expect("evaluates"), o);
        }
    }
}

#[test]
fn domain_separation_tags_are_rfc9497s() {
    let context = [&b"OPRFV1-"[..], &[1], b"-", b"ristretto255-SHA512"].concat();
    assert_eq!(suite::CONTEXT, &context[..]);
    let with = |prefix: &[u8]| [prefix, &context].concat();
    assert_eq!(suite::DST_HASH_TO_GROUP, &with(b"HashToGroup-")[..]);
    assert_eq!(suite::DST_HASH_TO_SCALAR, &with(b"HashToScalar-")[..]);
    assert_eq!(suite::DST_DERIVE_KEY_PAIR, &with(b"DeriveKeyPair")[..]);
    assert_eq!(suite::DST_SEED, &with(b"Seed-")[..]);
    assert_eq!(*HALF + *HALF, Scalar::ONE);
}

/// RFC 9380 Appendix K.3's `expand_message_xmd(SHA-512)` vectors of 64
/// bytes do not exist (it gives 32 and 128), so the expansion is checked
/// through RFC 9380 Appendix B's `hash_to_ristretto255`, as `voprf` and
/// `curve25519-dalek` compute it, for assorted messages.
#[test]
fn hash_to_group_is_voprfs() {
    let oracle = |input: &[u8]| {
        // `voprf` blinds `H(input)` with 1: the hashed point itself.
        VoprfClient::<Oracle>::deterministic_blind_unchecked(input, Scalar::ONE)
            .expect("hashes")
            .message
            .serialize()
            .to_vec()
    };
    for len in [0, 1, 17, 64, 111, 112, 127, 128, 129, 1000] {
        let input: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
        assert_eq!(
            suite::hash_to_group(&input).compress().0.to_vec(),
            oracle(&input),
            "input of {len} bytes"
        );
    }
}

#[test]
fn batched_encodings_match_one_by_one_even_with_the_identity() {
    use curve25519_dalek::traits::Identity;
    let mut rng = rand_core::OsRng;
    let mut points: Vec<RistrettoPoint> = (0..5)
        .map(|_| RistrettoPoint::mul_base(&random_scalar(&mut rng)))
        .collect();
    let want: Vec<Element> = points.iter().map(|p| (p + p).compress().0).collect();
    assert_eq!(encode_doubles(&points), want);
    points[2] = RistrettoPoint::identity();
    let want: Vec<Element> = points.iter().map(|p| (p + p).compress().0).collect();
    assert_eq!(encode_doubles(&points), want);
    assert_eq!(want[2], [0; 32]);
}

fn inputs(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("v1|phone|+99677598{i:04}").into_bytes())
        .collect()
}

#[test]
fn our_querier_with_voprfs_owner() {
    let mut rng = rand_core::OsRng;
    let seed = [5u8; 32];
    let ours = ServerKey::from_seed(&seed, b"interop").expect("derives");
    let theirs = VoprfServer::<Oracle>::new_from_seed(&seed, b"interop").expect("derives");
    let pk =
        PublicKey::from_bytes(&Oracle::serialize_elem(theirs.get_public_key())).expect("valid key");
    assert_eq!(pk, ours.public_key());
    for n in [1, 2, 7, 64] {
        let inputs = inputs(n);
        let (blinds, blinded) = blind_batch(&inputs, &mut rng).expect("blinds");
        let messages: Vec<BlindedElement<Oracle>> = blinded
            .iter()
            .map(|e| BlindedElement::deserialize(e).expect("valid"))
            .collect();
        let answer = theirs
            .batch_blind_evaluate(&mut rng, &messages)
            .expect("evaluates");
        let evaluated: Vec<Element> = answer
            .messages
            .iter()
            .map(|m| arr(&m.serialize()))
            .collect();
        let proof: [u8; PROOF_LEN] = arr(&answer.proof.serialize());
        let outputs = finalize_batch(&inputs, &blinds, &evaluated, &proof, &pk).expect("verifies");
        for (input, output) in inputs.iter().zip(&outputs) {
            assert_eq!(
                output.to_vec(),
                theirs.evaluate(input).expect("evaluates").to_vec()
            );
            assert_eq!(output, &ours.evaluate(input).expect("evaluates"));
        }
        // Tampered answers from their owner are refused by our querier.
        let mut bad = proof;
        bad[0] ^= 1;
        assert!(finalize_batch(&inputs, &blinds, &evaluated, &bad, &pk).is_err());
        let other = ServerKey::generate(&mut rng);
        let mut wrong = evaluated.clone();
        wrong[n - 1] = other
            .evaluate_batch(&blinded[n - 1..], &mut rng)
            .expect("ok")
            .0[0];
        assert_eq!(
            finalize_batch(&inputs, &blinds, &wrong, &proof, &pk).unwrap_err(),
            Error::Proof
        );
    }
}

#[test]
fn voprfs_querier_with_our_owner() {
    let mut rng = rand_core::OsRng;
    let ours = ServerKey::generate(&mut rng);
    let pk = Oracle::deserialize_elem(&ours.public_key().to_bytes()).expect("valid key");
    for n in [1, 2, 7, 64] {
        let inputs = inputs(n);
        let (clients, blinded): (Vec<VoprfClient<Oracle>>, Vec<Element>) = inputs
            .iter()
            .map(|i| {
                let r = VoprfClient::<Oracle>::blind(i, &mut rng).expect("blinds");
                (r.state, arr(&r.message.serialize()))
            })
            .unzip();
        let (evaluated, proof) = ours.evaluate_batch(&blinded, &mut rng).expect("evaluates");
        let decode = |evaluated: &[Element]| -> Vec<EvaluationElement<Oracle>> {
            evaluated
                .iter()
                .map(|e| EvaluationElement::deserialize(e).expect("valid"))
                .collect()
        };
        let messages = decode(&evaluated);
        let theirs_proof = Proof::<Oracle>::deserialize(&proof).expect("canonical");
        let outputs: Vec<Vec<u8>> =
            VoprfClient::batch_finalize(&inputs, &clients, &messages, &theirs_proof, pk)
                .expect("verifies")
                .map(|o| o.expect("finalizes").to_vec())
                .collect();
        for (input, output) in inputs.iter().zip(&outputs) {
            assert_eq!(output, &ours.evaluate(input).expect("evaluates").to_vec());
        }
        // Tampered answers from our owner are refused by their querier.
        let mut swapped = evaluated.clone();
        swapped.rotate_left(1);
        let proof_ok = n == 1; // rotating one element changes nothing
        let swapped = decode(&swapped);
        let r = VoprfClient::batch_finalize(&inputs, &clients, &swapped, &theirs_proof, pk);
        assert_eq!(r.is_ok(), proof_ok);
        let mut bad = proof;
        bad[33] ^= 0x10;
        if let Ok(bad) = Proof::<Oracle>::deserialize(&bad) {
            assert!(VoprfClient::batch_finalize(&inputs, &clients, &messages, &bad, pk).is_err());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Same blinds and proof randomness, same bytes as `voprf`: the
    /// blinded elements, the evaluated elements and the proof.
    #[test]
    fn wire_bytes_are_voprfs(
        seed in any::<[u8; 32]>(),
        blinds in proptest::collection::vec(any::<[u8; 32]>(), 1..6),
        r in any::<[u8; 32]>(),
    ) {
        let ours = ServerKey::from_seed(&seed, b"wire").expect("derives");
        let theirs = VoprfServer::<Oracle>::new_from_seed(&seed, b"wire").expect("derives");
        let blinds: Vec<Scalar> = blinds
            .iter()
            .map(|b| Scalar::from_bytes_mod_order(*b))
            .filter(|b| *b != Scalar::ZERO)
            .collect();
        prop_assume!(!blinds.is_empty());
        let inputs = inputs(blinds.len());
        let (_, blinded) = blind_with(&inputs, blinds.iter().copied()).expect("blinds");
        let mut messages = Vec::new();
        for ((input, b), element) in inputs.iter().zip(&blinds).zip(&blinded) {
            let o = VoprfClient::<Oracle>::deterministic_blind_unchecked(input, *b)
                .expect("blinds");
            prop_assert_eq!(o.message.serialize().to_vec(), element.to_vec());
            messages.push(o.message);
        }
        let r = Scalar::from_bytes_mod_order(r);
        prop_assume!(r != Scalar::ZERO);
        let (evaluated, proof) = ours.evaluate_batch_with(&blinded, &r).expect("evaluates");
        let answer = theirs
            .batch_blind_evaluate(&mut Fixed(r.as_bytes().to_vec()), &messages)
            .expect("evaluates");
        let want: Vec<Element> = answer.messages.iter().map(|m| arr(&m.serialize())).collect();
        prop_assert_eq!(evaluated, want);
        prop_assert_eq!(proof.to_vec(), answer.proof.serialize().to_vec());
    }

    /// Keys from seeds, and the owner's direct evaluation, are `voprf`'s.
    #[test]
    fn keys_and_direct_evaluation_are_voprfs(
        seed in any::<[u8; 32]>(),
        info in proptest::collection::vec(any::<u8>(), 0..40),
        input in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let ours = ServerKey::from_seed(&seed, &info).expect("derives");
        let theirs = VoprfServer::<Oracle>::new_from_seed(&seed, &info).expect("derives");
        prop_assert_eq!(ours.to_secret_bytes().to_vec(), theirs.serialize().to_vec());
        prop_assert_eq!(
            ours.evaluate(&input).expect("evaluates").to_vec(),
            theirs.evaluate(&input).expect("evaluates").to_vec()
        );
    }

    /// Any 32 bytes: we refuse exactly what `voprf` refuses, and read the
    /// rest as the same element.
    #[test]
    fn element_decoding_is_voprfs(bytes in any::<[u8; 32]>()) {
        let ours = decode(&bytes).map(|p| p.compress().0);
        let theirs = Oracle::deserialize_elem(&bytes).ok().map(|p| p.compress().0);
        prop_assert_eq!(ours, theirs);
        prop_assert_eq!(ours.is_some(), PublicKey::from_bytes(&bytes).is_ok());
    }

    /// A valid element's encoding, reread: the same bytes.
    #[test]
    fn valid_elements_decode_to_themselves(s in any::<[u8; 32]>()) {
        let s = Scalar::from_bytes_mod_order(s);
        prop_assume!(s != Scalar::ZERO);
        let bytes = RistrettoPoint::mul_base(&s).compress().0;
        prop_assert_eq!(decode(&bytes).map(|p| p.compress().0), Some(bytes));
        prop_assert!(Oracle::deserialize_elem(&bytes).is_ok());
    }
}

/// The encodings `voprf` refuses, refused alike: the identity, the field
/// prime and values over it (non-canonical), the high bit set, a
/// "negative" field element, and a non-square.
#[test]
fn identity_and_non_canonical_encodings_are_refused_as_voprf_does() {
    let p: Element = hex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
        .try_into()
        .expect("32 bytes");
    let mut p_plus_2 = p;
    p_plus_2[0] += 2;
    let valid = RistrettoPoint::mul_base(&Scalar::from(9u8)).compress().0;
    let mut high_bit = valid;
    high_bit[31] |= 0x80;
    let mut negative = [0u8; 32];
    negative[0] = 1;
    let mut cases = vec![[0u8; 32], p, p_plus_2, high_bit, negative, [0xff; 32]];
    // s + p for small s: the same field element, not its canonical bytes.
    for s in 0..19u8 {
        let mut b = p;
        b[0] = b[0].wrapping_add(s);
        cases.push(b);
    }
    for bytes in &cases {
        assert!(decode(bytes).is_none(), "{bytes:02x?}");
        assert!(Oracle::deserialize_elem(bytes).is_err(), "{bytes:02x?}");
        assert_eq!(PublicKey::from_bytes(bytes), Err(Error::InvalidKey));
    }
    // The identity decompresses (it is a point) but is refused.
    assert!(CompressedRistretto([0; 32]).decompress().is_some());
    let key = ServerKey::generate(&mut rand_core::OsRng);
    for (index, bytes) in cases.iter().enumerate() {
        let mut batch = vec![valid; cases.len()];
        batch[index] = *bytes;
        assert_eq!(
            key.evaluate_batch(&batch, &mut rand_core::OsRng)
                .unwrap_err(),
            Error::InvalidElement { index }
        );
    }
}

fn round(key: &ServerKey, n: usize) -> (Vec<Vec<u8>>, Vec<Blind>, Vec<Element>, [u8; 64]) {
    let mut rng = rand_core::OsRng;
    let inputs = inputs(n);
    let (blinds, blinded): (Vec<_>, Vec<_>) = inputs
        .iter()
        .map(|i| blind(i, &mut rng).expect("blinds"))
        .unzip();
    let (evaluated, proof) = key.evaluate_batch(&blinded, &mut rng).expect("evaluates");
    (inputs, blinds, evaluated, proof)
}

#[test]
fn a_wrong_key_or_a_tampered_answer_is_refused() {
    let mut rng = rand_core::OsRng;
    let key = ServerKey::generate(&mut rng);
    let other = ServerKey::generate(&mut rng);
    let (inputs, blinds, evaluated, proof) = round(&key, 5);
    let outputs =
        finalize_batch(&inputs, &blinds, &evaluated, &proof, &key.public_key()).expect("honest");
    for (i, o) in outputs.iter().enumerate() {
        assert_eq!(tag(o), tag(&key.evaluate(&inputs[i]).expect("evaluates")));
    }
    // Evaluated with one key, proven against the published other.
    assert_eq!(
        finalize_batch(&inputs, &blinds, &evaluated, &proof, &other.public_key()).unwrap_err(),
        Error::Proof
    );
    // One answer swapped for another valid element.
    let mut swapped = evaluated.clone();
    swapped.swap(0, 1);
    assert_eq!(
        finalize_batch(&inputs, &blinds, &swapped, &proof, &key.public_key()).unwrap_err(),
        Error::Proof
    );
    // A proof bit flipped, in either scalar.
    for at in [0, 10, 32, 40] {
        let mut bad = proof;
        bad[at] ^= 1;
        assert_eq!(
            finalize_batch(&inputs, &blinds, &evaluated, &bad, &key.public_key()).unwrap_err(),
            Error::Proof
        );
    }
    // Zero or non-canonical proof scalars (voprf refuses them unread).
    let l_bytes = hex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
    for (at, value) in [(0, vec![0u8; 32]), (32, vec![0u8; 32]), (32, l_bytes)] {
        let mut bad = proof;
        bad[at..at + 32].copy_from_slice(&value);
        assert!(Proof::<Oracle>::deserialize(&bad).is_err());
        assert_eq!(
            finalize_batch(&inputs, &blinds, &evaluated, &bad, &key.public_key()).unwrap_err(),
            Error::Proof
        );
    }
    // Garbage where an element should be: named by position.
    let mut garbage = evaluated.clone();
    garbage[3] = [0xff; 32];
    assert_eq!(
        finalize_batch(&inputs, &blinds, &garbage, &proof, &key.public_key()).unwrap_err(),
        Error::InvalidElement { index: 3 }
    );
    // The identity as an answer.
    let mut identity = evaluated.clone();
    identity[4] = [0; 32];
    assert_eq!(
        finalize_batch(&inputs, &blinds, &identity, &proof, &key.public_key()).unwrap_err(),
        Error::InvalidElement { index: 4 }
    );
    // Parts of different lengths.
    assert!(matches!(
        finalize_batch(&inputs[1..], &blinds, &evaluated, &proof, &key.public_key()),
        Err(Error::Batch { .. })
    ));
    // Different keys give unrelated tags for the same selector.
    assert_ne!(
        tag(&key.evaluate(b"v1|phone|+996775987817").expect("evaluates")),
        tag(&other
            .evaluate(b"v1|phone|+996775987817")
            .expect("evaluates"))
    );
}

#[test]
fn hostile_batches_are_refused_with_the_element_named() {
    let mut rng = rand_core::OsRng;
    let key = ServerKey::generate(&mut rng);
    let (_, good) = blind(b"v1|phone|+996775987817", &mut rng).expect("blinds");
    let identity = [0u8; 32];
    for (bad, index) in [([0xffu8; 32], 1), (identity, 2)] {
        let mut batch = vec![good; 4];
        batch[index] = bad;
        assert_eq!(
            key.evaluate_batch(&batch, &mut rng).unwrap_err(),
            Error::InvalidElement { index }
        );
    }
    assert!(matches!(
        key.evaluate_batch(&[], &mut rng),
        Err(Error::Batch { .. })
    ));
    let over = vec![good; MAX_BATCH + 1];
    assert!(matches!(
        key.evaluate_batch(&over, &mut rng),
        Err(Error::Batch { .. })
    ));
    assert_eq!(PublicKey::from_bytes(&[0xff; 32]), Err(Error::InvalidKey));
    assert_eq!(PublicKey::from_bytes(&[1; 31]), Err(Error::InvalidKey));
}

#[test]
fn a_full_batch_of_max_batch_verifies() {
    let key = ServerKey::from_seed(&[1; 32], b"max").expect("derives");
    let (inputs, blinds, evaluated, proof) = round(&key, MAX_BATCH);
    let outputs =
        finalize_batch(&inputs, &blinds, &evaluated, &proof, &key.public_key()).expect("honest");
    assert_eq!(
        outputs[MAX_BATCH - 1],
        key.evaluate(&inputs[MAX_BATCH - 1]).expect("ok")
    );
}

#[test]
fn batch_and_single_blinding_agree() {
    let key = ServerKey::generate(&mut rand_core::OsRng);
    let inputs = inputs(9);
    let (blinds, blinded) = blind_batch(&inputs, &mut rand_core::OsRng).expect("blinds");
    let (evaluated, proof) = key
        .evaluate_batch(&blinded, &mut rand_core::OsRng)
        .expect("evaluates");
    let outputs =
        finalize_batch(&inputs, &blinds, &evaluated, &proof, &key.public_key()).expect("honest");
    for (input, output) in inputs.iter().zip(&outputs) {
        assert_eq!(output, &key.evaluate(input).expect("evaluates"));
    }
    let none: &[Vec<u8>] = &[];
    let (b, e) = blind_batch(none, &mut rand_core::OsRng).expect("nothing to blind");
    assert!(b.is_empty() && e.is_empty());
}

#[test]
fn inputs_over_65535_bytes_are_refused() {
    let mut rng = rand_core::OsRng;
    let key = ServerKey::generate(&mut rng);
    let long = vec![b'x'; 65_536];
    let longest = vec![b'x'; 65_535];
    assert_eq!(blind(&long, &mut rng).unwrap_err(), Error::Input);
    assert_eq!(
        blind_batch(&[longest.clone(), long.clone()], &mut rng).unwrap_err(),
        Error::Input
    );
    assert_eq!(key.evaluate(&long).unwrap_err(), Error::Input);
    assert!(key.evaluate(&longest).is_ok());
    assert!(key.evaluate(b"").is_ok());
    assert_eq!(
        ServerKey::from_seed(&[0; 32], &long).unwrap_err(),
        Error::Input
    );
    let (blinds, blinded) = blind_batch(std::slice::from_ref(&longest), &mut rng).expect("blinds");
    let (evaluated, proof) = key.evaluate_batch(&blinded, &mut rng).expect("evaluates");
    assert_eq!(
        finalize_batch(&[long], &blinds, &evaluated, &proof, &key.public_key()).unwrap_err(),
        Error::Input
    );
    let outputs = finalize_batch(
        std::slice::from_ref(&longest),
        &blinds,
        &evaluated,
        &proof,
        &key.public_key(),
    )
    .expect("verifies");
    assert_eq!(outputs[0], key.evaluate(&longest).expect("evaluates"));
}

#[test]
fn secret_keys_round_trip_and_never_print() {
    let key = ServerKey::generate(&mut rand_core::OsRng);
    let back = ServerKey::from_secret_bytes(&key.to_secret_bytes()).expect("round trip");
    assert_eq!(back.public_key(), key.public_key());
    assert_eq!(format!("{key:?}"), "ServerKey(..)");
    let (b, _) = blind(b"x", &mut rand_core::OsRng).expect("blinds");
    assert_eq!(format!("{b:?}"), "Blind(..)");
}

#[test]
fn secret_keys_are_voprfs_bytes_both_ways() {
    let mut rng = rand_core::OsRng;
    // Theirs, stored before this implementation, loads as the same key.
    let theirs = VoprfServer::<Oracle>::new(&mut rng).expect("generates");
    let stored = theirs.serialize();
    assert_eq!(stored.len(), 64);
    let ours = ServerKey::from_secret_bytes(&stored).expect("loads");
    assert_eq!(
        ours.public_key().to_bytes().to_vec(),
        Oracle::serialize_elem(theirs.get_public_key()).to_vec()
    );
    assert_eq!(
        ours.evaluate(b"v1|phone|+996775987817")
            .expect("ok")
            .to_vec(),
        theirs
            .evaluate(b"v1|phone|+996775987817")
            .expect("ok")
            .to_vec()
    );
    // Ours loads in `voprf`; the bare scalar loads as the same key.
    let ours = ServerKey::generate(&mut rng);
    let bytes = ours.to_secret_bytes();
    let theirs = VoprfServer::<Oracle>::deserialize(&bytes).expect("loads");
    assert_eq!(theirs.serialize().to_vec(), bytes.to_vec());
    let bare = ServerKey::from_secret_bytes(&bytes[..32]).expect("loads");
    assert_eq!(bare.public_key(), ours.public_key());
    // Refused: a public key not the scalar's, a zero or non-canonical
    // scalar, other lengths.
    let mut mismatched = bytes.to_vec();
    mismatched[32..].copy_from_slice(&ServerKey::generate(&mut rng).public_key().to_bytes());
    let l = hex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
    for bad in [
        mismatched,
        [vec![0; 32], bytes[32..].to_vec()].concat(),
        [l.clone(), bytes[32..].to_vec()].concat(),
        l,
        vec![0; 32],
        bytes[..63].to_vec(),
        [&bytes[..], &[0]].concat(),
        Vec::new(),
    ] {
        assert_eq!(
            ServerKey::from_secret_bytes(&bad).unwrap_err(),
            Error::InvalidKey,
            "{} bytes",
            bad.len()
        );
    }
}

#[test]
fn inputs_are_domain_separated_by_kind() {
    use crate::SelectorKind;
    let a = Selector::new(SelectorKind::Phone, "+996775987817");
    let b = Selector::new(SelectorKind::Document, "+996775987817");
    assert_eq!(input(&a), b"v1|phone|+996775987817".to_vec());
    assert_ne!(input(&a), input(&b));
}

#[test]
fn evaluate_many_is_evaluate_one_by_one() {
    let key = ServerKey::generate(&mut rand_core::OsRng);
    let mut inputs = inputs(7);
    inputs.push(Vec::new());
    let many = key.evaluate_many(&inputs).expect("evaluates");
    for (input, output) in inputs.iter().zip(&many) {
        assert_eq!(output, &key.evaluate(input).expect("evaluates"));
    }
    let none: &[Vec<u8>] = &[];
    assert!(key.evaluate_many(none).expect("nothing").is_empty());
    inputs.push(vec![0; 65_536]);
    assert_eq!(key.evaluate_many(&inputs).unwrap_err(), Error::Input);
}
