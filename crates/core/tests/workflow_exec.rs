//! Execution: failures skip only descendants, browser nodes wait at the
//! edge with their inputs, runs resume across edge and browser, built-in
//! nodes compute, values are checked at node boundaries.

#[path = "workflow_support/mod.rs"]
mod support;

use llmos_core::workflow::{
    ExecError, Execution, Executors, JsonMap, ManualClock, NodeCall, NodeError, NodeExecutor,
    NodeStatus, Placement, PlannedNode, RunReport, RunStatus, Workflow, WorkflowPlan, execute,
    plan,
};
use serde_json::{Value, json};
use support::{BrowserSkills, EdgeSkills, catalog, edge, node, workflow};

fn planned(wf: &Workflow) -> WorkflowPlan {
    match plan(wf, &catalog()) {
        Ok((plan, _)) => plan,
        Err(report) => panic!("invalid: {:#?}", report.errors),
    }
}

fn status(report: &RunReport, id: &str) -> NodeStatus {
    report.nodes[id].status
}

fn obj(v: Value) -> JsonMap {
    let Value::Object(m) = v else { panic!() };
    m
}

/// Edge skills plus the built-in nodes, as the edge component runs them.
fn at_edge(plan: &WorkflowPlan, skills: &mut EdgeSkills) -> RunReport {
    struct Both<'a>(&'a mut EdgeSkills, Executors);
    impl NodeExecutor for Both<'_> {
        fn can_execute(&self, node: &PlannedNode) -> bool {
            self.0.can_execute(node) || self.1.can_execute(node)
        }
        fn execute(&mut self, call: NodeCall<'_>) -> Result<JsonMap, NodeError> {
            if self.0.can_execute(call.node) {
                self.0.execute(call)
            } else {
                self.1.execute(call)
            }
        }
    }
    let mut both = Both(skills, Executors::builtin());
    execute(
        plan,
        Placement::Edge,
        None,
        &mut both,
        &ManualClock::stepping(1.0),
    )
    .unwrap()
}

#[test]
fn failing_middle_node_skips_only_its_descendants() {
    let wf = workflow(
        vec![
            node("s", "source", json!({})),
            node("f", "fail", json!({})),
            node("d1", "double", json!({})),
            node("d2", "double", json!({})),
            node("side", "double", json!({})),
            node("alone", "source", json!({})),
            node("join", "pair", json!({})),
        ],
        vec![
            edge("s", "value", "f", "x"),
            edge("f", "y", "d1", "x"),
            edge("d1", "y", "d2", "x"),
            edge("s", "value", "side", "x"),
            edge("side", "y", "join", "a"),
            edge("d2", "y", "join", "b"),
        ],
    );
    let plan = planned(&wf);
    let mut skills = EdgeSkills::default();
    let report = at_edge(&plan, &mut skills);
    assert_eq!(report.status, RunStatus::Failed);
    assert_eq!(status(&report, "f"), NodeStatus::Failed);
    assert_eq!(
        report.nodes["f"].error.as_deref(),
        Some("the skill failed on purpose")
    );
    assert_eq!(report.nodes["f"].error_code.as_deref(), Some("boom"));
    for id in ["d1", "d2", "join"] {
        assert_eq!(status(&report, id), NodeStatus::Skipped, "{id}");
        assert_eq!(
            report.nodes[id].error.as_deref(),
            Some("skipped: upstream node `f` failed")
        );
    }
    for id in ["s", "side", "alone"] {
        assert_eq!(status(&report, id), NodeStatus::Done, "{id}");
    }
    assert_eq!(report.nodes["side"].outputs["y"], json!(2.0));
    let ran: Vec<&str> = skills.calls.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ran, ["s", "alone", "f", "side"]);
}

fn mixed_workflow() -> Workflow {
    workflow(
        vec![
            node("s", "source", json!({})),
            node("p", "plot", json!({})),
            node("j", "script", json!({})),
            node("after", "double", json!({})),
            node("d", "double", json!({})),
            node("c", "builtin:constant", json!({"value": {"kind": "cube"}})),
            node("m", "scene", json!({})),
            node("v", "sim", json!({"netlist": "R1 1 0 1k"})),
        ],
        vec![
            edge("s", "value", "p", "data"),
            edge("s", "value", "j", "x"),
            edge("j", "y", "after", "x"),
            edge("s", "value", "d", "x"),
            edge("c", "value", "m", "shape"),
        ],
    )
}

