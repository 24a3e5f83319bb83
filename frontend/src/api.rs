//! Every HTTP call the page makes, in one place: the session's bearer
//! token, JSON and Markdown bodies, the API's error bodies, and the chat's
//! SSE stream. Paths and shapes follow `API.md`; where the contract leaves
//! a shape open (a workflow read back, a diff), the readers here accept the
//! plausible forms rather than failing.

use std::cell::RefCell;

use llmos_core::workflow::Workflow;
use serde::Deserialize;
use serde_json::{Value, json};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

use crate::sse::{SseEvent, SseParser};

/// Key of the token in `sessionStorage`: the token lives as long as the
/// browser tab's session and is never put in `localStorage`.
const TOKEN_KEY: &str = "llmos.token";

/// An API call that did not succeed: the HTTP status (0 when the request
/// never got an answer) and the API's error code and message.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.status == 0 {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{} (HTTP {})", self.message, self.status)
        }
    }
}

impl ApiError {
    fn network(message: impl Into<String>) -> Self {
        ApiError {
            status: 0,
            code: "network".to_owned(),
            message: message.into(),
        }
    }

    fn browser(err: JsValue) -> Self {
        ApiError::network(js_err(err))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A callback for 401 answers.
type UnauthorizedHook = Box<dyn Fn(&ApiError)>;

thread_local! {
    /// Called when the API answers 401: the page then shows the sign-in
    /// screen instead of failing call by call.
    static ON_UNAUTHORIZED: RefCell<Option<UnauthorizedHook>> = const { RefCell::new(None) };
}

pub fn on_unauthorized(f: impl Fn(&ApiError) + 'static) {
    ON_UNAUTHORIZED.with(|slot| *slot.borrow_mut() = Some(Box::new(f)));
}

fn window() -> Result<web_sys::Window, ApiError> {
    web_sys::window().ok_or_else(|| ApiError::network("no window"))
}

pub fn js_err(err: JsValue) -> String {
    if let Some(e) = err.dyn_ref::<js_sys::Error>() {
        return String::from(e.message());
    }
    err.as_string()
        .or_else(|| {
            js_sys::JSON::stringify(&err)
                .ok()
                .and_then(|s| s.as_string())
        })
        .unwrap_or_else(|| "unknown browser error".to_owned())
}

// ---------------------------------------------------------------------------
// The session token.

/// Takes `?token=…` from the address bar once: stores it for the session
/// and removes it from the URL (and so from history and bookmarks).
pub fn capture_token_from_url() -> Result<(), String> {
    let window = web_sys::window().ok_or("no window")?;
    let href = window.location().href().map_err(js_err)?;
    let url = web_sys::Url::new(&href).map_err(js_err)?;
    let params = url.search_params();
    let Some(token) = params.get("token") else {
        return Ok(());
    };
    set_token(&token)?;
    params.delete("token");
    url.set_search(&params.to_string().as_string().unwrap_or_default());
    window
        .history()
        .map_err(js_err)?
        .replace_state_with_url(&JsValue::NULL, "", Some(&url.href()))
        .map_err(js_err)
}

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

/// The session's token, if the page was opened with one.
pub fn token() -> Option<String> {
    session_storage()?
        .get_item(TOKEN_KEY)
        .ok()?
        .filter(|t| !t.is_empty())
}

/// Keeps a token for this browser session (pasted on the sign-in screen).
pub fn set_token(token: &str) -> Result<(), String> {
    let storage = session_storage().ok_or("this browser has no session storage")?;
    storage.set_item(TOKEN_KEY, token.trim()).map_err(js_err)
}

pub fn forget_token() {
    if let Some(storage) = session_storage() {
        let _ = storage.remove_item(TOKEN_KEY);
    }
}

// ---------------------------------------------------------------------------
// Requests.

/// A request body.
pub enum Body {
    None,
    Json(Value),
    Markdown(String),
}

/// Percent-encodes one query value or path segment.
pub fn enc(s: &str) -> String {
    String::from(js_sys::encode_uri_component(s))
}

/// `?a=1&b=2` from the pairs whose value is present.
fn query(pairs: &[(&str, Option<&str>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={}", enc(v))))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

async fn send(
    method: &str,
    path: &str,
    body: Body,
    signal: Option<&web_sys::AbortSignal>,
) -> ApiResult<Response> {
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(signal) = signal {
        init.set_signal(Some(signal));
    }
    let content_type = match body {
        Body::None => None,
        Body::Json(value) => {
            init.set_body(&JsValue::from_str(&value.to_string()));
            Some("application/json")
        }
        Body::Markdown(text) => {
            init.set_body(&JsValue::from_str(&text));
            Some("text/markdown; charset=utf-8")
        }
    };
    let request = Request::new_with_str_and_init(path, &init).map_err(ApiError::browser)?;
    let headers = request.headers();
    if let Some(ct) = content_type {
        headers.set("content-type", ct).map_err(ApiError::browser)?;
    }
    if let Some(token) = token() {
        headers
            .set("authorization", &format!("Bearer {token}"))
            .map_err(ApiError::browser)?;
    }
    let response = JsFuture::from(window()?.fetch_with_request(&request))
        .await
        .map_err(|e| ApiError::network(format!("{method} {path}: {}", js_err(e))))?;
    response.dyn_into().map_err(ApiError::browser)
}

async fn response_text(response: &Response) -> ApiResult<String> {
    let promise = response.text().map_err(ApiError::browser)?;
    Ok(JsFuture::from(promise)
        .await
        .map_err(ApiError::browser)?
        .as_string()
        .unwrap_or_default())
}

/// The error of a failed response, from the API's error body when it has one.
async fn failure(path: &str, response: &Response) -> ApiError {
    let status = response.status();
    let text = response_text(response).await.unwrap_or_default();
    let (code, message) = match serde_json::from_str::<Value>(&text) {
        Ok(body) => (
            body["error"]["code"]
                .as_str()
                .unwrap_or("http-error")
                .to_owned(),
            body["error"]["message"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("{path}: HTTP {status}")),
        ),
        Err(_) => (
            "http-error".to_owned(),
            if text.trim().is_empty() || text.len() > 300 {
                format!("{path}: HTTP {status}")
            } else {
                text.trim().to_owned()
            },
        ),
    };
    let err = ApiError {
        status,
        code,
        message,
    };
    if status == 401 {
        ON_UNAUTHORIZED.with(|slot| {
            if let Some(f) = slot.borrow().as_ref() {
                f(&err);
            }
        });
    }
    err
}

async fn call(method: &str, path: &str, body: Body) -> ApiResult<Response> {
    let response = send(method, path, body, None).await?;
    if response.ok() {
        Ok(response)
    } else {
        Err(failure(path, &response).await)
    }
}

/// A JSON call; an empty success body reads as `null`.
async fn json(method: &str, path: &str, body: Body) -> ApiResult<Value> {
    let response = call(method, path, body).await?;
    let text = response_text(&response).await?;
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&text).map_err(|e| ApiError {
        status: response.status(),
        code: "bad-json".to_owned(),
        message: format!("{path}: the answer is not JSON ({e})"),
    })
}

fn decode<T: for<'de> Deserialize<'de>>(path: &str, value: Value) -> ApiResult<T> {
    serde_json::from_value(value).map_err(|e| ApiError {
        status: 200,
        code: "bad-shape".to_owned(),
        message: format!("{path}: unexpected answer ({e})"),
    })
}

// ---------------------------------------------------------------------------
// Identity and health.

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Identity {
    pub user_id: String,
    #[serde(default)]
    pub team_ids: Vec<String>,
    #[serde(default)]
    pub role: String,
}

impl Identity {
    pub fn team(&self) -> Option<&str> {
        self.team_ids.first().map(String::as_str)
    }
}

pub async fn me() -> ApiResult<Identity> {
    let v = json("GET", "/auth/me", Body::None).await?;
    decode("/auth/me", v)
}

// ---------------------------------------------------------------------------
// Skills.

/// One entry of `GET /skills`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SkillSummary {
    pub skill_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub keywords: Vec<String>,
    /// `context` or `executable`.
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub volume: String,
    #[serde(default)]
    pub commit: String,
    /// Present in some answers: the runtime of an executable skill.
    #[serde(default)]
    pub runtime: Option<String>,
}

impl SkillSummary {
    pub fn is_executable(&self) -> bool {
        self.kind == "executable" || self.runtime.as_deref().is_some_and(|r| r != "context")
    }
}

/// A skill file the server could not parse (listed apart by `GET /skills`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BrokenSkill {
    #[serde(default)]
    pub volume: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub message: String,
}

/// The caller's merged view, and the files that failed to parse.
pub async fn list_skills(identity: &Identity) -> ApiResult<(Vec<SkillSummary>, Vec<BrokenSkill>)> {
    let path = format!(
        "/skills{}",
        query(&[
            ("user_id", Some(&identity.user_id)),
            ("team_id", identity.team())
        ])
    );
    let v = json("GET", &path, Body::None).await?;
    let broken = serde_json::from_value(v["errors"].clone()).unwrap_or_default();
    Ok((decode(&path, v["skills"].clone())?, broken))
}

pub async fn get_skill(skill_id: &str, volume: Option<&str>) -> ApiResult<Value> {
    let path = format!("/skills/{}{}", enc(skill_id), query(&[("volume", volume)]));
    json("GET", &path, Body::None).await
}

pub async fn get_skill_raw(skill_id: &str, volume: Option<&str>) -> ApiResult<String> {
    let path = format!(
        "/skills/{}/raw{}",
        enc(skill_id),
        query(&[("volume", volume)])
    );
    let response = call("GET", &path, Body::None).await?;
    response_text(&response).await
}

/// `POST /skills` with the file as Markdown, into `volume` (the caller's
/// own volume when `None`).
pub async fn create_skill(markdown: String, volume: Option<&str>) -> ApiResult<Value> {
    let path = format!("/skills{}", query(&[("volume", volume)]));
    json("POST", &path, Body::Markdown(markdown)).await
}

pub async fn update_skill(
    skill_id: &str,
    markdown: String,
    volume: Option<&str>,
) -> ApiResult<Value> {
    let path = format!("/skills/{}{}", enc(skill_id), query(&[("volume", volume)]));
    json("PUT", &path, Body::Markdown(markdown)).await
}

/// One commit of a history listing.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CommitInfo {
    pub commit: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub author: Value,
    #[serde(default)]
    pub timestamp: Value,
}

impl CommitInfo {
    pub fn short(&self) -> &str {
        &self.commit[..self.commit.len().min(8)]
    }

