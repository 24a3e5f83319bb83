//! Native stand-ins for the browser runtimes: `python3` for `python-wasm`,
//! `node` for `javascript` and `threejs`, `ngspice` for `spice`. Each
//! follows the contract of `docs/skills.md`, so a skill that passes here
//! behaves the same in the browser.

use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Map, Value, json};

use crate::rust_skill;
use crate::skill_file::SkillFile;
use crate::spice;
use llmos_core::skill::netlist;

/// A program the checks need, and how to get it.
pub struct Tool {
    pub program: &'static str,
    pub install: &'static str,
}

pub const PYTHON: Tool = Tool {
    program: "python3",
    install: "install Python 3.11 or newer (`apt-get install -y python3`, or `./dev setup`)",
};
pub const NODE: Tool = Tool {
    program: "node",
    install: "install Node.js 20 or newer (https://nodejs.org or your package manager)",
};
pub const NGSPICE: Tool = Tool {
    program: "ngspice",
    install: "install it with `apt-get install -y ngspice` (or `./dev setup`)",
};

impl Tool {
    /// A command for the tool; panics with install advice when it is missing,
    /// because a check that cannot run must not pass.
    pub fn command(&self) -> Command {
        match Command::new(self.program)
            .arg("--version")
            .stdin(Stdio::null())
            .output()
        {
            Ok(_) => Command::new(self.program),
            Err(e) if e.kind() == ErrorKind::NotFound => panic!(
                "`{}` is needed to check the system skills but is not on PATH: {}",
                self.program, self.install
            ),
            Err(e) => panic!("cannot start `{}`: {e}", self.program),
        }
    }
}

fn helper(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/system_skills")
        .join(name)
}

/// Runs a skill with the given inputs (defaults fill the rest) and returns
/// its outputs, or the error the runtime reports for it. Panics when the
/// skill breaks the output contract, which is a defect of the skill rather
/// than a result.
pub fn run(skill: &SkillFile, given: Value) -> Result<Map<String, Value>, String> {
    let inputs = skill.inputs_with(&given)?;
    let code = skill.code();
    let outputs = match skill.skill_type() {
        Some("python-wasm") => {
            assert_eq!(
                code.info, "python",
                "{}: python-wasm code block language",
                skill.stem
            );
            run_runner(
                PYTHON.command().arg(helper("run_python.py")),
                &code.code,
                &inputs,
            )
        }
        Some("javascript" | "threejs") => {
            assert_eq!(
                code.info, "javascript",
                "{}: javascript code block language",
                skill.stem
            );
            run_runner(
                NODE.command().arg(helper("run_js.mjs")),
                &code.code,
                &inputs,
            )
        }
        Some("spice") => {
            assert_eq!(
                code.info, "spice",
                "{}: spice code block language",
                skill.stem
            );
            let netlist = netlist::render(&code.code, &inputs, skill.skill.inputs())
                .map_err(|e| e.to_string())?;
            let vectors = netlist::output_vectors(&code.code).map_err(|e| e.to_string())?;
            let waveform = spice::simulate(&netlist, &vectors)?;
            let outputs = skill.ports("outputs");
            assert_eq!(
                outputs.len(),
                1,
                "{}: a spice skill has one waveform output",
                skill.stem
            );
            Ok(Map::from_iter([(outputs[0].name.clone(), waveform)]))
        }
        Some("wasm-component") => {
            assert!(
                code.info.eq_ignore_ascii_case("rust") || code.info.eq_ignore_ascii_case("rs"),
                "{}: only Rust components have a native runtime here, not {}",
                skill.stem,
                code.info
            );
            let reply = rust_skill::call(skill, &code.code, &inputs);
            check_described_ports(skill, &reply.describe);
            reply
                .result
                .map_err(|(code, message)| format!("{code}: {message}"))
        }
        other => panic!("{}: no native runtime for type {other:?}", skill.stem),
    }?;
    check_output_names(skill, &outputs);
    Ok(outputs)
}

/// Like [`run`], for a run that must succeed.
pub fn run_ok(skill: &SkillFile, given: Value) -> Map<String, Value> {
    run(skill, given).unwrap_or_else(|e| panic!("{} failed: {e}", skill.stem))
}

fn check_output_names(skill: &SkillFile, outputs: &Map<String, Value>) {
    let mut declared: Vec<String> = skill.ports("outputs").into_iter().map(|p| p.name).collect();
    let mut returned: Vec<String> = outputs.keys().cloned().collect();
    declared.sort();
    returned.sort();
    assert_eq!(
        returned, declared,
        "{}: returned keys must be exactly the declared outputs",
        skill.stem
    );
}

/// A component's `describe` must name the file's ports with the file's
/// types, in the same order; an input the file leaves optional without a
/// default must be optional in the component too (one with a default is
/// always supplied, so the component may require it).
fn check_described_ports(skill: &SkillFile, describe: &Value) {
    for key in ["inputs", "outputs"] {
        let declared: Vec<(String, String)> = skill
            .ports(key)
            .into_iter()
            .map(|p| (p.name, p.ty.to_string()))
            .collect();
        let described: Vec<(String, String)> = describe[key]
            .as_array()
            .unwrap_or_else(|| panic!("{}: describe lists no {key}", skill.stem))
            .iter()
            .map(|p| {
                let text = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
                (text("name"), text("type"))
            })
            .collect();
        assert_eq!(
            described, declared,
            "{}: the component's {key} differ from the front matter",
            skill.stem
        );
    }
    for (port, described) in skill
        .ports("inputs")
        .iter()
        .zip(describe["inputs"].as_array().into_iter().flatten())
    {
        if !port.required && port.default.is_none() {
            assert_eq!(
                described["required"],
                json!(false),
                "{}: input `{}` is optional in the file but required by the component",
                skill.stem,
                port.name
            );
        }
    }
}

/// Speaks the runners' protocol: a JSON request on stdin, one JSON reply
/// with `outputs` or `error` on stdout.
fn run_runner(
    command: &mut Command,
    code: &str,
    inputs: &Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    let request = json!({ "code": code, "inputs": inputs }).to_string();
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runner starts");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(request.as_bytes())
        .expect("runner reads its request");
    let output = child.wait_with_output().expect("runner finishes");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "runner failed ({}):\n{stderr}\n{stdout}",
        output.status
    );
    let reply: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("runner reply is not JSON ({e}): {stdout}\n{stderr}"));
    if let Some(error) = reply.get("error") {
        return Err(error.as_str().unwrap_or_default().to_owned());
    }
    match reply.get("outputs") {
        Some(Value::Object(outputs)) => Ok(outputs.clone()),
        _ => panic!("runner reply has neither outputs nor error: {stdout}"),
    }
}
