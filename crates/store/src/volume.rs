//! Volumes: the file-level API the components and the CLI use.
//!
//! A volume is one git repository whose branch `refs/heads/main` is its
//! head. [`Volumes`] reads files and listings at the head or at any commit
//! of the volume, commits sets of changes, walks history (of the volume or
//! of one path, following first parents), rolls a path back, diffs a file
//! between commits, promotes a file from one volume to another and reports
//! statistics. It performs no I/O of its own and reads no clock: times come
//! from the caller's [`Signature`]s, storage from an [`ObjectStore`] +
//! [`RefStore`].
//!
//! # Concurrent commits
//!
//! A commit reads the head, builds the new trees and commit on top of it and
//! swaps the ref only if it still points at that head. When another writer
//! got there first, the commit re-reads the head and applies the *same
//! changes* again on top of the new one (up to [`RetryPolicy::max_attempts`],
//! pausing a little longer each time). So N writers committing M times each
//! add exactly N×M commits, and no commit is ever lost.
//!
//! Changes are re-checked against the head a commit actually lands on, so
//! the outcome is always what running the commits one after another in
//! landing order would give:
//!
//! - [`Change::Put`] and [`Change::PutBlob`] replace whatever the file holds
//!   by then (the last commit to land wins; both stay in history).
//! - [`Change::Delete`] of a file that is absent from that head — never
//!   existed, or a concurrent writer deleted it first — fails with
//!   [`VolumeError::FileNotFound`] and commits nothing, so a caller learns
//!   that its delete was not the one that removed the file (HTTP: 404).
//! - Writing a file where the head has a directory, or a file where a
//!   directory is needed, fails ([`VolumeError::IsADirectory`],
//!   [`VolumeError::NotADirectory`]) and commits nothing.
//! - Changes that leave the head's tree as it is (identical content, a
//!   rollback to the current version) add no commit:
//!   [`CommitOutcome::created`] is false and the head is returned.
//!
//! All changes of one request land together in one commit or not at all.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use llmos_core::ids::VolumeId;

use crate::object::{
    CommitInfo, EntryKind, ObjectError, ObjectId, ObjectKind, RawObject, Signature, Tree,
    decode_commit, encode_commit,
};
use crate::path::{PathError, VolumePath};
use crate::store::{ObjectStore, RefName, RefStore, RefUpdate, StoreError};

/// Why a volume operation failed. Variants name the volume, path and commit
/// involved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VolumeError {
    #[error("`{path}` does not exist in {volume}{}", at_commit(commit))]
    FileNotFound {
        volume: VolumeId,
        path: String,
        commit: Option<ObjectId>,
    },
    #[error("commit {commit} is not part of {volume}")]
    CommitNotFound { volume: VolumeId, commit: ObjectId },
    #[error("`{path}` is a directory in {volume}")]
    IsADirectory { volume: VolumeId, path: String },
    #[error("`{path}` is a file in {volume}, not a directory")]
    NotADirectory { volume: VolumeId, path: String },
    #[error("changes to `{path}` and `{inner}` conflict: one is inside the other")]
    ConflictingChanges { path: String, inner: String },
    #[error("blob {blob} is not part of {volume}")]
    BlobNotInVolume { volume: VolumeId, blob: ObjectId },
    #[error("object {id} is missing from the store (needed by {volume})")]
    MissingObject { volume: VolumeId, id: ObjectId },
    #[error("could not commit to {volume}: the head kept moving for {attempts} attempts")]
    Contention { volume: VolumeId, attempts: u32 },
    #[error("in {volume}: {source}")]
    Object {
        volume: VolumeId,
        #[source]
        source: ObjectError,
    },
    #[error(transparent)]
    Path(#[from] PathError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn at_commit(commit: &Option<ObjectId>) -> String {
    commit.map(|c| format!(" at {c}")).unwrap_or_default()
}

/// Which state of a volume to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum At {
    /// The current head.
    #[default]
    Head,
    /// A commit of the volume (checked to belong to it).
    Commit(ObjectId),
}

/// One change to a file, part of a [`CommitRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Create or replace the file with these bytes.
    Put(Vec<u8>),
    /// Create or replace the file with a blob the volume already has, by id:
    /// no bytes are stored again.
    PutBlob(ObjectId),
    /// Remove the file; fails if the head it lands on has no such file.
    Delete,
}

/// A set of changes to commit, with its author and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitRequest {
    pub author: Signature,
    /// Defaults to the author.
    pub committer: Option<Signature>,
    pub message: String,
    pub changes: BTreeMap<VolumePath, Change>,
}

impl CommitRequest {
    pub fn new(author: Signature, message: impl Into<String>) -> Self {
        Self {
            author,
            committer: None,
            message: message.into(),
            changes: BTreeMap::new(),
        }
    }

    pub fn committer(mut self, committer: Signature) -> Self {
        self.committer = Some(committer);
        self
    }

    pub fn put(mut self, path: VolumePath, content: impl Into<Vec<u8>>) -> Self {
        self.changes.insert(path, Change::Put(content.into()));
        self
    }

    pub fn put_blob(mut self, path: VolumePath, blob: ObjectId) -> Self {
        self.changes.insert(path, Change::PutBlob(blob));
        self
    }

    pub fn delete(mut self, path: VolumePath) -> Self {
        self.changes.insert(path, Change::Delete);
        self
    }
}

/// Author, committer and message of a commit the store composes itself
/// (rollback, promotion).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitMeta {
    pub author: Signature,
    /// Defaults to the author.
    pub committer: Option<Signature>,
    pub message: String,
}

impl CommitMeta {
    pub fn new(author: Signature, message: impl Into<String>) -> Self {
        Self {
            author,
            committer: None,
            message: message.into(),
        }
    }
}

/// What a commit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitOutcome {
    /// The new head: the new commit, or the unchanged head.
    pub commit: ObjectId,
    /// The head the commit was built on.
    pub parent: Option<ObjectId>,
    /// False when the changes left the tree as it was and no commit was made.
    pub created: bool,
    /// How many times the changes were applied before the ref swap held.
    pub attempts: u32,
}

