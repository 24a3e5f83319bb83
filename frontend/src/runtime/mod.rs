//! Running executable skills in the browser: Python in Pyodide and
//! JavaScript in Web Workers that never see the page or its token,
//! SPICE netlists in ngspice (eecircuit-engine), Three.js scenes built from
//! the declarative output of skill code. See `docs/skills.md`.
//!
//! One [`Runner`] per page owns the workers:
//!
//! - **Python** (`python-wasm`): one warm worker, `/js/python-worker.js`,
//!   created with the runner so that Pyodide loads while the user works.
//!   Runs queue and execute one at a time, each in a fresh namespace.
//! - **JavaScript** (`javascript`, `threejs`): a fresh worker,
//!   `/js/js-worker.js`, for every run, so no global state survives a run.
//!   A Three.js skill returns a declarative scene; the trusted preview
//!   (`crate::preview`) builds and renders it.
//! - **SPICE** (`spice`): the netlist is rendered here with
//!   `llmos_core::skill::netlist`, simulated in `/js/spice-worker.js`
//!   (loaded with the first circuit) and turned into a waveform.
//! - **Compiled skills** (any skill built into a component of the skill
//!   world): the component runs in `/js/component-worker.js`, one warm
//!   worker started with the first compiled run, with the runtime and the
//!   limits of the edge ([`component`], [`Runner::run_component`]). A
//!   compiled skill never runs through Pyodide or the JavaScript worker.
//!
//! Isolation: workers receive only `{code, inputs}` (or a netlist, or a
//! component's bytes) and answer with outputs or an error over a private
//! `MessageChannel`. They
//! never receive the API token or any page state. Before skill code runs,
//! each worker removes network, storage and messaging APIs from its scope
//! (`frontend/js/sandbox.js`), and the web component serves the worker
//! scripts with a Content-Security-Policy that refuses connections and
//! nested workers. Every run has a timeout, and [`Runner::stop`] kills a
//! runaway node's worker.

pub mod component;
mod contract;
mod debug;
mod lane;
mod spice;

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use llmos_core::types::{PortSpec, PortType, Runtime};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sycamore::prelude::*;

use component::Components;
use lane::{Lane, LaneSpec, Outcome, Respawn};

pub use component::{ComponentRequest, ComponentRun, ComponentSource};
pub use lane::describe as describe_js_error;

/// How long a run may take before its worker is terminated.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long Pyodide may take to load (it takes a few seconds; a slow disk
/// or a busy machine must not fail it).
const PYTHON_LOAD_TIMEOUT: Duration = Duration::from_secs(120);

/// How long the circuit simulator may take to load (a 20 MB module).
const SPICE_LOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// A fresh JavaScript worker loads two small scripts.
const JS_LOAD_TIMEOUT: Duration = Duration::from_secs(20);

const PYTHON: LaneSpec = LaneSpec {
    script: "/js/python-worker.js",
    name: "Python",
    load_timeout: PYTHON_LOAD_TIMEOUT,
    respawn: Respawn::Eager,
};

const SPICE: LaneSpec = LaneSpec {
    script: "/js/spice-worker.js",
    name: "the circuit simulator",
    load_timeout: SPICE_LOAD_TIMEOUT,
    respawn: Respawn::Lazy,
};

const JAVASCRIPT: LaneSpec = LaneSpec {
    script: "/js/js-worker.js",
    name: "JavaScript",
    load_timeout: JS_LOAD_TIMEOUT,
    respawn: Respawn::Never,
};

/// State of a runtime that loads in the background.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeStatus {
    Loading,
    Ready,
    /// It could not load; the message says why. The next run tries again.
    Failed(String),
}

/// One run of one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRequest {
    pub node_id: String,
    pub skill_id: String,
    pub runtime: Runtime,
    /// The skill's code block.
    pub code: String,
    /// The code block's language (`python`, `javascript`, `spice`).
    pub language: String,
    pub inputs_spec: Vec<PortSpec>,
    pub outputs_spec: Vec<PortSpec>,
    /// Input values by name; missing ones take their defaults.
    pub inputs: Map<String, Value>,
}

/// Why a run produced no outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunErrorKind {
    /// The skill raised, broke the contract, or its runtime is unavailable.
    Failed,
    /// [`Runner::stop`] ended it.
    Stopped,
    /// It overran its timeout and was terminated.
    TimedOut,
}

