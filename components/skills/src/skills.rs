//! `/skills/...`: listing, reading, writing, history, rollback, diff and
//! promotion of skills. Reads go through the catalog (refreshed first, so
//! they reflect every commit); writes commit to git on the head they
//! checked, then refresh the catalog, so the next list shows them.

use std::collections::HashMap;

use llmos_core::ids::{SkillId, VolumeId};
use llmos_core::skill::component::{Language, component_path};
use llmos_core::skill::{self, SkillStatus};
use llmos_guest::answers;
use llmos_guest::api::CommitEntry;
use llmos_guest::api::skills::{
    PromoteRequest, RollbackRequest, SkillAnswer, SkillCreated, SkillDeleted, SkillDiff,
    SkillHistory, SkillList, SkillPromoted, SkillRolledBack, SkillUpdated,
};
use llmos_guest::http::{self, Query};
use llmos_guest::{ApiError, ApiResult};
use llmos_store::catalog::{CatalogEntry, FreshState, ListQuery, SkillLocation, TypeFilter};
use llmos_store::volume::{At, CommitMeta, CommitRequest};
use serde_json::value::RawValue;
use spin_sdk::http::{Request, Response};

use crate::app::{App, commit_id};
use crate::body::{self, Format, Target};
use crate::errors;

/// Largest `limit` of a listing or history page.
const MAX_PAGE: usize = 10_000;

/// Largest `offset` of a listing.
const MAX_OFFSET: usize = 1_000_000;

/// Default and largest number of commits in a history page.
const HISTORY_PAGE: usize = 50;
const MAX_HISTORY_PAGE: usize = 1000;

/// Longest promotion reason, in characters.
const MAX_REASON: usize = 2000;

pub(crate) fn skill_id(text: &str) -> ApiResult<SkillId> {
    Ok(SkillId::new(text)?)
}

pub(crate) fn not_found(id: &SkillId, place: &str) -> ApiError {
    ApiError::not_found("skill-not-found", format!("no skill `{id}` in {place}"))
}

fn bad_query(name: &str, err: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request("invalid-query", format!("query parameter `{name}`: {err}"))
}

/// `GET /skills`: the caller's merged view, filtered, ranked and paged.
pub fn list(app: &App, req: &Request) -> ApiResult<Response> {
    let q = Query::of(req);
    let (user_id, team_id) = (q.get("user_id"), q.get("team_id"));
    let view = app.view(user_id, team_id)?;
    let mut query = ListQuery {
        q: q.get("q").map(str::to_owned),
        category: q.get("category").map(str::to_owned),
        ..ListQuery::default()
    };
    if let Some(kind) = q.get("type") {
        query.kind = Some(
            kind.parse::<TypeFilter>()
                .map_err(|e| bad_query("type", e))?,
        );
    }
    if let Some(status) = q.get("status") {
        query.status = Some(
            status
                .parse::<SkillStatus>()
                .map_err(|e| bad_query("status", e))?,
        );
    }
    let mut scope = view.clone();
    if let Some(volume) = q.get("volume") {
        let volume = app.readable(volume, user_id, team_id)?;
        scope = vec![volume.clone()];
        query.volume = Some(volume);
    }
    query.offset = q.get_usize("offset", 0, MAX_OFFSET)?;
    query.limit = match q.get("limit") {
        Some(_) => Some(q.get_usize("limit", 0, MAX_PAGE)?),
        None => None,
    };
    let key = answer_key("skills-listing", &view, req.query());
    if let Some(response) = kept_read(app, req, &key, &scope)? {
        return Ok(response);
    }
    let state = app.fresh_state(&scope)?;
    let tag = state_tag(&key, &state);
    answers::serve(req, app.db, &key, tag.as_deref(), READ_HEADERS, || {
        let catalog = app.catalog();
        let listing = catalog
            .list_summaries(&view, &query)
            .map_err(errors::catalog)?;
        let problems = catalog.problems(&scope).map_err(errors::catalog)?;
        // Summaries are stored as JSON: they are passed through, not re-encoded.
        let skills = listing
            .summaries
            .iter()
            .map(|summary| serde_json::from_str::<&RawValue>(summary))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ApiError::internal(format_args!("a stored summary is not JSON: {e}")))?;
        let body = serde_json::to_vec(&SkillList {
            total: listing.total,
            offset: query.offset,
            limit: query.limit,
            skills,
            errors: &problems,
        })
        .map_err(ApiError::internal)?;
        Ok(("application/json".to_owned(), body))
    })
}

