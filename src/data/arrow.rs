//! Arrow arrays as feature values: the one table of which Arrow types are numbers, which are
//! text, and how each becomes an `f64` or a string.
//!
//! Two readers take Arrow data in: the baseline's Parquet reader ([`crate::baseline::parquet`])
//! and the sidecar's Arrow IPC decoder (`sidecar::ingest::decode::arrow`). A value must mean the
//! same to both — a `Decimal128(10, 2)` of `12345` is `123.45` in the baseline and in live
//! traffic, a boolean is the category `true` in both — or every live value of that column
//! drifts. So the types and their conversions are written once, here, and both readers use them:
//!
//! - [`role_of`]: how a column of a type is tested ([`Role`]): integers, floats and `Decimal128`
//!   are numeric; `Boolean`, `Utf8`, `LargeUtf8`, `Utf8View` (and dictionaries of strings) are
//!   categorical; dates and timestamps are temporal (numbers, read only when asked for).
//! - [`for_each_number`]: the non-null elements of a numeric or temporal array as `f64`
//!   (decimals scaled; dates in days or milliseconds, timestamps in their unit, since the
//!   epoch). NaN and ±∞ are passed on: what they mean is the caller's rule.
//! - [`for_each_text`]: the non-null elements of a boolean or string array, as [`Text`].
//!
//! Dictionary arrays are left to the callers, which resolve keys differently on purpose (the
//! baseline interns a dictionary once per page; the decoder converts only the entries a batch's
//! keys use), but both convert the dictionary's values through these functions.

use std::ops::Range;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Decimal128Type, Float16Type, Float32Type, Float64Type, Int8Type,
    Int16Type, Int32Type, Int64Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayAccessor, ArrowPrimitiveType};
use arrow_schema::{DataType, TimeUnit};

/// How a column of an Arrow type is tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Integers, floats, `Decimal128`: numbers.
    Numeric,
    /// Booleans, strings, dictionaries of strings: categories.
    Categorical,
    /// Dates and timestamps: numbers when a column is selected by name, skipped otherwise
    /// (a time column drifts by construction).
    Temporal,
}

/// How a column of this type is tested, or `None` for a type that cannot be (nested, binary,
/// intervals, …).
pub fn role_of(data_type: &DataType) -> Option<Role> {
    use DataType::*;
    match data_type {
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 | Float16 | Float32
        | Float64 | Decimal128(..) => Some(Role::Numeric),
        Boolean | Utf8 | LargeUtf8 | Utf8View => Some(Role::Categorical),
        Dictionary(_, value) if value.is_string() => Some(Role::Categorical),
        Date32 | Date64 | Timestamp(..) => Some(Role::Temporal),
        _ => None,
    }
}

/// Calls `f(i, value)` for each non-null element `i` of `rows` (clamped to the array) of a
/// numeric or temporal array, in order; returns false, calling nothing, when the array's type
/// is none of those (a dictionary included).
///
/// Integers and floats are their value; `Decimal128` its value over 10^scale; `Date32` days
/// and `Date64` milliseconds since the epoch; a timestamp the count of its unit since the
/// epoch (its time zone does not change the instant).
#[inline]
pub fn for_each_number<F>(array: &dyn Array, rows: Range<usize>, f: F) -> bool
where
    F: FnMut(usize, f64),
{
    match array.data_type() {
        DataType::Int8 => numbers::<Int8Type, _>(array, rows, f64::from, f),
        DataType::Int16 => numbers::<Int16Type, _>(array, rows, f64::from, f),
        DataType::Int32 => numbers::<Int32Type, _>(array, rows, f64::from, f),
        DataType::Int64 => numbers::<Int64Type, _>(array, rows, |v| v as f64, f),
        DataType::UInt8 => numbers::<UInt8Type, _>(array, rows, f64::from, f),
        DataType::UInt16 => numbers::<UInt16Type, _>(array, rows, f64::from, f),
        DataType::UInt32 => numbers::<UInt32Type, _>(array, rows, f64::from, f),
        DataType::UInt64 => numbers::<UInt64Type, _>(array, rows, |v| v as f64, f),
        DataType::Float16 => numbers::<Float16Type, _>(array, rows, |v| v.to_f64(), f),
        DataType::Float32 => numbers::<Float32Type, _>(array, rows, f64::from, f),
        DataType::Float64 => numbers::<Float64Type, _>(array, rows, |v| v, f),
        DataType::Decimal128(_, scale) => {
            let divisor = 10f64.powi(i32::from(*scale));
            numbers::<Decimal128Type, _>(array, rows, |v| v as f64 / divisor, f)
        }
        DataType::Date32 => numbers::<Date32Type, _>(array, rows, f64::from, f),
        DataType::Date64 => numbers::<Date64Type, _>(array, rows, |v| v as f64, f),
        DataType::Timestamp(TimeUnit::Second, _) => {
            numbers::<TimestampSecondType, _>(array, rows, |v| v as f64, f)
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            numbers::<TimestampMillisecondType, _>(array, rows, |v| v as f64, f)
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            numbers::<TimestampMicrosecondType, _>(array, rows, |v| v as f64, f)
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            numbers::<TimestampNanosecondType, _>(array, rows, |v| v as f64, f)
        }
        _ => false,
    }
}

