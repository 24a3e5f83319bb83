//! Ready answers and content codings of the skills component, on the real
//! host: listings and a skill by id are kept with the state they were
//! built at and sent gzip-coded when the client accepts it; no listing is
//! ever older than a commit acknowledged before it was asked for; a kept
//! read costs two SQLite statements whose plans SQLite keeps; the table of
//! ready answers keeps to its bound.
//!
//! Build first (from the workspace root):
//!     cargo build --release -p llmos-host
//!     cargo build --target wasm32-wasip2 --release -p auth -p skills

#[path = "../cases/skills/support.rs"]
mod support;

use std::collections::HashMap;
use std::io::Read as _;
use std::sync::Mutex;

use serde_json::{Value, json};
use support::{Env, SkillsApp};

/// One GET as `who` with `accept-encoding` (if any) and `if-none-match`
/// (if any): status, headers, body bytes as sent.
fn fetch(
    env: &Env,
    who: &str,
    path: &str,
    encoding: Option<&str>,
    tag: Option<&str>,
) -> (u16, HashMap<String, String>, Vec<u8>) {
    let mut request = env.host.request(reqwest::Method::GET, path);
    if let Some(token) = env.token(who) {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    if let Some(encoding) = encoding {
        request = request.header("accept-encoding", encoding);
    }
    if let Some(tag) = tag {
        request = request.header("if-none-match", tag);
    }
    let response = request.send().expect("request");
    let status = response.status().as_u16();
    let headers = llmos_tests::response_headers(&response);
    let body = response.bytes().expect("body").to_vec();
    (status, headers, body)
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .expect("a gzip body");
    out
}

fn varies_on_encoding(headers: &HashMap<String, String>) -> bool {
    headers.get("vary").is_some_and(|v| {
        v.split(',')
            .any(|v| v.trim().eq_ignore_ascii_case("accept-encoding"))
    })
}

fn skill(id: &str, description: &str) -> Value {
    json!({"skill_id": id, "name": format!("Skill {id}"), "category": "ready",
           "description": description, "content": "# Use\n\nText.\n"})
}

#[test]
fn listings_go_out_gzip_coded_when_accepted_and_equal_the_identity_answer() {
    let env = Env::start();
    for n in 0..30 {
        let reply = env.json(
            "alice",
            "POST",
            "/skills",
            &skill(&format!("ready-{n:02}"), &format!("Ready skill {n}.")),
        );
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    let (status, plain_headers, plain) = fetch(&env, "alice", "/skills", None, None);
    assert_eq!(status, 200);
    assert!(plain.len() > 4096, "a listing of 40 skills is large");
    assert_eq!(plain_headers.get("content-encoding"), None);
    assert!(varies_on_encoding(&plain_headers), "{plain_headers:?}");
    let tag = plain_headers.get("etag").expect("etag").clone();
    assert!(tag.starts_with('"'), "identity answers have a strong tag");

    for accept in ["gzip", "gzip, deflate, br", "br;q=1, gzip;q=0.5", "*"] {
        let (status, headers, coded) = fetch(&env, "alice", "/skills", Some(accept), None);
        assert_eq!(status, 200);
        assert_eq!(
            headers.get("content-encoding").map(String::as_str),
            Some("gzip"),
            "{accept}: {headers:?}"
        );
        assert!(varies_on_encoding(&headers));
        assert!(
            coded.len() < plain.len() / 3,
            "{} of {}",
            coded.len(),
            plain.len()
        );
        assert_eq!(gunzip(&coded), plain, "{accept}: the same answer");
        assert_eq!(
            headers.get("etag"),
            Some(&format!("W/{tag}")),
            "a coded answer has the weak form of the tag"
        );
    }
    // Either form of the tag revalidates, in either coding.
    for (accept, tag) in [(None, tag.clone()), (Some("gzip"), format!("W/{tag}"))] {
        let (status, headers, body) = fetch(&env, "alice", "/skills", accept, Some(&tag));
        assert_eq!(status, 304, "{accept:?} {tag}");
        assert!(body.is_empty());
        assert!(varies_on_encoding(&headers));
    }
    // Refused codings and small answers go out as they are.
    for accept in ["identity", "gzip;q=0", "br", "*;q=0"] {
        let (_, headers, body) = fetch(&env, "alice", "/skills", Some(accept), None);
        assert_eq!(headers.get("content-encoding"), None, "{accept}");
        assert_eq!(body, plain, "{accept}");
    }
    let (_, headers, body) = fetch(&env, "alice", "/skills?limit=1", Some("gzip"), None);
    assert_eq!(
        headers.get("content-encoding"),
        None,
        "small: {}",
        body.len()
    );
    assert!(body.len() < 2048);
    // A page, a filter and a search, coded and not, agree and are exact.
    for path in [
        "/skills?limit=5&offset=3",
        "/skills?category=ready",
        "/skills?q=ready%20skill%207&limit=3",
    ] {
        let (_, _, plain) = fetch(&env, "alice", path, None, None);
        let (_, headers, coded) = fetch(&env, "alice", path, Some("gzip"), None);
        let coded = if headers.contains_key("content-encoding") {
            gunzip(&coded)
        } else {
            coded
        };
        assert_eq!(plain, coded, "{path}");
    }
    let page: Value =
        serde_json::from_slice(&fetch(&env, "alice", "/skills?category=ready", None, None).2)
            .unwrap();
    assert_eq!(page["total"], 30);
    // Errors are never coded or kept: the same JSON error body each time.
    let (status, headers, body) = fetch(&env, "alice", "/skills?limit=x", Some("gzip"), None);
    assert_eq!(status, 400);
    assert_eq!(headers.get("content-encoding"), None);
    let error: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(error["error"]["code"], "invalid-query");
}

/// The per-request costs `--stats` reports for one answer: SQLite
/// statements and how many of them SQLite compiled again.
fn statement_costs(headers: &HashMap<String, String>) -> (u32, u32) {
    let count = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
    };
    (
        count("llmos-sqlite-statements"),
        count("llmos-sqlite-reprepares"),
    )
}

#[test]
fn a_kept_read_costs_two_statements_that_keep_their_plans() {
    let env = Env::start_app(SkillsApp::new(), |config| config.arg("--stats"));
    for (id, text) in [("kept-one", "First."), ("kept-two", "Second.")] {
        let created = env.json("alice", "POST", "/skills", &skill(id, text));
        assert_eq!(created.status, 201, "{}", created.body);
    }
    let routes = [
        "/skills",
        "/skills?limit=1",
        "/skills?q=second",
        "/skills?category=ready&limit=1",
        "/skills/kept-one",
    ];
    for path in routes {
        // The first read builds and keeps the answer; the next ones are
        // the hot path: the token check with the migrations, then the
        // heads with the kept answer, both from the statement cache.
        let (status, headers, _) = fetch(&env, "alice", path, Some("gzip"), None);
        assert_eq!(status, 200, "{path}");
        let tag = headers.get("etag").expect("etag").clone();
        for round in 0..3 {
            let (status, headers, _) = fetch(&env, "alice", path, Some("gzip"), None);
            assert_eq!(status, 200, "{path}");
            assert_eq!(statement_costs(&headers), (2, 0), "{path}, round {round}");
            let (status, headers, _) = fetch(&env, "alice", path, None, Some(&tag));
            assert_eq!(status, 304, "{path}");
            assert_eq!(
                statement_costs(&headers),
                (2, 0),
                "{path} (304), round {round}"
            );
        }
        // Another caller binds other values to the same statements (his
        // first read of a route may build; his second is kept).
        fetch(&env, "bob", path, Some("gzip"), None);
        let (status, headers, _) = fetch(&env, "bob", path, Some("gzip"), None);
        assert!(status == 200 || status == 404, "{path}: {status}");
        if status == 200 {
            assert_eq!(statement_costs(&headers), (2, 0), "{path} (bob)");
        } else {
            assert_eq!(statement_costs(&headers).1, 0, "{path} (bob)");
        }
    }
}

#[test]
fn a_skill_by_id_has_a_tag_and_changes_with_each_commit() {
    let env = Env::start();
    let created = env.json("alice", "POST", "/skills", &skill("one-skill", "First."));
    assert_eq!(created.status, 201, "{}", created.body);
    let (status, headers, body) = fetch(&env, "alice", "/skills/one-skill", Some("gzip"), None);
    assert_eq!(status, 200);
    let first: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(first["description"], "First.");
    let tag = headers.get("etag").expect("etag").clone();
    let (status, _, _) = fetch(&env, "alice", "/skills/one-skill", None, Some(&tag));
    assert_eq!(status, 304);
    // Bob's view is not Alice's: he does not see her skill, kept or not.
    let (status, _, _) = fetch(&env, "bob", "/skills/one-skill", None, None);
    assert_eq!(status, 404);
    let (status, _, _) = fetch(&env, "bob", "/skills/one-skill", None, Some(&tag));
    assert_eq!(status, 404);

    let updated = env.json(
        "alice",
        "PUT",
        "/skills/one-skill",
        &skill("one-skill", "Second."),
    );
    assert_eq!(updated.status, 200, "{}", updated.body);
    let (status, headers, body) = fetch(&env, "alice", "/skills/one-skill", None, Some(&tag));
    assert_eq!(status, 200, "the old tag no longer matches");
    let second: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(second["description"], "Second.");
    assert_ne!(headers.get("etag"), Some(&tag));
    assert_eq!(second["commit"], updated.json()["commit"]);

    // A commit in another volume of the view moves the tag too (the
    // answer names which volume's copy wins).
    let team = env.json(
        "alice",
        "POST",
        "/skills",
        &json!({"skill_id": "one-skill", "name": "Team copy", "description": "Team.", "category": "ready",
                "content": "x", "volume": "teams/core"}),
    );
    assert_eq!(team.status, 201, "{}", team.body);
    let (_, after, _) = fetch(&env, "alice", "/skills/one-skill", None, None);
    assert_ne!(after.get("etag"), headers.get("etag"));
    let deleted = env.call("alice", "DELETE", "/skills/one-skill", None);
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    let (status, _, body) = fetch(&env, "alice", "/skills/one-skill", Some("gzip"), None);
    assert_eq!(status, 200);
    let shown: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        shown["volume"], "teams/core",
        "the team's copy shows through"
    );
}

