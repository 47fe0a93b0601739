//! drifttap watches machine-learning models in production for data drift.
//!
//! # Layout
//! - [`admin`]: `/metrics`, `/healthz`, `/readyz`, `/v1/status`, on their own listener.
//! - [`alert`]: the Prometheus alert rules, built from the configuration's thresholds.
//! - [`baseline`]: training and production data read from Parquet; compiled baselines.
//! - [`cli`]: command-line definitions of the `drifttap` binary.
//! - [`config`]: `serve`'s configuration (YAML, environment, flags), validated all at once.
//! - [`check`]: the offline drift check of a current data set against a reference.
//! - [`detect`]: pure decisions on top of an evaluation: effect-size floor and hysteresis.
//! - [`engine`]: the evaluation loop on its own thread: snapshot, test, decide, publish.
//! - [`ingest`]: decoders of the tapped and pushed payloads, and the ingest server.
//! - [`metrics`]: every Prometheus metric `serve` exports, registered in one place.
//! - [`observe`]: the bounded queue of observed bodies between the servers and the decoder.
//! - [`report`]: rendering a check as a terminal table, JSON or an HTML page.
//! - [`retrain`]: `drifttap retrainer` — drift notifications (drifttap's webhook, Alertmanager's)
//!   turned into one Kubernetes Job per episode, built from a template.
//! - [`serve`]: the sidecar assembled (tap, ingest, feed, engine, admin) and its lifecycle.
//! - [`server`]: HTTP plumbing shared by the servers: bound listener in, graceful drain out.
//! - [`stats`]: the statistics engine — two-sample Kolmogorov–Smirnov, kernel MMD², χ², effect
//!   sizes and multiple-testing correction — with a scalar oracle and SIMD kernels chosen at run
//!   time. Library-grade: no I/O, no async, no logging inside kernels.
//! - [`tap`]: the reverse proxy in front of the model that forwards unchanged and observes.
//! - [`window`]: bounded ring buffers of recent feature values, and their snapshots.

//!
//! # Example
//!
//! ```
//! use drifttap::stats::ks::{Alternative, KsMethod, SortedSample, ks_2samp};
//! use drifttap::stats::{Compute, Input, synth};
//!
//! let compute = Compute::detect();
//! // The baseline side is sorted once; every window is tested against it.
//! let reference =
//!     SortedSample::new(synth::normal(1, 5_000, 0.0, 1.0), Input::Reference, compute.backend)?;
//! let window = synth::normal(2, 1_000, 0.3, 1.0);
//! let result = ks_2samp(&reference, &window, Alternative::TwoSided, KsMethod::Auto, &compute)?;
//! assert!(result.p_value < 1e-6, "a 0.3σ shift is drift: {result:?}");
//! # Ok::<(), drifttap::stats::StatsError>(())
//! ```

#![deny(unsafe_code)]

pub mod admin;
pub mod alert;
pub mod backoff;
pub mod baseline;
pub mod check;
pub mod cli;
pub mod config;
pub mod detect;
pub mod engine;
pub mod ingest;
pub mod metrics;
pub mod observe;
pub mod report;
pub mod retrain;
pub mod serve;
pub mod server;
pub mod stats;
pub mod tap;
pub mod window;
