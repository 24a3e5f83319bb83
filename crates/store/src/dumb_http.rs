//! Git's "dumb" HTTP protocol for a volume: the bytes of each file a stock
//! `git clone`/`git fetch` asks for, so the component only routes.
//!
//! A dumb client first requests `info/refs?service=git-upload-pack`; a reply
//! without the smart content type (`application/x-git-upload-pack-
//! advertisement`) makes it fall back to the dumb protocol, so the component
//! ignores the query string. It then reads `HEAD`, walks commits, trees and
//! blobs by fetching `objects/xx/yyyy…` (zlib-compressed loose objects).
//! When a loose object is missing it reads `objects/info/packs`, fetches
//! each listed pack's index (`objects/pack/pack-<hex>.idx`) and downloads
//! the pack that holds the object, which brings every other object of that
//! pack at once. Anything else (`objects/info/alternates`,
//! `objects/info/http-alternates`, unknown paths) is
//! [`DumbHttpError::NotFound`] → 404, which git expects.
//!
//! # Packs
//!
//! Fetching thousands of objects one request each is slow, so the store
//! keeps packs of each volume ([`PackStore`]), as a git server does after
//! `git repack`: [`update_packs`], run when a client starts (its
//! `info/refs` request), packs the volume's objects once at least
//! [`PACK_MIN_OBJECTS`] are in no pack, and folds all packs into one when
//! there are [`MAX_PACKS`]. An object in a current pack is not served
//! loose, which is what sends the client to the pack; objects written since
//! the last pack stay loose.
//!
//! Objects and packs are served only if they belong to the volume (see
//! [`crate::store`]), so the id of another volume's object yields 404.

use llmos_core::ids::VolumeId;

use crate::object::{ObjectId, parse_id};
use crate::pack;
use crate::store::{ObjectStore, PackFile, PackInfo, PackStore, RefName, RefStore, StoreError};

/// Objects in no pack that make [`update_packs`] write a pack.
pub const PACK_MIN_OBJECTS: u64 = 64;

/// Current packs at which [`update_packs`] folds them into one.
pub const MAX_PACKS: usize = 8;

/// Most objects read into one pack (the packer holds them in memory).
pub const MAX_PACK_OBJECTS: usize = 20_000;

/// How long a superseded pack is still served, in seconds.
pub const SUPERSEDED_PACK_SECS: i64 = 3600;

