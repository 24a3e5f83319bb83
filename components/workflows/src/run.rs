//! Validation, execution at the edge, and run records.
//!
//! - `POST /workflows/validate`: every error and warning of a workflow
//!   against the caller's skills, and its plan levels.
//! - `POST /workflows/{id}/execute`: runs the stored workflow here with the
//!   engine of `llmos_core::workflow`: built-in nodes, and compiled skills
//!   placed at the edge in their components ([`crate::compiled`]); nodes
//!   that run in a browser are reported pending with `"where": "browser"`,
//!   the inputs they would receive and the code of the exact skill version
//!   they run (for a compiled skill also its `component` and
//!   `component_blob`).
//! - `POST /workflows/runs`: a run report from the browser, checked and
//!   recorded.
//!
//! A finished run (every node done, failed or skipped) is recorded as a
//! `workflow-run` trace in the user's volume: task = workflow name,
//! sequence = skill ids in plan order, and in `details` the workflow id and
//! commit, the run's inputs, every node's outputs, the exact skill
//! commits and the component each compiled node ran, so a run can be
//! repeated. A run left pending for the browser
//! is recorded when the browser reports it (under the same `run_id`).

use std::collections::BTreeMap;
use std::time::Instant;

use llmos_core::ids::{PrincipalId, VolumeId};
use llmos_core::trace::{
    MAX_DETAILS_BYTES, MAX_TASK_CHARS, Outcome, Trace, TraceKind, is_trace_id, new_trace_id,
};
use llmos_core::workflow::api::{
    ExecutedNode, MAX_COMMIT_TEXT, MAX_NODE_TEXT, MAX_STARTED_AT, RunRecorded, RunReportBody,
    WorkflowExecute, WorkflowExecution, WorkflowValidate, WorkflowValidation,
};
use llmos_core::workflow::builtin::is_builtin_id;
use llmos_core::workflow::validate::is_valid_node_id;
use llmos_core::workflow::{
    BuiltinExecutor, Clock, ComponentRef, Execution, JsonMap, Limits, MAX_NODES, NodeCall,
    NodeError, NodeExecutor, NodeRun, NodeStatus, Placement, PlannedNode, RunReport, RunStatus,
    ValidationReport, Workflow, analyze,
};
use llmos_guest::error::ErrorObject;
use llmos_guest::http;
use llmos_guest::{ApiError, ApiResult};
use llmos_store::catalog::Catalog;
use llmos_store::object::parse_id;
use llmos_store::traces::{TraceIndex, TraceStoreError};
use llmos_store::{ObjectKind, ObjectStore};
use serde::Serialize;
use serde_json::{Map, Value, json};
use spin_sdk::http::{Request, Response};

use crate::app::{App, Target, commit_id, volume_error};
use crate::compiled::{self, ComponentExecutor};
use crate::files::{self, Change, Stored, workflow_id};
use crate::routes::{read_body, skill_scope, workflow_of};
use crate::versions::Versions;

/// Milliseconds since the component instance started serving the request.
struct InstantClock(Instant);

