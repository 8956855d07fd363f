//! Shared helpers: the binary, nodes in temporary folders, bounded waits.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Duration;

/// The longest any single command may take before the test fails.
pub(crate) const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// Path of the `liaison` binary, built once per test run with the same
/// cargo, profile and target folder as the tests (a no-op when current).
pub(crate) fn binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        // Without the variables `cargo test` sets for this crate
        // (CARGO_MANIFEST_DIR, CARGO_PKG_NAME, ...): ring's build script
        // tracks them, so inheriting them made this build and the next
        // `cargo test` each rebuild ring and everything over it (rustls,
        // QUIC, libp2p, the node: some 40 s each on two cores).
        for (name, _) in std::env::vars_os() {
            let set_for_crate = name.to_str().is_some_and(|n| {
                n.starts_with("CARGO_PKG_")
                    || n.starts_with("CARGO_MANIFEST_")
                    || n == "CARGO_CRATE_NAME"
                    || n == "CARGO_PRIMARY_PACKAGE"
            });
            if set_for_crate {
                build.env_remove(name);
            }
        }
        let out = build
            .args([
                "build",
                "--quiet",
                "-p",
                "liaison",
                "--bin",
                "liaison",
                "--message-format=json",
            ])
            .stderr(Stdio::inherit())
            .output()
            .expect("cargo runs");
        assert!(out.status.success(), "building the liaison binary failed");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .rev()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["target"]["name"] == "liaison" && v["executable"].is_string())
            .find_map(|v| v["executable"].as_str().map(PathBuf::from))
            .expect("cargo reported the liaison executable")
    })
}

/// A command's outcome, decoded.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Parses stdout as one JSON value.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

/// Waits for `child` to exit, killing it and failing after `timeout`.
pub(crate) fn wait_with_timeout(mut child: Child, timeout: Duration) -> Output {
    // One exit status.
    let (tx, rx) = mpsc::sync_channel(1);
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let read = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out_t = read(stdout.map(|s| Box::new(s) as Box<dyn std::io::Read + Send>));
    let err_t = read(stderr.map(|s| Box::new(s) as Box<dyn std::io::Read + Send>));
    let pid = child.id();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let status = match rx.recv_timeout(timeout) {
        Ok(status) => status.expect("wait succeeds"),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("command did not finish within {timeout:?}");
        }
    };
    Output {
        status,
        stdout: out_t.join().unwrap_or_default(),
        stderr: err_t.join().unwrap_or_default(),
    }
}

/// Runs `liaison ARGS` in `dir` with a timeout.
pub(crate) fn liaison_in(dir: &Path, args: &[&str]) -> Run {
    liaison_env(dir, args, &[])
}

/// [`liaison_in`] with environment variables set.
pub(crate) fn liaison_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let child = Command::new(binary())
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .env_remove("LIAISON_CONFIG")
        // Every command acts as the user `init` made, whatever the OS
        // account running the tests is called.
        .env("LIAISON_USER", OPERATOR)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the liaison binary starts");
    Run::from(wait_with_timeout(child, COMMAND_TIMEOUT))
}

/// The user `init` makes and the tests' commands act as.
pub(crate) const OPERATOR: &str = "operator";

/// One agency node in a temporary folder, made with `liaison init`.
pub(crate) struct Node {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) config: PathBuf,
}

impl Node {
    /// `liaison init` a node named `name` in a new temporary folder.
    pub(crate) fn init(name: &str, country: &str) -> Node {
        let dir = tempfile::tempdir().expect("temp dir");
        let run = liaison_in(
            dir.path(),
            &[
                "init",
                "--dir",
                "node",
                "--name",
                name,
                "--country",
                country,
                "--listen",
                "/ip4/127.0.0.1/tcp/0",
            ],
        );
        assert_eq!(run.code, 0, "init failed: {run:?}");
        let config = dir.path().join("node").join("liaison.toml");
        Node { dir, config }
    }

    /// Rewrites the first `key = value` line of the config.
    pub(crate) fn set_config(&self, key: &str, value: &str) {
        let text = std::fs::read_to_string(&self.config).expect("config readable");
        let mut done = false;
        let text: Vec<String> = text
            .lines()
            .map(|l| {
                if !done && l.starts_with(&format!("{key} =")) {
                    done = true;
                    format!("{key} = {value}")
                } else {
                    l.to_owned()
                }
            })
            .collect();
        assert!(done, "config has a {key} line");
        std::fs::write(&self.config, text.join("\n") + "\n").expect("config writable");
    }

    /// Runs `liaison --config CONFIG ARGS`.
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        let mut all = vec!["--config", self.config.to_str().expect("utf-8 path")];
        all.extend_from_slice(args);
        liaison_in(self.dir.path(), &all)
    }

    /// Writes `text` to a file in the node's folder and returns its path.
    pub(crate) fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("file writable");
        path
    }

    /// `liaison status --json`.
    pub(crate) fn status(&self) -> serde_json::Value {
        let run = self.run(&["status", "--json"]);
        assert_eq!(run.code, 0, "{run:?}");
        run.json()
    }

    /// Spawns a long-running `liaison` command, stderr piped line by line.
    pub(crate) fn spawn(&self, args: &[&str]) -> (Child, mpsc::Receiver<String>) {
        let mut child = Command::new(binary())
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("LIAISON_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the liaison binary starts");
        let stderr = child.stderr.take().expect("stderr piped");
        // Unbounded on purpose: a test daemon's log lines must never wait
        // on a test that reads them only when it looks for one, or the
        // daemon would block writing its log. They end with the test.
        #[allow(clippy::disallowed_methods)]
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        (child, rx)
    }
}

/// The demo's sample files.
pub(crate) fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/examples")
}

/// The repository's root.
pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the repo holds tests/")
        .to_owned()
}

/// The venv `scripts/browser-deps` makes: Playwright, pytest and the
/// format tests' reference tools.
pub(crate) fn venv() -> PathBuf {
    std::env::var_os("LIAISON_VENV")
        .map_or_else(|| PathBuf::from("/var/tmp/liaison-venv"), PathBuf::from)
}

/// Runs `liaison ARGS` in `dir` with `input` on standard input.
pub(crate) fn liaison_with_input(dir: &Path, args: &[&str], input: &str) -> Run {
    use std::io::Write as _;
    let mut child = Command::new(binary())
        .args(args)
        .current_dir(dir)
        .env_remove("LIAISON_CONFIG")
        .env("LIAISON_USER", OPERATOR)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the liaison binary starts");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).expect("stdin writable");
    }
    Run::from(wait_with_timeout(child, COMMAND_TIMEOUT))
}
