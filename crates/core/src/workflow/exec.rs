//! The execution engine, shared by the edge component and the browser.
//!
//! [`Execution`] is a state machine over a [`WorkflowPlan`]: it says which
//! nodes are ready, builds their inputs, and records what each node did. A
//! caller drives it: [`Execution::run`] does so synchronously (the edge
//! component), the browser does so asynchronously with [`Execution::ready`],
//! [`Execution::start`] and [`Execution::finish`] (several nodes of a level at
//! once if it likes). Skills run in pluggable [`NodeExecutor`]s; time comes
//! from a caller-supplied [`Clock`].
//!
//! # Node states
//!
//! `pending` → `running` → `done` | `failed`; a failed node marks all of its
//! descendants `skipped`, and nothing else. A node no executor here can run
//! is *deferred*: it stays `pending`, its `where` names the place it runs
//! (`browser` for Python, JavaScript, Three.js and SPICE nodes at the edge),
//! and its `inputs` hold exactly what it will receive; its descendants stay
//! `pending` with `waiting_for` naming the pending nodes they wait on. A
//! report with pending nodes has run status `pending`; whoever can run them
//! (the browser) resumes it with [`Execution::resume`], runs them, and
//! hands the report back (to the edge, or to `POST /workflows/runs`).
//!
//! # Placement
//!
//! A node runs where its plan places it (its skill's placement, or the
//! node's `where` for a compiled skill with a built component). A site
//! runs a node placed elsewhere only when it is a built-in data node,
//! which runs wherever the run is; any other node placed elsewhere is
//! deferred there, even if an executor here could run it.
//!
//! # Compiled skills
//!
//! A node of a compiled skill runs its component: the report names it
//! (`component`, the SHA-256 the node ran or will run), and a deferred
//! node also carries `component_blob`, the git blob id to fetch it by. A
//! report handed back that names another component than the plan's is
//! refused, like one that ran another skill commit. What a skill printed
//! is kept as the node's `log`.
//!
//! # Inputs
//!
//! A node's inputs are, from weakest to strongest: the declared defaults,
//! its params, the run's inputs for that node, and the values arriving by
//! edges. Params that name no input are not passed. Each value is then
//! checked against the input's type, converting numbers and booleans into
//! strings where the compatibility table allows
//! ([`compat::accept`](super::compat::accept)). A node's outputs are checked
//! too: every output an edge consumes must be present, and declared outputs
//! must match their types, so a misbehaving skill fails where it misbehaves.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::builtin::{BuiltinError, BuiltinRunner};
use super::catalog::Placement;
use super::compat::{accept, json_kind, value_matches};
use super::format::JsonMap;
use super::validate::{PlannedNode, WorkflowPlan};
use crate::types::Runtime;

/// Where a node is in its run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NodeStatus {
    Pending,
    Running,
    Done,
    Failed,
    Skipped,
}

/// The state of a whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Every node is done.
    Done,
    /// Nothing is left to run here, and some node failed.
    Failed,
    /// Some nodes are still pending or running (e.g. waiting for the
    /// browser); they have priority over failures in this summary because
    /// the run is not over.
    Pending,
}

/// What one node did in a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NodeRun {
    pub status: NodeStatus,
    pub skill_id: String,
    /// The exact skill commit the node runs (or ran).
    pub commit: String,
    /// Where the node ran, or for a pending node where it is to run.
    #[serde(rename = "where")]
    pub placement: Placement,
    /// Output values by port name (empty until the node is done).
    #[serde(default)]
    #[schema(value_type = Object, required = true)]
    pub outputs: JsonMap,
    /// Why the node failed or was skipped.
    #[serde(default)]
    #[schema(required = true)]
    pub error: Option<String>,
    /// kebab-case code of `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// How long it ran; `null` until it has.
    #[serde(default)]
    #[schema(required = true)]
    pub duration_ms: Option<f64>,
    /// For a deferred node: the inputs it receives when it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub inputs: Option<JsonMap>,
    /// For a pending node: the upstream nodes not done yet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waiting_for: Vec<String>,
    /// For a node of a compiled skill: hex SHA-256 of the component it ran
    /// (or will run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// For a deferred node of a compiled skill: the git blob id of its
    /// component, to fetch it by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_blob: Option<String>,
    /// What the skill printed or logged while it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
}

