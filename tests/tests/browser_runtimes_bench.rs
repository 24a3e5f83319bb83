//! Benchmark: cold start to the first Python node result in headless
//! Chromium. Each sample is a new browser with a fresh profile (empty HTTP
//! cache) opening the workbench and running a small Python node as soon as
//! the page's runtimes exist. It prints numbers and asserts none; see
//! the "Browser runtimes" section of `BENCHMARKS.md`.
//!
//! ```text
//! cargo test --release -p llmos-tests --test browser_runtimes_bench -- --ignored --nocapture
//! ```

mod browser_runtimes_support;

use browser_runtimes_support::{Browser, code_request, one_at_a_time, start_app};
use serde_json::Value;

const SAMPLES: usize = 5;

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[test]
#[ignore = "a benchmark: run with --ignored --nocapture"]
fn cold_start_to_first_python_result() {
    let _serial = one_at_a_time();
    let host = start_app();
    let token = host.create_token("alice", &[], "user");
    let request = code_request(
        "python-wasm",
        "python",
        "first",
        "def execute(inputs):\n    return {'answer': sum(range(10))}\n",
        &[("answer", "number")],
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let (mut to_result, mut page_ready, mut pyodide) = (Vec::new(), Vec::new(), Vec::new());
    rt.block_on(async {
        for sample in 0..SAMPLES {
            let browser = Browser::start().await.expect("a browser session");
            browser
                .open_workbench(&host.url(&format!("/?token={token}")))
                .await.expect("the workbench");
            // Milliseconds since navigation started (the page's time origin).
            let mounted = browser.eval("return performance.now();").await.unwrap();
            let answer = browser.run(&request).await.expect("a run");
            let done = browser.eval("return performance.now();").await.unwrap();
            assert_eq!(answer["ok"], Value::Bool(true), "{answer:#}");
            let mounted = mounted.as_f64().unwrap_or_default();
            let done = done.as_f64().unwrap_or_default();
            let run = answer["duration_ms"].as_f64().unwrap_or_default();
            println!(
                "sample {sample}: page ready {mounted:.0} ms, first result {done:.0} ms after navigation \
                 (run call {run:.0} ms, including Pyodide's load)"
            );
            page_ready.push(mounted);
            to_result.push(done);
            pyodide.push(run);
            browser.close().await;
        }
    });
    println!(
        "median of {SAMPLES}: page ready {:.0} ms; first Python result {:.0} ms after navigation; \
         run call incl. Pyodide load {:.0} ms",
        median(&mut page_ready),
        median(&mut to_result),
        median(&mut pyodide)
    );
}
