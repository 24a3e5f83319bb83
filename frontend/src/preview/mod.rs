//! Previews of node outputs: numbers and JSON, line plots (SVG), Three.js
//! scenes, circuit waveforms, quantum state bars and convergence curves.
//!
//! [`OutputPreview`] picks a view from the port type and the value's shape
//! ([`classify`]). Values come from untrusted skill code: every view
//! validates what it draws, caps sizes, and shows a plain error (never a
//! blank) when a value cannot be drawn. Views are sized for a ~360 px side
//! panel; "Expand" shows the preview large, over the page.

mod chart;
mod plot;
mod scene;

use llmos_core::types::PortType;
use serde_json::Value;
use sycamore::prelude::*;
use wasm_bindgen::JsCast;

use chart::readable;
use plot::ChartView;
use scene::SceneView;

/// Styles of the previews, added to the page once.
const STYLE: &str = include_str!("preview.css");

/// Longest string shown before "show all".
const STRING_PREVIEW: usize = 2_000;
/// Most entries of one JSON object or array listed.
const JSON_ENTRIES: usize = 200;
/// JSON nesting shown open at first.
const JSON_OPEN_DEPTH: usize = 2;
/// Largest `{width, height, pixels}` image drawn, per side.
const MAX_IMAGE_SIDE: u64 = 4_096;
/// Most basis states drawn as bars.
const MAX_STATES: usize = 256;

/// What a value is drawn as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreviewKind {
    Scene,
    Waveform,
    LinePlot,
    /// Measurement probabilities: `[{basis, probability}, …]`.
    QuantumState,
    /// Numbers against their index (an optimiser's convergence).
    NumberSeries,
    Image,
    Number,
    Json,
}

impl PreviewKind {
    fn label(self) -> &'static str {
        match self {
            PreviewKind::Scene => "3D scene",
            PreviewKind::Waveform => "waveform",
            PreviewKind::LinePlot => "plot",
            PreviewKind::QuantumState => "quantum state",
            PreviewKind::NumberSeries => "series",
            PreviewKind::Image => "image",
            PreviewKind::Number => "number",
            PreviewKind::Json => "JSON",
        }
    }
}

fn has_type(value: &Value, kind: &str) -> bool {
    value.get("type").and_then(Value::as_str) == Some(kind)
}

/// Chooses the view for a value of port type `port_type`.
pub fn classify(value: &Value, port_type: PortType) -> PreviewKind {
    let is_waveform = value.as_object().is_some_and(|o| {
        o.get("time").is_some_and(Value::is_array) && o.get("signals").is_some_and(Value::is_object)
    });
    let is_state = value.as_array().is_some_and(|items| {
        !items.is_empty()
            && items.iter().all(|item| {
                item.get("basis").is_some_and(Value::is_string)
                    && item.get("probability").is_some_and(Value::is_number)
            })
    });
    let is_series = value
        .as_array()
        .is_some_and(|items| items.len() >= 2 && items.iter().all(Value::is_number));
    let is_image = match value {
        Value::String(s) => s.starts_with("data:image/"),
        Value::Object(o) => {
            o.contains_key("width") && o.contains_key("height") && o.contains_key("pixels")
        }
        _ => false,
    };
    match port_type {
        PortType::Mesh => PreviewKind::Scene,
        PortType::Waveform => PreviewKind::Waveform,
        PortType::Image => PreviewKind::Image,
        _ if has_type(value, "scene") => PreviewKind::Scene,
        _ if has_type(value, "line-plot") => PreviewKind::LinePlot,
        _ if is_waveform => PreviewKind::Waveform,
        _ if is_state => PreviewKind::QuantumState,
        _ if is_series => PreviewKind::NumberSeries,
        _ if is_image => PreviewKind::Image,
        _ if value.is_number() => PreviewKind::Number,
        _ => PreviewKind::Json,
    }
}

