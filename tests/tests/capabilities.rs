//! End-to-end checks of every host capability, against the real `llmos up`
//! running the probe component (`tests/manifests/probe`).
//!
//! Build the artifacts first (from the workspace root):
//!     cargo build --release -p llmos-host
//!     cargo build --target wasm32-wasip2 --release -p probe

use std::time::Duration;

use llmos_tests::{Host, HostConfig, ScratchApp, TestServer, poll, test_manifest};

fn probe() -> HostConfig {
    HostConfig::new(test_manifest("probe"))
}

#[test]
fn sqlite_rows_survive_a_graceful_restart_and_a_kill() {
    let host = probe().start();
    assert_eq!(host.post("/_/sqlite/put?k=color&v=blue", "").status, 200);

    let host = host.restart();
    let reply = host.get("/_/sqlite/get?k=color");
    assert_eq!((reply.status, reply.body.as_str()), (200, "blue"));

    assert_eq!(host.post("/_/sqlite/put?k=shape&v=round", "").status, 200);
    let host = host.kill_and_restart();
    let reply = host.get("/_/sqlite/get?k=shape");
    assert_eq!((reply.status, reply.body.as_str()), (200, "round"));
    assert!(
        host.data_dir().join("sqlite_db.db").is_file(),
        "the default database lives in the data dir"
    );
    let staged = std::fs::read_dir(host.data_dir().join("mounts"))
        .expect("mounts dir")
        .count();
    assert_eq!(staged, 1, "the killed host's staged files were cleaned up");
}

#[test]
fn unlisted_sqlite_database_is_access_denied() {
    let host = probe().start();
    let reply = host.get("/_/sqlite/open?db=analytics");
    assert_eq!(reply.status, 403);
    assert!(reply.body.contains("AccessDenied"), "{}", reply.body);
    assert_eq!(host.get("/_/sqlite/open?db=default").body, "ok");
}

#[test]
fn key_value_round_trip() {
    let host = probe().start();
    assert_eq!(host.put("/_/kv/fruit", "apple").status, 200);
    let reply = host.get("/_/kv/fruit");
    assert_eq!((reply.status, reply.body.as_str()), (200, "apple"));
    assert_eq!(host.get("/_/kv/keys").body, "fruit");
    assert_eq!(host.delete("/_/kv/fruit").status, 200);
    assert_eq!(host.get("/_/kv/fruit").status, 404);
    let denied = host.get("/_/kv/open?store=cache");
    assert_eq!(denied.status, 403);
    assert!(denied.body.contains("AccessDenied"), "{}", denied.body);
    assert!(host.data_dir().join("sqlite_key_value.db").is_file());
}

#[test]
fn variables_come_from_spin_and_familiar_environment_names() {
    let host = probe()
        .env("SPIN_VARIABLE_GREETING", "hi")
        .env("LLMOS_LLM_MODEL", "model-from-familiar-name")
        .env("ANTHROPIC_API_KEY", "sk-test")
        .start();
    assert_eq!(host.get("/_/var/greeting").body, "hi, world");
    assert_eq!(host.get("/_/var/model").body, "model-from-familiar-name");
    assert_eq!(host.get("/_/var/api_key").body, "sk-test");
    assert_eq!(host.get("/_/var/nope").status, 404);
    assert_eq!(host.get("/_/var/Bad-Name").status, 400);
    assert_eq!(host.get("/_/env/PROBE_MODE").body, "test");
}

#[test]
fn defaults_apply_without_providers() {
    let host = probe().start();
    assert_eq!(host.get("/_/var/greeting").body, "hello, world");
    assert_eq!(host.get("/_/var/model").body, "default-model");
    // A variable with neither value nor default fails only when read.
    let unset = host.get("/_/var/optional");
    assert_eq!(unset.status, 500);
    assert!(unset.body.contains("Provider"), "{}", unset.body);
}

#[test]
fn generated_admin_token_is_printed_kept_and_reused() {
    let host = probe().start();
    let printed = host
        .printed_admin_token()
        .expect("the workbench URL with the token is printed");
    assert_eq!(host.get("/_/var/token").body, printed);
    let stored = std::fs::read_to_string(host.data_dir().join("admin_token")).expect("token file");
    assert_eq!(stored.trim(), printed);
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(host.data_dir().join("admin_token"))
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(
        !host.stderr().contains(&printed),
        "the token must not appear in log lines"
    );
    let host = host.restart();
    assert_eq!(
        host.printed_admin_token().as_deref(),
        Some(printed.as_str())
    );
}

#[test]
fn admin_token_from_the_environment_wins() {
    let host = probe().env("LLMOS_ADMIN_TOKEN", "env-admin-token").start();
    assert_eq!(
        host.printed_admin_token().as_deref(),
        Some("env-admin-token")
    );
    assert_eq!(host.get("/_/var/token").body, "env-admin-token");
    assert!(!host.data_dir().join("admin_token").exists());
}

