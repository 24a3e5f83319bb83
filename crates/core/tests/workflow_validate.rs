//! Validation and planning: one case per error class, multi-error
//! workflows, warnings, and the shape of levels.

#[path = "workflow_support/mod.rs"]
mod support;

use llmos_core::types::{PortSpec, PortType, Runtime};
use llmos_core::workflow::{
    IssueCode, Limits, Node, Placement, ValidationReport, analyze, plan, validate,
};
use serde_json::json;
use support::{catalog, edge, node, workflow};

/// `(code, node, edge)` of every error.
fn errors(report: &ValidationReport) -> Vec<(IssueCode, Option<String>, Option<usize>)> {
    report
        .errors
        .iter()
        .map(|i| (i.code, i.node.clone(), i.edge))
        .collect()
}

fn one(
    code: IssueCode,
    node: Option<&str>,
    edge: Option<usize>,
) -> Vec<(IssueCode, Option<String>, Option<usize>)> {
    vec![(code, node.map(str::to_owned), edge)]
}

#[test]
fn each_error_class_is_reported_with_its_pointer() {
    use IssueCode as C;
    let long = "n".repeat(65);
    let cases = vec![
        (
            "duplicate node id",
            workflow(
                vec![
                    node("a", "source", json!({})),
                    node("a", "source", json!({})),
                ],
                vec![],
            ),
            one(C::DuplicateNodeId, Some("a"), None),
        ),
        (
            "empty node id",
            workflow(vec![node("", "source", json!({}))], vec![]),
            one(C::InvalidNodeId, Some(""), None),
        ),
        (
            "node id with a space",
            workflow(vec![node("a b", "source", json!({}))], vec![]),
            one(C::InvalidNodeId, Some("a b"), None),
        ),
        (
            "overlong node id",
            workflow(vec![node(&long, "source", json!({}))], vec![]),
            one(C::InvalidNodeId, Some(&long), None),
        ),
        (
            "malformed skill id",
            workflow(vec![node("a", "Bad_Id", json!({}))], vec![]),
            one(C::InvalidSkillId, Some("a"), None),
        ),
        (
            "empty skill id",
            workflow(vec![node("a", "", json!({}))], vec![]),
            one(C::InvalidSkillId, Some("a"), None),
        ),
        (
            "unknown skill",
            workflow(vec![node("a", "nope", json!({}))], vec![]),
            one(C::UnknownSkill, Some("a"), None),
        ),
        (
            "unknown built-in",
            workflow(vec![node("a", "builtin:nope", json!({}))], vec![]),
            one(C::UnknownSkill, Some("a"), None),
        ),
        (
            "edge to a missing node",
            workflow(
                vec![node("a", "source", json!({}))],
                vec![edge("a", "value", "ghost", "x")],
            ),
            one(C::UnknownNode, Some("ghost"), Some(0)),
        ),
        (
            "edge from a missing node",
            workflow(
                vec![node("d", "double", json!({}))],
                vec![edge("ghost", "value", "d", "x")],
            ),
            one(C::UnknownNode, Some("ghost"), Some(0)),
        ),
        (
            "unknown output port",
            workflow(
                vec![
                    node("a", "source", json!({})),
                    node("d", "double", json!({})),
                ],
                vec![edge("a", "val", "d", "x")],
            ),
            one(C::UnknownOutputPort, Some("a"), Some(0)),
        ),
        (
            "unknown input port",
            workflow(
                vec![
                    node("a", "source", json!({})),
                    node("d", "double", json!({"x": 1})),
                ],
                vec![edge("a", "value", "d", "z")],
            ),
            one(C::UnknownInputPort, Some("d"), Some(0)),
        ),
        (
            "array into number",
            workflow(
                vec![
                    node("t", "table", json!({})),
                    node("d", "double", json!({})),
                ],
                vec![edge("t", "rows", "d", "x")],
            ),
            one(C::IncompatibleTypes, Some("d"), Some(0)),
        ),
        (
            "string into number",
            workflow(
                vec![
                    node("s", "source", json!({})),
                    node("l", "label", json!({})),
                    node("d", "double", json!({})),
                ],
                vec![edge("s", "value", "l", "text"), edge("l", "out", "d", "x")],
            ),
            one(C::IncompatibleTypes, Some("d"), Some(1)),
        ),
        (
            "two edges into one input",
            workflow(
                vec![
                    node("s1", "source", json!({})),
                    node("s2", "source", json!({})),
                    node("p", "pair", json!({"b": 1})),
                ],
                vec![edge("s1", "value", "p", "a"), edge("s2", "value", "p", "a")],
            ),
            one(C::DuplicateInput, Some("p"), Some(1)),
        ),
        (
            "self-loop",
            workflow(
                vec![node("d", "double", json!({"x": 1}))],
                vec![edge("d", "y", "d", "x")],
            ),
            one(C::SelfLoop, Some("d"), Some(0)),
        ),
        (
            "required input unbound",
            workflow(vec![node("d", "double", json!({}))], vec![]),
            one(C::MissingInput, Some("d"), None),
        ),
        (
            "param of the wrong type",
            workflow(vec![node("d", "double", json!({"x": "3"}))], vec![]),
            one(C::ParamTypeMismatch, Some("d"), None),
        ),
        (
            "bad JSONPath literal",
            workflow(
                vec![node(
                    "j",
                    "builtin:json-path",
                    json!({"input": {}, "path": "$["}),
                )],
                vec![],
            ),
            one(C::InvalidParam, Some("j"), None),
        ),
        (
            "bad expression literal",
            workflow(
                vec![node("m", "builtin:math", json!({"expression": "1 +* 2"}))],
                vec![],
            ),
            one(C::InvalidParam, Some("m"), None),
        ),
        (
            "expression variable unbound",
            workflow(
                vec![node(
                    "m",
                    "builtin:math",
                    json!({"expression": "a + b", "a": 1}),
                )],
                vec![],
            ),
            one(C::MissingInput, Some("m"), None),
        ),
        (
            "cycle",
            workflow(
                vec![
                    node("d1", "double", json!({})),
                    node("d2", "double", json!({})),
                    node("d3", "double", json!({})),
                ],
                vec![
                    edge("d1", "y", "d2", "x"),
                    edge("d2", "y", "d3", "x"),
                    edge("d3", "y", "d1", "x"),
                ],
            ),
            one(C::Cycle, Some("d1"), None),
        ),
    ];
    let catalog = catalog();
    for (name, wf, expected) in cases {
        let report = validate(&wf, &catalog);
        assert!(!report.valid, "{name}: should be invalid");
        assert_eq!(errors(&report), expected, "{name}: {:#?}", report.errors);
        for issue in &report.errors {
            assert!(!issue.message.is_empty(), "{name}: empty message");
        }
    }
}

