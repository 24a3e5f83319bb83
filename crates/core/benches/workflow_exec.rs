//! Execute a 1,000-node workflow of built-in nodes at the edge (target:
//! < 50 ms).

use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use llmos_core::workflow::{
    Catalog, Clock, Edge, Executors, Node, Placement, RunStatus, Workflow, execute, plan,
};
use serde_json::{Value, json};
use std::hint::black_box;

const NODES: usize = 1_000;

struct WallClock(Instant);

impl Clock for WallClock {
    fn now_ms(&self) -> f64 {
        self.0.elapsed().as_secs_f64() * 1e3
    }
}

const EXPRESSIONS: [&str; 3] = [
    "a * 0.5 + b",
    "sqrt(a * a + b * b)",
    "max(a, b) - min(a, b) / 2",
];

/// Every tenth node a constant; the rest math over two earlier numbers,
/// merges of two numbers into an object, JSONPath reads from those objects
/// and transforms that pick and rename their fields.
fn builtin_workflow(distinct_expressions: bool) -> Workflow {
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut pick = |from: &[usize]| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        from[(state % from.len() as u64) as usize]
    };
    let id = |i: usize| format!("n{i:04}");
    let (mut numbers, mut objects) = (Vec::new(), Vec::new());
    let mut nodes = Vec::with_capacity(NODES);
    let mut edges = Vec::new();
    let edge = |s: usize, sp: &str, t: usize, tp: &str| Edge {
        source: id(s),
        source_port: sp.into(),
        target: id(t),
        target_port: tp.into(),
        ..Edge::default()
    };
    for i in 0..NODES {
        let (skill, params): (&str, Value) = match i % 10 {
            0 => {
                numbers.push(i);
                ("builtin:constant", json!({"value": i}))
            }
            7 => {
                edges.push(edge(pick(&numbers), "value_or_result", i, "x"));
                edges.push(edge(pick(&numbers), "value_or_result", i, "y"));
                objects.push(i);
                ("builtin:merge", json!({}))
            }
            8 => {
                edges.push(edge(pick(&objects), "value", i, "input"));
                numbers.push(i);
                ("builtin:json-path", json!({"path": "$.x"}))
            }
            9 => {
                edges.push(edge(pick(&objects), "value", i, "input"));
                (
                    "builtin:transform",
                    json!({"fields": {"first": "x", "second": "$.y"}}),
                )
            }
            k => {
                edges.push(edge(pick(&numbers), "value_or_result", i, "a"));
                edges.push(edge(pick(&numbers), "value_or_result", i, "b"));
                numbers.push(i);
                let expression = if distinct_expressions {
                    format!("{} + {i}", EXPRESSIONS[k % 3])
                } else {
                    EXPRESSIONS[k % 3].to_owned()
                };
                ("builtin:math", json!({"expression": expression}))
            }
        };
        let Value::Object(params) = params else {
            unreachable!()
        };
        nodes.push(Node {
            id: id(i),
            skill_id: skill.into(),
            params,
            ..Node::default()
        });
    }
    // Numeric nodes are constants and JSONPath reads (output `value`) or
    // math nodes (output `result`).
    for e in &mut edges {
        if e.source_port == "value_or_result" {
            let i: usize = e.source[1..].parse().expect("node ids are n + index");
            e.source_port = if matches!(i % 10, 0 | 8) {
                "value"
            } else {
                "result"
            }
            .into();
        }
    }
    Workflow {
        id: "builtins".into(),
        nodes,
        edges,
        ..Workflow::default()
    }
}

fn bench(c: &mut Criterion) {
    let clock = WallClock(Instant::now());
    for (name, distinct) in [
        ("execute_1000_builtin_nodes", false),
        ("execute_1000_builtin_nodes_distinct_expressions", true),
    ] {
        let wf = builtin_workflow(distinct);
        let (plan, _) = match plan(&wf, &Catalog::new()) {
            Ok(p) => p,
            Err(report) => panic!("{:#?}", &report.errors[..report.errors.len().min(3)]),
        };
        let report = execute(
            &plan,
            Placement::Edge,
            None,
            &mut Executors::builtin(),
            &clock,
        )
        .expect("no run inputs");
        assert_eq!(
            report.status,
            RunStatus::Done,
            "{:?}",
            report.nodes.values().find(|n| n.error.is_some())
        );
        eprintln!(
            "{name}: {} nodes, {} edges, {} levels",
            plan.nodes.len(),
            wf.edges.len(),
            plan.levels.len()
        );
        c.bench_function(name, |b| {
            b.iter(|| {
                // A fresh executor per run, as the edge component makes one
                // per request: expression parsing is part of the measurement.
                let mut executors = Executors::builtin();
                execute(
                    black_box(&plan),
                    Placement::Edge,
                    None,
                    &mut executors,
                    &clock,
                )
            })
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = bench
}
criterion_main!(benches);
