//! What a peer can send the OPRF: blinded elements to evaluate (the
//! owner's side), and evaluated elements with a proof and a public key
//! (the querier's side). Anything must be refused or answered, never
//! panic; a forged answer must never verify.

#![no_main]

use libfuzzer_sys::fuzz_target;
use liaison_protocol::oprf::{self, PublicKey, ServerKey};

fuzz_target!(|data: &[u8]| {
    let key = ServerKey::from_seed(&[7; 32], b"fuzz").expect("derives");
    let blinded: Vec<[u8; 32]> = data
        .chunks_exact(32)
        .take(64)
        .map(|c| c.try_into().expect("32 bytes"))
        .collect();
    let mut rng = rand_core::OsRng;
    if let Ok((evaluated, _)) = key.evaluate_batch(&blinded, &mut rng) {
        assert_eq!(evaluated.len(), blinded.len());
    }
    // The querier's side, fed the fuzzer's answer and proof.
    if data.len() >= 32 + 64 + 32 {
        let (b, rest) = data.split_at(32);
        let (proof, rest) = rest.split_at(64);
        let pk = PublicKey::from_bytes(&rest[..32]);
        let input = b"v1|phone|+996775987817".to_vec();
        let (blind, _) = oprf::blind(&input, &mut rng).expect("blinds");
        let evaluated: [u8; 32] = b.try_into().expect("32 bytes");
        let proof: [u8; 64] = proof.try_into().expect("64 bytes");
        if let Ok(pk) = pk {
            let r = oprf::finalize_batch(&[input], &[blind], &[evaluated], &proof, &pk);
            assert!(r.is_err(), "a random answer verified");
        }
    }
});
