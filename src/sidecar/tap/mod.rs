//! The tap: a reverse proxy in front of the model that forwards every request and response
//! unchanged and observes a copy of the request bodies.
//!
//! The request path never waits on drifttap: up to `max_body_bytes` of each body is copied
//! aside, and when the body ends the copy goes on the observation queue without waiting (a full
//! queue drops it and counts it). Decoding happens elsewhere, so a malformed payload reaches
//! the model exactly as sent. If the model cannot be reached the client gets a 502, if it does
//! not answer in time a 504; the sidecar stays healthy either way. Responses stream back
//! untouched (and, with `observe_responses`, are copied the same way, for prediction drift).
//!
//! Two paths forward, by what the client speaks: [`h1`] takes every connection first and
//! serves HTTP/1.1 and HTTP/1.0 (upgrades included); a connection that opens with the HTTP/2
//! preface (gRPC, or any h2c client) goes to [`Tap::handle`] on hyper, which forwards each
//! stream to the model over HTTP/2 as well (prior knowledge, one connection to the model per
//! client connection, its streams multiplexed), trailers included.

mod chunked;
mod h1;

/// The HTTP/1.x path's decisions on the wire, as pure functions: what the tap would forward for
/// a request head, and where a chunked body ends. For fuzzing and conformance checks; the
/// proxy itself uses the same code.
pub mod wire {
    pub use super::chunked::{ChunkError, Chunked};
    pub use super::h1::{BodyFraming, HeadDecision, request_head};
}

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http2::SendRequest;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};

use prometheus_client::metrics::counter::Counter;

use crate::http::{Admission, H2_KEEP_ALIVE, Limits, MAX_HEAD_BYTES};
use crate::sidecar::ingest::queue::{Direction, Observation, Observer, Source};
use crate::sidecar::metrics::{Metrics, ReasonLabels, TapLabels};

/// The tap's response body: the model's, streamed, or an error of the tap's own.
pub type TapBody = BoxBody<Bytes, hyper::Error>;

/// Headers that describe one hop, not the message (RFC 9110 §7.6.1): a proxy does not forward
/// them. (`Trailer` is not one: it announces the trailer fields, which are forwarded.)
const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "upgrade",
];

/// Fields that `Connection` cannot name away: the message's framing and its target host. A
/// proxy that dropped `Content-Length` because `Connection: content-length` named it, and
/// still forwarded the body, would hand the model a second request made of the body's bytes.
const NOT_NAMEABLE: [&str; 3] = ["content-length", "transfer-encoding", "host"];

/// The reasons of `drifttap_tap_upstream_errors_total`: the model could not be reached
/// (`connect`, a 502), did not answer in time (`timeout`, a 504), answered with something that
/// is not HTTP (`invalid_response`, a 502: for an HTTP/2 client, a model that does not speak
/// HTTP/2), or broke off its answer's body (`aborted`: the client's connection is closed, the
/// only way to tell it).
pub const UPSTREAM_ERROR_REASONS: [&str; 4] = ["connect", "timeout", "invalid_response", "aborted"];

/// Concurrent streams an HTTP/2 client connection may open (hyper's default is 200; gRPC
/// servers commonly allow 100 or more).
const H2_MAX_STREAMS: u32 = 256;

/// The tap for one model. Cloning is cheap (one reference count); [`Tap::for_connection`]
/// gives each accepted client connection its own upstream connection.
#[derive(Debug, Clone)]
pub struct Tap {
    shared: Arc<Shared>,
    /// This client connection's HTTP/2 connection to the model, opened by its first stream.
    upstream: Arc<tokio::sync::Mutex<Option<SendRequest<TeeBody>>>>,
}

#[derive(Debug)]
struct Shared {
    authority: http::uri::Authority,
    /// `host:port` of the model, the port defaulted from the scheme.
    connect_to: String,
    max_body_bytes: usize,
    observe_responses: bool,
    /// `upstream_timeout`: from the end of a request to the beginning of its answer.
    timeout: Duration,
    limits: Limits,
    observer: Observer,
    metrics: Arc<Metrics>,
    model: String,
    /// `drifttap_tap_requests_total` for `2xx`, `3xx`, `4xx`, `5xx`, resolved once: the family
    /// lookup (label strings, hash, lock) is not paid per request.
    requests_by_class: [Counter; 4],
}

/// Why the model was not reached over HTTP/2.
#[derive(Debug)]
enum UpstreamError {
    Connect(std::io::Error),
    /// The model did not take the HTTP/2 connection preface.
    Handshake(hyper::Error),
    Http(hyper::Error),
}

