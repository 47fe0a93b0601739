//! Tests of what the dispatcher and the shared rules own: the value rules, content-type
//! dispatch, the error codes, [`Schema`], [`Decoded`] and the row limit. Each format has its
//! tests in its module (JSON shapes in `json::payload`, overflowing numbers in `json::tape`,
//! `v2`, `cloudevents`, `arrow`), and they share the helpers here.

use super::*;
use crate::data::Values;
use crate::data::categories_of;

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

/// Decodes a body declared `application/json` with [`schema`].
pub(super) fn json(body: &str) -> Result<Decoded, DecodeError> {
    decode(&schema(), Some("application/json"), None, body.as_bytes())
}

/// [`json`] that must decode: its rows and the whole result.
pub(super) fn json_ok(body: &str) -> (Vec<Vec<Value>>, Decoded) {
    let decoded = json(body).unwrap_or_else(|e| panic!("{body}: {e}"));
    (table(&decoded, &schema()), decoded)
}

/// Drops by reason, none past the row limit.
pub(super) fn dropped(non_finite: u64, wrong_type: u64, width_mismatch: u64) -> Dropped {
    Dropped {
        non_finite,
        wrong_type,
        width_mismatch,
        row_limit: 0,
    }
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
        -0.0,
        0.0,
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
        // What a client sends for a categorical feature decodes to the baseline's category.
        let decoded = json(&format!("[{{\"home\": {v:?}}}]")).expect("a number decodes");
        assert_eq!(
            table(&decoded, &schema()),
            [[M, M, cat(&names[0]), M]],
            "{v:?}"
        );
    }
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
