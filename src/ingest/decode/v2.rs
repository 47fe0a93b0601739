//! KServe V2 (Open Inference Protocol) tensors, in two passes: every tensor is checked and
//! placed before anything is allocated (so a `shape` claiming 10¹² elements costs nothing),
//! then the values are written. The rules are in the [module docs](super#kserve-v2-tensors).

use simd_json::Node;
use simd_json::prelude::TypedScalarValue;

use super::json::{Document, Json, leaf_value};
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
