//! Commits per second into one volume.
//!
//! The volume holds 200 files in 10 directories (a realistic skills volume);
//! each iteration commits one changed file, which rewrites one blob, two
//! trees and one commit and swaps the ref. Stores: rusqlite on a file in
//! WAL mode with `synchronous = NORMAL` (what `RusqliteExecutor::open`
//! sets), the same with `synchronous = FULL`, and the in-memory store
//! (the algorithm without a database). Reads (file, listing, histories,
//! stats) are measured on a fixed volume with 2000 commits, each with a
//! cold cache (a fresh `Volumes` per call, as in a component) and a warm
//! one (one `Volumes` for all calls, as in the CLI).
//!
//! Run: `cargo bench -p llmos-store --bench commits`.

use std::borrow::Borrow;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use llmos_core::ids::VolumeId;
use llmos_store::{
    At, CommitRequest, GitTime, HistoryQuery, MemoryStore, ObjectStore, RefStore, RusqliteExecutor,
    Signature, SqlStore, VolumePath, Volumes,
};

const DIRS: usize = 10;
const FILES_PER_DIR: usize = 20;

fn sig(t: i64) -> Signature {
    Signature::new("Bench", "bench@example.com", GitTime::utc(t))
}

fn path(dir: usize, file: usize) -> VolumePath {
    VolumePath::new(&format!("skills/d{dir}/skill-{file}.md")).expect("valid bench path")
}

fn populate<S: ObjectStore + RefStore>(vols: &Volumes<S>, volume: &VolumeId) {
    let mut request = CommitRequest::new(sig(0), "Populate");
    for d in 0..DIRS {
        for f in 0..FILES_PER_DIR {
            request = request.put(path(d, f), format!("# Skill {d}/{f}\n\nbody\n").repeat(20));
        }
    }
    vols.commit(volume, request).expect("populate");
}

/// Commits per second: the volume's history grows while measuring, which
/// does not change the cost of a commit (it touches one path of trees).
fn bench_commits<S: ObjectStore + RefStore>(c: &mut Criterion, name: &str, vols: Volumes<S>) {
    let volume: VolumeId = "users/bench".parse().expect("valid volume");
    populate(&vols, &volume);
    let mut group = c.benchmark_group(format!("commit/{name}"));
    group.throughput(Throughput::Elements(1));
    let mut n: i64 = 0;
    group.bench_function("one_file", |b| {
        b.iter(|| {
            n += 1;
            let target = path(n as usize % DIRS, n as usize % FILES_PER_DIR);
            let request = CommitRequest::new(sig(n), format!("Edit {n}"))
                .put(target, format!("# Edited {n}\n"));
            black_box(vols.commit(&volume, request).expect("commit"))
        })
    });
    group.finish();
}

/// Reads on a fixed volume: 200 files, then `HISTORY` commits each editing
/// one file in turn, so every file changed `HISTORY / 200` times. `open`
/// gives the `Volumes` each iteration uses: a new one per iteration
/// measures a cold cache (a component serves each request with a fresh
/// instance), the same one a warm cache (the CLI).
fn bench_reads<S: ObjectStore + RefStore, V: Borrow<Volumes<S>>>(
    c: &mut Criterion,
    name: &str,
    populate_with: &Volumes<S>,
    open: impl Fn() -> V,
) {
    const HISTORY: usize = 2000;
    let volume: VolumeId = "users/bench".parse().expect("valid volume");
    if populate_with.head(&volume).expect("head").is_none() {
        populate(populate_with, &volume);
        for n in 0..HISTORY {
            let target = path(n % DIRS, (n / DIRS) % FILES_PER_DIR);
            let request = CommitRequest::new(sig(n as i64), format!("Edit {n}"))
                .put(target, format!("# Edited {n}\n"));
            populate_with.commit(&volume, request).expect("commit");
        }
    }
    let mut group = c.benchmark_group(format!("read/{name}"));
    group.throughput(Throughput::Elements(1));
    let target = path(3, 7);
    group.bench_function("file_at_head", |b| {
        b.iter(|| {
            black_box(
                open()
                    .borrow()
                    .read_file(&volume, &target, At::Head)
                    .expect("read"),
            )
        })
    });
    group.bench_function("list_200_files", |b| {
        b.iter(|| {
            black_box(
                open()
                    .borrow()
                    .list_files(&volume, None, At::Head, true)
                    .expect("list"),
            )
        })
    });
    group.bench_function("volume_history_50", |b| {
        let query = HistoryQuery::volume(50);
        b.iter(|| black_box(open().borrow().history(&volume, &query).expect("history")))
    });
    // The file changed every 200 commits: ten entries walk the whole chain.
    group.bench_function("path_history_10_of_2000", |b| {
        let query = HistoryQuery::path(target.clone(), 10);
        b.iter(|| black_box(open().borrow().history(&volume, &query).expect("history")))
    });
    group.bench_function("stats_2000_commits", |b| {
        b.iter(|| black_box(open().borrow().stats(&volume, None).expect("stats")))
    });
    group.finish();
}

fn sqlite_file(synchronous: &str) -> (tempfile::TempDir, Volumes<SqlStore<RusqliteExecutor>>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = RusqliteExecutor::open(dir.path().join("volumes.db")).expect("open db");
    db.connection()
        .pragma_update(None, "synchronous", synchronous)
        .expect("pragma");
    let vols = Volumes::new(SqlStore::open(db).expect("schema"));
    (dir, vols)
}

fn commits(c: &mut Criterion) {
    let (_keep, vols) = sqlite_file("NORMAL");
    bench_commits(c, "sqlite_wal_normal", vols);
    let (_keep, vols) = sqlite_file("FULL");
    bench_commits(c, "sqlite_wal_full", vols);
    bench_commits(c, "memory", Volumes::new(MemoryStore::new()));
}

fn reads(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = RusqliteExecutor::open(dir.path().join("volumes.db")).expect("open db");
    let warm = Volumes::new(SqlStore::open(&db).expect("schema"));
    bench_reads(c, "sqlite_cold", &warm, || Volumes::new(SqlStore::new(&db)));
    bench_reads(c, "sqlite_warm", &warm, || &warm);
    let memory = MemoryStore::new();
    let warm = Volumes::new(memory.clone());
    bench_reads(c, "memory_cold", &warm, || Volumes::new(memory.clone()));
    bench_reads(c, "memory_warm", &warm, || &warm);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .measurement_time(std::time::Duration::from_secs(4));
    targets = commits, reads
}
criterion_main!(benches);
