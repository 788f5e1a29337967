//! The three pages: `/` (the jurisdictions and what data each has), `/jurisdictions/{id}` (headline indicators,
//! disparity tables, policy events with their impact, data quality, downloads) and `/compare` (one indicator
//! across jurisdictions). The handlers gather the numbers with the API's own service functions and hand them
//! here as the types below; nothing here computes a number.

use crate::page::{chart, fmt_value, interval_cell, layout, query_escape, value_cell};
use chrono::NaiveDate;
use maud::{Markup, html};
use oversight_metrics::compare::{Comparison, Order, SortKey};
use oversight_metrics::disparity::DisparityTable;
use oversight_store::{Coverage, Jurisdiction, QualityNote};

/// A jurisdiction on the home page.
#[derive(Debug, Clone)]
pub struct HomeRow {
    pub jurisdiction: Jurisdiction,
    pub coverage: Vec<Coverage>,
    pub notes: Vec<QualityNote>,
}

/// `/`.
pub fn home(rows: &[HomeRow], threshold: u32) -> String {
    let body = html! {
        h1 { "Jurisdictions" }
        p.lede {
            "The places Oversight holds records for, what each has, and what to know about the data before reading \
             its numbers. Choose one for its indicators, disparities and policy events, or "
            a href="/compare" { "compare an indicator across all of them" } "."
        }
        @if rows.is_empty() { p.message { "No jurisdiction has records yet: import a file first." } }
        div.table-wrap { table #jurisdictions {
            thead { tr { th { "Jurisdiction" } th { "Dataset" } th.num { "Records" } th { "First" } th { "Last" } th { "Data quality" } } }
            tbody {
                @for r in rows {
                    @let n = r.coverage.len().max(1);
                    @for (i, c) in r.coverage.iter().enumerate() {
                        tr data-jurisdiction=(r.jurisdiction.id) data-dataset=(c.dataset) {
                            @if i == 0 {
                                td rowspan=(n) { a href={ "/jurisdictions/" (query_escape(&r.jurisdiction.id)) } { (r.jurisdiction.name) }
                                    br; span.flag { (r.jurisdiction.kind) } }
                            }
                            td { (c.dataset) }
                            td.num data-field="rows" data-value=(c.rows) { (fmt_value(c.rows as f64, false)) }
                            td { (date(c.date_min)) }
                            td { (date(c.date_max)) }
                            td { (notes_for(&r.notes, &c.dataset)) }
                        }
                    }
                    @if r.coverage.is_empty() {
                        tr data-jurisdiction=(r.jurisdiction.id) {
                            td { a href={ "/jurisdictions/" (query_escape(&r.jurisdiction.id)) } { (r.jurisdiction.name) } }
                            td colspan="5" .muted { "no records imported" }
                        }
                    }
                }
            }
        } }
    };
    layout("Jurisdictions", &[], threshold, body)
}

fn date(d: Option<NaiveDate>) -> String {
    d.map_or_else(|| "–".to_owned(), |d| d.to_string())
}

/// The quality notes of one dataset (the cube's names use underscores).
pub(crate) fn notes_for(notes: &[QualityNote], dataset: &str) -> Markup {
    let cube = dataset.replace('-', "_");
    let mine: Vec<&QualityNote> = notes.iter().filter(|n| n.dataset == dataset || n.dataset == cube).collect();
    html! {
        @if mine.is_empty() { span.muted { "no notes" } }
        @else { ul.notes { @for n in mine { li { (n.message) } } } }
    }
}

/// A disparity table with its links: JSON, CSV and the forest plot.
pub(crate) fn disparity_table(title: &str, t: &DisparityTable, api: &str, threshold: u32) -> Markup {
    let percent = t.dataset != "stops" || t.measure != "stop";
    let ratios = t.reference.is_some();
    let (path, query) = api.split_once('?').unwrap_or((api, ""));
    html! {
        section.disparity data-dataset=(t.dataset) data-measure=(t.measure) {
            h3 { (title) }
            p.note { (t.unit) @if let Some(r) = &t.reference { "; ratios to " (r) } "." }
            div.table-wrap { table {
                thead { tr {
                    th { "Group" } th.num { "Events" } th.num { "Out of" } th.num { "Rate" } th.num { "95% interval" }
                    @if ratios { th.num { "Ratio" } th.num { "95% interval" } }
                    th { "" }
                } }
                tbody { @for r in &t.rows {
                    tr data-group=(r.group) {
                        td { (r.group) }
                        (value_cell("numerator", r.numerator, false, r.suppressed))
                        (value_cell("denominator", r.denominator, false, r.suppressed))
                        (value_cell("rate", r.rate, percent, r.suppressed))
                        (interval_cell(r.rate_ci_low, r.rate_ci_high, percent, r.suppressed))
                        @if ratios {
                            (value_cell("ratio", r.ratio, false, r.suppressed))
                            (interval_cell(r.ratio_ci_low, r.ratio_ci_high, false, r.suppressed))
                        }
                        td.flag {
                            @if t.reference.as_deref() == Some(r.group.as_str()) { "reference " }
                            @if r.low_reliability { "low reliability" }
                        }
                    }
                } }
            } }
            @if !t.notes.is_empty() { ul.notes { @for n in &t.notes { li { (n) } } } }
            p.downloads {
                a href=(api) { "JSON" }
                a href={ (path) ".csv?" (query) } { "CSV" }
                a href={ (path) ".svg?" (query) } { "Chart (SVG)" }
            }
        }
        @let _ = threshold;
    }
}

