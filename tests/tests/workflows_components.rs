//! Compiled skills in workflows through the real host: a node of a
//! compiled skill runs its component inside the workflows component (the
//! embedded interpreter), its run and trace name the component it ran,
//! `where` moves it to the browser, an endless loop and a memory bomb end
//! on their limits while the host keeps answering, a component whose
//! ports disagree with its file fails naming the port, and a stale or
//! missing component is refused before anything runs.
//!
//! Components are put into the volume straight through the store, in the
//! same commit as their skill file.
//!
//! Build the artifacts first (from the workspace root):
//!     cargo build --release -p llmos-host
//!     cargo build --target wasm32-wasip2 --release -p auth -p skills -p workflows -p web -p workflow-skill

mod workflows_components_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use llmos_core::skill::component::sha256_hex;
use serde_json::{Value, json};
use workflows_components_support::{Env, component_for, skill_file};

/// Stores skill `id` (output `y`) and the fixture built from it; returns
/// the component's SHA-256.
fn add_compiled_skill(env: &Env, id: &str) -> String {
    let file = skill_file(id, 1, &[("y", "number")]);
    let component = component_for(&file);
    let sha = sha256_hex(&component);
    env.commit_files(
        "alice",
        &[
            (&format!("skills/{id}.md"), file.into_bytes()),
            (&format!("skills/{id}.wasm"), component),
        ],
    );
    sha
}

/// k (constant 3) → sq (`skill`, `mode`) → m (y + 1); `alone` runs the
/// same skill on its own constant input.
fn workflow(id: &str, skill: &str, mode: &str, place: Option<&str>) -> Value {
    let mut sq = json!({"id": "sq", "skill_id": skill, "position": {"x": 200, "y": 0},
                        "params": {"mode": mode}});
    if let Some(place) = place {
        sq["where"] = json!(place);
    }
    json!({
        "id": id, "name": format!("Compiled {id}"),
        "nodes": [
            {"id": "k", "skill_id": "builtin:constant", "position": {"x": 0, "y": 0}, "params": {"value": 3}},
            sq,
            {"id": "m", "skill_id": "builtin:math", "position": {"x": 400, "y": 0}, "params": {"expression": "y + 1"}},
            {"id": "alone", "skill_id": skill, "position": {"x": 200, "y": 200}, "params": {"x": 4}}
        ],
        "edges": [
            {"source": "k", "source_port": "value", "target": "sq", "target_port": "x"},
            {"source": "sq", "source_port": "y", "target": "m", "target_port": "y"}
        ]
    })
}

fn save(env: &Env, wf: &Value) -> Value {
    env.expect(201, "alice", "POST", "/workflows", &json!({"workflow": wf}))
}

fn execute(env: &Env, id: &str) -> Value {
    env.expect(
        200,
        "alice",
        "POST",
        &format!("/workflows/{id}/execute"),
        &json!({}),
    )
}

#[test]
fn a_compiled_node_runs_at_the_edge_and_its_run_records_the_component() {
    let env = Env::start();
    let sha = add_compiled_skill(&env, "square-edge");

    let saved = save(&env, &workflow("squares", "square-edge", "square", None));
    assert_eq!(saved["validation"]["valid"], true, "{saved}");
    let checked = env.expect(
        200,
        "alice",
        "POST",
        "/workflows/validate",
        &json!({"workflow": workflow("squares", "square-edge", "square", None)}),
    );
    assert_eq!(checked["valid"], true, "{checked}");
    assert_eq!(checked["where"]["sq"], "edge");
    assert_eq!(checked["components"]["sq"], json!(sha));
    assert!(checked["components"].get("k").is_none());

    let run = execute(&env, "squares");
    assert_eq!(run["status"], "done", "{run}");
    let sq = &run["nodes"]["sq"];
    assert_eq!(sq["status"], "done");
    assert_eq!(sq["where"], "edge");
    assert_eq!(sq["outputs"], json!({"y": 9}));
    assert_eq!(sq["component"], json!(sha));
    let log = sq["log"].as_str().unwrap_or_default();
    assert!(log.contains("squaring 3") && log.contains("y = 9"), "{log}");
    assert_eq!(run["nodes"]["alone"]["outputs"], json!({"y": 16}));
    assert_eq!(run["nodes"]["m"]["outputs"]["result"], json!(10));
    assert!(run["nodes"]["k"].get("component").is_none());

    // The trace records which component each compiled node ran.
    let trace = env
        .trace(
            run["trace_id"]
                .as_str()
                .expect("a finished run has a trace"),
        )
        .expect("the trace is recorded");
    let details = &trace["details"];
    assert_eq!(trace["outcome"], "success");
    assert_eq!(details["nodes"]["sq"]["component"], json!(sha));
    assert_eq!(details["nodes"]["alone"]["component"], json!(sha));
    assert!(details["nodes"]["k"].get("component").is_none());
    assert!(
        details["logs"]["sq"]
            .as_str()
            .unwrap_or_default()
            .contains("squaring 3"),
        "{details}"
    );
}

