//! The REST layer of Oversight: an axum router of thin handlers over the store and the indicator jobs,
//! documented with utoipa (`/openapi.json`, interactive docs at `/docs` with assets embedded), bearer API
//! keys with roles, an audit log of writes and extracts, streamed extracts, and `serve()` with graceful
//! shutdown. Every DuckDB and polars call runs on the blocking pool.

mod conns;
mod disparities;
mod error;
mod extracts;
mod imports;
mod ops;
mod params;
mod routes;
mod schedule;
mod state;

pub use disparities::{DisparityRow, DisparityTable};
pub use error::{ApiError, ErrorBody, status_of};
pub use extracts::{ExtractManifest, public_columns};
pub use routes::{IndicatorDoc, JurisdictionChanges, NewEvent, Page, SeriesPoint};
pub use schedule::{ScheduleConfig, ScheduleStatus};
pub use state::{ApiConfig, AppState, Caller, Role, create_key, hash_key};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use std::future::Future;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Oversight", description = "Accountability indicators from police stops, ICE detainer requests, crime reports and civilian complaints. \
        Every rate carries its numerator and denominator, every ratio its confidence interval and method; small counts are withheld. \
        Reads are public unless the server says otherwise; writes need an `analyst` key, the audit log an `admin` key (Authorization: Bearer <key>)."),
    paths(
        routes::indicators, routes::indicator, routes::series, routes::series_csv,
        routes::disparities_stops, routes::disparities_complaints, routes::disparities_detainers,
        routes::jurisdictions, routes::jurisdiction, routes::jurisdiction_patch, routes::datasets,
        routes::events_list, routes::events_add, routes::events_remove, routes::impact, routes::vod,
        imports::import, routes::imports_list, routes::import_get, routes::import_rejects,
        routes::extract, routes::extract_manifest, routes::audit, routes::schedules, routes::schedule_run,
        ops::healthz, ops::readyz, ops::metrics,
    ),
    components(schemas(ErrorBody, routes::Page, routes::IndicatorDoc, routes::SeriesPoint, routes::NewEvent, routes::JurisdictionChanges, DisparityTable, DisparityRow, ScheduleStatus, extracts::ExtractManifest)),
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

/// The OpenAPI document, pretty JSON (what `oversight openapi` prints and `openapi/openapi.json` holds).
pub fn openapi_json() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_default() + "\n"
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let timeout = state.timeout();
    // Uploads and extracts stream for as long as they need; everything else is cut off at the timeout.
    let bounded = Router::new()
        .route("/v1/indicators", get(routes::indicators))
        .route("/v1/indicators/{id}", get(routes::indicator))
        .route("/v1/indicators/{id}/series", get(routes::series))
        .route("/v1/indicators/{id}/series.csv", get(routes::series_csv))
        .route("/v1/disparities/stops", get(routes::disparities_stops))
        .route("/v1/disparities/complaints", get(routes::disparities_complaints))
        .route("/v1/disparities/detainers", get(routes::disparities_detainers))
        .route("/v1/jurisdictions", get(routes::jurisdictions))
        .route("/v1/jurisdictions/{id}", get(routes::jurisdiction).patch(routes::jurisdiction_patch))
        .route("/v1/datasets", get(routes::datasets))
        .route("/v1/policy-events", get(routes::events_list).post(routes::events_add))
        .route("/v1/policy-events/{id}", axum::routing::delete(routes::events_remove))
        .route("/v1/policy-events/{id}/impact", get(routes::impact))
        .route("/v1/veil-of-darkness", get(routes::vod))
        .route("/v1/imports", get(routes::imports_list))
        .route("/v1/imports/{batch}/rejects", get(routes::import_rejects))
        .route("/v1/audit", get(routes::audit))
        .route("/v1/extracts/{dataset}/manifest", get(routes::extract_manifest))
        .route("/v1/schedules", get(routes::schedules))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        // The one handler that reads a body (POST /v1/policy-events) enforces api.max_body_bytes itself, with
        // the common error body.
        .layer(DefaultBodyLimit::disable())
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout));
    let streaming = Router::new()
        .route("/v1/imports/{id}", post(imports::import).get(routes::import_get))
        .route("/v1/extracts/{dataset}", get(routes::extract))
        .route("/v1/schedules/{name}/run", post(routes::schedule_run))
        // Uploads are spooled to disk with api.max_upload_bytes enforced as they stream (our 413 body).
        .layer(DefaultBodyLimit::disable());
    Router::new()
        .merge(bounded)
        .merge(streaming)
        .merge(utoipa_swagger_ui::SwaggerUi::new("/docs").url("/openapi.json", ApiDoc::openapi()))
        .fallback(routes::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), ops::track))
        .with_state(state)
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
        Some(why) if !state.0.schedules.is_empty() => {
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
    let app = router(state.clone());
    conns::run(listener, state, app, shutdown).await
}