/// A read's answer may be kept by the caller's own cache but must be
/// checked with the server (`If-None-Match`) before each use; it depends
/// on who asks.
const READ_HEADERS: &[(&str, &str)] = &[
    ("cache-control", "private, no-cache"),
    ("vary", "authorization"),
];

/// Bump when the bytes of a kept answer change for the same state, so
/// answers kept by an earlier version are not served.
const ANSWER_FORMAT: u32 = 1;

/// The entity tag of a read kept under `key` ([`answer_key`]): a digest
/// of the key and the commit each volume's index reflects. `None` while a
/// concurrent refresh is still bringing the index to a head: then nothing
/// names the state exactly.
///
/// Heads are read before the answer is built, and an index only moves on
/// to newer commits, so a tag never names a state newer than its body.
fn state_tag(key: &str, state: &FreshState) -> Option<String> {
    state.settled.then(|| answers::tag(key, &state.heads))
}

/// The one-statement path of a kept read: the heads of `scope` and the
/// answer kept under `key`, read together. When every index of the scope
/// reflects its head, answers `304` (the request's `If-None-Match` names
/// the current tag) or the kept answer (built at the current tag); `None`
/// sends the caller on the full path (refresh, build, keep).
fn kept_read(
    app: &App,
    req: &Request,
    key: &str,
    scope: &[VolumeId],
) -> ApiResult<Option<Response>> {
    let params = scope
        .iter()
        .map(|v| spin_sdk::sqlite::Value::Text(v.to_string()))
        .collect();
    let (rows, kept) = answers::lookup_with_state(
        req,
        app.db,
        &llmos_store::catalog::heads_query(scope.len()),
        params,
        key,
    )?;
    let rows: Vec<Vec<llmos_store::SqlValue>> = rows
        .into_iter()
        .map(|row| row.into_iter().map(llmos_guest::db::from_spin).collect())
        .collect();
    // The system volume is imported on the first look at it (full path).
    let required: &[VolumeId] = if scope.contains(&VolumeId::System) {
        &[VolumeId::System]
    } else {
        &[]
    };
    let Some(heads) = llmos_store::catalog::settled_heads(scope, required, &rows) else {
        return Ok(None);
    };
    let tag = answers::tag(key, &heads);
    if http::if_none_match(req, &tag) {
        return Ok(Some(answers::not_modified(&tag, READ_HEADERS)));
    }
    Ok(match kept {
        Some((kept_tag, Some(ready))) if kept_tag == tag => {
            Some(answers::answer(&tag, READ_HEADERS, ready))
        }
        _ => None,
    })
}

/// What a read asks, whatever the state: the key its ready answer is kept
/// under ([`answers::key`]), over the volumes it looks at in shadowing
/// order; `request` is its path and query parameters.
fn answer_key(what: &str, view: &[VolumeId], request: &str) -> String {
    let format = format!("{} {ANSWER_FORMAT}", llmos_store::catalog::INDEX_FORMAT);
    answers::key(what, &format, view, request)
}

/// The skill a read names: in `?volume=`, else in the merged view.
pub(crate) fn resolve(app: &App, q: &Query, id: &SkillId) -> ApiResult<CatalogEntry> {
    let (user_id, team_id) = (q.get("user_id"), q.get("team_id"));
    let catalog = app.catalog();
    match q.get("volume") {
        Some(volume) => {
            let volume = app.readable(volume, user_id, team_id)?;
            app.fresh(std::slice::from_ref(&volume))?;
            catalog
                .get_in(&volume, id)
                .map_err(errors::catalog)?
                .ok_or_else(|| not_found(id, &volume.to_string()))
        }
        None => {
            let view = app.view(user_id, team_id)?;
            app.fresh(&view)?;
            catalog
                .get(&view, id)
                .map_err(errors::catalog)?
                .ok_or_else(|| not_found(id, "the volumes visible to this caller"))
        }
    }
}

