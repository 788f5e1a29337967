//! Record-level extracts (public columns only) and their manifests.

use crate::auth::Reader;
use crate::error::{ApiResult, ErrorBody};
use crate::extracts::ExtractParams;
use crate::query::Query;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::Response;

/// Record-level extract: CSV streamed in constant memory, or Parquet; personal identifiers never included.
/// Provenance (source batches, filters) is in the `X-Oversight-Source-Batches` and `X-Oversight-Filters` headers.
#[utoipa::path(get, path = "/v1/extracts/{dataset}", tag = "extracts",
    params(("dataset" = String, Path, description = "stops, detainers, crime-reports, complaints, policy-events or populations"), ExtractParams),
    responses((status = 200, description = "CSV (or Parquet)", content_type = "text/csv", body = String, example = "batch_id,source_row,jurisdiction_id,date\n1,2,demo-city,2016-01-01\n"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn extract(
    State(st): State<AppState>,
    Reader(caller): Reader,
    Path(dataset): Path<String>,
    Query(q): Query<ExtractParams>,
) -> ApiResult<Response> {
    crate::extracts::extract(st, caller, &dataset, q).await
}

/// The sidecar of an extract: its file name, filters, columns, what is withheld, and the source batches.
#[utoipa::path(get, path = "/v1/extracts/{dataset}/manifest", tag = "extracts", params(("dataset" = String, Path), ExtractParams),
    responses((status = 200, body = crate::extracts::ExtractManifest), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn extract_manifest(
    State(st): State<AppState>,
    _: Reader,
    Path(dataset): Path<String>,
    Query(q): Query<ExtractParams>,
) -> ApiResult<Response> {
    crate::extracts::manifest(st, &dataset, q).await
}
