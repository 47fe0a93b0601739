use super::chart::{ECDF_POINTS, ecdf_steps};
use super::*;
use crate::evaluate::{FeatureReport, MultivariateReport, Report};
use crate::stats::synth;

/// A feature report with every optional field empty; tests set what they need.
fn feature(name: &str, kind: Kind, p_value: Option<f64>, drift: bool) -> FeatureReport {
    FeatureReport {
        name: name.to_string(),
        kind,
        test: if p_value.is_some() {
            match kind {
                Kind::Numeric => Test::Ks,
                Kind::Categorical => Test::Chi2,
            }
        } else {
            Test::None
        },
        statistic: p_value.map(|_| 0.1),
        p_value,
        p_value_method: p_value.map(|_| match kind {
            Kind::Numeric => PValueMethod::Asymp,
            Kind::Categorical => PValueMethod::Chi2,
        }),
        threshold: p_value.map(|_| 0.01),
        drift,
        n_reference: 1000,
        n_current: 100,
        missing_current: 0.0,
        missing_reference: 0.0,
        wasserstein_normed: None,
        psi: Some(0.02),
        jensen_shannon: Some(0.05),
        unseen_share: None,
        missing_p_value: None,
        missing_threshold: None,
        missing_drift: false,
    }
}

fn report(features: Vec<FeatureReport>) -> Report {
    Report {
        drift: features.iter().any(|f| f.drift),
        correction: Correction::Bonferroni,
        threshold: 0.05 / features.len().max(1) as f64,
        features,
        multivariate: None,
        chunks: None,
    }
}

fn source(path: &str, rows: usize) -> Source<'_> {
    Source {
        path,
        rows,
        version: Some("sha256:0123456789abcdef"),
    }
}