    pub fn author_name(&self) -> String {
        match &self.author {
            Value::String(s) => s.clone(),
            Value::Object(o) => o
                .get("name")
                .or_else(|| o.get("email"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            _ => String::new(),
        }
    }

    /// The time as the API gives it: seconds since the epoch become an ISO
    /// date, text is shown as is.
    pub fn when(&self) -> String {
        match &self.timestamp {
            Value::Number(n) => {
                let ms = n.as_f64().unwrap_or(0.0) * 1000.0;
                let date = js_sys::Date::new(&JsValue::from_f64(ms));
                String::from(date.to_iso_string())
                    .replace('T', " ")
                    .chars()
                    .take(16)
                    .collect()
            }
            Value::String(s) => s.clone(),
            _ => String::new(),
        }
    }
}

fn commits_of(path: &str, v: Value) -> ApiResult<Vec<CommitInfo>> {
    let list = if v.is_array() {
        v
    } else {
        v["commits"].clone()
    };
    decode(path, list)
}

pub async fn skill_history(skill_id: &str, volume: &str) -> ApiResult<Vec<CommitInfo>> {
    let path = format!(
        "/skills/{}/history{}",
        enc(skill_id),
        query(&[("volume", Some(volume))])
    );
    let v = json("GET", &path, Body::None).await?;
    commits_of(&path, v)
}

/// `GET /skills/{id}/diff`: a unified diff as text, whichever way the
/// server wraps it (`{"diff": …}`, `{"patch": …}` or plain text).
pub async fn skill_diff(skill_id: &str, volume: &str, from: &str, to: &str) -> ApiResult<String> {
    let path = format!(
        "/skills/{}/diff{}",
        enc(skill_id),
        query(&[
            ("volume", Some(volume)),
            ("from", Some(from)),
            ("to", Some(to))
        ])
    );
    let response = call("GET", &path, Body::None).await?;
    let text = response_text(&response).await?;
    Ok(match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(o)) => ["diff", "patch", "unified"]
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| serde_json::to_string_pretty(&o).unwrap_or_default()),
        Ok(Value::String(s)) => s,
        _ => text,
    })
}

