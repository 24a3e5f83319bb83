//! The Workflows API through the real host: storage with history, rollback
//! and promotion; validation; execution at the edge with a failing node;
//! pinned skill versions; run records; access rules; bad input.
//!
//! Build the artifacts first (from the workspace root):
//!     cargo build --release -p llmos-host
//!     cargo build --target wasm32-wasip2 --release -p auth -p skills -p workflows

mod workflows_support;

use serde_json::{Value, json};
use workflows_support::Env;

/// A JavaScript skill (runs in the browser) whose input default and code
/// say which version it is.
fn scale_skill(version: u32) -> String {
    format!(
        "---\nskill_id: scale-node\nname: Scale\ntype: javascript\nexecution_mode: browser-wasm\n\
         category: data\ndescription: Multiplies a number.\ninputs:\n  - name: x\n    type: number\n\
         \x20 - name: factor\n    type: number\n    default: {}\noutputs:\n  - name: y\n    type: number\n\
         ---\nScales `x`.\n\n```javascript\n// version {version}\n\
         function execute(inputs) {{ return {{ y: inputs.x * inputs.factor }}; }}\n```\n",
        version + 1
    )
}

/// constant(3) → scale-node.x
fn scaling_workflow(id: &str) -> Value {
    json!({
        "id": id, "name": "Scaling",
        "nodes": [
            {"id": "k", "skill_id": "builtin:constant", "position": {"x": 0, "y": 0}, "params": {"value": 3}},
            {"id": "s", "skill_id": "scale-node", "position": {"x": 200, "y": 0}}
        ],
        "edges": [{"source": "k", "source_port": "value", "target": "s", "target_port": "x"}]
    })
}

/// constant → math (x * 2) → math (y + 1)
fn doubling_workflow(id: &str) -> Value {
    json!({
        "id": id, "name": "Doubling",
        "nodes": [
            {"id": "k", "skill_id": "builtin:constant", "position": {"x": 0, "y": 0}, "params": {"value": 21}},
            {"id": "m", "skill_id": "builtin:math", "position": {"x": 200, "y": 0}, "params": {"expression": "x * 2"}},
            {"id": "p", "skill_id": "builtin:math", "position": {"x": 400, "y": 0}, "params": {"expression": "y + 1"}}
        ],
        "edges": [
            {"source": "k", "source_port": "value", "target": "m", "target_port": "x"},
            {"source": "m", "source_port": "result", "target": "p", "target_port": "y"}
        ],
        "note": "unknown fields are kept"
    })
}

fn ids(list: &Value) -> Vec<String> {
    list["workflows"]
        .as_array()
        .expect("workflows")
        .iter()
        .map(|w| w["id"].as_str().expect("id").to_owned())
        .collect()
}

