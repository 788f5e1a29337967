//! The REST layer of Oversight: an axum router of thin handlers over the store and the indicator jobs,
//! documented with utoipa (`/openapi.json`, interactive docs at `/docs` with assets embedded), bearer API
//! keys with roles, an audit log of writes and extracts, streamed extracts, and `serve()` with graceful
//! shutdown. Every DuckDB and polars call runs on the blocking pool.

mod auth;
mod conns;
mod error;
mod extracts;
mod http_cache;
mod memo;
mod ops;
mod query;
mod registry;
mod routes;
mod schedule;
mod schedule_def;
mod state;
mod tables;
mod telemetry;
mod upload;

pub use error::{ApiError, ErrorBody, status_of};
pub use extracts::ExtractManifest;
pub use oversight_core::public::public_columns;
pub use oversight_metrics::{DisparityRow, DisparityTable};
pub use routes::{BackupTarget, IndicatorDoc, JurisdictionChanges, NewEvent, NewKey, Page};
pub use schedule::{ScheduleConfig, ScheduleStatus};
pub use schedule_def::ScheduleSource;
pub use state::{ApiConfig, AppState, Caller, Role, create_key, hash_key};
pub use telemetry::{AccessLine, AccessSink};

use axum::Router;
use std::future::Future;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The document's frame: what the API is, its components and tags. The paths come from the routes
/// themselves (`routes::api`), registered once with their documentation.
#[derive(OpenApi)]
#[openapi(
    info(title = "Oversight", description = "Accountability indicators from police stops, ICE detainer requests, crime reports and civilian complaints. \
        Every rate carries its numerator and denominator, every ratio its confidence interval and method; small counts are withheld. \
        Reads are public unless the server says otherwise; writes need an `analyst` key, the audit log an `admin` key (Authorization: Bearer <key>)."),
    components(schemas(ErrorBody, oversight_metrics::compare::Comparison, oversight_metrics::compare::CompareRow, routes::Page, routes::IndicatorDoc, oversight_metrics::published::PublishedPoint, routes::NewEvent, routes::NewKey, routes::BackupTarget, routes::JurisdictionChanges, DisparityTable, DisparityRow, ScheduleStatus, extracts::ExtractManifest)),
    modifiers(&BearerAuth),
    tags((name = "indicators"), (name = "disparities"), (name = "data"), (name = "policy"), (name = "imports"), (name = "extracts"), (name = "admin"), (name = "schedules"), (name = "operations")),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(c) = openapi.components.as_mut() {
            c.add_security_scheme("api_key", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
        }
    }
}

/// The OpenAPI document: the frame with every route's documentation.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(routes::api(std::time::Duration::from_secs(1)).into_openapi());
    doc
}

/// The OpenAPI document, pretty JSON (what `oversight openapi` prints and `openapi/openapi.json` holds).
pub fn openapi_json() -> String {
    openapi().to_pretty_json().unwrap_or_default() + "\n"
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let (api, paths) = routes::api(state.timeout()).split_for_parts();
    let mut doc = ApiDoc::openapi();
    doc.merge(paths);
    let app = api
        .merge(utoipa_swagger_ui::SwaggerUi::new("/docs").url("/openapi.json", doc))
        .merge(routes::pages())
        .fallback(routes::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), ops::track));
    // Browsers on the configured origins may read (and send keys); others get no CORS headers.
    let app = match state.cors() {
        Some(cors) => app.layer(cors),
        None => app,
    };
    app.with_state(state)
}

/// Serves until `shutdown` resolves, running the schedules (not on a read-only database), with the
/// connection discipline of [`conns`]: header, idle and upload deadlines, at most `max_connections`, and
/// requests in flight given `shutdown_grace_secs` to finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    match state.read_only() {
        None => schedule::spawn_all(&state),
        Some(why) if !state.0.schedules.list().is_empty() => {
            tracing::warn!("the database is read-only ({why}): the schedules do not run");
        }
        Some(_) => {}
    }
    // Every block read once, in the background: a damaged file shows in /readyz soon after start-up, not
    // only when some request happens to read the bad block.
    let st = state.clone();
    tokio::spawn(async move {
        let t = std::time::Instant::now();
        match st.read(|s| Ok(s.scrub()?)).await {
            Ok(()) => tracing::info!("read every block of the database in {:.1} s", t.elapsed().as_secs_f64()),
            Err(e) => tracing::warn!("reading every block of the database: {}", e.message),
        }
    });
    #[cfg(unix)]
    {
        // SIGHUP re-reads the schedules, as POST /v1/schedules/reload does.
        let st = state.clone();
        if let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            tokio::spawn(async move {
                while hup.recv().await.is_some() {
                    if let Err(e) = schedule::reload(&st).await {
                        tracing::error!("SIGHUP: {}", e.message);
                    }
                }
            });
        }
    }
    let app = router(state.clone());
    conns::run(listener, state, app, shutdown).await
}