#[test]
fn size_limits_are_errors_and_validation_goes_on() {
    let wf = workflow(
        vec![
            node("a", "source", json!({})),
            node("b", "source", json!({})),
            node("d", "double", json!({})),
        ],
        vec![edge("a", "value", "d", "x"), edge("b", "value", "d", "x")],
    );
    let limits = Limits {
        max_nodes: 2,
        max_edges: 1,
    };
    let (report, plan) = analyze(&wf, &catalog(), limits);
    assert!(plan.is_none());
    let codes: Vec<IssueCode> = report.errors.iter().map(|i| i.code).collect();
    assert_eq!(
        codes,
        [
            IssueCode::TooManyNodes,
            IssueCode::TooManyEdges,
            IssueCode::DuplicateInput
        ]
    );
    assert_eq!(
        report.errors[0].message,
        "the workflow has 3 nodes; at most 2 are allowed"
    );
}

#[test]
fn stored_limits_refuse_more_than_five_thousand_nodes() {
    let nodes = (0..5_001)
        .map(|i| node(&format!("n{i}"), "source", json!({})))
        .collect();
    let report = validate(&workflow(nodes, vec![]), &catalog());
    assert_eq!(errors(&report), one(IssueCode::TooManyNodes, None, None));
}

#[test]
fn every_error_of_a_broken_workflow_is_reported() {
    use IssueCode as C;
    let wf = workflow(
        vec![
            node("a", "source", json!({})),
            node("a", "double", json!({})),
            node("d", "double", json!({"x": true})),
            node("u", "unknown-skill", json!({})),
            node("t", "table", json!({})),
            node("p", "pair", json!({})),
        ],
        vec![
            edge("a", "value", "ghost", "x"),
            edge("t", "rows", "p", "a"),
            edge("t", "info", "p", "c"),
            edge("u", "whatever", "p", "b"),
        ],
    );
    let report = validate(&wf, &catalog());
    assert_eq!(
        errors(&report),
        vec![
            (C::DuplicateNodeId, Some("a".into()), None),
            (C::UnknownSkill, Some("u".into()), None),
            (C::UnknownNode, Some("ghost".into()), Some(0)),
            (C::IncompatibleTypes, Some("p".into()), Some(1)),
            (C::UnknownInputPort, Some("p".into()), Some(2)),
            (C::ParamTypeMismatch, Some("d".into()), None),
        ]
    );
    // The unknown skill's ports are not guessed at: no cascade of port
    // errors for edge 3, and `p.b` counts as bound by it.
    assert!(report.levels.iter().flatten().any(|id| id == "p"));
}

