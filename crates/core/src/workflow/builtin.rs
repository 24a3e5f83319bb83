//! Built-in data nodes: small transformations written in Rust that run
//! wherever the engine runs (edge component or browser), with no skill file.
//!
//! Their ids carry the prefix `builtin:`. A colon is not allowed in a skill
//! id, so no user, team or system skill can ever shadow or be confused with a
//! built-in node.
//!
//! | id | inputs (params or edges) | outputs |
//! |----|--------------------------|---------|
//! | `builtin:constant` | `value` (any) | `value`: the same value |
//! | `builtin:json-path` | `input` (any), `path` (string, RFC 9535 JSONPath), `default` (any, optional) | `value`: first match (or `default`; an error when neither), `matches`: every match (array) |
//! | `builtin:transform` | `input` (object or array of objects), `fields` (object: new name → field name or JSONPath) | `value`: the picked/renamed object (or array of them) |
//! | `builtin:math` | `expression` (string) and any number of numeric inputs named after its variables | `result` (number) |
//! | `builtin:merge` | `mode` (`collect` default, `merge`, `array`, `concat`) and any number of inputs | `value` |
//!
//! `math` evaluates arithmetic over its inputs: `a * b + sin(c)`, `x ^ 2`,
//! `min(a, b)`, constants `PI`/`E`/`TAU`, functions `abs sqrt cbrt exp ln
//! log log2 log10 sin cos tan asin acos atan sinh cosh tanh asinh acosh atanh
//! floor ceil round trunc fract signum`. A step whose result is not a finite
//! real number fails the node with a message naming it (`division by zero`,
//! `sqrt(-1) is not a finite real number`). Integral results are written as
//! JSON integers.
//!
//! `merge` combines every input except `mode`, ordered by input name:
//! `collect` → `{name: value, …}`; `merge` → the shallow merge of object
//! inputs (a later name wins); `array` → `[value, …]`; `concat` → the
//! concatenation of array inputs.
//!
//! `transform`'s `fields` maps each output field to a source: a string
//! starting with `$` is a JSONPath (its first match is taken), any other
//! string names a top-level field. A source that selects nothing is an error.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use exmex::{BinOp, Express, FlatEx, MakeOperators, Operator};
use serde_json::{Value, json};
use serde_json_path::JsonPath;

use super::catalog::SkillSignature;
use super::format::JsonMap;
use crate::types::{ExecutionMode, PortSpec, PortType, Runtime};

/// Prefix of every built-in node id.
pub const BUILTIN_PREFIX: &str = "builtin:";
pub const CONSTANT: &str = "builtin:constant";
pub const JSON_PATH: &str = "builtin:json-path";
pub const TRANSFORM: &str = "builtin:transform";
pub const MATH: &str = "builtin:math";
pub const MERGE: &str = "builtin:merge";

/// The "commit" built-in nodes resolve to: the engine's own version, since
/// they change only with it.
pub const BUILTIN_COMMIT: &str = concat!("llmos-core@", env!("CARGO_PKG_VERSION"));

/// Whether an id names a built-in node (known or not).
pub fn is_builtin_id(skill_id: &str) -> bool {
    skill_id.starts_with(BUILTIN_PREFIX)
}

fn port(name: &str, ty: PortType, required: bool, description: &str) -> PortSpec {
    PortSpec {
        required,
        description: Some(description.to_owned()),
        ..PortSpec::new(name, ty)
    }
}

fn builtin(
    id: &str,
    inputs: Vec<PortSpec>,
    outputs: Vec<PortSpec>,
    extra: Option<PortType>,
) -> SkillSignature {
    SkillSignature {
        skill_id: id.to_owned(),
        runtime: Runtime::Builtin,
        execution_mode: ExecutionMode::EdgeWasm,
        inputs,
        outputs,
        extra_inputs: extra,
        commit: BUILTIN_COMMIT.to_owned(),
        compiled: false,
        component: None,
    }
}

