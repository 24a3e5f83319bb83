//! What the canvas draws: one box per node with its ports, one curve per
//! edge, and the validation messages attached to each, derived from the
//! [`Graph`], the skills the page knows and the engine's validation report.
//!
//! The scene is rebuilt when the graph, the skills or the report change
//! (never while a drag is in progress: a drag only offsets the dragged
//! boxes when drawing), so drawing a frame is a walk over plain data.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use llmos_core::types::{PortType, Runtime};
use llmos_core::workflow::builtin::MATH;
use llmos_core::workflow::{Issue, SkillSignature, ValidationReport};
use serde_json::Value;

use super::Graph;
use super::spatial::{Rect, SpatialGrid};

/// Width of a node box in world units.
pub const NODE_WIDTH: f64 = 190.0;
/// Height of the title band.
pub const HEADER: f64 = 26.0;
/// Space above the first port row.
pub const TOP_PAD: f64 = 4.0;
/// Height of one port row.
pub const ROW: f64 = 18.0;
/// Height of the status line under the ports (run status, duration).
pub const FOOTER: f64 = 20.0;
/// Radius of a port dot.
pub const PORT_RADIUS: f64 = 5.0;

/// What the canvas needs to know about a skill.
pub trait SkillLookup {
    /// The signature of the latest visible version (built-ins included).
    fn signature(&self, skill_id: &str) -> Option<Arc<SkillSignature>>;
    /// The human title (`name` of the skill file).
    fn title(&self, skill_id: &str) -> Option<String>;
}

/// The built-in nodes only: enough for tests.
#[cfg(test)]
pub struct BuiltinsOnly;

#[cfg(test)]
impl SkillLookup for BuiltinsOnly {
    fn signature(&self, skill_id: &str) -> Option<Arc<SkillSignature>> {
        llmos_core::workflow::builtin::signature(skill_id)
    }

    fn title(&self, _skill_id: &str) -> Option<String> {
        None
    }
}

/// One port of a node box.
#[derive(Debug, Clone, PartialEq)]
pub struct PortView {
    pub name: String,
    pub ty: PortType,
    /// Declared by the skill (not an extra input of math or merge).
    pub declared: bool,
    /// A required input without a default.
    pub required: bool,
}

/// One node box. Port lists and titles are shared by the nodes of a
/// skill (a 5,000-node scene would otherwise allocate every port name
/// thousands of times); a node with ports of its own gets its own copy.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeView {
    pub id: String,
    pub skill_id: Rc<str>,
    pub title: Rc<str>,
    pub rect: Rect,
    pub inputs: Rc<Vec<PortView>>,
    pub outputs: Rc<Vec<PortView>>,
    /// The type of a further input the node accepts under a new name
    /// (math variables, merge parts): drawn as a `+` slot below the inputs.
    pub new_input: Option<PortType>,
    /// Whether the skill was found; unknown skills are drawn hatched.
    pub known: bool,
    pub runtime: Option<Runtime>,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

/// Which side of a node a port is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Input,
    Output,
}

impl NodeView {
    fn input_rows(&self) -> usize {
        self.inputs.len() + usize::from(self.new_input.is_some())
    }

    /// The centre of input row `i` (row `inputs.len()` is the `+` slot).
    pub fn input_pos(&self, i: usize) -> (f64, f64) {
        (self.rect.x, self.row_y(i))
    }

    pub fn output_pos(&self, i: usize) -> (f64, f64) {
        (self.rect.right(), self.row_y(i))
    }

    /// Where an edge meets a port that the node does not have: the middle
    /// of the title band on that side.
    pub fn fallback_pos(&self, side: Side) -> (f64, f64) {
        let x = match side {
            Side::Input => self.rect.x,
            Side::Output => self.rect.right(),
        };
        (x, self.rect.y + HEADER / 2.0)
    }

    fn row_y(&self, i: usize) -> f64 {
        self.rect.y + HEADER + TOP_PAD + ROW * (i as f64 + 0.5)
    }

