use super::*;
use crate::stats::Backend;
use crate::stats::pinned::MMD_CASES;
use crate::stats::synth;
use crate::stats::tolerance::MMD_REL;

/// `data` as rows of the reference's dimension.
fn cur<'a>(data: &'a [f64], reference: &MmdReference) -> Rows<'a> {
    Rows::new(data, reference.dim()).expect("valid rows")
}

/// The definition, computed the obvious way: every kernel value from `(a − b)²` and `exp`.
fn direct_mmd2(x: &[f64], y: &[f64], dim: usize, sigma: f64, current_group: Option<&[u32]>) -> f64 {
    let pooled: Vec<&[f64]> = x.chunks_exact(dim).chain(y.chunks_exact(dim)).collect();
    let (n, m) = (x.len() / dim, y.len() / dim);
    let mut in_current = vec![false; n + m];
    match current_group {
        Some(set) => set.iter().for_each(|&i| in_current[i as usize] = true),
        None => in_current[n..].iter_mut().for_each(|v| *v = true),
    }
    let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
    for i in 0..n + m {
        for j in 0..n + m {
            if i == j {
                continue;
            }
            let d2: f64 = pooled[i]
                .iter()
                .zip(pooled[j])
                .map(|(a, b)| (a - b) * (a - b))
                .sum();
            let k = (-d2 / (2.0 * sigma * sigma)).exp();
            match (in_current[i], in_current[j]) {
                (false, false) => sxx += k,
                (true, true) => syy += k,
                (false, true) => sxy += k,
                (true, false) => {}
            }
        }
    }
    let (nf, mf) = (n as f64, m as f64);
    sxx / (nf * (nf - 1.0)) + syy / (mf * (mf - 1.0)) - 2.0 * sxy / (nf * mf)
}

fn direct_median_sigma(x: &[f64], dim: usize) -> f64 {
    let rows: Vec<&[f64]> = x.chunks_exact(dim).collect();
    let mut d: Vec<f64> = Vec::new();
    for i in 0..rows.len() {
        for j in i + 1..rows.len() {
            d.push(
                rows[i]
                    .iter()
                    .zip(rows[j])
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum(),
            );
        }
    }
    d.sort_unstable_by(f64::total_cmp);
    (0.5 * d[(d.len() - 1) / 2]).sqrt()
}

/// `count` distinct m-subsets of `0..total`: `start + k·step (mod total)` with `step` coprime
/// to `total`, so the indices never repeat.
fn strided_subsets(total: usize, m: usize, count: usize) -> Vec<Vec<u32>> {
    let gcd = |mut a: usize, mut b: usize| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    let step = (total / 2 + 1..)
        .find(|s| gcd(*s, total) == 1)
        .expect("a coprime step exists");
    (0..count)
        .map(|p| {
            (0..m)
                .map(|k| ((p * 5 + k * step) % total) as u32)
                .collect()
        })
        .collect()
}

#[test]
fn pinned_to_alibi_detect_with_its_permutations() {
    assert!(!MMD_CASES.is_empty());
    for backend in Backend::available() {
        let compute = Compute {
            backend,
            ..Compute::scalar()
        };
        for case in MMD_CASES {
            let x = case.reference.sample();
            let y = case.current.sample();
            let reference = MmdReference::new(x, case.reference.cols, &compute).expect("valid");
            let what = format!("{backend}: {:?} vs {:?}", case.reference, case.current);
            assert!(
                (reference.sigma() - case.sigma).abs() <= 1e-7 * case.sigma,
                "{what}: sigma {} vs {}",
                reference.sigma(),
                case.sigma
            );
            let r = mmd_test(
                &reference,
                cur(&y, &reference),
                Permutations::Given(case.permutations),
                case.p_val,
                &compute,
            )
            .expect("valid");
            assert!(
                (r.statistic - case.mmd2).abs() <= 1e-7 * case.mmd2.abs(),
                "{what}: mmd2 {:e} vs {:e}",
                r.statistic,
                case.mmd2
            );
            // alibi averages the comparisons in float32 (`.float().mean()`), hence the cast.
            assert_eq!(r.p_value as f32, case.p_value as f32, "{what}");
            assert!(
                (r.distance_threshold - case.distance_threshold).abs()
                    <= 1e-6 * case.distance_threshold.abs(),
                "{what}: threshold {:e} vs {:e} (alibi rounds permuted statistics to f32)",
                r.distance_threshold,
                case.distance_threshold
            );
        }
    }
}

