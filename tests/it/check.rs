//! `drifttap check` end to end: the binary on the bundled example and on bad input.

use std::sync::Arc;

use arrow_array::{ArrayRef, BinaryArray, Float64Array, RecordBatch, StringArray};
use arrow_schema::{Field, Schema};

use crate::harness::{TempDir, drifttap, example, stderr, write_batch, write_numbers};

pub const LEAVE_OUT: &str = "application_id,defaulted";

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
            "months_employed",
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
    // Its distribution holds; its missing share is what drifts.
    assert_eq!(employed["missing_drift"], true);
    assert!(employed["p_value"].as_f64().expect("p") > employed["threshold"].as_f64().expect("t"));
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
fn html_report_is_one_self_contained_page_with_drifting_features_first() {
    let dir = TempDir::new("html");
    let page = dir.path("report.html");
    let out = drifttap(&[
        "check",
        &example("reference.parquet"),
        &example("current-drifted.parquet"),
        "--exclude",
        LEAVE_OUT,
        "--format",
        "html",
        "--output",
        &page,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).expect("report written");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("6 of 12 features drift"), "verdict line");
    // Nothing is fetched: no external scripts, styles or images.
    for needle in ["<script", "http://", "https://", "<link", "<img"] {
        assert!(!html.contains(needle), "page contains {needle}");
    }
    // Every feature has a card with charts; drifting cards come before stable ones.
    let card = |name: &str| {
        html.find(&format!("<h3>{name}</h3>"))
            .unwrap_or_else(|| panic!("no card for {name}"))
    };
    for drifting in ["annual_income", "loan_purpose", "credit_score"] {
        for stable in ["age", "term_months", "home_ownership"] {
            assert!(card(drifting) < card(stable), "{drifting} after {stable}");
        }
    }
    assert_eq!(html.matches("<article class=\"card").count(), 12);
    assert!(
        !html.contains("No distribution data"),
        "every card has charts"
    );
    assert!(html.matches("<svg").count() >= 12);
}

/// One bad input: the arguments after `check`, and a part of the message that names the file,
/// column or value at fault.
struct Bad {
    what: &'static str,
    args: Vec<String>,
    message: String,
}

