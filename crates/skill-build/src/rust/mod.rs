//! Rust skills: the code block is the whole `src/lib.rs` of a generated
//! `cdylib` crate on the `llmos-skill` SDK, built for `wasm32-wasip2`.
//!
//! The crate lives in the build's scratch dir and is removed afterwards;
//! all skills share one cargo target dir under the work dir, so only the
//! first build compiles the SDK and its dependencies. Its manifest:
//!
//! - package name = the skill id (so `CARGO_PKG_NAME` names the skill);
//!   an id that is not a valid package name (one starting with a digit)
//!   becomes `skill-<id>`, and `LLMOS_SKILL_NAME` (which the SDK prefers)
//!   carries the id itself;
//! - version = the front matter's `version` if it is semver, else `0.0.0`;
//! - a library name unique to the build, so concurrent builds never
//!   overwrite each other's `.wasm` in the shared target dir;
//! - a release profile for size (`opt-level = "s"`, `panic = "abort"`,
//!   `strip = true`), and an empty `[workspace]` so that a work dir inside
//!   the repository is not taken for a member of its workspace.
//!
//! `src/lib.rs` is the block verbatim, after as many empty lines as the
//! skill file has up to the opening fence: code line N (Markdown line
//! `fence line + N`) is compiler line `fence line + N`, so the compiler's
//! line numbers, in its messages and in its rendered snippets, are the
//! skill file's. The workspace `Cargo.lock` is copied in, so skills
//! resolve the versions the workspace tested, offline too.

pub mod scan;

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use llmos_core::skill::component::Language;
use serde::Deserialize;

use crate::error::trim_output;
use crate::process;
use crate::{BuildError, Compiled, Job, io_error, read_file, unique_suffix, write_file};

/// The compilation target of skill components.
pub const TARGET: &str = "wasm32-wasip2";

pub(crate) fn build(job: &Job<'_>) -> Result<Compiled, BuildError> {
    scan::scan(job.code()).map_err(|r| {
        let line = job.file_line(r.line);
        if r.unreadable {
            BuildError::Compile {
                language: Language::Rust,
                line: Some(line),
                column: Some(r.column),
                message: r.construct.clone(),
                output: String::new(),
            }
        } else {
            BuildError::Forbidden {
                line,
                column: r.column,
                construct: r.construct,
            }
        }
    })?;

    let lib_name = format!("skill_{}", unique_suffix());
    let dir = job.scratch.join("crate");
    write_file(&dir.join("Cargo.toml"), manifest(job, &lib_name).as_bytes())?;
    let mut lib = "\n".repeat(job.exec.code.line);
    lib.push_str(job.code());
    write_file(&dir.join("src/lib.rs"), lib.as_bytes())?;
    if let Some(lock) = &job.config.cargo_lock {
        std::fs::copy(lock, dir.join("Cargo.lock")).map_err(|e| io_error("copy", lock, e))?;
    }

    let target_dir = job.config.work_dir.join("target");
    let mut cargo = Command::new(cargo_program());
    cargo
        .args([
            "build",
            "--release",
            "--target",
            TARGET,
            "--message-format=json",
        ])
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("LLMOS_SKILL_NAME", job.skill_id)
        // Cargo's colours would end up in error bodies.
        .env("CARGO_TERM_COLOR", "never");
    if job.config.offline {
        cargo.arg("--offline");
    }
    let ran = process::run(cargo, job.config.timeout).map_err(|e| {
        e.into_build_error("cargo", Language::Rust, job.config.timeout, || {
            BuildError::ToolMissing {
                tool: "cargo".into(),
                hint: "install Rust with rustup (https://rustup.rs) and run `rustup target add wasm32-wasip2`".into(),
            }
        })
    })?;

    let messages = Messages::parse(&ran.stdout, &lib_name);
    let result = match (&messages.artifact, ran.status.success()) {
        (Some(wasm), true) => read_file(Path::new(wasm)),
        _ => Err(messages.failure(job, &ran.stderr)),
    };
    remove_artifacts(&target_dir, &lib_name);
    Ok(Compiled {
        bytes: result?,
        toolchain: rustc_version().to_owned(),
    })
}

fn cargo_program() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// `rustc 1.95.0`: the compiler that cargo runs (the first two words of
/// `rustc --version`), read once.
pub fn rustc_version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        Command::new(rustc)
            .arg("--version")
            .output()
            .ok()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .filter(|v| v.starts_with("rustc "))
            .unwrap_or_else(|| "rustc".to_owned())
    })
}

