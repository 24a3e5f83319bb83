//! Benchmarks of compiled skills.
//!
//! 1. **At the edge, on the real host:** a workflow of 40 nodes in one
//!    chain, 20 of them a compiled Rust skill and 20 the built-in `math`
//!    node, each computing `x * 1.5 + 1` of the one before.
//!    `POST /workflows/{id}/execute` runs it; each node's `duration_ms`
//!    (the engine's own timing, inside the workflows component) gives the
//!    per-call cost of a compiled node — the component read from the
//!    volume and parsed once per request, then instantiated and run per
//!    node — against a built-in node doing the same work in the same run.
//!    The first compiled node of a request pays for reading and parsing;
//!    the others show the cached call.
//! 2. **Natively, with `llmos-skill-runtime`:** load (parse + validate +
//!    `describe`) and a cached call (instantiate + execute) of the shipped
//!    system components, and how many times a component is parsed for a
//!    run of many calls (it must be once).
//! 3. **In headless Chromium:** the same shipped Rust component run by the
//!    workbench's component worker through the runtime debug hook, timed
//!    by the page (`duration_ms`: request to the worker, instantiate,
//!    execute, answer back); the first call also parses the component.
//!
//! Run (from the workspace root, after `./dev build`):
//!     cargo bench -p llmos-tests --bench components
//!
//! `BENCH_RUNS` (default 30) requests per measurement.

#[path = "../tests/browser_components_support/mod.rs"]
mod browser_components_support;
#[path = "../tests/browser_support/mod.rs"]
mod browser_support;

use std::time::{Duration, Instant};

use llmos_skill_runtime::SkillRuntime;
use llmos_tests::{HostConfig, app_manifest, workspace_root};
use serde_json::{Map, Value, json};

/// Nodes of each kind in the chain.
const EACH: usize = 20;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const LINEAR: &str = "---\nskill_id: bench-linear\nname: Linear\ncategory: mathematics\n\
description: x * 1.5 + 1, compiled.\ntype: wasm-component\ninputs:\n  - name: x\n    type: number\n\
outputs:\n  - name: result\n    type: number\n---\n\n```rust\nuse llmos_skill::prelude::*;\n\n\
#[derive(Outputs)]\nstruct Out {\n    result: f64,\n}\n\n#[skill]\nfn execute(x: f64) -> Out {\n    \
Out { result: x * 1.5 + 1.0 }\n}\n```\n";

/// constant → (compiled → math) × EACH.
fn chain() -> Value {
    let mut nodes = vec![json!({"id": "c", "skill_id": "builtin:constant",
        "position": {"x": 0, "y": 0}, "params": {"value": 1}})];
    let mut edges = Vec::new();
    let mut previous = ("c".to_owned(), "value");
    for i in 0..EACH {
        let compiled = format!("k{i}");
        let builtin = format!("m{i}");
        nodes.push(json!({"id": compiled, "skill_id": "bench-linear",
            "position": {"x": 200 * (2 * i + 1), "y": 0}, "params": {}}));
        nodes.push(json!({"id": builtin, "skill_id": "builtin:math",
            "position": {"x": 200 * (2 * i + 2), "y": 0},
            "params": {"expression": "x * 1.5 + 1"}}));
        edges.push(json!({"source": previous.0, "source_port": previous.1,
            "target": compiled, "target_port": "x"}));
        edges.push(json!({"source": compiled, "source_port": "result",
            "target": builtin, "target_port": "x"}));
        previous = (builtin, "result");
    }
    json!({"id": "bench-chain", "name": "Compiled and built-in", "nodes": nodes, "edges": edges})
}

fn quantile(samples: &mut [f64], q: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    let i = ((samples.len() - 1) as f64 * q).round() as usize;
    samples[i]
}

