//! The Skills API through the real host: the data-driven route cases of
//! `tests/cases/skills/api.toml`, the bad requests of
//! `tests/cases/skills/malformed.toml` (each leaving history untouched),
//! and what those files cannot express (the first-start import, problems
//! reported for broken files).
//!
//! Build the artifacts first (from the workspace root):
//!     cargo build --release -p llmos-host
//!     cargo build --target wasm32-wasip2 --release -p auth -p skills

#[path = "../cases/skills/support.rs"]
mod support;

use std::collections::HashMap;
use std::time::Duration;

use llmos_tests::{poll, workspace_root};
use serde_json::json;
use support::{Env, SkillsApp, load_cases, run_case};

#[test]
fn api_cases() {
    let env = Env::start();
    let mut vars = HashMap::new();
    let mut failures = Vec::new();
    for case in load_cases("api.toml") {
        let problems = run_case(&env, &case, &mut vars);
        if !problems.is_empty() {
            failures.push(format!("{}:\n  {}", case.name, problems.join("\n  ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn malformed_requests_are_refused_and_change_nothing() {
    let env = Env::start();
    let created = env.json(
        "alice",
        "POST",
        "/skills",
        &json!({"skill_id": "mine", "name": "Mine", "category": "c", "description": "Mine."}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let team = env.json(
        "bob",
        "POST",
        "/skills",
        &json!({"volume": "teams/other", "skill_id": "theirs", "name": "Theirs", "category": "c", "description": "Theirs."}),
    );
    assert_eq!(team.status, 201, "{}", team.body);
    let system_head = env.commits("system")[0].clone();
    let mut vars = HashMap::from([("system_head".to_owned(), system_head)]);

    let cases = load_cases("malformed.toml");
    assert!(cases.len() >= 50, "only {} malformed cases", cases.len());
    let listing = |who: &str| env.get(who, "/skills").body;
    let lists_before = (listing("alice"), listing("bob"));
    let mut failures = Vec::new();
    for case in &cases {
        assert!(
            (400..500).contains(&case.status),
            "{}: malformed cases expect a 4xx",
            case.name
        );
        let before = env.snapshot();
        let mut problems = run_case(&env, case, &mut vars);
        if env.snapshot() != before {
            problems.push("the request changed a volume's history".to_owned());
        }
        if !problems.is_empty() {
            failures.push(format!("{}:\n  {}", case.name, problems.join("\n  ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert_eq!((listing("alice"), listing("bob")), lists_before);
}

#[test]
fn system_volume_is_imported_once_from_the_shipped_files() {
    let env = Env::start();
    // Concurrent first requests: exactly one import commit.
    std::thread::scope(|scope| {
        for _ in 0..6 {
            scope.spawn(|| assert_eq!(env.get("alice", "/skills").status, 200));
        }
    });
    let history = env.commits("system");
    assert_eq!(history.len(), 1, "{history:?}");
    let shipped = workspace_root().join("volumes/system/skills");
    let mut count = 0;
    for entry in std::fs::read_dir(&shipped).expect("shipped skills") {
        let path = entry.expect("entry").path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(id) = name.strip_suffix(".md") else {
            continue;
        };
        let raw = env.get("bob", &format!("/skills/{id}/raw?volume=system"));
        assert_eq!(raw.status, 200, "{id}: {}", raw.body);
        assert_eq!(
            raw.body,
            std::fs::read_to_string(&path).expect("shipped file"),
            "{id} is stored byte for byte"
        );
        count += 1;
    }
    let listing = env.get("bob", "/skills?volume=system").json();
    assert_eq!(listing["total"], count);
    // A restart does not import again.
    let Env { app, host, tokens } = env;
    let env = Env {
        host: host.restart(),
        app,
        tokens,
    };
    assert_eq!(env.get("alice", "/skills").status, 200);
    assert_eq!(env.commits("system"), history);
}

#[test]
fn agent_skills_directories_are_imported_as_context_skills() {
    let app = SkillsApp::new();
    app.add_system_skill(
        "pdf-tools/SKILL.md",
        "---\nname: pdf-tools\ndescription: Fill and merge PDF forms.\n---\n# PDF tools\n",
    );
    app.add_system_skill("pdf-tools/reference.md", "Not a skill of its own.\n");
    let env = Env::start_app(app, |config| config);
    let skill = env.get("bob", "/skills/pdf-tools").json();
    assert_eq!(skill["type"], "context");
    assert_eq!(skill["path"], "skills/pdf-tools/SKILL.md");
    assert_eq!(skill["format"], "agent-skill");
    assert_eq!(skill["volume"], "system");
    let listing = env.get("bob", "/skills?volume=system").json();
    assert_eq!(listing["total"], 14, "the 13 shipped skills and pdf-tools");
    assert_eq!(listing["errors"], json!([]));
}

#[test]
fn a_broken_shipped_skill_stops_the_import_naming_the_file() {
    let app = SkillsApp::new();
    app.add_system_skill(
        "broken-skill.md",
        "---\nskill_id: broken-skill\nname: Broken\ncategory: c\n---\n",
    );
    let env = Env::start_app(app, |config| config);
    let reply = env.get("alice", "/skills");
    assert_eq!(reply.status, 500, "{}", reply.body);
    let error = reply.json()["error"].clone();
    assert_eq!(error["code"], "system-import-failed");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("skills/broken-skill.md:1"), "{message}");
    assert!(message.contains("description"), "{message}");
    // The guest writes to the host's stderr, which a reader thread collects.
    let logged = poll(Duration::from_secs(10), || {
        env.host
            .stderr()
            .contains("skills/broken-skill.md")
            .then_some(())
    });
    assert!(
        logged.is_some(),
        "the log names the file:\n{}",
        env.host.stderr()
    );
    // Nothing was committed: every request tries again and is refused again.
    let again = env.get("admin", "/volumes/history?volume=system");
    assert_eq!(again.status, 500, "{}", again.body);
}

#[test]
fn concurrent_creates_of_one_id_make_one_skill() {
    let env = Env::start();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let env = &env;
                scope.spawn(move || {
                    env.json(
                        "alice",
                        "POST",
                        "/skills",
                        &json!({"skill_id": "race", "name": format!("Racer {i}"),
                                "category": "c", "description": "First one wins."}),
                    )
                    .status
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("writer"))
            .collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        7,
        "{statuses:?}"
    );
    let history = env.get("alice", "/skills/race/history").json();
    assert_eq!(history["commits"].as_array().map(Vec::len), Some(1));
    let listing = env.get("alice", "/skills?volume=users/alice").json();
    assert_eq!(listing["total"], 1);
}

#[test]
fn listings_revalidate_with_entity_tags() {
    let env = Env::start();
    let conditional = |who: &str, path: &str, tag: &str| {
        let token = env.token(who).expect("token");
        llmos_tests::Reply::from(
            env.host
                .request(reqwest::Method::GET, path)
                .header("authorization", format!("Bearer {token}"))
                .header("if-none-match", tag)
                .send(),
        )
    };
    let first = env.get("alice", "/skills");
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.header("cache-control"), Some("private, no-cache"));
    let tag = first
        .header("etag")
        .expect("a listing has an etag")
        .to_owned();
    assert!(tag.starts_with('"') && tag.ends_with('"'), "{tag}");

    // Unchanged: 304 without a body, for the exact tag, a weak form of it,
    // one in a list, and `*`.
    for header in [
        tag.clone(),
        format!("W/{tag}"),
        format!("\"other\", {tag}"),
        "*".to_owned(),
    ] {
        let again = conditional("alice", "/skills", &header);
        assert_eq!(again.status, 304, "If-None-Match: {header}");
        assert_eq!(again.body, "");
        assert_eq!(again.header("etag"), Some(tag.as_str()));
    }
    assert_eq!(conditional("alice", "/skills", "\"stale\"").status, 200);

    // Another query, another user's view: other tags.
    let page = env.get("alice", "/skills?limit=1");
    assert_ne!(page.header("etag"), Some(tag.as_str()));
    assert_eq!(conditional("alice", "/skills?limit=1", &tag).status, 200);
    let bob = env.get("bob", "/skills");
    assert_ne!(bob.header("etag"), Some(tag.as_str()));
    assert_eq!(conditional("bob", "/skills", &tag).status, 200);

    // A commit in any volume of the view changes the tag and the body.
    let created = env.json(
        "alice",
        "POST",
        "/skills",
        &json!({"skill_id": "tagged", "name": "Tagged", "category": "c",
                "description": "Changes the listing."}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let changed = conditional("alice", "/skills", &tag);
    assert_eq!(changed.status, 200);
    assert!(changed.body.contains("\"tagged\""), "{}", changed.body);
    let new_tag = changed.header("etag").expect("etag").to_owned();
    assert_ne!(new_tag, tag);
    assert_eq!(conditional("alice", "/skills", &new_tag).status, 304);

    // A team commit changes alice's view too; bob's stays as it was.
    let bob_tag = bob.header("etag").expect("etag").to_owned();
    let team = env.json(
        "alice",
        "POST",
        "/skills",
        &json!({"skill_id": "team-tagged", "name": "Team", "category": "c",
                "description": "In the core team.", "volume": "teams/core"}),
    );
    assert_eq!(team.status, 201, "{}", team.body);
    assert_eq!(conditional("alice", "/skills", &new_tag).status, 200);
    assert_eq!(conditional("bob", "/skills", &bob_tag).status, 304);

    // Without a valid token there is no listing and no 304.
    let anonymous = llmos_tests::Reply::from(
        env.host
            .request(reqwest::Method::GET, "/skills")
            .header("if-none-match", "*")
            .send(),
    );
    assert_eq!(anonymous.status, 401);
}
