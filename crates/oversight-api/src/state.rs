//! Shared server state: the one writer connection, a pool of reader connections, settings, request metrics.
//! DuckDB calls run on the blocking pool, never on the async executor.

use crate::error::{ApiError, ApiResult};
use axum::http::{HeaderMap, HeaderName};
use oversight_core::{ErrorCode, Grain, IndicatorId};
use oversight_store::{ApiKey, NewAuditEntry, Store};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// `[api]` settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Address `oversight serve` listens on (default 127.0.0.1:8080; `--bind` wins).
    pub bind: Option<String>,
    /// Reads (indicators, series, disparities, extracts, …) need no key when true; a `viewer` key otherwise.
    pub public_reads: bool,
    /// Largest import upload, in bytes (413 past it).
    pub max_upload_bytes: u64,
    /// Largest JSON body of other writes, in bytes.
    pub max_body_bytes: usize,
    /// Requests taking longer are cut off with 408 (imports and extracts excepted: they stream).
    pub request_timeout_secs: u64,
    /// Memory the read caches may hold, in bytes, whatever clients ask (rendered series responses and the
    /// series points behind them); a response larger than an eighth of it is served uncached.
    pub cache_bytes: u64,
    /// A request header not complete this many seconds after its first byte closes the connection.
    pub header_timeout_secs: u64,
    /// A connection that sends nothing for this long between requests is closed.
    pub idle_timeout_secs: u64,
    /// An upload that sends no byte for this long, or averages less than `min_upload_bytes_per_sec` after
    /// it, is cut off with 408.
    pub body_timeout_secs: u64,
    /// The slowest average rate an upload may keep (bytes per second, measured after `body_timeout_secs`).
    pub min_upload_bytes_per_sec: u64,
    /// Open connections at most (checked against the process's descriptor limit at start-up: a value that
    /// does not fit is refused; unset, 512 or what the limit leaves room for); past it the connection that
    /// has waited longest without a request is closed, or accepting waits.
    pub max_connections: Option<u64>,
    /// After SIGTERM, requests in flight get this long to finish before their connections are closed.
    pub shutdown_grace_secs: u64,
    /// Requests without a key that one client address (an IPv6 /64) may have in flight at once; past it
    /// 429 with `Retry-After`. Keys are not limited by it; 0 turns it off.
    pub public_concurrency_per_client: u32,
    /// Behind a reverse proxy every request comes from the proxy's address: when true, the per-client
    /// limit reads the client from the last address of `X-Forwarded-For` (the one the proxy added).
    /// Leave it off when clients reach the server directly (they could write the header themselves).
    pub trust_forwarded_for: bool,
    /// Web origins (`https://dash.example.org`) whose pages may read the API from a browser (CORS); none by
    /// default. `"*"` allows every origin (reads only: keys are never sent by a browser to `*`).
    pub cors_origins: Vec<String>,
    /// The most memory DuckDB may use in the server (its buffer pool; larger work spills to disk), in
    /// DuckDB's notation: `"1GB"`, `"512MB"`. Without it DuckDB takes up to 80% of the machine's memory.
    pub database_memory: String,
    /// `/metrics` needs a key (any role) when true.
    pub metrics_need_key: bool,
    /// An access-log line per request (method, path, status, duration, key name, request id) at `info`
    /// (default true). Each costs a few microseconds of CPU; a server behind a proxy that logs every request
    /// may turn them off.
    pub access_log: bool,
    /// Where writes go when this server is a read-only replica (`serve --read-only`): its 405s name it.
    pub writer_url: Option<String>,
    /// The `[import]` settings (read from their own section, not `[api]`).
    #[serde(skip)]
    pub import: oversight_import::ImportConfig,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            bind: None,
            public_reads: true,
            max_upload_bytes: 1 << 30,
            max_body_bytes: 1 << 20,
            request_timeout_secs: 60,
            cache_bytes: 64 << 20,
            header_timeout_secs: 10,
            idle_timeout_secs: 60,
            body_timeout_secs: 30,
            min_upload_bytes_per_sec: 1024,
            max_connections: None,
            shutdown_grace_secs: 30,
            access_log: true,
            cors_origins: Vec::new(),
            writer_url: None,
            public_concurrency_per_client: 16,
            trust_forwarded_for: false,
            database_memory: "1GB".into(),
            metrics_need_key: false,
            import: oversight_import::ImportConfig::default(),
        }
    }
}

