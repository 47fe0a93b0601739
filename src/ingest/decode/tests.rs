//! Tests of the JSON formats (records, KServe V1 and V2), the value rules, content-type
//! dispatch and the error codes; CloudEvents and Arrow have theirs in their modules and share
//! the helpers here.

use super::*;
use crate::baseline::read::Values;
use crate::baseline::select::categories_of;

/// `age`, `income` (numeric), `home`, `term` (categorical).
pub(super) fn schema() -> Schema {
    Schema::new(&[
        ("age".to_string(), Kind::Numeric),
        ("income".to_string(), Kind::Numeric),
        ("home".to_string(), Kind::Categorical),
        ("term".to_string(), Kind::Categorical),
    ])
}

pub(super) fn num(v: f64) -> Value {
    Value::Number(v)
}

pub(super) fn cat(s: &str) -> Value {
    Value::Category(s.to_string())
}

pub(super) const M: Value = Value::Missing;

/// The rows of a decode, for comparing.
pub(super) fn table(decoded: &Decoded, schema: &Schema) -> Vec<Vec<Value>> {
    assert_eq!(decoded.values.len(), decoded.rows * schema.len());
    decoded.rows(schema.len()).map(<[Value]>::to_vec).collect()
}

fn json(body: &str) -> Result<Decoded, DecodeError> {
    decode(&schema(), Some("application/json"), None, body.as_bytes())
}

fn json_ok(body: &str) -> (Vec<Vec<Value>>, Decoded) {
    let decoded = json(body).unwrap_or_else(|e| panic!("{body}: {e}"));
    (table(&decoded, &schema()), decoded)
}

fn dropped(non_finite: u64, wrong_type: u64, width_mismatch: u64) -> Dropped {
    Dropped {
        non_finite,
        wrong_type,
        width_mismatch,
        row_limit: 0,
    }
}

#[test]
fn records_an_array_of_objects_or_one_object() {
    let (rows, d) = json_ok(
        r#"[{"age": 41, "income": 52000.5, "home": "RENT", "term": 36},
            {"term": "60", "home": "OWN", "age": 29.5, "income": 1e3}]"#,
    );
    assert_eq!(
        rows,
        vec![
            vec![num(41.0), num(52000.5), cat("RENT"), cat("36")],
            vec![num(29.5), num(1000.0), cat("OWN"), cat("60")],
        ]
    );
    assert_eq!(
        (d.dropped, d.unknown_fields, d.direction),
        (Dropped::default(), 0, None)
    );
    let (rows, _) = json_ok(r#"{"age": 3, "home": "RENT"}"#);
    assert_eq!(rows, vec![vec![num(3.0), M, cat("RENT"), M]]);
}

#[test]
fn numeric_features_take_numbers_and_drop_the_rest_by_reason() {
    let (rows, d) = json_ok(
        r#"[{"age": 1}, {"age": -2.5}, {"age": 1e999}, {"age": -1e400}, {"age": "3"},
            {"age": true}, {"age": {"v": 1}}, {"age": [1]}, {"age": null}]"#,
    );
    let ages: Vec<Value> = rows.iter().map(|r| r[0].clone()).collect();
    assert_eq!(ages, vec![num(1.0), num(-2.5), M, M, M, M, M, M, M]);
    assert_eq!(d.dropped, dropped(2, 4, 0));
}

#[test]
fn categorical_features_take_strings_booleans_and_numbers_as_baselines_name_them() {
    let (rows, d) = json_ok(
        r#"[{"home": "RENT"}, {"home": true}, {"home": false}, {"home": 36}, {"home": 0.5},
            {"home": -0.0}, {"home": 1e999}, {"home": {}}, {"home": []}, {"home": null},
            {"home": ""}]"#,
    );
    let homes: Vec<Value> = rows.iter().map(|r| r[2].clone()).collect();
    let expected = [
        cat("RENT"),
        cat("true"),
        cat("false"),
        cat("36"),
        cat("0.5"),
        cat("0"),
        M,
        M,
        M,
        M,
        cat(""),
    ];
    assert_eq!(homes, expected);
    assert_eq!(d.dropped, dropped(1, 2, 0));
}

