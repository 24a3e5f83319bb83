//! The workflow canvas: the graph drawn on one `<canvas>` element (a DOM
//! element per node stops being smooth near a thousand nodes), with its own
//! hit testing over the scene's spatial index, pan and zoom, dragging
//! nodes, drawing connections, box selection and dropping skills from the
//! library.
//!
//! Frames are drawn on demand in `requestAnimationFrame`: a change of the
//! scene, selection or run, a gesture, or a resize schedules one. A drag
//! does not touch the graph until the pointer is released (then one undoable
//! move); meanwhile frames draw the dragged nodes offset.
//!
//! The element carries a few `data-` attributes describing the view
//! (`data-scale`, `data-ox`, `data-oy`: `screen = world · scale + offset`
//! in CSS pixels; `data-frames`, `data-draw-ms`, `data-first-frame-ms`),
//! which the browser tests and the benchmark read.

pub mod render;
pub mod viewport;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use llmos_core::workflow::Edge;
use sycamore::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

use crate::graph::connect::{self, PortEnd};
use crate::graph::scene::{HEADER, Hit, NODE_WIDTH, Scene};
use crate::graph::spatial::Rect;
use crate::state::{AppState, CanvasRequest, now_ms};
use render::{Frame, FrameStats, Overlay};
use viewport::Viewport;

/// Pointer travel (CSS pixels) below which a press is a click, not a drag.
const CLICK_SLOP: f64 = 3.0;
/// Hit tolerance around ports and edges, in CSS pixels.
const HIT_PX: f64 = 8.0;

enum Gesture {
    Idle,
    Pan {
        last: (f64, f64),
        origin: (f64, f64),
        moved: bool,
    },
    Move {
        ids: Vec<String>,
        /// Dragged nodes by scene index.
        members: Vec<bool>,
        origin: (f64, f64),
        dx: f64,
        dy: f64,
        moved: bool,
        /// The node pressed; a click without movement selects only it.
        pressed: String,
    },
    Connect {
        from: PortEnd,
        cursor: (f64, f64),
        /// The port under the pointer and what connecting to it gives.
        target: Option<(PortEnd, Result<Edge, String>)>,
    },
    Select {
        origin: (f64, f64),
        current: (f64, f64),
        additive: bool,
    },
}

/// What a pointer event asks of the app state, applied once the canvas
/// state is no longer borrowed (state changes redraw the canvas
/// synchronously through effects).
enum Action {
    None,
    SelectNode(String, bool),
    SelectEdge(usize, bool),
    SelectNodes(Vec<String>, bool),
    Clear,
    Move(Vec<String>, f64, f64),
    Connect(Result<Edge, String>),
    Drop(String, f64, f64),
}

struct Core {
    canvas: HtmlCanvasElement,
    ctx: CanvasRenderingContext2d,
    width: f64,
    height: f64,
    dpr: f64,
    viewport: Viewport,
    gesture: Gesture,
    hover: Option<PortEnd>,
    visible: Vec<u32>,
    /// A fit requested while the canvas had no size yet.
    fit_pending: bool,
    frames: u64,
    published: Option<Viewport>,
}

impl Core {
    fn local(&self, ev: &web_sys::MouseEvent) -> (f64, f64) {
        let rect = self.canvas.get_bounding_client_rect();
        (
            f64::from(ev.client_x()) - rect.left(),
            f64::from(ev.client_y()) - rect.top(),
        )
    }

    fn client_to_local(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let rect = self.canvas.get_bounding_client_rect();
        let (lx, ly) = (x - rect.left(), y - rect.top());
        (lx >= 0.0 && ly >= 0.0 && lx <= rect.width() && ly <= rect.height()).then_some((lx, ly))
    }

    fn tolerance(&self) -> f64 {
        HIT_PX / self.viewport.scale
    }

    /// Ports are drawn, and so can be hit, from medium zoom on.
    fn ports_visible(&self) -> bool {
        self.viewport.scale >= render::MEDIUM_SCALE
    }

