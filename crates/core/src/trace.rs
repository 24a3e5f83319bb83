//! Traces: the record of one chat turn or one workflow run, the raw
//! material of evolution.
//!
//! A trace names who did what (user, team, task text), which skills were
//! involved (`skills_used`; for runs also `sequence`, the skill ids in plan
//! order), how it ended and how long it took. Kind-specific data (model and
//! token usage for chat; workflow id, inputs, outputs and exact skill
//! commits for runs) sits in `details`, kept as given.
//!
//! Trace ids sort by time: `tr-<13 hex digits of milliseconds>-<8 hex
//! digits of randomness>`, so listing by id is listing by creation.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ids::PrincipalId;

/// Longest task text kept in a trace; longer messages are cut at a char
/// boundary (the full message stays in the conversation).
pub const MAX_TASK_CHARS: usize = 4000;

/// Most skills a trace may name (in `skills_used` or `sequence`).
pub const MAX_SKILLS: usize = 5000;

/// Largest serialized `details`, so one trace cannot bloat a volume.
pub const MAX_DETAILS_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TraceKind {
    /// One chat turn.
    Chat,
    /// One workflow run, at the edge or reported by the browser.
    WorkflowRun,
}

impl TraceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TraceKind::Chat => "chat",
            TraceKind::WorkflowRun => "workflow-run",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "chat" => Some(TraceKind::Chat),
            "workflow-run" => Some(TraceKind::WorkflowRun),
            _ => None,
        }
    }
}

impl fmt::Display for TraceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Success,
    Error,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "success" => Some(Outcome::Success),
            "error" => Some(Outcome::Error),
            _ => None,
        }
    }
}

/// One trace, as stored in the user's volume and returned by the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Trace {
    pub trace_id: String,
    pub kind: TraceKind,
    #[schema(value_type = String)]
    pub user_id: PrincipalId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub team_id: Option<PrincipalId>,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    /// The task in the user's words: the chat message, or the workflow's
    /// name and description.
    pub task: String,
    #[serde(default)]
    pub skills_used: Vec<String>,
    /// Workflow runs: skill ids of the nodes in plan order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sequence: Vec<String>,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: u64,
    /// What the run or turn recorded: per node or per message, by kind.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    #[schema(value_type = Object)]
    pub details: Map<String, Value>,
}

/// Why a trace is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceError {
    #[error("trace id `{0}` is not of the form tr-<13 hex>-<8 hex>")]
    BadId(String),
    #[error("`{field}` names {count} skills; at most {max} are kept", max = MAX_SKILLS)]
    TooManySkills { field: &'static str, count: usize },
    #[error("`{field}` contains `{value}`, which is not a skill id")]
    BadSkill { field: &'static str, value: String },
    #[error("`details` is {0} bytes; at most {max} are kept", max = MAX_DETAILS_BYTES)]
    DetailsTooLarge(usize),
    #[error("`created_at` {0} is not a time in milliseconds since 1970")]
    BadTime(i64),
}

/// A new trace id for a trace created at `now_ms` with 32 random bits.
pub fn new_trace_id(now_ms: i64, random: u32) -> String {
    format!("tr-{:013x}-{random:08x}", now_ms.max(0))
}

/// Whether `id` has the form of [`new_trace_id`]'s output.
pub fn is_trace_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("tr-") else {
        return false;
    };
    let Some((time, random)) = rest.split_once('-') else {
        return false;
    };
    let hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    };
    hex(time, 13) && hex(random, 8)
}

/// `text` cut to at most `max` characters.
pub fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => text[..cut].to_owned(),
        None => text.to_owned(),
    }
}