impl Clock for InstantClock {
    fn now_ms(&self) -> f64 {
        self.0.elapsed().as_secs_f64() * 1000.0
    }
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn new_run_id() -> String {
    let mut random = [0u8; 4];
    let _ = getrandom::fill(&mut random);
    new_trace_id(now_ms(), u32::from_le_bytes(random))
}

/// `POST /workflows/validate {"workflow", "volume"?}`: `{"valid", "errors",
/// "warnings", "levels"}`, plus for a valid workflow where each node runs
/// and the skill commit it runs.
pub fn validate(app: &App, req: &Request) -> ApiResult<Response> {
    let body: WorkflowValidate = read_body(req, false)?;
    let target = Target::of_body(&body.user_id, &body.team_id, &body.volume);
    let workflow = workflow_of(body.workflow)?;
    let view = app.view(&target)?;
    let scope = match app.named_volume(&target)? {
        Some(volume) => {
            app.identity.require_read(&volume)?;
            skill_scope(&volume, &view)
        }
        None => view,
    };
    let catalog = Versions::new(app, &scope).catalog_for(&workflow)?;
    let (report, plan) = analyze(&workflow, &catalog, Limits::STORED);
    let mut answer = WorkflowValidation {
        report,
        placements: None,
        commits: None,
        components: None,
    };
    if let Some(plan) = plan {
        let mut places = BTreeMap::new();
        let mut commits = BTreeMap::new();
        let mut components = BTreeMap::new();
        for node in &plan.nodes {
            places.insert(node.id.to_string(), node.placement);
            commits.insert(node.id.to_string(), node.commit.to_string());
            if let Some(c) = node
                .signature
                .component
                .as_ref()
                .filter(|_| node.signature.compiled)
            {
                components.insert(node.id.to_string(), c.sha256.clone());
            }
        }
        answer.placements = Some(places);
        answer.commits = Some(commits);
        answer.components = Some(components).filter(|c| !c.is_empty());
    }
    http::ok(&answer)
}

/// `POST /workflows/{id}/execute {"inputs"?, "volume"?, "commit"?}`.
pub fn execute(app: &App, req: &Request, id: &str) -> ApiResult<Response> {
    let id = workflow_id(id)?;
    let body: WorkflowExecute = read_body(req, true)?;
    let target = Target::of_body(&body.user_id, &body.team_id, &body.volume);
    let inputs = match body.inputs {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(map),
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid-inputs",
                "`inputs` must be an object: {node id: {input: value}}",
            ));
        }
    };
    let (user, team) = app.principals(&target)?;
    let view = app.view(&target)?;
    let stored = match (app.named_volume(&target)?, body.commit.as_deref()) {
        (Some(volume), commit) => {
            let commit = commit.map(|c| commit_id("commit", c)).transpose()?;
            files::load_in(app, &volume, &id, commit, Change::Skip)?
        }
        (None, None) => files::resolve(app, &view, &id, Change::Skip)?,
        (None, Some(commit)) => {
            let commit = commit_id("commit", commit)?;
            let volume = files::resolve(app, &view, &id, Change::Skip)?.volume;
            files::load_in(app, &volume, &id, Some(commit), Change::Skip)?
        }
    };
    let mut versions = Versions::new(app, &view);
    let catalog = versions.catalog_for(&stored.workflow)?;
    let (report, plan) = analyze(&stored.workflow, &catalog, Limits::STORED);
    let Some(plan) = plan else {
        return Ok(invalid_response(&report));
    };
    let mut run = Execution::new(&plan, Placement::Edge);
    if let Some(inputs) = &inputs {
        run.set_inputs(inputs)
            .map_err(|e| ApiError::bad_request("invalid-inputs", e.to_string()))?;
    }
    let clock = InstantClock(Instant::now());
    let result = if plan.nodes.iter().any(compiled::runs_here) {
        let limits = compiled::limits()?;
        let mut components =
            ComponentExecutor::new(limits, |c: &ComponentRef| read_component(app, c));
        run.run(&mut EdgeExecutors::new(Some(&mut components)), &clock)
    } else {
        run.run(&mut EdgeExecutors::new(None), &clock)
    };
    let run_id = new_run_id();
    let order: Vec<String> = plan
        .levels
        .iter()
        .flatten()
        .map(|&i| plan.nodes[i].id.to_string())
        .collect();

    let mut nodes: BTreeMap<String, ExecutedNode> = BTreeMap::new();
    // What a browser needs to run its nodes: the exact version's code.
    for (node_id, node) in &result.nodes {
        let mut entry = ExecutedNode::from(node.clone());
        if node.status == NodeStatus::Pending
            && node.inputs.is_some()
            && let Some(version) = versions.at(&node.skill_id, &node.commit)?
            && let Some(code) = version.skill.code()
        {
            entry.runtime = version.skill.runtime();
            entry.language = Some(code.language.clone());
            entry.code = Some(code.code.clone());
            entry.skill_volume = Some(version.volume.clone());
        }
        nodes.insert(node_id.clone(), entry);
    }

    let trace = if result.status == RunStatus::Pending {
        None
    } else {
        let logs: BTreeMap<&String, &String> = result
            .nodes
            .iter()
            .filter_map(|(id, n)| n.log.as_ref().map(|log| (id, log)))
            .collect();
        let team = team.or_else(|| match &stored.volume {
            VolumeId::Team(t) => Some(t.clone()),
            _ => None,
        });
        let mut details = Map::new();
        details.insert("where".into(), json!("edge"));
        workflow_details(&mut details, &stored);
        details.insert(
            "inputs".into(),
            inputs.clone().map_or(Value::Null, Value::Object),
        );
        if !logs.is_empty() {
            details.insert("logs".into(), json!(logs));
        }
        Some(record(
            app,
            RunRecord {
                trace_id: run_id.clone(),
                user,
                team,
                task: task_of(&stored.workflow),
                order: &order,
                nodes: &result.nodes,
                status: result.status,
                duration_ms: result.duration_ms.unwrap_or(0.0),
                details,
            },
        )?)
    };
    http::ok(&WorkflowExecution {
        run_id,
        trace_id: trace,
        workflow_id: id,
        volume: stored.volume,
        commit: stored.read_at.to_string(),
        status: result.status,
        duration_ms: result.duration_ms,
        levels: plan.level_ids(),
        warnings: report.warnings,
        skill_commits: result.commits_used(),
        nodes,
    })
}