#[test]
fn outbound_http_reaches_allowed_hosts_only() {
    let upstream = TestServer::start(200, "upstream says hi");
    let host = probe()
        .env("SPIN_VARIABLE_UPSTREAM_PORT", upstream.port().to_string())
        .start();

    let allowed = host.get(&format!(
        "/_/outbound?url=http://127.0.0.1:{}/allowed",
        upstream.port()
    ));
    assert_eq!(allowed.body, "200 upstream says hi");
    assert_eq!(upstream.paths(), ["/allowed"]);

    // Same server, but under a name the manifest does not list: refused
    // without any connection being made.
    let denied = host.get(&format!(
        "/_/outbound?url=http://localhost:{}/denied",
        upstream.port()
    ));
    assert_eq!(denied.status, 502);
    assert!(denied.body.contains("HttpRequestDenied"), "{}", denied.body);
    assert_eq!(upstream.hits(), 1, "the denied request never left the host");
}

#[test]
fn service_chaining_reaches_listed_components_only() {
    let host = probe().start();
    let reply = host.get("/_/outbound?url=http://peer.spin.internal/_/whoami");
    assert_eq!(reply.body, "200 peer");

    // The private component is not routable from outside.
    let echo = host.get("/_/whoami");
    assert_eq!(echo.body, "probe");

    // Chaining headers: a synthetic `/...` match on the callee.
    let chained = host.get("/_/outbound?url=http://peer.spin.internal/some/path%3Fq");
    assert!(chained.body.starts_with("200 "), "{}", chained.body);
    let echo: serde_json::Value =
        serde_json::from_str(&chained.body[4..]).expect("echo JSON from the peer");
    assert_eq!(echo["component"], "peer");
    assert_eq!(echo["headers"]["spin-matched-route"], "/...");
    assert_eq!(echo["headers"]["spin-path-info"], "/some/path");
    assert_eq!(echo["headers"]["spin-client-addr"], "0.0.0.0:0");

    // `probe` itself is not in its allowed_outbound_hosts.
    let denied = host.get("/_/outbound?url=http://probe.spin.internal/_/whoami");
    assert!(denied.body.contains("HttpRequestDenied"), "{}", denied.body);
}

#[test]
fn files_mount_is_readable_and_not_writable() {
    let host = probe().start();
    let read = host.get("/_/file/read?path=/data/hello.txt");
    assert_eq!(read.body.trim(), "hello from a mounted file");
    assert_eq!(
        host.get("/_/file/read?path=/extra/note.txt").body.trim(),
        "extra file"
    );
    assert_eq!(
        host.get("/_/file/list?path=/data").body,
        "hello.txt",
        "exclude_files hides assets/hidden.skip"
    );
    let write = host.get("/_/file/write?path=/data/hello.txt");
    assert_eq!(write.status, 403, "{}", write.body);
    let again = host.get("/_/file/read?path=/data/hello.txt");
    assert_eq!(again.body.trim(), "hello from a mounted file");
    let outside = host.get("/_/file/read?path=/etc/passwd");
    assert_eq!(outside.status, 404);
}

#[test]
fn infinite_loop_gets_500_while_other_requests_are_served() {
    let host = probe().arg("--deadline").arg("3s").start();
    std::thread::scope(|scope| {
        let spinning = scope.spawn(|| host.get("/_/spin"));
        // While the loop runs, other requests keep being answered.
        for _ in 0..5 {
            assert_eq!(host.get("/_/health").body, "ok");
        }
        let reply = spinning.join().expect("request thread");
        assert_eq!(reply.status, 500);
        assert_eq!(reply.json()["error"]["code"], "deadline-exceeded");
    });
    assert_eq!(host.get("/_/health").status, 200);
}

#[test]
fn memory_bomb_traps_without_taking_the_host_down() {
    let mut host = probe().arg("--max-memory").arg("64MiB").start();
    let reply = host.get("/_/bomb");
    assert_eq!(reply.status, 500);
    assert_eq!(reply.json()["error"]["code"], "component-failed");
    assert!(host.is_running());
    assert_eq!(host.get("/_/health").body, "ok");
}

#[test]
fn bodies_over_the_cap_get_413() {
    let host = probe().arg("--max-body").arg("1KiB").start();
    let small = host.post("/_/body", vec![b'x'; 1000]);
    assert_eq!((small.status, small.body.as_str()), (200, "1000"));

    let declared = host.post("/_/body", vec![b'x'; 4096]);
    assert_eq!(declared.status, 413);
    assert_eq!(declared.json()["error"]["code"], "payload-too-large");

    // Without a content-length the body is streamed and cut at the cap.
    let chunked = host.post(
        "/_/body",
        reqwest::blocking::Body::new(std::io::Cursor::new(vec![b'x'; 4096])),
    );
    assert_eq!(chunked.status, 413);
    assert_eq!(chunked.json()["error"]["code"], "payload-too-large");
}

