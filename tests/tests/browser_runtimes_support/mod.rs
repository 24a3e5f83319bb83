//! Driving the workbench's runtimes in real headless Chromium: the app runs
//! on the real host, Chromium is driven through chromedriver (WebDriver),
//! and the page's debug hook (`mountRuntimeDebug()`, see
//! `frontend/src/runtime/debug.rs`) runs skills through the page's
//! `Runner` and shows previews.
//!
//! Needs the built app (`./dev build`) and Debian's `chromium` and
//! `chromium-driver` (`./dev setup`).

#![allow(dead_code)] // Each test file uses a part of this module.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use llmos_core::skill;
use llmos_tests::{Host, target_dir, workspace_root};
use serde_json::{Value, json};

/// Chromium's flags: headless, no sandbox (containers), no background
/// traffic, and WebGL on the SwiftShader software renderer.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--window-size=1280,1000",
];

/// Longest a WebDriver script may wait (a run, Pyodide's first load).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(150);

fn binary(env: &str, default: &str) -> PathBuf {
    std::env::var_os(env).map_or_else(|| PathBuf::from(default), PathBuf::from)
}

/// Where screenshots are kept: `target/test-artifacts/`.
pub fn artifacts_dir() -> PathBuf {
    let dir = target_dir().join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("cannot create target/test-artifacts");
    dir
}

/// The whole app (`spin.toml`) on the real host.
pub fn start_app() -> Host {
    require_built_page();
    Host::start(workspace_root().join("spin.toml"))
}

fn require_built_page() {
    let dist = workspace_root().join("frontend/dist/index.html");
    assert!(
        dist.is_file(),
        "{} is missing: build the app first (./dev build)",
        dist.display()
    );
}

/// Where the build puts the Python worker's memory snapshot of Pyodide.
pub const PYTHON_SNAPSHOT: &str = "/vendor/pyodide/python-snapshot.bin.gz";

/// What [`start_app_with_snapshot`] serves at [`PYTHON_SNAPSHOT`].
#[derive(Debug, Clone, Copy)]
pub enum SnapshotFile {
    /// Nothing: a 404.
    Missing,
    /// Gzipped bytes that are not a Pyodide snapshot.
    Corrupt,
}

/// The whole app, but with its Python snapshot missing or corrupt. The
/// app's own `spin.toml` is copied into a temporary directory with links
/// to the workspace's build output, and the web component's files are
/// changed there; the temporary directory lives as long as the result.
pub fn start_app_with_snapshot(file: SnapshotFile) -> (Host, tempfile::TempDir) {
    require_built_page();
    let root = workspace_root();
    let dir = tempfile::tempdir().expect("a temporary app directory");
    for (link, to) in [
        ("target", target_dir()),
        ("frontend", root.join("frontend")),
        ("volumes", root.join("volumes")),
    ] {
        std::os::unix::fs::symlink(&to, dir.path().join(link)).expect("a symlink");
    }
    let mount = r#"files = [{ source = "frontend/dist", destination = "/dist" }]"#;
    let snapshot = format!("frontend/dist{PYTHON_SNAPSHOT}");
    let changed = match file {
        SnapshotFile::Missing => format!("{mount}\nexclude_files = [\"{snapshot}\"]"),
        SnapshotFile::Corrupt => {
            let mut gzip =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            std::io::Write::write_all(&mut gzip, &[7; 64 * 1024]).expect("gzip in memory");
            let bytes = gzip.finish().expect("gzip in memory");
            std::fs::write(dir.path().join("not-a-snapshot.bin.gz"), bytes).expect("a file");
            mount.replace(
                "}]",
                &format!(
                    "}}, {{ source = \"not-a-snapshot.bin.gz\", destination = \"/dist{PYTHON_SNAPSHOT}\" }}]"
                ),
            )
        }
    };
    let manifest = std::fs::read_to_string(root.join("spin.toml")).expect("spin.toml");
    assert!(
        manifest.contains(mount),
        "spin.toml no longer mounts the page as `{mount}`"
    );
    let manifest = manifest.replace(mount, &changed);
    std::fs::write(dir.path().join("spin.toml"), manifest).expect("a manifest");
    let host = Host::start(dir.path().join("spin.toml"));
    (host, dir)
}

