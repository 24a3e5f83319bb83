//! What the `#[skill]` and `#[derive(Outputs)]` expansions call: the
//! world's `value` lists ⇄ [`Value`], inputs by name, the description.
//!
//! Not a stable interface: only the macros of this SDK use it (hence
//! `#[doc(hidden)] pub mod __private`).

use crate::bindings::llmos::skill::types as wit;
use crate::error::SkillError;
use crate::port::{Input, InputProblem, Output, PortInfo, PortType};
use crate::value::{Map, Value};
use crate::{Outputs, SkillReturn};

pub use crate::bindings::Guest;
pub use crate::bindings::llmos::skill::types::{Fields, SkillDescription};

/// Deepest nesting read from the host (the host never sends deeper).
const MAX_DEPTH: usize = 256;

fn wit_port_type(ty: PortType) -> wit::PortType {
    match ty {
        PortType::Number => wit::PortType::Number,
        PortType::String => wit::PortType::String,
        PortType::Boolean => wit::PortType::Boolean,
        PortType::Array => wit::PortType::Array,
        PortType::Object => wit::PortType::Object,
        PortType::Image => wit::PortType::Image,
        PortType::Mesh => wit::PortType::Mesh,
        PortType::Waveform => wit::PortType::Waveform,
        PortType::Any => wit::PortType::Any,
    }
}

fn wit_port(port: PortInfo) -> wit::Port {
    wit::Port {
        name: port.name.to_owned(),
        type_: wit_port_type(port.ty),
        required: port.required,
    }
}

/// The port of an input parameter of type `T`.
pub fn input_port<T: Input>(name: &'static str) -> PortInfo {
    PortInfo {
        name,
        ty: T::PORT_TYPE,
        required: T::REQUIRED,
    }
}

/// The port of an output field of type `T`.
pub fn output_port<T: Output>(name: &'static str) -> PortInfo {
    PortInfo {
        name,
        ty: T::PORT_TYPE,
        required: T::ALWAYS,
    }
}

/// Appends an output field unless it is `None`.
pub fn push_output<T: Output>(out: &mut Vec<(String, Value)>, name: &str, value: T) {
    if let Some(v) = value.into_output() {
        out.push((name.to_owned(), v));
    }
}

/// What `describe` returns: the outputs come from the function's return
/// type `R`.
pub fn describe<R: SkillReturn>(
    name: &str,
    version: &str,
    inputs: Vec<PortInfo>,
) -> SkillDescription {
    SkillDescription {
        name: name.to_owned(),
        version: version.to_owned(),
        inputs: inputs.into_iter().map(wit_port).collect(),
        outputs: <R::Outputs as Outputs>::ports()
            .into_iter()
            .map(wit_port)
            .collect(),
    }
}

/// A call's inputs, taken one by one by name.
#[derive(Debug)]
pub struct Inputs {
    values: Map,
}

fn input_invalid(message: String) -> wit::SkillError {
    wit::SkillError {
        code: SkillError::INPUT_INVALID.to_owned(),
        message,
    }
}

impl Inputs {
    pub fn from_wire(fields: Fields) -> Result<Inputs, wit::SkillError> {
        let mut values = Map::new();
        for (name, value) in fields {
            let value = from_wire(value)
                .map_err(|e| input_invalid(format!("input `{name}` is not a valid value: {e}")))?;
            if values.insert(name.clone(), value).is_some() {
                return Err(input_invalid(format!("input `{name}` is given twice")));
            }
        }
        Ok(Inputs { values })
    }

    /// The input `name` as a `T`; a missing required input or a value of
    /// another type is a `skill-input-invalid` error naming the port.
    pub fn take<T: Input>(&mut self, name: &str) -> Result<T, wit::SkillError> {
        T::from_input(self.values.remove(name)).map_err(|problem| match problem {
            InputProblem::Missing => {
                input_invalid(format!("input `{name}` is required but has no value"))
            }
            InputProblem::Mismatch(m) if m.path.is_empty() => input_invalid(format!(
                "input `{name}` must be {}, found {}",
                m.expected, m.found
            )),
            InputProblem::Mismatch(m) => input_invalid(format!("input `{name}`{m}")),
        })
    }
}

/// The function's result as the world's result.
pub fn finish<R: SkillReturn>(result: R) -> Result<Fields, wit::SkillError> {
    match result.into_result() {
        Ok(outputs) => Ok(outputs
            .into_fields()
            .into_iter()
            .map(|(name, v)| (name, to_wire(v)))
            .collect()),
        Err(e) => Err(wit::SkillError {
            code: e.code,
            message: e.message,
        }),
    }
}

/// A world `value` (a tree flattened into nodes, root first, every child
/// after its parent) as a [`Value`]. Each node may be used once.
pub fn from_wire(value: wit::Value) -> Result<Value, String> {
    let mut nodes: Vec<Option<wit::Node>> = value.nodes.into_iter().map(Some).collect();
    if nodes.is_empty() {
        return Err("it has no root node".into());
    }
    take_node(&mut nodes, 0, 0)
}

