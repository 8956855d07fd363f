//! The follow-up's per-item costs, each beside the primitive that bounds it:
//! - `report verify on read`: what the requester does every time a stored
//!   report is shown (decode the kept envelope, check the owner's
//!   `verify_strict` signature, open the HPKE seal, check the body's
//!   commitment, decode the report and its record JSON), for a report of
//!   one 2 KiB record; bounded by one ed25519 verification (41 µs) and one
//!   X25519 + ChaCha20-Poly1305 open;
//! - `purge expired`: the owner's retention purge per record (index and
//!   expiry entries removed in batches, one audit entry per batch), beside
//!   RocksDB's batched puts (2.3 M/s).
//!
//! Run: `cargo bench -p liaison --bench exchange`.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use liaison::store::records::{Prepared, Records};
use liaison::store::Store;
use liaison_protocol::envelope::{self, Draft, Envelope, MessageId, Recipient};
use liaison_protocol::exchange::{Released, Report};
use liaison_protocol::keys::{AgencyKey, SealingKey, SigningKey};
use liaison_protocol::record::{Handling, Record};
use liaison_protocol::{Selector, SelectorKind};

const FED: &str = "bench";

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("exchange");
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(10));

    let (owner, me) = (
        SigningKey::from_seed(&[1; 32]),
        SigningKey::from_seed(&[2; 32]),
    );
    let sealing = SealingKey::from_bytes([3; 32]);
    let card = AgencyKey::new(&me, &sealing);
    let json = format!(
        r#"{{"id":"KG-1","handling":"TLP:AMBER","grading":"B2","summary":"{}","entities":[]}}"#,
        "x".repeat(2000)
    );
    let report = Report {
        request: [7; 16],
        owner: owner.verifying_key().to_bytes(),
        owner_name: "kg-border".into(),
        recipient: me.verifying_key().to_bytes(),
        released_ms: 1,
        records: vec![Released {
            id: "KG-1".into(),
            handling: Handling::Amber,
            grading: Some("B2".parse().unwrap()),
            redacted: vec![],
            json,
        }],
    };
    let body = report.to_bytes();
    let kept = envelope::seal(
        &owner,
        Draft {
            federation: FED,
            context: "liaison/exchange/report/v1",
            recipient: &card,
            message_id: MessageId([1; 16]),
            epoch: 0,
            timestamp_ms: 1,
            body: &body,
        },
        &mut rand_core_09::UnwrapErr(rand_core_09::OsRng),
    )
    .unwrap()
    .to_bytes();
    let sender = owner.verifying_key();
    g.throughput(Throughput::Elements(1));
    g.bench_function("report verify on read / 1", |b| {
        b.iter(|| {
            let env = Envelope::decode(&kept, envelope::MAX_ENVELOPE).unwrap();
            let me = Recipient {
                federation: FED,
                signing: &me,
                sealing: &sealing,
            };
            let opened = env.reopen(me, &sender).unwrap();
            Report::decode(&opened.body).unwrap()
        })
    });

    let n = 10_000u64;
    g.throughput(Throughput::Elements(n));
    g.bench_function("purge expired / 10k records", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().unwrap();
                let store = Store::open(&dir.path().join("store")).unwrap();
                let past = time::OffsetDateTime::from_unix_timestamp(1_000).unwrap();
                let items = (0..n)
                    .map(|i| {
                        let mut r = Record::new(format!("R-{i}"));
                        r.expires = Some(past);
                        let s = Selector::new(SelectorKind::Phone, format!("+99670{i:07}"));
                        Prepared::new(&r, vec![s], "bench", 0)
                    })
                    .collect();
                Records::new(&store).put_batch(items).unwrap();
                (dir, store)
            },
            |(dir, store)| {
                assert_eq!(Records::new(&store).purge_expired(2_000, 4096).unwrap(), n);
                (dir, store)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
