//! The evolution engine end to end: traces imported with
//! `llmos traces import`, passes through `POST /evolve`, the cron trigger
//! and `llmos evolve`, drafts listed by the skills API.
//!
//! The app runs from a manifest with the auth, skills and evolve components
//! of this workspace (the real wasm files), so the tests need no frontend
//! build and can set their own cron schedule.
//!
//! Build first: `cargo build --release -p llmos-host && cargo build
//! --target wasm32-wasip2 --release -p auth -p skills -p evolve`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use llmos_tests::{Host, HostConfig, Reply, llmos_binary, poll, target_dir};
use serde_json::{Value, json};

/// A manifest serving auth, skills and evolve; `cron` adds a cron trigger.
struct EvolveApp {
    dir: tempfile::TempDir,
}

impl EvolveApp {
    fn new(cron: Option<&str>) -> EvolveApp {
        let wasm = |name: &str| {
            let path = target_dir()
                .join("wasm32-wasip2/release")
                .join(format!("{name}.wasm"));
            assert!(
                path.is_file(),
                "{} is missing; build it with cargo build --target wasm32-wasip2 --release -p {name}",
                path.display()
            );
            path.to_string_lossy().into_owned()
        };
        let vars = r#"admin_token = "{{ admin_token }}"
min_pattern_count = "{{ min_pattern_count }}"
min_success_rate = "{{ min_success_rate }}""#;
        let mut text = format!(
            r#"spin_manifest_version = 2
[application]
name = "evolve-test"
[variables]
admin_token = {{ required = true, secret = true }}
min_pattern_count = {{ default = "3" }}
min_success_rate = {{ default = "0.7" }}
[[trigger.http]]
route = "/auth/..."
component = "auth"
[[trigger.http]]
route = "/skills/..."
component = "skills"
[[trigger.http]]
route = "/volumes/..."
component = "skills"
[[trigger.http]]
route = "/evolve/..."
component = "evolve"
[[trigger.http]]
route = "/traces/..."
component = "evolve"
[component.auth]
source = "{auth}"
sqlite_databases = ["default"]
[component.auth.variables]
admin_token = "{{{{ admin_token }}}}"
[component.skills]
source = "{skills}"
sqlite_databases = ["default"]
files = [{{ source = "system", destination = "/system" }}]
[component.skills.variables]
admin_token = "{{{{ admin_token }}}}"
[component.evolve]
source = "{evolve}"
sqlite_databases = ["default"]
[component.evolve.variables]
{vars}
"#,
            auth = wasm("auth"),
            skills = wasm("skills"),
            evolve = wasm("evolve"),
        );
        if let Some(expression) = cron {
            text.push_str(&format!(
                r#"[[trigger.cron]]
component = "evolve-cron"
cron_expression = "{expression}"
[component.evolve-cron]
source = "{evolve}"
sqlite_databases = ["default"]
[component.evolve-cron.variables]
{vars}
"#,
                evolve = wasm("evolve"),
            ));
        }
        let dir = tempfile::tempdir().expect("a scratch dir");
        // An empty system volume: these tests only look at users' volumes.
        std::fs::create_dir(dir.path().join("system")).expect("create system/");
        std::fs::write(dir.path().join("spin.toml"), text).expect("write spin.toml");
        EvolveApp { dir }
    }

    fn manifest(&self) -> PathBuf {
        self.dir.path().join("spin.toml")
    }
}

/// A trace line for `llmos traces import`.
fn chat(user: &str, n: u64, task: &str, ok: bool) -> Value {
    // The random part of the id tells users apart.
    let salt: u64 = user.bytes().map(u64::from).sum::<u64>() << 8;
    json!({
        "trace_id": format!("tr-{:013x}-{:08x}", 1_764_000_000_000u64 + n * 1000, salt + n),
        "kind": "chat",
        "user_id": user,
        "created_at": 1_764_000_000_000u64 + n * 1000,
        "task": task,
        "skills_used": ["data-plot-node"],
        "outcome": if ok { "success" } else { "error" },
        "duration_ms": 12,
    })
}

/// Three similar successful chats of `user` (a pattern) and one other.
fn corpus(user: &str) -> Vec<Value> {
    vec![
        chat(user, 1, "Plot a sine wave", true),
        chat(user, 2, "plotting sine waves please", true),
        chat(user, 3, "can you plot the sine wave", true),
        chat(user, 4, "summarise this csv file", true),
    ]
}

