//! Evolution: from traces to patterns to draft skills, and the life cycle
//! of what evolution wrote. Pure logic; the `evolve` component feeds it
//! traces from the index and commits what it decides.
//!
//! - [`detect`]: each trace becomes a *signature* and joins a cluster. A
//!   workflow run's signature is its node sequence (skill ids in plan
//!   order), so runs cluster when they ran the same steps. A chat turn's
//!   signature is the set of its task's terms ([`crate::text::term_set`]:
//!   stemmed, stop words removed) plus `skill:<id>` for every skill it
//!   used; chat turns cluster when the Jaccard similarity of their sets
//!   with a cluster's first member reaches [`SIMILARITY_THRESHOLD`] (0.5:
//!   "plot a sine wave" and "plotting sine waves" share all three terms,
//!   "plot a sine wave" and "fit a sine curve" share one of five and stay
//!   apart). A cluster is a *pattern* when it has at least
//!   `min_pattern_count` occurrences and a success rate of at least
//!   `min_success_rate`. Traces stream through a [`PatternDetector`] one at
//!   a time; only per-cluster aggregates are kept, with capped samples.
//! - [`fingerprint`]: the stable id of a cluster, a hash of its kind and its
//!   first member's signature, so later passes find the same pattern again.
//!   Patterns drafted before are given to the detector as
//!   [`KnownPattern`]s: their clusters are seeded first, similar traces join
//!   them, and they are never drafted twice.
//! - [`draft`]: the draft skill file of a new pattern (front matter with
//!   `status: draft`, provenance and evidence; a body from a deterministic
//!   template or from a language model, whose answer is checked first).
//! - [`replay`]: verification of workflow-run patterns by replaying the
//!   workflow on the recorded inputs of its source traces.
//! - [`lifecycle`]: use counts, success rates and retirement of evolved
//!   skills, and the per-user cap on active drafts.

pub mod detect;
pub mod draft;
pub mod fingerprint;
pub mod lifecycle;
pub mod replay;

pub use detect::{
    Detection, KnownPattern, Observation, Pattern, PatternDetector, Usage, for_each_user,
};
pub use draft::{
    DraftError, DraftSkill, ModelPrompt, Verification, accept_model_body, draft_skill_id,
    model_prompt, render_draft,
};
pub use fingerprint::fingerprint;
pub use lifecycle::{EvolvedSkill, LifecyclePlan, RetireReason, plan_lifecycle};
pub use replay::{ReplayCase, ReplayVerdict, replay, replay_case, workflow_of};

/// Jaccard similarity from which two chat signatures are the same task.
/// Half of the combined terms shared: rewordings of one request ("plot a
/// sine wave", "plotting the sine waves please") meet it, requests that
/// only share a topic word do not.
pub const SIMILARITY_THRESHOLD: f64 = 0.5;

/// Defaults of the thresholds (the Spin variables `min_pattern_count` and
/// `min_success_rate`).
pub const DEFAULT_MIN_PATTERN_COUNT: u32 = 3;
pub const DEFAULT_MIN_SUCCESS_RATE: f64 = 0.7;

/// Most active drafts a user keeps before the oldest are retired.
pub const DEFAULT_MAX_ACTIVE_DRAFTS: usize = 50;

/// A draft nobody used for this long is retired (30 days, in ms).
pub const DEFAULT_RETIRE_UNUSED_AFTER_MS: i64 = 30 * 24 * 3600 * 1000;

/// The knobs of one evolution pass.
#[derive(Debug, Clone, PartialEq)]
pub struct EvolveConfig {
    /// Fewest occurrences of a pattern.
    pub min_pattern_count: u32,
    /// Lowest success rate of a pattern (0..=1).
    pub min_success_rate: f64,
    /// Jaccard similarity for chat clustering.
    pub similarity_threshold: f64,
    /// Trace ids kept per pattern (in `source_traces` and for replay).
    pub max_source_traces: usize,
    /// Clusters kept per user; traces that would open more are counted but
    /// not clustered, so one user with endless distinct tasks cannot
    /// exhaust memory.
    pub max_clusters_per_user: usize,
    /// Time after which an unused draft is retired (ms).
    pub retire_unused_after_ms: i64,
    /// Cap on active drafts per user.
    pub max_active_drafts: usize,
}

impl Default for EvolveConfig {
    fn default() -> Self {
        EvolveConfig {
            min_pattern_count: DEFAULT_MIN_PATTERN_COUNT,
            min_success_rate: DEFAULT_MIN_SUCCESS_RATE,
            similarity_threshold: SIMILARITY_THRESHOLD,
            max_source_traces: 20,
            max_clusters_per_user: 5000,
            retire_unused_after_ms: DEFAULT_RETIRE_UNUSED_AFTER_MS,
            max_active_drafts: DEFAULT_MAX_ACTIVE_DRAFTS,
        }
    }
}

impl EvolveConfig {
    /// Whether `successes` of `occurrences` meet both thresholds. The rate
    /// is compared as a quotient (7/10 is exactly the 0.7 of the config).
    pub fn qualifies(&self, occurrences: u32, successes: u32) -> bool {
        occurrences >= self.min_pattern_count.max(1)
            && f64::from(successes) / f64::from(occurrences) + 1e-12 >= self.min_success_rate
    }
}
