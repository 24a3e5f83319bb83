//! Running the workflow from the page, with the engine shared with the
//! edge ([`llmos_core::workflow::Execution`]):
//!
//! 1. plan the graph against the known skills (an invalid graph is
//!    refused with the engine's messages);
//! 2. when the plan has nodes only the edge can run (`edge-wasm` skills)
//!    and the workflow is saved unchanged, `POST /workflows/{id}/execute`
//!    runs the stored workflow at the edge first, and the browser resumes
//!    from the edge's report;
//! 3. level by level: built-in nodes run here through the engine's own
//!    executor, nodes of compiled skills run their component in the
//!    component worker (the edge's runtime and limits, so the same
//!    outputs), every other node goes to a browser runtime ([`runner`]),
//!    all nodes of a level at once; each result updates the canvas and the
//!    run panel as it arrives, and a failure skips only its descendants;
//! 4. Stop terminates the running nodes' workers and ends the run;
//! 5. the report goes to `POST /workflows/runs`, which records the trace.

pub mod runner;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use futures::channel::oneshot;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use llmos_core::types::Runtime;
use llmos_core::workflow::{
    BuiltinExecutor, Execution, JsonMap, NodeCall, NodeError, NodeExecutor, NodeStatus, Placement,
    RunReport, RunStatus, WorkflowPlan,
};
use serde_json::{Value, json};
use sycamore::prelude::*;

use crate::api;
use crate::catalog::SkillIndex;
use crate::state::{AppState, NoticeKind, SideTab, now_ms};
use runner::{ComponentRequest, ComponentSource, RunRequest};

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RunPhase {
    #[default]
    Idle,
    /// The graph is invalid; nothing ran.
    Refused,
    Running,
    Done,
    Failed,
    Stopped,
}

impl RunPhase {
    pub fn label(self) -> &'static str {
        match self {
            RunPhase::Idle => "not run",
            RunPhase::Refused => "not valid",
            RunPhase::Running => "running",
            RunPhase::Done => "done",
            RunPhase::Failed => "failed",
            RunPhase::Stopped => "stopped",
        }
    }
}

/// What one node did in the current run, as the page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRunView {
    pub status: NodeStatus,
    pub placement: Placement,
    pub level: usize,
    pub duration_ms: Option<f64>,
    pub error: Option<String>,
    pub outputs: JsonMap,
    /// What the skill's code printed (`print`, `console.log`).
    pub log: String,
    /// For a compiled skill: the SHA-256 of the component it ran.
    pub component: Option<String>,
    /// For a compiled skill run here: the interpreter fuel it used.
    pub fuel: Option<u64>,
}

/// The current (or last) run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunView {
    pub phase: RunPhase,
    pub nodes: HashMap<String, NodeRunView>,
    /// Node ids in plan order (level by level).
    pub order: Vec<String>,
    pub duration_ms: Option<f64>,
    /// Validation errors of a refused run.
    pub errors: Vec<String>,
    /// What else happened: edge execution, the recorded trace.
    pub notes: Vec<String>,
    pub trace_id: Option<String>,
}

impl RunView {
    pub fn count(&self, status: NodeStatus) -> usize {
        self.nodes.values().filter(|n| n.status == status).count()
    }
}

/// Longest stretch of synchronous node runs before the page gets a frame.
const YIELD_AFTER_MS: f64 = 30.0;

/// Waits for the browser's next task (after rendering and input).
async fn yield_to_browser() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

thread_local! {
    /// Ends the current run when fired (the Stop button).
    static STOP: RefCell<Option<oneshot::Sender<()>>> = const { RefCell::new(None) };
}

/// A view change of one node.
type Change = (String, NodeRunView);

fn view_of(plan: &WorkflowPlan, i: usize, status: NodeStatus, placement: Placement) -> NodeRunView {
    NodeRunView {
        status,
        placement,
        level: plan.nodes[i].level,
        duration_ms: None,
        error: None,
        outputs: JsonMap::new(),
        log: String::new(),
        component: None,
        fuel: None,
    }
}