fn table() -> &'static HashMap<&'static str, Arc<SkillSignature>> {
    static TABLE: OnceLock<HashMap<&'static str, Arc<SkillSignature>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        use PortType as T;
        let mut mode = port("mode", T::String, false, "collect | merge | array | concat");
        mode.default = Some(json!("collect"));
        [
            builtin(
                CONSTANT,
                vec![port("value", T::Any, true, "the value to output")],
                vec![port("value", T::Any, true, "the value")],
                None,
            ),
            builtin(
                JSON_PATH,
                vec![
                    port("input", T::Any, true, "the document to query"),
                    port(
                        "path",
                        T::String,
                        true,
                        "a JSONPath expression, e.g. $.items[0].name",
                    ),
                    port("default", T::Any, false, "output when nothing matches"),
                ],
                vec![
                    port("value", T::Any, true, "the first match"),
                    port("matches", T::Array, true, "every match"),
                ],
                None,
            ),
            builtin(
                TRANSFORM,
                vec![
                    port("input", T::Any, true, "an object or an array of objects"),
                    port(
                        "fields",
                        T::Object,
                        true,
                        "new field name → field name or JSONPath",
                    ),
                ],
                vec![port(
                    "value",
                    T::Any,
                    true,
                    "the transformed object or array",
                )],
                None,
            ),
            builtin(
                MATH,
                vec![port(
                    "expression",
                    T::String,
                    true,
                    "arithmetic over the inputs, e.g. a * b + sin(c)",
                )],
                vec![port(
                    "result",
                    T::Number,
                    true,
                    "the value of the expression",
                )],
                Some(T::Number),
            ),
            builtin(
                MERGE,
                vec![mode],
                vec![port("value", T::Any, true, "the combined value")],
                Some(T::Any),
            ),
        ]
        .into_iter()
        .map(|s| {
            let id: &'static str = [CONSTANT, JSON_PATH, TRANSFORM, MATH, MERGE]
                .into_iter()
                .find(|id| *id == s.skill_id)
                .expect("every built-in is listed");
            (id, Arc::new(s))
        })
        .collect()
    })
}

/// The signature of a built-in node.
pub fn signature(skill_id: &str) -> Option<Arc<SkillSignature>> {
    table().get(skill_id).cloned()
}

/// Every built-in node, sorted by id (the node library lists them).
pub fn signatures() -> Vec<Arc<SkillSignature>> {
    let mut all: Vec<_> = table().values().cloned().collect();
    all.sort_by(|a, b| a.skill_id.cmp(&b.skill_id));
    all
}

/// A built-in node that could not produce its outputs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BuiltinError {
    /// kebab-case: `math-error`, `bad-expression`, `bad-path`, `no-match`,
    /// `bad-input`, `unknown-builtin`.
    pub code: &'static str,
    pub message: String,
}

fn err(code: &'static str, message: impl Into<String>) -> BuiltinError {
    BuiltinError {
        code,
        message: message.into(),
    }
}

/// Checks what can be checked before running: a literal `path` parses, a
/// literal `expression` parses and each of its variables is bound
/// (`is_bound(name)` tells whether an edge or param provides an input), and
/// `mode`/`fields` have a valid shape. Returns `(code, message)` pairs.
pub fn check_params(
    skill_id: &str,
    params: &JsonMap,
    is_bound_by_edge: &dyn Fn(&str) -> bool,
) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    let literal = |name: &str| {
        if is_bound_by_edge(name) {
            None
        } else {
            params.get(name)
        }
    };
    match skill_id {
        JSON_PATH => {
            if let Some(Value::String(p)) = literal("path")
                && let Err(e) = parse_path(p)
            {
                problems.push(("invalid-param", e.message));
            }
        }
        MATH => {
            if let Some(Value::String(text)) = literal("expression") {
                match expression_variables(text) {
                    Err(message) => problems.push(("invalid-param", message)),
                    Ok(vars) => {
                        for var in vars.iter() {
                            if !params.contains_key(var) && !is_bound_by_edge(var) {
                                problems.push((
                                    "missing-input",
                                    format!(
                                        "expression uses `{var}`, which is neither a param nor connected"
                                    ),
                                ));
                            }
                        }
                    }
                }
            }
        }
        MERGE => {
            if let Some(Value::String(m)) = literal("mode")
                && MergeMode::parse(m).is_none()
            {
                problems.push((
                    "invalid-param",
                    format!("merge mode `{m}` is not collect, merge, array or concat"),
                ));
            }
        }
        TRANSFORM => {
            if let Some(Value::Object(fields)) = literal("fields") {
                for (name, source) in fields {
                    if let Err(e) = FieldSource::parse(name, source) {
                        problems.push(("invalid-param", e.message));
                    }
                }
            }
        }
        _ => {}
    }
    problems
}