    pub fn input_index(&self, name: &str) -> Option<usize> {
        self.inputs.iter().position(|p| p.name == name)
    }

    pub fn output_index(&self, name: &str) -> Option<usize> {
        self.outputs.iter().position(|p| p.name == name)
    }

    /// The port whose dot is within `tolerance` of the point: inputs on
    /// the left edge (the `+` slot as index `inputs.len()`), outputs on
    /// the right.
    pub fn port_at(&self, x: f64, y: f64, tolerance: f64) -> Option<(Side, usize)> {
        let near =
            |(px, py): (f64, f64)| (px - x).abs() <= tolerance && (py - y).abs() <= ROW / 2.0;
        if let Some(i) = (0..self.input_rows()).find(|&i| near(self.input_pos(i))) {
            return Some((Side::Input, i));
        }
        (0..self.outputs.len())
            .find(|&i| near(self.output_pos(i)))
            .map(|i| (Side::Output, i))
    }
}

/// Height of a node box with these port counts.
pub fn node_height(input_rows: usize, outputs: usize) -> f64 {
    HEADER + TOP_PAD + ROW * input_rows.max(outputs).max(1) as f64 + FOOTER
}

/// One edge curve.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeView {
    /// Index in the workflow's `edges` (what validation messages name).
    pub index: usize,
    pub from: usize,
    pub from_port: Option<usize>,
    pub to: usize,
    pub to_port: Option<usize>,
    pub errors: Vec<String>,
}

/// Everything the canvas draws, with a spatial index over the node boxes.
#[derive(Debug, Clone, Default)]
pub struct Scene {
    pub nodes: Vec<NodeView>,
    pub edges: Vec<EdgeView>,
    /// Errors that concern the workflow as a whole (too many nodes …).
    pub general: Vec<String>,
    pub error_count: usize,
    pub warning_count: usize,
    index: HashMap<String, usize>,
    grid: SpatialGrid,
}

impl PartialEq for Scene {
    fn eq(&self, other: &Self) -> bool {
        self.nodes == other.nodes && self.edges == other.edges && self.general == other.general
    }
}

