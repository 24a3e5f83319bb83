//! The workflow file format shared by the edge component, the host and the
//! browser.
//!
//! ```json
//! {"id": "w1", "name": "Demo",
//!  "nodes": [{"id": "a", "skill_id": "builtin:constant",
//!             "position": {"x": 0, "y": 0}, "params": {"value": 2}}],
//!  "edges": [{"source": "a", "source_port": "value",
//!             "target": "b", "target_port": "x"}]}
//! ```
//!
//! Fields this version does not know are kept at every level (workflow, node,
//! position, edge) and written back on export, so an older engine never drops
//! what a newer frontend stored.
//!
//! # Canonical form
//!
//! [`Workflow::to_canonical_json`] writes the form that round-trips byte for
//! byte through [`Workflow::from_json`]:
//!
//! - `serde_json`'s pretty printer (two-space indent, `": "` after keys) and
//!   one trailing newline;
//! - known fields first, in the order `id, name, nodes, edges` (workflow),
//!   `id, skill_id, position, params, skill_commit, follow_latest, where`
//!   (node), `x, y` (position), `source, source_port, target, target_port`
//!   (edge); `skill_commit`, `follow_latest` and `where` are written only
//!   when present;
//! - then unknown fields, and keys inside `params` and any unknown object,
//!   in `serde_json::Map` order (sorted by key);
//! - `name`, `params` and `edges` are always written (empty when absent) and a
//!   missing `position` is written as `{"x": 0, "y": 0}`;
//! - a coordinate with an integral value is written without a fraction
//!   (`120`, not `120.0`), as JavaScript's `JSON.stringify` writes it.
//!
//! Any other valid file imports to the same value and exports to its
//! canonical form. Missing ids, skill ids and ports read as empty strings,
//! so that validation, not parsing, reports them with the node or edge
//! they belong to.

use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use super::catalog::Placement;

/// JSON object: a node's params, inputs or outputs keyed by port name.
pub type JsonMap = Map<String, Value>;

/// A workflow: skills as nodes, typed connections as edges. Every field
/// may be left out; fields this version does not know are kept (a
/// top-level `"follow_latest": true` makes every node run the latest
/// version of its skill).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Workflow {
    /// Where it is stored: 1 to 64 lowercase letters, digits, `-` and `_`,
    /// starting with a letter or digit (saving an empty one makes one up).
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub nodes: Vec<Node>,
    #[serde(default)]
    pub edges: Vec<Edge>,
    /// Fields this version does not know, kept for export.
    #[serde(flatten)]
    #[schema(value_type = HashMap<String, Value>)]
    pub extra: JsonMap,
}

/// One node: an instance of a skill with its parameters. Ids and skill
/// ids are checked by validation, which reports bad ones, not by parsing.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = WorkflowNode)]
pub struct Node {
    #[serde(default)]
    pub id: String,
    /// A skill id, or `builtin:<name>` for a node built into the engine.
    #[serde(default)]
    pub skill_id: String,
    #[serde(default)]
    pub position: Position,
    /// Values for the skill's inputs; an edge into the same input wins.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: JsonMap,
    /// The skill version this node is pinned to. Without it, or with
    /// `follow_latest: true`, the node runs the latest visible version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill_commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_latest: Option<bool>,
    /// Where the node is to run (`"edge"` or `"browser"`). Compiled skills
    /// with a built component run in either place; every other skill only
    /// where its own placement says, which validation checks. Without it
    /// the skill's placement applies.
    #[serde(rename = "where", default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
    #[serde(flatten)]
    #[schema(value_type = HashMap<String, Value>)]
    pub extra: JsonMap,
}

impl Node {
    /// Whether the node runs the latest version of its skill rather than a
    /// pinned commit.
    pub fn follows_latest(&self) -> bool {
        self.follow_latest == Some(true) || self.skill_commit.is_none()
    }
}

/// Where a node sits on the canvas.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = NodePosition)]
pub struct Position {
    #[serde(serialize_with = "coordinate")]
    pub x: f64,
    #[serde(serialize_with = "coordinate")]
    pub y: f64,
    #[serde(flatten)]
    #[schema(value_type = HashMap<String, Value>)]
    pub extra: JsonMap,
}

/// A connection from one node's output port to another node's input port.
/// Node ids and ports are checked by validation, not by parsing.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = WorkflowEdge)]
pub struct Edge {
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub source_port: String,
    #[serde(default)]
    pub target: String,
    #[serde(default)]
    pub target_port: String,
    #[serde(flatten)]
    #[schema(value_type = HashMap<String, Value>)]
    pub extra: JsonMap,
}

/// Largest integer an `f64` holds exactly; beyond it a coordinate keeps its
/// floating-point spelling.
const MAX_EXACT_INTEGER: f64 = 9_007_199_254_740_992.0;

fn coordinate<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    let v = *value;
    if v.fract() == 0.0 && v.abs() <= MAX_EXACT_INTEGER {
        // Exact by the range check above; `-0.0` becomes `0`.
        #[allow(clippy::cast_possible_truncation)]
        serializer.serialize_i64(v as i64)
    } else {
        serializer.serialize_f64(v)
    }
}

/// Why a workflow file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("workflow JSON is malformed at line {line}, column {column}: {message}")]
    Malformed {
        line: usize,
        column: usize,
        message: String,
    },
}

impl From<serde_json::Error> for FormatError {
    fn from(e: serde_json::Error) -> Self {
        FormatError::Malformed {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        }
    }
}

impl Workflow {
    /// Reads a workflow file.
    pub fn from_json(text: &str) -> Result<Self, FormatError> {
        Ok(serde_json::from_str(text)?)
    }

    /// Reads a workflow from an already parsed JSON value (e.g. the
    /// `workflow` field of a request).
    pub fn from_value(value: Value) -> Result<Self, FormatError> {
        Ok(serde_json::from_value(value)?)
    }

    /// Writes the canonical form described in the module docs.
    pub fn to_canonical_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self)
            .expect("a workflow holds only JSON values and string keys");
        text.push('\n');
        text
    }

    /// The workflow as a JSON value (for embedding in API responses).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("a workflow holds only JSON values and string keys")
    }

    /// Whether the whole workflow runs the latest version of every skill
    /// (`"follow_latest": true` at its top level), ignoring node pins.
    pub fn follows_latest(&self) -> bool {
        self.extra.get("follow_latest") == Some(&Value::Bool(true))
    }

    /// The node with this id, if any (the first one when ids repeat).
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integral_coordinates_are_written_without_fraction() {
        let p = Position {
            x: 120.0,
            y: -3.5,
            extra: JsonMap::new(),
        };
        assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"x":120,"y":-3.5}"#);
    }

    #[test]
    fn pinned_node_without_follow_latest_does_not_follow() {
        let mut n = Node {
            skill_commit: Some("abc".into()),
            ..Node::default()
        };
        assert!(!n.follows_latest());
        n.follow_latest = Some(true);
        assert!(n.follows_latest());
        n.skill_commit = None;
        n.follow_latest = Some(false);
        assert!(
            n.follows_latest(),
            "nothing pinned: the latest is all there is"
        );
    }
}