/// Runs built-in nodes. It keeps the expressions and paths it parsed, so a
/// workflow whose nodes share an expression parses it once.
#[derive(Default)]
pub struct BuiltinRunner {
    expressions: HashMap<String, Arc<Expression>>,
}

impl fmt::Debug for BuiltinRunner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuiltinRunner")
            .field("cached_expressions", &self.expressions.len())
            .finish()
    }
}

/// Cached expressions beyond this count are not kept: a workflow has at most
/// a few thousand nodes, and the cache must not grow without bound in a
/// long-lived browser tab.
const MAX_CACHED_EXPRESSIONS: usize = 4096;

impl BuiltinRunner {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs the built-in `skill_id` on its merged inputs.
    pub fn run(&mut self, skill_id: &str, inputs: &JsonMap) -> Result<JsonMap, BuiltinError> {
        match skill_id {
            CONSTANT => {
                let value = required(inputs, "value")?;
                Ok(outputs([("value", value.clone())]))
            }
            JSON_PATH => run_json_path(inputs),
            TRANSFORM => run_transform(inputs),
            MATH => self.run_math(inputs),
            MERGE => run_merge(inputs),
            other => Err(err(
                "unknown-builtin",
                format!("`{other}` is not a built-in node"),
            )),
        }
    }

    fn run_math(&mut self, inputs: &JsonMap) -> Result<JsonMap, BuiltinError> {
        let text = required_str(inputs, "expression")?;
        let expr = match self.expressions.get(text) {
            Some(e) => Arc::clone(e),
            None => {
                let e = Arc::new(parse_expression(text)?);
                if self.expressions.len() < MAX_CACHED_EXPRESSIONS {
                    self.expressions.insert(text.to_owned(), Arc::clone(&e));
                }
                e
            }
        };
        let mut values = Vec::with_capacity(expr.var_names().len());
        for var in expr.var_names() {
            let v = match inputs.get(var) {
                Some(Value::Number(n)) => n.as_f64().expect("JSON numbers convert to f64"),
                Some(other) => {
                    return Err(err(
                        "bad-input",
                        format!(
                            "expression variable `{var}` must be a number, got {}",
                            super::compat::json_kind(other)
                        ),
                    ));
                }
                None => {
                    return Err(err(
                        "bad-input",
                        format!("expression uses `{var}`, which is not an input"),
                    ));
                }
            };
            values.push(Checked::Num(v));
        }
        let result = expr
            .eval(&values)
            .map_err(|e| err("math-error", format!("cannot evaluate `{text}`: {e}")))?;
        match result {
            Checked::Num(v) => Ok(outputs([("result", number(v))])),
            Checked::Fault(why) => Err(err("math-error", format!("`{text}`: {why}"))),
        }
    }
}

fn outputs<const N: usize>(pairs: [(&str, Value); N]) -> JsonMap {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn required<'a>(inputs: &'a JsonMap, name: &str) -> Result<&'a Value, BuiltinError> {
    inputs
        .get(name)
        .ok_or_else(|| err("bad-input", format!("input `{name}` is missing")))
}

fn required_str<'a>(inputs: &'a JsonMap, name: &str) -> Result<&'a str, BuiltinError> {
    match required(inputs, name)? {
        Value::String(s) => Ok(s),
        other => Err(err(
            "bad-input",
            format!(
                "input `{name}` must be a string, got {}",
                super::compat::json_kind(other)
            ),
        )),
    }
}

