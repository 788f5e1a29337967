//! Operations: health, readiness, Prometheus metrics (request counts and latencies by route, import and
//! compute durations, connections) and the per-client limit on requests without a key.

use crate::conns::Guarded;
use crate::error::ApiError;
use crate::registry::CloseReason;
use crate::state::{AppState, Role};
use crate::telemetry::{AccessLine, CallerSlot, METHODS, MethodSnapshot, REQUEST_ID, Stats, method_index, request_id};
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use oversight_core::ErrorCode;
use std::fmt::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::PoisonError;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// Routes the per-client limit never applies to (cheap, and what monitors poll).
fn unlimited(route: &str) -> bool {
    matches!(route, "/healthz" | "/readyz" | "/metrics")
}

/// Middleware: answers a read whose `If-None-Match` holds its tag with 304, and tags the others
/// ([`crate::http_cache`]); gives every request an id (`X-Request-Id` on the response; the handling runs with it as
/// [`REQUEST_ID`], so what a write or an error logs carries it) and an access-log line (method, path,
/// status, duration, key name — never the key — and the id), within it [`limit_and_count`]. A span per
/// request would cost every request; the id is put in a span only where a line is logged.
pub(crate) async fn track(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let id: std::sync::Arc<str> = request_id(req.headers().get("x-request-id")).into();
    let access = state.cfg().access_log;
    let slot = CallerSlot::default();
    let logged = access.then(|| {
        req.extensions_mut().insert(slot.clone());
        (req.method().clone(), req.uri().path().to_owned(), Instant::now())
    });
    let st = state.clone();
    let encoding = crate::http_cache::accepted(req.headers());
    let cond = crate::http_cache::before(&st, req.method(), req.uri().path(), req.headers()).await;
    let mut resp = match cond {
        Err(not_modified) => not_modified,
        Ok(cond) => {
            let mut resp = REQUEST_ID.scope(id.clone(), limit_and_count(state, req, next)).await;
            crate::http_cache::after(&st, cond, &mut resp);
            match encoding {
                Some(e) => crate::http_cache::compress(resp, e).await,
                None => resp,
            }
        }
    };
    if let Ok(v) = header::HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    let Some((method, path, start)) = logged else { return resp };
    let line = AccessLine {
        request_id: &id,
        method: method.as_str(),
        path: path.as_str(),
        status: resp.status().as_u16(),
        duration_ms: (start.elapsed().as_secs_f64() * 1e4).round() / 10.0,
        key: slot.0.get().map_or("-", String::as_str),
    };
    match st.0.access_sink.get() {
        Some(sink) => sink.line(&line),
        None => tracing::info!(
            target: "oversight::access",
            request_id = line.request_id,
            method = line.method,
            path = line.path,
            status = line.status,
            duration_ms = line.duration_ms,
            key = line.key,
        ),
    }
    resp
}

/// The per-client limit on requests without a key, then counts and times every request by its route
/// template (never the raw path: ids would explode the label set).
async fn limit_and_count(state: AppState, req: Request, next: Next) -> Response {
    let method = method_index(req.method());
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("unmatched", MatchedPath::as_str);
    let start = Instant::now();
    let limit = state.cfg().public_concurrency_per_client;
    let mut slot = None;
    if limit > 0 && !req.headers().contains_key(header::AUTHORIZATION) && !unlimited(route) {
        let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(a)| a.ip());
        let forwarded = || {
            let last = req.headers().get_all("x-forwarded-for").iter().next_back()?.to_str().ok()?;
            last.rsplit(',').next()?.trim().parse::<IpAddr>().ok()
        };
        let client = if state.cfg().trust_forwarded_for { forwarded().or(peer) } else { peer };
        if let Some(ip) = client {
            match state.0.per_client.acquire(ip, limit) {
                Some(s) => slot = Some(s),
                None => {
                    state.0.stats.limited.fetch_add(1, Ordering::Relaxed);
                    let mut resp = ApiError::new(
                        ErrorCode::TooManyRequests,
                        format!(
                            "this address already has {limit} requests without a key in flight \
                             ([api] public_concurrency_per_client); retry when one has finished, or use an API key"
                        ),
                    )
                    .into_response();
                    resp.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
                    state.0.stats.observe(method, route, 429, start.elapsed().as_secs_f64());
                    return resp;
                }
            }
        }
    }
    let resp = next.run(req).await;
    state.0.stats.observe(method, route, resp.status().as_u16(), start.elapsed().as_secs_f64());
    match slot {
        Some(slot) => Guarded::wrap(resp, slot),
        None => resp,
    }
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "The server is up", body = String, example = "ok")))]
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers a query that reads a block of every table, and no request has found
/// the file damaged since the server started.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, description = "The database answers (`ready`, or `ready (read-only: …)`)", body = String, example = "ready"),
    (status = 503, description = "The database does not answer or is damaged (code `database_corrupt` or `unavailable`)", body = crate::error::ErrorBody)))]
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    if let Some(why) = state.corruption() {
        return ApiError::new(ErrorCode::DatabaseCorrupt, why).into_response();
    }
    match state.read(|s| Ok(s.probe()?)).await {
        Ok(()) => match state.read_only() {
            None => "ready".into_response(),
            Some(why) => format!("ready (read-only: {why})").into_response(),
        },
        Err(e) if e.code == ErrorCode::DatabaseCorrupt => e.into_response(),
        Err(e) => {
            tracing::error!("readiness: {}", e.message);
            ApiError::new(ErrorCode::Unavailable, "the database does not answer; the server log has the details")
                .into_response()
        }
    }
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain",
    example = "# TYPE oversight_http_requests_total counter\noversight_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1\n"),
    (status = 401, description = "`[api] metrics_need_key` is on and no valid key was given", body = crate::error::ErrorBody)))]