/// The CORS layer for `[api] cors_origins` (none: no layer); an origin that is not one is refused, naming it.
fn cors_layer(origins: &[String]) -> Result<Option<tower_http::cors::CorsLayer>, String> {
    use axum::http::{HeaderName, Method, header};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    if origins.is_empty() {
        return Ok(None);
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        let list = origins
            .iter()
            .map(|o| {
                let o = o.trim_end_matches('/');
                let host = o.strip_prefix("https://").or_else(|| o.strip_prefix("http://"));
                let ok = host.is_some_and(|h| !h.is_empty() && !h.contains(['/', ' ', '?', '#']));
                let parsed = axum::http::HeaderValue::from_str(o);
                match (ok, parsed) {
                    (true, Ok(v)) => Ok(v),
                    _ => Err(format!("[api] cors_origins: {o:?} is not an origin (http[s]://host[:port])")),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        AllowOrigin::list(list)
    };
    Ok(Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::HEAD])
            .allow_headers([header::AUTHORIZATION, header::ACCEPT, header::IF_NONE_MATCH])
            .expose_headers([
                header::ETAG,
                header::CONTENT_DISPOSITION,
                HeaderName::from_static("x-request-id"),
                HeaderName::from_static("x-oversight-source-batches"),
                HeaderName::from_static("x-oversight-filters"),
                HeaderName::from_static("x-oversight-indicator-run"),
                HeaderName::from_static("x-oversight-indicator-batches"),
            ])
            .max_age(std::time::Duration::from_secs(3600)),
    ))
}

/// Roles, ordered: viewer < analyst < admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Viewer,
    Analyst,
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "viewer" => Some(Self::Viewer),
            "analyst" => Some(Self::Analyst),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Analyst => "analyst",
            Self::Admin => "admin",
        }
    }
}

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The key's name, or `anonymous`.
    pub name: String,
    pub role: Option<Role>,
}

pub(crate) struct Inner {
    writer: Mutex<Store>,
    readers: Mutex<Vec<Store>>,
    pub(crate) cfg: ApiConfig,
    pub(crate) metrics_cfg: oversight_metrics::MetricsConfig,
    pub(crate) analysis_cfg: oversight_metrics::AnalysisConfig,
    pub(crate) stats: crate::telemetry::Stats,
    pub(crate) schedules: crate::schedule_def::Schedules,
    pub(crate) access_sink: std::sync::OnceLock<Box<dyn crate::telemetry::AccessSink>>,
    /// Random per start of the server: part of every `ETag` (the write generation starts again at 0).
    pub(crate) boot: u32,
    cors: Option<tower_http::cors::CorsLayer>,
    /// Bumped by every write: cached responses of an older generation are stale.
    generation: std::sync::atomic::AtomicU64,
    /// Rendered read responses (series), by canonical request, with the generation they were made in;
    /// weighed in bytes (three quarters of `cache_bytes`).
    cache: moka::sync::Cache<String, (u64, Cached)>,
    /// Every point of an (indicator, jurisdiction, grain), all groups and periods, by generation: any
    /// group or date window of it is then filtered in memory; weighed in bytes (a quarter of `cache_bytes`).
    pub(crate) points: moka::sync::Cache<PointsKey, (u64, SeriesPoints)>,
    /// Results reused until the next write, at most 4096 (see `memo.rs`).
    pub(crate) memo: moka::sync::Cache<String, (u64, Arc<dyn std::any::Any + Send + Sync>)>,
    /// The connection limit in force (`max_connections`, checked against the descriptor limit).
    pub(crate) max_connections: u64,
    /// Open connections (see [`crate::conns`]).
    pub(crate) conns: Arc<crate::registry::Registry>,
    /// Requests without a key in flight per client address.
    pub(crate) per_client: crate::telemetry::PerClient,
    /// Why the database is read-only, when it is (writes answer 405 saying so).
    read_only: Option<String>,
    /// The database file.
    db_path: std::path::PathBuf,
    /// Uncached renderings in progress at most (each may hold a response of megabytes while it is built):
    /// what bounds the memory of many concurrent uncached reads, whatever the number of connections.
    pub(crate) renders: tokio::sync::Semaphore,
    /// One threshold test samples at a time (it takes both cores for seconds to a minute); another request
    /// meanwhile gets 429. The permit is held by the computation itself, so a request that times out or
    /// goes away cannot free it while its sampler still runs.
    pub(crate) samplers: Arc<tokio::sync::Semaphore>,
    /// Set by the first error that shows the database file is damaged; `/readyz` answers 503 with it.
    corrupt: Mutex<Option<String>>,
}

