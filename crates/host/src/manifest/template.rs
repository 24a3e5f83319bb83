//! Variable templates: `prefix-{{ name }}-suffix`.
//!
//! Spin allows templates in component `variables` values and in
//! `allowed_outbound_hosts`. An expression is exactly one application
//! variable name; anything else is an error.

use std::collections::HashMap;

/// A parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(String),
    Variable(String),
}

/// Why a template is malformed or cannot be rendered.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A `{{` without its `}}`.
    #[error("unmatched '{{{{' in template {0:?}")]
    Unmatched(String),
    /// The expression is not a valid variable name.
    #[error("invalid variable name {name:?} in template: {reason}")]
    InvalidName {
        /// The expression text.
        name: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The template names a variable that has no value.
    #[error("template refers to undefined variable {0:?}")]
    Undefined(String),
}

impl Template {
    /// Parses a template string.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(after_open) = rest.strip_prefix("{{") {
                let Some((expr, tail)) = after_open.split_once("}}") else {
                    return Err(TemplateError::Unmatched(text.to_owned()));
                };
                let name = expr.trim();
                validate_variable_name(name).map_err(|reason| TemplateError::InvalidName {
                    name: name.to_owned(),
                    reason,
                })?;
                parts.push(Part::Variable(name.to_owned()));
                rest = tail;
            } else {
                let end = rest.find("{{").unwrap_or(rest.len());
                parts.push(Part::Literal(rest[..end].to_owned()));
                rest = &rest[end..];
            }
        }
        Ok(Template { parts })
    }

    /// Whether the template has no variable references.
    pub fn is_literal(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Literal(_)))
    }

    /// The variable names the template refers to.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Variable(name) => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// Renders the template with the given variable values.
    pub fn render(&self, values: &HashMap<String, String>) -> Result<String, TemplateError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Variable(name) => out.push_str(
                    values
                        .get(name)
                        .ok_or_else(|| TemplateError::Undefined(name.clone()))?,
                ),
            }
        }
        Ok(out)
    }
}

/// Checks Spin's variable-name rule: lower-case ASCII letters, digits and
/// single underscores, starting with a letter and ending with a letter or
/// digit (so names map cleanly to `SPIN_VARIABLE_<NAME>`).
pub fn validate_variable_name(name: &str) -> Result<(), String> {
    let Some(first) = name.bytes().next() else {
        return Err("must not be empty".to_owned());
    };
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        return Err(format!(
            "invalid character {bad:?}; variable names may contain only lower-case letters, digits and underscores"
        ));
    }
    if !first.is_ascii_lowercase() {
        return Err("must start with a lower-case ASCII letter".to_owned());
    }
    if name.ends_with('_') {
        return Err("must end with a lower-case ASCII letter or digit".to_owned());
    }
    if name.contains("__") {
        return Err("must not contain consecutive underscores".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_literals_and_variables() {
        let t = Template::parse("https://{{ host }}:{{port}}/x").expect("parse");
        assert!(!t.is_literal());
        assert_eq!(t.variables().collect::<Vec<_>>(), ["host", "port"]);
        let values = HashMap::from([
            ("host".to_owned(), "example.com".to_owned()),
            ("port".to_owned(), "8080".to_owned()),
        ]);
        assert_eq!(
            t.render(&values).expect("render"),
            "https://example.com:8080/x"
        );
    }

    #[test]
    fn literal_templates_have_no_variables() {
        let t = Template::parse("plain").expect("parse");
        assert!(t.is_literal());
        assert_eq!(t.render(&HashMap::new()).expect("render"), "plain");
    }

    #[test]
    fn rejects_unmatched_braces_and_bad_names() {
        assert!(matches!(
            Template::parse("{{ open"),
            Err(TemplateError::Unmatched(_))
        ));
        assert!(matches!(
            Template::parse("{{ Bad-Name }}"),
            Err(TemplateError::InvalidName { .. })
        ));
    }

    #[test]
    fn variable_names_follow_spin_rules() {
        for good in ["a", "abc", "a1b2c3", "a_1", "a_1_b_3"] {
            assert!(validate_variable_name(good).is_ok(), "{good}");
        }
        for bad in ["", "aX", "1bc", "_x", "x.y", "x_", "a__b", "x-y"] {
            assert!(validate_variable_name(bad).is_err(), "{bad}");
        }
    }
}
