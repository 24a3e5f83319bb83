//! The LLMos-Lite browser workbench: a Sycamore page served by the web
//! component.
//!
//! - [`api`]: every HTTP call, the session token, the chat's SSE stream;
//! - [`state`]: the one [`state::AppState`] of signals and the methods
//!   that change it;
//! - [`graph`]: the workflow under edit, undo history, scene, spatial index
//!   (plain Rust, unit-tested natively);
//! - [`canvas`]: the 2D canvas that draws and edits the graph;
//! - [`run`]: running workflows with the engine shared with the edge;
//! - [`catalog`]: the skills the page knows;
//! - [`ui`]: the components;
//! - [`markdown`], [`sse`], [`keys`], [`dom`]: helpers.
//!
//! `runtime` (browser runtimes) and `preview` (rich output previews) are
//! provided by their own modules.

mod api;
mod canvas;
mod catalog;
mod dom;
mod graph;
mod keys;
mod markdown;
mod preview;
mod run;
mod runtime;
mod sse;
mod state;
mod ui;

fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("llmos-frontend panicked: {info}").into());
    }));
}

/// Removes the static "Loading…" line of `index.html`.
fn remove_boot_message() {
    if let Some(boot) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("boot"))
    {
        boot.remove();
    }
}

fn main() {
    install_panic_hook();
    remove_boot_message();
    if let Err(err) = api::capture_token_from_url() {
        web_sys::console::error_1(&format!("reading the token from the URL: {err}").into());
    }
    sycamore::render(ui::App);
}
