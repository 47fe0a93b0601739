//! Measurement 1: the per-evaluation family rate — the share of null windows (drawn from the
//! baseline's own distribution) whose report says `drift` — for each table type, width,
//! window size and p-value threshold.
//!
//! A cell's replications cycle through a few baselines (each from its own training draw and
//! build seed), so a cell's rate averages over baselines as well as windows; each replication
//! draws a fresh window and evaluates it with its own seed, once per threshold.

use std::sync::Arc;

use drifttap::baseline::compile::Baseline;
use drifttap::evaluate::Options;

use super::generate::{FeatureType, MISSING_SHARE, TableSpec, name_tag, stream};
use super::interval::{Interval, Proportion};
use super::replicate::{Outcome, Progress, baseline, evaluate, parallel};

/// The p-value thresholds of the full table.
pub const ALPHAS: [f64; 2] = [0.05, 0.01];

/// The range a family rate must stay in at threshold `alpha`: `[0.6·α, 1.1·α]`, which is the
/// product's `[0.03, 0.055]` at 0.05 — not over (a little slack for the discreteness of
/// permutation p-values), and not so conservative that power is thrown away.
pub fn target(alpha: f64) -> (f64, f64) {
    // Rounded so the range prints and serialises as 0.055, not 0.05500000000000001.
    let round = |x: f64| (x * 1e12).round() / 1e12;
    (round(0.6 * alpha), round(1.1 * alpha))
}

/// Where a cell's 95 % interval lies against its target range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Agreement {
    /// Inside the range: the rate is shown to meet the target.
    Within,
    /// Overlapping the range: consistent with it.
    Consistent,
    /// Entirely above: too many false alarms.
    Over,
    /// Entirely below: needlessly conservative.
    Conservative,
}

impl Agreement {
    pub fn of(interval: Interval, (low, high): (f64, f64)) -> Agreement {
        if interval.low > high {
            Agreement::Over
        } else if interval.high < low {
            Agreement::Conservative
        } else if interval.low >= low && interval.high <= high {
            Agreement::Within
        } else {
            Agreement::Consistent
        }
    }

    /// Whether the interval is consistent with the range.
    pub fn consistent(self) -> bool {
        matches!(self, Agreement::Within | Agreement::Consistent)
    }

    /// The table's column.
    pub fn as_str(self) -> &'static str {
        match self {
            Agreement::Within => "yes (inside)",
            Agreement::Consistent => "yes",
            Agreement::Over => "no: over",
            Agreement::Conservative => "no: conservative",
        }
    }
}

/// A kind of table: all features of one type, or a mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Uniform(FeatureType),
    /// Features cycling through every type.
    Mixed,
    /// The mix with [`MISSING_SHARE`] of rows missing in every fifth feature.
    MixedMissing,
}

impl Table {
    /// Every table, in the order the results list them.
    pub const ALL: [Table; 9] = [
        Table::Uniform(FeatureType::Normal),
        Table::Uniform(FeatureType::Skewed),
        Table::Uniform(FeatureType::HeavyTailed),
        Table::Uniform(FeatureType::Binary),
        Table::Uniform(FeatureType::Poisson),
        Table::Uniform(FeatureType::Balanced),
        Table::Uniform(FeatureType::LongTailed),
        Table::Mixed,
        Table::MixedMissing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Table::Uniform(ty) => ty.as_str(),
            Table::Mixed => "mixed",
            Table::MixedMissing => "mixed_missing",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Table::Uniform(ty) => ty.describe(),
            Table::Mixed => "every type in turn",
            Table::MixedMissing => "every type in turn, 5 % missing in every fifth feature",
        }
    }

    pub fn spec(self, features: usize) -> TableSpec {
        match self {
            Table::Uniform(ty) => TableSpec::uniform(ty, features),
            Table::Mixed => TableSpec::mixed(features, 0.0),
            Table::MixedMissing => TableSpec::mixed(features, MISSING_SHARE),
        }
    }
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct Plan {
    pub tables: Vec<Table>,
    /// Feature counts.
    pub features: Vec<usize>,
    /// Window sizes, rows.
    pub windows: Vec<usize>,
    /// p-value thresholds; each window is evaluated once at each.
    pub alphas: Vec<f64>,
    /// Null windows per cell.
    pub replications: usize,
    /// Baselines per table and width; replication `r` uses baseline `r mod baselines`.
    pub baselines: usize,
    pub training_rows: usize,
    /// The evaluation options; `p_val` and `seed` are set per evaluation.
    pub options: Options,
    pub seed: u64,
}

