//! The tap's HTTP/1.x path: one task per client connection that parses each request head,
//! forwards head and body to the connection's own upstream connection and streams the answer
//! back, copying bodies aside for the observer on the way.
//!
//! Inference traffic is HTTP/1.1 with `Content-Length` or chunked bodies, and this path is
//! written for it: a head is parsed in place (httparse) and re-written once from what was
//! parsed, without the hop-by-hop fields; a request whose body fits `max_body_bytes` is read
//! whole (as nginx's request buffering does) and goes to the model in one write, which also
//! lets an idempotent request that met a kept-alive connection the model had just closed be
//! sent again on a new one (never a POST: RFC 9110 §9.2.2); larger and chunked bodies stream.
//! Responses stream back, the head and the first bytes of the body in one write.
//!
//! HTTP/1.0 goes to the model as HTTP/1.0; `Expect: 100-continue` is answered here, before
//! the body is read; an upgrade (WebSocket, say) is forwarded, and on 101 both directions are
//! tunnelled byte for byte until either side closes. A connection that starts with the
//! HTTP/2 preface is handed, with the bytes read so far, to the HTTP/2 path
//! ([`super::Tap::handle`] on hyper).
//!
//! Every wait is bounded ([`Limits`]): `header_timeout` for a request head (from the
//! connection's start for its first request), `idle_timeout` between requests, `body_timeout`
//! for any pause while a body moves either way, and `upstream_timeout` for the model to begin
//! its answer once the request is sent whole.

use std::io;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use http::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;

use super::chunked::{ChunkError, Chunked};
use super::{BodyCopy, HOP_BY_HOP, NOT_NAMEABLE, Shared, observation};
use crate::http::{MAX_HEAD_BYTES, MAX_HEADERS};
use crate::sidecar::ingest::queue::Direction;

/// Free space made in a read buffer before each read.
const READ_CHUNK: usize = 16 * 1024;
/// How a client connection starts when it speaks HTTP/2 with prior knowledge.
const H2_PREFACE_START: &[u8] = b"PRI ";
/// The interim answer to `Expect: 100-continue`.
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// How a client connection left this path.
#[derive(Debug)]
pub(super) enum End {
    /// It is finished: closed by either side, or an error was answered.
    Closed,
    /// The client speaks HTTP/2: the connection goes to the HTTP/2 path, which reads these
    /// bytes first.
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
    /// The connection closes after this request: the client asked, or spoke HTTP/1.0.
    close: bool,
    http10: bool,
    /// `Expect: 100-continue`: the client waits for `100 Continue` before its body.
    expect_continue: bool,
    /// The client asks to switch protocols; a 101 turns the connection into a tunnel.
    upgrade: bool,
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
    /// 101 Switching Protocols, to an upgrade the client asked for.
    switched: bool,
    content_type: Option<String>,
}

/// What parsing a head found.
#[derive(Debug)]
enum Parsed<T> {
    /// More bytes are needed.
    Partial,
    Done(T),
    /// Not a head this path accepts; the client gets `status` (400, 405, 417 or 431) and the
    /// connection closes.
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
    /// Either side made no progress for `body_timeout`.
    Stalled {
        source: bool,
    },
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
    /// The model did not begin its answer within `upstream_timeout` of the request's end, or
    /// stopped taking the request's body for `body_timeout`.
    Timeout,
    /// The client went away or broke its request's framing while its body streamed.
    Client(Option<ChunkError>),
    /// The client paused its body for longer than `body_timeout`.
    ClientStalled,
}

impl std::fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExchangeError::Connect(e) => write!(f, "connect: {e}"),
            ExchangeError::Stale => f.write_str("the model closed the connection"),
            ExchangeError::Invalid(what) => f.write_str(what),
            ExchangeError::Timeout => f.write_str("the model did not answer in time"),
            ExchangeError::Client(_) => f.write_str("the client's request broke off"),
            ExchangeError::ClientStalled => f.write_str("the client's request body stalled"),
        }
    }
}

