//! Operations: health, readiness and Prometheus metrics (request counts and latencies by route, import and
//! compute durations).

use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// Latency histogram bucket bounds, seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, secs: f64) {
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.counts[i] += 1;
            }
        }
        self.count += 1;
        self.sum += secs;
    }
    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {}", self.counts[i]);
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

/// Counters of the running server.
#[derive(Default)]
pub(crate) struct Stats {
    /// (method, route, status) → count.
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    /// (method, route) → latency.
    latency: Mutex<BTreeMap<(String, String), Histogram>>,
    /// "import" / "compute" → duration.
    jobs: Mutex<BTreeMap<&'static str, Histogram>>,
}

impl Stats {
    pub(crate) fn job(&self, kind: &'static str, secs: f64) {
        self.jobs.lock().unwrap_or_else(PoisonError::into_inner).entry(kind).or_default().observe(secs);
    }
}

/// Middleware: counts and times every request by its route template (never the raw path: ids would explode
/// the label set).
pub(crate) async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = method_label(req.method()).to_owned();
    let route =
        req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
    let start = Instant::now();
    let resp = next.run(req).await;
    let secs = start.elapsed().as_secs_f64();
    let stats = &state.0.stats;
    *stats
        .requests
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry((method.clone(), route.clone(), resp.status().as_u16()))
        .or_default() += 1;
    stats.latency.lock().unwrap_or_else(PoisonError::into_inner).entry((method, route)).or_default().observe(secs);
    resp
}

/// A request method as a metric label, from a closed set: any method a client invents is `other` (each
/// new label would otherwise add a series to `/metrics` for as long as the server runs).
fn method_label(m: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "The server is up", body = String, example = "ok")))]
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers a query.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, description = "The database answers", body = String, example = "ready"),
    (status = 503, description = "The database does not answer", body = crate::error::ErrorBody)))]
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    match state.read(|s| Ok(s.schema_version()?)).await {
        Ok(_) => "ready".into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database not ready").into_response(),
    }
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain",
    example = "# TYPE oversight_http_requests_total counter\noversight_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1\n")))]
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let stats = &state.0.stats;
    let mut out = String::new();
    out.push_str("# HELP oversight_http_requests_total Requests by method, route and status.\n");
    out.push_str("# TYPE oversight_http_requests_total counter\n");
    for ((m, r, s), n) in stats.requests.lock().unwrap_or_else(PoisonError::into_inner).iter() {
        let _ = writeln!(out, "oversight_http_requests_total{{method=\"{m}\",route=\"{r}\",status=\"{s}\"}} {n}");
    }
    out.push_str("# HELP oversight_http_request_duration_seconds Request latency by method and route.\n");
    out.push_str("# TYPE oversight_http_request_duration_seconds histogram\n");
    for ((m, r), h) in stats.latency.lock().unwrap_or_else(PoisonError::into_inner).iter() {
        h.write(&mut out, "oversight_http_request_duration_seconds", &format!("method=\"{m}\",route=\"{r}\""));
    }
    out.push_str("# HELP oversight_job_duration_seconds Import and compute durations.\n");
    out.push_str("# TYPE oversight_job_duration_seconds histogram\n");
    for (k, h) in stats.jobs.lock().unwrap_or_else(PoisonError::into_inner).iter() {
        h.write(&mut out, "oversight_job_duration_seconds", &format!("job=\"{k}\""));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
