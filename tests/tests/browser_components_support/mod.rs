//! Compiled skills in real headless Chromium: the workbench's component
//! worker runs a skill component on given inputs, and the same bytes run
//! natively with `llmos-skill-runtime` for comparison.
//!
//! - [`fixture_wasm`]: the test component `tests/components/skill-fixture`,
//!   built for `wasm32-wasip2` with `wit-bindgen`;
//! - [`native_answer`]: the same component and inputs on the runtime,
//!   natively, in the worker's answer form;
//! - [`ComponentPage`]: the app, a browser on its workbench with the
//!   runtime debug hook (`frontend/src/runtime/debug.rs`) mounted, and
//!   calls into the page's component worker;
//! - [`run_in_browser`]: the one call other tests need: a component's
//!   outputs JSON text as the browser computes it.
//!
//! Needs the built app (`./dev build`) and Debian's `chromium` and
//! `chromium-driver` (`./dev setup`). All traffic stays on 127.0.0.1.

#![allow(dead_code)] // Each test file uses a part of this module.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use fantoccini::wd::TimeoutConfiguration;
use llmos_skill_runtime::{Limits, SkillRuntime};
use llmos_tests::Host;
use serde_json::{Map, Value, json};

use crate::browser_support::{self, Browser, Workbench};

/// Longest a WebDriver script may wait: an endless loop runs until its
/// fuel (the edge's default budget) is spent, which takes seconds.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(150);

/// Base64 characters per upload step: WebDriver carries scripts' arguments
/// as JSON, and a 20 MB component goes in a few steps.
const UPLOAD_CHUNK: usize = 4 << 20;

/// The bytes of the test component `tests/components/skill-fixture`.
pub fn fixture_wasm() -> Vec<u8> {
    llmos_tests::test_component("skill-fixture")
}

/// Hex SHA-256 of a component.
pub fn sha256(bytes: &[u8]) -> String {
    llmos_core::skill::component::sha256_hex(bytes)
}

/// What the runtime gives natively for `bytes` on `inputs_json` (a JSON
/// object) with `limits` (the edge's defaults when `None`):
/// `Ok((outputs JSON text, log))`, or `Err((code, message, log))`.
pub fn native_answer(
    bytes: &[u8],
    inputs_json: &str,
    limits: Option<Limits>,
) -> Result<(String, String), (String, String, String)> {
    let mut runtime = SkillRuntime::new(limits.unwrap_or_default());
    let skill = runtime
        .load(bytes)
        .map_err(|e| (e.code().to_owned(), e.to_string(), String::new()))?;
    let inputs: Map<String, Value> = serde_json::from_str(inputs_json).expect("a JSON object");
    match runtime.run(&skill, &inputs) {
        Ok(outcome) => Ok((
            serde_json::to_string(&outcome.outputs).expect("JSON values serialise"),
            outcome.log,
        )),
        Err(failure) => Err((
            failure.error.code().to_owned(),
            failure.error.to_string(),
            failure.log,
        )),
    }
}

/// A browser on the app's workbench with the runtime debug hook: the
/// hook's own runner (and so its own component worker) runs components
/// given as bytes. The app ([`Host`]) is started and dropped outside the
/// async test body (its blocking HTTP client must not be dropped inside
/// it): [`ComponentPage::open`] borrows it.
pub struct ComponentPage<'h> {
    pub host: &'h Host,
    pub token: String,
    pub browser: Browser,
    /// Components already in the page (`window.llmosComponents`), by hash.
    uploaded: std::sync::Mutex<HashSet<String>>,
}

