//! The bundled credit-risk example (`baselines/credit/`) read through the Parquet reader and
//! tested with the statistics engine: the stable sample shows no drift, the drifted one shows
//! exactly the drift its README describes.

use std::collections::BTreeSet;
use std::path::PathBuf;

use drifttap::baseline::parquet;
use drifttap::data::{Frame, MISSING, Values};
use drifttap::stats::Compute;
use drifttap::stats::chi2::{Continuity, chi2_contingency};
use drifttap::stats::correction::{Correction, correct};
use drifttap::stats::ks::{KsOptions, SortedSample, ks_2samp};

/// Columns a user leaves out: an id and the training label.
const NOT_FEATURES: [&str; 2] = ["application_id", "defaulted"];

fn read(name: &str) -> Frame {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("baselines/credit")
        .join(name);
    parquet::read(&[path], &[])
        .expect("the bundled example is readable")
        .frame
}

/// Per feature: (name, p-value), with Bonferroni at 0.05 applied to the set.
fn drifting(reference: &Frame, current: &Frame) -> BTreeSet<String> {
    let compute = Compute::detect();
    let mut names = Vec::new();
    let mut p_values = Vec::new();
    for column in reference.columns() {
        if NOT_FEATURES.contains(&column.name.as_str()) {
            continue;
        }
        let other = current
            .column(&column.name)
            .expect("same columns on both sides");
        let p = match (&column.values, &other.values) {
            (Values::Numeric(r), Values::Numeric(c)) => {
                let r: Vec<f64> = r.iter().copied().filter(|v| !v.is_nan()).collect();
                let c: Vec<f64> = c.iter().copied().filter(|v| !v.is_nan()).collect();
                let reference = SortedSample::new_with(r, &compute).expect("finite");
                ks_2samp(&reference, &c, KsOptions::default(), &compute)
                    .expect("valid")
                    .p_value
            }
            (
                Values::Categorical {
                    names: rn,
                    codes: rc,
                },
                Values::Categorical {
                    names: cn,
                    codes: cc,
                },
            ) => {
                let mut all: Vec<&String> = rn.iter().chain(cn).collect();
                all.sort();
                all.dedup();
                let count = |names: &[String], codes: &[u32]| {
                    all.iter()
                        .map(|n| {
                            let code = names.iter().position(|x| x == *n).map(|c| c as u32);
                            codes
                                .iter()
                                .filter(|c| **c != MISSING && Some(**c) == code)
                                .count() as u64
                        })
                        .collect::<Vec<_>>()
                };
                chi2_contingency(&count(rn, rc), &count(cn, cc), Continuity::Yates)
                    .expect("valid")
                    .p_value
            }
            _ => panic!("{} changed kind", column.name),
        };
        names.push(column.name.clone());
        p_values.push(p);
    }
    let corrected = correct(&p_values, 0.05, Correction::Bonferroni).expect("valid");
    names
        .into_iter()
        .zip(corrected.drift)
        .filter(|(_, d)| *d)
        .map(|(n, _)| n)
        .collect()
}

#[test]
fn stable_sample_does_not_drift() {
    let reference = read("reference.parquet");
    assert_eq!(reference.rows(), 50_000);
    let stable = read("current-stable.parquet");
    assert_eq!(drifting(&reference, &stable), BTreeSet::new());
}

#[test]
fn drifted_sample_drifts_where_the_readme_says() {
    let reference = read("reference.parquet");
    let drifted = read("current-drifted.parquet");
    let expected: BTreeSet<String> = [
        "annual_income",
        "loan_amount",
        "credit_score",
        "card_utilisation",
        "loan_purpose",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(drifting(&reference, &drifted), expected);
    // months_employed keeps its distribution; only its missing share jumps, from about 2 % to
    // about 9 % — drift the missing-share report shows, not the KS test.
    let share =
        |t: &Frame| t.column("months_employed").expect("exists").missing() as f64 / t.rows() as f64;
    assert!(
        (share(&reference) - 0.02).abs() < 0.005,
        "{}",
        share(&reference)
    );
    assert!((share(&drifted) - 0.09).abs() < 0.01, "{}", share(&drifted));
    // A purpose the model never saw in training.
    match &drifted.column("loan_purpose").expect("exists").values {
        Values::Categorical { names, .. } => {
            assert!(names.iter().any(|n| n == "buy_now_pay_later"))
        }
        other => panic!("{other:?}"),
    }
    // The application timestamp is not a feature unless selected.
    assert!(drifted.column("applied_at").is_none());
}
