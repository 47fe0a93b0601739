use super::*;

const HOST: &str = "127.0.0.1:8080";

/// Parses `input` as a request head; returns the parse and the head as it would be forwarded.
fn request(input: &str) -> (Parsed<RequestHead>, String) {
    let mut head = Vec::new();
    let parsed = parse_request(input.as_bytes(), &mut head, HOST);
    (parsed, String::from_utf8(head).expect("a head is text"))
}

fn response(input: &str, is_head: bool, close: bool) -> (Parsed<ResponseHead>, String) {
    upgrade_response(input, is_head, close, false)
}

fn upgrade_response(
    input: &str,
    is_head: bool,
    close: bool,
    upgrade: bool,
) -> (Parsed<ResponseHead>, String) {
    let mut out = Vec::new();
    let parsed = parse_response(input.as_bytes(), is_head, close, upgrade, &mut out);
    (parsed, String::from_utf8(out).expect("a head is text"))
}

#[test]
fn a_request_head_is_forwarded_without_hop_by_hop_fields() {
    let input = "POST /v2/models/credit/infer?x=1 HTTP/1.1\r\nHost: model\r\n\
                 Connection: keep-alive, x-trace\r\nX-Trace: 1\r\nKeep-Alive: timeout=5\r\n\
                 TE: trailers\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
    let (parsed, head) = request(input);
    let Parsed::Done(parsed) = parsed else {
        panic!("a complete head: {parsed:?}");
    };
    assert_eq!(parsed.len, input.len() - 2, "the head ends before the body");
    assert_eq!(parsed.framing, Framing::Length(2));
    assert!(!parsed.is_head && !parsed.close);
    assert_eq!(parsed.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        head,
        "POST /v2/models/credit/infer?x=1 HTTP/1.1\r\nHost: model\r\n\
         Content-Type: application/json\r\nContent-Length: 2\r\n\r\n"
    );
}

