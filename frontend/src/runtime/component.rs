//! Compiled skills in the browser: their components run in the component
//! worker (`/js/component-worker.js`), whose module links the runtime the
//! edge runs them with (`frontend/src/bin/component-worker`).
//!
//! - **One warm worker.** The worker's module (`/pkg/component_worker_bg.wasm`)
//!   is fetched and compiled here, once, on the first compiled run, and
//!   handed to each worker in its connect message: the worker itself
//!   fetches nothing and compiles no WebAssembly. The worker then stays up
//!   (a stopped or timed-out run replaces it at once); runs queue and go
//!   one at a time.
//! - **Bytes once per worker.** A component's bytes are fetched with the
//!   page's token (`GET /skills/{id}/component?commit=&volume=`; a commit's
//!   component is immutable, so the browser's cache serves repeats) and
//!   sent to a worker with the first run that needs them; later runs send
//!   only the SHA-256, and the worker runs the component it parsed. If the
//!   worker no longer has it (`component-not-loaded`), the bytes go again.
//! - **Same limits, same answer.** Runs use the edge's default fuel and
//!   memory limits unless a caller sets others, and the worker's answer is
//!   the runtime's: the outputs' JSON text is kept as the worker wrote it
//!   ([`ComponentRun::outputs_text`]).
//!
//! The worker's contract is documented in
//! `frontend/src/bin/component-worker/contract.rs`.

use std::cell::RefCell;
use std::collections::HashSet;
use std::time::Duration;

use futures::FutureExt;
use futures::future::{LocalBoxFuture, Shared};
use js_sys::{Object, Reflect, Uint8Array};
use llmos_core::types::PortSpec;
use serde_json::{Map, Value};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::lane::{Lane, LaneSpec, Outcome, Respawn};
use super::{RunError, RunErrorKind, settle};
use crate::api;

/// The worker's module, built by `scripts/build-frontend.sh`.
const WORKER_MODULE: &str = "/pkg/component_worker_bg.wasm";

pub(super) const COMPONENTS: LaneSpec = LaneSpec {
    script: "/js/component-worker.js",
    name: "the component runtime",
    // Instantiating an already compiled module takes milliseconds; this
    // only bounds a worker that never answers.
    load_timeout: Duration::from_secs(60),
    respawn: Respawn::Eager,
};

/// Where a component's bytes come from.
#[derive(Debug, Clone)]
pub enum ComponentSource {
    /// `GET /skills/{skill_id}/component` at `commit` of `volume`.
    Fetch {
        volume: Option<String>,
        commit: Option<String>,
    },
    /// Bytes the caller already has (tests, the debug hook).
    Bytes(Uint8Array),
}

/// One run of a compiled skill's component.
#[derive(Debug, Clone)]
pub struct ComponentRequest {
    pub node_id: String,
    pub skill_id: String,
    /// The component's SHA-256 as the skill's catalog entry names it; the
    /// worker refuses bytes with another hash. `None`: the fetched
    /// component's entity tag, or the hash of the given bytes.
    pub sha256: Option<String>,
    pub source: ComponentSource,
    /// Input values by name, exactly as the component receives them.
    pub inputs: Map<String, Value>,
    /// The skill file's ports, which the component's `describe` must match
    /// (as at the edge); `None` skips the check.
    pub ports: Option<(Vec<PortSpec>, Vec<PortSpec>)>,
    /// Limits as JSON (`{"fuel", "max_memory_bytes",
    /// "max_table_elements"}`); `None`: the edge's defaults.
    pub limits: Option<String>,
}

/// What a component run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentRun {
    pub outputs: Map<String, Value>,
    /// The outputs as the runtime serialised them, byte for byte.
    pub outputs_text: String,
    pub log: String,
    /// Interpreter fuel the call used.
    pub fuel: u64,
    /// The component that ran.
    pub sha256: String,
}

/// The compiled worker module, or the compilation under way.
type ModuleFuture = Shared<LocalBoxFuture<'static, Result<JsValue, String>>>;

/// The component lane of a [`super::Runner`].
#[derive(Default)]
pub(super) struct Components {
    module: RefCell<Option<ModuleFuture>>,
    lane: RefCell<Option<Lane>>,
    /// The components the current worker was sent: its generation, and
    /// their hashes.
    sent: RefCell<(u64, HashSet<String>)>,
}

impl Components {
    /// Terminates the run of `node_id`, if it is queued or running here.
    pub fn stop(&self, node_id: &str) {
        if let Some(lane) = self.lane.borrow().as_ref() {
            lane.stop(node_id);
        }
    }

