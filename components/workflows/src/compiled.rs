//! Compiled skills at the edge: the executor that runs a node's skill
//! component inside this component, with `llmos-skill-runtime`'s embedded
//! interpreter, under fuel and memory limits.
//!
//! A node runs here when its skill is compiled, it has a component and
//! its plan places it at the edge. The component is read by its git blob
//! id (the plan's [`ComponentRef`]) and parsed once per request however
//! many nodes use it ([`SkillRuntime::load_keyed`]); every call gets a
//! fresh instance. Before it runs, the component's own description of its
//! ports must match the skill file's (`component-ports-mismatch`, naming
//! the port), so a workflow that validated cannot feed it what it does not
//! expect. Failures keep the runtime's codes (`skill-out-of-fuel`,
//! `skill-out-of-memory`, `skill-trapped`, the skill's own `skill-…`
//! codes, `component-invalid`, …); what the skill printed is the node's
//! log either way.
//!
//! The limits are the Spin variables `skill_fuel` (interpreter fuel per
//! call, roughly one unit per instruction) and `skill_memory_mib` (the
//! largest linear memory of a call); see [`DEFAULT_FUEL`] for how the
//! default was chosen.

use llmos_core::workflow::{
    ComponentRef, JsonMap, NodeCall, NodeError, NodeExecutor, Placement, PlannedNode,
};
use llmos_guest::ApiError;
use llmos_skill_runtime::{Limits, SkillRuntime, check_ports};

/// Fuel of one call when `skill_fuel` is unset. Measured inside this
/// component under `llmos up` (the interpreter is itself compiled to wasm
/// and run by wasmtime) on a shared two-core machine: an endless loop
/// burns 135 to 150 million units a second (500 M: 3.4 s, 1 G: 7.9 s,
/// 2 G: 14.8 s), so the default stops one after a few seconds, and after
/// about 10 s on a machine three times slower: well before the host's
/// 30 s request deadline. Real work fits: squaring a number, instantiation
/// included, takes about 10 ms.
pub const DEFAULT_FUEL: u64 = 500_000_000;

/// Largest linear memory of one call when `skill_memory_mib` is unset.
pub const DEFAULT_MEMORY_MIB: u64 = 128;

/// Most memory a call may be given, whatever the variable says: the
/// component runs inside a request whose own memory the host caps too.
pub const MAX_MEMORY_MIB: u64 = 2048;

/// The variable names, as spin.toml declares them.
pub const FUEL_VARIABLE: &str = "skill_fuel";
pub const MEMORY_VARIABLE: &str = "skill_memory_mib";

/// The limits a call runs under, from variables read with `get` (`None`
/// or blank for an unset one): 503 `invalid-configuration` for a value
/// that is not a positive whole number in range.
pub fn limits_from(get: impl Fn(&str) -> Option<String>) -> Result<Limits, ApiError> {
    let read = |name: &str, default: u64, max: u64| -> Result<u64, ApiError> {
        let Some(raw) = get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
        else {
            return Ok(default);
        };
        raw.replace('_', "")
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                ApiError::unavailable(
                    "invalid-configuration",
                    format!("variable {name} must be a whole number from 1 to {max}, got `{raw}`"),
                )
            })
    };
    let fuel = read(FUEL_VARIABLE, DEFAULT_FUEL, u64::MAX)?;
    let memory_mib = read(MEMORY_VARIABLE, DEFAULT_MEMORY_MIB, MAX_MEMORY_MIB)?;
    Ok(Limits {
        fuel,
        max_memory_bytes: usize::try_from(memory_mib << 20).unwrap_or(usize::MAX),
        ..Limits::default()
    })
}

/// The limits from this component's Spin variables.
pub fn limits() -> Result<Limits, ApiError> {
    limits_from(|name| spin_sdk::variables::get(name).ok())
}