/// A failed run. `message` has the documented `"<Type>: <message>"` form,
/// except for compiled skills, whose errors carry the runtime's `code`
/// and message as the edge reports them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunError {
    pub message: String,
    pub kind: RunErrorKind,
    /// What the code printed before it failed.
    pub log: String,
    /// kebab-case code of a compiled skill's failure (`skill-out-of-fuel`,
    /// the skill's own `skill-…` codes, `component-…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl RunError {
    fn failed(message: impl Into<String>) -> RunError {
        RunError {
            message: message.into(),
            kind: RunErrorKind::Failed,
            log: String::new(),
            code: None,
        }
    }

    fn coded(code: &str, message: impl Into<String>) -> RunError {
        RunError {
            code: Some(code.to_owned()),
            ..RunError::failed(message)
        }
    }

    pub fn is_stopped(&self) -> bool {
        self.kind == RunErrorKind::Stopped
    }

    pub fn is_timeout(&self) -> bool {
        self.kind == RunErrorKind::TimedOut
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RunError {}

/// A successful run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunOutput {
    pub outputs: Map<String, Value>,
    /// What the code printed (`print`, `console.log`), or the simulator's
    /// report for circuits.
    pub log: String,
    pub duration_ms: f64,
}

/// Settings of a [`Runner`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunnerConfig {
    /// Longest run; the worker is terminated after it.
    pub timeout: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

struct Inner {
    config: Cell<RunnerConfig>,
    python: Lane,
    python_status: Signal<RuntimeStatus>,
    spice: Lane,
    /// The per-run JavaScript workers still running.
    scripts: RefCell<Vec<Lane>>,
    components: Components,
}

/// Runs skills in the browser's workers. Create one per page, inside the
/// app's reactive root (it owns a signal); clones share the workers.
#[derive(Clone)]
pub struct Runner {
    inner: Rc<Inner>,
}

impl Runner {
    /// A runner with the default settings; Pyodide starts loading now.
    pub fn new() -> Runner {
        Runner::with_config(RunnerConfig::default())
    }

    pub fn with_config(config: RunnerConfig) -> Runner {
        let python_status = create_signal(RuntimeStatus::Loading);
        Runner {
            inner: Rc::new(Inner {
                config: Cell::new(config),
                python: Lane::new(PYTHON, Some(python_status)),
                python_status,
                spice: Lane::new(SPICE, None),
                scripts: RefCell::new(Vec::new()),
                components: Components::default(),
            }),
        }
    }

    pub fn config(&self) -> RunnerConfig {
        self.inner.config.get()
    }

    /// Changes the settings for runs started from now on.
    pub fn set_config(&self, config: RunnerConfig) {
        self.inner.config.set(config);
    }

    /// Whether Pyodide is loading, ready or failed.
    pub fn python_status(&self) -> ReadSignal<RuntimeStatus> {
        *self.inner.python_status
    }

    /// Runs one node and returns its outputs, checked against
    /// `req.outputs_spec`.
    pub async fn run(&self, req: RunRequest) -> Result<Map<String, Value>, RunError> {
        self.run_logged(req).await.map(|run| run.outputs)
    }

    /// [`Runner::run`], with the run's log and duration.
    pub async fn run_logged(&self, req: RunRequest) -> Result<RunOutput, RunError> {
        let started = now_ms();
        let (outputs, log) = self.execute(&req).await?;
        Ok(RunOutput {
            outputs,
            log,
            duration_ms: now_ms() - started,
        })
    }

    /// Terminates the run of `node_id`, if any (queued runs are dropped),
    /// which then fails with [`RunErrorKind::Stopped`]. The next run gets a
    /// fresh worker.
    pub fn stop(&self, node_id: &str) {
        self.inner.python.stop(node_id);
        self.inner.spice.stop(node_id);
        for lane in self.inner.scripts.borrow().iter() {
            lane.stop(node_id);
        }
        self.inner.components.stop(node_id);
    }

    /// Runs a compiled skill's component in the component worker (see
    /// [`component`]), within the run timeout. Its outputs are not checked
    /// here: the engine checks them as it does at the edge.
    pub async fn run_component(&self, req: ComponentRequest) -> Result<ComponentRun, RunError> {
        let timeout = self.config().timeout;
        self.inner.components.run(&req, timeout).await
    }

