//! Shared by the `skills_*` end-to-end tests: an app with the auth and
//! skills components on the real host, users with tokens, HTTP helpers,
//! stock git, and the data-driven case runner.
//!
//! The app is generated into a temporary directory with a copy of
//! `volumes/system` (files mounts must lie inside the app directory), so
//! the tests run the real first-start import of the shipped skills.
//!
//! Build the artifacts first (from the workspace root):
//!     cargo build --release -p llmos-host
//!     cargo build --target wasm32-wasip2 --release -p auth -p skills
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use llmos_tests::{Host, HostConfig, Reply, target_dir, workspace_root};
use serde::Deserialize;
use serde_json::Value;

/// The admin token the tests' host runs with.
pub const ADMIN: &str = "skills-test-admin-token";

/// Every volume the tests write or try to write.
pub const VOLUMES: &[&str] = &[
    "system",
    "teams/core",
    "teams/other",
    "users/alice",
    "users/bob",
];

fn component(name: &str) -> PathBuf {
    let path = target_dir()
        .join("wasm32-wasip2")
        .join("release")
        .join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "{} is missing; build it first with:\n    \
         cargo build --release -p llmos-host && \
         cargo build --target wasm32-wasip2 --release -p auth -p skills",
        path.display()
    );
    path
}

/// A generated app directory: manifest plus the shipped system skills.
pub struct SkillsApp {
    dir: tempfile::TempDir,
}

impl SkillsApp {
    pub fn new() -> SkillsApp {
        let dir = tempfile::tempdir().expect("app dir");
        let manifest = format!(
            r#"spin_manifest_version = 2
[application]
name = "skills-test"
[variables]
admin_token = {{ required = true, secret = true }}
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
route = "/git/..."
component = "skills"
[component.auth]
source = {auth:?}
sqlite_databases = ["default"]
[component.auth.variables]
admin_token = "{{{{ admin_token }}}}"
[component.skills]
source = {skills:?}
sqlite_databases = ["default"]
files = [{{ source = "volumes/system", destination = "/system" }}]
[component.skills.variables]
admin_token = "{{{{ admin_token }}}}"
"#,
            auth = component("auth").to_string_lossy(),
            skills = component("skills").to_string_lossy(),
        );
        std::fs::write(dir.path().join("spin.toml"), manifest).expect("write spin.toml");
        copy_tree(
            &workspace_root().join("volumes/system"),
            &dir.path().join("volumes/system"),
        );
        SkillsApp { dir }
    }

    pub fn manifest(&self) -> PathBuf {
        self.dir.path().join("spin.toml")
    }

    /// Adds the probe component at `/_/...` (its `/_/health` is the
    /// benchmarks' baseline: a fresh instance that makes no host call).
    pub fn with_probe(self) -> SkillsApp {
        let mut manifest = std::fs::read_to_string(self.manifest()).expect("read spin.toml");
        manifest.push_str(&format!(
            "[[trigger.http]]\nroute = \"/_/...\"\ncomponent = \"probe\"\n\
             [component.probe]\nsource = {:?}\nsqlite_databases = [\"default\"]\n",
            llmos_tests::probe_wasm().to_string_lossy()
        ));
        std::fs::write(self.manifest(), manifest).expect("write spin.toml");
        self
    }

