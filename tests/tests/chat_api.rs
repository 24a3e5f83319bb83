//! The chat component through the real host, against the loopback mock
//! LLM (`llmos_tests::mock_llm`): skill selection in the prompt, whole and
//! streamed answers, provider errors, conversations, traces, workflow
//! generation and progressive disclosure.
//!
//! Build the app first (from the workspace root): `./dev build`.

use std::io::Read as _;
use std::time::Duration;

use llmos_tests::mock_llm::{MockLlm, Reply};
use llmos_tests::{Host, HostConfig, app_manifest};
use serde_json::{Value, json};

struct Env {
    host: Host,
    alice: String,
    bob: String,
}

fn start_with(mock: Option<&MockLlm>, extra: &[(&str, &str)]) -> Env {
    let mut config = HostConfig::new(app_manifest()).env("SPIN_VARIABLE_LLM_TIMEOUT_SECS", "3");
    if let Some(mock) = mock {
        config = config.env("SPIN_VARIABLE_LLM_BASE_URL", mock.url());
    }
    for (k, v) in extra {
        config = config.env(*k, *v);
    }
    let host = config.start();
    let alice = host.create_token("alice", &["lab"], "user");
    let bob = host.create_token("bob", &["lab"], "user");
    Env { host, alice, bob }
}

fn start(mock: &MockLlm) -> Env {
    start_with(Some(mock), &[])
}

impl Env {
    fn call(&self, token: &str, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .host
            .request(method, path)
            .bearer_auth(token)
            .timeout(Duration::from_secs(60));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().expect("request");
        let status = response.status().as_u16();
        let text = response.text().unwrap_or_default();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status == 500 {
            eprintln!("host log:\n{}", self.host.stderr());
        }
        (status, value)
    }

    fn chat(&self, token: &str, body: Value) -> (u16, Value) {
        self.call(token, "POST", "/chat", Some(&body))
    }

    fn skill(&self, token: &str, body: Value) {
        let (status, value) = self.call(token, "POST", "/skills", Some(&body));
        assert_eq!(status, 201, "{value}");
    }

    fn history(&self, token: &str, volume: &str) -> Vec<Value> {
        let (status, value) = self.call(
            token,
            "GET",
            &format!("/volumes/history?volume={volume}&limit=50"),
            None,
        );
        if status == 404 {
            return Vec::new();
        }
        assert_eq!(status, 200, "{value}");
        value["commits"].as_array().cloned().unwrap_or_default()
    }
}

fn context_skill(
    id: &str,
    name: &str,
    description: &str,
    keywords: &[&str],
    content: &str,
) -> Value {
    json!({"skill_id": id, "name": name, "category": "data", "description": description,
           "keywords": keywords, "content": content})
}

