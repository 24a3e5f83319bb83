//! A skill component for tests of the skill runtime in its three places
//! (the edge, the browser's component worker, native): one `execute` over
//! the world's value trees whose outputs cover every kind of node and the
//! number forms the JSON conversion has rules for.
//!
//! Inputs: `values` (array of numbers, required), `label` (string,
//! optional) and `mode` (string, optional):
//!
//! - no mode, or `"stats"`: statistics of `values` and a `sample` object
//!   with nested arrays and objects, text with escapes and non-ASCII
//!   characters, bytes, integral and fractional doubles, 2^53 and beyond,
//!   negative zero and a NaN (which JSON carries as null); it prints to
//!   stdout and logs through the host, so both reach the node's log;
//! - `"fail"`: returns the skill error `bad-mode`;
//! - `"panic"`: panics (the message goes to stderr, then the call traps);
//! - `"loop"`: never returns (only the fuel budget ends it).
//!
//! Built for `wasm32-wasip2` with `wit-bindgen` (the workspace's
//! `wit-bindgen-skill` entry: only the macros and the allocator hook), as
//! a skill author would.

wit_bindgen_skill::generate!({
    path: "../../../wit/skill",
    world: "skill",
    runtime_path: "::wit_bindgen_skill::rt",
});

use llmos::skill::host::log;
use llmos::skill::types::{Node, Port, PortType, Value};

/// A value tree read out of, or about to be written into, a `value`.
enum Tree {
    Null,
    Bool(bool),
    Number(f64),
    Text(String),
    Bytes(Vec<u8>),
    Array(Vec<Tree>),
    Object(Vec<(String, Tree)>),
}

/// Reads node `at` of `nodes` and its descendants.
fn read(nodes: &[Node], at: u32) -> Tree {
    match nodes.get(at as usize) {
        None | Some(Node::Null) => Tree::Null,
        Some(Node::Boolean(b)) => Tree::Bool(*b),
        Some(Node::Number(n)) => Tree::Number(*n),
        Some(Node::Text(t)) => Tree::Text(t.clone()),
        Some(Node::Bytes(b)) => Tree::Bytes(b.clone()),
        Some(Node::Array(items)) => Tree::Array(items.iter().map(|i| read(nodes, *i)).collect()),
        Some(Node::Object(members)) => Tree::Object(
            members
                .iter()
                .map(|(k, i)| (k.clone(), read(nodes, *i)))
                .collect(),
        ),
    }
}

/// Appends `tree` in pre-order (a parent before its children, as the
/// world requires); returns its index.
fn write(tree: Tree, nodes: &mut Vec<Node>) -> u32 {
    let at = nodes.len();
    nodes.push(Node::Null);
    let node = match tree {
        Tree::Null => Node::Null,
        Tree::Bool(b) => Node::Boolean(b),
        Tree::Number(n) => Node::Number(n),
        Tree::Text(t) => Node::Text(t),
        Tree::Bytes(b) => Node::Bytes(b),
        Tree::Array(items) => Node::Array(items.into_iter().map(|t| write(t, nodes)).collect()),
        Tree::Object(members) => Node::Object(
            members
                .into_iter()
                .map(|(k, t)| {
                    let i = write(t, nodes);
                    (k, i)
                })
                .collect(),
        ),
    };
    nodes[at] = node;
    at as u32
}

fn value(tree: Tree) -> Value {
    let mut nodes = Vec::new();
    write(tree, &mut nodes);
    Value { nodes }
}

fn port(name: &str, ty: PortType, required: bool) -> Port {
    Port {
        name: name.to_owned(),
        type_: ty,
        required,
    }
}

fn text(s: &str) -> Tree {
    Tree::Text(s.to_owned())
}

fn object(members: Vec<(&str, Tree)>) -> Tree {
    Tree::Object(
        members
            .into_iter()
            .map(|(k, t)| (k.to_owned(), t))
            .collect(),
    )
}

struct Fixture;

