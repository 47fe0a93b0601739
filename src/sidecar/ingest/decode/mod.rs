//! Payload decoders: the feature values in a copy of an HTTP body, whether the tap saw it on
//! its way to the model, a client pushed it to the ingest API, or KServe's payload logger sent
//! it as a CloudEvent.
//!
//! Library-grade: pure functions of a body, no I/O, no async, no logging. Whatever goes wrong
//! in a payload is a cheap [`DecodeError`] (the whole body) or a count in [`Dropped`] (single
//! values), both meant to be counted by the caller, never logged per request.
//!
//! # Formats
//! - **JSON records**: `[{"feature": value, ...}, ...]`; a single object is one row. Rows may
//!   also be arrays in schema order, like V1 instances.
//! - **KServe V1**: `{"instances": [...]}`, rows as objects keyed by feature name or as arrays
//!   in schema (baseline column) order; TF-serving's `{"inputs": [...]}` (rows) and
//!   `{"inputs": {"f": [...], ...}}` (columns; `outputs` alike). Responses
//!   `{"predictions": [...]}`: rows as objects or arrays decode like instances; a scalar
//!   prediction is a one-field row of the feature named [`PREDICTION`] when the schema has one
//!   (else that row has no known field and the value counts in `unknown_fields`).
//! - **KServe V2 / Open Inference Protocol**: `{"inputs": [tensor, ...]}`, responses
//!   `{"outputs": [...]}`; see [KServe V2 tensors](#kserve-v2-tensors) below.
//! - **CloudEvents 1.0** over HTTP, as KServe's logger sends them: binary mode (`ce-*`
//!   headers, the body decoded by its Content-Type), structured mode
//!   (`application/cloudevents+json`, `data` or `data_base64`) and batch mode
//!   (`application/cloudevents-batch+json`). The event `type` gives
//!   [`Decoded::direction`].
//! - **Arrow IPC stream** (`application/vnd.apache.arrow.stream`): columns by name.
//!
//! The Content-Type picks the format: `application/json` and any `+json` suffix (parameters
//! ignored) are JSON; no Content-Type, or `application/x-www-form-urlencoded` (what
//! `curl -d` sends, and KServe's logger forwards the request's Content-Type verbatim), means
//! sniffing: JSON if the first non-blank byte is `{` or `[` (and then a JSON object with a
//! `specversion` is taken as a structured CloudEvent, an array of them as a batch), Arrow if
//! the body opens with the IPC continuation marker `0xFFFFFFFF`, else
//! [`DecodeError::UnrecognizedBody`]. Any other Content-Type is
//! [`DecodeError::UnsupportedContentType`].
//!
//! # KServe V2 tensors
//! Each tensor needs `name`, `shape` (non-negative integers), `datatype` (`BOOL`, `UINT8`–
//! `UINT64`, `INT8`–`INT64`, `FP16`, `BF16`, `FP32`, `FP64`, `BYTES`) and `data`, flat
//! row-major or nested lists, whose element count must equal the shape's product; else the
//! payload is [`DecodeError::InvalidTensor`]. An input tensor is then, in this order:
//! - a **feature column** when its name is a feature and its shape is `[N]` or `[N, 1]`; a
//!   feature-named tensor of any other shape has its values counted `wrong_type`;
//! - the **feature matrix** when it is the first other input of shape `[N, F]`: its `F`
//!   columns are the schema's features in order. When `F != schema.len()` its `N` rows are
//!   counted `width_mismatch` (the payload is well-formed; the baseline disagrees with it);
//! - otherwise an unknown field.
//!
//! Output tensors are matched by name only (a response's tensors are predictions, never the
//! feature matrix). An output without `data` (a request's requested-output list, or the binary
//! extension) is skipped. Tensors of different `N` in one payload give `max N` rows; the
//! shorter ones are missing in the extra rows.
//!
//! # Value rules
//! They follow how baselines name values ([`crate::data::categories_of`]):
//! - numeric feature: JSON numbers are [`Value::Number`]; a non-finite one (`1e999`, or an
//!   Arrow NaN) is dropped as `non_finite`; strings, booleans, objects and arrays are dropped
//!   as `wrong_type`;
//! - categorical feature: strings are [`Value::Category`]; booleans are `"true"`/`"false"`;
//!   numbers are named as Rust prints the `f64` (`36`, `0.5`; `-0` is `0`), non-finite ones
//!   dropped as `non_finite`; objects and arrays are `wrong_type`;
//! - `null` is [`Value::Missing`] and is not a drop. A row without some feature has it missing.
//! - A positional row (an array) whose length is not `schema.len()` is left out whole and
//!   counted once in `width_mismatch` (rows, not values: the value count of a row of the wrong
//!   width says nothing useful). Other rows are kept.
//!
//! # Bounds
//! Decoding never panics, and nothing it allocates is sized by what a payload claims, only by
//! what it holds: a V2 `shape` is checked against the elements actually present before
//! anything is allocated, and an Arrow stream may not claim more rows than it has bits (a
//! `Null` or run-end encoded column describes any number of rows in a few bytes). The JSON
//! tape is linear in the body. The output is `rows × schema.len()` values of 24 bytes, and
//! every JSON row costs at least two bytes of body (`{}` or a scalar, and a comma), an Arrow
//! row at least one bit: at most `body.len() / 2` rows from JSON, `8 × body.len()` from
//! Arrow. The caller's body cap (`max_body_bytes`) is what bounds memory.