/// Adds the preview styles to the page, once.
fn ensure_style() {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if document.get_element_by_id("llmos-preview-style").is_some() {
        return;
    }
    if let (Ok(style), Ok(Some(head))) = (
        document.create_element("style"),
        document.query_selector("head"),
    ) {
        style.set_id("llmos-preview-style");
        style.set_text_content(Some(STYLE));
        let _ = head.append_child(&style);
    }
}

/// The preview of one output value.
#[component(inline_props)]
pub fn OutputPreview(value: Value, port_type: PortType) -> View {
    if cfg!(target_arch = "wasm32") {
        ensure_style();
    }
    let kind = classify(&value, port_type);
    let expanded = create_signal(false);
    let toggle = move |_| expanded.set(!expanded.get());
    let close = move |_| expanded.set(false);
    let body = preview_body(kind, &value);
    view! {
        div(class=move || if expanded.get() { "llmos-preview expanded" } else { "llmos-preview" }, data-kind=kind.label()) {
            (if expanded.get() { view! { div(class="preview-backdrop", on:click=close) } } else { view! {} })
            div(class="preview-card") {
                div(class="preview-bar") {
                    span(class="preview-kind") { (kind.label()) }
                    button(class="preview-expand", r#type="button", on:click=toggle) {
                        (if expanded.get() { "Close" } else { "Expand" })
                    }
                }
                div(class="preview-body") { (body) }
            }
        }
    }
}

fn preview_body(kind: PreviewKind, value: &Value) -> View {
    let drawn = match kind {
        PreviewKind::Scene => {
            scene::parse_scene(value).map(|scene| view! { SceneView(scene=scene) })
        }
        PreviewKind::Waveform => {
            plot::waveform(value).map(|chart| view! { ChartView(chart=chart) })
        }
        PreviewKind::LinePlot => {
            plot::line_plot(value).map(|chart| view! { ChartView(chart=chart) })
        }
        PreviewKind::QuantumState => state_bars(value),
        PreviewKind::NumberSeries => number_series(value),
        PreviewKind::Image => image(value),
        PreviewKind::Number => Ok(number(value)),
        PreviewKind::Json => Ok(json_view(value)),
    };
    match drawn {
        Ok(view) => view,
        Err(why) => {
            let message = format!("This {} cannot be shown: {why}", kind.label());
            let raw = json_view(value);
            view! {
                p(class="preview-error") { (message) }
                details(class="preview-raw") { summary { "Raw value" } (raw) }
            }
        }
    }
}

fn number(value: &Value) -> View {
    let text = match value.as_f64() {
        Some(x) if value.is_f64() => readable(x, 10),
        _ => value.to_string(),
    };
    let full = value.to_string();
    view! { p(class="preview-number", title=full) { (text) } }
}

fn number_series(value: &Value) -> Result<View, String> {
    let values: Vec<f64> = value
        .as_array()
        .map(|items| items.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    let chart = plot::number_series(&values, "value")?;
    let caption = plot::series_caption(&values);
    Ok(view! {
        ChartView(chart=chart)
        p(class="preview-caption") { (caption) }
    })
}

/// Bars for `[{basis, probability}, …]`, most likely first is not imposed:
/// basis states keep their order (00, 01, 10, 11).
fn state_bars(value: &Value) -> Result<View, String> {
    let items = value.as_array().ok_or("not an array")?;
    if items.len() > MAX_STATES {
        return Err(format!(
            "{} basis states; at most {MAX_STATES} are drawn",
            items.len()
        ));
    }
    let mut rows = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let basis = item
            .get("basis")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("state[{i}].basis is not a string"))?;
        let p = item
            .get("probability")
            .and_then(Value::as_f64)
            .filter(|p| p.is_finite() && (-1e-9..=1.0 + 1e-9).contains(p))
            .ok_or_else(|| format!("state[{i}].probability is not a number from 0 to 1"))?;
        rows.push((basis.to_owned(), p.clamp(0.0, 1.0)));
    }
    let total: f64 = rows.iter().map(|(_, p)| p).sum();
    let bars: Vec<View> = rows
        .into_iter()
        .map(|(basis, p)| {
            let width = format!("width:{:.2}%", p * 100.0);
            let label = format!("|{basis}⟩");
            let percent = if p >= 0.001 || p == 0.0 {
                format!("{:.1} %", p * 100.0)
            } else {
                format!("{p:.1e}")
            };
            view! {
                div(class="state-row") {
                    span(class="state-basis") { (label) }
                    span(class="state-track") { span(class="state-bar", style=width) }
                    span(class="state-value") { (percent) }
                }
            }
        })
        .collect();
    let caption = format!("Measurement probabilities (sum {})", readable(total, 6));
    Ok(view! {
        div(class="state-bars") { (bars) }
        p(class="preview-caption") { (caption) }
    })
}

