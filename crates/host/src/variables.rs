//! Resolution of application and component variables.
//!
//! An application variable takes the first value found among:
//! 1. `SPIN_VARIABLE_<NAME>` (upper-cased name), Spin's environment provider;
//! 2. the familiar environment names this project documents
//!    ([`FAMILIAR_NAMES`], e.g. `ANTHROPIC_API_KEY` → `anthropic_api_key`);
//! 3. for `admin_token` only, the token kept in the data dir (generated on
//!    first start; see [`crate::admin_token`]);
//! 4. the manifest `default`.
//!
//! A `required` variable with no value is an error naming the manifest line.
//! Component variables are templates over application variables, rendered
//! once at load time.

use std::collections::HashMap;

use indexmap::IndexMap;

use crate::manifest::{FieldPath, Manifest, ManifestError, TemplateError};

/// Environment names mapped to application variables, besides
/// `SPIN_VARIABLE_*`.
pub const FAMILIAR_NAMES: &[(&str, &str)] = &[
    ("ANTHROPIC_API_KEY", "anthropic_api_key"),
    ("LLMOS_ADMIN_TOKEN", "admin_token"),
    ("LLMOS_MIN_PATTERN_COUNT", "min_pattern_count"),
    ("LLMOS_MIN_SUCCESS_RATE", "min_success_rate"),
    ("LLMOS_LLM_BASE_URL", "llm_base_url"),
    ("LLMOS_LLM_MODEL", "llm_model"),
    ("LLMOS_LLM_PROVIDER", "llm_provider"),
    ("LLMOS_LLM_TIMEOUT_SECS", "llm_timeout_secs"),
    ("LLMOS_SKILL_BUILDER_URL", "skill_builder_url"),
    ("LLMOS_SKILL_FUEL", "skill_fuel"),
    ("LLMOS_SKILL_MEMORY_MIB", "skill_memory_mib"),
];

/// The variable the admin token lives in.
pub const ADMIN_TOKEN_VARIABLE: &str = "admin_token";

/// Where variable values come from, besides manifest defaults.
pub trait EnvSource {
    /// The value of environment variable `name`, if set.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl EnvSource for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// Resolves every application variable. `admin_token_fallback` supplies the
/// admin token when no environment provider does.
pub fn resolve_app_variables(
    manifest: &Manifest,
    env: &dyn EnvSource,
    admin_token_fallback: &mut dyn FnMut() -> anyhow::Result<String>,
) -> anyhow::Result<HashMap<String, String>> {
    let mut values = HashMap::new();
    for (name, decl) in &manifest.variables {
        let from_env = env
            .var(&format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase()))
            .or_else(|| {
                FAMILIAR_NAMES
                    .iter()
                    .filter(|(_, var)| var == name)
                    .find_map(|(env_name, _)| env.var(env_name))
            });
        let value = match from_env {
            Some(value) => Some(value),
            None if name == ADMIN_TOKEN_VARIABLE => Some(admin_token_fallback()?),
            None => decl.default.clone(),
        };
        match value {
            Some(value) => {
                values.insert(name.clone(), value);
            }
            None if decl.required => {
                return Err(missing_required(manifest, name).into());
            }
            // Neither required nor defaulted: Spin treats it as unset, and a
            // template that uses it fails when rendered.
            None => {}
        }
    }
    Ok(values)
}

fn missing_required(manifest: &Manifest, name: &str) -> ManifestError {
    let familiar = FAMILIAR_NAMES
        .iter()
        .find(|(_, var)| *var == name)
        .map(|(env, _)| format!(" or {env}"))
        .unwrap_or_default();
    manifest.error_at(
        &FieldPath::keys(["variables", name]),
        format!(
            "required variable {name:?} has no value; set SPIN_VARIABLE_{}{familiar}",
            name.to_ascii_uppercase()
        ),
    )
}

/// Renders one component's variables. A template that uses a variable with
/// no value (neither provided, defaulted nor required) does not stop the app,
/// as in Spin: reading that component variable fails with a provider error.
pub fn resolve_component_variables(
    templates: &IndexMap<String, crate::manifest::Template>,
    values: &HashMap<String, String>,
) -> HashMap<String, Result<String, String>> {
    templates
        .iter()
        .map(|(name, template)| {
            let value = template.render(values).map_err(|e| match e {
                TemplateError::Undefined(var) => {
                    format!("variable {var:?} has no value and no default")
                }
                other => other.to_string(),
            });
            (name.clone(), value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn manifest() -> Manifest {
        Manifest::parse(
            Path::new("/app/spin.toml"),
            r#"
spin_manifest_version = 2
[application]
name = "t"
[variables]
admin_token = { required = true, secret = true }
anthropic_api_key = { default = "" }
llm_model = { default = "m1" }
region = { required = true }
[component.c]
source = "c.wasm"
[component.c.variables]
model = "model-{{ llm_model }}"
"#
            .to_owned(),
        )
        .expect("manifest")
    }

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn providers_apply_in_order() {
        let m = manifest();
        let e = env(&[
            ("SPIN_VARIABLE_REGION", "eu"),
            ("ANTHROPIC_API_KEY", "familiar"),
            ("LLMOS_LLM_MODEL", "m2"),
            ("SPIN_VARIABLE_LLM_MODEL", "m3"),
        ]);
        let values = resolve_app_variables(&m, &e, &mut || Ok("generated".to_owned())).expect("ok");
        assert_eq!(values["region"], "eu");
        assert_eq!(values["anthropic_api_key"], "familiar");
        assert_eq!(
            values["llm_model"], "m3",
            "SPIN_VARIABLE_ wins over familiar names"
        );
        assert_eq!(values["admin_token"], "generated");
        let rendered = resolve_component_variables(&m.components["c"].variables, &values);
        assert_eq!(rendered["model"].as_deref(), Ok("model-m3"));
    }

    #[test]
    fn admin_token_from_the_environment_skips_generation() {
        let m = manifest();
        let e = env(&[
            ("SPIN_VARIABLE_REGION", "eu"),
            ("LLMOS_ADMIN_TOKEN", "from-env"),
        ]);
        let values =
            resolve_app_variables(&m, &e, &mut || anyhow::bail!("must not generate")).expect("ok");
        assert_eq!(values["admin_token"], "from-env");
    }

    #[test]
    fn variables_without_a_value_fail_only_when_read() {
        let m = Manifest::parse(
            Path::new("/app/spin.toml"),
            r#"
spin_manifest_version = 2
[application]
name = "t"
[variables]
optional = {}
[component.c]
source = "c.wasm"
[component.c.variables]
uses_optional = "x-{{ optional }}"
plain = "fixed"
"#
            .to_owned(),
        )
        .expect("manifest");
        let values = resolve_app_variables(&m, &env(&[]), &mut || Ok("t".to_owned())).expect("ok");
        let rendered = resolve_component_variables(&m.components["c"].variables, &values);
        assert_eq!(rendered["plain"].as_deref(), Ok("fixed"));
        let err = rendered["uses_optional"].as_ref().expect_err("no value");
        assert!(err.contains("\"optional\""), "{err}");
    }

    #[test]
    fn missing_required_variables_name_the_manifest_line() {
        let m = manifest();
        let err = resolve_app_variables(&m, &env(&[]), &mut || Ok("t".to_owned()))
            .expect_err("region is required");
        let text = err.to_string();
        assert!(text.starts_with("/app/spin.toml:9:"), "{text}");
        assert!(text.contains("SPIN_VARIABLE_REGION"), "{text}");
    }
}
