//! The `spice` runtime's netlist templates: the rules a template follows
//! and the substitution of input values into `{{name}}` placeholders.
//!
//! The same code checks a template when a skill file is parsed and renders
//! it before a run, in the browser (compiled to wasm, feeding
//! eecircuit-engine) and natively (feeding the `ngspice` CLI), so a value
//! that is refused in one place is refused everywhere.
//!
//! A template:
//! - has exactly one `.tran` analysis (the output is a `waveform`, a
//!   function of time) and ends with `.end`;
//! - contains no `.control`/`.endc` script (it could run shell commands)
//!   and no `.include`/`.inc`/`.lib` (they read files) — the runtime owns
//!   both;
//! - names the vectors it returns on one `* outputs: v(out) v(in)` comment
//!   line, in lower case as ngspice reports them;
//! - uses `{{name}}` only for declared inputs.

use serde_json::{Map, Value};

use crate::types::{PortSpec, PortType};

/// Cards a template may not contain.
pub const FORBIDDEN_CARDS: [&str; 5] = [".control", ".endc", ".include", ".inc", ".lib"];

/// Longest string value substituted into a netlist.
pub const MAX_TOKEN_LEN: usize = 64;

/// Why a template or a rendered netlist is refused; `line` is 1-based
/// within the template, when one line is at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{reason}", line.map(|l| format!("netlist line {l}: ")).unwrap_or_default())]
pub struct NetlistError {
    pub line: Option<usize>,
    pub reason: String,
}

impl NetlistError {
    fn at(line: usize, reason: impl Into<String>) -> Self {
        NetlistError {
            line: Some(line),
            reason: reason.into(),
        }
    }

    fn whole(reason: impl Into<String>) -> Self {
        NetlistError {
            line: None,
            reason: reason.into(),
        }
    }
}

/// Checks the structure of a template, or of a rendered netlist.
pub fn check_structure(netlist: &str) -> Result<(), NetlistError> {
    let mut analyses = 0;
    // The first line of a netlist is its title, whatever it says.
    for (index, line) in netlist.lines().enumerate().skip(1) {
        let card = line
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if FORBIDDEN_CARDS.contains(&card.as_str()) {
            return Err(NetlistError::at(
                index + 1,
                format!("`{card}` is not allowed in a skill netlist"),
            ));
        }
        analyses += usize::from(card == ".tran");
    }
    if analyses != 1 {
        return Err(NetlistError::whole(format!(
            "the netlist has {analyses} `.tran` analyses, expected exactly one"
        )));
    }
    let last = netlist
        .lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty())
        .unwrap_or("");
    if !last.eq_ignore_ascii_case(".end") {
        return Err(NetlistError::whole("the netlist does not end with `.end`"));
    }
    Ok(())
}

/// The vectors named by the template's `* outputs:` line.
pub fn output_vectors(template: &str) -> Result<Vec<String>, NetlistError> {
    let lines: Vec<(usize, &str)> = template
        .lines()
        .enumerate()
        .filter_map(|(i, line)| Some((i + 1, line.trim().strip_prefix("* outputs:")?)))
        .collect();
    match lines.as_slice() {
        [(line, names)] => {
            let vectors: Vec<String> = names.split_whitespace().map(str::to_owned).collect();
            if vectors.is_empty() {
                return Err(NetlistError::at(
                    *line,
                    "the `* outputs:` line names no vectors",
                ));
            }
            if let Some(bad) = vectors.iter().find(|v| v.to_lowercase() != **v) {
                return Err(NetlistError::at(
                    *line,
                    format!("output vector `{bad}` must be written in lower case"),
                ));
            }
            Ok(vectors)
        }
        [] => Err(NetlistError::whole(
            "the netlist has no `* outputs: <vectors>` line",
        )),
        [_, (line, _), ..] => Err(NetlistError::at(
            *line,
            "the netlist has more than one `* outputs:` line",
        )),
    }
}

/// The placeholders of a template with their lines, in order.
pub fn placeholders(template: &str) -> Result<Vec<(usize, String)>, NetlistError> {
    let mut found = Vec::new();
    for (i, line) in template.lines().enumerate() {
        let mut rest = line;
        while let Some(open) = rest.find("{{") {
            let after = &rest[open + 2..];
            let close = after.find("}}").ok_or_else(|| {
                NetlistError::at(i + 1, "placeholder `{{` is never closed by `}}`")
            })?;
            found.push((i + 1, after[..close].trim().to_owned()));
            rest = &after[close + 2..];
        }
    }
    Ok(found)
}

/// Every rule of the module docs, for a template whose inputs are `inputs`.
pub fn check_template(template: &str, inputs: &[PortSpec]) -> Result<(), NetlistError> {
    check_structure(template)?;
    output_vectors(template)?;
    for (line, name) in placeholders(template)? {
        if !inputs.iter().any(|p| p.name == name) {
            return Err(NetlistError::at(
                line,
                format!("placeholder `{{{{{name}}}}}` names no declared input"),
            ));
        }
    }
    Ok(())
}