/// The record of a run: `{"workflow_id", "status", "nodes": {id: …}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunReport {
    #[serde(default)]
    #[schema(required = true)]
    pub workflow_id: String,
    pub status: RunStatus,
    /// What each node did, by node id.
    pub nodes: BTreeMap<String, NodeRun>,
    /// Wall time of the last drive of the run (set by [`Execution::run`]).
    #[serde(default)]
    #[schema(required = true)]
    pub duration_ms: Option<f64>,
}

impl RunReport {
    /// `skill_id → commits` of every node that ran (done or failed): what
    /// the run actually used.
    pub fn commits_used(&self) -> BTreeMap<String, Vec<String>> {
        let mut used: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for run in self.nodes.values() {
            if matches!(run.status, NodeStatus::Done | NodeStatus::Failed) {
                let commits = used.entry(run.skill_id.clone()).or_default();
                if !commits.contains(&run.commit) {
                    commits.push(run.commit.clone());
                    commits.sort();
                }
            }
        }
        used
    }
}

/// Why a node failed, as an executor reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct NodeError {
    /// kebab-case.
    pub code: String,
    pub message: String,
}

impl NodeError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        NodeError {
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

impl From<BuiltinError> for NodeError {
    fn from(e: BuiltinError) -> Self {
        NodeError {
            code: e.code.to_owned(),
            message: e.message,
        }
    }
}

/// Why the engine refused a request of its caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    #[error("node `{0}` is not in the workflow")]
    UnknownNode(String),
    #[error("node `{node}` has no input `{port}`")]
    UnknownInput { node: String, port: String },
    #[error("run inputs for node `{0}` must be an object of input values")]
    NotAnObject(String),
    #[error(
        "node `{node}` ran skill commit `{found}`, but the workflow now resolves to `{expected}`"
    )]
    CommitMismatch {
        node: String,
        expected: String,
        found: String,
    },
    #[error("node `{node}` ran component `{found}`, but its skill's component is now `{expected}`")]
    ComponentMismatch {
        node: String,
        expected: String,
        found: String,
    },
    #[error("node `{node}` is reported done, but its upstream node `{upstream}` is not")]
    Inconsistent { node: String, upstream: String },
    #[error("node `{node}` is not running: it is {status:?}")]
    NotRunning { node: String, status: NodeStatus },
    #[error("node `{node}` is not ready: it is {status:?}{why}")]
    NotReady {
        node: String,
        status: NodeStatus,
        why: &'static str,
    },
}

/// A node to run, as an executor sees it.
#[derive(Debug, Clone, Copy)]
pub struct NodeCall<'a> {
    /// The node: id, skill signature, exact commit, params.
    pub node: &'a PlannedNode,
    /// The merged, type-checked inputs.
    pub inputs: &'a JsonMap,
}

/// Runs skills of some runtimes: compiled components at the edge, Pyodide
/// or JavaScript in the browser, the built-in nodes anywhere.
pub trait NodeExecutor {
    /// Whether this executor runs the node's skill here.
    fn can_execute(&self, node: &PlannedNode) -> bool;

    /// Runs the node on its inputs and returns its outputs by port name.
    fn execute(&mut self, call: NodeCall<'_>) -> Result<JsonMap, NodeError>;

    /// What the skill of the latest [`execute`](Self::execute) printed or
    /// logged, taken once; `None` when it logged nothing or the executor
    /// keeps no logs.
    fn take_log(&mut self) -> Option<String> {
        None
    }
}

/// A monotonic clock in milliseconds: `performance.now()` in the browser,
/// `Instant` in a component. The engine never reads time by itself.
pub trait Clock {
    fn now_ms(&self) -> f64;
}

/// A clock that only moves when told to: for tests and for callers that
/// do not care about durations.
#[derive(Debug, Default)]
pub struct ManualClock {
    now: std::cell::Cell<f64>,
    step: f64,
}

impl ManualClock {
    /// A clock standing at 0 that moves `step_ms` on every reading.
    pub fn stepping(step_ms: f64) -> Self {
        ManualClock {
            now: std::cell::Cell::new(0.0),
            step: step_ms,
        }
    }

