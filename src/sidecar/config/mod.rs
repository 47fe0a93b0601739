//! `serve`'s configuration: a YAML file, then `DRIFTTAP_*` environment variables, then flags,
//! each overriding the one before, validated into a [`Config`] with every problem reported at
//! once.
//!
//! The raw form ([`RawConfig`]) mirrors the YAML file; unknown keys are rejected. Every field's
//! doc comment is the user's documentation (the README's configuration table repeats it).
//! Environment variables are read through a lookup function, so tests never touch the process
//! environment.
//!
//! Each section of the file resolves itself, with its defaults as documented constants beside
//! it: [`tap`], [`window`], [`evaluation`], [`webhook`] (and `alerts:`, shared with
//! `drifttap rules`, in [`crate::settings::alerts`]); this module holds the top-level keys and
//! puts the sections together.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use crate::settings::alerts::{AlertsConfig, RawAlerts};
pub use crate::settings::{ConfigError, format_duration, parse_duration};

use crate::baseline::select::Selection;
use crate::detect::Policy;
use crate::http::Limits;
use crate::sidecar::window::WindowConfig;

pub mod evaluation;
mod limits;
pub mod tap;
pub mod webhook;
pub mod window;

pub use evaluation::{EvaluationConfig, RawEvaluation};
pub use limits::TAP_MAX_CONNECTIONS;
pub use tap::{RawTap, TapConfig};
pub use webhook::{RawWebhook, WebhookConfig};
pub use window::RawWindow;

/// The environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "DRIFTTAP_CONFIG";

/// `model`: the `model` label of every metric.
pub const MODEL: &str = "model";
/// `listen`: the ingest API.
pub const LISTEN: &str = "0.0.0.0:9471";
/// `admin`: metrics, probes, status.
pub const ADMIN: &str = "0.0.0.0:9470";
/// `tap.max_body_bytes`: the body cap of the tap's copies and of ingest requests (1 MiB).
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// `queue_capacity`.
pub const QUEUE_CAPACITY: usize = 1024;
/// `queue_max_bytes`: 16 MiB, or `max_body_bytes` if that is larger (see
/// [`crate::sidecar::ingest::queue::DEFAULT_MAX_BYTES`] for why this size).
pub const QUEUE_MAX_BYTES: usize = crate::sidecar::ingest::queue::DEFAULT_MAX_BYTES;
/// `shutdown_grace`.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// `baseline_poll`.
pub const BASELINE_POLL: Duration = Duration::from_secs(10);
/// The shortest `baseline_poll`.
pub const MIN_BASELINE_POLL: Duration = Duration::from_millis(100);

