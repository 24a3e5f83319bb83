//! `GET /traces` and `GET /traces/{trace_id}`.

use llmos_core::trace::TraceKind;
use llmos_guest::http::{self, Query};
use llmos_guest::{ApiError, ApiResult, Db, Identity};
use llmos_store::traces::MAX_PAGE;
use llmos_store::{SqlStore, TraceIndex, TraceStoreError, Volumes};
use spin_sdk::http::{Request, Response};

/// Default page size of a listing.
const DEFAULT_PAGE: usize = 50;

pub fn store_error(err: TraceStoreError) -> ApiError {
    match err {
        TraceStoreError::BadCursor(_) => ApiError::bad_request("invalid-cursor", err.to_string()),
        other => ApiError::internal(other),
    }
}

/// `GET /traces?user_id&limit&cursor&kind` → `{"traces", "next"}`,
/// newest first.
pub fn list(db: &Db, identity: &Identity, req: &Request) -> ApiResult<Response> {
    let q = Query::of(req);
    let user = identity.act_as_user(q.get("user_id"))?;
    let limit = q.get_usize("limit", DEFAULT_PAGE, MAX_PAGE)?;
    if limit == 0 {
        // An empty page would say nothing, not even whether there is more.
        return Err(ApiError::bad_request(
            "invalid-query",
            format!("query parameter `limit` must be an integer from 1 to {MAX_PAGE}, got `0`"),
        ));
    }
    let kind = match q.get("kind") {
        None => None,
        Some(raw) => Some(TraceKind::parse(raw).ok_or_else(|| {
            ApiError::bad_request(
                "invalid-query",
                format!("`kind` must be `chat` or `workflow-run`, got `{raw}`"),
            )
        })?),
    };
    let page = TraceIndex::new(db)
        .list(&user, kind, limit, q.get("cursor"))
        .map_err(store_error)?;
    http::ok(&page)
}

/// `GET /traces/{trace_id}` → the whole trace from the user's volume.
pub fn show(db: &Db, identity: &Identity, trace_id: &str) -> ApiResult<Response> {
    let not_found = || ApiError::not_found("trace-not-found", format!("no trace `{trace_id}`"));
    if !llmos_core::trace::is_trace_id(trace_id) {
        return Err(not_found());
    }
    let index = TraceIndex::new(db);
    let row = index
        .get(trace_id)
        .map_err(store_error)?
        .ok_or_else(not_found)?;
    identity.act_as_user(Some(&row.user_id))?;
    let volumes = Volumes::new(SqlStore::new(db));
    let trace = index.load(&volumes, &row).map_err(store_error)?;
    http::ok(&trace)
}
