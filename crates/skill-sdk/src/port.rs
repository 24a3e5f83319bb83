//! Which Rust types a port may have, the port type each one declares, and
//! how values turn into them and back.
//!
//! | Rust type | port type | accepts |
//! |---|---|---|
//! | `f64`, `f32` | `number` | any number |
//! | `i8` … `i64`, `u8` … `u64`, `isize`, `usize` | `number` | an integral number in the type's range |
//! | `bool` | `boolean` | a boolean |
//! | `String` | `string` | text |
//! | [`Bytes`] | `string` | bytes, or a `data:…;base64,` text |
//! | `Vec<T>` | `array` | an array whose every element `T` accepts |
//! | [`Map`], `BTreeMap<String, T>` | `object` | an object whose every member `T` accepts |
//! | [`Image`], [`Mesh`], [`Waveform`] | `image`, `mesh`, `waveform` | any value |
//! | [`Value`] | `any` | any value, null included |
//!
//! `Option<T>` of any of these declares the same type with `required:
//! false`: a missing input (or a null one, unless `T` accepts null) is
//! `None`, and a `None` output is left out.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;

#[cfg(doc)]
use crate::value::Map;
use crate::value::{Bytes, Image, Mesh, Value, Waveform};

/// The port types of skill files (and of the skill world).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortType {
    Number,
    String,
    Boolean,
    Array,
    Object,
    Image,
    Mesh,
    Waveform,
    Any,
}

impl PortType {
    /// The name skill files use.
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

/// A port as `describe` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortInfo {
    pub name: &'static str,
    pub ty: PortType,
    pub required: bool,
}

/// Why a value does not fit a port's type: `path` leads from the port's
/// value to the part that does not fit (`[3]`, `.gain`, empty for the
/// whole value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueMismatch {
    pub path: String,
    pub expected: String,
    pub found: String,
}

impl ValueMismatch {
    /// `expected` is a phrase such as "a number"; `found` is described
    /// from the value.
    pub fn new(expected: impl Into<String>, found: &Value) -> Self {
        let found = match found {
            Value::Number(n) => format!("the number {n}"),
            Value::Text(t) if t.chars().count() <= 32 => format!("the text {t:?}"),
            other => other.kind().to_owned(),
        };
        ValueMismatch {
            path: String::new(),
            expected: expected.into(),
            found,
        }
    }

    fn within(mut self, step: String) -> Self {
        self.path.insert_str(0, &step);
        self
    }
}

impl fmt::Display for ValueMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.path.is_empty() {
            write!(f, "{} ", self.path)?;
        }
        write!(f, "must be {}, found {}", self.expected, self.found)
    }
}

/// A type a port's value may have (see the table in the module docs).
pub trait PortValue: Sized {
    const PORT_TYPE: PortType;

    fn from_value(value: Value) -> Result<Self, ValueMismatch>;

    fn into_value(self) -> Value;
}

/// The type of an input parameter: a [`PortValue`] (required) or an
/// `Option` of one (not required).
pub trait Input: Sized {
    const PORT_TYPE: PortType;
    const REQUIRED: bool;

    /// `None` when the input has no value.
    fn from_input(value: Option<Value>) -> Result<Self, InputProblem>;
}

/// Why an input cannot be passed to the skill's function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputProblem {
    Missing,
    Mismatch(ValueMismatch),
}

impl<T: PortValue> Input for T {
    const PORT_TYPE: PortType = T::PORT_TYPE;
    const REQUIRED: bool = true;

    fn from_input(value: Option<Value>) -> Result<Self, InputProblem> {
        let value = value.ok_or(InputProblem::Missing)?;
        T::from_value(value).map_err(InputProblem::Mismatch)
    }
}

impl<T: PortValue> Input for Option<T> {
    const PORT_TYPE: PortType = T::PORT_TYPE;
    const REQUIRED: bool = false;

