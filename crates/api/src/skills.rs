//! `/skills`, `/volumes` and `/git`: the `skills` component.

use llmos_core::ids::{SkillId, VolumeId};
use llmos_core::skill::{
    AgentSkillMeta, PortFields, SkillFormat, SkillKind, SkillStatus, SkillView,
};
use llmos_core::types::{ExecutionMode, PortSpec, PortType, Runtime};
use llmos_guest::api::CommitEntry;
use llmos_guest::api::skills::{
    BuildRequest, ComponentStored, ComponentView, PromoteRequest, RollbackRequest, SkillAnswer,
    SkillCreated, SkillDeleted, SkillDiff, SkillHistory, SkillList, SkillPromoted, SkillRolledBack,
    SkillUpdated, SkillWrite,
};
use llmos_guest::api::volumes::{VolumeHistory, VolumeStat, VolumeStats};
use llmos_guest::error::ErrorBody;
use llmos_store::catalog::{CatalogProblem, ComponentState, ListedSkill};
use utoipa::OpenApi;

use crate::Binary;
use crate::git::GitPaths;

#[derive(OpenApi)]
#[openapi(
    paths(
        skills_list,
        skills_create,
        skills_promote,
        skills_show,
        skills_replace,
        skills_delete,
        skills_raw,
        skills_history,
        skills_diff,
        skills_rollback,
        skills_component_get,
        skills_component_put,
        skills_build,
        volumes_stats,
        volumes_history
    ),
    components(schemas(
        Binary,
        SkillId,
        VolumeId,
        SkillKind,
        SkillStatus,
        SkillFormat,
        PortType,
        PortSpec,
        PortFields,
        Runtime,
        ExecutionMode,
        AgentSkillMeta,
        SkillView,
        SkillWrite,
        SkillList,
        ListedSkill,
        CatalogProblem,
        ComponentState,
        ComponentView,
        SkillAnswer,
        SkillCreated,
        SkillUpdated,
        SkillDeleted,
        CommitEntry,
        SkillHistory,
        RollbackRequest,
        SkillRolledBack,
        SkillDiff,
        PromoteRequest,
        SkillPromoted,
        BuildRequest,
        ComponentStored,
        VolumeStat,
        VolumeStats,
        VolumeHistory
    )),
    modifiers(&GitPaths),
    tags(
        (name = "skills", description = "Skills in the caller's volumes: list, read, write, \
                                         history, diff, rollback, promotion, components."),
        (name = "volumes", description = "Statistics and history of whole volumes."),
        (name = "git", description = "Git's dumb-HTTP protocol: `git clone` a volume.")
    )
)]
pub(crate) struct Doc;

