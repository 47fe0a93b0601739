//! The CI subset of the calibration suite (`benches/calibration/`): small, seeded plans of the
//! same simulation, so what the README claims about false alarms and power is checked on
//! every change. Deterministic for a given backend: every window, baseline and permutation
//! comes from a fixed seed, and replications are collected in order whatever the threads.
//!
//! Tests marked `needs the one-family decision` state what the product must meet once every
//! test (per feature, MMD, missing shares) forms one family at `p_val`, the MMD reference is
//! drawn afresh, and tied data get discrete p-values; today's code does not meet them yet.

#[path = "../../benches/calibration/sim/mod.rs"]
#[allow(dead_code, reason = "the CI subset runs part of the simulation")]
mod sim;

use drifttap::evaluate::Options;
use sim::family::{self, Agreement, Table};
use sim::generate::{FeatureType, TableSpec, poisson};
use sim::interval::{Proportion, poisson as poisson_interval};
use sim::replicate::Progress;
use sim::{fleet, hysteresis, power, spread};

/// The machines CI runs on are shared: two threads, each evaluation on one.
const THREADS: usize = 2;
/// Smaller than the full run's 20 000 so baselines build fast; the rates do not depend on it
/// beyond its noise.
const TRAINING_ROWS: usize = 10_000;
const SEED: u64 = 20;

/// Null windows of one table at 0.05.
fn null_plan(table: Table, features: usize, replications: usize, options: Options) -> family::Plan {
    family::Plan {
        tables: vec![table],
        features: vec![features],
        windows: vec![1_000],
        alphas: vec![0.05],
        replications,
        baselines: 4,
        training_rows: TRAINING_ROWS,
        options,
        seed: SEED,
    }
}

fn one_cell(plan: &family::Plan) -> family::Cell {
    let cells = family::run(plan, THREADS, &Progress::silent());
    assert_eq!(cells.len(), 1);
    cells.into_iter().next().expect("one cell")
}

fn assert_consistent(cell: &family::Cell) {
    // Shown with --nocapture, so a passing run says how much margin it had.
    eprintln!(
        "{} × {} at {}: {} of {}, 95 % CI [{:.4}, {:.4}]",
        cell.table,
        cell.features,
        cell.alpha,
        cell.family.successes,
        cell.family.trials,
        cell.interval.low,
        cell.interval.high
    );
    assert!(
        cell.agreement.consistent(),
        "{} × {} at {}: family rate {:.4} ({} of {}), 95 % CI [{:.4}, {:.4}] against the target \
         {:?} (feature tests {:.4}, MMD {:.4})",
        cell.table,
        cell.features,
        cell.alpha,
        cell.family.rate(),
        cell.family.successes,
        cell.family.trials,
        cell.interval.low,
        cell.interval.high,
        cell.target,
        cell.any_feature.rate(),
        cell.mmd.rate(),
    );
}

#[test]
fn intervals_match_the_published_values() {
    // R: binom.test(5, 100)$conf.int → 0.01643187 0.11283491.
    let p = Proportion {
        successes: 5,
        trials: 100,
    };
    let exact = p.clopper_pearson();
    assert!((exact.low - 0.016_431_87).abs() < 1e-7, "{exact:?}");
    assert!((exact.high - 0.112_834_91).abs() < 1e-7, "{exact:?}");
    // Wilson's closed form: (p + z²/2n ± z·√(p(1−p)/n + z²/4n²)) / (1 + z²/n).
    let wilson = p.wilson();
    assert!(
        (wilson.low - 0.021_544).abs() < 1e-5 && (wilson.high - 0.111_750).abs() < 1e-5,
        "{wilson:?}"
    );
    // R: poisson.test(10)$conf.int → 4.795389 18.390356; poisson.test(0) → 0 3.688879.
    let ten = poisson_interval(10);
    assert!(
        (ten.low - 4.795_389).abs() < 1e-5 && (ten.high - 18.390_356).abs() < 1e-5,
        "{ten:?}"
    );
    let none = poisson_interval(0);
    assert!(
        none.low == 0.0 && (none.high - 3.688_879).abs() < 1e-5,
        "{none:?}"
    );
    let all = Proportion {
        successes: 10,
        trials: 10,
    }
    .clopper_pearson();
    assert!(
        all.high == 1.0 && (all.low - 0.025f64.powf(0.1)).abs() < 1e-9,
        "{all:?}"
    );
}

