//! The parsed skill and the views of it the rest of the system uses.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::code::CodeBlock;
use super::outline::TopEntry;
use crate::ids::SkillId;
use crate::types::{ExecutionMode, PortSpec, Runtime, UnknownName};

/// Context skills are guidance for the LLM; executable skills are workflow
/// nodes with typed ports and code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SkillKind {
    Context,
    Executable,
}

impl SkillKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SkillKind::Context => "context",
            SkillKind::Executable => "executable",
        }
    }
}

/// Which dialect of skill file the text was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SkillFormat {
    /// LLMos skill file (`<id>.md`): context or executable.
    Llmos,
    /// Anthropic Agent Skills `SKILL.md`, read as a context skill.
    AgentSkill,
}

/// Where a skill stands in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SkillStatus {
    /// Written (often by the evolution engine) but not yet reviewed.
    Draft,
    /// Reviewed and trusted.
    Verified,
    /// Kept for history; not offered to chat or the node library.
    Retired,
}

impl SkillStatus {
    pub const ALL: [SkillStatus; 3] = [
        SkillStatus::Draft,
        SkillStatus::Verified,
        SkillStatus::Retired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SkillStatus::Draft => "draft",
            SkillStatus::Verified => "verified",
            SkillStatus::Retired => "retired",
        }
    }
}

impl fmt::Display for SkillStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SkillStatus {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SkillStatus::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownName {
                kind: "status",
                value: s.to_owned(),
                expected: SkillStatus::ALL.map(SkillStatus::as_str).join(", "),
            })
    }
}

/// The executable part of a skill.
#[derive(Debug, Clone, PartialEq)]
pub struct Executable {
    pub runtime: Runtime,
    pub execution_mode: ExecutionMode,
    pub inputs: Vec<PortSpec>,
    pub outputs: Vec<PortSpec>,
    pub code: CodeBlock,
    /// Whether the code is built into a skill component (`compiled: true`,
    /// always for `wasm-component`); see [`super::component`].
    pub compiled: bool,
}

/// The Agent Skills fields of a `SKILL.md` file.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, utoipa::ToSchema)]
pub struct AgentSkillMeta {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compatibility: Option<String>,
    /// `metadata`, in file order: `[key, value]` pairs.
    #[schema(value_type = Vec<Vec<String>>)]
    pub metadata: Vec<(String, String)>,
    /// `allowed-tools`: a space-separated string or a list in the file.
    pub allowed_tools: Vec<String>,
}

/// What workflow validation needs to know about a node's skill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkillSignature {
    pub skill_id: SkillId,
    pub runtime: Runtime,
    pub execution_mode: ExecutionMode,
    pub inputs: Vec<PortSpec>,
    pub outputs: Vec<PortSpec>,
    /// See [`Executable::compiled`].
    #[serde(default)]
    pub compiled: bool,
}

/// The listing form of a skill (`GET /skills`); the store adds `volume` and
/// `commit` next to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkillSummary {
    pub skill_id: SkillId,
    pub name: String,
    pub category: String,
    pub description: String,
    pub keywords: Vec<String>,
    #[serde(rename = "type")]
    pub kind: SkillKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<SkillStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<Runtime>,
}

/// Byte offsets of the parts of the file, for edits that keep everything
/// else byte for byte.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Layout {
    /// Byte range of the YAML between the `---` lines.
    pub yaml: std::ops::Range<usize>,
    /// Byte offset where the body starts.
    pub body_start: usize,
    /// File line of the YAML's first line.
    pub yaml_first_line: usize,
    /// Top-level entries as located in the YAML text, when the scan agrees
    /// with the parsed keys (otherwise edits re-render the front matter).
    pub top: Option<Vec<TopEntry>>,
}

/// A parsed, validated skill file.
///
/// The original text is kept: [`Skill::source`] returns the file exactly as
/// it was parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Skill {
    pub(crate) source: String,
    pub(crate) file: Option<String>,
    pub(crate) id: SkillId,
    pub(crate) name: String,
    pub(crate) category: String,
    pub(crate) description: String,
    pub(crate) keywords: Vec<String>,
    pub(crate) status: Option<SkillStatus>,
    pub(crate) format: SkillFormat,
    pub(crate) executable: Option<Executable>,
    pub(crate) agent: Option<AgentSkillMeta>,
    pub(crate) frontmatter: serde_json::Value,
    pub(crate) layout: Layout,
}

impl Skill {
    /// The file as parsed, byte for byte.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The file as parsed, byte for byte.
    pub fn into_source(self) -> String {
        self.source
    }

    /// The path hint the skill was parsed with.
    pub fn file(&self) -> Option<&str> {
        self.file.as_deref()
    }