    fn from_input(value: Option<Value>) -> Result<Self, InputProblem> {
        match value {
            None => Ok(None),
            // Null is "no value" for every type that does not itself take
            // null (only `Value` does).
            Some(Value::Null) => Ok(T::from_value(Value::Null).ok()),
            Some(v) => T::from_value(v).map(Some).map_err(InputProblem::Mismatch),
        }
    }
}

/// The type of an output field: a [`PortValue`] (always present) or an
/// `Option` of one (left out when `None`).
pub trait Output {
    const PORT_TYPE: PortType;
    const ALWAYS: bool;

    fn into_output(self) -> Option<Value>;
}

impl<T: PortValue> Output for T {
    const PORT_TYPE: PortType = T::PORT_TYPE;
    const ALWAYS: bool = true;

    fn into_output(self) -> Option<Value> {
        Some(self.into_value())
    }
}

impl<T: PortValue> Output for Option<T> {
    const PORT_TYPE: PortType = T::PORT_TYPE;
    const ALWAYS: bool = false;

    fn into_output(self) -> Option<Value> {
        self.map(PortValue::into_value)
    }
}

impl PortValue for f64 {
    const PORT_TYPE: PortType = PortType::Number;

    fn from_value(value: Value) -> Result<Self, ValueMismatch> {
        match value {
            Value::Number(n) => Ok(n),
            other => Err(ValueMismatch::new("a number", &other)),
        }
    }

    fn into_value(self) -> Value {
        Value::Number(self)
    }
}

impl PortValue for f32 {
    const PORT_TYPE: PortType = PortType::Number;

    fn from_value(value: Value) -> Result<Self, ValueMismatch> {
        f64::from_value(value).map(|n| n as f32)
    }

    fn into_value(self) -> Value {
        Value::Number(f64::from(self))
    }
}

macro_rules! integer_port {
    ($($t:ty),*) => {$(
        impl PortValue for $t {
            const PORT_TYPE: PortType = PortType::Number;

            fn from_value(value: Value) -> Result<Self, ValueMismatch> {
                let expected = || format!("an integer from {} to {}", <$t>::MIN, <$t>::MAX);
                let Value::Number(n) = value else {
                    return Err(ValueMismatch::new(expected(), &value));
                };
                // MIN is a power of two (or zero) and so exact as a double;
                // MAX + 1 is too, while MAX itself may round up to it.
                let min = <$t>::MIN as f64;
                let past_max = (<$t>::MAX as f64 / 2.0 + 0.5) * 2.0;
                if n.fract() != 0.0 || !(min..past_max).contains(&n) {
                    return Err(ValueMismatch::new(expected(), &value));
                }
                Ok(n as $t)
            }

            fn into_value(self) -> Value {
                Value::Number(self as f64)
            }
        }
    )*};
}

integer_port!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

impl PortValue for bool {
    const PORT_TYPE: PortType = PortType::Boolean;

    fn from_value(value: Value) -> Result<Self, ValueMismatch> {
        match value {
            Value::Bool(b) => Ok(b),
            other => Err(ValueMismatch::new("a boolean", &other)),
        }
    }

    fn into_value(self) -> Value {
        Value::Bool(self)
    }
}

impl PortValue for String {
    const PORT_TYPE: PortType = PortType::String;

    fn from_value(value: Value) -> Result<Self, ValueMismatch> {
        match value {
            Value::Text(s) => Ok(s),
            other => Err(ValueMismatch::new("text", &other)),
        }
    }

    fn into_value(self) -> Value {
        Value::Text(self)
    }
}

impl PortValue for Bytes {
    const PORT_TYPE: PortType = PortType::String;

    fn from_value(value: Value) -> Result<Self, ValueMismatch> {
        let expected = "bytes or a `data:…;base64,` text";
        match value {
            Value::Bytes(b) => Ok(Bytes(b)),
            Value::Text(t) => decode_data_url(&t)
                .map(Bytes)
                .ok_or_else(|| ValueMismatch::new(expected, &Value::Text(t))),
            other => Err(ValueMismatch::new(expected, &other)),
        }
    }

