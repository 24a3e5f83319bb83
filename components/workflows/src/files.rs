//! Workflow files in volumes: `workflows/<id>.json`, in the canonical form
//! of `llmos_core::workflow::format` (so unknown fields round-trip), found
//! through the caller's merged view (user over team over system).

use llmos_core::ids::VolumeId;
use llmos_core::workflow::api::{
    MAX_WORKFLOW_ID, RESERVED_WORKFLOW_IDS, WorkflowFileProblem, is_workflow_id,
};
use llmos_core::workflow::{MAX_EDGES, MAX_NODES, Workflow};
use llmos_guest::{ApiError, ApiResult};
use llmos_store::object::ObjectId;
use llmos_store::volume::{At, FileContent, HistoryQuery};
use llmos_store::{CommitInfo, EntryKind, VolumeError, VolumePath};

use crate::app::{App, volume_error};

/// The directory of workflow files in every volume.
pub const WORKFLOWS_DIR: &str = "workflows";

/// Largest stored workflow file. A workflow at the node and edge limits
/// with short params stays well below it; params are not a data store.
pub const MAX_WORKFLOW_BYTES: usize = 4 * 1024 * 1024;

/// Checks a workflow id (see [`is_workflow_id`]): 400 `invalid-workflow-id`
/// for anything else.
pub fn workflow_id(text: &str) -> ApiResult<String> {
    if RESERVED_WORKFLOW_IDS.contains(&text) {
        return Err(ApiError::bad_request(
            "invalid-workflow-id",
            format!("`{text}` names a route under /workflows and cannot be a workflow id"),
        ));
    }
    if is_workflow_id(text) {
        Ok(text.to_owned())
    } else {
        Err(ApiError::bad_request(
            "invalid-workflow-id",
            format!(
                "workflow id `{}` must be 1 to {MAX_WORKFLOW_ID} lowercase letters, digits, \
                 `-` or `_`, starting with a letter or digit",
                text.escape_default()
            ),
        ))
    }
}

/// `workflows/<id>.json`.
pub fn path_of(id: &str) -> VolumePath {
    VolumePath::new(&format!("{WORKFLOWS_DIR}/{id}.json"))
        .expect("a checked workflow id makes a valid path")
}

/// A stored workflow: where it is, the commit it was read at, and the
/// commit that last changed it (when asked for).
#[derive(Debug, Clone)]
pub struct Stored {
    pub id: String,
    pub volume: VolumeId,
    pub workflow: Workflow,
    /// The commit the file was read at (the head, or the one asked for):
    /// what a run records, since the file at that commit is what ran.
    pub read_at: ObjectId,
    /// The commit that last changed the file, when asked for (it takes a
    /// walk through the volume's history).
    pub last_change: Option<CommitInfo>,
}

/// Whether a load also finds the commit that last changed the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Find,
    Skip,
}

/// Reads the bytes of a workflow file as a workflow.
pub fn parse_file(volume: &VolumeId, path: &str, data: &[u8]) -> ApiResult<Workflow> {
    let text = std::str::from_utf8(data).map_err(|_| {
        ApiError::unprocessable(
            "invalid-workflow",
            format!("{volume}:{path} is not UTF-8 text"),
        )
    })?;
    Workflow::from_json(text)
        .map_err(|e| ApiError::unprocessable("invalid-workflow", format!("{volume}:{path}: {e}")))
}

/// Refuses workflows over the size limits of stored workflows.
pub fn check_size(workflow: &Workflow, bytes: usize) -> ApiResult<()> {
    if workflow.nodes.len() > MAX_NODES || workflow.edges.len() > MAX_EDGES {
        return Err(ApiError::new(
            413,
            "workflow-too-large",
            format!(
                "the workflow has {} nodes and {} edges; at most {MAX_NODES} nodes and \
                 {MAX_EDGES} edges are stored",
                workflow.nodes.len(),
                workflow.edges.len()
            ),
        ));
    }
    if bytes > MAX_WORKFLOW_BYTES {
        return Err(ApiError::new(
            413,
            "workflow-too-large",
            format!("the workflow file is {bytes} bytes; at most {MAX_WORKFLOW_BYTES} are stored"),
        ));
    }
    Ok(())
}

