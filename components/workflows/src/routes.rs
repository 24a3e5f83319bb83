//! `/workflows/...` storage routes: list, read, raw file, create, replace,
//! delete, history, rollback and promotion. Writes commit to git on the
//! head they checked (see [`App::commit_guarded`]); reads go to git.

use llmos_core::ids::VolumeId;
use llmos_core::workflow::api::{
    HISTORY_PAGE, MAX_HISTORY_PAGE, MAX_MESSAGE_CHARS, PromoteTarget, StoredWorkflow,
    WorkflowChange, WorkflowCommit, WorkflowCreated, WorkflowDeleted, WorkflowHistory,
    WorkflowList, WorkflowPromote, WorkflowPromoted, WorkflowRollback, WorkflowRolledBack,
    WorkflowSummary, WorkflowUpdated, WorkflowWrite,
};
use llmos_core::workflow::{ValidationReport, Workflow, validate};
use llmos_guest::answers;
use llmos_guest::http::{self, Query};
use llmos_guest::{ApiError, ApiResult};
use llmos_store::CommitInfo;
use llmos_store::volume::{At, CommitMeta, CommitRequest, HistoryQuery};
use serde_json::Value;
use spin_sdk::http::{Request, Response};

use crate::app::{App, Target, commit_id, volume_error};
use crate::files::{self, Change, Stored, path_of, rfc3339, workflow_id};
use crate::versions::{Versions, pin_nodes};

/// Reads a JSON object body (an empty body counts as `{}` when
/// `empty_ok`). Arrays and scalars are refused: serde would read a struct
/// from an array positionally, which an API body never means.
pub fn read_body<T: serde::de::DeserializeOwned>(req: &Request, empty_ok: bool) -> ApiResult<T> {
    if let Some(ct) = http::content_type(req)
        && !http::is_json_media_type(&ct)
    {
        return Err(ApiError::unsupported_media_type(format!(
            "expected a JSON body (Content-Type: application/json), got `{ct}`"
        )));
    }
    let body = req.body();
    if empty_ok && body.iter().all(u8::is_ascii_whitespace) {
        return http::parse_json(b"{}");
    }
    if body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b != b'{')
    {
        return Err(ApiError::bad_request(
            "invalid-request",
            "request body: expected a JSON object",
        ));
    }
    http::parse_json(body)
}

/// The `workflow` of a request: a JSON object in the workflow format.
pub fn workflow_of(value: Value) -> ApiResult<Workflow> {
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "invalid-workflow",
            "`workflow` must be a JSON object with `nodes` and `edges`",
        ));
    }
    Workflow::from_value(value)
        .map_err(|e| ApiError::bad_request("invalid-workflow", e.to_string()))
}

fn message_of(text: Option<&str>, field: &str) -> ApiResult<Option<String>> {
    let text = text.map(str::trim).filter(|t| !t.is_empty());
    if text.is_some_and(|t| t.chars().count() > MAX_MESSAGE_CHARS || t.contains('\0')) {
        return Err(ApiError::bad_request(
            "invalid-message",
            format!("`{field}` must be at most {MAX_MESSAGE_CHARS} characters of text"),
        ));
    }
    Ok(text.map(str::to_owned))
}

/// The volumes whose skills a workflow stored in `volume` may use: all of
/// the caller's view for a user's own workflow, the team's and the
/// system's for a team workflow, the system's for a system workflow; so a
/// stored workflow is pinned only to versions its readers can run.
pub fn skill_scope(volume: &VolumeId, view: &[VolumeId]) -> Vec<VolumeId> {
    match volume {
        VolumeId::User(_) => view.to_vec(),
        VolumeId::Team(_) => vec![volume.clone(), VolumeId::System],
        VolumeId::System => vec![VolumeId::System],
    }
}

/// A stored workflow as the API shows it: where it is and its last change.
fn summary(stored: &Stored) -> WorkflowSummary {
    WorkflowSummary {
        id: stored.id.clone(),
        name: stored.workflow.name.clone(),
        volume: stored.volume.clone(),
        commit: stored.last_change.as_ref().map(|info| info.id.to_string()),
        updated_at: stored
            .last_change
            .as_ref()
            .map(|info| rfc3339(info.author.time.seconds)),
        nodes: stored.workflow.nodes.len(),
        edges: stored.workflow.edges.len(),
    }
}

/// Where a read or write of an existing workflow goes: the named volume,
/// else the first volume of the merged view that has the workflow.
fn locate(app: &App, target: &Target, id: &str, change: Change) -> ApiResult<Stored> {
    match app.named_volume(target)? {
        Some(volume) => files::load_in(app, &volume, id, None, change),
        None => files::resolve(app, &app.view(target)?, id, change),
    }
}

