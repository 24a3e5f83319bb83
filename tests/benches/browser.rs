//! The workbench in headless Chromium against the real host: page load to
//! an interactive canvas, frame times of scripted drags on a 5,000-node
//! workflow, and the size of the shipped wasm bundle.
//!
//! Run (from the workspace root, with the app built by `./dev build`):
//!     cargo bench -p llmos-tests --bench browser
//!
//! `BENCH_LOADS` sets the page loads measured (default 10), `BENCH_NODES`
//! the size of the generated workflow (default 5000). Results are printed
//! and written to `target/test-artifacts/browser-bench.json`.
//!
//! Frame times come from the page itself: `requestAnimationFrame`
//! timestamps recorded during each drag (the interval between frames the
//! browser presented; 16.7 ms at 60 Hz when every frame is on time), and
//! the canvas's own draw time per frame (`data-draw-ms`, observed on every
//! frame). Headless Chromium renders in software (SwiftShader), so these
//! are upper bounds for a desktop browser with a GPU.

#[path = "../tests/browser_support/mod.rs"]
mod browser_support;

use std::time::Instant;

use browser_support::*;
use fantoccini::key::Key;
use serde_json::{Value, json};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Percentile of sorted samples.
fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn summary(mut samples: Vec<f64>) -> Value {
    samples.sort_by(f64::total_cmp);
    json!({
        "n": samples.len(),
        "p50": pct(&samples, 0.5),
        "p95": pct(&samples, 0.95),
        "max": samples.last().copied().unwrap_or(f64::NAN),
    })
}

/// A workflow of `n` built-in nodes in rows of 70: constants feeding math
/// nodes, every math node also fed by the math node two columns back.
fn generated_workflow(n: usize) -> Value {
    let cols = 70;
    let mut nodes = Vec::with_capacity(n);
    let mut edges = Vec::new();
    for i in 0..n {
        let (col, row) = (i % cols, i / cols);
        let position = json!({"x": col * 280, "y": row * 160});
        if col % 2 == 0 {
            nodes.push(
                json!({"id": format!("n{i}"), "skill_id": "builtin:constant",
                "position": position, "params": {"value": i}}),
            );
        } else {
            let mut params = json!({"expression": "x + y"});
            edges.push(
                json!({"source": format!("n{}", i - 1), "source_port": "value",
                "target": format!("n{i}"), "target_port": "x"}),
            );
            if col >= 3 {
                edges.push(
                    json!({"source": format!("n{}", i - 2), "source_port": "result",
                    "target": format!("n{i}"), "target_port": "y"}),
                );
            } else {
                params["y"] = json!(0);
            }
            nodes.push(json!({"id": format!("n{i}"), "skill_id": "builtin:math",
                "position": position, "params": params}));
        }
    }
    json!({"id": "bench", "name": format!("Bench {n}"), "nodes": nodes, "edges": edges})
}

