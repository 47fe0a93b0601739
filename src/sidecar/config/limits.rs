//! `header_timeout`, `idle_timeout`, `body_timeout` and `max_connections`: the limits of the
//! tap's listener (under `tap:`) and of the ingest and admin listeners (at the top level, each
//! listener with its own budget of connections, so a flood on one leaves the others answering).

use crate::http::Limits;

/// `tap.max_connections`: client connections the tap serves at once (each holds a second
/// descriptor, to the model, while it is busy).
pub const TAP_MAX_CONNECTIONS: usize = 4096;

/// The four keys as written, in `tap:` or at the top level.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct RawLimits {
    pub header_timeout: Option<String>,
    pub idle_timeout: Option<String>,
    pub body_timeout: Option<String>,
    pub max_connections: Option<usize>,
}

impl RawLimits {
    /// The limits, every problem named with `prefix` (`tap.` or empty) and added to
    /// `problems`. A timeout must be longer than zero; a budget at least one connection.
    pub(super) fn resolve(
        self,
        prefix: &str,
        default_max_connections: usize,
        problems: &mut Vec<String>,
    ) -> Option<Limits> {
        let defaults = Limits::default();
        let mut timeout = |key: &str, value: Option<String>, default| {
            let name = format!("{prefix}{key}");
            let duration = super::duration_or(problems, &name, value, default)?;
            if duration.is_zero() {
                problems.push(format!("{name}: must be longer than 0s"));
                return None;
            }
            Some(duration)
        };
        let header_timeout = timeout(
            "header_timeout",
            self.header_timeout,
            defaults.header_timeout,
        );
        let idle_timeout = timeout("idle_timeout", self.idle_timeout, defaults.idle_timeout);
        let body_timeout = timeout("body_timeout", self.body_timeout, defaults.body_timeout);
        let max_connections = self.max_connections.unwrap_or(default_max_connections);
        if max_connections == 0 {
            problems.push(format!("{prefix}max_connections: must be at least 1"));
            return None;
        }
        Some(Limits {
            header_timeout: header_timeout?,
            idle_timeout: idle_timeout?,
            body_timeout: body_timeout?,
            max_connections,
        })
    }
}
