//! Undo and redo: every edit of the graph is a [`Command`] that knows how
//! to apply and revert itself, kept in a bounded [`History`].
//!
//! Commands record exactly what they change (removed nodes and edges with
//! their indices, a param's previous value, the whole previous workflow on
//! a replace), so undo restores the file byte for byte, edge order
//! included — validation messages name edges by index, and they must not
//! shift after an undo.

use llmos_core::workflow::{Edge, Node, Placement, Workflow};
use serde_json::Value;

use super::Graph;

/// One undoable edit.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Appends nodes and then edges (a dropped skill, a pasted group).
    Add { nodes: Vec<Node>, edges: Vec<Edge> },
    /// Removes nodes and edges; both lists hold `(index, item)` ascending,
    /// indices as they were before the removal.
    Remove {
        nodes: Vec<(usize, Node)>,
        edges: Vec<(usize, Edge)>,
    },
    /// Moves nodes by a world-space offset.
    Move { ids: Vec<String>, dx: f64, dy: f64 },
    /// Sets (`Some`) or clears (`None`) one param of a node.
    SetParam {
        node: String,
        name: String,
        before: Option<Value>,
        after: Option<Value>,
    },
    /// Sets (`Some`) or clears (`None`) where a node runs (its `where`).
    SetPlacement {
        node: String,
        before: Option<Placement>,
        after: Option<Placement>,
    },
    /// Renames the workflow.
    Rename { before: String, after: String },
    /// Replaces the whole workflow (import, open, a generated workflow).
    Replace {
        before: Box<Workflow>,
        after: Box<Workflow>,
    },
}

impl Command {
    /// Removing these nodes and edges: also every edge touching a removed
    /// node. `None` when there is nothing to remove.
    pub fn remove(graph: &Graph, node_ids: &[&str], edge_indices: &[usize]) -> Option<Command> {
        let mut nodes: Vec<(usize, Node)> = node_ids
            .iter()
            .filter_map(|id| graph.node_index(id))
            .map(|i| (i, graph.nodes()[i].clone()))
            .collect();
        nodes.sort_by_key(|(i, _)| *i);
        nodes.dedup_by_key(|(i, _)| *i);
        let mut edges = graph.edges_touching(node_ids);
        edges.extend(
            edge_indices
                .iter()
                .copied()
                .filter(|&k| k < graph.edges().len()),
        );
        edges.sort_unstable();
        edges.dedup();
        let edges: Vec<(usize, Edge)> = edges
            .into_iter()
            .map(|k| (k, graph.edges()[k].clone()))
            .collect();
        if nodes.is_empty() && edges.is_empty() {
            None
        } else {
            Some(Command::Remove { nodes, edges })
        }
    }

    pub fn apply(&self, graph: &mut Graph) {
        match self {
            Command::Add { nodes, edges } => {
                for n in nodes {
                    graph.push_node(n.clone());
                }
                for e in edges {
                    graph.insert_edge(usize::MAX, e.clone());
                }
            }
            Command::Remove { nodes, edges } => {
                for (k, _) in edges.iter().rev() {
                    graph.remove_edge(*k);
                }
                for (i, _) in nodes.iter().rev() {
                    graph.remove_node(*i);
                }
            }
            Command::Move { ids, dx, dy } => graph.translate(ids, *dx, *dy),
            Command::SetParam {
                node, name, after, ..
            } => {
                graph.set_param(node, name, after.clone());
            }
            Command::SetPlacement { node, after, .. } => {
                graph.set_placement(node, *after);
            }
            Command::Rename { after, .. } => graph.set_name(after.clone()),
            Command::Replace { after, .. } => graph.replace((**after).clone()),
        }
    }

    pub fn revert(&self, graph: &mut Graph) {
        match self {
            Command::Add { nodes, edges } => {
                graph.truncate_edges(graph.edges().len().saturating_sub(edges.len()));
                graph.truncate_nodes(graph.nodes().len().saturating_sub(nodes.len()));
            }
            Command::Remove { nodes, edges } => {
                for (i, n) in nodes {
                    graph.insert_node(*i, n.clone());
                }
                for (k, e) in edges {
                    graph.insert_edge(*k, e.clone());
                }
            }
            Command::Move { ids, dx, dy } => graph.translate(ids, -dx, -dy),
            Command::SetParam {
                node, name, before, ..
            } => {
                graph.set_param(node, name, before.clone());
            }
            Command::SetPlacement { node, before, .. } => {
                graph.set_placement(node, *before);
            }
            Command::Rename { before, .. } => graph.set_name(before.clone()),
            Command::Replace { before, .. } => graph.replace((**before).clone()),
        }
    }

