//! The app's platform routes through the real host running the real
//! `spin.toml`: `/health`, the web page and its caching, and identity
//! (`/auth/...`, bearer tokens and their storage).
//!
//! Build first: `./dev build` (host, components and frontend).
#![allow(clippy::unwrap_used)]

use std::path::Path;

use llmos_tests::{Host, HostConfig, app_manifest};
use serde_json::json;

const ADMIN: &str = "admin-token-for-platform-tests-0123456789";

fn start() -> Host {
    HostConfig::new(app_manifest())
        .env("LLMOS_ADMIN_TOKEN", ADMIN)
        .start()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn get_as(host: &Host, path: &str, token: &str) -> llmos_tests::Reply {
    host.request(reqwest::Method::GET, path)
        .header("authorization", bearer(token))
        .send()
        .into()
}

fn post_json_as(
    host: &Host,
    path: &str,
    token: &str,
    body: &serde_json::Value,
) -> llmos_tests::Reply {
    host.request(reqwest::Method::POST, path)
        .header("authorization", bearer(token))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .into()
}

fn assert_error(reply: &llmos_tests::Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(
        reply.header("content-type"),
        Some("application/json"),
        "{}",
        reply.body
    );
    let body = reply.json();
    assert_eq!(body["error"]["code"], code, "{}", reply.body);
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{}",
        reply.body
    );
}

#[test]
fn health_answers_without_a_token() {
    let host = start();
    let reply = host.get("/health");
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn the_page_is_served_with_etags_and_client_routes() {
    let host = start();
    let page = host.get("/");
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .is_some_and(|t| t.starts_with("text/html")),
        "{:?}",
        page.headers
    );
    assert!(page.body.contains("llmos_frontend.js"), "{}", page.body);
    let etag = page
        .header("etag")
        .expect("the page has an ETag")
        .to_owned();

    let again: llmos_tests::Reply = host
        .request(reqwest::Method::GET, "/")
        .header("if-none-match", &etag)
        .send()
        .into();
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());

    let other: llmos_tests::Reply = host
        .request(reqwest::Method::GET, "/")
        .header("if-none-match", "\"something-else\"")
        .send()
        .into();
    assert_eq!(other.status, 200);

    let wasm = host.get("/pkg/llmos_frontend_bg.wasm");
    assert_eq!(wasm.status, 200);
    assert_eq!(wasm.header("content-type"), Some("application/wasm"));

    let css = host.get("/style.css");
    assert!(
        css.header("content-type")
            .is_some_and(|t| t.starts_with("text/css"))
    );

    // A client-side route gets the page; files and API paths do not.
    let route = host.get("/workflows-view/editor");
    assert_eq!(route.status, 200);
    assert!(route.body.contains("llmos_frontend.js"));
    assert_error(&host.get("/missing.js"), 404, "not-found");
    assert_error(&host.get("/api/anything"), 404, "not-found");
    // Encoded separators cannot smuggle `..` past the segment checks.
    assert_error(
        &host.get("/pkg%2f..%2f..%2fetc%2fpasswd"),
        400,
        "invalid-path",
    );

    let head: llmos_tests::Reply = host.request(reqwest::Method::HEAD, "/").send().into();
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());

    let post = host.post("/", "x");
    assert_error(&post, 405, "method-not-allowed");
}

#[test]
fn requests_without_a_valid_token_are_refused() {
    let host = start();
    assert_error(&host.get("/auth/me"), 401, "missing-token");
    assert_error(
        &get_as(&host, "/auth/me", "not-a-token"),
        401,
        "invalid-token",
    );
    let basic: llmos_tests::Reply = host
        .request(reqwest::Method::GET, "/auth/me")
        .header("authorization", "Basic YWRtaW46YWRtaW4=")
        .send()
        .into();
    assert_error(&basic, 401, "invalid-token");
    let me = get_as(&host, "/auth/me", ADMIN);
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["role"], "admin");
}

