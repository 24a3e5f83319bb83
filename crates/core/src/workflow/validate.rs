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
use std::hash::BuildHasher;
use std::sync::Arc;

use hashbrown::{DefaultHashBuilder, HashTable};
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
#[schema(as = ValidationIssueCode)]
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
    /// A node whose `where` names a place its skill does not run in (only
    /// compiled skills with a built component run in either place).
    PlacementUnsupported,
    /// A node of a compiled skill whose component has not been built.
    ComponentNotBuilt,
    /// A node of a compiled skill whose component was built from another
    /// version of the skill file.
    ComponentStale,
    // Errors of a model's draft (`POST /chat/workflow`), before there is a
    // workflow to validate.
    /// The model's answer holds no JSON object.
    AnswerNotJson,
    /// The model's answer is JSON but not in the workflow format.
    AnswerNotAWorkflow,
    // Warnings.
    /// A node pinned to a commit that is not the latest of its skill.
    PinnedCommitNotLatest,
    /// A param that names no input of the skill.
    UnusedParam,
    /// A param for an input that an edge also feeds; the edge wins.
    ParamOverriddenByEdge,
}

/// One error or warning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = ValidationIssue)]
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

/// Every error and warning of a workflow, and its plan levels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ValidationReport {
    /// Whether there are no errors (warnings do not count).
    pub valid: bool,
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
    /// Node ids by level: a node depends only on nodes of earlier levels;
    /// within a level nodes keep their order in the file. Empty when the
    /// graph has a cycle.
    pub levels: Vec<Vec<String>>,
}

impl ValidationReport {
    /// The report of something that is not a workflow at all: one error
    /// (`code`, without a node or edge), no levels.
    pub fn refused(code: IssueCode, message: impl Into<String>) -> Self {
        ValidationReport {
            valid: false,
            errors: vec![Issue::new(code, message.into())],
            warnings: Vec::new(),
            levels: Vec::new(),
        }
    }
}

/// An edge into a node's input, resolved to node indices.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    /// The input of the target node.
    pub port: Arc<str>,
    /// Index of the source node in [`WorkflowPlan::nodes`].
    pub source: usize,
    pub source_port: Arc<str>,
}

/// A node of a valid workflow, resolved against the catalog. Strings that
/// repeat across nodes (skill ids, commits, port names) are shared.
#[derive(Debug, Clone)]
pub struct PlannedNode {
    pub id: Arc<str>,
    pub skill_id: Arc<str>,
    pub signature: Arc<SkillSignature>,
    /// The skill commit this node runs (the pinned one, or the latest).
    pub commit: Arc<str>,
    pub placement: Placement,
    pub level: usize,
    pub params: JsonMap,
}

/// A valid workflow ready to execute.
#[derive(Debug, Clone)]
pub struct WorkflowPlan {
    pub workflow_id: String,
    /// In workflow file order.
    pub nodes: Vec<PlannedNode>,
    /// Indices into `nodes` by level, in file order within a level.
    pub levels: Vec<Vec<usize>>,
    /// Edges into each node, grouped by target: node `i`'s are
    /// `bindings[binding_start[i]..binding_start[i + 1]]`.
    bindings: Vec<Binding>,
    binding_start: Vec<usize>,
    /// Nodes fed by each node, grouped the same way (each once, ascending).
    dependents: Vec<usize>,
    dependent_start: Vec<usize>,
    index: IdIndex,
}

