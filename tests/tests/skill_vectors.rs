//! The compiled system skills against their shared test vectors
//! (`tests/cases/skill-vectors/`), natively and at the edge: natively with
//! `llmos-skill-runtime` on the shipped `.wasm`, at the edge through
//! `POST /workflows/{id}/execute` on the real host with each node placed
//! at the edge. Both must give the vector's outputs, byte for byte, and
//! the run must name the component it ran. (The browser's run of the same
//! vectors is in `browser_components.rs`.)
//!
//! Needs the app built (`./dev build`, which also builds the system
//! skills' components).

mod skill_vectors_support;

use llmos_core::skill::component::sha256_hex;
use llmos_skill_runtime::SkillRuntime;
use llmos_tests::{HostConfig, app_manifest};
use serde_json::{Value, json};
use skill_vectors_support::{Expected, canonical, system_component};

#[test]
fn system_components_give_the_vectors_outputs_natively() {
    let mut runtime = SkillRuntime::default();
    let mut checked = 0;
    for vectors in skill_vectors_support::all() {
        let skill = runtime
            .load(&system_component(&vectors.skill_id))
            .unwrap_or_else(|e| panic!("{}: {e}", vectors.skill_id));
        for case in &vectors.cases {
            let got = runtime.run(&skill, &case.full_inputs);
            match (&case.expected, got) {
                (Expected::Outputs(want), Ok(outcome)) => {
                    assert_eq!(
                        &canonical(&outcome.outputs),
                        want,
                        "{} `{}`",
                        vectors.skill_id,
                        case.name
                    );
                }
                (Expected::Error(code), Err(failure)) => {
                    assert_eq!(
                        failure.error.code(),
                        code,
                        "{} `{}`: {}",
                        vectors.skill_id,
                        case.name,
                        failure.error
                    );
                }
                (want, got) => panic!(
                    "{} `{}`: expected {want:?}, got {got:?}",
                    vectors.skill_id, case.name
                ),
            }
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} cases");
}

#[test]
fn system_components_give_the_same_bytes_at_the_edge() {
    let host = HostConfig::new(app_manifest()).start();
    let token = host.create_token("vector-user", &[], "user");
    let auth = |r: reqwest::blocking::RequestBuilder| r.bearer_auth(&token);
    let client = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .expect("a client");
    for vectors in skill_vectors_support::all() {
        let id = &vectors.skill_id;
        let sha = sha256_hex(&system_component(id));
        let skill: Value = auth(client.get(host.url(&format!("/skills/{id}"))))
            .send()
            .and_then(|r| r.json())
            .expect("GET the skill");
        assert_eq!(skill["component"]["sha256"], json!(sha), "{id}: {skill}");
        assert_eq!(skill["component"]["state"], "fresh", "{id}: {skill}");
        for (i, case) in vectors.cases.iter().enumerate() {
            // The case's inputs are the node's params, as a user would set
            // them on the canvas; the engine adds the defaults.
            let workflow_id = format!("vectors-{id}-{i}");
            let created = auth(client.post(host.url("/workflows")))
                .json(&json!({"workflow": {
                    "id": workflow_id,
                    "name": format!("{id}: {}", case.name),
                    "nodes": [{"id": "n", "skill_id": id, "position": {"x": 0, "y": 0},
                               "params": case.inputs, "where": "edge"}],
                    "edges": [],
                }}))
                .send()
                .expect("POST /workflows");
            assert_eq!(created.status(), 201, "{id}: {:?}", created.text());
            let reply = auth(client.post(host.url(&format!("/workflows/{workflow_id}/execute"))))
                .json(&json!({}))
                .send()
                .expect("execute");
            let status = reply.status();
            let run: Value = reply.json().expect("a run report");
            assert_eq!(status, 200, "{id} `{}`: {run}", case.name);
            let node = &run["nodes"]["n"];
            assert_eq!(node["where"], "edge", "{id} `{}`: {node}", case.name);
            assert_eq!(
                node["component"],
                json!(sha),
                "{id} `{}`: {node}",
                case.name
            );
            match &case.expected {
                Expected::Outputs(want) => {
                    assert_eq!(node["status"], "done", "{id} `{}`: {node}", case.name);
                    let outputs = node["outputs"].as_object().expect("outputs");
                    assert_eq!(&canonical(outputs), want, "{id} `{}`", case.name);
                }
                Expected::Error(code) => {
                    assert_eq!(node["status"], "failed", "{id} `{}`: {node}", case.name);
                    assert_eq!(
                        node["error_code"],
                        json!(code),
                        "{id} `{}`: {node}",
                        case.name
                    );
                }
            }
        }
    }
}