fn render(report: &Report, profiles: &[Profile<'_>]) -> String {
    html(
        report,
        &source("ref.parquet", 1000),
        &source("cur.parquet", 100),
        profiles,
    )
}

fn sorted(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    values
}

/// Byte offset of each feature's card, by feature index.
fn card_offset(page: &str, index: usize) -> usize {
    page.find(&format!(r#"id="f-{index}""#))
        .unwrap_or_else(|| panic!("no card for feature {index}"))
}

#[test]
fn hostile_names_and_paths_are_escaped() {
    let name = r#"<script>alert("x")</script> & 'q'"#;
    let mut features = vec![feature(name, Kind::Categorical, Some(1e-9), true)];
    features[0].unseen_share = Some(0.1);
    let report = report(features);
    let profiles = [Profile::Categorical {
        name,
        reference: vec![("<b>a&b</b>".to_string(), 10)],
        current: vec![("\"><img onerror=x>".to_string(), 3)],
    }];
    let page = html(
        &report,
        &source("/data/<evil>&\"dir\"/ref.parquet", 10),
        &source("cur'.parquet", 3),
        &profiles,
    );
    assert!(!page.contains("<script"), "{page}");
    assert!(!page.contains("<b>a&b"));
    assert!(!page.contains("<img"));
    assert!(!page.contains("<evil>"));
    assert!(page.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;"));
    assert!(page.contains("/<wbr>&lt;evil&gt;&amp;&quot;dir&quot;/<wbr>ref.parquet"));
    assert!(page.contains("cur&#39;.parquet"));
    assert!(page.contains("&quot;&gt;&lt;img onerror=x&gt;"));
}

#[test]
fn drifting_cards_come_first_then_by_p_value() {
    let report = report(vec![
        feature("stable_low_p", Kind::Numeric, Some(0.2), false),
        feature("untested", Kind::Numeric, None, false),
        feature("drift_weak", Kind::Numeric, Some(1e-3), true),
        feature("stable_high_p", Kind::Categorical, Some(0.9), false),
        feature("drift_strong", Kind::Categorical, Some(1e-20), true),
    ]);
    let page = render(&report, &[]);
    let order: Vec<usize> = {
        let mut idx: Vec<usize> = (0..5).collect();
        idx.sort_by_key(|&i| card_offset(&page, i));
        idx
    };
    assert_eq!(order, [4, 2, 0, 3, 1]);
    // The summary table lists them in the same order, drifting rows marked.
    let table = &page[page.find("<table class=\"summary\"").expect("summary")..];
    let rows: Vec<usize> = [
        "drift_strong",
        "drift_weak",
        "stable_low_p",
        "stable_high_p",
    ]
    .iter()
    .map(|n| table.find(&format!(">{n}</a>")).expect("row"))
    .collect();
    assert!(rows.windows(2).all(|w| w[0] < w[1]), "{rows:?}");
    assert_eq!(table.matches(r#"<tr class="drift">"#).count(), 2);
}

#[test]
fn every_feature_has_a_card_with_or_without_a_profile() {
    let reference = sorted(synth::normal(1, 2000, 0.0, 1.0));
    let current = synth::normal(2, 300, 0.5, 1.0);
    let report = report(vec![
        feature("with_profile", Kind::Numeric, Some(1e-6), true),
        feature("without_profile", Kind::Numeric, Some(0.5), false),
        feature("colour", Kind::Categorical, Some(0.3), false),
    ]);
    let profiles = [
        Profile::Numeric {
            name: "with_profile",
            reference_sorted: &reference,
            current: &current,
        },
        Profile::Categorical {
            name: "colour",
            reference: vec![("red".into(), 5), ("blue".into(), 5)],
            current: vec![("red".into(), 6), ("blue".into(), 4)],
        },
        Profile::Numeric {
            name: "not_in_the_report",
            reference_sorted: &reference,
            current: &current,
        },
    ];
    let page = render(&report, &profiles);
    assert_eq!(page.matches("<article class=\"card").count(), 3);
    for i in 0..3 {
        card_offset(&page, i);
    }
    let without = &page[card_offset(&page, 1)..];
    let without = &without[..without.find("</article>").expect("card ends")];
    assert!(without.contains("No distribution data"));
    assert!(!without.contains("<svg"));
    assert!(!page.contains("not_in_the_report"));
    // Numeric: ECDF and histogram; categorical: the bar chart.
    assert_eq!(page.matches("<svg").count(), 3);
    assert!(page.contains("sha256:0123456789abcdef"));
}

#[test]
fn unseen_categories_are_highlighted() {
    let mut colour = feature("colour", Kind::Categorical, Some(1e-12), true);
    colour.unseen_share = Some(0.2);
    let report = report(vec![colour]);
    let profiles = [Profile::Categorical {
        name: "colour",
        reference: vec![("red".into(), 60), ("blue".into(), 40)],
        current: vec![("red".into(), 40), ("blue".into(), 40), ("teal".into(), 20)],
    }];
    let page = render(&report, &profiles);
    let unseen = page.find(r#"<g class="cat unseen"><title>teal:"#);
    assert!(unseen.is_some(), "teal not highlighted: {page}");
    assert_eq!(page.matches(r#"class="cat unseen""#).count(), 1);
    assert!(page.contains(r#"<tr class="unseen"><td class="name">teal <span class="pill new">"#));
    assert!(page.contains("category not in the reference"));
}

#[test]
fn ecdf_downsampling_keeps_its_ends_and_is_monotone() {
    for (n, distinct) in [(1, 1), (7, 3), (200_000, 200_000), (200_000, 25)] {
        let values = sorted(
            synth::uniform_range(3, n, 0.0, 1.0)
                .iter()
                .map(|x| (x * distinct as f64).floor())
                .collect(),
        );
        let (lo, hi) = (values[0], values[n - 1]);
        let points = ecdf_steps(&values, lo, hi, ECDF_POINTS);
        assert_eq!(points[0].f, 0.0, "n {n}");
        assert_eq!(points[points.len() - 1].f, 1.0, "n {n}");
        assert_eq!(points[points.len() - 1].x, hi);
        assert!(points.len() <= ECDF_POINTS + 2, "{} points", points.len());
        assert!(
            points
                .windows(2)
                .all(|w| w[0].x <= w[1].x && w[0].f <= w[1].f)
        );
        if distinct <= 25 {
            // Few distinct values: every step is drawn.
            assert_eq!(points.len(), values.chunk_by(|a, b| a == b).count() + 1);
        }
    }
}

#[test]
fn the_page_fetches_nothing() {
    let reference = sorted(synth::normal(4, 5000, 10.0, 2.0));
    let current = synth::normal(5, 500, 11.0, 2.0);
    let mut report = report(vec![
        feature("x", Kind::Numeric, Some(1e-8), true),
        feature("c", Kind::Categorical, Some(0.4), false),
    ]);
    report.multivariate = Some(MultivariateReport {
        test: Test::Mmd,
        statistic: 0.0123,
        sigma: 2.5,
        p_value: 0.0,
        permutations: 100,
        threshold: 0.025,
        drift: true,
        features: vec!["x".into()],
        n_reference: 1000,
        n_current: 500,
        seed: 0,
    });
    let profiles = [
        Profile::Numeric {
            name: "x",
            reference_sorted: &reference,
            current: &current,
        },
        Profile::Categorical {
            name: "c",
            reference: vec![("a".into(), 1)],
            current: vec![("a".into(), 1)],
        },
    ];
    let page = render(&report, &profiles).to_lowercase();
    for needle in [
        "http:", "https:", "<link", "<script", "url(", "@import", "src=", "//",
    ] {
        assert!(!page.contains(needle), "the page contains {needle}");
    }
    assert!(page.contains("mmd²"));
}

#[test]
fn a_large_numeric_feature_renders_small_and_fast() {
    let reference = sorted(synth::normal(6, 1_000_000, 0.0, 1.0));
    let mut current = synth::normal(7, 100_000, 0.2, 1.3);
    current[5] = f64::NAN;
    let report = report(vec![feature("big", Kind::Numeric, Some(1e-30), true)]);
    let profiles = [Profile::Numeric {
        name: "big",
        reference_sorted: &reference,
        current: &current,
    }];
    let page = render(&report, &profiles);
    let card = &page[card_offset(&page, 0)..];
    assert!(card.len() < 60_000, "{} bytes", card.len());
    assert!(page.contains("99,999 values"));
}

#[test]
fn degenerate_numeric_profiles_render() {
    let constant = vec![5.0; 100];
    let empty: Vec<f64> = Vec::new();
    let cases: [(&[f64], &[f64]); 4] = [
        (&constant, &constant),
        (&empty, &[1.0, 2.0, f64::NAN]),
        (&constant, &[f64::NAN, f64::NAN]),
        (&empty, &[]),
    ];
    for (reference, current) in cases {
        let report = report(vec![feature("x", Kind::Numeric, None, false)]);
        let profiles = [Profile::Numeric {
            name: "x",
            reference_sorted: reference,
            current,
        }];
        let page = render(&report, &profiles);
        assert!(!page.contains("NaN") && !page.contains("inf"), "{page}");
        let expected_svgs = if reference.is_empty() && current.len() < 3 {
            0
        } else {
            2
        };
        assert_eq!(page.matches("<svg").count(), expected_svgs);
    }
}
