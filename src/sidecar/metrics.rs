//! Every metric `serve` exports, registered in one place.
//!
//! Names follow `drifttap_<subsystem>_<name>_<unit>`; counters are registered without `_total`
//! (the OpenMetrics encoder adds it). Every series carries the `model` label; the others come
//! from closed sets (`reason`, `source`, `test`, `outcome`) or from the baseline's feature names,
//! which are fixed by the baseline. The engine sets the gauges after each evaluation; `/metrics`
//! only encodes. A leaf: it imports no other part of drifttap (the engine maps an evaluation
//! onto these families; the subsystems pass in the label sets they define).

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

/// The closed label sets whose values the subsystems that count them define (the decoder's
/// error reasons, the tap's upstream errors, the webhook's delivery outcomes): passed in, so
/// that this module imports none of them.
#[derive(Debug, Clone, Copy)]
pub struct ClosedSets<'a> {
    /// `reason` of `drifttap_decode_errors_total`.
    pub decode_errors: &'a [&'a str],
    /// `reason` of `drifttap_tap_upstream_errors_total`.
    pub upstream_errors: &'a [&'a str],
    /// `outcome` of `drifttap_webhook_deliveries_total`.
    pub webhook_outcomes: &'a [&'a str],
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModelLabels {
    pub model: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FeatureLabels {
    pub model: String,
    pub feature: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FeatureTestLabels {
    pub model: String,
    pub feature: String,
    /// `ks` or `chi2`.
    pub test: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub model: String,
    /// A code from a closed set (e.g. `queue_full`, `non_finite`, `invalid_json`).
    pub reason: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    pub model: String,
    /// `tap`, `ingest` or `cloudevents`.
    pub source: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub model: String,
    /// Evaluations: `ok`, `skipped` (too few samples) or `error`; webhook deliveries: one of
    /// [`ClosedSets::webhook_outcomes`].
    pub outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TapLabels {
    pub model: String,
    /// Status class of the answer the client got: `2xx`, `3xx`, `4xx`, `5xx`.
    pub code: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ListenerLabels {
    pub model: String,
    /// `tap`, `ingest` or `admin`.
    pub listener: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildLabels {
    pub version: String,
    /// The statistics backend in use (`avx512`, `avx2`, `neon`, `scalar`).
    pub backend: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BaselineLabels {
    pub model: String,
    /// The baseline's content hash.
    pub version: String,
}

type F64Gauge = Gauge<f64, AtomicU64>;

/// The metric families of one `serve` process.
#[derive(Debug, Clone)]
pub struct Metrics {
    pub model_drift: Family<ModelLabels, Gauge>,
    pub feature_drift: Family<FeatureLabels, Gauge>,
    pub feature_statistic: Family<FeatureTestLabels, F64Gauge>,
    pub feature_p_value: Family<FeatureTestLabels, F64Gauge>,
    pub feature_wasserstein_normed: Family<FeatureLabels, F64Gauge>,
    pub feature_psi: Family<FeatureLabels, F64Gauge>,
    pub feature_missing_ratio: Family<FeatureLabels, F64Gauge>,
    pub mmd_statistic: Family<ModelLabels, F64Gauge>,
    pub mmd_p_value: Family<ModelLabels, F64Gauge>,
    pub mmd_drift: Family<ModelLabels, Gauge>,
    pub window_samples: Family<ModelLabels, Gauge>,
    pub window_capacity: Family<ModelLabels, Gauge>,
    pub samples_ingested: Family<SourceLabels, Counter>,
    pub samples_dropped: Family<ReasonLabels, Counter>,
    pub payloads_dropped: Family<ReasonLabels, Counter>,
    pub payloads_skipped: Family<ModelLabels, Counter>,
    pub sampling_ratio: Family<ModelLabels, F64Gauge>,
    pub decode_errors: Family<ReasonLabels, Counter>,
    pub unknown_fields: Family<ModelLabels, Counter>,
    pub evaluations: Family<OutcomeLabels, Counter>,
    pub evaluation_duration: Family<ModelLabels, Histogram, fn() -> Histogram>,
    pub last_evaluation: Family<ModelLabels, F64Gauge>,
    pub evaluation_interval: Family<ModelLabels, F64Gauge>,
    pub window_stale: Family<ModelLabels, Gauge>,
    pub evaluation_alpha: Family<ModelLabels, F64Gauge>,
    pub evaluation_hysteresis: Family<ModelLabels, Gauge>,
    pub false_alarm_budget: Family<ModelLabels, F64Gauge>,
    pub tap_requests: Family<TapLabels, Counter>,
    pub tap_upstream_errors: Family<ReasonLabels, Counter>,
    pub baseline_info: Family<BaselineLabels, Gauge>,
    pub baseline_load_errors: Family<ModelLabels, Counter>,
    pub webhook_deliveries: Family<OutcomeLabels, Counter>,
    pub webhook_pending: Family<ModelLabels, Gauge>,
    pub webhook_failing: Family<ModelLabels, Gauge>,
    pub accept_errors: Family<ListenerLabels, Counter>,
    pub connections: Family<ListenerLabels, Gauge>,
}

/// Buckets of the evaluation duration: 1 ms to about 65 s.
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

impl Metrics {
    /// Creates every family and registers it, with the build info.
    pub fn register(registry: &mut Registry, backend: &str) -> Self {
        let m = Metrics {
            model_drift: Family::default(),
            feature_drift: Family::default(),
            feature_statistic: Family::default(),
            feature_p_value: Family::default(),
            feature_wasserstein_normed: Family::default(),
            feature_psi: Family::default(),
            feature_missing_ratio: Family::default(),
            mmd_statistic: Family::default(),
            mmd_p_value: Family::default(),
            mmd_drift: Family::default(),
            window_samples: Family::default(),
            window_capacity: Family::default(),
            samples_ingested: Family::default(),
            samples_dropped: Family::default(),
            payloads_dropped: Family::default(),
            payloads_skipped: Family::default(),
            sampling_ratio: Family::default(),
            decode_errors: Family::default(),
            unknown_fields: Family::default(),
            evaluations: Family::default(),
            evaluation_duration: Family::new_with_constructor(duration_histogram),
            last_evaluation: Family::default(),
            evaluation_interval: Family::default(),
            window_stale: Family::default(),
            evaluation_alpha: Family::default(),
            evaluation_hysteresis: Family::default(),
            false_alarm_budget: Family::default(),
            tap_requests: Family::default(),
            tap_upstream_errors: Family::default(),
            baseline_info: Family::default(),
            baseline_load_errors: Family::default(),
            webhook_deliveries: Family::default(),
            webhook_pending: Family::default(),
            webhook_failing: Family::default(),
            accept_errors: Family::default(),
            connections: Family::default(),
        };
        macro_rules! register {
            ($($name:literal, $help:literal, $field:ident;)*) => {
                $(registry.register($name, $help, m.$field.clone());)*
            };
        }
        register! {
            "drifttap_model_drift", "1 when the model's inputs drift (after hysteresis)", model_drift;
            "drifttap_feature_drift", "1 when the feature drifts (after correction, effect floor and hysteresis)", feature_drift;
            "drifttap_feature_statistic", "The feature's test statistic in the last evaluation (KS D or chi-squared)", feature_statistic;
            "drifttap_feature_p_value", "The feature's p-value in the last evaluation", feature_p_value;
            "drifttap_feature_wasserstein_normed", "Wasserstein-1 distance over the reference standard deviation", feature_wasserstein_normed;
            "drifttap_feature_psi", "Population stability index of the window against the baseline", feature_psi;
            "drifttap_feature_missing_ratio", "Share of the window's samples missing this feature", feature_missing_ratio;
            "drifttap_mmd_statistic", "MMD squared across the numeric features in the last evaluation", mmd_statistic;
            "drifttap_mmd_p_value", "Permutation p-value of the MMD test in the last evaluation", mmd_p_value;
            "drifttap_mmd_drift", "1 when the MMD test drifts (after hysteresis)", mmd_drift;
            "drifttap_window_samples", "Samples in the window", window_samples;
            "drifttap_window_capacity", "Samples the window holds when full", window_capacity;
            "drifttap_samples_ingested", "Samples decoded and added to the window, by source", samples_ingested;
            "drifttap_samples_dropped", "Values or rows left out while decoding, by reason (non_finite, wrong_type, width_mismatch, row_limit)", samples_dropped;
            "drifttap_payloads_dropped", "Payloads left out before decoding, by reason (queue_full, queue_bytes_full, body_too_large, shutting_down)", payloads_dropped;
            "drifttap_payloads_skipped", "Payloads of the model's traffic not decoded by sampling: the window got enough rows from the others", payloads_skipped;
            "drifttap_sampling_ratio", "Share of the model's traffic's payloads decoded (1 until the traffic brings more rows than the window uses)", sampling_ratio;
            "drifttap_decode_errors", "Payloads that could not be decoded, by reason", decode_errors;
            "drifttap_unknown_fields", "Fields in payloads that are not baseline features", unknown_fields;
            "drifttap_evaluations", "Evaluations, by outcome", evaluations;
            "drifttap_evaluation_duration_seconds", "Time an evaluation took", evaluation_duration;
            "drifttap_last_evaluation_timestamp_seconds", "Unix time of the last completed evaluation", last_evaluation;
            "drifttap_evaluation_interval_seconds", "The configured evaluation interval (the alert on a stalled engine compares the last evaluation's age with it)", evaluation_interval;
            "drifttap_window_stale", "1 when the last evaluation did not count toward the verdict: not every row of its window is newer than the last counted evaluation", window_stale;
            "drifttap_evaluation_alpha", "The per-evaluation family-wise level the tests are held to (derived from the false-alarm budget, or p_val)", evaluation_alpha;
            "drifttap_evaluation_hysteresis", "Consecutive counted evaluations that turn a verdict on or off", evaluation_hysteresis;
            "drifttap_false_alarm_budget_seconds", "The configured expected time between false drift verdicts (0 with p_val set instead)", false_alarm_budget;
            "drifttap_tap_requests", "Requests through the tap, by status class of the answer", tap_requests;
            "drifttap_tap_upstream_errors", "Requests the model did not answer or broke off, by reason (connect, timeout, invalid_response, aborted)", tap_upstream_errors;
            "drifttap_baseline_info", "The loaded baseline's version", baseline_info;
            "drifttap_baseline_load_errors", "Baseline reloads that failed (the previous baseline stays)", baseline_load_errors;
            "drifttap_webhook_deliveries", "Retraining webhook deliveries and attempts, by outcome (delivered, retried, rejected, failed, dropped, suppressed)", webhook_deliveries;
            "drifttap_webhook_pending", "Drift episodes waiting for delivery to the retraining webhook", webhook_pending;
            "drifttap_webhook_failing", "1 while the latest delivery to the retraining webhook did not succeed", webhook_failing;
            "drifttap_accept_errors", "Failed accepts on a listener (tap, ingest, admin), such as running out of file descriptors", accept_errors;
            "drifttap_connections", "Client connections open on a listener (tap, ingest, admin)", connections;
        }
        registry.register(
            "drifttap_build",
            "drifttap's version and statistics backend",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION").into(),
                backend: backend.into(),
            }),
        );
        m
    }

    /// The counters of the listener called `listener`, created at zero.
    pub fn listener(&self, model: &str, listener: &str) -> crate::http::ListenerStats {
        let labels = ListenerLabels {
            model: model.into(),
            listener: listener.into(),
        };
        crate::http::ListenerStats::of(&self.accept_errors, &self.connections, &labels)
    }

    /// Creates the series of every closed label set at zero, so that `rate()` and the alert
    /// rules see them before the first event (a counter that appears only when it first
    /// increments hides that first increment from `rate`).
    pub fn initialise(&self, model: &str, sets: &ClosedSets<'_>) {
        // `get_or_create` creates the series; the read guard it returns is dropped at once.
        let reason = |reason: &str| ReasonLabels {
            model: model.into(),
            reason: reason.into(),
        };
        let labels = ModelLabels {
            model: model.into(),
        };
        for r in [
            "queue_full",
            "queue_bytes_full",
            "body_too_large",
            "shutting_down",
        ] {
            drop(self.payloads_dropped.get_or_create(&reason(r)));
        }
        drop(self.payloads_skipped.get_or_create(&labels));
        self.sampling_ratio.get_or_create(&labels).set(1.0);
        for r in ["non_finite", "wrong_type", "width_mismatch", "row_limit"] {
            drop(self.samples_dropped.get_or_create(&reason(r)));
        }
        for &r in sets.decode_errors {
            drop(self.decode_errors.get_or_create(&reason(r)));
        }
        for &r in sets.upstream_errors {
            drop(self.tap_upstream_errors.get_or_create(&reason(r)));
        }
        for source in ["tap", "ingest", "cloudevents"] {
            drop(self.samples_ingested.get_or_create(&SourceLabels {
                model: model.into(),
                source: source.into(),
            }));
        }
        for outcome in ["ok", "skipped", "error"] {
            drop(self.evaluations.get_or_create(&OutcomeLabels {
                model: model.into(),
                outcome: outcome.into(),
            }));
        }
        for &outcome in sets.webhook_outcomes {
            drop(self.webhook_deliveries.get_or_create(&OutcomeLabels {
                model: model.into(),
                outcome: outcome.into(),
            }));
        }
        for code in ["2xx", "3xx", "4xx", "5xx"] {
            drop(self.tap_requests.get_or_create(&TapLabels {
                model: model.into(),
                code: code.into(),
            }));
        }
        drop(self.unknown_fields.get_or_create(&labels));
        drop(self.baseline_load_errors.get_or_create(&labels));
        drop(self.model_drift.get_or_create(&labels));
        drop(self.mmd_drift.get_or_create(&labels));
        drop(self.window_samples.get_or_create(&labels));
        drop(self.evaluation_duration.get_or_create(&labels));
        drop(self.webhook_pending.get_or_create(&labels));
        drop(self.webhook_failing.get_or_create(&labels));
    }

    /// Counts a drop of `count` samples or values for `reason`.
    pub fn dropped(&self, model: &str, reason: &str, count: u64) {
        if count > 0 {
            self.samples_dropped
                .get_or_create(&ReasonLabels {
                    model: model.into(),
                    reason: reason.into(),
                })
                .inc_by(count);
        }
    }

    /// Marks the baseline in use (one series, value 1).
    pub fn baseline(&self, model: &str, version: &str) {
        self.baseline_info.clear();
        self.baseline_info
            .get_or_create(&BaselineLabels {
                model: model.into(),
                version: version.into(),
            })
            .set(1);
    }
}
