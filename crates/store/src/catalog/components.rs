//! Components beside compiled skills: what the catalog knows of each one
//! and how it judges whether it may run.
//!
//! A compiled skill `skills/<id>.md` may have its built component at
//! `skills/<id>.wasm` in the same commit. Components are large (a Python
//! one is about 20 MB), so what a listing needs of one — its SHA-256, size,
//! provenance, or why it is not a component at all — is read from its
//! bytes once per blob id and kept in `skill_components`, keyed by blob:
//! a blob never changes, so the row is right forever, in every volume that
//! shares the blob. Listing, looking up and refreshing never read a
//! component's bytes again.
//!
//! # Whether a component may run
//!
//! - **fresh**: its provenance names the skill file's current
//!   [`source_digest`]. Runnable.
//! - **stale**: its provenance names another digest (the code or the ports
//!   changed since the build), or it has no provenance and was checked on
//!   upload against another version of the file. Not runnable.
//! - **unknown**: it has no provenance (built elsewhere). Runnable only if
//!   it was checked on upload through the API (imports, world, `describe`
//!   against the front matter) while the file had its current source
//!   digest: `skill_component_checks` records each (blob, digest) pair that
//!   passed. A component that arrived any other way (a git import) is not
//!   runnable until it is uploaded or built again.
//! - **invalid**: its bytes are not a component ([`inspect`] fails).
//!
//! A component beside a skill that is not compiled, or beside no skill
//! file at all, is ignored.

use std::collections::{HashMap, HashSet};

use llmos_core::ids::VolumeId;
use llmos_core::skill::Skill;
use llmos_core::skill::component::{
    ComponentInfo, Freshness, Provenance, component_path, freshness, inspect, sha256_hex,
    source_digest,
};
use llmos_core::workflow::ComponentRef;
use serde::Serialize;

use super::{Catalog, CatalogError, placeholders};
use crate::object::{EntryKind, ObjectId, parse_id};
use crate::path::VolumePath;
use crate::sql::{SqlExecutor, SqlValue};
use crate::store::ObjectStore;
use crate::volume::{At, VolumeError};

/// Blob ids per `IN (…)` list.
const LOOKUP_BATCH: usize = 256;

/// What a component beside a skill file is worth to its skill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ComponentState {
    Fresh,
    Stale,
    Unknown,
    Invalid,
}

impl ComponentState {
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentState::Fresh => "fresh",
            ComponentState::Stale => "stale",
            ComponentState::Unknown => "unknown",
            ComponentState::Invalid => "invalid",
        }
    }
}

/// The component beside a compiled skill file, as the catalog knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkillComponent {
    /// `skills/<id>.wasm` (or the drafts path).
    pub path: String,
    #[serde(serialize_with = "super::serialize_id")]
    pub blob: ObjectId,
    pub sha256: String,
    pub size: u64,
    pub provenance: Option<Provenance>,
    pub state: ComponentState,
    /// Whether a workflow may run it (see the module docs).
    pub runnable: bool,
    /// Why the bytes are not a component, for [`ComponentState::Invalid`].
    pub error: Option<String>,
}

impl SkillComponent {
    /// The workflow engine's reference to it.
    pub fn reference(&self) -> ComponentRef {
        ComponentRef {
            sha256: self.sha256.clone(),
            blob: self.blob.to_string(),
            fresh: self.runnable,
        }
    }
}

/// A row of `skill_components`: what a blob's bytes say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct StoredComponent {
    pub sha256: String,
    pub size: u64,
    pub provenance: Option<Provenance>,
    pub error: Option<String>,
}

impl StoredComponent {
    /// Reads the facts off the bytes (the one time they are read).
    fn of_bytes(bytes: &[u8]) -> StoredComponent {
        match inspect(bytes) {
            Ok(info) => StoredComponent::of_info(&info),
            Err(e) => StoredComponent {
                sha256: sha256_hex(bytes),
                size: bytes.len() as u64,
                provenance: None,
                error: Some(e.to_string()),
            },
        }
    }

    fn of_info(info: &ComponentInfo) -> StoredComponent {
        StoredComponent {
            sha256: info.sha256.clone(),
            size: info.size as u64,
            provenance: info.provenance.clone(),
            error: None,
        }
    }
}

