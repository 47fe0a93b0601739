//! Arrow IPC streams: columns matched to features by name.
//!
//! The types and their conversions are the one table of [`crate::data::arrow`], which the
//! baseline's Parquet reader uses too: integers, floats, `Decimal128`, dates and timestamps are
//! numbers; booleans (`"true"`/`"false"`), `Utf8`, `LargeUtf8`, `Utf8View` are strings, and a
//! dictionary is its values; the value rules of the [module](super#value-rules) then apply as
//! for JSON (NaN and ±∞ are `non_finite`). A column of any other type has its non-null values
//! counted `wrong_type`; a column that is not a feature counts once in `unknown_fields`.
//!
//! A column of the `Null` type, or a run-end encoded one, describes any number of rows in a
//! few bytes, so a stream may claim at most 8 rows per byte of body (one bit each, what a
//! boolean column costs); past that it is [`DecodeError::InvalidArrow`], before anything is
//! allocated for those rows.

use std::collections::HashMap;
use std::io::Cursor;
use std::ops::Range;

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_ipc::reader::StreamReader;
use arrow_schema::DataType;

use super::{
    BLOCK_ROWS, Builder, DecodeError, Decoded, Reason, Schema, Value, bool_value, ipc,
    number_value, str_value,
};
use crate::data::Kind;
use crate::data::arrow::{Text, for_each_number, for_each_text};

/// Rows a stream may claim per byte of body.
const MAX_ROWS_PER_BYTE: usize = 8;

/// Decodes an Arrow IPC stream.
///
/// The stream's framing is checked first ([`ipc::check`]), as arrow-ipc 60 panics on some
/// malformed buffer regions. The panics it has left (found by fuzzing: a buffer that is not a
/// whole number of its elements, a union's type ids shorter than its node) are caught, and the
/// payload is [`DecodeError::InvalidArrow`]: the decoder thread must outlive any payload. The
/// default panic hook still prints such a panic to stderr (a hook is the process's to set, not
/// a library's). The fuzz target lets panics raised in arrow's code unwind to this catch and
/// aborts on any other.
pub(super) fn decode(schema: &Schema, body: &[u8]) -> Result<Decoded, DecodeError> {
    ipc::check(body)?;
    std::panic::catch_unwind(|| read(schema, body)).unwrap_or(Err(DecodeError::InvalidArrow))
}

/// Reads a checked stream.
fn read(schema: &Schema, body: &[u8]) -> Result<Decoded, DecodeError> {
    let invalid = DecodeError::InvalidArrow;
    let reader = StreamReader::try_new(Cursor::new(body), None).map_err(|_| invalid)?;
    let features: Vec<Option<usize>> = reader
        .schema()
        .fields()
        .iter()
        .map(|field| schema.index_of(field.name()))
        .collect();
    let mut b = Builder::new(schema);
    b.out.unknown_fields = features.iter().filter(|f| f.is_none()).count() as u64;
    let max_rows = body.len().saturating_mul(MAX_ROWS_PER_BYTE);
    for batch in reader {
        let batch = batch.map_err(|_| invalid)?;
        let n = batch.num_rows();
        if b.out.rows.saturating_add(n) > max_rows {
            return Err(invalid);
        }
        let first = b.out.rows;
        b.reserve_rows(n);
        let mut columns: Vec<(Prepared<'_>, usize, Kind)> = batch
            .columns()
            .iter()
            .zip(&features)
            .filter_map(|(column, feature)| {
                let feature = (*feature)?;
                let kind = schema.kind(feature);
                Some((Prepared::new(column.as_ref(), kind, n), feature, kind))
            })
            .collect();
        for start in (0..n).step_by(BLOCK_ROWS) {
            let rows = start..n.min(start + BLOCK_ROWS);
            b.push_rows(rows.len());
            for (column, feature, kind) in &mut columns {
                let emit = &mut |i, value| b.put(first + i, *feature, value);
                match column {
                    Prepared::Plain(array) => convert(*array, *kind, rows.clone(), emit),
                    Prepared::Dictionary {
                        keys,
                        values,
                        table,
                    } => lookup(*keys, *values, table, *kind, rows.clone(), emit),
                }
            }
        }
    }
    Ok(b.finish())
}

/// Converts the non-null elements `rows` of an array into values of a feature of this kind,
/// handing each to `emit` with its index (nulls are not emitted: rows start missing).
fn convert<F>(array: &dyn Array, kind: Kind, rows: Range<usize>, emit: &mut F)
where
    F: FnMut(usize, Result<Value, Reason>),
{
    let rows = rows.start..rows.end.min(array.len());
    if for_each_number(array, rows.clone(), |i, v| emit(i, number_value(kind, v))) {
        return;
    }
    let text = |i, text: Text<'_>| {
        emit(
            i,
            match text {
                Text::Bool(b) => bool_value(kind, b),
                Text::Str(s) => str_value(kind, s),
            },
        )
    };
    if for_each_text(array, rows.clone(), text) {
        return;
    }
    for i in rows.filter(|i| array.is_valid(*i)) {
        emit(i, Err(Reason::WrongType));
    }
}

