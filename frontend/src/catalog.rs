//! The skills the page knows: the caller's merged list from `GET /skills`,
//! the full signature of each executable skill (`GET /skills/{id}`), and
//! the engine's built-in nodes. It feeds the node library, the canvas
//! (titles and ports) and validation (an engine [`Catalog`]).

use std::collections::HashMap;
use std::sync::Arc;

use llmos_core::types::{PortSpec, Runtime};
use llmos_core::workflow::builtin;
use llmos_core::workflow::{Catalog, ComponentRef, SkillSignature};
use serde_json::Value;

use crate::api::{BrokenSkill, SkillSummary};
use crate::graph::scene::SkillLookup;

/// What kind of library entry a skill is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Context,
    Executable,
    Builtin,
}

/// One skill as the page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct SkillEntry {
    pub skill_id: String,
    pub name: String,
    pub category: String,
    pub description: String,
    pub keywords: Vec<String>,
    pub kind: EntryKind,
    /// `system`, `teams/{id}` or `users/{id}`; `engine` for built-ins.
    pub volume: String,
    pub commit: String,
    /// Ports and runtime of executable and built-in skills, once known.
    pub signature: Option<Arc<SkillSignature>>,
    /// The code block and its language (for the browser runtimes).
    pub code: Option<String>,
    pub language: Option<String>,
    /// Why the full skill could not be read, if it could not.
    pub problem: Option<String>,
}

impl SkillEntry {
    /// Whether the entry can be placed on the canvas.
    pub fn is_node(&self) -> bool {
        self.kind != EntryKind::Context
    }

    /// Lowercase text the library search matches against.
    pub fn haystack(&self) -> String {
        let mut text = format!(
            "{} {} {} {} {}",
            self.skill_id,
            self.name,
            self.category,
            self.description,
            self.keywords.join(" ")
        );
        if let Some(sig) = &self.signature {
            for p in sig.inputs.iter().chain(&sig.outputs) {
                text.push(' ');
                text.push_str(&p.name);
                text.push(' ');
                text.push_str(p.ty.as_str());
            }
        }
        text.to_lowercase()
    }
}

/// Category of the engine's built-in nodes in the library.
pub const BUILTIN_CATEGORY: &str = "built-in";

/// Every known skill, by id.
#[derive(Debug, Clone, Default)]
pub struct SkillIndex {
    entries: Vec<SkillEntry>,
    by_id: HashMap<String, usize>,
    catalog: Catalog,
    broken: Vec<BrokenSkill>,
}

impl PartialEq for SkillIndex {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}

/// Reads an executable skill's full JSON (`GET /skills/{id}`) into a
/// signature and its code; `Err` says what is missing.
pub fn parse_detail(
    summary: &SkillSummary,
    detail: &Value,
) -> Result<(SkillSignature, Option<String>, Option<String>), String> {
    let runtime_name = detail["runtime"]
        .as_str()
        .or_else(|| detail["type"].as_str())
        .or(summary.runtime.as_deref())
        .ok_or("the skill has no runtime")?;
    let runtime: Runtime = runtime_name.parse().map_err(|e| format!("{e}"))?;
    let execution_mode = match detail["execution_mode"].as_str() {
        Some(m) => m.parse().map_err(|e| format!("{e}"))?,
        None => llmos_core::skill::default_execution_mode(runtime),
    };
    let ports = |key: &str| -> Result<Vec<PortSpec>, String> {
        match &detail[key] {
            Value::Null => Ok(Vec::new()),
            v => serde_json::from_value(v.clone()).map_err(|e| format!("{key}: {e}")),
        }
    };
    let (code, language) = match &detail["code"] {
        Value::String(s) => (
            Some(s.clone()),
            detail["code_language"]
                .as_str()
                .or_else(|| detail["language"].as_str())
                .map(str::to_owned),
        ),
        Value::Object(o) => (
            o.get("code").and_then(Value::as_str).map(str::to_owned),
            o.get("language").and_then(Value::as_str).map(str::to_owned),
        ),
        _ => (None, None),
    };
    let language = language.or_else(|| {
        llmos_core::skill::languages(runtime)
            .first()
            .map(|l| (*l).to_owned())
    });
    let commit = detail["commit"]
        .as_str()
        .unwrap_or(&summary.commit)
        .to_owned();
    let compiled =
        detail["compiled"].as_bool().unwrap_or(false) || runtime == Runtime::WasmComponent;
    Ok((
        SkillSignature {
            skill_id: summary.skill_id.clone(),
            runtime,
            execution_mode,
            inputs: ports("inputs")?,
            outputs: ports("outputs")?,
            extra_inputs: None,
            commit,
            compiled,
            component: compiled
                .then(|| ComponentFacts::from_detail(&detail["component"]))
                .flatten()
                .map(|c| c.reference()),
        },
        code,
        language,
    ))
}

