//! The `wasm-component` runtime natively, for Rust skills: the skill's
//! code block, which the `llmos-skill` SDK also compiles for the host, is
//! built as a small native program with a driver that calls the world's
//! `describe` and `execute` exactly as a host does, with values converted
//! by the JSON rules of the skill runtime (integral doubles up to 2^53 as
//! integers, NaN and infinities as null).
//!
//! The program is built once per test run with the workspace's lock file
//! (so no new versions are resolved) in a target directory under cargo's
//! test temp dir, which keeps the SDK's compiled dependencies between runs.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

use serde_json::{Map, Value};

use crate::skill_file::SkillFile;

/// Calls `describe` and `execute` of the skill compiled above it: reads
/// `{"inputs": {...}}` on stdin and writes `{"describe": ..., "outputs":
/// ...}` or `{"describe": ..., "error": {code, message}}` on stdout.
const DRIVER: &str = r#"
mod native_driver {
    use std::io::Read;

    use llmos_skill::bindings::Guest;
    use llmos_skill::bindings::llmos::skill::types::{Node, Port, PortType, Value as Wire};
    use serde_json::{Map, Value, json};

    fn push(value: &Value, nodes: &mut Vec<Node>) -> u32 {
        let at = nodes.len();
        nodes.push(Node::Null);
        let node = match value {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Boolean(*b),
            Value::Number(n) => Node::Number(n.as_f64().expect("JSON numbers are finite")),
            Value::String(s) => Node::Text(s.clone()),
            Value::Array(items) => Node::Array(items.iter().map(|v| push(v, nodes)).collect()),
            Value::Object(members) => {
                Node::Object(members.iter().map(|(k, v)| (k.clone(), push(v, nodes))).collect())
            }
        };
        nodes[at] = node;
        at as u32
    }

    fn json(nodes: &[Node], at: u32) -> Value {
        match &nodes[at as usize] {
            Node::Null => Value::Null,
            Node::Boolean(b) => Value::Bool(*b),
            Node::Number(x) if !x.is_finite() => Value::Null,
            Node::Number(x) if x.fract() == 0.0 && x.abs() <= 9_007_199_254_740_992.0 => {
                json!(*x as i64)
            }
            Node::Number(x) => json!(*x),
            Node::Text(s) => Value::String(s.clone()),
            Node::Bytes(b) => json!(b),
            Node::Array(items) => Value::Array(items.iter().map(|i| json(nodes, *i)).collect()),
            Node::Object(members) => Value::Object(
                members.iter().map(|(k, i)| (k.clone(), json(nodes, *i))).collect(),
            ),
        }
    }

    fn ports(ports: &[Port]) -> Value {
        let ty = |t: PortType| match t {
            PortType::Number => "number",
            PortType::String => "string",
            PortType::Boolean => "boolean",
            PortType::Array => "array",
            PortType::Object => "object",
            PortType::Image => "image",
            PortType::Mesh => "mesh",
            PortType::Waveform => "waveform",
            PortType::Any => "any",
        };
        ports
            .iter()
            .map(|p| json!({"name": p.name, "type": ty(p.type_), "required": p.required}))
            .collect()
    }

    pub fn main() {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).expect("the request is readable");
        let request: Value = serde_json::from_str(&text).expect("the request is JSON");
        let d = super::__LlmosSkill::describe();
        let describe = json!({"inputs": ports(&d.inputs), "outputs": ports(&d.outputs)});
        let mut fields = Vec::new();
        for (name, value) in request["inputs"].as_object().expect("inputs is an object") {
            let mut nodes = Vec::new();
            push(value, &mut nodes);
            fields.push((name.clone(), Wire { nodes }));
        }
        let reply = match super::__LlmosSkill::execute(fields) {
            Ok(outputs) => {
                let outputs: Map<String, Value> =
                    outputs.into_iter().map(|(k, v)| (k, json(&v.nodes, 0))).collect();
                json!({"describe": describe, "outputs": outputs})
            }
            Err(e) => json!({"describe": describe, "error": {"code": e.code, "message": e.message}}),
        };
        println!("{reply}");
    }
}

fn main() {
    native_driver::main()
}
"#;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds the skill's native program (once per test run) and returns its
/// path, or the compiler's output.
fn program(skill: &SkillFile, code: &str) -> Result<PathBuf, String> {
    static BUILT: OnceLock<Mutex<HashMap<String, Result<PathBuf, String>>>> = OnceLock::new();
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    built
        .entry(skill.stem.clone())
        .or_insert_with(|| build(&skill.stem, code))
        .clone()
}

fn build(stem: &str, code: &str) -> Result<PathBuf, String> {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("rust-skills");
    let dir = base.join(stem);
    let package = format!("{stem}-native");
    std::fs::create_dir_all(dir.join("src")).expect("the skill crate dir can be created");
    let root = repo_root();
    let manifest = format!(
        "[package]\nname = \"{package}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [dependencies]\nllmos-skill = {{ path = {sdk:?} }}\nserde_json = {{ version = \"1\", features = [\"float_roundtrip\"] }}\n\n[workspace]\n",
        sdk = root.join("crates/skill-sdk").display().to_string(),
    );
    write_if_changed(&dir.join("Cargo.toml"), &manifest);
    write_if_changed(&dir.join("src/main.rs"), &format!("{code}\n{DRIVER}"));
    if !dir.join("Cargo.lock").exists() {
        // The workspace's versions, so that nothing new is resolved.
        std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock"))
            .expect("the workspace lock file can be copied");
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "--quiet", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", base.join("target"))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "the skill's code block does not build natively:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let exe = base
        .join("target/debug")
        .join(format!("{package}{}", std::env::consts::EXE_SUFFIX));
    assert!(exe.is_file(), "cargo built no {}", exe.display());
    Ok(exe)
}

/// Leaves an unchanged file alone, so cargo does not rebuild it.
fn write_if_changed(path: &Path, text: &str) {
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        std::fs::write(path, text).expect("the skill crate can be written");
    }
}

/// What `describe` says and what `execute` returned.
pub struct Reply {
    pub describe: Value,
    pub result: Result<Map<String, Value>, (String, String)>,
}

/// Runs a Rust skill natively on `inputs` (defaults already filled in).
pub fn call(skill: &SkillFile, code: &str, inputs: &Map<String, Value>) -> Reply {
    let exe = program(skill, code).unwrap_or_else(|e| panic!("{}: {e}", skill.stem));
    let mut child = Command::new(&exe)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the skill program starts");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(
            serde_json::json!({ "inputs": inputs })
                .to_string()
                .as_bytes(),
        )
        .expect("the skill program reads its request");
    let output = child
        .wait_with_output()
        .expect("the skill program finishes");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{} failed ({}), as a trap would end it:\n{}",
        skill.stem,
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let reply: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("the skill program's reply is not JSON ({e}): {stdout}"));
    let result = match (&reply["outputs"], &reply["error"]) {
        (Value::Object(outputs), _) => Ok(outputs.clone()),
        (_, Value::Object(error)) => Err((
            error["code"].as_str().unwrap_or_default().to_owned(),
            error["message"].as_str().unwrap_or_default().to_owned(),
        )),
        _ => panic!("the reply has neither outputs nor error: {stdout}"),
    };
    Reply {
        describe: reply["describe"].clone(),
        result,
    }
}
