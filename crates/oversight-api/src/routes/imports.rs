//! Imports: the upload (analyst), the batches, and a batch's rejected rows.

use super::shared::{AcceptsCsv, NoParams, csv_of, csv_response, id_param, page};
use crate::auth::{Analyst, Reader};
use crate::error::{ApiError, ApiResult, ErrorBody, status_of};
use crate::query::{PageQuery, Query};
use crate::state::{AppState, Caller};
use crate::upload;
use axum::Json;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use oversight_core::Dataset;
use oversight_import::{ImportOutcome, ImportRequest};
use oversight_service::Recomputed;
use serde_json::{Value, json};

/// The parameters of an upload.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct UploadQuery {
    /// A shipped profile name (see `oversight profiles`).
    profile: String,
    jurisdiction: Option<String>,
    /// Supersede the batch that holds this file.
    #[serde(default)]
    replace: bool,
    /// Name recorded for a raw body (default upload.csv).
    filename: Option<String>,
}

/// Imports a file into a dataset (analyst).
#[utoipa::path(post, path = "/v1/imports/{id}", tag = "imports", security(("api_key" = [])),
    params(("id" = String, Path, description = "the dataset: stops, detainers, crime-reports, complaints, policy-events or populations"), UploadQuery),
    request_body(content = String, description = "The file as the body (text/csv, application/octet-stream), or multipart/form-data with one part per file", content_type = "text/csv"),
    responses((status = 201, description = "Imported", body = Object, example = json!({"status": "imported", "batch": {"id": 7, "rows_accepted": 100, "rows_rejected": 2}})),
        (status = 200, description = "Already imported: nothing changed", body = Object, example = json!({"status": "already_imported", "batch": {"id": 7}})),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, description = "The file was refused (an error body), or it landed with more rejects than `[import] max_reject_share` allows (the import summary, with status `imported_with_too_many_rejects`)", body = Object)))]
pub(crate) async fn import(
    State(st): State<AppState>,
    Analyst(caller): Analyst,
    Path(dataset): Path<String>,
    RawQuery(q): RawQuery,
    req: Request,
) -> ApiResult<Response> {
    let req = upload::refuse_unless_writable(&st, req).await?;
    let ds: Dataset = dataset.parse().map_err(|_| ApiError::not_found("dataset", &dataset))?;
    let q: UploadQuery = crate::query::parse(q.as_deref())?;
    let profile = upload::shipped_profile(&q.profile, ds)?;
    let (dir, files) =
        upload::spool(&st, req, &upload::sanitize(q.filename.as_deref().unwrap_or("upload.csv"))).await?;
    let params = json!({"dataset": dataset, "profile": q.profile, "jurisdiction": q.jurisdiction, "replace": q.replace,
        "files": files.iter().map(|f| f.name.clone()).collect::<Vec<_>>()});
    let request = ImportRequest {
        jurisdiction: q.jurisdiction,
        replace: q.replace,
        max_reject_share: st.cfg().import.max_reject_share,
        ..ImportRequest::new(profile, files, "api")
    };
    let st2 = st.clone();
    let applied = st
        .write(move |s| {
            let res = oversight_service::import_and_recompute(s, &request, &st2.0.metrics_cfg);
            drop(dir);
            let (outcome, compute, import_time) = res?;
            st2.0.stats.job("import", import_time.as_secs_f64());
            if let Some(c) = &compute {
                st2.0.stats.job("compute", c.time.as_secs_f64());
            }
            Ok((outcome, compute))
        })
        .await;
    respond(&st, &caller, params, applied).await
}

/// The answer to an upload, audited: 201 with the summary, 422 when it landed mostly as rejects, 200 when
/// the file was already imported, or the error.
async fn respond(
    st: &AppState,
    caller: &Caller,
    params: Value,
    applied: ApiResult<(ImportOutcome, Option<Recomputed>)>,
) -> ApiResult<Response> {
    let (outcome, compute) = match applied {
        Ok(o) => o,
        Err(e) => {
            st.audit(caller, "POST", "/v1/imports/{dataset}", params, status_of(e.code).as_u16(), None).await;
            return Err(e);
        }
    };
    let (status, body, rows) = match outcome {
        ImportOutcome::Imported(report) => imported(st, &report, compute),
        ImportOutcome::AlreadyImported(b) => (
            StatusCode::OK,
            json!({"status": "already_imported", "batch": b,
            "message": "this file is already imported; nothing changed (replace=true imports it again)"}),
            Some(0),
        ),
    };
    st.audit(caller, "POST", "/v1/imports/{dataset}", params, status.as_u16(), rows).await;
    Ok((status, Json(body)).into_response())
}

