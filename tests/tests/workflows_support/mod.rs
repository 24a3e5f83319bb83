//! Shared by the workflows end-to-end tests and benchmark: an app with the
//! auth, skills, workflows and web (for `/health`) components on the real
//! host (with a copy of the shipped system skills), users with tokens,
//! HTTP helpers, commits straight through the store, and a reader of
//! recorded traces from the app's database.
//!
//! Build the artifacts first (from the workspace root):
//!     cargo build --release -p llmos-host
//!     cargo build --target wasm32-wasip2 --release -p auth -p skills -p workflows -p web
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use llmos_core::ids::{PrincipalId, VolumeId};
use llmos_store::traces::TraceIndex;
use llmos_store::volume::CommitRequest;
use llmos_store::{GitTime, RusqliteExecutor, Signature, SqlStore, VolumePath, Volumes};
use llmos_tests::{Host, HostConfig, Reply, target_dir, workspace_root};
use serde_json::{Value, json};

/// The admin token the tests' host runs with.
pub const ADMIN: &str = "workflows-test-admin-token";

/// Every volume the tests write or try to write.
pub const VOLUMES: &[&str] = &[
    "system",
    "teams/core",
    "teams/other",
    "users/alice",
    "users/bob",
    "users/carol",
];

fn component(name: &str) -> PathBuf {
    let path = target_dir()
        .join("wasm32-wasip2")
        .join("release")
        .join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "{} is missing; build it first with:\n    \
         cargo build --release -p llmos-host && cargo build --target wasm32-wasip2 \
         --release -p auth -p skills -p workflows -p web",
        path.display()
    );
    path
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

/// A running app with tokens: alice and carol (team core), bob (team
/// other), and the admin.
pub struct Env {
    _dir: tempfile::TempDir,
    pub host: Host,
    pub tokens: HashMap<String, String>,
}

impl Env {
    pub fn start() -> Env {
        let dir = tempfile::tempdir().expect("app dir");
        std::fs::create_dir_all(dir.path().join("dist")).expect("dist dir");
        let manifest = format!(
            r#"spin_manifest_version = 2
[application]
name = "workflows-test"
[variables]
admin_token = {{ required = true, secret = true }}
skill_fuel = {{ default = "" }}
skill_memory_mib = {{ default = "" }}
[[trigger.http]]
route = "/health"
component = "web"
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
route = "/workflows/..."
component = "workflows"
[component.web]
source = {web:?}
files = [{{ source = "dist", destination = "/dist" }}]
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
[component.workflows]
source = {workflows:?}
sqlite_databases = ["default"]
[component.workflows.variables]
admin_token = "{{{{ admin_token }}}}"
skill_fuel = "{{{{ skill_fuel }}}}"
skill_memory_mib = "{{{{ skill_memory_mib }}}}"
"#,
            web = component("web").to_string_lossy(),
            auth = component("auth").to_string_lossy(),
            skills = component("skills").to_string_lossy(),
            workflows = component("workflows").to_string_lossy(),
        );
        std::fs::write(dir.path().join("spin.toml"), &manifest).expect("write spin.toml");
        copy_tree(
            &workspace_root().join("volumes/system"),
            &dir.path().join("volumes/system"),
        );
        let host = HostConfig::new(dir.path().join("spin.toml"))
            .env("LLMOS_ADMIN_TOKEN", ADMIN)
            .start();
        let mut env = Env {
            _dir: dir,
            host,
            tokens: HashMap::from([("admin".to_owned(), ADMIN.to_owned())]),
        };
        env.add_user("alice", &["core"]);
        env.add_user("carol", &["core"]);
        env.add_user("bob", &["other"]);
        // The skills component imports the shipped system skills on its
        // first request.
        let reply = env.get("alice", "/skills");
        assert_eq!(reply.status, 200, "{}", reply.body);
        env
    }

    pub fn add_user(&mut self, user: &str, teams: &[&str]) {
        let reply = self.json(
            "admin",
            "POST",
            "/auth/tokens",
            &json!({"user_id": user, "team_ids": teams, "role": "user"}),
        );
        assert_eq!(reply.status, 201, "{}", reply.body);
        let token = reply.json()["token"].as_str().expect("token").to_owned();
        self.tokens.insert(user.to_owned(), token);
    }