impl<'h> ComponentPage<'h> {
    /// A browser on `host`'s workbench signed in with `token`, with the
    /// debug hook mounted. `before_hook` runs in the page before the
    /// hook's runner exists (tests install spies there).
    pub async fn open(
        host: &'h Host,
        token: &str,
        before_hook: Option<&str>,
    ) -> anyhow::Result<ComponentPage<'h>> {
        let token = token.to_owned();
        let browser = Browser::start().await;
        browser
            .client
            .update_timeouts(TimeoutConfiguration::new(
                Some(SCRIPT_TIMEOUT),
                Some(Duration::from_secs(60)),
                None,
            ))
            .await?;
        {
            let page = Workbench::open(&browser.client, host, &token).await;
            if let Some(script) = before_hook {
                page.c.execute(script, vec![]).await?;
            }
            let mounted = page
                .c
                .execute_async(
                    r#"const done = arguments[arguments.length - 1];
                    import("/pkg/llmos_frontend.js")
                      .then((m) => { m.mountRuntimeDebug(); done(typeof window.llmosRuntimes.runComponent); })
                      .catch((e) => done(String(e)));"#,
                    vec![],
                )
                .await?;
            if mounted != json!("function") {
                bail!("the runtime debug hook did not mount: {mounted}");
            }
        }
        Ok(ComponentPage {
            host,
            token,
            browser,
            uploaded: std::sync::Mutex::new(HashSet::new()),
        })
    }

    /// The workbench page of this browser.
    pub fn page(&self) -> Workbench<'_> {
        Workbench {
            c: &self.browser.client,
            base: self.host.url(""),
        }
    }

    /// Puts `bytes` into the page as `window.llmosComponents[sha256]` (a
    /// `Uint8Array`), in base64 steps; returns the hash.
    pub async fn upload(&self, bytes: &[u8]) -> anyhow::Result<String> {
        let sha = sha256(bytes);
        if self.uploaded.lock().expect("not poisoned").contains(&sha) {
            return Ok(sha);
        }
        let text = base64::engine::general_purpose::STANDARD.encode(bytes);
        self.browser
            .client
            .execute(
                "window.llmosUpload = []; window.llmosComponents = window.llmosComponents || {};",
                vec![],
            )
            .await?;
        for chunk in text.as_bytes().chunks(UPLOAD_CHUNK) {
            let chunk = std::str::from_utf8(chunk).expect("base64 is ASCII");
            self.browser
                .client
                .execute(
                    "window.llmosUpload.push(Uint8Array.from(atob(arguments[0]), (c) => c.charCodeAt(0)));",
                    vec![json!(chunk)],
                )
                .await?;
        }
        let size = self
            .browser
            .client
            .execute(
                "const parts = window.llmosUpload; window.llmosUpload = [];
                 const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
                 let at = 0;
                 for (const p of parts) { all.set(p, at); at += p.length; }
                 window.llmosComponents[arguments[0]] = all;
                 return all.length;",
                vec![json!(sha)],
            )
            .await?;
        if size != json!(bytes.len()) {
            bail!(
                "the page holds {size} bytes of a {}-byte component",
                bytes.len()
            );
        }
        self.uploaded
            .lock()
            .expect("not poisoned")
            .insert(sha.clone());
        Ok(sha)
    }

    /// Runs `bytes` in the page's component worker with `request` (the
    /// hook's `runComponent` request; `sha256` is filled in) and returns
    /// the hook's answer.
    pub async fn answer(&self, bytes: &[u8], mut request: Value) -> anyhow::Result<Value> {
        let sha = self.upload(bytes).await?;
        request["sha256"] = json!(sha);
        let answer = self
            .browser
            .client
            .execute_async(
                r#"const [request, sha, done] = arguments;
                window.llmosRuntimes.runComponent(request, window.llmosComponents[sha])
                  .then(done, (e) => done(JSON.stringify({ok: false, error: {message: String(e)}})));"#,
                vec![Value::String(request.to_string()), json!(sha)],
            )
            .await?;
        let text = answer.as_str().context("the hook answered no text")?;
        Ok(serde_json::from_str(text)?)
    }

    /// Starts a run without waiting for it: its answer lands in
    /// `window.llmosPending[node_id]` (a JSON string) when it ends.
    pub async fn start_run(&self, bytes: &[u8], mut request: Value) -> anyhow::Result<()> {
        let sha = self.upload(bytes).await?;
        request["sha256"] = json!(sha);
        let node = request["node_id"].as_str().unwrap_or_default().to_owned();
        self.browser
            .client
            .execute(
                r#"const [request, sha, node] = arguments;
                window.llmosPending = window.llmosPending || {};
                window.llmosPending[node] = null;
                window.llmosRuntimes.runComponent(request, window.llmosComponents[sha])
                  .then((a) => { window.llmosPending[node] = a; });"#,
                vec![Value::String(request.to_string()), json!(sha), json!(node)],
            )
            .await?;
        Ok(())
    }

    /// The answer of a run started with [`ComponentPage::start_run`], if
    /// it has ended.
    pub async fn pending_answer(&self, node_id: &str) -> anyhow::Result<Option<Value>> {
        let value = self
            .browser
            .client
            .execute(
                "return (window.llmosPending || {})[arguments[0]] || null;",
                vec![json!(node_id)],
            )
            .await?;
        Ok(match value.as_str() {
            Some(text) => Some(serde_json::from_str(text)?),
            None => None,
        })
    }

    /// The outputs JSON text the browser computes for `bytes` on
    /// `inputs_json`, exactly as the worker wrote it.
    pub async fn outputs_text(&self, bytes: &[u8], inputs_json: &str) -> anyhow::Result<String> {
        let inputs: Value = serde_json::from_str(inputs_json).context("inputs are JSON")?;
        let answer = self
            .answer(bytes, json!({"node_id": "component", "inputs": inputs}))
            .await?;
        if answer["ok"] != true {
            bail!("the component failed in the browser: {answer:#}");
        }
        answer["outputs_text"]
            .as_str()
            .map(str::to_owned)
            .context("the answer has no outputs text")
    }

    pub async fn close(self) {
        self.browser.close().await;
    }
}

/// The outputs JSON text the browser's component worker computes for a
/// component on `inputs_json` (a JSON object), on a fresh app and browser.
/// Tests with many cases keep one [`ComponentPage`] instead.
pub fn run_in_browser(component_bytes: &[u8], inputs_json: &str) -> anyhow::Result<String> {
    let (host, token) = browser_support::start_app();
    browser_support::block_on(async {
        let page = ComponentPage::open(&host, &token, None).await?;
        let text = page.outputs_text(component_bytes, inputs_json).await;
        page.close().await;
        text
    })
}
