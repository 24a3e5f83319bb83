//! `/skills/{id}/component` and `/skills/{id}/build`: the component built
//! from a compiled skill, stored beside its file (`skills/<id>.wasm`).
//!
//! Reading a component serves its bytes from git with what the catalog
//! keeps of it (SHA-256 for the entity tag), so a revalidation reads no
//! bytes at all. Writing one — an upload, or a build by the builder
//! service — checks the bytes here before anything is committed, since
//! neither an uploader nor the builder is trusted: the file must be a
//! component of the skill world importing only what the host provides
//! (`llmos-skill-runtime` loads it and calls `describe`), its ports must be
//! the front matter's, and a provenance, if present, must name the skill
//! file's current source. Only these two routes load the runtime.
//!
//! The commit is guarded by the skill file: it lands only while the file
//! is the one the component was checked against (unrelated commits, such
//! as traces, do not get in the way); otherwise nothing is written and the
//! answer is 409.

use llmos_core::ids::{SkillId, VolumeId};
use llmos_core::skill::component::{
    ComponentInfo, Language, MAX_COMPONENT_BYTES, inspect, source_digest,
};
use llmos_core::skill::{self, Skill};
use llmos_guest::api::skills::{BuildRequest, ComponentStored, ComponentView};
use llmos_guest::http::{self, Query};
use llmos_guest::{ApiError, ApiResult};
use llmos_skill_runtime::{LoadError, SkillRuntime};
use llmos_store::catalog::SkillComponent;
use llmos_store::object::ObjectId;
use llmos_store::volume::{At, CommitRequest};
use llmos_store::{VolumeError, VolumePath};
use spin_sdk::http::{Request, Response};

use crate::app::{App, commit_id};
use crate::body::{self, Target};
use crate::builder::{self, Verdict};
use crate::errors;
use crate::skills::{companion, file_bytes, listed_path, not_found, resolve, skill_id};

/// A component as skill answers show it.
pub fn component_view<'a>(component: &'a SkillComponent, skill: &Skill) -> ComponentView<'a> {
    let provenance = component.provenance.as_ref();
    ComponentView {
        sha256: &component.sha256,
        size: component.size,
        blob: component.blob.to_string(),
        path: &component.path,
        language: provenance
            .map(|p| p.language)
            .or_else(|| Language::of(skill))
            .map(Language::as_str),
        toolchain: provenance.map(|p| p.toolchain.as_str()),
        source_sha256: provenance.map(|p| p.source_sha256.as_str()),
        state: component.state,
        runnable: component.runnable,
        error: component.error.as_deref(),
    }
}

/// A compiled skill file read at one commit of one volume.
struct SkillAt {
    volume: VolumeId,
    commit: ObjectId,
    path: VolumePath,
    /// The skill file's blob at `commit`.
    blob: ObjectId,
    source: Vec<u8>,
    skill: Skill,
}

impl SkillAt {
    /// Where its component goes; 422 `skill-not-compiled` for skills that
    /// have none.
    fn component_path(&self) -> ApiResult<VolumePath> {
        let compiled = Language::of(&self.skill).is_some();
        match companion(&self.path)? {
            Some(path) if compiled => Ok(path),
            _ => Err(ApiError::unprocessable(
                "skill-not-compiled",
                format!(
                    "skill `{}` ({}) is not compiled, so it has no component: only \
                     `wasm-component` skills and `python-wasm` or `javascript` skills with \
                     `compiled: true` in skills/<id>.md are built",
                    self.skill.id(),
                    self.path
                ),
            )),
        }
    }
}

/// Reads skill `id` at `commit` of `volume` (any of its layouts).
fn skill_at(app: &App, volume: &VolumeId, id: &SkillId, commit: ObjectId) -> ApiResult<SkillAt> {
    let (_, path) = app
        .locate(volume, id, Some(commit))?
        .ok_or_else(|| not_found(id, &format!("{volume} at commit {commit}")))?;
    let file = app
        .volumes
        .read_file(volume, &path, At::Commit(commit))
        .map_err(errors::volume)?;
    let skill = skill::parse_bytes_as(id, Some(path.as_str()), &file.data)
        .map_err(|e| errors::skill(&e))?;
    Ok(SkillAt {
        volume: volume.clone(),
        commit,
        path,
        blob: file.blob,
        source: file.data,
        skill,
    })
}

