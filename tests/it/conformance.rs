//! The tap against RFC 9110 and RFC 9112, case by case: raw bytes from a client, a recording
//! model behind the tap, and for every case what the client got back and exactly what reached
//! the model (nothing, for a request the tap must refuse).
//!
//! The model parses what it receives with a strict parser of its own (CRLF line ends, one
//! framing, a chunked coding checked to the letter), so a head the tap re-wrote badly, or a
//! body the tap and the model would split differently, shows as a malformed or extra request.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{Notify, mpsc, watch};

/// How long any one read of a test may wait before the case counts as hanging.
const READ_WAIT: Duration = Duration::from_secs(5);
/// The tap's `upstream_timeout` in every case but the one that waits it out: long enough never
/// to fire on a loaded machine.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(10);
/// The tap's `max_body_bytes` (its default, 1 MiB): larger bodies stream.
const MAX_BODY_BYTES: usize = 1 << 20;
/// The size of the large bodies, over the default cap.
const LARGE: usize = 5_000_000;

// ---------------------------------------------------------------------------------------------
// The recording model.

/// What the model does with the requests of each connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Model {
    /// Answers every request `200` with a `Content-Length` body `METHOD TARGET`.
    Answers,
    /// Answers the first request of each connection, reads the second whole and closes without
    /// answering it.
    DropsSecond,
    /// Reads a request's head only, answers `413` with `connection: close` and closes.
    RefusesEarly,
    /// Answers with bytes that are not an HTTP head.
    InvalidHead,
    /// Reads the request and never answers.
    Silent,
    /// Answers chunked, with a trailer.
    AnswersChunked,
    /// Begins a chunked answer and closes inside its body.
    BreaksChunked,
    /// Answers `101` and echoes every byte that follows.
    SwitchesAndEchoes,
}

/// The model's chunked answer, with its trailer.
const CHUNKED_ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\
transfer-encoding: chunked\r\ntrailer: x-sum\r\n\r\n5\r\nhello\r\n0\r\nx-sum: 5\r\n\r\n";
/// The body of [`CHUNKED_ANSWER`], as coded on the wire.
const CHUNKED_ANSWER_BODY: &[u8] = b"5\r\nhello\r\n0\r\nx-sum: 5\r\n\r\n";

/// What the model received, message by message.
#[derive(Debug)]
enum Received {
    Request(Recorded),
    /// Bytes the model could not read as a request (it closed the connection then).
    Malformed(Vec<u8>, String),
    /// The connection closed inside a request.
    Partial(Vec<u8>),
}

/// One request the model received whole.
#[derive(Debug)]
struct Recorded {
    /// Which of the model's connections, in the order accepted.
    connection: usize,
    line: String,
    /// Names lower-cased, values as sent.
    fields: Vec<(String, String)>,
    /// As sent (chunked bodies coded); `None` when the model did not read it.
    body: Option<Vec<u8>>,
}

impl Recorded {
    fn values(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// A request head as the model parsed it.
#[derive(Debug)]
struct ModelHead {
    len: usize,
    line: String,
    method: String,
    fields: Vec<(String, String)>,
    chunked: bool,
    length: usize,
}

/// A model on `127.0.0.1` that records every byte it receives.
struct RecordingModel {
    address: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    /// Connections accepted and not yet finished.
    open: watch::Receiver<usize>,
    /// The address of [`RecordingModel::settle`]'s probe connection, and its arrival.
    probe: Arc<Mutex<Option<SocketAddr>>>,
    probed: Arc<Notify>,
}

impl RecordingModel {
    async fn start(model: Model) -> RecordingModel {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let received = Arc::new(Mutex::new(Vec::new()));
        let (open_tx, open) = watch::channel(0usize);
        let open_tx = Arc::new(open_tx);
        let probe = Arc::new(Mutex::new(None));
        let probed = Arc::new(Notify::new());
        let (record, probe_at, arrived) = (received.clone(), probe.clone(), probed.clone());
        tokio::spawn(async move {
            let mut accepted = 0;
            while let Ok((stream, peer)) = listener.accept().await {
                if *probe_at.lock().expect("probe lock") == Some(peer) {
                    arrived.notify_one();
                    continue;
                }
                open_tx.send_modify(|n| *n += 1);
                let (record, open_tx) = (record.clone(), open_tx.clone());
                let connection = accepted;
                accepted += 1;
                tokio::spawn(async move {
                    serve_model(stream, connection, model, &record).await;
                    open_tx.send_modify(|n| *n -= 1);
                });
            }
        });
        RecordingModel {
            address,
            received,
            open,
            probe,
            probed,
        }
    }

    /// Waits until every connection the tap opened so far has been accepted and has finished:
    /// a probe connection is accepted after all that came before it (the listen backlog is
    /// first in, first out), then the count of open ones falls to zero.
    async fn settle(&mut self) -> Result<(), String> {
        let socket = TcpSocket::new_v4().expect("socket");
        socket
            .bind("127.0.0.1:0".parse().expect("address"))
            .expect("bind");
        *self.probe.lock().expect("probe lock") = Some(socket.local_addr().expect("address"));
        let _probe = socket.connect(self.address).await.expect("probe connects");
        tokio::time::timeout(READ_WAIT, self.probed.notified())
            .await
            .map_err(|_| "the model did not accept its probe".to_string())?;
        match tokio::time::timeout(READ_WAIT, self.open.wait_for(|n| *n == 0)).await {
            Ok(Ok(_)) => Ok(()),
            _ => Err("the tap kept a connection to the model open after the client left".into()),
        }
    }

    fn take(&self) -> Vec<Received> {
        std::mem::take(&mut *self.received.lock().expect("record lock"))
    }
}

/// Reads more of `stream` into `buf`; false at its end.
async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 64 * 1024];
    match stream.read(&mut chunk).await {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            true
        }
    }
}

