use super::*;
use crate::baseline::compile::{BuildOptions, Quiet};
use crate::stats::synth;
use crate::stats::tolerance::MMD_REL;

/// `rows` rows: three numeric features (the first shifted by `shift`) and a categorical one.
fn frame(rows: usize, shift: f64, seed: u64) -> Frame {
    let numeric = |name: &str, i: u64, loc: f64| Column {
        name: name.into(),
        values: Values::Numeric(synth::normal(seed * 31 + i, rows, loc, 1.0)),
    };
    let home = synth::categorical(seed * 31 + 9, rows, &[0.5, 0.3, 0.2]);
    Frame::new(
        rows,
        vec![
            numeric("income", 1, shift),
            numeric("age", 2, 0.0),
            numeric("debt", 3, 0.0),
            Column {
                name: "home".into(),
                values: Values::Categorical {
                    names: vec!["RENT".into(), "OWN".into(), "MORTGAGE".into()],
                    codes: home.into_iter().map(|c| c as u32).collect(),
                },
            },
        ],
    )
    .expect("consistent columns")
}

fn baseline(selection: &Selection) -> Arc<Baseline> {
    let baseline = Baseline::build(
        &frame(20_000, 0.0, 1),
        selection,
        &BuildOptions::default(),
        &Compute::detect(),
        &Quiet,
    )
    .expect("builds");
    Arc::new(baseline)
}

fn options() -> Options {
    Options {
        permutations: Some(50),
        ..Options::default()
    }
}

#[test]
fn an_evaluation_prepared_once_reports_what_one_prepared_each_time_does() {
    let baseline = baseline(&Selection::default());
    let compute = Compute::detect().with_threads(2);
    let prepared = Prepared::new(Arc::clone(&baseline), options(), &compute).expect("valid");
    for (seed, shift) in [(2, 0.0), (3, 0.05), (4, 0.3)] {
        let window = frame(5_000, shift, seed);
        let once = prepared.evaluate(&window, 0..5_000).expect("evaluates");
        let fresh = Prepared::new(Arc::clone(&baseline), options(), &compute)
            .and_then(|p| p.evaluate(&window, 0..5_000))
            .expect("evaluates");
        // Everything but the MMD statistic is computed the same way; the cached reference
        // block sums the kernel in another order (within the SIMD tolerance).
        assert_eq!(once.features, fresh.features, "shift {shift}");
        assert_eq!(once.drift, fresh.drift, "shift {shift}");
        assert_eq!(once.threshold, fresh.threshold);
        let (a, b) = (
            once.multivariate.expect("MMD ran"),
            fresh.multivariate.expect("MMD ran"),
        );
        assert_eq!(a.p_value, b.p_value, "shift {shift}");
        assert_eq!((a.drift, a.n_current), (b.drift, b.n_current));
        assert!(
            (a.statistic - b.statistic).abs() <= MMD_REL,
            "{} vs {}",
            a.statistic,
            b.statistic
        );
    }
}

#[test]
fn rows_outside_the_frame_are_an_error_not_a_panic() {
    let prepared = Prepared::new(
        baseline(&Selection::default()),
        options(),
        &Compute::detect(),
    )
    .expect("valid");
    let window = frame(100, 0.0, 2);
    assert!(matches!(
        prepared.evaluate(&window, 50..200),
        Err(EvaluateError::Rows {
            start: 50,
            end: 200,
            rows: 100
        })
    ));
    let report = prepared.evaluate(&window, 20..20).expect("an empty range");
    assert!(report.features.iter().all(|f| f.test == Test::None));
}

