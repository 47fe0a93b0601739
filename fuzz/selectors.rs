//! How the fuzz target reads its input's first byte: which Content-Type and which headers
//! the body comes with. Shared by `fuzz_targets/decode.rs` and the seed generator
//! (`seeds/`), so that seeds land on the selector they were written for.

/// The `ce-*` headers of a binary-mode CloudEvent, as KServe's payload logger sends them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeHeaders {
    None,
    Request,
    Response,
}

/// One way a body can arrive.
#[derive(Debug, Clone, Copy)]
pub struct Selector {
    pub content_type: Option<&'static str>,
    pub headers: CeHeaders,
}

/// The input's first byte, modulo the length, picks one.
pub const SELECTORS: [Selector; 9] = [
    Selector {
        content_type: Some("application/json"),
        headers: CeHeaders::None,
    },
    Selector {
        content_type: None,
        headers: CeHeaders::None,
    },
    Selector {
        content_type: Some("application/cloudevents+json"),
        headers: CeHeaders::None,
    },
    Selector {
        content_type: Some("application/cloudevents-batch+json"),
        headers: CeHeaders::None,
    },
    Selector {
        content_type: Some("application/vnd.apache.arrow.stream"),
        headers: CeHeaders::None,
    },
    Selector {
        content_type: Some("application/json"),
        headers: CeHeaders::Request,
    },
    Selector {
        content_type: None,
        headers: CeHeaders::Response,
    },
    Selector {
        content_type: Some("application/x-www-form-urlencoded"),
        headers: CeHeaders::None,
    },
    Selector {
        content_type: Some("text/plain; charset=utf-8"),
        headers: CeHeaders::None,
    },
];

/// Index of the selector for JSON.
pub const JSON: u8 = 0;
/// Index of the selector without a Content-Type (sniffing).
pub const SNIFF: u8 = 1;
/// Index of the selector for a structured CloudEvent.
pub const STRUCTURED: u8 = 2;
/// Index of the selector for a batch of CloudEvents.
pub const BATCH: u8 = 3;
/// Index of the selector for an Arrow IPC stream.
pub const ARROW: u8 = 4;
/// Index of the selector for a binary-mode request event with a JSON body.
pub const BINARY_REQUEST: u8 = 5;
/// Index of the selector for a binary-mode response event without a Content-Type.
pub const BINARY_RESPONSE: u8 = 6;
