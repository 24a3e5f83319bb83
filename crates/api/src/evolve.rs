//! `/evolve`: the evolution engine of the `evolve` component.

use llmos_core::evolve::{Pattern, RetireReason, Verification};
use llmos_guest::api::evolve::{
    DraftReport, EvolveRequest, PassReport, PatternView, PatternsAnswer, Retirement,
};
use llmos_guest::error::ErrorBody;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    paths(evolve_run, evolve_patterns),
    components(schemas(
        EvolveRequest,
        PassReport,
        DraftReport,
        Retirement,
        RetireReason,
        Verification,
        Pattern,
        PatternView,
        PatternsAnswer
    )),
    tags((name = "evolve", description = "The evolution engine: repeated successful patterns \
                                          in a user's traces become draft skills."))
)]
pub(crate) struct Doc;

#[utoipa::path(
    post,
    path = "/evolve",
    tag = "evolve",
    operation_id = "evolve-run",
    summary = "One evolution pass over the user's traces: draft, update and retire skills. Role: the user, or an admin for anyone.",
    request_body(
        description = "Optional; an empty body is `{}`.",
        content = Option<EvolveRequest>,
        content_type = "application/json"
    ),
    responses(
        (status = 200, description = "The pass's report; with `auto_apply` (default) one commit in `users/{user_id}`, without it nothing changes and the drafts' files are returned.", body = PassReport),
        (status = 400, description = "Malformed JSON, an unknown field, a bad id.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "`user_id` or `team_id` is not the caller's.", body = ErrorBody),
        (status = 415, description = "The body is not JSON.", body = ErrorBody),
        (status = 503, description = "A threshold variable is invalid, or the volume's head kept moving.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn evolve_run() {}

#[utoipa::path(
    get,
    path = "/evolve/patterns",
    tag = "evolve",
    operation_id = "evolve-patterns",
    summary = "The patterns the user's traces show now, drafted or not; changes nothing. Role: the user, or an admin for anyone.",
    params(("user_id" = Option<String>, Query, description = "Whose traces (default: the token's user).")),
    responses(
        (status = 200, description = "The qualifying patterns, most frequent first.", body = PatternsAnswer),
        (status = 400, description = "A bad id.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "`user_id` is not the caller's.", body = ErrorBody),
        (status = 503, description = "A threshold variable is invalid.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn evolve_patterns() {}
