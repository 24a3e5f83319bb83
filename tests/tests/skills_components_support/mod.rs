//! Fixtures of the components-in-volumes tests: the Rust skill component
//! (`tests/components/skill-square`), components encoded
//! byte by byte that import what skills may not, the app with the builder
//! variable, and a loopback stand-in for the builder service.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use llmos_core::skill::component::write_leb_u32;

use crate::support::SkillsApp;

/// The test skill's file: `square` from `x` to `y`, as the fixture
/// component describes itself. `code` is its code block.
pub fn square_skill(code: &str) -> String {
    format!(
        "---\nskill_id: square\nname: Square\ncategory: math\ndescription: Squares a number.\n\
         keywords: [math]\ntype: wasm-component\ninputs:\n  - name: x\n    type: number\n\
         outputs:\n  - name: y\n    type: number\n---\nSquares `x`.\n\n```rust\n{code}\n```\n"
    )
}

pub const SQUARE_CODE: &str = "fn execute(x: f64) -> f64 { x * x }";

/// The bytes of the fixture component `tests/components/skill-square`.
pub fn square_wasm() -> Vec<u8> {
    llmos_tests::test_component("skill-square")
}

fn leb(n: usize, out: &mut Vec<u8>) {
    write_leb_u32(u32::try_from(n).expect("a small test section"), out);
}

fn name(text: &str, out: &mut Vec<u8>) {
    leb(text.len(), out);
    out.extend_from_slice(text.as_bytes());
}

fn section(id: u8, body: &[u8], out: &mut Vec<u8>) {
    out.push(id);
    leb(body.len(), out);
    out.extend_from_slice(body);
}

/// A component (binary format, layer 1) that imports the instance
/// `interface` with one function `function: func()` and hands it to a core
/// module: what a skill touching the filesystem or the network looks like.
/// In the text format:
///
/// ```text
/// (component
///   (import "<interface>" (instance $i (export "<function>" (func))))
///   (alias export $i "<function>" (func $f))
///   (core func $g (canon lower (func $f)))
///   (core module $m (import "x" "f" (func)))
///   (core instance $x (export "f" (func $g)))
///   (core instance (instantiate $m (with "x" (instance $x)))))
/// ```
pub fn importing(interface: &str, function: &str) -> Vec<u8> {
    let mut out = b"\0asm\x0d\x00\x01\x00".to_vec();
    // Type section: one instance type declaring `func()` and exporting it.
    let mut types = vec![1, 0x42, 2];
    types.extend_from_slice(&[0x01, 0x40, 0x00, 0x01, 0x00]);
    types.extend_from_slice(&[0x04, 0x00]);
    name(function, &mut types);
    types.extend_from_slice(&[0x01, 0x00]);
    section(7, &types, &mut out);
    // Import section: the interface, as an instance of that type.
    let mut imports = vec![1, 0x00];
    name(interface, &mut imports);
    imports.extend_from_slice(&[0x05, 0x00]);
    section(10, &imports, &mut out);
    // Alias section: the instance's function.
    let mut aliases = vec![1, 0x01, 0x00, 0x00];
    name(function, &mut aliases);
    section(6, &aliases, &mut out);
    // Canon section: lowered into a core function (no options needed).
    section(8, &[1, 0x01, 0x00, 0x00, 0x00], &mut out);
    // Core module section: a module importing one `func()`.
    let mut module = b"\0asm\x01\x00\x00\x00".to_vec();
    section(1, &[1, 0x60, 0x00, 0x00], &mut module);
    section(2, &[1, 1, b'x', 1, b'f', 0x00, 0x00], &mut module);
    section(1, &module, &mut out);
    // Core instance section: the lowered function as instance `x`, then
    // the module instantiated with it.
    let instances = [
        2, 0x01, 1, 1, b'f', 0x00, 0x00, 0x00, 0x00, 1, 1, b'x', 0x12, 0x00,
    ];
    section(2, &instances, &mut out);
    out
}