/// Serves one connection of the model: each request is read whole (its head, then its body by
/// its framing), recorded, then answered as `model` says.
async fn serve_model(
    mut stream: TcpStream,
    connection: usize,
    model: Model,
    record: &Mutex<Vec<Received>>,
) {
    let push = |received: Received| record.lock().expect("record lock").push(received);
    let mut buf = Vec::new();
    for index in 0.. {
        let head = loop {
            match parse_model_head(&buf) {
                Ok(Some(head)) => break head,
                Ok(None) if fill(&mut stream, &mut buf).await => {}
                Ok(None) => {
                    if !buf.is_empty() {
                        push(Received::Partial(buf));
                    }
                    return;
                }
                Err(why) => return push(Received::Malformed(buf, why)),
            }
        };
        let mut recorded = Recorded {
            connection,
            line: head.line.clone(),
            fields: head.fields,
            body: None,
        };
        if model == Model::RefusesEarly {
            push(Received::Request(recorded));
            let _ = stream
                .write_all(b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 9\r\nconnection: close\r\n\r\ntoo large")
                .await;
            return;
        }
        let body_len = loop {
            let body = &buf[head.len..];
            let known = if head.chunked {
                match chunked_len(body) {
                    Ok(known) => known,
                    Err(why) => return push(Received::Malformed(buf, why)),
                }
            } else {
                (body.len() >= head.length).then_some(head.length)
            };
            match known {
                Some(len) => break len,
                None if fill(&mut stream, &mut buf).await => {}
                None => return push(Received::Partial(buf)),
            }
        };
        recorded.body = Some(buf[head.len..head.len + body_len].to_vec());
        buf.drain(..head.len + body_len);
        push(Received::Request(recorded));
        let answer = match model {
            // (`RefusesEarly` has answered at the head.)
            Model::Answers | Model::RefusesEarly => answer_to(&head.method, &head.line),
            Model::DropsSecond if index == 0 => answer_to(&head.method, &head.line),
            Model::DropsSecond => return,
            Model::InvalidHead => b"HTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n".to_vec(),
            Model::Silent => {
                while fill(&mut stream, &mut buf).await {}
                return;
            }
            Model::AnswersChunked => CHUNKED_ANSWER.to_vec(),
            Model::BreaksChunked => {
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhel")
                    .await;
                return;
            }
            Model::SwitchesAndEchoes => {
                let switched =
                    b"HTTP/1.1 101 Switching Protocols\r\nupgrade: echo\r\nconnection: upgrade\r\n\r\n";
                if stream.write_all(switched).await.is_err() {
                    return;
                }
                loop {
                    if !buf.is_empty() && stream.write_all(&buf).await.is_err() {
                        return;
                    }
                    buf.clear();
                    if !fill(&mut stream, &mut buf).await {
                        return;
                    }
                }
            }
        };
        if stream.write_all(&answer).await.is_err() {
            return;
        }
    }
}

/// `200` with the body `METHOD TARGET` (no body for `HEAD`, which is upper-case only).
fn answer_to(method: &str, line: &str) -> Vec<u8> {
    let body = line.rsplit_once(' ').map_or(line, |(start, _)| start);
    let mut answer = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if method != "HEAD" {
        answer.extend_from_slice(body.as_bytes());
    }
    answer
}

/// The model's request parser: httparse, then what a strict origin server also refuses (a bare
/// LF, a second framing, a coding other than chunked last).
fn parse_model_head(buf: &[u8]) -> Result<Option<ModelHead>, String> {
    let mut fields = [httparse::EMPTY_HEADER; 256];
    let mut request = httparse::Request::new(&mut fields);
    let len = match request.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(format!("httparse: {e}")),
    };
    if buf[..len]
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && (i == 0 || buf[i - 1] != b'\r'))
    {
        return Err("a line of the head ends in a bare LF".into());
    }
    let (Some(method), Some(target), Some(version)) =
        (request.method, request.path, request.version)
    else {
        return Err("no request line".into());
    };
    let fields: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_ascii_lowercase(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let values = |name: &str| -> Vec<&str> {
        fields
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let codings = values("transfer-encoding").join(",");
    let lengths = values("content-length");
    let chunked = !codings.is_empty();
    if chunked
        && !codings
            .rsplit(',')
            .next()
            .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
    {
        return Err(format!(
            "transfer-encoding {codings:?} does not end in chunked"
        ));
    }
    let length = match (chunked, lengths.as_slice()) {
        (_, []) => 0,
        (false, [one]) if !one.is_empty() && one.bytes().all(|b| b.is_ascii_digit()) => {
            one.parse().map_err(|e| format!("content-length: {e}"))?
        }
        _ => return Err(format!("framing: te {codings:?}, lengths {lengths:?}")),
    };
    Ok(Some(ModelHead {
        len,
        line: format!("{method} {target} HTTP/1.{version}"),
        method: method.to_string(),
        fields,
        chunked,
        length,
    }))
}

/// The length of the chunked body at the start of `input` once all of it is there, read to the
/// letter of RFC 9112 §7.1: CRLF line ends, hex sizes, data followed by CRLF, trailer lines
/// that are fields.
fn chunked_len(input: &[u8]) -> Result<Option<usize>, String> {
    /// The next line from `at`: its end (before CRLF), or `None` while incomplete.
    fn line_end(input: &[u8], at: usize) -> Result<Option<usize>, String> {
        match input[at..].iter().position(|&b| b == b'\n') {
            Some(lf) if lf > 0 && input[at + lf - 1] == b'\r' => Ok(Some(at + lf - 1)),
            Some(_) => Err("a chunked line ends in a bare LF".into()),
            None => Ok(None),
        }
    }
    let mut at = 0;
    loop {
        let Some(end) = line_end(input, at)? else {
            return Ok(None);
        };
        let line = &input[at..end];
        let digits = line.split(|&b| b == b';').next().unwrap_or_default();
        if digits.is_empty() || digits.len() > 16 || !digits.iter().all(u8::is_ascii_hexdigit) {
            return Err(format!("chunk size line {:?}", show(line)));
        }
        let size = usize::from_str_radix(&String::from_utf8_lossy(digits), 16)
            .map_err(|e| format!("chunk size: {e}"))?;
        at = end + 2;
        if size == 0 {
            loop {
                let Some(end) = line_end(input, at)? else {
                    return Ok(None);
                };
                let line = &input[at..end];
                at = end + 2;
                if line.is_empty() {
                    return Ok(Some(at));
                }
                let name = line.split(|&b| b == b':').next().unwrap_or_default();
                if name.len() == line.len() || name.is_empty() || name.contains(&b' ') {
                    return Err(format!("trailer line {:?}", show(line)));
                }
            }
        }
        if input.len() < at + size + 2 {
            return Ok(None);
        }
        if &input[at + size..at + size + 2] != b"\r\n" {
            return Err("chunk data not followed by CRLF".into());
        }
        at += size + 2;
    }
}

// ---------------------------------------------------------------------------------------------
// The tap and the client.

/// One answer as the client read it.
#[derive(Debug)]
struct Answer {
    status: u16,
    /// Names lower-cased.
    fields: Vec<(String, String)>,
    /// As sent (a chunked body coded).
    body: Vec<u8>,
    /// The body ended as its framing says (a 101 is complete at its head).
    complete: bool,
}

/// What came back to the client.
#[derive(Debug, Default)]
struct Seen {
    answers: Vec<Answer>,
    /// The bytes after a 101.
    tunnel: Vec<u8>,
    /// The tap closed (or reset) the connection.
    closed: bool,
    /// A read waited longer than [`READ_WAIT`].
    hung: bool,
}

/// Parses the answers in `input`; `ended` when no more bytes will come.
fn parse_answers(input: &[u8], ended: bool) -> Seen {
    let mut seen = Seen::default();
    let mut at = 0;
    while at < input.len() {
        let mut fields = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut fields);
        let Ok(httparse::Status::Complete(len)) = response.parse(&input[at..]) else {
            break;
        };
        let status = response.code.unwrap_or_default();
        let fields: Vec<(String, String)> = response
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_ascii_lowercase(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect();
        at += len;
        let rest = &input[at..];
        let value = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| v);
        let (body_len, complete) = if (100..200).contains(&status) || status == 204 {
            (0, true)
        } else if value("transfer-encoding").is_some() {
            match chunked_len(rest) {
                Ok(Some(n)) => (n, true),
                _ => (rest.len(), false),
            }
        } else if let Some(length) = value("content-length") {
            let n = length.trim().parse().unwrap_or(usize::MAX);
            (n.min(rest.len()), rest.len() >= n)
        } else {
            (rest.len(), ended)
        };
        seen.answers.push(Answer {
            status,
            fields,
            body: rest[..body_len].to_vec(),
            complete,
        });
        at += body_len;
        if status == 101 {
            seen.tunnel = input[at..].to_vec();
            break;
        }
    }
    seen
}