impl WorkflowPlan {
    /// The index of the node with this id.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.index.get(id, |i| &self.nodes[i].id)
    }

    /// The node with this id.
    pub fn node(&self, id: &str) -> Option<&PlannedNode> {
        self.index_of(id).map(|i| &self.nodes[i])
    }

    /// The edges into node `i`, in workflow file order.
    pub fn inputs(&self, i: usize) -> &[Binding] {
        &self.bindings[self.binding_start[i]..self.binding_start[i + 1]]
    }

    /// The nodes node `i` feeds (indices, each once, ascending).
    pub fn dependents(&self, i: usize) -> &[usize] {
        &self.dependents[self.dependent_start[i]..self.dependent_start[i + 1]]
    }

    /// Node ids by level, as in [`ValidationReport::levels`].
    pub fn level_ids(&self) -> Vec<Vec<String>> {
        self.levels
            .iter()
            .map(|l| l.iter().map(|&i| self.nodes[i].id.to_string()).collect())
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

/// Adjacency lists packed into one array: the items of list `i` are
/// `items[start[i]..start[i + 1]]`. One allocation instead of one per node
/// keeps a 10,000-node validation in the low milliseconds.
struct Packed<T> {
    start: Vec<usize>,
    items: Vec<T>,
}

impl<T: Copy + Default> Packed<T> {
    /// Packs `(list, item)` pairs, keeping their order within each list.
    fn new(lists: usize, pairs: impl Iterator<Item = (usize, T)> + Clone) -> Self {
        let mut start = vec![0usize; lists + 1];
        for (l, _) in pairs.clone() {
            start[l + 1] += 1;
        }
        for l in 0..lists {
            start[l + 1] += start[l];
        }
        let mut fill = start.clone();
        let mut items = vec![T::default(); start[lists]];
        for (l, item) in pairs {
            items[fill[l]] = item;
            fill[l] += 1;
        }
        Packed { start, items }
    }

    fn get(&self, list: usize) -> &[T] {
        &self.items[self.start[list]..self.start[list + 1]]
    }
}

/// Node indices by node id, kept in a plan. The table holds only indices
/// and compares against the plan's own node ids, so no id is stored twice.
#[derive(Debug, Clone, Default)]
struct IdIndex {
    table: HashTable<usize>,
    hasher: DefaultHashBuilder,
}

impl IdIndex {
    /// Indexes nodes whose ids are distinct (those of a valid workflow).
    fn of_distinct(nodes: &[PlannedNode]) -> Self {
        let hasher = DefaultHashBuilder::default();
        let mut table = HashTable::with_capacity(nodes.len());
        for (i, node) in nodes.iter().enumerate() {
            table.insert_unique(hasher.hash_one(&*node.id), i, |&j| {
                hasher.hash_one(&*nodes[j].id)
            });
        }
        IdIndex { table, hasher }
    }

    /// The node with this id; `id_of(i)` is node `i`'s id.
    fn get<'a>(&self, id: &str, id_of: impl Fn(usize) -> &'a str) -> Option<usize> {
        let hash = self.hasher.hash_one(id);
        self.table.find(hash, |&i| id_of(i) == id).copied()
    }
}

/// Node indices by node id while validating. Each entry carries its id, so
/// a lookup reads the table and the id's bytes but not the node itself:
/// one cache miss fewer for each end of each edge.
struct NodeIds<'w> {
    table: HashTable<(&'w str, usize)>,
    hasher: DefaultHashBuilder,
}

impl<'w> NodeIds<'w> {
    fn with_capacity(nodes: usize) -> Self {
        NodeIds {
            table: HashTable::with_capacity(nodes),
            hasher: DefaultHashBuilder::default(),
        }
    }

    /// The node that owns this id.
    fn get(&self, id: &str) -> Option<usize> {
        let hash = self.hasher.hash_one(id);
        self.table
            .find(hash, |&(key, _)| key == id)
            .map(|&(_, i)| i)
    }

    /// Makes node `i` the owner of `id`, unless an earlier node owns it:
    /// then that node's index is the error.
    fn claim(&mut self, i: usize, id: &'w str) -> Result<(), usize> {
        let NodeIds { table, hasher } = self;
        let hash = hasher.hash_one(id);
        match table.entry(
            hash,
            |&(key, _)| key == id,
            |&(key, _)| hasher.hash_one(key),
        ) {
            hashbrown::hash_table::Entry::Occupied(owner) => Err(owner.get().1),
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert((id, i));
                Ok(())
            }
        }
    }
}