/// The stored bytes of an indexed skill.
pub(crate) fn file_bytes(app: &App, entry: &CatalogEntry) -> ApiResult<Vec<u8>> {
    use llmos_store::ObjectStore;
    app.volumes
        .store()
        .read_object(&entry.blob)
        .map_err(ApiError::internal)?
        .map(|object| object.into_data())
        .ok_or_else(|| ApiError::internal(format_args!("blob {} is missing", entry.blob)))
}

/// `GET /skills/{id}`: the full skill, kept ready per state like a
/// listing (with an `ETag`, `304` on `If-None-Match`).
pub fn show(app: &App, req: &Request, id: &str) -> ApiResult<Response> {
    let id = skill_id(id)?;
    let q = Query::of(req);
    let (user_id, team_id) = (q.get("user_id"), q.get("team_id"));
    let (scope, volume) = match q.get("volume") {
        Some(volume) => {
            let volume = app.readable(volume, user_id, team_id)?;
            (vec![volume.clone()], Some(volume))
        }
        None => (app.view(user_id, team_id)?, None),
    };
    let key = answer_key("skill", &scope, &format!("{id}?{}", req.query()));
    if let Some(response) = kept_read(app, req, &key, &scope)? {
        return Ok(response);
    }
    let state = app.fresh_state(&scope)?;
    let tag = state_tag(&key, &state);
    answers::serve(req, app.db, &key, tag.as_deref(), READ_HEADERS, || {
        let catalog = app.catalog();
        let entry = match &volume {
            Some(volume) => catalog
                .get_in(volume, &id)
                .map_err(errors::catalog)?
                .ok_or_else(|| not_found(&id, &volume.to_string()))?,
            None => catalog
                .get(&scope, &id)
                .map_err(errors::catalog)?
                .ok_or_else(|| not_found(&id, "the volumes visible to this caller"))?,
        };
        let data = file_bytes(app, &entry)?;
        let skill = skill::parse_bytes_as(&id, Some(&entry.path), &data)
            .map_err(|e| ApiError::internal(format_args!("indexed skill no longer parses: {e}")))?;
        let mut view = skill.view();
        view.status = entry.status.or(view.status);
        // The facts come from the catalog's table, not from the bytes.
        let found = match Language::of(&skill) {
            Some(_) => Some(
                catalog
                    .component_at(&entry.volume, entry.commit, &entry.path, &skill)
                    .map_err(errors::catalog)?,
            ),
            None => None,
        };
        let body = serde_json::to_vec(&SkillAnswer {
            skill: view,
            volume: &entry.volume,
            commit: entry.commit.to_string(),
            path: &entry.path,
            component: found.as_ref().map(|c| {
                c.as_ref()
                    .map(|c| crate::components::component_view(c, &skill))
            }),
        })
        .map_err(ApiError::internal)?;
        Ok(("application/json".to_owned(), body))
    })
}

/// `GET /skills/{id}/raw`: the file exactly as stored.
pub fn raw(app: &App, req: &Request, id: &str) -> ApiResult<Response> {
    let id = skill_id(id)?;
    let entry = resolve(app, &Query::of(req), &id)?;
    let data = file_bytes(app, &entry)?;
    Ok(Response::builder()
        .status(200)
        .header("content-type", "text/markdown; charset=utf-8")
        .header("etag", format!("\"{}\"", entry.blob))
        .header("x-skill-volume", entry.volume.to_string())
        .header("x-skill-commit", entry.commit.to_string())
        .body(data)
        .build())
}

/// `POST /skills`: a new skill at `skills/<id>.md`; 409 if the volume has
/// it already (as a file or an Agent Skills directory).
pub fn create(app: &App, req: &Request) -> ApiResult<Response> {
    let format = Format::of(http::content_type(req).as_deref())?;
    let q = Query::of(req);
    let body = body::parse(format, req.body(), &q)?;
    let volume = app.writable(&body.target)?;
    let id = body.content.skill_id(q.get("skill_id"))?;
    let path = SkillLocation::File.path(&id);
    let source = body.content.to_skill(&id, path.as_str())?.into_source();
    let outcome = app.commit_guarded(&volume, |head| {
        for location in [SkillLocation::File, SkillLocation::AgentSkill] {
            let existing = location.path(&id);
            if app.exists(&volume, head, &existing)? {
                return Err(ApiError::conflict(
                    "skill-exists",
                    format!(
                        "skill `{id}` already exists in {volume} ({existing}); \
                         change it with PUT /skills/{id}"
                    ),
                ));
            }
        }
        Ok(
            CommitRequest::new(app.author(), format!("Create skill {id}"))
                .put(path.clone(), source.clone()),
        )
    })?;
    app.fresh(std::slice::from_ref(&volume))?;
    http::created(&SkillCreated {
        status: "created",
        skill_id: &id,
        volume: &volume,
        commit: outcome.commit.to_string(),
        path: path.as_str(),
    })
}

