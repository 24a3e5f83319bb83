//! The page's state: one [`AppState`] of signals, provided as context at
//! the root and used by every component. Components read signals and call
//! the methods here; only these methods change state, so each rule (every
//! graph edit goes through the command history, a 401 shows the sign-in
//! screen, a run updates the canvas live) lives in one place.
//!
//! - this module: the session, skills, notices, selection and navigation;
//! - [`edit`]: graph edits, undo/redo, save/open/import/export;
//! - [`chat`]: the chat panel;
//! - [`skills`]: the skills browser and editor;
//! - [`crate::run`]: running the workflow.

pub mod chat;
pub mod edit;
pub mod skills;

use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

use llmos_core::workflow::{Limits, ValidationReport, analyze};
use sycamore::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use crate::api::{self, CommitInfo, Identity, WorkflowSummary};
use crate::catalog::SkillIndex;
use crate::graph::Graph;
use crate::graph::history::History;
use crate::graph::scene::Scene;
use crate::run::RunView;
use crate::run::runner::Runner;

/// Whether the page may talk to the API.
#[derive(Debug, Clone, PartialEq)]
pub enum Session {
    /// Asking `GET /auth/me`.
    Checking,
    /// No token in this browser session.
    NoToken,
    /// The API refused the token.
    Rejected(String),
    /// The API could not be reached.
    Unreachable(String),
    SignedIn(Identity),
}

/// Something loaded from the API.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Load<T> {
    #[default]
    Idle,
    Loading,
    Ready(T),
    Failed(String),
}

/// A short message in the notice area.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub id: u64,
    pub kind: NoticeKind,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    Info,
    Success,
    Error,
}

impl NoticeKind {
    pub fn class(self) -> &'static str {
        match self {
            NoticeKind::Info => "notice info",
            NoticeKind::Success => "notice success",
            NoticeKind::Error => "notice error",
        }
    }
}

/// Selected nodes (by id) and edges (by index in the workflow).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Selection {
    pub nodes: BTreeSet<String>,
    pub edges: BTreeSet<usize>,
}

impl Selection {
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty() && self.edges.is_empty()
    }

    /// The one selected node, when exactly one node and no edge is.
    pub fn single_node(&self) -> Option<&str> {
        match (self.nodes.len(), self.edges.len()) {
            (1, 0) => self.nodes.iter().next().map(String::as_str),
            _ => None,
        }
    }

    pub fn single_edge(&self) -> Option<usize> {
        match (self.nodes.len(), self.edges.len()) {
            (0, 1) => self.edges.iter().next().copied(),
            _ => None,
        }
    }
}

/// The two main views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Workbench,
    Skills,
}

/// Tabs of the workbench's side panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SideTab {
    Node,
    Run,
    Chat,
    Workflows,
}

/// Requests to the canvas, which alone knows the viewport.
#[derive(Debug, Clone, PartialEq)]
pub enum CanvasRequest {
    /// Show every node.
    Fit,
    /// Add a node of this skill in the middle of the view.
    AddAtCenter(String),
    /// Centre the view on a node.
    Focus(String),
}

/// A skill being dragged from the library.
#[derive(Debug, Clone, PartialEq)]
pub struct PaletteDrag {
    pub skill_id: String,
    pub title: String,
    /// Pointer position in client (CSS) pixels, now and at the press.
    pub x: f64,
    pub y: f64,
    pub start_x: f64,
    pub start_y: f64,
}

impl PaletteDrag {
    /// Whether the pointer travelled far enough to be a drag, not a click.
    pub fn moved(&self) -> bool {
        (self.x - self.start_x).hypot(self.y - self.start_y) > 4.0
    }
}

/// What is stored of the workflow under edit.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Saved {
    /// Set once the workflow is stored (`POST /workflows` answered).
    pub stored: bool,
    pub commit: Option<String>,
    /// The graph version that was saved or opened.
    pub version: u64,
}

/// All of the page's state.
#[derive(Clone, Copy)]
pub struct AppState {
    pub session: Signal<Session>,
    pub skills: Signal<Rc<SkillIndex>>,
    pub skills_status: Signal<Load<()>>,
    pub graph: Signal<Graph>,
    pub history: Signal<History>,
    /// The engine's validation of the graph against the known skills.
    pub report: ReadSignal<Rc<ValidationReport>>,
    /// What the canvas draws.
    pub scene: ReadSignal<Rc<Scene>>,
    pub selection: Signal<Selection>,
    pub saved: Signal<Saved>,
    pub run: Signal<RunView>,
    pub notices: Signal<Vec<Notice>>,
    /// Why the last connection attempt was refused (shown on the canvas).
    pub canvas_message: Signal<Option<String>>,
    pub canvas_request: Signal<Option<CanvasRequest>>,
    pub palette_drag: Signal<Option<PaletteDrag>>,
    pub page: Signal<Page>,
    pub side: Signal<SideTab>,
    pub workflows: Signal<Load<Vec<WorkflowSummary>>>,
    pub workflow_history: Signal<Load<Vec<CommitInfo>>>,
    pub chat: chat::ChatState,
    pub skill_editor: skills::SkillsState,
    pub runner: Signal<Runner>,
    next_id: Signal<u64>,
    /// The app's root scope: tasks run in it (see [`AppState::spawn`]).
    scope: NodeHandle,
}

