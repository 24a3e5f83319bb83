//! The workflow being edited, independent of the DOM: the graph itself
//! ([`Graph`], a [`Workflow`] with an id index), the command history that
//! every edit goes through ([`history`]), the scene the canvas draws
//! ([`scene`]: node boxes, ports, edges, validation marks), the spatial
//! index that keeps hit testing and culling cheap at 5,000 nodes
//! ([`spatial`]), connection rules ([`connect`]) and automatic layout
//! ([`layout`]).
//!
//! Everything here is plain Rust with unit tests that run natively.

pub mod connect;
pub mod history;
pub mod layout;
pub mod scene;
pub mod spatial;

use std::collections::HashMap;

use llmos_core::workflow::validate::is_valid_node_id;
use llmos_core::workflow::{Edge, Node, Placement, Workflow};
use serde_json::Value;

/// A workflow under edit: the file format itself (unknown fields kept, so
/// export writes back what import read) plus an index from node id to
/// position. Mutations are crate-private: edits go through
/// [`history::Command`]s so that each one can be undone.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    workflow: Workflow,
    index: HashMap<String, usize>,
    /// Bumped by every mutation: the page compares it with the version it
    /// last saved to know whether there are unsaved changes.
    version: u64,
    /// Bumped by every mutation except moving nodes: validation does not
    /// depend on positions, so a move need not re-validate 5,000 nodes.
    structure: u64,
}

impl PartialEq for Graph {
    fn eq(&self, other: &Self) -> bool {
        self.version == other.version && self.workflow == other.workflow
    }
}

impl Graph {
    pub fn new(workflow: Workflow) -> Self {
        let mut graph = Graph {
            workflow,
            index: HashMap::new(),
            version: 0,
            structure: 0,
        };
        graph.reindex();
        graph
    }

    pub fn workflow(&self) -> &Workflow {
        &self.workflow
    }

    pub fn nodes(&self) -> &[Node] {
        &self.workflow.nodes
    }

    pub fn edges(&self) -> &[Edge] {
        &self.workflow.edges
    }

    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn structure_version(&self) -> u64 {
        self.structure
    }

