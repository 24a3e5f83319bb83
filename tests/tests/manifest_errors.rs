//! Bad manifests: each case of `tests/cases/manifest_errors.toml` must make
//! `llmos up` fail before listening, with an error naming file, line and
//! field.
//!
//! Build the host first (from the workspace root):
//!     cargo build --release -p llmos-host

use llmos_tests::{run_llmos, workspace_root};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Cases {
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    manifest: String,
    error: Vec<String>,
}

#[test]
fn bad_manifests_report_file_line_and_field() {
    let path = workspace_root().join("tests/cases/manifest_errors.toml");
    let text = std::fs::read_to_string(&path).expect("manifest error cases");
    let cases: Cases = toml::from_str(&text).expect("valid cases file");
    assert!(!cases.case.is_empty());
    let mut failures = Vec::new();
    for case in &cases.case {
        let dir = tempfile::tempdir().expect("scratch dir");
        let manifest = dir.path().join("spin.toml");
        std::fs::write(&manifest, &case.manifest).expect("write manifest");
        let data = dir.path().join("data");
        let output = run_llmos(
            &[
                "up",
                "--no-build",
                "--from",
                &manifest.to_string_lossy(),
                "--data-dir",
                &data.to_string_lossy(),
                "--listen",
                "127.0.0.1:0",
            ],
            &[],
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.success() || stdout.contains("Serving http://") {
            failures.push(format!("{}: the manifest was accepted", case.name));
            continue;
        }
        let missing: Vec<&String> = case
            .error
            .iter()
            .filter(|fragment| !stderr.contains(fragment.as_str()))
            .collect();
        if !missing.is_empty() {
            failures.push(format!(
                "{}: error lacks {missing:?}; it was:\n{stderr}",
                case.name
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