fn import(manifest: &Path, data_dir: &Path, lines: &[Value]) -> std::process::Output {
    let file = data_dir.join(format!("traces-{}.jsonl", rand_suffix()));
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&file, text).expect("write traces");
    std::process::Command::new(llmos_binary())
        .args(["traces", "import"])
        .arg(&file)
        .arg("--from")
        .arg(manifest)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("LLMOS_VOLUMES_PATH")
        .output()
        .expect("run llmos traces import")
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn seed(host: &Host, manifest: &Path, lines: &[Value]) {
    let out = import(manifest, host.data_dir(), lines);
    assert!(
        out.status.success(),
        "llmos traces import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn call(
    host: &Host,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Reply {
    let mut request = host.request(method, path).bearer_auth(token);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    Reply::from(request.send())
}

fn post(host: &Host, token: &str, path: &str, body: Value) -> Reply {
    call(host, token, reqwest::Method::POST, path, Some(body))
}

fn get(host: &Host, token: &str, path: &str) -> Reply {
    call(host, token, reqwest::Method::GET, path, None)
}

fn commits(host: &Host, token: &str) -> usize {
    let reply = get(
        host,
        token,
        "/volumes/history?volume=users/alice&limit=1000",
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["commits"].as_array().map_or(0, Vec::len)
}

#[test]
fn a_pass_drafts_a_skill_the_skills_api_lists_once() {
    let app = EvolveApp::new(None);
    let host = Host::start(app.manifest());
    seed(&host, &app.manifest(), &corpus("alice"));
    let alice = host.create_token("alice", &["core"], "user");

    // Dry run: drafts returned, nothing committed.
    let before = commits(&host, &alice);
    let dry = post(
        &host,
        &alice,
        "/evolve",
        json!({"user_id": "alice", "auto_apply": false}),
    );
    assert_eq!(dry.status, 200, "{}", dry.body);
    let dry = dry.json();
    assert_eq!(dry["skills_created"], 1);
    assert!(dry["skills"][0]["commit"].is_null());
    assert!(
        dry["skills"][0]["content"]
            .as_str()
            .unwrap()
            .contains("status: draft")
    );
    assert_eq!(commits(&host, &alice), before);

    let reply = post(
        &host,
        &alice,
        "/evolve",
        json!({"user_id": "alice", "team_id": "core", "auto_apply": true}),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let report = reply.json();
    assert_eq!(report["status"], "completed");
    assert_eq!(report["traces_analyzed"], 4);
    assert_eq!(report["patterns_detected"], 1);
    assert_eq!(report["skills_created"], 1);
    let skill = &report["skills"][0];
    let id = skill["skill_id"].as_str().unwrap().to_owned();
    assert_eq!(skill["occurrences"], 3);
    assert_eq!(skill["success_rate"], 1.0);
    assert!(skill["commit"].as_str().is_some_and(|c| c.len() == 40));
    assert_eq!(commits(&host, &alice), before + 1);

    // The skills API lists the draft, with its status.
    let listed = get(&host, &alice, "/skills?status=draft");
    assert_eq!(listed.status, 200, "{}", listed.body);
    let skills = listed.json()["skills"].as_array().unwrap().clone();
    let draft = skills
        .iter()
        .find(|s| s["skill_id"] == id.as_str())
        .unwrap_or_else(|| panic!("{id} not in {skills:?}"));
    assert_eq!(draft["volume"], "users/alice");
    assert_eq!(draft["status"], "draft");
    let full = get(&host, &alice, &format!("/skills/{id}"));
    assert_eq!(full.status, 200, "{}", full.body);
    assert_eq!(full.json()["frontmatter"]["occurrences"], 3);

    // A second pass creates nothing and commits nothing.
    let again = post(&host, &alice, "/evolve", json!({})).json();
    assert_eq!(again["skills_created"], 0);
    assert!(again["commit"].is_null());
    assert_eq!(commits(&host, &alice), before + 1);

    // The patterns view shows the pattern as drafted.
    let patterns = get(&host, &alice, "/evolve/patterns").json();
    assert_eq!(patterns["patterns"][0]["drafted"], true);
    assert_eq!(patterns["patterns"][0]["skill_id"], id.as_str());

    // Rejecting the draft (deleting it) is remembered.
    let deleted = call(
        &host,
        &alice,
        reqwest::Method::DELETE,
        &format!("/skills/{id}?volume=users/alice"),
        None,
    );
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let after = post(&host, &alice, "/evolve", json!({})).json();
    assert_eq!(after["skills_created"], 0);
    assert_eq!(
        get(&host, &alice, "/evolve/patterns").json()["patterns"][0]["state"],
        "rejected"
    );
}

#[test]
fn a_page_of_traces_keeps_its_compiled_statements() {
    let app = EvolveApp::new(None);
    let host = HostConfig::new(app.manifest()).arg("--stats").start();
    seed(&host, &app.manifest(), &corpus("alice"));
    let alice = host.create_token("alice", &[], "user");
    // The first request applies the component's migrations; a statement
    // cached before them is compiled once more on the next.
    get(&host, &alice, "/traces?limit=3");
    for path in ["/traces?limit=3", "/traces?limit=3&kind=chat"] {
        get(&host, &alice, path);
        for round in 0..3 {
            let page = get(&host, &alice, path);
            assert_eq!(page.status, 200, "{}", page.body);
            assert_eq!(
                page.header("llmos-sqlite-reprepares"),
                Some("0"),
                "{path}, round {round}: {:?}",
                page.headers
            );
        }
    }
}

#[test]
fn traces_are_listed_with_a_cursor_and_shown_whole() {
    let app = EvolveApp::new(None);
    let host = Host::start(app.manifest());
    seed(&host, &app.manifest(), &corpus("alice"));
    seed(&host, &app.manifest(), &corpus("bob"));
    let alice = host.create_token("alice", &[], "user");
    let first = get(&host, &alice, "/traces?user_id=alice&limit=3");
    assert_eq!(first.status, 200, "{}", first.body);
    let first = first.json();
    assert_eq!(first["traces"].as_array().unwrap().len(), 3);
    assert_eq!(first["traces"][0]["task"], "summarise this csv file");
    let next = first["next"].as_str().unwrap();
    assert!(
        first["traces"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["user_id"] == "alice"),
        "{first}"
    );
    let second = get(&host, &alice, &format!("/traces?limit=3&cursor={next}")).json();
    assert_eq!(second["traces"].as_array().unwrap().len(), 1);
    assert!(second["next"].is_null());
    let id = first["traces"][0]["trace_id"].as_str().unwrap();
    let whole = get(&host, &alice, &format!("/traces/{id}"));
    assert_eq!(whole.status, 200, "{}", whole.body);
    assert_eq!(whole.json()["duration_ms"], 12);
    assert_eq!(
        get(&host, &alice, "/traces?cursor=bogus").json()["error"]["code"],
        "invalid-cursor"
    );
    assert_eq!(
        get(&host, &alice, "/traces/tr-0000000000000-00000000").status,
        404
    );
}

#[test]
fn users_evolve_only_their_own_volume() {
    let app = EvolveApp::new(None);
    let host = Host::start(app.manifest());
    seed(&host, &app.manifest(), &corpus("bob"));
    let alice = host.create_token("alice", &[], "user");
    let admin = host.create_token("root", &[], "admin");
    let forbidden = post(&host, &alice, "/evolve", json!({"user_id": "bob"}));
    assert_eq!(forbidden.status, 403, "{}", forbidden.body);
    assert_eq!(get(&host, &alice, "/traces?user_id=bob").status, 403);
    assert_eq!(
        get(&host, &alice, "/evolve/patterns?user_id=bob").status,
        403
    );
    let bob_trace = corpus("bob")[0]["trace_id"].as_str().unwrap().to_owned();
    assert_eq!(
        get(&host, &alice, &format!("/traces/{bob_trace}")).status,
        403
    );
    let anonymous = host.post("/evolve", "{}");
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.json()["error"]["code"], "missing-token");
    // Bad input changes nothing.
    let bad = post(&host, &alice, "/evolve", json!({"auto_apply": "yes"}));
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.json()["error"]["code"].is_string());
    // The admin may run it for bob.
    let by_admin = post(&host, &admin, "/evolve", json!({"user_id": "bob"}));
    assert_eq!(by_admin.status, 200, "{}", by_admin.body);
    assert_eq!(by_admin.json()["skills_created"], 1);
}

#[test]
fn thresholds_from_the_environment_change_the_result() {
    let app = EvolveApp::new(None);
    let host = HostConfig::new(app.manifest())
        .env("LLMOS_MIN_PATTERN_COUNT", "4")
        .start();
    seed(&host, &app.manifest(), &corpus("alice"));
    let alice = host.create_token("alice", &[], "user");
    let report = post(&host, &alice, "/evolve", json!({"auto_apply": false})).json();
    assert_eq!(report["patterns_detected"], 0);
    assert_eq!(report["skills_created"], 0);

    let host = HostConfig::new(app.manifest())
        .env("SPIN_VARIABLE_MIN_SUCCESS_RATE", "0.5")
        .start();
    let mut lines = corpus("alice");
    lines.push(chat("alice", 5, "plot sine wave", false));
    lines.push(chat("alice", 6, "plot a sine wave now", false));
    lines.push(chat("alice", 7, "plot the sine wave", false));
    seed(&host, &app.manifest(), &lines);
    let alice = host.create_token("alice", &[], "user");
    // 3 of 6 succeed: 0.5 meets 0.5, but not the default 0.7.
    let report = post(&host, &alice, "/evolve", json!({"auto_apply": false})).json();
    assert_eq!(report["patterns_detected"], 1, "{report}");
}

#[test]
fn the_cron_trigger_runs_the_pass_for_every_user() {
    let app = EvolveApp::new(Some("*/2 * * * * *"));
    let host = Host::start(app.manifest());
    seed(&host, &app.manifest(), &corpus("alice"));
    seed(&host, &app.manifest(), &corpus("bob"));
    let admin = host.create_token("root", &[], "admin");
    for user in ["alice", "bob"] {
        let drafted = poll(Duration::from_secs(60), || {
            let reply = get(
                &host,
                &admin,
                &format!("/skills?user_id={user}&status=draft&volume=users/{user}"),
            );
            (reply.status == 200 && reply.json()["total"] == 1).then_some(())
        });
        assert!(drafted.is_some(), "no draft for {user}:\n{}", host.stderr());
    }
}

#[test]
fn the_cli_runs_a_pass_and_imports_check_every_line() {
    let app = EvolveApp::new(None);
    let data = tempfile::tempdir().unwrap();
    let mut lines = corpus("alice");
    lines.push(json!({"kind": "chat", "user_id": "alice", "task": "x", "outcome": "maybe", "duration_ms": 1}));
    let out = import(&app.manifest(), data.path(), &lines);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(":5: field `outcome`"), "{err}");
    lines.pop();
    let out = import(&app.manifest(), data.path(), &lines);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 4 traces"));

    let out = std::process::Command::new(llmos_binary())
        .args(["evolve", "--user", "alice", "--from"])
        .arg(app.manifest())
        .arg("--data-dir")
        .arg(data.path())
        .env_remove("LLMOS_VOLUMES_PATH")
        .env_remove("LLMOS_ADMIN_TOKEN")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("alice: drafted plot-sine-wave-"),
        "{stdout}"
    );
    assert!(stdout.contains("1 draft created"), "{stdout}");
    // A second run finds nothing new.
    let out = std::process::Command::new(llmos_binary())
        .args(["evolve", "--from"])
        .arg(app.manifest())
        .arg("--data-dir")
        .arg(data.path())
        .env_remove("LLMOS_VOLUMES_PATH")
        .env_remove("LLMOS_ADMIN_TOKEN")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 drafts created"));
}