    /// The index of the node with this id (the first one when ids repeat,
    /// as validation does).
    pub fn node_index(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    pub fn node(&self, id: &str) -> Option<&Node> {
        self.node_index(id).map(|i| &self.workflow.nodes[i])
    }

    /// Indices of the edges that touch any of these nodes, ascending.
    pub fn edges_touching(&self, ids: &[&str]) -> Vec<usize> {
        self.workflow
            .edges
            .iter()
            .enumerate()
            .filter(|(_, e)| ids.contains(&e.source.as_str()) || ids.contains(&e.target.as_str()))
            .map(|(k, _)| k)
            .collect()
    }

    /// The index of the edge feeding input `port` of node `target`.
    pub fn edge_into(&self, target: &str, port: &str) -> Option<usize> {
        self.workflow
            .edges
            .iter()
            .position(|e| e.target == target && e.target_port == port)
    }

    /// A node id for a new node of `skill_id` that no node has yet:
    /// the skill id without its `builtin:` prefix and `-node` suffix, then
    /// `-1`, `-2`, …; always a valid node id.
    pub fn fresh_node_id(&self, skill_id: &str) -> String {
        let base = skill_id
            .trim_start_matches(llmos_core::workflow::builtin::BUILTIN_PREFIX)
            .trim_end_matches("-node");
        let mut base: String = base
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                    c
                } else {
                    '-'
                }
            })
            .take(48)
            .collect();
        if base.is_empty() {
            base.push_str("node");
        }
        (1..)
            .map(|n| format!("{base}-{n}"))
            .find(|id| !self.index.contains_key(id))
            .filter(|id| is_valid_node_id(id))
            .expect("an unused id exists among infinitely many")
    }

    fn reindex(&mut self) {
        self.index.clear();
        for (i, node) in self.workflow.nodes.iter().enumerate() {
            self.index.entry(node.id.clone()).or_insert(i);
        }
    }

    fn touch(&mut self) {
        self.version += 1;
        self.structure += 1;
    }

    pub(crate) fn push_node(&mut self, node: Node) {
        self.index
            .entry(node.id.clone())
            .or_insert(self.workflow.nodes.len());
        self.workflow.nodes.push(node);
        self.touch();
    }

    pub(crate) fn insert_node(&mut self, at: usize, node: Node) {
        self.workflow
            .nodes
            .insert(at.min(self.workflow.nodes.len()), node);
        self.reindex();
        self.touch();
    }

    pub(crate) fn remove_node(&mut self, at: usize) -> Node {
        let node = self.workflow.nodes.remove(at);
        self.reindex();
        self.touch();
        node
    }

    pub(crate) fn truncate_nodes(&mut self, len: usize) {
        self.workflow.nodes.truncate(len);
        self.reindex();
        self.touch();
    }

    pub(crate) fn insert_edge(&mut self, at: usize, edge: Edge) {
        let at = at.min(self.workflow.edges.len());
        self.workflow.edges.insert(at, edge);
        self.touch();
    }

    pub(crate) fn remove_edge(&mut self, at: usize) -> Edge {
        self.touch();
        self.workflow.edges.remove(at)
    }

    pub(crate) fn truncate_edges(&mut self, len: usize) {
        self.workflow.edges.truncate(len);
        self.touch();
    }

    pub(crate) fn translate(&mut self, ids: &[String], dx: f64, dy: f64) {
        for id in ids {
            if let Some(&i) = self.index.get(id) {
                let p = &mut self.workflow.nodes[i].position;
                p.x += dx;
                p.y += dy;
            }
        }
        self.version += 1;
    }

    /// Sets (or with `None` removes) a param; returns the previous value.
    pub(crate) fn set_param(
        &mut self,
        node: &str,
        name: &str,
        value: Option<Value>,
    ) -> Option<Value> {
        let i = *self.index.get(node)?;
        let params = &mut self.workflow.nodes[i].params;
        self.version += 1;
        self.structure += 1;
        match value {
            Some(v) => params.insert(name.to_owned(), v),
            None => params.remove(name),
        }
    }

    /// Sets (or with `None` clears) where a node runs; returns the
    /// previous value.
    pub(crate) fn set_placement(
        &mut self,
        node: &str,
        placement: Option<Placement>,
    ) -> Option<Placement> {
        let i = *self.index.get(node)?;
        self.touch();
        std::mem::replace(&mut self.workflow.nodes[i].placement, placement)
    }

    pub(crate) fn set_name(&mut self, name: String) {
        self.workflow.name = name;
        self.touch();
    }

    pub(crate) fn set_id(&mut self, id: String) {
        self.workflow.id = id;
        self.touch();
    }

    pub(crate) fn replace(&mut self, workflow: Workflow) {
        self.workflow = workflow;
        self.reindex();
        self.touch();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, skill: &str) -> Node {
        Node {
            id: id.into(),
            skill_id: skill.into(),
            ..Node::default()
        }
    }

    #[test]
    fn fresh_ids_skip_taken_ones_and_drop_prefix_and_suffix() {
        let mut g = Graph::default();
        assert_eq!(g.fresh_node_id("builtin:math"), "math-1");
        g.push_node(node("math-1", "builtin:math"));
        assert_eq!(g.fresh_node_id("builtin:math"), "math-2");
        assert_eq!(g.fresh_node_id("circuit-rc-node"), "circuit-rc-1");
        assert_eq!(g.fresh_node_id(""), "node-1");
    }

    #[test]
    fn index_follows_insertions_and_removals() {
        let mut g = Graph::default();
        g.push_node(node("a", "builtin:constant"));
        g.push_node(node("b", "builtin:constant"));
        g.insert_node(0, node("c", "builtin:constant"));
        assert_eq!(g.node_index("c"), Some(0));
        assert_eq!(g.node_index("b"), Some(2));
        g.remove_node(0);
        assert_eq!(g.node_index("b"), Some(1));
        assert_eq!(g.node_index("c"), None);
    }

    #[test]
    fn every_mutation_bumps_the_version() {
        let mut g = Graph::default();
        let v0 = g.version();
        g.push_node(node("a", "builtin:constant"));
        g.set_param("a", "value", Some(Value::from(3)));
        let s = g.structure_version();
        g.translate(&["a".into()], 1.0, 2.0);
        assert_eq!(g.version(), v0 + 3);
        assert_eq!(g.structure_version(), s, "a move keeps the structure");
        assert_eq!(g.node("a").unwrap().position.x, 1.0);
    }
}