#[test]
fn workflows_are_stored_listed_versioned_and_rolled_back() {
    let env = Env::start();
    let created = env.expect(
        201,
        "alice",
        "POST",
        "/workflows",
        &json!({"user_id": "alice", "workflow": doubling_workflow("doubling")}),
    );
    assert_eq!(created["id"], "doubling");
    assert_eq!(created["volume"], "users/alice");
    assert_eq!(created["validation"]["valid"], true);
    let first = created["commit"].as_str().unwrap().to_owned();
    assert_eq!(first.len(), 40);

    // Read back: the workflow with unknown fields, where it is, its commit.
    let shown = env.expect(200, "alice", "GET", "/workflows/doubling", &Value::Null);
    assert_eq!(shown["commit"], first.as_str());
    assert_eq!(shown["workflow"]["note"], "unknown fields are kept");
    assert_eq!(
        shown["workflow"]["nodes"][1]["params"]["expression"],
        "x * 2"
    );
    assert!(shown["updated_at"].as_str().unwrap().ends_with('Z'));
    // The raw file is the canonical export and imports to the same workflow.
    let raw = env.get("alice", "/workflows/doubling/raw");
    assert_eq!(raw.status, 200);
    assert_eq!(raw.header("x-workflow-commit"), Some(first.as_str()));
    assert!(raw.body.ends_with("}\n"));
    let exported: Value = serde_json::from_str(&raw.body).unwrap();
    assert_eq!(exported, shown["workflow"]);

    // A second one without an id gets one made from its name.
    let mut unnamed = doubling_workflow("");
    unnamed["name"] = json!("Second Flow!");
    let second = env.expect(
        201,
        "alice",
        "POST",
        "/workflows",
        &json!({"workflow": unnamed}),
    );
    let second_id = second["id"].as_str().unwrap().to_owned();
    assert!(second_id.starts_with("second-flow-"), "{second_id}");
    let list = env.expect(
        200,
        "alice",
        "GET",
        "/workflows?user_id=alice",
        &Value::Null,
    );
    let mut expected = vec!["doubling".to_owned(), second_id.clone()];
    expected.sort();
    assert_eq!(ids(&list), expected);
    let listed = &list["workflows"][0];
    assert_eq!(listed["name"], "Doubling");
    assert_eq!(listed["commit"], first.as_str());
    assert_eq!(listed["volume"], "users/alice");

    // Creating the same id again is a conflict and changes nothing.
    let before = env.commits("users/alice");
    env.expect(
        409,
        "alice",
        "POST",
        "/workflows",
        &json!({"workflow": doubling_workflow("doubling")}),
    );
    assert_eq!(env.commits("users/alice"), before);

    // Update, history, rollback.
    let mut changed = doubling_workflow("doubling");
    changed["name"] = json!("Doubling v2");
    let updated = env.expect(
        200,
        "alice",
        "PUT",
        "/workflows/doubling",
        &json!({"workflow": changed, "message": "Rename the doubling"}),
    );
    let second_commit = updated["commit"].as_str().unwrap().to_owned();
    assert_ne!(second_commit, first);
    let history = env.expect(
        200,
        "alice",
        "GET",
        "/workflows/doubling/history",
        &Value::Null,
    );
    let commits: Vec<&str> = history["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["commit"].as_str().unwrap())
        .collect();
    assert_eq!(commits, [second_commit.as_str(), first.as_str()]);
    assert_eq!(history["commits"][0]["message"], "Rename the doubling");
    let old = env.expect(
        200,
        "alice",
        "GET",
        &format!("/workflows/doubling?commit={first}"),
        &Value::Null,
    );
    assert_eq!(old["workflow"]["name"], "Doubling");
    let rolled = env.expect(
        200,
        "alice",
        "POST",
        "/workflows/doubling/rollback",
        &json!({"commit": first}),
    );
    assert_eq!(rolled["changed"], true);
    let shown = env.expect(200, "alice", "GET", "/workflows/doubling", &Value::Null);
    assert_eq!(shown["workflow"]["name"], "Doubling");
    assert_eq!(shown["commit"], rolled["commit"]);

    // Delete: gone from the list, history stays, rollback restores it.
    env.expect(200, "alice", "DELETE", "/workflows/doubling", &Value::Null);
    env.expect(404, "alice", "GET", "/workflows/doubling", &Value::Null);
    let list = env.expect(200, "alice", "GET", "/workflows", &Value::Null);
    assert_eq!(ids(&list), std::slice::from_ref(&second_id));
    let history = env.expect(
        200,
        "alice",
        "GET",
        "/workflows/doubling/history",
        &Value::Null,
    );
    assert_eq!(history["commits"][0]["deleted"], true);
    env.expect(
        200,
        "alice",
        "POST",
        "/workflows/doubling/rollback",
        &json!({"commit": second_commit}),
    );
    let shown = env.expect(200, "alice", "GET", "/workflows/doubling", &Value::Null);
    assert_eq!(shown["workflow"]["name"], "Doubling v2");
    env.expect(
        404,
        "alice",
        "DELETE",
        "/workflows/never-stored",
        &Value::Null,
    );
}

#[test]
fn promotion_shares_workflows_and_moves_their_pins() {
    let env = Env::start();
    let skill_commit = env.put_skill("alice", "users/alice", &scale_skill(1));
    let saved = env.expect(
        201,
        "alice",
        "POST",
        "/workflows",
        &json!({"workflow": scaling_workflow("scaling")}),
    );
    assert_eq!(saved["pinned"], json!(["s"]));
    let stored = env.expect(200, "alice", "GET", "/workflows/scaling", &Value::Null);
    assert_eq!(
        stored["workflow"]["nodes"][1]["skill_commit"],
        skill_commit.as_str()
    );

    // The team cannot read alice's skill: promoting the workflow first is
    // refused, and nothing lands in the team volume.
    let before = env.commits("teams/core");
    let refused = env.expect(
        409,
        "alice",
        "POST",
        "/workflows/promote",
        &json!({"team_id": "core", "id": "scaling"}),
    );
    assert_eq!(refused["error"]["code"], "skill-not-promoted");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("scale-node")
    );
    assert_eq!(env.commits("teams/core"), before);

    // Promote the skill, then the workflow: its pin moves to the team's copy.
    let skill = env.expect(
        200,
        "alice",
        "POST",
        "/skills/promote",
        &json!({"user_id": "alice", "team_id": "core", "skill_id": "scale-node"}),
    );
    let team_skill_commit = skill["commit"].as_str().unwrap().to_owned();
    let promoted = env.expect(
        200,
        "alice",
        "POST",
        "/workflows/promote",
        &json!({"team_id": "core", "id": "scaling", "reason": "for the team"}),
    );
    assert_eq!(
        (promoted["from"].clone(), promoted["to"].clone()),
        (json!("users/alice"), json!("teams/core"))
    );
    assert_eq!(promoted["repinned"], json!(["s"]));
    assert_eq!(promoted["validation"]["valid"], true);

    // carol (team core) sees and runs it; bob (team other) does not.
    let carol_list = env.expect(200, "carol", "GET", "/workflows", &Value::Null);
    assert_eq!(ids(&carol_list), ["scaling"]);
    assert_eq!(carol_list["workflows"][0]["volume"], "teams/core");
    let team_copy = env.expect(200, "carol", "GET", "/workflows/scaling", &Value::Null);
    assert_eq!(
        team_copy["workflow"]["nodes"][1]["skill_commit"],
        team_skill_commit.as_str()
    );
    let run = env.expect(
        200,
        "carol",
        "POST",
        "/workflows/scaling/execute",
        &json!({}),
    );
    assert_eq!(run["nodes"]["s"]["where"], "browser");
    assert_eq!(run["nodes"]["s"]["commit"], team_skill_commit.as_str());
    env.expect(404, "bob", "GET", "/workflows/scaling", &Value::Null);
    // alice's own copy still shadows the team's for her.
    let mine = env.expect(200, "alice", "GET", "/workflows/scaling", &Value::Null);
    assert_eq!(mine["volume"], "users/alice");

    // team → system: admins only.
    let system_before = env.commits("system");
    env.expect(
        403,
        "alice",
        "POST",
        "/workflows/promote",
        &json!({"team_id": "core", "id": "scaling", "target": "system"}),
    );
    env.expect(
        403,
        "bob",
        "POST",
        "/workflows/promote",
        &json!({"team_id": "core", "id": "scaling"}),
    );
    assert_eq!(env.commits("system"), system_before);
    // The system cannot read the team's skill version either.
    env.expect(
        409,
        "admin",
        "POST",
        "/workflows/promote",
        &json!({"team_id": "core", "id": "scaling", "target": "system"}),
    );
    // A workflow of built-in nodes only goes through.
    env.expect(
        201,
        "carol",
        "POST",
        "/workflows",
        &json!({"volume": "team", "team_id": "core", "workflow": doubling_workflow("doubling")}),
    );
    let to_system = env.expect(
        200,
        "admin",
        "POST",
        "/workflows/promote",
        &json!({"team_id": "core", "id": "doubling", "target": "system"}),
    );
    assert_eq!(to_system["to"], "system");
    let bob_list = env.expect(200, "bob", "GET", "/workflows", &Value::Null);
    assert_eq!(ids(&bob_list), ["doubling"]);
    assert_eq!(bob_list["workflows"][0]["volume"], "system");
    // Reading the system's is allowed; changing it is not.
    env.expect(
        403,
        "bob",
        "PUT",
        "/workflows/doubling",
        &json!({"workflow": doubling_workflow("doubling")}),
    );
    env.expect(403, "bob", "DELETE", "/workflows/doubling", &Value::Null);
}

