//! The storage layer under volumes: content-addressed objects shared by all
//! volumes, per-volume object membership, and per-volume refs updated by
//! compare-and-swap.
//!
//! Two small traits, [`ObjectStore`] and [`RefStore`], are everything the
//! volume logic needs. [`MemoryStore`] implements both in memory for unit
//! tests; [`crate::SqlStore`] implements them on any [`crate::SqlExecutor`].
//!
//! Membership: an object is shared by every volume that uses it (promotion
//! copies no bytes), but a volume may only *name* objects that are its
//! members: everything written through it, plus blobs promoted into it. The
//! volume layer checks membership wherever a caller passes an object id (a
//! commit to read at, an object to serve over dumb HTTP), so knowing or
//! guessing another volume's id reveals nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};

use llmos_core::ids::VolumeId;

use crate::object::{ObjectId, ObjectKind, RawObject};
use crate::pack::BuiltPack;
use crate::sql::SqlError;

/// Why a storage operation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    #[error("database error while {action}: {source}")]
    Sql {
        action: &'static str,
        #[source]
        source: SqlError,
    },
    #[error("stored data is malformed in {table}: {message}")]
    Corrupt {
        table: &'static str,
        message: String,
    },
    #[error("`{name}` is not a valid ref name: {reason}")]
    BadRefName { name: String, reason: &'static str },
}

impl StoreError {
    pub(crate) fn sql(action: &'static str) -> impl FnOnce(SqlError) -> StoreError {
        move |source| StoreError::Sql { action, source }
    }
}

/// A ref name inside a volume, e.g. `refs/heads/main`: starts with `refs/`,
/// segments of ASCII letters, digits, `-`, `_` and `.`, none starting with
/// `.` or ending with `.lock`, no `..`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RefName(String);

impl RefName {
    /// The branch every volume commits to.
    pub const MAIN: &'static str = "refs/heads/main";

    pub fn main() -> Self {
        Self(Self::MAIN.to_owned())
    }

    pub fn new(name: &str) -> Result<Self, StoreError> {
        let bad = |reason| StoreError::BadRefName {
            name: name.escape_default().to_string(),
            reason,
        };
        let rest = name
            .strip_prefix("refs/")
            .ok_or_else(|| bad("it does not start with `refs/`"))?;
        if name.len() > 255 {
            return Err(bad("it is longer than 255 bytes"));
        }
        for segment in rest.split('/') {
            if segment.is_empty() {
                return Err(bad("it has an empty segment"));
            }
            if segment.starts_with('.') || segment.ends_with(".lock") || segment.contains("..") {
                return Err(bad(
                    "a segment starts with `.`, ends with `.lock` or holds `..`",
                ));
            }
            if !segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                return Err(bad(
                    "only ASCII letters, digits, `-`, `_`, `.` and `/` are allowed",
                ));
            }
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RefName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A compare-and-swap of one ref, with what the reflog records about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate<'a> {
    pub volume: &'a VolumeId,
    pub name: &'a RefName,
    /// The value the ref must have for the update to apply; `None` means the
    /// ref must not exist yet.
    pub expected: Option<ObjectId>,
    pub new: ObjectId,
    /// Seconds since the epoch, from the caller (the store reads no clock).
    pub at: i64,
    /// A one-line reason for the reflog, e.g. `commit: Add skill`.
    pub message: &'a str,
}

/// One recorded ref change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefLogEntry {
    pub volume: String,
    pub name: String,
    pub old: Option<ObjectId>,
    pub new: ObjectId,
    pub at: i64,
    pub message: String,
}

/// Content-addressed git objects plus per-volume membership.
pub trait ObjectStore {
    /// The object with this id, if stored.
    fn read_object(&self, id: &ObjectId) -> Result<Option<RawObject>, StoreError>;

    /// Kind and content size of each id, in order; `None` where missing.
    fn object_headers(
        &self,
        ids: &[ObjectId],
    ) -> Result<Vec<Option<(ObjectKind, u64)>>, StoreError>;