#[test]
fn a_selection_the_baseline_cannot_serve_is_refused_when_prepared() {
    let baseline = baseline(&Selection::default());
    let prepare = |selection: Selection| {
        Prepared::new(
            Arc::clone(&baseline),
            Options {
                selection,
                ..options()
            },
            &Compute::detect(),
        )
    };
    assert!(matches!(
        prepare(Selection {
            columns: vec!["salary".into()],
            ..Selection::default()
        }),
        Err(EvaluateError::UnknownFeature {
            option: "columns",
            ..
        })
    ));
    assert!(matches!(
        prepare(Selection {
            categorical: vec!["age".into()],
            ..Selection::default()
        }),
        Err(EvaluateError::RoleConflict {
            compiled: Kind::Numeric,
            requested: Kind::Categorical,
            ..
        })
    ));
    assert!(matches!(
        prepare(Selection {
            exclude: vec!["income".into(), "age".into(), "debt".into(), "home".into()],
            ..Selection::default()
        }),
        Err(EvaluateError::NothingSelected)
    ));
    let subset = prepare(Selection {
        columns: vec!["income".into(), "age".into()],
        ..Selection::default()
    })
    .expect("a subset");
    assert_eq!(
        subset.feature_names().collect::<Vec<_>>(),
        ["income", "age"]
    );
}

#[test]
fn negative_zero_and_zero_are_one_category_from_baseline_to_window() {
    // A float column tested as categories whose first zero is negative.
    let values = |first: f64, rows: usize| {
        (0..rows)
            .map(|i| if i == 0 { first } else { (i % 3) as f64 })
            .collect::<Vec<f64>>()
    };
    let reference = Frame::new(
        3_000,
        vec![Column {
            name: "term".into(),
            values: Values::Numeric(values(-0.0, 3_000)),
        }],
    )
    .expect("consistent");
    let selection = Selection {
        categorical: vec!["term".into()],
        ..Selection::default()
    };
    let baseline = Baseline::build(
        &reference,
        &selection,
        &BuildOptions::default(),
        &Compute::detect(),
        &Quiet,
    )
    .expect("builds");
    let prepared = Prepared::new(baseline, options(), &Compute::detect()).expect("valid");
    let current = Frame::new(
        900,
        vec![Column {
            name: "term".into(),
            values: Values::Numeric(values(0.0, 900)),
        }],
    )
    .expect("consistent");
    let report = prepared.evaluate(&current, 0..900).expect("evaluates");
    assert_eq!(report.features[0].unseen_share, Some(0.0));
    assert!(!report.drift, "{report:?}");
}

/// `frame` with `share` of `debt` missing (every `1/share`-th row).
fn with_missing_debt(mut frame: Frame, share: f64) -> Frame {
    let rows = frame.rows();
    let mut columns = std::mem::take(&mut frame).into_columns();
    if let Values::Numeric(v) = &mut columns[2].values {
        let missing = (share * rows as f64).round() as usize;
        for i in 0..missing {
            v[i * rows / missing.max(1)] = f64::NAN;
        }
    }
    Frame::new(rows, columns).expect("consistent columns")
}

#[test]
fn a_missing_share_that_grows_drifts_in_the_family() {
    let reference = with_missing_debt(frame(20_000, 0.0, 1), 0.02);
    let baseline = Baseline::build(
        &reference,
        &Selection::default(),
        &BuildOptions::default(),
        &Compute::detect(),
        &Quiet,
    )
    .expect("builds");
    let prepared =
        Prepared::new(Arc::new(baseline), options(), &Compute::detect()).expect("prepares");
    let debt = |report: &Report| {
        report
            .features
            .iter()
            .find(|f| f.name == "debt")
            .cloned()
            .expect("debt")
    };
    let same = prepared
        .evaluate(&with_missing_debt(frame(2_000, 0.0, 5), 0.02), 0..2_000)
        .expect("evaluates");
    let f = debt(&same);
    assert!(f.missing_p_value.is_some_and(|p| p > 0.01), "{f:?}");
    assert!(!f.missing_drift && !f.drift);
    for share in [0.4, 1.0] {
        let report = prepared
            .evaluate(&with_missing_debt(frame(2_000, 0.0, 5), share), 0..2_000)
            .expect("evaluates");
        let f = debt(&report);
        assert!(f.missing_drift && f.drift && report.drift, "{share}: {f:?}");
        assert!(f.missing_p_value < f.missing_threshold, "{f:?}");
    }
    // No value missing on either side: nothing to test.
    let clean = prepared
        .evaluate(&frame(2_000, 0.0, 5), 0..2_000)
        .expect("evaluates");
    assert!(
        clean
            .features
            .iter()
            .all(|f| f.name == "debt" || f.missing_p_value.is_none())
    );
}

