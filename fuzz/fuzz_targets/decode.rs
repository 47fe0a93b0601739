//! Fuzzes `drifttap::sidecar::ingest::decode::decode`: the first byte picks a Content-Type and
//! CloudEvent headers (see `selectors.rs`), the rest is the body. Decoding must never panic,
//! and what it returns must hold together.
//!
//! One exception: arrow-ipc 60 panics on some malformed streams the decoder cannot tell from
//! good ones without re-implementing it (a buffer that is not a whole number of its elements);
//! the decoder catches those as `invalid_arrow`. libFuzzer's panic hook would abort on them
//! before the catch, so panics raised in arrow's own source are let through to it (each
//! distinct place printed once); every other panic still aborts.

#![no_main]

use std::collections::HashSet;
use std::panic::PanicHookInfo;
use std::sync::{LazyLock, Mutex};

use drifttap::data::Kind;
use drifttap::sidecar::ingest::decode::{DecodeError, Schema, Value, decode};
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

#[path = "../selectors.rs"]
#[expect(dead_code, reason = "the seed indices are for the seed generator")]
mod selectors;

use selectors::{CeHeaders, SELECTORS};

/// Mixed numeric and categorical features, `prediction` included (scalar V1 predictions).
static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    let features = [
        ("age", Kind::Numeric),
        ("income", Kind::Numeric),
        ("home", Kind::Categorical),
        ("term", Kind::Categorical),
        ("prediction", Kind::Categorical),
    ];
    Schema::new(&features.map(|(name, kind)| (name.to_string(), kind)))
});

fn headers(event_type: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("ce-specversion", "1.0"),
        ("ce-id", "0b7a6d9e-1f2c-4e3d-8a9b-5c6d7e8f9a0b"),
        ("ce-source", "http://localhost:9081/"),
        ("ce-type", event_type),
        ("ce-inferenceservicename", "credit"),
    ] {
        headers.insert(
            name,
            HeaderValue::from_str(value).expect("ASCII header values"),
        );
    }
    headers
}

static REQUEST: LazyLock<HeaderMap> =
    LazyLock::new(|| headers("org.kubeflow.serving.inference.request"));
static RESPONSE: LazyLock<HeaderMap> =
    LazyLock::new(|| headers("org.kubeflow.serving.inference.response"));

/// Whether a panic was raised in one of arrow's crates (`.../arrow-ipc-60.1.0/src/...`).
fn raised_in_arrow(info: &PanicHookInfo<'_>) -> bool {
    info.location()
        .is_some_and(|l| l.file().contains("/arrow-") && !l.file().contains("/work/"))
}

/// Lets arrow's panics unwind to the decoder's catch; hands every other one to libFuzzer.
fn let_arrow_panics_unwind() {
    static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let libfuzzer_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !raised_in_arrow(info) {
            return libfuzzer_hook(info);
        }
        let place = info.location().map(ToString::to_string).unwrap_or_default();
        if let Ok(mut seen) = SEEN.lock()
            && seen.get_or_insert_with(HashSet::new).insert(place.clone())
        {
            eprintln!("arrow panicked at {place} (caught by the decoder as invalid_arrow)");
        }
    }));
}

fuzz_target!(init: let_arrow_panics_unwind(), |input: &[u8]| {
    let Some((&selector, body)) = input.split_first() else {
        return;
    };
    let selector = SELECTORS[usize::from(selector) % SELECTORS.len()];
    let headers = match selector.headers {
        CeHeaders::None => None,
        CeHeaders::Request => Some(&*REQUEST),
        CeHeaders::Response => Some(&*RESPONSE),
    };
    let width = SCHEMA.len();
    match decode(&SCHEMA, selector.content_type, headers, body) {
        Ok(decoded) => {
            assert_eq!(decoded.values.len(), decoded.rows * width);
            assert_eq!(decoded.rows(width).count(), decoded.rows);
            // Output is bounded by the body (one row needs two bytes of JSON; an Arrow stream
            // may claim eight rows a byte).
            assert!(decoded.rows <= body.len().saturating_mul(8), "{} rows", decoded.rows);
            for value in &decoded.values {
                if let Value::Number(v) = value {
                    assert!(v.is_finite(), "{v}");
                }
            }
        }
        Err(error) => assert!(DecodeError::REASONS.contains(&error.reason())),
    }
});
