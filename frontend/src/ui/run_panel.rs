//! The run panel: the run's state and duration, per-node status, duration
//! and error in plan order, what ran at the edge, the component each
//! compiled node ran, and the recorded trace.

use llmos_core::workflow::NodeStatus;
use sycamore::prelude::*;

use crate::canvas::render::{format_ms, status_label};
use crate::run::RunPhase;
use crate::state::{AppState, CanvasRequest};

/// Most node rows listed; a 5,000-node run lists the first ones and counts
/// the rest.
const MAX_ROWS: usize = 300;

#[derive(Debug, Clone, PartialEq)]
struct Row {
    id: String,
    status: NodeStatus,
    level: usize,
    duration_ms: Option<f64>,
    error: Option<String>,
    edge: bool,
    /// The component a compiled node ran.
    component: Option<String>,
}

#[component]
pub fn RunPanel() -> View {
    let state = use_context::<AppState>();
    let phase = move || state.run.with(|r| r.phase);
    let summary = move || {
        state.run.with(|r| {
            let mut parts = vec![r.phase.label().to_owned()];
            if let Some(ms) = r.duration_ms {
                parts.push(format_ms(ms));
            }
            for s in [
                NodeStatus::Done,
                NodeStatus::Failed,
                NodeStatus::Skipped,
                NodeStatus::Running,
                NodeStatus::Pending,
            ] {
                let n = r.count(s);
                if n > 0 && r.phase != RunPhase::Idle {
                    parts.push(format!("{n} {}", status_label(s)));
                }
            }
            parts.join(" · ")
        })
    };
    let rows = create_memo(move || {
        state.run.with(|r| {
            r.order
                .iter()
                .take(MAX_ROWS)
                .filter_map(|id| {
                    r.nodes.get(id).map(|n| Row {
                        id: id.clone(),
                        status: n.status,
                        level: n.level,
                        duration_ms: n.duration_ms,
                        error: n.error.clone(),
                        edge: n.placement == llmos_core::workflow::Placement::Edge,
                        component: n.component.clone(),
                    })
                })
                .collect::<Vec<_>>()
        })
    });
    let hidden_rows = move || state.run.with(|r| r.order.len().saturating_sub(MAX_ROWS));
    let errors = move || state.run.with(|r| r.errors.clone());
    let notes = move || state.run.with(|r| r.notes.clone());
    let run = move |_| state.start_run();
    let stop = move |_| state.stop_run();
    view! {
        div(class="run-panel", id="run-panel") {
            div(class="panel-head") {
                h2 { "Run" }
                (if phase() == RunPhase::Running {
                    view! { button(class="danger small", on:click=stop) { "Stop" } }
                } else {
                    view! { button(class="primary small", on:click=run) { "Run" } }
                })
            }
            p(id="run-summary", class=format!("run-summary phase-{}", phase().label().replace(' ', "-"))) { (summary()) }
            (if errors().is_empty() { view! {} } else {
                let items: Vec<View> = errors().into_iter().map(|m| view! { li(class="error") { (m) } }).collect();
                view! { ul(class="issues") { (items) } }
            })
            ul(class="notes") {
                (notes().into_iter().map(|n| view! { li(class="muted small") { (n) } }).collect::<Vec<_>>())
            }
            (if phase() == RunPhase::Idle {
                view! { p(class="muted small") { "Ctrl+Enter runs the workflow level by level; each node's status, duration and outputs appear here and on the canvas." } }
            } else { view! {} })
            ol(class="run-rows") {
                Keyed(
                    list=rows,
                    key=|row| format!("{}:{:?}:{:?}:{:?}", row.id, row.status, row.duration_ms, row.component),
                    view=move |row| {
                        let id = row.id.clone();
                        let select = move |_| {
                            state.select_node(&id, false);
                            state.request_canvas(CanvasRequest::Focus(id.clone()));
                        };
                        let class = format!("run-row status-{}", status_label(row.status));
                        let detail = format!(
                            "L{}{}{}",
                            row.level,
                            row.duration_ms.map(|ms| format!(" · {}", format_ms(ms))).unwrap_or_default(),
                            if row.edge { " · edge" } else { "" }
                        );
                        let (node_attr, id_text, status) = (row.id.clone(), row.id.clone(), status_label(row.status));
                        let component = match row.component.clone() {
                            Some(sha) => {
                                let short = super::inspector::short_hash(&sha);
                                view! { span(class="muted small run-component", title=sha) { " · component " code(class="hash") { (short) } } }
                            }
                            None => view! {},
                        };
                        let error = match row.error.clone() {
                            Some(e) => view! { div(class="error small run-error") { (e) } },
                            None => view! {},
                        };
                        view! {
                            li(class=class, on:click=select, data-node=node_attr) {
                                span(class="dot") {}
                                span(class="run-id") { (id_text) }
                                span(class="run-status") { (status) }
                                span(class="muted small") { (detail) }
                                (component)
                                (error)
                            }
                        }
                    },
                )
            }
            (if hidden_rows() > 0 {
                view! { p(class="muted small") { (format!("… and {} more nodes", hidden_rows())) } }
            } else { view! {} })
        }
    }
}
