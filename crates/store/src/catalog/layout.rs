//! Where skills live in a volume, and reading that part of a tree.
//!
//! ```text
//! skills/<skill_id>.md          a skill file (context or executable)
//! skills/<name>/SKILL.md        an Agent Skills directory; its id is <name>
//! skills/drafts/<skill_id>.md   a draft (written by evolution, not yet reviewed)
//! skills/<skill_id>.wasm        the component built from skills/<skill_id>.md
//! skills/drafts/<skill_id>.wasm the component built from a draft
//! ```
//!
//! A component belongs to the skill file beside it and changes with it:
//! the catalog treats a change of either as a change of the skill.
//! Anything else under `skills/` (other files of an Agent Skills directory,
//! other non-Markdown files, deeper directories) is not a skill and is
//! ignored, and so is a component whose skill file does not exist.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use llmos_core::ids::{SkillId, VolumeId};
use llmos_core::skill::component::skill_path_of_component;
use serde::Serialize;

use crate::object::{EntryKind, ObjectId, Tree};
use crate::path::VolumePath;
use crate::store::ObjectStore;
use crate::volume::VolumeError;

/// The directory of a volume that holds its skills.
pub const SKILLS_DIR: &str = "skills";

/// The directory under [`SKILLS_DIR`] that holds drafts.
pub const DRAFTS_DIR: &str = "drafts";

/// File name of an Agent Skills skill inside its directory.
pub const AGENT_SKILL_FILE: &str = "SKILL.md";

/// Which of the three layouts a skill file uses. Within one volume, when
/// several files give the same id, the first in this order is the skill and
/// the others are shadowed (they stay in git and in the index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkillLocation {
    /// `skills/<id>.md`
    File,
    /// `skills/<id>/SKILL.md`
    AgentSkill,
    /// `skills/drafts/<id>.md`
    Draft,
}

impl SkillLocation {
    pub const ALL: [SkillLocation; 3] = [
        SkillLocation::File,
        SkillLocation::AgentSkill,
        SkillLocation::Draft,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SkillLocation::File => "file",
            SkillLocation::AgentSkill => "agent-skill",
            SkillLocation::Draft => "draft",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == name)
    }

    /// The path of skill `id` in this layout.
    pub fn path(self, id: &SkillId) -> VolumePath {
        let text = match self {
            SkillLocation::File => format!("{SKILLS_DIR}/{id}.md"),
            SkillLocation::AgentSkill => format!("{SKILLS_DIR}/{id}/{AGENT_SKILL_FILE}"),
            SkillLocation::Draft => format!("{SKILLS_DIR}/{DRAFTS_DIR}/{id}.md"),
        };
        VolumePath::new(&text).expect("skill ids are valid path segments")
    }
}

/// The id text and layout of a skill file path, or `None` for paths that
/// are not skill files. The id text is not validated here: a file called
/// `skills/README.md` is a skill file whose name is not a valid id, which
/// the index records as a problem.
pub fn classify(path: &str) -> Option<(&str, SkillLocation)> {
    let rest = path.strip_prefix(SKILLS_DIR)?.strip_prefix('/')?;
    let mut parts = rest.split('/');
    let (first, second, third) = (parts.next()?, parts.next(), parts.next());
    match (first, second, third) {
        (file, None, None) => file.strip_suffix(".md").map(|id| (id, SkillLocation::File)),
        (DRAFTS_DIR, Some(file), None) => file
            .strip_suffix(".md")
            .map(|id| (id, SkillLocation::Draft)),
        (dir, Some(AGENT_SKILL_FILE), None) => Some((dir, SkillLocation::AgentSkill)),
        _ => None,
    }
}

/// Decoded trees read during one catalog operation. Trees never change, so
/// a cached one is always right; the cache lives as long as the operation.
pub(crate) struct TreeReader<'s, S> {
    store: &'s S,
    volume: &'s VolumeId,
    cache: HashMap<ObjectId, Arc<Tree>>,
}

