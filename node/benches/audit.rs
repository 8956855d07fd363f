//! The audit log: appends a second, and `liaison audit verify` over a log
//! of 1,000,000 entries beside ed25519 verification of as many
//! signatures. Run: `cargo bench -p liaison --bench audit` (set
//! `LIAISON_BENCH_ENTRIES` for another log size).
//!
//! The log is a realistic mix: a third each of sent, receipted (carrying
//! the peer's signed receipt, which `verify` checks with `verify_strict`)
//! and received entries.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ed25519_dalek::{Signer as _, Verifier as _};
use liaison::identity::Identity;
use liaison::store::{Batch, Store};
use liaison_protocol::audit::{Entry, Kind};
use liaison_protocol::envelope::{MessageId, Outcome, Receipt};
use liaison_protocol::keys::{SealingKey, SigningKey};

fn entries() -> u64 {
    std::env::var("LIAISON_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn identity(seed: u8) -> Identity {
    Identity {
        signing: SigningKey::from_seed(&[seed; 32]),
        sealing: SealingKey::from_bytes([seed ^ 0x55; 32]),
    }
}

fn entry(i: u64, me: &Identity, peer: &Identity) -> Entry {
    let kind = [Kind::Sent, Kind::Receipted, Kind::Received][(i % 3) as usize];
    let mut e = Entry::new(kind, 1_790_000_000_000 + i);
    e.context = "liaison/ping/v1".into();
    e.peer = Some(peer.signing.verifying_key().to_bytes());
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&i.to_be_bytes());
    e.message_id = Some(MessageId(id));
    e.hash = Some([(i % 251) as u8; 32]);
    e.count = 1;
    if kind == Kind::Receipted {
        let r = Receipt::sign(
            &peer.signing,
            me.signing.verifying_key(),
            MessageId(id),
            [(i % 251) as u8; 32],
            e.time_ms,
            i,
            Outcome::Accepted,
        );
        e.receipt = Some(r.to_bytes());
    }
    e
}

/// Runs `work(thread, k)` for `k` in `0..each` on each of `threads`
/// threads at once, and waits for all.
fn on_threads(threads: u64, each: u64, work: impl Fn(u64, u64) + Sync) {
    std::thread::scope(|s| {
        for t in 0..threads {
            let work = &work;
            s.spawn(move || (0..each).for_each(|k| work(t, k)));
        }
    })
}

fn appends(c: &mut Criterion) {
    let me = identity(1);
    let peer = identity(2);
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("store")).expect("store");
    let mut g = c.benchmark_group("audit_append");
    g.throughput(Throughput::Elements(1));
    let mut i = 0;
    g.bench_function("one_entry_unsynced", |b| {
        b.iter(|| {
            i += 1;
            store
                .append(Batch::default(), &[entry(i * 3, &me, &peer)], false)
                .expect("append")
        })
    });
    g.sample_size(20);
    // The yardstick: a small batch written with RocksDB's own synced
    // write, no log entry.
    g.bench_function("rocksdb_synced_write_no_entry", |b| {
        b.iter(|| {
            i += 1;
            let mut batch = Batch::default();
            batch.put(
                liaison::store::Column::Records,
                i.to_be_bytes().to_vec(),
                vec![0u8; 100],
            );
            store.write_durable(batch).expect("write")
        })
    });
    g.bench_function("one_entry_fsynced", |b| {
        b.iter(|| {
            i += 1;
            store
                .append(Batch::default(), &[entry(i * 3, &me, &peer)], true)
                .expect("append")
        })
    });
    // The inbound path: 16 workers, each appending one entry per fsynced
    // batch, as deliveries arrive concurrently.
    const THREADS: u64 = 16;
    const EACH: u64 = 50;
    g.throughput(Throughput::Elements(THREADS * EACH));
    g.bench_function("16_threads_fsynced", |b| {
        b.iter(|| {
            on_threads(THREADS, EACH, |t, k| {
                store
                    .append(
                        Batch::default(),
                        &[entry(t * 1000 + k * 3, &me, &peer)],
                        true,
                    )
                    .expect("append");
            })
        })
    });
    // The yardstick: the same, each a plain RocksDB synced write (its own
    // group commit), no log entry.
    g.bench_function("16_threads_rocksdb_synced_no_entry", |b| {
        b.iter(|| {
            on_threads(THREADS, EACH, |t, k| {
                let mut batch = Batch::default();
                let key = (1u64 << 40 | t << 20 | k).to_be_bytes().to_vec();
                batch.put(liaison::store::Column::Records, key, vec![0u8; 100]);
                store.write_durable(batch).expect("write");
            })
        })
    });
    g.finish();
}

fn verify(c: &mut Criterion) {
    let n = entries();
    let me = identity(1);
    let peer = identity(2);
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("store")).expect("store");
    let mut at = 0;
    while at < n {
        let chunk: Vec<Entry> = (at..(at + 1000).min(n))
            .map(|i| entry(i, &me, &peer))
            .collect();
        store
            .append(Batch::default(), &chunk, false)
            .expect("append");
        at += chunk.len() as u64;
    }
    store.flush().expect("flush");

    let mut g = c.benchmark_group("audit_verify");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(30));
    g.throughput(Throughput::Elements(n));
    g.bench_function(format!("verify_store_{n}_entries"), |b| {
        b.iter(|| {
            let checked =
                liaison::audit::verify::verify_store(&store, &me, "liaison", &[]).expect("verify");
            assert!(checked.problems.is_empty(), "{:?}", &checked.problems[..3]);
            assert_eq!(checked.entries, n);
        })
    });
    g.finish();

    // The yardstick: ed25519 verification of signatures over
    // receipt-sized messages, one by one (verify_strict, as receipts are
    // checked) and in batches of 64.
    let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
    let msgs: Vec<Vec<u8>> = (0..64u8).map(|i| vec![i; 150]).collect();
    let sigs: Vec<ed25519_dalek::Signature> = msgs.iter().map(|m| key.sign(m)).collect();
    let vk = key.verifying_key();
    let mut g = c.benchmark_group("ed25519");
    g.throughput(Throughput::Elements(1));
    g.bench_function("verify_strict", |b| {
        b.iter(|| vk.verify_strict(&msgs[0], &sigs[0]).expect("valid"))
    });
    g.bench_function("verify", |b| {
        b.iter(|| vk.verify(&msgs[0], &sigs[0]).expect("valid"))
    });
    g.throughput(Throughput::Elements(64));
    let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
    let keys = vec![vk; 64];
    g.bench_function("verify_batch_64", |b| {
        b.iter(|| ed25519_dalek::verify_batch(&refs, &sigs, &keys).expect("valid"))
    });
    g.finish();
}

criterion_group!(benches, appends, verify);
criterion_main!(benches);
