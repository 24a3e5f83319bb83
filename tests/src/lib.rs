//! Support for the end-to-end tests: starting the real `llmos` host on a
//! free loopback port, talking HTTP to it, and a loopback test server for
//! outbound requests.
//!
//! The tests run prebuilt artifacts and never invoke cargo themselves. Build
//! them first (from the workspace root):
//!
//! ```text
//! cargo build --release -p llmos-host
//! cargo build --target wasm32-wasip2 --release -p probe
//! ```
//!
//! `LLMOS_BIN` overrides the host binary (default
//! `target/release/llmos`), `LLMOS_TARGET_DIR` the target directory.
//!
//! [`Host::start`] runs `llmos up --listen 127.0.0.1:0` with a temporary data
//! dir, reads the bound address from the first stdout line
//! (`Serving http://<addr>`), and waits until the host answers. A host can be
//! stopped gracefully (SIGTERM), killed (SIGKILL) and restarted on the same
//! data dir. All traffic stays on 127.0.0.1.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

pub mod mock_llm;

/// The commands that build what the tests run.
pub const BUILD_COMMANDS: &str = "cargo build --release -p llmos-host && cargo build --target wasm32-wasip2 --release -p probe \
     -p workflow-skill -p skill-square -p skill-fixture";

/// How long a host may take to start (first starts compile components).
const START_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a graceful stop may take before the host is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// Safety net for one HTTP exchange, so a hung request fails the test
/// instead of hanging it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// The workspace root (the parent of this package).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(Path::to_owned)
        .unwrap_or_else(|| manifest_dir.to_owned())
}

/// The cargo target directory.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("LLMOS_TARGET_DIR").or_else(|| std::env::var_os("CARGO_TARGET_DIR")) {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            }
        }
        None => workspace_root().join("target"),
    }
}

