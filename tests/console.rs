//! The analysts' web console in a real browser: three agencies on
//! 127.0.0.1 with their API's TCP listener (where `/console/` is served),
//! users with passwords for every role, the demo's sample data (a person
//! in Latin at kz-customs, in Cyrillic at kg-border and tj-drug-control)
//! and a record made to smuggle script into a page; then the Playwright
//! suite in `tests/browser/` drives Debian's Chromium through them, in
//! English and Russian (see `tests/browser/README.md`).
//!
//! The suite needs `scripts/browser-deps` (Chromium, a venv with
//! Playwright and pytest, axe-core): without it this test fails and says
//! so. Screenshots of every page go to `tests/browser/screenshots/`.

use std::io::Read as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::json;

use crate::common::{examples_dir, liaison_with_input, repo, venv, Run};
use crate::federation::{federation_with, wait_for, Agency};

/// The longest the whole browser suite may take.
const SUITE_TIMEOUT: Duration = Duration::from_secs(20 * 60);

/// The requester (Latin script), the owner of the record the suite asks
/// for (Cyrillic), and a third agency that holds the same person.
const A: &str = "kz-customs";
const B: &str = "kg-border";
const C: &str = "tj-drug-control";

/// The users made at A and B: (key in the setup, role, name). Each signs
/// in with [`password`]; the key is the role but for A's second analyst,
/// who alone changes its language (a choice the node keeps per user).
const USERS: [(&str, &str, &str, &str); 9] = [
    (A, "analyst", "analyst", "petrova"),
    (A, "supervisor", "supervisor", "nurlanov"),
    (A, "auditor", "auditor", "kasymov"),
    (A, "admin", "admin", "admin-kz"),
    (A, "linguist", "analyst", "sultanova"),
    (B, "analyst", "analyst", "bekova"),
    (B, "supervisor", "supervisor", "osmonov"),
    (B, "auditor", "auditor", "auditor-kg"),
    (B, "admin", "admin", "admin-kg"),
];

fn password(user: &str) -> String {
    format!("{user} console passphrase 2026")
}

/// What the suite searches for at A that must come back as text, never
/// as markup or script.
const XSS_SUMMARY: &str =
    r#"<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">"#;
const XSS_PHONE: &str = "+7 701 999 00 11";

/// A's extra record: the hostile summary and person name.
fn xss_record() -> String {
    json!({
        "id": "KZ-XSS-1",
        "summary": XSS_SUMMARY,
        "handling": "TLP:GREEN",
        "grading": "C3",
        "entities": [
            {"ref": "p1", "type": "person",
             "full_name": "Zz <script>window.__pwned=3</script> Test", "dob": "1970-01-01"},
            {"ref": "t1", "type": "phone", "number": XSS_PHONE}
        ],
        "links": [{"from": "p1", "to": "t1", "rel": "uses"}]
    })
    .to_string()
        + "\n"
}

/// Fails, naming the script, when the browser tools are missing.
fn browser_tools() -> (PathBuf, PathBuf) {
    let python = venv().join("bin/python");
    let axe = venv().join("axe/axe.min.js");
    for (what, path) in [
        ("Debian's chromium", Path::new("/usr/bin/chromium")),
        ("the Playwright venv", python.as_path()),
        ("axe-core", axe.as_path()),
    ] {
        assert!(
            path.exists(),
            "{what} is missing ({}): run scripts/browser-deps (LIAISON_VENV={})",
            path.display(),
            venv().display()
        );
    }
    (python, axe)
}

fn ok(a: &Agency, args: &[&str]) -> Run {
    let run = a.node.run(args);
    assert_eq!(run.code, 0, "{} {args:?}: {run:?}", a.name);
    run
}

/// The console's origin at `a`, once its API listens.
fn origin(a: &Agency) -> String {
    let file = a.node.dir.path().join("node/data/api.addr");
    let addr = wait_for(&format!("{}'s API address", a.name), || {
        std::fs::read_to_string(&file).map_err(|e| e.to_string())
    });
    format!("http://{}", addr.trim())
}

/// Runs `python -m pytest` in its own process group; kills the group
/// after [`SUITE_TIMEOUT`]. Returns the exit code and the output.
fn pytest(python: &Path, env: &[(&str, &Path)]) -> (i32, String) {
    let mut args: Vec<String> = [
        "-m",
        "pytest",
        "tests/browser",
        "-x",
        "-q",
        "--tb=short",
        "-p",
        "no:cacheprovider",
    ]
    .map(String::from)
    .to_vec();
    // Narrowing a run by hand: LIAISON_PYTEST_ARGS="-k roles".
    if let Ok(extra) = std::env::var("LIAISON_PYTEST_ARGS") {
        args.extend(extra.split_whitespace().map(String::from));
    }
    let mut child = Command::new(python)
        .args(&args)
        .current_dir(repo())
        .envs(env.iter().map(|(k, v)| (*k, *v)))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("the venv's python starts");
    let read = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let out = read(Box::new(child.stdout.take().expect("stdout piped")));
    let err = read(Box::new(child.stderr.take().expect("stderr piped")));
    let pid = child.id();
    // One exit status.
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let status = match rx.recv_timeout(SUITE_TIMEOUT) {
        Ok(status) => Some(status.expect("wait succeeds")),
        Err(_) => {
            // The group is pytest's own (process_group(0) above): it,
            // Playwright's driver and anything they started.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .status();
            None
        }
    };
    let text = format!(
        "{}\n{}",
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default()
    );
    match status {
        Some(s) => (s.code().unwrap_or(-1), text),
        None => panic!("the browser suite did not finish within {SUITE_TIMEOUT:?}:\n{text}"),
    }
}

