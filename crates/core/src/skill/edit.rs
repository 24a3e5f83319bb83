//! Changing fields of a parsed skill while keeping the rest of the file.
//!
//! Only the lines of the top-level entries that change are rewritten;
//! comments, key order, quoting and blank lines elsewhere in the front
//! matter stay byte for byte, and so does the body unless the update
//! replaces it or the code. New keys are appended at the end of the front
//! matter. When the front matter's layout could not be mapped line by line
//! (flow style), it is re-emitted whole from its parsed values instead.
//! The result is parsed again, so an update can never produce an invalid
//! file, and it keeps the skill's id.

use serde::Deserialize;
use serde_norway::{Mapping, Value as YamlValue};

use super::error::SkillError;
use super::model::Skill;
use super::render::{PortFields, fenced, json_to_yaml};
use super::yaml::{self, Yaml};

/// Changes to apply to a skill; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkillUpdate {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub keywords: Option<Vec<String>>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub execution_mode: Option<String>,
    #[serde(default)]
    pub inputs: Option<Vec<PortFields>>,
    #[serde(default)]
    pub outputs: Option<Vec<PortFields>>,
    /// Replaces the whole Markdown body (which must keep the code block of
    /// an executable skill).
    #[serde(default)]
    pub body: Option<String>,
    /// Replaces the content of the code block, keeping its fence and
    /// language (applied after `body`).
    #[serde(default)]
    pub code: Option<String>,
    /// Other top-level fields to set (`version`, `author`, …).
    #[serde(default)]
    pub set: serde_json::Map<String, serde_json::Value>,
    /// Top-level fields to remove.
    #[serde(default)]
    pub remove: Vec<String>,
}

impl SkillUpdate {
    /// The top-level changes in order: `Some(value)` sets, `None` removes.
    fn changes(&self) -> Vec<(String, Option<YamlValue>)> {
        let mut out: Vec<(String, Option<YamlValue>)> = Vec::new();
        let mut put = |key: &str, value: Option<YamlValue>| out.push((key.to_owned(), value));
        for (key, value) in [
            ("name", &self.name),
            ("category", &self.category),
            ("description", &self.description),
            ("status", &self.status),
            ("execution_mode", &self.execution_mode),
        ] {
            if let Some(v) = value {
                put(key, Some(v.clone().into()));
            }
        }
        if let Some(keywords) = &self.keywords {
            put(
                "keywords",
                Some(YamlValue::Sequence(
                    keywords.iter().map(|k| k.clone().into()).collect(),
                )),
            );
        }
        for (key, ports) in [("inputs", &self.inputs), ("outputs", &self.outputs)] {
            if let Some(ports) = ports {
                let items = ports
                    .iter()
                    .map(|p| {
                        serde_norway::to_value(p)
                            .expect("port fields always serialise to a YAML mapping")
                    })
                    .collect();
                put(key, Some(YamlValue::Sequence(items)));
            }
        }
        for (key, value) in &self.set {
            put(key, Some(json_to_yaml(value)));
        }
        for key in &self.remove {
            put(key, None);
        }
        // A key named twice (say `name` and `set.name`) takes its last value.
        let mut deduped: Vec<(String, Option<YamlValue>)> = Vec::with_capacity(out.len());
        for (key, value) in out {
            deduped.retain(|(k, _)| *k != key);
            deduped.push((key, value));
        }
        deduped
    }
}