impl AppState {
    /// Creates the state in the current (root) scope.
    pub fn new() -> Self {
        let skills = create_signal(Rc::new(SkillIndex::builtins()));
        let graph = create_signal(Graph::new(edit::untitled()));
        // Validation does not depend on positions: moves reuse the last
        // report (see `Graph::structure_version`).
        let mut last: Option<(u64, Rc<SkillIndex>, Rc<ValidationReport>)> = None;
        let report = create_selector_with(
            move || {
                let index = skills.get_clone();
                let structure = graph.with(Graph::structure_version);
                if let Some((s, i, r)) = &last
                    && *s == structure
                    && Rc::ptr_eq(i, &index)
                {
                    return Rc::clone(r);
                }
                let report = Rc::new(
                    graph.with(|g| analyze(g.workflow(), index.catalog(), Limits::STORED).0),
                );
                last = Some((structure, index, Rc::clone(&report)));
                report
            },
            Rc::ptr_eq,
        );
        let scene = create_memo(move || {
            let index = skills.get_clone();
            let report = report.get_clone();
            Rc::new(graph.with(|g| Scene::build(g, &*index, Some(&report))))
        });
        AppState {
            session: create_signal(Session::Checking),
            skills,
            skills_status: create_signal(Load::Idle),
            graph,
            history: create_signal(History::default()),
            report,
            scene,
            selection: create_signal(Selection::default()),
            saved: create_signal(Saved::default()),
            run: create_signal(RunView::default()),
            notices: create_signal(Vec::new()),
            canvas_message: create_signal(None),
            canvas_request: create_signal(None),
            palette_drag: create_signal(None),
            page: create_signal(Page::Workbench),
            side: create_signal(SideTab::Node),
            workflows: create_signal(Load::Idle),
            workflow_history: create_signal(Load::Idle),
            chat: chat::ChatState::new(),
            skill_editor: skills::SkillsState::new(),
            runner: create_signal(Runner::new()),
            next_id: create_signal(1),
            scope: use_current_scope(),
        }
    }

    pub fn identity(&self) -> Option<Identity> {
        match self.session.get_clone_untracked() {
            Session::SignedIn(id) => Some(id),
            _ => None,
        }
    }

    /// Runs a task in the app's root scope: reactive operations
    /// (batches, new views after a state change) need a current root,
    /// which a bare `spawn_local` task does not have. The root scope lives
    /// as long as the page, so tasks are never cut short by a component
    /// going away.
    pub fn spawn(self, task: impl std::future::Future<Output = ()> + 'static) {
        self.scope
            .run_in(move || sycamore::futures::spawn_local_scoped(task));
    }

    fn fresh_id(&self) -> u64 {
        let id = self.next_id.get_untracked();
        self.next_id.set_silent(id + 1);
        id
    }

    // -- Session -------------------------------------------------------------

    /// Checks the session's token with `GET /auth/me`, then loads the
    /// skills. A later 401 from any call comes back here through
    /// [`api::on_unauthorized`].
    pub fn start(self) {
        api::on_unauthorized(move |err| {
            api::forget_token();
            self.session.set(Session::Rejected(err.message.clone()));
        });
        if api::token().is_none() {
            self.session.set(Session::NoToken);
            return;
        }
        self.session.set(Session::Checking);
        self.spawn(async move {
            match api::me().await {
                Ok(identity) => {
                    self.session.set(Session::SignedIn(identity));
                    self.load_skills().await;
                }
                Err(e) if e.status == 401 => {} // on_unauthorized handled it.
                Err(e) if e.status == 403 => self.session.set(Session::Rejected(e.message)),
                Err(e) => self.session.set(Session::Unreachable(e.to_string())),
            }
        });
    }

    /// Signs in with a pasted token.
    pub fn sign_in(self, token: &str) {
        if token.trim().is_empty() {
            return;
        }
        match api::set_token(token) {
            Ok(()) => self.start(),
            Err(e) => self.session.set(Session::Rejected(e)),
        }
    }

    pub fn sign_out(self) {
        api::forget_token();
        self.session.set(Session::NoToken);
    }

    // -- Skills --------------------------------------------------------------

