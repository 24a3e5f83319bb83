//! The skills browser and editor: the merged view with each skill's
//! volume, the file in a Markdown editor checked as you type with the same
//! parser the server uses, the server's own refusals, history with diffs,
//! rollback, promotion to a team, and new skills from templates.

use std::rc::Rc;

use llmos_core::ids::SkillId;
use llmos_core::skill::{self, SkillError};
use serde_json::Value;
use sycamore::prelude::*;

use super::{AppState, Load, NoticeKind};
use crate::api::{self, BuildFailure, CommitInfo};

/// A skill in a volume.
#[derive(Debug, Clone, PartialEq)]
pub struct SkillRef {
    pub skill_id: String,
    pub volume: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkillTab {
    View,
    Edit,
    History,
}

/// A diff between two commits of a skill.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffView {
    pub from: String,
    pub to: String,
    pub text: String,
}

/// The client-side check of the editor's text.
#[derive(Debug, Clone, PartialEq)]
pub enum EditorCheck {
    Empty,
    Valid {
        summary: String,
    },
    Invalid {
        message: String,
        line: Option<usize>,
    },
}

/// Checks a skill file with the engine's parser; `id` is the id it is
/// stored under, when editing an existing skill.
pub fn check_skill_text(id: Option<&str>, text: &str) -> EditorCheck {
    if text.trim().is_empty() {
        return EditorCheck::Empty;
    }
    let parsed = match id.map(SkillId::new) {
        Some(Ok(id)) => {
            let hint = format!("skills/{}.md", id.as_str());
            skill::parse_as(&id, Some(&hint), text)
        }
        _ => skill::parse(None, text),
    };
    match parsed {
        Ok(s) => {
            let kind = match s.runtime() {
                Some(r) => format!(
                    "executable ({r}), {} input(s), {} output(s)",
                    s.inputs().len(),
                    s.outputs().len()
                ),
                None => "context skill".to_owned(),
            };
            EditorCheck::Valid {
                summary: format!("{} — {kind}", s.id().as_str()),
            }
        }
        Err(e) => invalid(&e),
    }
}

fn invalid(e: &SkillError) -> EditorCheck {
    EditorCheck::Invalid {
        message: e.to_string(),
        line: e.line(),
    }
}

/// Starting points for a new skill.
pub const TEMPLATES: [(&str, &str); 3] = [
    (
        "Context skill",
        "---\nskill_id: my-guidance\nname: My guidance\ncategory: programming\ndescription: What this guidance helps with, in one or two sentences.\nkeywords: [example]\n---\n# My guidance\n\nWrite the guidance for the model here.\n",
    ),
    (
        "JavaScript node",
        "---\nskill_id: my-js-node\nname: My JavaScript node\ntype: javascript\nexecution_mode: browser-wasm\ncategory: data\ndescription: Doubles a number.\nkeywords: [example]\ninputs:\n  - name: x\n    type: number\n    default: 1\n    description: The number to double.\noutputs:\n  - name: y\n    type: number\n    description: Twice x.\n---\n# My JavaScript node\n\nDoubles `x`.\n\n```javascript\nfunction execute(inputs) {\n  return { y: inputs.x * 2 };\n}\n```\n",
    ),
    (
        "Python node",
        "---\nskill_id: my-python-node\nname: My Python node\ntype: python-wasm\nexecution_mode: browser-wasm\ncategory: data\ndescription: Sums a list of numbers.\nkeywords: [example]\ninputs:\n  - name: values\n    type: array\n    description: The numbers to add.\noutputs:\n  - name: total\n    type: number\n    description: Their sum.\n---\n# My Python node\n\nAdds up `values`.\n\n```python\ndef execute(inputs):\n    return {\"total\": sum(inputs[\"values\"])}\n```\n",
    ),
];