#[test]
fn the_tests_share_one_level_and_each_reports_its_threshold() {
    let baseline = baseline(&Selection::default());
    let compute = Compute::detect();
    let prepared = Prepared::new(Arc::clone(&baseline), options(), &compute).expect("prepares");
    let report = prepared
        .evaluate(&frame(1_000, 0.0, 7), 0..1_000)
        .expect("evaluates");
    // Four distribution tests, no missing values: half of 0.05 over four, half to MMD.
    for f in &report.features {
        assert_eq!(f.threshold, Some(0.05 * 0.5 / 4.0), "{}", f.name);
    }
    assert_eq!(report.threshold, 0.05 * 0.5 / 4.0);
    let mmd = report.multivariate.as_ref().expect("MMD ran");
    assert_eq!(mmd.threshold, 0.025);
    assert_eq!(mmd.n_current, 1_000);
    assert_eq!(mmd.n_reference, MMD_MIN_REFERENCE_ROWS);
    // (b + 1) / (P + 1): never 0.
    assert!(mmd.p_value >= 1.0 / 51.0);
    // Another seed draws another reference sample.
    let other = prepared
        .evaluate_seeded(&frame(1_000, 0.0, 7), 0..1_000, 99)
        .expect("evaluates");
    let other = other.multivariate.expect("MMD ran");
    assert_ne!(other.statistic, mmd.statistic);
    assert_eq!(other.seed, 99);

    // alibi-detect's decision: features corrected among themselves, MMD at the full level.
    let alibi = Prepared::new(
        baseline,
        Options {
            compat: Compat::Alibi,
            ..options()
        },
        &compute,
    )
    .expect("prepares");
    let report = alibi
        .evaluate(&frame(1_000, 0.0, 7), 0..1_000)
        .expect("evaluates");
    assert_eq!(report.threshold, 0.05 / 4.0);
    let mmd = report.multivariate.expect("MMD ran");
    assert_eq!(
        (mmd.threshold, mmd.n_reference),
        (0.05, ALIBI_REFERENCE_ROWS)
    );
}

#[test]
fn default_permutations_resolve_the_threshold() {
    assert_eq!(permutations_for(0.025), 399);
    assert_eq!(permutations_for(0.5), 99);
    // Never so few that the threshold is out of reach.
    // Never so few that the threshold is out of reach, within a cost.
    assert_eq!(permutations_for(1e-4), 20_000);
    assert_eq!(permutations_for(1e-9), 49_999);
    assert_eq!(permutations_for(f64::NAN), 9_999);
    assert_eq!(monte_carlo_draws_for(0.001), 9_999);
    assert_eq!(monte_carlo_draws_for(1e-5), 200_000);
    assert_eq!(monte_carlo_draws_for(1e-12), 10_000_000);
    assert_eq!(permutations_for(0.05 / 2.0 * 0.452), 884);
}

/// `rows` rows of a binary feature (ones with probability `p`), a Poisson(3)-like count and a
/// categorical one with a long tail of rare names.
fn discrete_frame(rows: usize, p: f64, seed: u64) -> Frame {
    let uniform = synth::uniform_range(seed * 17 + 1, rows, 0.0, 1.0);
    let binary: Vec<f64> = uniform
        .iter()
        .map(|u| f64::from(u8::from(*u < p)))
        .collect();
    let counts: Vec<f64> = synth::normal(seed * 17 + 2, rows, 3.0, 1.7)
        .iter()
        .map(|x| x.round().max(0.0))
        .collect();
    let mut weights = vec![0.6, 0.3];
    weights.extend(std::iter::repeat_n(0.1 / 60.0, 60));
    let rare = synth::categorical(seed * 17 + 3, rows, &weights);
    Frame::new(
        rows,
        vec![
            Column {
                name: "flag".into(),
                values: Values::Numeric(binary),
            },
            Column {
                name: "count".into(),
                values: Values::Numeric(counts),
            },
            Column {
                name: "plan".into(),
                values: Values::Categorical {
                    names: (0..weights.len()).map(|i| format!("plan-{i}")).collect(),
                    codes: rare.into_iter().map(|c| c as u32).collect(),
                },
            },
        ],
    )
    .expect("consistent columns")
}

