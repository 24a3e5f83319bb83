//! Support for the browser tests: the real `llmos up` serving the app and
//! its built workbench, a real headless Chromium driven over WebDriver
//! (chromedriver + fantoccini, plain HTTP on loopback), and helpers that
//! speak the workbench's language (drop a skill, find a port, read the
//! canvas status).
//!
//! Build first (from the workspace root): `./dev build` (the host, the
//! components and the workbench).
//!
//! Chromium and chromedriver come from Debian (`chromium`,
//! `chromium-driver`; `./dev setup` installs them). `CHROME_BIN` and
//! `CHROMEDRIVER` override their paths.
//!
//! The canvas is one `<canvas>` element, so tests find nodes and ports by
//! geometry: the element's `data-scale`, `data-ox` and `data-oy` give the
//! view (`screen = world · scale + offset`), the inspector gives a node's
//! world position, and [`NODE_WIDTH`], [`HEADER`], [`TOP_PAD`] and [`ROW`]
//! repeat the layout of `frontend/src/graph/scene.rs`.

#![allow(dead_code)] // Each test binary uses a different part.

use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{
    InputSource, KeyAction, KeyActions, MOUSE_BUTTON_LEFT, MouseActions, PointerAction,
};
use fantoccini::key::Key;
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use llmos_tests::{APP_BUILD_COMMAND, Host, HostConfig, app_manifest, target_dir, workspace_root};
use serde_json::{Value, json};

/// Layout of a node box on the canvas, in world units (see the module docs).
pub const NODE_WIDTH: f64 = 190.0;
pub const HEADER: f64 = 26.0;
pub const TOP_PAD: f64 = 4.0;
pub const ROW: f64 = 18.0;

/// The viewport the workbench is designed for.
pub const VIEWPORT: (u32, u32) = (1280, 800);

/// How long to wait for the page to show something.
const WAIT: Duration = Duration::from_secs(20);

/// The app's `spin.toml` with its built components and `frontend/dist`.
pub fn app() -> HostConfig {
    let wasm = workspace_root().join("frontend/dist/pkg/llmos_frontend_bg.wasm");
    assert!(
        wasm.is_file(),
        "{} is missing; build the app first with:\n    {APP_BUILD_COMMAND}",
        wasm.display()
    );
    HostConfig::new(app_manifest())
}

/// Starts the app and issues a token for `alice` (team `core`).
pub fn start_app() -> (Host, String) {
    let host = app().start();
    let token = host.create_token("alice", &["core"], "user");
    (host, token)
}

/// Whether `route` is served by the app, or still a placeholder answering
/// 501 `not-implemented`. Tests of features whose API component is a
/// placeholder in this build say so and stop there; with the component
/// implemented they run in full.
pub fn implemented(host: &Host, token: &str, path: &str) -> bool {
    let reply = Reply::get(host, token, path);
    let placeholder = reply.0 == 501;
    if placeholder {
        eprintln!(
            "SKIPPED: {path} answers 501 not-implemented on this build; the steps that need it do not run"
        );
    }
    !placeholder
}

/// `(status, body)` of an authenticated API request.
pub struct Reply(pub u16, pub Value);

impl Reply {
    pub fn get(host: &Host, token: &str, path: &str) -> Reply {
        let r = host
            .request(reqwest::Method::GET, path)
            .bearer_auth(token)
            .send()
            .expect("API request");
        let status = r.status().as_u16();
        Reply(status, r.json().unwrap_or(Value::Null))
    }
}

