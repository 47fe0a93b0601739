//! `serve`'s configuration: a YAML file, then `DRIFTTAP_*` environment variables, then flags,
//! each overriding the one before, validated into a [`Config`] with every problem reported at
//! once.
//!
//! The raw form ([`RawConfig`]) mirrors the YAML file; unknown keys are rejected. Every field's
//! doc comment is the user's documentation (the README's configuration table repeats it).
//! Environment variables are read through a lookup function, so tests never touch the process
//! environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use crate::settings::alerts::{AlertsConfig, RawAlerts};
pub use crate::settings::{ConfigError, format_duration, parse_duration};

use crate::baseline::select::Selection;
use crate::detect::Policy;
use crate::sidecar::window::WindowConfig;
use crate::stats::correction::Correction;

/// The environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "DRIFTTAP_CONFIG";

/// The configuration file, as written. Every field is optional; the defaults are in
/// [`Config`]'s constructor.
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
    /// Decoded batches waiting for the window; when full, new samples are dropped and counted.
    /// Default 1024.
    pub queue_capacity: Option<usize>,
    /// How long SIGTERM waits for in-flight requests. Default `10s`.
    pub shutdown_grace: Option<String>,
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

#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhook {
    /// Where drift notifications are POSTed, e.g.
    /// `http://drifttap-retrainer.mlops.svc:8080/v1/drift`. The webhook is off unless set.
    pub url: Option<String>,
    /// File holding the shared secret the body is signed with (HMAC-SHA256). Required with
    /// `url`. Read again before every delivery, so a rotated Kubernetes Secret takes effect
    /// without a restart; surrounding whitespace (a trailing newline) is not part of it.
    pub secret_file: Option<PathBuf>,
    /// PEM file of extra CA certificates trusted for an `https://` URL, besides the system's.
    pub ca_file: Option<PathBuf>,
    /// Time one delivery attempt may take. Default `10s`.
    pub timeout: Option<String>,
    /// The first retry's delay; each further retry doubles it, with jitter. Default `1s`.
    pub retry_initial_interval: Option<String>,
    /// The longest delay between retries. Default `1m`.
    pub retry_max_interval: Option<String>,
    /// How long an undelivered episode is retried before it is given up (and counted as
    /// `failed`). Default `24h`.
    pub give_up_after: Option<String>,
    /// After an episode is delivered, later episodes of the model are not sent for this long
    /// (counted as `suppressed`), so a flapping verdict does not start one retraining after
    /// another. Default `1h`.
    pub cooldown: Option<String>,
    /// Episodes waiting for delivery; when full, a new one is dropped (and counted). Default 16.
    pub queue_capacity: Option<usize>,
}

/// The validated webhook settings.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookConfig {
    pub url: reqwest::Url,
    pub secret_file: PathBuf,
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
    pub retry_initial_interval: Duration,
    pub retry_max_interval: Duration,
    pub give_up_after: Duration,
    pub cooldown: Duration,
    pub queue_capacity: usize,
}

