//! Measurement 6: the detection delay the default false-alarm budget costs.
//!
//! A change starts at a window boundary; from then on every counted window is disjoint and
//! drawn from the changed distribution. drifttap's evaluation runs on each at the budget's
//! level (`Budget::alpha`), each with its own seed, and a [`Verdicts`] decides with the
//! budget's hysteresis, as the engine does. The delay is the number of counted evaluations
//! until the model's verdict turns on, and the rows they took; a stream that has not turned on
//! after `max_evaluations` is censored (counted at that bound in the mean, so the mean errs
//! low there and the table says how many). At a slide of `s` of the window per interval, a
//! counted evaluation takes `1/s` intervals, so the delay in time is the evaluations times
//! `interval / s`, and at least one window's worth of traffic.

use std::sync::Arc;

use drifttap::baseline::compile::Baseline;
use drifttap::detect::{Budget, Policy, Verdicts};
use drifttap::evaluate::{Options, Prepared};

use super::generate::{FeatureType, TableSpec, name_tag, stream};
use super::interval::{self, Mean};
use super::replicate::{Progress, baseline, compute, parallel};

/// One change.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub reference_name: String,
    pub change: String,
    pub reference: TableSpec,
    pub current: TableSpec,
}

/// 0.2 and 0.5 sd in one of 20 normal features; ρ = 0.5 between two of 20 with unchanged
/// marginals.
pub fn scenarios() -> Vec<Scenario> {
    let reference = TableSpec::uniform(FeatureType::Normal, 20);
    let mut out: Vec<Scenario> = [0.2, 0.5]
        .iter()
        .map(|&delta| Scenario {
            reference_name: "20 normal".into(),
            change: format!("f00 mean +{delta} sd"),
            reference: reference.clone(),
            current: reference.clone().shifted(0, delta),
        })
        .collect();
    out.push(Scenario {
        reference_name: "20 normal".into(),
        change: "ρ(f00, f01) 0 → 0.5".into(),
        reference: reference.clone(),
        current: reference.clone().correlated(0, 1, 0.5),
    });
    out
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct Plan {
    pub scenarios: Vec<Scenario>,
    pub windows: Vec<usize>,
    pub replications: usize,
    pub baselines: usize,
    pub training_rows: usize,
    pub budget: Budget,
    pub policy: Policy,
    pub max_evaluations: usize,
    pub seed: u64,
}

impl Plan {
    pub fn steps(&self) -> usize {
        self.baselines + self.scenarios.len() * self.windows.len() * self.replications
    }
}

/// One scenario at one window size.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Cell {
    pub reference: String,
    pub change: String,
    pub window_rows: usize,
    pub alpha: f64,
    pub hysteresis: u32,
    pub replications: usize,
    /// Counted evaluations until the verdict turned on (censored streams at the bound).
    pub evaluations: Option<Mean>,
    pub median_evaluations: f64,
    pub censored: usize,
    /// Mean rows of changed traffic until the verdict.
    pub rows: f64,
}

pub fn run(plan: &Plan, threads: usize, progress: &Progress) -> Vec<Cell> {
    let tag = name_tag("delay");
    // Every scenario shares the reference.
    let reference = &plan.scenarios[0].reference;
    let baselines: Vec<Arc<Baseline>> = parallel(plan.baselines, threads, progress, |b| {
        let seed = stream(plan.seed, &[tag, name_tag("training"), b as u64]);
        baseline(reference, plan.training_rows, seed)
    });
    let alpha = plan.budget.alpha();
    let policy = Policy {
        hysteresis: plan.budget.hysteresis,
        ..plan.policy
    };
    let mut cells = Vec::new();
    for scenario in &plan.scenarios {
        let change = name_tag(&scenario.change);
        for &window_rows in &plan.windows {
            let delays = parallel(plan.replications, threads, progress, |r| {
                let data = stream(plan.seed, &[tag, change, window_rows as u64, r as u64]);
                let prepared = Prepared::new(
                    Arc::clone(&baselines[r % baselines.len()]),
                    Options {
                        p_val: alpha,
                        ..Options::default()
                    },
                    &compute(),
                )
                .expect("the simulated baseline prepares");
                let mut verdicts = Verdicts::default();
                let w = window_rows as u64;
                for e in 0..plan.max_evaluations as u64 {
                    let window = scenario.current.frame(data, e * w..(e + 1) * w);
                    let report = prepared
                        .evaluate_seeded(&window, 0..window.rows(), stream(data, &[e]))
                        .expect("a simulated window evaluates");
                    verdicts.decide(&report, &policy);
                    if verdicts.model.drifting {
                        return (e + 1, false);
                    }
                }
                (plan.max_evaluations as u64, true)
            });
            let values: Vec<f64> = delays.iter().map(|(e, _)| *e as f64).collect();
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let median = sorted[sorted.len() / 2];
            let mean = interval::mean(&values);
            cells.push(Cell {
                reference: scenario.reference_name.clone(),
                change: scenario.change.clone(),
                window_rows,
                alpha,
                hysteresis: policy.hysteresis,
                replications: plan.replications,
                rows: mean
                    .as_ref()
                    .map_or(f64::NAN, |m| m.mean * window_rows as f64),
                evaluations: mean,
                median_evaluations: median,
                censored: delays.iter().filter(|(_, c)| *c).count(),
            });
        }
    }
    cells
}
