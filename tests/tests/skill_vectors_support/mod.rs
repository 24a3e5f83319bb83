//! The shared test vectors of the compiled system skills
//! (`tests/cases/skill-vectors/<skill_id>.json`: inputs → expected outputs
//! or error code) and what every place that runs them needs: the shipped
//! component, the inputs with the skill file's defaults filled in as the
//! workflow engine fills them, and one canonical JSON text of a result.
//!
//! The canonical text is `serde_json`'s compact rendering of the outputs
//! object (keys sorted). Expected values are read with `float_roundtrip`
//! (see tests/Cargo.toml), so a decimal in a vector file reads back as
//! exactly the double it names.
#![allow(dead_code)]

use std::path::PathBuf;

use llmos_core::skill;
use llmos_tests::workspace_root;
use serde_json::{Map, Value};

/// What the vectors expect of one case.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    /// The outputs, as canonical text.
    Outputs(String),
    /// The node fails with this error code.
    Error(String),
}

/// One case of a vector file.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    /// The inputs as the file gives them.
    pub inputs: Map<String, Value>,
    /// The inputs with the skill file's defaults added.
    pub full_inputs: Map<String, Value>,
    pub expected: Expected,
}

/// A skill's vectors.
#[derive(Debug, Clone)]
pub struct Vectors {
    pub skill_id: String,
    pub skill_text: String,
    pub cases: Vec<Case>,
}

/// Every vector file, sorted by skill id.
pub fn all() -> Vec<Vectors> {
    let dir = workspace_root().join("tests/cases/skill-vectors");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no vector files in {}", dir.display());
    files.iter().map(|f| read(f)).collect()
}

fn read(path: &std::path::Path) -> Vectors {
    let text = std::fs::read_to_string(path).expect("read a vector file");
    let file: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let skill_id = file["skill_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{}: no skill_id", path.display()))
        .to_owned();
    let skill_path = workspace_root().join(format!("volumes/system/skills/{skill_id}.md"));
    let skill_text = std::fs::read_to_string(&skill_path)
        .unwrap_or_else(|e| panic!("{}: {e}", skill_path.display()));
    let parsed = skill::parse(Some(&format!("skills/{skill_id}.md")), &skill_text)
        .unwrap_or_else(|e| panic!("{e}"));
    let cases = file["cases"]
        .as_array()
        .unwrap_or_else(|| panic!("{}: no cases", path.display()))
        .iter()
        .map(|c| {
            let name = c["name"].as_str().unwrap_or("unnamed").to_owned();
            let inputs = c["inputs"].as_object().cloned().unwrap_or_default();
            let mut full_inputs = inputs.clone();
            for port in parsed.inputs() {
                if let Some(default) = &port.default {
                    full_inputs
                        .entry(port.name.clone())
                        .or_insert_with(|| default.clone());
                }
            }
            let expected = match (c.get("outputs"), c.get("error")) {
                (Some(Value::Object(o)), None) => Expected::Outputs(canonical(o)),
                (None, Some(e)) => Expected::Error(
                    e["code"]
                        .as_str()
                        .unwrap_or_else(|| panic!("{skill_id} `{name}`: error without code"))
                        .to_owned(),
                ),
                _ => panic!("{skill_id} `{name}`: needs `outputs` or `error`"),
            };
            Case {
                name,
                inputs,
                full_inputs,
                expected,
            }
        })
        .collect();
    Vectors {
        skill_id,
        skill_text,
        cases,
    }
}

/// The one text of an outputs object every place is compared on.
pub fn canonical(outputs: &Map<String, Value>) -> String {
    serde_json::to_string(outputs).expect("JSON values serialise")
}

/// The shipped component of a system skill, built beside its file by
/// `scripts/build-system-skills.sh` (part of `llmos build`).
pub fn system_component(skill_id: &str) -> Vec<u8> {
    let path = workspace_root().join(format!("volumes/system/skills/{skill_id}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; build the system skills first with scripts/build-system-skills.sh (or ./dev build)",
            path.display()
        )
    })
}