use crate::data::{FeatureSchema, Kind, category_name};
use crate::sidecar::ingest::queue::Direction;

mod arrow;
mod base64;
mod cloudevents;
mod ipc;
mod json;
mod numbers;
mod v2;

#[cfg(test)]
mod tests;

/// The feature that scalar V1 predictions (`{"predictions": [0, 1, ...]}`) decode into.
pub const PREDICTION: &str = "prediction";

/// The features a payload is decoded into, in baseline order.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    features: FeatureSchema,
    /// Position of [`PREDICTION`], if a feature.
    prediction: Option<usize>,
    /// Rows decoded from one payload at most; the rest are counted, not decoded.
    max_rows: usize,
}

impl Schema {
    /// A schema of these features, in this order.
    pub fn new(features: &[(String, Kind)]) -> Self {
        Schema::of(FeatureSchema::new(features.iter().cloned()))
    }

    /// A schema of these features (a baseline's [`crate::baseline::compile::Baseline::schema`]).
    pub fn of(features: FeatureSchema) -> Self {
        Schema {
            prediction: features.index_of(PREDICTION),
            features,
            max_rows: usize::MAX,
        }
    }

    /// At most `max_rows` rows decoded from a payload; the rows after them are counted in
    /// [`Dropped::row_limit`]. What a payload costs in memory is then bounded by the rows the
    /// window keeps, not by how many rows a body of `max_body_bytes` can spell (an array of
    /// empty rows is three bytes a row; a decoded row is the schema's width in values).
    pub fn with_max_rows(mut self, max_rows: usize) -> Self {
        self.max_rows = max_rows.max(1);
        self
    }

    /// Number of features: the width of every decoded row.
    pub fn len(&self) -> usize {
        self.features.len()
    }

    /// Whether the schema has no feature.
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// Feature names in baseline order.
    pub fn names(&self) -> &[String] {
        self.features.names()
    }

    /// Feature kinds in baseline order.
    pub fn kinds(&self) -> &[Kind] {
        self.features.kinds()
    }

    /// Kind of the feature at `i` (numeric past the end, which no caller asks for).
    fn kind(&self, i: usize) -> Kind {
        self.features.kind(i).unwrap_or(Kind::Numeric)
    }

    /// Position of a feature.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.features.index_of(name)
    }

    /// Position of a feature, trying `*hint` first: the fields of consecutive rows usually
    /// come in the same order, so a string comparison saves a hash most of the time. Leaves
    /// `*hint` just past the feature found.
    fn lookup(&self, name: &str, hint: &mut usize) -> Option<usize> {
        let found = match self.names().get(*hint) {
            Some(guess) if guess == name => Some(*hint),
            _ => self.index_of(name),
        };
        if let Some(i) = found {
            *hint = i + 1;
        }
        found
    }
}

/// One decoded value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Absent from the row, or `null`.
    Missing,
    /// A finite number of a numeric feature.
    Number(f64),
    /// A category name of a categorical feature.
    Category(String),
}

impl crate::sidecar::window::Sample for Value {
    fn number(&self) -> Option<f64> {
        match self {
            Value::Number(v) => Some(*v),
            _ => None,
        }
    }

    fn category(&self) -> Option<&str> {
        match self {
            Value::Category(c) => Some(c),
            _ => None,
        }
    }
}

