//! The seam to the browser runtimes (Pyodide, JavaScript workers, ngspice,
//! Three.js scenes): a [`Runner`] runs one node's skill code on its inputs.
//! Orchestration only uses this module, so the runtimes stay swappable.

pub use crate::runtime::{RunRequest, Runner, RuntimeStatus};
