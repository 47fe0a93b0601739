//! The tap's HTTP/1.1 path: one task per client connection that parses each request head,
//! forwards head and body to the connection's own upstream connection and streams the answer
//! back, copying bodies aside for the observer on the way.
//!
//! This is the path inference traffic takes (HTTP/1.1 with `Content-Length` or chunked bodies),
//! so it is written for it: a head is parsed in place (httparse) and re-written once with the
//! hop-by-hop fields left out; a request whose body fits `max_body_bytes` is read whole (as
//! nginx's request buffering does) and goes to the model in one write, which also lets an
//! idempotent request that met a kept-alive connection the model had just closed be sent
//! again on a new one (never a POST: RFC 9110 §9.2.2); larger and chunked bodies stream. Responses stream back, the head and the first bytes
//! of the body in one write.
//!
//! Anything else — HTTP/1.0, HTTP/2 (prior knowledge), an `Upgrade`, `Expect`, or `CONNECT` —
//! is handed, with the bytes read so far, to the general path ([`super::Tap::handle`] on
//! hyper), at the request boundary where it appears.

use std::io;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use http::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::chunked::{ChunkError, Chunked};
use super::{BodyCopy, HOP_BY_HOP, NOT_NAMEABLE, Shared, observation};
use crate::sidecar::ingest::queue::Direction;

/// The longest request or response head read (nginx's default is 4 × 8 KiB).
const MAX_HEAD: usize = 64 * 1024;
/// The most header fields in a head (hyper's default is 100).
const MAX_HEADERS: usize = 128;
/// Free space made in a read buffer before each read.
const READ_CHUNK: usize = 16 * 1024;
/// How long a client may pause while sending a request head it has started, or a body that is
/// read whole before forwarding (nginx's `client_header_timeout` and `client_body_timeout`
/// are 60 s); then the connection closes. A streamed body is bounded by the upstream timeout.
const CLIENT_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How a client connection starts when it speaks HTTP/2 with prior knowledge.
const H2_PREFACE_START: &[u8] = b"PRI ";

/// How a client connection left this path.
#[derive(Debug)]
pub(super) enum End {
    /// It is finished: closed by either side, or an error was answered.
    Closed,
    /// A request this path does not forward itself arrived: the connection goes to the general
    /// path, which reads these bytes first.
    Handoff(BytesMut),
}

/// How a message body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Empty,
    Length(u64),
    Chunked,
    /// Until the sender closes the connection (responses only).
    UntilClose,
}

/// A parsed request head; the re-written head is in the connection's `head` buffer.
#[derive(Debug)]
struct RequestHead {
    /// Bytes of the head in the read buffer.
    len: usize,
    framing: Framing,
    is_head: bool,
    /// GET, HEAD, PUT, DELETE, OPTIONS or TRACE (RFC 9110 §9.2.2): the only requests that may
    /// be sent again when a kept-alive upstream connection fails under them.
    idempotent: bool,
    /// The client asked to close the connection after this request.
    close: bool,
    content_type: Option<String>,
}

/// A parsed response head; the re-written head is in the buffer passed to the parser.
#[derive(Debug)]
struct ResponseHead {
    len: usize,
    status: u16,
    framing: Framing,
    /// The model keeps the connection open after this response.
    reusable: bool,
    /// The client connection closes after this response.
    close: bool,
    content_type: Option<String>,
}

/// What parsing a head found.
#[derive(Debug)]
enum Parsed<T> {
    /// More bytes are needed.
    Partial,
    Done(T),
    /// A request for the general path.
    Handoff,
    /// Not a head this path accepts; the client gets `status` (400 or 431) and the connection
    /// closes.
    Invalid(StatusCode, &'static str),
}

/// The model's side of a client connection.
#[derive(Debug)]
struct Upstream {
    stream: TcpStream,
    buf: BytesMut,
}

/// Why a body could not be moved.
#[derive(Debug)]
enum PumpError {
    /// The sending side failed or closed before the body ended.
    Source,
    /// The receiving side failed.
    Sink,
    Chunk(ChunkError),
}

/// Why an exchange with the model failed before its answer began.
#[derive(Debug)]
enum ExchangeError {
    Connect(io::Error),
    /// The kept-alive connection was closed by the model before it answered.
    Stale,
    /// The model's answer is not HTTP/1.1.
    Invalid(&'static str),
    /// The client went away or broke its request's framing while its body streamed.
    Client(Option<ChunkError>),
}

impl std::fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExchangeError::Connect(e) => write!(f, "connect: {e}"),
            ExchangeError::Stale => f.write_str("the model closed the connection"),
            ExchangeError::Invalid(what) => f.write_str(what),
            ExchangeError::Client(_) => f.write_str("the client's request broke off"),
        }
    }
}

