#!/usr/bin/env python3
"""The tap and nginx on the same raw requests: what each answered and what reached the model.

    python3 benches/peers/conformance.py [--no-build] [--json results.json] [--keep-temp]

Standard library only (Python 3.11); needs nginx (the Debian package) and cargo to build
drifttap, both as `proxy.py` uses them (its process handling, nginx configuration and
`drifttap serve` start-up are reused). Everything listens on 127.0.0.1 on ports picked here.

A recording upstream (raw sockets, a strict parser of its own) stands behind both proxies:
nginx as a reverse proxy (`proxy_http_version 1.1`, `proxy_set_header Connection ""`, a
keep-alive upstream block) and the tap of `drifttap serve` on the bundled credit baseline.
Every case is sent byte for byte to each, and the table says what the client got (status
codes, in order) and what the upstream received (how many requests, or a partial or
malformed message), with a note where the two differ for a reason. The cases are those of
tests/it/conformance.rs; the upstream's answer depends on the target's path (`/drop`,
`/early`, `/invalid`, `/chunked`, `/break`, `/chat`), so that nginx's shared keep-alive pool
meets the same faults as the tap's connection per client.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import proxy  # noqa: E402  (the sibling benchmark: processes, nginx, the tap)

# How long the client waits for the next byte before it takes the exchange as over.
READ_WAIT = 2.0
# After the client has closed, how long the upstream may take to record what it got.
SETTLE = 0.1

# Why the tap and nginx differ, case by case: both refuse, the tap is stricter or closer to
# RFC 9110/9112, or (marked "tap wrong") the tap is.
NOTES = {
    "te: xchunked is not chunked":
        "both refuse: nginx 501 (unknown coding), the tap 400 (chunked not last, RFC 9112 §6.3)",
    "te: chunked, identity does not end in chunked":
        "both refuse: nginx 501 (unknown coding), the tap 400 (chunked not last, RFC 9112 §6.3)",
    "te: vertical tab before the value": "both refuse: nginx keeps the VT in the value, then 501",
    "chunk: junk after the size (5 x)":
        "nginx ignores what follows the size; the tap refuses (RFC 9112 §7.1)",
    "chunk: size line ends in a bare LF":
        "nginx takes a lone LF in chunked lines; the tap refuses (RFC 9112 §7.1: CRLF)",
    "chunk: control character in an extension":
        "nginx skips extensions unread; the tap refuses controls (RFC 9112 §7.1.1)",
    "chunk: control character in a trailer":
        "nginx skips trailers unread; the tap refuses controls (RFC 9112 §7.1.2)",
    "chunk: no final CRLF, a request where the trailers are":
        "nginx drops the request as a trailer; a trailer line is a field line (RFC 9112 §7.1.2): "
        "the tap refuses",
    "head: over 64 KiB": "both refuse: nginx 400 past its 8 KiB header buffers, the tap 431",
    "head: over 128 fields": "the tap takes at most 128 fields (431); nginx counts none",
    "te: tab and spaces around chunked are whitespace":
        "nginx keeps a tab beside the value (501); OWS is SP or HTAB (RFC 9110 §5.6.3)",
    "te: codings before chunked are kept":
        "nginx: 501 for any coding but chunked; a proxy forwards the codings (RFC 9112 §6.1)",
    "cl: whitespace around the number is trimmed":
        "nginx keeps a tab beside the value (400); OWS is SP or HTAB (RFC 9110 §5.6.3)",
    "host: user info":
        "nginx forwards it; Host is uri-host [\":\" port] (RFC 9110 §7.2): the tap refuses",
    "host: a port that is not digits":
        "nginx forwards it; Host is uri-host [\":\" port] (RFC 9110 §7.2): the tap refuses",
    "expect: anything else is a 417":
        "nginx ignores an unknown expectation; RFC 9110 §10.1.1 allows the tap's 417",
    "connect: a 405": "both refuse: nginx 400, the tap 405 (it tunnels nowhere)",
    "method: lower-case get goes on as it is":
        "nginx refuses lower-case methods; methods are case-sensitive tokens (RFC 9110 §9.1)",
    "method: lower-case head is not HEAD, its answer has a body":
        "nginx refuses lower-case methods; methods are case-sensitive tokens (RFC 9110 §9.1)",
    "target: asterisk form for OPTIONS":
        "nginx refuses `*`; the asterisk form is OPTIONS's (RFC 9112 §3.2.4)",
    "invalid answer: a head that is not HTTP is a 502":
        "nginx passes a head that is not HTTP/1.x on as an HTTP/0.9 answer (200); the tap 502",
    "upgrade: the 101 is passed on and bytes are tunnelled both ways":
        "nginx passes an upgrade only when configured to set Upgrade and Connection",
    "head: bare LF line ends are read as line ends and sent as CRLF":
        "RFC 9112 §2.2 MAY; both forward with CRLF",
    "drop: a GET the model dropped is sent once more":
        "both send it once more on a new connection (RFC 9110 §9.2.2), then answer 502",
}


def post(rest: str) -> bytes:
    return f"POST / HTTP/1.1\r\nHost: m\r\n{rest}".encode("latin-1")


@dataclass
class Case:
    name: str
    parts: list[bytes]
    # Final answers to wait for (one per request sent), unless the proxy closes first.
    finals: int = 1
    # Tunnelled bytes to wait for after a 101.
    tunnel: int = 0


def cases() -> list[Case]:
    chunked = "Transfer-Encoding: chunked\r\n\r\n"
    smuggled = "GET /smuggled HTTP/1.1\r\nHost: m\r\n\r\n"
    one = "5\r\nhello\r\n0\r\n\r\n"
    many = "".join(f"X-{i}: v\r\n" for i in range(130))
    get = "GET /g HTTP/1.1\r\nHost: m\r\n\r\n"
    early = (f"POST /early HTTP/1.1\r\nHost: m\r\nContent-Length: {512 * 1024}\r\n\r\n"
             .encode() + b"x" * (512 * 1024))
    table = [
        # Smuggling and bad framing: refused before the model.
        ("cl_te: content-length then transfer-encoding",
         post("Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG")),
        ("te_cl: transfer-encoding then content-length",
         post("Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
              "8\r\nSMUGGLED\r\n0\r\n\r\n")),
        ("te: xchunked is not chunked", post("Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n")),
        ("te: chunked, identity does not end in chunked",
         post("Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n")),
        ("te: two fields, chunked then identity",
         post("Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n")),
        ("te: vertical tab before the value",
         post("Transfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n")),
        ("te: space before the colon", post("Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n")),
        ("te: a line folded onto the one before",
         post("X-A: a\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")),
        ("te: the value on a folded line",
         post("Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n")),
        ("te: in an HTTP/1.0 request",
         b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ("cl: plus sign", post("Content-Length: +5\r\n\r\nhello")),
        ("cl: minus sign", post("Content-Length: -5\r\n\r\nhello")),
        ("cl: hex", post("Content-Length: 0x5\r\n\r\nhello")),
        ("cl: space inside the number", post("Content-Length: 1 0\r\n\r\nhellohello")),
        ("cl: empty", post("Content-Length: \r\n\r\n")),
        ("cl: twenty digits", post("Content-Length: 99999999999999999999\r\n\r\nhello")),
        ("cl: a list of equal values", post("Content-Length: 5, 5\r\n\r\nhello")),
        ("cl: a trailing comma", post("Content-Length: 5,\r\n\r\nhello")),
        ("cl: two equal fields", post("Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello")),
        ("cl: two different fields", post("Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")),
        ("head: obs-fold in a field", post("X-A: a\r\n b\r\nContent-Length: 0\r\n\r\n")),
        ("head: bare CR in a value", post("X-A: a\rb\r\nContent-Length: 0\r\n\r\n")),
        ("head: NUL in a value", post("X-A: a\0b\r\nContent-Length: 0\r\n\r\n")),
        ("head: space before a colon", post("X-A : b\r\nContent-Length: 0\r\n\r\n")),
        ("head: space in a field name", post("X A: b\r\nContent-Length: 0\r\n\r\n")),
        ("head: space in the target", b"GET /a b HTTP/1.1\r\nHost: m\r\n\r\n"),
        ("chunk: size over 16 hex digits",
         post(f"{chunked}10000000000000005\r\nhello\r\n0\r\n\r\n")),
        ("chunk: junk after the size (5 x)", post(f"{chunked}5 x\r\nhello\r\n0\r\n\r\n")),
        ("chunk: 0x before the size", post(f"{chunked}0x5\r\nhello\r\n0\r\n\r\n")),
        ("chunk: size line ends in a bare LF", post(f"{chunked}5\nhello\r\n0\r\n\r\n")),
        ("chunk: control character in an extension",
         post(f"{chunked}5;a\x01b\r\nhello\r\n0\r\n\r\n")),
        ("chunk: bare CR in an extension", post(f"{chunked}5;a\rb\r\nhello\r\n0\r\n\r\n")),
        ("chunk: data longer than its size", post(f"{chunked}3\r\nhello\r\n0\r\n\r\n")),
        ("chunk: control character in a trailer",
         post(f"{chunked}5\r\nhello\r\n0\r\nx-a: \x01\r\n\r\n")),
        ("chunk: no final CRLF, a request where the trailers are",
         post(f"{chunked}5\r\nhello\r\n0\r\n{smuggled}")),
        ("head: over 64 KiB", post(f"X-Big: {'a' * 70 * 1024}\r\n\r\n")),
        ("head: over 128 fields", post(f"{many}\r\n")),
        # Framing and hop-by-hop fields, forwarded as parsed.
        ("connection: content-length keeps the length and the body",
         post(f"Connection: content-length\r\nContent-Length: {len(smuggled)}\r\n\r\n{smuggled}")),
        ("connection: transfer-encoding keeps the coding",
         post(f"Connection: transfer-encoding\r\n{chunked}{one}")),
        ("connection: host keeps the host",
         b"GET /h HTTP/1.1\r\nConnection: host\r\nHost: m\r\n\r\n"),
        ("hop-by-hop fields and those Connection names are dropped",
         b"GET /hop HTTP/1.1\r\nHost: m\r\nConnection: x-trace, keep-alive\r\nX-Trace: 1\r\n"
         b"Keep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Connection: keep-alive\r\n"
         b"Upgrade: h2c\r\n"
         b"X-Kept: yes\r\n\r\n"),
        ("te: tab and spaces around chunked are whitespace",
         post(f"Transfer-Encoding:\t chunked \t\r\n\r\n{one}")),
        ("te: codings before chunked are kept",
         post(f"Transfer-Encoding: gzip, chunked\r\n\r\n{one}")),
        ("cl: whitespace around the number is trimmed",
         post("Content-Length: \t 5 \r\n\r\nhello")),
        ("cl: leading zeros are the same length", post("Content-Length: 005\r\n\r\nhello")),
        ("trailer: the Trailer field and the trailers are forwarded",
         post(f"Trailer: x-digest\r\n{chunked}5;ext=1\r\nhello\r\n0\r\nx-digest: 1\r\n\r\n")),
        ("head: bare LF line ends are read as line ends and sent as CRLF",
         b"POST / HTTP/1.1\nHost: m\nContent-Length: 5\n\nhello"),
        ("head: a bare LF ending one field is a line end",
         post("X-A: a\nContent-Length: 5\r\n\r\nhello")),
        # Host.
        ("host: missing in HTTP/1.1", b"GET / HTTP/1.1\r\n\r\n"),
        ("host: missing in HTTP/1.0 becomes the model's", b"GET /old HTTP/1.0\r\n\r\n"),
        ("host: two different", b"GET / HTTP/1.1\r\nHost: m\r\nHost: n\r\n\r\n"),
        ("host: two equal", b"GET / HTTP/1.1\r\nHost: m\r\nHost: m\r\n\r\n"),
        ("host: a space inside", b"GET / HTTP/1.1\r\nHost: m x\r\n\r\n"),
        ("host: user info", b"GET / HTTP/1.1\r\nHost: u@m\r\n\r\n"),
        ("host: a path", b"GET / HTTP/1.1\r\nHost: m/p\r\n\r\n"),
        ("host: a port that is not digits", b"GET / HTTP/1.1\r\nHost: m:8o\r\n\r\n"),
        ("host: an IPv6 literal with a port", b"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"),
        ("absolute form: its authority replaces a different host",
         b"GET http://other.example:8080/p?q=1 HTTP/1.1\r\nHost: m\r\n\r\n"),
        ("absolute form: still needs a host in HTTP/1.1",
         b"GET http://other.example/p HTTP/1.1\r\n\r\n"),
        # Meaning.
        ("http/1.0: goes on as HTTP/1.0 and the connection closes",
         b"POST /old HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}"),
        ("http/1.0: keep-alive is not forwarded and the connection closes",
         b"GET /old HTTP/1.0\r\nHost: m\r\nConnection: keep-alive\r\n\r\n"),
        ("expect: anything else is a 417",
         post("Expect: x-fast\r\nContent-Length: 5\r\n\r\nhello")),
        ("connect: a 405", b"CONNECT m:443 HTTP/1.1\r\nHost: m:443\r\n\r\n"),
        ("method: lower-case get goes on as it is", b"get /x HTTP/1.1\r\nHost: m\r\n\r\n"),
        ("target: asterisk form for OPTIONS", b"OPTIONS * HTTP/1.1\r\nHost: m\r\n\r\n"),
        ("target: percent-encoding and dot segments are not touched",
         b"GET /a%2Fb/../c?x=1%202&y= HTTP/1.1\r\nHost: m\r\n\r\n"),
        # Model faults.
        ("invalid answer: a head that is not HTTP is a 502",
         b"GET /invalid HTTP/1.1\r\nHost: m\r\n\r\n"),
        ("chunked answer: passed on coded, with its trailer",
         b"GET /chunked HTTP/1.1\r\nHost: m\r\n\r\n"),
        ("broken answer: a chunked body cut short closes the client connection",
         b"GET /break HTTP/1.1\r\nHost: m\r\n\r\n"),
        ("early answer: a 413 before the body is read reaches the client", early),
    ]
    out = [Case(name, [raw if isinstance(raw, bytes) else raw.encode()]) for name, raw in table]
    out += [
        Case("pipelined: three requests in one write, answered in order",
             [b"GET /a HTTP/1.1\r\nHost: m\r\n\r\nPOST /b HTTP/1.1\r\nHost: m\r\n"
              b"Content-Length: 2\r\n\r\n{}GET /c HTTP/1.1\r\nHost: m\r\n\r\n"], finals=3),
        Case("method: lower-case head is not HEAD, its answer has a body",
             [b"head /x HTTP/1.1\r\nHost: m\r\n\r\n" + get.encode()], finals=2),
        Case("expect: 100-continue is answered by the tap, the body follows",
             [post("Expect: 100-continue\r\nContent-Length: 5\r\n\r\n"), b"hello"]),
        Case("upgrade: the 101 is passed on and bytes are tunnelled both ways",
             [b"GET /chat HTTP/1.1\r\nHost: m\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n",
              b"ping"], tunnel=4),
        Case("drop: a POST the model read and dropped is a 502, sent once",
             [b"POST /warm HTTP/1.1\r\nHost: m\r\nContent-Length: 2\r\n\r\n{}"
              b"POST /drop HTTP/1.1\r\nHost: m\r\nContent-Length: 2\r\n\r\n{}"], finals=2),
        Case("drop: a GET the model dropped is sent once more",
             [b"GET /warm HTTP/1.1\r\nHost: m\r\n\r\nGET /drop HTTP/1.1\r\nHost: m\r\n\r\n"],
             finals=2),
    ]
    return out


# --------------------------------------------------------------------------------------------
# The recording upstream.

CHUNKED_ANSWER = (b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n"
                  b"trailer: x-sum\r\n\r\n5\r\nhello\r\n0\r\nx-sum: 5\r\n\r\n")


HEX = b"0123456789abcdefABCDEF"


class Malformed(Exception):
    pass


def line_end(buf: bytes, at: int) -> int | None:
    """Where the CRLF of the line starting at `at` is; a lone LF is malformed."""
    lf = buf.find(b"\n", at)
    if lf < 0:
        return None
    if lf == at or buf[lf - 1] != 0x0D:
        raise Malformed("a line ends in a bare LF")
    return lf - 1


def chunked_len(buf: bytes) -> int | None:
    """The length of the chunked body at the start of `buf` once it is all there (RFC 9112 §7.1
    to the letter: CRLF, hex sizes, data then CRLF, trailer lines that are fields)."""
    at = 0
    while True:
        end = line_end(buf, at)
        if end is None:
            return None
        digits = buf[at:end].split(b";")[0]
        if not digits or len(digits) > 16 or any(c not in HEX for c in digits):
            raise Malformed(f"chunk size line {buf[at:end]!r}")
        size = int(digits, 16)
        at = end + 2
        if size == 0:
            while True:
                end = line_end(buf, at)
                if end is None:
                    return None
                line, at = buf[at:end], end + 2
                if not line:
                    return at
                name = line.split(b":")[0]
                if name == line or not name or b" " in name:
                    raise Malformed(f"trailer line {line!r}")
        if len(buf) < at + size + 2:
            return None
        if buf[at + size:at + size + 2] != b"\r\n":
            raise Malformed("chunk data not followed by CRLF")
        at += size + 2


def parse_head(buf: bytes):
    """(head length, request line, fields) once the head is there; strict like an origin server
    that refuses what two parsers could read differently."""
    end = buf.find(b"\r\n\r\n")
    lone = buf.find(b"\n")
    if lone >= 0 and (lone == 0 or buf[lone - 1] != 0x0D) and (end < 0 or lone < end):
        raise Malformed("a line of the head ends in a bare LF")
    if end < 0:
        return None
    lines = buf[:end].split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
        raise Malformed(f"request line {lines[0]!r}")
    fields = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or any(c in b" \t\r\0" for c in name) or b"\r" in value:
            raise Malformed(f"field line {line!r}")
        fields.append((name.decode("latin-1").lower(), value.strip(b" \t").decode("latin-1")))
    return end + 4, lines[0].decode("latin-1"), fields


def body_len(rest: bytes, codings: str, lengths: list[str]) -> int | None:
    """The length of the body at the start of `rest`, once it is all there."""
    if codings:
        return chunked_len(rest)
    if not lengths:
        return 0
    want = int(lengths[0])
    return want if len(rest) >= want else None


class Upstream:
    """The model behind both proxies; its answer depends on the target's path."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[dict] = []
        upstream = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                upstream.serve(self.request)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def record(self, kind: str, **what) -> None:
        with self.lock:
            self.received.append({"kind": kind, **what})

    def partial(self, buf: bytes) -> None:
        self.record("partial", bytes=len(buf), start=buf[:80].decode("latin-1"))

    def take(self) -> list[dict]:
        with self.lock:
            out, self.received = self.received, []
        return out

    def serve(self, sock: socket.socket) -> None:
        buf = b""

        def fill() -> bool:
            nonlocal buf
            try:
                data = sock.recv(65536)
            except OSError:
                return False
            buf += data
            return bool(data)

        try:
            while True:
                while (head := parse_head(buf)) is None:
                    if not fill():
                        if buf:
                            self.partial(buf)
                        return
                head_len, line, fields = head
                path = line.split(" ")[1]
                values = lambda n: [v for k, v in fields if k == n]  # noqa: E731
                codings, lengths = ",".join(values("transfer-encoding")), values("content-length")
                if codings and (lengths or codings.split(",")[-1].strip().lower() != "chunked"):
                    raise Malformed(f"framing: te {codings!r}, lengths {lengths}")
                if len(lengths) > 1 or (lengths and not lengths[0].isdigit()):
                    raise Malformed(f"content-length {lengths}")
                if path == "/early":
                    self.record("request", line=line, fields=fields, body_bytes=None)
                    sock.sendall(b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 9\r\n"
                                 b"connection: close\r\n\r\ntoo large")
                    return
                while (n := body_len(buf[head_len:], codings, lengths)) is None:
                    if not fill():
                        self.partial(buf)
                        return
                self.record("request", line=line, fields=fields, body_bytes=n)
                buf = buf[head_len + n:]
                if path == "/drop":
                    return
                if path == "/invalid":
                    sock.sendall(b"HTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                    return
                if path == "/break":
                    sock.sendall(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhel")
                    return
                if path == "/chunked":
                    sock.sendall(CHUNKED_ANSWER)
                    continue
                if path == "/chat" and values("upgrade"):
                    sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nupgrade: echo\r\n"
                                 b"connection: upgrade\r\n\r\n" + buf)
                    while data := sock.recv(65536):
                        sock.sendall(data)
                    return
                body = proxy.RESPONSE.encode()
                sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                             b"content-length: %d\r\n\r\n%s" % (len(body), body))
        except Malformed as e:
            self.record("malformed", why=str(e), start=buf[:80].decode("latin-1"))
        except OSError:
            pass