impl<'s, S: ObjectStore> TreeReader<'s, S> {
    pub(crate) fn new(store: &'s S, volume: &'s VolumeId) -> Self {
        Self {
            store,
            volume,
            cache: HashMap::new(),
        }
    }

    /// Reads the trees among `ids` that are not cached yet, in one store
    /// call. Missing objects are reported by [`Self::get`] when needed.
    pub(crate) fn prefetch(
        &mut self,
        ids: impl IntoIterator<Item = ObjectId>,
    ) -> Result<(), VolumeError> {
        let mut missing: Vec<ObjectId> = ids
            .into_iter()
            .filter(|id| !self.cache.contains_key(id))
            .collect();
        missing.sort();
        missing.dedup();
        if missing.is_empty() {
            return Ok(());
        }
        for object in self.store.read_objects(&missing)? {
            let tree = Tree::decode(&object).map_err(|source| VolumeError::Object {
                volume: self.volume.clone(),
                source,
            })?;
            self.cache.insert(object.id(), Arc::new(tree));
        }
        Ok(())
    }

    pub(crate) fn get(&mut self, id: ObjectId) -> Result<Arc<Tree>, VolumeError> {
        if let Some(tree) = self.cache.get(&id) {
            return Ok(tree.clone());
        }
        self.prefetch([id])?;
        self.cache
            .get(&id)
            .cloned()
            .ok_or_else(|| VolumeError::MissingObject {
                volume: self.volume.clone(),
                id,
            })
    }

    /// The `skills` directory of a root tree, if it has one.
    pub(crate) fn skills_tree(&mut self, root: ObjectId) -> Result<Option<ObjectId>, VolumeError> {
        Ok(self
            .get(root)?
            .get(SKILLS_DIR)
            .filter(|e| e.kind == EntryKind::Directory)
            .map(|e| e.id))
    }

    /// Every skill file below a `skills` tree, with the components beside
    /// them.
    pub(crate) fn skill_files(
        &mut self,
        skills: Option<ObjectId>,
    ) -> Result<SkillFiles, VolumeError> {
        let mut files = SkillFiles::default();
        let Some(skills) = skills else {
            return Ok(files);
        };
        let tree = self.get(skills)?;
        self.prefetch(
            tree.entries()
                .filter(|e| e.kind == EntryKind::Directory)
                .map(|e| e.id),
        )?;
        for entry in tree.entries() {
            self.entry_files(&entry.name, Some((entry.kind, entry.id)), &mut files)?;
        }
        Ok(files)
    }

    /// Paths of skill files that differ (added, removed or changed) between
    /// two `skills` trees, or whose component (`<id>.wasm` beside
    /// `<id>.md`) differs: a skill and its component change together. Only
    /// top-level entries whose ids differ are looked into, so a change to
    /// one skill costs one entry comparison per skill and no further reads.
    pub(crate) fn changed_files(
        &mut self,
        old: Option<ObjectId>,
        new: Option<ObjectId>,
    ) -> Result<Vec<String>, VolumeError> {
        if old == new {
            return Ok(Vec::new());
        }
        let entries = |reader: &mut Self, id: Option<ObjectId>| -> Result<_, VolumeError> {
            let mut map = BTreeMap::new();
            if let Some(id) = id {
                for entry in reader.get(id)?.entries() {
                    map.insert(entry.name, (entry.kind, entry.id));
                }
            }
            Ok(map)
        };
        let old_entries = entries(self, old)?;
        let new_entries = entries(self, new)?;
        let mut names: Vec<&String> = old_entries.keys().chain(new_entries.keys()).collect();
        names.sort();
        names.dedup();
        let mut changed = BTreeSet::new();
        for name in names {
            let (before, after) = (
                old_entries.get(name).copied(),
                new_entries.get(name).copied(),
            );
            if before == after {
                continue;
            }
            let mut old_files = SkillFiles::default();
            let mut new_files = SkillFiles::default();
            self.entry_files(name, before, &mut old_files)?;
            self.entry_files(name, after, &mut new_files)?;
            for (old_map, new_map) in [
                (&old_files.files, &new_files.files),
                (&old_files.components, &new_files.components),
            ] {
                for (path, blob) in new_map {
                    if old_map.get(path) != Some(blob) {
                        changed.insert(path.clone());
                    }
                }
                for path in old_map.keys() {
                    if !new_map.contains_key(path) {
                        changed.insert(path.clone());
                    }
                }
            }
        }
        Ok(changed.into_iter().collect())
    }

