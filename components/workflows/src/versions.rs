//! Skill versions for workflows: the engine's catalog of the caller's
//! visible executable skills (latest versions plus every version a node
//! pins), pinning nodes when a workflow is saved, and reading a skill's
//! code at an exact commit.
//!
//! A pin is a commit id. It resolves in the first volume of the caller's
//! view that has that commit and the skill's file at it, so a version stays
//! runnable after the skill is edited, deleted or promoted: the commit is
//! still in its volume's history. A pin no visible volume holds is left to
//! validation, which warns that the version's ports are unknown.
//!
//! A compiled skill's version runs the component built beside its file at
//! that commit (`skills/<id>.wasm`): [`Versions::catalog_for`] gives every
//! compiled signature a workflow uses its [`ComponentRef`] (whether it is
//! there, its hash and blob, whether it was built from that version's
//! source), so validation can refuse a missing or stale one.

use std::collections::HashMap;

use llmos_core::ids::{SkillId, VolumeId};
use llmos_core::skill::{self, Skill};
use llmos_core::workflow::builtin::is_builtin_id;
use llmos_core::workflow::{Catalog, ComponentRef, SkillCatalog, SkillSignature, Workflow};
use llmos_guest::ApiResult;
use llmos_store::object::{ObjectId, parse_id};
use llmos_store::volume::At;
use llmos_store::{SkillLocation, VolumeError, VolumePath};

use crate::app::{App, catalog_error, volume_error};

/// One version of a skill, read from git.
#[derive(Debug, Clone)]
pub struct Version {
    pub volume: VolumeId,
    /// The skill file's path in `volume`.
    pub path: VolumePath,
    pub blob: ObjectId,
    pub skill: Skill,
}

/// Where a skill's versions are looked up: the volumes of the caller's
/// merged view, with a cache of what was read in this request.
pub struct Versions<'a, 'd> {
    app: &'a App<'d>,
    view: Vec<VolumeId>,
    cache: HashMap<(String, String), Option<Version>>,
}

impl<'a, 'd> Versions<'a, 'd> {
    pub fn new(app: &'a App<'d>, view: &[VolumeId]) -> Self {
        Versions {
            app,
            view: view.to_vec(),
            cache: HashMap::new(),
        }
    }

    /// Skill `id` as it was at `commit`, in the first volume of the view
    /// that holds that commit; `None` when none does (or the skill did not
    /// exist there, or its file did not parse).
    pub fn at(&mut self, id: &str, commit: &str) -> ApiResult<Option<Version>> {
        let key = (id.to_owned(), commit.to_owned());
        if let Some(found) = self.cache.get(&key) {
            return Ok(found.clone());
        }
        let found = self.find(id, commit)?;
        self.cache.insert(key, found.clone());
        Ok(found)
    }

    fn find(&self, id: &str, commit: &str) -> ApiResult<Option<Version>> {
        let (Ok(skill_id), Ok(commit)) = (SkillId::new(id), parse_id(commit)) else {
            return Ok(None);
        };
        for volume in &self.view {
            if !self.app.identity.can_read(volume) {
                continue;
            }
            for location in SkillLocation::ALL {
                let path = location.path(&skill_id);
                let file = match self
                    .app
                    .volumes
                    .read_file(volume, &path, At::Commit(commit))
                {
                    Ok(file) => file,
                    Err(VolumeError::FileNotFound { .. }) => continue,
                    // Not this volume's commit: try the next volume.
                    Err(VolumeError::CommitNotFound { .. }) => break,
                    Err(e) => return Err(volume_error(e)),
                };
                let Ok(skill) = skill::parse_bytes_as(&skill_id, Some(path.as_str()), &file.data)
                else {
                    return Ok(None);
                };
                return Ok(Some(Version {
                    volume: volume.clone(),
                    path,
                    blob: file.blob,
                    skill,
                }));
            }
        }
        Ok(None)
    }

    /// The engine's catalog for `workflow`: the latest version of every
    /// visible executable skill, and the version each pinned node names.
    pub fn catalog_for(&mut self, workflow: &Workflow) -> ApiResult<Catalog> {
        self.app.fresh(&self.view)?;
        let mut catalog = self
            .app
            .catalog()
            .signatures(&self.view)
            .map_err(catalog_error)?;
        let mut pins: Vec<(String, String)> = Vec::new();
        for node in &workflow.nodes {
            if let Some(pin) = effective_pin(workflow, node)
                && !is_builtin_id(&node.skill_id)
                && catalog
                    .latest(&node.skill_id)
                    .is_none_or(|latest| latest.commit != pin)
            {
                pins.push((node.skill_id.clone(), pin.to_owned()));
            }
        }
        pins.sort();
        pins.dedup();
        for (id, pin) in pins {
            if let Some(version) = self.at(&id, &pin)?
                && let Some(signature) = signature_of(&version.skill, &pin)
            {
                catalog.insert_version(signature);
            }
        }
        self.attach_components(workflow, &mut catalog)?;
        Ok(catalog)
    }

    /// Gives each compiled signature the nodes of `workflow` resolve to,
    /// and that has no component yet, the component beside its file at
    /// its commit (if one is there).
    fn attach_components(&mut self, workflow: &Workflow, catalog: &mut Catalog) -> ApiResult<()> {
        let mut wanted: Vec<(String, String)> = Vec::new();
        for node in &workflow.nodes {
            if is_builtin_id(&node.skill_id) {
                continue;
            }
            let signature = effective_pin(workflow, node)
                .and_then(|pin| catalog.at_commit(&node.skill_id, pin))
                .or_else(|| catalog.latest(&node.skill_id));
            if let Some(s) = signature.filter(|s| s.compiled && s.component.is_none()) {
                wanted.push((s.skill_id.clone(), s.commit.clone()));
            }
        }
        wanted.sort();
        wanted.dedup();
        for (id, commit) in wanted {
            let Some(component) = self.component_at(&id, &commit)? else {
                continue;
            };
            let Some(mut signature) = catalog
                .at_commit(&id, &commit)
                .map(|s| SkillSignature::clone(&s))
            else {
                continue;
            };
            signature.component = Some(component);
            if catalog.latest(&id).is_some_and(|l| l.commit == commit) {
                catalog.insert(signature);
            } else {
                catalog.insert_version(signature);
            }
        }
        Ok(())
    }

