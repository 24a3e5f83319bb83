//! The LLM client: Anthropic's Messages API and OpenAI-compatible chat
//! completions (llama.cpp, Ollama, vLLM, OpenAI itself), over the host's
//! outbound `wasi:http`.
//!
//! Configuration comes from the app variables `anthropic_api_key`,
//! `llm_provider` (`anthropic`, the default, or `openai`), `llm_base_url`,
//! `llm_model` and `llm_timeout_secs`. With neither a key nor a base URL the
//! model is "not configured" (503 `llm-not-configured`); a base URL alone
//! is enough for local servers that need no key. The key is sent in a
//! header and appears in no error, log line or trace.
//!
//! Calls are blocking from the component's point of view: the request
//! waits on the host's pollables. Rate limits (429) and Anthropic's
//! "overloaded" (529) are retried with exponential backoff, honouring
//! `retry-after`, within a bounded total wait. Streaming reads the
//! provider's server-sent events as they arrive and hands each text delta
//! to a callback before the next chunk is read.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::ApiError;

/// Anthropic's API version header value.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";
const ANTHROPIC_URL: &str = "https://api.anthropic.com";
const OPENAI_URL: &str = "https://api.openai.com";
/// Default per-request timeout (to the first byte, and between bytes).
pub const DEFAULT_TIMEOUT_SECS: u64 = 120;
/// Longest answer asked for.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;
/// Attempts per call, the first included, on 429/529.
const MAX_ATTEMPTS: u32 = 4;
/// Longest total time spent waiting between retries.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(20);
/// Largest non-streamed response body read.
const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// Which wire protocol the provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Anthropic,
    OpenAi,
}

impl Provider {
    pub fn parse(value: &str) -> Option<Provider> {
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "anthropic" => Some(Provider::Anthropic),
            "openai" | "openai-compatible" => Some(Provider::OpenAi),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Anthropic => "anthropic",
            Provider::OpenAi => "openai",
        }
    }
}

/// Where and how to reach the model.
#[derive(Clone, PartialEq)]
pub struct LlmConfig {
    pub provider: Provider,
    /// Scheme, host and optional path prefix, without a trailing slash.
    pub base_url: String,
    pub api_key: Option<String>,
    pub model: String,
    pub timeout: Duration,
}

impl std::fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmConfig")
            .field("provider", &self.provider)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("model", &self.model)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The app variables the configuration is read from, by name.
pub trait VariableSource {
    fn get(&self, name: &str) -> Option<String>;
}

/// Spin's variables (`spin_sdk::variables`).
pub struct SpinVariables;

impl VariableSource for SpinVariables {
    fn get(&self, name: &str) -> Option<String> {
        spin_sdk::variables::get(name).ok()
    }
}

impl LlmConfig {
    /// The configuration from the component's variables.
    pub fn from_spin() -> Result<LlmConfig, ApiError> {
        Self::from_source(&SpinVariables)
    }

    /// The configuration from `source`; 503 `llm-not-configured` when no
    /// key and no base URL are set, 500 for a provider name or timeout this
    /// version does not know.
    pub fn from_source(source: &dyn VariableSource) -> Result<LlmConfig, ApiError> {
        let value = |name: &str| {
            source
                .get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let api_key = value("anthropic_api_key");
        let base_url = value("llm_base_url");
        if api_key.is_none() && base_url.is_none() {
            return Err(ApiError::unavailable(
                "llm-not-configured",
                "no language model is configured: set the anthropic_api_key variable \
                 (ANTHROPIC_API_KEY) or llm_base_url (LLMOS_LLM_BASE_URL) for a local server",
            ));
        }
        let provider_name = value("llm_provider").unwrap_or_default();
        let provider = Provider::parse(&provider_name).ok_or_else(|| {
            ApiError::new(
                500,
                "llm-misconfigured",
                format!("llm_provider {provider_name:?} is not anthropic or openai"),
            )
        })?;
        let timeout = match value("llm_timeout_secs") {
            None => Duration::from_secs(DEFAULT_TIMEOUT_SECS),
            Some(text) => match text.parse::<f64>() {
                Ok(secs) if secs > 0.0 && secs <= 3600.0 => Duration::from_secs_f64(secs),
                _ => {
                    return Err(ApiError::new(
                        500,
                        "llm-misconfigured",
                        format!(
                            "llm_timeout_secs {text:?} is not a number of seconds in (0, 3600]"
                        ),
                    ));
                }
            },
        };
        let base_url = base_url
            .unwrap_or_else(|| {
                match provider {
                    Provider::Anthropic => ANTHROPIC_URL,
                    Provider::OpenAi => OPENAI_URL,
                }
                .to_owned()
            })
            .trim_end_matches('/')
            .to_owned();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(ApiError::new(
                500,
                "llm-misconfigured",
                format!("llm_base_url {base_url:?} is not an http:// or https:// URL"),
            ));
        }
        let model = value("llm_model").unwrap_or_else(|| match provider {
            Provider::Anthropic => "claude-sonnet-4-5".to_owned(),
            Provider::OpenAi => "gpt-4o-mini".to_owned(),
        });
        Ok(LlmConfig {
            provider,
            base_url,
            api_key,
            model,
            timeout,
        })
    }