    pub fn advance(&self, ms: f64) {
        self.now.set(self.now.get() + ms);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> f64 {
        let t = self.now.get();
        self.now.set(t + self.step);
        t
    }
}

/// Runs the built-in data nodes.
#[derive(Debug, Default)]
pub struct BuiltinExecutor {
    runner: BuiltinRunner,
}

impl NodeExecutor for BuiltinExecutor {
    fn can_execute(&self, node: &PlannedNode) -> bool {
        node.signature.runtime == Runtime::Builtin
    }

    fn execute(&mut self, call: NodeCall<'_>) -> Result<JsonMap, NodeError> {
        Ok(self.runner.run(&call.node.skill_id, call.inputs)?)
    }
}

/// Executors tried in order; the built-in one comes first.
pub struct Executors {
    list: Vec<Box<dyn NodeExecutor>>,
    /// The executor of the latest call, whose log [`NodeExecutor::take_log`]
    /// hands on.
    last: Option<usize>,
}

impl Executors {
    /// Only the built-in nodes.
    pub fn builtin() -> Self {
        Executors {
            list: vec![Box::new(BuiltinExecutor::default())],
            last: None,
        }
    }

    /// Adds an executor, tried after those already present.
    pub fn with(mut self, executor: Box<dyn NodeExecutor>) -> Self {
        self.list.push(executor);
        self
    }
}

impl Default for Executors {
    fn default() -> Self {
        Executors::builtin()
    }
}

impl fmt::Debug for Executors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executors")
            .field("count", &self.list.len())
            .finish()
    }
}

impl NodeExecutor for Executors {
    fn can_execute(&self, node: &PlannedNode) -> bool {
        self.list.iter().any(|e| e.can_execute(node))
    }

    fn execute(&mut self, call: NodeCall<'_>) -> Result<JsonMap, NodeError> {
        self.last = self.list.iter().position(|e| e.can_execute(call.node));
        match self.last.map(|at| &mut self.list[at]) {
            Some(e) => e.execute(call),
            None => Err(NodeError::new(
                "no-executor",
                format!(
                    "no executor runs `{}` skills here",
                    call.node.signature.runtime
                ),
            )),
        }
    }

    fn take_log(&mut self) -> Option<String> {
        let at = self.last.take()?;
        self.list[at].take_log()
    }
}

#[derive(Debug, Clone)]
struct State {
    status: NodeStatus,
    placement: Placement,
    outputs: JsonMap,
    error: Option<(String, String)>,
    duration_ms: Option<f64>,
    /// Set when the node was deferred to another place.
    deferred_inputs: Option<JsonMap>,
    log: Option<String>,
}

/// One run of a planned workflow.
///
/// It holds the plan through any cloneable pointer `P`: `&WorkflowPlan` in
/// a request handler, `Rc<WorkflowPlan>` or `Arc<WorkflowPlan>` where the run
/// outlives the call that planned it (a browser run awaiting Pyodide).
#[derive(Debug, Clone)]
pub struct Execution<P: Deref<Target = WorkflowPlan> + Clone> {
    plan: P,
    site: Placement,
    states: Vec<State>,
    run_inputs: Vec<Option<JsonMap>>,
    duration_ms: Option<f64>,
}