impl Guest for Fixture {
    fn describe() -> SkillDescription {
        SkillDescription {
            name: "Skill fixture".to_owned(),
            version: "1.0.0".to_owned(),
            inputs: vec![
                port("values", PortType::Array, true),
                port("label", PortType::String, false),
                port("mode", PortType::String, false),
            ],
            outputs: vec![
                port("stats", PortType::Object, true),
                port("sorted", PortType::Array, true),
                port("sample", PortType::Any, true),
            ],
        }
    }

    fn execute(inputs: Vec<(String, Value)>) -> Result<Vec<(String, Value)>, SkillError> {
        let input = |name: &str| {
            inputs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| read(&v.nodes, 0))
        };
        let mode = match input("mode") {
            Some(Tree::Text(m)) => m,
            _ => "stats".to_owned(),
        };
        match mode.as_str() {
            "stats" => {}
            "fail" => {
                return Err(SkillError {
                    code: "bad-mode".to_owned(),
                    message: "mode `fail` always fails".to_owned(),
                });
            }
            "panic" => panic!("mode `panic` panics"),
            "loop" => {
                let mut turns: u64 = 0;
                loop {
                    turns = std::hint::black_box(turns.wrapping_add(1));
                }
            }
            other => {
                return Err(SkillError {
                    code: "bad-mode".to_owned(),
                    message: format!("unknown mode `{other}`"),
                });
            }
        }
        let mut values = Vec::new();
        match input("values") {
            Some(Tree::Array(items)) => {
                for (i, item) in items.into_iter().enumerate() {
                    match item {
                        Tree::Number(n) => values.push(n),
                        _ => {
                            return Err(SkillError {
                                code: "not-a-number".to_owned(),
                                message: format!("values[{i}] is not a number"),
                            });
                        }
                    }
                }
            }
            _ => {
                return Err(SkillError {
                    code: "missing-values".to_owned(),
                    message: "`values` must be an array of numbers".to_owned(),
                });
            }
        }
        let label = match input("label") {
            Some(Tree::Text(t)) => t,
            _ => String::new(),
        };
        println!("fixture: {} value(s), label {label:?}", values.len());
        log(&format!("sum of {} value(s)", values.len()));

        let sum: f64 = values.iter().sum();
        let mean = if values.is_empty() {
            f64::NAN
        } else {
            sum / values.len() as f64
        };
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        let stats = object(vec![
            ("count", Tree::Number(values.len() as f64)),
            ("sum", Tree::Number(sum)),
            ("mean", Tree::Number(mean)),
            (
                "min",
                sorted.first().map_or(Tree::Null, |v| Tree::Number(*v)),
            ),
            (
                "max",
                sorted.last().map_or(Tree::Null, |v| Tree::Number(*v)),
            ),
            ("label", Tree::Text(label.chars().rev().collect())),
        ]);
        let sample = object(vec![
            // Members out of key order: JSON objects come out sorted.
            ("zeta", Tree::Bool(true)),
            ("alpha", Tree::Null),
            (
                "numbers",
                Tree::Array(
                    [
                        0.1 + 0.2,
                        1.0 / 3.0,
                        -0.0,
                        2.5e-300,
                        1e21,
                        123_456_789.0,
                        9_007_199_254_740_992.0,
                        9_007_199_254_740_994.0,
                        f64::NAN,
                        f64::INFINITY,
                        -1.5,
                    ]
                    .into_iter()
                    .map(Tree::Number)
                    .collect(),
                ),
            ),
            (
                "text",
                text("quote \" backslash \\ tab \t newline \n é ∑ 😀 \u{1}"),
            ),
            ("bytes", Tree::Bytes(vec![0, 1, 2, 250, 255])),
            (
                "nested",
                Tree::Array(vec![
                    Tree::Array(vec![]),
                    object(vec![]),
                    object(vec![("b", Tree::Number(2.0)), ("a", text("x"))]),
                ]),
            ),
        ]);
        Ok(vec![
            ("stats".to_owned(), value(stats)),
            (
                "sorted".to_owned(),
                value(Tree::Array(sorted.into_iter().map(Tree::Number).collect())),
            ),
            ("sample".to_owned(), value(sample)),
        ])
    }
}

export!(Fixture);