    fn into_value(self) -> Value {
        Value::Bytes(self.0)
    }
}

/// The bytes of `data:<media type>;base64,<data>`.
fn decode_data_url(text: &str) -> Option<Vec<u8>> {
    let rest = text.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    if !meta.ends_with(";base64") {
        return None;
    }
    base64::engine::general_purpose::STANDARD.decode(data).ok()
}

impl<T: PortValue> PortValue for Vec<T> {
    const PORT_TYPE: PortType = PortType::Array;

    fn from_value(value: Value) -> Result<Self, ValueMismatch> {
        match value {
            Value::Array(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| T::from_value(v).map_err(|e| e.within(format!("[{i}]"))))
                .collect(),
            other => Err(ValueMismatch::new("an array", &other)),
        }
    }

    fn into_value(self) -> Value {
        Value::Array(self.into_iter().map(PortValue::into_value).collect())
    }
}

impl<T: PortValue> PortValue for BTreeMap<String, T> {
    const PORT_TYPE: PortType = PortType::Object;

    fn from_value(value: Value) -> Result<Self, ValueMismatch> {
        match value {
            Value::Object(members) => members
                .into_iter()
                .map(|(k, v)| match T::from_value(v) {
                    Ok(v) => Ok((k, v)),
                    Err(e) => Err(e.within(format!(".{k}"))),
                })
                .collect(),
            other => Err(ValueMismatch::new("an object", &other)),
        }
    }

    fn into_value(self) -> Value {
        Value::Object(self.into_iter().map(|(k, v)| (k, v.into_value())).collect())
    }
}

impl PortValue for Value {
    const PORT_TYPE: PortType = PortType::Any;

    fn from_value(value: Value) -> Result<Self, ValueMismatch> {
        Ok(value)
    }

    fn into_value(self) -> Value {
        self
    }
}

macro_rules! open_port {
    ($($t:ident => $ty:ident),*) => {$(
        impl PortValue for $t {
            const PORT_TYPE: PortType = PortType::$ty;

            fn from_value(value: Value) -> Result<Self, ValueMismatch> {
                Ok($t(value))
            }

            fn into_value(self) -> Value {
                self.0
            }
        }
    )*};
}