#[test]
fn number_names_are_those_of_baseline_categories() {
    for v in [
        36.0,
        0.5,
        -3.0,
        1e21,
        123456.789,
        1e-7,
        f64::MAX,
        0.1 + 0.2,
        -1e15,
        9007199254740991.0,
        9007199254740992.0,
        -9007199254740994.0,
    ] {
        let Values::Categorical { names, .. } = categories_of(&[v]) else {
            panic!("categories_of gives categories");
        };
        assert_eq!(vec![number_name(v)], names, "{v}");
    }
    // Baselines make −0 and +0 one category; the decoder names both `0`.
    assert_eq!(number_name(-0.0), "0");
}

#[test]
fn absent_features_are_missing_and_unknown_fields_are_counted_per_occurrence() {
    let (rows, d) = json_ok(r#"[{"age": 1, "id": 7}, {"id": 8, "ts": "x"}, {}]"#);
    assert_eq!(rows, vec![vec![num(1.0), M, M, M], vec![M; 4], vec![M; 4]]);
    assert_eq!(d.unknown_fields, 3);
    assert!(d.dropped.is_empty());
}

#[test]
fn long_integers_and_overflowing_literals_cost_one_value() {
    let (rows, d) = json_ok(
        r#"[{"age": 123456789012345678901, "home": 100000000000000000000, "term": 1e999,
             "income": 18446744073709551615}]"#,
    );
    assert_eq!(
        rows,
        vec![vec![
            num(123456789012345678901.0),
            num(18446744073709551615.0),
            cat("100000000000000000000"),
            M
        ]]
    );
    assert_eq!(d.dropped, dropped(1, 0, 0));
}

#[test]
fn overflow_markers_cannot_be_forged_by_strings() {
    // The marker for `1e999` is `"xxx"`; a real `"xxx"` stays a category.
    let (rows, d) = json_ok(r#"[{"home": "xxx", "term": 1e999, "age": "xxx"}]"#);
    assert_eq!(rows, vec![vec![M, M, cat("xxx"), M]]);
    assert_eq!(d.dropped, dropped(1, 1, 0));
    // Escaped strings are unescaped in place and are not markers either.
    let (rows, _) = json_ok(r#"[{"home": "a\"b", "term": 2e999, "age": 1}]"#);
    assert_eq!(rows, vec![vec![num(1.0), M, cat("a\"b"), M]]);
}

#[test]
fn v1_instances_by_name_or_by_position() {
    let (rows, d) = json_ok(
        r#"{"instances": [{"age": 1, "home": "RENT"}, [2, 3.5, "OWN", 60], [1, 2], [1, 2, 3, 4, 5],
            [4, null, null, "36"]], "signature_name": "serving_default"}"#,
    );
    assert_eq!(
        rows,
        vec![
            vec![num(1.0), M, cat("RENT"), M],
            vec![num(2.0), num(3.5), cat("OWN"), cat("60")],
            vec![num(4.0), M, M, cat("36")],
        ]
    );
    assert_eq!(d.dropped, dropped(0, 0, 2));
    assert_eq!(d.unknown_fields, 0, "envelope members are not fields");
}

