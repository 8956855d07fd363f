//! Ingest end to end: a synthetic NDJSON file (person, phone and passport
//! per record, a vehicle in one of four) parsed, normalised and committed
//! to a fresh RocksDB store. Run:
//! `cargo bench -p liaison --bench ingest` (1,000,000 records; set
//! `LIAISON_BENCH_RECORDS` for another size).

use std::io::Write as _;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use liaison::ingest::{self, Options, Quiet};
use liaison::store::Store;
use liaison::synth::Generator;

fn records() -> u64 {
    std::env::var("LIAISON_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn end_to_end(c: &mut Criterion) {
    let n = records();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("records.ndjson");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file).expect("create"));
        let mut gen = Generator::new(11);
        for i in 0..n {
            serde_json::to_writer(&mut out, &gen.record(i)).expect("write");
            out.write_all(b"\n").expect("write");
        }
        out.flush().expect("flush");
    }
    let opts = Options {
        format: None,
        batch_size: 2048,
        max_line: 1 << 20,
        country: Some("KGZ".parse().expect("KGZ is a country")),
    };
    let files = vec![file];
    let mut group = c.benchmark_group("ingest");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(n));
    group.bench_function(format!("ndjson_{n}_records"), |b| {
        b.iter_batched(
            || tempfile::tempdir_in(dir.path()).expect("store dir"),
            |store_dir| {
                let store = Store::open(&store_dir.path().join("store")).expect("open");
                let summary = ingest::run(&store, &files, &opts, &mut Quiet).expect("ingest");
                assert_eq!(summary.stored, n);
                drop(store);
                store_dir
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, end_to_end);
criterion_main!(benches);
