//! RFC 9497 Appendix A.1.2 (ristretto255-SHA512, VOPRF mode): every test
//! vector, through this module's calls; then what a dishonest owner or a
//! hostile querier can send.

use rand_core::{CryptoRng, RngCore};
use voprf::{Group, VoprfClient};

use super::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Yields fixed bytes: a 32-byte scalar then zeros, which the wide
/// reduction behind `Scalar::random` maps back to that scalar.
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

fn element(s: &str) -> Element {
    hex(s).try_into().expect("32 bytes")
}

#[test]
fn rfc9497_a_1_2_voprf_ristretto255_sha512() {
    let seed: [u8; 32] = hex(SEED).try_into().expect("32 bytes");
    let key = ServerKey::from_seed(&seed, &hex(KEY_INFO)).expect("derives");
    assert_eq!(key.public_key().to_bytes().to_vec(), hex(PK));
    let pk = PublicKey::from_bytes(&hex(PK)).expect("valid key");
    for (n, v) in VECTORS.iter().enumerate() {
        let inputs: Vec<Vec<u8>> = v.inputs.iter().map(|i| hex(i)).collect();
        let mut blinds = Vec::new();
        for (i, input) in inputs.iter().enumerate() {
            let scalar = Suite::deserialize_scalar(&hex(v.blinds[i])).expect("scalar");
            let r =
                VoprfClient::<Suite>::deterministic_blind_unchecked(input, scalar).expect("blinds");
            assert_eq!(
                r.message.serialize().to_vec(),
                hex(v.blinded[i]),
                "vector {n} blinded {i}"
            );
            blinds.push(Blind(r.state));
        }
        let blinded: Vec<Element> = v.blinded.iter().map(|b| element(b)).collect();
        let (evaluated, proof) = key
            .evaluate_batch(&blinded, &mut Fixed(hex(v.proof_scalar)))
            .expect("evaluates");
        let want: Vec<Element> = v.evaluated.iter().map(|e| element(e)).collect();
        assert_eq!(evaluated, want, "vector {n} evaluated");
        assert_eq!(proof.to_vec(), hex(v.proof), "vector {n} proof");
        let outputs = finalize_batch(&inputs, &blinds, &evaluated, &proof, &pk).expect("verifies");
        for (i, o) in outputs.iter().enumerate() {
            assert_eq!(o.to_vec(), hex(v.outputs[i]), "vector {n} output {i}");
            // The owner's direct evaluation gives the same F: tags match.
            assert_eq!(&key.evaluate(&inputs[i]).expect("evaluates"), o);
        }
    }
}

fn round(key: &ServerKey, n: usize) -> (Vec<Vec<u8>>, Vec<Blind>, Vec<Element>, [u8; 64]) {
    let mut rng = rand_core::OsRng;
    let inputs: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("v1|phone|+99677598{i:04}").into_bytes())
        .collect();
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
    // A proof bit flipped.
    let mut bad = proof;
    bad[10] ^= 1;
    assert!(finalize_batch(&inputs, &blinds, &evaluated, &bad, &key.public_key()).is_err());
    // Garbage where an element should be: named by position.
    let mut garbage = evaluated.clone();
    garbage[3] = [0xff; 32];
    assert_eq!(
        finalize_batch(&inputs, &blinds, &garbage, &proof, &key.public_key()).unwrap_err(),
        Error::InvalidElement { index: 3 }
    );
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
fn secret_keys_round_trip_and_never_print() {
    let key = ServerKey::generate(&mut rand_core::OsRng);
    let back = ServerKey::from_secret_bytes(&key.to_secret_bytes()).expect("round trip");
    assert_eq!(back.public_key(), key.public_key());
    assert_eq!(format!("{key:?}"), "ServerKey(..)");
    let (b, _) = blind(b"x", &mut rand_core::OsRng).expect("blinds");
    assert_eq!(format!("{b:?}"), "Blind(..)");
}

#[test]
fn inputs_are_domain_separated_by_kind() {
    use crate::SelectorKind;
    let a = Selector::new(SelectorKind::Phone, "+996775987817");
    let b = Selector::new(SelectorKind::Document, "+996775987817");
    assert_eq!(input(&a), b"v1|phone|+996775987817".to_vec());
    assert_ne!(input(&a), input(&b));
}