/// A workflow run of `builtin:constant → builtin:math` whose recorded
/// output is `result`.
fn run_trace(user: &str, n: u64, result: i64) -> Value {
    let mut trace = chat(user, n, "double a number", true);
    trace["kind"] = json!("workflow-run");
    trace["skills_used"] = json!([]);
    trace["sequence"] = json!(["builtin:constant", "builtin:math"]);
    trace["details"] = json!({
        "workflow_id": "double",
        "workflow": {"id": "double", "name": "double",
            "nodes": [
                {"id": "a", "skill_id": "builtin:constant", "params": {"value": 3}},
                {"id": "m", "skill_id": "builtin:math", "params": {"expression": "x * 2"}}],
            "edges": [{"source": "a", "source_port": "value", "target": "m", "target_port": "x"}]},
        "inputs": {},
        "outputs": {"m": {"result": result}},
    });
    trace
}

#[test]
fn workflow_patterns_are_verified_only_when_replay_reproduces_them() {
    let app = EvolveApp::new(None);
    let host = Host::start(app.manifest());
    let runs: Vec<Value> = (1..=3).map(|n| run_trace("alice", n, 6)).collect();
    let differing: Vec<Value> = (1..=3).map(|n| run_trace("bob", n, 7)).collect();
    seed(&host, &app.manifest(), &runs);
    seed(&host, &app.manifest(), &differing);
    let admin = host.create_token("root", &[], "admin");
    let alice = post(&host, &admin, "/evolve", json!({"user_id": "alice"})).json();
    assert_eq!(alice["skills"][0]["verification"], "verified", "{alice}");
    let id = alice["skills"][0]["skill_id"].as_str().unwrap();
    let raw = get(&host, &admin, &format!("/skills/{id}/raw?user_id=alice"));
    assert_eq!(raw.status, 200, "{}", raw.body);
    assert!(raw.body.contains("verification: verified"), "{}", raw.body);
    assert!(raw.body.contains("```json"), "{}", raw.body);
    let bob = post(&host, &admin, "/evolve", json!({"user_id": "bob"})).json();
    assert_eq!(bob["skills"][0]["verification"], "unverified", "{bob}");
}

