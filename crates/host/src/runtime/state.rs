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
