//! The skill builder service: compiles skill files into skill components
//! over HTTP, for the app's `POST /skills/{id}/build`.
//!
//! Compilers (cargo, componentize-py, componentize-js) cannot run inside a
//! Spin component, so the skills component sends the file to this service
//! (the Spin variable `skill_builder_url`) and checks what comes back
//! itself. `llmos up` starts one on a free loopback port and passes its
//! address to the app as that variable; next to a real `spin up` it runs
//! on its own as `llmos skills builder --listen 127.0.0.1:3100`.
//!
//! ```text
//! GET  /health   200 {"status":"ok","languages":{"rust":true,…}}
//! POST /build    body: the skill file (text/markdown), header
//!                X-Skill-Path: skills/<id>.md
//!                200 application/wasm (the component), headers
//!                X-Component-Sha256, X-Component-Language,
//!                X-Component-Toolchain, X-Build-Duration-Ms;
//!                or the builder's JSON error body with its status
//!                (422 compile errors with the Markdown line, 503 a
//!                missing compiler, 504 a build that ran too long)
//! ```
//!
//! Builds run one at a time (each compiler uses every core) and are kept
//! by the SHA-256 of path and text, so building an unchanged file again
//! answers at once.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use tokio::net::TcpListener;

use llmos_core::skill::MAX_SKILL_FILE_BYTES;
use llmos_skill_build::{BuildConfig, BuildError, Built};

/// Builds kept in memory, by key; the oldest go first.
const MAX_KEPT_BUILDS: usize = 32;

type Body = Full<Bytes>;

/// One finished build, as the service answers it.
#[derive(Clone)]
struct Answer {
    status: StatusCode,
    content_type: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Bytes,
}

/// The service's state: the build configuration, a gate that lets one
/// build run at a time, and the builds kept by key.
pub struct SkillBuilder {
    config: BuildConfig,
    gate: tokio::sync::Semaphore,
    kept: Mutex<(HashMap<String, Answer>, Vec<String>)>,
}

impl SkillBuilder {
    pub fn new(config: BuildConfig) -> Arc<Self> {
        Arc::new(SkillBuilder {
            config,
            gate: tokio::sync::Semaphore::new(1),
            kept: Mutex::new((HashMap::new(), Vec::new())),
        })
    }

    /// The configuration builds use.
    pub fn config(&self) -> &BuildConfig {
        &self.config
    }

    fn kept(&self, key: &str) -> Option<Answer> {
        let kept = self.kept.lock().expect("the cache lock is never poisoned");
        kept.0.get(key).cloned()
    }

    fn keep(&self, key: String, answer: Answer) {
        let mut kept = self.kept.lock().expect("the cache lock is never poisoned");
        if kept.1.len() >= MAX_KEPT_BUILDS {
            let old = kept.1.remove(0);
            kept.0.remove(&old);
        }
        kept.1.push(key.clone());
        kept.0.insert(key, answer);
    }

