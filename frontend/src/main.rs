//! The LLMos-Lite browser workbench.
//!
//! This first page shows the app and the health of the API; the workbench
//! views (canvas, chat, skills) grow from here.

mod api;
mod preview;
mod runtime;

use sycamore::futures::spawn_local_scoped;
use sycamore::prelude::*;

/// What the page knows about the API's health.
#[derive(Clone, PartialEq)]
enum Health {
    Checking,
    Ok { version: String },
    Down(String),
}

#[component]
fn HealthBadge() -> View {
    let health = create_signal(Health::Checking);
    spawn_local_scoped(async move {
        let next = match api::get_json("/health").await {
            Ok(body) if body["status"] == "ok" => Health::Ok {
                version: body["version"].as_str().unwrap_or("?").to_owned(),
            },
            Ok(body) => Health::Down(format!("unexpected answer: {body}")),
            Err(err) => Health::Down(err),
        };
        health.set(next);
    });
    view! {
        p(id="health", class="health") {
            (match health.get_clone() {
                Health::Checking => "API: checking…".to_owned(),
                Health::Ok { version } => format!("API: ok (version {version})"),
                Health::Down(err) => format!("API: unavailable — {err}"),
            })
        }
    }
}

#[component]
fn App() -> View {
    let signed_in = api::token().is_some();
    view! {
        header(class="top") {
            h1 { "LLMos-Lite" }
            span(class="tagline") { "a browser-native workbench for skills, workflows and LLM chat" }
        }
        main {
            HealthBadge {}
            p(id="session") {
                (if signed_in { "Signed in for this session." } else { "Not signed in: open the URL `llmos up` prints." })
            }
        }
    }
}

fn main() {
    if let Err(err) = api::capture_token_from_url() {
        web_sys::console::error_1(&format!("reading the token from the URL: {err}").into());
    }
    sycamore::render(App);
}
