//! The component worker's one call, as plain Rust: run a skill component on
//! JSON inputs and answer JSON text. Pure (no browser API), so it is
//! tested natively against real components.
//!
//! # The call
//!
//! [`ComponentHost::run`] takes:
//!
//! - `sha256`: the component's expected SHA-256 (lowercase hex), from the
//!   skill's catalog entry;
//! - `bytes`: the component file, or `None` when this worker has run it
//!   before (the answer is `component-not-loaded` if it no longer has it,
//!   and the page sends the bytes again). Bytes whose hash is not
//!   `sha256` are refused with `component-hash-mismatch`;
//! - `inputs`: a JSON object of input values (defaults already applied);
//! - `limits`: optional JSON `{"fuel", "max_memory_bytes",
//!   "max_table_elements"}`, each optional, defaulting to the edge's
//!   ([`Limits::default`]);
//! - `ports`: optional JSON `{"inputs": [port…], "outputs": [port…]}`, the
//!   skill file's ports; when given, the component's `describe` must agree
//!   with them ([`check_ports`]), else `component-ports-mismatch`.
//!
//! It answers one line of JSON:
//!
//! ```text
//! {"ok":{"outputs":{…},"log":"…","fuel":123}}
//! {"error":{"code":"skill-out-of-fuel","message":"…","log":"…","fuel":500000000}}
//! ```
//!
//! `outputs` is serialised by serde_json from the runtime's own conversion
//! ([`llmos_skill_runtime::value`]), exactly as the edge serialises a
//! node's outputs, so its text is byte-identical to the edge's for the
//! same component and inputs. It always comes first in the answer, so a
//! reader can take its text without re-encoding it. Error codes are the
//! runtime's ([`LoadError::code`], [`RunError::code`]) plus the worker's
//! own: `component-not-loaded`, `component-hash-mismatch`,
//! `component-ports-mismatch` and `component-request-invalid`.
//!
//! [`LoadError::code`]: llmos_skill_runtime::LoadError::code
//! [`RunError::code`]: llmos_skill_runtime::RunError::code

use std::sync::Arc;

use llmos_core::skill::component::sha256_hex;
use llmos_core::types::PortSpec;
use llmos_skill_runtime::{Limits, LoadedSkill, SkillRuntime, check_ports};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One call of [`ComponentHost::run`]; see the module docs.
#[derive(Debug, Clone, Copy)]
pub struct RunCall<'a> {
    pub sha256: &'a str,
    pub bytes: Option<&'a [u8]>,
    pub inputs: &'a str,
    pub limits: Option<&'a str>,
    pub ports: Option<&'a str>,
}

/// Limits as the page may send them; missing ones are the edge's.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsSpec {
    fuel: Option<u64>,
    max_memory_bytes: Option<usize>,
    max_table_elements: Option<usize>,
}

impl LimitsSpec {
    fn resolve(self) -> Limits {
        let base = Limits::default();
        Limits {
            fuel: self.fuel.unwrap_or(base.fuel),
            max_memory_bytes: self.max_memory_bytes.unwrap_or(base.max_memory_bytes),
            max_table_elements: self.max_table_elements.unwrap_or(base.max_table_elements),
        }
    }
}

/// The skill file's ports, to check against the component's `describe`.
#[derive(Debug, Deserialize)]
struct PortsSpec {
    #[serde(default)]
    inputs: Vec<PortSpec>,
    #[serde(default)]
    outputs: Vec<PortSpec>,
}

/// The edge's default limits, as the JSON [`ComponentHost::run`] takes.
pub fn default_limits_json() -> String {
    let limits = Limits::default();
    serde_json::json!({
        "fuel": limits.fuel,
        "max_memory_bytes": limits.max_memory_bytes,
        "max_table_elements": limits.max_table_elements,
    })
    .to_string()
}

/// A successful answer; fields serialise in this order.
#[derive(Serialize)]
struct Success<'a> {
    outputs: &'a Map<String, Value>,
    log: &'a str,
    fuel: u64,
}

/// A failed answer.
#[derive(Debug, Serialize)]
struct Failure {
    code: String,
    message: String,
    log: String,
    fuel: u64,
}

impl Failure {
    fn new(code: &str, message: impl Into<String>) -> Failure {
        Failure {
            code: code.to_owned(),
            message: message.into(),
            log: String::new(),
            fuel: 0,
        }
    }
}

/// Why the bytes of a missed component could not be had.
enum Missing {
    NotSent,
    Mismatch(String),
}

