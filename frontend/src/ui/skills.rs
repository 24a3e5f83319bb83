//! The skills page: the caller's merged view (each skill with its volume),
//! a skill's description, ports and body, its file in an editor checked
//! as you type, a compiled skill's component (its state and a **Build**
//! button whose compile errors point at their Markdown line), its history
//! with diffs and rollback, promotion to a team, and new skills from
//! templates.

use std::rc::Rc;

use serde_json::Value;
use sycamore::prelude::*;
use wasm_bindgen::JsCast;

use crate::catalog::{ComponentFacts, EntryKind, SkillEntry};
use crate::markdown;
use crate::state::skills::{EditorCheck, SkillRef, SkillTab, TEMPLATES};
use crate::state::{AppState, Load};

#[component]
pub fn SkillsPage() -> View {
    view! {
        div(class="skills-layout") {
            SkillList {}
            section(class="skill-main") { SkillDetail {} }
        }
    }
}

#[component]
fn SkillList() -> View {
    let state = use_context::<AppState>();
    let ed = state.skill_editor;
    let entries = create_memo(move || {
        let index = state.skills.get_clone();
        let words: Vec<String> = ed
            .filter
            .with(|f| f.split_whitespace().map(str::to_lowercase).collect());
        let mut list: Vec<SkillEntry> = index
            .entries()
            .iter()
            .filter(|e| e.kind != EntryKind::Builtin)
            .filter(|e| {
                let hay = e.haystack();
                words.iter().all(|w| hay.contains(w.as_str()))
            })
            .cloned()
            .collect();
        list.sort_by_key(|e| e.name.to_lowercase());
        list
    });
    let status = move || match state.skills_status.get_clone() {
        Load::Loading => Some("Loading skills…".to_owned()),
        Load::Failed(why) => Some(format!("Skills could not be loaded: {why}")),
        _ => None,
    };
    let template = create_signal(0usize);
    let pick_template =
        move |ev: web_sys::Event| template.set(crate::dom::event_value(&ev).parse().unwrap_or(0));
    let create = move |_| state.new_skill(template.get_untracked());
    view! {
        aside(class="skill-list", id="skill-list") {
            div(class="panel-head") { h2 { "Skills" } }
            input(r#type="search", class="search", placeholder="Search skills…", aria-label="Search skills", bind:value=ed.filter)
            div(class="row new-skill") {
                select(on:change=pick_template, aria-label="Template") {
                    (TEMPLATES.iter().enumerate().map(|(i, (name, _))| view! { option(value=i.to_string()) { (*name) } }).collect::<Vec<_>>())
                }
                button(id="new-skill", class="small", on:click=create) { "New skill" }
            }
            (match status() {
                Some(text) => view! { p(class="muted small") { (text) } },
                None => view! {},
            })
            (state.skills.with(|s| {
                let broken: Vec<View> = s
                    .broken()
                    .iter()
                    .map(|b| {
                        let line = format!("{}/{}: {}", b.volume, b.path, b.message);
                        view! { li(class="error small") { (line) } }
                    })
                    .collect();
                if broken.is_empty() {
                    view! {}
                } else {
                    let summary_text = format!("{} file(s) could not be read", broken.len());
                    view! {
                        details(class="broken") {
                            summary(class="error small") { (summary_text) }
                            ul { (broken) }
                        }
                    }
                }
            }))
            ul {
                Keyed(
                    list=entries,
                    key=|e| format!("{}@{}:{}", e.skill_id, e.volume, e.commit),
                    view=move |e| {
                        let skill = SkillRef { skill_id: e.skill_id.clone(), volume: e.volume.clone() };
                        let is_selected = {
                            let skill = skill.clone();
                            move || ed.selected.with(|s| s.as_ref() == Some(&skill))
                        };
                        let open = move |_| {
                            state.open_skill(skill.clone());
                        };
                        let kind = match e.kind {
                            EntryKind::Context => "context".to_owned(),
                            _ => e.signature.as_ref().map(|s| s.runtime.as_str().to_owned()).unwrap_or_else(|| "executable".into()),
                        };
                        let (skill_attr, id_text, name, volume) = (e.skill_id.clone(), e.skill_id.clone(), e.name.clone(), e.volume.clone());
                        view! {
                            li(class=if is_selected() { "skill-row selected" } else { "skill-row" }, on:click=open, data-skill=skill_attr) {
                                div { (name) }
                                div(class="muted small") {
                                    (id_text) " · " span(class="badge") { (kind) } " " span(class="badge volume") { (volume) }
                                }
                            }
                        }
                    },
                )
            }
        }
    }
}

#[component]
fn SkillDetail() -> View {
    let state = use_context::<AppState>();
    let ed = state.skill_editor;
    let tab_class = move |tab: SkillTab| {
        if ed.tab.get() == tab {
            "tab active"
        } else {
            "tab"
        }
    };
    let show = move |tab: SkillTab| move |_| ed.tab.set(tab);
    let title = move || {
        if ed.creating.get() {
            return ("New skill".to_owned(), String::new());
        }
        match (ed.selected.get_clone(), ed.detail.get_clone()) {
            (Some(s), Load::Ready(d)) => (
                d["name"].as_str().unwrap_or(&s.skill_id).to_owned(),
                format!(
                    "{} · {}{}",
                    s.skill_id,
                    s.volume,
                    d["commit"]
                        .as_str()
                        .map(|c| format!(" · {}", &c[..c.len().min(8)]))
                        .unwrap_or_default()
                ),
            ),
            (Some(s), _) => (s.skill_id.clone(), s.volume.clone()),
            (None, _) => (String::new(), String::new()),
        }
    };
    let nothing = move || ed.selected.with(Option::is_none) && !ed.creating.get();
    view! {
        (if nothing() {
            view! {
                div(class="empty-detail") {
                    h2 { "Skills" }
                    p { "Choose a skill to read it, edit it, see its history or promote it; or start a new one from a template." }
                    p(class="muted small") { "Your own skills shadow team skills of the same id, which shadow system skills." }
                }
            }
        } else {
            view! {
                div(class="skill-head") {
                    div {
                        h2(id="skill-title") { (title().0) }
                        p(class="muted small") { (title().1) }
                    }
                    PromoteBox {}
                }
                nav(class="tabs") {
                    button(class=tab_class(SkillTab::View), on:click=show(SkillTab::View), disabled=ed.creating.get()) { "View" }
                    button(id="skill-tab-edit", class=tab_class(SkillTab::Edit), on:click=show(SkillTab::Edit)) { "Edit" }
                    button(id="skill-tab-history", class=tab_class(SkillTab::History), on:click=show(SkillTab::History), disabled=ed.creating.get()) { "History" }
                }
                (match ed.tab.get() {
                    SkillTab::View => view! { SkillView {} },
                    SkillTab::Edit => view! { SkillEditor {} },
                    SkillTab::History => view! { SkillHistory {} },
                })
            }
        })
    }
}

#[component]
fn SkillView() -> View {
    let state = use_context::<AppState>();
    let ed = state.skill_editor;
    view! {
        (match ed.detail.get_clone() {
            Load::Idle => view! {},
            Load::Loading => view! { p(class="muted") { "Loading…" } },
            Load::Failed(e) => view! { p(class="error") { (e) } },
            Load::Ready(d) => {
                let description = d["description"].as_str().unwrap_or_default().to_owned();
                let keywords = d["keywords"].as_array().map(|k| k.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")).unwrap_or_default();
                let body = d["content"].as_str().unwrap_or_default().to_owned();
                let html = markdown::to_html(&body);
                let ports = |key: &str| -> Vec<View> {
                    d[key].as_array().cloned().unwrap_or_default().into_iter().map(|p| {
                        let name = p["name"].as_str().unwrap_or_default().to_owned();
                        let ty = p["type"].as_str().unwrap_or_default().to_owned();
                        let desc = p["description"].as_str().unwrap_or_default().to_owned();
                        let default = p.get("default").map(|v| format!(" (default {v})")).unwrap_or_default();
                        view! { tr { td { code { (name) } } td { span(class="badge") { (ty) } } td { (desc) (default) } } }
                    }).collect()
                };
                let (inputs, outputs) = (ports("inputs"), ports("outputs"));
                let ports_table = if inputs.is_empty() && outputs.is_empty() {
                    view! {}
                } else {
                    view! {
                        table(class="ports") {
                            tr { th(colspan="3") { "Inputs" } }
                            (inputs)
                            tr { th(colspan="3") { "Outputs" } }
                            (outputs)
                        }
                    }
                };
                let runtime = d["runtime"].as_str().map(|r| format!("{r} · {}", d["execution_mode"].as_str().unwrap_or(""))).unwrap_or_else(|| "context skill".to_owned());
                view! {
                    div(class="skill-view") {
                        p { (description) }
                        p(class="muted small") { (runtime) (if keywords.is_empty() { String::new() } else { format!(" · keywords: {keywords}") }) }
                        ComponentPanel {}
                        (ports_table)
                        div(class="md", prop:innerHTML=html) {}
                    }
                }
            }
        })
    }
}

/// The 0-based character offsets of 1-based line `line` in `text`.
fn line_range(text: &str, line: usize) -> (u32, u32) {
    let mut start = 0usize;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            let end = start + l.trim_end_matches('\n').chars().count();
            return (start as u32, end as u32);
        }
        start += l.chars().count();
    }
    (start as u32, start as u32)
}

