//! Benchmarks of the skills component on the real host.
//!
//! 1. **Commits/s into one volume through the API**: `PUT /skills/{id}` in
//!    a loop into `users/bob` (one client, then 8 concurrent clients on 8
//!    skills), each a commit of one changed file; compared with a `git commit -a` loop on
//!    a repository of the same shape on the same machine.
//! 2. **Reads as ratios to the probe's `/_/health`** (the probe is part
//!    of the same app; health is measured before and after the reads), at
//!    16 and at 64 keep-alive connections, with the host's `--stats`
//!    medians (and the mean count of statements SQLite had to compile
//!    again, which a hot path keeps at 0): the whole list (gzip and identity), a page of 50, a
//!    filtered page, a search, a `304` and one skill by id, over 1000
//!    skills across three volumes (system 340, teams/core 330,
//!    users/alice 330) and over the shipped system skills alone.
//! 3. **Clone of a 1000-skill volume** with stock git over dumb HTTP: the
//!    system volume imported in one commit, and a user volume built by
//!    1000 API creates (1000 commits).
//!
//! Run (from the workspace root):
//!     cargo build --release -p llmos-host
//!     cargo build --target wasm32-wasip2 --release -p auth -p skills -p probe
//!     cargo bench -p llmos-tests --bench skills
//!
//! `BENCH_COMMITS` (default 300), `BENCH_REQUESTS` (default 4000 per
//! route), `BENCH_CONNECTIONS` (a list, default `16,64`).

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
    let connections: Vec<usize> = std::env::var("BENCH_CONNECTIONS")
        .unwrap_or_else(|_| "16,64".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();

    // System volume of 340 generated skills (plus nothing shipped), so the
    // three volumes hold 1000 skills once 330 + 330 are created.
    let app = SkillsApp::new().with_probe();
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
    let env = Env::start_app(app, |config| config.arg("--stats"));
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
    println!("\n### Reads over 1000 skills (alice: system 340, teams/core 330, users/alice 330)");
    read_ratios(
        &runtime,
        &env,
        "alice",
        "user-0042",
        "/skills?q=plotting%20data&limit=20",
        &connections,
        requests,
    );

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

    // The shipped system skills alone, as a new user sees them.
    let env = Env::start_app(SkillsApp::new().with_probe(), |config| {
        config.arg("--stats")
    });
    let shipped = env.get("bob", "/skills").json();
    let first = shipped["skills"][0]["skill_id"]
        .as_str()
        .expect("a shipped skill")
        .to_owned();
    println!(
        "\n### Reads over the {} shipped system skills (bob, no skills of his own)",
        shipped["total"]
    );
    read_ratios(
        &runtime,
        &env,
        "bob",
        &first,
        "/skills?q=python&limit=20",
        &connections,
        requests,
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

/// The reads measured, each as a ratio to the probe's `/_/health` on the
/// same host in the same run (measured before and after the reads; the
/// ratio uses their mean), at each connection count.
fn read_ratios(
    runtime: &tokio::runtime::Runtime,
    env: &Env,
    user: &str,
    skill: &str,
    search: &str,
    connections: &[usize],
    requests: usize,
) {
    let token = env.token(user).expect("token");
    // A client revalidating its cached copy of the whole list
    // (`If-None-Match` with the listing's tag) gets 304, no body.
    let tag = env
        .get(user, "/skills")
        .header("etag")
        .expect("a listing has an etag")
        .to_owned();
    let route = |path: &str, name: &str| Route {
        path: path.to_owned(),
        name: name.to_owned(),
        token: Some(token.clone()),
        tag: None,
        gzip: true,
    };
    let health = Route {
        path: "/_/health".into(),
        name: "probe `/_/health`".into(),
        token: None,
        tag: None,
        gzip: false,
    };
    let routes = [
        route("/skills", "whole list, gzip"),
        Route {
            gzip: false,
            ..route("/skills", "whole list, identity")
        },
        route("/skills?limit=50", "page of 50"),
        route(
            "/skills?category=cat-3&limit=50",
            "filter (category), page of 50",
        ),
        route(search, "search"),
        Route {
            tag: Some(tag.clone()),
            ..route("/skills", "whole list, If-None-Match (304)")
        },
        route(&format!("/skills/{skill}"), "one skill by id"),
    ];
    for &connections in connections {
        println!("\n{connections} connections, {requests} requests per route");
        println!(
            "| route | req/s | × health | p50 | p99 | body | statements | SQLite | recompiled | handler | instantiate | errors |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
        let before = measure(runtime, env, &health, connections, requests);
        let mut rows = Vec::new();
        for route in &routes {
            // Progress on stderr, so a profiler can be pointed at one route.
            eprintln!("measuring {} at {connections} connections", route.name);
            rows.push((route, measure(runtime, env, route, connections, requests)));
        }
        let after = measure(runtime, env, &health, connections, requests);
        let base = (before.rate + after.rate) / 2.0;
        before.print(&format!("{} (before)", health.name), base);
        for (route, measured) in &rows {
            measured.print(&route.name, base);
        }
        after.print(&format!("{} (after)", health.name), base);
    }
}

/// One route to drive: the request, whom it is from, the entity tag to
/// revalidate (then 304 counts as success) and whether it accepts gzip.
#[derive(Clone)]
struct Route {
    path: String,
    name: String,
    token: Option<String>,
    tag: Option<String>,
    gzip: bool,
}

/// One answer: latency, body bytes as sent, and the host's `--stats`
/// headers (SQLite statements, SQLite µs, handler µs, instantiate µs,
/// statements SQLite compiled again).
type Sample = (Duration, usize, [u64; 5]);

struct Measured {
    rate: f64,
    latencies: Vec<Duration>,
    body: usize,
    stats: [u64; 4],
    /// Statements compiled again per request, on average.
    recompiled: f64,
    errors: usize,
}

impl Measured {
    fn print(&self, name: &str, base: f64) {
        println!(
            "| {name} | {:.0} | {:.2} | {:.2} ms | {:.2} ms | {} | {} | {} µs | {:.2} | {} µs | {} µs | {} |",
            self.rate,
            self.rate / base,
            ms(percentile(&self.latencies, 0.50)),
            ms(percentile(&self.latencies, 0.99)),
            size(self.body),
            self.stats[0],
            self.stats[1],
            self.recompiled,
            self.stats[2],
            self.stats[3],
            self.errors,
        );
    }
}

fn size(bytes: usize) -> String {
    if bytes >= 10 * 1024 {
        format!("{} KB", bytes / 1024)
    } else {
        format!("{bytes} B")
    }
}

/// Drives `route` (a tenth of the requests as warm-up first) and sums up.
fn measure(
    runtime: &tokio::runtime::Runtime,
    env: &Env,
    route: &Route,
    connections: usize,
    requests: usize,
) -> Measured {
    let addr = env.host.addr();
    runtime.block_on(drive(addr, route, connections, requests / 10));
    let started = Instant::now();
    let samples = runtime.block_on(drive(addr, route, connections, requests));
    let elapsed = started.elapsed();
    let errors = samples.iter().filter(|s| s.is_err()).count();
    if let Some(Err(first)) = samples.iter().find(|s| s.is_err()) {
        eprintln!("{}: {errors} errors, the first: {first}", route.name);
    }
    let mut ok: Vec<Sample> = samples.into_iter().filter_map(Result::ok).collect();
    ok.sort_unstable_by_key(|s| s.0);
    let median = |i: usize| {
        let mut values: Vec<u64> = ok.iter().map(|s| s.2[i]).collect();
        values.sort_unstable();
        values.get(values.len() / 2).copied().unwrap_or(0)
    };
    Measured {
        rate: requests as f64 / elapsed.as_secs_f64(),
        body: ok.first().map_or(0, |s| s.1),
        stats: [median(0), median(1), median(2), median(3)],
        recompiled: ok.iter().map(|s| s.2[4] as f64).sum::<f64>() / ok.len().max(1) as f64,
        latencies: ok.iter().map(|s| s.0).collect(),
        errors,
    }
}

/// Sends `total` GETs of `route` over `connections` keep-alive
/// connections, each sending its share one after another.
async fn drive(
    addr: SocketAddr,
    route: &Route,
    connections: usize,
    total: usize,
) -> Vec<Result<Sample, String>> {
    let per_connection = total.div_ceil(connections);
    let mut tasks = Vec::new();
    for index in 0..connections {
        let count = per_connection.min(total.saturating_sub(index * per_connection));
        tasks.push(tokio::spawn(connection(addr, route.clone(), count)));
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

async fn connection(addr: SocketAddr, route: Route, count: usize) -> Vec<Result<Sample, String>> {
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
    let expected = if route.tag.is_some() {
        http::StatusCode::NOT_MODIFIED
    } else {
        http::StatusCode::OK
    };
    let mut samples = Vec::with_capacity(count);
    for _ in 0..count {
        let mut request =
            http::Request::get(route.path.as_str()).header(http::header::HOST, addr.to_string());
        if let Some(token) = &route.token {
            request = request.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(tag) = &route.tag {
            request = request.header(http::header::IF_NONE_MATCH, tag.as_str());
        }
        if route.gzip {
            request = request.header(http::header::ACCEPT_ENCODING, "gzip, deflate, br");
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
            let stat = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            let stats = [
                stat("llmos-sqlite-statements"),
                stat("llmos-sqlite-us"),
                stat("llmos-handler-us"),
                stat("llmos-instantiate-us"),
                stat("llmos-sqlite-reprepares"),
            ];
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?;
            if status != expected {
                return Err(format!("status {status}"));
            }
            Ok((started.elapsed(), body.to_bytes().len(), stats))
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