#[test]
fn warnings_do_not_invalidate() {
    use IssueCode as C;
    let mut pinned = node("d", "double", json!({"x": 1, "colour": "red"}));
    pinned.skill_commit = Some("double-c1".into());
    let mut follows = node("e", "double", json!({}));
    follows.skill_commit = Some("double-c1".into());
    follows.follow_latest = Some(true);
    let wf = workflow(
        vec![pinned, follows, node("s", "source", json!({}))],
        vec![edge("s", "value", "e", "x")],
    );
    let mut wf2 = wf.clone();
    wf2.nodes[1].params.insert("x".into(), json!(5));
    let report = validate(&wf2, &catalog());
    assert!(report.valid, "{:#?}", report.errors);
    let codes: Vec<(IssueCode, Option<String>)> = report
        .warnings
        .iter()
        .map(|w| (w.code, w.node.clone()))
        .collect();
    assert_eq!(
        codes,
        vec![
            (C::PinnedCommitNotLatest, Some("d".into())),
            (C::UnusedParam, Some("d".into())),
            (C::ParamOverriddenByEdge, Some("e".into())),
        ]
    );
    let (plan, _) = plan(&wf, &catalog()).unwrap();
    assert_eq!(
        &*plan.node("d").unwrap().commit,
        "double-c1",
        "the pin is run"
    );
    assert_eq!(
        &*plan.node("e").unwrap().commit,
        "double-c2",
        "follow_latest wins"
    );
}

#[test]
fn a_workflow_that_follows_latest_ignores_every_pin() {
    let mut pinned = node("d", "double", json!({"x": 1}));
    pinned.skill_commit = Some("double-c1".into());
    let mut wf = workflow(vec![pinned], vec![]);
    wf.extra.insert("follow_latest".into(), json!(true));
    assert!(wf.follows_latest());
    let (latest, report) = plan(&wf, &catalog()).unwrap();
    assert!(report.warnings.is_empty(), "{:#?}", report.warnings);
    assert_eq!(&*latest.node("d").unwrap().commit, "double-c2");
    wf.extra.insert("follow_latest".into(), json!(false));
    let (pinned, _) = plan(&wf, &catalog()).unwrap();
    assert_eq!(&*pinned.node("d").unwrap().commit, "double-c1");
}

