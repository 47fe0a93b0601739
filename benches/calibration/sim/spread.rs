//! Measurement 2: how much the MMD test's own level varies from one baseline to the next.
//!
//! A deployment lives with one baseline, so what it sees is the level *given* its baseline.
//! For each of many baselines (a fresh training draw and build seed each) the MMD test alone
//! runs on `windows` null windows; the spread of those per-baseline rates is the spread of the
//! conditional level plus binomial noise. The noise has variance `π(1 − π)/R` for a baseline
//! of rate `π` with `R` windows: the "binomial floor", estimated without bias by the mean of
//! `p(1 − p)/(R − 1)` and subtracted in the "excess sd", which is what the product must keep
//! at most [`TARGET_EXCESS_SD`].

use drifttap::evaluate::Options;
use drifttap::stats::synth;

use super::generate::{TableSpec, name_tag, stream};
use super::interval::{Interval, Proportion, Z_95};
use super::replicate::{Progress, baseline, evaluate, parallel};

/// The most the MMD level may vary across baselines (sd, binomial noise removed) at α = 0.05.
pub const TARGET_EXCESS_SD: f64 = 0.02;
/// A baseline whose own level is above this fails its users badly.
pub const HIGH_LEVEL: f64 = 0.10;
/// Bootstrap resamples of the baselines for the excess sd's interval.
const BOOTSTRAP: u64 = 2_000;

/// What to measure.
#[derive(Debug, Clone)]
pub struct Plan {
    pub label: String,
    pub spec: TableSpec,
    pub window_rows: usize,
    pub baselines: usize,
    /// Null windows per baseline.
    pub windows: usize,
    pub training_rows: usize,
    pub alpha: f64,
    pub seed: u64,
}

/// The spread of the MMD level across baselines.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Spread {
    pub label: String,
    pub features: usize,
    pub window_rows: usize,
    pub alpha: f64,
    pub windows: usize,
    /// Each baseline's rejection rate.
    pub rates: Vec<f64>,
    pub mean: f64,
    /// Normal-approximation interval of the mean over baselines.
    pub mean_interval: Interval,
    /// Standard deviation of `rates` (denominator `baselines − 1`).
    pub sd: f64,
    /// `√(α(1 − α)/R)`: the sd a perfectly calibrated test would show.
    pub nominal_floor: f64,
    /// The binomial part of `sd`, estimated from the rates.
    pub floor: f64,
    /// `√max(0, sd² − floor²)`: the spread of the conditional level itself.
    pub excess_sd: f64,
    /// Percentile bootstrap interval over baselines.
    pub excess_sd_interval: Interval,
    pub min: f64,
    pub max: f64,
    /// Share of baselines with a rate above [`HIGH_LEVEL`].
    pub above_high: f64,
    pub target_met: bool,
}

/// Sample sd and the estimated binomial floor of `rates`, each from `windows` trials.
fn sd_and_floor(rates: &[f64], windows: usize) -> (f64, f64, f64) {
    let n = rates.len() as f64;
    let mean = rates.iter().sum::<f64>() / n;
    let var = rates.iter().map(|p| (p - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let floor2 = rates.iter().map(|p| p * (1.0 - p)).sum::<f64>() / n / (windows as f64 - 1.0);
    (var.sqrt(), floor2.sqrt(), (var - floor2).max(0.0).sqrt())
}

impl Spread {
    fn new(plan: &Plan, counts: &[Proportion]) -> Spread {
        let rates: Vec<f64> = counts.iter().map(Proportion::rate).collect();
        let n = rates.len() as f64;
        let mean = rates.iter().sum::<f64>() / n;
        let (sd, floor, excess_sd) = sd_and_floor(&rates, plan.windows);
        let half = Z_95 * sd / n.sqrt();
        // Resample baselines with replacement, deterministically.
        let boot_seed = stream(plan.seed, &[name_tag("bootstrap")]);
        let mut excess: Vec<f64> = (0..BOOTSTRAP)
            .map(|b| {
                let resample: Vec<f64> = (0..rates.len() as u64)
                    .map(|i| {
                        let pick =
                            synth::bits(boot_seed, b * rates.len() as u64 + i) % rates.len() as u64;
                        rates[pick as usize]
                    })
                    .collect();
                sd_and_floor(&resample, plan.windows).2
            })
            .collect();
        excess.sort_by(f64::total_cmp);
        let quantile = |q: f64| excess[((q * (BOOTSTRAP - 1) as f64).round()) as usize];
        Spread {
            label: plan.label.clone(),
            features: plan.spec.features.len(),
            window_rows: plan.window_rows,
            alpha: plan.alpha,
            windows: plan.windows,
            mean,
            mean_interval: Interval {
                low: mean - half,
                high: mean + half,
            },
            sd,
            nominal_floor: (plan.alpha * (1.0 - plan.alpha) / plan.windows as f64).sqrt(),
            floor,
            excess_sd,
            excess_sd_interval: Interval {
                low: quantile(0.025),
                high: quantile(0.975),
            },
            min: rates.iter().copied().fold(f64::INFINITY, f64::min),
            max: rates.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            above_high: rates.iter().filter(|&&p| p > HIGH_LEVEL).count() as f64 / n,
            target_met: excess_sd <= TARGET_EXCESS_SD,
            rates,
        }
    }
}

/// Runs `plan`: one progress step per baseline.
pub fn run(plan: &Plan, threads: usize, progress: &Progress) -> Spread {
    let tag = name_tag("spread");
    let label = name_tag(&plan.label);
    let counts = parallel(plan.baselines, threads, progress, |b| {
        let reference = baseline(
            &plan.spec,
            plan.training_rows,
            stream(plan.seed, &[tag, label, name_tag("training"), b as u64]),
        );
        Proportion::of((0..plan.windows).map(|r| {
            let seed = stream(plan.seed, &[tag, label, b as u64, r as u64]);
            let window = plan
                .spec
                .frame(stream(seed, &[0]), 0..plan.window_rows as u64);
            let options = Options {
                ks: false,
                chi2: false,
                p_val: plan.alpha,
                seed: stream(seed, &[1]),
                ..Options::default()
            };
            let report = evaluate(&reference, options, &window);
            report.multivariate.as_ref().is_some_and(|m| m.drift)
        }))
    });
    Spread::new(plan, &counts)
}