    fn fit(&mut self, scene: &Scene) {
        if self.width < 2.0 || self.height < 2.0 {
            self.fit_pending = true;
            return;
        }
        self.fit_pending = false;
        self.viewport = match scene.grid().bounds() {
            Some(bounds) => Viewport::fit(&bounds, self.width, self.height, 40.0),
            None => Viewport::default(),
        };
    }

    fn set_cursor(&self, cursor: &str) {
        let _ = self.canvas.style().set_property("cursor", cursor);
    }

    /// Writes the view to the element's data attributes when it changed.
    fn publish(&mut self, stats: FrameStats, draw_ms: f64) {
        let el = &self.canvas;
        if self.frames == 1 {
            // Milliseconds since navigation started: page load to an
            // interactive canvas, for the benchmark.
            let _ = el.set_attribute("data-first-frame-ms", &format!("{:.1}", now_ms()));
        }
        let _ = el.set_attribute("data-frames", &self.frames.to_string());
        let _ = el.set_attribute("data-draw-ms", &format!("{draw_ms:.3}"));
        let _ = el.set_attribute("data-visible-nodes", &stats.nodes.to_string());
        let _ = el.set_attribute("data-visible-edges", &stats.edges.to_string());
        if self.published != Some(self.viewport) {
            self.published = Some(self.viewport);
            let v = self.viewport;
            let _ = el.set_attribute("data-scale", &format!("{}", v.scale));
            let _ = el.set_attribute("data-ox", &format!("{}", v.ox));
            let _ = el.set_attribute("data-oy", &format!("{}", v.oy));
        }
    }
}

/// Schedules at most one `requestAnimationFrame` at a time.
#[derive(Default)]
struct Frames {
    scheduled: Cell<bool>,
    callback: RefCell<Option<FrameCallback>>,
}

type FrameCallback = Closure<dyn FnMut(f64)>;

impl Frames {
    fn schedule(&self) {
        if self.scheduled.replace(true) {
            return;
        }
        let callback = self.callback.borrow();
        match (web_sys::window(), callback.as_ref()) {
            (Some(w), Some(cb)) => {
                let _ = w.request_animation_frame(cb.as_ref().unchecked_ref());
            }
            _ => self.scheduled.set(false),
        }
    }
}

type Shared = Rc<RefCell<Option<Core>>>;

/// Draws a frame now.
fn paint(core: &mut Core, state: AppState) {
    let t0 = now_ms();
    let scene = state.scene.get_clone_untracked();
    let drag = state.palette_drag.get_clone_untracked();
    let drop_rect = drag.as_ref().and_then(|d| {
        let (lx, ly) = core.client_to_local(d.x, d.y)?;
        let (wx, wy) = core.viewport.to_world(lx, ly);
        Some(Rect::new(
            crate::state::edit::snap(wx - NODE_WIDTH / 2.0),
            crate::state::edit::snap(wy - HEADER / 2.0),
            NODE_WIDTH,
            80.0,
        ))
    });
    let stats = state.selection.with_untracked(|selection| {
        state.run.with_untracked(|run| {
            let mut selected = vec![false; scene.nodes.len()];
            for id in &selection.nodes {
                if let Some(i) = scene.node_index(id) {
                    selected[i] = true;
                }
            }
            let selected_edges: Vec<usize> = selection.edges.iter().copied().collect();
            let (moving, overlay) = match &core.gesture {
                Gesture::Move {
                    members,
                    dx,
                    dy,
                    moved: true,
                    ..
                } => (Some((members.as_slice(), *dx, *dy)), Overlay::None),
                Gesture::Connect {
                    from,
                    cursor,
                    target,
                } => (
                    None,
                    Overlay::Connect {
                        from,
                        to: *cursor,
                        target: target.as_ref().map(|(end, r)| (end, r.is_ok())),
                    },
                ),
                Gesture::Select {
                    origin, current, ..
                } => (None, Overlay::Box(Rect::from_corners(*origin, *current))),
                _ => match (&drop_rect, &drag) {
                    (Some(r), Some(d)) => (None, Overlay::Drop(*r, d.title.as_str())),
                    _ => (None, Overlay::None),
                },
            };
            let frame = Frame {
                scene: &scene,
                selected: &selected,
                selected_edges: &selected_edges,
                run,
                viewport: core.viewport,
                width: core.width,
                height: core.height,
                dpr: core.dpr,
                moving,
                hover_port: core.hover.as_ref(),
                overlay,
            };
            render::draw(&core.ctx, &frame, &mut core.visible)
        })
    });
    core.frames += 1;
    let elapsed = now_ms() - t0;
    core.publish(stats, elapsed);
}