/// Sends `parts` on a new connection to `tap`, each after an answer to the one before (an
/// interim one counts), and reads until `finals` answers are complete and `tunnel` bytes came
/// after a 101; then, with `until_closed`, until the tap closes the connection.
async fn exchange(
    tap: SocketAddr,
    parts: &[Vec<u8>],
    finals: usize,
    tunnel: usize,
    until_closed: bool,
) -> Seen {
    let stream = TcpStream::connect(tap).await.expect("connect to the tap");
    let (mut reader, mut writer) = stream.into_split();
    let (answered, mut answer_came) = mpsc::unbounded_channel::<()>();
    let parts = parts.to_vec();
    // The writer runs beside the reader, so that a large body the tap stops taking cannot keep
    // the client from reading the answer. It hands its half back to be closed at the end.
    let writing = tokio::spawn(async move {
        for (i, part) in parts.iter().enumerate() {
            if i > 0 && answer_came.recv().await.is_none() {
                break;
            }
            if writer.write_all(part).await.is_err() {
                break;
            }
        }
        writer
    });
    let mut received = Vec::new();
    let mut signalled = 0;
    let mut chunk = vec![0u8; 64 * 1024];
    let (mut closed, mut hung) = (false, false);
    loop {
        let seen = parse_answers(&received, false);
        while signalled < seen.answers.len() {
            let _ = answered.send(());
            signalled += 1;
        }
        let complete = seen
            .answers
            .iter()
            .filter(|a| a.status >= 200 || a.status == 101)
            .filter(|a| a.complete)
            .count();
        if complete >= finals && seen.tunnel.len() >= tunnel && !until_closed {
            break;
        }
        match tokio::time::timeout(READ_WAIT, reader.read(&mut chunk)).await {
            Ok(Ok(0) | Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(n)) => received.extend_from_slice(&chunk[..n]),
            Err(_) => {
                hung = true;
                break;
            }
        }
    }
    drop(answered);
    let writer = writing.await.expect("the writer ends");
    drop((reader, writer));
    Seen {
        closed,
        hung,
        ..parse_answers(&received, closed)
    }
}

// ---------------------------------------------------------------------------------------------
// Cases.

/// What an answer to the client must be.
#[derive(Debug)]
struct Expected {
    status: u16,
    body: Body,
    fields: Vec<(&'static str, &'static str)>,
}

#[derive(Debug)]
enum Body {
    Any,
    Is(Vec<u8>),
    /// An error of the tap's own (JSON naming the tap).
    TapError,
    /// Begun, then broken off.
    CutShort,
}

/// The model's `200` answer to `METHOD TARGET`.
fn echo(request: &str) -> Expected {
    Expected {
        status: 200,
        body: Body::Is(request.as_bytes().to_vec()),
        fields: Vec::new(),
    }
}

fn status(status: u16, body: Body) -> Expected {
    Expected {
        status,
        body,
        fields: Vec::new(),
    }
}

impl Expected {
    fn with(mut self, name: &'static str, value: &'static str) -> Self {
        self.fields.push((name, value));
        self
    }
}