/// `GET /workflows?user_id&team_id&volume`: the merged view (a user's
/// workflow shadows a team's of the same id, which shadows a system one),
/// or one volume's.
pub fn list(app: &App, req: &Request) -> ApiResult<Response> {
    let target = Target::of_query(&Query::of(req));
    let scope = match app.named_volume(&target)? {
        Some(volume) => {
            app.identity.require_read(&volume)?;
            vec![volume]
        }
        None => app.view(&target)?,
    };
    // Kept ready per state of the volumes it reads (`llmos_guest::answers`).
    answers::serve_by_heads(
        req,
        app.db,
        "workflows-list",
        &scope,
        req.query(),
        READ_HEADERS,
        || {
            let (listed, errors) = files::list(app, &scope)?;
            let workflows: Vec<WorkflowSummary> =
                listed.iter().map(|l| summary(&l.stored)).collect();
            let body = serde_json::to_vec(&WorkflowList {
                total: workflows.len(),
                workflows,
                errors,
            })
            .map_err(ApiError::internal)?;
            Ok(("application/json".to_owned(), body))
        },
    )
}

/// A read's answer may be kept by the caller's own cache but must be
/// checked with the server (`If-None-Match`) before each use; it depends
/// on who asks.
const READ_HEADERS: &[(&str, &str)] = &[
    ("cache-control", "private, no-cache"),
    ("vary", "authorization"),
];

/// `GET /workflows/{id}?volume&commit`: the workflow with where it is;
/// `commit` reads an older version. Kept ready per state of the volumes
/// it may come from.
pub fn show(app: &App, req: &Request, id: &str) -> ApiResult<Response> {
    let id = workflow_id(id)?;
    let q = Query::of(req);
    let target = Target::of_query(&q);
    let scope = match app.named_volume(&target)? {
        Some(volume) => {
            app.identity.require_read(&volume)?;
            vec![volume]
        }
        None => app.view(&target)?,
    };
    let request = format!("{id}?{}", req.query());
    answers::serve_by_heads(
        req,
        app.db,
        "workflow",
        &scope,
        &request,
        READ_HEADERS,
        || {
            let stored = match q.get("commit") {
                None => locate(app, &target, &id, Change::Find)?,
                Some(commit) => {
                    let commit = commit_id("commit", commit)?;
                    let volume = match app.named_volume(&target)? {
                        Some(volume) => volume,
                        None => locate(app, &target, &id, Change::Skip)?.volume,
                    };
                    files::load_in(app, &volume, &id, Some(commit), Change::Find)?
                }
            };
            let body = serde_json::to_vec(&StoredWorkflow {
                summary: summary(&stored),
                workflow: stored.workflow,
            })
            .map_err(ApiError::internal)?;
            Ok(("application/json".to_owned(), body))
        },
    )
}

/// `GET /workflows/{id}/raw`: the file exactly as stored (the export).
pub fn raw(app: &App, req: &Request, id: &str) -> ApiResult<Response> {
    let id = workflow_id(id)?;
    let stored = locate(app, &Target::of_query(&Query::of(req)), &id, Change::Find)?;
    let file = files::read_in(app, &stored.volume, &id, At::Head)?
        .ok_or_else(|| ApiError::not_found("workflow-not-found", format!("no workflow `{id}`")))?;
    let mut response = Response::builder();
    response
        .status(200)
        .header("content-type", "application/json")
        .header("etag", format!("\"{}\"", file.blob))
        .header("x-workflow-volume", stored.volume.to_string())
        .header(
            "content-disposition",
            format!("attachment; filename=\"{id}.json\""),
        );
    if let Some(info) = &stored.last_change {
        response.header("x-workflow-commit", info.id.to_string());
    }
    Ok(response.body(file.data).build())
}

fn write_target(body: &WorkflowWrite) -> Target {
    Target::of_body(&body.user_id, &body.team_id, &body.volume)
}

/// A new id for a workflow that has none: its name as a slug and six
/// random characters (as the page makes them).
fn new_id(name: &str) -> String {
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
    let mut random = [0u8; 6];
    let _ = getrandom::fill(&mut random);
    let suffix: String = random
        .iter()
        .map(|b| char::from(DIGITS[usize::from(*b) % DIGITS.len()]))
        .collect();
    format!("{slug}-{suffix}")
}

