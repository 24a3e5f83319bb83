//! Validation of a workflow against the caller's skills, and planning into
//! topological levels.
//!
//! Validation reports every problem it finds, not only the first, as
//! [`Issue`]s with a kebab-case code, a message and the node id and/or edge
//! index they point at; warnings are listed apart and do not make a
//! workflow invalid. A valid workflow yields a [`WorkflowPlan`]: the nodes
//! with their resolved skill signature, commit and placement, grouped into
//! levels whose nodes depend only on earlier levels.

use std::collections::HashMap;
use std::sync::Arc;

use petgraph::graph::{DiGraph, NodeIndex};
use serde::{Deserialize, Serialize};

use super::builtin;
use super::catalog::{Placement, SkillCatalog, SkillSignature};
use super::compat::{Compatibility, compatibility, json_kind, value_accepted};
use super::format::{JsonMap, Workflow};
use crate::ids::SkillId;

/// Most nodes a stored workflow may have. A canvas with more is not
/// readable, and the limit keeps a validation request in the low
/// milliseconds.
pub const MAX_NODES: usize = 5_000;
/// Most edges a stored workflow may have (four per node on average).
pub const MAX_EDGES: usize = 20_000;
/// Longest node id.
pub const MAX_NODE_ID_LEN: usize = 64;

/// Size limits a workflow is validated against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_nodes: usize,
    pub max_edges: usize,
}

impl Limits {
    /// The limits of stored workflows ([`MAX_NODES`], [`MAX_EDGES`]).
    pub const STORED: Limits = Limits {
        max_nodes: MAX_NODES,
        max_edges: MAX_EDGES,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::STORED
    }
}

/// What is wrong (or worth a warning) in a workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IssueCode {
    // Errors.
    /// More nodes than the limit.
    TooManyNodes,
    /// More edges than the limit.
    TooManyEdges,
    /// A node id that is empty, too long or has characters outside
    /// `[A-Za-z0-9_.-]`.
    InvalidNodeId,
    /// Two nodes with one id.
    DuplicateNodeId,
    /// A `skill_id` that is empty or not a well-formed skill id.
    InvalidSkillId,
    /// A skill the caller cannot see (or an unknown `builtin:` node).
    UnknownSkill,
    /// An edge naming a node that does not exist.
    UnknownNode,
    /// An edge from an output the source's skill does not have.
    UnknownOutputPort,
    /// An edge into an input the target's skill does not have.
    UnknownInputPort,
    /// An edge whose port types do not connect (see [`compatibility`]).
    IncompatibleTypes,
    /// A second edge into an input that already has one.
    DuplicateInput,
    /// An edge from a node to itself.
    SelfLoop,
    /// A required input with no edge, param or default.
    MissingInput,
    /// A param whose value does not fit the input's type.
    ParamTypeMismatch,
    /// A param a built-in node cannot use (bad JSONPath, bad expression…).
    InvalidParam,
    /// Nodes that depend on each other in a circle.
    Cycle,
    // Warnings.
    /// A node pinned to a commit that is not the latest of its skill.
    PinnedCommitNotLatest,
    /// A param that names no input of the skill.
    UnusedParam,
    /// A param for an input that an edge also feeds; the edge wins.
    ParamOverriddenByEdge,
}

/// One error or warning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issue {
    pub code: IssueCode,
    pub message: String,
    /// The node it concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The index in `edges` of the edge it concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edge: Option<usize>,
    /// For a cycle: its nodes in order (the last leads back to the first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
}

impl Issue {
    fn new(code: IssueCode, message: String) -> Self {
        Issue {
            code,
            message,
            node: None,
            edge: None,
            nodes: Vec::new(),
        }
    }

    fn at_node(mut self, node: &str) -> Self {
        self.node = Some(node.to_owned());
        self
    }

    fn at_edge(mut self, edge: usize) -> Self {
        self.edge = Some(edge);
        self
    }
}

