//! Behaviour of [`Volumes`], run against the in-memory and the SQL store.

use super::*;
use crate::object::GitTime;
use crate::sql::RusqliteExecutor;
use crate::sql_store::SqlStore;
use crate::store::MemoryStore;

fn sig(seconds: i64) -> Signature {
    Signature::new("Alice", "alice@example.com", GitTime::new(seconds, 60))
}

fn p(path: &str) -> VolumePath {
    VolumePath::new(path).unwrap()
}

fn v(volume: &str) -> VolumeId {
    volume.parse().unwrap()
}

fn put(
    vols: &Volumes<impl ObjectStore + RefStore>,
    volume: &VolumeId,
    t: i64,
    files: &[(&str, &str)],
) -> ObjectId {
    let mut request = CommitRequest::new(sig(t), format!("commit at {t}"));
    for (path, content) in files {
        request = request.put(p(path), content.as_bytes());
    }
    let outcome = vols.commit(volume, request).unwrap();
    assert!(outcome.created);
    outcome.commit
}

fn text(
    vols: &Volumes<impl ObjectStore + RefStore>,
    volume: &VolumeId,
    path: &str,
    at: At,
) -> String {
    String::from_utf8(vols.read_file(volume, &p(path), at).unwrap().data).unwrap()
}

macro_rules! for_each_store {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[test]
                fn $name() {
                    let vols = super::Volumes::new(super::MemoryStore::new())
                        .with_retry(super::RetryPolicy { max_attempts: 8, pause: super::RetryPolicy::no_pause });
                    super::$name(&vols);
                }
            )*
        }
        mod sql {
            $(
                #[test]
                fn $name() {
                    let db = super::RusqliteExecutor::open_in_memory().unwrap();
                    let vols = super::Volumes::new(super::SqlStore::open(db).unwrap());
                    super::$name(&vols);
                }
            )*
        }
    };
}

for_each_store!(
    commits_and_reads_files,
    lists_files_recursively_and_directly,
    delete_of_missing_file_commits_nothing,
    refuses_file_directory_clashes,
    refuses_nested_changes_in_one_request,
    unchanged_tree_adds_no_commit,
    commit_on_lands_only_on_the_expected_head,
    history_of_volume_pages_newest_first,
    history_of_path_lists_only_its_changes,
    rollback_restores_old_content,
    diff_shows_unified_changes,
    promotion_shares_the_blob_id,
    foreign_commits_and_blobs_are_refused,
    stats_count_files_and_commits,
    empty_volume_reads_as_empty,
    reflog_records_each_commit,
    history_crosses_batch_boundaries,
    history_of_a_file_and_its_companion_lists_changes_of_either,
    rollback_of_files_restores_and_removes_companions,
    promotion_of_files_mirrors_the_source_set,
    large_blobs_round_trip,
);

fn commits_and_reads_files(vols: &Volumes<impl ObjectStore + RefStore>) {
    let alice = v("users/alice");
    let first = put(
        vols,
        &alice,
        100,
        &[("skills/a.md", "one\n"), ("README", "hi\n")],
    );
    let second = put(vols, &alice, 200, &[("skills/a.md", "two\n")]);
    assert_eq!(vols.head(&alice).unwrap(), Some(second));
    assert_eq!(text(vols, &alice, "skills/a.md", At::Head), "two\n");
    assert_eq!(
        text(vols, &alice, "skills/a.md", At::Commit(first)),
        "one\n"
    );
    assert_eq!(text(vols, &alice, "README", At::Head), "hi\n");
    let info = vols.commit_info(&alice, second).unwrap();
    assert_eq!(info.parents, [first]);
    assert_eq!(info.message, "commit at 200");
    assert_eq!(info.author, sig(200));
    let content = vols.read_file(&alice, &p("skills/a.md"), At::Head).unwrap();
    assert_eq!(content.blob, RawObject::blob(b"two\n".to_vec()).id());
    assert_eq!(content.commit, second);
    assert!(matches!(
        vols.read_file(&alice, &p("skills"), At::Head),
        Err(VolumeError::IsADirectory { .. })
    ));
    assert!(matches!(
        vols.read_file(&alice, &p("skills/b.md"), At::Head),
        Err(VolumeError::FileNotFound { commit: Some(c), .. }) if c == second
    ));
    assert_eq!(vols.list_volumes().unwrap(), vec![alice]);
}

