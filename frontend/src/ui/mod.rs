//! The page's components. Each reads the [`AppState`] from context and
//! calls its methods; handlers are named closures above each `view!`.
//!
//! - this module: the app shell (sign-in, header and toolbar, notices,
//!   keyboard shortcuts, the drag ghost of library skills);
//! - [`library`]: the node library;
//! - [`inspector`] and [`params`]: the side panel for the selection;
//! - [`run_panel`], [`chat`], [`workflows`]: the other side tabs;
//! - [`skills`]: the skills page;
//! - [`outputs`]: node output previews.

pub mod chat;
pub mod inspector;
pub mod library;
pub mod outputs;
pub mod params;
pub mod run_panel;
pub mod skills;
pub mod workflows;

use sycamore::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use crate::canvas::WorkflowCanvas;
use crate::keys::{KeyPress, Shortcut, shortcut};
use crate::run::runner::RuntimeStatus;
use crate::state::{AppState, CanvasRequest, Page, Session, SideTab};

/// Adds a window event listener for the lifetime of the current scope.
pub fn window_listener<E: JsCast + 'static>(event: &'static str, mut f: impl FnMut(E) + 'static) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let scope = use_current_scope();
    let closure = Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| {
        if let Ok(ev) = ev.dyn_into::<E>() {
            scope.run_in(|| f(ev));
        }
    });
    let _ = window.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
    on_cleanup(move || {
        if let Some(window) = web_sys::window() {
            let _ =
                window.remove_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
        }
    });
}

/// The workbench's keyboard shortcuts (see [`crate::keys`]).
fn install_shortcuts(state: AppState) {
    window_listener("keydown", move |ev: web_sys::KeyboardEvent| {
        if !matches!(state.session.get_clone_untracked(), Session::SignedIn(_)) {
            return;
        }
        let key = ev.key();
        let press = KeyPress {
            key: &key,
            ctrl: ev.ctrl_key(),
            meta: ev.meta_key(),
            shift: ev.shift_key(),
            alt: ev.alt_key(),
            in_text_field: crate::dom::focus_in_text_field(),
        };
        let Some(action) = shortcut(press) else {
            return;
        };
        let on_workbench = state.page.get_untracked() == Page::Workbench;
        // Saving and running mean the workflow; on the skills page Ctrl+S
        // saves the skill being edited.
        match action {
            Shortcut::Save if !on_workbench => state.save_skill(),
            Shortcut::Save => state.save(),
            _ if !on_workbench => return,
            Shortcut::Run => state.start_run(),
            Shortcut::Undo => state.undo(),
            Shortcut::Redo => state.redo(),
            Shortcut::Delete => state.delete_selection(),
            Shortcut::SelectAll => state.select_all(),
            Shortcut::Escape => state.clear_selection(),
            Shortcut::Fit => state.request_canvas(CanvasRequest::Fit),
        }
        ev.prevent_default();
    });
}

#[component]
pub fn App() -> View {
    let state = AppState::new();
    provide_context(state);
    install_shortcuts(state);
    state.start();
    view! {
        (match state.session.get_clone() {
            Session::SignedIn(_) => view! { Shell {} },
            Session::Checking => view! {
                div(class="splash") { p { "Connecting to the API…" } }
            },
            other => view! { SignIn(session=other) },
        })
    }
}