#[test]
fn admins_issue_tokens_that_then_work_and_can_be_revoked() {
    let host = start();
    let created = post_json_as(
        &host,
        "/auth/tokens",
        ADMIN,
        &json!({"user_id": "alice", "team_ids": ["core", "ml"], "role": "user", "label": "laptop"}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let body = created.json();
    let token = body["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("llmos_") && token.len() > 40, "{token}");
    assert_eq!(body["user_id"], "alice");
    assert_eq!(body["team_ids"], json!(["core", "ml"]));
    assert_eq!(body["role"], "user");
    let token_id = body["token_id"].as_str().unwrap().to_owned();

    let me = get_as(&host, "/auth/me", &token);
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(
        me.json(),
        json!({"user_id": "alice", "team_ids": ["core", "ml"], "role": "user"})
    );

    // A user token may not issue or list tokens.
    let refused = post_json_as(
        &host,
        "/auth/tokens",
        &token,
        &json!({"user_id": "mallory", "role": "admin"}),
    );
    assert_error(&refused, 403, "forbidden");
    assert_error(&get_as(&host, "/auth/tokens", &token), 403, "forbidden");

    // Listing shows the token without its secret.
    let list = get_as(&host, "/auth/tokens", ADMIN);
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(!list.body.contains(&token));
    let tokens = list.json()["tokens"].as_array().unwrap().clone();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0]["token_id"], token_id.as_str());
    assert_eq!(tokens[0]["label"], "laptop");

    let revoked: llmos_tests::Reply = host
        .request(reqwest::Method::DELETE, &format!("/auth/tokens/{token_id}"))
        .header("authorization", bearer(ADMIN))
        .send()
        .into();
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert_error(&get_as(&host, "/auth/me", &token), 401, "invalid-token");
    let again: llmos_tests::Reply = host
        .request(reqwest::Method::DELETE, "/auth/tokens/0000000000000000")
        .header("authorization", bearer(ADMIN))
        .send()
        .into();
    assert_error(&again, 404, "token-not-found");
}

#[test]
fn tokens_stop_working_when_they_expire() {
    let host = start();
    let created = post_json_as(
        &host,
        "/auth/tokens",
        ADMIN,
        &json!({"user_id": "carol", "expires_in": 1}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let token = created.json()["token"].as_str().unwrap().to_owned();
    let me = get_as(&host, "/auth/me", &token);
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["user_id"], "carol");
    // Expiry is kept in whole seconds: past the next second boundary the
    // token is refused.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert_error(&get_as(&host, "/auth/me", &token), 401, "invalid-token");
    // The admin token is not a stored token and does not expire.
    assert_eq!(get_as(&host, "/auth/me", ADMIN).status, 200);
}

#[test]
fn bad_token_requests_are_refused_and_store_nothing() {
    let host = start();
    let cases: Vec<(serde_json::Value, &str)> = vec![
        (json!({"team_ids": ["core"]}), "invalid-request"),
        (json!({"user_id": "../root"}), "invalid-id"),
        (json!({"user_id": "a b"}), "invalid-id"),
        (
            json!({"user_id": "alice", "team_ids": ["x/y"]}),
            "invalid-id",
        ),
        (json!({"user_id": "alice", "role": "root"}), "invalid-role"),
        (
            json!({"user_id": "alice", "surprise": true}),
            "invalid-request",
        ),
        (
            json!({"user_id": "alice", "label": "a\nb"}),
            "invalid-label",
        ),
        (json!(["not", "an", "object"]), "invalid-request"),
    ];
    for (body, code) in cases {
        let reply = post_json_as(&host, "/auth/tokens", ADMIN, &body);
        assert_error(&reply, 400, code);
    }
    let broken: llmos_tests::Reply = host
        .request(reqwest::Method::POST, "/auth/tokens")
        .header("authorization", bearer(ADMIN))
        .header("content-type", "application/json")
        .body("{\"user_id\": ")
        .send()
        .into();
    assert_error(&broken, 400, "invalid-json");
    let form: llmos_tests::Reply = host
        .request(reqwest::Method::POST, "/auth/tokens")
        .header("authorization", bearer(ADMIN))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("user_id=alice")
        .send()
        .into();
    assert_error(&form, 415, "unsupported-media-type");
    let list = get_as(&host, "/auth/tokens", ADMIN);
    assert_eq!(list.json()["tokens"], json!([]));
}

/// Every byte of every file under `dir`.
fn contains_bytes(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(data) = std::fs::read(&path)
                && data.windows(needle.len()).any(|w| w == needle)
            {
                hits.push(path.display().to_string());
            }
        }
    }
    hits
}

#[test]
fn tokens_are_never_stored_or_logged_in_plain_text() {
    let host = start();
    let token = host.create_token("bob", &["core"], "user");
    assert!(token.starts_with("llmos_"), "{token}");
    let me = get_as(&host, "/auth/me", &token);
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["user_id"], "bob");
    // Some traffic with the token, including a failing request.
    let _ = get_as(&host, "/auth/tokens", &token);
    let mut host = host;
    host.stop();
    let secret = token.trim_start_matches("llmos_").as_bytes();
    assert_eq!(
        contains_bytes(host.data_dir(), secret),
        Vec::<String>::new()
    );
    assert!(!host.stdout().contains(&token[6..]));
    assert!(!host.stderr().contains(&token[6..]));
    assert!(!host.stderr().contains(ADMIN));
}
