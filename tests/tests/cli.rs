//! The `llmos` subcommands besides `up`: `token create` and `build`, and the
//! build-before-start of `up`.
//!
//! Build the artifacts first (from the workspace root):
//!     cargo build --release -p llmos-host
//!     cargo build --target wasm32-wasip2 --release -p probe

use llmos_tests::{HostConfig, ScratchApp, run_llmos};

/// An app whose `/auth/tokens` is served by the probe's stand-in for the
/// auth component (it checks the admin token it receives as `token`).
fn auth_app() -> ScratchApp {
    ScratchApp::new(
        r#"
spin_manifest_version = 2
[application]
name = "auth"
[variables]
admin_token = { required = true, secret = true }
[[trigger.http]]
route = "/auth/..."
component = "auth"
[component.auth]
source = "{probe}"
[component.auth.variables]
token = "{{ admin_token }}"
"#,
    )
}

fn token_create(app: &ScratchApp, data: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let manifest = app.manifest();
    let mut args = vec![
        "token",
        "create",
        "--from",
        manifest.to_str().expect("utf-8 path"),
        "--data-dir",
        data.to_str().expect("utf-8 path"),
    ];
    args.extend_from_slice(extra);
    run_llmos(&args, &[])
}

#[test]
fn token_create_posts_to_the_auth_route_with_the_admin_token() {
    let app = auth_app();
    let data = tempfile::tempdir().expect("data dir");
    let output = token_create(
        &app,
        data.path(),
        &[
            "--user", "alice", "--team", "red", "--team", "blue", "--role", "admin",
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "token create failed:\n{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "tok-alice-red+blue-admin"
    );
    assert!(
        data.path().join("admin_token").is_file(),
        "the admin token was generated in the data dir"
    );

    // The same data dir keeps the same admin token, so a running host and
    // later commands agree.
    let again = token_create(&app, data.path(), &["--user", "bob"]);
    assert!(again.status.success());
    assert_eq!(
        String::from_utf8_lossy(&again.stdout).trim(),
        "tok-bob--user"
    );
}

#[test]
fn harness_issues_tokens_for_a_running_host() {
    let app = auth_app();
    let host = HostConfig::new(app.manifest()).start();
    let token = host.create_token("carol", &["green"], "user");
    assert_eq!(token, "tok-carol-green-user");
    // The running host and the command share the generated admin token.
    let admin = host.printed_admin_token().expect("printed token");
    let direct = host
        .request(reqwest::Method::POST, "/auth/tokens")
        .bearer_auth(&admin)
        .body(r#"{"user_id":"dan","team_ids":[],"role":"user"}"#)
        .send()
        .expect("request");
    assert_eq!(direct.status(), 201);
}

#[test]
fn token_create_explains_a_rejection() {
    let app = ScratchApp::new(
        r#"
spin_manifest_version = 2
[application]
name = "auth"
[variables]
admin_token = { required = true, secret = true }
[[trigger.http]]
route = "/auth/..."
component = "auth"
[component.auth]
source = "{probe}"
[component.auth.variables]
token = "not-the-admin-token"
"#,
    );
    let data = tempfile::tempdir().expect("data dir");
    let output = token_create(&app, data.path(), &["--user", "alice"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/auth/tokens answered 401"), "{stderr}");
}

#[test]
fn build_runs_each_component_command_in_the_manifest_dir() {
    let app = ScratchApp::new(
        r#"
spin_manifest_version = 2
[application]
name = "built"
[[trigger.http]]
route = "/..."
component = "app"
[component.app]
source = "out/app.wasm"
[component.app.build]
command = ["mkdir -p out", "cp '{probe}' out/app.wasm"]
watch = ["src/*.txt"]
[component.nobuild]
source = "{probe}"
"#,
    );
    let manifest = app.manifest();
    let output = run_llmos(&["build", "--from", manifest.to_str().expect("utf-8")], &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("Building component app"), "{stdout}");
    assert!(stdout.contains("nobuild: no build command"), "{stdout}");
    assert!(app.dir().join("out/app.wasm").is_file());

    let failing = ScratchApp::new(
        r#"
spin_manifest_version = 2
[application]
name = "broken"
[component.app]
source = "app.wasm"
[component.app.build]
command = "echo compiling; exit 7"
"#,
    );
    let manifest = failing.manifest();
    let output = run_llmos(&["build", "--from", manifest.to_str().expect("utf-8")], &[]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("build command for component \"app\" failed"),
        "{stderr}"
    );
}

#[test]
fn up_builds_a_component_whose_source_is_missing() {
    let app = ScratchApp::new(
        r#"
spin_manifest_version = 2
[application]
name = "autobuild"
[[trigger.http]]
route = "/..."
component = "app"
[component.app]
source = "out/app.wasm"
[component.app.build]
command = "mkdir -p out && cp '{probe}' out/app.wasm"
"#,
    );
    let host = HostConfig::new(app.manifest()).with_build().start();
    assert_eq!(host.get("/_/health").body, "ok");
    assert!(host.stdout().contains("Building component app"));
}