    /// The endpoint of a chat call.
    pub fn endpoint(&self) -> String {
        match self.provider {
            Provider::Anthropic => {
                if self.base_url.ends_with("/v1") {
                    format!("{}/messages", self.base_url)
                } else {
                    format!("{}/v1/messages", self.base_url)
                }
            }
            Provider::OpenAi => {
                if self.base_url.ends_with("/v1") {
                    format!("{}/chat/completions", self.base_url)
                } else {
                    format!("{}/v1/chat/completions", self.base_url)
                }
            }
        }
    }
}

/// Who said a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = ChatRole)]
pub enum Role {
    User,
    Assistant,
}

/// One message of the conversation sent to the model.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// Plain text from the user or the assistant.
    Text { role: Role, text: String },
    /// The assistant's text (possibly empty) and the tools it called.
    ToolCalls { text: String, calls: Vec<ToolCall> },
    /// Results of tool calls, in the order they were made.
    ToolResults(Vec<ToolResult>),
}

impl Message {
    pub fn user(text: impl Into<String>) -> Message {
        Message::Text {
            role: Role::User,
            text: text.into(),
        }
    }

    pub fn assistant(text: impl Into<String>) -> Message {
        Message::Text {
            role: Role::Assistant,
            text: text.into(),
        }
    }
}

/// A tool the model may call: a name, what it does and the JSON schema of
/// its input.
#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    pub name: String,
    pub description: String,
    pub input_schema: Value,
}

/// A call the model made.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub input: Value,
}

/// What a tool call returned.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolResult {
    pub id: String,
    pub content: String,
    pub is_error: bool,
}

/// One call to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmRequest {
    pub model: String,
    pub system: String,
    pub messages: Vec<Message>,
    pub tools: Vec<Tool>,
    pub max_tokens: u32,
}

/// Token counts the provider reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = TokenUsage)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// The model's answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Completion {
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
    pub usage: Usage,
    pub stop_reason: Option<String>,
    /// The model the provider says answered.
    pub model: Option<String>,
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    #[error("the model did not answer within {0:?}")]
    Timeout(Duration),
    #[error(
        "the model provider is overloaded or rate-limited (HTTP {status}) after {attempts} attempts"
    )]
    Overloaded { status: u16, attempts: u32 },
    #[error("the model provider answered HTTP {status}: {message}")]
    Upstream { status: u16, message: String },
    #[error("the model provider could not be reached: {0}")]
    Transport(String),
    #[error("the model provider's answer could not be read: {0}")]
    BadResponse(String),
}

impl LlmError {
    /// The HTTP error the API answers with: 504 for timeouts, 503 when the
    /// provider stays overloaded, 502 for everything else it did wrong.
    pub fn to_api_error(&self) -> ApiError {
        match self {
            LlmError::Timeout(_) => ApiError::new(504, "llm-timeout", self.to_string()),
            LlmError::Overloaded { .. } => {
                ApiError::unavailable("llm-overloaded", self.to_string())
            }
            LlmError::Upstream { .. } => ApiError::new(502, "llm-upstream-error", self.to_string()),
            LlmError::Transport(_) => ApiError::new(502, "llm-unreachable", self.to_string()),
            LlmError::BadResponse(_) => ApiError::new(502, "llm-bad-response", self.to_string()),
        }
    }
}

impl From<LlmError> for ApiError {
    fn from(err: LlmError) -> ApiError {
        err.to_api_error()
    }
}

// ------------------------------------------------------------ wire format --

/// The JSON body of a call.
pub fn request_body(provider: Provider, request: &LlmRequest, stream: bool) -> Value {
    match provider {
        Provider::Anthropic => anthropic_body(request, stream),
        Provider::OpenAi => openai_body(request, stream),
    }
}

