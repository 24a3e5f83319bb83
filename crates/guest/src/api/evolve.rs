//! `/evolve`: what the evolution engine reads and answers.

use llmos_core::evolve::{Pattern, RetireReason, Verification};
use llmos_core::ids::PrincipalId;
use llmos_core::trace::TraceKind;
use serde::{Deserialize, Serialize};

/// The body of `POST /evolve` (an empty body is `{}`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvolveRequest {
    /// Whose traces (default: the token's user; others: admins only).
    #[serde(default)]
    pub user_id: Option<String>,
    /// One of the caller's teams (checked, not otherwise used).
    #[serde(default)]
    pub team_id: Option<String>,
    /// Commit the pass's drafts, updates and retirements (default true);
    /// false changes nothing and returns the drafts' files.
    #[serde(default = "yes")]
    pub auto_apply: bool,
}

impl Default for EvolveRequest {
    fn default() -> Self {
        EvolveRequest {
            user_id: None,
            team_id: None,
            auto_apply: true,
        }
    }
}

fn yes() -> bool {
    true
}

/// One draft of the pass, as `POST /evolve` reports it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DraftReport {
    pub skill_id: String,
    /// The pattern's label.
    pub pattern: String,
    pub fingerprint: String,
    pub kind: TraceKind,
    pub occurrences: u32,
    pub success_rate: f64,
    pub verification: Verification,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification_note: Option<String>,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The file (only when nothing is committed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// A draft retired by the pass.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Retirement {
    pub skill_id: String,
    pub reason: RetireReason,
}

/// The outcome of a pass.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PassReport {
    /// `completed`.
    pub status: &'static str,
    pub user_id: String,
    pub traces_analyzed: u64,
    pub patterns_detected: usize,
    pub skills_created: usize,
    pub skills: Vec<DraftReport>,
    pub retired: Vec<Retirement>,
    /// Evolved skills whose use counts changed.
    pub updated: Vec<String>,
    pub auto_apply: bool,
    /// The pass's commit, when it made one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// A pattern in `GET /evolve/patterns`, and what became of it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PatternView<'a> {
    #[serde(flatten)]
    pub pattern: &'a Pattern,
    /// Whether an earlier pass drafted it.
    pub drafted: bool,
    /// The draft's skill id, if drafted.
    pub skill_id: Option<&'a str>,
    /// The draft's state, if drafted.
    pub state: Option<&'a str>,
}

/// `GET /evolve/patterns`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PatternsAnswer<'a> {
    pub user_id: &'a PrincipalId,
    pub traces_analyzed: u64,
    /// The thresholds in force (Spin variables `min_pattern_count`,
    /// `min_success_rate`).
    pub min_pattern_count: u32,
    pub min_success_rate: f64,
    pub patterns: Vec<PatternView<'a>>,
}
