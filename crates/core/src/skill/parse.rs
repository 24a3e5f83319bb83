//! From text to a validated [`Skill`].
//!
//! Order of checks: size, UTF-8, the `---` fences, YAML (syntax, duplicate
//! keys, alias budget), then the fields top to bottom, then the code block.
//! The first problem found is returned.

use super::code::{self, CodeBlock};
use super::error::SkillError;
use super::model::{AgentSkillMeta, Executable, Layout, Skill, SkillFormat, SkillStatus};
use super::outline::Outline;
use super::yaml::{self, LoadError, Seg, Yaml, path_string};
use super::{AGENT_SKILL_CATEGORY, AGENT_SKILL_FILE_NAME, MAX_SKILL_FILE_BYTES};
use crate::ids::SkillId;
use crate::types::{ExecutionMode, PortSpec, PortType, Runtime};

/// Longest `name` of an LLMos skill file (Agent Skills allow 64).
pub const MAX_NAME_CHARS: usize = 128;
/// Longest `category`.
pub const MAX_CATEGORY_CHARS: usize = 64;
/// Agent Skills: longest `description`.
pub const MAX_AGENT_DESCRIPTION_CHARS: usize = 1024;
/// Agent Skills: longest `compatibility`.
pub const MAX_AGENT_COMPATIBILITY_CHARS: usize = 500;

/// Top-level keys that only executable skills have; on a context skill
/// they mean the author forgot `type`.
const EXECUTABLE_ONLY: [&str; 3] = ["execution_mode", "inputs", "outputs"];

/// The pieces of a file around its front matter.
pub(crate) struct Split<'a> {
    pub yaml: &'a str,
    pub yaml_range: std::ops::Range<usize>,
    pub body: &'a str,
    pub body_start: usize,
    /// File line of the YAML's first line.
    pub yaml_first_line: usize,
    /// File line of the body's first line.
    pub body_first_line: usize,
}

/// A `---` line, allowing trailing blanks and a CRLF ending.
fn is_fence(line: &str) -> bool {
    line.trim_end_matches(['\r', ' ', '\t']) == "---"
}

pub(crate) fn split(text: &str) -> Result<Split<'_>, SkillError> {
    // A UTF-8 byte order mark is tolerated and kept (it is part of `source`).
    let start = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let first_end = text[start..].find('\n').map(|i| start + i);
    let first = &text[start..first_end.unwrap_or(text.len())];
    if !is_fence(first) {
        return Err(SkillError::MissingFrontMatter { file: None });
    }
    let Some(first_end) = first_end else {
        return Err(SkillError::UnterminatedFrontMatter {
            file: None,
            line: 1,
        });
    };
    let yaml_start = first_end + 1;
    let mut pos = yaml_start;
    let mut line_no = 2;
    while pos < text.len() {
        let end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
        if is_fence(&text[pos..end]) {
            let body_start = (end + 1).min(text.len());
            return Ok(Split {
                yaml: &text[yaml_start..pos],
                yaml_range: yaml_start..pos,
                body: &text[body_start..],
                body_start,
                yaml_first_line: 2,
                body_first_line: line_no + 1,
            });
        }
        pos = end + 1;
        line_no += 1;
    }
    Err(SkillError::UnterminatedFrontMatter {
        file: None,
        line: 1,
    })
}

