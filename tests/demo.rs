//! `liaison demo` runs from anywhere and shows what it promises: three
//! daemons, a cross-border hit across scripts, the report behind it
//! released and withdrawn, a watchlist alert, a budget refusal, and audit
//! logs that verify.

use crate::common::liaison_in;

#[test]
fn demo_federates_three_agencies_and_shows_hits_alerts_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let run = liaison_in(dir.path(), &["demo", "--dir", "fed"]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = &run.stdout;
    for node in ["kg-border", "tj-drug-control", "kz-customs"] {
        assert!(out.contains(&format!("== {node}")), "{out}");
        assert!(out.contains(&format!("   {node}: ")), "{out}");
    }
    assert_eq!(out.matches("(0 refused at ingest)").count(), 3, "{out}");
    // The Latin-script query hits the Cyrillic records at both others.
    let kurbanov = out
        .lines()
        .skip_while(|l| !l.contains("person KURBANOV IUSUF"))
        .take(2)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(kurbanov.contains("HIT at kg-border on person_"), "{out}");
    assert!(
        kurbanov.contains("HIT at tj-drug-control on person_"),
        "{out}"
    );
    assert!(
        out.contains("person SIDOROV IVAN 1979-12-01     no hit"),
        "{out}"
    );
    // The follow-up: filed at kg-border, approved with a redaction, the
    // report verified at kz-customs, then the withdrawal marking the copy.
    assert!(
        out.contains("kg-border files request") && out.contains("record KG-2017-0042 [TLP:AMBER]"),
        "{out}"
    );
    assert!(
        out.contains(
            "[TLP:AMBER] grading B2, record KG-2017-0042 from kg-border, verified on reading"
        ),
        "{out}"
    );
    assert!(out.contains("summary: Курьер задержан"), "{out}");
    assert!(
        out.contains("kz-customs' copy is marked WITHDRAWN by a signed notice"),
        "{out}"
    );
    assert!(out.contains("ALERT at kg-border"), "{out}");
    assert!(
        out.contains("is now held by tj-drug-control (phone matched, new record)"),
        "{out}"
    );
    assert!(
        out.contains("declined: the phone budget is spent; it renews at"),
        "{out}"
    );
    assert_eq!(out.matches(", 0 problems").count(), 3, "{out}");
    assert!(!out.contains("!!"), "{out}");
    // The nodes it left behind are real: their stores open and check clean.
    let cfg = dir.path().join("fed/kg-border.toml");
    let check = liaison_in(dir.path(), &["--config", cfg.to_str().unwrap(), "check"]);
    assert_eq!(check.code, 0, "{check:?}");
    let hits = liaison_in(
        dir.path(),
        &[
            "--config",
            dir.path().join("fed/kz-customs.toml").to_str().unwrap(),
            "status",
            "--json",
        ],
    );
    assert_eq!(hits.code, 0, "{hits:?}");
    assert!(
        hits.json()["matching"]["hits"].as_u64() >= Some(5),
        "{hits:?}"
    );
}