    /// Stores the objects (a no-op for those already stored) and makes them
    /// members of `volume`. Atomic per call in the SQL store.
    fn write_objects(&self, volume: &VolumeId, objects: &[RawObject]) -> Result<(), StoreError>;

    /// [`Self::write_objects`] for a caller that gives the objects up, so
    /// a store may move their bytes on instead of copying them: a
    /// component of 20 MB then exists once in memory, not twice.
    fn write_objects_owned(
        &self,
        volume: &VolumeId,
        objects: Vec<RawObject>,
    ) -> Result<(), StoreError> {
        self.write_objects(volume, &objects)
    }

    /// Makes already stored objects members of `volume` (promotion).
    fn add_to_volume(&self, volume: &VolumeId, ids: &[ObjectId]) -> Result<(), StoreError>;

    /// Whether `id` is a member of `volume`.
    fn in_volume(&self, volume: &VolumeId, id: &ObjectId) -> Result<bool, StoreError>;

    /// Up to `limit` stored objects with ids greater than `after`, in id
    /// order, for full scans (fsck) that never hold the whole store.
    fn scan_objects(
        &self,
        after: Option<&ObjectId>,
        limit: usize,
    ) -> Result<Vec<RawObject>, StoreError>;

    /// The stored objects among `ids`, in any order; missing ones are left
    /// out. Stores that pay per call (SQL) answer in one round trip.
    fn read_objects(&self, ids: &[ObjectId]) -> Result<Vec<RawObject>, StoreError> {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            found.extend(self.read_object(id)?);
        }
        Ok(found)
    }

    /// The commit `start` and its first-parent ancestors, newest first, at
    /// most `limit` of them; stops early at a root commit or at an object
    /// that is missing or not a commit. Walking history is sequential (each
    /// commit names its parent), so SQL stores override this with one
    /// recursive query instead of one query per commit.
    fn first_parent_chain(
        &self,
        start: &ObjectId,
        limit: usize,
    ) -> Result<Vec<RawObject>, StoreError> {
        let mut chain = Vec::new();
        let mut next = Some(*start);
        while let Some(id) = next {
            if chain.len() >= limit {
                break;
            }
            let Some(object) = self.read_object(&id)? else {
                break;
            };
            if object.kind() != ObjectKind::Commit {
                break;
            }
            next = crate::object::decode_commit(&object)
                .ok()
                .and_then(|c| c.first_parent());
            chain.push(object);
        }
        Ok(chain)
    }
}

/// Refs, one namespace per volume.
pub trait RefStore {
    fn read_ref(&self, volume: &VolumeId, name: &RefName) -> Result<Option<ObjectId>, StoreError>;

    /// Applies the update only if the ref still has `update.expected`;
    /// returns whether it did. Never overwrites a concurrent update.
    fn compare_and_swap_ref(&self, update: &RefUpdate<'_>) -> Result<bool, StoreError>;

    /// All refs of a volume, sorted by name.
    fn list_refs(&self, volume: &VolumeId) -> Result<Vec<(RefName, ObjectId)>, StoreError>;

    /// Every volume that has at least one ref, sorted by name.
    fn list_volumes(&self) -> Result<Vec<VolumeId>, StoreError>;

    /// The newest `limit` reflog entries of a volume, newest first.
    fn reflog(&self, volume: &VolumeId, limit: usize) -> Result<Vec<RefLogEntry>, StoreError>;
}

/// A pack of a volume's objects, as [`PackStore::packs`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackInfo {
    /// The pack's checksum, which names it (`pack-<hex>.pack`).
    pub name: ObjectId,
    pub objects: u64,
    pub created_at: i64,
}

/// The two files of a pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackFile {
    Pack,
    Index,
}

/// Packs of each volume's objects, for git's dumb-HTTP clients (see
/// [`crate::dumb_http`]). Derived data: every object stays in the object
/// store, and dropping every pack loses nothing.
///
/// A pack is *current* until a newer pack of all the volume's objects
/// *supersedes* it; superseded packs are no longer listed but are still
/// served for a while, so a client that listed them before the repack can
/// finish.
pub trait PackStore {
    /// The volume's current packs, oldest first.
    fn packs(&self, volume: &VolumeId) -> Result<Vec<PackInfo>, StoreError>;

