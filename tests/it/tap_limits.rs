//! The tap's limits with short configured values: a client that is slow to send its head,
//! idles between requests or stalls inside a body is closed; a steady upload outlives
//! `upstream_timeout`; connections over `max_connections` wait for a free place; and 1 100
//! silent connections under a 1 024 soft descriptor limit leave health and forwarding alone.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use drifttap::http::Limits;

use crate::sidecar::{Sidecar, StubModel, get, post};
use crate::tap::{stub_model, tap_with};

const SHORT: Duration = Duration::from_millis(300);

/// Reads until the peer closes (or 5 s pass, which fails the test): what came back.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut received));
    match read.await {
        Ok(_) => String::from_utf8_lossy(&received).into_owned(),
        Err(_) => panic!(
            "still open after 5 s; received {:?}",
            String::from_utf8_lossy(&received)
        ),
    }
}

/// A tap with a cap of `max_body_bytes`, `upstream_timeout` and the default limits as
/// `change` leaves them, in front of a stub model.
async fn tap_limited(
    max_body_bytes: usize,
    upstream_timeout: Duration,
    change: impl FnOnce(&mut Limits),
) -> std::net::SocketAddr {
    let model = stub_model(Duration::ZERO).await;
    let mut limits = Limits::default();
    change(&mut limits);
    let (tap, _) = tap_with(
        &format!("http://{model}"),
        max_body_bytes,
        upstream_timeout,
        limits,
    )
    .await;
    tap
}

#[tokio::test]
async fn a_head_sent_too_slowly_gets_408_and_a_silent_connection_is_closed() {
    let tap = tap_limited(1024, SHORT * 4, |l| l.header_timeout = SHORT).await;
    let mut slow = TcpStream::connect(tap).await.expect("connect");
    slow.write_all(b"POST /v1/models/m:predict HTTP/1.1\r\nHost: m\r\n")
        .await
        .expect("write");
    let answer = read_to_close(&mut slow).await;
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    let mut silent = TcpStream::connect(tap).await.expect("connect");
    assert_eq!(
        read_to_close(&mut silent).await,
        "",
        "closed without an answer"
    );
}

#[tokio::test]
async fn a_kept_alive_connection_idle_past_idle_timeout_is_closed() {
    let tap = tap_limited(1024, SHORT * 4, |l| l.idle_timeout = SHORT).await;
    let mut client = TcpStream::connect(tap).await.expect("connect");
    client
        .write_all(b"GET /v2/health/ready HTTP/1.1\r\nHost: m\r\n\r\n")
        .await
        .expect("write");
    let answer = read_to_close(&mut client).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(
        !answer.contains("connection: close"),
        "kept alive until idle: {answer}"
    );
}

#[tokio::test]
async fn a_body_that_stalls_past_body_timeout_gets_408() {
    for max_body_bytes in [1024, 4] {
        // Read whole (fits the cap) and streamed (over it) alike.
        let tap = tap_limited(max_body_bytes, SHORT * 4, |l| l.body_timeout = SHORT).await;
        let mut client = TcpStream::connect(tap).await.expect("connect");
        client
            .write_all(b"POST /infer HTTP/1.1\r\nHost: m\r\nContent-Length: 10\r\n\r\n{\"a\"")
            .await
            .expect("write");
        let answer = read_to_close(&mut client).await;
        assert!(
            answer.starts_with("HTTP/1.1 408 "),
            "cap {max_body_bytes}: {answer}"
        );
    }
}

#[tokio::test]
async fn a_steady_upload_longer_than_upstream_timeout_is_answered() {
    // upstream_timeout counts from the end of the request: an upload that keeps coming for
    // four times as long is not cut short (body_timeout bounds each pause).
    let upstream_timeout = Duration::from_millis(200);
    let tap = tap_limited(16, upstream_timeout, |l| {
        l.body_timeout = Duration::from_secs(5)
    })
    .await;
    let mut client = TcpStream::connect(tap).await.expect("connect");
    client
        .write_all(b"POST /upload HTTP/1.1\r\nHost: m\r\nTransfer-Encoding: chunked\r\n\r\n")
        .await
        .expect("write");
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        client.write_all(b"4\r\nabcd\r\n").await.expect("a chunk");
    }
    client.write_all(b"0\r\n\r\n").await.expect("the end");
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&received).contains("\"bytes\":") {
        let n = tokio::time::timeout(Duration::from_secs(5), client.read(&mut buf))
            .await
            .expect("an answer in time")
            .expect("read");
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&received));
        received.extend_from_slice(&buf[..n]);
    }
    let answer = String::from_utf8_lossy(&received);
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.contains("\"bytes\":32"), "{answer}");
}

#[tokio::test]
async fn connections_over_max_connections_wait_for_a_free_place() {
    let tap = tap_limited(1024, SHORT * 4, |l| l.max_connections = 1).await;
    let first = TcpStream::connect(tap).await.expect("connect");
    // Let the tap admit the first before the second arrives.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = tokio::spawn(async move {
        let mut client = TcpStream::connect(tap).await.expect("connect (backlog)");
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        read_to_close(&mut client).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !second.is_finished(),
        "the second waits while the first holds the place"
    );
    drop(first);
    let answer = second.await.expect("joined");
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eleven_hundred_silent_connections_under_a_1024_soft_limit_leave_health_and_forwarding_alone()
 {
    const SILENT: usize = 1100;
    let limit = drifttap::http::raise_open_files_limit().expect("getrlimit");
    if limit < 4 * SILENT as u64 {
        eprintln!("skipped: this machine's hard limit on open files is {limit}");
        return;
    }
    let model = StubModel::start(Duration::ZERO).await;
    let upstream = format!("http://{}", model.address);
    let sidecar = tokio::task::block_in_place(|| {
        Sidecar::start_limited(
            &crate::harness::example("reference.parquet"),
            "",
            &["--upstream", &upstream, "--tap-listen", "127.0.0.1:0"],
            &[],
            Some(1024),
        )
    });
    let tap = sidecar.tap.expect("tap");
    let mut silent = Vec::with_capacity(SILENT);
    for _ in 0..SILENT {
        silent.push(TcpStream::connect(tap).await.expect("connect"));
    }
    let metrics = sidecar
        .metrics_until(Duration::from_secs(10), |m| {
            m.value("drifttap_connections", &[("listener", "tap")]) >= Some(SILENT as f64)
        })
        .await;
    assert!(
        metrics.value("drifttap_connections", &[("listener", "tap")]) >= Some(SILENT as f64),
        "every silent connection is admitted: {:?}",
        metrics.value("drifttap_connections", &[("listener", "tap")])
    );
    assert_eq!(get(sidecar.admin, "/healthz").await.0, http::StatusCode::OK);
    let (status, text) = post(tap, "/v1/models/credit:predict", &[], "{}").await;
    assert_eq!(status, http::StatusCode::OK, "{text}");
    assert_eq!(
        metrics.value("drifttap_accept_errors_total", &[("listener", "tap")]),
        Some(0.0)
    );
    drop(silent);
}