fn apply(state: AppState, action: Action) {
    match action {
        Action::None => {}
        Action::SelectNode(id, additive) => state.select_node(&id, additive),
        Action::SelectEdge(k, additive) => state.select_edge(k, additive),
        Action::SelectNodes(ids, additive) => state.select_nodes(ids, additive),
        Action::Clear => state.clear_selection(),
        Action::Move(ids, dx, dy) => state.move_nodes(ids, dx, dy),
        Action::Connect(Ok(edge)) => state.add_edge(edge),
        Action::Connect(Err(reason)) => state.refuse_connection(reason),
        Action::Drop(skill, x, y) => {
            state.add_node(&skill, x, y);
        }
    }
}

fn pointer_down(core: &mut Core, state: AppState, ev: &web_sys::PointerEvent) -> Action {
    let button = ev.button();
    if button == 2 {
        return Action::None;
    }
    let _ = core.canvas.focus();
    let _ = core.canvas.set_pointer_capture(ev.pointer_id());
    let (sx, sy) = core.local(ev);
    let (wx, wy) = core.viewport.to_world(sx, sy);
    if button == 1 {
        core.gesture = Gesture::Pan {
            last: (sx, sy),
            origin: (sx, sy),
            moved: true,
        };
        return Action::None;
    }
    let additive = ev.shift_key() || ev.ctrl_key() || ev.meta_key();
    let scene = state.scene.get_clone_untracked();
    match scene.hit(wx, wy, core.tolerance(), core.ports_visible()) {
        Hit::Port(from) => {
            core.gesture = Gesture::Connect {
                from,
                cursor: (wx, wy),
                target: None,
            };
            state.canvas_message.set(None);
            Action::None
        }
        Hit::Node(i) => {
            let id = scene.nodes[i].id.clone();
            if additive {
                return Action::SelectNode(id, true);
            }
            let already = state.selection.with_untracked(|s| s.nodes.contains(&id));
            let ids: Vec<String> = if already {
                state
                    .selection
                    .with_untracked(|s| s.nodes.iter().cloned().collect())
            } else {
                vec![id.clone()]
            };
            let mut members = vec![false; scene.nodes.len()];
            for m in &ids {
                if let Some(k) = scene.node_index(m) {
                    members[k] = true;
                }
            }
            core.gesture = Gesture::Move {
                ids,
                members,
                origin: (sx, sy),
                dx: 0.0,
                dy: 0.0,
                moved: false,
                pressed: id.clone(),
            };
            core.set_cursor("grabbing");
            if already {
                Action::None
            } else {
                Action::SelectNode(id, false)
            }
        }
        Hit::Edge(k) => Action::SelectEdge(scene.edges[k].index, additive),
        Hit::Empty => {
            core.gesture = if additive {
                Gesture::Select {
                    origin: (wx, wy),
                    current: (wx, wy),
                    additive,
                }
            } else {
                core.set_cursor("grabbing");
                Gesture::Pan {
                    last: (sx, sy),
                    origin: (sx, sy),
                    moved: false,
                }
            };
            Action::None
        }
    }
}

