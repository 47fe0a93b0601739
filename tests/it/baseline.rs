//! `drifttap baseline build` end to end, and `check` against what it builds.

use crate::check::LEAVE_OUT;
use crate::harness::{TempDir, drifttap, example, stderr};

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

#[test]
fn a_compiled_baseline_gives_the_same_report_as_the_raw_reference() {
    let dir = TempDir::new("baseline-build");
    let compiled = dir.path("credit.baseline");
    let out = drifttap(&[
        "baseline",
        "build",
        &example("reference.parquet"),
        "--exclude",
        LEAVE_OUT,
        "--output",
        &compiled,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("50000 rows, 12 features (9 numeric, 3 categorical)"));
    assert!(stderr(&out).contains("skipped `applied_at`"));
    for file in [
        "baseline.json",
        "numeric.parquet",
        "categorical.parquet",
        "mmd-sample.parquet",
    ] {
        assert!(dir.0.join("credit.baseline").join(file).is_file(), "{file}");
    }
    let current = example("current-drifted.parquet");
    let raw = drifttap(&[
        "check",
        &example("reference.parquet"),
        &current,
        "--exclude",
        LEAVE_OUT,
        "--format",
        "json",
    ]);
    let from_compiled = drifttap(&["check", &compiled, &current, "--format", "json"]);
    assert_eq!(raw.status.code(), Some(1), "{}", stderr(&raw));
    assert_eq!(
        from_compiled.status.code(),
        Some(1),
        "{}",
        stderr(&from_compiled)
    );
    let (mut raw, mut from_compiled) = (json(&raw), json(&from_compiled));
    // The same content, so the same version; only the path differs.
    assert!(
        raw["reference"]["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("sha256:"))
    );
    assert_eq!(
        raw["reference"]["version"],
        from_compiled["reference"]["version"]
    );
    raw["reference"]["path"] = serde_json::Value::Null;
    from_compiled["reference"]["path"] = serde_json::Value::Null;
    assert_eq!(raw, from_compiled);

    // Features can still be left out at check time; the MMD then runs on the rest.
    let out = drifttap(&[
        "check",
        &compiled,
        &current,
        "--exclude",
        "annual_income,home_ownership",
        "--format",
        "json",
    ]);
    let report = json(&out);
    assert_eq!(report["features"].as_array().map(Vec::len), Some(10));
    let mmd_features = report["multivariate"]["features"].as_array().expect("list");
    assert_eq!(mmd_features.len(), 8);
    assert!(!mmd_features.contains(&serde_json::json!("annual_income")));
}

#[test]
fn compiled_baselines_refuse_what_they_cannot_serve() {
    let dir = TempDir::new("baseline-bad");
    let compiled = dir.path("b");
    let out = drifttap(&[
        "baseline",
        "build",
        &example("reference.parquet"),
        "--columns",
        "age,term_months,home_ownership",
        "--output",
        &compiled,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let current = example("current-stable.parquet");
    let cases: [(&[&str], &str); 3] = [
        (
            &["--columns", "salary"],
            "--columns names `salary`, which is not a feature of the baseline (features: age, term_months, home_ownership)",
        ),
        (
            &["--categorical", "term_months"],
            "column `term_months` was compiled as numeric; rebuild the baseline with --categorical term_months",
        ),
        (
            &["--exclude", "age,term_months,home_ownership"],
            "no features left to test",
        ),
    ];
    for (extra, message) in cases {
        let mut args = vec!["check", compiled.as_str(), current.as_str()];
        args.extend(extra);
        let out = drifttap(&args);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(message),
            "{extra:?}: {}",
            stderr(&out)
        );
    }
    // A damaged baseline names the file.
    std::fs::write(dir.0.join("b/baseline.json"), "{").expect("write");
    let out = drifttap(&["check", &compiled, &current]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("baseline.json: not a drifttap baseline manifest"),
        "{}",
        stderr(&out)
    );
    // An output path that holds something else is not overwritten.
    std::fs::write(dir.0.join("notes.txt"), "keep").expect("write");
    let out = drifttap(&[
        "baseline",
        "build",
        &example("reference.parquet"),
        "--output",
        &dir.path("notes.txt"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("refusing to replace it"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(dir.0.join("notes.txt"))
            .ok()
            .as_deref(),
        Some("keep")
    );
    // Integer codes compiled as categories test a numeric current column as categories.
    let out = drifttap(&[
        "baseline",
        "build",
        &example("reference.parquet"),
        "--columns",
        "term_months",
        "--categorical",
        "term_months",
        "--output",
        &compiled,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = drifttap(&["check", &compiled, &current, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out)["features"][0]["test"], "chi2");
}
