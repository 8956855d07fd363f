//! The command line on real nodes: identity, ingest, look-ups, withdrawal,
//! and what each kind of bad input gets.

use std::os::unix::fs::PermissionsExt as _;

use crate::common::{examples_dir, liaison_in, Node};

#[test]
fn init_makes_private_keys_and_refuses_to_overwrite() {
    let node = Node::init("kg-border", "KGZ");
    let keys = node.dir.path().join("node/keys");
    for f in ["agency.ed25519", "sealing.x25519"] {
        let mode = std::fs::metadata(keys.join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
    let status = node.status();
    assert_eq!(status["name"], "kg-border");
    assert!(status["agency_key"]
        .as_str()
        .unwrap()
        .starts_with("liaison-agency-v1:"));
    assert!(
        status["peer_id"].as_str().unwrap().starts_with("12D3KooW"),
        "ed25519 PeerIds start 12D3KooW"
    );
    let secret = std::fs::read_to_string(keys.join("agency.ed25519")).unwrap();
    let secret_line = secret.lines().nth(1).unwrap();

    let again = liaison_in(
        node.dir.path(),
        &["init", "--dir", "node", "--name", "other"],
    );
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("already exists"), "{again:?}");
    assert_eq!(
        std::fs::read_to_string(keys.join("agency.ed25519")).unwrap(),
        secret,
        "keys untouched"
    );
    for out in [&again.stdout, &again.stderr, &status.to_string()] {
        assert!(!out.contains(secret_line), "a secret was printed");
    }

    let bad = liaison_in(
        node.dir.path(),
        &["init", "--dir", "n2", "--name", "Bad Name"],
    );
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("node.name") && bad.stderr.contains("lower-case"),
        "{bad:?}"
    );
    assert!(
        !node.dir.path().join("n2/keys").exists(),
        "a refused init leaves no keys behind"
    );
}