/// Exponent notation that reads back exactly and that SPICE cannot
/// misread: `1e3`, `1.5e-6` — never a suffix, since SPICE reads `M` as
/// milli and `F` as femto.
pub fn format_number(value: f64) -> String {
    format!("{value:e}")
}

fn is_safe_token(text: &str) -> bool {
    (1..=MAX_TOKEN_LEN).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-'))
}

/// The text written for `value` of input `name` of type `ty`.
fn substitute(name: &str, ty: PortType, value: &Value) -> Result<String, NetlistError> {
    let refused = |why: &str| {
        Err(NetlistError::whole(format!(
            "input `{name}` {why}, got {value}"
        )))
    };
    match (ty, value) {
        (PortType::Number, Value::Number(n)) => match n.as_f64().filter(|f| f.is_finite()) {
            Some(f) => Ok(format_number(f)),
            None => refused("must be a finite number"),
        },
        (PortType::Number, _) => refused("must be a number"),
        (PortType::String, Value::String(s)) if is_safe_token(s) => Ok(s.clone()),
        (PortType::String, _) => {
            refused("must be one SPICE token of letters, digits and `_.+-` (at most 64)")
        }
        (PortType::Boolean, Value::Bool(b)) => Ok(if *b { "1" } else { "0" }.to_owned()),
        (PortType::Boolean, _) => refused("must be true or false"),
        _ => refused(&format!(
            "has type `{ty}`, which cannot be written into a netlist"
        )),
    }
}

/// Replaces every `{{name}}` of `template` with the value of input `name`,
/// written according to its declared type, and checks the result.
pub fn render(
    template: &str,
    inputs: &Map<String, Value>,
    ports: &[PortSpec],
) -> Result<String, NetlistError> {
    check_structure(template)?;
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| NetlistError::whole("placeholder `{{` is never closed by `}}`"))?;
        let name = after[..end].trim();
        let port = ports.iter().find(|p| p.name == name).ok_or_else(|| {
            NetlistError::whole(format!(
                "placeholder `{{{{{name}}}}}` names no declared input"
            ))
        })?;
        let value = inputs
            .get(name)
            .ok_or_else(|| NetlistError::whole(format!("input `{name}` has no value")))?;
        out.push_str(&substitute(name, port.ty, value)?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    check_structure(&out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RC: &str = "RC low-pass\n* outputs: v(out)\nV1 in 0 PULSE(0 1 0 1n 1n 1 2)\nR1 in out {{R}}\nC1 out 0 {{C}}\n.tran 1e-5 5e-3\n.end\n";

    #[test]
    fn renders_numbers_in_exponent_notation() {
        let ports = [
            PortSpec::new("R", PortType::Number),
            PortSpec::new("C", PortType::Number),
        ];
        let inputs = json!({"R": 1000, "C": 0.000001});
        let out = render(RC, inputs.as_object().unwrap(), &ports).unwrap();
        assert!(out.contains("R1 in out 1e3\n"), "{out}");
        assert!(out.contains("C1 out 0 1e-6\n"), "{out}");
        assert_eq!(output_vectors(RC).unwrap(), ["v(out)"]);
    }

    #[test]
    fn values_cannot_inject_cards() {
        let ports = [
            PortSpec::new("R", PortType::String),
            PortSpec::new("C", PortType::Number),
        ];
        let inputs = json!({"R": "1k\n.control\nshell rm -rf /\n.endc", "C": 1});
        let err = render(RC, inputs.as_object().unwrap(), &ports).unwrap_err();
        assert!(err.reason.contains("one SPICE token"), "{err}");
        let inputs = json!({"R": "1e3", "C": "1e-6"});
        assert!(render(RC, inputs.as_object().unwrap(), &ports).is_err());
    }

    #[test]
    fn templates_follow_the_rules() {
        let ports = [
            PortSpec::new("R", PortType::Number),
            PortSpec::new("C", PortType::Number),
        ];
        assert!(check_template(RC, &ports).is_ok());
        let control = RC.replace(".tran", ".control\n.endc\n.tran");
        assert_eq!(check_template(&control, &ports).unwrap_err().line, Some(6));
        let two = RC.replace(".end\n", ".tran 1 2\n.end\n");
        assert!(check_template(&two, &ports).is_err());
        let unterminated = RC.replace("\n.end\n", "\n");
        assert!(check_template(&unterminated, &ports).is_err());
        let no_outputs = RC.replace("* outputs: v(out)\n", "");
        assert!(check_template(&no_outputs, &ports).is_err());
        let unknown = check_template(RC, &ports[..1]).unwrap_err();
        assert_eq!(unknown.line, Some(5));
    }
}
