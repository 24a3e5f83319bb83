//! The first commit of a volume from a set of skill files: how the shipped
//! system skills become the `system` volume on first start.
//!
//! The commit is made only if the volume has no head, by a compare-and-swap
//! of `refs/heads/main` against "no ref", and never retried: when several
//! first requests import at once, exactly one commit lands and the others
//! find the volume initialised. Every file is checked before anything is
//! written, so a file that fails to parse imports nothing.
//!
//! Besides skill files, the set may hold built components
//! (`skills/<id>.wasm`), each beside the compiled skill file it was built
//! from in the same set; a component must be one ([`inspect`] reads it)
//! and must name that file's current source in its provenance, so an
//! imported component is always fresh.

use std::collections::BTreeMap;

use llmos_core::ids::{SkillId, VolumeId};
use llmos_core::skill::Skill;
use llmos_core::skill::component::{Freshness, freshness, inspect, skill_path_of_component};

use super::CatalogError;
use super::layout::classify;
use crate::object::{EntryKind, ObjectId, RawObject, Signature, Tree, encode_commit};
use crate::path::VolumePath;
use crate::store::{ObjectStore, RefName, RefStore};
use crate::volume::{VolumeError, Volumes};

/// What [`import_initial`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportOutcome {
    /// The files are the volume's first commit.
    Imported { commit: ObjectId, files: usize },
    /// The volume already had a head (possibly from a concurrent import);
    /// nothing was written.
    AlreadyInitialised { head: ObjectId },
}

/// Makes `files` (paths inside the volume → content) the first commit of
/// `volume`, if it has none yet. Every path must be a skill file path (or
/// a component beside a compiled skill file of the set) and every file
/// must parse (components: be fresh); the first that does not is the
/// error.
pub fn import_initial<S: ObjectStore + RefStore>(
    volumes: &Volumes<S>,
    volume: &VolumeId,
    files: &BTreeMap<VolumePath, Vec<u8>>,
    author: &Signature,
    message: &str,
) -> Result<ImportOutcome, CatalogError> {
    if let Some(head) = volumes.head(volume)? {
        return Ok(ImportOutcome::AlreadyInitialised { head });
    }
    for (path, data) in files {
        if path.as_str().ends_with(".wasm") {
            check_component(path, data, files)?;
        } else {
            check_skill_file(path, data)?;
        }
    }
    let mut objects = Vec::with_capacity(files.len() * 2 + 2);
    let entries: Vec<(Vec<&str>, ObjectId)> = files
        .iter()
        .map(|(path, data)| {
            let blob = RawObject::blob(data.clone());
            let id = blob.id();
            objects.push(blob);
            (path.segments().collect(), id)
        })
        .collect();
    let object_error = |source| VolumeError::Object {
        volume: volume.clone(),
        source,
    };
    let root = build_tree(&entries, &mut objects).map_err(object_error)?;
    let commit = encode_commit(root, &[], author, author, message).map_err(object_error)?;
    let commit_id = commit.id();
    objects.push(commit);
    volumes.store().write_objects(volume, &objects)?;
    let summary = message.lines().next().unwrap_or("");
    let swapped = volumes.set_ref(
        volume,
        &RefName::main(),
        None,
        commit_id,
        author.time.seconds,
        &format!("commit (initial): {summary}"),
    )?;
    if swapped {
        return Ok(ImportOutcome::Imported {
            commit: commit_id,
            files: files.len(),
        });
    }
    let head = volumes
        .head(volume)?
        .expect("a failed swap against no ref means the ref exists");
    Ok(ImportOutcome::AlreadyInitialised { head })
}

/// Checks that `path` is a skill file path and `data` parses as that skill.
fn check_skill_file(path: &VolumePath, data: &[u8]) -> Result<Skill, CatalogError> {
    let (id_text, _) = classify(path.as_str()).ok_or_else(|| CatalogError::NotASkillPath {
        path: path.to_string(),
    })?;
    let id = SkillId::new(id_text).map_err(|e| CatalogError::BadFileName {
        path: path.to_string(),
        name: id_text.to_owned(),
        reason: e.to_string(),
    })?;
    llmos_core::skill::parse_bytes_as(&id, Some(path.as_str()), data).map_err(|source| {
        CatalogError::InvalidSkill {
            path: path.to_string(),
            source: Box::new(source),
        }
    })
}

/// Checks that the component at `path` sits beside a compiled skill file
/// of `files` and was built from that file's current source.
fn check_component(
    path: &VolumePath,
    data: &[u8],
    files: &BTreeMap<VolumePath, Vec<u8>>,
) -> Result<(), CatalogError> {
    let invalid = |message: String| CatalogError::InvalidComponent {
        path: path.to_string(),
        message,
    };
    let skill_path = skill_path_of_component(path.as_str())
        .and_then(|p| VolumePath::new(&p).ok())
        .ok_or_else(|| CatalogError::NotASkillPath {
            path: path.to_string(),
        })?;
    let source = files
        .get(&skill_path)
        .ok_or_else(|| invalid(format!("there is no skill file {skill_path} beside it")))?;
    let skill = check_skill_file(&skill_path, source)?;
    let info = inspect(data).map_err(|e| invalid(e.to_string()))?;
    match freshness(&skill, &info) {
        Some(Freshness::Fresh) => Ok(()),
        None => Err(invalid(format!("{skill_path} is not a compiled skill"))),
        Some(Freshness::Unknown) => Err(invalid(
            "it records no provenance; build it from the skill file".to_owned(),
        )),
        Some(Freshness::Stale {
            built_from,
            current,
        }) => Err(invalid(format!(
            "it was built from source {built_from}, but {skill_path} is now {current}; \
             build it again"
        ))),
    }
}

/// Builds the tree holding `entries` (path segments → blob), pushing every
/// new tree to `objects`, and returns its id. Paths are distinct and valid,
/// so no entry is both a file and a directory.
fn build_tree(
    entries: &[(Vec<&str>, ObjectId)],
    objects: &mut Vec<RawObject>,
) -> Result<ObjectId, crate::object::ObjectError> {
    let mut tree = Tree::empty();
    let mut dirs: BTreeMap<&str, Vec<(Vec<&str>, ObjectId)>> = BTreeMap::new();
    for (segments, blob) in entries {
        match segments.as_slice() {
            [file] => tree.insert(file, EntryKind::File, *blob),
            [dir, rest @ ..] => dirs.entry(dir).or_default().push((rest.to_vec(), *blob)),
            [] => {}
        }
    }
    for (dir, children) in dirs {
        let id = build_tree(&children, objects)?;
        tree.insert(dir, EntryKind::Directory, id);
    }
    let raw = tree.encode()?;
    let id = raw.id();
    objects.push(raw);
    Ok(id)
}