/// Why a dumb-HTTP request has no answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DumbHttpError {
    #[error("`{path}` does not exist in the git view of {volume}")]
    NotFound { volume: VolumeId, path: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The body and content type of one answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumbHttpResponse {
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// Content type of `info/refs`, `HEAD` and `objects/info/packs`, as
/// `git http-backend` sends them in dumb mode.
pub const TEXT: &str = "text/plain; charset=utf-8";

/// Content type of loose objects, as `git http-backend` sends them.
pub const LOOSE_OBJECT: &str = "application/x-git-loose-object";

/// Content type of pack files, as `git http-backend` sends them.
pub const PACK: &str = "application/x-git-packed-objects";

/// Content type of pack indexes, as `git http-backend` sends them.
pub const PACK_INDEX: &str = "application/x-git-packed-objects-toc";

/// `info/refs`: one `<id>\t<ref name>\n` line per ref, sorted by name.
/// An empty volume has an empty list (git clones it as an empty repository).
pub fn info_refs(store: &impl RefStore, volume: &VolumeId) -> Result<Vec<u8>, DumbHttpError> {
    let mut body = String::new();
    for (name, id) in store.list_refs(volume)? {
        body.push_str(&format!("{id}\t{name}\n"));
    }
    Ok(body.into_bytes())
}

/// `HEAD`: every volume's head is its `main` branch.
pub fn head() -> Vec<u8> {
    format!("ref: {}\n", RefName::MAIN).into_bytes()
}

/// `objects/info/packs`: a `P pack-<hex>.pack` line per current pack, then
/// an empty line, as `git update-server-info` writes it.
pub fn info_packs(store: &impl PackStore, volume: &VolumeId) -> Result<Vec<u8>, DumbHttpError> {
    let packs = store.packs(volume)?;
    if packs.is_empty() {
        return Ok(Vec::new());
    }
    let mut body = String::new();
    for pack in packs {
        body.push_str(&format!("P pack-{}.pack\n", pack.name));
    }
    body.push('\n');
    Ok(body.into_bytes())
}

/// Packs the volume's loose objects when there are enough of them (see the
/// module notes); returns the pack written, if any. `now` is in seconds.
pub fn update_packs(
    store: &(impl ObjectStore + PackStore),
    volume: &VolumeId,
    now: i64,
) -> Result<Option<PackInfo>, StoreError> {
    if store.unpacked_count(volume)? < PACK_MIN_OBJECTS {
        return Ok(None);
    }
    let current = store.packs(volume)?;
    let mut supersede = Vec::new();
    let mut objects = Vec::new();
    if current.len() + 1 >= MAX_PACKS {
        // Fold everything into one pack, unless the volume is too large to
        // pack at once; then packs keep being added.
        let all = store.volume_objects(volume, false, MAX_PACK_OBJECTS + 1)?;
        if all.len() <= MAX_PACK_OBJECTS {
            objects = all;
            supersede = current.iter().map(|p| p.name).collect();
        }
    }
    if objects.is_empty() {
        objects = store.volume_objects(volume, true, MAX_PACK_OBJECTS)?;
    }
    let built = pack::build(&objects);
    store.add_pack(
        volume,
        &built,
        now,
        &supersede,
        now.saturating_sub(SUPERSEDED_PACK_SECS),
    )?;
    Ok(Some(PackInfo {
        name: built.name,
        objects: built.ids.len() as u64,
        created_at: now,
    }))
}

/// `objects/xx/yyyy…`: the loose-object bytes of `id`, if it belongs to
/// the volume and is in none of its current packs.
pub fn loose_object(
    store: &(impl ObjectStore + PackStore),
    volume: &VolumeId,
    id: &ObjectId,
) -> Result<Vec<u8>, DumbHttpError> {
    let not_found = || DumbHttpError::NotFound {
        volume: volume.clone(),
        path: loose_object_path(id),
    };
    if !store.in_volume(volume, id)? || store.is_packed(volume, id)? {
        return Err(not_found());
    }
    let object = store.read_object(id)?.ok_or_else(not_found)?;
    Ok(object.loose_bytes())
}

/// Where git keeps a loose object: `objects/xx/yyyy…`.
pub fn loose_object_path(id: &ObjectId) -> String {
    let hex = id.to_string();
    format!("objects/{}/{}", &hex[..2], &hex[2..])
}

/// Answers a request for `path` below the volume's git URL (e.g. `HEAD`,
/// `info/refs`, `objects/e6/9de2…`), without query string.
pub fn respond(
    store: &(impl ObjectStore + RefStore + PackStore),
    volume: &VolumeId,
    path: &str,
) -> Result<DumbHttpResponse, DumbHttpError> {
    let text = |body| DumbHttpResponse {
        content_type: TEXT,
        body,
    };
    match path.trim_start_matches('/') {
        "info/refs" => Ok(text(info_refs(store, volume)?)),
        "HEAD" => Ok(text(head())),
        "objects/info/packs" => Ok(text(info_packs(store, volume)?)),
        other if other.starts_with("objects/pack/") => {
            let not_found = || DumbHttpError::NotFound {
                volume: volume.clone(),
                path: other.chars().take(100).collect(),
            };
            let file = other
                .strip_prefix("objects/pack/pack-")
                .ok_or_else(not_found)?;
            let (hex, kind, content_type) = if let Some(hex) = file.strip_suffix(".pack") {
                (hex, PackFile::Pack, PACK)
            } else if let Some(hex) = file.strip_suffix(".idx") {
                (hex, PackFile::Index, PACK_INDEX)
            } else {
                return Err(not_found());
            };
            let name = parse_id(hex)
                .ok()
                .filter(|_| !hex.bytes().any(|b| b.is_ascii_uppercase()))
                .ok_or_else(not_found)?;
            let body = store
                .pack_file(volume, &name, kind)?
                .ok_or_else(not_found)?;
            Ok(DumbHttpResponse { content_type, body })
        }
        other => {
            let id = other
                .strip_prefix("objects/")
                .and_then(|rest| {
                    let (dir, file) = rest.split_once('/')?;
                    (dir.len() == 2 && file.len() == 38).then(|| format!("{dir}{file}"))
                })
                .and_then(|hex| parse_id(&hex).ok())
                // Git only ever asks for lowercase paths; refusing others keeps
                // one URL per object.
                .filter(|id| loose_object_path(id) == other)
                .ok_or_else(|| DumbHttpError::NotFound {
                    volume: volume.clone(),
                    path: other.chars().take(100).collect(),
                })?;
            Ok(DumbHttpResponse {
                content_type: LOOSE_OBJECT,
                body: loose_object(store, volume, &id)?,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::{GitTime, RawObject, Signature};
    use crate::path::VolumePath;
    use crate::store::MemoryStore;
    use crate::volume::{CommitRequest, Volumes};

    fn setup() -> (Volumes<MemoryStore>, VolumeId, ObjectId) {
        let vols = Volumes::new(MemoryStore::new());
        let vol: VolumeId = "users/alice".parse().unwrap();
        let sig = Signature::new("A", "a@x", GitTime::utc(1));
        let commit = vols
            .commit(
                &vol,
                CommitRequest::new(sig, "m").put(VolumePath::new("a.md").unwrap(), "hello\n"),
            )
            .unwrap()
            .commit;
        (vols, vol, commit)
    }

    #[test]
    fn serves_refs_head_and_packs() {
        let (vols, vol, commit) = setup();
        let refs = respond(vols.store(), &vol, "info/refs").unwrap();
        assert_eq!(
            refs.body,
            format!("{commit}\trefs/heads/main\n").into_bytes()
        );
        assert_eq!(
            respond(vols.store(), &vol, "HEAD").unwrap().body,
            b"ref: refs/heads/main\n"
        );
        assert!(
            respond(vols.store(), &vol, "objects/info/packs")
                .unwrap()
                .body
                .is_empty()
        );
        let empty: VolumeId = "users/empty".parse().unwrap();
        assert!(info_refs(vols.store(), &empty).unwrap().is_empty());
    }

    #[test]
    fn serves_loose_objects_of_the_volume_only() {
        let (vols, vol, _) = setup();
        let blob = RawObject::blob(b"hello\n".to_vec());
        let path = loose_object_path(&blob.id());
        assert_eq!(path, "objects/ce/013625030ba8dba906f756967f9e9ca394464a");
        let response = respond(vols.store(), &vol, &path).unwrap();
        assert_eq!(response.content_type, LOOSE_OBJECT);
        assert_eq!(RawObject::from_loose_bytes(&response.body).unwrap(), blob);
        let bob: VolumeId = "users/bob".parse().unwrap();
        assert!(matches!(
            respond(vols.store(), &bob, &path),
            Err(DumbHttpError::NotFound { .. })
        ));
    }

    #[test]
    fn packs_are_written_listed_served_and_folded() {
        let (vols, vol, _) = setup();
        let store = vols.store();
        // Three objects: too few to pack.
        assert_eq!(update_packs(store, &vol, 100).unwrap(), None);
        let commit_files = |from: usize, n: usize| {
            for i in from..from + n {
                let request = CommitRequest::new(Signature::new("A", "a@x", GitTime::utc(2)), "m")
                    .put(
                        VolumePath::new(&format!("f{i}.md")).unwrap(),
                        format!("{i}\n"),
                    );
                vols.commit(&vol, request).unwrap();
            }
        };
        commit_files(0, 30);
        let first = update_packs(store, &vol, 100).unwrap().expect("a pack");
        assert_eq!(
            first.objects,
            store.volume_objects(&vol, false, 10_000).unwrap().len() as u64
        );
        assert_eq!(store.unpacked_count(&vol).unwrap(), 0);
        assert_eq!(update_packs(store, &vol, 101).unwrap(), None);
        let listing =
            String::from_utf8(respond(store, &vol, "objects/info/packs").unwrap().body).unwrap();
        assert_eq!(listing, format!("P pack-{}.pack\n\n", first.name));
        // Packed objects are no longer loose; the pack and its index are.
        let blob = RawObject::blob(b"hello\n".to_vec());
        assert!(matches!(
            respond(store, &vol, &loose_object_path(&blob.id())),
            Err(DumbHttpError::NotFound { .. })
        ));
        let pack = respond(
            store,
            &vol,
            &format!("objects/pack/pack-{}.pack", first.name),
        )
        .unwrap();
        assert_eq!(pack.content_type, PACK);
        assert_eq!(&pack.body[..4], b"PACK");
        let index = respond(
            store,
            &vol,
            &format!("objects/pack/pack-{}.idx", first.name),
        )
        .unwrap();
        assert_eq!(index.content_type, PACK_INDEX);
        let bob: VolumeId = "users/bob".parse().unwrap();
        assert!(
            respond(
                store,
                &bob,
                &format!("objects/pack/pack-{}.idx", first.name)
            )
            .is_err()
        );

        // New objects stay loose until there are enough; packs are folded
        // into one before there are MAX_PACKS of them.
        commit_files(100, 2);
        assert_eq!(update_packs(store, &vol, 102).unwrap(), None);
        let mut folded = false;
        for round in 0..MAX_PACKS {
            commit_files(200 + round * 30, 30);
            update_packs(store, &vol, 200 + round as i64)
                .unwrap()
                .expect("a pack");
            let current = store.packs(&vol).unwrap();
            assert!(current.len() < MAX_PACKS);
            if current.len() == 1 && round > 0 {
                let total = store.volume_objects(&vol, false, 100_000).unwrap().len();
                assert_eq!(
                    current[0].objects, total as u64,
                    "one pack holds everything"
                );
                folded = true;
            }
        }
        assert!(folded);
        // Superseded packs are served for a while, then dropped.
        let old = format!("objects/pack/pack-{}.pack", first.name);
        assert!(
            !store
                .packs(&vol)
                .unwrap()
                .iter()
                .any(|p| p.name == first.name)
        );
        assert!(respond(store, &vol, &old).is_ok());
        commit_files(900, 30);
        update_packs(store, &vol, 200 + SUPERSEDED_PACK_SECS + 100).unwrap();
        assert!(matches!(
            respond(store, &vol, &old),
            Err(DumbHttpError::NotFound { .. })
        ));
        for path in [
            "objects/pack/pack-xyz.pack",
            "objects/pack/other",
            "objects/pack/",
        ] {
            assert!(respond(store, &vol, path).is_err(), "{path}");
        }
    }

    #[test]
    fn unknown_paths_are_not_found() {
        let (vols, vol, _) = setup();
        for path in [
            "objects/info/alternates",
            "objects/info/http-alternates",
            "objects/ce/013625030BA8DBA906F756967F9E9CA394464A",
            "objects/ce013625030ba8dba906f756967f9e9ca394464a",
            "objects/zz/013625030ba8dba906f756967f9e9ca394464a",
            "config",
            "",
        ] {
            assert!(
                matches!(
                    respond(vols.store(), &vol, path),
                    Err(DumbHttpError::NotFound { .. })
                ),
                "{path}"
            );
        }
    }
}
