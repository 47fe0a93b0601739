//! HTTP plumbing shared by the sidecar's and the retrainer's servers: accept on an
//! already-bound listener (tests bind `127.0.0.1:0`), serve HTTP/1.1 and h2c on each
//! connection, and on shutdown stop accepting and let in-flight requests finish within a grace
//! period.
//!
//! - [`admin`]: the admin routes every server answers alike (`/metrics`, `/healthz`).
//! - [`backoff`]: exponential backoff with jitter, for the webhook sender and the retrainer.
//! - [`Limits`] and [`Admission`]: every listener's connection budget and timeouts.

pub mod admin;
pub mod backoff;
mod limits;

pub use limits::{
    Admission, Admitted, BODY_TIMEOUT, H2_KEEP_ALIVE, HEADER_TIMEOUT, IDLE_TIMEOUT, Limits,
    ListenerStats, MAX_CONNECTIONS, MAX_HEAD_BYTES, MAX_HEADERS, Permit, Quiet,
    raise_open_files_limit,
};

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

/// A listener that could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {address} ({what}): {source}")]
pub struct BindError {
    pub what: &'static str,
    pub address: SocketAddr,
    pub source: std::io::Error,
}

/// Binds `address` for the listener called `what` (bound before anything is served, so a port
/// in use fails the start and tests can bind port 0).
pub async fn bind(what: &'static str, address: SocketAddr) -> Result<TcpListener, BindError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| BindError {
            what,
            address,
            source,
        })
}

/// A complete response body.
pub type Body = Full<Bytes>;

/// A response with a body and a content type.
pub fn respond(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    if let Ok(value) = content_type.parse() {
        response
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, value);
    }
    response
}

/// A JSON error body, `{"error": message}`.
pub fn error(status: StatusCode, message: &str) -> Response<Body> {
    let body = serde_json::json!({ "error": message }).to_string();
    respond(status, "application/json", body)
}

/// The Content-Type header, if it is text.
pub fn content_type(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The connection builder every hyper listener uses: HTTP/1.1 and HTTP/2, with a timer, so
/// that a client that sends a head byte by byte is closed after `header_timeout` instead of
/// holding a file descriptor forever (a bare builder has no timer, and hyper's header timeout
/// is then silently off). Heads are held to the tap's limits: [`MAX_HEAD_BYTES`] and
/// [`MAX_HEADERS`].
pub fn connection_builder(header_timeout: Duration) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(MAX_HEAD_BYTES.max(8192))
        .max_headers(MAX_HEADERS);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(MAX_HEAD_BYTES as u32)
        .keep_alive_interval(Some(H2_KEEP_ALIVE))
        .keep_alive_timeout(H2_KEEP_ALIVE);
    builder
}

/// Serves `handler` on `listener` until `shutdown` resolves, then waits up to `grace` for the
/// connections in flight. Every response type whose body is a hyper body works. `admission`
/// holds the listener's limits: its connection budget, and the time a connection may stay
/// silent ([`Limits::idle_timeout`]) or take over a request head.
pub async fn serve<H, F, B>(
    listener: TcpListener,
    admission: Admission,
    handler: H,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let builder = connection_builder(admission.limits.header_timeout);
    let graceful = GracefulShutdown::new();
    let idle = admission.limits.idle_timeout;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            admitted = admission.accept(&listener) => {
                let handler = handler.clone();
                let service = service_fn(move |request| {
                    let handler = handler.clone();
                    async move { Ok::<_, Infallible>(handler(request).await) }
                });
                let (stream, permit) = admitted.into_parts();
                let connection = builder
                    .serve_connection_with_upgrades(TokioIo::new(Quiet::new(stream, idle)), service)
                    .into_owned();
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    // A client that goes away mid-request is not an error worth logging.
                    let _ = connection.await;
                    drop(permit);
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            ?grace,
            "connections still open after the grace period; closing them"
        );
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn a_client_that_never_finishes_its_head_is_closed() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.expect("accept");
            let service = service_fn(|_request| async {
                Ok::<_, Infallible>(respond(StatusCode::OK, "text/plain", "ok"))
            });
            let _ = connection_builder(Duration::from_millis(200))
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        let mut client = tokio::net::TcpStream::connect(address)
            .await
            .expect("connect");
        client.write_all(b"GET / HT").await.expect("write");
        let mut buf = [0u8; 256];
        let read = tokio::time::timeout(Duration::from_secs(5), client.read(&mut buf))
            .await
            .expect("closed well before 5 s, not held open");
        // hyper closes the connection (possibly after a 408 it writes first).
        match read {
            Ok(0) | Err(_) => {}
            Ok(n) => assert!(buf[..n].starts_with(b"HTTP/1.1 408"), "{:?}", &buf[..n]),
        }
    }
}
