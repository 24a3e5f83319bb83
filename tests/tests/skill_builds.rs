//! Building compiled skills through the app and the command line, with
//! the real builder `llmos up` starts: a Rust skill saved through the API
//! builds with `POST /skills/{id}/build`, its component lands beside the
//! file and runs at the edge; broken Rust, Python and JavaScript skills
//! report the compiler's error with the Markdown line, and change nothing;
//! `llmos skills build` builds a skill of a data directory natively.
//!
//! Needs the app built (`./dev build`) and the skill toolchains (`./dev
//! setup`).

use llmos_tests::{Host, HostConfig, app_manifest, llmos_binary};
use serde_json::{Value, json};

fn rust_skill(id: &str, body: &str) -> String {
    format!(
        "---\nskill_id: {id}\nname: Cube\ncategory: mathematics\n\
         description: Cubes a number.\ntype: wasm-component\n\
         inputs:\n  - name: x\n    type: number\n\
         outputs:\n  - name: y\n    type: number\n---\n\n\
         Cubes `x`.\n\n```rust\nuse llmos_skill::prelude::*;\n\n\
         #[derive(Outputs)]\nstruct Cube {{\n    y: f64,\n}}\n\n\
         #[skill]\nfn execute(x: f64) -> Cube {{\n{body}\n}}\n```\n"
    )
}

fn python_skill(id: &str, code: &str) -> String {
    format!(
        "---\nskill_id: {id}\nname: Half\ncategory: mathematics\n\
         description: Halves a number.\ntype: python-wasm\ncompiled: true\n\
         inputs:\n  - name: x\n    type: number\n\
         outputs:\n  - name: y\n    type: number\n---\n\n```python\n{code}```\n"
    )
}

fn javascript_skill(id: &str, code: &str) -> String {
    format!(
        "---\nskill_id: {id}\nname: Double\ncategory: mathematics\n\
         description: Doubles a number.\ntype: javascript\ncompiled: true\n\
         inputs:\n  - name: x\n    type: number\n\
         outputs:\n  - name: y\n    type: number\n---\n\n```javascript\n{code}```\n"
    )
}

struct App {
    host: Host,
    token: String,
    client: reqwest::blocking::Client,
}

impl App {
    fn start() -> App {
        let host = HostConfig::new(app_manifest()).start();
        let token = host.create_token("builder-user", &[], "user");
        let client = reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_secs(300))
            .build()
            .expect("a client");
        App {
            host,
            token,
            client,
        }
    }

    fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, self.host.url(path))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply = request.send().expect("the request is answered");
        let status = reply.status().as_u16();
        let text = reply.text().expect("a body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    fn save(&self, text: &str) {
        let reply = self
            .client
            .post(self.host.url("/skills"))
            .bearer_auth(&self.token)
            .header("content-type", "text/markdown")
            .body(text.to_owned())
            .send()
            .expect("POST /skills");
        assert_eq!(reply.status(), 201, "{:?}", reply.text());
    }

    fn history(&self, id: &str) -> Vec<Value> {
        let (status, body) =
            self.send(reqwest::Method::GET, &format!("/skills/{id}/history"), None);
        assert_eq!(status, 200, "{body}");
        body["commits"].as_array().cloned().unwrap_or_default()
    }

    fn build(&self, id: &str) -> (u16, Value) {
        self.send(
            reqwest::Method::POST,
            &format!("/skills/{id}/build"),
            Some(json!({})),
        )
    }
}

