//! Writes the seed corpus of the `decode` fuzz target into `fuzz/corpus/decode/`: one file per
//! seed, its first byte the selector (see `../selectors.rs`), the rest a body of every format
//! the decoders read, well-formed and subtly not.

use std::sync::Arc;

use arrow_array::builder::StringDictionaryBuilder;
use arrow_array::types::Int8Type;
use arrow_array::{
    ArrayRef, BooleanArray, Decimal128Array, Float32Array, Float64Array, Int64Array,
    LargeStringArray, RecordBatch, StringArray,
};
use arrow_ipc::writer::StreamWriter;

#[path = "../../selectors.rs"]
#[expect(dead_code, reason = "the selectors' contents are for the fuzz target")]
mod selectors;

use selectors::{ARROW, BATCH, BINARY_REQUEST, BINARY_RESPONSE, JSON, SNIFF, STRUCTURED};

/// JSON bodies: records, KServe V1, TF-serving, KServe V2, edge cases of the value rules.
const JSON_BODIES: &[&str] = &[
    r#"[{"age": 41, "income": 52000.5, "home": "RENT", "term": 36}, {"age": null, "home": true}]"#,
    r#"{"age": 3, "home": "OWN", "extra": [1, {"x": 2}]}"#,
    r#"{"instances": [[39, 52000, "RENT", 36, 1], [51, 61000, "OWN", 60, 0], [1, 2]]}"#,
    r#"{"instances": [{"age": 1e999, "income": -1e400, "term": 123456789012345678901}]}"#,
    r#"{"instances": [1, 2, 3], "signature_name": "serving_default"}"#,
    r#"{"inputs": {"age": [1, 2, 3], "home": ["RENT", "OWN"], "term": 36}}"#,
    r#"{"inputs": [[1, 2, "A", 36, 0], {"age": 5}]}"#,
    r#"{"predictions": [1, 0, "yes", {"prediction": 1, "age": 3}, [1, 2, "B", 3, 4]]}"#,
    r#"{"id": "1", "inputs": [
        {"name": "age", "shape": [3], "datatype": "INT64", "data": [30, 40, null]},
        {"name": "income", "shape": [3, 1], "datatype": "FP32", "data": [[1.5], [2.5], [3.5]]},
        {"name": "home", "shape": [3], "datatype": "BYTES", "data": ["RENT", "OWN", "RENT"]},
        {"name": "term", "shape": [3], "datatype": "BOOL", "data": [true, false, true]}],
        "outputs": [{"name": "predict"}]}"#,
    r#"{"inputs": [{"name": "input-0", "shape": [2, 5], "datatype": "FP64",
        "data": [[1, 2, 3, 36, 0], [4, 5, 6, 60, 1]]}]}"#,
    r#"{"inputs": [{"name": "x", "shape": [1000000000000, 0], "datatype": "FP64", "data": []}]}"#,
    r#"{"inputs": [{"name": "age", "shape": [4294967296, 4294967296], "datatype": "FP16", "data": [1]}]}"#,
    r#"{"model_name": "m", "outputs": [{"name": "prediction", "shape": [2], "datatype": "INT64", "data": [1, 0]},
        {"name": "p", "shape": [2], "datatype": "FP32", "parameters": {"binary_data_size": 8}}]}"#,
    r#"[{"home": "a\"b\\u00e9\u00e9", "term": 2e308, "age": -0.0, "income": 0.1e-400}]"#,
];