    async fn handle(self: Arc<Self>, request: Request<Incoming>) -> Response<Body> {
        let path = request.uri().path().to_owned();
        let method = request.method().clone();
        match (method.as_str(), path.as_str()) {
            ("GET", "/health") => json_response(
                StatusCode::OK,
                &json!({"status": "ok", "languages": languages(&self.config)}),
            ),
            ("POST", "/build") => self.build(request).await,
            (_, "/health" | "/build") => error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                &format!("{method} is not allowed on {path}"),
            ),
            _ => error(
                StatusCode::NOT_FOUND,
                "not-found",
                &format!("no route {path}"),
            ),
        }
    }

    async fn build(self: Arc<Self>, request: Request<Incoming>) -> Response<Body> {
        let skill_path = request
            .headers()
            .get("x-skill-path")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let Some(skill_path) = skill_path else {
            return error(
                StatusCode::BAD_REQUEST,
                "missing-skill-path",
                "the X-Skill-Path header names the file being built (skills/<id>.md)",
            );
        };
        let body = match Limited::new(request.into_body(), MAX_SKILL_FILE_BYTES + 1)
            .collect()
            .await
        {
            Ok(body) => body.to_bytes(),
            Err(_) => {
                return error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "skill-too-large",
                    &format!("a skill file has at most {MAX_SKILL_FILE_BYTES} bytes"),
                );
            }
        };
        if body.len() > MAX_SKILL_FILE_BYTES {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "skill-too-large",
                &format!("a skill file has at most {MAX_SKILL_FILE_BYTES} bytes"),
            );
        }
        let Ok(text) = String::from_utf8(body.to_vec()) else {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "skill-not-utf8",
                "the skill file is not UTF-8",
            );
        };
        let key = {
            let mut h = Sha256::new();
            h.update(skill_path.as_bytes());
            h.update([0]);
            h.update(text.as_bytes());
            hex::encode(h.finalize())
        };
        if let Some(answer) = self.kept(&key) {
            return respond(answer);
        }
        let Ok(_permit) = self.gate.acquire().await else {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "builder-stopping",
                "the builder is shutting down",
            );
        };
        // Another request may have built the same file while this one
        // waited.
        if let Some(answer) = self.kept(&key) {
            return respond(answer);
        }
        let me = Arc::clone(&self);
        let path_for_build = skill_path.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            llmos_skill_build::build(&text, &path_for_build, &me.config)
        })
        .await;
        let answer = match outcome {
            Ok(Ok(built)) => {
                tracing::info!(
                    "built {skill_path} ({}, {} bytes) in {:.1} s",
                    built.language,
                    built.bytes.len(),
                    built.duration.as_secs_f64()
                );
                built_answer(built)
            }
            Ok(Err(err)) => {
                tracing::info!("build of {skill_path} failed: {err}");
                error_answer(&err)
            }
            Err(join) => Answer {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                content_type: "application/json",
                headers: Vec::new(),
                body: Bytes::from(
                    json!({"error": {"code": "builder-failed", "message": format!("the build stopped: {join}")}})
                        .to_string(),
                ),
            },
        };
        // Results that depend on the machine (a missing tool, a timeout)
        // are not kept: the next attempt may succeed.
        if answer.status == StatusCode::OK || answer.status == StatusCode::UNPROCESSABLE_ENTITY {
            self.keep(key, answer.clone());
        }
        respond(answer)
    }
}

/// Which languages this machine can build: Rust and WAT always (cargo
/// runs the host), Python and JavaScript when their compilers are found.
fn languages(config: &BuildConfig) -> serde_json::Value {
    json!({
        "rust": true,
        "wat": true,
        "python": config.componentize_py.is_some(),
        "javascript": config.componentize_js.is_some() && config.node.is_some(),
    })
}

fn built_answer(built: Built) -> Answer {
    Answer {
        status: StatusCode::OK,
        content_type: "application/wasm",
        headers: vec![
            ("x-component-sha256", built.info.sha256.clone()),
            ("x-component-language", built.language.to_string()),
            ("x-component-toolchain", built.toolchain.clone()),
            (
                "x-build-duration-ms",
                built.duration.as_millis().to_string(),
            ),
        ],
        body: Bytes::from(built.bytes),
    }
}

fn error_answer(err: &BuildError) -> Answer {
    Answer {
        status: StatusCode::from_u16(err.status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY),
        content_type: "application/json",
        headers: Vec::new(),
        body: Bytes::from(err.to_json().to_string()),
    }
}

fn respond(answer: Answer) -> Response<Body> {
    let mut response = Response::builder()
        .status(answer.status)
        .header("content-type", answer.content_type);
    for (name, value) in &answer.headers {
        response = response.header(*name, value.as_str());
    }
    response
        .body(Full::new(answer.body))
        .expect("static headers are valid")
}

fn json_response(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(value.to_string())))
        .expect("static headers are valid")
}

fn error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    json_response(
        status,
        &json!({"error": {"code": code, "message": message}}),
    )
}

/// Serves the builder on `listener` until `shutdown` completes.
pub async fn serve(
    builder: Arc<SkillBuilder>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    crate::trigger::server::serve_with(listener, shutdown, "skill builder: ", move |request, _| {
        Arc::clone(&builder).handle(request)
    })
    .await
}

/// The build configuration for the checkout holding `manifest_dir`: the
/// SDK, the WIT and the toolchains `./dev setup` installs there. Scratch
/// space and the compiled dependencies of Rust skills are shared by every
/// data directory of the checkout (`.llmos/skill-build`), so a new data
/// directory does not compile them again.
pub fn config_for(manifest_dir: &std::path::Path) -> BuildConfig {
    let root =
        llmos_skill_build::find_repo_root(manifest_dir).unwrap_or_else(|| manifest_dir.to_owned());
    BuildConfig::discover(&root)
}
