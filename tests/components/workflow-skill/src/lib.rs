//! A skill component for tests of compiled workflow nodes at the edge.
//!
//! Ports: input `x` (number, required) and `mode` (string, optional);
//! output `y` (number). What `execute` does depends on `mode`:
//!
//! - none, or `"square"`: `y = x * x`; it prints one line to stdout and
//!   logs one through the host, so both reach the node's log;
//! - `"fail"`: returns the skill error `negative-input`;
//! - `"loop"`: never returns (only the fuel budget ends it);
//! - `"memory"`: allocates a mebibyte at a time until memory runs out
//!   (only the memory limit ends it).
//!
//! Built for `wasm32-wasip2` with `wit-bindgen` against `wit/skill`, as a
//! skill author would build it.

wit_bindgen::generate!({
    path: "../../../wit/skill",
    world: "skill",
});

use llmos::skill::host::log;
use llmos::skill::types::{Node, Port, PortType, Value};

struct WorkflowSkill;

fn port(name: &str, type_: PortType, required: bool) -> Port {
    Port {
        name: name.into(),
        type_,
        required,
    }
}

/// The root of an input's value tree.
fn root<'a>(inputs: &'a [(String, Value)], name: &str) -> Option<&'a Node> {
    inputs
        .iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| v.nodes.first())
}

impl Guest for WorkflowSkill {
    fn describe() -> SkillDescription {
        SkillDescription {
            name: "workflow-skill".into(),
            version: "0.1.0".into(),
            inputs: vec![
                port("x", PortType::Number, true),
                port("mode", PortType::String, false),
            ],
            outputs: vec![port("y", PortType::Number, true)],
        }
    }

    fn execute(inputs: Vec<(String, Value)>) -> Result<Vec<(String, Value)>, SkillError> {
        let x = match root(&inputs, "x") {
            Some(Node::Number(x)) => *x,
            _ => {
                return Err(SkillError {
                    code: "missing-x".into(),
                    message: "input `x` must be a number".into(),
                });
            }
        };
        let mode = match root(&inputs, "mode") {
            Some(Node::Text(mode)) => mode.as_str(),
            _ => "square",
        };
        match mode {
            "fail" => Err(SkillError {
                code: "negative-input".into(),
                message: format!("refusing {x}"),
            }),
            "loop" => {
                let mut n = 0u64;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "memory" => {
                let mut chunks: Vec<Vec<u8>> = Vec::new();
                loop {
                    chunks.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&chunks);
                }
            }
            _ => {
                println!("squaring {x}");
                log(&format!("y = {}", x * x));
                Ok(vec![(
                    "y".into(),
                    Value {
                        nodes: vec![Node::Number(x * x)],
                    },
                )])
            }
        }
    }
}

export!(WorkflowSkill);
