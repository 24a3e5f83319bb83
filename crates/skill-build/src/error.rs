//! Why a build failed, and the one place that turns it into an API error
//! body (`{"error": {"code", "message", …}}` of API.md) with its status.
//!
//! Lines and columns are always those of the Markdown skill file, never of
//! a generated source, so an editor can jump straight to them.

use llmos_core::skill::SkillError;
use llmos_core::skill::component::Language;
use llmos_skill_runtime::{LoadError, PortMismatch};
use serde_json::{Map, Value as Json, json};

/// Most bytes of compiler output kept in an error (the start, where the
/// first error is).
pub const MAX_OUTPUT_BYTES: usize = 16 << 10;

/// Why a skill file did not become a component.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BuildError {
    /// The file is not a valid skill file.
    #[error("{0}")]
    Parse(SkillError),

    /// The skill is valid but not built into a component (a context skill,
    /// or `python-wasm`/`javascript` without `compiled: true`).
    #[error(
        "skill `{skill_id}` is not compiled: only `type: wasm-component` skills and skills with `compiled: true` build into components"
    )]
    NotCompiled { skill_id: String },

    /// A compiler this build needs is not installed.
    #[error("{tool} is not installed: {hint}")]
    ToolMissing { tool: String, hint: String },

    /// The compiler refused the code.
    #[error("{}{message}", at(*line, *column))]
    Compile {
        language: Language,
        line: Option<usize>,
        column: Option<usize>,
        message: String,
        /// What the compiler printed (trimmed to [`MAX_OUTPUT_BYTES`]).
        output: String,
    },

    /// The code uses a construct that would let it read the build machine
    /// (its files or environment) while compiling.
    #[error("{}{construct} is not allowed in a skill", at(Some(*line), Some(*column)))]
    Forbidden {
        line: usize,
        column: usize,
        construct: String,
    },

    /// The compiler's output is not a usable skill component.
    #[error("the built component cannot be used: {0}")]
    Component(LoadError),

    /// The component's ports differ from the front matter's.
    #[error("the built component does not match the skill file: {0}")]
    Ports(PortMismatch),

    /// The build's scratch files could not be written or read.
    #[error("{0}")]
    Io(String),

    /// A compiler ran longer than the configured timeout and was stopped.
    #[error("the {language} build did not finish within {seconds} s and was stopped")]
    Timeout { language: Language, seconds: u64 },
}

fn at(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("line {l}, column {c}: "),
        (Some(l), None) => format!("line {l}: "),
        _ => String::new(),
    }
}

impl BuildError {
    /// kebab-case code of the API error body.
    pub fn code(&self) -> &'static str {
        match self {
            BuildError::Parse(e) => e.code(),
            BuildError::NotCompiled { .. } => "skill-not-compiled",
            BuildError::ToolMissing { .. } => "builder-tool-missing",
            BuildError::Compile { .. } => "skill-compile-failed",
            BuildError::Forbidden { .. } => "skill-code-forbidden",
            BuildError::Component(e) => e.code(),
            BuildError::Ports(_) => "component-ports-mismatch",
            BuildError::Io(_) => "builder-io-failed",
            BuildError::Timeout { .. } => "skill-build-timeout",
        }
    }

    /// HTTP status: 422 for anything about the skill file or its code
    /// (413 for a file over the size limit), 503 when a compiler is not
    /// installed, 504 when a compiler ran out of time (the same file may
    /// build on a less busy machine, so the file is not called invalid),
    /// 500 when the builder's own scratch files fail.
    pub fn status(&self) -> u16 {
        match self {
            BuildError::Parse(SkillError::TooLarge { .. }) => 413,
            BuildError::ToolMissing { .. } => 503,
            BuildError::Timeout { .. } => 504,
            BuildError::Io(_) => 500,
            _ => 422,
        }
    }

    /// The Markdown line the error is about, if any.
    pub fn line(&self) -> Option<usize> {
        match self {
            BuildError::Parse(e) => e.line(),
            BuildError::Compile { line, .. } => *line,
            BuildError::Forbidden { line, .. } => Some(*line),
            _ => None,
        }
    }

    /// The column on [`BuildError::line`], if known.
    pub fn column(&self) -> Option<usize> {
        match self {
            BuildError::Compile { column, .. } => *column,
            BuildError::Forbidden { column, .. } => Some(*column),
            _ => None,
        }
    }

    /// `{"error": {"code", "message", …}}` with the fields that apply:
    /// `line` and `column` (of the Markdown file), `field` (of the front
    /// matter), `language`, `output`, `construct`, `port`, `import`,
    /// `tool` and `hint`.
    pub fn to_json(&self) -> Json {
        let mut error = Map::new();
        error.insert("code".into(), json!(self.code()));
        error.insert("message".into(), json!(self.to_string()));
        if let Some(line) = self.line() {
            error.insert("line".into(), json!(line));
        }
        if let Some(column) = self.column() {
            error.insert("column".into(), json!(column));
        }
        match self {
            BuildError::Parse(e) => {
                if let Some(field) = e.field() {
                    error.insert("field".into(), json!(field));
                }
            }
            BuildError::Compile {
                language, output, ..
            } => {
                error.insert("language".into(), json!(language.as_str()));
                error.insert("output".into(), json!(output));
            }
            BuildError::Timeout { language, .. } => {
                error.insert("language".into(), json!(language.as_str()));
            }
            BuildError::Forbidden { construct, .. } => {
                error.insert("construct".into(), json!(construct));
            }
            BuildError::Ports(m) => {
                error.insert("port".into(), json!(m.port()));
            }
            BuildError::Component(LoadError::Import(refused)) => {
                error.insert("import".into(), json!(refused.import));
            }
            BuildError::ToolMissing { tool, hint } => {
                error.insert("tool".into(), json!(tool));
                error.insert("hint".into(), json!(hint));
            }
            _ => {}
        }
        json!({ "error": error })
    }
}