/// Runs skill components and keeps them parsed by SHA-256 (the runtime's
/// cache) for as long as it lives.
#[derive(Debug, Default)]
pub struct ComponentHost {
    runtime: SkillRuntime,
}

impl ComponentHost {
    /// How many components this host has parsed (cache misses).
    #[cfg(test)]
    pub fn loads(&self) -> u64 {
        self.runtime.loads()
    }

    /// Runs one call and answers its JSON text (see the module docs).
    pub fn run(&mut self, call: RunCall<'_>) -> String {
        let answer = match self.try_run(call) {
            Ok(text) => return text,
            Err(failure) => serde_json::json!({ "error": failure }),
        };
        answer.to_string()
    }

    fn try_run(&mut self, call: RunCall<'_>) -> Result<String, Failure> {
        let limits = match call.limits {
            None => Limits::default(),
            Some(text) => serde_json::from_str::<LimitsSpec>(text)
                .map_err(|e| Failure::new("component-request-invalid", format!("limits: {e}")))?
                .resolve(),
        };
        if limits != self.runtime.limits() {
            // Parsed components belong to the engine of their limits; a
            // page that changes limits (tests do) starts a new cache.
            self.runtime = SkillRuntime::new(limits);
        }
        let expected = call.sha256.to_ascii_lowercase();
        if expected.len() != 64 || !expected.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Failure::new(
                "component-request-invalid",
                format!("`{}` is not a SHA-256 in hex", call.sha256),
            ));
        }
        let inputs: Map<String, Value> = serde_json::from_str(call.inputs).map_err(|e| {
            Failure::new(
                "component-request-invalid",
                format!("inputs: not a JSON object ({e})"),
            )
        })?;
        let ports = call
            .ports
            .map(serde_json::from_str::<PortsSpec>)
            .transpose()
            .map_err(|e| Failure::new("component-request-invalid", format!("ports: {e}")))?;

        let skill = self.load(&expected, call.bytes)?;
        if let Some(ports) = ports {
            check_ports(&skill.description, &ports.inputs, &ports.outputs).map_err(|e| {
                Failure::new(
                    "component-ports-mismatch",
                    format!("the component does not match its skill file: {e}"),
                )
            })?;
        }
        match self.runtime.run(&skill, &inputs) {
            Ok(outcome) => Ok(format!(
                "{{\"ok\":{}}}",
                serde_json::to_string(&Success {
                    outputs: &outcome.outputs,
                    log: &outcome.log,
                    fuel: outcome.fuel,
                })
                .expect("outputs are JSON values")
            )),
            Err(failure) => Err(Failure {
                code: failure.error.code().to_owned(),
                message: failure.error.to_string(),
                log: failure.log,
                fuel: failure.fuel,
            }),
        }
    }

    /// The component `sha256`, from the cache or from `bytes`.
    fn load(&mut self, sha256: &str, bytes: Option<&[u8]>) -> Result<Arc<LoadedSkill>, Failure> {
        // Keyed by the expected hash; the bytes are hashed (and so
        // checked) only on a miss, before the runtime ties the key to them.
        let fetched = self.runtime.load_keyed(sha256, || {
            let bytes = bytes.ok_or(Missing::NotSent)?;
            let actual = sha256_hex(bytes);
            if actual != sha256 {
                return Err(Missing::Mismatch(actual));
            }
            Ok(bytes.to_vec())
        });
        match fetched {
            Ok(Ok(skill)) => Ok(skill),
            Ok(Err(error)) => Err(Failure::new(error.code(), error.to_string())),
            Err(Missing::NotSent) => Err(Failure::new(
                "component-not-loaded",
                format!("this worker does not hold component {sha256}; send its bytes"),
            )),
            Err(Missing::Mismatch(actual)) => Err(Failure::new(
                "component-hash-mismatch",
                format!("the bytes sent for component {sha256} have the SHA-256 {actual}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a hand-written test component does in `execute`.
    #[derive(Debug, Clone, Copy)]
    enum Behaviour {
        /// Logs a line and returns its inputs as its outputs.
        Echo,
        /// Returns the skill error `bad-input`.
        Fail,
        /// Never returns.
        Spin,
    }

    /// Where the test component keeps its data and its heap.
    const DATA: u32 = 1024;
    const RET: u32 = 512;
    const HEAP: u32 = 16384;

    /// Address and length of a string in the test component's memory.
    type Span = (u32, u32);

    /// Static data of the test component, placed at [`DATA`]: strings,
    /// the `describe` record (canonical ABI layout) and the error strings.
    struct StaticData {
        bytes: Vec<u8>,
        /// The description record.
        record: u32,
        log: Span,
        code: Span,
        message: Span,
    }

    fn data(ports: &[(&str, u8, bool)]) -> StaticData {
        let mut bytes = Vec::new();
        let put = |bytes: &mut Vec<u8>, s: &[u8]| {
            let at = DATA + bytes.len() as u32;
            bytes.extend_from_slice(s);
            (at, s.len() as u32)
        };
        let name = put(&mut bytes, b"Echo");
        let version = put(&mut bytes, b"1.0.0");
        let log = put(&mut bytes, b"echo ran");
        let code = put(&mut bytes, b"bad-input");
        let message = put(&mut bytes, b"the input is refused");
        let names: Vec<(u32, u32)> = ports
            .iter()
            .map(|(n, _, _)| put(&mut bytes, n.as_bytes()))
            .collect();
        while bytes.len() % 4 != 0 {
            bytes.push(0);
        }
        // `port`: name (ptr, len), type (u8), required (u8), padded to 12.
        let list = DATA + bytes.len() as u32;
        for ((_, ty, required), (ptr, len)) in ports.iter().zip(&names) {
            bytes.extend_from_slice(&ptr.to_le_bytes());
            bytes.extend_from_slice(&len.to_le_bytes());
            bytes.extend_from_slice(&[*ty, u8::from(*required), 0, 0]);
        }
        // `skill-description`: name, version, inputs, outputs (the same
        // ports on both sides).
        let record = DATA + bytes.len() as u32;
        for (ptr, len) in [
            name,
            version,
            (list, ports.len() as u32),
            (list, ports.len() as u32),
        ] {
            bytes.extend_from_slice(&ptr.to_le_bytes());
            bytes.extend_from_slice(&len.to_le_bytes());
        }
        StaticData {
            bytes,
            record,
            log,
            code,
            message,
        }
    }

    /// A component of the skill world written in the WebAssembly text
    /// format: its ports are `x` (any) on both sides.
    fn component(behaviour: Behaviour) -> Vec<u8> {
        let StaticData {
            bytes,
            record,
            log,
            code,
            message,
        } = data(&[("x", 8, false)]);
        let escaped: String = bytes.iter().map(|b| format!("\\{b:02x}")).collect();
        let body = match behaviour {
            Behaviour::Echo => format!(
                "(call $log (i32.const {}) (i32.const {}))
                 (i32.store8 (i32.const {RET}) (i32.const 0))
                 (i32.store (i32.const {}) (local.get 0))
                 (i32.store (i32.const {}) (local.get 1))
                 (i32.const {RET})",
                log.0,
                log.1,
                RET + 4,
                RET + 8
            ),
            Behaviour::Fail => format!(
                "(i32.store8 (i32.const {RET}) (i32.const 1))
                 (i32.store (i32.const {}) (i32.const {}))
                 (i32.store (i32.const {}) (i32.const {}))
                 (i32.store (i32.const {}) (i32.const {}))
                 (i32.store (i32.const {}) (i32.const {}))
                 (i32.const {RET})",
                RET + 4,
                code.0,
                RET + 8,
                code.1,
                RET + 12,
                message.0,
                RET + 16,
                message.1
            ),
            Behaviour::Spin => "(loop $again (br $again)) (unreachable)".to_owned(),
        };
        let text = format!(
            r#"(component
  (import "llmos:skill/host@0.1.0" (instance $host (export "log" (func (param "message" string)))))
  (import "llmos:skill/types@0.1.0" (instance $types
    (type $n (variant (case "null") (case "boolean" bool) (case "number" f64) (case "text" string)
      (case "bytes" (list u8)) (case "array" (list u32)) (case "object" (list (tuple string u32)))))
    (export "node" (type $node (eq $n)))
    (type $v (record (field "nodes" (list $node))))
    (export "value" (type $value (eq $v)))
    (type $t (enum "number" "string" "boolean" "array" "object" "image" "mesh" "waveform" "any"))
    (export "port-type" (type $port-type (eq $t)))
    (type $p (record (field "name" string) (field "type" $port-type) (field "required" bool)))
    (export "port" (type $port (eq $p)))
    (type $d (record (field "name" string) (field "version" string)
      (field "inputs" (list $port)) (field "outputs" (list $port))))
    (export "skill-description" (type (eq $d)))
    (type $e (record (field "code" string) (field "message" string)))
    (export "skill-error" (type (eq $e)))))
  (alias export $types "value" (type $value))
  (alias export $types "skill-description" (type $description))
  (alias export $types "skill-error" (type $error))
  (core module $libc
    (memory (export "memory") 1)
    (global $heap (mut i32) (i32.const {HEAP}))
    (data (i32.const {DATA}) "{escaped}")
    (func (export "realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
      (local $at i32)
      (local.set $at (i32.and
        (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
        (i32.xor (i32.sub (local.get $align) (i32.const 1)) (i32.const -1))))
      (global.set $heap (i32.add (local.get $at) (local.get $size)))
      (block $fits
        (br_if $fits (i32.le_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536))))
        (br_if $fits (i32.ne (i32.const -1) (memory.grow
          (i32.add (i32.const 1) (i32.shr_u (global.get $heap) (i32.const 16))))))
        (unreachable))
      (if (local.get $old) (then (memory.copy (local.get $at) (local.get $old) (local.get $old_size))))
      (local.get $at)))
  (core instance $libc (instantiate $libc))
  (core func $log (canon lower (func $host "log") (memory (core memory $libc "memory"))))
  (core module $main
    (import "libc" "memory" (memory 1))
    (import "host" "log" (func $log (param i32 i32)))
    (func (export "describe") (result i32) (i32.const {record}))
    (func (export "execute") (param i32 i32) (result i32) {body}))
  (core instance $main (instantiate $main
    (with "libc" (instance $libc))
    (with "host" (instance (export "log" (func $log))))))
  (func $describe (result $description)
    (canon lift (core func $main "describe") (memory (core memory $libc "memory")) (realloc (core func $libc "realloc"))))
  (export "describe" (func $describe))
  (func $execute (param "inputs" (list (tuple string $value))) (result (result (list (tuple string $value)) (error $error)))
    (canon lift (core func $main "execute") (memory (core memory $libc "memory")) (realloc (core func $libc "realloc"))))
  (export "execute" (func $execute)))"#
        );
        wat::parse_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    fn call<'a>(
        sha256: &'a str,
        bytes: Option<&'a [u8]>,
        inputs: &'a str,
        limits: Option<&'a str>,
    ) -> RunCall<'a> {
        RunCall {
            sha256,
            bytes,
            inputs,
            limits,
            ports: None,
        }
    }

    fn parse(answer: &str) -> Value {
        serde_json::from_str(answer).unwrap_or_else(|e| panic!("{e}: {answer}"))
    }

    #[test]
    fn outputs_come_first_as_the_runtime_serialises_them() {
        let bytes = component(Behaviour::Echo);
        let sha = sha256_hex(&bytes);
        let inputs = r#"{"x": {"b": [1, 2.5, -0.0, 1e300, 9007199254740993], "a": "é \"q\""}}"#;
        let mut host = ComponentHost::default();
        let answer = host.run(call(&sha, Some(&bytes), inputs, None));

        // The same bytes and inputs run natively, straight on the runtime.
        let mut runtime = SkillRuntime::default();
        let skill = runtime.load(&bytes).unwrap();
        let outcome = runtime
            .run(&skill, &serde_json::from_str(inputs).unwrap())
            .unwrap();
        let outputs = serde_json::to_string(&outcome.outputs).unwrap();
        assert_eq!(
            answer,
            format!(
                "{{\"ok\":{{\"outputs\":{outputs},\"log\":\"echo ran\\n\",\"fuel\":{}}}}}",
                outcome.fuel
            )
        );
        // Object keys sorted, integral doubles (negative zero too) as
        // integers, 2^53 + 1 read as the nearest double.
        assert_eq!(
            outputs,
            r#"{"x":{"a":"é \"q\"","b":[1,2.5,0,1e+300,9007199254740992]}}"#
        );
        assert_eq!(outcome.log, "echo ran\n");
        assert!(outcome.fuel > 0);
    }

    #[test]
    fn a_component_is_parsed_once_and_then_runs_without_its_bytes() {
        let bytes = component(Behaviour::Echo);
        let sha = sha256_hex(&bytes);
        let mut host = ComponentHost::default();
        let first = parse(&host.run(call(&sha, Some(&bytes), r#"{"x": 1}"#, None)));
        assert_eq!(first["ok"]["outputs"], serde_json::json!({"x": 1}));
        let second = parse(&host.run(call(&sha.to_uppercase(), None, r#"{"x": 2}"#, None)));
        assert_eq!(second["ok"]["outputs"], serde_json::json!({"x": 2}));
        let third = parse(&host.run(call(&sha, Some(&bytes), "{}", None)));
        assert_eq!(third["ok"]["outputs"], serde_json::json!({}));
        assert_eq!(host.loads(), 1);
    }

    #[test]
    fn unknown_components_and_wrong_bytes_are_refused() {
        let bytes = component(Behaviour::Echo);
        let sha = sha256_hex(&bytes);
        let mut host = ComponentHost::default();
        let missing = parse(&host.run(call(&sha, None, "{}", None)));
        assert_eq!(missing["error"]["code"], "component-not-loaded");

        let other = "0".repeat(64);
        let wrong = parse(&host.run(call(&other, Some(&bytes), "{}", None)));
        assert_eq!(wrong["error"]["code"], "component-hash-mismatch");
        let message = wrong["error"]["message"].as_str().unwrap();
        assert!(message.contains(&sha), "{message}");
        // The refused bytes did not become component `000…`.
        let again = parse(&host.run(call(&other, None, "{}", None)));
        assert_eq!(again["error"]["code"], "component-not-loaded");
        assert_eq!(host.loads(), 0);

        let not_wasm = b"not a component";
        let not_wasm_sha = sha256_hex(not_wasm);
        let invalid = parse(&host.run(call(&not_wasm_sha, Some(not_wasm), "{}", None)));
        assert_eq!(invalid["error"]["code"], "component-invalid");
    }

    #[test]
    fn bad_requests_name_what_is_wrong() {
        let bytes = component(Behaviour::Echo);
        let sha = sha256_hex(&bytes);
        let mut host = ComponentHost::default();
        for (sha, inputs, limits, fragment) in [
            ("abc", "{}", None, "not a SHA-256"),
            (sha.as_str(), "[1]", None, "inputs: not a JSON object"),
            (sha.as_str(), "{}", Some(r#"{"fuel": -1}"#), "limits:"),
            (
                sha.as_str(),
                "{}",
                Some(r#"{"gas": 1}"#),
                "unknown field `gas`",
            ),
        ] {
            let answer = parse(&host.run(call(sha, Some(&bytes), inputs, limits)));
            assert_eq!(
                answer["error"]["code"], "component-request-invalid",
                "{answer}"
            );
            let message = answer["error"]["message"].as_str().unwrap();
            assert!(message.contains(fragment), "{message}");
        }
    }

    #[test]
    fn an_endless_loop_runs_out_of_fuel_at_the_given_budget() {
        let bytes = component(Behaviour::Spin);
        let sha = sha256_hex(&bytes);
        let mut host = ComponentHost::default();
        let answer = parse(&host.run(call(&sha, Some(&bytes), "{}", Some(r#"{"fuel": 100000}"#))));
        assert_eq!(answer["error"]["code"], "skill-out-of-fuel", "{answer}");
        assert_eq!(answer["error"]["fuel"], 100_000, "{answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains("100000"), "{message}");
    }

    #[test]
    fn skill_errors_keep_their_code_and_message() {
        let bytes = component(Behaviour::Fail);
        let sha = sha256_hex(&bytes);
        let mut host = ComponentHost::default();
        let answer = parse(&host.run(call(&sha, Some(&bytes), r#"{"x": 1}"#, None)));
        assert_eq!(answer["error"]["code"], "skill-bad-input", "{answer}");
        assert_eq!(answer["error"]["message"], "the input is refused");
    }

    #[test]
    fn ports_that_differ_from_the_skill_file_are_refused() {
        let bytes = component(Behaviour::Echo);
        let sha = sha256_hex(&bytes);
        let mut host = ComponentHost::default();
        let matching = r#"{"inputs": [{"name": "x", "type": "any", "required": false}],
                           "outputs": [{"name": "x", "type": "any"}]}"#;
        let answer = parse(&host.run(RunCall {
            ports: Some(matching),
            ..call(&sha, Some(&bytes), r#"{"x": true}"#, None)
        }));
        assert_eq!(answer["ok"]["outputs"]["x"], true, "{answer}");
        let differing = r#"{"inputs": [{"name": "x", "type": "number"}], "outputs": []}"#;
        let answer = parse(&host.run(RunCall {
            ports: Some(differing),
            ..call(&sha, None, r#"{"x": 1}"#, None)
        }));
        assert_eq!(
            answer["error"]["code"], "component-ports-mismatch",
            "{answer}"
        );
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains("input `x`"), "{message}");
    }

    #[test]
    fn default_limits_are_the_edge_defaults() {
        let limits: Value = serde_json::from_str(&default_limits_json()).unwrap();
        assert_eq!(limits["fuel"], Limits::default().fuel);
        let spec: LimitsSpec = serde_json::from_value(limits).unwrap();
        assert_eq!(spec.resolve(), Limits::default());
    }
}
