//! Git's "dumb" HTTP protocol for a volume: the bytes of each file a stock
//! `git clone`/`git fetch` asks for, so the component only routes.
//!
//! A dumb client first requests `info/refs?service=git-upload-pack`; a reply
//! without the smart content type (`application/x-git-upload-pack-
//! advertisement`) makes it fall back to the dumb protocol, so the component
//! ignores the query string. It then reads `HEAD`, walks commits, trees and
//! blobs by fetching `objects/xx/yyyy…` (zlib-compressed loose objects), and
//! asks `objects/info/packs` — empty here, as the store keeps no packs.
//! Anything else (`objects/info/alternates`, `objects/info/http-alternates`,
//! unknown paths) is [`DumbHttpError::NotFound`] → 404, which git expects.
//!
//! Objects are served only if they belong to the volume (see
//! [`crate::store`]), so the id of another volume's object yields 404.

use llmos_core::ids::VolumeId;

use crate::object::{ObjectId, parse_id};
use crate::store::{ObjectStore, RefName, RefStore, StoreError};

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

/// `objects/info/packs`: empty, so clients fetch loose objects.
pub fn info_packs() -> Vec<u8> {
    Vec::new()
}

/// `objects/xx/yyyy…`: the loose-object bytes of `id`, if it belongs to
/// the volume.
pub fn loose_object(
    store: &impl ObjectStore,
    volume: &VolumeId,
    id: &ObjectId,
) -> Result<Vec<u8>, DumbHttpError> {
    let not_found = || DumbHttpError::NotFound {
        volume: volume.clone(),
        path: loose_object_path(id),
    };
    if !store.in_volume(volume, id)? {
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
    store: &(impl ObjectStore + RefStore),
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
        "objects/info/packs" => Ok(text(info_packs())),
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
