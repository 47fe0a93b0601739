//! The JSON substrate every JSON decoder walks: parsing a body with simd-json into a tape
//! ([`parse`], [`Document`]), the [`Json`] cursor over it, and a leaf of it as a feature value
//! ([`leaf_value`], [`value`]). It knows no payload shape and no envelope: records, KServe V1
//! and V2 and CloudEvents are all built on it, above it.
//!
//! The tape is simd-json's flat list of nodes in document order, a container's node followed
//! by its descendants; walking it needs no allocation and no recursion.
//!
//! Items are `pub(in super::super)`: visible to the decoders of `decode`, as they were when
//! this was `decode/json.rs` and `pub(super)` meant that.

use simd_json::prelude::{TypedScalarValue, ValueAsScalar};
use simd_json::{ErrorType, Node, StaticNode};

use super::super::{DecodeError, Reason, Value, bool_value, number_value, numbers, str_value};
use crate::data::Kind;

/// A parsed body.
#[derive(Debug, Clone, Copy)]
pub(in super::super) struct Document<'t, 'i> {
    nodes: &'t [Node<'i>],
    /// Address of the parsed buffer, to tell marker strings by their position.
    base: usize,
    /// Offsets in the buffer of the strings that stand for non-finite numbers (overflowing
    /// literals, `Infinity`, `-Infinity`; see [`numbers::patch`]); sorted.
    marks: &'t [usize],
    /// Offsets of the strings that stand for `NaN`: missing values; sorted.
    missing: &'t [usize],
}

impl<'t, 'i> Document<'t, 'i> {
    pub(in super::super) fn root(&self) -> Json<'t, 'i> {
        Json::at(self.nodes)
    }

    /// Whether a string of the tape is the marker of a non-finite number.
    fn is_mark(&self, s: &str) -> bool {
        self.marked(self.marks, s)
    }

    /// Whether a string of the tape is the marker of a `NaN`.
    fn is_missing_mark(&self, s: &str) -> bool {
        self.marked(self.missing, s)
    }

    fn marked(&self, marks: &[usize], s: &str) -> bool {
        !marks.is_empty()
            && marks
                .binary_search(&s.as_ptr().addr().wrapping_sub(self.base))
                .is_ok()
    }
}

/// Parses `body` (a copy of it: simd-json parses in place) and hands the document to `f`.
///
/// simd-json refuses numbers that JSON allows but `f64`/`u64`/`i64` cannot hold: integers past
/// 64 bits and literals that overflow to infinity; and, as JSON does, the `NaN`, `Infinity`
/// and `-Infinity` that Python clients write. Those bodies are parsed a second time after
/// [`numbers::patch`] has rewritten such numbers, so an overflowing value or an infinity costs
/// one value (`non_finite`) and a `NaN` is a missing value, not the payload lost. Only bodies
/// the fast path refuses pay for the rescan; a body the patch leaves unchanged is invalid.
pub(in super::super) fn parse<R>(
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
                missing: &[],
            });
        }
        Err(e) if *e.error() == ErrorType::InvalidNumber => {}
        // A bare `NaN` or `Infinity` is not a number to simd-json, but an unknown word.
        Err(_) if !has_special_word(body) => return Err(DecodeError::InvalidJson),
        Err(_) => {}
    }
    // The failed parse may have unescaped strings in place: start again from the body.
    buf.copy_from_slice(body);
    let marks = numbers::patch(&mut buf);
    let base = buf.as_ptr().addr();
    let tape = simd_json::to_tape(&mut buf).map_err(|_| DecodeError::InvalidJson)?;
    f(Document {
        nodes: &tape.0,
        base,
        marks: &marks.non_finite,
        missing: &marks.missing,
    })
}

