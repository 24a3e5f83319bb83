//! Many writers, one volume: every commit lands, none is lost.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{p, sig, v};
use llmos_store::{
    At, CommitRequest, HistoryQuery, MemoryStore, RefStore, RetryPolicy, RusqliteExecutor,
    SqlStore, Volumes, fsck,
};

const WRITERS: usize = 4;
const COMMITS_EACH: usize = 25;

fn writer_commits<S: llmos_store::ObjectStore + RefStore>(vols: &Volumes<S>, writer: usize) -> u32 {
    let vol = v("teams/shared");
    let mut attempts = 0;
    for i in 0..COMMITS_EACH {
        let request = CommitRequest::new(sig(1_700_000_000 + i as i64), format!("w{writer} c{i}"))
            .put(
                p(&format!("w{writer}/{i}.md")),
                format!("writer {writer} commit {i}\n"),
            )
            // Every writer also rewrites the same file, so concurrent commits
            // touch a common tree at every level.
            .put(p("shared.md"), format!("last written by {writer} at {i}\n"));
        let outcome = vols.commit(&vol, request).unwrap();
        assert!(outcome.created);
        attempts += outcome.attempts;
    }
    attempts
}

fn check_nothing_lost<S: llmos_store::ObjectStore + RefStore>(vols: &Volumes<S>) {
    let vol = v("teams/shared");
    let history = vols
        .history(&vol, &HistoryQuery::volume(usize::MAX))
        .unwrap();
    assert_eq!(history.entries.len(), WRITERS * COMMITS_EACH);
    let messages: BTreeSet<String> = history
        .entries
        .iter()
        .map(|e| e.commit.message.clone())
        .collect();
    assert_eq!(
        messages.len(),
        WRITERS * COMMITS_EACH,
        "every commit is distinct"
    );
    let files = vols.list_files(&vol, None, At::Head, true).unwrap();
    assert_eq!(files.len(), WRITERS * COMMITS_EACH + 1);
    for w in 0..WRITERS {
        for i in 0..COMMITS_EACH {
            let file = vols
                .read_file(&vol, &p(&format!("w{w}/{i}.md")), At::Head)
                .unwrap();
            assert_eq!(file.data, format!("writer {w} commit {i}\n").into_bytes());
        }
    }
    // The shared file holds what the last commit wrote.
    let last = &history.entries[0].commit.message;
    let (writer, commit) = last.trim_start_matches('w').split_once(" c").unwrap();
    let shared = vols.read_file(&vol, &p("shared.md"), At::Head).unwrap();
    assert_eq!(
        shared.data,
        format!("last written by {writer} at {commit}\n").into_bytes()
    );
    assert_eq!(
        vols.store().reflog(&vol, usize::MAX).unwrap().len(),
        WRITERS * COMMITS_EACH
    );
}

fn open(db: &Path) -> Volumes<SqlStore<RusqliteExecutor>> {
    Volumes::new(SqlStore::new(RusqliteExecutor::open(db).unwrap()))
}

#[test]
fn concurrent_commits_lose_nothing_on_one_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("volumes.db");
    SqlStore::open(RusqliteExecutor::open(&db).unwrap()).unwrap();
    let attempts: u32 = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..WRITERS)
            .map(|w| {
                let db = db.clone();
                // Each thread has its own connection, like each Spin request.
                scope.spawn(move || writer_commits(&open(&db), w))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let vols = open(&db);
    check_nothing_lost(&vols);
    // How often writers lost a race and re-applied their changes.
    eprintln!(
        "{} commits took {attempts} attempts",
        WRITERS * COMMITS_EACH
    );
    let report = fsck(vols.store()).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
}

#[test]
fn concurrent_commits_lose_nothing_in_memory() {
    let store = MemoryStore::new();
    std::thread::scope(|scope| {
        for w in 0..WRITERS {
            let store = store.clone();
            scope.spawn(move || {
                let vols = Volumes::new(store).with_retry(RetryPolicy {
                    max_attempts: 10_000,
                    pause: |_, _| std::thread::yield_now(),
                });
                writer_commits(&vols, w)
            });
        }
    });
    check_nothing_lost(&Volumes::new(store));
}
