//! Git objects in git's own encoding, with git's SHA-1 ids.
//!
//! Encoding, decoding and hashing are delegated to the gitoxide crates
//! (`gix-object`, `gix-hash`), so an id computed here is the id `git
//! hash-object` prints for the same content. This module owns the store's
//! view of an object ([`RawObject`]: kind plus content bytes, no header), the
//! commit metadata the store writes ([`Signature`], [`GitTime`]) and git's
//! loose-object byte format (zlib over `"<kind> <size>\0" + content`).

use std::io::{Read, Write};

use gix_object::WriteTo;
use gix_object::bstr::{BString, ByteSlice};

pub use gix_hash::ObjectId;
pub use gix_object::Kind as ObjectKind;

/// Every id in the store is SHA-1, like every default git repository.
pub const HASH_KIND: gix_hash::Kind = gix_hash::Kind::Sha1;

/// Largest timezone offset git can write (`±9959`).
const MAX_OFFSET_MINUTES: i32 = 99 * 60 + 59;

/// Why an object could not be built, read or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectError {
    #[error("object {id} is not a valid {kind}: {message}")]
    Decode {
        id: ObjectId,
        kind: ObjectKind,
        message: String,
    },
    #[error("object {id} is a {actual}, expected a {expected}")]
    WrongKind {
        id: ObjectId,
        expected: ObjectKind,
        actual: ObjectKind,
    },
    #[error("{field} `{value}` is not usable in a commit: {reason}")]
    BadSignature {
        field: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("could not encode {kind}: {message}")]
    Encode { kind: ObjectKind, message: String },
    #[error("not a loose object: {message}")]
    BadLooseObject { message: String },
    #[error("`{text}` is not a SHA-1 object id")]
    BadId { text: String },
}

/// Parses a 40-digit hexadecimal SHA-1 object id.
pub fn parse_id(text: &str) -> Result<ObjectId, ObjectError> {
    ObjectId::from_hex(text.as_bytes())
        .ok()
        .filter(|id| id.kind() == HASH_KIND)
        .ok_or_else(|| ObjectError::BadId {
            text: text.chars().take(80).collect(),
        })
}

/// Computes the id git gives an object of `kind` with `data` as content.
pub fn hash_object(kind: ObjectKind, data: &[u8]) -> ObjectId {
    gix_object::compute_hash(HASH_KIND, kind, data)
        .expect("SHA-1 hashing of in-memory data has no failure mode besides collision attacks")
}

/// An object as the store keeps it: its id, kind and content (git's encoding
/// of the object without the `"<kind> <size>\0"` header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawObject {
    id: ObjectId,
    kind: ObjectKind,
    data: Vec<u8>,
}

impl RawObject {
    /// Wraps content and computes its id.
    pub fn new(kind: ObjectKind, data: Vec<u8>) -> Self {
        let id = hash_object(kind, &data);
        Self { id, kind, data }
    }

    /// A blob of `data`.
    pub fn blob(data: Vec<u8>) -> Self {
        Self::new(ObjectKind::Blob, data)
    }

    /// Wraps content read from a store under `id` without hashing it again.
    /// Stores trust their own keys on the hot path; [`crate::fsck`](mod@crate::fsck) is what
    /// re-verifies every id against its content.
    pub fn from_stored(id: ObjectId, kind: ObjectKind, data: Vec<u8>) -> Self {
        Self { id, kind, data }
    }

    pub fn id(&self) -> ObjectId {
        self.id
    }

    pub fn kind(&self) -> ObjectKind {
        self.kind
    }

    pub fn data(&self) -> &[u8] {
        &self.data
    }

    pub fn into_data(self) -> Vec<u8> {
        self.data
    }

    /// The id the content actually hashes to (equal to [`Self::id`] unless
    /// the stored bytes were altered).
    pub fn computed_id(&self) -> ObjectId {
        hash_object(self.kind, &self.data)
    }

    /// Checks that the object has the expected kind.
    pub fn expect_kind(&self, expected: ObjectKind) -> Result<(), ObjectError> {
        if self.kind == expected {
            Ok(())
        } else {
            Err(ObjectError::WrongKind {
                id: self.id,
                expected,
                actual: self.kind,
            })
        }
    }

    /// The object as git stores it in `objects/xx/yyyy…`: zlib-compressed
    /// header and content.
    pub fn loose_bytes(&self) -> Vec<u8> {
        // Git writes loose objects with `core.looseCompression`, whose default
        // is zlib level 1; any level decodes the same, this one is fastest.
        let mut encoder = flate2::write::ZlibEncoder::new(
            Vec::with_capacity(self.data.len() / 2 + 64),
            flate2::Compression::fast(),
        );
        encoder
            .write_all(&gix_object::encode::loose_header(
                self.kind,
                self.data.len() as u64,
            ))
            .and_then(|()| encoder.write_all(&self.data))
            .expect("writing into a Vec cannot fail");
        encoder.finish().expect("writing into a Vec cannot fail")
    }