#[test]
fn validation_lists_every_error_with_its_node_or_edge() {
    let env = Env::start();
    let workflow = json!({
        "id": "broken", "name": "Broken",
        "nodes": [
            {"id": "a", "skill_id": "builtin:constant", "params": {"value": 1}},
            {"id": "a", "skill_id": "builtin:constant", "params": {"value": 2}},
            {"id": "u", "skill_id": "no-such-skill"},
            {"id": "m", "skill_id": "builtin:math", "params": {"expression": "x +"}},
            {"id": "c1", "skill_id": "builtin:math", "params": {"expression": "x"}},
            {"id": "c2", "skill_id": "builtin:math", "params": {"expression": "x"}},
            {"id": "plot", "skill_id": "data-plot-node"}
        ],
        "edges": [
            {"source": "a", "source_port": "nope", "target": "m", "target_port": "x"},
            {"source": "ghost", "source_port": "value", "target": "m", "target_port": "y"},
            {"source": "c1", "source_port": "result", "target": "c2", "target_port": "x"},
            {"source": "c2", "source_port": "result", "target": "c1", "target_port": "x"}
        ]
    });
    let report = env.expect(
        200,
        "alice",
        "POST",
        "/workflows/validate",
        &json!({"workflow": workflow}),
    );
    assert_eq!(report["valid"], false);
    let errors = report["errors"].as_array().unwrap();
    let has = |code: &str, node: Option<&str>, edge: Option<u64>| {
        errors.iter().any(|e| {
            e["code"] == code
                && node.is_none_or(|n| e["node"] == n)
                && edge.is_none_or(|k| e["edge"] == k)
        })
    };
    assert!(has("duplicate-node-id", Some("a"), None), "{errors:#?}");
    assert!(has("unknown-skill", Some("u"), None), "{errors:#?}");
    assert!(
        has("unknown-output-port", Some("a"), Some(0)),
        "{errors:#?}"
    );
    assert!(has("unknown-node", Some("ghost"), Some(1)), "{errors:#?}");
    assert!(has("invalid-param", Some("m"), None), "{errors:#?}");
    assert!(has("missing-input", Some("plot"), None), "{errors:#?}");
    let cycle = errors
        .iter()
        .find(|e| e["code"] == "cycle")
        .expect("a cycle");
    assert_eq!(cycle["nodes"], json!(["c1", "c2"]));
    assert!(
        errors
            .iter()
            .all(|e| e["message"].as_str().is_some_and(|m| !m.is_empty()))
    );

    // A valid one: levels and where each node runs.
    let ok = env.expect(
        200,
        "alice",
        "POST",
        "/workflows/validate",
        &json!({"workflow": doubling_workflow("d")}),
    );
    assert_eq!(ok["valid"], true);
    assert_eq!(ok["errors"], json!([]));
    assert_eq!(ok["levels"], json!([["k"], ["m"], ["p"]]));
    assert_eq!(ok["where"]["m"], "edge");

    // A skill the user cannot see is unknown (bob's own skill, for alice).
    env.put_skill("bob", "users/bob", &scale_skill(1));
    let for_alice = env.expect(
        200,
        "alice",
        "POST",
        "/workflows/validate",
        &json!({"workflow": scaling_workflow("w")}),
    );
    assert_eq!(for_alice["errors"][0]["code"], "unknown-skill");
    let for_bob = env.expect(
        200,
        "bob",
        "POST",
        "/workflows/validate",
        &json!({"workflow": scaling_workflow("w")}),
    );
    assert_eq!(for_bob["valid"], true, "{for_bob}");
    assert_eq!(for_bob["where"]["s"], "browser");
}

