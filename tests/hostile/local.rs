//! The local machine: another account must not read the store, and the
//! CLI must not talk to whatever took its daemon's place after a crash.

use std::io::Read as _;
use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;
use std::time::Duration;

use crate::common::liaison_in;
use crate::federation::Agency;

/// Files and folders under `dir` that anyone but the owner can read,
/// write or enter, as `find -perm /077` lists them.
fn open_to_others(dir: &std::path::Path) -> Vec<String> {
    let out = Command::new("find")
        .arg(dir)
        .args(["-perm", "/077"])
        .output()
        .expect("find runs");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_store_is_readable_by_the_service_account_alone() {
    // A node folder made beforehand, open to everyone, as `mkdir` leaves
    // it under a common umask.
    let dir = tempfile::tempdir().unwrap();
    let node = dir.path().join("node");
    std::fs::create_dir(&node).unwrap();
    std::fs::set_permissions(&node, std::fs::Permissions::from_mode(0o755)).unwrap();
    let init = liaison_in(
        dir.path(),
        &[
            "init",
            "--dir",
            "node",
            "--name",
            "kg-border",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
        ],
    );
    assert_eq!(init.code, 0, "{init:?}");
    assert!(init.stderr.contains("made it 0700"), "{init:?}");
    let config = node.join("liaison.toml");
    let config = config.to_str().unwrap();
    let data = node.join("data");
    assert_eq!(open_to_others(&node), Vec::<String>::new());
    // And after the daemon has run and the store has grown.
    let records = dir.path().join("r.ndjson");
    std::fs::write(
        &records,
        "{\"id\":\"KG-1\",\"entities\":[{\"type\":\"phone\",\"number\":\"+996775987817\"}]}\n",
    )
    .unwrap();
    let ingest = liaison_in(
        dir.path(),
        &["--config", config, "ingest", records.to_str().unwrap()],
    );
    assert_eq!(ingest.code, 0, "{ingest:?}");
    let mut daemon = Command::new(crate::common::binary())
        .args(["--config", config, "run"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = [0u8; 8];
    // "liaison …": the daemon is up once it prints.
    daemon
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut line)
        .unwrap();
    let files = std::fs::read_dir(&data).unwrap().count();
    assert!(files > 3, "the store has files: {files}");
    let open = open_to_others(&node);
    Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status()
        .unwrap();
    daemon.wait().unwrap();
    assert_eq!(open, Vec::<String>::new(), "while running");
    assert_eq!(open_to_others(&node), Vec::<String>::new(), "after a stop");
    // A store folder opened to others is refused, naming it and the fix.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let refused = liaison_in(dir.path(), &["--config", config, "status"]);
    assert_ne!(refused.code, 0, "{refused:?}");
    assert!(
        refused.stderr.contains(&data.display().to_string())
            && refused.stderr.contains("chmod 700"),
        "{refused:?}"
    );
    let run = liaison_in(dir.path(), &["--config", config, "run"]);
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("chmod 700"), "{run:?}");
}

#[test]
fn after_kill_9_the_cli_sends_nothing_to_whoever_took_the_daemons_port() {
    let mut kg = Agency::new("kg-border");
    // A TCP listener for the agency's own tools, as a site may configure.
    let text = std::fs::read_to_string(&kg.node.config).unwrap();
    std::fs::write(
        &kg.node.config,
        text.replace("listen = \"\"", "listen = \"127.0.0.1:0\""),
    )
    .unwrap();
    kg.start();
    let data = kg.node.dir.path().join("node/data");
    let addr = std::fs::read_to_string(data.join("api.addr")).unwrap();
    let addr: std::net::SocketAddr = addr.trim().parse().unwrap();
    kg.kill();
    // Another local account takes the port (if the system gave it away
    // already, whoever has it is the squatter: the CLI must not call it
    // either way, and what follows checks the CLI).
    let squatter = std::net::TcpListener::bind(addr).ok();
    let query = kg
        .node
        .file("q.csv", "record_id,phone\nQ-1,+996 700 424 242\n");
    let run = kg.node.run(&[
        "match",
        "--case",
        "KG-CASE-7",
        "--basis",
        "Art. 12",
        query.to_str().unwrap(),
    ]);
    assert_ne!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("is not running"), "{run:?}");
    // The CLI has exited: had it connected, the kernel would hold the
    // connection in the listener's queue by now.
    if let Some(listener) = squatter {
        listener.set_nonblocking(true).unwrap();
        match listener.accept() {
            Ok((mut s, from)) => {
                let mut got = Vec::new();
                let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
                let _ = s.read_to_end(&mut got);
                panic!(
                    "the squatter on {addr} got a connection from {from}: {:?}",
                    String::from_utf8_lossy(&got)
                );
            }
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock),
        }
    }
}
