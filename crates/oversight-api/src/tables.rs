//! Safe tables for publication: any cross-tabulation of a dataset's records by public coded columns or
//! periods, with the row filters of extracts, under the indicators' disclosure control; JSON, CSV or a plain
//! HTML page.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use oversight_core::filter::{self, RowFilter};
use oversight_core::public::Source;
use oversight_metrics::tables::TableSpec;
use oversight_service::tables::{TableResponse, csv_of, html_of, publish};

/// A table's output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum TableFormat {
    #[default]
    Json,
    Csv,
    Html,
}

/// The parameters of a table besides its row filters (any other parameter is a filter, as for extracts).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct TableParams {
    /// What the rows are: a public column holding codes, true/false or short text (`subject_race`,
    /// `search_conducted`, `district`), or a period: `year`, `quarter`, `month`.
    rows: String,
    /// What the columns are (the same choices); none: one column, `all`.
    columns: Option<String>,
    /// A public true/false column (`search_conducted`): each cell also gives the share of records with it
    /// true among those with it recorded, with its Wilson interval.
    measure: Option<String>,
    jurisdiction: Option<String>,
    #[serde(default, deserialize_with = "crate::query::date")]
    from: Option<NaiveDate>,
    #[serde(default, deserialize_with = "crate::query::date")]
    to: Option<NaiveDate>,
    /// json (default), csv or html.
    #[serde(default)]
    #[param(inline)]
    format: Option<TableFormat>,
}

const PARAM_NAMES: &[&str] = &["rows", "columns", "measure", "jurisdiction", "from", "to", "format"];

/// Parses, tabulates on a reader connection, and renders a table.
pub(crate) async fn table(state: AppState, dataset: &str, raw: Option<&str>) -> ApiResult<Response> {
    let (p, rest): (TableParams, _) = crate::query::parse_open(raw, PARAM_NAMES)?;
    let ds: Source = dataset.parse().map_err(|_| ApiError::not_found("dataset", dataset))?;
    let (from, to) = crate::query::range(p.from, p.to)?;
    let (rows, columns, measure) =
        filter::parse_table(ds, ("rows", &p.rows), ("columns", p.columns.as_deref()), p.measure.as_deref())?;
    let filters: Vec<RowFilter> =
        rest.iter().map(|(k, v)| Ok(filter::parse_filter(ds, k, v)?)).collect::<ApiResult<_>>()?;
    if let Some(j) = &p.jurisdiction {
        let j2 = j.clone();
        if state.read(move |s| Ok(s.jurisdiction(&j2)?)).await?.is_none() {
            return Err(ApiError::not_found("jurisdiction", j));
        }
    }
    let cfg = state.0.metrics_cfg.clone();
    let (jurisdiction, f2) = (p.jurisdiction.clone(), filters.clone());
    let reported = serde_json::json!({"jurisdiction": p.jurisdiction, "from": from, "to": to, "where": filters});
    let resp = state
        .read(move |s| {
            let records = oversight_store::ExtractQuery {
                source: ds,
                columns: &[],
                jurisdiction: jurisdiction.as_deref(),
                from,
                to,
                filters: &f2,
                sort: &[],
            };
            Ok(publish(s, &cfg, &TableSpec { records, rows, columns, measure }, reported)?)
        })
        .await?;
    render(&resp, p.format.unwrap_or_default())
}

fn render(t: &TableResponse, format: TableFormat) -> ApiResult<Response> {
    match format {
        TableFormat::Json => Ok(axum::Json(t).into_response()),
        TableFormat::Csv => {
            let body = csv_of(t).map_err(|e| ApiError::internal("csv", e))?;
            let mut r = Body::from(body).into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
            let name = format!("oversight-table-{}-{}.csv", t.dataset, t.rows_by);
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
                r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
            Ok(r)
        }
        TableFormat::Html => {
            let mut r = Body::from(html_of(t)).into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            Ok(r)
        }
    }
}
