//! `GET /openapi.json` and `GET /docs` through the real host: the served
//! document is the build's `docs/openapi.json` byte for byte, public,
//! revalidated by an `ETag` that is its SHA-256, and the reference page
//! and its assets are served by the app itself with the page policy.
//!
//! Build the app first (from the workspace root): `./dev build`.

use llmos_tests::{Host, app_manifest, workspace_root};
use sha2::{Digest, Sha256};

fn start() -> Host {
    Host::start(app_manifest())
}

#[test]
fn the_document_is_the_builds_file_with_an_etag_of_its_digest() {
    let host = start();
    let reply = host.get("/openapi.json");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let file = std::fs::read_to_string(workspace_root().join("docs/openapi.json"))
        .expect("docs/openapi.json is written by the build");
    assert!(
        reply.body == file,
        "the served document differs from docs/openapi.json: rebuild with ./dev build \
         (the build writes the file from the same code)"
    );
    let doc = reply.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/openapi.json"]["get"].is_object());
    let digest = hex::encode(Sha256::digest(reply.body.as_bytes()));
    let etag = reply.header("etag").expect("an ETag").to_owned();
    assert_eq!(etag, format!("\"{digest}\""));
    assert_eq!(reply.header("cache-control"), Some("no-cache"));

    // Revalidation: the same tag is 304 without a body, any other 200.
    let same = host
        .request(reqwest::Method::GET, "/openapi.json")
        .header("if-none-match", &etag)
        .send()
        .unwrap();
    assert_eq!(same.status(), 304);
    assert_eq!(same.headers()["etag"], etag.as_str());
    assert!(same.text().unwrap().is_empty());
    let listed = host
        .request(reqwest::Method::GET, "/openapi.json")
        .header("if-none-match", format!("\"0\", W/{etag}"))
        .send()
        .unwrap();
    assert_eq!(listed.status(), 304, "a weak copy of the tag matches too");
    let other = host
        .request(reqwest::Method::GET, "/openapi.json")
        .header("if-none-match", "\"0123\"")
        .send()
        .unwrap();
    assert_eq!(other.status(), 200);

    let head = host
        .request(reqwest::Method::HEAD, "/openapi.json")
        .send()
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["etag"], etag.as_str());
    assert!(head.bytes().unwrap().is_empty());

    // A token is not needed, and a bad one does not stop the read.
    let with_bad_token = host
        .request(reqwest::Method::GET, "/openapi.json")
        .bearer_auth("not-a-token")
        .send()
        .unwrap();
    assert_eq!(with_bad_token.status(), 200);
    // Other methods are refused with the error body.
    let post = host.post("/openapi.json", "{}");
    assert_eq!(post.status, 405, "{}", post.body);
    assert_eq!(post.json()["error"]["code"], "method-not-allowed");
}

#[test]
fn the_reference_page_and_its_assets_come_from_the_app() {
    let host = start();
    let page = host.get("/docs");
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let policy = page.header("content-security-policy").expect("a policy");
    assert!(policy.contains("connect-src 'self'"), "{policy}");
    assert!(policy.contains("script-src 'self'"), "{policy}");
    // Every script and style the page names is served here.
    let mut assets = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for piece in page.body.split(attribute).skip(1) {
            let target = piece.split('"').next().unwrap();
            if target.starts_with("data:") {
                continue;
            }
            assert!(
                target.starts_with('/') && !target.starts_with("//"),
                "the page loads {target} from elsewhere"
            );
            assets.push(target.to_owned());
        }
    }
    for needed in [
        "/docs/swagger-ui-bundle.js",
        "/docs/docs.js",
        "/docs/swagger-ui.css",
    ] {
        assert!(assets.iter().any(|a| a == needed), "{needed} in {assets:?}");
    }
    for asset in &assets {
        let reply = host.get(asset);
        assert_eq!(reply.status, 200, "{asset}");
        assert!(!reply.body.is_empty(), "{asset}");
    }
    let script = host.get("/docs/docs.js");
    assert!(
        script.body.contains("/openapi.json"),
        "the page reads this app's document"
    );
    assert!(
        script.body.contains("validatorUrl: null"),
        "no validator badge calling out"
    );
    // The bundle's licence ships beside it.
    assert_eq!(host.get("/docs/LICENSE").status, 200);
}

/// The document and the workbench's large assets go out gzip-coded to
/// clients that accept it, from forms compressed at build time, and
/// decode to exactly the bytes sent to other clients.
#[test]
fn the_document_and_assets_are_sent_gzip_coded_when_accepted() {
    use std::io::Read as _;
    let host = start();
    for path in [
        "/openapi.json",
        "/pkg/llmos_frontend_bg.wasm",
        "/pkg/llmos_frontend.js",
        "/style.css",
        "/docs/swagger-ui-bundle.js",
    ] {
        let plain = host.request(reqwest::Method::GET, path).send().unwrap();
        assert_eq!(plain.status(), 200, "{path}");
        assert!(plain.headers().get("content-encoding").is_none(), "{path}");
        let tag = plain.headers()["etag"].to_str().unwrap().to_owned();
        let vary = plain.headers()["vary"].to_str().unwrap().to_owned();
        assert!(vary.contains("accept-encoding"), "{path}: {vary}");
        let plain = plain.bytes().unwrap();
        let coded = host
            .request(reqwest::Method::GET, path)
            .header("accept-encoding", "gzip, deflate, br")
            .send()
            .unwrap();
        assert_eq!(coded.status(), 200, "{path}");
        assert_eq!(coded.headers()["content-encoding"], "gzip", "{path}");
        assert_eq!(
            coded.headers()["etag"].to_str().unwrap(),
            format!("W/{tag}"),
            "{path}"
        );
        let coded = coded.bytes().unwrap();
        assert!(coded.len() < plain.len(), "{path}");
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(&coded[..])
            .read_to_end(&mut decoded)
            .unwrap();
        assert!(
            decoded == plain,
            "{path}: the gzip form decodes to the file"
        );
        let revalidated = host
            .request(reqwest::Method::GET, path)
            .header("accept-encoding", "gzip")
            .header("if-none-match", format!("W/{tag}"))
            .send()
            .unwrap();
        assert_eq!(revalidated.status(), 304, "{path}");
    }
}
