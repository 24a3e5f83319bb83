//! The `llmos` command line: one module per subcommand, each a thin layer
//! over the library (later subcommands such as `volumes` and `evolve` get a
//! module of their own here). Options shared by several subcommands live
//! here.

pub mod build;
pub mod evolve;
pub mod skills;
pub mod token;
pub mod traces;
pub mod up;
pub mod volumes;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

use llmos_host::app::{self, App};
use llmos_host::manifest::Manifest;
use llmos_host::runtime::Limits;
use llmos_host::runtime::compile_cache::CompileCache;
use llmos_host::variables::{EnvSource, ProcessEnv};

/// LLMos-Lite: run and manage the Spin app of a `spin.toml`.
#[derive(Debug, Parser)]
#[command(name = "llmos", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the app over HTTP and run its cron triggers.
    Up(up::UpArgs),
    /// Run every component's build command.
    Build(build::BuildArgs),
    /// Manage API tokens.
    Token(token::TokenArgs),
    /// Export, import and check the git volumes of the data directory.
    Volumes(volumes::VolumesArgs),
    /// Run one evolution pass (drafts skills from repeated patterns in traces).
    Evolve(evolve::EvolveArgs),
    /// Import traces from a JSON-lines file.
    Traces(traces::TracesArgs),
    /// Build compiled skills into components, or serve the skill builder.
    Skills(skills::SkillsArgs),
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Up(args) => up::run(args),
        Command::Build(args) => build::run(args),
        Command::Token(args) => token::run(args),
        Command::Volumes(args) => volumes::run(args),
        Command::Evolve(args) => evolve::run(args),
        Command::Traces(args) => traces::run(args),
        Command::Skills(args) => skills::run(args),
    }
}

/// Which app to use.
#[derive(Debug, Args)]
pub struct AppArgs {
    /// The manifest, or a directory containing `spin.toml`.
    #[arg(short = 'f', long = "from", default_value = "spin.toml")]
    pub from: PathBuf,
    /// State directory (databases, admin token) [default: `.spin` next to the manifest].
    #[arg(long, env = "LLMOS_VOLUMES_PATH")]
    pub data_dir: Option<PathBuf>,
    /// A Spin runtime configuration file defining extra SQLite databases and key-value stores.
    #[arg(long)]
    pub runtime_config_file: Option<PathBuf>,
}

impl AppArgs {
    /// Reads and validates the manifest.
    pub fn manifest(&self) -> anyhow::Result<Manifest> {
        let path = if self.from.is_dir() {
            self.from.join("spin.toml")
        } else {
            self.from.clone()
        };
        Ok(Manifest::load(&path)?)
    }

    /// Resolves the manifest into an app.
    pub fn load(&self, manifest: Manifest) -> anyhow::Result<App> {
        self.load_with(manifest, &ProcessEnv)
    }

    /// Resolves the manifest into an app, reading variables from `env`.
    pub fn load_with(&self, manifest: Manifest, env: &dyn EnvSource) -> anyhow::Result<App> {
        let data_dir = app::data_dir_for(&manifest, self.data_dir.as_deref());
        App::load(manifest, data_dir, self.runtime_config_file.as_deref(), env)
    }
}

/// Sandbox limits and compilation settings.
#[derive(Debug, Args)]
pub struct RuntimeArgs {
    /// How long one request (or cron run) may take, e.g. `30s`, `500ms`, `2m`.
    /// Spin sets no limit; two minutes lets a skill build or a long
    /// streamed answer finish.
    #[arg(long, default_value = "120s", value_parser = parse_duration)]
    pub deadline: Duration,
    /// Largest linear memory of a guest, e.g. `256MiB`.
    #[arg(long, default_value = "256MiB", value_parser = parse_size)]
    pub max_memory: u64,
    /// Directory for compiled components [default: `$XDG_CACHE_HOME/llmos` or `~/.cache/llmos`].
    #[arg(long, env = "LLMOS_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Compile components on every start instead of caching.
    #[arg(long)]
    pub no_cache: bool,
}

impl RuntimeArgs {
    /// The limits to apply.
    pub fn limits(&self) -> anyhow::Result<Limits> {
        Ok(Limits {
            deadline: self.deadline,
            max_memory: usize::try_from(self.max_memory).context("--max-memory is too large")?,
        })
    }

    /// The compiled-code cache to use.
    pub fn cache(&self, data_dir: &Path) -> CompileCache {
        if self.no_cache {
            return CompileCache::disabled();
        }
        CompileCache::new(
            self.cache_dir
                .clone()
                .unwrap_or_else(|| CompileCache::default_dir(&data_dir.join("cache"))),
        )
    }
}

/// Parses `30s`, `500ms`, `2m`, `1h` or a plain number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 30s or 500ms"))?;
    let seconds = match unit.trim() {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("unknown duration unit {other:?} in {text:?}")),
    };
    if !(seconds > 0.0 && seconds.is_finite()) {
        return Err(format!("{text:?} must be a positive duration"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Parses `10MiB`, `256M`, `1GiB`, `64k` or a plain number of bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size like 10MiB"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown size unit {other:?} in {text:?}")),
    };
    value
        .checked_mul(factor)
        .filter(|v| *v > 0)
        .ok_or_else(|| format!("{text:?} must be a positive size"))
}

/// The multi-threaded async runtime the serving commands run on.
fn async_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("while starting the async runtime")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("0s").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10MiB"), Ok(10 << 20));
        assert_eq!(parse_size("256M"), Ok(256 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("lots").is_err());
    }
}
