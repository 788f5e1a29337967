//! Record-level extracts for journalists: CSV or JSON Lines streamed in constant memory (or Parquet), by
//! jurisdiction, dates, row filters on any public column (`subject_race=black`, `age__gte=18`, …) and
//! columns, in a stable order, from an allow-list that leaves out every personal identifier.

use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Caller};
use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::NaiveDate;
use oversight_core::filter::{RowFilter, SortKey};
use oversight_core::public::{Source, WITHHELD};
use oversight_store::RowFormat;

/// An extract's file format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Format {
    #[default]
    Csv,
    Parquet,
    /// JSON Lines: one JSON object per record.
    Jsonl,
}

impl Format {
    fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Parquet => "parquet",
            Self::Jsonl => "jsonl",
        }
    }
}

/// The delimiter of a CSV extract.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
pub(crate) enum Delimiter {
    #[default]
    #[serde(rename = ",")]
    Comma,
    /// What spreadsheets set to a decimal comma expect.
    #[serde(rename = ";")]
    Semicolon,
    #[serde(rename = "tab")]
    Tab,
    #[serde(rename = "|")]
    Pipe,
}

impl Delimiter {
    fn byte(self) -> u8 {
        match self {
            Self::Comma => b',',
            Self::Semicolon => b';',
            Self::Tab => b'\t',
            Self::Pipe => b'|',
        }
    }
}

/// The parameters of an extract and of its manifest, besides its row filters: any other parameter is a
/// filter, `column=value` or `column__op=value` on a public column (see [`oversight_core::filter`]).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ExtractParams {
    jurisdiction: Option<String>,
    #[serde(default, deserialize_with = "crate::query::date")]
    from: Option<NaiveDate>,
    #[serde(default, deserialize_with = "crate::query::date")]
    to: Option<NaiveDate>,
    /// Comma-separated public columns (default all of them).
    columns: Option<String>,
    /// csv (default), jsonl (JSON Lines) or parquet.
    #[serde(default)]
    #[param(inline)]
    format: Option<Format>,
    /// Order: comma-separated public columns, `-` before one for descending; the date, then the batch and
    /// source line always follow, so the order is stable (also the default).
    #[serde(rename = "_sort")]
    sort: Option<String>,
    /// CSV only: start with a UTF-8 byte-order mark (what Excel needs to read UTF-8).
    bom: Option<bool>,
    /// CSV only: the delimiter, `,` (default), `;`, `tab` or `|`.
    #[serde(default)]
    #[param(inline)]
    delimiter: Option<Delimiter>,
}

/// The names [`ExtractParams`] takes; every other parameter is a row filter.
const PARAM_NAMES: &[&str] = &["jurisdiction", "from", "to", "columns", "format", "_sort", "bom", "delimiter"];

/// An extract request as sent: its parameters and its row filters.
pub(crate) fn request(raw: Option<&str>) -> ApiResult<(ExtractParams, Vec<(String, String)>)> {
    crate::query::parse_open(raw, PARAM_NAMES)
}

/// A checked extract request and what it will read.
struct Plan {
    ds: Source,
    jurisdiction: Option<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    format: Format,
    columns: Vec<&'static str>,
    filters: Vec<RowFilter>,
    sort: Vec<SortKey>,
    /// CSV: the delimiter and whether a byte-order mark comes first.
    csv: (Delimiter, bool),
    /// The committed import batches the extract reads.
    batches: Vec<oversight_store::BatchRecord>,
}

