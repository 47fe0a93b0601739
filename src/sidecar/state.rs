//! What the servers and the engine share: the window (a short mutex hold per pushed batch and
//! per snapshot), the baseline and its prepared evaluation (swapped whole on reload), the
//! latest status, the metrics, and readiness.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, RwLock};

use crate::baseline::compile::{Baseline, FeatureData};
use crate::sidecar::metrics::{Metrics, ModelLabels};
use crate::sidecar::window::{Window, WindowConfig, WindowFeature};

/// What the servers and the engine share.
#[derive(Debug)]
pub struct Shared {
    pub model: String,
    pub baseline: RwLock<Arc<Baseline>>,
    /// Where the baseline was loaded from (shown in the status).
    pub baseline_path: String,
    pub window: Mutex<Window>,
    /// The latest evaluation, as `check`'s JSON document; `None` before the first.
    pub status: RwLock<Option<String>>,
    pub metrics: Metrics,
    /// Set once the listeners are bound.
    pub listening: AtomicBool,
}

impl Shared {
    pub fn new(
        model: String,
        baseline: Baseline,
        baseline_path: String,
        window: WindowConfig,
        metrics: Metrics,
    ) -> Self {
        let labels = ModelLabels {
            model: model.clone(),
        };
        metrics
            .window_capacity
            .get_or_create(&labels)
            .set(window.size as i64);
        metrics.baseline(&model, &baseline.version);
        Shared {
            window: Mutex::new(Window::new(&window_features(&baseline), window)),
            baseline: RwLock::new(Arc::new(baseline)),
            baseline_path,
            model,
            status: RwLock::new(None),
            metrics,
            listening: AtomicBool::new(false),
        }
    }

    /// The baseline in use.
    pub fn baseline(&self) -> Arc<Baseline> {
        self.baseline
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Swaps in a new baseline. The window is kept when the features are the same; otherwise it
    /// starts empty with the new features.
    pub fn replace_baseline(&self, baseline: Baseline, window: WindowConfig) {
        let features = window_features(&baseline);
        let same = window_features(&self.baseline()) == features;
        self.metrics.baseline(&self.model, &baseline.version);
        *self
            .baseline
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(baseline);
        if !same {
            *self.lock_window() = Window::new(&features, window);
        }
    }

    /// The window, even if a thread panicked while holding it (its data stays consistent: every
    /// write is a whole row).
    pub fn lock_window(&self) -> std::sync::MutexGuard<'_, Window> {
        self.window
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The window's features: the baseline's, in order, categorical ones seeded with the
/// baseline's categories.
pub fn window_features(baseline: &Baseline) -> Vec<WindowFeature> {
    baseline
        .features
        .iter()
        .map(|f| WindowFeature {
            name: f.name.clone(),
            kind: f.kind(),
            categories: match &f.data {
                FeatureData::Categorical { counts } => {
                    counts.iter().map(|(name, _)| name.clone()).collect()
                }
                FeatureData::Numeric { .. } => Vec::new(),
            },
        })
        .collect()
}