/// Serves the requests of one client connection until it closes, an error is answered, or a
/// request for the general path arrives. When `stop` turns true, an idle connection closes and
/// a busy one closes after its current answer.
pub(super) async fn serve(
    shared: &Shared,
    client: &mut TcpStream,
    stop: &mut watch::Receiver<bool>,
) -> End {
    let mut connection = Connection {
        shared,
        client,
        input: BytesMut::with_capacity(READ_CHUNK),
        upstream: None,
        head: Vec::with_capacity(1024),
        out: Vec::with_capacity(1024),
        closing: false,
    };
    loop {
        let request = match connection.next_request(stop).await {
            Ok(request) => request,
            Err(end) => return end,
        };
        let stopping = *stop.borrow();
        if !connection.forward(request, stopping).await {
            return End::Closed;
        }
    }
}

struct Connection<'a> {
    shared: &'a Shared,
    client: &'a mut TcpStream,
    /// What the client sent that is not forwarded yet.
    input: BytesMut,
    upstream: Option<Upstream>,
    /// The request head as forwarded, followed by the body when it is sent whole.
    head: Vec<u8>,
    /// The response head as answered, followed by the first bytes of the body.
    out: Vec<u8>,
    /// The connection closes after the current answer.
    closing: bool,
}

impl Connection<'_> {
    /// Reads the next request head; `Err` ends the connection.
    async fn next_request(&mut self, stop: &mut watch::Receiver<bool>) -> Result<RequestHead, End> {
        loop {
            if self.input.starts_with(H2_PREFACE_START) {
                return Err(End::Handoff(std::mem::take(&mut self.input)));
            }
            if !self.input.is_empty() {
                match parse_request(&self.input, &mut self.head, self.shared.authority.as_str()) {
                    Parsed::Done(request) => return Ok(request),
                    Parsed::Partial => {}
                    Parsed::Handoff => return Err(End::Handoff(std::mem::take(&mut self.input))),
                    Parsed::Invalid(status, message) => {
                        self.answer_error(status, message).await;
                        return Err(End::Closed);
                    }
                }
            }
            self.input.reserve(READ_CHUNK);
            let read = if self.input.is_empty() {
                // Between requests: a stop closes the connection now.
                if *stop.borrow() {
                    return Err(End::Closed);
                }
                tokio::select! {
                    read = self.client.read_buf(&mut self.input) => read,
                    _ = stop.changed() => return Err(End::Closed),
                }
            } else {
                match tokio::time::timeout(
                    CLIENT_READ_TIMEOUT,
                    self.client.read_buf(&mut self.input),
                )
                .await
                {
                    Ok(read) => read,
                    Err(_) => return Err(End::Closed),
                }
            };
            match read {
                Ok(0) | Err(_) => return Err(End::Closed),
                Ok(_) => {}
            }
        }
    }

    /// Forwards one request and its answer. Returns whether the connection stays open.
    async fn forward(&mut self, mut request: RequestHead, stopping: bool) -> bool {
        let shared = self.shared;
        self.closing = request.close || stopping;
        let whole = match request.framing {
            Framing::Empty => Some(0),
            Framing::Length(n) if n <= shared.max_body_bytes as u64 => Some(n as usize),
            _ => None,
        };
        let observed = shared.sample_exchange(request.framing != Framing::Empty);
        let mut request_copy = BodyCopy::Off;
        let exchange = match whole {
            Some(body_len) => {
                // Read the whole body, then send head and body in one write.
                let end = request.len + body_len;
                while self.input.len() < end {
                    self.input.reserve(end - self.input.len());
                    let read = self.client.read_buf(&mut self.input);
                    match tokio::time::timeout(CLIENT_READ_TIMEOUT, read).await {
                        Ok(Ok(0) | Err(_)) | Err(_) => return false,
                        Ok(Ok(_)) => {}
                    }
                }
                let body = &self.input[request.len..end];
                self.head.extend_from_slice(body);
                if body_len > 0 && observed {
                    // Queued now, while the body is at hand; not copied if the queue is full.
                    let content_type = request.content_type.take();
                    shared.observer.offer_with(|| {
                        observation(
                            Direction::Request,
                            content_type,
                            Bytes::copy_from_slice(body),
                        )
                    });
                }
                self.input.advance(end);
                tokio::time::timeout(
                    shared.timeout,
                    self.exchange_whole(request.is_head, request.idempotent),
                )
                .await
            }
            None => {
                self.input.advance(request.len);
                let expected = match request.framing {
                    Framing::Length(n) => n as usize,
                    _ => 0,
                };
                request_copy = match request.framing {
                    _ if !observed => BodyCopy::Off,
                    // Known to be larger than the cap.
                    Framing::Length(_) => BodyCopy::TooLarge,
                    _ => BodyCopy::new(true, shared.max_body_bytes, expected),
                };
                tokio::time::timeout(
                    shared.timeout,
                    self.exchange_streamed(request.framing, request.is_head, &mut request_copy),
                )
                .await
            }
        };
        let (mut upstream, response) = match exchange {
            Ok(Ok(answer)) => answer,
            Ok(Err(ExchangeError::Client(Some(_)))) => {
                self.answer_error(StatusCode::BAD_REQUEST, "malformed chunked request body")
                    .await;
                return false;
            }
            Ok(Err(ExchangeError::Client(None))) => return false,
            Ok(Err(e)) => {
                let (reason, message) = match e {
                    ExchangeError::Invalid(what) => ("invalid_response", what),
                    ExchangeError::Stale => (
                        "connect",
                        "the model closed the connection without answering",
                    ),
                    _ => ("connect", "the model could not be reached"),
                };
                shared.upstream_error(reason);
                tracing::debug!(error = %e, "upstream unreachable");
                self.answer_error(StatusCode::BAD_GATEWAY, message).await;
                return false;
            }
            Err(_) => {
                shared.upstream_error("timeout");
                self.answer_error(
                    StatusCode::GATEWAY_TIMEOUT,
                    "the model did not answer in time",
                )
                .await;
                return false;
            }
        };
        let close = response.close;
        upstream.buf.advance(response.len);
        let expected = match response.framing {
            Framing::Length(n) => n as usize,
            _ => 0,
        };
        let mut response_copy = BodyCopy::new(
            shared.observe_responses && observed,
            shared.max_body_bytes,
            expected,
        );
        let pumped = pump(
            &mut upstream.stream,
            &mut upstream.buf,
            self.client,
            response.framing,
            &mut self.out,
            &mut response_copy,
        )
        .await;
        shared.count_answer(response.status);
        request_copy.offer(&shared.observer, Direction::Request, request.content_type);
        match pumped {
            Ok(()) => {}
            Err(PumpError::Sink) => return false,
            Err(PumpError::Source | PumpError::Chunk(_)) => {
                // The answer is cut short: the client can only tell by the connection closing.
                shared.upstream_error("aborted");
                return false;
            }
        }
        response_copy.offer(&shared.observer, Direction::Response, response.content_type);
        if response.reusable && upstream.buf.is_empty() {
            self.upstream = Some(upstream);
        }
        if close {
            let _ = self.client.shutdown().await;
            return false;
        }
        true
    }

    /// Sends the request in `head` (head and whole body) and reads the answer's head. A kept-alive
    /// connection the model has visibly closed is replaced before anything is sent; an
    /// idempotent request that meets one closed meanwhile is sent once more, on a new one. Any
    /// other request is never sent twice (RFC 9110 §9.2.2: the model may have acted on it):
    /// the client gets a 502 instead.
    async fn exchange_whole(
        &mut self,
        is_head: bool,
        idempotent: bool,
    ) -> Result<(Upstream, ResponseHead), ExchangeError> {
        loop {
            let (upstream, reused) = self.upstream().await?;
            let (mut upstream, reused) = if reused && closed_by_peer(&upstream.stream) {
                (self.connect().await?, false)
            } else {
                (upstream, reused)
            };
            let retry = reused && idempotent;
            if upstream.stream.write_all(&self.head).await.is_err() {
                if retry {
                    continue;
                }
                return Err(ExchangeError::Connect(io::ErrorKind::BrokenPipe.into()));
            }
            match self.read_response(&mut upstream, is_head).await {
                Err(ExchangeError::Stale) if retry => continue,
                Err(e) => return Err(e),
                Ok(response) => return Ok((upstream, response)),
            }
        }
    }

    /// Sends the head, streams the body from the client as it comes, and reads the answer's
    /// head.
    async fn exchange_streamed(
        &mut self,
        framing: Framing,
        is_head: bool,
        copy: &mut BodyCopy,
    ) -> Result<(Upstream, ResponseHead), ExchangeError> {
        let (upstream, reused) = self.upstream().await?;
        // Nothing of it could be sent again: see whether the model closed the connection first.
        let upstream = if reused && closed_by_peer(&upstream.stream) {
            self.connect().await?
        } else {
            upstream
        };
        let mut upstream = upstream;
        match pump(
            self.client,
            &mut self.input,
            &mut upstream.stream,
            framing,
            &mut self.head,
            copy,
        )
        .await
        {
            Ok(()) => {}
            Err(PumpError::Source) => return Err(ExchangeError::Client(None)),
            Err(PumpError::Chunk(e)) => return Err(ExchangeError::Client(Some(e))),
            Err(PumpError::Sink) => {
                return Err(ExchangeError::Connect(io::ErrorKind::BrokenPipe.into()));
            }
        }
        let response = self.read_response(&mut upstream, is_head).await?;
        Ok((upstream, response))
    }

    /// Reads the model's answer head, passing interim (1xx) answers on to the client.
    async fn read_response(
        &mut self,
        upstream: &mut Upstream,
        is_head: bool,
    ) -> Result<ResponseHead, ExchangeError> {
        let mut received = false;
        loop {
            if !upstream.buf.is_empty() {
                received = true;
                match parse_response(&upstream.buf, is_head, self.closing, &mut self.out) {
                    Parsed::Done(response) if (100..200).contains(&response.status) => {
                        // Interim answers (100 Continue, 103 Early Hints) go straight on.
                        upstream.buf.advance(response.len);
                        if self.client.write_all(&self.out).await.is_err() {
                            return Err(ExchangeError::Client(None));
                        }
                        continue;
                    }
                    Parsed::Done(response) => return Ok(response),
                    Parsed::Partial => {}
                    Parsed::Handoff | Parsed::Invalid(..) => {
                        return Err(ExchangeError::Invalid("the model's answer is not HTTP/1.1"));
                    }
                }
            }
            upstream.buf.reserve(READ_CHUNK);
            match upstream.stream.read_buf(&mut upstream.buf).await {
                Ok(0) | Err(_) if !received => return Err(ExchangeError::Stale),
                Ok(0) | Err(_) => {
                    return Err(ExchangeError::Invalid(
                        "the model closed the connection inside its answer's head",
                    ));
                }
                Ok(_) => {}
            }
        }
    }

    /// This connection's upstream connection, and whether it was kept from an earlier request.
    async fn upstream(&mut self) -> Result<(Upstream, bool), ExchangeError> {
        match self.upstream.take() {
            Some(upstream) => Ok((upstream, true)),
            None => Ok((self.connect().await?, false)),
        }
    }

    async fn connect(&self) -> Result<Upstream, ExchangeError> {
        let stream = TcpStream::connect(&*self.shared.connect_to)
            .await
            .map_err(ExchangeError::Connect)?;
        let _ = stream.set_nodelay(true);
        Ok(Upstream {
            stream,
            buf: BytesMut::with_capacity(READ_CHUNK),
        })
    }

    /// Answers an error of the tap's own and closes the connection.
    async fn answer_error(&mut self, status: StatusCode, message: &str) {
        let body = serde_json::json!({ "error": message, "source": "drifttap tap" }).to_string();
        let head = format!(
            "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            status.as_u16(),
            status.canonical_reason().unwrap_or(""),
            body.len()
        );
        if status.is_server_error() {
            self.shared.count_answer(status.as_u16());
        }
        let _ = self.client.write_all(head.as_bytes()).await;
        let _ = self.client.write_all(body.as_bytes()).await;
        let _ = self.client.shutdown().await;
    }
}