/// Returns whether a redraw is needed and the tooltip to show.
fn pointer_move(
    core: &mut Core,
    state: AppState,
    ev: &web_sys::PointerEvent,
) -> (bool, Option<(f64, f64, String)>) {
    let (sx, sy) = core.local(ev);
    let (wx, wy) = core.viewport.to_world(sx, sy);
    let scale = core.viewport.scale;
    let tolerance = core.tolerance();
    match &mut core.gesture {
        Gesture::Pan {
            last,
            origin,
            moved,
        } => {
            core.viewport.pan(sx - last.0, sy - last.1);
            *last = (sx, sy);
            *moved |= (sx - origin.0).hypot(sy - origin.1) > CLICK_SLOP;
            (true, None)
        }
        Gesture::Move {
            origin,
            dx,
            dy,
            moved,
            ..
        } => {
            *moved |= (sx - origin.0).hypot(sy - origin.1) > CLICK_SLOP;
            *dx = crate::state::edit::snap((sx - origin.0) / scale);
            *dy = crate::state::edit::snap((sy - origin.1) / scale);
            (*moved, None)
        }
        Gesture::Connect {
            from,
            cursor,
            target,
        } => {
            *cursor = (wx, wy);
            let scene = state.scene.get_clone_untracked();
            let over = scene.port_at(wx, wy, tolerance);
            let changed = over.as_ref() != target.as_ref().map(|(end, _)| end);
            if changed {
                *target = over.map(|end| {
                    let result = state
                        .graph
                        .with_untracked(|g| connect::check(g, &scene, from, &end))
                        .map(|(e, _)| e);
                    (end, result)
                });
            }
            let tip = match target {
                Some((_, Err(why))) => Some((sx, sy, why.clone())),
                _ => None,
            };
            (true, tip)
        }
        Gesture::Select { current, .. } => {
            *current = (wx, wy);
            (true, None)
        }
        Gesture::Idle => {
            let scene = state.scene.get_clone_untracked();
            let hit = scene.hit(wx, wy, tolerance, core.ports_visible());
            let (cursor, port, tip) = match &hit {
                Hit::Port(end) => (
                    "crosshair",
                    Some(end.clone()),
                    port_tip(&scene, end).map(|t| (sx, sy, t)),
                ),
                Hit::Node(i) => {
                    let node = &scene.nodes[*i];
                    let tip = (!node.errors.is_empty() || !node.warnings.is_empty()).then(|| {
                        node.errors
                            .iter()
                            .chain(&node.warnings)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join("\n")
                    });
                    ("grab", None, tip.map(|t| (sx, sy, t)))
                }
                Hit::Edge(k) => {
                    let e = &scene.edges[*k];
                    (
                        "pointer",
                        None,
                        (!e.errors.is_empty()).then(|| (sx, sy, e.errors.join("\n"))),
                    )
                }
                Hit::Empty => ("default", None, None),
            };
            core.set_cursor(cursor);
            let redraw = port != core.hover;
            core.hover = port;
            (
                redraw || state.palette_drag.with_untracked(Option::is_some),
                tip,
            )
        }
    }
}

/// A port's name and type, for the hover tooltip.
fn port_tip(scene: &Scene, end: &PortEnd) -> Option<String> {
    let node = &scene.nodes[end.node];
    let port = match end.side {
        crate::graph::scene::Side::Input => node.inputs.get(end.row),
        crate::graph::scene::Side::Output => node.outputs.get(end.row),
    };
    Some(match port {
        Some(p) => format!("{}.{} ({})", node.id, p.name, p.ty),
        None => format!("{}: connect here to add an input", node.id),
    })
}

fn pointer_up(core: &mut Core, state: AppState, ev: &web_sys::PointerEvent) -> Action {
    let _ = core.canvas.release_pointer_capture(ev.pointer_id());
    let gesture = std::mem::replace(&mut core.gesture, Gesture::Idle);
    core.set_cursor("default");
    if let Some(drag) = state
        .palette_drag
        .get_clone_untracked()
        .filter(|d| d.moved())
    {
        let (sx, sy) = core.local(ev);
        let (wx, wy) = core.viewport.to_world(sx, sy);
        return Action::Drop(drag.skill_id, wx - NODE_WIDTH / 2.0, wy - HEADER / 2.0);
    }
    match gesture {
        Gesture::Idle => Action::None,
        Gesture::Pan { moved, .. } => {
            if moved {
                Action::None
            } else {
                Action::Clear
            }
        }
        Gesture::Move {
            ids,
            dx,
            dy,
            moved,
            pressed,
            ..
        } => {
            if moved {
                Action::Move(ids, dx, dy)
            } else if ids.len() > 1 {
                Action::SelectNode(pressed, false)
            } else {
                Action::None
            }
        }
        Gesture::Connect { target, .. } => match target {
            Some((_, result)) => Action::Connect(result),
            None => Action::None,
        },
        Gesture::Select {
            origin,
            current,
            additive,
        } => {
            let area = Rect::from_corners(origin, current);
            let scene = state.scene.get_clone_untracked();
            let mut hits = Vec::new();
            scene.grid().query(&area, &mut hits);
            Action::SelectNodes(
                hits.into_iter()
                    .map(|i| scene.nodes[i as usize].id.clone())
                    .collect(),
                additive,
            )
        }
    }
}