/// Starts recording rAF timestamps and per-frame draw times in the page.
async fn start_recording(page: &Workbench<'_>) {
    let _: bool = page
        .js("window.__bench = {raf: [], draw: [], on: true};
             const c = document.getElementById('workflow-canvas');
             const tick = (t) => { if (window.__bench.on) { window.__bench.raf.push(t); requestAnimationFrame(tick); } };
             requestAnimationFrame(tick);
             window.__benchObserver = new MutationObserver(() => window.__bench.draw.push(+c.dataset.drawMs));
             window.__benchObserver.observe(c, {attributes: true, attributeFilter: ['data-frames']});
             return true;")
        .await;
}

/// Stops recording; returns (rAF intervals, draw times), in ms.
async fn stop_recording(page: &Workbench<'_>) -> (Vec<f64>, Vec<f64>) {
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let (raf, draw): (Vec<f64>, Vec<f64>) = page
        .js(
            "window.__bench.on = false; window.__benchObserver.disconnect();
             return [window.__bench.raf, window.__bench.draw];",
        )
        .await;
    let intervals = raf.windows(2).map(|w| w[1] - w[0]).collect();
    (intervals, draw)
}

async fn measure_drag(
    page: &Workbench<'_>,
    label: &str,
    from: (f64, f64),
    to: (f64, f64),
) -> Value {
    start_recording(page).await;
    let before = page.canvas().await.frames;
    page.drag(from, to, 90).await;
    let (intervals, draws) = stop_recording(page).await;
    let view = page.canvas().await;
    let visible: String = page
        .js("return document.getElementById('workflow-canvas').dataset.visibleNodes")
        .await;
    let result = json!({
        "scenario": label,
        "visible_nodes": visible.parse::<u64>().unwrap_or(0),
        "zoom": view.scale,
        "frames_drawn": view.frames - before,
        "raf_interval_ms": summary(intervals),
        "draw_ms": summary(draws),
    });
    println!(
        "{label:<44} visible {:>5}  rAF p50 {:>5.1} p95 {:>5.1} max {:>6.1} ms  draw p50 {:>5.2} p95 {:>5.2} max {:>6.2} ms",
        result["visible_nodes"],
        result["raf_interval_ms"]["p50"]
            .as_f64()
            .unwrap_or(f64::NAN),
        result["raf_interval_ms"]["p95"]
            .as_f64()
            .unwrap_or(f64::NAN),
        result["raf_interval_ms"]["max"]
            .as_f64()
            .unwrap_or(f64::NAN),
        result["draw_ms"]["p50"].as_f64().unwrap_or(f64::NAN),
        result["draw_ms"]["p95"].as_f64().unwrap_or(f64::NAN),
        result["draw_ms"]["max"].as_f64().unwrap_or(f64::NAN),
    );
    result
}

/// Zooms with the wheel at a point until the scale reaches `target`.
async fn zoom_to(page: &Workbench<'_>, at: (f64, f64), target: f64) {
    use fantoccini::actions::{InputSource, WheelAction, WheelActions};
    for _ in 0..60 {
        let scale = page.canvas().await.scale;
        if (scale - target).abs() / target < 0.15 {
            return;
        }
        let delta = if scale < target { -120 } else { 120 };
        let wheel = WheelActions::new("wheel".into()).then(WheelAction::Scroll {
            duration: None,
            x: at.0 as i64,
            y: at.1 as i64,
            delta_x: 0,
            delta_y: delta,
        });
        page.c.perform_actions(wheel).await.expect("wheel");
        page.c.release_actions().await.expect("release");
    }
}

/// A point near `near` (viewport) between the rows of the generated
/// workflow, where a press starts a pan: below a row's nodes and edges,
/// above the next row.
fn empty_spot(view: &CanvasView, near: (f64, f64)) -> (f64, f64) {
    let wx = (near.0 - view.left - view.ox) / view.scale;
    let wy = (near.1 - view.top - view.oy) / view.scale;
    let gap_y = (wy / 160.0).floor() * 160.0 + 135.0;
    view.screen((wx, gap_y))
}

fn bundle_sizes() -> Value {
    let wasm = llmos_tests::workspace_root().join("frontend/dist/pkg/llmos_frontend_bg.wasm");
    let js = llmos_tests::workspace_root().join("frontend/dist/pkg/llmos_frontend.js");
    let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let gzip = std::process::Command::new("gzip")
        .args(["-9", "-c"])
        .arg(&wasm)
        .output()
        .map(|o| o.stdout.len() as u64)
        .unwrap_or(0);
    json!({"wasm_bytes": size(&wasm), "wasm_gzip_bytes": gzip, "js_glue_bytes": size(&js)})
}

fn main() {
    if !std::env::args().any(|arg| arg == "--bench") {
        println!(
            "browser benchmark skipped: run it with `cargo bench -p llmos-tests --bench browser`"
        );
        return;
    }
    let loads = env_or("BENCH_LOADS", 10);
    let nodes = env_or("BENCH_NODES", 5_000);
    let (host, token) = start_app();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("bench.json");
    std::fs::write(&file, generated_workflow(nodes).to_string()).expect("write the workflow");
    let bundle = bundle_sizes();
    println!(
        "wasm bundle: {} bytes ({} gzipped), JS glue {} bytes",
        bundle["wasm_bytes"], bundle["wasm_gzip_bytes"], bundle["js_glue_bytes"]
    );

    let results = block_on(async {
        let browser = Browser::start().await;
        let c = &browser.client;
        let page = Workbench {
            c,
            base: host.url(""),
        };
        // Page load to interactive canvas: navigation start → first frame
        // drawn by the canvas (the page's own clock), and the wall time of
        // the WebDriver navigation until the canvas reports it.
        let mut first_frame = Vec::new();
        let mut wall = Vec::new();
        for i in 0..loads {
            let url = if i == 0 {
                host.url(&format!("/?token={token}"))
            } else {
                host.url("/")
            };
            let started = Instant::now();
            c.goto(&url).await.expect("navigate");
            page.wait_for("#workflow-canvas[data-first-frame-ms]").await;
            wall.push(started.elapsed().as_secs_f64() * 1000.0);
            let ms: String = page
                .js("return document.getElementById('workflow-canvas').dataset.firstFrameMs")
                .await;
            first_frame.push(ms.parse::<f64>().expect("a number"));
        }
        println!(
            "page load to interactive canvas: first load {:.0} ms; reloads p50 {:.0} ms (navigation start → first frame); wall p50 {:.0} ms",
            first_frame[0],
            pct(
                &{
                    let mut v = first_frame[1..].to_vec();
                    v.sort_by(f64::total_cmp);
                    v
                },
                0.5
            ),
            pct(
                &{
                    let mut v = wall.clone();
                    v.sort_by(f64::total_cmp);
                    v
                },
                0.5
            ),
        );
        let load = json!({
            "first_load_ms": first_frame[0],
            "reload_first_frame_ms": summary(first_frame[1..].to_vec()),
            "webdriver_wall_ms": summary(wall),
        });

        // The generated workflow, imported through the page.
        let started = Instant::now();
        page.import_file(&file).await;
        page.wait_status(&format!("{nodes} nodes")).await;
        let import_ms = started.elapsed().as_secs_f64() * 1000.0;
        println!("import and validate {nodes} nodes: {import_ms:.0} ms (wall)");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;

        let mut drags = Vec::new();
        let view = page.canvas().await;
        // 1. Pan the fitted view: every node in view.
        drags.push(
            measure_drag(
                &page,
                "pan, whole workflow in view",
                (view.left + 10.0, view.top + 60.0),
                (view.left + 210.0, view.top + 160.0),
            )
            .await,
        );
        // 2. Move all nodes at once.
        page.click_at((view.left + 10.0, view.top + 60.0)).await;
        page.shortcut(&[Key::Control], 'a').await;
        let view = page.canvas().await;
        let node = view.screen((95.0, 40.0));
        drags.push(
            measure_drag(
                &page,
                "move every node (all selected)",
                node,
                (node.0 + 150.0, node.1 + 80.0),
            )
            .await,
        );
        page.shortcut(&[Key::Control], 'z').await;
        page.chord(&[Key::Escape]).await;
        // 3. and 4. Medium zooms: boxes and ports, then titles too.
        for (target, label) in [
            (0.25, "pan at 25% zoom"),
            (0.5, "pan at 50% zoom (titles drawn)"),
        ] {
            let view = page.canvas().await;
            let centre = (view.left + view.width / 2.0, view.top + view.height / 2.0);
            zoom_to(&page, centre, target).await;
            let view = page.canvas().await;
            let from = empty_spot(&view, centre);
            drags.push(measure_drag(&page, label, from, (from.0 - 200.0, from.1 - 100.0)).await);
        }
        // 5. Full detail: drag one node.
        // 4. Full detail: drag one node.
        page.click("#tab-node").await;
        let view = page.canvas().await;
        let centre = (view.left + view.width / 2.0, view.top + view.height / 2.0);
        zoom_to(&page, centre, 1.0).await;
        let view = page.canvas().await;
        // The node under the middle of the view: its title band.
        let (wx, wy) = (
            ((centre.0 - view.left - view.ox) / view.scale / 280.0).floor() * 280.0,
            ((centre.1 - view.top - view.oy) / view.scale / 160.0).floor() * 160.0,
        );
        let grab = view.screen((wx + 95.0, wy + 13.0));
        drags.push(
            measure_drag(
                &page,
                "drag one node at 100% zoom",
                grab,
                (grab.0 + 200.0, grab.1 + 120.0),
            )
            .await,
        );
        page.screenshot("bench-5000").await;
        browser.close().await;
        json!({"page_load": load, "import_ms": import_ms, "drags": drags})
    });
    let report = json!({
        "nodes": nodes,
        "bundle": bundle,
        "results": results,
    });
    let path = artifact("browser-bench.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report).expect("JSON"))
        .expect("write the report");
    println!("written to {}", path.display());
}