    /// The bytes of one file of a pack of the volume, current or superseded.
    fn pack_file(
        &self,
        volume: &VolumeId,
        name: &ObjectId,
        file: PackFile,
    ) -> Result<Option<Vec<u8>>, StoreError>;

    /// Whether `id` is in one of the volume's current packs.
    fn is_packed(&self, volume: &VolumeId, id: &ObjectId) -> Result<bool, StoreError>;

    /// How many members of the volume are in none of its current packs.
    fn unpacked_count(&self, volume: &VolumeId) -> Result<u64, StoreError>;

    /// Up to `limit` members of the volume in id order; with
    /// `unpacked_only`, only those in none of its current packs.
    fn volume_objects(
        &self,
        volume: &VolumeId,
        unpacked_only: bool,
        limit: usize,
    ) -> Result<Vec<RawObject>, StoreError>;

    /// Stores `pack` as a current pack of the volume (a no-op if stored),
    /// marks the packs named in `supersede` superseded at `now`, and drops
    /// packs superseded before `drop_before`.
    fn add_pack(
        &self,
        volume: &VolumeId,
        pack: &BuiltPack,
        now: i64,
        supersede: &[ObjectId],
        drop_before: i64,
    ) -> Result<(), StoreError>;
}

struct MemoryPack {
    built: BuiltPack,
    created_at: i64,
    superseded_at: Option<i64>,
}

#[derive(Default)]
struct MemoryInner {
    objects: BTreeMap<ObjectId, (ObjectKind, Arc<Vec<u8>>)>,
    members: BTreeSet<(String, ObjectId)>,
    refs: BTreeMap<(String, String), ObjectId>,
    reflog: Vec<RefLogEntry>,
    /// Packs by volume, oldest first.
    packs: BTreeMap<String, Vec<MemoryPack>>,
}

/// Objects and refs in memory. Cloning shares the same store, so threads in
/// a test can race on it.
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<MemoryInner>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, MemoryInner> {
        // A panic while holding the lock leaves plain maps behind, still
        // consistent at every statement boundary; keep using them.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces the stored content of `id` without rehashing: a way for
    /// tests to simulate corruption that fsck must find.
    pub fn overwrite_object_unchecked(&self, id: ObjectId, kind: ObjectKind, data: Vec<u8>) {
        self.lock().objects.insert(id, (kind, Arc::new(data)));
    }

    /// Removes an object: a way for tests to simulate a missing object.
    pub fn remove_object(&self, id: &ObjectId) -> bool {
        self.lock().objects.remove(id).is_some()
    }
}

impl ObjectStore for MemoryStore {
    fn read_object(&self, id: &ObjectId) -> Result<Option<RawObject>, StoreError> {
        Ok(self
            .lock()
            .objects
            .get(id)
            .map(|(kind, data)| RawObject::from_stored(*id, *kind, data.as_ref().clone())))
    }

    fn object_headers(
        &self,
        ids: &[ObjectId],
    ) -> Result<Vec<Option<(ObjectKind, u64)>>, StoreError> {
        let inner = self.lock();
        Ok(ids
            .iter()
            .map(|id| {
                inner
                    .objects
                    .get(id)
                    .map(|(kind, data)| (*kind, data.len() as u64))
            })
            .collect())
    }

    fn write_objects(&self, volume: &VolumeId, objects: &[RawObject]) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let volume = volume.to_string();
        for object in objects {
            inner
                .objects
                .entry(object.id())
                .or_insert_with(|| (object.kind(), Arc::new(object.data().to_vec())));
            inner.members.insert((volume.clone(), object.id()));
        }
        Ok(())
    }

    fn add_to_volume(&self, volume: &VolumeId, ids: &[ObjectId]) -> Result<(), StoreError> {
        let mut inner = self.lock();
        for id in ids {
            inner.members.insert((volume.to_string(), *id));
        }
        Ok(())
    }

    fn in_volume(&self, volume: &VolumeId, id: &ObjectId) -> Result<bool, StoreError> {
        Ok(self.lock().members.contains(&(volume.to_string(), *id)))
    }

    fn scan_objects(
        &self,
        after: Option<&ObjectId>,
        limit: usize,
    ) -> Result<Vec<RawObject>, StoreError> {
        let inner = self.lock();
        let range = match after {
            Some(after) => inner
                .objects
                .range::<ObjectId, _>((Bound::Excluded(*after), Bound::Unbounded)),
            None => inner.objects.range::<ObjectId, _>(..),
        };
        Ok(range
            .take(limit)
            .map(|(id, (kind, data))| RawObject::from_stored(*id, *kind, data.as_ref().clone()))
            .collect())
    }
}