    pub fn id(&self) -> &SkillId {
        &self.id
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn category(&self) -> &str {
        &self.category
    }

    pub fn description(&self) -> &str {
        &self.description
    }

    pub fn keywords(&self) -> &[String] {
        &self.keywords
    }

    pub fn status(&self) -> Option<SkillStatus> {
        self.status
    }

    pub fn format(&self) -> SkillFormat {
        self.format
    }

    pub fn kind(&self) -> SkillKind {
        if self.executable.is_some() {
            SkillKind::Executable
        } else {
            SkillKind::Context
        }
    }

    /// The executable part (runtime, mode, ports, code), if any.
    pub fn executable(&self) -> Option<&Executable> {
        self.executable.as_ref()
    }

    pub fn runtime(&self) -> Option<Runtime> {
        self.executable.as_ref().map(|e| e.runtime)
    }

    pub fn execution_mode(&self) -> Option<ExecutionMode> {
        self.executable.as_ref().map(|e| e.execution_mode)
    }

    /// Input ports; empty for context skills.
    pub fn inputs(&self) -> &[PortSpec] {
        self.executable.as_ref().map_or(&[], |e| &e.inputs)
    }

    /// Output ports; empty for context skills.
    pub fn outputs(&self) -> &[PortSpec] {
        self.executable.as_ref().map_or(&[], |e| &e.outputs)
    }

    /// The code block of an executable skill.
    pub fn code(&self) -> Option<&CodeBlock> {
        self.executable.as_ref().map(|e| &e.code)
    }

    /// The Agent Skills fields of a `SKILL.md`.
    pub fn agent(&self) -> Option<&AgentSkillMeta> {
        self.agent.as_ref()
    }

    /// The Markdown body: everything after the closing `---` line.
    pub fn body(&self) -> &str {
        &self.source[self.layout.body_start..]
    }

    /// The YAML text between the `---` lines.
    pub fn frontmatter_text(&self) -> &str {
        &self.source[self.layout.yaml.clone()]
    }

    /// The whole front matter as JSON, unknown fields included.
    pub fn frontmatter(&self) -> &serde_json::Value {
        &self.frontmatter
    }

    /// The fields of the listing (`GET /skills`).
    pub fn summary(&self) -> SkillSummary {
        SkillSummary {
            skill_id: self.id.clone(),
            name: self.name.clone(),
            category: self.category.clone(),
            description: self.description.clone(),
            keywords: self.keywords.clone(),
            kind: self.kind(),
            status: self.status,
            runtime: self.runtime(),
        }
    }

    /// Ports and runtime for workflow validation; `None` for context skills.
    pub fn signature(&self) -> Option<SkillSignature> {
        self.executable.as_ref().map(|e| SkillSignature {
            skill_id: self.id.clone(),
            runtime: e.runtime,
            execution_mode: e.execution_mode,
            inputs: e.inputs.clone(),
            outputs: e.outputs.clone(),
            compiled: e.compiled,
        })
    }
}

/// The full skill as the API returns it: the summary fields, `content` (the
/// body), `frontmatter`, and for executable skills `runtime`,
/// `execution_mode`, `inputs`, `outputs`, `code` and `code_language`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SkillView<'a> {
    pub skill_id: &'a SkillId,
    pub name: &'a str,
    pub category: &'a str,
    pub description: &'a str,
    pub keywords: &'a [String],
    #[serde(rename = "type")]
    pub kind: SkillKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<SkillStatus>,
    pub format: SkillFormat,
    /// The Markdown body, after the front matter.
    pub content: &'a str,
    /// The front matter as JSON.
    #[schema(value_type = Object)]
    pub frontmatter: &'a serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<Runtime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_mode: Option<ExecutionMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<PortSpec>>)]
    pub inputs: Option<&'a [PortSpec]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<PortSpec>>)]
    pub outputs: Option<&'a [PortSpec]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_language: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compiled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<AgentSkillMeta>)]
    pub agent: Option<&'a AgentSkillMeta>,
}

impl Skill {
    /// The skill as the API shows it.
    pub fn view(&self) -> SkillView<'_> {
        let exec = self.executable.as_ref();
        SkillView {
            skill_id: &self.id,
            name: &self.name,
            category: &self.category,
            description: &self.description,
            keywords: &self.keywords,
            kind: self.kind(),
            status: self.status,
            format: self.format,
            content: self.body(),
            frontmatter: &self.frontmatter,
            runtime: exec.map(|e| e.runtime),
            execution_mode: exec.map(|e| e.execution_mode),
            inputs: exec.map(|e| e.inputs.as_slice()),
            outputs: exec.map(|e| e.outputs.as_slice()),
            code: exec.map(|e| e.code.code.as_str()),
            code_language: exec.map(|e| e.code.language.as_str()),
            compiled: exec.map(|e| e.compiled),
            agent: self.agent.as_ref(),
        }
    }
}

impl Serialize for Skill {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.view().serialize(serializer)
    }
}