/// A file's content at some commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileContent {
    pub commit: ObjectId,
    pub blob: ObjectId,
    pub data: Vec<u8>,
}

/// One entry of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// Full path from the volume root.
    pub path: String,
    pub kind: EntryKind,
    /// Blob id for files, tree id for directories.
    pub id: ObjectId,
    /// Content size in bytes, for files.
    pub size: Option<u64>,
}

/// What to walk in [`Volumes::history`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Only commits that changed this file or directory; all when `None`.
    pub path: Option<VolumePath>,
    /// Where to start (inclusive): a cursor from [`HistoryPage::next`], or
    /// the head when `None`.
    pub start: Option<ObjectId>,
    /// At most this many entries.
    pub limit: usize,
}

impl HistoryQuery {
    pub fn volume(limit: usize) -> Self {
        Self {
            path: None,
            start: None,
            limit,
        }
    }

    pub fn path(path: VolumePath, limit: usize) -> Self {
        Self {
            path: Some(path),
            start: None,
            limit,
        }
    }
}

/// One commit in a history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub commit: CommitInfo,
    /// For path histories: the path's blob (or tree) id after this commit,
    /// `None` when this commit removed it.
    pub entry: Option<ObjectId>,
}

/// A page of history, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPage {
    pub entries: Vec<HistoryEntry>,
    /// Pass as [`HistoryQuery::start`] to continue; `None` at the root.
    pub next: Option<ObjectId>,
}

/// A file compared between two commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    pub path: String,
    pub old_blob: Option<ObjectId>,
    pub new_blob: Option<ObjectId>,
    /// Whether either side is not UTF-8 text.
    pub binary: bool,
    /// A unified diff (`--- a/…`, `+++ b/…`, hunks with 3 lines of
    /// context); empty when the file is the same in both commits.
    pub unified: String,
}

/// The result of a promotion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    /// The blob now shared by both volumes.
    pub blob: ObjectId,
    /// The source volume's head the file was taken from.
    pub source_commit: ObjectId,
    pub outcome: CommitOutcome,
}

/// Counts for one volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeStats {
    /// Files under the prefix (or in the whole volume).
    pub files: u64,
    /// Commits on the first-parent chain of the head.
    pub commits: u64,
    pub last_commit: Option<CommitInfo>,
}

/// How a commit retries after losing a ref swap to another writer.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts before [`VolumeError::Contention`].
    pub max_attempts: u32,
    /// Called after the `attempt`-th lost swap with a pseudo-random number
    /// (taken from the losing commit's id, so writers spread out). The
    /// default sleeps briefly; tests may pass [`RetryPolicy::no_pause`].
    pub pause: fn(attempt: u32, jitter: u64),
}

impl RetryPolicy {
    /// Retries immediately (in-memory tests, single writers).
    pub fn no_pause(_attempt: u32, _jitter: u64) {}

    /// Sleeps 50 µs × 2^attempt (capped at 6.4 ms) plus up to as much again
    /// of jitter: short enough not to matter for one lost race, long enough
    /// that a crowd of writers stops colliding after a few rounds.
    pub fn sleep(attempt: u32, jitter: u64) {
        let base = 50u64 << attempt.min(7);
        std::thread::sleep(Duration::from_micros(base + jitter % base));
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            // Each round lets at least one writer through, so with the growing
            // pause this bound is only reached under pathological contention.
            max_attempts: 64,
            pause: RetryPolicy::sleep,
        }
    }
}

/// Decoded trees and commits kept across calls: objects never change, so a
/// cached one is always right. Bounded by an estimate of its memory; when
/// full it starts over, which is cheap and keeps no bookkeeping per entry.
#[derive(Default)]
struct DecodedCache {
    trees: HashMap<ObjectId, Arc<Tree>>,
    commits: HashMap<ObjectId, Arc<CommitInfo>>,
    weight: usize,
}

/// Memory the cache may hold, estimated. A component instance lives for
/// one request, the CLI for one command: enough for the commits and trees
/// of a few thousand commits of history, small next to either's memory.
const CACHE_BUDGET: usize = 16 << 20;

impl DecodedCache {
    fn make_room(&mut self, weight: usize) {
        if self.weight + weight > CACHE_BUDGET {
            self.trees.clear();
            self.commits.clear();
            self.weight = 0;
        }
        self.weight += weight;
    }
}

/// Rough heap size of a decoded tree: entries plus names.
fn tree_weight(tree: &Tree) -> usize {
    128 + 64 * tree.len() + tree.name_bytes()
}

/// Rough heap size of a decoded commit.
fn commit_weight(commit: &CommitInfo) -> usize {
    256 + commit.message.len()
        + commit.author.name.len()
        + commit.author.email.len()
        + commit.committer.name.len()
        + commit.committer.email.len()
        + 20 * commit.parents.len()
}

/// Commits fetched per store call when walking history: enough to make
/// round trips rare, few enough that a short page reads little.
const CHAIN_BATCH: usize = 64;

/// Commits fetched per store call when only counting them.
const COUNT_BATCH: usize = 1024;

/// A change resolved to a blob id, ready to apply to trees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edit {
    Put(ObjectId),
    Delete,
    /// Remove the file if the head has it (restoring "absent" in a
    /// rollback or promotion of several files); no error when it does not.
    Remove,
}

/// A request's metadata, its changes as edits, and the blobs to write.
type ResolvedRequest = (CommitMeta, BTreeMap<VolumePath, Edit>, Vec<RawObject>);

/// How one commit attempt ended.
enum Attempt {
    /// The commit landed, or the changes left the head as it was.
    Done(CommitOutcome),
    /// Another writer moved the head first; `jitter` spreads retries.
    Lost { jitter: u64 },
}

/// Changes arranged by directory, so each tree is read and written once.
#[derive(Debug, Default)]
struct EditTree {
    files: BTreeMap<String, Edit>,
    dirs: BTreeMap<String, EditTree>,
}