/// Why a single value was left out (a value-level drop, as opposed to a [`DecodeError`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    NonFinite,
    WrongType,
}

/// Values left out while decoding, by reason (metric label codes).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    /// NaN or ±infinity (including JSON numbers that overflow `f64`).
    pub non_finite: u64,
    /// A value the feature's kind cannot hold: a string for a numeric feature, an object or an
    /// array for any feature.
    pub wrong_type: u64,
    /// Rows (not values) whose width is not the schema's: a positional row of the wrong
    /// length, or the `N` rows of a V2 feature matrix with the wrong column count.
    pub width_mismatch: u64,
    /// Rows (not values) past the schema's row limit for one payload.
    pub row_limit: u64,
}

impl Dropped {
    /// The counts with their `reason` label codes.
    pub fn by_reason(&self) -> [(&'static str, u64); 4] {
        [
            ("non_finite", self.non_finite),
            ("wrong_type", self.wrong_type),
            ("width_mismatch", self.width_mismatch),
            ("row_limit", self.row_limit),
        ]
    }

    /// Whether nothing was dropped.
    pub fn is_empty(&self) -> bool {
        self.by_reason().iter().all(|(_, n)| *n == 0)
    }

    fn count(&mut self, reason: Reason) {
        match reason {
            Reason::NonFinite => self.non_finite += 1,
            Reason::WrongType => self.wrong_type += 1,
        }
    }

    fn add(&mut self, other: Dropped) {
        self.non_finite += other.non_finite;
        self.wrong_type += other.wrong_type;
        self.width_mismatch += other.width_mismatch;
        self.row_limit += other.row_limit;
    }
}

/// The rows of one payload.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Decoded {
    /// `rows * schema.len()` values, row-major, each row in baseline feature order.
    pub values: Vec<Value>,
    pub rows: usize,
    pub dropped: Dropped,
    /// Fields/tensors/columns that are not features of the schema (counted once per
    /// occurrence: a field per row, a tensor or an Arrow column per payload).
    pub unknown_fields: u64,
    /// Request or response when the payload says so (a CloudEvent type ending in `.request` /
    /// `.response`, e.g. KServe's `org.kubeflow.serving.inference.request`), else None.
    pub direction: Option<Direction>,
}

impl Decoded {
    /// The rows, each `width` values (pass the schema's length). Yields `rows` slices, empty
    /// ones if `width` is zero.
    pub fn rows(&self, width: usize) -> impl Iterator<Item = &[Value]> {
        (0..self.rows).map(move |r| {
            r.checked_mul(width)
                .and_then(|start| self.values.get(start..start.checked_add(width)?))
                .unwrap_or(&[])
        })
    }

    /// Appends another payload's rows (same schema); keeps this one's direction.
    fn append(&mut self, other: Decoded) {
        self.values.extend(other.values);
        self.rows += other.rows;
        self.dropped.add(other.dropped);
        self.unknown_fields += other.unknown_fields;
    }
}

/// Why a payload could not be decoded at all. Cheap (Copy), no strings; [`reason`] is the
/// `reason` label of the decode-error counter.
///
/// [`reason`]: DecodeError::reason
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the body is empty")]
    Empty,
    #[error("the content type is not one drifttap decodes")]
    UnsupportedContentType,
    #[error("without a content type, the body is neither JSON nor an Arrow IPC stream")]
    UnrecognizedBody,
    #[error("the body is not valid JSON")]
    InvalidJson,
    #[error("the JSON is neither records nor a KServe V1 or V2 payload")]
    UnknownShape,
    #[error(
        "a V2 tensor is malformed (name, shape, datatype or data), or its shape does not match its data"
    )]
    InvalidTensor,
    #[error("the body is not a valid Arrow IPC stream")]
    InvalidArrow,
    #[error("the CloudEvent is malformed")]
    InvalidCloudEvent,
    #[error("data_base64 is not valid base64")]
    InvalidBase64,
}

impl DecodeError {
    /// Every error, for registering counters up front.
    pub const ALL: [DecodeError; 9] = [
        DecodeError::Empty,
        DecodeError::UnsupportedContentType,
        DecodeError::UnrecognizedBody,
        DecodeError::InvalidJson,
        DecodeError::UnknownShape,
        DecodeError::InvalidTensor,
        DecodeError::InvalidArrow,
        DecodeError::InvalidCloudEvent,
        DecodeError::InvalidBase64,
    ];