/// What `GET /skills/{id}` says of a compiled skill's component
/// (`"component": {…}`, or `null` when none is built).
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentFacts {
    pub sha256: String,
    pub blob: String,
    pub size: u64,
    /// `rust`, `wat`, `python` or `javascript`.
    pub language: Option<String>,
    /// The compiler that built it (`rustc 1.95.0`, …).
    pub toolchain: Option<String>,
    /// `fresh`, `stale`, `unknown` (built elsewhere, no provenance) or
    /// `invalid`.
    pub state: String,
    /// Whether workflows may run it.
    pub runnable: bool,
    /// Why the bytes are not usable, for an invalid one.
    pub error: Option<String>,
}

impl ComponentFacts {
    /// The facts of a `component` object; `None` for `null` or a shape
    /// without a hash.
    pub fn from_detail(value: &Value) -> Option<ComponentFacts> {
        let text = |key: &str| value[key].as_str().map(str::to_owned);
        Some(ComponentFacts {
            sha256: text("sha256").filter(|s| !s.is_empty())?,
            blob: text("blob").unwrap_or_default(),
            size: value["size"].as_u64().unwrap_or_default(),
            language: text("language"),
            toolchain: text("toolchain"),
            state: text("state").unwrap_or_else(|| "unknown".to_owned()),
            runnable: value["runnable"]
                .as_bool()
                .or_else(|| value["fresh"].as_bool())
                .unwrap_or(false),
            error: text("error"),
        })
    }

    /// The engine's reference to it: only a runnable component is fresh.
    pub fn reference(&self) -> ComponentRef {
        ComponentRef {
            sha256: self.sha256.clone(),
            blob: self.blob.clone(),
            fresh: self.runnable,
        }
    }
}

impl SkillIndex {
    /// The built-in nodes only (before the skills have loaded).
    pub fn builtins() -> Self {
        SkillIndex::new(Vec::new(), &HashMap::new())
    }

