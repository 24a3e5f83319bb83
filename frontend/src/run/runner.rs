//! The seam to the browser runtimes (Pyodide, JavaScript workers, ngspice,
//! Three.js scenes): a [`Runner`] runs one node's skill code on its inputs.
//!
//! The runtimes live in `crate::runtime`; until they are part of the
//! build this module stands in with the same interface (`Runner::new`,
//! `run_logged`, `stop`, `python_status`, `RunRequest`, `RunOutput`,
//! `RuntimeStatus`, an error with its message and log), so orchestration
//! is complete and
//! testable with the engine's built-in nodes: `run` answers that the
//! runtime is not available, and Python reports that it cannot load.
//! Once the runtimes are in the build, this module re-exports them.

use llmos_core::types::{PortSpec, Runtime};
use serde_json::{Map, Value};
use sycamore::prelude::*;

/// One node for a runtime to run.
#[derive(Debug, Clone)]
// The runtimes read every field; this stand-in reads only some.
#[allow(dead_code)]
pub struct RunRequest {
    pub node_id: String,
    pub skill_id: String,
    pub runtime: Runtime,
    pub code: String,
    pub language: String,
    pub inputs_spec: Vec<PortSpec>,
    pub outputs_spec: Vec<PortSpec>,
    pub inputs: Map<String, Value>,
}

/// Why a runtime could not run a node, with what the code printed first.
#[derive(Debug, Clone, PartialEq)]
pub struct RunError {
    pub message: String,
    pub log: String,
}

/// A successful run: outputs by port, what the code printed.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutput {
    pub outputs: Map<String, Value>,
    pub log: String,
    pub duration_ms: f64,
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// State of a runtime that loads in the background.
#[derive(Debug, Clone, PartialEq)]
// Only the runtimes load or become ready.
#[allow(dead_code)]
pub enum RuntimeStatus {
    Loading,
    Ready,
    Failed(String),
}

/// Runs skill code in the browser; cheap to clone.
#[derive(Clone)]
pub struct Runner {
    python: Signal<RuntimeStatus>,
}

impl Runner {
    pub fn new() -> Self {
        Runner {
            python: create_signal(RuntimeStatus::Failed("not part of this build".to_owned())),
        }
    }

    /// Runs one node; the outputs with the run's log.
    pub async fn run_logged(&self, req: RunRequest) -> Result<RunOutput, RunError> {
        Err(RunError {
            message: format!(
                "the {} runtime is not part of this build, so node `{}` cannot run in the browser",
                req.runtime, req.node_id
            ),
            log: String::new(),
        })
    }

    /// Stops a running node (terminates its worker).
    pub fn stop(&self, _node_id: &str) {}

    pub fn python_status(&self) -> ReadSignal<RuntimeStatus> {
        *self.python
    }
}
