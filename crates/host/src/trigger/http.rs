//! The HTTP trigger: routes a request, runs the component in a fresh
//! instance, and turns every failure into an HTTP response.
//!
//! - No route: 404. A declared body larger than `--max-body`: 413 before the
//!   component starts; an undeclared (chunked) body that grows past it: the
//!   guest's read fails and the response is 413.
//! - A component that traps, returns an error, never answers, or runs past
//!   its deadline: 500. The host keeps serving.
//! - Error bodies are JSON: `{"error":{"code":"…","message":"…"}}`.
//!
//! [`AppHost`] also delivers in-process requests for service chaining and
//! self requests ([`LocalDispatch`]).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST};
use http::uri::{Authority, Scheme};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt as _, Full};
use hyper::body::{Body, Frame, SizeHint};
use wasmtime_wasi_http::p2::bindings::http::types::Scheme as WasiScheme;
use wasmtime_wasi_http::p2::body::{HyperIncomingBody, HyperOutgoingBody};
use wasmtime_wasi_http::{Error as HttpError, WasiHttpView as _};

use crate::app::App;
use crate::outbound::{DispatchFuture, LocalDispatch};
use crate::routing::{RouteMatch, Router};
use crate::runtime::state::DeadlineExceeded;
use crate::runtime::{LoadedComponent, Runtime};
use crate::trigger::headers;

/// The header carrying per-request instantiation time with `--stats`.
pub const INSTANTIATE_HEADER: &str = "llmos-instantiate-us";
/// With `--stats`: time from the instance's start to its response head.
pub const HANDLER_HEADER: &str = "llmos-handler-us";
/// With `--stats`: SQLite statements run before the response head.
pub const SQLITE_STATEMENTS_HEADER: &str = "llmos-sqlite-statements";
/// With `--stats`: time spent in those statements.
pub const SQLITE_TIME_HEADER: &str = "llmos-sqlite-us";
/// With `--stats`: times SQLite compiled one of those statements again
/// instead of reusing its cached plan (0 on a well-formed hot path).
pub const SQLITE_REPREPARES_HEADER: &str = "llmos-sqlite-reprepares";

/// What `--stats` reports of one invocation, taken when the response head
/// leaves the guest.
struct InvocationStats {
    instantiate: Duration,
    handler: Duration,
    sqlite_statements: u32,
    sqlite_micros: u64,
    sqlite_reprepares: u32,
}

impl InvocationStats {
    fn headers(&self) -> [(&'static str, String); 5] {
        [
            (INSTANTIATE_HEADER, self.instantiate.as_micros().to_string()),
            (HANDLER_HEADER, self.handler.as_micros().to_string()),
            (SQLITE_STATEMENTS_HEADER, self.sqlite_statements.to_string()),
            (SQLITE_TIME_HEADER, self.sqlite_micros.to_string()),
            (SQLITE_REPREPARES_HEADER, self.sqlite_reprepares.to_string()),
        ]
    }
}

/// The client address Spin reports for service-chaining requests.
const CHAINED_CLIENT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);

/// Extra time after the deadline before an invocation blocked in a host call
/// is abandoned; CPU-bound guests are stopped by the epoch callback first.
const DEADLINE_GRACE: Duration = Duration::from_millis(100);

/// HTTP trigger settings.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// Largest request body, in bytes.
    pub max_body: u64,
    /// Whether to report per-request costs in response headers
    /// ([`INSTANTIATE_HEADER`], [`HANDLER_HEADER`],
    /// [`SQLITE_STATEMENTS_HEADER`], [`SQLITE_TIME_HEADER`],
    /// [`SQLITE_REPREPARES_HEADER`]).
    pub stats: bool,
}

/// A running app: runtime plus router.
pub struct AppHost {
    runtime: Runtime,
    router: Router,
    options: HttpOptions,
    name: String,
    version: String,
    me: Weak<AppHost>,
}

impl AppHost {
    /// Builds the router for `app` over `runtime`.
    pub fn new(app: &App, runtime: Runtime, options: HttpOptions) -> anyhow::Result<Arc<Self>> {
        let (router, duplicates) = Router::build(
            app.manifest
                .http_triggers
                .iter()
                .map(|t| (&t.route, t.component.as_str())),
        )?;
        for dup in duplicates {
            tracing::warn!(
                "route {} of component {:?} is a duplicate and will never be used (component {:?} serves it)",
                dup.route,
                dup.replaced,
                dup.effective
            );
        }
        Ok(Arc::new_cyclic(|me| AppHost {
            runtime,
            router,
            options,
            name: app.manifest.name.clone(),
            version: app.manifest.version.clone(),
            me: me.clone(),
        }))
    }