/// Runs the edge part; returns the bytes of the compiled skill it built.
fn edge() -> Vec<u8> {
    let runs = env_or("BENCH_RUNS", 30);
    let host = HostConfig::new(app_manifest()).start();
    let token = host.create_token("bench-user", &[], "user");
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .expect("a client");
    let send = |method: reqwest::Method, path: &str| {
        client.request(method, host.url(path)).bearer_auth(&token)
    };
    let saved = send(reqwest::Method::POST, "/skills")
        .header("content-type", "text/markdown")
        .body(LINEAR)
        .send()
        .expect("save the skill");
    assert_eq!(saved.status(), 201);
    let started = Instant::now();
    let built = send(reqwest::Method::POST, "/skills/bench-linear/build")
        .json(&json!({}))
        .send()
        .expect("build");
    assert_eq!(built.status(), 200, "{:?}", built.text());
    let built: Value = built.json().expect("JSON");
    println!(
        "build of a small Rust skill through the API: {:.2} s, {} bytes",
        started.elapsed().as_secs_f64(),
        built["component"]["size"]
    );
    let created = send(reqwest::Method::POST, "/workflows")
        .json(&json!({"workflow": chain()}))
        .send()
        .expect("save the workflow");
    assert_eq!(created.status(), 201, "{:?}", created.text());

    let (mut first, mut compiled, mut builtin, mut request) = (vec![], vec![], vec![], vec![]);
    for run in 0..=runs {
        let t0 = Instant::now();
        let reply = send(reqwest::Method::POST, "/workflows/bench-chain/execute")
            .json(&json!({}))
            .send()
            .expect("execute");
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        let report: Value = reply.json().expect("a report");
        assert_eq!(report["status"], "done", "{report}");
        if run == 0 {
            continue; // warm-up: compiled code caches of the host
        }
        request.push(ms);
        let nodes = report["nodes"].as_object().expect("nodes");
        for i in 0..EACH {
            let k = nodes[&format!("k{i}")]["duration_ms"]
                .as_f64()
                .expect("timed");
            let m = nodes[&format!("m{i}")]["duration_ms"]
                .as_f64()
                .expect("timed");
            if i == 0 {
                first.push(k);
            } else {
                compiled.push(k);
            }
            builtin.push(m);
        }
    }
    let (c50, b50) = (quantile(&mut compiled, 0.5), quantile(&mut builtin, 0.5));
    println!("edge, {runs} requests of {EACH} compiled + {EACH} built-in nodes:");
    println!(
        "  first compiled node of a request (read + parse + call): p50 {:.2} ms, p99 {:.2} ms",
        quantile(&mut first, 0.5),
        quantile(&mut first, 0.99)
    );
    println!(
        "  compiled node, cached (instantiate + execute): p50 {c50:.3} ms, p99 {:.3} ms",
        quantile(&mut compiled, 0.99)
    );
    println!(
        "  built-in math node: p50 {b50:.4} ms, p99 {:.4} ms",
        quantile(&mut builtin, 0.99)
    );
    println!(
        "  ratio compiled / built-in (p50): {:.0}×",
        c50 / b50.max(1e-6)
    );
    println!(
        "  whole request: p50 {:.1} ms, p99 {:.1} ms",
        quantile(&mut request, 0.5),
        quantile(&mut request, 0.99)
    );
    let component = send(reqwest::Method::GET, "/skills/bench-linear/component")
        .send()
        .expect("download the component");
    assert_eq!(component.status(), 200);
    component.bytes().expect("the component").to_vec()
}

fn ode_inputs() -> Value {
    json!({"variables": ["y"], "equations": ["-0.5 * y"], "initial": [1], "t1": 1, "steps": 100})
}

fn system_component(id: &str) -> Vec<u8> {
    let path = workspace_root().join(format!("volumes/system/skills/{id}.wasm"));
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run ./dev build first", path.display()))
}