/// What a node run in a browser runtime produced.
struct Ran {
    outputs: JsonMap,
    log: String,
    component: Option<String>,
    fuel: Option<u64>,
}

/// A browser runtime's result for a node: its outputs, or its error and
/// what it logged before failing.
type RanResult = Result<Ran, (NodeError, String)>;

/// Runs node `node`'s component, or fails it when its skill has no
/// runnable component (validation refuses such workflows first; this is
/// the last guard).
fn component_request(
    node: &llmos_core::workflow::PlannedNode,
    volume: Option<String>,
    inputs: JsonMap,
) -> Result<ComponentRequest, NodeError> {
    let sig = &node.signature;
    let Some(component) = sig.component.as_ref() else {
        return Err(NodeError::new(
            "component-not-built",
            format!(
                "skill `{}` runs only as a compiled component, and none is built",
                node.skill_id
            ),
        ));
    };
    if !component.fresh {
        return Err(NodeError::new(
            "component-stale",
            format!(
                "the component of skill `{}` was built from another version of the skill file",
                node.skill_id
            ),
        ));
    }
    Ok(ComponentRequest {
        node_id: node.id.to_string(),
        skill_id: node.skill_id.to_string(),
        sha256: Some(component.sha256.clone()),
        source: ComponentSource::Fetch {
            volume,
            commit: Some(node.commit.to_string()).filter(|c| !c.is_empty()),
        },
        inputs,
        ports: Some((sig.inputs.clone(), sig.outputs.clone())),
        limits: None,
    })
}

/// The view of node `i` after it finished (done or failed), plus the
/// descendants its failure skipped.
fn finished_views(
    exec: &Execution<Rc<WorkflowPlan>>,
    i: usize,
    outputs: Option<JsonMap>,
    error: Option<String>,
    duration_ms: Option<f64>,
) -> Vec<Change> {
    let plan = exec.plan();
    let status = exec.status(i);
    let mut view = view_of(plan, i, status, Placement::Browser);
    view.duration_ms = duration_ms;
    if status == NodeStatus::Done {
        view.outputs = outputs.unwrap_or_default();
    } else {
        // Outputs that broke the skill's signature fail in `finish`; only
        // the report knows that message.
        view.error = error.or_else(|| {
            exec.report()
                .nodes
                .get(&*plan.nodes[i].id)
                .and_then(|n| n.error.clone())
        });
    }
    let mut changes = vec![(plan.nodes[i].id.to_string(), view)];
    if status == NodeStatus::Failed {
        let mut stack = vec![i];
        let mut seen = vec![false; plan.nodes.len()];
        while let Some(v) = stack.pop() {
            for &d in plan.dependents(v) {
                if !seen[d] && exec.status(d) == NodeStatus::Skipped {
                    seen[d] = true;
                    let mut skipped =
                        view_of(plan, d, NodeStatus::Skipped, plan.nodes[d].placement);
                    skipped.error = Some(format!(
                        "skipped: upstream node `{}` failed",
                        plan.nodes[i].id
                    ));
                    changes.push((plan.nodes[d].id.to_string(), skipped));
                    stack.push(d);
                }
            }
        }
    }
    changes
}

impl AppState {
    fn apply_run_changes(self, changes: Vec<Change>) {
        if changes.is_empty() {
            return;
        }
        self.run.update(|r| {
            for (id, view) in changes {
                r.nodes.insert(id, view);
            }
        });
    }

    fn run_note(self, note: String) {
        self.run.update(|r| r.notes.push(note));
    }

    pub fn is_running(self) -> bool {
        self.run.with(|r| r.phase == RunPhase::Running)
    }

