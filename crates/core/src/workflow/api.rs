//! The wire types of the `/workflows` routes: the request bodies the
//! `workflows` component reads and the answers it writes (and the draft
//! `POST /chat/workflow` answers, [`WorkflowDraft`]). They live here,
//! beside the engine's types they carry, so that the component serialises
//! exactly what the OpenAPI document (`llmos-api`) describes: both derive
//! from these definitions.
//!
//! The schemas state the bounds the component enforces (lengths, patterns,
//! enumerations), never tighter ones: whatever the component accepts, its
//! schema accepts (but for `workflow_id`, an older name of promotion's
//! `id`). Checks a schema cannot state (a workflow id that names a route,
//! node statuses that must add up to the run's) answer 400 too.
//!
//! Fields that name who a request acts for (`user_id`, `team_id`) and
//! where (`volume`) mean what API.md says: a user may name only itself and
//! its own teams; an admin anyone.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::catalog::Placement;
use super::exec::{NodeRun, NodeStatus, RunStatus};
use super::format::{JsonMap, Workflow};
use super::validate::{Issue, MAX_NODES, ValidationReport};
use crate::ids::{PrincipalId, VolumeId};
use crate::types::Runtime;

/// Longest workflow id (as for skills, users and teams).
pub const MAX_WORKFLOW_ID: usize = 64;

/// Ids that are routes of their own (`POST /workflows/validate` …).
pub const RESERVED_WORKFLOW_IDS: &[&str] = &["validate", "runs", "promote"];

/// Longest commit message or promotion reason, in characters.
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// Default and largest number of commits in a history page.
pub const HISTORY_PAGE: usize = 50;
pub const MAX_HISTORY_PAGE: usize = 1000;

/// Longest error message, log or workflow name kept per reported run, in
/// bytes.
pub const MAX_NODE_TEXT: usize = 20_000;

/// Longest skill commit a reported node may name, in bytes.
pub const MAX_COMMIT_TEXT: usize = 128;

/// Longest `started_at` of a reported run, in bytes.
pub const MAX_STARTED_AT: usize = 64;

/// Whether `text` is a workflow id: 1 to [`MAX_WORKFLOW_ID`] lowercase
/// ASCII letters, digits, `-` and `_`, starting with a letter or digit, and
/// not one of [`RESERVED_WORKFLOW_IDS`]; so it is always a safe file name
/// (the page makes ids like `round-trip-x3k9qa`).
pub fn is_workflow_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_WORKFLOW_ID
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && text.as_bytes()[0].is_ascii_alphanumeric()
        && !RESERVED_WORKFLOW_IDS.contains(&text)
}

// ---------------------------------------------------------------------------
// Requests.

/// The body of `POST /workflows` and `PUT /workflows/{id}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowWrite {
    /// Whose volume: the token's user when absent.
    #[serde(default)]
    #[schema(value_type = Option<PrincipalId>)]
    pub user_id: Option<String>,
    /// The team meant by `volume: "team"`, and whose workflows the
    /// merged view includes.
    #[serde(default)]
    #[schema(value_type = Option<PrincipalId>)]
    pub team_id: Option<String>,
    /// Where to store it: `system`, `teams/{id}`, `users/{id}`, or `user`
    /// and `team` for the request's own; the user's volume when absent.
    #[serde(default)]
    #[schema(pattern = r"^(user|team|system|(teams|users)/[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$")]
    pub volume: Option<String>,
    /// The workflow (a JSON object). Invalid graphs are stored too; the
    /// answer carries their validation report.
    #[schema(value_type = Workflow)]
    pub workflow: Value,
    /// The commit message instead of the default one (trimmed; blank
    /// means the default).
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub message: Option<String>,
}

/// The body of `POST /workflows/validate`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowValidate {
    #[schema(value_type = Workflow)]
    pub workflow: Value,
    #[serde(default)]
    #[schema(value_type = Option<PrincipalId>)]
    pub user_id: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<PrincipalId>)]
    pub team_id: Option<String>,
    /// Validate as if stored in this volume (against its readers' skills).
    #[serde(default)]
    #[schema(pattern = r"^(user|team|system|(teams|users)/[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$")]
    pub volume: Option<String>,
}