    /// The merged list plus the full JSON of executable skills by id.
    pub fn new(
        summaries: Vec<SkillSummary>,
        details: &HashMap<String, Result<Value, String>>,
    ) -> Self {
        let mut entries = Vec::with_capacity(summaries.len() + 5);
        let mut catalog = Catalog::new();
        for s in summaries {
            let kind = if s.is_executable() {
                EntryKind::Executable
            } else {
                EntryKind::Context
            };
            let mut entry = SkillEntry {
                skill_id: s.skill_id.clone(),
                name: if s.name.is_empty() {
                    s.skill_id.clone()
                } else {
                    s.name.clone()
                },
                category: if s.category.is_empty() {
                    "other".to_owned()
                } else {
                    s.category.clone()
                },
                description: s.description.clone(),
                keywords: s.keywords.clone(),
                kind,
                volume: s.volume.clone(),
                commit: s.commit.clone(),
                signature: None,
                code: None,
                language: None,
                problem: None,
            };
            if kind == EntryKind::Executable {
                match details.get(&s.skill_id) {
                    Some(Ok(detail)) => match parse_detail(&s, detail) {
                        Ok((sig, code, language)) => {
                            catalog.insert(sig.clone());
                            entry.signature = Some(Arc::new(sig));
                            entry.code = code;
                            entry.language = language;
                        }
                        Err(why) => entry.problem = Some(why),
                    },
                    Some(Err(why)) => entry.problem = Some(why.clone()),
                    None => entry.problem = Some("not loaded".to_owned()),
                }
            }
            entries.push(entry);
        }
        for sig in builtin::signatures() {
            let name = crate::graph::scene::default_title(&sig.skill_id);
            entries.push(SkillEntry {
                skill_id: sig.skill_id.clone(),
                name: name.clone(),
                category: BUILTIN_CATEGORY.to_owned(),
                description: builtin_description(&sig.skill_id).to_owned(),
                keywords: vec![name],
                kind: EntryKind::Builtin,
                volume: "engine".to_owned(),
                commit: sig.commit.clone(),
                signature: Some(sig),
                code: None,
                language: None,
                problem: None,
            });
        }
        let by_id = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.skill_id.clone(), i))
            .collect();
        SkillIndex {
            entries,
            by_id,
            catalog,
            broken: Vec::new(),
        }
    }

    /// Skill files of the visible volumes that do not parse.
    pub fn broken(&self) -> &[BrokenSkill] {
        &self.broken
    }

    pub fn set_broken(&mut self, broken: Vec<BrokenSkill>) {
        self.broken = broken;
    }

    pub fn entries(&self) -> &[SkillEntry] {
        &self.entries
    }

    pub fn get(&self, skill_id: &str) -> Option<&SkillEntry> {
        self.by_id.get(skill_id).map(|&i| &self.entries[i])
    }

    /// The engine's catalog of executable skills, for validation.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Node library entries grouped by category (built-ins last), each
    /// group sorted by name; only entries matching every word of `filter`.
    pub fn library(&self, filter: &str) -> Vec<(String, Vec<SkillEntry>)> {
        let words: Vec<String> = filter.split_whitespace().map(str::to_lowercase).collect();
        let mut groups: Vec<(String, Vec<SkillEntry>)> = Vec::new();
        for e in self.entries.iter().filter(|e| e.is_node()) {
            let hay = e.haystack();
            if !words.iter().all(|w| hay.contains(w.as_str())) {
                continue;
            }
            match groups.iter_mut().find(|(c, _)| *c == e.category) {
                Some((_, list)) => list.push(e.clone()),
                None => groups.push((e.category.clone(), vec![e.clone()])),
            }
        }
        for (_, list) in &mut groups {
            list.sort_by_key(|e| e.name.to_lowercase());
        }
        groups
            .sort_by(|(a, _), (b, _)| (a == BUILTIN_CATEGORY, a).cmp(&(b == BUILTIN_CATEGORY, b)));
        groups
    }
}

impl SkillLookup for SkillIndex {
    fn signature(&self, skill_id: &str) -> Option<Arc<SkillSignature>> {
        self.get(skill_id).and_then(|e| e.signature.clone())
    }

    fn title(&self, skill_id: &str) -> Option<String> {
        self.get(skill_id).map(|e| e.name.clone())
    }
}