impl Plan {
    /// Progress steps: one per baseline built and per replication.
    pub fn steps(&self) -> usize {
        self.tables.len()
            * self.features.len()
            * (self.baselines + self.windows.len() * self.replications)
    }
}

/// One measured cell.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Cell {
    pub table: &'static str,
    pub features: usize,
    pub window_rows: usize,
    pub alpha: f64,
    pub baselines: usize,
    /// Windows whose report says `drift`.
    pub family: Proportion,
    /// Its Clopper–Pearson interval, which `agreement` judges.
    pub interval: Interval,
    pub wilson: Interval,
    pub target: (f64, f64),
    pub agreement: Agreement,
    /// Windows where some feature's test drifts, after the correction.
    pub any_feature: Proportion,
    /// Windows where the MMD test drifts.
    pub mmd: Proportion,
}

impl Cell {
    fn new(
        table: Table,
        features: usize,
        window_rows: usize,
        alpha: f64,
        baselines: usize,
        outcomes: impl Iterator<Item = Outcome> + Clone,
    ) -> Cell {
        let family = Proportion::of(outcomes.clone().map(|o| o.drift));
        let interval = family.clopper_pearson();
        Cell {
            table: table.as_str(),
            features,
            window_rows,
            alpha,
            baselines,
            family,
            interval,
            wilson: family.wilson(),
            target: target(alpha),
            agreement: Agreement::of(interval, target(alpha)),
            any_feature: Proportion::of(outcomes.clone().map(|o| o.any_feature)),
            mmd: Proportion::of(outcomes.map(|o| o.mmd)),
        }
    }
}

/// Runs every cell of `plan`, cells in table, width, window, threshold order.
pub fn run(plan: &Plan, threads: usize, progress: &Progress) -> Vec<Cell> {
    let mut cells = Vec::new();
    for &table in &plan.tables {
        for &features in &plan.features {
            let spec = table.spec(features);
            let group = [
                name_tag("family"),
                name_tag(table.as_str()),
                features as u64,
            ];
            let baselines: Vec<Arc<Baseline>> = parallel(plan.baselines, threads, progress, |b| {
                let seed = stream(
                    plan.seed,
                    &[group[0], group[1], group[2], name_tag("training"), b as u64],
                );
                baseline(&spec, plan.training_rows, seed)
            });
            for &window_rows in &plan.windows {
                let outcomes: Vec<Vec<Outcome>> =
                    parallel(plan.replications, threads, progress, |r| {
                        let seed = stream(
                            plan.seed,
                            &[group[0], group[1], group[2], window_rows as u64, r as u64],
                        );
                        let window = spec.frame(stream(seed, &[0]), 0..window_rows as u64);
                        plan.alphas
                            .iter()
                            .map(|&alpha| {
                                let options = Options {
                                    p_val: alpha,
                                    seed: stream(seed, &[1]),
                                    ..plan.options.clone()
                                };
                                Outcome::of(&evaluate(
                                    &baselines[r % baselines.len()],
                                    options,
                                    &window,
                                ))
                            })
                            .collect()
                    });
                for (k, &alpha) in plan.alphas.iter().enumerate() {
                    cells.push(Cell::new(
                        table,
                        features,
                        window_rows,
                        alpha,
                        plan.baselines,
                        outcomes.iter().map(move |o| o[k]),
                    ));
                }
            }
        }
    }
    cells
}
