//! Payload decoding, single core: 1 000 rows × 20 features (16 numeric, 4 categorical) per
//! payload as KServe V2 JSON (one tensor per feature, and one [1000, 20] FP64 tensor), KServe V1
//! `instances` objects, JSON records and an Arrow IPC stream. Throughput is both bytes and rows
//! per second.
//!
//! `cargo bench --bench decode`

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_ipc::writer::StreamWriter;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use drifttap::data::Kind;
use drifttap::sidecar::ingest::decode::{Schema, decode};
use drifttap::stats::synth;
use serde_json::{Map, Value as Json, json};

const ROWS: usize = 1_000;
const NUMERIC: usize = 16;
const CATEGORICAL: usize = 4;
const HOMES: [&str; 4] = ["RENT", "OWN", "MORTGAGE", "OTHER"];

/// The columns of one payload: numbers rounded to 4 decimals (as a client would print them),
/// and categories drawn from four.
struct Columns {
    names: Vec<String>,
    numbers: Vec<Vec<f64>>,
    categories: Vec<Vec<&'static str>>,
}

fn columns() -> Columns {
    let numbers = (0..NUMERIC)
        .map(|f| {
            synth::normal(f as u64, ROWS, 100.0 * f as f64, 1.0 + f as f64)
                .into_iter()
                .map(|v| (v * 1e4).round() / 1e4)
                .collect()
        })
        .collect();
    let categories = (0..CATEGORICAL)
        .map(|f| {
            synth::normal(100 + f as u64, ROWS, 0.0, 1.0)
                .into_iter()
                .map(|v| HOMES[((v.abs() * 2.0) as usize).min(3)])
                .collect()
        })
        .collect();
    let names = (0..NUMERIC)
        .map(|f| format!("num_{f:02}"))
        .chain((0..CATEGORICAL).map(|f| format!("cat_{f}")))
        .collect();
    Columns {
        names,
        numbers,
        categories,
    }
}

fn schema(c: &Columns) -> Schema {
    let features: Vec<(String, Kind)> = c
        .names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let kind = if i < NUMERIC {
                Kind::Numeric
            } else {
                Kind::Categorical
            };
            (name.clone(), kind)
        })
        .collect();
    Schema::new(&features)
}

/// Row `r` as a JSON object keyed by feature name.
fn record(c: &Columns, r: usize) -> Json {
    let mut row = Map::new();
    for (f, values) in c.numbers.iter().enumerate() {
        row.insert(c.names[f].clone(), json!(values[r]));
    }
    for (f, values) in c.categories.iter().enumerate() {
        row.insert(c.names[NUMERIC + f].clone(), json!(values[r]));
    }
    Json::Object(row)
}

fn v2_per_feature(c: &Columns) -> Vec<u8> {
    let numeric = c.numbers.iter().enumerate().map(|(f, values)| {
        json!({"name": c.names[f], "shape": [ROWS], "datatype": "FP64", "data": values})
    });
    let categorical = c.categories.iter().enumerate().map(|(f, values)| {
        json!({"name": c.names[NUMERIC + f], "shape": [ROWS], "datatype": "BYTES", "data": values})
    });
    let inputs: Vec<Json> = numeric.chain(categorical).collect();
    serde_json::to_vec(&json!({"id": "bench", "inputs": inputs})).expect("serialisable")
}

/// One FP64 matrix; the categorical columns carry integer codes (as integer columns tested
/// as categories do).
fn v2_matrix(c: &Columns) -> Vec<u8> {
    let mut data = Vec::with_capacity(ROWS * (NUMERIC + CATEGORICAL));
    for r in 0..ROWS {
        data.extend(c.numbers.iter().map(|values| json!(values[r])));
        data.extend(c.categories.iter().map(|values| {
            json!(HOMES.iter().position(|h| *h == values[r]).unwrap_or(0) * 12 + 36)
        }));
    }
    let tensor = json!({
        "name": "input-0", "shape": [ROWS, NUMERIC + CATEGORICAL], "datatype": "FP64", "data": data
    });
    serde_json::to_vec(&json!({"inputs": [tensor]})).expect("serialisable")
}

fn v1_instances(c: &Columns) -> Vec<u8> {
    let instances: Vec<Json> = (0..ROWS).map(|r| record(c, r)).collect();
    serde_json::to_vec(&json!({ "instances": instances })).expect("serialisable")
}

fn records(c: &Columns) -> Vec<u8> {
    let rows: Vec<Json> = (0..ROWS).map(|r| record(c, r)).collect();
    serde_json::to_vec(&rows).expect("serialisable")
}

fn arrow_stream(c: &Columns) -> Vec<u8> {
    let numeric = c.numbers.iter().enumerate().map(|(f, values)| {
        let array: ArrayRef = Arc::new(Float64Array::from(values.clone()));
        (c.names[f].clone(), array)
    });
    let categorical = c.categories.iter().enumerate().map(|(f, values)| {
        let array: ArrayRef = Arc::new(StringArray::from(values.clone()));
        (c.names[NUMERIC + f].clone(), array)
    });
    let batch = RecordBatch::try_from_iter(numeric.chain(categorical)).expect("one length");
    let mut out = Vec::new();
    let mut writer = StreamWriter::try_new(&mut out, &batch.schema()).expect("writer");
    writer.write(&batch).expect("write");
    writer.finish().expect("finish");
    drop(writer);
    out
}

fn decode_payloads(c: &mut Criterion) {
    let data = columns();
    let schema = schema(&data);
    let payloads: [(&str, &str, Vec<u8>); 5] = [
        (
            "kserve_v2_tensor_per_feature",
            "application/json",
            v2_per_feature(&data),
        ),
        (
            "kserve_v2_matrix_1000x20",
            "application/json",
            v2_matrix(&data),
        ),
        (
            "kserve_v1_instances",
            "application/json",
            v1_instances(&data),
        ),
        ("json_records", "application/json", records(&data)),
        (
            "arrow_ipc_stream",
            "application/vnd.apache.arrow.stream",
            arrow_stream(&data),
        ),
    ];
    let mut group = c.benchmark_group("decode/1000x20");
    for (name, content_type, body) in &payloads {
        let decoded = decode(&schema, Some(content_type), None, body).expect("bench payload");
        assert_eq!(decoded.rows, ROWS, "{name}");
        assert!(
            decoded.dropped.is_empty() && decoded.unknown_fields == 0,
            "{name}"
        );
        group.throughput(Throughput::ElementsAndBytes {
            elements: ROWS as u64,
            bytes: body.len() as u64,
        });
        group.bench_with_input(BenchmarkId::from_parameter(name), body, |b, body| {
            b.iter(|| decode(&schema, Some(content_type), None, body))
        });
    }
    group.finish();
}

criterion_group!(benches, decode_payloads);
criterion_main!(benches);