/// The answer to `POST /workflows/validate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationReport {
    pub valid: bool,
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
    /// Node ids by level: a node depends only on nodes of earlier levels;
    /// within a level ids are sorted. Empty when the graph has a cycle.
    pub levels: Vec<Vec<String>>,
}

/// An edge into a node's input, resolved to node indices.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    /// The input of the target node.
    pub port: String,
    /// Index of the source node in [`WorkflowPlan::nodes`].
    pub source: usize,
    pub source_port: String,
}

/// A node of a valid workflow, resolved against the catalog.
#[derive(Debug, Clone)]
pub struct PlannedNode {
    pub id: String,
    pub skill_id: String,
    pub signature: Arc<SkillSignature>,
    /// The skill commit this node runs (the pinned one, or the latest).
    pub commit: String,
    pub placement: Placement,
    pub level: usize,
    pub params: JsonMap,
    /// Edges into this node.
    pub inputs: Vec<Binding>,
    /// Nodes fed by this node (indices, each once, ascending).
    pub dependents: Vec<usize>,
}

/// A valid workflow ready to execute.
#[derive(Debug, Clone)]
pub struct WorkflowPlan {
    pub workflow_id: String,
    /// In workflow file order.
    pub nodes: Vec<PlannedNode>,
    /// Indices into `nodes` by level, ids sorted within a level.
    pub levels: Vec<Vec<usize>>,
    index: HashMap<String, usize>,
}

impl WorkflowPlan {
    /// The index of the node with this id.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// The node with this id.
    pub fn node(&self, id: &str) -> Option<&PlannedNode> {
        self.index_of(id).map(|i| &self.nodes[i])
    }

    /// Node ids by level, as in [`ValidationReport::levels`].
    pub fn level_ids(&self) -> Vec<Vec<String>> {
        self.levels
            .iter()
            .map(|l| l.iter().map(|&i| self.nodes[i].id.clone()).collect())
            .collect()
    }
}

/// Validates against the stored-workflow [`Limits`].
pub fn validate(workflow: &Workflow, catalog: &dyn SkillCatalog) -> ValidationReport {
    analyze(workflow, catalog, Limits::STORED).0
}

/// Validates and, when the workflow is valid, plans it (stored-workflow
/// limits). The report is returned either way: its warnings matter too.
pub fn plan(
    workflow: &Workflow,
    catalog: &dyn SkillCatalog,
) -> Result<(WorkflowPlan, ValidationReport), ValidationReport> {
    match analyze(workflow, catalog, Limits::STORED) {
        (report, Some(plan)) => Ok((plan, report)),
        (report, None) => Err(report),
    }
}

/// Whether a node id is well formed: 1 to 64 ASCII letters, digits, `_`,
/// `.` or `-`.
pub fn is_valid_node_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_NODE_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

struct Resolved {
    signature: Arc<SkillSignature>,
    commit: String,
}

