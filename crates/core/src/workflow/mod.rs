//! Workflows: the JSON format, validation against the caller's skills,
//! planning into parallel levels and execution of built-in nodes.
//!
//! - [`format`]: the file format ([`Workflow`], [`Node`], [`Edge`]) and its
//!   canonical JSON form, keeping unknown fields.
//! - [`catalog`]: skill signatures ([`SkillSignature`]), the caller's
//!   [`SkillCatalog`] and where a node runs ([`Placement`]).
//! - [`compat`]: which port types connect, and runtime value checks.
//! - [`validate`]: every error and warning of a workflow, and the
//!   [`WorkflowPlan`] of a valid one (topological levels).
//! - [`builtin`]: data nodes built into the engine (`builtin:constant`,
//!   `builtin:json-path`, `builtin:transform`, `builtin:math`,
//!   `builtin:merge`).
//! - [`exec`]: the execution engine: a state machine a caller drives (the
//!   browser, asynchronously) and a synchronous driver for the edge, with
//!   pluggable executors, per-node status and resumption.
//!
//! Nothing here reads a clock or does I/O: durations are measured with a
//! caller-supplied [`Clock`], skills run in caller-supplied executors.

pub mod builtin;
pub mod catalog;
pub mod compat;
pub mod exec;
pub mod format;
pub mod validate;

pub use catalog::{Catalog, Placement, SkillCatalog, SkillSignature};
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
