//! `fermyon:spin/key-value@2.0.0` on SQLite, laid out as Spin lays it out.
//!
//! A store file holds one table `spin_key_value (store, key, value)`, so a
//! `.spin/sqlite_key_value.db` written by Spin reads the same here. Labels
//! not listed in the component's `key_value_stores` are `access-denied`;
//! labels the host does not know are `no-such-store`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime::component::Resource;

use crate::capabilities::sqlite::DatabaseLocation;
use crate::runtime::bindings::spin::fermyon::spin::key_value::{self, Error};
use crate::runtime::state::StoreState;

/// Stores one instance may hold open at once, as in Spin.
const MAX_OPEN_STORES: usize = 256;

/// The stores the host knows, by label.
#[derive(Default)]
pub struct KeyValueStores {
    stores: HashMap<String, Arc<KvBackend>>,
}

impl KeyValueStores {
    /// Stores for the given labels. Labels at the same location share one
    /// connection.
    pub fn new(locations: HashMap<String, DatabaseLocation>) -> Self {
        let mut backends: Vec<(DatabaseLocation, Arc<Mutex<Option<rusqlite::Connection>>>)> =
            Vec::new();
        let mut stores = HashMap::new();
        for (label, location) in locations {
            let shared = match backends.iter().find(|(l, _)| *l == location) {
                Some((_, conn)) if location != DatabaseLocation::Memory => conn.clone(),
                _ => {
                    let conn = Arc::new(Mutex::new(None));
                    backends.push((location.clone(), conn.clone()));
                    conn
                }
            };
            stores.insert(
                label.clone(),
                Arc::new(KvBackend {
                    label,
                    location,
                    conn: shared,
                }),
            );
        }
        KeyValueStores { stores }
    }

    /// Whether the host knows `label`.
    pub fn contains(&self, label: &str) -> bool {
        self.stores.contains_key(label)
    }
}

/// One labelled store.
pub struct KvBackend {
    label: String,
    location: DatabaseLocation,
    conn: Arc<Mutex<Option<rusqlite::Connection>>>,
}

impl KvBackend {
    /// Runs `f` on the store's connection, opening it on first use.
    fn with_conn<T>(
        &self,
        f: impl FnOnce(&rusqlite::Connection, &str) -> rusqlite::Result<T>,
    ) -> Result<T, Error> {
        let mut guard = self
            .conn
            .lock()
            .map_err(|_| Error::Other("key-value store lock poisoned".to_owned()))?;
        if guard.is_none() {
            *guard = Some(open_store(&self.location).map_err(other)?);
        }
        let conn = guard
            .as_ref()
            .ok_or_else(|| Error::Other("key-value store unavailable".to_owned()))?;
        f(conn, &self.label).map_err(other)
    }
}

fn open_store(location: &DatabaseLocation) -> rusqlite::Result<rusqlite::Connection> {
    let conn = match location {
        DatabaseLocation::File(path) => {
            if let Some(parent) = path.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            let conn = rusqlite::Connection::open(path)?;
            conn.busy_timeout(Duration::from_secs(5))?;
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| {
                row.get::<_, String>(0)
            })?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn
        }
        DatabaseLocation::Memory => rusqlite::Connection::open_in_memory()?,
    };
    conn.execute(
        "CREATE TABLE IF NOT EXISTS spin_key_value (
            store TEXT NOT NULL,
            key   TEXT NOT NULL,
            value BLOB NOT NULL,
            PRIMARY KEY (store, key)
        )",
        [],
    )?;
    Ok(conn)
}

fn other(err: rusqlite::Error) -> Error {
    Error::Other(err.to_string())
}

/// A guest's open store (the `store` resource).
pub struct KvStore {
    backend: Arc<KvBackend>,
}

async fn blocking<T: Send + 'static>(
    backend: Arc<KvBackend>,
    f: impl FnOnce(&rusqlite::Connection, &str) -> rusqlite::Result<T> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(move || backend.with_conn(f))
        .await
        .map_err(|e| Error::Other(format!("key-value operation did not complete: {e}")))?
}

