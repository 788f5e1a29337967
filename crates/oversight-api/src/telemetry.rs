//! The server's counters (requests by route, method and status with latencies; job durations; connections
//! closed by reason; requests limited) and the per-client limit's slots: what the server's state holds of
//! [`crate::ops`], kept apart so the state does not import the handlers that read it.

use crate::registry::CloseReason;
use axum::http::Method;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Latency histogram bucket bounds, seconds.
pub(crate) const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0];

#[derive(Default, Clone)]
pub(crate) struct Histogram {
    pub(crate) counts: [u64; BUCKETS.len()],
    pub(crate) count: u64,
    pub(crate) sum: f64,
}

impl Histogram {
    pub(crate) fn observe(&mut self, secs: f64) {
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.counts[i] += 1;
            }
        }
        self.count += 1;
        self.sum += secs;
    }
    pub(crate) fn write(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {}", self.counts[i]);
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

/// Counters of the running server. Every label comes from a closed set: a method outside [`METHODS`] is
/// `other`, a route is the matched template (or `unmatched`), a status is a number.
#[derive(Default)]
pub(crate) struct Stats {
    /// Route template → per-method counts by status and latency.
    pub(crate) routes: Mutex<rustc_hash::FxHashMap<String, [MethodStats; METHODS.len()]>>,
    /// "import" / "compute" → duration.
    pub(crate) jobs: Mutex<BTreeMap<&'static str, Histogram>>,
    /// Connections the server closed, by [`CloseReason`].
    pub(crate) closed: [AtomicU64; CloseReason::ALL.len()],
    /// Requests answered 429 by the per-client limit.
    pub(crate) limited: AtomicU64,
}

#[derive(Default)]
pub(crate) struct MethodStats {
    pub(crate) statuses: Vec<(u16, u64)>,
    pub(crate) latency: Histogram,
}

/// A copy of one method's counters, taken to write `/metrics` outside the lock: (method index, counts by
/// status, latency).
pub(crate) type MethodSnapshot = (usize, Vec<(u16, u64)>, Histogram);

/// The method labels; the last is every other method.
pub(crate) const METHODS: [&str; 8] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"];

impl Stats {
    pub(crate) fn job(&self, kind: &'static str, secs: f64) {
        self.jobs.lock().unwrap_or_else(PoisonError::into_inner).entry(kind).or_default().observe(secs);
    }

    pub(crate) fn closed(&self, reason: CloseReason, n: u64) {
        if n > 0 {
            self.closed[reason as usize].fetch_add(n, Ordering::Relaxed);
        }
    }

    pub(crate) fn observe(&self, method: usize, route: &str, status: u16, secs: f64) {
        let mut routes = self.routes.lock().unwrap_or_else(PoisonError::into_inner);
        let per = match routes.get_mut(route) {
            Some(p) => p,
            None => routes.entry(route.to_owned()).or_default(),
        };
        let m = &mut per[method];
        match m.statuses.iter_mut().find(|(s, _)| *s == status) {
            Some((_, n)) => *n += 1,
            None => m.statuses.push((status, 1)),
        }
        m.latency.observe(secs);
    }
}

/// A request method as an index into [`METHODS`]: any method a client invents is `other` (each new label
/// would otherwise add a series to `/metrics` for as long as the server runs).
pub(crate) fn method_index(m: &Method) -> usize {
    match *m {
        Method::GET => 0,
        Method::HEAD => 1,
        Method::POST => 2,
        Method::PUT => 3,
        Method::PATCH => 4,
        Method::DELETE => 5,
        Method::OPTIONS => 6,
        _ => 7,
    }
}

/// Requests without a key in flight, per client address (an IPv6 address by its /64: one host may hold
/// a whole prefix). An address leaves the map when its last request finishes, so the map is never larger
/// than the open connections.
#[derive(Default)]
pub(crate) struct PerClient(Arc<Mutex<HashMap<IpAddr, u32>>>);

/// Holds one request's place in [`PerClient`] until its response body is dropped.
pub(crate) struct ClientSlot {
    pub(crate) map: Arc<Mutex<HashMap<IpAddr, u32>>>,
    pub(crate) ip: IpAddr,
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut m = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = m.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

impl PerClient {
    pub(crate) fn acquire(&self, addr: IpAddr, limit: u32) -> Option<ClientSlot> {
        let ip = client_key(addr);
        let mut m = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let n = m.entry(ip).or_insert(0);
        if *n >= limit {
            return None;
        }
        *n += 1;
        Some(ClientSlot { map: self.0.clone(), ip })
    }
}

/// The address a client is limited by: IPv4 as it is (also when mapped into IPv6), IPv6 by its /64.
pub(crate) fn client_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !0xffff_ffff_ffff_ffffu128).into()),
        },
    }
}

/// One request, as its access-log line gives it.
#[derive(Debug, Clone, Copy)]
pub struct AccessLine<'a> {
    pub request_id: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub duration_ms: f64,
    /// The key's name (`anonymous` without one, `-` when the request never reached a handler).
    pub key: &'a str,
}

/// Where access lines go, when the program that starts the server writes them itself (a line through
/// `tracing`'s formatter costs several microseconds, a good part of a cached read). Without one they are
/// `info` events of target `oversight::access`.
pub trait AccessSink: Send + Sync {
    fn line(&self, line: &AccessLine<'_>);
}

tokio::task_local! {
    /// The id of the request being handled (see [`crate::ops::track`]).
    pub(crate) static REQUEST_ID: Arc<str>;
}

/// A span carrying the id of the request being handled, for the lines a write or an error logs (none
/// outside a request).
pub(crate) fn request_span() -> tracing::Span {
    match REQUEST_ID.try_with(Arc::clone) {
        Ok(id) => tracing::info_span!("request", request_id = &*id),
        Err(_) => tracing::Span::none(),
    }
}

/// Who made a request, for its access-log line: set by the role extractors once the key is checked
/// (`anonymous` without one), read by [`crate::ops::track`] when the response is ready.
#[derive(Clone, Default)]
pub(crate) struct CallerSlot(pub(crate) Arc<std::sync::OnceLock<String>>);

/// A request's id: the client's or proxy's `X-Request-Id` when it is short plain text (so one id follows a
/// request through a proxy's log and ours), otherwise 16 random hex digits.
pub(crate) fn request_id(given: Option<&axum::http::HeaderValue>) -> String {
    let plain =
        |v: &&str| (1..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    if let Some(v) = given.and_then(|v| v.to_str().ok()).filter(plain) {
        return v.to_owned();
    }
    use rand::RngExt;
    let n: u64 = rand::rng().random();
    format!("{n:016x}")
}