fn handle_request(core: &mut Core, state: AppState, request: CanvasRequest) -> Action {
    let scene = state.scene.get_clone_untracked();
    match request {
        CanvasRequest::Fit => {
            core.fit(&scene);
            Action::None
        }
        CanvasRequest::Focus(id) => {
            if let Some(i) = scene.node_index(&id) {
                let r = scene.nodes[i].rect;
                let scale = core.viewport.scale.max(0.8);
                core.viewport = Viewport {
                    scale,
                    ox: core.width / 2.0 - (r.x + r.w / 2.0) * scale,
                    oy: core.height / 2.0 - (r.y + r.h / 2.0) * scale,
                };
            }
            Action::None
        }
        CanvasRequest::AddAtCenter(skill) => {
            let (cx, cy) = core.viewport.to_world(core.width / 2.0, core.height / 2.0);
            let (mut x, mut y) = (cx - NODE_WIDTH / 2.0, cy - 40.0);
            // Step aside from nodes already there, so repeated clicks fan out.
            for _ in 0..20 {
                if scene.grid().topmost_at(x + 10.0, y + 10.0).is_none() {
                    break;
                }
                x += 30.0;
                y += 30.0;
            }
            Action::Drop(skill, x, y)
        }
    }
}

#[component]
pub fn WorkflowCanvas() -> View {
    let state = use_context::<AppState>();
    let canvas_ref = create_node_ref();
    let wrap_ref = create_node_ref();
    let shared: Shared = Rc::new(RefCell::new(None));
    let frames = Rc::new(Frames::default());
    let tip: Signal<Option<(f64, f64, String)>> = create_signal(None);
    let zoom = create_signal(1.0_f64);

    on_mount({
        let shared = Rc::clone(&shared);
        let frames = Rc::clone(&frames);
        move || {
            let Some(canvas) = canvas_ref
                .try_get()
                .and_then(|n| n.dyn_into::<HtmlCanvasElement>().ok())
            else {
                return;
            };
            let Some(ctx) = canvas
                .get_context("2d")
                .ok()
                .flatten()
                .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
            else {
                state.error("This browser has no 2D canvas.");
                return;
            };
            *shared.borrow_mut() = Some(Core {
                canvas,
                ctx,
                width: 0.0,
                height: 0.0,
                dpr: 1.0,
                viewport: Viewport::default(),
                gesture: Gesture::Idle,
                hover: None,
                visible: Vec::new(),
                fit_pending: false,
                frames: 0,
                published: None,
            });
            // The frame callback.
            {
                let shared = Rc::clone(&shared);
                let frames_in = Rc::clone(&frames);
                let callback = Closure::<dyn FnMut(f64)>::new(move |_ts: f64| {
                    frames_in.scheduled.set(false);
                    if let Ok(mut guard) = shared.try_borrow_mut()
                        && let Some(core) = guard.as_mut()
                    {
                        paint(core, state);
                        if zoom.get_untracked() != core.viewport.scale {
                            zoom.set(core.viewport.scale);
                        }
                    }
                });
                *frames.callback.borrow_mut() = Some(callback);
            }
            // Size: follow the wrapper's box, in device pixels.
            let observer = {
                let shared = Rc::clone(&shared);
                let frames = Rc::clone(&frames);
                let on_resize =
                    Closure::<dyn FnMut(js_sys::Array)>::new(move |_entries: js_sys::Array| {
                        let mut guard = shared.borrow_mut();
                        let Some(core) = guard.as_mut() else {
                            return;
                        };
                        let parent = core.canvas.parent_element();
                        let (w, h) = parent.map_or((0.0, 0.0), |p| {
                            (f64::from(p.client_width()), f64::from(p.client_height()))
                        });
                        let dpr = web_sys::window()
                            .map_or(1.0, |w| w.device_pixel_ratio())
                            .max(1.0);
                        core.width = w;
                        core.height = h;
                        core.dpr = dpr;
                        core.canvas.set_width((w * dpr).round() as u32);
                        core.canvas.set_height((h * dpr).round() as u32);
                        let _ = core.canvas.style().set_property("width", &format!("{w}px"));
                        let _ = core
                            .canvas
                            .style()
                            .set_property("height", &format!("{h}px"));
                        if core.fit_pending {
                            let scene = state.scene.get_clone_untracked();
                            core.fit(&scene);
                        }
                        drop(guard);
                        frames.schedule();
                    });
                let observer =
                    web_sys::ResizeObserver::new(on_resize.as_ref().unchecked_ref()).ok();
                on_resize.forget();
                if let (Some(o), Some(wrap)) = (&observer, wrap_ref.try_get()) {
                    o.observe(wrap.unchecked_ref());
                }
                observer
            };
            // Redraw on every change of what is drawn.
            {
                let frames = Rc::clone(&frames);
                create_effect(move || {
                    state.scene.track();
                    state.selection.track();
                    state.run.track();
                    state.palette_drag.track();
                    frames.schedule();
                });
            }
            // Requests from the rest of the page.
            {
                let shared = Rc::clone(&shared);
                let frames = Rc::clone(&frames);
                create_effect(move || {
                    let Some(request) = state.canvas_request.get_clone() else {
                        return;
                    };
                    state.canvas_request.set_silent(None);
                    let action = match shared.try_borrow_mut() {
                        Ok(mut guard) => match guard.as_mut() {
                            Some(core) => handle_request(core, state, request),
                            None => Action::None,
                        },
                        Err(_) => Action::None,
                    };
                    untrack(|| apply(state, action));
                    frames.schedule();
                });
            }
            let shared = Rc::clone(&shared);
            let frames = Rc::clone(&frames);
            on_cleanup(move || {
                if let Some(o) = observer {
                    o.disconnect();
                }
                frames.callback.borrow_mut().take();
                shared.borrow_mut().take();
            });
        }
    });

    let on_pointerdown = {
        let (shared, frames) = (Rc::clone(&shared), Rc::clone(&frames));
        move |ev: web_sys::PointerEvent| {
            let action = match shared.borrow_mut().as_mut() {
                Some(core) => pointer_down(core, state, &ev),
                None => return,
            };
            tip.set(None);
            apply(state, action);
            frames.schedule();
        }
    };
    let on_pointermove = {
        let (shared, frames) = (Rc::clone(&shared), Rc::clone(&frames));
        move |ev: web_sys::PointerEvent| {
            let (redraw, new_tip) = match shared.borrow_mut().as_mut() {
                Some(core) => pointer_move(core, state, &ev),
                None => return,
            };
            if tip.with_untracked(|t| t.as_ref().map(|t| &t.2) != new_tip.as_ref().map(|t| &t.2)) {
                tip.set(new_tip);
            } else if new_tip.is_some() {
                tip.set_silent(new_tip);
            }
            if redraw {
                frames.schedule();
            }
        }
    };
    let on_pointerup = {
        let (shared, frames) = (Rc::clone(&shared), Rc::clone(&frames));
        move |ev: web_sys::PointerEvent| {
            let action = match shared.borrow_mut().as_mut() {
                Some(core) => pointer_up(core, state, &ev),
                None => return,
            };
            tip.set(None);
            apply(state, action);
            frames.schedule();
        }
    };
    let on_pointercancel = {
        let (shared, frames) = (Rc::clone(&shared), Rc::clone(&frames));
        move |_ev: web_sys::PointerEvent| {
            if let Some(core) = shared.borrow_mut().as_mut() {
                core.gesture = Gesture::Idle;
            }
            frames.schedule();
        }
    };
    let on_pointerleave = {
        let (shared, frames) = (Rc::clone(&shared), Rc::clone(&frames));
        move |_ev: web_sys::PointerEvent| {
            tip.set(None);
            if let Some(core) = shared.borrow_mut().as_mut()
                && core.hover.take().is_some()
            {
                frames.schedule();
            }
        }
    };
    let on_wheel = {
        let (shared, frames) = (Rc::clone(&shared), Rc::clone(&frames));
        move |ev: web_sys::WheelEvent| {
            ev.prevent_default();
            if let Some(core) = shared.borrow_mut().as_mut() {
                let (sx, sy) = core.local(&ev);
                let unit = match ev.delta_mode() {
                    web_sys::WheelEvent::DOM_DELTA_LINE => 40.0,
                    web_sys::WheelEvent::DOM_DELTA_PAGE => 800.0,
                    _ => 1.0,
                };
                core.viewport
                    .zoom_at(sx, sy, (-ev.delta_y() * unit * 0.0015).exp());
            }
            frames.schedule();
        }
    };
    let zoom_by = {
        let (shared, frames) = (Rc::clone(&shared), Rc::clone(&frames));
        move |factor: f64| {
            if let Some(core) = shared.borrow_mut().as_mut() {
                let (w, h) = (core.width, core.height);
                core.viewport.zoom_at(w / 2.0, h / 2.0, factor);
            }
            frames.schedule();
        }
    };
    let zoom_in = {
        let zoom_by = zoom_by.clone();
        move |_| zoom_by(1.25)
    };
    let zoom_out = move |_| zoom_by(0.8);
    let fit = move |_| state.request_canvas(CanvasRequest::Fit);
    let dismiss = move |_| state.canvas_message.set(None);

    let status = move || {
        let (nodes, edges, errors, warnings) = state
            .scene
            .with(|s| (s.nodes.len(), s.edges.len(), s.error_count, s.warning_count));
        let selected = state.selection.with(|s| s.nodes.len() + s.edges.len());
        let mut text = format!("{nodes} nodes · {edges} edges");
        if selected > 0 {
            text.push_str(&format!(" · {selected} selected"));
        }
        if errors > 0 {
            text.push_str(&format!(
                " · {errors} error{}",
                if errors == 1 { "" } else { "s" }
            ));
        } else if nodes > 0 {
            text.push_str(" · valid");
        }
        if warnings > 0 {
            text.push_str(&format!(
                " · {warnings} warning{}",
                if warnings == 1 { "" } else { "s" }
            ));
        }
        text.push_str(&format!(" · {:.0}%", zoom.get() * 100.0));
        text
    };
    let empty = move || state.scene.with(|s| s.nodes.is_empty());

    view! {
        div(class="canvas-wrap", ref=wrap_ref) {
            canvas(
                ref=canvas_ref,
                id="workflow-canvas",
                class="workflow-canvas",
                tabindex="0",
                aria-label="Workflow canvas",
                on:pointerdown=on_pointerdown,
                on:pointermove=on_pointermove,
                on:pointerup=on_pointerup,
                on:pointercancel=on_pointercancel,
                on:pointerleave=on_pointerleave,
                on:wheel=on_wheel,
                on:contextmenu=|ev: web_sys::MouseEvent| ev.prevent_default(),
            )
            (if empty() {
                view! {
                    div(class="canvas-empty") {
                        p { "Drag a skill from the library onto the canvas, or click one to add it." }
                        p(class="muted") { "Connect an output (right) to an input (left). Ctrl+Enter runs the workflow." }
                    }
                }
            } else {
                view! {}
            })
            (match tip.get_clone() {
                Some((x, y, text)) => view! {
                    div(class="canvas-tip", style=format!("left: {}px; top: {}px", x + 14.0, y + 14.0)) { (text) }
                },
                None => view! {},
            })
            (match state.canvas_message.get_clone() {
                Some(message) => view! {
                    div(id="canvas-message", class="canvas-message", role="alert") {
                        span { "Cannot connect: " (message) }
                        button(class="link", on:click=dismiss, aria-label="Dismiss") { "×" }
                    }
                },
                None => view! {},
            })
            div(class="canvas-controls") {
                button(title="Zoom in", on:click=zoom_in) { "+" }
                button(title="Zoom out", on:click=zoom_out) { "−" }
                button(title="Fit to view (F)", on:click=fit) { "Fit" }
            }
            div(id="canvas-status", class="canvas-status") { (status()) }
        }
    }
}
