//! CloudEvents 1.0 over HTTP, the three modes of the HTTP protocol binding:
//! - **binary**: attributes in `ce-*` headers, the body is the event data, its Content-Type the
//!   `datacontenttype`. This is how KServe's payload logger sends (`pkg/logger/worker.go`:
//!   `ce-specversion: 1.0`, `ce-type: org.kubeflow.serving.inference.request` or
//!   `.response`, `ce-id`, `ce-source`, extensions `ce-inferenceservicename`,
//!   `ce-namespace`, `ce-component`, `ce-endpoint`, and the inference request or response
//!   body with the request's Content-Type);
//! - **structured** (`application/cloudevents+json`): one JSON event with `data` (a JSON
//!   value, when `datacontenttype` is JSON or absent) or `data_base64` (any supported format);
//! - **batch** (`application/cloudevents-batch+json`): a JSON array of structured events.
//!
//! The event `type` gives the direction when it ends in `.request` or `.response`. Events do
//! not nest: event data that is itself a CloudEvent is refused.
//!
//! A batch has one direction: that of its first event that has one. Events of the other
//! direction are left out, neither decoded nor counted (KServe never batches; a producer that
//! mixes requests and responses in one batch gets the first kind decoded, the rest would need
//! a second window the caller does not have). Events without a direction are decoded with the
//! batch. Any malformed event fails the whole batch, which is counted once.

// Event data is any format, so bytes of data (`data_base64`, or text under a non-JSON content
// type) go back up to the dispatcher, `decode_data`: the one call from a format up to the
// dispatcher, and it passes `Events::No` so that data is never taken for an event. JSON `data`
// was parsed with the event and is a payload as it stands: it goes down to `json::payload`.
use super::json::payload;
use super::json::tape::{self, Document, Json};
use super::{DecodeError, Decoded, Events, Media, Schema, base64, decode_data};
use crate::sidecar::ingest::queue::Direction;

/// The direction a CloudEvent `type` names.
fn direction_of(event_type: &str) -> Option<Direction> {
    if event_type.ends_with(".request") {
        Some(Direction::Request)
    } else if event_type.ends_with(".response") {
        Some(Direction::Response)
    } else {
        None
    }
}

/// For a binary-mode event (the headers have `ce-specversion`), the direction its `ce-type`
/// names; None when the headers are not a CloudEvent's.
pub(super) fn binary_direction(headers: &http::HeaderMap) -> Option<Option<Direction>> {
    headers.get("ce-specversion")?;
    Some(
        headers
            .get("ce-type")
            .and_then(|t| t.to_str().ok())
            .and_then(direction_of),
    )
}

/// Decodes a structured-mode event.
pub(super) fn structured(schema: &Schema, body: &[u8]) -> Result<Decoded, DecodeError> {
    non_empty(body)?;
    tape::parse(body, |doc| {
        let root = doc.root();
        if !root.is_object() {
            return Err(DecodeError::InvalidCloudEvent);
        }
        event(schema, &doc, root)
    })
}

/// Decodes a batch-mode array of events.
pub(super) fn batch(schema: &Schema, body: &[u8]) -> Result<Decoded, DecodeError> {
    non_empty(body)?;
    tape::parse(body, |doc| events(schema, &doc, doc.root()))
}

fn non_empty(body: &[u8]) -> Result<(), DecodeError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(DecodeError::Empty);
    }
    Ok(())
}

/// Decodes a JSON array of structured events as one batch.
pub(super) fn events(
    schema: &Schema,
    doc: &Document<'_, '_>,
    list: Json<'_, '_>,
) -> Result<Decoded, DecodeError> {
    let elements = list.elements().ok_or(DecodeError::InvalidCloudEvent)?;
    let mut out = Decoded::default();
    for element in elements {
        if !element.is_object() {
            return Err(DecodeError::InvalidCloudEvent);
        }
        let decoded = event(schema, doc, element)?;
        match (out.direction, decoded.direction) {
            (Some(batch), Some(this)) if batch != this => continue,
            (None, Some(this)) => out.direction = Some(this),
            _ => {}
        }
        out.append(decoded);
    }
    Ok(out)
}

