//! JSON values and the skill world's `value` (a tree flattened into a list
//! of nodes), both ways.
//!
//! The conversion is the one place that decides how a skill's outputs look
//! as JSON, and it runs unchanged at the edge, in the browser and in native
//! tests, which is what makes their results byte-identical:
//!
//! - numbers: an integral double of magnitude up to 2^53 becomes a JSON
//!   integer (`3`, not `3.0`), any other finite double the shortest decimal
//!   that reads back as the same bits, NaN and infinities `null`;
//! - `bytes` nodes become `data:application/octet-stream;base64,…` text
//!   (JSON has no bytes); JSON never turns into `bytes`;
//! - object members keep the order JSON gives them (sorted by key).
//!
//! Values coming out of a guest are checked before they are trusted: every
//! child index must point after its parent and inside the list, and every
//! node must be used exactly once, so a hostile skill can neither loop the
//! host nor make it expand a shared subtree exponentially.

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Map, Number, Value as Json};
use wasm_component_layer::{
    List, ListType, Record, RecordType, Tuple, TupleType, Value, ValueType, Variant, VariantType,
};

/// Deepest nesting converted either way.
pub const MAX_DEPTH: usize = 256;

/// Most nodes in one value (a million numbers in an array).
pub const MAX_NODES: usize = 1 << 20;

/// Largest integer a double holds exactly (2^53).
const MAX_EXACT_INT: f64 = 9_007_199_254_740_992.0;

/// What is wrong with a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("the value nests deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("the value has more than {MAX_NODES} nodes")]
    TooLarge,
    #[error("the value has no root node")]
    Empty,
    #[error("node {parent} refers to node {child}, which is not after it in the list")]
    BadIndex { parent: usize, child: u32 },
    #[error("node {0} is used more than once")]
    Shared(usize),
    #[error("node {0} is not part of the value's tree")]
    Unused(usize),
    #[error("object node {node} has the key `{key}` twice")]
    DuplicateKey { node: usize, key: String },
    #[error("the component's `{what}` type is not the skill world's: {detail}")]
    Shape { what: &'static str, detail: String },
}

/// The component-model types of the skill world's values, read from a
/// component's `execute` signature (values are built with the exact type
/// objects the component was linked with).
#[derive(Debug, Clone)]
pub struct ValueTypes {
    /// `list<tuple<string, value>>`
    pub fields: ListType,
    /// `tuple<string, value>`
    pub field: TupleType,
    /// `record value { nodes }`
    pub value: RecordType,
    /// `list<node>`
    pub nodes: ListType,
    /// `variant node`
    pub node: VariantType,
    /// `list<u32>`, `list<tuple<string, u32>>`
    array: ListType,
    object: ListType,
    member: TupleType,
}

/// The node cases, in the order of the WIT.
const CASES: [&str; 7] = [
    "null", "boolean", "number", "text", "bytes", "array", "object",
];
const NULL: usize = 0;
const BOOLEAN: usize = 1;
const NUMBER: usize = 2;
const TEXT: usize = 3;
const BYTES: usize = 4;
const ARRAY: usize = 5;
const OBJECT: usize = 6;

fn shape(what: &'static str, detail: impl Into<String>) -> ValueError {
    ValueError::Shape {
        what,
        detail: detail.into(),
    }
}