impl Scene {
    pub fn build(
        graph: &Graph,
        skills: &dyn SkillLookup,
        report: Option<&ValidationReport>,
    ) -> Scene {
        let n = graph.nodes().len();
        let mut index: HashMap<String, usize> = HashMap::with_capacity(n);
        for (i, node) in graph.nodes().iter().enumerate() {
            index.entry(node.id.clone()).or_insert(i);
        }
        // Input ports fed by edges, by target node; output ports read by
        // edges, by source node.
        let mut fed: Vec<Vec<&str>> = vec![Vec::new(); n];
        let mut read: Vec<Vec<&str>> = vec![Vec::new(); n];
        for edge in graph.edges() {
            if let Some(&t) = index.get(&edge.target) {
                fed[t].push(&edge.target_port);
            }
            if let Some(&s) = index.get(&edge.source) {
                read[s].push(&edge.source_port);
            }
        }
        // What nodes of one skill share, looked up once per skill.
        struct Shared {
            sig: Option<Arc<SkillSignature>>,
            title: Rc<str>,
            skill_id: Rc<str>,
            inputs: Rc<Vec<PortView>>,
            outputs: Rc<Vec<PortView>>,
        }
        let mut shared: HashMap<&str, Shared> = HashMap::new();
        let mut nodes: Vec<NodeView> = Vec::with_capacity(n);
        for (i, node) in graph.nodes().iter().enumerate() {
            let skill = shared.entry(node.skill_id.as_str()).or_insert_with(|| {
                let sig = skills.signature(&node.skill_id);
                let ports = |list: &[llmos_core::types::PortSpec], inputs: bool| {
                    Rc::new(
                        list.iter()
                            .map(|p| PortView {
                                name: p.name.clone(),
                                ty: p.ty,
                                declared: true,
                                required: inputs && p.required && p.default.is_none(),
                            })
                            .collect::<Vec<_>>(),
                    )
                };
                Shared {
                    inputs: ports(sig.as_ref().map_or(&[][..], |s| &s.inputs), true),
                    outputs: ports(sig.as_ref().map_or(&[][..], |s| &s.outputs), false),
                    title: Rc::from(
                        skills
                            .title(&node.skill_id)
                            .unwrap_or_else(|| default_title(&node.skill_id)),
                    ),
                    skill_id: Rc::from(node.skill_id.as_str()),
                    sig,
                }
            });
            let mut view = NodeView {
                id: node.id.clone(),
                skill_id: Rc::clone(&skill.skill_id),
                title: Rc::clone(&skill.title),
                rect: Rect::new(node.position.x, node.position.y, NODE_WIDTH, 0.0),
                inputs: Rc::clone(&skill.inputs),
                outputs: Rc::clone(&skill.outputs),
                new_input: None,
                known: skill.sig.is_some(),
                runtime: skill.sig.as_ref().map(|s| s.runtime),
                errors: Vec::new(),
                warnings: Vec::new(),
            };
            if let Some(sig) = &skill.sig {
                if let Some(ty) = sig.extra_inputs {
                    view.new_input = Some(ty);
                    for name in extra_input_names(node, sig, &fed[i]) {
                        Rc::make_mut(&mut view.inputs).push(PortView {
                            name,
                            ty,
                            declared: false,
                            required: false,
                        });
                    }
                } else {
                    // Edges into ports the skill does not declare still
                    // need a row, so that the user sees (and can delete)
                    // them.
                    for port in &fed[i] {
                        if view.input_index(port).is_none() {
                            Rc::make_mut(&mut view.inputs).push(PortView {
                                name: (*port).to_owned(),
                                ty: PortType::Any,
                                declared: false,
                                required: false,
                            });
                        }
                    }
                }
                for port in &read[i] {
                    if view.output_index(port).is_none() {
                        Rc::make_mut(&mut view.outputs).push(PortView {
                            name: (*port).to_owned(),
                            ty: PortType::Any,
                            declared: false,
                            required: false,
                        });
                    }
                }
            }
            nodes.push(view);
        }
        for v in &mut nodes {
            v.rect.h = node_height(v.input_rows(), v.outputs.len());
        }
        let mut edges = Vec::with_capacity(graph.edges().len());
        for (k, edge) in graph.edges().iter().enumerate() {
            let (Some(&from), Some(&to)) = (index.get(&edge.source), index.get(&edge.target))
            else {
                continue;
            };
            edges.push(EdgeView {
                index: k,
                from,
                from_port: nodes[from].output_index(&edge.source_port),
                to,
                to_port: nodes[to].input_index(&edge.target_port),
                errors: Vec::new(),
            });
        }
        let mut general = Vec::new();
        let (mut error_count, mut warning_count) = (0, 0);
        if let Some(report) = report {
            let edge_at: HashMap<usize, usize> = edges
                .iter()
                .enumerate()
                .map(|(i, e)| (e.index, i))
                .collect();
            let mut attach = |issue: &Issue, error: bool| {
                let mut placed = false;
                if let Some(e) = issue.edge.and_then(|k| edge_at.get(&k)) {
                    if error {
                        edges[*e].errors.push(issue.message.clone());
                    }
                    placed = true;
                }
                let mut targets: Vec<&str> = issue.nodes.iter().map(String::as_str).collect();
                if issue.edge.is_none()
                    && let Some(n) = &issue.node
                {
                    targets.push(n);
                }
                for id in targets {
                    if let Some(&i) = index.get(id) {
                        // On the node itself, "node `x`: " says nothing new.
                        let prefix = format!("node `{id}`: ");
                        let message = issue
                            .message
                            .strip_prefix(&prefix)
                            .unwrap_or(&issue.message)
                            .to_owned();
                        let list = if error {
                            &mut nodes[i].errors
                        } else {
                            &mut nodes[i].warnings
                        };
                        if !list.contains(&message) {
                            list.push(message);
                        }
                        placed = true;
                    }
                }
                if !placed && error {
                    general.push(issue.message.clone());
                }
            };
            for issue in &report.errors {
                attach(issue, true);
            }
            for issue in &report.warnings {
                attach(issue, false);
            }
            error_count = report.errors.len();
            warning_count = report.warnings.len();
        }
        let grid = SpatialGrid::new(nodes.iter().map(|n| n.rect).collect());
        Scene {
            nodes,
            edges,
            general,
            error_count,
            warning_count,
            index,
            grid,
        }
    }

