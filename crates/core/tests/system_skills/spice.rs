//! The `spice` runtime contract, natively: template rules, placeholder
//! substitution that no input value can escape, and a batch ngspice run whose
//! ASCII raw file becomes the `waveform` output.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Map, Value, json};

use crate::runtimes::NGSPICE;
use crate::skill_file::Port;

/// Dot cards a template may not contain: control scripts can run shell
/// commands and the others read files, both the runtime's business.
const FORBIDDEN_CARDS: [&str; 5] = [".control", ".endc", ".include", ".inc", ".lib"];

/// Longest string value substituted into a netlist.
const MAX_TOKEN_LEN: usize = 64;

/// The vectors named by the template's `* outputs:` line.
pub fn output_vectors(template: &str) -> Result<Vec<String>, String> {
    let lines: Vec<&str> = template
        .lines()
        .filter_map(|line| line.trim().strip_prefix("* outputs:"))
        .collect();
    match lines.as_slice() {
        [one] => {
            let vectors: Vec<String> = one.split_whitespace().map(str::to_owned).collect();
            if vectors.is_empty() {
                return Err("the `* outputs:` line names no vectors".into());
            }
            if let Some(bad) = vectors.iter().find(|v| v.to_lowercase() != **v) {
                return Err(format!(
                    "output vector `{bad}` must be written in lowercase"
                ));
            }
            Ok(vectors)
        }
        [] => Err("the netlist has no `* outputs:` line".into()),
        _ => Err("the netlist has more than one `* outputs:` line".into()),
    }
}

/// Structural rules of a template (before or after substitution).
pub fn check_netlist(netlist: &str) -> Result<(), String> {
    let mut analyses = 0;
    for (index, line) in netlist.lines().enumerate().skip(1) {
        let card = line.split_whitespace().next().unwrap_or("").to_lowercase();
        if FORBIDDEN_CARDS.contains(&card.as_str()) {
            return Err(format!(
                "line {}: `{card}` is not allowed in a skill netlist",
                index + 1
            ));
        }
        analyses += usize::from(card == ".tran");
    }
    if analyses != 1 {
        return Err(format!(
            "the netlist has {analyses} `.tran` analyses, expected one"
        ));
    }
    let last = netlist
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("");
    if !last.trim().eq_ignore_ascii_case(".end") {
        return Err("the netlist does not end with `.end`".into());
    }
    Ok(())
}

/// Shortest exponent notation that reads back exactly: `1e3`, `1.5e-6`.
pub fn format_number(value: f64) -> String {
    format!("{value:e}")
}

fn is_safe_token(text: &str) -> bool {
    (1..=MAX_TOKEN_LEN).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-'))
}

/// Replaces every `{{name}}` with the value of input `name`, by its type.
pub fn render(
    template: &str,
    inputs: &Map<String, Value>,
    ports: &[Port],
) -> Result<String, String> {
    check_netlist(template)?;
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| {
            format!(
                "unclosed placeholder `{{{{{}`",
                after.lines().next().unwrap_or("")
            )
        })?;
        let name = &after[..end];
        let port = ports
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| format!("placeholder `{{{{{name}}}}}` names no declared input"))?;
        let value = inputs
            .get(name)
            .ok_or_else(|| format!("input `{name}` has no value"))?;
        out.push_str(&substitute(name, &port.ty, value)?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    check_netlist(&out)?;
    Ok(out)
}

fn substitute(name: &str, ty: &str, value: &Value) -> Result<String, String> {
    let refused = |why: &str| Err(format!("input `{name}` {why}, got {value}"));
    match (ty, value) {
        ("number", Value::Number(n)) => match n.as_f64().filter(|f| f.is_finite()) {
            Some(f) => Ok(format_number(f)),
            None => refused("must be a finite number"),
        },
        ("number", _) => refused("must be a number"),
        ("string", Value::String(s)) if is_safe_token(s) => Ok(s.clone()),
        ("string", _) => {
            refused("must be one SPICE token of letters, digits and `_.+-` (at most 64)")
        }
        ("boolean", Value::Bool(b)) => Ok(if *b { "1" } else { "0" }.to_owned()),
        ("boolean", _) => refused("must be true or false"),
        _ => refused(&format!(
            "has type `{ty}`, which cannot be written into a netlist"
        )),
    }
}

