//! Benchmarks of the workflows component on the real host.
//!
//! 1. **Execute a 1,000-node graph of built-in nodes** with
//!    `POST /workflows/{id}/execute`: 31 constants feeding 969 `math`
//!    nodes, each reading two earlier nodes. Every request
//!    loads the stored workflow from git, builds the skill catalog,
//!    validates and plans, runs every node, and commits the run's trace
//!    (with every node's outputs) to the user's volume. Reported: the
//!    client's wall time per request and the engine's own run time
//!    (`duration_ms` of the answer).
//! 2. **`POST /workflows/validate`** of the same graph (catalog, validation
//!    and planning, no commit), and of a 2-node workflow (what any request
//!    costs: host, instance, token, database).
//!
//! The core benchmark of validate + plan at 10,000 nodes / 20,000 edges is
//! `cargo bench -p llmos-core --bench workflow_plan`.
//!
//! Run (from the workspace root):
//!     cargo build --release -p llmos-host
//!     cargo build --target wasm32-wasip2 --release -p auth -p skills -p workflows
//!     cargo bench -p llmos-tests --bench workflows
//!
//! `BENCH_RUNS` (default 50) requests per measurement.

#[path = "../tests/workflows_support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::Env;

/// Nodes of the benchmark graph, and how many of them are constants.
const NODES: usize = 1000;
const SOURCES: usize = 31;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The 1,000-node graph: node `i ≥ 31` is `a * 0.5 + b * 0.5` of nodes
/// `i - 31` and `i - 17`.
fn graph() -> Value {
    let id = |i: usize| format!("n{i}");
    let port = |i: usize| if i < SOURCES { "value" } else { "result" };
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    for i in 0..NODES {
        let position = json!({"x": (i / SOURCES) * 160, "y": (i % SOURCES) * 60});
        if i < SOURCES {
            nodes.push(json!({"id": id(i), "skill_id": "builtin:constant",
                              "position": position, "params": {"value": i}}));
        } else {
            nodes.push(
                json!({"id": id(i), "skill_id": "builtin:math", "position": position,
                              "params": {"expression": "a * 0.5 + b * 0.5"}}),
            );
            for (from, to) in [(i - 31, "a"), (i - 17, "b")] {
                edges.push(json!({"source": id(from), "source_port": port(from),
                                  "target": id(i), "target_port": to}));
            }
        }
    }
    json!({"id": "bench-1000", "name": "Benchmark graph", "nodes": nodes, "edges": edges})
}

struct Stats {
    samples: Vec<f64>,
}

impl Stats {
    fn new(mut samples: Vec<f64>) -> Self {
        samples.sort_by(f64::total_cmp);
        Stats { samples }
    }

    fn at(&self, q: f64) -> f64 {
        let i = ((self.samples.len() - 1) as f64 * q).round() as usize;
        self.samples[i]
    }

    fn line(&self, what: &str) -> String {
        format!(
            "{what}: median {:.1} ms, p95 {:.1} ms, min {:.1} ms, max {:.1} ms ({} runs)",
            self.at(0.5),
            self.at(0.95),
            self.samples[0],
            self.samples[self.samples.len() - 1],
            self.samples.len()
        )
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    if !std::env::args().any(|arg| arg == "--bench") {
        // `cargo test --benches` runs bench targets without `--bench`.
        return;
    }
    let runs = env_or("BENCH_RUNS", 50).max(1);
    let env = Env::start();
    let workflow = graph();
    let created = env.expect(
        201,
        "alice",
        "POST",
        "/workflows",
        &json!({"workflow": workflow}),
    );
    assert_eq!(created["validation"]["valid"], true, "{created}");
    let levels = created["validation"]["levels"].as_array().unwrap().len();

    // Warm up the instance cache and the host's database pages.
    for _ in 0..3 {
        env.expect(
            200,
            "alice",
            "POST",
            "/workflows/bench-1000/execute",
            &json!({}),
        );
    }
    let mut wall = Vec::new();
    let mut engine = Vec::new();
    for _ in 0..runs {
        let t0 = Instant::now();
        let run = env.expect(
            200,
            "alice",
            "POST",
            "/workflows/bench-1000/execute",
            &json!({}),
        );
        wall.push(ms(t0.elapsed()));
        assert_eq!(run["status"], "done");
        assert!(run["trace_id"].is_string());
        engine.push(run["duration_ms"].as_f64().expect("duration_ms"));
    }
    let mut validate = Vec::new();
    let body = json!({"workflow": workflow});
    for _ in 0..runs {
        let t0 = Instant::now();
        let report = env.expect(200, "alice", "POST", "/workflows/validate", &body);
        validate.push(ms(t0.elapsed()));
        assert_eq!(report["valid"], true);
    }
    // The floor of any request: a 2-node workflow validated.
    let mut small = Vec::new();
    let tiny = json!({"workflow": {"nodes": [
        {"id": "a", "skill_id": "builtin:constant", "params": {"value": 1}},
        {"id": "b", "skill_id": "builtin:constant", "params": {"value": 2}}]}});
    for _ in 0..runs {
        let t0 = Instant::now();
        env.expect(200, "alice", "POST", "/workflows/validate", &tiny);
        small.push(ms(t0.elapsed()));
    }
    println!(
        "workflows: {NODES}-node built-in graph, {} edges, {levels} levels",
        2 * (NODES - SOURCES)
    );
    println!(
        "{}",
        Stats::new(wall).line("POST /workflows/{id}/execute, wall time per request")
    );
    println!(
        "{}",
        Stats::new(engine).line("  of which the engine's run of all nodes")
    );
    println!(
        "{}",
        Stats::new(validate).line("POST /workflows/validate, wall time per request")
    );
    println!(
        "{}",
        Stats::new(small).line("POST /workflows/validate of a 2-node workflow (request floor)")
    );
}