    /// The worker lane, started once the module is compiled.
    async fn lane(&self) -> Result<Lane, String> {
        if let Some(lane) = self.lane.borrow().as_ref() {
            return Ok(lane.clone());
        }
        let compiling = self
            .module
            .borrow_mut()
            .get_or_insert_with(|| compile_module().boxed_local().shared())
            .clone();
        let module = match compiling.await {
            Ok(module) => module,
            Err(why) => {
                // The next run tries again.
                self.module.borrow_mut().take();
                return Err(why);
            }
        };
        let mut slot = self.lane.borrow_mut();
        let lane = slot.get_or_insert_with(|| {
            let connect = Object::new();
            let _ = Reflect::set(&connect, &"module".into(), &module);
            Lane::with_connect(COMPONENTS, None, Some(connect.into()))
        });
        Ok(lane.clone())
    }

    /// Whether the lane's current worker was sent `sha256`.
    fn holds(&self, lane: &Lane, sha256: &str) -> bool {
        let mut sent = self.sent.borrow_mut();
        if sent.0 != lane.generation() {
            *sent = (lane.generation(), HashSet::new());
        }
        sent.1.contains(sha256)
    }

    fn mark_sent(&self, lane: &Lane, sha256: &str) {
        let mut sent = self.sent.borrow_mut();
        if sent.0 != lane.generation() {
            *sent = (lane.generation(), HashSet::new());
        }
        sent.1.insert(sha256.to_owned());
    }

    /// Runs one component (see the module docs).
    pub async fn run(
        &self,
        req: &ComponentRequest,
        timeout: Duration,
    ) -> Result<ComponentRun, RunError> {
        let lane = self.lane().await.map_err(|why| {
            RunError::coded(
                "component-runtime-unavailable",
                format!("the component runtime is not available: {why}"),
            )
        })?;
        let mut bytes: Option<(Uint8Array, String)> = None;
        let mut sha256 = req.sha256.clone().map(|s| s.to_ascii_lowercase());
        let inputs = serde_json::to_string(&req.inputs).expect("a JSON map always serialises");
        let ports = req.ports.as_ref().map(|(inputs, outputs)| {
            serde_json::json!({ "inputs": inputs, "outputs": outputs }).to_string()
        });
        // At most twice: once more with the bytes when the worker turns
        // out not to hold the component.
        for _ in 0..2 {
            let need_bytes = match &sha256 {
                Some(sha) => !self.holds(&lane, sha),
                None => true,
            };
            if need_bytes && bytes.is_none() {
                let fetched = component_bytes(req).await?;
                sha256.get_or_insert_with(|| fetched.1.clone());
                bytes = Some(fetched);
            }
            let sha = sha256.clone().expect("set above when unknown");
            let mut fields: Vec<(&str, JsValue)> = vec![
                ("sha256", JsValue::from_str(&sha)),
                ("inputs", JsValue::from_str(&inputs)),
            ];
            if need_bytes && let Some((data, _)) = &bytes {
                fields.push(("bytes", data.clone().into()));
            }
            if let Some(limits) = &req.limits {
                fields.push(("limits", JsValue::from_str(limits)));
            }
            if let Some(ports) = &ports {
                fields.push(("ports", JsValue::from_str(ports)));
            }
            let answer = match lane.submit_values(&req.node_id, &fields, timeout).await {
                Outcome::Reply(super::lane::Reply {
                    answer: Some(answer),
                    ..
                }) => answer,
                // Stopped, timed out, crashed, or a reply without an
                // answer (an error the worker script caught).
                other => return Err(unanswered(other)),
            };
            if need_bytes {
                self.mark_sent(&lane, &sha);
            }
            match read_answer(&answer, &sha) {
                Err(e) if e.code.as_deref() == Some("component-not-loaded") && !need_bytes => {
                    self.sent.borrow_mut().1.remove(&sha);
                }
                other => return other,
            }
        }
        Err(RunError::coded(
            "component-not-loaded",
            "the component worker did not keep the component it was sent",
        ))
    }
}

/// The error of a job that ended without the worker's answer.
fn unanswered(outcome: Outcome) -> RunError {
    match settle(outcome, COMPONENTS.name) {
        Err(error) => error,
        Ok(_) => RunError::failed("WorkerError: the component worker sent no answer"),
    }
}

/// The bytes of the component of `req` and their SHA-256 (the answer's
/// entity tag, or computed for given bytes).
async fn component_bytes(req: &ComponentRequest) -> Result<(Uint8Array, String), RunError> {
    match &req.source {
        ComponentSource::Bytes(bytes) => {
            let sha = llmos_core::skill::component::sha256_hex(&bytes.to_vec());
            Ok((bytes.clone(), sha))
        }
        ComponentSource::Fetch { volume, commit } => {
            let (bytes, tag) =
                api::component_bytes(&req.skill_id, volume.as_deref(), commit.as_deref())
                    .await
                    .map_err(|e| {
                        RunError::coded(
                            if e.code == "network" {
                                "component-fetch-failed"
                            } else {
                                e.code.as_str()
                            },
                            format!(
                                "the component of skill `{}` could not be fetched: {e}",
                                req.skill_id
                            ),
                        )
                    })?;
            let sha = match (tag, &req.sha256) {
                (Some(tag), _) => tag,
                (None, Some(expected)) => expected.clone(),
                (None, None) => llmos_core::skill::component::sha256_hex(&bytes.to_vec()),
            };
            Ok((bytes, sha))
        }
    }
}

