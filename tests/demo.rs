//! `liaison demo` runs from anywhere and shows what it promises.

use crate::common::liaison_in;

#[test]
fn demo_runs_and_finds_across_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let run = liaison_in(dir.path(), &["demo", "--dir", "fed"]);
    assert_eq!(run.code, 0, "{run:?}");
    for node in ["kg-border", "tj-drug-control", "kz-customs"] {
        assert!(run.stdout.contains(&format!("== {node}")), "{}", run.stdout);
    }
    assert!(!run.stdout.contains("nothing found"), "{}", run.stdout);
    let refusals = run.stdout.matches("refused)").count();
    assert_eq!(refusals, 3, "{}", run.stdout);
    assert_eq!(
        run.stdout.matches("(0 refused)").count(),
        refusals,
        "sample data is all valid: {}",
        run.stdout
    );
    // The Cyrillic query found the Latin record at the Kazakh node.
    assert!(run.stdout.contains("KZ-2024-00017"), "{}", run.stdout);
    // The nodes it left behind are real: their stores open and check clean.
    let cfg = dir.path().join("fed/kg-border.toml");
    let check = liaison_in(dir.path(), &["--config", cfg.to_str().unwrap(), "check"]);
    assert_eq!(check.code, 0, "{check:?}");
}
