//! drifttap watches machine-learning models in production for data drift.
//!
//! # Layout
//! - [`stats`]: the statistics engine — two-sample Kolmogorov–Smirnov, kernel MMD², χ², effect
//!   sizes and multiple-testing correction — with a scalar oracle and SIMD kernels chosen at run
//!   time. Library-grade: no I/O, no async, no logging inside kernels.

#![deny(unsafe_code)]

pub mod stats;