/// Validates under the given limits and plans when valid: the one pass
/// behind [`validate`] and [`plan`].
pub fn analyze(
    workflow: &Workflow,
    catalog: &dyn SkillCatalog,
    limits: Limits,
) -> (ValidationReport, Option<WorkflowPlan>) {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let nodes = &workflow.nodes;
    let edges = &workflow.edges;

    if nodes.len() > limits.max_nodes {
        errors.push(Issue::new(
            IssueCode::TooManyNodes,
            format!(
                "the workflow has {} nodes; at most {} are allowed",
                nodes.len(),
                limits.max_nodes
            ),
        ));
    }
    if edges.len() > limits.max_edges {
        errors.push(Issue::new(
            IssueCode::TooManyEdges,
            format!(
                "the workflow has {} edges; at most {} are allowed",
                edges.len(),
                limits.max_edges
            ),
        ));
    }

    // Node ids: the first node of an id owns it; later ones are errors and
    // take no part in the graph.
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(nodes.len());
    let mut in_graph = vec![false; nodes.len()];
    for (i, node) in nodes.iter().enumerate() {
        if !is_valid_node_id(&node.id) {
            errors.push(
                Issue::new(
                    IssueCode::InvalidNodeId,
                    if node.id.is_empty() {
                        format!("node {i} has an empty id")
                    } else {
                        format!(
                            "node id `{}` must be 1 to {MAX_NODE_ID_LEN} letters, digits, `_`, `.` or `-`",
                            node.id.escape_default()
                        )
                    },
                )
                .at_node(&node.id),
            );
            if node.id.is_empty() {
                continue;
            }
        }
        match index.entry(node.id.as_str()) {
            std::collections::hash_map::Entry::Occupied(first) => errors.push(
                Issue::new(
                    IssueCode::DuplicateNodeId,
                    format!(
                        "node id `{}` is used by nodes {} and {i}",
                        node.id,
                        first.get()
                    ),
                )
                .at_node(&node.id),
            ),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(i);
                in_graph[i] = true;
            }
        }
    }

    // Skills.
    let resolved: Vec<Option<Resolved>> = nodes
        .iter()
        .map(|node| resolve(node, catalog, &mut errors, &mut warnings))
        .collect();

    // Edges.
    let mut incoming: Vec<Vec<(&str, usize)>> = vec![Vec::new(); nodes.len()];
    let mut successors: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (k, edge) in edges.iter().enumerate() {
        let source = index.get(edge.source.as_str()).copied();
        let target = index.get(edge.target.as_str()).copied();
        for (end, id, found) in [
            ("source", &edge.source, source),
            ("target", &edge.target, target),
        ] {
            // A self-loop on a missing node names it once.
            if found.is_none() && !(end == "target" && edge.source == edge.target) {
                errors.push(
                    Issue::new(
                        IssueCode::UnknownNode,
                        format!(
                            "edge {k}: {end} node `{}` does not exist",
                            id.escape_default()
                        ),
                    )
                    .at_node(id)
                    .at_edge(k),
                );
            }
        }
        let self_loop = edge.source == edge.target;
        if self_loop {
            errors.push(
                Issue::new(
                    IssueCode::SelfLoop,
                    format!("edge {k} connects node `{}` to itself", edge.source),
                )
                .at_node(&edge.source)
                .at_edge(k),
            );
        }
        if let (Some(s), Some(t), false) = (source, target, self_loop) {
            successors[s].push(t);
        }

        let out_ty = source.and_then(|s| resolved[s].as_ref()).and_then(|r| {
            let ty = r.signature.output(&edge.source_port).map(|p| p.ty);
            if ty.is_none() {
                errors.push(
                    Issue::new(
                        IssueCode::UnknownOutputPort,
                        format!(
                            "edge {k}: skill `{}` of node `{}` has no output `{}` (outputs: {})",
                            r.signature.skill_id,
                            edge.source,
                            edge.source_port.escape_default(),
                            port_list(r.signature.outputs.iter().map(|p| p.name.as_str())),
                        ),
                    )
                    .at_node(&edge.source)
                    .at_edge(k),
                );
            }
            ty
        });
        let in_ty = target.and_then(|t| resolved[t].as_ref()).and_then(|r| {
            let ty = r.signature.input_type(&edge.target_port);
            if ty.is_none() {
                errors.push(
                    Issue::new(
                        IssueCode::UnknownInputPort,
                        format!(
                            "edge {k}: skill `{}` of node `{}` has no input `{}` (inputs: {})",
                            r.signature.skill_id,
                            edge.target,
                            edge.target_port.escape_default(),
                            port_list(r.signature.inputs.iter().map(|p| p.name.as_str())),
                        ),
                    )
                    .at_node(&edge.target)
                    .at_edge(k),
                );
            }
            ty
        });
        if let (Some(from), Some(to)) = (out_ty, in_ty)
            && compatibility(from, to) == Compatibility::Incompatible
        {
            errors.push(
                Issue::new(
                    IssueCode::IncompatibleTypes,
                    format!(
                        "edge {k}: output `{}.{}` ({from}) cannot feed input `{}.{}` ({to})",
                        edge.source, edge.source_port, edge.target, edge.target_port
                    ),
                )
                .at_node(&edge.target)
                .at_edge(k),
            );
        }
        // An edge into a known node binds that input even when its source is
        // broken, so the broken edge is not reported a second time as a
        // missing input.
        let Some(t) = target else { continue };
        if let Some(&(_, first)) = incoming[t]
            .iter()
            .find(|(port, _)| *port == edge.target_port)
        {
            errors.push(
                Issue::new(
                    IssueCode::DuplicateInput,
                    format!(
                        "edges {first} and {k} both feed input `{}` of node `{}`",
                        edge.target_port, edge.target
                    ),
                )
                .at_node(&edge.target)
                .at_edge(k),
            );
        } else {
            incoming[t].push((edge.target_port.as_str(), k));
        }
    }

    // Inputs and params.
    for (i, node) in nodes.iter().enumerate() {
        // A node whose id another node owns is already an error; its inputs
        // cannot be told apart from the owner's.
        let Some(r) = resolved[i].as_ref().filter(|_| in_graph[i]) else {
            continue;
        };
        let sig = &r.signature;
        let bound = |name: &str| incoming[i].iter().any(|(p, _)| *p == name);
        for input in &sig.inputs {
            if input.required
                && input.default.is_none()
                && !node.params.contains_key(&input.name)
                && !bound(&input.name)
            {
                errors.push(
                    Issue::new(
                        IssueCode::MissingInput,
                        format!(
                            "node `{}`: required input `{}` ({}) has no edge, param or default",
                            node.id, input.name, input.ty
                        ),
                    )
                    .at_node(&node.id),
                );
            }
        }
        for (name, value) in &node.params {
            match sig.input_type(name) {
                None => warnings.push(
                    Issue::new(
                        IssueCode::UnusedParam,
                        format!(
                            "node `{}`: param `{}` names no input of skill `{}`; it is not passed",
                            node.id,
                            name.escape_default(),
                            sig.skill_id
                        ),
                    )
                    .at_node(&node.id),
                ),
                Some(ty) if !value_accepted(ty, value) => errors.push(
                    Issue::new(
                        IssueCode::ParamTypeMismatch,
                        format!(
                            "node `{}`: param `{name}` is {} {}, but the input is {ty}",
                            node.id,
                            if json_kind(value).starts_with(['a', 'o']) {
                                "an"
                            } else {
                                "a"
                            },
                            json_kind(value)
                        ),
                    )
                    .at_node(&node.id),
                ),
                Some(_) => {
                    if bound(name) {
                        warnings.push(
                            Issue::new(
                                IssueCode::ParamOverriddenByEdge,
                                format!(
                                    "node `{}`: param `{name}` is ignored: an edge feeds that input",
                                    node.id
                                ),
                            )
                            .at_node(&node.id),
                        );
                    }
                }
            }
        }
        if sig.runtime == crate::types::Runtime::Builtin {
            for (code, message) in builtin::check_params(&sig.skill_id, &node.params, &bound) {
                let code = if code == "missing-input" {
                    IssueCode::MissingInput
                } else {
                    IssueCode::InvalidParam
                };
                errors.push(
                    Issue::new(code, format!("node `{}`: {message}", node.id)).at_node(&node.id),
                );
            }
        }
    }

    // Levels (longest path from a source, Kahn's algorithm), or cycles.
    let (level_of, cycles) = levels(&successors, &in_graph);
    for cycle in &cycles {
        let names: Vec<String> = cycle.iter().map(|&i| nodes[i].id.clone()).collect();
        let mut path = names.join(" → ");
        path.push_str(" → ");
        path.push_str(&names[0]);
        let mut issue =
            Issue::new(IssueCode::Cycle, format!("nodes form a cycle: {path}")).at_node(&names[0]);
        issue.nodes = names;
        errors.push(issue);
    }
    let mut by_level: Vec<Vec<usize>> = Vec::new();
    if cycles.is_empty() {
        for (i, level) in level_of.iter().enumerate() {
            if let Some(l) = *level {
                if by_level.len() <= l {
                    by_level.resize_with(l + 1, Vec::new);
                }
                by_level[l].push(i);
            }
        }
        for level in &mut by_level {
            level.sort_by(|&a, &b| nodes[a].id.cmp(&nodes[b].id));
        }
    }
    let report = ValidationReport {
        valid: errors.is_empty(),
        errors,
        warnings,
        levels: by_level
            .iter()
            .map(|l| l.iter().map(|&i| nodes[i].id.clone()).collect())
            .collect(),
    };
    if !report.valid {
        return (report, None);
    }

    // Valid: every node owns its id, resolved, and has a level.
    let mut planned: Vec<PlannedNode> = nodes
        .iter()
        .zip(resolved)
        .enumerate()
        .map(|(i, (node, r))| {
            let r = r.expect("a valid workflow resolves every node");
            PlannedNode {
                id: node.id.clone(),
                skill_id: node.skill_id.clone(),
                placement: r.signature.placement(),
                signature: r.signature,
                commit: r.commit,
                level: level_of[i].expect("a valid workflow has no cycle"),
                params: node.params.clone(),
                inputs: Vec::new(),
                dependents: Vec::new(),
            }
        })
        .collect();
    for edge in edges {
        let s = index[edge.source.as_str()];
        let t = index[edge.target.as_str()];
        planned[t].inputs.push(Binding {
            port: edge.target_port.clone(),
            source: s,
            source_port: edge.source_port.clone(),
        });
        planned[s].dependents.push(t);
    }
    for p in &mut planned {
        p.dependents.sort_unstable();
        p.dependents.dedup();
    }
    let plan = WorkflowPlan {
        workflow_id: workflow.id.clone(),
        index: index.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        nodes: planned,
        levels: by_level,
    };
    (report, Some(plan))
}

