//! What the engine needs to know about a skill: its typed ports, its runtime,
//! where it runs and the commit its id resolves to; and the catalog of the
//! skills a caller can see.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::types::{ExecutionMode, PortSpec, PortType, Runtime};

/// The signature of one version of an executable skill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkillSignature {
    pub skill_id: String,
    pub runtime: Runtime,
    pub execution_mode: ExecutionMode,
    #[serde(default)]
    pub inputs: Vec<PortSpec>,
    #[serde(default)]
    pub outputs: Vec<PortSpec>,
    /// When set, the skill also accepts inputs under names it does not
    /// declare, all of this type (the math node's variables, the merge
    /// node's parts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_inputs: Option<PortType>,
    /// The commit of the skill's volume this version was read from.
    pub commit: String,
    /// Whether the skill's code is built into a skill component
    /// (`wasm-component` skills, and Python or JavaScript skills with
    /// `compiled: true`); such a node runs only through its component.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub compiled: bool,
    /// The component built next to the skill file at `commit`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<ComponentRef>,
}

/// The built component of a compiled skill: `skills/<id>.wasm` beside the
/// skill file, at the same commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentRef {
    /// Hex SHA-256 of the component's bytes.
    pub sha256: String,
    /// Its git blob id, to read it from the volume.
    pub blob: String,
    /// Whether it was built from the skill file's current source (see
    /// `llmos_core::skill::component::freshness`); a stale component does
    /// not run.
    pub fresh: bool,
}

impl SkillSignature {
    /// The declared input of this name.
    pub fn input(&self, name: &str) -> Option<&PortSpec> {
        self.inputs.iter().find(|p| p.name == name)
    }

    /// The declared output of this name.
    pub fn output(&self, name: &str) -> Option<&PortSpec> {
        self.outputs.iter().find(|p| p.name == name)
    }

    /// The type of the input of this name, declared or accepted as an extra
    /// input; `None` when the skill has no such input.
    pub fn input_type(&self, name: &str) -> Option<PortType> {
        self.input(name).map(|p| p.ty).or(self.extra_inputs)
    }

    /// Where nodes of this skill run: built-in data nodes and `edge-wasm`
    /// skills at the edge, every other skill (Python in Pyodide, JavaScript,
    /// Three.js, ngspice) in the browser.
    pub fn placement(&self) -> Placement {
        if self.runtime == Runtime::Builtin || self.execution_mode == ExecutionMode::EdgeWasm {
            Placement::Edge
        } else {
            Placement::Browser
        }
    }

    /// Whether nodes of this skill may run in either place: a compiled
    /// skill with a built component, since the same component runs at the
    /// edge and in the browser.
    pub fn runs_anywhere(&self) -> bool {
        self.compiled && self.component.is_some()
    }

    /// Where a node of this skill runs when it asks for `requested` (its
    /// `where`): the request when the skill [runs anywhere](Self::runs_anywhere)
    /// or the request is its own [placement](Self::placement), the own
    /// placement without a request; otherwise `Err` with the own placement.
    pub fn placement_for(&self, requested: Option<Placement>) -> Result<Placement, Placement> {
        let own = self.placement();
        match requested {
            None => Ok(own),
            Some(p) if p == own || self.runs_anywhere() => Ok(p),
            Some(_) => Err(own),
        }
    }
}

/// Where a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Placement {
    /// In the edge component (WASI), next to the stored workflow.
    Edge,
    /// In the user's browser.
    Browser,
}

impl Placement {
    pub fn as_str(self) -> &'static str {
        match self {
            Placement::Edge => "edge",
            Placement::Browser => "browser",
        }
    }

    /// The place as a phrase: "at the edge", "in the browser".
    pub fn phrase(self) -> &'static str {
        match self {
            Placement::Edge => "at the edge",
            Placement::Browser => "in the browser",
        }
    }
}

/// The executable skills a caller can see, already merged across volumes
/// (user over team over system). Built-in nodes are not looked up here: the
/// engine resolves ids with the [`BUILTIN_PREFIX`](super::builtin::BUILTIN_PREFIX)
/// itself.
pub trait SkillCatalog {
    /// The latest visible version of a skill.
    fn latest(&self, skill_id: &str) -> Option<Arc<SkillSignature>>;

    /// The version of a skill at a given commit, when the catalog knows it.
    /// The default knows only the latest version.
    fn at_commit(&self, skill_id: &str, commit: &str) -> Option<Arc<SkillSignature>> {
        self.latest(skill_id).filter(|s| s.commit == commit)
    }
}