/// Serves the requests of one client connection until it closes, an error is answered, or the
/// client turns out to speak HTTP/2. When `stop` turns true, an idle connection closes and a
/// busy one closes after its current answer.
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
    // The first request's head is due `header_timeout` after the connection opened.
    let mut head_due = Some(Instant::now() + shared.limits.header_timeout);
    loop {
        let request = match connection.next_request(stop, head_due.take()).await {
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
    /// Reads the next request head; `Err` ends the connection. `due` is when the head must be
    /// complete, for the connection's first request; a later one waits up to `idle_timeout`
    /// for its first byte, then has `header_timeout` for the rest.
    async fn next_request(
        &mut self,
        stop: &mut watch::Receiver<bool>,
        mut due: Option<Instant>,
    ) -> Result<RequestHead, End> {
        let limits = &self.shared.limits;
        loop {
            if self.input.starts_with(H2_PREFACE_START) {
                return Err(End::Handoff(std::mem::take(&mut self.input)));
            }
            if !self.input.is_empty() {
                match parse_request(&self.input, &mut self.head, self.shared.authority.as_str()) {
                    Parsed::Done(request) => return Ok(request),
                    Parsed::Partial => {}
                    Parsed::Invalid(status, message) => {
                        self.answer_error(status, message).await;
                        return Err(End::Closed);
                    }
                }
            }
            self.input.reserve(READ_CHUNK);
            let started = !self.input.is_empty();
            // Between requests a stop closes the connection now; inside a head it waits.
            if !started && *stop.borrow() {
                return Err(End::Closed);
            }
            let until = match due {
                Some(due) => due,
                None if started => *due.insert(Instant::now() + limits.header_timeout),
                None => Instant::now() + limits.idle_timeout,
            };
            let read = tokio::select! {
                read = tokio::time::timeout_at(until, self.client.read_buf(&mut self.input)) => read,
                _ = stop.changed(), if !started => return Err(End::Closed),
            };
            match read {
                Ok(Ok(0) | Err(_)) => return Err(End::Closed),
                Ok(Ok(_)) => {}
                Err(_) if started => {
                    self.answer_error(
                        StatusCode::REQUEST_TIMEOUT,
                        "the request head took too long",
                    )
                    .await;
                    return Err(End::Closed);
                }
                // Silent past its time: closed without an answer (as nginx does).
                Err(_) => return Err(End::Closed),
            }
        }
    }

    /// Forwards one request and its answer. Returns whether the connection stays open.
    async fn forward(&mut self, mut request: RequestHead, stopping: bool) -> bool {
        let shared = self.shared;
        let body_timeout = shared.limits.body_timeout;
        self.closing = request.close || stopping;
        let whole = match request.framing {
            Framing::Empty => Some(0),
            Framing::Length(n) if n <= shared.max_body_bytes as u64 => Some(n as usize),
            _ => None,
        };
        if request.expect_continue
            && request.framing != Framing::Empty
            && self.input.len() == request.len
        {
            // The client waits for this before its body; none of it has come yet.
            if self.client.write_all(CONTINUE).await.is_err() {
                return false;
            }
        }
        let observed = shared.sample_exchange(request.framing != Framing::Empty);
        let mut request_copy = BodyCopy::Off;
        let exchange = match whole {
            Some(body_len) => {
                // Read the whole body, then send head and body in one write.
                let end = request.len + body_len;
                while self.input.len() < end {
                    self.input.reserve(end - self.input.len());
                    let read = self.client.read_buf(&mut self.input);
                    match tokio::time::timeout(body_timeout, read).await {
                        Ok(Ok(0) | Err(_)) => return false,
                        Ok(Ok(_)) => {}
                        Err(_) => {
                            self.answer_error(
                                StatusCode::REQUEST_TIMEOUT,
                                "the request body stalled",
                            )
                            .await;
                            return false;
                        }
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
                tokio::time::timeout(shared.timeout, self.exchange_whole(&request))
                    .await
                    .unwrap_or(Err(ExchangeError::Timeout))
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
                self.exchange_streamed(&request, &mut request_copy).await
            }
        };
        let (mut upstream, response) = match exchange {
            Ok(answer) => answer,
            Err(e) => {
                self.exchange_failed(e).await;
                return false;
            }
        };
        let close = response.close;
        upstream.buf.advance(response.len);
        if response.switched {
            shared.count_answer(response.status);
            self.tunnel(upstream).await;
            return false;
        }
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
            body_timeout,
        )
        .await;
        shared.count_answer(response.status);
        request_copy.offer(&shared.observer, Direction::Request, request.content_type);
        match pumped {
            Ok(()) => {}
            Err(PumpError::Sink | PumpError::Stalled { source: false }) => return false,
            Err(PumpError::Source | PumpError::Chunk(_) | PumpError::Stalled { source: true }) => {
                // The answer is cut short: the client can only tell by the connection closing.
                shared.upstream_error("aborted");
                return false;
            }
        }
        response_copy.offer(&shared.observer, Direction::Response, response.content_type);
        if response.reusable && upstream.buf.is_empty() && !request.http10 {
            self.upstream = Some(upstream);
        }
        if close {
            let _ = self.client.shutdown().await;
            return false;
        }
        true
    }

    /// Answers an exchange that failed before the model's answer began.
    async fn exchange_failed(&mut self, e: ExchangeError) {
        let (status, reason, message) = match &e {
            ExchangeError::Client(Some(_)) => (
                StatusCode::BAD_REQUEST,
                None,
                "malformed chunked request body",
            ),
            ExchangeError::Client(None) => return,
            ExchangeError::ClientStalled => (
                StatusCode::REQUEST_TIMEOUT,
                None,
                "the request body stalled",
            ),
            ExchangeError::Timeout => (
                StatusCode::GATEWAY_TIMEOUT,
                Some("timeout"),
                "the model did not answer in time",
            ),
            ExchangeError::Invalid(what) => {
                (StatusCode::BAD_GATEWAY, Some("invalid_response"), *what)
            }
            ExchangeError::Stale => (
                StatusCode::BAD_GATEWAY,
                Some("connect"),
                "the model closed the connection without answering",
            ),
            ExchangeError::Connect(_) => (
                StatusCode::BAD_GATEWAY,
                Some("connect"),
                "the model could not be reached",
            ),
        };
        if let Some(reason) = reason {
            self.shared.upstream_error(reason);
            tracing::debug!(error = %e, "upstream exchange failed");
        }
        self.answer_error(status, message).await;
    }

    /// Sends the request in `head` (head and whole body) and reads the answer's head. A kept-alive
    /// connection the model has visibly closed is replaced before anything is sent; an
    /// idempotent request that meets one closed meanwhile is sent once more, on a new one. Any
    /// other request is never sent twice (RFC 9110 §9.2.2: the model may have acted on it):
    /// the client gets a 502 instead, or the model's answer if it gave one before closing.
    async fn exchange_whole(
        &mut self,
        request: &RequestHead,
    ) -> Result<(Upstream, ResponseHead), ExchangeError> {
        loop {
            let (upstream, reused) = self.upstream().await?;
            let (mut upstream, reused) = if reused && closed_by_peer(&upstream.stream) {
                (self.connect().await?, false)
            } else {
                (upstream, reused)
            };
            let retry = reused && request.idempotent;
            if upstream.stream.write_all(&self.head).await.is_err() {
                if retry {
                    continue;
                }
                return self.early_answer(upstream, request).await;
            }
            match self.read_response(&mut upstream, request).await {
                Err(ExchangeError::Stale) if retry => continue,
                Err(e) => return Err(e),
                Ok(response) => return Ok((upstream, response)),
            }
        }
    }

    /// Sends the head, streams the body from the client as it comes (each pause bounded by
    /// `body_timeout`), and reads the answer's head (within `upstream_timeout` of the body's
    /// end).
    async fn exchange_streamed(
        &mut self,
        request: &RequestHead,
        copy: &mut BodyCopy,
    ) -> Result<(Upstream, ResponseHead), ExchangeError> {
        let (upstream, reused) = self.upstream().await?;
        // Nothing of it could be sent again: see whether the model closed the connection first.
        let mut upstream = if reused && closed_by_peer(&upstream.stream) {
            self.connect().await?
        } else {
            upstream
        };
        match pump(
            self.client,
            &mut self.input,
            &mut upstream.stream,
            request.framing,
            &mut self.head,
            copy,
            self.shared.limits.body_timeout,
        )
        .await
        {
            Ok(()) => {}
            Err(PumpError::Source) => return Err(ExchangeError::Client(None)),
            Err(PumpError::Chunk(e)) => return Err(ExchangeError::Client(Some(e))),
            Err(PumpError::Stalled { source: true }) => return Err(ExchangeError::ClientStalled),
            Err(PumpError::Sink | PumpError::Stalled { source: false }) => {
                *copy = BodyCopy::Off;
                return self.early_answer(upstream, request).await;
            }
        }
        let response = tokio::time::timeout(
            self.shared.timeout,
            self.read_response(&mut upstream, request),
        )
        .await
        .unwrap_or(Err(ExchangeError::Timeout))?;
        Ok((upstream, response))
    }

    /// The model stopped taking the request before its end: what it answered, if it did (a 413
    /// for a body too large, say), goes to the client, whose connection then closes (the rest
    /// of its body was never read); otherwise the client gets a 502.
    async fn early_answer(
        &mut self,
        mut upstream: Upstream,
        request: &RequestHead,
    ) -> Result<(Upstream, ResponseHead), ExchangeError> {
        self.closing = true;
        let answer = tokio::time::timeout(
            self.shared.timeout,
            self.read_response(&mut upstream, request),
        )
        .await;
        match answer {
            Ok(Ok(mut response)) => {
                response.reusable = false;
                Ok((upstream, response))
            }
            _ => Err(ExchangeError::Connect(io::ErrorKind::BrokenPipe.into())),
        }
    }

    /// Reads the model's answer head, passing interim (1xx) answers on to the client.
    async fn read_response(
        &mut self,
        upstream: &mut Upstream,
        request: &RequestHead,
    ) -> Result<ResponseHead, ExchangeError> {
        let mut received = false;
        loop {
            if !upstream.buf.is_empty() {
                received = true;
                match parse_response(
                    &upstream.buf,
                    request.is_head,
                    self.closing,
                    request.upgrade,
                    &mut self.out,
                ) {
                    Parsed::Done(response)
                        if (100..200).contains(&response.status) && !response.switched =>
                    {
                        // Interim answers (100 Continue, 103 Early Hints) go straight on; a
                        // 100 the tap already sent for `Expect` is not sent twice.
                        upstream.buf.advance(response.len);
                        if response.status == 100 && request.expect_continue {
                            continue;
                        }
                        if self.client.write_all(&self.out).await.is_err() {
                            return Err(ExchangeError::Client(None));
                        }
                        continue;
                    }
                    Parsed::Done(response) => return Ok(response),
                    Parsed::Partial => {}
                    Parsed::Invalid(..) => {
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

    /// After a 101: the answer's head goes to the client, then bytes flow both ways as they
    /// come (what either side sent early first) until one side closes.
    async fn tunnel(&mut self, mut upstream: Upstream) {
        if self.client.write_all(&self.out).await.is_err()
            || upstream.stream.write_all(&self.input).await.is_err()
            || self.client.write_all(&upstream.buf).await.is_err()
        {
            return;
        }
        self.input.clear();
        upstream.buf.clear();
        let _ = tokio::io::copy_bidirectional(self.client, &mut upstream.stream).await;
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
        self.shared.count_answer(status.as_u16());
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
/// Each read and each write may wait up to `stall` (`body_timeout`).
async fn pump(
    source: &mut TcpStream,
    buf: &mut BytesMut,
    sink: &mut TcpStream,
    framing: Framing,
    prefix: &mut Vec<u8>,
    copy: &mut BodyCopy,
    stall: Duration,
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
                tokio::time::timeout(stall, sink.write_all(&buf[..take])).await
            } else {
                Ok(Ok(()))
            }
        } else {
            prefix.extend_from_slice(&buf[..take]);
            let written = tokio::time::timeout(stall, sink.write_all(prefix)).await;
            prefix.clear();
            written
        };
        match written {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(PumpError::Sink),
            Err(_) => return Err(PumpError::Stalled { source: false }),
        }
        buf.advance(take);
        if done {
            return Ok(());
        }
        buf.reserve(READ_CHUNK);
        match tokio::time::timeout(stall, source.read_buf(buf)).await {
            Ok(Ok(0)) if framing == Framing::UntilClose => return Ok(()),
            Ok(Ok(0) | Err(_)) => return Err(PumpError::Source),
            Ok(Ok(_)) => {}
            Err(_) => return Err(PumpError::Stalled { source: true }),
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

/// The body framing of `Transfer-Encoding` and `Content-Length` fields (`None` when there are
/// neither), and the length the fields declare, which is what a forwarded head carries; `Err`
/// for a length that is not one number. `strict` (requests) refuses a
/// second length even when it is equal to the first (`Content-Length: 5, 5`); an answer may
/// repeat its length.
fn body_framing(
    headers: &[httparse::Header<'_>],
    strict: bool,
) -> Result<(Option<Framing>, Option<u64>), &'static str> {
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
                match length {
                    Some(_) if strict => return Err("more than one content-length"),
                    Some(l) if l != n => return Err("conflicting content-length fields"),
                    _ => length = Some(n),
                }
            }
        }
    }
    let framing = match (codings, length) {
        (Some(_), _) if chunked_last => Some(Framing::Chunked),
        (Some(_), _) => Some(Framing::UntilClose),
        (None, Some(0)) => Some(Framing::Empty),
        (None, Some(n)) => Some(Framing::Length(n)),
        (None, None) => None,
    };
    Ok((framing, length))
}

fn content_type(headers: &[httparse::Header<'_>]) -> Option<String> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-type"))
        .and_then(|h| std::str::from_utf8(h.value).ok())
        .map(str::to_string)
}

/// Parses a request head at the start of `input` and writes it, as forwarded, into `head`.
///
/// What is forwarded is written from what was parsed: the request line in origin form, the
/// fields but the hop-by-hop ones (and `Expect`, which the tap answers itself), one
/// `Content-Length` with the parsed length, and `Host` from an absolute-form target (RFC 9112
/// §3.2.2), or `host` (the model's) for an HTTP/1.0 request without one. Refused with 400:
/// an HTTP/1.1 request with no `Host`, more than one, or one that is not `host[:port]`; more
/// than one `Content-Length` value, even equal ones (as nginx); a `Transfer-Encoding` that does
/// not end in `chunked`, or one beside `Content-Length` or in HTTP/1.0. `CONNECT` gets 405 (the
/// tap forwards to one model, it tunnels nowhere), an expectation other than `100-continue`
/// 417.
fn parse_request(input: &[u8], head: &mut Vec<u8>, host: &str) -> Parsed<RequestHead> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut fields);
    let len = match parsed.parse(input) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if input.len() >= MAX_HEAD_BYTES => {
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
    if len > MAX_HEAD_BYTES {
        return Parsed::Invalid(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "request head too large",
        );
    }
    let (Some(method), Some(target), Some(version)) = (parsed.method, parsed.path, parsed.version)
    else {
        return Parsed::Invalid(StatusCode::BAD_REQUEST, "malformed request head");
    };
    let http10 = version == 0;
    if method == "CONNECT" {
        return Parsed::Invalid(
            StatusCode::METHOD_NOT_ALLOWED,
            "the tap forwards to the model and does not tunnel CONNECT",
        );
    }
    let headers = &*parsed.headers;
    let mut named = Vec::new();
    let (close, _) = connection_tokens(headers, &mut named);
    // An upgrade counts only when `Connection` names it (RFC 9110 §7.8), and never in HTTP/1.0.
    let upgrade = !http10
        && named.iter().any(|n| n.eq_ignore_ascii_case(b"upgrade"))
        && headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case("upgrade"));
    let mut expect_continue = false;
    for expect in headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("expect"))
    {
        if !expect
            .value
            .trim_ascii()
            .eq_ignore_ascii_case(b"100-continue")
        {
            return Parsed::Invalid(StatusCode::EXPECTATION_FAILED, "unsupported expectation");
        }
        // HTTP/1.0 clients do not wait for 100 Continue (RFC 9110 §10.1.1).
        expect_continue = !http10;
    }
    let (framing, length) = match body_framing(headers, true) {
        Ok(declared) => declared,
        Err(message) => return Parsed::Invalid(StatusCode::BAD_REQUEST, message),
    };
    let framing = match framing {
        None => Framing::Empty,
        Some(Framing::Chunked | Framing::UntilClose) if http10 => {
            return Parsed::Invalid(
                StatusCode::BAD_REQUEST,
                "transfer-encoding in an HTTP/1.0 request",
            );
        }
        Some(Framing::UntilClose) => {
            return Parsed::Invalid(
                StatusCode::BAD_REQUEST,
                "a request's transfer-encoding must end in chunked",
            );
        }
        Some(Framing::Chunked) if length.is_some() => {
            // Two framings: a message two parsers can split differently.
            return Parsed::Invalid(
                StatusCode::BAD_REQUEST,
                "both transfer-encoding and content-length",
            );
        }
        Some(framing) => framing,
    };
    let Some(target) = Target::parse(method, target) else {
        return Parsed::Invalid(StatusCode::BAD_REQUEST, "invalid request target");
    };
    let target_authority = target.authority();
    let mut hosts = headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("host"));
    let host_field = hosts.next();
    if hosts.next().is_some() {
        return Parsed::Invalid(StatusCode::BAD_REQUEST, "more than one host field");
    }
    match host_field {
        Some(field) if !valid_host(field.value) => {
            return Parsed::Invalid(StatusCode::BAD_REQUEST, "invalid host field");
        }
        // RFC 9112 §3.2: an HTTP/1.1 request without Host is a 400, absolute form or not.
        None if !http10 => {
            return Parsed::Invalid(
                StatusCode::BAD_REQUEST,
                "an HTTP/1.1 request needs a host field",
            );
        }
        _ => {}
    }
    head.clear();
    head.extend_from_slice(method.as_bytes());
    head.push(b' ');
    target.push_origin_form(head);
    // An HTTP/1.0 request goes on as HTTP/1.0, so that the answer is one its client can read
    // (never chunked).
    head.extend_from_slice(if http10 {
        b" HTTP/1.0\r\n"
    } else {
        b" HTTP/1.1\r\n"
    });
    let mut length_written = false;
    for header in headers {
        let name = header.name;
        if name.eq_ignore_ascii_case("content-length") {
            if !length_written && let Some(n) = length {
                push_field(head, name.as_bytes(), n.to_string().as_bytes());
            }
            length_written = true;
            continue;
        }
        if name.eq_ignore_ascii_case("host") {
            match target_authority {
                Some(authority) => push_field(head, name.as_bytes(), authority.as_bytes()),
                None => push_field(head, name.as_bytes(), header.value),
            }
            continue;
        }
        if name.eq_ignore_ascii_case("expect") {
            continue;
        }
        if upgrade && name.eq_ignore_ascii_case("upgrade") {
            push_field(head, name.as_bytes(), header.value);
            continue;
        }
        if hop_by_hop(name, &named) {
            continue;
        }
        push_field(head, name.as_bytes(), header.value);
    }
    match (host_field, target_authority) {
        (None, Some(authority)) => push_field(head, b"host", authority.as_bytes()),
        (None, None) => push_field(head, b"host", host.as_bytes()),
        _ => {}
    }
    if upgrade {
        push_field(head, b"connection", b"upgrade");
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
        // An HTTP/1.0 client's connection closes after its answer (`keep-alive` or not).
        close: close || http10,
        http10,
        expect_continue,
        upgrade,
        content_type: content_type(headers),
    })
}

/// How the body after a forwarded request head is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    Empty,
    Length(u64),
    Chunked,
}

/// What the tap does with the request head at the start of some bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadDecision {
    /// More bytes are needed.
    Partial,
    /// Forwarded: the head's `len` bytes become `head`, and the body follows by `framing`.
    Forward {
        len: usize,
        head: Vec<u8>,
        framing: BodyFraming,
    },
    /// Answered with `status` and never forwarded.
    Refuse { status: u16, reason: &'static str },
}

/// What the tap does with the request head at the start of `input`, `model_host` standing in
/// for the model's address.
pub fn request_head(input: &[u8], model_host: &str) -> HeadDecision {
    let mut head = Vec::new();
    match parse_request(input, &mut head, model_host) {
        Parsed::Partial => HeadDecision::Partial,
        Parsed::Invalid(status, reason) => HeadDecision::Refuse {
            status: status.as_u16(),
            reason,
        },
        Parsed::Done(request) => HeadDecision::Forward {
            len: request.len,
            head,
            framing: match request.framing {
                Framing::Length(n) => BodyFraming::Length(n),
                Framing::Chunked => BodyFraming::Chunked,
                Framing::Empty | Framing::UntilClose => BodyFraming::Empty,
            },
        },
    }
}

/// A request target in one of the forms RFC 9112 §3.2 allows outside CONNECT, parsed once:
/// what is checked, what becomes `Host` and what is forwarded come from the same split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target<'a> {
    /// origin-form (`/path?query`), or `*` for OPTIONS: forwarded as it came.
    Origin(&'a str),
    /// absolute-form (`scheme://host[:port][/path][?query]`): its authority without user info,
    /// and its path and query (possibly empty).
    Absolute { authority: &'a str, path: &'a str },
}

impl<'a> Target<'a> {
    /// `None` for a target of no allowed form: a fragment (neither form has one, RFC 3986
    /// §4.3), `*` outside OPTIONS, no RFC 3986 §3.1 scheme, or no valid host (`http://:80/`).
    fn parse(method: &str, target: &'a str) -> Option<Self> {
        if target.contains('#') {
            return None;
        }
        if target.starts_with('/') || (target == "*" && method == "OPTIONS") {
            return Some(Target::Origin(target));
        }
        let (scheme, rest) = target.split_once("://")?;
        let scheme_ok = scheme
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic())
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
        let (authority, path) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
        let authority = authority.rsplit('@').next().unwrap_or(authority);
        let named = !split_port(authority.as_bytes()).0.is_empty();
        (scheme_ok && named && valid_host(authority.as_bytes()))
            .then_some(Target::Absolute { authority, path })
    }

    /// The authority of an absolute-form target, which replaces any `Host` (RFC 9112 §3.2.2).
    fn authority(self) -> Option<&'a str> {
        match self {
            Target::Origin(_) => None,
            Target::Absolute { authority, .. } => Some(authority),
        }
    }

    /// Writes the target in origin form: an absolute-form target loses its scheme and
    /// authority, as the model is addressed directly, and an empty path becomes `/`.
    fn push_origin_form(self, out: &mut Vec<u8>) {
        match self {
            Target::Origin(target) => out.extend_from_slice(target.as_bytes()),
            Target::Absolute { path, .. } => {
                if !path.starts_with('/') {
                    out.push(b'/');
                }
                out.extend_from_slice(path.as_bytes());
            }
        }
    }
}