    /// Runs the workflow on the canvas.
    pub fn start_run(self) {
        if self.run.with_untracked(|r| r.phase == RunPhase::Running) {
            return;
        }
        let workflow = self.graph.with_untracked(|g| g.workflow().clone());
        if workflow.nodes.is_empty() {
            self.notify(NoticeKind::Info, "Add nodes to the canvas first.");
            return;
        }
        let skills = self.skills.get_clone_untracked();
        self.show_side(SideTab::Run);
        let plan = match llmos_core::workflow::plan(&workflow, skills.catalog()) {
            Ok((plan, _)) => Rc::new(plan),
            Err(report) => {
                let errors: Vec<String> = report.errors.iter().map(|e| e.message.clone()).collect();
                self.error(format!(
                    "The workflow is not valid ({} error(s)); nothing ran.",
                    errors.len()
                ));
                self.run.set(RunView {
                    phase: RunPhase::Refused,
                    errors,
                    ..RunView::default()
                });
                return;
            }
        };
        let stored = self.saved.with_untracked(|s| s.stored) && !untrack(|| self.is_dirty());
        self.spawn(self.drive(plan, skills, stored));
    }

    /// Stops the current run.
    pub fn stop_run(self) {
        STOP.with(|s| {
            if let Some(tx) = s.borrow_mut().take() {
                let _ = tx.send(());
            }
        });
    }

