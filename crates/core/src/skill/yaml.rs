//! Loading front matter YAML into an ordered tree, under a budget.
//!
//! `serde_norway` parses; this module supplies the visitor that builds the
//! tree, so that it can (1) refuse duplicate keys at every depth with the
//! path of the offending mapping, (2) count every node it builds, aliases
//! included, and stop at [`MAX_NODES`] or [`MAX_DEPTH`] — an alias bomb
//! ("billion laughs") then costs at most that many nodes of work instead of
//! exponential memory — and (3) refuse YAML features that have no JSON
//! meaning (tags, non-scalar keys, binary, non-finite floats), so that the
//! front matter always converts to the JSON the API returns.
//!
//! `serde_norway` limits alias replays to 100 × the number of events, which
//! stops exponential bombs but still lets a 256 KiB file expand to billions
//! of nodes (a 50 000-item list aliased 40 000 times); the node budget closes
//! that gap.

use std::cell::{Cell, RefCell};
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// Most nodes (scalars, sequences, mappings) a front matter may expand to.
/// Real front matter has a few hundred; the cap keeps the worst case at a
/// few megabytes and milliseconds.
pub const MAX_NODES: usize = 20_000;

/// Deepest nesting accepted; skill front matter needs about four levels.
pub const MAX_DEPTH: usize = 32;

/// A YAML value with the mapping order of the file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Yaml {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Yaml>),
    Map(Vec<(String, Yaml)>),
}

