//! Consistency checks of a store, like `git fsck`.
//!
//! [`fsck`] scans every stored object (its id must be the hash of its kind
//! and content, and trees, commits and tags must decode), then walks every
//! ref of every volume: each commit, tree and blob reachable from it must be
//! stored, have the kind its referrer expects, and belong to the volume.
//! [`fsck_volume`] does the walk for one volume and verifies the content of
//! each object it reaches. Problems are collected, not raised: a report
//! names each bad object and who points to it.

use std::collections::HashSet;
use std::fmt;

use llmos_core::ids::VolumeId;

use crate::object::{EntryKind, ObjectId, ObjectKind, RawObject, Tree, decode_commit};
use crate::store::{ObjectStore, RefName, RefStore, StoreError};

/// Objects read per page of the full scan.
const SCAN_PAGE: usize = 256;

/// What points to an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Referrer {
    Ref { volume: VolumeId, name: RefName },
    Object(ObjectId),
}

impl fmt::Display for Referrer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Referrer::Ref { volume, name } => write!(f, "ref {name} of {volume}"),
            Referrer::Object(id) => write!(f, "object {id}"),
        }
    }
}

/// One inconsistency.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FsckProblem {
    #[error("object {id} ({kind}) hashes to {actual}: its stored content was altered")]
    HashMismatch {
        id: ObjectId,
        kind: ObjectKind,
        actual: ObjectId,
    },
    #[error("object {id} is not a valid {kind}: {message}")]
    Undecodable {
        id: ObjectId,
        kind: ObjectKind,
        message: String,
    },
    #[error("{referrer} in {volume} points to {id}, which is missing (expected a {expected})")]
    Missing {
        volume: VolumeId,
        id: ObjectId,
        expected: ObjectKind,
        referrer: Referrer,
    },
    #[error("{referrer} in {volume} points to {id} as a {expected}, but it is a {actual}")]
    WrongKind {
        volume: VolumeId,
        id: ObjectId,
        expected: ObjectKind,
        actual: ObjectKind,
        referrer: Referrer,
    },
    #[error("object {id} is reachable from {volume} but not recorded as part of it")]
    NotInVolume { volume: VolumeId, id: ObjectId },
}

/// What was checked and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FsckReport {
    /// Objects whose id and encoding the full scan verified.
    pub objects_scanned: u64,
    pub volumes: u64,
    pub refs: u64,
    /// Objects reached from refs, counted once per volume.
    pub reachable: u64,
    pub problems: Vec<FsckProblem>,
}

impl FsckReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks the whole store: every object, every volume.
pub fn fsck(store: &(impl ObjectStore + RefStore)) -> Result<FsckReport, StoreError> {
    let mut report = FsckReport::default();
    let mut bad = HashSet::new();
    let mut after = None;
    loop {
        let page = store.scan_objects(after.as_ref(), SCAN_PAGE)?;
        let Some(last) = page.last() else { break };
        after = Some(last.id());
        for object in &page {
            report.objects_scanned += 1;
            if let Some(problem) = verify(object) {
                bad.insert(object.id());
                report.problems.push(problem);
            }
        }
    }
    for volume in store.list_volumes()? {
        walk(store, &volume, &mut report, Contents::Scanned(&bad))?;
    }
    Ok(report)
}

/// Checks one volume: everything reachable from its refs, content included.
pub fn fsck_volume(
    store: &(impl ObjectStore + RefStore),
    volume: &VolumeId,
) -> Result<FsckReport, StoreError> {
    let mut report = FsckReport::default();
    walk(store, volume, &mut report, Contents::Verify)?;
    Ok(report)
}

/// Whether the walk verifies contents itself or a full scan already did.
#[derive(Clone, Copy)]
enum Contents<'a> {
    Verify,
    /// Ids the scan found bad: not reported again, not followed.
    Scanned(&'a HashSet<ObjectId>),
}

