//! `/skills`: what the `skills` component reads and answers.

use llmos_core::ids::{SkillId, VolumeId};
use llmos_core::skill::{PortFields, SkillView};
use llmos_store::catalog::{CatalogProblem, ComponentState, ListedSkill};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::CommitEntry;

/// The JSON body of `POST /skills` and `PUT /skills/{skill_id}`: the
/// skill's fields plus where to write it. Unknown and repeated fields are
/// refused. (A skill file may be sent instead, as `text/markdown`.)
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SkillWrite {
    /// The user whose volume to write (the token's user when absent).
    #[serde(default)]
    pub user_id: Option<String>,
    /// A team of the caller, for `volume: "team"`.
    #[serde(default)]
    pub team_id: Option<String>,
    /// `user` (default), `team`, or a volume id (`teams/{id}`, `system`).
    #[serde(default)]
    pub volume: Option<String>,
    /// The new skill's id; derived from `name` when absent (POST only).
    #[serde(default)]
    pub skill_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// The Markdown body.
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub keywords: Vec<String>,
    /// `draft`, `verified` or `retired`.
    #[serde(default)]
    pub status: Option<String>,
    /// `context` (default) or `executable`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Executable skills: the runtime (`python-wasm`, …).
    #[serde(default)]
    pub runtime: Option<String>,
    #[serde(default)]
    pub execution_mode: Option<String>,
    #[serde(default)]
    pub inputs: Vec<PortFields>,
    #[serde(default)]
    pub outputs: Vec<PortFields>,
    /// Executable skills: the code of the one code block.
    #[serde(default)]
    pub code: Option<String>,
    /// The code block's language (`python`, `js`, …).
    #[serde(default)]
    pub code_language: Option<String>,
}

/// `GET /skills`: one page of the caller's merged view, and the files of
/// the listed volumes that are not readable skills.
///
/// The summaries are stored as JSON by the catalog and passed through.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SkillList<'a> {
    /// How many skills match, over all pages.
    pub total: usize,
    pub offset: usize,
    /// The page size asked for; `null` for all.
    pub limit: Option<usize>,
    #[schema(value_type = Vec<ListedSkill>)]
    pub skills: Vec<&'a RawValue>,
    #[schema(value_type = Vec<CatalogProblem>)]
    pub errors: &'a [CatalogProblem],
}

/// A compiled skill's component, in skill answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ComponentView<'a> {
    pub sha256: &'a str,
    pub size: u64,
    /// The component's git blob id.
    pub blob: String,
    /// `skills/{skill_id}.wasm` in the skill's volume.
    pub path: &'a str,
    /// The source language (`rust`, `python`, `javascript`, `wat`).
    pub language: Option<&'static str>,
    /// The toolchain that built it, as its provenance records.
    pub toolchain: Option<&'a str>,
    /// The digest of the skill source it was built from.
    pub source_sha256: Option<&'a str>,
    pub state: ComponentState,
    /// Whether a workflow may run it.
    pub runnable: bool,
    /// Why the bytes are not a component (state `invalid`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a str>,
}

/// `GET /skills/{skill_id}`: the full skill and where it was found.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SkillAnswer<'a> {
    #[serde(flatten)]
    pub skill: SkillView<'a>,
    pub volume: &'a VolumeId,
    /// The commit of the volume the skill was read at.
    pub commit: String,
    pub path: &'a str,
    /// Compiled skills only: the component, or `null` when none is built.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<ComponentView>)]
    pub component: Option<Option<ComponentView<'a>>>,
}

/// `201` of `POST /skills`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SkillCreated<'a> {
    /// `created`.
    pub status: &'static str,
    pub skill_id: &'a SkillId,
    pub volume: &'a VolumeId,
    pub commit: String,
    pub path: &'a str,
}

/// `200` of `PUT /skills/{skill_id}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SkillUpdated<'a> {
    /// `updated`.
    pub status: &'static str,
    pub skill_id: &'a SkillId,
    pub volume: &'a VolumeId,
    pub commit: String,
    pub path: &'a str,
    /// Whether a new commit was made (false when the file was unchanged).
    pub changed: bool,
}

/// `200` of `DELETE /skills/{skill_id}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SkillDeleted<'a> {
    /// `deleted`.
    pub status: &'static str,
    pub skill_id: &'a SkillId,
    pub volume: &'a VolumeId,
    pub commit: String,
}

/// `GET /skills/{skill_id}/history`: commits that changed the skill's file
/// or its component, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SkillHistory<'a> {
    pub skill_id: &'a SkillId,
    pub volume: &'a VolumeId,
    pub path: &'a str,
    pub commits: Vec<CommitEntry>,
    /// The `cursor` of the next page; `null` on the last.
    pub next: Option<String>,
}

/// The body of `POST /skills/{skill_id}/rollback`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackRequest {
    /// The commit whose version of the file to restore (40 hex digits).
    pub commit: String,
    #[serde(default)]
    pub volume: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub team_id: Option<String>,
}

/// `200` of `POST /skills/{skill_id}/rollback`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SkillRolledBack<'a> {
    /// `rolled-back`.
    pub status: &'static str,
    pub skill_id: &'a SkillId,
    pub volume: &'a VolumeId,
    /// The new commit.
    pub commit: String,
    /// The commit whose version was restored.
    pub restored: String,
}

/// `GET /skills/{skill_id}/diff`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SkillDiff<'a> {
    pub skill_id: &'a SkillId,
    pub volume: &'a VolumeId,
    pub path: &'a str,
    pub from: String,
    pub to: String,
    /// Whether either side is not text (then `diff` is empty).
    pub binary: bool,
    /// A unified diff.
    pub diff: &'a str,
}

/// The body of `POST /skills/promote`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoteRequest {
    pub skill_id: String,
    #[serde(default)]
    pub user_id: Option<String>,
    /// The team to promote to (or from, for `target: "system"`).
    #[serde(default)]
    pub team_id: Option<String>,
    /// Why; goes into the commit message.
    #[serde(default)]
    pub reason: Option<String>,
    /// `team` (default) or `system`.
    #[serde(default)]
    pub target: Option<String>,
}

/// `200` of `POST /skills/promote`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SkillPromoted<'a> {
    /// `promoted`.
    pub status: &'static str,
    pub skill_id: &'a SkillId,
    pub from: &'a VolumeId,
    pub to: &'a VolumeId,
    pub commit: String,
    /// The promoted file's git blob id.
    pub blob: String,
    pub path: &'a str,
}

/// The optional body of `POST /skills/{skill_id}/build`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuildRequest {
    #[serde(default)]
    pub volume: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub team_id: Option<String>,
}

/// `200` of `PUT /skills/{skill_id}/component` and of a build.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ComponentStored<'a> {
    /// `uploaded` or `built`.
    pub status: &'static str,
    pub skill_id: &'a SkillId,
    pub volume: &'a VolumeId,
    pub commit: String,
    pub path: &'a str,
    /// Whether a new commit was made (false when the same bytes were there).
    pub changed: bool,
    pub component: ComponentView<'a>,
}
