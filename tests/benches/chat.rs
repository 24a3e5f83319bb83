//! Time to the first streamed byte that the chat component adds over the
//! model's own: the same streamed answer from the loopback mock LLM, read
//! once directly from the mock and once through `POST /chat` on the real
//! `llmos up` (authentication, conversation and skill ranking over the
//! system skills, the outbound call, the SSE relay).
//!
//! ```text
//! ./dev build
//! cargo bench -p llmos-tests --bench chat
//! # options: BENCH_TURNS (default 200)
//! ```
//!
//! Prints p50/p90/p99 of both and their difference; asserts nothing.
//! Results are in BENCHMARKS.md ("Chat").

use std::io::Read as _;
use std::time::{Duration, Instant};

use llmos_tests::mock_llm::MockLlm;
use llmos_tests::{HostConfig, app_manifest};
use serde_json::json;

/// Reads `response` until `marker` appears; returns the time it took from
/// `started`.
fn until(mut response: reqwest::blocking::Response, marker: &str, started: Instant) -> Duration {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = response.read(&mut buf).expect("read");
        assert!(n > 0, "stream ended before {marker:?}");
        seen.extend_from_slice(&buf[..n]);
        if String::from_utf8_lossy(&seen).contains(marker) {
            let at = started.elapsed();
            // Drain so the connection and the turn finish.
            let _ = response.read_to_end(&mut seen);
            return at;
        }
    }
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn report(name: &str, samples: &mut [Duration]) -> Duration {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<28} p50 {:7.2} ms   p90 {:7.2} ms   p99 {:7.2} ms",
        ms(percentile(samples, 0.5)),
        ms(percentile(samples, 0.9)),
        ms(percentile(samples, 0.99))
    );
    percentile(samples, 0.5)
}

fn main() {
    let turns: usize = std::env::var("BENCH_TURNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let mock = MockLlm::start();
    let host = HostConfig::new(app_manifest())
        .env("SPIN_VARIABLE_LLM_BASE_URL", mock.url())
        .start();
    let token = host.create_token("bench", &[], "user");
    let client = reqwest::blocking::Client::new();
    let direct = |client: &reqwest::blocking::Client| {
        let started = Instant::now();
        let response = client
            .post(format!("{}/v1/messages", mock.url()))
            .header("content-type", "application/json")
            .body(
                json!({"model": "m", "max_tokens": 10, "stream": true,
                         "messages": [{"role": "user", "content": "plot a sine wave"}]})
                .to_string(),
            )
            .send()
            .expect("mock request");
        until(response, "text_delta", started)
    };
    let through_chat = |client: &reqwest::blocking::Client| {
        let started = Instant::now();
        let response = client
            .post(host.url("/chat"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(json!({"message": "plot a sine wave", "stream": true}).to_string())
            .send()
            .expect("chat request");
        assert_eq!(response.status().as_u16(), 200);
        until(response, "event: delta", started)
    };
    for _ in 0..10 {
        direct(&client);
        through_chat(&client);
    }
    let mut mock_only = Vec::with_capacity(turns);
    let mut via_chat = Vec::with_capacity(turns);
    for _ in 0..turns {
        mock_only.push(direct(&client));
        via_chat.push(through_chat(&client));
    }
    println!("{turns} streamed turns, first delta at the client:");
    let a = report("mock directly", &mut mock_only);
    let b = report("through POST /chat", &mut via_chat);
    println!(
        "added by the component and host (p50): {:.2} ms",
        (b.as_secs_f64() - a.as_secs_f64()) * 1000.0
    );
}