impl PackStore for MemoryStore {
    fn packs(&self, volume: &VolumeId) -> Result<Vec<PackInfo>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .packs
            .get(&volume.to_string())
            .into_iter()
            .flatten()
            .filter(|p| p.superseded_at.is_none())
            .map(|p| PackInfo {
                name: p.built.name,
                objects: p.built.ids.len() as u64,
                created_at: p.created_at,
            })
            .collect())
    }

    fn pack_file(
        &self,
        volume: &VolumeId,
        name: &ObjectId,
        file: PackFile,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .packs
            .get(&volume.to_string())
            .into_iter()
            .flatten()
            .find(|p| p.built.name == *name)
            .map(|p| match file {
                PackFile::Pack => p.built.pack.clone(),
                PackFile::Index => p.built.index.clone(),
            }))
    }

    fn is_packed(&self, volume: &VolumeId, id: &ObjectId) -> Result<bool, StoreError> {
        let inner = self.lock();
        Ok(inner
            .packs
            .get(&volume.to_string())
            .into_iter()
            .flatten()
            .any(|p| p.superseded_at.is_none() && p.built.ids.binary_search(id).is_ok()))
    }

    fn unpacked_count(&self, volume: &VolumeId) -> Result<u64, StoreError> {
        Ok(self.volume_objects(volume, true, usize::MAX)?.len() as u64)
    }

    fn volume_objects(
        &self,
        volume: &VolumeId,
        unpacked_only: bool,
        limit: usize,
    ) -> Result<Vec<RawObject>, StoreError> {
        let ids: Vec<ObjectId> = {
            let inner = self.lock();
            let name = volume.to_string();
            let packs = inner.packs.get(&name);
            inner
                .members
                .range((name.clone(), ObjectId::null(crate::object::HASH_KIND))..)
                .take_while(|(v, _)| *v == name)
                .map(|(_, id)| *id)
                .filter(|id| {
                    !unpacked_only
                        || !packs.into_iter().flatten().any(|p| {
                            p.superseded_at.is_none() && p.built.ids.binary_search(id).is_ok()
                        })
                })
                .take(limit)
                .collect()
        };
        ids.iter()
            .filter_map(|id| self.read_object(id).transpose())
            .collect()
    }

    fn add_pack(
        &self,
        volume: &VolumeId,
        pack: &BuiltPack,
        now: i64,
        supersede: &[ObjectId],
        drop_before: i64,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let packs = inner.packs.entry(volume.to_string()).or_default();
        if !packs.iter().any(|p| p.built.name == pack.name) {
            packs.push(MemoryPack {
                built: pack.clone(),
                created_at: now,
                superseded_at: None,
            });
        }
        for p in packs.iter_mut() {
            if p.superseded_at.is_none() && supersede.contains(&p.built.name) {
                p.superseded_at = Some(now);
            }
        }
        packs.retain(|p| p.superseded_at.is_none_or(|at| at >= drop_before));
        Ok(())
    }
}

impl RefStore for MemoryStore {
    fn read_ref(&self, volume: &VolumeId, name: &RefName) -> Result<Option<ObjectId>, StoreError> {
        Ok(self
            .lock()
            .refs
            .get(&(volume.to_string(), name.0.clone()))
            .copied())
    }

