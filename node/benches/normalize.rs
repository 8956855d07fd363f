//! Normalisation throughput per entity kind: one entity as an agency wrote
//! it, to its selectors. Run: `cargo bench -p liaison --bench normalize`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use liaison::synth::Generator;
use liaison_protocol::normalize::{entity_selectors, Context};
use liaison_protocol::record::{
    Account, Device, Document, Entity, Organization, Person, Phone, Vehicle,
};

fn entities() -> Vec<(&'static str, Vec<Entity>)> {
    let phones = [
        "0775 987 817",
        "+996 775 987 817",
        "00996775987817",
        "+7 (701) 123-45-67",
        "93 555 1234",
    ];
    let person = |s: &str, g: &str, dob: &str| {
        Entity::Person(Person {
            surname: Some(s.into()),
            given: Some(g.into()),
            dob: Some(dob.into()),
            ..Person::default()
        })
    };
    vec![
        (
            "phone",
            phones
                .iter()
                .map(|n| {
                    Entity::Phone(Phone {
                        number: (*n).into(),
                        ..Phone::default()
                    })
                })
                .collect(),
        ),
        (
            "document",
            ["AC 1234567", "ас1234567", "N12345678"]
                .iter()
                .map(|n| {
                    Entity::Document(Document {
                        number: (*n).into(),
                        ..Document::default()
                    })
                })
                .collect(),
        ),
        (
            "plate",
            ["01 123 ABC", "123 АВА 02"]
                .iter()
                .map(|p| {
                    Entity::Vehicle(Vehicle {
                        plate: Some((*p).into()),
                        ..Vehicle::default()
                    })
                })
                .collect(),
        ),
        (
            "vin",
            vec![Entity::Vehicle(Vehicle {
                vin: Some("1M8GDM9AXKP042788".into()),
                ..Vehicle::default()
            })],
        ),
        (
            "imei",
            vec![Entity::Device(Device {
                imei: "49-015420-323751-8".into(),
                ..Device::default()
            })],
        ),
        (
            "iban",
            vec![Entity::Account(Account {
                iban: Some("KZ86 125K ZT50 0410 0100".into()),
                ..Account::default()
            })],
        ),
        (
            "organization",
            ["ОсОО «Ак-Жол Транс»", "Ak-Zhol Trans LLC"]
                .iter()
                .map(|n| {
                    Entity::Organization(Organization {
                        name: Some((*n).into()),
                        ..Organization::default()
                    })
                })
                .collect(),
        ),
        (
            "person_cyrillic",
            vec![
                person("Курбонов", "Юсуф", "1985-03-14"),
                person("Ҷӯраев", "Фаррух", "05.05.1988"),
            ],
        ),
        (
            "person_latin",
            vec![
                person("KURBANOV", "IUSUF", "1985-03-14"),
                person("Chabibullajew", "Scherzod", "12.09.1991"),
            ],
        ),
    ]
}

fn per_kind(c: &mut Criterion) {
    let ctx = Context {
        country: Some("KGZ".parse().expect("KGZ is a country")),
    };
    let mut group = c.benchmark_group("normalize");
    for (name, list) in entities() {
        group.throughput(Throughput::Elements(list.len() as u64));
        group.bench_function(name, |b| {
            let mut out = Vec::with_capacity(64);
            b.iter(|| {
                for e in &list {
                    out.clear();
                    entity_selectors(black_box(e), &ctx, &mut out).expect("bench inputs are valid");
                }
                black_box(out.len())
            })
        });
    }
    group.finish();
}

/// A whole synthetic record (person, phone, passport, sometimes a vehicle):
/// the unit of ingest's CPU cost.
fn per_record(c: &mut Criterion) {
    let mut gen = Generator::new(3);
    let records: Vec<_> = (0..1000).map(|i| gen.record(i)).collect();
    let mut group = c.benchmark_group("prepare");
    group.throughput(Throughput::Elements(records.len() as u64));
    group.bench_function("synthetic_record", |b| {
        b.iter(|| {
            for r in &records {
                black_box(
                    liaison::ingest::prepare(black_box(r), None)
                        .expect("synthetic records are valid"),
                );
            }
        })
    });
    group.finish();
}

/// Parsing one NDJSON line into a record: the other half of ingest's
/// per-record CPU cost.
fn parse(c: &mut Criterion) {
    let mut gen = Generator::new(5);
    let lines: Vec<Vec<u8>> = (0..1000)
        .map(|i| serde_json::to_vec(&gen.record(i)).expect("serialises"))
        .collect();
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function("ndjson_record", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(liaison::ingest::read::parse_json(black_box(l)).expect("valid"));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, per_kind, per_record, parse);
criterion_main!(benches);