fn lists_files_recursively_and_directly(vols: &Volumes<impl ObjectStore + RefStore>) {
    let team = v("teams/core");
    put(
        vols,
        &team,
        1,
        &[
            ("skills/a.md", "aaaa"),
            ("skills/deep/b.md", "bb"),
            ("top.txt", "t"),
        ],
    );
    let all = vols.list_files(&team, None, At::Head, true).unwrap();
    let paths: Vec<_> = all.iter().map(|e| (e.path.as_str(), e.size)).collect();
    assert_eq!(
        paths,
        [
            ("skills/a.md", Some(4)),
            ("skills/deep/b.md", Some(2)),
            ("top.txt", Some(1))
        ]
    );
    let direct = vols
        .list_files(&team, Some(&p("skills")), At::Head, false)
        .unwrap();
    let kinds: Vec<_> = direct
        .iter()
        .map(|e| (e.path.as_str(), e.kind, e.size))
        .collect();
    assert_eq!(
        kinds,
        [
            ("skills/a.md", EntryKind::File, Some(4)),
            ("skills/deep", EntryKind::Directory, None)
        ]
    );
    assert_eq!(
        direct[0].id,
        RawObject::blob(b"aaaa".to_vec()).id(),
        "listings carry blob ids"
    );
    assert!(
        vols.list_files(&team, Some(&p("nothing/here")), At::Head, true)
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        vols.list_files(&team, Some(&p("top.txt")), At::Head, true),
        Err(VolumeError::NotADirectory { .. })
    ));
}

fn delete_of_missing_file_commits_nothing(vols: &Volumes<impl ObjectStore + RefStore>) {
    let vol = v("users/bob");
    let head = put(vols, &vol, 1, &[("a.md", "a"), ("dir/b.md", "b")]);
    for missing in ["nope.md", "dir/nope.md", "other/x.md"] {
        let err = vols
            .commit(&vol, CommitRequest::new(sig(2), "rm").delete(p(missing)))
            .unwrap_err();
        assert!(
            matches!(&err, VolumeError::FileNotFound { path, .. } if path == missing),
            "{err}"
        );
    }
    // A request with one bad change applies none of its changes.
    let err = vols.commit(
        &vol,
        CommitRequest::new(sig(2), "mixed")
            .put(p("new.md"), "n")
            .delete(p("nope.md")),
    );
    assert!(err.is_err());
    assert_eq!(vols.head(&vol).unwrap(), Some(head));
    // Deleting the last file of a directory removes the directory.
    vols.commit(
        &vol,
        CommitRequest::new(sig(3), "rm b").delete(p("dir/b.md")),
    )
    .unwrap();
    let listing = vols.list_files(&vol, None, At::Head, false).unwrap();
    assert_eq!(listing.len(), 1);
    assert_eq!(listing[0].path, "a.md");
    // Deleting it again reports that it is gone.
    assert!(matches!(
        vols.commit(
            &vol,
            CommitRequest::new(sig(4), "rm b").delete(p("dir/b.md"))
        ),
        Err(VolumeError::FileNotFound { .. })
    ));
}

fn refuses_file_directory_clashes(vols: &Volumes<impl ObjectStore + RefStore>) {
    let vol = v("system");
    put(vols, &vol, 1, &[("a/b.md", "x"), ("f.md", "y")]);
    assert!(matches!(
        vols.commit(&vol, CommitRequest::new(sig(2), "m").put(p("a"), "z")),
        Err(VolumeError::IsADirectory { path, .. }) if path == "a"
    ));
    assert!(matches!(
        vols.commit(&vol, CommitRequest::new(sig(2), "m").put(p("f.md/c"), "z")),
        Err(VolumeError::NotADirectory { path, .. }) if path == "f.md"
    ));
    assert!(matches!(
        vols.commit(&vol, CommitRequest::new(sig(2), "m").delete(p("a"))),
        Err(VolumeError::IsADirectory { .. })
    ));
}

fn refuses_nested_changes_in_one_request(vols: &Volumes<impl ObjectStore + RefStore>) {
    let vol = v("system");
    let err = vols
        .commit(
            &vol,
            CommitRequest::new(sig(1), "m")
                .put(p("a"), "1")
                .put(p("a/b"), "2"),
        )
        .unwrap_err();
    assert!(
        matches!(err, VolumeError::ConflictingChanges { .. }),
        "{err}"
    );
    assert_eq!(vols.head(&vol).unwrap(), None);
}

fn unchanged_tree_adds_no_commit(vols: &Volumes<impl ObjectStore + RefStore>) {
    let vol = v("users/carol");
    let head = put(vols, &vol, 1, &[("a.md", "same")]);
    let outcome = vols
        .commit(
            &vol,
            CommitRequest::new(sig(2), "again").put(p("a.md"), "same"),
        )
        .unwrap();
    assert!(!outcome.created);
    assert_eq!(outcome.commit, head);
    assert_eq!(vols.head(&vol).unwrap(), Some(head));
}