/// Judges the component at `path` (blob `blob`, facts `stored`) for
/// `skill`; `checked` holds the source digests it passed an upload check
/// for.
pub(super) fn assess(
    skill: &Skill,
    path: &str,
    blob: ObjectId,
    stored: &StoredComponent,
    checked: &HashSet<String>,
) -> SkillComponent {
    let (state, runnable) = if stored.error.is_some() {
        (ComponentState::Invalid, false)
    } else {
        let info = ComponentInfo {
            sha256: stored.sha256.clone(),
            size: usize::try_from(stored.size).unwrap_or(usize::MAX),
            provenance: stored.provenance.clone(),
        };
        match freshness(skill, &info) {
            Some(Freshness::Fresh) => (ComponentState::Fresh, true),
            Some(Freshness::Stale { .. }) | None => (ComponentState::Stale, false),
            Some(Freshness::Unknown) => {
                let current = source_digest(skill);
                if current.as_ref().is_some_and(|d| checked.contains(d)) {
                    (ComponentState::Unknown, true)
                } else if checked.is_empty() {
                    (ComponentState::Unknown, false)
                } else {
                    (ComponentState::Stale, false)
                }
            }
        }
    };
    SkillComponent {
        path: path.to_owned(),
        blob,
        sha256: stored.sha256.clone(),
        size: stored.size,
        provenance: stored.provenance.clone(),
        state,
        runnable,
        error: stored.error.clone(),
    }
}

