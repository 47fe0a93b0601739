//! The ingest API: `POST /v1/ingest` for pushed payloads (JSON records, KServe V1 and V2,
//! Arrow IPC), and `POST /` and `POST /v1/cloudevents` for KServe's payload logger
//! (CloudEvents in binary, structured or batch mode).
//!
//! A payload is read up to `max_body_bytes`, queued for the feed without waiting, and answered
//! `202 Accepted` at once: decoding happens on the feed's thread, and its outcome is counted in
//! `/metrics` (`drifttap_decode_errors_total`, `drifttap_samples_dropped_total`), not reported
//! per request. A full queue answers `503` with `Retry-After`, a body over the cap `413`.
//! CloudEvents mirror the model's traffic and are sampled like the tap's payloads; one that is
//! skipped is answered `202` too, saying so.

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};

use crate::http::{Body, error, respond};
use crate::sidecar::ingest::queue::{Direction, Observation, Observer, Source};

/// The ingest handler's state.
#[derive(Debug, Clone)]
pub struct Ingest {
    pub observer: Observer,
    pub max_body_bytes: usize,
}

impl Ingest {
    pub async fn handle(self, request: Request<Incoming>) -> Response<Body> {
        let source = match request.uri().path() {
            "/v1/ingest" => Source::Ingest,
            "/" | "/v1/cloudevents" => Source::CloudEvents,
            _ => {
                return error(
                    StatusCode::NOT_FOUND,
                    "not found (ingest endpoints: POST /v1/ingest, POST / and POST /v1/cloudevents for CloudEvents)",
                );
            }
        };
        if request.method() != Method::POST {
            let mut response = error(
                StatusCode::METHOD_NOT_ALLOWED,
                "ingest endpoints are POST only",
            );
            response
                .headers_mut()
                .insert(http::header::ALLOW, http::HeaderValue::from_static("POST"));
            return response;
        }
        let (parts, body) = request.into_parts();
        let body = match Limited::new(body, self.max_body_bytes).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                self.observer.count_drop("body_too_large", 1);
                return error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &format!(
                        "body larger than max_body_bytes ({} bytes)",
                        self.max_body_bytes
                    ),
                );
            }
            // The client went away mid-body: nothing to answer.
            Err(_) => return error(StatusCode::BAD_REQUEST, "incomplete request body"),
        };
        if source == Source::CloudEvents && !self.observer.sample() {
            // KServe's logger mirrors the model's traffic, which is sampled like the tap's.
            return respond(
                StatusCode::ACCEPTED,
                "application/json",
                "{\"queued\":false,\"sampled_out\":true}\n",
            );
        }
        let content_type = crate::http::content_type(&parts.headers);
        let queued = self.observer.offer(Observation {
            source,
            direction: Direction::Request,
            content_type,
            headers: Some(parts.headers),
            body,
        });
        if queued {
            respond(
                StatusCode::ACCEPTED,
                "application/json",
                "{\"queued\":true}\n",
            )
        } else {
            let mut response = error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the decode queue is full; the payload was dropped and counted",
            );
            response.headers_mut().insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from_static("1"),
            );
            response
        }
    }
}
