//! Verification of workflow-run patterns by replay.
//!
//! A workflow-run trace records, in `details`, what replay needs:
//!
//! - `workflow`: the workflow JSON that ran (optional; the component may
//!   load it from the user's volume by `workflow_id` instead);
//! - `inputs`: the run inputs, `{node id: {port: value}}`;
//! - `outputs`: the outputs of the run, `{node id: {port: value}}`, or
//!   `nodes`: a run report's nodes (`{node id: {"status", "outputs", …}}`).
//!
//! [`replay`] runs the workflow at the edge on each case's inputs and
//! compares every recorded node output with the replay's. The pattern is
//! verified when at least one case could be compared and every compared
//! case matched; a node that cannot run here (a browser runtime), a
//! failure, or a difference leaves it unverified, with the reason.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::draft::Verification;
use crate::trace::{Outcome, Trace};
use crate::workflow::{
    JsonMap, ManualClock, NodeExecutor, NodeStatus, Placement, RunStatus, SkillCatalog, Workflow,
    execute, plan,
};

/// One recorded run to reproduce.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayCase {
    pub trace_id: String,
    pub inputs: JsonMap,
    /// Recorded outputs by node.
    pub outputs: BTreeMap<String, JsonMap>,
}

/// What a replay found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplayVerdict {
    pub verification: Verification,
    /// Cases compared.
    pub checked: usize,
    /// Cases whose outputs matched.
    pub matched: usize,
    /// Why the pattern is unverified, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The workflow a trace recorded inline, if any.
pub fn workflow_of(trace: &Trace) -> Option<Workflow> {
    trace
        .details
        .get("workflow")
        .cloned()
        .and_then(|v| Workflow::from_value(v).ok())
}

fn object_of_objects(value: &Value) -> Option<BTreeMap<String, JsonMap>> {
    let map = value.as_object()?;
    let mut out = BTreeMap::new();
    for (node, outputs) in map {
        out.insert(node.clone(), outputs.as_object()?.clone());
    }
    Some(out)
}

/// The replay case of a successful run trace that recorded its outputs.
pub fn replay_case(trace: &Trace) -> Option<ReplayCase> {
    if trace.outcome != Outcome::Success {
        return None;
    }
    let inputs = match trace.details.get("inputs") {
        None | Some(Value::Null) => JsonMap::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(_) => return None,
    };
    let outputs = match (trace.details.get("outputs"), trace.details.get("nodes")) {
        (Some(outputs), _) => object_of_objects(outputs)?,
        (None, Some(Value::Object(nodes))) => {
            let mut out = BTreeMap::new();
            for (node, run) in nodes {
                if let Some(Value::Object(outputs)) = run.get("outputs") {
                    out.insert(node.clone(), outputs.clone());
                }
            }
            out
        }
        _ => return None,
    };
    if outputs.is_empty() {
        return None;
    }
    Some(ReplayCase {
        trace_id: trace.trace_id.clone(),
        inputs,
        outputs,
    })
}

fn unverified(checked: usize, matched: usize, reason: String) -> ReplayVerdict {
    ReplayVerdict {
        verification: Verification::Unverified,
        checked,
        matched,
        reason: Some(reason),
    }
}

/// Replays `workflow` on every case.
pub fn replay(
    workflow: &Workflow,
    catalog: &dyn SkillCatalog,
    executor: &mut dyn NodeExecutor,
    cases: &[ReplayCase],
) -> ReplayVerdict {
    if cases.is_empty() {
        return unverified(
            0,
            0,
            "no source trace recorded inputs and outputs to replay".into(),
        );
    }
    let planned = match plan(workflow, catalog) {
        Ok((planned, _)) => planned,
        Err(report) => {
            let first = report
                .errors
                .first()
                .map_or_else(String::new, |e| format!(": {}", e.message));
            return unverified(0, 0, format!("the workflow does not validate{first}"));
        }
    };
    let clock = ManualClock::default();
    let mut matched = 0;
    for (checked, case) in cases.iter().enumerate() {
        let report = match execute(
            &planned,
            Placement::Edge,
            Some(&case.inputs),
            executor,
            &clock,
        ) {
            Ok(report) => report,
            Err(err) => {
                return unverified(
                    checked + 1,
                    matched,
                    format!("trace {}: {err}", case.trace_id),
                );
            }
        };
        if report.status != RunStatus::Done {
            let why = report
                .nodes
                .iter()
                .find(|(_, n)| n.status != NodeStatus::Done)
                .map(|(id, n)| match n.status {
                    NodeStatus::Pending => {
                        format!("node `{id}` runs in the {}, not here", n.placement.as_str())
                    }
                    _ => format!(
                        "node `{id}` {}",
                        n.error.clone().unwrap_or_else(|| "did not finish".into())
                    ),
                })
                .unwrap_or_default();
            return unverified(
                checked + 1,
                matched,
                format!("trace {}: the replay did not finish: {why}", case.trace_id),
            );
        }
        for (node, expected) in &case.outputs {
            let actual = report.nodes.get(node).map(|n| &n.outputs);
            if actual != Some(expected) {
                return unverified(
                    checked + 1,
                    matched,
                    format!(
                        "trace {}: node `{node}` gave different outputs than recorded",
                        case.trace_id
                    ),
                );
            }
        }
        matched += 1;
    }
    ReplayVerdict {
        verification: Verification::Verified,
        checked: cases.len(),
        matched,
        reason: None,
    }
}
