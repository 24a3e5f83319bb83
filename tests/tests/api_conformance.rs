//! The API against its own OpenAPI document, with the tools users of the
//! document would use (installed by `./dev setup` into
//! `.llmos/conformance/venv`, pinned in `tools/conformance`):
//!
//! - `openapi-spec-validator`: `docs/openapi.json` and the served
//!   `/openapi.json` are valid OpenAPI 3.1.
//! - `schemathesis`: every operation, with a user token and with an admin
//!   token, gets a bounded number of generated requests (fixed seed) in
//!   every phase (examples, coverage, fuzzing, stateful runs along the
//!   links it infers); no answer may be a server error, and every status,
//!   content type and body must be the documented ones. The chat routes
//!   talk to the loopback mock LLM, so they answer for real.
//! - Then the same with invalid requests only (`--mode negative`, without
//!   the stateful phase, whose linked values are valid ones): each must be
//!   refused with a 4xx (`negative_data_rejection`), and the stored state (every volume's refs and
//!   reflog, tokens, conversations, traces, patterns) is identical
//!   before and after.
//!
//! Build the app first (from the workspace root): `./dev build`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use llmos_tests::mock_llm::MockLlm;
use llmos_tests::{Host, HostConfig, app_manifest, workspace_root};

/// Generated cases per operation and phase.
const MAX_EXAMPLES: &str = "10";
/// The seed of every run, so that a failure replays.
const SEED: &str = "20261207";

fn tool(name: &str) -> PathBuf {
    let path = workspace_root()
        .join(".llmos/conformance/venv/bin")
        .join(name);
    assert!(
        path.is_file(),
        "{} is missing: install the conformance tools with ./dev setup",
        path.display()
    );
    path
}

fn validate(path: &Path) {
    let output = Command::new(tool("openapi-spec-validator"))
        .arg(path)
        .output()
        .expect("run openapi-spec-validator");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{}: {text}", path.display());
    assert!(text.contains("OK"), "{text}");
}

#[test]
fn the_document_and_the_served_copy_are_valid_openapi_3_1() {
    validate(&workspace_root().join("docs/openapi.json"));
    let host = Host::start(app_manifest());
    let served = host.get("/openapi.json");
    assert_eq!(served.status, 200);
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("served-openapi.json");
    std::fs::write(&copy, &served.body).unwrap();
    validate(&copy);
    assert_eq!(served.json()["openapi"], "3.1.0");
}

/// What one schemathesis run reported.
struct Run {
    operations: u64,
    cases: u64,
}

/// The number before `marker` on the line that holds it, e.g. `Tested: 62`
/// or `1530 generated, `.
fn number(text: &str, marker: &str, before: bool) -> Option<u64> {
    let line = text.lines().find(|l| l.contains(marker))?;
    let (head, tail) = line.split_once(marker)?;
    let digits: String = if before {
        let word = head.trim_end().rsplit(' ').next()?;
        word.chars().filter(char::is_ascii_digit).collect()
    } else {
        tail.trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect()
    };
    digits.parse().ok()
}

/// With `LLMOS_CONFORMANCE_REPORT=DIR`, each run writes a HAR file of
/// every request and answer there, to see what a failure sent.
fn report_args(label: &str, mode: &str) -> Vec<String> {
    match std::env::var("LLMOS_CONFORMANCE_REPORT") {
        Ok(dir) if !dir.is_empty() => vec![
            "--report".into(),
            "har".into(),
            "--report-har-path".into(),
            format!("{dir}/{label}-{mode}.har"),
        ],
        _ => Vec::new(),
    }
}

fn schemathesis(host: &Host, token: &str, mode: &str, label: &str) -> Run {
    let mut checks = String::from(
        "not_a_server_error,status_code_conformance,content_type_conformance,\
         response_schema_conformance",
    );
    // Stateful runs follow links with the values earlier answers gave,
    // which are valid ones: they belong to the positive runs. Invalid
    // requests must all be refused (4xx).
    let phases = if mode == "negative" {
        checks.push_str(",negative_data_rejection");
        "examples,coverage,fuzzing"
    } else {
        "examples,coverage,fuzzing,stateful"
    };
    let work = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut command = Command::new(tool("schemathesis"));
    if mode == "negative" {
        command
            .arg("--config-file")
            .arg(workspace_root().join("tools/conformance/negative.toml"));
    }
    let output = command
        .current_dir(work.path())
        .env("NO_COLOR", "1")
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .args(["run", &host.url("/openapi.json")])
        .args(["--url", &host.url("")])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--checks", &checks])
        .args(["--mode", mode])
        .args(["--phases", phases])
        .args(["--max-examples", MAX_EXAMPLES])
        .args(["--seed", SEED])
        // One worker: Hypothesis' caches are not safe across threads.
        .args(["--workers", "1"])
        .args(["--request-timeout", "60"])
        .args(["--generation-database", "none"])
        .arg("--no-color")
        .args(report_args(label, mode))
        .output()
        .expect("run schemathesis");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "schemathesis ({label}, {mode}) found problems:\n{text}\nhost log:\n{}",
        host.stderr()
    );
    let (Some(operations), Some(cases)) = (
        number(&text, "Tested:", false),
        number(&text, " generated, ", true),
    ) else {
        panic!("no counts in the output of schemathesis:\n{text}");
    };
    println!(
        "schemathesis {label} token, {mode}: {operations} operations, {cases} cases, \
         {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Run { operations, cases }
}