#[test]
fn unmatched_paths_get_404() {
    let app = ScratchApp::new(
        r#"
spin_manifest_version = 2
[application]
name = "narrow"
[[trigger.http]]
route = "/only"
component = "probe"
[component.probe]
source = "{probe}"
"#,
    );
    let host = Host::start(app.manifest());
    assert_eq!(host.get("/only").status, 200);
    let missing = host.get("/elsewhere");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["error"]["code"], "not-found");
}

#[test]
fn cron_trigger_runs_the_component_on_schedule() {
    let app = ScratchApp::new(
        r#"
spin_manifest_version = 2
[application]
name = "cron"
[[trigger.http]]
route = "/..."
component = "probe"
[[trigger.cron]]
component = "probe"
cron_expression = "* * * * * *"
[component.probe]
source = "{probe}"
sqlite_databases = ["default"]
"#,
    );
    let host = Host::start(app.manifest());
    let ticks = poll(Duration::from_secs(30), || {
        let count: i64 = host.get("/_/cron/ticks").body.parse().ok()?;
        (count >= 2).then_some(count)
    });
    assert!(
        ticks.is_some(),
        "the cron trigger never ran twice:\n{}",
        host.stderr()
    );
}

#[test]
fn stats_flag_reports_instantiation_time() {
    let host = probe().arg("--stats").start();
    let reply = host.get("/_/health");
    let micros = reply.header("llmos-instantiate-us").expect("stats header");
    assert!(micros.parse::<u64>().is_ok(), "{micros}");
    let plain = probe().start();
    assert!(
        plain
            .get("/_/health")
            .header("llmos-instantiate-us")
            .is_none()
    );
}

#[test]
fn relative_urls_reach_the_app_itself_when_self_is_allowed() {
    let host = probe().start();
    let reply = host.get("/_/outbound?url=/_/whoami");
    assert_eq!(reply.body, "200 probe");
    let explicit = host.get("/_/outbound?url=http://self.alt/_/whoami");
    assert_eq!(explicit.body, "200 probe");

    let app = ScratchApp::new(
        r#"
spin_manifest_version = 2
[application]
name = "no-self"
[[trigger.http]]
route = "/..."
component = "probe"
[component.probe]
source = "{probe}"
"#,
    );
    let host = Host::start(app.manifest());
    let denied = host.get("/_/outbound?url=/_/whoami");
    assert!(denied.body.contains("HttpRequestDenied"), "{}", denied.body);
}

#[test]
fn runtime_config_file_defines_extra_databases() {
    let app = ScratchApp::new(
        r#"
spin_manifest_version = 2
[application]
name = "extra-db"
[[trigger.http]]
route = "/..."
component = "probe"
[component.probe]
source = "{probe}"
sqlite_databases = ["default", "analytics"]
"#,
    );
    app.write(
        "runtime-config.toml",
        "[sqlite_database.analytics]\ntype = \"spin\"\npath = \"analytics.db\"\n",
    );
    let host = HostConfig::new(app.manifest())
        .arg("--runtime-config-file")
        .arg(app.dir().join("runtime-config.toml").to_string_lossy())
        .start();
    assert_eq!(host.get("/_/sqlite/open?db=analytics").body, "ok");
    assert_eq!(host.get("/_/sqlite/open?db=default").body, "ok");
    let unknown = host.get("/_/sqlite/open?db=reports");
    assert!(unknown.body.contains("AccessDenied"), "{}", unknown.body);
}

#[test]
fn every_sqlite_open_behaves_like_a_fresh_connection() {
    let host = probe().start();
    // Connection-level state set by one request must not reach the next,
    // even though the host pools connections.
    let default = host.post("/_/sqlite/exec", "PRAGMA foreign_keys").json()["rows"].clone();
    let flipped = if default == serde_json::json!([[1]]) {
        "OFF"
    } else {
        "ON"
    };
    for _ in 0..3 {
        let pragma = host.post("/_/sqlite/exec", "PRAGMA foreign_keys");
        assert_eq!(pragma.json()["rows"], default, "{}", pragma.body);
        let set = host.post("/_/sqlite/exec", format!("PRAGMA foreign_keys = {flipped}"));
        assert_eq!(set.status, 200);
        let temp = host.post("/_/sqlite/exec", "CREATE TEMP TABLE scratch (x)");
        assert_eq!(temp.status, 200, "{}", temp.body);
    }
    // A transaction left open by one request is not seen by the next.
    assert_eq!(
        host.post("/_/sqlite/exec", "CREATE TABLE IF NOT EXISTS t (x)")
            .status,
        200
    );
    assert_eq!(host.post("/_/sqlite/exec", "BEGIN").status, 200);
    let count = host.post("/_/sqlite/exec", "SELECT count(*) FROM t");
    assert_eq!(count.json()["rows"], serde_json::json!([[0]]));
    let begin_again = host.post("/_/sqlite/exec", "BEGIN");
    assert_eq!(
        begin_again.status, 200,
        "a fresh connection has no open transaction"
    );
}
