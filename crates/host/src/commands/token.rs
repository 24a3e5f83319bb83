//! `llmos token create`: issue an API token by calling the app's
//! `POST /auth/tokens` with the admin token, in-process (no port needed).
//!
//! The auth component answers `201 {"token", ...}` for a body
//! `{"user_id", "team_ids": [...], "role"}`; the token is printed alone on
//! stdout so scripts can capture it.

use std::net::SocketAddr;

use anyhow::Context as _;
use bytes::Bytes;
use clap::{Args, Subcommand, ValueEnum};
use http_body_util::{BodyExt as _, Full};

use llmos_host::runtime::Runtime;
use llmos_host::trigger::http::{AppHost, HttpOptions};

use super::{AppArgs, RuntimeArgs};

/// The route that issues tokens.
const TOKENS_PATH: &str = "/auth/tokens";

/// Arguments of `llmos token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    action: TokenAction,
}

#[derive(Debug, Subcommand)]
enum TokenAction {
    /// Issue a token for a user.
    Create(CreateArgs),
}

#[derive(Debug, Args)]
struct CreateArgs {
    #[command(flatten)]
    app: AppArgs,
    #[command(flatten)]
    runtime: RuntimeArgs,
    /// The user the token acts for.
    #[arg(long)]
    user: String,
    /// A team of the user (repeatable).
    #[arg(long = "team")]
    teams: Vec<String>,
    /// The token's role.
    #[arg(long, value_enum, default_value_t = Role::User)]
    role: Role,
    /// Print the whole JSON answer instead of the token alone.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Role {
    User,
    Admin,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }
}

/// Runs `llmos token`.
pub fn run(args: TokenArgs) -> anyhow::Result<()> {
    match args.action {
        TokenAction::Create(args) => create(args),
    }
}

fn create(args: CreateArgs) -> anyhow::Result<()> {
    let manifest = args.app.manifest()?;
    let app = args.app.load(manifest)?;
    let admin_token = app
        .admin_token
        .clone()
        .context("the app declares no `admin_token` variable")?;
    let (router, _) = llmos_host::routing::Router::build(
        app.manifest
            .http_triggers
            .iter()
            .map(|t| (&t.route, t.component.as_str())),
    )?;
    let target = router
        .route(TOKENS_PATH)
        .with_context(|| format!("no route of the app serves {TOKENS_PATH}"))?
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

    let body = serde_json::json!({
        "user_id": args.user,
        "team_ids": args.teams,
        "role": args.role.as_str(),
    });
    let request = http::Request::post(format!("http://localhost{TOKENS_PATH}"))
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

    let tokio = super::async_runtime()?;
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
    let text = String::from_utf8_lossy(&answer);
    if status != http::StatusCode::CREATED {
        anyhow::bail!("POST {TOKENS_PATH} answered {status}: {text}");
    }
    let json: serde_json::Value =
        serde_json::from_slice(&answer).context("the answer is not JSON")?;
    if args.json {
        println!("{json}");
        return Ok(());
    }
    let token = json
        .get("token")
        .and_then(|t| t.as_str())
        .with_context(|| format!("the answer has no \"token\": {text}"))?;
    println!("{token}");
    Ok(())
}