    async fn drive(self, plan: Rc<WorkflowPlan>, skills: Rc<SkillIndex>, stored: bool) {
        let (tx, rx) = oneshot::channel::<()>();
        STOP.with(|s| *s.borrow_mut() = Some(tx));
        let mut stop = rx.fuse();
        let started = now_ms();
        let started_at = String::from(js_sys::Date::new_0().to_iso_string());
        self.run.set(RunView {
            phase: RunPhase::Running,
            order: plan
                .levels
                .iter()
                .flatten()
                .map(|&i| plan.nodes[i].id.to_string())
                .collect(),
            nodes: plan
                .nodes
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    (
                        n.id.to_string(),
                        view_of(&plan, i, NodeStatus::Pending, n.placement),
                    )
                })
                .collect(),
            ..RunView::default()
        });
        let mut exec = Execution::new(Rc::clone(&plan), Placement::Browser);
        if let Some(resumed) = self.run_edge_part(&plan, stored).await {
            exec = resumed;
        }
        let runner = self.runner.get_clone_untracked();
        let mut builtin = BuiltinExecutor::default();
        let mut stopped = false;
        let mut last_yield = now_ms();
        'levels: loop {
            // Built-in levels run without awaiting anything; give the page
            // a frame now and then so the canvas shows progress and Stop
            // is heard.
            if now_ms() - last_yield > YIELD_AFTER_MS {
                yield_to_browser().await;
                last_yield = now_ms();
            }
            if (&mut stop).now_or_never().is_some() {
                stopped = true;
                break;
            }
            let ready = exec.ready();
            let Some(level) = ready.iter().map(|&i| plan.nodes[i].level).min() else {
                break;
            };
            let mut changes = Vec::new();
            let mut pending = FuturesUnordered::new();
            let mut running: Vec<(usize, f64)> = Vec::new();
            for i in ready.into_iter().filter(|&i| plan.nodes[i].level == level) {
                let node = &plan.nodes[i];
                let why_not = exec.inputs_for(i).err().map(|e| e.message);
                let inputs = match exec.start(i) {
                    Ok(Some(inputs)) => inputs,
                    Ok(None) => {
                        changes.extend(finished_views(&exec, i, None, why_not, None));
                        continue;
                    }
                    Err(e) => {
                        self.run_note(format!("node `{}`: {e}", node.id));
                        continue;
                    }
                };
                if node.signature.runtime == Runtime::Builtin {
                    let t0 = now_ms();
                    let result = builtin.execute(NodeCall {
                        node,
                        inputs: &inputs,
                    });
                    let ms = now_ms() - t0;
                    let (outputs, error) = (
                        result.as_ref().ok().cloned(),
                        result.as_ref().err().map(|e| e.message.clone()),
                    );
                    let _ = exec.finish(i, result, ms);
                    changes.extend(finished_views(&exec, i, outputs, error, Some(ms)));
                    continue;
                }
                let entry = skills.get(&node.skill_id);
                if node.signature.compiled {
                    // Wherever the plan placed it: a node the edge did not
                    // run (an unsaved workflow) runs the same component here.
                    let volume = entry.map(|e| e.volume.clone()).filter(|v| !v.is_empty());
                    let request = match component_request(node, volume, inputs) {
                        Ok(request) => request,
                        Err(err) => {
                            let message = err.message.clone();
                            let _ = exec.finish(i, Err(err), 0.0);
                            changes.extend(finished_views(
                                &exec,
                                i,
                                None,
                                Some(message),
                                Some(0.0),
                            ));
                            continue;
                        }
                    };
                    changes.push((
                        node.id.to_string(),
                        view_of(&plan, i, NodeStatus::Running, Placement::Browser),
                    ));
                    let t0 = now_ms();
                    running.push((i, t0));
                    let runner = runner.clone();
                    pending.push(
                        async move {
                            let result = match runner.run_component(request).await {
                                Ok(run) => Ok(Ran {
                                    outputs: run.outputs,
                                    log: run.log,
                                    component: Some(run.sha256),
                                    fuel: Some(run.fuel),
                                }),
                                Err(e) => {
                                    let code =
                                        e.code.clone().unwrap_or_else(|| "runtime-error".into());
                                    Err((NodeError::new(&code, e.message), e.log))
                                }
                            };
                            (i, t0, result)
                        }
                        .boxed_local(),
                    );
                    continue;
                }
                let Some(code) = entry.and_then(|e| e.code.clone()) else {
                    let err = NodeError::new(
                        "no-code",
                        format!("the code of skill `{}` is not loaded", node.skill_id),
                    );
                    let message = err.message.clone();
                    let _ = exec.finish(i, Err(err), 0.0);
                    changes.extend(finished_views(&exec, i, None, Some(message), Some(0.0)));
                    continue;
                };
                let request = RunRequest {
                    node_id: node.id.to_string(),
                    skill_id: node.skill_id.to_string(),
                    runtime: node.signature.runtime,
                    code,
                    language: entry.and_then(|e| e.language.clone()).unwrap_or_default(),
                    inputs_spec: node.signature.inputs.clone(),
                    outputs_spec: node.signature.outputs.clone(),
                    inputs,
                };
                changes.push((
                    node.id.to_string(),
                    view_of(&plan, i, NodeStatus::Running, Placement::Browser),
                ));
                let t0 = now_ms();
                running.push((i, t0));
                let runner = runner.clone();
                pending.push(
                    async move {
                        let result: RanResult = match runner.run_logged(request).await {
                            Ok(run) => Ok(Ran {
                                outputs: run.outputs,
                                log: run.log,
                                component: None,
                                fuel: None,
                            }),
                            Err(e) => {
                                let log = e.log.clone();
                                Err((NodeError::new("runtime-error", e.to_string()), log))
                            }
                        };
                        (i, t0, result)
                    }
                    .boxed_local(),
                );
            }
            self.apply_run_changes(changes);
            while !pending.is_empty() {
                futures::select! {
                    (i, t0, result) = pending.select_next_some() => {
                        let ms = now_ms() - t0;
                        running.retain(|(r, _)| *r != i);
                        let (result, log, component, fuel) = match result {
                            Ok(ran) => (Ok(ran.outputs), ran.log, ran.component, ran.fuel),
                            Err((err, log)) => (Err(err), log, None, None),
                        };
                        if !log.is_empty() {
                            exec.set_log(i, log.clone());
                        }
                        let (outputs, error) = (result.as_ref().ok().cloned(), result.as_ref().err().map(|e| e.message.clone()));
                        let _ = exec.finish(i, result, ms);
                        let mut changes = finished_views(&exec, i, outputs, error, Some(ms));
                        let view = &mut changes[0].1;
                        view.log = log;
                        view.fuel = fuel;
                        view.component = component.or_else(|| {
                            let sig = &plan.nodes[i].signature;
                            sig.component.as_ref().filter(|_| sig.compiled).map(|c| c.sha256.clone())
                        });
                        self.apply_run_changes(changes);
                    }
                    _ = stop => {
                        stopped = true;
                        let mut changes = Vec::new();
                        for (i, t0) in running.drain(..) {
                            runner.stop(&plan.nodes[i].id);
                            let ms = now_ms() - t0;
                            let _ = exec.finish(i, Err(NodeError::new("stopped", "stopped by the user")), ms);
                            changes.extend(finished_views(&exec, i, None, Some("stopped by the user".into()), Some(ms)));
                        }
                        self.apply_run_changes(changes);
                        break 'levels;
                    }
                }
            }
        }
        STOP.with(|s| *s.borrow_mut() = None);
        let duration = now_ms() - started;
        let report = exec.report();
        let phase = match (stopped, report.status) {
            (true, _) => RunPhase::Stopped,
            (false, RunStatus::Done) => RunPhase::Done,
            _ => RunPhase::Failed,
        };
        self.run.update(|r| {
            r.phase = phase;
            r.duration_ms = Some(duration);
        });
        self.record_run(report, started_at, duration, stopped).await;
    }

    /// Step 2 of the module docs: runs the stored workflow at the edge when
    /// it has edge-only nodes, and resumes from the edge's report.
    async fn run_edge_part(
        self,
        plan: &Rc<WorkflowPlan>,
        stored: bool,
    ) -> Option<Execution<Rc<WorkflowPlan>>> {
        let at_edge: Vec<_> = plan
            .nodes
            .iter()
            .filter(|n| n.placement == Placement::Edge && n.signature.runtime != Runtime::Builtin)
            .collect();
        if at_edge.is_empty() {
            return None;
        }
        if !stored {
            let compiled = at_edge.iter().filter(|n| n.signature.compiled).count();
            let others = at_edge.len() - compiled;
            if compiled > 0 {
                self.run_note(format!(
                    "{compiled} compiled node(s) placed at the edge run here instead, with the same component and limits: save the workflow to run them at the edge"
                ));
            }
            if others > 0 {
                self.run_note(format!(
                    "{others} node(s) run only at the edge: save the workflow so that the edge can run them; the browser tries them meanwhile"
                ));
            }
            return None;
        }
        let id = plan.workflow_id.clone();
        let answer = match api::execute_workflow(&id).await {
            Ok(answer) => answer,
            Err(e) => {
                self.run_note(format!("the edge could not run the workflow: {e}"));
                return None;
            }
        };
        let report: Result<RunReport, _> = serde_json::from_value(json!({
            "workflow_id": id,
            "status": answer["status"],
            "nodes": answer["nodes"],
        }));
        let resumed = report.map_err(|e| e.to_string()).and_then(|r| {
            Execution::resume(Rc::clone(plan), Placement::Browser, &r).map_err(|e| e.to_string())
        });
        match resumed {
            Ok(exec) => {
                let report = exec.report();
                let mut changes = Vec::new();
                let mut ran = 0;
                for (id, node) in &report.nodes {
                    if matches!(
                        node.status,
                        NodeStatus::Done | NodeStatus::Failed | NodeStatus::Skipped
                    ) && let Some(i) = plan.index_of(id)
                    {
                        ran += 1;
                        let mut view = view_of(plan, i, node.status, node.placement);
                        view.duration_ms = node.duration_ms;
                        view.error = node.error.clone();
                        view.outputs = node.outputs.clone();
                        view.log = node.log.clone().unwrap_or_default();
                        view.component = node.component.clone();
                        changes.push((id.clone(), view));
                    }
                }
                self.apply_run_changes(changes);
                let run_id = answer["run_id"].as_str().unwrap_or_default();
                self.run_note(format!("{ran} node(s) ran at the edge (run {run_id})"));
                Some(exec)
            }
            Err(e) => {
                self.run_note(format!("the edge's results could not be used: {e}"));
                None
            }
        }
    }

    /// Step 5: sends the report to `POST /workflows/runs`.
    async fn record_run(
        self,
        report: RunReport,
        started_at: String,
        duration_ms: f64,
        stopped: bool,
    ) {
        let (name, identity) = (
            self.graph.with_untracked(|g| g.workflow().name.clone()),
            self.identity(),
        );
        let mut body = serde_json::to_value(&report).unwrap_or(Value::Null);
        body["workflow_name"] = json!(name);
        body["where"] = json!("browser");
        body["started_at"] = json!(started_at);
        body["duration_ms"] = json!(duration_ms);
        body["stopped"] = json!(stopped);
        // Node ids in plan order: the trace's skill sequence follows it.
        body["order"] = json!(self.run.with_untracked(|r| r.order.clone()));
        // What nodes printed, for the trace (the engine's report has no
        // place for it).
        let logs: serde_json::Map<String, Value> = self.run.with_untracked(|r| {
            r.nodes
                .iter()
                .filter(|(_, n)| !n.log.is_empty())
                .map(|(id, n)| (id.clone(), json!(n.log)))
                .collect()
        });
        if !logs.is_empty() {
            body["logs"] = Value::Object(logs);
        }
        if let Some(identity) = identity {
            body["user_id"] = json!(identity.user_id);
            body["team_id"] = json!(identity.team());
        }
        match api::report_run(body).await {
            Ok(trace) => {
                self.run.update(|r| r.trace_id = Some(trace.clone()));
                self.run_note(format!("recorded as trace {trace}"));
            }
            Err(e) => self.run_note(format!("the run was not recorded: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmos_core::workflow::{Catalog, Workflow, plan};

    #[test]
    fn a_failure_skips_exactly_its_descendants_in_the_views() {
        let wf = Workflow::from_json(
            r#"{"nodes": [
              {"id": "a", "skill_id": "builtin:math", "params": {"expression": "1 / 0"}},
              {"id": "b", "skill_id": "builtin:math", "params": {"expression": "x"}},
              {"id": "c", "skill_id": "builtin:math", "params": {"expression": "x"}},
              {"id": "d", "skill_id": "builtin:constant", "params": {"value": 1}}],
              "edges": [
                {"source": "a", "source_port": "result", "target": "b", "target_port": "x"},
                {"source": "b", "source_port": "result", "target": "c", "target_port": "x"}]}"#,
        )
        .unwrap();
        let (plan, _) = plan(&wf, &Catalog::new()).unwrap();
        let plan = Rc::new(plan);
        let mut exec = Execution::new(Rc::clone(&plan), Placement::Browser);
        let mut builtin = BuiltinExecutor::default();
        let a = plan.index_of("a").unwrap();
        let inputs = exec.start(a).unwrap().unwrap();
        let result = builtin.execute(NodeCall {
            node: &plan.nodes[a],
            inputs: &inputs,
        });
        let error = result.as_ref().err().map(|e| e.message.clone());
        assert!(error.is_some());
        exec.finish(a, result, 1.5).unwrap();
        let views = finished_views(&exec, a, None, error, Some(1.5));
        let by_id: HashMap<_, _> = views.into_iter().collect();
        assert_eq!(by_id["a"].status, NodeStatus::Failed);
        assert_eq!(by_id["a"].duration_ms, Some(1.5));
        assert!(
            by_id["a"]
                .error
                .as_deref()
                .unwrap()
                .contains("division by zero")
        );
        assert_eq!(by_id["b"].status, NodeStatus::Skipped);
        assert_eq!(
            by_id["c"].error.as_deref(),
            Some("skipped: upstream node `a` failed")
        );
        assert!(!by_id.contains_key("d"), "an independent node is untouched");
        let d = plan.index_of("d").unwrap();
        assert!(exec.ready().contains(&d));
    }
}