/// A column ready to convert block by block.
enum Prepared<'a> {
    Plain(&'a dyn Array),
    Dictionary {
        keys: &'a dyn Array,
        values: &'a dyn Array,
        table: Table,
    },
}

impl<'a> Prepared<'a> {
    fn new(array: &'a dyn Array, kind: Kind, rows: usize) -> Self {
        match array.as_any_dictionary_opt() {
            Some(dictionary) => {
                let values = dictionary.values().as_ref();
                Prepared::Dictionary {
                    keys: dictionary.keys(),
                    values,
                    table: Table::new(values, kind, rows),
                }
            }
            None => Prepared::Plain(array),
        }
    }
}

/// A dictionary's values, converted: all at once when there are no more of them than rows in
/// the batch, else only those the keys use, each once. Either way a batch costs at most its
/// rows: a stream of many small batches over one large dictionary (sent once) must not
/// convert the whole dictionary for each.
enum Table {
    All(Vec<Result<Value, Reason>>),
    Used(HashMap<usize, Result<Value, Reason>>),
}

impl Table {
    fn new(values: &dyn Array, kind: Kind, rows: usize) -> Self {
        if values.len() > rows {
            return Table::Used(HashMap::new());
        }
        let mut table = vec![Ok(Value::Missing); values.len()];
        convert(values, kind, 0..values.len(), &mut |i, value| {
            if let Some(slot) = table.get_mut(i) {
                *slot = value;
            }
        });
        Table::All(table)
    }

    /// The converted value of dictionary entry `key`.
    fn get(
        &mut self,
        values: &dyn Array,
        kind: Kind,
        key: usize,
    ) -> Option<&Result<Value, Reason>> {
        match self {
            Table::All(table) => table.get(key),
            Table::Used(_) if key >= values.len() => None,
            Table::Used(used) => Some(used.entry(key).or_insert_with(|| {
                let mut value = Ok(Value::Missing);
                convert(values, kind, key..key + 1, &mut |_, v| value = v);
                value
            })),
        }
    }
}

