//! The shapes of a JSON payload, on a parsed [`tape`](super::tape): records, KServe V1
//! `instances`/`predictions`, TF-serving `inputs`/`outputs` (rows or columns), and the
//! envelope test that hands KServe V2 tensor lists to [`v2`]. The rules are in the
//! [module docs](super::super#formats).
//!
//! Whether a JSON body is a payload at all or a CloudEvent wrapping one is the dispatcher's
//! call ([`super::super::decode`]), made before anything here runs: this module knows nothing
//! of envelopes around it.

use simd_json::Node;

use super::super::{Builder, DecodeError, Decoded, Schema, v2};
use super::tape::{Document, Elements, Json, leaf_value, value};

/// The envelope members of a JSON object payload.
#[derive(Debug, Default)]
struct Envelope<'t, 'i> {
    instances: Option<Json<'t, 'i>>,
    inputs: Option<Json<'t, 'i>>,
    outputs: Option<Json<'t, 'i>>,
    predictions: Option<Json<'t, 'i>>,
}

/// Decodes a JSON value holding a payload: records, KServe V1 or V2.
pub(in super::super) fn decode(
    schema: &Schema,
    doc: &Document<'_, '_>,
    root: Json<'_, '_>,
) -> Result<Decoded, DecodeError> {
    let mut b = Builder::new(schema);
    if let Some(elements) = root.elements() {
        rows(&mut b, doc, elements, Scalars::Row);
        return Ok(b.finish());
    }
    let Some(members) = root.members() else {
        return Err(DecodeError::UnknownShape);
    };
    let mut envelope = Envelope::default();
    for (key, value) in members {
        let slot = match key {
            "instances" => &mut envelope.instances,
            "inputs" => &mut envelope.inputs,
            "outputs" => &mut envelope.outputs,
            "predictions" => &mut envelope.predictions,
            _ => continue,
        };
        slot.get_or_insert(value);
    }
    if let Some(instances) = envelope.instances {
        let elements = instances.elements().ok_or(DecodeError::UnknownShape)?;
        rows(&mut b, doc, elements, Scalars::Row);
    } else if envelope.inputs.is_some_and(v2::is_tensor_list)
        || envelope.inputs.is_none() && envelope.outputs.is_some_and(v2::is_tensor_list)
    {
        v2::decode(&mut b, doc, envelope.inputs, envelope.outputs)?;
    } else if let Some(tf) = envelope.inputs.or(envelope.outputs) {
        if let Some(elements) = tf.elements() {
            rows(&mut b, doc, elements, Scalars::Row);
        } else if tf.is_object() {
            columns(&mut b, doc, tf);
        } else {
            return Err(DecodeError::UnknownShape);
        }
    } else if let Some(predictions) = envelope.predictions {
        let elements = predictions.elements().ok_or(DecodeError::UnknownShape)?;
        rows(&mut b, doc, elements, Scalars::Prediction);
    } else {
        record(&mut b, doc, root);
    }
    Ok(b.finish())
}

/// What a scalar element of a row list is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scalars {
    /// A row of one value (an instance of a one-feature model).
    Row,
    /// A value of [`super::super::PREDICTION`].
    Prediction,
}

/// A list of rows: objects by name, arrays by position, scalars as `scalars` says.
fn rows(b: &mut Builder<'_>, doc: &Document<'_, '_>, elements: Elements<'_, '_>, scalars: Scalars) {
    for element in elements {
        match element.head() {
            Some(Node::Object { .. }) => record(b, doc, element),
            Some(Node::Array { len, .. }) => {
                if *len != b.width() {
                    b.out.dropped.width_mismatch += 1;
                    continue;
                }
                let schema = b.schema;
                let row = b.push_rows(1);
                let values = element.elements().into_iter().flatten();
                for (feature, (kind, value)) in schema.kinds().iter().zip(values).enumerate() {
                    b.put(row, feature, self::value(*kind, value, doc));
                }
            }
            Some(leaf) => match scalars {
                Scalars::Row if b.width() == 1 => {
                    let row = b.push_rows(1);
                    b.put(row, 0, leaf_value(b.schema.kind(0), leaf, doc));
                }
                Scalars::Row => b.out.dropped.width_mismatch += 1,
                Scalars::Prediction => {
                    let row = b.push_rows(1);
                    match b.schema.prediction {
                        Some(feature) => {
                            b.put(row, feature, leaf_value(b.schema.kind(feature), leaf, doc));
                        }
                        None => b.out.unknown_fields += 1,
                    }
                }
            },
            None => {}
        }
    }
}

/// One row from an object keyed by feature name.
fn record(b: &mut Builder<'_>, doc: &Document<'_, '_>, object: Json<'_, '_>) {
    let row = b.push_rows(1);
    let mut hint = 0;
    for (key, value) in object.members().into_iter().flatten() {
        match b.schema.lookup(key, &mut hint) {
            Some(feature) => b.put(
                row,
                feature,
                self::value(b.schema.kind(feature), value, doc),
            ),
            None => b.out.unknown_fields += 1,
        }
    }
}

/// Columns keyed by feature name (TF-serving's columnar `inputs`): rows as many as the longest
/// feature column; a scalar is a column of one.
fn columns(b: &mut Builder<'_>, doc: &Document<'_, '_>, object: Json<'_, '_>) {
    let members = || object.members().into_iter().flatten();
    let mut n = 0;
    for (key, column) in members() {
        if b.schema.index_of(key).is_some() {
            n = n.max(column.array_len().unwrap_or(1));
        }
    }
    let first = b.push_rows(n);
    for (key, column) in members() {
        let Some(feature) = b.schema.index_of(key) else {
            b.out.unknown_fields += 1;
            continue;
        };
        let kind = b.schema.kind(feature);
        match column.elements() {
            Some(elements) => {
                for (i, element) in elements.enumerate() {
                    b.put(first + i, feature, value(kind, element, doc));
                }
            }
            None => b.put(first, feature, value(kind, column, doc)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::tests::{M, cat, dropped, json_ok, num, table};
    use super::super::super::{Dropped, Schema, decode};
    use crate::data::Kind;

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
    fn absent_features_are_missing_and_unknown_fields_are_counted_per_occurrence() {
        let (rows, d) = json_ok(r#"[{"age": 1, "id": 7}, {"id": 8, "ts": "x"}, {}]"#);
        assert_eq!(rows, vec![vec![num(1.0), M, M, M], vec![M; 4], vec![M; 4]]);
        assert_eq!(d.unknown_fields, 3);
        assert!(d.dropped.is_empty());
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
}
