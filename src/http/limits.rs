//! What a listener allows its clients: a budget of connections, and how long a connection may
//! take over a request head, sit idle, or make no progress on a body. Every listener of the
//! sidecar and the retrainer has one, so no client can hold file descriptors without bound.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// The longest request head read, in bytes (nginx reads up to 4 × 8 KiB of large headers).
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// The most header fields in a head (hyper's default is 100).
pub const MAX_HEADERS: usize = 128;
/// How often an HTTP/2 connection is pinged, and how long the answer may take, before the peer
/// is taken for gone.
pub const H2_KEEP_ALIVE: Duration = Duration::from_secs(20);

/// `header_timeout`: time a client has to send a whole request head, from the first byte (from
/// the connection's start for its first request). nginx's `client_header_timeout` is 60 s.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(60);
/// `idle_timeout`: how long a kept-alive connection may wait for its next request. nginx's
/// `keepalive_timeout` is 75 s.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(75);
/// `body_timeout`: the longest pause in reading a request body or in writing an answer
/// (nginx's `client_body_timeout` and `send_timeout` are 60 s).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(60);
/// `max_connections` of the ingest and admin listeners, each.
pub const MAX_CONNECTIONS: usize = 1024;

/// A listener's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub body_timeout: Duration,
    /// Connections open at once; further ones wait in the listen backlog until one closes.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: HEADER_TIMEOUT,
            idle_timeout: IDLE_TIMEOUT,
            body_timeout: BODY_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
        }
    }
}

/// A listener's counters, registered by whoever owns the metrics (clones share the values).
#[derive(Debug, Clone, Default)]
pub struct ListenerStats {
    /// Failed accepts (out of file descriptors, say).
    pub accept_errors: Counter,
    /// Connections open now.
    pub open: Gauge,
}

impl ListenerStats {
    /// The series labelled `labels` of an accept-errors family and an open-connections family.
    pub fn of<L>(accept_errors: &Family<L, Counter>, open: &Family<L, Gauge>, labels: &L) -> Self
    where
        L: Clone + std::hash::Hash + Eq,
    {
        ListenerStats {
            accept_errors: accept_errors.get_or_create(labels).clone(),
            open: open.get_or_create(labels).clone(),
        }
    }
}

/// Admits connections to one listener within its budget.
#[derive(Debug, Clone)]
pub struct Admission {
    pub limits: Limits,
    stats: ListenerStats,
    permits: Arc<Semaphore>,
    what: &'static str,
}

/// An accepted connection and its place in the budget, given back on drop.
#[derive(Debug)]
pub struct Admitted {
    pub stream: TcpStream,
    permit: Permit,
}

/// A place in a listener's budget.
#[derive(Debug)]
pub struct Permit {
    _permit: OwnedSemaphorePermit,
    open: Gauge,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.open.dec();
    }
}

impl Admitted {
    pub fn into_parts(self) -> (TcpStream, Permit) {
        (self.stream, self.permit)
    }
}

impl Admission {
    /// The admission of the listener called `what` (it names it in logs).
    pub fn new(what: &'static str, limits: Limits, stats: ListenerStats) -> Self {
        Admission {
            permits: Arc::new(Semaphore::new(limits.max_connections.max(1))),
            limits,
            stats,
            what,
        }
    }

    /// The default limits, counted nowhere: for servers of tests.
    pub fn with_defaults(what: &'static str) -> Self {
        Admission::new(what, Limits::default(), ListenerStats::default())
    }