/// One primitive type of [`for_each_number`]. Without nulls, a plain loop over the values
/// (which the compiler vectorises once `f` is inlined into it); with nulls, the validity bits
/// walked alongside.
#[inline]
fn numbers<T, F>(
    array: &dyn Array,
    rows: Range<usize>,
    convert: impl Fn(T::Native) -> f64,
    mut f: F,
) -> bool
where
    T: ArrowPrimitiveType,
    F: FnMut(usize, f64),
{
    let Some(a) = array.as_primitive_opt::<T>() else {
        return false;
    };
    let values = a.values();
    let nulls = a.nulls().filter(|n| n.null_count() > 0);
    let end = rows
        .end
        .min(values.len())
        .min(nulls.map_or(usize::MAX, |n| n.len()));
    let start = rows.start.min(end);
    let Some(values) = values.get(start..end) else {
        return true;
    };
    match nulls {
        None => {
            for (k, v) in values.iter().enumerate() {
                f(start + k, convert(*v));
            }
        }
        Some(nulls) => {
            let valid = nulls.inner().slice(start, end - start);
            for (k, (v, valid)) in values.iter().zip(valid.iter()).enumerate() {
                if valid {
                    f(start + k, convert(*v));
                }
            }
        }
    }
    true
}

/// A non-null element of a boolean or string array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text<'a> {
    Bool(bool),
    Str(&'a str),
}

