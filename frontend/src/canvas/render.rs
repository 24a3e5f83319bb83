//! Drawing a frame of the workflow canvas with the 2D context.
//!
//! Cost is what matters at 5,000 nodes: only nodes inside the view are
//! visited (spatial grid), edges are culled by their end points, and paths
//! of one style are batched into one `stroke`/`fill`. Detail follows the
//! zoom: below [`MEDIUM_SCALE`] nodes are plain rectangles and edges
//! straight lines; text is drawn only where it would be legible and only
//! when fewer than [`TEXT_NODE_LIMIT`] nodes are visible.

use llmos_core::types::{PortType, Runtime};
use llmos_core::workflow::NodeStatus;
use web_sys::CanvasRenderingContext2d;

use super::viewport::Viewport;
use crate::graph::connect::PortEnd;
use crate::graph::scene::{FOOTER, HEADER, NodeView, PORT_RADIUS, ROW, Scene, Side, TOP_PAD};
use crate::graph::spatial::Rect;
use crate::run::RunView;

/// At and above this zoom, nodes show ports with labels.
pub const FULL_SCALE: f64 = 0.55;
/// At and above this zoom, nodes show a title band and port dots.
pub const MEDIUM_SCALE: f64 = 0.25;
/// Most visible nodes for which text is drawn.
pub const TEXT_NODE_LIMIT: usize = 1_200;

pub const BACKGROUND_DOT: &str = "#dfe3ea";
pub const EDGE: &str = "#8b94a7";
pub const EDGE_FLOWED: &str = "#1f8a4c";
pub const EDGE_SELECTED: &str = "#3a6ff7";
pub const ERROR: &str = "#c2382f";
pub const WARNING: &str = "#b7791f";
pub const SELECTED: &str = "#3a6ff7";
pub const NODE_FILL: &str = "#ffffff";
pub const NODE_BORDER: &str = "#c9cfdb";
pub const INK: &str = "#1d2330";
pub const MUTED: &str = "#5b6578";
pub const OK: &str = "#1f8a4c";

/// Title band colour by runtime.
pub fn runtime_color(runtime: Option<Runtime>) -> &'static str {
    match runtime {
        Some(Runtime::PythonWasm) => "#3d6fa8",
        Some(Runtime::Javascript) => "#b08a1e",
        Some(Runtime::Threejs) => "#6b55c4",
        Some(Runtime::Spice) => "#2c8c80",
        Some(Runtime::WasmComponent) => "#b8572a",
        Some(Runtime::Builtin) => "#5f6b7e",
        None => "#9aa3b2",
    }
}

/// Port dot colour by type.
pub fn port_color(ty: PortType) -> &'static str {
    match ty {
        PortType::Number => "#3a6ff7",
        PortType::String => "#1f8a4c",
        PortType::Boolean => "#b7791f",
        PortType::Array => "#8a4fd6",
        PortType::Object => "#c2382f",
        PortType::Image => "#d6457f",
        PortType::Mesh => "#6b55c4",
        PortType::Waveform => "#2c8c80",
        PortType::Any => "#6b7280",
    }
}

pub fn status_color(status: NodeStatus) -> &'static str {
    match status {
        NodeStatus::Pending => "#9aa3b2",
        NodeStatus::Running => "#3a6ff7",
        NodeStatus::Done => OK,
        NodeStatus::Failed => ERROR,
        NodeStatus::Skipped => "#b8bec9",
    }
}

