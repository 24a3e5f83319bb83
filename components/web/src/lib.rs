//! Serves the browser workbench from the `files` mount of `frontend/dist`
//! (at `/dist` inside the component), answers `GET /health`, and serves
//! the API's OpenAPI document at `/openapi.json` (built into the
//! component, see `build.rs`) with its interactive reference at `/docs`
//! (a page of `frontend/dist/docs`).
//!
//! - Content types come from the file extension.
//! - Every file has an `ETag` (size and modification time), and a matching
//!   `If-None-Match` gets `304 Not Modified`, so the large runtime assets
//!   (Pyodide, Three.js, ngspice) are downloaded once per change.
//! - A path that looks like a file or an API call and does not exist is a
//!   JSON 404; any other path is a client-side route and gets `index.html`.
//! - Pages get a Content-Security-Policy: scripts only from the app itself
//!   (plus the hashes of the page's inline scripts, listed at build time in
//!   `csp-hashes.txt`), connections only to the app. The skill workers'
//!   scripts (`/js/*-worker.js`) get their own, stricter policy: they run
//!   untrusted code, so they may not connect anywhere (the Python worker
//!   only to the app, to load Pyodide) nor start workers of their own; the
//!   component worker may not even compile WebAssembly.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use llmos_guest::encoding::{self, Coding};
use llmos_guest::http::{self, method_name};
use llmos_guest::{ApiError, ApiResult};
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;

/// Where spin.toml mounts `frontend/dist`.
const DIST: &str = "/dist";

/// Policy of the HTML pages. Styles may be inline: the views set `style`
/// attributes. `'wasm-unsafe-eval'` lets the page compile WebAssembly, and
/// workers may only come from the app.
const PAGE_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; \
     worker-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// The build's list of inline-script hashes (`'sha256-…'` tokens).
const CSP_HASHES: &str = "csp-hashes.txt";

/// Policies of the skill workers, by script (see `frontend/js/`). They
/// apply to the worker, whatever the page allows:
/// - Python: Pyodide compiles WebAssembly and fetches its own files (and
///   the build's snapshot of its memory) from the app; after loading, the
///   worker removes fetch from the scope.
/// - JavaScript: skill code is evaluated with `new Function`
///   (`'unsafe-eval'`) and may connect nowhere.
/// - SPICE: ngspice's wasm is inlined in its module as a `data:` URL.
/// - Components: the page compiles the worker's module and sends it, and
///   skill components are interpreted inside it, so the worker compiles
///   no WebAssembly, evaluates no strings and connects nowhere.
const WORKER_CSPS: &[(&str, &str)] = &[
    (
        "component-worker.js",
        "default-src 'none'; script-src 'self'; connect-src 'none'; \
         worker-src 'none'; base-uri 'none'",
    ),
    (
        "python-worker.js",
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; \
         worker-src 'none'; base-uri 'none'",
    ),
    (
        "js-worker.js",
        "default-src 'none'; script-src 'self' 'unsafe-eval'; connect-src 'none'; \
         worker-src 'none'; base-uri 'none'",
    ),
    (
        "spice-worker.js",
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src data:; \
         worker-src 'none'; base-uri 'none'",
    ),
];

/// The OpenAPI document and its `ETag` (SHA-256 of the bytes), written by
/// `build.rs`.
const OPENAPI: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));
const OPENAPI_ETAG: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.etag"));
const OPENAPI_GZIP: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/openapi.json.gz"));

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
    if segments == ["openapi.json"] {
        return Ok(openapi(req, head));
    }
    let (file, fallback) = resolve(&segments)?;
    serve_file(req, &file, head, fallback)
}