impl StoreState {
    fn kv_backend(&self, store: &Resource<KvStore>) -> Result<Arc<KvBackend>, Error> {
        self.table
            .get(store)
            .map(|s| s.backend.clone())
            .map_err(|_| Error::NoSuchStore)
    }
}

impl key_value::Host for StoreState {}

impl key_value::HostStore for StoreState {
    async fn open(&mut self, label: String) -> Result<Resource<KvStore>, Error> {
        if !self.component.key_value_stores.contains(&label) {
            return Err(Error::AccessDenied);
        }
        let backend = self
            .services
            .key_value
            .stores
            .get(&label)
            .cloned()
            .ok_or(Error::NoSuchStore)?;
        if self.open_kv_stores >= MAX_OPEN_STORES {
            return Err(Error::StoreTableFull);
        }
        let resource = self
            .table
            .push(KvStore { backend })
            .map_err(|_| Error::StoreTableFull)?;
        self.open_kv_stores += 1;
        Ok(resource)
    }

    async fn get(
        &mut self,
        store: Resource<KvStore>,
        key: String,
    ) -> Result<Option<Vec<u8>>, Error> {
        let backend = self.kv_backend(&store)?;
        blocking(backend, move |conn, label| {
            let mut stmt = conn
                .prepare_cached("SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2")?;
            let mut rows = stmt.query(rusqlite::params![label, key])?;
            match rows.next()? {
                Some(row) => Ok(Some(row.get::<_, Vec<u8>>(0)?)),
                None => Ok(None),
            }
        })
        .await
    }

    async fn set(
        &mut self,
        store: Resource<KvStore>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), Error> {
        let backend = self.kv_backend(&store)?;
        blocking(backend, move |conn, label| {
            conn.prepare_cached(
                "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
            )?
            .execute(rusqlite::params![label, key, value])
            .map(drop)
        })
        .await
    }

    async fn delete(&mut self, store: Resource<KvStore>, key: String) -> Result<(), Error> {
        let backend = self.kv_backend(&store)?;
        blocking(backend, move |conn, label| {
            conn.prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .execute(rusqlite::params![label, key])
                .map(drop)
        })
        .await
    }

    async fn exists(&mut self, store: Resource<KvStore>, key: String) -> Result<bool, Error> {
        let backend = self.kv_backend(&store)?;
        blocking(backend, move |conn, label| {
            conn.prepare_cached("SELECT 1 FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .exists(rusqlite::params![label, key])
        })
        .await
    }

    async fn get_keys(&mut self, store: Resource<KvStore>) -> Result<Vec<String>, Error> {
        let backend = self.kv_backend(&store)?;
        blocking(backend, move |conn, label| {
            let mut stmt =
                conn.prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1")?;
            let keys = stmt
                .query_map([label], |row| row.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(keys)
        })
        .await
    }

    async fn drop(&mut self, store: Resource<KvStore>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        self.open_kv_stores = self.open_kv_stores.saturating_sub(1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_share_a_file_but_not_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kv.db");
        let stores = KeyValueStores::new(HashMap::from([
            ("default".to_owned(), DatabaseLocation::File(path.clone())),
            ("other".to_owned(), DatabaseLocation::File(path)),
        ]));
        let default = stores.stores["default"].clone();
        let other = stores.stores["other"].clone();
        default
            .with_conn(|c, label| {
                c.execute(
                    "INSERT INTO spin_key_value (store, key, value) VALUES (?1, 'k', x'01')",
                    [label],
                )
            })
            .expect("insert");
        let count = other
            .with_conn(|c, label| {
                c.query_row(
                    "SELECT count(*) FROM spin_key_value WHERE store = ?1",
                    [label],
                    |r| r.get::<_, i64>(0),
                )
            })
            .expect("count");
        assert_eq!(count, 0);
        assert!(Arc::ptr_eq(&default.conn, &other.conn));
    }
}
