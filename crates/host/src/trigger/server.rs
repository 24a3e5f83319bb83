//! The HTTP/1.1 listener: accepts connections and hands each request to the
//! [`AppHost`](super::http::AppHost).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use super::http::AppHost;

/// How long a client may take to send a request head.
const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Serves `listener` until `shutdown` completes. In-flight requests on open
/// connections are abandoned when the process exits.
pub async fn serve(
    host: Arc<AppHost>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let local = listener.local_addr()?;
    serve_with(listener, shutdown, "", move |request, client| {
        let host = host.clone();
        async move {
            let request =
                request.map(|body| body.map_err(wasmtime_wasi_http::Error::from).boxed_unsync());
            host.handle(request, client, local).await
        }
    })
    .await
}

/// Serves HTTP/1.1 on `listener` with `handle` (given each request and
/// its client's address) until `shutdown` completes; `label` prefixes the
/// log lines of this listener.
pub async fn serve_with<F, Fut, B>(
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    label: &'static str,
    handle: F,
) -> anyhow::Result<()>
where
    F: Fn(Request<Incoming>, SocketAddr) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<B>> + Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    tokio::pin!(shutdown);
    loop {
        let (stream, client) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    // Out of file descriptors and similar: keep serving.
                    tracing::warn!("{label}cannot accept a connection: {err}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => return Ok(()),
        };
        let _ = stream.set_nodelay(true);
        let handle = handle.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let response = handle(request, client);
                async move { Ok::<_, Infallible>(response.await) }
            });
            if let Err(err) = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                // A client that never finishes its request head must not
                // hold a connection forever.
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!("{label}connection from {client} ended: {err}");
            }
        });
    }
}
