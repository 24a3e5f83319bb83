//! Property tests: acyclic graphs plan into levels that respect every edge;
//! graphs with a cycle are rejected with the cycle's nodes named; arbitrary
//! input never makes validation panic.

use std::collections::{HashMap, HashSet};

use llmos_core::workflow::{Catalog, Edge, IssueCode, Node, Workflow, validate};
use proptest::prelude::*;

fn merge_node(id: String) -> Node {
    Node {
        id,
        skill_id: "builtin:merge".into(),
        ..Node::default()
    }
}

/// A workflow of merge nodes (they accept any number of inputs) with one
/// edge per pair, each into its own input port.
fn build(ids: &[String], pairs: &[(usize, usize)]) -> Workflow {
    Workflow {
        id: "p".into(),
        nodes: ids.iter().cloned().map(merge_node).collect(),
        edges: pairs
            .iter()
            .enumerate()
            .map(|(k, &(s, t))| Edge {
                source: ids[s].clone(),
                source_port: "value".into(),
                target: ids[t].clone(),
                target_port: format!("in{k}"),
                ..Edge::default()
            })
            .collect(),
        ..Workflow::default()
    }
}

/// Node ids in a shuffled order (so file order is not topological) and
/// forward pairs `(i, j)`, `i < j` in topological rank.
fn dag() -> impl Strategy<Value = (Vec<String>, Vec<(usize, usize)>)> {
    (1usize..40).prop_flat_map(|n| {
        let ranks = Just((0..n).collect::<Vec<_>>()).prop_shuffle();
        let pairs = prop::collection::vec((0..n, 0..n), 0..(3 * n));
        (ranks, pairs).prop_map(move |(ranks, raw)| {
            // Node `ranks[r]` has topological rank r; an edge goes from the
            // lower rank to the higher one.
            let ids: Vec<String> = (0..n).map(|i| format!("n{i}")).collect();
            let pairs = raw
                .into_iter()
                .filter(|(a, b)| a != b)
                .map(|(a, b)| {
                    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
                    (ranks[lo], ranks[hi])
                })
                .collect();
            (ids, pairs)
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn acyclic_graphs_plan_into_levels_that_respect_every_edge((ids, pairs) in dag()) {
        let wf = build(&ids, &pairs);
        let report = validate(&wf, &Catalog::new());
        prop_assert!(report.valid, "{:#?}", report.errors);
        let mut level_of = HashMap::new();
        for (l, level) in report.levels.iter().enumerate() {
            prop_assert!(!level.is_empty());
            let pos = |id: &String| ids.iter().position(|x| x == id);
            prop_assert!(level.windows(2).all(|w| pos(&w[0]) < pos(&w[1])), "file order within a level");
            for id in level {
                prop_assert!(level_of.insert(id.clone(), l).is_none(), "{id} twice");
            }
        }
        prop_assert_eq!(level_of.len(), ids.len());
        for e in &wf.edges {
            prop_assert!(level_of[&e.source] < level_of[&e.target], "{} -> {}", e.source, e.target);
        }
        // Levels are longest paths: a node above level 0 has a predecessor
        // exactly one level up.
        for id in &ids {
            let l = level_of[id];
            let preds: Vec<usize> = wf.edges.iter().filter(|e| &e.target == id)
                .map(|e| level_of[&e.source]).collect();
            if l == 0 {
                prop_assert!(preds.is_empty());
            } else {
                prop_assert!(preds.contains(&(l - 1)));
            }
        }
    }

    #[test]
    fn graphs_with_a_cycle_are_rejected_naming_it(
        (ids, mut pairs) in dag(),
        cycle in prop::collection::vec(any::<prop::sample::Index>(), 2..6),
    ) {
        // Close a cycle through distinct nodes.
        let mut members: Vec<usize> = cycle.iter().map(|ix| ix.index(ids.len())).collect();
        members.dedup();
        let distinct: HashSet<usize> = members.iter().copied().collect();
        prop_assume!(distinct.len() == members.len() && members.len() >= 2);
        for k in 0..members.len() {
            pairs.push((members[k], members[(k + 1) % members.len()]));
        }
        let wf = build(&ids, &pairs);
        let report = validate(&wf, &Catalog::new());
        prop_assert!(!report.valid);
        prop_assert!(report.levels.is_empty());
        let edges: HashSet<(&str, &str)> = wf.edges.iter()
            .map(|e| (e.source.as_str(), e.target.as_str())).collect();
        let cycles: Vec<_> = report.errors.iter().filter(|e| e.code == IssueCode::Cycle).collect();
        prop_assert!(!cycles.is_empty());
        prop_assert_eq!(cycles.len(), report.errors.len(), "only cycle errors");
        for c in cycles {
            let named = &c.nodes;
            prop_assert!(named.len() >= 2);
            let unique: HashSet<&String> = named.iter().collect();
            prop_assert_eq!(unique.len(), named.len());
            for k in 0..named.len() {
                let (a, b) = (&named[k], &named[(k + 1) % named.len()]);
                prop_assert!(edges.contains(&(a.as_str(), b.as_str())), "{a} -> {b} is not an edge");
            }
            prop_assert_eq!(c.node.as_ref(), Some(&named[0]));
        }
    }

    #[test]
    fn validation_never_panics_and_points_at_real_things(
        nodes in prop::collection::vec(
            (prop::sample::select(vec!["a", "b", "c", "", "d d", "e"]),
             prop::sample::select(vec!["builtin:merge", "builtin:math", "builtin:constant",
                                       "builtin:json-path", "builtin:zz", "nope", "Bad"])),
            0..8),
        edges in prop::collection::vec(
            (prop::sample::select(vec!["a", "b", "c", "x"]),
             prop::sample::select(vec!["value", "result", "matches", "zz"]),
             prop::sample::select(vec!["a", "b", "c", "x"]),
             prop::sample::select(vec!["value", "input", "path", "expression", "p", "q"])),
            0..10),
    ) {
        let wf = Workflow {
            nodes: nodes.iter().map(|(id, skill)| Node {
                id: (*id).into(),
                skill_id: (*skill).into(),
                ..Node::default()
            }).collect(),
            edges: edges.iter().map(|(s, sp, t, tp)| Edge {
                source: (*s).into(),
                source_port: (*sp).into(),
                target: (*t).into(),
                target_port: (*tp).into(),
                ..Edge::default()
            }).collect(),
            ..Workflow::default()
        };
        let report = validate(&wf, &Catalog::new());
        prop_assert_eq!(report.valid, report.errors.is_empty());
        for issue in report.errors.iter().chain(&report.warnings) {
            prop_assert!(!issue.message.is_empty());
            if let Some(k) = issue.edge {
                prop_assert!(k < wf.edges.len());
            }
        }
        let value = serde_json::to_value(&report).unwrap();
        prop_assert_eq!(&value["valid"], &serde_json::Value::Bool(report.valid));
    }
}