    /// What the command does, for the undo and redo buttons' titles.
    pub fn describe(&self) -> String {
        fn plural(n: usize, one: &str) -> String {
            if n == 1 {
                format!("1 {one}")
            } else {
                format!("{n} {one}s")
            }
        }
        match self {
            Command::Add { nodes, edges } if nodes.is_empty() => {
                format!("add {}", plural(edges.len(), "edge"))
            }
            Command::Add { nodes, .. } => format!("add {}", plural(nodes.len(), "node")),
            Command::Remove { nodes, edges } if nodes.is_empty() => {
                format!("delete {}", plural(edges.len(), "edge"))
            }
            Command::Remove { nodes, .. } => format!("delete {}", plural(nodes.len(), "node")),
            Command::Move { ids, .. } => format!("move {}", plural(ids.len(), "node")),
            Command::SetParam { node, name, .. } => format!("set {node}.{name}"),
            Command::SetPlacement {
                node, after: None, ..
            } => format!("run {node} where its skill runs"),
            Command::SetPlacement {
                node,
                after: Some(place),
                ..
            } => format!("run {node} {}", place.phrase()),
            Command::Rename { .. } => "rename the workflow".to_owned(),
            Command::Replace { .. } => "replace the workflow".to_owned(),
        }
    }
}

/// Most commands kept for undo; older ones are forgotten.
pub const HISTORY_LIMIT: usize = 200;

/// The undo and redo stacks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    undo: Vec<Command>,
    redo: Vec<Command>,
}

impl History {
    /// Applies a new command; it becomes the one to undo and the redo
    /// stack is dropped.
    pub fn run(&mut self, graph: &mut Graph, command: Command) {
        command.apply(graph);
        self.undo.push(command);
        self.redo.clear();
        if self.undo.len() > HISTORY_LIMIT {
            let excess = self.undo.len() - HISTORY_LIMIT;
            self.undo.drain(..excess);
        }
    }

    /// Reverts the last command; false when there is none.
    pub fn undo(&mut self, graph: &mut Graph) -> bool {
        let Some(command) = self.undo.pop() else {
            return false;
        };
        command.revert(graph);
        self.redo.push(command);
        true
    }

    /// Applies the last undone command again; false when there is none.
    pub fn redo(&mut self, graph: &mut Graph) -> bool {
        let Some(command) = self.redo.pop() else {
            return false;
        };
        command.apply(graph);
        self.undo.push(command);
        true
    }

    pub fn next_undo(&self) -> Option<&Command> {
        self.undo.last()
    }

    pub fn next_redo(&self) -> Option<&Command> {
        self.redo.last()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Graph {
        Graph::new(
            Workflow::from_json(
                r#"{"id": "w", "name": "demo",
                "nodes": [
                  {"id": "a", "skill_id": "builtin:constant", "params": {"value": 1}},
                  {"id": "b", "skill_id": "builtin:math", "params": {"expression": "x"}},
                  {"id": "c", "skill_id": "builtin:math", "params": {"expression": "x"}}],
                "edges": [
                  {"source": "a", "source_port": "value", "target": "b", "target_port": "x"},
                  {"source": "b", "source_port": "result", "target": "c", "target_port": "x"},
                  {"source": "a", "source_port": "value", "target": "c", "target_port": "y"}]}"#,
            )
            .unwrap(),
        )
    }