/// The body of `POST /workflows/{id}/execute` (an empty body is `{}`).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowExecute {
    /// `{node id: {input: value}}`, overriding the nodes' params (edges
    /// still win). Every node must be in the workflow and every input
    /// among its skill's.
    #[serde(default)]
    #[schema(value_type = Option<HashMap<String, Object>>)]
    pub inputs: Option<Value>,
    #[serde(default)]
    #[schema(value_type = Option<PrincipalId>)]
    pub user_id: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<PrincipalId>)]
    pub team_id: Option<String>,
    /// The volume whose workflow runs; the merged view's when absent.
    #[serde(default)]
    #[schema(pattern = r"^(user|team|system|(teams|users)/[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$")]
    pub volume: Option<String>,
    /// Run the workflow as it was at this commit of its volume.
    #[serde(default)]
    #[schema(pattern = "^[0-9a-fA-F]{40}$")]
    pub commit: Option<String>,
}

/// The body of `POST /workflows/{id}/rollback`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowRollback {
    /// The commit whose version of the workflow to restore.
    #[schema(pattern = "^[0-9a-fA-F]{40}$")]
    pub commit: String,
    #[serde(default)]
    #[schema(value_type = Option<PrincipalId>)]
    pub user_id: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<PrincipalId>)]
    pub team_id: Option<String>,
    /// The volume whose history `commit` is in; else the one the merged
    /// view finds the workflow in, else the user's.
    #[serde(default)]
    #[schema(pattern = r"^(user|team|system|(teams|users)/[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$")]
    pub volume: Option<String>,
}

/// Where `POST /workflows/promote` copies a workflow to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum PromoteTarget {
    /// From the user's volume into the team's (members).
    #[default]
    Team,
    /// From the team's volume into the system's (admins).
    System,
}

impl PromoteTarget {
    /// The target a request's `target` names (`team` or `system`).
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "team" => Some(PromoteTarget::Team),
            "system" => Some(PromoteTarget::System),
            _ => None,
        }
    }
}

/// The body of `POST /workflows/promote`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowPromote {
    #[serde(default)]
    #[schema(value_type = Option<PrincipalId>)]
    pub user_id: Option<String>,
    /// The team: where a user's workflow goes, or whose goes to the
    /// system volume.
    #[serde(default)]
    #[schema(value_type = PrincipalId, required = true)]
    pub team_id: Option<String>,
    /// The workflow's id (also read under the name `workflow_id`).
    #[serde(alias = "workflow_id")]
    #[schema(pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")]
    pub id: String,
    /// Why, for the commit message.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
    /// `team` when absent; anything but `team` or `system` is refused
    /// (400 `invalid-target`).
    #[serde(default)]
    #[schema(value_type = Option<PromoteTarget>)]
    pub target: Option<String>,
}

/// One node of a run the browser reports: the engine's node record
/// ([`NodeRun`]), read strictly.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportedNode {
    pub status: NodeStatus,
    /// The node's skill id, or `builtin:<name>` of a built-in node.
    #[schema(pattern = "^(builtin:)?[a-z0-9][a-z0-9-]{0,63}$")]
    pub skill_id: String,
    /// The exact skill commit the node ran (`llmos-core@…` for a built-in
    /// node), without control characters.
    #[schema(min_length = 1, max_length = 128)]
    pub commit: String,
    #[serde(rename = "where")]
    pub placement: Placement,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub outputs: JsonMap,
    #[serde(default)]
    #[schema(max_length = 20000)]
    pub error: Option<String>,
    #[serde(default)]
    #[schema(max_length = 20000)]
    pub error_code: Option<String>,
    #[serde(default)]
    #[schema(minimum = 0)]
    pub duration_ms: Option<f64>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub inputs: Option<JsonMap>,
    /// Nodes of the report it still waits for.
    #[serde(default)]
    pub waiting_for: Vec<String>,
    /// SHA-256 (hex) of the component a compiled node ran.
    #[serde(default)]
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub component: Option<String>,
    /// The git blob id of a deferred compiled node's component (as the
    /// edge reported it).
    #[serde(default)]
    #[schema(pattern = "^[0-9a-fA-F]{40}$")]
    pub component_blob: Option<String>,
    #[serde(default)]
    #[schema(max_length = 20000)]
    pub log: Option<String>,
}

impl From<ReportedNode> for NodeRun {
    fn from(node: ReportedNode) -> Self {
        NodeRun {
            status: node.status,
            skill_id: node.skill_id,
            commit: node.commit,
            placement: node.placement,
            outputs: node.outputs,
            error: node.error,
            error_code: node.error_code,
            duration_ms: node.duration_ms,
            inputs: node.inputs,
            waiting_for: node.waiting_for,
            component: node.component,
            component_blob: node.component_blob,
            log: node.log,
        }
    }
}

