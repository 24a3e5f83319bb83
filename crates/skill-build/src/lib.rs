//! Builds compiled skills into components of the skill world
//! (`wit/skill/skill.wit`) and checks them.
//!
//! [`build`] takes a skill file's text and returns a [`Built`] component:
//!
//! 1. the file is parsed (`llmos_core::skill::parse`); a skill that is not
//!    compiled is [`BuildError::NotCompiled`];
//! 2. its code block is compiled by its language's toolchain, in a fresh
//!    scratch dir under [`BuildConfig::work_dir`]:
//!    - **Rust** ([`rust`]): a `cdylib` crate whose `src/lib.rs` is the
//!      block, on the `llmos-skill` SDK, built for `wasm32-wasip2` after a
//!      token scan refuses what could read the build machine;
//!    - **WAT** ([`wat`]): the block is a component in the text format;
//!    - **Python** ([`python`]): componentize-py, around a generated
//!      wrapper, after an `ast.parse` syntax check;
//!    - **JavaScript** ([`javascript`]): componentize-js, around a
//!      generated wrapper, after a `node --check` syntax check;
//! 3. the component gets its provenance section (skill id, source digest,
//!    language, toolchain, world);
//! 4. it is loaded by `llmos_skill_runtime` exactly as the edge and the
//!    browser load it (which refuses forbidden imports, checks the world
//!    and calls `describe`), and its ports are checked against the front
//!    matter.
//!
//! Every error says where: lines and columns are those of the Markdown
//! file. [`BuildError::to_json`] is the API error body.

pub mod config;
mod error;
pub mod javascript;
pub mod process;
pub mod python;
pub mod rust;
pub mod strip;
pub mod wat;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use llmos_core::skill::component::{
    self, ComponentInfo, Language, Provenance, SKILL_WORLD, source_digest,
};
use llmos_core::skill::{Executable, Skill};
use llmos_skill_runtime::{Description, LoadError, SkillRuntime, check_ports};

pub use config::{BuildConfig, find_repo_root};
pub use error::{BuildError, MAX_OUTPUT_BYTES};

/// A checked component.
#[derive(Debug, Clone)]
pub struct Built {
    /// The component, provenance section included.
    pub bytes: Vec<u8>,
    pub info: ComponentInfo,
    /// What the component's `describe` returned.
    pub description: Description,
    pub language: Language,
    /// The compiler and its version, as recorded in the provenance.
    pub toolchain: String,
    /// How long the whole build took.
    pub duration: Duration,
}

/// What one language's build is given.
#[derive(Debug)]
pub(crate) struct Job<'a> {
    pub skill_id: &'a str,
    /// The path the caller names the file by, for messages.
    pub path: &'a str,
    /// The version the component reports: the front matter's `version`
    /// when it is valid semver, else `0.0.0`.
    pub version: String,
    pub exec: &'a Executable,
    pub config: &'a BuildConfig,
    /// A fresh directory of this build's own.
    pub scratch: &'a Path,
}

impl Job<'_> {
    /// The Markdown line of line `n` (1-based) of the code block.
    pub fn file_line(&self, n: usize) -> usize {
        self.exec.code.line + n
    }

    pub fn code(&self) -> &str {
        &self.exec.code.code
    }
}

/// A language build's result, before provenance and checks.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub bytes: Vec<u8>,
    pub toolchain: String,
}

/// Turns the compiled skill file `skill_text` (named `path`, such as
/// `skills/ode.md`, in messages and for the parser's id rules) into a
/// checked component.
pub fn build(skill_text: &str, path: &str, config: &BuildConfig) -> Result<Built, BuildError> {
    let started = Instant::now();
    let skill = llmos_core::skill::parse(Some(path), skill_text).map_err(BuildError::Parse)?;
    let not_compiled = || BuildError::NotCompiled {
        skill_id: skill.id().as_str().to_owned(),
    };
    let language = component::Language::of(&skill).ok_or_else(not_compiled)?;
    let digest = source_digest(&skill).ok_or_else(not_compiled)?;
    let exec = skill.executable().ok_or_else(not_compiled)?;

    let compiled = {
        // Removed when the compiler is done, whatever the outcome.
        let scratch = Scratch::new(&config.work_dir, skill.id().as_str())?;
        let job = Job {
            skill_id: skill.id().as_str(),
            path,
            version: version_of(&skill),
            exec,
            config,
            scratch: scratch.path(),
        };
        match language {
            Language::Rust => rust::build(&job)?,
            Language::Wat => wat::build(&job)?,
            Language::Python => python::build(&job)?,
            Language::Javascript => javascript::build(&job)?,
        }
    };

    let provenance = Provenance {
        skill_id: skill.id().as_str().to_owned(),
        source_sha256: digest,
        language,
        toolchain: compiled.toolchain.clone(),
        world: SKILL_WORLD.to_owned(),
    };
    let bytes = component::with_provenance(&compiled.bytes, &provenance)
        .map_err(|e| BuildError::Component(LoadError::File(e)))?;
    let mut runtime = SkillRuntime::default();
    let loaded = runtime.load(&bytes).map_err(BuildError::Component)?;
    check_ports(&loaded.description, &exec.inputs, &exec.outputs).map_err(BuildError::Ports)?;
    Ok(Built {
        info: loaded.info.clone(),
        description: loaded.description.clone(),
        bytes,
        language,
        toolchain: compiled.toolchain,
        duration: started.elapsed(),
    })
}

