//! Alerting: the Prometheus alert rules for drifttap's metrics.
//!
//! - [`rules`]: the rules built from the configuration's thresholds, as a rule file or a
//!   prometheus-operator `PrometheusRule`.
//! - [`webhook`]: the retraining webhook's payload, episode key and signature, shared by the
//!   sender and the receiver.

pub mod rules;
pub mod webhook;
