//! The chat panel: the conversation with answers rendered as sanitized
//! Markdown while they stream in, the skills each answer used, and "make
//! this a workflow".

use sycamore::prelude::*;

use crate::markdown;
use crate::state::AppState;
use crate::state::chat::{ChatMessage, Role};

#[component(inline_props)]
fn Message(message: ChatMessage) -> View {
    let class = match message.role {
        Role::User => "msg user",
        Role::Assistant => "msg assistant",
        Role::Note => "msg note",
    };
    let body = match message.role {
        Role::Assistant => {
            let html = markdown::to_html(&message.text);
            view! { div(class="md", prop:innerHTML=html) }
        }
        _ => {
            let text = message.text.clone();
            view! { div(class="plain") { (text) } }
        }
    };
    let skills = message.skills_used.clone();
    view! {
        div(class=class) {
            (body)
            (if message.streaming { view! { span(class="typing") { "…" } } } else { view! {} })
            (match message.error.clone() {
                Some(e) => view! { p(class="error small") { (e) } },
                None => view! {},
            })
            (if skills.is_empty() { view! {} } else {
                let chips: Vec<View> = skills.iter().map(|s| { let s = s.clone(); view! { span(class="chip") { (s) } } }).collect();
                view! { div(class="skills-used") { span(class="muted small") { "skills used: " } (chips) } }
            })
        }
    }
}

#[component]
pub fn ChatPanel() -> View {
    let state = use_context::<AppState>();
    let chat = state.chat;
    let send = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        state.send_chat();
    };
    let keydown = move |ev: web_sys::KeyboardEvent| {
        // Enter sends, Shift+Enter starts a new line; Ctrl+Enter sends too
        // (and does not run the workflow from here).
        if ev.key() == "Enter" && !ev.shift_key() {
            ev.prevent_default();
            ev.stop_propagation();
            state.send_chat();
        }
    };
    let stop = move |_| state.stop_chat();
    let clear = move |_| state.clear_chat();
    let make = move |_| state.make_workflow_from_chat();
    view! {
        div(class="chat-panel", id="chat-panel") {
            div(class="panel-head") {
                h2 { "Chat" }
                button(class="link small", on:click=clear) { "Clear" }
            }
            (match chat.not_configured.get_clone() {
                Some(why) => view! {
                    div(class="banner", id="llm-not-configured", role="alert") {
                        strong { "No LLM is configured on the server. " }
                        span { (why) }
                        p(class="small") {
                            "Set the " code { "anthropic_api_key" } " variable (or " code { "ANTHROPIC_API_KEY" }
                            " for " code { "llmos up" } "), or point " code { "llm_base_url" }
                            " at an OpenAI-compatible server, then try again."
                        }
                    }
                },
                None => view! {},
            })
            div(class="messages") {
                Indexed(
                    list=chat.messages,
                    view=|m| view! { Message(message=m) },
                )
                (if chat.messages.with(Vec::is_empty) {
                    view! { p(class="muted small") { "Ask about your skills, or describe a computation and turn it into a workflow." } }
                } else { view! {} })
            }
            form(class="chat-form", on:submit=send) {
                textarea(id="chat-input", rows="3", placeholder="Message (Enter sends, Shift+Enter for a new line)", bind:value=chat.draft, on:keydown=keydown)
                div(class="row") {
                    (if chat.busy.get() {
                        view! { button(r#type="button", class="danger", on:click=stop) { "Stop" } }
                    } else {
                        view! { button(r#type="submit", class="primary", disabled=chat.draft.with(|d| d.trim().is_empty())) { "Send" } }
                    })
                    button(r#type="button", id="make-workflow", on:click=make, disabled=chat.making_workflow.get(),
                        title="Generate a workflow from this conversation with your executable skills") {
                        (if chat.making_workflow.get() { "Generating…" } else { "Make this a workflow" })
                    }
                }
            }
        }
    }
}