#[test]
fn v1_scalar_instances_are_rows_of_a_one_feature_model() {
    let one = Schema::new(&[("x".to_string(), Kind::Numeric)]);
    let d = decode(&one, None, None, br#"{"instances": [1, 2.5, "a"]}"#).expect("decodes");
    assert_eq!(
        table(&d, &one),
        vec![vec![num(1.0)], vec![num(2.5)], vec![M]]
    );
    assert_eq!(d.dropped, dropped(0, 1, 0));
    let (rows, d) = json_ok(r#"{"instances": [1, 2]}"#);
    assert!(rows.is_empty());
    assert_eq!(d.dropped, dropped(0, 0, 2));
}

#[test]
fn tf_serving_inputs_as_rows_or_columns() {
    let (rows, _) = json_ok(r#"{"inputs": [[1, 2, "RENT", 36], {"age": 5}]}"#);
    assert_eq!(
        rows,
        vec![
            vec![num(1.0), num(2.0), cat("RENT"), cat("36")],
            vec![num(5.0), M, M, M]
        ]
    );
    let (rows, d) = json_ok(
        r#"{"inputs": {"age": [1, 2, 3], "home": ["RENT", "OWN"], "other": [0, 0, 0], "term": 36}}"#,
    );
    assert_eq!(
        rows,
        vec![
            vec![num(1.0), M, cat("RENT"), cat("36")],
            vec![num(2.0), M, cat("OWN"), M],
            vec![num(3.0), M, M, M],
        ]
    );
    assert_eq!(d.unknown_fields, 1);
    let (rows, _) = json_ok(r#"{"outputs": {"age": [7]}}"#);
    assert_eq!(rows, vec![vec![num(7.0), M, M, M]]);
}

#[test]
fn v1_predictions_scalars_go_to_the_prediction_feature() {
    let with_prediction = Schema::new(&[
        ("age".to_string(), Kind::Numeric),
        ("prediction".to_string(), Kind::Categorical),
    ]);
    let body = br#"{"predictions": [1, 0, "yes", {"age": 3, "prediction": 1}, [5, 2]]}"#;
    let d = decode(&with_prediction, None, None, body).expect("decodes");
    assert_eq!(
        table(&d, &with_prediction),
        vec![
            vec![M, cat("1")],
            vec![M, cat("0")],
            vec![M, cat("yes")],
            vec![num(3.0), cat("1")],
            vec![num(5.0), cat("2")],
        ]
    );
    // Without a `prediction` feature, a scalar prediction is a row with nothing known.
    let (rows, d) = json_ok(r#"{"predictions": [0.9, 0.1]}"#);
    assert_eq!(rows, vec![vec![M; 4], vec![M; 4]]);
    assert_eq!(d.unknown_fields, 2);
}

#[test]
fn v2_one_tensor_per_feature() {
    let (rows, d) = json_ok(
        r#"{"id": "42", "model_name": "credit", "parameters": {"content_type": "pd"},
            "inputs": [
              {"name": "age", "shape": [3], "datatype": "INT64", "data": [30, 40, null]},
              {"name": "income", "shape": [3, 1], "datatype": "FP32", "data": [[1.5], [2.5], [3.5]]},
              {"name": "home", "shape": [3], "datatype": "BYTES", "data": ["RENT", "OWN", "RENT"],
               "parameters": {"content_type": "str"}},
              {"name": "term", "shape": [3], "datatype": "BOOL", "data": [true, false, true]},
              {"name": "id", "shape": [3], "datatype": "INT32", "data": [1, 2, 3]}
            ],
            "outputs": [{"name": "predict"}]}"#,
    );
    assert_eq!(
        rows,
        vec![
            vec![num(30.0), num(1.5), cat("RENT"), cat("true")],
            vec![num(40.0), num(2.5), cat("OWN"), cat("false")],
            vec![M, num(3.5), cat("RENT"), cat("true")],
        ]
    );
    assert_eq!(
        d.unknown_fields, 1,
        "the id tensor; requested outputs are not fields"
    );
    assert!(d.dropped.is_empty());
}

#[test]
fn v2_feature_matrix_flat_or_nested() {
    for data in [
        "[1, 2, \"A\", 36, 3, 4, \"B\", 60]",
        "[[1, 2, \"A\", 36], [3, 4, \"B\", 60]]",
    ] {
        let body = format!(
            r#"{{"inputs": [{{"name": "input-0", "shape": [2, 4], "datatype": "BYTES", "data": {data}}}]}}"#
        );
        let (rows, d) = json_ok(&body);
        assert_eq!(
            rows,
            vec![
                vec![num(1.0), num(2.0), cat("A"), cat("36")],
                vec![num(3.0), num(4.0), cat("B"), cat("60")],
            ],
            "{data}"
        );
        assert_eq!(d.unknown_fields, 0);
    }
}

#[test]
fn v2_feature_matrix_of_the_wrong_width_counts_its_rows() {
    let (rows, d) = json_ok(
        r#"{"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP64", "data": [1, 2, 3, 4, 5, 6]},
                       {"name": "age", "shape": [2], "datatype": "FP64", "data": [7, 8]}]}"#,
    );
    assert_eq!(rows, vec![vec![num(7.0), M, M, M], vec![num(8.0), M, M, M]]);
    assert_eq!(d.dropped, dropped(0, 0, 2));
    // Only the first unnamed matrix is the feature matrix.
    let (_, d) = json_ok(
        r#"{"inputs": [{"name": "a", "shape": [1, 4], "datatype": "FP64", "data": [1, 2, 3, 4]},
                       {"name": "b", "shape": [1, 4], "datatype": "FP64", "data": [1, 2, 3, 4]}]}"#,
    );
    assert_eq!(d.unknown_fields, 1);
}

