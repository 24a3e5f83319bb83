//! HTTP throughput and latency of the real host.
//!
//! Starts `llmos up --stats` with `tests/manifests/bench`, then drives two
//! routes of the probe component with 64 concurrent keep-alive connections
//! on loopback: `/_/health` (no host calls) and `/_/sqlite/get` (one SQLite
//! read), after the host's own `/.well-known/spin/health` as a baseline. Reports requests/s, latency percentiles, and the per-request
//! instantiation time the host reports in `llmos-instantiate-us`.
//!
//! Run (from the workspace root):
//!     cargo build --release -p llmos-host
//!     cargo build --target wasm32-wasip2 --release -p probe
//!     cargo bench -p llmos-tests --bench http
//!
//! `BENCH_REQUESTS` sets the requests per route (default 40000),
//! `BENCH_CONNECTIONS` the connections (default 64). The load generator runs
//! on one thread so it takes at most one of the machine's cores.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper_util::rt::TokioIo;
use llmos_tests::{HostConfig, test_manifest};

#[derive(Clone)]
struct Sample {
    latency: Duration,
    instantiate_us: Option<u64>,
}

struct Report {
    route: &'static str,
    requests: usize,
    errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    instantiate: Vec<u64>,
}

fn main() {
    // `cargo test --all-targets` runs bench binaries too, without `--bench`:
    // a benchmark is not a test, so do nothing then.
    if !std::env::args().any(|arg| arg == "--bench") {
        println!("http benchmark skipped: run it with `cargo bench -p llmos-tests --bench http`");
        return;
    }
    let requests: usize = env_or("BENCH_REQUESTS", 40_000);
    let connections: usize = env_or("BENCH_CONNECTIONS", 64);
    let host = HostConfig::new(test_manifest("bench"))
        .arg("--stats")
        .start();
    let addr = host.addr();
    assert_eq!(host.post("/_/sqlite/put?k=bench&v=value", "").status, 200);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    println!(
        "llmos HTTP benchmark: {connections} connections, {requests} requests per route, host {addr}"
    );
    // The baseline is the host's own health endpoint: the same HTTP stack
    // and load generator, no component. It shows what the wasm path adds.
    let routes = [
        ("/.well-known/spin/health", "baseline (no component)"),
        ("/_/health", "health"),
        ("/_/sqlite/get?k=bench", "sqlite read"),
    ];
    let mut reports = Vec::new();
    for (path, name) in routes {
        // Warm the instance pool, the connection pool and the caches.
        runtime.block_on(drive(addr, path, connections, requests / 10));
        let started = Instant::now();
        let samples = runtime.block_on(drive(addr, path, connections, requests));
        let elapsed = started.elapsed();
        let errors = samples.iter().filter(|s| s.is_err()).count();
        let ok: Vec<Sample> = samples.into_iter().filter_map(Result::ok).collect();
        reports.push(Report {
            route: name,
            requests,
            errors,
            elapsed,
            latencies: ok.iter().map(|s| s.latency).collect(),
            instantiate: ok.iter().filter_map(|s| s.instantiate_us).collect(),
        });
    }

    println!();
    println!(
        "| route | requests | errors | req/s | p50 | p90 | p99 | max | instantiate p50 | instantiate p99 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for mut report in reports {
        report.latencies.sort_unstable();
        report.instantiate.sort_unstable();
        let rps = report.requests as f64 / report.elapsed.as_secs_f64();
        println!(
            "| {} | {} | {} | {:.0} | {} | {} | {} | {} | {} µs | {} µs |",
            report.route,
            report.requests,
            report.errors,
            rps,
            ms(percentile(&report.latencies, 0.50)),
            ms(percentile(&report.latencies, 0.90)),
            ms(percentile(&report.latencies, 0.99)),
            ms(report.latencies.last().copied().unwrap_or_default()),
            percentile(&report.instantiate, 0.50),
            percentile(&report.instantiate, 0.99),
        );
    }
}

/// Sends `total` GET requests for `path` over `connections` keep-alive
/// connections, each sending its share one after another.
async fn drive(
    addr: std::net::SocketAddr,
    path: &'static str,
    connections: usize,
    total: usize,
) -> Vec<Result<Sample, String>> {
    let per_connection = total.div_ceil(connections);
    let mut tasks = Vec::new();
    for index in 0..connections {
        let count = per_connection.min(total.saturating_sub(index * per_connection));
        tasks.push(tokio::spawn(connection(addr, path, count)));
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
    addr: std::net::SocketAddr,
    path: &'static str,
    count: usize,
) -> Vec<Result<Sample, String>> {
    let mut samples = Vec::with_capacity(count);
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
    for _ in 0..count {
        let request = http::Request::get(path)
            .header(http::header::HOST, addr.to_string())
            .body(Empty::<Bytes>::new())
            .expect("request");
        let started = Instant::now();
        let result = async {
            sender.ready().await.map_err(|e| e.to_string())?;
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status();
            let instantiate_us = response
                .headers()
                .get("llmos-instantiate-us")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok());
            response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?;
            if !status.is_success() {
                return Err(format!("status {status}"));
            }
            Ok(Sample {
                latency: started.elapsed(),
                instantiate_us,
            })
        }
        .await;
        samples.push(result);
    }
    samples
}

fn percentile<T: Copy + Default>(sorted: &[T], q: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
