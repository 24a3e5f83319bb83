//! Typed editors for a node's params, from the skill's input specs: a
//! number field, a text field, a checkbox, or JSON for structured types.
//! An edit is committed on `change` (Enter or leaving the field), as one
//! undoable command; clearing a param falls back to the input's default.

use llmos_core::types::PortType;
use serde_json::Value;
use sycamore::prelude::*;

use crate::state::AppState;

/// One row of the params editor.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamRow {
    pub node: String,
    pub name: String,
    pub ty: PortType,
    pub required: bool,
    pub declared: bool,
    pub description: Option<String>,
    pub default: Option<Value>,
    pub value: Option<Value>,
    /// `source.port` of the edge feeding this input, if one does.
    pub bound_from: Option<String>,
}

impl ParamRow {
    /// Identity of the row's content: the row is rebuilt only when this
    /// changes, so editing one param leaves focus in the others alone.
    pub fn key(&self) -> String {
        format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}",
            self.node,
            self.name,
            self.value
                .as_ref()
                .map(Value::to_string)
                .unwrap_or_default(),
            self.bound_from.as_deref().unwrap_or_default()
        )
    }
}

/// A JSON number from text: integral values as integers.
pub fn number_value(text: &str) -> Result<Value, String> {
    let x: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if !x.is_finite() {
        return Err("the number must be finite".to_owned());
    }
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        Ok(Value::from(x as i64))
    } else {
        serde_json::Number::from_f64(x)
            .map(Value::Number)
            .ok_or_else(|| "not a JSON number".to_owned())
    }
}

/// A param value from an editor's text: JSON for structured types (for
/// `any`, text that is not JSON is taken as a string).
pub fn parse_value(ty: PortType, text: &str) -> Result<Option<Value>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    match ty {
        PortType::Number => number_value(text).map(Some),
        PortType::String => Ok(Some(Value::String(text.to_owned()))),
        PortType::Boolean => match text.trim() {
            "true" => Ok(Some(Value::Bool(true))),
            "false" => Ok(Some(Value::Bool(false))),
            other => Err(format!("`{other}` is not true or false")),
        },
        PortType::Any => Ok(Some(
            serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned())),
        )),
        _ => {
            let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
            if llmos_core::workflow::compat::value_matches(ty, &v) {
                Ok(Some(v))
            } else {
                Err(format!(
                    "expects {ty}, got {}",
                    llmos_core::workflow::compat::json_kind(&v)
                ))
            }
        }
    }
}

/// The text an editor shows for a value.
pub fn value_text(ty: PortType, value: &Value) -> String {
    match (ty, value) {
        (PortType::String, Value::String(s)) => s.clone(),
        (_, Value::String(s)) if ty == PortType::Any => s.clone(),
        (PortType::Number, Value::Number(n)) => n.to_string(),
        (_, v) if v.is_object() || v.is_array() => {
            serde_json::to_string_pretty(v).unwrap_or_default()
        }
        (_, v) => v.to_string(),
    }
}