async fn plan(state: &AppState, dataset: &str, (p, rest): (ExtractParams, Vec<(String, String)>)) -> ApiResult<Plan> {
    let ds: Source = dataset.parse().map_err(|_| ApiError::not_found("dataset", dataset))?;
    let jurisdiction = p.jurisdiction;
    let (from, to) = crate::query::range(p.from, p.to)?;
    let format = p.format.unwrap_or_default();
    if format != Format::Csv {
        for (name, given) in [("bom", p.bom.is_some()), ("delimiter", p.delimiter.is_some())] {
            if given {
                return Err(ApiError::param(name, format!("applies to CSV only, not {}", format.as_str())));
            }
        }
    }
    let filters =
        rest.iter().map(|(k, v)| Ok(oversight_core::filter::parse_filter(ds, k, v)?)).collect::<ApiResult<Vec<_>>>()?;
    let sort = match &p.sort {
        Some(s) => oversight_core::filter::parse_sort(ds, s)?,
        None => Vec::new(),
    };
    let csv = (p.delimiter.unwrap_or_default(), p.bom.unwrap_or(false));
    let columns = oversight_core::filter::parse_columns(ds, p.columns.as_deref())?;
    if let Some(j) = &jurisdiction {
        let j2 = j.clone();
        if state.read(move |s| Ok(s.jurisdiction(&j2)?)).await?.is_none() {
            return Err(ApiError::not_found("jurisdiction", j));
        }
    }
    let j2 = jurisdiction.clone();
    let batches = state
        .read(move |s| Ok(oversight_service::dictionary::source_batches(s, ds.dataset(), j2.as_deref(), from, to)?))
        .await?;
    Ok(Plan { ds, jurisdiction, from, to, format, columns, filters, sort, csv, batches })
}

/// The sidecar of an extract: what the same query would hold and where it comes from.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(example = json!({"dataset": "stops", "filename": "oversight-stops-demo-city-2019-01-01-to-2019-12-31.csv",
    "filters": {"jurisdiction": "demo-city", "from": "2019-01-01", "to": "2019-12-31"}, "columns": ["date", "subject_race"], "keyed_ids": {},
    "withheld": "names, exact locations and coordinates, officer identifiers, source record ids, birth years and places, raw codes",
    "source_batches": [{"id": 3, "profile": "canonical", "files": "stops.csv", "sha256": "9f2c…", "finished_at": "2026-11-22T05:57:35", "rows_accepted": 19001}]}))]
pub struct ExtractManifest {
    pub dataset: String,
    pub filename: String,
    #[schema(value_type = Object)]
    pub filters: serde_json::Value,
    pub columns: Vec<String>,
    /// Columns holding a keyed hash of a source record id instead of the id, with what they replace.
    #[schema(value_type = Object)]
    pub keyed_ids: serde_json::Value,
    pub withheld: String,
    #[schema(value_type = Vec<Object>)]
    pub source_batches: Vec<serde_json::Value>,
}

/// The request's filters as the manifest and the `X-Oversight-Filters` header give them.
fn filters_json(pl: &Plan) -> serde_json::Value {
    serde_json::json!({
        "jurisdiction": pl.jurisdiction,
        "from": pl.from,
        "to": pl.to,
        "where": pl.filters,
        "sort": pl.sort,
        "order": order_text(pl),
    })
}

/// The order of the rows, in words.
fn order_text(pl: &Plan) -> String {
    let mut keys: Vec<String> =
        pl.sort.iter().map(|k| format!("{}{}", k.column, if k.descending { " descending" } else { "" })).collect();
    keys.push(pl.ds.date_name().to_owned());
    keys.push("batch_id, source_row (the source file's line)".into());
    keys.join(", then ")
}

pub(crate) async fn manifest(
    state: AppState,
    dataset: &str,
    req: (ExtractParams, Vec<(String, String)>),
) -> ApiResult<Response> {
    let pl = plan(&state, dataset, req).await?;
    let m = ExtractManifest {
        dataset: pl.ds.as_str().into(),
        filename: filename(pl.ds.as_str(), pl.jurisdiction.as_deref(), pl.from, pl.to, pl.format.as_str()),
        filters: filters_json(&pl),
        columns: pl.columns.iter().map(|c| c.to_string()).collect(),
        keyed_ids: serde_json::Value::Object(
            oversight_store::KEYED_ID_COLUMNS
                .iter()
                .filter(|(alias, _)| pl.columns.contains(alias))
                .map(|(alias, source)| {
                    (
                        alias.to_string(),
                        serde_json::Value::String(format!(
                            "a keyed hash of the source's {source} (the same value for the same record within this \
                             database; the source's id is withheld: it joins back to files with names)"
                        )),
                    )
                })
                .collect(),
        ),
        withheld: WITHHELD.into(),
        source_batches: pl
            .batches
            .iter()
            .map(|b| {
                serde_json::json!({"id": b.id, "profile": b.profile, "files": b.file_names(), "sha256": b.sha256,
                    "finished_at": b.finished_at, "rows_accepted": b.rows_accepted})
            })
            .collect(),
    };
    Ok(axum::Json(m).into_response())
}