fn port_list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let list: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    if list.is_empty() {
        "none".to_owned()
    } else {
        list.join(", ")
    }
}

fn resolve(
    node: &super::format::Node,
    catalog: &dyn SkillCatalog,
    errors: &mut Vec<Issue>,
    warnings: &mut Vec<Issue>,
) -> Option<Resolved> {
    let id = node.skill_id.as_str();
    let builtin = builtin::is_builtin_id(id);
    if !builtin && let Err(e) = SkillId::new(id) {
        errors.push(
            Issue::new(
                IssueCode::InvalidSkillId,
                format!("node `{}`: {e}", node.id),
            )
            .at_node(&node.id),
        );
        return None;
    }
    let latest = if builtin {
        builtin::signature(id)
    } else {
        catalog.latest(id)
    };
    let Some(latest) = latest else {
        let message = if builtin {
            let known: Vec<String> = builtin::signatures()
                .iter()
                .map(|s| format!("`{}`", s.skill_id))
                .collect();
            format!(
                "node `{}`: `{id}` is not a built-in node (built-ins: {})",
                node.id,
                known.join(", ")
            )
        } else {
            format!(
                "node `{}`: skill `{id}` does not exist or is not visible",
                node.id
            )
        };
        errors.push(Issue::new(IssueCode::UnknownSkill, message).at_node(&node.id));
        return None;
    };
    let pinned = node
        .skill_commit
        .as_deref()
        .filter(|c| !c.is_empty() && node.follow_latest != Some(true));
    match pinned {
        Some(commit) if commit != latest.commit => {
            let older = if builtin {
                None
            } else {
                catalog.at_commit(id, commit)
            };
            let consequence = match (&older, builtin) {
                (_, true) => "built-in nodes always run the engine's own version",
                (Some(_), false) => "it runs that version",
                (None, false) => {
                    "that version's ports are unknown here, so it is checked against the latest"
                }
            };
            warnings.push(
                Issue::new(
                    IssueCode::PinnedCommitNotLatest,
                    format!(
                        "node `{}` is pinned to commit `{commit}` of `{id}`, the latest is `{}`; {consequence}",
                        node.id, latest.commit
                    ),
                )
                .at_node(&node.id),
            );
            if builtin {
                let commit = latest.commit.clone();
                return Some(Resolved {
                    signature: latest,
                    commit,
                });
            }
            Some(Resolved {
                signature: older.unwrap_or(latest),
                commit: commit.to_owned(),
            })
        }
        _ => {
            let commit = latest.commit.clone();
            Some(Resolved {
                signature: latest,
                commit,
            })
        }
    }
}