#[test]
fn tied_features_and_rare_categories_get_monte_carlo_p_values_unless_scipys_are_asked_for() {
    let baseline = Arc::new(
        Baseline::build(
            &discrete_frame(20_000, 0.3, 1),
            &Selection::default(),
            &BuildOptions::default(),
            &Compute::detect(),
            &Quiet,
        )
        .expect("builds"),
    );
    let compute = Compute::detect();
    let method = |report: &Report, name: &str| {
        report
            .features
            .iter()
            .find(|f| f.name == name)
            .and_then(|f| f.p_value_method)
    };
    let prepared = Prepared::new(Arc::clone(&baseline), options(), &compute).expect("prepares");
    let same = prepared
        .evaluate(&discrete_frame(1_000, 0.3, 7), 0..1_000)
        .expect("evaluates");
    for name in ["flag", "count", "plan"] {
        assert_eq!(
            method(&same, name),
            Some(PValueMethod::MonteCarlo),
            "{name}"
        );
    }
    assert!(!same.drift, "{same:?}");
    // A 0.3 → 0.4 shift of the binary feature's share of ones is found.
    let shifted = prepared
        .evaluate(&discrete_frame(1_000, 0.4, 7), 0..1_000)
        .expect("evaluates");
    let flag = shifted
        .features
        .iter()
        .find(|f| f.name == "flag")
        .expect("flag");
    assert!(flag.drift && flag.p_value < flag.threshold, "{flag:?}");
    // A fixed seed reproduces the Monte-Carlo p-values; another seed draws others.
    let again = prepared
        .evaluate(&discrete_frame(1_000, 0.3, 7), 0..1_000)
        .expect("evaluates");
    assert_eq!(same.features, again.features);
    // scipy's methods, exact or asymptotic by its rule, when asked for or under alibi.
    for options in [
        Options {
            ks_method: KsMethod::Exact,
            ..options()
        },
        Options {
            compat: Compat::Alibi,
            ..options()
        },
    ] {
        let alibi = options.compat == Compat::Alibi;
        let prepared = Prepared::new(Arc::clone(&baseline), options, &compute).expect("prepares");
        let report = prepared
            .evaluate(&discrete_frame(1_000, 0.3, 7), 0..1_000)
            .expect("evaluates");
        assert!(
            matches!(
                method(&report, "flag"),
                Some(PValueMethod::Exact | PValueMethod::Asymp)
            ),
            "{:?}",
            method(&report, "flag")
        );
        let chi2 = if alibi {
            PValueMethod::Chi2
        } else {
            PValueMethod::MonteCarlo
        };
        assert_eq!(method(&report, "plan"), Some(chi2));
    }
}

#[test]
fn a_feature_without_values_in_the_window_leaves_the_joint_test_to_the_others() {
    let baseline = baseline(&Selection::default());
    let prepared =
        Prepared::new(Arc::clone(&baseline), options(), &Compute::detect()).expect("prepares");
    let report = prepared
        .evaluate(&with_missing_debt(frame(2_000, 0.0, 5), 1.0), 0..2_000)
        .expect("evaluates");
    let m = report.multivariate.as_ref().expect("MMD ran");
    assert_eq!(m.features, vec!["income".to_string(), "age".to_string()]);
    assert_eq!(m.n_current, 2_000);
    assert!(!m.drift, "{m:?}");
    let debt = report
        .features
        .iter()
        .find(|f| f.name == "debt")
        .expect("debt");
    assert!(debt.missing_drift && report.drift, "{debt:?}");
    // All three present: all three in the test.
    let full = prepared
        .evaluate(&frame(2_000, 0.0, 5), 0..2_000)
        .expect("evaluates");
    assert_eq!(full.multivariate.expect("MMD ran").features.len(), 3);
}