/// `PUT /skills/{id}`: replaces the skill's file where the volume has it.
pub fn replace(app: &App, req: &Request, id: &str) -> ApiResult<Response> {
    let id = skill_id(id)?;
    let format = Format::of(http::content_type(req).as_deref())?;
    let q = Query::of(req);
    let body = body::parse(format, req.body(), &q)?;
    let volume = app.writable(&body.target)?;
    let head = app.volumes.head(&volume).map_err(errors::volume)?;
    let (location, path) = app
        .locate(&volume, &id, head)?
        .ok_or_else(|| not_found(&id, &volume.to_string()))?;
    // Validated for where it goes before anything is written; a concurrent
    // move to another layout is validated again in the loop.
    let mut sources: HashMap<SkillLocation, String> = HashMap::from([(
        location,
        body.content.to_skill(&id, path.as_str())?.into_source(),
    )]);
    let mut written = path;
    let outcome = app.commit_guarded(&volume, |head| {
        let (location, path) = app
            .locate(&volume, &id, head)?
            .ok_or_else(|| not_found(&id, &volume.to_string()))?;
        let source = match sources.get(&location) {
            Some(source) => source.clone(),
            None => {
                let source = body.content.to_skill(&id, path.as_str())?.into_source();
                sources.insert(location, source.clone());
                source
            }
        };
        written = path.clone();
        Ok(CommitRequest::new(app.author(), format!("Update skill {id}")).put(path, source))
    })?;
    app.fresh(std::slice::from_ref(&volume))?;
    http::ok(&SkillUpdated {
        status: "updated",
        skill_id: &id,
        volume: &volume,
        commit: outcome.commit.to_string(),
        path: written.as_str(),
        changed: outcome.created,
    })
}

/// `DELETE /skills/{id}?volume=`: removes the file the volume resolves
/// the id to (for an Agent Skills directory, the whole directory).
pub fn delete(app: &App, req: &Request, id: &str) -> ApiResult<Response> {
    let id = skill_id(id)?;
    let q = Query::of(req);
    let volume = app.writable(&Target {
        user_id: q.get("user_id").map(str::to_owned),
        team_id: q.get("team_id").map(str::to_owned),
        volume: q.get("volume").map(str::to_owned),
    })?;
    let outcome = app.commit_guarded(&volume, |head| {
        let (location, path) = app
            .locate(&volume, &id, head)?
            .ok_or_else(|| not_found(&id, &volume.to_string()))?;
        let mut request = CommitRequest::new(app.author(), format!("Delete skill {id}"));
        match (location, head, path.parent()) {
            (SkillLocation::AgentSkill, Some(head), Some(dir)) => {
                let files = app
                    .volumes
                    .list_files(&volume, Some(&dir), At::Commit(head), true)
                    .map_err(errors::volume)?;
                for file in files {
                    request = request.delete(listed_path(&file.path)?);
                }
            }
            _ => {
                // The component goes with its skill file.
                if let Some(wasm) = companion(&path)?
                    && app.exists(&volume, head, &wasm)?
                {
                    request = request.delete(wasm);
                }
                request = request.delete(path);
            }
        }
        Ok(request)
    })?;
    app.fresh(std::slice::from_ref(&volume))?;
    http::ok(&SkillDeleted {
        status: "deleted",
        skill_id: &id,
        volume: &volume,
        commit: outcome.commit.to_string(),
    })
}

/// The component path beside a skill file (`skills/<id>.md` →
/// `skills/<id>.wasm`); none for Agent Skills directories.
pub(crate) fn companion(
    path: &llmos_store::VolumePath,
) -> ApiResult<Option<llmos_store::VolumePath>> {
    component_path(path.as_str())
        .map(|p| listed_path(&p))
        .transpose()
}