#[component(inline_props)]
fn SignIn(session: Session) -> View {
    let state = use_context::<AppState>();
    let token = create_signal(String::new());
    let reason = match session {
        Session::Rejected(why) => Some(format!("The API did not accept the token: {why}")),
        Session::Unreachable(why) => Some(format!("The API cannot be reached: {why}")),
        _ => None,
    };
    let submit = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        state.sign_in(&token.get_clone_untracked());
    };
    view! {
        div(class="signin") {
            div(class="signin-card", id="signin") {
                h1 { "LLMos-Lite" }
                p { "This workbench needs an API token for this browser session." }
                p(class="muted") {
                    "Open the address that " code { "llmos up" } " prints ("
                    code { "http://127.0.0.1:3000/?token=…" } "), or paste a token:"
                }
                (match reason.clone() {
                    Some(text) => view! { p(class="error", role="alert") { (text) } },
                    None => view! {},
                })
                form(on:submit=submit) {
                    input(r#type="password", placeholder="llmos_…", aria-label="API token", bind:value=token, autocomplete="off")
                    button(r#type="submit", class="primary") { "Sign in" }
                }
            }
        }
    }
}

#[component]
fn Shell() -> View {
    let state = use_context::<AppState>();
    let page_class = move |page: Page| {
        if state.page.get() == page {
            "page"
        } else {
            "page hidden"
        }
    };
    view! {
        Header {}
        main(class=page_class(Page::Workbench), id="workbench") {
            library::NodeLibrary {}
            section(class="canvas-area") { WorkflowCanvas {} }
            SidePanel {}
        }
        main(class=page_class(Page::Skills), id="skills-page") {
            skills::SkillsPage {}
        }
        Notices {}
        PaletteGhost {}
    }
}

/// How the header shows a runtime's state.
fn runtime_label(status: &RuntimeStatus) -> String {
    match status {
        RuntimeStatus::Loading => "loading…".to_owned(),
        RuntimeStatus::Ready => "ready".to_owned(),
        RuntimeStatus::Failed(why) => format!("unavailable ({why})"),
    }
}

#[component]
fn Header() -> View {
    let state = use_context::<AppState>();
    let user = move || state.identity().map(|i| i.user_id).unwrap_or_default();
    let python = move || {
        format!(
            "Python: {}",
            runtime_label(&state.runner.get_clone().python_status().get_clone())
        )
    };
    let name = move || state.graph.with(|g| g.workflow().name.clone());
    let dirty = move || state.is_dirty();
    let running = move || state.is_running();
    let can_undo = move || state.history.with(|h| h.next_undo().map(|c| c.describe()));
    let can_redo = move || state.history.with(|h| h.next_redo().map(|c| c.describe()));
    let nav = move |page: Page| {
        if state.page.get() == page {
            "tab active"
        } else {
            "tab"
        }
    };

    let rename = move |ev: web_sys::Event| state.rename(crate::dom::event_value(&ev));
    let show_workbench = move |_| state.show_page(Page::Workbench);
    let show_skills = move |_| state.show_page(Page::Skills);
    let new = move |_| state.new_workflow();
    let save = move |_| state.save();
    let open = move |_| {
        state.show_page(Page::Workbench);
        state.show_side(SideTab::Workflows);
        state.refresh_workflows();
    };
    let undo = move |_| state.undo();
    let redo = move |_| state.redo();
    let run = move |_| state.start_run();
    let stop = move |_| state.stop_run();
    let sign_out = move |_| state.sign_out();

    view! {
        header(class="top") {
            span(class="brand") { "LLMos-Lite" }
            nav(class="tabs") {
                button(id="nav-workflow", class=nav(Page::Workbench), on:click=show_workbench) { "Workflow" }
                button(id="nav-skills", class=nav(Page::Skills), on:click=show_skills) { "Skills" }
            }
            div(class=move || if state.page.get() == Page::Workbench { "wf-title" } else { "wf-title hidden" }) {
                (if dirty() { view! { span(class="dirty", title="Unsaved changes") { "●" } } } else { view! {} })
                input(
                    id="workflow-name",
                    class="name-input",
                    aria-label="Workflow name",
                    prop:value=name(),
                    on:change=rename,
                )
            }
            div(class=move || if state.page.get() == Page::Workbench { "actions" } else { "actions hidden" }) {
                button(on:click=new, title="New workflow") { "New" }
                button(id="header-open", on:click=open, title="Open a stored workflow") { "Open" }
                button(id="save-button", on:click=save, title="Save (Ctrl+S)") { "Save" }
                span(class="sep")
                button(id="undo-button", on:click=undo, disabled=can_undo().is_none(),
                    title=can_undo().map_or("Nothing to undo".to_owned(), |d| format!("Undo {d} (Ctrl+Z)"))) { "Undo" }
                button(id="redo-button", on:click=redo, disabled=can_redo().is_none(),
                    title=can_redo().map_or("Nothing to redo".to_owned(), |d| format!("Redo {d} (Ctrl+Shift+Z)"))) { "Redo" }
                span(class="sep")
                (if running() {
                    view! { button(id="stop-button", class="danger", on:click=stop, title="Stop the run") { "Stop" } }
                } else {
                    view! { button(id="run-button", class="primary", on:click=run, title="Run (Ctrl+Enter)") { "Run" } }
                })
            }
            div(class="who") {
                a(id="api-docs", class="link", href="/docs", target="_blank", rel="noopener",
                    title="The HTTP API: reference, and try each call with a token") { "API" }
                span(class="muted") { (python()) }
                span(id="user", class="user") { (user()) }
                button(class="link", on:click=sign_out, title="Forget the token for this session") { "Sign out" }
            }
        }
    }
}

#[component]
fn SidePanel() -> View {
    let state = use_context::<AppState>();
    let tab_class = move |tab: SideTab| {
        if state.side.get() == tab {
            "tab active"
        } else {
            "tab"
        }
    };
    let body_class = move |tab: SideTab| {
        if state.side.get() == tab {
            "side-body"
        } else {
            "side-body hidden"
        }
    };
    let show = move |tab: SideTab| move |_| state.show_side(tab);
    view! {
        aside(class="side") {
            nav(class="side-tabs") {
                button(id="tab-node", class=tab_class(SideTab::Node), on:click=show(SideTab::Node)) { "Inspector" }
                button(id="tab-run", class=tab_class(SideTab::Run), on:click=show(SideTab::Run)) { "Run" }
                button(id="tab-chat", class=tab_class(SideTab::Chat), on:click=show(SideTab::Chat)) { "Chat" }
                button(id="tab-workflows", class=tab_class(SideTab::Workflows), on:click=show(SideTab::Workflows)) { "Files" }
            }
            div(class=body_class(SideTab::Node)) { inspector::Inspector {} }
            div(class=body_class(SideTab::Run)) { run_panel::RunPanel {} }
            div(class=body_class(SideTab::Chat)) { chat::ChatPanel {} }
            div(class=body_class(SideTab::Workflows)) { workflows::WorkflowsPanel {} }
        }
    }
}

#[component]
fn Notices() -> View {
    let state = use_context::<AppState>();
    view! {
        div(class="notices", id="notices", aria-live="polite") {
            Keyed(
                list=state.notices,
                key=|n| n.id,
                view=move |n| {
                    let id = n.id;
                    let close = move |_| state.dismiss(id);
                    view! {
                        div(class=n.kind.class()) {
                            span { (n.text.clone()) }
                            button(class="link", on:click=close, aria-label="Dismiss") { "×" }
                        }
                    }
                },
            )
        }
    }
}

/// The label following the pointer while a skill is dragged from the
/// library; ends the drag when the pointer is released anywhere (the
/// canvas handles a release over it first).
#[component]
fn PaletteGhost() -> View {
    let state = use_context::<AppState>();
    window_listener("pointermove", move |ev: web_sys::PointerEvent| {
        if state.palette_drag.with_untracked(Option::is_some) {
            state.palette_drag.update(|d| {
                if let Some(d) = d {
                    d.x = f64::from(ev.client_x());
                    d.y = f64::from(ev.client_y());
                }
            });
        }
    });
    window_listener("pointerup", move |_ev: web_sys::PointerEvent| {
        if let Some(drag) = state.palette_drag.get_clone_untracked() {
            state.palette_drag.set(None);
            if !drag.moved() {
                state.request_canvas(CanvasRequest::AddAtCenter(drag.skill_id));
            }
        }
    });
    view! {
        (match state.palette_drag.get_clone().filter(|d| d.moved()) {
            Some(d) => view! {
                div(class="palette-ghost", style=format!("left: {}px; top: {}px", d.x + 12.0, d.y + 8.0)) { (d.title.clone()) }
            },
            None => view! {},
        })
    }
}
