//! A daemon told to stop in the middle of long work stops within seconds
//! and leaves nothing half-done: the filter build it was in the middle of
//! is built again, whole, at the next start.

use std::io::Write as _;
use std::time::Duration;

use serde_json::Value;

use crate::federation::{wait_within, Agency};

/// Records (one phone number each) in the build that is interrupted.
const SELECTORS: u64 = 1_000_000;
/// How long a stop may take. The daemon before this test kept both cores
/// busy for minutes after "shutting down"; a few seconds leave room for a
/// busy machine.
const STOP_WITHIN: Duration = Duration::from_secs(10);
/// A whole build of a million tags by the test (unoptimised) binary.
const BUILD_WAIT: Duration = Duration::from_secs(600);

/// The build for `peer` in the running daemon's status, once `ready`
/// says so (or panics after `wait`, with the last status).
fn build_when(a: &Agency, peer: &str, wait: Duration, ready: impl Fn(&Value) -> bool) -> Value {
    wait_within(wait, &format!("the build for {peer}"), || {
        let s = a.status();
        let b = &s["matching"]["builds"][peer];
        ready(b).then(|| b.clone()).ok_or_else(|| s.to_string())
    })
}

fn serving(a: &Agency, peer: &str) -> Vec<u64> {
    a.status()["matching"]["serving"][peer]
        .as_array()
        .map(|e| e.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

#[test]
fn sigterm_during_a_filter_build_of_a_million_stops_within_seconds_and_the_next_start_builds_it_again(
) {
    let mut kg = Agency::new("kg-border");
    let tj = Agency::new("tj-drugs");
    let file = kg.node.dir.path().join("phones.csv");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
        writeln!(out, "record_id,phone").unwrap();
        for i in 0..SELECTORS {
            writeln!(out, "KG-{i},+99670{i:07}").unwrap();
        }
        out.flush().unwrap();
    }
    let run = kg.node.run(&["ingest", file.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    kg.trust_as("tj-drugs", &tj.key(), None, true);

    kg.start();
    let b = build_when(&kg, "tj-drugs", BUILD_WAIT, |b| {
        b["done"].as_u64() > Some(0) && b["finished"] == false
    });
    assert_eq!(b["total"].as_u64(), Some(SELECTORS), "{b}");
    let took = kg.stop();
    eprintln!("stopped {took:?} after SIGTERM, at {b}");
    assert!(
        took < STOP_WITHIN,
        "stopped {took:?} after SIGTERM, in a build at {b}"
    );
    let log = std::fs::read_to_string(kg.log_path()).unwrap();
    assert!(
        log.contains("matching: scheduled work stopped"),
        "the build saw the stop: {log}"
    );
    assert!(!log.contains("filter built and sent"), "{log}");
    assert_eq!(
        serving(&kg, "tj-drugs"),
        [0u64; 0],
        "no manifest was written"
    );

    // The next start builds that epoch again, from the start, and whole.
    kg.start();
    let again = build_when(&kg, "tj-drugs", BUILD_WAIT, |b| {
        b["done"].as_u64() > Some(0)
    });
    // The same epoch, unless the daemon's real clock crossed into the next
    // one meanwhile (whole daemons are not pinned): then that one's.
    assert!(
        again["epoch"].as_u64() >= b["epoch"].as_u64(),
        "{again} after {b}"
    );
    assert_eq!(again["total"].as_u64(), Some(SELECTORS), "{again}");
    let epoch = again["epoch"].as_u64().unwrap();
    wait_within(BUILD_WAIT, &format!("the build of epoch {epoch}"), || {
        serving(&kg, "tj-drugs")
            .contains(&epoch)
            .then_some(())
            .ok_or_else(|| kg.status().to_string())
    });
    // Whatever it is doing now (the next epoch's build), it stops again.
    let took = kg.stop();
    assert!(took < STOP_WITHIN, "second stop took {took:?}");
}