#[component]
fn SkillEditor() -> View {
    let state = use_context::<AppState>();
    let ed = state.skill_editor;
    let area = create_node_ref();
    let identity = state.identity();
    let teams = identity
        .as_ref()
        .map(|i| i.team_ids.clone())
        .unwrap_or_default();
    let admin = identity.as_ref().is_some_and(|i| i.role == "admin");
    let user_volume = identity
        .map(|i| format!("users/{}", i.user_id))
        .unwrap_or_default();
    let pick_volume = move |ev: web_sys::Event| ed.target_volume.set(crate::dom::event_value(&ev));
    let save = move |_| state.save_skill();
    let revert = move |_| state.revert_skill_draft();
    let select_line = move |line: usize| {
        if let Some(t) = area
            .try_get()
            .and_then(|n| n.dyn_into::<web_sys::HtmlTextAreaElement>().ok())
        {
            let (a, b) = ed.draft.with_untracked(|text| line_range(text, line));
            let _ = t.focus();
            let _ = t.set_selection_range(a, b);
        }
    };
    let go_to_line = move |line: usize| move |_| select_line(line);
    let check = move || ed.check.get_clone();
    let mut volumes: Vec<(String, String)> =
        vec![(String::new(), format!("my volume ({user_volume})"))];
    volumes.extend(
        teams
            .iter()
            .map(|t| (format!("teams/{t}"), format!("team {t} (teams/{t})"))),
    );
    if admin {
        volumes.push(("system".to_owned(), "system".to_owned()));
    }
    view! {
        div(class="skill-editor") {
            div(class="row") {
                label(class="small") { "Save to " }
                select(on:change=pick_volume, aria-label="Volume to save to", id="skill-volume") {
                    (volumes.iter().map(|(value, label)| {
                        let (value, label) = (value.clone(), label.clone());
                        let selected = { let value = value.clone(); move || ed.target_volume.with(|t| *t == value) };
                        view! { option(value=value, selected=selected()) { (label) } }
                    }).collect::<Vec<_>>())
                }
                span(class="grow")
                button(class="small", on:click=revert, disabled=!ed.is_modified()) { "Revert" }
                button(id="skill-save", class="primary small", on:click=save, disabled=ed.saving.get()) {
                    (if ed.saving.get() { "Saving…" } else { "Save (Ctrl+S)" })
                }
            }
            textarea(id="skill-source", class="source", ref=area, "spellcheck"="false", bind:value=ed.draft, aria-label="Skill file")
            div(id="skill-check", class="check") {
                (match &*check() {
                    EditorCheck::Empty => view! { p(class="muted small") { "Empty file." } },
                    EditorCheck::Valid { summary } => {
                        let s = summary.clone();
                        view! { p(class="ok small") { "✓ valid: " (s) } }
                    }
                    EditorCheck::Invalid { message, line, .. } => {
                        // The parser's message names the line and field.
                        let text = message.clone();
                        let line = *line;
                        view! {
                            p(class="error small", role="alert") {
                                (text)
                                (match line {
                                    Some(l) => view! { " " button(class="link small", on:click=go_to_line(l)) { "go to line" } },
                                    None => view! {},
                                })
                            }
                        }
                    }
                })
            }
            (match ed.server_error.get_clone() {
                Some(e) => view! { p(id="skill-server-error", class="error-box", role="alert") { "The server refused the file: " (e) } },
                None => view! {},
            })
            ComponentPanel(go_to_line=Rc::new(select_line) as Rc<dyn Fn(usize)>)
        }
    }
}