#[component(inline_props)]
pub fn ParamEditor(row: ParamRow) -> View {
    let state = use_context::<AppState>();
    let error: Signal<Option<String>> = create_signal(None);
    let ParamRow {
        node,
        name,
        ty,
        required,
        declared,
        description,
        default,
        value,
        bound_from,
    } = row;
    let text = value
        .as_ref()
        .map(|v| value_text(ty, v))
        .unwrap_or_default();
    let placeholder = default
        .as_ref()
        .map(|d| match value_text(ty, d) {
            t if t.is_empty() => "default: empty".to_owned(),
            t => format!("default: {t}"),
        })
        .unwrap_or_else(|| {
            if required {
                "required".to_owned()
            } else {
                "optional".to_owned()
            }
        });
    let commit = {
        let (node, name) = (node.clone(), name.clone());
        move |ev: web_sys::Event| {
            let raw = crate::dom::event_value(&ev);
            match parse_value(ty, &raw) {
                Ok(v) => {
                    error.set(None);
                    state.set_param(&node, &name, v);
                }
                Err(why) => error.set(Some(why)),
            }
        }
    };
    let toggle = {
        let (node, name) = (node.clone(), name.clone());
        move |ev: web_sys::Event| {
            state.set_param(
                &node,
                &name,
                Some(Value::Bool(crate::dom::event_checked(&ev))),
            )
        }
    };
    let clear = {
        let (node, name) = (node.clone(), name.clone());
        move |_| {
            error.set(None);
            state.set_param(&node, &name, None);
        }
    };
    let has_value = value.is_some();
    let bound = bound_from.is_some();
    let field_id = format!("param-{name}");
    let editor = match (bound_from, ty) {
        (Some(from), _) => view! { p(class="bound") { "from " code { (from) } } },
        (None, PortType::Boolean) => {
            let checked = value
                .as_ref()
                .or(default.as_ref())
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let id = field_id.clone();
            view! { input(id=id, r#type="checkbox", checked=checked, on:change=toggle) }
        }
        (None, PortType::Number) => {
            let id = field_id.clone();
            view! { input(id=id, r#type="number", step="any", value=text, placeholder=placeholder, on:change=commit) }
        }
        (None, PortType::String) if text.len() < 60 && !text.contains('\n') => {
            let id = field_id.clone();
            view! { input(id=id, r#type="text", value=text, placeholder=placeholder, on:change=commit) }
        }
        (None, _) => {
            let id = field_id.clone();
            view! { textarea(id=id, class="json", rows="3", placeholder=placeholder, on:change=commit, "spellcheck"="false") { (text) } }
        }
    };
    let label_class = if declared {
        "param-name"
    } else {
        "param-name extra"
    };
    let clear_button = if has_value && !bound {
        view! { button(class="link small", on:click=clear, title="Clear: use the default") { "clear" } }
    } else {
        view! {}
    };
    let description = match description {
        Some(d) => view! { p(class="muted small") { (d) } },
        None => view! {},
    };
    let star = if required { "*" } else { "" };
    let (param_attr, label_text) = (name.clone(), name);
    view! {
        div(class="param", data-param=param_attr) {
            div(class="param-head") {
                label(class=label_class, r#for=field_id) { (label_text) (star) }
                span(class="badge") { (ty.as_str()) }
                (clear_button)
            }
            (editor)
            (match error.get_clone() {
                Some(why) => view! { p(class="error small") { (why) } },
                None => view! {},
            })
            (description)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn editors_parse_by_type() {
        assert_eq!(parse_value(PortType::Number, "3").unwrap(), Some(json!(3)));
        assert_eq!(
            parse_value(PortType::Number, "2.5").unwrap(),
            Some(json!(2.5))
        );
        assert!(parse_value(PortType::Number, "x").is_err());
        assert_eq!(parse_value(PortType::Number, " ").unwrap(), None);
        assert_eq!(
            parse_value(PortType::String, "a b").unwrap(),
            Some(json!("a b"))
        );
        assert_eq!(
            parse_value(PortType::Any, "[1, 2]").unwrap(),
            Some(json!([1, 2]))
        );
        assert_eq!(
            parse_value(PortType::Any, "hello").unwrap(),
            Some(json!("hello"))
        );
        assert_eq!(
            parse_value(PortType::Object, "{\"a\": 1}").unwrap(),
            Some(json!({"a": 1}))
        );
        assert!(
            parse_value(PortType::Object, "[1]")
                .unwrap_err()
                .contains("expects object")
        );
        assert!(
            parse_value(PortType::Array, "{")
                .unwrap_err()
                .starts_with("not JSON")
        );
        assert_eq!(
            value_text(PortType::Object, &json!({"a": 1})),
            "{\n  \"a\": 1\n}"
        );
        assert_eq!(value_text(PortType::Any, &json!("s")), "s");
    }
}
