//! Connection discipline: the accept loop behind [`crate::serve`].
//!
//! Every connection is registered with what it is doing: a request in flight, or waiting between requests
//! (since when, and since when bytes of a next request header have been arriving). A watchdog closes a
//! connection whose request header is not complete `header_timeout_secs` after its first byte (a slow-loris
//! client), and one that sends nothing for `idle_timeout_secs` between requests. At most `max_connections`
//! are open: when one more arrives, the connection that has waited longest without a request in flight is
//! closed to make room (trickling clients cannot crowd out `/healthz`); when every connection has a request
//! in flight, accepting waits. Accept errors (out of descriptors) back off instead of spinning. On shutdown,
//! connections without a request in flight close at once, the rest finish within `shutdown_grace_secs`,
//! and the writer connection is waited for (an import lands whole or not at all either way: it is one
//! transaction).

use crate::registry::{CloseReason, Conn, DEFAULT_MAX_CONNECTIONS, NONE, Registry};
use crate::state::AppState;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// The socket, noting when the first byte of a request header arrives on an idle connection.
struct Tracked {
    io: tokio::net::TcpStream,
    conn: Arc<Conn>,
    registry: Arc<Registry>,
}

impl AsyncRead for Tracked {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let c = &self.conn;
            if c.in_flight.load(Ordering::Acquire) == 0 && c.first_byte.load(Ordering::Acquire) == NONE {
                c.first_byte.store(self.registry.now_ms(), Ordering::Release);
            }
        }
        r
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// Marks a request in flight until its response body is dropped (sent in full, or the client went away).
struct InFlight {
    conn: Arc<Conn>,
    registry: Arc<Registry>,
}

impl InFlight {
    fn start(conn: &Arc<Conn>, registry: &Arc<Registry>) -> Self {
        conn.in_flight.fetch_add(1, Ordering::AcqRel);
        conn.first_byte.store(NONE, Ordering::Release);
        Self { conn: conn.clone(), registry: registry.clone() }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.conn.idle_since.store(self.registry.now_ms(), Ordering::Release);
        self.conn.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that holds a guard until it is dropped.
pub(crate) struct Guarded<G> {
    inner: Body,
    _guard: G,
}

impl<G: Send + Unpin + 'static> Guarded<G> {
    pub(crate) fn wrap(resp: axum::response::Response, guard: G) -> axum::response::Response {
        resp.map(|inner| Body::new(Guarded { inner, _guard: guard }))
    }
}

impl<G: Unpin> http_body::Body for Guarded<G> {
    type Data = bytes::Bytes;
    type Error = axum::Error;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains (see the module docs).
pub(crate) async fn run(
    listener: tokio::net::TcpListener,
    state: AppState,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let cfg = state.cfg().clone();
    let max_connections = state.0.max_connections;
    if cfg.max_connections.is_none() && max_connections < DEFAULT_MAX_CONNECTIONS {
        tracing::warn!("at most {max_connections} connections: `ulimit -n` leaves no room for more");
    }
    let registry = state.0.conns.clone();
    let slots = Arc::new(tokio::sync::Semaphore::new(max_connections as usize));
    let stop = CancellationToken::new();
    let tasks = tokio_util::task::TaskTracker::new();

    // The watchdog.
    let (header_ms, idle_ms) = (cfg.header_timeout_secs.max(1) * 1000, cfg.idle_timeout_secs.max(1) * 1000);
    let tick = Duration::from_millis((header_ms.min(idle_ms) / 10).clamp(20, 250));
    let watchdog = {
        let (registry, state, stop) = (registry.clone(), state.clone(), stop.clone());
        tokio::spawn(async move {
            let mut every = tokio::time::interval(tick);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = every.tick() => {}
                    _ = stop.cancelled() => break,
                }
                let (h, i) = registry.expire(header_ms, idle_ms);
                state.0.stats.closed(CloseReason::HeaderTimeout, h);
                state.0.stats.closed(CloseReason::IdleTimeout, i);
            }
        })
    };

