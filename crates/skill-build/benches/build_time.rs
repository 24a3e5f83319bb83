//! Build time and component size per language: builds the fixtures of
//! `tests/skills/` with the real toolchains and prints one line each
//! (`cargo bench -p llmos-skill-build`; the numbers go to BENCHMARKS.md).
//!
//! "build" is the whole `build` call (compile, provenance, load and port
//! check); "load" is the skill runtime parsing the finished component
//! again, the part of it that runs at the edge and in the browser. Rust
//! builds share the work dir's cargo target dir, so after the first build
//! (cold when the work dir is new) they measure warm ones. A language whose
//! tool is missing is reported as skipped.

use std::path::Path;
use std::time::{Duration, Instant};

use llmos_skill_build::{BuildConfig, build, find_repo_root};
use llmos_skill_runtime::SkillRuntime;

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let root = find_repo_root(Path::new(env!("CARGO_MANIFEST_DIR")))
        .ok_or_else(|| anyhow::anyhow!("not inside the repository"))?;
    let config = BuildConfig::discover(&root);
    let has = |tool: &Option<std::path::PathBuf>| tool.as_deref().is_some_and(Path::exists);
    let cases = [
        ("rust", "ode-solver.md", 3, true),
        ("wat", "answer.md", 10, true),
        ("python", "mean.md", 1, has(&config.componentize_py)),
        (
            "javascript",
            "sum.md",
            1,
            has(&config.componentize_js) && has(&config.node),
        ),
    ];
    println!(
        "{:<11} {:>10} {:>10} {:>12}  toolchain",
        "language", "build", "load", "bytes"
    );
    for (language, file, runs, available) in cases {
        if !available {
            println!("{language:<11} skipped: its toolchain is not installed (./dev setup)");
            continue;
        }
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/skills")
            .join(file);
        let text = std::fs::read_to_string(&path)?;
        let skill_path = format!("skills/{file}");
        let once =
            || build(&text, &skill_path, &config).map_err(|e| anyhow::anyhow!("{file}: {e}"));
        let mut built = once()?;
        let first = built.duration;
        let mut warm = Vec::new();
        for _ in 1..runs {
            built = once()?;
            warm.push(built.duration);
        }
        let started = Instant::now();
        SkillRuntime::default()
            .load(&built.bytes)
            .map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
        let load = started.elapsed();
        let (time, note) = if warm.is_empty() {
            (first, String::new())
        } else {
            (
                median(warm),
                format!(" (first build {:.1} s)", first.as_secs_f64()),
            )
        };
        println!(
            "{language:<11} {:>9.2}s {:>9.3}s {:>12}  {}{note}",
            time.as_secs_f64(),
            load.as_secs_f64(),
            built.info.size,
            built.toolchain,
        );
    }
    Ok(())
}
