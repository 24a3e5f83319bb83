//! Bringing the index of one volume up to date with its head: claim, walk
//! the history back to the indexed commit, parse what changed, write rows
//! under the claim (see the concurrency notes of [`super`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use llmos_core::ids::{SkillId, VolumeId};
use llmos_core::skill::component::{Language, component_path};
use llmos_core::skill::{self, SkillKind, SkillStatus};
use llmos_core::types::{ExecutionMode, Runtime};
use serde::Serialize;

use super::components::{SkillComponent, assess};
use super::layout::{SkillLocation, TreeReader, classify};
use super::{
    COLUMN_COUNT, COLUMNS, Catalog, CatalogError, CatalogProblem, INDEX_FORMAT, placeholders,
    signature_of,
};
use crate::object::{ObjectId, decode_commit, parse_id};
use crate::sql::{SqlExecutor, SqlValue};
use crate::store::ObjectStore;
use crate::volume::VolumeError;

/// What one refresh of a volume did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshReport {
    pub volume: VolumeId,
    /// The head the index reflected before (`None`: never indexed).
    pub previous: Option<ObjectId>,
    /// The head the index reflects now (or was being brought to).
    pub head: Option<ObjectId>,
    /// Skill files parsed and written.
    pub indexed: usize,
    /// Skill files removed from the index.
    pub removed: usize,
    /// Files among those parsed that are not valid skills.
    pub problems: Vec<CatalogProblem>,
    /// Another refresh of the same volume took over before this one
    /// finished; it finishes the work (or the next request redoes it).
    pub superseded: bool,
}

/// Times a refresh starts over after losing its claim to another one
/// before it leaves the rest to that other refresh.
const REFRESH_ATTEMPTS: u32 = 3;

/// Rows per multi-row upsert: 19 parameters each, far below SQLite's
/// parameter limit, and a modest statement for a remote database.
const UPSERT_BATCH: usize = 32;

/// Paths per `DELETE … IN (…)`.
const DELETE_BATCH: usize = 256;

/// Commits fetched by the first step of a history walk. A refresh usually
/// follows a single commit, so the first step is small; later steps grow
/// up to [`MAX_WALK_BATCH`] for walks over long histories.
const FIRST_WALK_BATCH: usize = 4;
const MAX_WALK_BATCH: usize = 256;

/// What the history between the head and the indexed commit says.
struct Walk {
    /// Skill files at the head: path → blob.
    head_files: BTreeMap<String, ObjectId>,
    /// Components at the head, by the path of the skill file they sit
    /// beside.
    head_components: BTreeMap<String, ObjectId>,
    /// For head files that changed in the walked range (themselves or
    /// their component): the newest commit that changed each.
    changed: HashMap<String, ObjectId>,
    /// Paths that changed in the walked range and are absent at the head.
    removed: HashSet<String>,
    /// Whether the walk reached the indexed commit, so that `changed` and
    /// `removed` are every difference between it and the head.
    reached_stop: bool,
}

/// A row to write, and the problem it records, if any.
struct NewRow {
    values: Vec<SqlValue>,
    problem: Option<CatalogProblem>,
}