#[test]
fn browser_nodes_wait_at_the_edge_with_their_inputs() {
    let plan = planned(&mixed_workflow());
    let mut skills = EdgeSkills::default();
    let report = at_edge(&plan, &mut skills);
    assert_eq!(report.status, RunStatus::Pending);
    for id in ["s", "d", "c"] {
        assert_eq!(status(&report, id), NodeStatus::Done, "{id}");
        assert_eq!(report.nodes[id].placement, Placement::Edge);
    }
    let p = &report.nodes["p"];
    assert_eq!(p.status, NodeStatus::Pending);
    assert_eq!(p.placement, Placement::Browser);
    assert_eq!(p.inputs, Some(obj(json!({"data": 1, "title": "Plot"}))));
    assert_eq!(
        report.nodes["m"].inputs,
        Some(obj(json!({"shape": {"kind": "cube"}})))
    );
    assert_eq!(
        report.nodes["v"].inputs,
        Some(obj(json!({"netlist": "R1 1 0 1k"})))
    );
    let after = &report.nodes["after"];
    assert_eq!(after.status, NodeStatus::Pending);
    assert_eq!(after.placement, Placement::Edge);
    assert_eq!(after.inputs, None);
    assert_eq!(after.waiting_for, ["j"]);

    let value = serde_json::to_value(&report).unwrap();
    assert_eq!(value["nodes"]["p"]["where"], json!("browser"));
    assert_eq!(value["nodes"]["p"]["status"], json!("pending"));
    assert_eq!(value["nodes"]["p"]["error"], Value::Null);
    assert_eq!(value["nodes"]["s"]["duration_ms"], json!(1.0));
    assert_eq!(value["status"], json!("pending"));
}

#[test]
fn browser_resumes_and_the_edge_finishes() {
    let plan = planned(&mixed_workflow());
    let mut edge_skills = EdgeSkills::default();
    let first = at_edge(&plan, &mut edge_skills);
    assert_eq!(edge_skills.calls.len(), 2, "s and d");

    // The report travels to the browser as JSON.
    let wire: RunReport = serde_json::from_str(&serde_json::to_string(&first).unwrap()).unwrap();
    let mut browser = Execution::resume(&plan, Placement::Browser, &wire).unwrap();
    let mut browser_skills = Executors::builtin().with(Box::new(BrowserSkills::default()));
    let second = browser.run(&mut browser_skills, &ManualClock::stepping(1.0));
    assert_eq!(second.status, RunStatus::Pending);
    for id in ["p", "j", "m", "v"] {
        assert_eq!(status(&second, id), NodeStatus::Done, "{id}");
        assert_eq!(second.nodes[id].placement, Placement::Browser);
    }
    assert_eq!(
        second.nodes["p"].outputs["image"],
        json!("data:image/png;base64,AAAA")
    );
    // `after` is an edge skill: the browser hands it back with its inputs.
    let after = &second.nodes["after"];
    assert_eq!(after.status, NodeStatus::Pending);
    assert_eq!(after.placement, Placement::Edge);
    assert_eq!(after.inputs, Some(obj(json!({"x": 1}))));
    // Nodes done at the edge kept their results and place.
    assert_eq!(second.nodes["s"].placement, Placement::Edge);
    assert_eq!(second.nodes["d"].outputs["y"], json!(2.0));

    let mut edge_again = Execution::resume(&plan, Placement::Edge, &second).unwrap();
    let mut more = EdgeSkills::default();
    let last = {
        struct Only<'a>(&'a mut EdgeSkills);
        impl NodeExecutor for Only<'_> {
            fn can_execute(&self, node: &PlannedNode) -> bool {
                self.0.can_execute(node)
            }
            fn execute(&mut self, call: NodeCall<'_>) -> Result<JsonMap, NodeError> {
                self.0.execute(call)
            }
        }
        edge_again.run(&mut Only(&mut more), &ManualClock::default())
    };
    assert_eq!(last.status, RunStatus::Done);
    assert_eq!(last.nodes["after"].outputs["y"], json!(2.0));
    let ran: Vec<&str> = more.calls.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ran, ["after"], "nothing done before runs again");
    assert!(last.nodes.values().all(|n| n.inputs.is_none()));
}