fn commit_on_lands_only_on_the_expected_head(vols: &Volumes<impl ObjectStore + RefStore>) {
    let vol = v("users/erin");
    let request = |t| CommitRequest::new(sig(t), "guarded").put(p("a.md"), format!("{t}"));
    let first = vols.commit_on(&vol, None, request(1)).unwrap().unwrap();
    assert!(first.created && first.parent.is_none());
    // The volume has a head now: a request expecting none lands nothing.
    assert_eq!(vols.commit_on(&vol, None, request(2)).unwrap(), None);
    let second = put(vols, &vol, 3, &[("b.md", "b")]);
    assert_eq!(
        vols.commit_on(&vol, Some(first.commit), request(4))
            .unwrap(),
        None
    );
    assert_eq!(vols.head(&vol).unwrap(), Some(second));
    let third = vols
        .commit_on(&vol, Some(second), request(5))
        .unwrap()
        .unwrap();
    assert_eq!(third.parent, Some(second));
    assert_eq!(text(vols, &vol, "a.md", At::Head), "5");
    let history = vols.history(&vol, &HistoryQuery::volume(10)).unwrap();
    assert_eq!(history.entries.len(), 3, "refused attempts commit nothing");
    let blob = RawObject::blob(b"5".to_vec()).id();
    assert_eq!(
        vols.entry(&vol, &p("a.md"), At::Head).unwrap(),
        Some((EntryKind::File, blob))
    );
    assert_eq!(vols.entry(&vol, &p("a.md/x"), At::Head).unwrap(), None);
    assert_eq!(
        vols.entry(&vol, &p("a.md"), At::Commit(second)).unwrap(),
        Some((EntryKind::File, RawObject::blob(b"1".to_vec()).id()))
    );
    assert_eq!(
        vols.entry(&v("users/nobody"), &p("a.md"), At::Head)
            .unwrap(),
        None
    );
}

fn history_of_volume_pages_newest_first(vols: &Volumes<impl ObjectStore + RefStore>) {
    let vol = v("users/dave");
    let commits: Vec<_> = (1..=5)
        .map(|i| put(vols, &vol, i, &[("f.md", &format!("{i}"))]))
        .collect();
    let page = vols.history(&vol, &HistoryQuery::volume(2)).unwrap();
    let ids: Vec<_> = page.entries.iter().map(|e| e.commit.id).collect();
    assert_eq!(ids, [commits[4], commits[3]]);
    assert_eq!(page.next, Some(commits[2]));
    let rest = vols
        .history(
            &vol,
            &HistoryQuery {
                start: page.next,
                ..HistoryQuery::volume(10)
            },
        )
        .unwrap();
    let ids: Vec<_> = rest.entries.iter().map(|e| e.commit.id).collect();
    assert_eq!(ids, [commits[2], commits[1], commits[0]]);
    assert_eq!(rest.next, None);
}

fn history_of_path_lists_only_its_changes(vols: &Volumes<impl ObjectStore + RefStore>) {
    let vol = v("users/erin");
    let c1 = put(vols, &vol, 1, &[("s/a.md", "a1"), ("s/b.md", "b1")]);
    let _c2 = put(vols, &vol, 2, &[("s/b.md", "b2")]);
    let c3 = put(vols, &vol, 3, &[("s/a.md", "a2")]);
    let _c4 = put(vols, &vol, 4, &[("other.md", "o")]);
    let c5 = vols
        .commit(&vol, CommitRequest::new(sig(5), "rm a").delete(p("s/a.md")))
        .unwrap()
        .commit;
    let c6 = put(vols, &vol, 6, &[("s/a.md", "a1")]);
    let page = vols
        .history(&vol, &HistoryQuery::path(p("s/a.md"), 10))
        .unwrap();
    let got: Vec<_> = page
        .entries
        .iter()
        .map(|e| (e.commit.id, e.entry))
        .collect();
    let blob = |s: &str| Some(RawObject::blob(s.as_bytes().to_vec()).id());
    assert_eq!(
        got,
        [
            (c6, blob("a1")),
            (c5, None),
            (c3, blob("a2")),
            (c1, blob("a1"))
        ]
    );
    assert_eq!(page.next, None);
    // Paged: two at a time, resuming from the cursor.
    let first = vols
        .history(&vol, &HistoryQuery::path(p("s/a.md"), 2))
        .unwrap();
    assert_eq!(first.entries.len(), 2);
    let second = vols
        .history(
            &vol,
            &HistoryQuery {
                start: first.next,
                ..HistoryQuery::path(p("s/a.md"), 2)
            },
        )
        .unwrap();
    let ids: Vec<_> = second.entries.iter().map(|e| e.commit.id).collect();
    assert_eq!(ids, [c3, c1]);
    // A directory's history is every commit that changed something in it.
    let dir = vols.history(&vol, &HistoryQuery::path(p("s"), 10)).unwrap();
    assert_eq!(dir.entries.len(), 5);
}

fn rollback_restores_old_content(vols: &Volumes<impl ObjectStore + RefStore>) {
    let vol = v("users/frank");
    let c1 = put(vols, &vol, 1, &[("a.md", "version 1\n")]);
    put(vols, &vol, 2, &[("a.md", "version 2\n"), ("b.md", "b")]);
    let meta = CommitMeta::new(sig(3), "Roll back a.md");
    let outcome = vols.rollback(&vol, &p("a.md"), c1, &meta).unwrap();
    assert!(outcome.created);
    assert_eq!(text(vols, &vol, "a.md", At::Head), "version 1\n");
    assert_eq!(text(vols, &vol, "b.md", At::Head), "b", "other files stay");
    let again = vols.rollback(&vol, &p("a.md"), c1, &meta).unwrap();
    assert!(!again.created, "already at that content");
    assert!(matches!(
        vols.rollback(&vol, &p("b.md"), c1, &meta),
        Err(VolumeError::FileNotFound { commit: Some(c), .. }) if c == c1
    ));
    let history = vols
        .history(&vol, &HistoryQuery::path(p("a.md"), 10))
        .unwrap();
    assert_eq!(history.entries.len(), 3);
    assert_eq!(history.entries[0].commit.message, "Roll back a.md");
}