/// The executors of an edge run: the built-in nodes, and compiled skills
/// when the plan has any placed here.
struct EdgeExecutors<'e> {
    builtin: BuiltinExecutor,
    components: Option<&'e mut dyn NodeExecutor>,
    /// Whether the latest call went to `components` (whose log it has).
    last_compiled: bool,
}

impl<'e> EdgeExecutors<'e> {
    fn new(components: Option<&'e mut dyn NodeExecutor>) -> Self {
        EdgeExecutors {
            builtin: BuiltinExecutor::default(),
            components,
            last_compiled: false,
        }
    }
}

impl NodeExecutor for EdgeExecutors<'_> {
    fn can_execute(&self, node: &PlannedNode) -> bool {
        self.builtin.can_execute(node)
            || self
                .components
                .as_ref()
                .is_some_and(|c| c.can_execute(node))
    }

    fn execute(&mut self, call: NodeCall<'_>) -> Result<JsonMap, NodeError> {
        self.last_compiled = false;
        if self.builtin.can_execute(call.node) {
            return self.builtin.execute(call);
        }
        match self.components.as_mut() {
            Some(c) if c.can_execute(call.node) => {
                self.last_compiled = true;
                c.execute(call)
            }
            _ => Err(NodeError::new(
                "no-executor",
                format!(
                    "no executor runs `{}` skills at the edge",
                    call.node.signature.runtime
                ),
            )),
        }
    }

    fn take_log(&mut self) -> Option<String> {
        if !std::mem::take(&mut self.last_compiled) {
            return None;
        }
        self.components.as_mut().and_then(|c| c.take_log())
    }
}

/// A component's bytes by its blob id, from the object store (objects are
/// shared by every volume, and the id came from a volume the caller reads).
fn read_component(app: &App, component: &ComponentRef) -> anyhow::Result<Vec<u8>> {
    let id = parse_id(&component.blob)?;
    let object = app
        .volumes
        .store()
        .read_object(&id)?
        .ok_or_else(|| anyhow::anyhow!("blob {} is not in the store", component.blob))?;
    object.expect_kind(ObjectKind::Blob)?;
    Ok(object.into_data())
}

/// The 422 answer to running a workflow that does not validate: the
/// error body, with the validation report beside `error`.
#[derive(Serialize)]
struct InvalidWorkflow<'a> {
    error: ErrorObject,
    validation: &'a ValidationReport,
}

