//! The loaded application: a validated manifest with every value resolved.
//!
//! Loading turns the manifest into what the runtime needs per component:
//! rendered variables, parsed outbound permissions, staged `files`, storage
//! labels checked against the configured stores. Everything that can be
//! wrong with the configuration fails here, before anything listens.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use indexmap::IndexMap;

use crate::manifest::{FieldPath, Manifest};
use crate::outbound::allowed_hosts::AllowedHosts;
use crate::runtime_config::StorageConfig;
use crate::variables::{self, EnvSource};

/// Everything the runtime needs to know about one component.
#[derive(Debug)]
pub struct ComponentContext {
    /// The component id.
    pub id: String,
    /// Absolute path of its `.wasm`.
    pub source: PathBuf,
    /// Its variables, rendered; an error for those that use an application
    /// variable with no value.
    pub variables: HashMap<String, Result<String, String>>,
    /// Its environment.
    pub environment: Vec<(String, String)>,
    /// Directory the guest sees read-only as `/`, when it has `files`.
    pub files_root: Option<PathBuf>,
    /// Its outbound permissions.
    pub allowed_hosts: AllowedHosts,
    /// SQLite labels it may open.
    pub sqlite_databases: HashSet<String>,
    /// Key-value labels it may open.
    pub key_value_stores: HashSet<String>,
}

/// A loaded application.
pub struct App {
    /// The manifest.
    pub manifest: Manifest,
    /// The state directory (databases, admin token).
    pub data_dir: PathBuf,
    /// Components by id, in manifest order.
    pub components: IndexMap<String, Arc<ComponentContext>>,
    /// Storage locations by label.
    pub storage: StorageConfig,
    /// The value of the `admin_token` variable, when the app declares one.
    pub admin_token: Option<String>,
    /// Holds the staged `files`; removed on drop.
    _staging: tempfile::TempDir,
}

impl App {
    /// Resolves `manifest` against providers in `env`, storage in `data_dir`
    /// and the optional runtime config file.
    pub fn load(
        manifest: Manifest,
        data_dir: PathBuf,
        runtime_config: Option<&Path>,
        env: &dyn EnvSource,
    ) -> anyhow::Result<App> {
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("while creating data dir {}", data_dir.display()))?;
        let storage = crate::runtime_config::load(runtime_config, &data_dir)?;
        let values = variables::resolve_app_variables(&manifest, env, &mut || {
            crate::admin_token::load_or_create(&data_dir)
        })?;
        let admin_token = values.get(variables::ADMIN_TOKEN_VARIABLE).cloned();

        let staging_parent = data_dir.join("mounts");
        std::fs::create_dir_all(&staging_parent)
            .with_context(|| format!("while creating {}", staging_parent.display()))?;
        remove_stale_staging(&staging_parent);
        let staging = tempfile::Builder::new()
            .prefix(&format!("files-{}-", std::process::id()))
            .tempdir_in(&staging_parent)
            .context("while creating the files staging directory")?;

        let ids = manifest.component_ids();
        let mut components = IndexMap::new();
        for (id, decl) in &manifest.components {
            let rendered = variables::resolve_component_variables(&decl.variables, &values);
            for (name, value) in &rendered {
                if let Err(reason) = value {
                    tracing::warn!(
                        "component {id:?} variable {name:?} cannot be resolved ({reason}); reading it will fail"
                    );
                }
            }

            let mut hosts = Vec::new();
            for (index, template) in decl.allowed_outbound_hosts.iter().enumerate() {
                let entry = template.render(&values).map_err(|e| {
                    manifest.error_at(
                        &FieldPath::keys(["component", id.as_str(), "allowed_outbound_hosts"])
                            .index(index),
                        e.to_string(),
                    )
                })?;
                hosts.push(entry);
            }
            let allowed_hosts = AllowedHosts::parse(&hosts, &ids).map_err(|e| {
                manifest.error_at(
                    &FieldPath::keys(["component", id.as_str(), "allowed_outbound_hosts"]),
                    e.to_string(),
                )
            })?;

            for (field, labels, known) in [
                ("sqlite_databases", &decl.sqlite_databases, &storage.sqlite),
                (
                    "key_value_stores",
                    &decl.key_value_stores,
                    &storage.key_value,
                ),
            ] {
                for (index, label) in labels.iter().enumerate() {
                    if !known.contains_key(label) {
                        return Err(manifest
                            .error_at(
                                &FieldPath::keys(["component", id.as_str(), field]).index(index),
                                format!(
                                    "label {label:?} is not defined; only \"default\" exists unless a runtime config file (--runtime-config-file) defines more"
                                ),
                            )
                            .into());
                    }
                }
            }

            let files_root = if decl.files.is_empty() {
                None
            } else {
                let root = staging.path().join(id);
                std::fs::create_dir_all(&root)
                    .with_context(|| format!("while creating {}", root.display()))?;
                crate::files::stage_component_files(
                    id,
                    &manifest.dir,
                    &decl.files,
                    &decl.exclude_files,
                    &root,
                )?;
                Some(root)
            };

            components.insert(
                id.clone(),
                Arc::new(ComponentContext {
                    id: id.clone(),
                    source: decl.source.clone(),
                    variables: rendered,
                    environment: decl
                        .environment
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                    files_root,
                    allowed_hosts,
                    sqlite_databases: decl.sqlite_databases.iter().cloned().collect(),
                    key_value_stores: decl.key_value_stores.iter().cloned().collect(),
                }),
            );
        }

        Ok(App {
            manifest,
            data_dir,
            components,
            storage,
            admin_token,
            _staging: staging,
        })
    }

    /// Components some trigger runs: `(id, used by http, used by cron)`.
    pub fn triggered_components(&self) -> Vec<(String, bool, bool)> {
        self.components
            .keys()
            .filter_map(|id| {
                let http = self
                    .manifest
                    .http_triggers
                    .iter()
                    .any(|t| &t.component == id);
                let cron = self
                    .manifest
                    .cron_triggers
                    .iter()
                    .any(|t| &t.component == id);
                (http || cron).then(|| (id.clone(), http, cron))
            })
            .collect()
    }
}

/// Removes staging directories left by processes that no longer run (a
/// killed host cannot clean up after itself). Directories are named
/// `files-<pid>-<random>`; those of live processes are kept, since another
/// command may share the data dir.
fn remove_stale_staging(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("files-"))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new("/proc").join(pid.to_string()).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The data dir to use: the explicit one, else `.spin` next to the manifest.
pub fn data_dir_for(manifest: &Manifest, explicit: Option<&Path>) -> PathBuf {
    match explicit {
        Some(dir) => std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned()),
        None => manifest.dir.join(".spin"),
    }
}
