//! Components of compiled skills stored beside their files, through the
//! real host: uploads checked before anything is written (imports, world,
//! ports, provenance), served byte for byte with revalidation, carried by
//! promotion, rollback and deletion, cloned by stock git, imported with
//! the shipped system skills, built by a builder service whose errors
//! reach the client unchanged, and components the size of a Python one.
//!
//! The builder here is a loopback stand-in answering as the builder
//! service does. Build the artifacts first (from the workspace root):
//!     cargo build --release -p llmos-host
//!     cargo build --target wasm32-wasip2 --release -p auth -p skills
//! (the `skill-square` fixture component is built by the tests).

mod skills_components_support;
#[path = "../cases/skills/support.rs"]
mod support;

use std::collections::HashMap;
use std::time::Instant;

use llmos_core::skill::component::{
    Language, Provenance, SKILL_WORLD, sha256_hex, source_digest, with_provenance,
};
use serde_json::{Value, json};
use skills_components_support::{
    BuildAnswer, SQUARE_CODE, StandInBuilder, builder_app, importing, padded, ship, square_skill,
    square_wasm,
};
use support::{Env, git, git_ok};

/// `component` with a provenance naming the source of the skill file
/// `text`.
fn built_from(component: &[u8], text: &str) -> Vec<u8> {
    let skill = llmos_core::skill::parse(None, text).expect("fixture skill parses");
    let provenance = Provenance {
        skill_id: skill.id().to_string(),
        source_sha256: source_digest(&skill).expect("compiled"),
        language: Language::Rust,
        toolchain: "rustc 1.95.0".into(),
        world: SKILL_WORLD.into(),
    };
    with_provenance(component, &provenance).expect("a component")
}