/// The file of workflow `id` in `volume` at `at`, if there is one.
pub fn read_in(app: &App, volume: &VolumeId, id: &str, at: At) -> ApiResult<Option<FileContent>> {
    match app.volumes.read_file(volume, &path_of(id), at) {
        Ok(file) => Ok(Some(file)),
        Err(VolumeError::FileNotFound { .. }) => Ok(None),
        Err(e) => Err(volume_error(e)),
    }
}

/// The newest commit of `volume` that changed workflow `id`'s file.
pub fn last_change(app: &App, volume: &VolumeId, id: &str) -> ApiResult<Option<CommitInfo>> {
    let page = app
        .volumes
        .history(volume, &HistoryQuery::path(path_of(id), 1))
        .map_err(volume_error)?;
    Ok(page.entries.into_iter().next().map(|e| e.commit))
}

fn not_found(id: &str, place: &str) -> ApiError {
    ApiError::not_found(
        "workflow-not-found",
        format!("no workflow `{id}` in {place}"),
    )
}

/// Workflow `id` in `volume` (at its head, or at `commit`).
pub fn load_in(
    app: &App,
    volume: &VolumeId,
    id: &str,
    commit: Option<ObjectId>,
    change: Change,
) -> ApiResult<Stored> {
    app.identity.require_read(volume)?;
    let at = commit.map_or(At::Head, At::Commit);
    let file = read_in(app, volume, id, at)?.ok_or_else(|| match commit {
        Some(c) => ApiError::not_found(
            "workflow-not-in-commit",
            format!("workflow `{id}` does not exist in {volume} at commit {c}"),
        ),
        None => not_found(id, &volume.to_string()),
    })?;
    let workflow = parse_file(volume, path_of(id).as_str(), &file.data)?;
    let last_change = match (change, commit) {
        (Change::Skip, _) => None,
        (Change::Find, Some(c)) => Some(app.volumes.commit_info(volume, c).map_err(volume_error)?),
        (Change::Find, None) => last_change(app, volume, id)?,
    };
    Ok(Stored {
        id: id.to_owned(),
        volume: volume.clone(),
        workflow,
        read_at: file.commit,
        last_change,
    })
}

/// Workflow `id` as the merged view `view` resolves it: the first volume
/// that has it.
pub fn resolve(app: &App, view: &[VolumeId], id: &str, change: Change) -> ApiResult<Stored> {
    for volume in view {
        if read_in(app, volume, id, At::Head)?.is_some() {
            return load_in(app, volume, id, None, change);
        }
    }
    Err(not_found(id, "the volumes visible to this caller"))
}

/// Workflow files directly in `workflows/` of `volume` at `at`: id → blob.
fn listing(
    app: &App,
    volume: &VolumeId,
    at: At,
) -> ApiResult<std::collections::BTreeMap<String, ObjectId>> {
    let dir = VolumePath::new(WORKFLOWS_DIR).expect("a constant path");
    let entries = match app.volumes.list_files(volume, Some(&dir), at, false) {
        Ok(entries) => entries,
        Err(VolumeError::NotADirectory { .. }) => Vec::new(),
        Err(e) => return Err(volume_error(e)),
    };
    Ok(entries
        .into_iter()
        .filter(|e| e.kind != EntryKind::Directory)
        .filter_map(|e| {
            let name = e.path.rsplit('/').next()?.strip_suffix(".json")?.to_owned();
            workflow_id(&name).ok().map(|id| (id, e.id))
        })
        .collect())
}