fn health() -> ApiResult<Response> {
    http::ok(&http::Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// `GET /openapi.json`: the document, revalidated by its `ETag`. It is
/// public (no token) and may be read from any origin, as client
/// generators and reference viewers elsewhere do.
fn openapi(req: &Request, head: bool) -> Response {
    let gzip = Coding::for_request(req) == Coding::Gzip;
    let mut builder = Response::builder();
    builder
        .header(
            "etag",
            if gzip {
                format!("W/{OPENAPI_ETAG}")
            } else {
                OPENAPI_ETAG.to_owned()
            },
        )
        .header("cache-control", "no-cache")
        .header("vary", "accept-encoding")
        .header("access-control-allow-origin", "*");
    if if_none_match(req, OPENAPI_ETAG) {
        return builder.status(304).build();
    }
    builder
        .status(200)
        .header("content-type", "application/json")
        .header("x-content-type-options", "nosniff");
    if gzip {
        builder.header("content-encoding", "gzip");
    }
    match (head, gzip) {
        (true, _) => builder.build(),
        (false, true) => builder.body(OPENAPI_GZIP.to_vec()).build(),
        (false, false) => builder.body(OPENAPI).build(),
    }
}

/// Whether the request's `If-None-Match` names `etag` (or is `*`).
fn if_none_match(req: &Request, etag: &str) -> bool {
    req.header("if-none-match")
        .and_then(|v| v.as_str())
        .is_some_and(|v| {
            v.split(',').any(|tag| {
                let tag = tag.trim();
                tag == etag || tag.strip_prefix("W/") == Some(etag) || tag == "*"
            })
        })
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

/// The Content-Security-Policy of a served file: the page policy for HTML,
/// a worker policy for the skill workers' scripts, none for other assets
/// (browsers ignore it there).
fn content_security_policy(path: &Path, content_type: &str) -> Option<String> {
    let in_js = path.parent() == Some(Path::new(DIST).join("js").as_path());
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if in_js && let Some((_, policy)) = WORKER_CSPS.iter().find(|(script, _)| *script == name) {
        return Some((*policy).to_owned());
    }
    if !content_type.starts_with("text/html") {
        return None;
    }
    let listed = std::fs::read_to_string(Path::new(DIST).join(CSP_HASHES)).unwrap_or_default();
    Some(PAGE_CSP.replace("{hashes}", &script_hashes(&listed)))
}

/// The well-formed `'sha256-<base64>'` tokens of the hash list, each with a
/// leading space; anything else in the file is ignored, so it can never
/// widen the policy.
fn script_hashes(listed: &str) -> String {
    listed
        .split_whitespace()
        .filter(|token| {
            token
                .strip_prefix("'sha256-")
                .and_then(|rest| rest.strip_suffix('\''))
                .is_some_and(|b64| {
                    b64.len() == 44
                        && b64
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
                })
        })
        .map(|token| format!(" {token}"))
        .collect()
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
    let gzip = precompressed(req, path, &meta, &content_type);
    let matches = if_none_match(req, &etag);
    let mut builder = Response::builder();
    builder
        // The gzip form's bytes differ from the file's: the weak form of
        // the file's tag (which still revalidates either).
        .header(
            "etag",
            if gzip.is_some() {
                format!("W/{etag}")
            } else {
                etag.clone()
            },
        )
        // Revalidate every time: cheap thanks to the ETag, and a rebuilt
        // frontend is never served stale.
        .header("cache-control", "no-cache");
    if encoding::compressible(&content_type) {
        builder.header("vary", "accept-encoding");
    }
    if let Some(policy) = content_security_policy(path, &content_type) {
        builder
            .header("content-security-policy", policy)
            .header("referrer-policy", "no-referrer");
    }
    if matches {
        return Ok(builder.status(304).build());
    }
    builder
        .status(200)
        .header("content-type", content_type)
        .header("x-content-type-options", "nosniff");
    if gzip.is_some() {
        builder.header("content-encoding", "gzip");
    }
    if head {
        return Ok(builder.build());
    }
    let source = gzip.as_deref().unwrap_or(path);
    let body = std::fs::read(source)
        .map_err(|err| ApiError::internal(format_args!("reading {}: {err}", source.display())))?;
    Ok(builder.body(body).build())
}

/// The build's gzip form of `path` (`<path>.gz`, see
/// `scripts/build-frontend.sh`), when the request accepts gzip and the
/// form is at least as new as the file.
fn precompressed(
    req: &Request,
    path: &Path,
    meta: &std::fs::Metadata,
    content_type: &str,
) -> Option<PathBuf> {
    if !encoding::compressible(content_type) || Coding::for_request(req) != Coding::Gzip {
        return None;
    }
    let mut name = path.as_os_str().to_owned();
    name.push(".gz");
    let gzip = PathBuf::from(name);
    let coded = std::fs::metadata(&gzip).ok()?;
    let newer = match (coded.modified(), meta.modified()) {
        (Ok(coded), Ok(file)) => coded >= file,
        _ => false,
    };
    (coded.is_file() && newer).then_some(gzip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_scripts_get_their_own_policy() {
        let js =
            content_security_policy(Path::new("/dist/js/js-worker.js"), "text/javascript").unwrap();
        assert!(js.contains("connect-src 'none'"), "{js}");
        assert!(js.contains("'unsafe-eval'"), "{js}");
        let py = content_security_policy(Path::new("/dist/js/python-worker.js"), "text/javascript")
            .unwrap();
        assert!(
            py.contains("connect-src 'self'") && !py.contains("'unsafe-eval'"),
            "{py}"
        );
        let component =
            content_security_policy(Path::new("/dist/js/component-worker.js"), "text/javascript")
                .unwrap();
        assert!(
            component.contains("connect-src 'none'") && component.contains("worker-src 'none'"),
            "{component}"
        );
        // Neither strings nor WebAssembly are compiled there.
        assert!(!component.contains("unsafe-eval"), "{component}");
        assert_eq!(
            content_security_policy(Path::new("/dist/js/sandbox.js"), "text/javascript"),
            None
        );
        assert_eq!(
            content_security_policy(Path::new("/dist/x/js-worker.js"), "text/javascript"),
            None
        );
    }

    #[test]
    fn pages_allow_connections_to_the_app_only() {
        let page =
            content_security_policy(Path::new("/dist/index.html"), "text/html; charset=utf-8")
                .unwrap();
        assert!(page.contains("connect-src 'self';"), "{page}");
        assert!(
            page.contains("script-src 'self' 'wasm-unsafe-eval';"),
            "{page}"
        );
    }

    #[test]
    fn the_document_is_built_in_with_its_digest() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(doc["paths"]["/openapi.json"].is_object());
        assert_eq!(OPENAPI, llmos_api::document_json());
        assert!(OPENAPI_ETAG.starts_with('"') && OPENAPI_ETAG.ends_with('"'));
        assert_eq!(OPENAPI_ETAG.len(), 66);
    }

    #[test]
    fn only_well_formed_hashes_are_listed() {
        let good = "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='";
        let listed = format!("{good}\n'unsafe-inline' 'sha256-short=' *\n");
        assert_eq!(script_hashes(&listed), format!(" {good}"));
    }
}
