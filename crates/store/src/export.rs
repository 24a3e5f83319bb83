//! A volume as an ordinary git repository on disk.
//!
//! The store performs no file I/O; the host writes what this module lists.
//! [`reachable_objects`] walks every object reachable from the volume's refs
//! (commits, trees, blobs; submodule entries are not followed, as git does)
//! and yields each once with its loose-object bytes. [`bare_repository`]
//! adds `HEAD`, `config` and the ref files, so writing each
//! [`RepositoryFile`] below an empty directory (creating parent
//! directories, plus the [`BARE_REPOSITORY_DIRS`]) gives a bare repository
//! that `git fsck --strict` accepts and `git log` reads. A host that prefers
//! gix can take the objects and refs instead and write them itself.

use std::collections::HashSet;

use llmos_core::ids::VolumeId;

use crate::dumb_http::loose_object_path;
use crate::object::{ObjectError, ObjectId, ObjectKind, RawObject, Tree, decode_commit};
use crate::store::{ObjectStore, RefName, RefStore, StoreError};

/// Why an export stopped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExportError {
    #[error("object {id} reachable from {volume} is missing from the store")]
    Missing { volume: VolumeId, id: ObjectId },
    #[error("in {volume}: {source}")]
    Object {
        volume: VolumeId,
        #[source]
        source: ObjectError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Directories a bare repository has even when empty; create them first.
pub const BARE_REPOSITORY_DIRS: &[&str] = &["objects", "objects/info", "refs/heads", "refs/tags"];

/// `config` of an exported bare repository.
pub const BARE_CONFIG: &str =
    "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n";

/// One file of an exported repository: a path relative to the repository
/// directory (with `/` separators) and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryFile {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// The refs of a volume, and what `HEAD` points to.
pub fn refs(
    store: &impl RefStore,
    volume: &VolumeId,
) -> Result<Vec<(RefName, ObjectId)>, ExportError> {
    Ok(store.list_refs(volume)?)
}

/// Every object reachable from the volume's refs, each once, parents after
/// children are discovered (depth first). Yields an error, then stops, if an
/// object is missing or cannot be decoded.
pub fn reachable_objects<'s, S: ObjectStore + RefStore>(
    store: &'s S,
    volume: &VolumeId,
) -> Result<ReachableObjects<'s, S>, ExportError> {
    let roots: Vec<(ObjectId, ObjectKind)> = store
        .list_refs(volume)?
        .into_iter()
        .map(|(_, id)| (id, ObjectKind::Commit))
        .collect();
    Ok(ReachableObjects::new(store, volume.clone(), roots))
}

/// The files of a bare repository holding the volume: `HEAD`, `config`,
/// one file per ref, then every reachable object as
/// `objects/xx/yyyy…`.
pub fn bare_repository<'s, S: ObjectStore + RefStore>(
    store: &'s S,
    volume: &VolumeId,
) -> Result<impl Iterator<Item = Result<RepositoryFile, ExportError>> + 's, ExportError> {
    let mut head = vec![
        RepositoryFile {
            path: "HEAD".into(),
            bytes: crate::dumb_http::head(),
        },
        RepositoryFile {
            path: "config".into(),
            bytes: BARE_CONFIG.as_bytes().to_vec(),
        },
    ];
    for (name, id) in refs(store, volume)? {
        head.push(RepositoryFile {
            path: name.as_str().to_owned(),
            bytes: format!("{id}\n").into_bytes(),
        });
    }
    let objects = reachable_objects(store, volume)?.map(|object| {
        object.map(|object| RepositoryFile {
            path: loose_object_path(&object.id()),
            bytes: object.loose_bytes(),
        })
    });
    Ok(head.into_iter().map(Ok).chain(objects))
}

/// Iterator of [`reachable_objects`].
pub struct ReachableObjects<'s, S> {
    store: &'s S,
    volume: VolumeId,
    stack: Vec<(ObjectId, ObjectKind)>,
    seen: HashSet<ObjectId>,
    failed: bool,
}

