//! Volumes as stock git sees them, through the real host: cloning over
//! dumb HTTP with the token header, history and contents matching the API,
//! `git fsck --strict`; concurrent writers losing no commit; and a host
//! killed with SIGKILL in the middle of writes losing no acknowledged one.
//!
//! Build the artifacts first (from the workspace root):
//!     cargo build --release -p llmos-host
//!     cargo build --target wasm32-wasip2 --release -p auth -p skills

#[path = "../cases/skills/support.rs"]
mod support;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use llmos_tests::workspace_root;
use serde_json::json;
use support::{Env, git, git_ok};

fn skill(id: &str, description: &str) -> serde_json::Value {
    json!({"skill_id": id, "name": format!("Skill {id}"), "category": "testing",
           "description": description, "content": "# Body\n\nText.", "keywords": ["test"]})
}

/// Clones `volume` as `who` into `dir/name` and checks it with fsck.
fn clone_checked(env: &Env, who: &str, volume: &str, dir: &Path, name: &str) -> std::path::PathBuf {
    let token = env.token(who);
    git_ok(
        dir,
        token.as_deref(),
        &["clone", "-q", &env.git_url(volume), name],
    );
    let repo = dir.join(name);
    let fsck = git(&repo, None, &["fsck", "--strict", "--no-dangling"]);
    assert!(
        fsck.status.success() && fsck.stdout.is_empty(),
        "git fsck --strict of {volume}:\n{}{}",
        String::from_utf8_lossy(&fsck.stdout),
        String::from_utf8_lossy(&fsck.stderr)
    );
    repo
}

#[test]
fn stock_git_clones_a_user_volume_that_matches_the_api() {
    let env = Env::start();
    for id in ["alpha", "beta", "gamma"] {
        let reply = env.json("alice", "POST", "/skills", &skill(id, "First version."));
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    assert_eq!(
        env.json(
            "alice",
            "PUT",
            "/skills/beta",
            &skill("beta", "Second version.")
        )
        .status,
        200
    );
    assert_eq!(
        env.call("alice", "DELETE", "/skills/gamma", None).status,
        200
    );

    let work = tempfile::tempdir().expect("work dir");
    let repo = clone_checked(&env, "alice", "users/alice", work.path(), "alice");
    let log = git_ok(&repo, None, &["log", "--format=%H %an <%ae> %s"]);
    let api = env.commits("users/alice");
    let git_ids: Vec<&str> = log.lines().map(|l| &l[..40]).collect();
    assert_eq!(git_ids, api, "git log lists the API's commits");
    let subjects: Vec<&str> = log
        .lines()
        .map(|l| l.split_once("> ").expect("subject").1)
        .collect();
    assert_eq!(
        subjects,
        [
            "Delete skill gamma",
            "Update skill beta",
            "Create skill gamma",
            "Create skill beta",
            "Create skill alpha"
        ]
    );
    assert!(
        log.lines()
            .all(|l| l.contains(" alice <alice@users.llmos.local> ")),
        "{log}"
    );

    let mut files: Vec<String> = std::fs::read_dir(repo.join("skills"))
        .expect("skills dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["alpha.md", "beta.md"]);
    for file in files {
        let id = file.trim_end_matches(".md");
        let raw = env.get("alice", &format!("/skills/{id}/raw?volume=users/alice"));
        assert_eq!(raw.status, 200);
        let cloned = std::fs::read_to_string(repo.join("skills").join(&file)).expect("cloned file");
        assert_eq!(cloned, raw.body, "{file} equals the API's raw");
    }

    // Later commits arrive with an ordinary fetch.
    assert_eq!(
        env.json("alice", "POST", "/skills", &skill("delta", "New."))
            .status,
        201
    );
    git_ok(
        &repo,
        env.token("alice").as_deref(),
        &["pull", "-q", "--ff-only"],
    );
    assert!(repo.join("skills/delta.md").is_file());
    assert_eq!(
        git_ok(&repo, None, &["rev-parse", "HEAD"]).trim(),
        env.commits("users/alice")[0]
    );
}

#[test]
fn stock_git_clones_the_system_volume_and_is_refused_others() {
    let env = Env::start();
    let work = tempfile::tempdir().expect("work dir");
    let repo = clone_checked(&env, "bob", "system", work.path(), "system");
    let shipped = workspace_root().join("volumes/system/skills");
    for entry in std::fs::read_dir(&shipped).expect("shipped") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("name");
        assert_eq!(
            std::fs::read(repo.join("skills").join(name)).expect("cloned"),
            std::fs::read(&path).expect("shipped"),
            "{}",
            path.display()
        );
    }
    let author = git_ok(&repo, None, &["log", "-1", "--format=%an <%ae>"]);
    assert_eq!(author.trim(), "LLMos-Lite <system@llmos.local>");

    assert_eq!(
        env.json("alice", "POST", "/skills", &skill("private", "Mine."))
            .status,
        201
    );
    let denied = git(
        work.path(),
        env.token("bob").as_deref(),
        &["clone", "-q", &env.git_url("users/alice"), "stolen"],
    );
    assert!(!denied.status.success(), "bob cloned alice's volume");
    let anonymous = git(
        work.path(),
        None,
        &["clone", "-q", &env.git_url("system"), "anonymous"],
    );
    assert!(
        !anonymous.status.success(),
        "a clone without a token succeeded"
    );
}

#[test]
fn concurrent_writers_lose_no_commit() {
    const WRITERS: usize = 8;
    const COMMITS: usize = 100;
    let env = Env::start();
    std::thread::scope(|scope| {
        for writer in 0..WRITERS {
            let env = &env;
            scope.spawn(move || {
                let id = format!("writer-{writer}");
                let reply = env.json("alice", "POST", "/skills", &skill(&id, "Version 0."));
                assert_eq!(reply.status, 201, "{}", reply.body);
                for version in 1..COMMITS {
                    let reply = env.json(
                        "alice",
                        "PUT",
                        &format!("/skills/{id}"),
                        &skill(&id, &format!("Version {version}.")),
                    );
                    assert_eq!(reply.status, 200, "{}", reply.body);
                    assert_eq!(reply.json()["changed"], true);
                }
            });
        }
    });
    let commits = env.commits("users/alice");
    assert_eq!(
        commits.len(),
        WRITERS * COMMITS,
        "every write is one commit"
    );
    let mut distinct = commits.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), commits.len());
    for writer in 0..WRITERS {
        let id = format!("writer-{writer}");
        let skill = env.get("alice", &format!("/skills/{id}")).json();
        assert_eq!(
            skill["description"],
            format!("Version {}.", COMMITS - 1),
            "{id}"
        );
        let history = env
            .get("alice", &format!("/skills/{id}/history?limit=1000"))
            .json();
        assert_eq!(
            history["commits"].as_array().map(Vec::len),
            Some(COMMITS),
            "{id}"
        );
    }
    let listing = env.get("alice", "/skills?volume=users/alice").json();
    assert_eq!(listing["total"], WRITERS);

    let work = tempfile::tempdir().expect("work dir");
    let repo = clone_checked(&env, "alice", "users/alice", work.path(), "alice");
    let count = git_ok(&repo, None, &["rev-list", "--count", "HEAD"]);
    assert_eq!(count.trim(), (WRITERS * COMMITS).to_string());
}

