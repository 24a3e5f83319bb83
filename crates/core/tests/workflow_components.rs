//! Compiled skills in workflows: a node's `where`, validation of its
//! component (built, fresh) and of its placement, and what a run records
//! of the component each node ran or will run.

#[path = "workflow_support/mod.rs"]
mod support;

use llmos_core::types::{ExecutionMode, PortSpec, PortType, Runtime};
use llmos_core::workflow::{
    Catalog, ComponentRef, ExecError, Execution, Executors, IssueCode, JsonMap, ManualClock,
    NodeCall, NodeError, NodeExecutor, NodeStatus, Placement, PlannedNode, RunReport, RunStatus,
    SkillSignature, ValidationReport, Workflow, WorkflowPlan, plan, validate,
};
use serde_json::{Value, json};
use support::{edge, node, skill, workflow};

fn component(tag: &str, fresh: bool) -> ComponentRef {
    ComponentRef {
        sha256: format!("{tag:0>64}"),
        blob: format!("{tag:0>40}"),
        fresh,
    }
}

fn compiled(mut s: SkillSignature, component: Option<ComponentRef>) -> SkillSignature {
    s.compiled = true;
    s.component = component;
    s
}

/// - `square` (compiled Rust, edge, built): `x: number` → `y: number`
/// - `mean` (compiled Python, browser, built): `x: number` → `y: number`
/// - `unbuilt` (compiled, edge, no component)
/// - `stale` (compiled, edge, component built from another source)
/// - `plot` (Python, browser, not compiled): `data: any` → `image: image`
/// - `native` (wasm-component, edge, not compiled): → `value: number`
fn catalog() -> Catalog {
    use PortType as T;
    let xy = || {
        (
            vec![PortSpec::new("x", T::Number)],
            vec![PortSpec::new("y", T::Number)],
        )
    };
    let (i, o) = xy();
    let square = compiled(
        skill("square", Runtime::WasmComponent, i, o),
        Some(component("a1", true)),
    );
    let (i, o) = xy();
    let mean = compiled(
        skill("mean", Runtime::PythonWasm, i, o),
        Some(component("b2", true)),
    );
    let (i, o) = xy();
    let unbuilt = compiled(skill("unbuilt", Runtime::WasmComponent, i, o), None);
    let (i, o) = xy();
    let stale = compiled(
        skill("stale", Runtime::WasmComponent, i, o),
        Some(component("c3", false)),
    );
    let plot = skill(
        "plot",
        Runtime::PythonWasm,
        vec![PortSpec::new("data", T::Any)],
        vec![PortSpec::new("image", T::Image)],
    );
    let native = skill(
        "native",
        Runtime::WasmComponent,
        vec![],
        vec![PortSpec::new("value", T::Number)],
    );
    assert_eq!(native.execution_mode, ExecutionMode::EdgeWasm);
    [square, mean, unbuilt, stale, plot, native]
        .into_iter()
        .collect()
}

fn placed(
    id: &str,
    skill_id: &str,
    params: Value,
    place: Option<Placement>,
) -> llmos_core::workflow::Node {
    let mut n = node(id, skill_id, params);
    n.placement = place;
    n
}

fn errors(report: &ValidationReport) -> Vec<(IssueCode, Option<&str>)> {
    report
        .errors
        .iter()
        .map(|e| (e.code, e.node.as_deref()))
        .collect()
}

fn planned(wf: &Workflow) -> WorkflowPlan {
    match plan(wf, &catalog()) {
        Ok((plan, _)) => plan,
        Err(report) => panic!("invalid: {:#?}", report.errors),
    }
}

