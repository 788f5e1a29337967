//! The pages' frame and the pieces every page uses: the layout (one stylesheet from the binary, no script),
//! numbers as a committee reads them, and a value cell that carries the API's number beside its text.

use maud::{DOCTYPE, Markup, PreEscaped, html};

/// The stylesheet, served from the binary at [`STYLESHEET_PATH`] (no request leaves the machine).
pub const STYLESHEET: &str = include_str!("oversight.css");
/// Where the pages link the stylesheet.
pub const STYLESHEET_PATH: &str = "/static/oversight.css";

/// A whole page: title, breadcrumbs, content, and the footer that says where the numbers come from.
pub(crate) fn layout(title: &str, crumbs: &[(&str, &str)], threshold: u32, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Oversight" }
                link rel="stylesheet" href=(STYLESHEET_PATH);
                // No favicon request: the browser asks for nothing the page does not name.
                link rel="icon" href="data:,";
            }
            body {
                header.site {
                    a.brand href="/" { "Oversight" }
                    nav {
                        a href="/" { "Jurisdictions" }
                        a href="/compare" { "Compare" }
                        a href="/docs/" { "API" }
                    }
                }
                @if !crumbs.is_empty() {
                    nav.crumbs aria-label="Breadcrumb" {
                        @for (i, (label, href)) in crumbs.iter().enumerate() {
                            @if i > 0 { " › " }
                            @if href.is_empty() { span { (label) } } @else { a href=(href) { (label) } }
                        }
                    }
                }
                main { (body) }
                footer.site {
                    p {
                        "Every number on this page is served by the Oversight API (the links beside each table and chart \
                         give the request). "
                        strong { "Withheld" } " means a count from 1 to " (threshold.saturating_sub(1))
                        " (or a rate built on one) is not published, so that no one can be recognised from it; a cell that \
                         would let a withheld one be worked out is withheld too."
                    }
                    p { "Intervals are 95% intervals. " em { "Low reliability" } " marks estimates from few events." }
                }
            }
        }
    }
    .into_string()
}

/// A value as text: shares as percentages, counts with thousands separators, other numbers to 3 significant
/// digits.
pub fn fmt_value(v: f64, percent: bool) -> String {
    if percent {
        return format!("{:.1}%", v * 100.0);
    }
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return thousands(v as i64);
    }
    let a = v.abs();
    if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn thousands(n: i64) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A table cell with a number: the text a reader sees, and the API's value in `data-value` (what the browser
/// test compares with the API). Withheld and missing cells say which.
pub(crate) fn value_cell(field: &str, v: Option<f64>, percent: bool, withheld: bool) -> Markup {
    html! {
        @match (v, withheld) {
            (_, true) => td.withheld data-field=(field) { "withheld" },
            (Some(x), false) => td.num data-field=(field) data-value=(x) { (fmt_value(x, percent)) },
            (None, false) => td.none data-field=(field) { "–" },
        }
    }
}

/// An interval cell: "9.3%–10.8%".
pub(crate) fn interval_cell(lo: Option<f64>, hi: Option<f64>, percent: bool, withheld: bool) -> Markup {
    html! {
        @match (lo, hi, withheld) {
            (_, _, true) => td.withheld data-field="interval" { "withheld" },
            (Some(a), Some(b), false) => td.num data-field="interval" data-low=(a) data-high=(b) {
                (fmt_value(a, percent)) "–" (fmt_value(b, percent))
            },
            _ => td.none data-field="interval" { "–" },
        }
    }
}

/// A chart in the page (the SVG its API endpoint serves, with its own `<title>` and `<desc>`), and a link to
/// that endpoint.
pub(crate) fn chart(svg: &str, src: &str) -> Markup {
    html! {
        figure.chart {
            (PreEscaped(svg))
            figcaption { a href=(src) { "Chart (SVG)" } }
        }
    }
}

/// A page for a refusal (unknown jurisdiction, a key needed): the message, and where to go.
pub fn message_page(title: &str, message: &str, threshold: u32) -> String {
    layout(title, &[("Jurisdictions", "/")], threshold, html! { h1 { (title) } p.message { (message) } })
}

/// Escapes text for an HTML attribute or body (for the few places that build a URL by hand).
pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b':' => out.push(':'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_plainly() {
        assert_eq!(fmt_value(0.10234, true), "10.2%");
        assert_eq!(fmt_value(19001.0, false), "19,001");
        assert_eq!(fmt_value(2.0149, false), "2.01");
        assert_eq!(fmt_value(-1234567.0, false), "-1,234,567");
        assert_eq!(query_escape("race:black & co"), "race:black%20%26%20co");
    }
}