#[test]
fn a_failed_node_skips_only_its_descendants_and_the_run_is_recorded() {
    let env = Env::start();
    // k → bad (divides by zero) → after;  k → fine
    let workflow = json!({
        "id": "failing", "name": "Failing middle",
        "nodes": [
            {"id": "k", "skill_id": "builtin:constant", "params": {"value": 4}},
            {"id": "bad", "skill_id": "builtin:math", "params": {"expression": "x / 0"}},
            {"id": "after", "skill_id": "builtin:math", "params": {"expression": "y + 1"}},
            {"id": "fine", "skill_id": "builtin:math", "params": {"expression": "x * 10"}}
        ],
        "edges": [
            {"source": "k", "source_port": "value", "target": "bad", "target_port": "x"},
            {"source": "bad", "source_port": "result", "target": "after", "target_port": "y"},
            {"source": "k", "source_port": "value", "target": "fine", "target_port": "x"}
        ]
    });
    env.expect(
        201,
        "alice",
        "POST",
        "/workflows",
        &json!({"workflow": workflow}),
    );
    let run = env.expect(
        200,
        "alice",
        "POST",
        "/workflows/failing/execute",
        &json!({}),
    );
    assert_eq!(run["status"], "failed");
    let nodes = &run["nodes"];
    assert_eq!(nodes["k"]["status"], "done");
    assert_eq!(nodes["bad"]["status"], "failed");
    assert!(
        nodes["bad"]["error"]
            .as_str()
            .unwrap()
            .contains("division by zero")
    );
    assert_eq!(nodes["after"]["status"], "skipped");
    assert_eq!(nodes["fine"]["status"], "done");
    assert_eq!(nodes["fine"]["outputs"]["result"], 40);
    for id in ["k", "bad", "fine"] {
        assert_eq!(nodes[id]["where"], "edge");
        assert!(nodes[id]["duration_ms"].as_f64().unwrap() >= 0.0);
    }

    // The run is a trace with what a replay needs.
    let trace_id = run["trace_id"].as_str().expect("recorded").to_owned();
    assert_eq!(run["run_id"], trace_id.as_str());
    let trace = env.trace(&trace_id).expect("the trace is indexed");
    assert_eq!(trace["kind"], "workflow-run");
    assert_eq!(trace["task"], "Failing middle");
    assert_eq!(trace["outcome"], "error");
    assert_eq!(
        trace["sequence"],
        json!([
            "builtin:constant",
            "builtin:math",
            "builtin:math",
            "builtin:math"
        ])
    );
    assert_eq!(
        trace["skills_used"],
        json!(["builtin:constant", "builtin:math"])
    );
    let details = &trace["details"];
    assert_eq!(details["workflow_id"], "failing");
    assert_eq!(details["workflow_commit"], run["commit"]);
    assert_eq!(details["nodes"]["fine"]["outputs"]["result"], 40);
    assert!(
        details["skill_commits"]["builtin:math"][0]
            .as_str()
            .unwrap()
            .starts_with("llmos-core@")
    );

    // Run inputs override params and are kept in the trace.
    let run = env.expect(
        200,
        "alice",
        "POST",
        "/workflows/failing/execute",
        &json!({"inputs": {"k": {"value": 5}}}),
    );
    assert_eq!(run["nodes"]["fine"]["outputs"]["result"], 50);
    let trace = env.trace(run["trace_id"].as_str().unwrap()).unwrap();
    assert_eq!(trace["details"]["inputs"], json!({"k": {"value": 5}}));
    // Inputs for a node or port the workflow lacks are refused, unrecorded.
    let traces = env.trace_count("alice");
    for inputs in [
        json!({"nope": {"value": 1}}),
        json!({"k": {"nope": 1}}),
        json!({"k": 3}),
        json!([1]),
    ] {
        env.expect(
            400,
            "alice",
            "POST",
            "/workflows/failing/execute",
            &json!({"inputs": inputs}),
        );
    }
    assert_eq!(env.trace_count("alice"), traces);

    // An invalid stored workflow does not run: 422 with its report.
    let invalid = json!({"id": "invalid", "nodes": [{"id": "m", "skill_id": "builtin:math"}]});
    env.expect(
        201,
        "alice",
        "POST",
        "/workflows",
        &json!({"workflow": invalid}),
    );
    let refused = env.expect(
        422,
        "alice",
        "POST",
        "/workflows/invalid/execute",
        &json!({}),
    );
    assert_eq!(refused["error"]["code"], "workflow-invalid");
    assert_eq!(refused["validation"]["errors"][0]["code"], "missing-input");
}

