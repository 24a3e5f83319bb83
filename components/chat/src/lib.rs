//! The `chat` component: LLM chat steered by skills, streamed or whole,
//! with conversations, a trace per turn, and workflow generation.
//!
//! Routes (API.md "Chat"):
//! - `POST /chat`: one turn. Skills of the caller's merged view are ranked
//!   against the message; `inject` mode (default) puts the top
//!   `max_skills` into the system prompt, `disclose` mode lists a compact
//!   catalog and lets the model load skills with the `load_skill` tool.
//!   `"stream": true` or `Accept: text/event-stream` answers with
//!   server-sent events (`delta`, then `done`).
//! - `POST /chat/workflow`: a workflow generated from the request with the
//!   caller's executable skills, and its validation.
//! - `GET /chat/conversations`, `GET|DELETE /chat/conversations/{id}`: the
//!   caller's stored conversations.

mod conversations;
mod respond;
mod skills;
mod turn;
mod workflow;

use llmos_guest::http::{self, method_name};
use llmos_guest::{ApiError, ApiResult};
use spin_sdk::http::conversions::TryFromIncomingRequest as _;
use spin_sdk::http::{IncomingRequest, Method, Request, ResponseOutparam};
use spin_sdk::http_component;

use crate::respond::Responder;

/// The skill catalog's tables (shared with the skills component).
const CATALOG_MIGRATIONS: &[llmos_guest::Migration] = &[llmos_guest::Migration {
    id: llmos_store::catalog::MIGRATION_ID,
    statements: llmos_store::catalog::MIGRATIONS,
}];

#[http_component]
async fn handle(incoming: IncomingRequest, out: ResponseOutparam) {
    let mut responder = Responder::new(out);
    let result = match Request::try_from_incoming_request(incoming).await {
        Ok(req) => route(&req, &mut responder),
        Err(err) => Err(ApiError::bad_request(
            "invalid-request",
            format!("the request could not be read: {err}"),
        )),
    };
    if let Err(err) = result {
        responder.fail(err);
    }
}

fn route(req: &Request, responder: &mut Responder) -> ApiResult<()> {
    let segments = http::segments(req.path())?;
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = req.method();
    if !matches!(
        segments.as_slice(),
        ["chat"] | ["chat", "workflow"] | ["chat", "conversations"] | ["chat", "conversations", _]
    ) {
        return Err(ApiError::not_found(
            "no-such-route",
            format!("no route {} {}", method_name(method), req.path()),
        ));
    }
    let (db, identity) = llmos_guest::open_authenticated(
        req,
        &[
            CATALOG_MIGRATIONS,
            conversations::MIGRATIONS,
            skills::MIGRATIONS,
        ],
    )?;
    match (method, segments.as_slice()) {
        (Method::Post, ["chat"]) => turn::chat(&db, &identity, req, responder),
        (Method::Post, ["chat", "workflow"]) => {
            responder.send(workflow::generate(&db, &identity, req)?)
        }
        (Method::Get, ["chat", "conversations"]) => {
            responder.send(turn::list_conversations(&db, &identity, req)?)
        }
        (Method::Get, ["chat", "conversations", id]) => {
            responder.send(turn::show_conversation(&db, &identity, req, id)?)
        }
        (Method::Delete, ["chat", "conversations", id]) => {
            responder.send(turn::delete_conversation(&db, &identity, req, id)?)
        }
        _ => Err(ApiError::method_not_allowed(
            &method_name(method),
            req.path(),
        )),
    }
}
