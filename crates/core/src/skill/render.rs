//! Canonical skill files from structured fields (the API's JSON form).
//!
//! The canonical layout is fixed so that the same fields always give the
//! same bytes (and the same git blob):
//!
//! ~~~text
//! ---
//! skill_id: …
//! name: …
//! category: …
//! description: …
//! keywords: […]
//! status: …                 (when given)
//! type: <runtime>           (executable skills, then:)
//! execution_mode: …
//! inputs: […]
//! outputs: […]
//! ---
//!
//! <content>
//!
//! ```<language>
//! <code>
//! ```
//! ~~~
//!
//! YAML scalars are written by `serde_norway`, which quotes whatever would
//! otherwise read back as another type (`'1.0'`, `'null'`, `'a: b'`).

use serde::{Deserialize, Serialize};
use serde_norway::{Mapping, Value as YamlValue};

use super::code::languages;
use super::error::SkillError;
use super::model::{Skill, SkillKind};
use super::parse::default_execution_mode;
use crate::types::{PortSpec, Runtime};

/// One port as the API sends it; validated when the rendered file is parsed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PortFields {
    pub name: String,
    /// A port type (`number`, `string`, …; see `PortType`).
    #[serde(rename = "type")]
    pub ty: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Inputs only; written only when it differs from what the default
    /// implies (an input without a default is required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
}

impl PortFields {
    fn from_spec(spec: &PortSpec, input: bool) -> Self {
        PortFields {
            name: spec.name.clone(),
            ty: spec.ty.as_str().to_owned(),
            default: spec.default.clone(),
            description: spec.description.clone(),
            required: (input && !spec.required && spec.default.is_none()).then_some(false),
        }
    }

    fn to_yaml(&self) -> YamlValue {
        let mut map = Mapping::new();
        map.insert("name".into(), self.name.clone().into());
        map.insert("type".into(), self.ty.clone().into());
        if let Some(default) = &self.default {
            map.insert("default".into(), json_to_yaml(default));
        }
        if let Some(description) = &self.description {
            map.insert("description".into(), description.clone().into());
        }
        if let Some(required) = self.required {
            map.insert("required".into(), required.into());
        }
        YamlValue::Mapping(map)
    }

    fn normalized(&self, input: bool) -> Self {
        let mut p = self.clone();
        if input {
            // `required` only says something for inputs without a default.
            p.required = match (p.required, p.default.is_some()) {
                (Some(false), false) => Some(false),
                (Some(true), true) => Some(true), // refused when rendered
                _ => None,
            };
        }
        p
    }
}

/// The fields of a skill as the API accepts them in `POST /skills`:
/// `skill_id, name, category, description, content, keywords` plus, for
/// executable skills, `type` (`"executable"` or a runtime name), `runtime`,
/// `execution_mode`, `inputs`, `outputs`, `code`. Unknown JSON fields (such
/// as `user_id`) are ignored here; the caller deals with them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SkillFields {
    #[serde(default)]
    pub skill_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// The Markdown body without the code block.
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub status: Option<String>,
    /// `"context"`, `"executable"`, or a runtime name (the file form).
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub runtime: Option<String>,
    #[serde(default)]
    pub execution_mode: Option<String>,
    #[serde(default)]
    pub inputs: Vec<PortFields>,
    #[serde(default)]
    pub outputs: Vec<PortFields>,
    #[serde(default)]
    pub code: Option<String>,
    /// Language tag of the code block; defaults to the runtime's first.
    #[serde(default)]
    pub code_language: Option<String>,
}

impl SkillFields {
    /// The runtime named by `runtime`, or by `type` when it is not
    /// `context`/`executable`.
    fn runtime_name(&self) -> Option<&str> {
        self.runtime.as_deref().or(match self.kind.as_deref() {
            None | Some("context") | Some("executable") => None,
            Some(other) => Some(other),
        })
    }

    fn is_executable(&self) -> bool {
        self.kind.as_deref() == Some("executable") || self.runtime_name().is_some()
    }

    /// The fields as [`Skill::to_fields`] returns them after a round trip
    /// through [`render`]: `type` is `context`/`executable` with the runtime
    /// in `runtime`, defaults are filled in, `content` loses leading blank
    /// lines and trailing whitespace, and code ends with a newline.
    pub fn normalized(&self) -> SkillFields {
        let mut f = self.clone();
        f.content = normalize_content(&f.content);
        if f.is_executable() {
            let runtime = f.runtime_name().map(str::to_owned);
            f.kind = Some("executable".to_owned());
            f.runtime = runtime.clone();
            let parsed = runtime.as_deref().and_then(|r| r.parse::<Runtime>().ok());
            if f.execution_mode.is_none()
                && let Some(r) = parsed
            {
                f.execution_mode = Some(default_execution_mode(r).as_str().to_owned());
            }
            if f.code_language.is_none()
                && let Some(r) = parsed
            {
                f.code_language = languages(r).first().map(|l| (*l).to_owned());
            }
            if let Some(code) = &mut f.code
                && !code.is_empty()
                && !code.ends_with('\n')
            {
                code.push('\n');
            }
            f.inputs = f.inputs.iter().map(|p| p.normalized(true)).collect();
            f.outputs = f.outputs.iter().map(|p| p.normalized(false)).collect();
        } else {
            f.kind = Some("context".to_owned());
        }
        f
    }
}