impl Yaml {
    /// What the value is, in words, for type errors.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Yaml::Null => "null",
            Yaml::Bool(_) => "a boolean",
            Yaml::Int(_) | Yaml::UInt(_) | Yaml::Float(_) => "a number",
            Yaml::Str(_) => "a string",
            Yaml::Seq(_) => "a list",
            Yaml::Map(_) => "a mapping",
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Yaml> {
        match self {
            Yaml::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value as JSON; mappings become objects, numbers stay numbers.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Yaml::Null => Value::Null,
            Yaml::Bool(b) => Value::Bool(*b),
            Yaml::Int(i) => Value::from(*i),
            Yaml::UInt(u) => Value::from(*u),
            // Non-finite floats are refused while loading.
            Yaml::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Yaml::Str(s) => Value::String(s.clone()),
            Yaml::Seq(items) => Value::Array(items.iter().map(Yaml::to_json).collect()),
            Yaml::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// One step of a path into the front matter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// Renders a path as `inputs[1].type`.
pub(crate) fn path_string(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
}

/// Why loading failed, before lines are attached.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LoadError {
    /// YAML syntax; `line` and `column` are 1-based within the YAML text.
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// `key` occurs twice in the mapping at `path`.
    Duplicate { path: Vec<Seg>, key: String },
    /// The node or depth budget ran out.
    TooComplex { limit: usize },
    /// A YAML feature without a JSON meaning, at `path`.
    Unsupported { path: Vec<Seg>, what: &'static str },
}

/// Parses `text` (one YAML document) into a [`Yaml`] tree.
pub(crate) fn load(text: &str) -> Result<Yaml, LoadError> {
    let state = State {
        nodes: Cell::new(0),
        failure: RefCell::new(None),
    };
    let de = serde_norway::Deserializer::from_str(text);
    let result = NodeSeed {
        state: &state,
        path: Vec::new(),
    }
    .deserialize(de);
    match result {
        Ok(value) => Ok(value),
        Err(err) => {
            if let Some(failure) = state.failure.into_inner() {
                return Err(failure);
            }
            if err.to_string().contains("repetition limit") {
                return Err(LoadError::TooComplex { limit: MAX_NODES });
            }
            if err.to_string().contains("recursion limit") {
                return Err(LoadError::TooComplex { limit: MAX_DEPTH });
            }
            let (line, column) = err
                .location()
                .map_or((1, 1), |loc| (loc.line(), loc.column()));
            Err(LoadError::Syntax {
                line,
                column,
                message: strip_location(&err.to_string()),
            })
        }
    }
}

/// serde_norway appends " at line L column C" to its messages (also to
/// the context of a nested error); the error type carries the position
/// separately, so drop those parts from the text.
fn strip_location(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(pos) = rest.find(" at line ") {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos + " at line ".len()..];
        let digits = |s: &str| s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let n = digits(tail);
        let after_line = &tail[n..];
        match after_line.strip_prefix(" column ") {
            Some(col) if n > 0 => rest = &col[digits(col)..],
            _ => {
                out.push_str(" at line ");
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

struct State {
    nodes: Cell<usize>,
    failure: RefCell<Option<LoadError>>,
}

impl State {
    fn fail<E: de::Error>(&self, failure: LoadError) -> E {
        let message = format!("{failure:?}");
        let mut slot = self.failure.borrow_mut();
        if slot.is_none() {
            *slot = Some(failure);
        }
        E::custom(message)
    }

    fn count<E: de::Error>(&self, path: &[Seg]) -> Result<(), E> {
        let n = self.nodes.get() + 1;
        self.nodes.set(n);
        if n > MAX_NODES {
            return Err(self.fail(LoadError::TooComplex { limit: MAX_NODES }));
        }
        if path.len() > MAX_DEPTH {
            return Err(self.fail(LoadError::TooComplex { limit: MAX_DEPTH }));
        }
        Ok(())
    }
}

struct NodeSeed<'s> {
    state: &'s State,
    path: Vec<Seg>,
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'_> {
    type Value = Yaml;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Yaml, D::Error> {
        self.state.count(&self.path)?;
        deserializer.deserialize_any(self)
    }
}

impl NodeSeed<'_> {
    fn unsupported<E: de::Error>(&self, what: &'static str) -> E {
        self.state.fail(LoadError::Unsupported {
            path: self.path.clone(),
            what,
        })
    }
}

impl<'de> Visitor<'de> for NodeSeed<'_> {
    type Value = Yaml;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Yaml, E> {
        Ok(Yaml::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Yaml, E> {
        Ok(Yaml::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Yaml, E> {
        Ok(Yaml::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Yaml, E> {
        Ok(Yaml::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Yaml, E> {
        Ok(Yaml::UInt(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Yaml, E> {
        if v.is_finite() {
            Ok(Yaml::Float(v))
        } else {
            Err(self.unsupported("a non-finite number (.nan, .inf)"))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Yaml, E> {
        Ok(Yaml::Str(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Yaml, E> {
        Ok(Yaml::Str(v))
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Yaml, E> {
        Err(self.unsupported("binary data"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Yaml, A::Error> {
        let mut items = Vec::new();
        loop {
            let mut path = self.path.clone();
            path.push(Seg::Index(items.len()));
            let seed = NodeSeed {
                state: self.state,
                path,
            };
            match seq.next_element_seed(seed)? {
                Some(item) => items.push(item),
                None => break,
            }
        }
        Ok(Yaml::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Yaml, A::Error> {
        let mut entries: Vec<(String, Yaml)> = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed {
            state: self.state,
            path: &self.path,
        })? {
            if entries.iter().any(|(k, _)| *k == key) {
                return Err(self.state.fail(LoadError::Duplicate {
                    path: self.path.clone(),
                    key,
                }));
            }
            let mut path = self.path.clone();
            path.push(Seg::Key(key.clone()));
            let value = map.next_value_seed(NodeSeed {
                state: self.state,
                path,
            })?;
            entries.push((key, value));
        }
        Ok(Yaml::Map(entries))
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<Yaml, A::Error> {
        Err(self.unsupported("a YAML tag (`!name`)"))
    }
}

/// Mapping keys: scalars only, kept as the text JSON would use.
struct KeySeed<'s, 'p> {
    state: &'s State,
    path: &'p [Seg],
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_, '_> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        self.state.count(self.path)?;
        deserializer.deserialize_any(self)
    }
}

impl KeySeed<'_, '_> {
    fn non_scalar<E: de::Error>(&self) -> E {
        self.state.fail(LoadError::Unsupported {
            path: self.path.to_vec(),
            what: "a key that is not a string or number",
        })
    }
}

impl<'de> Visitor<'de> for KeySeed<'_, '_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a scalar key")
    }

    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Ok("null".to_owned())
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<String, E> {
        Err(self.non_scalar())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        Err(self.non_scalar())
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        Err(self.non_scalar())
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        Err(self.non_scalar())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_mapping_order_and_scalar_types() {
        let y = load("b: 1\na: [x, true, 2.5, ~]\nc: -3\n").unwrap();
        let Yaml::Map(entries) = &y else {
            panic!("{y:?}")
        };
        let keys: Vec<_> = entries.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b", "a", "c"]);
        assert_eq!(
            y.get("a"),
            Some(&Yaml::Seq(vec![
                Yaml::Str("x".into()),
                Yaml::Bool(true),
                Yaml::Float(2.5),
                Yaml::Null
            ]))
        );
        assert_eq!(y.get("c"), Some(&Yaml::Int(-3)));
    }

    #[test]
    fn reports_duplicate_keys_with_their_mapping_path() {
        let err = load("a: 1\nm:\n  - x: 1\n    x: 2\n").unwrap_err();
        assert_eq!(
            err,
            LoadError::Duplicate {
                path: vec![Seg::Key("m".into()), Seg::Index(0)],
                key: "x".into()
            }
        );
        let err = load("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(
            err,
            LoadError::Duplicate {
                path: vec![],
                key: "a".into()
            }
        );
    }

    #[test]
    fn refuses_exponential_alias_bombs() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        assert_eq!(
            load(&text).unwrap_err(),
            LoadError::TooComplex { limit: MAX_NODES }
        );
    }

    #[test]
    fn refuses_quadratic_alias_expansion() {
        // One wide list aliased many times: serde_norway's own replay limit
        // (100 × events) would allow this; the node budget does not.
        let wide = vec!["x"; 5_000].join(",");
        let refs = vec!["*w"; 5_000].join(",");
        let text = format!("w: &w [{wide}]\nb: [{refs}]\n");
        assert_eq!(
            load(&text).unwrap_err(),
            LoadError::TooComplex { limit: MAX_NODES }
        );
    }

    #[test]
    fn refuses_deep_nesting() {
        let text = format!("a: {}{}\n", "[".repeat(40), "]".repeat(40));
        assert!(matches!(
            load(&text).unwrap_err(),
            LoadError::TooComplex { .. }
        ));
    }

    #[test]
    fn reports_syntax_errors_with_position() {
        let err = load("a: 1\nb: [1, 2\n").unwrap_err();
        let LoadError::Syntax { line, message, .. } = err else {
            panic!("{err:?}")
        };
        assert_eq!(line, 3);
        assert!(!message.contains("at line"), "{message}");
        assert!(
            message.contains("while parsing a flow sequence"),
            "{message}"
        );
    }

    #[test]
    fn refuses_tags_and_non_scalar_keys() {
        assert!(matches!(
            load("a: !shell rm\n").unwrap_err(),
            LoadError::Unsupported { .. }
        ));
        assert!(matches!(
            load("? [a, b]\n: 1\n").unwrap_err(),
            LoadError::Unsupported { .. }
        ));
        assert!(matches!(
            load("a: .nan\n").unwrap_err(),
            LoadError::Unsupported { .. }
        ));
    }

    #[test]
    fn converts_to_json_in_order() {
        let y = load("z: 1\na: {b: [1, x]}\n").unwrap();
        assert_eq!(
            y.to_json(),
            serde_json::json!({"z": 1, "a": {"b": [1, "x"]}})
        );
    }
}
