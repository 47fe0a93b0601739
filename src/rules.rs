//! The Prometheus alert rules for drifttap's metrics, built from the configuration so that the
//! thresholds live in one place: `drifttap rules` prints them as a rule file or as a
//! prometheus-operator `PrometheusRule`, and `alerts/drifttap-rules.yaml` is their output for
//! the defaults.
//!
//! Pure: typed rule structs in, YAML out; no I/O.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::settings::alerts::{AlertsConfig, DEFAULT_REPLICA_QUORUM};
use crate::settings::format_duration;

/// One alerting rule, as Prometheus reads it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Rule {
    pub alert: String,
    pub expr: String,
    #[serde(rename = "for")]
    pub for_: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_firing_for: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// A rule group.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Group {
    pub name: String,
    pub rules: Vec<Rule>,
}

/// A Prometheus rule file.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RuleFile {
    pub groups: Vec<Group>,
}

/// The alert names, in the order the rules list them.
pub const ALERTS: [&str; 10] = [
    "DrifttapModelDrift",
    "DrifttapFeatureDrift",
    "DrifttapMultivariateDrift",
    "DrifttapNoTraffic",
    "DrifttapEngineStalled",
    "DrifttapSamplesDropped",
    "DrifttapDecodeErrors",
    "DrifttapBaselineLoadFailing",
    "DrifttapWebhookFailing",
    "DrifttapSidecarDown",
];

/// `DrifttapEngineStalled`: the last evaluation is older than this many evaluation intervals
/// (and than the rate window, which spans at least four scrapes, so that a scrape's lag on a
/// short interval is not a stall).
const STALLED_INTERVALS: u32 = 3;

