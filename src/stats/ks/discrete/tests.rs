use super::*;
use crate::stats::Compute;
use crate::stats::ks::{KsMethod, KsOptions, ks_2samp_sorted};
use crate::stats::pinned::KS_CASES;
use crate::stats::synth;
use proptest::prelude::*;

fn sorted(values: Vec<f64>) -> SortedSample {
    SortedSample::new(values).expect("finite, non-empty")
}

fn prepared(values: Vec<f64>) -> DiscreteReference {
    DiscreteReference::new(&sorted(values))
}

/// `n` Bernoulli(`p`) draws of stream `seed`, as 0.0 and 1.0.
fn bernoulli(seed: u64, n: usize, p: f64) -> Vec<f64> {
    (0..n as u64)
        .map(|i| f64::from(u8::from(synth::uniform(seed, i) < p)))
        .collect()
}

/// `n` Poisson(`lambda`) draws of stream `seed`, by inversion.
fn poisson(seed: u64, n: usize, lambda: f64) -> Vec<f64> {
    let p0 = (-lambda).exp();
    (0..n as u64)
        .map(|i| {
            let u = synth::uniform(seed, i);
            let (mut k, mut p, mut cdf) = (0.0, p0, p0);
            while u >= cdf && k < 1000.0 {
                k += 1.0;
                p *= lambda / k;
                cdf += p;
            }
            k
        })
        .collect()
}

fn mc(seed: u64) -> MonteCarlo {
    MonteCarlo {
        seed,
        ..MonteCarlo::default()
    }
}

fn asymp() -> KsOptions {
    KsOptions {
        method: KsMethod::Asymp,
        ..KsOptions::default()
    }
}

/// A tied case pinned to scipy 1.17.1: `r = ks_2samp(reference, current)` gives
/// `r.statistic`, `r.statistic_location`, `r.statistic_sign`.
struct TiedPin {
    reference: Vec<f64>,
    current: Vec<f64>,
    statistic: f64,
    location: f64,
    sign: i8,
}

/// `count` copies of each `(value, count)`.
fn repeated(runs: &[(f64, usize)]) -> Vec<f64> {
    runs.iter()
        .flat_map(|&(v, count)| std::iter::repeat_n(v, count))
        .collect()
}

#[test]
fn statistic_is_pinned_to_scipy_on_tied_data() {
    let cases = [
        // ks_2samp([0,0,0,1,1,2,2,2,2,3,5], [1,1,2,3,3,3,4,4])
        TiedPin {
            reference: vec![0., 0., 0., 1., 1., 2., 2., 2., 2., 3., 5.],
            current: vec![1., 1., 2., 3., 3., 3., 4., 4.],
            statistic: 0.4431818181818182,
            location: 2.0,
            sign: 1,
        },
        // ks_2samp([0]*7 + [1]*3, [0]*4 + [1]*5)
        TiedPin {
            reference: repeated(&[(0.0, 7), (1.0, 3)]),
            current: repeated(&[(0.0, 4), (1.0, 5)]),
            statistic: 0.25555555555555554,
            location: 0.0,
            sign: 1,
        },
        // ks_2samp([1,2,2,3,3,3,4,4,4,4], [4,4,4,4,3,3,3,2,2,1])
        TiedPin {
            reference: vec![1., 2., 2., 3., 3., 3., 4., 4., 4., 4.],
            current: vec![4., 4., 4., 4., 3., 3., 3., 2., 2., 1.],
            statistic: 0.0,
            location: 1.0,
            sign: 1,
        },
        // ks_2samp([0.0]*30 + [1.0]*12, [7.0]*5): every current value unseen.
        TiedPin {
            reference: repeated(&[(0.0, 30), (1.0, 12)]),
            current: vec![7.0; 5],
            statistic: 1.0,
            location: 1.0,
            sign: 1,
        },
    ];
    for (i, case) in cases.into_iter().enumerate() {
        let r = ks_2samp_discrete(&prepared(case.reference), &sorted(case.current), &mc(1))
            .expect("valid");
        assert_eq!(
            (r.statistic, r.location, r.sign),
            (case.statistic, case.location, case.sign),
            "case {i}"
        );
    }
    // The pinned two-sided cases, heavy ties among them: scipy's exact branch (sizes up to
    // 10 000) reports h / lcm, which is what is computed here, to the bit; its asymptotic
    // branch subtracts two rounded ECDF values.
    let mut exact_cases = 0;
    for case in KS_CASES.iter().filter(|c| c.alternative == "two-sided") {
        let (reference, current) = (case.reference.sample(), case.current.sample());
        if reference.len() > 20_000 {
            continue; // the two largest pins; slow to sort in debug builds, no ties
        }
        let exact_branch = case.method != "asymp" && reference.len().max(current.len()) <= 10_000;
        // Only the statistic is compared: a few draws (the strongest pins would make all B).
        let few = MonteCarlo {
            max_draws: 9,
            ..MonteCarlo::default()
        };
        let r = ks_2samp_discrete(&prepared(reference), &sorted(current), &few).expect("valid");
        if exact_branch {
            assert_eq!(r.statistic, case.statistic, "{case:?}");
            exact_cases += 1;
        } else {
            let tol = 1e-14;
            assert!(
                (r.statistic - case.statistic).abs() <= tol,
                "{case:?}: {}",
                r.statistic
            );
        }
    }
    assert!(exact_cases >= 10, "{exact_cases}");
}

