//! The optional runtime configuration file (`--runtime-config-file`), in
//! Spin's format. The host reads the storage sections:
//!
//! ```toml
//! [sqlite_database.analytics]
//! type = "spin"
//! path = "data/analytics.db"   # relative to this file; omitted = in memory
//!
//! [key_value_store.cache]
//! type = "spin"
//! path = "data/cache.db"
//! ```
//!
//! The `default` labels live in the data dir unless configured here. Other
//! sections Spin knows (variables providers, LLM, TLS…) are not provided by
//! this host and are reported as a warning.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;

use crate::capabilities::sqlite::DatabaseLocation;

/// File name of the default SQLite database in the data dir (as Spin 4).
pub const DEFAULT_SQLITE_FILE: &str = "sqlite_db.db";
/// File name of the default key-value store in the data dir (as Spin 4).
pub const DEFAULT_KEY_VALUE_FILE: &str = "sqlite_key_value.db";

#[derive(Debug, Default, Deserialize)]
struct RawRuntimeConfig {
    #[serde(default)]
    sqlite_database: HashMap<String, StoreEntry>,
    #[serde(default)]
    key_value_store: HashMap<String, StoreEntry>,
    #[serde(flatten)]
    other: toml::Table,
}

#[derive(Debug, Deserialize)]
struct StoreEntry {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(flatten)]
    rest: toml::Table,
}

/// Storage locations by label.
#[derive(Debug, Default)]
pub struct StorageConfig {
    /// SQLite databases.
    pub sqlite: HashMap<String, DatabaseLocation>,
    /// Key-value stores.
    pub key_value: HashMap<String, DatabaseLocation>,
}

/// Reads the runtime config file (if any) and adds the `default` labels.
pub fn load(file: Option<&Path>, data_dir: &Path) -> anyhow::Result<StorageConfig> {
    let mut config = StorageConfig::default();
    if let Some(file) = file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("while reading runtime config {}", file.display()))?;
        let raw: RawRuntimeConfig = toml::from_str(&text)
            .with_context(|| format!("in runtime config {}", file.display()))?;
        let base = file.parent().unwrap_or(Path::new("."));
        for key in raw.other.keys() {
            tracing::warn!(
                "runtime config section [{key}] in {} is not used by llmos",
                file.display()
            );
        }
        for (section, entries, target) in [
            ("sqlite_database", raw.sqlite_database, &mut config.sqlite),
            (
                "key_value_store",
                raw.key_value_store,
                &mut config.key_value,
            ),
        ] {
            for (label, entry) in entries {
                if entry.kind != "spin" {
                    anyhow::bail!(
                        "{}: [{section}.{label}] has type {:?}; llmos supports only type = \"spin\"",
                        file.display(),
                        entry.kind
                    );
                }
                if let Some(field) = entry.rest.keys().next() {
                    anyhow::bail!(
                        "{}: [{section}.{label}] has unknown field `{field}`",
                        file.display()
                    );
                }
                let location = match entry.path {
                    Some(path) => DatabaseLocation::File(base.join(path)),
                    None => DatabaseLocation::Memory,
                };
                target.insert(label, location);
            }
        }
    }
    config
        .sqlite
        .entry("default".to_owned())
        .or_insert_with(|| DatabaseLocation::File(data_dir.join(DEFAULT_SQLITE_FILE)));
    config
        .key_value
        .entry("default".to_owned())
        .or_insert_with(|| DatabaseLocation::File(data_dir.join(DEFAULT_KEY_VALUE_FILE)));
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_live_in_the_data_dir() {
        let config = load(None, Path::new("/data")).expect("config");
        assert_eq!(
            config.sqlite["default"],
            DatabaseLocation::File("/data/sqlite_db.db".into())
        );
        assert_eq!(
            config.key_value["default"],
            DatabaseLocation::File("/data/sqlite_key_value.db".into())
        );
    }

    #[test]
    fn reads_extra_labels_relative_to_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("runtime.toml");
        std::fs::write(
            &file,
            "[sqlite_database.analytics]\ntype = \"spin\"\npath = \"a.db\"\n\n[key_value_store.cache]\ntype = \"spin\"\n",
        )
        .expect("write");
        let config = load(Some(&file), Path::new("/data")).expect("config");
        assert_eq!(
            config.sqlite["analytics"],
            DatabaseLocation::File(dir.path().join("a.db"))
        );
        assert_eq!(config.key_value["cache"], DatabaseLocation::Memory);
        assert!(config.sqlite.contains_key("default"));
    }

    #[test]
    fn rejects_other_backends() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("runtime.toml");
        std::fs::write(&file, "[sqlite_database.x]\ntype = \"libsql\"\n").expect("write");
        let err = load(Some(&file), Path::new("/data")).expect_err("unsupported");
        assert!(err.to_string().contains("libsql"), "{err}");
    }
}
