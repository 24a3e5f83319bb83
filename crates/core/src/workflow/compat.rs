//! Which port types may be connected, and what a value of each type looks
//! like at run time.
//!
//! Rows are the source (output) type, columns the target (input) type:
//!
//! | from \ to | number | string | boolean | array | object | image | mesh | waveform | any |
//! |-----------|--------|--------|---------|-------|--------|-------|------|----------|-----|
//! | number    | =      | C      | ✗       | ✗     | ✗      | ✗     | ✗    | ✗        | W   |
//! | string    | ✗      | =      | ✗       | ✗     | ✗      | R     | ✗    | ✗        | W   |
//! | boolean   | ✗      | C      | =       | ✗     | ✗      | ✗     | ✗    | ✗        | W   |
//! | array     | ✗      | ✗      | ✗       | =     | ✗      | ✗     | ✗    | ✗        | W   |
//! | object    | ✗      | ✗      | ✗       | ✗     | =      | R     | R    | R        | W   |
//! | image     | ✗      | ✗      | ✗       | ✗     | ✗      | =     | ✗    | ✗        | W   |
//! | mesh      | ✗      | ✗      | ✗       | ✗     | W      | ✗     | =    | ✗        | W   |
//! | waveform  | ✗      | ✗      | ✗       | ✗     | W      | ✗     | ✗    | =        | W   |
//! | any       | R      | R      | R       | R     | R      | R     | R    | R        | =   |
//!
//! `=` same type; `W` widening: every value of the source type is already a
//! value of the target type (a mesh and a waveform are JSON objects);
//! `C` coercion: the engine converts the value (a number or boolean becomes
//! its text, `3` → `"3"`, `true` → `"true"`); `R` checked at run time: the
//! connection is accepted (no warning, since built-in nodes produce `any`)
//! and the value is checked against the target type before the node runs;
//! `✗` refused by validation. Text never silently becomes a number, and a
//! number never becomes a boolean: those need an explicit node (e.g. math).

use serde_json::Value;

use crate::types::PortType;

/// How a value of one port type may flow into an input of another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compatibility {
    /// The same type.
    Exact,
    /// Every source value already is a target value.
    Widen,
    /// The engine converts the value (number or boolean to string).
    Coerce,
    /// Accepted; the value is checked when the workflow runs.
    Checked,
    /// Refused by validation.
    Incompatible,
}

impl Compatibility {
    /// Whether validation accepts the connection.
    pub fn is_allowed(self) -> bool {
        self != Compatibility::Incompatible
    }
}

/// The compatibility table above.
pub fn compatibility(from: PortType, to: PortType) -> Compatibility {
    use Compatibility::*;
    use PortType as T;
    if from == to {
        return Exact;
    }
    match (from, to) {
        (_, T::Any) => Widen,
        (T::Any, _) => Checked,
        (T::Number | T::Boolean, T::String) => Coerce,
        (T::String, T::Image) => Checked,
        (T::Object, T::Image | T::Mesh | T::Waveform) => Checked,
        (T::Mesh | T::Waveform, T::Object) => Widen,
        _ => Incompatible,
    }
}

/// Whether a JSON value is a value of this port type.
///
/// `image`: a `data:image/…` URL or an object with numeric `width` and
/// `height` and `pixels`; `mesh`: an object; `waveform`: an object with a
/// `time` array and a `signals` object; `any`: every value.
pub fn value_matches(ty: PortType, value: &Value) -> bool {
    match ty {
        PortType::Number => value.is_number(),
        PortType::String => value.is_string(),
        PortType::Boolean => value.is_boolean(),
        PortType::Array => value.is_array(),
        PortType::Object | PortType::Mesh => value.is_object(),
        PortType::Image => match value {
            Value::String(s) => s.starts_with("data:image/"),
            Value::Object(o) => {
                o.get("width").is_some_and(Value::is_number)
                    && o.get("height").is_some_and(Value::is_number)
                    && o.contains_key("pixels")
            }
            _ => false,
        },
        PortType::Waveform => value.as_object().is_some_and(|o| {
            o.get("time").is_some_and(Value::is_array)
                && o.get("signals").is_some_and(Value::is_object)
        }),
        PortType::Any => true,
    }
}

