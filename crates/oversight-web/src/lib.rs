//! What a browser sees: charts as SVG (plotters' SVG backend: text is laid out by the browser, so no font
//! files) and server-rendered pages (maud templates, checked at compile time; no JavaScript). The API's
//! handlers gather the numbers with the same service functions as its JSON endpoints and pass them here:
//! nothing in this crate computes a number, it only draws and writes what it is given.

mod chart;
mod forest;
mod impact;
mod jurisdiction;
mod page;
mod pages;
mod series;
mod threshold;

pub use chart::{ChartError, EVENT_COLOUR, no_data};
pub use forest::{Forest, ForestRow, Scale, disparity_forest, forest_svg};
pub use impact::{change_in_words, counted, impact_svg};
pub use jurisdiction::{DatasetPart, EventPart, Headline, Impact, JurisdictionView, Latest, jurisdiction_page};
pub use page::{STYLESHEET, STYLESHEET_PATH, fmt_value, message_page};
pub use pages::{HomeRow, compare_page, home};
pub use series::{Line, Marker, Point, SeriesChart, series_svg};
pub use threshold::{threshold_forest, threshold_page, threshold_sentences};

/// A comparison across jurisdictions as a dot-and-interval chart of each one's value.
pub fn compare_forest(c: &oversight_metrics::compare::Comparison, threshold: u32, source: String) -> Forest {
    let percent = c.unit.starts_with("share");
    Forest {
        title: format!("{}, {} {}", c.title, c.group, c.period.as_deref().unwrap_or("")),
        x_title: c.unit.clone(),
        scale: Scale::Value { percent },
        rows: c
            .rows
            .iter()
            .map(|r| ForestRow {
                label: r.name.clone(),
                mark: if r.suppressed {
                    Err(format!("withheld (fewer than {threshold})"))
                } else {
                    forest::estimate(r.value, r.ci_low, r.ci_high, false)
                },
            })
            .collect(),
        confidence: c.confidence,
        threshold,
        source,
        empty_reason: format!("no jurisdiction has {} for {} in this period", c.indicator, c.group),
    }
}