    /// Decodes git's loose-object bytes (the inverse of [`Self::loose_bytes`])
    /// and computes the id from the content.
    pub fn from_loose_bytes(bytes: &[u8]) -> Result<Self, ObjectError> {
        let bad = |message: String| ObjectError::BadLooseObject { message };
        let mut inflated = Vec::with_capacity(bytes.len() * 2);
        flate2::read::ZlibDecoder::new(bytes)
            .read_to_end(&mut inflated)
            .map_err(|e| bad(format!("zlib: {e}")))?;
        let (kind, size, header_len) =
            gix_object::decode::loose_header(&inflated).map_err(|e| bad(e.to_string()))?;
        let data = inflated.split_off(header_len);
        if data.len() as u64 != size {
            return Err(bad(format!(
                "header says {size} bytes, content has {}",
                data.len()
            )));
        }
        Ok(Self::new(kind, data))
    }
}

/// A point in time as git records it: seconds since the Unix epoch plus the
/// author's UTC offset. The store never reads a clock: callers provide it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct GitTime {
    pub seconds: i64,
    /// Offset from UTC in minutes, e.g. `120` for `+0200`, `-300` for `-0500`.
    pub offset_minutes: i32,
}

impl GitTime {
    pub fn new(seconds: i64, offset_minutes: i32) -> Self {
        Self {
            seconds,
            offset_minutes,
        }
    }

    /// A UTC time.
    pub fn utc(seconds: i64) -> Self {
        Self::new(seconds, 0)
    }

    fn to_gix(self) -> gix_object::date::Time {
        gix_object::date::Time::new(self.seconds, self.offset_minutes * 60)
    }

    fn from_gix(time: gix_object::date::Time) -> Self {
        Self::new(time.seconds, time.offset / 60)
    }
}

/// The author or committer of a commit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Signature {
    pub name: String,
    pub email: String,
    pub time: GitTime,
}

impl Signature {
    pub fn new(name: impl Into<String>, email: impl Into<String>, time: GitTime) -> Self {
        Self {
            name: name.into(),
            email: email.into(),
            time,
        }
    }

    /// Refuses what git cannot represent: `<`, `>` or line breaks in the name
    /// or email, an empty name, or an offset beyond `±9959`.
    pub fn validate(&self) -> Result<(), ObjectError> {
        let bad = |field, value: &str, reason| ObjectError::BadSignature {
            field,
            value: value.escape_default().to_string(),
            reason,
        };
        if self.name.trim().is_empty() {
            return Err(bad("name", &self.name, "it is empty"));
        }
        for (field, value) in [("name", &self.name), ("email", &self.email)] {
            if value.contains(['<', '>', '\n', '\r', '\0']) {
                return Err(bad(
                    field,
                    value,
                    "it contains `<`, `>`, NUL or a line break",
                ));
            }
            if value != value.trim() {
                return Err(bad(field, value, "it has leading or trailing whitespace"));
            }
        }
        if self.time.offset_minutes.abs() > MAX_OFFSET_MINUTES {
            return Err(bad(
                "timezone offset",
                &self.time.offset_minutes.to_string(),
                "it is beyond ±99:59",
            ));
        }
        Ok(())
    }

    fn to_gix(&self) -> gix_actor::Signature {
        gix_actor::Signature {
            name: self.name.as_str().into(),
            email: self.email.as_str().into(),
            time: self.time.to_gix(),
        }
    }

    fn from_gix(sig: gix_actor::SignatureRef<'_>) -> Result<Self, String> {
        Ok(Self {
            name: sig.name.to_str_lossy().into_owned(),
            email: sig.email.to_str_lossy().into_owned(),
            time: GitTime::from_gix(sig.time().map_err(|e| e.to_string())?),
        })
    }
}

/// A decoded commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    pub id: ObjectId,
    pub tree: ObjectId,
    /// Parents, first parent first; empty for a root commit.
    pub parents: Vec<ObjectId>,
    pub author: Signature,
    pub committer: Signature,
    /// The message without its trailing newlines (lossy if not UTF-8).
    pub message: String,
}

impl CommitInfo {
    /// The first line of the message.
    pub fn summary(&self) -> &str {
        self.message.lines().next().unwrap_or("")
    }

    pub fn first_parent(&self) -> Option<ObjectId> {
        self.parents.first().copied()
    }
}

