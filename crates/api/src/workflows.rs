//! `/workflows`: the `workflows` component.

use llmos_core::ids::{PrincipalId, VolumeId};
use llmos_core::workflow::api::{
    ExecutedNode, PromoteTarget, ReportedNode, RunRecorded, RunReportBody, StoredWorkflow,
    WorkflowChange, WorkflowCommit, WorkflowCreated, WorkflowDeleted, WorkflowExecute,
    WorkflowExecution, WorkflowFileProblem, WorkflowHistory, WorkflowList, WorkflowPromote,
    WorkflowPromoted, WorkflowRollback, WorkflowRolledBack, WorkflowSummary, WorkflowUpdated,
    WorkflowValidate, WorkflowValidation, WorkflowWrite,
};
use llmos_core::workflow::{
    Edge, Issue, IssueCode, Node, NodeRun, NodeStatus, Placement, Position, RunStatus,
    ValidationReport, Workflow,
};
use llmos_guest::error::ErrorBody;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    paths(
        workflows_list,
        workflows_create,
        workflows_validate,
        workflows_record_run,
        workflows_promote,
        workflows_show,
        workflows_replace,
        workflows_delete,
        workflows_raw,
        workflows_history,
        workflows_rollback,
        workflows_execute
    ),
    components(schemas(
        PrincipalId,
        VolumeId,
        Workflow,
        Node,
        Position,
        Edge,
        Placement,
        IssueCode,
        Issue,
        ValidationReport,
        NodeStatus,
        RunStatus,
        NodeRun,
        WorkflowWrite,
        WorkflowValidate,
        WorkflowExecute,
        WorkflowRollback,
        PromoteTarget,
        WorkflowPromote,
        ReportedNode,
        RunReportBody,
        WorkflowChange,
        WorkflowSummary,
        WorkflowFileProblem,
        WorkflowList,
        StoredWorkflow,
        WorkflowCreated,
        WorkflowUpdated,
        WorkflowDeleted,
        WorkflowCommit,
        WorkflowHistory,
        WorkflowRolledBack,
        WorkflowPromoted,
        WorkflowValidation,
        ExecutedNode,
        WorkflowExecution,
        RunRecorded
    )),
    tags((name = "workflows", description = "Workflows in the caller's volumes: list, read, \
                                             write, history, rollback, promotion, validation, \
                                             runs at the edge and run records."))
)]
pub(crate) struct Doc;

