//! kill -9 during ingest: no committed batch is lost, the store opens and
//! checks clean, and the same file ingested again completes it.

use std::time::{Duration, Instant};

use crate::common::Node;

const RECORDS: u64 = 60_000;
const BATCH: u64 = 500;

#[test]
fn kill_during_ingest_loses_no_committed_batch() {
    let node = Node::init("kg-border", "KGZ");
    node.set_config("batch_size", &BATCH.to_string());
    let file = node.dir.path().join("synthetic.ndjson");
    let gen = node.run(&[
        "generate",
        "--records",
        &RECORDS.to_string(),
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(gen.code, 0, "{gen:?}");

    let (mut child, lines) = node.spawn(&["ingest", "--progress-lines", file.to_str().unwrap()]);
    // Wait (bounded) until a few batches are reported committed, then kill.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut committed = 0u64;
    while committed < 5 * BATCH {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines
            .recv_timeout(left)
            .expect("ingest reports committed batches in time");
        if let Some(n) = line.strip_prefix("committed ").and_then(|l| {
            l.split(' ')
                .find_map(|kv| kv.strip_prefix("stored="))
                .and_then(|n| n.parse::<u64>().ok())
        }) {
            committed = n;
        }
    }
    child.kill().expect("kill -9 the ingest");
    let status = child.wait().expect("reaped");
    assert!(!status.success(), "the ingest was killed, not finished");
    assert!(committed < RECORDS, "killed part-way");

    // Reopens cleanly; the index, records and counters agree.
    let check = node.run(&["check", "--json"]);
    assert_eq!(check.code, 0, "{check:?}");
    let check = check.json();
    let held = check["records"].as_u64().unwrap();
    assert!(
        held >= committed,
        "a committed batch was lost: {held} held, {committed} reported committed"
    );
    assert!(held < RECORDS, "the kill came before the end");
    assert_eq!(
        held % BATCH,
        0,
        "batches are atomic: {held} is not whole batches"
    );
    // Batches commit in file order: exactly the first `held` records are there.
    let last = node.run(&["show", &format!("SYN-{}", held - 1)]);
    assert_eq!(last.code, 0, "SYN-{} present", held - 1);
    let next = node.run(&["show", &format!("SYN-{held}")]);
    assert_eq!(next.code, 2, "SYN-{held} absent");

    // The same file again completes the store, replacing what was there.
    let again = node.run(&["ingest", "--json", file.to_str().unwrap()]);
    assert_eq!(again.code, 0, "{again:?}");
    let summary = again.json();
    assert_eq!(summary["updated"].as_u64(), Some(held));
    assert_eq!(summary["stored"].as_u64(), Some(RECORDS - held));
    let check = node.run(&["check", "--json"]).json();
    assert_eq!(check["records"].as_u64(), Some(RECORDS));
    assert_eq!(
        check["problems"].as_array().map(Vec::len),
        Some(0),
        "{check}"
    );
}