impl Trace {
    /// Checks the limits and shapes a stored trace must respect, and cuts
    /// an over-long task.
    pub fn normalize(mut self) -> Result<Self, TraceError> {
        if !is_trace_id(&self.trace_id) {
            return Err(TraceError::BadId(self.trace_id));
        }
        if self.created_at < 0 {
            return Err(TraceError::BadTime(self.created_at));
        }
        self.task = truncate_chars(&self.task, MAX_TASK_CHARS);
        for (field, list) in [
            ("skills_used", &self.skills_used),
            ("sequence", &self.sequence),
        ] {
            if list.len() > MAX_SKILLS {
                return Err(TraceError::TooManySkills {
                    field,
                    count: list.len(),
                });
            }
            if let Some(bad) = list.iter().find(|s| !is_skill_ref(s)) {
                return Err(TraceError::BadSkill {
                    field,
                    value: bad.escape_default().to_string(),
                });
            }
        }
        let size = serde_json::to_vec(&self.details).map_or(0, |v| v.len());
        if size > MAX_DETAILS_BYTES {
            return Err(TraceError::DetailsTooLarge(size));
        }
        Ok(self)
    }

    /// Where the trace lives in the user's volume:
    /// `traces/<yyyy>/<mm>/<dd>/<trace id>.json` (UTC).
    pub fn path(&self) -> String {
        let (y, m, d) = civil_date(self.created_at.div_euclid(86_400_000));
        format!("traces/{y:04}/{m:02}/{d:02}/{}.json", self.trace_id)
    }
}

/// A skill id, or a built-in node id (`builtin:<name>`).
fn is_skill_ref(s: &str) -> bool {
    let id = s.strip_prefix("builtin:").unwrap_or(s);
    crate::ids::SkillId::new(id).is_ok()
}

/// Year, month, day of a day count since 1970-01-01 (proleptic Gregorian),
/// after Howard Hinnant's `civil_from_days`.
pub(crate) fn civil_date(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).expect("day of month fits");
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).expect("month fits");
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace() -> Trace {
        Trace {
            trace_id: new_trace_id(1_764_000_000_000, 0xdead_beef),
            kind: TraceKind::Chat,
            user_id: PrincipalId::user("alice").unwrap(),
            team_id: None,
            created_at: 1_764_000_000_000,
            task: "plot a sine".into(),
            skills_used: vec!["data-plot-node".into()],
            sequence: vec![],
            outcome: Outcome::Success,
            error: None,
            duration_ms: 12,
            details: Map::new(),
        }
    }

    #[test]
    fn ids_sort_by_time() {
        let a = new_trace_id(1_000, u32::MAX);
        let b = new_trace_id(1_001, 0);
        assert!(a < b);
        assert!(is_trace_id(&a) && is_trace_id(&b));
        for bad in [
            "",
            "tr-",
            "tr-00000000003e8-ffffffffff",
            "x-00000000003e8-ffffffff",
            "tr-00000000003E8-ffffffff",
        ] {
            assert!(!is_trace_id(bad), "{bad}");
        }
    }

    #[test]
    fn path_is_dated_in_utc() {
        // 2025-11-24T16:00:00Z
        assert_eq!(
            trace().path(),
            format!("traces/2025/11/24/{}.json", trace().trace_id)
        );
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(11_016), (2000, 2, 29));
    }

    #[test]
    fn normalize_enforces_limits() {
        let mut t = trace();
        t.task = "x".repeat(MAX_TASK_CHARS + 10);
        assert_eq!(t.normalize().unwrap().task.len(), MAX_TASK_CHARS);
        let mut t = trace();
        t.skills_used = vec!["../etc".into()];
        assert!(matches!(t.normalize(), Err(TraceError::BadSkill { .. })));
        let mut t = trace();
        t.sequence = vec!["builtin:math".into(), "quantum-vqe-node".into()];
        assert!(t.normalize().is_ok());
        let mut t = trace();
        t.trace_id = "mine".into();
        assert!(matches!(t.normalize(), Err(TraceError::BadId(_))));
    }

    #[test]
    fn json_shape_is_stable() {
        let value = serde_json::to_value(trace()).unwrap();
        assert_eq!(value["kind"], "chat");
        assert_eq!(value["outcome"], "success");
        assert!(value.get("sequence").is_none());
        let back: Trace = serde_json::from_value(value).unwrap();
        assert_eq!(back, trace());
    }
}
