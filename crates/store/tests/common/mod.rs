//! Helpers shared by the integration tests: running the real `git` and
//! writing a volume out as a bare repository.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

use llmos_core::ids::VolumeId;
use llmos_store::export::{BARE_REPOSITORY_DIRS, bare_repository};
use llmos_store::{GitTime, ObjectStore, RefStore, Signature, VolumePath};

pub fn sig(seconds: i64) -> Signature {
    Signature::new(
        "Test Author",
        "author@example.com",
        GitTime::new(seconds, 120),
    )
}

pub fn p(path: &str) -> VolumePath {
    VolumePath::new(path).unwrap()
}

pub fn v(volume: &str) -> VolumeId {
    volume.parse().unwrap()
}

/// Runs git with a clean environment (no user or system config) in `dir`.
pub fn git_output(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    git_env_output(dir, args, stdin, &[])
}

/// Like [`git_output`], with extra environment variables.
pub fn git_env_output(
    dir: &Path,
    args: &[&str],
    stdin: Option<&[u8]>,
    envs: &[(&str, &str)],
) -> Output {
    use std::io::Write;
    let mut cmd = Command::new("git");
    cmd.args(args)
        .envs(envs.iter().copied())
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("HOME", dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("git is installed");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

/// Runs git and returns its stdout, failing the test on a non-zero exit.
pub fn git(dir: &Path, args: &[&str]) -> String {
    git_stdin(dir, args, None)
}

pub fn git_stdin(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> String {
    let out = git_output(dir, args, stdin);
    assert!(
        out.status.success(),
        "git {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Writes the volume as a bare repository into `dir` (which must exist).
pub fn write_bare(store: &(impl ObjectStore + RefStore), volume: &VolumeId, dir: &Path) {
    for sub in BARE_REPOSITORY_DIRS {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    for file in bare_repository(store, volume).unwrap() {
        let file = file.unwrap();
        let path = dir.join(&file.path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, file.bytes).unwrap();
    }
}
