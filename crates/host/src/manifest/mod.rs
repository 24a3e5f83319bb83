//! `spin.toml` (manifest version 2): loading and strict validation.
//!
//! [`Manifest::load`] reads the file, deserializes it with unknown fields
//! denied, and checks everything Spin checks before running an app: ids,
//! variable names, templates referring only to declared variables, triggers
//! naming existing components, route and cron syntax, outbound host syntax.
//! Errors carry the file, line, column and field ([`ManifestError`]).
//! Values that need providers (variables) are resolved later by the app
//! loader, which reports through [`Manifest::error_at`].

pub mod error;
pub mod schema;
pub mod template;

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

pub use error::{FieldPath, FieldSegment, ManifestError, SourceMap};
pub use schema::{FilesMount, RouteSpec};
pub use template::{Template, TemplateError};

use crate::outbound::allowed_hosts::AllowedHost;
use crate::routing;

/// A validated manifest.
#[derive(Debug)]
pub struct Manifest {
    /// Absolute path of the manifest file.
    pub path: PathBuf,
    /// Absolute directory of the manifest; relative paths start here.
    pub dir: PathBuf,
    text: String,
    /// `application.name`.
    pub name: String,
    /// `application.version`.
    pub version: String,
    /// `application.description`.
    pub description: String,
    /// Application variables, in manifest order.
    pub variables: IndexMap<String, VariableDecl>,
    /// `[[trigger.http]]` entries, in manifest order.
    pub http_triggers: Vec<HttpTriggerDecl>,
    /// `[[trigger.cron]]` entries, in manifest order.
    pub cron_triggers: Vec<CronTriggerDecl>,
    /// Components, in manifest order.
    pub components: IndexMap<String, ComponentDecl>,
}

/// An application variable.
#[derive(Clone, Debug)]
pub struct VariableDecl {
    /// Value when no provider has one.
    pub default: Option<String>,
    /// Whether a value must come from a provider.
    pub required: bool,
    /// Whether the value must never be printed.
    pub secret: bool,
}

/// An HTTP trigger.
#[derive(Clone, Debug)]
pub struct HttpTriggerDecl {
    /// The route.
    pub route: RouteSpec,
    /// The component id.
    pub component: String,
}

/// A cron trigger.
#[derive(Clone, Debug)]
pub struct CronTriggerDecl {
    /// The component id.
    pub component: String,
    /// The cron expression, already checked to parse.
    pub cron_expression: String,
}

/// A component.
#[derive(Clone, Debug)]
pub struct ComponentDecl {
    /// The component id.
    pub id: String,
    /// Absolute path of the `.wasm` file.
    pub source: PathBuf,
    /// `description`.
    pub description: String,
    /// Component variables as parsed templates.
    pub variables: IndexMap<String, Template>,
    /// Guest environment.
    pub environment: IndexMap<String, String>,
    /// `files` entries.
    pub files: Vec<FilesMount>,
    /// `exclude_files` globs.
    pub exclude_files: Vec<String>,
    /// `allowed_outbound_hosts` entries as templates.
    pub allowed_outbound_hosts: Vec<Template>,
    /// Key-value store labels.
    pub key_value_stores: Vec<String>,
    /// SQLite database labels.
    pub sqlite_databases: Vec<String>,
    /// Build settings.
    pub build: Option<BuildDecl>,
}

/// How to build a component.
#[derive(Clone, Debug)]
pub struct BuildDecl {
    /// Shell commands, run in order with `sh -c`.
    pub commands: Vec<String>,
    /// Absolute working directory.
    pub workdir: PathBuf,
    /// Watch globs, relative to `workdir`.
    pub watch: Vec<String>,
}

