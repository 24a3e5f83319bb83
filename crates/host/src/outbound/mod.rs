//! Outbound `wasi:http` requests of guests.
//!
//! Every request is checked against the component's `allowed_outbound_hosts`
//! before anything else, as Spin does; a denied request fails at once with
//! wasi-http's `HTTP-request-denied`. Allowed requests then go:
//! - to `http://<id>.spin.internal/...`: dispatched in-process to that
//!   component (service chaining), with no network involved;
//! - to a relative URL or `http://self.alt/...`: dispatched in-process
//!   through the app's own router (Spin's "self request", allowed by
//!   `http://self`; see [`relative`]);
//! - anywhere else: over the network, with connect and first-byte timeouts.

pub mod allowed_hosts;
pub mod relative;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt as _;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use crate::app::ComponentContext;
use allowed_hosts::{OutboundTarget, service_chaining_target};

/// Chaining hops one request may take before the host calls it a loop.
pub const MAX_CHAIN_DEPTH: u32 = 10;
/// Default time to establish a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time to wait for the first byte of the response.
pub const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default time to wait between body chunks.
pub const BETWEEN_BYTES_TIMEOUT: Duration = Duration::from_secs(30);

/// A boxed future of a dispatched response.
pub type DispatchFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<WasiBody>, Error>> + Send>>;

/// In-process request delivery, implemented by the HTTP trigger.
pub trait LocalDispatch: Send + Sync {
    /// Delivers `request` to `component` as a service-chaining request.
    fn to_component(
        &self,
        component: String,
        request: http::Request<WasiBody>,
        depth: u32,
    ) -> DispatchFuture;

    /// Delivers `request` through the app's router, as if sent to the app's
    /// own address.
    fn to_self(&self, request: http::Request<WasiBody>, depth: u32) -> DispatchFuture;
}

/// The wasi-http hooks of one instance.
pub struct OutboundHooks {
    component: Arc<ComponentContext>,
    dispatch: Option<Arc<dyn LocalDispatch>>,
    depth: u32,
}

impl OutboundHooks {
    /// Hooks for an instance of `component` reached after `depth` chaining
    /// hops. Without `dispatch`, chaining and self requests are refused.
    pub fn new(
        component: Arc<ComponentContext>,
        dispatch: Option<Arc<dyn LocalDispatch>>,
        depth: u32,
    ) -> Self {
        OutboundHooks {
            component,
            dispatch,
            depth,
        }
    }
}

type IoFuture = Box<dyn Future<Output = Result<(), Error>> + Send>;
type SendFuture =
    Box<dyn Future<Output = Result<(http::Response<WasiBody>, IoFuture), Error>> + Send>;

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> SendFuture {
        // The guest may report an error while consuming the response; there
        // is nothing the host can do with it.
        drop(fut);
        let component = self.component.clone();
        let dispatch = self.dispatch.clone();
        let depth = self.depth;
        Box::new(send(component, dispatch, depth, request, options))
    }
}

async fn send(
    component: Arc<ComponentContext>,
    dispatch: Option<Arc<dyn LocalDispatch>>,
    depth: u32,
    mut request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> Result<(http::Response<WasiBody>, IoFuture), Error> {
    let done: fn() -> IoFuture = || Box::new(async { Ok(()) });
    let uri = request.uri().clone();
    let scheme = uri.scheme_str().unwrap_or("https").to_ascii_lowercase();
    let host = uri.host().unwrap_or_default().to_ascii_lowercase();

    if host.is_empty() || host == relative::SELF_HOST {
        if !(component.allowed_hosts.allows_self("http")
            || component.allowed_hosts.allows_self("https"))
        {
            deny(&component, &scheme, "self");
            return Err(Error::HttpRequestDenied);
        }
        let dispatch = local(dispatch, depth)?;
        request.headers_mut().remove(http::header::HOST);
        let response = dispatch.to_self(request, depth + 1).await?;
        return Ok((response, done()));
    }

    let target = OutboundTarget::from_uri(&uri).ok_or(Error::HttpRequestUriInvalid)?;
    if !component.allowed_hosts.allows(&target) {
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
        deny(&component, &scheme, authority);
        return Err(Error::HttpRequestDenied);
    }

    if let Some(callee) = service_chaining_target(&target.host) {
        let dispatch = local(dispatch, depth)?;
        request.headers_mut().remove(http::header::HOST);
        let response = dispatch
            .to_component(callee.to_owned(), request, depth + 1)
            .await?;
        return Ok((response, done()));
    }

    let options = RequestOptions {
        connect_timeout: options
            .and_then(|o| o.connect_timeout)
            .or(Some(CONNECT_TIMEOUT)),
        first_byte_timeout: options
            .and_then(|o| o.first_byte_timeout)
            .or(Some(FIRST_BYTE_TIMEOUT)),
        between_bytes_timeout: options
            .and_then(|o| o.between_bytes_timeout)
            .or(Some(BETWEEN_BYTES_TIMEOUT)),
    };
    let (response, io) = wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
    Ok((response.map(|b| b.boxed_unsync()), Box::new(io)))
}

fn local(
    dispatch: Option<Arc<dyn LocalDispatch>>,
    depth: u32,
) -> Result<Arc<dyn LocalDispatch>, Error> {
    if depth >= MAX_CHAIN_DEPTH {
        return Err(Error::LoopDetected);
    }
    dispatch.ok_or(Error::DestinationUnavailable)
}

fn deny(component: &ComponentContext, scheme: &str, authority: &str) {
    tracing::warn!(
        "component {:?} tried to reach {scheme}://{authority}, which its allowed_outbound_hosts does not allow; add \"{scheme}://{authority}\" to allowed_outbound_hosts to permit it",
        component.id
    );
}