/// Longest-path levels of the nodes in the graph; when some nodes are left
/// on or behind cycles, one concrete cycle per strongly connected component
/// instead (its nodes in order, starting from its first node in file order).
fn levels(successors: &[Vec<usize>], in_graph: &[bool]) -> (Vec<Option<usize>>, Vec<Vec<usize>>) {
    let n = successors.len();
    let mut indegree = vec![0usize; n];
    for succ in successors {
        for &t in succ {
            indegree[t] += 1;
        }
    }
    let mut level: Vec<Option<usize>> = vec![None; n];
    let mut queue: Vec<usize> = (0..n)
        .filter(|&i| in_graph[i] && indegree[i] == 0)
        .collect();
    let mut depth = vec![0usize; n];
    let mut done = 0;
    let mut head = 0;
    while head < queue.len() {
        let v = queue[head];
        head += 1;
        level[v] = Some(depth[v]);
        done += 1;
        for &t in &successors[v] {
            depth[t] = depth[t].max(depth[v] + 1);
            indegree[t] -= 1;
            if indegree[t] == 0 {
                queue.push(t);
            }
        }
    }
    let total = in_graph.iter().filter(|&&g| g).count();
    if done == total {
        return (level, Vec::new());
    }

    // Nodes with a remaining in-degree are on a cycle or downstream of one;
    // the strongly connected components among them with more than one node
    // hold the cycles (self-loops are reported as edges and never added).
    let left: Vec<usize> = (0..n)
        .filter(|&i| in_graph[i] && level[i].is_none())
        .collect();
    let mut graph = DiGraph::<usize, ()>::with_capacity(left.len(), left.len());
    let mut at: HashMap<usize, NodeIndex> = HashMap::with_capacity(left.len());
    for &v in &left {
        at.insert(v, graph.add_node(v));
    }
    for &v in &left {
        for &t in &successors[v] {
            if let Some(&ti) = at.get(&t) {
                graph.add_edge(at[&v], ti, ());
            }
        }
    }
    let mut cycles: Vec<Vec<usize>> = petgraph::algo::tarjan_scc(&graph)
        .into_iter()
        .filter(|scc| scc.len() > 1)
        .map(|scc| {
            let members: Vec<usize> = scc.iter().map(|&ix| graph[ix]).collect();
            cycle_through(successors, &members)
        })
        .collect();
    cycles.sort();
    (vec![None; n], cycles)
}

/// A shortest cycle through the first (in file order) member of a strongly
/// connected component, found by breadth-first search inside it.
fn cycle_through(successors: &[Vec<usize>], members: &[usize]) -> Vec<usize> {
    let start = *members.iter().min().expect("a component has members");
    let inside: HashMap<usize, ()> = members.iter().map(|&m| (m, ())).collect();
    let mut parent: HashMap<usize, usize> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for &t in &successors[v] {
            if t == start {
                let mut path = vec![v];
                let mut cur = v;
                while cur != start {
                    cur = parent[&cur];
                    path.push(cur);
                }
                path.reverse();
                return path;
            }
            if inside.contains_key(&t) && !parent.contains_key(&t) {
                parent.insert(t, v);
                queue.push_back(t);
            }
        }
    }
    // Not reached: every member of a strongly connected component lies on
    // a cycle through `start`. Naming the component is the next best answer.
    let mut all = members.to_vec();
    all.sort_unstable();
    all
}