impl Skill {
    /// A copy of this skill with `update` applied, validated like a newly
    /// parsed file. The skill id cannot change: setting `skill_id` to
    /// another value fails with [`SkillError::IdMismatch`].
    pub fn update(&self, update: &SkillUpdate) -> Result<Skill, SkillError> {
        let source = &self.source;
        let yaml_text = self.frontmatter_text();
        let newline = if yaml_text.contains("\r\n") {
            "\r\n"
        } else {
            "\n"
        };
        let changes = update.changes();
        let new_yaml = match &self.layout.top {
            Some(top) if !changes.is_empty() => splice_entries(yaml_text, top, &changes, newline),
            _ if changes.is_empty() => yaml_text.to_owned(),
            _ => reemit(yaml_text, &changes, newline),
        };

        let mut body = match &update.body {
            Some(body) => body.clone(),
            None => self.body().to_owned(),
        };
        if let Some(code) = &update.code {
            // Locate the block in the (possibly new) body.
            let current = match &update.body {
                None => self.code().cloned(),
                Some(_) => {
                    let blocks = super::code::fenced_blocks(&body, 1);
                    let runtime = self.runtime();
                    blocks.into_iter().find(|b| {
                        runtime.is_some_and(|r| {
                            super::code::languages(r)
                                .iter()
                                .any(|l| l.eq_ignore_ascii_case(&b.language))
                        })
                    })
                }
            };
            let Some(block) = current else {
                return Err(SkillError::MissingCodeBlock {
                    file: self.file.clone(),
                    line: self.layout.yaml_first_line,
                    expected: "an executable skill".to_owned(),
                });
            };
            let old = &body[block.range.clone()];
            let indent: String = old.chars().take_while(|c| *c == ' ').collect();
            let mut replacement = fenced(&block.info, code, &indent);
            if !old.ends_with('\n') {
                replacement.pop();
            }
            body.replace_range(block.range.clone(), &replacement);
        }

        let mut text = String::with_capacity(source.len() + 64);
        text.push_str(&source[..self.layout.yaml.start]);
        text.push_str(&new_yaml);
        text.push_str(&source[self.layout.yaml.end..self.layout.body_start]);
        text.push_str(&body);
        super::parse::parse_text(self.file.as_deref(), Some(&self.id), &text)
    }
}

/// `key: value` lines for one entry, ending with `newline`.
fn entry_text(key: &str, value: &YamlValue, newline: &str) -> String {
    let mut map = Mapping::new();
    map.insert(key.into(), value.clone());
    let text = serde_norway::to_string(&YamlValue::Mapping(map))
        .expect("a one-entry mapping always serialises");
    if newline == "\n" {
        text
    } else {
        text.replace('\n', newline)
    }
}

/// Rewrites only the lines of the changed entries.
fn splice_entries(
    yaml_text: &str,
    top: &[super::outline::TopEntry],
    changes: &[(String, Option<YamlValue>)],
    newline: &str,
) -> String {
    // Byte offset where each line starts, plus the end.
    let mut starts = vec![0];
    for (i, b) in yaml_text.bytes().enumerate() {
        if b == b'\n' {
            starts.push(i + 1);
        }
    }
    if *starts.last().expect("starts is never empty") != yaml_text.len() {
        starts.push(yaml_text.len());
    }
    let offset = |line: usize| starts.get(line).copied().unwrap_or(yaml_text.len());

    let mut replaced: Vec<(usize, usize, String)> = Vec::new();
    let mut appended = String::new();
    for (key, value) in changes {
        let new = value
            .as_ref()
            .map(|v| entry_text(key, v, newline))
            .unwrap_or_default();
        match top.iter().find(|e| e.key == *key) {
            Some(entry) => {
                let range = (offset(entry.start), offset(entry.end));
                replaced.retain(|(s, _, _)| *s != range.0);
                replaced.push((range.0, range.1, new));
            }
            None => appended.push_str(&new),
        }
    }
    replaced.sort_by_key(|(s, _, _)| *s);
    let mut out = String::with_capacity(yaml_text.len() + appended.len());
    let mut pos = 0;
    for (start, end, new) in replaced {
        out.push_str(&yaml_text[pos..start]);
        // The last entry may lack its final newline (EOF before `---` is
        // impossible, but keep the text well-formed regardless).
        out.push_str(&new);
        if end > 0 && !yaml_text[..end].ends_with('\n') && !new.is_empty() {
            out.truncate(out.len() - newline.len());
        }
        pos = end;
    }
    out.push_str(&yaml_text[pos..]);
    if !appended.is_empty() {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push_str(newline);
        }
        out.push_str(&appended);
    }
    out
}