/// A private scratch directory under cargo's test temp dir.
fn scratch_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "spice-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("scratch directory can be created");
    dir
}

/// Runs ngspice in batch mode and returns `{time, signals}` for `vectors`.
pub fn simulate(netlist: &str, vectors: &[String]) -> Result<Value, String> {
    let dir = scratch_dir();
    let circuit = dir.join("circuit.cir");
    let raw = dir.join("circuit.raw");
    std::fs::write(&circuit, netlist).expect("netlist can be written");
    let output = NGSPICE
        .command()
        .arg("-b")
        .arg("-r")
        .arg(&raw)
        .arg(&circuit)
        .env("SPICE_ASCIIRAWFILE", "1")
        .current_dir(&dir)
        .output()
        .expect("ngspice runs");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&raw).map_err(|e| {
        format!(
            "ngspice wrote no raw file ({e}; status {}):\n{log}",
            output.status
        )
    })?;
    let result = parse_ascii_raw(&text, vectors).map_err(|e| format!("{e}\n{log}"));
    std::fs::remove_dir_all(&dir).ok();
    result
}

/// Reads an ngspice ASCII raw file: a header with `No. Variables`,
/// `No. Points` and the `Variables:` list, then `Values:` with, for each
/// point, its index followed by one number per variable.
fn parse_ascii_raw(text: &str, vectors: &[String]) -> Result<Value, String> {
    let (header, values) = text
        .split_once("\nValues:\n")
        .ok_or("raw file has no `Values:` section (is it binary?)")?;
    let count = |label: &str| -> Result<usize, String> {
        header
            .lines()
            .find_map(|line| line.strip_prefix(label))
            .and_then(|n| n.trim().parse().ok())
            .ok_or(format!("raw file has no `{label}` line"))
    };
    let variables = count("No. Variables:")?;
    let points = count("No. Points:")?;
    let names: Vec<String> = header
        .split_once("Variables:\n")
        .map(|(_, list)| list)
        .ok_or("raw file has no variable list")?
        .lines()
        .take(variables)
        .map(|line| line.split_whitespace().nth(1).unwrap_or("").to_lowercase())
        .collect();
    let numbers: Vec<f64> = values
        .split_whitespace()
        .map(|token| {
            token
                .parse::<f64>()
                .map_err(|e| format!("bad number `{token}` in raw file: {e}"))
        })
        .collect::<Result<_, _>>()?;
    if numbers.len() != points * (variables + 1) {
        return Err(format!(
            "raw file holds {} numbers, expected {points} points of {variables} variables",
            numbers.len()
        ));
    }
    let column = |index: usize| -> Vec<f64> {
        numbers
            .chunks(variables + 1)
            .map(|row| row[index + 1])
            .collect()
    };
    let time_index = names
        .iter()
        .position(|n| n == "time")
        .ok_or("the simulation has no time vector")?;
    let mut signals = Map::new();
    for vector in vectors {
        let index = names.iter().position(|n| n == vector).ok_or_else(|| {
            format!(
                "vector `{vector}` is not in the results ({})",
                names.join(", ")
            )
        })?;
        signals.insert(vector.clone(), json!(column(index)));
    }
    Ok(json!({ "time": column(time_index), "signals": signals }))
}

/// Linear interpolation of `signal` at time `t`.
pub fn sample_at(waveform: &Value, signal: &str, t: f64) -> f64 {
    let series = |v: &Value| -> Vec<f64> {
        v.as_array()
            .expect("waveform series are arrays")
            .iter()
            .map(|x| x.as_f64().expect("waveform values are numbers"))
            .collect()
    };
    let time = series(&waveform["time"]);
    let values = series(&waveform["signals"][signal]);
    assert_eq!(time.len(), values.len(), "one value of {signal} per time");
    let after = time.partition_point(|&x| x < t);
    assert!(
        after > 0 && after < time.len(),
        "t = {t} lies outside the simulated span"
    );
    let (t0, t1) = (time[after - 1], time[after]);
    let (v0, v1) = (values[after - 1], values[after]);
    v0 + (v1 - v0) * (t - t0) / (t1 - t0)
}
