//! Measurement 3: how often known changes are detected — a mean shift in one feature of
//! twenty, numeric, binary or Poisson; a jump in one feature's missing share; two features
//! becoming correlated while each keeps its N(0, 1) marginal (which the MMD test should see and
//! the per-feature tests should not). Each change has a null row beside it (change 0) drawn
//! from the same reference.

use std::sync::Arc;

use drifttap::baseline::compile::Baseline;
use drifttap::evaluate::Options;

use super::generate::{FeatureType, TableSpec, name_tag, stream};
use super::interval::{Interval, Proportion};
use super::replicate::{Outcome, Progress, baseline, evaluate, parallel};

/// Features in the shift scenarios: the change hides in one of them.
pub const WIDTH: usize = 20;

/// One change to detect.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The reference's name; scenarios with the same reference share baselines.
    pub reference_name: String,
    /// What changed, for the table.
    pub change: String,
    pub reference: TableSpec,
    pub current: TableSpec,
    pub window_rows: usize,
    /// The feature whose own test the table shows; `None` shows whether any feature's did.
    pub watched: Option<usize>,
}

/// The standard list: mean shifts of 0.1, 0.2 and 0.5 sd in one of [`WIDTH`] normal features
/// at every window size in `windows`; 0.1 and 0.5 sd in binary and Poisson(3) features at 1 000
/// rows; the missing share of one normal feature from 5 % to 10 % and 20 %; ρ = 0.5 between
/// two N(0, 1) features of 2, 10 and 20.
pub fn scenarios(windows: &[usize]) -> Vec<Scenario> {
    let mut out = Vec::new();
    let shift = |ty: FeatureType, delta: f64, window_rows: usize| {
        let reference = TableSpec::uniform(ty, WIDTH);
        Scenario {
            reference_name: format!("{WIDTH} {}", ty.as_str()),
            change: if delta == 0.0 {
                "none".into()
            } else {
                format!("f00 mean +{delta} sd")
            },
            current: reference.clone().shifted(0, delta),
            reference,
            window_rows,
            watched: Some(0),
        }
    };
    for &window_rows in windows {
        for delta in [0.0, 0.1, 0.2, 0.5] {
            out.push(shift(FeatureType::Normal, delta, window_rows));
        }
    }
    for ty in [FeatureType::Binary, FeatureType::Poisson] {
        for delta in [0.0, 0.1, 0.5] {
            out.push(shift(ty, delta, 1_000));
        }
    }
    let reference = TableSpec::uniform(FeatureType::Normal, WIDTH).missing(0, 0.05);
    for share in [0.05, 0.10, 0.20] {
        out.push(Scenario {
            reference_name: format!("{WIDTH} normal, f00 5 % missing"),
            change: if share == 0.05 {
                "none".into()
            } else {
                format!("f00 missing 5 % → {:.0} %", share * 100.0)
            },
            reference: reference.clone(),
            current: reference.clone().missing(0, share),
            window_rows: 1_000,
            watched: Some(0),
        });
    }
    for (width, rhos) in [(2, &[0.0, 0.5][..]), (10, &[0.5][..]), (WIDTH, &[0.5][..])] {
        for &rho in rhos {
            let reference = TableSpec::uniform(FeatureType::Normal, width);
            let current = if rho == 0.0 {
                reference.clone()
            } else {
                reference.clone().correlated(0, 1, rho)
            };
            out.push(Scenario {
                reference_name: format!("{width} normal"),
                change: if rho == 0.0 {
                    "none".into()
                } else {
                    format!("ρ(f00, f01) 0 → {rho}")
                },
                reference,
                current,
                window_rows: 1_000,
                watched: None,
            });
        }
    }
    out
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct Plan {
    pub scenarios: Vec<Scenario>,
    pub replications: usize,
    /// Baselines per reference; replication `r` uses baseline `r mod baselines`.
    pub baselines: usize,
    pub training_rows: usize,
    pub alpha: f64,
    pub seed: u64,
}

impl Plan {
    /// Progress steps: one per baseline built and per replication.
    pub fn steps(&self) -> usize {
        let mut references: Vec<&str> = self
            .scenarios
            .iter()
            .map(|s| s.reference_name.as_str())
            .collect();
        references.sort_unstable();
        references.dedup();
        references.len() * self.baselines + self.scenarios.len() * self.replications
    }
}

/// One measured scenario.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Cell {
    pub reference: String,
    pub change: String,
    pub window_rows: usize,
    pub alpha: f64,
    /// Windows whose report says `drift`.
    pub family: Proportion,
    pub family_interval: Interval,
    /// The watched feature's test (or any feature's, for a correlation).
    pub watched: Option<String>,
    pub feature: Proportion,
    pub feature_interval: Interval,
    pub mmd: Proportion,
    pub mmd_interval: Interval,
}

/// Runs every scenario of `plan`, in order.
pub fn run(plan: &Plan, threads: usize, progress: &Progress) -> Vec<Cell> {
    let tag = name_tag("power");
    let mut built: Vec<(String, Vec<Arc<Baseline>>)> = Vec::new();
    let mut cells = Vec::new();
    for scenario in &plan.scenarios {
        let reference = name_tag(&scenario.reference_name);
        if !built
            .iter()
            .any(|(name, _)| *name == scenario.reference_name)
        {
            let baselines = parallel(plan.baselines, threads, progress, |b| {
                let seed = stream(plan.seed, &[tag, reference, name_tag("training"), b as u64]);
                baseline(&scenario.reference, plan.training_rows, seed)
            });
            built.push((scenario.reference_name.clone(), baselines));
        }
        let baselines = built
            .iter()
            .find(|(name, _)| *name == scenario.reference_name)
            .map(|(_, b)| b)
            .expect("built above");
        let change = name_tag(&scenario.change);
        let watched_name = scenario.watched.map(|j| scenario.current.column_name(j));
        let outcomes: Vec<(Outcome, bool)> = parallel(plan.replications, threads, progress, |r| {
            let seed = stream(
                plan.seed,
                &[
                    tag,
                    reference,
                    change,
                    scenario.window_rows as u64,
                    r as u64,
                ],
            );
            let window = scenario
                .current
                .frame(stream(seed, &[0]), 0..scenario.window_rows as u64);
            let options = Options {
                p_val: plan.alpha,
                seed: stream(seed, &[1]),
                ..Options::default()
            };
            let report = evaluate(&baselines[r % baselines.len()], options, &window);
            let outcome = Outcome::of(&report);
            let feature = match &watched_name {
                Some(name) => report.features.iter().any(|f| f.name == *name && f.drift),
                None => outcome.any_feature,
            };
            (outcome, feature)
        });
        let family = Proportion::of(outcomes.iter().map(|(o, _)| o.drift));
        let feature = Proportion::of(outcomes.iter().map(|(_, f)| *f));
        let mmd = Proportion::of(outcomes.iter().map(|(o, _)| o.mmd));
        cells.push(Cell {
            reference: scenario.reference_name.clone(),
            change: scenario.change.clone(),
            window_rows: scenario.window_rows,
            alpha: plan.alpha,
            family,
            family_interval: family.clopper_pearson(),
            watched: watched_name,
            feature,
            feature_interval: feature.clopper_pearson(),
            mmd,
            mmd_interval: mmd.clopper_pearson(),
        });
    }
    cells
}