/// `GET /skills/{id}/component?volume=&commit=`: the component's bytes.
pub fn get(app: &App, req: &Request, id: &str) -> ApiResult<Response> {
    let id = skill_id(id)?;
    let q = Query::of(req);
    let pinned = q.get("commit").is_some();
    let at = match q.get("commit") {
        None => {
            let entry = resolve(app, &q, &id)?;
            let source = file_bytes(app, &entry)?;
            let skill = skill::parse_bytes_as(&id, Some(&entry.path), &source).map_err(|e| {
                ApiError::internal(format_args!("indexed skill no longer parses: {e}"))
            })?;
            SkillAt {
                volume: entry.volume,
                commit: entry.commit,
                path: listed_path(&entry.path)?,
                blob: entry.blob,
                source,
                skill,
            }
        }
        Some(text) => {
            let commit = commit_id("commit", text)?;
            let volume = volume_of_commit(app, &q, &id, commit)?;
            skill_at(app, &volume, &id, commit)?
        }
    };
    let none = || {
        ApiError::not_found(
            "component-not-built",
            format!(
                "skill `{id}` has no component in {} at commit {}; build it with \
                 POST /skills/{id}/build or upload one with PUT /skills/{id}/component",
                at.volume, at.commit
            ),
        )
    };
    let component = app
        .catalog()
        .component_at(&at.volume, at.commit, at.path.as_str(), &at.skill)
        .map_err(errors::catalog)?
        .ok_or_else(none)?;
    let tag = format!("\"{}\"", component.sha256);
    // A commit's component never changes; the latest one may.
    let cache = if pinned {
        "private, max-age=31536000, immutable"
    } else {
        "private, no-cache"
    };
    let mut response = Response::builder();
    response
        .header("etag", tag.as_str())
        .header("cache-control", cache)
        .header("vary", "authorization")
        .header("x-component-sha256", component.sha256.as_str())
        .header("x-skill-volume", at.volume.to_string())
        .header("x-skill-commit", at.commit.to_string());
    if http::if_none_match(req, &tag) {
        return Ok(response.status(304).build());
    }
    use llmos_store::ObjectStore as _;
    let bytes = app
        .volumes
        .store()
        .read_object(&component.blob)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::internal(format_args!("blob {} is missing", component.blob)))?
        .into_data();
    Ok(response
        .status(200)
        .header("content-type", "application/wasm")
        .body(bytes)
        .build())
}

/// The volume a `?commit=` read refers to: `?volume=`, else the first
/// volume of the caller's view that has that commit and the skill in it.
fn volume_of_commit(app: &App, q: &Query, id: &SkillId, commit: ObjectId) -> ApiResult<VolumeId> {
    let (user_id, team_id) = (q.get("user_id"), q.get("team_id"));
    if let Some(volume) = q.get("volume") {
        return app.readable(volume, user_id, team_id);
    }
    for volume in app.view(user_id, team_id)? {
        match app.volumes.commit_info(&volume, commit) {
            Ok(_) => {}
            Err(VolumeError::CommitNotFound { .. }) => continue,
            Err(e) => return Err(errors::volume(e)),
        }
        if app.locate(&volume, id, Some(commit))?.is_some() {
            return Ok(volume);
        }
    }
    Err(ApiError::not_found(
        "skill-not-in-commit",
        format!("no volume visible to this caller has skill `{id}` at commit {commit}"),
    ))
}

/// `PUT /skills/{id}/component?volume=` with an `application/wasm` body: a
/// component built elsewhere, checked and committed beside the file.
pub fn put(app: &App, req: &Request, id: &str) -> ApiResult<Response> {
    let id = skill_id(id)?;
    let q = Query::of(req);
    match http::content_type(req).as_deref() {
        None | Some("application/wasm" | "application/octet-stream") => {}
        Some(other) => {
            return Err(ApiError::unsupported_media_type(format!(
                "expected the component as application/wasm, got `{other}`"
            )));
        }
    }
    let bytes = req.body();
    check_size(bytes.len())?;
    let volume = app.writable(&Target {
        user_id: q.get("user_id").map(str::to_owned),
        team_id: q.get("team_id").map(str::to_owned),
        volume: q.get("volume").map(str::to_owned),
    })?;
    let at = skill_at_head(app, &volume, &id)?;
    let wasm_path = at.component_path()?;
    let info = verify(&at, bytes, Provenance::Optional)?;
    let message = format!(
        "Upload component of skill {id} (sha256 {})",
        &info.sha256[..12]
    );
    let (commit, created) = store(app, &at, &wasm_path, bytes, &info, message, "skill-changed")?;
    answer(app, &at, commit, "uploaded", created)
}

