//! Benchmarks of the skills component on the real host.
//!
//! 1. **Commits/s into one volume through the API**: `PUT /skills/{id}` in
//!    a loop into `users/bob` (one client, then 8 concurrent clients on 8
//!    skills), each a commit of one changed file; compared with a `git commit -a` loop on
//!    a repository of the same shape on the same machine.
//! 2. **`GET /skills` with 1000 skills across three volumes** (system
//!    340, teams/core 330, users/alice 330) at 64 keep-alive connections:
//!    the whole merged list, a page of 50, and a ranked search.
//! 3. **Clone of a 1000-skill volume** with stock git over dumb HTTP: the
//!    system volume imported in one commit, and a user volume built by
//!    1000 API creates (1000 commits).
//!
//! Run (from the workspace root):
//!     cargo build --release -p llmos-host
//!     cargo build --target wasm32-wasip2 --release -p auth -p skills
//!     cargo bench -p llmos-tests --bench skills
//!
//! `BENCH_COMMITS` (default 300), `BENCH_REQUESTS` (default 4000 per
//! route), `BENCH_CONNECTIONS` (default 64).

#[path = "../cases/skills/support.rs"]
mod support;

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper_util::rt::TokioIo;
use serde_json::json;
use support::{Env, SkillsApp, git_ok};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn skill(id: &str, description: &str, keywords: &[&str]) -> serde_json::Value {
    json!({"skill_id": id, "name": format!("Skill {id}"), "category": format!("cat-{}", id.len() % 7),
           "description": description, "content": "# Use\n\nWhen and how to use it.\n\n# Notes\n\nDetails.",
           "keywords": keywords})
}

fn skill_file(id: &str, n: usize) -> String {
    format!(
        "---\nskill_id: {id}\nname: System skill {n}\ncategory: cat-{}\n\
         description: Generated system skill number {n} about topic {}.\n\
         keywords: [generated, topic-{}]\n---\n# Skill {n}\n\nGuidance text.\n",
        n % 7,
        n % 13,
        n % 13
    )
}