/// What a `(skill_id, pinned commit)` pair resolves to; computed once per
/// distinct pair, reported per node.
enum Resolution {
    InvalidId(String),
    UnknownBuiltin,
    Unknown,
    Found {
        signature: Arc<SkillSignature>,
        commit: Arc<str>,
        /// The pin is not the latest: `(latest commit, consequence)`.
        stale_pin: Option<(String, &'static str)>,
    },
}

fn resolve(
    skill_id: &str,
    pinned: Option<&str>,
    catalog: &dyn SkillCatalog,
    shared: &mut Interner,
) -> Resolution {
    let builtin = builtin::is_builtin_id(skill_id);
    if !builtin && let Err(e) = SkillId::new(skill_id) {
        return Resolution::InvalidId(e.to_string());
    }
    let latest = if builtin {
        builtin::signature(skill_id)
    } else {
        catalog.latest(skill_id)
    };
    let Some(latest) = latest else {
        return if builtin {
            Resolution::UnknownBuiltin
        } else {
            Resolution::Unknown
        };
    };
    match pinned {
        Some(commit) if commit != latest.commit => {
            let older = if builtin {
                None
            } else {
                catalog.at_commit(skill_id, commit)
            };
            let consequence = match (&older, builtin) {
                (_, true) => "built-in nodes always run the engine's own version",
                (Some(_), false) => "it runs that version",
                (None, false) => {
                    "that version's ports are unknown here, so it is checked against the latest"
                }
            };
            let stale_pin = Some((latest.commit.clone(), consequence));
            if builtin {
                Resolution::Found {
                    commit: shared.get(&latest.commit),
                    signature: latest,
                    stale_pin,
                }
            } else {
                Resolution::Found {
                    signature: older.unwrap_or(latest),
                    commit: shared.get(commit),
                    stale_pin,
                }
            }
        }
        _ => Resolution::Found {
            commit: shared.get(&latest.commit),
            signature: latest,
            stale_pin: None,
        },
    }
}

/// Shares one allocation among equal strings (port names, skill ids).
#[derive(Default)]
struct Interner {
    strings: hashbrown::HashSet<Arc<str>>,
}

impl Interner {
    fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(shared) = self.strings.get(s) {
            return Arc::clone(shared);
        }
        let shared: Arc<str> = Arc::from(s);
        self.strings.insert(Arc::clone(&shared));
        shared
    }
}

/// Where an edge's target port lands in the target node's skill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InputPort {
    /// No known target, no resolved skill, or no such input.
    Unresolved,
    /// The skill's declared input at this index (the first of that name).
    Declared(usize),
    /// An undeclared name the skill accepts as an extra input.
    Extra,
}

/// An edge resolved to node indices and port indices.
#[derive(Debug, Clone, Copy)]
struct EdgeEnds {
    source: Option<usize>,
    target: Option<usize>,
    /// Index of the source port in the source skill's outputs.
    output: Option<usize>,
    input: InputPort,
}

/// Shared strings of one resolved skill, made once per distinct skill when
/// a plan is built rather than once per node or edge.
struct SharedNames {
    skill_id: Arc<str>,
    inputs: Vec<Arc<str>>,
    outputs: Vec<Arc<str>>,
}