#[test]
fn where_browser_leaves_a_compiled_node_for_the_page_with_its_component() {
    let env = Env::start();
    let sha = add_compiled_skill(&env, "square-anywhere");
    save(
        &env,
        &workflow("to-page", "square-anywhere", "square", Some("browser")),
    );
    let stored = env.expect(200, "alice", "GET", "/workflows/to-page", &Value::Null);
    assert_eq!(stored["workflow"]["nodes"][1]["where"], "browser", "kept");

    let run = execute(&env, "to-page");
    assert_eq!(run["status"], "pending", "{run}");
    assert!(
        run["trace_id"].is_null(),
        "a pending run is recorded by the page"
    );
    let sq = &run["nodes"]["sq"];
    assert_eq!(sq["status"], "pending");
    assert_eq!(sq["where"], "browser");
    assert_eq!(sq["inputs"], json!({"x": 3, "mode": "square"}));
    assert_eq!(sq["component"], json!(sha));
    let blob = sq["component_blob"].as_str().expect("the blob to fetch");
    assert_eq!(blob.len(), 40);
    assert_eq!(sq["skill_volume"], "users/alice");
    assert_eq!(run["nodes"]["m"]["waiting_for"], json!(["sq"]));
    // The other node of the same skill still runs here.
    assert_eq!(run["nodes"]["alone"]["where"], "edge");
    assert_eq!(run["nodes"]["alone"]["outputs"], json!({"y": 16}));

    // The page reports the finished run with what it ran.
    let mut nodes = run["nodes"].clone();
    for node in nodes.as_object_mut().expect("nodes").values_mut() {
        let node = node.as_object_mut().expect("a node");
        for key in ["runtime", "language", "code", "skill_volume"] {
            node.remove(key);
        }
    }
    nodes["sq"]["status"] = json!("done");
    nodes["sq"]["outputs"] = json!({"y": 9});
    nodes["sq"]["log"] = json!("squaring 3\n");
    nodes["sq"].as_object_mut().unwrap().remove("inputs");
    nodes["m"]["status"] = json!("done");
    nodes["m"]["outputs"] = json!({"result": 10});
    nodes["m"].as_object_mut().unwrap().remove("waiting_for");
    let recorded = env.expect(
        201,
        "alice",
        "POST",
        "/workflows/runs",
        &json!({"workflow_id": "to-page", "status": "done", "nodes": nodes,
                "run_id": run["run_id"], "where": "browser"}),
    );
    let trace = env
        .trace(recorded["trace_id"].as_str().expect("trace id"))
        .expect("the trace is recorded");
    assert_eq!(trace["details"]["nodes"]["sq"]["component"], json!(sha));
    assert_eq!(trace["details"]["nodes"]["sq"]["where"], "browser");
    assert_eq!(trace["details"]["logs"]["sq"], "squaring 3\n");
}

