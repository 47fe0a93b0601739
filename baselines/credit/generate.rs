//! Generates the bundled credit-risk example: a loan-application model's training data and two
//! production samples, one stable and one drifted. Deterministic (counter-based generator, fixed
//! seeds), so the committed files can always be rebuilt and checked:
//!
//! ```text
//! cargo run --release --example generate_credit -- baselines/credit
//! ```
//!
//! What drifts in `current-drifted.parquet` is described in `baselines/credit/README.md`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{
    ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray, TimestampSecondArray,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use drifttap::stats::synth;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

const HOME: [&str; 3] = ["RENT", "MORTGAGE", "OWN"];
const PURPOSE: [&str; 6] = [
    "debt_consolidation",
    "credit_card",
    "home_improvement",
    "car",
    "medical",
    "other",
];
const EMPLOYMENT: [&str; 4] = ["salaried", "self_employed", "contract", "retired"];
const TERMS: [i32; 4] = [12, 24, 36, 60];

/// How a sample differs from the training distribution.
struct Shift {
    /// Multiplier on incomes (inflation, a new customer segment).
    income_factor: f64,
    /// Points added to credit scores.
    score_shift: f64,
    /// Multiplier on the spread of credit-card utilisation.
    utilisation_spread: f64,
    /// Purpose weights, with a seventh category the training data never had.
    purpose_weights: [f64; 7],
    /// Share of applications with `months_employed` missing.
    employment_missing: f64,
}

const TRAINING: Shift = Shift {
    income_factor: 1.0,
    score_shift: 0.0,
    utilisation_spread: 1.0,
    purpose_weights: [0.38, 0.24, 0.12, 0.11, 0.05, 0.10, 0.0],
    employment_missing: 0.02,
};

const DRIFTED: Shift = Shift {
    income_factor: 1.12,
    score_shift: -18.0,
    utilisation_spread: 1.3,
    purpose_weights: [0.46, 0.20, 0.08, 0.09, 0.05, 0.07, 0.05],
    employment_missing: 0.09,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out: PathBuf = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "baselines/credit".into())
        .into();
    std::fs::create_dir_all(&out)?;
    write(
        &out.join("reference.parquet"),
        &sample(1_000, 50_000, &TRAINING, 1_672_531_200),
    )?;
    write(
        &out.join("current-stable.parquet"),
        &sample(2_000, 5_000, &TRAINING, 1_704_067_200),
    )?;
    write(
        &out.join("current-drifted.parquet"),
        &sample(3_000, 5_000, &DRIFTED, 1_704_067_200),
    )?;
    println!(
        "wrote reference.parquet, current-stable.parquet, current-drifted.parquet to {}",
        out.display()
    );
    Ok(())
}

