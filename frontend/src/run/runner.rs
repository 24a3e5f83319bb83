//! The seam to the browser runtimes (Pyodide, JavaScript workers, ngspice,
//! Three.js scenes, the component worker of compiled skills): a [`Runner`]
//! runs one node's skill code, or one compiled skill's component, on its
//! inputs. Orchestration only uses this module, so the runtimes stay
//! swappable.

pub use crate::runtime::{ComponentRequest, ComponentSource, RunRequest, Runner, RuntimeStatus};
