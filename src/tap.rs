//! The tap: a reverse proxy in front of the model that forwards every request and response
//! unchanged and observes a copy of the request bodies.
//!
//! The request path never waits on drifttap: the body streams to the model as it arrives while
//! up to `max_body_bytes` of it are copied aside; when the body ends the copy goes on the
//! observation queue with `try_send` (a full queue drops it and counts it). Decoding happens
//! elsewhere, so a malformed payload reaches the model exactly as sent. If the model cannot be
//! reached the client gets a 502, if it does not answer in time a 504; the sidecar stays
//! healthy either way. Responses stream back untouched (and, with `observe_responses`, are
//! copied the same way, for prediction drift).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use prometheus_client::metrics::counter::Counter;

use crate::metrics::{Metrics, ReasonLabels, TapLabels};
use crate::observe::{Direction, Observation, Observer, Source};

/// The tap's response body: the model's, streamed, or an error of the tap's own.
pub type TapBody = BoxBody<Bytes, hyper::Error>;

/// Headers that describe one hop, not the message (RFC 9110 §7.6.1): a proxy does not forward
/// them.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "upgrade",
];

/// Idle upstream connections kept per host: the model is one local process, so a small pool
/// covers any concurrency a sidecar sees while bounding file descriptors.
const POOL_IDLE_PER_HOST: usize = 64;

/// The tap for one model.
#[derive(Debug, Clone)]
pub struct Tap {
    client: Client<HttpConnector, TeeBody>,
    upstream: http::uri::Authority,
    max_body_bytes: usize,
    observe_responses: bool,
    timeout: Duration,
    observer: Observer,
    metrics: Arc<Metrics>,
    model: String,
    /// `drifttap_tap_requests_total` for `2xx`, `3xx`, `4xx`, `5xx`, resolved once: the family
    /// lookup (label strings, hash, lock) is not paid per request.
    requests_by_class: Arc<[Counter; 4]>,
}

impl Tap {
    pub fn new(
        config: &crate::config::TapConfig,
        model: String,
        observer: Observer,
        metrics: Arc<Metrics>,
    ) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(config.upstream_timeout));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(POOL_IDLE_PER_HOST)
            .build(connector);
        let upstream = config
            .upstream
            .authority()
            .cloned()
            .unwrap_or_else(|| http::uri::Authority::from_static("127.0.0.1:80"));
        let requests_by_class = Arc::new(["2xx", "3xx", "4xx", "5xx"].map(|code| {
            metrics
                .tap_requests
                .get_or_create(&TapLabels {
                    model: model.clone(),
                    code: code.into(),
                })
                .clone()
        }));
        Tap {
            requests_by_class,
            client,
            upstream,
            max_body_bytes: config.max_body_bytes,
            observe_responses: config.observe_responses,
            timeout: config.upstream_timeout,
            observer,
            metrics,
            model,
        }
    }

    /// Forwards one request to the model and its answer back.
    pub async fn handle(self, request: Request<Incoming>) -> Response<TapBody> {
        let (mut parts, body) = request.into_parts();
        let content_type = content_type_of(&parts.headers);
        let mut uri = http::uri::Parts::default();
        uri.scheme = Some(http::uri::Scheme::HTTP);
        uri.authority = Some(self.upstream.clone());
        uri.path_and_query = parts.uri.path_and_query().cloned();
        match http::Uri::from_parts(uri) {
            Ok(u) => parts.uri = u,
            Err(_) => {
                return self.answer(tap_error(StatusCode::BAD_REQUEST, "invalid request URI"));
            }
        }
        strip_hop_by_hop(&mut parts.headers);
        // hyper's client speaks HTTP/1.1 to the upstream whatever the client spoke to us.
        parts.version = http::Version::HTTP_11;
        let observed = TeeBody::new(
            body,
            self.max_body_bytes,
            self.observer.clone(),
            Source::Tap,
            Direction::Request,
            content_type,
        );
        let forwarded = Request::from_parts(parts, observed);
        let response =
            match tokio::time::timeout(self.timeout, self.client.request(forwarded)).await {
                Ok(Ok(response)) => response,
                Ok(Err(e)) => {
                    self.upstream_error("connect");
                    tracing::debug!(error = %e, "upstream unreachable");
                    return self.answer(tap_error(
                        StatusCode::BAD_GATEWAY,
                        "the model could not be reached",
                    ));
                }
                Err(_) => {
                    self.upstream_error("timeout");
                    return self.answer(tap_error(
                        StatusCode::GATEWAY_TIMEOUT,
                        "the model did not answer in time",
                    ));
                }
            };
        let (mut parts, body) = response.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        let body = if self.observe_responses {
            TeeBody::new(
                body,
                self.max_body_bytes,
                self.observer.clone(),
                Source::Tap,
                Direction::Response,
                content_type_of(&parts.headers),
            )
            .boxed()
        } else {
            body.boxed()
        };
        self.answer(Response::from_parts(parts, body))
    }

    fn answer(&self, response: Response<TapBody>) -> Response<TapBody> {
        let class = match response.status().as_u16() {
            200..=299 => 0,
            300..=399 => 1,
            400..=499 => 2,
            _ => 3,
        };
        self.requests_by_class[class].inc();
        response
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

/// The Content-Type header, if it is text.
pub(crate) fn content_type_of(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Removes hop-by-hop headers, including those the `Connection` header names.
fn strip_hop_by_hop(headers: &mut http::HeaderMap) {
    let named: Vec<String> = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
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

/// A body passed through frame by frame, with up to `cap` bytes copied aside and handed to the
/// observer when the body ends. A body longer than the cap is forwarded whole and not observed.
pub struct TeeBody {
    inner: Incoming,
    copy: Option<BytesMut>,
    cap: usize,
    observer: Observer,
    source: Source,
    direction: Direction,
    content_type: Option<String>,
    done: bool,
}

impl std::fmt::Debug for TeeBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeeBody")
            .field("copied", &self.copy.as_ref().map(BytesMut::len))
            .field("cap", &self.cap)
            .finish()
    }
}

impl TeeBody {
    fn new(
        inner: Incoming,
        cap: usize,
        observer: Observer,
        source: Source,
        direction: Direction,
        content_type: Option<String>,
    ) -> Self {
        // Sized once from the body's announced length (capped), not grown frame by frame.
        let expected = inner.size_hint().lower().min(cap as u64) as usize;
        TeeBody {
            inner,
            copy: Some(BytesMut::with_capacity(expected)),
            cap,
            observer,
            source,
            direction,
            content_type,
            done: false,
        }
    }

    fn finish(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        match self.copy.take() {
            Some(copy) if !copy.is_empty() => {
                self.observer.offer(Observation {
                    source: self.source,
                    direction: self.direction,
                    content_type: self.content_type.take(),
                    headers: None,
                    body: copy.freeze(),
                });
            }
            Some(_) => {}
            None => self.observer.count_drop("body_too_large", 1),
        }
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
                if let (Some(data), Some(copy)) = (frame.data_ref(), this.copy.as_mut()) {
                    if copy.len() + data.len() <= this.cap {
                        copy.extend_from_slice(data);
                    } else {
                        this.copy = None;
                    }
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
                this.copy = None;
                this.done = true;
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