impl EditTree {
    fn build(edits: &BTreeMap<VolumePath, Edit>) -> Result<Self, VolumeError> {
        // Sorted order puts `a` right before `a/…`, so one look back finds
        // every change nested inside another.
        let mut previous: Option<&VolumePath> = None;
        let mut root = EditTree::default();
        for (path, edit) in edits {
            if let Some(prev) = previous
                && path.starts_with(prev)
            {
                return Err(VolumeError::ConflictingChanges {
                    path: prev.to_string(),
                    inner: path.to_string(),
                });
            }
            previous = Some(path);
            let segments: Vec<&str> = path.segments().collect();
            let (file, dirs) = segments.split_last().expect("paths have a segment");
            let mut node = &mut root;
            for dir in dirs {
                node = node.dirs.entry((*dir).to_owned()).or_default();
            }
            node.files.insert((*file).to_owned(), *edit);
        }
        Ok(root)
    }
}

/// The volume API over a store.
pub struct Volumes<S> {
    store: S,
    retry: RetryPolicy,
    cache: Mutex<DecodedCache>,
}

impl<S: ObjectStore + RefStore> Volumes<S> {
    pub fn new(store: S) -> Self {
        Self {
            store,
            retry: RetryPolicy::default(),
            cache: Mutex::default(),
        }
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// Every volume with at least one commit.
    pub fn list_volumes(&self) -> Result<Vec<VolumeId>, VolumeError> {
        Ok(self.store.list_volumes()?)
    }

    /// The volume's head commit, `None` before its first commit.
    pub fn head(&self, volume: &VolumeId) -> Result<Option<ObjectId>, VolumeError> {
        Ok(self.store.read_ref(volume, &RefName::main())?)
    }

    /// A commit of the volume, decoded.
    pub fn commit_info(
        &self,
        volume: &VolumeId,
        commit: ObjectId,
    ) -> Result<CommitInfo, VolumeError> {
        self.check_commit(volume, commit)?;
        Ok(self.read_commit(volume, commit)?.as_ref().clone())
    }

    /// A file's content at the head or at a commit.
    pub fn read_file(
        &self,
        volume: &VolumeId,
        path: &VolumePath,
        at: At,
    ) -> Result<FileContent, VolumeError> {
        let not_found = |commit| VolumeError::FileNotFound {
            volume: volume.clone(),
            path: path.to_string(),
            commit,
        };
        let commit = self.resolve(volume, at)?.ok_or_else(|| not_found(None))?;
        let tree = self.read_commit(volume, commit)?.tree;
        let entry = self
            .lookup(volume, tree, path)?
            .ok_or_else(|| not_found(Some(commit)))?;
        if entry.kind == EntryKind::Directory {
            return Err(VolumeError::IsADirectory {
                volume: volume.clone(),
                path: path.to_string(),
            });
        }
        let blob = self.read_object(volume, entry.id)?;
        blob.expect_kind(ObjectKind::Blob)
            .map_err(|source| VolumeError::Object {
                volume: volume.clone(),
                source,
            })?;
        Ok(FileContent {
            commit,
            blob: entry.id,
            data: blob.into_data(),
        })
    }

    /// The kind and id of whatever is at `path` (a file or a directory)
    /// at the head or at a commit, without reading a file's content;
    /// `None` when nothing is there.
    pub fn entry(
        &self,
        volume: &VolumeId,
        path: &VolumePath,
        at: At,
    ) -> Result<Option<(EntryKind, ObjectId)>, VolumeError> {
        let Some(commit) = self.resolve(volume, at)? else {
            return Ok(None);
        };
        let tree = self.read_commit(volume, commit)?.tree;
        Ok(self.lookup(volume, tree, path)?.map(|e| (e.kind, e.id)))
    }

    /// Entries under `dir` (the whole volume when `None`) at the head or at
    /// a commit, sorted by path. Recursive listings hold files only; direct
    /// ones hold the files and directories right inside `dir`. A directory
    /// that does not exist lists as empty; a file fails with
    /// [`VolumeError::NotADirectory`].
    pub fn list_files(
        &self,
        volume: &VolumeId,
        dir: Option<&VolumePath>,
        at: At,
        recursive: bool,
    ) -> Result<Vec<FileEntry>, VolumeError> {
        let Some(commit) = self.resolve(volume, at)? else {
            return Ok(Vec::new());
        };
        let root = self.read_commit(volume, commit)?.tree;
        let (tree, prefix) = match dir {
            None => (root, String::new()),
            Some(dir) => match self.lookup(volume, root, dir)? {
                None => return Ok(Vec::new()),
                Some(entry) if entry.kind != EntryKind::Directory => {
                    return Err(VolumeError::NotADirectory {
                        volume: volume.clone(),
                        path: dir.to_string(),
                    });
                }
                Some(entry) => (entry.id, format!("{dir}/")),
            },
        };
        let mut entries = Vec::new();
        self.collect_entries(volume, tree, &prefix, recursive, &mut entries)?;
        let file_ids: Vec<ObjectId> = entries
            .iter()
            .filter(|e| e.kind != EntryKind::Directory)
            .map(|e| e.id)
            .collect();
        let mut sizes = self.store.object_headers(&file_ids)?.into_iter();
        for entry in entries
            .iter_mut()
            .filter(|e| e.kind != EntryKind::Directory)
        {
            entry.size = sizes.next().flatten().map(|(_, size)| size);
        }
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(entries)
    }

    /// Stores `data` as a blob of `volume` without committing it, and
    /// returns its id, so a large file (a component) is hashed and written
    /// once and then committed by id ([`Change::PutBlob`]) however often a
    /// guarded commit has to retry. Until a commit names it, the blob is
    /// unreachable, as an interrupted commit leaves its objects.
    pub fn write_blob(&self, volume: &VolumeId, data: Vec<u8>) -> Result<ObjectId, VolumeError> {
        let blob = RawObject::blob(data);
        let id = blob.id();
        self.store.write_objects_owned(volume, vec![blob])?;
        Ok(id)
    }

    /// Commits `request` on top of the head (see the module docs for
    /// concurrency and conflict rules).
    pub fn commit(
        &self,
        volume: &VolumeId,
        request: CommitRequest,
    ) -> Result<CommitOutcome, VolumeError> {
        let (meta, edits, blobs) = self.resolve_request(volume, request)?;
        self.commit_edits(volume, &meta, &edits, blobs)
    }

    /// Commits `request` on top of `expected` (`None`: the volume has no
    /// commit yet) in a single attempt: `Ok(None)` when the head is no
    /// longer `expected`, and nothing is committed. For callers that check
    /// a precondition against the head they read (create only if absent,
    /// replace only if present) and retry themselves; pass a head read from
    /// this volume. Other rules are those of [`Self::commit`].
    pub fn commit_on(
        &self,
        volume: &VolumeId,
        expected: Option<ObjectId>,
        request: CommitRequest,
    ) -> Result<Option<CommitOutcome>, VolumeError> {
        let (meta, edits, mut blobs) = self.resolve_request(volume, request)?;
        let plan = self.prepare(volume, &meta, &edits)?;
        match self.attempt(volume, &meta, &plan, expected, &mut blobs, 1)? {
            Attempt::Done(outcome) => Ok(Some(outcome)),
            Attempt::Lost { .. } => Ok(None),
        }
    }

    /// A request's changes as edits, the blobs to write, and its metadata;
    /// blobs named by id are checked to belong to the volume.
    fn resolve_request(
        &self,
        volume: &VolumeId,
        request: CommitRequest,
    ) -> Result<ResolvedRequest, VolumeError> {
        let mut blobs = Vec::new();
        let mut edits = BTreeMap::new();
        let mut borrowed = Vec::new();
        for (path, change) in request.changes {
            let edit = match change {
                Change::Put(data) => {
                    let blob = RawObject::blob(data);
                    let id = blob.id();
                    blobs.push(blob);
                    Edit::Put(id)
                }
                Change::PutBlob(id) => {
                    borrowed.push(id);
                    Edit::Put(id)
                }
                Change::Delete => Edit::Delete,
            };
            edits.insert(path, edit);
        }
        for id in &borrowed {
            self.check_blob(volume, *id)?;
        }
        let meta = CommitMeta {
            author: request.author,
            committer: request.committer,
            message: request.message,
        };
        Ok((meta, edits, blobs))
    }

    /// Commit history of the volume or of one path, newest first, following
    /// first parents. Path histories list the commits where the path's blob
    /// (or, for a directory, tree) differs from the first parent's,
    /// including its creation and removal.
    pub fn history(
        &self,
        volume: &VolumeId,
        query: &HistoryQuery,
    ) -> Result<HistoryPage, VolumeError> {
        let paths: Vec<VolumePath> = query.path.iter().cloned().collect();
        self.walk_history(volume, &paths, query.start, query.limit)
    }

    /// The history of several paths taken together (a skill file and the
    /// component built beside it): the commits where any of them differs
    /// from the first parent's, newest first. [`HistoryEntry::entry`] is
    /// the first path's entry after the commit. `start` and `limit` are
    /// those of [`HistoryQuery`]; an empty `paths` walks the whole volume.
    pub fn history_of(
        &self,
        volume: &VolumeId,
        paths: &[VolumePath],
        start: Option<ObjectId>,
        limit: usize,
    ) -> Result<HistoryPage, VolumeError> {
        self.walk_history(volume, paths, start, limit)
    }

    fn walk_history(
        &self,
        volume: &VolumeId,
        paths: &[VolumePath],
        start: Option<ObjectId>,
        limit: usize,
    ) -> Result<HistoryPage, VolumeError> {
        let start = match start {
            Some(start) => {
                self.check_commit(volume, start)?;
                Some(start)
            }
            None => self.head(volume)?,
        };
        let entries_at = |tree: ObjectId| -> Result<Vec<Option<ObjectId>>, VolumeError> {
            paths
                .iter()
                .map(|path| Ok(self.lookup(volume, tree, path)?.map(|e| e.id)))
                .collect()
        };
        let mut entries = Vec::new();
        let mut cursor = start;
        // For path histories: the paths' entries in `cursor`, carried over
        // from the previous step's parent lookup.
        let mut current: Option<Vec<Option<ObjectId>>> = None;
        'walk: while let Some(from) = cursor {
            // One more than processed, so the last commit's parent is loaded.
            let chunk = self.chain(volume, from, CHAIN_BATCH + 1)?;
            if chunk.is_empty() {
                return Err(VolumeError::MissingObject {
                    volume: volume.clone(),
                    id: from,
                });
            }
            for path in paths {
                self.prefetch_path(chunk.iter().map(|c| c.tree), path)?;
            }
            for commit in chunk.iter().take(CHAIN_BATCH) {
                if entries.len() >= limit {
                    cursor = Some(commit.id);
                    break 'walk;
                }
                let parent = commit.first_parent();
                if paths.is_empty() {
                    entries.push(HistoryEntry {
                        commit: commit.as_ref().clone(),
                        entry: None,
                    });
                } else {
                    let here = match current.take() {
                        Some(known) => known,
                        None => entries_at(commit.tree)?,
                    };
                    let before = match parent {
                        Some(p) => entries_at(self.read_commit(volume, p)?.tree)?,
                        None => vec![None; paths.len()],
                    };
                    if here != before {
                        entries.push(HistoryEntry {
                            commit: commit.as_ref().clone(),
                            entry: here.first().copied().flatten(),
                        });
                    }
                    current = Some(before);
                }
                cursor = parent;
                if parent.is_none() {
                    break 'walk;
                }
            }
        }
        Ok(HistoryPage {
            entries,
            next: cursor,
        })
    }