fn main() {
    if !std::env::args().any(|arg| arg == "--bench") {
        println!(
            "skills benchmark skipped: run it with `cargo bench -p llmos-tests --bench skills`"
        );
        return;
    }
    let commits = env_or("BENCH_COMMITS", 300);
    let requests = env_or("BENCH_REQUESTS", 4000);
    let connections = env_or("BENCH_CONNECTIONS", 64);

    // System volume of 340 generated skills (plus nothing shipped), so the
    // three volumes hold 1000 skills once 330 + 330 are created.
    let app = SkillsApp::new();
    for entry in std::fs::read_dir(app.manifest().with_file_name("volumes/system/skills"))
        .expect("system skills")
    {
        std::fs::remove_file(entry.expect("entry").path()).expect("remove shipped skill");
    }
    for n in 0..340 {
        app.add_system_skill(
            &format!("sys-{n:04}.md"),
            &skill_file(&format!("sys-{n:04}"), n),
        );
    }
    let env = Env::start_app(app, |config| config);
    let started = Instant::now();
    assert_eq!(env.get("alice", "/skills?limit=0").status, 200);
    println!(
        "first request (imports 340 system skills in one commit): {:.0} ms",
        ms(started.elapsed())
    );

    commit_rates(&env, commits);
    git_commit_loop(commits);

    println!();
    let started = Instant::now();
    for n in 0..330 {
        let mut body = skill(
            &format!("team-{n:04}"),
            &format!("Team skill {n} for topic {}.", n % 11),
            &["team", "shared"],
        );
        body["volume"] = json!("teams/core");
        let team = env.json("alice", "POST", "/skills", &body);
        assert_eq!(team.status, 201, "{}", team.body);
        let user = env.json(
            "alice",
            "POST",
            "/skills",
            &skill(
                &format!("user-{n:04}"),
                &format!("Personal skill {n} about plotting and data {}.", n % 5),
                &["mine"],
            ),
        );
        assert_eq!(user.status, 201, "{}", user.body);
    }
    println!(
        "seeded 660 skills through POST /skills in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let total = env.get("alice", "/skills?limit=0").json()["total"].clone();
    assert_eq!(total, 1000);

    let token = env.token("alice").expect("token");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // The last row is a client revalidating its cached copy of the whole
    // list (`If-None-Match` with the listing's tag): 304, no body.
    let tag = env
        .get("alice", "/skills")
        .header("etag")
        .expect("a listing has an etag")
        .to_owned();
    let routes = [
        ("/skills", "GET /skills (all 1000)", None),
        ("/skills?limit=50", "GET /skills?limit=50", None),
        (
            "/skills?q=plotting%20data&limit=20",
            "GET /skills?q=plotting data&limit=20",
            None,
        ),
        (
            "/skills",
            "GET /skills, If-None-Match (304)",
            Some(tag.as_str()),
        ),
    ];
    println!("\n{connections} connections, {requests} requests per route");
    println!("| route | req/s | p50 | p90 | p99 | max | body | errors |");
    println!("|---|---|---|---|---|---|---|---|");
    for (path, name, tag) in routes {
        let client = Client {
            addr: env.host.addr(),
            token: token.clone(),
            tag: tag.map(str::to_owned),
        };
        runtime.block_on(drive(&client, path, connections, requests / 10));
        let started = Instant::now();
        let samples = runtime.block_on(drive(&client, path, connections, requests));
        let elapsed = started.elapsed();
        let errors = samples.iter().filter(|s| s.is_err()).count();
        let mut ok: Vec<(Duration, usize)> = samples.into_iter().filter_map(Result::ok).collect();
        ok.sort_unstable();
        let latencies: Vec<Duration> = ok.iter().map(|s| s.0).collect();
        println!(
            "| {name} | {:.0} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {} KB | {errors} |",
            requests as f64 / elapsed.as_secs_f64(),
            ms(percentile(&latencies, 0.50)),
            ms(percentile(&latencies, 0.90)),
            ms(percentile(&latencies, 0.99)),
            ms(latencies.last().copied().unwrap_or_default()),
            ok.first().map_or(0, |s| s.1 / 1024),
        );
    }

    println!();
    let work = tempfile::tempdir().expect("work dir");
    let started = Instant::now();
    git_ok(
        work.path(),
        Some(&token),
        &["clone", "-q", &env.git_url("system"), "system"],
    );
    println!(
        "git clone of the system volume (340 skills, 1 commit): {:.2} s",
        started.elapsed().as_secs_f64()
    );
    drop(env);

    // A volume of 1000 skills, both as one commit and as 1000 commits.
    let app = SkillsApp::new();
    for entry in std::fs::read_dir(app.manifest().with_file_name("volumes/system/skills"))
        .expect("system skills")
    {
        std::fs::remove_file(entry.expect("entry").path()).expect("remove shipped skill");
    }
    for n in 0..1000 {
        app.add_system_skill(
            &format!("sys-{n:04}.md"),
            &skill_file(&format!("sys-{n:04}"), n),
        );
    }
    let env = Env::start_app(app, |config| config);
    assert_eq!(env.get("alice", "/skills?limit=0").json()["total"], 1000);
    let token = env.token("alice").expect("token");
    let started = Instant::now();
    git_ok(
        work.path(),
        Some(&token),
        &["clone", "-q", &env.git_url("system"), "system-1000"],
    );
    println!(
        "git clone of a 1000-skill volume in 1 commit (3 trees, 1000 blobs): {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    for n in 0..1000 {
        let reply = env.json(
            "alice",
            "POST",
            "/skills",
            &skill(&format!("s-{n:04}"), "One of many.", &["many"]),
        );
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    println!(
        "created 1000 skills in users/alice through the API: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    git_ok(
        work.path(),
        Some(&token),
        &["clone", "-q", &env.git_url("users/alice"), "alice-1000"],
    );
    println!(
        "git clone of a 1000-skill volume built by 1000 commits: {:.2} s",
        started.elapsed().as_secs_f64()
    );
}

/// Commits through `PUT /skills/{id}`: sequential, then 8 writers.
fn commit_rates(env: &Env, commits: usize) {
    for writer in 0..8 {
        let reply = env.json(
            "bob",
            "POST",
            "/skills",
            &skill(&format!("bench-{writer}"), "v0", &["bench"]),
        );
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    let started = Instant::now();
    for n in 0..commits {
        let reply = env.json(
            "bob",
            "PUT",
            "/skills/bench-0",
            &skill("bench-0", &format!("Sequential {n}."), &["bench"]),
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    let elapsed = started.elapsed();
    println!(
        "API, 1 client: {commits} commits in {:.2} s, {:.0} commits/s ({:.2} ms each)",
        elapsed.as_secs_f64(),
        commits as f64 / elapsed.as_secs_f64(),
        ms(elapsed) / commits as f64
    );
    let per_writer = commits.div_ceil(8);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for writer in 0..8 {
            scope.spawn(move || {
                let id = format!("bench-{writer}");
                for n in 0..per_writer {
                    let reply = env.json(
                        "bob",
                        "PUT",
                        &format!("/skills/{id}"),
                        &skill(&id, &format!("Parallel {n}."), &["bench"]),
                    );
                    assert_eq!(reply.status, 200, "{}", reply.body);
                }
            });
        }
    });
    let elapsed = started.elapsed();
    println!(
        "API, 8 clients: {} commits in {:.2} s, {:.0} commits/s",
        per_writer * 8,
        elapsed.as_secs_f64(),
        (per_writer * 8) as f64 / elapsed.as_secs_f64()
    );
}

/// The reference: `git commit -a` in a loop on a repository with the same
/// layout (8 skill files under `skills/`), one changed file per commit.
fn git_commit_loop(commits: usize) {
    let work = tempfile::tempdir().expect("work dir");
    let repo = work.path().join("repo");
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .current_dir(&repo)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("HOME", work.path())
            .args([
                "-c",
                "user.name=Bench",
                "-c",
                "user.email=bench@example.com",
            ])
            .args(args)
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    };
    std::fs::create_dir_all(repo.join("skills")).expect("repo dir");
    git(&["init", "-q", "-b", "main"]);
    for n in 0..8 {
        std::fs::write(repo.join(format!("skills/bench-{n}.md")), "v0\n").expect("write");
    }
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "Populate"]);
    let started = Instant::now();
    for n in 0..commits {
        std::fs::write(repo.join("skills/bench-0.md"), format!("Sequential {n}.\n"))
            .expect("write");
        git(&["commit", "-q", "-a", "-m", &format!("Update {n}")]);
    }
    let elapsed = started.elapsed();
    println!(
        "git commit -a loop: {commits} commits in {:.2} s, {:.0} commits/s ({:.2} ms each)",
        elapsed.as_secs_f64(),
        commits as f64 / elapsed.as_secs_f64(),
        ms(elapsed) / commits as f64
    );
}

