//! Golden files: checked-in lists (one entry a line, sorted) that a test compares what it reads
//! from the running system with, so a wire name cannot change by accident. Lines starting with
//! `#` are the file's header; `UPDATE_GOLDEN=1` rewrites the file from what the test read.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::envoy::repo_root;

/// The file `tests/golden/<name>`.
pub fn golden_path(name: &str) -> PathBuf {
    repo_root().join("tests/golden").join(name)
}

/// The entries of a golden file (header and blank lines left out).
pub fn read_golden(name: &str) -> BTreeSet<String> {
    let path = golden_path(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (create it with UPDATE_GOLDEN=1)", path.display()));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// Compares `actual` with the golden file `name`; with `UPDATE_GOLDEN=1` in the environment
/// writes `header` (each line prefixed with `# `) and `actual` to it instead. `regenerate` is the
/// command that does that, for the failure message.
pub fn check_golden(name: &str, header: &str, regenerate: &str, actual: &BTreeSet<String>) {
    assert!(!actual.is_empty(), "{name}: nothing read to compare");
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        let mut text: String = header.lines().map(|l| format!("# {l}\n")).collect();
        text = text.replace("# \n", "#\n");
        for entry in actual {
            text.push_str(entry);
            text.push('\n');
        }
        let path = golden_path(name);
        std::fs::create_dir_all(path.parent().expect("tests/golden")).expect("tests/golden");
        std::fs::write(&path, text).expect("write the golden file");
        eprintln!("{} rewritten: {} entries", path.display(), actual.len());
        return;
    }
    let golden = read_golden(name);
    let gone: Vec<&String> = golden.difference(actual).collect();
    let new: Vec<&String> = actual.difference(&golden).collect();
    assert!(
        gone.is_empty() && new.is_empty(),
        "tests/golden/{name} does not match.\n\
         gone (renamed or removed: a wire name others depend on): {gone:#?}\n\
         new: {new:#?}\n\
         If the change is intended, regenerate with `{regenerate}` and commit the file."
    );
}
