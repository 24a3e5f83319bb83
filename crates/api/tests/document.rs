//! `docs/openapi.json` is the document the code describes, and the
//! document is well formed: OpenAPI 3.1, every reference resolves, every
//! operation has an id, a tag and its responses, and every route but the
//! public ones (health, this document, its reference page, the workbench
//! page) needs the bearer token.
//!
//! After changing a documented type or operation, write the file anew with
//! `LLMOS_WRITE_OPENAPI=1 cargo test -p llmos-api`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

/// The paths answered without a token.
const PUBLIC: &[&str] = &["/health", "/openapi.json", "/docs", "/"];

fn file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}

fn document() -> Value {
    serde_json::from_str(&llmos_api::document_json()).expect("the document is JSON")
}

#[test]
fn the_checked_in_document_is_the_one_the_code_describes() {
    let text = llmos_api::document_json();
    let path = file();
    if std::env::var_os("LLMOS_WRITE_OPENAPI").is_some() {
        std::fs::write(&path, &text).expect("write docs/openapi.json");
    }
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        stored == text,
        "{} differs from the document the code describes; write it anew with \
         LLMOS_WRITE_OPENAPI=1 cargo test -p llmos-api",
        path.display()
    );
}

fn refs(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => {
                        out.insert(r.clone());
                    }
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn every_reference_resolves() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut found = BTreeSet::new();
    refs(&doc, &mut found);
    assert!(!found.is_empty());
    for reference in found {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{reference} is not local"));
        assert!(
            doc.pointer(pointer).is_some(),
            "{reference} points at nothing"
        );
    }
}

#[test]
fn every_operation_is_identified_answered_and_guarded() {
    let doc = document();
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let mut ids = BTreeSet::new();
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.contains_key("/health") && paths.contains_key("/auth/tokens"));
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("a path item") {
            let at = format!("{method} {path}");
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{at}: no id"));
            assert!(ids.insert(id.to_owned()), "{at}: id {id} is used twice");
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{at}: no tag"
            );
            let responses = op["responses"].as_object().expect("responses");
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{at}: no success response"
            );
            for (status, response) in responses {
                // A bodiless answer declares no content; every other one
                // names its media types, each with a schema.
                if status == "304" || status == "204" {
                    assert!(response.get("content").is_none(), "{at} {status}");
                    continue;
                }
                // A HEAD answer has no body; it may name the media type a
                // GET would answer.
                if method == "head" {
                    continue;
                }
                let content = response["content"]
                    .as_object()
                    .unwrap_or_else(|| panic!("{at} {status}: no content"));
                assert!(!content.is_empty(), "{at} {status}: no media type");
                for (media, body) in content {
                    assert!(
                        body["schema"].is_object(),
                        "{at} {status} {media}: no schema"
                    );
                }
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{at} {status}: errors answer the error body"
                    );
                }
            }
            if PUBLIC.contains(&path.as_str()) {
                assert_eq!(op["security"], serde_json::json!([{}]), "{at}");
            } else {
                assert!(
                    op.get("security").is_none(),
                    "{at} overrides the bearer requirement"
                );
                assert!(responses.contains_key("401"), "{at}: no 401");
            }
        }
    }
    assert_eq!(doc["security"], serde_json::json!([{"bearer": []}]));
}
