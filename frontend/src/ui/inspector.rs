//! The side panel for the selection: a node's skill, where it runs (with a
//! switch between the edge and the browser for compiled skills), params
//! (typed editors), validation messages and last outputs (and the
//! component a compiled node ran); an edge's ports, types and the value
//! that flowed along it; or a summary of the workflow.

use llmos_core::types::{PortType, Runtime};
use llmos_core::workflow::Placement;
use sycamore::prelude::*;

use super::outputs::OutputPreview;
use super::params::{ParamEditor, ParamRow};
use crate::canvas::render::{format_ms, status_label};
use crate::state::skills::SkillRef;
use crate::state::{AppState, CanvasRequest, Page};

#[component]
pub fn Inspector() -> View {
    let state = use_context::<AppState>();
    // Which view to show changes only with the selection's shape.
    let shape = create_selector(move || {
        state
            .selection
            .with(|s| match (s.single_node(), s.single_edge()) {
                (Some(id), _) => Shape::Node(id.to_owned()),
                (_, Some(k)) => Shape::Edge(k),
                _ if !s.is_empty() => Shape::Many,
                _ => Shape::Workflow,
            })
    });
    view! {
        div(class="inspector", id="inspector") {
            (match shape.get_clone() {
                Shape::Node(id) => view! { NodeInspector(id=id) },
                Shape::Edge(k) => view! { EdgeInspector(index=k) },
                Shape::Many => view! { ManyInspector {} },
                Shape::Workflow => view! { WorkflowSummary {} },
            })
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Shape {
    Node(String),
    Edge(usize),
    Many,
    Workflow,
}

/// Everything about one node the inspector shows, rebuilt on changes.
#[derive(Debug, Clone, PartialEq)]
struct NodeFacts {
    exists: bool,
    title: String,
    skill_id: String,
    runtime: Option<String>,
    volume: Option<String>,
    description: String,
    x: f64,
    y: f64,
    errors: Vec<String>,
    warnings: Vec<String>,
    rows: Vec<ParamRow>,
    outputs: Vec<(String, PortType)>,
    /// Where the node runs, for skills that are not built-in.
    place: Option<PlaceFacts>,
}

/// Where a node runs and, for a compiled skill, with which component.
#[derive(Debug, Clone, PartialEq)]
struct PlaceFacts {
    /// Where the plan puts it.
    placement: Placement,
    /// The skill's own placement (what a node without `where` gets).
    own: Placement,
    /// Whether the node may run in either place (a compiled skill with a
    /// built component).
    switchable: bool,
    compiled: bool,
    /// The component's SHA-256 and whether it is runnable.
    component: Option<(String, bool)>,
    volume: Option<String>,
}

fn node_facts(state: AppState, id: &str) -> NodeFacts {
    let skills = state.skills.get_clone();
    let scene = state.scene.get_clone();
    state.graph.with(|g| {
        let Some(node) = g.node(id) else {
            return NodeFacts {
                exists: false,
                title: String::new(),
                skill_id: String::new(),
                runtime: None,
                volume: None,
                description: String::new(),
                x: 0.0,
                y: 0.0,
                errors: vec![],
                warnings: vec![],
                rows: vec![],
                outputs: vec![],
                place: None,
            };
        };
        let entry = skills.get(&node.skill_id);
        let view = scene.node_index(id).map(|i| &scene.nodes[i]);
        let sig = entry.and_then(|e| e.signature.clone());
        let mut rows = Vec::new();
        if let Some(view) = view {
            for port in view.inputs.iter() {
                let spec = sig.as_ref().and_then(|s| s.input(&port.name));
                let bound_from = g
                    .edge_into(id, &port.name)
                    .map(|k| &g.edges()[k])
                    .map(|e| format!("{}.{}", e.source, e.source_port));
                rows.push(ParamRow {
                    node: id.to_owned(),
                    name: port.name.clone(),
                    ty: port.ty,
                    required: port.required,
                    declared: port.declared,
                    description: spec.and_then(|s| s.description.clone()),
                    default: spec.and_then(|s| s.default.clone()),
                    value: node.params.get(&port.name).cloned(),
                    bound_from,
                });
            }
        }
        // Params that name no input: shown so they can be cleared.
        for (name, value) in &node.params {
            if !rows.iter().any(|r| &r.name == name) {
                rows.push(ParamRow {
                    node: id.to_owned(),
                    name: name.clone(),
                    ty: PortType::Any,
                    required: false,
                    declared: false,
                    description: Some("not an input of this skill: it is not passed".to_owned()),
                    default: None,
                    value: Some(value.clone()),
                    bound_from: None,
                });
            }
        }
        let place = sig
            .as_ref()
            .filter(|s| s.runtime != Runtime::Builtin)
            .map(|s| PlaceFacts {
                placement: s.placement_for(node.placement).unwrap_or_else(|own| own),
                own: s.placement(),
                switchable: s.runs_anywhere(),
                compiled: s.compiled,
                component: s.component.as_ref().map(|c| (c.sha256.clone(), c.fresh)),
                volume: entry.map(|e| e.volume.clone()),
            });
        NodeFacts {
            exists: true,
            place,
            title: view.map(|v| v.title.to_string()).unwrap_or_default(),
            skill_id: node.skill_id.clone(),
            runtime: sig.as_ref().map(|s| s.runtime.as_str().to_owned()),
            volume: entry.map(|e| e.volume.clone()),
            description: entry.map(|e| e.description.clone()).unwrap_or_default(),
            x: node.position.x,
            y: node.position.y,
            errors: view.map(|v| v.errors.clone()).unwrap_or_default(),
            warnings: view.map(|v| v.warnings.clone()).unwrap_or_default(),
            rows,
            outputs: view
                .map(|v| v.outputs.iter().map(|p| (p.name.clone(), p.ty)).collect())
                .unwrap_or_default(),
        }
    })
}

#[component(inline_props)]
fn NodeInspector(id: String) -> View {
    let state = use_context::<AppState>();
    let facts = create_memo({
        let id = id.clone();
        move || node_facts(state, &id)
    });
    let rows = create_memo(move || facts.with(|f| f.rows.clone()));
    // Only this node's run: previews are rebuilt when it changes, not
    // when another node of the run finishes.
    let run = create_selector({
        let id = id.clone();
        move || state.run.with(|r| r.nodes.get(&id).cloned())
    });
    let focus = {
        let id = id.clone();
        move |_| state.request_canvas(CanvasRequest::Focus(id.clone()))
    };
    let delete = move |_| state.delete_selection();
    let id_text = id.clone();
    view! {
        (if !facts.with(|f| f.exists) {
            view! { p(class="muted") { "This node no longer exists." } }
        } else {
            let f = facts.get_clone();
            let id_text = id_text.clone();
            let placement_box = match f.place.clone() {
                Some(place) => {
                    let (node, skill_id) = (id_text.clone(), f.skill_id.clone());
                    view! { PlacementBox(node=node, skill_id=skill_id, place=place) }
                }
                None => view! {},
            };
            view! {
                div(class="insp-head") {
                    h2 { (f.title.clone()) }
                    div(class="muted small") {
                        code(id="inspector-node-id") { (id_text) } " · " (f.skill_id.clone())
                        (f.runtime.clone().map(|r| format!(" · {r}")).unwrap_or_default())
                        (f.volume.clone().map(|v| format!(" · {v}")).unwrap_or_default())
                    }
                    div(class="muted small", id="inspector-position") { (format!("at ({}, {})", f.x, f.y)) }
                    (if f.description.is_empty() { view! {} } else {
                        let d = f.description.clone();
                        view! { p(class="small") { (d) } }
                    })
                    div(class="row") {
                        button(class="small", on:click=focus.clone()) { "Show on canvas" }
                        button(class="small danger", on:click=delete) { "Delete" }
                    }
                }
                (placement_box)
            }
        })
        (facts.with(|f| {
            let mut items: Vec<View> = Vec::new();
            for e in &f.errors {
                let e = e.clone();
                items.push(view! { li(class="error") { (e) } });
            }
            for w in &f.warnings {
                let w = w.clone();
                items.push(view! { li(class="warning") { (w) } });
            }
            if items.is_empty() {
                view! {}
            } else {
                view! { ul(class="issues") { (items) } }
            }
        }))
        h3 { "Outputs" }
        (match run.get_clone() {
            None => view! { p(class="muted small") { "Run the workflow to see this node's outputs." } },
            Some(r) => {
                let mut parts: Vec<View> = Vec::new();
                let status = format!(
                    "{}{}",
                    status_label(r.status),
                    r.duration_ms.map(|ms| format!(" in {}", format_ms(ms))).unwrap_or_default()
                );
                parts.push(view! { p(class="small", id="inspector-run-status") { (status) } });
                if let Some(sha) = r.component.clone() {
                    let fuel = r.fuel.map(|f| format!(" · {f} fuel")).unwrap_or_default();
                    let short = short_hash(&sha);
                    parts.push(view! {
                        p(class="small muted", id="inspector-run-component") {
                            "ran component " code(class="hash", title=sha) { (short) } (fuel)
                        }
                    });
                }
                if let Some(err) = r.error.clone() {
                    parts.push(view! { pre(class="error-box") { (err) } });
                }
                if !r.log.is_empty() {
                    let log = r.log.clone();
                    parts.push(view! {
                        details(class="log", open=true) {
                            summary(class="small muted") { "Log" }
                            pre(class="preview-text") { (log) }
                        }
                    });
                }
                // Untracked: editing a param must not rebuild the previews.
                let ports = facts.with_untracked(|f| f.outputs.clone());
                for (name, ty) in ports {
                    if let Some(value) = r.outputs.get(&name).cloned() {
                        parts.push(view! {
                            div(class="output") {
                                div(class="output-name") { code { (name.clone()) } span(class="badge") { (ty.as_str()) } }
                                OutputPreview(value=value, port_type=ty)
                            }
                        });
                    }
                }
                parts.into()
            }
        })
        h3 { "Inputs" }
        div(class="params") {
            Keyed(
                list=rows,
                key=|row| row.key(),
                view=|row| view! { ParamEditor(row=row) },
            )
            (if rows.with(Vec::is_empty) { view! { p(class="muted small") { "No inputs." } } } else { view! {} })
        }
    }
}

/// The first 12 hex digits of a hash.
pub fn short_hash(sha: &str) -> String {
    sha.chars().take(12).collect()
}

/// Where a node runs; for a compiled skill with a built component, a
/// switch between the edge and the browser (the node's `where`), and the
/// component it runs.
#[component(inline_props)]
fn PlacementBox(node: String, skill_id: String, place: PlaceFacts) -> View {
    let state = use_context::<AppState>();
    let own = place.own;
    let pick = {
        let node = node.clone();
        move |ev: web_sys::Event| {
            let chosen = match crate::dom::event_value(&ev).as_str() {
                "edge" => Placement::Edge,
                _ => Placement::Browser,
            };
            // The skill's own placement needs no `where` in the file.
            state.set_placement(&node, (chosen != own).then_some(chosen));
        }
    };
    let open_skill = {
        let skill_id = skill_id.clone();
        let volume = place.volume.clone().unwrap_or_default();
        move |_| {
            state.open_skill(SkillRef {
                skill_id: skill_id.clone(),
                volume: volume.clone(),
            });
            state.show_page(Page::Skills);
        }
    };
    let where_text = format!("Runs {}", place.placement.phrase());
    let component = match (&place.component, place.compiled) {
        (Some((sha, true)), _) => {
            let (sha, short) = (sha.clone(), short_hash(sha));
            view! { div(class="small muted") { "compiled · component " code(class="hash", id="inspector-component", title=sha) { (short) } } }
        }
        (Some((sha, false)), _) => {
            let (sha, short) = (sha.clone(), short_hash(sha));
            view! {
                div(class="small warning") {
                    "compiled · component " code(class="hash", title=sha) { (short) } " is stale: build it again "
                    button(class="link small", on:click=open_skill.clone()) { "in the skill editor" }
                }
            }
        }
        (None, true) => view! {
            div(class="small warning") {
                "compiled · no component is built yet: build it "
                button(class="link small", on:click=open_skill.clone()) { "in the skill editor" }
            }
        },
        (None, false) => view! {},
    };
    let current = place.placement;
    let options = move || {
        [Placement::Edge, Placement::Browser]
            .into_iter()
            .map(|p| {
                let label = if p == own {
                    format!("{} (its skill's place)", p.phrase())
                } else {
                    p.phrase().to_owned()
                };
                view! { option(value=p.as_str(), selected=p == current) { (label) } }
            })
            .collect::<Vec<View>>()
    };
    view! {
        div(class="placement", id="inspector-placement", data-where=place.placement.as_str()) {
            (if place.switchable {
                let options = options();
                view! {
                    label(class="small row") {
                        "Runs "
                        select(id="inspector-where", aria-label="Where the node runs", on:change=pick.clone()) { (options) }
                    }
                }
            } else {
                let text = where_text.clone();
                view! { div(class="small") { (text) } }
            })
            (component)
        }
    }
}

#[component(inline_props)]
fn EdgeInspector(index: usize) -> View {
    let state = use_context::<AppState>();
    let facts = create_selector(move || {
        let scene = state.scene.get_clone();
        let edge = state.graph.with(|g| g.edges().get(index).cloned());
        edge.map(|e| {
            let view = scene.edges.iter().find(|v| v.index == index);
            let ty = |node: usize, port: Option<usize>, output: bool| {
                port.and_then(|p| {
                    let n = &scene.nodes[node];
                    if output {
                        n.outputs.get(p)
                    } else {
                        n.inputs.get(p)
                    }
                    .map(|p| p.ty)
                })
            };
            let from_ty = view.and_then(|v| ty(v.from, v.from_port, true));
            let to_ty = view.and_then(|v| ty(v.to, v.to_port, false));
            let errors = view.map(|v| v.errors.clone()).unwrap_or_default();
            let value = state.run.with(|r| {
                r.nodes
                    .get(&e.source)
                    .and_then(|n| n.outputs.get(&e.source_port).cloned())
            });
            (e, from_ty, to_ty, errors, value)
        })
    });
    let delete = move |_| state.delete_selection();
    view! {
        (match facts.get_clone() {
            None => view! { p(class="muted") { "This edge no longer exists." } },
            Some((e, from_ty, to_ty, errors, value)) => {
                let compat = match (from_ty, to_ty) {
                    (Some(a), Some(b)) => format!("{a} → {b}: {:?}", llmos_core::workflow::compatibility(a, b)).to_lowercase(),
                    _ => "a port is missing".to_owned(),
                };
                let items: Vec<View> = errors.into_iter().map(|m| view! { li(class="error") { (m) } }).collect();
                view! {
                    div(class="insp-head") {
                        h2 { "Edge" }
                        p { code { (format!("{}.{}", e.source, e.source_port)) } " → " code { (format!("{}.{}", e.target, e.target_port)) } }
                        p(class="muted small") { (compat) }
                        button(class="small danger", on:click=delete) { "Delete edge" }
                    }
                    ul(class="issues") { (items) }
                    h3 { "Value carried in the last run" }
                    (match value {
                        Some(v) => view! { OutputPreview(value=v, port_type=from_ty.unwrap_or(PortType::Any)) },
                        None => view! { p(class="muted small") { "Nothing yet." } },
                    })
                }
            }
        })
    }
}

#[component]
fn ManyInspector() -> View {
    let state = use_context::<AppState>();
    let counts = move || state.selection.with(|s| (s.nodes.len(), s.edges.len()));
    let delete = move |_| state.delete_selection();
    view! {
        h2 { "Selection" }
        p { ({ let (n, e) = counts(); format!("{n} node(s), {e} edge(s) selected.") }) }
        p(class="muted small") { "Drag a selected node to move them all; Delete removes them." }
        button(class="danger", on:click=delete) { "Delete selection" }
    }
}

#[component]
fn WorkflowSummary() -> View {
    let state = use_context::<AppState>();
    let general = move || state.scene.with(|s| s.general.clone());
    let counts = move || {
        state
            .scene
            .with(|s| (s.nodes.len(), s.edges.len(), s.error_count, s.warning_count))
    };
    let levels = move || state.report.with(|r| r.levels.len());
    let errors = move || {
        state.report.with(|r| {
            r.errors
                .iter()
                .take(12)
                .map(|e| {
                    let m = e.message.clone();
                    view! { li(class="error") { (m) } }
                })
                .collect::<Vec<View>>()
        })
    };
    view! {
        h2 { (state.graph.with(|g| g.workflow().name.clone())) }
        p(class="small") {
            ({
                let (n, e, errs, warns) = counts();
                format!("{n} nodes, {e} edges, {} level(s); {errs} error(s), {warns} warning(s).", levels())
            })
        }
        (if general().is_empty() { view! {} } else {
            let items: Vec<View> = general().into_iter().map(|m| view! { li(class="error") { (m) } }).collect();
            view! { ul(class="issues") { (items) } }
        })
        ul(class="issues") { (errors()) }
        p(class="muted small") { "Select a node to edit its params, or an edge to see what flows along it." }
    }
}