/// Prepares a workflow for storing in `volume`: the id set, size checked,
/// unpinned nodes pinned, validated against the skills its readers see.
fn prepare(
    app: &App,
    target: &Target,
    volume: &VolumeId,
    id: &str,
    mut workflow: Workflow,
) -> ApiResult<(Workflow, Vec<u8>, Vec<String>, ValidationReport)> {
    workflow.id = id.to_owned();
    let scope = skill_scope(volume, &app.view(target)?);
    let mut versions = Versions::new(app, &scope);
    let catalog = versions.catalog_for(&workflow)?;
    let pinned = pin_nodes(&mut workflow, &catalog);
    // Pins made here are latest versions, already in the catalog.
    let report = validate(&workflow, &catalog);
    let text = workflow.to_canonical_json();
    files::check_size(&workflow, text.len())?;
    Ok((workflow, text.into_bytes(), pinned, report))
}

/// `POST /workflows {"user_id"?, "team_id"?, "volume"?, "workflow", "message"?}`:
/// stores a new workflow (201); 409 if the volume has one of that id.
/// Invalid graphs are stored too (a canvas is saved while being built);
/// the answer carries their validation report.
pub fn create(app: &App, req: &Request) -> ApiResult<Response> {
    let body: WorkflowWrite = read_body(req, false)?;
    let target = write_target(&body);
    let workflow = workflow_of(body.workflow)?;
    let message = message_of(body.message.as_deref(), "message")?;
    let id = if workflow.id.is_empty() {
        new_id(&workflow.name)
    } else {
        workflow_id(&workflow.id)?
    };
    let volume = app.writable(&target)?;
    let (workflow, bytes, pinned, report) = prepare(app, &target, &volume, &id, workflow)?;
    let path = path_of(&id);
    let message = message.unwrap_or_else(|| format!("Create workflow {id}"));
    let outcome = app.commit_guarded(&volume, |head| {
        if head.is_some() && files::read_in(app, &volume, &id, At::Head)?.is_some() {
            return Err(ApiError::conflict(
                "workflow-exists",
                format!(
                    "workflow `{id}` already exists in {volume}; change it with PUT /workflows/{id}"
                ),
            ));
        }
        Ok(CommitRequest::new(app.author(), message.clone()).put(path.clone(), bytes.clone()))
    })?;
    http::created(&WorkflowCreated {
        status: WorkflowChange::Created,
        id,
        name: workflow.name,
        volume,
        commit: outcome.commit.to_string(),
        path: path.to_string(),
        pinned,
        validation: report,
    })
}

/// `PUT /workflows/{id}`: a new version of a stored workflow, where the
/// named volume or the merged view has it.
pub fn replace(app: &App, req: &Request, id: &str) -> ApiResult<Response> {
    let id = workflow_id(id)?;
    let body: WorkflowWrite = read_body(req, false)?;
    let target = write_target(&body);
    let workflow = workflow_of(body.workflow)?;
    let message = message_of(body.message.as_deref(), "message")?;
    if !workflow.id.is_empty() && workflow.id != id {
        return Err(ApiError::unprocessable(
            "workflow-id-mismatch",
            format!(
                "the workflow's `id` is `{}` but the path names `{id}`",
                workflow.id.escape_default()
            ),
        ));
    }
    let volume = locate(app, &target, &id, Change::Skip)?.volume;
    app.identity.require_write(&volume)?;
    let (workflow, bytes, pinned, report) = prepare(app, &target, &volume, &id, workflow)?;
    let path = path_of(&id);
    let message = message.unwrap_or_else(|| format!("Update workflow {id}"));
    let outcome = app.commit_guarded(&volume, |_| {
        if files::read_in(app, &volume, &id, At::Head)?.is_none() {
            return Err(ApiError::not_found(
                "workflow-not-found",
                format!("no workflow `{id}` in {volume}"),
            ));
        }
        Ok(CommitRequest::new(app.author(), message.clone()).put(path.clone(), bytes.clone()))
    })?;
    http::ok(&WorkflowUpdated {
        status: WorkflowChange::Updated,
        id,
        name: workflow.name,
        volume,
        commit: outcome.commit.to_string(),
        changed: outcome.created,
        path: path.to_string(),
        pinned,
        validation: report,
    })
}

/// `DELETE /workflows/{id}?volume=`: removes the file (its history stays).
pub fn delete(app: &App, req: &Request, id: &str) -> ApiResult<Response> {
    let id = workflow_id(id)?;
    let volume = locate(app, &Target::of_query(&Query::of(req)), &id, Change::Skip)?.volume;
    app.identity.require_write(&volume)?;
    let path = path_of(&id);
    let outcome = app.commit_guarded(&volume, |_| {
        if files::read_in(app, &volume, &id, At::Head)?.is_none() {
            return Err(ApiError::not_found(
                "workflow-not-found",
                format!("no workflow `{id}` in {volume}"),
            ));
        }
        Ok(CommitRequest::new(app.author(), format!("Delete workflow {id}")).delete(path.clone()))
    })?;
    http::ok(&WorkflowDeleted {
        status: WorkflowChange::Deleted,
        id,
        volume,
        commit: outcome.commit.to_string(),
    })
}

