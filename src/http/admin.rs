//! What every admin server answers alike (the sidecar's and the retrainer's): `/metrics` (the
//! registry as OpenMetrics text) and `/healthz`, GET and HEAD only.

use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use prometheus_client::registry::Registry;

use super::{Body, error, respond};

/// The OpenMetrics content type Prometheus negotiates.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What every admin server answers alike: GET and HEAD only, `/metrics` (the registry
/// encoded) and `/healthz`. `None` for the other paths, which each server answers itself.
pub fn common(request: &Request<Incoming>, registry: &Registry) -> Option<Response<Body>> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return Some(error(
            StatusCode::METHOD_NOT_ALLOWED,
            "admin endpoints are GET only",
        ));
    }
    match request.uri().path() {
        "/metrics" => Some(respond(StatusCode::OK, OPENMETRICS, encode(registry))),
        "/healthz" => Some(respond(StatusCode::OK, "text/plain", "ok\n")),
        _ => None,
    }
}

/// The registry as OpenMetrics text.
pub fn encode(registry: &Registry) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, registry);
    out
}
