//! Alerting: the Prometheus alert rules for drifttap's metrics.
//!
//! - [`rules`]: the rules built from the configuration's thresholds, as a rule file or a
//!   prometheus-operator `PrometheusRule`.

pub mod rules;
