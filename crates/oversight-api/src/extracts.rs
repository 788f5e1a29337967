//! Record-level extracts for journalists: CSV streamed in constant memory (or Parquet), filtered by
//! jurisdiction, dates and columns, from an allow-list that leaves out every personal identifier.

use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Caller};
use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::NaiveDate;
use oversight_core::Dataset;

/// The columns an extract may hold, per dataset. Not here, on purpose: names (never stored), exact
/// locations and coordinates, officer ids and keys, source record ids, birth years and birth places, raw
/// codes (free text from the source), times of crime reports (with a date and district, too identifying).
pub fn public_columns(dataset: Dataset) -> &'static [&'static str] {
    match dataset {
        Dataset::Stops => &[
            "batch_id",
            "source_row",
            "jurisdiction_id",
            "date",
            "time",
            "district",
            "subject_age",
            "subject_race",
            "subject_sex",
            "department_name",
            "stop_type",
            "reason_for_stop",
            "arrest_made",
            "citation_issued",
            "warning_issued",
            "outcome",
            "search_conducted",
            "search_person",
            "search_vehicle",
            "search_basis",
            "frisk_performed",
            "contraband_found",
            "referred_to_immigration",
            "flags",
        ],
        Dataset::Detainers => &[
            "batch_id",
            "source_row",
            "jurisdiction_id",
            "received_date",
            "facility",
            "citizenship_country",
            "sex",
            "age",
            "subject_race",
            "criminality",
            "detainer_type",
            "judicial_warrant",
            "outcome",
            "outcome_date",
            "lift_reason",
            "most_serious_charge",
            "most_serious_charge_severity",
            "flags",
        ],
        Dataset::CrimeReports => &[
            "batch_id",
            "source_row",
            "jurisdiction_id",
            "reported_date",
            "occurred_date",
            "offense_category",
            "victim_race",
            "victim_sex",
            "victim_age_group",
            "fatal",
            "district",
        ],
        Dataset::Complaints => &[
            "batch_id",
            "source_row",
            "jurisdiction_id",
            // The source's complaint id joins back to the published file with officers' and complainants'
            // details: the extract carries its keyed hash instead.
            "complaint_key",
            "received_date",
            "incident_date",
            "closed_date",
            "complainant_race",
            "complainant_sex",
            "complainant_age",
            "complainant_count",
            "district",
            "flags",
        ],
        Dataset::PolicyEvents => {
            &["batch_id", "source_row", "jurisdiction_id", "effective_date", "kind", "title", "source", "agency"]
        }
        Dataset::Populations => {
            &["batch_id", "source_row", "jurisdiction_id", "year", "group", "population", "moe", "source"]
        }
    }
}

/// An extract's file format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Format {
    #[default]
    Csv,
    Parquet,
}

impl Format {
    fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Parquet => "parquet",
        }
    }
}

/// The parameters of an extract and of its manifest.
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
    /// csv (default) or parquet.
    #[serde(default)]
    #[param(inline)]
    format: Option<Format>,
}

/// A checked extract request and what it will read.
struct Plan {
    ds: Dataset,
    jurisdiction: Option<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    format: &'static str,
    columns: Vec<&'static str>,
    /// The committed import batches the extract reads.
    batches: Vec<oversight_store::BatchRecord>,
}