#[test]
fn the_samplers_have_the_moments_the_tables_claim() {
    let rows = 40_000u64;
    let moments = |ty: FeatureType| {
        let frame = TableSpec::uniform(ty, 1).frame(3, 0..rows);
        let drifttap::data::Values::Numeric(v) = &frame.columns()[0].values else {
            panic!("{} is numeric", ty.as_str())
        };
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
        (mean, var.sqrt())
    };
    for (ty, mean) in [
        (FeatureType::Normal, 0.0),
        (FeatureType::Binary, 0.3),
        (FeatureType::Poisson, 3.0),
        (FeatureType::Skewed, 0.5f64.exp()),
    ] {
        let (m, sd) = moments(ty);
        // Four standard errors.
        assert!(
            (m - mean).abs() < 4.0 * ty.sd() / (rows as f64).sqrt(),
            "{}: mean {m}",
            ty.as_str()
        );
        let tolerance = if ty == FeatureType::Skewed { 0.1 } else { 0.02 };
        assert!(
            (sd / ty.sd() - 1.0).abs() < tolerance,
            "{}: sd {sd}",
            ty.as_str()
        );
    }
    // The t with 3 dof has no fourth moment, so its sd converges slowly: check its median
    // and quartile instead (0.7649 for t₃).
    let frame = TableSpec::uniform(FeatureType::HeavyTailed, 1).frame(3, 0..rows);
    let drifttap::data::Values::Numeric(mut v) = frame.into_columns().remove(0).values else {
        panic!("numeric")
    };
    v.sort_by(f64::total_cmp);
    let (median, upper) = (v[v.len() / 2], v[3 * v.len() / 4]);
    assert!(
        median.abs() < 0.03 && (upper - 0.7649).abs() < 0.03,
        "t₃ median {median}, Q3 {upper}"
    );
    // Inversion of the Poisson distribution function at its steps.
    assert_eq!(poisson(0.0, 3.0), 0.0);
    assert_eq!(poisson(0.04978, 3.0), 0.0);
    assert_eq!(poisson(0.04979, 3.0), 1.0);
    assert_eq!(poisson(0.999_999_999, 3.0), 18.0);
    // The same rows of a stream are the same values, wherever a window starts.
    let spec = TableSpec::mixed(7, 0.05);
    let whole = spec.frame(9, 0..300);
    let tail = spec.frame(9, 100..300);
    for (a, b) in whole.columns().iter().zip(tail.columns()) {
        match (&a.values, &b.values) {
            (drifttap::data::Values::Numeric(a), drifttap::data::Values::Numeric(b)) => {
                assert!(
                    a[100..]
                        .iter()
                        .zip(b)
                        .all(|(x, y)| x.to_bits() == y.to_bits())
                )
            }
            (
                drifttap::data::Values::Categorical { codes: a, .. },
                drifttap::data::Values::Categorical { codes: b, .. },
            ) => assert_eq!(&a[100..], &b[..]),
            _ => panic!("the same kinds"),
        }
    }
}

#[test]
fn the_feature_tests_alone_hold_the_family_rate_on_a_mixed_table() {
    // KS and χ² without the MMD: Bonferroni over the features keeps the family rate.
    let options = Options {
        mmd: false,
        ..Options::default()
    };
    let cell = one_cell(&null_plan(Table::Mixed, 7, 600, options));
    assert_consistent(&cell);
}

#[test]
fn a_half_sd_shift_in_one_of_ten_features_is_detected() {
    let reference = TableSpec::uniform(FeatureType::Normal, 10);
    let plan = power::Plan {
        scenarios: vec![power::Scenario {
            reference_name: "10 normal".into(),
            change: "f00 mean +0.5 sd".into(),
            current: reference.clone().shifted(0, 0.5),
            reference,
            window_rows: 1_000,
            watched: Some(0),
        }],
        replications: 100,
        baselines: 4,
        training_rows: TRAINING_ROWS,
        alpha: 0.05,
        seed: SEED,
    };
    let cell = &power::run(&plan, THREADS, &Progress::silent())[0];
    eprintln!(
        "power {} of {}, feature test {} of {}",
        cell.family.successes, cell.family.trials, cell.feature.successes, cell.feature.trials
    );
    assert!(
        cell.family_interval.low >= 0.9 && cell.feature_interval.low >= 0.9,
        "power {:.3} (feature test {:.3}), 95 % CI from {:.3}",
        cell.family.rate(),
        cell.feature.rate(),
        cell.family_interval.low
    );
}