    let mut shutdown = std::pin::pin!(shutdown);
    let mut backoff = Duration::from_millis(5);
    let mut last_warning: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = &mut shutdown => break,
        };
        let (tcp, remote) = match accepted {
            Ok(a) => {
                backoff = Duration::from_millis(5);
                a
            }
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // Out of descriptors or memory: wait and retry, and say so at most once a second.
                if last_warning.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                    tracing::warn!("accept error ({e}); retrying in {} ms", backoff.as_millis());
                    last_warning = Some(Instant::now());
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        let permit = match slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if registry.evict_one() {
                    state.0.stats.closed(CloseReason::Evicted, 1);
                }
                // The evicted connection gives its slot back as it closes; with every connection busy,
                // accepting waits for one to finish.
                tokio::select! {
                    p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
                    _ = &mut shutdown => break,
                }
            }
        };
        if std::env::var_os("OVS_NODELAY").is_some() {
            let _ = tcp.set_nodelay(true);
        }
        let (id, conn) = registry.add();
        let (registry2, router, stop) = (registry.clone(), router.clone(), stop.clone());
        tasks.spawn(async move {
            serve_connection(tcp, remote, conn, registry2.clone(), router, stop).await;
            registry2.remove(id);
            drop(permit);
        });
    }
    drop(listener);

    // Draining.
    stop.cancel();
    tasks.close();
    let grace = Duration::from_secs(cfg.shutdown_grace_secs);
    let deadline = tokio::time::Instant::now() + grace;
    let idle = registry.close(true);
    state.0.stats.closed(CloseReason::Shutdown, idle);
    let busy = (registry.open() as u64).saturating_sub(idle);
    tracing::info!("shutting down: {busy} connection(s) with a request in flight get {} s to finish", grace.as_secs());
    if tokio::time::timeout_at(deadline, tasks.wait()).await.is_err() {
        let n = registry.close(false);
        tracing::warn!("shutdown grace period over: closing {n} connection(s) with requests still in flight");
        state.0.stats.closed(CloseReason::Shutdown, n);
        let _ = tokio::time::timeout(Duration::from_secs(1), tasks.wait()).await;
    }
    let _ = watchdog.await;
    // A write running on the blocking pool (an import, its compute) commits or rolls back as a whole; wait
    // for it while the grace period lasts.
    let st = state.clone();
    let writer_done = tokio::task::spawn_blocking(move || st.wait_for_writer());
    if tokio::time::timeout_at(deadline, writer_done).await.is_err() {
        tracing::warn!("shutdown grace period over with a write still running: it will not be committed");
    }
    Ok(())
}

/// Errors that concern one incoming connection only (accept again at once).
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset | Interrupted | WouldBlock)
}

async fn serve_connection(
    tcp: tokio::net::TcpStream,
    remote: SocketAddr,
    conn: Arc<Conn>,
    registry: Arc<Registry>,
    router: Router,
    stop: CancellationToken,
) {
    let io = hyper_util::rt::TokioIo::new(Tracked { io: tcp, conn: conn.clone(), registry: registry.clone() });
    let (c2, r2) = (conn.clone(), registry.clone());
    let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        let guard = InFlight::start(&c2, &r2);
        req.extensions_mut().insert(ConnectInfo(remote));
        let call = router.clone().oneshot(req.map(Body::new));
        async move {
            let resp = call.await.unwrap_or_else(|e: Infallible| match e {});
            Ok::<_, Infallible>(Guarded::wrap(resp, guard))
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    // The watchdog enforces the header and idle deadlines.
    builder.header_read_timeout(None).keep_alive(true);
    let mut http = std::pin::pin!(builder.serve_connection(io, service));
    let mut draining = false;
    loop {
        tokio::select! {
            r = http.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!("connection from {remote}: {e}");
                }
                break;
            }
            _ = conn.kill.cancelled() => break,
            _ = stop.cancelled(), if !draining => {
                draining = true;
                http.as_mut().graceful_shutdown();
            }
        }
    }
}
