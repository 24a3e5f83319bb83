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
//!
//! Nothing here reads a clock or does I/O.

pub mod builtin;
pub mod catalog;
pub mod compat;
pub mod format;
pub mod validate;

pub use catalog::{Catalog, Placement, SkillCatalog, SkillSignature};
pub use compat::{Compatibility, compatibility};
pub use format::{Edge, FormatError, JsonMap, Node, Position, Workflow};
pub use validate::{
    Binding, Issue, IssueCode, Limits, MAX_EDGES, MAX_NODES, PlannedNode, ValidationReport,
    WorkflowPlan, analyze, plan, validate,
};
