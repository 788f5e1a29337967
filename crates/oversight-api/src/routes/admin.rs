//! Administration: the audit log and the scheduled imports.

use super::shared::{NoParams, page};
use crate::auth::{Admin, Analyst, Reader};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::query::{PageQuery, Query};
use crate::schedule::ScheduleStatus;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The audit log (admin): every write and extract.
#[utoipa::path(get, path = "/v1/audit", tag = "admin", params(PageQuery), security(("api_key" = [])),
    responses((status = 200, body = super::shared::Page, example = json!({"items": [{"id": 1, "logged_at": "2026-11-22T06:00:00", "key_name": "analyst-1", "method": "POST", "endpoint": "/v1/imports/{dataset}", "parameters": "{}", "status": 201, "rows": 100}], "next_cursor": null})),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn audit(State(st): State<AppState>, _: Admin, Query(q): Query<PageQuery>) -> ApiResult<Response> {
    let (limit, before) = (q.limit(), q.cursor);
    let rows = st.read(move |s| Ok(s.audit_log(before, limit)?)).await?;
    page(rows, limit, |a| a.id)
}

/// Scheduled imports: last run, outcome, next run, last error.
#[utoipa::path(get, path = "/v1/schedules", tag = "schedules", params(NoParams),
    responses((status = 200, body = Vec<ScheduleStatus>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn schedules(
    State(st): State<AppState>,
    _: Reader,
    _: Query<NoParams>,
) -> ApiResult<Json<Vec<ScheduleStatus>>> {
    let list = st.0.schedules.list();
    let names: Vec<String> = list.iter().map(|s| s.cfg.name.clone()).collect();
    let lasts =
        st.read(move |s| names.iter().map(|n| Ok(s.last_schedule_run(n)?)).collect::<ApiResult<Vec<_>>>()).await?;
    Ok(Json(list.iter().zip(lasts).map(|(s, l)| crate::schedule::status(s, l)).collect()))
}

/// Runs a schedule now (analyst) and returns the run; 409 while it is already running.
#[utoipa::path(post, path = "/v1/schedules/{name}/run", tag = "schedules", params(("name" = String, Path), NoParams), security(("api_key" = [])),
    responses((status = 200, description = "The run, whatever its outcome (ok, partial, failed)", body = Object, example = json!({"id": 5, "schedule": "nightly-stops", "trigger": "manual",
        "started_at": "2026-11-22T07:10:00Z", "finished_at": "2026-11-22T07:10:02Z", "outcome": "ok", "files_imported": 1, "files_skipped": 3, "files_failed": 0,
        "rows_accepted": 1200, "batches": [10], "error": null})),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn schedule_run(
    State(st): State<AppState>,
    Analyst(caller): Analyst,
    Path(name): Path<String>,
    _: Query<NoParams>,
) -> ApiResult<Response> {
    let sched = st.0.schedules.find(&name).ok_or_else(|| ApiError::not_found("schedule", &name))?;
    let run = crate::schedule::run_now(&st, &sched, "manual").await?;
    st.audit(&caller, "POST", "/v1/schedules/{name}/run", json!({"name": name}), 200, Some(run.rows_accepted)).await;
    Ok(Json(run).into_response())
}

/// Re-reads the configuration's schedules (admin), as SIGHUP does: the new set replaces the running one
/// whole, or, when an entry does not check (cron, time zone, dataset, profile), the running one stays and
/// the answer says why.
#[utoipa::path(post, path = "/v1/schedules/reload", tag = "schedules", params(NoParams), security(("api_key" = [])),
    responses((status = 200, description = "The schedules now in force", body = Object, example = json!({"schedules": ["nightly-stops", "weekly-detainers"]})),
        (status = 400, description = "The configuration was refused; the schedules in force are kept", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 405, body = ErrorBody)))]
pub(crate) async fn schedules_reload(
    State(st): State<AppState>,
    Admin(caller): Admin,
    _: Query<NoParams>,
) -> ApiResult<Response> {
    let res = crate::schedule::reload(&st).await;
    let status = res.as_ref().map_or_else(|e| crate::error::status_of(e.code).as_u16(), |_| 200);
    st.audit(&caller, "POST", "/v1/schedules/reload", json!({}), status, None).await;
    Ok(Json(json!({"schedules": res?})).into_response())
}

/// Where a backup goes.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"to": "/var/backups/oversight/2026-11-30"}))]
pub struct BackupTarget {
    /// An absolute directory on the server's machine that does not exist (or is empty); it is created.
    pub to: String,
}

/// Writes a consistent snapshot of the database (admin): Parquet files and a manifest with the schema
/// version, each table's row count and each file's sha256. Reads go on meanwhile; writes wait for it.
/// `oversight restore DIR --db NEW` brings it back.
#[utoipa::path(post, path = "/v1/admin/backup", tag = "admin", params(NoParams), request_body = BackupTarget, security(("api_key" = [])),
    responses((status = 200, description = "The snapshot's manifest", body = Object, example = json!({"format": "oversight-backup/1", "schema_version": 6, "created_at": "2026-11-30T04:00:00Z",
        "tables": {"stops": 19001}, "files": [{"name": "stops.parquet", "bytes": 402133, "sha256": "9f2c…"}]})),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)))]
pub(crate) async fn backup(
    State(st): State<AppState>,
    Admin(caller): Admin,
    _: Query<NoParams>,
    body: axum::body::Body,
) -> ApiResult<Response> {
    let body = super::shared::read_body(&st, body).await?;
    let t: BackupTarget =
        serde_json::from_slice(&body).map_err(|e| ApiError::param("body", format!("not a backup target: {e}")))?;
    let to = std::path::PathBuf::from(&t.to);
    if !to.is_absolute() {
        return Err(ApiError::param("to", format!("{:?} is not an absolute path", t.to)));
    }
    let m = st.exclusive(move |s| Ok(s.backup(&to)?)).await?;
    let rows: i64 = m.tables.values().sum();
    st.audit(&caller, "POST", "/v1/admin/backup", json!({"to": t.to}), 200, Some(rows)).await;
    tracing::info!(to = %t.to, files = m.files.len(), rows, "backup written to {}", t.to);
    Ok(Json(m).into_response())
}
