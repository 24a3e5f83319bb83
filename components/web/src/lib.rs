//! Serves the browser workbench from the `files` mount of `frontend/dist`
//! (at `/dist` inside the component) and answers `GET /health`.
//!
//! - Content types come from the file extension.
//! - Every file has an `ETag` (size and modification time), and a matching
//!   `If-None-Match` gets `304 Not Modified`, so the large runtime assets
//!   (Pyodide, Three.js, ngspice) are downloaded once per change.
//! - A path that looks like a file or an API call and does not exist is a
//!   JSON 404; any other path is a client-side route and gets `index.html`.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use llmos_guest::http::{self, method_name};
use llmos_guest::{ApiError, ApiResult};
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;

/// Where spin.toml mounts `frontend/dist`.
const DIST: &str = "/dist";

/// Path prefixes that belong to the API; a miss under them is never a page.
const API_PREFIXES: &[&str] = &[
    "api",
    "auth",
    "chat",
    "skills",
    "volumes",
    "git",
    "workflows",
    "evolve",
    "traces",
];

#[http_component]
fn handle(req: Request) -> Response {
    llmos_guest::serve(req, route)
}

fn route(req: &Request) -> ApiResult<Response> {
    let head = match req.method() {
        Method::Get => false,
        Method::Head => true,
        other => {
            return Err(ApiError::method_not_allowed(
                &method_name(other),
                req.path(),
            ));
        }
    };
    let segments = http::segments(req.path())?;
    if segments == ["health"] {
        return health();
    }
    let (file, fallback) = resolve(&segments)?;
    serve_file(req, &file, head, fallback)
}

fn health() -> ApiResult<Response> {
    http::ok(&serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

/// The file to serve for `segments`, and whether it is the page fallback.
fn resolve(segments: &[String]) -> ApiResult<(PathBuf, bool)> {
    let index = Path::new(DIST).join("index.html");
    if segments.is_empty() {
        return Ok((index, false));
    }
    let mut path = PathBuf::from(DIST);
    path.extend(segments);
    if path.is_file() {
        return Ok((path, false));
    }
    if path.is_dir() && path.join("index.html").is_file() {
        return Ok((path.join("index.html"), false));
    }
    let last = segments.last().map(String::as_str).unwrap_or_default();
    let looks_like_file = last.contains('.');
    let looks_like_api = API_PREFIXES.contains(&segments[0].as_str());
    if looks_like_file || looks_like_api {
        return Err(ApiError::not_found(
            "not-found",
            format!("nothing at /{}", segments.join("/")),
        ));
    }
    Ok((index, true))
}

fn serve_file(req: &Request, path: &Path, head: bool, fallback: bool) -> ApiResult<Response> {
    let meta = std::fs::metadata(path).map_err(|err| {
        if fallback {
            ApiError::not_found(
                "frontend-not-built",
                format!(
                    "the web page is not built ({}: {err}); run the build first",
                    path.display()
                ),
            )
        } else {
            ApiError::not_found("not-found", format!("{}: {err}", path.display()))
        }
    })?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let etag = format!("\"{:x}-{:x}\"", meta.len(), modified);
    let content_type = mime_guess::from_path(path)
        .first_raw()
        .unwrap_or("application/octet-stream");
    let content_type = if content_type.starts_with("text/") || content_type.ends_with("javascript")
    {
        format!("{content_type}; charset=utf-8")
    } else {
        content_type.to_owned()
    };
    let matches = req
        .header("if-none-match")
        .and_then(|v| v.as_str())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });
    let mut builder = Response::builder();
    builder
        .header("etag", etag.as_str())
        // Revalidate every time: cheap thanks to the ETag, and a rebuilt
        // frontend is never served stale.
        .header("cache-control", "no-cache");
    if matches {
        return Ok(builder.status(304).build());
    }
    builder
        .status(200)
        .header("content-type", content_type)
        .header("x-content-type-options", "nosniff");
    if head {
        return Ok(builder.build());
    }
    let body = std::fs::read(path)
        .map_err(|err| ApiError::internal(format_args!("reading {}: {err}", path.display())))?;
    Ok(builder.body(body).build())
}
