//! The one error type of skill parsing, rendering and editing.
//!
//! Every variant names what is wrong and where: the file (when the caller
//! gave a path), the 1-based line in that file, and the field as a path into
//! the front matter (`inputs[1].type`, `metadata.author`). Lines count from
//! the first line of the file, not of the front matter, so an editor can jump
//! straight to them.

use std::fmt;

use crate::ids::IdError;
use crate::types::UnknownName;

/// Why a skill file was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SkillError {
    #[error(
        "{}file is {size} bytes; skill files may have at most {limit} bytes",
        At(file, None)
    )]
    TooLarge {
        file: Option<String>,
        size: usize,
        limit: usize,
    },

    #[error("{}file is not valid UTF-8", At(file, Some(*line)))]
    NotUtf8 { file: Option<String>, line: usize },

    #[error(
        "{}file does not start with a `---` front matter line",
        At(file, Some(1))
    )]
    MissingFrontMatter { file: Option<String> },

    #[error("{}front matter opened here is never closed by a `---` line", At(file, Some(*line)))]
    UnterminatedFrontMatter { file: Option<String>, line: usize },

    #[error("{}column {column}: invalid YAML in front matter: {message}", At(file, Some(*line)))]
    Yaml {
        file: Option<String>,
        line: usize,
        column: usize,
        message: String,
    },

    #[error("{}front matter must be a mapping of `key: value` lines", At(file, Some(*line)))]
    FrontMatterNotMapping { file: Option<String>, line: usize },

    #[error("{}field `{field}` appears twice (first on line {first_line})", At(file, Some(*line)))]
    DuplicateKey {
        file: Option<String>,
        field: String,
        line: usize,
        first_line: usize,
    },

    #[error("{}front matter is too large or nested once aliases are expanded (limit {limit})", At(file, Some(*line)))]
    YamlTooComplex {
        file: Option<String>,
        line: usize,
        limit: usize,
    },

    #[error("{}field `{field}`: {what} is not supported in skill front matter", At(file, Some(*line)))]
    UnsupportedYaml {
        file: Option<String>,
        field: String,
        line: usize,
        what: &'static str,
    },

    #[error("{}required field `{field}` is missing", At(file, Some(*line)))]
    MissingField {
        file: Option<String>,
        field: String,
        line: usize,
    },

    #[error("{}field `{field}` must be {expected}, found {found}", At(file, Some(*line)))]
    WrongType {
        file: Option<String>,
        field: String,
        line: usize,
        expected: &'static str,
        found: &'static str,
    },

    #[error("{}field `{field}`: {reason}", At(file, Some(*line)))]
    InvalidValue {
        file: Option<String>,
        field: String,
        line: usize,
        reason: String,
    },

    #[error("{}unknown field `{field}`", At(file, Some(*line)))]
    UnknownField {
        file: Option<String>,
        field: String,
        line: usize,
    },

    #[error("{}field `{field}`: {source}", At(file, Some(*line)))]
    BadId {
        file: Option<String>,
        field: String,
        line: usize,
        source: Box<IdError>,
    },

    #[error("{}field `{field}` is `{found}` but the skill is stored as `{expected}`", At(file, Some(*line)))]
    IdMismatch {
        file: Option<String>,
        field: String,
        line: usize,
        expected: String,
        found: String,
    },

    #[error("{}field `{field}`: {source}", At(file, Some(*line)))]
    UnknownRuntime {
        file: Option<String>,
        field: String,
        line: usize,
        source: Box<UnknownName>,
    },

    #[error("{}field `{field}`: {source}", At(file, Some(*line)))]
    UnknownExecutionMode {
        file: Option<String>,
        field: String,
        line: usize,
        source: Box<UnknownName>,
    },

    #[error("{}field `{field}`: {source}", At(file, Some(*line)))]
    UnknownPortType {
        file: Option<String>,
        field: String,
        line: usize,
        source: Box<UnknownName>,
    },

    #[error("{}field `{field}`: port `{name}` is declared twice (first on line {first_line})", At(file, Some(*line)))]
    DuplicatePort {
        file: Option<String>,
        field: String,
        line: usize,
        name: String,
        first_line: usize,
    },

    #[error("{}executable skill has no fenced code block in its body; expected one in {expected}", At(file, Some(*line)))]
    MissingCodeBlock {
        file: Option<String>,
        line: usize,
        expected: String,
    },

    #[error("{}second code block for the runtime (the first is on line {first_line}); an executable skill has exactly one", At(file, Some(*line)))]
    MultipleCodeBlocks {
        file: Option<String>,
        line: usize,
        first_line: usize,
    },

    #[error("{}code block is `{found}` but runtime `{runtime}` expects {expected}", At(file, Some(*line)))]
    WrongCodeLanguage {
        file: Option<String>,
        line: usize,
        found: String,
        runtime: &'static str,
        expected: String,
    },

    #[error("{}code for runtime `{runtime}` must define {expected}", At(file, Some(*line)))]
    MissingEntryPoint {
        file: Option<String>,
        line: usize,
        runtime: &'static str,
        expected: &'static str,
    },

    #[error("{}code: {reason}", At(file, Some(*line)))]
    InvalidCode {
        file: Option<String>,
        line: usize,
        reason: String,
    },
}

