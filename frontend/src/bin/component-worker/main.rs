//! The component worker's WebAssembly module: runs compiled skills (skill
//! components of `wit/skill/skill.wit`) in the browser with the runtime
//! the edge uses, `llmos-skill-runtime`, so equal inputs give
//! byte-identical outputs in both places.
//!
//! It is loaded by `frontend/js/component-worker.js` inside a dedicated,
//! locked-down Web Worker and exports one call, `runComponent`, whose JSON
//! contract is documented in [`contract`]. Parsed components stay cached
//! by SHA-256 for the life of the worker, so the page sends a component's
//! bytes once per worker.
//!
//! Built for `wasm32-unknown-unknown` by `scripts/build-frontend.sh`; the
//! native build exists for the unit tests of [`contract`].

mod contract;

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

use contract::{ComponentHost, RunCall};

thread_local! {
    /// The worker's one host: a worker is single-threaded, and its cache
    /// lives as long as the worker.
    static HOST: RefCell<ComponentHost> = RefCell::new(ComponentHost::default());
}

/// Runs the component `sha256` (hex) on `inputs` (a JSON object of input
/// values) and answers JSON text, `{"ok": …}` or `{"error": …}` (see
/// [`contract`]). `bytes` may be left out when this worker has run the
/// component before; `limits` and `ports` are optional JSON texts.
#[wasm_bindgen(js_name = runComponent)]
pub fn run_component(
    sha256: &str,
    bytes: Option<Vec<u8>>,
    inputs: &str,
    limits: Option<String>,
    ports: Option<String>,
) -> String {
    HOST.with(|host| {
        host.borrow_mut().run(RunCall {
            sha256,
            bytes: bytes.as_deref(),
            inputs,
            limits: limits.as_deref(),
            ports: ports.as_deref(),
        })
    })
}

/// The default limits as JSON (`{"fuel", "max_memory_bytes",
/// "max_table_elements"}`): those of the edge.
#[wasm_bindgen(js_name = defaultLimits)]
pub fn default_limits() -> String {
    contract::default_limits_json()
}

fn main() {
    // A panic inside the runtime is a bug. Its message goes to the console;
    // the call then traps, and the worker script ends the worker so that
    // the page starts a fresh one.
    #[cfg(target_arch = "wasm32")]
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("the component worker panicked: {info}").into());
    }));
}
