//! The serde shape of a version 2 `spin.toml`.
//!
//! Every table denies unknown fields, as Spin does, so a typo is an error and
//! not a silently ignored setting. Fields Spin knows but this host cannot
//! honour (remote sources, dependencies, AI models, Wagi) parse here and are
//! rejected with a clear message by the validator.

use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// The whole manifest.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawManifest {
    /// Must be 2.
    pub spin_manifest_version: toml::Value,
    /// `[application]`.
    pub application: Application,
    /// `[variables]`: application variables.
    #[serde(default)]
    pub variables: IndexMap<String, Variable>,
    /// `[[trigger.<type>]]` entries.
    #[serde(rename = "trigger", default)]
    pub triggers: Triggers,
    /// `[component.<id>]` tables.
    #[serde(rename = "component", default)]
    pub components: IndexMap<String, Component>,
}

/// `[application]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Application {
    /// Application name.
    pub name: String,
    /// Application version.
    #[serde(default)]
    pub version: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Authors.
    #[serde(default)]
    pub authors: Vec<String>,
    /// Deployment target environments (not used by a local host).
    #[serde(default)]
    pub targets: Vec<toml::Value>,
    /// Application-wide trigger settings, e.g. `[application.trigger.http]`.
    #[serde(default)]
    pub trigger: IndexMap<String, toml::Table>,
    /// Settings for external tools.
    #[serde(default)]
    pub tool: IndexMap<String, toml::Table>,
}

/// One `[variables]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether a provider must supply a value.
    #[serde(default)]
    pub required: bool,
    /// The value when no provider supplies one.
    #[serde(default)]
    pub default: Option<String>,
    /// Whether the value is a secret (never printed).
    #[serde(default)]
    pub secret: bool,
}

/// The trigger types this host runs.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Triggers {
    /// `[[trigger.http]]`.
    #[serde(default)]
    pub http: Vec<HttpTrigger>,
    /// `[[trigger.cron]]` (Spin's cron trigger plugin).
    #[serde(default)]
    pub cron: Vec<CronTrigger>,
}

/// One `[[trigger.http]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpTrigger {
    /// Optional trigger id.
    #[serde(default)]
    pub id: Option<String>,
    /// The route pattern, or `{ private = true }`.
    pub route: RouteSpec,
    /// The component that handles the route.
    pub component: ComponentRef,
    /// `{ type = "http" }` (the default) or `{ type = "wagi" }`.
    #[serde(default)]
    pub executor: Option<toml::Table>,
    /// A fixed response instead of a component.
    #[serde(default)]
    pub static_response: Option<toml::Table>,
}

/// One `[[trigger.cron]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CronTrigger {
    /// Optional trigger id.
    #[serde(default)]
    pub id: Option<String>,
    /// The component to run.
    pub component: ComponentRef,
    /// Six or seven fields: `sec min hour day-of-month month day-of-week [year]`.
    pub cron_expression: String,
}

/// A trigger's `component`: an id, or an inline component table.
#[derive(Debug)]
pub enum ComponentRef {
    /// `component = "web"`.
    Id(String),
    /// `component = { source = … }` (not supported by this host).
    Inline,
}

/// A route: a pattern string or `{ private = true }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteSpec {
    /// `route = "/api/..."`.
    Pattern(String),
    /// `route = { private = <bool> }`.
    Private(bool),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PrivateRoute {
    private: bool,
}