impl Manifest {
    /// Reads and validates the manifest at `path`.
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: path.to_owned(),
            source,
        })?;
        let absolute = std::path::absolute(path).map_err(|source| ManifestError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&absolute, text)
    }

    /// Validates manifest `text` as if read from `path` (absolute).
    pub fn parse(path: &Path, text: String) -> Result<Self, ManifestError> {
        let raw = deserialize(path, &text)?;
        let map = SourceMap::new(path, &text);
        let dir = path
            .parent()
            .map(Path::to_owned)
            .unwrap_or_else(|| PathBuf::from("/"));
        let validated = validate(&map, &dir, raw)?;
        Ok(Manifest {
            path: path.to_owned(),
            dir,
            text,
            name: validated.name,
            version: validated.version,
            description: validated.description,
            variables: validated.variables,
            http_triggers: validated.http_triggers,
            cron_triggers: validated.cron_triggers,
            components: validated.components,
        })
    }

    /// An error located at `field` of this manifest.
    pub fn error_at(&self, field: &FieldPath, message: impl Into<String>) -> ManifestError {
        SourceMap::new(&self.path, &self.text).error_at(field, message)
    }

    /// Ids of all components, in manifest order.
    pub fn component_ids(&self) -> Vec<String> {
        self.components.keys().cloned().collect()
    }
}

fn deserialize(path: &Path, text: &str) -> Result<schema::RawManifest, ManifestError> {
    let map = SourceMap::new(path, text);
    let table = toml::de::DeTable::parse(text)
        .map_err(|e| map.error_at_span(e.span(), &FieldPath::default(), e.message().trim()))?;
    let deserializer = toml::de::Deserializer::from(table);
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let field = FieldPath(
            e.path()
                .iter()
                .filter_map(|segment| match segment {
                    serde_path_to_error::Segment::Map { key } => {
                        Some(FieldSegment::Key(key.clone()))
                    }
                    serde_path_to_error::Segment::Seq { index } => {
                        Some(FieldSegment::Index(*index))
                    }
                    _ => None,
                })
                .collect(),
        );
        let inner = e.into_inner();
        let span = inner.span().or_else(|| map.span_of(&field));
        map.error_at_span(span, &field, inner.message().trim())
    })
}

struct Validated {
    name: String,
    version: String,
    description: String,
    variables: IndexMap<String, VariableDecl>,
    http_triggers: Vec<HttpTriggerDecl>,
    cron_triggers: Vec<CronTriggerDecl>,
    components: IndexMap<String, ComponentDecl>,
}

fn validate(
    map: &SourceMap<'_>,
    dir: &Path,
    raw: schema::RawManifest,
) -> Result<Validated, ManifestError> {
    if raw.spin_manifest_version.as_integer() != Some(2) {
        return Err(map.error_at(
            &FieldPath::keys(["spin_manifest_version"]),
            format!(
                "this host reads manifest version 2, found {}",
                raw.spin_manifest_version
            ),
        ));
    }

    let mut variables = IndexMap::new();
    for (name, var) in raw.variables {
        let field = FieldPath::keys(["variables", name.as_str()]);
        template::validate_variable_name(&name)
            .map_err(|reason| map.error_at(&field, format!("invalid variable name: {reason}")))?;
        if var.required && var.default.is_some() {
            return Err(map.error_at(
                &field,
                "a variable cannot be both `required` and have a `default`",
            ));
        }
        variables.insert(
            name,
            VariableDecl {
                default: var.default,
                required: var.required,
                secret: var.secret,
            },
        );
    }

    let component_ids: Vec<String> = raw.components.keys().cloned().collect();
    let mut components = IndexMap::new();
    for (id, component) in raw.components {
        let decl = validate_component(map, dir, &variables, &id, component)?;
        components.insert(id, decl);
    }

    let mut http_triggers = Vec::new();
    for (index, trigger) in raw.triggers.http.into_iter().enumerate() {
        let field = FieldPath::keys(["trigger", "http"]).index(index);
        if trigger.static_response.is_some() {
            return Err(map.error_at(
                &field.key("static_response"),
                "static responses are not supported by llmos; route to a component instead",
            ));
        }
        if let Some(executor) = &trigger.executor {
            let kind = executor.get("type").and_then(|t| t.as_str());
            if !matches!(kind, Some("http") | Some("spin")) {
                return Err(map.error_at(
                    &field.key("executor"),
                    "only the wasi-http executor (`{ type = \"http\" }`) is supported by llmos",
                ));
            }
        }
        let component = component_ref(map, &field, trigger.component, &component_ids)?;
        match &trigger.route {
            RouteSpec::Private(false) => {
                return Err(map.error_at(
                    &field.key("route"),
                    "route must be a pattern string or `{ private = true }`",
                ));
            }
            RouteSpec::Private(true) => {}
            RouteSpec::Pattern(pattern) => {
                routing::validate_route(pattern)
                    .map_err(|reason| map.error_at(&field.key("route"), reason))?;
            }
        }
        http_triggers.push(HttpTriggerDecl {
            route: trigger.route,
            component,
        });
    }

    let mut cron_triggers = Vec::new();
    for (index, trigger) in raw.triggers.cron.into_iter().enumerate() {
        let field = FieldPath::keys(["trigger", "cron"]).index(index);
        let component = component_ref(map, &field, trigger.component, &component_ids)?;
        crate::trigger::cron::parse_schedule(&trigger.cron_expression)
            .map_err(|reason| map.error_at(&field.key("cron_expression"), reason))?;
        cron_triggers.push(CronTriggerDecl {
            component,
            cron_expression: trigger.cron_expression,
        });
    }

    Ok(Validated {
        name: raw.application.name,
        version: raw.application.version,
        description: raw.application.description,
        variables,
        http_triggers,
        cron_triggers,
        components,
    })
}

