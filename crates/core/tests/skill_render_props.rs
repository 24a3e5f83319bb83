//! Property: any valid set of fields renders to a file that parses back to
//! the same fields, and parsing that file again gives the same skill.

use llmos_core::skill::{self, PortFields, SkillFields};
use llmos_core::types::{PortType, Runtime};
use proptest::prelude::*;
use serde_json::{Value, json};

const RUNTIMES: [Runtime; 5] = [
    Runtime::PythonWasm,
    Runtime::Javascript,
    Runtime::Threejs,
    Runtime::Spice,
    Runtime::WasmComponent,
];

/// Single-line text with the characters YAML treats specially.
fn line_text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9 :#'\"&*!%@,.?|>{}\\[\\]-]{0,30}"
}

/// Multi-line text, possibly with indented or blank lines.
fn multi_line_text() -> impl Strategy<Value = String> {
    prop::collection::vec("[ ]{0,2}[A-Za-z0-9 :#'\"-]{0,24}", 1..4)
        .prop_map(|lines| lines.join("\n"))
        .prop_filter("not blank", |s| !s.trim().is_empty())
}

/// Markdown prose without fences (a fence would be a second code block).
fn content() -> impl Strategy<Value = String> {
    prop::collection::vec("[#>*-]{0,2}[ ]?[A-Za-z0-9 :,.'\"()\\[\\]_*-]{0,40}", 0..5)
        .prop_map(|lines| lines.join("\n"))
}

fn default_for(ty: PortType) -> BoxedStrategy<Option<Value>> {
    let value: BoxedStrategy<Value> = match ty {
        PortType::Number => prop_oneof![
            any::<i32>().prop_map(|n| json!(n)),
            (-1.0e6f64..1.0e6).prop_map(|f| json!(f)),
        ]
        .boxed(),
        PortType::String | PortType::Image => line_text().prop_map(Value::String).boxed(),
        PortType::Boolean => any::<bool>().prop_map(Value::Bool).boxed(),
        PortType::Array => prop::collection::vec(any::<i16>(), 0..4)
            .prop_map(|v| json!(v))
            .boxed(),
        PortType::Object | PortType::Mesh | PortType::Waveform => {
            prop::collection::btree_map("[a-z]{1,6}", line_text(), 0..3)
                .prop_map(|m| json!(m))
                .boxed()
        }
        PortType::Any => {
            prop_oneof![Just(Value::Null), line_text().prop_map(Value::String)].boxed()
        }
    };
    prop::option::of(value).boxed()
}

fn port(name: String, input: bool) -> impl Strategy<Value = PortFields> {
    prop::sample::select(PortType::ALL.to_vec()).prop_flat_map(move |ty| {
        let name = name.clone();
        (
            if input {
                default_for(ty)
            } else {
                Just(None).boxed()
            },
            prop::option::of(multi_line_text()),
            prop::option::of(any::<bool>()),
        )
            .prop_map(move |(default, description, required)| PortFields {
                name: name.clone(),
                ty: ty.as_str().to_owned(),
                // An explicit `required: true` next to a default is refused.
                required: if input && default.is_none() {
                    required
                } else {
                    None
                },
                default,
                description,
            })
    })
}

fn ports(input: bool) -> impl Strategy<Value = Vec<PortFields>> {
    prop::collection::btree_set("[a-z_][a-z0-9_]{0,8}", 0..4).prop_flat_map(move |names| {
        names
            .into_iter()
            .map(|n| port(n, input))
            .collect::<Vec<_>>()
    })
}

/// Code that satisfies the runtime's rules, with an arbitrary string
/// (backticks included) to exercise fence lengths.
fn code_for(runtime: Runtime, s: &str) -> String {
    match runtime {
        Runtime::PythonWasm => format!("def execute(inputs):\n    return {{\"x\": \"{s}\"}}\n"),
        Runtime::Javascript | Runtime::Threejs => {
            format!("function execute(inputs) {{\n  return {{ x: \"{s}\" }};\n}}\n")
        }
        Runtime::Spice => {
            format!("* {s}\n* outputs: v(out)\nR1 in out 1k\nC1 out 0 1u\n.tran 1u 1m\n.end\n")
        }
        Runtime::WasmComponent => {
            format!("pub fn execute(inputs: Inputs) -> Outputs {{\n    // {s}\n    todo!()\n}}\n")
        }
        Runtime::Builtin => unreachable!("not generated"),
    }
}

fn executable_fields() -> impl Strategy<Value = SkillFields> {
    (
        prop::sample::select(RUNTIMES.to_vec()),
        any::<bool>(),
        any::<bool>(),
        "[a-z `~]{0,12}",
        ports(true),
        ports(false),
        any::<prop::sample::Index>(),
        any::<bool>(),
    )
        .prop_map(
            |(runtime, type_is_runtime, explicit_mode, s, inputs, outputs, lang, explicit_lang)| {
                // The generated wasm-component code is Rust, not WAT.
                let langs: Vec<&str> = skill::languages(runtime)
                    .iter()
                    .copied()
                    .filter(|l| *l != "wat")
                    .collect();
                SkillFields {
                    kind: Some(if type_is_runtime {
                        runtime.as_str().to_owned()
                    } else {
                        "executable".to_owned()
                    }),
                    runtime: (!type_is_runtime).then(|| runtime.as_str().to_owned()),
                    execution_mode: explicit_mode
                        .then(|| skill::default_execution_mode(runtime).as_str().to_owned()),
                    inputs,
                    outputs,
                    code: Some(code_for(runtime, &s)),
                    code_language: explicit_lang.then(|| lang.get(&langs).to_string()),
                    ..SkillFields::default()
                }
            },
        )
}

fn fields() -> impl Strategy<Value = SkillFields> {
    (
        "[a-z0-9][a-z0-9-]{0,20}",
        line_text(),
        "[a-z][a-z0-9 -]{0,20}",
        prop_oneof![line_text(), multi_line_text()],
        content(),
        prop::collection::vec("[a-z0-9][a-z0-9 -]{0,12}", 0..4),
        prop::option::of(prop::sample::select(vec!["draft", "verified", "retired"])),
        prop::option::of(executable_fields()),
    )
        .prop_map(
            |(id, name, category, description, content, keywords, status, exec)| {
                let base = exec.unwrap_or_default();
                SkillFields {
                    skill_id: Some(id),
                    name: Some(name),
                    category: Some(category),
                    description: Some(description),
                    content,
                    keywords,
                    status: status.map(str::to_owned),
                    ..base
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn rendered_skills_reparse_to_the_same_fields(f in fields()) {
        let rendered = skill::render(&f)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{f:#?}")))?;
        prop_assert_eq!(rendered.to_fields(), f.normalized(), "\n{}", rendered.source());
        let again = skill::parse(None, rendered.source()).expect("rendered file parses");
        prop_assert_eq!(&again, &rendered);
        // Rendering is canonical: the same fields give the same bytes.
        let twice = skill::render(&rendered.to_fields()).expect("fields render");
        prop_assert_eq!(twice.source(), rendered.source());
    }
}
