//! `/jurisdictions/{id}`: for each dataset the jurisdiction has, its headline indicators (latest value,
//! interval, chart); the disparity tables; the policy events with each one's impact in words and its chart;
//! data-quality notes; and the extracts to download.

use crate::page::{chart, fmt_value, layout, query_escape};
use crate::pages::{disparity_table, notes_for};
use maud::html;
use oversight_metrics::disparity::DisparityTable;
use oversight_store::{Coverage, Jurisdiction, PolicyEvent, QualityNote};

/// The latest published period of a headline indicator.
#[derive(Debug, Clone)]
pub struct Latest {
    pub period: String,
    pub value: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub numerator: Option<f64>,
    pub denominator: Option<f64>,
    pub suppressed: bool,
    pub low_reliability: bool,
}

/// A headline indicator: its latest value and its chart, from the series endpoint.
#[derive(Debug, Clone)]
pub struct Headline {
    pub indicator: String,
    pub title: String,
    pub unit: String,
    pub percent: bool,
    pub group: String,
    pub latest: Option<Latest>,
    /// The series request (JSON); the chart is its `.svg` sibling.
    pub api: String,
    /// The chart, as the `.svg` sibling draws it.
    pub chart: String,
}

/// A dataset's part of the page.
#[derive(Debug, Clone)]
pub struct DatasetPart {
    pub coverage: Coverage,
    pub headlines: Vec<Headline>,
    /// Disparity tables: title, the table, its API request.
    pub disparities: Vec<(String, DisparityTable, String)>,
}

/// One analysis of a policy event: the sentence, or why there is none.
#[derive(Debug, Clone)]
pub struct Impact {
    pub indicator_title: String,
    pub group: String,
    pub words: Result<String, String>,
    /// The impact request (JSON); the chart is `impact.svg` with the same parameters.
    pub api: String,
    /// The chart, as `impact.svg` draws it (for the event's first analysis).
    pub chart: Option<String>,
}

/// A policy event with its analyses.
#[derive(Debug, Clone)]
pub struct EventPart {
    pub event: PolicyEvent,
    pub impacts: Vec<Impact>,
}

/// Everything on the page.
#[derive(Debug, Clone)]
pub struct JurisdictionView {
    pub jurisdiction: Jurisdiction,
    pub datasets: Vec<DatasetPart>,
    pub events: Vec<EventPart>,
    pub notes: Vec<QualityNote>,
    pub threshold: u32,
}

/// The page.
pub fn jurisdiction_page(v: &JurisdictionView) -> String {
    let j = &v.jurisdiction;
    let id = query_escape(&j.id);
    let body = html! {
        h1 { (j.name) }
        p.lede {
            (j.kind)
            @if let Some(s) = &j.state { ", " (s) }
            @if let Some(tz) = &j.timezone { " · time zone " (tz) }
            " · " a href={ "/v1/jurisdictions/" (id) } { "API" }
        }
        @if v.datasets.is_empty() { p.message { "No records have been imported for this jurisdiction yet." } }
        nav.toc { ul {
            @for d in &v.datasets { li { a href={ "#" (d.coverage.dataset) } { (d.coverage.dataset) } } }
            @if !v.events.is_empty() { li { a href="#policy-events" { "Policy events" } } }
            li { a href="#data-quality" { "Data quality" } }
        } }
        @for d in &v.datasets {
            section.dataset id=(d.coverage.dataset) {
                h2 { (title_case(&d.coverage.dataset)) }
                p.note {
                    (fmt_value(d.coverage.rows as f64, false)) " records, "
                    (d.coverage.date_min.map(|x| x.to_string()).unwrap_or_default()) " to "
                    (d.coverage.date_max.map(|x| x.to_string()).unwrap_or_default()) "."
                }
                div.grid { @for h in &d.headlines {
                    div.card.headline-card data-indicator=(h.indicator) data-group=(h.group) {
                        h3 { (h.title) }
                        @match &h.latest {
                            None => p.muted { "No published value yet." },
                            Some(l) if l.suppressed => p { span.headline data-field="value" { "withheld" } " in " (l.period) },
                            Some(l) => p {
                                @if let Some(x) = l.value { span.headline data-field="value" data-value=(x) { (fmt_value(x, h.percent)) } }
                                " in " span data-field="period" { (l.period) }
                                @if let (Some(a), Some(b)) = (l.ci_low, l.ci_high) {
                                    br; span.muted data-field="interval" data-low=(a) data-high=(b) { "95% interval " (fmt_value(a, h.percent)) "–" (fmt_value(b, h.percent)) }
                                }
                                @if let (Some(n), Some(dn)) = (l.numerator, l.denominator) {
                                    br; span.muted { (fmt_value(n, false)) " of " (fmt_value(dn, false)) }
                                }
                                @if l.low_reliability { br; span.flag { "low reliability" } }
                            },
                        }
                        p.muted { (h.unit) }
                        (chart(&h.chart, &h.api.replacen("/series?", "/series.svg?", 1)))
                    }
                } }
                @for (title, t, api) in &d.disparities { (disparity_table(title, t, api, v.threshold)) }
                @if d.coverage.dataset == "stops" {
                    p.more { a href={ "/jurisdictions/" (id) "/threshold-test" } {
                        "Searched on less evidence? The threshold test, group by group" } }
                }
                h3 { "Download the records" }
                p.downloads {
                    @let ds = &d.coverage.dataset;
                    a href={ "/v1/extracts/" (ds) "?jurisdiction=" (id) "&format=csv" } { "CSV" }
                    a href={ "/v1/extracts/" (ds) "?jurisdiction=" (id) "&format=parquet" } { "Parquet" }
                    a href={ "/v1/extracts/" (ds) "/manifest?jurisdiction=" (id) } { "Manifest" }
                    a href={ "/v1/extracts/" (ds) "/dictionary.html?jurisdiction=" (id) } { "Data dictionary" }
                }
            }
        }
        @if !v.events.is_empty() {
            section #policy-events {
                h2 { "Policy events" }
                @for e in &v.events {
                    article.event data-event=(e.event.id) {
                        h3 { (e.event.title) }
                        p.note { (e.event.kind) ", effective " (e.event.effective_date)
                            @if let Some(a) = &e.event.agency { " · " (a) } }
                        @for i in &e.impacts {
                            @let svg = i.api.replacen("/impact?", "/impact.svg?", 1);
                            @match &i.words {
                                Ok(w) => {
                                    p.impact data-indicator=(i.indicator_title) { strong { (i.indicator_title) " (" (i.group) "): " } (w) "." " "
                                        a href=(i.api) { "API" } }
                                    @if let Some(c) = &i.chart { (chart(c, &svg)) }
                                }
                                Err(why) => p.impact.muted { strong { (i.indicator_title) " (" (i.group) "): " } "not estimated: " (why) },
                            }
                        }
                    }
                }
            }
        }
        section #data-quality {
            h2 { "Data quality" }
            @if v.notes.is_empty() { p.muted { "No data-quality notes." } }
            @for d in &v.datasets {
                h3 { (d.coverage.dataset) }
                (notes_for(&v.notes, &d.coverage.dataset))
            }
        }
    };
    layout(&j.name, &[("Jurisdictions", "/"), (j.name.as_str(), "")], v.threshold, body)
}

pub(crate) fn title_case(s: &str) -> String {
    let s = s.replace('_', " ");
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}