/// The commit that last changed each of `wanted` (ids at the head), found
/// in one walk of the history of `workflows/`: between two consecutive
/// commits that changed the directory, a file whose blob differs was
/// changed by the newer one.
fn last_changes(
    app: &App,
    volume: &VolumeId,
    wanted: impl Iterator<Item = String>,
) -> ApiResult<std::collections::HashMap<String, CommitInfo>> {
    let dir = VolumePath::new(WORKFLOWS_DIR).expect("a constant path");
    let mut pending: std::collections::HashSet<String> = wanted.collect();
    let mut found = std::collections::HashMap::new();
    let mut newer: Option<(CommitInfo, std::collections::BTreeMap<String, ObjectId>)> = None;
    let mut start = None;
    while !pending.is_empty() {
        let page = app
            .volumes
            .history(
                volume,
                &HistoryQuery {
                    path: Some(dir.clone()),
                    start,
                    limit: 32,
                },
            )
            .map_err(volume_error)?;
        for entry in page.entries {
            let after = listing(app, volume, At::Commit(entry.commit.id))?;
            if let Some((commit, newer_files)) = newer.take() {
                pending.retain(|id| {
                    let changed = newer_files.get(id) != after.get(id);
                    if changed {
                        found.insert(id.clone(), commit.clone());
                    }
                    !changed
                });
            }
            newer = Some((entry.commit, after));
            if pending.is_empty() {
                break;
            }
        }
        match page.next {
            Some(next) if !pending.is_empty() => start = Some(next),
            _ => break,
        }
    }
    // What is left was created by the oldest change of the directory.
    if let Some((oldest, _)) = newer {
        for id in pending {
            found.insert(id, oldest.clone());
        }
    }
    Ok(found)
}

/// One listed workflow.
pub struct Listed {
    pub stored: Stored,
}

/// Every workflow of the merged view (a more specific volume shadows a
/// workflow of the same id), sorted by id.
pub fn list(app: &App, view: &[VolumeId]) -> ApiResult<(Vec<Listed>, Vec<WorkflowFileProblem>)> {
    let mut listed: Vec<Listed> = Vec::new();
    let mut problems = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for volume in view {
        app.identity.require_read(volume)?;
        let Some(head) = app.volumes.head(volume).map_err(volume_error)? else {
            continue;
        };
        let files: Vec<(String, ObjectId)> = listing(app, volume, At::Commit(head))?
            .into_iter()
            .filter(|(id, _)| seen.insert(id.clone()))
            .collect();
        if files.is_empty() {
            continue;
        }
        let mut changes = last_changes(app, volume, files.iter().map(|(id, _)| id.clone()))?;
        for (id, _) in files {
            let path = path_of(&id);
            let data = read_in(app, volume, &id, At::Commit(head))?
                .map(|f| f.data)
                .unwrap_or_default();
            match parse_file(volume, path.as_str(), &data) {
                Ok(workflow) => listed.push(Listed {
                    stored: Stored {
                        last_change: changes.remove(&id),
                        id,
                        volume: volume.clone(),
                        workflow,
                        read_at: head,
                    },
                }),
                Err(e) => problems.push(WorkflowFileProblem {
                    volume: volume.clone(),
                    path: path.to_string(),
                    message: e.message,
                }),
            }
        }
    }
    listed.sort_by(|a, b| a.stored.id.cmp(&b.stored.id));
    Ok((listed, problems))
}

/// RFC 3339 UTC text of a Unix time in seconds (`2026-11-25T01:23:45Z`).
pub fn rfc3339(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let rest = seconds.rem_euclid(86_400);
    // Civil date from a day count (proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_ids_are_safe_file_names() {
        for good in ["a", "round-trip-x3k9qa", "w_1", &"x".repeat(64)] {
            assert!(workflow_id(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "validate",
            "runs",
            "-a",
            "A",
            "a/b",
            "a.json",
            "..",
            "a b",
            &"x".repeat(65),
        ] {
            let err = workflow_id(bad).unwrap_err();
            assert_eq!(
                (err.status, err.code.as_ref()),
                (400, "invalid-workflow-id")
            );
        }
        assert_eq!(path_of("w1").as_str(), "workflows/w1.json");
    }

    #[test]
    fn times_are_written_as_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_764_033_825), "2025-11-25T01:23:45Z");
    }
}