#[test]
fn resume_accepts_outputs_produced_elsewhere() {
    let wf = workflow(
        vec![
            node("p", "plot", json!({"data": [1, 2]})),
            node("s", "script", json!({})),
            node("j", "builtin:json-path", json!({"path": "$.y"})),
        ],
        vec![edge("p", "image", "s", "x"), edge("s", "y", "j", "input")],
    );
    let plan = planned(&wf);
    let report: RunReport = serde_json::from_value(json!({
        "workflow_id": "wf",
        "status": "pending",
        "nodes": {
            "p": {"status": "done", "skill_id": "plot", "commit": "plot-c2", "where": "browser",
                  "outputs": {"image": "data:image/png;base64,BB"}, "duration_ms": 12.5},
            "s": {"status": "done", "skill_id": "script", "commit": "script-c2", "where": "browser",
                  "outputs": {"y": {"y": 42}}}
        }
    }))
    .unwrap();
    let mut run = Execution::resume(&plan, Placement::Edge, &report).unwrap();
    let done = run.run(&mut Executors::builtin(), &ManualClock::default());
    assert_eq!(done.status, RunStatus::Done);
    assert_eq!(done.nodes["j"].outputs["value"], json!(42));
    assert_eq!(done.nodes["p"].duration_ms, Some(12.5));
    assert_eq!(done.nodes["p"].placement, Placement::Browser);
}

#[test]
fn resume_refuses_stale_or_inconsistent_reports() {
    let wf = workflow(
        vec![
            node("p", "plot", json!({"data": 1})),
            node("s", "script", json!({})),
        ],
        vec![edge("p", "image", "s", "x")],
    );
    let plan = planned(&wf);
    let done = |commit: &str| {
        json!({"status": "done", "skill_id": "x", "commit": commit, "where": "browser",
               "outputs": {"image": "data:image/png;base64,", "y": 1}})
    };
    let stale: RunReport = serde_json::from_value(json!({
        "status": "pending", "nodes": {"p": done("plot-c1")}
    }))
    .unwrap();
    assert_eq!(
        Execution::resume(&plan, Placement::Edge, &stale).unwrap_err(),
        ExecError::CommitMismatch {
            node: "p".into(),
            expected: "plot-c2".into(),
            found: "plot-c1".into()
        }
    );
    let inconsistent: RunReport = serde_json::from_value(json!({
        "status": "pending", "nodes": {"s": done("script-c2")}
    }))
    .unwrap();
    assert!(matches!(
        Execution::resume(&plan, Placement::Edge, &inconsistent),
        Err(ExecError::Inconsistent { .. })
    ));
    let unknown: RunReport = serde_json::from_value(json!({
        "status": "pending", "nodes": {"zz": done("c")}
    }))
    .unwrap();
    assert_eq!(
        Execution::resume(&plan, Placement::Edge, &unknown).unwrap_err(),
        ExecError::UnknownNode("zz".into())
    );
}

#[test]
fn resumed_failures_still_skip_their_descendants() {
    let wf = workflow(
        vec![
            node("a", "builtin:constant", json!({"value": 1})),
            node("p", "plot", json!({})),
            node("s", "script", json!({})),
            node("d", "builtin:constant", json!({"value": 2})),
        ],
        vec![
            edge("a", "value", "p", "data"),
            edge("p", "image", "s", "x"),
        ],
    );
    let plan = planned(&wf);
    let report: RunReport = serde_json::from_value(json!({
        "status": "pending",
        "nodes": {
            "a": {"status": "done", "skill_id": "builtin:constant",
                  "commit": llmos_core::workflow::builtin::BUILTIN_COMMIT,
                  "where": "edge", "outputs": {"value": 1}},
            "p": {"status": "failed", "skill_id": "plot", "commit": "plot-c2",
                  "where": "browser", "error": "Python raised ValueError"}
        }
    }))
    .unwrap();
    let mut run = Execution::resume(&plan, Placement::Edge, &report).unwrap();
    let out = run.run(&mut Executors::builtin(), &ManualClock::default());
    assert_eq!(out.status, RunStatus::Failed);
    assert_eq!(status(&out, "s"), NodeStatus::Skipped);
    assert_eq!(status(&out, "d"), NodeStatus::Done);
    assert_eq!(
        out.nodes["p"].error.as_deref(),
        Some("Python raised ValueError")
    );
    assert_eq!(out.nodes["p"].error_code.as_deref(), Some("failed"));
}

