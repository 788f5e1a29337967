//! Safe tables for publication.

use crate::auth::Reader;
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;
use crate::tables::TableParams;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;

/// A cross-tabulation of a dataset's records, safe to publish.
///
/// Counts by `rows` (and `columns`) — public coded, true/false or text columns, or periods — with the margins,
/// and with `measure` the share of records with a true/false column true, with its interval. Any other
/// parameter is a row filter, as for extracts (`subject_race=black`, `age__gte=18`, …). Disclosure control as
/// for the indicators: a count above zero and under the threshold is withheld, and so is one more cell of any
/// row, column or margin that would give a withheld cell back by subtraction. JSON, CSV or a plain HTML page.
#[utoipa::path(get, path = "/v1/tables/{dataset}", tag = "extracts",
    params(("dataset" = String, Path, description = "stops, detainers, crime-reports, complaints, allegations (by their complaint), policy-events or populations"), TableParams),
    responses((status = 200, body = oversight_service::tables::TableResponse, example = json!({"dataset": "stops", "rows_by": "subject_race", "columns_by": "year",
        "measure": "search_conducted", "filters": {"jurisdiction": "demo-city", "from": null, "to": null, "where": []}, "threshold": 11, "confidence": 0.95,
        "rows": ["black", "white"], "columns": ["2019", "2020"],
        "cells": [{"row": "black", "column": "2019", "count": 812, "numerator": 95, "denominator": 806, "share": 0.118, "ci_low": 0.097, "ci_high": 0.142, "withheld": false, "reason": null}],
        "row_totals": [], "column_totals": [], "total": {"row": "all", "column": "all", "count": 19001, "numerator": 1200, "denominator": 18950, "share": 0.063, "ci_low": 0.06, "ci_high": 0.067, "withheld": false, "reason": null},
        "notes": ["counts above zero and under 11 are withheld"]})),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn table(
    State(st): State<AppState>,
    _: Reader,
    Path(dataset): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    crate::tables::table(st, &dataset, query.as_deref()).await
}
