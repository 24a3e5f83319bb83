//! Writing git pack files (version 2) and their indexes (version 2), so
//! that a dumb-HTTP client fetches many objects in one request.
//!
//! A pack is `PACK`, the version, the object count, then each object as a
//! type-and-size header followed by its zlib-compressed content, and the
//! SHA-1 of everything before it. Objects are stored whole (no deltas): the
//! point is fewer requests, not fewer bytes. The index lists the object ids
//! sorted, with a fan-out table by first byte, the CRC-32 of each object's
//! bytes in the pack, and their offsets; it ends with the pack's checksum
//! and its own. A pack is named after its checksum (`pack-<hex>.pack`), as
//! git names the packs it writes.

use std::io::Write as _;

use crate::object::{HASH_KIND, ObjectId, ObjectKind, RawObject};

/// Offsets at or above this need the index's 8-byte offset table.
const LARGE_OFFSET: u64 = 0x8000_0000;

/// A pack and its index, ready to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltPack {
    /// The pack's checksum, which names it.
    pub name: ObjectId,
    pub pack: Vec<u8>,
    pub index: Vec<u8>,
    /// The objects it holds, sorted.
    pub ids: Vec<ObjectId>,
}

/// Git's type number of an object in a pack.
fn type_number(kind: ObjectKind) -> u8 {
    match kind {
        ObjectKind::Commit => 1,
        ObjectKind::Tree => 2,
        ObjectKind::Blob => 3,
        ObjectKind::Tag => 4,
    }
}

/// The header of one packed object: the type in bits 4–6 of the first
/// byte, the size in its low four bits and then seven bits per byte,
/// each byte but the last with its top bit set.
fn entry_header(kind: ObjectKind, size: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(10);
    let mut byte = (type_number(kind) << 4) | (size & 0x0f) as u8;
    let mut rest = size >> 4;
    while rest > 0 {
        out.push(byte | 0x80);
        byte = (rest & 0x7f) as u8;
        rest >>= 7;
    }
    out.push(byte);
    out
}

fn sha1(parts: &[&[u8]]) -> ObjectId {
    let mut hasher = gix_hash::hasher(HASH_KIND);
    for part in parts {
        hasher.update(part);
    }
    hasher
        .try_finalize()
        .expect("SHA-1 of in-memory data has no failure mode besides collision attacks")
}

/// Packs `objects` (duplicates are packed once) and writes the index.
pub fn build(objects: &[RawObject]) -> BuiltPack {
    let mut order: Vec<&RawObject> = objects.iter().collect();
    // Commits, then trees, then blobs, each by id: a reader walking from a
    // commit finds what it needs close together, and the bytes are the same
    // for the same set of objects.
    order.sort_by(|a, b| {
        type_number(a.kind())
            .cmp(&type_number(b.kind()))
            .then(a.id().cmp(&b.id()))
    });
    order.dedup_by(|a, b| a.id() == b.id());

    let mut pack = Vec::with_capacity(12 + objects.iter().map(|o| o.data().len()).sum::<usize>());
    pack.extend_from_slice(b"PACK");
    pack.extend_from_slice(&2u32.to_be_bytes());
    pack.extend_from_slice(&(order.len() as u32).to_be_bytes());
    // (id, crc, offset) of each entry.
    let mut entries: Vec<(ObjectId, u32, u64)> = Vec::with_capacity(order.len());
    for object in &order {
        let offset = pack.len() as u64;
        let start = pack.len();
        pack.extend_from_slice(&entry_header(object.kind(), object.data().len() as u64));
        let mut encoder = flate2::write::ZlibEncoder::new(&mut pack, flate2::Compression::fast());
        encoder
            .write_all(object.data())
            .and_then(|()| encoder.finish().map(|_| ()))
            .expect("writing into a Vec cannot fail");
        let crc = crc32fast::hash(&pack[start..]);
        entries.push((object.id(), crc, offset));
    }
    let name = sha1(&[&pack]);
    pack.extend_from_slice(name.as_bytes());

    entries.sort_by_key(|e| e.0);
    let mut index = Vec::with_capacity(8 + 1024 + entries.len() * 28 + 40);
    index.extend_from_slice(b"\xfftOc");
    index.extend_from_slice(&2u32.to_be_bytes());
    let mut fanout = [0u32; 256];
    for (id, _, _) in &entries {
        fanout[usize::from(id.as_bytes()[0])] += 1;
    }
    let mut total = 0u32;
    for count in fanout {
        total += count;
        index.extend_from_slice(&total.to_be_bytes());
    }
    for (id, _, _) in &entries {
        index.extend_from_slice(id.as_bytes());
    }
    for (_, crc, _) in &entries {
        index.extend_from_slice(&crc.to_be_bytes());
    }
    let mut large: Vec<u64> = Vec::new();
    for (_, _, offset) in &entries {
        let small = if *offset < LARGE_OFFSET {
            *offset as u32
        } else {
            large.push(*offset);
            0x8000_0000 | (large.len() as u32 - 1)
        };
        index.extend_from_slice(&small.to_be_bytes());
    }
    for offset in large {
        index.extend_from_slice(&offset.to_be_bytes());
    }
    index.extend_from_slice(name.as_bytes());
    let own = sha1(&[&index]);
    index.extend_from_slice(own.as_bytes());

    BuiltPack {
        name,
        pack,
        index,
        ids: entries.into_iter().map(|(id, _, _)| id).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_headers_encode_type_and_size() {
        assert_eq!(entry_header(ObjectKind::Blob, 0), [0x30]);
        assert_eq!(entry_header(ObjectKind::Blob, 15), [0x3f]);
        assert_eq!(entry_header(ObjectKind::Commit, 16), [0x90, 0x01]);
        assert_eq!(entry_header(ObjectKind::Tree, 300), [0xac, 0x12]);
    }

    #[test]
    fn layout_of_pack_and_index() {
        let objects = vec![
            RawObject::blob(b"one\n".to_vec()),
            RawObject::blob(b"two\n".to_vec()),
            RawObject::blob(b"one\n".to_vec()),
        ];
        let built = build(&objects);
        assert_eq!(built.ids.len(), 2);
        assert!(built.ids.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(&built.pack[..4], b"PACK");
        assert_eq!(&built.pack[8..12], &2u32.to_be_bytes());
        let body = built.pack.len() - 20;
        assert_eq!(sha1(&[&built.pack[..body]]), built.name);
        assert_eq!(&built.pack[body..], built.name.as_bytes());
        // Header, fan-out, names, CRCs, offsets, two checksums.
        assert_eq!(built.index.len(), 8 + 256 * 4 + 2 * (20 + 4 + 4) + 40);
        let fanout_last = &built.index[8 + 255 * 4..8 + 256 * 4];
        assert_eq!(fanout_last, &2u32.to_be_bytes());
        let end = built.index.len() - 20;
        assert_eq!(sha1(&[&built.index[..end]]).as_bytes(), &built.index[end..]);
        // The same objects give the same pack.
        assert_eq!(build(&objects[..2]), built);
    }
}