#[test]
fn connection_cannot_name_away_the_framing_or_the_host() {
    // `Connection: content-length` must not leave the body's bytes to be read as a second
    // request (nor `transfer-encoding` the chunked body).
    let input = "POST /infer HTTP/1.1\r\nHost: model\r\nConnection: content-length, host\r\n\
                 Content-Length: 2\r\n\r\n{}";
    let (parsed, head) = request(input);
    let Parsed::Done(parsed) = parsed else {
        panic!("a complete head: {parsed:?}");
    };
    assert_eq!(parsed.framing, Framing::Length(2));
    assert_eq!(
        head,
        "POST /infer HTTP/1.1\r\nHost: model\r\nContent-Length: 2\r\n\r\n"
    );
    let input = "POST /infer HTTP/1.1\r\nHost: model\r\nConnection: Transfer-Encoding\r\n\
                 Transfer-Encoding: chunked\r\n\r\n";
    let (parsed, head) = request(input);
    assert!(matches!(
        parsed,
        Parsed::Done(RequestHead {
            framing: Framing::Chunked,
            ..
        })
    ));
    assert!(head.contains("Transfer-Encoding: chunked\r\n"), "{head}");
    // The response side alike.
    let input = "HTTP/1.1 200 OK\r\nConnection: content-length\r\nContent-Length: 5\r\n\r\nhello";
    let (parsed, out) = response(input, false, false);
    assert!(matches!(
        parsed,
        Parsed::Done(ResponseHead {
            framing: Framing::Length(5),
            ..
        })
    ));
    assert_eq!(out, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
}

#[test]
fn methods_are_case_sensitive() {
    // `head` is an unknown method, not HEAD: its answer has a body, and it is never resent.
    let (parsed, _) = request("head / HTTP/1.1\r\nHost: m\r\n\r\n");
    let Parsed::Done(parsed) = parsed else {
        panic!("a complete head: {parsed:?}");
    };
    assert!(!parsed.is_head && !parsed.idempotent);
    let (parsed, _) = request("HEAD / HTTP/1.1\r\nHost: m\r\n\r\n");
    assert!(matches!(
        parsed,
        Parsed::Done(RequestHead {
            is_head: true,
            idempotent: true,
            ..
        })
    ));
    let (parsed, _) = request("POST / HTTP/1.1\r\nHost: m\r\nContent-Length: 0\r\n\r\n");
    assert!(matches!(
        parsed,
        Parsed::Done(RequestHead {
            idempotent: false,
            ..
        })
    ));
}

#[test]
fn a_target_of_no_form_is_refused() {
    // RFC 9112 §3.2: origin-form, absolute-form, or `*` for OPTIONS; anything else is a 400.
    for line in [
        "POST )/ HTTP/1.0",
        "GET x HTTP/1.1",
        "GET * HTTP/1.1",
        "GET 1http://h/ HTTP/1.1",
        "GET http:///p HTTP/1.1",
        "GET http://h%20 x/ HTTP/1.1",
        "GET http://h:x/ HTTP/1.1",
        "GET /a#b HTTP/1.1",
        "GET http://://x/y HTTP/1.1",
        "GET http://:80/y HTTP/1.1",
        "GET http://h#x/y HTTP/1.1",
    ] {
        let (parsed, _) = request(&format!("{line}\r\nHost: m\r\n\r\n"));
        assert!(
            matches!(parsed, Parsed::Invalid(StatusCode::BAD_REQUEST, _)),
            "{line}: {parsed:?}"
        );
    }
    let (parsed, _) = request("OPTIONS * HTTP/1.1\r\nHost: m\r\n\r\n");
    assert!(matches!(parsed, Parsed::Done(_)), "{parsed:?}");
}

#[test]
fn an_absolute_target_goes_on_in_origin_form_with_its_authority_as_host() {
    // RFC 9112 §3.2.2: the target's authority replaces any Host field.
    let (parsed, head) =
        request("GET http://user@proxy.example/v1/models?verbose HTTP/1.1\r\nHost: other\r\n\r\n");
    assert!(matches!(
        parsed,
        Parsed::Done(RequestHead {
            framing: Framing::Empty,
            ..
        })
    ));
    assert_eq!(
        head,
        "GET /v1/models?verbose HTTP/1.1\r\nHost: proxy.example\r\n\r\n"
    );
    let (parsed, _) = request("GET http://proxy.example:81 HTTP/1.1\r\n\r\n");
    assert!(
        matches!(parsed, Parsed::Invalid(StatusCode::BAD_REQUEST, _)),
        "HTTP/1.1 needs Host even in absolute form: {parsed:?}"
    );
    for (target, origin) in [
        ("/a?b", "/a?b"),
        ("/a?next=http://b/c", "/a?next=http://b/c"),
        ("*", "*"),
        ("http://h:1/p/q?x=y", "/p/q?x=y"),
        ("http://h:1", "/"),
        ("http://h?x", "/?x"),
    ] {
        let mut out = Vec::new();
        // OPTIONS, the one method `*` is a target of.
        Target::parse("OPTIONS", target)
            .expect("a valid target")
            .push_origin_form(&mut out);
        assert_eq!(String::from_utf8(out).expect("text"), origin, "{target}");
    }
}

#[test]
fn host_is_required_once_and_well_formed_in_http_1_1() {
    let status = |input: &str| match request(input).0 {
        Parsed::Done(_) => StatusCode::OK,
        Parsed::Invalid(status, _) => status,
        Parsed::Partial => panic!("{input}: partial"),
    };
    for (input, expected) in [
        ("GET / HTTP/1.1\r\nHost: model:8080\r\n\r\n", StatusCode::OK),
        ("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", StatusCode::OK),
        // An empty Host is what a client sends for a target without authority.
        ("GET / HTTP/1.1\r\nHost:\r\n\r\n", StatusCode::OK),
        ("GET / HTTP/1.1\r\n\r\n", StatusCode::BAD_REQUEST),
        (
            "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            StatusCode::BAD_REQUEST,
        ),
        (
            "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n",
            StatusCode::BAD_REQUEST,
        ),
        (
            "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
            StatusCode::BAD_REQUEST,
        ),
        (
            "GET / HTTP/1.1\r\nHost: user@model\r\n\r\n",
            StatusCode::BAD_REQUEST,
        ),
        (
            "GET / HTTP/1.1\r\nHost: model/path\r\n\r\n",
            StatusCode::BAD_REQUEST,
        ),
        (
            "GET / HTTP/1.1\r\nHost: model:port\r\n\r\n",
            StatusCode::BAD_REQUEST,
        ),
        (
            "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n",
            StatusCode::BAD_REQUEST,
        ),
        (
            "GET / HTTP/1.1\r\nHost: model:80:80\r\n\r\n",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        assert_eq!(status(input), expected, "{input:?}");
    }
    // HTTP/1.0 needs no Host: the model's is added, and it goes on as HTTP/1.0.
    let (parsed, head) = request("GET /v1/models HTTP/1.0\r\nAccept: */*\r\n\r\n");
    assert!(matches!(
        parsed,
        Parsed::Done(RequestHead {
            http10: true,
            close: true,
            ..
        })
    ));
    assert_eq!(
        head,
        format!("GET /v1/models HTTP/1.0\r\nAccept: */*\r\nhost: {HOST}\r\n\r\n")
    );
}

#[test]
fn request_framing_follows_rfc_9112() {
    let framing =
        |fields: &str| match request(&format!("POST / HTTP/1.1\r\nHost: m\r\n{fields}\r\n")).0 {
            Parsed::Done(head) => Ok(head.framing),
            Parsed::Invalid(status, message) => Err((status, message)),
            Parsed::Partial => panic!("{fields}: partial"),
        };
    assert_eq!(framing(""), Ok(Framing::Empty));
    assert_eq!(framing("Content-Length: 0\r\n"), Ok(Framing::Empty));
    assert_eq!(framing("Content-Length: 7\r\n"), Ok(Framing::Length(7)));
    assert_eq!(
        framing("Transfer-Encoding: gzip, chunked\r\n"),
        Ok(Framing::Chunked)
    );
    for fields in [
        // A second length, even an equal one, is refused (as nginx does), never forwarded.
        "Content-Length: 7, 7\r\n",
        "Content-Length: 7\r\nContent-Length: 7\r\n",
        "Content-Length: 7\r\nContent-Length: 8\r\n",
        "Content-Length: -1\r\n",
        "Content-Length: +7\r\n",
        "Content-Length: 0x10\r\n",
        "Content-Length: 99999999999999999999\r\n",
        "Transfer-Encoding: chunked, gzip\r\n",
        "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n",
    ] {
        let (status, _) = framing(fields).expect_err(fields);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{fields}");
    }
}

#[test]
fn connect_and_unknown_expectations_are_refused_and_100_continue_is_answered_here() {
    let (parsed, _) = request("CONNECT model:80 HTTP/1.1\r\nHost: model:80\r\n\r\n");
    assert!(matches!(
        parsed,
        Parsed::Invalid(StatusCode::METHOD_NOT_ALLOWED, _)
    ));
    let (parsed, _) =
        request("POST / HTTP/1.1\r\nHost: m\r\nExpect: x-fast\r\nContent-Length: 2\r\n\r\n");
    assert!(matches!(
        parsed,
        Parsed::Invalid(StatusCode::EXPECTATION_FAILED, _)
    ));
    let (parsed, head) =
        request("POST / HTTP/1.1\r\nHost: m\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\n");
    assert!(matches!(
        parsed,
        Parsed::Done(RequestHead {
            expect_continue: true,
            framing: Framing::Length(2),
            ..
        })
    ));
    assert_eq!(
        head,
        "POST / HTTP/1.1\r\nHost: m\r\nContent-Length: 2\r\n\r\n"
    );
    // HTTP/1.0 clients do not wait for 100 Continue.
    let (parsed, _) =
        request("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
    assert!(matches!(
        parsed,
        Parsed::Done(RequestHead {
            expect_continue: false,
            ..
        })
    ));
    let (parsed, _) = request("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n");
    assert!(matches!(
        parsed,
        Parsed::Invalid(StatusCode::BAD_REQUEST, _)
    ));
}

#[test]
fn an_upgrade_goes_on_with_its_fields_and_only_a_requested_one_is_switched() {
    let (parsed, head) = request(
        "GET /ws HTTP/1.1\r\nHost: m\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    assert!(matches!(
        parsed,
        Parsed::Done(RequestHead { upgrade: true, .. })
    ));
    assert_eq!(
        head,
        "GET /ws HTTP/1.1\r\nHost: m\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         connection: upgrade\r\n\r\n"
    );
    // Upgrade without `Connection: upgrade` is not an upgrade (RFC 9110 §7.8): both go.
    let (parsed, head) = request("GET / HTTP/1.1\r\nHost: m\r\nUpgrade: websocket\r\n\r\n");
    assert!(matches!(
        parsed,
        Parsed::Done(RequestHead { upgrade: false, .. })
    ));
    assert_eq!(head, "GET / HTTP/1.1\r\nHost: m\r\n\r\n");
    let switch = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                  Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    let (parsed, out) = upgrade_response(switch, false, false, true);
    assert!(matches!(
        parsed,
        Parsed::Done(ResponseHead {
            status: 101,
            switched: true,
            framing: Framing::Empty,
            reusable: false,
            ..
        })
    ));
    assert_eq!(
        out,
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nconnection: upgrade\r\n\r\n"
    );
    assert!(matches!(
        response(switch, false, false).0,
        Parsed::Invalid(StatusCode::BAD_GATEWAY, _)
    ));
}

#[test]
fn the_forwarded_length_and_trailer_fields_are_written_from_what_was_parsed() {
    let (_, head) =
        request("POST / HTTP/1.1\r\nHost: m\r\ncontent-length: 007\r\nTrailer: x-checksum\r\n\r\n");
    assert_eq!(
        head,
        "POST / HTTP/1.1\r\nHost: m\r\ncontent-length: 7\r\nTrailer: x-checksum\r\n\r\n"
    );
    // An answer may repeat its length; the client gets it once.
    let (parsed, out) = response(
        "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok",
        false,
        false,
    );
    assert!(matches!(
        parsed,
        Parsed::Done(ResponseHead {
            framing: Framing::Length(2),
            ..
        })
    ));
    assert_eq!(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n");
}

#[test]
fn an_incomplete_head_waits_and_a_bad_or_huge_one_is_answered() {
    assert!(matches!(
        request("POST /infer HTTP/1.1\r\nHost: m\r\n").0,
        Parsed::Partial
    ));
    assert!(matches!(
        request("POST /in fer HTTP/1.1\r\n\r\n").0,
        Parsed::Invalid(StatusCode::BAD_REQUEST, _)
    ));
    let huge = format!("GET / HTTP/1.1\r\nx-big: {}", "a".repeat(MAX_HEAD_BYTES));
    assert!(matches!(
        request(&huge).0,
        Parsed::Invalid(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, _)
    ));
    let many: String = (0..=MAX_HEADERS).map(|i| format!("x-{i}: v\r\n")).collect();
    assert!(matches!(
        request(&format!("GET / HTTP/1.1\r\n{many}\r\n")).0,
        Parsed::Invalid(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, _)
    ));
}

#[test]
fn a_request_asking_to_close_is_seen() {
    let (parsed, head) = request("GET / HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n");
    assert!(matches!(
        parsed,
        Parsed::Done(RequestHead { close: true, .. })
    ));
    assert!(!head.to_ascii_lowercase().contains("connection"), "{head}");
}

#[test]
fn a_response_head_is_answered_as_http_1_1_without_hop_by_hop_fields() {
    let input = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\
                 Connection: keep-alive\r\nKeep-Alive: timeout=60\r\n\r\nhello";
    let (parsed, out) = response(input, false, false);
    let Parsed::Done(parsed) = parsed else {
        panic!("complete: {parsed:?}");
    };
    assert_eq!(
        (parsed.status, parsed.framing, parsed.reusable, parsed.close),
        (200, Framing::Length(5), true, false)
    );
    assert_eq!(parsed.len, input.len() - 5);
    assert_eq!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n"
    );
    // When the client connection is closing, the answer says so.
    let (_, out) = response(input, false, true);
    assert!(
        out.ends_with("Content-Length: 5\r\nconnection: close\r\n\r\n"),
        "{out}"
    );
}

#[test]
fn response_framing_depends_on_the_request_and_the_status() {
    let framing = |input: &str, is_head: bool| match response(input, is_head, false).0 {
        Parsed::Done(head) => (head.framing, head.reusable, head.close),
        other => panic!("{input}: {other:?}"),
    };
    let sized = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
    assert_eq!(framing(sized, true), (Framing::Empty, true, false), "HEAD");
    assert_eq!(
        framing("HTTP/1.1 204 No Content\r\n\r\n", false),
        (Framing::Empty, true, false)
    );
    assert_eq!(
        framing(
            "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
            false
        ),
        (Framing::Empty, true, false)
    );
    // Neither length nor coding: the body runs until the model closes, and so does the
    // client's connection.
    assert_eq!(
        framing("HTTP/1.1 200 OK\r\n\r\n", false),
        (Framing::UntilClose, false, true)
    );
    // HTTP/1.0 keeps the connection only when it says keep-alive; 1.1 unless it says close.
    assert_eq!(
        framing("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false),
        (Framing::Length(1), false, false)
    );
    assert_eq!(
        framing(
            "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n",
            false
        ),
        (Framing::Length(1), true, false)
    );
    assert_eq!(
        framing(
            "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n",
            false
        ),
        (Framing::Length(1), false, false)
    );
}

#[test]
fn a_chunked_response_drops_a_content_length_beside_it() {
    let (parsed, out) = response(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\n\r\n",
        false,
        false,
    );
    assert!(matches!(
        parsed,
        Parsed::Done(ResponseHead {
            framing: Framing::Chunked,
            ..
        })
    ));
    assert_eq!(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
}

#[test]
fn interim_answers_are_heads_of_their_own_and_a_bad_head_is_refused() {
    let (parsed, out) = response(
        "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
        false,
        true,
    );
    assert!(matches!(
        parsed,
        Parsed::Done(ResponseHead {
            status: 103,
            framing: Framing::Empty,
            close: false,
            ..
        })
    ));
    assert_eq!(out, "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n");
    assert!(matches!(
        response("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", false, false).0,
        Parsed::Invalid(StatusCode::BAD_GATEWAY, _)
    ));
    assert!(matches!(
        response("SMTP ready\r\n\r\n", false, false).0,
        Parsed::Invalid(StatusCode::BAD_GATEWAY, _)
    ));
}

mod arbitrary_input {
    use super::*;
    use proptest::prelude::*;

    /// A request head built from arbitrary field names and values (some of them the fields the
    /// parser looks at), then possibly cut short or followed by junk.
    fn head() -> impl Strategy<Value = Vec<u8>> {
        let name = prop_oneof![
            Just("Connection".to_string()),
            Just("Content-Length".to_string()),
            Just("Transfer-Encoding".to_string()),
            Just("Host".to_string()),
            Just("Keep-Alive".to_string()),
            Just("Expect".to_string()),
            Just("Upgrade".to_string()),
            "[A-Za-z-]{1,12}",
        ];
        let value = prop_oneof![
            Just("close".to_string()),
            Just("chunked".to_string()),
            Just("keep-alive, x-a".to_string()),
            Just("upgrade".to_string()),
            Just("100-continue".to_string()),
            Just("5, 5".to_string()),
            "[0-9]{1,22}",
            "[ -~]{0,16}",
        ];
        (
            prop_oneof![Just("GET"), Just("POST"), Just("HEAD"), Just("CONNECT")],
            "/[ -~&&[^ ]]{0,20}",
            prop_oneof![Just("HTTP/1.1"), Just("HTTP/1.0"), Just("HTTP/2.0")],
            prop::collection::vec((name, value), 0..8),
            prop::collection::vec(any::<u8>(), 0..16),
            any::<prop::sample::Index>(),
            any::<bool>(),
        )
            .prop_map(|(method, target, version, fields, junk, cut, truncate)| {
                let mut head = format!("{method} {target} {version}\r\n");
                for (name, value) in fields {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                let mut bytes = head.into_bytes();
                if truncate {
                    bytes.truncate(cut.index(bytes.len() + 1));
                }
                bytes.extend_from_slice(&junk);
                bytes
            })
    }

    proptest! {
        /// Whatever arrives, parsing does not panic, and a head it accepts is forwarded as a
        /// complete HTTP/1.1 head with the same method and no hop-by-hop field.
        #[test]
        fn an_accepted_request_head_is_forwarded_well_formed(input in head()) {
            let mut out = Vec::new();
            if let Parsed::Done(parsed) = parse_request(&input, &mut out, HOST) {
                prop_assert!(parsed.len <= input.len());
                let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS + 1];
                let mut again = httparse::Request::new(&mut fields);
                let status = again.parse(&out).expect("the forwarded head parses");
                prop_assert_eq!(status, httparse::Status::Complete(out.len()));
                prop_assert_eq!(again.version, Some(if parsed.http10 { 0 } else { 1 }));
                prop_assert_eq!(
                    again.method,
                    std::str::from_utf8(&input[..input.iter().position(|&b| b == b' ').expect("a method")]).ok()
                );
                for field in again.headers.iter() {
                    prop_assert!(
                        parsed.upgrade || !HOP_BY_HOP.iter().any(|h| h.eq_ignore_ascii_case(field.name)),
                        "{} forwarded", field.name
                    );
                }
                // What the model gets is one request with the same framing, as the tap's own
                // parser reads it again: one Host, at most one length.
                let hosts = again.headers.iter().filter(|f| f.name.eq_ignore_ascii_case("host")).count();
                prop_assert_eq!(hosts, 1);
                let mut twice = Vec::new();
                match parse_request(&out, &mut twice, HOST) {
                    Parsed::Done(reparsed) => {
                        prop_assert_eq!(reparsed.framing, parsed.framing);
                        prop_assert_eq!(reparsed.len, out.len());
                        prop_assert_eq!(twice, out);
                    }
                    other => prop_assert!(false, "the forwarded head is refused: {:?}", other),
                }
            }
        }

        /// Arbitrary bytes as a request or a response head never panic the parsers.
        #[test]
        fn arbitrary_bytes_never_panic_the_parsers(input in prop::collection::vec(any::<u8>(), 0..256), is_head: bool, close: bool) {
            let mut out = Vec::new();
            let _ = parse_request(&input, &mut out, HOST);
            let _ = parse_response(&input, is_head, close, is_head, &mut out);
        }
    }
}