/// Parses `bytes`, checking size and encoding first.
pub(crate) fn parse_bytes(
    file: Option<&str>,
    given_id: Option<&SkillId>,
    bytes: &[u8],
) -> Result<Skill, SkillError> {
    if bytes.len() > MAX_SKILL_FILE_BYTES {
        return Err(SkillError::TooLarge {
            file: file.map(str::to_owned),
            size: bytes.len(),
            limit: MAX_SKILL_FILE_BYTES,
        });
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_text(file, given_id, text),
        Err(err) => {
            let line = 1 + bytes[..err.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            Err(SkillError::NotUtf8 {
                file: file.map(str::to_owned),
                line,
            })
        }
    }
}

pub(crate) fn parse_text(
    file: Option<&str>,
    given_id: Option<&SkillId>,
    text: &str,
) -> Result<Skill, SkillError> {
    if text.len() > MAX_SKILL_FILE_BYTES {
        return Err(SkillError::TooLarge {
            file: file.map(str::to_owned),
            size: text.len(),
            limit: MAX_SKILL_FILE_BYTES,
        });
    }
    parse_inner(file, given_id, text).map_err(|e| e.with_file(file))
}

fn parse_inner(
    file: Option<&str>,
    given_id: Option<&SkillId>,
    text: &str,
) -> Result<Skill, SkillError> {
    let parts = split(text)?;
    let outline = Outline::new(parts.yaml, parts.yaml_first_line, 1);
    let tree = yaml::load(parts.yaml).map_err(|e| load_error(e, &outline, &parts))?;
    let Yaml::Map(entries) = &tree else {
        return Err(SkillError::FrontMatterNotMapping {
            file: None,
            line: 1,
        });
    };
    let top = outline.top_entries();
    let trusted = top.len() == entries.len()
        && top
            .iter()
            .zip(entries.iter())
            .all(|(t, (k, _))| t.key == *k);

    let cx = Cx { outline: &outline };
    let root = Node {
        value: &tree,
        path: Vec::new(),
    };
    let is_agent = file.is_some_and(|f| file_name(f) == AGENT_SKILL_FILE_NAME);

    let fields = if is_agent {
        cx.agent_fields(&root, file, given_id)?
    } else {
        cx.llmos_fields(&root, file, given_id)?
    };

    let executable = match fields.runtime {
        Some(runtime) => Some(cx.executable(&root, runtime, &parts)?),
        None => None,
    };

    Ok(Skill {
        source: text.to_owned(),
        file: file.map(str::to_owned),
        id: fields.id,
        name: fields.name,
        category: fields.category,
        description: fields.description,
        keywords: fields.keywords,
        status: fields.status,
        format: if is_agent {
            SkillFormat::AgentSkill
        } else {
            SkillFormat::Llmos
        },
        executable,
        agent: fields.agent,
        frontmatter: tree.to_json(),
        layout: Layout {
            yaml: parts.yaml_range.clone(),
            body_start: parts.body_start,
            yaml_first_line: parts.yaml_first_line,
            top: trusted.then_some(top),
        },
    })
}

fn load_error(err: LoadError, outline: &Outline<'_>, parts: &Split<'_>) -> SkillError {
    match err {
        LoadError::Syntax {
            line,
            column,
            message,
        } => SkillError::Yaml {
            file: None,
            line: parts.yaml_first_line + line - 1,
            column,
            message,
        },
        LoadError::Duplicate { path, key } => {
            let lines = outline.key_lines(&path, &key);
            let mut field = path.clone();
            field.push(Seg::Key(key));
            let first_line = lines.first().copied().unwrap_or(outline.fallback());
            SkillError::DuplicateKey {
                file: None,
                field: path_string(&field),
                line: lines.get(1).copied().unwrap_or(first_line),
                first_line,
            }
        }
        LoadError::TooComplex { limit } => SkillError::YamlTooComplex {
            file: None,
            line: outline.fallback(),
            limit,
        },
        LoadError::Unsupported { path, what } => SkillError::UnsupportedYaml {
            file: None,
            // A bad key of the top-level mapping has no field to name.
            field: if path.is_empty() {
                "(front matter)".to_owned()
            } else {
                path_string(&path)
            },
            line: outline.line_of(&path),
            what,
        },
    }
}

/// The last path component of a path hint (`/` or `\` separated).
fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// The directory holding the file, if the hint has one.
fn parent_dir(path: &str) -> Option<&str> {
    let mut parts = path.rsplit(['/', '\\']);
    parts.next();
    parts
        .next()
        .filter(|d| !d.is_empty() && *d != "." && *d != "..")
}

/// The fields common to every skill.
struct Common {
    id: SkillId,
    name: String,
    category: String,
    description: String,
    keywords: Vec<String>,
    status: Option<SkillStatus>,
    agent: Option<AgentSkillMeta>,
    /// The runtime named by `type`, for executable skills.
    runtime: Option<Runtime>,
}

/// A value in the tree and its path.
struct Node<'t> {
    value: &'t Yaml,
    path: Vec<Seg>,
}

/// Validation helpers that turn tree nodes into typed values with errors
/// located by the outline.
struct Cx<'o, 'a> {
    outline: &'o Outline<'a>,
}

impl Cx<'_, '_> {
    fn line(&self, path: &[Seg]) -> usize {
        self.outline.line_of(path)
    }

