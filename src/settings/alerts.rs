//! The thresholds of the Prometheus alert rules: a section of the sidecar's configuration file
//! that `drifttap rules` reads (and `serve` validates with the rest of the file).

use std::time::Duration;

use super::parse_duration;

#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlerts {
    /// How long a drift verdict (model, feature or MMD) holds before its alert fires. Default
    /// `10m` (on top of the sidecar's own hysteresis).
    pub drift_for: Option<String>,
    /// The share of the model's replicas that must hold a drift verdict for a drift alert:
    /// the alert fires when more than this share do. Default `0.5`, a strict majority
    /// (replicas see the same traffic, so real drift reaches most of them, while their false
    /// verdicts are independent and rarely coincide); `0`, any one replica.
    pub replica_quorum: Option<f64>,
    /// How long a drift alert keeps firing after the verdict clears, so a brief clean spell
    /// does not resolve and re-open it. Default `30m`.
    pub keep_firing_for: Option<String>,
    /// How long without samples reaching the window before `DrifttapNoTraffic`. Default `15m`.
    pub no_traffic_for: Option<String>,
    /// How long payloads are dropped or undecodable before those alerts fire.
    /// Default `10m`.
    pub dropped_for: Option<String>,
    /// How long deliveries to the retraining webhook fail before `DrifttapWebhookFailing`.
    /// Default `15m` (a receiver restarting for a few minutes is retried through).
    pub webhook_failing_for: Option<String>,
    /// How long a sidecar is unscrapable before `DrifttapSidecarDown`. Default `5m`.
    pub down_for: Option<String>,
    /// The range of the rules' `rate()` and `increase()`: at least four scrape intervals.
    /// Default `5m`.
    pub rate_window: Option<String>,
    /// The label matchers that select the sidecars' `up` series. Default `job=~".*drifttap.*"`
    /// (a PodMonitor named `drifttap` gives jobs `NAMESPACE/drifttap`).
    pub up_selector: Option<String>,
    /// Where each alert's `runbook_url` points: this, `-` and the alert's name in lower case.
    /// Default `README.md#runbook` (the runbook section of drifttap's README); point it at
    /// your own copy.
    pub runbook_base: Option<String>,
}

/// The alert rules' thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertsConfig {
    pub drift_for: Duration,
    /// In `[0, 1)`: drift alerts fire when more than this share of replicas drift.
    pub replica_quorum: f64,
    pub keep_firing_for: Duration,
    pub no_traffic_for: Duration,
    pub dropped_for: Duration,
    pub webhook_failing_for: Duration,
    pub down_for: Duration,
    pub rate_window: Duration,
    pub up_selector: String,
    pub runbook_base: String,
}

/// [`AlertsConfig::replica_quorum`] by default: a strict majority.
pub const DEFAULT_REPLICA_QUORUM: f64 = 0.5;

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            drift_for: Duration::from_secs(600),
            replica_quorum: DEFAULT_REPLICA_QUORUM,
            keep_firing_for: Duration::from_secs(1800),
            no_traffic_for: Duration::from_secs(900),
            dropped_for: Duration::from_secs(600),
            webhook_failing_for: Duration::from_secs(900),
            down_for: Duration::from_secs(300),
            rate_window: Duration::from_secs(300),
            up_selector: r#"job=~".*drifttap.*""#.to_string(),
            runbook_base: "README.md#runbook".to_string(),
        }
    }
}

impl RawAlerts {
    /// Validated, defaults filled in; problems are added to `problems`.
    pub fn resolve(&self, problems: &mut Vec<String>) -> AlertsConfig {
        let defaults = AlertsConfig::default();
        let replica_quorum = match self.replica_quorum {
            Some(q) if (0.0..1.0).contains(&q) => q,
            Some(q) => {
                problems.push(format!(
                    "alerts.replica_quorum: {q} is not a share in [0, 1) (0.5: more than half of the replicas; 0: any one)"
                ));
                defaults.replica_quorum
            }
            None => defaults.replica_quorum,
        };
        let mut duration = |name: &str, value: &Option<String>, default: Duration| match value {
            Some(text) => parse_duration(text).unwrap_or_else(|e| {
                problems.push(format!("alerts.{name}: {e}"));
                default
            }),
            None => default,
        };
        AlertsConfig {
            drift_for: duration("drift_for", &self.drift_for, defaults.drift_for),
            replica_quorum,
            keep_firing_for: duration(
                "keep_firing_for",
                &self.keep_firing_for,
                defaults.keep_firing_for,
            ),
            no_traffic_for: duration(
                "no_traffic_for",
                &self.no_traffic_for,
                defaults.no_traffic_for,
            ),
            dropped_for: duration("dropped_for", &self.dropped_for, defaults.dropped_for),
            webhook_failing_for: duration(
                "webhook_failing_for",
                &self.webhook_failing_for,
                defaults.webhook_failing_for,
            ),
            down_for: duration("down_for", &self.down_for, defaults.down_for),
            rate_window: duration("rate_window", &self.rate_window, defaults.rate_window),
            up_selector: self.up_selector.clone().unwrap_or(defaults.up_selector),
            runbook_base: self.runbook_base.clone().unwrap_or(defaults.runbook_base),
        }
    }
}