#[test]
fn with_a_model_configured_the_model_writes_the_draft_body() {
    let mock = llmos_tests::mock_llm::MockLlm::start();
    let manifest = llmos_tests::app_manifest();
    let host = HostConfig::new(&manifest)
        .env("SPIN_VARIABLE_LLM_BASE_URL", mock.url())
        .start();
    seed(&host, &manifest, &corpus("alice"));
    let alice = host.create_token("alice", &[], "user");
    mock.push(llmos_tests::mock_llm::Reply::text(
        "# Sine wave plots\n\n## When to use\n\nWhen someone asks for a sine wave plot.\n\n\
         ## Approach\n\nSample one period at 100 points and draw a line plot.",
    ));
    let report = post(&host, &alice, "/evolve", json!({"auto_apply": false}));
    assert_eq!(report.status, 200, "{}", report.body);
    let report = report.json();
    assert_eq!(report["skills_created"], 1, "{report}");
    let content = report["skills"][0]["content"].as_str().unwrap();
    assert!(
        content.contains("Sample one period at 100 points"),
        "{content}"
    );
    let requests = mock.requests();
    assert_eq!(requests.len(), 1);
    assert!(
        requests[0].body["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("sine")
    );

    // A model answer without the required sections falls back to the template.
    mock.push(llmos_tests::mock_llm::Reply::text("Sure! Here is a skill."));
    let report = post(&host, &alice, "/evolve", json!({"auto_apply": false})).json();
    let content = report["skills"][0]["content"].as_str().unwrap();
    assert!(!content.contains("Sure! Here is a skill."), "{content}");
    assert!(content.contains("## When to use"), "{content}");
}

#[test]
fn runs_executed_at_the_edge_become_a_verified_workflow_draft() {
    let manifest = llmos_tests::app_manifest();
    let host = Host::start(&manifest);
    let alice = host.create_token("alice", &[], "user");
    let workflow = json!({"id": "double", "name": "Double a constant", "nodes": [
        {"id": "a", "skill_id": "builtin:constant", "position": {"x": 0, "y": 0}, "params": {"value": 21}},
        {"id": "m", "skill_id": "builtin:math", "position": {"x": 200, "y": 0}, "params": {"expression": "x * 2"}}],
        "edges": [{"source": "a", "source_port": "value", "target": "m", "target_port": "x"}]});
    let created = post(&host, &alice, "/workflows", json!({"workflow": workflow}));
    assert_eq!(created.status, 201, "{}", created.body);
    for _ in 0..3 {
        let run = post(&host, &alice, "/workflows/double/execute", json!({}));
        assert_eq!(run.status, 200, "{}", run.body);
        assert_eq!(run.json()["nodes"]["m"]["outputs"]["result"], 42);
    }
    let traces = get(&host, &alice, "/traces?limit=10").json();
    assert_eq!(traces["traces"].as_array().unwrap().len(), 3, "{traces}");
    let report = post(&host, &alice, "/evolve", json!({"auto_apply": true}));
    assert_eq!(report.status, 200, "{}", report.body);
    let report = report.json();
    assert_eq!(report["skills_created"], 1, "{report}");
    let draft = &report["skills"][0];
    assert!(draft["commit"].is_string(), "{draft}");
    let listed = get(&host, &alice, "/skills?status=draft").json();
    let skill_id = draft["skill_id"].as_str().unwrap();
    let raw = get(&host, &alice, &format!("/skills/{skill_id}/raw"));
    assert_eq!(raw.status, 200, "{}", raw.body);
    assert!(raw.body.contains("verification: verified"), "{}", raw.body);
    assert!(listed.to_string().contains(skill_id), "{listed}");
    assert_eq!(draft["verification"], "verified", "{draft}");
}