/// 422 for a workflow that does not validate, with its report.
fn invalid_response(report: &ValidationReport) -> Response {
    let first: Vec<&str> = report
        .errors
        .iter()
        .take(3)
        .map(|e| e.message.as_str())
        .collect();
    let body = InvalidWorkflow {
        error: ErrorObject {
            code: "workflow-invalid".to_owned(),
            message: format!(
                "the workflow has {} error(s) and cannot run: {}",
                report.errors.len(),
                first.join("; ")
            ),
            details: Map::new(),
        },
        validation: report,
    };
    http::json_response(422, &body)
}

/// The task text of a run: the workflow's name, else its id.
fn task_of(workflow: &Workflow) -> String {
    let name = workflow.name.trim();
    if name.is_empty() {
        format!("workflow {}", workflow.id)
    } else {
        name.to_owned()
    }
}

/// The stored workflow a run used: id, volume and commit.
fn workflow_details(details: &mut Map<String, Value>, stored: &Stored) {
    details.insert("workflow_id".into(), json!(stored.id));
    details.insert("workflow_name".into(), json!(stored.workflow.name));
    details.insert("workflow_volume".into(), json!(stored.volume));
    details.insert("workflow_commit".into(), json!(stored.read_at.to_string()));
}

/// What a trace of a run is made of.
struct RunRecord<'a> {
    trace_id: String,
    user: PrincipalId,
    team: Option<PrincipalId>,
    task: String,
    /// Node ids in plan order.
    order: &'a [String],
    nodes: &'a BTreeMap<String, NodeRun>,
    status: RunStatus,
    duration_ms: f64,
    /// Kind-specific details; the nodes and skill commits are added.
    details: Map<String, Value>,
}

/// Records a run as a `workflow-run` trace; returns the trace id.
fn record(app: &App, run: RunRecord<'_>) -> ApiResult<String> {
    let sequence: Vec<String> = run
        .order
        .iter()
        .filter_map(|id| run.nodes.get(id))
        .map(|n| n.skill_id.clone())
        .collect();
    let mut skills_used: Vec<String> = Vec::new();
    for skill in &sequence {
        if !skills_used.contains(skill) {
            skills_used.push(skill.clone());
        }
    }
    let failed = run
        .order
        .iter()
        .filter_map(|id| run.nodes.get(id).map(|n| (id, n)))
        .find(|(_, n)| n.status == NodeStatus::Failed);
    let error = failed.map(|(id, n)| {
        format!(
            "node `{id}` failed: {}",
            n.error.as_deref().unwrap_or("no message")
        )
    });
    let report = RunReport {
        workflow_id: String::new(),
        status: run.status,
        nodes: run.nodes.clone(),
        duration_ms: Some(run.duration_ms),
    };
    let mut details = run.details;
    details.insert("status".into(), json!(run.status));
    details.insert("order".into(), json!(run.order));
    let commits = report.commits_used();
    details.insert(
        "nodes".into(),
        Value::Object(node_records(run.nodes, &commits, true)),
    );
    details.insert("skill_commits".into(), json!(commits));
    // A trace is bounded: big outputs give way to the record of what ran.
    if serialized_len(&details) > MAX_DETAILS_BYTES {
        details.insert(
            "nodes".into(),
            Value::Object(node_records(run.nodes, &commits, false)),
        );
        details.insert("outputs_truncated".into(), json!(true));
        if serialized_len(&details) > MAX_DETAILS_BYTES {
            details.remove("nodes");
            details.remove("logs");
            details.remove("inputs");
        }
    }
    let trace = Trace {
        trace_id: run.trace_id,
        kind: TraceKind::WorkflowRun,
        user_id: run.user,
        team_id: run.team,
        created_at: now_ms(),
        task: llmos_core::trace::truncate_chars(&run.task, MAX_TASK_CHARS),
        skills_used,
        sequence,
        outcome: if run.status == RunStatus::Done {
            Outcome::Success
        } else {
            Outcome::Error
        },
        error,
        duration_ms: if run.duration_ms.is_finite() && run.duration_ms > 0.0 {
            // Whole milliseconds; a run under 1 ms counts as 1 when rounded up.
            run.duration_ms.ceil() as u64
        } else {
            0
        },
        details,
    };
    let id = trace.trace_id.clone();
    let volume = VolumeId::User(trace.user_id.clone());
    let (commit, _) = TraceIndex::new(app.db)
        .record(&app.volumes, trace, app.author())
        .map_err(|e| match e {
            TraceStoreError::Duplicate(id) => {
                ApiError::conflict("run-exists", format!("run `{id}` is already recorded"))
            }
            TraceStoreError::Invalid(e) => ApiError::new(413, "run-too-large", e.to_string()),
            TraceStoreError::Volume(e) => volume_error(e),
            other => ApiError::internal(other),
        })?;
    // A trace leaves the skills as they were: keep the catalog's index of
    // the volume current, so the next listing need not refresh it.
    if let Err(err) = Catalog::new(&app.volumes).carry_forward(&volume, commit) {
        eprintln!("workflows: keeping the catalog current after run {id}: {err}");
    }
    Ok(id)
}

