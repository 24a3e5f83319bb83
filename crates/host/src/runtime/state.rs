//! The per-instance store data: everything one request's guest may touch.
//!
//! A fresh [`StoreState`] is built for every instantiation and dropped with
//! its store, so nothing leaks between requests. It carries the WASI and
//! wasi-http contexts, the resource table shared by every interface, the
//! memory limits, and the request deadline checked by the epoch callback.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::StoreLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::app::ComponentContext;
use crate::capabilities::Services;
use crate::outbound::OutboundHooks;

/// Data of one store.
pub struct StoreState {
    /// Resources of every interface.
    pub table: ResourceTable,
    /// WASI context (env, files, stdio, clocks, random).
    pub wasi: WasiCtx,
    /// wasi-http context.
    pub http: WasiHttpCtx,
    /// Outbound request policy (allowed hosts, service chaining).
    pub hooks: OutboundHooks,
    /// Memory and instance limits.
    pub limits: StoreLimits,
    /// The component's configuration.
    pub component: Arc<ComponentContext>,
    /// Storage shared across instances.
    pub services: Arc<Services>,
    /// When the guest must be done.
    pub deadline: Instant,
    /// Guest SQLite connections currently open.
    pub open_sqlite_connections: usize,
    /// Guest key-value stores currently open.
    pub open_kv_stores: usize,
    /// What this instance has asked of the host so far (`--stats`).
    pub stats: Arc<RequestStats>,
}

/// Counters of one instance's host calls, read by the HTTP trigger when
/// the response head leaves (`llmos up --stats`).
#[derive(Debug, Default)]
pub struct RequestStats {
    /// SQLite statements executed.
    pub sqlite_statements: std::sync::atomic::AtomicU32,
    /// Wall time spent in those statements, including the hand-over to
    /// the blocking pool, in microseconds.
    pub sqlite_micros: std::sync::atomic::AtomicU64,
    /// Times SQLite compiled a cached statement again.
    pub sqlite_reprepares: std::sync::atomic::AtomicU32,
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for StoreState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// The trap raised when a guest runs past its deadline.
#[derive(Debug, thiserror::Error)]
#[error("the component ran past its deadline")]
pub struct DeadlineExceeded;

impl RequestStats {
    /// Counts one SQLite statement that took `took` and was compiled
    /// again `reprepared` times.
    pub fn record_sqlite(&self, took: std::time::Duration, reprepared: u32) {
        use std::sync::atomic::Ordering::Relaxed;
        self.sqlite_statements.fetch_add(1, Relaxed);
        self.sqlite_reprepares.fetch_add(reprepared, Relaxed);
        self.sqlite_micros
            .fetch_add(u64::try_from(took.as_micros()).unwrap_or(u64::MAX), Relaxed);
    }

    /// `(statements, microseconds, recompilations)` so far.
    pub fn sqlite(&self) -> (u32, u64, u32) {
        use std::sync::atomic::Ordering::Relaxed;
        (
            self.sqlite_statements.load(Relaxed),
            self.sqlite_micros.load(Relaxed),
            self.sqlite_reprepares.load(Relaxed),
        )
    }
}
