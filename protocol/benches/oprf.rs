//! The VOPRF per item, beside the primitives it is bound by (a ristretto255
//! variable-base scalar multiplication; hash-to-group). Batches of 512;
//! every figure is per element (criterion's throughput is one element),
//! on one core except `owner_tags_both_cores`. Run: `cargo bench -p
//! liaison-protocol --bench oprf`.
//!
//! `query_item_both_sides` is one query item's whole cost: the querier's
//! blinding, the owner's evaluation with its proof, and the querier's
//! verification and unblinding, all on one core.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use curve25519_dalek::traits::VartimeMultiscalarMul;
use curve25519_dalek::{RistrettoPoint, Scalar};
use liaison_protocol::oprf::{self, ServerKey};
use rand_core::OsRng;
use sha2::{Digest, Sha512};

const BATCH: usize = 512;

fn inputs(n: usize, from: usize) -> Vec<Vec<u8>> {
    (from..from + n)
        .map(|i| format!("v1|phone|+99677{i:07}").into_bytes())
        .collect()
}

/// RFC 9380's `hash_to_ristretto255` with the suite's DST, as `oprf`
/// computes it (less its one precomputed zero block).
fn hash_to_group(input: &[u8]) -> RistrettoPoint {
    const DST: &[u8] = b"HashToGroup-OPRFV1-\x01-ristretto255-SHA512";
    let b0 = Sha512::new()
        .chain_update([0u8; 128])
        .chain_update(input)
        .chain_update([0u8, 64, 0])
        .chain_update(DST)
        .chain_update([DST.len() as u8])
        .finalize();
    let b1 = Sha512::new()
        .chain_update(b0)
        .chain_update([1u8])
        .chain_update(DST)
        .chain_update([DST.len() as u8])
        .finalize();
    RistrettoPoint::from_uniform_bytes(&b1.into())
}

fn bench(c: &mut Criterion) {
    let key = ServerKey::generate(&mut OsRng);
    let pk = key.public_key();
    let inputs = inputs(BATCH, 0);

    let mut g = c.benchmark_group("oprf");
    g.throughput(Throughput::Elements(1));
    let p = RistrettoPoint::mul_base(&Scalar::from_bytes_mod_order([7; 32]));
    let s = Scalar::from_bytes_mod_order([9; 32]);
    g.bench_function("ristretto255_scalar_mult", |b| {
        b.iter(|| black_box(p) * black_box(s))
    });
    g.bench_function("ristretto255_compress", |b| {
        b.iter(|| black_box(p).compress())
    });
    g.bench_function("ristretto255_decompress", |b| {
        let e = p.compress();
        b.iter(|| black_box(e).decompress())
    });
    g.bench_function("hash_to_group", |b| {
        b.iter(|| hash_to_group(black_box(&inputs[0])))
    });
    g.bench_function("owner_evaluate_direct", |b| {
        b.iter(|| key.evaluate(black_box(&inputs[0])).expect("evaluates"))
    });
    g.bench_function("client_blind_single", |b| {
        b.iter(|| oprf::blind(black_box(&inputs[0]), &mut OsRng).expect("blinds"))
    });

    g.throughput(Throughput::Elements(BATCH as u64));
    g.sample_size(20);
    g.bench_function("client_blind_batch_512", |b| {
        b.iter(|| oprf::blind_batch(black_box(&inputs), &mut OsRng).expect("blinds"))
    });
    let points: Vec<RistrettoPoint> = (0..BATCH as u64)
        .map(|i| RistrettoPoint::mul_base(&Scalar::from(i + 1)))
        .collect();
    let scalars: Vec<Scalar> = (0..BATCH)
        .map(|i| Scalar::from_bytes_mod_order_wide(&[i as u8 ^ 0x5a; 64]) + Scalar::from(i as u64))
        .collect();
    g.bench_function("composite_vartime_msm_512", |b| {
        b.iter(|| RistrettoPoint::vartime_multiscalar_mul(black_box(&scalars), &points))
    });
    g.bench_function("double_and_compress_batch_512", |b| {
        b.iter(|| RistrettoPoint::double_and_compress_batch(black_box(&points)))
    });
    let (_, blinded) = oprf::blind_batch(&inputs, &mut OsRng).expect("blinds");
    g.bench_function("server_evaluate_batch_512", |b| {
        b.iter(|| {
            key.evaluate_batch(black_box(&blinded), &mut OsRng)
                .expect("evaluates")
        })
    });
    g.bench_function("client_finalize_batch_512", |b| {
        b.iter_batched(
            || {
                let (blinds, blinded) = oprf::blind_batch(&inputs, &mut OsRng).expect("blinds");
                let (evaluated, proof) = key.evaluate_batch(&blinded, &mut OsRng).expect("ok");
                (blinds, evaluated, proof)
            },
            |(blinds, evaluated, proof)| {
                oprf::finalize_batch(&inputs, &blinds, &evaluated, &proof, &pk).expect("verifies")
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("query_item_both_sides_512", |b| {
        b.iter(|| {
            let (blinds, blinded) = oprf::blind_batch(&inputs, &mut OsRng).expect("blinds");
            let (evaluated, proof) = key.evaluate_batch(&blinded, &mut OsRng).expect("ok");
            oprf::finalize_batch(&inputs, &blinds, &evaluated, &proof, &pk).expect("verifies")
        })
    });
    g.bench_function("owner_evaluate_many_512", |b| {
        b.iter(|| key.evaluate_many(black_box(&inputs)).expect("evaluates"))
    });
    // The owner's tag build as the node runs it (`matching::owner::tags`):
    // one direct evaluation per held selector, split over every core; and
    // the same with `evaluate_many` per core.
    let held = self::inputs(4 * BATCH, BATCH);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = held.len().div_ceil(threads);
    g.throughput(Throughput::Elements(held.len() as u64));
    g.bench_function(format!("owner_tags_{threads}_cores"), |b| {
        b.iter(|| {
            std::thread::scope(|scope| {
                for part in held.chunks(per) {
                    let key = &key;
                    scope.spawn(move || {
                        part.iter()
                            .map(|i| oprf::tag(&key.evaluate(i).expect("evaluates")))
                            .collect::<Vec<_>>()
                    });
                }
            })
        })
    });
    g.bench_function(format!("owner_tags_many_{threads}_cores"), |b| {
        b.iter(|| {
            std::thread::scope(|scope| {
                for part in held.chunks(per) {
                    let key = &key;
                    scope.spawn(move || {
                        key.evaluate_many(part)
                            .expect("evaluates")
                            .iter()
                            .map(oprf::tag)
                            .collect::<Vec<_>>()
                    });
                }
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