#[test]
fn pinned_older_version_is_validated_against_its_own_ports() {
    let mut cat = catalog();
    let mut old = support::skill(
        "double",
        Runtime::WasmComponent,
        vec![PortSpec::new("n", PortType::Number)],
        vec![PortSpec::new("y", PortType::Number)],
    );
    old.commit = "double-c1".into();
    cat.insert_version(old);
    let mut d = node("d", "double", json!({"n": 2}));
    d.skill_commit = Some("double-c1".into());
    let report = validate(&workflow(vec![d], vec![]), &cat);
    assert!(report.valid, "{:#?}", report.errors);
    assert_eq!(report.warnings[0].code, IssueCode::PinnedCommitNotLatest);
    assert!(report.warnings[0].message.contains("it runs that version"));
}

#[test]
fn cycle_error_names_the_cycle_in_order() {
    let wf = workflow(
        vec![
            node("s", "source", json!({})),
            node("p", "pair", json!({})),
            node("q", "double", json!({})),
            node("r", "double", json!({})),
            node("after", "double", json!({})),
        ],
        vec![
            edge("s", "value", "p", "a"),
            edge("p", "sum", "q", "x"),
            edge("q", "y", "r", "x"),
            edge("r", "y", "p", "b"),
            edge("r", "y", "after", "x"),
        ],
    );
    let report = validate(&wf, &catalog());
    assert_eq!(report.errors.len(), 1, "{:#?}", report.errors);
    let cycle = &report.errors[0];
    assert_eq!(cycle.code, IssueCode::Cycle);
    assert_eq!(cycle.nodes, ["p", "q", "r"]);
    assert_eq!(cycle.message, "nodes form a cycle: p → q → r → p");
    assert!(report.levels.is_empty());
}

#[test]
fn two_separate_cycles_are_two_errors() {
    let d = |id: &str| node(id, "double", json!({}));
    let wf = workflow(
        vec![d("a"), d("b"), d("c"), d("e")],
        vec![
            edge("a", "y", "b", "x"),
            edge("b", "y", "a", "x"),
            edge("c", "y", "e", "x"),
            edge("e", "y", "c", "x"),
        ],
    );
    let report = validate(&wf, &catalog());
    let named: Vec<Vec<String>> = report.errors.iter().map(|e| e.nodes.clone()).collect();
    assert_eq!(named, [vec!["a", "b"], vec!["c", "e"]]);
}

#[test]
fn report_serialises_in_the_api_shape() {
    let wf = workflow(
        vec![node("d", "double", json!({}))],
        vec![edge("d", "y", "x", "x")],
    );
    let value = serde_json::to_value(validate(&wf, &catalog())).unwrap();
    assert_eq!(value["valid"], json!(false));
    assert_eq!(value["errors"][0]["code"], json!("unknown-node"));
    assert_eq!(value["errors"][0]["edge"], json!(0));
    assert_eq!(value["errors"][0]["node"], json!("x"));
    assert_eq!(value["errors"][1]["code"], json!("missing-input"));
    assert!(value["errors"][1].get("edge").is_none());
    assert_eq!(value["warnings"], json!([]));
    assert_eq!(value["levels"], json!([["d"]]));
}

#[test]
fn coercible_and_checked_connections_are_valid() {
    let wf = workflow(
        vec![
            node("s", "source", json!({})),
            node("l", "label", json!({})),
            node("c", "builtin:constant", json!({"value": 4})),
            node("d", "double", json!({})),
        ],
        vec![
            edge("s", "value", "l", "text"),
            edge("c", "value", "d", "x"),
        ],
    );
    let report = validate(&wf, &catalog());
    assert!(report.valid, "{:#?}", report.errors);
    assert!(report.warnings.is_empty());
}