/// Whether the peer has closed (or sent something unasked on) an idle connection, judged from
/// what the runtime already knows without waiting.
fn closed_by_peer(stream: &TcpStream) -> bool {
    let mut probe = [0u8; 1];
    !matches!(stream.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
}

/// Moves a body of `framing` from `source` to `sink`: first what `buf` holds, then what
/// `source` sends, until the body ends (bytes after it stay in `buf`). `prefix` (a re-written
/// head) goes out with the first bytes; up to the copy's cap of the body's data is copied.
async fn pump(
    source: &mut TcpStream,
    buf: &mut BytesMut,
    sink: &mut TcpStream,
    framing: Framing,
    prefix: &mut Vec<u8>,
    copy: &mut BodyCopy,
) -> Result<(), PumpError> {
    let mut left = match framing {
        Framing::Length(n) => n,
        _ => 0,
    };
    let mut chunked = Chunked::default();
    loop {
        let (take, done) = match framing {
            Framing::Empty => (0, true),
            Framing::Length(_) => {
                let take = left.min(buf.len() as u64) as usize;
                left -= take as u64;
                copy.add(&buf[..take]);
                (take, left == 0)
            }
            Framing::Chunked => {
                let take = chunked
                    .feed(buf, |data| copy.add(data))
                    .map_err(PumpError::Chunk)?;
                (take, chunked.is_done())
            }
            Framing::UntilClose => {
                copy.add(buf);
                (buf.len(), false)
            }
        };
        let written = if prefix.is_empty() {
            if take > 0 {
                sink.write_all(&buf[..take]).await
            } else {
                Ok(())
            }
        } else {
            prefix.extend_from_slice(&buf[..take]);
            let written = sink.write_all(prefix).await;
            prefix.clear();
            written
        };
        written.map_err(|_| PumpError::Sink)?;
        buf.advance(take);
        if done {
            return Ok(());
        }
        buf.reserve(READ_CHUNK);
        match source.read_buf(buf).await {
            Ok(0) if framing == Framing::UntilClose => return Ok(()),
            Ok(0) | Err(_) => return Err(PumpError::Source),
            Ok(_) => {}
        }
    }
}

/// Whether `name` is a hop-by-hop field, or one the `Connection` field names (never a framing
/// field or `Host`: see [`NOT_NAMEABLE`]).
fn hop_by_hop(name: &str, named: &[&[u8]]) -> bool {
    HOP_BY_HOP.iter().any(|h| h.eq_ignore_ascii_case(name))
        || (!NOT_NAMEABLE.iter().any(|f| f.eq_ignore_ascii_case(name))
            && named
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name.as_bytes())))
}

