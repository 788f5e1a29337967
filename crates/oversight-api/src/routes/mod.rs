//! The HTTP layer, one module per resource. Each handler states the role it needs (an extractor from
//! [`crate::auth`]) and its query parameters (a typed struct through [`crate::query::Query`]), calls one
//! function of the layers below on the blocking pool, and shapes the answer. Routes are registered with
//! their OpenAPI documentation in one place ([`api`]).

mod admin;
mod analyses;
mod disparities;
mod extracts;
mod imports;
mod indicators;
mod jurisdictions;
mod policy;

pub use indicators::{IndicatorDoc, SeriesPoint};
pub use jurisdictions::JurisdictionChanges;
pub use policy::NewEvent;

use crate::error::{ApiError, ApiResult};
use crate::query::encode_cursor;
use crate::state::{AppState, Basis};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use oversight_core::ErrorCode;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Every route of the API with its documentation, in two parts: reads and small writes, cut off at
/// `api.request_timeout_secs`; and uploads, extracts and schedule runs, which stream for as long as they need.
pub(crate) fn api(timeout: std::time::Duration) -> OpenApiRouter<AppState> {
    let bounded = OpenApiRouter::new()
        .routes(routes!(indicators::indicators))
        .routes(routes!(indicators::indicator))
        .routes(routes!(indicators::series))
        .routes(routes!(indicators::series_csv))
        .routes(routes!(disparities::disparities_stops))
        .routes(routes!(disparities::disparities_complaints))
        .routes(routes!(disparities::disparities_detainers))
        .routes(routes!(jurisdictions::jurisdictions))
        .routes(routes!(jurisdictions::jurisdiction, jurisdictions::jurisdiction_patch))
        .routes(routes!(jurisdictions::datasets))
        .routes(routes!(policy::events_list, policy::events_add))
        .routes(routes!(policy::events_remove))
        .routes(routes!(analyses::impact))
        .routes(routes!(analyses::vod))
        .routes(routes!(imports::imports_list))
        .routes(routes!(imports::import_rejects))
        .routes(routes!(admin::audit))
        .routes(routes!(extracts::extract_manifest))
        .routes(routes!(admin::schedules))
        .routes(routes!(crate::ops::healthz))
        .routes(routes!(crate::ops::readyz))
        .routes(routes!(crate::ops::metrics))
        // The handlers that read a body (policy events, jurisdiction changes) enforce api.max_body_bytes
        // themselves, with the common error body.
        .layer(DefaultBodyLimit::disable())
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout));
    let streaming = OpenApiRouter::new()
        .routes(routes!(imports::import, imports::import_get))
        .routes(routes!(extracts::extract))
        .routes(routes!(admin::schedule_run))
        // Uploads are spooled to disk with api.max_upload_bytes enforced as they stream (our 413 body).
        .layer(DefaultBodyLimit::disable());
    bounded.merge(streaming)
}

/// A page of a list: items and the cursor of the next page (null on the last).
#[derive(Debug, Serialize, ToSchema)]
pub struct Page {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Value>,
    pub next_cursor: Option<String>,
}

/// A page of `items` whose cursor is the last item's id, when the page is full.
fn page<T: Serialize>(items: Vec<T>, limit: usize, cursor_of: impl Fn(&T) -> i64) -> ApiResult<Response> {
    let next = if items.len() == limit { items.last().map(|i| encode_cursor(cursor_of(i))) } else { None };
    page_response(&items, next)
}

fn page_response<T: Serialize>(items: &[T], next_cursor: Option<String>) -> ApiResult<Response> {
    let items = items
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::internal("json", e))?;
    Ok(Json(Page { items, next_cursor }).into_response())
}

/// A CSV document written by serialising `rows` (the header from the first row's field names, or `header`
/// when there is none).
fn csv_of<T: Serialize>(header: &[&str], rows: impl IntoIterator<Item = T>) -> ApiResult<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut rows = rows.into_iter().peekable();
    let write = |w: &mut csv::Writer<Vec<u8>>| -> Result<(), csv::Error> {
        if rows.peek().is_none() {
            w.write_record(header)?;
        }
        for r in rows {
            w.serialize(r)?;
        }
        w.flush()?;
        Ok(())
    };
    write(&mut w).map_err(|e| ApiError::internal("csv", e))?;
    w.into_inner().map_err(|e| ApiError::internal("csv", e.into_error()))
}

fn wants_csv(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/csv"))
}

fn csv_response(body: Vec<u8>, filename: &str) -> Response {
    let mut r = Body::from(body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

fn id_param(name: &str, raw: &str) -> ApiResult<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::param(name, format!("expected a positive whole number, got {raw:?}")))
}

/// A response with the indicator-basis headers (which batches its indicators include).
fn with_basis(mut r: Response, basis: &Basis) -> Response {
    basis.headers(r.headers_mut());
    r
}

/// A request body, at most `api.max_body_bytes` (413 with the common error body past it).
async fn read_body(st: &AppState, body: Body) -> ApiResult<Bytes> {
    let max = st.cfg().max_body_bytes;
    axum::body::to_bytes(body, max).await.map_err(|_| {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the body is larger than {max} bytes (api.max_body_bytes) or was cut off"),
        )
    })
}

/// Query parameters of an endpoint that takes none.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct NoParams {}

/// Fallback: unknown paths get the common error body.
pub(crate) async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such endpoint (see /openapi.json)")
}