/// The trace's record of each node: status, skill, outputs (when
/// `outputs`), error and time. The commit is written only where the
/// run's `skill_commits` leaves it open (a skill run at several commits),
/// and where only for nodes that ran in the browser: traces of large runs
/// stay small.
fn node_records(
    nodes: &BTreeMap<String, NodeRun>,
    commits: &BTreeMap<String, Vec<String>>,
    outputs: bool,
) -> Map<String, Value> {
    nodes
        .iter()
        .map(|(id, n)| {
            let mut record = Map::new();
            record.insert("status".into(), json!(n.status));
            record.insert("skill_id".into(), json!(n.skill_id));
            if commits.get(&n.skill_id).is_none_or(|c| c.len() != 1) {
                record.insert("commit".into(), json!(n.commit));
            }
            if n.placement == Placement::Browser {
                record.insert("where".into(), json!(n.placement));
            }
            if let Some(component) = &n.component {
                record.insert("component".into(), json!(component));
            }
            if outputs {
                record.insert("outputs".into(), Value::Object(n.outputs.clone()));
            }
            if let Some(error) = &n.error {
                record.insert("error".into(), json!(error));
            }
            if let Some(ms) = n.duration_ms {
                // Microseconds are all a trace needs.
                record.insert("duration_ms".into(), json!((ms * 1000.0).round() / 1000.0));
            }
            (id.clone(), Value::Object(record))
        })
        .collect()
}

fn serialized_len(value: &Map<String, Value>) -> usize {
    serde_json::to_vec(value).map_or(usize::MAX, |v| v.len())
}

/// Whether `text` is `len` lowercase hex digits.
fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn bad_report(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid-run-report", message)
}

/// The status a run's node statuses add up to (see `RunStatus`).
fn status_of<'a>(statuses: impl Iterator<Item = &'a NodeStatus>) -> RunStatus {
    let (mut pending, mut failed) = (false, false);
    for s in statuses {
        pending |= matches!(s, NodeStatus::Pending | NodeStatus::Running);
        failed |= *s == NodeStatus::Failed;
    }
    if pending {
        RunStatus::Pending
    } else if failed {
        RunStatus::Failed
    } else {
        RunStatus::Done
    }
}