impl<P: Deref<Target = WorkflowPlan> + Clone> Execution<P> {
    /// A fresh run at `site` (`Edge` in the component, `Browser` in the
    /// page): every node pending.
    pub fn new(plan: P, site: Placement) -> Self {
        let states = plan
            .nodes
            .iter()
            .map(|n| State {
                status: NodeStatus::Pending,
                placement: n.placement,
                outputs: JsonMap::new(),
                error: None,
                duration_ms: None,
                deferred_inputs: None,
                log: None,
            })
            .collect();
        Execution {
            run_inputs: vec![None; plan.nodes.len()],
            plan,
            site,
            states,
            duration_ms: None,
        }
    }

    /// Continues a run from a report: done and failed nodes keep their
    /// results (e.g. outputs the browser produced), descendants of failed
    /// nodes are skipped, and everything else is pending again here.
    ///
    /// Refused when a done node ran another skill commit than the plan
    /// resolves to (the workflow or a skill changed since), or is done
    /// while an upstream node is not. Nodes the report does not know are
    /// pending; nodes the plan does not know are refused. Reported outputs
    /// are checked like fresh ones: a done node whose outputs break its
    /// signature becomes failed.
    pub fn resume(plan: P, site: Placement, report: &RunReport) -> Result<Self, ExecError> {
        let mut run = Execution::new(plan.clone(), site);
        let plan = &*plan;
        for (id, prior) in &report.nodes {
            let i = plan
                .index_of(id)
                .ok_or_else(|| ExecError::UnknownNode(id.clone()))?;
            let node = &plan.nodes[i];
            if !matches!(prior.status, NodeStatus::Done | NodeStatus::Failed) {
                continue;
            }
            if *prior.commit != *node.commit {
                return Err(ExecError::CommitMismatch {
                    node: id.clone(),
                    expected: node.commit.to_string(),
                    found: prior.commit.clone(),
                });
            }
            if let Some(found) = &prior.component {
                let expected = node.signature.component.as_ref().map(|c| c.sha256.as_str());
                if expected != Some(found.as_str()) {
                    return Err(ExecError::ComponentMismatch {
                        node: id.clone(),
                        expected: expected.unwrap_or("none").to_owned(),
                        found: found.clone(),
                    });
                }
            }
            let state = &mut run.states[i];
            state.log = prior.log.clone();
            state.status = prior.status;
            state.placement = prior.placement;
            state.outputs = prior.outputs.clone();
            state.duration_ms = prior.duration_ms;
            state.error = prior.error.as_ref().map(|e| {
                (
                    prior
                        .error_code
                        .clone()
                        .unwrap_or_else(|| "failed".to_owned()),
                    e.clone(),
                )
            });
        }
        for (i, node) in plan.nodes.iter().enumerate() {
            if run.states[i].status == NodeStatus::Pending {
                continue;
            }
            if let Some(b) = plan
                .inputs(i)
                .iter()
                .find(|b| run.states[b.source].status != NodeStatus::Done)
            {
                return Err(ExecError::Inconsistent {
                    node: node.id.to_string(),
                    upstream: plan.nodes[b.source].id.to_string(),
                });
            }
        }
        for i in 0..plan.nodes.len() {
            if run.states[i].status == NodeStatus::Done {
                let outputs = std::mem::take(&mut run.states[i].outputs);
                match run.check_outputs(i, outputs) {
                    Ok(outputs) => run.states[i].outputs = outputs,
                    Err(e) => {
                        let s = &mut run.states[i];
                        s.status = NodeStatus::Failed;
                        s.error = Some((e.code, e.message));
                    }
                }
            }
        }
        for i in 0..plan.nodes.len() {
            if run.states[i].status == NodeStatus::Failed {
                run.skip_descendants(i);
            }
        }
        Ok(run)
    }