fn component_ref(
    map: &SourceMap<'_>,
    field: &FieldPath,
    reference: schema::ComponentRef,
    component_ids: &[String],
) -> Result<String, ManifestError> {
    let field = field.key("component");
    match reference {
        schema::ComponentRef::Inline => Err(map.error_at(
            &field,
            "inline components are not supported by llmos; declare `[component.<id>]` and name it here",
        )),
        schema::ComponentRef::Id(id) if component_ids.contains(&id) => Ok(id),
        schema::ComponentRef::Id(id) => Err(map.error_at(
            &field,
            format!(
                "no component named {id:?} (components: {})",
                if component_ids.is_empty() {
                    "none".to_owned()
                } else {
                    component_ids.join(", ")
                }
            ),
        )),
    }
}

fn validate_component(
    map: &SourceMap<'_>,
    dir: &Path,
    variables: &IndexMap<String, VariableDecl>,
    id: &str,
    component: schema::Component,
) -> Result<ComponentDecl, ManifestError> {
    let base = FieldPath::keys(["component", id]);
    validate_id(id, '-')
        .map_err(|reason| map.error_at(&base, format!("invalid component id: {reason}")))?;

    let source = match component.source {
        schema::Source::Local(path) if !path.is_empty() => dir.join(path),
        schema::Source::Local(_) => {
            return Err(map.error_at(&base.key("source"), "the source path is empty"));
        }
        schema::Source::Remote => {
            return Err(map.error_at(
                &base.key("source"),
                "only local .wasm sources are supported by llmos",
            ));
        }
    };

    let unsupported = [
        (
            "allowed_http_hosts",
            !component.allowed_http_hosts.is_empty(),
            "`allowed_http_hosts` is the Spin 1 field; use `allowed_outbound_hosts`",
        ),
        (
            "ai_models",
            !component.ai_models.is_empty(),
            "AI models are not provided by llmos",
        ),
        (
            "dependencies",
            component.dependencies.is_some(),
            "component dependencies are not supported by llmos",
        ),
        (
            "profile",
            component.profile.is_some(),
            "build profiles are not supported by llmos",
        ),
    ];
    for (field, present, message) in unsupported {
        if present {
            return Err(map.error_at(&base.key(field), message));
        }
    }

    let check_template = |field: FieldPath, text: &str| -> Result<Template, ManifestError> {
        let template = Template::parse(text).map_err(|e| map.error_at(&field, e.to_string()))?;
        if let Some(undeclared) = template.variables().find(|v| !variables.contains_key(*v)) {
            return Err(map.error_at(
                &field,
                format!("template refers to undefined variable {undeclared:?}; declare it under [variables]"),
            ));
        }
        Ok(template)
    };

    let mut component_variables = IndexMap::new();
    for (name, value) in &component.variables {
        let field = base.key("variables").key(name.as_str());
        template::validate_variable_name(name)
            .map_err(|reason| map.error_at(&field, format!("invalid variable name: {reason}")))?;
        component_variables.insert(name.clone(), check_template(field, value)?);
    }

    let mut allowed_outbound_hosts = Vec::new();
    for (index, entry) in component.allowed_outbound_hosts.iter().enumerate() {
        let field = base.key("allowed_outbound_hosts").index(index);
        let template = check_template(field.clone(), entry)?;
        if template.is_literal() && entry != "insecure:allow-all" {
            AllowedHost::parse(entry).map_err(|e| map.error_at(&field, e.to_string()))?;
        } else if entry == "insecure:allow-all" {
            return Err(map.error_at(
                &field,
                "'insecure:allow-all' is not allowed; use '*://*:*' to allow all outbound traffic",
            ));
        }
        allowed_outbound_hosts.push(template);
    }

    for (list, labels) in [
        ("key_value_stores", &component.key_value_stores),
        ("sqlite_databases", &component.sqlite_databases),
    ] {
        for (index, label) in labels.iter().enumerate() {
            if validate_id(label, '-').is_err() && validate_id(label, '_').is_err() {
                return Err(map.error_at(
                    &base.key(list).index(index),
                    format!("invalid label {label:?}: use kebab-case or snake_case ASCII words"),
                ));
            }
        }
    }

    for (index, mount) in component.files.iter().enumerate() {
        let field = base.key("files").index(index);
        match mount {
            FilesMount::Pattern(pattern) => {
                glob::Pattern::new(pattern)
                    .map_err(|e| map.error_at(&field, format!("invalid glob pattern: {e}")))?;
                if Path::new(pattern).is_absolute() || pattern.split('/').any(|p| p == "..") {
                    return Err(map.error_at(
                        &field,
                        "file patterns must be relative to the manifest directory and stay inside it",
                    ));
                }
            }
            FilesMount::Placement { destination, .. } => {
                if !destination.starts_with('/') {
                    return Err(map.error_at(
                        &field.key("destination"),
                        format!("destination {destination:?} must be an absolute path"),
                    ));
                }
            }
        }
    }
    for (index, pattern) in component.exclude_files.iter().enumerate() {
        glob::Pattern::new(pattern).map_err(|e| {
            map.error_at(
                &base.key("exclude_files").index(index),
                format!("invalid glob pattern: {e}"),
            )
        })?;
    }

    let build = match component.build {
        None => None,
        Some(build) => {
            if build.command.0.is_empty() {
                return Err(
                    map.error_at(&base.key("build").key("command"), "no build command given")
                );
            }
            for (index, pattern) in build.watch.iter().enumerate() {
                glob::Pattern::new(pattern).map_err(|e| {
                    map.error_at(
                        &base.key("build").key("watch").index(index),
                        format!("invalid glob pattern: {e}"),
                    )
                })?;
            }
            Some(BuildDecl {
                commands: build.command.0,
                workdir: match build.workdir {
                    Some(workdir) => dir.join(workdir),
                    None => dir.to_owned(),
                },
                watch: build.watch,
            })
        }
    };

    Ok(ComponentDecl {
        id: id.to_owned(),
        source,
        description: component.description,
        variables: component_variables,
        environment: component.environment,
        files: component.files,
        exclude_files: component.exclude_files,
        allowed_outbound_hosts,
        key_value_stores: component.key_value_stores,
        sqlite_databases: component.sqlite_databases,
        build,
    })
}