/// Largest integer an `f64` holds exactly.
const MAX_EXACT_INTEGER: f64 = 9_007_199_254_740_992.0;

/// A finite `f64` as JSON: integral values as integers (`6`, not `6.0`).
fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() <= MAX_EXACT_INTEGER {
        // Exact by the range check above.
        #[allow(clippy::cast_possible_truncation)]
        Value::from(v as i64)
    } else {
        serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
    }
}

// ---------------------------------------------------------------- json-path

fn parse_path(text: &str) -> Result<JsonPath, BuiltinError> {
    JsonPath::parse(text).map_err(|e| {
        err(
            "bad-path",
            format!(
                "JSONPath `{text}` is invalid at character {}: {e}",
                e.position()
            ),
        )
    })
}

fn run_json_path(inputs: &JsonMap) -> Result<JsonMap, BuiltinError> {
    let document = required(inputs, "input")?;
    let text = required_str(inputs, "path")?;
    let path = parse_path(text)?;
    let matches = path.query(document).all();
    let value = match (matches.first(), inputs.get("default")) {
        (Some(v), _) => (*v).clone(),
        (None, Some(d)) => d.clone(),
        (None, None) => {
            return Err(err(
                "no-match",
                format!("JSONPath `{text}` matched nothing and no `default` is set"),
            ));
        }
    };
    let all = Value::Array(matches.into_iter().cloned().collect());
    Ok(outputs([("value", value), ("matches", all)]))
}

// ---------------------------------------------------------------- transform

enum FieldSource {
    Field(String),
    Path(String, JsonPath),
}

impl FieldSource {
    fn parse(name: &str, source: &Value) -> Result<Self, BuiltinError> {
        match source {
            Value::String(s) if s.starts_with('$') => {
                Ok(FieldSource::Path(s.clone(), parse_path(s)?))
            }
            Value::String(s) => Ok(FieldSource::Field(s.clone())),
            other => Err(err(
                "bad-input",
                format!(
                    "field `{name}` must name its source with a string, got {}",
                    super::compat::json_kind(other)
                ),
            )),
        }
    }

    fn select<'a>(&self, item: &'a JsonMap, whole: &'a Value) -> Option<&'a Value> {
        match self {
            FieldSource::Field(f) => item.get(f),
            FieldSource::Path(_, p) => p.query(whole).first(),
        }
    }

    fn text(&self) -> &str {
        match self {
            FieldSource::Field(s) | FieldSource::Path(s, _) => s,
        }
    }
}

fn run_transform(inputs: &JsonMap) -> Result<JsonMap, BuiltinError> {
    let input = required(inputs, "input")?;
    let Value::Object(fields) = required(inputs, "fields")? else {
        return Err(err("bad-input", "input `fields` must be an object"));
    };
    let sources = fields
        .iter()
        .map(|(name, source)| Ok((name.as_str(), FieldSource::parse(name, source)?)))
        .collect::<Result<Vec<_>, BuiltinError>>()?;
    let pick = |item: &Value, at: Option<usize>| -> Result<Value, BuiltinError> {
        let where_ = at.map(|i| format!(" in item {i}")).unwrap_or_default();
        let Value::Object(obj) = item else {
            return Err(err(
                "bad-input",
                format!(
                    "transform needs an object{where_}, got {}",
                    super::compat::json_kind(item)
                ),
            ));
        };
        let mut out = JsonMap::new();
        for (name, source) in &sources {
            let v = source.select(obj, item).ok_or_else(|| {
                err(
                    "no-match",
                    format!(
                        "field `{name}`: `{}` selects nothing{where_}",
                        source.text()
                    ),
                )
            })?;
            out.insert((*name).to_owned(), v.clone());
        }
        Ok(Value::Object(out))
    };
    let value = match input {
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| pick(item, Some(i)))
                .collect::<Result<_, _>>()?,
        ),
        other => pick(other, None)?,
    };
    Ok(outputs([("value", value)]))
}

