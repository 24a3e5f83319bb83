//! `llmos-skill-build FILE.md [-o FILE.wasm]`: builds one compiled skill
//! file into its component, next to it by default.
//!
//! On failure it prints `FILE:LINE:COLUMN: error[code]: message` (and the
//! compiler's output) and exits 1; `--json` prints the API error body
//! instead. `--skip-fresh` leaves an output that is newer than the skill
//! file and whose provenance names the file's current source digest, so
//! repeated builds of many skills are fast.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use llmos_core::skill::component::{self, Freshness};
use llmos_skill_build::{BuildConfig, BuildError, build, find_repo_root};

#[derive(Debug, Parser)]
#[command(version, about = "Build a compiled skill file into a skill component")]
struct Args {
    /// The skill file (Markdown with front matter and one code block).
    file: PathBuf,
    /// Where to write the component (default: the file with `.wasm`).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// The repository root (default: found above the current directory).
    #[arg(long)]
    root: Option<PathBuf>,
    /// Build Rust skills with `cargo --offline`.
    #[arg(long)]
    offline: bool,
    /// Do nothing when the output is newer than the file and was built
    /// from its current source.
    #[arg(long)]
    skip_fresh: bool,
    /// Print the result (or the API error body) as JSON.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("llmos-skill-build: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<()> {
    let root = match &args.root {
        Some(root) => root.clone(),
        None => {
            let cwd = std::env::current_dir().context("while reading the current directory")?;
            find_repo_root(&cwd).context(
                "while looking for the repository root (a directory with wit/skill/skill.wit) above the current directory; pass --root",
            )?
        }
    };
    let mut config = BuildConfig::discover(&root);
    config.offline |= args.offline;
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| args.file.with_extension("wasm"));
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("while reading {}", args.file.display()))?;
    let path = args.file.to_string_lossy().into_owned();

    if args.skip_fresh && is_fresh(&text, &path, &args.file, &output) {
        if args.json {
            println!(
                "{}",
                serde_json::json!({"file": path, "output": output, "fresh": true})
            );
        } else {
            println!("{}: up to date", output.display());
        }
        return Ok(());
    }

    match build(&text, &path, &config) {
        Ok(built) => {
            std::fs::write(&output, &built.bytes)
                .with_context(|| format!("while writing {}", output.display()))?;
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "file": path,
                        "output": output,
                        "language": built.language,
                        "toolchain": built.toolchain,
                        "size": built.info.size,
                        "sha256": built.info.sha256,
                        "seconds": built.duration.as_secs_f64(),
                    })
                );
            } else {
                println!(
                    "{}: {} component, {} bytes, {:.1} s ({})",
                    output.display(),
                    built.language,
                    built.info.size,
                    built.duration.as_secs_f64(),
                    built.toolchain
                );
            }
            Ok(())
        }
        Err(e) => {
            if args.json {
                println!("{}", e.to_json());
            } else {
                report(&path, &e);
            }
            anyhow::bail!("{path} did not build ({})", e.code())
        }
    }
}

/// `FILE:LINE:COLUMN: error[code]: message`, then the compiler's output.
fn report(path: &str, e: &BuildError) {
    if let BuildError::Parse(parse) = e {
        // The parser's message names the file and line already.
        eprintln!("error[{}]: {parse}", e.code());
        return;
    }
    let place = match (e.line(), e.column()) {
        (Some(l), Some(c)) => format!("{path}:{l}:{c}"),
        (Some(l), None) => format!("{path}:{l}"),
        _ => path.to_owned(),
    };
    // The message starts with the place too when it has one.
    let message = e.to_string();
    let message = match (e.line(), e.column()) {
        (Some(l), Some(c)) => message.strip_prefix(&format!("line {l}, column {c}: ")),
        (Some(l), None) => message.strip_prefix(&format!("line {l}: ")),
        _ => None,
    }
    .unwrap_or(&message);
    eprintln!("{place}: error[{}]: {message}", e.code());
    if let BuildError::Compile { output, .. } = e
        && !output.is_empty()
    {
        eprintln!("{output}");
    }
}

/// Whether `output` was built from the current source of the skill file
/// and is newer than it.
fn is_fresh(text: &str, path: &str, file: &Path, output: &Path) -> bool {
    let newer = match (
        std::fs::metadata(file).and_then(|m| m.modified()),
        std::fs::metadata(output).and_then(|m| m.modified()),
    ) {
        (Ok(source), Ok(built)) => built >= source,
        _ => false,
    };
    if !newer {
        return false;
    }
    let (Ok(skill), Ok(bytes)) = (
        llmos_core::skill::parse(Some(path), text),
        std::fs::read(output),
    ) else {
        return false;
    };
    let Ok(info) = component::inspect(&bytes) else {
        return false;
    };
    matches!(component::freshness(&skill, &info), Some(Freshness::Fresh))
}