/// Spin's id rule: words separated by `delimiter`, each starting with an
/// ASCII letter, containing only ASCII letters and digits, and either all
/// lower-case or all upper-case.
pub fn validate_id(id: &str, delimiter: char) -> Result<(), String> {
    if id.is_empty() {
        return Err("empty".to_owned());
    }
    let wrong = if delimiter == '-' { '_' } else { '-' };
    if id.contains(wrong) {
        return Err(format!(
            "words must be separated with {delimiter:?}, not {wrong:?}"
        ));
    }
    for word in id.split(delimiter) {
        let mut chars = word.chars();
        let Some(first) = chars.next() else {
            return Err(format!("{delimiter:?}-separated words must not be empty"));
        };
        if !first.is_ascii_alphabetic() {
            return Err(format!(
                "words must start with an ASCII letter; got {first:?}"
            ));
        }
        let upper = first.is_ascii_uppercase();
        for c in chars {
            if c.is_ascii_digit() {
                continue;
            }
            if !c.is_ascii_alphanumeric() {
                return Err(format!(
                    "words may only contain ASCII letters and digits; got {c:?}"
                ));
            }
            if c.is_ascii_uppercase() != upper {
                return Err(format!(
                    "words must be all lower-case or all upper-case; got {word:?}"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, ManifestError> {
        Manifest::parse(Path::new("/app/spin.toml"), text.to_owned())
    }

    const MINIMAL: &str = r#"
spin_manifest_version = 2
[application]
name = "t"
[variables]
token = { required = true, secret = true }
greeting = { default = "hi" }
[[trigger.http]]
route = "/..."
component = "web"
[[trigger.http]]
route = { private = true }
component = "web"
[[trigger.cron]]
component = "web"
cron_expression = "0 0 2 * * *"
[component.web]
source = "target/web.wasm"
files = ["static/**/*", { source = "dist", destination = "/dist" }]
allowed_outbound_hosts = ["https://api.example.com", "http://{{ greeting }}.example.com"]
sqlite_databases = ["default"]
[component.web.variables]
hello = "{{ greeting }}, world"
[component.web.build]
command = "cargo build"
watch = ["src/**/*.rs"]
"#;

    #[test]
    fn parses_a_complete_manifest() {
        let m = parse(MINIMAL).expect("valid");
        assert_eq!(m.name, "t");
        assert_eq!(m.http_triggers.len(), 2);
        assert_eq!(m.cron_triggers.len(), 1);
        let web = &m.components["web"];
        assert_eq!(web.source, Path::new("/app/target/web.wasm"));
        assert_eq!(web.files.len(), 2);
        assert_eq!(web.build.as_ref().expect("build").commands, ["cargo build"]);
        assert!(m.variables["token"].required);
    }

    fn error_of(text: &str) -> String {
        parse(text).expect_err("should be rejected").to_string()
    }

    #[test]
    fn unknown_fields_name_line_and_field() {
        let text = MINIMAL.replace(
            "[component.web.variables]",
            "sorce = \"x\"\n[component.web.variables]",
        );
        let err = error_of(&text);
        assert!(err.starts_with("/app/spin.toml:"), "{err}");
        assert!(err.contains("component.web"), "{err}");
        assert!(err.contains("unknown field `sorce`"), "{err}");
    }

    #[test]
    fn undefined_template_variables_are_rejected() {
        let text = MINIMAL.replace("{{ greeting }}, world", "{{ nope }}");
        let err = error_of(&text);
        assert!(err.contains("component.web.variables.hello"), "{err}");
        assert!(err.contains("\"nope\""), "{err}");
        assert!(err.starts_with("/app/spin.toml:23:"), "{err}");
    }

    #[test]
    fn triggers_must_name_existing_components() {
        let text = MINIMAL.replacen("component = \"web\"", "component = \"wbe\"", 1);
        let err = error_of(&text);
        assert!(err.contains("trigger.http[0].component"), "{err}");
        assert!(err.starts_with("/app/spin.toml:10:"), "{err}");
    }

    #[test]
    fn rejects_bad_ids_and_versions() {
        assert!(
            error_of(&MINIMAL.replace("[component.web", "[component.Web_x"))
                .contains("invalid component id")
        );
        assert!(
            error_of(&MINIMAL.replace("spin_manifest_version = 2", "spin_manifest_version = 1"))
                .contains("spin_manifest_version")
        );
    }

    #[test]
    fn ids_follow_spin_rules() {
        assert!(validate_id("web", '-').is_ok());
        assert!(validate_id("my-component2", '-').is_ok());
        assert!(validate_id("my-component-2", '-').is_err());
        assert!(validate_id("FOO-bar", '-').is_ok());
        assert!(validate_id("Foo", '-').is_err());
        assert!(validate_id("my_component", '-').is_err());
        assert!(validate_id("2fast", '-').is_err());
        assert!(validate_id("a--b", '-').is_err());
    }
}