#[test]
fn where_round_trips_in_canonical_position() {
    let text = r#"{"id": "w", "nodes": [
        {"zz": 1, "where": "browser", "follow_latest": true, "id": "a", "skill_id": "square"},
        {"id": "b", "skill_id": "square"}]}"#;
    let wf = Workflow::from_json(text).unwrap();
    assert_eq!(wf.nodes[0].placement, Some(Placement::Browser));
    assert_eq!(wf.nodes[1].placement, None);
    let canonical = wf.to_canonical_json();
    let a = canonical.find("\"follow_latest\"").unwrap();
    let w = canonical.find("\"where\": \"browser\"").unwrap();
    let z = canonical.find("\"zz\"").unwrap();
    assert!(a < w && w < z, "{canonical}");
    assert_eq!(
        canonical.matches("\"where\"").count(),
        1,
        "absent stays absent"
    );
    assert_eq!(Workflow::from_json(&canonical).unwrap(), wf);
    assert_eq!(
        Workflow::from_json(&canonical).unwrap().to_canonical_json(),
        canonical
    );
}

#[test]
fn a_where_that_names_no_place_is_a_format_error_with_its_line() {
    let text =
        "{\"nodes\": [\n  {\"id\": \"a\", \"skill_id\": \"square\",\n   \"where\": \"moon\"}]}";
    let err = Workflow::from_json(text).unwrap_err().to_string();
    assert!(err.contains("line 3"), "{err}");
    assert!(err.contains("moon") && err.contains("edge"), "{err}");
}

#[test]
fn a_compiled_node_without_a_component_says_how_to_build_it() {
    let wf = workflow(vec![node("u", "unbuilt", json!({"x": 1}))], vec![]);
    let report = validate(&wf, &catalog());
    assert!(!report.valid);
    assert_eq!(errors(&report), [(IssueCode::ComponentNotBuilt, Some("u"))]);
    let message = &report.errors[0].message;
    assert!(message.contains("node `u`"), "{message}");
    assert!(message.contains("llmos skills build unbuilt"), "{message}");
    assert!(message.contains("POST /skills/unbuilt/build"), "{message}");
    let json = serde_json::to_value(&report.errors[0]).unwrap();
    assert_eq!(json["code"], "component-not-built");
}

#[test]
fn a_stale_component_is_refused_and_a_fresh_one_validates() {
    let wf = workflow(
        vec![
            node("s", "stale", json!({"x": 1})),
            node("q", "square", json!({"x": 2})),
        ],
        vec![],
    );
    let report = validate(&wf, &catalog());
    assert_eq!(errors(&report), [(IssueCode::ComponentStale, Some("s"))]);
    assert!(
        report.errors[0].message.contains("another version"),
        "{}",
        report.errors[0].message
    );
    assert_eq!(
        serde_json::to_value(&report.errors[0]).unwrap()["code"],
        "component-stale"
    );
    let wf = workflow(vec![node("q", "square", json!({"x": 2}))], vec![]);
    assert!(validate(&wf, &catalog()).valid);
}

#[test]
fn where_moves_a_compiled_node_to_either_place() {
    let wf = workflow(
        vec![
            placed("e", "square", json!({"x": 1}), None),
            placed("b", "square", json!({"x": 1}), Some(Placement::Browser)),
            placed("m", "mean", json!({"x": 1}), None),
            placed("me", "mean", json!({"x": 1}), Some(Placement::Edge)),
        ],
        vec![],
    );
    let plan = planned(&wf);
    let place = |id: &str| plan.node(id).unwrap().placement;
    assert_eq!(place("e"), Placement::Edge, "its execution mode");
    assert_eq!(place("b"), Placement::Browser);
    assert_eq!(place("m"), Placement::Browser, "its execution mode");
    assert_eq!(place("me"), Placement::Edge);
}