    /// The next connection on `listener`, once the budget has room for it (until then,
    /// connections wait in the kernel's backlog), with Nagle's algorithm off (answers are
    /// written whole). A failed accept is counted, logged and retried after a pause, not in a
    /// spin: running out of file descriptors is the usual cause, and it passes as connections
    /// close.
    pub async fn accept(&self, listener: &TcpListener) -> Admitted {
        let Ok(permit) = self.permits.clone().acquire_owned().await else {
            // The semaphore is never closed; wait forever rather than accept over budget.
            return std::future::pending().await;
        };
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    self.stats.open.inc();
                    return Admitted {
                        stream,
                        permit: Permit {
                            _permit: permit,
                            open: self.stats.open.clone(),
                        },
                    };
                }
                Err(e) => {
                    self.stats.accept_errors.inc();
                    tracing::warn!(listener = self.what, error = %e, "accept failed; retrying in 50 ms");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

/// A stream that fails with `TimedOut` once nothing has moved either way for `quiet`: a client
/// that connects and sends nothing, stops between requests or stalls inside one is closed. The
/// hyper listeners (ingest, admin, the retrainer's) answer quickly, so one bound covers them.
#[derive(Debug)]
pub struct Quiet<S> {
    inner: S,
    quiet: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl<S> Quiet<S> {
    pub fn new(inner: S, quiet: Duration) -> Self {
        Quiet {
            inner,
            quiet,
            deadline: Box::pin(tokio::time::sleep(quiet)),
        }
    }

    fn moved(&mut self) {
        self.deadline.as_mut().reset(Instant::now() + self.quiet);
    }

    /// A write's outcome: bytes written restart the quiet time, `Pending` may end it.
    fn wrote(
        &mut self,
        cx: &mut Context<'_>,
        written: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match written {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.moved();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.pending(cx),
        }
    }

    /// `Pending` from the stream: an error if the quiet time is up.
    fn pending<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the connection was silent too long",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Quiet<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    self.moved();
                }
                Poll::Ready(result)
            }
            Poll::Pending => self.pending(cx),
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Quiet<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.wrote(cx, written)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.wrote(cx, written)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Pending => self.pending(cx),
            ready => ready,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Raises the soft limit on open files to the hard limit, as nginx (`worker_rlimit_nofile`)
/// and the Go runtime do: the default soft limit of 1 024 is a few hundred proxied
/// connections. Returns the limit now in force.
pub fn raise_open_files_limit() -> io::Result<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let (Some(soft), hard) = (limit.current, limit.maximum) else {
        // Unlimited already.
        return Ok(u64::MAX);
    };
    let target = hard.unwrap_or(u64::MAX);
    if target <= soft {
        return Ok(soft);
    }
    let raised = rustix::process::Rlimit {
        current: Some(target),
        maximum: hard,
    };
    setrlimit(Resource::Nofile, raised).map_err(io::Error::from)?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_quiet_stream_times_out_and_one_that_moves_does_not() {
        let (near, mut far) = tokio::io::duplex(64);
        let mut quiet = Quiet::new(near, Duration::from_secs(10));
        tokio::time::advance(Duration::from_secs(6)).await;
        far.write_all(b"x").await.expect("write");
        let mut byte = [0u8; 1];
        quiet.read_exact(&mut byte).await.expect("a byte in time");
        // Six more seconds: twelve since the start, six since the byte.
        tokio::time::advance(Duration::from_secs(6)).await;
        far.write_all(b"y").await.expect("write");
        quiet
            .read_exact(&mut byte)
            .await
            .expect("the quiet time restarted");
        let silent = quiet.read(&mut byte).await;
        assert_eq!(
            silent.expect_err("ten silent seconds").kind(),
            io::ErrorKind::TimedOut
        );
    }

    #[tokio::test]
    async fn connections_over_the_budget_wait_until_one_closes() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let stats = ListenerStats::default();
        let admission = Admission::new(
            "test",
            Limits {
                max_connections: 1,
                ..Limits::default()
            },
            stats.clone(),
        );
        let _first_client = TcpStream::connect(address).await.expect("connect");
        let _second_client = TcpStream::connect(address).await.expect("connect");
        let first = admission.accept(&listener).await;
        assert_eq!(stats.open.get(), 1);
        let waiting = tokio::time::timeout(Duration::from_millis(200), admission.accept(&listener));
        assert!(waiting.await.is_err(), "over budget: not accepted");
        drop(first);
        assert_eq!(stats.open.get(), 0);
        let second = tokio::time::timeout(Duration::from_secs(5), admission.accept(&listener))
            .await
            .expect("admitted once the first closed");
        assert_eq!(stats.open.get(), 1);
        drop(second);
    }

    #[test]
    fn the_open_files_limit_is_raised_to_the_hard_limit() {
        let limit = raise_open_files_limit().expect("the soft limit can rise to the hard one");
        let now = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        assert_eq!(now.current.unwrap_or(u64::MAX), limit);
        assert_eq!(now.current, now.maximum);
    }
}