fn anthropic_body(request: &LlmRequest, stream: bool) -> Value {
    let messages: Vec<Value> = request
        .messages
        .iter()
        .map(|message| match message {
            Message::Text { role, text } => json!({"role": role, "content": text}),
            Message::ToolCalls { text, calls } => {
                let mut content = Vec::new();
                if !text.is_empty() {
                    content.push(json!({"type": "text", "text": text}));
                }
                for call in calls {
                    content.push(json!({"type": "tool_use", "id": call.id, "name": call.name, "input": call.input}));
                }
                json!({"role": "assistant", "content": content})
            }
            Message::ToolResults(results) => {
                let content: Vec<Value> = results
                    .iter()
                    .map(|r| json!({"type": "tool_result", "tool_use_id": r.id, "content": r.content, "is_error": r.is_error}))
                    .collect();
                json!({"role": "user", "content": content})
            }
        })
        .collect();
    let mut body = json!({
        "model": request.model,
        "max_tokens": request.max_tokens,
        "messages": messages,
    });
    if !request.system.is_empty() {
        body["system"] = json!(request.system);
    }
    if !request.tools.is_empty() {
        body["tools"] = request
            .tools
            .iter()
            .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.input_schema}))
            .collect();
    }
    if stream {
        body["stream"] = json!(true);
    }
    body
}

fn openai_body(request: &LlmRequest, stream: bool) -> Value {
    let mut messages = Vec::new();
    if !request.system.is_empty() {
        messages.push(json!({"role": "system", "content": request.system}));
    }
    for message in &request.messages {
        match message {
            Message::Text { role, text } => messages.push(json!({"role": role, "content": text})),
            Message::ToolCalls { text, calls } => {
                let calls: Vec<Value> = calls
                    .iter()
                    .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.input.to_string()}}))
                    .collect();
                let content = if text.is_empty() {
                    Value::Null
                } else {
                    json!(text)
                };
                messages
                    .push(json!({"role": "assistant", "content": content, "tool_calls": calls}));
            }
            Message::ToolResults(results) => {
                for r in results {
                    messages
                        .push(json!({"role": "tool", "tool_call_id": r.id, "content": r.content}));
                }
            }
        }
    }
    let mut body = json!({
        "model": request.model,
        "max_tokens": request.max_tokens,
        "messages": messages,
    });
    if !request.tools.is_empty() {
        body["tools"] = request
            .tools
            .iter()
            .map(|t| json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.input_schema}}))
            .collect();
    }
    if stream {
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

/// Reads a non-streamed answer.
pub fn parse_completion(provider: Provider, body: &[u8]) -> Result<Completion, LlmError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| LlmError::BadResponse(format!("not JSON: {e}")))?;
    let mut completion = Completion {
        model: value["model"].as_str().map(str::to_owned),
        ..Completion::default()
    };
    match provider {
        Provider::Anthropic => {
            let content = value["content"]
                .as_array()
                .ok_or_else(|| LlmError::BadResponse("no `content` array".into()))?;
            for block in content {
                match block["type"].as_str() {
                    Some("text") => completion
                        .text
                        .push_str(block["text"].as_str().unwrap_or("")),
                    Some("tool_use") => completion.tool_calls.push(ToolCall {
                        id: block["id"].as_str().unwrap_or_default().to_owned(),
                        name: block["name"].as_str().unwrap_or_default().to_owned(),
                        input: block["input"].clone(),
                    }),
                    _ => {}
                }
            }
            completion.stop_reason = value["stop_reason"].as_str().map(str::to_owned);
            completion.usage = Usage {
                input_tokens: value["usage"]["input_tokens"].as_u64().unwrap_or(0),
                output_tokens: value["usage"]["output_tokens"].as_u64().unwrap_or(0),
            };
        }
        Provider::OpenAi => {
            let choice = &value["choices"][0];
            if choice.is_null() {
                return Err(LlmError::BadResponse("no `choices`".into()));
            }
            let message = &choice["message"];
            completion.text = message["content"].as_str().unwrap_or("").to_owned();
            if let Some(calls) = message["tool_calls"].as_array() {
                for call in calls {
                    completion.tool_calls.push(openai_tool_call(
                        call["id"].as_str().unwrap_or_default(),
                        call["function"]["name"].as_str().unwrap_or_default(),
                        call["function"]["arguments"].as_str().unwrap_or("{}"),
                    ));
                }
            }
            completion.stop_reason = choice["finish_reason"].as_str().map(str::to_owned);
            completion.usage = Usage {
                input_tokens: value["usage"]["prompt_tokens"].as_u64().unwrap_or(0),
                output_tokens: value["usage"]["completion_tokens"].as_u64().unwrap_or(0),
            };
        }
    }
    Ok(completion)
}

fn openai_tool_call(id: &str, name: &str, arguments: &str) -> ToolCall {
    let input = serde_json::from_str(arguments)
        .unwrap_or_else(|_| json!({"_unparsed_arguments": arguments}));
    ToolCall {
        id: id.to_owned(),
        name: name.to_owned(),
        input,
    }
}