/// The body of `POST /workflows/runs`: the engine's run report of a run
/// the browser made (or finished), plus what the page knows about it.
/// The nodes' statuses must add up to `status`, and every node id it
/// names must be one of `nodes`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunReportBody {
    /// The stored workflow that ran, if it was one.
    #[serde(default)]
    #[schema(pattern = "^([a-z0-9][a-z0-9_-]{0,63})?$")]
    pub workflow_id: String,
    pub status: RunStatus,
    #[schema(schema_with = reported_nodes)]
    pub nodes: BTreeMap<String, ReportedNode>,
    #[serde(default)]
    #[schema(minimum = 0)]
    pub duration_ms: Option<f64>,
    #[serde(default)]
    #[schema(max_length = 20000)]
    pub workflow_name: Option<String>,
    /// Where the run ran; `browser` when absent.
    #[serde(default, rename = "where")]
    pub site: Option<Placement>,
    /// When it started, as the page tells time.
    #[serde(default)]
    #[schema(max_length = 64)]
    pub started_at: Option<String>,
    /// Whether the user stopped it (a stopped run counts as failed).
    #[serde(default)]
    pub stopped: Option<bool>,
    /// What each node printed, by node id.
    #[serde(default)]
    #[schema(value_type = Option<HashMap<String, String>>)]
    pub logs: Option<BTreeMap<String, String>>,
    /// Node ids in plan order, each once (else the stored workflow's plan
    /// order).
    #[serde(default)]
    #[schema(value_type = Option<BTreeSet<String>>)]
    pub order: Option<Vec<String>>,
    /// The run's inputs, as given to the engine.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub inputs: Option<JsonMap>,
    /// The `run_id` of an edge run the browser finished.
    #[serde(default)]
    #[schema(pattern = "^tr-[0-9a-f]{13}-[0-9a-f]{8}$")]
    pub run_id: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<PrincipalId>)]
    pub user_id: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<PrincipalId>)]
    pub team_id: Option<String>,
}

/// The schema of [`RunReportBody::nodes`]: a map of 1 to [`MAX_NODES`]
/// reported nodes.
fn reported_nodes() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(utoipa::openapi::Ref::from_schema_name("ReportedNode")))
        .min_properties(Some(1))
        .max_properties(Some(MAX_NODES))
        .description(Some(
            "What each node did, by node id (`[A-Za-z0-9_.-]`, 1 to 64 characters).",
        ))
        .build()
}

// ---------------------------------------------------------------------------
// Answers.

/// What a write did: the `status` of its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum WorkflowChange {
    Created,
    Updated,
    Deleted,
    RolledBack,
    Promoted,
}

/// A stored workflow as lists show it: where it is and its last change.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WorkflowSummary {
    pub id: String,
    pub name: String,
    pub volume: VolumeId,
    /// The commit that last changed its file (`null` when unknown).
    #[schema(required = true)]
    pub commit: Option<String>,
    /// When that commit was made (RFC 3339, UTC).
    #[schema(required = true)]
    pub updated_at: Option<String>,
    /// How many nodes and edges it has.
    pub nodes: usize,
    pub edges: usize,
}

/// A workflow file of a listing that is not a readable workflow.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WorkflowFileProblem {
    pub volume: VolumeId,
    pub path: String,
    pub message: String,
}

/// `200` of `GET /workflows`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WorkflowList {
    pub total: usize,
    /// Sorted by id; a user's workflow shadows a team's of the same id,
    /// which shadows a system one.
    pub workflows: Vec<WorkflowSummary>,
    /// Files that could not be read (they are left out of `workflows`).
    pub errors: Vec<WorkflowFileProblem>,
}

/// `200` of `GET /workflows/{id}`: the summary and the workflow itself.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StoredWorkflow {
    #[serde(flatten)]
    pub summary: WorkflowSummary,
    /// The workflow in its canonical form.
    pub workflow: Workflow,
}

/// `201` of `POST /workflows`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WorkflowCreated {
    /// `created`.
    pub status: WorkflowChange,
    pub id: String,
    pub name: String,
    pub volume: VolumeId,
    pub commit: String,
    /// The file in the volume (`workflows/{id}.json`).
    pub path: String,
    /// Nodes that saving pinned to the latest commit of their skill.
    pub pinned: Vec<String>,
    pub validation: ValidationReport,
}

/// `200` of `PUT /workflows/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WorkflowUpdated {
    /// `updated`.
    pub status: WorkflowChange,
    pub id: String,
    pub name: String,
    pub volume: VolumeId,
    /// The new commit, or the head when nothing changed.
    pub commit: String,
    /// Whether a commit was made (false when the file was the same).
    pub changed: bool,
    pub path: String,
    pub pinned: Vec<String>,
    pub validation: ValidationReport,
}