/// Calls of `bytes` on `inputs` in the page's component worker: the
/// first call's time and the later ones'.
async fn browser_calls(
    page: &browser_components_support::ComponentPage<'_>,
    bytes: &[u8],
    inputs: Value,
    calls: usize,
) -> (f64, Vec<f64>) {
    let request = json!({"node_id": "bench", "inputs": inputs});
    let mut times = Vec::with_capacity(calls);
    let mut first = 0.0;
    for call in 0..=calls {
        let answer = page
            .answer(bytes, request.clone())
            .await
            .expect("an answer");
        assert_eq!(answer["ok"], true, "{answer}");
        let ms = answer["duration_ms"].as_f64().expect("timed");
        if call == 0 {
            first = ms;
        } else {
            times.push(ms);
        }
    }
    (first, times)
}

/// The browser part; `linear` is the edge part's compiled skill.
fn browser(linear: Option<Vec<u8>>) {
    let calls = env_or("BENCH_RUNS", 30);
    let mut cases = vec![(
        "ode-integrator",
        system_component("ode-integrator"),
        ode_inputs(),
    )];
    if let Some(bytes) = linear {
        cases.insert(
            0,
            (
                "bench-linear (the edge's compiled node)",
                bytes,
                json!({"x": 1}),
            ),
        );
    }
    let (host, token) = browser_support::start_app();
    let results = browser_support::block_on(async {
        let page = browser_components_support::ComponentPage::open(&host, &token, None)
            .await
            .expect("the workbench opens");
        let mut results = Vec::new();
        for (_, bytes, inputs) in &cases {
            results.push(browser_calls(&page, bytes, inputs.clone(), calls).await);
        }
        page.close().await;
        results
    });
    println!("browser, component worker (page-timed, {calls} calls each):");
    for ((name, bytes, _), (first, mut times)) in cases.into_iter().zip(results) {
        println!(
            "  {name}, {} bytes: first call (parse + call) {first:.1} ms, cached call p50 {:.2} ms, p99 {:.2} ms",
            bytes.len(),
            quantile(&mut times, 0.5),
            quantile(&mut times, 0.99)
        );
    }
}

fn native() {
    let cases: [(&str, Value); 3] = [
        ("ode-integrator", ode_inputs()),
        (
            "table-transform",
            json!({"table": "a,b\n1,2\n3,4\n", "delimiter": ",", "header": true,
                   "parse_numbers": true, "filter": [], "group_by": [], "aggregates": [],
                   "sort": [], "limit": 0, "select": [], "rename": {}}),
        ),
        (
            "descriptive-statistics",
            json!({"values": [2, 4, 4, 4, 5, 5, 7, 9], "percentiles": [5, 95], "bins": 0,
                   "bin_rule": "sturges"}),
        ),
    ];
    println!("native, llmos-skill-runtime:");
    for (id, inputs) in cases {
        let bytes = system_component(id);
        let mut runtime = SkillRuntime::default();
        let t0 = Instant::now();
        let skill = runtime.load(&bytes).expect("loads");
        let load = t0.elapsed();
        let inputs: Map<String, Value> = inputs.as_object().cloned().expect("an object");
        runtime.run(&skill, &inputs).expect("the first call");
        let calls = 20;
        let mut times = Vec::with_capacity(calls);
        for _ in 0..calls {
            // As the edge does: keyed by the blob id, so a cached component
            // is neither read nor hashed again.
            let again = runtime
                .load_keyed(id, || Ok::<_, std::convert::Infallible>(bytes.clone()))
                .expect("no fetch error")
                .expect("cached");
            let t = Instant::now();
            runtime.run(&again, &inputs).expect("a call");
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        println!(
            "  {id}: {} bytes, load {:.0} ms, cached call p50 {:.2} ms, p99 {:.2} ms, parsed {} time(s) for {} loads",
            bytes.len(),
            load.as_secs_f64() * 1e3,
            quantile(&mut times, 0.5),
            quantile(&mut times, 0.99),
            runtime.loads(),
            calls + 1
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument picks a part.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wants = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    if wants("native") {
        native();
    }
    let linear = wants("edge").then(edge);
    if wants("browser") {
        browser(linear);
    }
}