/// The data dictionary of the extract the same request gives: a Frictionless `datapackage.json`, or the
/// same as an HTML page.
pub(crate) async fn dictionary(
    state: AppState,
    dataset: &str,
    req: (ExtractParams, Vec<(String, String)>),
    html: bool,
) -> ApiResult<Response> {
    let pl = plan(&state, dataset, req).await?;
    let filename = filename(pl.ds.as_str(), pl.jurisdiction.as_deref(), pl.from, pl.to, pl.format.as_str());
    let file = oversight_service::dictionary::ExtractFile {
        source: pl.ds,
        columns: &pl.columns,
        filename: &filename,
        format: pl.format.as_str(),
        delimiter: pl.csv.0.byte(),
        bom: pl.csv.1,
        filters: filters_json(&pl),
        batches: &pl.batches,
    };
    if html {
        let mut r = Body::from(oversight_service::dictionary::dictionary_html(&file)).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        return Ok(r);
    }
    Ok(axum::Json(oversight_service::dictionary::datapackage(&file)).into_response())
}

pub(crate) async fn extract(
    state: AppState,
    caller: Caller,
    dataset: &str,
    req: (ExtractParams, Vec<(String, String)>),
    gzip: bool,
) -> ApiResult<Response> {
    let pl = plan(&state, dataset, req).await?;
    let filename = filename(pl.ds.as_str(), pl.jurisdiction.as_deref(), pl.from, pl.to, pl.format.as_str());
    let mut filters = format!(
        "jurisdiction={}; from={}; to={}; columns={}",
        pl.jurisdiction.as_deref().unwrap_or("all"),
        pl.from.map(|d| d.to_string()).unwrap_or_else(|| "start".into()),
        pl.to.map(|d| d.to_string()).unwrap_or_else(|| "end".into()),
        pl.columns.join(",")
    );
    for f in &pl.filters {
        filters.push_str(&format!("; {}={}", f.param, f.values.join(",")));
    }
    if !pl.sort.is_empty() {
        let keys: Vec<String> =
            pl.sort.iter().map(|k| format!("{}{}", if k.descending { "-" } else { "" }, k.column)).collect();
        filters.push_str(&format!("; _sort={}", keys.join(",")));
    }
    let batch_list = pl.batches.iter().map(|b| b.id.to_string()).collect::<Vec<_>>().join(",");
    let params = serde_json::json!({"dataset": dataset, "jurisdiction": pl.jurisdiction, "from": pl.from, "to": pl.to,
        "columns": pl.columns, "format": pl.format.as_str(), "where": pl.filters, "sort": pl.sort});
    let row_format = match pl.format {
        Format::Jsonl => RowFormat::JsonLines,
        _ => RowFormat::Csv { delimiter: pl.csv.0.byte(), bom: pl.csv.1 },
    };
    let content_type = if pl.format == Format::Jsonl { "application/x-ndjson" } else { "text/csv; charset=utf-8" };
    let read = Read {
        ds: pl.ds,
        columns: pl.columns,
        jurisdiction: pl.jurisdiction,
        from: pl.from,
        to: pl.to,
        filters: pl.filters,
        sort: pl.sort,
    };
    let mut resp = match pl.format {
        Format::Parquet => parquet(state, caller, read, params).await?,
        _ => stream(state, caller, read, params, (row_format, gzip), content_type)?,
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&batch_list) {
        h.insert("x-oversight-source-batches", v);
    }
    if let Ok(v) = HeaderValue::from_str(&filters) {
        h.insert("x-oversight-filters", v);
    }
    Ok(resp)
}

/// What an extract reads, owned so it can move to the blocking pool.
struct Read {
    ds: Source,
    columns: Vec<&'static str>,
    jurisdiction: Option<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    filters: Vec<RowFilter>,
    sort: Vec<SortKey>,
}

