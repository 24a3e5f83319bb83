//! `llmos evolve [--user U] [--dry-run]`: one evolution pass from the
//! command line, for one user or for every user with traces, with a
//! progress bar.
//!
//! The pass is the evolve component's own (`POST /evolve`, called
//! in-process as the admin, no port needed), so it behaves exactly as the
//! API and the nightly cron run do, with the app's variables
//! (`min_pattern_count`, `min_success_rate`).

use std::net::SocketAddr;

use anyhow::{Context as _, bail};
use bytes::Bytes;
use clap::Args;
use http_body_util::{BodyExt as _, Full};
use indicatif::{ProgressBar, ProgressStyle};

use llmos_host::runtime::Runtime;
use llmos_host::runtime_config::DEFAULT_SQLITE_FILE;
use llmos_host::trigger::http::{AppHost, HttpOptions};
use llmos_store::{RusqliteExecutor, SqlExecutor, SqlValue};

use super::{AppArgs, RuntimeArgs};

/// The route of a pass.
const EVOLVE_PATH: &str = "/evolve";

/// Arguments of `llmos evolve`.
#[derive(Debug, Args)]
pub struct EvolveArgs {
    #[command(flatten)]
    app: AppArgs,
    #[command(flatten)]
    runtime: RuntimeArgs,
    /// Evolve only this user (repeatable) [default: every user with traces].
    #[arg(long = "user")]
    users: Vec<String>,
    /// Report the drafts a pass would write without committing anything.
    #[arg(long)]
    dry_run: bool,
    /// Print each user's whole JSON answer.
    #[arg(long)]
    json: bool,
}

/// Users that have traces in the data directory's trace index.
fn users_with_traces(data_dir: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let path = data_dir.join(DEFAULT_SQLITE_FILE);
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let db = RusqliteExecutor::open(&path)
        .with_context(|| format!("while opening {}", path.display()))?;
    let rows = match db.execute(
        "SELECT DISTINCT user_id FROM trace_index ORDER BY user_id",
        &[],
    ) {
        Ok(rows) => rows,
        // No trace was ever recorded: the index does not exist yet.
        Err(_) => return Ok(Vec::new()),
    };
    Ok(rows
        .rows
        .into_iter()
        .filter_map(|r| {
            r.into_iter().next().and_then(|v| match v {
                SqlValue::Text(t) => Some(t),
                _ => None,
            })
        })
        .collect())
}

/// Runs `llmos evolve`.
pub fn run(args: EvolveArgs) -> anyhow::Result<()> {
    let manifest = args.app.manifest()?;
    let app = args.app.load(manifest)?;
    let admin_token = app
        .admin_token
        .clone()
        .context("the app declares no `admin_token` variable")?;
    let users = if args.users.is_empty() {
        users_with_traces(&app.data_dir)?
    } else {
        args.users.clone()
    };
    if users.is_empty() {
        println!("no traces to evolve from");
        return Ok(());
    }
    let (router, _) = llmos_host::routing::Router::build(
        app.manifest
            .http_triggers
            .iter()
            .map(|t| (&t.route, t.component.as_str())),
    )?;
    let target = router
        .route(EVOLVE_PATH)
        .with_context(|| format!("no route of the app serves {EVOLVE_PATH}"))?
        .component;
    let runtime = Runtime::new(
        &app,
        args.runtime.limits()?,
        &args.runtime.cache(&app.data_dir),
        Some(std::slice::from_ref(&target)),
    )?;
    let host = AppHost::new(
        &app,
        runtime,
        HttpOptions {
            max_body: 1 << 20,
            stats: false,
        },
    )?;
    let tokio = super::async_runtime()?;

    let bar = ProgressBar::new(users.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} evolving {msg} [{bar:30}] {pos}/{len}")
            .expect("the template is valid")
            .progress_chars("=> "),
    );
    let (mut analyzed, mut patterns, mut created, mut retired) = (0u64, 0u64, 0u64, 0u64);
    let mut failures = Vec::new();
    for user in &users {
        bar.set_message(user.clone());
        let body = serde_json::json!({"user_id": user, "auto_apply": !args.dry_run});
        let request = http::Request::post(format!("http://localhost{EVOLVE_PATH}"))
            .header(http::header::HOST, "localhost")
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::AUTHORIZATION, format!("Bearer {admin_token}"))
            .body(
                Full::new(Bytes::from(body.to_string()))
                    .map_err(|never| match never {})
                    .boxed_unsync(),
            )
            .context("while building the request")?;
        let loopback: SocketAddr = ([127, 0, 0, 1], 0).into();
        let (status, answer) = tokio.block_on(async {
            let response = host.handle(request, loopback, loopback).await;
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| anyhow::anyhow!("while reading the answer: {e}"))?
                .to_bytes();
            anyhow::Ok((status, bytes))
        })?;
        bar.inc(1);
        if status != http::StatusCode::OK {
            failures.push(format!(
                "{user}: {status} {}",
                String::from_utf8_lossy(&answer)
            ));
            continue;
        }
        let json: serde_json::Value =
            serde_json::from_slice(&answer).context("the answer is not JSON")?;
        if args.json {
            bar.suspend(|| println!("{json}"));
        }
        let n = |k: &str| json.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
        analyzed += n("traces_analyzed");
        patterns += n("patterns_detected");
        created += n("skills_created");
        retired += json
            .get("retired")
            .and_then(serde_json::Value::as_array)
            .map_or(0, |a| a.len() as u64);
        if !args.json {
            for skill in json
                .get("skills")
                .and_then(serde_json::Value::as_array)
                .into_iter()
                .flatten()
            {
                let field = |k: &str| {
                    skill
                        .get(k)
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or("")
                };
                bar.suspend(|| {
                    println!(
                        "{user}: {} {} ({})",
                        if args.dry_run {
                            "would draft"
                        } else {
                            "drafted"
                        },
                        field("skill_id"),
                        field("verification")
                    );
                });
            }
        }
    }
    bar.finish_and_clear();
    println!(
        "{} user{}: {analyzed} traces analyzed, {patterns} patterns, {created} draft{} {}, {retired} retired",
        users.len(),
        if users.len() == 1 { "" } else { "s" },
        if created == 1 { "" } else { "s" },
        if args.dry_run { "proposed" } else { "created" },
    );
    if !failures.is_empty() {
        bail!(
            "{} pass(es) failed:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
    Ok(())
}