#[test]
fn acknowledged_writes_survive_a_kill() {
    let Env { app, host, tokens } = Env::start();
    let mut host = host;
    let base = host.url("");
    let token = tokens["alice"].clone();
    let stop = AtomicBool::new(false);
    let written = AtomicUsize::new(0);
    let acknowledged: Vec<(String, String)> = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..3)
            .map(|writer| {
                let (base, token, stop, written) = (&base, &token, &stop, &written);
                scope.spawn(move || {
                    let client = reqwest::blocking::Client::builder()
                        .timeout(Duration::from_secs(30))
                        .no_proxy()
                        .build()
                        .expect("client");
                    let mut done = Vec::new();
                    for n in 0.. {
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        let id = format!("k{writer}-{n}");
                        let sent = client
                            .post(format!("{base}/skills"))
                            .bearer_auth(token)
                            .json(&skill(&id, "Written before the kill."))
                            .send();
                        let Ok(reply) = sent else { break };
                        if reply.status().as_u16() != 201 {
                            break;
                        }
                        let Ok(body) = reply.json::<serde_json::Value>() else {
                            break;
                        };
                        done.push((id, body["commit"].as_str().expect("commit").to_owned()));
                        written.fetch_add(1, Ordering::SeqCst);
                    }
                    done
                })
            })
            .collect();
        // Kill while writes are in flight: after the first acknowledged
        // one (the first start imports the system volume), not on a clock.
        let started = Instant::now();
        while written.load(Ordering::SeqCst) < 3 && started.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(300));
        host.kill();
        stop.store(true, Ordering::SeqCst);
        writers
            .into_iter()
            .flat_map(|w| w.join().expect("writer"))
            .collect()
    });
    assert!(
        !acknowledged.is_empty(),
        "no write completed before the kill"
    );

    let env = Env {
        host: host.kill_and_restart(),
        app,
        tokens,
    };
    let commits = env.commits("users/alice");
    for (id, commit) in &acknowledged {
        assert!(
            commits.contains(commit),
            "acknowledged commit {commit} of {id} is lost"
        );
        let reply = env.get("alice", &format!("/skills/{id}?volume=users/alice"));
        assert_eq!(reply.status, 200, "{id}: {}", reply.body);
    }
    // The volume still takes writes and reads as a valid repository.
    assert_eq!(
        env.json(
            "alice",
            "POST",
            "/skills",
            &skill("after", "After the restart.")
        )
        .status,
        201
    );
    let work = tempfile::tempdir().expect("work dir");
    let repo = clone_checked(&env, "alice", "users/alice", work.path(), "alice");
    let count = git_ok(&repo, None, &["rev-list", "--count", "HEAD"]);
    assert_eq!(
        count.trim().parse::<usize>().expect("count"),
        commits.len() + 1
    );
}
