//! The registry of open connections (what each is doing, since when) and the connection limit: what the
//! server's state holds of [`crate::conns`], kept apart so the state does not import the accept loop.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// No bytes of a next request have arrived.
pub(crate) const NONE: u64 = u64::MAX;

/// Descriptors kept free beside the connections: the database and its WAL, spooled uploads, extracts,
/// the listener, logs.
pub(crate) const RESERVED_DESCRIPTORS: u64 = 64;

/// Why a connection was closed by the server (a closed set: the label of a metric).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum CloseReason {
    HeaderTimeout,
    IdleTimeout,
    Evicted,
    Shutdown,
}

impl CloseReason {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::HeaderTimeout => "header_timeout",
            Self::IdleTimeout => "idle_timeout",
            Self::Evicted => "evicted",
            Self::Shutdown => "shutdown",
        }
    }
    pub(crate) const ALL: [CloseReason; 4] = [Self::HeaderTimeout, Self::IdleTimeout, Self::Evicted, Self::Shutdown];
}

/// One open connection.
pub(crate) struct Conn {
    /// Requests whose response body has not been sent in full.
    pub(crate) in_flight: AtomicU32,
    /// Milliseconds (since the server started) the connection has been waiting for a request.
    pub(crate) idle_since: AtomicU64,
    /// Milliseconds at which the first byte of a next request header arrived, or [`NONE`].
    pub(crate) first_byte: AtomicU64,
    /// Cancelled to drop the connection at once.
    pub(crate) kill: CancellationToken,
}

/// The open connections.
pub(crate) struct Registry {
    pub(crate) start: Instant,
    pub(crate) conns: Mutex<HashMap<u64, Arc<Conn>>>,
    pub(crate) next_id: AtomicU64,
}

impl Default for Registry {
    fn default() -> Self {
        Self { start: Instant::now(), conns: Mutex::new(HashMap::new()), next_id: AtomicU64::new(0) }
    }
}

impl Registry {
    pub(crate) fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    pub(crate) fn add(&self) -> (u64, Arc<Conn>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let c = Arc::new(Conn {
            in_flight: AtomicU32::new(0),
            idle_since: AtomicU64::new(self.now_ms()),
            first_byte: AtomicU64::new(NONE),
            kill: CancellationToken::new(),
        });
        self.conns.lock().unwrap_or_else(PoisonError::into_inner).insert(id, c.clone());
        (id, c)
    }

    pub(crate) fn remove(&self, id: u64) {
        self.conns.lock().unwrap_or_else(PoisonError::into_inner).remove(&id);
    }

    pub(crate) fn open(&self) -> usize {
        self.conns.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Closes the connection that has waited longest without a request in flight; false when every
    /// connection is busy.
    pub(crate) fn evict_one(&self) -> bool {
        let conns = self.conns.lock().unwrap_or_else(PoisonError::into_inner);
        let victim = conns
            .values()
            .filter(|c| c.in_flight.load(Ordering::Acquire) == 0 && !c.kill.is_cancelled())
            .min_by_key(|c| c.idle_since.load(Ordering::Acquire));
        match victim {
            Some(c) => {
                c.kill.cancel();
                true
            }
            None => false,
        }
    }

    /// Closes the connections past their header or idle deadline; returns how many of each.
    pub(crate) fn expire(&self, header: u64, idle: u64) -> (u64, u64) {
        let now = self.now_ms();
        let (mut h, mut i) = (0, 0);
        for c in self.conns.lock().unwrap_or_else(PoisonError::into_inner).values() {
            if c.in_flight.load(Ordering::Acquire) > 0 || c.kill.is_cancelled() {
                continue;
            }
            let first = c.first_byte.load(Ordering::Acquire);
            if first != NONE {
                if now.saturating_sub(first) >= header {
                    c.kill.cancel();
                    h += 1;
                }
            } else if now.saturating_sub(c.idle_since.load(Ordering::Acquire)) >= idle {
                c.kill.cancel();
                i += 1;
            }
        }
        (h, i)
    }

    /// Closes every connection without a request in flight; returns how many.
    /// Closes every open connection (only those without a request in flight when `idle_only`); returns how many.
    pub(crate) fn close(&self, idle_only: bool) -> u64 {
        let mut n = 0;
        for c in self.conns.lock().unwrap_or_else(PoisonError::into_inner).values() {
            if !c.kill.is_cancelled() && (!idle_only || c.in_flight.load(Ordering::Acquire) == 0) {
                c.kill.cancel();
                n += 1;
            }
        }
        n
    }
}

/// The descriptors this process may open (the soft `RLIMIT_NOFILE`), where the system says.
pub(crate) fn descriptor_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line["Max open files".len()..].split_whitespace().next()?;
    if soft == "unlimited" { Some(u64::MAX) } else { soft.parse().ok() }
}

/// The connection limit to use: `max_connections` as set, checked against the descriptor limit (an error
/// saying what to change when it does not fit); unset, 512, or fewer where the descriptor limit is lower.
pub(crate) fn connection_limit(max_connections: Option<u64>) -> Result<u64, String> {
    let limit = descriptor_limit();
    let Some(n) = max_connections else {
        let fit = limit.map_or(DEFAULT_MAX_CONNECTIONS, |l| l.saturating_sub(RESERVED_DESCRIPTORS));
        if fit < 1 {
            return Err(format!("this process may open only {} file descriptors (`ulimit -n`)", limit.unwrap_or(0)));
        }
        return Ok(DEFAULT_MAX_CONNECTIONS.min(fit));
    };
    if n == 0 {
        return Err("[api] max_connections must be at least 1".into());
    }
    if let Some(limit) = limit
        && n.saturating_add(RESERVED_DESCRIPTORS) > limit
    {
        return Err(format!(
            "[api] max_connections = {n} needs {} file descriptors ({RESERVED_DESCRIPTORS} kept for the database, \
             uploads and extracts), but this process may open {limit} (`ulimit -n`): lower max_connections or \
             raise the limit",
            n + RESERVED_DESCRIPTORS
        ));
    }
    Ok(n)
}

/// Open connections at most when `[api] max_connections` is not set (and the descriptor limit allows).
pub(crate) const DEFAULT_MAX_CONNECTIONS: u64 = 512;