fn take_node(nodes: &mut [Option<wit::Node>], at: usize, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err(format!("it nests deeper than {MAX_DEPTH} levels"));
    }
    let node = nodes
        .get_mut(at)
        .and_then(Option::take)
        .ok_or_else(|| format!("node {at} is used twice"))?;
    let child = |nodes: &mut [Option<wit::Node>], i: u32| -> Result<Value, String> {
        let i = i as usize;
        if i <= at || i >= nodes.len() {
            return Err(format!(
                "node {at} refers to node {i}, which is not after it in the list"
            ));
        }
        take_node(nodes, i, depth + 1)
    };
    Ok(match node {
        wit::Node::Null => Value::Null,
        wit::Node::Boolean(b) => Value::Bool(b),
        wit::Node::Number(n) => Value::Number(n),
        wit::Node::Text(t) => Value::Text(t),
        wit::Node::Bytes(b) => Value::Bytes(b),
        wit::Node::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|i| child(nodes, i))
                .collect::<Result<_, _>>()?,
        ),
        wit::Node::Object(members) => {
            let mut map = Map::new();
            for (key, i) in members {
                let v = child(nodes, i)?;
                if map.insert(key.clone(), v).is_some() {
                    return Err(format!("object node {at} has the key `{key}` twice"));
                }
            }
            Value::Object(map)
        }
    })
}

/// A [`Value`] as a world `value`: nodes in pre-order, root first.
pub fn to_wire(value: Value) -> wit::Value {
    let mut nodes = Vec::new();
    push_node(value, &mut nodes);
    wit::Value { nodes }
}

fn push_node(value: Value, nodes: &mut Vec<wit::Node>) -> u32 {
    let at = nodes.len();
    nodes.push(wit::Node::Null);
    let node = match value {
        Value::Null => wit::Node::Null,
        Value::Bool(b) => wit::Node::Boolean(b),
        Value::Number(n) => wit::Node::Number(n),
        Value::Text(t) => wit::Node::Text(t),
        Value::Bytes(b) => wit::Node::Bytes(b),
        Value::Array(items) => {
            wit::Node::Array(items.into_iter().map(|v| push_node(v, nodes)).collect())
        }
        Value::Object(members) => wit::Node::Object(
            members
                .into_iter()
                .map(|(k, v)| (k, push_node(v, nodes)))
                .collect(),
        ),
    };
    nodes[at] = node;
    // A value of more than 2^32 nodes cannot be built in a 32-bit memory.
    u32::try_from(at).expect("a wasm32 value has fewer than 2^32 nodes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Value {
        Value::object([
            ("xs", Value::from(vec![1.0, 2.5])),
            ("name", Value::from("ode")),
            ("raw", Value::Bytes(vec![0, 255])),
            ("none", Value::Null),
            ("deep", Value::object([("ok", true)])),
        ])
    }

    #[test]
    fn values_round_trip_through_the_world_encoding() {
        let wire = to_wire(sample());
        // Pre-order: the root first, every child after its parent.
        assert!(matches!(wire.nodes[0], wit::Node::Object(_)));
        assert_eq!(wire.nodes.len(), 9);
        assert_eq!(from_wire(wire), Ok(sample()));
        assert_eq!(
            from_wire(to_wire(Value::Number(3.0))),
            Ok(Value::Number(3.0))
        );
    }

    #[test]
    fn refuses_malformed_node_lists() {
        let empty = wit::Value { nodes: vec![] };
        assert!(from_wire(empty).unwrap_err().contains("no root"));
        let backwards = wit::Value {
            nodes: vec![wit::Node::Array(vec![0])],
        };
        assert!(from_wire(backwards).unwrap_err().contains("not after it"));
        let outside = wit::Value {
            nodes: vec![wit::Node::Array(vec![5])],
        };
        assert!(from_wire(outside).is_err());
        let shared = wit::Value {
            nodes: vec![wit::Node::Array(vec![1, 1]), wit::Node::Null],
        };
        assert!(from_wire(shared).unwrap_err().contains("used twice"));
        let dup = wit::Value {
            nodes: vec![
                wit::Node::Object(vec![("k".into(), 1), ("k".into(), 2)]),
                wit::Node::Null,
                wit::Node::Null,
            ],
        };
        assert!(from_wire(dup).unwrap_err().contains("`k` twice"));
    }

    #[test]
    fn refuses_values_nested_too_deep() {
        let n = MAX_DEPTH + 2;
        let mut nodes: Vec<wit::Node> = (1..n as u32).map(|i| wit::Node::Array(vec![i])).collect();
        nodes.push(wit::Node::Null);
        assert!(
            from_wire(wit::Value { nodes })
                .unwrap_err()
                .contains("deeper")
        );
    }

    #[test]
    fn input_errors_name_the_port() {
        let fields = vec![
            ("x".to_owned(), to_wire(Value::from("three"))),
            (
                "xs".to_owned(),
                to_wire(Value::from(vec![Value::Number(1.0), Value::Null])),
            ),
        ];
        let mut inputs = Inputs::from_wire(fields).unwrap();
        let err = inputs.take::<f64>("x").unwrap_err();
        assert_eq!(err.code, "skill-input-invalid");
        assert_eq!(
            err.message,
            "input `x` must be a number, found the text \"three\""
        );
        let err = inputs.take::<Vec<f64>>("xs").unwrap_err();
        assert_eq!(err.message, "input `xs`[1] must be a number, found null");
        let err = inputs.take::<bool>("flag").unwrap_err();
        assert_eq!(err.message, "input `flag` is required but has no value");
        assert_eq!(inputs.take::<Option<bool>>("flag").unwrap(), None);

        let twice = vec![
            ("x".to_owned(), to_wire(Value::Null)),
            ("x".to_owned(), to_wire(Value::Null)),
        ];
        assert!(
            Inputs::from_wire(twice)
                .unwrap_err()
                .message
                .contains("twice")
        );
    }
}
