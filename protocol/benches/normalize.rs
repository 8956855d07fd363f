//! The normaliser's cost per identifier where issue 14 changed it: phones
//! (each reading now checked against the plan) and persons (a sixth Latin
//! reading), and phone reading on one thread against two (ingest's two
//! workers read phones concurrently). Run: `cargo bench -p
//! liaison-protocol --bench normalize`.

use std::hint::black_box;
use std::sync::mpsc;

use criterion::{criterion_group, criterion_main, Criterion};
use liaison_protocol::normalize::{entity_selectors, phone, Context};
use liaison_protocol::record::Entity;
use liaison_protocol::Country;

fn entity(json: &str) -> Entity {
    serde_json::from_str(json).expect("a valid entity")
}

fn bench(c: &mut Criterion) {
    let kgz = Context {
        country: Some("KGZ".parse().expect("KGZ")),
    };
    let tjk = Context {
        country: Some("TJK".parse().expect("TJK")),
    };
    let cases = [
        (
            "phone_international",
            r#"{"type":"phone","number":"+996 775 987 817"}"#,
            kgz,
        ),
        (
            "phone_national",
            r#"{"type":"phone","number":"0775 987 817"}"#,
            kgz,
        ),
        (
            "phone_old_trunk",
            r#"{"type":"phone","number":"8 918 104804"}"#,
            tjk,
        ),
        (
            "person_cyrillic",
            r#"{"type":"person","surname":"Коваль","given":"Оксана","patronymic":"Охрімівна","dob":"1966-03-05"}"#,
            kgz,
        ),
        (
            "person_latin_full_name",
            r#"{"type":"person","full_name":"OKSANA OKHRIMIVNA KOVAL","dob":"05.03.1966"}"#,
            kgz,
        ),
    ];
    let mut g = c.benchmark_group("normalize");
    for (name, json, ctx) in cases {
        let e = entity(json);
        let mut out = Vec::with_capacity(64);
        g.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                let _ = entity_selectors(black_box(&e), &ctx, &mut out);
                out.len()
            })
        });
    }
    g.finish();
}

/// Phones as the synthetic records write them (see the node's `synth`):
/// Kyrgyz, Tajik, Kazakh and Uzbek mobiles, national and international,
/// each with its record's country.
fn synthetic_phones(n: usize) -> Vec<(String, Option<Country>)> {
    // A fixed linear congruential sequence: the same phones every run.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |below: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % below
    };
    (0..n)
        .map(|_| {
            let mut digits = |len: usize| -> String {
                (0..len)
                    .map(|_| char::from(b'0' + next(10) as u8))
                    .collect()
            };
            let seven = digits(7);
            let (raw, country) = match next(4) {
                0 => {
                    let n = format!("7{}{seven}", next(10));
                    let raw = match next(3) {
                        0 => format!("0{} {} {}", &n[..3], &n[3..6], &n[6..]),
                        1 => format!("+996 {} {} {}", &n[..3], &n[3..6], &n[6..]),
                        _ => format!("00996{n}"),
                    };
                    (raw, "KGZ")
                }
                1 => {
                    let n = format!("9{}{seven}", next(10));
                    let raw = match next(2) {
                        0 => format!("{} {} {}", &n[..2], &n[2..5], &n[5..]),
                        _ => format!("+992 {} {} {}", &n[..2], &n[2..5], &n[5..]),
                    };
                    (raw, "TJK")
                }
                2 => {
                    let n = format!("70{}{seven}", next(9));
                    let raw = match next(3) {
                        0 => format!("8 {} {} {} {}", &n[..3], &n[3..6], &n[6..8], &n[8..]),
                        1 => format!("+7 ({}) {}-{}-{}", &n[..3], &n[3..6], &n[6..8], &n[8..]),
                        _ => format!("+7{n}"),
                    };
                    (raw, "KAZ")
                }
                _ => {
                    let n = format!("9{}{seven}", next(10));
                    let raw = match next(2) {
                        0 => format!("{} {} {} {}", &n[..2], &n[2..5], &n[5..7], &n[7..]),
                        _ => format!("+998 {} {} {} {}", &n[..2], &n[2..5], &n[5..7], &n[7..]),
                    };
                    (raw, "UZB")
                }
            };
            (raw, Some(country.parse().expect("a known country")))
        })
        .collect()
}

/// Reads every phone of `phones`; how many were valid.
fn read_all(phones: &[(String, Option<Country>)]) -> usize {
    phones
        .iter()
        .filter(|(raw, country)| phone::read(black_box(raw), *country).is_ok_and(|p| p.valid))
        .count()
}

/// 2,000 synthetic phones read on one thread, and the same 2,000 split
/// between two long-lived threads (as ingest's two workers are): with no
/// lock shared between threads the second takes about half the time of
/// the first on two free cores.
fn threads(c: &mut Criterion) {
    let phones = synthetic_phones(2000);
    let (first, second) = phones.split_at(phones.len() / 2);
    let mut g = c.benchmark_group("phone_threads");
    g.bench_function("2000_on_1_thread", |b| b.iter(|| read_all(&phones)));
    std::thread::scope(|s| {
        // Each worker reads its half whenever it is told to, and answers
        // with its count; it ends when its order channel closes. One order
        // and one answer are ever in flight: channels of one.
        let workers: Vec<_> = [first, second]
            .into_iter()
            .map(|half| {
                let (order, orders) = mpsc::sync_channel::<()>(1);
                let (done, answers) = mpsc::sync_channel::<usize>(1);
                s.spawn(move || {
                    for () in orders {
                        if done.send(read_all(half)).is_err() {
                            break;
                        }
                    }
                });
                (order, answers)
            })
            .collect();
        g.bench_function("2000_on_2_threads", |b| {
            b.iter(|| {
                for (order, _) in &workers {
                    order.send(()).expect("the worker is running");
                }
                workers
                    .iter()
                    .map(|(_, answers)| answers.recv().expect("the worker answers"))
                    .sum::<usize>()
            })
        });
    });
    g.finish();
}

criterion_group!(benches, bench, threads);
criterion_main!(benches);
