//! Editing the graph (every edit a command of the undo history) and the
//! workflow's life as a file: new, save, open, list, history, export and
//! import.

use std::collections::BTreeSet;

use llmos_core::workflow::{Edge, Node, Placement, Position, Workflow};
use serde_json::Value;
use sycamore::prelude::*;

use super::{AppState, CanvasRequest, Load, NoticeKind, SideTab};
use crate::api;
use crate::dom;
use crate::graph::history::Command;
use crate::graph::layout;

/// Name of a workflow nobody has named yet.
pub const UNTITLED: &str = "Untitled workflow";

pub fn untitled() -> Workflow {
    Workflow {
        name: UNTITLED.to_owned(),
        ..Workflow::default()
    }
}

/// A new workflow id: the name's slug and a random suffix, e.g.
/// `rc-filter-sweep-k3f9q2` (lowercase letters, digits and dashes, so it
/// is a valid file name and URL segment everywhere).
pub fn new_workflow_id(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 40 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    let slug = if slug.is_empty() { "workflow" } else { slug };
    const DIGITS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let suffix: String = (0..6)
        .map(|_| {
            let i = (js_sys::Math::random() * DIGITS.len() as f64) as usize;
            char::from(DIGITS[i.min(DIGITS.len() - 1)])
        })
        .collect();
    format!("{slug}-{suffix}")
}

/// Snaps a coordinate to the 10-unit grid nodes are placed on.
pub fn snap(v: f64) -> f64 {
    (v / 10.0).round() * 10.0
}

impl AppState {
    /// Runs a command through the history. Edges are addressed by index,
    /// so a command that adds or removes edges clears the edge selection.
    fn apply(self, command: Command) {
        let structural = !matches!(
            command,
            Command::Move { .. }
                | Command::SetParam { .. }
                | Command::SetPlacement { .. }
                | Command::Rename { .. }
        );
        batch(|| {
            let mut history = self.history.take_silent();
            self.graph.update(|g| history.run(g, command));
            self.history.set(history);
            if structural {
                self.prune_selection(true);
            }
        });
    }

    /// Drops selected nodes that no longer exist (and, when `edges`,
    /// the edge selection).
    fn prune_selection(self, edges: bool) {
        let existing: BTreeSet<String> = self.graph.with_untracked(|g| {
            self.selection.with_untracked(|s| {
                s.nodes
                    .iter()
                    .filter(|id| g.node_index(id).is_some())
                    .cloned()
                    .collect()
            })
        });
        let stale = self
            .selection
            .with_untracked(|s| s.nodes.len() != existing.len() || (edges && !s.edges.is_empty()));
        if stale {
            self.selection.update(|s| {
                s.nodes = existing;
                if edges {
                    s.edges.clear();
                }
            });
        }
    }

    /// Adds a node of `skill_id` with its top-left corner at the world
    /// point, selects it and returns its id.
    pub fn add_node(self, skill_id: &str, x: f64, y: f64) -> String {
        let id = self.graph.with_untracked(|g| g.fresh_node_id(skill_id));
        let node = Node {
            id: id.clone(),
            skill_id: skill_id.to_owned(),
            position: Position {
                x: snap(x),
                y: snap(y),
                ..Position::default()
            },
            ..Node::default()
        };
        self.apply(Command::Add {
            nodes: vec![node],
            edges: vec![],
        });
        self.select_node(&id, false);
        self.show_side(SideTab::Node);
        id
    }

    pub fn add_edge(self, edge: Edge) {
        self.canvas_message.set(None);
        self.apply(Command::Add {
            nodes: vec![],
            edges: vec![edge],
        });
    }

    /// Deletes the selected nodes (with their edges) and edges.
    pub fn delete_selection(self) {
        let selection = self.selection.get_clone_untracked();
        let ids: Vec<&str> = selection.nodes.iter().map(String::as_str).collect();
        let edges: Vec<usize> = selection.edges.iter().copied().collect();
        let Some(command) = self
            .graph
            .with_untracked(|g| Command::remove(g, &ids, &edges))
        else {
            return;
        };
        self.apply(command);
        self.selection.set(Default::default());
    }

