//! Uploads: a CSV (or Parquet) body, or a multipart upload of the files a profile reads together, spooled to
//! disk with a size cap (413 past it) and a minimum pace (408 below it), for the importer to read.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;
use futures::StreamExt;
use oversight_core::{Dataset, ErrorCode};
use oversight_import::InputFile;
use std::path::Path as FsPath;
use std::time::Instant;
use tokio::io::AsyncWriteExt;

/// Spools a request's file(s) into a new temporary directory: its body as `filename`, or each part of a
/// multipart upload; api.max_upload_bytes and the upload pace are enforced as it streams.
pub(crate) async fn spool(
    st: &AppState,
    req: Request,
    filename: &str,
) -> ApiResult<(tempfile::TempDir, Vec<InputFile>)> {
    let max = st.cfg().max_upload_bytes;
    let dir =
        tempfile::Builder::new().prefix("oversight-upload-").tempdir().map_err(|e| spool_error("upload dir", e))?;
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("multipart/form-data"));
    let pace = Pace::new(st.cfg());
    let files = if is_multipart {
        spool_multipart(req, dir.path(), max, pace).await?
    } else {
        vec![spool_body(req.into_body(), &dir.path().join(filename), max, pace).await?]
    };
    if files.is_empty() {
        return Err(ApiError::param("body", "no file in the request"));
    }
    Ok((dir, files))
}

/// Refuses an upload on a server that cannot write, after reading the body: a client still sending its file
/// would otherwise see the connection reset instead of the answer.
pub(crate) async fn refuse_unless_writable(st: &AppState, req: Request) -> ApiResult<Request> {
    match st.writable() {
        Ok(()) => Ok(req),
        Err(e) => {
            drain(req.into_body(), st.cfg().max_upload_bytes, Pace::new(st.cfg())).await;
            Err(e)
        }
    }
}

/// A profile shipped with Oversight for the dataset: over HTTP a path would read the server's files.
pub(crate) fn shipped_profile(name: &str, ds: Dataset) -> ApiResult<oversight_import::Profile> {
    if name.contains('/') || name.contains('\\') || name.ends_with(".toml") {
        return Err(ApiError::param(
            "profile",
            "over HTTP only shipped profiles are used (a path would read the server's files)",
        ));
    }
    oversight_import::resolve_profile(name, Some(ds)).map_err(|e| ApiError::param("profile", e.to_string()))
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