    /// Sets the run's inputs: `{node_id: {input: value}}`, overriding the
    /// nodes' params (edges still win).
    pub fn set_inputs(&mut self, inputs: &JsonMap) -> Result<(), ExecError> {
        for (id, values) in inputs {
            let i = self
                .plan
                .index_of(id)
                .ok_or_else(|| ExecError::UnknownNode(id.clone()))?;
            let Value::Object(values) = values else {
                return Err(ExecError::NotAnObject(id.clone()));
            };
            let sig = &self.plan.nodes[i].signature;
            if let Some(port) = values.keys().find(|p| sig.input_type(p).is_none()) {
                return Err(ExecError::UnknownInput {
                    node: id.clone(),
                    port: port.clone(),
                });
            }
            self.run_inputs[i] = Some(values.clone());
        }
        Ok(())
    }

    pub fn plan(&self) -> &WorkflowPlan {
        &self.plan
    }

    /// The status of the node with this index.
    pub fn status(&self, index: usize) -> NodeStatus {
        self.states[index].status
    }

    /// Pending, not deferred nodes whose upstream nodes are all done, in
    /// plan order (level by level, file order within a level). They may run
    /// concurrently.
    pub fn ready(&self) -> Vec<usize> {
        self.plan
            .levels
            .iter()
            .flatten()
            .copied()
            .filter(|&i| self.is_ready(i))
            .collect()
    }

    fn is_ready(&self, i: usize) -> bool {
        let s = &self.states[i];
        s.status == NodeStatus::Pending
            && s.deferred_inputs.is_none()
            && self
                .plan
                .inputs(i)
                .iter()
                .all(|b| self.states[b.source].status == NodeStatus::Done)
    }

    /// The inputs node `i` receives (see the module docs), or why they
    /// cannot be built. Meaningful once its upstream nodes are done.
    pub fn inputs_for(&self, i: usize) -> Result<JsonMap, NodeError> {
        let node = &self.plan.nodes[i];
        let sig = &node.signature;
        let mut inputs = JsonMap::new();
        for p in &sig.inputs {
            if let Some(d) = &p.default {
                inputs.insert(p.name.clone(), d.clone());
            }
        }
        for (name, value) in node
            .params
            .iter()
            .chain(self.run_inputs[i].iter().flatten())
        {
            if sig.input_type(name).is_some() {
                inputs.insert(name.clone(), value.clone());
            }
        }
        for b in self.plan.inputs(i) {
            let source = &self.plan.nodes[b.source];
            let value = self.states[b.source]
                .outputs
                .get(&*b.source_port)
                .ok_or_else(|| {
                    NodeError::new(
                        "missing-input",
                        format!(
                            "input `{}`: node `{}` produced no output `{}`",
                            b.port, source.id, b.source_port
                        ),
                    )
                })?;
            inputs.insert(b.port.to_string(), value.clone());
        }
        for p in &sig.inputs {
            if p.required && !inputs.contains_key(&p.name) {
                return Err(NodeError::new(
                    "missing-input",
                    format!("required input `{}` has no value", p.name),
                ));
            }
        }
        for (name, value) in inputs.iter_mut() {
            let ty = sig
                .input_type(name)
                .expect("only inputs of the signature were inserted");
            let taken = std::mem::take(value);
            *value = accept(ty, taken).map_err(|why| {
                NodeError::new("input-type-mismatch", format!("input `{name}` {why}"))
            })?;
        }
        Ok(inputs)
    }

    /// Marks a ready node running and returns its inputs. A node whose
    /// inputs cannot be built (a value of the wrong type, say) fails at once
    /// and `None` is returned.
    pub fn start(&mut self, i: usize) -> Result<Option<JsonMap>, ExecError> {
        if !self.is_ready(i) {
            return Err(self.not_ready(i));
        }
        match self.inputs_for(i) {
            Ok(inputs) => {
                let s = &mut self.states[i];
                s.status = NodeStatus::Running;
                s.placement = self.site;
                Ok(Some(inputs))
            }
            Err(e) => {
                self.fail(i, e, None);
                Ok(None)
            }
        }
    }

    /// Keeps what node `i`'s skill printed or logged, for its report.
    pub fn set_log(&mut self, i: usize, log: String) {
        self.states[i].log = Some(log);
    }