/// Encodes a commit. The message gets a trailing newline if it has none, as
/// `git commit` does.
pub fn encode_commit(
    tree: ObjectId,
    parents: &[ObjectId],
    author: &Signature,
    committer: &Signature,
    message: &str,
) -> Result<RawObject, ObjectError> {
    author.validate()?;
    committer.validate()?;
    let mut message = BString::from(message);
    if !message.ends_with(b"\n") {
        message.push(b'\n');
    }
    let commit = gix_object::Commit {
        tree,
        parents: parents.iter().copied().collect(),
        author: author.to_gix(),
        committer: committer.to_gix(),
        encoding: None,
        message,
        extra_headers: Vec::new(),
    };
    encode(&commit)
}

/// Decodes a commit object.
pub fn decode_commit(object: &RawObject) -> Result<CommitInfo, ObjectError> {
    object.expect_kind(ObjectKind::Commit)?;
    let fail = |message: String| ObjectError::Decode {
        id: object.id,
        kind: ObjectKind::Commit,
        message,
    };
    let commit = gix_object::CommitRef::from_bytes(&object.data, HASH_KIND)
        .map_err(|e| fail(e.to_string()))?;
    let author = commit
        .author()
        .map_err(|e| e.to_string())
        .and_then(Signature::from_gix)
        .map_err(|e| fail(format!("author: {e}")))?;
    let committer = commit
        .committer()
        .map_err(|e| e.to_string())
        .and_then(Signature::from_gix)
        .map_err(|e| fail(format!("committer: {e}")))?;
    Ok(CommitInfo {
        id: object.id,
        tree: commit.tree(),
        parents: commit.parents().collect(),
        author,
        committer,
        message: commit
            .message
            .to_str_lossy()
            .trim_end_matches('\n')
            .to_owned(),
    })
}

/// The kind of a tree entry the store distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// A file (mode `100644`, or `100755` in imported repositories).
    File,
    /// A directory (a tree).
    Directory,
    /// A symbolic link (a blob holding the target), only in imported
    /// repositories.
    Link,
    /// A submodule: a commit of another repository, which is not stored.
    Submodule,
}

impl EntryKind {
    /// The kind of object the entry points to.
    pub fn object_kind(self) -> ObjectKind {
        match self {
            EntryKind::File | EntryKind::Link => ObjectKind::Blob,
            EntryKind::Directory => ObjectKind::Tree,
            EntryKind::Submodule => ObjectKind::Commit,
        }
    }
}

/// One entry of a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    pub name: String,
    pub kind: EntryKind,
    pub id: ObjectId,
}

/// A decoded tree: entries in git's order (names compare as if directories
/// ended in `/`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tree {
    entries: Vec<gix_object::tree::Entry>,
}

impl Tree {
    pub fn empty() -> Self {
        Self::default()
    }

    /// Decodes a tree object.
    pub fn decode(object: &RawObject) -> Result<Self, ObjectError> {
        object.expect_kind(ObjectKind::Tree)?;
        let entries = gix_object::TreeRefIter::from_bytes(&object.data, HASH_KIND)
            .map(|entry| entry.map(|e| e.into()))
            .collect::<Result<Vec<gix_object::tree::Entry>, _>>()
            .map_err(|e| ObjectError::Decode {
                id: object.id,
                kind: ObjectKind::Tree,
                message: e.to_string(),
            })?;
        Ok(Self { entries })
    }