#[test]
fn the_family_rate_of_a_mixed_table_holds_its_level() {
    // Every test of an evaluation, the MMD test included, in one family at p_val.
    let cell = one_cell(&null_plan(Table::Mixed, 7, 400, Options::default()));
    assert_consistent(&cell);
    let missing = one_cell(&null_plan(Table::MixedMissing, 10, 400, Options::default()));
    assert_consistent(&missing);
}

#[test]
fn tied_numeric_features_are_not_conservative() {
    // KS p-values that account for ties: binary and Poisson features alone reach the target
    // range instead of staying far below it.
    let options = Options {
        mmd: false,
        ..Options::default()
    };
    for ty in [FeatureType::Binary, FeatureType::Poisson] {
        let cell = one_cell(&null_plan(Table::Uniform(ty), 10, 600, options.clone()));
        assert_consistent(&cell);
        assert_ne!(cell.agreement, Agreement::Conservative);
    }
}

#[test]
fn the_mmd_level_varies_little_across_baselines() {
    // A fresh reference subsample per evaluation: no baseline is stuck with a level far
    // from α.
    let plan = spread::Plan {
        label: "5 normal".into(),
        spec: TableSpec::uniform(FeatureType::Normal, 5),
        window_rows: 1_000,
        baselines: 10,
        windows: 200,
        training_rows: TRAINING_ROWS,
        alpha: 0.05,
        seed: SEED,
    };
    let result = spread::run(&plan, THREADS, &Progress::silent());
    assert!(
        result.excess_sd <= spread::TARGET_EXCESS_SD && result.max <= spread::HIGH_LEVEL,
        "excess sd {:.4} (sd {:.4}, floor {:.4}); rates {:?}",
        result.excess_sd,
        result.sd,
        result.floor,
        result.rates
    );
}

#[test]
fn a_jump_in_one_features_missing_share_is_detected() {
    // The missing-share test, part of the family: 5 % → 20 % missing in one feature of
    // twenty, its values unchanged.
    let reference = TableSpec::uniform(FeatureType::Normal, 20).missing(0, 0.05);
    let plan = power::Plan {
        scenarios: vec![power::Scenario {
            reference_name: "20 normal, f00 5 % missing".into(),
            change: "f00 missing 5 % → 20 %".into(),
            current: reference.clone().missing(0, 0.20),
            reference,
            window_rows: 1_000,
            watched: None,
        }],
        replications: 100,
        baselines: 4,
        training_rows: TRAINING_ROWS,
        alpha: 0.05,
        seed: SEED,
    };
    let cell = &power::run(&plan, THREADS, &Progress::silent())[0];
    assert!(
        cell.family_interval.low >= 0.9,
        "power {:.3}, 95 % CI from {:.3}",
        cell.family.rate(),
        cell.family_interval.low
    );
}

#[test]
fn the_fleet_simulation_follows_the_latch() {
    // Every outcome drifts: on at the third counted evaluation (every 10 ticks from 5), for good.
    let (spans, n) = fleet::verdict_spans(1.0, 3, 10, 5, 1_000, 1);
    assert_eq!((spans, n), (vec![(25, 1_000)], 1));
    // None does: never on.
    assert_eq!(
        fleet::verdict_spans(0.0, 3, 10, 5, 1_000, 1),
        (Vec::new(), 0)
    );
    // At an even rate, turn-ons match independent evaluations' 1/(E_k(p) + E_k(1 − p)), and
    // the skips over clean runs lose none.
    for rate in [0.5, 0.2] {
        let (spans, n) = fleet::verdict_spans(rate, 2, 1, 0, 2_000_000, 7);
        let expected = 2_000_000.0 * hysteresis::independent(rate, 2).0;
        assert!(
            (n as f64 - expected).abs() < 5.0 * expected.sqrt(),
            "{rate}: {n} vs {expected}"
        );
        assert!(spans.windows(2).all(|w| w[0].1 < w[1].0));
    }
}
