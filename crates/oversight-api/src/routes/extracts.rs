//! Record-level extracts (public columns only) and their manifests.

use super::shared::AcceptsGzip;
use crate::auth::Reader;
use crate::error::{ApiResult, ErrorBody};
use crate::extracts::ExtractParams;
use crate::state::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;

/// Record-level extract: CSV or JSON Lines streamed in constant memory, or Parquet; personal identifiers never included.
///
/// Besides the parameters below, any public column filters the rows: `column=value`, or
/// `column__op=value` with op one of exact, not, in, notin (comma-separated values), gt, gte, lt, lte (numbers,
/// dates, times), isnull (true or false) and contains (free text): `subject_race=black`, `district__in=4,5`,
/// `age__gte=18`, `date__lt=2020-01-01`, `outcome__isnull=true`; `not` and `notin` keep empty cells (everything
/// but the values given). A value is checked against the column's type
/// (a code against its code list). Rows come in a stable order (`_sort`, then the date, batch and source line).
/// Text cells that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) get a leading `'`.
/// CSV and JSON Lines come gzip-compressed when the request accepts it (`Accept-Encoding: gzip`).
/// Provenance (source batches, filters) is in the `X-Oversight-Source-Batches` and `X-Oversight-Filters` headers.
#[utoipa::path(get, path = "/v1/extracts/{dataset}", tag = "extracts",
    params(("dataset" = String, Path, description = "stops, detainers, crime-reports, complaints, allegations (by their complaint), policy-events or populations"), ExtractParams),
    responses((status = 200, description = "CSV (or JSON Lines, or Parquet)", content_type = "text/csv", body = String, example = "batch_id,source_row,jurisdiction_id,date\n1,2,demo-city,2016-01-01\n"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn extract(
    State(st): State<AppState>,
    Reader(caller): Reader,
    AcceptsGzip(gzip): AcceptsGzip,
    Path(dataset): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let req = crate::extracts::request(query.as_deref())?;
    crate::extracts::extract(st, caller, &dataset, req, gzip).await
}

/// The sidecar of an extract: its file name, filters, columns, what is withheld, and the source batches.
#[utoipa::path(get, path = "/v1/extracts/{dataset}/manifest", tag = "extracts", params(("dataset" = String, Path), ExtractParams),
    responses((status = 200, body = crate::extracts::ExtractManifest), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn extract_manifest(
    State(st): State<AppState>,
    _: Reader,
    Path(dataset): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    crate::extracts::manifest(st, &dataset, crate::extracts::request(query.as_deref())?).await
}

/// The data dictionary of an extract: a Frictionless Data Package (`datapackage.json`) describing the file
/// the same parameters give.
///
/// Column names, types and descriptions, the codes of each coded column with their meanings, the file's
/// dialect (delimiter, byte-order mark), the licences and sources the batches' profiles declare, the filters,
/// and what is withheld and why. `frictionless validate` checks the file against it.
#[utoipa::path(get, path = "/v1/extracts/{dataset}/datapackage.json", tag = "extracts", params(("dataset" = String, Path), ExtractParams),
    responses((status = 200, description = "A Frictionless Data Package", body = Object, example = json!({"profile": "tabular-data-package", "name": "oversight-stops-demo-city",
        "resources": [{"name": "oversight-stops-demo-city", "path": "oversight-stops-demo-city.csv", "format": "csv", "schema": {"fields": [{"name": "date", "type": "date", "description": "Local date of the stop."}]}}]})),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn extract_datapackage(
    State(st): State<AppState>,
    _: Reader,
    Path(dataset): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    crate::extracts::dictionary(st, &dataset, crate::extracts::request(query.as_deref())?, false).await
}

/// The data dictionary of an extract as an HTML page.
#[utoipa::path(get, path = "/v1/extracts/{dataset}/dictionary.html", tag = "extracts", params(("dataset" = String, Path), ExtractParams),
    responses((status = 200, description = "HTML", content_type = "text/html", body = String, example = "<!doctype html><html lang=\"en\">…</html>"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn extract_dictionary(
    State(st): State<AppState>,
    _: Reader,
    Path(dataset): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    crate::extracts::dictionary(st, &dataset, crate::extracts::request(query.as_deref())?, true).await
}
