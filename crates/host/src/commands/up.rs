//! `llmos up`: build what is stale, load the app, listen, and run the cron
//! triggers until interrupted.
//!
//! Once listening, stdout gets one line `Serving http://<bound address>`,
//! the address actually bound (so `--listen 127.0.0.1:0` reports its port);
//! scripts and tests read it.

use std::io::Write as _;
use std::net::SocketAddr;

use anyhow::Context as _;
use clap::Args;

use llmos_host::runtime::Runtime;
use llmos_host::trigger::http::{AppHost, HttpOptions};
use llmos_host::trigger::{cron, server};

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
    /// Largest request body, e.g. `10MiB`.
    #[arg(long, default_value = "10MiB", value_parser = parse_size)]
    max_body: u64,
    /// Do not build stale components first.
    #[arg(long)]
    no_build: bool,
    /// Report each request's instantiation time in the `llmos-instantiate-us` response header.
    #[arg(long)]
    stats: bool,
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
    let app = args.app.load(manifest)?;
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

    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("while starting the async runtime")?;
    tokio.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let bound = listener.local_addr()?;
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