/// Bytes a cached response holds (its body, key and bookkeeping).
fn response_weight(key: &str, c: &Cached) -> u64 {
    let basis = c.basis.as_ref().map_or(0, Basis::weight);
    (key.len() + c.body.len() + c.filename.as_ref().map_or(0, String::len) + basis + 96) as u64
}

/// Bytes the points of a series hold (the rows and their text).
pub(crate) fn points_weight(key: &PointsKey, pts: &SeriesPoints) -> u64 {
    let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    let text: usize = pts
        .points
        .iter()
        .map(|p| {
            p.indicator.len()
                + p.jurisdiction_id.len()
                + p.grain.len()
                + p.group.len()
                + opt(&p.ci_method)
                + opt(&p.reference_group)
                + opt(&p.suppression_reason)
                + opt(&p.note)
        })
        .sum();
    (key.1.len() + pts.points.len() * std::mem::size_of::<oversight_store::PointRow>() + pts.basis.weight() + text + 96)
        as u64
}

/// A byte-weighed cache: `weight` gives an entry's bytes (at most u32::MAX each).
fn weighed_cache<K, V>(bytes: u64, weight: fn(&K, &V) -> u64) -> moka::sync::Cache<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    moka::sync::Cache::builder()
        .max_capacity(bytes.max(1))
        .weigher(move |k: &K, v: &V| -> u32 { weight(k, v).min(u64::from(u32::MAX)) as u32 })
        .build()
}

/// (indicator, jurisdiction, grain).
pub(crate) type PointsKey = (IndicatorId, String, Grain);

/// The points of one (indicator, jurisdiction, grain), in period order, and the indicator run they are
/// as of (read in one snapshot).
pub(crate) type SeriesPoints = Arc<SeriesData>;

pub(crate) struct SeriesData {
    pub(crate) basis: Basis,
    pub(crate) points: Vec<oversight_store::PointRow>,
}

/// Which import batches the indicators in a response include: the last indicator run and the batches it
/// read. Sent as `X-Oversight-Indicator-Run` and `X-Oversight-Indicator-Batches`, so a response read while
/// a batch has landed but its indicators are still being computed says so (see `/v1/datasets`'
/// `batches_in_indicators`).
#[derive(Clone, Debug)]
pub(crate) struct Basis {
    /// The run's id, or `none`.
    pub(crate) run: axum::http::HeaderValue,
    /// The batch ids, as ranges: `1-7,9`.
    pub(crate) batches: axum::http::HeaderValue,
}

impl Basis {
    pub(crate) fn read(s: &Store) -> Result<Self, oversight_store::StoreError> {
        use axum::http::HeaderValue;
        let run = s.last_metric_run()?;
        let id = run.as_ref().map_or_else(|| "none".to_owned(), |r| r.id.to_string());
        let batches = run.map(|r| ranges(&r.batches)).unwrap_or_default();
        // Digits, commas and dashes: always a valid header value.
        Ok(Self {
            run: HeaderValue::from_str(&id).unwrap_or(HeaderValue::from_static("none")),
            batches: HeaderValue::from_str(&batches).unwrap_or(HeaderValue::from_static("")),
        })
    }

    pub(crate) fn headers(&self, h: &mut HeaderMap) {
        const RUN: HeaderName = HeaderName::from_static("x-oversight-indicator-run");
        const BATCHES: HeaderName = HeaderName::from_static("x-oversight-indicator-batches");
        h.insert(RUN, self.run.clone());
        h.insert(BATCHES, self.batches.clone());
    }

    fn weight(&self) -> usize {
        self.run.len() + self.batches.len() + 64
    }
}

/// Sorted ids as ranges: `[1,2,3,5]` → `1-3,5`.
pub(crate) fn ranges(ids: &[i64]) -> String {
    let mut v = ids.to_vec();
    v.sort_unstable();
    v.dedup();
    let mut out = String::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        if !out.is_empty() {
            out.push(',');
        }
        if j > i {
            out.push_str(&format!("{}-{}", v[i], v[j]));
        } else {
            out.push_str(&v[i].to_string());
        }
        i = j + 1;
    }
    out
}