/// `POST /skills/{id}/build` (`?volume=` or `{"volume"}`): has the builder
/// service build the skill file as it is in that volume, checks what it
/// returns and commits it beside the file.
pub fn build(app: &App, req: &Request, id: &str) -> ApiResult<Response> {
    let id = skill_id(id)?;
    let q = Query::of(req);
    let body: BuildRequest = if req.body().iter().all(u8::is_ascii_whitespace) {
        BuildRequest::default()
    } else {
        body::read_object(req)?
    };
    let from_query = |name: &str| q.get(name).map(str::to_owned);
    let volume = app.writable(&Target {
        user_id: body.user_id.or_else(|| from_query("user_id")),
        team_id: body.team_id.or_else(|| from_query("team_id")),
        volume: body.volume.or_else(|| from_query("volume")),
    })?;
    let at = skill_at_head(app, &volume, &id)?;
    let wasm_path = at.component_path()?;
    let url = builder::url()?;
    let bytes = match builder::build(&url, at.path.as_str(), &at.source)? {
        Verdict::Built(bytes) => bytes,
        Verdict::Refused { status, body } => {
            return Ok(Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(body)
                .build());
        }
    };
    check_size(bytes.len()).map_err(|_| {
        ApiError::new(
            502,
            "builder-failed",
            format!(
                "the builder returned {} bytes; components may have at most {MAX_COMPONENT_BYTES}",
                bytes.len()
            ),
        )
    })?;
    let info = verify(&at, &bytes, Provenance::Required)?;
    let language = Language::of(&at.skill).map_or("unknown", Language::as_str);
    let message = format!(
        "Build skill {id} ({language}, sha256 {})",
        &info.sha256[..12]
    );
    let (commit, created) = store(
        app,
        &at,
        &wasm_path,
        &bytes,
        &info,
        message,
        "skill-changed-during-build",
    )?;
    answer(app, &at, commit, "built", created)
}

/// 413 `component-too-large` beyond [`MAX_COMPONENT_BYTES`].
fn check_size(size: usize) -> ApiResult<()> {
    if size > MAX_COMPONENT_BYTES {
        return Err(ApiError::new(
            413,
            "component-too-large",
            format!("the component is {size} bytes; at most {MAX_COMPONENT_BYTES} are accepted"),
        ));
    }
    Ok(())
}

/// Skill `id` at the head of `volume`.
fn skill_at_head(app: &App, volume: &VolumeId, id: &SkillId) -> ApiResult<SkillAt> {
    let head = app
        .volumes
        .head(volume)
        .map_err(errors::volume)?
        .ok_or_else(|| not_found(id, &volume.to_string()))?;
    skill_at(app, volume, id, head)
}

/// Whether a component must name its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Provenance {
    /// An upload: without provenance it is `unknown`, checked against the
    /// file by its ports only.
    Optional,
    /// A build: the builder writes one, and it must name the file sent.
    Required,
}