/// The `llmos` binary; panics with the build command when it is missing.
pub fn llmos_binary() -> PathBuf {
    let path = std::env::var_os("LLMOS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("release").join("llmos"));
    require_file(&path);
    path
}

/// The probe test component; panics with the build command when missing.
pub fn probe_wasm() -> PathBuf {
    let path = target_dir()
        .join("wasm32-wasip2")
        .join("release")
        .join("probe.wasm");
    require_file(&path);
    path
}

/// The bytes of a test component under `tests/components/` (`package`
/// as Cargo names it, e.g. `skill-square`); panics with the build command
/// when it is missing.
pub fn test_component(package: &str) -> Vec<u8> {
    let path = target_dir()
        .join("wasm32-wasip2")
        .join("release")
        .join(format!("{}.wasm", package.replace('-', "_")));
    require_file(&path);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn require_file(path: &Path) {
    assert!(
        path.is_file(),
        "{} is missing; build the test artifacts first with:\n    {BUILD_COMMANDS}",
        path.display()
    );
}

/// A checked-in test manifest under `tests/manifests/`.
pub fn test_manifest(name: &str) -> PathBuf {
    let path = workspace_root()
        .join("tests")
        .join("manifests")
        .join(name)
        .join("spin.toml");
    assert!(path.is_file(), "no test manifest {}", path.display());
    probe_wasm();
    path
}

/// The command that builds the whole app (components and frontend).
pub const APP_BUILD_COMMAND: &str = "./dev build";

/// The app's own `spin.toml`, after checking that what it serves is built:
/// every component's `.wasm` and the frontend in `frontend/dist`.
pub fn app_manifest() -> PathBuf {
    let root = workspace_root();
    let wasm_dir = target_dir().join("wasm32-wasip2").join("release");
    for component in ["auth", "chat", "evolve", "skills", "web", "workflows"] {
        let path = wasm_dir.join(format!("{component}.wasm"));
        assert!(
            path.is_file(),
            "{} is missing; build the app first with:\n    {APP_BUILD_COMMAND}",
            path.display()
        );
    }
    let index = root.join("frontend").join("dist").join("index.html");
    assert!(
        index.is_file(),
        "{} is missing; build the app first with:\n    {APP_BUILD_COMMAND}",
        index.display()
    );
    llmos_binary();
    root.join("spin.toml")
}

/// Runs `llmos` with `args` to completion.
pub fn run_llmos(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(llmos_binary());
    command.args(args).stdin(Stdio::null());
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("cannot run llmos")
}

/// How to start a host.
#[derive(Clone, Debug)]
pub struct HostConfig {
    manifest: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    removed_env: Vec<String>,
    build: bool,
}

impl HostConfig {
    /// A host for `manifest` with default options.
    pub fn new(manifest: impl Into<PathBuf>) -> Self {
        HostConfig {
            manifest: manifest.into(),
            args: Vec::new(),
            env: Vec::new(),
            // Variables of the developer's shell must not leak into tests.
            // Backtrace capture makes every error the host creates costly,
            // which skews benchmarks.
            removed_env: vec![
                "LLMOS_ADMIN_TOKEN".to_owned(),
                "LLMOS_VOLUMES_PATH".to_owned(),
                "ANTHROPIC_API_KEY".to_owned(),
                "RUST_BACKTRACE".to_owned(),
                "RUST_LIB_BACKTRACE".to_owned(),
                "LLMOS_SKILL_BUILDER_URL".to_owned(),
                "SPIN_VARIABLE_SKILL_BUILDER_URL".to_owned(),
                "LLMOS_SKILL_FUEL".to_owned(),
                "LLMOS_SKILL_MEMORY_MIB".to_owned(),
            ],
            build: false,
        }
    }

    /// Lets `llmos up` build stale components first (the default for users;
    /// tests run prebuilt components with `--no-build` otherwise).
    pub fn with_build(mut self) -> Self {
        self.build = true;
        self
    }

    /// Adds command-line arguments after `llmos up`.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Sets an environment variable of the host process.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let key = key.into();
        self.removed_env.retain(|k| *k != key);
        self.env.push((key, value.into()));
        self
    }

    /// Starts the host with a fresh temporary data dir.
    pub fn start(self) -> Host {
        let data = tempfile::tempdir().expect("cannot create a data dir");
        let data_dir = data.path().to_owned();
        Host::spawn(self, data_dir, Some(data)).unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// Starts the host on an existing data dir.
    pub fn start_in(self, data_dir: &Path) -> Host {
        Host::spawn(self, data_dir.to_owned(), None).unwrap_or_else(|e| panic!("{e:#}"))
    }
}

/// A running `llmos up`.
pub struct Host {
    child: Option<Child>,
    addr: SocketAddr,
    config: HostConfig,
    data_dir: PathBuf,
    temp: Option<tempfile::TempDir>,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    client: reqwest::blocking::Client,
}

impl Host {
    /// Starts `llmos up` for `manifest` with default options.
    pub fn start(manifest: impl Into<PathBuf>) -> Host {
        HostConfig::new(manifest).start()
    }

    fn spawn(
        config: HostConfig,
        data_dir: PathBuf,
        temp: Option<tempfile::TempDir>,
    ) -> anyhow::Result<Host> {
        let mut command = Command::new(llmos_binary());
        command
            .arg("up")
            .arg("--from")
            .arg(&config.manifest)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(&data_dir)
            .args(if config.build {
                None
            } else {
                Some("--no-build")
            })
            .args(&config.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for key in &config.removed_env {
            command.env_remove(key);
        }
        for (key, value) in &config.env {
            command.env(key, value);
        }
        let mut child = command.spawn().context("cannot start llmos")?;

        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = mpsc::channel();
        let out = child.stdout.take().context("no stdout")?;
        let err = child.stderr.take().context("no stderr")?;
        collect_lines(out, stdout.clone(), Some(addr_tx));
        collect_lines(err, stderr.clone(), None);

        let started = Instant::now();
        let addr = loop {
            match addr_rx.recv_timeout(Duration::from_millis(100)) {
                Ok(addr) => break addr,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let _ = child.wait();
                    bail!(
                        "llmos exited before serving:\n{}",
                        stderr.lock().map(|l| l.join("\n")).unwrap_or_default()
                    );
                }
            }
            if let Some(status) = child.try_wait()? {
                // Let the readers drain what the process wrote.
                std::thread::sleep(Duration::from_millis(100));
                bail!(
                    "llmos exited ({status}) before serving:\n{}",
                    stderr.lock().map(|l| l.join("\n")).unwrap_or_default()
                );
            }
            if started.elapsed() > START_TIMEOUT {
                let _ = child.kill();
                bail!("llmos did not start within {START_TIMEOUT:?}");
            }
        };

        let client = reqwest::blocking::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .no_proxy()
            .build()
            .context("cannot build the HTTP client")?;
        let host = Host {
            child: Some(child),
            addr,
            config,
            data_dir,
            temp,
            stdout,
            stderr,
            client,
        };
        host.wait_ready()?;
        Ok(host)
    }

    fn wait_ready(&self) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            if let Ok(reply) = self.client.get(self.url("/.well-known/spin/health")).send()
                && reply.status().is_success()
            {
                return Ok(());
            }
            if started.elapsed() > START_TIMEOUT {
                bail!("llmos at {} never became ready", self.addr);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The data dir.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// `http://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Everything the host printed on stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().map(|l| l.join("\n")).unwrap_or_default()
    }

    /// Everything the host printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|l| l.join("\n")).unwrap_or_default()
    }

    /// The admin token from the printed workbench URL, if any.
    pub fn printed_admin_token(&self) -> Option<String> {
        let stdout = self.stdout();
        stdout.lines().find_map(|line| {
            line.split_once("/?token=")
                .map(|(_, t)| t.trim().to_owned())
        })
    }

    /// Issues an API token with `llmos token create` on this host's app and
    /// data dir (so the same admin token applies) and returns it.
    pub fn create_token(&self, user: &str, teams: &[&str], role: &str) -> String {
        let mut command = Command::new(llmos_binary());
        command
            .args(["token", "create", "--user", user, "--role", role, "--from"])
            .arg(&self.config.manifest)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .stdin(Stdio::null());
        for team in teams {
            command.args(["--team", team]);
        }
        for key in &self.config.removed_env {
            command.env_remove(key);
        }
        for (key, value) in &self.config.env {
            command.env(key, value);
        }
        let output = command.output().expect("cannot run llmos token create");
        assert!(
            output.status.success(),
            "llmos token create failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// A request builder for `method` on `path`.
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::blocking::RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Reply {
        Reply::from(self.request(reqwest::Method::GET, path).send())
    }

    /// `POST path` with a body.
    pub fn post(&self, path: &str, body: impl Into<reqwest::blocking::Body>) -> Reply {
        Reply::from(self.request(reqwest::Method::POST, path).body(body).send())
    }

    /// `PUT path` with a body.
    pub fn put(&self, path: &str, body: impl Into<reqwest::blocking::Body>) -> Reply {
        Reply::from(self.request(reqwest::Method::PUT, path).body(body).send())
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> Reply {
        Reply::from(self.request(reqwest::Method::DELETE, path).send())
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Stops the host with SIGTERM, killing it if it does not exit in time.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(pid) = i32::try_from(child.id()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        let started = Instant::now();
        while started.elapsed() < STOP_TIMEOUT {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Kills the host with SIGKILL (no chance to clean up).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the host and starts it again on the same data dir and options.
    pub fn restart(mut self) -> Host {
        self.stop();
        self.respawn()
    }

    /// Kills the host with SIGKILL and starts it again on the same data dir.
    pub fn kill_and_restart(mut self) -> Host {
        self.kill();
        self.respawn()
    }

    fn respawn(mut self) -> Host {
        let temp = self.temp.take();
        let config = self.config.clone();
        let data_dir = self.data_dir.clone();
        Host::spawn(config, data_dir, temp).unwrap_or_else(|e| panic!("{e:#}"))
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.kill();
    }
}

fn collect_lines(
    stream: impl std::io::Read + Send + 'static,
    sink: Arc<Mutex<Vec<String>>>,
    addr: Option<mpsc::Sender<SocketAddr>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if let Some(tx) = &addr
                && let Some(rest) = line.strip_prefix("Serving http://")
                && let Ok(parsed) = rest.trim().parse()
            {
                let _ = tx.send(parsed);
            }
            if let Ok(mut lines) = sink.lock() {
                lines.push(line);
            }
        }
    });
}

/// A response, read completely.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers, lower-case names; repeated headers keep the last value.
    pub headers: HashMap<String, String>,
    /// Body as text (lossy).
    pub body: String,
}

impl Reply {
    /// The body parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }

    /// A header value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// A response's headers by lower-case name (the last of repeated ones).
pub fn response_headers(response: &reqwest::blocking::Response) -> HashMap<String, String> {
    response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

impl From<reqwest::Result<reqwest::blocking::Response>> for Reply {
    fn from(result: reqwest::Result<reqwest::blocking::Response>) -> Self {
        let response = result.unwrap_or_else(|e| panic!("request failed: {e}"));
        let status = response.status().as_u16();
        let headers = response_headers(&response);
        let body = response
            .text()
            .unwrap_or_else(|e| panic!("cannot read the body: {e}"));
        Reply {
            status,
            headers,
            body,
        }
    }
}

/// A loopback HTTP/1.1 server answering every request with a fixed status
/// and body, and counting what it received.
pub struct TestServer {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    paths: Arc<Mutex<Vec<String>>>,
}

impl TestServer {
    /// Starts a server on 127.0.0.1 with a free port.
    pub fn start(status: u16, body: &str) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("cannot bind a test server");
        let addr = listener.local_addr().expect("no local address");
        let hits = Arc::new(AtomicUsize::new(0));
        let paths = Arc::new(Mutex::new(Vec::new()));
        let body = body.to_owned();
        let (hits_in, paths_in) = (hits.clone(), paths.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let body = body.clone();
                let hits = hits_in.clone();
                let paths = paths_in.clone();
                std::thread::spawn(move || {
                    // The request is counted before the answer is written,
                    // so a caller that has read the answer sees the count.
                    answer(stream, status, &body, |path| {
                        hits.fetch_add(1, Ordering::SeqCst);
                        if let Ok(mut p) = paths.lock() {
                            p.push(path);
                        }
                    });
                });
            }
        });
        TestServer { addr, hits, paths }
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// How many requests it has answered.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// The request targets it received.
    pub fn paths(&self) -> Vec<String> {
        self.paths.lock().map(|p| p.clone()).unwrap_or_default()
    }
}

/// Reads one request, hands its target to `record`, then answers it.
fn answer(
    mut stream: TcpStream,
    status: u16,
    body: &str,
    record: impl FnOnce(String),
) -> Option<()> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
        if head.len() > 64 * 1024 {
            return None;
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let target = head.split_whitespace().nth(1)?.to_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut request_body = vec![0u8; length];
    stream.read_exact(&mut request_body).ok()?;
    record(target);
    let response = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).ok()
}

/// A scratch directory with a generated manifest, for tests that need an
/// app shaped for them. `{probe}` in the text is replaced with the absolute
/// path of the probe component.
pub struct ScratchApp {
    dir: tempfile::TempDir,
}

impl ScratchApp {
    /// Writes `spin.toml` with `text`.
    pub fn new(text: &str) -> ScratchApp {
        let dir = tempfile::tempdir().expect("cannot create a scratch dir");
        let probe = probe_wasm();
        let text = text.replace("{probe}", &probe.to_string_lossy());
        std::fs::write(dir.path().join("spin.toml"), text).expect("cannot write spin.toml");
        ScratchApp { dir }
    }

    /// The scratch directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The manifest path.
    pub fn manifest(&self) -> PathBuf {
        self.dir.path().join("spin.toml")
    }

    /// Writes a file next to the manifest.
    pub fn write(&self, relative: &str, content: &str) {
        let path = self.dir.path().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("cannot create a directory");
        }
        std::fs::write(path, content).expect("cannot write a file");
    }
}

/// Polls `check` every 100 ms until it returns `Some`, for at most `limit`.
/// The limit is a safety net against hangs, not a performance assertion.
pub fn poll<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let started = Instant::now();
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if started.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
