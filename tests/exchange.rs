//! The follow-up between whole nodes: a hit, the request, the owner's
//! policy or analyst, the report shown at the requester; refusal, TLP:RED,
//! no such record, the deadline reminder, withdrawal reaching the copy,
//! and retention. Real daemons on 127.0.0.1, real RocksDB and libp2p.
//! (Re-addressed and forwarded reports, forged tags and exact purges at
//! simulated times are tested between in-process nodes in
//! `node/src/exchange/tests.rs`.)

use serde_json::Value;

use crate::federation::{federation_with, wait_for, Agency};

/// Text only kg-border's TLP:RED record holds.
const RED_CANARY: &str = "RED-CANARY-7731";

/// kg-border's records: one per handling code the test needs.
fn owner_records() -> String {
    let rec = |id: &str, handling: &str, phone: &str, summary: &str| {
        format!(
            r#"{{"id":"{id}","handling":"{handling}","grading":"B2","summary":"{summary}","entities":[{{"ref":"p1","type":"person","surname":"Курбонов","given":"Юсуф","dob":"1985-03-14"}},{{"ref":"t1","type":"phone","number":"{phone}"}}],"links":[{{"from":"p1","to":"t1","rel":"uses"}}]}}"#
        )
    };
    [
        rec(
            "KG-GREEN",
            "TLP:GREEN",
            "0775 111 001",
            "Courier detained at Osh",
        ),
        rec(
            "KG-AMBER-1",
            "TLP:AMBER",
            "0775 111 002",
            "Seen at the Karamyk crossing",
        ),
        rec(
            "KG-AMBER-2",
            "TLP:AMBER",
            "0775 111 003",
            "Informant report",
        ),
        rec("KG-CLEAR", "TLP:CLEAR", "0775 111 004", "Open source"),
        rec("KG-RED", "TLP:RED", "0775 111 005", RED_CANARY),
        rec("KG-GONE", "TLP:GREEN", "0775 111 006", "To be withdrawn"),
    ]
    .join("\n")
        + "\n"
}

fn run_ok(a: &Agency, args: &[&str]) -> crate::common::Run {
    let run = a.node.run(args);
    assert_eq!(run.code, 0, "{} {args:?}: {run:?}", a.name);
    run
}

/// kz-customs' outgoing request for the hit on `entity`, once its answer
/// is `want`.
fn answered(kz: &Agency, entity: &str, want: &str) -> Value {
    wait_for(
        &format!("kz-customs' request for {entity} to be {want}"),
        || {
            let v = kz.node.run(&["requests", "--json"]).json();
            let r = v["outgoing"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["entity"].as_str().unwrap_or("").contains(entity))
                .cloned()
                .ok_or_else(|| v.to_string())?;
            (r["answer"] == want)
                .then_some(r.clone())
                .ok_or(r.to_string())
        },
    )
}

fn incoming(kg: &Agency, record: &str) -> Value {
    let v = run_ok(kg, &["requests", "--json"]).json();
    v["incoming"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["records"].as_array().unwrap().iter().any(|x| x == record))
        .cloned()
        .unwrap_or_else(|| panic!("no request for {record}: {v}"))
}