    async fn execute(&self, req: &RunRequest) -> Result<(Map<String, Value>, String), RunError> {
        contract::check_language(req.runtime, &req.language).map_err(RunError::failed)?;
        let inputs =
            contract::prepare_inputs(&req.inputs_spec, &req.inputs).map_err(RunError::failed)?;
        let inputs_json = serde_json::to_string(&inputs).expect("a JSON map always serialises");
        let timeout = self.config().timeout;

        let (outputs, log) = match req.runtime {
            Runtime::PythonWasm => {
                let fields = [
                    ("code", req.code.as_str()),
                    ("inputs", inputs_json.as_str()),
                ];
                let outcome = self
                    .inner
                    .python
                    .submit(&req.node_id, &fields, timeout)
                    .await;
                let (text, log) = settle(outcome, PYTHON.name)?;
                (parse_outputs(&text, &log)?, log)
            }
            Runtime::Javascript | Runtime::Threejs => {
                let lane = Lane::new(JAVASCRIPT, None);
                self.inner.scripts.borrow_mut().push(lane.clone());
                let fields = [
                    ("code", req.code.as_str()),
                    ("inputs", inputs_json.as_str()),
                ];
                let outcome = lane.submit(&req.node_id, &fields, timeout).await;
                self.inner
                    .scripts
                    .borrow_mut()
                    .retain(|other| !other.is_idle());
                let (text, log) = settle(outcome, JAVASCRIPT.name)?;
                (parse_outputs(&text, &log)?, log)
            }
            Runtime::Spice => {
                let port = match req.outputs_spec.as_slice() {
                    [port] if port.ty == PortType::Waveform => port.name.clone(),
                    _ => {
                        return Err(RunError::failed(
                            "RuntimeError: a spice skill has exactly one output, of type waveform",
                        ));
                    }
                };
                let simulation = spice::prepare(&req.code, &inputs, &req.inputs_spec)
                    .map_err(RunError::failed)?;
                let fields = [("netlist", simulation.netlist.as_str())];
                let outcome = self
                    .inner
                    .spice
                    .submit(&req.node_id, &fields, timeout)
                    .await;
                let (text, log) = settle(outcome, SPICE.name)?;
                let waveform =
                    spice::waveform(&text, &simulation.vectors).map_err(|message| RunError {
                        message,
                        kind: RunErrorKind::Failed,
                        log: log.clone(),
                        code: None,
                    })?;
                let mut outputs = Map::new();
                outputs.insert(port, waveform);
                (outputs, log)
            }
            Runtime::WasmComponent | Runtime::Builtin => {
                unreachable!("refused by check_language")
            }
        };
        let outputs =
            contract::check_outputs(&req.outputs_spec, outputs).map_err(|message| RunError {
                message,
                kind: RunErrorKind::Failed,
                log: log.clone(),
                code: None,
            })?;
        Ok((outputs, log))
    }
}

impl Default for Runner {
    fn default() -> Self {
        Runner::new()
    }
}

/// The outputs' JSON text and the log of a finished job, or its error.
fn settle(outcome: Outcome, runtime: &str) -> Result<(String, String), RunError> {
    match outcome {
        Outcome::Reply(reply) => match (reply.outputs, reply.error) {
            (_, Some(message)) => Err(RunError {
                message,
                kind: RunErrorKind::Failed,
                log: reply.log,
                code: None,
            }),
            (Some(outputs), None) => Ok((outputs, reply.log)),
            (None, None) => Err(RunError {
                message: "WorkerError: the worker answered with neither outputs nor an error"
                    .into(),
                kind: RunErrorKind::Failed,
                log: reply.log,
                code: None,
            }),
        },
        Outcome::Stopped => Err(RunError {
            message: "Stopped: the run was stopped before it finished".into(),
            kind: RunErrorKind::Stopped,
            log: String::new(),
            code: None,
        }),
        Outcome::TimedOut(limit) => Err(RunError {
            message: format!(
                "TimeoutError: the run did not finish within {} s and was stopped",
                limit.as_secs_f64()
            ),
            kind: RunErrorKind::TimedOut,
            log: String::new(),
            code: None,
        }),
        Outcome::Unavailable(why) => Err(RunError::failed(format!(
            "RuntimeError: {runtime} is not available: {why}"
        ))),
        Outcome::Crashed(why) => Err(RunError::failed(format!("WorkerError: {why}"))),
    }
}

fn parse_outputs(text: &str, log: &str) -> Result<Map<String, Value>, RunError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(outputs)) => Ok(outputs),
        Ok(_) | Err(_) => Err(RunError {
            message: "OutputError: execute must return an object keyed by output name".into(),
            kind: RunErrorKind::Failed,
            log: log.to_owned(),
            code: None,
        }),
    }
}

/// Milliseconds from the page's time origin.
fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}