#[test]
fn where_must_match_the_own_placement_of_other_skills() {
    let wf = workflow(
        vec![
            placed("p", "plot", json!({"data": 1}), Some(Placement::Edge)),
            placed("ok", "plot", json!({"data": 1}), Some(Placement::Browser)),
            placed("n", "native", json!({}), Some(Placement::Browser)),
            placed(
                "k",
                "builtin:constant",
                json!({"value": 1}),
                Some(Placement::Browser),
            ),
            // Not built: the missing component is the one thing to fix.
            placed("u", "unbuilt", json!({"x": 1}), Some(Placement::Browser)),
        ],
        vec![],
    );
    let report = validate(&wf, &catalog());
    assert_eq!(
        errors(&report),
        [
            (IssueCode::PlacementUnsupported, Some("p")),
            (IssueCode::PlacementUnsupported, Some("n")),
            (IssueCode::PlacementUnsupported, Some("k")),
            (IssueCode::ComponentNotBuilt, Some("u")),
        ]
    );
    let message = &report.errors[0].message;
    assert!(
        message.contains("node `p`") && message.contains("only in the browser"),
        "{message}"
    );
    assert_eq!(
        serde_json::to_value(&report.errors[0]).unwrap()["code"],
        "placement-unsupported"
    );
}

/// Runs compiled nodes as a component executor would, and logs.
#[derive(Default)]
struct Components {
    ran: Vec<String>,
    log: Option<String>,
}

impl NodeExecutor for Components {
    fn can_execute(&self, node: &PlannedNode) -> bool {
        // Deliberately ignores placement: the engine must not hand it a
        // node placed elsewhere.
        node.signature.runs_anywhere()
    }

    fn execute(&mut self, call: NodeCall<'_>) -> Result<JsonMap, NodeError> {
        self.ran.push(call.node.id.to_string());
        let x = call.inputs["x"].as_f64().unwrap_or_default();
        if x < 0.0 {
            self.log = Some(format!("refusing {x}\n"));
            return Err(NodeError::new("skill-negative-input", "x is negative"));
        }
        self.log = Some(format!("squaring {x}\n"));
        let Value::Object(m) = json!({"y": x * x}) else {
            unreachable!()
        };
        Ok(m)
    }

    fn take_log(&mut self) -> Option<String> {
        self.log.take()
    }
}

fn run_at_edge(plan: &WorkflowPlan, components: &mut Components) -> RunReport {
    struct Both<'a>(&'a mut Components, Executors);
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
        fn take_log(&mut self) -> Option<String> {
            self.0.take_log()
        }
    }
    let mut run = Execution::new(plan, Placement::Edge);
    run.run(
        &mut Both(components, Executors::builtin()),
        &ManualClock::stepping(1.0),
    )
}

/// k(3) → e (square, edge) → b (square, browser); k → f (square, x = -3)
/// → after (square, skipped when f fails).
fn mixed() -> Workflow {
    workflow(
        vec![
            node("k", "builtin:constant", json!({"value": 3})),
            placed("e", "square", json!({}), None),
            placed("b", "square", json!({}), Some(Placement::Browser)),
            node("neg", "builtin:math", json!({"expression": "0 - v"})),
            placed("f", "square", json!({}), None),
            placed("after", "square", json!({}), None),
        ],
        vec![
            edge("k", "value", "e", "x"),
            edge("e", "y", "b", "x"),
            edge("k", "value", "neg", "v"),
            edge("neg", "result", "f", "x"),
            edge("f", "y", "after", "x"),
        ],
    )
}

#[test]
fn an_edge_run_records_the_component_and_log_and_defers_browser_nodes() {
    let plan = planned(&mixed());
    let mut components = Components::default();
    let report = run_at_edge(&plan, &mut components);
    assert_eq!(components.ran, ["e", "f"], "b is placed in the browser");
    let sha = component("a1", true).sha256;
    let blob = component("a1", true).blob;

    let e = &report.nodes["e"];
    assert_eq!(e.status, NodeStatus::Done);
    assert_eq!(e.placement, Placement::Edge);
    assert_eq!(e.outputs["y"], json!(9.0));
    assert_eq!(e.component.as_deref(), Some(sha.as_str()));
    assert_eq!(
        e.component_blob, None,
        "only a deferred node needs the blob"
    );
    assert_eq!(e.log.as_deref(), Some("squaring 3\n"));

    let b = &report.nodes["b"];
    assert_eq!(b.status, NodeStatus::Pending);
    assert_eq!(b.placement, Placement::Browser);
    assert_eq!(b.inputs.as_ref().unwrap()["x"], json!(9.0));
    assert_eq!(b.component.as_deref(), Some(sha.as_str()));
    assert_eq!(b.component_blob.as_deref(), Some(blob.as_str()));

    let f = &report.nodes["f"];
    assert_eq!(f.status, NodeStatus::Failed);
    assert_eq!(f.error_code.as_deref(), Some("skill-negative-input"));
    assert_eq!(f.log.as_deref(), Some("refusing -3\n"));
    let after = &report.nodes["after"];
    assert_eq!(after.status, NodeStatus::Skipped);
    assert_eq!(after.component, None, "a skipped node runs nothing");
    assert_eq!(report.status, RunStatus::Pending);

    // The JSON form: built-in nodes name no component and no log.
    let value = serde_json::to_value(&report).unwrap();
    assert_eq!(value["nodes"]["e"]["component"], json!(sha));
    assert_eq!(value["nodes"]["b"]["component_blob"], json!(blob));
    for key in ["component", "component_blob", "log"] {
        assert!(value["nodes"]["k"].get(key).is_none(), "{key}");
    }
}

