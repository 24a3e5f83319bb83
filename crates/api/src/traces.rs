//! `/traces`: the trace index of the `evolve` component.

use llmos_core::trace::{Outcome, Trace, TraceKind};
use llmos_guest::error::ErrorBody;
use llmos_store::traces::{TracePage, TraceRow};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    paths(traces_list, traces_show),
    components(schemas(TraceKind, Outcome, Trace, TraceRow, TracePage)),
    tags((name = "traces", description = "What chat turns and workflow runs recorded."))
)]
pub(crate) struct Doc;

#[utoipa::path(
    get,
    path = "/traces",
    tag = "traces",
    operation_id = "traces-list",
    summary = "A user's traces, newest first. Role: the user, or an admin for anyone.",
    params(
        ("user_id" = Option<String>, Query, description = "Whose traces; the token's user when absent."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, 1 to 500 (default 50)."),
        ("cursor" = Option<String>, Query, description = "The `next` of the page before."),
        ("kind" = Option<TraceKind>, Query, description = "Only traces of this kind.")
    ),
    responses(
        (status = 200, description = "One page; `next` is absent on the last.", body = TracePage),
        (status = 400, description = "A bad `limit`, `kind` or `cursor`.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "`user_id` names another user and the token is not an admin's.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn traces_list() {}

#[utoipa::path(
    get,
    path = "/traces/{trace_id}",
    tag = "traces",
    operation_id = "traces-show",
    summary = "One whole trace. Role: its user, or an admin.",
    params(("trace_id" = String, Path, description = "The trace's id.")),
    responses(
        (status = 200, description = "The trace as stored in its user's volume.", body = Trace),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "The trace is another user's.", body = ErrorBody),
        (status = 404, description = "No trace has that id.", body = ErrorBody)
    )
)]
#[allow(dead_code)]
fn traces_show() {}
