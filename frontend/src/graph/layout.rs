//! Positions for workflows that come without them (a generated workflow,
//! a hand-written file): nodes in columns by dependency depth.

use std::collections::HashMap;

use llmos_core::workflow::Workflow;

use super::scene::NODE_WIDTH;

/// Horizontal distance between columns.
pub const COLUMN_GAP: f64 = 90.0;
/// Vertical distance between node tops in a column.
pub const ROW_PITCH: f64 = 150.0;

/// Whether the nodes need a layout: more than one node and all of them at
/// the same position (every missing position reads as the origin).
pub fn needs_layout(workflow: &Workflow) -> bool {
    let mut positions = workflow.nodes.iter().map(|n| (n.position.x, n.position.y));
    match positions.next() {
        Some(first) => workflow.nodes.len() > 1 && positions.all(|p| p == first),
        None => false,
    }
}

/// Places node `n` in column `depth(n)` (the longest edge path reaching
/// it; cycles are cut where they close) and rows in file order.
pub fn layout_by_depth(workflow: &mut Workflow) {
    let index: HashMap<&str, usize> = workflow
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let n = workflow.nodes.len();
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
    for e in &workflow.edges {
        if let (Some(&s), Some(&t)) = (index.get(e.source.as_str()), index.get(e.target.as_str()))
            && s != t
        {
            preds[t].push(s);
        }
    }
    // Iterative DFS with an on-stack mark, so cycles terminate.
    let mut depth: Vec<Option<usize>> = vec![None; n];
    let mut on_stack = vec![false; n];
    for root in 0..n {
        let mut stack = vec![(root, 0usize)];
        while let Some(&mut (v, ref mut next)) = stack.last_mut() {
            if depth[v].is_some() {
                stack.pop();
                continue;
            }
            on_stack[v] = true;
            if let Some(&p) = preds[v].get(*next) {
                *next += 1;
                if depth[p].is_none() && !on_stack[p] {
                    stack.push((p, 0));
                }
                continue;
            }
            let d = preds[v]
                .iter()
                .filter_map(|&p| depth[p])
                .map(|d| d + 1)
                .max()
                .unwrap_or(0);
            depth[v] = Some(d);
            on_stack[v] = false;
            stack.pop();
        }
    }
    let mut rows: HashMap<usize, usize> = HashMap::new();
    for (i, node) in workflow.nodes.iter_mut().enumerate() {
        let col = depth[i].unwrap_or(0);
        let row = rows.entry(col).or_insert(0);
        node.position.x = col as f64 * (NODE_WIDTH + COLUMN_GAP);
        node.position.y = *row as f64 * ROW_PITCH;
        *row += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_follow_dependency_depth_and_cycles_terminate() {
        let mut wf = Workflow::from_json(
            r#"{"nodes": [{"id": "c", "skill_id": "s"}, {"id": "a", "skill_id": "s"},
                {"id": "b", "skill_id": "s"}, {"id": "d", "skill_id": "s"}, {"id": "e", "skill_id": "s"}],
              "edges": [{"source": "a", "target": "b"}, {"source": "b", "target": "c"},
                {"source": "a", "target": "c"}, {"source": "d", "target": "e"}, {"source": "e", "target": "d"}]}"#,
        )
        .unwrap();
        assert!(needs_layout(&wf));
        layout_by_depth(&mut wf);
        let x = |id: &str| wf.node(id).unwrap().position.x;
        let col = NODE_WIDTH + COLUMN_GAP;
        assert_eq!((x("a"), x("b"), x("c")), (0.0, col, 2.0 * col));
        assert!(!needs_layout(&wf));
        // The two nodes of the cycle sit in different columns.
        assert_ne!(x("d"), x("e"));
    }
}