fn diff_shows_unified_changes(vols: &Volumes<impl ObjectStore + RefStore>) {
    let vol = v("users/gina");
    let c1 = put(vols, &vol, 1, &[("a.md", "one\ntwo\nthree\n")]);
    let c2 = put(
        vols,
        &vol,
        2,
        &[("a.md", "one\n2\nthree\n"), ("new.md", "n\n")],
    );
    let diff = vols.diff(&vol, &p("a.md"), c1, c2).unwrap();
    assert!(!diff.binary);
    assert_eq!(
        diff.unified,
        "--- a/a.md\n+++ b/a.md\n@@ -1,3 +1,3 @@\n one\n-two\n+2\n three\n"
    );
    let added = vols.diff(&vol, &p("new.md"), c1, c2).unwrap();
    assert_eq!(added.old_blob, None);
    assert_eq!(
        added.unified,
        "--- /dev/null\n+++ b/new.md\n@@ -0,0 +1 @@\n+n\n"
    );
    let same = vols.diff(&vol, &p("a.md"), c2, c2).unwrap();
    assert_eq!(same.unified, "");
    assert!(matches!(
        vols.diff(&vol, &p("none.md"), c1, c2),
        Err(VolumeError::FileNotFound { .. })
    ));
    let c3 = vols
        .commit(
            &vol,
            CommitRequest::new(sig(3), "bin").put(p("a.md"), vec![0xff, 0, 1]),
        )
        .unwrap()
        .commit;
    let binary = vols.diff(&vol, &p("a.md"), c2, c3).unwrap();
    assert!(binary.binary);
    assert_eq!(binary.unified, "Binary files a/a.md and b/a.md differ\n");
}

fn promotion_shares_the_blob_id(vols: &Volumes<impl ObjectStore + RefStore>) {
    let user = v("users/hana");
    let team = v("teams/lab");
    put(vols, &team, 1, &[("skills/existing.md", "e")]);
    put(vols, &user, 2, &[("skills/x.md", "my skill\n")]);
    let meta = CommitMeta::new(sig(3), "Promote x from users/hana");
    let promotion = vols
        .promote(&user, &p("skills/x.md"), &team, None, &meta)
        .unwrap();
    let source = vols.read_file(&user, &p("skills/x.md"), At::Head).unwrap();
    let target = vols.read_file(&team, &p("skills/x.md"), At::Head).unwrap();
    assert_eq!(promotion.blob, source.blob);
    assert_eq!(target.blob, source.blob);
    assert_eq!(target.data, b"my skill\n");
    assert_eq!(promotion.outcome.commit, vols.head(&team).unwrap().unwrap());
    assert_eq!(
        vols.commit_info(&team, promotion.outcome.commit)
            .unwrap()
            .message,
        "Promote x from users/hana"
    );
    assert_eq!(text(vols, &team, "skills/existing.md", At::Head), "e");
    // To another path, into an empty volume.
    let system = v("system");
    vols.promote(
        &team,
        &p("skills/x.md"),
        &system,
        Some(&p("shared/x.md")),
        &meta,
    )
    .unwrap();
    assert_eq!(
        vols.read_file(&system, &p("shared/x.md"), At::Head)
            .unwrap()
            .blob,
        source.blob
    );
    assert!(matches!(
        vols.promote(&user, &p("skills/none.md"), &team, None, &meta),
        Err(VolumeError::FileNotFound { .. })
    ));
}

fn foreign_commits_and_blobs_are_refused(vols: &Volumes<impl ObjectStore + RefStore>) {
    let alice = v("users/alice");
    let bob = v("users/bob");
    put(vols, &alice, 1, &[("a.md", "alice's")]);
    let bobs = put(vols, &bob, 2, &[("secret.md", "bob's secret")]);
    assert!(matches!(
        vols.read_file(&alice, &p("secret.md"), At::Commit(bobs)),
        Err(VolumeError::CommitNotFound { .. })
    ));
    assert!(matches!(
        vols.rollback(
            &alice,
            &p("secret.md"),
            bobs,
            &CommitMeta::new(sig(3), "steal")
        ),
        Err(VolumeError::CommitNotFound { .. })
    ));
    let secret_blob = RawObject::blob(b"bob's secret".to_vec()).id();
    assert!(matches!(
        vols.commit(
            &alice,
            CommitRequest::new(sig(3), "steal").put_blob(p("x.md"), secret_blob)
        ),
        Err(VolumeError::BlobNotInVolume { .. })
    ));
    // A blob of one's own volume may be reused by id.
    let own = RawObject::blob(b"alice's".to_vec()).id();
    vols.commit(
        &alice,
        CommitRequest::new(sig(3), "copy").put_blob(p("b.md"), own),
    )
    .unwrap();
    assert_eq!(text(vols, &alice, "b.md", At::Head), "alice's");
    // A blob id is not a commit.
    assert!(matches!(
        vols.history(
            &alice,
            &HistoryQuery {
                start: Some(own),
                ..HistoryQuery::volume(1)
            }
        ),
        Err(VolumeError::CommitNotFound { .. })
    ));
}