fn image(value: &Value) -> Result<View, String> {
    match value {
        Value::String(url) => {
            let allowed = [
                "data:image/png;",
                "data:image/jpeg;",
                "data:image/gif;",
                "data:image/webp;",
                "data:image/svg+xml;",
            ];
            if !allowed.iter().any(|p| url.starts_with(p)) {
                return Err("only PNG, JPEG, GIF, WebP and SVG data URLs are shown".into());
            }
            let src = url.clone();
            Ok(view! { img(class="preview-image", src=src, alt="image output") })
        }
        Value::Object(object) => {
            let side = |key: &str| {
                object
                    .get(key)
                    .and_then(Value::as_u64)
                    .filter(|n| (1..=MAX_IMAGE_SIDE).contains(n))
                    .ok_or_else(|| {
                        format!("{key} must be a whole number from 1 to {MAX_IMAGE_SIDE}")
                    })
            };
            let (width, height) = (side("width")?, side("height")?);
            let pixels = object
                .get("pixels")
                .and_then(Value::as_array)
                .ok_or("pixels must be an array")?;
            if pixels.len() as u64 != width * height * 4 {
                return Err(format!(
                    "pixels has {} numbers; {width} × {height} RGBA needs {}",
                    pixels.len(),
                    width * height * 4
                ));
            }
            let bytes: Vec<u8> = pixels
                .iter()
                .map(|p| p.as_u64().filter(|b| *b <= 255).map(|b| b as u8))
                .collect::<Option<_>>()
                .ok_or("pixels must be numbers from 0 to 255")?;
            Ok(pixel_canvas(width as u32, height as u32, bytes))
        }
        _ => Err("an image is a data URL or {width, height, pixels}".into()),
    }
}

fn pixel_canvas(width: u32, height: u32, bytes: Vec<u8>) -> View {
    let canvas_ref = create_node_ref();
    on_mount(move || {
        let Some(canvas) = canvas_ref
            .try_get()
            .and_then(|n| n.dyn_into::<web_sys::HtmlCanvasElement>().ok())
        else {
            return;
        };
        let context = canvas
            .get_context("2d")
            .ok()
            .flatten()
            .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok());
        let data = web_sys::ImageData::new_with_u8_clamped_array_and_sh(
            wasm_bindgen::Clamped(&bytes),
            width,
            height,
        );
        if let (Some(context), Ok(data)) = (context, data) {
            let _ = context.put_image_data(&data, 0.0, 0.0);
        }
    });
    view! {
        canvas(r#ref=canvas_ref, class="preview-image pixelated", width=width.to_string(), height=height.to_string())
    }
}

/// JSON as a tree: objects and arrays fold, long strings are cut.
fn json_view(value: &Value) -> View {
    let tree = json_node(value, 0);
    view! { div(class="json") { (tree) } }
}

