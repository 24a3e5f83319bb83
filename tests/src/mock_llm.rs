//! A loopback mock of an LLM provider for the tests: Anthropic's Messages
//! API (`POST /v1/messages`) and OpenAI chat completions (`POST
//! /v1/chat/completions`), whole or streamed as server-sent events.
//!
//! Each test scripts the answers it needs ([`MockLlm::push`]); with none
//! queued the mock answers its fallback text ("mock answer" unless
//! [`MockLlm::set_fallback`] says otherwise). Every request is recorded
//! (path, headers, JSON body) for the test to inspect. A streamed answer
//! can be held after its first chunk until the test releases it
//! ([`Reply::held_stream`]), to prove the app forwards deltas as they come.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

/// What the mock answers to one request.
pub enum Reply {
    /// Text, as JSON or as a stream of word deltas (as the request asks).
    Text(String),
    /// A call of `tool` with `input` (and no text).
    Tool { name: String, input: Value },
    /// A raw status, headers and body.
    Status {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Waits, then answers.
    Delay(Duration, Box<Reply>),
    /// A stream of text deltas that stops after the first delta until the
    /// sender of `release` sends (or is dropped).
    HeldStream {
        deltas: Vec<String>,
        release: Mutex<Receiver<()>>,
    },
}

impl Reply {
    pub fn text(text: &str) -> Reply {
        Reply::Text(text.to_owned())
    }

    pub fn tool(name: &str, input: Value) -> Reply {
        Reply::Tool {
            name: name.to_owned(),
            input,
        }
    }

    pub fn status(status: u16, body: &str) -> Reply {
        Reply::Status {
            status,
            headers: Vec::new(),
            body: body.to_owned(),
        }
    }

    pub fn with_header(self, name: &str, value: &str) -> Reply {
        match self {
            Reply::Status {
                status,
                mut headers,
                body,
            } => {
                headers.push((name.to_owned(), value.to_owned()));
                Reply::Status {
                    status,
                    headers,
                    body,
                }
            }
            other => other,
        }
    }

    pub fn delayed(self, delay: Duration) -> Reply {
        Reply::Delay(delay, Box::new(self))
    }

    /// A held stream and the sender that releases it.
    pub fn held_stream(deltas: &[&str]) -> (Reply, Sender<()>) {
        let (tx, rx) = channel();
        (
            Reply::HeldStream {
                deltas: deltas.iter().map(|d| d.to_string()).collect(),
                release: Mutex::new(rx),
            },
            tx,
        )
    }
}

/// One request the mock received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Value,
}

impl Recorded {
    /// The system prompt, whichever protocol carried it.
    pub fn system(&self) -> String {
        if let Some(s) = self.body["system"].as_str() {
            return s.to_owned();
        }
        self.body["messages"]
            .as_array()
            .and_then(|m| m.iter().find(|m| m["role"] == "system"))
            .and_then(|m| m["content"].as_str())
            .unwrap_or_default()
            .to_owned()
    }
}

#[derive(Default)]
struct Shared {
    queue: VecDeque<Reply>,
    requests: Vec<Recorded>,
    /// The text answered when nothing is queued (`None`: "mock answer").
    fallback: Option<String>,
}

/// The running mock; it stops serving when dropped.
pub struct MockLlm {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
}

impl MockLlm {
    pub fn start() -> MockLlm {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the mock LLM");
        let addr = listener.local_addr().expect("mock address");
        let shared = Arc::new(Mutex::new(Shared::default()));
        let serving = Arc::downgrade(&shared);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Some(shared) = serving.upgrade() else {
                    return;
                };
                let Ok(stream) = stream else { continue };
                std::thread::spawn(move || {
                    let _ = serve(stream, &shared);
                });
            }
        });
        MockLlm { addr, shared }
    }

    /// `http://127.0.0.1:<port>`, for `llm_base_url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queues the answer to the next request.
    pub fn push(&self, reply: Reply) {
        self.shared.lock().unwrap().queue.push_back(reply);
    }

    /// The text answered whenever nothing is queued, for tests that send
    /// many requests without scripting each answer.
    pub fn set_fallback(&self, text: &str) {
        self.shared.lock().unwrap().fallback = Some(text.to_owned());
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().unwrap().requests.clone()
    }
}

fn serve(stream: TcpStream, shared: &Arc<Mutex<Shared>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let chunked = headers
        .get("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        let mut body = Vec::new();
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
        body
    } else {
        let length: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        body
    };
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let openai = path.contains("chat/completions");
    let streamed = body["stream"] == true;
    let reply = {
        let mut shared = shared.lock().unwrap();
        shared.requests.push(Recorded {
            path,
            headers,
            body,
        });
        match shared.queue.pop_front() {
            Some(reply) => reply,
            None => Reply::text(shared.fallback.as_deref().unwrap_or("mock answer")),
        }
    };
    let mut out = stream;
    answer(&mut out, reply, openai, streamed)
}