impl ValueTypes {
    /// The types of `fields` (`list<tuple<string, value>>`), checking that
    /// they are the world's.
    pub fn from_fields(ty: &ValueType) -> Result<Self, ValueError> {
        let ValueType::List(fields) = ty else {
            return Err(shape("fields", format!("{ty} is not a list")));
        };
        let ValueType::Tuple(field) = fields.element_ty() else {
            return Err(shape("fields", "its elements are not tuples"));
        };
        let [ValueType::String, ValueType::Record(value)] = field.fields() else {
            return Err(shape("fields", "its elements are not (string, value)"));
        };
        let value = value.clone();
        let mut record = value.fields();
        let (Some(("nodes", ValueType::List(nodes))), None) = (record.next(), record.next()) else {
            return Err(shape(
                "value",
                "it is not `record value { nodes: list<node> }`",
            ));
        };
        drop(record);
        let ValueType::Variant(node) = nodes.element_ty() else {
            return Err(shape("value", "`nodes` is not a list of a variant"));
        };
        let cases = node.cases();
        let names: Vec<&str> = cases.iter().map(|c| c.name()).collect();
        if names != CASES {
            return Err(shape(
                "node",
                format!("its cases are {names:?}, expected {CASES:?}"),
            ));
        }
        let case = |i: usize| cases[i].ty();
        let ok = case(NULL).is_none()
            && case(BOOLEAN) == Some(ValueType::Bool)
            && case(NUMBER) == Some(ValueType::F64)
            && case(TEXT) == Some(ValueType::String);
        if !ok {
            return Err(shape("node", "a scalar case has the wrong payload"));
        }
        let Some(ValueType::List(bytes)) = case(BYTES) else {
            return Err(shape("node", "`bytes` is not a list"));
        };
        let Some(ValueType::List(array)) = case(ARRAY) else {
            return Err(shape("node", "`array` is not a list"));
        };
        let Some(ValueType::List(object)) = case(OBJECT) else {
            return Err(shape("node", "`object` is not a list"));
        };
        let ValueType::Tuple(member) = object.element_ty() else {
            return Err(shape("node", "`object` is not a list of tuples"));
        };
        let ok = bytes.element_ty() == ValueType::U8
            && array.element_ty() == ValueType::U32
            && member.fields() == [ValueType::String, ValueType::U32];
        if !ok {
            return Err(shape("node", "a container case has the wrong payload"));
        }
        Ok(ValueTypes {
            fields: fields.clone(),
            field: field.clone(),
            value,
            nodes: nodes.clone(),
            node: node.clone(),
            array,
            object,
            member,
        })
    }

    fn case(&self, index: usize, payload: Option<Value>) -> Value {
        Value::Variant(
            Variant::new(self.node.clone(), index, payload)
                .expect("payloads are built with the case's own type"),
        )
    }

    /// A JSON value as a `value` record.
    pub fn to_value(&self, json: &Json) -> Result<Value, ValueError> {
        let mut nodes: Vec<Option<Value>> = Vec::new();
        self.push(json, 0, &mut nodes)?;
        let nodes = nodes
            .into_iter()
            .map(|n| n.expect("every reserved slot is filled"));
        let list = List::new(self.nodes.clone(), nodes).expect("nodes have the node type");
        Ok(Value::Record(
            Record::new(self.value.clone(), [("nodes", Value::List(list))])
                .expect("the record has its one field"),
        ))
    }

    /// Appends `json` and its descendants in pre-order; returns its index.
    fn push(
        &self,
        json: &Json,
        depth: usize,
        nodes: &mut Vec<Option<Value>>,
    ) -> Result<u32, ValueError> {
        if depth > MAX_DEPTH {
            return Err(ValueError::TooDeep);
        }
        if nodes.len() >= MAX_NODES {
            return Err(ValueError::TooLarge);
        }
        let at = nodes.len();
        let index = u32::try_from(at).map_err(|_| ValueError::TooLarge)?;
        nodes.push(None);
        let node = match json {
            Json::Null => self.case(NULL, None),
            Json::Bool(b) => self.case(BOOLEAN, Some(Value::Bool(*b))),
            Json::Number(n) => self.case(NUMBER, Some(Value::F64(n.as_f64().unwrap_or(0.0)))),
            Json::String(s) => self.case(TEXT, Some(Value::String(Arc::from(s.as_str())))),
            Json::Array(items) => {
                let mut children = Vec::with_capacity(items.len());
                for item in items {
                    children.push(Value::U32(self.push(item, depth + 1, nodes)?));
                }
                let list = List::new(self.array.clone(), children).expect("u32 indices");
                self.case(ARRAY, Some(Value::List(list)))
            }
            Json::Object(members) => {
                let mut children = Vec::with_capacity(members.len());
                for (key, item) in members {
                    let child = self.push(item, depth + 1, nodes)?;
                    let member = Tuple::new(
                        self.member.clone(),
                        [Value::String(Arc::from(key.as_str())), Value::U32(child)],
                    )
                    .expect("(string, u32)");
                    children.push(Value::Tuple(member));
                }
                let list = List::new(self.object.clone(), children).expect("members");
                self.case(OBJECT, Some(Value::List(list)))
            }
        };
        nodes[at] = Some(node);
        Ok(index)
    }