    /// Encodes the tree. Entries are kept sorted by every mutation, so the
    /// encoding is git's canonical one.
    pub fn encode(&self) -> Result<RawObject, ObjectError> {
        encode(&gix_object::Tree {
            entries: self.entries.clone(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Total bytes of the entry names, for memory estimates.
    pub(crate) fn name_bytes(&self) -> usize {
        self.entries.iter().map(|e| e.filename.len()).sum()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The entries, with names converted lossily to UTF-8.
    pub fn entries(&self) -> impl Iterator<Item = TreeEntry> + '_ {
        self.entries.iter().map(|e| TreeEntry {
            name: e.filename.to_str_lossy().into_owned(),
            kind: entry_kind(e.mode),
            id: e.oid,
        })
    }

    /// The entry called `name`, if any.
    pub fn get(&self, name: &str) -> Option<TreeEntry> {
        self.entries
            .iter()
            .find(|e| e.filename == name.as_bytes())
            .map(|e| TreeEntry {
                name: name.to_owned(),
                kind: entry_kind(e.mode),
                id: e.oid,
            })
    }

    /// Adds or replaces the entry called `name`.
    pub fn insert(&mut self, name: &str, kind: EntryKind, id: ObjectId) {
        self.remove(name);
        let mode = match kind {
            EntryKind::Directory => gix_object::tree::EntryKind::Tree,
            EntryKind::File => gix_object::tree::EntryKind::Blob,
            EntryKind::Link => gix_object::tree::EntryKind::Link,
            EntryKind::Submodule => gix_object::tree::EntryKind::Commit,
        };
        let entry = gix_object::tree::Entry {
            mode: mode.into(),
            filename: name.into(),
            oid: id,
        };
        let at = self.entries.partition_point(|e| *e < entry);
        self.entries.insert(at, entry);
    }

    /// Removes the entry called `name`; true if there was one.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.filename != name.as_bytes());
        self.entries.len() != before
    }
}

fn entry_kind(mode: gix_object::tree::EntryMode) -> EntryKind {
    if mode.is_tree() {
        EntryKind::Directory
    } else if mode.is_blob() {
        EntryKind::File
    } else if mode.is_link() {
        EntryKind::Link
    } else {
        EntryKind::Submodule
    }
}

fn encode(object: &dyn WriteTo) -> Result<RawObject, ObjectError> {
    let mut data = Vec::with_capacity(object.size() as usize);
    object
        .write_to(&mut data)
        .map_err(|e| ObjectError::Encode {
            kind: object.kind(),
            message: e.to_string(),
        })?;
    Ok(RawObject::new(object.kind(), data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_blob_and_tree_have_gits_ids() {
        assert_eq!(
            RawObject::blob(Vec::new()).id().to_string(),
            "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
        );
        assert_eq!(
            Tree::empty().encode().unwrap().id().to_string(),
            "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
        );
    }

    #[test]
    fn hello_blob_matches_git_hash_object() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(
            RawObject::blob(b"hello\n".to_vec()).id().to_string(),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
    }

    #[test]
    fn tree_entries_sort_in_gits_order() {
        let blob = RawObject::blob(b"x".to_vec()).id();
        let mut tree = Tree::empty();
        tree.insert("a.b", EntryKind::File, blob);
        tree.insert("a", EntryKind::Directory, blob);
        tree.insert("a-c", EntryKind::File, blob);
        // As a directory, `a` compares as `a/`, which sorts after `a-c` and `a.b`.
        let names: Vec<_> = tree.entries().map(|e| e.name).collect();
        assert_eq!(names, ["a-c", "a.b", "a"]);
        tree.insert("a.b", EntryKind::File, RawObject::blob(Vec::new()).id());
        assert_eq!(tree.len(), 3);
        assert!(tree.remove("a-c"));
        assert!(!tree.remove("a-c"));
        let decoded = Tree::decode(&tree.encode().unwrap()).unwrap();
        assert_eq!(decoded, tree);
    }

    #[test]
    fn commit_round_trips() {
        let author = Signature::new(
            "Alice",
            "alice@example.com",
            GitTime::new(1_700_000_000, 60),
        );
        let committer = Signature::new("Bot", "bot@example.com", GitTime::new(1_700_000_100, -330));
        let tree = Tree::empty().encode().unwrap().id();
        let parent = RawObject::blob(b"p".to_vec()).id();
        let raw = encode_commit(tree, &[parent], &author, &committer, "Add a\n\nbody").unwrap();
        let text = String::from_utf8(raw.data().to_vec()).unwrap();
        assert!(text.contains("author Alice <alice@example.com> 1700000000 +0100\n"));
        assert!(text.contains("committer Bot <bot@example.com> 1700000100 -0530\n"));
        assert!(text.ends_with("\n\nAdd a\n\nbody\n"));
        let info = decode_commit(&raw).unwrap();
        assert_eq!(info.tree, tree);
        assert_eq!(info.parents, [parent]);
        assert_eq!(info.author, author);
        assert_eq!(info.committer, committer);
        assert_eq!(info.message, "Add a\n\nbody");
        assert_eq!(info.summary(), "Add a");
    }

    #[test]
    fn refuses_signatures_git_cannot_write() {
        let t = GitTime::utc(0);
        for sig in [
            Signature::new("", "a@b", t),
            Signature::new("a<b", "a@b", t),
            Signature::new("a", "a@b>", t),
            Signature::new("a\nb", "a@b", t),
            Signature::new(" a", "a@b", t),
            Signature::new("a", "a@b", GitTime::new(0, 100 * 60)),
        ] {
            assert!(sig.validate().is_err(), "{sig:?}");
        }
    }

    #[test]
    fn loose_bytes_round_trip() {
        let blob = RawObject::blob(b"some content\n".to_vec());
        let loose = blob.loose_bytes();
        assert_eq!(RawObject::from_loose_bytes(&loose).unwrap(), blob);
        assert!(RawObject::from_loose_bytes(b"not zlib").is_err());
    }

    #[test]
    fn decoding_checks_the_kind() {
        let blob = RawObject::blob(b"x".to_vec());
        assert!(matches!(
            decode_commit(&blob),
            Err(ObjectError::WrongKind { .. })
        ));
        assert!(Tree::decode(&blob).is_err());
    }

    #[test]
    fn parses_ids() {
        let id = parse_id("e69de29bb2d1d6434b8b29ae775ad8c2e48c5391").unwrap();
        assert!(id.is_empty_blob());
        assert!(parse_id("e69de29").is_err());
        assert!(parse_id("zz").is_err());
    }
}