/// Decodes one structured event (a JSON object).
pub(super) fn event(
    schema: &Schema,
    doc: &Document<'_, '_>,
    object: Json<'_, '_>,
) -> Result<Decoded, DecodeError> {
    let invalid = DecodeError::InvalidCloudEvent;
    let (mut specversion, mut event_type, mut content_type) = (None, None, None);
    let (mut data, mut data_base64) = (None, None);
    for (key, value) in object.members().ok_or(invalid)? {
        match key {
            "specversion" => specversion = Some(value.as_str().ok_or(invalid)?),
            "type" => event_type = Some(value.as_str().ok_or(invalid)?),
            "datacontenttype" => content_type = Some(value.as_str().ok_or(invalid)?),
            "data" => data = Some(value),
            "data_base64" => data_base64 = Some(value.as_str().ok_or(invalid)?),
            _ => {}
        }
    }
    if specversion.is_none() {
        return Err(invalid);
    }
    let media = Media::of(content_type);
    if matches!(media, Media::CloudEvent | Media::CloudEventBatch) {
        return Err(DecodeError::UnsupportedContentType);
    }
    let mut decoded = match (data, data_base64) {
        (Some(_), Some(_)) => return Err(invalid),
        (None, Some(text)) => decode_data(schema, media, &base64::decode(text)?, Events::No)?,
        // `data` is the JSON value itself when the content type is JSON (or absent, which
        // means JSON); a string under another content type is that content as text.
        (Some(value), None) => match (media, value.as_str()) {
            (Media::Json | Media::Sniff, _) => payload::decode(schema, doc, value)?,
            (_, Some(text)) => decode_data(schema, media, text.as_bytes(), Events::No)?,
            (_, None) => return Err(DecodeError::UnsupportedContentType),
        },
        (None, None) => Decoded::default(),
    };
    decoded.direction = event_type.and_then(direction_of);
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, HeaderValue};

    use super::super::decode;
    use super::super::tests::{M, cat, num, schema, table};
    use super::*;

    /// Headers as KServe's logger sends them (`pkg/logger/worker.go`, binary mode).
    fn kserve_headers(event_type: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("ce-specversion", "1.0"),
            ("ce-id", "5f4a2d1e-8c3b-4f1a-9e2d-7b6c5a4d3e2f"),
            ("ce-source", "http://localhost:9081/"),
            ("ce-type", event_type),
            ("ce-time", "2026-01-05T10:00:00.123Z"),
            ("ce-inferenceservicename", "credit"),
            ("ce-namespace", "models"),
            ("ce-component", "predictor"),
            ("ce-endpoint", "default"),
            ("ce-metadata", "{}"),
            ("content-type", "application/json"),
        ] {
            headers.insert(name, HeaderValue::from_str(value).expect("valid header"));
        }
        headers
    }

    #[test]
    fn binary_mode_as_kserve_logs_a_request_and_its_response() {
        let headers = kserve_headers("org.kubeflow.serving.inference.request");
        let body = br#"{"instances": [[39, 52000, "RENT", 36], [51, 61000, "OWN", 60]]}"#;
        let d = decode(&schema(), Some("application/json"), Some(&headers), body).expect("decodes");
        assert_eq!(d.direction, Some(Direction::Request));
        assert_eq!(
            table(&d, &schema()),
            vec![
                vec![num(39.0), num(52000.0), cat("RENT"), cat("36")],
                vec![num(51.0), num(61000.0), cat("OWN"), cat("60")],
            ]
        );
        let headers = kserve_headers("org.kubeflow.serving.inference.response");
        let d = decode(
            &schema(),
            Some("application/json"),
            Some(&headers),
            br#"{"predictions": [1, 0]}"#,
        )
        .expect("decodes");
        assert_eq!((d.direction, d.rows), (Some(Direction::Response), 2));
    }

    #[test]
    fn binary_mode_with_a_v2_body_and_no_content_type() {
        let headers = kserve_headers("org.kubeflow.serving.inference.request");
        let body =
            br#"{"inputs": [{"name": "age", "shape": [1], "datatype": "INT32", "data": [7]}]}"#;
        let d = decode(&schema(), None, Some(&headers), body).expect("decodes");
        assert_eq!(d.direction, Some(Direction::Request));
        assert_eq!(table(&d, &schema()), vec![vec![num(7.0), M, M, M]]);
    }

    #[test]
    fn other_event_types_and_plain_headers_give_no_direction() {
        let headers = kserve_headers("com.example.sample");
        let d = decode(&schema(), None, Some(&headers), br#"[{"age": 1}]"#).expect("decodes");
        assert_eq!((d.direction, d.rows), (None, 1));
        let mut plain = HeaderMap::new();
        plain.insert("ce-type", HeaderValue::from_static("x.request"));
        let d = decode(&schema(), None, Some(&plain), br#"[{"age": 1}]"#).expect("decodes");
        assert_eq!(d.direction, None, "no ce-specversion, no CloudEvent");
    }

    #[test]
    fn binary_mode_bodies_are_not_sniffed_as_structured_events() {
        let headers = kserve_headers("org.kubeflow.serving.inference.request");
        let body = br#"{"specversion": "1.0", "age": 3}"#;
        let d = decode(&schema(), None, Some(&headers), body).expect("decodes");
        assert_eq!(table(&d, &schema()), vec![vec![num(3.0), M, M, M]]);
        assert_eq!(d.unknown_fields, 1);
    }

    const STRUCTURED: &str = "application/cloudevents+json; charset=UTF-8";

    #[test]
    fn structured_mode_with_json_data() {
        let body = br#"{"specversion": "1.0", "id": "1", "source": "/m",
            "type": "org.kubeflow.serving.inference.request",
            "datacontenttype": "application/json",
            "data": {"instances": [{"age": 3, "home": "OWN"}]}}"#;
        let d = decode(&schema(), Some(STRUCTURED), None, body).expect("decodes");
        assert_eq!(d.direction, Some(Direction::Request));
        assert_eq!(table(&d, &schema()), vec![vec![num(3.0), M, cat("OWN"), M]]);
        // No datacontenttype means JSON; an overflowing number inside data is one value.
        let body = br#"{"specversion": "1.0", "type": "x.response", "data": [{"age": 1e999}]}"#;
        let d = decode(&schema(), Some(STRUCTURED), None, body).expect("decodes");
        assert_eq!(
            (d.direction, d.rows, d.dropped.non_finite),
            (Some(Direction::Response), 1, 1)
        );
    }

    #[test]
    fn structured_mode_with_base64_data() {
        // base64 of `[{"age": 5, "term": 60}]`
        let body =
            br#"{"specversion": "1.0", "type": "t.request", "datacontenttype": "application/json",
            "data_base64": "W3siYWdlIjogNSwgInRlcm0iOiA2MH1d"}"#;
        let d = decode(&schema(), Some(STRUCTURED), None, body).expect("decodes");
        assert_eq!(table(&d, &schema()), vec![vec![num(5.0), M, M, cat("60")]]);
        // A string `data` under a non-JSON content type is that content as text.
        let body = br#"{"specversion": "1.0", "datacontenttype": "application/json+x",
            "data": 1}"#;
        assert_eq!(
            decode(&schema(), Some(STRUCTURED), None, body),
            Err(DecodeError::UnsupportedContentType)
        );
    }

    #[test]
    fn structured_events_without_data_have_no_rows() {
        let body = br#"{"specversion": "1.0", "type": "a.request", "id": "1", "source": "/"}"#;
        let d = decode(&schema(), Some(STRUCTURED), None, body).expect("decodes");
        assert_eq!((d.rows, d.direction), (0, Some(Direction::Request)));
    }

    #[test]
    fn structured_events_are_sniffed_without_a_content_type() {
        let body = br#"{"specversion": "1.0", "type": "a.response", "data": {"predictions": [1]}}"#;
        let d = decode(&schema(), None, None, body).expect("decodes");
        assert_eq!((d.rows, d.direction), (1, Some(Direction::Response)));
        let body = br#"[{"specversion": "1.0", "type": "a.request", "data": [{"age": 1}]}]"#;
        let d = decode(&schema(), None, None, body).expect("decodes");
        assert_eq!((d.rows, d.direction), (1, Some(Direction::Request)));
        // Declared JSON is the payload itself, even with a `specversion` field.
        let d = decode(
            &schema(),
            Some("application/json"),
            None,
            br#"{"specversion": "1.0"}"#,
        )
        .expect("decodes");
        assert_eq!((d.rows, d.unknown_fields), (1, 1));
    }

    #[test]
    fn malformed_structured_events() {
        for (body, error) in [
            (&br#"{"type": "a.request", "data": [{"age": 1}]}"#[..], DecodeError::InvalidCloudEvent),
            (br#"{"specversion": 1, "data": []}"#, DecodeError::InvalidCloudEvent),
            (br#"[{"specversion": "1.0"}]"#, DecodeError::InvalidCloudEvent),
            (br#"{"specversion": "1.0", "data": [], "data_base64": ""}"#, DecodeError::InvalidCloudEvent),
            (br#"{"specversion": "1.0", "data_base64": "%%%"}"#, DecodeError::InvalidBase64),
            (br#"{"specversion": "1.0", "data_base64": 3}"#, DecodeError::InvalidCloudEvent),
            (
                br#"{"specversion": "1.0", "datacontenttype": "application/cloudevents+json", "data": {}}"#,
                DecodeError::UnsupportedContentType,
            ),
            (br#"{"specversion": "1.0", "data": 3}"#, DecodeError::UnknownShape),
            (br#"{"specversion": "1.0""#, DecodeError::InvalidJson),
            (b"  ", DecodeError::Empty),
        ] {
            assert_eq!(
                decode(&schema(), Some(STRUCTURED), None, body),
                Err(error),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    const BATCH: &str = "application/cloudevents-batch+json";

    #[test]
    fn batch_mode_merges_events_of_one_direction() {
        let body = br#"[
            {"specversion": "1.0", "type": "a.request", "data": {"instances": [{"age": 1}]}},
            {"specversion": "1.0", "type": "a.response", "data": {"predictions": [1, 1]}},
            {"specversion": "1.0", "type": "a.other", "data": [{"age": 2}, {"age": 1e999}]},
            {"specversion": "1.0", "type": "a.request", "datacontenttype": "application/json",
             "data_base64": "W3siYWdlIjogNSwgInRlcm0iOiA2MH1d"}
        ]"#;
        let d = decode(&schema(), Some(BATCH), None, body).expect("decodes");
        assert_eq!(d.direction, Some(Direction::Request));
        assert_eq!(
            table(&d, &schema()),
            vec![
                vec![num(1.0), M, M, M],
                vec![num(2.0), M, M, M],
                vec![M, M, M, M],
                vec![num(5.0), M, M, cat("60")],
            ]
        );
        assert_eq!(d.dropped.non_finite, 1);
        let d = decode(&schema(), Some(BATCH), None, b"[]").expect("decodes");
        assert_eq!((d.rows, d.direction), (0, None));
    }

    #[test]
    fn malformed_batches_fail_whole() {
        for body in [
            &b"{}"[..],
            b"[1]",
            br#"[{"specversion": "1.0"}, {"type": "x"}]"#,
        ] {
            assert_eq!(
                decode(&schema(), Some(BATCH), None, body),
                Err(DecodeError::InvalidCloudEvent),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