    /// Restores `path` to its content at `commit` as a new commit on top of
    /// the head. Fails with [`VolumeError::FileNotFound`] if the file did
    /// not exist at that commit; adds no commit if the head already has
    /// that content.
    pub fn rollback(
        &self,
        volume: &VolumeId,
        path: &VolumePath,
        commit: ObjectId,
        meta: &CommitMeta,
    ) -> Result<CommitOutcome, VolumeError> {
        self.check_commit(volume, commit)?;
        let tree = self.read_commit(volume, commit)?.tree;
        let entry = self
            .lookup(volume, tree, path)?
            .ok_or_else(|| VolumeError::FileNotFound {
                volume: volume.clone(),
                path: path.to_string(),
                commit: Some(commit),
            })?;
        if entry.kind == EntryKind::Directory {
            return Err(VolumeError::IsADirectory {
                volume: volume.clone(),
                path: path.to_string(),
            });
        }
        // The blob is reachable from a commit of this volume: it may be named.
        let edits = BTreeMap::from([(path.clone(), Edit::Put(entry.id))]);
        self.commit_edits(volume, meta, &edits, Vec::new())
    }

    /// Restores a file and its companions (a skill file and the component
    /// beside it) to how they were at `commit`, as one new commit on top of
    /// the head. `path` must have existed at `commit`, else
    /// [`VolumeError::FileNotFound`]; each companion that existed then gets
    /// its blob of that commit back, each that did not is removed if the
    /// head has it. Adds no commit when the head already matches.
    pub fn rollback_files(
        &self,
        volume: &VolumeId,
        path: &VolumePath,
        companions: &[VolumePath],
        commit: ObjectId,
        meta: &CommitMeta,
    ) -> Result<CommitOutcome, VolumeError> {
        self.check_commit(volume, commit)?;
        let tree = self.read_commit(volume, commit)?.tree;
        let mut edits = BTreeMap::new();
        for (i, path) in std::iter::once(path).chain(companions).enumerate() {
            let edit = match self.lookup(volume, tree, path)? {
                Some(e) if e.kind == EntryKind::Directory => {
                    return Err(VolumeError::IsADirectory {
                        volume: volume.clone(),
                        path: path.to_string(),
                    });
                }
                // Reachable from a commit of this volume: it may be named.
                Some(e) => Edit::Put(e.id),
                None if i == 0 => {
                    return Err(VolumeError::FileNotFound {
                        volume: volume.clone(),
                        path: path.to_string(),
                        commit: Some(commit),
                    });
                }
                None => Edit::Remove,
            };
            edits.insert(path.clone(), edit);
        }
        self.commit_edits(volume, meta, &edits, Vec::new())
    }