#[test]
fn the_prompt_carries_the_ranked_skills_and_the_turn_is_traced() {
    let mock = MockLlm::start();
    let env = start(&mock);
    env.skill(
        &env.alice,
        context_skill(
            "histogram-help",
            "Histogram plotting",
            "Plot histograms of numeric data",
            &["histogram", "plot"],
            "Bin the data first, then plot the bars with SVG.",
        ),
    );
    env.skill(
        &env.alice,
        context_skill(
            "poetry-help",
            "Poetry",
            "Write rhyming poems",
            &["poem"],
            "Count syllables.",
        ),
    );
    env.skill(
        &env.alice,
        context_skill(
            "chart-help",
            "Chart colours",
            "Pick colours for a plot",
            &["colour"],
            "Use a calm palette for the plot.",
        ),
    );
    mock.push(Reply::text("Use bins."));
    let (status, answer) = env.chat(
        &env.alice,
        json!({
        "user_id": "alice", "message": "How do I plot a histogram of my data?", "max_skills": 2}),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["response"], "Use bins.");
    let used = answer["skills_used"].as_array().unwrap().clone();
    assert_eq!(used.len(), 2, "{answer}");
    assert_eq!(used[0], "Histogram plotting", "{answer}");
    let request = &mock.requests()[0];
    assert_eq!(request.path, "/v1/messages");
    assert_eq!(
        request.headers.get("anthropic-version").map(String::as_str),
        Some("2023-06-01")
    );
    let system = request.system();
    let first = system
        .find("Histogram plotting")
        .expect("first skill in the prompt");
    let second = system
        .find(&format!("name=\"{}\"", used[1].as_str().unwrap()))
        .expect("second skill in the prompt");
    assert!(first < second, "rank order in the prompt:\n{system}");
    assert!(
        system.contains("Bin the data first"),
        "the guidance is injected"
    );
    assert!(!system.contains("Poetry"), "an unrelated skill is left out");

    // The trace is a commit in alice's volume and names the skills.
    let trace_id = answer["trace_id"].as_str().expect("trace id").to_owned();
    let commits = env.history(&env.alice, "users/alice");
    assert!(
        commits
            .iter()
            .any(|c| c["message"].as_str().unwrap_or("").contains(&trace_id)),
        "no commit records {trace_id}: {commits:?}"
    );
    // ... and is listed by the trace API, whole with the skills and model.
    let (status, listed) = env.call(&env.alice, "GET", "/traces?user_id=alice&limit=10", None);
    assert_eq!(status, 200, "{listed}");
    assert!(
        listed["traces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["trace_id"] == trace_id.as_str()),
        "{listed}"
    );
    let (status, trace) = env.call(&env.alice, "GET", &format!("/traces/{trace_id}"), None);
    assert_eq!(status, 200, "{trace}");
    assert_eq!(trace["kind"], "chat", "{trace}");
    assert_eq!(trace["outcome"], "success", "{trace}");
    assert_eq!(trace["skills_used"][0], "histogram-help", "{trace}");
    assert!(trace["details"]["usage"].is_object(), "{trace}");
    // include_skills false: no skills in the prompt.
    let (status, answer) = env.chat(
        &env.alice,
        json!({
        "message": "plot a histogram", "include_skills": false}),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["skills_used"], json!([]));
    assert!(!mock.requests()[1].system().contains("Histogram plotting"));

    // After turns that only added traces, an edited skill is what the next
    // turn injects: its new guidance, never the cached old one.
    let (status, value) = env.call(
        &env.alice,
        "PUT",
        "/skills/histogram-help",
        Some(&context_skill(
            "histogram-help",
            "Histogram plotting",
            "Plot histograms of numeric data",
            &["histogram", "plot"],
            "Choose twenty bins with numpy.histogram.",
        )),
    );
    assert_eq!(status, 200, "{value}");
    mock.push(Reply::text("Twenty bins."));
    let (status, answer) = env.chat(&env.alice, json!({"message": "plot a histogram"}));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["skills_used"][0], "Histogram plotting", "{answer}");
    let system = mock.requests()[2].system();
    assert!(system.contains("twenty bins with numpy"), "{system}");
    assert!(!system.contains("Bin the data first"), "{system}");
}

#[test]
fn the_api_key_is_sent_and_never_echoed() {
    let mock = MockLlm::start();
    let env = start_with(
        Some(&mock),
        &[("SPIN_VARIABLE_ANTHROPIC_API_KEY", "sk-test-secret-123")],
    );
    mock.push(Reply::status(
        401,
        r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#,
    ));
    let (status, answer) = env.chat(&env.alice, json!({"message": "hello"}));
    assert_eq!(status, 502, "{answer}");
    assert_eq!(answer["error"]["code"], "llm-upstream-error");
    assert_eq!(
        mock.requests()[0]
            .headers
            .get("x-api-key")
            .map(String::as_str),
        Some("sk-test-secret-123")
    );
    assert!(!answer.to_string().contains("sk-test-secret-123"));
    assert!(!env.host.stdout().contains("sk-test-secret-123"));
    assert!(!env.host.stderr().contains("sk-test-secret-123"));
}