/// A path the store listed or indexed: valid by construction.
pub(crate) fn listed_path(path: &str) -> ApiResult<llmos_store::VolumePath> {
    llmos_store::VolumePath::new(path).map_err(ApiError::internal)
}

/// The volume and path whose history a request asks for: `?volume=` (or
/// the merged view's volume for the id, else the user's), and the id's
/// path there (its file path if it no longer exists).
fn history_target(
    app: &App,
    q: &Query,
    id: &SkillId,
) -> ApiResult<(VolumeId, llmos_store::VolumePath)> {
    let (user_id, team_id) = (q.get("user_id"), q.get("team_id"));
    let volume = match q.get("volume") {
        Some(volume) => app.readable(volume, user_id, team_id)?,
        None => {
            let view = app.view(user_id, team_id)?;
            app.fresh(&view)?;
            match app.catalog().get(&view, id).map_err(errors::catalog)? {
                Some(entry) => return Ok((entry.volume, listed_path(&entry.path)?)),
                None => VolumeId::User(app.identity.act_as_user(user_id)?),
            }
        }
    };
    let head = app.volumes.head(&volume).map_err(errors::volume)?;
    let path = app
        .locate(&volume, id, head)?
        .map_or_else(|| SkillLocation::File.path(id), |(_, path)| path);
    Ok((volume, path))
}

/// `GET /skills/{id}/history?volume=&limit=&cursor=`: commits that changed
/// the skill's file, newest first.
pub fn history(app: &App, req: &Request, id: &str) -> ApiResult<Response> {
    let id = skill_id(id)?;
    let q = Query::of(req);
    let (volume, path) = history_target(app, &q, &id)?;
    let start = q
        .get("cursor")
        .map(|c| commit_id("cursor", c))
        .transpose()?;
    // A skill's history includes its component's commits (builds).
    let mut paths = vec![path.clone()];
    paths.extend(companion(&path)?);
    let page = app
        .volumes
        .history_of(
            &volume,
            &paths,
            start,
            q.get_usize("limit", HISTORY_PAGE, MAX_HISTORY_PAGE)?,
        )
        .map_err(errors::volume)?;
    if page.entries.is_empty() && start.is_none() {
        return Err(not_found(&id, &volume.to_string()));
    }
    http::ok(&SkillHistory {
        skill_id: &id,
        volume: &volume,
        path: path.as_str(),
        commits: page
            .entries
            .iter()
            .map(|e| CommitEntry::of(&e.commit))
            .collect(),
        next: page.next.map(|c| c.to_string()),
    })
}

/// `POST /skills/{id}/rollback {"volume","commit"}`: a new commit that
/// restores the skill's file as it was at `commit`.
pub fn rollback(app: &App, req: &Request, id: &str) -> ApiResult<Response> {
    let id = skill_id(id)?;
    let body: RollbackRequest = body::read_object(req)?;
    let volume = app.writable(&Target {
        user_id: body.user_id,
        team_id: body.team_id,
        volume: body.volume,
    })?;
    let commit = commit_id("commit", &body.commit)?;
    let (_, path) = app.locate(&volume, &id, Some(commit))?.ok_or_else(|| {
        ApiError::not_found(
            "skill-not-in-commit",
            format!("skill `{id}` does not exist in {volume} at commit {commit}"),
        )
    })?;
    let old = app
        .volumes
        .read_file(&volume, &path, At::Commit(commit))
        .map_err(errors::volume)?;
    skill::parse_bytes_as(&id, Some(path.as_str()), &old.data).map_err(|e| errors::skill(&e))?;
    let short = &commit.to_string()[..12];
    let meta = CommitMeta::new(app.author(), format!("Roll back skill {id} to {short}"));
    // The component comes back (or goes) with the file, in one commit.
    let companions: Vec<_> = companion(&path)?.into_iter().collect();
    let outcome = app
        .volumes
        .rollback_files(&volume, &path, &companions, commit, &meta)
        .map_err(errors::volume)?;
    app.fresh(std::slice::from_ref(&volume))?;
    http::ok(&SkillRolledBack {
        status: "rolled-back",
        skill_id: &id,
        volume: &volume,
        commit: outcome.commit.to_string(),
        restored: commit.to_string(),
    })
}

