//! A component's own description of its ports, and the check that it
//! agrees with the skill file's front matter.
//!
//! The front matter is what validation, the canvas and the chat see; the
//! component is what runs. They must name the same ports with the same
//! types, so that a workflow that validates cannot feed a component what
//! it does not expect. `required` is compared one way only: an input the
//! file declares with a default is always supplied by the host, so the
//! component may require it; an input the file leaves optional without a
//! default must be optional in the component too.

use llmos_core::types::{PortSpec, PortType};
use wasm_component_layer::Value;

use crate::{DescribedPort, Description};

/// Where a component and its skill file disagree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortMismatch {
    #[error("the skill file declares {side} `{port}`, which the component does not have")]
    MissingInComponent { side: &'static str, port: String },
    #[error("the component has {side} `{port}`, which the skill file does not declare")]
    MissingInFile { side: &'static str, port: String },
    #[error("{side} `{port}` is `{file}` in the skill file but `{component}` in the component")]
    Type {
        side: &'static str,
        port: String,
        file: PortType,
        component: PortType,
    },
    #[error(
        "input `{port}` is optional without a default in the skill file, but the component requires it"
    )]
    Required { port: String },
}

impl PortMismatch {
    /// The port named by the mismatch.
    pub fn port(&self) -> &str {
        match self {
            PortMismatch::MissingInComponent { port, .. }
            | PortMismatch::MissingInFile { port, .. }
            | PortMismatch::Type { port, .. }
            | PortMismatch::Required { port } => port,
        }
    }
}

/// The first disagreement between `description` and the file's ports,
/// inputs before outputs, in the file's order.
pub fn check_ports(
    description: &Description,
    inputs: &[PortSpec],
    outputs: &[PortSpec],
) -> Result<(), PortMismatch> {
    check_side("input", &description.inputs, inputs, true)?;
    check_side("output", &description.outputs, outputs, false)
}

fn check_side(
    side: &'static str,
    described: &[DescribedPort],
    declared: &[PortSpec],
    inputs: bool,
) -> Result<(), PortMismatch> {
    for spec in declared {
        let Some(port) = described.iter().find(|p| p.name == spec.name) else {
            return Err(PortMismatch::MissingInComponent {
                side,
                port: spec.name.clone(),
            });
        };
        if port.ty != spec.ty {
            return Err(PortMismatch::Type {
                side,
                port: spec.name.clone(),
                file: spec.ty,
                component: port.ty,
            });
        }
        if inputs && port.required && !spec.required && spec.default.is_none() {
            return Err(PortMismatch::Required {
                port: spec.name.clone(),
            });
        }
    }
    if let Some(extra) = described
        .iter()
        .find(|p| !declared.iter().any(|d| d.name == p.name))
    {
        return Err(PortMismatch::MissingInFile {
            side,
            port: extra.name.clone(),
        });
    }
    Ok(())
}

/// Reads a `skill-description` record.
pub(crate) fn description(value: &Value) -> Result<Description, String> {
    let Value::Record(r) = value else {
        return Err("`describe` did not return a record".into());
    };
    let text = |name: &str| match r.field(name) {
        Some(Value::String(s)) => Ok(s.to_string()),
        _ => Err(format!("skill-description has no string `{name}`")),
    };
    let ports = |name: &str| -> Result<Vec<DescribedPort>, String> {
        let Some(Value::List(list)) = r.field(name) else {
            return Err(format!("skill-description has no list `{name}`"));
        };
        let mut out: Vec<DescribedPort> = Vec::with_capacity(list.len());
        for item in list.iter() {
            let Value::Record(p) = item else {
                return Err(format!("an entry of `{name}` is not a port record"));
            };
            let Some(Value::String(port)) = p.field("name") else {
                return Err(format!("a port of `{name}` has no name"));
            };
            let Some(Value::Enum(e)) = p.field("type") else {
                return Err(format!("port `{port}` has no type"));
            };
            let case = e
                .ty()
                .cases()
                .nth(e.discriminant())
                .ok_or_else(|| format!("port `{port}` has an unknown type"))?
                .to_owned();
            let ty: PortType = case
                .parse()
                .map_err(|_| format!("port `{port}` has the unknown type `{case}`"))?;
            let Some(Value::Bool(required)) = p.field("required") else {
                return Err(format!("port `{port}` has no `required`"));
            };
            if out.iter().any(|o| *o.name == *port) {
                return Err(format!("`{name}` lists port `{port}` twice"));
            }
            out.push(DescribedPort {
                name: port.to_string(),
                ty,
                required,
            });
        }
        Ok(out)
    };
    Ok(Description {
        name: text("name")?,
        version: text("version")?,
        inputs: ports("inputs")?,
        outputs: ports("outputs")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn described(name: &str, ty: PortType, required: bool) -> DescribedPort {
        DescribedPort {
            name: name.into(),
            ty,
            required,
        }
    }

    fn desc(inputs: Vec<DescribedPort>, outputs: Vec<DescribedPort>) -> Description {
        Description {
            name: "s".into(),
            version: "1".into(),
            inputs,
            outputs,
        }
    }

    #[test]
    fn agreeing_ports_pass() {
        let mut steps = PortSpec::new("steps", PortType::Number);
        steps.required = false;
        steps.default = Some(serde_json::json!(100));
        let d = desc(
            vec![
                described("x", PortType::Number, true),
                // The host supplies the default, so requiring it is fine.
                described("steps", PortType::Number, true),
            ],
            vec![described("y", PortType::Array, true)],
        );
        let inputs = [PortSpec::new("x", PortType::Number), steps];
        let outputs = [PortSpec::new("y", PortType::Array)];
        assert_eq!(check_ports(&d, &inputs, &outputs), Ok(()));
    }

    #[test]
    fn names_the_port_that_disagrees() {
        let d = desc(
            vec![described("x", PortType::String, true)],
            vec![described("y", PortType::Number, true)],
        );
        let err = check_ports(&d, &[PortSpec::new("x", PortType::Number)], &[]).unwrap_err();
        assert_eq!(err.port(), "x");
        assert!(
            err.to_string()
                .contains("`number` in the skill file but `string`"),
            "{err}"
        );

        let err = check_ports(
            &desc(vec![], vec![]),
            &[PortSpec::new("x", PortType::Number)],
            &[],
        )
        .unwrap_err();
        assert_eq!(
            err,
            PortMismatch::MissingInComponent {
                side: "input",
                port: "x".into()
            }
        );

        let d = desc(vec![], vec![described("extra", PortType::Any, true)]);
        let err = check_ports(&d, &[], &[]).unwrap_err();
        assert_eq!(
            err,
            PortMismatch::MissingInFile {
                side: "output",
                port: "extra".into()
            }
        );

        let mut optional = PortSpec::new("o", PortType::Number);
        optional.required = false;
        let d = desc(vec![described("o", PortType::Number, true)], vec![]);
        let err = check_ports(&d, &[optional], &[]).unwrap_err();
        assert_eq!(err, PortMismatch::Required { port: "o".into() });
    }
}
