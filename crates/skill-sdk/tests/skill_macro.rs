//! `#[skill]` and `#[derive(Outputs)]` as a skill file uses them, called
//! natively through the world's `describe` and `execute`.

use llmos_skill::__private::{Fields, Guest, from_wire, to_wire};
use llmos_skill::bindings::llmos::skill::types::{Port, PortType};
use llmos_skill::{Map, Value};

fn fields(members: &[(&str, Value)]) -> Fields {
    members
        .iter()
        .map(|(k, v)| ((*k).to_owned(), to_wire(v.clone())))
        .collect()
}

fn outputs(fields: Fields) -> Map {
    fields
        .into_iter()
        .map(|(k, v)| (k, from_wire(v).expect("the SDK writes valid values")))
        .collect()
}

fn port(name: &str, type_: PortType, required: bool) -> Port {
    Port {
        name: name.into(),
        type_,
        required,
    }
}

/// The shape the skill files' Rust blocks use.
mod ode {
    use llmos_skill::prelude::*;

    #[derive(Outputs)]
    pub struct Solution {
        t: Vec<f64>,
        y: Waveform,
        note: Option<String>,
    }

    #[skill]
    fn execute(equation: String, y0: f64, steps: Option<u32>) -> Result<Solution, SkillError> {
        let steps = steps.unwrap_or(4);
        if steps == 0 {
            return Err(SkillError::new("bad-steps", "steps must be positive"));
        }
        if equation != "y' = -y" {
            return Err(format!("unknown equation {equation}").into());
        }
        let dt = 1.0 / f64::from(steps);
        let mut t = vec![0.0];
        let mut y = vec![y0];
        for i in 1..=steps {
            t.push(f64::from(i) * dt);
            let last = y[y.len() - 1];
            y.push(last - last * dt);
        }
        log("solved");
        Ok(Solution {
            y: Waveform::new(t.clone(), [("y", y)]),
            t,
            note: (steps > 10).then(|| "fine".to_owned()),
        })
    }
}