/// A compiled skill's component as `GET /skills/{id}` describes it: its
/// state, language, size and SHA-256, or that none is built.
#[derive(Debug, Clone, PartialEq)]
struct ComponentView {
    /// `fresh`, `stale`, `unknown`, `invalid`, or `missing` (none built).
    state: String,
    facts: Option<ComponentFacts>,
}

impl ComponentView {
    /// `None` for skills that are not compiled.
    fn of(detail: &Value) -> Option<ComponentView> {
        if detail["compiled"] != true && detail["runtime"] != "wasm-component" {
            return None;
        }
        let facts = ComponentFacts::from_detail(&detail["component"]);
        Some(ComponentView {
            state: facts
                .as_ref()
                .map_or_else(|| "missing".to_owned(), |f| f.state.clone()),
            facts,
        })
    }

    /// What the state means for running the skill.
    fn explain(&self) -> &'static str {
        match self.state.as_str() {
            "fresh" => "built from the current file; runs at the edge and in the browser",
            "stale" => "built from another version of the file; build it again before it runs",
            "unknown" => {
                "uploaded without a record of its source; it runs because its ports match the file"
            }
            "invalid" => "the stored file is not a usable component; build it again",
            _ => "not built yet; nodes of this skill cannot run until it is",
        }
    }
}

