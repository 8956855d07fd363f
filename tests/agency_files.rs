//! Files as agencies have them: a register with Cyrillic headers saved by
//! LibreOffice as XLSX and as Windows-1251 `;` CSV ingests, through the
//! shipped mapping file, to exactly the selectors of the NDJSON it was
//! made from; an operator's call export (the workbook's second sheet,
//! through the other shipped map) is the same calls as a plain call
//! record CSV; a bad map or a file the map does not fit stops the run
//! before anything is stored. Fixtures: `tests/data/agency-files/`
//! (`regenerate.sh` rebuilds the spreadsheets with LibreOffice).

use std::path::PathBuf;

use crate::common::{examples_dir, Node, Run};

fn data(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data/agency-files")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

fn map(name: &str) -> String {
    examples_dir()
        .join("maps")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

fn ingest(node: &Node, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["ingest", "--json"];
    all.extend_from_slice(args);
    let run = node.run(&all);
    assert_eq!(run.code, 0, "{run:?}");
    run.json()
}

/// The record ids the NDJSON holds.
fn register_ids() -> Vec<String> {
    std::fs::read_to_string(data("register.ndjson"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// A record's selectors, as `show` prints them, sorted.
fn selectors(node: &Node, id: &str) -> Vec<String> {
    let run = node.run(&["show", id]);
    assert_eq!(run.code, 0, "{id}: {run:?}");
    let mut s: Vec<String> = run.json()["selectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.to_string())
        .collect();
    s.sort();
    s
}

#[test]
fn a_register_saved_by_libreoffice_ingests_to_the_selectors_of_its_ndjson() {
    let ids = register_ids();
    let from_ndjson = Node::init("kg-border", "KGZ");
    let summary = ingest(&from_ndjson, &[&data("register.ndjson")]);
    assert_eq!(summary["stored"], ids.len(), "{summary}");

    let register = map("case-register-ru.toml");
    for file in ["register.xlsx", "register-cp1251.csv"] {
        let node = Node::init("kg-border", "KGZ");
        let summary = ingest(&node, &["--map", &register, &data(file)]);
        assert_eq!(
            (summary["stored"].as_u64(), summary["refused"].as_u64()),
            (Some(ids.len() as u64), Some(0)),
            "{file}: {summary}"
        );
        assert_eq!(node.status()["records"], ids.len(), "{file}");
        for id in &ids {
            let want = selectors(&from_ndjson, id);
            assert!(!want.is_empty(), "{id}");
            assert_eq!(selectors(&node, id), want, "{file}: {id}");
        }
        // Kept as written: the Cyrillic summary, decoded.
        let shown = node.run(&["show", &ids[1]]);
        assert!(
            shown.stdout.contains("Бишкек — Алматы"),
            "{file}: {}",
            shown.stdout
        );
    }
}

#[test]
fn an_operator_call_export_is_the_same_calls_as_a_call_record_csv() {
    let node = Node::init("kg-border", "KGZ");
    let plain = ingest(&node, &[&data("calls.csv")]);
    assert_eq!(plain["stored"], 3, "{plain}");
    // Numbers as number cells, date and time in their own cells, the
    // duration as a time: the same three calls, so the same three records.
    let sheet = ingest(
        &node,
        &[
            "--map",
            &map("operator-cdr-ru.toml"),
            "--sheet",
            "Звонки",
            &data("register.xlsx"),
        ],
    );
    assert_eq!(
        (
            sheet["stored"].as_u64(),
            sheet["updated"].as_u64(),
            sheet["refused"].as_u64()
        ),
        (Some(0), Some(3), Some(0)),
        "{sheet}"
    );
    assert_eq!(node.status()["records"], 3);
    let found = node.run(&["find", "--json", "0775 987 817"]).json();
    let durations: Vec<_> = found["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["record"]["links"][0]["duration"].clone())
        .collect();
    assert_eq!(durations.len(), 3, "{found}");
    assert!(
        durations.contains(&serde_json::json!(3600)),
        "{durations:?}"
    );

    // A sheet that is not there is named with those that are.
    let run = node.run(&["ingest", "--sheet", "Calls", &data("register.xlsx")]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr
            .contains("no sheet \"Calls\": its sheets are \"Реестр\", \"Звонки\""),
        "{run:?}"
    );
}

fn refused_before_anything_is_stored(node: &Node, run: &Run, says: &[&str]) {
    assert_ne!(run.code, 0, "{run:?}");
    for s in says {
        assert!(run.stderr.contains(s), "{s:?} in {run:?}");
    }
    assert_eq!(node.status()["records"], 0, "nothing stored");
}

#[test]
fn a_map_or_an_encoding_that_does_not_fit_stops_the_run_before_anything_is_stored() {
    let node = Node::init("kg-border", "KGZ");
    let bad = node.file(
        "bad.toml",
        "[columns]\n\"Фамилия\" = \"surname\"\n\"Госномер\" = \"plat\"\n",
    );
    let run = node.run(&[
        "ingest",
        "--map",
        bad.to_str().unwrap(),
        &data("register.xlsx"),
    ]);
    refused_before_anything_is_stored(
        &node,
        &run,
        &[
            "bad.toml",
            "`plat` is not a field of a record row",
            "plate, plate_country",
        ],
    );

    // The register fits the map; calls.csv, after it, does not: neither is stored.
    let run = node.run(&[
        "ingest",
        "--map",
        &map("case-register-ru.toml"),
        &data("register-cp1251.csv"),
        &data("calls.csv"),
    ]);
    refused_before_anything_is_stored(
        &node,
        &run,
        &["calls.csv", "the file's header lacks: ", "\"Фамилия\""],
    );

    // Windows-1251 said to be UTF-8: the byte and the flag are named.
    let run = node.run(&[
        "ingest",
        "--encoding",
        "utf-8",
        "--map",
        &map("case-register-ru.toml"),
        &data("register-cp1251.csv"),
    ]);
    refused_before_anything_is_stored(
        &node,
        &run,
        &["byte 0 (0xd0 0xe5 0xe5 0xf1) is not UTF-8", "--encoding"],
    );
    let run = node.run(&["ingest", "--encoding", "cp-klingon", &data("calls.csv")]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("windows-1251"), "{run:?}");
}
