//! The `workflows` component: workflows stored as files in volumes, with
//! history, rollback and promotion; validation and planning against the
//! caller's skills; execution at the edge of built-in nodes and of
//! compiled skills (their components, in an embedded interpreter); and
//! run records (traces) of edge and browser runs.
//!
//! | route | what |
//! |---|---|
//! | `GET /workflows?user_id&team_id&volume` | the merged list (user > team > system) |
//! | `POST /workflows` | store a new workflow (201 `{id, commit}`) |
//! | `GET /workflows/{id}?volume&commit` | the workflow and where it is |
//! | `GET /workflows/{id}/raw` | the stored file (export) |
//! | `PUT /workflows/{id}` / `DELETE /workflows/{id}` | new version / delete |
//! | `GET /workflows/{id}/history` | commits of its file |
//! | `POST /workflows/{id}/rollback` | restore a version as a new commit |
//! | `POST /workflows/promote` | user → team (members), team → system (admins) |
//! | `POST /workflows/validate` | errors, warnings and levels |
//! | `POST /workflows/{id}/execute` | run at the edge; record the trace |
//! | `POST /workflows/runs` | record a browser run as a trace |
//!
//! Saving pins each node to the current commit of its skill (unless the
//! node or the workflow follows the latest version); execution runs each
//! node's pinned version, read from git history ([`versions`]).

mod app;
mod compiled;
mod files;
mod routes;
mod run;
mod versions;

use llmos_guest::http::{self, method_name};
use llmos_guest::{ApiError, ApiResult};
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;

use crate::app::App;

#[http_component]
fn handle(req: Request) -> Response {
    llmos_guest::serve(req, route)
}

fn route(req: &Request) -> ApiResult<Response> {
    let segments = http::segments(req.path())?;
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = req.method();
    if !known_path(&segments) {
        return Err(ApiError::not_found(
            "no-such-route",
            format!("no route {} {}", method_name(method), req.path()),
        ));
    }
    let (db, identity) = llmos_guest::open_authenticated(req, &[app::MIGRATIONS])?;
    let app = App::new(&db, identity);
    llmos_guest::system::ensure_imported(&app.volumes)?;
    match (method, segments.as_slice()) {
        (Method::Get, ["workflows"]) => routes::list(&app, req),
        (Method::Post, ["workflows"]) => routes::create(&app, req),
        (Method::Post, ["workflows", "validate"]) => run::validate(&app, req),
        (Method::Post, ["workflows", "runs"]) => run::report(&app, req),
        (Method::Post, ["workflows", "promote"]) => routes::promote(&app, req),
        (Method::Get, ["workflows", id]) => routes::show(&app, req, id),
        (Method::Put, ["workflows", id]) => routes::replace(&app, req, id),
        (Method::Delete, ["workflows", id]) => routes::delete(&app, req, id),
        (Method::Get, ["workflows", id, "raw"]) => routes::raw(&app, req, id),
        (Method::Get, ["workflows", id, "history"]) => routes::history(&app, req, id),
        (Method::Post, ["workflows", id, "rollback"]) => routes::rollback(&app, req, id),
        (Method::Post, ["workflows", id, "execute"]) => run::execute(&app, req, id),
        _ => Err(ApiError::method_not_allowed(
            &method_name(method),
            req.path(),
        )),
    }
}

/// Whether some method is routed for this path (else 404 before any work).
fn known_path(segments: &[&str]) -> bool {
    matches!(
        segments,
        ["workflows"]
            | ["workflows", _]
            | ["workflows", _, "raw" | "history" | "rollback" | "execute"]
    )
}