impl SkillError {
    /// The file the error is about, when the caller named one.
    pub fn file(&self) -> Option<&str> {
        self.file_slot_ref().as_deref()
    }

    /// The 1-based line in the file, when the error has one (all but
    /// [`SkillError::TooLarge`] do).
    pub fn line(&self) -> Option<usize> {
        use SkillError::*;
        match self {
            TooLarge { .. } => None,
            MissingFrontMatter { .. } => Some(1),
            NotUtf8 { line, .. }
            | UnterminatedFrontMatter { line, .. }
            | Yaml { line, .. }
            | FrontMatterNotMapping { line, .. }
            | DuplicateKey { line, .. }
            | YamlTooComplex { line, .. }
            | UnsupportedYaml { line, .. }
            | MissingField { line, .. }
            | WrongType { line, .. }
            | InvalidValue { line, .. }
            | UnknownField { line, .. }
            | BadId { line, .. }
            | IdMismatch { line, .. }
            | UnknownRuntime { line, .. }
            | UnknownExecutionMode { line, .. }
            | UnknownPortType { line, .. }
            | DuplicatePort { line, .. }
            | MissingCodeBlock { line, .. }
            | MultipleCodeBlocks { line, .. }
            | WrongCodeLanguage { line, .. }
            | MissingEntryPoint { line, .. }
            | InvalidCode { line, .. } => Some(*line),
        }
    }

    /// The front matter field the error is about, as a path such as
    /// `inputs[0].type`; `code` for errors about the code block.
    pub fn field(&self) -> Option<&str> {
        use SkillError::*;
        match self {
            DuplicateKey { field, .. }
            | UnsupportedYaml { field, .. }
            | MissingField { field, .. }
            | WrongType { field, .. }
            | InvalidValue { field, .. }
            | UnknownField { field, .. }
            | BadId { field, .. }
            | IdMismatch { field, .. }
            | UnknownRuntime { field, .. }
            | UnknownExecutionMode { field, .. }
            | UnknownPortType { field, .. }
            | DuplicatePort { field, .. } => Some(field),
            MissingCodeBlock { .. }
            | MultipleCodeBlocks { .. }
            | WrongCodeLanguage { .. }
            | MissingEntryPoint { .. }
            | InvalidCode { .. } => Some("code"),
            TooLarge { .. }
            | NotUtf8 { .. }
            | MissingFrontMatter { .. }
            | UnterminatedFrontMatter { .. }
            | Yaml { .. }
            | FrontMatterNotMapping { .. }
            | YamlTooComplex { .. } => None,
        }
    }

