//! The life cycle of evolved skills: use counts and success rates from
//! later traces, retirement, and the per-user cap on active drafts.
//!
//! Rules, applied in this order at every pass:
//!
//! 1. A draft whose last use (or, never used, its drafting) is at least
//!    `retire_unused_after_ms` ago is retired as `unused`.
//! 2. A draft used at least `min_pattern_count` times with a success rate
//!    below `min_success_rate` is retired as `low-success-rate` (fewer uses
//!    say too little to judge).
//! 3. When the active drafts plus the new ones of this pass exceed
//!    `max_active_drafts`, the oldest unverified drafts are retired first,
//!    then the oldest verified ones, as `over-cap`; if the new drafts alone
//!    exceed the cap, only the first `max_active_drafts` are written.
//!
//! Retiring sets `status: retired` in the file (a commit, reversible by
//! setting the status back). Nothing is ever promoted.

use serde::Serialize;

use super::EvolveConfig;
use super::detect::Usage;
use super::draft::Verification;

/// An evolved skill as the pass sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvolvedSkill {
    pub skill_id: String,
    pub verification: Verification,
    /// Whether it is active (`status: draft`); retired ones only get
    /// their counts updated.
    pub active: bool,
    /// When it was drafted (ms).
    pub drafted_at: i64,
    /// What the file says now (to write only changes).
    pub recorded: Usage,
}

/// Why a draft was retired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RetireReason {
    Unused,
    LowSuccessRate,
    OverCap,
}

impl RetireReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RetireReason::Unused => "unused",
            RetireReason::LowSuccessRate => "low-success-rate",
            RetireReason::OverCap => "over-cap",
        }
    }
}

/// What to change.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LifecyclePlan {
    /// Skills whose counts changed: `(skill id, new usage)`.
    pub updates: Vec<(String, Usage)>,
    /// Skills to retire.
    pub retire: Vec<(String, RetireReason)>,
    /// How many of this pass's new drafts may be written.
    pub new_draft_budget: usize,
}

/// Decides updates and retirements. `usage(skill)` is what this pass
/// counted; `new_drafts` how many new patterns want a draft.
pub fn plan_lifecycle(
    skills: &[EvolvedSkill],
    usage: impl Fn(&str) -> Usage,
    new_drafts: usize,
    now_ms: i64,
    config: &EvolveConfig,
) -> LifecyclePlan {
    let mut plan = LifecyclePlan::default();
    let mut active: Vec<&EvolvedSkill> = Vec::new();
    for skill in skills {
        let counted = usage(&skill.skill_id);
        if counted != skill.recorded {
            plan.updates.push((skill.skill_id.clone(), counted));
        }
        if !skill.active {
            continue;
        }
        let last = counted
            .last_used_at
            .unwrap_or(skill.drafted_at)
            .max(skill.drafted_at);
        if now_ms.saturating_sub(last) >= config.retire_unused_after_ms {
            plan.retire
                .push((skill.skill_id.clone(), RetireReason::Unused));
        } else if counted.uses >= config.min_pattern_count.max(1)
            && !config.qualifies(counted.uses, counted.successes)
        {
            plan.retire
                .push((skill.skill_id.clone(), RetireReason::LowSuccessRate));
        } else {
            active.push(skill);
        }
    }
    let cap = config.max_active_drafts;
    let wanted = active.len() + new_drafts;
    if wanted > cap {
        let mut excess = wanted - cap;
        // Oldest unverified first, then oldest verified.
        active.sort_by_key(|s| {
            (
                s.verification == Verification::Verified,
                s.drafted_at,
                s.skill_id.clone(),
            )
        });
        for skill in active.iter().take(excess.min(active.len())) {
            plan.retire
                .push((skill.skill_id.clone(), RetireReason::OverCap));
        }
        excess -= excess.min(active.len());
        plan.new_draft_budget = new_drafts - excess;
    } else {
        plan.new_draft_budget = new_drafts;
    }
    plan
}