/// Whether a node runs in [`ComponentExecutor`]: a compiled skill with a
/// component, placed at the edge.
pub fn runs_here(node: &PlannedNode) -> bool {
    node.placement == Placement::Edge && node.signature.runs_anywhere()
}

/// Runs compiled nodes placed at the edge. `fetch` reads a component's
/// bytes by its git blob id; it is called once per component.
pub struct ComponentExecutor<F> {
    runtime: SkillRuntime,
    fetch: F,
    log: Option<String>,
}

impl<F> ComponentExecutor<F>
where
    F: FnMut(&ComponentRef) -> anyhow::Result<Vec<u8>>,
{
    pub fn new(limits: Limits, fetch: F) -> Self {
        ComponentExecutor {
            runtime: SkillRuntime::new(limits),
            fetch,
            log: None,
        }
    }

    fn run(&mut self, call: NodeCall<'_>) -> Result<JsonMap, NodeError> {
        let node = call.node;
        let signature = &node.signature;
        let Some(component) = &signature.component else {
            return Err(NodeError::new(
                "component-not-built",
                format!("skill `{}` has no built component", node.skill_id),
            ));
        };
        let ComponentExecutor { runtime, fetch, .. } = self;
        let loaded = match runtime.load_keyed(&component.blob, || fetch(component)) {
            Ok(Ok(loaded)) => loaded,
            Ok(Err(e)) => {
                return Err(NodeError::new(
                    e.code(),
                    format!(
                        "component {} of skill `{}`: {e}",
                        component.sha256, node.skill_id
                    ),
                ));
            }
            Err(e) => {
                return Err(NodeError::new(
                    "component-unreadable",
                    format!(
                        "component {} of skill `{}` cannot be read (blob {}): {e:#}",
                        component.sha256, node.skill_id, component.blob
                    ),
                ));
            }
        };
        if loaded.sha256() != component.sha256 {
            return Err(NodeError::new(
                "component-mismatch",
                format!(
                    "blob {} of skill `{}` holds component {}, not {}",
                    component.blob,
                    node.skill_id,
                    loaded.sha256(),
                    component.sha256
                ),
            ));
        }
        if let Err(mismatch) =
            check_ports(&loaded.description, &signature.inputs, &signature.outputs)
        {
            return Err(NodeError::new(
                "component-ports-mismatch",
                format!(
                    "port `{}`: {mismatch}; rebuild the component of skill `{}`",
                    mismatch.port(),
                    node.skill_id
                ),
            ));
        }
        match self.runtime.run(&loaded, call.inputs) {
            Ok(outcome) => {
                self.log = Some(outcome.log);
                Ok(outcome.outputs)
            }
            Err(failure) => {
                self.log = Some(failure.log);
                let limit = match failure.error.code() {
                    "skill-out-of-fuel" => {
                        format!(" (the Spin variable `{FUEL_VARIABLE}` sets the budget)")
                    }
                    "skill-out-of-memory" => {
                        format!(" (the Spin variable `{MEMORY_VARIABLE}` sets the limit)")
                    }
                    _ => String::new(),
                };
                Err(NodeError::new(
                    failure.error.code(),
                    format!("{}{limit}", failure.error),
                ))
            }
        }
    }
}