/// What one request must look like when it reaches the model.
#[derive(Debug)]
struct Forwarded {
    line: &'static str,
    /// The one `Host` value (`{model}`: the model's address).
    host: &'static str,
    /// `content-length` and `transfer-encoding` fields, in order.
    framing: Vec<(&'static str, String)>,
    /// `None`: not checked (the model did not read it).
    body: Option<Vec<u8>>,
    has: Vec<(&'static str, &'static str)>,
    lacks: Vec<&'static str>,
    connection: usize,
}

/// `line` forwarded with `Host: m`, no body, on the model's first connection.
fn forwarded(line: &'static str) -> Forwarded {
    Forwarded {
        line,
        host: "m",
        framing: Vec::new(),
        body: Some(Vec::new()),
        has: Vec::new(),
        lacks: Vec::new(),
        connection: 0,
    }
}

impl Forwarded {
    fn host(mut self, host: &'static str) -> Self {
        self.host = host;
        self
    }
    fn length(mut self, body: impl Into<Vec<u8>>) -> Self {
        let body = body.into();
        self.framing = vec![("content-length", body.len().to_string())];
        self.body = Some(body);
        self
    }
    /// A coded body under `transfer-encoding: coding`, forwarded byte for byte.
    fn coded(mut self, coding: &str, body: impl Into<Vec<u8>>) -> Self {
        self.framing = vec![("transfer-encoding", coding.to_string())];
        self.body = Some(body.into());
        self
    }
    fn unread_length(mut self, length: usize) -> Self {
        self.framing = vec![("content-length", length.to_string())];
        self.body = None;
        self
    }
    fn has(mut self, name: &'static str, value: &'static str) -> Self {
        self.has.push((name, value));
        self
    }
    fn lacks(mut self, names: &[&'static str]) -> Self {
        self.lacks.extend_from_slice(names);
        self
    }
    fn on_connection(mut self, connection: usize) -> Self {
        self.connection = connection;
        self
    }
}

/// One case: what the client sends, and what the client and the model must see.
#[derive(Debug)]
struct Case {
    name: &'static str,
    model: Model,
    /// Sent one after another, each after an answer to the one before.
    sends: Vec<Vec<u8>>,
    answers: Vec<Expected>,
    /// Bytes the client must get back after a 101.
    tunnel: Vec<u8>,
    /// The tap closes the connection after the last answer.
    closes: bool,
    forwarded: Vec<Forwarded>,
    upstream_timeout: Duration,
    max_body_bytes: usize,
}

impl Case {
    fn new(name: &'static str, request: impl Into<Vec<u8>>) -> Case {
        Case {
            name,
            model: Model::Answers,
            sends: vec![request.into()],
            answers: Vec::new(),
            tunnel: Vec::new(),
            closes: false,
            forwarded: Vec::new(),
            upstream_timeout: UPSTREAM_TIMEOUT,
            max_body_bytes: MAX_BODY_BYTES,
        }
    }
    /// Answered `status` by the tap itself, the connection closed, nothing sent to the model.
    fn refused(name: &'static str, request: impl Into<Vec<u8>>, code: u16) -> Case {
        Case::new(name, request)
            .answer(status(code, Body::TapError))
            .closes()
    }
    fn model(mut self, model: Model) -> Self {
        self.model = model;
        self
    }
    fn then_send(mut self, part: impl Into<Vec<u8>>) -> Self {
        self.sends.push(part.into());
        self
    }
    fn answer(mut self, answer: Expected) -> Self {
        self.answers.push(answer);
        self
    }
    fn forwards(mut self, request: Forwarded) -> Self {
        self.forwarded.push(request);
        self
    }
    fn closes(mut self) -> Self {
        self.closes = true;
        self
    }
    fn tunnel(mut self, bytes: &[u8]) -> Self {
        self.tunnel = bytes.to_vec();
        self
    }
    fn upstream_timeout(mut self, timeout: Duration) -> Self {
        self.upstream_timeout = timeout;
        self
    }
    fn max_body_bytes(mut self, max: usize) -> Self {
        self.max_body_bytes = max;
        self
    }
}

/// Bytes for a message: at most 160 of them, escaped.
fn show(bytes: &[u8]) -> String {
    let shown: String = bytes
        .iter()
        .take(160)
        .flat_map(|b| b.escape_ascii())
        .map(char::from)
        .collect();
    if bytes.len() > 160 {
        format!("{shown}… ({} bytes)", bytes.len())
    } else {
        shown
    }
}

/// Where two byte strings first differ, for a message.
fn difference(got: &[u8], want: &[u8]) -> String {
    let at = got.iter().zip(want).take_while(|(a, b)| a == b).count();
    format!(
        "{} bytes, expected {}; first difference at byte {at}: {:?}",
        got.len(),
        want.len(),
        show(&got[at.min(got.len())..])
    )
}

/// Runs one case; returns what went wrong.
async fn run_case(case: &Case) -> Vec<String> {
    let mut model = RecordingModel::start(case.model).await;
    let (tap, _observed) = crate::tap::tap_with(
        &format!("http://{}", model.address),
        case.max_body_bytes,
        case.upstream_timeout,
        drifttap::http::Limits::default(),
    )
    .await;
    let finals = case
        .answers
        .iter()
        .filter(|a| a.status >= 200 || a.status == 101)
        .count();
    let seen = exchange(tap, &case.sends, finals, case.tunnel.len(), case.closes).await;
    let mut problems = Vec::new();
    if let Err(e) = model.settle().await {
        problems.push(e);
    }
    let received = model.take();
    check_answers(case, &seen, &mut problems);
    check_forwarded(case, &received, &model.address.to_string(), &mut problems);
    problems
}

fn check_answers(case: &Case, seen: &Seen, problems: &mut Vec<String>) {
    let got: Vec<u16> = seen.answers.iter().map(|a| a.status).collect();
    let want: Vec<u16> = case.answers.iter().map(|a| a.status).collect();
    if got != want {
        problems.push(format!("the client got {got:?}, expected {want:?}"));
    }
    if seen.hung {
        problems.push(format!("the client waited {READ_WAIT:?} for more"));
    }
    if case.closes && !seen.closed {
        problems.push("the tap did not close the connection".into());
    }
    for (i, (answer, expected)) in seen.answers.iter().zip(&case.answers).enumerate() {
        match &expected.body {
            Body::Any => {}
            Body::CutShort if answer.complete => {
                problems.push(format!("answer {i} was complete, expected it broken off"));
            }
            Body::CutShort => {}
            _ if !answer.complete => problems.push(format!("answer {i} broke off")),
            Body::Is(body) if &answer.body != body => {
                problems.push(format!(
                    "answer {i} body: {}",
                    difference(&answer.body, body)
                ));
            }
            Body::Is(_) => {}
            Body::TapError => {
                let text = String::from_utf8_lossy(&answer.body);
                if !text.contains(r#""source":"drifttap tap""#) {
                    problems.push(format!("answer {i} is not the tap's own error: {text}"));
                }
            }
        }
        for (name, value) in &expected.fields {
            if !answer.fields.iter().any(|(n, v)| n == name && v == value) {
                problems.push(format!(
                    "answer {i} lacks {name}: {value} ({:?})",
                    answer.fields
                ));
            }
        }
    }
    if seen.tunnel != case.tunnel {
        problems.push(format!("tunnelled back: {:?}", show(&seen.tunnel)));
    }
}

fn check_forwarded(case: &Case, received: &[Received], model: &str, problems: &mut Vec<String>) {
    if received.len() != case.forwarded.len() {
        problems.push(format!(
            "the model received {} message(s), expected {}",
            received.len(),
            case.forwarded.len()
        ));
    }
    for (i, message) in received.iter().enumerate() {
        let recorded = match message {
            Received::Request(recorded) => recorded,
            Received::Malformed(bytes, why) => {
                problems.push(format!(
                    "the model got a malformed message {i} ({why}): {:?}",
                    show(bytes)
                ));
                continue;
            }
            Received::Partial(bytes) => {
                problems.push(format!(
                    "the model got part of a message {i}: {:?}",
                    show(bytes)
                ));
                continue;
            }
        };
        let Some(want) = case.forwarded.get(i) else {
            problems.push(format!("the model got an extra request: {}", recorded.line));
            continue;
        };
        let mut wrong = |what: String| problems.push(format!("forwarded request {i}: {what}"));
        if recorded.line != want.line {
            wrong(format!(
                "line {:?}, expected {:?}",
                recorded.line, want.line
            ));
        }
        let host = want.host.replace("{model}", model);
        if recorded.values("host") != [host.as_str()] {
            wrong(format!(
                "host {:?}, expected [{host:?}]",
                recorded.values("host")
            ));
        }
        let framing: Vec<(&str, String)> = recorded
            .fields
            .iter()
            .filter(|(n, _)| n == "content-length" || n == "transfer-encoding")
            .map(|(n, v)| (n.as_str(), v.clone()))
            .collect();
        if framing != want.framing {
            wrong(format!("framing {framing:?}, expected {:?}", want.framing));
        }
        if let (Some(want), Some(got)) = (&want.body, &recorded.body)
            && got != want
        {
            wrong(format!("body {}", difference(got, want)));
        }
        for (name, value) in &want.has {
            if !recorded.values(name).contains(value) {
                wrong(format!("lacks {name}: {value}"));
            }
        }
        for name in &want.lacks {
            if !recorded.values(name).is_empty() {
                wrong(format!("has {name}: {:?}", recorded.values(name)));
            }
        }
        if recorded.connection != want.connection {
            wrong(format!(
                "on connection {}, expected {}",
                recorded.connection, want.connection
            ));
        }
    }
}

/// Runs every case and fails once, listing every case that went wrong and how.
async fn run(cases: Vec<Case>) {
    let mut failures = Vec::new();
    for case in &cases {
        for problem in run_case(case).await {
            failures.push(format!("{}: {problem}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} problem(s) in {} case(s):\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// `POST / HTTP/1.1` with `Host: m`, then `rest` (more fields, the blank line, a body).
fn post(rest: &str) -> Vec<u8> {
    format!("POST / HTTP/1.1\r\nHost: m\r\n{rest}").into_bytes()
}

#[tokio::test]
async fn smuggling_and_bad_framing_never_reach_the_model() {
    let chunked = |body: &str| post(&format!("Transfer-Encoding: chunked\r\n\r\n{body}"));
    let te = |value: &str| post(&format!("{value}\r\n\r\n0\r\n\r\n"));
    let cl = |value: &str| post(&format!("Content-Length: {value}\r\n\r\nhello"));
    let field = |line: &str| post(&format!("{line}\r\nContent-Length: 0\r\n\r\n"));
    #[rustfmt::skip]
    let bad_requests = [
        ("cl_te: content-length then transfer-encoding", post("Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG")),
        ("te_cl: transfer-encoding then content-length", post("Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n")),
        ("te: xchunked is not chunked", te("Transfer-Encoding: xchunked")),
        ("te: chunked, identity does not end in chunked", te("Transfer-Encoding: chunked, identity")),
        ("te: two fields, chunked then identity", te("Transfer-Encoding: chunked\r\nTransfer-Encoding: identity")),
        ("te: vertical tab before the value", te("Transfer-Encoding:\x0bchunked")),
        ("te: space before the colon", te("Transfer-Encoding : chunked")),
        ("te: a line folded onto the one before", te("X-A: a\r\n Transfer-Encoding: chunked")),
        ("te: the value on a folded line", te("Transfer-Encoding:\r\n chunked")),
        ("te: in an HTTP/1.0 request", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec()),
        ("cl: plus sign", cl("+5")),
        ("cl: minus sign", cl("-5")),
        ("cl: hex", cl("0x5")),
        ("cl: space inside the number", cl("1 0")),
        ("cl: empty", post("Content-Length: \r\n\r\n")),
        ("cl: twenty digits", cl("99999999999999999999")),
        ("cl: a list of equal values", cl("5, 5")),
        ("cl: a trailing comma", cl("5,")),
        ("cl: two equal fields", cl("5\r\nContent-Length: 5")),
        ("cl: two different fields", cl("5\r\nContent-Length: 6")),
        ("head: obs-fold in a field", field("X-A: a\r\n b")),
        ("head: bare CR in a value", field("X-A: a\rb")),
        ("head: NUL in a value", field("X-A: a\0b")),
        ("head: space before a colon", field("X-A : b")),
        ("head: space in a field name", field("X A: b")),
        ("head: space in the target", b"GET /a b HTTP/1.1\r\nHost: m\r\n\r\n".to_vec()),
        ("target: a fragment", b"GET /a#b HTTP/1.1\r\nHost: m\r\n\r\n".to_vec()),
        ("target: neither origin nor absolute form", b"GET a/b HTTP/1.1\r\nHost: m\r\n\r\n".to_vec()),
        ("target: * outside OPTIONS", b"GET * HTTP/1.1\r\nHost: m\r\n\r\n".to_vec()),
        ("target: absolute form without a host", b"GET http://:80/a HTTP/1.1\r\nHost: m\r\n\r\n".to_vec()),
        ("chunk: size over 16 hex digits", chunked("10000000000000005\r\nhello\r\n0\r\n\r\n")),
        ("chunk: junk after the size (5 x)", chunked("5 x\r\nhello\r\n0\r\n\r\n")),
        ("chunk: 0x before the size", chunked("0x5\r\nhello\r\n0\r\n\r\n")),
        ("chunk: size line ends in a bare LF", chunked("5\nhello\r\n0\r\n\r\n")),
        ("chunk: control character in an extension", chunked("5;a\x01b\r\nhello\r\n0\r\n\r\n")),
        ("chunk: bare CR in an extension", chunked("5;a\rb\r\nhello\r\n0\r\n\r\n")),
        ("chunk: data longer than its size", chunked("3\r\nhello\r\n0\r\n\r\n")),
        ("chunk: control character in a trailer", chunked("5\r\nhello\r\n0\r\nx-a: \x01\r\n\r\n")),
        // Without its final CRLF, the next request would be read as the body's trailer section,
        // and a trailer line must be a field line (RFC 9112 §7.1.2).
        ("chunk: no final CRLF, a request where the trailers are", chunked("5\r\nhello\r\n0\r\nGET /smuggled HTTP/1.1\r\nHost: m\r\n\r\n")),
    ];
    let mut cases: Vec<Case> = bad_requests
        .into_iter()
        .map(|(name, request)| Case::refused(name, request, 400))
        .collect();
    let big_field = format!("X-Big: {}\r\n\r\n", "a".repeat(70 * 1024));
    cases.push(Case::refused("head: over 64 KiB", post(&big_field), 431));
    let many: String = (0..130).map(|i| format!("X-{i}: v\r\n")).collect();
    cases.push(Case::refused(
        "head: over 128 fields",
        post(&format!("{many}\r\n")),
        431,
    ));
    run(cases).await;
}

#[tokio::test]
async fn framing_and_hop_by_hop_fields_are_forwarded_as_parsed() {
    let smuggled = "GET /smuggled HTTP/1.1\r\nHost: m\r\n\r\n";
    let cases = vec![
        Case::new("connection: content-length keeps the length and the body", post(&format!("Connection: content-length\r\nContent-Length: {}\r\n\r\n{smuggled}", smuggled.len())))
            .answer(echo("POST /"))
            .forwards(forwarded("POST / HTTP/1.1").length(smuggled).lacks(&["connection"])),
        Case::new("connection: transfer-encoding keeps the coding", post("Connection: transfer-encoding\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))
            .answer(echo("POST /"))
            .forwards(forwarded("POST / HTTP/1.1").coded("chunked", "5\r\nhello\r\n0\r\n\r\n").lacks(&["connection"])),
        Case::new("connection: host keeps the host", "GET /h HTTP/1.1\r\nConnection: host\r\nHost: m\r\n\r\n")
            .answer(echo("GET /h"))
            .forwards(forwarded("GET /h HTTP/1.1").lacks(&["connection"])),
        Case::new("hop-by-hop fields and those Connection names are dropped", "GET /hop HTTP/1.1\r\nHost: m\r\nConnection: x-trace, keep-alive\r\nX-Trace: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Connection: keep-alive\r\nUpgrade: h2c\r\nX-Kept: yes\r\n\r\n")
            .answer(echo("GET /hop"))
            .forwards(forwarded("GET /hop HTTP/1.1").has("x-kept", "yes").lacks(&["connection", "x-trace", "keep-alive", "te", "proxy-connection", "upgrade"])),
        Case::new("te: tab and spaces around chunked are whitespace", post("Transfer-Encoding:\t chunked \t\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))
            .answer(echo("POST /"))
            .forwards(forwarded("POST / HTTP/1.1").coded("chunked", "5\r\nhello\r\n0\r\n\r\n")),
        Case::new("te: codings before chunked are kept", post("Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))
            .answer(echo("POST /"))
            .forwards(forwarded("POST / HTTP/1.1").coded("gzip, chunked", "5\r\nhello\r\n0\r\n\r\n")),
        Case::new("cl: whitespace around the number is trimmed", post("Content-Length: \t 5 \r\n\r\nhello"))
            .answer(echo("POST /"))
            .forwards(forwarded("POST / HTTP/1.1").length("hello")),
        Case::new("cl: leading zeros are the same length", post("Content-Length: 005\r\n\r\nhello"))
            .answer(echo("POST /"))
            .forwards(forwarded("POST / HTTP/1.1").length("hello")),
        Case::new("trailer: the Trailer field and the trailers are forwarded", post("Trailer: x-digest\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nx-digest: 1\r\n\r\n"))
            .answer(echo("POST /"))
            .forwards(forwarded("POST / HTTP/1.1").coded("chunked", "5;ext=1\r\nhello\r\n0\r\nx-digest: 1\r\n\r\n").has("trailer", "x-digest")),
        // RFC 9112 §2.2: a recipient MAY take a lone LF for a line end; the model (which
        // refuses one) sees the head re-written with CRLF.
        Case::new(
            "head: bare LF line ends are read as line ends and sent as CRLF",
            "POST / HTTP/1.1\nHost: m\nContent-Length: 5\n\nhello",
        )
        .answer(echo("POST /"))
        .forwards(forwarded("POST / HTTP/1.1").length("hello")),
        Case::new(
            "head: a bare LF ending one field is a line end",
            post("X-A: a\nContent-Length: 5\r\n\r\nhello"),
        )
        .answer(echo("POST /"))
        .forwards(
            forwarded("POST / HTTP/1.1")
                .length("hello")
                .has("x-a", "a"),
        ),
    ];
    run(cases).await;
}

#[tokio::test]
async fn host_is_required_once_valid_and_taken_from_an_absolute_target() {
    let cases = vec![
        Case::refused("host: missing in HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", 400),
        Case::new(
            "host: missing in HTTP/1.0 becomes the model's",
            "GET /old HTTP/1.0\r\n\r\n",
        )
        .answer(echo("GET /old"))
        .closes()
        .forwards(forwarded("GET /old HTTP/1.0").host("{model}")),
        Case::refused(
            "host: two different",
            "GET / HTTP/1.1\r\nHost: m\r\nHost: n\r\n\r\n",
            400,
        ),
        Case::refused(
            "host: two equal",
            "GET / HTTP/1.1\r\nHost: m\r\nHost: m\r\n\r\n",
            400,
        ),
        Case::refused(
            "host: a space inside",
            "GET / HTTP/1.1\r\nHost: m x\r\n\r\n",
            400,
        ),
        Case::refused(
            "host: user info",
            "GET / HTTP/1.1\r\nHost: u@m\r\n\r\n",
            400,
        ),
        Case::refused("host: a path", "GET / HTTP/1.1\r\nHost: m/p\r\n\r\n", 400),
        Case::refused(
            "host: a port that is not digits",
            "GET / HTTP/1.1\r\nHost: m:8o\r\n\r\n",
            400,
        ),
        Case::new(
            "host: an IPv6 literal with a port",
            "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
        )
        .answer(echo("GET /"))
        .forwards(forwarded("GET / HTTP/1.1").host("[::1]:8080")),
        Case::new(
            "absolute form: its authority replaces a different host",
            "GET http://other.example:8080/p?q=1 HTTP/1.1\r\nHost: m\r\n\r\n",
        )
        .answer(echo("GET /p?q=1"))
        .forwards(forwarded("GET /p?q=1 HTTP/1.1").host("other.example:8080")),
        // RFC 9112 §3.2: a server MUST answer 400 to any HTTP/1.1 request without a Host field.
        Case::refused(
            "absolute form: still needs a host in HTTP/1.1",
            "GET http://other.example/p HTTP/1.1\r\n\r\n",
            400,
        ),
    ];
    run(cases).await;
}

#[tokio::test]
async fn messages_keep_their_meaning_through_the_tap() {
    let cases = vec![
        Case::new("pipelined: three requests in one write, answered in order", "GET /a HTTP/1.1\r\nHost: m\r\n\r\nPOST /b HTTP/1.1\r\nHost: m\r\nContent-Length: 2\r\n\r\n{}GET /c HTTP/1.1\r\nHost: m\r\n\r\n")
            .answer(echo("GET /a"))
            .answer(echo("POST /b"))
            .answer(echo("GET /c"))
            .forwards(forwarded("GET /a HTTP/1.1"))
            .forwards(forwarded("POST /b HTTP/1.1").length("{}"))
            .forwards(forwarded("GET /c HTTP/1.1")),
        Case::new("http/1.0: goes on as HTTP/1.0 and the connection closes", "POST /old HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}")
            .answer(echo("POST /old").with("connection", "close"))
            .closes()
            .forwards(forwarded("POST /old HTTP/1.0").host("{model}").length("{}")),
        Case::new("http/1.0: keep-alive is not forwarded and the connection closes", "GET /old HTTP/1.0\r\nHost: m\r\nConnection: keep-alive\r\n\r\n")
            .answer(echo("GET /old").with("connection", "close"))
            .closes()
            .forwards(forwarded("GET /old HTTP/1.0").lacks(&["connection"])),
        Case::new("expect: 100-continue is answered by the tap, the body follows", post("Expect: 100-continue\r\nContent-Length: 5\r\n\r\n"))
            .then_send("hello")
            .answer(status(100, Body::Any))
            .answer(echo("POST /"))
            .forwards(forwarded("POST / HTTP/1.1").length("hello").lacks(&["expect"])),
        Case::refused("expect: anything else is a 417", post("Expect: x-fast\r\nContent-Length: 5\r\n\r\nhello"), 417),
        Case::refused("connect: a 405", "CONNECT m:443 HTTP/1.1\r\nHost: m:443\r\n\r\n", 405),
        Case::new("method: lower-case get goes on as it is", "get /x HTTP/1.1\r\nHost: m\r\n\r\n")
            .answer(echo("get /x"))
            .forwards(forwarded("get /x HTTP/1.1")),
        Case::new("method: lower-case head is not HEAD, its answer has a body", "head /x HTTP/1.1\r\nHost: m\r\n\r\nGET /y HTTP/1.1\r\nHost: m\r\n\r\n")
            .answer(echo("head /x"))
            .answer(echo("GET /y"))
            .forwards(forwarded("head /x HTTP/1.1"))
            .forwards(forwarded("GET /y HTTP/1.1")),
        Case::new("target: asterisk form for OPTIONS", "OPTIONS * HTTP/1.1\r\nHost: m\r\n\r\n")
            .answer(echo("OPTIONS *"))
            .forwards(forwarded("OPTIONS * HTTP/1.1")),
        Case::new("target: percent-encoding and dot segments are not touched", "GET /a%2Fb/../c?x=1%202&y= HTTP/1.1\r\nHost: m\r\n\r\n")
            .answer(echo("GET /a%2Fb/../c?x=1%202&y="))
            .forwards(forwarded("GET /a%2Fb/../c?x=1%202&y= HTTP/1.1")),
        Case::new("upgrade: the 101 is passed on and bytes are tunnelled both ways", "GET /chat HTTP/1.1\r\nHost: m\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n")
            .model(Model::SwitchesAndEchoes)
            .then_send("ping")
            .answer(status(101, Body::Any).with("upgrade", "echo").with("connection", "upgrade"))
            .tunnel(b"ping")
            .forwards(forwarded("GET /chat HTTP/1.1").has("upgrade", "echo").has("connection", "upgrade")),
    ];
    run(cases).await;
}

#[tokio::test]
async fn model_faults_reach_the_client_as_rfc_9110_says() {
    let post_one = "POST /p HTTP/1.1\r\nHost: m\r\nContent-Length: 2\r\n\r\n{}";
    let get_one = "GET /g HTTP/1.1\r\nHost: m\r\n\r\n";
    let mut large =
        format!("POST /big HTTP/1.1\r\nHost: m\r\nContent-Length: {LARGE}\r\n\r\n").into_bytes();
    large.resize(large.len() + LARGE, b'x');
    let cases = vec![
        // RFC 9110 §9.2.2: the model may have acted on it.
        Case::new(
            "drop: a POST the model read and dropped is a 502, sent once",
            post_one.repeat(2),
        )
        .model(Model::DropsSecond)
        .answer(echo("POST /p"))
        .answer(status(502, Body::TapError))
        .closes()
        .forwards(forwarded("POST /p HTTP/1.1").length("{}"))
        .forwards(forwarded("POST /p HTTP/1.1").length("{}")),
        Case::new(
            "drop: a GET the model dropped is sent once more, on a new connection",
            get_one.repeat(2),
        )
        .model(Model::DropsSecond)
        .answer(echo("GET /g"))
        .answer(echo("GET /g"))
        .forwards(forwarded("GET /g HTTP/1.1"))
        .forwards(forwarded("GET /g HTTP/1.1"))
        .forwards(forwarded("GET /g HTTP/1.1").on_connection(1)),
        Case::new(
            "early answer: a 413 before the body is read reaches the client",
            large,
        )
        .model(Model::RefusesEarly)
        .answer(status(413, Body::Is(b"too large".to_vec())))
        .closes()
        .forwards(forwarded("POST /big HTTP/1.1").unread_length(LARGE)),
        Case::new("invalid answer: a head that is not HTTP is a 502", get_one)
            .model(Model::InvalidHead)
            .answer(status(502, Body::TapError))
            .closes()
            .forwards(forwarded("GET /g HTTP/1.1")),
        Case::new(
            "slow model: no answer within upstream_timeout is a 504",
            get_one,
        )
        .model(Model::Silent)
        .upstream_timeout(Duration::from_millis(200))
        .answer(status(504, Body::TapError))
        .closes()
        .forwards(forwarded("GET /g HTTP/1.1")),
        Case::new("chunked answer: passed on coded, with its trailer", get_one)
            .model(Model::AnswersChunked)
            .answer(
                status(200, Body::Is(CHUNKED_ANSWER_BODY.to_vec()))
                    .with("transfer-encoding", "chunked")
                    .with("trailer", "x-sum"),
            )
            .forwards(forwarded("GET /g HTTP/1.1")),
        Case::new(
            "broken answer: a chunked body cut short closes the client connection",
            get_one,
        )
        .model(Model::BreaksChunked)
        .answer(status(200, Body::CutShort))
        .closes()
        .forwards(forwarded("GET /g HTTP/1.1")),
    ];
    run(cases).await;
}

/// `len` bytes that are not a repeating pattern (a 64-bit LCG), so that a lost, repeated or
/// moved block shows.
fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 56) as u8
        })
        .collect()
}

#[tokio::test]
async fn large_bodies_are_forwarded_byte_identical() {
    let data = noise(LARGE);
    // Chunks of varied sizes, one with an extension, and a trailer.
    let mut coded = Vec::with_capacity(LARGE + 4096);
    let mut at = 0;
    for size in [1usize, 4095, 65_536, 1_000_003].iter().cycle() {
        let take = (*size).min(LARGE - at);
        if take == 0 {
            break;
        }
        coded.extend_from_slice(format!("{take:x}").as_bytes());
        if *size == 1 {
            coded.extend_from_slice(b";n=1");
        }
        coded.extend_from_slice(b"\r\n");
        coded.extend_from_slice(&data[at..at + take]);
        coded.extend_from_slice(b"\r\n");
        at += take;
    }
    coded.extend_from_slice(b"0\r\nx-digest: noise\r\n\r\n");
    let head =
        |framing: &str| format!("POST /big HTTP/1.1\r\nHost: m\r\n{framing}\r\n\r\n").into_bytes();
    let sized = [head(&format!("Content-Length: {LARGE}")), data.clone()].concat();
    let cases = vec![
        Case::new(
            "large: 5 MB chunked, streamed",
            [head("Transfer-Encoding: chunked"), coded.clone()].concat(),
        )
        .answer(echo("POST /big"))
        .forwards(forwarded("POST /big HTTP/1.1").coded("chunked", coded)),
        Case::new(
            "large: 5 MB content-length, over max_body_bytes: streamed",
            sized.clone(),
        )
        .answer(echo("POST /big"))
        .forwards(forwarded("POST /big HTTP/1.1").length(data.clone())),
        Case::new(
            "large: 5 MB content-length, under max_body_bytes: read whole",
            sized,
        )
        .max_body_bytes(8 << 20)
        .answer(echo("POST /big"))
        .forwards(forwarded("POST /big HTTP/1.1").length(data)),
    ];
    run(cases).await;
}