#[test]
fn diamond_plans_into_three_levels() {
    let wf = workflow(
        vec![
            node("d", "pair", json!({})),
            node("c", "double", json!({})),
            node("b", "double", json!({})),
            node("a", "source", json!({})),
        ],
        vec![
            edge("a", "value", "b", "x"),
            edge("a", "value", "c", "x"),
            edge("b", "y", "d", "a"),
            edge("c", "y", "d", "b"),
        ],
    );
    let (plan, report) = plan(&wf, &catalog()).unwrap();
    assert_eq!(
        report.levels,
        [vec!["a"], vec!["c", "b"], vec!["d"]],
        "file order"
    );
    assert_eq!(plan.level_ids(), report.levels);
    let a = plan.index_of("a").unwrap();
    assert_eq!(plan.dependents(a).len(), 2);
    let d = plan.index_of("d").unwrap();
    let ports: Vec<&str> = plan.inputs(d).iter().map(|b| &*b.port).collect();
    assert_eq!(ports, ["a", "b"]);
}

#[test]
fn a_node_waits_for_its_longest_path() {
    let wf = workflow(
        vec![
            node("a", "source", json!({})),
            node("b", "double", json!({})),
            node("c", "pair", json!({})),
        ],
        vec![
            edge("a", "value", "b", "x"),
            edge("a", "value", "c", "a"),
            edge("b", "y", "c", "b"),
        ],
    );
    let report = validate(&wf, &catalog());
    assert_eq!(report.levels, [["a"], ["b"], ["c"]]);
}

#[test]
fn wide_fan_is_one_level_in_file_order() {
    let mut nodes = vec![node("root", "source", json!({}))];
    let mut edges = vec![];
    for i in (0..200).rev() {
        let id = format!("leaf-{i:03}");
        nodes.push(node(&id, "double", json!({})));
        edges.push(edge("root", "value", &id, "x"));
    }
    let report = validate(&workflow(nodes, edges), &catalog());
    assert!(report.valid);
    assert_eq!(report.levels.len(), 2);
    assert_eq!(report.levels[1].len(), 200);
    assert_eq!(report.levels[1][0], "leaf-199");
    assert!(report.levels[1].windows(2).all(|w| w[0] > w[1]));
}

#[test]
fn long_chain_has_one_node_per_level() {
    let n = 2_000;
    let mut nodes: Vec<Node> = vec![node("n0", "source", json!({}))];
    let mut edges = vec![];
    for i in 1..n {
        nodes.push(node(&format!("n{i}"), "double", json!({})));
        let port = if i == 1 { "value" } else { "y" };
        edges.push(edge(&format!("n{}", i - 1), port, &format!("n{i}"), "x"));
    }
    let report = validate(&workflow(nodes, edges), &catalog());
    assert!(report.valid);
    assert_eq!(report.levels.len(), n);
    assert_eq!(report.levels[n - 1], [format!("n{}", n - 1)]);
}

#[test]
fn plan_places_nodes_by_runtime() {
    let wf = workflow(
        vec![
            node("s", "source", json!({})),
            node("p", "plot", json!({})),
            node("j", "script", json!({})),
            node("m", "scene", json!({})),
            node("v", "sim", json!({"netlist": "R1 1 0 1k"})),
            node("c", "builtin:constant", json!({"value": {}})),
        ],
        vec![
            edge("s", "value", "p", "data"),
            edge("s", "value", "j", "x"),
            edge("c", "value", "m", "shape"),
        ],
    );
    let (plan, _) = plan(&wf, &catalog()).unwrap();
    let at = |id: &str| plan.node(id).unwrap().placement;
    assert_eq!(at("s"), Placement::Edge);
    assert_eq!(at("c"), Placement::Edge);
    for id in ["p", "j", "m", "v"] {
        assert_eq!(at(id), Placement::Browser, "{id}");
    }
    assert_eq!(
        &*plan.node("c").unwrap().commit,
        llmos_core::workflow::builtin::BUILTIN_COMMIT
    );
}
