//! Imports over HTTP: a CSV (or Parquet) body, or a multipart upload of the files a profile reads together.
//! The upload is spooled to disk with a size cap (413 past it), then the same importer as the CLI runs on the
//! writer connection: a batch lands whole or not at all, a re-upload of the same file is a no-op. An
//! incremental indicator run follows, so the indicators reflect the new batch.

use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::state::{AppState, Role};
use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, RawQuery, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use oversight_core::{Dataset, ErrorCode};
use oversight_import::{ImportOutcome, ImportRequest, InputFile};
use serde_json::json;
use std::path::Path as FsPath;
use std::time::Instant;
use tokio::io::AsyncWriteExt;

/// Imports a file into a dataset (analyst).
#[utoipa::path(post, path = "/v1/imports/{id}", tag = "imports", security(("api_key" = [])),
    params(("id" = String, Path, description = "the dataset: stops, detainers, crime-reports, complaints, policy-events or populations"),
        ("profile" = String, Query, description = "a shipped profile name (see `oversight profiles`)"), ("jurisdiction" = Option<String>, Query),
        ("replace" = Option<bool>, Query, description = "supersede the batch that holds this file"), ("filename" = Option<String>, Query, description = "name recorded for a raw body (default upload.csv)")),
    request_body(content = String, description = "The file as the body (text/csv, application/octet-stream), or multipart/form-data with one part per file", content_type = "text/csv"),
    responses((status = 201, description = "Imported", body = Object, example = json!({"status": "imported", "batch": {"id": 7, "rows_accepted": 100, "rows_rejected": 2}})),
        (status = 200, description = "Already imported: nothing changed", body = Object, example = json!({"status": "already_imported", "batch": {"id": 7}})),
        (status = 400, body = crate::error::ErrorBody), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody),
        (status = 422, description = "The file was refused (an error body), or it landed with more rejects than `[import] max_reject_share` allows (the import summary, with status `imported_with_too_many_rejects`)", body = Object)))]
pub(crate) async fn import(
    State(st): State<AppState>,
    Path(dataset): Path<String>,
    RawQuery(q): RawQuery,
    req: Request,
) -> ApiResult<Response> {
    let caller = st.authorize(req.headers(), Some(Role::Analyst)).await?;
    if let Err(e) = st.writable() {
        // The body is read and dropped first: a client still sending its file would otherwise see the
        // connection reset instead of the answer.
        drain(req.into_body(), st.cfg().max_upload_bytes, Pace::new(st.cfg())).await;
        return Err(e);
    }
    let ds: Dataset = dataset.parse().map_err(|_| ApiError::not_found("dataset", &dataset))?;
    let p = Params::parse(q.as_deref(), &["profile", "jurisdiction", "replace", "filename"])?;
    let profile_name = p.required("profile")?.to_owned();
    if profile_name.contains('/') || profile_name.contains('\\') || profile_name.ends_with(".toml") {
        return Err(ApiError::param(
            "profile",
            "over HTTP only shipped profiles are used (a path would read the server's files)",
        ));
    }
    let profile = oversight_import::resolve_profile(&profile_name, Some(ds))
        .map_err(|e| ApiError::param("profile", e.to_string()))?;
    let jurisdiction = p.str("jurisdiction")?.map(str::to_owned);
    let replace = p.bool("replace")?;
    let filename = sanitize(p.str("filename")?.unwrap_or("upload.csv"));
    let max = st.cfg().max_upload_bytes;

    let dir =
        tempfile::Builder::new().prefix("oversight-upload-").tempdir().map_err(|e| spool_error("upload dir", e))?;
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("multipart/form-data"));
    let pace = Pace::new(st.cfg());
    let spooled = if is_multipart {
        spool_multipart(req, dir.path(), max, pace).await
    } else {
        spool_body(req.into_body(), &dir.path().join(&filename), max, pace).await.map(|f| vec![f])
    };
    let files = spooled?;
    if files.is_empty() {
        return Err(ApiError::param("body", "no file in the request"));
    }
    let params = json!({"dataset": dataset, "profile": profile_name, "jurisdiction": jurisdiction, "replace": replace,
        "files": files.iter().map(|f| f.name.clone()).collect::<Vec<_>>()});
    let request = ImportRequest {
        jurisdiction,
        replace,
        max_reject_share: st.cfg().import.max_reject_share,
        ..ImportRequest::new(profile, files, "api")
    };
    let st2 = st.clone();
    let outcome = st
        .write(move |s| {
            let t = Instant::now();
            let res = oversight_import::import(s, &request, &|_| {});
            st2.0.stats.job("import", t.elapsed().as_secs_f64());
            drop(dir);
            let out = res?;
            let compute = if matches!(out, ImportOutcome::Imported(_)) {
                let t = Instant::now();
                let r =
                    oversight_metrics::compute(s, &st2.0.metrics_cfg, &oversight_metrics::ComputeRequest::default());
                st2.0.stats.job("compute", t.elapsed().as_secs_f64());
                Some(r.map_err(ApiError::from)?)
            } else {
                None
            };
            Ok((out, compute))
        })
        .await;
    let (outcome, compute) = match outcome {
        Ok(o) => o,
        Err(e) => {
            st.audit(&caller, "POST", "/v1/imports/{dataset}", params, crate::error::status_of(e.code).as_u16(), None)
                .await;
            return Err(e);
        }
    };
    let (status, body, rows) = match outcome {
        ImportOutcome::Imported(report) => {
            let rows = report.batch.rows_accepted;
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
            (
                status,
                json!({"status": state, "message": message, "batch": report.batch, "tables": report.tables, "top_reject_reasons": report.top_reasons,
                "jurisdictions_created": report.jurisdictions_created, "warnings": report.warnings,
                "reject_share": report.reject_share,
                "compute": compute.map(|c| json!({"message": c.message, "points_written": c.points_written}))}),
                Some(rows),
            )
        }
        ImportOutcome::AlreadyImported(b) => (
            StatusCode::OK,
            json!({"status": "already_imported", "batch": b,
            "message": "this file is already imported; nothing changed (replace=true imports it again)"}),
            Some(0),
        ),
    };
    st.audit(&caller, "POST", "/v1/imports/{dataset}", params, status.as_u16(), rows).await;
    Ok((status, Json(body)).into_response())
}