/// Checks a reported run; returns the nodes as the engine's records.
fn check_report(body: &RunReportBody) -> ApiResult<BTreeMap<String, NodeRun>> {
    if body.nodes.is_empty() {
        return Err(bad_report("`nodes` is empty: a run report names its nodes"));
    }
    if body.nodes.len() > MAX_NODES {
        return Err(ApiError::new(
            413,
            "run-too-large",
            format!(
                "the report has {} nodes; workflows have at most {MAX_NODES}",
                body.nodes.len()
            ),
        ));
    }
    if !body.workflow_id.is_empty() {
        workflow_id(&body.workflow_id)?;
    }
    let good_ms = |ms: Option<f64>| ms.is_none_or(|v| v.is_finite() && v >= 0.0);
    if !good_ms(body.duration_ms) {
        return Err(bad_report(
            "`duration_ms` must be a non-negative number of milliseconds",
        ));
    }
    let mut nodes = BTreeMap::new();
    for (id, n) in &body.nodes {
        let at = |what: &str| bad_report(format!("node `{}`: {what}", id.escape_default()));
        if !is_valid_node_id(id) {
            return Err(at("not a valid node id"));
        }
        let skill = n.skill_id.strip_prefix("builtin:").unwrap_or(&n.skill_id);
        if llmos_core::ids::SkillId::new(skill).is_err()
            || (is_builtin_id(&n.skill_id)
                && llmos_core::workflow::builtin::signature(&n.skill_id).is_none())
        {
            return Err(at(&format!(
                "`skill_id` `{}` is not a skill id",
                n.skill_id.escape_default()
            )));
        }
        if n.commit.is_empty()
            || n.commit.len() > MAX_COMMIT_TEXT
            || n.commit.chars().any(char::is_control)
        {
            return Err(at("`commit` must name the skill version it ran"));
        }
        if !good_ms(n.duration_ms) {
            return Err(at("`duration_ms` must be a non-negative number"));
        }
        let too_long = |t: &Option<String>| t.as_ref().is_some_and(|t| t.len() > MAX_NODE_TEXT);
        if too_long(&n.error) || too_long(&n.error_code) {
            return Err(at(&format!("`error` is longer than {MAX_NODE_TEXT} bytes")));
        }
        if n.component.as_ref().is_some_and(|c| !is_hex(c, 64)) {
            return Err(at(
                "`component` must be the SHA-256 of a component (64 hex digits)",
            ));
        }
        if n.component_blob
            .as_ref()
            .is_some_and(|b| parse_id(b).is_err())
        {
            return Err(at("`component_blob` must be a git blob id"));
        }
        if too_long(&n.log) {
            return Err(at(&format!("`log` is longer than {MAX_NODE_TEXT} bytes")));
        }
        if let Some(w) = n.waiting_for.iter().find(|w| !body.nodes.contains_key(*w)) {
            return Err(at(&format!(
                "waits for `{}`, which the report does not name",
                w.escape_default()
            )));
        }
        nodes.insert(id.clone(), NodeRun::from(n.clone()));
    }
    let derived = status_of(nodes.values().map(|n| &n.status));
    if derived != body.status {
        return Err(bad_report(format!(
            "`status` is {:?} but the nodes' statuses make the run {:?}",
            body.status, derived
        )));
    }
    if let Some(logs) = &body.logs {
        if let Some(id) = logs.keys().find(|id| !body.nodes.contains_key(*id)) {
            return Err(bad_report(format!(
                "`logs` names node `{}`, which the report does not",
                id.escape_default()
            )));
        }
        if logs.values().any(|l| l.len() > MAX_NODE_TEXT) {
            return Err(bad_report(format!(
                "a node's log is longer than {MAX_NODE_TEXT} bytes"
            )));
        }
    }
    if let Some(order) = &body.order {
        let mut seen = std::collections::HashSet::new();
        if let Some(id) = order
            .iter()
            .find(|id| !body.nodes.contains_key(*id) || !seen.insert(id.as_str()))
        {
            return Err(bad_report(format!(
                "`order` names `{}` twice or without a node of the report",
                id.escape_default()
            )));
        }
    }
    if let Some(run_id) = &body.run_id
        && !is_trace_id(run_id)
    {
        return Err(bad_report(format!(
            "`run_id` `{}` is not one this API returned",
            run_id.escape_default()
        )));
    }
    if body
        .started_at
        .as_ref()
        .is_some_and(|s| s.len() > MAX_STARTED_AT || s.chars().any(char::is_control))
    {
        return Err(bad_report("`started_at` must be a timestamp"));
    }
    if body
        .workflow_name
        .as_ref()
        .is_some_and(|s| s.len() > MAX_NODE_TEXT)
    {
        return Err(bad_report("`workflow_name` is too long"));
    }
    Ok(nodes)
}