#[utoipa::path(
    get,
    path = "/skills",
    tag = "skills",
    operation_id = "skills-list",
    summary = "The caller's merged view of skills (user > team > system), filtered and paged. Role: any.",
    params(
        ("user_id" = Option<String>, Query, description = "The token's user (or any, for an admin)."),
        ("team_id" = Option<String>, Query, description = "One of the token's teams (or any, for an admin); the team volume of the view."),
        ("q" = Option<String>, Query, description = "Search: skills ranked by how well they match."),
        ("category" = Option<String>, Query, description = "Only this category."),
        ("type" = Option<String>, Query, description = "`context`, `executable`, or one runtime (`python-wasm`, …)."),
        ("status" = Option<String>, Query, description = "`draft`, `verified` or `retired`."),
        ("volume" = Option<String>, Query, pattern = "^(|user|team|system|(teams|users)/[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$", description = "Only this volume of the view."),
        ("offset" = Option<u32>, Query, minimum = 0, maximum = 1000000, description = "Skip this many (default 0)."),
        ("limit" = Option<u32>, Query, minimum = 0, maximum = 10000, description = "Page size (default: all)."),
        ("If-None-Match" = Option<String>, Header, description = "The `ETag` of a listing the client has.")
    ),
    responses(
        (status = 200, description = "One page; `errors` lists files of the listed volumes that are not readable skills.", body = SkillList,
            headers(("etag" = String, description = "Names the view, its volumes' heads and the query."))),
        (status = 304, description = "The client's listing is current."),
        (status = 400, description = "A bad query parameter or volume.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "`user_id`, `team_id` or `volume` is not the caller's.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn skills_list() {}

#[utoipa::path(
    post,
    path = "/skills",
    tag = "skills",
    operation_id = "skills-create",
    summary = "Create a skill at `skills/{skill_id}.md` of the user's volume (or a team's, for members; the system's, for admins). Role: any.",
    params(
        ("user_id" = Option<String>, Query, description = "For a Markdown body: whose volume."),
        ("team_id" = Option<String>, Query, description = "For a Markdown body: the team of `volume=team`."),
        ("volume" = Option<String>, Query, pattern = "^(|user|team|system|(teams|users)/[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$", description = "For a Markdown body: where to write it."),
        ("skill_id" = Option<String>, Query, description = "For a Markdown body without `id` in its front matter.")
    ),
    request_body(
        description = "The skill's fields as JSON, or a whole skill file as `text/markdown`.",
        content(
            (SkillWrite = "application/json"),
            (String = "text/markdown")
        )
    ),
    responses(
        (status = 201, description = "Committed.", body = SkillCreated),
        (status = 400, description = "Malformed JSON, an unknown or repeated field, a bad id or volume.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "The caller may not write that volume.", body = ErrorBody),
        (status = 409, description = "The volume has a skill of that id.", body = ErrorBody),
        (status = 413, description = "The skill file is too large.", body = ErrorBody),
        (status = 415, description = "Neither JSON nor Markdown.", body = ErrorBody),
        (status = 422, description = "Not a valid skill; the message names file, line and field.", body = ErrorBody),
        (status = 503, description = "The volume's head kept moving.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn skills_create() {}

#[utoipa::path(
    post,
    path = "/skills/promote",
    tag = "skills",
    operation_id = "skills-promote",
    summary = "Copy a skill from the user's volume to a team's (`target: team`, members) or from a team's to the system volume (`target: system`, admins).",
    request_body(content = PromoteRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Committed to the target volume.", body = SkillPromoted),
        (status = 400, description = "Malformed JSON, no `team_id`, a bad id, target or reason.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "Not a member of the team, or not an admin for `system`.", body = ErrorBody),
        (status = 404, description = "The source volume has no such skill.", body = ErrorBody),
        (status = 409, description = "The target changed meanwhile.", body = ErrorBody),
        (status = 415, description = "The body is not JSON.", body = ErrorBody),
        (status = 503, description = "The volume's head kept moving.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn skills_promote() {}

#[utoipa::path(
    get,
    path = "/skills/{skill_id}",
    tag = "skills",
    operation_id = "skills-show",
    summary = "One whole skill, from the merged view or the named volume. Role: any.",
    params(
        ("skill_id" = SkillId, Path, description = "The skill's id."),
        ("volume" = Option<String>, Query, pattern = "^(|user|team|system|(teams|users)/[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$", description = "Read it from this volume instead of the merged view."),
        ("user_id" = Option<String>, Query, description = "The token's user (or any, for an admin)."),
        ("team_id" = Option<String>, Query, description = "One of the token's teams."),
        ("If-None-Match" = Option<String>, Header, description = "The `ETag` of an answer the client has.")
    ),
    responses(
        (status = 200, description = "The skill, where it was found and, for compiled skills, its component.", body = SkillAnswer,
            headers(("etag" = String, description = "Names the volumes read, their heads and the request."))),
        (status = 304, description = "The client's answer is current."),
        (status = 400, description = "A bad id or volume.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "The volume is not the caller's.", body = ErrorBody),
        (status = 404, description = "No such skill there.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn skills_show() {}

#[utoipa::path(
    put,
    path = "/skills/{skill_id}",
    tag = "skills",
    operation_id = "skills-replace",
    summary = "Replace a skill where the target volume has it (a new commit). Role: a writer of the volume.",
    params(
        ("skill_id" = SkillId, Path, description = "The skill's id."),
        ("user_id" = Option<String>, Query, description = "For a Markdown body: whose volume."),
        ("team_id" = Option<String>, Query, description = "For a Markdown body: the team of `volume=team`."),
        ("volume" = Option<String>, Query, pattern = "^(|user|team|system|(teams|users)/[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$", description = "For a Markdown body: where the skill is.")
    ),
    request_body(
        description = "The skill's fields as JSON, or the whole file as `text/markdown`.",
        content(
            (SkillWrite = "application/json"),
            (String = "text/markdown")
        )
    ),
    responses(
        (status = 200, description = "Committed (or unchanged: `changed: false`).", body = SkillUpdated),
        (status = 400, description = "Malformed JSON, an unknown or repeated field, a bad id or volume.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "The caller may not write that volume.", body = ErrorBody),
        (status = 404, description = "The volume has no such skill.", body = ErrorBody),
        (status = 413, description = "The skill file is too large.", body = ErrorBody),
        (status = 415, description = "Neither JSON nor Markdown.", body = ErrorBody),
        (status = 422, description = "Not a valid skill; the message names file, line and field.", body = ErrorBody),
        (status = 503, description = "The volume's head kept moving.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn skills_replace() {}

#[utoipa::path(
    delete,
    path = "/skills/{skill_id}",
    tag = "skills",
    operation_id = "skills-delete",
    summary = "Delete a skill (and its component) from a volume. Role: a writer of the volume.",
    params(
        ("skill_id" = SkillId, Path, description = "The skill's id."),
        ("volume" = Option<String>, Query, pattern = "^(|user|team|system|(teams|users)/[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$", description = "Where (default: the user's volume)."),
        ("user_id" = Option<String>, Query, description = "The token's user (or any, for an admin)."),
        ("team_id" = Option<String>, Query, description = "The team of `volume=team`.")
    ),
    responses(
        (status = 200, description = "Committed.", body = SkillDeleted),
        (status = 400, description = "A bad id or volume.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "The caller may not write that volume.", body = ErrorBody),
        (status = 404, description = "The volume has no such skill.", body = ErrorBody),
        (status = 503, description = "The volume's head kept moving.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn skills_delete() {}

#[utoipa::path(
    get,
    path = "/skills/{skill_id}/raw",
    tag = "skills",
    operation_id = "skills-raw",
    summary = "The skill file exactly as stored. Role: any.",
    params(
        ("skill_id" = SkillId, Path, description = "The skill's id."),
        ("volume" = Option<String>, Query, pattern = "^(|user|team|system|(teams|users)/[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$", description = "Read it from this volume instead of the merged view."),
        ("user_id" = Option<String>, Query, description = "The token's user (or any, for an admin)."),
        ("team_id" = Option<String>, Query, description = "One of the token's teams.")
    ),
    responses(
        (status = 200, description = "The file.", content_type = "text/markdown", body = String,
            headers(
                ("etag" = String, description = "The file's git blob id."),
                ("x-skill-volume" = String, description = "The volume it was read from."),
                ("x-skill-commit" = String, description = "The commit it was read at.")
            )),
        (status = 400, description = "A bad id or volume.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "The volume is not the caller's.", body = ErrorBody),
        (status = 404, description = "No such skill there.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn skills_raw() {}

#[utoipa::path(
    get,
    path = "/skills/{skill_id}/history",
    tag = "skills",
    operation_id = "skills-history",
    summary = "Commits that changed the skill's file or component, newest first. Role: a reader of the volume.",
    params(
        ("skill_id" = SkillId, Path, description = "The skill's id."),
        ("volume" = Option<String>, Query, pattern = "^(|user|team|system|(teams|users)/[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$", description = "Whose history (default: where the merged view finds it)."),
        ("user_id" = Option<String>, Query, description = "The token's user (or any, for an admin)."),
        ("team_id" = Option<String>, Query, description = "One of the token's teams."),
        ("limit" = Option<u32>, Query, minimum = 0, maximum = 1000, description = "Page size (default 50)."),
        ("cursor" = Option<String>, Query, pattern = "^(|[0-9a-f]{40})$", description = "The `next` of the page before.")
    ),
    responses(
        (status = 200, description = "One page of commits.", body = SkillHistory),
        (status = 400, description = "A bad id, volume, limit or cursor.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "The volume is not the caller's.", body = ErrorBody),
        (status = 404, description = "The skill never existed there, or the cursor is not a commit of the volume.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn skills_history() {}

#[utoipa::path(
    get,
    path = "/skills/{skill_id}/diff",
    tag = "skills",
    operation_id = "skills-diff",
    summary = "A unified diff of the skill's file between two commits of its volume. Role: a reader of the volume.",
    params(
        ("skill_id" = SkillId, Path, description = "The skill's id."),
        ("from" = String, Query, pattern = "^[0-9a-f]{40}$", description = "The older commit."),
        ("to" = Option<String>, Query, pattern = "^(|[0-9a-f]{40})$", description = "The newer commit (default: the head)."),
        ("volume" = Option<String>, Query, pattern = "^(|user|team|system|(teams|users)/[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$", description = "Which volume (default: where the merged view finds it)."),
        ("user_id" = Option<String>, Query, description = "The token's user (or any, for an admin)."),
        ("team_id" = Option<String>, Query, description = "One of the token's teams.")
    ),
    responses(
        (status = 200, description = "The diff.", body = SkillDiff),
        (status = 400, description = "A bad id, volume or commit; `from` missing.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "The volume is not the caller's.", body = ErrorBody),
        (status = 404, description = "A commit or the skill is not in the volume.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn skills_diff() {}

#[utoipa::path(
    post,
    path = "/skills/{skill_id}/rollback",
    tag = "skills",
    operation_id = "skills-rollback",
    summary = "Restore the skill (and its component) as it was at a commit, as a new commit. Role: a writer of the volume.",
    params(("skill_id" = SkillId, Path, description = "The skill's id.")),
    request_body(content = RollbackRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Committed.", body = SkillRolledBack),
        (status = 400, description = "Malformed JSON, an unknown field, a bad id, volume or commit.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "The caller may not write that volume.", body = ErrorBody),
        (status = 404, description = "The commit is not in the volume or has no such skill.", body = ErrorBody),
        (status = 415, description = "The body is not JSON.", body = ErrorBody),
        (status = 422, description = "The old version is not a valid skill today.", body = ErrorBody),
        (status = 503, description = "The volume's head kept moving.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn skills_rollback() {}

#[utoipa::path(
    get,
    path = "/skills/{skill_id}/component",
    tag = "skills",
    operation_id = "skills-component-get",
    summary = "The compiled skill's WebAssembly component. Role: a reader of the volume.",
    params(
        ("skill_id" = SkillId, Path, description = "The skill's id."),
        ("commit" = Option<String>, Query, pattern = "^(|[0-9a-f]{40})$", description = "The component as of this commit (immutable) instead of the latest."),
        ("volume" = Option<String>, Query, pattern = "^(|user|team|system|(teams|users)/[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$", description = "Read it from this volume."),
        ("user_id" = Option<String>, Query, description = "The token's user (or any, for an admin)."),
        ("team_id" = Option<String>, Query, description = "One of the token's teams."),
        ("If-None-Match" = Option<String>, Header, description = "The component's `ETag`.")
    ),
    responses(
        (status = 200, description = "The component's bytes.", content_type = "application/wasm", body = Binary,
            headers(
                ("etag" = String, description = "The component's SHA-256."),
                ("x-component-sha256" = String, description = "The component's SHA-256."),
                ("x-skill-volume" = String, description = "The volume it was read from."),
                ("x-skill-commit" = String, description = "The commit it was read at.")
            )),
        (status = 304, description = "The client has these bytes."),
        (status = 400, description = "A bad id, volume or commit.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "The volume is not the caller's.", body = ErrorBody),
        (status = 404, description = "No such skill, or it has no component there.", body = ErrorBody),
        (status = 422, description = "The skill is not a compiled skill.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn skills_component_get() {}

#[utoipa::path(
    put,
    path = "/skills/{skill_id}/component",
    tag = "skills",
    operation_id = "skills-component-put",
    summary = "Upload a component built elsewhere; it is checked against the skill and committed beside it. Role: a writer of the volume.",
    params(
        ("skill_id" = SkillId, Path, description = "The skill's id."),
        ("volume" = Option<String>, Query, pattern = "^(|user|team|system|(teams|users)/[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$", description = "Where the skill is (default: the user's volume)."),
        ("user_id" = Option<String>, Query, description = "The token's user (or any, for an admin)."),
        ("team_id" = Option<String>, Query, description = "The team of `volume=team`.")
    ),
    request_body(description = "The component's bytes.",
        content((Binary = "application/wasm"), (Binary = "application/octet-stream"))),
    responses(
        (status = 200, description = "Committed (or already there: `changed: false`).", body = ComponentStored),
        (status = 400, description = "A bad id or volume.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "The caller may not write that volume.", body = ErrorBody),
        (status = 404, description = "The volume has no such skill.", body = ErrorBody),
        (status = 409, description = "The skill changed while the component was checked.", body = ErrorBody),
        (status = 413, description = "The component is too large.", body = ErrorBody),
        (status = 415, description = "Neither `application/wasm` nor `application/octet-stream`.", body = ErrorBody),
        (status = 422, description = "Not a component of this skill: not compiled, not a component, an import that is not allowed, ports that differ.", body = ErrorBody),
        (status = 503, description = "The volume's head kept moving.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn skills_component_put() {}

#[utoipa::path(
    post,
    path = "/skills/{skill_id}/build",
    tag = "skills",
    operation_id = "skills-build",
    summary = "Build the compiled skill with the builder service and commit its component. Role: a writer of the volume.",
    params(
        ("skill_id" = SkillId, Path, description = "The skill's id."),
        ("volume" = Option<String>, Query, pattern = "^(|user|team|system|(teams|users)/[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$", description = "Where the skill is (default: the user's volume)."),
        ("user_id" = Option<String>, Query, description = "The token's user (or any, for an admin)."),
        ("team_id" = Option<String>, Query, description = "The team of `volume=team`.")
    ),
    request_body(description = "Optional: where the skill is, instead of the query.", content = Option<BuildRequest>, content_type = "application/json"),
    responses(
        (status = 200, description = "Built and committed.", body = ComponentStored),
        (status = 400, description = "Malformed JSON, a bad id or volume.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "The caller may not write that volume.", body = ErrorBody),
        (status = 404, description = "The volume has no such skill.", body = ErrorBody),
        (status = 409, description = "The skill changed during the build.", body = ErrorBody),
        (status = 415, description = "The body is not JSON.", body = ErrorBody),
        (status = 422, description = "Not a compiled skill, or the compiler refused it (`skill-compile-failed`, with the line).", body = ErrorBody),
        (status = 502, description = "The builder failed or answered something unusable.", body = ErrorBody),
        (status = 503, description = "No builder is configured, or the volume's head kept moving.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn skills_build() {}

#[utoipa::path(
    get,
    path = "/volumes/stats",
    tag = "volumes",
    operation_id = "volumes-stats",
    summary = "Skills, files, commits and last commit of the user's, the team's and the system volume. Role: any.",
    params(
        ("user_id" = Option<String>, Query, description = "The token's user (or any, for an admin)."),
        ("team_id" = Option<String>, Query, description = "One of the token's teams (default: its first).")
    ),
    responses(
        (status = 200, description = "The three volumes (`team` is null without one).", body = VolumeStats),
        (status = 400, description = "A bad id.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "The user or team is not the caller's.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn volumes_stats() {}

#[utoipa::path(
    get,
    path = "/volumes/history",
    tag = "volumes",
    operation_id = "volumes-history",
    summary = "A volume's commits, newest first. Role: a reader of the volume.",
    params(
        ("volume" = Option<String>, Query, pattern = "^(|user|team|system|(teams|users)/[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$", description = "Which volume (default: the user's)."),
        ("user_id" = Option<String>, Query, description = "The token's user (or any, for an admin)."),
        ("team_id" = Option<String>, Query, description = "One of the token's teams."),
        ("limit" = Option<u32>, Query, minimum = 0, maximum = 1000, description = "Page size (default 20)."),
        ("cursor" = Option<String>, Query, pattern = "^(|[0-9a-f]{40})$", description = "The `next` of the page before.")
    ),
    responses(
        (status = 200, description = "One page of commits.", body = VolumeHistory),
        (status = 400, description = "A bad volume, limit or cursor.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "The volume is not the caller's.", body = ErrorBody),
        (status = 404, description = "The cursor is not a commit of the volume.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn volumes_history() {}