/// Checks `bytes` as the component of `at`: a component of the skill
/// world, importing only what the host provides, whose `describe` agrees
/// with the front matter, and whose provenance (if any) names the file's
/// current source. Returns what `inspect` read.
fn verify(at: &SkillAt, bytes: &[u8], provenance: Provenance) -> ApiResult<ComponentInfo> {
    let who = match provenance {
        Provenance::Optional => "the component",
        Provenance::Required => "the built component",
    };
    let info = inspect(bytes).map_err(|e| {
        ApiError::unprocessable("component-invalid", format!("{who} is not usable: {e}"))
    })?;
    let current = source_digest(&at.skill)
        .ok_or_else(|| ApiError::internal("a compiled skill has a source digest"))?;
    match (&info.provenance, provenance) {
        (Some(p), _) if p.source_sha256 != current => {
            let message = format!(
                "{who} was built from source {} but {} is now {current} (its code or ports \
                 changed); build it again",
                p.source_sha256, at.path
            );
            return Err(match provenance {
                Provenance::Optional => ApiError::conflict("component-stale", message),
                Provenance::Required => ApiError::new(502, "builder-failed", message),
            });
        }
        (None, Provenance::Required) => {
            return Err(ApiError::new(
                502,
                "builder-failed",
                format!("{who} records no provenance (custom section `llmos-skill-provenance`)"),
            ));
        }
        _ => {}
    }
    let exec = at
        .skill
        .executable()
        .ok_or_else(|| ApiError::internal("a compiled skill is executable"))?;
    // Parsing and `describe` only: the runtime's default limits bound it.
    let mut runtime = SkillRuntime::default();
    let loaded = runtime.load(bytes).map_err(|e| load_error(who, &e))?;
    llmos_skill_runtime::check_ports(&loaded.description, &exec.inputs, &exec.outputs).map_err(
        |mismatch| {
            ApiError::unprocessable(
                "component-ports-mismatch",
                format!("{who} does not match {}: {mismatch}", at.path),
            )
            .with_detail("port", mismatch.port())
        },
    )?;
    Ok(info)
}

fn load_error(who: &str, err: &LoadError) -> ApiError {
    let api = ApiError::unprocessable(err.code(), format!("{who} cannot be used: {err}"));
    match err {
        LoadError::Import(refused) => api.with_detail("import", refused.import.as_str()),
        _ => api,
    }
}

/// Commits `bytes` at `wasm_path`, guarded by the skill file: only while
/// the volume's file is still the one `at` read (else 409 `conflict`).
/// The blob is written once, before the commit, and named by id.
fn store(
    app: &App,
    at: &SkillAt,
    wasm_path: &VolumePath,
    bytes: &[u8],
    info: &ComponentInfo,
    message: String,
    conflict: &'static str,
) -> ApiResult<(ObjectId, bool)> {
    let catalog = app.catalog();
    let changed = || {
        ApiError::conflict(
            conflict,
            format!(
                "{} changed in {} while its component was being checked; nothing was \
                 written, try again",
                at.path, at.volume
            ),
        )
    };
    let unchanged = |head: Option<ObjectId>| -> ApiResult<bool> {
        let Some(head) = head else {
            return Ok(false);
        };
        let entry = app
            .volumes
            .entry(&at.volume, &at.path, At::Commit(head))
            .map_err(errors::volume)?;
        Ok(entry.map(|(_, blob)| blob) == Some(at.blob))
    };
    // Refuse before writing the blob when the file already moved on.
    if !unchanged(app.volumes.head(&at.volume).map_err(errors::volume)?)? {
        return Err(changed());
    }
    let blob = app
        .volumes
        .write_blob(&at.volume, bytes.to_vec())
        .map_err(errors::volume)?;
    catalog
        .remember_component(blob, info)
        .map_err(errors::catalog)?;
    if let Some(digest) = source_digest(&at.skill) {
        catalog
            .record_check(blob, &digest)
            .map_err(errors::catalog)?;
    }
    let outcome = app.commit_guarded(&at.volume, |head| {
        if !unchanged(head)? {
            return Err(changed());
        }
        Ok(CommitRequest::new(app.author(), message.clone()).put_blob(wasm_path.clone(), blob))
    })?;
    if outcome.created {
        app.fresh(std::slice::from_ref(&at.volume))?;
    } else {
        // The same bytes were there already: git is unchanged, but the
        // check just recorded may make them runnable.
        catalog
            .refresh_forcing(&at.volume, &[at.path.to_string()])
            .map_err(errors::catalog)?;
    }
    Ok((outcome.commit, outcome.created))
}

/// The answer of a successful upload or build.
fn answer(
    app: &App,
    at: &SkillAt,
    commit: ObjectId,
    status: &'static str,
    changed: bool,
) -> ApiResult<Response> {
    let component = app
        .catalog()
        .component_at(&at.volume, commit, at.path.as_str(), &at.skill)
        .map_err(errors::catalog)?
        .ok_or_else(|| ApiError::internal("the committed component is not there"))?;
    http::ok(&ComponentStored {
        status,
        skill_id: at.skill.id(),
        volume: &at.volume,
        commit: commit.to_string(),
        path: &component.path,
        changed,
        component: component_view(&component, &at.skill),
    })
}