    fn child<'t>(&self, node: &Node<'t>, key: &str) -> Option<Node<'t>> {
        node.value.get(key).map(|value| {
            let mut path = node.path.clone();
            path.push(Seg::Key(key.to_owned()));
            Node { value, path }
        })
    }

    fn require<'t>(&self, node: &Node<'t>, key: &str) -> Result<Node<'t>, SkillError> {
        self.child(node, key).ok_or_else(|| self.missing(node, key))
    }

    /// `key` is missing from the mapping `node`; reported on the mapping's
    /// line (the opening `---` for top-level fields).
    fn missing(&self, node: &Node<'_>, key: &str) -> SkillError {
        let mut path = node.path.clone();
        path.push(Seg::Key(key.to_owned()));
        SkillError::MissingField {
            file: None,
            field: path_string(&path),
            line: self.line(&node.path),
        }
    }

    fn wrong_type(&self, node: &Node<'_>, expected: &'static str) -> SkillError {
        SkillError::WrongType {
            file: None,
            field: path_string(&node.path),
            line: self.line(&node.path),
            expected,
            found: node.value.kind(),
        }
    }

    fn invalid(&self, node: &Node<'_>, reason: impl Into<String>) -> SkillError {
        SkillError::InvalidValue {
            file: None,
            field: path_string(&node.path),
            line: self.line(&node.path),
            reason: reason.into(),
        }
    }

    fn string<'t>(&self, node: &Node<'t>) -> Result<&'t str, SkillError> {
        match node.value {
            Yaml::Str(s) => Ok(s),
            _ => Err(self.wrong_type(node, "a string")),
        }
    }

    /// A non-empty string without line breaks, of at most `max` characters.
    fn line_text(&self, node: &Node<'_>, max: usize) -> Result<String, SkillError> {
        let s = self.string(node)?;
        if s.trim().is_empty() {
            return Err(self.invalid(node, "must not be empty"));
        }
        if s.contains(['\n', '\r']) {
            return Err(self.invalid(node, "must be a single line"));
        }
        if s.chars().count() > max {
            return Err(self.invalid(node, format!("is longer than {max} characters")));
        }
        Ok(s.to_owned())
    }

    fn text(&self, node: &Node<'_>, max: Option<usize>) -> Result<String, SkillError> {
        let s = self.string(node)?;
        if s.trim().is_empty() {
            return Err(self.invalid(node, "must not be empty"));
        }
        if let Some(max) = max
            && s.chars().count() > max
        {
            return Err(self.invalid(node, format!("is longer than {max} characters")));
        }
        Ok(s.to_owned())
    }

    fn skill_id(&self, node: &Node<'_>) -> Result<SkillId, SkillError> {
        let s = self.string(node)?;
        SkillId::new(s).map_err(|source| SkillError::BadId {
            file: None,
            field: path_string(&node.path),
            line: self.line(&node.path),
            source: Box::new(source),
        })
    }

    fn string_list(&self, node: &Node<'_>) -> Result<Vec<String>, SkillError> {
        let items = match node.value {
            Yaml::Seq(items) => items,
            // `keywords:` with nothing after it.
            Yaml::Null => return Ok(Vec::new()),
            _ => return Err(self.wrong_type(node, "a list of strings")),
        };
        items
            .iter()
            .enumerate()
            .map(|(i, value)| {
                let mut path = node.path.clone();
                path.push(Seg::Index(i));
                self.line_text(&Node { value, path }, MAX_NAME_CHARS)
            })
            .collect()
    }

    fn status(&self, root: &Node<'_>) -> Result<Option<SkillStatus>, SkillError> {
        let Some(node) = self.child(root, "status") else {
            return Ok(None);
        };
        let s = self.string(&node)?;
        s.parse()
            .map(Some)
            .map_err(|e: crate::types::UnknownName| self.invalid(&node, e.to_string()))
    }

    /// Checks `found` against the id the caller stores the skill under.
    fn check_given(
        &self,
        node: &Node<'_>,
        found: SkillId,
        given: Option<&SkillId>,
    ) -> Result<SkillId, SkillError> {
        match given {
            Some(given) if *given != found => Err(SkillError::IdMismatch {
                file: None,
                field: path_string(&node.path),
                line: self.line(&node.path),
                expected: given.to_string(),
                found: found.to_string(),
            }),
            _ => Ok(found),
        }
    }

    fn llmos_fields(
        &self,
        root: &Node<'_>,
        file: Option<&str>,
        given: Option<&SkillId>,
    ) -> Result<Common, SkillError> {
        // Kind first: it decides which fields are required.
        let runtime = match self.child(root, "type") {
            None => None,
            Some(node) => {
                let s = self.string(&node)?;
                if s == "context" {
                    None
                } else {
                    let runtime: Runtime =
                        s.parse().map_err(|source| SkillError::UnknownRuntime {
                            file: None,
                            field: path_string(&node.path),
                            line: self.line(&node.path),
                            source: Box::new(source),
                        })?;
                    if runtime == Runtime::Builtin {
                        return Err(self.invalid(
                            &node,
                            "`builtin` names nodes built into the workflow engine; \
                             skill files use python-wasm, javascript, threejs, spice or \
                             wasm-component",
                        ));
                    }
                    Some(runtime)
                }
            }
        };
        if runtime.is_none() {
            for key in EXECUTABLE_ONLY {
                if let Some(node) = self.child(root, key) {
                    return Err(self.invalid(
                        &node,
                        "only executable skills (with `type: <runtime>`) have this field",
                    ));
                }
            }
        }

        let id = match self.child(root, "skill_id") {
            Some(node) => {
                let found = self.skill_id(&node)?;
                self.check_given(&node, found, given)?
            }
            None if runtime.is_some() => {
                return Err(self.missing(root, "skill_id"));
            }
            None => match (given, file) {
                (Some(given), _) => given.clone(),
                (None, Some(path)) => {
                    let name = file_name(path);
                    let stem = name
                        .strip_suffix(".md")
                        .or_else(|| name.strip_suffix(".markdown"))
                        .unwrap_or(name);
                    SkillId::new(stem).map_err(|source| SkillError::BadId {
                        file: None,
                        field: "skill_id".to_owned(),
                        line: 1,
                        source: Box::new(source),
                    })?
                }
                (None, None) => return Err(self.missing(root, "skill_id")),
            },
        };

        let name = self.line_text(&self.require(root, "name")?, MAX_NAME_CHARS)?;
        let category = self.line_text(&self.require(root, "category")?, MAX_CATEGORY_CHARS)?;
        let description = self.text(&self.require(root, "description")?, None)?;
        let keywords = match self.child(root, "keywords") {
            Some(node) => self.string_list(&node)?,
            None => Vec::new(),
        };
        let status = self.status(root)?;
        Ok(Common {
            id,
            name,
            category,
            description,
            keywords,
            status,
            agent: None,
            runtime,
        })
    }

    fn agent_fields(
        &self,
        root: &Node<'_>,
        file: Option<&str>,
        given: Option<&SkillId>,
    ) -> Result<Common, SkillError> {
        let name_node = self.require(root, "name")?;
        let name = self.string(&name_node)?;
        check_agent_name(name).map_err(|reason| self.invalid(&name_node, reason))?;
        if let Some(dir) = file.and_then(parent_dir)
            && dir != name
        {
            return Err(self.invalid(
                &name_node,
                format!("must match the skill's directory name `{dir}`"),
            ));
        }
        let id = match self.child(root, "skill_id") {
            Some(node) => {
                let found = self.skill_id(&node)?;
                self.check_given(&node, found, given)?
            }
            None => {
                let found = SkillId::new(name).map_err(|source| SkillError::BadId {
                    file: None,
                    field: "name".to_owned(),
                    line: self.line(&name_node.path),
                    source: Box::new(source),
                })?;
                self.check_given(&name_node, found, given)?
            }
        };
        let description = self.text(
            &self.require(root, "description")?,
            Some(MAX_AGENT_DESCRIPTION_CHARS),
        )?;

        let mut agent = AgentSkillMeta::default();
        if let Some(node) = self.child(root, "license") {
            agent.license = Some(self.text(&node, None)?);
        }
        if let Some(node) = self.child(root, "compatibility") {
            agent.compatibility = Some(self.text(&node, Some(MAX_AGENT_COMPATIBILITY_CHARS))?);
        }
        if let Some(node) = self.child(root, "metadata") {
            let Yaml::Map(entries) = node.value else {
                return Err(self.wrong_type(&node, "a mapping of strings to strings"));
            };
            for (key, value) in entries {
                let mut path = node.path.clone();
                path.push(Seg::Key(key.clone()));
                let entry = Node { value, path };
                let Yaml::Str(s) = value else {
                    return Err(self.wrong_type(&entry, "a string"));
                };
                agent.metadata.push((key.clone(), s.clone()));
            }
        }
        if let Some(node) = self.child(root, "allowed-tools") {
            agent.allowed_tools = match node.value {
                Yaml::Str(s) => s.split_whitespace().map(str::to_owned).collect(),
                Yaml::Seq(_) => self.string_list(&node)?,
                _ => return Err(self.wrong_type(&node, "a space-separated string or a list")),
            };
        }

        let meta = |key: &str| {
            agent
                .metadata
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let category = match self.child(root, "category") {
            Some(node) => self.line_text(&node, MAX_CATEGORY_CHARS)?,
            None => meta("category").unwrap_or_else(|| AGENT_SKILL_CATEGORY.to_owned()),
        };
        let keywords = match self.child(root, "keywords") {
            Some(node) => self.string_list(&node)?,
            None => meta("keywords")
                .map(|k| {
                    k.split(',')
                        .map(str::trim)
                        .filter(|k| !k.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        };
        let status = self.status(root)?;
        Ok(Common {
            id,
            name: name.to_owned(),
            category,
            description,
            keywords,
            status,
            agent: Some(agent),
            runtime: None,
        })
    }

    fn executable(
        &self,
        root: &Node<'_>,
        runtime: Runtime,
        parts: &Split<'_>,
    ) -> Result<Executable, SkillError> {
        let execution_mode = match self.child(root, "execution_mode") {
            None => default_execution_mode(runtime),
            Some(node) => {
                let s = self.string(&node)?;
                let mode: ExecutionMode =
                    s.parse()
                        .map_err(|source| SkillError::UnknownExecutionMode {
                            file: None,
                            field: path_string(&node.path),
                            line: self.line(&node.path),
                            source: Box::new(source),
                        })?;
                if runtime == Runtime::Threejs && mode != ExecutionMode::BrowserWasm {
                    return Err(self.invalid(
                        &node,
                        "threejs skills render in the browser and need `browser-wasm`",
                    ));
                }
                mode
            }
        };
        let compiled = self.compiled(root, runtime)?;
        let inputs = self.ports(root, "inputs", true)?;
        let outputs = self.ports(root, "outputs", false)?;
        let blocks = code::fenced_blocks(parts.body, parts.body_first_line);
        // A missing block is reported at the closing `---`, where the body
        // starts.
        let code: CodeBlock = code::select(
            runtime,
            blocks,
            &inputs,
            parts.body_first_line.saturating_sub(1).max(1),
        )?;
        Ok(Executable {
            runtime,
            execution_mode,
            inputs,
            outputs,
            code,
            compiled,
        })
    }

    /// `compiled`: whether the code block is built into a skill component.
    /// `wasm-component` skills always are; Python and JavaScript skills opt
    /// in; the other runtimes cannot.
    fn compiled(&self, root: &Node<'_>, runtime: Runtime) -> Result<bool, SkillError> {
        let Some(node) = self.child(root, "compiled") else {
            return Ok(runtime == Runtime::WasmComponent);
        };
        let Yaml::Bool(b) = node.value else {
            return Err(self.wrong_type(&node, "a boolean"));
        };
        match (runtime, *b) {
            (Runtime::WasmComponent, false) => Err(self.invalid(
                &node,
                "`wasm-component` skills are always compiled; drop `compiled: false`",
            )),
            (Runtime::WasmComponent | Runtime::PythonWasm | Runtime::Javascript, b) => Ok(b),
            (_, false) => Ok(false),
            (other, true) => Err(self.invalid(
                &node,
                format!(
                    "`{other}` skills cannot be compiled; only `python-wasm`, `javascript` \
                     and `wasm-component` skills build to components"
                ),
            )),
        }
    }

    fn ports(&self, root: &Node<'_>, key: &str, inputs: bool) -> Result<Vec<PortSpec>, SkillError> {
        let Some(node) = self.child(root, key) else {
            return Ok(Vec::new());
        };
        let items = match node.value {
            Yaml::Seq(items) => items,
            // `inputs:` with nothing after it.
            Yaml::Null => return Ok(Vec::new()),
            _ => return Err(self.wrong_type(&node, "a list of ports")),
        };
        let mut ports: Vec<(PortSpec, usize)> = Vec::new();
        for (i, value) in items.iter().enumerate() {
            let mut path = node.path.clone();
            path.push(Seg::Index(i));
            let item = Node { value, path };
            let port = self.port(&item, inputs)?;
            // `port` succeeded, so the item has a `name`.
            let name_path = self
                .child(&item, "name")
                .map_or(item.path.clone(), |n| n.path);
            let line = self.line(&name_path);
            if let Some((_, first_line)) = ports.iter().find(|(p, _)| p.name == port.name) {
                return Err(SkillError::DuplicatePort {
                    file: None,
                    field: path_string(&name_path),
                    line,
                    name: port.name,
                    first_line: *first_line,
                });
            }
            ports.push((port, line));
        }
        Ok(ports.into_iter().map(|(p, _)| p).collect())
    }

    fn port(&self, item: &Node<'_>, input: bool) -> Result<PortSpec, SkillError> {
        let Yaml::Map(entries) = item.value else {
            return Err(self.wrong_type(item, "a mapping with `name` and `type`"));
        };
        let allowed: &[&str] = if input {
            &["name", "type", "default", "description", "required"]
        } else {
            &["name", "type", "description"]
        };
        for (key, _) in entries {
            if !allowed.contains(&key.as_str()) {
                let mut path = item.path.clone();
                path.push(Seg::Key(key.clone()));
                return Err(SkillError::UnknownField {
                    file: None,
                    field: path_string(&path),
                    line: self.line(&path),
                });
            }
        }
        let name_node = self.require(item, "name")?;
        let name = self.string(&name_node)?;
        check_port_name(name).map_err(|reason| self.invalid(&name_node, reason))?;
        let type_node = self.require(item, "type")?;
        let ty: PortType =
            self.string(&type_node)?
                .parse()
                .map_err(|source| SkillError::UnknownPortType {
                    file: None,
                    field: path_string(&type_node.path),
                    line: self.line(&type_node.path),
                    source: Box::new(source),
                })?;
        let description = match self.child(item, "description") {
            Some(node) => Some(self.text(&node, None)?),
            None => None,
        };
        let default = match self.child(item, "default") {
            Some(node) => {
                if !default_fits(ty, node.value) {
                    return Err(self.wrong_type(&node, expected_for(ty)));
                }
                Some(node.value.to_json())
            }
            None => None,
        };
        let required = match self.child(item, "required") {
            Some(node) => {
                let Yaml::Bool(b) = node.value else {
                    return Err(self.wrong_type(&node, "a boolean"));
                };
                if *b && default.is_some() {
                    return Err(self.invalid(
                        &node,
                        "an input with a default is never required; drop `required` or `default`",
                    ));
                }
                *b
            }
            None => input && default.is_none(),
        };
        Ok(PortSpec {
            name: name.to_owned(),
            ty,
            // Outputs are always produced.
            required: if input { required } else { true },
            default,
            description,
        })
    }
}

/// Where a runtime runs when the file does not say.
pub fn default_execution_mode(runtime: Runtime) -> ExecutionMode {
    match runtime {
        Runtime::WasmComponent => ExecutionMode::EdgeWasm,
        _ => ExecutionMode::BrowserWasm,
    }
}

/// Agent Skills `name`: 1–64 characters of `[a-z0-9-]`, no leading,
/// trailing or doubled hyphen.
pub fn check_agent_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if name.chars().count() > 64 {
        return Err("is longer than 64 characters".to_owned());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "contains `{}`; Agent Skills names use lowercase letters, digits and `-`",
            c.escape_default()
        ));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err("must not start or end with `-`".to_owned());
    }
    if name.contains("--") {
        return Err("must not contain `--`".to_owned());
    }
    Ok(())
}

