//! The runtime-independent rules of `docs/skills.md` ("Running an
//! executable skill"): which code block language each runtime takes, the
//! inputs a run receives and the outputs it must return. Pure functions,
//! tested natively.

use llmos_core::skill::languages;
use llmos_core::types::{PortSpec, Runtime};
use llmos_core::workflow::compat::{accept, json_kind, value_matches};
use serde_json::{Map, Value};

/// Whether the browser runs `runtime` with a code block in `language`
/// (the languages the skill parser accepts for it: `python` or `py`, …);
/// `"RuntimeError: …"` if not.
pub fn check_language(runtime: Runtime, language: &str) -> Result<(), String> {
    if matches!(runtime, Runtime::WasmComponent | Runtime::Builtin) {
        return Err(format!(
            "RuntimeError: `{runtime}` skills do not run in the browser"
        ));
    }
    let accepted = languages(runtime);
    if accepted.contains(&language) {
        Ok(())
    } else {
        Err(format!(
            "RuntimeError: the code block of a `{runtime}` skill must be {}, not `{language}`",
            accepted.join(", ")
        ))
    }
}

/// The inputs object a run receives: each declared input takes its given
/// value, else its default; undeclared names are left out. A required
/// input without a value, or a value of the wrong type, refuses the run
/// before it starts (`"InputError: …"`). Numbers and booleans given to a
/// string input become their text, as the workflow engine does.
pub fn prepare_inputs(
    spec: &[PortSpec],
    given: &Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    let mut inputs = Map::new();
    for port in spec {
        let value = match given.get(&port.name).or(port.default.as_ref()) {
            Some(value) => value.clone(),
            None if port.required => {
                return Err(format!(
                    "InputError: required input `{}` has no value",
                    port.name
                ));
            }
            None => continue,
        };
        let value = accept(port.ty, value)
            .map_err(|why| format!("InputError: input `{}` {why}", port.name))?;
        inputs.insert(port.name.clone(), value);
    }
    Ok(inputs)
}

/// Checks the object a skill returned: exactly the declared output names,
/// each with a value of its port type (`"OutputError: …"`).
pub fn check_outputs(
    spec: &[PortSpec],
    outputs: Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    if let Some(extra) = outputs
        .keys()
        .find(|key| !spec.iter().any(|p| &p.name == *key))
    {
        let declared: Vec<&str> = spec.iter().map(|p| p.name.as_str()).collect();
        return Err(format!(
            "OutputError: execute returned `{extra}`, which is not a declared output ({})",
            declared.join(", ")
        ));
    }
    for port in spec {
        match outputs.get(&port.name) {
            None => {
                return Err(format!(
                    "OutputError: execute returned no `{}` output",
                    port.name
                ));
            }
            Some(value) if !value_matches(port.ty, value) => {
                return Err(format!(
                    "OutputError: output `{}` should be {}, but is {}",
                    port.name,
                    port.ty,
                    json_kind(value)
                ));
            }
            Some(_) => {}
        }
    }
    Ok(outputs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmos_core::types::PortType;
    use serde_json::json;

    fn port(name: &str, ty: PortType, default: Option<Value>) -> PortSpec {
        PortSpec {
            name: name.into(),
            ty,
            required: default.is_none(),
            default,
            description: None,
        }
    }

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().expect("an object").clone()
    }

    #[test]
    fn inputs_take_values_then_defaults() {
        let spec = [
            port("text", PortType::String, None),
            port("top_n", PortType::Number, Some(json!(10))),
        ];
        let inputs = prepare_inputs(&spec, &map(json!({"text": "hi", "other": 1}))).unwrap();
        assert_eq!(Value::Object(inputs), json!({"text": "hi", "top_n": 10}));
        let inputs = prepare_inputs(&spec, &map(json!({"text": 3, "top_n": 2}))).unwrap();
        assert_eq!(Value::Object(inputs), json!({"text": "3", "top_n": 2}));
    }

    #[test]
    fn inputs_refuse_missing_and_mistyped_values() {
        let spec = [
            port("text", PortType::String, None),
            port("top_n", PortType::Number, Some(json!(10))),
        ];
        let err = prepare_inputs(&spec, &Map::new()).unwrap_err();
        assert_eq!(err, "InputError: required input `text` has no value");
        let err = prepare_inputs(&spec, &map(json!({"text": "a", "top_n": "ten"}))).unwrap_err();
        assert_eq!(
            err,
            "InputError: input `top_n` expects number, got a string"
        );
        let mut optional = port("limit", PortType::Number, None);
        optional.required = false;
        assert!(prepare_inputs(&[optional], &Map::new()).unwrap().is_empty());
    }

    #[test]
    fn outputs_must_be_exactly_the_declared_ones() {
        let spec = [
            port("energy", PortType::Number, None),
            port("state", PortType::Array, None),
        ];
        assert!(check_outputs(&spec, map(json!({"energy": -1.1, "state": []}))).is_ok());
        let err = check_outputs(&spec, map(json!({"energy": -1.1}))).unwrap_err();
        assert_eq!(err, "OutputError: execute returned no `state` output");
        let err = check_outputs(&spec, map(json!({"energy": 1, "state": [], "x": 0}))).unwrap_err();
        assert!(
            err.contains("`x`, which is not a declared output (energy, state)"),
            "{err}"
        );
        let err = check_outputs(&spec, map(json!({"energy": "low", "state": []}))).unwrap_err();
        assert_eq!(
            err,
            "OutputError: output `energy` should be number, but is string"
        );
    }

    #[test]
    fn languages_follow_the_runtime() {
        assert!(check_language(Runtime::Threejs, "javascript").is_ok());
        assert!(check_language(Runtime::PythonWasm, "py").is_ok());
        let err = check_language(Runtime::Spice, "python").unwrap_err();
        assert!(err.contains("must be spice, netlist"), "{err}");
        let err = check_language(Runtime::Builtin, "").unwrap_err();
        assert_eq!(
            err,
            "RuntimeError: `builtin` skills do not run in the browser"
        );
    }
}