/// Who sends a benchmark's requests: the host, alice's token, and the
/// entity tag to revalidate (then 304 counts as success).
#[derive(Clone)]
struct Client {
    addr: SocketAddr,
    token: String,
    tag: Option<String>,
}

/// Sends `total` GETs of `path` over `connections` keep-alive connections,
/// each sending its share one after another; returns latency and body size.
async fn drive(
    client: &Client,
    path: &'static str,
    connections: usize,
    total: usize,
) -> Vec<Result<(Duration, usize), String>> {
    let per_connection = total.div_ceil(connections);
    let mut tasks = Vec::new();
    for index in 0..connections {
        let count = per_connection.min(total.saturating_sub(index * per_connection));
        tasks.push(tokio::spawn(connection(client.clone(), path, count)));
    }
    let mut samples = Vec::with_capacity(total);
    for task in tasks {
        match task.await {
            Ok(mut results) => samples.append(&mut results),
            Err(e) => samples.push(Err(e.to_string())),
        }
    }
    samples
}

async fn connection(
    client: Client,
    path: &'static str,
    count: usize,
) -> Vec<Result<(Duration, usize), String>> {
    let addr = client.addr;
    let stream = match tokio::net::TcpStream::connect(addr).await {
        Ok(stream) => stream,
        Err(e) => return vec![Err(e.to_string()); count],
    };
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) = match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
    {
        Ok(pair) => pair,
        Err(e) => return vec![Err(e.to_string()); count],
    };
    tokio::spawn(conn);
    let expected = if client.tag.is_some() {
        http::StatusCode::NOT_MODIFIED
    } else {
        http::StatusCode::OK
    };
    let mut samples = Vec::with_capacity(count);
    for _ in 0..count {
        let mut request = http::Request::get(path)
            .header(http::header::HOST, addr.to_string())
            .header(
                http::header::AUTHORIZATION,
                format!("Bearer {}", client.token),
            );
        if let Some(tag) = &client.tag {
            request = request.header(http::header::IF_NONE_MATCH, tag.as_str());
        }
        let request = request.body(Empty::<Bytes>::new()).expect("request");
        let started = Instant::now();
        let result = async {
            sender.ready().await.map_err(|e| e.to_string())?;
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?;
            if status != expected {
                return Err(format!("status {status}"));
            }
            Ok((started.elapsed(), body.to_bytes().len()))
        }
        .await;
        samples.push(result);
    }
    samples
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
