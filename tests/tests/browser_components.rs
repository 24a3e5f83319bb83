//! Compiled skills in the browser, in real headless Chromium on the real
//! app: the component worker runs a real skill component (built here from
//! `tests/components/skill-fixture`) with the edge's runtime, so its
//! outputs are byte-identical to the runtime's natively; an endless loop
//! ends in `skill-out-of-fuel` while the page stays responsive; the worker
//! receives neither the token nor page state and nothing leaves
//! 127.0.0.1; and on the canvas a compiled node placed in the browser runs
//! its component and the run report names it. The compiled system
//! skills' shared test vectors run here too, and give the same bytes as
//! natively and at the edge (`skill_vectors.rs`).
//!
//! Build first: `./dev build` (host, components, frontend). Screenshots go
//! to `target/test-artifacts/`.

mod browser_components_support;
#[path = "browser_support/mod.rs"]
mod browser_support;
#[path = "skill_vectors_support/mod.rs"]
mod skill_vectors_support;

use std::time::{Duration, Instant};

use browser_components_support::{ComponentPage, fixture_wasm, native_answer, sha256};
use browser_support::block_on;
use fantoccini::key::Key;
use serde_json::{Value, json};

/// Serialises the tests of this file: each drives a browser, and the
/// loop test measures responsiveness on two shared cores.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Records every message the page posts to a worker or a port, as text
/// (bytes as their length, the worker's module as `<module>`), before any
/// worker of the debug hook exists.
const MESSAGE_SPY: &str = r#"
window.llmosPosted = [];
const describe = (message) => JSON.stringify(message, (key, value) => {
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  if (value instanceof WebAssembly.Module) return "<module>";
  if (value instanceof MessagePort) return "<port>";
  return value;
});
for (const proto of [Worker.prototype, MessagePort.prototype]) {
  const post = proto.postMessage;
  proto.postMessage = function (message, ...rest) {
    try { window.llmosPosted.push(describe(message)); } catch (e) { window.llmosPosted.push(String(e)); }
    return post.call(this, message, ...rest);
  };
}
"#;

fn fixture_inputs() -> Vec<Value> {
    vec![
        json!({"values": [3, 1, 2], "label": "abc"}),
        json!({"values": [0.1, 0.2, 1e-300, -5.5, 12345678901234567890u64], "label": "é ∑ 😀 \"q\""}),
        json!({"values": []}),
    ]
}