/// `200` of `DELETE /workflows/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WorkflowDeleted {
    /// `deleted`.
    pub status: WorkflowChange,
    pub id: String,
    pub volume: VolumeId,
    pub commit: String,
}

/// One commit of a workflow's history.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WorkflowCommit {
    pub commit: String,
    pub message: String,
    /// The author's name (the user id) and e-mail address.
    pub author: String,
    pub email: String,
    /// Unix time in seconds.
    pub timestamp: i64,
    /// Whether this commit deleted the workflow.
    pub deleted: bool,
}

/// `200` of `GET /workflows/{id}/history`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WorkflowHistory {
    pub id: String,
    pub volume: VolumeId,
    pub path: String,
    /// Newest first.
    pub commits: Vec<WorkflowCommit>,
    /// The `cursor` of the next page; `null` on the last.
    #[schema(required = true)]
    pub next: Option<String>,
}

/// `200` of `POST /workflows/{id}/rollback`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WorkflowRolledBack {
    /// `rolled-back`.
    pub status: WorkflowChange,
    pub id: String,
    pub volume: VolumeId,
    pub commit: String,
    /// The commit whose version was restored.
    pub restored: String,
    /// Whether a commit was made (false when the head already had it).
    pub changed: bool,
}

/// `200` of `POST /workflows/promote`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WorkflowPromoted {
    /// `promoted`.
    pub status: WorkflowChange,
    pub id: String,
    pub from: VolumeId,
    pub to: VolumeId,
    pub commit: String,
    pub path: String,
    /// Nodes re-pinned to the identical skill version in the target's
    /// scope.
    pub repinned: Vec<String>,
    /// The workflow validated against the target's skills.
    pub validation: ValidationReport,
}

/// `200` of `POST /workflows/validate`: the report, and for a valid
/// workflow where each node runs and the skill commit it runs.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WorkflowValidation {
    #[serde(flatten)]
    pub report: ValidationReport,
    /// Where each node runs, by node id (valid workflows only).
    #[serde(rename = "where", skip_serializing_if = "Option::is_none")]
    pub placements: Option<BTreeMap<String, Placement>>,
    /// The skill commit each node runs, by node id (valid workflows only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commits: Option<BTreeMap<String, String>>,
    /// The SHA-256 of the component each compiled node runs, by node id
    /// (only when there is one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub components: Option<BTreeMap<String, String>>,
}

/// One node of an edge run: what it did, and for a node left to the
/// browser the code of the exact skill version it runs.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ExecutedNode {
    #[serde(flatten)]
    pub run: NodeRun,
    /// For a pending browser node: its skill's runtime.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<Runtime>,
    /// For a pending browser node: the language of its skill's code block.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// For a pending browser node: the code of the exact skill version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// For a pending browser node: the volume that version was read from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skill_volume: Option<VolumeId>,
}

impl From<NodeRun> for ExecutedNode {
    fn from(run: NodeRun) -> Self {
        ExecutedNode {
            run,
            runtime: None,
            language: None,
            code: None,
            skill_volume: None,
        }
    }
}

/// `200` of `POST /workflows/{id}/execute`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WorkflowExecution {
    pub run_id: String,
    /// The trace recorded for a finished run; `null` while nodes are left
    /// to the browser (it reports the run under `run_id`).
    #[schema(required = true)]
    pub trace_id: Option<String>,
    pub workflow_id: String,
    pub volume: VolumeId,
    /// The commit of the workflow file that ran.
    pub commit: String,
    pub status: RunStatus,
    #[schema(required = true)]
    pub duration_ms: Option<f64>,
    /// Node ids by plan level.
    pub levels: Vec<Vec<String>>,
    pub warnings: Vec<Issue>,
    /// `skill_id → commits` of every node that ran.
    pub skill_commits: BTreeMap<String, Vec<String>>,
    /// What each node did, by node id.
    pub nodes: BTreeMap<String, ExecutedNode>,
}

/// `201` of `POST /workflows/runs`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RunRecorded {
    /// The recorded trace (`GET /traces/{trace_id}`).
    pub trace_id: String,
}

