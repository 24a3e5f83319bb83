//! The store's objects and exported volumes, checked by the real `git`.

mod common;

use common::{git, git_env_output, git_stdin, p, sig, v, write_bare};
use llmos_store::export::reachable_objects;
use llmos_store::object::{EntryKind, Tree};
use llmos_store::{
    At, CommitMeta, CommitRequest, ObjectKind, ObjectStore, RawObject, RusqliteExecutor, SqlStore,
    Volumes,
};

#[test]
fn blob_ids_match_git_hash_object() {
    let dir = tempfile::tempdir().unwrap();
    let mut big = Vec::new();
    for i in 0..20_000u32 {
        big.extend_from_slice(&i.to_le_bytes());
    }
    for content in [
        b"".to_vec(),
        b"hello\n".to_vec(),
        b"no trailing newline".to_vec(),
        vec![0u8, 1, 2, 255, 254, b'\n', 0],
        "ünïcödé ✓\n".as_bytes().to_vec(),
        big,
    ] {
        let expected = git_stdin(dir.path(), &["hash-object", "--stdin"], Some(&content));
        assert_eq!(
            RawObject::blob(content.clone()).id().to_string(),
            expected.trim(),
            "content of {} bytes",
            content.len()
        );
    }
}

#[test]
fn tree_ids_match_git_mktree() {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "--bare", "."]);
    let blob = RawObject::blob(b"x\n".to_vec()).id();
    let sub = {
        let mut t = Tree::empty();
        t.insert("inner.md", EntryKind::File, blob);
        t.encode().unwrap().id()
    };
    let mut tree = Tree::empty();
    // Names chosen so git's order (directories compare as `name/`) differs
    // from plain byte order: `a` as a directory sorts after `a-b` and `a.txt`.
    tree.insert("a", EntryKind::Directory, sub);
    tree.insert("a.txt", EntryKind::File, blob);
    tree.insert("a-b", EntryKind::File, blob);
    tree.insert("b", EntryKind::File, blob);
    tree.insert("Z", EntryKind::File, blob);
    let listing = format!(
        "040000 tree {sub}\ta\n100644 blob {blob}\ta.txt\n100644 blob {blob}\ta-b\n\
         100644 blob {blob}\tb\n100644 blob {blob}\tZ\n"
    );
    let expected = git_stdin(
        dir.path(),
        &["mktree", "--missing"],
        Some(listing.as_bytes()),
    );
    assert_eq!(tree.encode().unwrap().id().to_string(), expected.trim());
    let empty = git_stdin(dir.path(), &["mktree"], Some(b""));
    assert_eq!(empty.trim(), "4b825dc642cb6eb9a060e54bf8d69288fbee4904");
    assert_eq!(
        Tree::empty().encode().unwrap().id().to_string(),
        empty.trim()
    );
}