#[derive(Clone, Copy)]
pub struct SkillsState {
    pub filter: Signal<String>,
    pub selected: Signal<Option<SkillRef>>,
    pub tab: Signal<SkillTab>,
    pub detail: Signal<Load<Value>>,
    /// The editor's text and the text it was loaded with.
    pub draft: Signal<String>,
    pub original: Signal<String>,
    /// The editor holds a new skill (not yet stored).
    pub creating: Signal<bool>,
    /// Where a save goes: `""` for the caller's own volume, `teams/{id}`,
    /// or `system` (admins).
    pub target_volume: Signal<String>,
    pub server_error: Signal<Option<String>>,
    pub saving: Signal<bool>,
    pub history: Signal<Load<Vec<CommitInfo>>>,
    pub diff: Signal<Load<DiffView>>,
    pub check: ReadSignal<Rc<EditorCheck>>,
    /// A build of the selected skill's component is under way.
    pub building: Signal<bool>,
    /// Why the last build failed (cleared by the next build or skill).
    pub build_error: Signal<Option<BuildFailure>>,
}

impl SkillsState {
    pub fn new() -> Self {
        let draft = create_signal(String::new());
        let selected: Signal<Option<SkillRef>> = create_signal(None);
        let creating = create_signal(false);
        let check = create_memo(move || {
            let id = if creating.get() {
                None
            } else {
                selected.with(|s| s.as_ref().map(|s| s.skill_id.clone()))
            };
            Rc::new(draft.with(|text| check_skill_text(id.as_deref(), text)))
        });
        SkillsState {
            filter: create_signal(String::new()),
            selected,
            tab: create_signal(SkillTab::View),
            detail: create_signal(Load::Idle),
            draft,
            original: create_signal(String::new()),
            creating,
            target_volume: create_signal(String::new()),
            server_error: create_signal(None),
            saving: create_signal(false),
            history: create_signal(Load::Idle),
            diff: create_signal(Load::Idle),
            check,
            building: create_signal(false),
            build_error: create_signal(None),
        }
    }

    pub fn is_modified(self) -> bool {
        self.draft.with(|d| self.original.with(|o| d != o))
    }
}

impl AppState {
    /// Where a save of a skill from `volume` goes by default: back to it
    /// when the caller may write there, else the caller's own volume.
    fn default_target(self, volume: &str) -> String {
        let Some(identity) = self.identity() else {
            return String::new();
        };
        if volume.starts_with("teams/")
            && identity
                .team_ids
                .iter()
                .any(|t| volume == format!("teams/{t}"))
        {
            volume.to_owned()
        } else if volume == "system" && identity.role == "admin" {
            "system".to_owned()
        } else {
            String::new()
        }
    }

    /// Shows a skill: its full form, its file in the editor, its history.
    pub fn open_skill(self, skill: SkillRef) {
        let ed = self.skill_editor;
        ed.creating.set(false);
        ed.server_error.set(None);
        ed.build_error.set(None);
        ed.diff.set(Load::Idle);
        ed.target_volume.set(self.default_target(&skill.volume));
        ed.selected.set(Some(skill.clone()));
        self.load_skill(skill);
    }

    fn load_skill(self, skill: SkillRef) {
        let ed = self.skill_editor;
        ed.detail.set(Load::Loading);
        ed.history.set(Load::Loading);
        self.spawn(async move {
            let volume = Some(skill.volume.as_str()).filter(|v| !v.is_empty());
            let (detail, raw, history) = futures::join!(
                api::get_skill(&skill.skill_id, volume),
                api::get_skill_raw(&skill.skill_id, volume),
                api::skill_history(&skill.skill_id, &skill.volume),
            );
            if ed.selected.get_clone_untracked().as_ref() != Some(&skill) {
                return; // Another skill was chosen meanwhile.
            }
            ed.detail.set(match detail {
                Ok(v) => Load::Ready(v),
                Err(e) => Load::Failed(e.to_string()),
            });
            match raw {
                Ok(text) => {
                    ed.original.set(text.clone());
                    ed.draft.set(text);
                }
                Err(e) => ed
                    .server_error
                    .set(Some(format!("Reading the file failed: {e}"))),
            }
            ed.history.set(match history {
                Ok(list) => Load::Ready(list),
                Err(e) => Load::Failed(e.to_string()),
            });
        });
    }

