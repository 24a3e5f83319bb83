//! Draft skill files for new patterns.
//!
//! A draft is a context skill stored at `skills/drafts/<id>.md` with
//! `status: draft` and its provenance in the front matter:
//!
//! ```text
//! skill_id, name, category: evolved, description, keywords, status: draft,
//! source_traces, occurrences, success_rate, fingerprint, pattern (the
//! trace kind), verification (verified | unverified), evolved_at (ms)
//! ```
//!
//! The body states when to use the skill and the approach. It comes from a
//! deterministic template ([`template_body`]) or, when a language model is
//! configured, from the model: [`model_prompt`] builds its prompt from the
//! pattern, and [`accept_model_body`] checks the answer; an answer that
//! fails the check (or no answer) falls back to the template. Either way
//! the file is rendered and parsed again, so a draft is always a valid
//! skill file. Workflow-run patterns may carry the workflow itself, which
//! the body shows as a JSON block (a workflow-as-skill).

use serde::Serialize;
use serde_json::{Map, Value};

use super::detect::Pattern;
use crate::ids::SkillId;
use crate::skill::{self, Skill, SkillError, SkillFields, SkillUpdate};
use crate::trace::TraceKind;
use crate::workflow::Workflow;

/// Category of every draft.
pub const DRAFT_CATEGORY: &str = "evolved";

/// Longest model-written body accepted (bytes).
pub const MAX_MODEL_BODY_BYTES: usize = 16 * 1024;

/// Headings a body must have (the template writes them; the model is
/// asked for them).
pub const REQUIRED_HEADINGS: [&str; 2] = ["## When to use", "## Approach"];

/// Whether a draft's evidence has been checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Verification {
    /// Replaying the workflow reproduced its recorded successful outputs.
    Verified,
    /// Not checked (chat patterns until a person reviews them) or the
    /// replay did not reproduce the recorded outputs.
    Unverified,
}

impl Verification {
    pub fn as_str(self) -> &'static str {
        match self {
            Verification::Verified => "verified",
            Verification::Unverified => "unverified",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "verified" => Some(Verification::Verified),
            "unverified" => Some(Verification::Unverified),
            _ => None,
        }
    }
}

/// Why a model's answer was not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DraftError {
    #[error("the model's body is empty")]
    Empty,
    #[error("the model's body is {0} bytes; at most {MAX_MODEL_BODY_BYTES} are accepted")]
    TooLong(usize),
    #[error("the model's body lacks the heading `{0}`")]
    MissingHeading(&'static str),
    #[error("the model's body starts with front matter")]
    FrontMatter,
    #[error("the model's body does not make a valid skill: {0}")]
    Invalid(String),
}

/// A rendered draft.
#[derive(Debug, Clone)]
pub struct DraftSkill {
    pub skill_id: SkillId,
    /// Path in the user's volume.
    pub path: String,
    pub skill: Skill,
    /// Whether the body came from the model.
    pub model_written: bool,
}

/// The prompt for a model that writes a draft's body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelPrompt {
    pub system: String,
    pub user: String,
}

/// The id of a pattern's draft: a slug of its label and 8 fingerprint
/// digits (so two patterns with the same words still differ).
pub fn draft_skill_id(pattern: &Pattern) -> SkillId {
    let mut slug = String::new();
    for word in pattern.label.split(|c: char| !c.is_ascii_alphanumeric()) {
        if word.is_empty() || word == "builtin" {
            continue;
        }
        if slug.len() + word.len() + 1 > 40 {
            break;
        }
        if !slug.is_empty() {
            slug.push('-');
        }
        slug.push_str(&word.to_ascii_lowercase());
    }
    let short = &pattern.fingerprint[..pattern.fingerprint.len().min(8)];
    let id = if slug.is_empty() {
        format!("evolved-{short}")
    } else {
        format!("{slug}-{short}")
    };
    SkillId::new(&id).unwrap_or_else(|_| {
        SkillId::new(&format!("evolved-{short}")).expect("hex digits make a valid id")
    })
}

fn title(pattern: &Pattern) -> String {
    let base = match pattern.kind {
        TraceKind::Chat if !pattern.label.is_empty() => pattern.label.clone(),
        TraceKind::Chat => "Repeated request".to_owned(),
        TraceKind::WorkflowRun => format!("Workflow: {}", pattern.label),
    };
    let mut chars = base.chars();
    let name: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => base,
    };
    crate::trace::truncate_chars(&name, 120)
}

fn percent(rate: f64) -> String {
    format!("{:.0}%", rate * 100.0)
}

