//! KServe V2 (Open Inference Protocol) tensors, in two passes: every tensor is checked and
//! placed before anything is allocated (so a `shape` claiming 10¹² elements costs nothing),
//! then the values are written. The rules are in the [module docs](super#kserve-v2-tensors).

use simd_json::Node;
use simd_json::prelude::TypedScalarValue;

use super::json::tape::{Document, Json, leaf_value};
use super::{BLOCK_ROWS, Builder, DecodeError};

/// Datatypes of the protocol's tensor data types table (plus BF16, which Triton adds).
const DATATYPES: [&str; 14] = [
    "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16",
    "BF16", "FP32", "FP64", "BYTES",
];

/// Whether `inputs`/`outputs` is a list of V2 tensors rather than TF-serving rows: its first
/// element is an object with a `datatype` or a `shape` (a row keyed by feature names has
/// neither). An empty list is taken as V2 (it decodes to no rows either way).
pub(super) fn is_tensor_list(list: Json<'_, '_>) -> bool {
    let Some(mut elements) = list.elements() else {
        return false;
    };
    match elements.next() {
        None => true,
        Some(first) => first
            .members()
            .is_some_and(|mut m| m.any(|(key, _)| key == "datatype" || key == "shape")),
    }
}

/// Which list a tensor came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Input,
    Output,
}

/// Where a tensor's elements go.
#[derive(Debug, Clone, Copy)]
enum Place {
    /// Element `k` is row `k` of this feature.
    Column(usize),
    /// Element `k` is row `k / width`, feature `k % width`.
    Matrix,
}

/// A checked tensor and where it goes.
#[derive(Debug, Clone, Copy)]
struct Planned<'t, 'i> {
    data: Json<'t, 'i>,
    place: Place,
}

/// Decodes the tensors of `inputs` and `outputs` into `b`.
pub(super) fn decode(
    b: &mut Builder<'_>,
    doc: &Document<'_, '_>,
    inputs: Option<Json<'_, '_>>,
    outputs: Option<Json<'_, '_>>,
) -> Result<(), DecodeError> {
    let mut planned = Vec::new();
    let mut rows = 0usize;
    let mut matrix = false;
    let lists = [(Side::Input, inputs), (Side::Output, outputs)];
    for (side, list) in lists {
        let Some(list) = list else { continue };
        // A non-list `outputs` next to V2 inputs is not ours to judge.
        let Some(tensors) = list.elements() else {
            if side == Side::Input {
                return Err(DecodeError::InvalidTensor);
            }
            continue;
        };
        for tensor in tensors {
            let Some(checked) = check(tensor, side)? else {
                continue;
            };
            let feature = b.schema.index_of(checked.name);
            let place = match (feature, checked.shape) {
                (Some(feature), Shape::Vector(n) | Shape::Matrix(n, 1)) => {
                    rows = rows.max(n);
                    Place::Column(feature)
                }
                (Some(_), _) => {
                    b.out.dropped.wrong_type += checked.present;
                    continue;
                }
                (None, Shape::Matrix(n, columns))
                    if side == Side::Input && !matrix && b.width() > 0 =>
                {
                    matrix = true;
                    if columns != b.width() {
                        b.out.dropped.width_mismatch += n as u64;
                        continue;
                    }
                    rows = rows.max(n);
                    Place::Matrix
                }
                (None, _) => {
                    b.out.unknown_fields += 1;
                    continue;
                }
            };
            planned.push(Planned {
                data: checked.data,
                place,
            });
        }
    }
    let first = b.out.rows;
    b.reserve_rows(rows);
    let schema = b.schema;
    let width = b.width();
    // Block by block, every tensor writing its part of the block's rows, so that the rows
    // being written stay in cache (tensor after tensor would stride through all of them).
    let mut cursors: Vec<_> = planned
        .into_iter()
        .map(|p| (leaves(p.data).enumerate().peekable(), p.place))
        .collect();
    for start in (0..rows).step_by(BLOCK_ROWS) {
        let end = rows.min(start + BLOCK_ROWS);
        b.push_rows(end - start);
        for (leaves, place) in &mut cursors {
            let limit = match place {
                Place::Column(_) => end,
                Place::Matrix => end * width,
            };
            while let Some((k, leaf)) = leaves.next_if(|(k, _)| *k < limit) {
                let (row, feature) = match *place {
                    Place::Column(feature) => (k, feature),
                    Place::Matrix => (k / width, k % width),
                };
                b.put(
                    first + row,
                    feature,
                    leaf_value(schema.kind(feature), leaf, doc),
                );
            }
        }
    }
    Ok(())
}

