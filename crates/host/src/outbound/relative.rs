//! Relative outbound URLs (Spin's self requests).
//!
//! A guest may send a request with no authority (`/api/x`) to reach its own
//! app, which Spin allows when `allowed_outbound_hosts` lists `http://self`.
//! wasmtime-wasi-http refuses a request without an authority before any
//! hook sees it, so this wrapper of `wasi:http/outgoing-handler` names such
//! requests `http://self.alt/...` (the spelling Spin accepts from SDKs that
//! require an authority) and then hands them to the standard implementation,
//! whose hooks ([`super::OutboundHooks`]) deliver them in-process.

use wasmtime::component::{Linker, Resource};
use wasmtime_wasi_http::p2::bindings::http::outgoing_handler;
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Scheme};
use wasmtime_wasi_http::p2::types::{HostFutureIncomingResponse, HostOutgoingRequest};
use wasmtime_wasi_http::{RequestOptions, WasiHttpView};

/// The host name self requests are given.
pub const SELF_HOST: &str = "self.alt";

/// The WIT instance and function this module provides.
const INTERFACE: &str = "wasi:http/outgoing-handler@0.2.0";

/// Adds `wasi:http/outgoing-handler` to `linker`, resolving relative URLs
/// to the app itself before the standard implementation runs.
pub fn add_to_linker<T: WasiHttpView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    let mut instance = linker.instance(INTERFACE)?;
    instance.func_wrap(
        "handle",
        |mut store,
         (request, options): (
            Resource<HostOutgoingRequest>,
            Option<Resource<RequestOptions>>,
        )| {
            let state: &mut T = store.data_mut();
            let mut view = state.http();
            if let Ok(outgoing) = view.table.get_mut(&request)
                && outgoing.authority.as_deref().is_none_or(str::is_empty)
            {
                outgoing.authority = Some(SELF_HOST.to_owned());
                if outgoing.scheme.is_none() {
                    outgoing.scheme = Some(Scheme::Http);
                }
            }
            let result: Result<Resource<HostFutureIncomingResponse>, ErrorCode> =
                match outgoing_handler::Host::handle(&mut view, request, options) {
                    Ok(future) => Ok(future),
                    // An error code goes back to the guest; anything else traps.
                    Err(err) => Err(err.downcast()?),
                };
            Ok((result,))
        },
    )
}