/// Size in KB or MB.
fn size_text(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MB", bytes as f64 / f64::from(1 << 20))
    } else {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    }
}

/// The component of a compiled skill and its **Build** button; a compile
/// error shows with its Markdown line (a button selects that line in the
/// editor, when there is one) and the compiler's output.
#[component(inline_props)]
fn ComponentPanel(go_to_line: Option<Rc<dyn Fn(usize)>>) -> View {
    let state = use_context::<AppState>();
    let ed = state.skill_editor;
    let component = create_memo(move || match ed.detail.get_clone() {
        Load::Ready(d) if !ed.creating.get() => ComponentView::of(&d),
        _ => None,
    });
    let build = move |_| state.build_skill();
    view! {
        (match component.get_clone() {
            None => view! {},
            Some(c) => {
                let go_to_line = go_to_line.clone();
                let class = format!("component-panel state-{}", c.state);
                let state_text = c.state.clone();
                let badge = format!("badge component-{state_text}");
                let explain = c.explain();
                let facts = match &c.facts {
                    None => view! {},
                    Some(f) => {
                        let line = format!(
                            "{} · {}{}",
                            f.language.clone().unwrap_or_else(|| "unknown language".to_owned()),
                            size_text(f.size),
                            f.toolchain.clone().map(|t| format!(" · {t}")).unwrap_or_default()
                        );
                        let sha = f.sha256.clone();
                        let error = f.error.clone();
                        view! {
                            div(class="small") { (line) }
                            div(class="small") { "sha256 " code(id="component-sha256", class="hash") { (sha) } }
                            (match error {
                                Some(e) => view! { div(class="error small") { (e) } },
                                None => view! {},
                            })
                        }
                    }
                };
                view! {
                    div(class=class, id="component-panel") {
                        div(class="row") {
                            strong { "Component " }
                            span(id="component-state", class=badge) { (state_text) }
                            span(class="grow")
                            button(
                                id="component-build",
                                class="small primary",
                                on:click=build,
                                disabled=ed.building.get() || ed.is_modified(),
                                title=if ed.is_modified() { "Save the file first: a build uses the stored file" } else { "Build the component from the stored file" },
                            ) {
                                (if ed.building.get() { "Building…" } else { "Build" })
                            }
                        }
                        p(class="muted small") { (explain) }
                        (facts)
                        (match ed.build_error.get_clone() {
                            None => view! {},
                            Some(failure) => {
                                let place = match (failure.line, failure.column) {
                                    (Some(l), Some(c)) => format!("line {l}, column {c}"),
                                    (Some(l), None) => format!("line {l}"),
                                    _ => String::new(),
                                };
                                let message = failure.error.message.clone();
                                let code = failure.error.code.clone();
                                let jump = match (failure.line, go_to_line.clone()) {
                                    (Some(l), Some(go)) => view! {
                                        " " button(id="component-error-line", class="link small", on:click=move |_| go(l)) { "go to " (format!("line {l}")) }
                                    },
                                    _ => view! {},
                                };
                                let output = failure.output.clone();
                                view! {
                                    div(id="component-build-error", class="error-box", role="alert", data-line=failure.line.map(|l| l.to_string()).unwrap_or_default()) {
                                        div {
                                            strong { "Build failed" }
                                            (if place.is_empty() { String::new() } else { format!(" at {place}") })
                                            " (" code { (code) } ")"
                                            (jump)
                                        }
                                        div(class="small") { (message) }
                                        (match output {
                                            Some(o) => view! {
                                                details(class="build-output") {
                                                    summary(class="small") { "Compiler output" }
                                                    pre(class="preview-text") { (o) }
                                                }
                                            },
                                            None => view! {},
                                        })
                                    }
                                }
                            }
                        })
                    }
                }
            }
        })
    }
}