#[test]
fn v2_feature_tensors_of_another_shape_are_wrong_type() {
    let (rows, d) = json_ok(
        r#"{"inputs": [{"name": "age", "shape": [2, 2], "datatype": "FP64", "data": [1, 2, null, 4]}]}"#,
    );
    assert!(rows.is_empty());
    assert_eq!(d.dropped, dropped(0, 3, 0));
}

#[test]
fn v2_tensors_of_different_lengths_give_the_longest_with_missing_values() {
    let (rows, _) = json_ok(
        r#"{"inputs": [{"name": "age", "shape": [1], "datatype": "FP64", "data": [1]},
                       {"name": "home", "shape": [3], "datatype": "BYTES", "data": ["a", "b", "c"]}]}"#,
    );
    assert_eq!(
        rows,
        vec![
            vec![num(1.0), M, cat("a"), M],
            vec![M, M, cat("b"), M],
            vec![M, M, cat("c"), M]
        ]
    );
}

#[test]
fn v2_outputs_of_a_response_match_by_name() {
    let with_prediction = Schema::new(&[("prediction".to_string(), Kind::Categorical)]);
    let body = br#"{"model_name": "m", "outputs": [
        {"name": "prediction", "shape": [2], "datatype": "INT64", "data": [1, 0]},
        {"name": "proba", "shape": [2, 1], "datatype": "FP32", "data": [0.9, 0.2]},
        {"name": "binary", "shape": [2], "datatype": "FP32", "parameters": {"binary_data_size": 8}}]}"#;
    let d = decode(&with_prediction, None, None, body).expect("decodes");
    assert_eq!(
        table(&d, &with_prediction),
        vec![vec![cat("1")], vec![cat("0")]]
    );
    assert_eq!(
        d.unknown_fields, 1,
        "proba; the binary output has no data to judge"
    );
}

#[test]
fn v2_malformed_tensors_are_invalid_tensor() {
    let tensor = |t: &str| format!(r#"{{"inputs": [{t}]}}"#);
    for bad in [
        r#"{"name": "age", "shape": [3], "datatype": "FP64", "data": [1, 2]}"#,
        r#"{"name": "age", "shape": [1000000, 1000000], "datatype": "FP64", "data": [1]}"#,
        r#"{"name": "age", "shape": [4294967296, 4294967296, 4294967296], "datatype": "FP64", "data": []}"#,
        r#"{"name": "age", "shape": [-1], "datatype": "FP64", "data": [1]}"#,
        r#"{"name": "age", "shape": [1.5], "datatype": "FP64", "data": [1]}"#,
        r#"{"name": "age", "shape": "1", "datatype": "FP64", "data": [1]}"#,
        r#"{"name": "age", "shape": [1], "datatype": "COMPLEX", "data": [1]}"#,
        r#"{"name": "age", "shape": [1], "data": [1]}"#,
        r#"{"shape": [1], "datatype": "FP64", "data": [1]}"#,
        r#"{"name": 3, "shape": [1], "datatype": "FP64", "data": [1]}"#,
        r#"{"name": "age", "shape": [1], "datatype": "FP64"}"#,
        r#"{"name": "age", "shape": [1], "datatype": "FP64", "data": [{"v": 1}]}"#,
        r#"{"name": "age", "shape": [1], "datatype": "FP64", "data": {"v": 1}}"#,
    ] {
        assert_eq!(json(&tensor(bad)), Err(DecodeError::InvalidTensor), "{bad}");
    }
    let body = r#"{"inputs": [{"name": "a", "shape": [1], "datatype": "FP64", "data": [1]}, 7]}"#;
    assert_eq!(json(body), Err(DecodeError::InvalidTensor));
}

#[test]
fn v2_zero_sized_tensors_have_no_rows_whatever_their_first_dimension() {
    let (rows, d) = json_ok(
        r#"{"inputs": [{"name": "x", "shape": [1000000000000, 0], "datatype": "FP64", "data": []},
                       {"name": "age", "shape": [0], "datatype": "FP64", "data": []}]}"#,
    );
    assert!(rows.is_empty());
    assert_eq!(d.dropped, dropped(0, 0, 0));
}

