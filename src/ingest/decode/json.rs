//! JSON payloads: parsing with simd-json into a tape, walking it, and the record and KServe V1
//! shapes (V2 tensors are in [`super::v2`]).
//!
//! The tape is simd-json's flat list of nodes in document order, a container's node followed
//! by its descendants; walking it needs no allocation and no recursion.

use simd_json::prelude::{TypedScalarValue, ValueAsScalar};
use simd_json::{ErrorType, Node, StaticNode};

use super::{
    Builder, DecodeError, Decoded, Events, Reason, Schema, Value, bool_value, cloudevents,
    number_value, numbers, str_value, v2,
};
use crate::baseline::select::Kind;

/// A parsed body.
#[derive(Debug, Clone, Copy)]
pub(super) struct Document<'t, 'i> {
    nodes: &'t [Node<'i>],
    /// Address of the parsed buffer, to tell marker strings by their position.
    base: usize,
    /// Offsets in the buffer of the strings that stand for numbers overflowing `f64`
    /// (see [`numbers::patch`]); sorted.
    marks: &'t [usize],
}

impl<'t, 'i> Document<'t, 'i> {
    pub(super) fn root(&self) -> Json<'t, 'i> {
        Json::at(self.nodes)
    }

    /// Whether a string of the tape is the marker of an overflowing number.
    fn is_mark(&self, s: &str) -> bool {
        !self.marks.is_empty()
            && self
                .marks
                .binary_search(&s.as_ptr().addr().wrapping_sub(self.base))
                .is_ok()
    }
}

/// Parses `body` (a copy of it: simd-json parses in place) and hands the document to `f`.
///
/// simd-json refuses numbers that JSON allows but `f64`/`u64`/`i64` cannot hold: integers past
/// 64 bits and literals that overflow to infinity. Those bodies are parsed a second time after
/// [`numbers::patch`] has rewritten such numbers, so an overflowing value costs one value
/// (`non_finite`), not the payload. Only bodies the fast path refuses pay for the rescan.
pub(super) fn parse<R>(
    body: &[u8],
    f: impl FnOnce(Document<'_, '_>) -> Result<R, DecodeError>,
) -> Result<R, DecodeError> {
    let mut buf = body.to_vec();
    let base = buf.as_ptr().addr();
    match simd_json::to_tape(&mut buf) {
        Ok(tape) => {
            return f(Document {
                nodes: &tape.0,
                base,
                marks: &[],
            });
        }
        Err(e) if *e.error() == ErrorType::InvalidNumber => {}
        Err(_) => return Err(DecodeError::InvalidJson),
    }
    // The failed parse may have unescaped strings in place: start again from the body.
    buf.copy_from_slice(body);
    let marks = numbers::patch(&mut buf);
    let base = buf.as_ptr().addr();
    let tape = simd_json::to_tape(&mut buf).map_err(|_| DecodeError::InvalidJson)?;
    f(Document {
        nodes: &tape.0,
        base,
        marks: &marks,
    })
}

/// Nodes a node spans: itself and its descendants.
fn span(node: &Node<'_>) -> usize {
    match node {
        Node::Object { count, .. } | Node::Array { count, .. } => count.saturating_add(1),
        _ => 1,
    }
}

/// One JSON value: its node and its descendants.
#[derive(Debug, Clone, Copy)]
pub(super) struct Json<'t, 'i> {
    nodes: &'t [Node<'i>],
}

