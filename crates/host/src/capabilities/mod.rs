//! The Spin platform interfaces the host gives components, beyond WASI:
//! SQLite, key-value and variables. Each module implements the bindgen
//! traits of one interface for [`crate::runtime::state::StoreState`].

pub mod key_value;
pub mod sqlite;
pub mod variables;

/// Storage shared by every instance of the app.
pub struct Services {
    /// SQLite databases by label.
    pub sqlite: sqlite::SqliteDatabases,
    /// Key-value stores by label.
    pub key_value: key_value::KeyValueStores,
}
