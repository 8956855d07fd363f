//! i2 Analyst's Notebook charts against an independent writer: the chart
//! `liaison::formats::anx::write` makes of the example agencies' records is
//! written again by `anxwritter` (PyPI) from the same content, and the two
//! are compared element by element by `tests/formats/anx/compare.py`
//! (element names, nesting and order, every attribute and its value, with
//! the accepted differences listed in the script). Needs the venv of
//! `scripts/browser-deps` with `tests/formats/anx/requirements.txt`.

use std::process::Command;

use liaison::formats::anx;
use liaison::formats::Source;
use liaison_protocol::record::Record;

use crate::common::{repo, venv};

/// The example records of two agencies and a call between their phones.
fn records() -> Vec<Record> {
    let mut text = String::new();
    for f in ["kg-border.ndjson", "tj-drug-control.ndjson"] {
        let path = repo().join("config/examples/data").join(f);
        text +=
            &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    text += r#"{"id":"CDR-1","summary":"Call","handling":"TLP:GREEN","grading":"B2","country":"KGZ","entities":[{"ref":"caller","type":"phone","number":"0775 987 817"},{"ref":"callee","type":"phone","number":"+992 93 555 1234"}],"links":[{"from":"caller","to":"callee","rel":"called","start":"2024-05-01T09:30:00+06:00","duration":185,"cell":"OSH-0042"}]}"#;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// Runs the comparison on `bytes` written as `name`; fails naming
/// `scripts/browser-deps` when the venv or anxwritter is missing.
fn compare(name: &str, bytes: &[u8]) {
    let python = venv().join("bin/python");
    assert!(
        python.exists(),
        "the venv is missing ({}): run scripts/browser-deps (LIAISON_VENV={})",
        python.display(),
        venv().display()
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(name);
    std::fs::write(&file, bytes).unwrap();
    let out = Command::new(&python)
        .arg(repo().join("tests/formats/anx/compare.py"))
        .arg(&file)
        .output()
        .expect("running python");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        !stderr.contains("anxwritter is not installed"),
        "anxwritter is missing from {}: run scripts/browser-deps\n{stderr}",
        venv().display()
    );
    assert!(
        out.status.success(),
        "{name} differs from anxwritter's chart:\n{stdout}{stderr}"
    );
    assert!(stdout.contains("same structure as anxwritter"), "{stdout}");
}

#[test]
fn chart_has_anxwritters_structure() {
    let source = Source {
        agency: "kg-border".into(),
        country: Some("KGZ".into()),
    };
    let xml = anx::write(&records(), &source);
    compare("ours.anx", xml.as_bytes());
    // As Analyst's Notebook writes files: UTF-16 with a byte-order mark.
    compare("ours-utf16.anx", &anx::encode_utf16(&xml));
}

#[test]
fn comparison_fails_on_a_structural_difference() {
    // The comparison is not vacuous: a chart whose icons lose their
    // entity type reference differs from anxwritter's.
    let source = Source {
        agency: "kg-border".into(),
        country: None,
    };
    let xml = anx::write(&records()[..1], &source);
    let broken = xml.replace("<Icon>", "<Icon Broken=\"1\">");
    assert_ne!(broken, xml);
    let python = venv().join("bin/python");
    assert!(
        python.exists(),
        "the venv is missing: run scripts/browser-deps"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.anx");
    std::fs::write(&file, broken).unwrap();
    let out = Command::new(&python)
        .arg(repo().join("tests/formats/anx/compare.py"))
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Icon/@Broken"), "{stderr}");
}
