//! Safe tables for publication: any cross-tabulation of a dataset's records by public coded columns or
//! periods, with the row filters of extracts, under the indicators' disclosure control; JSON, CSV or a plain
//! HTML page.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use oversight_core::Dataset;
use oversight_core::filter::{self, FilterError, RowFilter};
use oversight_metrics::tables::{SafeTable, TableCell, TableSpec, tabulate};
use serde::Serialize;

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

/// A published table: what it counts and how, and its cells.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct TableResponse {
    pub(crate) dataset: String,
    /// What the rows and columns are.
    pub(crate) rows_by: String,
    pub(crate) columns_by: Option<String>,
    pub(crate) measure: Option<String>,
    #[schema(value_type = Object)]
    pub(crate) filters: serde_json::Value,
    /// Counts above zero and under this are withheld, with what would give them back.
    pub(crate) threshold: u32,
    pub(crate) confidence: f64,
    #[serde(flatten)]
    pub(crate) table: SafeTable,
    pub(crate) notes: Vec<String>,
}

fn refused(e: FilterError) -> ApiError {
    ApiError::param(&e.param, e.message)
}

/// Parses, tabulates on a reader connection, and renders a table.
pub(crate) async fn table(state: AppState, dataset: &str, raw: Option<&str>) -> ApiResult<Response> {
    let (p, rest): (TableParams, _) = crate::query::parse_open(raw, PARAM_NAMES)?;
    let ds: Dataset = dataset.parse().map_err(|_| ApiError::not_found("dataset", dataset))?;
    let (from, to) = crate::query::range(p.from, p.to)?;
    let rows = filter::parse_dimension(ds, "rows", &p.rows).map_err(refused)?;
    let columns =
        p.columns.as_deref().map(|c| filter::parse_dimension(ds, "columns", c)).transpose().map_err(refused)?;
    if columns == Some(rows) {
        return Err(ApiError::param("columns", format!("the rows are already {}", rows.name())));
    }
    let measure = p.measure.as_deref().map(|m| filter::parse_measure(ds, m)).transpose().map_err(refused)?;
    let filters: Vec<RowFilter> =
        rest.iter().map(|(k, v)| filter::parse_filter(ds, k, v).map_err(refused)).collect::<ApiResult<_>>()?;
    if let Some(j) = &p.jurisdiction {
        let j2 = j.clone();
        if state.read(move |s| Ok(s.jurisdiction(&j2)?)).await?.is_none() {
            return Err(ApiError::not_found("jurisdiction", j));
        }
    }
    let cfg = state.0.metrics_cfg.clone();
    let (jurisdiction, f2) = (p.jurisdiction.clone(), filters.clone());
    let table = state
        .read(move |s| {
            let records = oversight_store::ExtractQuery {
                dataset: ds,
                columns: &[],
                jurisdiction: jurisdiction.as_deref(),
                from,
                to,
                filters: &f2,
                sort: &[],
            };
            Ok(tabulate(s, &cfg, &TableSpec { records, rows, columns, measure })?)
        })
        .await?;
    let cfg = &state.0.metrics_cfg;
    let mut notes = vec![format!(
        "counts above zero and under {} are withheld (small_count), and so is one more cell of any row, column or \
         margin that would otherwise give a withheld one back by subtraction (complementary)",
        cfg.suppression_threshold
    )];
    if let Some(m) = measure {
        notes.push(format!(
            "share: records with {m} true among those with it recorded (records without it count in `count` only); \
             {:.0}% Wilson interval",
            100.0 * cfg.confidence
        ));
    }
    let resp = TableResponse {
        dataset: ds.as_str().into(),
        rows_by: rows.name().into(),
        columns_by: columns.map(|c| c.name().into()),
        measure: measure.map(str::to_owned),
        filters: serde_json::json!({"jurisdiction": p.jurisdiction, "from": from, "to": to, "where": filters}),
        threshold: cfg.suppression_threshold,
        confidence: cfg.confidence,
        table,
        notes,
    };
    render(&resp, p.format.unwrap_or_default())
}

fn render(t: &TableResponse, format: TableFormat) -> ApiResult<Response> {
    match format {
        TableFormat::Json => Ok(axum::Json(t).into_response()),
        TableFormat::Csv => {
            let body = csv_of(t)?;
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

/// Every cell, then the row totals, the column totals and the grand total, one line each.
pub(crate) fn csv_of(t: &TableResponse) -> ApiResult<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let all = t
        .table
        .cells
        .iter()
        .chain(&t.table.row_totals)
        .chain(&t.table.column_totals)
        .chain(std::iter::once(&t.table.total));
    let write = |w: &mut csv::Writer<Vec<u8>>| -> Result<(), csv::Error> {
        for c in all {
            w.serialize(c)?;
        }
        w.flush()?;
        Ok(())
    };
    write(&mut w).map_err(|e| ApiError::internal("csv", e))?;
    w.into_inner().map_err(|e| ApiError::internal("csv", e.into_error()))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A cell as the page shows it: the count (and share with its interval), or "withheld".
fn html_cell(c: &TableCell) -> String {
    if c.withheld && c.count.is_none() {
        return "<td class=\"withheld\">withheld</td>".into();
    }
    let mut s = format!("<td>{}", c.count.map(|n| n.to_string()).unwrap_or_default());
    match (c.share, c.ci_low, c.ci_high) {
        (Some(v), Some(lo), Some(hi)) => {
            s.push_str(&format!("<br><small>{:.1}% ({:.1}–{:.1})</small>", 100.0 * v, 100.0 * lo, 100.0 * hi))
        }
        _ if c.withheld => s.push_str("<br><small>share withheld</small>"),
        _ => {}
    }
    s + "</td>"
}

/// A plain page with the table and its notes (no script, no external asset).
fn html_of(t: &TableResponse) -> String {
    let nc = t.table.columns.len();
    let mut h = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{ds}: {r}{c}</title>\
         <style>table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:.3em .6em;text-align:right}}\
         .withheld{{color:#666;font-style:italic}}</style></head><body><h1>{ds}: records by {r}{c}</h1><table><thead><tr><th>{r}</th>",
        ds = escape(&t.dataset),
        r = escape(&t.rows_by),
        c = t.columns_by.as_deref().map(|c| format!(" and {}", escape(c))).unwrap_or_default(),
    );
    for col in &t.table.columns {
        h.push_str(&format!("<th>{}</th>", escape(col)));
    }
    h.push_str("<th>all</th></tr></thead><tbody>");
    for (i, row) in t.table.rows.iter().enumerate() {
        h.push_str(&format!("<tr><th>{}</th>", escape(row)));
        for c in &t.table.cells[i * nc..(i + 1) * nc] {
            h.push_str(&html_cell(c));
        }
        h.push_str(&html_cell(&t.table.row_totals[i]));
        h.push_str("</tr>");
    }
    h.push_str("<tr><th>all</th>");
    for c in &t.table.column_totals {
        h.push_str(&html_cell(c));
    }
    h.push_str(&html_cell(&t.table.total));
    h.push_str("</tr></tbody></table><ul>");
    for n in &t.notes {
        h.push_str(&format!("<li>{}</li>", escape(n)));
    }
    h + "</ul></body></html>\n"
}
