//! Matching's CPU costs, each beside the primitive that bounds it (one
//! VOPRF evaluation):
//! - `tags`: the owner's tag build, on every core, per held selector;
//! - `query item`: the elliptic-curve work one query selector needs end to
//!   end on one core (client blind, server batch evaluation with its
//!   proof, client batch finalisation with the proof check), in batches
//!   of [`querier::BATCH`] as the node sends them;
//! - `oprf evaluate`: one unblinded evaluation, the primitive of `tags`.
//!
//! Run: `cargo bench -p liaison --bench matching`. The end-to-end figure
//! (10,000 query selectors against a peer holding 1,000,000, two daemons
//! on loopback) is `make bench-match`, compared with `query item` here.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use liaison::matching::{owner, querier};
use liaison_protocol::oprf::{self, ServerKey};
use liaison_protocol::{Selector, SelectorKind};

fn phones(n: usize, offset: usize) -> Vec<Selector> {
    (0..n)
        .map(|i| Selector::new(SelectorKind::Phone, format!("+99670{:07}", i + offset)))
        .collect()
}

fn bench(c: &mut Criterion) {
    let key = ServerKey::from_seed(&[7; 32], b"bench").unwrap();
    let mut g = c.benchmark_group("matching");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));

    let held = phones(100_000, 0);
    g.throughput(Throughput::Elements(held.len() as u64));
    g.bench_function("tags (owner, both cores) / 100k selectors", |b| {
        b.iter(|| owner::tags(&key, &held, &AtomicU64::new(0), &|| false).unwrap())
    });

    let input = oprf::input(&held[0]);
    g.throughput(Throughput::Elements(1));
    g.bench_function("oprf evaluate (unblinded, one core) / 1", |b| {
        b.iter(|| key.evaluate(&input).unwrap())
    });

    let batch = querier::BATCH;
    let query = phones(batch, 500_000);
    let inputs: Vec<Vec<u8>> = query.iter().map(oprf::input).collect();
    let pk = key.public_key();
    g.throughput(Throughput::Elements(batch as u64));
    g.bench_function("query item EC work (one core) / batch", |b| {
        b.iter(|| {
            let (blinds, elements): (Vec<_>, Vec<_>) = inputs
                .iter()
                .map(|i| oprf::blind(i, &mut rand::rngs::OsRng).unwrap())
                .unzip();
            let (evaluated, proof) = key
                .evaluate_batch(&elements, &mut rand::rngs::OsRng)
                .unwrap();
            oprf::finalize_batch(&inputs, &blinds, &evaluated, &proof, &pk).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
