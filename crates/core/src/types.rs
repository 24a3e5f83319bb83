//! Vocabulary shared by skills and workflows: the types of node ports, the
//! runtimes executable skills run in, and where they run.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The type of a value flowing along a workflow edge.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum PortType {
    Number,
    String,
    Boolean,
    Array,
    Object,
    /// An image: a data URL or `{width, height, pixels}`.
    Image,
    /// A 3D mesh or scene description for the Three.js preview.
    Mesh,
    /// Sampled signals: `{time: [...], signals: {name: [...]}}`.
    Waveform,
    /// Accepts or produces any JSON value.
    Any,
}

impl PortType {
    pub const ALL: [PortType; 9] = [
        PortType::Number,
        PortType::String,
        PortType::Boolean,
        PortType::Array,
        PortType::Object,
        PortType::Image,
        PortType::Mesh,
        PortType::Waveform,
        PortType::Any,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PortType::Number => "number",
            PortType::String => "string",
            PortType::Boolean => "boolean",
            PortType::Array => "array",
            PortType::Object => "object",
            PortType::Image => "image",
            PortType::Mesh => "mesh",
            PortType::Waveform => "waveform",
            PortType::Any => "any",
        }
    }
}

impl fmt::Display for PortType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the known values of an enumeration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}`; expected one of: {expected}")]
pub struct UnknownName {
    pub kind: &'static str,
    pub value: String,
    pub expected: String,
}

impl FromStr for PortType {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PortType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownName {
                kind: "port type",
                value: s.to_owned(),
                expected: PortType::ALL.map(PortType::as_str).join(", "),
            })
    }
}

/// The runtime an executable skill's code runs in.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Runtime {
    /// Python in Pyodide (browser) or CPython (native checks).
    PythonWasm,
    /// Plain JavaScript in a sandboxed worker.
    Javascript,
    /// A Three.js scene rendered into a preview.
    Threejs,
    /// A SPICE netlist simulated by ngspice.
    Spice,
    /// A compiled WASI component of the skill world.
    WasmComponent,
    /// A data node built into the workflow engine.
    Builtin,
}

impl Runtime {
    pub const ALL: [Runtime; 6] = [
        Runtime::PythonWasm,
        Runtime::Javascript,
        Runtime::Threejs,
        Runtime::Spice,
        Runtime::WasmComponent,
        Runtime::Builtin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::PythonWasm => "python-wasm",
            Runtime::Javascript => "javascript",
            Runtime::Threejs => "threejs",
            Runtime::Spice => "spice",
            Runtime::WasmComponent => "wasm-component",
            Runtime::Builtin => "builtin",
        }
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Runtime {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Runtime::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownName {
                kind: "skill type",
                value: s.to_owned(),
                expected: Runtime::ALL.map(Runtime::as_str).join(", "),
            })
    }
}

/// Where an executable skill runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ExecutionMode {
    /// In the user's browser, through WebAssembly.
    BrowserWasm,
    /// At the edge, as a WASI component inside the Spin app.
    EdgeWasm,
}

impl ExecutionMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionMode::BrowserWasm => "browser-wasm",
            ExecutionMode::EdgeWasm => "edge-wasm",
        }
    }
}

impl FromStr for ExecutionMode {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "browser-wasm" => Ok(ExecutionMode::BrowserWasm),
            "edge-wasm" => Ok(ExecutionMode::EdgeWasm),
            _ => Err(UnknownName {
                kind: "execution mode",
                value: s.to_owned(),
                expected: "browser-wasm, edge-wasm".to_owned(),
            }),
        }
    }
}

/// One typed input or output of an executable skill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PortSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: PortType,
    /// Inputs only: whether a value must arrive by edge or param. Inputs
    /// with a default are never required.
    #[serde(default = "default_required")]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl PortSpec {
    /// A required port without default or description.
    pub fn new(name: impl Into<String>, ty: PortType) -> Self {
        PortSpec {
            name: name.into(),
            ty,
            required: true,
            default: None,
            description: None,
        }
    }
}

fn default_required() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in PortType::ALL {
            assert_eq!(t.as_str().parse::<PortType>().unwrap(), t);
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        for r in Runtime::ALL {
            assert_eq!(r.as_str().parse::<Runtime>().unwrap(), r);
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
    }

    #[test]
    fn unknown_names_list_the_choices() {
        let err = "float".parse::<PortType>().unwrap_err();
        assert!(err.to_string().contains("number, string"), "{err}");
        assert!("ruby".parse::<Runtime>().is_err());
        assert!("cloud".parse::<ExecutionMode>().is_err());
    }
}
