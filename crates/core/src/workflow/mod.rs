//! Workflows: the JSON format, validation against the caller's skills,
//! planning into parallel levels and execution of built-in nodes.
//!
//! - [`api`]: the request and answer types of the `/workflows` routes
//!   and of `POST /chat/workflow`.
//! - [`format`](mod@format): the file format ([`Workflow`], [`Node`], [`Edge`]) and its
//!   canonical JSON form, keeping unknown fields.
//! - [`catalog`]: skill signatures ([`SkillSignature`]), the caller's
//!   [`SkillCatalog`] and where a node runs ([`Placement`]).
//! - [`compat`]: which port types connect, and runtime value checks.
//! - [`validate`](mod@validate): every error and warning of a workflow, and the
//!   [`WorkflowPlan`] of a valid one (topological levels).
//! - [`builtin`]: data nodes built into the engine (`builtin:constant`,
//!   `builtin:json-path`, `builtin:transform`, `builtin:math`,
//!   `builtin:merge`).
//! - [`exec`]: the execution engine: a state machine a caller drives (the
//!   browser, asynchronously) and a synchronous driver for the edge, with
//!   pluggable executors, per-node status and resumption.
//!
//! At the edge, a request validates, plans and runs:
//!
//! ```
//! use llmos_core::workflow::{
//!     Catalog, Executors, ManualClock, Placement, RunStatus, Workflow, execute, plan,
//! };
//!
//! let wf = Workflow::from_json(r#"{"id": "w", "name": "demo",
//!   "nodes": [
//!     {"id": "a", "skill_id": "builtin:constant", "params": {"value": 3}},
//!     {"id": "m", "skill_id": "builtin:math", "params": {"expression": "x * 2"}}],
//!   "edges": [{"source": "a", "source_port": "value", "target": "m", "target_port": "x"}]}"#)?;
//! // The caller's visible skills; built-in nodes need none.
//! let catalog = Catalog::new();
//! let (plan, report) = plan(&wf, &catalog).map_err(|r| r.errors[0].message.clone())?;
//! assert_eq!(report.levels, [["a"], ["m"]]);
//! let run = execute(&plan, Placement::Edge, None, &mut Executors::builtin(), &ManualClock::default())?;
//! assert_eq!(run.status, RunStatus::Done);
//! assert_eq!(run.nodes["m"].outputs["result"], 6);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Nothing here reads a clock or does I/O: durations are measured with a
//! caller-supplied [`Clock`], skills run in caller-supplied executors.

pub mod api;
pub mod builtin;
pub mod catalog;
pub mod compat;
pub mod exec;
pub mod format;
pub mod validate;

pub use catalog::{Catalog, ComponentRef, Placement, SkillCatalog, SkillSignature};
pub use compat::{Compatibility, compatibility};
pub use exec::{
    BuiltinExecutor, Clock, ExecError, Execution, Executors, ManualClock, NodeCall, NodeError,
    NodeExecutor, NodeRun, NodeStatus, RunReport, RunStatus, execute,
};
pub use format::{Edge, FormatError, JsonMap, Node, Position, Workflow};
pub use validate::{
    Binding, Issue, IssueCode, Limits, MAX_EDGES, MAX_NODES, PlannedNode, ValidationReport,
    WorkflowPlan, analyze, plan, validate,
};
