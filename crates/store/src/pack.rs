//! Writing git pack files (version 2) and their indexes (version 2), so
//! that a dumb-HTTP client fetches many objects in one request.
//!
//! A pack is `PACK`, the version, the object count, then each object as a
//! type-and-size header followed by its zlib-compressed content, and the
//! SHA-1 of everything before it. An object much like one written before
//! it (the next version of a tree that gained an entry, of a file that
//! changed a line) is stored as an offset delta against it: a copy of the
//! common head, the new middle, a copy of the common tail. Successive
//! versions of a directory are otherwise stored whole each time, and a
//! history of a thousand commits to one folder would weigh megabytes of
//! nearly identical trees. The index lists the object ids
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

/// Git's type number of an offset delta.
const OFS_DELTA: u8 = 6;

/// How many of the objects just before one (same type, similar size) are
/// tried as its delta base.
const DELTA_WINDOW: usize = 4;

/// Longest chain of deltas a reader has to resolve for one object (git's
/// own default).
const MAX_DELTA_DEPTH: u32 = 50;

/// Objects smaller than this are always stored whole.
const MIN_DELTA_SIZE: usize = 64;

/// Longest copy instruction written (older readers take no more).
const MAX_COPY: usize = 0x10000;

/// A size in a delta's header: seven bits per byte, least significant
/// first, each byte but the last with its top bit set.
fn push_varint(out: &mut Vec<u8>, mut value: usize) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Copies `len` bytes of the base from `offset`, in instructions of at
/// most [`MAX_COPY`] bytes: a flag byte saying which offset and size bytes
/// follow, then those bytes, least significant first.
fn push_copy(out: &mut Vec<u8>, mut offset: usize, mut len: usize) {
    while len > 0 {
        let n = len.min(MAX_COPY);
        let mut flags = 0x80u8;
        let mut args = Vec::with_capacity(7);
        for i in 0..4 {
            let byte = (offset >> (8 * i)) as u8;
            if byte != 0 {
                flags |= 1 << i;
                args.push(byte);
            }
        }
        // A size of 0x10000 is written as no size bytes at all.
        if n != MAX_COPY {
            for i in 0..3 {
                let byte = (n >> (8 * i)) as u8;
                if byte != 0 {
                    flags |= 1 << (4 + i);
                    args.push(byte);
                }
            }
        }
        out.push(flags);
        out.extend_from_slice(&args);
        offset += n;
        len -= n;
    }
}

/// Inserts `data` literally, in instructions of at most 127 bytes.
fn push_insert(out: &mut Vec<u8>, data: &[u8]) {
    for chunk in data.chunks(0x7f) {
        out.push(chunk.len() as u8);
        out.extend_from_slice(chunk);
    }
}

/// A delta turning `base` into `target` (common head and tail copied, the
/// rest inserted), or `None` when it would not be under half the target.
fn delta(base: &[u8], target: &[u8]) -> Option<Vec<u8>> {
    if target.len() < MIN_DELTA_SIZE {
        return None;
    }
    let head = base.iter().zip(target).take_while(|(a, b)| a == b).count();
    let room = base.len().min(target.len()) - head;
    let tail = base
        .iter()
        .rev()
        .zip(target.iter().rev())
        .take(room)
        .take_while(|(a, b)| a == b)
        .count();
    let middle = target.len() - head - tail;
    // Instructions: about 5 bytes per 64 KiB copied, 1 per 127 inserted.
    let estimate = 20 + (head + tail) / MAX_COPY * 5 + middle + middle / 0x7f;
    if estimate >= target.len() / 2 {
        return None;
    }
    let mut out = Vec::with_capacity(estimate);
    push_varint(&mut out, base.len());
    push_varint(&mut out, target.len());
    push_copy(&mut out, 0, head);
    push_insert(&mut out, &target[head..head + middle]);
    push_copy(&mut out, base.len() - tail, tail);
    Some(out)
}

/// The distance back to an offset delta's base: seven bits per byte, most
/// significant first, with one added to all but the last group (so every
/// distance has a single encoding).
fn base_distance(distance: u64) -> Vec<u8> {
    let mut out = vec![(distance & 0x7f) as u8];
    let mut rest = distance >> 7;
    while rest > 0 {
        rest -= 1;
        out.push(0x80 | (rest & 0x7f) as u8);
        rest >>= 7;
    }
    out.reverse();
    out
}