    fn compare_and_swap_ref(&self, update: &RefUpdate<'_>) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let key = (update.volume.to_string(), update.name.0.clone());
        let current = inner.refs.get(&key).copied();
        if current != update.expected {
            return Ok(false);
        }
        inner.refs.insert(key.clone(), update.new);
        inner.reflog.push(RefLogEntry {
            volume: key.0,
            name: key.1,
            old: current,
            new: update.new,
            at: update.at,
            message: update.message.to_owned(),
        });
        Ok(true)
    }

    fn list_refs(&self, volume: &VolumeId) -> Result<Vec<(RefName, ObjectId)>, StoreError> {
        let volume = volume.to_string();
        Ok(self
            .lock()
            .refs
            .iter()
            .filter(|((v, _), _)| *v == volume)
            .map(|((_, name), id)| (RefName(name.clone()), *id))
            .collect())
    }

    fn list_volumes(&self) -> Result<Vec<VolumeId>, StoreError> {
        let inner = self.lock();
        let names: BTreeSet<&String> = inner.refs.keys().map(|(v, _)| v).collect();
        names
            .into_iter()
            .map(|v| {
                v.parse().map_err(|e| StoreError::Corrupt {
                    table: "refs",
                    message: format!("{e}"),
                })
            })
            .collect()
    }

    fn reflog(&self, volume: &VolumeId, limit: usize) -> Result<Vec<RefLogEntry>, StoreError> {
        let volume = volume.to_string();
        Ok(self
            .lock()
            .reflog
            .iter()
            .rev()
            .filter(|e| e.volume == volume)
            .take(limit)
            .cloned()
            .collect())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! Behaviour every store must have, run against each implementation.

    use super::*;

    pub(crate) fn volume(name: &str) -> VolumeId {
        name.parse().unwrap()
    }

    pub(crate) fn objects_are_shared_and_membership_is_per_volume(
        store: &(impl ObjectStore + RefStore),
    ) {
        let alice = volume("users/alice");
        let bob = volume("users/bob");
        let blob = RawObject::blob(b"shared\n".to_vec());
        store
            .write_objects(&alice, std::slice::from_ref(&blob))
            .unwrap();
        store
            .write_objects(&alice, std::slice::from_ref(&blob))
            .unwrap();
        assert_eq!(store.read_object(&blob.id()).unwrap(), Some(blob.clone()));
        assert!(store.in_volume(&alice, &blob.id()).unwrap());
        assert!(!store.in_volume(&bob, &blob.id()).unwrap());
        store.add_to_volume(&bob, &[blob.id()]).unwrap();
        assert!(store.in_volume(&bob, &blob.id()).unwrap());
        let missing = RawObject::blob(b"nope".to_vec()).id();
        assert_eq!(store.read_object(&missing).unwrap(), None);
        assert_eq!(
            store.object_headers(&[missing, blob.id()]).unwrap(),
            vec![None, Some((ObjectKind::Blob, 7))]
        );
    }

    pub(crate) fn scans_objects_in_pages(store: &(impl ObjectStore + RefStore)) {
        let v = volume("system");
        let blobs: Vec<_> = (0..25)
            .map(|i| RawObject::blob(format!("{i}").into_bytes()))
            .collect();
        store.write_objects(&v, &blobs).unwrap();
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = store.scan_objects(after.as_ref(), 7).unwrap();
            if page.is_empty() {
                break;
            }
            after = page.last().map(RawObject::id);
            seen.extend(page.into_iter().map(|o| o.id()));
        }
        let mut expected: Vec<_> = blobs.iter().map(RawObject::id).collect();
        expected.sort();
        assert_eq!(seen, expected);
    }