impl<F> NodeExecutor for ComponentExecutor<F>
where
    F: FnMut(&ComponentRef) -> anyhow::Result<Vec<u8>>,
{
    fn can_execute(&self, node: &PlannedNode) -> bool {
        runs_here(node)
    }

    fn execute(&mut self, call: NodeCall<'_>) -> Result<JsonMap, NodeError> {
        self.log = None;
        self.run(call)
    }

    fn take_log(&mut self) -> Option<String> {
        self.log.take().filter(|l| !l.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::path::PathBuf;
    use std::rc::Rc;

    use llmos_core::skill::component::sha256_hex;
    use llmos_core::types::{ExecutionMode, PortSpec, PortType, Runtime};
    use llmos_core::workflow::{
        Catalog, Executors, ManualClock, NodeStatus, RunReport, SkillSignature, Workflow, execute,
        plan,
    };
    use serde_json::{Value, json};

    use super::*;

    /// The fixture component `tests/components/workflow-skill`, built for
    /// `wasm32-wasip2` beforehand.
    fn fixture() -> Vec<u8> {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
        let path = target.join("wasm32-wasip2/release/workflow_skill.wasm");
        std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{} cannot be read ({e}); build it first with:\n    \
                 cargo build --target wasm32-wasip2 --release -p workflow-skill",
                path.display()
            )
        })
    }

    const BLOB: &str = "0123456789abcdef0123456789abcdef01234567";

    /// The fixture's skill: `x: number`, `mode: string` (optional) →
    /// `y: number`, or with other outputs when given.
    fn signature(bytes: &[u8], outputs: Vec<PortSpec>) -> SkillSignature {
        SkillSignature {
            skill_id: "square".into(),
            runtime: Runtime::WasmComponent,
            execution_mode: ExecutionMode::EdgeWasm,
            inputs: vec![
                PortSpec::new("x", PortType::Number),
                PortSpec {
                    required: false,
                    ..PortSpec::new("mode", PortType::String)
                },
            ],
            outputs,
            extra_inputs: None,
            commit: "c1".into(),
            compiled: true,
            component: Some(ComponentRef {
                sha256: sha256_hex(bytes),
                blob: BLOB.into(),
                fresh: true,
            }),
        }
    }

    fn y() -> Vec<PortSpec> {
        vec![PortSpec::new("y", PortType::Number)]
    }

    /// Runs `nodes` (`[(id, mode)]`, each with `x = 3` from one constant)
    /// at the edge with the fixture; returns the report and how often the
    /// component's bytes were fetched.
    fn run(
        nodes: &[(&str, &str)],
        signature: SkillSignature,
        limits: Limits,
        bytes: Vec<u8>,
    ) -> (RunReport, usize) {
        let mut list =
            vec![json!({"id": "k", "skill_id": "builtin:constant", "params": {"value": 3}})];
        let mut edges = Vec::new();
        for (id, mode) in nodes {
            list.push(json!({"id": id, "skill_id": "square", "params": {"mode": mode}}));
            edges.push(
                json!({"source": "k", "source_port": "value", "target": id, "target_port": "x"}),
            );
        }
        let wf = Workflow::from_value(json!({"id": "w", "nodes": list, "edges": edges})).unwrap();
        let catalog: Catalog = [signature].into_iter().collect();
        let (plan, _) = plan(&wf, &catalog).unwrap_or_else(|r| panic!("{:#?}", r.errors));
        let fetched = Rc::new(Cell::new(0));
        let counter = Rc::clone(&fetched);
        let components = ComponentExecutor::new(limits, move |c: &ComponentRef| {
            counter.set(counter.get() + 1);
            assert_eq!(c.blob, BLOB);
            Ok(bytes.clone())
        });
        let mut executors = Executors::builtin().with(Box::new(components));
        let report = execute(
            &plan,
            Placement::Edge,
            None,
            &mut executors,
            &ManualClock::default(),
        )
        .unwrap();
        (report, fetched.get())
    }

    fn error(report: &RunReport, id: &str) -> (String, String) {
        let node = &report.nodes[id];
        assert_eq!(node.status, NodeStatus::Failed, "{node:?}");
        (
            node.error_code.clone().unwrap_or_default(),
            node.error.clone().unwrap_or_default(),
        )
    }

    #[test]
    fn a_compiled_node_runs_its_component_and_keeps_its_log() {
        let bytes = fixture();
        let sha = sha256_hex(&bytes);
        let (report, fetched) = run(
            &[("a", "square"), ("b", "square"), ("c", "fail")],
            signature(&bytes, y()),
            Limits::default(),
            bytes,
        );
        assert_eq!(fetched, 1, "one component, read and parsed once");
        for id in ["a", "b"] {
            let node = &report.nodes[id];
            assert_eq!(node.status, NodeStatus::Done, "{node:?}");
            assert_eq!(node.placement, Placement::Edge);
            assert_eq!(node.outputs["y"], json!(9));
            assert_eq!(node.component.as_deref(), Some(sha.as_str()));
            let log = node.log.as_deref().unwrap_or_default();
            assert!(log.contains("squaring 3") && log.contains("y = 9"), "{log}");
        }
        let (code, message) = error(&report, "c");
        assert_eq!(code, "skill-negative-input");
        assert_eq!(message, "refusing 3");
        assert_eq!(report.nodes["c"].log, None, "it printed nothing");
    }

    #[test]
    fn an_endless_loop_runs_out_of_fuel_and_names_the_variable() {
        let bytes = fixture();
        let limits = Limits {
            fuel: 20_000_000,
            ..Limits::default()
        };
        let started = std::time::Instant::now();
        let (report, _) = run(
            &[("l", "loop"), ("a", "square")],
            signature(&bytes, y()),
            limits,
            bytes,
        );
        let (code, message) = error(&report, "l");
        assert_eq!(code, "skill-out-of-fuel");
        assert!(
            message.contains("20000000") && message.contains("skill_fuel"),
            "{message}"
        );
        assert_eq!(
            report.nodes["a"].status,
            NodeStatus::Done,
            "the next call has its own fuel"
        );
        assert!(started.elapsed().as_secs() < 60);
    }

    #[test]
    fn a_memory_bomb_hits_the_memory_limit() {
        let bytes = fixture();
        let limits = Limits {
            max_memory_bytes: 16 << 20,
            ..Limits::default()
        };
        let (report, _) = run(&[("m", "memory")], signature(&bytes, y()), limits, bytes);
        let (code, message) = error(&report, "m");
        assert_eq!(code, "skill-out-of-memory");
        assert!(message.contains(&(16u64 << 20).to_string()), "{message}");
        assert!(message.contains("skill_memory_mib"), "{message}");
    }

    #[test]
    fn ports_that_disagree_with_the_skill_file_fail_the_node_naming_the_port() {
        let bytes = fixture();
        let outputs = vec![
            PortSpec::new("y", PortType::Number),
            PortSpec::new("z", PortType::Number),
        ];
        let (report, _) = run(
            &[("a", "square")],
            signature(&bytes, outputs),
            Limits::default(),
            bytes.clone(),
        );
        let (code, message) = error(&report, "a");
        assert_eq!(code, "component-ports-mismatch");
        assert!(message.starts_with("port `z`"), "{message}");

        let mut typed = signature(&bytes, vec![PortSpec::new("y", PortType::String)]);
        typed.skill_id = "square".into();
        let (report, _) = run(&[("a", "square")], typed, Limits::default(), bytes);
        let (code, message) = error(&report, "a");
        assert_eq!(code, "component-ports-mismatch");
        assert!(
            message.contains("`y`") && message.contains("string"),
            "{message}"
        );
    }

    #[test]
    fn bytes_that_are_not_the_planned_component_fail_with_a_code() {
        let bytes = fixture();
        let sig = signature(&bytes, y());
        let (report, _) = run(
            &[("a", "square")],
            sig.clone(),
            Limits::default(),
            b"not wasm".to_vec(),
        );
        assert_eq!(error(&report, "a").0, "component-invalid");

        // A valid component under another hash than the plan names.
        let mut other = sig.clone();
        if let Some(c) = other.component.as_mut() {
            c.sha256 = "0".repeat(64);
        }
        let (report, _) = run(&[("a", "square")], other, Limits::default(), bytes);
        let (code, message) = error(&report, "a");
        assert_eq!(code, "component-mismatch");
        assert!(message.contains(BLOB), "{message}");
    }

    #[test]
    fn an_unreadable_component_fails_only_its_node() {
        let bytes = fixture();
        let wf = Workflow::from_value(json!({"id": "w", "nodes": [
            {"id": "a", "skill_id": "square", "params": {"x": 2}},
            {"id": "k", "skill_id": "builtin:constant", "params": {"value": 1}}]}))
        .unwrap();
        let catalog: Catalog = [signature(&bytes, y())].into_iter().collect();
        let (plan, _) = plan(&wf, &catalog).unwrap();
        let components = ComponentExecutor::new(Limits::default(), |_: &ComponentRef| {
            anyhow::bail!("the blob is gone")
        });
        let mut executors = Executors::builtin().with(Box::new(components));
        let report = execute(
            &plan,
            Placement::Edge,
            None,
            &mut executors,
            &ManualClock::default(),
        )
        .unwrap();
        let (code, message) = error(&report, "a");
        assert_eq!(code, "component-unreadable");
        assert!(
            message.contains("the blob is gone") && message.contains(BLOB),
            "{message}"
        );
        assert_eq!(report.nodes["k"].status, NodeStatus::Done);
    }

    #[test]
    fn only_compiled_nodes_placed_at_the_edge_run_here() {
        let bytes = fixture();
        let wf = Workflow::from_value(json!({"id": "w", "nodes": [
            {"id": "a", "skill_id": "square", "params": {"x": 2}, "where": "browser"}]}))
        .unwrap();
        let catalog: Catalog = [signature(&bytes, y())].into_iter().collect();
        let (plan, _) = plan(&wf, &catalog).unwrap();
        assert!(!runs_here(&plan.nodes[0]));
        let components = ComponentExecutor::new(
            Limits::default(),
            |_: &ComponentRef| -> anyhow::Result<Vec<u8>> {
                panic!("a browser node is not fetched at the edge")
            },
        );
        let mut executors = Executors::builtin().with(Box::new(components));
        let report = execute(
            &plan,
            Placement::Edge,
            None,
            &mut executors,
            &ManualClock::default(),
        )
        .unwrap();
        let a = &report.nodes["a"];
        assert_eq!(a.status, NodeStatus::Pending);
        assert_eq!(a.placement, Placement::Browser);
        assert_eq!(a.component_blob.as_deref(), Some(BLOB));
        assert_eq!(
            a.inputs.as_ref().map(|i| i["x"].clone()),
            Some(Value::from(2))
        );
    }

    #[test]
    fn limits_come_from_variables_with_defaults() {
        let none = limits_from(|_| None).unwrap();
        assert_eq!(none.fuel, DEFAULT_FUEL);
        assert_eq!(none.max_memory_bytes as u64, DEFAULT_MEMORY_MIB << 20);
        assert_eq!(
            none.max_table_elements,
            Limits::default().max_table_elements
        );
        let set = limits_from(|name| {
            Some(match name {
                FUEL_VARIABLE => " 1_000 ".to_owned(),
                MEMORY_VARIABLE => "64".to_owned(),
                _ => String::new(),
            })
        })
        .unwrap();
        assert_eq!((set.fuel, set.max_memory_bytes), (1000, 64 << 20));
        assert_eq!(
            limits_from(|_| Some(" ".into())).unwrap(),
            none,
            "blank is unset"
        );
        for (name, value) in [
            (FUEL_VARIABLE, "lots"),
            (FUEL_VARIABLE, "0"),
            (FUEL_VARIABLE, "-5"),
            (MEMORY_VARIABLE, "4096"),
            (MEMORY_VARIABLE, "1.5"),
        ] {
            let err = limits_from(|n| (n == name).then(|| value.to_owned())).unwrap_err();
            assert_eq!(
                (err.status, &*err.code),
                (503, "invalid-configuration"),
                "{name}={value}"
            );
            assert!(
                err.message.contains(name) && err.message.contains(value),
                "{}",
                err.message
            );
        }
    }
}
