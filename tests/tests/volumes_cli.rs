//! `llmos volumes export|import|fsck` on a data directory, checked with
//! real git: exported repositories pass `git fsck --strict`, keep the
//! store's object ids, and clone and log like any repository.
//!
//! Build first: `cargo build --release -p llmos-host`.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use llmos_tests::{llmos_binary, workspace_root};

fn llmos(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(llmos_binary())
        .arg("volumes")
        .args(args)
        .arg("--from")
        .arg(workspace_root().join("spin.toml"))
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .expect("llmos runs")
}

fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "llmos failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const CONTEXT_SKILL: &str = "---\nname: Commit messages\ncategory: git\nkeywords: [git, commits]\ndescription: How to write commit messages.\n---\n# Commit messages\n\nImperative subject, body says why.\n";

const AGENT_SKILL: &str = "---\nname: pdf-tools\ndescription: Work with PDF files.\n---\n# PDF tools\n\nSee scripts/extract.py.\n";

#[test]
fn imported_skill_folders_export_as_repositories_git_accepts() {
    let data = tempfile::tempdir().unwrap();
    let skills = tempfile::tempdir().unwrap();
    std::fs::write(skills.path().join("commit-messages.md"), CONTEXT_SKILL).unwrap();
    std::fs::create_dir_all(skills.path().join("pdf-tools/scripts")).unwrap();
    std::fs::write(skills.path().join("pdf-tools/SKILL.md"), AGENT_SKILL).unwrap();
    std::fs::write(
        skills.path().join("pdf-tools/scripts/extract.py"),
        "print('text')\n",
    )
    .unwrap();
    std::fs::write(skills.path().join("notes.txt"), "not a skill\n").unwrap();

    let out = ok(llmos(
        data.path(),
        &[
            "import",
            skills.path().to_str().unwrap(),
            "--volume",
            "users/alice",
        ],
    ));
    assert!(out.contains("imported 3 file(s) into users/alice"), "{out}");
    // Importing the same files again changes nothing.
    let out = ok(llmos(
        data.path(),
        &[
            "import",
            skills.path().to_str().unwrap(),
            "--volume",
            "users/alice",
        ],
    ));
    assert!(out.contains("nothing to commit"), "{out}");
    assert!(ok(llmos(data.path(), &["fsck"])).contains("fsck: ok"));

    let export = tempfile::tempdir().unwrap();
    ok(llmos(
        data.path(),
        &["export", export.path().to_str().unwrap()],
    ));
    let repo = export.path().join("users/alice.git");
    git(&repo, &["fsck", "--strict", "--full"]);
    let log = git(&repo, &["log", "--format=%s"]);
    assert_eq!(log.lines().count(), 1, "{log}");
    let files = git(&repo, &["ls-tree", "-r", "--name-only", "HEAD"]);
    assert_eq!(
        files.lines().collect::<Vec<_>>(),
        [
            "skills/commit-messages.md",
            "skills/pdf-tools/SKILL.md",
            "skills/pdf-tools/scripts/extract.py"
        ]
    );
    assert_eq!(
        git(&repo, &["show", "HEAD:skills/commit-messages.md"]),
        CONTEXT_SKILL
    );

    // A clone of the export is an ordinary working copy.
    let clone = tempfile::tempdir().unwrap();
    let work = clone.path().join("alice");
    git(
        clone.path(),
        &[
            "clone",
            "-q",
            repo.to_str().unwrap(),
            work.to_str().unwrap(),
        ],
    );
    assert_eq!(
        std::fs::read_to_string(work.join("skills/pdf-tools/SKILL.md")).unwrap(),
        AGENT_SKILL
    );
}

#[test]
fn repositories_import_with_their_object_ids() {
    let data = tempfile::tempdir().unwrap();
    let source = tempfile::tempdir().unwrap();
    let src = source.path();
    git(src, &["init", "-q", "-b", "main"]);
    std::fs::create_dir_all(src.join("skills")).unwrap();
    std::fs::write(src.join("skills/commit-messages.md"), CONTEXT_SKILL).unwrap();
    git(src, &["add", "."]);
    git(src, &["commit", "-q", "-m", "First skill"]);
    std::fs::write(src.join("README.md"), "# Team skills\n").unwrap();
    git(src, &["add", "."]);
    git(src, &["commit", "-q", "-m", "Describe the volume"]);
    let head = git(src, &["rev-parse", "HEAD"]).trim().to_owned();

    let out = ok(llmos(
        data.path(),
        &["import", src.to_str().unwrap(), "--volume", "teams/core"],
    ));
    assert!(out.contains(&head), "{out}");
    // A repository only goes into an empty volume.
    let again = llmos(
        data.path(),
        &["import", src.to_str().unwrap(), "--volume", "teams/core"],
    );
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already has history"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    let export = tempfile::tempdir().unwrap();
    ok(llmos(
        data.path(),
        &[
            "export",
            export.path().to_str().unwrap(),
            "--volume",
            "teams/core",
        ],
    ));
    let repo = export.path().join("teams/core.git");
    git(&repo, &["fsck", "--strict", "--full"]);
    assert_eq!(git(&repo, &["rev-parse", "HEAD"]).trim(), head);
    assert_eq!(
        git(&repo, &["log", "--format=%s"]),
        "Describe the volume\nFirst skill\n"
    );
}

#[test]
fn bad_skill_folders_are_refused_with_file_line_and_field_and_change_nothing() {
    let data = tempfile::tempdir().unwrap();
    let skills = tempfile::tempdir().unwrap();
    std::fs::write(skills.path().join("good.md"), CONTEXT_SKILL).unwrap();
    std::fs::write(
        skills.path().join("broken.md"),
        "---\nskill_id: broken\nname: Broken\ncategory: x\ndescription: d\ntype: ruby\n---\nbody\n",
    )
    .unwrap();
    let out = llmos(
        data.path(),
        &[
            "import",
            skills.path().to_str().unwrap(),
            "--volume",
            "users/alice",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.md"), "{err}");
    assert!(err.contains(":6:"), "{err}");
    assert!(err.contains("`type`"), "{err}");

    let bad_volume = llmos(
        data.path(),
        &[
            "import",
            skills.path().to_str().unwrap(),
            "--volume",
            "users/../x",
        ],
    );
    assert!(!bad_volume.status.success());
    assert!(String::from_utf8_lossy(&bad_volume.stderr).contains("--volume"));

    let export = tempfile::tempdir().unwrap();
    let out = ok(llmos(
        data.path(),
        &["export", export.path().to_str().unwrap()],
    ));
    assert!(out.contains("no volumes"), "{out}");
}