    /// A unified diff of `path` between two commits of the volume (`from`
    /// is the old side). Either side may lack the file, not both.
    pub fn diff(
        &self,
        volume: &VolumeId,
        path: &VolumePath,
        from: ObjectId,
        to: ObjectId,
    ) -> Result<FileDiff, VolumeError> {
        let mut sides = [None, None];
        for (side, commit) in sides.iter_mut().zip([from, to]) {
            self.check_commit(volume, commit)?;
            let tree = self.read_commit(volume, commit)?.tree;
            *side = match self.lookup(volume, tree, path)? {
                Some(e) if e.kind == EntryKind::Directory => {
                    return Err(VolumeError::IsADirectory {
                        volume: volume.clone(),
                        path: path.to_string(),
                    });
                }
                Some(e) => Some(e.id),
                None => None,
            };
        }
        let [old_blob, new_blob] = sides;
        if old_blob.is_none() && new_blob.is_none() {
            return Err(VolumeError::FileNotFound {
                volume: volume.clone(),
                path: path.to_string(),
                commit: Some(to),
            });
        }
        let mut result = FileDiff {
            path: path.to_string(),
            old_blob,
            new_blob,
            binary: false,
            unified: String::new(),
        };
        if old_blob == new_blob {
            return Ok(result);
        }
        let read = |blob: Option<ObjectId>| -> Result<Vec<u8>, VolumeError> {
            match blob {
                Some(id) => Ok(self.read_object(volume, id)?.into_data()),
                None => Ok(Vec::new()),
            }
        };
        let (old, new) = (read(old_blob)?, read(new_blob)?);
        let old_name = old_blob.map_or_else(|| "/dev/null".to_owned(), |_| format!("a/{path}"));
        let new_name = new_blob.map_or_else(|| "/dev/null".to_owned(), |_| format!("b/{path}"));
        match (std::str::from_utf8(&old), std::str::from_utf8(&new)) {
            (Ok(old), Ok(new)) => {
                result.unified = similar::TextDiff::from_lines(old, new)
                    .unified_diff()
                    .context_radius(3)
                    .header(&old_name, &new_name)
                    .to_string();
            }
            _ => {
                result.binary = true;
                result.unified = format!("Binary files {old_name} and {new_name} differ\n");
            }
        }
        Ok(result)
    }

    /// Copies `path` from the head of `from` into `to` (at `target`, or the
    /// same path) as a commit in `to`. Only the blob id moves: both volumes
    /// then share the same stored bytes.
    pub fn promote(
        &self,
        from: &VolumeId,
        path: &VolumePath,
        to: &VolumeId,
        target: Option<&VolumePath>,
        meta: &CommitMeta,
    ) -> Result<Promotion, VolumeError> {
        let source = self.read_entry(from, path, At::Head)?;
        self.store.add_to_volume(to, &[source.1])?;
        let edits = BTreeMap::from([(target.unwrap_or(path).clone(), Edit::Put(source.1))]);
        let outcome = self.commit_edits(to, meta, &edits, Vec::new())?;
        Ok(Promotion {
            blob: source.1,
            source_commit: source.0,
            outcome,
        })
    }