/// A skill's component file: `GET /skills/{id}/component` at `commit` of
/// `volume` (the latest when `None`). Returns the bytes, left in a JS
/// array so that the page's own memory never holds a 20 MB component, and
/// the component's SHA-256 from the answer's entity tag.
pub async fn component_bytes(
    skill_id: &str,
    volume: Option<&str>,
    commit: Option<&str>,
) -> ApiResult<(js_sys::Uint8Array, Option<String>)> {
    let path = format!(
        "/skills/{}/component{}",
        enc(skill_id),
        query(&[("volume", volume), ("commit", commit)])
    );
    let response = call("GET", &path, Body::None).await?;
    let sha256 = response
        .headers()
        .get("etag")
        .ok()
        .flatten()
        .map(|tag| tag.trim_start_matches("W/").trim_matches('"').to_owned())
        .filter(|tag| !tag.is_empty());
    let buffer = JsFuture::from(response.array_buffer().map_err(ApiError::browser)?)
        .await
        .map_err(|e| ApiError::network(format!("{path}: {}", js_err(e))))?;
    Ok((js_sys::Uint8Array::new(&buffer), sha256))
}

/// Why `POST /skills/{id}/build` did not build: the API error and, for a
/// compile error, where in the Markdown file and what the compiler said.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildFailure {
    pub error: ApiError,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub output: Option<String>,
}