    /// The app's router.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// The app's runtime.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// In-process delivery for the stores of this app.
    pub fn dispatcher(&self) -> Option<Arc<dyn LocalDispatch>> {
        self.me.upgrade().map(|me| me as Arc<dyn LocalDispatch>)
    }

    /// Handles a request from a client at `client`.
    pub async fn handle(
        &self,
        mut request: Request<HyperIncomingBody>,
        client: SocketAddr,
        local: SocketAddr,
    ) -> Response<HyperOutgoingBody> {
        headers::strip_forbidden(request.headers_mut());
        let path = request.uri().path().to_owned();
        if let Some(name) = path.strip_prefix("/.well-known/spin/") {
            return self.well_known(name);
        }
        let Some(route) = self.router.route(&path) else {
            return error_response(
                StatusCode::NOT_FOUND,
                "not-found",
                &format!("no route matches {path}"),
            );
        };
        if let Some(declared) = declared_length(request.headers())
            && declared > self.options.max_body
        {
            return too_large(self.options.max_body);
        }
        if let Err(message) = set_absolute_uri(&mut request, local) {
            return error_response(StatusCode::BAD_REQUEST, "bad-request", &message);
        }
        self.handle_routed(request, route, client, 0).await
    }

    /// Runs the routed component for `request`.
    pub async fn handle_routed(
        &self,
        mut request: Request<HyperIncomingBody>,
        route: RouteMatch,
        client: SocketAddr,
        depth: u32,
    ) -> Response<HyperOutgoingBody> {
        let host = request
            .headers()
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost")
            .to_owned();
        let spin = headers::spin_headers(request.uri(), &host, &route, client);
        headers::apply(request.headers_mut(), spin);

        let Some(component) = self
            .runtime
            .component(&route.component)
            .filter(|c| c.proxy.is_some())
        else {
            return error_response(
                StatusCode::NOT_FOUND,
                "not-found",
                &format!("component {:?} has no HTTP trigger", route.component),
            );
        };

        let exceeded = Arc::new(AtomicBool::new(false));
        let request = request.map(|body| {
            LimitedBody {
                inner: body,
                remaining: self.options.max_body,
                limit: self.options.max_body,
                exceeded: exceeded.clone(),
            }
            .boxed_unsync()
        });
        let outcome = self.invoke(component, request, depth).await;
        if exceeded.load(Ordering::Relaxed) {
            return too_large(self.options.max_body);
        }
        match outcome {
            Ok((mut response, stats)) => {
                if self.options.stats {
                    for (name, value) in stats.headers() {
                        if let Ok(value) = http::HeaderValue::try_from(value) {
                            response.headers_mut().insert(name, value);
                        }
                    }
                }
                response
            }
            Err(failure) => {
                tracing::error!(
                    "component {:?} failed on {}: {}",
                    route.component,
                    route.based_route,
                    failure.detail
                );
                error_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    failure.code,
                    &failure.message,
                )
            }
        }
    }

    async fn invoke(
        &self,
        component: &LoadedComponent,
        request: Request<HyperIncomingBody>,
        depth: u32,
    ) -> Result<(Response<HyperOutgoingBody>, InvocationStats), Failure> {
        let id = component.context.id.clone();
        let proxy_pre = component.proxy.as_ref().ok_or_else(|| {
            Failure::new(&id, "component-failed", "not an HTTP component".to_owned())
        })?;
        let started = Instant::now();
        let mut store = self
            .runtime
            .new_store(component, self.dispatcher(), depth)
            .map_err(|e| Failure::new(&id, "component-failed", format!("{e:#}")))?;
        let deadline = store.data().deadline;
        let counters = store.data().stats.clone();
        let proxy = proxy_pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| Failure::from_wasmtime(&id, e, deadline))?;
        let instantiate = started.elapsed();

        let incoming = store
            .data_mut()
            .http()
            .new_incoming_request(WasiScheme::Http, request)
            .map_err(|e| Failure::from_wasmtime(&id, e, deadline))?;
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let outparam = store
            .data_mut()
            .http()
            .new_response_outparam(sender)
            .map_err(|e| Failure::from_wasmtime(&id, e, deadline))?;

        let guest = tokio::spawn(async move {
            let call = proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, incoming, outparam);
            match tokio::time::timeout_at((deadline + DEADLINE_GRACE).into(), call).await {
                Ok(result) => result,
                Err(_) => Err(wasmtime::Error::new(DeadlineExceeded)),
            }
        });

        match receiver.await {
            Ok(Ok(response)) => {
                let (sqlite_statements, sqlite_micros, sqlite_reprepares) = counters.sqlite();
                let stats = InvocationStats {
                    instantiate,
                    handler: started.elapsed().saturating_sub(instantiate),
                    sqlite_statements,
                    sqlite_micros,
                    sqlite_reprepares,
                };
                // The guest may still be writing the body; report a late
                // failure when it finishes.
                tokio::spawn(async move {
                    if let Ok(Err(err)) = guest.await {
                        tracing::error!(
                            "component {id:?} failed while streaming its response: {err:#}"
                        );
                    }
                });
                Ok((response, stats))
            }
            Ok(Err(code)) => Err(Failure::new(
                &id,
                "component-failed",
                format!("the component answered with error {code:?}"),
            )),
            Err(_) => match guest.await {
                Ok(Ok(())) => Err(Failure::new(
                    &id,
                    "component-failed",
                    "the component returned without sending a response".to_owned(),
                )),
                Ok(Err(err)) => Err(Failure::from_wasmtime(&id, err, deadline)),
                Err(join) => Err(Failure::new(&id, "component-failed", join.to_string())),
            },
        }
    }

    fn well_known(&self, name: &str) -> Response<HyperOutgoingBody> {
        match name {
            "health" => text_response(StatusCode::OK, "text/plain", Bytes::from_static(b"OK")),
            "info" => {
                let info = serde_json::json!({
                    "name": self.name,
                    "version": self.version,
                    "host": "llmos",
                });
                text_response(
                    StatusCode::OK,
                    "application/json",
                    Bytes::from(info.to_string()),
                )
            }
            _ => error_response(
                StatusCode::NOT_FOUND,
                "not-found",
                &format!("no such well-known path {name}"),
            ),
        }
    }

    fn upgraded(&self) -> Result<Arc<AppHost>, HttpError> {
        self.me.upgrade().ok_or(HttpError::DestinationUnavailable)
    }
}