    /// Copies a file and its companions (a skill file and the component
    /// beside it) from the head of `from` into `to`, at the same paths, as
    /// one commit in `to`. `path` must exist in the source; each companion
    /// the source has is shared by blob id (no bytes are copied), each it
    /// lacks is removed from `to` if there, so the target ends up with
    /// exactly the source's set. [`Promotion::blob`] is `path`'s blob.
    pub fn promote_files(
        &self,
        from: &VolumeId,
        path: &VolumePath,
        companions: &[VolumePath],
        to: &VolumeId,
        meta: &CommitMeta,
    ) -> Result<Promotion, VolumeError> {
        let not_found = |commit| VolumeError::FileNotFound {
            volume: from.clone(),
            path: path.to_string(),
            commit,
        };
        // Every path is read from one head, so the set is consistent.
        let head = self.head(from)?.ok_or_else(|| not_found(None))?;
        let tree = self.read_commit(from, head)?.tree;
        let mut edits = BTreeMap::new();
        let mut shared = Vec::new();
        for (i, file) in std::iter::once(path).chain(companions).enumerate() {
            let edit = match self.lookup(from, tree, file)? {
                Some(e) if e.kind == EntryKind::Directory => {
                    return Err(VolumeError::IsADirectory {
                        volume: from.clone(),
                        path: file.to_string(),
                    });
                }
                Some(e) => {
                    shared.push(e.id);
                    Edit::Put(e.id)
                }
                None if i == 0 => return Err(not_found(Some(head))),
                None => Edit::Remove,
            };
            edits.insert(file.clone(), edit);
        }
        self.store.add_to_volume(to, &shared)?;
        let outcome = self.commit_edits(to, meta, &edits, Vec::new())?;
        Ok(Promotion {
            blob: shared[0],
            source_commit: head,
            outcome,
        })
    }

    /// Files under `prefix` (or in the whole volume), number of commits on
    /// the head's first-parent chain, and the head commit.
    pub fn stats(
        &self,
        volume: &VolumeId,
        prefix: Option<&VolumePath>,
    ) -> Result<VolumeStats, VolumeError> {
        let Some(head) = self.head(volume)? else {
            return Ok(VolumeStats {
                files: 0,
                commits: 0,
                last_commit: None,
            });
        };
        let files = self
            .list_files(volume, prefix, At::Commit(head), true)?
            .len() as u64;
        let last = self.read_commit(volume, head)?;
        let mut commits = 0;
        let mut cursor = Some(head);
        while let Some(from) = cursor {
            let chunk = self.store.first_parent_chain(&from, COUNT_BATCH)?;
            let Some(oldest) = chunk.last() else {
                return Err(VolumeError::MissingObject {
                    volume: volume.clone(),
                    id: from,
                });
            };
            commits += chunk.len() as u64;
            // Only the oldest commit of each batch needs decoding.
            cursor = decode_commit(oldest)
                .map_err(|source| VolumeError::Object {
                    volume: volume.clone(),
                    source,
                })?
                .first_parent();
        }
        Ok(VolumeStats {
            files,
            commits,
            last_commit: Some(last.as_ref().clone()),
        })
    }

    /// Stores objects taken from elsewhere (an imported repository) in the
    /// volume, rehashing each so an id always matches its content.
    pub fn import_objects(
        &self,
        volume: &VolumeId,
        objects: impl IntoIterator<Item = (ObjectKind, Vec<u8>)>,
    ) -> Result<Vec<ObjectId>, VolumeError> {
        let objects: Vec<RawObject> = objects
            .into_iter()
            .map(|(kind, data)| RawObject::new(kind, data))
            .collect();
        self.store.write_objects(volume, &objects)?;
        Ok(objects.iter().map(RawObject::id).collect())
    }

    /// Points a ref of the volume at a commit of the volume, if the ref
    /// still has `expected` (`None`: must not exist). Returns whether it
    /// did. Used by imports; ordinary writes go through [`Self::commit`].
    pub fn set_ref(
        &self,
        volume: &VolumeId,
        name: &RefName,
        expected: Option<ObjectId>,
        new: ObjectId,
        at: i64,
        message: &str,
    ) -> Result<bool, VolumeError> {
        self.check_commit(volume, new)?;
        Ok(self.store.compare_and_swap_ref(&RefUpdate {
            volume,
            name,
            expected,
            new,
            at,
            message,
        })?)
    }

    // ---- internals ----------------------------------------------------

    fn commit_edits(
        &self,
        volume: &VolumeId,
        meta: &CommitMeta,
        edits: &BTreeMap<VolumePath, Edit>,
        mut new_blobs: Vec<RawObject>,
    ) -> Result<CommitOutcome, VolumeError> {
        let plan = self.prepare(volume, meta, edits)?;
        let main = RefName::main();
        for attempt in 1..=self.retry.max_attempts {
            let head = self.store.read_ref(volume, &main)?;
            match self.attempt(volume, meta, &plan, head, &mut new_blobs, attempt)? {
                Attempt::Done(outcome) => return Ok(outcome),
                Attempt::Lost { jitter } => (self.retry.pause)(attempt, jitter),
            }
        }
        Err(VolumeError::Contention {
            volume: volume.clone(),
            attempts: self.retry.max_attempts,
        })
    }

    /// Checks the signatures and arranges the edits by directory.
    fn prepare(
        &self,
        volume: &VolumeId,
        meta: &CommitMeta,
        edits: &BTreeMap<VolumePath, Edit>,
    ) -> Result<EditTree, VolumeError> {
        let object_error = |source| VolumeError::Object {
            volume: volume.clone(),
            source,
        };
        meta.author.validate().map_err(object_error)?;
        meta.committer
            .as_ref()
            .unwrap_or(&meta.author)
            .validate()
            .map_err(object_error)?;
        EditTree::build(edits)
    }