#[test]
fn a_hit_becomes_a_report_by_policy_or_analyst_and_its_withdrawal_reaches_the_copy() {
    let fed = federation_with(&["kg-border", "kz-customs", "tj-drug-control"], |a| {
        a.node.set_config("delta_interval", "\"500ms\"");
        if a.name == "kg-border" {
            a.node.set_config(
                "release",
                r#"{ default = "auto", "TLP:AMBER" = "manual", "TLP:CLEAR" = "never" }"#,
            );
            a.node.set_config("deadline", "\"2s\"");
            let f = a.node.file("records.ndjson", &owner_records());
            run_ok(a, &["ingest", f.to_str().unwrap()]);
        }
    });
    let (kg, kz, tj) = (&fed[0], &fed[1], &fed[2]);

    // kz-customs finds all six phones at kg-border, under its case.
    let query = kz.node.file(
        "query.csv",
        "record_id,phone\nQ-GREEN,+996 775 111 001\nQ-AMBER-1,+996 775 111 002\n\
         Q-AMBER-2,+996 775 111 003\nQ-CLEAR,+996 775 111 004\nQ-RED,+996 775 111 005\n\
         Q-GONE,+996 775 111 006\n",
    );
    let v = wait_for("kz-customs to match at every peer", || {
        let v = kz
            .node
            .run(&[
                "match",
                query.to_str().unwrap(),
                "--peer",
                "kg-border",
                "--case",
                "KZ-2026-118",
                "--basis",
                "Art. 5 of the customs agreement",
                "--json",
            ])
            .json();
        (v["complete"] == true && v["skipped"] == serde_json::json!([]))
            .then_some(v.clone())
            .ok_or_else(|| v.to_string())
    });
    let found = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["hits"].as_array().unwrap().is_empty())
        .count();
    // Every phone but the TLP:RED record's: a RED record puts nothing in
    // a peer's filter (its follow-up refusal, with the agreement's
    // opt-in, is tested between in-process nodes).
    assert_eq!(found, 5, "{v}");
    let red = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["entity"].as_str().unwrap().starts_with("Q-RED"))
        .unwrap();
    assert_eq!(red["hits"], serde_json::json!([]), "{v}");
    let hits = run_ok(kz, &["hits", "--json"]).json();
    let hit = |entity: &str| -> String {
        hits.as_array()
            .unwrap()
            .iter()
            .filter(|h| h["entity"].as_str().unwrap().contains(entity))
            .map(|h| h["id"].as_u64().unwrap().to_string())
            .next_back()
            .unwrap_or_else(|| panic!("no hit for {entity}: {hits}"))
    };

    // KG-GONE is withdrawn after the hit: its request names nothing held.
    run_ok(kg, &["withdraw", "KG-GONE"]);
    for q in ["Q-GREEN", "Q-AMBER-1", "Q-AMBER-2", "Q-CLEAR", "Q-GONE"] {
        // The case comes from the match; a note for the owner's analyst.
        run_ok(kz, &["request", &hit(q), "--note", "courier in transit"]);
    }
    let again = kz.node.run(&["request", &hit("Q-GREEN")]);
    assert_ne!(again.code, 0);
    assert!(again.stderr.contains("already followed up"), "{again:?}");
    let missing = kz.node.run(&["request", "424242"]);
    assert!(
        missing.code != 0 && missing.stderr.contains("no hit 424242"),
        "{missing:?}"
    );

    // auto: released at once. never: refused by policy. A withdrawn
    // record: no such record.
    answered(kz, "Q-GREEN", "reported");
    let clear = answered(kz, "Q-CLEAR", "refused");
    assert!(
        clear["reason"].as_str().unwrap().contains("policy"),
        "{clear}"
    );
    answered(kz, "Q-GONE", "no_such_record");
    // manual: filed, and past the 2 s deadline a reminder is raised.
    answered(kz, "Q-AMBER-1", "filed");
    answered(kz, "Q-AMBER-2", "filed");
    // Both reminders: the second request may cross its deadline a tick
    // after the first, and "2 OVERDUE" below counts both.
    for record in ["KG-AMBER-1", "KG-AMBER-2"] {
        wait_for(&format!("kg-border's reminder for {record}"), || {
            let r = incoming(kg, record);
            (r["reminded"] == true).then_some(()).ok_or(r.to_string())
        });
    }
    let status = run_ok(kg, &["status"]).stdout;
    assert!(
        status.contains("2 requests from peers waiting (2 OVERDUE)"),
        "{status}"
    );
    let listed = run_ok(kg, &["requests"]).stdout;
    assert!(
        listed.contains("OVERDUE")
            && listed.contains("case KZ-2026-118 (Art. 5 of the customs agreement)"),
        "{listed}"
    );
    let waiting = incoming(kg, "KG-AMBER-1");
    assert_eq!(waiting["reference"], "KZ-2026-118");
    assert_eq!(waiting["note"], "courier in transit");

    // The analyst: bad input first, which changes nothing.
    let amber1 = incoming(kg, "KG-AMBER-1")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let amber2 = incoming(kg, "KG-AMBER-2")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bad = kg
        .node
        .run(&["approve", &amber1[..8], "--redact", "t1.imei"]);
    assert!(bad.code != 0 && bad.stderr.contains("t1.imei"), "{bad:?}");
    assert_eq!(incoming(kg, "KG-AMBER-1")["decision"], "pending");
    run_ok(kg, &["approve", &amber1[..8], "--redact", "summary"]);
    let twice = kg.node.run(&["approve", &amber1[..8]]);
    assert!(
        twice.code != 0 && twice.stderr.contains("already answered"),
        "{twice:?}"
    );
    let no_reason = kg.node.run(&["refuse", &amber2[..8], "--reason", " "]);
    assert!(
        no_reason.code != 0 && no_reason.stderr.contains("reason"),
        "{no_reason:?}"
    );
    run_ok(
        kg,
        &[
            "refuse",
            &amber2[..8],
            "--reason",
            "the informant must not be exposed",
        ],
    );
    let refused = answered(kz, "Q-AMBER-2", "refused");
    assert_eq!(refused["reason"], "the informant must not be exposed");
    answered(kz, "Q-AMBER-1", "reported");
    let listed = run_ok(kz, &["requests"]).stdout;
    assert!(
        listed.contains("REFUSED: the informant must not be exposed"),
        "{listed}"
    );

    // Two reports at kz-customs, each verified on read, grading and
    // handling up front; the redacted summary is gone.
    let reports = run_ok(kz, &["reports", "--json"]).json();
    let views = reports["reports"].as_array().unwrap();
    assert_eq!(views.len(), 2, "{reports}");
    for r in views {
        assert_eq!(r["verified"], true, "{r}");
        assert_eq!(r["originator"], "kg-border");
    }
    let show = |id: &str| run_ok(kz, &["report", "show", &id[..8]]).stdout;
    let green_id = answered(kz, "Q-GREEN", "reported")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let text = show(&green_id);
    assert!(
        text.contains("[TLP:GREEN] grading B2  record KG-GREEN")
            && text.contains("Courier detained at Osh"),
        "{text}"
    );
    let amber_id = answered(kz, "Q-AMBER-1", "reported")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let text = show(&amber_id);
    assert!(
        text.contains("[TLP:AMBER]")
            && text.contains("redacted: summary")
            && !text.contains("Karamyk"),
        "{text}"
    );
    // Kept apart from kz-customs' own records: not found locally, and not
    // in kz-customs' filter for a third agency: tj-drug-control finds the
    // phone at kg-border, its owner, and not at kz-customs.
    let find = kz.node.run(&["find", "+996 775 111 001"]);
    assert!(!find.stdout.contains("KG-GREEN"), "{find:?}");
    let tj_query = tj
        .node
        .file("q.csv", "record_id,phone\nT-1,+996 775 111 001\n");
    let v = wait_for("tj-drug-control to match at both peers", || {
        let v = tj
            .node
            .run(&["match", tj_query.to_str().unwrap(), "--json"])
            .json();
        (v["complete"] == true && v["skipped"] == serde_json::json!([]))
            .then_some(v.clone())
            .ok_or_else(|| v.to_string())
    });
    let peers: Vec<&str> = v["results"][0]["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["peer"].as_str().unwrap())
        .collect();
    assert_eq!(peers, vec!["kg-border"], "{v}");

    // TLP:RED never left: kg-border sent kz-customs exactly two reports
    // (GREEN by policy, AMBER-1 by the analyst), and neither holds it.
    let log = run_ok(
        kg,
        &[
            "audit",
            "show",
            "--peer",
            "kz-customs",
            "--limit",
            "100000",
            "--json",
        ],
    )
    .json();
    let reports_sent = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "sent" && e["context"] == "liaison/exchange/report/v1")
        .count();
    assert_eq!(reports_sent, 2, "{log}");
    let held = run_ok(kz, &["reports", "--json"]).stdout;
    assert!(
        !held.contains(RED_CANARY) && !held.contains("KG-RED"),
        "{held}"
    );
    assert!(
        held.contains("Courier detained at Osh"),
        "the check reads the decrypted reports"
    );

    // Withdrawal reaches kz-customs' copy.
    run_ok(kg, &["withdraw", "KG-GREEN"]);
    wait_for("the withdrawal notice to mark kz-customs' copy", || {
        let v = run_ok(kz, &["reports", "--json"]).json();
        let r = v["reports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == green_id.as_str())
            .cloned()
            .ok_or_else(|| v.to_string())?;
        (r["records"][0]["change"] == "withdrawn")
            .then_some(())
            .ok_or(r.to_string())
    });
    assert!(show(&green_id).contains("WITHDRAWN BY THE OWNER"));

    // Retention: a record past its expiry goes, one before it stays.
    let f = kg.node.file(
        "expiring.ndjson",
        "{\"id\":\"KG-OLD\",\"expires\":\"2020-01-01T00:00:00Z\",\"entities\":[{\"type\":\"phone\",\"number\":\"0775 222 001\"}]}\n\
         {\"id\":\"KG-NEW\",\"expires\":\"2099-01-01T00:00:00Z\",\"entities\":[{\"type\":\"phone\",\"number\":\"0775 222 002\"}]}\n",
    );
    run_ok(kg, &["ingest", f.to_str().unwrap()]);
    let purged = run_ok(kg, &["purge", "--json"]).json();
    assert_eq!(purged["records"], 1, "{purged}");
    assert_ne!(kg.node.run(&["show", "KG-OLD"]).code, 0);
    run_ok(kg, &["show", "KG-NEW"]);
    run_ok(kg, &["show", "KG-AMBER-1"]);
    assert_eq!(run_ok(kg, &["purge", "--json"]).json()["records"], 0);

    for a in &fed {
        run_ok(a, &["audit", "verify"]);
    }
}
