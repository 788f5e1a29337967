//! The HTTP layer, one module per resource. Each handler states the role it needs (an extractor from
//! [`crate::auth`]) and its query parameters (a typed struct through [`crate::query::Query`]), calls one
//! function of the layers below on the blocking pool, and shapes the answer. Routes are registered with
//! their OpenAPI documentation in one place ([`api`]).

mod admin;
mod analyses;
mod charts;
mod disparities;
mod extracts;
mod imports;
mod indicators;
mod jurisdictions;
mod keys;
mod pages;
mod policy;
mod runs;
mod shared;
mod tables;
mod threshold;

pub use admin::BackupTarget;
pub use indicators::IndicatorDoc;
pub use jurisdictions::JurisdictionChanges;
pub use keys::NewKey;
pub(crate) use pages::pages;
pub use policy::NewEvent;
pub use shared::Page;

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use oversight_core::ErrorCode;
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
        .routes(routes!(indicators::series_svg))
        .routes(routes!(charts::compare))
        .routes(routes!(charts::compare_csv))
        .routes(routes!(charts::compare_svg))
        .routes(routes!(disparities::disparities_stops))
        .routes(routes!(disparities::disparities_complaints))
        .routes(routes!(disparities::disparities_detainers))
        .routes(routes!(disparities::disparities_stops_csv))
        .routes(routes!(disparities::disparities_complaints_csv))
        .routes(routes!(disparities::disparities_detainers_csv))
        .routes(routes!(disparities::disparities_stops_svg))
        .routes(routes!(disparities::disparities_complaints_svg))
        .routes(routes!(disparities::disparities_detainers_svg))
        .routes(routes!(jurisdictions::jurisdictions))
        .routes(routes!(jurisdictions::jurisdiction, jurisdictions::jurisdiction_patch))
        .routes(routes!(jurisdictions::datasets))
        .routes(routes!(policy::events_list, policy::events_add))
        .routes(routes!(policy::events_remove))
        .routes(routes!(analyses::impact))
        .routes(routes!(analyses::impact_svg))
        .routes(routes!(analyses::vod))
        .routes(routes!(threshold::threshold_test))
        .routes(routes!(imports::imports_list))
        .routes(routes!(imports::import_rejects))
        .routes(routes!(admin::audit))
        .routes(routes!(keys::keys_list, keys::keys_create))
        .routes(routes!(keys::keys_revoke))
        .routes(routes!(runs::quality))
        .routes(routes!(extracts::extract_manifest))
        .routes(routes!(tables::table))
        .routes(routes!(extracts::extract_datapackage))
        .routes(routes!(extracts::extract_dictionary))
        .routes(routes!(admin::schedules))
        .routes(routes!(admin::schedules_reload))
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
        .routes(routes!(runs::compute))
        .routes(routes!(admin::backup))
        // Uploads are spooled to disk with api.max_upload_bytes enforced as they stream (our 413 body).
        .layer(DefaultBodyLimit::disable());
    bounded.merge(streaming)
}

/// Fallback: unknown paths get the common error body.
pub(crate) async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such endpoint (see /openapi.json)")
}