impl RawWebhook {
    /// Validated, defaults filled in, `None` when no URL is set; problems are added to
    /// `problems`.
    fn resolve(
        self,
        url: Option<String>,
        secret_file: Option<PathBuf>,
        problems: &mut Vec<String>,
    ) -> Option<WebhookConfig> {
        let url = url.or(self.url);
        let secret_file = secret_file.or(self.secret_file);
        let Some(url) = url else {
            if secret_file.is_some() {
                problems.push("webhook.secret_file: set, but webhook.url is not".into());
            }
            return None;
        };
        let url = match reqwest::Url::parse(&url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
            Ok(_) => {
                problems.push(format!(
                    "webhook.url: `{url}` must be an http:// or https:// URL with a host"
                ));
                None
            }
            Err(e) => {
                problems.push(format!("webhook.url: `{url}` is not a URL ({e})"));
                None
            }
        };
        if secret_file.is_none() {
            problems.push(
                "webhook.secret_file: required with webhook.url (--webhook-secret-file, DRIFTTAP_WEBHOOK_SECRET_FILE); notifications are always signed".into(),
            );
        }
        let mut duration = |name: &str, value: Option<String>, default: &str| {
            let text = value.unwrap_or_else(|| default.into());
            match parse_duration(&text) {
                Ok(d) if d > Duration::ZERO => Some(d),
                Ok(_) => {
                    problems.push(format!("webhook.{name}: must be more than 0, got {text}"));
                    None
                }
                Err(e) => {
                    problems.push(format!("webhook.{name}: {e}"));
                    None
                }
            }
        };
        let timeout = duration("timeout", self.timeout, "10s");
        let initial = duration("retry_initial_interval", self.retry_initial_interval, "1s");
        let max = duration("retry_max_interval", self.retry_max_interval, "1m");
        let give_up_after = duration("give_up_after", self.give_up_after, "24h");
        let cooldown = match self.cooldown.as_deref() {
            // A zero cooldown is allowed: every episode is sent.
            Some(text) => parse_duration(text)
                .map_err(|e| problems.push(format!("webhook.cooldown: {e}")))
                .ok(),
            None => Some(Duration::from_secs(3600)),
        };
        if let (Some(initial), Some(max)) = (initial, max)
            && initial > max
        {
            problems.push(format!(
                "webhook.retry_initial_interval ({}) is longer than webhook.retry_max_interval ({})",
                format_duration(initial),
                format_duration(max)
            ));
        }
        let queue_capacity = self.queue_capacity.unwrap_or(16);
        if queue_capacity == 0 {
            problems.push("webhook.queue_capacity: must be at least 1".into());
        }
        Some(WebhookConfig {
            url: url?,
            secret_file: secret_file?,
            ca_file: self.ca_file,
            timeout: timeout?,
            retry_initial_interval: initial?,
            retry_max_interval: max?,
            give_up_after: give_up_after?,
            cooldown: cooldown?,
            queue_capacity,
        })
    }
}

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
    /// Time the upstream has to answer before the client gets a 504. Default `60s`.
    pub upstream_timeout: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWindow {
    /// Samples kept per model (the most recent). Default 10000.
    pub size: Option<usize>,
    /// Samples older than this leave the window, e.g. `1h`. Default: no age limit.
    pub max_age: Option<String>,
    /// `auto`: when the model's traffic (tap, KServe's payload logger) brings more rows than
    /// twice the window's size per evaluation interval (or per `max_age`, if shorter), only a
    /// random share of its payloads is decoded, just enough for that, and the rest are skipped
    /// before they are copied (counted in `drifttap_payloads_skipped_total`). `all`: every
    /// payload is decoded while the queue has room. Payloads pushed to `/v1/ingest` are always
    /// decoded. Default `auto`.
    pub sampling: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEvaluation {
    /// Time between evaluations, e.g. `30s`. Default `30s`.
    pub interval: Option<String>,
    /// Samples the window needs before the first evaluation. Default 500.
    pub min_samples: Option<usize>,
    /// Threads an evaluation may use (the engine's CPU budget). Default 1.
    pub threads: Option<usize>,
    /// Tests to run, any of `ks`, `chi2`, `mmd`. Default all three.
    pub tests: Option<Vec<String>>,
    /// p-value threshold before correction. Default 0.05.
    pub p_val: Option<f64>,
    /// `bonferroni`, `fdr` or `none`. Default `bonferroni`.
    pub correction: Option<String>,
    /// MMD permutations. Default 100.
    pub permutations: Option<usize>,
    /// A numeric feature drifts only if its normed Wasserstein distance reaches this too.
    /// Default 0 (no floor).
    pub min_wasserstein_normed: Option<f64>,
    /// A categorical feature drifts only if its Jensen–Shannon distance reaches this too.
    /// Default 0 (no floor).
    pub min_jensen_shannon: Option<f64>,
    /// Consecutive evaluations that turn a verdict on or off. Default 3.
    pub hysteresis: Option<u32>,
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
    pub shutdown_grace: Duration,
    /// The body cap of the tap's copies and of ingest requests.
    pub max_body_bytes: usize,
    /// How often the baseline's files are looked at for a change (hot reload).
    pub baseline_poll: Option<Duration>,
    pub alerts: AlertsConfig,
    pub webhook: Option<WebhookConfig>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TapConfig {
    pub listen: SocketAddr,
    pub upstream: http::Uri,
    pub max_body_bytes: usize,
    pub observe_responses: bool,
    pub upstream_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EvaluationConfig {
    pub interval: Duration,
    pub min_samples: usize,
    pub threads: usize,
    pub ks: bool,
    pub chi2: bool,
    pub mmd: bool,
    pub p_val: f64,
    pub correction: Correction,
    pub permutations: usize,
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

    /// Applies `overrides` and validates, collecting every problem.
    pub fn resolve(self, overrides: Overrides) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let raw = self;
        let address = |problems: &mut Vec<String>, what: &str, value: &str| {
            value
                .parse::<SocketAddr>()
                .map_err(|e| problems.push(format!("{what}: `{value}` is not an address ({e})")))
                .ok()
        };
        let duration = |problems: &mut Vec<String>, what: &str, value: &str| {
            parse_duration(value)
                .map_err(|e| problems.push(format!("{what}: {e}")))
                .ok()
        };
        let count = |problems: &mut Vec<String>, what: &str, value: &str| {
            value
                .parse::<usize>()
                .map_err(|_| problems.push(format!("{what}: `{value}` is not a whole number")))
                .ok()
        };

        let model = overrides
            .model
            .or(raw.model)
            .unwrap_or_else(|| "model".into());
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
        let upstream = overrides.upstream.or(raw.tap.upstream);
        let tap_listen = overrides
            .tap_listen
            .or(raw.tap.listen)
            .unwrap_or_else(|| "0.0.0.0:9472".into());
        let max_body_bytes = match overrides.max_body_bytes {
            Some(v) => count(&mut problems, "--max-body-bytes", &v),
            None => Some(raw.tap.max_body_bytes.unwrap_or(1 << 20)),
        };
        let upstream_timeout = duration(
            &mut problems,
            "tap.upstream_timeout",
            raw.tap.upstream_timeout.as_deref().unwrap_or("60s"),
        );
        let tap = match upstream {
            None => None,
            Some(upstream) => {
                let uri = match upstream.parse::<http::Uri>() {
                    Ok(uri) if uri.scheme_str() == Some("http") && uri.authority().is_some() => {
                        Some(uri)
                    }
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
                let listen = address(&mut problems, "tap.listen", &tap_listen);
                match (uri, listen, max_body_bytes, upstream_timeout) {
                    (
                        Some(upstream),
                        Some(listen),
                        Some(max_body_bytes),
                        Some(upstream_timeout),
                    ) => Some(TapConfig {
                        listen,
                        upstream,
                        max_body_bytes,
                        observe_responses: raw.tap.observe_responses.unwrap_or(false),
                        upstream_timeout,
                    }),
                    _ => None,
                }
            }
        };
        let listen_value = overrides
            .listen
            .or(raw.listen)
            .unwrap_or_else(|| "0.0.0.0:9471".into());
        let listen = if listen_value == "off" {
            None
        } else {
            address(&mut problems, "listen", &listen_value)
        };
        let admin_value = overrides
            .admin
            .or(raw.admin)
            .unwrap_or_else(|| "0.0.0.0:9470".into());
        let admin = address(&mut problems, "admin", &admin_value);

        let window_size = match overrides.window_size {
            Some(v) => count(&mut problems, "--window-size", &v),
            None => Some(raw.window.size.unwrap_or(10_000)),
        };
        if window_size.is_some_and(|n| !(2..=10_000_000).contains(&n)) {
            problems.push(format!(
                "window.size: must be between 2 and 10000000, got {}",
                window_size.unwrap_or(0)
            ));
        }
        let max_age = raw
            .window
            .max_age
            .as_deref()
            .and_then(|v| duration(&mut problems, "window.max_age", v));
        let sampling = match overrides
            .sampling
            .as_deref()
            .or(raw.window.sampling.as_deref())
            .unwrap_or("auto")
        {
            "auto" => true,
            "all" => false,
            other => {
                problems.push(format!(
                    "window.sampling: `{other}` is not one of auto, all"
                ));
                true
            }
        };

        let e = raw.evaluation;
        let interval_value = overrides
            .eval_interval
            .or(e.interval)
            .unwrap_or_else(|| "30s".into());
        let interval = duration(&mut problems, "evaluation.interval", &interval_value);
        if interval.is_some_and(|d| d < Duration::from_millis(100)) {
            problems.push(format!(
                "evaluation.interval: at least 100ms, got {interval_value}"
            ));
        }
        let tests = e
            .tests
            .unwrap_or_else(|| vec!["ks".into(), "chi2".into(), "mmd".into()]);
        for test in &tests {
            if !["ks", "chi2", "mmd"].contains(&test.as_str()) {
                problems.push(format!(
                    "evaluation.tests: unknown test `{test}` (ks, chi2, mmd)"
                ));
            }
        }
        let p_val = e.p_val.unwrap_or(0.05);
        if !(p_val > 0.0 && p_val < 1.0) {
            problems.push(format!("evaluation.p_val: must be in (0, 1), got {p_val}"));
        }
        let correction = match e.correction.as_deref().unwrap_or("bonferroni") {
            "bonferroni" => Some(Correction::Bonferroni),
            "fdr" => Some(Correction::Fdr),
            "none" => Some(Correction::None),
            other => {
                problems.push(format!(
                    "evaluation.correction: `{other}` is not one of bonferroni, fdr, none"
                ));
                None
            }
        };
        let threads = e.threads.unwrap_or(1);
        if !(1..=256).contains(&threads) {
            problems.push(format!(
                "evaluation.threads: must be between 1 and 256, got {threads}"
            ));
        }
        let floors = [
            (
                "min_wasserstein_normed",
                e.min_wasserstein_normed.unwrap_or(0.0),
            ),
            ("min_jensen_shannon", e.min_jensen_shannon.unwrap_or(0.0)),
        ];
        for (name, value) in floors {
            if !(value >= 0.0 && value.is_finite()) {
                problems.push(format!(
                    "evaluation.{name}: must be a finite number ≥ 0, got {value}"
                ));
            }
        }
        let hysteresis = e.hysteresis.unwrap_or(3);
        if hysteresis == 0 {
            problems.push("evaluation.hysteresis: must be at least 1".into());
        }
        let queue_capacity = raw.queue_capacity.unwrap_or(1024);
        if queue_capacity == 0 {
            problems.push("queue_capacity: must be at least 1".into());
        }
        let shutdown_grace = duration(
            &mut problems,
            "shutdown_grace",
            raw.shutdown_grace.as_deref().unwrap_or("10s"),
        );
        let baseline_poll = match raw.baseline_poll.as_deref().unwrap_or("10s") {
            "off" => None,
            value => duration(&mut problems, "baseline_poll", value),
        };
        if baseline_poll.is_some_and(|d| d < Duration::from_millis(100)) {
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
            window_size,
            interval,
            correction,
            shutdown_grace,
        ) {
            (
                Some(baseline),
                Some(admin),
                Some(size),
                Some(interval),
                Some(correction),
                Some(shutdown_grace),
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
                window: WindowConfig { size, max_age },
                sampling,
                evaluation: EvaluationConfig {
                    interval,
                    min_samples: e.min_samples.unwrap_or(500),
                    threads,
                    ks: tests.iter().any(|t| t == "ks"),
                    chi2: tests.iter().any(|t| t == "chi2"),
                    mmd: tests.iter().any(|t| t == "mmd"),
                    p_val,
                    correction,
                    permutations: e.permutations.unwrap_or(100),
                },
                policy: Policy {
                    min_wasserstein_normed: floors[0].1,
                    min_jensen_shannon: floors[1].1,
                    hysteresis,
                },
                queue_capacity,
                shutdown_grace,
                max_body_bytes: max_body_bytes.unwrap_or(1 << 20),
                baseline_poll,
                alerts,
                webhook,
            }),
            _ => Err(ConfigError { problems }),
        }
    }
}

#[cfg(test)]
mod tests;