    pub(crate) fn refs_update_by_compare_and_swap(store: &(impl ObjectStore + RefStore)) {
        let v = volume("teams/core");
        let main = RefName::main();
        let a = RawObject::blob(b"a".to_vec()).id();
        let b = RawObject::blob(b"b".to_vec()).id();
        let update = |expected, new| RefUpdate {
            volume: &v,
            name: &main,
            expected,
            new,
            at: 7,
            message: "test",
        };
        assert_eq!(store.read_ref(&v, &main).unwrap(), None);
        assert!(store.compare_and_swap_ref(&update(None, a)).unwrap());
        assert!(!store.compare_and_swap_ref(&update(None, b)).unwrap());
        assert!(!store.compare_and_swap_ref(&update(Some(b), b)).unwrap());
        assert_eq!(store.read_ref(&v, &main).unwrap(), Some(a));
        assert!(store.compare_and_swap_ref(&update(Some(a), b)).unwrap());
        assert_eq!(store.read_ref(&v, &main).unwrap(), Some(b));
        assert_eq!(store.list_refs(&v).unwrap(), vec![(main.clone(), b)]);
        assert_eq!(store.list_volumes().unwrap(), vec![v.clone()]);
        let log = store.reflog(&v, 10).unwrap();
        assert_eq!(log.len(), 2);
        assert_eq!((log[0].old, log[0].new), (Some(a), b));
        assert_eq!((log[1].old, log[1].new), (None, a));
        assert_eq!(log[0].message, "test");
        assert_eq!(log[0].at, 7);
    }

    pub(crate) fn walks_first_parent_chains(store: &(impl ObjectStore + RefStore)) {
        use crate::object::{GitTime, Signature, Tree, encode_commit};
        let v = volume("system");
        let sig = Signature::new("A", "a@x", GitTime::utc(0));
        let tree = Tree::empty().encode().unwrap();
        let side = encode_commit(tree.id(), &[], &sig, &sig, "side").unwrap();
        let mut commits = vec![];
        let mut parents = vec![];
        for i in 0..10 {
            // The fourth commit is a merge: its second parent is not followed.
            if i == 3 {
                parents.push(side.id());
            }
            let c = encode_commit(tree.id(), &parents, &sig, &sig, &format!("{i}")).unwrap();
            parents = vec![c.id()];
            commits.push(c);
        }
        let mut all = commits.clone();
        all.push(side.clone());
        all.push(tree);
        store.write_objects(&v, &all).unwrap();
        let ids = |objects: Vec<RawObject>| objects.iter().map(RawObject::id).collect::<Vec<_>>();
        let newest_first: Vec<_> = commits.iter().rev().map(RawObject::id).collect();
        let last = commits[9].id();
        assert_eq!(
            ids(store.first_parent_chain(&last, 100).unwrap()),
            newest_first
        );
        assert_eq!(
            ids(store.first_parent_chain(&last, 4).unwrap()),
            newest_first[..4]
        );
        assert_eq!(store.first_parent_chain(&last, 4).unwrap()[0], commits[9]);
        let missing = RawObject::blob(b"missing".to_vec()).id();
        assert!(store.first_parent_chain(&missing, 4).unwrap().is_empty());
        let blob = RawObject::blob(b"a blob".to_vec());
        store
            .write_objects(&v, std::slice::from_ref(&blob))
            .unwrap();
        assert!(store.first_parent_chain(&blob.id(), 4).unwrap().is_empty());
        let mut got = ids(store
            .read_objects(&[commits[0].id(), missing, side.id()])
            .unwrap());
        got.sort();
        let mut expected = vec![commits[0].id(), side.id()];
        expected.sort();
        assert_eq!(got, expected);
    }

    #[test]
    fn memory_store_walks_chains() {
        walks_first_parent_chains(&MemoryStore::new());
    }

    #[test]
    fn memory_store_shares_objects() {
        objects_are_shared_and_membership_is_per_volume(&MemoryStore::new());
    }

    #[test]
    fn memory_store_scans_in_pages() {
        scans_objects_in_pages(&MemoryStore::new());
    }

    #[test]
    fn memory_store_refs_cas() {
        refs_update_by_compare_and_swap(&MemoryStore::new());
    }

    #[test]
    fn validates_ref_names() {
        for ok in [
            "refs/heads/main",
            "refs/tags/v1.0",
            "refs/heads/feature/x-1",
        ] {
            assert_eq!(RefName::new(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "HEAD",
            "refs/",
            "refs//x",
            "refs/heads/.x",
            "refs/heads/x.lock",
            "refs/heads/a..b",
            "refs/heads/a b",
            "heads/main",
        ] {
            assert!(RefName::new(bad).is_err(), "{bad}");
        }
    }
}