#[test]
fn the_browser_resumes_with_the_edge_results_and_its_component() {
    let plan = planned(&mixed());
    let edge_report = run_at_edge(&plan, &mut Components::default());
    // The report travels as JSON, as between the edge and the page.
    let text = serde_json::to_string(&edge_report).unwrap();
    let report: RunReport = serde_json::from_str(&text).unwrap();
    let mut run = Execution::resume(&plan, Placement::Browser, &report).unwrap();
    let b = plan.index_of("b").unwrap();
    assert_eq!(run.ready(), [b]);
    let inputs = run.start(b).unwrap().unwrap();
    assert_eq!(inputs["x"], json!(9.0));
    let outputs = serde_json::from_value(json!({"y": 81.0})).unwrap();
    run.set_log(b, "squaring 9\n".into());
    run.finish(b, Ok(outputs), 2.0).unwrap();
    let done = run.report();
    assert_eq!(done.nodes["b"].status, NodeStatus::Done);
    assert_eq!(done.nodes["b"].placement, Placement::Browser);
    assert_eq!(done.nodes["b"].log.as_deref(), Some("squaring 9\n"));
    assert_eq!(done.nodes["b"].component_blob, None, "no longer deferred");
    assert_eq!(
        done.nodes["e"].log.as_deref(),
        Some("squaring 3\n"),
        "the edge's log survives the resume"
    );
    assert_eq!(done.status, RunStatus::Failed, "f failed at the edge");
}

#[test]
fn a_report_that_ran_another_component_is_refused() {
    let plan = planned(&mixed());
    let mut report = run_at_edge(&plan, &mut Components::default());
    let other = component("ff", true).sha256;
    report.nodes.get_mut("e").unwrap().component = Some(other.clone());
    let err = Execution::resume(&plan, Placement::Browser, &report).unwrap_err();
    assert_eq!(
        err,
        ExecError::ComponentMismatch {
            node: "e".into(),
            expected: component("a1", true).sha256,
            found: other,
        }
    );
    assert!(err.to_string().contains("node `e`"), "{err}");

    // A built-in node claiming a component is as wrong.
    let mut report = run_at_edge(&plan, &mut Components::default());
    report.nodes.get_mut("k").unwrap().component = Some(component("a1", true).sha256);
    assert!(matches!(
        Execution::resume(&plan, Placement::Browser, &report),
        Err(ExecError::ComponentMismatch { .. })
    ));
}

#[test]
fn without_a_component_executor_an_edge_compiled_node_fails_with_no_executor() {
    let plan = planned(&workflow(
        vec![node("e", "square", json!({"x": 2}))],
        vec![],
    ));
    let mut run = Execution::new(&plan, Placement::Edge);
    let report = run.run(&mut Executors::builtin(), &ManualClock::default());
    assert_eq!(report.nodes["e"].status, NodeStatus::Failed);
    assert_eq!(report.nodes["e"].error_code.as_deref(), Some("no-executor"));
    assert_eq!(report.nodes["e"].log, None);
}