#[test]
fn builtin_nodes_compute_a_pipeline() {
    let wf = workflow(
        vec![
            node(
                "doc",
                "builtin:constant",
                json!({"value": {"order": {"qty": 3, "price": 2.5}, "customer": {"name": "Ada"}}}),
            ),
            node("qty", "builtin:json-path", json!({"path": "$.order.qty"})),
            node(
                "price",
                "builtin:json-path",
                json!({"path": "$.order.price"}),
            ),
            node(
                "total",
                "builtin:math",
                json!({"expression": "q * p + sin(0)"}),
            ),
            node(
                "who",
                "builtin:transform",
                json!({"fields": {"customer": "$.customer.name"}}),
            ),
            node("out", "builtin:merge", json!({"mode": "merge"})),
            node("wrap", "builtin:merge", json!({})),
        ],
        vec![
            edge("doc", "value", "qty", "input"),
            edge("doc", "value", "price", "input"),
            edge("qty", "value", "total", "q"),
            edge("price", "value", "total", "p"),
            edge("doc", "value", "who", "input"),
            edge("who", "value", "out", "a"),
            edge("total", "result", "wrap", "total"),
            edge("wrap", "value", "out", "b"),
        ],
    );
    let plan = planned(&wf);
    let report = execute(
        &plan,
        Placement::Edge,
        None,
        &mut Executors::builtin(),
        &ManualClock::default(),
    )
    .unwrap();
    assert_eq!(report.status, RunStatus::Done, "{report:#?}");
    assert_eq!(report.nodes["total"].outputs["result"], json!(7.5));
    assert_eq!(
        report.nodes["out"].outputs["value"],
        json!({"customer": "Ada", "total": 7.5})
    );
}

#[test]
fn builtin_errors_are_clear() {
    let wf = workflow(
        vec![
            node("zero", "builtin:constant", json!({"value": 0})),
            node("div", "builtin:math", json!({"expression": "1 / z"})),
            node("after", "builtin:constant", json!({"value": 1})),
            node(
                "path",
                "builtin:json-path",
                json!({"input": {"a": 1}, "path": "$.b"}),
            ),
        ],
        vec![
            edge("zero", "value", "div", "z"),
            edge("div", "result", "after", "value"),
        ],
    );
    let plan = planned(&wf);
    let r = execute(
        &plan,
        Placement::Edge,
        None,
        &mut Executors::builtin(),
        &ManualClock::default(),
    )
    .unwrap();
    assert_eq!(r.nodes["div"].error_code.as_deref(), Some("math-error"));
    assert_eq!(
        r.nodes["div"].error.as_deref(),
        Some("`1 / z`: division by zero in 1 / 0")
    );
    assert_eq!(status(&r, "after"), NodeStatus::Skipped);
    assert_eq!(
        r.nodes["path"].error.as_deref(),
        Some("JSONPath `$.b` matched nothing and no `default` is set")
    );
}