impl LocalDispatch for AppHost {
    fn to_component(
        &self,
        component: String,
        mut request: http::Request<wasmtime_wasi_http::WasiBody>,
        depth: u32,
    ) -> DispatchFuture {
        let me = self.upgraded();
        Box::pin(async move {
            let me = me?;
            let reachable = me
                .runtime
                .component(&component)
                .is_some_and(|c| c.proxy.is_some());
            if !reachable {
                return Err(HttpError::DestinationNotFound);
            }
            headers::strip_forbidden(request.headers_mut());
            let path = request.uri().path().to_owned();
            let route = RouteMatch::synthetic(&component, &path);
            Ok(me
                .handle_routed(request, route, CHAINED_CLIENT, depth)
                .await)
        })
    }

    fn to_self(
        &self,
        mut request: http::Request<wasmtime_wasi_http::WasiBody>,
        depth: u32,
    ) -> DispatchFuture {
        let me = self.upgraded();
        Box::pin(async move {
            let me = me?;
            headers::strip_forbidden(request.headers_mut());
            let path = request.uri().path().to_owned();
            let Some(route) = me.router.route(&path) else {
                return Ok(error_response(
                    StatusCode::NOT_FOUND,
                    "not-found",
                    &format!("no route matches {path}"),
                ));
            };
            Ok(me
                .handle_routed(request, route, CHAINED_CLIENT, depth)
                .await)
        })
    }
}

/// Why an invocation produced no response.
struct Failure {
    code: &'static str,
    message: String,
    detail: String,
}

impl Failure {
    fn new(component: &str, code: &'static str, reason: String) -> Self {
        Failure {
            code,
            message: format!("component {component:?} failed: {reason}"),
            detail: reason,
        }
    }

    fn from_wasmtime(component: &str, err: wasmtime::Error, deadline: Instant) -> Self {
        let past_deadline =
            err.downcast_ref::<DeadlineExceeded>().is_some() || Instant::now() >= deadline;
        if past_deadline {
            return Failure {
                code: "deadline-exceeded",
                message: format!("component {component:?} did not finish before its deadline"),
                detail: format!("{err:#}"),
            };
        }
        let cause = err.root_cause().to_string();
        Failure {
            code: "component-failed",
            message: format!("component {component:?} failed: {cause}"),
            detail: format!("{err:#}"),
        }
    }
}

