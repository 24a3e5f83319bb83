//! Skill files: Markdown with YAML front matter, context and executable
//! skills, and Agent Skills `SKILL.md` files.
//!
//! # The format
//!
//! ```text
//! ---                      ← first line of the file
//! skill_id: rc-filter      ← YAML front matter
//! name: RC low-pass
//! …
//! ---
//! Markdown body …          ← `content` in the API
//! ```
//!
//! * **Context skills** need `name`, `category` and `description`;
//!   `keywords` (a list of strings), `status` (`draft`, `verified`,
//!   `retired`) and `skill_id` are optional. Their id is `skill_id` when
//!   present, else the id the caller stores them under ([`parse_as`]), else
//!   the file name without `.md` ([`parse`] with a path hint).
//! * **Executable skills** have `type: <runtime>` (`python-wasm`,
//!   `javascript`, `threejs`, `spice`, `wasm-component`) and also need
//!   `skill_id`. `execution_mode` (`browser-wasm`, `edge-wasm`) defaults to
//!   `edge-wasm` for `wasm-component` and `browser-wasm` otherwise;
//!   `inputs`/`outputs` are lists of ports (`name`, `type`, and for inputs
//!   optional `default`, `description`, `required`). The body holds exactly
//!   one fenced code block in the runtime's language; see [`code`'s
//!   rules](languages) per runtime. `type: context` is the same as no `type`.
//! * **Agent Skills** (`SKILL.md`, recognised by the file name of the path
//!   hint) are context skills with the Agent Skills rules: `name` of 1–64
//!   `[a-z0-9-]` without leading, trailing or doubled hyphens, matching the
//!   directory name when the hint has one; `description` of 1–1024
//!   characters; optional `license`, `compatibility` (≤ 500 characters),
//!   `metadata` (string → string) and `allowed-tools`. Their id is `name`;
//!   their category is `category`, else `metadata.category`, else
//!   [`AGENT_SKILL_CATEGORY`]; keywords come from `keywords` or a
//!   comma-separated `metadata.keywords`.
//!
//! # Unknown fields
//!
//! Unknown **top-level** keys (`version`, `author`, `tags`, a client's own
//! Agent Skills extensions …) are kept: they appear in
//! [`Skill::frontmatter`], survive edits untouched and never fail a parse,
//! because skill files are shared between tools and versions that each add
//! their own metadata. Keys inside a **port** are refused
//! ([`SkillError::UnknownField`]): the port schema is ours, and a typo such
//! as `defualt` would otherwise silently drop a default. `execution_mode`,
//! `inputs` and `outputs` on a context skill are refused as well, since they
//! mean the author forgot `type`.
//!
//! # Round trip and edits
//!
//! [`Skill::source`] is the parsed text byte for byte. [`render`] writes a
//! canonical file from [`SkillFields`] (the API's JSON form);
//! [`Skill::update`] changes fields of a parsed skill by rewriting only the
//! lines of the changed top-level entries (and the body or code block), so
//! comments and formatting elsewhere stay as they were.
//!
//! # Errors
//!
//! Parsing stops at the first problem and returns a [`SkillError`] naming
//! the file (the path hint), the 1-based file line and the field path
//! (`inputs[1].type`, `metadata.author`, `code` for the code block). A
//! missing top-level field is reported on line 1 (the opening `---`), a
//! missing port field on the port's `- ` line, a missing code block on the
//! closing `---`. [`SkillError::code`] gives a stable kebab-case code for
//! API error bodies.
//!
//! # Limits
//!
//! Files over [`MAX_SKILL_FILE_BYTES`] are refused before parsing; YAML
//! aliases are expanded under a budget of [`MAX_YAML_NODES`] nodes and
//! [`MAX_YAML_DEPTH`] levels, so alias bombs fail fast.

mod code;
pub mod component;
mod edit;
mod error;
mod model;
pub mod netlist;
mod outline;
mod parse;
mod render;
mod yaml;

pub use code::{CodeBlock, languages};
pub use edit::SkillUpdate;
pub use error::SkillError;
pub use model::{
    AgentSkillMeta, Executable, Skill, SkillFormat, SkillKind, SkillSignature, SkillStatus,
    SkillSummary, SkillView,
};
pub use parse::{
    MAX_AGENT_COMPATIBILITY_CHARS, MAX_AGENT_DESCRIPTION_CHARS, MAX_CATEGORY_CHARS, MAX_NAME_CHARS,
    check_agent_name, check_port_name, default_execution_mode,
};
pub use render::{PortFields, SkillFields, render};
pub use yaml::{MAX_DEPTH as MAX_YAML_DEPTH, MAX_NODES as MAX_YAML_NODES};

use crate::ids::SkillId;

/// Largest skill file accepted, in bytes (256 KiB): far above any real
/// skill, small enough that parsing never dominates a request.
pub const MAX_SKILL_FILE_BYTES: usize = 256 * 1024;

/// File name that marks an Anthropic Agent Skills file.
pub const AGENT_SKILL_FILE_NAME: &str = "SKILL.md";

/// Category of Agent Skills that name none.
pub const AGENT_SKILL_CATEGORY: &str = "agent-skills";

/// Parses a skill file. `path_hint` (e.g. `skills/rc-filter.md` or
/// `pdf-tools/SKILL.md`) names the file in errors, selects the Agent Skills
/// rules for `SKILL.md`, and gives a context skill without `skill_id` its id.
pub fn parse(path_hint: Option<&str>, text: &str) -> Result<Skill, SkillError> {
    parse::parse_text(path_hint, None, text)
}

/// Like [`parse`], for a skill stored under `id`: a context skill without
/// `skill_id` takes `id`, and a `skill_id` (or Agent Skills `name`) that
/// differs from it is an [`SkillError::IdMismatch`].
pub fn parse_as(id: &SkillId, path_hint: Option<&str>, text: &str) -> Result<Skill, SkillError> {
    parse::parse_text(path_hint, Some(id), text)
}

/// Like [`parse`], for raw bytes: checks the size limit before anything
/// else and reports invalid UTF-8 with its line.
pub fn parse_bytes(path_hint: Option<&str>, bytes: &[u8]) -> Result<Skill, SkillError> {
    parse::parse_bytes(path_hint, None, bytes)
}

/// [`parse_bytes`] for a skill stored under `id` (see [`parse_as`]).
pub fn parse_bytes_as(
    id: &SkillId,
    path_hint: Option<&str>,
    bytes: &[u8],
) -> Result<Skill, SkillError> {
    parse::parse_bytes(path_hint, Some(id), bytes)
}
