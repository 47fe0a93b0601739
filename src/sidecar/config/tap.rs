//! `tap:`: the reverse proxy in front of the model.

use std::net::SocketAddr;
use std::time::Duration;

use super::limits::{RawLimits, TAP_MAX_CONNECTIONS};
use crate::http::Limits;

/// `tap.listen`.
pub const LISTEN: &str = "0.0.0.0:9472";
/// `tap.upstream_timeout`.
pub const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTap {
    /// Address the tap listens on. Default `0.0.0.0:9472` (when `upstream` is set).
    pub listen: Option<String>,
    /// The model's URL, e.g. `http://127.0.0.1:8080`. The tap runs only when this is set.
    pub upstream: Option<String>,
    /// Bytes of each request body copied for decoding; longer bodies are forwarded whole but
    /// not observed. Default 1048576 (1 MiB).
    pub max_body_bytes: Option<usize>,
    /// Also observe responses (prediction drift). Default false.
    pub observe_responses: Option<bool>,
    /// Time the model has to begin its answer once the request has been sent whole, before
    /// the client gets a 504. Default `60s`.
    pub upstream_timeout: Option<String>,
    /// Time a client has to send a request head. Default `60s`.
    pub header_timeout: Option<String>,
    /// How long a kept-alive client connection may wait for its next request. Default `75s`.
    pub idle_timeout: Option<String>,
    /// The longest pause while a request body is read or an answer is passed on. Default `60s`.
    pub body_timeout: Option<String>,
    /// Client connections served at once; more wait in the listen backlog. Default 4096.
    pub max_connections: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TapConfig {
    pub listen: SocketAddr,
    pub upstream: http::Uri,
    pub max_body_bytes: usize,
    pub observe_responses: bool,
    pub upstream_timeout: Duration,
    pub limits: Limits,
}

/// The command line's and environment's say over the tap.
#[derive(Debug, Clone, Default)]
pub(super) struct TapOverrides {
    pub upstream: Option<String>,
    pub listen: Option<String>,
}

impl RawTap {
    /// The tap, `None` when no upstream is set (its listener is then not looked at) or when
    /// something is wrong, which is added to `problems`. `max_body_bytes` is the resolved body
    /// cap (`None` if it was invalid), shared with the ingest API.
    pub(super) fn resolve(
        self,
        overrides: TapOverrides,
        max_body_bytes: Option<usize>,
        problems: &mut Vec<String>,
    ) -> Option<TapConfig> {
        let upstream = overrides.upstream.or(self.upstream);
        let listen = overrides
            .listen
            .or(self.listen)
            .unwrap_or_else(|| LISTEN.into());
        let upstream_timeout = super::duration_or(
            problems,
            "tap.upstream_timeout",
            self.upstream_timeout,
            UPSTREAM_TIMEOUT,
        );
        let limits = RawLimits {
            header_timeout: self.header_timeout,
            idle_timeout: self.idle_timeout,
            body_timeout: self.body_timeout,
            max_connections: self.max_connections,
        }
        .resolve("tap.", TAP_MAX_CONNECTIONS, problems);
        let upstream = upstream?;
        let uri = match upstream.parse::<http::Uri>() {
            Ok(uri) if uri.scheme_str() == Some("http") && uri.authority().is_some() => Some(uri),
            Ok(_) => {
                problems.push(format!(
                    "tap.upstream: `{upstream}` must be an http:// URL with a host (the model is beside the sidecar, in the same pod)"
                ));
                None
            }
            Err(e) => {
                problems.push(format!("tap.upstream: `{upstream}` is not a URL ({e})"));
                None
            }
        };
        let listen: Option<SocketAddr> = super::address(problems, "tap.listen", &listen);
        Some(TapConfig {
            listen: listen?,
            upstream: uri?,
            max_body_bytes: max_body_bytes?,
            observe_responses: self.observe_responses.unwrap_or(false),
            upstream_timeout: upstream_timeout?,
            limits: limits?,
        })
    }
}