fn describe(pattern: &Pattern) -> String {
    let what = match pattern.kind {
        TraceKind::Chat => "similar chat requests",
        TraceKind::WorkflowRun => "workflow runs with the same steps",
    };
    let mut text = format!(
        "Drafted from {} {what} ({} succeeded)",
        pattern.occurrences,
        percent(pattern.success_rate)
    );
    if let Some(sample) = pattern.sample_tasks.first() {
        let sample = crate::trace::truncate_chars(&sample.replace(['\n', '\r'], " "), 120);
        text.push_str(&format!(", such as \"{sample}\""));
    }
    text.push('.');
    text
}

fn date(ms: i64) -> String {
    let (y, m, d) = crate::trace::civil_date(ms.div_euclid(86_400_000));
    format!("{y:04}-{m:02}-{d:02}")
}

/// The deterministic body of a draft.
pub fn template_body(
    pattern: &Pattern,
    workflow: Option<&Workflow>,
    verification: Verification,
) -> String {
    let mut out = String::new();
    out.push_str(&format!("# {}\n\n## When to use\n\n", title(pattern)));
    match pattern.kind {
        TraceKind::Chat => out.push_str("Use this skill for requests like these:\n\n"),
        TraceKind::WorkflowRun => {
            out.push_str("Use this skill when a task needs these steps again; it was run for:\n\n")
        }
    }
    for sample in &pattern.sample_tasks {
        let one_line = sample.replace(['\n', '\r'], " ");
        out.push_str(&format!("- \"{}\"\n", one_line.trim()));
    }
    if pattern.sample_tasks.is_empty() {
        out.push_str("- (the traces recorded no task text)\n");
    }
    if !pattern.keywords.is_empty() {
        out.push_str(&format!("\nKey terms: {}.\n", pattern.keywords.join(", ")));
    }
    out.push_str("\n## Approach\n\n");
    match pattern.kind {
        TraceKind::Chat => {
            if pattern.skills.is_empty() {
                out.push_str("These requests were answered without other skills. Answer directly, following what worked in the source conversations.\n");
            } else {
                out.push_str("Answers that worked relied on these skills; consult them first:\n\n");
                for (i, (skill, count)) in pattern.skills.iter().take(8).enumerate() {
                    out.push_str(&format!(
                        "{}. `{skill}` (used in {count} of {} requests)\n",
                        i + 1,
                        pattern.occurrences
                    ));
                }
            }
        }
        TraceKind::WorkflowRun => {
            out.push_str("Run these steps in order, passing each step's outputs on:\n\n");
            for (i, step) in pattern.sequence.iter().enumerate() {
                out.push_str(&format!("{}. `{step}`\n", i + 1));
            }
            if let Some(workflow) = workflow {
                out.push_str("\nThe workflow, ready to load on the canvas:\n\n```json\n");
                out.push_str(&workflow.to_canonical_json());
                if !out.ends_with('\n') {
                    out.push('\n');
                }
                out.push_str("```\n");
            }
        }
    }
    out.push_str(&format!(
        "\n## Evidence\n\n{} occurrences between {} and {}, {} successful ({}). Verification: {}.\n",
        pattern.occurrences,
        date(pattern.first_seen),
        date(pattern.last_seen),
        pattern.successes,
        percent(pattern.success_rate),
        match (pattern.kind, verification) {
            (TraceKind::WorkflowRun, Verification::Verified) => "verified — replaying the workflow on the source traces' inputs reproduced their outputs",
            (TraceKind::WorkflowRun, Verification::Unverified) => "unverified — the workflow could not be replayed to the recorded outputs",
            (TraceKind::Chat, _) => "unverified — review this draft before relying on it",
        }
    ));
    out
}

/// The prompt asking a model for a draft's body.
pub fn model_prompt(pattern: &Pattern) -> ModelPrompt {
    let system = format!(
        "You write skill files for an assistant. A skill is Markdown guidance that is added to the \
         assistant's context when a request matches it. Answer with the Markdown body only: no front \
         matter, no surrounding code fence. Start with a `# <title>` line, then exactly these sections: \
         `{}` (which requests this skill is for) and `{}` (the steps that worked). Be concrete and brief \
         (under 400 words). Do not invent facts that the examples do not support.",
        REQUIRED_HEADINGS[0], REQUIRED_HEADINGS[1]
    );
    let mut user = format!(
        "Write the body of a skill named \"{}\" drawn from {} {} that recur in one user's history; {} of them succeeded.\n\n",
        title(pattern),
        pattern.occurrences,
        match pattern.kind {
            TraceKind::Chat => "chat requests",
            TraceKind::WorkflowRun => "workflow runs",
        },
        pattern.successes
    );
    user.push_str("Example requests:\n");
    for sample in &pattern.sample_tasks {
        user.push_str(&format!("- {}\n", sample.replace(['\n', '\r'], " ")));
    }
    if !pattern.skills.is_empty() {
        user.push_str("\nSkills used (with counts):\n");
        for (skill, count) in pattern.skills.iter().take(8) {
            user.push_str(&format!("- {skill}: {count}\n"));
        }
    }
    if !pattern.sequence.is_empty() {
        user.push_str(&format!(
            "\nWorkflow steps in order: {}\n",
            pattern.sequence.join(" → ")
        ));
    }
    ModelPrompt { system, user }
}