/// Port names become Python dict keys, JavaScript properties and netlist
/// placeholders: an identifier of at most 64 characters.
pub fn check_port_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    match chars.next() {
        None => return Err("must not be empty".to_owned()),
        Some(c) if !(c.is_ascii_alphabetic() || c == '_') => {
            return Err("must start with a letter or `_`".to_owned());
        }
        _ => {}
    }
    if let Some(c) = chars.find(|c| !(c.is_ascii_alphanumeric() || *c == '_')) {
        return Err(format!(
            "contains `{}`; port names use letters, digits and `_`",
            c.escape_default()
        ));
    }
    if name.len() > 64 {
        return Err("is longer than 64 characters".to_owned());
    }
    Ok(())
}

fn default_fits(ty: PortType, value: &Yaml) -> bool {
    match ty {
        PortType::Number => matches!(value, Yaml::Int(_) | Yaml::UInt(_) | Yaml::Float(_)),
        PortType::String => matches!(value, Yaml::Str(_)),
        PortType::Boolean => matches!(value, Yaml::Bool(_)),
        PortType::Array => matches!(value, Yaml::Seq(_)),
        PortType::Object | PortType::Mesh | PortType::Waveform => matches!(value, Yaml::Map(_)),
        PortType::Image => matches!(value, Yaml::Str(_) | Yaml::Map(_)),
        PortType::Any => true,
    }
}