/// The message of a provider's error body (`{"error": {"message"}}` in
/// both protocols), or the start of the body.
pub fn error_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if let Ok(value) = serde_json::from_str::<Value>(&text)
        && let Some(message) = value["error"]["message"]
            .as_str()
            .or_else(|| value["error"].as_str())
            .or_else(|| value["message"].as_str())
    {
        return message.to_owned();
    }
    let text = text.trim();
    let mut end = text.len().min(300);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if text.is_empty() {
        "(empty body)".to_owned()
    } else {
        text[..end].to_owned()
    }
}

pub use llmos_core::sse::{SseEvent, SseParser};

/// Assembles a streamed answer from the provider's events.
#[derive(Debug)]
pub struct StreamAssembler {
    provider: Provider,
    completion: Completion,
    /// Tool calls being streamed: (id, name, accumulated JSON text).
    partial_tools: Vec<(String, String, String)>,
    done: bool,
}

impl StreamAssembler {
    pub fn new(provider: Provider) -> Self {
        StreamAssembler {
            provider,
            completion: Completion::default(),
            partial_tools: Vec::new(),
            done: false,
        }
    }

    /// Takes one event; returns the text delta it carries, if any.
    pub fn event(&mut self, event: &SseEvent) -> Result<Option<String>, LlmError> {
        match self.provider {
            Provider::Anthropic => self.anthropic_event(event),
            Provider::OpenAi => self.openai_event(event),
        }
    }