/// Whether `id` can be a cargo package name (cargo refuses a leading
/// digit; skill ids are otherwise lowercase letters, digits and `-`).
fn valid_package_name(id: &str) -> bool {
    id.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
}

/// A TOML basic string: JSON's string escapes are all valid TOML ones.
fn toml_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

fn manifest(job: &Job<'_>, lib_name: &str) -> String {
    let package = if valid_package_name(job.skill_id) {
        job.skill_id.to_owned()
    } else {
        format!("skill-{}", job.skill_id)
    };
    let sdk = job.config.sdk_dir.to_string_lossy();
    format!(
        r#"# Generated from {path} by llmos-skill-build; src/lib.rs is its code block.
[package]
name = {package}
version = {version}
edition = "2024"
publish = false

[lib]
name = {lib}
path = "src/lib.rs"
crate-type = ["cdylib"]

[dependencies]
llmos-skill = {{ path = {sdk} }}

[profile.release]
opt-level = "s"
panic = "abort"
strip = true
debug = false
incremental = false

[workspace]
"#,
        path = job.path.replace('\n', " "),
        package = toml_string(&package),
        version = toml_string(&job.version),
        lib = toml_string(lib_name),
        sdk = toml_string(&sdk),
    )
}

/// Removes this build's outputs from the shared target dir (each build
/// has its own library name, so they would only pile up).
fn remove_artifacts(target_dir: &Path, lib_name: &str) {
    let release = target_dir.join(TARGET).join("release");
    for dir in [release.clone(), release.join("deps")] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(&format!("{lib_name}."))
                || name.starts_with(&format!("{lib_name}-"))
            {
                // Left behind, a file costs only disk space.
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

#[derive(Debug, Deserialize)]
struct CargoLine {
    reason: String,
    #[serde(default)]
    target: Option<CargoTarget>,
    #[serde(default)]
    message: Option<Diagnostic>,
    #[serde(default)]
    filenames: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct CargoTarget {
    name: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Diagnostic {
    message: String,
    level: String,
    #[serde(default)]
    spans: Vec<DiagnosticSpan>,
    #[serde(default)]
    rendered: Option<String>,
    #[serde(default)]
    children: Vec<Diagnostic>,
}

#[derive(Debug, Clone, Deserialize)]
struct DiagnosticSpan {
    file_name: String,
    line_start: usize,
    column_start: usize,
    is_primary: bool,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    expansion: Option<Box<Expansion>>,
}

#[derive(Debug, Clone, Deserialize)]
struct Expansion {
    span: DiagnosticSpan,
}

/// The file every skill's code is compiled as.
const LIB_RS: &str = "src/lib.rs";

/// What cargo reported: the errors (the skill crate's first) and the
/// component it wrote.
#[derive(Debug, Default)]
struct Messages {
    /// Errors of the skill crate itself.
    own: Vec<Diagnostic>,
    /// Errors of anything else (the SDK, if it were broken).
    other: Vec<Diagnostic>,
    artifact: Option<String>,
}

impl Messages {
    fn parse(stdout: &str, lib_name: &str) -> Messages {
        let mut out = Messages::default();
        for line in stdout.lines() {
            let Ok(msg) = serde_json::from_str::<CargoLine>(line) else {
                continue;
            };
            let ours = msg.target.as_ref().is_some_and(|t| t.name == lib_name);
            match msg.reason.as_str() {
                "compiler-message" => {
                    let Some(d) = msg.message else { continue };
                    // "aborting due to N previous errors" repeats the count.
                    if d.level != "error" || d.message.starts_with("aborting due to") {
                        continue;
                    }
                    if ours {
                        out.own.push(d)
                    } else {
                        out.other.push(d)
                    }
                }
                "compiler-artifact" if ours => {
                    out.artifact = msg.filenames.into_iter().find(|f| f.ends_with(".wasm"));
                }
                _ => {}
            }
        }
        out
    }

    /// The error to report for a failed build.
    fn failure(&self, job: &Job<'_>, stderr: &str) -> BuildError {
        let all: Vec<&Diagnostic> = self.own.iter().chain(&self.other).collect();
        if all.iter().any(|d| mentions_missing_target(d)) {
            return BuildError::ToolMissing {
                tool: format!("the Rust target {TARGET}"),
                hint: format!("run `rustup target add {TARGET}`"),
            };
        }
        let Some(first) = all.first() else {
            // Cargo itself failed (a dependency it cannot fetch offline, a
            // broken SDK path): its own `error:` lines say why.
            let message = stderr
                .lines()
                .find(|l| l.starts_with("error"))
                .unwrap_or("cargo failed without a message")
                .to_owned();
            return BuildError::Compile {
                language: Language::Rust,
                line: None,
                column: None,
                message,
                output: trim_output(stderr),
            };
        };
        let place = location(first);
        let output = all
            .iter()
            .filter_map(|d| d.rendered.as_deref())
            .map(|r| relocate(r, job))
            .collect::<Vec<_>>()
            .join("\n");
        let label = place
            .and_then(|s| s.label.clone())
            .filter(|l| !l.is_empty());
        BuildError::Compile {
            language: Language::Rust,
            line: place.map(|s| s.line_start),
            column: place.map(|s| s.column_start),
            message: match label {
                Some(label) => format!("{}: {label}", first.message),
                None => first.message.clone(),
            },
            output: trim_output(&output),
        }
    }
}

fn mentions_missing_target(d: &Diagnostic) -> bool {
    d.message.contains("target may not be installed")
        || d.children
            .iter()
            .any(|c| c.message.contains("target may not be installed"))
}

/// The span in `src/lib.rs` an error is about: its primary span there,
/// else the place in `src/lib.rs` a macro expansion came from, else any
/// span there.
fn location(d: &Diagnostic) -> Option<&DiagnosticSpan> {
    fn in_lib(span: &DiagnosticSpan) -> Option<&DiagnosticSpan> {
        if span.file_name == LIB_RS {
            return Some(span);
        }
        in_lib(&span.expansion.as_ref()?.span)
    }
    d.spans
        .iter()
        .filter(|s| s.is_primary)
        .find_map(in_lib)
        .or_else(|| d.spans.iter().find_map(in_lib))
        .or_else(|| {
            d.children
                .iter()
                .find_map(|c| c.spans.iter().find_map(in_lib))
        })
}

/// A rendered diagnostic naming the skill file instead of `src/lib.rs`
/// (whose line numbers are already the file's).
fn relocate(rendered: &str, job: &Job<'_>) -> String {
    rendered.replace(&format!("{LIB_RS}:"), &format!("{}:", job.path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_follow_cargos_rules() {
        assert!(valid_package_name("ode-solver"));
        assert!(!valid_package_name("1d-fft"));
        assert_eq!(toml_string("a\"b\\c"), r#""a\"b\\c""#);
    }

    #[test]
    fn reads_the_first_error_and_the_artifact_from_cargos_messages() {
        let lines = [
            r#"{"reason":"compiler-message","target":{"name":"llmos_skill"},"message":{"message":"unused","level":"warning","spans":[],"rendered":"warning: unused","children":[]}}"#,
            r#"{"reason":"compiler-message","target":{"name":"skill_x"},"message":{"message":"mismatched types","level":"error","spans":[{"file_name":"src/lib.rs","line_start":3,"column_start":17,"is_primary":true,"label":"expected `f64`, found `&str`"}],"rendered":"error[E0308]: mismatched types\n --> src/lib.rs:3:17\n","children":[]}}"#,
            r#"{"reason":"compiler-message","target":{"name":"skill_x"},"message":{"message":"aborting due to 1 previous error","level":"error","spans":[],"rendered":"error: aborting","children":[]}}"#,
            "not json",
        ];
        let m = Messages::parse(&lines.join("\n"), "skill_x");
        assert_eq!(m.own.len(), 1);
        assert!(m.other.is_empty(), "warnings are not errors");
        assert_eq!(m.artifact, None);

        let ok = r#"{"reason":"compiler-artifact","target":{"name":"skill_x"},"filenames":["/t/wasm32-wasip2/release/skill_x.wasm"]}"#;
        assert_eq!(
            Messages::parse(ok, "skill_x").artifact.as_deref(),
            Some("/t/wasm32-wasip2/release/skill_x.wasm")
        );
    }

    #[test]
    fn errors_inside_macro_expansions_point_at_the_call() {
        let d: Diagnostic = serde_json::from_str(
            r#"{"message":"m","level":"error","spans":[{"file_name":"/sdk/src/glue.rs","line_start":90,"column_start":1,"is_primary":true,
                "expansion":{"span":{"file_name":"src/lib.rs","line_start":7,"column_start":1,"is_primary":false}}}],"children":[]}"#,
        )
        .unwrap();
        let place = location(&d).unwrap();
        assert_eq!((place.line_start, place.column_start), (7, 1));
    }
}