impl<E: SqlExecutor> Catalog<'_, E> {
    /// Brings the index of `volume` up to date with its head (a no-op when
    /// it already is, apart from the claim).
    pub fn refresh(&self, volume: &VolumeId) -> Result<RefreshReport, CatalogError> {
        self.refresh_forcing(volume, &[])
    }

    /// [`Self::refresh`], also deriving the rows of the skill files at
    /// `paths` again even if git says they did not change: for what the
    /// index takes from outside git, such as a component's upload check
    /// recorded for bytes the volume already had.
    pub fn refresh_forcing(
        &self,
        volume: &VolumeId,
        paths: &[String],
    ) -> Result<RefreshReport, CatalogError> {
        let mut report = None;
        for _ in 0..REFRESH_ATTEMPTS {
            let attempt = self.refresh_once(volume, paths)?;
            if !attempt.superseded {
                return Ok(attempt);
            }
            report = Some(attempt);
        }
        Ok(report.expect("at least one attempt ran"))
    }

    fn refresh_once(
        &self,
        volume: &VolumeId,
        force: &[String],
    ) -> Result<RefreshReport, CatalogError> {
        let (epoch, marker, format) = self.claim(volume)?;
        // Rows of another format are re-derived, whatever the head says.
        let reparse = format != INDEX_FORMAT;
        let head = self.volumes.head(volume)?;
        let mut report = RefreshReport {
            volume: volume.clone(),
            previous: marker,
            head,
            indexed: 0,
            removed: 0,
            problems: Vec::new(),
            superseded: false,
        };
        if head == marker && !reparse && force.is_empty() {
            return Ok(report);
        }
        let (upserts, deletes) = match head {
            None => (
                Vec::new(),
                self.indexed_paths(volume)?.into_keys().collect(),
            ),
            Some(head) => self.plan(volume, head, marker, reparse, force)?,
        };
        report.indexed = upserts.len();
        report.removed = deletes.len();
        let mut rows = Vec::with_capacity(upserts.len());
        for row in upserts {
            report.problems.extend(row.problem);
            rows.push(row.values);
        }
        self.write_rows(volume, epoch, &rows)?;
        self.delete_rows(volume, epoch, &deletes)?;
        report.superseded = !self.finish(volume, epoch, head)?;
        Ok(report)
    }

    /// The rows to write and the paths to delete to bring the index from
    /// `marker` to `head`; with `reparse`, every file is parsed again, and
    /// the files at `force` are parsed again in any case.
    fn plan(
        &self,
        volume: &VolumeId,
        head: ObjectId,
        marker: Option<ObjectId>,
        reparse: bool,
        force: &[String],
    ) -> Result<(Vec<NewRow>, Vec<String>), CatalogError> {
        let store = self.volumes.store();
        let mut trees = TreeReader::new(store, volume);
        let stop = if reparse { None } else { marker };
        let walk = walk(store, &mut trees, volume, head, stop)?;
        let mut wanted: Vec<(&String, ObjectId, ObjectId)> = Vec::new();
        let mut deletes: Vec<String> = Vec::new();
        if walk.reached_stop {
            // Incremental: exactly the files that changed since the marker.
            for (path, commit) in &walk.changed {
                wanted.push((path, walk.head_files[path], *commit));
            }
            deletes.extend(walk.removed.iter().cloned());
        } else {
            // Full: compare every indexed row with the head.
            let indexed = self.indexed_paths(volume)?;
            for (path, blob) in &walk.head_files {
                let commit = *walk
                    .changed
                    .get(path)
                    .ok_or_else(|| VolumeError::MissingObject {
                        volume: volume.clone(),
                        id: *blob,
                    })?;
                if !reparse && indexed.get(path) == Some(&(*blob, commit)) {
                    continue;
                }
                wanted.push((path, *blob, commit));
            }
            deletes.extend(
                indexed
                    .into_keys()
                    .filter(|path| !walk.head_files.contains_key(path)),
            );
        }
        if !force.is_empty() {
            // Unchanged since the marker, so the row's commit still holds.
            let indexed = self.indexed_paths(volume)?;
            for (path, blob) in &walk.head_files {
                if force.contains(path)
                    && !wanted.iter().any(|(p, _, _)| *p == path)
                    && let Some((_, commit)) = indexed.get(path)
                {
                    wanted.push((path, *blob, *commit));
                }
            }
        }
        let mut blob_ids: Vec<ObjectId> = wanted.iter().map(|(_, blob, _)| *blob).collect();
        blob_ids.sort();
        blob_ids.dedup();
        let blobs: HashMap<ObjectId, Vec<u8>> = store
            .read_objects(&blob_ids)?
            .into_iter()
            .map(|o| (o.id(), o.into_data()))
            .collect();
        let mut parsed = Vec::with_capacity(wanted.len());
        for (path, blob, commit) in wanted {
            let data = blobs.get(&blob).ok_or_else(|| VolumeError::MissingObject {
                volume: volume.clone(),
                id: blob,
            })?;
            let skill = parse_file(volume, path, blob, commit, data);
            // Only compiled skills have components; others ignore a `.wasm`.
            let component = match &skill {
                Ok(skill) if Language::of(skill).is_some() => {
                    walk.head_components.get(path.as_str()).copied()
                }
                _ => None,
            };
            parsed.push((path, blob, commit, skill, component));
        }
        let component_blobs: Vec<ObjectId> = parsed.iter().filter_map(|p| p.4).collect();
        let stored = self.stored_components(volume, &component_blobs)?;
        let checks = self.component_checks(&component_blobs)?;
        let none = HashSet::new();
        let mut rows = Vec::with_capacity(parsed.len());
        for (path, blob, commit, skill, component) in parsed {
            let component = match (&skill, component) {
                (Ok(skill), Some(id)) => {
                    let facts = stored.get(&id).ok_or_else(|| VolumeError::MissingObject {
                        volume: volume.clone(),
                        id,
                    })?;
                    let wasm =
                        component_path(path).expect("skill files with components have a path");
                    Some(assess(
                        skill,
                        &wasm,
                        id,
                        facts,
                        checks.get(&id).unwrap_or(&none),
                    ))
                }
                _ => None,
            };
            rows.push(index_file(
                volume,
                path,
                blob,
                commit,
                skill,
                component.as_ref(),
            ));
        }
        deletes.sort();
        Ok((rows, deletes))
    }

    /// Takes the volume over: increments its epoch and returns the new
    /// epoch with the indexed head and format.
    pub(super) fn claim(
        &self,
        volume: &VolumeId,
    ) -> Result<(i64, Option<ObjectId>, i64), CatalogError> {
        let rows = self.run(
            "claiming a volume for a refresh",
            "INSERT INTO skill_catalog_volumes (volume, head, epoch, format) VALUES (?, NULL, 1, ?)
             ON CONFLICT (volume) DO UPDATE SET epoch = epoch + 1
             RETURNING epoch, head, format",
            &[volume.to_string().into(), INDEX_FORMAT.into()],
        )?;
        let corrupt = |message: &str| CatalogError::Corrupt {
            volume: volume.to_string(),
            path: String::new(),
            message: message.to_owned(),
        };
        let row = rows
            .rows
            .first()
            .ok_or_else(|| corrupt("claim returned no row"))?;
        let epoch = row
            .first()
            .and_then(SqlValue::as_integer)
            .ok_or_else(|| corrupt("epoch is not an integer"))?;
        let head = match row.get(1) {
            Some(SqlValue::Text(text)) => {
                Some(parse_id(text).map_err(|e| corrupt(&e.to_string()))?)
            }
            _ => None,
        };
        let format = row.get(2).and_then(SqlValue::as_integer).unwrap_or(0);
        Ok((epoch, head, format))
    }

    /// Marks the volume as indexed at `head` if the claim still holds;
    /// returns whether it did.
    pub(super) fn finish(
        &self,
        volume: &VolumeId,
        epoch: i64,
        head: Option<ObjectId>,
    ) -> Result<bool, CatalogError> {
        let rows = self.run(
            "recording the indexed head",
            "UPDATE skill_catalog_volumes SET head = ?, format = ?
             WHERE volume = ? AND epoch = ? RETURNING volume",
            &[
                head.map(|h| h.to_string()).into(),
                INDEX_FORMAT.into(),
                volume.to_string().into(),
                epoch.into(),
            ],
        )?;
        Ok(!rows.is_empty())
    }

    /// `(blob, last commit)` of every indexed file of a volume, by path.
    fn indexed_paths(
        &self,
        volume: &VolumeId,
    ) -> Result<BTreeMap<String, (ObjectId, ObjectId)>, CatalogError> {
        let rows = self.run(
            "reading indexed paths",
            "SELECT path, blob, last_commit FROM skill_catalog WHERE volume = ?",
            &[volume.to_string().into()],
        )?;
        let mut paths = BTreeMap::new();
        for row in rows.rows {
            let text = |i: usize| row.get(i).and_then(SqlValue::as_text).unwrap_or_default();
            let corrupt = |message: String| CatalogError::Corrupt {
                volume: volume.to_string(),
                path: text(0).to_owned(),
                message,
            };
            let blob = parse_id(text(1)).map_err(|e| corrupt(e.to_string()))?;
            let commit = parse_id(text(2)).map_err(|e| corrupt(e.to_string()))?;
            paths.insert(text(0).to_owned(), (blob, commit));
        }
        Ok(paths)
    }

    pub(super) fn write_rows(
        &self,
        volume: &VolumeId,
        epoch: i64,
        rows: &[Vec<SqlValue>],
    ) -> Result<(), CatalogError> {
        let updates = COLUMNS
            .split(", ")
            .map(str::trim)
            .filter(|c| !matches!(*c, "volume" | "path"))
            .map(|c| format!("{c} = excluded.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let row = format!("({})", placeholders(COLUMN_COUNT));
        for chunk in rows.chunks(UPSERT_BATCH) {
            let sql = format!(
                "INSERT INTO skill_catalog ({COLUMNS}) SELECT * FROM (VALUES {}) \
                 WHERE EXISTS (SELECT 1 FROM skill_catalog_volumes WHERE volume = ? AND epoch = ?) \
                 ON CONFLICT (volume, path) DO UPDATE SET {updates}",
                vec![row.as_str(); chunk.len()].join(", ")
            );
            let mut params: Vec<SqlValue> = chunk.iter().flatten().cloned().collect();
            params.push(volume.to_string().into());
            params.push(epoch.into());
            self.run("writing catalog rows", &sql, &params)?;
        }
        Ok(())
    }

    pub(super) fn delete_rows(
        &self,
        volume: &VolumeId,
        epoch: i64,
        paths: &[String],
    ) -> Result<(), CatalogError> {
        for chunk in paths.chunks(DELETE_BATCH) {
            let sql = format!(
                "DELETE FROM skill_catalog WHERE volume = ? AND path IN ({}) \
                 AND EXISTS (SELECT 1 FROM skill_catalog_volumes WHERE volume = ? AND epoch = ?)",
                placeholders(chunk.len())
            );
            let mut params: Vec<SqlValue> = vec![volume.to_string().into()];
            params.extend(chunk.iter().map(|p| SqlValue::Text(p.clone())));
            params.push(volume.to_string().into());
            params.push(epoch.into());
            self.run("removing catalog rows", &sql, &params)?;
        }
        Ok(())
    }
}

/// Walks the first-parent history from `head` until it reaches `stop`
/// (the indexed commit), or until the newest change of every file at the
/// head is known, or to the root. Consecutive commits are compared by
/// their `skills` trees, so commits that touch no skill cost one tree
/// lookup each.
fn walk<S: ObjectStore>(
    store: &S,
    trees: &mut TreeReader<'_, S>,
    volume: &VolumeId,
    head: ObjectId,
    stop: Option<ObjectId>,
) -> Result<Walk, CatalogError> {
    let mut result = Walk {
        head_files: BTreeMap::new(),
        head_components: BTreeMap::new(),
        changed: HashMap::new(),
        removed: HashSet::new(),
        reached_stop: false,
    };
    // The newer commit of the pair being compared, with its skills tree.
    let mut child: Option<(ObjectId, Option<ObjectId>)> = None;
    let mut cursor = Some(head);
    let mut batch = FIRST_WALK_BATCH;
    'walk: while let Some(start) = cursor {
        let chain = store.first_parent_chain(&start, batch)?;
        if chain.is_empty() {
            return Err(VolumeError::MissingObject {
                volume: volume.clone(),
                id: start,
            }
            .into());
        }
        batch = (batch * 4).min(MAX_WALK_BATCH);
        let mut commits = Vec::with_capacity(chain.len());
        for object in &chain {
            commits.push(decode_commit(object).map_err(|source| VolumeError::Object {
                volume: volume.clone(),
                source,
            })?);
        }
        trees.prefetch(commits.iter().map(|c| c.tree))?;
        for commit in commits {
            let skills = trees.skills_tree(commit.tree)?;
            match child {
                None => {
                    let files = trees.skill_files(skills)?;
                    result.head_files = files.files;
                    result.head_components = files.components;
                }
                Some((child_id, child_skills)) => {
                    for path in trees.changed_files(skills, child_skills)? {
                        if result.head_files.contains_key(&path) {
                            result.changed.entry(path).or_insert(child_id);
                        } else {
                            result.removed.insert(path);
                        }
                    }
                    if Some(commit.id) == stop {
                        result.reached_stop = true;
                        break 'walk;
                    }
                    if result.changed.len() == result.head_files.len() {
                        break 'walk;
                    }
                }
            }
            cursor = commit.first_parent();
            if cursor.is_none() {
                // The root created every file it has.
                for path in trees.changed_files(None, skills)? {
                    if result.head_files.contains_key(&path) {
                        result.changed.entry(path).or_insert(commit.id);
                    }
                }
                break 'walk;
            }
            child = Some((commit.id, skills));
        }
    }
    Ok(result)
}

