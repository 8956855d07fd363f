//! The normaliser's cost per identifier where issue 14 changed it: phones
//! (each reading now checked against the plan) and persons (a sixth Latin
//! reading). Run: `cargo bench -p liaison-protocol --bench normalize`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use liaison_protocol::normalize::{entity_selectors, Context};
use liaison_protocol::record::Entity;

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

criterion_group!(benches, bench);
criterion_main!(benches);