/// Writers commit to skills of their own while readers list: every
/// listing must show, for each skill, at least the version whose commit
/// was acknowledged before the listing was sent.
#[test]
fn no_listing_is_older_than_a_commit_acknowledged_before_it() {
    const WRITERS: usize = 4;
    const COMMITS: usize = 15;
    let env = Env::start();
    for writer in 0..WRITERS {
        let reply = env.json(
            "alice",
            "POST",
            "/skills",
            &skill(&format!("race-{writer}"), "version 0"),
        );
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    let acknowledged = Mutex::new(vec![0usize; WRITERS]);
    let version = |listing: &Value, id: &str| -> usize {
        let skills = listing["skills"].as_array().expect("skills");
        let entry = skills
            .iter()
            .find(|s| s["skill_id"] == id)
            .unwrap_or_else(|| panic!("{id} missing"));
        entry["description"]
            .as_str()
            .and_then(|d| d.strip_prefix("version "))
            .and_then(|n| n.parse().ok())
            .expect("a version")
    };
    let check = |path: &str, accept: Option<&str>| {
        let before = acknowledged.lock().unwrap().clone();
        let (status, headers, body) = fetch(&env, "alice", path, accept, None);
        assert_eq!(status, 200);
        let body = if headers.contains_key("content-encoding") {
            gunzip(&body)
        } else {
            body
        };
        let listing: Value = serde_json::from_slice(&body).unwrap();
        for (writer, acked) in before.iter().enumerate() {
            let id = format!("race-{writer}");
            let seen = version(&listing, &id);
            assert!(
                seen >= *acked,
                "{path} ({accept:?}) shows {id} at version {seen}, but version {acked} was acknowledged before it was sent"
            );
        }
    };
    std::thread::scope(|scope| {
        for writer in 0..WRITERS {
            let (env, acknowledged, check) = (&env, &acknowledged, &check);
            scope.spawn(move || {
                let id = format!("race-{writer}");
                for n in 1..=COMMITS {
                    let reply = env.json(
                        "alice",
                        "PUT",
                        &format!("/skills/{id}"),
                        &skill(&id, &format!("version {n}")),
                    );
                    assert_eq!(reply.status, 200, "{}", reply.body);
                    acknowledged.lock().unwrap()[writer] = n;
                    // The writer's own next read shows its commit.
                    check("/skills", Some("gzip"));
                }
            });
        }
        for reader in 0..3 {
            let check = &check;
            scope.spawn(move || {
                for n in 0..COMMITS * 2 {
                    match (reader + n) % 3 {
                        0 => check("/skills", None),
                        1 => check("/skills", Some("gzip")),
                        _ => check("/skills?category=ready&limit=50", Some("gzip")),
                    }
                }
            });
        }
    });
    let last = acknowledged.lock().unwrap().clone();
    assert_eq!(last, vec![COMMITS; WRITERS]);
    check("/skills", None);
}

#[test]
fn ready_answers_keep_to_their_bound() {
    let app = SkillsApp::new();
    let manifest = std::fs::read_to_string(app.manifest()).unwrap();
    let manifest = manifest.replace(
        "[component.skills.variables]\n",
        "[component.skills.variables]\nready_answers_max = \"5\"\n",
    );
    std::fs::write(app.manifest(), manifest).unwrap();
    let env = Env::start_app(app, |config| config);
    for n in 0..20 {
        let (status, _, _) = fetch(&env, "alice", &format!("/skills?limit={n}"), None, None);
        assert_eq!(status, 200);
    }
    let db = rusqlite::Connection::open_with_flags(
        env.host.data_dir().join("sqlite_db.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("the app's database");
    let kept: Vec<String> = db
        .prepare("SELECT key FROM ready_answers ORDER BY rowid")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(kept.len(), 5, "{kept:?}");
    // The newest are kept: asking for them again finds them ready (the
    // table does not grow), and the answers are still right.
    let (_, _, body) = fetch(&env, "alice", "/skills?limit=19", None, None);
    let listing: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(listing["limit"], 19);
    let count: i64 = db
        .query_row("SELECT count(*) FROM ready_answers", [], |row| row.get(0))
        .unwrap();
    assert_eq!(count, 5);
}