/// A `host [":" port]` value split at its port's colon (none inside an IP literal's brackets).
fn split_port(value: &[u8]) -> (&[u8], &[u8]) {
    match value.iter().rposition(|&b| b == b':') {
        Some(at) if !value[at..].contains(&b']') => (&value[..at], &value[at + 1..]),
        _ => (value, &b""[..]),
    }
}

/// Whether a `Host` value is `uri-host [":" port]` (RFC 9110 §7.2, RFC 3986 §3.2.2), or empty:
/// a registered name (unreserved, percent-encoded and sub-delimiter characters) or a bracketed
/// IP literal, then optionally `:` and digits. No user info, whitespace or path.
fn valid_host(value: &[u8]) -> bool {
    let (host, port) = split_port(value);
    let host_ok = match host {
        [b'[', literal @ .., b']'] => literal
            .iter()
            .all(|&b| b.is_ascii_hexdigit() || b":.vV".contains(&b)),
        _ => host
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(&b)),
    };
    host_ok && port.iter().all(u8::is_ascii_digit)
}

fn push_field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Parses a response head at the start of `input` (its body framing depends on whether the
/// request was `HEAD`) and writes it into `out` as answered to the client: HTTP/1.1, without
/// hop-by-hop fields (and without `Content-Length` beside `Transfer-Encoding`; one length when
/// the model repeated it), with `connection: close` when `close` is set or the body runs until
/// the model closes. A 101 is accepted only when the request asked to `upgrade`; its `Upgrade`
/// field goes on with `connection: upgrade`.
fn parse_response(
    input: &[u8],
    is_head: bool,
    close: bool,
    upgrade: bool,
    out: &mut Vec<u8>,
) -> Parsed<ResponseHead> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Response::new(&mut fields);
    let len = match parsed.parse(input) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if input.len() < MAX_HEAD_BYTES => return Parsed::Partial,
        _ => return Parsed::Invalid(StatusCode::BAD_GATEWAY, "malformed response head"),
    };
    let (Some(status), Some(version)) = (parsed.code, parsed.version) else {
        return Parsed::Invalid(StatusCode::BAD_GATEWAY, "malformed response head");
    };
    let switched = status == 101;
    if switched && !upgrade {
        return Parsed::Invalid(StatusCode::BAD_GATEWAY, "unrequested protocol switch");
    }
    let headers = &*parsed.headers;
    let mut named = Vec::new();
    let (upstream_close, keep_alive) = connection_tokens(headers, &mut named);
    let interim = (100..200).contains(&status) && !switched;
    let Ok((declared, length)) = body_framing(headers, false) else {
        return Parsed::Invalid(StatusCode::BAD_GATEWAY, "invalid content-length");
    };
    let framing = if is_head || interim || switched || status == 204 || status == 304 {
        // No body whatever the fields say (a HEAD's length is the GET's, passed on as such).
        Framing::Empty
    } else {
        declared.unwrap_or(Framing::UntilClose)
    };
    let persistent = if version == 1 {
        !upstream_close
    } else {
        keep_alive
    };
    let close = !interim && !switched && (close || framing == Framing::UntilClose);
    let coded = headers
        .iter()
        .any(|h| h.name.eq_ignore_ascii_case("transfer-encoding"));
    out.clear();
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(parsed.reason.unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    let mut length_written = false;
    for header in headers {
        let name = header.name;
        if name.eq_ignore_ascii_case("content-length") {
            if !coded
                && !length_written
                && let Some(n) = length
            {
                push_field(out, name.as_bytes(), n.to_string().as_bytes());
            }
            length_written = true;
            continue;
        }
        if switched && name.eq_ignore_ascii_case("upgrade") {
            push_field(out, name.as_bytes(), header.value);
            continue;
        }
        if hop_by_hop(name, &named) {
            continue;
        }
        push_field(out, name.as_bytes(), header.value);
    }
    if switched {
        out.extend_from_slice(b"connection: upgrade\r\n");
    } else if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Parsed::Done(ResponseHead {
        len,
        status,
        framing,
        reusable: persistent && !switched && framing != Framing::UntilClose,
        close,
        switched,
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