/// The rules for `model` (every model when `None`) with `alerts`' thresholds.
pub fn rules(model: Option<&str>, alerts: &AlertsConfig) -> RuleFile {
    let model_matcher = model.map(|m| format!("model=\"{}\"", escape_label(m)));
    let selector = match &model_matcher {
        Some(m) => format!("{{{m}}}"),
        None => String::new(),
    };
    let skipped = match &model_matcher {
        Some(m) => format!("{{{m},outcome=\"skipped\"}}"),
        None => "{outcome=\"skipped\"}".to_string(),
    };
    let d = |duration: Duration| format_duration(duration);
    let rule = |name: &str,
                expr: String,
                for_: Duration,
                keep: Option<Duration>,
                severity: &str,
                summary: &str,
                description: &str| {
        let mut labels = BTreeMap::from([("severity".to_string(), severity.to_string())]);
        if name == "DrifttapModelDrift" {
            // Routes the alert to the retrainer in Alertmanager.
            labels.insert("drifttap_retrain".into(), "true".into());
        }
        Rule {
            alert: name.to_string(),
            expr,
            for_: d(for_),
            keep_firing_for: keep.map(d),
            labels,
            annotations: BTreeMap::from([
                ("summary".to_string(), summary.to_string()),
                ("description".to_string(), description.to_string()),
                (
                    "runbook_url".to_string(),
                    format!("{}-{}", alerts.runbook_base, name.to_ascii_lowercase()),
                ),
            ]),
        }
    };
    let window = d(alerts.rate_window);
    // Drift alerts need more than the quorum's share of the model's replicas (each series is
    // 0 or 1, so its average is the share drifting); with quorum 0, any one.
    let quorum = |by: &str, series: &str| {
        if alerts.replica_quorum == 0.0 {
            format!("max by ({by}) ({series}{selector}) == 1")
        } else {
            format!(
                "avg by ({by}) ({series}{selector}) > {}",
                alerts.replica_quorum
            )
        }
    };
    let share = if alerts.replica_quorum == 0.0 {
        "any replica".to_string()
    } else if alerts.replica_quorum == DEFAULT_REPLICA_QUORUM {
        "more than half of its replicas".to_string()
    } else {
        format!(
            "more than {}% of its replicas",
            alerts.replica_quorum * 100.0
        )
    };
    let rules = vec![
        rule(
            "DrifttapModelDrift",
            quorum("model", "drifttap_model_drift"),
            alerts.drift_for,
            Some(alerts.keep_firing_for),
            "critical",
            "Model {{ $labels.model }}: its inputs no longer look like the training data",
            &format!(
                "In {share}, drifttap has held a drift verdict for model {{{{ $labels.model }}}} (a feature's distribution or missing share, or the multivariate MMD test, in the one family of tests, on fresh windows, after hysteresis) for the whole alert period. Look at /v1/status on a sidecar, or at drifttap_feature_drift, to see which features."
            ),
        ),
        rule(
            "DrifttapFeatureDrift",
            quorum("model, feature", "drifttap_feature_drift"),
            alerts.drift_for,
            Some(alerts.keep_firing_for),
            "warning",
            "Model {{ $labels.model }}: feature {{ $labels.feature }} drifts",
            &format!(
                "In {share}, the distribution or the missing share of {{{{ $labels.feature }}}} in the window differs from the baseline (a KS, chi-squared or missing-share p-value below its threshold in the family, effect size above the floor, after hysteresis). drifttap_feature_p_value and drifttap_feature_wasserstein_normed / drifttap_feature_psi give its size."
            ),
        ),
        rule(
            "DrifttapMultivariateDrift",
            quorum("model", "drifttap_mmd_drift"),
            alerts.drift_for,
            Some(alerts.keep_firing_for),
            "warning",
            "Model {{ $labels.model }}: the joint distribution of its numeric features drifts (MMD)",
            &format!(
                "In {share}, the MMD permutation test across the numeric features rejects the baseline: the features' relations changed even if no single feature may drift on its own."
            ),
        ),
        rule(
            "DrifttapNoTraffic",
            format!(
                "sum by (model) (rate(drifttap_samples_ingested_total{selector}[{window}])) == 0"
            ),
            alerts.no_traffic_for,
            None,
            "warning",
            "Model {{ $labels.model }}: no samples reach drifttap's window",
            "No payload has been decoded into the window for the whole alert period, so drift is not being watched. Either the model gets no traffic, or the tap, the ingest API or the payload logger is bypassed, or every payload fails to decode (see DrifttapDecodeErrors).",
        ),
        rule(
            "DrifttapEngineStalled",
            // Per replica (the series' own labels match one to one), then one alert per model.
            format!(
                "max by (model) ((time() - drifttap_last_evaluation_timestamp_seconds{selector}) > clamp_min({STALLED_INTERVALS} * drifttap_evaluation_interval_seconds{selector}, {stalled_floor}) and sum without (source) (rate(drifttap_samples_ingested_total{selector}[{window}])) > 0 unless sum without (outcome) (rate(drifttap_evaluations_total{skipped}[{window}])) > 0)",
                stalled_floor = alerts.rate_window.as_secs(),
            ),
            alerts.down_for,
            None,
            "warning",
            "Model {{ $labels.model }}: a drifttap engine has stopped evaluating",
            "A sidecar receives samples but has not completed an evaluation for more than three evaluation intervals (and at least the rate window), and it is not skipping them for lack of samples: its engine thread is stuck, starved of CPU, or every evaluation fails (drifttap_evaluations_total{outcome=\"error\"}). Drift is not watched on that replica; its /readyz names the stale engine.",
        ),
        rule(
            "DrifttapSamplesDropped",
            format!(
                "sum by (model, reason) (rate(drifttap_payloads_dropped_total{selector}[{window}])) > 0"
            ),
            alerts.dropped_for,
            None,
            "warning",
            "Model {{ $labels.model }}: payloads are dropped before decoding ({{ $labels.reason }})",
            "queue_full, queue_bytes_full: the decoder cannot keep up, raise queue_capacity (or queue_max_bytes, memory permitting) or give the pod more CPU; body_too_large: raise tap.max_body_bytes. The model's requests are not affected, but the window sees fewer samples.",
        ),
        rule(
            "DrifttapDecodeErrors",
            format!(
                "sum by (model, reason) (rate(drifttap_decode_errors_total{selector}[{window}])) > 0"
            ),
            alerts.dropped_for,
            None,
            "warning",
            "Model {{ $labels.model }}: payloads cannot be decoded ({{ $labels.reason }})",
            "Payloads reach drifttap but are not in a format it decodes, or do not match the baseline's features. The model's requests are not affected.",
        ),
        rule(
            "DrifttapBaselineLoadFailing",
            format!(
                "sum by (model) (increase(drifttap_baseline_load_errors_total{selector}[{window}])) > 0"
            ),
            Duration::ZERO,
            Some(alerts.keep_firing_for),
            "warning",
            "Model {{ $labels.model }}: a new baseline failed to load",
            "A baseline reload (file change or SIGHUP) failed; the previous baseline stays in use (drifttap_baseline_info shows its version). The sidecar log names the file and the problem.",
        ),
        rule(
            "DrifttapWebhookFailing",
            format!("max by (model) (drifttap_webhook_failing{selector}) == 1"),
            alerts.webhook_failing_for,
            None,
            "warning",
            "Model {{ $labels.model }}: drift notifications do not reach the retraining webhook",
            "The latest delivery of a drift episode to the retraining webhook failed, and the sidecar keeps retrying (drifttap_webhook_deliveries_total{outcome=\"retried\"}), or the receiver refused it (outcome rejected: a wrong secret or URL) or it was given up (failed). The sidecar log names the episode key and the receiver's answer.",
        ),
        rule(
            "DrifttapSidecarDown",
            format!("up{{{}}} == 0", alerts.up_selector),
            alerts.down_for,
            None,
            "critical",
            "drifttap sidecar {{ $labels.instance }} is down",
            "Prometheus cannot scrape a drifttap sidecar's /metrics: the container is not running or its admin port is unreachable. The model's traffic goes through the tap: check the pod.",
        ),
    ];
    RuleFile {
        groups: vec![Group {
            name: match model {
                Some(m) => format!("drifttap-{m}"),
                None => "drifttap".to_string(),
            },
            rules,
        }],
    }
}

