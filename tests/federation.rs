//! Whole nodes talking: `liaison run` processes on 127.0.0.1, real
//! RocksDB, real libp2p, peers added with `liaison peer add` while the
//! daemons run. Every wait has a deadline.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{binary, Node};

/// Longest wait for any condition between nodes.
const WAIT: Duration = Duration::from_secs(60);

/// Polls `check` until it returns `Some`, failing after [`WAIT`] with
/// `what` and the last value seen.
pub(crate) fn wait_for<T>(what: &str, check: impl FnMut() -> Result<T, String>) -> T {
    wait_within(WAIT, what, check)
}

/// [`wait_for`] with a bound of its own, for work known to be long.
pub(crate) fn wait_within<T>(
    wait: Duration,
    what: &str,
    mut check: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + wait;
    loop {
        match check() {
            Ok(v) => return v,
            Err(last) if Instant::now() > deadline => {
                panic!("timed out after {wait:?} waiting for {what}; last: {last}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// A node and its daemon process, if running.
pub(crate) struct Agency {
    pub(crate) name: String,
    pub(crate) node: Node,
    daemon: Option<Child>,
}

impl Agency {
    pub(crate) fn new(name: &str) -> Agency {
        Agency {
            name: name.to_owned(),
            node: Node::init(name, "KGZ"),
            daemon: None,
        }
    }

    /// The daemon's log (stderr, at `info`), appended across restarts.
    pub(crate) fn log_path(&self) -> std::path::PathBuf {
        self.node.dir.path().join("daemon.log")
    }

    pub(crate) fn start(&mut self) {
        assert!(self.daemon.is_none(), "{} already running", self.name);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("log file");
        let child = Command::new(binary())
            .arg("--config")
            .arg(&self.node.config)
            .arg("run")
            .current_dir(self.node.dir.path())
            .env_remove("LIAISON_CONFIG")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("liaison run starts");
        self.daemon = Some(child);
        let name = self.name.clone();
        wait_for(&format!("{name}'s daemon to serve its API"), || {
            let s = self.status();
            (s["running"] == true && s["listen"].as_array().is_some_and(|l| !l.is_empty()))
                .then_some(())
                .ok_or_else(|| s.to_string())
        });
    }

    /// SIGTERM, and wait for a clean exit; returns how long it took.
    pub(crate) fn stop(&mut self) -> Duration {
        let mut child = self.daemon.take().expect("running");
        let pid = child.id().to_string();
        let sent = Instant::now();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let status = wait_for("the daemon to exit", || {
            child
                .try_wait()
                .map_err(|e| e.to_string())?
                .ok_or("still running".into())
        });
        let took = sent.elapsed();
        assert!(status.success(), "{} exited with {status}", self.name);
        took
    }

    /// kill -9: no shutdown at all.
    pub(crate) fn kill(&mut self) {
        let mut child = self.daemon.take().expect("running");
        child.kill().expect("kill -9");
        let _ = child.wait();
    }

    /// The daemon's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.daemon.as_ref().expect("running").id()
    }

    pub(crate) fn status(&self) -> Value {
        self.node.status()
    }

    pub(crate) fn key(&self) -> String {
        self.status()["agency_key"]
            .as_str()
            .expect("agency key")
            .to_owned()
    }

    /// The TCP address it listens on now; also pinned in its config so a
    /// restart comes back on the same port.
    fn pin_address(&self) -> String {
        let s = self.status();
        let addr = s["listen"][0]
            .as_str()
            .expect("a listen address")
            .to_owned();
        self.node.set_config("listen", &format!("[\"{addr}\"]"));
        addr
    }

    pub(crate) fn peer(&self, name: &str) -> Value {
        self.status()["peers"]
            .as_array()
            .expect("peers")
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{} has no peer {name}", self.name))
            .clone()
    }

    /// `peer add --no-matching`: trust `name` to exchange envelopes (with
    /// an address to dial, or none); the transport tests count every
    /// envelope, so no matching filters travel.
    pub(crate) fn trust(&self, name: &str, key: &str, addr: Option<&str>) -> crate::common::Run {
        self.trust_as(name, key, addr, false)
    }

    /// `peer add`, sharing every selector kind for matching if `matching`.
    pub(crate) fn trust_as(
        &self,
        name: &str,
        key: &str,
        addr: Option<&str>,
        matching: bool,
    ) -> crate::common::Run {
        let mut args = vec!["peer", "add", "--name", name, "--key", key];
        if !matching {
            args.push("--no-matching");
        }
        args.extend(addr.iter().flat_map(|a| ["--addr", *a]));
        let run = self.node.run(&args);
        assert_eq!(run.code, 0, "{run:?}");
        run
    }

    /// `ping --queue`: `n` pings into the outbox for `peer`.
    pub(crate) fn queue_pings(&self, peer: &str, n: u32) {
        let n = n.to_string();
        let run = self.node.run(&["ping", peer, "--queue", "--count", &n]);
        assert_eq!(run.code, 0, "{run:?}");
    }

    /// Waits until the connection-level counter `name` is at least 1.
    fn wait_network_count(&self, name: &str) {
        wait_for(&format!("{} to count {name}", self.name), || {
            let n = self.status()["network"][name].as_u64().unwrap_or(0);
            (n >= 1).then_some(()).ok_or_else(|| n.to_string())
        });
    }

    pub(crate) fn count(&self, peer: &str, counter: &str) -> u64 {
        self.peer(peer)["counts"][counter]
            .as_u64()
            .expect("a counter")
    }
}

impl Drop for Agency {
    fn drop(&mut self) {
        if let Some(mut c) = self.daemon.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `n` agencies, all running, each trusting all the others (added with
/// `peer add` while running), each pair connected.
pub(crate) fn federation(names: &[&str]) -> Vec<Agency> {
    federation_of(names, false, |_| {})
}

/// [`federation`] with matching between every pair, and `configure`
/// applied to each node's config before its daemon first starts.
pub(crate) fn federation_with(names: &[&str], configure: impl Fn(&Agency)) -> Vec<Agency> {
    federation_of(names, true, configure)
}

fn federation_of(names: &[&str], matching: bool, configure: impl Fn(&Agency)) -> Vec<Agency> {
    let mut all: Vec<Agency> = names.iter().map(|n| Agency::new(n)).collect();
    for a in &mut all {
        configure(a);
        a.start();
    }
    let cards: Vec<(String, String, String)> = all
        .iter()
        .map(|a| (a.name.clone(), a.key(), a.pin_address()))
        .collect();
    for a in &all {
        for (name, key, addr) in &cards {
            if *name != a.name {
                let run = a.trust_as(name, key, Some(addr), matching);
                assert!(
                    run.stdout.contains("running daemon has the new peer list"),
                    "{run:?}"
                );
            }
        }
    }
    for a in &all {
        for (name, ..) in &cards {
            if *name != a.name {
                wait_for(&format!("{} to connect to {name}", a.name), || {
                    let p = a.peer(name);
                    (p["connected"] == true)
                        .then_some(())
                        .ok_or_else(|| p.to_string())
                });
            }
        }
    }
    all
}

#[test]
fn three_agencies_connect_and_exchange_signed_envelopes() {
    let fed = federation(&["kg-border", "tj-drug", "kz-customs"]);
    for a in &fed {
        for b in &fed {
            if a.name != b.name {
                let run = a.node.run(&["ping", &b.name, "--count", "3", "--json"]);
                assert_eq!(run.code, 0, "{run:?}");
                let rtts = run.json()["rtt_ms"].as_array().expect("rtts").len();
                assert_eq!(rtts, 3, "{run:?}");
            }
        }
    }
    for a in &fed {
        for b in &fed {
            if a.name != b.name {
                assert_eq!(
                    a.count(&b.name, "received"),
                    3,
                    "{} from {}",
                    a.name,
                    b.name
                );
                assert_eq!(a.count(&b.name, "refused"), 0);
            }
        }
    }
    // peer list shows the live state.
    let run = fed[0].node.run(&["peer", "list"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("tj-drug  connected"), "{}", run.stdout);
}

#[test]
fn untrusted_and_foreign_nodes_are_refused_and_counted() {
    let mut fed = federation(&["kg-border", "tj-drug"]);
    let a_addr = fed[0].pin_address();
    let a_key = fed[0].key();

    // An intruder who knows A's key and address, but whom A does not trust.
    let mut intruder = Agency::new("intruder");
    intruder.start();
    intruder.trust("kg-border", &a_key, Some(&a_addr));
    let run = intruder.node.run(&["ping", "kg-border"]);
    assert_ne!(
        run.code, 0,
        "an untrusted node's ping was answered: {run:?}"
    );
    fed[0].wait_network_count("refused_untrusted");

    // A node that A trusts, but of another federation: the Noise prologue
    // differs, so the handshake itself fails.
    let mut foreign = Agency::new("foreign");
    foreign
        .node
        .set_config("federation", "\"another-federation\"");
    foreign.start();
    fed[0].trust("foreign", &foreign.key(), None);
    foreign.trust("kg-border", &a_key, Some(&a_addr));
    let run = foreign.node.run(&["ping", "kg-border"]);
    assert_ne!(
        run.code, 0,
        "a node of another federation got through: {run:?}"
    );
    fed[0].wait_network_count("failed_handshakes");

    // A keeps serving its real peer.
    let run = fed[1].node.run(&["ping", "kg-border"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(fed[0].count("foreign", "received"), 0);
    fed[0].stop();
}

#[test]
fn a_peer_stopped_mid_exchange_gets_everything_exactly_once() {
    let mut fed = federation(&["kg-border", "tj-drug"]);
    fed[0].queue_pings("tj-drug", 200);
    // Stop B while A is delivering.
    fed[1].stop();
    fed[0].queue_pings("tj-drug", 100);
    // Nothing is lost or made up while B is down: every envelope is
    // either receipted or still waiting.
    let (delivered, waiting) = (
        fed[0].count("tj-drug", "delivered"),
        fed[0].count("tj-drug", "outbox"),
    );
    assert_eq!(
        delivered + waiting,
        300,
        "{delivered} delivered, {waiting} waiting"
    );
    assert!(waiting >= 100);
    // What B applied before it stopped, read from its store: at least
    // what A has receipts for (a receipt can be lost on the way).
    let applied = fed[1].count("kg-border", "received");
    assert!(
        applied >= delivered,
        "{delivered} receipted but {applied} applied"
    );
    fed[1].start();
    wait_for("A's outbox to empty", || {
        let p = fed[0].peer("tj-drug");
        (p["counts"]["outbox"] == 0 && p["counts"]["delivered"] == 300)
            .then_some(())
            .ok_or_else(|| p.to_string())
    });
    assert_eq!(fed[1].count("kg-border", "received"), 300);
    assert_eq!(fed[0].count("tj-drug", "refused_by_peer"), 0);
}

#[test]
fn kill_9_with_a_full_outbox_then_restart_delivers_it_all() {
    let mut fed = federation(&["kg-border", "tj-drug"]);
    fed[1].stop();
    fed[0].queue_pings("tj-drug", 150);
    fed[0].kill();
    // The outbox survived the kill (read from the store directly).
    assert_eq!(fed[0].count("tj-drug", "outbox"), 150);
    fed[1].start();
    fed[0].start();
    wait_for("B to receive all 150", || {
        let n = fed[1].count("kg-border", "received");
        (n == 150).then_some(()).ok_or_else(|| n.to_string())
    });
    wait_for("A's outbox to empty", || {
        let n = fed[0].count("tj-drug", "outbox");
        (n == 0).then_some(()).ok_or_else(|| n.to_string())
    });
    assert_eq!(fed[0].count("tj-drug", "delivered"), 150);
}

#[test]
fn record_commands_go_through_the_running_daemon() {
    let mut fed = federation(&["kg-border"]);
    let a = &fed[0];
    let file = a.node.file(
        "cases.ndjson",
        concat!(
            r#"{"id":"KG-1","summary":"courier","entities":[{"type":"phone","number":"0775 987 817"}]}"#,
            "\n",
            r#"{"id":"KG-2","entities":[{"type":"phone","number":"not a phone"}]}"#,
            "\n",
        ),
    );
    // Relative path: the CLI makes it absolute for the daemon.
    let run = a.node.run(&["ingest", "cases.ndjson"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .contains("2 read: 1 stored, 0 updated, 1 refused"),
        "{run:?}"
    );
    assert!(
        run.stderr.contains("cases.ndjson:2: entities[0].number"),
        "{run:?}"
    );
    assert!(file.exists());
    let run = a.node.run(&["find", "+996775987817"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("KG-1") && run.stdout.contains("matched by phone"),
        "{run:?}"
    );
    let run = a.node.run(&["show", "KG-1"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("+996775987817"), "{run:?}");
    let run = a.node.run(&["check"]);
    assert_eq!(run.code, 0, "{run:?}");
    let run = a.node.run(&["withdraw", "KG-1"]);
    assert_eq!(run.code, 0, "{run:?}");
    let run = a.node.run(&["show", "KG-1"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("no record with id"), "{run:?}");
    assert_eq!(a.status()["records"], 0);
    assert_eq!(a.status()["running"], true);
    fed[0].stop();
    // And the same store, read directly once the daemon has stopped.
    assert_eq!(fed[0].status()["running"], false);
    let run = fed[0].node.run(&["check"]);
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn air_gapped_bundles_carry_envelopes_and_receipts() {
    // Two agencies with no network path: no addresses either way.
    let mut a = Agency::new("kg-border");
    let b = Agency::new("tj-drug");
    let (ka, kb) = (a.key(), b.key());
    a.trust("tj-drug", &kb, None);
    b.trust("kg-border", &ka, None);
    a.start();
    a.queue_pings("tj-drug", 5);

    // A (through its daemon) writes the bundle; B (no daemon) imports it.
    let media = tempfile::tempdir().unwrap();
    let bundle = media.path().join("to-tj.bundle");
    let bundle_s = bundle.to_str().unwrap();
    let run = a
        .node
        .run(&["export-bundle", "--peer", "tj-drug", "--out", bundle_s]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.starts_with("5 envelopes"), "{run:?}");
    let run = b.node.run(&["import-bundle", bundle_s, "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["accepted"], 5, "{run:?}");
    assert_eq!(b.count("kg-border", "received"), 5);

    // Importing it again applies nothing again.
    let again = media.path().join("again.receipts");
    let run = b.node.run(&[
        "import-bundle",
        bundle_s,
        "--receipts-out",
        again.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        (
            run.json()["accepted"].clone(),
            run.json()["duplicates"].clone()
        ),
        (0.into(), 5.into())
    );
    assert_eq!(b.count("kg-border", "received"), 5);

    // A tampered copy: the changed envelope is refused, nothing applied.
    let mut bytes = std::fs::read(&bundle).unwrap();
    let n = bytes.len();
    bytes[n - 100] ^= 1;
    let tampered = media.path().join("tampered.bundle");
    std::fs::write(&tampered, &bytes).unwrap();
    let run = b.node.run(&[
        "import-bundle",
        tampered.to_str().unwrap(),
        "--receipts-out",
        media.path().join("t.receipts").to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.json()["refused"], 1, "{run:?}");
    assert_eq!(b.count("kg-border", "received"), 5);

    // A bundle for someone else is refused whole, naming the file.
    let run = a.node.run(&["import-bundle", bundle_s]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("to-tj.bundle") && run.stderr.contains("another agency"),
        "{run:?}"
    );

    // The receipts, carried back, empty A's outbox.
    assert_eq!(a.count("tj-drug", "outbox"), 5);
    let receipts = media.path().join("to-tj.bundle.receipts");
    let run = a
        .node
        .run(&["import-bundle", receipts.to_str().unwrap(), "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["accepted"], 5, "{run:?}");
    assert_eq!(a.count("tj-drug", "outbox"), 0);
    assert_eq!(a.count("tj-drug", "delivered"), 5);
    a.stop();
}

#[test]
fn kill_9_of_the_receiver_mid_exchange_applies_each_envelope_once() {
    let mut fed = federation(&["kg-border", "tj-drug"]);
    fed[0].queue_pings("tj-drug", 2000);
    // B dies while A's couriers are sending: some envelopes applied and
    // receipted, some applied with the receipt lost, some not yet sent.
    fed[1].kill();
    let applied = fed[1].count("kg-border", "received");
    let receipted = fed[0].count("tj-drug", "delivered");
    assert!(
        receipted <= applied,
        "{receipted} receipted but only {applied} applied"
    );
    fed[1].start();
    wait_for("A's outbox to empty", || {
        let p = fed[0].peer("tj-drug");
        (p["counts"]["outbox"] == 0)
            .then_some(())
            .ok_or_else(|| p.to_string())
    });
    assert_eq!(fed[0].count("tj-drug", "delivered"), 2000);
    assert_eq!(fed[1].count("kg-border", "received"), 2000);
    assert_eq!(fed[0].count("tj-drug", "refused_by_peer"), 0);
}