impl std::fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpstreamError::Connect(e) => write!(f, "connect: {e}"),
            UpstreamError::Handshake(e) => write!(f, "HTTP/2 handshake: {e}"),
            UpstreamError::Http(e) => write!(f, "{e}"),
        }
    }
}

impl Tap {
    pub fn new(
        config: &crate::sidecar::config::TapConfig,
        model: String,
        observer: Observer,
        metrics: Arc<Metrics>,
    ) -> Self {
        let authority = config
            .upstream
            .authority()
            .cloned()
            .unwrap_or_else(|| http::uri::Authority::from_static("127.0.0.1:80"));
        let requests_by_class = ["2xx", "3xx", "4xx", "5xx"].map(|code| {
            metrics
                .tap_requests
                .get_or_create(&TapLabels {
                    model: model.clone(),
                    code: code.into(),
                })
                .clone()
        });
        let connect_to = format!(
            "{}:{}",
            authority.host(),
            authority.port_u16().unwrap_or(80)
        );
        Tap {
            shared: Arc::new(Shared {
                connect_to,
                requests_by_class,
                authority,
                max_body_bytes: config.max_body_bytes,
                observe_responses: config.observe_responses,
                timeout: config.upstream_timeout,
                limits: config.limits,
                observer,
                metrics,
                model,
            }),
            upstream: Arc::default(),
        }
    }

    /// The tap for a newly accepted client connection: the same model, its own upstream
    /// connection (opened on its first request).
    pub fn for_connection(&self) -> Tap {
        Tap {
            shared: self.shared.clone(),
            upstream: Arc::default(),
        }
    }

    /// Forwards one HTTP/2 stream to the model and its answer back: the head without
    /// connection-specific fields (`te: trailers`, which gRPC needs, stays), the body and its
    /// trailers frame by frame. `upstream_timeout` counts from the end of the request's body,
    /// so a long upload or a client-streaming call is not cut short.
    pub async fn handle(self, request: Request<Incoming>) -> Response<TapBody> {
        let shared = &*self.shared;
        let (mut parts, body) = request.into_parts();
        let content_type = crate::http::content_type(&parts.headers);
        let grpc = content_type
            .as_deref()
            .is_some_and(|t| t.starts_with("application/grpc"));
        let fail = |status, message| {
            self.shared.count_answer(u16::from(status));
            if grpc {
                grpc_error(status, message)
            } else {
                tap_error(status, message)
            }
        };
        let trailers = parts
            .headers
            .get(http::header::TE)
            .is_some_and(|te| te.as_bytes().eq_ignore_ascii_case(b"trailers"));
        strip_hop_by_hop(&mut parts.headers);
        if trailers {
            parts
                .headers
                .insert(http::header::TE, http::HeaderValue::from_static("trailers"));
        }
        // The stream's own authority (`:authority`, else `Host`), as an HTTP/1.1 request keeps
        // its `Host`; the model's when the client sent neither.
        let authority = parts
            .uri
            .authority()
            .cloned()
            .or_else(|| {
                parts
                    .headers
                    .get(http::header::HOST)
                    .and_then(|h| http::uri::Authority::try_from(h.as_bytes()).ok())
            })
            .unwrap_or_else(|| shared.authority.clone());
        let mut uri = http::uri::Parts::default();
        uri.scheme = Some(http::uri::Scheme::HTTP);
        uri.authority = Some(authority);
        uri.path_and_query = Some(
            parts
                .uri
                .path_and_query()
                .cloned()
                .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/")),
        );
        match http::Uri::from_parts(uri) {
            Ok(uri) => parts.uri = uri,
            Err(_) => return fail(StatusCode::BAD_REQUEST, "invalid request target"),
        }
        parts.version = http::Version::HTTP_2;
        let observed = shared.sample_exchange(!body.is_end_stream());
        let (ended, request_ended) = oneshot::channel();
        let request_body = TeeBody::new(
            body,
            observed,
            shared.max_body_bytes,
            shared.observer.clone(),
            Direction::Request,
            content_type,
        )
        .signalling_end(ended);
        let forwarded = Request::from_parts(parts, request_body);
        let timeout = shared.timeout;
        let deadline = async move {
            // Also when the body broke off (the sender is then dropped).
            let _ = request_ended.await;
            tokio::time::sleep(timeout).await;
        };
        let response = tokio::select! {
            response = self.forward(forwarded) => match response {
                Ok(response) => response,
                Err(e) => {
                    let (reason, message) = match &e {
                        UpstreamError::Connect(_) => ("connect", "the model could not be reached"),
                        UpstreamError::Http(e) if e.is_closed() || e.is_canceled() => {
                            ("connect", "the model closed the connection without answering")
                        }
                        // The connection opened, and what came back was not HTTP/2.
                        UpstreamError::Handshake(_) | UpstreamError::Http(_) => (
                            "invalid_response",
                            "the model's answer is not HTTP/2 (does it speak HTTP/2 with prior knowledge?)",
                        ),
                    };
                    self.upstream_error(reason);
                    tracing::debug!(error = %e, "upstream exchange failed");
                    return fail(StatusCode::BAD_GATEWAY, message);
                }
            },
            () = deadline => {
                self.upstream_error("timeout");
                return fail(StatusCode::GATEWAY_TIMEOUT, "the model did not answer in time");
            }
        };
        let (mut parts, body) = response.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        let body = if shared.observe_responses && observed {
            TeeBody::new(
                body,
                true,
                shared.max_body_bytes,
                shared.observer.clone(),
                Direction::Response,
                crate::http::content_type(&parts.headers),
            )
            .boxed()
        } else {
            body.boxed()
        };
        self.answer(Response::from_parts(parts, body))
    }