#[test]
fn every_bad_input_exits_2_with_a_message_naming_what_is_wrong() {
    let dir = TempDir::new("bad-input");
    let reference = example("reference.parquet");
    // Fixtures, written here: an empty file, a truncated and a corrupted copy of the example,
    // a CURRENT lacking a column, one whose `age` holds text, one with a binary column.
    std::fs::write(dir.0.join("empty.parquet"), b"").expect("write");
    let bytes = std::fs::read(example("current-stable.parquet")).expect("read example");
    std::fs::write(
        dir.0.join("truncated.parquet"),
        &bytes[..bytes.len() * 2 / 3],
    )
    .expect("write");
    let mut corrupted = bytes.clone();
    for b in &mut corrupted[8..bytes.len() / 2] {
        *b ^= 0x5a;
    }
    std::fs::write(dir.0.join("corrupted.parquet"), &corrupted).expect("write");
    write_numbers(
        &dir.0.join("narrow.parquet"),
        &[("age", vec![Some(30.0), Some(41.0), Some(52.0)])],
    );
    let text: ArrayRef = Arc::new(StringArray::from(vec!["thirty", "forty", "fifty"]));
    let blob: ArrayRef = Arc::new(BinaryArray::from(vec![&b"\x00"[..], b"\x01", b"\x02"]));
    let ages: ArrayRef = Arc::new(Float64Array::from(vec![30.0, 41.0, 52.0]));
    let batch = |columns: Vec<(&str, ArrayRef)>| {
        RecordBatch::try_new(
            Arc::new(Schema::new(
                columns
                    .iter()
                    .map(|(n, a)| Field::new(*n, a.data_type().clone(), false))
                    .collect::<Vec<_>>(),
            )),
            columns.into_iter().map(|(_, a)| a).collect(),
        )
        .expect("valid batch")
    };
    write_batch(&dir.0.join("text-age.parquet"), &batch(vec![("age", text)]));
    write_batch(
        &dir.0.join("blob.parquet"),
        &batch(vec![("age", ages), ("photo", blob)]),
    );
    let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let cases = [
        Bad {
            what: "missing file",
            args: args(&[&reference, "/nonexistent/current.parquet"]),
            message: "/nonexistent/current.parquet".into(),
        },
        Bad {
            what: "not Parquet",
            args: args(&[&reference, &example("README.md")]),
            message: "README.md: not a readable Parquet file".into(),
        },
        Bad {
            what: "empty file",
            args: args(&[&reference, &dir.path("empty.parquet")]),
            message: format!("{}: not a readable Parquet file", dir.path("empty.parquet")),
        },
        Bad {
            what: "truncated Parquet",
            args: args(&[&reference, &dir.path("truncated.parquet")]),
            message: format!(
                "{}: not a readable Parquet file",
                dir.path("truncated.parquet")
            ),
        },
        Bad {
            what: "corrupted Parquet",
            args: args(&[&reference, &dir.path("corrupted.parquet")]),
            message: dir.path("corrupted.parquet"),
        },
        Bad {
            what: "unknown column in --columns",
            args: args(&[&reference, &reference, "--columns", "salary"]),
            message: "no column `salary`".into(),
        },
        Bad {
            what: "column missing from CURRENT",
            args: args(&[
                &reference,
                &dir.path("narrow.parquet"),
                "--exclude",
                LEAVE_OUT,
            ]),
            message: "current data has no column `annual_income` (columns: age)".into(),
        },
        Bad {
            what: "type mismatch between the sides",
            args: args(&[
                &reference,
                &dir.path("text-age.parquet"),
                "--columns",
                "age",
            ]),
            message: "column `age` holds numbers in the reference but text in the current data"
                .into(),
        },
        Bad {
            what: "selected column of an unsupported type",
            args: args(&[
                &dir.path("blob.parquet"),
                &dir.path("blob.parquet"),
                "--columns",
                "age,photo",
            ]),
            message: "column `photo` has type Binary, which cannot be tested for drift".into(),
        },
        Bad {
            what: "p-value threshold out of range",
            args: args(&[&reference, &reference, "--p-val", "2"]),
            message: "--p-val must be in (0, 1), got 2".into(),
        },
        Bad {
            what: "zero chunk size",
            args: args(&[&reference, &reference, "--chunk-size", "0"]),
            message: "--chunk-size must be at least 1".into(),
        },
        Bad {
            what: "missing argument",
            args: args(&[&reference]),
            message: "CURRENT".into(),
        },
    ];
    for case in &cases {
        let mut argv = vec!["check"];
        argv.extend(case.args.iter().map(String::as_str));
        let out = drifttap(&argv);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}: {}",
            case.what,
            stderr(&out)
        );
        assert!(
            stderr(&out).contains(&case.message),
            "{}: expected `{}` in:\n{}",
            case.what,
            case.message,
            stderr(&out)
        );
        assert!(!stderr(&out).contains("panicked"), "{}", case.what);
    }
    // A binary column that is not selected is skipped, not an error.
    let out = drifttap(&[
        "check",
        &dir.path("blob.parquet"),
        &dir.path("blob.parquet"),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn chunks_cover_current_in_order_with_the_last_one_partial() {
    let out = drifttap(&[
        "check",
        &example("reference.parquet"),
        &example("current-drifted.parquet"),
        "--exclude",
        LEAVE_OUT,
        "--chunk-size",
        "1500",
        "--tests",
        "ks,chi2",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let chunks = json["chunks"].as_array().expect("chunks list");
    let spans: Vec<(u64, u64, u64)> = chunks
        .iter()
        .map(|c| {
            let n = |k: &str| c[k].as_u64().expect("integer");
            (n("index"), n("start"), n("end"))
        })
        .collect();
    assert_eq!(
        spans,
        [
            (0, 0, 1500),
            (1, 1500, 3000),
            (2, 3000, 4500),
            (3, 4500, 5000)
        ]
    );
    for chunk in chunks {
        assert_eq!(chunk["features"].as_array().map(Vec::len), Some(12));
        assert!(chunk["multivariate"].is_null(), "MMD was not requested");
        let income = &chunk["features"][1];
        assert_eq!(income["name"], "annual_income");
        let rows = chunk["end"].as_u64().expect("end") - chunk["start"].as_u64().expect("start");
        assert_eq!(income["n_current"].as_u64(), Some(rows));
        // The income shift is large enough to show in every chunk, even the last 500 rows.
        assert_eq!(income["drift"], true, "{chunk}");
    }
    // Without --chunk-size there is no `chunks` key at all.
    let out = drifttap(&[
        "check",
        &example("reference.parquet"),
        &example("current-stable.parquet"),
        "--exclude",
        LEAVE_OUT,
        "--tests",
        "ks",
        "--format",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert!(json.get("chunks").is_none());
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
    // A column that stops arriving is drift: its missing share went from 0 to 1.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let age = &json["features"][0];
    assert_eq!(age["name"], "age");
    assert_eq!(age["test"], "none");
    assert_eq!(age["missing_current"], 1.0);
    assert_eq!(age["n_current"], 0);
    assert_eq!(age["missing_drift"], true);
    assert_eq!(json["features"][1]["test"], "ks");
    assert_eq!(json["features"][1]["drift"], false);
    // The joint test still runs, over the features with values on both sides.
    assert_eq!(
        json["multivariate"]["test"], "mmd",
        "{}",
        json["multivariate"]
    );
    assert_eq!(
        json["multivariate"]["features"],
        serde_json::json!(["income"])
    );
    let _ = std::fs::remove_dir_all(&dir);
}