/// `GET /skills/{id}/diff?volume=&from=&to=`: a unified diff of the
/// skill's file between two commits of the volume (`to` defaults to the
/// head).
pub fn diff(app: &App, req: &Request, id: &str) -> ApiResult<Response> {
    let id = skill_id(id)?;
    let q = Query::of(req);
    let (volume, head_path) = history_target(app, &q, &id)?;
    let from = q
        .get("from")
        .ok_or_else(|| ApiError::bad_request("missing-query", "query parameter `from` is required"))
        .and_then(|c| commit_id("from", c))?;
    let to = match q.get("to") {
        Some(c) => commit_id("to", c)?,
        None => app
            .volumes
            .head(&volume)
            .map_err(errors::volume)?
            .ok_or_else(|| not_found(&id, &volume.to_string()))?,
    };
    let path = match app.locate(&volume, &id, Some(to))? {
        Some((_, path)) => path,
        None => app
            .locate(&volume, &id, Some(from))?
            .map_or(head_path, |(_, path)| path),
    };
    let diff = app
        .volumes
        .diff(&volume, &path, from, to)
        .map_err(errors::volume)?;
    http::ok(&SkillDiff {
        skill_id: &id,
        volume: &volume,
        path: &diff.path,
        from: from.to_string(),
        to: to.to_string(),
        binary: diff.binary,
        diff: &diff.unified,
    })
}

/// `POST /skills/promote`: copies a skill's blob from a user's volume to a
/// team's (`target: "team"`, for members) or from a team's to the system
/// volume (`target: "system"`, admins only).
pub fn promote(app: &App, req: &Request) -> ApiResult<Response> {
    let body: PromoteRequest = body::read_object(req)?;
    let id = skill_id(&body.skill_id)?;
    let (user, team) = app.principals(body.user_id.as_deref(), body.team_id.as_deref())?;
    let team = team.ok_or_else(|| {
        ApiError::bad_request(
            "missing-field",
            "request body: `team_id` is required to promote",
        )
    })?;
    let (from, to) = match body.target.as_deref().unwrap_or("team") {
        "team" => (VolumeId::User(user), VolumeId::Team(team)),
        "system" => {
            if !app.identity.is_admin() {
                return Err(ApiError::forbidden(format!(
                    "user `{}` may not promote to the system volume; only admins do",
                    app.identity.user_id
                )));
            }
            (VolumeId::Team(team), VolumeId::System)
        }
        other => {
            return Err(ApiError::bad_request(
                "invalid-target",
                format!(
                    "`target` must be `team` or `system`, got `{}`",
                    other.escape_default()
                ),
            ));
        }
    };
    app.identity.require_read(&from)?;
    app.identity.require_write(&to)?;
    let reason = body
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if reason.is_some_and(|r| r.chars().count() > MAX_REASON || r.contains('\0')) {
        return Err(ApiError::bad_request(
            "invalid-reason",
            format!("`reason` must be at most {MAX_REASON} characters of text"),
        ));
    }
    app.fresh(&[from.clone(), to.clone()])?;
    let entry = app
        .catalog()
        .get_in(&from, &id)
        .map_err(errors::catalog)?
        .ok_or_else(|| not_found(&id, &from.to_string()))?;
    let path = listed_path(&entry.path)?;
    let message = match reason {
        Some(reason) => format!("Promote skill {id} from {from}: {reason}"),
        None => format!("Promote skill {id} from {from}"),
    };
    // The component travels with the file, by blob id.
    let companions: Vec<_> = companion(&path)?.into_iter().collect();
    let promotion = app
        .volumes
        .promote_files(
            &from,
            &path,
            &companions,
            &to,
            &CommitMeta::new(app.author(), message),
        )
        .map_err(errors::volume)?;
    app.fresh(std::slice::from_ref(&to))?;
    http::ok(&SkillPromoted {
        status: "promoted",
        skill_id: &id,
        from: &from,
        to: &to,
        commit: promotion.outcome.commit.to_string(),
        blob: promotion.blob.to_string(),
        path: path.as_str(),
    })
}
