//! The admin server, apart from the data path: `/metrics` (OpenMetrics text), `/healthz`
//! (liveness: the process answers, and the feed and the engine beat within their long bound),
//! `/readyz` (baseline loaded, listeners bound, and the feed and the engine beat within their
//! short bound), `/v1/status` (the latest evaluation as `check`'s JSON). A failing probe is a
//! `503` whose body names each reason, one a line. A busy tap never starves it: it has its own
//! listener. What every admin server answers alike is [`crate::http::admin::common`]; the
//! sidecar answers `/healthz` itself.

use std::sync::Arc;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use prometheus_client::registry::Registry;

use crate::http::admin::common;
use crate::http::{Body, error, respond};
use crate::sidecar::state::{HealthBounds, Shared, Unhealthy};

/// What the admin handler reads.
#[derive(Debug, Clone)]
pub struct Admin {
    pub shared: Arc<Shared>,
    pub registry: Arc<Registry>,
    /// How long the feed and the engine may go without a heartbeat.
    pub health: HealthBounds,
}

/// A probe's answer: `ok` (`200`), or `503` with every reason, one a line.
fn probe(outcome: Result<(), Vec<Unhealthy>>, ok: &'static str) -> Response<Body> {
    match outcome {
        Ok(()) => respond(StatusCode::OK, "text/plain", ok),
        Err(problems) => {
            let text: String = problems.iter().map(|p| format!("{p}\n")).collect();
            respond(StatusCode::SERVICE_UNAVAILABLE, "text/plain", text)
        }
    }
}

impl Admin {
    pub async fn handle(self, request: Request<Incoming>) -> Response<Body> {
        let readable = matches!(*request.method(), Method::GET | Method::HEAD);
        if readable && request.uri().path() == "/healthz" {
            return probe(self.shared.liveness(&self.health, Instant::now()), "ok\n");
        }
        if let Some(response) = common(&request, &self.registry) {
            return response;
        }
        match request.uri().path() {
            "/readyz" => probe(
                self.shared.readiness(&self.health, Instant::now()),
                "ready\n",
            ),
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