    /// Sends `request` on this client connection's HTTP/2 connection to the model, opening one
    /// if there is none or it was closed. A request the closed connection never took is sent
    /// once more on a new one (nothing of it reached the model).
    async fn forward(
        &self,
        request: Request<TeeBody>,
    ) -> Result<Response<Incoming>, UpstreamError> {
        let mut sender = self.sender(false).await?;
        match sender.try_send_request(request).await {
            Ok(response) => Ok(response),
            Err(mut e) => match e.take_message() {
                Some(unsent) => {
                    let mut sender = self.sender(true).await?;
                    sender
                        .send_request(unsent)
                        .await
                        .map_err(UpstreamError::Http)
                }
                None => Err(UpstreamError::Http(e.into_error())),
            },
        }
    }

    /// The connection's sender, ready for a stream; a new connection when there is none, it
    /// has closed, or `fresh` asks for one.
    async fn sender(&self, fresh: bool) -> Result<SendRequest<TeeBody>, UpstreamError> {
        let mut slot = self.upstream.lock().await;
        if let Some(sender) = slot.as_mut()
            && !fresh
            && !sender.is_closed()
            && sender.ready().await.is_ok()
        {
            return Ok(sender.clone());
        }
        *slot = None;
        let sender = self.connect().await?;
        *slot = Some(sender.clone());
        Ok(sender)
    }

    /// Opens an HTTP/2 connection to the model and starts driving it.
    async fn connect(&self) -> Result<SendRequest<TeeBody>, UpstreamError> {
        let stream = TcpStream::connect(&*self.shared.connect_to)
            .await
            .map_err(UpstreamError::Connect)?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .keep_alive_interval(H2_KEEP_ALIVE)
            .keep_alive_timeout(H2_KEEP_ALIVE)
            .max_header_list_size(MAX_HEAD_BYTES as u32)
            .handshake(TokioIo::new(stream))
            .await
            .map_err(UpstreamError::Handshake)?;
        tokio::spawn(async move {
            // Ends when the model closes it or this client connection's tap is dropped.
            let _ = connection.await;
        });
        Ok(sender)
    }

    fn answer(&self, response: Response<TapBody>) -> Response<TapBody> {
        self.shared.count_answer(response.status().as_u16());
        response
    }

    fn upstream_error(&self, reason: &str) {
        self.shared.upstream_error(reason);
    }
}

impl Shared {
    /// Whether to observe an exchange, drawn once for the request's body and the answer's
    /// together: only exchanges with something to observe ask the sampler.
    fn sample_exchange(&self, request_has_body: bool) -> bool {
        (request_has_body || self.observe_responses) && self.observer.sample()
    }

    /// Counts an answer to the client by its status class.
    fn count_answer(&self, status: u16) {
        let class = match status {
            200..=299 => 0,
            300..=399 => 1,
            400..=499 => 2,
            _ => 3,
        };
        self.requests_by_class[class].inc();
    }

    fn upstream_error(&self, reason: &str) {
        self.metrics
            .tap_upstream_errors
            .get_or_create(&ReasonLabels {
                model: self.model.clone(),
                reason: reason.into(),
            })
            .inc();
    }
}