fn expected_for(ty: PortType) -> &'static str {
    match ty {
        PortType::Number => "a number (the port's type)",
        PortType::String => "a string (the port's type)",
        PortType::Boolean => "a boolean (the port's type)",
        PortType::Array => "a list (the port's type)",
        PortType::Object | PortType::Mesh | PortType::Waveform => "a mapping (the port's type)",
        PortType::Image => "a data URL string or a mapping (the port's type)",
        PortType::Any => "any value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_front_matter_from_body() {
        let s = split("---\na: 1\n---\nbody\n").unwrap();
        assert_eq!(s.yaml, "a: 1\n");
        assert_eq!(s.body, "body\n");
        assert_eq!(s.body_first_line, 4);
    }

    #[test]
    fn accepts_crlf_fences_trailing_blanks_and_a_byte_order_mark() {
        let s = split("\u{feff}---  \r\na: 1\r\n--- \r\nbody").unwrap();
        assert_eq!(s.yaml, "a: 1\r\n");
        assert_eq!(s.body, "body");
        let s = split("---\na: 1\n---").unwrap();
        assert_eq!(s.body, "");
    }

    #[test]
    fn rejects_fences_that_are_not_exactly_three_dashes() {
        assert!(matches!(
            split("----\na: 1\n----\n"),
            Err(SkillError::MissingFrontMatter { .. })
        ));
        assert!(matches!(
            split("---\na: 1\n--- x\n"),
            Err(SkillError::UnterminatedFrontMatter { line: 1, .. })
        ));
    }

    #[test]
    fn type_context_means_a_context_skill() {
        let s = crate::skill::parse(
            Some("x.md"),
            "---\nname: X\ncategory: c\ndescription: d\ntype: context\n---\n",
        )
        .unwrap();
        assert_eq!(s.kind(), crate::skill::SkillKind::Context);
    }

    #[test]
    fn execution_mode_defaults_by_runtime() {
        assert_eq!(
            default_execution_mode(Runtime::WasmComponent),
            ExecutionMode::EdgeWasm
        );
        assert_eq!(
            default_execution_mode(Runtime::PythonWasm),
            ExecutionMode::BrowserWasm
        );
    }

    #[test]
    fn agent_names_follow_the_agent_skills_rules() {
        for ok in ["a", "pdf-tools", "x1-y2", &"a".repeat(64)] {
            assert!(check_agent_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "a--b",
            "A",
            "a_b",
            "a b",
            "é",
            &"a".repeat(65),
        ] {
            assert!(check_agent_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn allowed_tools_may_be_a_list() {
        let s = crate::skill::parse(
            Some("t/SKILL.md"),
            "---\nname: t\ndescription: d\nallowed-tools:\n  - Read\n  - Bash(git:*)\n---\n",
        )
        .unwrap();
        assert_eq!(s.agent().unwrap().allowed_tools, ["Read", "Bash(git:*)"]);
    }

    #[test]
    fn agent_skills_keep_client_specific_fields() {
        let s = crate::skill::parse(
            Some("SKILL.md"),
            "---\nname: t\ndescription: d\ndisable-model-invocation: true\n---\n",
        )
        .unwrap();
        assert_eq!(s.frontmatter()["disable-model-invocation"], true);
    }

    #[test]
    fn port_names_are_identifiers() {
        for ok in ["a", "_x", "t_stop", "X1"] {
            assert!(check_port_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1a", "a-b", "a b", "a.b", &"a".repeat(65)] {
            assert!(check_port_name(bad).is_err(), "{bad:?}");
        }
    }
}