    /// Records the result of a running node. Outputs are checked: every
    /// output an edge consumes must be there, and declared outputs must
    /// match their type; a failure skips the node's descendants.
    pub fn finish(
        &mut self,
        i: usize,
        result: Result<JsonMap, NodeError>,
        duration_ms: f64,
    ) -> Result<(), ExecError> {
        if self.states[i].status != NodeStatus::Running {
            return Err(ExecError::NotRunning {
                node: self.plan.nodes[i].id.to_string(),
                status: self.states[i].status,
            });
        }
        match result.and_then(|outputs| self.check_outputs(i, outputs)) {
            Ok(outputs) => {
                let s = &mut self.states[i];
                s.status = NodeStatus::Done;
                s.outputs = outputs;
                s.duration_ms = Some(duration_ms);
            }
            Err(e) => self.fail(i, e, Some(duration_ms)),
        }
        Ok(())
    }

    /// Leaves a ready node pending for another place (where its skill runs)
    /// with the inputs it will receive; a node whose inputs cannot be built
    /// fails instead.
    pub fn defer(&mut self, i: usize) -> Result<(), ExecError> {
        if !self.is_ready(i) {
            return Err(self.not_ready(i));
        }
        match self.inputs_for(i) {
            Ok(inputs) => {
                let s = &mut self.states[i];
                s.placement = self.plan.nodes[i].placement;
                s.deferred_inputs = Some(inputs);
            }
            Err(e) => self.fail(i, e, None),
        }
        Ok(())
    }

    fn not_ready(&self, i: usize) -> ExecError {
        ExecError::NotReady {
            node: self.plan.nodes[i].id.to_string(),
            status: self.states[i].status,
            why: if self.states[i].status == NodeStatus::Pending {
                " and its upstream nodes are not all done, or it was deferred"
            } else {
                ""
            },
        }
    }

    fn check_outputs(&self, i: usize, outputs: JsonMap) -> Result<JsonMap, NodeError> {
        let node = &self.plan.nodes[i];
        for p in &node.signature.outputs {
            if let Some(v) = outputs.get(&p.name)
                && !value_matches(p.ty, v)
            {
                return Err(NodeError::new(
                    "output-type-mismatch",
                    format!(
                        "output `{}` should be {}, but is {}",
                        p.name,
                        p.ty,
                        json_kind(v)
                    ),
                ));
            }
        }
        for &d in self.plan.dependents(i) {
            for b in self.plan.inputs(d).iter().filter(|b| b.source == i) {
                if !outputs.contains_key(&*b.source_port) {
                    return Err(NodeError::new(
                        "missing-output",
                        format!(
                            "produced no output `{}`, which node `{}` consumes",
                            b.source_port, self.plan.nodes[d].id
                        ),
                    ));
                }
            }
        }
        Ok(outputs)
    }

    fn fail(&mut self, i: usize, e: NodeError, duration_ms: Option<f64>) {
        let s = &mut self.states[i];
        s.status = NodeStatus::Failed;
        s.placement = self.site;
        s.error = Some((e.code, e.message));
        s.duration_ms = duration_ms;
        s.deferred_inputs = None;
        self.skip_descendants(i);
    }

    fn skip_descendants(&mut self, failed: usize) {
        let plan = self.plan.clone();
        let mut stack = vec![failed];
        let failed_id = &plan.nodes[failed].id;
        while let Some(v) = stack.pop() {
            for &d in plan.dependents(v) {
                let s = &mut self.states[d];
                if s.status == NodeStatus::Skipped || s.status == NodeStatus::Done {
                    continue;
                }
                s.status = NodeStatus::Skipped;
                s.deferred_inputs = None;
                s.error = Some((
                    "upstream-failed".to_owned(),
                    format!("skipped: upstream node `{failed_id}` failed"),
                ));
                stack.push(d);
            }
        }
    }