async fn plan(state: &AppState, dataset: &str, p: ExtractParams) -> ApiResult<Plan> {
    let ds: Dataset = dataset.parse().map_err(|_| ApiError::not_found("dataset", dataset))?;
    let jurisdiction = p.jurisdiction;
    let (from, to) = crate::query::range(p.from, p.to)?;
    let format = p.format.unwrap_or_default().as_str();
    let allowed = public_columns(ds);
    let columns: Vec<&'static str> = match p.columns.as_deref() {
        None => allowed.to_vec(),
        Some(list) => {
            let mut out = Vec::new();
            for c in list.split(',').map(str::trim) {
                let Some(col) = allowed.iter().find(|a| **a == c) else {
                    return Err(ApiError::param(
                        "columns",
                        format!("{c:?} is not a public column of {dataset} (public: {})", allowed.join(", ")),
                    ));
                };
                if !out.contains(col) {
                    out.push(*col);
                }
            }
            out
        }
    };
    if let Some(j) = &jurisdiction {
        let j2 = j.clone();
        if state.read(move |s| Ok(s.jurisdiction(&j2)?)).await?.is_none() {
            return Err(ApiError::not_found("jurisdiction", j));
        }
    }
    let (j2, ds_name) = (jurisdiction.clone(), ds.as_str());
    let batches = state
        .read(move |s| {
            let ids: Vec<i64> = s
                .committed_batches()?
                .into_iter()
                .filter(|b| b.dataset == ds_name)
                .filter(|b| j2.is_none() || b.jurisdiction_id.is_none() || b.jurisdiction_id == j2)
                .filter(|b| from.is_none_or(|f| b.date_max.is_none_or(|m| m >= f)))
                .filter(|b| to.is_none_or(|t| b.date_min.is_none_or(|m| m <= t)))
                .map(|b| b.id)
                .collect();
            ids.into_iter().map(|id| Ok(s.batch(id)?)).collect::<ApiResult<Vec<_>>>()
        })
        .await?;
    Ok(Plan { ds, jurisdiction, from, to, format, columns, batches })
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

const WITHHELD: &str = "names (never stored), exact locations and coordinates, officer identifiers and keys, source record ids, \
    birth years and places, raw source codes";

pub(crate) async fn manifest(state: AppState, dataset: &str, p: ExtractParams) -> ApiResult<Response> {
    let pl = plan(&state, dataset, p).await?;
    let m = ExtractManifest {
        dataset: pl.ds.as_str().into(),
        filename: filename(pl.ds.as_str(), pl.jurisdiction.as_deref(), pl.from, pl.to, pl.format),
        filters: serde_json::json!({"jurisdiction": pl.jurisdiction, "from": pl.from, "to": pl.to}),
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

pub(crate) async fn extract(state: AppState, caller: Caller, dataset: &str, p: ExtractParams) -> ApiResult<Response> {
    let Plan { ds, jurisdiction, from, to, format, columns, batches } = plan(&state, dataset, p).await?;
    let batches: Vec<i64> = batches.iter().map(|b| b.id).collect();
    let filename = filename(ds.as_str(), jurisdiction.as_deref(), from, to, format);
    let filters = format!(
        "jurisdiction={}; from={}; to={}; columns={}",
        jurisdiction.as_deref().unwrap_or("all"),
        from.map(|d| d.to_string()).unwrap_or_else(|| "start".into()),
        to.map(|d| d.to_string()).unwrap_or_else(|| "end".into()),
        columns.join(",")
    );
    let batch_list = batches.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let params = serde_json::json!({"dataset": dataset, "jurisdiction": jurisdiction, "from": from, "to": to,
        "columns": columns, "format": format});
    let read = Read {
        table: ds.main_table().name(),
        date_column: oversight_store::date_column(ds),
        columns,
        jurisdiction,
        from,
        to,
    };
    let mut resp = if format == "parquet" {
        parquet(state, caller, read, params).await?
    } else {
        csv_stream(state, caller, read, params)?
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
    table: &'static str,
    date_column: &'static str,
    columns: Vec<&'static str>,
    jurisdiction: Option<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

impl Read {
    fn query(&self) -> oversight_store::ExtractQuery<'_> {
        oversight_store::ExtractQuery {
            table: self.table,
            columns: &self.columns,
            date_column: self.date_column,
            jurisdiction: self.jurisdiction.as_deref(),
            from: self.from,
            to: self.to,
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

/// A CSV extract, streamed from a reader connection in constant memory; audited when the stream ends.
fn csv_stream(state: AppState, caller: Caller, read: Read, params: serde_json::Value) -> ApiResult<Response> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    let store = state.reader()?;
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let res = store.stream_csv(&read.query(), &mut |chunk| tx.blocking_send(Ok(Bytes::from(chunk))).is_ok());
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
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
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
