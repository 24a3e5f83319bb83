//! Previews of node outputs. The rich previews (plots, Three.js scenes,
//! waveforms, quantum state bars) live in `crate::preview`; until they are
//! part of the build, this stand-in with the same interface shows numbers,
//! text and JSON.

use llmos_core::types::PortType;
use serde_json::Value;
use sycamore::prelude::*;

/// Most characters of JSON shown before cutting.
const MAX_JSON_CHARS: usize = 6_000;

#[component(inline_props)]
pub fn OutputPreview(value: Value, port_type: PortType) -> View {
    let _ = port_type;
    match value {
        Value::Number(n) => view! { div(class="preview-number") { (n.to_string()) } },
        Value::Bool(b) => view! { div(class="preview-number") { (b.to_string()) } },
        Value::String(s) if s.starts_with("data:image/") => {
            view! { img(class="preview-image", src=s, alt="image output") }
        }
        Value::String(s) => view! { pre(class="preview-text") { (s) } },
        other => {
            let mut text = serde_json::to_string_pretty(&other).unwrap_or_default();
            if text.len() > MAX_JSON_CHARS {
                let cut = (0..=MAX_JSON_CHARS)
                    .rev()
                    .find(|&i| text.is_char_boundary(i))
                    .unwrap_or(0);
                text.truncate(cut);
                text.push_str("\n…");
            }
            view! { pre(class="preview-json") { (text) } }
        }
    }
}
