//! Envelope costs beside the primitives that bound them.
//!
//! `cargo bench -p liaison-protocol --bench envelope`. For each body size:
//! - `primitive/ed25519_sign`, `primitive/ed25519_verify_strict` over a
//!   message of the envelope's size (what the envelope signs),
//! - `primitive/hpke_seal`, `primitive/hpke_open` (DHKEM(X25519),
//!   HKDF-SHA256, ChaCha20-Poly1305, base mode),
//! - `envelope/seal` (HPKE seal + SHA-256 commitment + sign) and
//!   `envelope/open` (decode + verify_strict + HPKE open + commitment).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable as _, Kem as _, Serializable as _};
use liaison_protocol::envelope::{self, Draft, Envelope, MessageId, Recipient, Window};
use liaison_protocol::keys::{AgencyKey, SealingKey, SigningKey};
use rand_chacha_09::rand_core::SeedableRng as _;
use rand_chacha_09::ChaCha20Rng;

const NOW: u64 = 1_796_000_000_000;

fn benches(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let (a_sign, a_seal) = (
        SigningKey::from_seed(&[1; 32]),
        SealingKey::from_bytes([2; 32]),
    );
    let (b_sign, b_seal) = (
        SigningKey::from_seed(&[3; 32]),
        SealingKey::from_bytes([4; 32]),
    );
    let a_card = AgencyKey::new(&a_sign, &a_seal);
    let b_card = AgencyKey::new(&b_sign, &b_seal);
    let window = Window {
        now_ms: NOW,
        max_age_ms: 60_000,
        max_skew_ms: 60_000,
    };

    for size in [1024usize, 64 * 1024] {
        let body = vec![7u8; size];
        let label = format!("{}KiB", size / 1024);
        let mut g = c.benchmark_group("primitive");
        g.throughput(Throughput::Elements(1));
        let sig = a_sign.sign(&body);
        let vk = a_sign.verifying_key();
        g.bench_function(BenchmarkId::new("ed25519_sign", &label), |b| {
            b.iter(|| a_sign.sign(&body))
        });
        g.bench_function(BenchmarkId::new("ed25519_verify_strict", &label), |b| {
            b.iter(|| vk.verify_strict(&body, &sig).unwrap())
        });
        let pk =
            <X25519HkdfSha256 as hpke::Kem>::PublicKey::from_bytes(b_card.sealing_key().as_bytes())
                .unwrap();
        let (sk, _) = X25519HkdfSha256::derive_keypair(&[9; 32]);
        let pk_own = X25519HkdfSha256::sk_to_pk(&sk);
        g.bench_function(BenchmarkId::new("hpke_seal", &label), |b| {
            b.iter(|| {
                hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256, _>(
                    &hpke::OpModeS::Base,
                    &pk,
                    b"info",
                    &body,
                    b"aad",
                    &mut rng,
                )
                .unwrap()
            })
        });
        let (enc, ct) =
            hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256, _>(
                &hpke::OpModeS::Base,
                &pk_own,
                b"info",
                &body,
                b"aad",
                &mut rng,
            )
            .unwrap();
        let enc =
            <X25519HkdfSha256 as hpke::Kem>::EncappedKey::from_bytes(&enc.to_bytes()).unwrap();
        g.bench_function(BenchmarkId::new("hpke_open", &label), |b| {
            b.iter(|| {
                hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>(
                    &hpke::OpModeR::Base,
                    &sk,
                    &enc,
                    b"info",
                    &ct,
                    b"aad",
                )
                .unwrap()
            })
        });
        g.finish();

        let mut g = c.benchmark_group("envelope");
        g.throughput(Throughput::Elements(1));
        let draft = Draft {
            federation: "bench",
            context: "liaison/ping/v1",
            recipient: &b_card,
            message_id: MessageId([1; 16]),
            epoch: 0,
            timestamp_ms: NOW,
            body: &body,
        };
        g.bench_function(BenchmarkId::new("seal", &label), |b| {
            b.iter(|| envelope::seal(&a_sign, draft, &mut rng).unwrap().to_bytes())
        });
        let bytes = envelope::seal(&a_sign, draft, &mut rng).unwrap().to_bytes();
        g.bench_function(BenchmarkId::new("open", &label), |b| {
            b.iter(|| {
                let env = Envelope::decode(&bytes, envelope::MAX_ENVELOPE).unwrap();
                env.open(
                    Recipient {
                        federation: "bench",
                        signing: &b_sign,
                        sealing: &b_seal,
                    },
                    |_| Some(&a_card),
                    |_, _| false,
                    window,
                )
                .unwrap()
            })
        });
        g.finish();
    }
}

criterion_group!(envelope_benches, benches);
criterion_main!(envelope_benches);
