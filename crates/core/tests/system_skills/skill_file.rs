//! Loading a system skill file for the checks: its front matter as JSON, its
//! Markdown body, its fenced code blocks and its declared ports. A simple,
//! local reading of the format in `docs/skills.md`, enough to run the skills.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::front_matter;

/// Where the shipped skills live, relative to this crate.
pub fn skills_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../volumes/system/skills")
}

pub struct SkillFile {
    /// The file name without `.md`.
    pub stem: String,
    pub path: PathBuf,
    pub meta: Map<String, Value>,
    pub body: String,
    /// File line (1-based) of the body's first line.
    pub body_line: usize,
}

pub struct CodeBlock {
    pub info: String,
    pub code: String,
    /// File line of the opening fence.
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct Port {
    pub name: String,
    pub ty: String,
    pub default: Option<Value>,
    pub required: bool,
}

impl SkillFile {
    pub fn read(path: &Path) -> Result<SkillFile, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| format!("{}: file name is not UTF-8", path.display()))?
            .to_owned();
        let rest = text
            .strip_prefix("---\n")
            .ok_or_else(|| format!("{}: does not start with a `---` line", path.display()))?;
        let end = rest
            .find("\n---\n")
            .ok_or_else(|| format!("{}: front matter has no closing `---` line", path.display()))?;
        let meta =
            front_matter::parse(&rest[..end], 2).map_err(|e| format!("{}: {e}", path.display()))?;
        let front_lines = rest[..end].lines().count();
        Ok(SkillFile {
            stem,
            path: path.to_owned(),
            meta,
            body: rest[end + "\n---\n".len()..].to_owned(),
            // Opening `---`, the front matter, closing `---`.
            body_line: front_lines + 3,
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

    pub fn str_field(&self, key: &str) -> Option<&str> {
        self.meta.get(key).and_then(Value::as_str)
    }

    pub fn skill_type(&self) -> Option<&str> {
        self.str_field("type")
    }

    /// Fenced code blocks of the body (``` or ~~~, up to three spaces of
    /// indentation, closed by a fence of the same character at least as long).
    pub fn code_blocks(&self) -> Result<Vec<CodeBlock>, String> {
        let mut blocks = Vec::new();
        let mut open: Option<(char, usize, String, usize, Vec<&str>)> = None;
        for (offset, line) in self.body.lines().enumerate() {
            let number = self.body_line + offset;
            let indent = line.len() - line.trim_start_matches(' ').len();
            let trimmed = line.trim_start_matches(' ');
            let fence = if indent <= 3 { fence_of(trimmed) } else { None };
            match (&mut open, fence) {
                (None, Some((c, len))) => {
                    let info = trimmed[len * c.len_utf8()..].trim().to_owned();
                    open = Some((c, len, info, number, Vec::new()));
                }
                (Some((c, len, _, _, _)), Some((fc, flen)))
                    if fc == *c && flen >= *len && trimmed[flen..].trim().is_empty() =>
                {
                    let (_, _, info, line, lines) = open.take().expect("a block is open");
                    let mut code = lines.join("\n");
                    code.push('\n');
                    blocks.push(CodeBlock { info, code, line });
                }
                (Some((_, _, _, _, lines)), _) => lines.push(line),
                (None, None) => {}
            }
        }
        match open {
            Some((_, _, _, line, _)) => Err(format!(
                "{}:{line}: code block is never closed",
                self.path.display()
            )),
            None => Ok(blocks),
        }
    }

    /// The single code block of an executable skill.
    pub fn code(&self) -> CodeBlock {
        let mut blocks = self.code_blocks().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            blocks.len(),
            1,
            "{}: executable skills have exactly one code block",
            self.path.display()
        );
        blocks.remove(0)
    }

    /// `inputs` or `outputs` as ports; malformed entries are reported by the
    /// well-formedness check, here they panic.
    pub fn ports(&self, key: &str) -> Vec<Port> {
        let Some(list) = self.meta.get(key) else {
            return Vec::new();
        };
        list.as_array()
            .unwrap_or_else(|| panic!("{}: `{key}` is not a list", self.path.display()))
            .iter()
            .map(|entry| {
                let field = |name: &str| entry.get(name).and_then(Value::as_str).map(str::to_owned);
                let default = entry.get("default").cloned();
                let required = entry
                    .get("required")
                    .and_then(Value::as_bool)
                    .unwrap_or(true)
                    && default.is_none();
                Port {
                    name: field("name")
                        .unwrap_or_else(|| panic!("{}: a port has no name", self.path.display())),
                    ty: field("type")
                        .unwrap_or_else(|| panic!("{}: a port has no type", self.path.display())),
                    default,
                    required,
                }
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
                Some(value) if fits(&port.ty, value) => {
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

/// Whether a JSON value may travel on a port of type `ty`.
fn fits(ty: &str, value: &Value) -> bool {
    match ty {
        "number" => value.as_f64().is_some_and(f64::is_finite),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => true,
    }
}

/// The fence character and its length when `line` opens or closes a fence.
fn fence_of(line: &str) -> Option<(char, usize)> {
    let c = line.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = line.chars().take_while(|x| *x == c).count();
    (len >= 3).then_some((c, len))
}