/// Serves the tap on `listener` until `shutdown` resolves, then lets the connections finish
/// their current request (idle ones close at once) for up to `grace`. `admission` holds the
/// connection budget; the timeouts are the tap's own ([`Limits`]).
pub async fn serve(
    listener: TcpListener,
    admission: Admission,
    tap: Tap,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) {
    let (stop, stopped) = watch::channel(false);
    // Every connection task holds a sender: the receiver ends when the last one has finished.
    let (alive, mut all_done) = mpsc::channel::<Infallible>(1);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            admitted = admission.accept(&listener) => {
                let tap = tap.for_connection();
                let stopped = stopped.clone();
                let alive = alive.clone();
                tokio::spawn(async move {
                    let (stream, permit) = admitted.into_parts();
                    serve_connection(tap, stream, stopped).await;
                    drop(permit);
                    drop(alive);
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    let _ = stop.send(true);
    drop(alive);
    if tokio::time::timeout(grace, all_done.recv()).await.is_err() {
        tracing::warn!(
            ?grace,
            "tap connections still open after the grace period; closing them"
        );
    }
}

/// Resolves when `stopped` turns true (or its sender is gone).
async fn stop_requested(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await.map(|_| ());
}

/// One client connection: the HTTP/1.x path, then, if the client speaks HTTP/2, hyper.
async fn serve_connection(tap: Tap, mut stream: TcpStream, mut stopped: watch::Receiver<bool>) {
    let read = match h1::serve(&tap.shared, &mut stream, &mut stopped).await {
        h1::End::Closed => return,
        h1::End::Handoff(read) => read.freeze(),
    };
    let service = hyper::service::service_fn(move |request| {
        let tap = tap.clone();
        async move { Ok::<_, Infallible>(tap.handle(request).await) }
    });
    let connection = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(H2_KEEP_ALIVE))
        .keep_alive_timeout(H2_KEEP_ALIVE)
        .max_header_list_size(MAX_HEAD_BYTES as u32)
        .max_concurrent_streams(H2_MAX_STREAMS)
        .serve_connection(TokioIo::new(h1::Rewind::new(read, stream)), service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        () = stop_requested(&mut stopped) => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// Removes hop-by-hop headers, including those the `Connection` header names.
fn strip_hop_by_hop(headers: &mut http::HeaderMap) {
    let named: Vec<String> = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty() && !NOT_NAMEABLE.contains(&name.as_str()))
        .collect();
    for name in HOP_BY_HOP
        .iter()
        .copied()
        .chain(named.iter().map(String::as_str))
    {
        headers.remove(name);
    }
}

/// A response of the tap's own (the model was not reached).
fn tap_error(status: StatusCode, message: &str) -> Response<TapBody> {
    let body = serde_json::json!({ "error": message, "source": "drifttap tap" }).to_string();
    let mut response = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed(),
    );
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// An error of the tap's own to a gRPC call: a trailers-only answer (HTTP 200, the status in
/// `grpc-status`), as gRPC clients read errors; the HTTP status maps as gRPC's own mapping
/// does (502 → UNAVAILABLE, 504 → DEADLINE_EXCEEDED; 400 → INVALID_ARGUMENT).
fn grpc_error(status: StatusCode, message: &str) -> Response<TapBody> {
    let code = match status {
        StatusCode::GATEWAY_TIMEOUT => "4",
        StatusCode::BAD_REQUEST => "3",
        _ => "14",
    };
    let mut response = Response::new(
        http_body_util::Empty::new()
            .map_err(|never| match never {})
            .boxed(),
    );
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/grpc"),
    );
    headers.insert("grpc-status", http::HeaderValue::from_static(code));
    if let Ok(message) = http::HeaderValue::from_str(&format!("drifttap tap: {message}")) {
        headers.insert("grpc-message", message);
    }
    response
}

/// A body the tap copied, for the observer.
fn observation(direction: Direction, content_type: Option<String>, body: Bytes) -> Observation {
    Observation {
        source: Source::Tap,
        direction,
        content_type,
        headers: None,
        body,
    }
}

/// Up to a cap of a body's data, copied aside for the observer: the HTTP/1.1 path's bodies and
/// the general path's [`TeeBody`] alike.
#[derive(Debug)]
enum BodyCopy {
    Off,
    On { data: BytesMut, cap: usize },
    TooLarge,
}

impl BodyCopy {
    /// A copy of up to `cap` bytes, its buffer sized once from the `expected` length (capped).
    fn new(enabled: bool, cap: usize, expected: usize) -> Self {
        if enabled {
            BodyCopy::On {
                data: BytesMut::with_capacity(expected.min(cap)),
                cap,
            }
        } else {
            BodyCopy::Off
        }
    }

    fn add(&mut self, bytes: &[u8]) {
        if let BodyCopy::On { data, cap } = self {
            if data.len() + bytes.len() <= *cap {
                data.extend_from_slice(bytes);
            } else {
                *self = BodyCopy::TooLarge;
            }
        }
    }

    /// Hands the copy to the observer (or counts that the body was too large to copy).
    fn offer(self, observer: &Observer, direction: Direction, content_type: Option<String>) {
        match self {
            BodyCopy::On { data, .. } if !data.is_empty() => {
                observer.offer(observation(direction, content_type, data.freeze()));
            }
            BodyCopy::TooLarge => observer.count_drop("body_too_large", 1),
            BodyCopy::On { .. } | BodyCopy::Off => {}
        }
    }
}

/// A body passed through frame by frame, with up to `cap` bytes copied aside and handed to the
/// observer when the body ends. A body longer than the cap is forwarded whole and not observed.
pub struct TeeBody {
    inner: Incoming,
    /// Told when the body has ended (request bodies: the start of `upstream_timeout`).
    ended: Option<oneshot::Sender<()>>,
    /// `Off` once handed over, or when the body broke off.
    copy: BodyCopy,
    observer: Observer,
    direction: Direction,
    content_type: Option<String>,
}

impl std::fmt::Debug for TeeBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeeBody").field("copy", &self.copy).finish()
    }
}

