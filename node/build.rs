//! Embeds the console's static files (`src/daemon/console/web/static/**`) in the binary:
//! writes `$OUT_DIR/assets.rs`, a table of (path, bytes) that
//! `daemon::console::assets` serves. A file added under it
//! is served without a change to the code.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, out);
        } else if path
            .file_name()
            .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
        {
            out.push(path);
        }
    }
}

fn main() {
    // The folder of the package being built, read when the script runs:
    // `env!` would bake in where the script was compiled, and cargo
    // reuses one compiled script for every checkout that shares a target
    // folder (its hash takes the path relative to the workspace), so a
    // clone since deleted left every later build with no files.
    let manifest_dir =
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest_dir).join("src/daemon/console/web/static");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    walk(&root, &mut files);
    let mut code = String::from("/// The console's static files: (path under /console/static/, bytes).\npub(super) const FILES: &[(&str, &[u8])] = &[\n");
    for f in &files {
        // Every folder below is watched too (rerun-if-changed on a folder
        // sees only its own entries' times).
        if let Some(parent) = f.parent() {
            println!("cargo:rerun-if-changed={}", parent.display());
        }
        println!("cargo:rerun-if-changed={}", f.display());
        let rel = f
            .strip_prefix(&root)
            .expect("under root")
            .to_string_lossy()
            .replace('\\', "/");
        let _ = writeln!(
            code,
            "    ({rel:?}, include_bytes!({:?})),",
            f.display().to_string()
        );
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("assets.rs");
    std::fs::write(out, code).expect("write assets.rs");
}