fn json_node(value: &Value, depth: usize) -> View {
    match value {
        Value::Object(map) => {
            let summary = format!(
                "{{…}} {} key{}",
                map.len(),
                if map.len() == 1 { "" } else { "s" }
            );
            let entries: Vec<View> = map
                .iter()
                .take(JSON_ENTRIES)
                .map(|(key, item)| {
                    let key = format!("{key}: ");
                    let child = json_node(item, depth + 1);
                    view! { li { span(class="json-key") { (key) } (child) } }
                })
                .collect();
            container(summary, entries, map.len(), depth)
        }
        Value::Array(items) => {
            let summary = format!(
                "[…] {} item{}",
                items.len(),
                if items.len() == 1 { "" } else { "s" }
            );
            let entries: Vec<View> = items
                .iter()
                .take(JSON_ENTRIES)
                .enumerate()
                .map(|(i, item)| {
                    let index = format!("{i}: ");
                    let child = json_node(item, depth + 1);
                    view! { li { span(class="json-index") { (index) } (child) } }
                })
                .collect();
            container(summary, entries, items.len(), depth)
        }
        Value::String(text) => long_string(text),
        Value::Number(_) => {
            let text = value.to_string();
            view! { span(class="json-number") { (text) } }
        }
        Value::Bool(b) => {
            let text = b.to_string();
            view! { span(class="json-bool") { (text) } }
        }
        Value::Null => view! { span(class="json-null") { "null" } },
    }
}

fn container(summary: String, entries: Vec<View>, total: usize, depth: usize) -> View {
    let more = total.saturating_sub(JSON_ENTRIES);
    let more = if more > 0 {
        let text = format!("… {more} more");
        view! { li(class="json-more") { (text) } }
    } else {
        view! {}
    };
    let open = depth < JSON_OPEN_DEPTH;
    view! {
        details(class="json-node", open=open) {
            summary { (summary) }
            ul { (entries) (more) }
        }
    }
}

fn long_string(text: &str) -> View {
    let quoted = serde_json::to_string(text).expect("a string always serialises");
    if quoted.chars().count() <= STRING_PREVIEW {
        return view! { span(class="json-string") { (quoted) } };
    }
    let head: String = quoted.chars().take(STRING_PREVIEW).collect();
    let rest = quoted.chars().count() - STRING_PREVIEW;
    let show_all = create_signal(false);
    view! {
        span(class="json-string") {
            (if show_all.get() { quoted.clone() } else { format!("{head}…") })
        }
        (if show_all.get() {
            view! {}
        } else {
            let label = format!("show all ({rest} more characters)");
            view! { button(class="json-show", r#type="button", on:click=move |_| show_all.set(true)) { (label) } }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn classifies_by_port_type_then_shape() {
        assert_eq!(classify(&json!({}), PortType::Mesh), PreviewKind::Scene);
        assert_eq!(
            classify(&json!({"type": "scene", "objects": []}), PortType::Object),
            PreviewKind::Scene
        );
        assert_eq!(
            classify(&json!({"type": "line-plot", "series": []}), PortType::Any),
            PreviewKind::LinePlot
        );
        assert_eq!(
            classify(
                &json!({"time": [0], "signals": {"v(out)": [0]}}),
                PortType::Object
            ),
            PreviewKind::Waveform
        );
        assert_eq!(
            classify(&json!(-1.137), PortType::Number),
            PreviewKind::Number
        );
        assert_eq!(
            classify(&json!("data:image/png;base64,AA"), PortType::String),
            PreviewKind::Image
        );
        assert_eq!(
            classify(&json!("hello"), PortType::String),
            PreviewKind::Json
        );
    }

    #[test]
    fn recognises_the_vqe_outputs() {
        let state = json!([
            {"basis": "00", "probability": 0.0}, {"basis": "01", "probability": 0.9887},
            {"basis": "10", "probability": 0.0113}, {"basis": "11", "probability": 0.0}
        ]);
        assert_eq!(classify(&state, PortType::Array), PreviewKind::QuantumState);
        let convergence = json!([-0.24, -0.8, -1.1, -1.137]);
        assert_eq!(
            classify(&convergence, PortType::Array),
            PreviewKind::NumberSeries
        );
        assert_eq!(
            classify(&json!([0.1, "a"]), PortType::Array),
            PreviewKind::Json
        );
        assert_eq!(classify(&json!([1]), PortType::Array), PreviewKind::Json);
    }
}