/// `/compare`: the comparison table with links that sort it, and the form that picks the indicator.
pub fn compare_page(
    c: &Comparison,
    svg: &str,
    choices: &[(&str, &str)],
    sort: SortKey,
    order: Order,
    threshold: u32,
) -> String {
    let percent = c.unit.starts_with("share");
    let base = format!(
        "/compare?indicator={}&grain={}&group={}{}",
        query_escape(&c.indicator),
        c.grain.as_str(),
        query_escape(&c.group),
        c.period_start.map(|p| format!("&period={p}")).unwrap_or_default()
    );
    let api = base.replacen("/compare?", &format!("/v1/indicators/{}/compare?", query_escape(&c.indicator)), 1);
    let api = api.replacen(&format!("indicator={}&", query_escape(&c.indicator)), "", 1);
    let link = |key: SortKey, label: &str| {
        let flip = if sort == key && order == Order::Desc { "asc" } else { "desc" };
        let k = serde_key(key);
        let mark = if sort == key { if order == Order::Desc { " ▼" } else { " ▲" } } else { "" };
        html! { a href={ (base) "&sort=" (k) "&order=" (flip) } { (label) (mark) } }
    };
    let body = html! {
        h1 { (c.title) " across jurisdictions" }
        p.lede {
            (c.unit) ", " (c.group) ", " (c.grain.as_str()) " "
            strong { (c.period.clone().unwrap_or_else(|| "(no data)".into())) } ". Ratio: each jurisdiction's rate over "
            (c.ratio_to) "."
        }
        form.pick method="get" action="/compare" {
            label { "Indicator" select name="indicator" {
                @for (id, title) in choices { option value=(id) selected[*id == c.indicator] { (title) " (" (id) ")" } }
            } }
            label { "Period length" select name="grain" {
                @for g in ["month", "quarter", "year", "all"] { option value=(g) selected[g == c.grain.as_str()] { (g) } }
            } }
            label { "Period start" input type="date" name="period" value=(c.period_start.map(|p| p.to_string()).unwrap_or_default()); }
            label { "Group" input type="text" name="group" value=(c.group); }
            button type="submit" { "Compare" }
        }
        div.table-wrap { table #comparison {
            thead { tr {
                th { (link(SortKey::Jurisdiction, "Jurisdiction")) }
                th.num { (link(SortKey::Numerator, "Events")) }
                th.num { (link(SortKey::Denominator, "Out of")) }
                th.num { (link(SortKey::Value, "Value")) }
                th.num { "95% interval" }
                th.num { (link(SortKey::Ratio, "Ratio")) }
                th.num { "95% interval" }
                th { "" }
            } }
            tbody { @for r in &c.rows {
                tr data-jurisdiction=(r.jurisdiction) {
                    td { a href={ "/jurisdictions/" (query_escape(&r.jurisdiction)) } { (r.name) } }
                    (value_cell("numerator", r.numerator, false, r.suppressed))
                    (value_cell("denominator", r.denominator, false, r.suppressed))
                    (value_cell("value", r.value, percent, r.suppressed))
                    (interval_cell(r.ci_low, r.ci_high, percent, r.suppressed))
                    (value_cell("ratio", r.ratio, false, r.suppressed))
                    (interval_cell(r.ratio_ci_low, r.ratio_ci_high, false, r.suppressed))
                    td.flag { @if r.low_reliability { "low reliability" } }
                }
            } }
        } }
        @if !c.notes.is_empty() { ul.notes { @for n in &c.notes { li { (n) } } } }
        p.downloads {
            a href=(api) { "JSON" }
            a href=(api.replacen("/compare?", "/compare.csv?", 1)) { "CSV" }
            a href=(api.replacen("/compare?", "/compare.svg?", 1)) { "Chart (SVG)" }
        }
        (chart(svg, &api.replacen("/compare?", "/compare.svg?", 1)))
    };
    layout(&format!("Compare: {}", c.title), &[("Jurisdictions", "/"), ("Compare", "")], threshold, body)
}

fn serde_key(k: SortKey) -> &'static str {
    match k {
        SortKey::Jurisdiction => "jurisdiction",
        SortKey::Value => "value",
        SortKey::Ratio => "ratio",
        SortKey::Numerator => "numerator",
        SortKey::Denominator => "denominator",
    }
}