    /// Applies `plan` on top of `head` and swaps the ref from `head` to the
    /// new commit. New blobs are taken out of `new_blobs` and written with
    /// the first attempt's trees and commit, in one write; later attempts
    /// only add trees and a commit.
    fn attempt(
        &self,
        volume: &VolumeId,
        meta: &CommitMeta,
        plan: &EditTree,
        head: Option<ObjectId>,
        new_blobs: &mut Vec<RawObject>,
        attempt: u32,
    ) -> Result<Attempt, VolumeError> {
        let committer = meta.committer.as_ref().unwrap_or(&meta.author);
        let object_error = |source| VolumeError::Object {
            volume: volume.clone(),
            source,
        };
        let summary = meta.message.lines().next().unwrap_or("");
        let head_tree = match head {
            Some(id) => Some(self.read_commit(volume, id)?.tree),
            None => None,
        };
        let mut written = std::mem::take(new_blobs);
        let tree = match self.apply(volume, head_tree, plan, "", &mut written)? {
            Some(id) => id,
            None => {
                let empty = Tree::empty().encode().map_err(object_error)?;
                let id = empty.id();
                written.push(empty);
                id
            }
        };
        if let Some(head) = head
            && head_tree == Some(tree)
        {
            return Ok(Attempt::Done(CommitOutcome {
                commit: head,
                parent: Some(head),
                created: false,
                attempts: attempt,
            }));
        }
        let commit = encode_commit(
            tree,
            head.as_slice(),
            &meta.author,
            committer,
            &meta.message,
        )
        .map_err(object_error)?;
        let id = commit.id();
        written.push(commit);
        self.store.write_objects_owned(volume, written)?;
        let reflog = if head.is_some() {
            format!("commit: {summary}")
        } else {
            format!("commit (initial): {summary}")
        };
        let swapped = self.store.compare_and_swap_ref(&RefUpdate {
            volume,
            name: &RefName::main(),
            expected: head,
            new: id,
            at: committer.time.seconds,
            message: &reflog,
        })?;
        if swapped {
            return Ok(Attempt::Done(CommitOutcome {
                commit: id,
                parent: head,
                created: true,
                attempts: attempt,
            }));
        }
        Ok(Attempt::Lost {
            jitter: u64::from_le_bytes(
                id.as_slice()[..8]
                    .try_into()
                    .expect("SHA-1 ids are 20 bytes"),
            ),
        })
    }

    /// Applies `plan` to the tree `tree` (absent: empty) and returns the new
    /// tree's id, or `None` if it ends up empty. New trees go to `written`.
    fn apply(
        &self,
        volume: &VolumeId,
        tree: Option<ObjectId>,
        plan: &EditTree,
        prefix: &str,
        written: &mut Vec<RawObject>,
    ) -> Result<Option<ObjectId>, VolumeError> {
        let mut new = match tree {
            Some(id) => self.read_tree(volume, id)?.as_ref().clone(),
            None => Tree::empty(),
        };
        let full = |name: &str| format!("{prefix}{name}");
        for (name, edit) in &plan.files {
            let existing = new.get(name);
            if existing
                .as_ref()
                .is_some_and(|e| e.kind == EntryKind::Directory)
            {
                return Err(VolumeError::IsADirectory {
                    volume: volume.clone(),
                    path: full(name),
                });
            }
            match edit {
                Edit::Put(blob) => new.insert(name, EntryKind::File, *blob),
                Edit::Delete => {
                    if !new.remove(name) {
                        return Err(VolumeError::FileNotFound {
                            volume: volume.clone(),
                            path: full(name),
                            commit: None,
                        });
                    }
                }
                Edit::Remove => {
                    new.remove(name);
                }
            }
        }
        for (name, sub_plan) in &plan.dirs {
            let sub_tree = match new.get(name) {
                None => None,
                Some(e) if e.kind == EntryKind::Directory => Some(e.id),
                Some(_) => {
                    return Err(VolumeError::NotADirectory {
                        volume: volume.clone(),
                        path: full(name),
                    });
                }
            };
            let sub_prefix = format!("{prefix}{name}/");
            match self.apply(volume, sub_tree, sub_plan, &sub_prefix, written)? {
                Some(id) => new.insert(name, EntryKind::Directory, id),
                None => {
                    new.remove(name);
                }
            }
        }
        if new.is_empty() {
            return Ok(None);
        }
        let raw = new.encode().map_err(|source| VolumeError::Object {
            volume: volume.clone(),
            source,
        })?;
        let id = raw.id();
        if Some(id) != tree {
            self.cache_tree(id, new);
            written.push(raw);
        }
        Ok(Some(id))
    }

    fn collect_entries(
        &self,
        volume: &VolumeId,
        tree: ObjectId,
        prefix: &str,
        recursive: bool,
        out: &mut Vec<FileEntry>,
    ) -> Result<(), VolumeError> {
        let tree = self.read_tree(volume, tree)?;
        for entry in tree.entries() {
            let path = format!("{prefix}{}", entry.name);
            if entry.kind == EntryKind::Directory && recursive {
                self.collect_entries(volume, entry.id, &format!("{path}/"), true, out)?;
            } else {
                out.push(FileEntry {
                    path,
                    kind: entry.kind,
                    id: entry.id,
                    size: None,
                });
            }
        }
        Ok(())
    }

    /// `(commit, blob)` of a file at a state of the volume.
    fn read_entry(
        &self,
        volume: &VolumeId,
        path: &VolumePath,
        at: At,
    ) -> Result<(ObjectId, ObjectId), VolumeError> {
        let not_found = |commit| VolumeError::FileNotFound {
            volume: volume.clone(),
            path: path.to_string(),
            commit,
        };
        let commit = self.resolve(volume, at)?.ok_or_else(|| not_found(None))?;
        let tree = self.read_commit(volume, commit)?.tree;
        match self.lookup(volume, tree, path)? {
            None => Err(not_found(Some(commit))),
            Some(e) if e.kind == EntryKind::Directory => Err(VolumeError::IsADirectory {
                volume: volume.clone(),
                path: path.to_string(),
            }),
            Some(e) => Ok((commit, e.id)),
        }
    }

    /// The commit a state refers to; `None` for the head of an empty volume.
    fn resolve(&self, volume: &VolumeId, at: At) -> Result<Option<ObjectId>, VolumeError> {
        match at {
            At::Head => self.head(volume),
            At::Commit(id) => {
                self.check_commit(volume, id)?;
                Ok(Some(id))
            }
        }
    }