/// `POST /skills/{id}/build` `{"volume"}`: builds the skill file as it is
/// in `volume` and commits its component. Returns the answer
/// (`{"status", "commit", "component": {…}, …}`).
pub async fn build_skill(skill_id: &str, volume: &str) -> Result<Value, BuildFailure> {
    let path = format!("/skills/{}/build", enc(skill_id));
    let plain = |error: ApiError| BuildFailure {
        error,
        line: None,
        column: None,
        output: None,
    };
    let response = send("POST", &path, Body::Json(json!({ "volume": volume })), None)
        .await
        .map_err(plain)?;
    let status = response.status();
    let text = response_text(&response).await.map_err(plain)?;
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if response.ok() {
        return Ok(body);
    }
    let error = &body["error"];
    let failure = BuildFailure {
        error: ApiError {
            status,
            code: error["code"].as_str().unwrap_or("http-error").to_owned(),
            message: error["message"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("{path}: HTTP {status}")),
        },
        line: error["line"].as_u64().and_then(|l| usize::try_from(l).ok()),
        column: error["column"]
            .as_u64()
            .and_then(|c| usize::try_from(c).ok()),
        output: error["output"]
            .as_str()
            .filter(|o| !o.is_empty())
            .map(str::to_owned),
    };
    if status == 401 {
        ON_UNAUTHORIZED.with(|slot| {
            if let Some(f) = slot.borrow().as_ref() {
                f(&failure.error);
            }
        });
    }
    Err(failure)
}

pub async fn rollback_skill(skill_id: &str, volume: &str, commit: &str) -> ApiResult<Value> {
    let path = format!("/skills/{}/rollback", enc(skill_id));
    json(
        "POST",
        &path,
        Body::Json(json!({"volume": volume, "commit": commit})),
    )
    .await
}

pub async fn promote_skill(
    identity: &Identity,
    team_id: &str,
    skill_id: &str,
    reason: &str,
) -> ApiResult<Value> {
    json(
        "POST",
        "/skills/promote",
        Body::Json(json!({
            "user_id": identity.user_id,
            "team_id": team_id,
            "skill_id": skill_id,
            "reason": reason,
            "target": "team",
        })),
    )
    .await
}

// ---------------------------------------------------------------------------
// Workflows.

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WorkflowSummary {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub commit: String,
    #[serde(default)]
    pub updated_at: Value,
}

pub async fn list_workflows(identity: &Identity) -> ApiResult<Vec<WorkflowSummary>> {
    let path = format!(
        "/workflows{}",
        query(&[("user_id", Some(&identity.user_id))])
    );
    let v = json("GET", &path, Body::None).await?;
    decode(&path, v["workflows"].clone())
}

/// A stored workflow and the commit it was read at.
pub struct StoredWorkflow {
    pub workflow: Workflow,
    pub commit: Option<String>,
}

pub async fn get_workflow(id: &str) -> ApiResult<StoredWorkflow> {
    let path = format!("/workflows/{}", enc(id));
    let v = json("GET", &path, Body::None).await?;
    let commit = v["commit"].as_str().map(str::to_owned);
    // `{"workflow": {...}, "commit"}` or the workflow itself.
    let body = if v["workflow"].is_object() {
        v["workflow"].clone()
    } else {
        v
    };
    let workflow = Workflow::from_value(body).map_err(|e| ApiError {
        status: 200,
        code: "bad-workflow".to_owned(),
        message: format!("{path}: {e}"),
    })?;
    Ok(StoredWorkflow { workflow, commit })
}