/// Each daemon's last warnings and errors, for a failure message.
fn logs(fed: &[Agency]) -> String {
    fed.iter()
        .map(|a| {
            let text = std::fs::read_to_string(a.log_path()).unwrap_or_default();
            let lines: Vec<&str> = text
                .lines()
                .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
                .collect();
            let tail = lines[lines.len().saturating_sub(15)..].join("\n");
            format!(
                "--- {}'s daemon log, last warnings and errors:\n{tail}\n",
                a.name
            )
        })
        .collect()
}

#[test]
fn the_console_works_in_a_real_browser_in_english_and_russian() {
    let (python, axe) = browser_tools();
    let examples = examples_dir().canonicalize().expect("config/examples");
    let data = examples.join("data");
    let fed = federation_with(&[A, B, C], |a| {
        let text = std::fs::read_to_string(&a.node.config).expect("config");
        std::fs::write(
            &a.node.config,
            text.replacen("listen = \"\"", "listen = \"127.0.0.1:0\"", 1),
        )
        .expect("config written");
        a.node.set_config("delta_interval", "\"500ms\"");
        let (country, files): (&str, Vec<PathBuf>) = match a.name.as_str() {
            A => (
                "KAZ",
                vec![
                    data.join("kz-customs.csv"),
                    data.join("kz-customs-calls.csv"),
                    a.node.file("xss.ndjson", &xss_record()),
                ],
            ),
            B => ("KGZ", vec![data.join("kg-border.ndjson")]),
            _ => ("TJK", vec![data.join("tj-drug-control.ndjson")]),
        };
        a.node.set_config("country", &format!("\"{country}\""));
        let mut args = vec!["ingest"];
        args.extend(files.iter().map(|f| f.to_str().expect("utf-8 path")));
        ok(a, &args);
    });
    // Matching starts when each agency holds every peer's filter.
    for a in &fed {
        wait_for(&format!("{}'s filters from its peers", a.name), || {
            let s = a.status();
            let filters = s["matching"]["filters"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            (filters.len() == fed.len() - 1
                && filters
                    .values()
                    .all(|e| e.as_array().is_some_and(|e| !e.is_empty())))
            .then_some(())
            .ok_or_else(|| s["matching"].to_string())
        });
    }

    let mut agencies = serde_json::Map::new();
    for a in &fed {
        let mut users = serde_json::Map::new();
        for (_, key, role, name) in USERS.iter().filter(|(at, ..)| *at == a.name) {
            let config = a.node.config.to_str().expect("utf-8 path");
            let add = liaison_with_input(
                a.node.dir.path(),
                &[
                    "--config",
                    config,
                    "user",
                    "add",
                    name,
                    "--role",
                    role,
                    "--password-stdin",
                ],
                &format!("{}\n", password(name)),
            );
            assert_eq!(add.code, 0, "{} user add {name}: {add:?}", a.name);
            users.insert(
                (*key).to_owned(),
                json!({ "name": name, "role": role, "password": password(name) }),
            );
        }
        let origin = origin(a);
        agencies.insert(
            a.name.clone(),
            json!({
                "origin": origin,
                "console": format!("{origin}/console/"),
                "users": users,
            }),
        );
    }
    let setup = json!({
        "agencies": agencies,
        "a": A,
        "b": B,
        "c": C,
        "axe": axe,
        // A's analyst uploads the demo's case file (Latin); B holds the
        // person in Cyrillic, and so does C.
        "match": {
            "file": data.join("kz-customs-query.csv"),
            "entity": "KURBANOV",
            "owner": B,
            "record": "KG-2017-0042",
            "person": "Курбонов",
            "summary": "Курьер задержан",
            "redact": "summary",
            "case": "KZ-OPS-2026-117",
            "basis": "Customs Code art. 425",
        },
        // A's local search: a phone in another written form, and a
        // person in another script with their date of birth.
        "search": {
            "agency": A,
            "phone": "+996 (775) 98-78-17",
            "name": "Курбонов Юсуф",
            "dob": "14.03.1985",
            "record": "KZ-2024-00017",
        },
        "watch": { "agency": A, "value": "+992 92 777 4455" },
        "xss": {
            "agency": A,
            "value": XSS_PHONE,
            "record": "KZ-XSS-1",
            "text": "<script>window.__pwned=1</script>",
        },
    });
    let work = tempfile::tempdir().expect("temp dir");
    let setup_path = work.path().join("console-setup.json");
    std::fs::write(
        &setup_path,
        serde_json::to_string_pretty(&setup).expect("JSON"),
    )
    .expect("setup written");
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser/screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).expect("screenshot folder");

    let (code, output) = pytest(
        &python,
        &[
            ("LIAISON_CONSOLE_SETUP", &setup_path),
            ("LIAISON_SCREENSHOTS", &shots),
            ("LIAISON_VENV", &venv()),
        ],
    );
    assert!(
        code == 0,
        "the browser suite failed (exit {code}; screenshots in {}):\n{output}\n{}",
        shots.display(),
        logs(&fed)
    );
    // Every agency's log still verifies after the day in the browser.
    for a in &fed {
        ok(a, &["audit", "verify"]);
    }
}
