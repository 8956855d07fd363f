//! Round trips, signatures that bind, and decoders that refuse (and never
//! panic on) whatever a peer sends.

use proptest::prelude::*;

use super::*;
use crate::oprf::{self, ServerKey};

fn manifest(owner: &SigningKey) -> SignedManifest {
    let key = ServerKey::from_seed(&[7; 32], b"test").unwrap();
    Manifest {
        federation: "central-asia".into(),
        owner: owner.verifying_key().to_bytes(),
        peer: [2; 32],
        epoch: 20_000,
        version: 1_790_000_000_000,
        starts_ms: 20_000 * 86_400_000,
        ends_ms: 20_001 * 86_400_000,
        keys: vec![
            (SelectorKind::Phone, key.public_key().to_bytes()),
            (SelectorKind::PersonFull, key.public_key().to_bytes()),
        ],
        filter: FilterInfo::of(1024, &[0u8; 5000]),
    }
    .sign(owner)
}

#[test]
fn a_manifest_round_trips_and_its_signature_binds_every_byte() {
    let owner = SigningKey::from_seed(&[1; 32]);
    let m = manifest(&owner);
    let bytes = m.to_bytes();
    let back = SignedManifest::decode(&bytes).unwrap();
    assert_eq!(back, m);
    back.verify(&owner.verifying_key()).unwrap();
    assert!(m.manifest.key(SelectorKind::Phone).is_some());
    assert!(m.manifest.key(SelectorKind::Iban).is_none());
    // Someone else's key does not verify it.
    let other = SigningKey::from_seed(&[9; 32]);
    assert_eq!(back.verify(&other.verifying_key()), Err(Error::Signature));
    // Every single-bit change is refused, by the decoder or the signature.
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x10;
        let ok = SignedManifest::decode(&b).map(|m| m.verify(&owner.verifying_key()));
        assert!(!matches!(ok, Ok(Ok(()))), "flip at byte {i} went unnoticed");
    }
}

#[test]
fn chunks_cover_the_filter_exactly() {
    let bytes: Vec<u8> = (0..(CHUNK_BYTES * 2 + 5)).map(|i| i as u8).collect();
    let info = FilterInfo::of(1 << 20, &bytes);
    assert_eq!(info.chunks, 3);
    let mut joined = Vec::new();
    for i in 0..info.chunks {
        joined.extend_from_slice(FilterInfo::chunk(&bytes, i));
    }
    assert_eq!(joined, bytes);
}

#[test]
fn evaluate_and_answer_round_trip_through_a_real_evaluation() {
    let key = ServerKey::from_seed(&[3; 32], b"k").unwrap();
    let mut rng = rand_core::OsRng;
    let inputs: Vec<Vec<u8>> = (0..5)
        .map(|i| format!("v1|phone|+99677500000{i}").into_bytes())
        .collect();
    let (blinds, elements): (Vec<_>, Vec<_>) = inputs
        .iter()
        .map(|i| oprf::blind(i, &mut rng).unwrap())
        .unzip();
    let req = Evaluate {
        manifest: [4; 32],
        purpose: Purpose::Query,
        case: Some([6; 32]),
        kind: SelectorKind::Phone,
        elements,
    };
    let back = Evaluate::decode(&req.to_bytes()).unwrap();
    assert_eq!(back, req);
    let (evaluated, proof) = key.evaluate_batch(&back.elements, &mut rng).unwrap();
    let answer = Answer {
        request: [1; 16],
        result: Ok(Evaluated {
            elements: evaluated,
            proof,
        }),
    };
    let back = Answer::decode(&answer.to_bytes()).unwrap();
    assert_eq!(back, answer);
    let Ok(e) = back.result else { unreachable!() };
    let outs =
        oprf::finalize_batch(&inputs, &blinds, &e.elements, &e.proof, &key.public_key()).unwrap();
    for (i, out) in inputs.iter().zip(outs) {
        assert_eq!(key.evaluate(i).unwrap(), out);
    }
    for decline in [
        Decline::Budget {
            kind: SelectorKind::PersonName,
            renews_ms: 1_800_000_000_000,
        },
        Decline::UnknownManifest,
        Decline::NotAllowed {
            kind: SelectorKind::Iban,
        },
        Decline::InvalidElement { index: 3 },
    ] {
        let a = Answer {
            request: [2; 16],
            result: Err(decline),
        };
        assert_eq!(Answer::decode(&a.to_bytes()).unwrap(), a);
        assert!(!decline.to_string().is_empty());
    }
    assert!(Decline::Budget {
        kind: SelectorKind::Phone,
        renews_ms: 0
    }
    .to_string()
    .contains("1970-01-01T00:00:00Z"));
}

#[test]
fn oversized_batches_and_unknown_kinds_are_refused_before_reading_them() {
    let mut b = vec![VERSION];
    b.extend_from_slice(&[0; 32]);
    b.extend_from_slice(&[0, 0, 1]);
    b.extend_from_slice(&((MAX_BATCH as u32) + 1).to_be_bytes());
    assert!(matches!(
        Evaluate::decode(&b),
        Err(Error::Decode(wire::Error::TooLarge { field: "count", .. }))
    ));
    let req = Evaluate {
        manifest: [0; 32],
        purpose: Purpose::Renewal,
        case: None,
        kind: SelectorKind::Phone,
        elements: vec![[0; 32]],
    };
    let mut bytes = req.to_bytes();
    let at = bytes.len() - 37;
    bytes[at] = 99;
    assert!(Evaluate::decode(&bytes).is_err());
    let owner = SigningKey::from_seed(&[1; 32]);
    let d = Delta {
        manifest: manifest(&owner),
        seq: 1,
        images: vec![[9; 32]; 16],
    };
    assert_eq!(Delta::decode(&d.to_bytes()).unwrap(), d);
    let c = Chunk {
        manifest: manifest(&owner),
        index: 2,
        data: vec![1, 2, 3],
    };
    assert_eq!(Chunk::decode(&c.to_bytes()).unwrap(), c);
}

proptest! {
    #[test]
    fn no_bytes_panic_any_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = SignedManifest::decode(&bytes);
        let _ = Chunk::decode(&bytes);
        let _ = Delta::decode(&bytes);
        let _ = Evaluate::decode(&bytes);
        let _ = Answer::decode(&bytes);
    }

    #[test]
    fn deltas_round_trip_and_truncations_are_refused(
        seq in any::<u64>(),
        images in proptest::collection::vec(any::<[u8; 32]>(), 0..40),
        cut in any::<prop::sample::Index>(),
    ) {
        let d = Delta { manifest: manifest(&SigningKey::from_seed(&[1; 32])), seq, images };
        let bytes = d.to_bytes();
        prop_assert_eq!(Delta::decode(&bytes).unwrap(), d);
        let n = cut.index(bytes.len());
        prop_assert!(Delta::decode(&bytes[..n]).is_err());
    }
}

#[test]
fn a_delta_image_is_one_way_and_domain_separated() {
    let tag = [7u8; 32];
    let image = delta_image(&tag);
    assert_ne!(image, tag);
    // Not a plain hash of the tag: another domain gives another value.
    let plain: [u8; 32] = sha2::Sha256::digest(tag).into();
    assert_ne!(image, plain);
    // Fixed bytes: both ends must compute the same image.
    let hex: String = image.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        hex,
        "6136de3fa5c304ef8609e6aae11b4bb85ce449845a33d5e1134f02ed36c75be3"
    );
    assert_ne!(delta_image(&[8u8; 32]), image);
}