/// The rows of a dictionary array, from its keys and its values. (Not through
/// `normalized_keys`, which panics on an empty dictionary.)
fn lookup<F>(
    keys: &dyn Array,
    values: &dyn Array,
    table: &mut Table,
    kind: Kind,
    rows: Range<usize>,
    emit: &mut F,
) where
    F: FnMut(usize, Result<Value, Reason>),
{
    macro_rules! keys {
        ($t:ty) => {
            if let Some(k) = keys.as_primitive_opt::<$t>() {
                let codes = k.values();
                for i in rows.filter(|i| k.is_valid(*i)) {
                    let entry = codes
                        .get(i)
                        .and_then(|key| usize::try_from(*key).ok())
                        .and_then(|key| table.get(values, kind, key));
                    match entry {
                        Some(Ok(Value::Missing)) | None => {}
                        Some(entry) => emit(i, entry.clone()),
                    }
                }
            }
        };
    }
    match keys.data_type() {
        DataType::Int8 => keys!(Int8Type),
        DataType::Int16 => keys!(Int16Type),
        DataType::Int32 => keys!(Int32Type),
        DataType::Int64 => keys!(Int64Type),
        DataType::UInt8 => keys!(UInt8Type),
        DataType::UInt16 => keys!(UInt16Type),
        DataType::UInt32 => keys!(UInt32Type),
        DataType::UInt64 => keys!(UInt64Type),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::builder::StringDictionaryBuilder;
    use arrow_array::types::Int8Type as DictKey;
    use arrow_array::{
        ArrayRef, BooleanArray, Decimal128Array, Float16Array, Float32Array, Float64Array,
        Int8Array, Int64Array, LargeStringArray, ListArray, NullArray, RecordBatch,
        RecordBatchOptions, StringArray, StringViewArray, UInt64Array,
    };
    use arrow_ipc::writer::StreamWriter;
    use arrow_schema::Field;

    use super::super::tests::{M, cat, num, schema, table};
    use super::super::{Dropped, decode as decode_body};
    use super::*;

    const ARROW: &str = "application/vnd.apache.arrow.stream";

    fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        RecordBatch::try_from_iter(columns).expect("columns of one length")
    }

    /// An IPC stream of these batches (all of the first one's schema).
    fn stream(batches: &[RecordBatch]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut writer =
            StreamWriter::try_new(&mut out, &batches[0].schema()).expect("stream writer");
        for b in batches {
            writer.write(b).expect("write batch");
        }
        writer.finish().expect("finish stream");
        drop(writer);
        out
    }

    #[test]
    fn rows_past_the_row_limit_are_counted_not_decoded() {
        let ages: ArrayRef = Arc::new(Float64Array::from_iter_values((0..3_000).map(f64::from)));
        let body = stream(&[
            batch(vec![("age", ages.clone())]),
            batch(vec![("age", ages)]),
        ]);
        let limited = schema().with_max_rows(2_500);
        let d = decode_body(&limited, Some(ARROW), None, &body).expect("decodes");
        assert_eq!((d.rows, d.dropped.row_limit), (2_500, 3_500));
        assert_eq!(d.values.len(), 2_500 * limited.len());
        assert_eq!(d.values[2_499 * limited.len()], num(2_499.0));
    }

    #[test]
    fn every_supported_type_with_nulls() {
        let dictionary: ArrayRef = {
            let mut b = StringDictionaryBuilder::<DictKey>::new();
            b.append_value("36");
            b.append_null();
            b.append_value("60");
            Arc::new(b.finish())
        };
        let income = Decimal128Array::from(vec![Some(5_200_050), None, Some(-125)])
            .with_precision_and_scale(10, 2)
            .expect("valid decimal");
        let b = batch(vec![
            (
                "age",
                Arc::new(Int8Array::from(vec![Some(41), Some(-3), None])) as ArrayRef,
            ),
            ("income", Arc::new(income)),
            (
                "home",
                Arc::new(StringArray::from(vec![Some("RENT"), None, Some("OWN")])),
            ),
            ("term", dictionary),
            ("id", Arc::new(UInt64Array::from(vec![1, 2, 3]))),
        ]);
        let d = decode_body(&schema(), Some(ARROW), None, &stream(&[b])).expect("decodes");
        assert_eq!(
            table(&d, &schema()),
            vec![
                vec![num(41.0), num(52000.5), cat("RENT"), cat("36")],
                vec![num(-3.0), M, M, M],
                vec![M, num(-1.25), cat("OWN"), cat("60")],
            ]
        );
        assert_eq!((d.unknown_fields, d.dropped), (1, Dropped::default()));
    }

    #[test]
    fn numbers_booleans_and_string_flavours_follow_the_value_rules() {
        let nan_and_inf = Float64Array::from(vec![1.5, f64::NAN, f64::INFINITY, -0.0]);
        let b = batch(vec![
            ("age", Arc::new(nan_and_inf) as ArrayRef),
            (
                "income",
                Arc::new(StringArray::from(vec!["1", "2", "3", "4"])),
            ),
            (
                "home",
                Arc::new(BooleanArray::from(vec![
                    Some(true),
                    Some(false),
                    None,
                    Some(true),
                ])),
            ),
            ("term", Arc::new(Int64Array::from(vec![36, 60, 36, 12]))),
        ]);
        let d = decode_body(&schema(), None, None, &stream(&[b])).expect("sniffed as Arrow");
        assert_eq!(
            table(&d, &schema()),
            vec![
                vec![num(1.5), M, cat("true"), cat("36")],
                vec![M, M, cat("false"), cat("60")],
                vec![M, M, M, cat("36")],
                vec![num(-0.0), M, cat("true"), cat("12")],
            ]
        );
        assert_eq!((d.dropped.non_finite, d.dropped.wrong_type), (2, 4));
        let b = batch(vec![
            (
                "age",
                Arc::new(Float16Array::from(vec![half_two()])) as ArrayRef,
            ),
            ("income", Arc::new(Float32Array::from(vec![0.5]))),
            ("home", Arc::new(LargeStringArray::from(vec!["A"]))),
            ("term", Arc::new(StringViewArray::from(vec!["B"]))),
        ]);
        let d = decode_body(&schema(), Some(ARROW), None, &stream(&[b])).expect("decodes");
        assert_eq!(
            table(&d, &schema()),
            vec![vec![num(2.0), num(0.5), cat("A"), cat("B")]]
        );
    }

    type F16 = <arrow_array::types::Float16Type as arrow_array::ArrowPrimitiveType>::Native;

    fn half_two() -> F16 {
        F16::from_f64(2.0)
    }

    #[test]
    fn unsupported_types_are_wrong_type_and_batches_append() {
        let list =
            ListArray::from_iter_primitive::<Int8Type, _, _>(vec![Some(vec![Some(1)]), None]);
        let first = batch(vec![("age", Arc::new(list) as ArrayRef)]);
        let second = batch(vec![(
            "age",
            Arc::new(ListArray::from_iter_primitive::<Int8Type, _, _>(vec![
                Some(vec![]),
            ])) as ArrayRef,
        )]);
        let d =
            decode_body(&schema(), Some(ARROW), None, &stream(&[first, second])).expect("decodes");
        assert_eq!(d.rows, 3);
        assert_eq!(d.dropped.wrong_type, 2);
    }

    #[test]
    fn an_empty_dictionary_of_nulls_does_not_panic() {
        let keys = Int8Array::from(vec![None, None]);
        let values = StringArray::from(Vec::<&str>::new());
        let dictionary = arrow_array::DictionaryArray::<DictKey>::try_new(keys, Arc::new(values))
            .expect("null keys need no values");
        let b = batch(vec![("home", Arc::new(dictionary) as ArrayRef)]);
        let d = decode_body(&schema(), Some(ARROW), None, &stream(&[b])).expect("decodes");
        assert_eq!(table(&d, &schema()), vec![vec![M; 4], vec![M; 4]]);
    }

    #[test]
    fn a_dictionary_larger_than_its_batch_converts_only_what_it_uses() {
        let values: StringArray = (0..1000).map(|i| Some(format!("c{i}"))).collect();
        let keys = arrow_array::Int16Array::from(vec![Some(999), None, Some(5), Some(999)]);
        let dictionary = arrow_array::DictionaryArray::<arrow_array::types::Int16Type>::try_new(
            keys,
            Arc::new(values),
        )
        .expect("keys in range");
        let b = batch(vec![("home", Arc::new(dictionary) as ArrayRef)]);
        let d = decode_body(&schema(), Some(ARROW), None, &stream(&[b])).expect("decodes");
        let homes: Vec<Value> = table(&d, &schema())
            .into_iter()
            .map(|r| r[2].clone())
            .collect();
        assert_eq!(homes, vec![cat("c999"), M, cat("c5"), cat("c999")]);
    }

    #[test]
    fn a_stream_may_not_claim_more_rows_than_it_has_bits() {
        let fields = vec![Field::new("age", DataType::Null, true)];
        let arrow_schema = Arc::new(arrow_schema::Schema::new(fields));
        let huge = RecordBatch::try_new_with_options(
            arrow_schema,
            vec![Arc::new(NullArray::new(100_000_000))],
            &RecordBatchOptions::new(),
        )
        .expect("a null column");
        let body = stream(&[huge]);
        assert!(body.len() < 1000);
        assert_eq!(
            decode_body(&schema(), Some(ARROW), None, &body),
            Err(DecodeError::InvalidArrow)
        );
    }

    #[test]
    fn columns_agree_with_json_records_past_one_block() {
        use super::super::BLOCK_ROWS;
        use super::super::tests::oracle_rows;
        let n = 3 * BLOCK_ROWS + 17;
        let rows = oracle_rows(n);
        let age: Float64Array = rows.iter().map(|r| r[0].as_f64()).collect();
        let income: Int64Array = rows.iter().map(|r| r[1].as_i64()).collect();
        let home: StringArray = rows.iter().map(|r| r[2].as_str()).collect();
        let term: arrow_array::DictionaryArray<DictKey> = rows
            .iter()
            .map(|r| r[3].as_i64().map(|t| t.to_string()))
            .collect::<Vec<_>>()
            .iter()
            .map(Option::as_deref)
            .collect();
        let half = batch(vec![
            ("term", Arc::new(term.slice(0, n / 2)) as ArrayRef),
            ("home", Arc::new(home.slice(0, n / 2))),
            ("age", Arc::new(age.slice(0, n / 2))),
            ("income", Arc::new(income.slice(0, n / 2))),
        ]);
        let rest = batch(vec![
            ("term", Arc::new(term.slice(n / 2, n - n / 2)) as ArrayRef),
            ("home", Arc::new(home.slice(n / 2, n - n / 2))),
            ("age", Arc::new(age.slice(n / 2, n - n / 2))),
            ("income", Arc::new(income.slice(n / 2, n - n / 2))),
        ]);
        let d = decode_body(&schema(), Some(ARROW), None, &stream(&[half, rest])).expect("decodes");
        let records = super::super::tests::oracle(n);
        assert_eq!(d, records);
    }

    #[test]
    fn malformed_streams_are_invalid_arrow() {
        let b = batch(vec![(
            "age",
            Arc::new(Int8Array::from(vec![1, 2])) as ArrayRef,
        )]);
        let good = stream(&[b]);
        for bad in [
            &good[..good.len() / 2],
            &good[..12],
            &[0xff, 0xff, 0xff, 0xff, 0x10, 0, 0, 0, 1, 2, 3][..],
            b"not arrow",
        ] {
            assert_eq!(
                decode_body(&schema(), Some(ARROW), None, bad),
                Err(DecodeError::InvalidArrow),
                "{bad:?}"
            );
        }
    }
}
