//! Helpers shared by the workflow tests: a small catalog of skills of every
//! runtime, a workflow builder and a test executor.
#![allow(dead_code)]

use llmos_core::types::{ExecutionMode, PortSpec, PortType, Runtime};
use llmos_core::workflow::{
    Catalog, Edge, JsonMap, Node, NodeCall, NodeError, NodeExecutor, PlannedNode, SkillSignature,
    Workflow,
};
use serde_json::{Value, json};

pub fn optional(name: &str, ty: PortType, default: Value) -> PortSpec {
    PortSpec {
        required: false,
        default: Some(default),
        ..PortSpec::new(name, ty)
    }
}

pub fn skill(
    id: &str,
    runtime: Runtime,
    inputs: Vec<PortSpec>,
    outputs: Vec<PortSpec>,
) -> SkillSignature {
    SkillSignature {
        skill_id: id.into(),
        runtime,
        execution_mode: if runtime == Runtime::WasmComponent {
            ExecutionMode::EdgeWasm
        } else {
            ExecutionMode::BrowserWasm
        },
        inputs,
        outputs,
        extra_inputs: None,
        commit: format!("{id}-c2"),
        compiled: false,
        component: None,
    }
}

/// Skills of every runtime:
/// - `source` (edge): → `value: number`
/// - `double` (edge): `x: number` → `y: number` (y = 2x)
/// - `fail` (edge): `x: number` → `y: number`, always fails
/// - `label` (edge): `text: string`, `suffix: string = "!"` → `out: string`
/// - `pair` (edge): `a: number`, `b: number` → `sum: number`
/// - `table` (edge): → `rows: array`, `info: object`, `flag: boolean`
/// - `plot` (python-wasm): `data: any`, `title: string = "Plot"` → `image: image`
/// - `script` (javascript): `x: any` → `y: any`
/// - `scene` (threejs): `shape: object` → `mesh: mesh`
/// - `sim` (spice): `netlist: string` → `wave: waveform`
/// - `no-exec` (edge, but no executor runs it)
pub fn catalog() -> Catalog {
    use PortType as T;
    use Runtime as R;
    [
        skill(
            "source",
            R::WasmComponent,
            vec![],
            vec![PortSpec::new("value", T::Number)],
        ),
        skill(
            "double",
            R::WasmComponent,
            vec![PortSpec::new("x", T::Number)],
            vec![PortSpec::new("y", T::Number)],
        ),
        skill(
            "fail",
            R::WasmComponent,
            vec![PortSpec::new("x", T::Number)],
            vec![PortSpec::new("y", T::Number)],
        ),
        skill(
            "label",
            R::WasmComponent,
            vec![
                PortSpec::new("text", T::String),
                optional("suffix", T::String, json!("!")),
            ],
            vec![PortSpec::new("out", T::String)],
        ),
        skill(
            "pair",
            R::WasmComponent,
            vec![PortSpec::new("a", T::Number), PortSpec::new("b", T::Number)],
            vec![PortSpec::new("sum", T::Number)],
        ),
        skill(
            "table",
            R::WasmComponent,
            vec![],
            vec![
                PortSpec::new("rows", T::Array),
                PortSpec::new("info", T::Object),
                PortSpec::new("flag", T::Boolean),
            ],
        ),
        skill(
            "plot",
            R::PythonWasm,
            vec![
                PortSpec::new("data", T::Any),
                optional("title", T::String, json!("Plot")),
            ],
            vec![PortSpec::new("image", T::Image)],
        ),
        skill(
            "script",
            R::Javascript,
            vec![PortSpec::new("x", T::Any)],
            vec![PortSpec::new("y", T::Any)],
        ),
        skill(
            "scene",
            R::Threejs,
            vec![PortSpec::new("shape", T::Object)],
            vec![PortSpec::new("mesh", T::Mesh)],
        ),
        skill(
            "sim",
            R::Spice,
            vec![PortSpec::new("netlist", T::String)],
            vec![PortSpec::new("wave", T::Waveform)],
        ),
        skill(
            "no-exec",
            R::WasmComponent,
            vec![],
            vec![PortSpec::new("value", T::Number)],
        ),
    ]
    .into_iter()
    .collect()
}

pub fn node(id: &str, skill_id: &str, params: Value) -> Node {
    let Value::Object(params) = params else {
        panic!("params must be an object")
    };
    Node {
        id: id.into(),
        skill_id: skill_id.into(),
        params,
        ..Node::default()
    }
}

pub fn edge(source: &str, source_port: &str, target: &str, target_port: &str) -> Edge {
    Edge {
        source: source.into(),
        source_port: source_port.into(),
        target: target.into(),
        target_port: target_port.into(),
        ..Edge::default()
    }
}

pub fn workflow(nodes: Vec<Node>, edges: Vec<Edge>) -> Workflow {
    Workflow {
        id: "wf".into(),
        name: "test".into(),
        nodes,
        edges,
        ..Workflow::default()
    }
}

/// Runs the edge skills of [`catalog`] and records which nodes it ran.
#[derive(Default)]
pub struct EdgeSkills {
    pub calls: Vec<(String, String)>,
}

impl NodeExecutor for EdgeSkills {
    fn can_execute(&self, node: &PlannedNode) -> bool {
        node.signature.runtime == Runtime::WasmComponent && &*node.skill_id != "no-exec"
    }

    fn execute(&mut self, call: NodeCall<'_>) -> Result<JsonMap, NodeError> {
        self.calls
            .push((call.node.id.to_string(), call.node.commit.to_string()));
        let num = |name: &str| call.inputs[name].as_f64().unwrap();
        let out = match &*call.node.skill_id {
            "source" => json!({"value": call.node.params.get("v").cloned().unwrap_or(json!(1))}),
            "double" => json!({"y": num("x") * 2.0}),
            "fail" => return Err(NodeError::new("boom", "the skill failed on purpose")),
            "label" => json!({"out": format!(
                "{}{}",
                call.inputs["text"].as_str().unwrap(),
                call.inputs["suffix"].as_str().unwrap()
            )}),
            "pair" => json!({"sum": num("a") + num("b")}),
            "table" => json!({"rows": [1, 2], "info": {"k": 1}, "flag": true}),
            other => panic!("no such edge skill {other}"),
        };
        let Value::Object(m) = out else {
            unreachable!()
        };
        Ok(m)
    }
}

/// Stands in for the browser's runtimes: echoes a fixed value per skill.
#[derive(Default)]
pub struct BrowserSkills {
    pub calls: Vec<String>,
}

impl NodeExecutor for BrowserSkills {
    fn can_execute(&self, node: &PlannedNode) -> bool {
        matches!(
            node.signature.runtime,
            Runtime::PythonWasm | Runtime::Javascript | Runtime::Threejs | Runtime::Spice
        )
    }

    fn execute(&mut self, call: NodeCall<'_>) -> Result<JsonMap, NodeError> {
        self.calls.push(call.node.id.to_string());
        let out = match &*call.node.skill_id {
            "plot" => json!({"image": "data:image/png;base64,AAAA"}),
            "script" => json!({"y": call.inputs["x"].clone()}),
            "scene" => json!({"mesh": {"vertices": []}}),
            "sim" => json!({"wave": {"time": [0.0], "signals": {"v": [1.0]}}}),
            other => panic!("no such browser skill {other}"),
        };
        let Value::Object(m) = out else {
            unreachable!()
        };
        Ok(m)
    }
}
