//! Fuzzes the tap's HTTP/1.x request path (`drifttap::sidecar::tap::wire`) with a differential
//! check: whatever bytes arrive, a request the tap forwards, parsed again independently, is one
//! request with the same method and target, one `Host`, the same framing and the same body;
//! and where a chunked body ends is where a second, plain reading of RFC 9112 §7.1 says it
//! ends. Refusing is always allowed; forwarding something two parsers read differently is not.

#![no_main]

use drifttap::sidecar::tap::wire::{BodyFraming, Chunked, HeadDecision, request_head};
use libfuzzer_sys::fuzz_target;

const MODEL: &str = "127.0.0.1:8080";

fuzz_target!(|input: &[u8]| {
    let HeadDecision::Forward { len, head, framing } = request_head(input, MODEL) else {
        return;
    };
    assert!(len <= input.len());

    // The forwarded head, read by httparse: complete, and what the client asked for.
    let mut fields = [httparse::EMPTY_HEADER; 256];
    let mut again = httparse::Request::new(&mut fields);
    let status = again.parse(&head).expect("the forwarded head parses");
    assert_eq!(status, httparse::Status::Complete(head.len()), "one head, nothing after");
    let mut original_fields = [httparse::EMPTY_HEADER; 256];
    let mut original = httparse::Request::new(&mut original_fields);
    assert!(matches!(original.parse(input), Ok(httparse::Status::Complete(n)) if n == len));
    assert_eq!(again.method, original.method);
    let target = original.path.expect("a target");
    let forwarded_target = again.path.expect("a target");
    // Origin-form goes on as it came; absolute-form as its path and query (an empty path is
    // `/`, RFC 9112 §3.2.1), the authority moving to Host.
    let expected = if target.starts_with('/') || target == "*" {
        target.to_string()
    } else {
        // http::Uri where it parses (it refuses some characters httparse lets through in a
        // path); otherwise what follows the authority.
        let after_authority = || {
            let rest = &target[target.find("://").expect("absolute form") + 3..];
            rest.find(['/', '?']).map_or("", |at| &rest[at..]).to_string()
        };
        let path = match target.parse::<http::Uri>() {
            Ok(uri) => uri.path_and_query().map_or(String::new(), |p| p.as_str().to_string()),
            Err(_) => after_authority(),
        };
        match path {
            p if p.starts_with('/') => p,
            p if p.is_empty() => "/".to_string(),
            p => format!("/{p}"),
        }
    };
    assert_eq!(forwarded_target, expected, "{target} went on as {forwarded_target}");
    let fields = &*again.headers;
    let named = |name: &'static str| fields.iter().filter(move |h| h.name.eq_ignore_ascii_case(name));
    assert_eq!(named("host").count(), 1, "exactly one Host");
    let lengths: Vec<&[u8]> = named("content-length").map(|h| h.value).collect();
    let coded = named("transfer-encoding").count() > 0;
    // The framing the model will read from the forwarded head.
    let model_reads = match (coded, lengths.as_slice()) {
        (true, []) => BodyFraming::Chunked,
        (false, [value]) => {
            let text = std::str::from_utf8(value).expect("a forwarded length is ASCII");
            assert!(text.bytes().all(|b| b.is_ascii_digit()), "{text:?}");
            match text.parse::<u64>().expect("a number") {
                0 => BodyFraming::Empty,
                n => BodyFraming::Length(n),
            }
        }
        (false, []) => BodyFraming::Empty,
        _ => panic!("two framings forwarded: coded {coded}, lengths {lengths:?}"),
    };
    assert_eq!(model_reads, framing, "the model frames the body as the tap did");

    // Forwarding is a fixpoint: the forwarded head goes on unchanged, unless the Host the tap
    // added to an HTTP/1.0 request took it past the limit on fields (then it is refused whole).
    let host_added = original.headers.iter().all(|h| !h.name.eq_ignore_ascii_case("host"));
    match request_head(&head, MODEL) {
        HeadDecision::Refuse { status: 431, .. } if host_added => {}
        again => assert_eq!(
            again,
            HeadDecision::Forward {
                len: head.len(),
                head: head.clone(),
                framing
            }
        ),
    }

    // The body: the tap's decoder and a plain reading of the grammar agree on where it ends.
    if framing == BodyFraming::Chunked {
        let body = &input[len..];
        let mut data = Vec::new();
        let mut chunked = Chunked::default();
        if let Ok(used) = chunked.feed(body, |d| data.extend_from_slice(d))
            && chunked.is_done()
        {
            let (end, reference) = reference_chunked(body).expect("the grammar accepts what the tap accepted");
            assert_eq!(used, end, "both end the body at the same byte");
            assert_eq!(data, reference, "and read the same data");
        }
    }
});

/// RFC 9112 §7.1 read line by line: `chunk-size [ BWS ";" ext ] CRLF`, data, CRLF, ...,
/// `0 CRLF`, trailer lines, CRLF. Returns where the body ends and its data, or `None`.
fn reference_chunked(body: &[u8]) -> Option<(usize, Vec<u8>)> {
    let mut at = 0;
    let mut data = Vec::new();
    let line = |at: usize| -> Option<(&[u8], usize)> {
        let end = body[at..].windows(2).position(|w| w == b"\r\n")? + at;
        let text = &body[at..end];
        (!text.contains(&b'\n') && !text.contains(&b'\r')).then_some((text, end + 2))
    };
    loop {
        let (text, next) = line(at)?;
        let digits = text.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        if digits == 0 || digits > 16 {
            return None;
        }
        let rest = &text[digits..];
        let after_space = rest.iter().position(|&b| b != b' ' && b != b'\t').unwrap_or(rest.len());
        match &rest[after_space..] {
            [] => {}
            [b';', ext @ ..] if ext.iter().all(|&b| b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80) => {}
            _ => return None,
        }
        let size = u64::from_str_radix(std::str::from_utf8(&text[..digits]).ok()?, 16).ok()?;
        at = next;
        if size == 0 {
            loop {
                let (trailer, next) = line(at)?;
                at = next;
                if trailer.is_empty() {
                    return Some((at, data));
                }
                // A field line: a token, `:`, a value without control characters.
                let colon = trailer.iter().position(|&b| b == b':')?;
                let token = |b: &u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b);
                if colon == 0
                    || !trailer[..colon].iter().all(token)
                    || trailer[colon..].iter().any(|&b| b < b' ' && b != b'\t' || b == 0x7f)
                {
                    return None;
                }
            }
        }
        let size = usize::try_from(size).ok()?;
        let end = at.checked_add(size)?;
        data.extend_from_slice(body.get(at..end)?);
        if body.get(end..end + 2)? != b"\r\n" {
            return None;
        }
        at = end + 2;
    }
}