/// The configuration file, as written. Every field is optional; the defaults are the constants
/// of this module and of each section's.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// The model's name: the `model` label of every metric. Default: `model`.
    pub model: Option<String>,
    /// The baseline: a compiled baseline directory or training data in Parquet (file or
    /// directory). Required.
    pub baseline: Option<PathBuf>,
    /// For a Parquet baseline: only these columns, never these, these as numbers, these as
    /// categories (as `drifttap check`).
    #[serde(default)]
    pub columns: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub numeric: Vec<String>,
    #[serde(default)]
    pub categorical: Vec<String>,
    /// The tap: a reverse proxy in front of the model.
    #[serde(default)]
    pub tap: RawTap,
    /// Address of the ingest API (`POST /v1/ingest`, CloudEvents on `/` and
    /// `/v1/cloudevents`). Default `0.0.0.0:9471`; `off` disables it.
    pub listen: Option<String>,
    /// Address of the admin server (`/metrics`, `/healthz`, `/readyz`, `/v1/status`). Default
    /// `0.0.0.0:9470`.
    pub admin: Option<String>,
    #[serde(default)]
    pub window: RawWindow,
    #[serde(default)]
    pub evaluation: RawEvaluation,
    /// Payloads waiting for the decoder; when full, new ones are dropped and counted
    /// (`queue_full`). Default 1024.
    pub queue_capacity: Option<usize>,
    /// Bytes of the bodies waiting for the decoder; a payload that would pass it is dropped and
    /// counted (`queue_bytes_full`). The decoder's batch holds as much again while the queue
    /// refills, so bodies take at most twice this. Default 16 MiB (16777216), or
    /// `max_body_bytes` if that is larger; at least `max_body_bytes`, or the largest bodies
    /// could never be queued.
    pub queue_max_bytes: Option<usize>,
    /// How long SIGTERM waits for in-flight requests. Default `10s`.
    pub shutdown_grace: Option<String>,
    /// The ingest and admin listeners' limits (the tap's are under `tap:`): time to send a
    /// request head (default `60s`), an idle kept-alive connection's life (default `75s`),
    /// the longest pause inside a body (default `60s`) and connections served at once by each
    /// listener (default 1024).
    pub header_timeout: Option<String>,
    pub idle_timeout: Option<String>,
    pub body_timeout: Option<String>,
    pub max_connections: Option<usize>,
    /// How often the baseline's files are checked for a change, which reloads it without
    /// dropping traffic (SIGHUP reloads at once). Default `10s`; `off` disables polling.
    pub baseline_poll: Option<String>,
    /// Thresholds of the Prometheus alert rules `drifttap rules` prints.
    #[serde(default)]
    pub alerts: RawAlerts,
    /// The retraining webhook, called when the model's drift verdict turns on.
    #[serde(default)]
    pub webhook: RawWebhook,
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub model: String,
    pub baseline: PathBuf,
    pub selection: Selection,
    pub tap: Option<TapConfig>,
    pub listen: Option<SocketAddr>,
    pub admin: SocketAddr,
    pub window: WindowConfig,
    /// `window.sampling: auto` (true) or `all`.
    pub sampling: bool,
    pub evaluation: EvaluationConfig,
    pub policy: Policy,
    pub queue_capacity: usize,
    /// The bound of the queue's bytes: bodies waiting for the decoder.
    pub queue_max_bytes: usize,
    pub shutdown_grace: Duration,
    /// The ingest and admin listeners' limits, each listener with its own budget.
    pub limits: Limits,
    /// The body cap of the tap's copies and of ingest requests.
    pub max_body_bytes: usize,
    /// How often the baseline's files are looked at for a change (hot reload).
    pub baseline_poll: Option<Duration>,
    pub alerts: AlertsConfig,
    pub webhook: Option<WebhookConfig>,
}

/// Overrides from the command line (`None` where a flag was not given).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub model: Option<String>,
    pub baseline: Option<PathBuf>,
    pub upstream: Option<String>,
    pub tap_listen: Option<String>,
    pub listen: Option<String>,
    pub admin: Option<String>,
    pub eval_interval: Option<String>,
    pub window_size: Option<String>,
    pub sampling: Option<String>,
    pub max_body_bytes: Option<String>,
    pub webhook_url: Option<String>,
    pub webhook_secret_file: Option<String>,
}

/// Where an environment variable lands in [`Overrides`].
type EnvField = fn(&mut Overrides) -> &mut Option<String>;

/// Each override's environment variable.
pub const ENV: [(&str, EnvField); 11] = [
    ("DRIFTTAP_MODEL", |o| &mut o.model),
    ("DRIFTTAP_UPSTREAM", |o| &mut o.upstream),
    ("DRIFTTAP_TAP_LISTEN", |o| &mut o.tap_listen),
    ("DRIFTTAP_LISTEN", |o| &mut o.listen),
    ("DRIFTTAP_ADMIN", |o| &mut o.admin),
    ("DRIFTTAP_EVAL_INTERVAL", |o| &mut o.eval_interval),
    ("DRIFTTAP_WINDOW_SIZE", |o| &mut o.window_size),
    ("DRIFTTAP_SAMPLING", |o| &mut o.sampling),
    ("DRIFTTAP_MAX_BODY_BYTES", |o| &mut o.max_body_bytes),
    ("DRIFTTAP_WEBHOOK_URL", |o| &mut o.webhook_url),
    ("DRIFTTAP_WEBHOOK_SECRET_FILE", |o| {
        &mut o.webhook_secret_file
    }),
];