#[test]
fn tiled_pass_equals_the_definition() {
    // Sizes straddle tile boundaries (TILE = 96) and leave padding rows.
    for (n, m, dim, seed) in [
        (7, 5, 3, 1u64),
        (95, 2, 2, 2),
        (100, 97, 5, 3),
        (150, 60, 1, 4),
    ] {
        let x = synth::normal_matrix(seed, n, dim, &[], 1.0);
        let y = synth::normal_matrix(seed + 100, m, dim, &[0.3], 1.2);
        let reference = MmdReference::new(x.clone(), dim, &Compute::scalar()).expect("valid");
        assert!(
            (reference.sigma() - direct_median_sigma(&x, dim)).abs() <= 1e-12 * reference.sigma()
        );
        let perms = strided_subsets(n + m, m, 4);
        let perms: Vec<&[u32]> = perms.iter().map(|p| p.as_slice()).collect();
        for backend in Backend::available() {
            for threads in [1, 3] {
                let compute = Compute {
                    backend,
                    ..Compute::scalar()
                }
                .with_threads(threads);
                let r = mmd_test(
                    &reference,
                    cur(&y, &reference),
                    Permutations::Given(&perms),
                    0.05,
                    &compute,
                )
                .expect("valid");
                let expected = direct_mmd2(&x, &y, dim, reference.sigma(), None);
                assert!(
                    (r.statistic - expected).abs() <= MMD_REL,
                    "n={n} m={m} {backend}×{threads}: {:e} vs {:e}",
                    r.statistic,
                    expected
                );
                let mut at_least = 0;
                for set in &perms {
                    if direct_mmd2(&x, &y, dim, reference.sigma(), Some(set)) >= expected {
                        at_least += 1;
                    }
                }
                assert_eq!(r.p_value, at_least as f64 / perms.len() as f64);
            }
        }
    }
}

#[test]
fn simd_backends_agree_with_scalar_on_random_permutations() {
    let (n, m, dim) = (300, 200, 8);
    let x = synth::normal_matrix(21, n, dim, &[], 1.0);
    let y = synth::normal_matrix(22, m, dim, &[0.1, 0.0, -0.1], 1.0);
    let scalar = Compute::scalar();
    let reference = MmdReference::new(x, dim, &scalar).expect("valid");
    let perms = Permutations::Random { count: 50, seed: 9 };
    let oracle = mmd_test(&reference, cur(&y, &reference), perms, 0.05, &scalar).expect("valid");
    for backend in Backend::available() {
        let compute = Compute { backend, ..scalar }.with_threads(2);
        let r = mmd_test(&reference, cur(&y, &reference), perms, 0.05, &compute).expect("valid");
        assert!(
            (r.statistic - oracle.statistic).abs() <= MMD_REL,
            "{backend}"
        );
        assert_eq!(r.p_value, oracle.p_value, "{backend}");
        assert!(
            (r.distance_threshold - oracle.distance_threshold).abs() <= MMD_REL,
            "{backend}"
        );
    }
}

#[test]
fn drift_is_detected_and_no_drift_is_not() {
    let compute = Compute::detect();
    let dim = 4;
    let reference = MmdReference::new(synth::normal_matrix(31, 400, dim, &[], 1.0), dim, &compute)
        .expect("valid");
    let same = synth::normal_matrix(32, 300, dim, &[], 1.0);
    let shifted = synth::normal_matrix(33, 300, dim, &[0.5, 0.5], 1.0);
    let perms = Permutations::Random {
        count: 100,
        seed: 1,
    };
    let r = mmd_test(&reference, cur(&same, &reference), perms, 0.05, &compute).expect("valid");
    assert!(r.p_value > 0.05, "{r:?}");
    let r = mmd_test(&reference, cur(&shifted, &reference), perms, 0.05, &compute).expect("valid");
    assert_eq!(r.p_value, 0.0, "{r:?}");
    assert!(r.statistic > r.distance_threshold);
}

#[test]
fn random_permutations_are_reproducible_and_seeded() {
    let compute = Compute::detect();
    let reference =
        MmdReference::new(synth::normal_matrix(41, 60, 2, &[], 1.0), 2, &compute).expect("valid");
    let y = synth::normal_matrix(42, 40, 2, &[0.2], 1.0);
    let run = |seed| {
        mmd_test(
            &reference,
            cur(&y, &reference),
            Permutations::Random { count: 200, seed },
            0.05,
            &compute,
        )
        .expect("valid")
    };
    assert_eq!(run(5), run(5));
    assert_ne!(run(5).distance_threshold, run(6).distance_threshold);
}