    /// Refuses commit ids the volume does not own (another volume's, or
    /// not a commit at all).
    fn check_commit(&self, volume: &VolumeId, commit: ObjectId) -> Result<(), VolumeError> {
        let owned = self.store.in_volume(volume, &commit)?
            && matches!(
                self.store.object_headers(&[commit])?.first(),
                Some(Some((ObjectKind::Commit, _)))
            );
        if owned {
            Ok(())
        } else {
            Err(VolumeError::CommitNotFound {
                volume: volume.clone(),
                commit,
            })
        }
    }

    fn check_blob(&self, volume: &VolumeId, blob: ObjectId) -> Result<(), VolumeError> {
        let owned = self.store.in_volume(volume, &blob)?
            && matches!(
                self.store.object_headers(&[blob])?.first(),
                Some(Some((ObjectKind::Blob, _)))
            );
        if owned {
            Ok(())
        } else {
            Err(VolumeError::BlobNotInVolume {
                volume: volume.clone(),
                blob,
            })
        }
    }

    /// Decoded commits of the first-parent chain from `start`, newest
    /// first, at most `limit`, fetched in one store call and cached for the
    /// reads that follow.
    fn chain(
        &self,
        volume: &VolumeId,
        start: ObjectId,
        limit: usize,
    ) -> Result<Vec<Arc<CommitInfo>>, VolumeError> {
        let objects = self.store.first_parent_chain(&start, limit)?;
        let mut commits = Vec::with_capacity(objects.len());
        for object in objects {
            if let Some(hit) = self.cache().commits.get(&object.id()) {
                commits.push(hit.clone());
                continue;
            }
            let commit =
                Arc::new(
                    decode_commit(&object).map_err(|source| VolumeError::Object {
                        volume: volume.clone(),
                        source,
                    })?,
                );
            self.cache_commit(commit.clone());
            commits.push(commit);
        }
        Ok(commits)
    }

    /// Loads, level by level and one store call per level, the trees that
    /// lead to `path` from each of `roots`, so that walking many commits
    /// does not read them one by one. Failures are left for the ordinary
    /// reads to report.
    fn prefetch_path(
        &self,
        roots: impl Iterator<Item = ObjectId>,
        path: &VolumePath,
    ) -> Result<(), VolumeError> {
        let segments: Vec<&str> = path.segments().collect();
        let mut level: Vec<ObjectId> = roots.collect();
        for (depth, segment) in segments.iter().enumerate() {
            level.sort();
            level.dedup();
            let missing: Vec<ObjectId> = {
                let cache = self.cache();
                level
                    .iter()
                    .filter(|id| !cache.trees.contains_key(*id))
                    .copied()
                    .collect()
            };
            for object in self.store.read_objects(&missing)? {
                if let Ok(tree) = Tree::decode(&object) {
                    self.cache_tree(object.id(), tree);
                }
            }
            if depth + 1 == segments.len() {
                break;
            }
            let mut next = Vec::with_capacity(level.len());
            for id in &level {
                let Some(tree) = self.cache().trees.get(id).cloned() else {
                    continue;
                };
                if let Some(entry) = tree.get(segment)
                    && entry.kind == EntryKind::Directory
                {
                    next.push(entry.id);
                }
            }
            level = next;
        }
        Ok(())
    }

    /// The entry at `path` below the tree `tree`.
    fn lookup(
        &self,
        volume: &VolumeId,
        tree: ObjectId,
        path: &VolumePath,
    ) -> Result<Option<crate::object::TreeEntry>, VolumeError> {
        let mut current = tree;
        let mut segments = path.segments().peekable();
        while let Some(name) = segments.next() {
            let tree = self.read_tree(volume, current)?;
            let Some(entry) = tree.get(name) else {
                return Ok(None);
            };
            if segments.peek().is_none() {
                return Ok(Some(entry));
            }
            if entry.kind != EntryKind::Directory {
                return Ok(None);
            }
            current = entry.id;
        }
        Ok(None)
    }

    fn read_object(&self, volume: &VolumeId, id: ObjectId) -> Result<RawObject, VolumeError> {
        self.store
            .read_object(&id)?
            .ok_or_else(|| VolumeError::MissingObject {
                volume: volume.clone(),
                id,
            })
    }

    fn read_tree(&self, volume: &VolumeId, id: ObjectId) -> Result<Arc<Tree>, VolumeError> {
        if let Some(tree) = self.cache().trees.get(&id) {
            return Ok(tree.clone());
        }
        let tree =
            Tree::decode(&self.read_object(volume, id)?).map_err(|source| VolumeError::Object {
                volume: volume.clone(),
                source,
            })?;
        Ok(self.cache_tree(id, tree))
    }

    fn read_commit(&self, volume: &VolumeId, id: ObjectId) -> Result<Arc<CommitInfo>, VolumeError> {
        if let Some(commit) = self.cache().commits.get(&id) {
            return Ok(commit.clone());
        }
        let commit = Arc::new(
            decode_commit(&self.read_object(volume, id)?).map_err(|source| {
                VolumeError::Object {
                    volume: volume.clone(),
                    source,
                }
            })?,
        );
        self.cache_commit(commit.clone());
        Ok(commit)
    }

    fn cache_commit(&self, commit: Arc<CommitInfo>) {
        let weight = commit_weight(&commit);
        let mut cache = self.cache();
        cache.make_room(weight);
        cache.commits.insert(commit.id, commit);
    }

    fn cache_tree(&self, id: ObjectId, tree: Tree) -> Arc<Tree> {
        let weight = tree_weight(&tree);
        let tree = Arc::new(tree);
        let mut cache = self.cache();
        cache.make_room(weight);
        cache.trees.insert(id, tree.clone());
        tree
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, DecodedCache> {
        // The cache holds only immutable, fully built values: a panic
        // elsewhere cannot leave it half-updated.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(all(test, feature = "rusqlite"))]
#[path = "volume_tests.rs"]
mod tests;
