//! The workflow files panel: the open workflow (save, export, import, its
//! commit history) and the stored workflows (open, delete).

use sycamore::prelude::*;
use wasm_bindgen::JsCast;

use crate::state::{AppState, Load};

#[component]
pub fn WorkflowsPanel() -> View {
    let state = use_context::<AppState>();
    let file_input = create_node_ref();
    let current = move || {
        let (id, name) = state
            .graph
            .with(|g| (g.workflow().id.clone(), g.workflow().name.clone()));
        let saved = state.saved.get_clone();
        let status = if !saved.stored {
            "not stored yet".to_owned()
        } else if state.is_dirty() {
            "unsaved changes".to_owned()
        } else {
            format!(
                "saved at {}",
                saved
                    .commit
                    .as_deref()
                    .map(|c| &c[..c.len().min(8)])
                    .unwrap_or("?")
            )
        };
        (id, name, status)
    };
    let save = move |_| state.save();
    let export = move |_| state.export_workflow();
    let import_click = move |_| {
        if let Some(input) = file_input
            .try_get()
            .and_then(|n| n.dyn_into::<web_sys::HtmlInputElement>().ok())
        {
            input.set_value("");
            input.click();
        }
    };
    let import = move |ev: web_sys::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        state.spawn(async move {
            match crate::dom::read_chosen_file(&input).await {
                Ok(Some((name, text))) => state.import_workflow_text(&name, &text),
                Ok(None) => {}
                Err(e) => state.error(format!("Reading the file failed: {e}")),
            }
        });
    };
    let refresh = move |_| state.refresh_workflows();
    let history = move || state.workflow_history.get_clone();
    let list = move || state.workflows.get_clone();
    view! {
        div(class="workflows-panel", id="workflows-panel") {
            h2 { "This workflow" }
            ({
                let (id, name, status) = current();
                let id = if id.is_empty() { "no id yet".to_owned() } else { id };
                view! {
                    p { strong { (name) } }
                    p(class="muted small") { (id) " · " span(id="save-status") { (status) } }
                }
            })
            div(class="row") {
                button(class="primary small", on:click=save) { "Save" }
                button(class="small", id="export-button", on:click=export) { "Export JSON" }
                button(class="small", id="import-button", on:click=import_click) { "Import JSON" }
                input(r#type="file", id="import-file", class="hidden", accept=".json,application/json", ref=file_input, on:change=import)
            }
            h3 { "History" }
            (match history() {
                Load::Idle => view! { p(class="muted small") { "Saved versions appear here." } },
                Load::Loading => view! { p(class="muted small") { "Loading…" } },
                Load::Failed(e) => view! { p(class="error small") { (e) } },
                Load::Ready(commits) => {
                    let items: Vec<View> = commits.into_iter().map(|c| {
                        let line = format!("{} · {} · {}", c.short(), c.when(), c.author_name());
                        let msg = c.message.clone();
                        view! { li { div { (msg) } div(class="muted small") { (line) } } }
                    }).collect();
                    view! { ol(class="commits", id="workflow-history") { (items) } }
                }
            })
            div(class="panel-head") {
                h3 { "Stored workflows" }
                button(class="link small", on:click=refresh) { "Refresh" }
            }
            (match list() {
                Load::Idle => view! {},
                Load::Loading => view! { p(class="muted small") { "Loading…" } },
                Load::Failed(e) => view! { p(class="error small") { (e) } },
                Load::Ready(items) if items.is_empty() => view! { p(class="muted small") { "None yet: Save stores this one." } },
                Load::Ready(items) => {
                    let rows: Vec<View> = items.into_iter().map(|w| {
                        let (open_id, delete_id) = (w.id.clone(), w.id.clone());
                        let open = move |_| state.open_workflow(open_id.clone());
                        let delete = move |_| {
                            let ok = web_sys::window()
                                .and_then(|win| win.confirm_with_message(&format!("Delete workflow {delete_id}?")).ok())
                                .unwrap_or(false);
                            if ok {
                                state.delete_stored_workflow(delete_id.clone());
                            }
                        };
                        let name = if w.name.is_empty() { w.id.clone() } else { w.name.clone() };
                        let updated = match &w.updated_at {
                            serde_json::Value::String(s) => s.clone(),
                            serde_json::Value::Number(n) => n.to_string(),
                            _ => String::new(),
                        };
                        let (workflow_attr, id_text) = (w.id.clone(), w.id.clone());
                        view! {
                            li(class="stored", data-workflow=workflow_attr) {
                                div {
                                    div { (name) }
                                    div(class="muted small") { (id_text) " " (updated) }
                                }
                                div(class="row") {
                                    button(class="small", on:click=open) { "Open" }
                                    button(class="small link", on:click=delete) { "Delete" }
                                }
                            }
                        }
                    }).collect();
                    view! { ul(class="stored-list", id="stored-workflows") { (rows) } }
                }
            })
        }
    }
}
