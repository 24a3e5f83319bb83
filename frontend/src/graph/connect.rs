//! Whether an output may be connected to an input, and why not: the
//! engine's compatibility table ([`llmos_core::workflow::compat`]) plus the
//! structural rules validation would report afterwards (one edge per
//! input, no self-loops, no cycles). The canvas refuses a refused
//! connection at once and shows the reason.

use std::collections::{HashMap, HashSet};

use llmos_core::types::PortType;
use llmos_core::workflow::{Compatibility, Edge, compatibility};

use super::Graph;
use super::scene::{Scene, Side};

/// One end of a connection being drawn: a node and one of its ports.
#[derive(Debug, Clone, PartialEq)]
pub struct PortEnd {
    /// Index of the node in the scene.
    pub node: usize,
    pub side: Side,
    /// Row of the port; for an input, `inputs.len()` is the `+` slot.
    pub row: usize,
}

/// The edge a connection would create, or why it is refused.
pub fn check(
    graph: &Graph,
    scene: &Scene,
    a: &PortEnd,
    b: &PortEnd,
) -> Result<(Edge, Compatibility), String> {
    let (out, inp) = match (a.side, b.side) {
        (Side::Output, Side::Input) => (a, b),
        (Side::Input, Side::Output) => (b, a),
        (Side::Output, Side::Output) => {
            return Err("connect an output to an input, not to another output".into());
        }
        (Side::Input, Side::Input) => {
            return Err("connect an input to an output, not to another input".into());
        }
    };
    let source = &scene.nodes[out.node];
    let target = &scene.nodes[inp.node];
    if out.node == inp.node {
        return Err(format!("node `{}` cannot feed itself", source.id));
    }
    let out_port = source
        .outputs
        .get(out.row)
        .ok_or_else(|| format!("node `{}` has no such output", source.id))?;
    let (in_name, in_ty) = match target.inputs.get(inp.row) {
        Some(p) => (p.name.clone(), p.ty),
        None => {
            let ty = target
                .new_input
                .filter(|_| inp.row == target.inputs.len())
                .ok_or_else(|| format!("node `{}` has no such input", target.id))?;
            (
                new_input_name(
                    target.inputs.iter().map(|p| p.name.as_str()),
                    &out_port.name,
                    &source.id,
                ),
                ty,
            )
        }
    };
    let compat = compatibility(out_port.ty, in_ty);
    if compat == Compatibility::Incompatible {
        return Err(format!(
            "output `{}.{}` ({}) cannot feed input `{}.{}` ({}){}",
            source.id,
            out_port.name,
            out_port.ty,
            target.id,
            in_name,
            in_ty,
            hint(out_port.ty, in_ty)
        ));
    }
    if let Some(k) = graph.edge_into(&target.id, &in_name) {
        let e = &graph.edges()[k];
        return Err(format!(
            "input `{}.{}` already has an edge from `{}.{}`; delete it first",
            target.id, in_name, e.source, e.source_port
        ));
    }
    if let Some(path) = path_between(graph, &target.id, &source.id) {
        return Err(format!(
            "this edge would close a cycle: {} → {}",
            path.join(" → "),
            target.id
        ));
    }
    Ok((
        Edge {
            source: source.id.clone(),
            source_port: out_port.name.clone(),
            target: target.id.clone(),
            target_port: in_name,
            ..Edge::default()
        },
        compat,
    ))
}

/// What to do instead of a refused connection, where there is a usual way.
fn hint(from: PortType, to: PortType) -> &'static str {
    match (from, to) {
        (PortType::String, PortType::Number) => {
            "; text never becomes a number silently: parse it in a node"
        }
        (PortType::Number, PortType::Boolean) => "; compare it in a math node first",
        _ => "",
    }
}

/// A name for a new extra input fed by output `port` of node `source`:
/// the output's name when free, else the source node's id, else with a
/// numeric suffix; always a valid port name.
pub fn new_input_name<'a>(
    taken: impl Iterator<Item = &'a str> + Clone,
    port: &str,
    source: &str,
) -> String {
    let clean = |s: &str| -> String {
        let mut out: String = s
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
            out.insert(0, '_');
        }
        out
    };
    let free = |name: &str| !taken.clone().any(|t| t == name);
    for candidate in [clean(port), clean(source)] {
        if free(&candidate) {
            return candidate;
        }
    }
    let base = clean(port);
    (2..)
        .map(|n| format!("{base}_{n}"))
        .find(|c| free(c))
        .expect("an unused name exists among infinitely many")
}

