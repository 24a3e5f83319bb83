//! The `skills` component: skills CRUD, history, rollback, diff and
//! promotion, volume statistics and history, and git's dumb-HTTP protocol
//! for cloning volumes. The routes, request and response shapes are in
//! this crate's README.md.
//!
//! Every request authenticates, makes sure the system volume exists
//! (`llmos_guest::system`), and works on the volumes through the skill
//! catalog (`llmos_store::catalog`): reads refresh the index of the volumes
//! they look at and answer from it; writes commit to git on the head they
//! checked and refresh the index before answering. Compiled skills keep
//! their built component beside the file ([`components`]); uploads and
//! builds check it with the embedded skill runtime, the only routes that
//! use it, and builds go to the builder service ([`builder`]).

mod app;
mod body;
mod builder;
mod components;
mod errors;
mod git;
mod skills;
mod volumes;

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
    // The hot reads import the system volume on their first look at it
    // (`App::fresh_state`); every other route makes sure of it first.
    if !matches!(
        (method, segments.as_slice()),
        (Method::Get, ["skills"] | ["skills", _])
    ) {
        llmos_guest::system::ensure_imported(&app.volumes)?;
    }
    match (method, segments.as_slice()) {
        (Method::Get, ["skills"]) => skills::list(&app, req),
        (Method::Post, ["skills"]) => skills::create(&app, req),
        (Method::Post, ["skills", "promote"]) => skills::promote(&app, req),
        (Method::Get, ["skills", id]) => skills::show(&app, req, id),
        (Method::Put, ["skills", id]) => skills::replace(&app, req, id),
        (Method::Delete, ["skills", id]) => skills::delete(&app, req, id),
        (Method::Get, ["skills", id, "raw"]) => skills::raw(&app, req, id),
        (Method::Get, ["skills", id, "history"]) => skills::history(&app, req, id),
        (Method::Get, ["skills", id, "diff"]) => skills::diff(&app, req, id),
        (Method::Post, ["skills", id, "rollback"]) => skills::rollback(&app, req, id),
        (Method::Get, ["skills", id, "component"]) => components::get(&app, req, id),
        (Method::Put, ["skills", id, "component"]) => components::put(&app, req, id),
        (Method::Post, ["skills", id, "build"]) => components::build(&app, req, id),
        (Method::Get, ["volumes", "stats"]) => volumes::stats(&app, req),
        (Method::Get, ["volumes", "history"]) => volumes::history(&app, req),
        (Method::Get, ["git", rest @ ..]) => git::serve(&app, req, rest, false),
        (Method::Head, ["git", rest @ ..]) => git::serve(&app, req, rest, true),
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
        ["skills"]
            | ["skills", _]
            | [
                "skills",
                _,
                "raw" | "history" | "diff" | "rollback" | "component" | "build"
            ]
            | ["volumes", "stats" | "history"]
            | ["git", _, ..]
    )
}
