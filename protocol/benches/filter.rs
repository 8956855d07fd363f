//! Tag filters: build over 1,000,000 tags, bytes per tag on the wire,
//! decode (a peer's filter checked and read), and one lookup. Run:
//! `cargo bench -p liaison-protocol --bench filter`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use liaison_protocol::filter::Filter;
use rand_core::{OsRng, RngCore};

fn bench(c: &mut Criterion) {
    let n = 1_000_000usize;
    let tags: Vec<[u8; 32]> = (0..n)
        .map(|_| {
            let mut t = [0u8; 32];
            OsRng.fill_bytes(&mut t);
            t
        })
        .collect();
    let f = Filter::build(&tags, &mut OsRng).expect("builds");
    let bytes = f.to_bytes();
    println!(
        "filter of {n} tags: bucket {}, {} bytes, {:.1} bits per tag held, {:.1} per bucket slot",
        f.bucket(),
        bytes.len(),
        bytes.len() as f64 * 8.0 / n as f64,
        bytes.len() as f64 * 8.0 / f.bucket() as f64
    );
    let mut g = c.benchmark_group("filter");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("build_1m", |b| {
        b.iter(|| Filter::build(&tags, &mut OsRng).expect("builds"))
    });
    g.bench_function("decode_1m", |b| {
        b.iter(|| Filter::decode(&bytes).expect("decodes"))
    });
    g.throughput(Throughput::Elements(1));
    g.sample_size(100);
    let mut i = 0;
    g.bench_function("contains", |b| {
        b.iter(|| {
            i = (i + 1) % n;
            f.contains(&tags[i])
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
