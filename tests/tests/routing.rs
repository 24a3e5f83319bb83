//! Routing conformance: the cases of `tests/cases/routing.toml`, each run as
//! an app on the real host.
//!
//! Build the artifacts first (from the workspace root):
//!     cargo build --release -p llmos-host
//!     cargo build --target wasm32-wasip2 --release -p probe

use std::collections::BTreeMap;
use std::fmt::Write as _;

use llmos_tests::{Host, ScratchApp, workspace_root};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Cases {
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    routes: Vec<Route>,
    requests: Vec<Expectation>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Route {
    #[serde(default)]
    route: Option<String>,
    #[serde(default)]
    private: bool,
    component: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expectation {
    path: String,
    #[serde(default)]
    component: Option<String>,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

fn manifest_for(case: &Case) -> String {
    let mut text = String::from("spin_manifest_version = 2\n[application]\nname = \"routing\"\n");
    for route in &case.routes {
        let spec = match (&route.route, route.private) {
            (_, true) => "{ private = true }".to_owned(),
            (Some(route), false) => format!("{route:?}"),
            (None, false) => panic!("case {:?}: a route needs `route` or `private`", case.name),
        };
        let _ = write!(
            text,
            "[[trigger.http]]\nroute = {spec}\ncomponent = {:?}\n",
            route.component
        );
    }
    let mut components: Vec<&str> = case.routes.iter().map(|r| r.component.as_str()).collect();
    components.sort_unstable();
    components.dedup();
    for id in components {
        let _ = write!(
            text,
            "[component.{id}]\nsource = \"{{probe}}\"\n[component.{id}.variables]\nwho = {id:?}\n"
        );
    }
    text
}

#[test]
fn routing_cases_match_spin() {
    let path = workspace_root().join("tests/cases/routing.toml");
    let text = std::fs::read_to_string(&path).expect("routing cases");
    let cases: Cases = toml::from_str(&text).expect("valid routing cases");
    assert!(!cases.case.is_empty());
    let mut failures = Vec::new();
    for case in &cases.case {
        let app = ScratchApp::new(&manifest_for(case));
        let host = Host::start(app.manifest());
        let base = format!("http://{}", host.addr());
        for expected in &case.requests {
            let reply = host.get(&expected.path);
            let want_status = expected.status.unwrap_or(200);
            if reply.status != want_status {
                failures.push(format!(
                    "{} — {}: status {} (want {want_status}): {}",
                    case.name, expected.path, reply.status, reply.body
                ));
                continue;
            }
            if want_status != 200 {
                continue;
            }
            let echo = reply.json();
            if let Some(component) = &expected.component
                && echo["component"] != component.as_str()
            {
                failures.push(format!(
                    "{} — {}: answered by {} (want {component})",
                    case.name, expected.path, echo["component"]
                ));
            }
            for (name, want) in &expected.headers {
                let want = want.replace("{base}", &base);
                let got = &echo["headers"][name];
                if got != want.as_str() {
                    failures.push(format!(
                        "{} — {}: header {name} = {got} (want {want:?})",
                        case.name, expected.path
                    ));
                }
            }
            if echo["headers"]["spin-client-addr"]
                .as_str()
                .is_none_or(|a| !a.starts_with("127.0.0.1:"))
            {
                failures.push(format!(
                    "{} — {}: spin-client-addr = {}",
                    case.name, expected.path, echo["headers"]["spin-client-addr"]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "routing mismatches:\n{}",
        failures.join("\n")
    );
}
