//! Structure-aware: a correctly sealed envelope (the fuzzer picks the body,
//! context, id and times), then the fuzzer's byte edits. Reaches past the
//! signature into HPKE and the commitment check, and asserts the property
//! that matters: an edited envelope is never accepted, and an unedited one
//! always opens to its body.
#![no_main]

use liaison_protocol::envelope::{
    seal, Draft, Envelope, MessageId, Recipient, Window, MAX_ENVELOPE,
};
use liaison_protocol::keys::{AgencyKey, SealingKey, SigningKey};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Case {
    body: Vec<u8>,
    id: [u8; 16],
    epoch: u64,
    timestamp: u32,
    rng_seed: u64,
    edits: Vec<(u16, u8)>,
}

/// A deterministic RNG for HPKE's ephemeral key and the salt.
struct Rng(u64);
impl hpke::rand_core::RngCore for Rng {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}
impl hpke::rand_core::CryptoRng for Rng {}

fuzz_target!(|case: Case| {
    let a = SigningKey::from_seed(&[1; 32]);
    let a_card = AgencyKey::new(&a, &SealingKey::from_bytes([2; 32]));
    let (b, b_seal) = (SigningKey::from_seed(&[3; 32]), SealingKey::from_bytes([4; 32]));
    let b_card = AgencyKey::new(&b, &b_seal);
    let ts = u64::from(case.timestamp) * 1000;
    let draft = Draft {
        federation: "fuzz",
        context: "liaison/ping/v1",
        recipient: &b_card,
        message_id: MessageId(case.id),
        epoch: case.epoch,
        timestamp_ms: ts,
        body: &case.body,
    };
    let original = seal(&a, draft, &mut Rng(case.rng_seed)).expect("seals").to_bytes();
    let mut bytes = original.clone();
    for (pos, xor) in &case.edits {
        let i = usize::from(*pos) % bytes.len();
        bytes[i] ^= xor;
    }
    let opened = Envelope::decode(&bytes, MAX_ENVELOPE).and_then(|env| {
        env.open(
            Recipient {
                federation: "fuzz",
                signing: &b,
                sealing: &b_seal,
            },
            |k| (k == a_card.verifying_key()).then_some(&a_card),
            |_, _| false,
            Window {
                now_ms: ts,
                max_age_ms: 1000,
                max_skew_ms: 1000,
            },
        )
    });
    if bytes == original {
        assert_eq!(opened.expect("an unedited envelope opens").body, case.body);
    } else {
        assert!(opened.is_err(), "an edited envelope was accepted");
    }
});