fn stats_count_files_and_commits(vols: &Volumes<impl ObjectStore + RefStore>) {
    let vol = v("teams/ops");
    put(
        vols,
        &vol,
        1,
        &[("skills/a.md", "a"), ("workflows/w.json", "{}")],
    );
    put(vols, &vol, 2, &[("skills/b.md", "b")]);
    let last = put(vols, &vol, 3, &[("skills/sub/c.md", "c")]);
    let stats = vols.stats(&vol, Some(&p("skills"))).unwrap();
    assert_eq!(stats.files, 3);
    assert_eq!(stats.commits, 3);
    assert_eq!(stats.last_commit.unwrap().id, last);
    assert_eq!(vols.stats(&vol, None).unwrap().files, 4);
}

fn empty_volume_reads_as_empty(vols: &Volumes<impl ObjectStore + RefStore>) {
    let vol = v("users/nobody");
    assert_eq!(vols.head(&vol).unwrap(), None);
    assert!(
        vols.list_files(&vol, None, At::Head, true)
            .unwrap()
            .is_empty()
    );
    let history = vols.history(&vol, &HistoryQuery::volume(10)).unwrap();
    assert!(history.entries.is_empty());
    let stats = vols.stats(&vol, None).unwrap();
    assert_eq!((stats.files, stats.commits), (0, 0));
    assert!(matches!(
        vols.read_file(&vol, &p("a.md"), At::Head),
        Err(VolumeError::FileNotFound { commit: None, .. })
    ));
    assert!(vols.list_volumes().unwrap().is_empty());
}

