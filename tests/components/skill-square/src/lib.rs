//! A skill component for the end-to-end tests of components in volumes:
//! `square` reads the number `x` and returns `y = x * x`, printing a line
//! to its log. It implements `llmos:skill/skill@0.1.0` with the bindings
//! of `wit-bindgen` directly, so the tests need nothing but the world.
//!
//! ```text
//! cargo build --target wasm32-wasip2 --release -p skill-square
//! ```

wit_bindgen_skill::generate!({
    path: "../../../wit/skill",
    runtime_path: "::wit_bindgen_skill::rt",
    world: "skill",
});

use llmos::skill::host;
use llmos::skill::types::{Node, Port, PortType, Value};

struct Square;

impl Guest for Square {
    fn describe() -> SkillDescription {
        let port = |name: &str| Port {
            name: name.into(),
            type_: PortType::Number,
            required: true,
        };
        SkillDescription {
            name: "square".into(),
            version: "0.1.0".into(),
            inputs: vec![port("x")],
            outputs: vec![port("y")],
        }
    }

    fn execute(inputs: Vec<(String, Value)>) -> Result<Vec<(String, Value)>, SkillError> {
        let x = inputs
            .iter()
            .find(|(name, _)| name == "x")
            .and_then(|(_, value)| match value.nodes.first() {
                Some(Node::Number(x)) => Some(*x),
                _ => None,
            })
            .ok_or_else(|| SkillError {
                code: "missing-input".into(),
                message: "input `x` must be a number".into(),
            })?;
        host::log(&format!("squaring {x}"));
        Ok(vec![(
            "y".into(),
            Value {
                nodes: vec![Node::Number(x * x)],
            },
        )])
    }
}

export!(Square);