open_port!(Image => Image, Mesh => Mesh, Waveform => Waveform);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Map;

    fn port<T: Input>() -> (PortType, bool) {
        (T::PORT_TYPE, T::REQUIRED)
    }

    fn output<T: Output>() -> (PortType, bool) {
        (T::PORT_TYPE, T::ALWAYS)
    }

    #[test]
    fn rust_types_map_to_the_port_types_of_skill_files() {
        assert_eq!(port::<f64>(), (PortType::Number, true));
        assert_eq!(port::<u32>(), (PortType::Number, true));
        assert_eq!(port::<Option<i64>>(), (PortType::Number, false));
        assert_eq!(port::<bool>(), (PortType::Boolean, true));
        assert_eq!(port::<String>(), (PortType::String, true));
        assert_eq!(port::<Bytes>(), (PortType::String, true));
        assert_eq!(port::<Vec<f64>>(), (PortType::Array, true));
        assert_eq!(port::<Vec<Vec<String>>>(), (PortType::Array, true));
        assert_eq!(port::<Map>(), (PortType::Object, true));
        assert_eq!(port::<BTreeMap<String, f64>>(), (PortType::Object, true));
        assert_eq!(port::<Image>(), (PortType::Image, true));
        assert_eq!(port::<Mesh>(), (PortType::Mesh, true));
        assert_eq!(port::<Option<Waveform>>(), (PortType::Waveform, false));
        assert_eq!(port::<Value>(), (PortType::Any, true));
        assert_eq!(output::<Option<f64>>(), (PortType::Number, false));
        assert_eq!(output::<Vec<u8>>(), (PortType::Array, true));
    }

    #[test]
    fn integers_must_be_integral_and_in_range() {
        assert_eq!(u8::from_value(Value::Number(255.0)), Ok(255));
        assert_eq!(i8::from_value(Value::Number(-128.0)), Ok(-128));
        let err = u8::from_value(Value::Number(256.0)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "must be an integer from 0 to 255, found the number 256"
        );
        let err = u32::from_value(Value::Number(2.5)).unwrap_err();
        assert!(err.to_string().contains("found the number 2.5"), "{err}");
        assert!(u32::from_value(Value::Number(-1.0)).is_err());
        assert!(i32::from_value(Value::Number(f64::NAN)).is_err());
        assert!(i64::from_value(Value::Number(f64::INFINITY)).is_err());
        // 2^63 is past i64::MAX even though i64::MAX rounds to it as a double.
        assert!(i64::from_value(Value::Number(9_223_372_036_854_775_808.0)).is_err());
        assert_eq!(
            i64::from_value(Value::Number(-9_223_372_036_854_775_808.0)),
            Ok(i64::MIN)
        );
        assert!(u64::from_value(Value::Number(18_446_744_073_709_551_616.0)).is_err());
        assert_eq!(
            u64::from_value(Value::Number(9_007_199_254_740_992.0)),
            Ok(1 << 53)
        );
        assert!(u16::from_value(Value::Text("3".into())).is_err());
    }

    #[test]
    fn nested_mismatches_name_the_element() {
        let v = Value::Array(vec![Value::Number(1.0), Value::Text("two".into())]);
        let err = Vec::<f64>::from_value(v).unwrap_err();
        assert_eq!(
            err.to_string(),
            "[1] must be a number, found the text \"two\""
        );
        let v = Value::object([("a", Value::from(vec![Value::Bool(true)]))]);
        let err = BTreeMap::<String, Vec<f64>>::from_value(v).unwrap_err();
        assert_eq!(err.to_string(), ".a[0] must be a number, found a boolean");
    }

    #[test]
    fn bytes_accept_bytes_and_base64_data_urls() {
        assert_eq!(
            Bytes::from_value(Value::Bytes(vec![1, 2])),
            Ok(Bytes(vec![1, 2]))
        );
        assert_eq!(
            Bytes::from_value(Value::Text(
                "data:application/octet-stream;base64,AQID".into()
            )),
            Ok(Bytes(vec![1, 2, 3]))
        );
        assert_eq!(
            Bytes::from_value(Value::Text("data:image/png;base64,/w==".into())),
            Ok(Bytes(vec![255]))
        );
        for bad in ["AQID", "data:text/plain,hello", "data:;base64,***"] {
            assert!(Bytes::from_value(Value::Text(bad.into())).is_err(), "{bad}");
        }
        assert_eq!(Bytes(vec![7]).into_value(), Value::Bytes(vec![7]));
    }

    #[test]
    fn optional_inputs_treat_missing_and_null_as_none() {
        assert_eq!(Option::<f64>::from_input(None), Ok(None));
        assert_eq!(Option::<f64>::from_input(Some(Value::Null)), Ok(None));
        assert_eq!(
            Option::<f64>::from_input(Some(Value::Number(2.0))),
            Ok(Some(2.0))
        );
        assert!(matches!(
            Option::<f64>::from_input(Some(Value::Bool(true))),
            Err(InputProblem::Mismatch(_))
        ));
        // `Value` takes null as a value of its own.
        assert_eq!(
            Option::<Value>::from_input(Some(Value::Null)),
            Ok(Some(Value::Null))
        );
        assert_eq!(f64::from_input(None), Err(InputProblem::Missing));
        assert_eq!(Value::from_input(Some(Value::Null)), Ok(Value::Null));
    }

    #[test]
    fn none_outputs_are_left_out() {
        assert_eq!(None::<f64>.into_output(), None);
        assert_eq!(Some(1.5).into_output(), Some(Value::Number(1.5)));
        assert_eq!(
            vec![1u8, 2].into_output(),
            Some(Value::from(vec![1.0, 2.0]))
        );
    }
}