/// The tokens of `Connection` field values, and whether one is `close` (or `keep-alive`).
fn connection_tokens<'h>(
    headers: &[httparse::Header<'h>],
    named: &mut Vec<&'h [u8]>,
) -> (bool, bool) {
    let (mut close, mut keep_alive) = (false, false);
    for header in headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("connection"))
    {
        for token in header.value.split(|&b| b == b',') {
            let token = token.trim_ascii();
            if token.eq_ignore_ascii_case(b"close") {
                close = true;
            } else if token.eq_ignore_ascii_case(b"keep-alive") {
                keep_alive = true;
            } else if !token.is_empty() {
                named.push(token);
            }
        }
    }
    (close, keep_alive)
}

/// The body framing of `Transfer-Encoding` and `Content-Length` fields: `Ok(None)` when there
/// are neither; `Err` for a length that is not one number.
fn body_framing(headers: &[httparse::Header<'_>]) -> Result<Option<Framing>, &'static str> {
    let mut length: Option<u64> = None;
    let mut codings: Option<&[u8]> = None;
    let mut chunked_last = false;
    for header in headers {
        if header.name.eq_ignore_ascii_case("transfer-encoding") {
            if let Some(last) = header.value.rsplit(|&b| b == b',').next() {
                chunked_last = last.trim_ascii().eq_ignore_ascii_case(b"chunked");
            }
            codings = Some(header.value);
        } else if header.name.eq_ignore_ascii_case("content-length") {
            for value in header.value.split(|&b| b == b',') {
                let value = value.trim_ascii();
                if value.is_empty() || value.len() > 19 || !value.iter().all(u8::is_ascii_digit) {
                    return Err("invalid content-length");
                }
                let n: u64 = std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .ok_or("invalid content-length")?;
                if length.is_some_and(|l| l != n) {
                    return Err("conflicting content-length fields");
                }
                length = Some(n);
            }
        }
    }
    Ok(match (codings, length) {
        (Some(_), _) if chunked_last => Some(Framing::Chunked),
        (Some(_), _) => Some(Framing::UntilClose),
        (None, Some(0)) => Some(Framing::Empty),
        (None, Some(n)) => Some(Framing::Length(n)),
        (None, None) => None,
    })
}

fn content_type(headers: &[httparse::Header<'_>]) -> Option<String> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-type"))
        .and_then(|h| std::str::from_utf8(h.value).ok())
        .map(str::to_string)
}

/// Parses a request head at the start of `input` and writes it, as forwarded, into `head`
/// (with `host` as the `Host` field when the request has none).
fn parse_request(input: &[u8], head: &mut Vec<u8>, host: &str) -> Parsed<RequestHead> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut fields);
    let len = match parsed.parse(input) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if input.len() >= MAX_HEAD => {
            return Parsed::Invalid(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "request head too large",
            );
        }
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => {
            return Parsed::Invalid(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "too many header fields",
            );
        }
        Err(_) => return Parsed::Invalid(StatusCode::BAD_REQUEST, "malformed request head"),
    };
    let (Some(method), Some(target), Some(1)) = (parsed.method, parsed.path, parsed.version) else {
        // HTTP/1.0 (or a head httparse left incomplete): the general path knows it.
        return Parsed::Handoff;
    };
    let headers = &*parsed.headers;
    if method == "CONNECT"
        || headers.iter().any(|h| {
            h.name.eq_ignore_ascii_case("upgrade") || h.name.eq_ignore_ascii_case("expect")
        })
    {
        return Parsed::Handoff;
    }
    let mut named = Vec::new();
    let (close, _) = connection_tokens(headers, &mut named);
    let framing = match body_framing(headers) {
        Ok(None) => Framing::Empty,
        Ok(Some(Framing::UntilClose)) => {
            return Parsed::Invalid(
                StatusCode::BAD_REQUEST,
                "a request's transfer-encoding must end in chunked",
            );
        }
        Ok(Some(Framing::Chunked))
            if headers
                .iter()
                .any(|h| h.name.eq_ignore_ascii_case("content-length")) =>
        {
            // Two framings: a message two parsers can split differently.
            return Parsed::Invalid(
                StatusCode::BAD_REQUEST,
                "both transfer-encoding and content-length",
            );
        }
        Ok(Some(framing)) => framing,
        Err(message) => return Parsed::Invalid(StatusCode::BAD_REQUEST, message),
    };
    head.clear();
    head.extend_from_slice(method.as_bytes());
    head.push(b' ');
    push_origin_form(head, target);
    head.extend_from_slice(b" HTTP/1.1\r\n");
    let mut has_host = false;
    for header in headers {
        if hop_by_hop(header.name, &named) {
            continue;
        }
        has_host |= header.name.eq_ignore_ascii_case("host");
        push_field(head, header.name.as_bytes(), header.value);
    }
    if !has_host {
        push_field(head, b"host", host.as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    Parsed::Done(RequestHead {
        len,
        framing,
        // Methods are case-sensitive (RFC 9110 §9.1): `head` is not HEAD.
        is_head: method == "HEAD",
        idempotent: matches!(
            method,
            "GET" | "HEAD" | "PUT" | "DELETE" | "OPTIONS" | "TRACE"
        ),
        close,
        content_type: content_type(headers),
    })
}

fn push_field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Writes a request target in origin form: an absolute-form target (`http://host/path?q`)
/// loses its scheme and authority, as the model is addressed directly, and an empty path
/// becomes `/`.
fn push_origin_form(out: &mut Vec<u8>, target: &str) {
    let rest = match target.find("://") {
        Some(scheme_end) if !target.starts_with('/') => &target[scheme_end + 3..],
        _ => {
            out.extend_from_slice(target.as_bytes());
            return;
        }
    };
    match rest.find(['/', '?']) {
        Some(at) => {
            if rest.as_bytes()[at] == b'?' {
                out.push(b'/');
            }
            out.extend_from_slice(&rest.as_bytes()[at..]);
        }
        None => out.push(b'/'),
    }
}

/// Parses a response head at the start of `input` (its body framing depends on whether the
/// request was `HEAD`) and writes it into `out` as answered to the client: HTTP/1.1, without
/// hop-by-hop fields (and without `Content-Length` beside `Transfer-Encoding`), with
/// `connection: close` when `close` is set or the body runs until the model closes.
fn parse_response(
    input: &[u8],
    is_head: bool,
    close: bool,
    out: &mut Vec<u8>,
) -> Parsed<ResponseHead> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Response::new(&mut fields);
    let len = match parsed.parse(input) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if input.len() < MAX_HEAD => return Parsed::Partial,
        _ => return Parsed::Invalid(StatusCode::BAD_GATEWAY, "malformed response head"),
    };
    let (Some(status), Some(version)) = (parsed.code, parsed.version) else {
        return Parsed::Invalid(StatusCode::BAD_GATEWAY, "malformed response head");
    };
    if status == 101 {
        // Switching protocols was not asked for on this path.
        return Parsed::Invalid(StatusCode::BAD_GATEWAY, "unrequested protocol switch");
    }
    let headers = &*parsed.headers;
    let mut named = Vec::new();
    let (upstream_close, keep_alive) = connection_tokens(headers, &mut named);
    let interim = (100..200).contains(&status);
    let framing = if is_head || interim || status == 204 || status == 304 {
        Framing::Empty
    } else {
        match body_framing(headers) {
            Ok(Some(framing)) => framing,
            Ok(None) => Framing::UntilClose,
            Err(_) => return Parsed::Invalid(StatusCode::BAD_GATEWAY, "invalid content-length"),
        }
    };
    let persistent = if version == 1 {
        !upstream_close
    } else {
        keep_alive
    };
    let close = !interim && (close || framing == Framing::UntilClose);
    let coded = headers
        .iter()
        .any(|h| h.name.eq_ignore_ascii_case("transfer-encoding"));
    out.clear();
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(parsed.reason.unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    for header in headers {
        if hop_by_hop(header.name, &named)
            || (coded && header.name.eq_ignore_ascii_case("content-length"))
        {
            continue;
        }
        push_field(out, header.name.as_bytes(), header.value);
    }
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Parsed::Done(ResponseHead {
        len,
        status,
        framing,
        reusable: persistent && framing != Framing::UntilClose,
        close,
        content_type: content_type(headers),
    })
}

/// A client connection's first bytes replayed before the rest of the stream, for the general
/// path after a handoff.
#[derive(Debug)]
pub(super) struct Rewind {
    prefix: Bytes,
    inner: TcpStream,
}

impl Rewind {
    pub(super) fn new(prefix: Bytes, inner: TcpStream) -> Self {
        Rewind { prefix, inner }
    }
}

impl tokio::io::AsyncRead for Rewind {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            buf.put_slice(&self.prefix[..n]);
            self.prefix.advance(n);
            return std::task::Poll::Ready(Ok(()));
        }
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Rewind {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> std::task::Poll<io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests;