/// `component` with a custom section of `extra` bytes added: as large as
/// a Python component, and still the same component.
pub fn padded(component: &[u8], extra: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(extra + 16);
    name("padding", &mut body);
    body.extend((0..extra).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8));
    let mut out = component.to_vec();
    section(0, &body, &mut out);
    out
}

/// The skills test app with what the skills component needs to reach a
/// builder: the `skill_builder_url` variable (empty by default) and
/// loopback in `allowed_outbound_hosts`, as the app's spin.toml has them.
pub fn builder_app() -> SkillsApp {
    let app = SkillsApp::new();
    let path = app.manifest();
    let text = std::fs::read_to_string(&path).expect("manifest");
    let text = text
        .replacen(
            "admin_token = { required = true, secret = true }",
            "admin_token = { required = true, secret = true }\nskill_builder_url = { default = \"\" }",
            1,
        )
        .replacen(
            "[component.skills.variables]",
            "allowed_outbound_hosts = [\"http://127.0.0.1:*\", \"http://localhost:*\"]\n\
             [component.skills.variables]\nskill_builder_url = \"{{ skill_builder_url }}\"",
            1,
        );
    std::fs::write(&path, text).expect("write manifest");
    app
}

/// Writes a file into the app's shipped `volumes/system/skills/` (before
/// the first start).
pub fn ship(app: &SkillsApp, name: &str, bytes: &[u8]) {
    let dir = app
        .manifest()
        .parent()
        .expect("app dir")
        .join("volumes/system/skills");
    std::fs::write(dir.join(name), bytes).expect("write shipped file");
}

/// One request the stand-in builder received.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    pub method: String,
    pub target: String,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl BuildRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the stand-in answers.
pub struct BuildAnswer {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

type Handler = dyn Fn(&BuildRequest) -> BuildAnswer + Send + Sync;

/// A loopback HTTP/1.1 server answering like the builder service:
/// `handler` decides each answer; every request is recorded.
pub struct StandInBuilder {
    addr: SocketAddr,
    handler: Arc<Mutex<Arc<Handler>>>,
    requests: Arc<Mutex<Vec<BuildRequest>>>,
    stopped: Arc<AtomicBool>,
}

impl StandInBuilder {
    pub fn start() -> StandInBuilder {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the stand-in builder");
        let addr = listener.local_addr().expect("address");
        let handler: Arc<Mutex<Arc<Handler>>> = Arc::new(Mutex::new(Arc::new(|_| BuildAnswer {
            status: 503,
            content_type: "application/json",
            body: br#"{"error":{"code":"builder-busy","message":"no answer set"}}"#.to_vec(),
        })));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stopped = Arc::new(AtomicBool::new(false));
        let (h, r, s) = (handler.clone(), requests.clone(), stopped.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    // Dropping the listener closes the port.
                    return;
                }
                let Ok(stream) = stream else { continue };
                let handler = h.lock().expect("handler").clone();
                let requests = r.clone();
                std::thread::spawn(move || serve(stream, &*handler, &requests));
            }
        });
        StandInBuilder {
            addr,
            handler,
            requests,
            stopped,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sets how the following requests are answered.
    pub fn answer_with(
        &self,
        handler: impl Fn(&BuildRequest) -> BuildAnswer + Send + Sync + 'static,
    ) {
        *self.handler.lock().expect("handler") = Arc::new(handler);
    }

    pub fn requests(&self) -> Vec<BuildRequest> {
        self.requests.lock().expect("requests").clone()
    }

    /// Stops accepting and closes the port: the builder is down.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn serve(stream: TcpStream, handler: &Handler, requests: &Mutex<Vec<BuildRequest>>) -> Option<()> {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if let Some(length) = header("content-length").and_then(|l| l.parse::<usize>().ok()) {
        body.resize(length, 0);
        reader.read_exact(&mut body).ok()?;
    } else if header("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim(), 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
    let request = BuildRequest {
        method,
        target,
        headers,
        body,
    };
    let answer = handler(&request);
    requests.lock().ok()?.push(request);
    let mut stream = stream;
    let head = format!(
        "HTTP/1.1 {} X\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        answer.status,
        answer.content_type,
        answer.body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(&answer.body).ok()
}