/// `POST /workflows/runs`: records a run the browser made; `201
/// {"trace_id"}`. The report is checked strictly (400 for anything off,
/// nothing stored).
pub fn report(app: &App, req: &Request) -> ApiResult<Response> {
    let body: RunReportBody = read_body(req, false)?;
    let nodes = check_report(&body)?;
    let target = Target {
        user_id: body.user_id.clone(),
        team_id: body.team_id.clone(),
        volume: None,
    };
    let (user, team) = app.principals(&target)?;
    // The stored workflow, when the run was of one the caller can see.
    let stored = if body.workflow_id.is_empty() {
        None
    } else {
        match files::resolve(app, &app.view(&target)?, &body.workflow_id, Change::Skip) {
            Ok(stored) => Some(stored),
            Err(e) if e.status == 404 => None,
            Err(e) => return Err(e),
        }
    };
    let order: Vec<String> = match (&body.order, &stored) {
        (Some(order), _) => order.clone(),
        (None, Some(stored)) => {
            let report = analyze(
                &stored.workflow,
                &llmos_core::workflow::Catalog::new(),
                Limits::STORED,
            )
            .0;
            report
                .levels
                .into_iter()
                .flatten()
                .filter(|id| nodes.contains_key(id))
                .collect()
        }
        (None, None) => Vec::new(),
    };
    // Nodes the order leaves out follow in id order.
    let mut full = order.clone();
    full.extend(nodes.keys().filter(|id| !order.contains(id)).cloned());
    let mut details = Map::new();
    details.insert(
        "where".into(),
        json!(body.site.unwrap_or(Placement::Browser)),
    );
    match &stored {
        Some(stored) => workflow_details(&mut details, stored),
        None => {
            details.insert("workflow_id".into(), json!(body.workflow_id));
            details.insert("workflow_name".into(), json!(body.workflow_name));
        }
    }
    details.insert("inputs".into(), json!(body.inputs));
    details.insert("started_at".into(), json!(body.started_at));
    details.insert("stopped".into(), json!(body.stopped.unwrap_or(false)));
    // Logs the page sent per run, and those kept on the nodes (an edge
    // run's compiled nodes); the run-level ones win.
    let mut logs: BTreeMap<String, String> = nodes
        .iter()
        .filter_map(|(id, n)| n.log.clone().map(|log| (id.clone(), log)))
        .collect();
    logs.extend(body.logs.clone().unwrap_or_default());
    if !logs.is_empty() {
        details.insert("logs".into(), json!(logs));
    }
    let name = body
        .workflow_name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .or_else(|| stored.as_ref().map(|s| task_of(&s.workflow)))
        .unwrap_or_else(|| format!("workflow {}", body.workflow_id));
    let trace_id = record(
        app,
        RunRecord {
            trace_id: body.run_id.clone().unwrap_or_else(new_run_id),
            user,
            team,
            task: name,
            order: &full,
            nodes: &nodes,
            status: if body.stopped == Some(true) && body.status == RunStatus::Done {
                RunStatus::Failed
            } else {
                body.status
            },
            duration_ms: body.duration_ms.unwrap_or(0.0),
            details,
        },
    )?;
    http::created(&RunRecorded { trace_id })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str) -> Result<RunReportBody, serde_json::Error> {
        serde_json::from_str(text)
    }

    fn node(status: &str) -> String {
        format!(
            r#"{{"status": "{status}", "skill_id": "builtin:math", "commit": "llmos-core@0.1.0",
                "where": "browser", "outputs": {{"result": 2}}, "error": null, "duration_ms": 1.5}}"#
        )
    }

    #[test]
    fn the_pages_report_is_accepted() {
        let text = format!(
            r#"{{"workflow_id": "w-1", "status": "failed", "duration_ms": 3.0,
                "nodes": {{"a": {}, "b": {}}}, "workflow_name": "W", "where": "browser",
                "started_at": "2026-11-25T01:00:00.000Z", "stopped": false,
                "logs": {{"a": "hi\n"}}, "user_id": "alice", "team_id": null}}"#,
            node("done"),
            node("failed")
        );
        let body = body(&text).unwrap();
        let nodes = check_report(&body).unwrap();
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes["a"].outputs["result"], 2);
    }

    #[test]
    fn a_compiled_nodes_component_and_log_are_accepted() {
        let sha = "ab".repeat(32);
        let text = format!(
            r#"{{"workflow_id": "w", "status": "done", "nodes": {{"c": {{
                "status": "done", "skill_id": "square", "commit": "c1", "where": "browser",
                "outputs": {{"y": 9}}, "component": "{sha}",
                "component_blob": "0123456789abcdef0123456789abcdef01234567",
                "log": "squaring 3\n"}}}}}}"#
        );
        let nodes = check_report(&body(&text).unwrap()).unwrap();
        assert_eq!(nodes["c"].component.as_deref(), Some(sha.as_str()));
        assert_eq!(nodes["c"].log.as_deref(), Some("squaring 3\n"));
    }

    #[test]
    fn inconsistent_or_malformed_reports_are_refused() {
        let good: Value = serde_json::from_str(&format!(
            r#"{{"workflow_id": "w", "status": "done", "nodes": {{"a": {}}}}}"#,
            node("done")
        ))
        .unwrap();
        assert!(check_report(&serde_json::from_value(good.clone()).unwrap()).is_ok());
        let with = |path: &[&str], value: Value| {
            let mut v = good.clone();
            let mut at = &mut v;
            for key in &path[..path.len() - 1] {
                at = &mut at[*key];
            }
            at[path[path.len() - 1]] = value;
            v
        };
        // Shapes serde refuses.
        for v in [
            json!({"status": "done"}),
            with(&["status"], json!("finished")),
            with(&["nodes", "a", "where"], json!("moon")),
            with(&["nodes", "a", "extra"], json!(1)),
            with(&["extra"], json!(1)),
            with(&["nodes"], json!([])),
        ] {
            assert!(
                serde_json::from_value::<RunReportBody>(v.clone()).is_err(),
                "{v}"
            );
        }
        // Shapes that parse but do not hold together.
        let mut renamed = good.clone();
        let a = renamed["nodes"]["a"].take();
        renamed["nodes"] = json!({"a b": a});
        for v in [
            with(&["nodes", "a", "status"], json!("failed")),
            with(&["status"], json!("failed")),
            with(&["nodes"], json!({})),
            renamed,
            with(&["nodes", "a", "skill_id"], json!("Not A Skill")),
            with(&["nodes", "a", "skill_id"], json!("builtin:nope")),
            with(&["nodes", "a", "commit"], json!("")),
            with(&["nodes", "a", "duration_ms"], json!(-1)),
            with(&["nodes", "a", "waiting_for"], json!(["z"])),
            with(&["workflow_id"], json!("../w")),
            with(&["run_id"], json!("x")),
            with(&["order"], json!(["a", "a"])),
            with(&["logs"], json!({"z": ""})),
            with(&["nodes", "a", "component"], json!("abc")),
            with(&["nodes", "a", "component"], json!("AB".repeat(32))),
            with(&["nodes", "a", "component_blob"], json!("not-a-blob")),
            with(&["nodes", "a", "log"], json!("x".repeat(MAX_NODE_TEXT + 1))),
        ] {
            let parsed: RunReportBody =
                serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{v}: {e}"));
            let err = check_report(&parsed).unwrap_err();
            assert_eq!(err.status, 400, "{v}: {err}");
        }
    }
}