#[utoipa::path(
    get,
    path = "/workflows",
    tag = "workflows",
    operation_id = "workflows-list",
    summary = "The caller's merged view of workflows (user > team > system), or one volume's. Role: any.",
    params(
        ("user_id" = Option<String>, Query, description = "The token's user (or any, for an admin)."),
        ("team_id" = Option<String>, Query, description = "One of the token's teams (or any, for an admin); the team volume of the view."),
        ("volume" = Option<String>, Query, pattern = "^(|user|team|system|(teams|users)/[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$", description = "Only this volume (`team` needs `team_id`)."),
        ("If-None-Match" = Option<String>, Header, description = "The `ETag` of a list the client has.")
    ),
    responses(
        (status = 200, description = "Sorted by id; `errors` lists workflow files that are not readable workflows.", body = WorkflowList,
            headers(("etag" = String, description = "Names the volumes, their heads and the query."))),
        (status = 304, description = "The client's list is current."),
        (status = 400, description = "A bad id or volume.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "`user_id`, `team_id` or `volume` is not the caller's.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn workflows_list() {}

#[utoipa::path(
    post,
    path = "/workflows",
    tag = "workflows",
    operation_id = "workflows-create",
    summary = "Store a new workflow at `workflows/{id}.json` of the user's volume (or a team's, for members; the system's, for admins), its nodes pinned to their skills' latest commits. Role: a writer of the volume.",
    request_body(content = WorkflowWrite, content_type = "application/json"),
    responses(
        (status = 201, description = "Committed; invalid graphs are stored too, with their report in `validation`.", body = WorkflowCreated),
        (status = 400, description = "Malformed JSON, an unknown field, a `workflow` that is not one, a bad id, volume or message.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "The caller may not write that volume.", body = ErrorBody),
        (status = 409, description = "The volume has a workflow of that id (`workflow-exists`).", body = ErrorBody),
        (status = 413, description = "The body, or the workflow (nodes, edges or bytes), is too large.", body = ErrorBody),
        (status = 415, description = "The body is not JSON.", body = ErrorBody),
        (status = 503, description = "The volume's head kept moving.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn workflows_create() {}

#[utoipa::path(
    post,
    path = "/workflows/validate",
    tag = "workflows",
    operation_id = "workflows-validate",
    summary = "Every error and warning of a workflow against the caller's skills (or those of a volume's readers), its plan levels and, when valid, where each node runs. Stores nothing. Role: any.",
    request_body(content = WorkflowValidate, content_type = "application/json"),
    responses(
        (status = 200, description = "The report (`valid: false` for a workflow with errors).", body = WorkflowValidation),
        (status = 400, description = "Malformed JSON, an unknown field, a `workflow` that is not one, a bad id or volume.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "`user_id`, `team_id` or `volume` is not the caller's.", body = ErrorBody),
        (status = 413, description = "The body is too large.", body = ErrorBody),
        (status = 415, description = "The body is not JSON.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn workflows_validate() {}

#[utoipa::path(
    post,
    path = "/workflows/runs",
    tag = "workflows",
    operation_id = "workflows-record-run",
    summary = "Record a run the browser made (or finished, under an edge run's `run_id`) as a `workflow-run` trace of the user. Role: the user, or an admin for anyone.",
    request_body(content = RunReportBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Recorded.", body = RunRecorded),
        (status = 400, description = "Malformed JSON, an unknown field, or a report that does not hold together (`invalid-run-report`: statuses, node ids, commits, times).", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "`user_id` or `team_id` is not the caller's.", body = ErrorBody),
        (status = 409, description = "A run of that `run_id` is already recorded.", body = ErrorBody),
        (status = 413, description = "The body is too large, or the report has more nodes than a workflow may.", body = ErrorBody),
        (status = 415, description = "The body is not JSON.", body = ErrorBody),
        (status = 422, description = "The stored workflow the report names is not a readable workflow.", body = ErrorBody),
        (status = 503, description = "The user's volume kept moving.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn workflows_record_run() {}

#[utoipa::path(
    post,
    path = "/workflows/promote",
    tag = "workflows",
    operation_id = "workflows-promote",
    summary = "Copy a workflow from the user's volume to a team's (`target: team`, members) or from a team's to the system volume (`target: system`, admins), re-pinning its nodes to the same skill versions there.",
    request_body(content = WorkflowPromote, content_type = "application/json"),
    responses(
        (status = 200, description = "Committed to the target volume.", body = WorkflowPromoted),
        (status = 400, description = "Malformed JSON, an unknown field, no `team_id`, a bad id, target or reason.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "Not a member of the team, or not an admin for `system`.", body = ErrorBody),
        (status = 404, description = "The source volume has no such workflow.", body = ErrorBody),
        (status = 409, description = "The target's readers cannot read a skill version the workflow is pinned to (`skill-not-promoted`): promote the skill first.", body = ErrorBody),
        (status = 413, description = "The body is too large.", body = ErrorBody),
        (status = 415, description = "The body is not JSON.", body = ErrorBody),
        (status = 422, description = "The stored file is not a readable workflow.", body = ErrorBody),
        (status = 503, description = "The volume's head kept moving.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn workflows_promote() {}

#[utoipa::path(
    get,
    path = "/workflows/{id}",
    tag = "workflows",
    operation_id = "workflows-show",
    summary = "One workflow and where it is, from the merged view or the named volume, at its head or an older commit. Role: a reader of the volume.",
    params(
        ("id" = String, Path, pattern = "^[a-z0-9][a-z0-9_-]{0,63}$", description = "The workflow's id."),
        ("volume" = Option<String>, Query, pattern = "^(|user|team|system|(teams|users)/[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$", description = "Read it from this volume instead of the merged view."),
        ("commit" = Option<String>, Query, pattern = "^(|[0-9a-f]{40})$", description = "The version of this commit of its volume (default: the head)."),
        ("user_id" = Option<String>, Query, description = "The token's user (or any, for an admin)."),
        ("team_id" = Option<String>, Query, description = "One of the token's teams."),
        ("If-None-Match" = Option<String>, Header, description = "The `ETag` of an answer the client has.")
    ),
    responses(
        (status = 200, description = "The workflow, its volume and the commit that last changed it.", body = StoredWorkflow,
            headers(("etag" = String, description = "Names the volumes, their heads and the request."))),
        (status = 304, description = "The client's answer is current."),
        (status = 400, description = "A bad id, volume or commit.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "The volume is not the caller's.", body = ErrorBody),
        (status = 404, description = "No such workflow there (or at that commit).", body = ErrorBody),
        (status = 422, description = "The stored file is not a readable workflow.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn workflows_show() {}

#[utoipa::path(
    put,
    path = "/workflows/{id}",
    tag = "workflows",
    operation_id = "workflows-replace",
    summary = "A new version of a stored workflow, where the named volume or the merged view has it. Role: a writer of the volume.",
    params(("id" = String, Path, pattern = "^[a-z0-9][a-z0-9_-]{0,63}$", description = "The workflow's id.")),
    request_body(content = WorkflowWrite, content_type = "application/json"),
    responses(
        (status = 200, description = "Committed (or unchanged: `changed: false`).", body = WorkflowUpdated),
        (status = 400, description = "Malformed JSON, an unknown field, a `workflow` that is not one, a bad id, volume or message.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "The caller may not write that volume.", body = ErrorBody),
        (status = 404, description = "No such workflow there.", body = ErrorBody),
        (status = 413, description = "The body, or the workflow (nodes, edges or bytes), is too large.", body = ErrorBody),
        (status = 415, description = "The body is not JSON.", body = ErrorBody),
        (status = 422, description = "The workflow's `id` is not the path's (`workflow-id-mismatch`), or the stored file is not a readable workflow.", body = ErrorBody),
        (status = 503, description = "The volume's head kept moving.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn workflows_replace() {}

#[utoipa::path(
    delete,
    path = "/workflows/{id}",
    tag = "workflows",
    operation_id = "workflows-delete",
    summary = "Delete a workflow's file (its history stays). Role: a writer of the volume.",
    params(
        ("id" = String, Path, pattern = "^[a-z0-9][a-z0-9_-]{0,63}$", description = "The workflow's id."),
        ("volume" = Option<String>, Query, pattern = "^(|user|team|system|(teams|users)/[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$", description = "Where (default: where the merged view finds it)."),
        ("user_id" = Option<String>, Query, description = "The token's user (or any, for an admin)."),
        ("team_id" = Option<String>, Query, description = "One of the token's teams.")
    ),
    responses(
        (status = 200, description = "Committed.", body = WorkflowDeleted),
        (status = 400, description = "A bad id or volume.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "The caller may not write that volume.", body = ErrorBody),
        (status = 404, description = "No such workflow there.", body = ErrorBody),
        (status = 422, description = "The stored file is not a readable workflow.", body = ErrorBody),
        (status = 503, description = "The volume's head kept moving.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn workflows_delete() {}

#[utoipa::path(
    get,
    path = "/workflows/{id}/raw",
    tag = "workflows",
    operation_id = "workflows-raw",
    summary = "The workflow file exactly as stored, as a download (the export). Role: a reader of the volume.",
    params(
        ("id" = String, Path, pattern = "^[a-z0-9][a-z0-9_-]{0,63}$", description = "The workflow's id."),
        ("volume" = Option<String>, Query, pattern = "^(|user|team|system|(teams|users)/[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$", description = "Read it from this volume instead of the merged view."),
        ("user_id" = Option<String>, Query, description = "The token's user (or any, for an admin)."),
        ("team_id" = Option<String>, Query, description = "One of the token's teams.")
    ),
    responses(
        (status = 200, description = "The file, in the canonical form it was stored in.", body = Workflow,
            headers(
                ("etag" = String, description = "The file's git blob id."),
                ("x-workflow-volume" = String, description = "The volume it was read from."),
                ("x-workflow-commit" = String, description = "The commit that last changed it."),
                ("content-disposition" = String, description = "`attachment; filename=\"{id}.json\"`.")
            )),
        (status = 400, description = "A bad id or volume.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "The volume is not the caller's.", body = ErrorBody),
        (status = 404, description = "No such workflow there.", body = ErrorBody),
        (status = 422, description = "The stored file is not a readable workflow.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn workflows_raw() {}

#[utoipa::path(
    get,
    path = "/workflows/{id}/history",
    tag = "workflows",
    operation_id = "workflows-history",
    summary = "Commits that changed the workflow's file, newest first (also after a delete). Role: a reader of the volume.",
    params(
        ("id" = String, Path, pattern = "^[a-z0-9][a-z0-9_-]{0,63}$", description = "The workflow's id."),
        ("volume" = Option<String>, Query, pattern = "^(|user|team|system|(teams|users)/[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$", description = "Whose history (default: where the merged view finds it, else the user's)."),
        ("user_id" = Option<String>, Query, description = "The token's user (or any, for an admin)."),
        ("team_id" = Option<String>, Query, description = "One of the token's teams."),
        ("limit" = Option<u32>, Query, minimum = 0, maximum = 1000, description = "Page size (default 50)."),
        ("cursor" = Option<String>, Query, pattern = "^(|[0-9a-f]{40})$", description = "The `next` of the page before.")
    ),
    responses(
        (status = 200, description = "One page of commits.", body = WorkflowHistory),
        (status = 400, description = "A bad id, volume, limit or cursor.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "The volume is not the caller's.", body = ErrorBody),
        (status = 404, description = "The workflow never existed there, or the cursor is not a commit of the volume.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn workflows_history() {}

#[utoipa::path(
    post,
    path = "/workflows/{id}/rollback",
    tag = "workflows",
    operation_id = "workflows-rollback",
    summary = "Restore the workflow as it was at a commit, as a new commit (also after a delete). Role: a writer of the volume.",
    params(("id" = String, Path, pattern = "^[a-z0-9][a-z0-9_-]{0,63}$", description = "The workflow's id.")),
    request_body(content = WorkflowRollback, content_type = "application/json"),
    responses(
        (status = 200, description = "Committed (or already so: `changed: false`).", body = WorkflowRolledBack),
        (status = 400, description = "Malformed JSON, an unknown field, a bad id, volume or commit.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "The caller may not write that volume.", body = ErrorBody),
        (status = 404, description = "The commit is not in the volume or has no such workflow.", body = ErrorBody),
        (status = 413, description = "The body is too large.", body = ErrorBody),
        (status = 415, description = "The body is not JSON.", body = ErrorBody),
        (status = 422, description = "The old version is not a readable workflow.", body = ErrorBody),
        (status = 503, description = "The volume's head kept moving.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn workflows_rollback() {}

#[utoipa::path(
    post,
    path = "/workflows/{id}/execute",
    tag = "workflows",
    operation_id = "workflows-execute",
    summary = "Run a stored workflow at the edge: built-in nodes and compiled skills placed here run; browser nodes come back pending with their inputs and code. A finished run is recorded as a trace. Role: a reader of the volume.",
    params(("id" = String, Path, pattern = "^[a-z0-9][a-z0-9_-]{0,63}$", description = "The workflow's id.")),
    request_body(description = "Optional (an empty body is `{}`): inputs, and which version to run.", content = Option<WorkflowExecute>, content_type = "application/json"),
    responses(
        (status = 200, description = "What each node did; `status: pending` while nodes are left to the browser.", body = WorkflowExecution),
        (status = 400, description = "Malformed JSON, an unknown field, a bad id, volume, commit or `inputs` (a node or input the workflow does not have).", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "`user_id`, `team_id` or `volume` is not the caller's.", body = ErrorBody),
        (status = 404, description = "No such workflow there (or at that commit).", body = ErrorBody),
        (status = 413, description = "The body, or the run's record, is too large.", body = ErrorBody),
        (status = 415, description = "The body is not JSON.", body = ErrorBody),
        (status = 422, description = "The workflow does not validate (`workflow-invalid`, with its report in `validation` beside `error`), or the stored file is not a readable workflow.", body = ErrorBody),
        (status = 503, description = "The limits of compiled skills are misconfigured, or the user's volume kept moving.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn workflows_execute() {}
