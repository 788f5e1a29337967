//! A safe table as it is published (the API's JSON, CSV and HTML, and `oversight table`): what it counts
//! and how, its cells under disclosure control, and notes that say what was withheld and why.

use crate::dictionary::escape;
use oversight_metrics::MetricsConfig;
use oversight_metrics::tables::{SafeTable, TableCell, TableSpec, tabulate};
use oversight_store::Store;
use serde::Serialize;

/// A published table: what it counts and how, and its cells.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TableResponse {
    pub dataset: String,
    /// What the rows and columns are.
    pub rows_by: String,
    pub columns_by: Option<String>,
    pub measure: Option<String>,
    #[schema(value_type = Object)]
    pub filters: serde_json::Value,
    /// Counts above zero and under this are withheld, with what would give them back.
    pub threshold: u32,
    pub confidence: f64,
    #[serde(flatten)]
    pub table: SafeTable,
    pub notes: Vec<String>,
}

/// Tabulates and annotates a table; `filters` is how the request's filters are reported.
pub fn publish(
    store: &Store,
    cfg: &MetricsConfig,
    spec: &TableSpec<'_>,
    filters: serde_json::Value,
) -> Result<TableResponse, oversight_metrics::MetricsError> {
    let table = tabulate(store, cfg, spec)?;
    let mut notes = vec![format!(
        "counts above zero and under {} are withheld (small_count), and so is one more cell of any row, column or \
         margin that would otherwise give a withheld one back by subtraction (complementary)",
        cfg.suppression_threshold
    )];
    if let Some(m) = spec.measure {
        notes.push(format!(
            "share: records with {m} true among those with it recorded (records without it count in `count` only); \
             {:.0}% Wilson interval",
            100.0 * cfg.confidence
        ));
    }
    Ok(TableResponse {
        dataset: spec.records.source.as_str().into(),
        rows_by: spec.rows.name().into(),
        columns_by: spec.columns.map(|c| c.name().into()),
        measure: spec.measure.map(str::to_owned),
        filters,
        threshold: cfg.suppression_threshold,
        confidence: cfg.confidence,
        table,
        notes,
    })
}

/// Every cell, then the row totals, the column totals and the grand total, one line each.
pub fn csv_of(t: &TableResponse) -> Result<Vec<u8>, csv::Error> {
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
    write(&mut w)?;
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
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
pub fn html_of(t: &TableResponse) -> String {
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