#[component]
fn SkillHistory() -> View {
    let state = use_context::<AppState>();
    let ed = state.skill_editor;
    view! {
        div(class="skill-history") {
            (match ed.history.get_clone() {
                Load::Idle => view! {},
                Load::Loading => view! { p(class="muted") { "Loading…" } },
                Load::Failed(e) => view! { p(class="error") { (e) } },
                Load::Ready(commits) => {
                    let rows: Vec<View> = commits.iter().enumerate().map(|(i, c)| {
                        let to = c.commit.clone();
                        let from = commits.get(i + 1).map(|p| p.commit.clone());
                        let show = { let to = to.clone(); move |_| state.show_skill_diff(from.clone(), to.clone()) };
                        let rollback = { let to = to.clone(); move |_| state.rollback_skill(to.clone()) };
                        let line = format!("{} · {} · {}", c.short(), c.when(), c.author_name());
                        let message = c.message.clone();
                        let latest = i == 0;
                        view! {
                            li(class="commit") {
                                div(class="grow") { div { (message) } div(class="muted small") { (line) } }
                                button(class="small", on:click=show) { "Diff" }
                                (if latest { view! { span(class="muted small") { "current" } } } else {
                                    view! { button(class="small", on:click=rollback.clone(), title="Restore this version as a new commit") { "Roll back" } }
                                })
                            }
                        }
                    }).collect();
                    view! { ol(class="commits", id="skill-commits") { (rows) } }
                }
            })
            (match ed.diff.get_clone() {
                Load::Idle => view! {},
                Load::Loading => view! { p(class="muted") { "Loading the diff…" } },
                Load::Failed(e) => view! { p(class="error") { (e) } },
                Load::Ready(diff) => {
                    let lines: Vec<View> = diff.text.lines().map(|l| {
                        let class = if l.starts_with("+++") || l.starts_with("---") { "diff-file" }
                            else if l.starts_with('+') { "diff-add" }
                            else if l.starts_with('-') { "diff-del" }
                            else if l.starts_with("@@") { "diff-hunk" }
                            else { "diff-ctx" };
                        let l = l.to_owned();
                        view! { div(class=class) { (l) } }
                    }).collect();
                    let head = format!("{} → {}", &diff.from[..diff.from.len().min(8)], &diff.to[..diff.to.len().min(8)]);
                    view! {
                        h3 { "Changes " (head) }
                        div(class="diff", id="skill-diff") { (lines) }
                    }
                }
            })
        }
    }
}

/// "Promote to team": for skills in the caller's own volume.
#[component]
fn PromoteBox() -> View {
    let state = use_context::<AppState>();
    let ed = state.skill_editor;
    let open = create_signal(false);
    let reason = create_signal(String::new());
    let team = create_signal(
        state
            .identity()
            .and_then(|i| i.team().map(str::to_owned))
            .unwrap_or_default(),
    );
    let teams = state.identity().map(|i| i.team_ids).unwrap_or_default();
    let own = move || {
        let user = state.identity().map(|i| format!("users/{}", i.user_id));
        ed.selected.with(|s| {
            s.as_ref()
                .map(|s| Some(&s.volume) == user.as_ref())
                .unwrap_or(false)
        }) && !ed.creating.get()
    };
    let toggle = move |_| open.set(!open.get_untracked());
    let pick = move |ev: web_sys::Event| team.set(crate::dom::event_value(&ev));
    let promote = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        state.promote_skill(team.get_clone_untracked(), reason.get_clone_untracked());
        open.set(false);
    };
    view! {
        (if own() && !teams.is_empty() {
            let teams = teams.clone();
            view! {
                div(class="promote") {
                    button(id="promote-button", class="small", on:click=toggle) { "Promote to team…" }
                    (if open.get() {
                        let teams = teams.clone();
                        view! {
                            form(class="promote-form", on:submit=promote) {
                                select(on:change=pick, aria-label="Team") {
                                    (teams.iter().map(|t| { let (value, label) = (t.clone(), t.clone()); view! { option(value=value) { (label) } } }).collect::<Vec<_>>())
                                }
                                input(r#type="text", placeholder="Why the team needs it", bind:value=reason)
                                button(r#type="submit", class="primary small") { "Promote" }
                            }
                        }
                    } else { view! {} })
                }
            }
        } else { view! {} })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ranges_count_characters() {
        let text = "ab\ncdé\n\nx";
        assert_eq!(line_range(text, 1), (0, 2));
        assert_eq!(line_range(text, 2), (3, 6));
        assert_eq!(line_range(text, 3), (7, 7));
        assert_eq!(line_range(text, 4), (8, 9));
        assert_eq!(line_range(text, 9), (9, 9));
    }
}