fn main() -> std::io::Result<()> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/decode");
    std::fs::create_dir_all(&dir)?;
    let mut seeds: Vec<(u8, Vec<u8>)> = Vec::new();
    for body in JSON_BODIES {
        for selector in [JSON, SNIFF, BINARY_REQUEST] {
            seeds.push((selector, body.as_bytes().to_vec()));
        }
    }
    let arrow = arrow_streams();
    for stream in &arrow {
        seeds.push((ARROW, stream.clone()));
        seeds.push((SNIFF, stream.clone()));
        // Truncated: the reader must fail cleanly.
        seeds.push((ARROW, stream[..stream.len() * 2 / 3].to_vec()));
    }
    let event = |data: &str| {
        format!(
            r#"{{"specversion": "1.0", "id": "1", "source": "/m",
                "type": "org.kubeflow.serving.inference.request",
                "datacontenttype": "application/json", "data": {data}}}"#
        )
    };
    let structured = [
        event(JSON_BODIES[2]),
        event(JSON_BODIES[8]),
        format!(
            r#"{{"specversion": "1.0", "type": "x.response", "datacontenttype": "application/json",
                "data_base64": "{}"}}"#,
            base64(JSON_BODIES[7].as_bytes())
        ),
        format!(
            r#"{{"specversion": "1.0", "type": "x.request",
                "datacontenttype": "application/vnd.apache.arrow.stream", "data_base64": "{}"}}"#,
            base64(&arrow[0])
        ),
        r#"{"specversion": "1.0", "type": "x.request"}"#.to_string(),
    ];
    for body in &structured {
        seeds.push((STRUCTURED, body.clone().into_bytes()));
        seeds.push((SNIFF, body.clone().into_bytes()));
    }
    let batch = format!(
        "[{}, {}, {}]",
        structured[0],
        structured[2],
        event(JSON_BODIES[0]).replace("request", "response")
    );
    seeds.push((BATCH, batch.clone().into_bytes()));
    seeds.push((SNIFF, batch.into_bytes()));
    seeds.push((BINARY_RESPONSE, JSON_BODIES[7].as_bytes().to_vec()));
    seeds.push((BINARY_RESPONSE, JSON_BODIES[12].as_bytes().to_vec()));
    for (i, (selector, body)) in seeds.iter().enumerate() {
        let mut input = vec![*selector];
        input.extend_from_slice(body);
        std::fs::write(dir.join(format!("seed-{i:03}")), input)?;
    }
    println!("{} seeds in {}", seeds.len(), dir.display());
    Ok(())
}

/// Arrow IPC streams of every supported column type, with nulls, NaN and an unknown column.
fn arrow_streams() -> Vec<Vec<u8>> {
    let term: ArrayRef = {
        let mut b = StringDictionaryBuilder::<Int8Type>::new();
        b.append_value("36");
        b.append_null();
        b.append_value("60");
        Arc::new(b.finish())
    };
    let income = Decimal128Array::from(vec![Some(5_200_050), None, Some(-125)])
        .with_precision_and_scale(10, 2)
        .expect("a valid decimal");
    let first = RecordBatch::try_from_iter([
        (
            "age",
            Arc::new(Float64Array::from(vec![41.5, f64::NAN, -3.0])) as ArrayRef,
        ),
        ("income", Arc::new(income)),
        (
            "home",
            Arc::new(StringArray::from(vec![Some("RENT"), None, Some("OWN")])),
        ),
        ("term", term),
        ("id", Arc::new(Int64Array::from(vec![1, 2, 3]))),
    ])
    .expect("columns of one length");
    let second = RecordBatch::try_from_iter([
        ("age", Arc::new(Int64Array::from(vec![36, 60])) as ArrayRef),
        (
            "income",
            Arc::new(Float32Array::from(vec![0.5, f32::INFINITY])),
        ),
        ("home", Arc::new(BooleanArray::from(vec![Some(true), None]))),
        ("term", Arc::new(LargeStringArray::from(vec!["36", "60"]))),
        ("prediction", Arc::new(Int64Array::from(vec![1, 0]))),
    ])
    .expect("columns of one length");
    [first, second]
        .iter()
        .map(|batch| {
            let mut out = Vec::new();
            let mut writer = StreamWriter::try_new(&mut out, &batch.schema()).expect("a writer");
            writer.write(batch).expect("a batch");
            writer.write(batch).expect("a second batch");
            writer.finish().expect("the end of stream");
            drop(writer);
            out
        })
        .collect()
}

/// Base64 with the standard alphabet and padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