fn tied_sample() -> impl Strategy<Value = Vec<f64>> {
    (
        1usize..300,
        prop_oneof![Just(0.5), Just(1.0), Just(0.0)],
        -1.0f64..1.0,
    )
        .prop_flat_map(|(len, step, shift)| {
            proptest::collection::vec(-3.0f64..3.0, len).prop_map(move |xs| {
                xs.into_iter()
                    .map(|x| {
                        if step > 0.0 {
                            ((x + shift) / step).floor() * step
                        } else {
                            x
                        }
                    })
                    .collect()
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// The statistic, its location and its sign are those of the continuous test on the same
    /// data; the p-value is a valid probability.
    #[test]
    fn statistic_equals_the_continuous_tests(a in tied_sample(), b in tied_sample()) {
        let (a, b) = (sorted(a), sorted(b));
        let continuous = ks_2samp_sorted(&a, &b, asymp(), &Compute::scalar());
        let mc = MonteCarlo { max_draws: 99, ..MonteCarlo::default() };
        let r = ks_2samp_discrete(&DiscreteReference::new(&a), &b, &mc).expect("valid");
        prop_assert_eq!(r.statistic, continuous.statistic);
        prop_assert_eq!(r.location, continuous.location);
        prop_assert_eq!(r.sign, continuous.sign);
        prop_assert!(r.p_value > 0.0 && r.p_value <= 1.0);
        prop_assert_eq!(r.n_reference, a.len() as u64);
    }
}

/// Rejection rates at 0.05 over `reps` null replications of `generate(seed, size)` with the
/// Monte-Carlo p-value and the continuous one (scipy's `auto`).
fn null_rates(
    reps: u64,
    n: usize,
    m: usize,
    generate: impl Fn(u64, usize) -> Vec<f64>,
) -> (f64, f64) {
    let (mut monte_carlo, mut continuous) = (0, 0);
    for rep in 0..reps {
        let reference = sorted(generate(2 * rep + 1_000, n));
        let current = sorted(generate(2 * rep + 1_001, m));
        let r = ks_2samp_discrete(&DiscreteReference::new(&reference), &current, &mc(rep))
            .expect("valid");
        monte_carlo += u32::from(r.p_value <= 0.05);
        let old = ks_2samp_sorted(&reference, &current, asymp(), &Compute::detect());
        continuous += u32::from(old.p_value <= 0.05);
    }
    (
        f64::from(monte_carlo) / reps as f64,
        f64::from(continuous) / reps as f64,
    )
}

#[test]
fn calibrated_under_the_null_for_a_binary_feature() {
    // 2 000 replications, n = 5 000, m = 1 000, p = 0.3. The attainable levels of the
    // conditional test are a little below 0.05 (D takes few values), hence ~0.045.
    let (monte_carlo, continuous) = null_rates(2_000, 5_000, 1_000, |s, n| bernoulli(s, n, 0.3));
    assert!((0.03..=0.065).contains(&monte_carlo), "{monte_carlo}");
    assert!(continuous < 0.015, "{continuous}");
}

#[test]
fn calibrated_under_the_null_for_a_poisson_feature() {
    let (monte_carlo, continuous) = null_rates(2_000, 5_000, 1_000, |s, n| poisson(s, n, 3.0));
    assert!((0.03..=0.065).contains(&monte_carlo), "{monte_carlo}");
    assert!(continuous < 0.02, "{continuous}");
}

#[test]
fn detects_a_tenth_of_a_standard_deviation_in_a_poisson_feature() {
    // Poisson(3) against Poisson(3 + 0.1·√3), 1 000 rows each, 500 replications.
    let shifted = 3.0 + 0.1 * 3f64.sqrt();
    let reps = 500;
    let (mut monte_carlo, mut continuous) = (0, 0);
    for rep in 0..reps {
        let reference = sorted(poisson(2 * rep + 5_000, 1_000, 3.0));
        let current = sorted(poisson(2 * rep + 5_001, 1_000, shifted));
        let r = ks_2samp_discrete(&DiscreteReference::new(&reference), &current, &mc(rep))
            .expect("valid");
        monte_carlo += u32::from(r.p_value <= 0.05);
        let old = ks_2samp_sorted(
            &reference,
            &current,
            KsOptions::default(),
            &Compute::detect(),
        );
        continuous += u32::from(old.p_value <= 0.05);
    }
    let (power, old_power) = (
        f64::from(monte_carlo) / reps as f64,
        f64::from(continuous) / reps as f64,
    );
    assert!(
        power >= 0.3,
        "power {power} (continuous p-value: {old_power})"
    );
    assert!(power > old_power + 0.1, "power {power} vs {old_power}");
}

#[test]
fn agrees_with_the_exact_p_value_on_continuous_data() {
    // No ties: the permutation distribution of D is the exact null distribution, so the
    // Monte-Carlo p-value estimates scipy's exact one. With h = 400 exceedances its relative
    // standard error is about 1/√h = 5 %.
    let mc = MonteCarlo {
        max_draws: 100_000,
        exceedances: 400,
        seed: 9,
    };
    for (seed, shift) in [(1u64, 0.0), (3, 0.15), (5, 0.25)] {
        let reference = sorted(synth::normal(seed, 400, 0.0, 1.0));
        let current = sorted(synth::normal(seed + 1, 300, shift, 1.0));
        let exact = ks_2samp_sorted(
            &reference,
            &current,
            KsOptions::default(),
            &Compute::scalar(),
        );
        let r =
            ks_2samp_discrete(&DiscreteReference::new(&reference), &current, &mc).expect("valid");
        assert_eq!(r.distinct_values, 700);
        let tolerance = 4.0 * exact.p_value / 20.0 + 1e-4;
        assert!(
            (r.p_value - exact.p_value).abs() <= tolerance,
            "shift {shift}: Monte-Carlo {} ({} draws) vs exact {}",
            r.p_value,
            r.draws,
            exact.p_value
        );
    }
}

#[test]
fn equals_the_exact_conditional_p_value_of_a_binary_feature() {
    // Two cells: the drawn side's count x in cell 0 is HG(N, P0, k), D·n·m = |x·N − P0·k|,
    // so the exact p-value is a sum over x. h = 1 000 exceedances: ~3 % relative error.
    use statrs::distribution::{Discrete, Hypergeometric};
    let mc = MonteCarlo {
        max_draws: 1_000_000,
        exceedances: 1_000,
        seed: 3,
    };
    for (ones_reference, ones_current) in [(20u64, 14u64), (20, 20), (30, 8), (12, 25)] {
        let (n, m) = (60u64, 40u64);
        let values = |ones: u64, len: u64| -> Vec<f64> {
            (0..len).map(|i| if i < ones { 1.0 } else { 0.0 }).collect()
        };
        let reference = prepared(values(ones_reference, n));
        let current = sorted(values(ones_current, m));
        let r = ks_2samp_discrete(&reference, &current, &mc).expect("valid");
        let total = n + m;
        let zeros = (n - ones_reference) + (m - ones_current);
        let observed = (m - ones_current) as i64 * total as i64 - (zeros * m) as i64;
        let dist = Hypergeometric::new(total, zeros, m).expect("valid");
        let exact: f64 = (0..=m.min(zeros))
            .filter(|&x| (x as i64 * total as i64 - (zeros * m) as i64).abs() >= observed.abs())
            .map(|x| dist.pmf(x))
            .sum();
        let tolerance = 4.0 * exact / 1_000f64.sqrt() + 1e-5;
        assert!(
            (r.p_value - exact).abs() <= tolerance,
            "{ones_reference}/{n} vs {ones_current}/{m}: Monte-Carlo {} vs exact {exact}",
            r.p_value
        );
    }
}

#[test]
fn one_value_on_both_sides_is_no_evidence() {
    let r =
        ks_2samp_discrete(&prepared(vec![2.0; 50]), &sorted(vec![2.0; 7]), &mc(1)).expect("valid");
    assert_eq!((r.statistic, r.p_value, r.draws), (0.0, 1.0, 0));
    assert_eq!(r.distinct_values, 1);
}

#[test]
fn unseen_values_get_cells_of_their_own() {
    // Every current value above the reference's: D = 1, and no permutation reaches it.
    let reference = prepared(bernoulli(1, 50, 0.4));
    let r = ks_2samp_discrete(&reference, &sorted(vec![7.0; 20]), &mc(1)).expect("valid");
    assert_eq!(r.statistic, 1.0);
    assert_eq!((r.p_value, r.draws), (1.0 / 10_000.0, 9_999));
    assert_eq!(r.distinct_values, 3);
    // Unseen values between the reference's count too.
    let r = ks_2samp_discrete(&reference, &sorted(vec![0.5; 20]), &mc(1)).expect("valid");
    assert_eq!(r.distinct_values, 3);
    assert!(r.p_value < 0.001, "{}", r.p_value);
}

#[test]
fn a_window_of_one_row_gets_a_valid_p_value() {
    // m = 1: D is the reference ECDF's distance from a single step; under the null the
    // p-value is still valid (its rejection rate at 0.05 stays at or under 0.05).
    let reps = 400;
    let mut rejections = 0;
    for rep in 0..reps {
        let reference = prepared(poisson(rep, 200, 3.0));
        let current = sorted(poisson(10_000 + rep, 1, 3.0));
        let r = ks_2samp_discrete(&reference, &current, &mc(rep)).expect("valid");
        assert!(r.p_value > 0.0 && r.p_value <= 1.0);
        assert_eq!(r.n_current, 1);
        rejections += u32::from(r.p_value <= 0.05);
    }
    assert!(
        f64::from(rejections) / f64::from(reps as u32) <= 0.065,
        "{rejections}"
    );
}

#[test]
fn results_are_reproducible_from_the_seed() {
    let reference = prepared(poisson(1, 3_000, 3.0));
    let current = sorted(poisson(2, 500, 3.1));
    let a = ks_2samp_discrete(&reference, &current, &mc(42)).expect("valid");
    let b = ks_2samp_discrete(&reference, &current, &mc(42)).expect("valid");
    assert_eq!(a, b);
    let c = ks_2samp_discrete(&reference, &current, &mc(43)).expect("valid");
    assert_eq!(a.statistic, c.statistic);
    assert_ne!((a.p_value, a.draws), (c.p_value, c.draws));
}

#[test]
fn invalid_settings_are_refused() {
    let reference = prepared(vec![0.0, 1.0, 1.0]);
    let err = ks_2samp_discrete(
        &reference,
        &sorted(vec![1.0]),
        &MonteCarlo {
            max_draws: 0,
            ..MonteCarlo::default()
        },
    )
    .expect_err("refused");
    assert_eq!(
        err.to_string(),
        "invalid max_draws: a Monte-Carlo p-value needs at least one draw"
    );
}

#[test]
fn references_are_prepared_as_distinct_values_with_counts() {
    let r = prepared(vec![3.0, -0.0, 1.0, 0.0, 3.0, 3.0]);
    assert_eq!(r.values(), &[0.0, 1.0, 3.0]);
    assert_eq!(r.counts(), &[2, 1, 3]);
    assert_eq!(r.rows(), 6);
    assert_eq!(
        DiscreteReference::from_counts(vec![0.0, 1.0, 3.0], vec![2, 1, 3]),
        Ok(r)
    );
    let refused = [
        DiscreteReference::from_counts(vec![], vec![]),
        DiscreteReference::from_counts(vec![0.0], vec![1, 2]),
        DiscreteReference::from_counts(vec![0.0, f64::NAN], vec![1, 2]),
        DiscreteReference::from_counts(vec![1.0, 0.0], vec![1, 2]),
        DiscreteReference::from_counts(vec![1.0, 1.0], vec![1, 2]),
        DiscreteReference::from_counts(vec![0.0, 1.0], vec![1, 0]),
        DiscreteReference::from_counts(vec![0.0, 1.0], vec![u64::MAX, 1]),
    ];
    let messages: Vec<String> = refused
        .into_iter()
        .map(|r| r.expect_err("refused").to_string())
        .collect();
    assert_eq!(
        messages,
        [
            "reference sample is empty",
            "reference sample has 2 features per row, expected 1",
            "reference sample has a non-finite value (NaN) at index 1",
            "reference sample is not sorted in ascending order at index 1",
            "invalid values: value 1 at index 1 repeats the previous one",
            "invalid counts: value 1 at index 1 has a count of 0",
            "invalid counts: the reference's row count exceeds 2^64",
        ]
    );
    // A reference that claims nearly 2^64 rows cannot be pooled with a window.
    let huge =
        DiscreteReference::from_counts(vec![0.0, 1.0], vec![u64::MAX - 1, 1]).expect("valid");
    assert!(ks_2samp_discrete(&huge, &sorted(vec![0.0]), &mc(1)).is_err());
}

#[test]
fn heavy_ties_are_decided_from_the_reference_alone() {
    assert!(has_heavy_ties(&sorted(bernoulli(1, 5_000, 0.3))));
    assert!(has_heavy_ties(&sorted(poisson(1, 5_000, 3.0))));
    assert!(!has_heavy_ties(&sorted(synth::normal(1, 1_000, 0.0, 1.0))));
    // Rounded to 0.1 over ±6 sd: about 100 distinct values, many rows each.
    assert!(has_heavy_ties(&sorted(synth::quantized_normal(
        1, 10_000, 0.0, 1.0, 0.1
    ))));
    // Rounded to 0.01: several hundred distinct values, left to the continuous p-value.
    assert!(!has_heavy_ties(&sorted(synth::quantized_normal(
        1, 10_000, 0.0, 1.0, 0.01
    ))));
    // The limits: 128 distinct values twice each, 129, and too few rows per value.
    let twice: Vec<f64> = (0..256).map(|i| f64::from(i / 2)).collect();
    assert!(has_heavy_ties(&sorted(twice)));
    let over: Vec<f64> = (0..258).map(|i| f64::from(i / 2)).collect();
    assert!(!has_heavy_ties(&sorted(over)));
    assert!(!has_heavy_ties(&sorted(vec![1.0, 1.0, 2.0])));
    assert!(!has_heavy_ties(&sorted(vec![5.0])));
    assert!(has_heavy_ties(&sorted(vec![5.0, 5.0])));
    // The prepared form decides alike.
    for values in [
        bernoulli(2, 300, 0.5),
        synth::normal(2, 300, 0.0, 1.0),
        vec![1.0, 1.0, 2.0],
    ] {
        let s = sorted(values);
        assert_eq!(
            DiscreteReference::new(&s).has_heavy_ties(),
            has_heavy_ties(&s)
        );
    }
}

/// Milliseconds per call under the null, n = 100 000 and m = 5 000, in the build at hand:
/// `cargo test --release --lib ks::discrete::tests::timings -- --ignored --nocapture`.
#[test]
#[ignore = "timing report, no assertion"]
fn timings() {
    type Generator = fn(u64, usize) -> Vec<f64>;
    let shapes: [(&str, Generator); 4] = [
        ("binary", |s, n| bernoulli(s, n, 0.3)),
        ("Poisson(3)", |s, n| poisson(s, n, 3.0)),
        ("128 values", |s, n| {
            (0..n as u64)
                .map(|i| (synth::uniform(s, i) * 128.0).floor())
                .collect()
        }),
        ("1 000 values", |s, n| {
            (0..n as u64)
                .map(|i| (synth::uniform(s, i) * 1000.0).floor())
                .collect()
        }),
    ];
    for (name, generate) in shapes {
        let reference = DiscreteReference::new(&sorted(generate(1, 100_000)));
        let calls = 100;
        let (mut total, mut draws) = (std::time::Duration::ZERO, 0);
        for rep in 0..calls {
            let current = sorted(generate(rep + 2, 5_000));
            let start = std::time::Instant::now();
            let r = ks_2samp_discrete(&reference, &current, &mc(rep)).expect("valid");
            total += start.elapsed();
            draws += r.draws;
        }
        println!(
            "{name:>12}: {:.3} ms per call, {:.0} draws on average",
            total.as_secs_f64() * 1e3 / calls as f64,
            draws as f64 / calls as f64
        );
    }
}