fn history_crosses_batch_boundaries(vols: &Volumes<impl ObjectStore + RefStore>) {
    let vol = v("users/long");
    let mut touching = Vec::new();
    for i in 0..(3 * CHAIN_BATCH as i64 + 5) {
        let mut request =
            CommitRequest::new(sig(i), format!("{i}")).put(p("noise.md"), format!("{i}"));
        if i % 7 == 0 {
            request = request.put(p("dir/tracked.md"), format!("v{i}"));
        }
        let id = vols.commit(&vol, request).unwrap().commit;
        if i % 7 == 0 {
            touching.push(id);
        }
    }
    touching.reverse();
    // Paged by 5 across several chain batches, the path history is exactly
    // the commits that touched it.
    let mut seen = Vec::new();
    let mut start = None;
    loop {
        let page = vols
            .history(
                &vol,
                &HistoryQuery {
                    start,
                    ..HistoryQuery::path(p("dir/tracked.md"), 5)
                },
            )
            .unwrap();
        assert!(page.entries.len() <= 5);
        seen.extend(page.entries.iter().map(|e| e.commit.id));
        match page.next {
            Some(next) => start = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, touching);
    let all = vols.history(&vol, &HistoryQuery::volume(1000)).unwrap();
    assert_eq!(all.entries.len(), 3 * CHAIN_BATCH + 5);
    assert_eq!(
        vols.stats(&vol, None).unwrap().commits,
        3 * CHAIN_BATCH as u64 + 5
    );
}

fn reflog_records_each_commit(vols: &Volumes<impl ObjectStore + RefStore>) {
    let vol = v("users/ivy");
    let c1 = put(vols, &vol, 10, &[("a", "1")]);
    let c2 = put(vols, &vol, 20, &[("a", "2")]);
    let log = vols.store().reflog(&vol, 10).unwrap();
    let got: Vec<_> = log
        .iter()
        .map(|e| (e.old, e.new, e.at, e.message.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (Some(c1), c2, 20, "commit: commit at 20"),
            (None, c1, 10, "commit (initial): commit at 10")
        ]
    );
}

/// The other writer in a race: runs once, just before the first ref swap,
/// so that swap finds the head moved.
type Interloper = Box<dyn FnOnce(&Volumes<MemoryStore>, &VolumeId) + Send>;

/// A store whose first ref swap loses to another writer's commit, made by
/// `interloper` on the same underlying store at that moment.
struct Racing {
    inner: MemoryStore,
    interloper: Mutex<Option<Interloper>>,
}

impl Racing {
    fn new(
        inner: MemoryStore,
        interloper: impl FnOnce(&Volumes<MemoryStore>, &VolumeId) + Send + 'static,
    ) -> Self {
        Self {
            inner,
            interloper: Mutex::new(Some(Box::new(interloper))),
        }
    }
}

impl ObjectStore for Racing {
    fn read_object(&self, id: &ObjectId) -> Result<Option<RawObject>, StoreError> {
        self.inner.read_object(id)
    }
    fn object_headers(
        &self,
        ids: &[ObjectId],
    ) -> Result<Vec<Option<(ObjectKind, u64)>>, StoreError> {
        self.inner.object_headers(ids)
    }
    fn write_objects(&self, volume: &VolumeId, objects: &[RawObject]) -> Result<(), StoreError> {
        self.inner.write_objects(volume, objects)
    }
    fn add_to_volume(&self, volume: &VolumeId, ids: &[ObjectId]) -> Result<(), StoreError> {
        self.inner.add_to_volume(volume, ids)
    }
    fn in_volume(&self, volume: &VolumeId, id: &ObjectId) -> Result<bool, StoreError> {
        self.inner.in_volume(volume, id)
    }
    fn scan_objects(
        &self,
        after: Option<&ObjectId>,
        limit: usize,
    ) -> Result<Vec<RawObject>, StoreError> {
        self.inner.scan_objects(after, limit)
    }
}

impl RefStore for Racing {
    fn read_ref(&self, volume: &VolumeId, name: &RefName) -> Result<Option<ObjectId>, StoreError> {
        self.inner.read_ref(volume, name)
    }
    fn compare_and_swap_ref(&self, update: &RefUpdate<'_>) -> Result<bool, StoreError> {
        let interloper = self.interloper.lock().unwrap().take();
        if let Some(interloper) = interloper {
            interloper(&Volumes::new(self.inner.clone()), update.volume);
        }
        self.inner.compare_and_swap_ref(update)
    }
    fn list_refs(&self, volume: &VolumeId) -> Result<Vec<(RefName, ObjectId)>, StoreError> {
        self.inner.list_refs(volume)
    }
    fn list_volumes(&self) -> Result<Vec<VolumeId>, StoreError> {
        self.inner.list_volumes()
    }
    fn reflog(
        &self,
        volume: &VolumeId,
        limit: usize,
    ) -> Result<Vec<crate::store::RefLogEntry>, StoreError> {
        self.inner.reflog(volume, limit)
    }
}

fn racing_volumes(
    setup: impl FnOnce(&Volumes<MemoryStore>),
    interloper: impl FnOnce(&Volumes<MemoryStore>, &VolumeId) + Send + 'static,
) -> Volumes<Racing> {
    let inner = MemoryStore::new();
    setup(&Volumes::new(inner.clone()));
    Volumes::new(Racing::new(inner, interloper)).with_retry(RetryPolicy {
        max_attempts: 3,
        pause: RetryPolicy::no_pause,
    })
}

#[test]
fn commits_retry_on_a_moved_head() {
    let vols = racing_volumes(
        |_| {},
        |other, volume| {
            other
                .commit(
                    volume,
                    CommitRequest::new(sig(50), "other").put(p("other.md"), "o"),
                )
                .unwrap();
        },
    );
    let vol = v("users/racer");
    let outcome = vols
        .commit(
            &vol,
            CommitRequest::new(sig(60), "mine").put(p("mine.md"), "m"),
        )
        .unwrap();
    assert_eq!(outcome.attempts, 2);
    let history = vols.history(&vol, &HistoryQuery::volume(10)).unwrap();
    let messages: Vec<_> = history
        .entries
        .iter()
        .map(|e| e.commit.message.as_str())
        .collect();
    assert_eq!(messages, ["mine", "other"]);
    assert_eq!(text(&vols, &vol, "other.md", At::Head), "o");
    assert_eq!(text(&vols, &vol, "mine.md", At::Head), "m");
}

#[test]
fn losing_a_race_to_a_delete_of_the_same_file_reports_not_found() {
    let vol = v("users/racer");
    let setup_vol = vol.clone();
    let vols = racing_volumes(
        move |vols| {
            vols.commit(
                &setup_vol,
                CommitRequest::new(sig(1), "add").put(p("a.md"), "a"),
            )
            .unwrap();
        },
        |other, volume| {
            other
                .commit(
                    volume,
                    CommitRequest::new(sig(2), "theirs").delete(p("a.md")),
                )
                .unwrap();
        },
    );
    let err = vols
        .commit(&vol, CommitRequest::new(sig(3), "mine").delete(p("a.md")))
        .unwrap_err();
    assert!(
        matches!(&err, VolumeError::FileNotFound { path, commit: None, .. } if path == "a.md"),
        "{err}"
    );
    let history = vols.history(&vol, &HistoryQuery::volume(10)).unwrap();
    assert_eq!(history.entries[0].commit.message, "theirs");
    assert_eq!(history.entries.len(), 2);
}

#[test]
fn losing_a_race_to_a_write_of_the_same_file_lands_on_top() {
    let vol = v("users/racer");
    let vols = racing_volumes(
        |_| {},
        |other, volume| {
            other
                .commit(
                    volume,
                    CommitRequest::new(sig(2), "theirs").put(p("a.md"), "theirs"),
                )
                .unwrap();
        },
    );
    vols.commit(
        &vol,
        CommitRequest::new(sig(3), "mine").put(p("a.md"), "mine"),
    )
    .unwrap();
    assert_eq!(text(&vols, &vol, "a.md", At::Head), "mine");
    let history = vols
        .history(&vol, &HistoryQuery::path(p("a.md"), 10))
        .unwrap();
    assert_eq!(history.entries.len(), 2, "both versions stay in history");
}

#[test]
fn gives_up_after_the_attempt_bound() {
    struct AlwaysLoses(MemoryStore);
    impl ObjectStore for AlwaysLoses {
        fn read_object(&self, id: &ObjectId) -> Result<Option<RawObject>, StoreError> {
            self.0.read_object(id)
        }
        fn object_headers(
            &self,
            ids: &[ObjectId],
        ) -> Result<Vec<Option<(ObjectKind, u64)>>, StoreError> {
            self.0.object_headers(ids)
        }
        fn write_objects(
            &self,
            volume: &VolumeId,
            objects: &[RawObject],
        ) -> Result<(), StoreError> {
            self.0.write_objects(volume, objects)
        }
        fn add_to_volume(&self, volume: &VolumeId, ids: &[ObjectId]) -> Result<(), StoreError> {
            self.0.add_to_volume(volume, ids)
        }
        fn in_volume(&self, volume: &VolumeId, id: &ObjectId) -> Result<bool, StoreError> {
            self.0.in_volume(volume, id)
        }
        fn scan_objects(
            &self,
            after: Option<&ObjectId>,
            limit: usize,
        ) -> Result<Vec<RawObject>, StoreError> {
            self.0.scan_objects(after, limit)
        }
    }
    impl RefStore for AlwaysLoses {
        fn read_ref(
            &self,
            volume: &VolumeId,
            name: &RefName,
        ) -> Result<Option<ObjectId>, StoreError> {
            self.0.read_ref(volume, name)
        }
        fn compare_and_swap_ref(&self, _update: &RefUpdate<'_>) -> Result<bool, StoreError> {
            Ok(false)
        }
        fn list_refs(&self, volume: &VolumeId) -> Result<Vec<(RefName, ObjectId)>, StoreError> {
            self.0.list_refs(volume)
        }
        fn list_volumes(&self) -> Result<Vec<VolumeId>, StoreError> {
            self.0.list_volumes()
        }
        fn reflog(
            &self,
            volume: &VolumeId,
            limit: usize,
        ) -> Result<Vec<crate::store::RefLogEntry>, StoreError> {
            self.0.reflog(volume, limit)
        }
    }
    let vols = Volumes::new(AlwaysLoses(MemoryStore::new())).with_retry(RetryPolicy {
        max_attempts: 4,
        pause: RetryPolicy::no_pause,
    });
    let err = vols
        .commit(
            &v("system"),
            CommitRequest::new(sig(1), "m").put(p("a"), "a"),
        )
        .unwrap_err();
    assert!(
        matches!(err, VolumeError::Contention { attempts: 4, .. }),
        "{err}"
    );
}

#[test]
fn refuses_invalid_signatures_before_writing() {
    let vols = Volumes::new(MemoryStore::new());
    let bad = Signature::new("A <b>", "a@b", GitTime::utc(0));
    let err = vols
        .commit(&v("system"), CommitRequest::new(bad, "m").put(p("a"), "a"))
        .unwrap_err();
    assert!(matches!(err, VolumeError::Object { .. }), "{err}");
    assert_eq!(vols.head(&v("system")).unwrap(), None);
}

fn history_of_a_file_and_its_companion_lists_changes_of_either(
    vols: &Volumes<impl ObjectStore + RefStore>,
) {
    let vol = v("users/iris");
    let c1 = put(vols, &vol, 1, &[("skills/x.md", "v1")]);
    let c2 = put(vols, &vol, 2, &[("skills/x.wasm", "component 1")]);
    put(vols, &vol, 3, &[("skills/other.md", "unrelated")]);
    let c4 = put(
        vols,
        &vol,
        4,
        &[("skills/x.md", "v2"), ("skills/x.wasm", "2")],
    );
    let c5 = vols
        .commit(
            &vol,
            CommitRequest::new(sig(5), "drop the component").delete(p("skills/x.wasm")),
        )
        .unwrap()
        .commit;
    let pair = [p("skills/x.md"), p("skills/x.wasm")];
    let page = vols.history_of(&vol, &pair, None, 10).unwrap();
    let ids: Vec<_> = page.entries.iter().map(|e| e.commit.id).collect();
    assert_eq!(ids, [c5, c4, c2, c1]);
    // The entry is the first path's: the skill file stayed at v2 in c5.
    let v2 = vols
        .read_file(&vol, &p("skills/x.md"), At::Head)
        .unwrap()
        .blob;
    assert_eq!(page.entries[0].entry, Some(v2));
    // Pages continue where the last one stopped.
    let first = vols.history_of(&vol, &pair, None, 2).unwrap();
    assert_eq!(first.entries.len(), 2);
    let rest = vols.history_of(&vol, &pair, first.next, 10).unwrap();
    let ids: Vec<_> = rest.entries.iter().map(|e| e.commit.id).collect();
    assert_eq!(ids, [c2, c1]);
    // One path alone is the ordinary path history.
    let md_only = vols.history_of(&vol, &pair[..1], None, 10).unwrap();
    let ids: Vec<_> = md_only.entries.iter().map(|e| e.commit.id).collect();
    assert_eq!(ids, [c4, c1]);
}

fn rollback_of_files_restores_and_removes_companions(vols: &Volumes<impl ObjectStore + RefStore>) {
    let vol = v("users/jade");
    let md = p("skills/x.md");
    let wasm = p("skills/x.wasm");
    let c1 = put(vols, &vol, 1, &[("skills/x.md", "v1")]);
    let c2 = put(
        vols,
        &vol,
        2,
        &[("skills/x.md", "v2"), ("skills/x.wasm", "built v2")],
    );
    let meta = CommitMeta::new(sig(3), "Roll back skill x");
    let back = vols
        .rollback_files(&vol, &md, std::slice::from_ref(&wasm), c1, &meta)
        .unwrap();
    assert!(back.created);
    assert_eq!(text(vols, &vol, "skills/x.md", At::Head), "v1");
    assert_eq!(
        vols.entry(&vol, &wasm, At::Head).unwrap(),
        None,
        "there was no component at c1"
    );
    // Forward again: both come back, in one commit.
    let forward = vols
        .rollback_files(&vol, &md, std::slice::from_ref(&wasm), c2, &meta)
        .unwrap();
    assert_eq!(
        vols.commit_info(&vol, forward.commit).unwrap().parents,
        [back.commit]
    );
    assert_eq!(text(vols, &vol, "skills/x.wasm", At::Head), "built v2");
    assert_eq!(text(vols, &vol, "skills/x.md", At::Head), "v2");
    let again = vols
        .rollback_files(&vol, &md, std::slice::from_ref(&wasm), c2, &meta)
        .unwrap();
    assert!(!again.created, "already as at c2");
    // The skill file itself must have existed then.
    let c4 = vols
        .commit(
            &vol,
            CommitRequest::new(sig(4), "rm")
                .delete(md.clone())
                .delete(wasm.clone()),
        )
        .unwrap()
        .commit;
    let head = vols.head(&vol).unwrap();
    assert!(matches!(
        vols.rollback_files(&vol, &md, std::slice::from_ref(&wasm), c4, &meta),
        Err(VolumeError::FileNotFound { commit: Some(c), .. }) if c == c4
    ));
    assert_eq!(vols.head(&vol).unwrap(), head, "nothing committed");
}

fn promotion_of_files_mirrors_the_source_set(vols: &Volumes<impl ObjectStore + RefStore>) {
    let user = v("users/kim");
    let team = v("teams/kims");
    let md = p("skills/x.md");
    let wasm = p("skills/x.wasm");
    put(
        vols,
        &user,
        1,
        &[("skills/x.md", "v1"), ("skills/x.wasm", "built v1")],
    );
    let meta = CommitMeta::new(sig(2), "Promote skill x");
    let promotion = vols
        .promote_files(&user, &md, std::slice::from_ref(&wasm), &team, &meta)
        .unwrap();
    for path in [&md, &wasm] {
        let source = vols.entry(&user, path, At::Head).unwrap();
        assert_eq!(vols.entry(&team, path, At::Head).unwrap(), source, "{path}");
    }
    assert_eq!(
        Some((EntryKind::File, promotion.blob)),
        vols.entry(&user, &md, At::Head).unwrap()
    );
    // The source drops its component: promoting again drops the team's.
    vols.commit(
        &user,
        CommitRequest::new(sig(3), "rebuild later")
            .put(md.clone(), b"v2".to_vec())
            .delete(wasm.clone()),
    )
    .unwrap();
    vols.promote_files(&user, &md, std::slice::from_ref(&wasm), &team, &meta)
        .unwrap();
    assert_eq!(text(vols, &team, "skills/x.md", At::Head), "v2");
    assert_eq!(vols.entry(&team, &wasm, At::Head).unwrap(), None);
    assert!(matches!(
        vols.promote_files(&user, &p("skills/none.md"), &[], &team, &meta),
        Err(VolumeError::FileNotFound { .. })
    ));
}

fn large_blobs_round_trip(vols: &Volumes<impl ObjectStore + RefStore>) {
    // Components are megabytes (a componentize-py one about 20 MB, which
    // the end-to-end tests store; this unoptimised build hashes slowly).
    let vol = v("users/lee");
    let big: Vec<u8> = (0..2u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let outcome = vols
        .commit(
            &vol,
            CommitRequest::new(sig(1), "big").put(p("skills/x.wasm"), big.clone()),
        )
        .unwrap();
    let file = vols.read_file(&vol, &p("skills/x.wasm"), At::Head).unwrap();
    assert_eq!(file.commit, outcome.commit);
    assert_eq!(file.blob, RawObject::blob(big.clone()).id());
    assert!(file.data == big, "the bytes come back unchanged");
    let listed = vols.list_files(&vol, None, At::Head, true).unwrap();
    assert_eq!(listed[0].size, Some(big.len() as u64));
}
