//! The OpenAPI document covers the routes, and the routes cover the
//! document: every route of `spin.toml` and every path a component's
//! router matches (the `(Method::…, [segments])` arms of
//! `components/*/src/lib.rs`) is documented with that method, and every
//! documented operation is answered by the real host (neither a missing
//! route, nor 405, nor 501).
//!
//! Build the app first (from the workspace root): `./dev build`.

use std::collections::BTreeSet;

use llmos_tests::{Host, app_manifest, workspace_root};
use serde_json::Value;

fn document() -> Value {
    let text = std::fs::read_to_string(workspace_root().join("docs/openapi.json"))
        .expect("docs/openapi.json");
    serde_json::from_str(&text).expect("the document is JSON")
}

/// `(method, path)` of every documented operation, methods upper-case.
fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            out.push((method.to_ascii_uppercase(), path.clone()));
        }
    }
    out
}

/// A path pattern: literal segments, parameters, or a rest of one or more
/// segments.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Segment {
    Literal(String),
    Param,
    Rest,
}

fn documented(path: &str) -> Vec<Segment> {
    path.trim_start_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s.starts_with('{') && s.ends_with('}') {
                Segment::Param
            } else {
                Segment::Literal(s.to_owned())
            }
        })
        .collect()
}

/// Whether a routed pattern is among the documented paths: each literal
/// equal, a parameter against a parameter, a rest against one or more
/// segments of any kind.
fn covers(routed: &[Segment], documented: &[Segment]) -> bool {
    match (routed.first(), documented.first()) {
        (None, None) => true,
        (Some(Segment::Rest), Some(_)) => true,
        (Some(Segment::Literal(a)), Some(Segment::Literal(b))) if a == b => {
            covers(&routed[1..], &documented[1..])
        }
        (Some(Segment::Param), Some(Segment::Param)) => covers(&routed[1..], &documented[1..]),
        _ => false,
    }
}

/// The `(Method::X, [segments])` arms of a component's router.
fn router_arms(source: &str) -> Vec<(String, Vec<Segment>)> {
    let mut arms = Vec::new();
    for piece in source.split("(Method::").skip(1) {
        let Some((method, rest)) = piece.split_once(',') else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix('[') else {
            continue;
        };
        let Some((segments, after)) = rest.split_once(']') else {
            continue;
        };
        if !after.trim_start().starts_with(')') {
            continue;
        }
        let pattern = segments
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                if let Some(literal) = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                    Segment::Literal(literal.to_owned())
                } else if s.ends_with("..") {
                    Segment::Rest
                } else {
                    assert!(
                        s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                        "an unexpected router segment {s:?}"
                    );
                    Segment::Param
                }
            })
            .collect();
        arms.push((method.trim().to_ascii_uppercase(), pattern));
    }
    arms
}

#[test]
fn every_routed_path_is_documented() {
    let doc = document();
    let ops = operations(&doc);
    let root = workspace_root();
    let mut checked = 0;
    for entry in std::fs::read_dir(root.join("components")).unwrap() {
        let lib = entry.unwrap().path().join("src/lib.rs");
        let Ok(source) = std::fs::read_to_string(&lib) else {
            continue;
        };
        for (method, pattern) in router_arms(&source) {
            let found = ops
                .iter()
                .any(|(m, p)| *m == method && covers(&pattern, &documented(p)));
            assert!(
                found,
                "{}: {method} {pattern:?} is routed but not documented",
                lib.display()
            );
            checked += 1;
        }
    }
    assert!(checked > 40, "only {checked} router arms found");
    // The web component's own paths (it matches them by comparison, not by
    // arms): the health probe, the document, its page and the workbench.
    for (method, path) in [
        ("GET", "/health"),
        ("GET", "/openapi.json"),
        ("HEAD", "/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/"),
    ] {
        assert!(
            ops.iter().any(|(m, p)| m == method && p == path),
            "{method} {path} is not documented"
        );
    }
}

#[test]
fn every_spin_route_is_documented() {
    let doc = document();
    let ops = operations(&doc);
    let manifest: toml::Value =
        toml::from_str(&std::fs::read_to_string(workspace_root().join("spin.toml")).unwrap())
            .unwrap();
    let triggers = manifest["trigger"]["http"]
        .as_array()
        .expect("http triggers");
    let mut prefixes = BTreeSet::new();
    for trigger in triggers {
        let route = trigger["route"].as_str().expect("a route");
        if let Some(prefix) = route.strip_suffix("/...") {
            // A wildcard: some documented path is under it (the root's
            // wildcard is the workbench's).
            let under = if prefix.is_empty() {
                ops.iter().any(|(_, p)| p == "/")
            } else {
                ops.iter()
                    .any(|(_, p)| p.starts_with(&format!("{prefix}/")) || p == prefix)
            };
            assert!(under, "no documented path under the route {route}");
            prefixes.insert(prefix.to_owned());
        } else {
            assert!(
                ops.iter().any(|(_, p)| p == route),
                "the route {route} is not documented"
            );
        }
    }
    // And no documented path is outside every route.
    for (method, path) in &ops {
        let routed = prefixes.iter().any(|prefix| {
            prefix.is_empty() || path == prefix || path.starts_with(&format!("{prefix}/"))
        }) || triggers.iter().any(|t| t["route"].as_str() == Some(path));
        assert!(routed, "{method} {path} is documented but not routed");
    }
}

/// A value for a path parameter: any well-formed one will do, the point
/// is that a route answers it.
fn sample(name: &str) -> &'static str {
    match name {
        "team_id" => "lab",
        "user_id" => "admin",
        "dir" => "ab",
        "file" => "cdef0123456789abcdef0123456789abcdef01",
        "pack" => "pack-0123456789abcdef0123456789abcdef01234567.pack",
        "trace_id" => "tr-0123456789abc-01234567",
        _ => "example",
    }
}

#[test]
fn every_documented_operation_is_answered() {
    let doc = document();
    let host = Host::start(app_manifest());
    let admin = host.printed_admin_token().expect("the admin token");
    let mut answered = 0;
    for (method, path) in operations(&doc) {
        let concrete: String = path
            .split('/')
            .map(
                |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) => sample(name).to_owned(),
                    None => s.to_owned(),
                },
            )
            .collect::<Vec<_>>()
            .join("/");
        let mut request = host
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                &concrete,
            )
            .bearer_auth(&admin);
        if method == "POST" || method == "PUT" {
            request = request
                .header("content-type", "application/json")
                .body("{}");
        }
        let response = request.send().expect("a response");
        let status = response.status().as_u16();
        let text = response.text().unwrap_or_default();
        let error = serde_json::from_str::<Value>(&text).unwrap_or_default();
        let code = error["error"]["code"].as_str().unwrap_or_default();
        let message = error["error"]["message"].as_str().unwrap_or_default();
        // A path no route takes: the host's 404 (no error body), a router's
        // `no-such-route`, or the page's `nothing at …` for a path under an
        // API prefix that fell through to it.
        let unrouted = status == 404
            && (code.is_empty()
                || code == "no-such-route"
                || (code == "not-found" && message.starts_with("nothing at ")));
        assert!(
            status != 405 && status != 501,
            "{method} {concrete} ({path}) answers {status}: {text}"
        );
        // A HEAD answer has no body to tell a missing route from a missing
        // resource: its GET twin is checked for that.
        assert!(
            method == "HEAD" || !unrouted,
            "{method} {concrete} ({path}) is not routed: {status} {text}"
        );
        answered += 1;
    }
    println!("{answered} documented operations answered");
}
