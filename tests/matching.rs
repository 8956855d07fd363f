//! Hit/no-hit matching between whole nodes: real daemons on 127.0.0.1,
//! each agency's sample data in its own script and format.

use std::path::Path;

use serde_json::Value;

use crate::common::examples_dir;
use crate::federation::{federation_with, wait_for, Agency};

/// Values only the querier holds; the owners must never see them.
const CANARIES: [&str; 6] = [
    "+996 700 424 242",
    "+996700424242",
    "Канарейкин",
    "kanareikin",
    "QX4242424",
    "qx4242424",
];

fn ingest(a: &Agency, files: &[&str]) {
    let mut args = vec!["ingest".to_owned()];
    args.extend(
        files
            .iter()
            .map(|f| examples_dir().join("data").join(f).display().to_string()),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = a.node.run(&args);
    assert_eq!(run.code, 0, "{run:?}");
}

/// `liaison match FILE --json` until every peer has been asked (their
/// filters arrive shortly after they connect).
fn match_all(a: &Agency, file: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["match", file.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    wait_for(&format!("{} to match against every peer", a.name), || {
        let run = a.node.run(&args);
        let v = run.json();
        (v["skipped"] == serde_json::json!([]) && v["complete"] == true)
            .then_some(v)
            .ok_or_else(|| {
                let log = std::fs::read_to_string(a.log_path()).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(15).collect();
                format!(
                    "{run:?}\nlog of {}, newest first:\n{}",
                    a.name,
                    tail.join("\n")
                )
            })
    })
}

fn hits_of<'v>(v: &'v Value, label_part: &str) -> &'v Vec<Value> {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["label"].as_str().unwrap().contains(label_part))
        .unwrap_or_else(|| panic!("no entity labelled {label_part}: {v}"))["hits"]
        .as_array()
        .unwrap()
}

fn peers_of(hits: &[Value]) -> Vec<&str> {
    let mut p: Vec<&str> = hits.iter().map(|h| h["peer"].as_str().unwrap()).collect();
    p.sort_unstable();
    p
}

/// Every file under `dir`, read whole, searched for each canary.
fn canaries_in(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                for c in CANARIES {
                    if bytes.windows(c.len()).any(|w| w == c.as_bytes()) {
                        found.push(format!("{c} in {}", p.display()));
                    }
                }
            }
        }
    }
    found
}

#[test]
fn cross_border_hits_across_scripts_and_the_owners_never_see_the_query() {
    // Each ingests before its daemon starts (the store directly), so the
    // first filter it builds for each peer holds everything.
    let mut fed = federation_with(&["kg-border", "tj-drug-control", "kz-customs"], |a| {
        a.node.set_config("delta_interval", "\"500ms\"");
        match a.name.as_str() {
            "kg-border" => ingest(a, &["kg-border.ndjson"]),
            "tj-drug-control" => ingest(a, &["tj-drug-control.ndjson"]),
            _ => {
                a.node.set_config("country", "\"KAZ\"");
                ingest(a, &["kz-customs.csv", "kz-customs-calls.csv"]);
            }
        }
    });

    // kz-customs asks about its own Latin-script record, a phone only
    // Tajik records hold, and canaries nobody holds.
    let query = fed[2].node.file(
        "query.csv",
        "record_id,surname,given,dob,phone,passport_country,passport_number\n\
         Q-1,KURBANOV,IUSUF,1985-03-14,,,\n\
         Q-2,,,,+992 93 555 7788,,\n\
         Q-3,Канарейкин,Пётр,1970-01-01,+996 700 424 242,KGZ,QX4242424\n\
         Q-4,,,not-a-date,,,\n",
    );
    let v = match_all(
        &fed[2],
        &query,
        &["--case", "KZ-OPS-77", "--basis", "Art. 12 customs code"],
    );
    // The person written in Cyrillic at both other agencies.
    let kurbanov = hits_of(&v, "KURBANOV");
    assert_eq!(peers_of(kurbanov), ["kg-border", "tj-drug-control"], "{v}");
    for h in kurbanov {
        let kinds = h["kinds"].as_array().unwrap();
        assert!(
            kinds
                .iter()
                .any(|k| k.as_str().unwrap().starts_with("person_")),
            "{h}"
        );
        assert!(h["strength"].as_str().is_some(), "{h}");
    }
    assert_eq!(
        peers_of(hits_of(&v, "+992 93 555 7788")),
        ["tj-drug-control"],
        "{v}"
    );
    for part in ["Канарейкин", "+996 700 424 242", "QX4242424"] {
        assert!(hits_of(&v, part).is_empty(), "{part}: {v}");
    }
    // The bad row is reported by line, the good ones matched.
    let bad = v["bad"].as_array().unwrap();
    assert!(
        bad.iter()
            .any(|b| b.as_str().unwrap().contains("query.csv:5")),
        "{v}"
    );
    // Hits are stored.
    let run = fed[2].node.run(&["hits", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.json().as_array().unwrap().len() >= 3, "{run:?}");

    // kz-customs keeps the canary entity on its watchlist: its own store
    // now holds the values (the positive control for the scan below).
    let watch = fed[2].node.file(
        "watch.csv",
        "record_id,surname,given,dob,phone,passport_country,passport_number\n\
         W-1,Канарейкин,Пётр,1970-01-01,+996 700 424 242,KGZ,QX4242424\n",
    );
    let run = fed[2].node.run(&["watch", "add", watch.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    std::fs::remove_file(&watch).unwrap();

    // The owners' stores, logs and audit logs hold no canary.
    for a in &mut fed {
        a.stop();
    }
    for a in &fed[..2] {
        let found = canaries_in(a.node.dir.path());
        assert!(
            found.is_empty(),
            "{} holds the querier's values: {found:?}",
            a.name
        );
        // Its log recorded the evaluations, by count and case commitment.
        let run = a
            .node
            .run(&["audit", "show", "--json", "--limit", "100000"]);
        assert_eq!(run.code, 0, "{run:?}");
        let shown = run.json();
        let evals: Vec<&Value> = shown
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["context"] == "liaison/match/evaluate/v1" && e["kind"] == "received")
            .collect();
        assert!(!evals.is_empty(), "{run:?}");
        // The queries under the case; the watchlist's renewals marked as
        // such (the purpose the querier claimed is on the owner's record).
        let (queries, renewals): (Vec<&&Value>, Vec<&&Value>) = evals
            .iter()
            .partition(|e| e["detail"].as_str().unwrap().starts_with("query"));
        assert!(!queries.is_empty() && !renewals.is_empty(), "{run:?}");
        assert!(queries.iter().all(|e| e["case"] == true), "{run:?}");
        assert!(
            renewals
                .iter()
                .all(|e| e["detail"].as_str().unwrap().starts_with("renewal")),
            "{run:?}"
        );
        assert!(
            evals.iter().all(|e| e["count"].as_u64() >= Some(1)),
            "{run:?}"
        );
        let verify = a.node.run(&["audit", "verify"]);
        assert_eq!(verify.code, 0, "{verify:?}");
    }
    // The querier itself holds them, of course: the scan is not blind. It
    // finds them in the RocksDB files (the query and watch files are
    // elsewhere or gone), so it sees inside a store.
    let in_store = canaries_in(&fed[2].node.dir.path().join("node/data"));
    assert!(
        !in_store.is_empty(),
        "the scan found nothing in the querier's store"
    );
}