/// `200` of `POST /chat/workflow`: the workflow a model drafted from the
/// request, and its validation against the caller's skills. A draft is
/// never repaired: an answer that is not a workflow is returned as it is,
/// with an error saying why.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WorkflowDraft {
    /// The workflow in its canonical form; the JSON the model answered
    /// when that is not a workflow; `null` when the answer held no JSON.
    #[schema(value_type = Option<Value>, required = true)]
    pub workflow: Option<Value>,
    /// The report; for an answer that is not a workflow, one error
    /// (`answer-not-json` or `answer-not-a-workflow`).
    pub validation: ValidationReport,
    /// The model's answer as written, when it is not a workflow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_ids_are_safe_file_names() {
        for good in ["a", "round-trip-x3k9qa", "w_1", &"x".repeat(64)] {
            assert!(is_workflow_id(good), "{good}");
        }
        for bad in [
            "",
            "validate",
            "runs",
            "promote",
            "-a",
            "_a",
            "A",
            "a/b",
            "a.json",
            "..",
            "a b",
            &"x".repeat(65),
        ] {
            assert!(!is_workflow_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn requests_refuse_unknown_fields_and_promote_targets() {
        let body = r#"{"workflow": {}, "surprise": 1}"#;
        assert!(serde_json::from_str::<WorkflowWrite>(body).is_err());
        let body = r#"{"team_id": "core", "id": "w", "target": "system"}"#;
        let promote: WorkflowPromote = serde_json::from_str(body).unwrap();
        let target = promote.target.as_deref().and_then(PromoteTarget::parse);
        assert_eq!(target, Some(PromoteTarget::System));
        assert_eq!(PromoteTarget::parse("moon"), None);
        let body = r#"{"team_id": "core", "workflow_id": "w"}"#;
        let promote: WorkflowPromote = serde_json::from_str(body).unwrap();
        assert_eq!(promote.id, "w");
        let body = r#"{"team_id": "core", "id": "w", "workflow_id": "w"}"#;
        assert!(serde_json::from_str::<WorkflowPromote>(body).is_err());
        let body = r#"{"team_id": "core", "id": "w", "to": "system"}"#;
        assert!(serde_json::from_str::<WorkflowPromote>(body).is_err());
    }

    #[test]
    fn answers_write_absent_values_as_the_api_does() {
        let summary = WorkflowSummary {
            id: "w".into(),
            name: String::new(),
            volume: VolumeId::System,
            commit: None,
            updated_at: None,
            nodes: 0,
            edges: 0,
        };
        let value = serde_json::to_value(&summary).unwrap();
        assert_eq!(value["commit"], Value::Null);
        assert_eq!(value["volume"], "system");
        let validation = WorkflowValidation {
            report: ValidationReport {
                valid: true,
                errors: vec![],
                warnings: vec![],
                levels: vec![],
            },
            placements: None,
            commits: Some(BTreeMap::new()),
            components: None,
        };
        let value = serde_json::to_value(&validation).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(keys, ["commits", "errors", "levels", "valid", "warnings"]);
        assert_eq!(
            serde_json::to_value(WorkflowChange::RolledBack).unwrap(),
            "rolled-back"
        );
    }

    #[test]
    fn an_executed_node_is_the_engines_record_with_its_code_beside() {
        let run = NodeRun {
            status: NodeStatus::Pending,
            skill_id: "square".into(),
            commit: "c".repeat(40),
            placement: Placement::Browser,
            outputs: JsonMap::new(),
            error: None,
            error_code: None,
            duration_ms: None,
            inputs: Some(JsonMap::new()),
            waiting_for: Vec::new(),
            component: None,
            component_blob: None,
            log: None,
        };
        let mut node = ExecutedNode::from(run.clone());
        let value = serde_json::to_value(&node).unwrap();
        assert_eq!(value, serde_json::to_value(&run).unwrap());
        assert_eq!(value["where"], "browser");
        assert_eq!(value["error"], Value::Null);
        node.code = Some("print(1)\n".into());
        node.skill_volume = Some(VolumeId::System);
        let value = serde_json::to_value(&node).unwrap();
        assert_eq!(value["code"], "print(1)\n");
        assert_eq!(value["skill_volume"], "system");
        assert!(value.get("runtime").is_none());
    }

    #[test]
    fn a_reported_node_becomes_the_same_engine_record() {
        let text = r#"{"status": "done", "skill_id": "builtin:math", "commit": "llmos-core@0.1.0",
                       "where": "browser", "outputs": {"result": 4}, "duration_ms": 2.5}"#;
        let reported: ReportedNode = serde_json::from_str(text).unwrap();
        let run = NodeRun::from(reported);
        assert_eq!(run.outputs["result"], 4);
        assert_eq!(run.placement, Placement::Browser);
        assert_eq!(run.duration_ms, Some(2.5));
        let text = r#"{"status": "done", "skill_id": "x", "commit": "c", "where": "edge",
                       "surprise": true}"#;
        assert!(serde_json::from_str::<ReportedNode>(text).is_err());
    }
}