/// A label value inside double quotes in PromQL.
fn escape_label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A prometheus-operator `PrometheusRule` object holding `file`'s groups.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrometheusRule {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: Metadata,
    pub spec: RuleFile,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Metadata {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub labels: BTreeMap<String, String>,
}

impl PrometheusRule {
    pub fn new(name: &str, namespace: Option<&str>, file: RuleFile) -> Self {
        PrometheusRule {
            api_version: "monitoring.coreos.com/v1",
            kind: "PrometheusRule",
            metadata: Metadata {
                name: name.to_string(),
                namespace: namespace.map(str::to_string),
                labels: BTreeMap::from([(
                    "app.kubernetes.io/name".to_string(),
                    "drifttap".to_string(),
                )]),
            },
            spec: file,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alert_has_severity_model_scope_and_a_runbook() {
        let file = rules(Some("credit"), &AlertsConfig::default());
        let names: Vec<&str> = file.groups[0]
            .rules
            .iter()
            .map(|r| r.alert.as_str())
            .collect();
        assert_eq!(names, ALERTS);
        for rule in &file.groups[0].rules {
            assert!(rule.labels.contains_key("severity"), "{}", rule.alert);
            for key in ["summary", "description", "runbook_url"] {
                assert!(rule.annotations.contains_key(key), "{} {key}", rule.alert);
            }
            if rule.alert != "DrifttapSidecarDown" {
                assert!(rule.expr.contains("model=\"credit\""), "{}", rule.expr);
                assert!(rule.expr.contains("by (model"), "{}", rule.expr);
            }
        }
    }

    #[test]
    fn thresholds_come_from_the_configuration() {
        let alerts = AlertsConfig {
            drift_for: Duration::from_secs(3600),
            ..AlertsConfig::default()
        };
        let file = rules(None, &alerts);
        let drift = &file.groups[0].rules[0];
        assert_eq!(drift.for_, "1h");
        assert!(!drift.expr.contains("model=\""), "{}", drift.expr);
    }

    #[test]
    fn drift_alerts_need_the_replica_quorum() {
        let majority = rules(None, &AlertsConfig::default());
        for (rule, series) in majority.groups[0].rules[..3].iter().zip([
            "avg by (model) (drifttap_model_drift)",
            "avg by (model, feature) (drifttap_feature_drift)",
            "avg by (model) (drifttap_mmd_drift)",
        ]) {
            assert_eq!(rule.expr, format!("{series} > 0.5"));
            let description = &rule.annotations["description"];
            assert!(description.starts_with("In more than half of its replicas"));
        }
        let any = rules(
            Some("credit"),
            &AlertsConfig {
                replica_quorum: 0.0,
                ..AlertsConfig::default()
            },
        );
        assert_eq!(
            any.groups[0].rules[0].expr,
            r#"max by (model) (drifttap_model_drift{model="credit"}) == 1"#
        );
        let two_thirds = rules(
            None,
            &AlertsConfig {
                replica_quorum: 0.66,
                ..AlertsConfig::default()
            },
        );
        assert!(two_thirds.groups[0].rules[0].expr.ends_with("> 0.66"));
        assert!(
            two_thirds.groups[0].rules[0].annotations["description"]
                .starts_with("In more than 66% of its replicas")
        );
    }

    #[test]
    fn the_stalled_engine_rule_scopes_every_series_it_reads() {
        let file = rules(Some("credit"), &AlertsConfig::default());
        let rule = &file.groups[0].rules[4];
        assert_eq!(rule.alert, "DrifttapEngineStalled");
        for series in [
            r#"drifttap_last_evaluation_timestamp_seconds{model="credit"}"#,
            r#"drifttap_evaluation_interval_seconds{model="credit"}"#,
            r#"drifttap_samples_ingested_total{model="credit"}[5m]"#,
            r#"drifttap_evaluations_total{model="credit",outcome="skipped"}[5m]"#,
            ", 300)",
        ] {
            assert!(rule.expr.contains(series), "{series} in {}", rule.expr);
        }
        let all = rules(None, &AlertsConfig::default());
        assert!(
            all.groups[0].rules[4]
                .expr
                .contains(r#"drifttap_evaluations_total{outcome="skipped"}"#)
        );
    }

    #[test]
    fn label_values_are_escaped() {
        let file = rules(Some(r#"a"b"#), &AlertsConfig::default());
        assert!(file.groups[0].rules[0].expr.contains(r#"model="a\"b""#));
    }
}