    pub fn node_index(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    pub fn grid(&self) -> &SpatialGrid {
        &self.grid
    }

    /// Where edge `e` starts and ends.
    pub fn edge_ends(&self, e: &EdgeView) -> ((f64, f64), (f64, f64)) {
        let from = &self.nodes[e.from];
        let to = &self.nodes[e.to];
        (
            e.from_port
                .map_or_else(|| from.fallback_pos(Side::Output), |p| from.output_pos(p)),
            e.to_port
                .map_or_else(|| to.fallback_pos(Side::Input), |p| to.input_pos(p)),
        )
    }
}

/// What is under a point of the canvas.
#[derive(Debug, Clone, PartialEq)]
pub enum Hit {
    /// A port dot: node index, side and row.
    Port(super::connect::PortEnd),
    Node(usize),
    /// An edge, by index into [`Scene::edges`].
    Edge(usize),
    Empty,
}

/// The control points of the curve drawn for an edge from `a` to `b`.
pub fn edge_curve(a: (f64, f64), b: (f64, f64)) -> [(f64, f64); 4] {
    let dx = ((b.0 - a.0).abs() * 0.5).max(40.0);
    [a, (a.0 + dx, a.1), (b.0 - dx, b.1), b]
}

/// Distance from a point to the edge curve, sampled in 24 segments.
fn curve_distance(p: (f64, f64), curve: &[(f64, f64); 4]) -> f64 {
    let at = |t: f64| {
        let u = 1.0 - t;
        let (a, b, c, d) = (u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t);
        (
            a * curve[0].0 + b * curve[1].0 + c * curve[2].0 + d * curve[3].0,
            a * curve[0].1 + b * curve[1].1 + c * curve[2].1 + d * curve[3].1,
        )
    };
    let mut best = f64::INFINITY;
    let mut prev = at(0.0);
    for k in 1..=24 {
        let next = at(f64::from(k) / 24.0);
        best = best.min(segment_distance(p, prev, next));
        prev = next;
    }
    best
}

fn segment_distance(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    };
    let (x, y) = (a.0 + t * dx, a.1 + t * dy);
    ((p.0 - x).powi(2) + (p.1 - y).powi(2)).sqrt()
}

impl Scene {
    /// What is at world point `(x, y)`: a port within `tolerance` (world
    /// units, and only when `ports`: zoomed far out they are not drawn),
    /// else the topmost node, else an edge within `tolerance`.
    pub fn hit(&self, x: f64, y: f64, tolerance: f64, ports: bool) -> Hit {
        if let Some(end) = ports.then(|| self.port_at(x, y, tolerance)).flatten() {
            return Hit::Port(end);
        }
        if let Some(i) = self.grid.topmost_at(x, y) {
            return Hit::Node(i as usize);
        }
        self.edge_at(x, y, tolerance).map_or(Hit::Empty, Hit::Edge)
    }