/// The JSON type name of a value, for messages.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Whether a value is acceptable for an input of this type, possibly after
/// coercion (the `C` cells).
pub fn value_accepted(ty: PortType, value: &Value) -> bool {
    value_matches(ty, value)
        || (ty == PortType::String && (value.is_number() || value.is_boolean()))
}

/// Makes a value fit an input of type `ty`: returns it unchanged when it
/// matches, its text for a number or boolean into a string, and an error
/// naming what arrived otherwise.
pub fn accept(ty: PortType, value: Value) -> Result<Value, String> {
    if value_matches(ty, &value) {
        return Ok(value);
    }
    match (ty, &value) {
        (PortType::String, Value::Number(n)) => Ok(Value::String(number_text(n))),
        (PortType::String, Value::Bool(b)) => Ok(Value::String(b.to_string())),
        _ => Err(format!(
            "expects {ty}, got {} {}",
            article(json_kind(&value)),
            json_kind(&value)
        )),
    }
}

fn article(kind: &str) -> &'static str {
    if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// A number's text as JavaScript writes it: integral floats without `.0`.
fn number_text(n: &serde_json::Number) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        _ => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The table of the module docs, row by row, in `PortType::ALL` order.
    const TABLE: [&str; 9] = [
        "= C x x x x x x W",
        "x = x x x R x x W",
        "x C = x x x x x W",
        "x x x = x x x x W",
        "x x x x = R R R W",
        "x x x x x = x x W",
        "x x x x W x = x W",
        "x x x x W x x = W",
        "R R R R R R R R =",
    ];

    #[test]
    fn every_cell_of_the_compatibility_table() {
        for (row, from) in TABLE.iter().zip(PortType::ALL) {
            let cells: Vec<&str> = row.split(' ').collect();
            assert_eq!(cells.len(), PortType::ALL.len());
            for (cell, to) in cells.iter().zip(PortType::ALL) {
                let expected = match *cell {
                    "=" => Compatibility::Exact,
                    "W" => Compatibility::Widen,
                    "C" => Compatibility::Coerce,
                    "R" => Compatibility::Checked,
                    "x" => Compatibility::Incompatible,
                    other => panic!("bad cell {other}"),
                };
                assert_eq!(compatibility(from, to), expected, "{from} -> {to}");
            }
        }
    }

    #[test]
    fn widened_values_always_match_their_target() {
        let samples = [
            json!(1),
            json!("data:image/png;base64,AA"),
            json!(true),
            json!([1]),
            json!({"a": 1}),
            json!({"width": 1, "height": 1, "pixels": []}),
            json!({"vertices": []}),
            json!({"time": [0], "signals": {"v": [1]}}),
        ];
        for from in PortType::ALL {
            for to in PortType::ALL {
                if compatibility(from, to) != Compatibility::Widen {
                    continue;
                }
                for v in samples.iter().filter(|v| value_matches(from, v)) {
                    assert!(value_matches(to, v), "{from} -> {to}: {v}");
                }
            }
        }
    }

    #[test]
    fn coercion_writes_numbers_and_booleans_as_text() {
        assert_eq!(accept(PortType::String, json!(3)).unwrap(), json!("3"));
        assert_eq!(accept(PortType::String, json!(3.0)).unwrap(), json!("3"));
        assert_eq!(accept(PortType::String, json!(2.5)).unwrap(), json!("2.5"));
        assert_eq!(
            accept(PortType::String, json!(false)).unwrap(),
            json!("false")
        );
        let err = accept(PortType::Number, json!("3")).unwrap_err();
        assert_eq!(err, "expects number, got a string");
        let err = accept(PortType::Waveform, json!({"time": 1})).unwrap_err();
        assert_eq!(err, "expects waveform, got an object");
    }

    #[test]
    fn runtime_shapes_of_rich_types() {
        assert!(value_matches(
            PortType::Image,
            &json!("data:image/png;base64,AA")
        ));
        assert!(!value_matches(PortType::Image, &json!("hello")));
        assert!(!value_matches(PortType::Image, &json!({"width": 1})));
        assert!(value_matches(
            PortType::Waveform,
            &json!({"time": [], "signals": {}})
        ));
        assert!(!value_matches(PortType::Waveform, &json!({"time": []})));
        assert!(value_matches(PortType::Any, &Value::Null));
        assert!(!value_matches(PortType::Number, &Value::Null));
    }
}