#[test]
fn an_endless_loop_runs_out_of_fuel_while_the_host_keeps_answering() {
    let env = Arc::new(Env::start());
    add_compiled_skill(&env, "square-loop");
    save(&env, &workflow("spin", "square-loop", "loop", None));

    let finished = Arc::new(AtomicBool::new(false));
    let runner = {
        let (env, finished) = (Arc::clone(&env), Arc::clone(&finished));
        std::thread::spawn(move || {
            let run = execute(&env, "spin");
            finished.store(true, Ordering::SeqCst);
            run
        })
    };
    let mut answered_during = 0;
    while !finished.load(Ordering::SeqCst) {
        let health = env.host.get("/health");
        assert_eq!(health.status, 200, "{}", health.body);
        assert_eq!(health.json()["status"], "ok");
        if !finished.load(Ordering::SeqCst) {
            answered_during += 1;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let run = runner.join().expect("the run answered");
    assert!(
        answered_during > 0,
        "the host answered /health while the loop ran"
    );

    assert_eq!(run["status"], "failed", "{run}");
    let sq = &run["nodes"]["sq"];
    assert_eq!(sq["status"], "failed");
    assert_eq!(sq["error_code"], "skill-out-of-fuel");
    let message = sq["error"].as_str().unwrap_or_default();
    assert!(
        message.contains("fuel") && message.contains("skill_fuel"),
        "{message}"
    );
    // Only its descendant is skipped; the other node of the skill runs.
    assert_eq!(run["nodes"]["m"]["status"], "skipped");
    assert_eq!(run["nodes"]["m"]["error_code"], "upstream-failed");
    assert_eq!(run["nodes"]["alone"]["status"], "done");
    assert_eq!(run["nodes"]["alone"]["outputs"], json!({"y": 16}));
    let trace = env
        .trace(run["trace_id"].as_str().expect("a trace"))
        .expect("the trace is recorded");
    assert_eq!(trace["outcome"], "error");
    // And the host still serves the API.
    let list = env.expect(200, "alice", "GET", "/workflows", &Value::Null);
    assert_eq!(list["total"], 1);
}

#[test]
fn a_memory_bomb_and_mismatched_ports_fail_their_nodes_with_codes() {
    let env = Env::start();
    add_compiled_skill(&env, "square-bomb");
    save(&env, &workflow("bomb", "square-bomb", "memory", None));
    let run = execute(&env, "bomb");
    let sq = &run["nodes"]["sq"];
    assert_eq!(sq["status"], "failed", "{run}");
    assert_eq!(sq["error_code"], "skill-out-of-memory");
    assert!(
        sq["error"]
            .as_str()
            .unwrap_or_default()
            .contains("skill_memory_mib"),
        "{sq}"
    );
    assert_eq!(run["nodes"]["alone"]["status"], "done");

    // A file that declares an output the component does not have.
    let file = skill_file("square-wide", 1, &[("y", "number"), ("z", "number")]);
    let component = component_for(&file);
    env.commit_files(
        "alice",
        &[
            ("skills/square-wide.md", file.into_bytes()),
            ("skills/square-wide.wasm", component),
        ],
    );
    save(&env, &workflow("wide", "square-wide", "square", None));
    let run = execute(&env, "wide");
    let sq = &run["nodes"]["sq"];
    assert_eq!(sq["status"], "failed", "{run}");
    assert_eq!(sq["error_code"], "component-ports-mismatch");
    let message = sq["error"].as_str().unwrap_or_default();
    assert!(message.starts_with("port `z`"), "{message}");
}

#[test]
fn stale_or_missing_components_are_refused_before_anything_runs() {
    let env = Env::start();
    add_compiled_skill(&env, "square-old");
    // The code changes and nothing is rebuilt: the component beside it was
    // built from version 1.
    let v2 = skill_file("square-old", 2, &[("y", "number")]);
    env.commit_files("alice", &[("skills/square-old.md", v2.into_bytes())]);
    // A compiled skill that was never built.
    env.commit_files(
        "alice",
        &[(
            "skills/square-unbuilt.md",
            skill_file("square-unbuilt", 1, &[("y", "number")]).into_bytes(),
        )],
    );

    let saved = save(&env, &workflow("stale", "square-old", "square", None));
    let errors = &saved["validation"]["errors"];
    assert_eq!(saved["validation"]["valid"], false);
    assert_eq!(errors[0]["code"], "component-stale", "{errors}");
    assert_eq!(errors[0]["node"], "sq");
    assert_eq!(errors[1]["code"], "component-stale");
    assert_eq!(errors[1]["node"], "alone");

    let before = env.commits("users/alice");
    let refused = env.json("alice", "POST", "/workflows/stale/execute", &json!({}));
    assert_eq!(refused.status, 422, "{}", refused.body);
    let body = refused.json();
    assert_eq!(body["error"]["code"], "workflow-invalid");
    assert_eq!(body["validation"]["errors"][0]["code"], "component-stale");
    assert_eq!(
        env.commits("users/alice"),
        before,
        "a refused run records nothing"
    );

    let checked = env.expect(
        200,
        "alice",
        "POST",
        "/workflows/validate",
        &json!({"workflow": workflow("unbuilt", "square-unbuilt", "square", None)}),
    );
    assert_eq!(checked["valid"], false);
    let first = &checked["errors"][0];
    assert_eq!(first["code"], "component-not-built", "{checked}");
    assert_eq!(first["node"], "sq");
    let message = first["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("llmos skills build square-unbuilt")
            && message.contains("POST /skills/square-unbuilt/build"),
        "{message}"
    );

    // A skill that is not compiled runs only where it runs.
    let mut plot = workflow("placed", "square-old", "square", None);
    plot["nodes"][0]["where"] = json!("browser");
    let checked = env.expect(
        200,
        "alice",
        "POST",
        "/workflows/validate",
        &json!({"workflow": plot}),
    );
    let codes: Vec<(&str, &str)> = checked["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| (e["code"].as_str().unwrap(), e["node"].as_str().unwrap()))
        .collect();
    assert!(codes.contains(&("placement-unsupported", "k")), "{codes:?}");
}