    /// Named JSON values as `fields`.
    pub fn to_fields<'a>(
        &self,
        items: impl IntoIterator<Item = (&'a str, &'a Json)>,
    ) -> Result<Value, ValueError> {
        let mut list = Vec::new();
        for (name, json) in items {
            let tuple = Tuple::new(
                self.field.clone(),
                [Value::String(Arc::from(name)), self.to_value(json)?],
            )
            .expect("(string, value)");
            list.push(Value::Tuple(tuple));
        }
        Ok(Value::List(
            List::new(self.fields.clone(), list).expect("field tuples"),
        ))
    }
}

/// A `value` record from a guest as JSON, after checking its tree.
pub fn to_json(value: &Value) -> Result<Json, ValueError> {
    let Value::Record(record) = value else {
        return Err(shape("value", "not a record"));
    };
    let Some(Value::List(nodes)) = record.field("nodes") else {
        return Err(shape("value", "no `nodes` list"));
    };
    let nodes: Vec<Value> = nodes.iter().collect();
    if nodes.is_empty() {
        return Err(ValueError::Empty);
    }
    if nodes.len() > MAX_NODES {
        return Err(ValueError::TooLarge);
    }
    let mut used = vec![false; nodes.len()];
    used[0] = true;
    let json = node_json(&nodes, 0, 0, &mut used)?;
    if let Some(unused) = used.iter().position(|u| !u) {
        return Err(ValueError::Unused(unused));
    }
    Ok(json)
}

fn child(
    nodes: &[Value],
    parent: usize,
    index: u32,
    used: &mut [bool],
) -> Result<usize, ValueError> {
    let i = index as usize;
    if i <= parent || i >= nodes.len() {
        return Err(ValueError::BadIndex {
            parent,
            child: index,
        });
    }
    if std::mem::replace(&mut used[i], true) {
        return Err(ValueError::Shared(i));
    }
    Ok(i)
}

fn node_json(
    nodes: &[Value],
    at: usize,
    depth: usize,
    used: &mut [bool],
) -> Result<Json, ValueError> {
    if depth > MAX_DEPTH {
        return Err(ValueError::TooDeep);
    }
    let Value::Variant(v) = &nodes[at] else {
        return Err(shape("node", "not a variant"));
    };
    let payload = v.value();
    Ok(match (v.discriminant(), payload) {
        (NULL, _) => Json::Null,
        (BOOLEAN, Some(Value::Bool(b))) => Json::Bool(b),
        (NUMBER, Some(Value::F64(x))) => number_json(x),
        (TEXT, Some(Value::String(s))) => Json::String(s.to_string()),
        (BYTES, Some(Value::List(bytes))) => {
            let raw: Vec<u8> = match bytes.typed::<u8>() {
                Ok(slice) => slice.to_vec(),
                Err(_) => return Err(shape("node", "`bytes` is not a list of u8")),
            };
            Json::String(bytes_url(&raw))
        }
        (ARRAY, Some(Value::List(items))) => {
            let indices = items
                .typed::<u32>()
                .map_err(|_| shape("node", "`array` is not a list of u32"))?
                .to_vec();
            let mut out = Vec::with_capacity(indices.len());
            for index in indices {
                let i = child(nodes, at, index, used)?;
                out.push(node_json(nodes, i, depth + 1, used)?);
            }
            Json::Array(out)
        }
        (OBJECT, Some(Value::List(members))) => {
            let mut out = Map::new();
            for member in members.iter() {
                let Value::Tuple(t) = member else {
                    return Err(shape("node", "an object member is not a tuple"));
                };
                let (Some(Value::String(key)), Some(Value::U32(index))) = (t.first(), t.get(1))
                else {
                    return Err(shape("node", "an object member is not (string, u32)"));
                };
                let i = child(nodes, at, *index, used)?;
                let value = node_json(nodes, i, depth + 1, used)?;
                if out.insert(key.to_string(), value).is_some() {
                    return Err(ValueError::DuplicateKey {
                        node: at,
                        key: key.to_string(),
                    });
                }
            }
            Json::Object(out)
        }
        (case, _) => {
            return Err(shape(
                "node",
                format!("case {case} carries the wrong payload"),
            ));
        }
    })
}

