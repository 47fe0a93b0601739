//! A tour of the statistics engine on generated data: a credit-like reference of 20 000 rows
//! and a current window of 5 000 in which two numeric features and one categorical feature
//! drift. Prints a per-feature report and the model-level verdict.
//!
//! `cargo run --release --example drift_demo`

use drifttap::stats::chi2::{Continuity, chi2_contingency};
use drifttap::stats::correction::{Correction, correct};
use drifttap::stats::effect::{DEFAULT_PSI_BINS, QuantileBins, wasserstein_normed};
use drifttap::stats::ks::{KsOptions, SortedSample, ks_2samp};
use drifttap::stats::mmd::{MmdReference, Permutations, Rows, mmd_test};
use drifttap::stats::{Compute, StatsError, synth};

const ALPHA: f64 = 0.05;

struct Numeric {
    name: &'static str,
    loc: f64,
    scale: f64,
    /// Shift and scale of the current window relative to the reference.
    drift: (f64, f64),
}

fn main() -> Result<(), StatsError> {
    let compute = Compute::detect();
    let (n, m) = (20_000, 5_000);
    let numeric = [
        Numeric {
            name: "income",
            loc: 52_000.0,
            scale: 18_000.0,
            drift: (6_000.0, 1.0),
        },
        Numeric {
            name: "age",
            loc: 41.0,
            scale: 12.0,
            drift: (0.0, 1.0),
        },
        Numeric {
            name: "debt_ratio",
            loc: 0.31,
            scale: 0.12,
            drift: (0.0, 1.35),
        },
        Numeric {
            name: "credit_lines",
            loc: 6.0,
            scale: 2.5,
            drift: (0.0, 1.0),
        },
    ];
    println!(
        "drifttap statistics engine on {} ({} thread)\n",
        compute.backend, compute.threads
    );
    println!(
        "{:<14} {:<5} {:>10} {:>11} {:>8} {:>8}",
        "feature", "test", "statistic", "p-value", "W/std", "PSI"
    );

    let mut p_values = Vec::new();
    let mut names = Vec::new();
    let mut reference_rows = vec![0.0; n * numeric.len()];
    let mut current_rows = vec![0.0; m * numeric.len()];
    for (f, feature) in numeric.iter().enumerate() {
        let seed = 100 + f as u64;
        let reference = synth::normal(seed, n, feature.loc, feature.scale);
        let (shift, stretch) = feature.drift;
        let current = synth::normal(seed + 50, m, feature.loc + shift, feature.scale * stretch);
        for (r, v) in reference.iter().enumerate() {
            reference_rows[r * numeric.len() + f] = (v - feature.loc) / feature.scale;
        }
        for (r, v) in current.iter().enumerate() {
            current_rows[r * numeric.len() + f] = (v - feature.loc) / feature.scale;
        }
        let reference = SortedSample::new_with(reference, &compute)?;
        let ks = ks_2samp(&reference, &current, KsOptions::default(), &compute)?;
        let current = SortedSample::new_with(current, &compute)?;
        let bins = QuantileBins::new(&reference, DEFAULT_PSI_BINS)?;
        println!(
            "{:<14} {:<5} {:>10.4} {:>11.3e} {:>8.3} {:>8.4}",
            feature.name,
            "ks",
            ks.statistic,
            ks.p_value,
            wasserstein_normed(&reference, &current),
            bins.psi(&current)
        );
        p_values.push(ks.p_value);
        names.push(feature.name);
    }

    let weights = [0.55, 0.30, 0.15];
    let shifted = [0.45, 0.30, 0.25];
    let count = |draws: Vec<usize>| {
        let mut counts = vec![0u64; weights.len()];
        draws.into_iter().for_each(|k| counts[k] += 1);
        counts
    };
    let chi2 = chi2_contingency(
        &count(synth::categorical(7, n, &weights)),
        &count(synth::categorical(8, m, &shifted)),
        Continuity::Yates,
    )?;
    println!(
        "{:<14} {:<5} {:>10.2} {:>11.3e}",
        "home_owner", "chi2", chi2.statistic, chi2.p_value
    );
    p_values.push(chi2.p_value);
    names.push("home_owner");

    let corrected = correct(&p_values, ALPHA, Correction::Bonferroni)?;
    let drifting: Vec<&str> = names
        .iter()
        .zip(&corrected.drift)
        .filter(|(_, d)| **d)
        .map(|(n, _)| *n)
        .collect();
    println!(
        "\nBonferroni threshold {:.4}: drifting features {:?}",
        corrected.threshold, drifting
    );

    // MMD across the standardised numeric features, on a 2 000-row reference sample.
    let sample = 2_000 * numeric.len();
    let reference = MmdReference::new(reference_rows[..sample].to_vec(), numeric.len(), &compute)?;
    let mmd = mmd_test(
        &reference,
        Rows::new(&current_rows[..sample], numeric.len())?,
        Permutations::Random {
            count: 100,
            seed: 1,
        },
        ALPHA,
        &compute,
    )?;
    println!(
        "MMD² {:.5} (sigma {:.3}, threshold {:.5}), p-value {:.2}: {}",
        mmd.statistic,
        mmd.sigma,
        mmd.distance_threshold,
        mmd.p_value,
        if mmd.p_value < ALPHA {
            "model drift"
        } else {
            "no model drift"
        }
    );
    Ok(())
}
