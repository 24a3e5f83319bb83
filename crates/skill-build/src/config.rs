//! Where the builder finds its tools and keeps its scratch files.
//!
//! [`BuildConfig::discover`] looks where `./dev setup` installs the skill
//! toolchains (see `tools/skill-toolchains/README.md`), each overridable by
//! an environment variable:
//!
//! | what | default | variable |
//! |---|---|---|
//! | scratch dirs, shared cargo target dir | `<root>/.llmos/skill-build` | `LLMOS_SKILL_BUILD_DIR` |
//! | componentize-py | `<root>/.llmos/skill-toolchains/venv/bin/componentize-py` | `LLMOS_COMPONENTIZE_PY` |
//! | componentize-js | `<root>/tools/skill-toolchains/node_modules/.bin/componentize-js` | `LLMOS_COMPONENTIZE_JS` |
//! | node | `node` on `PATH` | `LLMOS_NODE` |
//! | python (syntax checks) | the venv's `python3`, else `python3` on `PATH` | `LLMOS_PYTHON` |
//! | offline cargo builds | off | `LLMOS_SKILL_BUILD_OFFLINE=1` (or cargo's own `CARGO_NET_OFFLINE`) |
//! | timeout per compiler run | 600 s | `LLMOS_SKILL_BUILD_TIMEOUT` (seconds) |
//!
//! Cargo and rustc are the ones on `PATH` (or `CARGO` / `RUSTC`, as cargo
//! itself sets them).

use std::env;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Seconds one compiler run may take by default. The first Rust build on
/// a machine compiles the SDK's dependencies (about a minute and a half on
/// two cores); later ones take seconds.
pub const DEFAULT_TIMEOUT_SECS: u64 = 600;

/// The venv `./dev setup` creates for componentize-py, under the
/// repository root.
pub const PYTHON_VENV: &str = ".llmos/skill-toolchains/venv";

/// The npm prefix of componentize-js, under the repository root.
pub const NPM_PREFIX: &str = "tools/skill-toolchains";

/// Scratch space, under the repository root.
pub const WORK_DIR: &str = ".llmos/skill-build";

/// Everything a build needs from the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildConfig {
    /// Scratch dirs (one per build, removed afterwards) and the cargo
    /// target dir all Rust skills share, so later builds reuse compiled
    /// dependencies.
    pub work_dir: PathBuf,
    /// `crates/skill-sdk` of this checkout.
    pub sdk_dir: PathBuf,
    /// `wit/skill`.
    pub wit_dir: PathBuf,
    /// The workspace `Cargo.lock`, copied into each skill crate so it
    /// resolves the workspace's versions (offline too).
    pub cargo_lock: Option<PathBuf>,
    pub componentize_py: Option<PathBuf>,
    /// The npm bin of componentize-js (run with [`BuildConfig::node`]).
    pub componentize_js: Option<PathBuf>,
    pub node: Option<PathBuf>,
    /// For syntax checks with line numbers before componentize-py runs.
    pub python: Option<PathBuf>,
    /// `cargo build --offline`.
    pub offline: bool,
    /// Per compiler run.
    pub timeout: Duration,
}

fn var(name: &str) -> Option<String> {
    env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn existing(path: PathBuf) -> Option<PathBuf> {
    path.exists().then_some(path)
}

/// `program` as found on `PATH`.
pub(crate) fn on_path(program: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

fn truthy(value: Option<String>) -> bool {
    value.is_some_and(|v| matches!(v.trim(), "1" | "true" | "yes" | "on"))
}

impl BuildConfig {
    /// The tools installed by `./dev setup` for the checkout at
    /// `repo_root` (see the module docs for the locations and overrides).
    pub fn discover(repo_root: &Path) -> BuildConfig {
        // Compilers run in scratch dirs: a relative root would name other
        // places there.
        let repo_root = &std::path::absolute(repo_root).unwrap_or_else(|_| repo_root.to_path_buf());
        let venv = repo_root.join(PYTHON_VENV);
        let work_dir = var("LLMOS_SKILL_BUILD_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root.join(WORK_DIR));
        let componentize_py = var("LLMOS_COMPONENTIZE_PY")
            .map(PathBuf::from)
            .or_else(|| existing(venv.join("bin/componentize-py")));
        let componentize_js = var("LLMOS_COMPONENTIZE_JS").map(PathBuf::from).or_else(|| {
            existing(
                repo_root
                    .join(NPM_PREFIX)
                    .join("node_modules/.bin/componentize-js"),
            )
        });
        let node = var("LLMOS_NODE")
            .map(PathBuf::from)
            .or_else(|| on_path("node"));
        let python = var("LLMOS_PYTHON")
            .map(PathBuf::from)
            .or_else(|| existing(venv.join("bin/python3")))
            .or_else(|| on_path("python3"));
        let timeout = var("LLMOS_SKILL_BUILD_TIMEOUT")
            .and_then(|s| s.trim().parse::<u64>().ok())
            .filter(|s| *s > 0)
            .unwrap_or(DEFAULT_TIMEOUT_SECS);
        BuildConfig {
            work_dir,
            sdk_dir: repo_root.join("crates/skill-sdk"),
            wit_dir: repo_root.join("wit/skill"),
            cargo_lock: existing(repo_root.join("Cargo.lock")),
            componentize_py,
            componentize_js,
            node,
            python,
            offline: truthy(var("LLMOS_SKILL_BUILD_OFFLINE")) || truthy(var("CARGO_NET_OFFLINE")),
            timeout: Duration::from_secs(timeout),
        }
    }
}

/// The repository root at or above `start`: the directory holding
/// `wit/skill/skill.wit`.
pub fn find_repo_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| {
            dir.join("wit/skill/skill.wit").is_file() && dir.join("crates/skill-sdk").is_dir()
        })
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovers_the_checkouts_own_paths() {
        let root =
            find_repo_root(Path::new(env!("CARGO_MANIFEST_DIR"))).expect("inside the repository");
        let config = BuildConfig::discover(&root);
        assert!(config.sdk_dir.join("Cargo.toml").is_file());
        assert!(config.wit_dir.join("skill.wit").is_file());
        assert_eq!(config.cargo_lock, Some(root.join("Cargo.lock")));
        if env::var_os("LLMOS_SKILL_BUILD_DIR").is_none() {
            assert_eq!(config.work_dir, root.join(WORK_DIR));
        }
        assert!(config.timeout >= Duration::from_secs(1));
        assert_eq!(find_repo_root(Path::new("/")), None);
        let relative = BuildConfig::discover(Path::new("."));
        assert!(relative.sdk_dir.is_absolute() && relative.wit_dir.is_absolute());
    }
}
