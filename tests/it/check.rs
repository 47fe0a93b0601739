//! `drifttap check` end to end: the binary on the bundled example and on bad input.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{Field, Schema};
use parquet::arrow::ArrowWriter;

fn example(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("baselines/credit")
        .join(name)
        .display()
        .to_string()
}

/// Writes `columns` (name, nullable f64 values) to a Parquet file.
fn write_numbers(path: &std::path::Path, columns: &[(&str, Vec<Option<f64>>)]) {
    let arrays: Vec<ArrayRef> = columns
        .iter()
        .map(|(_, v)| Arc::new(Float64Array::from(v.clone())) as ArrayRef)
        .collect();
    let fields: Vec<Field> = columns
        .iter()
        .map(|(n, _)| Field::new(*n, arrow_schema::DataType::Float64, true))
        .collect();
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("valid batch");
    let mut writer = ArrowWriter::try_new(
        std::fs::File::create(path).expect("writable"),
        batch.schema(),
        None,
    )
    .expect("writer");
    writer.write(&batch).expect("written");
    writer.close().expect("closed");
}

fn drifttap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_drifttap"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const LEAVE_OUT: &str = "application_id,defaulted";

#[test]
fn drifted_example_exits_1_and_reports_the_drifting_features_as_json() {
    let (reference, current) = (
        example("reference.parquet"),
        example("current-drifted.parquet"),
    );
    let out = drifttap(&[
        "check",
        &reference,
        &current,
        "--exclude",
        LEAVE_OUT,
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(json["drift"], true);
    assert_eq!(json["reference"]["rows"], 50_000);
    assert_eq!(json["current"]["path"], current.as_str());
    let drifting: Vec<&str> = json["features"]
        .as_array()
        .expect("features list")
        .iter()
        .filter(|f| f["drift"] == true)
        .map(|f| f["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        drifting,
        vec![
            "annual_income",
            "loan_amount",
            "credit_score",
            "card_utilisation",
            "loan_purpose"
        ]
    );
    let purpose = json["features"]
        .as_array()
        .expect("list")
        .iter()
        .find(|f| f["name"] == "loan_purpose")
        .expect("present");
    assert_eq!(purpose["test"], "chi2");
    assert!(purpose["unseen_share"].as_f64().expect("share") > 0.03);
    let employed = json["features"]
        .as_array()
        .expect("list")
        .iter()
        .find(|f| f["name"] == "months_employed")
        .expect("present");
    assert!((employed["missing_current"].as_f64().expect("share") - 0.09).abs() < 0.01);
    assert_eq!(json["multivariate"]["test"], "mmd");
    assert_eq!(json["multivariate"]["drift"], true);
}

#[test]
fn stable_example_exits_0_and_writes_the_table_to_a_file() {
    let dir = std::env::temp_dir().join(format!("drifttap-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("writable");
    let report = dir.join("report.txt");
    let out = drifttap(&[
        "check",
        &example("reference.parquet"),
        &example("current-stable.parquet"),
        "--exclude",
        LEAVE_OUT,
        "--output",
        &report.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&report).expect("report written");
    assert!(text.contains("no drift: 0 of 12 features drift"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_exits_2_naming_the_file_or_column() {
    let reference = example("reference.parquet");
    let out = drifttap(&["check", &reference, "/nonexistent/current.parquet"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("/nonexistent/current.parquet"),
        "{}",
        stderr(&out)
    );

    let out = drifttap(&["check", &reference, &example("README.md")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("README.md: not a readable Parquet file"),
        "{}",
        stderr(&out)
    );

    let out = drifttap(&["check", &reference, &reference, "--columns", "salary"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no column `salary`"),
        "{}",
        stderr(&out)
    );

    // CURRENT lacks a column the reference has: name it and list what exists.
    let dir = std::env::temp_dir().join(format!("drifttap-check-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("writable");
    let narrow = dir.join("narrow.parquet");
    let column: ArrayRef = Arc::new(Float64Array::from(vec![30.0, 41.0, 52.0]));
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new(
            "age",
            column.data_type().clone(),
            false,
        )])),
        vec![column],
    )
    .expect("valid batch");
    let mut writer = ArrowWriter::try_new(
        std::fs::File::create(&narrow).expect("writable"),
        batch.schema(),
        None,
    )
    .expect("writer");
    writer.write(&batch).expect("written");
    writer.close().expect("closed");
    let out = drifttap(&[
        "check",
        &reference,
        &narrow.display().to_string(),
        "--exclude",
        LEAVE_OUT,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("current data has no column `annual_income` (columns: age)"),
        "{}",
        stderr(&out)
    );
    let _ = std::fs::remove_dir_all(&dir);

    let out = drifttap(&["check", &reference, &reference, "--p-val", "2"]);
    assert_eq!(out.status.code(), Some(2));
    let out = drifttap(&["check", &reference]);
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2 too");
}

#[test]
fn a_column_entirely_null_in_current_is_reported_not_crashed_on() {
    let dir = std::env::temp_dir().join(format!("drifttap-check-null-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("writable");
    let (reference, current) = (dir.join("reference.parquet"), dir.join("current.parquet"));
    let values = |k: f64| {
        (0..200)
            .map(|i| Some((i as f64 * k).sin()))
            .collect::<Vec<_>>()
    };
    write_numbers(&reference, &[("age", values(0.7)), ("income", values(1.3))]);
    write_numbers(
        &current,
        &[("age", vec![None; 200]), ("income", values(1.3))],
    );
    let out = drifttap(&[
        "check",
        &reference.display().to_string(),
        &current.display().to_string(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let age = &json["features"][0];
    assert_eq!(age["name"], "age");
    assert_eq!(age["test"], "none");
    assert_eq!(age["missing_current"], 1.0);
    assert_eq!(age["n_current"], 0);
    assert_eq!(json["features"][1]["test"], "ks");
    let _ = std::fs::remove_dir_all(&dir);
}