/// The problem with an object's id or encoding, if any.
fn verify(object: &RawObject) -> Option<FsckProblem> {
    let actual = object.computed_id();
    if actual != object.id() {
        return Some(FsckProblem::HashMismatch {
            id: object.id(),
            kind: object.kind(),
            actual,
        });
    }
    let decoded = match object.kind() {
        ObjectKind::Blob => Ok(()),
        ObjectKind::Tree => Tree::decode(object).map(drop).map_err(|e| e.to_string()),
        ObjectKind::Commit => decode_commit(object).map(drop).map_err(|e| e.to_string()),
        ObjectKind::Tag => gix_object::TagRef::from_bytes(object.data(), crate::object::HASH_KIND)
            .map(drop)
            .map_err(|e| e.to_string()),
    };
    decoded.err().map(|message| FsckProblem::Undecodable {
        id: object.id(),
        kind: object.kind(),
        message,
    })
}

fn walk(
    store: &(impl ObjectStore + RefStore),
    volume: &VolumeId,
    report: &mut FsckReport,
    contents: Contents<'_>,
) -> Result<(), StoreError> {
    report.volumes += 1;
    let mut stack: Vec<(ObjectId, ObjectKind, Referrer)> = Vec::new();
    for (name, id) in store.list_refs(volume)? {
        report.refs += 1;
        stack.push((
            id,
            ObjectKind::Commit,
            Referrer::Ref {
                volume: volume.clone(),
                name,
            },
        ));
    }
    let mut seen = HashSet::new();
    while let Some((id, expected, referrer)) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        report.reachable += 1;
        let header = store.object_headers(&[id])?.pop().flatten();
        let Some((actual, _)) = header else {
            report.problems.push(FsckProblem::Missing {
                volume: volume.clone(),
                id,
                expected,
                referrer,
            });
            continue;
        };
        if actual != expected {
            report.problems.push(FsckProblem::WrongKind {
                volume: volume.clone(),
                id,
                expected,
                actual,
                referrer,
            });
            continue;
        }
        if !store.in_volume(volume, &id)? {
            report.problems.push(FsckProblem::NotInVolume {
                volume: volume.clone(),
                id,
            });
        }
        let must_read = match contents {
            Contents::Verify => true,
            Contents::Scanned(bad) => actual != ObjectKind::Blob && !bad.contains(&id),
        };
        if !must_read {
            continue;
        }
        let Some(object) = store.read_object(&id)? else {
            continue;
        };
        if let Contents::Verify = contents
            && let Some(problem) = verify(&object)
        {
            report.problems.push(problem);
            continue;
        }
        let here = Referrer::Object(id);
        match actual {
            ObjectKind::Commit => {
                if let Ok(commit) = decode_commit(&object) {
                    stack.push((commit.tree, ObjectKind::Tree, here.clone()));
                    for parent in commit.parents {
                        stack.push((parent, ObjectKind::Commit, here.clone()));
                    }
                }
            }
            ObjectKind::Tree => {
                if let Ok(tree) = Tree::decode(&object) {
                    for entry in tree.entries() {
                        if entry.kind != EntryKind::Submodule {
                            stack.push((entry.id, entry.kind.object_kind(), here.clone()));
                        }
                    }
                }
            }
            ObjectKind::Blob | ObjectKind::Tag => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::{GitTime, Signature};
    use crate::path::VolumePath;
    use crate::store::MemoryStore;
    use crate::volume::{CommitRequest, Volumes};

    fn populated() -> (MemoryStore, VolumeId) {
        let store = MemoryStore::new();
        let vols = Volumes::new(store.clone());
        let vol: VolumeId = "users/alice".parse().unwrap();
        let sig = Signature::new("A", "a@x", GitTime::utc(1));
        for i in 0..3 {
            vols.commit(
                &vol,
                CommitRequest::new(sig.clone(), format!("c{i}")).put(
                    VolumePath::new(&format!("d/{i}.md")).unwrap(),
                    format!("{i}"),
                ),
            )
            .unwrap();
        }
        (store, vol)
    }

    #[test]
    fn a_healthy_store_has_no_problems() {
        let (store, vol) = populated();
        let report = fsck(&store).unwrap();
        assert!(report.is_ok(), "{:?}", report.problems);
        assert_eq!(report.volumes, 1);
        assert_eq!(report.refs, 1);
        // 3 commits, 3 roots, 3 `d` trees, 3 blobs.
        assert_eq!(report.reachable, 12);
        assert_eq!(report.objects_scanned, 12);
        assert!(fsck_volume(&store, &vol).unwrap().is_ok());
    }

    #[test]
    fn fsck_catches_a_corrupted_object() {
        let (store, vol) = populated();
        let blob = RawObject::blob(b"1".to_vec()).id();
        store.overwrite_object_unchecked(blob, ObjectKind::Blob, b"tampered".to_vec());
        let expected = FsckProblem::HashMismatch {
            id: blob,
            kind: ObjectKind::Blob,
            actual: RawObject::blob(b"tampered".to_vec()).id(),
        };
        assert_eq!(fsck(&store).unwrap().problems, vec![expected.clone()]);
        assert_eq!(fsck_volume(&store, &vol).unwrap().problems, vec![expected]);
    }

    #[test]
    fn fsck_reports_missing_objects_with_their_referrer() {
        let (store, vol) = populated();
        let blob = RawObject::blob(b"0".to_vec()).id();
        store.remove_object(&blob);
        let problems = fsck(&store).unwrap().problems;
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            matches!(&problems[0], FsckProblem::Missing { id, expected: ObjectKind::Blob, referrer: Referrer::Object(_), .. } if *id == blob),
            "{problems:?}"
        );
        assert!(problems[0].to_string().contains("missing"));
        assert!(!fsck_volume(&store, &vol).unwrap().is_ok());
    }

    #[test]
    fn fsck_reports_undecodable_and_wrongly_typed_objects() {
        let (store, vol) = populated();
        let head = Volumes::new(store.clone()).head(&vol).unwrap().unwrap();
        let commit = store.read_object(&head).unwrap().unwrap();
        // Keep the id but store the commit's bytes as a tree: the id no
        // longer matches, and the commit is of the wrong kind for the ref.
        store.overwrite_object_unchecked(head, ObjectKind::Tree, commit.data().to_vec());
        let problems = fsck(&store).unwrap().problems;
        assert!(
            problems.iter().any(|p| matches!(p, FsckProblem::WrongKind { id, expected: ObjectKind::Commit, actual: ObjectKind::Tree, .. } if *id == head)),
            "{problems:?}"
        );
        let garbage = RawObject::new(ObjectKind::Tree, b"not a tree".to_vec());
        store.overwrite_object_unchecked(garbage.id(), ObjectKind::Tree, garbage.data().to_vec());
        let problems = fsck(&store).unwrap().problems;
        assert!(
            problems
                .iter()
                .any(|p| matches!(p, FsckProblem::Undecodable { id, .. } if *id == garbage.id())),
            "{problems:?}"
        );
    }

    #[test]
    fn fsck_reports_objects_outside_their_volume() {
        let store = MemoryStore::new();
        let vol: VolumeId = "system".parse().unwrap();
        let other: VolumeId = "users/x".parse().unwrap();
        let vols = Volumes::new(store.clone());
        let sig = Signature::new("A", "a@x", GitTime::utc(1));
        let head = vols
            .commit(
                &other,
                CommitRequest::new(sig, "m").put(VolumePath::new("a").unwrap(), "a"),
            )
            .unwrap()
            .commit;
        // Point `system` at a commit it does not own (bypassing the volume API).
        store
            .compare_and_swap_ref(&crate::store::RefUpdate {
                volume: &vol,
                name: &RefName::main(),
                expected: None,
                new: head,
                at: 0,
                message: "forged",
            })
            .unwrap();
        let problems = fsck_volume(&store, &vol).unwrap().problems;
        assert_eq!(problems.len(), 3, "commit, tree and blob: {problems:?}");
        assert!(
            problems
                .iter()
                .all(|p| matches!(p, FsckProblem::NotInVolume { .. }))
        );
    }
}