impl Read {
    fn query(&self) -> oversight_store::ExtractQuery<'_> {
        oversight_store::ExtractQuery {
            source: self.ds,
            columns: &self.columns,
            jurisdiction: self.jurisdiction.as_deref(),
            from: self.from,
            to: self.to,
            filters: &self.filters,
            sort: &self.sort,
        }
    }
}

/// A Parquet extract: written to a temporary file by DuckDB, then streamed (the file unlinked at once).
async fn parquet(state: AppState, caller: Caller, read: Read, params: serde_json::Value) -> ApiResult<Response> {
    let dir = tempfile::Builder::new()
        .prefix("oversight-extract-")
        .tempdir()
        .map_err(|e| ApiError::internal("extract dir", e))?;
    let path = dir.path().join("extract.parquet");
    let p2 = path.clone();
    let rows = state.read(move |s| Ok(s.extract_parquet(&read.query(), &p2)?)).await?;
    let file = tokio::fs::File::open(&path).await.map_err(|e| ApiError::internal("extract file", e))?;
    // Unlinked at once: the open handle keeps the bytes until the stream ends.
    drop(dir);
    state.audit(&caller, "GET", "/v1/extracts/{dataset}", params, 200, Some(rows as i64)).await;
    let stream = tokio_util::io::ReaderStream::with_capacity(file, 256 << 10);
    let mut r = Body::from_stream(stream).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/vnd.apache.parquet"));
    Ok(r)
}

/// A CSV or JSON Lines extract, streamed from a reader connection in constant memory; audited when the
/// stream ends.
fn stream(
    state: AppState,
    caller: Caller,
    read: Read,
    params: serde_json::Value,
    (format, gzip): (RowFormat, bool),
    content_type: &'static str,
) -> ApiResult<Response> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    let store = state.reader()?;
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let send = |bytes: Vec<u8>| bytes.is_empty() || tx.blocking_send(Ok(Bytes::from(bytes))).is_ok();
        // Compressed as it streams: each chunk through the encoder, what it gives out sent at once.
        let mut gz = gzip.then(|| flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
        let mut res = store.stream_extract(&read.query(), format, &mut |chunk| match &mut gz {
            None => send(chunk),
            Some(e) => std::io::Write::write_all(e, &chunk).is_ok() && send(std::mem::take(e.get_mut())),
        });
        if let (Ok(_), Some(e)) = (&res, gz) {
            match e.finish() {
                Ok(rest) => {
                    send(rest);
                }
                Err(e) => res = Err(oversight_store::StoreError::Io(e)),
            }
        }
        let (status, rows) = match &res {
            Ok(n) => (200u16, Some(*n as i64)),
            Err(e) => {
                tracing::error!("extract failed mid-stream: {e}");
                let _ = tx.blocking_send(Err(std::io::Error::other("extract failed")));
                let code = e.code();
                let _ = state.note::<()>(Err(ApiError::new(code, e.to_string())));
                (crate::error::status_of(code).as_u16(), None)
            }
        };
        state.give_back(store);
        handle.block_on(state.audit(&caller, "GET", "/v1/extracts/{dataset}", params, status, rows));
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    let mut r = Body::from_stream(stream).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut().insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if gzip {
        r.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    Ok(r)
}

/// `oversight-stops-ct-hartford-2014-01-01-to-2015-12-31.csv`: the query, readable in a downloads folder.
fn filename(
    dataset: &str,
    jurisdiction: Option<&str>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    ext: &str,
) -> String {
    let safe =
        |s: &str| s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect::<String>();
    let mut name = format!("oversight-{dataset}-{}", safe(jurisdiction.unwrap_or("all")));
    if from.is_some() || to.is_some() {
        name.push_str(&format!(
            "-{}-to-{}",
            from.map(|d| d.to_string()).unwrap_or_else(|| "start".into()),
            to.map(|d| d.to_string()).unwrap_or_else(|| "end".into())
        ));
    }
    format!("{name}.{ext}")
}