#[test]
fn a_skill_built_through_the_api_runs_at_the_edge() {
    let app = App::start();
    app.save(&rust_skill("api-cube", "    Cube { y: x * x * x }"));
    let (status, built) = app.build("api-cube");
    assert_eq!(status, 200, "{built}");
    assert_eq!(built["status"], "built");
    assert_eq!(built["component"]["language"], "rust");
    let sha = built["component"]["sha256"]
        .as_str()
        .expect("a hash")
        .to_owned();

    let (_, skill) = app.send(reqwest::Method::GET, "/skills/api-cube", None);
    assert_eq!(skill["component"]["state"], "fresh", "{skill}");
    assert_eq!(skill["component"]["sha256"], json!(sha));
    let (status, history) = (200, app.history("api-cube"));
    assert_eq!(status, 200);
    assert!(
        history[0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Build skill api-cube (rust, sha256 ")),
        "{history:?}"
    );

    let (status, created) = app.send(
        reqwest::Method::POST,
        "/workflows",
        Some(json!({"workflow": {
            "id": "cube-it", "name": "Cube it",
            "nodes": [{"id": "c", "skill_id": "api-cube", "position": {"x": 0, "y": 0},
                       "params": {"x": 3}}],
            "edges": [],
        }})),
    );
    assert_eq!(status, 201, "{created}");
    let (status, run) = app.send(
        reqwest::Method::POST,
        "/workflows/cube-it/execute",
        Some(json!({})),
    );
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["nodes"]["c"]["outputs"], json!({"y": 27}), "{run}");
    assert_eq!(run["nodes"]["c"]["where"], "edge");
    assert_eq!(run["nodes"]["c"]["component"], json!(sha));

    // Editing the code makes the component stale; the workflow then does
    // not validate until it is built again.
    let reply = app
        .client
        .put(app.host.url("/skills/api-cube"))
        .bearer_auth(&app.token)
        .header("content-type", "text/markdown")
        .body(rust_skill("api-cube", "    Cube { y: x.powi(3) }"))
        .send()
        .expect("PUT");
    assert_eq!(reply.status(), 200);
    let (_, skill) = app.send(reqwest::Method::GET, "/skills/api-cube", None);
    assert_eq!(skill["component"]["state"], "stale", "{skill}");
}

#[test]
fn compile_errors_name_the_line_and_change_nothing() {
    let app = App::start();
    let cases = [
        (
            "broken-rust",
            // Line 27 of the file: the function's body.
            rust_skill("broken-rust", "    Cube { y: \"not a number\" }"),
            "rust",
            27,
        ),
        (
            "broken-python",
            python_skill(
                "broken-python",
                "def execute(inputs):\n    return {\"y\": inputs[\"x\"] / 2\n",
            ),
            "python",
            0,
        ),
        (
            "broken-js",
            javascript_skill(
                "broken-js",
                "function execute(inputs) {\n  return { y: inputs.x * 2 ;\n}\n",
            ),
            "javascript",
            18,
        ),
    ];
    for (id, text, language, line) in cases {
        app.save(&text);
        let before = app.history(id);
        let (status, body) = app.build(id);
        assert_eq!(status, 422, "{id}: {body}");
        let error = &body["error"];
        assert_eq!(error["code"], "skill-compile-failed", "{id}: {body}");
        assert_eq!(error["language"], language, "{id}: {body}");
        let got = error["line"].as_u64().expect("a line");
        if line > 0 {
            assert_eq!(got, line, "{id}: {body}");
        } else {
            // Python reports an unclosed bracket at its opening line or at
            // the end of the block, both inside the code block (lines
            // 17–19).
            assert!((17..=19).contains(&got), "{id}: {body}");
        }
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{id}: {body}"
        );
        assert_eq!(app.history(id), before, "{id}: a failed build committed");
        let (_, skill) = app.send(reqwest::Method::GET, &format!("/skills/{id}"), None);
        assert_eq!(skill["component"], Value::Null, "{id}: {skill}");
    }
}

#[test]
fn the_command_line_builds_skills_of_a_data_directory() {
    let app = App::start();
    app.save(&rust_skill("cli-cube", "    Cube { y: x * x * x }"));
    let data_dir = app.host.data_dir().to_owned();
    let manifest = app_manifest();
    let run = |args: &[&str]| {
        let mut command = std::process::Command::new(llmos_binary());
        command
            .args(["skills", "build", "-f"])
            .arg(&manifest)
            .arg("--data-dir")
            .arg(&data_dir)
            .args(args);
        command.output().expect("llmos runs")
    };
    let out = run(&["cli-cube", "--volume", "users/builder-user"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("users/builder-user skills/cli-cube.md: built rust component"),
        "{stdout}"
    );
    let (_, skill) = app.send(reqwest::Method::GET, "/skills/cli-cube", None);
    assert_eq!(skill["component"]["state"], "fresh", "{skill}");

    // Without names, only what needs it is built.
    let out = run(&["--volume", "users/builder-user"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("cli-cube.md: up to date"), "{stdout}");

    // A skill nobody has is an error naming it.
    let out = run(&["no-such-skill"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no skill `no-such-skill`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
