//! The admin server, apart from the data path: `/metrics` (OpenMetrics text), `/healthz`
//! (the process answers), `/readyz` (baseline loaded and listeners bound), `/v1/status` (the
//! latest evaluation as `check`'s JSON). A busy tap never starves it: it has its own listener.
//! What every admin server answers alike is [`crate::http::admin::common`].

use std::sync::Arc;
use std::sync::atomic::Ordering;

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use prometheus_client::registry::Registry;

use crate::http::admin::common;
use crate::http::{Body, error, respond};
use crate::sidecar::state::Shared;

/// What the admin handler reads.
#[derive(Debug, Clone)]
pub struct Admin {
    pub shared: Arc<Shared>,
    pub registry: Arc<Registry>,
}

impl Admin {
    pub async fn handle(self, request: Request<Incoming>) -> Response<Body> {
        if let Some(response) = common(&request, &self.registry) {
            return response;
        }
        match request.uri().path() {
            "/readyz" => {
                if self.shared.listening.load(Ordering::Acquire) {
                    respond(StatusCode::OK, "text/plain", "ready\n")
                } else {
                    respond(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "text/plain",
                        "listeners not bound yet\n",
                    )
                }
            }
            "/v1/status" => {
                let status = self
                    .shared
                    .status
                    .read()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .clone();
                match status {
                    Some(json) => respond(StatusCode::OK, "application/json", json),
                    None => error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "no evaluation yet: the window has fewer samples than evaluation.min_samples, or the first interval has not passed",
                    ),
                }
            }
            _ => error(
                StatusCode::NOT_FOUND,
                "not found (admin endpoints: /metrics, /healthz, /readyz, /v1/status)",
            ),
        }
    }
}