    /// Adds a file below the shipped `skills/` directory of the app (before
    /// the first start).
    pub fn add_system_skill(&self, relative: &str, text: &str) {
        let path = self.dir.path().join("volumes/system/skills").join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create skill dir");
        }
        std::fs::write(path, text).expect("write system skill");
    }

    pub fn config(&self) -> HostConfig {
        HostConfig::new(self.manifest()).env("LLMOS_ADMIN_TOKEN", ADMIN)
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// A running app with tokens: alice (team core), bob (team other), admin.
pub struct Env {
    pub app: SkillsApp,
    pub host: Host,
    pub tokens: HashMap<String, String>,
}

impl Env {
    pub fn start() -> Env {
        Env::start_app(SkillsApp::new(), |config| config)
    }

    /// Starts `app` with a host configured by `configure`.
    pub fn start_app(app: SkillsApp, configure: impl FnOnce(HostConfig) -> HostConfig) -> Env {
        let host = configure(app.config()).start();
        let mut env = Env {
            app,
            host,
            tokens: HashMap::from([("admin".to_owned(), ADMIN.to_owned())]),
        };
        env.add_user("alice", &["core"]);
        env.add_user("bob", &["other"]);
        env
    }

    pub fn add_user(&mut self, user: &str, teams: &[&str]) {
        let reply = self.call(
            "admin",
            "POST",
            "/auth/tokens",
            Some((
                "application/json",
                serde_json::json!({"user_id": user, "team_ids": teams, "role": "user"})
                    .to_string()
                    .into_bytes(),
            )),
        );
        assert_eq!(reply.status, 201, "{}", reply.body);
        let token = reply.json()["token"].as_str().expect("token").to_owned();
        self.tokens.insert(user.to_owned(), token);
    }

    pub fn token(&self, who: &str) -> Option<String> {
        match who {
            "none" => None,
            "invalid" => Some("llmos_not-a-real-token".to_owned()),
            user => Some(
                self.tokens
                    .get(user)
                    .unwrap_or_else(|| panic!("no token for {user}"))
                    .clone(),
            ),
        }
    }

    /// One request as `who` (a user, `admin`, `none` or `invalid`).
    pub fn call(
        &self,
        who: &str,
        method: &str,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.host.request(method, path);
        if let Some(token) = self.token(who) {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some((content_type, bytes)) = body {
            if !content_type.is_empty() {
                request = request.header("content-type", content_type);
            }
            request = request.body(bytes);
        }
        Reply::from(request.send())
    }

    pub fn get(&self, who: &str, path: &str) -> Reply {
        self.call(who, "GET", path, None)
    }

    pub fn json(&self, who: &str, method: &str, path: &str, body: &Value) -> Reply {
        self.call(
            who,
            method,
            path,
            Some(("application/json", body.to_string().into_bytes())),
        )
    }

    /// Every commit id of a volume, newest first, read through the API.
    pub fn commits(&self, volume: &str) -> Vec<String> {
        let mut commits = Vec::new();
        let mut cursor = String::new();
        loop {
            let reply = self.get(
                "admin",
                &format!("/volumes/history?volume={volume}&limit=1000{cursor}"),
            );
            assert_eq!(reply.status, 200, "{}", reply.body);
            let page = reply.json();
            for commit in page["commits"].as_array().expect("commits") {
                commits.push(commit["commit"].as_str().expect("id").to_owned());
            }
            match page["next"].as_str() {
                Some(next) => cursor = format!("&cursor={next}"),
                None => return commits,
            }
        }
    }

    /// The commits of every test volume.
    pub fn snapshot(&self) -> BTreeMap<&'static str, Vec<String>> {
        VOLUMES.iter().map(|v| (*v, self.commits(v))).collect()
    }

    pub fn git_url(&self, volume: &str) -> String {
        self.host.url(&format!("/git/{volume}"))
    }
}

/// Runs stock git with the bearer token header; returns the output.
pub fn git(dir: &Path, token: Option<&str>, args: &[&str]) -> std::process::Output {
    let mut command = Command::new("git");
    command
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .args(["-c", "protocol.version=0"]);
    if let Some(token) = token {
        command.args([
            "-c",
            &format!("http.extraHeader=Authorization: Bearer {token}"),
        ]);
    }
    command.args(args).output().expect("git runs")
}

/// [`git`] that must succeed; returns stdout.
pub fn git_ok(dir: &Path, token: Option<&str>, args: &[&str]) -> String {
    let output = git(dir, token, args);
    assert!(
        output.status.success(),
        "git {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

// ---- data-driven cases -----------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cases {
    pub case: Vec<Case>,
}

/// One request and what must come back. `{name}` in `path` and `body` is
/// replaced by a value captured by an earlier case.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    /// `alice`, `bob`, `admin`, `none` (no token) or `invalid`.
    #[serde(rename = "as")]
    pub who: String,
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    /// Raw body bytes, for bodies that are not UTF-8.
    #[serde(default)]
    pub body_bytes: Option<Vec<u8>>,
    /// `{pad}` in the body becomes this many `a`s (oversize bodies).
    #[serde(default)]
    pub pad: usize,
    pub status: u16,
    /// Expected JSON, matched as a subset (see [`matches`]).
    #[serde(default)]
    pub json: Option<toml::Value>,
    /// `error.code` of an error body.
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub content_type_is: Option<String>,
    #[serde(default)]
    pub body_starts_with: Option<String>,
    #[serde(default)]
    pub body_contains: Vec<String>,
    /// Values to keep for later cases: name → JSON pointer.
    #[serde(default)]
    pub capture: BTreeMap<String, String>,
}

pub fn load_cases(file: &str) -> Vec<Case> {
    let path = workspace_root().join("tests/cases/skills").join(file);
    let text = std::fs::read_to_string(&path).expect("case file");
    let cases: Cases = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    cases.case
}

fn substitute(text: &str, vars: &HashMap<String, String>) -> String {
    let mut out = text.to_owned();
    for (name, value) in vars {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// Runs one case; returns a description of every mismatch.
pub fn run_case(env: &Env, case: &Case, vars: &mut HashMap<String, String>) -> Vec<String> {
    let path = substitute(&case.path, vars);
    let body = match (&case.body, &case.body_bytes) {
        (_, Some(bytes)) => Some(bytes.clone()),
        (Some(text), None) => Some(
            substitute(text, vars)
                .replace("{pad}", &"a".repeat(case.pad))
                .into_bytes(),
        ),
        (None, None) => None,
    };
    let content_type = case.content_type.clone().unwrap_or_else(|| {
        if body.is_some() {
            "application/json".to_owned()
        } else {
            String::new()
        }
    });
    let reply = env.call(
        &case.who,
        &case.method,
        &path,
        body.map(|b| (content_type.as_str(), b)),
    );
    let mut problems = Vec::new();
    if reply.status != case.status {
        problems.push(format!(
            "status {} (expected {})",
            reply.status, case.status
        ));
    }
    if let Some(code) = &case.code {
        let actual: Value = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
        if actual["error"]["code"].as_str() != Some(code) {
            problems.push(format!(
                "error code {} (expected {code})",
                actual["error"]["code"]
            ));
        }
        if actual["error"]["message"]
            .as_str()
            .is_none_or(str::is_empty)
        {
            problems.push("error without a message".to_owned());
        }
    }
    if let Some(expected) = &case.json {
        let expected = serde_json::to_value(expected).expect("toml to json");
        let expected: Value =
            serde_json::from_str(&substitute(&expected.to_string(), vars)).expect("json");
        match serde_json::from_str::<Value>(&reply.body) {
            Ok(actual) => matches(&expected, &actual, "", &mut problems),
            Err(e) => problems.push(format!("body is not JSON ({e})")),
        }
    }
    if let Some(ct) = &case.content_type_is
        && reply.header("content-type") != Some(ct.as_str())
    {
        problems.push(format!(
            "content-type {:?} (expected {ct})",
            reply.header("content-type")
        ));
    }
    if let Some(prefix) = &case.body_starts_with
        && !reply.body.starts_with(prefix.as_str())
    {
        problems.push(format!("body does not start with {prefix:?}"));
    }
    for needle in &case.body_contains {
        let needle = substitute(needle, vars);
        if !reply.body.contains(&needle) {
            problems.push(format!("body does not contain {needle:?}"));
        }
    }
    if !case.capture.is_empty() {
        let actual: Value = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
        for (name, pointer) in &case.capture {
            match actual.pointer(pointer).and_then(Value::as_str) {
                Some(value) => {
                    vars.insert(name.clone(), value.to_owned());
                }
                None => problems.push(format!("nothing to capture at {pointer}")),
            }
        }
    }
    if !problems.is_empty() {
        problems.push(format!("body: {}", truncate(&reply.body)));
    }
    problems
}

fn truncate(text: &str) -> String {
    text.chars().take(600).collect()
}

/// `expected` as a subset of `actual`: objects need the expected keys
/// (others may be present), arrays the same length unless the expected one
/// ends with `"..."` (then a prefix), and the strings `"$any"`,
/// `"$string"`, `"$number"`, `"$commit"` (40 hex digits) and `"$null"`
/// match by kind.
pub fn matches(expected: &Value, actual: &Value, at: &str, problems: &mut Vec<String>) {
    let mismatch = |problems: &mut Vec<String>| {
        problems.push(format!("at {at:?}: {actual} does not match {expected}"));
    };
    match expected {
        Value::String(s) if s.starts_with('$') => {
            let ok = match s.as_str() {
                "$any" => !actual.is_null(),
                "$string" => actual.is_string(),
                "$number" => actual.is_number(),
                "$null" => actual.is_null(),
                "$commit" => actual
                    .as_str()
                    .is_some_and(|c| c.len() == 40 && c.bytes().all(|b| b.is_ascii_hexdigit())),
                other => panic!("unknown matcher {other}"),
            };
            if !ok {
                mismatch(problems);
            }
        }
        Value::Object(map) => {
            let Some(actual_map) = actual.as_object() else {
                return mismatch(problems);
            };
            for (key, value) in map {
                match actual_map.get(key) {
                    Some(actual) => matches(value, actual, &format!("{at}/{key}"), problems),
                    None => problems.push(format!("at {at:?}: missing key {key:?}")),
                }
            }
        }
        Value::Array(items) => {
            let Some(actual_items) = actual.as_array() else {
                return mismatch(problems);
            };
            let prefix = items.last() == Some(&Value::String("...".into()));
            let items = if prefix {
                &items[..items.len() - 1]
            } else {
                &items[..]
            };
            if (prefix && actual_items.len() < items.len())
                || (!prefix && actual_items.len() != items.len())
            {
                return problems.push(format!(
                    "at {at:?}: {} items, expected {}{}",
                    actual_items.len(),
                    items.len(),
                    if prefix { " or more" } else { "" }
                ));
            }
            for (i, (e, a)) in items.iter().zip(actual_items).enumerate() {
                matches(e, a, &format!("{at}/{i}"), problems);
            }
        }
        Value::Number(n) => {
            if actual.as_f64() != n.as_f64() {
                mismatch(problems);
            }
        }
        other => {
            if other != actual {
                mismatch(problems);
            }
        }
    }
}