/// The listing JSON of a skill, as the catalog stores it and `GET /skills`
/// lists it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ListedSkill<'a> {
    skill_id: &'a SkillId,
    name: &'a str,
    category: &'a str,
    description: &'a str,
    keywords: &'a [String],
    #[serde(rename = "type")]
    kind: SkillKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<SkillStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    runtime: Option<Runtime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    execution_mode: Option<ExecutionMode>,
    /// Present (true) for compiled skills only.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    compiled: bool,
    /// For compiled skills: the component's state, or `missing`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, pattern = "^(fresh|stale|unknown|invalid|missing)$")]
    component: Option<&'static str>,
    volume: &'a VolumeId,
    /// The commit of the volume the index read the file at.
    commit: String,
    path: &'a str,
}

/// Parses one skill file, or says why it is not a skill.
fn parse_file(
    volume: &VolumeId,
    path: &str,
    blob: ObjectId,
    commit: ObjectId,
    data: &[u8],
) -> Result<skill::Skill, Box<CatalogProblem>> {
    let (id_text, _) = classify(path).expect("walks only yield skill file paths");
    let problem = |code: &str, message: String, line: Option<usize>| {
        Box::new(CatalogProblem {
            volume: volume.clone(),
            path: path.to_owned(),
            skill_id: id_text.to_owned(),
            blob,
            commit,
            code: code.to_owned(),
            message,
            line: line.and_then(|l| u32::try_from(l).ok()),
        })
    };
    match SkillId::new(id_text) {
        Err(e) => Err(problem(
            "skill-bad-file-name",
            format!("{path}: file name `{id_text}` is not a skill id: {e}"),
            None,
        )),
        Ok(id) => skill::parse_bytes_as(&id, Some(path), data)
            .map_err(|e| problem(e.code(), e.to_string(), e.line())),
    }
}