/// A JSON error response.
pub fn error_response(
    status: StatusCode,
    code: &str,
    message: &str,
) -> Response<HyperOutgoingBody> {
    let body = serde_json::json!({ "error": { "code": code, "message": message } });
    text_response(status, "application/json", Bytes::from(body.to_string()))
}

fn too_large(limit: u64) -> Response<HyperOutgoingBody> {
    error_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload-too-large",
        &format!("the request body exceeds the limit of {limit} bytes"),
    )
}

fn text_response(
    status: StatusCode,
    content_type: &'static str,
    body: Bytes,
) -> Response<HyperOutgoingBody> {
    let mut response = Response::new(
        Full::new(body)
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, http::HeaderValue::from_static(content_type));
    response
}

fn declared_length(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// Gives a server request its absolute URI (`http://<host>/path`), taking the
/// authority from the `Host` header, else the listening address.
fn set_absolute_uri<B>(request: &mut Request<B>, local: SocketAddr) -> Result<(), String> {
    let header = request
        .headers()
        .get(HOST)
        .map(|h| {
            h.to_str()
                .map_err(|_| "the Host header is not valid UTF-8".to_owned())
                .and_then(|s| {
                    s.parse::<Authority>()
                        .map_err(|_| format!("the Host header {s:?} is not a valid authority"))
                })
        })
        .transpose()?;
    let mut parts = request.uri().clone().into_parts();
    let authority = match (header, parts.authority.take()) {
        (Some(h), Some(u)) if h != u => {
            return Err("the Host header does not match the request URI".to_owned());
        }
        (Some(a), _) | (None, Some(a)) => a,
        (None, None) => local
            .to_string()
            .parse()
            .map_err(|_| "cannot build an authority".to_owned())?,
    };
    parts.scheme = Some(Scheme::HTTP);
    parts.authority = Some(authority);
    if parts.path_and_query.is_none() {
        parts.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
    }
    *request.uri_mut() = Uri::from_parts(parts).map_err(|e| e.to_string())?;
    Ok(())
}

/// A request body that fails once it grows past a limit, and records that
/// it did so the response can be a 413.
struct LimitedBody {
    inner: HyperIncomingBody,
    remaining: u64,
    limit: u64,
    exceeded: Arc<AtomicBool>,
}

impl Body for LimitedBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let len = data.len() as u64;
                    if len > this.remaining {
                        this.exceeded.store(true, Ordering::Relaxed);
                        return Poll::Ready(Some(Err(HttpError::HttpRequestBodySize(Some(
                            this.limit,
                        )))));
                    }
                    this.remaining -= len;
                }
                Poll::Ready(Some(Ok(frame)))
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn limited_body_fails_past_the_limit() {
        let exceeded = Arc::new(AtomicBool::new(false));
        let body = LimitedBody {
            inner: Full::new(Bytes::from(vec![0u8; 100]))
                .map_err(|never| match never {})
                .boxed_unsync(),
            remaining: 10,
            limit: 10,
            exceeded: exceeded.clone(),
        };
        assert!(body.collect().await.is_err());
        assert!(exceeded.load(Ordering::Relaxed));
    }

    #[tokio::test]
    async fn limited_body_passes_bodies_within_the_limit() {
        let exceeded = Arc::new(AtomicBool::new(false));
        let body = LimitedBody {
            inner: Full::new(Bytes::from_static(b"hello"))
                .map_err(|never| match never {})
                .boxed_unsync(),
            remaining: 5,
            limit: 5,
            exceeded: exceeded.clone(),
        };
        let bytes = body.collect().await.expect("body").to_bytes();
        assert_eq!(&bytes[..], b"hello");
        assert!(!exceeded.load(Ordering::Relaxed));
    }

    #[test]
    fn absolute_uri_comes_from_the_host_header() {
        let mut request = Request::get("/x?y=1")
            .header(HOST, "example.com:8080")
            .body(())
            .expect("request");
        set_absolute_uri(&mut request, "127.0.0.1:1".parse().expect("addr")).expect("uri");
        assert_eq!(request.uri().to_string(), "http://example.com:8080/x?y=1");

        let mut request = Request::get("/x").body(()).expect("request");
        set_absolute_uri(&mut request, "127.0.0.1:3000".parse().expect("addr")).expect("uri");
        assert_eq!(request.uri().to_string(), "http://127.0.0.1:3000/x");
    }

    #[test]
    fn error_bodies_are_json() {
        let response = error_response(StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large", "big");
        assert_eq!(response.status(), 413);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    }
}