    /// The port whose dot is within `tolerance` of the point.
    pub fn port_at(&self, x: f64, y: f64, tolerance: f64) -> Option<super::connect::PortEnd> {
        let mut near = Vec::new();
        self.grid.query(
            &Rect::new(
                x - tolerance,
                y - tolerance,
                2.0 * tolerance,
                2.0 * tolerance,
            ),
            &mut near,
        );
        near.iter().rev().find_map(|&i| {
            self.nodes[i as usize]
                .port_at(x, y, tolerance)
                .map(|(side, row)| super::connect::PortEnd {
                    node: i as usize,
                    side,
                    row,
                })
        })
    }

    /// The closest edge within `tolerance` of the point.
    pub fn edge_at(&self, x: f64, y: f64, tolerance: f64) -> Option<usize> {
        let mut best: Option<(f64, usize)> = None;
        for (k, e) in self.edges.iter().enumerate() {
            let (a, b) = self.edge_ends(e);
            let curve = edge_curve(a, b);
            let bounds = Rect::from_corners(a, b).inflate(curve[1].0 - a.0 + tolerance);
            if !bounds.contains(x, y) {
                continue;
            }
            let d = curve_distance((x, y), &curve);
            if d <= tolerance && best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, k));
            }
        }
        best.map(|(_, k)| k)
    }
}

/// A title for a skill the page has no name for: its id without the
/// `builtin:` prefix, e.g. `math`.
pub fn default_title(skill_id: &str) -> String {
    skill_id
        .strip_prefix(llmos_core::workflow::builtin::BUILTIN_PREFIX)
        .unwrap_or(skill_id)
        .to_owned()
}

/// Names of the undeclared inputs of a node whose skill accepts extra
/// inputs: math's expression variables (in order of appearance), then
/// undeclared params, then ports that edges feed (`fed`).
fn extra_input_names(
    node: &llmos_core::workflow::Node,
    sig: &SkillSignature,
    fed: &[&str],
) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        if sig.input(name).is_none() && !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    };
    if node.skill_id == MATH
        && let Some(Value::String(expr)) = node.params.get("expression")
    {
        for v in expression_variables(expr) {
            add(&v);
        }
    }
    for name in node.params.keys() {
        add(name);
    }
    for port in fed {
        add(port);
    }
    names
}

/// Named constants of the math node's expressions.
const MATH_CONSTANTS: [&str; 3] = ["PI", "E", "TAU"];