/// `text` cut to at most [`MAX_OUTPUT_BYTES`] on a character boundary,
/// saying how much was cut.
pub(crate) fn trim_output(text: &str) -> String {
    let text = text.trim_end();
    if text.len() <= MAX_OUTPUT_BYTES {
        return text.to_owned();
    }
    let mut end = MAX_OUTPUT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n… {} more bytes of output",
        &text[..end],
        text.len() - end
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmos_skill_runtime::ImportRefused;

    #[test]
    fn compile_errors_carry_line_column_language_and_output() {
        let err = BuildError::Compile {
            language: Language::Rust,
            line: Some(14),
            column: Some(9),
            message: "mismatched types".into(),
            output: "error[E0308]: mismatched types".into(),
        };
        assert_eq!(err.status(), 422);
        assert_eq!(
            err.to_json(),
            json!({"error": {
                "code": "skill-compile-failed",
                "message": "line 14, column 9: mismatched types",
                "line": 14, "column": 9, "language": "rust",
                "output": "error[E0308]: mismatched types",
            }})
        );
    }

    #[test]
    fn each_kind_has_its_code_status_and_fields() {
        let refused = BuildError::Component(LoadError::Import(ImportRefused {
            import: "wasi:filesystem/preopens@0.2.6".into(),
            reason: "skills have no filesystem".into(),
        }));
        assert_eq!(refused.code(), "component-import-refused");
        assert_eq!(
            refused.to_json()["error"]["import"],
            "wasi:filesystem/preopens@0.2.6"
        );

        let ports = BuildError::Ports(PortMismatch::Required { port: "x".into() });
        assert_eq!(
            (ports.code(), ports.status()),
            ("component-ports-mismatch", 422)
        );
        assert_eq!(ports.to_json()["error"]["port"], "x");

        let missing = BuildError::ToolMissing {
            tool: "componentize-py".into(),
            hint: "run ./dev setup".into(),
        };
        assert_eq!(
            (missing.code(), missing.status()),
            ("builder-tool-missing", 503)
        );

        let late = BuildError::Timeout {
            language: Language::Python,
            seconds: 5,
        };
        assert_eq!((late.code(), late.status()), ("skill-build-timeout", 504));

        let forbidden = BuildError::Forbidden {
            line: 3,
            column: 5,
            construct: "`include_str!`".into(),
        };
        let body = forbidden.to_json();
        assert_eq!(body["error"]["code"], "skill-code-forbidden");
        assert_eq!(
            (
                body["error"]["line"].as_u64(),
                body["error"]["column"].as_u64()
            ),
            (Some(3), Some(5))
        );

        let parse = llmos_core::skill::parse(Some("skills/x.md"), "---\nname: x\n").unwrap_err();
        let parse = BuildError::Parse(parse);
        assert_eq!(parse.status(), 422);
        assert_eq!(parse.to_json()["error"]["line"], 1);
    }

    #[test]
    fn long_output_is_trimmed_on_a_character_boundary() {
        let long = "é".repeat(MAX_OUTPUT_BYTES);
        let cut = trim_output(&long);
        assert!(cut.len() < MAX_OUTPUT_BYTES + 64);
        assert!(
            cut.ends_with("more bytes of output"),
            "{}",
            &cut[cut.len() - 40..]
        );
        assert_eq!(trim_output("short\n\n"), "short");
    }
}