#[test]
fn exported_volume_passes_git_fsck_strict_and_reads_in_git_log() {
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("store.db");
    let vols = Volumes::new(SqlStore::open(RusqliteExecutor::open(&db).unwrap()).unwrap());
    let alice = v("users/alice");
    let team = v("teams/core");
    let mut commits = Vec::new();
    let mut commit = |t: i64, request: CommitRequest| {
        let outcome = vols.commit(&alice, request).unwrap();
        assert!(outcome.created, "commit at {t}");
        commits.push(outcome.commit);
    };
    commit(
        1_700_000_000,
        CommitRequest::new(sig(1_700_000_000), "Add first skills")
            .put(p("skills/a.md"), "# A\n\nfirst\n")
            .put(p("skills/deep/nested/b.md"), "b\n")
            .put(p("empty.txt"), "")
            .put(p("bin/data.bin"), vec![0u8, 159, 146, 150, 0, 10]),
    );
    commit(
        1_700_000_100,
        CommitRequest::new(sig(1_700_000_100), "Edit a, add ünïcode\n\nWith a body.")
            .put(p("skills/a.md"), "# A\n\nsecond\n")
            .put(p("skills/ünïcode name.md"), "u\n"),
    );
    commit(
        1_700_000_200,
        CommitRequest::new(sig(1_700_000_200), "Remove b").delete(p("skills/deep/nested/b.md")),
    );
    let first = commits[0];
    let rollback = vols
        .rollback(
            &alice,
            &p("skills/a.md"),
            first,
            &CommitMeta::new(sig(1_700_000_300), "Roll back a"),
        )
        .unwrap();
    commits.push(rollback.commit);
    vols.commit(
        &team,
        CommitRequest::new(sig(1_700_000_350), "Team start").put(p("README.md"), "team\n"),
    )
    .unwrap();
    let promoted = vols
        .promote(
            &alice,
            &p("skills/a.md"),
            &team,
            None,
            &CommitMeta::new(sig(1_700_000_400), "Promote a"),
        )
        .unwrap();

    for (volume, expected_messages) in [
        (
            &alice,
            vec![
                "Roll back a",
                "Remove b",
                "Edit a, add ünïcode",
                "Add first skills",
            ],
        ),
        (&team, vec!["Promote a", "Team start"]),
    ] {
        let repo = work.path().join(volume.to_string().replace('/', "-"));
        std::fs::create_dir_all(&repo).unwrap();
        write_bare(vols.store(), volume, &repo);
        git(&repo, &["fsck", "--strict", "--no-dangling", "--full"]);
        let log = git(&repo, &["log", "--format=%s"]);
        assert_eq!(log.lines().collect::<Vec<_>>(), expected_messages);
        let head = vols.head(volume).unwrap().unwrap();
        assert_eq!(git(&repo, &["rev-parse", "HEAD"]).trim(), head.to_string());
        // `git ls-tree` sees exactly the files the store lists.
        let ls = git(
            &repo,
            &[
                "-c",
                "core.quotePath=false",
                "ls-tree",
                "-r",
                "-z",
                "--format=%(objectname) %(path)",
                "HEAD",
            ],
        );
        let from_git: Vec<String> = ls
            .split('\0')
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        let from_store: Vec<String> = vols
            .list_files(volume, None, At::Head, true)
            .unwrap()
            .into_iter()
            .map(|e| format!("{} {}", e.id, e.path))
            .collect();
        assert_eq!(from_git, from_store);
    }

    let alice_repo = work.path().join("users-alice");
    assert_eq!(
        git(&alice_repo, &["cat-file", "-p", "HEAD:skills/a.md"]),
        "# A\n\nfirst\n"
    );
    assert_eq!(
        git(
            &alice_repo,
            &[
                "log",
                "-1",
                "--format=%an <%ae> %at %ai",
                &commits[1].to_string()
            ]
        )
        .trim(),
        "Test Author <author@example.com> 1700000100 2023-11-15 00:15:00 +0200"
    );
    assert_eq!(
        git(
            &alice_repo,
            &["log", "-1", "--format=%B", &commits[1].to_string()]
        ),
        "Edit a, add ünïcode\n\nWith a body.\n\n"
    );
    // Path history agrees with `git log -- path`.
    let git_history = git(&alice_repo, &["log", "--format=%H", "--", "skills/a.md"]);
    let store_history: Vec<String> = vols
        .history(
            &alice,
            &llmos_store::HistoryQuery::path(p("skills/a.md"), 10),
        )
        .unwrap()
        .entries
        .iter()
        .map(|e| e.commit.id.to_string())
        .collect();
    assert_eq!(git_history.lines().collect::<Vec<_>>(), store_history);
    // The promoted file is the very same blob in both repositories.
    let team_repo = work.path().join("teams-core");
    assert_eq!(
        git(&team_repo, &["rev-parse", "HEAD:skills/a.md"]).trim(),
        promoted.blob.to_string()
    );
}

#[test]
fn commit_ids_match_git_commit_tree() {
    let work = tempfile::tempdir().unwrap();
    let vols = Volumes::new(llmos_store::MemoryStore::new());
    let vol = v("system");
    let first = vols
        .commit(
            &vol,
            CommitRequest::new(sig(1_600_000_000), "Initial").put(p("a.md"), "a\n"),
        )
        .unwrap()
        .commit;
    let second = vols
        .commit(
            &vol,
            CommitRequest::new(sig(1_600_000_500), "Second")
                .committer(llmos_store::Signature::new(
                    "Committer",
                    "c@example.com",
                    llmos_store::GitTime::new(1_600_000_600, -330),
                ))
                .put(p("a.md"), "b\n"),
        )
        .unwrap()
        .commit;
    let repo = work.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    write_bare(vols.store(), &vol, &repo);
    let info = vols.commit_info(&vol, second).unwrap();
    let tree = info.tree.to_string();
    let parent = first.to_string();
    let out = git_env_output(
        &repo,
        &["commit-tree", &tree, "-p", &parent, "-m", "Second"],
        None,
        &[
            ("GIT_AUTHOR_NAME", "Test Author"),
            ("GIT_AUTHOR_EMAIL", "author@example.com"),
            ("GIT_AUTHOR_DATE", "@1600000500 +0200"),
            ("GIT_COMMITTER_NAME", "Committer"),
            ("GIT_COMMITTER_EMAIL", "c@example.com"),
            ("GIT_COMMITTER_DATE", "@1600000600 -0530"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        second.to_string()
    );
    // And git reads back every object the store exported, byte for byte.
    for object in reachable_objects(vols.store(), &vol).unwrap() {
        let object = object.unwrap();
        let kind = String::from_utf8_lossy(object.kind().as_bytes()).into_owned();
        let out = common::git_output(&repo, &["cat-file", &kind, &object.id().to_string()], None);
        assert!(out.status.success());
        assert_eq!(out.stdout, object.data(), "{} {}", kind, object.id());
    }
    assert_eq!(
        ObjectKind::Commit,
        vols.store().read_object(&second).unwrap().unwrap().kind()
    );
}