/// The worker's answer as a run, or its error.
pub(super) fn read_answer(answer: &str, sha256: &str) -> Result<ComponentRun, RunError> {
    let value: Value = serde_json::from_str(answer).map_err(|e| {
        RunError::failed(format!(
            "WorkerError: the component worker's answer is not JSON ({e})"
        ))
    })?;
    if let Some(error) = value.get("error") {
        let text = |key: &str| error[key].as_str().unwrap_or_default().to_owned();
        return Err(RunError {
            message: text("message"),
            kind: RunErrorKind::Failed,
            log: text("log"),
            code: Some(text("code")).filter(|c| !c.is_empty()),
        });
    }
    let ok = &value["ok"];
    let Some(outputs) = ok["outputs"].as_object().cloned() else {
        return Err(RunError::failed(
            "WorkerError: the component worker answered neither outputs nor an error",
        ));
    };
    Ok(ComponentRun {
        outputs,
        outputs_text: outputs_text(answer).unwrap_or_default().to_owned(),
        log: ok["log"].as_str().unwrap_or_default().to_owned(),
        fuel: ok["fuel"].as_u64().unwrap_or_default(),
        sha256: sha256.to_owned(),
    })
}

/// The text of the outputs object in an `{"ok":{"outputs":…` answer,
/// exactly as the worker wrote it.
pub fn outputs_text(answer: &str) -> Option<&str> {
    let rest = answer.strip_prefix(r#"{"ok":{"outputs":"#)?;
    let mut values = serde_json::Deserializer::from_str(rest).into_iter::<serde::de::IgnoredAny>();
    values.next()?.ok()?;
    Some(&rest[..values.byte_offset()])
}

/// Fetches and compiles the worker's module (the page may compile
/// WebAssembly; the worker may not).
async fn compile_module() -> Result<JsValue, String> {
    let window = web_sys::window().ok_or("no window")?;
    let response = JsFuture::from(window.fetch_with_str(WORKER_MODULE))
        .await
        .map_err(|e| format!("fetching {WORKER_MODULE}: {}", super::describe_js_error(&e)))?;
    let response: web_sys::Response = response
        .dyn_into()
        .map_err(|_| format!("fetching {WORKER_MODULE}: not a response"))?;
    if !response.ok() {
        return Err(format!(
            "fetching {WORKER_MODULE}: HTTP {} (is the page built with scripts/build-frontend.sh?)",
            response.status()
        ));
    }
    let buffer = JsFuture::from(
        response
            .array_buffer()
            .map_err(|e| super::describe_js_error(&e))?,
    )
    .await
    .map_err(|e| format!("reading {WORKER_MODULE}: {}", super::describe_js_error(&e)))?;
    JsFuture::from(js_sys::WebAssembly::compile(&buffer))
        .await
        .map_err(|e| {
            format!(
                "compiling {WORKER_MODULE}: {}",
                super::describe_js_error(&e)
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_text_is_taken_as_written() {
        let answer = r#"{"ok":{"outputs":{"b":[1.0e-7,{"x":"}"}],"a":0.30000000000000004},"log":"","fuel":3}}"#;
        assert_eq!(
            outputs_text(answer),
            Some(r#"{"b":[1.0e-7,{"x":"}"}],"a":0.30000000000000004}"#)
        );
        assert_eq!(outputs_text(r#"{"error":{"code":"x"}}"#), None);
        assert_eq!(outputs_text(r#"{"ok":{"outputs":{"a":"#), None);
    }

    #[test]
    fn answers_become_runs_or_coded_errors() {
        let run = read_answer(
            r#"{"ok":{"outputs":{"y":9},"log":"hi\n","fuel":120}}"#,
            "ab",
        )
        .unwrap();
        assert_eq!(run.outputs["y"], 9);
        assert_eq!(
            (run.log.as_str(), run.fuel, run.sha256.as_str()),
            ("hi\n", 120, "ab")
        );
        assert_eq!(run.outputs_text, r#"{"y":9}"#);

        let err = read_answer(
            r#"{"error":{"code":"skill-out-of-fuel","message":"out of fuel","log":"x","fuel":5}}"#,
            "ab",
        )
        .unwrap_err();
        assert_eq!(err.code.as_deref(), Some("skill-out-of-fuel"));
        assert_eq!(
            (err.message.as_str(), err.log.as_str()),
            ("out of fuel", "x")
        );
        assert_eq!(err.kind, RunErrorKind::Failed);

        let err = read_answer("not json", "ab").unwrap_err();
        assert!(err.message.starts_with("WorkerError: "), "{}", err.message);
    }
}