    fn anthropic_event(&mut self, event: &SseEvent) -> Result<Option<String>, LlmError> {
        let data: Value = match serde_json::from_str(&event.data) {
            Ok(v) => v,
            Err(_) => return Ok(None),
        };
        let kind = event
            .event
            .clone()
            .or_else(|| data["type"].as_str().map(str::to_owned))
            .unwrap_or_default();
        match kind.as_str() {
            "message_start" => {
                let message = &data["message"];
                self.completion.model = message["model"].as_str().map(str::to_owned);
                self.completion.usage.input_tokens =
                    message["usage"]["input_tokens"].as_u64().unwrap_or(0);
                self.completion.usage.output_tokens =
                    message["usage"]["output_tokens"].as_u64().unwrap_or(0);
            }
            "content_block_start" => {
                let block = &data["content_block"];
                if block["type"] == "tool_use" {
                    self.partial_tools.push((
                        block["id"].as_str().unwrap_or_default().to_owned(),
                        block["name"].as_str().unwrap_or_default().to_owned(),
                        String::new(),
                    ));
                }
            }
            "content_block_delta" => {
                let delta = &data["delta"];
                match delta["type"].as_str() {
                    Some("text_delta") => {
                        let text = delta["text"].as_str().unwrap_or("").to_owned();
                        self.completion.text.push_str(&text);
                        return Ok(Some(text).filter(|t| !t.is_empty()));
                    }
                    Some("input_json_delta") => {
                        if let Some(last) = self.partial_tools.last_mut() {
                            last.2
                                .push_str(delta["partial_json"].as_str().unwrap_or(""));
                        }
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(reason) = data["delta"]["stop_reason"].as_str() {
                    self.completion.stop_reason = Some(reason.to_owned());
                }
                if let Some(out) = data["usage"]["output_tokens"].as_u64() {
                    self.completion.usage.output_tokens = out;
                }
            }
            "message_stop" => self.done = true,
            "error" => {
                let message = data["error"]["message"]
                    .as_str()
                    .unwrap_or("error event")
                    .to_owned();
                let overloaded = data["error"]["type"] == "overloaded_error";
                return Err(if overloaded {
                    LlmError::Overloaded {
                        status: 529,
                        attempts: 1,
                    }
                } else {
                    LlmError::Upstream {
                        status: 200,
                        message,
                    }
                });
            }
            _ => {}
        }
        Ok(None)
    }

    fn openai_event(&mut self, event: &SseEvent) -> Result<Option<String>, LlmError> {
        if event.data.trim() == "[DONE]" {
            self.done = true;
            return Ok(None);
        }
        let data: Value = match serde_json::from_str(&event.data) {
            Ok(v) => v,
            Err(_) => return Ok(None),
        };
        if data["error"].is_object() {
            return Err(LlmError::Upstream {
                status: 200,
                message: error_message(event.data.as_bytes()),
            });
        }
        if let Some(model) = data["model"].as_str() {
            self.completion.model = Some(model.to_owned());
        }
        if let Some(usage) = data["usage"].as_object() {
            self.completion.usage = Usage {
                input_tokens: usage
                    .get("prompt_tokens")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
                output_tokens: usage
                    .get("completion_tokens")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
            };
        }
        let choice = &data["choices"][0];
        if let Some(reason) = choice["finish_reason"].as_str() {
            self.completion.stop_reason = Some(reason.to_owned());
        }
        let delta = &choice["delta"];
        if let Some(calls) = delta["tool_calls"].as_array() {
            for call in calls {
                let index = call["index"].as_u64().unwrap_or(0) as usize;
                while self.partial_tools.len() <= index {
                    self.partial_tools
                        .push((String::new(), String::new(), String::new()));
                }
                let slot = &mut self.partial_tools[index];
                if let Some(id) = call["id"].as_str() {
                    slot.0 = id.to_owned();
                }
                if let Some(name) = call["function"]["name"].as_str() {
                    slot.1.push_str(name);
                }
                if let Some(args) = call["function"]["arguments"].as_str() {
                    slot.2.push_str(args);
                }
            }
        }
        if let Some(text) = delta["content"].as_str()
            && !text.is_empty()
        {
            self.completion.text.push_str(text);
            return Ok(Some(text.to_owned()));
        }
        Ok(None)
    }

    /// Whether the provider said the message is complete.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The whole answer.
    pub fn finish(mut self) -> Completion {
        for (id, name, args) in self.partial_tools.drain(..) {
            let call = match self.provider {
                Provider::Anthropic => ToolCall {
                    id,
                    name,
                    input: if args.trim().is_empty() {
                        json!({})
                    } else {
                        serde_json::from_str(&args)
                            .unwrap_or_else(|_| json!({"_unparsed_arguments": args}))
                    },
                },
                Provider::OpenAi => openai_tool_call(&id, &name, &args),
            };
            self.completion.tool_calls.push(call);
        }
        self.completion
    }
}

// ----------------------------------------------------------- transport ---

/// How long to wait before retry `attempt` (1-based): `retry-after` when
/// the provider sent one (seconds), else 0.5 s doubling, capped at 8 s.
pub fn retry_delay(attempt: u32, retry_after: Option<&str>) -> Duration {
    if let Some(secs) = retry_after.and_then(|v| v.trim().parse::<f64>().ok())
        && secs.is_finite()
        && secs >= 0.0
    {
        return Duration::from_secs_f64(secs.min(MAX_RETRY_WAIT.as_secs_f64()));
    }
    let base = 500u64.saturating_mul(1 << attempt.saturating_sub(1).min(5));
    Duration::from_millis(base.min(8000))
}

fn is_retryable(status: u16) -> bool {
    status == 429 || status == 529
}

/// Calls the model and returns the whole answer.
pub fn complete(config: &LlmConfig, request: &LlmRequest) -> Result<Completion, LlmError> {
    let body = request_body(config.provider, request, false);
    let response = send_with_retries(config, &body)?;
    let bytes = response.read_all(config.timeout)?;
    parse_completion(config.provider, &bytes)
}

/// Calls the model with streaming: `on_delta` gets each piece of text as
/// it arrives; returns the whole answer.
pub fn stream(
    config: &LlmConfig,
    request: &LlmRequest,
    mut on_delta: impl FnMut(&str),
) -> Result<Completion, LlmError> {
    let body = request_body(config.provider, request, true);
    let response = send_with_retries(config, &body)?;
    let is_event_stream = response
        .content_type
        .as_deref()
        .is_some_and(|ct| ct.starts_with("text/event-stream"));
    if !is_event_stream {
        // Some servers ignore `stream`; take their whole answer.
        let bytes = response.read_all(config.timeout)?;
        let completion = parse_completion(config.provider, &bytes)?;
        if !completion.text.is_empty() {
            on_delta(&completion.text);
        }
        return Ok(completion);
    }
    let mut parser = SseParser::default();
    let mut assembler = StreamAssembler::new(config.provider);
    let mut handle =
        |events: Vec<SseEvent>, assembler: &mut StreamAssembler| -> Result<(), LlmError> {
            for event in events {
                if let Some(text) = assembler.event(&event)? {
                    on_delta(&text);
                }
            }
            Ok(())
        };
    response.read_chunks(config.timeout, |chunk| {
        let events = parser.push(chunk);
        handle(events, &mut assembler)?;
        Ok(!assembler.is_done())
    })?;
    handle(parser.finish(), &mut assembler)?;
    Ok(assembler.finish())
}

fn send_with_retries(config: &LlmConfig, body: &Value) -> Result<transport::Response, LlmError> {
    let body = serde_json::to_vec(body).expect("a request body serialises");
    let started = Instant::now();
    let mut waited = Duration::ZERO;
    let mut attempt = 1;
    loop {
        let response = transport::send(config, &body)?;
        if (200..300).contains(&response.status) {
            return Ok(response);
        }
        if is_retryable(response.status) {
            let delay = retry_delay(attempt, response.retry_after.as_deref());
            if attempt < MAX_ATTEMPTS && waited + delay <= MAX_RETRY_WAIT {
                std::thread::sleep(delay);
                waited += delay;
                attempt += 1;
                continue;
            }
            return Err(LlmError::Overloaded {
                status: response.status,
                attempts: attempt,
            });
        }
        let status = response.status;
        let bytes = response
            .read_all(config.timeout.saturating_sub(started.elapsed()))
            .unwrap_or_default();
        return Err(LlmError::Upstream {
            status,
            message: error_message(&bytes),
        });
    }
}

/// The outbound HTTP call over `wasi:http`, with the configured timeouts.
mod transport {
    use std::time::{Duration, Instant};

    use spin_sdk::wit::wasi::http0_2_0::outgoing_handler;
    use spin_sdk::wit::wasi::http0_2_0::types::{
        ErrorCode, Fields, IncomingBody, IncomingResponse, Method, OutgoingBody, OutgoingRequest,
        RequestOptions, Scheme,
    };

    use super::{ANTHROPIC_VERSION, LlmConfig, LlmError, MAX_RESPONSE_BYTES, Provider};

    pub struct Response {
        pub status: u16,
        pub content_type: Option<String>,
        pub retry_after: Option<String>,
        response: IncomingResponse,
    }

    fn transport_error(timeout: Duration) -> impl Fn(ErrorCode) -> LlmError {
        move |code| match code {
            ErrorCode::ConnectionTimeout | ErrorCode::ConnectionReadTimeout => {
                LlmError::Timeout(timeout)
            }
            other => LlmError::Transport(format!("{other:?}")),
        }
    }

    pub fn send(config: &LlmConfig, body: &[u8]) -> Result<Response, LlmError> {
        let url = config.endpoint();
        let (scheme, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (Scheme::Https, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (Scheme::Http, rest)
        } else {
            return Err(LlmError::Transport(format!("unsupported URL {url}")));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let mut headers: Vec<(String, Vec<u8>)> = vec![
            ("content-type".into(), b"application/json".to_vec()),
            ("content-length".into(), body.len().to_string().into_bytes()),
            (
                "accept".into(),
                b"application/json, text/event-stream".to_vec(),
            ),
        ];
        match config.provider {
            Provider::Anthropic => {
                headers.push(("anthropic-version".into(), ANTHROPIC_VERSION.into()));
                if let Some(key) = &config.api_key {
                    headers.push(("x-api-key".into(), key.as_bytes().to_vec()));
                }
            }
            Provider::OpenAi => {
                if let Some(key) = &config.api_key {
                    headers.push(("authorization".into(), format!("Bearer {key}").into_bytes()));
                }
            }
        }
        let fields = Fields::from_list(&headers)
            .map_err(|e| LlmError::Transport(format!("request headers: {e:?}")))?;
        let request = OutgoingRequest::new(fields);
        let set = request
            .set_method(&Method::Post)
            .and(request.set_scheme(Some(&scheme)))
            .and(request.set_authority(Some(authority)))
            .and(request.set_path_with_query(Some(path)));
        if set.is_err() {
            return Err(LlmError::Transport(format!("invalid URL {url}")));
        }
        let options = RequestOptions::new();
        let _ = options.set_connect_timeout(Some(duration_ns(config.timeout)));
        let _ = options.set_first_byte_timeout(Some(duration_ns(config.timeout)));
        let _ = options.set_between_bytes_timeout(Some(duration_ns(config.timeout)));
        let outgoing_body = request
            .body()
            .map_err(|_| LlmError::Transport("request body unavailable".into()))?;
        let future = outgoing_handler::handle(request, Some(options))
            .map_err(transport_error(config.timeout))?;
        {
            let stream = outgoing_body
                .write()
                .map_err(|_| LlmError::Transport("request body unavailable".into()))?;
            for chunk in body.chunks(4096) {
                stream
                    .blocking_write_and_flush(chunk)
                    .map_err(|e| LlmError::Transport(format!("writing the request: {e:?}")))?;
            }
        }
        OutgoingBody::finish(outgoing_body, None).map_err(transport_error(config.timeout))?;
        future.subscribe().block();
        let response = match future.get() {
            Some(Ok(Ok(response))) => response,
            Some(Ok(Err(code))) => return Err(transport_error(config.timeout)(code)),
            Some(Err(())) | None => {
                return Err(LlmError::Transport("the response was lost".into()));
            }
        };
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .into_iter()
                .next()
                .map(|v| String::from_utf8_lossy(&v).into_owned())
        };
        Ok(Response {
            status: response.status(),
            content_type: header("content-type"),
            retry_after: header("retry-after"),
            response,
        })
    }

    fn duration_ns(d: Duration) -> u64 {
        u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
    }

    impl Response {
        /// Reads the body chunk by chunk; `on_chunk` returns whether to go
        /// on. A stall longer than `timeout` is a timeout.
        pub fn read_chunks(
            self,
            timeout: Duration,
            mut on_chunk: impl FnMut(&[u8]) -> Result<bool, LlmError>,
        ) -> Result<(), LlmError> {
            let body: IncomingBody = self
                .response
                .consume()
                .map_err(|_| LlmError::Transport("response body unavailable".into()))?;
            let stream = body
                .stream()
                .map_err(|_| LlmError::Transport("response body unavailable".into()))?;
            let mut last = Instant::now();
            loop {
                match stream.blocking_read(16 * 1024) {
                    Ok(chunk) if chunk.is_empty() => {
                        if last.elapsed() > timeout {
                            return Err(LlmError::Timeout(timeout));
                        }
                    }
                    Ok(chunk) => {
                        last = Instant::now();
                        if !on_chunk(&chunk)? {
                            break;
                        }
                    }
                    Err(wasi::io::streams::StreamError::Closed) => break,
                    Err(wasi::io::streams::StreamError::LastOperationFailed(e)) => {
                        let message = e.to_debug_string();
                        if message.contains("timeout") || message.contains("Timeout") {
                            return Err(LlmError::Timeout(timeout));
                        }
                        return Err(LlmError::Transport(format!(
                            "reading the response: {message}"
                        )));
                    }
                }
            }
            drop(stream);
            let _ = IncomingBody::finish(body);
            Ok(())
        }

        /// Reads the whole body (bounded).
        pub fn read_all(self, timeout: Duration) -> Result<Vec<u8>, LlmError> {
            let mut bytes = Vec::new();
            self.read_chunks(timeout, |chunk| {
                bytes.extend_from_slice(chunk);
                if bytes.len() > MAX_RESPONSE_BYTES {
                    return Err(LlmError::BadResponse(format!(
                        "the answer is larger than {MAX_RESPONSE_BYTES} bytes"
                    )));
                }
                Ok(true)
            })?;
            Ok(bytes)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Vars(HashMap<&'static str, &'static str>);
    impl VariableSource for Vars {
        fn get(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|v| v.to_string())
        }
    }

    fn vars(pairs: &[(&'static str, &'static str)]) -> Vars {
        Vars(pairs.iter().copied().collect())
    }

    #[test]
    fn unconfigured_is_503_and_a_base_url_alone_is_enough() {
        let err = LlmConfig::from_source(&vars(&[("llm_model", "m")])).unwrap_err();
        assert_eq!((err.status, err.code.as_ref()), (503, "llm-not-configured"));
        let config = LlmConfig::from_source(&vars(&[
            ("llm_base_url", "http://127.0.0.1:9/"),
            ("llm_provider", "openai"),
        ]))
        .unwrap();
        assert_eq!(config.endpoint(), "http://127.0.0.1:9/v1/chat/completions");
        assert_eq!(config.api_key, None);
        let config = LlmConfig::from_source(&vars(&[("anthropic_api_key", "sk-secret")])).unwrap();
        assert_eq!(config.endpoint(), "https://api.anthropic.com/v1/messages");
        assert!(!format!("{config:?}").contains("sk-secret"));
        let err = LlmConfig::from_source(&vars(&[
            ("anthropic_api_key", "k"),
            ("llm_provider", "bard"),
        ]))
        .unwrap_err();
        assert_eq!(err.code, "llm-misconfigured");
    }

    #[test]
    fn anthropic_stream_assembles_text_usage_and_tools() {
        let mut a = StreamAssembler::new(Provider::Anthropic);
        let events = [
            (
                "message_start",
                r#"{"message":{"model":"m1","usage":{"input_tokens":12,"output_tokens":1}}}"#,
            ),
            (
                "content_block_start",
                r#"{"index":0,"content_block":{"type":"text","text":""}}"#,
            ),
            (
                "content_block_delta",
                r#"{"delta":{"type":"text_delta","text":"Hel"}}"#,
            ),
            (
                "content_block_delta",
                r#"{"delta":{"type":"text_delta","text":"lo"}}"#,
            ),
            (
                "content_block_start",
                r#"{"index":1,"content_block":{"type":"tool_use","id":"t1","name":"load_skill"}}"#,
            ),
            (
                "content_block_delta",
                r#"{"delta":{"type":"input_json_delta","partial_json":"{\"skill\":"}}"#,
            ),
            (
                "content_block_delta",
                r#"{"delta":{"type":"input_json_delta","partial_json":"\"x\"}"}}"#,
            ),
            (
                "message_delta",
                r#"{"delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":7}}"#,
            ),
            ("message_stop", r#"{}"#),
        ];
        let mut deltas = Vec::new();
        for (event, data) in events {
            let e = SseEvent {
                event: Some(event.into()),
                data: data.into(),
            };
            if let Some(d) = a.event(&e).unwrap() {
                deltas.push(d);
            }
        }
        assert!(a.is_done());
        let c = a.finish();
        assert_eq!(deltas, ["Hel", "lo"]);
        assert_eq!(c.text, "Hello");
        assert_eq!(
            c.usage,
            Usage {
                input_tokens: 12,
                output_tokens: 7
            }
        );
        assert_eq!(c.tool_calls[0].input, json!({"skill": "x"}));
        assert_eq!(c.stop_reason.as_deref(), Some("tool_use"));
    }

    #[test]
    fn openai_stream_and_completion() {
        let mut a = StreamAssembler::new(Provider::OpenAi);
        for data in [
            r#"{"model":"q","choices":[{"delta":{"content":"Hi"}}]}"#,
            r#"{"choices":[{"delta":{"content":" there"},"finish_reason":"stop"}]}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}"#,
            "[DONE]",
        ] {
            a.event(&SseEvent {
                event: None,
                data: data.into(),
            })
            .unwrap();
        }
        assert!(a.is_done());
        let c = a.finish();
        assert_eq!(c.text, "Hi there");
        assert_eq!(
            c.usage,
            Usage {
                input_tokens: 3,
                output_tokens: 2
            }
        );
        let body = br#"{"model":"q","choices":[{"message":{"content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"load_skill","arguments":"{\"skill\":\"a\"}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":1,"completion_tokens":1}}"#;
        let c = parse_completion(Provider::OpenAi, body).unwrap();
        assert_eq!(c.tool_calls[0].name, "load_skill");
        assert_eq!(c.tool_calls[0].input["skill"], "a");
    }

    #[test]
    fn bodies_carry_system_tools_and_tool_rounds() {
        let request = LlmRequest {
            model: "m".into(),
            system: "sys".into(),
            messages: vec![
                Message::user("q"),
                Message::ToolCalls {
                    text: String::new(),
                    calls: vec![ToolCall {
                        id: "t".into(),
                        name: "load_skill".into(),
                        input: json!({"skill": "a"}),
                    }],
                },
                Message::ToolResults(vec![ToolResult {
                    id: "t".into(),
                    content: "body".into(),
                    is_error: false,
                }]),
            ],
            tools: vec![Tool {
                name: "load_skill".into(),
                description: "d".into(),
                input_schema: json!({"type": "object"}),
            }],
            max_tokens: 10,
        };
        let a = request_body(Provider::Anthropic, &request, true);
        assert_eq!(a["system"], "sys");
        assert_eq!(a["stream"], true);
        assert_eq!(a["messages"][1]["content"][0]["type"], "tool_use");
        assert_eq!(a["messages"][2]["content"][0]["tool_use_id"], "t");
        let o = request_body(Provider::OpenAi, &request, false);
        assert_eq!(o["messages"][0]["role"], "system");
        assert_eq!(
            o["messages"][2]["tool_calls"][0]["function"]["arguments"],
            r#"{"skill":"a"}"#
        );
        assert_eq!(o["messages"][3]["role"], "tool");
        assert_eq!(o["tools"][0]["function"]["name"], "load_skill");
    }

    #[test]
    fn retry_delays_honour_retry_after_and_back_off() {
        assert_eq!(retry_delay(1, Some("2")), Duration::from_secs(2));
        assert_eq!(retry_delay(1, Some("999")), MAX_RETRY_WAIT);
        assert_eq!(retry_delay(1, None), Duration::from_millis(500));
        assert_eq!(retry_delay(3, None), Duration::from_millis(2000));
        assert_eq!(retry_delay(9, Some("soon")), Duration::from_millis(8000));
    }

    #[test]
    fn errors_map_to_documented_statuses() {
        assert_eq!(
            LlmError::Timeout(Duration::from_secs(1))
                .to_api_error()
                .status,
            504
        );
        assert_eq!(
            LlmError::Overloaded {
                status: 429,
                attempts: 4
            }
            .to_api_error()
            .status,
            503
        );
        assert_eq!(
            LlmError::Upstream {
                status: 500,
                message: "x".into()
            }
            .to_api_error()
            .status,
            502
        );
        assert_eq!(
            error_message(br#"{"error":{"type":"x","message":"bad model"}}"#),
            "bad model"
        );
    }
}
