//! Host bindings of the WIT packages in `wit/`, generated in one place.
//!
//! - `fermyon:spin@2.0.0` world `host`: the sqlite, key-value and variables
//!   imports components use (implemented in [`crate::capabilities`]).
//! - `fermyon:spin-cron@2.0.0` world `spin-cron`: the export the cron
//!   trigger calls.

/// `fermyon:spin@2.0.0` imports.
pub mod spin {
    wasmtime::component::bindgen!({
        path: "../../wit/spin",
        world: "fermyon:spin/host",
        imports: { default: async },
        with: {
            "fermyon:spin/sqlite.connection": crate::capabilities::sqlite::SqliteConnection,
            "fermyon:spin/key-value.store": crate::capabilities::key_value::KvStore,
        },
    });
}

/// `fermyon:spin-cron@2.0.0` export.
pub mod cron {
    wasmtime::component::bindgen!({
        path: "../../wit/spin-cron",
        world: "fermyon:spin-cron/spin-cron",
        exports: { default: async },
    });
}
