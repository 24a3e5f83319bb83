//! `llmos up`: build what is stale, load the app, listen, and run the cron
//! triggers until interrupted.
//!
//! Once listening, stdout gets one line `Serving http://<bound address>`,
//! the address actually bound (so `--listen 127.0.0.1:0` reports its port);
//! scripts and tests read it.
//!
//! When the manifest declares the variable `skill_builder_url` and nothing
//! sets it (`SPIN_VARIABLE_SKILL_BUILDER_URL`, `LLMOS_SKILL_BUILDER_URL`),
//! `llmos up` also serves the skill builder on a free loopback port and
//! gives the app its address, as a user running `llmos skills builder`
//! next to `spin up` would; `--no-builder` leaves it out.

use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;

use llmos_host::runtime::Runtime;
use llmos_host::skill_builder::{self, SkillBuilder};
use llmos_host::trigger::http::{AppHost, HttpOptions};
use llmos_host::trigger::{cron, server};
use llmos_host::variables::{EnvSource, ProcessEnv};

use super::{AppArgs, RuntimeArgs, parse_size};

/// Arguments of `llmos up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    app: AppArgs,
    #[command(flatten)]
    runtime: RuntimeArgs,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Largest request body, e.g. `10MiB`. The default lets a built
    /// Python skill component (about 20 MB) be uploaded.
    #[arg(long, default_value = "64MiB", value_parser = parse_size)]
    max_body: u64,
    /// Do not build stale components first.
    #[arg(long)]
    no_build: bool,
    /// Report each request's costs in response headers: instantiation
    /// (`llmos-instantiate-us`), the guest's time to its response head
    /// (`llmos-handler-us`), the SQLite statements it ran and their time
    /// (`llmos-sqlite-statements`, `llmos-sqlite-us`), and how often SQLite
    /// had to compile one of them again (`llmos-sqlite-reprepares`).
    #[arg(long)]
    stats: bool,
    /// Do not serve the skill builder for `POST /skills/{id}/build`.
    #[arg(long)]
    no_builder: bool,
}

/// The app variable holding the skill builder's address.
const BUILDER_VARIABLE: &str = "skill_builder_url";

/// The process environment with the builder's address added.
struct WithBuilder {
    extra: HashMap<String, String>,
}

impl EnvSource for WithBuilder {
    fn var(&self, name: &str) -> Option<String> {
        self.extra
            .get(name)
            .cloned()
            .or_else(|| ProcessEnv.var(name))
    }
}

/// Whether the app wants a builder that nothing else provides.
fn wants_builder(manifest: &llmos_host::manifest::Manifest) -> bool {
    manifest.variables.contains_key(BUILDER_VARIABLE)
        && ProcessEnv
            .var(&format!(
                "SPIN_VARIABLE_{}",
                BUILDER_VARIABLE.to_ascii_uppercase()
            ))
            .is_none()
        && ProcessEnv.var("LLMOS_SKILL_BUILDER_URL").is_none()
}

/// Runs `llmos up`.
pub fn run(args: UpArgs) -> anyhow::Result<()> {
    let manifest = args.app.manifest()?;
    if !args.no_build {
        let stale = llmos_host::builder::stale_components(&manifest);
        if !stale.is_empty() {
            llmos_host::builder::build(&manifest, Some(&stale))?;
        }
    }
    // The builder's port is bound before the app loads, so its address
    // can be one of the app's variables.
    let builder = if !args.no_builder && wants_builder(&manifest) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .context("cannot listen for the skill builder")?;
        listener.set_nonblocking(true)?;
        let url = format!("http://{}", listener.local_addr()?);
        let service = SkillBuilder::new(skill_builder::config_for(&manifest.dir));
        Some((listener, url, service))
    } else {
        None
    };
    let app = match &builder {
        Some((_, url, _)) => {
            let env = WithBuilder {
                extra: HashMap::from([(
                    format!("SPIN_VARIABLE_{}", BUILDER_VARIABLE.to_ascii_uppercase()),
                    url.clone(),
                )]),
            };
            args.app.load_with(manifest, &env)?
        }
        None => args.app.load(manifest)?,
    };
    let runtime = Runtime::new(
        &app,
        args.runtime.limits()?,
        &args.runtime.cache(&app.data_dir),
        None,
    )?;
    let host = AppHost::new(
        &app,
        runtime,
        HttpOptions {
            max_body: args.max_body,
            stats: args.stats,
        },
    )?;

    let tokio = super::async_runtime()?;
    tokio.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let bound = listener.local_addr()?;
        if let Some((std_listener, url, service)) = builder {
            let listener = tokio::net::TcpListener::from_std(std_listener)?;
            tracing::info!("skill builder on {url}");
            let service: Arc<SkillBuilder> = service;
            tokio::spawn(async move {
                let never = std::future::pending::<()>();
                if let Err(err) = skill_builder::serve(service, listener, never).await {
                    tracing::warn!("the skill builder stopped: {err:#}");
                }
            });
        }
        print_banner(&app, &host, bound)?;
        cron::start(&host, &app.manifest.cron_triggers)?;
        server::serve(host, listener, shutdown_signal()).await
    })?;
    println!("Stopped");
    Ok(())
}

fn print_banner(
    app: &llmos_host::app::App,
    host: &AppHost,
    bound: SocketAddr,
) -> anyhow::Result<()> {
    let base = format!("http://{bound}");
    let mut out = std::io::stdout().lock();
    writeln!(out, "Serving {base}")?;
    writeln!(out, "Available Routes:")?;
    for (route, _wildcard, component) in host.router().routes() {
        writeln!(out, "  {component}: {base}{route}")?;
        if let Some(decl) = app.manifest.components.get(component)
            && !decl.description.is_empty()
        {
            writeln!(out, "    {}", decl.description)?;
        }
    }
    for trigger in &app.manifest.cron_triggers {
        writeln!(
            out,
            "  {}: cron \"{}\"",
            trigger.component, trigger.cron_expression
        )?;
    }
    if let Some(token) = &app.admin_token {
        writeln!(out, "Open the workbench: {base}/?token={token}")?;
    }
    out.flush()?;
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = interrupt => {}
                _ = terminate.recv() => {}
            }
        }
        Err(_) => {
            let _ = interrupt.await;
        }
    }
}
