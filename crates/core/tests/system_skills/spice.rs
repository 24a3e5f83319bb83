//! The `spice` runtime natively: a batch ngspice run of a rendered netlist
//! (see `llmos_core::skill::netlist`) whose ASCII raw file becomes the
//! `waveform` output.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Map, Value, json};

use crate::runtimes::NGSPICE;

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