/// Packs `objects` (duplicates are packed once) and writes the index.
pub fn build(objects: &[RawObject]) -> BuiltPack {
    let mut order: Vec<&RawObject> = objects.iter().collect();
    // Commits, then trees, then blobs; within a type by size, then id, so
    // versions of one tree or file (close in size) sit side by side for
    // deltas, and the bytes are the same for the same set of objects.
    order.sort_by(|a, b| {
        type_number(a.kind())
            .cmp(&type_number(b.kind()))
            .then(a.data().len().cmp(&b.data().len()))
            .then(a.id().cmp(&b.id()))
    });
    order.dedup_by(|a, b| a.id() == b.id());

    let mut pack = Vec::with_capacity(12 + objects.iter().map(|o| o.data().len()).sum::<usize>());
    pack.extend_from_slice(b"PACK");
    pack.extend_from_slice(&2u32.to_be_bytes());
    pack.extend_from_slice(&(order.len() as u32).to_be_bytes());
    // (id, crc, offset) of each entry.
    let mut entries: Vec<(ObjectId, u32, u64)> = Vec::with_capacity(order.len());
    // Delta depth of each entry written so far.
    let mut depths: Vec<u32> = Vec::with_capacity(order.len());
    for (i, object) in order.iter().enumerate() {
        let offset = pack.len() as u64;
        let start = pack.len();
        // The best delta against one of the last few objects of the same
        // type that is not at the end of a long chain already.
        let best = (i.saturating_sub(DELTA_WINDOW)..i)
            .filter(|&j| order[j].kind() == object.kind() && depths[j] < MAX_DELTA_DEPTH)
            .filter_map(|j| Some((j, delta(order[j].data(), object.data())?)))
            .min_by_key(|(_, d)| d.len());
        let body: &[u8] = match &best {
            Some((base, delta)) => {
                let header = entry_header(object.kind(), delta.len() as u64);
                // Same size encoding, the delta type in bits 4–6.
                pack.push((header[0] & 0x8f) | (OFS_DELTA << 4));
                pack.extend_from_slice(&header[1..]);
                pack.extend_from_slice(&base_distance(offset - entries[*base].2));
                depths.push(depths[*base] + 1);
                delta
            }
            None => {
                pack.extend_from_slice(&entry_header(object.kind(), object.data().len() as u64));
                depths.push(0);
                object.data()
            }
        };
        let mut encoder = flate2::write::ZlibEncoder::new(&mut pack, flate2::Compression::fast());
        encoder
            .write_all(body)
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

    /// Applies a delta as git's reader does.
    fn apply(base: &[u8], delta: &[u8]) -> Vec<u8> {
        let mut at = 0;
        let mut varint = || {
            let (mut value, mut shift) = (0usize, 0);
            loop {
                let byte = delta[at];
                at += 1;
                value |= usize::from(byte & 0x7f) << shift;
                shift += 7;
                if byte & 0x80 == 0 {
                    return value;
                }
            }
        };
        assert_eq!(varint(), base.len());
        let size = varint();
        let mut out = Vec::new();
        while at < delta.len() {
            let cmd = delta[at];
            at += 1;
            if cmd & 0x80 != 0 {
                let (mut offset, mut len) = (0usize, 0usize);
                for i in 0..4 {
                    if cmd & (1 << i) != 0 {
                        offset |= usize::from(delta[at]) << (8 * i);
                        at += 1;
                    }
                }
                for i in 0..3 {
                    if cmd & (1 << (4 + i)) != 0 {
                        len |= usize::from(delta[at]) << (8 * i);
                        at += 1;
                    }
                }
                if len == 0 {
                    len = 0x10000;
                }
                out.extend_from_slice(&base[offset..offset + len]);
            } else {
                assert_ne!(cmd, 0, "reserved instruction");
                out.extend_from_slice(&delta[at..at + usize::from(cmd)]);
                at += usize::from(cmd);
            }
        }
        assert_eq!(out.len(), size);
        out
    }

    #[test]
    fn deltas_rebuild_their_targets() {
        let big: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut grown = big.clone();
        grown.splice(70_000..70_000, b"a new tree entry".iter().copied());
        let mut changed = big.clone();
        changed[150_000] ^= 1;
        let head_only = big[..190_000].to_vec();
        let text = b"line one\nline two\nline three\nline four\nline five\n".repeat(4);
        let mut edited = text.clone();
        edited[10] = b'T';
        for (base, target) in [
            (&big, &grown),
            (&grown, &big),
            (&big, &changed),
            (&big, &head_only),
            (&text, &edited),
        ] {
            let d = delta(base, target).expect("similar objects give a delta");
            assert!(d.len() < target.len() / 2);
            assert_eq!(&apply(base, &d), target);
        }
        // Unrelated or tiny objects are stored whole.
        assert!(delta(&big, &text).is_none());
        assert!(delta(b"tiny", b"tinier").is_none());
        let unrelated: Vec<u8> = (0..5000u32).map(|i| (i * 13 % 256) as u8).collect();
        assert!(delta(&big[..5000], &unrelated).is_none());
    }

    #[test]
    fn base_distances_use_gits_encoding() {
        assert_eq!(base_distance(1), [0x01]);
        assert_eq!(base_distance(127), [0x7f]);
        assert_eq!(base_distance(128), [0x80, 0x00]);
        assert_eq!(base_distance(16_511), [0xff, 0x7f]);
        assert_eq!(base_distance(16_512), [0x80, 0x80, 0x00]);
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