/// Something drawn over the graph for the gesture in progress.
pub enum Overlay<'a> {
    None,
    /// A connection being dragged from `from` to the world point, with the
    /// port under the pointer and whether it is accepted.
    Connect {
        from: &'a PortEnd,
        to: (f64, f64),
        target: Option<(&'a PortEnd, bool)>,
    },
    /// A selection rectangle in world units.
    Box(Rect),
    /// Where a skill dragged from the library would land.
    Drop(Rect, &'a str),
}

/// Everything a frame depends on.
pub struct Frame<'a> {
    pub scene: &'a Scene,
    /// Selected nodes by scene index.
    pub selected: &'a [bool],
    pub selected_edges: &'a [usize],
    pub run: &'a RunView,
    pub viewport: Viewport,
    pub width: f64,
    pub height: f64,
    pub dpr: f64,
    /// Nodes being dragged (by scene index) and the drag offset.
    pub moving: Option<(&'a [bool], f64, f64)>,
    /// The port under the pointer.
    pub hover_port: Option<&'a PortEnd>,
    pub overlay: Overlay<'a>,
}

/// What a frame drew.
#[derive(Debug, Clone, Copy, Default)]
pub struct FrameStats {
    pub nodes: usize,
    pub edges: usize,
}

fn bezier(ctx: &CanvasRenderingContext2d, (x0, y0): (f64, f64), (x1, y1): (f64, f64)) {
    let dx = ((x1 - x0).abs() * 0.5).max(40.0);
    ctx.move_to(x0, y0);
    ctx.bezier_curve_to(x0 + dx, y0, x1 - dx, y1, x1, y1);
}

fn rounded(ctx: &CanvasRenderingContext2d, r: &Rect, radius: f64) {
    let (x, y, w, h) = (r.x, r.y, r.w, r.h);
    ctx.move_to(x + radius, y);
    let _ = ctx.arc_to(x + w, y, x + w, y + h, radius);
    let _ = ctx.arc_to(x + w, y + h, x, y + h, radius);
    let _ = ctx.arc_to(x, y + h, x, y, radius);
    let _ = ctx.arc_to(x, y, x + w, y, radius);
    ctx.close_path();
}

/// Cuts text to about `chars` characters, with an ellipsis.
fn fit_text(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        text.to_owned()
    } else {
        let mut t: String = text.chars().take(chars.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn offset_rect(frame: &Frame<'_>, i: usize, r: Rect) -> Rect {
    match frame.moving {
        Some((members, dx, dy)) if members.get(i).copied().unwrap_or(false) => {
            Rect::new(r.x + dx, r.y + dy, r.w, r.h)
        }
        _ => r,
    }
}

fn offset_point(frame: &Frame<'_>, i: usize, (x, y): (f64, f64)) -> (f64, f64) {
    match frame.moving {
        Some((members, dx, dy)) if members.get(i).copied().unwrap_or(false) => (x + dx, y + dy),
        _ => (x, y),
    }
}

/// Draws one frame; `visible` is scratch space reused across frames.
pub fn draw(
    ctx: &CanvasRenderingContext2d,
    frame: &Frame<'_>,
    visible: &mut Vec<u32>,
) -> FrameStats {
    let v = frame.viewport;
    let dpr = frame.dpr;
    let _ = ctx.set_transform(dpr, 0.0, 0.0, dpr, 0.0, 0.0);
    ctx.clear_rect(0.0, 0.0, frame.width, frame.height);
    let _ = ctx.set_transform(
        dpr * v.scale,
        0.0,
        0.0,
        dpr * v.scale,
        dpr * v.ox,
        dpr * v.oy,
    );
    let view = v.visible(frame.width, frame.height);
    draw_dots(ctx, &view, v.scale);

    let scene = frame.scene;
    // Nodes in view, plus every dragged node wherever it now is.
    scene.grid().query(&view.inflate(20.0), visible);
    if let Some((members, _, _)) = frame.moving {
        let extra: Vec<u32> = members
            .iter()
            .enumerate()
            .filter(|(i, m)| **m && visible.binary_search(&(*i as u32)).is_err())
            .map(|(i, _)| i as u32)
            .collect();
        visible.extend(extra);
        visible.sort_unstable();
    }
    let text_ok = visible.len() <= TEXT_NODE_LIMIT;
    let detail = if v.scale >= FULL_SCALE && text_ok {
        Detail::Full
    } else if v.scale >= MEDIUM_SCALE && text_ok {
        Detail::Medium
    } else {
        Detail::Low
    };
    let edges = draw_edges(ctx, frame, &view, detail);
    match detail {
        Detail::Low => draw_nodes_low(ctx, frame, visible),
        _ => {
            for &i in visible.iter() {
                draw_node(ctx, frame, i as usize, detail);
            }
        }
    }
    draw_overlay(ctx, frame);
    FrameStats {
        nodes: visible.len(),
        edges,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Detail {
    Low,
    Medium,
    Full,
}

/// A light dot grid, only when zoomed in enough to read it.
fn draw_dots(ctx: &CanvasRenderingContext2d, view: &Rect, scale: f64) {
    if scale < 0.4 {
        return;
    }
    let step = 40.0;
    let size = 1.5 / scale;
    ctx.set_fill_style_str(BACKGROUND_DOT);
    ctx.begin_path();
    let x0 = (view.x / step).floor() * step;
    let y0 = (view.y / step).floor() * step;
    let mut x = x0;
    while x <= view.right() {
        let mut y = y0;
        while y <= view.bottom() {
            ctx.rect(x, y, size, size);
            y += step;
        }
        x += step;
    }
    ctx.fill();
}

fn draw_edges(
    ctx: &CanvasRenderingContext2d,
    frame: &Frame<'_>,
    view: &Rect,
    detail: Detail,
) -> usize {
    let scene = frame.scene;
    let scale = frame.viewport.scale;
    // Styles: plain, carried a value in this run, selected, invalid.
    let mut groups: [Vec<Segment>; 4] = Default::default();
    let running = !frame.run.nodes.is_empty();
    let mut count = 0;
    for e in &scene.edges {
        let (a, b) = scene.edge_ends(e);
        let a = offset_point(frame, e.from, a);
        let b = offset_point(frame, e.to, b);
        let bounds = Rect::from_corners(a, b).inflate(60.0);
        if !bounds.intersects(view) {
            continue;
        }
        count += 1;
        let style = if frame.selected_edges.contains(&e.index) {
            2
        } else if !e.errors.is_empty() {
            3
        } else if running
            && frame
                .run
                .nodes
                .get(&scene.nodes[e.from].id)
                .is_some_and(|n| n.status == NodeStatus::Done)
        {
            1
        } else {
            0
        };
        groups[style].push((a, b));
    }
    let widths: [f64; 4] = [1.5, 2.5, 3.0, 2.0];
    let colors = [EDGE, EDGE_FLOWED, EDGE_SELECTED, ERROR];
    for (k, group) in groups.iter().enumerate() {
        if group.is_empty() {
            continue;
        }
        ctx.set_stroke_style_str(colors[k]);
        // Keep lines at least one device pixel wide when zoomed out.
        ctx.set_line_width((widths[k]).max(1.0 / scale));
        if k == 3 {
            let _ = ctx.set_line_dash(&js_sys::Array::of2(&(6.0).into(), &(4.0).into()));
        }
        ctx.begin_path();
        for &(a, b) in group {
            if detail == Detail::Low {
                ctx.move_to(a.0, a.1);
                ctx.line_to(b.0, b.1);
            } else {
                bezier(ctx, a, b);
            }
        }
        ctx.stroke();
        if k == 3 {
            let _ = ctx.set_line_dash(&js_sys::Array::new());
            if detail != Detail::Low {
                // A badge in the middle of each invalid edge.
                ctx.set_fill_style_str(ERROR);
                ctx.begin_path();
                for &(a, b) in group {
                    let (mx, my) = ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0);
                    ctx.move_to(mx + 7.0, my);
                    let _ = ctx.arc(mx, my, 7.0, 0.0, std::f64::consts::TAU);
                }
                ctx.fill();
                ctx.set_fill_style_str("#ffffff");
                ctx.set_font("bold 11px system-ui, sans-serif");
                ctx.set_text_align("center");
                ctx.set_text_baseline("middle");
                for &(a, b) in group {
                    let _ = ctx.fill_text("!", (a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0 + 0.5);
                }
            }
        }
    }
    count
}

/// An edge's two end points.
type Segment = ((f64, f64), (f64, f64));

fn node_status(frame: &Frame<'_>, node: &NodeView) -> Option<NodeStatus> {
    if frame.run.nodes.is_empty() {
        return None;
    }
    frame.run.nodes.get(&node.id).map(|n| n.status)
}

/// Zoomed far out: one filled rectangle per node, batched by colour.
fn draw_nodes_low(ctx: &CanvasRenderingContext2d, frame: &Frame<'_>, visible: &[u32]) {
    let scene = frame.scene;
    let mut by_color: Vec<(&'static str, Vec<Rect>)> = Vec::new();
    let mut outlined: [Vec<Rect>; 2] = Default::default();
    for &i in visible {
        let i = i as usize;
        let node = &scene.nodes[i];
        let r = offset_rect(frame, i, node.rect);
        let color = match node_status(frame, node) {
            Some(s) => status_color(s),
            None => runtime_color(node.runtime),
        };
        match by_color.iter_mut().find(|(c, _)| *c == color) {
            Some((_, list)) => list.push(r),
            None => by_color.push((color, vec![r])),
        }
        if frame.selected.get(i).copied().unwrap_or(false) {
            outlined[0].push(r);
        } else if !node.errors.is_empty() {
            outlined[1].push(r);
        }
    }
    for (color, rects) in &by_color {
        ctx.set_fill_style_str(color);
        ctx.begin_path();
        for r in rects {
            ctx.rect(r.x, r.y, r.w, r.h);
        }
        ctx.fill();
    }
    let width = 3.0 / frame.viewport.scale;
    for (k, rects) in outlined.iter().enumerate() {
        if rects.is_empty() {
            continue;
        }
        ctx.set_stroke_style_str(if k == 0 { SELECTED } else { ERROR });
        ctx.set_line_width(width);
        ctx.begin_path();
        for r in rects {
            ctx.rect(r.x, r.y, r.w, r.h);
        }
        ctx.stroke();
    }
}

fn draw_node(ctx: &CanvasRenderingContext2d, frame: &Frame<'_>, i: usize, detail: Detail) {
    let node = &frame.scene.nodes[i];
    let r = offset_rect(frame, i, node.rect);
    let selected = frame.selected.get(i).copied().unwrap_or(false);
    let status = node_status(frame, node);
    let run = frame.run.nodes.get(&node.id);
    // Body.
    ctx.set_fill_style_str(NODE_FILL);
    ctx.begin_path();
    rounded(ctx, &r, 6.0);
    ctx.fill();
    // Title band.
    ctx.set_fill_style_str(runtime_color(node.runtime));
    ctx.begin_path();
    rounded(ctx, &Rect::new(r.x, r.y, r.w, HEADER), 6.0);
    ctx.fill();
    ctx.fill_rect(r.x, r.y + HEADER - 6.0, r.w, 6.0);
    // Border: selection, then run status, then validation.
    let (border, width) = if selected {
        (SELECTED, 3.0)
    } else if let Some(s) = status.filter(|s| *s != NodeStatus::Pending) {
        (status_color(s), 2.5)
    } else if !node.errors.is_empty() {
        (ERROR, 2.0)
    } else {
        (NODE_BORDER, 1.0)
    };
    ctx.set_stroke_style_str(border);
    ctx.set_line_width(width);
    if !node.errors.is_empty() && !selected {
        let _ = ctx.set_line_dash(&js_sys::Array::of2(&(5.0).into(), &(3.0).into()));
    }
    ctx.begin_path();
    rounded(ctx, &r, 6.0);
    ctx.stroke();
    let _ = ctx.set_line_dash(&js_sys::Array::new());
    if !node.known {
        // An unknown skill: hatch the body.
        ctx.save();
        ctx.begin_path();
        ctx.rect(r.x, r.y + HEADER, r.w, r.h - HEADER);
        ctx.clip();
        ctx.set_stroke_style_str("#ecd3d0");
        ctx.set_line_width(1.0);
        ctx.begin_path();
        let mut x = r.x - r.h;
        while x < r.right() {
            ctx.move_to(x, r.bottom());
            ctx.line_to(x + r.h, r.y);
            x += 14.0;
        }
        ctx.stroke();
        ctx.restore();
    }
    // Ports.
    let hover = frame.hover_port.filter(|p| p.node == i);
    let rows_in = node.inputs.len() + usize::from(node.new_input.is_some());
    ctx.set_line_width(1.5);
    for row in 0..rows_in {
        let (px, py) = node.input_pos(row);
        let (px, py) = offset_point(frame, i, (px, py));
        let port = node.inputs.get(row);
        let color = port.map_or(MUTED, |p| port_color(p.ty));
        let big = hover.is_some_and(|h| h.side == Side::Input && h.row == row);
        draw_port(ctx, px, py, color, big, port.is_none());
    }
    for row in 0..node.outputs.len() {
        let (px, py) = offset_point(frame, i, node.output_pos(row));
        let big = hover.is_some_and(|h| h.side == Side::Output && h.row == row);
        draw_port(ctx, px, py, port_color(node.outputs[row].ty), big, false);
    }
    if detail == Detail::Medium && frame.viewport.scale * 12.0 < 6.0 {
        return;
    }
    // Title.
    ctx.set_text_baseline("middle");
    ctx.set_text_align("left");
    ctx.set_fill_style_str("#ffffff");
    ctx.set_font("600 12px system-ui, sans-serif");
    let _ = ctx.fill_text(
        &fit_text(&node.title, 24),
        r.x + 9.0,
        r.y + HEADER / 2.0 + 0.5,
    );
    if detail == Detail::Medium {
        return;
    }
    // Port labels.
    ctx.set_font("11px system-ui, sans-serif");
    for row in 0..rows_in {
        let y = r.y + HEADER + TOP_PAD + ROW * (row as f64 + 0.5);
        match node.inputs.get(row) {
            Some(p) => {
                ctx.set_fill_style_str(if p.declared { INK } else { MUTED });
                let label = if p.required {
                    format!("{}*", p.name)
                } else {
                    p.name.clone()
                };
                let _ = ctx.fill_text(&fit_text(&label, 13), r.x + 10.0, y);
            }
            None => {
                ctx.set_fill_style_str(MUTED);
                let _ = ctx.fill_text("+ input", r.x + 10.0, y);
            }
        }
    }
    ctx.set_text_align("right");
    ctx.set_fill_style_str(INK);
    for (row, p) in node.outputs.iter().enumerate() {
        let y = r.y + HEADER + TOP_PAD + ROW * (row as f64 + 0.5);
        let _ = ctx.fill_text(&fit_text(&p.name, 13), r.right() - 10.0, y);
    }
    // Footer: run status and duration, else validation.
    ctx.set_text_align("left");
    let footer_y = r.bottom() - FOOTER / 2.0;
    ctx.set_font("11px system-ui, sans-serif");
    if let Some(run) = run.filter(|n| n.status != NodeStatus::Pending) {
        ctx.set_fill_style_str(status_color(run.status));
        let mut text = format!("● {}", status_label(run.status));
        if let Some(ms) = run.duration_ms {
            text.push_str(&format!(" · {}", format_ms(ms)));
        }
        if run.placement == llmos_core::workflow::Placement::Edge && run.status == NodeStatus::Done
        {
            text.push_str(" · edge");
        }
        let _ = ctx.fill_text(&fit_text(&text, 30), r.x + 9.0, footer_y);
    } else if !node.errors.is_empty() {
        ctx.set_fill_style_str(ERROR);
        let text = format!("▲ {}", node.errors[0]);
        let _ = ctx.fill_text(&fit_text(&text, 30), r.x + 9.0, footer_y);
    } else if !node.warnings.is_empty() {
        ctx.set_fill_style_str(WARNING);
        let _ = ctx.fill_text(
            &fit_text(&format!("△ {}", node.warnings[0]), 30),
            r.x + 9.0,
            footer_y,
        );
    } else {
        ctx.set_fill_style_str(MUTED);
        let _ = ctx.fill_text(&fit_text(&node.id, 30), r.x + 9.0, footer_y);
    }
}

fn draw_port(ctx: &CanvasRenderingContext2d, x: f64, y: f64, color: &str, big: bool, hollow: bool) {
    let radius = if big { PORT_RADIUS + 2.5 } else { PORT_RADIUS };
    ctx.begin_path();
    let _ = ctx.arc(x, y, radius, 0.0, std::f64::consts::TAU);
    if hollow {
        ctx.set_fill_style_str("#ffffff");
        ctx.fill();
        ctx.set_stroke_style_str(color);
        let _ = ctx.set_line_dash(&js_sys::Array::of2(&(2.0).into(), &(2.0).into()));
        ctx.stroke();
        let _ = ctx.set_line_dash(&js_sys::Array::new());
    } else {
        ctx.set_fill_style_str(color);
        ctx.fill();
        ctx.set_stroke_style_str("#ffffff");
        ctx.stroke();
    }
}

pub fn status_label(status: NodeStatus) -> &'static str {
    match status {
        NodeStatus::Pending => "pending",
        NodeStatus::Running => "running",
        NodeStatus::Done => "done",
        NodeStatus::Failed => "failed",
        NodeStatus::Skipped => "skipped",
    }
}

/// `0.4 ms`, `12 ms`, `1.25 s`.
pub fn format_ms(ms: f64) -> String {
    if ms < 1.0 {
        format!("{ms:.1} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

fn draw_overlay(ctx: &CanvasRenderingContext2d, frame: &Frame<'_>) {
    let scale = frame.viewport.scale;
    match &frame.overlay {
        Overlay::None => {}
        Overlay::Connect { from, to, target } => {
            let node = &frame.scene.nodes[from.node];
            let start = match from.side {
                Side::Output => node.output_pos(from.row),
                Side::Input => node.input_pos(from.row),
            };
            let color = match target {
                Some((_, true)) => OK,
                Some((_, false)) => ERROR,
                None => SELECTED,
            };
            ctx.set_stroke_style_str(color);
            ctx.set_line_width(2.5_f64.max(1.5 / scale));
            let _ = ctx.set_line_dash(&js_sys::Array::of2(&(6.0).into(), &(4.0).into()));
            ctx.begin_path();
            match from.side {
                Side::Output => bezier(ctx, start, *to),
                Side::Input => bezier(ctx, *to, start),
            }
            ctx.stroke();
            let _ = ctx.set_line_dash(&js_sys::Array::new());
        }
        Overlay::Box(r) => {
            ctx.set_fill_style_str("rgba(58, 111, 247, 0.08)");
            ctx.fill_rect(r.x, r.y, r.w, r.h);
            ctx.set_stroke_style_str(SELECTED);
            ctx.set_line_width(1.0 / scale);
            ctx.stroke_rect(r.x, r.y, r.w, r.h);
        }
        Overlay::Drop(r, title) => {
            ctx.set_fill_style_str("rgba(58, 111, 247, 0.10)");
            ctx.begin_path();
            rounded(ctx, r, 6.0);
            ctx.fill();
            ctx.set_stroke_style_str(SELECTED);
            ctx.set_line_width(1.5 / scale.min(1.0));
            let _ = ctx.set_line_dash(&js_sys::Array::of2(&(6.0).into(), &(4.0).into()));
            ctx.stroke();
            let _ = ctx.set_line_dash(&js_sys::Array::new());
            ctx.set_fill_style_str(SELECTED);
            ctx.set_font("600 12px system-ui, sans-serif");
            ctx.set_text_align("left");
            ctx.set_text_baseline("middle");
            let _ = ctx.fill_text(&fit_text(title, 24), r.x + 9.0, r.y + HEADER / 2.0);
        }
    }
}