    /// Runs every node this site can run, level by level, with `executor`;
    /// nodes it cannot run are deferred when their skill runs elsewhere and
    /// fail when it should run here. Returns the report.
    pub fn run(&mut self, executor: &mut dyn NodeExecutor, clock: &dyn Clock) -> RunReport {
        let started = clock.now_ms();
        let plan = self.plan.clone();
        let plan = &*plan;
        for level in &plan.levels {
            for &i in level {
                if !self.is_ready(i) {
                    continue;
                }
                let node = &plan.nodes[i];
                let elsewhere = node.placement != self.site;
                if elsewhere && node.signature.runtime != Runtime::Builtin {
                    self.defer(i).expect("checked ready above");
                    continue;
                }
                if !executor.can_execute(node) {
                    if elsewhere {
                        self.defer(i).expect("checked ready above");
                    } else {
                        let err = NodeError::new(
                            "no-executor",
                            format!(
                                "no executor runs `{}` skills at the {}",
                                node.signature.runtime,
                                self.site.as_str()
                            ),
                        );
                        self.fail(i, err, None);
                    }
                    continue;
                }
                let Ok(Some(inputs)) = self.start(i) else {
                    continue;
                };
                let t0 = clock.now_ms();
                let result = executor.execute(NodeCall {
                    node,
                    inputs: &inputs,
                });
                let elapsed = clock.now_ms() - t0;
                if let Some(log) = executor.take_log().filter(|l| !l.is_empty()) {
                    self.set_log(i, log);
                }
                self.finish(i, result, elapsed)
                    .expect("started above, so it is running");
            }
        }
        self.duration_ms = Some(clock.now_ms() - started);
        self.report()
    }

    /// The run as it stands.
    pub fn report(&self) -> RunReport {
        let mut nodes = BTreeMap::new();
        let mut pending = false;
        let mut failed = false;
        for (i, node) in self.plan.nodes.iter().enumerate() {
            let s = &self.states[i];
            pending |= matches!(s.status, NodeStatus::Pending | NodeStatus::Running);
            failed |= s.status == NodeStatus::Failed;
            let waiting_for = if s.status == NodeStatus::Pending {
                self.plan
                    .inputs(i)
                    .iter()
                    .map(|b| b.source)
                    .filter(|&src| self.states[src].status != NodeStatus::Done)
                    .map(|src| self.plan.nodes[src].id.to_string())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect()
            } else {
                Vec::new()
            };
            let component = node
                .signature
                .component
                .as_ref()
                .filter(|_| node.signature.compiled && s.status != NodeStatus::Skipped);
            let deferred = s.deferred_inputs.is_some();
            nodes.insert(
                node.id.to_string(),
                NodeRun {
                    status: s.status,
                    skill_id: node.skill_id.to_string(),
                    commit: node.commit.to_string(),
                    placement: s.placement,
                    outputs: s.outputs.clone(),
                    error: s.error.as_ref().map(|(_, m)| m.clone()),
                    error_code: s.error.as_ref().map(|(c, _)| c.clone()),
                    duration_ms: s.duration_ms,
                    inputs: s.deferred_inputs.clone(),
                    waiting_for,
                    component: component.map(|c| c.sha256.clone()),
                    component_blob: component.filter(|_| deferred).map(|c| c.blob.clone()),
                    log: s.log.clone(),
                },
            );
        }
        RunReport {
            workflow_id: self.plan.workflow_id.clone(),
            status: if pending {
                RunStatus::Pending
            } else if failed {
                RunStatus::Failed
            } else {
                RunStatus::Done
            },
            nodes,
            duration_ms: self.duration_ms,
        }
    }
}

/// Plans nothing, runs everything: a fresh run of `plan` at `site` with the
/// given run inputs, driven to the end by `executor`.
pub fn execute(
    plan: &WorkflowPlan,
    site: Placement,
    inputs: Option<&JsonMap>,
    executor: &mut dyn NodeExecutor,
    clock: &dyn Clock,
) -> Result<RunReport, ExecError> {
    let mut run = Execution::new(plan, site);
    if let Some(inputs) = inputs {
        run.set_inputs(inputs)?;
    }
    Ok(run.run(executor, clock))
}