/// Whether `body` holds `NaN` or `Infinity` anywhere (inside strings too: a cheap filter before
/// the patch, which looks only outside them).
fn has_special_word(body: &[u8]) -> bool {
    body.windows(3).any(|w| w == b"NaN") || body.windows(8).any(|w| w == b"Infinity")
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
pub(in super::super) struct Json<'t, 'i> {
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

    pub(in super::super) fn head(&self) -> Option<&'t Node<'i>> {
        self.nodes.first()
    }

    /// The nodes below this one, in document order.
    pub(in super::super) fn descendants(&self) -> &'t [Node<'i>] {
        self.nodes.get(1..).unwrap_or_default()
    }

    pub(in super::super) fn as_str(&self) -> Option<&'i str> {
        match self.head() {
            Some(Node::String(s)) => Some(s),
            _ => None,
        }
    }

    pub(in super::super) fn as_u64(&self) -> Option<u64> {
        match self.head() {
            Some(Node::Static(s)) => s.as_u64(),
            _ => None,
        }
    }

    pub(in super::super) fn is_object(&self) -> bool {
        matches!(self.head(), Some(Node::Object { .. }))
    }

    /// Number of elements, if an array.
    pub(in super::super) fn array_len(&self) -> Option<usize> {
        match self.head() {
            Some(Node::Array { len, .. }) => Some(*len),
            _ => None,
        }
    }

    /// The elements, if an array.
    pub(in super::super) fn elements(&self) -> Option<Elements<'t, 'i>> {
        match self.head() {
            Some(Node::Array { len, .. }) => Some(Elements {
                rest: self.descendants(),
                left: *len,
            }),
            _ => None,
        }
    }

    /// The members, if an object.
    pub(in super::super) fn members(&self) -> Option<Members<'t, 'i>> {
        match self.head() {
            Some(Node::Object { len, .. }) => Some(Members {
                rest: self.descendants(),
                left: *len,
            }),
            _ => None,
        }
    }

    /// The value of a member, if an object that has it.
    pub(in super::super) fn get(&self, key: &str) -> Option<Json<'t, 'i>> {
        self.members()?.find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

/// The elements of an array.
#[derive(Debug, Clone)]
pub(in super::super) struct Elements<'t, 'i> {
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
pub(in super::super) struct Members<'t, 'i> {
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
pub(in super::super) fn leaf_value(
    kind: Kind,
    node: &Node<'_>,
    doc: &Document<'_, '_>,
) -> Result<Value, Reason> {
    match node {
        Node::String(s) if doc.is_mark(s) => Err(Reason::NonFinite),
        Node::String(s) if doc.is_missing_mark(s) => Ok(Value::Missing),
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
pub(in super::super) fn value(
    kind: Kind,
    json: Json<'_, '_>,
    doc: &Document<'_, '_>,
) -> Result<Value, Reason> {
    match json.head() {
        Some(node) => leaf_value(kind, node, doc),
        None => Ok(Value::Missing),
    }
}

#[cfg(test)]
mod tests {
    //! Numbers simd-json refuses, through a whole decode: the rescan and its markers.

    use super::super::super::tests::{M, cat, dropped, json_ok, num};

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
    fn python_s_nan_is_a_missing_value_and_its_infinities_are_dropped_values() {
        // Python's `json.dumps` writes these; the rows count, the payload is kept.
        let (rows, d) = json_ok(
            r#"[{"age": NaN, "income": Infinity, "home": NaN, "term": "36"},
                {"age": -Infinity, "income": 2.5, "home": "NaN", "term": NaN}]"#,
        );
        assert_eq!(
            rows,
            vec![vec![M, M, M, cat("36")], vec![M, num(2.5), cat("NaN"), M],]
        );
        assert_eq!(d.dropped, dropped(2, 0, 0));
        // KServe V1 instances and V2 tensors the same way.
        let (rows, d) = json_ok(r#"{"instances": [[NaN, 1.5, "RENT", "36"]]}"#);
        assert_eq!(rows, vec![vec![M, num(1.5), cat("RENT"), cat("36")]]);
        assert_eq!(d.dropped, dropped(0, 0, 0));
        let (rows, d) = json_ok(
            r#"{"inputs": [{"name": "age", "datatype": "FP64", "shape": [2], "data": [NaN, Infinity]},
                           {"name": "income", "datatype": "FP64", "shape": [2], "data": [1, 2]}]}"#,
        );
        assert_eq!(rows, vec![vec![M, num(1.0), M, M], vec![M, num(2.0), M, M]]);
        assert_eq!(d.dropped, dropped(1, 0, 0));
    }

    #[test]
    fn a_bare_word_that_is_not_a_number_is_still_invalid_json() {
        for body in [
            r#"[{"age": NaNa}]"#,
            r#"[{"age": nan}]"#,
            r#"[{"age": Inf}]"#,
        ] {
            assert!(
                matches!(
                    super::super::super::tests::json(body),
                    Err(super::super::super::DecodeError::InvalidJson)
                ),
                "{body}"
            );
        }
    }
}
