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
        permutations: 50,
        ..Options::default()
    }
}

#[test]
fn an_evaluation_prepared_once_reports_what_one_prepared_each_time_does() {
    let baseline = baseline(&Selection::default());
    let compute = Compute::detect().with_threads(2);
    let mut prepared = Prepared::new(Arc::clone(&baseline), options(), &compute).expect("valid");
    prepared.cache_mmd(5_000).expect("cached");
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
