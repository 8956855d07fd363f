//! The VOPRF per item, beside the primitive it is bound by (a ristretto255
//! variable-base scalar multiplication). Batches of 64, as matching sends
//! them; figures are per element. Run: `cargo bench -p liaison-protocol
//! --bench oprf`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use curve25519_dalek::{RistrettoPoint, Scalar};
use liaison_protocol::oprf::{self, ServerKey};
use rand_core::OsRng;

const BATCH: usize = 64;

fn bench(c: &mut Criterion) {
    let key = ServerKey::generate(&mut OsRng);
    let pk = key.public_key();
    let inputs: Vec<Vec<u8>> = (0..BATCH)
        .map(|i| format!("v1|phone|+99677598{i:04}").into_bytes())
        .collect();

    let mut g = c.benchmark_group("oprf");
    g.throughput(Throughput::Elements(1));
    let p = RistrettoPoint::mul_base(&Scalar::random(&mut OsRng));
    let s = Scalar::random(&mut OsRng);
    g.bench_function("ristretto255_scalar_mult", |b| b.iter(|| p * s));
    g.bench_function("owner_evaluate_direct", |b| {
        b.iter(|| key.evaluate(&inputs[0]).expect("evaluates"))
    });
    g.bench_function("client_blind", |b| {
        b.iter(|| oprf::blind(&inputs[0], &mut OsRng).expect("blinds"))
    });
    g.throughput(Throughput::Elements(BATCH as u64));
    let (blinds, blinded): (Vec<_>, Vec<_>) = inputs
        .iter()
        .map(|i| oprf::blind(i, &mut OsRng).expect("blinds"))
        .unzip();
    g.bench_function("server_evaluate_batch_64", |b| {
        b.iter(|| key.evaluate_batch(&blinded, &mut OsRng).expect("evaluates"))
    });
    let (evaluated, proof) = key.evaluate_batch(&blinded, &mut OsRng).expect("evaluates");
    g.bench_function("client_finalize_batch_64", |b| {
        b.iter_batched(
            || (),
            |()| oprf::finalize_batch(&inputs, &blinds, &evaluated, &proof, &pk).expect("verifies"),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
