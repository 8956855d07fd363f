//! The house's floors, checked: each top-level module of the node may
//! import only modules on floors below its own, so data flows down one
//! way and no import circle can form. A new module needs a floor here;
//! an import that runs back up fails this test, naming the file, the line
//! and the two floors.

use std::path::Path;

/// Each top-level module and its floor; a module imports only lower ones.
const FLOORS: &[(&str, u8)] = &[
    // The bottom: nothing of the node.
    ("clock", 0),
    ("hex", 0),
    ("files", 0),
    ("synth", 0),
    // Records to and from the analysts' file formats (pure).
    ("formats", 0),
    // RocksDB, the Swarm, the key files.
    ("store", 1),
    ("net", 1),
    ("identity", 1),
    // Envelopes; records in and out.
    ("post", 2),
    ("ingest", 2),
    ("find", 2),
    ("users", 2),
    // The domains: matching, witnessing and the auditor's commands, then
    // the follow-up (which follows up matching's hits).
    ("matching", 3),
    ("audit", 3),
    ("exchange", 4),
    // Which domain applies which message.
    ("router", 5),
    // What runs the node and shows it.
    ("status", 6),
    ("bundle", 6),
    ("daemon", 7),
    ("cli", 8),
];

fn floor(module: &str) -> Option<u8> {
    FLOORS.iter().find(|(m, _)| *m == module).map(|(_, f)| *f)
}

/// `crate::NAME` paths in code (not comments, not test modules).
fn imports(text: &str) -> Vec<(usize, String)> {
    let code = text
        .find("#[cfg(test)]\nmod tests {")
        .map_or(text, |i| &text[..i]);
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            // `crate::{a, b}` names several.
            let names = match rest.strip_prefix('{') {
                Some(group) => &group[..group.find('}').unwrap_or(group.len())],
                None => rest,
            };
            for name in names.split(',').map(str::trim) {
                let name: String = name
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.push((n + 1, name));
                }
                if !rest.starts_with('{') {
                    break;
                }
            }
        }
    }
    out
}

fn visit(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("node/src reads") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            visit(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

#[test]
fn every_import_runs_down_the_house() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    visit(&src, &mut files);
    let mut wrong = Vec::new();
    for path in files {
        let rel = path.strip_prefix(&src).expect("under src");
        let top = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .map(|s| s.trim_end_matches(".rs").to_owned())
            .unwrap_or_default();
        let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if ["lib", "main", "testkit", "layers"].contains(&top.as_str()) || name == "tests.rs" {
            continue;
        }
        let Some(mine) = floor(&top) else {
            wrong.push(format!(
                "{}: module `{top}` has no floor in layers.rs",
                rel.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(&path).expect("a source file reads");
        for (line, used) in imports(&text) {
            if used == top {
                continue;
            }
            match floor(&used) {
                Some(theirs) if theirs < mine => {}
                Some(theirs) => wrong.push(format!(
                    "{}:{line}: `{top}` (floor {mine}) imports `{used}` (floor {theirs}): imports run down only",
                    rel.display()
                )),
                None => wrong.push(format!(
                    "{}:{line}: `{used}` has no floor in layers.rs",
                    rel.display()
                )),
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_check_sees_an_import_that_runs_back_up() {
    let text = "use crate::store::Store;\n// use crate::router::Router;\nuse crate::{clock, hex::encode};\nfn f() { crate::router::Router::new(); }\n";
    let found: Vec<String> = imports(text).into_iter().map(|(_, m)| m).collect();
    assert_eq!(found, ["store", "clock", "hex", "router"]);
    assert!(floor("router") > floor("post"));
}