impl<'s, S: ObjectStore> ReachableObjects<'s, S> {
    pub(crate) fn new(store: &'s S, volume: VolumeId, roots: Vec<(ObjectId, ObjectKind)>) -> Self {
        Self {
            store,
            volume,
            stack: roots,
            seen: HashSet::new(),
            failed: false,
        }
    }

    fn step(&mut self, id: ObjectId) -> Result<RawObject, ExportError> {
        let volume = &self.volume;
        let object = self
            .store
            .read_object(&id)?
            .ok_or_else(|| ExportError::Missing {
                volume: volume.clone(),
                id,
            })?;
        let decode_error = |source| ExportError::Object {
            volume: volume.clone(),
            source,
        };
        match object.kind() {
            ObjectKind::Commit => {
                let commit = decode_commit(&object).map_err(decode_error)?;
                self.stack.push((commit.tree, ObjectKind::Tree));
                self.stack.extend(
                    commit
                        .parents
                        .iter()
                        .rev()
                        .map(|p| (*p, ObjectKind::Commit)),
                );
            }
            ObjectKind::Tree => {
                let tree = Tree::decode(&object).map_err(decode_error)?;
                for entry in tree.entries() {
                    if entry.kind != crate::object::EntryKind::Submodule {
                        self.stack.push((entry.id, entry.kind.object_kind()));
                    }
                }
            }
            ObjectKind::Blob | ObjectKind::Tag => {}
        }
        Ok(object)
    }
}

impl<S: ObjectStore> Iterator for ReachableObjects<'_, S> {
    type Item = Result<RawObject, ExportError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            let (id, _) = self.stack.pop()?;
            if !self.seen.insert(id) {
                continue;
            }
            let result = self.step(id);
            self.failed = result.is_err();
            return Some(result);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::{GitTime, Signature};
    use crate::path::VolumePath;
    use crate::store::MemoryStore;
    use crate::volume::{CommitRequest, Volumes};

    #[test]
    fn yields_each_reachable_object_once() {
        let vols = Volumes::new(MemoryStore::new());
        let vol: VolumeId = "system".parse().unwrap();
        let sig = Signature::new("A", "a@x", GitTime::utc(1));
        let p = |s: &str| VolumePath::new(s).unwrap();
        vols.commit(
            &vol,
            CommitRequest::new(sig.clone(), "one")
                .put(p("a/x.md"), "same")
                .put(p("b/x.md"), "same"),
        )
        .unwrap();
        vols.commit(&vol, CommitRequest::new(sig, "two").put(p("c.md"), "c"))
            .unwrap();
        let objects: Vec<RawObject> = reachable_objects(vols.store(), &vol)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let kinds = |k| objects.iter().filter(|o| o.kind() == k).count();
        // Two commits; trees: two roots plus `a` and `b`, which hold the same
        // entry and so are one object; blobs: "same" and "c".
        assert_eq!(kinds(ObjectKind::Commit), 2);
        assert_eq!(kinds(ObjectKind::Tree), 3);
        assert_eq!(kinds(ObjectKind::Blob), 2);
        let unique: HashSet<_> = objects.iter().map(RawObject::id).collect();
        assert_eq!(unique.len(), objects.len());
    }

    #[test]
    fn stops_at_a_missing_object() {
        let store = MemoryStore::new();
        let vols = Volumes::new(store.clone());
        let vol: VolumeId = "system".parse().unwrap();
        let sig = Signature::new("A", "a@x", GitTime::utc(1));
        vols.commit(
            &vol,
            CommitRequest::new(sig, "one").put(VolumePath::new("a.md").unwrap(), "x"),
        )
        .unwrap();
        store.remove_object(&RawObject::blob(b"x".to_vec()).id());
        let results: Vec<_> = reachable_objects(&store, &vol).unwrap().collect();
        assert!(matches!(
            results.last(),
            Some(Err(ExportError::Missing { .. }))
        ));
    }
}