/// The row of one parsed skill file (or its problem row), with the
/// component beside it for compiled skills.
fn index_file(
    volume: &VolumeId,
    path: &str,
    blob: ObjectId,
    commit: ObjectId,
    parsed: Result<skill::Skill, Box<CatalogProblem>>,
    component: Option<&SkillComponent>,
) -> NewRow {
    let (id_text, location) = classify(path).expect("walks only yield skill file paths");
    let mut values: Vec<SqlValue> = vec![
        volume.to_string().into(),
        path.into(),
        id_text.into(),
        location.as_str().into(),
        blob.to_string().into(),
        commit.to_string().into(),
    ];
    let skill = match parsed {
        Ok(skill) => skill,
        Err(problem) => {
            values.extend(std::iter::repeat_n(SqlValue::Null, 10));
            values.push(problem.code.clone().into());
            values.push(problem.message.clone().into());
            values.push(problem.line.map(i64::from).into());
            debug_assert_eq!(values.len(), COLUMN_COUNT);
            return NewRow {
                values,
                problem: Some(*problem),
            };
        }
    };
    let status = skill.status().or(match location {
        SkillLocation::Draft => Some(SkillStatus::Draft),
        _ => None,
    });
    let compiled = Language::of(&skill).is_some();
    let summary = ListedSkill {
        skill_id: skill.id(),
        name: skill.name(),
        category: skill.category(),
        description: skill.description(),
        keywords: skill.keywords(),
        kind: skill.kind(),
        status,
        runtime: skill.runtime(),
        execution_mode: skill.execution_mode(),
        compiled,
        component: compiled.then(|| component.map_or("missing", |c| c.state.as_str())),
        volume,
        commit: commit.to_string(),
        path,
    };
    let signature = skill.signature().map(|s| {
        let mut signature = signature_of(s, commit);
        signature.component = component.map(SkillComponent::reference);
        signature
    });
    values.extend([
        skill.name().into(),
        skill.category().into(),
        skill.description().into(),
        to_json(skill.keywords()).into(),
        skill.kind().as_str().into(),
        skill.runtime().map(|r| r.as_str()).into(),
        skill.execution_mode().map(|m| m.as_str()).into(),
        status.map(|s| s.as_str()).into(),
        to_json(&summary).into(),
        signature.as_ref().map(to_json).into(),
        SqlValue::Null,
        SqlValue::Null,
        SqlValue::Null,
    ]);
    debug_assert_eq!(values.len(), COLUMN_COUNT);
    NewRow {
        values,
        problem: None,
    }
}

/// JSON of the catalog's own values, which always serialise.
fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("catalog values have string keys and finite numbers")
}
