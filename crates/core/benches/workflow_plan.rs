//! Validate and plan a 10,000-node, 20,000-edge workflow (target: < 10 ms).

use criterion::{Criterion, criterion_group, criterion_main};
use llmos_core::types::{ExecutionMode, PortSpec, PortType, Runtime};
use llmos_core::workflow::{
    Catalog, Edge, Limits, Node, Position, SkillSignature, Workflow, analyze,
};
use serde_json::json;
use std::hint::black_box;

const NODES: usize = 10_000;
const EDGES: usize = 20_000;

fn port(name: &str, required: bool) -> PortSpec {
    PortSpec {
        name: name.into(),
        ty: PortType::Number,
        required,
        default: (!required).then(|| json!(0)),
        description: None,
    }
}

fn catalog() -> Catalog {
    let skill = |id: &str, inputs: Vec<PortSpec>| SkillSignature {
        skill_id: id.into(),
        runtime: Runtime::WasmComponent,
        execution_mode: ExecutionMode::EdgeWasm,
        inputs,
        outputs: vec![port("y", true)],
        extra_inputs: None,
        commit: format!("{id}-commit"),
        compiled: false,
        component: None,
    };
    [
        skill("source", vec![]),
        skill(
            "combine",
            vec![port("a", true), port("b", true), port("c", false)],
        ),
    ]
    .into_iter()
    .collect()
}

/// Node 0 is a source; every other node combines two earlier nodes picked
/// by a fixed pseudo-random sequence, and two nodes take a third input:
/// 2 × 9,999 + 2 = 20,000 edges, random depth and fan-out.
fn big_workflow() -> Workflow {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = |below: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % below as u64) as usize
    };
    let id = |i: usize| format!("node-{i:05}");
    let mut nodes = Vec::with_capacity(NODES);
    let mut edges = Vec::with_capacity(EDGES);
    for i in 0..NODES {
        nodes.push(Node {
            id: id(i),
            skill_id: if i == 0 { "source" } else { "combine" }.into(),
            position: Position {
                x: (i % 100) as f64 * 180.0,
                y: (i / 100) as f64 * 120.0,
                ..Position::default()
            },
            ..Node::default()
        });
        if i == 0 {
            continue;
        }
        let ports: &[&str] = if i == 500 || i == 9_000 {
            &["a", "b", "c"]
        } else {
            &["a", "b"]
        };
        for p in ports {
            edges.push(Edge {
                source: id(next(i)),
                source_port: "y".into(),
                target: id(i),
                target_port: (*p).into(),
                ..Edge::default()
            });
        }
    }
    assert_eq!(edges.len(), EDGES);
    Workflow {
        id: "big".into(),
        name: "10k".into(),
        nodes,
        edges,
        ..Workflow::default()
    }
}

fn bench(c: &mut Criterion) {
    let wf = big_workflow();
    let catalog = catalog();
    let limits = Limits {
        max_nodes: NODES,
        max_edges: EDGES,
    };
    let (report, plan) = analyze(&wf, &catalog, limits);
    assert!(
        report.valid,
        "{:?}",
        &report.errors[..report.errors.len().min(3)]
    );
    let plan = plan.expect("valid");
    eprintln!(
        "workflow: {} nodes, {} edges, {} levels",
        plan.nodes.len(),
        wf.edges.len(),
        plan.levels.len()
    );
    c.bench_function("validate_and_plan_10k_nodes_20k_edges", |b| {
        b.iter(|| analyze(black_box(&wf), &catalog, limits))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = bench
}
criterion_main!(benches);