    /// One request as `who` (a user, `admin`, or `none` for no token).
    pub fn call(
        &self,
        who: &str,
        method: &str,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.host.request(method, path);
        if who != "none" {
            let token = self.tokens.get(who).unwrap_or_else(|| panic!("no {who}"));
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

    /// A request that must answer `status`; returns the JSON body.
    pub fn expect(&self, status: u16, who: &str, method: &str, path: &str, body: &Value) -> Value {
        let reply = if method == "GET" || method == "DELETE" {
            self.call(who, method, path, None)
        } else {
            self.json(who, method, path, body)
        };
        assert_eq!(
            reply.status, status,
            "{who} {method} {path}: {}",
            reply.body
        );
        reply.json()
    }

    /// Stores a skill file in `volume` as `who`; returns its commit.
    pub fn put_skill(&self, who: &str, volume: &str, file: &str) -> String {
        let id = file
            .lines()
            .find_map(|l| l.strip_prefix("skill_id: "))
            .expect("a skill_id line");
        let exists = self
            .get(who, &format!("/skills/{id}?volume={volume}"))
            .status
            == 200;
        let (method, path) = if exists {
            ("PUT", format!("/skills/{id}?volume={volume}"))
        } else {
            ("POST", format!("/skills?volume={volume}"))
        };
        let reply = self.call(
            who,
            method,
            &path,
            Some(("text/markdown", file.as_bytes().to_vec())),
        );
        assert!(
            reply.status == 200 || reply.status == 201,
            "{method} {path}: {}",
            reply.body
        );
        reply.json()["commit"].as_str().expect("commit").to_owned()
    }

    fn database(&self) -> RusqliteExecutor {
        RusqliteExecutor::open(self.host.data_dir().join("sqlite_db.db"))
            .expect("open the app's database")
    }

    /// Commits files (`(path, bytes)`) into `user`'s volume in one commit,
    /// straight through the store (as a `git push` would land them);
    /// returns the commit.
    pub fn commit_files(&self, user: &str, files: &[(&str, Vec<u8>)]) -> String {
        let db = self.database();
        let volumes = Volumes::new(SqlStore::new(&db));
        let email = format!("{user}@users.llmos.local");
        let author = Signature::new(user, &email, GitTime::utc(1_790_000_000));
        let mut request = CommitRequest::new(author, "Add files");
        for (path, bytes) in files {
            request = request.put(VolumePath::new(path).expect("a path"), bytes.clone());
        }
        let volume = VolumeId::User(PrincipalId::user(user).expect("user id"));
        volumes
            .commit(&volume, request)
            .expect("commit into the user's volume")
            .commit
            .to_string()
    }

    /// Every commit id of a volume, newest first.
    pub fn commits(&self, volume: &str) -> Vec<String> {
        let reply = self.get(
            "admin",
            &format!("/volumes/history?volume={volume}&limit=1000"),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()["commits"]
            .as_array()
            .expect("commits")
            .iter()
            .map(|c| c["commit"].as_str().expect("id").to_owned())
            .collect()
    }

    /// The commits of every test volume.
    pub fn snapshot(&self) -> BTreeMap<&'static str, Vec<String>> {
        VOLUMES.iter().map(|v| (*v, self.commits(v))).collect()
    }

    /// A recorded trace, read from the app's database and the user's
    /// volume (the traces API belongs to another component).
    pub fn trace(&self, trace_id: &str) -> Option<Value> {
        let db = self.database();
        let index = TraceIndex::new(&db);
        let row = index.get(trace_id).expect("read the trace index")?;
        let volumes = Volumes::new(SqlStore::new(&db));
        let trace = index.load(&volumes, &row).expect("load the trace");
        Some(serde_json::to_value(trace).expect("a trace serialises"))
    }

    /// Number of indexed traces of a user.
    pub fn trace_count(&self, user: &str) -> usize {
        let db = self.database();
        let user = llmos_core::ids::PrincipalId::user(user).expect("user id");
        let index = TraceIndex::new(&db);
        let mut count = 0;
        index
            .scan(
                &llmos_store::traces::TraceFilter {
                    user: Some(user),
                    ..Default::default()
                },
                100,
                |_| {
                    count += 1;
                    true
                },
            )
            .expect("scan traces");
        count
    }
}