fn normalize_content(content: &str) -> String {
    content
        .trim_start_matches(['\r', '\n'])
        .trim_end()
        .to_owned()
}

pub(crate) fn json_to_yaml(value: &serde_json::Value) -> YamlValue {
    serde_norway::to_value(value).expect("JSON values always convert to YAML values")
}

/// Writes the canonical file for `fields` and parses it back, so the result
/// is validated exactly like a file: errors name the field, and lines refer
/// to the rendered text ([`Skill::source`]).
pub fn render(fields: &SkillFields) -> Result<Skill, SkillError> {
    let f = fields.normalized();
    let executable = f.kind.as_deref() == Some("executable");
    let at_front = |field: &str| SkillError::MissingField {
        file: None,
        field: field.to_owned(),
        line: 1,
    };
    let Some(skill_id) = &f.skill_id else {
        return Err(at_front("skill_id"));
    };
    if !executable && (f.code.is_some() || !f.inputs.is_empty() || !f.outputs.is_empty()) {
        let field = if f.code.is_some() { "code" } else { "inputs" };
        return Err(SkillError::InvalidValue {
            file: None,
            field: field.to_owned(),
            line: 1,
            reason: "only executable skills (with a `runtime`) have code and ports".to_owned(),
        });
    }

    let mut map = Mapping::new();
    map.insert("skill_id".into(), skill_id.clone().into());
    for (key, value) in [
        ("name", &f.name),
        ("category", &f.category),
        ("description", &f.description),
    ] {
        if let Some(value) = value {
            map.insert(key.into(), value.clone().into());
        }
    }
    map.insert(
        "keywords".into(),
        YamlValue::Sequence(f.keywords.iter().map(|k| k.clone().into()).collect()),
    );
    if let Some(status) = &f.status {
        map.insert("status".into(), status.clone().into());
    }
    let mut body = String::from("\n");
    if !f.content.is_empty() {
        body.push_str(&f.content);
        body.push('\n');
    }
    if executable {
        let Some(runtime) = &f.runtime else {
            return Err(at_front("runtime"));
        };
        map.insert("type".into(), runtime.clone().into());
        if let Some(mode) = &f.execution_mode {
            map.insert("execution_mode".into(), mode.clone().into());
        }
        for (key, ports) in [("inputs", &f.inputs), ("outputs", &f.outputs)] {
            map.insert(
                key.into(),
                YamlValue::Sequence(ports.iter().map(PortFields::to_yaml).collect()),
            );
        }
        if let Some(code) = &f.code {
            if !f.content.is_empty() {
                body.push('\n');
            }
            let language = f.code_language.as_deref().unwrap_or("");
            body.push_str(&fenced(language, code, ""));
        }
    }
    let yaml = serde_norway::to_string(&YamlValue::Mapping(map))
        .expect("a mapping of strings, lists and JSON values always serialises");
    let text = format!("---\n{yaml}---\n{body}");
    super::parse(None, &text)
}

/// A fenced block for `code`, with a fence longer than any backtick run in
/// the code; every line is prefixed with `indent`.
pub(crate) fn fenced(language: &str, code: &str, indent: &str) -> String {
    let longest = code.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let mut out = format!("{indent}{fence}{language}\n");
    for line in code.split_inclusive('\n') {
        out.push_str(indent);
        out.push_str(line);
    }
    if !code.is_empty() && !code.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(indent);
    out.push_str(&fence);
    out.push('\n');
    out
}

impl Skill {
    /// The skill as API fields, in the form [`SkillFields::normalized`]
    /// gives; for executable skills `content` is the body without the code
    /// block.
    pub fn to_fields(&self) -> SkillFields {
        let body = self.body();
        let (content, exec) = match &self.executable {
            Some(e) => {
                let r = e.code.range.clone();
                (format!("{}{}", &body[..r.start], &body[r.end..]), Some(e))
            }
            None => (body.to_owned(), None),
        };
        SkillFields {
            skill_id: Some(self.id.to_string()),
            name: Some(self.name.clone()),
            category: Some(self.category.clone()),
            description: Some(self.description.clone()),
            content: normalize_content(&content),
            keywords: self.keywords.clone(),
            status: self.status.map(|s| s.as_str().to_owned()),
            kind: Some(
                match self.kind() {
                    SkillKind::Context => "context",
                    SkillKind::Executable => "executable",
                }
                .to_owned(),
            ),
            runtime: exec.map(|e| e.runtime.as_str().to_owned()),
            execution_mode: exec.map(|e| e.execution_mode.as_str().to_owned()),
            inputs: exec.map_or_else(Vec::new, |e| {
                e.inputs
                    .iter()
                    .map(|p| PortFields::from_spec(p, true))
                    .collect()
            }),
            outputs: exec.map_or_else(Vec::new, |e| {
                e.outputs
                    .iter()
                    .map(|p| PortFields::from_spec(p, false))
                    .collect()
            }),
            code: exec.map(|e| e.code.code.clone()),
            code_language: exec.map(|e| e.code.language.clone()),
        }
    }
}