/// The front matter's `version` when it is valid semver, else `0.0.0`.
fn version_of(skill: &Skill) -> String {
    let version = match skill.frontmatter().get("version") {
        Some(serde_json::Value::String(s)) => s.trim().to_owned(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    match semver::Version::parse(&version) {
        Ok(v) => v.to_string(),
        Err(_) => "0.0.0".to_owned(),
    }
}

/// A unique name part for scratch dirs and artifacts: concurrent builds
/// (several requests, several processes) never share one.
pub(crate) fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:x}{:x}{n:x}", std::process::id(), nanos & 0xffff_ffff)
}

/// A build's own directory under `work_dir/builds`, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(work_dir: &Path, skill_id: &str) -> Result<Scratch, BuildError> {
        let dir = work_dir
            .join("builds")
            .join(format!("{skill_id}-{}", unique_suffix()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| io_error("create the build directory", &dir, e))?;
        Ok(Scratch(dir))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Leftovers are only scratch files; a failure to remove them must
        // not hide the build's result.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn io_error(what: &str, path: &Path, e: std::io::Error) -> BuildError {
    BuildError::Io(format!("cannot {what} {}: {e}", path.display()))
}

pub(crate) fn write_file(path: &Path, text: &[u8]) -> Result<(), BuildError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io_error("create", dir, e))?;
    }
    std::fs::write(path, text).map_err(|e| io_error("write", path, e))
}

pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, BuildError> {
    std::fs::read(path).map_err(|e| io_error("read", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SKILL: &str = "---\nskill_id: sq\nname: Square\ncategory: math\ndescription: d\ntype: wasm-component\nVERSION\ninputs:\n  - name: x\n    type: number\noutputs:\n  - name: y\n    type: number\n---\n\n```rust\nfn execute(x: f64) -> f64 { x }\n```\n";

    fn version(line: &str) -> String {
        let text = SKILL.replace("VERSION", line);
        version_of(&llmos_core::skill::parse(None, &text).unwrap())
    }

    #[test]
    fn version_is_the_front_matters_semver_or_zero() {
        assert_eq!(version("version: 1.2.3"), "1.2.3");
        assert_eq!(version("version: \"2.0.0-beta.1\""), "2.0.0-beta.1");
        assert_eq!(version("version: 1.0"), "0.0.0");
        assert_eq!(version("version: latest"), "0.0.0");
        assert_eq!(version("author: me"), "0.0.0");
    }

    #[test]
    fn refuses_skills_that_are_not_compiled() {
        let config = BuildConfig::discover(Path::new("/nonexistent"));
        let context = "---\nname: Tips\ncategory: c\ndescription: d\n---\n\nBe brief.\n";
        let err = build(context, "skills/tips.md", &config).unwrap_err();
        assert_eq!(
            err,
            BuildError::NotCompiled {
                skill_id: "tips".into()
            }
        );
        assert_eq!(err.code(), "skill-not-compiled");

        let py = "---\nskill_id: mean\nname: Mean\ncategory: s\ndescription: d\ntype: python-wasm\n---\n\n```python\ndef execute(inputs):\n    return {}\n```\n";
        assert_eq!(
            build(py, "skills/mean.md", &config).unwrap_err().code(),
            "skill-not-compiled"
        );

        let err = build("no front matter", "skills/x.md", &config).unwrap_err();
        assert_eq!(err.code(), "skill-missing-front-matter");
        assert_eq!(err.line(), Some(1));
    }

    #[test]
    fn unique_suffixes_differ() {
        assert_ne!(unique_suffix(), unique_suffix());
    }
}