impl<E: SqlExecutor> Catalog<'_, E> {
    /// The facts of each of `blobs`, from `skill_components`, reading (and
    /// then keeping) only the blobs that have no row yet, one at a time so
    /// that at most one component's bytes are in memory.
    pub(super) fn stored_components(
        &self,
        volume: &VolumeId,
        blobs: &[ObjectId],
    ) -> Result<HashMap<ObjectId, StoredComponent>, CatalogError> {
        let mut found = HashMap::with_capacity(blobs.len());
        let mut wanted: Vec<ObjectId> = blobs.to_vec();
        wanted.sort();
        wanted.dedup();
        for chunk in wanted.chunks(LOOKUP_BATCH) {
            let sql = format!(
                "SELECT blob, sha256, size, provenance, error FROM skill_components \
                 WHERE blob IN ({})",
                placeholders(chunk.len())
            );
            let params: Vec<SqlValue> = chunk.iter().map(|id| id.to_string().into()).collect();
            for row in self.run("reading component facts", &sql, &params)?.rows {
                let (blob, stored) = decode_stored(&row)?;
                found.insert(blob, stored);
            }
        }
        for blob in wanted {
            if found.contains_key(&blob) {
                continue;
            }
            let object = self
                .volumes
                .store()
                .read_object(&blob)
                .map_err(VolumeError::from)?
                .ok_or_else(|| VolumeError::MissingObject {
                    volume: volume.clone(),
                    id: blob,
                })?;
            let stored = StoredComponent::of_bytes(object.data());
            drop(object);
            self.keep_component(blob, &stored)?;
            found.insert(blob, stored);
        }
        Ok(found)
    }

    /// Keeps what a caller already read off a component's bytes (an upload
    /// or a build inspects them before committing), so the next refresh
    /// does not read the blob again.
    pub fn remember_component(
        &self,
        blob: ObjectId,
        info: &ComponentInfo,
    ) -> Result<(), CatalogError> {
        self.keep_component(blob, &StoredComponent::of_info(info))
    }

    fn keep_component(&self, blob: ObjectId, stored: &StoredComponent) -> Result<(), CatalogError> {
        let provenance = stored
            .provenance
            .as_ref()
            .map(|p| serde_json::to_string(p).expect("provenance has string keys and no floats"));
        self.run(
            "keeping component facts",
            "INSERT OR IGNORE INTO skill_components (blob, sha256, size, provenance, error) \
             VALUES (?, ?, ?, ?, ?)",
            &[
                blob.to_string().into(),
                stored.sha256.as_str().into(),
                i64::try_from(stored.size).unwrap_or(i64::MAX).into(),
                provenance.into(),
                stored.error.clone().into(),
            ],
        )?;
        Ok(())
    }

    /// Records that the component `blob` passed the upload checks (imports,
    /// world, `describe` against the front matter) for a skill file whose
    /// source digest is `source_sha256`: see the module docs for what that
    /// allows.
    pub fn record_check(&self, blob: ObjectId, source_sha256: &str) -> Result<(), CatalogError> {
        self.run(
            "recording a component check",
            "INSERT OR IGNORE INTO skill_component_checks (blob, source_sha256) VALUES (?, ?)",
            &[blob.to_string().into(), source_sha256.into()],
        )?;
        Ok(())
    }

    /// The source digests each of `blobs` passed an upload check for.
    pub(super) fn component_checks(
        &self,
        blobs: &[ObjectId],
    ) -> Result<HashMap<ObjectId, HashSet<String>>, CatalogError> {
        let mut checks: HashMap<ObjectId, HashSet<String>> = HashMap::new();
        let mut wanted: Vec<ObjectId> = blobs.to_vec();
        wanted.sort();
        wanted.dedup();
        for chunk in wanted.chunks(LOOKUP_BATCH) {
            let sql = format!(
                "SELECT blob, source_sha256 FROM skill_component_checks WHERE blob IN ({})",
                placeholders(chunk.len())
            );
            let params: Vec<SqlValue> = chunk.iter().map(|id| id.to_string().into()).collect();
            for row in self.run("reading component checks", &sql, &params)?.rows {
                let text = |i: usize| row.get(i).and_then(SqlValue::as_text).unwrap_or_default();
                let blob = parse_id(text(0)).map_err(|e| corrupt_component(text(0), e))?;
                checks.entry(blob).or_default().insert(text(1).to_owned());
            }
        }
        Ok(checks)
    }

    /// The component beside the skill file `skill_path` at `commit` of
    /// `volume`, judged for `skill` (the file as it is at that commit):
    /// `None` when the skill is not compiled or has no component there.
    /// Reads no component bytes unless this blob was never seen before.
    ///
    /// This is what a workflow run pinned to `commit` executes:
    /// [`SkillComponent::reference`] gives the engine's `ComponentRef`.
    pub fn component_at(
        &self,
        volume: &VolumeId,
        commit: ObjectId,
        skill_path: &str,
        skill: &Skill,
    ) -> Result<Option<SkillComponent>, CatalogError> {
        let Some(blob) = self.component_blob_at(volume, commit, skill_path, skill)? else {
            return Ok(None);
        };
        let path = component_path(skill_path).expect("component_blob_at checked the path");
        let stored = self.stored_components(volume, &[blob])?;
        let stored = stored
            .get(&blob)
            .expect("stored_components returns every blob");
        let checks = self.component_checks(&[blob])?;
        let none = HashSet::new();
        Ok(Some(assess(
            skill,
            &path,
            blob,
            stored,
            checks.get(&blob).unwrap_or(&none),
        )))
    }

    /// The blob of the component beside `skill_path` at `commit`, if the
    /// skill is compiled and one is there.
    pub fn component_blob_at(
        &self,
        volume: &VolumeId,
        commit: ObjectId,
        skill_path: &str,
        skill: &Skill,
    ) -> Result<Option<ObjectId>, CatalogError> {
        if llmos_core::skill::component::Language::of(skill).is_none() {
            return Ok(None);
        }
        let Some(path) = component_path(skill_path) else {
            return Ok(None);
        };
        let path = VolumePath::new(&path).map_err(VolumeError::from)?;
        match self.volumes.entry(volume, &path, At::Commit(commit))? {
            Some((EntryKind::File, blob)) => Ok(Some(blob)),
            _ => Ok(None),
        }
    }
}

fn corrupt_component(blob: &str, message: impl std::fmt::Display) -> CatalogError {
    CatalogError::Corrupt {
        volume: String::new(),
        path: format!("component {blob}"),
        message: message.to_string(),
    }
}

fn decode_stored(row: &[SqlValue]) -> Result<(ObjectId, StoredComponent), CatalogError> {
    let text = |i: usize| row.get(i).and_then(SqlValue::as_text);
    let blob_text = text(0).unwrap_or_default();
    let blob = parse_id(blob_text).map_err(|e| corrupt_component(blob_text, e))?;
    let provenance = text(3)
        .map(serde_json::from_str::<Provenance>)
        .transpose()
        .map_err(|e| corrupt_component(blob_text, format!("provenance: {e}")))?;
    Ok((
        blob,
        StoredComponent {
            sha256: text(1)
                .ok_or_else(|| corrupt_component(blob_text, "sha256 is missing"))?
                .to_owned(),
            size: row
                .get(2)
                .and_then(SqlValue::as_integer)
                .and_then(|n| u64::try_from(n).ok())
                .ok_or_else(|| corrupt_component(blob_text, "size is missing"))?,
            provenance,
            error: text(4).map(str::to_owned),
        },
    ))
}