/// The variables of a math expression: identifiers that are neither a
/// constant nor called as a function, in order of first appearance.
pub fn expression_variables(expr: &str) -> Vec<String> {
    let bytes = expr.as_bytes();
    let mut vars: Vec<String> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_digit() || c == b'.' {
            // A number, exponent letters included (`1e3`, `2.5E-3`).
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.') {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let name = &expr[start..i];
            let called = expr[i..].trim_start().starts_with('(');
            if !called && !MATH_CONSTANTS.contains(&name) && !vars.iter().any(|v| v == name) {
                vars.push(name.to_owned());
            }
        } else {
            i += 1;
        }
    }
    vars
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmos_core::workflow::catalog::Catalog;
    use llmos_core::workflow::{Workflow, validate};

    fn graph(json: &str) -> Graph {
        Graph::new(Workflow::from_json(json).unwrap())
    }

    #[test]
    fn expression_variables_skip_functions_constants_and_numbers() {
        assert_eq!(
            expression_variables("a * b + sin(c) - PI * 2e3 + a"),
            ["a", "b", "c"]
        );
        assert_eq!(expression_variables("min (x, y_1) ^ 2.5E-3"), ["x", "y_1"]);
        assert!(expression_variables("").is_empty());
    }

    #[test]
    fn math_nodes_show_their_variables_and_a_new_input_slot() {
        let g = graph(
            r#"{"nodes": [
              {"id": "k", "skill_id": "builtin:constant", "params": {"value": 2}},
              {"id": "m", "skill_id": "builtin:math", "position": {"x": 300, "y": 0},
               "params": {"expression": "a * b"}}],
              "edges": [{"source": "k", "source_port": "value", "target": "m", "target_port": "b"}]}"#,
        );
        let s = Scene::build(&g, &BuiltinsOnly, None);
        let m = &s.nodes[s.node_index("m").unwrap()];
        let names: Vec<&str> = m.inputs.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["expression", "a", "b"]);
        assert_eq!(m.new_input, Some(PortType::Number));
        assert_eq!(m.rect.h, node_height(4, 1));
        assert_eq!(s.edges.len(), 1);
        assert_eq!(s.edges[0].to_port, Some(2));
        let ((x0, _), (x1, y1)) = s.edge_ends(&s.edges[0]);
        assert_eq!(x0, NODE_WIDTH);
        assert_eq!(x1, 300.0);
        assert_eq!(m.port_at(300.0, y1, 6.0), Some((Side::Input, 2)));
        let slot = m.input_pos(3);
        assert_eq!(m.port_at(slot.0 + 3.0, slot.1, 6.0), Some((Side::Input, 3)));
    }

    #[test]
    fn validation_issues_land_on_their_node_or_edge() {
        let g = graph(
            r#"{"nodes": [
              {"id": "k", "skill_id": "builtin:math", "params": {"expression": "1"}},
              {"id": "t", "skill_id": "builtin:transform", "params": {"input": {}}},
              {"id": "u", "skill_id": "nope"}],
              "edges": [{"source": "k", "source_port": "result", "target": "t", "target_port": "fields"}]}"#,
        );
        let report = validate(g.workflow(), &Catalog::new());
        assert!(!report.valid);
        let s = Scene::build(&g, &BuiltinsOnly, Some(&report));
        assert!(
            s.edges[0].errors.iter().any(|m| m.contains("cannot feed")),
            "{:?}",
            s.edges
        );
        let u = &s.nodes[2];
        assert!(!u.known);
        assert!(u.errors.iter().any(|m| m.contains("does not exist")));
        assert_eq!(s.error_count, report.errors.len());
    }

    #[test]
    fn hits_prefer_ports_then_nodes_then_edges() {
        let g = graph(
            r#"{"nodes": [
              {"id": "a", "skill_id": "builtin:constant", "position": {"x": 0, "y": 0}},
              {"id": "b", "skill_id": "builtin:constant", "position": {"x": 400, "y": 200}}],
              "edges": [{"source": "a", "source_port": "value", "target": "b", "target_port": "value"}]}"#,
        );
        let s = Scene::build(&g, &BuiltinsOnly, None);
        let a = &s.nodes[0];
        let (ox, oy) = a.output_pos(0);
        assert_eq!(
            s.hit(ox + 3.0, oy, 8.0, true),
            Hit::Port(crate::graph::connect::PortEnd {
                node: 0,
                side: Side::Output,
                row: 0
            })
        );
        assert_eq!(s.hit(50.0, 10.0, 8.0, true), Hit::Node(0));
        let (a_end, b_end) = s.edge_ends(&s.edges[0]);
        let mid = ((a_end.0 + b_end.0) / 2.0, (a_end.1 + b_end.1) / 2.0);
        assert_eq!(s.hit(mid.0, mid.1, 8.0, true), Hit::Edge(0));
        assert_eq!(s.hit(mid.0, mid.1 - 60.0, 8.0, true), Hit::Empty);
        // Zoomed out, ports are not drawn: the edge leaving the port is hit.
        assert_eq!(s.hit(ox + 3.0, oy, 8.0, false), Hit::Edge(0));
    }

    #[test]
    fn grid_finds_nodes_by_position() {
        let g = graph(
            r#"{"nodes": [
              {"id": "a", "skill_id": "builtin:constant", "position": {"x": 0, "y": 0}},
              {"id": "b", "skill_id": "builtin:constant", "position": {"x": 1000, "y": 800}}]}"#,
        );
        let s = Scene::build(&g, &BuiltinsOnly, None);
        assert_eq!(s.grid().topmost_at(1010.0, 810.0), Some(1));
        assert_eq!(s.grid().topmost_at(500.0, 500.0), None);
    }
}