/// Everything a request could change, as sorted rows: the volumes' refs
/// and reflogs, tokens, conversations, traces and evolution patterns.
fn stored_state(data_dir: &Path) -> Vec<String> {
    let db = rusqlite::Connection::open_with_flags(
        data_dir.join("sqlite_db.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open the app's database");
    let tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut rows = Vec::new();
    for table in [
        "git_refs",
        "git_reflog",
        "auth_tokens",
        "chat_conversations",
        "chat_turns",
        "trace_index",
        "evolve_patterns",
    ] {
        if !tables.iter().any(|t| t == table) {
            rows.push(format!("{table}: absent"));
            continue;
        }
        let mut statement = db.prepare(&format!("SELECT * FROM {table}")).unwrap();
        let columns = statement.column_count();
        let mut found: Vec<String> = statement
            .query_map([], |row| {
                let mut line = format!("{table}:");
                for i in 0..columns {
                    let value: rusqlite::types::Value = row.get(i)?;
                    line.push_str(&format!(" {value:?}"));
                }
                Ok(line)
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        found.sort();
        rows.extend(found);
    }
    rows
}

#[test]
fn generated_requests_get_documented_answers_and_rejected_ones_change_nothing() {
    let mock = MockLlm::start();
    // Any chat answer will do; this one is also a workflow, so that
    // `POST /chat/workflow` has one to validate.
    mock.set_fallback(
        "```json\n{\"id\": \"double\", \"name\": \"Double\", \"nodes\": [\
         {\"id\": \"a\", \"skill_id\": \"builtin:constant\", \"position\": {\"x\": 0, \"y\": 0}, \
         \"params\": {\"value\": 21}}], \"edges\": []}\n```",
    );
    let host = HostConfig::new(app_manifest())
        .env("SPIN_VARIABLE_LLM_BASE_URL", mock.url())
        .env("SPIN_VARIABLE_LLM_TIMEOUT_SECS", "5")
        .start();
    let admin = host.printed_admin_token().expect("the admin token");
    let user = host.create_token("alice", &["lab"], "user");
    // Something to find: a skill of alice's.
    let created = host
        .request(reqwest::Method::POST, "/skills")
        .bearer_auth(&user)
        .header("content-type", "text/markdown")
        .body(
            "---\nskill_id: unit-conversions\nname: Unit conversions\ncategory: physics\n\
             description: Converting \
             between SI units.\n---\n# Unit conversions\n\nMultiply by the factor.\n",
        )
        .send()
        .unwrap();
    assert_eq!(created.status(), 201, "{}", created.text().unwrap());

    let mut total = Run {
        operations: 0,
        cases: 0,
    };
    for (label, token) in [("user", &user), ("admin", &admin)] {
        let run = schemathesis(&host, token, "positive", label);
        assert!(run.operations >= 60, "only {} operations", run.operations);
        total.operations = total.operations.max(run.operations);
        total.cases += run.cases;
    }

    // Invalid requests only. The admin's positive run may have revoked
    // alice's token (it lists and deletes tokens): a fresh one, issued
    // before the state is read.
    let user = host.create_token("alice", &["lab"], "user");
    let before = stored_state(host.data_dir());
    assert!(before.iter().any(|row| row.starts_with("git_refs:")));
    for (label, token) in [("user", &user), ("admin", &admin)] {
        let run = schemathesis(&host, token, "negative", label);
        total.cases += run.cases;
    }
    let after = stored_state(host.data_dir());
    if before != after {
        let gone: Vec<_> = before.iter().filter(|r| !after.contains(r)).collect();
        let new: Vec<_> = after.iter().filter(|r| !before.contains(r)).collect();
        panic!(
            "rejected requests changed the stored state:\nbefore only: {gone:#?}\nafter only: {new:#?}"
        );
    }
    println!(
        "schemathesis: {} operations, {} cases in all",
        total.operations, total.cases
    );
}