    /// Loads the merged skill list and the full form of every executable
    /// skill (their ports and code), in parallel.
    pub async fn load_skills(self) {
        let Some(identity) = self.identity() else {
            return;
        };
        self.skills_status.set(Load::Loading);
        let (summaries, broken) = match api::list_skills(&identity).await {
            Ok(lists) => lists,
            Err(e) => {
                self.skills_status.set(Load::Failed(e.to_string()));
                return;
            }
        };
        let fetches = summaries.iter().filter(|s| s.is_executable()).map(|s| {
            let id = s.skill_id.clone();
            let volume = s.volume.clone();
            async move {
                let detail = api::get_skill(&id, (!volume.is_empty()).then_some(volume.as_str()))
                    .await
                    .map_err(|e| e.to_string());
                (id, detail)
            }
        });
        let details: HashMap<_, _> = futures::future::join_all(fetches)
            .await
            .into_iter()
            .collect();
        let mut index = SkillIndex::new(summaries, &details);
        index.set_broken(broken);
        self.skills.set(Rc::new(index));
        self.skills_status.set(Load::Ready(()));
    }

    pub fn reload_skills(self) {
        self.spawn(self.load_skills());
    }

    // -- Notices -------------------------------------------------------------

    /// Shows a notice; informational ones disappear after a few seconds,
    /// errors stay until dismissed.
    pub fn notify(self, kind: NoticeKind, text: impl Into<String>) {
        let id = self.fresh_id();
        let text = text.into();
        self.notices.update(|list| {
            list.push(Notice { id, kind, text });
            // Keep the area small: only the latest few.
            let excess = list.len().saturating_sub(4);
            list.drain(..excess);
        });
        if kind != NoticeKind::Error {
            self.scope
                .run_in(|| set_timeout(6_000, move || self.dismiss(id)));
        }
    }

    pub fn error(self, text: impl Into<String>) {
        self.notify(NoticeKind::Error, text);
    }

    pub fn dismiss(self, id: u64) {
        if self.notices.is_alive() {
            self.notices.update(|list| list.retain(|n| n.id != id));
        }
    }

    // -- Navigation ----------------------------------------------------------

    pub fn show_page(self, page: Page) {
        self.page.set(page);
    }

    pub fn show_side(self, tab: SideTab) {
        self.side.set(tab);
        if tab == SideTab::Workflows && matches!(self.workflows.get_clone_untracked(), Load::Idle) {
            self.refresh_workflows();
        }
    }

    pub fn request_canvas(self, request: CanvasRequest) {
        self.canvas_request.set(Some(request));
    }

    // -- Selection -----------------------------------------------------------

    /// Selects one node; with `additive`, toggles it in the selection.
    pub fn select_node(self, id: &str, additive: bool) {
        self.selection.update(|s| {
            if additive {
                if !s.nodes.remove(id) {
                    s.nodes.insert(id.to_owned());
                }
            } else {
                s.nodes = BTreeSet::from([id.to_owned()]);
                s.edges.clear();
            }
        });
        self.canvas_message.set(None);
    }

    pub fn select_edge(self, index: usize, additive: bool) {
        self.selection.update(|s| {
            if additive {
                if !s.edges.remove(&index) {
                    s.edges.insert(index);
                }
            } else {
                s.nodes.clear();
                s.edges = BTreeSet::from([index]);
            }
        });
    }

    /// Replaces (or extends) the selection with these nodes.
    pub fn select_nodes(self, ids: Vec<String>, additive: bool) {
        self.selection.update(|s| {
            if !additive {
                s.nodes.clear();
                s.edges.clear();
            }
            s.nodes.extend(ids);
        });
    }

    pub fn select_all(self) {
        let ids: BTreeSet<String> = self
            .graph
            .with_untracked(|g| g.nodes().iter().map(|n| n.id.clone()).collect());
        self.selection.set(Selection {
            nodes: ids,
            edges: BTreeSet::new(),
        });
    }

    pub fn clear_selection(self) {
        if !self.selection.with_untracked(Selection::is_empty) {
            self.selection.set(Selection::default());
        }
        self.canvas_message.set(None);
    }

    /// Shows why a connection was refused.
    pub fn refuse_connection(self, reason: String) {
        self.canvas_message.set(Some(reason));
    }
}

/// Runs `f` once after `ms` milliseconds, in the current scope.
pub fn set_timeout(ms: i32, f: impl FnOnce() + 'static) {
    let scope = use_current_scope();
    let f = move || scope.run_in(f);
    let Some(window) = web_sys::window() else {
        return;
    };
    let callback = Closure::once_into_js(f);
    let _ =
        window.set_timeout_with_callback_and_timeout_and_arguments_0(callback.unchecked_ref(), ms);
}

/// `performance.now()` in milliseconds.
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}