#[test]
fn a_pinned_node_runs_the_skill_version_it_was_saved_with() {
    let env = Env::start();
    let v1 = env.put_skill("alice", "users/alice", &scale_skill(1));
    env.expect(
        201,
        "alice",
        "POST",
        "/workflows",
        &json!({"workflow": scaling_workflow("pinned")}),
    );
    let mut following = scaling_workflow("following");
    following["nodes"][1]["follow_latest"] = json!(true);
    let saved = env.expect(
        201,
        "alice",
        "POST",
        "/workflows",
        &json!({"workflow": following}),
    );
    assert_eq!(saved["pinned"], json!([]));

    let v2 = env.put_skill("alice", "users/alice", &scale_skill(2));
    assert_ne!(v1, v2);

    // The pinned workflow still gets version 1: its default and its code.
    let run = env.expect(
        200,
        "alice",
        "POST",
        "/workflows/pinned/execute",
        &json!({}),
    );
    assert_eq!(run["status"], "pending", "the browser node is still to run");
    assert!(
        run["trace_id"].is_null(),
        "recorded when the browser reports it"
    );
    let s = &run["nodes"]["s"];
    assert_eq!(s["status"], "pending");
    assert_eq!(s["where"], "browser");
    assert_eq!(s["commit"], v1.as_str());
    assert_eq!(s["inputs"], json!({"x": 3, "factor": 2}));
    assert!(s["code"].as_str().unwrap().contains("// version 1"));
    assert_eq!(
        run["skill_commits"]["builtin:constant"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The one that follows the latest version gets version 2.
    let run = env.expect(
        200,
        "alice",
        "POST",
        "/workflows/following/execute",
        &json!({}),
    );
    let s = &run["nodes"]["s"];
    assert_eq!(s["commit"], v2.as_str());
    assert_eq!(s["inputs"], json!({"x": 3, "factor": 3}));
    assert!(s["code"].as_str().unwrap().contains("// version 2"));

    // Validation says the pin is behind.
    let stored = env.expect(200, "alice", "GET", "/workflows/pinned", &Value::Null);
    let report = env.expect(
        200,
        "alice",
        "POST",
        "/workflows/validate",
        &json!({"workflow": stored["workflow"]}),
    );
    assert_eq!(report["valid"], true);
    assert_eq!(report["warnings"][0]["code"], "pinned-commit-not-latest");
    assert_eq!(report["warnings"][0]["node"], "s");
    assert_eq!(report["commits"]["s"], v1.as_str());

    // Moving the skill away (promoted to the team, deleted from alice's
    // volume) leaves the pinned version readable through history.
    env.expect(
        200,
        "alice",
        "POST",
        "/skills/promote",
        &json!({"team_id": "core", "skill_id": "scale-node"}),
    );
    env.expect(
        200,
        "alice",
        "DELETE",
        "/skills/scale-node?volume=users/alice",
        &Value::Null,
    );
    let run = env.expect(
        200,
        "alice",
        "POST",
        "/workflows/pinned/execute",
        &json!({}),
    );
    let s = &run["nodes"]["s"];
    assert_eq!(s["commit"], v1.as_str());
    assert_eq!(s["inputs"]["factor"], 2);
    assert!(s["code"].as_str().unwrap().contains("// version 1"));

    // Saving again keeps the pin; asking the whole workflow to follow the
    // latest version drops it at run time.
    let mut latest = stored["workflow"].clone();
    latest["follow_latest"] = json!(true);
    let saved = env.expect(
        200,
        "alice",
        "PUT",
        "/workflows/pinned",
        &json!({"workflow": latest}),
    );
    assert_eq!(saved["pinned"], json!([]));
    let run = env.expect(
        200,
        "alice",
        "POST",
        "/workflows/pinned/execute",
        &json!({}),
    );
    assert_eq!(run["nodes"]["s"]["inputs"]["factor"], 3);
    assert_ne!(run["nodes"]["s"]["commit"], v1.as_str());
}

#[test]
fn browser_run_reports_are_recorded_and_bad_ones_change_nothing() {
    let env = Env::start();
    env.put_skill("alice", "users/alice", &scale_skill(1));
    env.expect(
        201,
        "alice",
        "POST",
        "/workflows",
        &json!({"workflow": scaling_workflow("scaling")}),
    );
    let edge = env.expect(
        200,
        "alice",
        "POST",
        "/workflows/scaling/execute",
        &json!({}),
    );
    let run_id = edge["run_id"].as_str().unwrap().to_owned();
    // The page finishes the run and reports it, as its run panel does.
    let mut nodes = edge["nodes"].clone();
    nodes["s"] = json!({
        "status": "done", "skill_id": "scale-node", "commit": edge["nodes"]["s"]["commit"],
        "where": "browser", "outputs": {"y": 6}, "error": null, "duration_ms": 2.5
    });
    let report = json!({
        "workflow_id": "scaling", "status": "done", "nodes": nodes, "duration_ms": 12.5,
        "workflow_name": "Scaling", "where": "browser", "started_at": "2026-11-25T01:00:00.000Z",
        "stopped": false, "logs": {"s": "scaled\n"}, "user_id": "alice", "team_id": "core",
        "run_id": run_id,
    });
    let recorded = env.expect(201, "alice", "POST", "/workflows/runs", &report);
    assert_eq!(recorded["trace_id"], run_id.as_str());
    let trace = env.trace(&run_id).expect("indexed");
    assert_eq!(trace["outcome"], "success");
    assert_eq!(trace["team_id"], "core");
    assert_eq!(trace["sequence"], json!(["builtin:constant", "scale-node"]));
    assert_eq!(trace["details"]["where"], "browser");
    assert_eq!(trace["details"]["nodes"]["s"]["outputs"]["y"], 6);
    assert_eq!(trace["details"]["logs"]["s"], "scaled\n");
    assert_eq!(trace["duration_ms"], 13);
    // The same run is not recorded twice.
    env.expect(409, "alice", "POST", "/workflows/runs", &report);

    // Bad reports: 4xx, and no volume changes.
    let before = env.snapshot();
    let traces = env.trace_count("alice");
    let mut without_run = report.clone();
    without_run.as_object_mut().unwrap().remove("run_id");
    let with = |key: &str, value: Value| {
        let mut r = without_run.clone();
        r[key] = value;
        r
    };
    let mut bad_node = without_run.clone();
    bad_node["nodes"]["s"]["status"] = json!("exploded");
    let mut inconsistent = without_run.clone();
    inconsistent["nodes"]["s"]["status"] = json!("failed");
    for (status, body) in [
        (400, with("status", json!("failed"))),
        (400, with("nodes", json!({}))),
        (400, with("nodes", json!([]))),
        (400, with("surprise", json!(1))),
        (400, with("duration_ms", json!(-3))),
        (400, with("workflow_id", json!("Not/An/Id"))),
        (400, with("order", json!(["s", "nobody"]))),
        (400, with("run_id", json!("not-a-run"))),
        (400, bad_node),
        (400, inconsistent),
        (403, with("user_id", json!("bob"))),
        (403, with("team_id", json!("other"))),
    ] {
        env.expect(status, "alice", "POST", "/workflows/runs", &body);
    }
    for raw in ["", "{", "[1, 2]", "\"run\"", "null"] {
        let reply = env.call(
            "alice",
            "POST",
            "/workflows/runs",
            Some(("application/json", raw.as_bytes().to_vec())),
        );
        assert_eq!(reply.status, 400, "{raw}: {}", reply.body);
        assert!(reply.json()["error"]["code"].is_string());
    }
    assert_eq!(env.snapshot(), before);
    assert_eq!(env.trace_count("alice"), traces);
}

#[test]
fn other_users_workflows_are_neither_visible_nor_writable() {
    let env = Env::start();
    env.expect(
        201,
        "alice",
        "POST",
        "/workflows",
        &json!({"workflow": doubling_workflow("private")}),
    );
    let before = env.snapshot();
    // Not in bob's view: 404, as if it did not exist.
    for (method, path, body) in [
        ("GET", "/workflows/private", Value::Null),
        ("GET", "/workflows/private/raw", Value::Null),
        (
            "PUT",
            "/workflows/private",
            json!({"workflow": doubling_workflow("private")}),
        ),
        ("DELETE", "/workflows/private", Value::Null),
        ("POST", "/workflows/private/execute", json!({})),
    ] {
        env.expect(404, "bob", method, path, &body);
    }
    assert!(ids(&env.expect(200, "bob", "GET", "/workflows", &Value::Null)).is_empty());
    // Naming alice's volume or alice: 403.
    for (method, path, body) in [
        ("GET", "/workflows/private?volume=users/alice", Value::Null),
        ("GET", "/workflows?user_id=alice", Value::Null),
        ("GET", "/workflows?volume=users/alice", Value::Null),
        (
            "GET",
            "/workflows/private/history?volume=users/alice",
            Value::Null,
        ),
        (
            "DELETE",
            "/workflows/private?volume=users/alice",
            Value::Null,
        ),
        (
            "POST",
            "/workflows/private/execute",
            json!({"volume": "users/alice"}),
        ),
        (
            "POST",
            "/workflows/private/rollback",
            json!({"volume": "users/alice", "commit": before["users/alice"][0]}),
        ),
        (
            "POST",
            "/workflows",
            json!({"user_id": "alice", "workflow": doubling_workflow("x")}),
        ),
        (
            "POST",
            "/workflows",
            json!({"volume": "teams/core", "workflow": doubling_workflow("x")}),
        ),
        (
            "POST",
            "/workflows",
            json!({"volume": "system", "workflow": doubling_workflow("x")}),
        ),
        (
            "POST",
            "/workflows/promote",
            json!({"user_id": "alice", "team_id": "core", "id": "private"}),
        ),
        (
            "POST",
            "/workflows/validate",
            json!({"workflow": doubling_workflow("x"), "volume": "users/alice"}),
        ),
    ] {
        env.expect(403, "bob", method, path, &body);
    }
    // No token at all: 401.
    for (method, path) in [
        ("GET", "/workflows"),
        ("GET", "/workflows/private"),
        ("POST", "/workflows/private/execute"),
    ] {
        env.expect(401, "none", method, path, &json!({}));
    }
    assert_eq!(env.snapshot(), before);
    // An admin may act for alice.
    let shown = env.expect(
        200,
        "admin",
        "GET",
        "/workflows/private?volume=users/alice",
        &Value::Null,
    );
    assert_eq!(shown["workflow"]["name"], "Doubling");
}

/// Expected status, method, path and (content type, body) of a request.
type Case = (
    u16,
    &'static str,
    &'static str,
    Option<(&'static str, String)>,
);

#[test]
fn malformed_requests_are_refused_and_change_nothing() {
    let env = Env::start();
    env.expect(
        201,
        "alice",
        "POST",
        "/workflows",
        &json!({"workflow": doubling_workflow("kept")}),
    );
    let before = env.snapshot();
    let listing = env.get("alice", "/workflows").body;
    let many_nodes: Vec<Value> = (0..5001)
        .map(|i| json!({"id": format!("n{i}"), "skill_id": "builtin:constant", "params": {"value": i}}))
        .collect();
    let cases: Vec<Case> = vec![
        (
            400,
            "POST",
            "/workflows",
            Some(("application/json", "{".into())),
        ),
        (
            400,
            "POST",
            "/workflows",
            Some(("application/json", "".into())),
        ),
        (
            400,
            "POST",
            "/workflows",
            Some(("application/json", "[]".into())),
        ),
        (
            400,
            "POST",
            "/workflows",
            Some(("application/json", r#"{"workflow": [1]}"#.into())),
        ),
        (
            400,
            "POST",
            "/workflows",
            Some(("application/json", r#"{"workflow": {"nodes": 3}}"#.into())),
        ),
        (
            400,
            "POST",
            "/workflows",
            Some((
                "application/json",
                r#"{"workflow": {"nodes": [{"id": 1}]}}"#.into(),
            )),
        ),
        (
            400,
            "POST",
            "/workflows",
            Some(("application/json", r#"{"wf": {}}"#.into())),
        ),
        (
            400,
            "POST",
            "/workflows",
            Some(("application/json", r#"{"workflow": {}, "extra": 1}"#.into())),
        ),
        (
            400,
            "POST",
            "/workflows",
            Some((
                "application/json",
                r#"{"workflow": {"id": "Bad Id"}}"#.into(),
            )),
        ),
        (
            400,
            "POST",
            "/workflows",
            Some((
                "application/json",
                r#"{"workflow": {"id": "../etc"}}"#.into(),
            )),
        ),
        (
            400,
            "POST",
            "/workflows",
            Some((
                "application/json",
                r#"{"workflow": {"id": "validate"}}"#.into(),
            )),
        ),
        (
            400,
            "POST",
            "/workflows",
            Some((
                "application/json",
                r#"{"volume": "nowhere", "workflow": {}}"#.into(),
            )),
        ),
        (
            415,
            "POST",
            "/workflows",
            Some(("text/plain", r#"{"workflow": {}}"#.into())),
        ),
        (
            413,
            "POST",
            "/workflows",
            Some((
                "application/json",
                json!({"workflow": {"id": "huge", "nodes": many_nodes}}).to_string(),
            )),
        ),
        (
            400,
            "PUT",
            "/workflows/kept",
            Some(("application/json", "{".into())),
        ),
        (
            400,
            "PUT",
            "/workflows/kept",
            Some(("application/json", r#"{"workflow": "x"}"#.into())),
        ),
        (
            422,
            "PUT",
            "/workflows/kept",
            Some((
                "application/json",
                r#"{"workflow": {"id": "other"}}"#.into(),
            )),
        ),
        (
            404,
            "PUT",
            "/workflows/missing",
            Some(("application/json", r#"{"workflow": {}}"#.into())),
        ),
        (
            400,
            "PUT",
            "/workflows/BAD",
            Some(("application/json", r#"{"workflow": {}}"#.into())),
        ),
        (
            400,
            "POST",
            "/workflows/kept/rollback",
            Some(("application/json", r#"{"commit": "abc"}"#.into())),
        ),
        (
            400,
            "POST",
            "/workflows/kept/rollback",
            Some(("application/json", "{}".into())),
        ),
        (
            404,
            "POST",
            "/workflows/kept/rollback",
            Some((
                "application/json",
                json!({"commit": "0".repeat(40)}).to_string(),
            )),
        ),
        (
            400,
            "POST",
            "/workflows/kept/execute",
            Some(("application/json", "{".into())),
        ),
        (
            400,
            "POST",
            "/workflows/kept/execute",
            Some(("application/json", r#"{"inputs": 1}"#.into())),
        ),
        (
            400,
            "POST",
            "/workflows/kept/execute",
            Some(("application/json", r#"{"input": {}}"#.into())),
        ),
        (
            400,
            "POST",
            "/workflows/validate",
            Some(("application/json", r#"{"workflow": 1}"#.into())),
        ),
        (
            400,
            "POST",
            "/workflows/validate",
            Some(("application/json", "{}".into())),
        ),
        (
            400,
            "POST",
            "/workflows/promote",
            Some(("application/json", r#"{"id": "kept"}"#.into())),
        ),
        (
            400,
            "POST",
            "/workflows/promote",
            Some((
                "application/json",
                r#"{"id": "kept", "team_id": "core", "target": "moon"}"#.into(),
            )),
        ),
        (
            404,
            "POST",
            "/workflows/promote",
            Some((
                "application/json",
                r#"{"id": "nope", "team_id": "core"}"#.into(),
            )),
        ),
        (400, "GET", "/workflows/kept/history?limit=x", None),
        (400, "GET", "/workflows/kept?commit=zz", None),
        (400, "GET", "/workflows?volume=nowhere", None),
        (405, "PATCH", "/workflows/kept", None),
        (404, "GET", "/workflows/kept/unknown", None),
    ];
    for (status, method, path, body) in cases {
        let reply = env.call(
            "alice",
            method,
            path,
            body.as_ref()
                .map(|(ct, text)| (*ct, text.as_bytes().to_vec())),
        );
        assert_eq!(
            reply.status, status,
            "{method} {path} {body:?}: {}",
            reply.body
        );
        let error = reply.json();
        assert!(
            error["error"]["code"].is_string() && error["error"]["message"].is_string(),
            "{method} {path}: {}",
            reply.body
        );
    }
    assert_eq!(env.snapshot(), before);
    assert_eq!(env.get("alice", "/workflows").body, listing);
    assert_eq!(env.trace_count("alice"), 0);
}

/// The list and a workflow by id are kept ready per state of the volumes
/// they read: each carries an `ETag` (`304` when current), a commit moves
/// it, and no answer is older than a commit acknowledged before it.
#[test]
fn reads_revalidate_and_follow_every_commit() {
    let env = Env::start();
    let created = env.expect(
        201,
        "alice",
        "POST",
        "/workflows",
        &json!({"workflow": doubling_workflow("kept")}),
    );
    let mut commit = created["commit"].as_str().unwrap().to_owned();
    for path in ["/workflows", "/workflows/kept"] {
        let first = env.get("alice", path);
        assert_eq!(first.status, 200, "{}", first.body);
        let tag = first.header("etag").expect("an etag").to_owned();
        let again = env
            .host
            .request(reqwest::Method::GET, path)
            .bearer_auth(&env.tokens["alice"])
            .header("if-none-match", &tag)
            .send()
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
        // Another user's view is another answer.
        let bob = env
            .host
            .request(reqwest::Method::GET, path)
            .bearer_auth(&env.tokens["bob"])
            .header("if-none-match", &tag)
            .send()
            .unwrap();
        assert_ne!(bob.status(), 304, "{path}");
    }
    for n in 0..5 {
        let mut workflow = doubling_workflow("kept");
        workflow["name"] = json!(format!("Version {n}"));
        let updated = env.expect(
            200,
            "alice",
            "PUT",
            "/workflows/kept",
            &json!({"workflow": workflow}),
        );
        assert_ne!(updated["commit"], commit.as_str());
        commit = updated["commit"].as_str().unwrap().to_owned();
        let shown = env.expect(200, "alice", "GET", "/workflows/kept", &Value::Null);
        assert_eq!(shown["name"], format!("Version {n}"));
        assert_eq!(shown["commit"], commit.as_str());
        let listed = env.expect(200, "alice", "GET", "/workflows", &Value::Null);
        let entry = listed["workflows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["id"] == "kept")
            .expect("listed");
        assert_eq!(entry["name"], format!("Version {n}"));
    }
}