#[test]
fn component_outputs_in_the_browser_equal_the_native_runtimes_byte_for_byte() {
    let _serial = one_at_a_time();
    let bytes = fixture_wasm();
    let (host, token) = browser_support::start_app();
    block_on(async {
        let page = ComponentPage::open(&host, &token, Some(MESSAGE_SPY))
            .await
            .expect("the page");
        for inputs in fixture_inputs() {
            let text = inputs.to_string();
            let (native, native_log) = native_answer(&bytes, &text, None).expect("runs natively");
            let answer = page
                .answer(&bytes, json!({"node_id": "fixture", "inputs": inputs}))
                .await
                .expect("a run");
            assert_eq!(answer["ok"], true, "{answer:#}");
            assert_eq!(
                answer["outputs_text"].as_str(),
                Some(native.as_str()),
                "inputs {text}"
            );
            assert_eq!(
                answer["log"].as_str(),
                Some(native_log.as_str()),
                "inputs {text}"
            );
            assert_eq!(answer["sha256"], json!(sha256(&bytes)));
        }
        // What the conversion rules make of the sample's numbers and bytes.
        let (native, _) = native_answer(&bytes, r#"{"values": [1]}"#, None).unwrap();
        assert!(
            native.contains(r#""numbers":[0.30000000000000004,0.3333333333333333,0,2.5e-300,1e+21,123456789,9007199254740992,9007199254740994.0,null,null,-1.5]"#),
            "{native}"
        );
        assert!(
            native.contains(r#""bytes":"data:application/octet-stream;base64,AAEC+v8=""#),
            "{native}"
        );

        // The worker got the component's bytes once, and never the token.
        let posted: Vec<String> = page.page().js("return window.llmosPosted;").await;
        let runs: Vec<&String> = posted
            .iter()
            .filter(|m| m.contains(r#""type":"run""#))
            .collect();
        assert_eq!(runs.len(), fixture_inputs().len(), "{posted:#?}");
        let with_bytes = runs.iter().filter(|m| m.contains(r#""bytes":"<"#)).count();
        assert_eq!(with_bytes, 1, "the bytes go once per worker: {runs:#?}");
        for message in &posted {
            assert!(
                !message.contains(&page.token),
                "the token reached a worker: {message}"
            );
        }
        let connect = posted
            .iter()
            .find(|m| m.contains(r#""module":"<module>""#))
            .expect("the component worker's connect message");
        assert_eq!(connect, r#"{"module":"<module>","type":"connect"}"#);

        // Nothing the page loaded or fetched came from elsewhere.
        let base = page.host.url("/");
        for url in page.page().requested_urls().await {
            assert!(url.starts_with(&base), "a request left the app: {url}");
        }
        page.close().await;
    });
}

#[test]
fn an_endless_loop_runs_out_of_fuel_while_the_page_stays_responsive() {
    let _serial = one_at_a_time();
    let bytes = fixture_wasm();
    let (host, token) = browser_support::start_app();
    block_on(async {
        let page = ComponentPage::open(&host, &token, None)
            .await
            .expect("the page");
        // Warm up: the worker holds the component before the loop starts.
        let quick = page
            .outputs_text(&bytes, r#"{"values": [1, 2]}"#)
            .await
            .unwrap();
        assert!(quick.contains(r#""sum":3"#), "{quick}");

        let looping = json!({"node_id": "loop", "inputs": {"values": [], "mode": "loop"}});
        page.start_run(&bytes, looping.clone()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        // The page renders frames and answers scripts while the loop runs
        // in the worker.
        let started = Instant::now();
        let frame = page
            .browser
            .client
            .execute_async(
                "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(frame, json!(true));
        assert!(
            page.pending_answer("loop").await.unwrap().is_none(),
            "the loop ended within {:?}; the check above proved nothing",
            started.elapsed()
        );
        let answer = loop {
            if let Some(answer) = page.pending_answer("loop").await.unwrap() {
                break answer;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "the loop never ended"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(answer["ok"], false, "{answer:#}");
        assert_eq!(answer["error"]["code"], "skill-out-of-fuel", "{answer:#}");
        let (code, message, _) =
            native_answer(&bytes, &looping["inputs"].to_string(), None).unwrap_err();
        assert_eq!(code, "skill-out-of-fuel");
        assert_eq!(
            answer["error"]["message"],
            json!(message),
            "the edge's budget and words"
        );

        // The same worker goes on.
        let again = page
            .outputs_text(&bytes, r#"{"values": [1, 2]}"#)
            .await
            .unwrap();
        assert_eq!(again, quick);

        // Stop ends a loop at once; the next run gets a fresh worker, which
        // is sent the component again.
        page.start_run(&bytes, looping).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        page.browser
            .client
            .execute("window.llmosRuntimes.stop('loop');", vec![])
            .await
            .unwrap();
        let stopped = loop {
            if let Some(answer) = page.pending_answer("loop").await.unwrap() {
                break answer;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(stopped["stopped"], true, "{stopped:#}");
        let after = page
            .outputs_text(&bytes, r#"{"values": [1, 2]}"#)
            .await
            .unwrap();
        assert_eq!(after, quick);
        page.close().await;
    });
}

#[test]
fn skill_errors_and_traps_keep_the_runtimes_codes_and_logs() {
    let _serial = one_at_a_time();
    let bytes = fixture_wasm();
    let (host, token) = browser_support::start_app();
    block_on(async {
        let page = ComponentPage::open(&host, &token, None)
            .await
            .expect("the page");
        for (mode, code) in [("fail", "skill-bad-mode"), ("panic", "skill-trapped")] {
            let inputs = json!({"values": [1], "mode": mode});
            let answer = page
                .answer(&bytes, json!({"node_id": mode, "inputs": inputs}))
                .await
                .unwrap();
            let (native_code, native_message, native_log) =
                native_answer(&bytes, &inputs.to_string(), None).unwrap_err();
            assert_eq!(native_code, code);
            assert_eq!(answer["error"]["code"], code, "{answer:#}");
            assert_eq!(answer["error"]["message"], json!(native_message));
            assert_eq!(answer["error"]["log"], json!(native_log));
            if mode == "panic" {
                assert!(native_log.contains("mode `panic` panics"), "{native_log}");
            }
        }
        // Bytes whose hash is not the one named are refused unrun.
        let sha = page.upload(&bytes).await.unwrap();
        let refused = page
            .browser
            .client
            .execute_async(
                r#"const [sha, done] = arguments;
                window.llmosRuntimes.runComponent(JSON.stringify({node_id: "x", inputs: {}, sha256: "0".repeat(64)}), window.llmosComponents[sha]).then(done);"#,
                vec![json!(sha)],
            )
            .await
            .unwrap();
        let refused: Value = serde_json::from_str(refused.as_str().unwrap()).unwrap();
        assert_eq!(
            refused["error"]["code"], "component-hash-mismatch",
            "{refused:#}"
        );
        // A component whose ports differ from the skill file's.
        let answer = page
            .answer(
                &bytes,
                json!({"node_id": "p", "inputs": {"values": [1]},
                       "ports": {"inputs": [{"name": "values", "type": "number"}], "outputs": []}}),
            )
            .await
            .unwrap();
        assert_eq!(
            answer["error"]["code"], "component-ports-mismatch",
            "{answer:#}"
        );
        page.close().await;
    });
}

#[test]
fn the_component_worker_is_served_with_a_policy_that_refuses_connections() {
    let host = browser_support::app().start();
    let reply = host.get("/js/component-worker.js");
    assert_eq!(reply.status, 200);
    let policy = reply.header("content-security-policy").unwrap_or_default();
    for directive in [
        "connect-src 'none'",
        "worker-src 'none'",
        "script-src 'self';",
    ] {
        assert!(policy.contains(directive), "{policy}");
    }
    assert!(!policy.contains("unsafe-eval"), "{policy}");
    let module = host.get("/pkg/component_worker_bg.wasm");
    assert_eq!(module.status, 200);
    assert_eq!(module.header("content-type"), Some("application/wasm"));
}

/// The fixture as a skill file whose ports are the component's.
const FIXTURE_SKILL: &str = r#"---
skill_id: skill-fixture
name: Skill fixture
category: testing
description: Statistics and sample values from a test component.
keywords: [test]
type: wasm-component
inputs:
  - name: values
    type: array
  - name: label
    type: string
    required: false
  - name: mode
    type: string
    required: false
outputs:
  - name: stats
    type: object
  - name: sorted
    type: array
  - name: sample
    type: any
---
# Skill fixture

```rust
fn execute(values: Vec<f64>) -> f64 { values.iter().sum() }
```
"#;

#[test]
fn a_compiled_node_placed_in_the_browser_runs_its_component_and_the_report_names_it() {
    let _serial = one_at_a_time();
    let bytes = fixture_wasm();
    let (host, token) = browser_support::start_app();
    let client = reqwest::blocking::Client::new();
    let created = client
        .post(host.url("/skills"))
        .bearer_auth(&token)
        .header("content-type", "text/markdown")
        .body(FIXTURE_SKILL)
        .send()
        .unwrap();
    assert_eq!(
        created.status().as_u16(),
        201,
        "{}",
        created.text().unwrap_or_default()
    );
    let uploaded = client
        .put(host.url("/skills/skill-fixture/component?volume=users/alice"))
        .bearer_auth(&token)
        .header("content-type", "application/wasm")
        .body(bytes.clone())
        .send()
        .unwrap();
    let status = uploaded.status().as_u16();
    let body: Value = uploaded.json().unwrap_or(Value::Null);
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(
        body["component"]["sha256"],
        json!(sha256(&bytes)),
        "{body:#}"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compiled.json");
    let workflow = json!({
        "id": "compiled-in-browser", "name": "Compiled in the browser",
        "nodes": [{"id": "stats", "skill_id": "skill-fixture", "position": {"x": 40, "y": 40},
                   "params": {"values": [3, 1, 2], "label": "abc"}, "where": "browser"}],
        "edges": []
    });
    std::fs::write(&file, workflow.to_string()).unwrap();
    let (native, native_log) =
        native_answer(&bytes, r#"{"values": [3, 1, 2], "label": "abc"}"#, None).unwrap();
    let trace_id = block_on(async {
        let browser = browser_support::Browser::start().await;
        let page = browser_support::Workbench::open(&browser.client, &host, &token).await;
        let compiled: String = page
            .js("return document.querySelector(`#node-library [data-skill='skill-fixture']`).dataset.compiled;")
            .await;
        assert_eq!(compiled, "true", "the library marks compiled skills");
        page.import_file(&file).await;
        page.wait_status("1 node").await;
        // The inspector shows where it runs, switchable for a compiled skill.
        page.select_node((40.0, 40.0)).await;
        page.side_tab("node").await;
        page.wait_for("#inspector-where").await;
        let chosen: String = page
            .js("return document.getElementById('inspector-where').value;")
            .await;
        assert_eq!(chosen, "browser");
        let placement: String = page
            .js("return document.getElementById('inspector-placement').dataset.where;")
            .await;
        assert_eq!(placement, "browser");

        page.chord(&[Key::Control, Key::Enter]).await;
        let summary = page
            .wait_text("#run-summary", "a finished run", |t| {
                t.starts_with("done") || t.starts_with("failed")
            })
            .await;
        assert!(summary.starts_with("done"), "{summary}");
        let row = page.text("#run-panel [data-node='stats']").await;
        assert!(
            row.contains(&sha256(&bytes)[..12]),
            "the run panel names the component: {row}"
        );
        page.screenshot("compiled-node-run").await;
        // The trace has the component and the outputs the runtime gives.
        let notes = page
            .wait_text("#run-panel .notes", "the recorded trace", |t| {
                t.contains("recorded as trace ")
            })
            .await;
        let trace_id = notes
            .split("recorded as trace ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .expect("a trace id")
            .to_owned();
        browser.close().await;
        trace_id
    });
    let trace: Value = client
        .get(host.url(&format!("/traces/{trace_id}")))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let node = &trace["details"]["nodes"]["stats"];
    assert_eq!(node["component"], json!(sha256(&bytes)), "{trace:#}");
    assert_eq!(node["where"], "browser", "{trace:#}");
    let expected: Value = serde_json::from_str(&native).unwrap();
    assert_eq!(
        node["outputs"], expected,
        "the runtime's outputs: {trace:#}"
    );
    assert_eq!(
        trace["details"]["logs"]["stats"],
        json!(native_log),
        "{trace:#}"
    );
}

#[test]
fn system_components_give_the_vectors_outputs_in_the_browser() {
    use skill_vectors_support::{Expected, system_component};
    let _serial = one_at_a_time();
    let (host, token) = browser_support::start_app();
    block_on(async {
        let page = ComponentPage::open(&host, &token, None)
            .await
            .expect("the page");
        let mut checked = 0;
        for vectors in skill_vectors_support::all() {
            let bytes = system_component(&vectors.skill_id);
            for case in &vectors.cases {
                let label = format!("{} `{}`", vectors.skill_id, case.name);
                let answer = page
                    .answer(
                        &bytes,
                        json!({"node_id": "vector", "inputs": case.full_inputs}),
                    )
                    .await
                    .unwrap_or_else(|e| panic!("{label}: {e:#}"));
                match &case.expected {
                    Expected::Outputs(want) => {
                        assert_eq!(answer["ok"], true, "{label}: {answer:#}");
                        assert_eq!(
                            answer["outputs_text"].as_str(),
                            Some(want.as_str()),
                            "{label}"
                        );
                    }
                    Expected::Error(code) => {
                        assert_eq!(answer["ok"], false, "{label}: {answer:#}");
                        assert_eq!(answer["error"]["code"], json!(code), "{label}: {answer:#}");
                    }
                }
                checked += 1;
            }
        }
        assert!(checked >= 15, "only {checked} cases");
        page.close().await;
    });
}
