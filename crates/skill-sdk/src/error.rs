//! The error a skill returns instead of outputs.

use std::fmt;

/// Why a skill produced no outputs. `code` is kebab-case (`bad-steps`);
/// the host prefixes it with `skill-` for the node's error code
/// (`skill-bad-steps`) unless it already starts so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillError {
    pub code: String,
    pub message: String,
}

impl SkillError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        SkillError {
            code: code.into(),
            message: message.into(),
        }
    }

    /// The code of errors made from a bare message.
    pub const FAILED: &'static str = "failed";

    /// An input that cannot be passed to the skill's function; the host
    /// keeps the code as it is.
    pub const INPUT_INVALID: &'static str = "skill-input-invalid";
}

impl fmt::Display for SkillError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for SkillError {}

impl From<String> for SkillError {
    fn from(message: String) -> Self {
        SkillError::new(SkillError::FAILED, message)
    }
}

impl From<&str> for SkillError {
    fn from(message: &str) -> Self {
        SkillError::new(SkillError::FAILED, message)
    }
}
