//! STIX 2.1 export checked by the reference tools: every sample file's
//! records, all of them together and each record alone, written by
//! `liaison::formats::stix::write`, must pass the OASIS validator
//! (`stix2-validator`, strict: every SHOULD is an error) and load in the
//! `stix2` library, both pinned in `tests/formats/stix/requirements.txt`
//! and installed by `scripts/browser-deps` into
//! `${LIAISON_VENV:-/var/tmp/liaison-venv}`.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use liaison::formats::stix;
use liaison::formats::Source;
use liaison_protocol::record::{Handling, Record};
use liaison_protocol::Country;

use crate::common::{repo, venv};

/// The records of one file (relative to the repo), read as `liaison
/// ingest` reads it.
fn records(name: &str, country: Option<&str>) -> Vec<Record> {
    let path = repo().join(name);
    let country = country.map(|c| c.parse::<Country>().expect("a country"));
    liaison::ingest::read::open(&path, None, 1 << 20, country, Arc::new(AtomicU64::new(0)))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .map(|item| {
            item.into_record()
                .0
                .unwrap_or_else(|e| panic!("{name}: {e:?}"))
        })
        .collect()
}

#[test]
fn exports_pass_the_reference_validator_and_load_in_stix2() {
    let python = venv().join("bin/python");
    assert!(
        python.exists(),
        "the venv with stix2 and stix2-validator is missing ({}): run scripts/browser-deps (LIAISON_VENV={})",
        python.display(),
        venv().display()
    );
    // The export's time, through the record model (this crate does not
    // depend on `time` itself).
    let created = serde_json::from_str::<Record>(r#"{"id":"t","created":"2024-06-01T12:00:00Z"}"#)
        .expect("a record")
        .created
        .expect("a time");
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut files = Vec::new();
    let mut all = Vec::new();
    let mut write = |name: String, source: &Source, recs: &[Record]| {
        let path = dir.path().join(format!("{name}.json"));
        let bundle = stix::write(recs, source, created);
        std::fs::write(&path, serde_json::to_vec_pretty(&bundle).expect("JSON")).expect("written");
        files.push(path);
    };
    for (file, agency, country) in [
        ("config/examples/data/kg-border.ndjson", "kg-border", "KGZ"),
        (
            "config/examples/data/tj-drug-control.ndjson",
            "tj-drug-control",
            "TJK",
        ),
        ("config/examples/data/kz-customs.csv", "kz-customs", "KAZ"),
        (
            "config/examples/data/kz-customs-calls.csv",
            "kz-customs",
            "KAZ",
        ),
        // Every unusual field: no entities, ref-less entities, Cyrillic
        // field names, calls with offsets, AMBER+STRICT.
        ("tests/formats/stix/edge.ndjson", "kg-border", "KGZ"),
    ] {
        let source = Source {
            agency: agency.into(),
            country: Some(country.into()),
        };
        let recs = records(file, file.ends_with(".csv").then_some(country));
        assert!(!recs.is_empty(), "{file}");
        let stem = Path::new(file)
            .file_name()
            .and_then(|n| n.to_str())
            .expect("a name");
        write(stem.replace('.', "-"), &source, &recs);
        for r in &recs {
            if r.handling != Handling::Red {
                write(format!("record-{}", r.id), &source, std::slice::from_ref(r));
            }
        }
        all.extend(recs);
    }
    let whole = Source {
        agency: "kg-border".into(),
        country: None,
    };
    write("all".into(), &whole, &all);
    let out = Command::new(&python)
        .arg(repo().join("tests/formats/stix/check.py"))
        .args(&files)
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code() != Some(2),
        "stix2 or stix2-validator is missing or not at the pinned version: run scripts/browser-deps\n{stdout}{stderr}"
    );
    assert!(
        out.status.success(),
        "the reference tools refuse an export:\n{stdout}{stderr}"
    );
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.contains(": valid (stix2-validator"))
            .count(),
        files.len(),
        "{stdout}"
    );
}