#[test]
fn streaming_forwards_the_first_delta_before_the_provider_finishes() {
    let mock = MockLlm::start();
    let env = start(&mock);
    let (reply, release) = Reply::held_stream(&["Hello ", "from ", "the ", "stream."]);
    mock.push(reply);
    let mut response = env
        .host
        .request(reqwest::Method::POST, "/chat")
        .bearer_auth(&env.alice)
        .header("content-type", "application/json")
        .header("accept", "text/event-stream")
        .body(json!({"message": "say hello"}).to_string())
        .timeout(Duration::from_secs(60))
        .send()
        .expect("request");
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    // The mock holds everything after its first delta: seeing that delta
    // here proves it was forwarded, not buffered.
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&seen).contains("event: delta") {
        let n = response.read(&mut buf).expect("read the stream");
        assert!(
            n > 0,
            "stream ended early: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(!String::from_utf8_lossy(&seen).contains("event: done"));
    release.send(()).unwrap();
    response.read_to_end(&mut seen).unwrap();
    let text = String::from_utf8_lossy(&seen).into_owned();
    let done = text
        .split("event: done\ndata: ")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .expect("a done event");
    let done: Value = serde_json::from_str(done).unwrap();
    assert_eq!(done["response"], "Hello from the stream.");
    assert!(done["trace_id"].as_str().unwrap().starts_with("tr-"));
    assert!(done["conversation_id"].as_str().unwrap().starts_with("cv-"));
    let deltas = text.matches("event: delta").count();
    assert_eq!(deltas, 4, "{text}");
}

#[test]
fn provider_failures_map_to_clear_errors() {
    let mock = MockLlm::start();
    let env = start(&mock);
    // 429 then 200: retried, succeeds.
    mock.push(
        Reply::status(429, r#"{"error":{"message":"slow down"}}"#).with_header("retry-after", "0"),
    );
    mock.push(Reply::text("after the retry"));
    let (status, answer) = env.chat(&env.alice, json!({"message": "hi"}));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["response"], "after the retry");
    assert_eq!(mock.requests().len(), 2);
    // A 500 from the provider is a 502.
    mock.push(Reply::status(500, r#"{"error":{"message":"boom"}}"#));
    let (status, answer) = env.chat(&env.alice, json!({"message": "hi"}));
    assert_eq!(status, 502, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("boom")
    );
    // Overloaded on every attempt: 503.
    for _ in 0..4 {
        mock.push(
            Reply::status(529, r#"{"error":{"message":"overloaded"}}"#)
                .with_header("retry-after", "0"),
        );
    }
    let (status, answer) = env.chat(&env.alice, json!({"message": "hi"}));
    assert_eq!(status, 503, "{answer}");
    assert_eq!(answer["error"]["code"], "llm-overloaded");
    // No answer within the timeout (3 s in these tests): 504.
    mock.push(Reply::text("too late").delayed(Duration::from_secs(6)));
    let (status, answer) = env.chat(&env.alice, json!({"message": "hi"}));
    assert_eq!(status, 504, "{answer}");
    assert_eq!(answer["error"]["code"], "llm-timeout");
    // Failed turns are traced too.
    let commits = env.history(&env.alice, "users/alice");
    assert_eq!(
        commits
            .iter()
            .filter(|c| c["message"].as_str().unwrap_or("").contains("chat trace"))
            .count(),
        4
    );
}

#[test]
fn without_a_model_chat_is_503_and_the_rest_works() {
    let env = start_with(None, &[]);
    let (status, answer) = env.chat(&env.alice, json!({"message": "hi"}));
    assert_eq!(status, 503, "{answer}");
    assert_eq!(answer["error"]["code"], "llm-not-configured");
    let (status, answer) = env.call(
        &env.alice,
        "POST",
        "/chat/workflow",
        Some(&json!({"message": "x"})),
    );
    assert_eq!(status, 503, "{answer}");
    assert_eq!(env.host.get("/health").status, 200);
    let (status, _) = env.call(&env.alice, "GET", "/skills", None);
    assert_eq!(status, 200);
}

#[test]
fn bad_requests_are_refused_before_the_model_is_called() {
    let mock = MockLlm::start();
    let env = start(&mock);
    for (body, code) in [
        (json!({}), "missing-field"),
        (json!({"message": "  "}), "missing-field"),
        (
            json!({"message": "x", "skill_mode": "guess"}),
            "invalid-field",
        ),
        (json!({"message": "x", "max_skills": -1}), "invalid-field"),
        (json!({"message": "x", "user_id": "bob"}), "forbidden"),
        (
            json!({"message": "x", "conversation_id": "../etc"}),
            "invalid-conversation-id",
        ),
    ] {
        let (status, answer) = env.chat(&env.alice, body.clone());
        assert!((400..500).contains(&status), "{body}: {status} {answer}");
        assert_eq!(answer["error"]["code"], code, "{body}");
    }
    let (status, _) = env.call(&env.alice, "POST", "/chat", None);
    assert_eq!(status, 400);
    assert!(mock.requests().is_empty());
    assert!(env.history(&env.alice, "users/alice").is_empty());
}

#[test]
fn conversations_continue_and_stay_private() {
    let mock = MockLlm::start();
    let env = start(&mock);
    mock.push(Reply::text("first answer"));
    let (status, first) = env.chat(&env.alice, json!({"message": "first question"}));
    assert_eq!(status, 200, "{first}");
    let id = first["conversation_id"].as_str().unwrap().to_owned();
    mock.push(Reply::text("second answer"));
    let (status, second) = env.chat(
        &env.alice,
        json!({"message": "second question", "conversation_id": id}),
    );
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["conversation_id"], id.as_str());
    let messages = mock.requests()[1].body["messages"].clone();
    assert_eq!(messages.as_array().unwrap().len(), 3, "{messages}");
    assert_eq!(messages[0]["content"], "first question");
    assert_eq!(messages[1]["content"], "first answer");
    // Bob can neither continue nor read alice's conversation.
    let (status, _) = env.chat(&env.bob, json!({"message": "peek", "conversation_id": id}));
    assert_eq!(status, 404);
    let (status, _) = env.call(&env.bob, "GET", &format!("/chat/conversations/{id}"), None);
    assert_eq!(status, 404);
    let (status, turns) = env.call(
        &env.alice,
        "GET",
        &format!("/chat/conversations/{id}"),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(turns["turns"].as_array().unwrap().len(), 4);
    let (status, _) = env.call(
        &env.alice,
        "DELETE",
        &format!("/chat/conversations/{id}"),
        None,
    );
    assert_eq!(status, 200);
    let (status, _) = env.call(
        &env.alice,
        "GET",
        &format!("/chat/conversations/{id}"),
        None,
    );
    assert_eq!(status, 404);
}

#[test]
fn workflow_generation_validates_the_answer_and_reports_bad_ones() {
    let mock = MockLlm::start();
    let env = start(&mock);
    let good = json!({"id": "double", "name": "Double", "nodes": [
        {"id": "a", "skill_id": "builtin:constant", "position": {"x": 0, "y": 0}, "params": {"value": 21}},
        {"id": "m", "skill_id": "builtin:math", "position": {"x": 200, "y": 0}, "params": {"expression": "x * 2"}}],
        "edges": [{"source": "a", "source_port": "value", "target": "m", "target_port": "x"}]});
    mock.push(Reply::text(&format!("Here it is:\n```json\n{good}\n```")));
    let (status, answer) = env.call(
        &env.alice,
        "POST",
        "/chat/workflow",
        Some(&json!({"message": "double 21"})),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["validation"]["valid"], true, "{answer}");
    assert_eq!(answer["workflow"]["nodes"][1]["skill_id"], "builtin:math");
    let system = mock.requests()[0].system();
    assert!(
        system.contains("builtin:math"),
        "built-in nodes are offered"
    );
    assert!(
        system.contains("quantum-vqe-node"),
        "the caller's executable skills are offered"
    );

    let broken = json!({"id": "bad", "name": "Bad", "nodes": [
        {"id": "a", "skill_id": "no-such-skill", "position": {"x": 0, "y": 0}, "params": {}},
        {"id": "m", "skill_id": "builtin:math", "position": {"x": 1, "y": 0}, "params": {"expression": "x"}}],
        "edges": [{"source": "a", "source_port": "out", "target": "m", "target_port": "nope"}]});
    mock.push(Reply::text(&broken.to_string()));
    let (status, answer) = env.call(
        &env.alice,
        "POST",
        "/chat/workflow",
        Some(&json!({"message": "broken"})),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["validation"]["valid"], false);
    let codes: Vec<String> = answer["validation"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_owned())
        .collect();
    assert!(codes.len() >= 2, "every error is listed: {codes:?}");
    assert_eq!(
        answer["workflow"]["nodes"][0]["skill_id"], "no-such-skill",
        "not repaired"
    );

    mock.push(Reply::text("I cannot do that."));
    let (status, answer) = env.call(
        &env.alice,
        "POST",
        "/chat/workflow",
        Some(&json!({"message": "nothing"})),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["validation"]["errors"][0]["code"], "answer-not-json");
    assert_eq!(answer["workflow"], Value::Null);
}

#[test]
fn disclose_mode_loads_skills_on_demand_and_bounds_the_loop() {
    let mock = MockLlm::start();
    let env = start(&mock);
    env.skill(
        &env.alice,
        context_skill(
            "histogram-help",
            "Histogram plotting",
            "Plot histograms of numeric data",
            &["histogram"],
            "SECRET-GUIDANCE: bin first.",
        ),
    );
    mock.push(Reply::tool(
        "load_skill",
        json!({"skill_id": "histogram-help"}),
    ));
    mock.push(Reply::text("Loaded and answered."));
    let (status, answer) = env.chat(
        &env.alice,
        json!({
        "message": "plot a histogram", "skill_mode": "disclose"}),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["response"], "Loaded and answered.");
    assert_eq!(answer["skills_used"], json!(["Histogram plotting"]));
    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    let system = requests[0].system();
    assert!(system.contains("- histogram-help: Plot histograms of numeric data"));
    assert!(
        !system.contains("SECRET-GUIDANCE"),
        "only the catalog is in the prompt"
    );
    assert_eq!(requests[0].body["tools"][0]["name"], "load_skill");
    let round = requests[1].body["messages"].to_string();
    assert!(
        round.contains("SECRET-GUIDANCE"),
        "the body is returned by the tool"
    );

    // A model that never stops calling tools is stopped at the bound.
    let before = mock.requests().len();
    for _ in 0..10 {
        mock.push(Reply::tool(
            "load_skill",
            json!({"skill_id": "histogram-help"}),
        ));
    }
    let (status, answer) = env.chat(
        &env.alice,
        json!({
        "message": "plot a histogram", "skill_mode": "disclose"}),
    );
    assert_eq!(status, 502, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("rounds")
    );
    assert_eq!(mock.requests().len() - before, 4);
}

#[test]
fn openai_compatible_servers_work_whole_and_streamed() {
    let mock = MockLlm::start();
    let env = start_with(Some(&mock), &[("SPIN_VARIABLE_LLM_PROVIDER", "openai")]);
    mock.push(Reply::text("openai answer"));
    let (status, answer) = env.chat(&env.alice, json!({"message": "hi", "model": "local-llama"}));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["response"], "openai answer");
    let request = &mock.requests()[0];
    assert_eq!(request.path, "/v1/chat/completions");
    assert_eq!(request.body["model"], "local-llama");
    assert_eq!(request.body["messages"][0]["role"], "system");
    mock.push(Reply::text("streamed openai answer"));
    let (status, body) = env.chat(&env.alice, json!({"message": "hi", "stream": true}));
    assert_eq!(status, 200);
    let text = body.as_str().expect("an event stream").to_owned();
    assert!(text.contains("event: delta"), "{text}");
    assert!(
        text.contains("\"response\":\"streamed openai answer\""),
        "{text}"
    );
}
