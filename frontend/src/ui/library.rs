//! The node library: executable skills and built-in nodes grouped by
//! category, searchable by name, id, keyword, description and port; each
//! shows its inputs and outputs, and compiled skills are marked. Drag one onto the canvas, or click it to
//! add it in the middle of the view.

use sycamore::prelude::*;

use crate::catalog::SkillEntry;
use crate::state::{AppState, Load, PaletteDrag};

fn ports_line(entry: &SkillEntry) -> (String, String) {
    let Some(sig) = &entry.signature else {
        return (String::new(), String::new());
    };
    let list = |ports: &[llmos_core::types::PortSpec]| {
        ports
            .iter()
            .map(|p| format!("{}: {}", p.name, p.ty))
            .collect::<Vec<_>>()
            .join(", ")
    };
    (list(&sig.inputs), list(&sig.outputs))
}

#[component(inline_props)]
fn LibraryItem(entry: SkillEntry) -> View {
    let state = use_context::<AppState>();
    let (inputs, outputs) = ports_line(&entry);
    let usable = entry.signature.is_some();
    let skill_id = entry.skill_id.clone();
    let title = entry.name.clone();
    let start_drag = move |ev: web_sys::PointerEvent| {
        if !usable || ev.button() != 0 {
            return;
        }
        ev.prevent_default();
        let (x, y) = (f64::from(ev.client_x()), f64::from(ev.client_y()));
        state.palette_drag.set(Some(PaletteDrag {
            skill_id: skill_id.clone(),
            title: title.clone(),
            x,
            y,
            start_x: x,
            start_y: y,
        }));
    };
    let class = if usable {
        "lib-item"
    } else {
        "lib-item unusable"
    };
    // Compiled skills run their component, at the edge or in the browser.
    let compiled = entry.signature.as_ref().is_some_and(|s| s.compiled);
    let compiled_tip = match entry.signature.as_ref().and_then(|s| s.component.as_ref()) {
        Some(c) if c.fresh => "Runs its built component, at the edge or in the browser",
        Some(_) => "Its component is stale: build it again on the Skills page",
        None => "No component is built yet: build it on the Skills page",
    };
    let tip = entry.problem.clone().map_or_else(
        || entry.description.clone(),
        |p| format!("Cannot be used: {p}"),
    );
    view! {
        li(class=class, title=tip, data-skill=entry.skill_id.clone(), data-compiled=compiled.to_string(), on:pointerdown=start_drag) {
            div(class="lib-name") {
                span { (entry.name.clone()) }
                span(class="badge") { (entry.signature.as_ref().map(|s| s.runtime.as_str()).unwrap_or("?")) }
                (if compiled {
                    view! { span(class="badge compiled", title=compiled_tip) { "compiled" } }
                } else {
                    view! {}
                })
            }
            (if inputs.is_empty() { view! {} } else {
                let inputs = inputs.clone();
                view! { div(class="lib-ports") { span(class="muted") { "in " } (inputs) } }
            })
            (if outputs.is_empty() { view! {} } else {
                let outputs = outputs.clone();
                view! { div(class="lib-ports") { span(class="muted") { "out " } (outputs) } }
            })
        }
    }
}

#[component]
pub fn NodeLibrary() -> View {
    let state = use_context::<AppState>();
    let filter = create_signal(String::new());
    let groups = create_memo(move || {
        let index = state.skills.get_clone();
        filter.with(|f| index.library(f))
    });
    let status = move || match state.skills_status.get_clone() {
        Load::Loading => Some("Loading skills…".to_owned()),
        Load::Failed(why) => Some(format!("Skills could not be loaded: {why}")),
        _ => None,
    };
    let reload = move |_| state.reload_skills();
    // For scripts and tests: whether the list is final.
    let loaded = move || match state.skills_status.get_clone() {
        Load::Idle | Load::Loading => "loading",
        Load::Ready(()) => "ready",
        Load::Failed(_) => "failed",
    };
    view! {
        aside(class="library", id="node-library", data-skills=loaded()) {
            div(class="panel-head") {
                h2 { "Nodes" }
                button(class="link", on:click=reload, title="Reload skills") { "↻" }
            }
            input(r#type="search", class="search", placeholder="Search skills, ports…", aria-label="Search the node library", bind:value=filter)
            (match status() {
                Some(text) => view! { p(class="muted small") { (text) } },
                None => view! {},
            })
            div(class="lib-groups") {
                Keyed(
                    list=groups,
                    key=|(category, entries)| (category.clone(), entries.iter().map(|e| format!("{}@{}", e.skill_id, e.commit)).collect::<Vec<_>>().join(",")),
                    view=|(category, entries)| {
                        let items: Vec<View> = entries.into_iter().map(|entry| view! { LibraryItem(entry=entry) }).collect();
                        view! {
                            section(class="lib-group") {
                                h3 { (category) }
                                ul { (items) }
                            }
                        }
                    },
                )
                (if groups.with(Vec::is_empty) {
                    view! { p(class="muted small") { "No skill matches." } }
                } else {
                    view! {}
                })
            }
        }
    }
}
