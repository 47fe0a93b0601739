//! `window:`: the recent samples an evaluation tests.

use crate::sidecar::window::WindowConfig;

/// `window.size`.
pub const SIZE: usize = 10_000;
/// The sizes `window.size` may take.
pub const SIZES: std::ops::RangeInclusive<usize> = 2..=10_000_000;

#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWindow {
    /// Samples kept per model (the most recent). Default 10000.
    pub size: Option<usize>,
    /// Samples older than this leave the window, e.g. `1h`. Default: no age limit.
    pub max_age: Option<String>,
    /// `auto`: when the model's traffic (tap, KServe's payload logger) brings more rows than
    /// twice the window's size per evaluation interval (or per `max_age`, if shorter), only a
    /// random share of its payloads is decoded, just enough for that, and the rest are skipped
    /// before they are copied (counted in `drifttap_payloads_skipped_total`). `all`: every
    /// payload is decoded while the queue has room. Payloads pushed to `/v1/ingest` are always
    /// decoded. Default `auto`.
    pub sampling: Option<String>,
}

impl RawWindow {
    /// The window and whether heavy traffic is sampled (`auto`), `None` for the window when
    /// its size is not a number; problems are added to `problems`. `size` and `sampling` are
    /// the overrides of the command line and environment.
    pub(super) fn resolve(
        self,
        size: Option<String>,
        sampling: Option<String>,
        problems: &mut Vec<String>,
    ) -> (Option<WindowConfig>, bool) {
        let size = match size {
            Some(v) => super::count(problems, "--window-size", &v),
            None => Some(self.size.unwrap_or(SIZE)),
        };
        if let Some(n) = size
            && !SIZES.contains(&n)
        {
            problems.push(format!(
                "window.size: must be between {} and {}, got {n}",
                SIZES.start(),
                SIZES.end()
            ));
        }
        let max_age = self
            .max_age
            .as_deref()
            .and_then(|v| super::duration(problems, "window.max_age", v));
        let sampling = match sampling
            .as_deref()
            .or(self.sampling.as_deref())
            .unwrap_or("auto")
        {
            "auto" => true,
            "all" => false,
            other => {
                problems.push(format!(
                    "window.sampling: `{other}` is not one of auto, all"
                ));
                true
            }
        };
        (size.map(|size| WindowConfig { size, max_age }), sampling)
    }
}