/// The volume whose history of `id` a request means: the named one, the
/// one the merged view resolves the id to, else the user's own (so the
/// history of a deleted workflow stays reachable).
fn history_volume(app: &App, target: &Target, id: &str) -> ApiResult<VolumeId> {
    if let Some(volume) = app.named_volume(target)? {
        app.identity.require_read(&volume)?;
        return Ok(volume);
    }
    for volume in app.view(target)? {
        if files::read_in(app, &volume, id, At::Head)?.is_some() {
            return Ok(volume);
        }
    }
    Ok(VolumeId::User(app.principals(target)?.0))
}

/// `GET /workflows/{id}/history?volume&limit&cursor`: commits that changed
/// the workflow's file, newest first.
pub fn history(app: &App, req: &Request, id: &str) -> ApiResult<Response> {
    let id = workflow_id(id)?;
    let q = Query::of(req);
    let volume = history_volume(app, &Target::of_query(&q), &id)?;
    let start = q
        .get("cursor")
        .map(|c| commit_id("cursor", c))
        .transpose()?;
    let page = app
        .volumes
        .history(
            &volume,
            &HistoryQuery {
                path: Some(path_of(&id)),
                start,
                limit: q.get_usize("limit", HISTORY_PAGE, MAX_HISTORY_PAGE)?,
            },
        )
        .map_err(volume_error)?;
    if page.entries.is_empty() && start.is_none() {
        return Err(ApiError::not_found(
            "workflow-not-found",
            format!("workflow `{id}` has no history in {volume}"),
        ));
    }
    let commits = page
        .entries
        .iter()
        .map(|e| commit_entry(&e.commit, e.entry.is_none()))
        .collect();
    http::ok(&WorkflowHistory {
        path: path_of(&id).to_string(),
        id,
        volume,
        commits,
        next: page.next.map(|c| c.to_string()),
    })
}

/// A commit of a workflow's history; `deleted` when it removed the file.
fn commit_entry(info: &CommitInfo, deleted: bool) -> WorkflowCommit {
    WorkflowCommit {
        commit: info.id.to_string(),
        message: info.message.clone(),
        author: info.author.name.clone(),
        email: info.author.email.clone(),
        timestamp: info.author.time.seconds,
        deleted,
    }
}

/// `POST /workflows/{id}/rollback {"commit", "volume"?}`: a new commit
/// restoring the workflow as it was at `commit` (also after a delete).
pub fn rollback(app: &App, req: &Request, id: &str) -> ApiResult<Response> {
    let id = workflow_id(id)?;
    let body: WorkflowRollback = read_body(req, false)?;
    let commit = commit_id("commit", &body.commit)?;
    let target = Target::of_body(&body.user_id, &body.team_id, &body.volume);
    let volume = history_volume(app, &target, &id)?;
    app.identity.require_write(&volume)?;
    let old = files::read_in(app, &volume, &id, At::Commit(commit))?.ok_or_else(|| {
        ApiError::not_found(
            "workflow-not-in-commit",
            format!("workflow `{id}` does not exist in {volume} at commit {commit}"),
        )
    })?;
    files::parse_file(&volume, path_of(&id).as_str(), &old.data)?;
    let short = &commit.to_string()[..12];
    let meta = CommitMeta::new(app.author(), format!("Roll back workflow {id} to {short}"));
    let outcome = app
        .volumes
        .rollback(&volume, &path_of(&id), commit, &meta)
        .map_err(volume_error)?;
    http::ok(&WorkflowRolledBack {
        status: WorkflowChange::RolledBack,
        id,
        volume,
        commit: outcome.commit.to_string(),
        restored: commit.to_string(),
        changed: outcome.created,
    })
}