    pub fn move_nodes(self, ids: Vec<String>, dx: f64, dy: f64) {
        if ids.is_empty() || (dx == 0.0 && dy == 0.0) {
            return;
        }
        self.apply(Command::Move { ids, dx, dy });
    }

    /// Sets (or with `None` clears) a node's param.
    pub fn set_param(self, node: &str, name: &str, value: Option<Value>) {
        let before = self
            .graph
            .with_untracked(|g| g.node(node).and_then(|n| n.params.get(name).cloned()));
        if before == value {
            return;
        }
        self.apply(Command::SetParam {
            node: node.to_owned(),
            name: name.to_owned(),
            before,
            after: value,
        });
    }

    /// Sets where a node runs (its `where`); `None` leaves it to the
    /// skill's own placement.
    pub fn set_placement(self, node: &str, placement: Option<Placement>) {
        let before = self
            .graph
            .with_untracked(|g| g.node(node).and_then(|n| n.placement));
        if before == placement {
            return;
        }
        self.apply(Command::SetPlacement {
            node: node.to_owned(),
            before,
            after: placement,
        });
    }

    pub fn rename(self, name: String) {
        let name = name.trim().to_owned();
        let before = self.graph.with_untracked(|g| g.workflow().name.clone());
        if name.is_empty() || name == before {
            return;
        }
        self.apply(Command::Rename {
            before,
            after: name,
        });
    }

    pub fn undo(self) {
        self.step_history(true);
    }

    pub fn redo(self) {
        self.step_history(false);
    }

    fn step_history(self, undo: bool) {
        batch(|| {
            let mut history = self.history.take_silent();
            let changed = self.graph.update(|g| {
                if undo {
                    history.undo(g)
                } else {
                    history.redo(g)
                }
            });
            self.history.set(history);
            if changed {
                self.prune_selection(true);
            }
        });
    }

    /// Replaces the workflow (undoably), laying out nodes that come
    /// without positions, and fits it into the view.
    pub fn replace_workflow(self, mut workflow: Workflow) {
        if layout::needs_layout(&workflow) {
            layout::layout_by_depth(&mut workflow);
        }
        let before = Box::new(self.graph.with_untracked(|g| g.workflow().clone()));
        self.apply(Command::Replace {
            before,
            after: Box::new(workflow),
        });
        self.selection.set(Default::default());
        self.run.set(Default::default());
        self.request_canvas(CanvasRequest::Fit);
    }

    pub fn new_workflow(self) {
        self.replace_workflow(untitled());
        self.workflow_history.set(Load::Idle);
        self.mark_saved(None);
    }

    /// Whether the graph differs from what was last saved or opened.
    pub fn is_dirty(self) -> bool {
        let version = self.graph.with(|g| g.version());
        self.saved.with(|s| s.version != version)
            && self
                .graph
                .with(|g| !g.nodes().is_empty() || g.workflow().name != UNTITLED)
    }

    fn mark_saved(self, commit: Option<String>) {
        let version = self.graph.with_untracked(|g| g.version());
        self.saved.update(|s| {
            s.version = version;
            s.commit = commit;
            s.stored = s.stored && self.graph.with_untracked(|g| !g.workflow().id.is_empty());
        });
    }

    /// Saves the workflow: a new commit of the stored one, or a new stored
    /// workflow (with a fresh id) the first time.
    pub fn save(self) {
        let Some(identity) = self.identity() else {
            return;
        };
        self.spawn(async move {
            let (mut workflow, stored) = (
                self.graph.with_untracked(|g| g.workflow().clone()),
                self.saved.with_untracked(|s| s.stored),
            );
            let existing = stored && !workflow.id.is_empty();
            if !existing {
                workflow.id = new_workflow_id(&workflow.name);
            }
            match api::save_workflow(&identity, &workflow, existing).await {
                Ok((id, commit)) => {
                    self.graph.update(|g| g.set_id(id.clone()));
                    self.saved.update(|s| s.stored = true);
                    self.mark_saved(Some(commit.clone()));
                    let short: String = commit.chars().take(8).collect();
                    self.notify(
                        NoticeKind::Success,
                        format!("Saved “{}” ({short})", workflow.name),
                    );
                    self.refresh_workflows();
                    if self.side.get_untracked() == SideTab::Workflows {
                        self.load_workflow_history();
                    }
                }
                Err(e) => self.error(format!("Saving failed: {e}")),
            }
        });
    }