#[test]
fn bad_inputs_are_typed_errors() {
    let compute = Compute::scalar();
    assert_eq!(
        MmdReference::new(vec![1.0, 2.0, 1.0, 2.0], 2, &compute),
        Err(StatsError::ZeroVariance {
            input: Input::Reference
        })
    );
    assert_eq!(
        MmdReference::new(vec![1.0, 2.0], 2, &compute),
        Err(StatsError::TooFewRows {
            input: Input::Reference,
            found: 1,
            needed: 2,
            what: "the unbiased MMD² estimator"
        })
    );
    assert_eq!(
        MmdReference::new(vec![], 2, &compute),
        Err(StatsError::Empty {
            input: Input::Reference
        })
    );
    let reference =
        MmdReference::new(vec![0.0, 0.0, 1.0, 1.0, 2.0, 0.5], 2, &compute).expect("valid");
    assert_eq!(
        Rows::new(&[1.0, 2.0, 3.0], 2).expect_err("ragged"),
        StatsError::RaggedMatrix {
            input: Input::Sample,
            len: 3,
            dim: 2
        }
    );
    let err = mmd_test(
        &reference,
        Rows::new(&[1.0, 2.0, 3.0], 1).expect("one feature"),
        Permutations::default(),
        0.05,
        &compute,
    )
    .expect_err("other dimension");
    assert_eq!(
        err,
        StatsError::DimensionMismatch {
            input: Input::Current,
            expected: 2,
            found: 1
        }
    );
    let err = Rows::new(&[1.0, f64::INFINITY, 0.0, 0.0], 2).expect_err("non-finite");
    assert!(matches!(
        err,
        StatsError::NonFinite {
            input: Input::Sample,
            index: 1,
            ..
        }
    ));
    let err = Rows::new(&[1.0, 2.0], 2).expect_err("one row");
    assert!(matches!(
        err,
        StatsError::TooFewRows {
            input: Input::Sample,
            found: 1,
            ..
        }
    ));
    let bad: &[&[u32]] = &[&[0, 0]];
    let err = mmd_test(
        &reference,
        cur(&[1.0, 2.0, 0.0, 1.0], &reference),
        Permutations::Given(bad),
        0.05,
        &compute,
    )
    .expect_err("repeated index");
    assert!(err.to_string().contains("repeated index 0"), "{err}");
}

#[test]
fn cached_reference_block_gives_the_same_test() {
    let (n, m, dim) = (250, 130, 6);
    let x = synth::normal_matrix(51, n, dim, &[], 1.0);
    let y = synth::normal_matrix(52, m, dim, &[0.2], 1.0);
    for backend in Backend::available() {
        let compute = Compute {
            backend,
            ..Compute::scalar()
        }
        .with_threads(2);
        let mut reference = MmdReference::new(x.clone(), dim, &compute).expect("valid");
        let perms = Permutations::Random { count: 40, seed: 3 };
        let full = mmd_test(&reference, cur(&y, &reference), perms, 0.05, &compute).expect("valid");
        reference
            .cache_permutations(m, 40, 3, &compute)
            .expect("valid");
        let cached =
            mmd_test(&reference, cur(&y, &reference), perms, 0.05, &compute).expect("valid");
        assert!(
            (cached.statistic - full.statistic).abs() <= MMD_REL,
            "{backend}"
        );
        assert_eq!(cached.p_value, full.p_value, "{backend}");
        assert!(
            (cached.distance_threshold - full.distance_threshold).abs() <= MMD_REL,
            "{backend}"
        );
        // Other parameters fall back to the full pass.
        let other = Permutations::Random { count: 40, seed: 4 };
        let direct = mmd_test(
            &MmdReference::new(x.clone(), dim, &compute).expect("valid"),
            cur(&y, &reference),
            other,
            0.05,
            &compute,
        );
        assert_eq!(
            mmd_test(&reference, cur(&y, &reference), other, 0.05, &compute),
            direct
        );
        let shorter = &y[..(m - 1) * dim];
        assert!(mmd_test(&reference, cur(shorter, &reference), perms, 0.05, &compute).is_ok());
    }
}