impl TeeBody {
    /// Passes `inner` through, copying it aside if `observed`.
    fn new(
        inner: Incoming,
        observed: bool,
        cap: usize,
        observer: Observer,
        direction: Direction,
        content_type: Option<String>,
    ) -> Self {
        let expected = inner.size_hint().lower().min(cap as u64) as usize;
        TeeBody {
            inner,
            ended: None,
            copy: BodyCopy::new(observed, cap, expected),
            observer,
            direction,
            content_type,
        }
    }

    /// Tells `ended` when the body has ended (at once if it is empty).
    fn signalling_end(mut self, ended: oneshot::Sender<()>) -> Self {
        if self.inner.is_end_stream() {
            let _ = ended.send(());
        } else {
            self.ended = Some(ended);
        }
        self
    }

    fn finish(&mut self) {
        if let Some(ended) = self.ended.take() {
            let _ = ended.send(());
        }
        std::mem::replace(&mut self.copy, BodyCopy::Off).offer(
            &self.observer,
            self.direction,
            self.content_type.take(),
        );
    }
}

impl Body for TeeBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.copy.add(data);
                }
                if this.inner.is_end_stream() {
                    this.finish();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(None) => {
                this.finish();
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => {
                // The client went away mid-body: nothing complete to observe.
                this.copy = BodyCopy::Off;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Pending => Poll::Pending,
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

    #[test]
    fn a_body_copy_stops_at_its_cap() {
        let mut copy = BodyCopy::new(true, 8, 100);
        copy.add(b"12345");
        copy.add(b"678");
        assert!(matches!(&copy, BodyCopy::On { data, .. } if &data[..] == b"12345678"));
        copy.add(b"9");
        assert!(matches!(copy, BodyCopy::TooLarge));
        copy.add(b"more");
        assert!(matches!(copy, BodyCopy::TooLarge), "stays too large");
        let mut off = BodyCopy::new(false, 8, 0);
        off.add(b"x");
        assert!(matches!(off, BodyCopy::Off));
    }

    #[test]
    fn hop_by_hop_fields_go_but_connection_cannot_name_the_framing_or_the_host() {
        let mut headers = http::HeaderMap::new();
        for (name, value) in [
            (
                "connection",
                "content-length, Transfer-Encoding, host, x-trace",
            ),
            ("content-length", "2"),
            ("transfer-encoding", "chunked"),
            ("host", "model"),
            ("x-trace", "1"),
            ("keep-alive", "timeout=5"),
            ("content-type", "application/json"),
        ] {
            headers.append(name, http::HeaderValue::from_static(value));
        }
        strip_hop_by_hop(&mut headers);
        let mut left: Vec<&str> = headers.keys().map(|k| k.as_str()).collect();
        left.sort_unstable();
        assert_eq!(
            left,
            [
                "content-length",
                "content-type",
                "host",
                "transfer-encoding"
            ]
        );
    }
}