    /// Opens a stored workflow.
    pub fn open_workflow(self, id: String) {
        self.spawn(async move {
            match api::get_workflow(&id).await {
                Ok(stored) => {
                    let name = stored.workflow.name.clone();
                    let mut workflow = stored.workflow;
                    if workflow.id.is_empty() {
                        workflow.id = id.clone();
                    }
                    self.replace_workflow(workflow);
                    self.saved.update(|s| s.stored = true);
                    self.mark_saved(stored.commit);
                    self.notify(NoticeKind::Info, format!("Opened “{name}”"));
                    self.load_workflow_history();
                }
                Err(e) => self.error(format!("Opening {id} failed: {e}")),
            }
        });
    }

    pub fn refresh_workflows(self) {
        let Some(identity) = self.identity() else {
            return;
        };
        self.workflows.set(Load::Loading);
        self.spawn(async move {
            let result = api::list_workflows(&identity).await;
            self.workflows.set(match result {
                Ok(list) => Load::Ready(list),
                Err(e) => Load::Failed(e.to_string()),
            });
        });
    }

    pub fn delete_stored_workflow(self, id: String) {
        self.spawn(async move {
            match api::delete_workflow(&id).await {
                Ok(_) => {
                    if self.graph.with_untracked(|g| g.workflow().id == id) {
                        self.saved.update(|s| s.stored = false);
                    }
                    self.notify(NoticeKind::Info, format!("Deleted workflow {id}"));
                    self.refresh_workflows();
                }
                Err(e) => self.error(format!("Deleting {id} failed: {e}")),
            }
        });
    }

    /// Loads the commit history of the open workflow, if it is stored.
    pub fn load_workflow_history(self) {
        let id = self.graph.with_untracked(|g| g.workflow().id.clone());
        if id.is_empty() || !self.saved.with_untracked(|s| s.stored) {
            self.workflow_history.set(Load::Idle);
            return;
        }
        self.workflow_history.set(Load::Loading);
        self.spawn(async move {
            let result = api::workflow_history(&id).await;
            self.workflow_history.set(match result {
                Ok(list) => Load::Ready(list),
                Err(e) => Load::Failed(e.to_string()),
            });
        });
    }

    /// Downloads the workflow as a JSON file in its canonical form.
    pub fn export_workflow(self) {
        let (name, text) = self.graph.with_untracked(|g| {
            let wf = g.workflow();
            let base = if wf.id.is_empty() {
                new_workflow_id(&wf.name)
            } else {
                wf.id.clone()
            };
            (format!("{base}.json"), wf.to_canonical_json())
        });
        if let Err(e) = dom::download(&name, &text, "application/json") {
            self.error(format!("Export failed: {e}"));
        }
    }

    /// Imports a workflow file read from disk; it replaces the canvas
    /// (undoably) and is not stored until saved.
    pub fn import_workflow_text(self, file_name: &str, text: &str) {
        match Workflow::from_json(text) {
            Ok(mut workflow) => {
                if workflow.name.is_empty() {
                    workflow.name = file_name.trim_end_matches(".json").to_owned();
                }
                let count = workflow.nodes.len();
                self.replace_workflow(workflow);
                self.saved.update(|s| s.stored = false);
                self.workflow_history.set(Load::Idle);
                let errors = self.report.with_untracked(|r| r.errors.len());
                let note = if errors == 0 {
                    "valid".to_owned()
                } else {
                    format!("{errors} validation error(s)")
                };
                self.notify(
                    NoticeKind::Info,
                    format!("Imported {file_name}: {count} nodes, {note}"),
                );
            }
            Err(e) => self.error(format!("{file_name} is not a workflow file: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapping_rounds_to_tens() {
        assert_eq!(snap(14.9), 10.0);
        assert_eq!(snap(15.0), 20.0);
        assert_eq!(snap(-4.0), 0.0);
    }
}