/// The environment variable of the baseline path.
pub const BASELINE_ENV: &str = "DRIFTTAP_BASELINE";

impl Overrides {
    /// The `DRIFTTAP_*` variables present in `env`, under `flags` (flags win).
    pub fn from_env(flags: Overrides, env: &dyn Fn(&str) -> Option<String>) -> Overrides {
        let mut merged = Overrides::default();
        for (name, field) in ENV {
            *field(&mut merged) = env(name);
        }
        merged.baseline = env(BASELINE_ENV).map(PathBuf::from);
        let pick = |flag: Option<String>, env: Option<String>| flag.or(env);
        Overrides {
            model: pick(flags.model, merged.model),
            baseline: flags.baseline.or(merged.baseline),
            upstream: pick(flags.upstream, merged.upstream),
            tap_listen: pick(flags.tap_listen, merged.tap_listen),
            listen: pick(flags.listen, merged.listen),
            admin: pick(flags.admin, merged.admin),
            eval_interval: pick(flags.eval_interval, merged.eval_interval),
            window_size: pick(flags.window_size, merged.window_size),
            sampling: pick(flags.sampling, merged.sampling),
            max_body_bytes: pick(flags.max_body_bytes, merged.max_body_bytes),
            webhook_url: pick(flags.webhook_url, merged.webhook_url),
            webhook_secret_file: pick(flags.webhook_secret_file, merged.webhook_secret_file),
        }
    }
}

impl RawConfig {
    /// Parses a YAML document; `source` names it in errors.
    pub fn from_yaml(text: &str, source: &str) -> Result<RawConfig, ConfigError> {
        serde_saphyr::from_str(text).map_err(|e| ConfigError {
            problems: vec![format!("{source}: {e}")],
        })
    }

    /// What `drifttap rules` needs: the model the rules are scoped to (`None` when neither the
    /// file nor `model` names one) and the alert thresholds. No baseline is needed.
    pub fn alert_settings(
        &self,
        model: Option<String>,
    ) -> Result<(Option<String>, AlertsConfig), ConfigError> {
        let mut problems = Vec::new();
        let alerts = self.alerts.resolve(&mut problems);
        if problems.is_empty() {
            Ok((model.or_else(|| self.model.clone()), alerts))
        } else {
            Err(ConfigError { problems })
        }
    }

    /// Applies `overrides` and validates, collecting every problem: each section resolves
    /// itself, in the file's order, and the configuration is whole only if none found one.
    pub fn resolve(self, overrides: Overrides) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let raw = self;