    /// Starts a new skill from template `index` of [`TEMPLATES`].
    pub fn new_skill(self, index: usize) {
        let ed = self.skill_editor;
        let text = TEMPLATES
            .get(index)
            .map_or(TEMPLATES[0].1, |t| t.1)
            .to_owned();
        ed.selected.set(None);
        ed.creating.set(true);
        ed.detail.set(Load::Idle);
        ed.history.set(Load::Idle);
        ed.diff.set(Load::Idle);
        ed.server_error.set(None);
        ed.target_volume.set(String::new());
        ed.original.set(String::new());
        ed.draft.set(text);
        ed.tab.set(SkillTab::Edit);
    }

    /// Saves the editor's text: `POST /skills` for a new skill, `PUT` for
    /// an existing one. A refusal (422 …) is shown under the editor.
    pub fn save_skill(self) {
        let ed = self.skill_editor;
        if ed.saving.get_untracked() {
            return;
        }
        if let EditorCheck::Invalid { message, .. } = &*ed.check.get_clone_untracked() {
            ed.server_error
                .set(Some(format!("Fix the file first: {message}")));
            return;
        }
        let text = ed.draft.get_clone_untracked();
        let target = ed.target_volume.get_clone_untracked();
        let creating = ed.creating.get_untracked();
        let selected = ed.selected.get_clone_untracked();
        ed.saving.set(true);
        ed.server_error.set(None);
        let own_volume = self
            .identity()
            .map(|i| format!("users/{}", i.user_id))
            .unwrap_or_default();
        self.spawn(async move {
            let volume = Some(target.as_str()).filter(|v| !v.is_empty());
            let resolved = volume.map_or(own_volume.clone(), str::to_owned);
            // Saving a skill into the volume it came from replaces it; into
            // another volume (a system skill saved to the user's own) it
            // creates a copy there, which shadows the original, or replaces
            // the copy made earlier.
            let result = match (&selected, creating) {
                (Some(skill), false) if skill.volume == resolved => {
                    api::update_skill(&skill.skill_id, text.clone(), volume).await
                }
                (Some(skill), false) => match api::create_skill(text.clone(), volume).await {
                    Err(e) if e.status == 409 => {
                        api::update_skill(&skill.skill_id, text.clone(), volume).await
                    }
                    other => other,
                },
                _ => api::create_skill(text.clone(), volume).await,
            };
            ed.saving.set(false);
            match result {
                Ok(answer) => {
                    let skill_id = answer["skill_id"]
                        .as_str()
                        .map(str::to_owned)
                        .or_else(|| selected.as_ref().map(|s| s.skill_id.clone()))
                        .unwrap_or_default();
                    let volume =
                        answer["volume"]
                            .as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| {
                                volume.map(str::to_owned).unwrap_or_else(|| {
                                    self.identity()
                                        .map(|i| format!("users/{}", i.user_id))
                                        .unwrap_or_default()
                                })
                            });
                    let commit: String = answer["commit"]
                        .as_str()
                        .unwrap_or_default()
                        .chars()
                        .take(8)
                        .collect();
                    self.notify(
                        NoticeKind::Success,
                        format!("Saved {skill_id} to {volume} ({commit})"),
                    );
                    ed.original.set(text);
                    self.open_skill(SkillRef { skill_id, volume });
                    ed.tab.set(SkillTab::Edit);
                    self.load_skills().await;
                }
                Err(e) => ed.server_error.set(Some(e.to_string())),
            }
        });
    }

    /// Builds the selected compiled skill's component from its file as
    /// stored (`POST /skills/{id}/build`), then shows its new state; a
    /// compile error is kept in [`SkillsState::build_error`] with its
    /// Markdown line.
    pub fn build_skill(self) {
        let ed = self.skill_editor;
        let Some(skill) = ed.selected.get_clone_untracked() else {
            return;
        };
        if ed.building.get_untracked() {
            return;
        }
        ed.building.set(true);
        ed.build_error.set(None);
        self.spawn(async move {
            let result = api::build_skill(&skill.skill_id, &skill.volume).await;
            ed.building.set(false);
            if ed.selected.get_clone_untracked().as_ref() != Some(&skill) {
                return; // Another skill was chosen meanwhile.
            }
            match result {
                Ok(answer) => {
                    let sha: String = answer["component"]["sha256"]
                        .as_str()
                        .unwrap_or_default()
                        .chars()
                        .take(12)
                        .collect();
                    let what = if answer["changed"] == false {
                        "unchanged"
                    } else {
                        "built"
                    };
                    self.notify(
                        NoticeKind::Success,
                        format!("Component of {} {what} (sha256 {sha}…)", skill.skill_id),
                    );
                    self.load_skill(skill);
                    self.load_skills().await;
                }
                Err(failure) => ed.build_error.set(Some(failure)),
            }
        });
    }

    pub fn revert_skill_draft(self) {
        let ed = self.skill_editor;
        ed.draft.set(ed.original.get_clone_untracked());
        ed.server_error.set(None);
    }

    /// Shows what commit `to` changed: the diff from the commit before it
    /// (`from`, or the empty file for the first commit).
    pub fn show_skill_diff(self, from: Option<String>, to: String) {
        let ed = self.skill_editor;
        let Some(skill) = ed.selected.get_clone_untracked() else {
            return;
        };
        let Some(from) = from else {
            ed.diff.set(Load::Ready(DiffView {
                from: String::new(),
                to,
                text: "This is the first version of the skill.".to_owned(),
            }));
            return;
        };
        ed.diff.set(Load::Loading);
        self.spawn(async move {
            let result = api::skill_diff(&skill.skill_id, &skill.volume, &from, &to).await;
            ed.diff.set(match result {
                Ok(text) => Load::Ready(DiffView { from, to, text }),
                Err(e) => Load::Failed(e.to_string()),
            });
        });
    }

    /// Restores the skill as it was at `commit` (a new commit).
    pub fn rollback_skill(self, commit: String) {
        let Some(skill) = self.skill_editor.selected.get_clone_untracked() else {
            return;
        };
        self.spawn(async move {
            match api::rollback_skill(&skill.skill_id, &skill.volume, &commit).await {
                Ok(_) => {
                    let short: String = commit.chars().take(8).collect();
                    self.notify(
                        NoticeKind::Success,
                        format!("Rolled {} back to {short}", skill.skill_id),
                    );
                    self.load_skill(skill);
                    self.load_skills().await;
                }
                Err(e) => self.error(format!("Rollback failed: {e}")),
            }
        });
    }

    /// Promotes the selected skill from the caller's volume to a team.
    pub fn promote_skill(self, team_id: String, reason: String) {
        let Some(skill) = self.skill_editor.selected.get_clone_untracked() else {
            return;
        };
        let Some(identity) = self.identity() else {
            return;
        };
        self.spawn(async move {
            match api::promote_skill(&identity, &team_id, &skill.skill_id, &reason).await {
                Ok(answer) => {
                    let to = answer["to"]
                        .as_str()
                        .map(str::to_owned)
                        .unwrap_or(format!("teams/{team_id}"));
                    self.notify(
                        NoticeKind::Success,
                        format!("Promoted {} to {to}", skill.skill_id),
                    );
                    self.load_skills().await;
                }
                Err(e) => self.error(format!("Promotion failed: {e}")),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_and_errors_carry_their_line() {
        for (name, text) in TEMPLATES {
            assert!(
                matches!(check_skill_text(None, text), EditorCheck::Valid { .. }),
                "{name}"
            );
        }
        let broken = TEMPLATES[1].1.replace(
            "type: number\n    default: 1",
            "type: numbr\n    default: 1",
        );
        match check_skill_text(None, &broken) {
            EditorCheck::Invalid { line, message, .. } => {
                assert_eq!(line, Some(11), "{message}");
                assert!(message.contains("numbr"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        match check_skill_text(Some("other-id"), TEMPLATES[0].1) {
            EditorCheck::Invalid { message, .. } => {
                assert!(message.contains("other-id"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(check_skill_text(None, "  \n"), EditorCheck::Empty);
    }
}
