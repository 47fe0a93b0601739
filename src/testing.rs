//! Test support that the unit tests and the integration tests share (feature `test-util`,
//! outside semver): a webhook receiver that checks what a sidecar sends, and reading whole
//! bodies.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use tokio::net::TcpListener;

use crate::protocol::webhook::{DriftNotification, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify};

/// The header a notification's idempotency key also travels in.
const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// A whole body, empty when it cannot be read.
pub async fn body_bytes<B>(body: B) -> Bytes
where
    B: hyper::body::Body,
{
    body.collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default()
}

/// A response's status and its body as text.
pub async fn status_and_text(response: Response<Incoming>) -> (StatusCode, String) {
    let status = response.status();
    let body = body_bytes(response.into_body()).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// What a receiver saw of one request.
#[derive(Debug, Clone)]
pub struct Received {
    /// The payload when the signature, timestamp and body check out, else why not.
    pub checked: Result<DriftNotification, String>,
    /// The `Idempotency-Key` header.
    pub idempotency_header: Option<String>,
}

/// A webhook receiver on loopback that verifies every request with its secret and answers with
/// the next status of a script (the last one repeats; 200 when the script is empty).
#[derive(Debug, Clone)]
pub struct ScriptedReceiver {
    /// `http://127.0.0.1:PORT/v1/drift`.
    pub url: String,
    secret: Arc<Vec<u8>>,
    script: Arc<Vec<u16>>,
    seen: Arc<Mutex<Vec<Received>>>,
}

impl ScriptedReceiver {
    /// Starts one on a free port (in the current tokio runtime).
    pub async fn start(secret: &[u8], script: &[u16]) -> ScriptedReceiver {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free loopback port");
        let receiver = ScriptedReceiver {
            url: format!(
                "http://{}/v1/drift",
                listener.local_addr().expect("a bound address")
            ),
            secret: Arc::new(secret.to_vec()),
            script: Arc::new(script.to_vec()),
            seen: Arc::default(),
        };
        let handler = receiver.clone();
        tokio::spawn(crate::http::serve(
            listener,
            crate::http::Admission::with_defaults("receiver"),
            move |request| handler.clone().handle(request),
            std::future::pending(),
            Duration::from_secs(1),
        ));
        receiver
    }

    async fn handle(self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (signature, timestamp) = (header(SIGNATURE_HEADER), header(TIMESTAMP_HEADER));
        let idempotency_header = header(IDEMPOTENCY_HEADER);
        let body = body_bytes(request.into_body()).await;
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let checked = verify(
            &self.secret,
            signature.as_deref(),
            timestamp.as_deref(),
            &body,
            now,
        )
        .map_err(|e| e.to_string());
        let mut seen = self.seen.lock().expect("the receiver's lock");
        let status = self
            .script
            .get(seen.len())
            .or(self.script.last())
            .copied()
            .unwrap_or(200);
        seen.push(Received {
            checked,
            idempotency_header,
        });
        let mut response = Response::new(Full::new(Bytes::from_static(b"{}")));
        *response.status_mut() = StatusCode::from_u16(status).expect("a script of statuses");
        response
    }

    /// Every request so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.seen.lock().expect("the receiver's lock").clone()
    }

    /// Requests so far.
    pub fn count(&self) -> usize {
        self.seen.lock().expect("the receiver's lock").len()
    }

    /// Waits until `n` requests have arrived, or panics after `limit`.
    pub async fn until(&self, n: usize, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.count() < n {
            assert!(
                Instant::now() < deadline,
                "{} of {n} requests within {limit:?}",
                self.count()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every request's payload, panicking on one that did not verify or whose idempotency
    /// header is not the body's key.
    pub fn payloads(&self) -> Vec<DriftNotification> {
        self.received()
            .into_iter()
            .map(|r| {
                let n = r.checked.expect("signed and valid");
                assert_eq!(r.idempotency_header.as_deref(), Some(&*n.idempotency_key));
                n
            })
            .collect()
    }
}