#[test]
fn content_types_pick_the_format() {
    let body = br#"[{"age": 1}]"#;
    for content_type in [
        "application/json",
        "Application/JSON; charset=utf-8",
        "application/vnd.kserve.v1+json",
        "text/json",
        "application/x-www-form-urlencoded",
        "",
    ] {
        let d = decode(&schema(), Some(content_type), None, body).expect(content_type);
        assert_eq!(d.rows, 1, "{content_type}");
    }
    assert_eq!(d_rows(None, body), Ok(1));
    for content_type in [
        "text/plain",
        "application/octet-stream",
        "+json",
        "application/xml",
    ] {
        assert_eq!(
            decode(&schema(), Some(content_type), None, body),
            Err(DecodeError::UnsupportedContentType),
            "{content_type}"
        );
    }
}

fn d_rows(content_type: Option<&str>, body: &[u8]) -> Result<usize, DecodeError> {
    decode(&schema(), content_type, None, body).map(|d| d.rows)
}

#[test]
fn malformed_bodies_have_their_reason() {
    let cases: [(Option<&str>, &[u8], &str); 11] = [
        (Some("application/json"), b"", "empty"),
        (None, b" \n\t ", "empty"),
        (Some("application/json"), b"[{\"age\": 1}", "invalid_json"),
        (Some("application/json"), b"{\"age\": 01}", "invalid_json"),
        (Some("application/json"), b"[1e999", "invalid_json"),
        (Some("application/json"), b"42", "unknown_shape"),
        (Some("application/json"), b"\"rows\"", "unknown_shape"),
        (
            Some("application/json"),
            b"{\"instances\": 3}",
            "unknown_shape",
        ),
        (
            Some("application/json"),
            b"{\"inputs\": \"x\"}",
            "unknown_shape",
        ),
        (None, b"age=3", "unrecognized_body"),
        (Some("text/csv"), b"age\n3\n", "unsupported_content_type"),
    ];
    for (content_type, body, reason) in cases {
        let got = decode(&schema(), content_type, None, body).map(|d| d.rows);
        assert_eq!(
            got.map_err(|e| e.reason()),
            Err(reason),
            "{:?}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn reason_codes_are_snake_case_and_listed() {
    assert_eq!(DecodeError::ALL.map(|e| e.reason()), DecodeError::REASONS);
    for reason in DecodeError::REASONS {
        assert!(
            reason
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "{reason}"
        );
    }
    let d = dropped(1, 2, 3);
    assert_eq!(
        d.by_reason(),
        [
            ("non_finite", 1),
            ("wrong_type", 2),
            ("width_mismatch", 3),
            ("row_limit", 0)
        ]
    );
}

#[test]
fn schema_basics() {
    let s = Schema::new(&[
        ("a".to_string(), Kind::Numeric),
        ("b".to_string(), Kind::Categorical),
        ("a".to_string(), Kind::Categorical),
    ]);
    assert_eq!((s.len(), s.is_empty()), (3, false));
    assert_eq!(s.names(), ["a", "b", "a"]);
    assert_eq!(
        s.index_of("a"),
        Some(0),
        "a repeated name keeps its first position"
    );
    assert!(Schema::new(&[]).is_empty());
}

#[test]
fn an_empty_schema_counts_rows_and_unknown_fields() {
    let empty = Schema::new(&[]);
    let d = decode(&empty, None, None, br#"[{"a": 1}, {"b": 2}]"#).expect("decodes");
    assert_eq!((d.rows, d.values.len(), d.unknown_fields), (2, 0, 2));
    assert_eq!(d.rows(0).count(), 2);
    assert!(d.rows(0).all(<[Value]>::is_empty));
}

#[test]
fn rows_iterates_whole_rows_only() {
    let d = Decoded {
        values: vec![num(1.0), num(2.0), num(3.0)],
        rows: 2,
        ..Decoded::default()
    };
    let rows: Vec<&[Value]> = d.rows(2).collect();
    assert_eq!(rows, vec![&[num(1.0), num(2.0)][..], &[][..]]);
    assert_eq!(d.rows(usize::MAX).count(), 2);
}

#[test]
fn values_are_small() {
    // A row of 20 features is 20 of these; keep them at three words.
    assert!(
        std::mem::size_of::<Value>() <= 24,
        "{}",
        std::mem::size_of::<Value>()
    );
}

/// `n` rows of every kind of value, as JSON records: the oracle the column-wise decoders are
/// checked against past one block of rows.
pub(super) fn oracle_rows(n: usize) -> Vec<[serde_json::Value; 4]> {
    use serde_json::json;
    (0..n)
        .map(|i| {
            let age = if i % 7 == 3 {
                json!(null)
            } else {
                json!(i as f64 * 0.5)
            };
            let home = ["RENT", "OWN", "MORTGAGE"][i % 3];
            let term = if i % 5 == 0 {
                json!(null)
            } else {
                json!(36 + 12 * (i % 3))
            };
            [age, json!(i * 1000), json!(home), term]
        })
        .collect()
}

pub(super) fn oracle(n: usize) -> Decoded {
    let names = ["age", "income", "home", "term"];
    let records: Vec<serde_json::Value> = oracle_rows(n)
        .into_iter()
        .map(|row| {
            let fields = names.iter().map(|n| n.to_string()).zip(row);
            serde_json::Value::Object(fields.collect())
        })
        .collect();
    let body = serde_json::to_vec(&records).expect("serialisable");
    decode(&schema(), None, None, &body).expect("records decode")
}

#[test]
fn v2_tensors_agree_with_records_past_one_block() {
    use serde_json::json;
    let n = 3 * BLOCK_ROWS + 17;
    let rows = oracle_rows(n);
    let column = |f: usize| rows.iter().map(|r| r[f].clone()).collect::<Vec<_>>();
    let body = json!({"inputs": [
        {"name": "term", "shape": [n], "datatype": "INT32", "data": column(3)},
        {"name": "age", "shape": [n, 1], "datatype": "FP64", "data": column(0)},
        {"name": "income", "shape": [n], "datatype": "INT64", "data": column(1)},
        {"name": "home", "shape": [n], "datatype": "BYTES", "data": column(2)},
    ]});
    let expected = oracle(n);
    let d = decode(
        &schema(),
        None,
        None,
        &serde_json::to_vec(&body).expect("json"),
    )
    .expect("per-feature tensors");
    assert_eq!(d, expected);
    let body = json!({"inputs": [
        {"name": "x", "shape": [n, 4], "datatype": "BYTES", "data": rows},
    ]});
    let d = decode(
        &schema(),
        None,
        None,
        &serde_json::to_vec(&body).expect("json"),
    )
    .expect("a feature matrix");
    assert_eq!(d, expected);
}

#[test]
fn rows_past_the_row_limit_are_counted_not_decoded() {
    let limited = schema().with_max_rows(2);
    let decode_json = |body: &str| {
        decode(&limited, Some("application/json"), None, body.as_bytes())
            .unwrap_or_else(|e| panic!("{body}: {e}"))
    };
    // Records and KServe V1: the first two rows; the later ones' bad values are not counted.
    for body in [
        r#"[{"age": 1}, {"age": 2}, {"age": "x"}, {"age": 4}, {}]"#,
        r#"{"instances": [{"age": 1}, {"age": 2}, {"age": "x"}, {"age": 4}, {}]}"#,
        r#"{"instances": [[1, 0, "a", "b"], [2, 0, "a", "b"], ["x", 0, "a", "b"], [4, 0, "a", "b"], [5, 0, "a", "b"]]}"#,
    ] {
        let d = decode_json(body);
        assert_eq!(d.rows, 2, "{body}");
        assert_eq!(d.values.len(), 2 * limited.len());
        assert_eq!(
            (d.values[0].clone(), d.values[limited.len()].clone()),
            (num(1.0), num(2.0))
        );
        assert_eq!(
            d.dropped,
            Dropped {
                row_limit: 3,
                ..Dropped::default()
            },
            "{body}"
        );
    }
    // A V2 tensor of 1 000 rows: 2 kept.
    let data: Vec<String> = (0..1_000).map(|i| i.to_string()).collect();
    let body = format!(
        r#"{{"inputs": [{{"name": "age", "shape": [1000], "datatype": "FP64", "data": [{}]}}]}}"#,
        data.join(",")
    );
    let d = decode_json(&body);
    assert_eq!((d.rows, d.dropped.row_limit), (2, 998));
    assert_eq!(d.values.len(), 2 * limited.len());
    // The limit is per payload: the next one starts afresh.
    assert_eq!(decode_json(r#"[{"age": 1}]"#).rows, 1);
    assert_eq!(
        Dropped {
            row_limit: 3,
            ..Dropped::default()
        }
        .by_reason()[3],
        ("row_limit", 3)
    );
}