/// A file name safe to create: its last path segment, with anything but letters, digits and `._-` replaced.
pub(crate) fn sanitize(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let s: String =
        base.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect();
    if s.is_empty() || s.starts_with('.') { format!("upload{s}") } else { s }
}

fn too_large(max: u64) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("the upload is larger than the server's limit of {max} bytes (api.max_upload_bytes)"),
    )
}

/// The pace an upload must keep: no silence longer than `body_timeout_secs`, and after that long an average
/// of at least `min_upload_bytes_per_sec` (a client trickling a body cannot hold a connection and a spool
/// file open for hours).
#[derive(Clone, Copy)]
struct Pace {
    start: Instant,
    silence: std::time::Duration,
    min_rate: u64,
}

impl Pace {
    fn new(cfg: &crate::state::ApiConfig) -> Self {
        Self {
            start: Instant::now(),
            silence: std::time::Duration::from_secs(cfg.body_timeout_secs.max(1)),
            min_rate: cfg.min_upload_bytes_per_sec,
        }
    }

    /// The next chunk, or 408 when the client fell silent for too long.
    async fn next<T>(&self, chunk: impl std::future::Future<Output = T>) -> ApiResult<T> {
        tokio::time::timeout(self.silence, chunk).await.map_err(|_| {
            slow(format!("no byte of the upload arrived for {} s ([api] body_timeout_secs)", self.silence.as_secs()))
        })
    }

    /// 408 when `received` bytes so far are below the minimum average rate.
    fn check(&self, received: u64) -> ApiResult<()> {
        let secs = self.start.elapsed().as_secs_f64();
        if secs > self.silence.as_secs_f64() && (received as f64) < self.min_rate as f64 * secs {
            return Err(slow(format!(
                "the upload averaged {:.0} bytes/s, below the server's minimum of {} ([api] min_upload_bytes_per_sec)",
                received as f64 / secs,
                self.min_rate
            )));
        }
        Ok(())
    }
}

fn slow(message: String) -> ApiError {
    ApiError::new(ErrorCode::RequestTimeout, message)
}

/// A failed write of the spool file: a full disk is 507 with its own message, anything else internal.
fn spool_error(context: &str, e: std::io::Error) -> ApiError {
    if e.kind() == std::io::ErrorKind::StorageFull {
        tracing::error!("{context}: {e}");
        ApiError::new(
            ErrorCode::InsufficientStorage,
            "the server's disk is full: the upload could not be stored, and nothing was imported",
        )
    } else {
        ApiError::internal(context, e)
    }
}

/// Reads and drops a request body (at most `max` bytes, at the upload pace).
async fn drain(body: Body, max: u64, pace: Pace) {
    let mut n = 0u64;
    let mut stream = body.into_data_stream();
    while let Ok(Some(Ok(chunk))) = pace.next(stream.next()).await {
        n += chunk.len() as u64;
        if n > max || pace.check(n).is_err() {
            break;
        }
    }
}

async fn spool_body(body: Body, path: &FsPath, max: u64, pace: Pace) -> ApiResult<InputFile> {
    let mut f = tokio::fs::File::create(path).await.map_err(|e| spool_error("upload file", e))?;
    let mut n = 0u64;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = pace.next(stream.next()).await? {
        let chunk = chunk.map_err(|e| ApiError::param("body", format!("could not read the upload: {e}")))?;
        n += chunk.len() as u64;
        if n > max {
            return Err(too_large(max));
        }
        pace.check(n)?;
        f.write_all(&chunk).await.map_err(|e| spool_error("upload write", e))?;
    }
    f.flush().await.map_err(|e| spool_error("upload flush", e))?;
    Ok(InputFile::new(path))
}

async fn spool_multipart(req: Request, dir: &FsPath, max: u64, pace: Pace) -> ApiResult<Vec<InputFile>> {
    let mut mp = Multipart::from_request(req, &())
        .await
        .map_err(|e| ApiError::param("body", format!("bad multipart body: {e}")))?;
    let mut files = Vec::new();
    let mut total = 0u64;
    while let Some(mut field) =
        pace.next(mp.next_field()).await?.map_err(|e| ApiError::param("body", format!("bad multipart body: {e}")))?
    {
        let name = sanitize(field.file_name().or(field.name()).unwrap_or("upload.csv"));
        let path = dir.join(format!("{}-{name}", files.len()));
        let mut f = tokio::fs::File::create(&path).await.map_err(|e| spool_error("upload file", e))?;
        while let Some(chunk) =
            pace.next(field.chunk()).await?.map_err(|e| ApiError::param("body", format!("bad multipart body: {e}")))?
        {
            total += chunk.len() as u64;
            if total > max {
                return Err(too_large(max));
            }
            pace.check(total)?;
            f.write_all(&chunk).await.map_err(|e| spool_error("upload write", e))?;
        }
        f.flush().await.map_err(|e| spool_error("upload flush", e))?;
        files.push(InputFile { path, name });
    }
    Ok(files)
}