// ---------------------------------------------------------------- merge

#[derive(Clone, Copy)]
enum MergeMode {
    Collect,
    Merge,
    Array,
    Concat,
}

impl MergeMode {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "collect" => Some(MergeMode::Collect),
            "merge" => Some(MergeMode::Merge),
            "array" => Some(MergeMode::Array),
            "concat" => Some(MergeMode::Concat),
            _ => None,
        }
    }
}

fn run_merge(inputs: &JsonMap) -> Result<JsonMap, BuiltinError> {
    let mode = match inputs.get("mode") {
        None => MergeMode::Collect,
        Some(Value::String(m)) => MergeMode::parse(m).ok_or_else(|| {
            err(
                "bad-input",
                format!("merge mode `{m}` is not collect, merge, array or concat"),
            )
        })?,
        Some(other) => {
            return Err(err(
                "bad-input",
                format!(
                    "merge mode must be a string, got {}",
                    super::compat::json_kind(other)
                ),
            ));
        }
    };
    let mut parts: Vec<(&String, &Value)> = inputs.iter().filter(|(k, _)| *k != "mode").collect();
    parts.sort_by(|a, b| a.0.cmp(b.0));
    let value = match mode {
        MergeMode::Collect => Value::Object(
            parts
                .into_iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        MergeMode::Array => Value::Array(parts.into_iter().map(|(_, v)| v.clone()).collect()),
        MergeMode::Merge => {
            let mut out = JsonMap::new();
            for (name, v) in parts {
                let Value::Object(o) = v else {
                    return Err(err(
                        "bad-input",
                        format!(
                            "merge mode `merge` needs objects; input `{name}` is {}",
                            super::compat::json_kind(v)
                        ),
                    ));
                };
                out.extend(o.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            Value::Object(out)
        }
        MergeMode::Concat => {
            let mut out = Vec::new();
            for (name, v) in parts {
                let Value::Array(a) = v else {
                    return Err(err(
                        "bad-input",
                        format!(
                            "merge mode `concat` needs arrays; input `{name}` is {}",
                            super::compat::json_kind(v)
                        ),
                    ));
                };
                out.extend(a.iter().cloned());
            }
            Value::Array(out)
        }
    };
    Ok(outputs([("value", value)]))
}

// ---------------------------------------------------------------- math

type Expression = FlatEx<Checked, CheckedOps>;

/// Most expressions [`expression_variables`] remembers; beyond it the
/// memory starts over.
const MAX_CHECKED_EXPRESSIONS: usize = 4096;

/// An expression's variables, or why it does not parse.
type CheckedExpression = Result<Arc<[String]>, String>;

thread_local! {
    /// The variables (or the parse error) of expressions already checked:
    /// a graph repeats a few expressions over many nodes, and parsing one
    /// costs far more than validating the rest of its node.
    static CHECKED_EXPRESSIONS: std::cell::RefCell<HashMap<String, CheckedExpression>> =
        std::cell::RefCell::new(HashMap::new());
}

/// The variable names of a math expression, or why it does not parse.
fn expression_variables(text: &str) -> CheckedExpression {
    if let Some(known) = CHECKED_EXPRESSIONS.with(|c| c.borrow().get(text).cloned()) {
        return known;
    }
    let result = parse_expression(text)
        .map(|expr| expr.var_names().iter().cloned().collect::<Arc<[String]>>())
        .map_err(|e| e.message);
    CHECKED_EXPRESSIONS.with(|c| {
        let mut cache = c.borrow_mut();
        if cache.len() >= MAX_CHECKED_EXPRESSIONS {
            cache.clear();
        }
        cache.insert(text.to_owned(), result.clone());
    });
    result
}

fn parse_expression(text: &str) -> Result<Expression, BuiltinError> {
    if text.trim().is_empty() {
        return Err(err("bad-expression", "the expression is empty"));
    }
    Expression::parse(text).map_err(|e| {
        err(
            "bad-expression",
            format!("expression `{text}` is invalid: {e}"),
        )
    })
}

/// A number, or the reason a step of the evaluation has no finite real
/// result. Faults flow through the remaining steps unchanged, so the first
/// one is what the node reports.
#[derive(Debug, Clone, PartialEq)]
enum Checked {
    Num(f64),
    Fault(String),
}

impl Default for Checked {
    fn default() -> Self {
        Checked::Num(0.0)
    }
}

impl FromStr for Checked {
    type Err = std::num::ParseFloatError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(Checked::Num)
    }
}

fn unary(a: Checked, name: &str, f: fn(f64) -> f64) -> Checked {
    match a {
        Checked::Num(x) => {
            let r = f(x);
            if r.is_finite() {
                Checked::Num(r)
            } else {
                Checked::Fault(format!("{name}({x}) is not a finite real number"))
            }
        }
        fault => fault,
    }
}

fn binary(a: Checked, b: Checked, op: &str, f: fn(f64, f64) -> f64) -> Checked {
    match (a, b) {
        (Checked::Num(x), Checked::Num(y)) => {
            if op == "/" && y == 0.0 {
                return Checked::Fault(format!("division by zero in {x} / {y}"));
            }
            let r = f(x, y);
            if r.is_finite() {
                Checked::Num(r)
            } else if op.len() == 1 {
                Checked::Fault(format!("{x} {op} {y} is not a finite real number"))
            } else {
                Checked::Fault(format!("{op}({x}, {y}) is not a finite real number"))
            }
        }
        (Checked::Fault(f), _) | (_, Checked::Fault(f)) => Checked::Fault(f),
    }
}

macro_rules! unary_ops {
    ($($name:literal => $f:expr),* $(,)?) => {
        [$(Operator::make_unary($name, |a| unary(a, $name, $f))),*]
    };
}

#[derive(Debug, Clone)]
struct CheckedOps;

impl MakeOperators<Checked> for CheckedOps {
    fn make<'a>() -> Vec<Operator<'a, Checked>> {
        // Priorities as in exmex's float operators: `^` binds tightest, then
        // `/`, `*`, `-`, `+`; named binary functions have the lowest.
        let mut ops = vec![
            Operator::make_bin(
                "^",
                BinOp {
                    apply: |a, b| binary(a, b, "^", f64::powf),
                    prio: 4,
                    is_commutative: false,
                },
            ),
            Operator::make_bin(
                "*",
                BinOp {
                    apply: |a, b| binary(a, b, "*", |x, y| x * y),
                    prio: 2,
                    is_commutative: true,
                },
            ),
            Operator::make_bin(
                "/",
                BinOp {
                    apply: |a, b| binary(a, b, "/", |x, y| x / y),
                    prio: 3,
                    is_commutative: false,
                },
            ),
            Operator::make_bin_unary(
                "+",
                BinOp {
                    apply: |a, b| binary(a, b, "+", |x, y| x + y),
                    prio: 0,
                    is_commutative: true,
                },
                |a| a,
            ),
            Operator::make_bin_unary(
                "-",
                BinOp {
                    apply: |a, b| binary(a, b, "-", |x, y| x - y),
                    prio: 1,
                    is_commutative: false,
                },
                |a| unary(a, "-", |x| -x),
            ),
            Operator::make_bin(
                "atan2",
                BinOp {
                    apply: |a, b| binary(a, b, "atan2", f64::atan2),
                    prio: 0,
                    is_commutative: false,
                },
            ),
            Operator::make_bin(
                "min",
                BinOp {
                    apply: |a, b| binary(a, b, "min", f64::min),
                    prio: 0,
                    is_commutative: false,
                },
            ),
            Operator::make_bin(
                "max",
                BinOp {
                    apply: |a, b| binary(a, b, "max", f64::max),
                    prio: 0,
                    is_commutative: false,
                },
            ),
            Operator::make_constant("PI", Checked::Num(std::f64::consts::PI)),
            Operator::make_constant("π", Checked::Num(std::f64::consts::PI)),
            Operator::make_constant("E", Checked::Num(std::f64::consts::E)),
            Operator::make_constant("TAU", Checked::Num(std::f64::consts::TAU)),
            Operator::make_constant("τ", Checked::Num(std::f64::consts::TAU)),
        ];
        ops.extend(unary_ops![
            "abs" => f64::abs,
            "signum" => f64::signum,
            "sin" => f64::sin,
            "cos" => f64::cos,
            "tan" => f64::tan,
            "asin" => f64::asin,
            "acos" => f64::acos,
            "atan" => f64::atan,
            "sinh" => f64::sinh,
            "cosh" => f64::cosh,
            "tanh" => f64::tanh,
            "asinh" => f64::asinh,
            "acosh" => f64::acosh,
            "atanh" => f64::atanh,
            "floor" => f64::floor,
            "round" => f64::round,
            "ceil" => f64::ceil,
            "trunc" => f64::trunc,
            "fract" => f64::fract,
            "exp" => f64::exp,
            "sqrt" => f64::sqrt,
            "cbrt" => f64::cbrt,
            "ln" => f64::ln,
            "log" => f64::ln,
            "log2" => f64::log2,
            "log10" => f64::log10,
        ]);
        ops
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_expressions_give_the_same_answer_every_time() {
        let bound = |name: &str| name == "a";
        for _ in 0..3 {
            let params: JsonMap = serde_json::from_value(json!({"expression": "a + b"})).unwrap();
            let problems = check_params(MATH, &params, &bound);
            assert_eq!(problems.len(), 1);
            assert_eq!(problems[0].0, "missing-input");
            assert!(problems[0].1.contains("`b`"), "{}", problems[0].1);
            let params: JsonMap = serde_json::from_value(json!({"expression": "a +"})).unwrap();
            let problems = check_params(MATH, &params, &bound);
            assert_eq!(problems.len(), 1);
            assert_eq!(problems[0].0, "invalid-param");
        }
    }

    fn run(id: &str, inputs: Value) -> Result<JsonMap, BuiltinError> {
        let Value::Object(m) = inputs else { panic!() };
        BuiltinRunner::new().run(id, &m)
    }

    #[test]
    fn every_builtin_id_has_the_reserved_prefix_and_no_valid_skill_id_does() {
        for s in signatures() {
            assert!(is_builtin_id(&s.skill_id));
            assert!(crate::ids::SkillId::new(&s.skill_id).is_err());
            assert_eq!(s.runtime, Runtime::Builtin);
        }
        assert_eq!(signatures().len(), 5);
    }

    #[test]
    fn math_evaluates_named_inputs() {
        let out = run(
            MATH,
            json!({"expression": "a * b + sin(c)", "a": 2, "b": 3, "c": 0}),
        )
        .unwrap();
        assert_eq!(out["result"], json!(6));
        let out = run(MATH, json!({"expression": "x / 4", "x": 1})).unwrap();
        assert_eq!(out["result"], json!(0.25));
        let out = run(MATH, json!({"expression": "2 ^ 3 - 1"})).unwrap();
        assert_eq!(out["result"], json!(7));
    }

    #[test]
    fn math_reports_division_by_zero_and_domain_errors() {
        let e = run(MATH, json!({"expression": "a / b", "a": 1, "b": 0})).unwrap_err();
        assert_eq!(e.code, "math-error");
        assert!(e.message.contains("division by zero"), "{e}");
        let e = run(MATH, json!({"expression": "sqrt(x) + 1", "x": -1})).unwrap_err();
        assert!(
            e.message.contains("sqrt(-1) is not a finite real number"),
            "{e}"
        );
        let e = run(MATH, json!({"expression": "10 ^ x", "x": 400})).unwrap_err();
        assert!(e.message.contains("10 ^ 400"), "{e}");
        let e = run(MATH, json!({"expression": "a +* ", "a": 1})).unwrap_err();
        assert_eq!(e.code, "bad-expression");
        let e = run(MATH, json!({"expression": "a + q", "a": 1})).unwrap_err();
        assert!(e.message.contains("`q`"), "{e}");
    }

    #[test]
    fn json_path_selects_first_and_all_matches() {
        let doc = json!({"items": [{"n": 1}, {"n": 2}]});
        let out = run(JSON_PATH, json!({"input": doc, "path": "$.items[*].n"})).unwrap();
        assert_eq!(out["value"], json!(1));
        assert_eq!(out["matches"], json!([1, 2]));
        let e = run(JSON_PATH, json!({"input": doc, "path": "$.nope"})).unwrap_err();
        assert_eq!(e.code, "no-match");
        let out = run(
            JSON_PATH,
            json!({"input": doc, "path": "$.nope", "default": 0}),
        )
        .unwrap();
        assert_eq!(out["value"], json!(0));
        let e = run(JSON_PATH, json!({"input": doc, "path": "$.items["})).unwrap_err();
        assert_eq!(e.code, "bad-path");
    }

    #[test]
    fn transform_picks_and_renames_fields() {
        let fields = json!({"title": "name", "x": "$.pos.x"});
        let out = run(
            TRANSFORM,
            json!({"input": {"name": "a", "pos": {"x": 3}, "junk": 1}, "fields": fields}),
        )
        .unwrap();
        assert_eq!(out["value"], json!({"title": "a", "x": 3}));
        let out = run(
            TRANSFORM,
            json!({"input": [{"name": "a", "pos": {"x": 1}}, {"name": "b", "pos": {"x": 2}}], "fields": fields}),
        )
        .unwrap();
        assert_eq!(
            out["value"],
            json!([{"title": "a", "x": 1}, {"title": "b", "x": 2}])
        );
        let e = run(
            TRANSFORM,
            json!({"input": [{"name": "a"}], "fields": fields}),
        )
        .unwrap_err();
        assert_eq!(e.message, "field `x`: `$.pos.x` selects nothing in item 0");
    }

    #[test]
    fn merge_modes() {
        let parts = json!({"b": {"y": 2}, "a": {"x": 1, "y": 0}});
        let mut i = parts.clone();
        i["mode"] = json!("merge");
        assert_eq!(run(MERGE, i).unwrap()["value"], json!({"x": 1, "y": 2}));
        assert_eq!(run(MERGE, parts.clone()).unwrap()["value"], parts);
        let out = run(MERGE, json!({"mode": "array", "b": 2, "a": 1})).unwrap();
        assert_eq!(out["value"], json!([1, 2]));
        let out = run(MERGE, json!({"mode": "concat", "b": [3], "a": [1, 2]})).unwrap();
        assert_eq!(out["value"], json!([1, 2, 3]));
        let e = run(MERGE, json!({"mode": "concat", "a": 1})).unwrap_err();
        assert!(e.message.contains("input `a` is number"), "{e}");
        assert!(run(MERGE, json!({"mode": "zip"})).is_err());
    }

    #[test]
    fn constant_outputs_its_value() {
        let out = run(CONSTANT, json!({"value": [1, "a"]})).unwrap();
        assert_eq!(out["value"], json!([1, "a"]));
        assert_eq!(
            run("builtin:nope", json!({})).unwrap_err().code,
            "unknown-builtin"
        );
    }

    #[test]
    fn param_checks_find_bad_literals_and_unbound_variables() {
        let none = |_: &str| false;
        let Value::Object(p) = json!({"expression": "a + b", "a": 1}) else {
            panic!()
        };
        let problems = check_params(MATH, &p, &none);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].0, "missing-input");
        assert!(check_params(MATH, &p, &|n| n == "b").is_empty());
        let Value::Object(p) = json!({"path": "$["}) else {
            panic!()
        };
        assert_eq!(check_params(JSON_PATH, &p, &none)[0].0, "invalid-param");
        assert!(
            check_params(JSON_PATH, &p, &|n| n == "path").is_empty(),
            "edge overrides"
        );
        let Value::Object(p) = json!({"mode": "zip"}) else {
            panic!()
        };
        assert_eq!(check_params(MERGE, &p, &none).len(), 1);
    }
}