fn imported(
    st: &AppState,
    report: &oversight_import::ImportReport,
    compute: Option<Recomputed>,
) -> (StatusCode, Value, Option<i64>) {
    // An import that is mostly rejects landed, but is no success: 422 with the same summary.
    let (status, state) = if report.over_reject_share {
        (StatusCode::UNPROCESSABLE_ENTITY, "imported_with_too_many_rejects")
    } else {
        (StatusCode::CREATED, "imported")
    };
    let message = report.over_reject_share.then(|| {
        format!(
            "{:.1}% of the rows were rejected, above the limit of {:.1}% ([import] max_reject_share): the \
             batch landed; see GET /v1/imports/{}/rejects",
            100.0 * report.reject_share,
            100.0 * st.cfg().import.max_reject_share,
            report.batch.id
        )
    });
    let body = json!({"status": state, "message": message, "batch": report.batch, "tables": report.tables,
        "top_reject_reasons": report.top_reasons, "jurisdictions_created": report.jurisdictions_created,
        "warnings": report.warnings, "reject_share": report.reject_share,
        "compute": compute.map(|c| json!({"message": c.report.message, "points_written": c.report.points_written}))});
    (status, body, Some(report.batch.rows_accepted))
}

/// Import batches, newest first (cursor pagination).
#[utoipa::path(get, path = "/v1/imports", tag = "imports", params(PageQuery),
    responses((status = 200, body = super::shared::Page, example = json!({"items": [{"id": 3, "dataset": "stops", "profile": "opp", "files": [{"role": "main", "name": "ct_hartford_2020_04_01.csv", "sha256": "5e1f…", "bytes": 4719023}],
        "rows_read": 18439, "rows_accepted": 18435, "rows_rejected": 4, "status": "committed", "origin": "cli"}], "next_cursor": "c3"})), (status = 400, body = ErrorBody)))]
pub(crate) async fn imports_list(
    State(st): State<AppState>,
    _: Reader,
    Query(q): Query<PageQuery>,
) -> ApiResult<Response> {
    let (limit, before) = (q.limit(), q.cursor);
    let items = st.read(move |s| Ok(s.list_batches(before, limit)?)).await?;
    page(items, limit, |b| b.id)
}

/// One import batch.
#[utoipa::path(get, path = "/v1/imports/{id}", tag = "imports", params(("id" = i64, Path, description = "the batch id"), NoParams),
    responses((status = 200, body = Object, example = json!({"id": 1, "dataset": "stops", "profile": "canonical", "rows_read": 19001, "rows_accepted": 19001, "rows_rejected": 0, "status": "committed"})),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn import_get(
    State(st): State<AppState>,
    _: Reader,
    Path(batch): Path<String>,
    _: Query<NoParams>,
) -> ApiResult<Response> {
    let id = id_param("batch", &batch)?;
    let b = st.read(move |s| Ok(s.batch(id)?)).await?;
    Ok(Json(b).into_response())
}

/// A line of the rejects CSV.
#[derive(serde::Serialize)]
struct RejectCsv<'a> {
    batch_id: i64,
    file: &'a str,
    line: i64,
    column: Option<&'a str>,
    value: Option<&'a str>,
    reason: &'a str,
}

/// A batch's rejected rows: file, line, column, value and reason (analyst: values may hold personal data).
#[utoipa::path(get, path = "/v1/imports/{batch}/rejects", tag = "imports", params(("batch" = i64, Path), PageQuery), security(("api_key" = [])),
    responses((status = 200, body = super::shared::Page, example = json!({"items": [{"batch_id": 1, "seq": 1, "file": "stops.csv", "line": 7, "column": "date", "value": "", "reason": "a stop needs a date"}], "next_cursor": null})),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn import_rejects(
    State(st): State<AppState>,
    _: Analyst,
    AcceptsCsv(csv): AcceptsCsv,
    Path(batch): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Response> {
    let id = id_param("batch", &batch)?;
    let (limit, after) = (q.limit(), q.cursor);
    let rows = st
        .read(move |s| {
            s.batch(id)?;
            Ok(s.rejects(id, after, limit)?)
        })
        .await?;
    if !csv {
        return page(rows, limit, |r| r.seq);
    }
    let header = ["batch_id", "file", "line", "column", "value", "reason"];
    let body = csv_of(
        &header,
        rows.iter().map(|r| RejectCsv {
            batch_id: r.batch_id,
            file: &r.file,
            line: r.line,
            column: r.column.as_deref(),
            value: r.value.as_deref(),
            reason: &r.reason,
        }),
    )?;
    Ok(csv_response(body, &format!("rejects-batch-{id}.csv")))
}