    /// A stable kebab-case code for API error bodies.
    pub fn code(&self) -> &'static str {
        use SkillError::*;
        match self {
            TooLarge { .. } => "skill-too-large",
            NotUtf8 { .. } => "skill-not-utf8",
            MissingFrontMatter { .. } => "skill-missing-front-matter",
            UnterminatedFrontMatter { .. } => "skill-unterminated-front-matter",
            Yaml { .. } => "skill-invalid-yaml",
            FrontMatterNotMapping { .. } => "skill-front-matter-not-mapping",
            DuplicateKey { .. } => "skill-duplicate-key",
            YamlTooComplex { .. } => "skill-yaml-too-complex",
            UnsupportedYaml { .. } => "skill-unsupported-yaml",
            MissingField { .. } => "skill-missing-field",
            WrongType { .. } => "skill-wrong-type",
            InvalidValue { .. } => "skill-invalid-value",
            UnknownField { .. } => "skill-unknown-field",
            BadId { .. } => "skill-bad-id",
            IdMismatch { .. } => "skill-id-mismatch",
            UnknownRuntime { .. } => "skill-unknown-runtime",
            UnknownExecutionMode { .. } => "skill-unknown-execution-mode",
            UnknownPortType { .. } => "skill-unknown-port-type",
            DuplicatePort { .. } => "skill-duplicate-port",
            MissingCodeBlock { .. } => "skill-missing-code-block",
            MultipleCodeBlocks { .. } => "skill-multiple-code-blocks",
            WrongCodeLanguage { .. } => "skill-wrong-code-language",
            MissingEntryPoint { .. } => "skill-missing-entry-point",
            InvalidCode { .. } => "skill-invalid-code",
        }
    }

    /// The same error, naming `file`.
    pub fn with_file(mut self, file: Option<&str>) -> Self {
        *self.file_slot() = file.map(str::to_owned);
        self
    }

    fn file_slot(&mut self) -> &mut Option<String> {
        use SkillError::*;
        match self {
            TooLarge { file, .. }
            | NotUtf8 { file, .. }
            | MissingFrontMatter { file }
            | UnterminatedFrontMatter { file, .. }
            | Yaml { file, .. }
            | FrontMatterNotMapping { file, .. }
            | DuplicateKey { file, .. }
            | YamlTooComplex { file, .. }
            | UnsupportedYaml { file, .. }
            | MissingField { file, .. }
            | WrongType { file, .. }
            | InvalidValue { file, .. }
            | UnknownField { file, .. }
            | BadId { file, .. }
            | IdMismatch { file, .. }
            | UnknownRuntime { file, .. }
            | UnknownExecutionMode { file, .. }
            | UnknownPortType { file, .. }
            | DuplicatePort { file, .. }
            | MissingCodeBlock { file, .. }
            | MultipleCodeBlocks { file, .. }
            | WrongCodeLanguage { file, .. }
            | MissingEntryPoint { file, .. }
            | InvalidCode { file, .. } => file,
        }
    }

    fn file_slot_ref(&self) -> &Option<String> {
        use SkillError::*;
        match self {
            TooLarge { file, .. }
            | NotUtf8 { file, .. }
            | MissingFrontMatter { file }
            | UnterminatedFrontMatter { file, .. }
            | Yaml { file, .. }
            | FrontMatterNotMapping { file, .. }
            | DuplicateKey { file, .. }
            | YamlTooComplex { file, .. }
            | UnsupportedYaml { file, .. }
            | MissingField { file, .. }
            | WrongType { file, .. }
            | InvalidValue { file, .. }
            | UnknownField { file, .. }
            | BadId { file, .. }
            | IdMismatch { file, .. }
            | UnknownRuntime { file, .. }
            | UnknownExecutionMode { file, .. }
            | UnknownPortType { file, .. }
            | DuplicatePort { file, .. }
            | MissingCodeBlock { file, .. }
            | MultipleCodeBlocks { file, .. }
            | WrongCodeLanguage { file, .. }
            | MissingEntryPoint { file, .. }
            | InvalidCode { file, .. } => file,
        }
    }
}

/// Formats the `file:line: ` prefix of a message (`line N: ` without a file).
struct At<'a>(&'a Option<String>, Option<usize>);

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0, self.1) {
            (Some(file), Some(line)) => write!(f, "{file}:{line}: "),
            (Some(file), None) => write!(f, "{file}: "),
            (None, Some(line)) => write!(f, "line {line}: "),
            (None, None) => Ok(()),
        }
    }
}