/// A path under `target/test-artifacts/` for a screenshot or report.
pub fn artifact(name: &str) -> PathBuf {
    let dir = target_dir().join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("cannot create target/test-artifacts");
    dir.join(name)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

/// A chromedriver process and a browser session.
pub struct Browser {
    pub client: Client,
    driver: Child,
    profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a fresh headless Chromium whose viewport is
    /// [`VIEWPORT`].
    pub async fn start() -> Browser {
        let chromium = std::env::var("CHROME_BIN").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let driver_bin =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        assert!(
            std::path::Path::new(&chromium).is_file()
                && std::path::Path::new(&driver_bin).is_file(),
            "chromium or chromedriver is missing: apt-get install chromium chromium-driver (./dev setup)"
        );
        let port = free_port();
        // In a process group of its own, so that the browser it starts
        // goes with it even when a failing test never closes the session.
        let driver = Command::new(&driver_bin)
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start chromedriver");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < WAIT, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let mut caps = Capabilities::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--use-angle=swiftshader",
                    "--enable-unsafe-swiftshader",
                    format!("--user-data-dir={}", profile.path().display()),
                    format!("--window-size={},{}", VIEWPORT.0, VIEWPORT.1),
                ],
            }),
        );
        caps.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
        let downloads = profile.path().join("downloads");
        std::fs::create_dir_all(&downloads).expect("downloads dir");
        caps.get_mut("goog:chromeOptions")
            .and_then(Value::as_object_mut)
            .expect("chrome options")
            .insert(
                "prefs".into(),
                json!({
                    "download.default_directory": downloads,
                    "download.prompt_for_download": false,
                }),
            );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("cannot open a WebDriver session");
        let browser = Browser {
            client,
            driver,
            profile,
        };
        browser.fit_viewport().await;
        browser
    }

    /// Sizes the window so that the page's viewport is [`VIEWPORT`]
    /// (the window size includes the browser's own frame).
    async fn fit_viewport(&self) {
        let chrome: Vec<u32> = serde_json::from_value(
            self.client
                .execute(
                    "return [outerWidth - innerWidth, outerHeight - innerHeight]",
                    vec![],
                )
                .await
                .expect("window metrics"),
        )
        .expect("two numbers");
        self.client
            .set_window_size(VIEWPORT.0 + chrome[0], VIEWPORT.1 + chrome[1])
            .await
            .expect("set window size");
    }

    /// Where the browser saves downloads.
    pub fn downloads(&self) -> PathBuf {
        self.profile.path().join("downloads")
    }

    /// Waits for a finished download whose name ends with `suffix`.
    pub async fn downloaded(&self, suffix: &str) -> PathBuf {
        let started = Instant::now();
        loop {
            let found = std::fs::read_dir(self.downloads())
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .find(|p| p.to_string_lossy().ends_with(suffix));
            if let Some(path) = found {
                return path;
            }
            assert!(started.elapsed() < WAIT, "no download ending in {suffix}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn close(self) {
        let _ = self.client.clone().close().await;
        // Drop kills what is left.
    }

    /// Kills chromedriver and every browser process it started.
    fn kill_all(&mut self) {
        if let Ok(pid) = i32::try_from(self.driver.id()) {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// chromedriver's browser log (`goog:loggingPrefs`), which fantoccini does
/// not wrap.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}

/// The canvas view: where world point `(x, y)` is on screen.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
pub struct CanvasView {
    /// The canvas's top-left corner in the viewport.
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
    pub scale: f64,
    pub ox: f64,
    pub oy: f64,
    pub frames: u64,
}

impl CanvasView {
    /// Viewport coordinates of a world point, rounded to whole pixels as
    /// WebDriver pointer actions are.
    pub fn screen(&self, (x, y): (f64, f64)) -> (f64, f64) {
        (
            (self.left + x * self.scale + self.ox).round(),
            (self.top + y * self.scale + self.oy).round(),
        )
    }
}

/// Which side of a node a port is on.
#[derive(Debug, Clone, Copy)]
pub enum Side {
    Input,
    Output,
}

/// The workbench page in a browser.
pub struct Workbench<'a> {
    pub c: &'a Client,
    pub base: String,
}

impl<'a> Workbench<'a> {
    /// Opens the page with the token in the URL (as `llmos up` prints it)
    /// and waits for the canvas.
    pub async fn open(c: &'a Client, host: &Host, token: &str) -> Workbench<'a> {
        let page = Workbench {
            c,
            base: host.url(""),
        };
        c.goto(&host.url(&format!("/?token={token}")))
            .await
            .expect("open the page");
        page.wait_for("#canvas-status").await;
        // The library changes shape when the skills arrive; wait for them
        // (or for their failure) before pointing at anything.
        page.wait_for("#node-library[data-skills='ready'], #node-library[data-skills='failed']")
            .await;
        page
    }

    pub async fn js<T: serde::de::DeserializeOwned>(&self, script: &str) -> T {
        let value = self
            .c
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"));
        serde_json::from_value(value.clone())
            .unwrap_or_else(|e| panic!("unexpected script result {value}: {e}"))
    }

    pub async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        self.c
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} never appeared: {e}"))
    }

    /// The text of the first element matching `css`, or `""`.
    pub async fn text(&self, css: &str) -> String {
        match self.c.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Waits until the text of `css` satisfies `ok`; returns it.
    pub async fn wait_text(&self, css: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let text = self.text(css).await;
            if ok(&text) {
                return text;
            }
            assert!(
                started.elapsed() < WAIT,
                "{css} never showed {what}; it shows {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks the element matching `css`, finding it again if the page
    /// re-rendered it between finding and clicking (a stale element).
    pub async fn click(&self, css: &str) {
        let started = Instant::now();
        loop {
            match self.wait_for(css).await.click().await {
                Ok(_) => return,
                Err(e) if e.to_string().contains("stale element") && started.elapsed() < WAIT => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("click {css}: {e}"),
            }
        }
    }

    /// Types into a field and leaves it with Tab (which commits params).
    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.wait_for(css).await;
        e.send_keys(text).await.expect("type");
        e.send_keys(&char::from(Key::Tab).to_string())
            .await
            .expect("tab");
    }

    /// The canvas status line: `N nodes · M edges · …`.
    pub async fn status(&self) -> String {
        self.text("#canvas-status").await
    }

    /// Waits until the canvas status starts with `prefix`.
    pub async fn wait_status(&self, prefix: &str) -> String {
        self.wait_text("#canvas-status", prefix, |t| t.starts_with(prefix))
            .await
    }

    pub async fn canvas(&self) -> CanvasView {
        self.js("const c = document.getElementById('workflow-canvas');
             const r = c.getBoundingClientRect();
             return {left: r.left, top: r.top, width: r.width, height: r.height,
                     scale: +c.dataset.scale, ox: +c.dataset.ox, oy: +c.dataset.oy,
                     frames: +(c.dataset.frames || 0)};")
            .await
    }

    /// Presses at `from`, moves to `to` in `steps` pointer moves, releases.
    pub async fn drag(&self, from: (f64, f64), to: (f64, f64), steps: u32) {
        let mut mouse = MouseActions::new("mouse".into())
            .then(PointerAction::MoveTo {
                duration: None,
                x: from.0.round(),
                y: from.1.round(),
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            });
        for i in 1..=steps {
            let t = f64::from(i) / f64::from(steps);
            mouse = mouse.then(PointerAction::MoveTo {
                duration: Some(Duration::from_millis(16)),
                x: (from.0 + (to.0 - from.0) * t).round(),
                y: (from.1 + (to.1 - from.1) * t).round(),
            });
        }
        mouse = mouse.then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
        self.c
            .perform_actions(mouse)
            .await
            .expect("pointer actions");
        self.c.release_actions().await.expect("release actions");
    }

    /// A click at a viewport point.
    pub async fn click_at(&self, at: (f64, f64)) {
        self.drag(at, at, 1).await;
    }

    /// Presses a chord: every key down in order, then up in reverse.
    pub async fn chord(&self, keys: &[Key]) {
        let mut kb = KeyActions::new("keyboard".into());
        for k in keys {
            kb = kb.then(KeyAction::Down {
                value: char::from(*k),
            });
        }
        for k in keys.iter().rev() {
            kb = kb.then(KeyAction::Up {
                value: char::from(*k),
            });
        }
        self.c.perform_actions(kb).await.expect("key actions");
        self.c.release_actions().await.expect("release actions");
    }

    /// Presses a chord of modifiers with a character key.
    pub async fn shortcut(&self, modifiers: &[Key], key: char) {
        let mut kb = KeyActions::new("keyboard".into());
        for k in modifiers {
            kb = kb.then(KeyAction::Down {
                value: char::from(*k),
            });
        }
        kb = kb
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
        for k in modifiers.iter().rev() {
            kb = kb.then(KeyAction::Up {
                value: char::from(*k),
            });
        }
        self.c.perform_actions(kb).await.expect("key actions");
        self.c.release_actions().await.expect("release actions");
    }

    /// The centre of a library entry, scrolled into view.
    pub async fn library_item(&self, skill_id: &str) -> (f64, f64) {
        self.wait_for(&format!("#node-library [data-skill='{skill_id}']"))
            .await;
        self.js(&format!(
            "const e = document.querySelector(`#node-library [data-skill='{skill_id}']`);
             e.scrollIntoView({{block: 'center'}});
             const r = e.getBoundingClientRect();
             return [r.left + r.width / 2, r.top + r.height / 2];"
        ))
        .await
    }

    /// Drags a skill from the library onto the canvas at `at` (relative to
    /// the canvas's top-left corner); returns the new node's id and world
    /// position as the inspector shows them.
    pub async fn drop_skill(&self, skill_id: &str, at: (f64, f64)) -> (String, (f64, f64)) {
        let from = self.library_item(skill_id).await;
        let view = self.canvas().await;
        let before = self.node_count().await;
        self.drag(from, (view.left + at.0, view.top + at.1), 12)
            .await;
        self.wait_text("#canvas-status", "one more node", |t| {
            count(t, "nodes") == Some(before + 1)
        })
        .await;
        let id = self
            .wait_text("#inspector-node-id", "the new node", |t| !t.is_empty())
            .await;
        let about = self.text("#inspector .insp-head .muted").await;
        assert!(
            about.contains(skill_id),
            "dropped a node of another skill: {about}"
        );
        let at = self.text("#inspector-position").await;
        (id, parse_position(&at))
    }

    /// Viewport coordinates of a port of a node at world position `node`.
    pub async fn port(&self, node: (f64, f64), side: Side, row: usize) -> (f64, f64) {
        let view = self.canvas().await;
        let x = match side {
            Side::Input => node.0,
            Side::Output => node.0 + NODE_WIDTH,
        };
        let y = node.1 + HEADER + TOP_PAD + ROW * (row as f64 + 0.5);
        view.screen((x, y))
    }

    /// Drags a connection from an output port to an input port.
    pub async fn connect(&self, from: ((f64, f64), usize), to: ((f64, f64), usize)) {
        let a = self.port(from.0, Side::Output, from.1).await;
        let b = self.port(to.0, Side::Input, to.1).await;
        self.drag(a, b, 10).await;
    }

    /// Clicks a node's title band (selects it).
    pub async fn select_node(&self, node: (f64, f64)) {
        let view = self.canvas().await;
        let at = view.screen((node.0 + NODE_WIDTH / 2.0, node.1 + HEADER / 2.0));
        self.click_at(at).await;
    }

    pub async fn node_count(&self) -> usize {
        count(&self.status().await, "nodes").unwrap_or(0)
    }

    pub async fn edge_count(&self) -> usize {
        count(&self.status().await, "edges").unwrap_or(0)
    }

    /// Severe entries of the browser's console since the last call
    /// (uncaught errors, `console.error`, failed loads).
    pub async fn console_errors(&self) -> Vec<String> {
        let log = self.c.issue_cmd(BrowserLog).await.expect("browser log");
        log.as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| {
                format!(
                    "{}: {}",
                    e["source"].as_str().unwrap_or("?"),
                    e["message"].as_str().unwrap_or("?")
                )
            })
            .collect()
    }

    /// Every URL the page has loaded or fetched (resource timing).
    pub async fn requested_urls(&self) -> Vec<String> {
        self.js(
            "return [location.href].concat(performance.getEntriesByType('resource').map(e => e.name));",
        )
        .await
    }

    pub async fn screenshot(&self, name: &str) {
        let png = self.c.screenshot().await.expect("screenshot");
        std::fs::write(artifact(&format!("{name}.png")), png).expect("write screenshot");
    }

    /// Opens a side tab of the workbench (`node`, `run`, `chat`, `workflows`).
    pub async fn side_tab(&self, tab: &str) {
        self.click(&format!("#tab-{tab}")).await;
    }

    /// Imports a workflow file through the Files tab's file input.
    pub async fn import_file(&self, path: &std::path::Path) {
        self.side_tab("workflows").await;
        let input = self.wait_for("#import-file").await;
        input
            .send_keys(&path.display().to_string())
            .await
            .expect("choose the file");
    }
}

/// `n` from `n <label>` in a status line such as `3 nodes · 2 edges`.
pub fn count(status: &str, label: &str) -> Option<usize> {
    status.split(" · ").find_map(|part| {
        let (n, rest) = part.split_once(' ')?;
        (rest == label || rest == label.trim_end_matches('s'))
            .then(|| n.parse().ok())
            .flatten()
    })
}

/// `(x, y)` from the inspector's `at (x, y)`.
pub fn parse_position(text: &str) -> (f64, f64) {
    let inner = text
        .trim()
        .strip_prefix("at (")
        .and_then(|t| t.strip_suffix(')'))
        .unwrap_or_else(|| panic!("not a position: {text:?}"));
    let (x, y) = inner.split_once(", ").expect("two coordinates");
    (x.parse().expect("x"), y.parse().expect("y"))
}

/// Runs an async test body on a current-thread runtime (the host's
/// blocking HTTP client must not run inside it).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}