/// A tensor's shape, as far as placing it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `[N]`.
    Vector(usize),
    /// `[N, F]`.
    Matrix(usize, usize),
    Other,
}

/// A tensor whose shape matches its data.
#[derive(Debug, Clone, Copy)]
struct Checked<'t, 'i> {
    name: &'i str,
    shape: Shape,
    data: Json<'t, 'i>,
    /// Elements that are not `null`.
    present: u64,
}

/// Checks a tensor object; `None` for an output without data (nothing to decode).
fn check<'t, 'i>(tensor: Json<'t, 'i>, side: Side) -> Result<Option<Checked<'t, 'i>>, DecodeError> {
    let (mut name, mut shape, mut datatype, mut data) = (None, None, None, None);
    for (key, value) in tensor.members().ok_or(DecodeError::InvalidTensor)? {
        match key {
            "name" => name = Some(value),
            "shape" => shape = Some(value),
            "datatype" => datatype = Some(value),
            "data" => data = Some(value),
            _ => {}
        }
    }
    let Some(data) = data else {
        return match side {
            Side::Input => Err(DecodeError::InvalidTensor),
            Side::Output => Ok(None),
        };
    };
    let invalid = DecodeError::InvalidTensor;
    let name = name.and_then(|n| n.as_str()).ok_or(invalid)?;
    let datatype = datatype.and_then(|d| d.as_str()).ok_or(invalid)?;
    if !DATATYPES.contains(&datatype) {
        return Err(invalid);
    }
    let mut dims = Vec::new();
    for dim in shape.and_then(|s| s.elements()).ok_or(invalid)? {
        dims.push(
            dim.as_u64()
                .and_then(|d| usize::try_from(d).ok())
                .ok_or(invalid)?,
        );
    }
    let mut elements = 0usize;
    let mut present = 0u64;
    for node in data_nodes(data) {
        match node {
            Node::Object { .. } => return Err(invalid),
            Node::Array { .. } => {}
            Node::Static(s) if s.is_null() => elements += 1,
            _ => {
                elements += 1;
                present += 1;
            }
        }
    }
    let product = dims
        .iter()
        .try_fold(1usize, |acc, d| acc.checked_mul(*d))
        .ok_or(invalid)?;
    if product != elements {
        return Err(invalid);
    }
    // A zero-sized tensor has no rows, whatever its first dimension claims.
    let n = if elements == 0 {
        0
    } else {
        dims.first().copied().unwrap_or(1)
    };
    let shape = match dims.as_slice() {
        [_] => Shape::Vector(n),
        [_, f] => Shape::Matrix(n, *f),
        _ => Shape::Other,
    };
    Ok(Some(Checked {
        name,
        shape,
        data,
        present,
    }))
}

/// The nodes of tensor data: the descendants of a list (flat or nested, row-major), or the
/// value itself.
fn data_nodes<'t, 'i>(data: Json<'t, 'i>) -> &'t [Node<'i>] {
    match data.head() {
        Some(Node::Array { .. }) => data.descendants(),
        head => head.map(std::slice::from_ref).unwrap_or_default(),
    }
}

/// The elements of checked tensor data: every node that is not a list, in document order (the
/// tape is in document order, so nested lists flatten row-major for free).
fn leaves<'t, 'i>(data: Json<'t, 'i>) -> impl Iterator<Item = &'t Node<'i>> {
    data_nodes(data)
        .iter()
        .filter(|n| !matches!(n, Node::Array { .. }))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{
        M, cat, dropped, json, json_ok, num, oracle, oracle_rows, schema, table,
    };
    use super::super::{BLOCK_ROWS, DecodeError, Schema, decode};
    use crate::data::Kind;

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
        let body =
            r#"{"inputs": [{"name": "a", "shape": [1], "datatype": "FP64", "data": [1]}, 7]}"#;
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
}