    /// The skill files (and components) one top-level entry of `skills`
    /// contributes.
    fn entry_files(
        &mut self,
        name: &str,
        entry: Option<(EntryKind, ObjectId)>,
        files: &mut SkillFiles,
    ) -> Result<(), VolumeError> {
        match entry {
            None => {}
            Some((EntryKind::File, id)) => files.add(&format!("{SKILLS_DIR}/{name}"), id),
            Some((EntryKind::Directory, id)) if name == DRAFTS_DIR => {
                for draft in self.get(id)?.entries() {
                    if draft.kind == EntryKind::File {
                        files.add(
                            &format!("{SKILLS_DIR}/{DRAFTS_DIR}/{}", draft.name),
                            draft.id,
                        );
                    }
                }
            }
            Some((EntryKind::Directory, id)) => {
                // Agent Skills directories are never compiled: only their
                // SKILL.md counts.
                if let Some(skill) = self.get(id)?.get(AGENT_SKILL_FILE)
                    && skill.kind == EntryKind::File
                {
                    files
                        .files
                        .insert(format!("{SKILLS_DIR}/{name}/{AGENT_SKILL_FILE}"), skill.id);
                }
            }
            // Links and submodules are never skills.
            Some(_) => {}
        }
        Ok(())
    }
}

/// The skill files below a `skills` tree and the components beside them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct SkillFiles {
    /// Skill file path → blob.
    pub files: BTreeMap<String, ObjectId>,
    /// Skill file path (`skills/<id>.md`) → blob of the component at
    /// `skills/<id>.wasm`. A component whose skill file does not exist is
    /// listed too; callers ignore it.
    pub components: BTreeMap<String, ObjectId>,
}

impl SkillFiles {
    /// Records the file at `path` (directly in `skills/` or in its drafts)
    /// if it is a skill file or a component.
    fn add(&mut self, path: &str, id: ObjectId) {
        if path.ends_with(".md") {
            self.files.insert(path.to_owned(), id);
        } else if let Some(skill) = skill_path_of_component(path) {
            self.components.insert(skill, id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_three_layouts() {
        assert_eq!(classify("skills/a.md"), Some(("a", SkillLocation::File)));
        assert_eq!(
            classify("skills/pdf/SKILL.md"),
            Some(("pdf", SkillLocation::AgentSkill))
        );
        assert_eq!(
            classify("skills/drafts/x.md"),
            Some(("x", SkillLocation::Draft))
        );
        assert_eq!(
            classify("skills/README.md"),
            Some(("README", SkillLocation::File))
        );
        for other in [
            "skills/a.txt",
            "skills/pdf/notes.md",
            "skills/pdf/scripts/x.md",
            "skills/drafts/sub/x.md",
            "workflows/a.md",
            "skills",
            "skillsx/a.md",
        ] {
            assert_eq!(classify(other), None, "{other}");
        }
    }

    #[test]
    fn paths_round_trip_through_classify() {
        let id = SkillId::new("rc-filter").unwrap();
        for location in SkillLocation::ALL {
            let path = location.path(&id);
            assert_eq!(classify(path.as_str()), Some(("rc-filter", location)));
            assert_eq!(SkillLocation::from_name(location.as_str()), Some(location));
        }
    }
}