    /// Every [`reason`](DecodeError::reason) code, in the order of [`DecodeError::ALL`].
    pub const REASONS: [&'static str; 9] = [
        "empty",
        "unsupported_content_type",
        "unrecognized_body",
        "invalid_json",
        "unknown_shape",
        "invalid_tensor",
        "invalid_arrow",
        "invalid_cloud_event",
        "invalid_base64",
    ];

    /// The `reason` label code.
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::Empty => "empty",
            DecodeError::UnsupportedContentType => "unsupported_content_type",
            DecodeError::UnrecognizedBody => "unrecognized_body",
            DecodeError::InvalidJson => "invalid_json",
            DecodeError::UnknownShape => "unknown_shape",
            DecodeError::InvalidTensor => "invalid_tensor",
            DecodeError::InvalidArrow => "invalid_arrow",
            DecodeError::InvalidCloudEvent => "invalid_cloud_event",
            DecodeError::InvalidBase64 => "invalid_base64",
        }
    }
}

/// Decodes one body. `content_type` is the Content-Type header if any; `headers` are the
/// request headers (for CloudEvents binary mode), None when not available.
pub fn decode(
    schema: &Schema,
    content_type: Option<&str>,
    headers: Option<&http::HeaderMap>,
    body: &[u8],
) -> Result<Decoded, DecodeError> {
    let media = Media::of(content_type);
    match media {
        // Structured and batch mode win over `ce-*` headers, as the CloudEvents HTTP binding
        // says.
        Media::CloudEvent => return cloudevents::structured(schema, body),
        Media::CloudEventBatch => return cloudevents::batch(schema, body),
        _ => {}
    }
    let binary = headers.and_then(cloudevents::binary_direction);
    let events = if binary.is_some() {
        Events::No
    } else {
        Events::Sniffed
    };
    let mut decoded = decode_data(schema, media, body, events)?;
    if let Some(direction) = binary {
        decoded.direction = direction;
    }
    Ok(decoded)
}

/// Whether a sniffed JSON body may be a CloudEvent. Never inside an event's data, so events do
/// not nest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Events {
    No,
    Sniffed,
}

/// Decodes a body that is not a declared structured or batch CloudEvent.
fn decode_data(
    schema: &Schema,
    media: Media,
    body: &[u8],
    events: Events,
) -> Result<Decoded, DecodeError> {
    let Some(first) = body.iter().copied().find(|b| !b.is_ascii_whitespace()) else {
        return Err(DecodeError::Empty);
    };
    match media {
        Media::Json => decode_json(schema, body, Events::No),
        Media::Arrow => arrow::decode(schema, body),
        Media::Sniff if first == b'{' || first == b'[' => decode_json(schema, body, events),
        Media::Sniff if body.starts_with(&ipc::CONTINUATION) => arrow::decode(schema, body),
        Media::Sniff => Err(DecodeError::UnrecognizedBody),
        Media::CloudEvent | Media::CloudEventBatch | Media::Unsupported => {
            Err(DecodeError::UnsupportedContentType)
        }
    }
}

/// Decodes a JSON body: a payload, or with `Events::Sniffed` a structured CloudEvent (an object
/// with a `specversion`) or a batch of them (an array whose first element is one).
///
/// The sniffing is here, not in [`json`], so that the JSON layers never call up into
/// [`cloudevents`]: the dispatcher is the one place that knows an envelope may wrap a payload,
/// and the body is still parsed once whichever it turns out to be.
fn decode_json(schema: &Schema, body: &[u8], events: Events) -> Result<Decoded, DecodeError> {
    json::tape::parse(body, |doc| {
        let root = doc.root();
        if events == Events::Sniffed {
            if is_event(root) {
                return cloudevents::event(schema, &doc, root);
            }
            if root
                .elements()
                .and_then(|mut e| e.next())
                .is_some_and(is_event)
            {
                return cloudevents::events(schema, &doc, root);
            }
        }
        json::payload::decode(schema, &doc, root)
    })
}

/// Whether a JSON value looks like a structured CloudEvent: an object with a `specversion`
/// (what [`cloudevents::event`] then checks in full).
fn is_event(value: json::tape::Json<'_, '_>) -> bool {
    value.is_object() && value.get("specversion").is_some()
}

/// What a Content-Type names, as far as decoding goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Media {
    Json,
    Arrow,
    CloudEvent,
    CloudEventBatch,
    /// None given (or one that says nothing about the body): look at the first bytes.
    Sniff,
    Unsupported,
}