/// One-line descriptions of the built-in nodes for the library.
fn builtin_description(skill_id: &str) -> &'static str {
    match skill_id {
        builtin::CONSTANT => "Outputs the value given as its param.",
        builtin::JSON_PATH => "Selects parts of a JSON document with a JSONPath expression.",
        builtin::TRANSFORM => {
            "Picks and renames fields of an object or of each object of an array."
        }
        builtin::MATH => "Evaluates an arithmetic expression over its numeric inputs.",
        builtin::MERGE => "Combines its inputs into an object, array or merged value.",
        _ => "A data node built into the engine.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn summary(id: &str, kind: &str, category: &str) -> SkillSummary {
        SkillSummary {
            skill_id: id.into(),
            name: id.to_uppercase(),
            category: category.into(),
            description: String::new(),
            keywords: vec![],
            kind: kind.into(),
            volume: "system".into(),
            commit: "c1".into(),
            runtime: None,
        }
    }

    #[test]
    fn executable_details_become_signatures_and_library_groups() {
        let mut details = HashMap::new();
        details.insert(
            "plot-node".to_owned(),
            Ok(
                json!({"runtime": "javascript", "execution_mode": "browser-wasm",
                "inputs": [{"name": "y", "type": "array"}],
                "outputs": [{"name": "plot", "type": "object"}],
                "code": "function execute(i) { return {plot: {}}; }"}),
            ),
        );
        details.insert("broken-node".to_owned(), Ok(json!({"runtime": "cobol"})));
        let index = SkillIndex::new(
            vec![
                summary("plot-node", "executable", "visualisation"),
                summary("broken-node", "executable", "data"),
                summary("guide", "context", "docs"),
            ],
            &details,
        );
        let plot = index.get("plot-node").unwrap();
        let sig = plot.signature.as_ref().unwrap();
        assert_eq!(sig.inputs[0].name, "y");
        assert_eq!(plot.language.as_deref(), Some("javascript"));
        assert!(index.catalog().latest_known("plot-node"));
        assert!(
            index
                .get("broken-node")
                .unwrap()
                .problem
                .as_ref()
                .unwrap()
                .contains("cobol")
        );
        let groups = index.library("");
        let names: Vec<&str> = groups.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(names, ["data", "visualisation", BUILTIN_CATEGORY]);
        assert!(
            !groups
                .iter()
                .any(|(_, l)| l.iter().any(|e| e.skill_id == "guide"))
        );
        let found = index.library("array plot");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1[0].skill_id, "plot-node");
        assert_eq!(index.title("builtin:math").as_deref(), Some("math"));
    }

    #[test]
    fn compiled_skills_carry_their_component_reference() {
        let sha = "ab".repeat(32);
        let detail = |component: Value| {
            json!({"runtime": "python-wasm", "compiled": true,
                "inputs": [], "outputs": [{"name": "mean", "type": "number"}],
                "code": "def execute(i): pass", "component": component})
        };
        let summary = summary("stats", "executable", "data");
        let (sig, _, _) = parse_detail(
            &summary,
            &detail(json!({"sha256": sha, "blob": "cd".repeat(20), "size": 1234,
                "language": "python", "state": "fresh", "runnable": true})),
        )
        .unwrap();
        assert!(sig.compiled && sig.runs_anywhere());
        let component = sig.component.unwrap();
        assert_eq!(
            (component.sha256.as_str(), component.fresh),
            (sha.as_str(), true)
        );

        let (stale, _, _) = parse_detail(
            &summary,
            &detail(json!({"sha256": sha, "blob": "cd".repeat(20), "state": "stale", "runnable": false})),
        )
        .unwrap();
        assert_eq!(stale.component.map(|c| c.fresh), Some(false));
        let (missing, _, _) = parse_detail(&summary, &detail(Value::Null)).unwrap();
        assert!(missing.compiled && missing.component.is_none() && !missing.runs_anywhere());

        let (plain, _, _) = parse_detail(
            &summary,
            &json!({"runtime": "python-wasm", "code": "def execute(i): pass"}),
        )
        .unwrap();
        assert!(!plain.compiled);
        let facts = ComponentFacts::from_detail(&json!({"sha256": sha, "size": 2_000_000,
            "state": "unknown", "runnable": true, "toolchain": "rustc 1.95.0"}))
        .unwrap();
        assert_eq!(facts.state, "unknown");
        assert_eq!(facts.toolchain.as_deref(), Some("rustc 1.95.0"));
    }

    trait Known {
        fn latest_known(&self, id: &str) -> bool;
    }

    impl Known for Catalog {
        fn latest_known(&self, id: &str) -> bool {
            llmos_core::workflow::SkillCatalog::latest(self, id).is_some()
        }
    }
}