/// A rendered response body and its content type.
#[derive(Clone)]
pub(crate) struct Cached {
    pub(crate) body: bytes::Bytes,
    pub(crate) content_type: &'static str,
    pub(crate) filename: Option<String>,
    pub(crate) basis: Option<Basis>,
}

/// Cheap to clone; every handler gets one.
#[derive(Clone)]
pub struct AppState(pub(crate) Arc<Inner>);

impl AppState {
    /// The state of a server; schedules are checked here (a bad cron expression, time zone, dataset or
    /// profile is an error naming the schedule) and started by [`crate::serve`].
    pub fn new(
        store: Store,
        cfg: ApiConfig,
        metrics_cfg: oversight_metrics::MetricsConfig,
        analysis_cfg: oversight_metrics::AnalysisConfig,
        schedules: Vec<crate::schedule_def::ScheduleConfig>,
    ) -> Result<Self, String> {
        let checked = crate::schedule_def::check_all(schedules)?;
        let cors = cors_layer(&cfg.cors_origins)?;
        let cache_bytes = cfg.cache_bytes;
        let max_connections = crate::registry::connection_limit(cfg.max_connections)?;
        let read_only = store.read_only().map(str::to_owned);
        let db_path = store.path().to_owned();
        Ok(Self(Arc::new(Inner {
            writer: Mutex::new(store),
            readers: Mutex::new(Vec::new()),
            cfg,
            metrics_cfg,
            analysis_cfg,
            stats: crate::telemetry::Stats::default(),
            schedules: crate::schedule_def::Schedules::new(checked),
            access_sink: std::sync::OnceLock::new(),
            boot: {
                use rand::RngExt;
                rand::rng().random()
            },
            cors,
            generation: std::sync::atomic::AtomicU64::new(0),
            cache: weighed_cache(cache_bytes / 4 * 3, |k: &String, v: &(u64, Cached)| response_weight(k, &v.1)),
            points: weighed_cache(cache_bytes / 4, |k: &PointsKey, v: &(u64, SeriesPoints)| points_weight(k, &v.1)),
            memo: moka::sync::Cache::new(4096),
            max_connections,
            conns: Arc::new(crate::registry::Registry::default()),
            per_client: crate::telemetry::PerClient::default(),
            read_only,
            db_path,
            corrupt: Mutex::new(None),
            renders: tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(4, |n| n.get() * 2)),
            samplers: Arc::new(tokio::sync::Semaphore::new(1)),
        })))
    }

    pub(crate) fn cfg(&self) -> &ApiConfig {
        &self.0.cfg
    }

    /// Runs `f` on a reader connection on the blocking pool.
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> ApiResult<T> + Send + 'static,
    ) -> ApiResult<T> {
        let inner = self.0.clone();
        let out = tokio::task::spawn_blocking(move || {
            let store = inner.take_reader()?;
            let out = f(&store);
            inner.readers.lock().unwrap_or_else(PoisonError::into_inner).push(store);
            out
        })
        .await?;
        self.note(out)
    }

    /// [`AppState::read`] in one snapshot with the indicator basis it read from (see [`Basis`]).
    pub(crate) async fn read_basis<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> ApiResult<T> + Send + 'static,
    ) -> ApiResult<(Basis, T)> {
        self.read(move |s| {
            let mut out = None;
            let basis = s.snapshot(|s| {
                let b = Basis::read(s)?;
                out = Some(f(s));
                Ok(b)
            })?;
            let value = out.unwrap_or_else(|| Err(ApiError::internal("read_basis", "the read did not run")))?;
            Ok((basis, value))
        })
        .await
    }

    /// Remembers an error that shows the database file is damaged (readiness fails from then on) and logs
    /// it once with the file's name.
    pub(crate) fn note<T>(&self, out: ApiResult<T>) -> ApiResult<T> {
        if let Err(e) = &out
            && e.code == ErrorCode::DatabaseCorrupt
        {
            let mut c = self.0.corrupt.lock().unwrap_or_else(PoisonError::into_inner);
            if c.is_none() {
                tracing::error!("the database file {} is damaged: {}", self.0.db_path.display(), e.message);
                *c = Some(e.message.clone());
            }
        }
        out
    }

    pub(crate) fn cors(&self) -> Option<tower_http::cors::CorsLayer> {
        self.0.cors.clone()
    }

    /// Where access lines go (see [`crate::telemetry::AccessSink`]). Set once, before serving.
    pub fn set_access_sink(&self, sink: Box<dyn crate::telemetry::AccessSink>) {
        let _ = self.0.access_sink.set(sink);
    }

    /// Where a reload (SIGHUP, `POST /v1/schedules/reload`) reads the schedules from: without it, a reload is
    /// refused saying so. Set once, before serving.
    pub fn set_schedule_source(&self, source: crate::schedule_def::ScheduleSource) {
        let _ = self.0.schedules.source.set(source);
    }

    /// The damage found in the database file, if any.
    pub(crate) fn corruption(&self) -> Option<String> {
        self.0.corrupt.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Refuses a write when the database is read-only (405, naming why).
    pub(crate) fn writable(&self) -> ApiResult<()> {
        match &self.0.read_only {
            None => Ok(()),
            Some(why) => Err(ApiError::new(
                ErrorCode::ReadOnly,
                format!(
                    "the server's database {} is read-only ({why}): it serves reads, and refuses writes{}",
                    self.0.db_path.display(),
                    self.0
                        .cfg
                        .writer_url
                        .as_deref()
                        .map(|w| format!("; send writes to the writer at {w}"))
                        .unwrap_or_default()
                ),
            )),
        }
    }

    pub(crate) fn read_only(&self) -> Option<&str> {
        self.0.read_only.as_deref()
    }

    /// Runs `f` on the writer connection on the blocking pool: one write at a time.
    pub(crate) async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> ApiResult<T> + Send + 'static,
    ) -> ApiResult<T> {
        self.writable()?;
        self.on_writer(f).await
    }

    /// Runs `f` on the writer connection with no write running meanwhile, also on a read-only database (a
    /// backup: a read that must see one moment while writes wait).
    pub(crate) async fn exclusive<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> ApiResult<T> + Send + 'static,
    ) -> ApiResult<T> {
        self.on_writer(f).await
    }

    async fn on_writer<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> ApiResult<T> + Send + 'static,
    ) -> ApiResult<T> {
        let inner = self.0.clone();
        // What the write logs (an import's batch and counts) carries the request's id.
        let span = crate::telemetry::request_span();
        let out = tokio::task::spawn_blocking(move || {
            let _in_request = span.enter();
            let store = inner.writer.lock().unwrap_or_else(PoisonError::into_inner);
            let out = f(&store);
            // Whatever the write did (even in part), cached reads made before it are stale.
            inner.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            out
        })
        .await?;
        self.note(out)
    }

    /// Returns once no write is running (shutdown waits for an import to commit or roll back).
    pub(crate) fn wait_for_writer(&self) {
        drop(self.0.writer.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// A reader connection to hand to a long-running blocking task (an extract stream).
    pub(crate) fn reader(&self) -> ApiResult<Store> {
        self.0.take_reader()
    }

    pub(crate) fn give_back(&self, store: Store) {
        self.0.readers.lock().unwrap_or_else(PoisonError::into_inner).push(store);
    }

    /// The caller, checked to hold at least `need` (None: a public read, allowed without a key when
    /// `public_reads` is on). A key that is given must be valid even where none is needed.
    pub(crate) async fn authorize(&self, headers: &HeaderMap, need: Option<Role>) -> ApiResult<Caller> {
        let token = match headers.get(axum::http::header::AUTHORIZATION) {
            None => None,
            Some(v) => {
                let v = v.to_str().unwrap_or("");
                match v.strip_prefix("Bearer ") {
                    Some(t) if !t.trim().is_empty() => Some(t.trim().to_owned()),
                    _ => return Err(unauthorized("the Authorization header must be `Bearer <API key>`")),
                }
            }
        };
        let need = need.or(if self.0.cfg.public_reads { None } else { Some(Role::Viewer) });
        let Some(token) = token else {
            return match need {
                None => Ok(Caller { name: "anonymous".into(), role: None }),
                Some(r) => {
                    Err(unauthorized(&format!("this endpoint needs an API key with role {} or higher", r.as_str())))
                }
            };
        };
        let hash = hash_key(&token);
        let key: Option<ApiKey> = self
            .read(move |s| {
                let k = s.api_key_by_hash(&hash)?;
                if let Some(k) = &k {
                    let _ = s.touch_api_key(k.id);
                }
                Ok(k)
            })
            .await?;
        let Some(key) = key else { return Err(unauthorized("unknown or revoked API key")) };
        let role = Role::parse(&key.role).unwrap_or(Role::Viewer);
        if let Some(need) = need
            && role < need
        {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                format!(
                    "key {:?} has role {}; this endpoint needs {} or higher",
                    key.name,
                    role.as_str(),
                    need.as_str()
                ),
            ));
        }
        Ok(Caller { name: key.name, role: Some(role) })
    }

    /// Records a write or an extract in `audit_log`. The row is appended on a reader connection, not the
    /// writer, on purpose: an audit entry must not wait minutes behind an import holding the writer, and an
    /// append cannot conflict with the writer's transactions (DuckDB's optimistic concurrency only conflicts on
    /// the same rows). The key's `last_used_at` (in `authorize`) is written the same way, for the same reason.
    pub(crate) async fn audit(
        &self,
        caller: &Caller,
        method: &str,
        endpoint: &str,
        parameters: serde_json::Value,
        status: u16,
        rows: Option<i64>,
    ) {
        let (name, method, endpoint, params) =
            (caller.name.clone(), method.to_owned(), endpoint.to_owned(), parameters.to_string());
        if self.read_only().is_some() {
            // The audit table cannot be written: the entry goes to the log instead.
            tracing::info!(target: "audit", key = %name, %method, %endpoint, parameters = %params, status, ?rows, "audit");
            return;
        }
        let res = self
            .read(move |s| {
                s.audit(&NewAuditEntry {
                    key_name: &name,
                    method: &method,
                    endpoint: &endpoint,
                    parameters: &params,
                    status: i32::from(status),
                    rows,
                })?;
                Ok(())
            })
            .await;
        if let Err(e) = res {
            tracing::error!("audit log write failed: {}", e.message);
        }
    }

    /// Bytes the read caches hold (by their weighers; moka's count lags its pending work slightly).
    pub(crate) fn cache_bytes_held(&self) -> u64 {
        self.0.cache.weighted_size() + self.0.points.weighted_size()
    }

    /// A cached response for `key` made since the last write.
    pub(crate) fn cached(&self, key: &str) -> Option<Cached> {
        let gen_now = self.0.generation.load(std::sync::atomic::Ordering::SeqCst);
        self.0.cache.get(key).filter(|(g, _)| *g == gen_now).map(|(_, c)| c)
    }

    /// Caches a response made while the generation was `gen_at_start` (if no write happened meanwhile).
    pub(crate) fn cache(&self, key: String, gen_at_start: u64, value: Cached) {
        if self.0.generation.load(std::sync::atomic::Ordering::SeqCst) != gen_at_start {
            return;
        }
        // A response too large for its share of the cache is served, not kept.
        if response_weight(&key, &value) > self.0.cfg.cache_bytes / 8 {
            return;
        }
        self.0.cache.insert(key, (gen_at_start, value));
    }

    pub(crate) fn generation(&self) -> u64 {
        self.0.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub(crate) fn timeout(&self) -> Duration {
        Duration::from_secs(self.0.cfg.request_timeout_secs.max(1))
    }
}

impl Inner {
    fn take_reader(&self) -> ApiResult<Store> {
        if let Some(s) = self.readers.lock().unwrap_or_else(PoisonError::into_inner).pop() {
            return Ok(s);
        }
        let w = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(w.try_clone()?)
    }
}

fn unauthorized(msg: &str) -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, msg)
}

/// sha256 of a key, hex: what `api_keys` stores.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Creates a key: returns the key (to show once) and its stored row.
pub fn create_key(store: &Store, name: &str, role: Role) -> Result<(String, ApiKey), oversight_store::StoreError> {
    use rand::RngExt;
    let bytes: [u8; 24] = rand::rng().random();
    let key = format!("ovs_{}", hex::encode(bytes));
    let row = store.insert_api_key(name, role.as_str(), &key[..12], &hash_key(&key))?;
    Ok((key, row))
}