# --------------------------------------------------------------------------------------------
# The client.

def parse_answers(buf: bytes, ended: bool) -> tuple[list[dict], bytes]:
    """The answers in `buf` (status, whether complete) and the bytes after a 101."""
    answers, at = [], 0
    while True:
        end = buf.find(b"\r\n\r\n", at)
        if end < 0:
            return answers, b""
        lines = buf[at:end].split(b"\r\n")
        try:
            status = int(lines[0].split(b" ")[1])
        except (IndexError, ValueError):
            return answers, b""
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            fields[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        at = end + 4
        rest = buf[at:]
        complete = True
        if 100 <= status < 200 or status in (204, 304):
            n = 0
        elif "transfer-encoding" in fields:
            try:
                n = chunked_len(rest)
            except Malformed:
                n = None
            if n is None:
                n, complete = len(rest), False
        elif "content-length" in fields:
            want = int(fields["content-length"])
            n, complete = min(want, len(rest)), len(rest) >= want
        else:
            n, complete = len(rest), ended
        answers.append({"status": status, "complete": complete})
        at += n
        if status == 101:
            return answers, buf[at:]


def exchange(port: int, case: Case) -> dict:
    """Sends the case's parts, each after an answer to the one before, and reads until its
    final answers are complete, the proxy closes, or nothing comes for READ_WAIT."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(READ_WAIT)
    buf, closed, hung, sent = b"", False, False, 0

    def send_next() -> None:
        nonlocal sent
        part = case.parts[sent]
        sent += 1
        # A large body is sent beside the reads, so that a proxy that stops taking it can
        # still be heard.
        threading.Thread(target=lambda: _send(sock, part), daemon=True).start()

    send_next()
    while True:
        answers, tunnel = parse_answers(buf, closed)
        if sent < len(case.parts) and len(answers) >= sent:
            send_next()
        finals = sum(1 for a in answers if (a["status"] >= 200 or a["status"] == 101)
                     and a["complete"])
        if sent == len(case.parts) and finals >= case.finals and len(tunnel) >= case.tunnel:
            break
        try:
            data = sock.recv(65536)
        except socket.timeout:
            hung = True
            break
        except OSError:
            data = b""
        if not data:
            closed = True
            break
        buf += data
    sock.close()
    answers, tunnel = parse_answers(buf, closed)
    return {"statuses": [a["status"] for a in answers],
            "complete": all(a["complete"] for a in answers), "closed": closed, "hung": hung,
            "tunnel": tunnel.decode("latin-1")}


def _send(sock: socket.socket, part: bytes) -> None:
    try:
        sock.sendall(part)
    except OSError:
        pass


@dataclass
class Outcome:
    statuses: list[int]
    forwarded: list[dict]
    client: dict = field(default_factory=dict)

    def cell(self) -> str:
        status = " ".join(map(str, self.statuses)) or "none"
        if self.client.get("statuses") and not self.client.get("complete"):
            status += " (cut)"
        if self.client.get("hung"):
            status += " (waited)"
        requests = sum(1 for f in self.forwarded if f["kind"] == "request")
        others = [f["kind"] for f in self.forwarded if f["kind"] != "request"]
        fwd = f"fwd {requests}" if requests else "not fwd"
        return f"{status} / {fwd}" + "".join(f" + {k}" for k in others)

    def key(self):
        return (self.statuses, [f["kind"] for f in self.forwarded],
                sum(1 for f in self.forwarded if f["kind"] == "request"))


def run(port: int, upstream: Upstream, case: Case) -> Outcome:
    upstream.take()
    client = exchange(port, case)
    time.sleep(SETTLE)
    return Outcome(client["statuses"], upstream.take(), client)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--no-build", action="store_true", help="use the binary already built")
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    ap.add_argument("--keep-temp", action="store_true", help="keep the temp dir (configs, logs)")
    ap.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    args = ap.parse_args()
    if not Path(args.nginx).exists():
        sys.exit(f"{args.nginx} not found (apt-get install -y --no-install-recommends nginx)")
    unknown = set(NOTES) - {c.name for c in cases()}
    if unknown:
        sys.exit(f"notes for no case: {sorted(unknown)}")
    binary = proxy.build(args)
    tmp = Path(tempfile.mkdtemp(prefix="drifttap-conformance-"))
    children = proxy.Children()
    ok = False
    started = time.monotonic()
    try:
        upstream = Upstream()
        nginx_port = proxy.free_port()
        conf = proxy.nginx_conf(tmp, "nginx-proxy", "1",
                                proxy.proxy_http(nginx_port, upstream.port, 64))
        proxy.start_nginx(children, args.nginx, conf, "nginx proxy", nginx_port, None)
        tap = proxy.start_tap(children, binary, tmp, upstream.port, None, "5s", "conformance")
        nginx_version = subprocess.run([args.nginx, "-v"], capture_output=True,
                                       text=True).stderr.strip()
        results = []
        for case in cases():
            n = run(nginx_port, upstream, case)
            t = run(tap.tap_port, upstream, case)
            results.append((case, n, t))
        report(results, nginx_version, time.monotonic() - started)
        if args.json:
            Path(args.json).write_text(json.dumps([
                {"case": c.name, "nginx": asdict(n), "tap": asdict(t),
                 "same": n.key() == t.key(), "note": NOTES.get(c.name, "")}
                for c, n, t in results], indent=1))
        ok = True
    finally:
        children.stop_all()
        if ok and not args.keep_temp:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            proxy.log(f"temp dir kept: {tmp}")
    return 0


def report(results, nginx_version: str, seconds: float) -> None:
    proxy.log(f"\n{nginx_version}; the tap of drifttap serve; {len(results)} cases in "
              f"{seconds:.1f} s\n")
    proxy.log("| case | nginx (status / forwarded) | tap (status / forwarded) | same | note |")
    proxy.log("|---|---|---|---|---|")
    same = 0
    for case, n, t in results:
        alike = n.key() == t.key()
        same += alike
        proxy.log(f"| {case.name} | {n.cell()} | {t.cell()} | {'same' if alike else 'different'} "
                  f"| {NOTES.get(case.name, '')} |")
    proxy.log(f"\n{same} of {len(results)} cases alike, {len(results) - same} different")


if __name__ == "__main__":
    sys.exit(main())