#[test]
fn run_inputs_override_params_and_edges_win() {
    let wf = workflow(
        vec![
            node("s", "source", json!({})),
            node("l", "label", json!({"text": "param", "suffix": "?"})),
            node("m", "label", json!({"text": "param"})),
        ],
        vec![edge("s", "value", "m", "text")],
    );
    let plan = planned(&wf);
    let mut skills = EdgeSkills::default();
    let inputs = obj(json!({"l": {"text": "run"}, "m": {"text": "run"}}));
    let r = execute(
        &plan,
        Placement::Edge,
        Some(&inputs),
        &mut skills,
        &ManualClock::default(),
    )
    .unwrap();
    assert_eq!(r.nodes["l"].outputs["out"], json!("run?"));
    // The edge's number 1 wins and is coerced to the string "1".
    assert_eq!(r.nodes["m"].outputs["out"], json!("1!"));

    let bad = obj(json!({"l": {"nope": 1}}));
    let mut run = Execution::new(&plan, Placement::Edge);
    assert_eq!(
        run.set_inputs(&bad).unwrap_err(),
        ExecError::UnknownInput {
            node: "l".into(),
            port: "nope".into()
        }
    );
    assert!(run.set_inputs(&obj(json!({"ghost": {}}))).is_err());
    assert!(run.set_inputs(&obj(json!({"l": 3}))).is_err());
}

#[test]
fn values_of_the_wrong_type_fail_at_the_node_boundary() {
    let wf = workflow(
        vec![
            node("c", "builtin:constant", json!({"value": "abc"})),
            node("d", "double", json!({})),
        ],
        vec![edge("c", "value", "d", "x")],
    );
    let plan = planned(&wf);
    let mut skills = EdgeSkills::default();
    let r = at_edge(&plan, &mut skills);
    assert_eq!(
        r.nodes["d"].error_code.as_deref(),
        Some("input-type-mismatch")
    );
    assert_eq!(
        r.nodes["d"].error.as_deref(),
        Some("input `x` expects number, got a string")
    );
    assert!(skills.calls.is_empty(), "the skill never saw the bad value");
}

struct Liar;

impl NodeExecutor for Liar {
    fn can_execute(&self, _: &PlannedNode) -> bool {
        true
    }
    fn execute(&mut self, call: NodeCall<'_>) -> Result<JsonMap, NodeError> {
        Ok(match &*call.node.id {
            "wrong" => obj(json!({"value": "not a number"})),
            _ => obj(json!({"other": 1})),
        })
    }
}

#[test]
fn skills_that_break_their_signature_fail_themselves() {
    let wf = workflow(
        vec![
            node("wrong", "source", json!({})),
            node("missing", "source", json!({})),
            node("d1", "double", json!({})),
            node("d2", "double", json!({})),
        ],
        vec![
            edge("wrong", "value", "d1", "x"),
            edge("missing", "value", "d2", "x"),
        ],
    );
    let plan = planned(&wf);
    let r = execute(
        &plan,
        Placement::Edge,
        None,
        &mut Liar,
        &ManualClock::default(),
    )
    .unwrap();
    assert_eq!(
        r.nodes["wrong"].error_code.as_deref(),
        Some("output-type-mismatch")
    );
    assert_eq!(
        r.nodes["missing"].error_code.as_deref(),
        Some("missing-output")
    );
    assert_eq!(
        r.nodes["missing"].error.as_deref(),
        Some("produced no output `value`, which node `d2` consumes")
    );
    assert_eq!(status(&r, "d1"), NodeStatus::Skipped);
    assert_eq!(status(&r, "d2"), NodeStatus::Skipped);
}

#[test]
fn an_edge_skill_without_executor_fails_at_the_edge() {
    let wf = workflow(vec![node("n", "no-exec", json!({}))], vec![]);
    let plan = planned(&wf);
    let mut skills = EdgeSkills::default();
    let r = at_edge(&plan, &mut skills);
    assert_eq!(r.status, RunStatus::Failed);
    assert_eq!(r.nodes["n"].error_code.as_deref(), Some("no-executor"));
    assert_eq!(
        r.nodes["n"].error.as_deref(),
        Some("no executor runs `wasm-component` skills at the edge")
    );
}

