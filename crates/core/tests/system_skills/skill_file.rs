//! Loading a system skill file for the checks, through the real skill
//! parser, with the accessors the native runtimes need.

use std::path::{Path, PathBuf};

use llmos_core::ids::SkillId;
use llmos_core::skill::{self, Skill};
use llmos_core::types::PortType;
use llmos_core::workflow::compat::value_matches;
use serde_json::{Map, Value};

/// Where the shipped skills live, relative to this crate.
pub fn skills_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../volumes/system/skills")
}

pub struct SkillFile {
    /// The file name without `.md`.
    pub stem: String,
    pub path: PathBuf,
    pub skill: Skill,
}

pub struct CodeBlock {
    pub info: String,
    pub code: String,
}

#[derive(Debug, Clone)]
pub struct Port {
    pub name: String,
    pub ty: PortType,
    pub default: Option<Value>,
    pub required: bool,
}

impl SkillFile {
    /// Parses `path` as the skill whose id is the file name, so a file
    /// whose `skill_id` differs from its name is refused.
    pub fn read(path: &Path) -> Result<SkillFile, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| format!("{}: file name is not UTF-8", path.display()))?
            .to_owned();
        let id = SkillId::new(&stem).map_err(|e| format!("{}: {e}", path.display()))?;
        let hint = format!("skills/{stem}.md");
        let skill = skill::parse_as(&id, Some(&hint), &text).map_err(|e| e.to_string())?;
        Ok(SkillFile {
            stem,
            path: path.to_owned(),
            skill,
        })
    }

    pub fn load(id: &str) -> SkillFile {
        let path = skills_dir().join(format!("{id}.md"));
        SkillFile::read(&path).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn all() -> Vec<SkillFile> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(skills_dir())
            .expect("volumes/system/skills exists")
            .map(|entry| entry.expect("readable directory entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == "md"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|p| SkillFile::read(p).unwrap_or_else(|e| panic!("{e}")))
            .collect()
    }

    /// The runtime name of an executable skill (`python-wasm`, …).
    pub fn skill_type(&self) -> Option<&str> {
        self.skill.runtime().map(|r| r.as_str())
    }

    /// The single code block of an executable skill.
    pub fn code(&self) -> CodeBlock {
        let block = self
            .skill
            .code()
            .unwrap_or_else(|| panic!("{}: not an executable skill", self.path.display()));
        CodeBlock {
            info: block.language.clone(),
            code: block.code.clone(),
        }
    }

    /// `inputs` or `outputs` as ports.
    pub fn ports(&self, key: &str) -> Vec<Port> {
        let specs = match key {
            "inputs" => self.skill.inputs(),
            "outputs" => self.skill.outputs(),
            other => panic!("no port list `{other}`"),
        };
        specs
            .iter()
            .map(|spec| Port {
                name: spec.name.clone(),
                ty: spec.ty,
                default: spec.default.clone(),
                required: spec.required && spec.default.is_none(),
            })
            .collect()
    }

    /// The inputs object a runtime hands to the skill: each declared input
    /// takes the given value, else its default; optional inputs without
    /// either are left out. Unknown inputs, missing required ones and values
    /// of the wrong type are refused, as a runtime refuses them before
    /// running anything.
    pub fn inputs_with(&self, given: &Value) -> Result<Map<String, Value>, String> {
        let given = given
            .as_object()
            .expect("inputs are given as a JSON object");
        let ports = self.ports("inputs");
        if let Some(name) = given.keys().find(|n| !ports.iter().any(|p| &p.name == *n)) {
            return Err(format!("{} has no input `{name}`", self.stem));
        }
        let mut inputs = Map::new();
        for port in ports {
            match given.get(&port.name).or(port.default.as_ref()) {
                Some(value) if value_matches(port.ty, value) => {
                    inputs.insert(port.name.clone(), value.clone());
                }
                Some(value) => {
                    return Err(format!(
                        "input `{}` must be a {}, got {value}",
                        port.name, port.ty
                    ));
                }
                None if port.required => {
                    return Err(format!("required input `{}` has no value", port.name));
                }
                None => {}
            }
        }
        Ok(inputs)
    }
}