/// A path of node ids `from → … → to` along existing edges, if any.
fn path_between(graph: &Graph, from: &str, to: &str) -> Option<Vec<String>> {
    if from == to {
        return Some(vec![from.to_owned()]);
    }
    let mut next: HashMap<&str, Vec<&str>> = HashMap::new();
    for e in graph.edges() {
        next.entry(e.source.as_str())
            .or_default()
            .push(e.target.as_str());
    }
    let mut parent: HashMap<&str, &str> = HashMap::new();
    let mut seen: HashSet<&str> = HashSet::from([from]);
    let mut queue = std::collections::VecDeque::from([from]);
    while let Some(v) = queue.pop_front() {
        for &w in next.get(v).into_iter().flatten() {
            if seen.insert(w) {
                parent.insert(w, v);
                if w == to {
                    let mut path = vec![w.to_owned()];
                    let mut at = w;
                    while let Some(&p) = parent.get(at) {
                        path.push(p.to_owned());
                        at = p;
                    }
                    path.reverse();
                    return Some(path);
                }
                queue.push_back(w);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::scene::BuiltinsOnly;
    use llmos_core::workflow::Workflow;

    fn setup() -> (Graph, Scene) {
        let g = Graph::new(
            Workflow::from_json(
                r#"{"nodes": [
                  {"id": "m", "skill_id": "builtin:math", "params": {"expression": "x"}},
                  {"id": "t", "skill_id": "builtin:transform"},
                  {"id": "n", "skill_id": "builtin:math", "params": {"expression": "x"}},
                  {"id": "j", "skill_id": "builtin:json-path"}],
                "edges": [{"source": "m", "source_port": "result", "target": "n", "target_port": "x"}]}"#,
            )
            .unwrap(),
        );
        let s = Scene::build(&g, &BuiltinsOnly, None);
        (g, s)
    }

    fn end(s: &Scene, id: &str, side: Side, port: &str) -> PortEnd {
        let node = s.node_index(id).unwrap();
        let v = &s.nodes[node];
        let row = match side {
            Side::Input => v.input_index(port).unwrap_or(v.inputs.len()),
            Side::Output => v.output_index(port).unwrap(),
        };
        PortEnd { node, side, row }
    }

    #[test]
    fn refuses_incompatible_types_with_both_ports_named() {
        let (g, s) = setup();
        let err = check(
            &g,
            &s,
            &end(&s, "m", Side::Output, "result"),
            &end(&s, "t", Side::Input, "fields"),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "output `m.result` (number) cannot feed input `t.fields` (object)"
        );
    }

    #[test]
    fn accepts_in_either_direction_and_widens_to_any() {
        let (g, s) = setup();
        let (edge, compat) = check(
            &g,
            &s,
            &end(&s, "j", Side::Input, "input"),
            &end(&s, "m", Side::Output, "result"),
        )
        .unwrap();
        assert_eq!(
            (edge.source.as_str(), edge.target_port.as_str()),
            ("m", "input")
        );
        assert_eq!(compat, Compatibility::Widen);
    }

    #[test]
    fn refuses_fed_inputs_self_loops_cycles_and_same_sides() {
        let (g, s) = setup();
        let fed = check(
            &g,
            &s,
            &end(&s, "j", Side::Output, "value"),
            &end(&s, "n", Side::Input, "x"),
        );
        assert!(fed.unwrap_err().contains("already has an edge"));
        let own = check(
            &g,
            &s,
            &end(&s, "m", Side::Output, "result"),
            &end(&s, "m", Side::Input, "x"),
        );
        assert!(own.unwrap_err().contains("cannot feed itself"));
        let cycle = check(
            &g,
            &s,
            &end(&s, "n", Side::Output, "result"),
            &end(&s, "m", Side::Input, "y"),
        );
        assert_eq!(
            cycle.unwrap_err(),
            "this edge would close a cycle: m → n → m"
        );
        let same = check(
            &g,
            &s,
            &end(&s, "n", Side::Output, "result"),
            &end(&s, "m", Side::Output, "result"),
        );
        assert!(same.unwrap_err().contains("not to another output"));
    }

    #[test]
    fn the_new_input_slot_names_the_input_after_the_source() {
        let (g, s) = setup();
        let (edge, compat) = check(
            &g,
            &s,
            &end(&s, "j", Side::Output, "value"),
            &end(&s, "n", Side::Input, "+"),
        )
        .unwrap();
        assert_eq!(edge.target_port, "value");
        assert_eq!(compat, Compatibility::Checked);
        let refused = check(
            &g,
            &s,
            &end(&s, "j", Side::Output, "matches"),
            &end(&s, "n", Side::Input, "+"),
        );
        assert!(refused.unwrap_err().contains("(array) cannot feed"));
        assert_eq!(
            new_input_name(["x", "value"].into_iter(), "value", "k-1"),
            "k_1"
        );
        assert_eq!(
            new_input_name(["x", "k_1", "value"].into_iter(), "value", "k-1"),
            "value_2"
        );
        assert_eq!(new_input_name([].into_iter(), "9a", "n"), "_9a");
    }
}