impl<'t, 'i> Json<'t, 'i> {
    /// The value whose node starts `nodes`.
    fn at(nodes: &'t [Node<'i>]) -> Self {
        let len = nodes.first().map_or(0, span).min(nodes.len());
        Json {
            nodes: nodes.get(..len).unwrap_or_default(),
        }
    }

    pub(super) fn head(&self) -> Option<&'t Node<'i>> {
        self.nodes.first()
    }

    /// The nodes below this one, in document order.
    pub(super) fn descendants(&self) -> &'t [Node<'i>] {
        self.nodes.get(1..).unwrap_or_default()
    }

    pub(super) fn as_str(&self) -> Option<&'i str> {
        match self.head() {
            Some(Node::String(s)) => Some(s),
            _ => None,
        }
    }

    pub(super) fn as_u64(&self) -> Option<u64> {
        match self.head() {
            Some(Node::Static(s)) => s.as_u64(),
            _ => None,
        }
    }

    pub(super) fn is_object(&self) -> bool {
        matches!(self.head(), Some(Node::Object { .. }))
    }

    /// Number of elements, if an array.
    pub(super) fn array_len(&self) -> Option<usize> {
        match self.head() {
            Some(Node::Array { len, .. }) => Some(*len),
            _ => None,
        }
    }

    /// The elements, if an array.
    pub(super) fn elements(&self) -> Option<Elements<'t, 'i>> {
        match self.head() {
            Some(Node::Array { len, .. }) => Some(Elements {
                rest: self.descendants(),
                left: *len,
            }),
            _ => None,
        }
    }

    /// The members, if an object.
    pub(super) fn members(&self) -> Option<Members<'t, 'i>> {
        match self.head() {
            Some(Node::Object { len, .. }) => Some(Members {
                rest: self.descendants(),
                left: *len,
            }),
            _ => None,
        }
    }

    /// The value of a member, if an object that has it.
    pub(super) fn get(&self, key: &str) -> Option<Json<'t, 'i>> {
        self.members()?.find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

/// The elements of an array.
#[derive(Debug, Clone)]
pub(super) struct Elements<'t, 'i> {
    rest: &'t [Node<'i>],
    left: usize,
}

impl<'t, 'i> Iterator for Elements<'t, 'i> {
    type Item = Json<'t, 'i>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let (head, tail) = self.rest.split_at_checked(span(self.rest.first()?))?;
        self.rest = tail;
        Some(Json { nodes: head })
    }
}

/// The key–value pairs of an object.
#[derive(Debug, Clone)]
pub(super) struct Members<'t, 'i> {
    rest: &'t [Node<'i>],
    left: usize,
}

impl<'t, 'i> Iterator for Members<'t, 'i> {
    type Item = (&'i str, Json<'t, 'i>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let (key, rest) = self.rest.split_first()?;
        let Node::String(key) = key else {
            return None;
        };
        let (head, tail) = rest.split_at_checked(span(rest.first()?))?;
        self.rest = tail;
        Some((key, Json { nodes: head }))
    }
}

/// A leaf node (not an array or object) as a value of a feature of this kind.
#[inline]
pub(super) fn leaf_value(
    kind: Kind,
    node: &Node<'_>,
    doc: &Document<'_, '_>,
) -> Result<Value, Reason> {
    match node {
        Node::String(s) if doc.is_mark(s) => Err(Reason::NonFinite),
        Node::String(s) => str_value(kind, s),
        Node::Static(s) => static_value(kind, s),
        Node::Object { .. } | Node::Array { .. } => Err(Reason::WrongType),
    }
}

#[inline]
fn static_value(kind: Kind, s: &StaticNode) -> Result<Value, Reason> {
    if s.is_null() {
        Ok(Value::Missing)
    } else if let Some(b) = s.as_bool() {
        bool_value(kind, b)
    } else if let Some(v) = s.cast_f64() {
        number_value(kind, v)
    } else {
        Err(Reason::WrongType)
    }
}

/// A JSON value as a value of a feature of this kind.
pub(super) fn value(
    kind: Kind,
    json: Json<'_, '_>,
    doc: &Document<'_, '_>,
) -> Result<Value, Reason> {
    match json.head() {
        Some(node) => leaf_value(kind, node, doc),
        None => Ok(Value::Missing),
    }
}

/// Decodes a JSON body.
pub(super) fn decode(schema: &Schema, body: &[u8], events: Events) -> Result<Decoded, DecodeError> {
    parse(body, |doc| {
        let root = doc.root();
        if events == Events::Sniffed {
            if root.is_object() && root.get("specversion").is_some() {
                return cloudevents::event(schema, &doc, root);
            }
            if root
                .elements()
                .and_then(|mut e| e.next())
                .is_some_and(|first| first.is_object() && first.get("specversion").is_some())
            {
                return cloudevents::events(schema, &doc, root);
            }
        }
        decode_value(schema, &doc, root)
    })
}

/// The envelope members of a JSON object payload.
#[derive(Debug, Default)]
struct Envelope<'t, 'i> {
    instances: Option<Json<'t, 'i>>,
    inputs: Option<Json<'t, 'i>>,
    outputs: Option<Json<'t, 'i>>,
    predictions: Option<Json<'t, 'i>>,
}

/// Decodes a JSON value holding a payload: records, KServe V1 or V2.
pub(super) fn decode_value(
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
    /// A value of [`super::PREDICTION`].
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
                for (feature, (kind, value)) in schema.kinds.iter().zip(values).enumerate() {
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