/// The JSON form of a double (see the module documentation).
pub fn number_json(x: f64) -> Json {
    if x.is_finite() && x.fract() == 0.0 && x.abs() <= MAX_EXACT_INT {
        // Exact: |x| ≤ 2^53 fits an i64 with no rounding.
        return Json::Number(Number::from(x as i64));
    }
    Number::from_f64(x).map_or(Json::Null, Json::Number)
}

/// The JSON text form of raw bytes.
pub fn bytes_url(bytes: &[u8]) -> String {
    format!(
        "data:application/octet-stream;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// Named values from a guest's `fields` as a JSON object.
pub fn fields_to_json(fields: &Value) -> Result<Map<String, Json>, ValueError> {
    let Value::List(list) = fields else {
        return Err(shape("fields", "not a list"));
    };
    let mut out = Map::new();
    for item in list.iter() {
        let Value::Tuple(t) = item else {
            return Err(shape("fields", "an element is not a tuple"));
        };
        let mut parts = t.iter();
        let (Some(Value::String(name)), Some(value)) = (parts.next(), parts.next()) else {
            return Err(shape("fields", "an element is not (string, value)"));
        };
        let json = to_json(value)?;
        if out.insert(name.to_string(), json).is_some() {
            return Err(ValueError::DuplicateKey {
                node: 0,
                key: name.to_string(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wasm_component_layer::{TypeIdentifier, VariantCase};

    /// The world's types, built by hand as a component would declare them.
    fn types() -> ValueTypes {
        let member = TupleType::new(None, [ValueType::String, ValueType::U32]);
        let node = VariantType::new(
            Some(TypeIdentifier::new("node", None)),
            [
                VariantCase::new("null", None),
                VariantCase::new("boolean", Some(ValueType::Bool)),
                VariantCase::new("number", Some(ValueType::F64)),
                VariantCase::new("text", Some(ValueType::String)),
                VariantCase::new("bytes", Some(ValueType::List(ListType::new(ValueType::U8)))),
                VariantCase::new(
                    "array",
                    Some(ValueType::List(ListType::new(ValueType::U32))),
                ),
                VariantCase::new(
                    "object",
                    Some(ValueType::List(ListType::new(ValueType::Tuple(member)))),
                ),
            ],
        )
        .unwrap();
        let value = RecordType::new(
            Some(TypeIdentifier::new("value", None)),
            [(
                "nodes",
                ValueType::List(ListType::new(ValueType::Variant(node))),
            )],
        )
        .unwrap();
        let field = TupleType::new(None, [ValueType::String, ValueType::Record(value)]);
        ValueTypes::from_fields(&ValueType::List(ListType::new(ValueType::Tuple(field)))).unwrap()
    }

    fn round_trip(j: &Json) -> Json {
        to_json(&types().to_value(j).unwrap()).unwrap()
    }

    #[test]
    fn json_round_trips_through_nodes() {
        let v = json!({"a": [1, 2.5, -0.125, null, true, "x"], "b": {"c": {"d": []}}, "e": {}});
        assert_eq!(round_trip(&v), v);
        assert_eq!(round_trip(&json!("only")), json!("only"));
    }

    #[test]
    fn numbers_have_one_json_form() {
        assert_eq!(number_json(3.0).to_string(), "3");
        assert_eq!(number_json(-0.0).to_string(), "0");
        assert_eq!(number_json(0.1 + 0.2).to_string(), "0.30000000000000004");
        assert_eq!(
            number_json(9_007_199_254_740_992.0).to_string(),
            "9007199254740992"
        );
        assert_eq!(number_json(1e300).to_string(), "1e+300");
        assert_eq!(number_json(f64::NAN), Json::Null);
        assert_eq!(number_json(f64::INFINITY), Json::Null);
    }

    fn raw(nodes: Vec<Value>) -> Value {
        let t = types();
        Value::Record(
            Record::new(
                t.value.clone(),
                [(
                    "nodes",
                    Value::List(List::new(t.nodes.clone(), nodes).unwrap()),
                )],
            )
            .unwrap(),
        )
    }

    fn array(t: &ValueTypes, children: &[u32]) -> Value {
        t.case(
            ARRAY,
            Some(Value::List(
                List::new(t.array.clone(), children.iter().map(|&c| Value::U32(c))).unwrap(),
            )),
        )
    }

    #[test]
    fn refuses_trees_that_loop_share_or_dangle() {
        let t = types();
        let one = t.case(NUMBER, Some(Value::F64(1.0)));
        // Points at itself.
        let err = to_json(&raw(vec![array(&t, &[0])])).unwrap_err();
        assert_eq!(
            err,
            ValueError::BadIndex {
                parent: 0,
                child: 0
            }
        );
        // Points past the end.
        let err = to_json(&raw(vec![array(&t, &[5])])).unwrap_err();
        assert!(matches!(err, ValueError::BadIndex { .. }));
        // Two parents share a child: [[x], [x]] would double per level.
        let err = to_json(&raw(vec![array(&t, &[1, 1]), one.clone()])).unwrap_err();
        assert_eq!(err, ValueError::Shared(1));
        // A node outside the tree.
        let err = to_json(&raw(vec![one.clone(), one])).unwrap_err();
        assert_eq!(err, ValueError::Unused(1));
        assert_eq!(to_json(&raw(vec![])).unwrap_err(), ValueError::Empty);
    }

    #[test]
    fn bytes_become_data_urls() {
        let t = types();
        let Some(ValueType::List(bytes_ty)) = t.node.cases()[BYTES].ty() else {
            unreachable!("checked by from_fields");
        };
        let bytes = t.case(
            BYTES,
            Some(Value::List(
                List::new(bytes_ty, [Value::U8(1), Value::U8(2), Value::U8(255)]).unwrap(),
            )),
        );
        assert_eq!(
            to_json(&raw(vec![bytes])).unwrap(),
            json!("data:application/octet-stream;base64,AQL/")
        );
    }

    #[test]
    fn refuses_values_nested_too_deeply() {
        let mut deep = json!(1);
        for _ in 0..(MAX_DEPTH + 2) {
            deep = json!([deep]);
        }
        assert_eq!(types().to_value(&deep).unwrap_err(), ValueError::TooDeep);
    }

    #[test]
    fn fields_keep_their_names() {
        let t = types();
        let a = json!([1, 2]);
        let b = json!({"k": "v"});
        let fields = t.to_fields([("a", &a), ("b", &b)]).unwrap();
        let back = fields_to_json(&fields).unwrap();
        assert_eq!(Json::Object(back), json!({"a": [1, 2], "b": {"k": "v"}}));
    }
}