    /// The component built beside skill `id`'s file at `commit`, judged by
    /// the catalog against the file at that commit (the same judgement the
    /// skills API shows): runnable when built from that file's source, or
    /// uploaded without provenance and checked against it.
    pub fn component_at(&mut self, id: &str, commit: &str) -> ApiResult<Option<ComponentRef>> {
        let Some(version) = self.at(id, commit)? else {
            return Ok(None);
        };
        let Ok(commit_id) = parse_id(commit) else {
            return Ok(None);
        };
        let catalog = self.app.catalog();
        let component = catalog
            .component_at(
                &version.volume,
                commit_id,
                version.path.as_str(),
                &version.skill,
            )
            .map_err(catalog_error)?;
        Ok(component.map(|c| c.reference()))
    }
}

/// Whether the whole workflow asks to follow the latest skill versions
/// (`"follow_latest": true` at its top level).
pub fn workflow_follows_latest(workflow: &Workflow) -> bool {
    workflow.follows_latest()
}

/// The commit a node is pinned to, unless it (or its workflow) follows
/// the latest version.
pub fn effective_pin<'w>(
    workflow: &Workflow,
    node: &'w llmos_core::workflow::Node,
) -> Option<&'w str> {
    if workflow_follows_latest(workflow) || node.follows_latest() {
        return None;
    }
    node.skill_commit.as_deref().filter(|c| !c.is_empty())
}

/// The engine's signature of a parsed skill read at `commit`.
pub fn signature_of(skill: &Skill, commit: &str) -> Option<SkillSignature> {
    skill.signature().map(|s| SkillSignature {
        skill_id: s.skill_id.to_string(),
        runtime: s.runtime,
        execution_mode: s.execution_mode,
        inputs: s.inputs,
        outputs: s.outputs,
        extra_inputs: None,
        commit: commit.to_owned(),
        compiled: s.compiled,
        component: None,
    })
}

/// Pins every node that has no pin to the current commit of its skill, as
/// saving does: nodes of built-in skills (the engine's own version),
/// nodes that follow the latest version, nodes of unknown skills and
/// nodes already pinned are left as they are. Returns the ids of the
/// nodes it pinned.
pub fn pin_nodes(workflow: &mut Workflow, catalog: &Catalog) -> Vec<String> {
    if workflow_follows_latest(workflow) {
        return Vec::new();
    }
    let mut pinned = Vec::new();
    for node in &mut workflow.nodes {
        let unpinned = node.skill_commit.as_deref().is_none_or(str::is_empty);
        if !unpinned || node.follow_latest == Some(true) || is_builtin_id(&node.skill_id) {
            continue;
        }
        if let Some(latest) = catalog.latest(&node.skill_id) {
            node.skill_commit = Some(latest.commit.clone());
            pinned.push(node.id.clone());
        }
    }
    pinned
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmos_core::types::{ExecutionMode, Runtime};

    fn signature(id: &str, commit: &str) -> SkillSignature {
        SkillSignature {
            skill_id: id.into(),
            runtime: Runtime::Javascript,
            execution_mode: ExecutionMode::BrowserWasm,
            inputs: vec![],
            outputs: vec![],
            extra_inputs: None,
            commit: commit.into(),
            compiled: false,
            component: None,
        }
    }

    fn workflow(text: &str) -> Workflow {
        Workflow::from_json(text).unwrap()
    }

    #[test]
    fn saving_pins_only_unpinned_skill_nodes() {
        let catalog: Catalog = [signature("scale", "c2"), signature("plot", "p1")]
            .into_iter()
            .collect();
        let mut wf = workflow(
            r#"{"nodes": [
                {"id": "a", "skill_id": "scale"},
                {"id": "b", "skill_id": "scale", "skill_commit": "c1"},
                {"id": "c", "skill_id": "plot", "follow_latest": true},
                {"id": "d", "skill_id": "builtin:constant"},
                {"id": "e", "skill_id": "missing"},
                {"id": "f", "skill_id": "plot", "skill_commit": ""}]}"#,
        );
        assert_eq!(pin_nodes(&mut wf, &catalog), ["a", "f"]);
        let pins: Vec<Option<&str>> = wf.nodes.iter().map(|n| n.skill_commit.as_deref()).collect();
        assert_eq!(pins, [Some("c2"), Some("c1"), None, None, None, Some("p1")]);
    }

    #[test]
    fn a_workflow_that_follows_latest_pins_nothing() {
        let catalog: Catalog = [signature("scale", "c2")].into_iter().collect();
        let mut wf = workflow(
            r#"{"follow_latest": true, "nodes": [
                {"id": "a", "skill_id": "scale"},
                {"id": "b", "skill_id": "scale", "skill_commit": "c1"}]}"#,
        );
        assert!(pin_nodes(&mut wf, &catalog).is_empty());
        assert_eq!(wf.nodes[0].skill_commit, None);
        assert_eq!(effective_pin(&wf, &wf.nodes[1]), None);
        let wf = workflow(r#"{"nodes": [{"id": "b", "skill_id": "s", "skill_commit": "c1"}]}"#);
        assert_eq!(effective_pin(&wf, &wf.nodes[0]), Some("c1"));
    }
}