/// Saves a workflow: `POST` for a new one, `PUT` for one already stored.
/// Returns `(id, commit)`.
pub async fn save_workflow(
    identity: &Identity,
    workflow: &Workflow,
    existing: bool,
) -> ApiResult<(String, String)> {
    let body = Body::Json(json!({"user_id": identity.user_id, "workflow": workflow.to_value()}));
    let v = if existing {
        json("PUT", &format!("/workflows/{}", enc(&workflow.id)), body).await?
    } else {
        json("POST", "/workflows", body).await?
    };
    let id = v["id"].as_str().unwrap_or(&workflow.id).to_owned();
    let commit = v["commit"].as_str().unwrap_or_default().to_owned();
    Ok((id, commit))
}

pub async fn delete_workflow(id: &str) -> ApiResult<Value> {
    json("DELETE", &format!("/workflows/{}", enc(id)), Body::None).await
}

pub async fn workflow_history(id: &str) -> ApiResult<Vec<CommitInfo>> {
    let path = format!("/workflows/{}/history", enc(id));
    let v = json("GET", &path, Body::None).await?;
    commits_of(&path, v)
}

/// `POST /workflows/{id}/execute`: the stored workflow run at the edge.
pub async fn execute_workflow(id: &str) -> ApiResult<Value> {
    json(
        "POST",
        &format!("/workflows/{}/execute", enc(id)),
        Body::Json(json!({})),
    )
    .await
}

/// `POST /workflows/runs`: a run report from the browser; returns the
/// trace id.
pub async fn report_run(report: Value) -> ApiResult<String> {
    let v = json("POST", "/workflows/runs", Body::Json(report)).await?;
    Ok(v["trace_id"].as_str().unwrap_or_default().to_owned())
}

// ---------------------------------------------------------------------------
// Chat.

/// Sends a chat message with `stream: true` and calls `on_delta` with the
/// text of each `delta` event as it arrives; returns the `done` event's
/// JSON (`response`, `skills_used`, `trace_id`, `conversation_id`).
/// A server that answers with plain JSON instead of a stream is accepted.
pub async fn chat_stream(
    request: Value,
    signal: &web_sys::AbortSignal,
    mut on_delta: impl FnMut(&str),
) -> ApiResult<Value> {
    let response = send("POST", "/chat", Body::Json(request), Some(signal)).await?;
    if !response.ok() {
        return Err(failure("/chat", &response).await);
    }
    let is_sse = response
        .headers()
        .get("content-type")
        .ok()
        .flatten()
        .is_some_and(|ct| ct.contains("text/event-stream"));
    if !is_sse {
        let text = response_text(&response).await?;
        let v: Value =
            serde_json::from_str(&text).map_err(|e| ApiError::network(format!("/chat: {e}")))?;
        if let Some(r) = v["response"].as_str() {
            on_delta(r);
        }
        return Ok(v);
    }
    let body = response
        .body()
        .ok_or_else(|| ApiError::network("/chat: the stream has no body"))?;
    let reader: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut parser = SseParser::default();
    let mut done = Value::Null;
    let mut handle = |events: Vec<SseEvent>, done: &mut Value| -> ApiResult<()> {
        for event in events {
            match event.name() {
                "delta" | "message" => on_delta(&crate::sse::delta_text(&event.data)),
                "done" => *done = serde_json::from_str(&event.data).unwrap_or(Value::Null),
                "error" => {
                    let v: Value = serde_json::from_str(&event.data).unwrap_or(Value::Null);
                    return Err(ApiError {
                        status: 200,
                        code: v["error"]["code"]
                            .as_str()
                            .unwrap_or("stream-error")
                            .to_owned(),
                        message: v["error"]["message"]
                            .as_str()
                            .map(str::to_owned)
                            .unwrap_or(event.data),
                    });
                }
                _ => {}
            }
        }
        Ok(())
    };
    loop {
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(|e| ApiError::network(format!("/chat: {}", js_err(e))))?;
        let finished = js_sys::Reflect::get(&chunk, &JsValue::from_str("done"))
            .ok()
            .and_then(|d| d.as_bool())
            .unwrap_or(true);
        if finished {
            break;
        }
        let value =
            js_sys::Reflect::get(&chunk, &JsValue::from_str("value")).map_err(ApiError::browser)?;
        let bytes = js_sys::Uint8Array::new(&value).to_vec();
        handle(parser.push(&bytes), &mut done)?;
    }
    handle(parser.finish(), &mut done)?;
    Ok(done)
}

/// `POST /chat/workflow`: a workflow generated from the request, with the
/// server's validation.
pub async fn chat_workflow(request: Value) -> ApiResult<Value> {
    json("POST", "/chat/workflow", Body::Json(request)).await
}
