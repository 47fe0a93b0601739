//! drifttap watches machine-learning models in production for data drift.
//!
//! # Layout
//! A core that knows no async runtime, metrics registry or command line, and four products
//! that use it and never each other. The binary (`src/bin/drifttap`) is thin: it parses the
//! command line and calls a product.
//!
//! The core:
//! - [`stats`]: the statistics engine — two-sample Kolmogorov–Smirnov, kernel MMD², χ², effect
//!   sizes and multiple-testing correction — with a scalar oracle and SIMD kernels chosen at run
//!   time. Library-grade: no I/O, no async, no logging inside kernels.
//! - [`data`]: the feature data model — [`data::Frame`] of numeric and categorical columns,
//!   [`data::Kind`], [`data::FeatureSchema`], and the one rule that names a number used as a
//!   category.
//! - [`baseline`]: training data read from Parquet, compiled into a baseline, stored and opened.
//! - [`evaluate`]: one evaluation of a frame against a baseline, prepared once per baseline
//!   ([`evaluate::Prepared`]), and its typed report.
//! - [`detect`]: pure decisions on top of an evaluation: effect-size floor and hysteresis.
//! - [`protocol`]: the retraining webhook's payload, signature, episode key and secret file,
//!   shared by the sidecar that sends it and the retrainer that receives it.
//! - [`settings`]: what every product's configuration shares: durations, the error listing
//!   every problem.
//! - [`http`]: plumbing both services use: bound listeners, servers with timeouts, the common
//!   admin routes, backoff.
//!
//! The products:
//! - [`check`]: `drifttap check` and `drifttap baseline build` as library functions, and the
//!   report renderers (terminal table, HTML page).
//! - [`sidecar`]: `drifttap serve` — tap, ingest, window, engine, metrics, admin, notifier.
//! - [`rules`]: `drifttap rules` — the Prometheus alert rules for the sidecar's metrics.
//! - [`retrain`]: `drifttap retrainer` — drift notifications (drifttap's webhook,
//!   Alertmanager's) turned into one Kubernetes Job per episode, built from a template.
//!
//! With the `test-util` feature, `testing` holds what the unit and integration tests share.
//!
//! # Example
//!
//! ```
//! use drifttap::stats::ks::{KsOptions, SortedSample, ks_2samp};
//! use drifttap::stats::Compute;
//!
//! let compute = Compute::detect();
//! // The baseline side is sorted once; every window is tested against it.
//! let reference: Vec<f64> = (0..5_000).map(|i| (i as f64 / 5_000.0 - 0.5) * 6.0).collect();
//! let reference = SortedSample::new(reference)?;
//! let window: Vec<f64> = (0..1_000).map(|i| (i as f64 / 1_000.0 - 0.5) * 6.0 + 0.6).collect();
//! let result = ks_2samp(&reference, &window, KsOptions::default(), &compute)?;
//! assert!(result.p_value < 1e-3, "a shift of 0.6 is drift: {result:?}");
//! # Ok::<(), drifttap::stats::StatsError>(())
//! ```

#![deny(unsafe_code)]

// The core.
pub mod baseline;
pub mod data;
pub mod detect;
pub mod evaluate;
pub mod http;
pub mod protocol;
pub mod settings;
pub mod stats;

// The products.
pub mod check;
pub mod retrain;
pub mod rules;
pub mod sidecar;

// Test support (feature `test-util`, outside semver).
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