/// Validates under the given limits and plans when valid: the one pass
/// behind [`validate`] and [`plan`]. Errors come grouped by check (limits,
/// node ids, skills, edges, duplicate inputs, inputs and params, cycles),
/// in file order within a check.
pub fn analyze(
    workflow: &Workflow,
    catalog: &dyn SkillCatalog,
    limits: Limits,
) -> (ValidationReport, Option<WorkflowPlan>) {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let nodes = &workflow.nodes;
    let edges = &workflow.edges;
    let n = nodes.len();

    if n > limits.max_nodes {
        errors.push(Issue::new(
            IssueCode::TooManyNodes,
            format!(
                "the workflow has {n} nodes; at most {} are allowed",
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
    // take no part in the graph. From here on nodes are their indices.
    let mut index = NodeIds::with_capacity(n);
    let mut in_graph = vec![false; n];
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
        match index.claim(i, &node.id) {
            Err(first) => errors.push(
                Issue::new(
                    IssueCode::DuplicateNodeId,
                    format!("node id `{}` is used by nodes {first} and {i}", node.id),
                )
                .at_node(&node.id),
            ),
            Ok(()) => in_graph[i] = true,
        }
    }

    // Skills, resolved once per distinct (skill id, pin).
    let mut shared = Interner::default();
    let mut cache: hashbrown::HashMap<(&str, Option<&str>), usize> = hashbrown::HashMap::new();
    let mut table: Vec<Resolution> = Vec::new();
    // The skill id of each entry of `table`.
    let mut table_ids: Vec<&str> = Vec::new();
    // Per node: the index in `table` of its found skill.
    let mut resolved: Vec<Option<usize>> = Vec::with_capacity(n);
    let follow_all = workflow.follows_latest();
    for node in nodes {
        let pinned = node
            .skill_commit
            .as_deref()
            .filter(|c| !c.is_empty() && node.follow_latest != Some(true) && !follow_all);
        let key = (node.skill_id.as_str(), pinned);
        let at = *cache.entry(key).or_insert_with(|| {
            table.push(resolve(key.0, key.1, catalog, &mut shared));
            table_ids.push(key.0);
            table.len() - 1
        });
        let id = key.0;
        resolved.push(match &table[at] {
            Resolution::InvalidId(why) => {
                errors.push(
                    Issue::new(
                        IssueCode::InvalidSkillId,
                        format!("node `{}`: {why}", node.id),
                    )
                    .at_node(&node.id),
                );
                None
            }
            Resolution::UnknownBuiltin => {
                let known: Vec<String> = builtin::signatures()
                    .iter()
                    .map(|s| format!("`{}`", s.skill_id))
                    .collect();
                errors.push(
                    Issue::new(
                        IssueCode::UnknownSkill,
                        format!(
                            "node `{}`: `{id}` is not a built-in node (built-ins: {})",
                            node.id,
                            known.join(", ")
                        ),
                    )
                    .at_node(&node.id),
                );
                None
            }
            Resolution::Unknown => {
                errors.push(
                    Issue::new(
                        IssueCode::UnknownSkill,
                        format!(
                            "node `{}`: skill `{id}` does not exist or is not visible",
                            node.id
                        ),
                    )
                    .at_node(&node.id),
                );
                None
            }
            Resolution::Found {
                stale_pin,
                signature,
                ..
            } => {
                errors.extend(runnability(node, signature));
                if let (Some((latest, consequence)), Some(pin)) = (stale_pin, pinned) {
                    warnings.push(
                        Issue::new(
                            IssueCode::PinnedCommitNotLatest,
                            format!(
                                "node `{}` is pinned to commit `{pin}` of `{id}`, the latest is `{latest}`; {consequence}",
                                node.id
                            ),
                        )
                        .at_node(&node.id),
                    );
                }
                Some(at)
            }
        });
    }
    let signature_of = |i: usize| match resolved[i].map(|at| &table[at]) {
        Some(Resolution::Found { signature, .. }) => Some(signature),
        _ => None,
    };

    // Edges: endpoints, ports and types. Each port name is compared with
    // its skill's ports once, here; later checks compare port indices.
    let mut ends: Vec<EdgeEnds> = Vec::with_capacity(edges.len());
    for (k, edge) in edges.iter().enumerate() {
        let source = index.get(&edge.source);
        let target = index.get(&edge.target);
        let self_loop = match (source, target) {
            (Some(s), Some(t)) => s == t,
            _ => edge.source == edge.target,
        };
        for (end, id, found) in [
            ("source", &edge.source, source),
            ("target", &edge.target, target),
        ] {
            // A self-loop on a missing node names it once.
            if found.is_none() && !(end == "target" && self_loop) {
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

        let mut output = None;
        let mut out_ty = None;
        if let Some(sig) = source.and_then(signature_of) {
            match sig.outputs.iter().position(|p| p.name == edge.source_port) {
                Some(o) => {
                    output = Some(o);
                    out_ty = Some(sig.outputs[o].ty);
                }
                None => errors.push(
                    Issue::new(
                        IssueCode::UnknownOutputPort,
                        format!(
                            "edge {k}: skill `{}` of node `{}` has no output `{}` (outputs: {})",
                            sig.skill_id,
                            edge.source,
                            edge.source_port.escape_default(),
                            port_list(sig.outputs.iter().map(|p| p.name.as_str())),
                        ),
                    )
                    .at_node(&edge.source)
                    .at_edge(k),
                ),
            }
        }
        let mut input = InputPort::Unresolved;
        let mut in_ty = None;
        if let Some(sig) = target.and_then(signature_of) {
            if let Some(j) = sig.inputs.iter().position(|p| p.name == edge.target_port) {
                input = InputPort::Declared(j);
                in_ty = Some(sig.inputs[j].ty);
            } else if let Some(ty) = sig.extra_inputs {
                input = InputPort::Extra;
                in_ty = Some(ty);
            } else {
                errors.push(
                    Issue::new(
                        IssueCode::UnknownInputPort,
                        format!(
                            "edge {k}: skill `{}` of node `{}` has no input `{}` (inputs: {})",
                            sig.skill_id,
                            edge.target,
                            edge.target_port.escape_default(),
                            port_list(sig.inputs.iter().map(|p| p.name.as_str())),
                        ),
                    )
                    .at_node(&edge.target)
                    .at_edge(k),
                );
            }
        }
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
        ends.push(EdgeEnds {
            source,
            target,
            output,
            input,
        });
    }

    // Edges into each known node (even from a broken source, so a broken
    // edge is not reported a second time as a missing input), and a second
    // edge into one input.
    let incoming = Packed::new(
        n,
        ends.iter()
            .enumerate()
            .filter_map(|(k, e)| e.target.map(|t| (t, k))),
    );
    for t in 0..n {
        let into = incoming.get(t);
        if into.len() < 2 || feed_distinct_declared_inputs(into, &ends) {
            continue;
        }
        let mut by_port: Vec<(&str, usize)> = into
            .iter()
            .map(|&k| (edges[k].target_port.as_str(), k))
            .collect();
        by_port.sort_unstable();
        for pair in by_port.windows(2) {
            if pair[0].0 == pair[1].0 {
                let edge = &edges[pair[1].1];
                errors.push(
                    Issue::new(
                        IssueCode::DuplicateInput,
                        format!(
                            "edges {} and {} both feed input `{}` of node `{}`",
                            pair[0].1, pair[1].1, edge.target_port, edge.target
                        ),
                    )
                    .at_node(&edge.target)
                    .at_edge(pair[1].1),
                );
            }
        }
    }

    // Inputs and params. An edge feeds a declared input exactly when it
    // resolved to the first declared input of that name.
    let first_input: Vec<Vec<usize>> = table
        .iter()
        .map(|r| match r {
            Resolution::Found { signature, .. } => first_of_each_name(&signature.inputs),
            _ => Vec::new(),
        })
        .collect();
    for (i, node) in nodes.iter().enumerate() {
        // A node whose id another node owns is already an error; its inputs
        // cannot be told apart from the owner's.
        let Some((at, sig)) = resolved[i].zip(signature_of(i)).filter(|_| in_graph[i]) else {
            continue;
        };
        let into = incoming.get(i);
        let bound = |name: &str| into.iter().any(|&k| edges[k].target_port == name);
        let fed = |j: usize| {
            into.iter()
                .any(|&k| ends[k].input == InputPort::Declared(j))
        };
        for (j, input) in sig.inputs.iter().enumerate() {
            if input.required
                && input.default.is_none()
                && !node.params.contains_key(&input.name)
                && !fed(first_input[at][j])
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
    // Self-loops are already errors and stay out of the graph.
    let successors = Packed::new(
        n,
        ends.iter().filter_map(|e| match (e.source, e.target) {
            (Some(s), Some(t)) if s != t => Some((s, t)),
            _ => None,
        }),
    );
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

    // Valid: every node owns its id, is resolved, and has a level; every
    // edge has both ends and resolved ports.
    let names: Vec<Option<SharedNames>> = table
        .iter()
        .zip(&table_ids)
        .map(|(r, &skill_id)| match r {
            Resolution::Found { signature, .. } => Some(SharedNames {
                skill_id: shared.get(skill_id),
                inputs: signature
                    .inputs
                    .iter()
                    .map(|p| shared.get(&p.name))
                    .collect(),
                outputs: signature
                    .outputs
                    .iter()
                    .map(|p| shared.get(&p.name))
                    .collect(),
            }),
            _ => None,
        })
        .collect();
    let names_of = |i: usize| {
        resolved[i]
            .and_then(|at| names[at].as_ref())
            .expect("a valid workflow resolves every node")
    };
    let planned: Vec<PlannedNode> = nodes
        .iter()
        .zip(&resolved)
        .enumerate()
        .map(|(i, (node, r))| {
            let Some(Resolution::Found {
                signature, commit, ..
            }) = r.map(|at| &table[at])
            else {
                unreachable!("a valid workflow resolves every node")
            };
            PlannedNode {
                id: Arc::from(node.id.as_str()),
                skill_id: Arc::clone(&names_of(i).skill_id),
                placement: signature
                    .placement_for(node.placement)
                    .unwrap_or_else(|own| own),
                signature: Arc::clone(signature),
                commit: Arc::clone(commit),
                level: level_of[i].expect("a valid workflow has no cycle"),
                params: node.params.clone(),
            }
        })
        .collect();
    let bindings = incoming
        .items
        .iter()
        .map(|&k| {
            let ends = ends[k];
            let source = ends.source.expect("a valid workflow's edges have sources");
            let target = ends.target.expect("edges are grouped by their target");
            let output = ends.output.expect("a valid workflow's edges have outputs");
            Binding {
                port: match ends.input {
                    InputPort::Declared(j) => Arc::clone(&names_of(target).inputs[j]),
                    InputPort::Extra => shared.get(&edges[k].target_port),
                    InputPort::Unresolved => {
                        unreachable!("a valid workflow's edges have inputs")
                    }
                },
                source,
                source_port: Arc::clone(&names_of(source).outputs[output]),
            }
        })
        .collect();
    let mut dependents = Vec::with_capacity(successors.items.len());
    let mut dependent_start = Vec::with_capacity(n + 1);
    for s in 0..n {
        dependent_start.push(dependents.len());
        let from = dependents.len();
        dependents.extend_from_slice(successors.get(s));
        dependents[from..].sort_unstable();
        let mut kept = from;
        for j in from..dependents.len() {
            if j == from || dependents[j] != dependents[kept - 1] {
                dependents[kept] = dependents[j];
                kept += 1;
            }
        }
        dependents.truncate(kept);
    }
    dependent_start.push(dependents.len());
    let plan = WorkflowPlan {
        workflow_id: workflow.id.clone(),
        index: IdIndex::of_distinct(&planned),
        nodes: planned,
        levels: by_level,
        bindings,
        binding_start: incoming.start,
        dependents,
        dependent_start,
    };
    (report, Some(plan))
}

/// Whether the node's skill can run where the node asks: a compiled skill
/// needs a component built from its current source, and a `where` must
/// name a place the skill runs in. A compiled skill with no usable
/// component reports only that, since building it makes either place
/// valid.
fn runnability(node: &super::format::Node, sig: &SkillSignature) -> Option<Issue> {
    let id = &sig.skill_id;
    let how = format!("build it with `llmos skills build {id}` or `POST /skills/{id}/build`");
    let issue = if sig.compiled {
        match &sig.component {
            None => Issue::new(
                IssueCode::ComponentNotBuilt,
                format!(
                    "node `{}`: skill `{id}` runs only as a compiled component, and none is built; {how}",
                    node.id
                ),
            ),
            Some(c) if !c.fresh => Issue::new(
                IssueCode::ComponentStale,
                format!(
                    "node `{}`: the component of skill `{id}` (sha256 {}) was built from another version of the skill file; {how} again",
                    node.id, c.sha256
                ),
            ),
            Some(_) => return None,
        }
    } else {
        let requested = node.placement?;
        let own = sig.placement_for(Some(requested)).err()?;
        Issue::new(
            IssueCode::PlacementUnsupported,
            format!(
                "node `{}`: skill `{id}` runs only {}, not {} (`where`: `{}`); only compiled skills with a built component run in either place",
                node.id,
                own.phrase(),
                requested.phrase(),
                requested.as_str()
            ),
        )
    };
    Some(issue.at_node(&node.id))
}

/// Whether a handful of edges into one node all feed distinct declared
/// inputs, so that no two feed the same one; decided on port indices,
/// without comparing names. Longer lists, undeclared ports and repeated
/// indices take the general path, which reports the duplicates.
fn feed_distinct_declared_inputs(into: &[usize], ends: &[EdgeEnds]) -> bool {
    // A skill has a few inputs; more edges than this into one node is
    // either a node with extra inputs or a duplicate.
    const FEW: usize = 8;
    into.len() <= FEW
        && into.iter().enumerate().all(|(a, &k)| match ends[k].input {
            InputPort::Declared(j) => into[..a]
                .iter()
                .all(|&earlier| ends[earlier].input != InputPort::Declared(j)),
            _ => false,
        })
}

/// For each port, the index of the first port of the same name (itself,
/// unless a signature repeats a name): the index a name resolves to.
fn first_of_each_name(ports: &[crate::types::PortSpec]) -> Vec<usize> {
    ports
        .iter()
        .enumerate()
        .map(|(j, p)| {
            ports[..j]
                .iter()
                .position(|q| q.name == p.name)
                .unwrap_or(j)
        })
        .collect()
}

fn port_list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let list: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    if list.is_empty() {
        "none".to_owned()
    } else {
        list.join(", ")
    }
}

/// Longest-path levels of the nodes in the graph; when some nodes are left
/// on or behind cycles, one concrete cycle per strongly connected component
/// instead (its nodes in order, starting from its first node in file order).
fn levels(successors: &Packed<usize>, in_graph: &[bool]) -> (Vec<Option<usize>>, Vec<Vec<usize>>) {
    let n = in_graph.len();
    let mut indegree = vec![0usize; n];
    for &t in &successors.items {
        indegree[t] += 1;
    }
    let mut level: Vec<Option<usize>> = vec![None; n];
    let mut queue: Vec<usize> = (0..n)
        .filter(|&i| in_graph[i] && indegree[i] == 0)
        .collect();
    let mut depth = vec![0usize; n];
    let mut head = 0;
    while head < queue.len() {
        let v = queue[head];
        head += 1;
        level[v] = Some(depth[v]);
        for &t in successors.get(v) {
            depth[t] = depth[t].max(depth[v] + 1);
            indegree[t] -= 1;
            if indegree[t] == 0 {
                queue.push(t);
            }
        }
    }
    let total = in_graph.iter().filter(|&&g| g).count();
    if queue.len() == total {
        return (level, Vec::new());
    }

    // Nodes with a remaining in-degree are on a cycle or downstream of one;
    // the strongly connected components among them with more than one node
    // hold the cycles.
    let left: Vec<usize> = (0..n)
        .filter(|&i| in_graph[i] && level[i].is_none())
        .collect();
    let mut graph = DiGraph::<usize, ()>::with_capacity(left.len(), left.len());
    let mut at: HashMap<usize, NodeIndex> = HashMap::with_capacity(left.len());
    for &v in &left {
        at.insert(v, graph.add_node(v));
    }
    for &v in &left {
        for &t in successors.get(v) {
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
fn cycle_through(successors: &Packed<usize>, members: &[usize]) -> Vec<usize> {
    let start = *members.iter().min().expect("a component has members");
    let inside: std::collections::HashSet<usize> = members.iter().copied().collect();
    let mut parent: HashMap<usize, usize> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for &t in successors.get(v) {
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
            if inside.contains(&t) && !parent.contains_key(&t) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{ExecutionMode, PortSpec, PortType, Runtime};
    use crate::workflow::{Catalog, Edge, Node};

    /// `source` → `y`; `twice` declares input `a` twice (number, then any).
    fn catalog() -> Catalog {
        let skill = |id: &str, inputs| SkillSignature {
            skill_id: id.into(),
            runtime: Runtime::WasmComponent,
            execution_mode: ExecutionMode::EdgeWasm,
            inputs,
            outputs: vec![PortSpec::new("y", PortType::Number)],
            extra_inputs: None,
            commit: "c1".into(),
            compiled: false,
            component: None,
        };
        [
            skill("source", vec![]),
            skill(
                "twice",
                vec![
                    PortSpec::new("a", PortType::Number),
                    PortSpec::new("a", PortType::Any),
                ],
            ),
        ]
        .into_iter()
        .collect()
    }

    fn workflow(nodes: &[(&str, &str)], edges: &[(&str, &str, &str, &str)]) -> Workflow {
        Workflow {
            id: "w".into(),
            nodes: nodes
                .iter()
                .map(|&(id, skill)| Node {
                    id: id.into(),
                    skill_id: skill.into(),
                    ..Node::default()
                })
                .collect(),
            edges: edges
                .iter()
                .map(|&(source, source_port, target, target_port)| Edge {
                    source: source.into(),
                    source_port: source_port.into(),
                    target: target.into(),
                    target_port: target_port.into(),
                    ..Edge::default()
                })
                .collect(),
            ..Workflow::default()
        }
    }

    fn codes(report: &ValidationReport) -> Vec<IssueCode> {
        report.errors.iter().map(|i| i.code).collect()
    }

    #[test]
    fn one_edge_feeds_every_declared_input_of_its_name() {
        let wf = workflow(&[("s", "source"), ("t", "twice")], &[("s", "y", "t", "a")]);
        let (report, plan) = analyze(&wf, &catalog(), Limits::STORED);
        assert_eq!(codes(&report), []);
        let plan = plan.expect("valid");
        let t = plan.index_of("t").expect("planned");
        assert_eq!(&*plan.inputs(t)[0].port, "a");
    }

    #[test]
    fn a_second_edge_into_a_repeated_input_name_is_a_duplicate() {
        let wf = workflow(
            &[("s", "source"), ("r", "source"), ("t", "twice")],
            &[("s", "y", "t", "a"), ("r", "y", "t", "a")],
        );
        let report = analyze(&wf, &catalog(), Limits::STORED).0;
        assert_eq!(codes(&report), [IssueCode::DuplicateInput]);
        assert_eq!(report.errors[0].edge, Some(1));
    }

    #[test]
    fn extra_inputs_are_bound_and_checked_by_name() {
        let catalog = catalog();
        let math = |id: &str, expression: &str| Node {
            id: id.into(),
            skill_id: builtin::MATH.into(),
            params: [("expression".to_owned(), expression.into())]
                .into_iter()
                .collect(),
            ..Node::default()
        };
        let mut wf = workflow(
            &[("s", "source"), ("r", "source")],
            &[("s", "y", "m", "x"), ("r", "y", "m", "z")],
        );
        wf.nodes.push(math("m", "x + z"));
        let (report, plan) = analyze(&wf, &catalog, Limits::STORED);
        assert_eq!(codes(&report), []);
        let plan = plan.expect("valid");
        let m = plan.index_of("m").expect("planned");
        let ports: Vec<&str> = plan.inputs(m).iter().map(|b| &*b.port).collect();
        assert_eq!(ports, ["x", "z"]);

        wf.edges[1].target_port = "x".into();
        let report = analyze(&wf, &catalog, Limits::STORED).0;
        assert_eq!(
            codes(&report),
            [IssueCode::DuplicateInput, IssueCode::MissingInput]
        );
    }

    #[test]
    fn plan_finds_nodes_by_id_and_nothing_else() {
        let wf = workflow(&[("s", "source"), ("t", "twice")], &[("s", "y", "t", "a")]);
        let plan = analyze(&wf, &catalog(), Limits::STORED).1.expect("valid");
        assert_eq!(plan.index_of("s"), Some(0));
        assert_eq!(plan.index_of("t"), Some(1));
        assert_eq!(plan.index_of("u"), None);
        assert_eq!(plan.index_of(""), None);
    }
}