/// `rows` applications from stream family `seed`, dated from `start` (Unix seconds) onwards.
fn sample(seed: u64, rows: usize, shift: &Shift, start: i64) -> RecordBatch {
    let n = rows as u64;
    let u = |stream: u64, i: u64| synth::uniform(seed + stream, i);
    let z = |stream: u64, i: u64| synth::standard_normal(seed + stream, i);
    let pick = |stream: u64, i: u64, weights: &[f64]| {
        let total: f64 = weights.iter().sum();
        let target = u(stream, i) * total;
        let mut acc = 0.0;
        weights
            .iter()
            .position(|w| {
                acc += w;
                target < acc
            })
            .unwrap_or(weights.len() - 1)
    };
    let mut purpose_names: Vec<&str> = PURPOSE.to_vec();
    purpose_names.push("buy_now_pay_later");

    let ids: Vec<i64> = (0..n as i64).map(|i| seed as i64 * 1_000_000 + i).collect();
    let applied: Vec<i64> = (0..n).map(|i| start + (i as i64) * 600).collect();
    let age: Vec<i32> = (0..n)
        .map(|i| (38.0 + 11.0 * z(1, i)).clamp(18.0, 85.0).round() as i32)
        .collect();
    let income: Vec<f64> = (0..n)
        .map(|i| ((10.8 + 0.45 * z(2, i)).exp() * shift.income_factor / 10.0).round() * 10.0)
        .collect();
    let term: Vec<i32> = (0..n)
        .map(|i| TERMS[pick(3, i, &[0.15, 0.25, 0.4, 0.2])])
        .collect();
    let loan: Vec<f64> = (0..n)
        .map(|i| ((income[i as usize] * (0.25 + 0.2 * u(4, i))) / 50.0).round() * 50.0)
        .collect();
    let score: Vec<i32> = (0..n)
        .map(|i| {
            (690.0 + shift.score_shift + 55.0 * z(5, i))
                .clamp(300.0, 850.0)
                .round() as i32
        })
        .collect();
    let dti: Vec<f64> = (0..n)
        .map(|i| (0.28 + 0.09 * z(6, i)).clamp(0.0, 0.95))
        .collect();
    let utilisation: Vec<f64> = (0..n)
        .map(|i| (0.35 + 0.18 * shift.utilisation_spread * z(7, i)).clamp(0.0, 1.0))
        .collect();
    let accounts: Vec<i32> = (0..n)
        .map(|i| (5.0 + 2.5 * z(8, i)).max(0.0).round() as i32)
        .collect();
    let employed: Vec<Option<i32>> = (0..n)
        .map(|i| {
            (u(9, i) >= shift.employment_missing)
                .then(|| (60.0 + 40.0 * z(10, i).abs()).round() as i32)
        })
        .collect();
    let home: Vec<&str> = (0..n)
        .map(|i| HOME[pick(11, i, &[0.42, 0.4, 0.18])])
        .collect();
    let purpose: Vec<&str> = (0..n)
        .map(|i| purpose_names[pick(12, i, &shift.purpose_weights)])
        .collect();
    let employment: Vec<&str> = (0..n)
        .map(|i| EMPLOYMENT[pick(13, i, &[0.68, 0.17, 0.1, 0.05])])
        .collect();
    // The training label: default risk rises with debt and utilisation, falls with score.
    let defaulted: Vec<i32> = (0..n)
        .map(|i| {
            let k = i as usize;
            let logit = -2.2 + 3.0 * (dti[k] - 0.28) + 2.0 * (utilisation[k] - 0.35)
                - 0.012 * (score[k] as f64 - 690.0);
            i32::from(u(14, i) < 1.0 / (1.0 + (-logit).exp()))
        })
        .collect();

    let columns: Vec<(&str, ArrayRef)> = vec![
        ("application_id", Arc::new(Int64Array::from(ids))),
        ("applied_at", Arc::new(TimestampSecondArray::from(applied))),
        ("age", Arc::new(Int32Array::from(age))),
        ("annual_income", Arc::new(Float64Array::from(income))),
        ("loan_amount", Arc::new(Float64Array::from(loan))),
        ("term_months", Arc::new(Int32Array::from(term))),
        ("credit_score", Arc::new(Int32Array::from(score))),
        ("debt_to_income", Arc::new(Float64Array::from(dti))),
        (
            "card_utilisation",
            Arc::new(Float64Array::from(utilisation)),
        ),
        ("open_accounts", Arc::new(Int32Array::from(accounts))),
        ("months_employed", Arc::new(Int32Array::from(employed))),
        ("home_ownership", Arc::new(StringArray::from(home))),
        ("loan_purpose", Arc::new(StringArray::from(purpose))),
        ("employment_type", Arc::new(StringArray::from(employment))),
        ("defaulted", Arc::new(Int32Array::from(defaulted))),
    ];
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, array)| {
            let data_type = match array.data_type() {
                DataType::Timestamp(_, _) => DataType::Timestamp(TimeUnit::Second, None),
                other => other.clone(),
            };
            Field::new(
                *name,
                data_type,
                array.null_count() > 0 || *name == "months_employed",
            )
        })
        .collect();
    RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .expect("columns match the schema")
}

fn write(path: &Path, batch: &RecordBatch) -> Result<(), Box<dyn std::error::Error>> {
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(9)?))
        .set_created_by("drifttap generate_credit".into())
        .build();
    let mut writer = ArrowWriter::try_new(File::create(path)?, batch.schema(), Some(properties))?;
    writer.write(batch)?;
    writer.close()?;
    Ok(())
}