/// chromedriver and one Chromium session with a fresh profile.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn start() -> anyhow::Result<Browser> {
        let chromium = binary("CHROMIUM", "/usr/bin/chromium");
        let chromedriver = binary("CHROMEDRIVER", "/usr/bin/chromedriver");
        for tool in [&chromium, &chromedriver] {
            if !tool.is_file() {
                bail!(
                    "{} is missing: apt-get install chromium chromium-driver (./dev setup)",
                    tool.display()
                );
            }
        }
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start chromedriver")?;
        let profile = tempfile::tempdir()?;
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
        });
        let capabilities = match capabilities {
            Value::Object(map) => map,
            _ => unreachable!("a JSON object literal"),
        };
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = loop {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(err) if started.elapsed() > Duration::from_secs(30) => {
                    let _ = driver.kill();
                    bail!("chromedriver did not start a session: {err}");
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        client
            .update_timeouts(TimeoutConfiguration::new(
                Some(SCRIPT_TIMEOUT),
                Some(Duration::from_secs(60)),
                None,
            ))
            .await?;
        Ok(Browser {
            client,
            driver,
            _profile: profile,
        })
    }

    /// Opens the workbench at `url`, waits until its wasm has started and
    /// mounts the runtime debug panel.
    pub async fn open_workbench(&self, url: &str) -> anyhow::Result<()> {
        self.client.goto(url).await?;
        // The workbench renders its canvas status once its wasm module runs.
        self.client
            .wait()
            .at_most(Duration::from_secs(60))
            .for_element(fantoccini::Locator::Id("canvas-status"))
            .await
            .context("the workbench did not start")?;
        let mounted = self
            .client
            .execute_async(
                r#"const done = arguments[arguments.length - 1];
                import("/pkg/llmos_frontend.js")
                  .then((m) => { m.mountRuntimeDebug(); done(typeof window.llmosRuntimes.run); })
                  .catch((e) => done(String(e)));"#,
                vec![],
            )
            .await?;
        if mounted != json!("function") {
            bail!("the runtime debug hook did not mount: {mounted}");
        }
        Ok(())
    }

    /// Runs a `RunRequest` through the page's Runner. Returns the hook's
    /// answer: `{ok: true, outputs, log, duration_ms}` or
    /// `{ok: false, error: {message, kind, log}, stopped, timed_out}`.
    pub async fn run(&self, request: &Value) -> anyhow::Result<Value> {
        let answer = self
            .client
            .execute_async(
                r#"const [request, done] = arguments;
                window.llmosRuntimes.run(request).then(done, (e) => done(JSON.stringify({ok: false, error: {message: String(e)}})));"#,
                vec![Value::String(request.to_string())],
            )
            .await?;
        let text = answer.as_str().context("the hook answered no text")?;
        Ok(serde_json::from_str(text)?)
    }

    /// Runs a script in the page and returns its value.
    pub async fn eval(&self, script: &str) -> anyhow::Result<Value> {
        Ok(self.client.execute(script, vec![]).await?)
    }

    /// Shows `value` (of `port_type`) in a preview; returns its element id.
    pub async fn preview(&self, value: &Value, port_type: &str) -> anyhow::Result<String> {
        let index = self
            .client
            .execute(
                "return window.llmosRuntimes.preview(arguments[0], arguments[1]);",
                vec![Value::String(value.to_string()), json!(port_type)],
            )
            .await?;
        Ok(format!("runtime-preview-{index}"))
    }

    /// A PNG screenshot of the element with `id`, also saved as
    /// `target/test-artifacts/<name>.png`.
    pub async fn screenshot(&self, id: &str, name: &str) -> anyhow::Result<Vec<u8>> {
        self.client
            .execute(
                "document.getElementById(arguments[0]).scrollIntoView({block: 'center'});",
                vec![json!(id)],
            )
            .await?;
        let element = self.client.find(fantoccini::Locator::Id(id)).await?;
        let png = element.screenshot().await?;
        std::fs::write(artifacts_dir().join(format!("{name}.png")), &png)?;
        Ok(png)
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Also when a test fails before close(): chromedriver ends Chromium.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A `RunRequest` for the system skill `skill_id` with `inputs`, read and
/// parsed from `volumes/system/skills/` with the real skill parser.
pub fn system_skill_request(skill_id: &str, node_id: &str, inputs: Value) -> Value {
    let path = workspace_root().join(format!("volumes/system/skills/{skill_id}.md"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let parsed = skill::parse(Some(&path.to_string_lossy()), &text).expect("a valid system skill");
    let exec = parsed.executable().expect("an executable skill");
    json!({
        "node_id": node_id,
        "skill_id": skill_id,
        "runtime": exec.runtime,
        "code": exec.code.code,
        "language": exec.code.language,
        "inputs_spec": exec.inputs,
        "outputs_spec": exec.outputs,
        "inputs": inputs,
    })
}

/// A `RunRequest` for ad-hoc code with the given outputs (`[(name, type)]`).
pub fn code_request(
    runtime: &str,
    language: &str,
    node_id: &str,
    code: &str,
    outputs: &[(&str, &str)],
) -> Value {
    let outputs: Vec<Value> = outputs
        .iter()
        .map(|(name, ty)| json!({"name": name, "type": ty}))
        .collect();
    json!({
        "node_id": node_id,
        "skill_id": node_id,
        "runtime": runtime,
        "code": code,
        "language": language,
        "inputs_spec": [],
        "outputs_spec": outputs,
        "inputs": {},
    })
}

/// The decoded RGBA pixels of a PNG.
pub fn rgba_pixels(png_bytes: &[u8]) -> (u32, u32, Vec<[u8; 4]>) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("a PNG screenshot");
    let mut buffer = vec![0; reader.output_buffer_size().expect("a sane PNG size")];
    let info = reader.next_frame(&mut buffer).expect("one PNG frame");
    let channels = info.color_type.samples();
    let pixels = buffer[..info.buffer_size()]
        .chunks(channels)
        .map(|p| match channels {
            4 => [p[0], p[1], p[2], p[3]],
            3 => [p[0], p[1], p[2], 255],
            2 => [p[0], p[0], p[0], p[1]],
            _ => [p[0], p[0], p[0], 255],
        })
        .collect();
    (info.width, info.height, pixels)
}

/// Serialises the browser tests: each loads Pyodide and renders WebGL in
/// software, which on two cores is best done one at a time.
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