/// Checks a model's answer and returns the body to use.
pub fn accept_model_body(answer: &str) -> Result<String, DraftError> {
    let mut body = answer.trim();
    // Models often wrap Markdown in a fence despite being asked not to.
    if let Some(rest) = body.strip_prefix("```") {
        let after_info = rest.split_once('\n').map_or("", |(_, r)| r);
        if let Some(inner) = after_info.trim_end().strip_suffix("```") {
            body = inner.trim();
        }
    }
    if body.is_empty() {
        return Err(DraftError::Empty);
    }
    if body.len() > MAX_MODEL_BODY_BYTES {
        return Err(DraftError::TooLong(body.len()));
    }
    if body.starts_with("---") {
        return Err(DraftError::FrontMatter);
    }
    for heading in REQUIRED_HEADINGS {
        if !body
            .lines()
            .any(|l| l.trim_end().eq_ignore_ascii_case(heading))
        {
            return Err(DraftError::MissingHeading(heading));
        }
    }
    Ok(format!("{body}\n"))
}

/// Renders the draft of `pattern`. `model_answer` is the model's raw
/// answer when one was obtained; it is used when [`accept_model_body`]
/// accepts it and the result parses, else the template is.
pub fn render_draft(
    pattern: &Pattern,
    verification: Verification,
    workflow: Option<&Workflow>,
    model_answer: Option<&str>,
    evolved_at_ms: i64,
) -> Result<DraftSkill, SkillError> {
    if let Some(answer) = model_answer
        && let Ok(body) = accept_model_body(answer)
        && let Ok(draft) = render_with_body(pattern, verification, &body, evolved_at_ms, true)
    {
        return Ok(draft);
    }
    let body = template_body(pattern, workflow, verification);
    render_with_body(pattern, verification, &body, evolved_at_ms, false)
}

fn render_with_body(
    pattern: &Pattern,
    verification: Verification,
    body: &str,
    evolved_at_ms: i64,
    model_written: bool,
) -> Result<DraftSkill, SkillError> {
    let skill_id = draft_skill_id(pattern);
    let mut keywords: Vec<String> = pattern.keywords.clone();
    if pattern.kind == TraceKind::WorkflowRun {
        keywords.extend(
            pattern
                .sequence
                .iter()
                .filter(|s| !s.starts_with("builtin:"))
                .cloned(),
        );
        keywords.dedup();
    }
    keywords.truncate(12);
    let fields = SkillFields {
        skill_id: Some(skill_id.to_string()),
        name: Some(title(pattern)),
        category: Some(DRAFT_CATEGORY.to_owned()),
        description: Some(describe(pattern)),
        content: body.to_owned(),
        keywords,
        status: Some("draft".to_owned()),
        ..SkillFields::default()
    };
    let rendered = skill::render(&fields)?;
    let mut set = Map::new();
    set.insert(
        "source_traces".into(),
        Value::from(pattern.source_traces.clone()),
    );
    set.insert("occurrences".into(), pattern.occurrences.into());
    set.insert("success_rate".into(), round3(pattern.success_rate).into());
    set.insert("fingerprint".into(), pattern.fingerprint.clone().into());
    set.insert("pattern".into(), pattern.kind.as_str().into());
    set.insert("verification".into(), verification.as_str().into());
    set.insert("evolved_at".into(), evolved_at_ms.into());
    let skill = rendered.update(&SkillUpdate {
        set,
        ..SkillUpdate::default()
    })?;
    let path = format!("skills/drafts/{skill_id}.md");
    Ok(DraftSkill {
        skill_id,
        path,
        skill,
        model_written,
    })
}

/// A rate rounded to three decimals, as written in front matter.
pub fn round3(rate: f64) -> f64 {
    (rate * 1000.0).round() / 1000.0
}