fn answer(out: &mut TcpStream, reply: Reply, openai: bool, streamed: bool) -> std::io::Result<()> {
    match reply {
        Reply::Delay(delay, inner) => {
            std::thread::sleep(delay);
            answer(out, *inner, openai, streamed)
        }
        Reply::Status {
            status,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} Mock\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            out.write_all(head.as_bytes())?;
            out.write_all(body.as_bytes())
        }
        Reply::Text(text) if !streamed => {
            let body = whole(openai, &text, None);
            json_response(out, &body)
        }
        Reply::Tool { name, input } if !streamed => {
            let body = whole(openai, "", Some((&name, &input)));
            json_response(out, &body)
        }
        Reply::Text(text) => {
            let words: Vec<String> = text.split_inclusive(' ').map(str::to_owned).collect();
            start_events(out)?;
            for event in stream_events(openai, &words, None) {
                out.write_all(event.as_bytes())?;
                out.flush()?;
            }
            Ok(())
        }
        Reply::Tool { name, input } => {
            start_events(out)?;
            for event in stream_events(openai, &[], Some((&name, &input))) {
                out.write_all(event.as_bytes())?;
            }
            Ok(())
        }
        Reply::HeldStream { deltas, release } => {
            start_events(out)?;
            let events = stream_events(openai, &deltas, None);
            // Everything up to and including the first text delta, then wait.
            let first = events
                .iter()
                .position(|e| e.contains("text_delta") || e.contains("\"content\""))
                .unwrap_or(0);
            for event in &events[..=first] {
                out.write_all(event.as_bytes())?;
            }
            out.flush()?;
            let _ = release
                .lock()
                .unwrap()
                .recv_timeout(Duration::from_secs(60));
            for event in &events[first + 1..] {
                out.write_all(event.as_bytes())?;
            }
            out.flush()
        }
    }
}

fn json_response(out: &mut TcpStream, body: &Value) -> std::io::Result<()> {
    let body = body.to_string();
    write!(
        out,
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn start_events(out: &mut TcpStream) -> std::io::Result<()> {
    out.write_all(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n",
    )?;
    out.flush()
}

fn whole(openai: bool, text: &str, tool: Option<(&str, &Value)>) -> Value {
    if openai {
        let mut message = json!({"role": "assistant", "content": text});
        if let Some((name, input)) = tool {
            message["content"] = Value::Null;
            message["tool_calls"] = json!([{"id": "call_1", "type": "function",
                "function": {"name": name, "arguments": input.to_string()}}]);
        }
        json!({"id": "chatcmpl-mock", "model": "mock-model",
               "choices": [{"index": 0, "message": message,
                            "finish_reason": if tool.is_some() {"tool_calls"} else {"stop"}}],
               "usage": {"prompt_tokens": 11, "completion_tokens": 7}})
    } else {
        let mut content = Vec::new();
        if !text.is_empty() {
            content.push(json!({"type": "text", "text": text}));
        }
        if let Some((name, input)) = tool {
            content
                .push(json!({"type": "tool_use", "id": "toolu_1", "name": name, "input": input}));
        }
        json!({"id": "msg_mock", "type": "message", "role": "assistant", "model": "mock-model",
               "content": content,
               "stop_reason": if tool.is_some() {"tool_use"} else {"end_turn"},
               "usage": {"input_tokens": 11, "output_tokens": 7}})
    }
}

fn stream_events(openai: bool, deltas: &[String], tool: Option<(&str, &Value)>) -> Vec<String> {
    let mut events = Vec::new();
    if openai {
        let chunk = |delta: Value, finish: Value| {
            format!(
                "data: {}\n\n",
                json!({"id": "chatcmpl-mock", "model": "mock-model",
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
            )
        };
        events.push(chunk(json!({"role": "assistant"}), Value::Null));
        for d in deltas {
            events.push(chunk(json!({"content": d}), Value::Null));
        }
        if let Some((name, input)) = tool {
            events.push(chunk(
                json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                        "function": {"name": name, "arguments": input.to_string()}}]}),
                Value::Null,
            ));
        }
        events.push(chunk(
            json!({}),
            json!(if tool.is_some() { "tool_calls" } else { "stop" }),
        ));
        events.push(format!(
            "data: {}\n\n",
            json!({"choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": 7}})
        ));
        events.push("data: [DONE]\n\n".to_owned());
    } else {
        let event = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
        events.push(event(
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_mock", "model": "mock-model",
                   "usage": {"input_tokens": 11, "output_tokens": 1}}}),
        ));
        events.push(event(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ));
        for d in deltas {
            events.push(event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": d}}),
            ));
        }
        events.push(event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ));
        if let Some((name, input)) = tool {
            events.push(event(
                "content_block_start",
                json!({"type": "content_block_start", "index": 1,
                       "content_block": {"type": "tool_use", "id": "toolu_1", "name": name, "input": {}}}),
            ));
            events.push(event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 1,
                       "delta": {"type": "input_json_delta", "partial_json": input.to_string()}}),
            ));
        }
        events.push(event(
            "message_delta",
            json!({"type": "message_delta",
                   "delta": {"stop_reason": if tool.is_some() {"tool_use"} else {"end_turn"}},
                   "usage": {"output_tokens": 7}}),
        ));
        events.push(event("message_stop", json!({"type": "message_stop"})));
    }
    events
}
