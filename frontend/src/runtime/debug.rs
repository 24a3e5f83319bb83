//! An inspection panel and test hook for the runtimes and previews, off
//! unless asked for. The page's wasm module exports `mountRuntimeDebug()`;
//! calling it (from the console, or a browser test) appends a panel with
//! its own [`Runner`] and installs `window.llmosRuntimes`:
//!
//! - `run(requestJson)` → Promise of `{ok: true, outputs, log, duration_ms}`
//!   or `{ok: false, error: {message, kind, log}}` (a JSON string);
//!   `requestJson` is a [`RunRequest`].
//! - `runOutputs(requestJson)` → Promise of the outputs only (JSON), or a
//!   rejection with the error message ([`Runner::run`]).
//! - `runComponent(requestJson, bytes?)` → Promise of `{ok: true,
//!   outputs, outputs_text, log, fuel, sha256, duration_ms}` or `{ok:
//!   false, error: {message, code, kind, log}, stopped, timed_out}` (a
//!   JSON string): a compiled skill's component run in the component
//!   worker ([`Runner::run_component`]). `requestJson` is `{node_id,
//!   inputs, skill_id?, sha256?, limits?, ports?: {inputs, outputs},
//!   volume?, commit?}`; with `bytes` (a `Uint8Array`) that component
//!   runs, else it is fetched from `/skills/{skill_id}/component`.
//!   `outputs_text` is the outputs' JSON text exactly as the runtime
//!   wrote it.
//! - `stop(nodeId)` — [`Runner::stop`].
//! - `setTimeout(ms)` — the run timeout for runs started from now on.
//! - `pythonStatus()` → `"loading"`, `"ready"` or `"failed: <why>"`.
//! - `preview(valueJson, portType)` → the index `i` of a new
//!   [`OutputPreview`] shown in the panel as `#runtime-preview-<i>`.

use llmos_core::types::PortType;
use serde_json::{Value, json};
use sycamore::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use super::{ComponentRequest, ComponentSource, RunRequest, Runner, RuntimeStatus};
use crate::preview::OutputPreview;

/// Adds the panel to the page and installs `window.llmosRuntimes`.
#[wasm_bindgen(js_name = mountRuntimeDebug)]
pub fn mount_runtime_debug() -> Result<(), JsValue> {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    if document.get_element_by_id("runtime-debug").is_some() {
        return Ok(());
    }
    let panel = document.create_element("section")?;
    panel.set_id("runtime-debug");
    document.body().ok_or("no body")?.append_child(&panel)?;
    sycamore::render_to(DebugPanel, &panel);
    Ok(())
}

fn status_text(status: &RuntimeStatus) -> String {
    match status {
        RuntimeStatus::Loading => "loading".into(),
        RuntimeStatus::Ready => "ready".into(),
        RuntimeStatus::Failed(why) => format!("failed: {why}"),
    }
}

#[component]
fn DebugPanel() -> View {
    let runner = Runner::new();
    let previews = create_signal(Vec::<(usize, Value, PortType)>::new());
    install_hook(runner.clone(), previews);
    let status = runner.python_status();
    view! {
        h2 { "Runtimes" }
        p(id="python-status") { "Python: " (status_text(&status.get_clone())) }
        div(class="runtime-previews", style="max-width: 360px") {
            Keyed(
                list=previews,
                view=|(index, value, port_type)| view! {
                    div(id=format!("runtime-preview-{index}"), style="margin: 8px 0") {
                        OutputPreview(value=value, port_type=port_type)
                    }
                },
                key=|(index, _, _)| *index,
            )
        }
    }
}

