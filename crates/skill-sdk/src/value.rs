//! The values a skill receives and returns, as Rust data.
//!
//! [`Value`] is the JSON-like tree that flows along workflow edges, with
//! one addition JSON lacks: raw [`Value::Bytes`] (which the host shows in
//! JSON as a `data:application/octet-stream;base64,…` URL). The wrappers
//! [`Bytes`], [`Image`], [`Mesh`] and [`Waveform`] give a port its
//! front-matter type while keeping the value itself open.

use std::collections::BTreeMap;

/// An object's members, sorted by key (as the host writes them to JSON).
pub type Map = BTreeMap<String, Value>;

/// A JSON-like value.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    /// Every number is a double; integral values up to 2^53 appear in JSON
    /// as integers.
    Number(f64),
    Text(String),
    Bytes(Vec<u8>),
    Array(Vec<Value>),
    Object(Map),
}

impl Value {
    /// The name of the value's kind, as error messages give it.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::Text(_) => "text",
            Value::Bytes(_) => "bytes",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(map) => Some(map),
            _ => None,
        }
    }

    /// The member `key` of an object; `None` for a missing key or a value
    /// that is not an object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object()?.get(key)
    }

    /// An object from `(key, value)` pairs; a later pair replaces an
    /// earlier one with the same key.
    pub fn object<K: Into<String>, V: Into<Value>>(
        members: impl IntoIterator<Item = (K, V)>,
    ) -> Value {
        Value::Object(
            members
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}

impl From<Map> for Value {
    fn from(map: Map) -> Self {
        Value::Object(map)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(items: Vec<T>) -> Self {
        Value::Array(items.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

macro_rules! number_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(n: $t) -> Self {
                // Integers above 2^53 round to the nearest double, as they
                // would in JSON.
                Value::Number(n as f64)
            }
        }
    )*};
}

number_from!(f64, f32, i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

/// Raw bytes. As an input it accepts a bytes value or a
/// `data:<type>;base64,<data>` text (which is how bytes travel in JSON);
/// as an output it is a bytes value, which the host shows in JSON as a
/// `data:application/octet-stream;base64,` URL. Its port type is `string`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bytes(pub Vec<u8>);

impl From<Vec<u8>> for Bytes {
    fn from(b: Vec<u8>) -> Self {
        Bytes(b)
    }
}

impl std::ops::Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

macro_rules! open_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct $name(pub Value);

        impl From<Value> for $name {
            fn from(v: Value) -> Self {
                $name(v)
            }
        }

        impl From<$name> for Value {
            fn from(v: $name) -> Self {
                v.0
            }
        }
    };
}

open_newtype!(
    /// An `image` port: a data URL or `{width, height, pixels}`, as the
    /// canvas previews show them. Any value is accepted.
    Image
);
open_newtype!(
    /// A `mesh` port: a mesh or scene description for the 3D preview. Any
    /// value is accepted.
    Mesh
);
open_newtype!(
    /// A `waveform` port: sampled signals, `{time: [...], signals: {name:
    /// [...]}}`; [`Waveform::new`] builds that shape. Any value is accepted.
    Waveform
);

impl Waveform {
    /// `{time, signals: {name: values, …}}`.
    pub fn new<N: Into<String>>(
        time: Vec<f64>,
        signals: impl IntoIterator<Item = (N, Vec<f64>)>,
    ) -> Waveform {
        let signals = Value::object(
            signals
                .into_iter()
                .map(|(name, values)| (name, Value::from(values))),
        );
        Waveform(Value::object([
            ("time", Value::from(time)),
            ("signals", signals),
        ]))
    }

    /// The sample times, when the value has the [`Waveform::new`] shape.
    pub fn time(&self) -> Option<Vec<f64>> {
        numbers(self.0.get("time")?)
    }

    /// The samples of one signal, when the value has the
    /// [`Waveform::new`] shape.
    pub fn signal(&self, name: &str) -> Option<Vec<f64>> {
        numbers(self.0.get("signals")?.get(name)?)
    }
}

fn numbers(v: &Value) -> Option<Vec<f64>> {
    v.as_array()?.iter().map(Value::as_f64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waveform_builds_the_canvas_shape_and_reads_it_back() {
        let w = Waveform::new(vec![0.0, 1.0], [("v(out)", vec![0.5, 0.25])]);
        assert_eq!(
            w.0.get("signals").and_then(|s| s.get("v(out)")),
            Some(&Value::Array(vec![Value::Number(0.5), Value::Number(0.25)]))
        );
        assert_eq!(w.time(), Some(vec![0.0, 1.0]));
        assert_eq!(w.signal("v(out)"), Some(vec![0.5, 0.25]));
        assert_eq!(w.signal("other"), None);
    }

    #[test]
    fn conversions_build_the_expected_values() {
        assert_eq!(Value::from(3u32), Value::Number(3.0));
        assert_eq!(
            Value::from(vec!["a", "b"]),
            Value::Array(vec!["a".into(), "b".into()])
        );
        assert_eq!(Value::from(None::<f64>), Value::Null);
        let o = Value::object([("k", 1.5), ("k", 2.5)]);
        assert_eq!(
            o.get("k"),
            Some(&Value::Number(2.5)),
            "a later key replaces an earlier one"
        );
        assert_eq!(Value::Null.get("k"), None);
    }
}