#[test]
fn describe_lists_the_functions_ports() {
    let d = ode::__LlmosSkill::describe();
    assert_eq!(d.name, "llmos-skill");
    assert_eq!(d.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(
        d.inputs,
        vec![
            port("equation", PortType::String, true),
            port("y0", PortType::Number, true),
            port("steps", PortType::Number, false),
        ]
    );
    assert_eq!(
        d.outputs,
        vec![
            port("t", PortType::Array, true),
            port("y", PortType::Waveform, true),
            port("note", PortType::String, false),
        ]
    );
}

#[test]
fn execute_converts_inputs_and_outputs() {
    let out = ode::__LlmosSkill::execute(fields(&[
        ("equation", Value::from("y' = -y")),
        ("y0", Value::Number(1.0)),
        ("steps", Value::Number(2.0)),
    ]))
    .unwrap();
    let out = outputs(out);
    assert_eq!(out["t"], Value::from(vec![0.0, 0.5, 1.0]));
    assert_eq!(
        out["y"].get("signals").and_then(|s| s.get("y")),
        Some(&Value::from(vec![1.0, 0.5, 0.25]))
    );
    assert!(!out.contains_key("note"), "a None output is left out");

    // The optional input defaults inside the function.
    let out = ode::__LlmosSkill::execute(fields(&[
        ("equation", Value::from("y' = -y")),
        ("y0", Value::Number(2.0)),
    ]))
    .unwrap();
    assert_eq!(outputs(out)["t"].as_array().map(<[Value]>::len), Some(5));
}

#[test]
fn skill_errors_keep_their_codes() {
    let err = ode::__LlmosSkill::execute(fields(&[
        ("equation", Value::from("y' = -y")),
        ("y0", Value::Number(1.0)),
        ("steps", Value::Number(0.0)),
    ]))
    .unwrap_err();
    assert_eq!(
        (err.code.as_str(), err.message.as_str()),
        ("bad-steps", "steps must be positive")
    );

    let err = ode::__LlmosSkill::execute(fields(&[
        ("equation", Value::from("y'' = y")),
        ("y0", Value::Number(1.0)),
    ]))
    .unwrap_err();
    assert_eq!(err.code, "failed");
    assert!(err.message.contains("unknown equation"), "{}", err.message);
}

#[test]
fn bad_inputs_are_errors_naming_the_port() {
    let err =
        ode::__LlmosSkill::execute(fields(&[("equation", Value::from("y' = -y"))])).unwrap_err();
    assert_eq!(err.code, "skill-input-invalid");
    assert_eq!(err.message, "input `y0` is required but has no value");

    let err = ode::__LlmosSkill::execute(fields(&[
        ("equation", Value::from("y' = -y")),
        ("y0", Value::Number(1.0)),
        ("steps", Value::Number(2.5)),
    ]))
    .unwrap_err();
    assert_eq!(err.code, "skill-input-invalid");
    assert_eq!(
        err.message,
        "input `steps` must be an integer from 0 to 4294967295, found the number 2.5"
    );

    let err = ode::__LlmosSkill::execute(fields(&[
        ("equation", Value::Number(1.0)),
        ("y0", Value::Number(1.0)),
    ]))
    .unwrap_err();
    assert_eq!(
        err.message,
        "input `equation` must be text, found the number 1"
    );
}

/// Raw identifiers, every port type, a plain return type and bytes.
mod kinds {
    use llmos_skill::prelude::*;

    #[derive(Outputs)]
    pub struct Echo {
        r#type: String,
        size: usize,
        raw: Bytes,
        meta: Map,
        image: Image,
        mesh: Mesh,
        anything: Value,
        flag: bool,
    }

    #[skill]
    #[allow(clippy::too_many_arguments)]
    fn execute(
        r#type: String,
        data: Bytes,
        meta: Map,
        image: Image,
        mesh: Option<Mesh>,
        anything: Value,
        flags: Vec<bool>,
        R: f64,
    ) -> Echo {
        let _ = R;
        Echo {
            r#type,
            size: data.len(),
            raw: data,
            meta,
            image,
            mesh: mesh.unwrap_or_default(),
            anything,
            flag: flags.iter().all(|f| *f),
        }
    }
}

#[test]
fn every_port_type_passes_through() {
    let d = kinds::__LlmosSkill::describe();
    let types: Vec<(&str, PortType, bool)> = d
        .inputs
        .iter()
        .map(|p| (p.name.as_str(), p.type_, p.required))
        .collect();
    assert_eq!(
        types,
        vec![
            ("type", PortType::String, true),
            ("data", PortType::String, true),
            ("meta", PortType::Object, true),
            ("image", PortType::Image, true),
            ("mesh", PortType::Mesh, false),
            ("anything", PortType::Any, true),
            ("flags", PortType::Array, true),
            ("R", PortType::Number, true),
        ]
    );
    assert_eq!(d.outputs[0].name, "type");

    let meta = Value::object([("k", 1.0)]);
    let out = kinds::__LlmosSkill::execute(fields(&[
        ("type", Value::from("t")),
        (
            "data",
            Value::from("data:application/octet-stream;base64,AAEC"),
        ),
        ("meta", meta.clone()),
        ("image", Value::from("data:image/png;base64,")),
        ("anything", Value::Null),
        ("flags", Value::from(vec![true, true])),
        ("R", Value::Number(1e3)),
    ]))
    .unwrap();
    let out = outputs(out);
    assert_eq!(out["type"], Value::from("t"));
    assert_eq!(out["size"], Value::Number(3.0));
    assert_eq!(out["raw"], Value::Bytes(vec![0, 1, 2]));
    assert_eq!(out["meta"], meta);
    assert_eq!(out["mesh"], Value::Null);
    assert_eq!(out["anything"], Value::Null);
    assert_eq!(out["flag"], Value::Bool(true));
}

mod nothing {
    use llmos_skill::prelude::*;

    #[skill]
    fn execute() {
        log("ran");
    }
}

#[test]
fn a_skill_may_have_no_ports() {
    let d = nothing::__LlmosSkill::describe();
    assert!(d.inputs.is_empty() && d.outputs.is_empty());
    assert_eq!(
        nothing::__LlmosSkill::execute(vec![]).map(|f| f.len()),
        Ok(0)
    );
}