fn install_hook(runner: Runner, previews: Signal<Vec<(usize, Value, PortType)>>) {
    let hook = js_sys::Object::new();
    let run = {
        let runner = runner.clone();
        Closure::<dyn Fn(String) -> js_sys::Promise>::new(move |request: String| {
            let runner = runner.clone();
            wasm_bindgen_futures::future_to_promise(async move {
                let request: RunRequest = serde_json::from_str(&request)
                    .map_err(|err| JsValue::from_str(&format!("bad request: {err}")))?;
                let answer = match runner.run_logged(request).await {
                    Ok(run) => {
                        json!({"ok": true, "outputs": run.outputs, "log": run.log, "duration_ms": run.duration_ms})
                    }
                    Err(error) => json!({
                        "ok": false,
                        "error": error,
                        "stopped": error.is_stopped(),
                        "timed_out": error.is_timeout(),
                    }),
                };
                Ok(JsValue::from_str(&answer.to_string()))
            })
        })
    };
    let run_outputs = {
        let runner = runner.clone();
        Closure::<dyn Fn(String) -> js_sys::Promise>::new(move |request: String| {
            let runner = runner.clone();
            wasm_bindgen_futures::future_to_promise(async move {
                let request: RunRequest = serde_json::from_str(&request)
                    .map_err(|err| JsValue::from_str(&format!("bad request: {err}")))?;
                match runner.run(request).await {
                    Ok(outputs) => Ok(JsValue::from_str(&Value::Object(outputs).to_string())),
                    Err(error) => Err(JsValue::from_str(&error.to_string())),
                }
            })
        })
    };
    let run_component = {
        let runner = runner.clone();
        Closure::<dyn Fn(String, JsValue) -> js_sys::Promise>::new(
            move |request: String, bytes: JsValue| {
                let runner = runner.clone();
                wasm_bindgen_futures::future_to_promise(async move {
                    let request = component_request(&request, bytes)
                        .map_err(|err| JsValue::from_str(&format!("bad request: {err}")))?;
                    let started = super::now_ms();
                    let answer = match runner.run_component(request).await {
                        Ok(run) => json!({
                            "ok": true,
                            "outputs": run.outputs,
                            "outputs_text": run.outputs_text,
                            "log": run.log,
                            "fuel": run.fuel,
                            "sha256": run.sha256,
                            "duration_ms": super::now_ms() - started,
                        }),
                        Err(error) => json!({
                            "ok": false,
                            "error": error,
                            "stopped": error.is_stopped(),
                            "timed_out": error.is_timeout(),
                        }),
                    };
                    Ok(JsValue::from_str(&answer.to_string()))
                })
            },
        )
    };
    let set_timeout = {
        let runner = runner.clone();
        Closure::<dyn Fn(f64)>::new(move |ms: f64| {
            let mut config = runner.config();
            config.timeout = std::time::Duration::from_secs_f64(ms.max(1.0) / 1000.0);
            runner.set_config(config);
        })
    };
    let stop = {
        let runner = runner.clone();
        Closure::<dyn Fn(String)>::new(move |node_id: String| runner.stop(&node_id))
    };
    let status = {
        let runner = runner.clone();
        Closure::<dyn Fn() -> String>::new(move || status_text(&runner.python_status().get_clone()))
    };
    let preview = Closure::<dyn Fn(String, String) -> Result<usize, JsValue>>::new(
        move |value: String, port_type: String| {
            let value: Value =
                serde_json::from_str(&value).map_err(|err| JsValue::from_str(&err.to_string()))?;
            let port_type: PortType =
                port_type
                    .parse()
                    .map_err(|err: llmos_core::types::UnknownName| {
                        JsValue::from_str(&err.to_string())
                    })?;
            let index = previews.with(Vec::len);
            previews.update(|list| list.push((index, value, port_type)));
            Ok(index)
        },
    );
    let set = |name: &str, f: JsValue| {
        let _ = js_sys::Reflect::set(&hook, &name.into(), &f);
    };
    set("run", run.into_js_value());
    set("runOutputs", run_outputs.into_js_value());
    set("runComponent", run_component.into_js_value());
    set("stop", stop.into_js_value());
    set("setTimeout", set_timeout.into_js_value());
    set("pythonStatus", status.into_js_value());
    set("preview", preview.into_js_value());
    if let Some(window) = web_sys::window() {
        let _ = js_sys::Reflect::set(&window, &"llmosRuntimes".into(), &hook);
    }
}

/// A [`ComponentRequest`] from the hook's JSON and optional bytes.
fn component_request(text: &str, bytes: JsValue) -> Result<ComponentRequest, String> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Ports {
        #[serde(default)]
        inputs: Vec<llmos_core::types::PortSpec>,
        #[serde(default)]
        outputs: Vec<llmos_core::types::PortSpec>,
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Request {
        node_id: String,
        #[serde(default)]
        skill_id: String,
        sha256: Option<String>,
        #[serde(default)]
        inputs: serde_json::Map<String, Value>,
        limits: Option<Value>,
        ports: Option<Ports>,
        volume: Option<String>,
        commit: Option<String>,
    }
    let request: Request = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let source = match bytes.dyn_into::<js_sys::Uint8Array>() {
        Ok(bytes) => ComponentSource::Bytes(bytes),
        Err(_) => ComponentSource::Fetch {
            volume: request.volume,
            commit: request.commit,
        },
    };
    Ok(ComponentRequest {
        node_id: request.node_id,
        skill_id: request.skill_id,
        sha256: request.sha256,
        source,
        inputs: request.inputs,
        ports: request.ports.map(|p| (p.inputs, p.outputs)),
        limits: request.limits.map(|l| l.to_string()),
    })
}
