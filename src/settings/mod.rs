//! What every product's configuration shares: durations as people write them, and the error
//! that lists every problem found at once (a user fixes a file in one round, not one line per
//! run).
//!
//! - [`duration`]: `250ms`, `30s`, `5m`, `1h30m`, parsed and printed.
//! - [`alerts`]: the alert rules' thresholds, a section of the configuration file.
//! - [`to_yaml`]: the YAML the commands print (rule files, dry-run Jobs).

pub mod alerts;
pub mod duration;

pub use duration::{format_duration, parse_duration};

/// Every problem found, one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration:\n  {}", .problems.join("\n  "))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

/// YAML with a header comment saying where it came from: how `drifttap rules` prints its rule
/// files and `drifttap retrainer --dry-run` its Jobs.
pub fn to_yaml<T: serde::Serialize>(value: &T, header: &str) -> String {
    let body = serde_saphyr::to_string(value)
        .unwrap_or_else(|e| format!("# could not be serialised: {e}\n"));
    format!("{header}{body}")
}