#[test]
fn runs_record_commits_and_durations() {
    let mut pinned = node("d", "double", json!({}));
    pinned.skill_commit = Some("double-c1".into());
    let wf = workflow(
        vec![
            node("s", "source", json!({})),
            pinned,
            node("e", "double", json!({})),
        ],
        vec![edge("s", "value", "d", "x"), edge("s", "value", "e", "x")],
    );
    let plan = planned(&wf);
    let mut skills = EdgeSkills::default();
    let r = at_edge(&plan, &mut skills);
    assert_eq!(r.nodes["d"].commit, "double-c1");
    assert_eq!(r.nodes["e"].commit, "double-c2");
    let used = r.commits_used();
    assert_eq!(used["double"], ["double-c1", "double-c2"]);
    assert_eq!(used["source"], ["source-c2"]);
    assert!(skills.calls.contains(&("d".into(), "double-c1".into())));
    // A clock stepping 1 ms a reading: each node's two readings are 1 ms apart.
    assert!(r.nodes.values().all(|n| n.duration_ms == Some(1.0)));
    assert!(r.duration_ms.unwrap() > 0.0);
}

#[test]
fn the_state_machine_runs_a_level_concurrently() {
    let wf = workflow(
        vec![
            node("a", "builtin:constant", json!({"value": 2})),
            node("b", "builtin:math", json!({"expression": "v + 1"})),
            node("c", "builtin:math", json!({"expression": "v * 10"})),
            node("d", "builtin:merge", json!({"mode": "array"})),
        ],
        vec![
            edge("a", "value", "b", "v"),
            edge("a", "value", "c", "v"),
            edge("b", "result", "d", "x"),
            edge("c", "result", "d", "y"),
        ],
    );
    let plan = planned(&wf);
    // The browser keeps the plan behind an `Rc` while it awaits skills.
    let plan = std::rc::Rc::new(plan);
    let mut run = Execution::new(std::rc::Rc::clone(&plan), Placement::Browser);
    let i = |id: &str| plan.index_of(id).unwrap();
    assert_eq!(run.ready(), [i("a")]);
    run.start(i("a")).unwrap();
    assert!(run.ready().is_empty(), "a running node is not ready");
    run.finish(i("a"), Ok(obj(json!({"value": 2}))), 0.5)
        .unwrap();
    assert_eq!(run.ready(), [i("b"), i("c")]);
    let b_in = run.start(i("b")).unwrap().unwrap();
    let c_in = run.start(i("c")).unwrap().unwrap();
    assert_eq!(b_in, obj(json!({"expression": "v + 1", "v": 2})));
    assert_eq!(c_in["v"], json!(2));
    assert!(run.start(i("d")).is_err(), "d waits for b and c");
    assert_eq!(run.report().status, RunStatus::Pending);
    assert_eq!(run.report().nodes["b"].status, NodeStatus::Running);
    run.finish(i("c"), Ok(obj(json!({"result": 20}))), 2.0)
        .unwrap();
    run.finish(i("b"), Ok(obj(json!({"result": 3}))), 1.0)
        .unwrap();
    assert_eq!(run.ready(), [i("d")]);
    assert!(matches!(
        run.finish(i("b"), Ok(JsonMap::new()), 0.0),
        Err(ExecError::NotRunning { .. })
    ));
    let out = run.run(&mut Executors::builtin(), &ManualClock::default());
    assert_eq!(out.status, RunStatus::Done);
    assert_eq!(out.nodes["d"].outputs["value"], json!([3, 20]));
    assert_eq!(out.nodes["d"].placement, Placement::Browser);
}

#[test]
fn resumed_outputs_are_checked_like_fresh_ones() {
    let wf = workflow(
        vec![
            node("p", "plot", json!({"data": 1})),
            node("s", "script", json!({})),
        ],
        vec![edge("p", "image", "s", "x")],
    );
    let plan = planned(&wf);
    let report: RunReport = serde_json::from_value(json!({
        "status": "pending",
        "nodes": {"p": {"status": "done", "skill_id": "plot", "commit": "plot-c2",
                        "where": "browser", "outputs": {"image": 42}}}
    }))
    .unwrap();
    let run = Execution::resume(&plan, Placement::Edge, &report).unwrap();
    let r = run.report();
    assert_eq!(status(&r, "p"), NodeStatus::Failed);
    assert_eq!(
        r.nodes["p"].error_code.as_deref(),
        Some("output-type-mismatch")
    );
    assert_eq!(status(&r, "s"), NodeStatus::Skipped);
}