        let model = overrides
            .model
            .or(raw.model)
            .unwrap_or_else(|| MODEL.into());
        if model.is_empty() || model.len() > 128 {
            problems.push(format!(
                "model: must be 1 to 128 characters, got {:?}",
                model
            ));
        }
        let baseline = overrides.baseline.or(raw.baseline);
        if baseline.is_none() {
            problems
                .push("baseline: required (--baseline, DRIFTTAP_BASELINE or `baseline:`)".into());
        }
        let max_body_bytes = match overrides.max_body_bytes {
            Some(v) => count(&mut problems, "--max-body-bytes", &v),
            None => Some(raw.tap.max_body_bytes.unwrap_or(MAX_BODY_BYTES)),
        };
        let tap = raw.tap.resolve(
            tap::TapOverrides {
                upstream: overrides.upstream,
                listen: overrides.tap_listen,
            },
            max_body_bytes,
            &mut problems,
        );
        let listen = match overrides.listen.or(raw.listen).as_deref() {
            Some("off") => None,
            value => address(&mut problems, "listen", value.unwrap_or(LISTEN)),
        };
        let admin_value = overrides.admin.or(raw.admin);
        let admin = address(
            &mut problems,
            "admin",
            admin_value.as_deref().unwrap_or(ADMIN),
        );
        let (window, sampling) =
            raw.window
                .resolve(overrides.window_size, overrides.sampling, &mut problems);
        let evaluation = raw
            .evaluation
            .resolve(overrides.eval_interval, &mut problems);
        let queue_capacity = raw.queue_capacity.unwrap_or(QUEUE_CAPACITY);
        if queue_capacity == 0 {
            problems.push("queue_capacity: must be at least 1".into());
        }
        let queue_max_bytes = raw
            .queue_max_bytes
            .unwrap_or_else(|| QUEUE_MAX_BYTES.max(max_body_bytes.unwrap_or(0)));
        if queue_max_bytes == 0 {
            problems.push("queue_max_bytes: must be at least 1".into());
        } else if let Some(body) = max_body_bytes
            && queue_max_bytes < body
        {
            problems.push(format!(
                "queue_max_bytes: must be at least max_body_bytes ({body}), or no body that large could be queued; got {queue_max_bytes}"
            ));
        }
        let shutdown_grace = duration_or(
            &mut problems,
            "shutdown_grace",
            raw.shutdown_grace,
            SHUTDOWN_GRACE,
        );
        let limits = limits::RawLimits {
            header_timeout: raw.header_timeout,
            idle_timeout: raw.idle_timeout,
            body_timeout: raw.body_timeout,
            max_connections: raw.max_connections,
        }
        .resolve("", crate::http::MAX_CONNECTIONS, &mut problems);
        let baseline_poll = match raw.baseline_poll.as_deref() {
            Some("off") => None,
            Some(value) => duration(&mut problems, "baseline_poll", value),
            None => Some(BASELINE_POLL),
        };
        if baseline_poll.is_some_and(|d| d < MIN_BASELINE_POLL) {
            problems.push("baseline_poll: at least 100ms (or `off`)".into());
        }
        let alerts = raw.alerts.resolve(&mut problems);
        let webhook = raw.webhook.resolve(
            overrides.webhook_url,
            overrides.webhook_secret_file.map(PathBuf::from),
            &mut problems,
        );

        match (
            baseline,
            admin,
            window,
            evaluation,
            shutdown_grace,
            max_body_bytes,
            limits,
        ) {
            (
                Some(baseline),
                Some(admin),
                Some(window),
                Some((evaluation, policy)),
                Some(shutdown_grace),
                Some(max_body_bytes),
                Some(limits),
            ) if problems.is_empty() => Ok(Config {
                model,
                baseline,
                selection: Selection {
                    columns: raw.columns,
                    exclude: raw.exclude,
                    numeric: raw.numeric,
                    categorical: raw.categorical,
                },
                tap,
                listen,
                admin,
                window,
                sampling,
                evaluation,
                policy,
                queue_capacity,
                queue_max_bytes,
                shutdown_grace,
                limits,
                max_body_bytes,
                baseline_poll,
                alerts,
                webhook,
            }),
            _ => Err(ConfigError { problems }),
        }
    }
}

/// `value` as a socket address, or a problem naming `what`.
fn address(problems: &mut Vec<String>, what: &str, value: &str) -> Option<SocketAddr> {
    value
        .parse::<SocketAddr>()
        .map_err(|e| problems.push(format!("{what}: `{value}` is not an address ({e})")))
        .ok()
}

/// `value` as a duration (`30s`, `1h30m`), or a problem naming `what`.
fn duration(problems: &mut Vec<String>, what: &str, value: &str) -> Option<Duration> {
    parse_duration(value)
        .map_err(|e| problems.push(format!("{what}: {e}")))
        .ok()
}

/// [`duration`] of `value` if set, else `default`.
fn duration_or(
    problems: &mut Vec<String>,
    what: &str,
    value: Option<String>,
    default: Duration,
) -> Option<Duration> {
    match value {
        Some(value) => duration(problems, what, &value),
        None => Some(default),
    }
}

/// `value` as a whole number, or a problem naming `what`.
fn count(problems: &mut Vec<String>, what: &str, value: &str) -> Option<usize> {
    value
        .parse::<usize>()
        .map_err(|_| problems.push(format!("{what}: `{value}` is not a whole number")))
        .ok()
}

#[cfg(test)]
mod tests;