/// Calls `f(i, value)` for each non-null element `i` of `rows` (clamped to the array) of a
/// `Boolean`, `Utf8`, `LargeUtf8` or `Utf8View` array, in order; returns false, calling
/// nothing, when the array is of any other type (a dictionary included).
#[inline]
pub fn for_each_text<F>(array: &dyn Array, rows: Range<usize>, mut f: F) -> bool
where
    F: FnMut(usize, Text<'_>),
{
    match array.data_type() {
        DataType::Boolean => match array.as_boolean_opt() {
            Some(a) => each_valid(a, rows, |i, v| f(i, Text::Bool(v))),
            None => false,
        },
        DataType::Utf8 => match array.as_string_opt::<i32>() {
            Some(a) => each_valid(a, rows, |i, v| f(i, Text::Str(v))),
            None => false,
        },
        DataType::LargeUtf8 => match array.as_string_opt::<i64>() {
            Some(a) => each_valid(a, rows, |i, v| f(i, Text::Str(v))),
            None => false,
        },
        DataType::Utf8View => match array.as_string_view_opt() {
            Some(a) => each_valid(a, rows, |i, v| f(i, Text::Str(v))),
            None => false,
        },
        _ => false,
    }
}

/// The non-null elements `rows` (clamped to the array) of an array, with their index.
#[inline]
fn each_valid<A: ArrayAccessor>(
    array: A,
    rows: Range<usize>,
    mut f: impl FnMut(usize, A::Item),
) -> bool {
    let end = rows.end.min(array.len());
    let start = rows.start.min(end);
    match array.nulls().filter(|n| n.null_count() > 0) {
        None => (start..end).for_each(|i| f(i, array.value(i))),
        Some(nulls) => (start..end)
            .filter(|i| nulls.is_valid(*i))
            .for_each(|i| f(i, array.value(i))),
    }
    true
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::types::Int32Type as Key;
    use arrow_array::{
        ArrayRef, BinaryArray, BooleanArray, Date32Array, Date64Array, Decimal128Array,
        DictionaryArray, Float16Array, Float32Array, Float64Array, Int8Array, Int16Array,
        Int32Array, Int64Array, LargeStringArray, ListArray, NullArray, StringArray,
        StringViewArray, TimestampMicrosecondArray, TimestampMillisecondArray,
        TimestampNanosecondArray, TimestampSecondArray, UInt8Array, UInt16Array, UInt32Array,
        UInt64Array,
    };

    use super::*;

    type F16 = <Float16Type as ArrowPrimitiveType>::Native;

    /// The `(index, value)` pairs `for_each_number` passes on, or `None` if it refuses.
    fn numbers_of(array: &dyn Array, rows: Range<usize>) -> Option<Vec<(usize, f64)>> {
        let mut out = Vec::new();
        for_each_number(array, rows, |i, v| out.push((i, v))).then_some(out)
    }

    fn texts_of(array: &dyn Array, rows: Range<usize>) -> Option<Vec<(usize, String)>> {
        let mut out = Vec::new();
        let known = for_each_text(array, rows, |i, v| {
            out.push((
                i,
                match v {
                    Text::Bool(b) => format!("bool:{b}"),
                    Text::Str(s) => format!("str:{s}"),
                },
            ))
        });
        known.then_some(out)
    }

    /// Every numeric and temporal type, as `[Some(a), None, Some(b)]`, with what it reads as.
    fn every_number_type() -> Vec<(ArrayRef, [f64; 2])> {
        vec![
            (
                Arc::new(Int8Array::from(vec![Some(-8), None, Some(7)])),
                [-8.0, 7.0],
            ),
            (
                Arc::new(Int16Array::from(vec![Some(-300), None, Some(300)])),
                [-300.0, 300.0],
            ),
            (
                Arc::new(Int32Array::from(vec![Some(-70_000), None, Some(1)])),
                [-70_000.0, 1.0],
            ),
            (
                Arc::new(Int64Array::from(vec![Some(-(1 << 40)), None, Some(3)])),
                [-1_099_511_627_776.0, 3.0],
            ),
            (
                Arc::new(UInt8Array::from(vec![Some(255), None, Some(0)])),
                [255.0, 0.0],
            ),
            (
                Arc::new(UInt16Array::from(vec![Some(65_535), None, Some(1)])),
                [65_535.0, 1.0],
            ),
            (
                Arc::new(UInt32Array::from(vec![Some(u32::MAX), None, Some(2)])),
                [4_294_967_295.0, 2.0],
            ),
            (
                Arc::new(UInt64Array::from(vec![Some(1 << 60), None, Some(9)])),
                [1_152_921_504_606_846_976.0, 9.0],
            ),
            (
                Arc::new(Float16Array::from(vec![
                    Some(F16::from_f64(2.5)),
                    None,
                    Some(F16::from_f64(-0.5)),
                ])),
                [2.5, -0.5],
            ),
            (
                Arc::new(Float32Array::from(vec![Some(0.25f32), None, Some(-1.5)])),
                [0.25, -1.5],
            ),
            (
                Arc::new(Float64Array::from(vec![Some(0.1), None, Some(1e300)])),
                [0.1, 1e300],
            ),
            (
                Arc::new(
                    Decimal128Array::from(vec![Some(12_345), None, Some(-5)])
                        .with_precision_and_scale(10, 2)
                        .expect("valid decimal"),
                ),
                [123.45, -0.05],
            ),
            (
                Arc::new(
                    Decimal128Array::from(vec![Some(12), None, Some(-3)])
                        .with_precision_and_scale(10, -3)
                        .expect("valid decimal"),
                ),
                [12_000.0, -3_000.0],
            ),
            (
                Arc::new(Date32Array::from(vec![Some(19_000), None, Some(-1)])),
                [19_000.0, -1.0],
            ),
            (
                Arc::new(Date64Array::from(vec![Some(86_400_000), None, Some(0)])),
                [86_400_000.0, 0.0],
            ),
            (
                Arc::new(TimestampSecondArray::from(vec![
                    Some(1_700_000_000),
                    None,
                    Some(-1),
                ])),
                [1_700_000_000.0, -1.0],
            ),
            (
                Arc::new(
                    TimestampMillisecondArray::from(vec![Some(1_700_000_000_000), None, Some(5)])
                        .with_timezone("Europe/Oslo"),
                ),
                [1_700_000_000_000.0, 5.0],
            ),
            (
                Arc::new(TimestampMicrosecondArray::from(vec![
                    Some(42),
                    None,
                    Some(43),
                ])),
                [42.0, 43.0],
            ),
            (
                Arc::new(TimestampNanosecondArray::from(vec![
                    Some(7),
                    None,
                    Some(-7),
                ])),
                [7.0, -7.0],
            ),
        ]
    }

    #[test]
    fn every_number_type_is_read_with_its_nulls_skipped() {
        let arrays = every_number_type();
        assert_eq!(arrays.len(), 19);
        for (array, [a, b]) in &arrays {
            let role = role_of(array.data_type());
            assert!(
                matches!(role, Some(Role::Numeric | Role::Temporal)),
                "{}: {role:?}",
                array.data_type()
            );
            assert_eq!(
                numbers_of(array.as_ref(), 0..3),
                Some(vec![(0, *a), (2, *b)]),
                "{}",
                array.data_type()
            );
            assert_eq!(
                texts_of(array.as_ref(), 0..3),
                None,
                "{}",
                array.data_type()
            );
        }
    }

    #[test]
    fn nan_and_infinity_are_passed_on() {
        let array = Float64Array::from(vec![f64::NAN, f64::INFINITY, -0.0]);
        let read = numbers_of(&array, 0..3).expect("a float array");
        assert!(read[0].1.is_nan());
        assert_eq!(&read[1..], &[(1, f64::INFINITY), (2, -0.0)]);
    }

    #[test]
    fn a_row_range_is_read_with_its_indices_and_clamped_to_the_array() {
        let plain = Int32Array::from_iter_values(0..300);
        let read = numbers_of(&plain, 130..135).expect("an integer array");
        assert_eq!(read, (130..135).map(|i| (i, i as f64)).collect::<Vec<_>>());
        // Nulls past a byte boundary, and a range past the end.
        let sparse = Int32Array::from_iter((0..300).map(|i| (i % 3 != 0).then_some(i)));
        let read = numbers_of(&sparse, 290..400).expect("an integer array");
        let expected: Vec<(usize, f64)> = [290, 292, 293, 295, 296, 298, 299]
            .into_iter()
            .map(|i| (i, i as f64))
            .collect();
        assert_eq!(read, expected);
        assert_eq!(numbers_of(&sparse, 400..500), Some(vec![]));
        #[allow(
            clippy::reversed_empty_ranges,
            reason = "an empty range is what is tested"
        )]
        let reversed = 10..5;
        assert_eq!(numbers_of(&sparse, reversed), Some(vec![]));
        // A slice keeps its own indices and its own nulls.
        let sliced = sparse.slice(5, 6);
        let read = numbers_of(&sliced, 0..6).expect("an integer array");
        assert_eq!(read, vec![(0, 5.0), (2, 7.0), (3, 8.0), (5, 10.0)]);
        let strings = StringArray::from(vec![Some("a"), None, Some("c"), Some("d")]);
        assert_eq!(
            texts_of(&strings, 1..9),
            Some(vec![(2, "str:c".to_string()), (3, "str:d".to_string())])
        );
        let sliced = strings.slice(2, 2);
        assert_eq!(
            texts_of(&sliced, 0..2),
            Some(vec![(0, "str:c".to_string()), (1, "str:d".to_string())])
        );
    }

    #[test]
    fn every_text_type_is_read_with_its_nulls_skipped() {
        let arrays: Vec<(ArrayRef, [&str; 2])> = vec![
            (
                Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])),
                ["bool:true", "bool:false"],
            ),
            (
                Arc::new(StringArray::from(vec![Some("RENT"), None, Some("")])),
                ["str:RENT", "str:"],
            ),
            (
                Arc::new(LargeStringArray::from(vec![Some("ø"), None, Some("b")])),
                ["str:ø", "str:b"],
            ),
            (
                Arc::new(StringViewArray::from(vec![
                    Some("a string longer than twelve bytes"),
                    None,
                    Some("short"),
                ])),
                ["str:a string longer than twelve bytes", "str:short"],
            ),
        ];
        for (array, [a, b]) in &arrays {
            assert_eq!(
                role_of(array.data_type()),
                Some(Role::Categorical),
                "{}",
                array.data_type()
            );
            assert_eq!(
                texts_of(array.as_ref(), 0..3),
                Some(vec![(0, a.to_string()), (2, b.to_string())]),
                "{}",
                array.data_type()
            );
            assert_eq!(
                numbers_of(array.as_ref(), 0..3),
                None,
                "{}",
                array.data_type()
            );
        }
    }

    #[test]
    fn other_types_are_refused() {
        let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1)])]);
        let dictionary = DictionaryArray::<Key>::try_new(
            Int32Array::from(vec![0, 0]),
            Arc::new(StringArray::from(vec!["a"])),
        )
        .expect("keys in range");
        let refused: Vec<ArrayRef> = vec![
            Arc::new(list),
            Arc::new(BinaryArray::from(vec![&b"x"[..]])),
            Arc::new(NullArray::new(2)),
            Arc::new(dictionary.clone()),
        ];
        for array in &refused {
            let mut called = false;
            assert!(!for_each_number(array.as_ref(), 0..2, |_, _| called = true));
            assert!(!for_each_text(array.as_ref(), 0..2, |_, _| called = true));
            assert!(!called, "{}", array.data_type());
        }
        // Not testable, except a dictionary of strings, which is categorical (the callers
        // resolve its keys).
        assert_eq!(role_of(refused[0].data_type()), None);
        assert_eq!(role_of(refused[1].data_type()), None);
        assert_eq!(role_of(refused[2].data_type()), None);
        assert_eq!(role_of(dictionary.data_type()), Some(Role::Categorical));
        let numbers = DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Int64));
        assert_eq!(role_of(&numbers), None);
    }
}