/// Re-emits the whole front matter with `changes` applied, for layouts the
/// line scan does not understand. Comments in the front matter are lost.
fn reemit(yaml_text: &str, changes: &[(String, Option<YamlValue>)], newline: &str) -> String {
    let tree = yaml::load(yaml_text).expect("the front matter parsed when the skill was read");
    let mut map = Mapping::new();
    if let Yaml::Map(entries) = tree {
        for (key, value) in entries {
            map.insert(key.into(), json_to_yaml(&value.to_json()));
        }
    }
    for (key, value) in changes {
        match value {
            Some(v) => {
                map.insert(key.clone().into(), v.clone());
            }
            None => {
                map.shift_remove(key.as_str());
            }
        }
    }
    let text = serde_norway::to_string(&YamlValue::Mapping(map))
        .expect("a mapping of JSON values always serialises");
    if newline == "\n" {
        text
    } else {
        text.replace('\n', newline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skill::parse;

    const PY: &str = "---\nskill_id: p\nname: P # the name\ncategory: c\ndescription: d\ntype: python-wasm\n---\n\n```python\ndef execute(inputs):\n    return {}\n```\n";

    #[test]
    fn appends_new_keys_at_the_end_of_the_front_matter() {
        let s = parse(None, PY).unwrap();
        let u = s
            .update(&SkillUpdate {
                status: Some("draft".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            u.frontmatter_text(),
            "skill_id: p\nname: P # the name\ncategory: c\ndescription: d\ntype: python-wasm\nstatus: draft\n"
        );
    }

    #[test]
    fn keeps_crlf_line_endings() {
        let crlf = PY.replace('\n', "\r\n");
        let s = parse(None, &crlf).unwrap();
        let u = s
            .update(&SkillUpdate {
                name: Some("Renamed".into()),
                keywords: Some(vec!["a".into()]),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(u.name(), "Renamed");
        assert!(
            !u.source().replace("\r\n", "").contains('\n'),
            "{:?}",
            u.source()
        );
    }

    #[test]
    fn re_emits_flow_style_front_matter() {
        let text = "---\n{skill_id: p, name: P, category: c, description: d, type: python-wasm}\n---\n```py\ndef execute(inputs):\n    pass\n```\n";
        let s = parse(None, text).unwrap();
        let u = s
            .update(&SkillUpdate {
                category: Some("math".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(u.category(), "math");
        assert!(
            u.frontmatter_text()
                .starts_with("skill_id: p\nname: P\ncategory: math\n")
        );
        assert_eq!(u.body(), s.body());
    }

    #[test]
    fn lengthens_the_fence_for_code_with_backticks() {
        let s = parse(None, PY).unwrap();
        let code = "def execute(inputs):\n    return {\"md\": \"```\"}\n";
        let u = s
            .update(&SkillUpdate {
                code: Some(code.into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(u.code().unwrap().code, code);
        assert!(u.body().contains("````python\n"), "{}", u.body());
    }

    #[test]
    fn refuses_a_body_that_drops_the_code_block() {
        let s = parse(None, PY).unwrap();
        let err = s
            .update(&SkillUpdate {
                body: Some("Just prose.\n".into()),
                ..Default::default()
            })
            .unwrap_err();
        assert!(matches!(err, SkillError::MissingCodeBlock { .. }), "{err}");
    }

    #[test]
    fn a_key_set_twice_takes_its_last_value() {
        let s = parse(None, PY).unwrap();
        let mut set = serde_json::Map::new();
        set.insert("status".into(), "retired".into());
        let u = s
            .update(&SkillUpdate {
                status: Some("draft".into()),
                set,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(u.status(), Some(crate::skill::SkillStatus::Retired));
    }

    #[test]
    fn removing_a_required_field_is_refused() {
        let s = parse(None, PY).unwrap();
        let err = s
            .update(&SkillUpdate {
                remove: vec!["category".into()],
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(err.field(), Some("category"));
    }
}
