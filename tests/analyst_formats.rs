//! The analysts' formats through the CLI, on a real store: handling
//! markings other than TLP read by the config's table (NDJSON and CSV)
//! and kept as written; `liaison export anx|stix` of stored records;
//! `liaison ingest` of the chart and the bundle into another agency's
//! node, giving the same records back, with a TLP:RED record kept out of
//! the bundle and named.

use crate::common::Node;

/// Fills the template's (commented-out) `[ingest.markings]` table.
fn with_markings(node: &Node) {
    let text = std::fs::read_to_string(&node.config).expect("config");
    assert!(
        text.contains("[ingest.markings]\n"),
        "the template has the table"
    );
    let text = text.replace(
        "[ingest.markings]\n",
        "[ingest.markings]\n\"H1\" = \"TLP:AMBER+STRICT\"\n\"ДСП\" = \"TLP:AMBER+STRICT\"\n",
    );
    std::fs::write(&node.config, text).expect("config writable");
}

fn show(node: &Node, id: &str) -> serde_json::Value {
    let run = node.run(&["show", id]);
    assert_eq!(run.code, 0, "{run:?}");
    run.json()
}

#[test]
fn markings_are_read_by_the_table_and_records_go_to_i2_and_stix_and_back() {
    let kg = Node::init("kg-border", "KGZ");
    with_markings(&kg);
    let ndjson = kg.file(
        "cases.ndjson",
        concat!(
            r#"{"id":"KG-1","handling":"дсп","grading":"4x4:C3","entities":[{"ref":"p1","type":"person","surname":"Курбонов","given":"Юсуф","dob":"1985-03-14","nationality":"XXA"},{"ref":"t1","type":"phone","number":"0775 987 817"},{"ref":"d1","type":"document","doc_type":"passport","country":"D","number":"C01X00T47"}],"links":[{"from":"p1","to":"t1","rel":"uses"},{"from":"p1","to":"d1","rel":"holds"}]}"#,
            "\n",
            r#"{"id":"KG-2","handling":"TLP:RED","entities":[{"ref":"t1","type":"phone","number":"+996 555 123 456"}]}"#,
            "\n",
            r#"{"id":"KG-3","handling":"H7","entities":[{"ref":"t1","type":"phone","number":"+996 555 123 457"}]}"#,
            "\n",
        ),
    );
    let csv = kg.file(
        "phones.csv",
        "record_id,phone,handling,summary\nKG-4,+996 775 111 222,H1,from a register\n",
    );
    let run = kg.run(&["ingest", ndjson.to_str().unwrap(), csv.to_str().unwrap()]);
    // KG-3's marking is in no table: refused, naming the table; the rest stored.
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("cases.ndjson:3") && run.stderr.contains("[ingest.markings]"),
        "{}",
        run.stderr
    );
    let kg1 = show(&kg, "KG-1");
    assert_eq!(kg1["record"]["handling"], "TLP:AMBER+STRICT", "{kg1}");
    assert_eq!(kg1["record"]["marking"], "дсп");
    assert_eq!(
        kg1["record"]["grading"], "D3",
        "Europol C3 read as Admiralty D3"
    );
    assert_eq!(kg1["record"]["grading_as_written"], "4x4:C3");
    let kg4 = show(&kg, "KG-4");
    assert_eq!(kg4["record"]["handling"], "TLP:AMBER+STRICT", "{kg4}");
    assert_eq!(kg4["record"]["marking"], "H1");

    let anx = kg.dir.path().join("case.anx");
    let run = kg.run(&[
        "export",
        "anx",
        "--record",
        "KG-1",
        "--record",
        "KG-4",
        "--out",
        anx.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let bytes = std::fs::read(&anx).expect("chart");
    assert!(
        bytes.starts_with(&[0xff, 0xfe]),
        "UTF-16 with a byte order mark, as i2 writes"
    );
    let stix = kg.dir.path().join("bundle.json");
    let run = kg.run(&[
        "export",
        "stix",
        "--record",
        "KG-1",
        "--record",
        "KG-2",
        "--out",
        stix.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("KG-2"),
        "the TLP:RED record is named as left out: {}",
        run.stderr
    );
    let bundle = std::fs::read_to_string(&stix).expect("bundle");
    assert!(
        !bundle.contains("555 123 456") && !bundle.contains("555123456"),
        "no TLP:RED content"
    );
    let v: serde_json::Value = serde_json::from_str(&bundle).expect("JSON");
    assert_eq!(v["type"], "bundle");
    let run = kg.run(&["export", "anx", "--out", anx.to_str().unwrap()]);
    assert_ne!(run.code, 0, "nothing named is refused");

    // Another agency reads both files back into records.
    let tj = Node::init("tj-drug-control", "TJK");
    let run = tj.run(&["ingest", anx.to_str().unwrap(), stix.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    let back = show(&tj, "KG-1");
    let entities = back["record"]["entities"].as_array().expect("entities");
    assert_eq!(entities.len(), 3, "{back}");
    assert_eq!(back["record"]["handling"], "TLP:AMBER+STRICT");
    assert!(
        tj.run(&["show", "KG-2"]).code != 0,
        "the TLP:RED record never left"
    );
    let found = tj.run(&["find", "+996 775 987 817"]);
    assert!(found.stdout.contains("KG-1"), "{found:?}");
}