/// An in-memory catalog: what a component builds from the store before
/// validating, and what tests use.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    latest: HashMap<String, Arc<SkillSignature>>,
    older: HashMap<(String, String), Arc<SkillSignature>>,
}

impl Catalog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the latest version of a skill.
    pub fn insert(&mut self, signature: SkillSignature) -> &mut Self {
        self.latest
            .insert(signature.skill_id.clone(), Arc::new(signature));
        self
    }

    /// Adds an older version, resolvable by a node that pins its commit.
    pub fn insert_version(&mut self, signature: SkillSignature) -> &mut Self {
        self.older.insert(
            (signature.skill_id.clone(), signature.commit.clone()),
            Arc::new(signature),
        );
        self
    }

    pub fn len(&self) -> usize {
        self.latest.len()
    }

    pub fn is_empty(&self) -> bool {
        self.latest.is_empty()
    }
}

impl FromIterator<SkillSignature> for Catalog {
    fn from_iter<I: IntoIterator<Item = SkillSignature>>(iter: I) -> Self {
        let mut catalog = Catalog::new();
        for s in iter {
            catalog.insert(s);
        }
        catalog
    }
}

impl SkillCatalog for Catalog {
    fn latest(&self, skill_id: &str) -> Option<Arc<SkillSignature>> {
        self.latest.get(skill_id).cloned()
    }

    fn at_commit(&self, skill_id: &str, commit: &str) -> Option<Arc<SkillSignature>> {
        match self.latest.get(skill_id) {
            Some(s) if s.commit == commit => Some(Arc::clone(s)),
            _ => self
                .older
                .get(&(skill_id.to_owned(), commit.to_owned()))
                .cloned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(runtime: Runtime, mode: ExecutionMode) -> SkillSignature {
        SkillSignature {
            skill_id: "s".into(),
            runtime,
            execution_mode: mode,
            inputs: vec![],
            outputs: vec![],
            extra_inputs: None,
            commit: "c1".into(),
            compiled: false,
            component: None,
        }
    }

    #[test]
    fn placement_follows_runtime_and_execution_mode() {
        use ExecutionMode::*;
        assert_eq!(
            sig(Runtime::Builtin, BrowserWasm).placement(),
            Placement::Edge
        );
        assert_eq!(
            sig(Runtime::WasmComponent, EdgeWasm).placement(),
            Placement::Edge
        );
        for r in [
            Runtime::PythonWasm,
            Runtime::Javascript,
            Runtime::Threejs,
            Runtime::Spice,
        ] {
            assert_eq!(sig(r, BrowserWasm).placement(), Placement::Browser, "{r}");
        }
    }

    #[test]
    fn only_compiled_skills_with_a_component_run_in_either_place() {
        use Placement::*;
        let component = ComponentRef {
            sha256: "ab".repeat(32),
            blob: "cd".repeat(20),
            fresh: true,
        };
        let mut python = sig(Runtime::PythonWasm, ExecutionMode::BrowserWasm);
        assert_eq!(python.placement_for(None), Ok(Browser));
        assert_eq!(python.placement_for(Some(Browser)), Ok(Browser));
        assert_eq!(python.placement_for(Some(Edge)), Err(Browser));
        python.compiled = true;
        assert_eq!(
            python.placement_for(Some(Edge)),
            Err(Browser),
            "not built yet"
        );
        python.component = Some(component.clone());
        assert_eq!(python.placement_for(Some(Edge)), Ok(Edge));
        assert_eq!(python.placement_for(None), Ok(Browser));

        let mut rust = sig(Runtime::WasmComponent, ExecutionMode::EdgeWasm);
        rust.compiled = true;
        rust.component = Some(component);
        assert_eq!(rust.placement_for(Some(Browser)), Ok(Browser));
        assert_eq!(rust.placement_for(None), Ok(Edge));
        assert_eq!(
            sig(Runtime::Builtin, ExecutionMode::BrowserWasm).placement_for(Some(Browser)),
            Err(Edge)
        );
    }

    #[test]
    fn catalog_resolves_latest_and_known_older_commits() {
        let mut c = Catalog::new();
        let mut old = sig(Runtime::Javascript, ExecutionMode::BrowserWasm);
        old.commit = "c0".into();
        c.insert(sig(Runtime::Javascript, ExecutionMode::BrowserWasm))
            .insert_version(old);
        assert_eq!(c.latest("s").unwrap().commit, "c1");
        assert_eq!(c.at_commit("s", "c0").unwrap().commit, "c0");
        assert_eq!(c.at_commit("s", "c1").unwrap().commit, "c1");
        assert!(c.at_commit("s", "zz").is_none());
        assert!(c.latest("t").is_none());
    }
}