/// `POST /workflows/promote {"user_id"?, "team_id", "id", "reason"?,
/// "target": "team"|"system"}`: copies the user's workflow into the team
/// volume (members), or the team's into the system volume (admins).
///
/// Pins move with it: a node pinned to a skill version the new readers
/// cannot read (one in the promoter's own volume) is re-pinned to the
/// identical version (same file) in the target's scope; when there is
/// none, nothing is committed and the answer (409) names the skills to
/// promote first.
pub fn promote(app: &App, req: &Request) -> ApiResult<Response> {
    let body: WorkflowPromote = read_body(req, false)?;
    let id = workflow_id(&body.id)?;
    let target = Target::of_body(&body.user_id, &body.team_id, &None);
    let (user, team) = app.principals(&target)?;
    let team = team.ok_or_else(|| {
        ApiError::bad_request(
            "missing-field",
            "request body: `team_id` is required to promote",
        )
    })?;
    let wanted = body.target.as_deref().unwrap_or("team");
    let (from, to) = match PromoteTarget::parse(wanted) {
        Some(PromoteTarget::Team) => (VolumeId::User(user), VolumeId::Team(team)),
        Some(PromoteTarget::System) => {
            if !app.identity.is_admin() {
                return Err(ApiError::forbidden(format!(
                    "user `{}` may not promote to the system volume; only admins do",
                    app.identity.user_id
                )));
            }
            (VolumeId::Team(team), VolumeId::System)
        }
        None => {
            return Err(ApiError::bad_request(
                "invalid-target",
                format!(
                    "`target` must be `team` or `system`, got `{}`",
                    wanted.escape_default()
                ),
            ));
        }
    };
    let reason = message_of(body.reason.as_deref(), "reason")?;
    app.identity.require_read(&from)?;
    app.identity.require_write(&to)?;
    let stored = files::load_in(app, &from, &id, None, Change::Skip)?;
    let from_scope = skill_scope(&from, &app.view(&target)?);
    let to_scope = skill_scope(&to, &[]);
    let (workflow, repinned) = repin(app, &from_scope, &to_scope, &to, stored.workflow)?;
    let report = {
        let mut versions = Versions::new(app, &to_scope);
        let catalog = versions.catalog_for(&workflow)?;
        validate(&workflow, &catalog)
    };
    let bytes = workflow.to_canonical_json().into_bytes();
    let message = match reason {
        Some(reason) => format!("Promote workflow {id} from {from}: {reason}"),
        None => format!("Promote workflow {id} from {from}"),
    };
    let path = path_of(&id);
    let outcome = app.commit_guarded(&to, |_| {
        Ok(CommitRequest::new(app.author(), message.clone()).put(path.clone(), bytes.clone()))
    })?;
    http::ok(&WorkflowPromoted {
        status: WorkflowChange::Promoted,
        id,
        from,
        to,
        commit: outcome.commit.to_string(),
        path: path.to_string(),
        repinned,
        validation: report,
    })
}

/// Re-pins the nodes of a workflow moving from `from_scope` to `to_scope`
/// (see [`promote`]). Returns the workflow and the re-pinned node ids.
fn repin(
    app: &App,
    from_scope: &[VolumeId],
    to_scope: &[VolumeId],
    to: &VolumeId,
    mut workflow: Workflow,
) -> ApiResult<(Workflow, Vec<String>)> {
    let mut old = Versions::new(app, from_scope);
    let mut new = Versions::new(app, to_scope);
    app.fresh(to_scope)?;
    let catalog = app.catalog();
    let follows = crate::versions::workflow_follows_latest(&workflow);
    let mut repinned = Vec::new();
    let mut missing = Vec::new();
    for node in &mut workflow.nodes {
        let Some(pin) = node.skill_commit.clone().filter(|c| !c.is_empty()) else {
            continue;
        };
        if follows || node.follow_latest == Some(true) {
            continue;
        }
        if new.at(&node.skill_id, &pin)?.is_some() {
            continue;
        }
        let Some(version) = old.at(&node.skill_id, &pin)? else {
            // Unknown where it came from too: validation reports it.
            continue;
        };
        let skill_id = version.skill.id().clone();
        let same = to_scope
            .iter()
            .map(|volume| catalog.get_in(volume, &skill_id))
            .collect::<Result<Vec<_>, _>>()
            .map_err(crate::app::catalog_error)?
            .into_iter()
            .flatten()
            .find(|entry| entry.blob == version.blob);
        match same {
            Some(entry) => {
                node.skill_commit = Some(entry.commit.to_string());
                repinned.push(node.id.clone());
            }
            None => missing.push(format!(
                "node `{}` runs skill `{}` as of commit {} of {}",
                node.id, node.skill_id, pin, version.volume
            )),
        }
    }
    if !missing.is_empty() {
        return Err(ApiError::conflict(
            "skill-not-promoted",
            format!(
                "{to} cannot read the skill versions this workflow is pinned to: {}; \
                 promote those skills first",
                missing.join("; ")
            ),
        ));
    }
    Ok((workflow, repinned))
}
