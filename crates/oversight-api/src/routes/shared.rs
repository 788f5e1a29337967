//! What the resource modules share: a page of a list, CSV written from rows, an id in a path, the
//! indicator-basis headers, a bounded request body, and the parameters of an endpoint that takes none.

use crate::error::{ApiError, ApiResult};
use crate::query::encode_cursor;
use crate::state::{AppState, Basis};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use oversight_core::ErrorCode;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// A page of a list: items and the cursor of the next page (null on the last).
#[derive(Debug, Serialize, ToSchema)]
pub struct Page {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Value>,
    pub next_cursor: Option<String>,
}

/// A page of `items` whose cursor is the last item's id, when the page is full.
pub(super) fn page<T: Serialize>(items: Vec<T>, limit: usize, cursor_of: impl Fn(&T) -> i64) -> ApiResult<Response> {
    let next = if items.len() == limit { items.last().map(|i| encode_cursor(cursor_of(i))) } else { None };
    page_response(&items, next)
}

pub(super) fn page_response<T: Serialize>(items: &[T], next_cursor: Option<String>) -> ApiResult<Response> {
    let items = items
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::internal("json", e))?;
    Ok(Json(Page { items, next_cursor }).into_response())
}

/// A CSV document written by serialising `rows` (the header from the first row's field names, or `header`
/// when there is none).
pub(super) fn csv_of<T: Serialize>(header: &[&str], rows: impl IntoIterator<Item = T>) -> ApiResult<Vec<u8>> {
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

/// Whether the request asks for CSV (`Accept: text/csv`), read without copying the headers.
pub(super) struct AcceptsCsv(pub bool);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for AcceptsCsv {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(wants_csv(&parts.headers)))
    }
}

/// Whether the client takes a gzip-compressed body (`Accept-Encoding: gzip`).
pub(super) struct AcceptsGzip(pub bool);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for AcceptsGzip {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        let accepts = parts.headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).any(|v| {
            v.split(',').any(|e| {
                let mut it = e.split(';');
                let name = it.next().unwrap_or_default().trim();
                let refused = it.any(|p| p.trim().replace(' ', "") == "q=0");
                name.eq_ignore_ascii_case("gzip") && !refused
            })
        });
        Ok(Self(accepts))
    }
}

fn wants_csv(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/csv"))
}

pub(super) fn csv_response(body: Vec<u8>, filename: &str) -> Response {
    let mut r = Body::from(body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

pub(super) fn id_param(name: &str, raw: &str) -> ApiResult<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::param(name, format!("expected a positive whole number, got {raw:?}")))
}

/// A response with the indicator-basis headers (which batches its indicators include).
pub(super) fn with_basis(mut r: Response, basis: &Basis) -> Response {
    basis.headers(r.headers_mut());
    r
}

/// A request body, at most `api.max_body_bytes` (413 with the common error body past it).
pub(super) async fn read_body(st: &AppState, body: Body) -> ApiResult<Bytes> {
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
pub(super) struct NoParams {}

/// Percent-encodes a value for a query string (ids and groups: `race:black` keeps its colon).
pub(super) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A fit is not published when its series has periods whose counts are withheld (1 to the suppression
/// threshold less one): the fit would give them back. A Poisson fit's fitted values add up to the observed
/// counts (and its estimates solve one such equation per column of the design), so the published counts and
/// the fit together give the withheld counts' sum, and the count itself when one period is withheld.
/// Withholding the fitted values would not be enough: the estimates and the design give them. The command
/// line, run by whoever holds the database, fits on every count.
pub(super) fn no_withheld_periods(withheld: usize, analysis: &str) -> ApiResult<()> {
    if withheld == 0 {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::Unprocessable,
        format!(
            "{withheld} period(s) of this series have counts under the suppression threshold, which are withheld; \
             a published fit would let them be worked out (a Poisson fit's fitted values add up to the observed \
             counts), so none is published. Whoever holds the database can run `oversight analyze {analysis}`."
        ),
    ))
}