impl Media {
    fn of(content_type: Option<&str>) -> Media {
        let Some(content_type) = content_type else {
            return Media::Sniff;
        };
        // The essence: type/subtype without parameters; case-insensitive (RFC 9110 §8.3.1).
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        let is = |name: &str| essence.eq_ignore_ascii_case(name);
        if essence.is_empty() || is("application/x-www-form-urlencoded") {
            Media::Sniff
        } else if is("application/cloudevents+json") {
            Media::CloudEvent
        } else if is("application/cloudevents-batch+json") {
            Media::CloudEventBatch
        } else if is("application/json") || is("text/json") || ends_with_json(essence) {
            Media::Json
        } else if is("application/vnd.apache.arrow.stream") {
            Media::Arrow
        } else {
            Media::Unsupported
        }
    }
}

/// Whether a media type has the `+json` structured syntax suffix (RFC 6839).
fn ends_with_json(essence: &str) -> bool {
    let bytes = essence.as_bytes();
    bytes.len() > 5
        && bytes
            .get(bytes.len() - 5..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case(b"+json"))
}

/// Rows written at a time by the column-wise decoders (V2 tensors, Arrow columns), column
/// after column: a block's values stay in cache while every column writes into them, where
/// whole columns one after the other would stride through all the rows each time (1 000 rows
/// × 20 features of 24-byte values is 480 KB, past L1 and L2 of most cores).
const BLOCK_ROWS: usize = 128;

/// Rows under construction, `schema.len()` values each, all missing until set.
#[derive(Debug)]
struct Builder<'s> {
    schema: &'s Schema,
    out: Decoded,
}

impl<'s> Builder<'s> {
    fn new(schema: &'s Schema) -> Self {
        Builder {
            schema,
            out: Decoded::default(),
        }
    }

    fn width(&self) -> usize {
        self.schema.len()
    }

    /// Makes room for `n` more rows without writing them (see [`BLOCK_ROWS`]: writing them
    /// block by block keeps the block in cache).
    /// Rows that may still be added under the schema's row limit.
    fn room(&self) -> usize {
        self.schema.max_rows.saturating_sub(self.out.rows)
    }

    fn reserve_rows(&mut self, n: usize) {
        self.out.values.reserve(n.min(self.room()) * self.width());
    }

    /// Appends `n` rows of missing values; returns the first one's index. Past the row limit
    /// only the rows that fit are added and the rest are counted: `put` on them does nothing.
    fn push_rows(&mut self, n: usize) -> usize {
        let first = self.out.rows;
        let width = self.width();
        let added = n.min(self.room());
        self.out.dropped.row_limit += (n - added) as u64;
        self.out
            .values
            .resize(self.out.values.len() + added * width, Value::Missing);
        self.out.rows += added;
        first
    }

    /// Stores a converted value, or counts why there is none.
    #[inline]
    fn put(&mut self, row: usize, feature: usize, value: Result<Value, Reason>) {
        if row >= self.out.rows {
            // Past the row limit: the row is counted already, its values are not.
            return;
        }
        match value {
            Ok(Value::Missing) => {}
            Ok(value) => {
                let width = self.width();
                if let Some(slot) = self.out.values.get_mut(row * width + feature) {
                    *slot = value;
                }
            }
            Err(reason) => self.out.dropped.count(reason),
        }
    }

    fn finish(self) -> Decoded {
        self.out
    }
}

/// A number as a value of a feature of this kind.
#[inline]
fn number_value(kind: Kind, v: f64) -> Result<Value, Reason> {
    if !v.is_finite() {
        return Err(Reason::NonFinite);
    }
    Ok(match kind {
        Kind::Numeric => Value::Number(v),
        Kind::Categorical => Value::Category(category_name(v)),
    })
}

/// A boolean as a value of a feature of this kind.
#[inline]
fn bool_value(kind: Kind, b: bool) -> Result<Value, Reason> {
    match kind {
        Kind::Numeric => Err(Reason::WrongType),
        Kind::Categorical => Ok(Value::Category(
            if b { "true" } else { "false" }.to_string(),
        )),
    }
}

/// A string as a value of a feature of this kind.
#[inline]
fn str_value(kind: Kind, s: &str) -> Result<Value, Reason> {
    match kind {
        Kind::Numeric => Err(Reason::WrongType),
        Kind::Categorical => Ok(Value::Category(s.to_string())),
    }
}