/// One `[component.<id>]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    /// The Wasm file, relative to the manifest directory.
    pub source: Source,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Component variables: templates over application variables.
    #[serde(default)]
    pub variables: IndexMap<String, String>,
    /// Environment variables of the guest.
    #[serde(default)]
    pub environment: IndexMap<String, String>,
    /// Files made available to the guest, read-only.
    #[serde(default)]
    pub files: Vec<FilesMount>,
    /// Glob patterns removed from `files`.
    #[serde(default)]
    pub exclude_files: Vec<String>,
    /// Deprecated Spin 1 field.
    #[serde(default)]
    pub allowed_http_hosts: Vec<String>,
    /// Outbound network permissions.
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    /// Key-value store labels the component may open.
    #[serde(default)]
    pub key_value_stores: Vec<String>,
    /// SQLite database labels the component may open.
    #[serde(default)]
    pub sqlite_databases: Vec<String>,
    /// LLM models (not provided by this host).
    #[serde(default)]
    pub ai_models: Vec<String>,
    /// Deployment targets (not used by a local host).
    #[serde(default)]
    pub targets: Option<Vec<toml::Value>>,
    /// How `llmos build` produces `source`.
    #[serde(default)]
    pub build: Option<BuildConfig>,
    /// Settings for external tools.
    #[serde(default)]
    pub tool: IndexMap<String, toml::Table>,
    /// Component dependencies (not supported by this host).
    #[serde(default)]
    pub dependencies: Option<toml::Table>,
    /// Whether dependencies inherit configuration.
    #[serde(default)]
    pub dependencies_inherit_configuration: Option<bool>,
    /// Build profiles (not supported by this host).
    #[serde(default)]
    pub profile: Option<toml::Table>,
}

/// A component `source`.
#[derive(Debug)]
pub enum Source {
    /// A local path.
    Local(String),
    /// A URL or registry reference (not supported by this host).
    Remote,
}

/// One `files` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilesMount {
    /// A glob pattern relative to the manifest directory; matches keep their
    /// relative path inside the guest.
    Pattern(String),
    /// A file or directory placed at `destination` (an absolute guest path).
    Placement {
        /// Host path relative to the manifest directory.
        source: String,
        /// Absolute guest path.
        destination: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Placement {
    source: String,
    destination: String,
}

/// `[component.<id>.build]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildConfig {
    /// One shell command, or several run in order.
    pub command: Commands,
    /// Directory to run in, relative to the manifest directory.
    #[serde(default)]
    pub workdir: Option<String>,
    /// Globs of the inputs; a newer input makes `llmos up` rebuild.
    #[serde(default)]
    pub watch: Vec<String>,
}

/// `command = "…"` or `command = ["…", "…"]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commands(pub Vec<String>);

impl<'de> Deserialize<'de> for ComponentRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RefVisitor;
        impl<'de> Visitor<'de> for RefVisitor {
            type Value = ComponentRef;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a component id string or an inline component table")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(ComponentRef::Id(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                toml::Table::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(ComponentRef::Inline)
            }
        }
        deserializer.deserialize_any(RefVisitor)
    }
}

impl<'de> Deserialize<'de> for RouteSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RouteVisitor;
        impl<'de> Visitor<'de> for RouteVisitor {
            type Value = RouteSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a route pattern string or `{ private = true }`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(RouteSpec::Pattern(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let private =
                    PrivateRoute::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RouteSpec::Private(private.private))
            }
        }
        deserializer.deserialize_any(RouteVisitor)
    }
}

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SourceVisitor;
        impl<'de> Visitor<'de> for SourceVisitor {
            type Value = Source;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a path to a .wasm file, or a { url, digest } / registry table")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Source::Local(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                toml::Table::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Source::Remote)
            }
        }
        deserializer.deserialize_any(SourceVisitor)
    }
}

impl<'de> Deserialize<'de> for FilesMount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MountVisitor;
        impl<'de> Visitor<'de> for MountVisitor {
            type Value = FilesMount;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a glob pattern string or a { source, destination } table")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(FilesMount::Pattern(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let p = Placement::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(FilesMount::Placement {
                    source: p.source,
                    destination: p.destination,
                })
            }
        }
        deserializer.deserialize_any(MountVisitor)
    }
}

impl<'de> Deserialize<'de> for Commands {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CommandsVisitor;
        impl<'de> Visitor<'de> for CommandsVisitor {
            type Value = Commands;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a command string or an array of command strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Commands(vec![v.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut commands = Vec::new();
                while let Some(command) = seq.next_element::<String>()? {
                    commands.push(command);
                }
                Ok(Commands(commands))
            }
        }
        deserializer.deserialize_any(CommandsVisitor)
    }
}