pub(crate) async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if state.cfg().metrics_need_key
        && let Err(e) = state.authorize(&headers, Some(Role::Viewer)).await
    {
        return e.into_response();
    }
    let db_memory = state.read(|s| Ok(s.memory_bytes()?)).await.unwrap_or(-1);
    let mut out = String::new();
    write_routes(&mut out, &state.0.stats);
    write_gauges(&mut out, &state, db_memory);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

/// Requests and their latency, by method, route and status.
fn write_routes(out: &mut String, stats: &Stats) {
    let routes = {
        let r = stats.routes.lock().unwrap_or_else(PoisonError::into_inner);
        let mut v: Vec<(String, Vec<MethodSnapshot>)> = r
            .iter()
            .map(|(route, per)| {
                let ms = per
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| m.latency.count > 0)
                    .map(|(i, m)| {
                        let mut st = m.statuses.clone();
                        st.sort_unstable();
                        (i, st, m.latency.clone())
                    })
                    .collect();
                (route.clone(), ms)
            })
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    out.push_str("# HELP oversight_http_requests_total Requests by method, route and status.\n");
    out.push_str("# TYPE oversight_http_requests_total counter\n");
    for (r, ms) in &routes {
        for (i, statuses, _) in ms {
            for (s, n) in statuses {
                let m = METHODS[*i];
                let _ =
                    writeln!(out, "oversight_http_requests_total{{method=\"{m}\",route=\"{r}\",status=\"{s}\"}} {n}");
            }
        }
    }
    out.push_str("# HELP oversight_http_request_duration_seconds Request latency by method and route.\n");
    out.push_str("# TYPE oversight_http_request_duration_seconds histogram\n");
    for (r, ms) in &routes {
        for (i, _, h) in ms {
            let m = METHODS[*i];
            h.write(out, "oversight_http_request_duration_seconds", &format!("method=\"{m}\",route=\"{r}\""));
        }
    }
}

/// Job durations, memory, connections and the per-client limit.
fn write_gauges(out: &mut String, state: &AppState, db_memory: i64) {
    let stats = &state.0.stats;
    out.push_str("# HELP oversight_job_duration_seconds Import and compute durations.\n");
    out.push_str("# TYPE oversight_job_duration_seconds histogram\n");
    for (k, h) in stats.jobs.lock().unwrap_or_else(PoisonError::into_inner).iter() {
        h.write(out, "oversight_job_duration_seconds", &format!("job=\"{k}\""));
    }
    out.push_str("# HELP oversight_database_memory_bytes Memory DuckDB holds (bounded by api.database_memory).\n");
    out.push_str("# TYPE oversight_database_memory_bytes gauge\n");
    let _ = writeln!(out, "oversight_database_memory_bytes {db_memory}");
    out.push_str("# HELP oversight_cache_bytes Bytes held by the read caches (bounded by api.cache_bytes).\n");
    out.push_str("# TYPE oversight_cache_bytes gauge\n");
    let _ = writeln!(out, "oversight_cache_bytes {}", state.cache_bytes_held());
    out.push_str("# HELP oversight_connections_open Open client connections.\n");
    out.push_str("# TYPE oversight_connections_open gauge\n");
    let _ = writeln!(out, "oversight_connections_open {}", state.0.conns.open());
    out.push_str("# HELP oversight_connections_closed_total Connections the server closed, by reason.\n");
    out.push_str("# TYPE oversight_connections_closed_total counter\n");
    for r in CloseReason::ALL {
        let n = stats.closed[r as usize].load(Ordering::Relaxed);
        let _ = writeln!(out, "oversight_connections_closed_total{{reason=\"{}\"}} {n}", r.as_str());
    }
    out.push_str("# HELP oversight_http_limited_total Requests without a key answered 429 by the per-client limit.\n");
    out.push_str("# TYPE oversight_http_limited_total counter\n");
    let _ = writeln!(out, "oversight_http_limited_total {}", stats.limited.load(Ordering::Relaxed));
}