#[test]
fn ingest_find_show_withdraw_round_trip() {
    let node = Node::init("kg-border", "KGZ");
    let sample = examples_dir().join("data/kg-border.ndjson");
    let run = node.run(&["ingest", "--json", sample.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    let summary = run.json();
    assert_eq!(
        (summary["stored"].as_u64(), summary["refused"].as_u64()),
        (Some(5), Some(0)),
        "{summary}"
    );

    // Again: every record is replaced, none duplicated.
    let again = node
        .run(&["ingest", "--json", sample.to_str().unwrap()])
        .json();
    assert_eq!(
        (again["stored"].as_u64(), again["updated"].as_u64()),
        (Some(0), Some(5))
    );
    assert_eq!(node.status()["records"], 5);

    // The phone was written "0775 987 817"; every other form finds it.
    for form in [
        "+996 775 987 817",
        "00996775987817",
        "0775-987-817",
        "+996775987817",
    ] {
        let found = node.run(&["find", "--json", form]);
        assert_eq!(found.code, 0, "{form}: {found:?}");
        let ids: Vec<_> = found.json()["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["record"]["id"].clone())
            .collect();
        assert_eq!(ids, vec!["KG-2017-0042"], "{form}");
    }
    // IBAN written with spaces, found without; passport with Cyrillic look-alikes.
    assert_eq!(node.run(&["find", "kz86125kzt5004100100"]).code, 0);
    assert_eq!(
        node.run(&["find", "--kind", "document", "АС 1234567"]).code,
        0
    );
    let none = node.run(&["find", "+996 700 000 000"]);
    assert_eq!(none.code, 1, "nothing found exits 1: {none:?}");

    let shown = node.run(&["show", "KG-2019-0117"]);
    assert_eq!(shown.code, 0);
    assert!(
        shown.stdout.contains("Асанов Бакыт Асан уулу"),
        "kept as written"
    );

    let w = node.run(&["withdraw", "KG-2017-0042"]);
    assert_eq!(w.code, 0, "{w:?}");
    assert_eq!(
        node.run(&["find", "+996775987817"]).code,
        1,
        "withdrawn records are not found"
    );
    assert_eq!(node.run(&["withdraw", "KG-2017-0042"]).code, 2);
    let check = node.run(&["check", "--json"]).json();
    assert_eq!(check["problems"].as_array().unwrap().len(), 0, "{check}");
    assert_eq!(check["records"], 4);
}

#[test]
fn csv_and_call_records_ingest() {
    let node = Node::init("kz-customs", "KAZ");
    let files = [
        examples_dir().join("data/kz-customs.csv"),
        examples_dir().join("data/kz-customs-calls.csv"),
    ];
    let mut args = vec!["ingest", "--json"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let run = node.run(&args);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["stored"], 7);
    // The Kazakh national form of a number stored in international form.
    let found = node.run(&["find", "--json", "8 701 123 45 67"]).json();
    let ids: Vec<String> = found["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["record"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(ids.contains(&"KZ-2024-00018".to_owned()), "{ids:?}");
    assert_eq!(
        ids.iter().filter(|id| id.starts_with("CDR-")).count(),
        2,
        "two calls involve that number: {ids:?}"
    );
}

/// Each kind of bad line is refused with its line number, field and fix,
/// while the good lines around it are stored.
#[test]
fn bad_lines_are_refused_by_line_and_field_and_good_ones_stored() {
    let node = Node::init("kg-border", "KGZ");
    let good = |id: &str| {
        format!(r#"{{"id":"{id}","entities":[{{"type":"phone","number":"+996 775 987 817"}}]}}"#)
    };
    let lines = [
        good("OK-1"),
        r#"{"id":"BAD-JSON","entities":[{"type":"phone""#.to_owned(),
        r#"{"summary":"no id","entities":[{"type":"phone","number":"+996775987817"}]}"#.to_owned(),
        r#"{"id":"BAD-TYPE","entities":[{"type":"spaceship","name":"x"}]}"#.to_owned(),
        r#"{"id":"BAD-DATE","entities":[{"type":"person","surname":"Асанов","given":"Бакыт","dob":"1990-02-30"}]}"#.to_owned(),
        r#"{"id":"BAD-PHONE","entities":[{"type":"phone","number":"call the duty officer"}]}"#.to_owned(),
        r#"{"id":"BAD-IMEI","entities":[{"type":"device","imei":"490154203237517"}]}"#.to_owned(),
        r#"{"id":"BAD-IBAN","entities":[{"type":"account","iban":"KZ87125KZT5004100100"}]}"#.to_owned(),
        r#"{"id":"BAD-LINK","entities":[{"ref":"a","type":"phone","number":"+996775987817"}],"links":[{"from":"a","to":"b","rel":"uses"}]}"#.to_owned(),
        r#"{"id":"BAD-TLP","handling":"TLP:PURPLE","entities":[{"type":"phone","number":"+996775987817"}]}"#.to_owned(),
        good("OK-2"),
    ];
    let file = node.file("mixed.ndjson", &(lines.join("\n") + "\n"));
    let run = node.run(&["ingest", file.to_str().unwrap()]);
    assert_eq!(run.code, 1, "refusals give exit 1: {run:?}");
    let expect = [
        (2, "not valid JSON"),
        (3, "missing field `id`"),
        (4, "entities[0].type: unknown variant `spaceship`"),
        (5, "entities[0].dob: date \"1990-02-30\" does not exist"),
        (6, "entities[0].number: phone number \"call the duty officer\" cannot be read"),
        (7, "entities[0].imei: IMEI \"490154203237517\" is not valid: check digit is 7"),
        (8, "entities[0].iban: IBAN \"KZ87125KZT5004100100\" is not valid: the check digits (mod 97)"),
        (9, "links[0].to: no entity has ref \"b\""),
        (10, "handling: handling \"TLP:PURPLE\" is not a TLP 2.0 code"),
    ];
    for (line, text) in expect {
        let want = format!("mixed.ndjson:{line}: ");
        let found = run.stderr.lines().find(|l| l.contains(&want));
        let found = found.unwrap_or_else(|| panic!("no refusal for line {line}: {}", run.stderr));
        assert!(found.contains(text), "line {line}: {found}");
    }
    assert!(
        run.stdout
            .contains("11 read: 2 stored, 0 updated, 9 refused"),
        "{}",
        run.stdout
    );
    assert_eq!(node.status()["records"], 2);
}

#[test]
fn missing_files_and_bad_configs_stop_before_anything_is_stored() {
    let node = Node::init("kg-border", "KGZ");
    let good = node.file(
        "good.ndjson",
        r#"{"id":"A","entities":[{"type":"phone","number":"+996775987817"}]}"#,
    );
    let run = node.run(&["ingest", good.to_str().unwrap(), "no-such-file.ndjson"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("no-such-file.ndjson") && run.stderr.contains("No such file"),
        "{}",
        run.stderr
    );
    assert_eq!(
        node.status()["records"],
        0,
        "nothing stored from a run that could not start"
    );

    node.set_config("batch_size", "0");
    let run = node.run(&["ingest", good.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("liaison.toml: key `ingest.batch_size`: must be between 1"),
        "{}",
        run.stderr
    );

    node.set_config("batch_size", "2048\nbatch_sise = 1");
    let run = node.run(&["status"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("unknown field `batch_sise`"),
        "{}",
        run.stderr
    );

    let none = liaison_in(node.dir.path(), &["status"]);
    assert_eq!(none.code, 2);
    assert!(
        none.stderr.contains("no config file at liaison.toml")
            && none.stderr.contains("liaison init"),
        "{}",
        none.stderr
    );
}

#[test]
fn over_long_lines_are_refused_without_stopping_the_run() {
    let node = Node::init("kg-border", "KGZ");
    let huge = format!(
        r#"{{"id":"HUGE","summary":"{}","entities":[]}}"#,
        "x".repeat(2 << 20)
    );
    let text = format!(
        "{huge}\n{}\n",
        r#"{"id":"AFTER","entities":[{"type":"phone","number":"+996775987817"}]}"#
    );
    let file = node.file("huge.ndjson", &text);
    let run = node.run(&["ingest", file.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("huge.ndjson:1: line is") && run.stderr.contains("max_line_bytes"),
        "{}",
        run.stderr
    );
    assert_eq!(node.status()["records"], 1);
}