    #[test]
    fn removing_a_node_takes_its_edges_and_undo_restores_order() {
        let mut g = sample();
        let before = g.workflow().clone();
        let mut h = History::default();
        let cmd = Command::remove(&g, &["b"], &[]).unwrap();
        assert_eq!(cmd.describe(), "delete 1 node");
        h.run(&mut g, cmd);
        assert_eq!(g.nodes().len(), 2);
        assert_eq!(g.edges().len(), 1);
        assert_eq!(g.edges()[0].target_port, "y");
        assert!(h.undo(&mut g));
        assert_eq!(g.workflow(), &before);
        assert!(h.redo(&mut g));
        assert_eq!(g.edges().len(), 1);
    }

    #[test]
    fn removing_an_edge_alone_keeps_the_nodes() {
        let mut g = sample();
        let mut h = History::default();
        let cmd = Command::remove(&g, &[], &[1]).unwrap();
        h.run(&mut g, cmd);
        assert_eq!(g.nodes().len(), 3);
        assert_eq!(g.edges().len(), 2);
        assert!(Command::remove(&g, &["zz"], &[9]).is_none());
    }

    #[test]
    fn move_param_rename_and_replace_undo() {
        let mut g = sample();
        let before = g.workflow().clone();
        let mut h = History::default();
        h.run(
            &mut g,
            Command::Move {
                ids: vec!["a".into(), "c".into()],
                dx: 10.0,
                dy: -5.0,
            },
        );
        h.run(
            &mut g,
            Command::SetParam {
                node: "b".into(),
                name: "expression".into(),
                before: Some(json!("x")),
                after: Some(json!("x * 2")),
            },
        );
        h.run(
            &mut g,
            Command::Rename {
                before: "demo".into(),
                after: "renamed".into(),
            },
        );
        let replace = Command::Replace {
            before: Box::new(g.workflow().clone()),
            after: Box::new(Workflow::default()),
        };
        h.run(&mut g, replace);
        assert!(g.nodes().is_empty());
        while h.undo(&mut g) {}
        assert_eq!(g.workflow(), &before);
        assert!(h.next_undo().is_none());
        assert_eq!(h.next_redo().unwrap().describe(), "move 2 nodes");
    }

    #[test]
    fn setting_where_a_node_runs_is_saved_and_undone() {
        let mut g = sample();
        let before = g.workflow().clone();
        let structure = g.structure_version();
        let mut h = History::default();
        let cmd = Command::SetPlacement {
            node: "b".into(),
            before: None,
            after: Some(Placement::Browser),
        };
        assert_eq!(cmd.describe(), "run b in the browser");
        h.run(&mut g, cmd);
        assert_eq!(g.node("b").unwrap().placement, Some(Placement::Browser));
        assert!(g.structure_version() > structure, "validation must rerun");
        assert!(g.workflow().to_value()["nodes"][1]["where"] == "browser");
        assert!(h.undo(&mut g));
        assert_eq!(g.workflow(), &before);
        assert!(g.workflow().to_value()["nodes"][1].get("where").is_none());
    }

    #[test]
    fn a_new_command_drops_the_redo_stack_and_history_is_bounded() {
        let mut g = sample();
        let mut h = History::default();
        for _ in 0..HISTORY_LIMIT + 10 {
            h.run(
                &mut g,
                Command::Move {
                    ids: vec!["a".into()],
                    dx: 1.0,
                    dy: 0.0,
                },
            );
        }
        assert_eq!(h.undo.len(), HISTORY_LIMIT);
        h.undo(&mut g);
        assert!(h.next_redo().is_some());
        h.run(
            &mut g,
            Command::Add {
                nodes: vec![],
                edges: vec![],
            },
        );
        assert!(h.next_redo().is_none());
    }

    #[test]
    fn add_then_undo_truncates_what_it_appended() {
        let mut g = sample();
        let before = g.workflow().clone();
        let mut h = History::default();
        let node = Node {
            id: "d".into(),
            skill_id: "builtin:constant".into(),
            ..Node::default()
        };
        let edge = Edge {
            source: "a".into(),
            source_port: "value".into(),
            target: "d".into(),
            target_port: "value".into(),
            ..Edge::default()
        };
        h.run(
            &mut g,
            Command::Add {
                nodes: vec![node],
                edges: vec![edge],
            },
        );
        assert_eq!(g.node_index("d"), Some(3));
        h.undo(&mut g);
        assert_eq!(g.workflow(), &before);
        assert_eq!(g.node_index("d"), None);
    }
}
