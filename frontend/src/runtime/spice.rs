//! The `spice` runtime's page side: the netlist is rendered here with the
//! same rules as everywhere else (`llmos_core::skill::netlist`), the spice
//! worker runs ngspice (eecircuit-engine) on it, and its vectors become the
//! `waveform` output `{time, signals}` for the template's `* outputs:` line.

use llmos_core::skill::netlist;
use llmos_core::types::PortSpec;
use serde::Deserialize;
use serde_json::{Map, Value};

/// A rendered netlist and the vectors its run must return, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Simulation {
    pub netlist: String,
    pub vectors: Vec<String>,
}

/// Renders the template with the run's inputs (`"NetlistError: …"` when a
/// value or the template is refused).
pub fn prepare(
    template: &str,
    inputs: &Map<String, Value>,
    ports: &[PortSpec],
) -> Result<Simulation, String> {
    let vectors =
        netlist::output_vectors(template).map_err(|err| format!("NetlistError: {err}"))?;
    let netlist =
        netlist::render(template, inputs, ports).map_err(|err| format!("NetlistError: {err}"))?;
    Ok(Simulation { netlist, vectors })
}

/// What the spice worker reports: eecircuit-engine's vectors.
#[derive(Debug, Deserialize)]
struct EngineResult {
    vectors: Vec<Vector>,
}

#[derive(Debug, Deserialize)]
struct Vector {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    values: Vec<Value>,
}

/// Whether ngspice's name for a vector is the `* outputs:` name `wanted`.
/// Node voltages match by name (`v(out)`); a source's current is `i(v1)`
/// in current ngspice and `v1#branch` in older raw files.
fn names_match(engine: &str, wanted: &str) -> bool {
    let engine = engine.to_ascii_lowercase();
    if engine == wanted {
        return true;
    }
    match (
        wanted.strip_prefix("i(").and_then(|w| w.strip_suffix(')')),
        engine.strip_suffix("#branch"),
    ) {
        (Some(source), Some(branch)) => source == branch,
        _ => false,
    }
}

fn finite_values(vector: &Vector) -> Result<Vec<Value>, String> {
    vector
        .values
        .iter()
        .map(|value| match value.as_f64() {
            Some(x) if x.is_finite() => Ok(value.clone()),
            _ => Err(format!(
                "SpiceError: vector `{}` holds {value}, not a finite real number",
                vector.name
            )),
        })
        .collect()
}

/// The waveform `{time, signals}` with exactly `wanted`, in its order,
/// from the worker's JSON report (`"SpiceError: …"` when a vector is
/// missing or not real).
pub fn waveform(report: &str, wanted: &[String]) -> Result<Value, String> {
    let result: EngineResult = serde_json::from_str(report)
        .map_err(|err| format!("SpiceError: unreadable simulation result: {err}"))?;
    let time = result
        .vectors
        .iter()
        .find(|v| v.kind == "time" || v.name.eq_ignore_ascii_case("time"))
        .ok_or("SpiceError: the simulation has no time vector; is its analysis a .tran?")?;
    let time = finite_values(time)?;
    let mut signals = Map::new();
    for name in wanted {
        let vector = result
            .vectors
            .iter()
            .find(|v| names_match(&v.name, name))
            .ok_or_else(|| {
                let found: Vec<&str> = result.vectors.iter().map(|v| v.name.as_str()).collect();
                format!(
                    "SpiceError: the simulation produced no vector `{name}`; it has {}",
                    found.join(", ")
                )
            })?;
        let values = finite_values(vector)?;
        if values.len() != time.len() {
            return Err(format!(
                "SpiceError: vector `{name}` has {} points for {} times",
                values.len(),
                time.len()
            ));
        }
        signals.insert(name.clone(), Value::Array(values));
    }
    let mut waveform = Map::new();
    waveform.insert("time".into(), Value::Array(time));
    waveform.insert("signals".into(), Value::Object(signals));
    Ok(Value::Object(waveform))
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmos_core::types::PortType;
    use serde_json::json;

    const REPORT: &str = r#"{"numPoints": 3, "vectors": [
        {"name": "time", "type": "time", "values": [0, 0.001, 0.002]},
        {"name": "v(in)", "type": "voltage", "values": [0, 1, 1]},
        {"name": "v(out)", "type": "voltage", "values": [0, 0.63, 0.86]},
        {"name": "v1#branch", "type": "current", "values": [0, -0.0004, -0.0001]}
    ]}"#;

    #[test]
    fn picks_the_outputs_line_vectors_in_order() {
        let wanted = vec!["v(out)".to_owned(), "i(v1)".to_owned()];
        let wave = waveform(REPORT, &wanted).unwrap();
        assert_eq!(wave["time"], json!([0, 0.001, 0.002]));
        assert_eq!(wave["signals"]["v(out)"], json!([0, 0.63, 0.86]));
        assert_eq!(wave["signals"]["i(v1)"], json!([0, -0.0004, -0.0001]));
        assert_eq!(wave["signals"].as_object().unwrap().len(), 2);
    }

    #[test]
    fn a_missing_vector_names_what_exists() {
        let err = waveform(REPORT, &["v(mid)".to_owned()]).unwrap_err();
        assert!(
            err.starts_with("SpiceError: the simulation produced no vector `v(mid)`"),
            "{err}"
        );
        assert!(err.contains("time, v(in), v(out), v1#branch"), "{err}");
    }

    #[test]
    fn renders_the_template_with_the_shared_rules() {
        let template = "RC\n* outputs: v(out)\nR1 in out {{R}}\nC1 out 0 1e-6\nV1 in 0 1\n.tran 1e-5 1e-3\n.end\n";
        let ports = [PortSpec {
            name: "R".into(),
            ty: PortType::Number,
            required: true,
            default: None,
            description: None,
        }];
        let inputs = json!({"R": 1000}).as_object().unwrap().clone();
        let sim = prepare(template, &inputs, &ports).unwrap();
        assert!(sim.netlist.contains("R1 in out 1e3\n"), "{}", sim.netlist);
        assert_eq!(sim.vectors, ["v(out)"]);
        let bad = json!({"R": "1k\n.control"}).as_object().unwrap().clone();
        assert!(
            prepare(template, &bad, &ports)
                .unwrap_err()
                .starts_with("NetlistError: ")
        );
    }
}