/// A response with its body as bytes.
struct Raw {
    status: u16,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

fn get_raw(env: &Env, who: &str, path: &str, headers: &[(&str, &str)]) -> Raw {
    let mut request = env.host.request(reqwest::Method::GET, path);
    if let Some(token) = env.token(who) {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().expect("request");
    let status = response.status().as_u16();
    let headers = llmos_tests::response_headers(&response);
    let body = response.bytes().expect("body").to_vec();
    Raw {
        status,
        headers,
        body,
    }
}

fn put_component(env: &Env, who: &str, path: &str, bytes: Vec<u8>) -> llmos_tests::Reply {
    env.call(who, "PUT", path, Some(("application/wasm", bytes)))
}

fn markdown(env: &Env, who: &str, method: &str, path: &str, text: &str) -> llmos_tests::Reply {
    env.call(
        who,
        method,
        path,
        Some(("text/markdown", text.as_bytes().to_vec())),
    )
}

fn error_code(reply: &llmos_tests::Reply) -> String {
    reply.json()["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Commit ids and messages of a skill's history, newest first.
fn skill_history(env: &Env, volume: &str, id: &str) -> Vec<(String, String)> {
    let reply = env.get("alice", &format!("/skills/{id}/history?volume={volume}"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["commits"]
        .as_array()
        .expect("commits")
        .iter()
        .map(|c| {
            (
                c["commit"].as_str().expect("id").to_owned(),
                c["message"].as_str().expect("message").to_owned(),
            )
        })
        .collect()
}

/// The skill's summary in a listing of `volume`.
fn summary(env: &Env, volume: &str, id: &str) -> Value {
    let reply = env.get("alice", &format!("/skills?volume={volume}"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["skills"]
        .as_array()
        .expect("skills")
        .iter()
        .find(|s| s["skill_id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("{id} is not listed in {volume}"))
}

fn component_of(env: &Env, volume: &str, id: &str) -> Value {
    let reply = env.get("alice", &format!("/skills/{id}?volume={volume}"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["component"].clone()
}

#[test]
fn uploads_are_checked_then_served_promoted_rolled_back_deleted_and_cloned() {
    let square = square_wasm();
    let source = square_skill(SQUARE_CODE);
    let app = builder_app();
    // Shipped system skills with the components a build put beside them:
    // one built from the file as it is, one from an older version.
    let shipped = square_skill(SQUARE_CODE).replace("skill_id: square", "skill_id: sys-square");
    let shipped_wasm = built_from(&square, &shipped);
    ship(&app, "sys-square.md", shipped.as_bytes());
    ship(&app, "sys-square.wasm", &shipped_wasm);
    let edited = shipped.replace("skill_id: sys-square", "skill_id: old-square");
    ship(
        &app,
        "old-square.md",
        edited.replace("x * x", "x.powi(2)").as_bytes(),
    );
    ship(&app, "old-square.wasm", &built_from(&square, &edited));
    // No builder: `llmos up` starts one unless told not to.
    let env = Env::start_app(app, |config| config.arg("--no-builder"));

    let system = component_of(&env, "system", "sys-square");
    assert_eq!(system["state"], "fresh", "{system}");
    assert_eq!(system["sha256"], sha256_hex(&shipped_wasm));
    assert_eq!(system["toolchain"], "rustc 1.95.0");
    assert_eq!(component_of(&env, "system", "old-square"), Value::Null);
    assert!(
        env.host
            .stderr()
            .contains("not importing skills/old-square.wasm"),
        "{}",
        env.host.stderr()
    );
    let served = get_raw(
        &env,
        "bob",
        "/skills/sys-square/component?volume=system",
        &[],
    );
    assert_eq!((served.status, served.body == shipped_wasm), (200, true));

    // A compiled skill without a component.
    let created = markdown(&env, "alice", "POST", "/skills?volume=users/alice", &source);
    assert_eq!(created.status, 201, "{}", created.body);
    let c1 = created.json()["commit"]
        .as_str()
        .expect("commit")
        .to_owned();
    let listed = summary(&env, "users/alice", "square");
    assert_eq!(
        (&listed["compiled"], &listed["component"]),
        (&json!(true), &json!("missing"))
    );
    assert_eq!(component_of(&env, "users/alice", "square"), Value::Null);
    let none = env.get("alice", "/skills/square/component");
    assert_eq!(
        (none.status, error_code(&none)),
        (404, "component-not-built".into())
    );
    let build = env.call("alice", "POST", "/skills/square/build", None);
    assert_eq!(
        (build.status, error_code(&build)),
        (503, "builder-not-configured".into())
    );

    // Rejected uploads write nothing.
    let cube = source
        .replace("skill_id: square", "skill_id: cube")
        .replace("name: y", "name: z");
    assert_eq!(
        markdown(&env, "alice", "POST", "/skills", &cube).status,
        201
    );
    let notes = json!({"skill_id": "notes", "name": "Notes", "category": "c",
                       "description": "Context.", "content": "Text."});
    assert_eq!(env.json("alice", "POST", "/skills", &notes).status, 201);
    let before = env.snapshot();
    for (interface, function) in [
        ("wasi:filesystem/preopens@0.2.0", "get-directories"),
        ("wasi:sockets/tcp@0.2.0", "connect"),
    ] {
        let reply = put_component(
            &env,
            "alice",
            "/skills/square/component",
            importing(interface, function),
        );
        assert_eq!(reply.status, 422, "{}", reply.body);
        let error = &reply.json()["error"];
        assert_eq!(error["code"], "component-import-refused", "{error}");
        assert_eq!(error["import"], interface, "{error}");
    }
    let not_wasm = put_component(&env, "alice", "/skills/square/component", b"hello".to_vec());
    assert_eq!(
        (not_wasm.status, error_code(&not_wasm)),
        (422, "component-invalid".into())
    );
    let mismatch = put_component(&env, "alice", "/skills/cube/component", square.clone());
    assert_eq!(mismatch.status, 422, "{}", mismatch.body);
    assert_eq!(mismatch.json()["error"]["code"], "component-ports-mismatch");
    assert_eq!(mismatch.json()["error"]["port"], "z");
    let stale = built_from(&square, &square_skill("fn execute(x: f64) -> f64 { x }"));
    let stale = put_component(&env, "alice", "/skills/square/component", stale);
    assert_eq!(
        (stale.status, error_code(&stale)),
        (409, "component-stale".into())
    );
    let context = put_component(&env, "alice", "/skills/notes/component", square.clone());
    assert_eq!(
        (context.status, error_code(&context)),
        (422, "skill-not-compiled".into())
    );
    let missing = put_component(&env, "alice", "/skills/nothing/component", square.clone());
    assert_eq!(missing.status, 404);
    let foreign = put_component(
        &env,
        "bob",
        "/skills/square/component?volume=users/alice",
        square.clone(),
    );
    assert_eq!(foreign.status, 403);
    let typed = env.call(
        "alice",
        "PUT",
        "/skills/square/component",
        Some(("text/plain", square.clone())),
    );
    assert_eq!(typed.status, 415);
    assert_eq!(env.snapshot(), before, "rejected uploads commit nothing");

    // An upload without provenance: unknown, runnable because checked.
    let uploaded = put_component(&env, "alice", "/skills/square/component", square.clone());
    assert_eq!(uploaded.status, 200, "{}", uploaded.body);
    let answer = uploaded.json();
    assert_eq!(answer["status"], "uploaded");
    assert_eq!(answer["component"]["state"], "unknown");
    assert_eq!(answer["component"]["runnable"], true);
    assert_eq!(answer["component"]["sha256"], sha256_hex(&square));
    assert_eq!(answer["component"]["path"], "skills/square.wasm");
    assert_eq!(answer["component"]["language"], "rust");
    let c2 = answer["commit"].as_str().expect("commit").to_owned();
    let history = skill_history(&env, "users/alice", "square");
    assert_eq!(
        history[0],
        (
            c2.clone(),
            format!(
                "Upload component of skill square (sha256 {})",
                &sha256_hex(&square)[..12]
            )
        )
    );
    assert_eq!(history[1].0, c1);
    assert_eq!(
        summary(&env, "users/alice", "square")["component"],
        "unknown"
    );

    // Served byte for byte, revalidated without a body.
    let served = get_raw(&env, "alice", "/skills/square/component", &[]);
    assert_eq!(served.status, 200);
    assert!(served.body == square, "the bytes come back unchanged");
    let tag = format!("\"{}\"", sha256_hex(&square));
    assert_eq!(served.headers["content-type"], "application/wasm");
    assert_eq!(served.headers["etag"], tag);
    assert_eq!(served.headers["x-component-sha256"], sha256_hex(&square));
    assert_eq!(served.headers["x-skill-volume"], "users/alice");
    assert_eq!(served.headers["x-skill-commit"], c2);
    let revalidated = get_raw(
        &env,
        "alice",
        "/skills/square/component",
        &[("if-none-match", &tag)],
    );
    assert_eq!((revalidated.status, revalidated.body.len()), (304, 0));
    let at_c1 = env.get("alice", &format!("/skills/square/component?commit={c1}"));
    assert_eq!(
        (at_c1.status, error_code(&at_c1)),
        (404, "component-not-built".into())
    );
    let at_c2 = get_raw(
        &env,
        "alice",
        &format!("/skills/square/component?volume=users/alice&commit={c2}"),
        &[],
    );
    assert!(at_c2.status == 200 && at_c2.body == square);
    assert_eq!(at_c2.headers["x-skill-commit"], c2);

    // A component built from the file: fresh.
    let fresh = built_from(&square, &source);
    let reply = put_component(&env, "alice", "/skills/square/component", fresh.clone());
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["component"]["state"], "fresh");
    assert_eq!(
        reply.json()["component"]["source_sha256"],
        source_digest(&llmos_core::skill::parse(None, &source).unwrap()).unwrap()
    );
    let c3 = reply.json()["commit"].as_str().expect("commit").to_owned();

    // Promotion shares both blobs with the team.
    let promoted = env.json(
        "alice",
        "POST",
        "/skills/promote",
        &json!({"user_id": "alice", "team_id": "core", "skill_id": "square", "reason": "useful"}),
    );
    assert_eq!(promoted.status, 200, "{}", promoted.body);
    let team = component_of(&env, "teams/core", "square");
    let mine = component_of(&env, "users/alice", "square");
    assert_eq!(
        (&team["blob"], &team["state"]),
        (&mine["blob"], &json!("fresh"))
    );
    let served = get_raw(
        &env,
        "alice",
        "/skills/square/component?volume=teams/core",
        &[],
    );
    assert!(served.status == 200 && served.body == fresh);

    // Editing the code makes the component stale; rolling back brings the
    // pair back as it was, or takes the component away with it.
    let recoded = square_skill("fn execute(x: f64) -> f64 { x.powi(2) }");
    assert_eq!(
        markdown(&env, "alice", "PUT", "/skills/square", &recoded).status,
        200
    );
    let stale = component_of(&env, "users/alice", "square");
    assert_eq!(
        (&stale["state"], &stale["runnable"]),
        (&json!("stale"), &json!(false))
    );
    assert_eq!(summary(&env, "users/alice", "square")["component"], "stale");
    let rollback = |commit: &str| {
        let reply = env.json(
            "alice",
            "POST",
            "/skills/square/rollback",
            &json!({"volume": "users/alice", "commit": commit}),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()["commit"].as_str().expect("commit").to_owned()
    };
    rollback(&c3);
    assert_eq!(
        component_of(&env, "users/alice", "square")["state"],
        "fresh"
    );
    let raw = env.get("alice", "/skills/square/raw?volume=users/alice");
    assert_eq!(raw.body, source);
    let before_rollback = env.commits("users/alice").len();
    rollback(&c1);
    assert_eq!(
        env.commits("users/alice").len(),
        before_rollback + 1,
        "one commit"
    );
    assert_eq!(component_of(&env, "users/alice", "square"), Value::Null);
    let gone = env.get("alice", "/skills/square/component?volume=users/alice");
    assert_eq!(gone.status, 404);
    let history = skill_history(&env, "users/alice", "square");
    assert_eq!(
        history[0].1,
        format!("Roll back skill square to {}", &c1[..12])
    );
    rollback(&c3);

    // Stock git clones the component byte for byte.
    let work = tempfile::tempdir().expect("work dir");
    let token = env.token("alice");
    git_ok(
        work.path(),
        token.as_deref(),
        &["clone", "-q", &env.git_url("users/alice"), "alice"],
    );
    let repo = work.path().join("alice");
    let cloned = std::fs::read(repo.join("skills/square.wasm")).expect("cloned component");
    assert!(cloned == fresh, "the clone has the same bytes");
    let fsck = git(&repo, None, &["fsck", "--strict", "--no-dangling"]);
    assert!(
        fsck.status.success(),
        "{}",
        String::from_utf8_lossy(&fsck.stderr)
    );

    // Deleting the skill deletes its component, in one commit.
    let deleted = env.call("alice", "DELETE", "/skills/square?volume=users/alice", None);
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    git_ok(&repo, token.as_deref(), &["pull", "-q", "--ff-only"]);
    let changed = git_ok(
        &repo,
        None,
        &["show", "--name-status", "--format=%s", "HEAD"],
    );
    assert_eq!(
        changed.trim(),
        "Delete skill square\n\nD\tskills/square.md\nD\tskills/square.wasm"
    );
    let after = env.get("alice", "/skills/square/component?volume=users/alice");
    assert_eq!(after.status, 404);
}

#[test]
fn builds_commit_what_the_builder_returns_and_pass_its_errors_through() {
    let square = square_wasm();
    let source = square_skill(SQUARE_CODE);
    let builder = StandInBuilder::start();
    let url = builder.url();
    let env = Env::start_app(builder_app(), |config| {
        config.env("SPIN_VARIABLE_SKILL_BUILDER_URL", &url)
    });
    assert_eq!(
        markdown(&env, "alice", "POST", "/skills", &source).status,
        201
    );
    let notes = json!({"skill_id": "notes", "name": "Notes", "category": "c",
                       "description": "Context.", "content": "Text."});
    assert_eq!(env.json("alice", "POST", "/skills", &notes).status, 201);
    let build = |body: Option<Value>| match body {
        Some(body) => env.json("alice", "POST", "/skills/square/build", &body),
        None => env.call(
            "alice",
            "POST",
            "/skills/square/build?volume=users/alice",
            None,
        ),
    };

    let not_compiled = env.call("alice", "POST", "/skills/notes/build", None);
    assert_eq!(
        (not_compiled.status, error_code(&not_compiled)),
        (422, "skill-not-compiled".into())
    );
    assert!(
        builder.requests().is_empty(),
        "nothing to build is not sent"
    );

    // A compile error comes back exactly as the builder wrote it.
    let compile_error = json!({"error": {"code": "skill-compile-error",
        "message": "skills/square.md:16: mismatched types", "line": 16, "column": 30,
        "language": "rust", "output": "error[E0308]: mismatched types"}});
    let body = compile_error.to_string().into_bytes();
    builder.answer_with(move |_| BuildAnswer {
        status: 422,
        content_type: "application/json",
        body: body.clone(),
    });
    let before = env.snapshot();
    let refused = build(Some(json!({"volume": "users/alice"})));
    assert_eq!(refused.status, 422);
    assert_eq!(refused.json(), compile_error);
    let sent = builder.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].method.as_str(), sent[0].target.as_str()),
        ("POST", "/build")
    );
    assert_eq!(sent[0].header("x-skill-path"), Some("skills/square.md"));
    assert!(
        sent[0]
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/markdown"))
    );
    assert_eq!(sent[0].body, source.as_bytes());
    for status in [503, 504] {
        let busy = json!({"error": {"code": "builder-busy", "message": "try later"}});
        let body = busy.to_string().into_bytes();
        builder.answer_with(move |_| BuildAnswer {
            status,
            content_type: "application/json",
            body: body.clone(),
        });
        let reply = build(None);
        assert_eq!((reply.status, reply.json()), (status, busy));
    }

    // What the builder returns is checked like an upload.
    let cases: Vec<(Vec<u8>, &str, u16, &str)> = vec![
        (square.clone(), "application/wasm", 502, "builder-failed"),
        (
            built_from(
                &importing("wasi:filesystem/preopens@0.2.0", "get-directories"),
                &source,
            ),
            "application/wasm",
            422,
            "component-import-refused",
        ),
        (
            b"internal error".to_vec(),
            "text/plain",
            502,
            "builder-failed",
        ),
    ];
    for (bytes, content_type, status, code) in cases {
        builder.answer_with(move |_| BuildAnswer {
            status: if content_type == "text/plain" {
                500
            } else {
                200
            },
            content_type,
            body: bytes.clone(),
        });
        let reply = build(None);
        assert_eq!(
            (reply.status, error_code(&reply)),
            (status, code.to_owned()),
            "{}",
            reply.body
        );
    }
    assert_eq!(env.snapshot(), before, "failed builds commit nothing");

    // A good build is committed beside the file.
    let fresh = built_from(&square, &source);
    let bytes = fresh.clone();
    builder.answer_with(move |_| BuildAnswer {
        status: 200,
        content_type: "application/wasm",
        body: bytes.clone(),
    });
    let built = build(None);
    assert_eq!(built.status, 200, "{}", built.body);
    let answer = built.json();
    assert_eq!(answer["status"], "built");
    assert_eq!(answer["skill_id"], "square");
    assert_eq!(answer["volume"], "users/alice");
    assert_eq!(answer["component"]["state"], "fresh");
    assert_eq!(answer["component"]["toolchain"], "rustc 1.95.0");
    let history = skill_history(&env, "users/alice", "square");
    assert_eq!(history[0].0, answer["commit"]);
    assert_eq!(
        history[0].1,
        format!(
            "Build skill square (rust, sha256 {})",
            &sha256_hex(&fresh)[..12]
        )
    );
    let served = get_raw(&env, "alice", "/skills/square/component", &[]);
    assert!(served.status == 200 && served.body == fresh);

    // The file changes while the builder works: nothing is written.
    let host = env.host.url("/skills/square?volume=users/alice");
    let token = env.token("alice").expect("token");
    let recoded = square_skill("fn execute(x: f64) -> f64 { x * x * 1.0 }");
    let edit = recoded.clone();
    let bytes = fresh.clone();
    builder.answer_with(move |_| {
        let client = reqwest::blocking::Client::new();
        let reply = client
            .put(&host)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "text/markdown")
            .body(edit.clone())
            .send()
            .expect("concurrent edit");
        assert_eq!(reply.status().as_u16(), 200);
        BuildAnswer {
            status: 200,
            content_type: "application/wasm",
            body: bytes.clone(),
        }
    });
    let commits = env.commits("users/alice");
    let raced = build(None);
    assert_eq!(
        (raced.status, error_code(&raced)),
        (409, "skill-changed-during-build".into())
    );
    let after = env.commits("users/alice");
    assert_eq!(
        (after.len(), &after[1..]),
        (commits.len() + 1, &commits[..]),
        "only the edit landed"
    );
    assert_eq!(
        component_of(&env, "users/alice", "square")["state"],
        "stale"
    );

    // The builder is down.
    builder.stop();
    let down = build(None);
    assert_eq!(
        (down.status, error_code(&down)),
        (503, "builder-unavailable".into())
    );
}

#[test]
fn components_the_size_of_a_python_one_are_stored_served_and_cloned() {
    let source = square_skill(SQUARE_CODE);
    let big = built_from(&padded(&square_wasm(), 20 << 20), &source);
    // Bodies beyond the component cap reach the component (which answers
    // 413 itself) only with a larger body cap, and memory to read them.
    let env = Env::start_app(builder_app(), |config| {
        config
            .arg("--max-body")
            .arg("80MiB")
            .arg("--max-memory")
            .arg("512MiB")
    });
    assert_eq!(
        markdown(&env, "alice", "POST", "/skills", &source).status,
        201
    );
    let mut timings = Vec::new();
    let mut time =
        |what: &str, started: Instant| timings.push(format!("{what}: {:?}", started.elapsed()));

    let started = Instant::now();
    let uploaded = put_component(&env, "alice", "/skills/square/component", big.clone());
    time("upload of 20 MiB (checked, committed)", started);
    assert_eq!(uploaded.status, 200, "{}", uploaded.body);
    assert_eq!(uploaded.json()["component"]["size"], big.len());
    assert_eq!(uploaded.json()["component"]["state"], "fresh");

    let started = Instant::now();
    let served = get_raw(&env, "alice", "/skills/square/component", &[]);
    time("download", started);
    assert!(served.status == 200 && served.body == big);
    let tag = format!("\"{}\"", sha256_hex(&big));
    let started = Instant::now();
    let revalidated = get_raw(
        &env,
        "alice",
        "/skills/square/component",
        &[("if-none-match", &tag)],
    );
    time("revalidation (304)", started);
    assert_eq!(revalidated.status, 304);
    let started = Instant::now();
    assert_eq!(summary(&env, "users/alice", "square")["component"], "fresh");
    time("listing", started);

    let started = Instant::now();
    let promoted = env.json(
        "alice",
        "POST",
        "/skills/promote",
        &json!({"user_id": "alice", "team_id": "core", "skill_id": "square"}),
    );
    time("promotion", started);
    assert_eq!(promoted.status, 200, "{}", promoted.body);

    let work = tempfile::tempdir().expect("work dir");
    let token = env.token("alice");
    let started = Instant::now();
    git_ok(
        work.path(),
        token.as_deref(),
        &["clone", "-q", &env.git_url("users/alice"), "alice"],
    );
    time("git clone", started);
    let cloned = std::fs::read(work.path().join("alice/skills/square.wasm")).expect("cloned");
    assert!(cloned == big);

    let too_big = vec![0u8; llmos_core::skill::component::MAX_COMPONENT_BYTES + 1];
    let refused = put_component(&env, "alice", "/skills/square/component", too_big);
    assert_eq!(
        (refused.status, error_code(&refused)),
        (413, "component-too-large".into()),
        "{}",
        env.host.stderr()
    );
    eprintln!(
        "20 MiB component timings (this machine, debug test client):\n  {}",
        timings.join("\n  ")
    );
}
