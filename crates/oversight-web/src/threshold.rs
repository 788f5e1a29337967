//! `/jurisdictions/{id}/threshold-test`: the threshold test as a committee reads it — each group's search
//! threshold in a sentence, a table and a dot-and-interval chart, how well the model fits the data and how
//! well the sampler converged, and what was left out.

use crate::forest::{Forest, ForestRow, Scale, forest_svg};
use crate::jurisdiction::title_case;
use crate::page::{fmt_value, layout, query_escape, value_cell};
use maud::{PreEscaped, html};
use oversight_metrics::analysis::ThresholdResult;
use oversight_store::Jurisdiction;

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn points(x: f64) -> String {
    format!("{:+.1}", x * 100.0).replace('-', "−")
}

/// An estimate with its interval: (mean, low, high).
type Interval = (f64, f64, f64);

/// Each group's threshold against the reference group's, in words.
pub fn threshold_sentences(r: &ThresholdResult) -> Vec<String> {
    let Some(reference) = r.thresholds.iter().find(|t| t.race == r.reference) else { return Vec::new() };
    r.thresholds
        .iter()
        .filter(|t| t.race != r.reference)
        .filter_map(|t| {
            let (d, p) = (t.difference.as_ref()?, t.probability_lower?);
            let e = &t.threshold;
            Some(sentence(
                &t.race,
                (e.mean, e.ci_low, e.ci_high),
                &r.reference,
                reference.threshold.mean,
                (d.mean, d.ci_low, d.ci_high),
                p,
                r.level,
            ))
        })
        .collect()
}

/// One group's sentence: its threshold, the reference group's, and what the difference's interval says.
fn sentence(race: &str, t: Interval, reference: &str, reference_mean: f64, d: Interval, p: f64, level: f64) -> String {
    let head = format!(
        "{} people stopped were searched when officers judged the chance of finding contraband to be about {} \
         ({:.0}% interval {}–{}), against {} for {reference} people",
        title_case(race),
        pct(t.0),
        level * 100.0,
        pct(t.1),
        pct(t.2),
        pct(reference_mean),
    );
    let range = format!(
        "{} to {}; the probability that their threshold is lower is {:.0}%",
        points(d.1),
        points(d.2),
        p * 100.0
    );
    let tail = if d.2 < 0.0 {
        format!("they were searched on less evidence, {} points lower ({range})", points(-d.0).trim_start_matches('+'))
    } else if d.1 > 0.0 {
        format!("they were searched on more evidence, {} points higher ({range})", points(d.0).trim_start_matches('+'))
    } else {
        format!("the data cannot tell the two apart (a difference of {} points, {range})", points(d.0))
    };
    format!("{head}: {tail}.")
}

/// The thresholds as a dot-and-interval chart.
pub fn threshold_forest(r: &ThresholdResult, title: String, source: String, threshold: u32) -> Forest {
    Forest {
        title,
        x_title: "probability of contraband at which officers search".into(),
        scale: Scale::Value { percent: true },
        rows: r
            .thresholds
            .iter()
            .map(|t| ForestRow {
                label: title_case(&t.race),
                mark: Ok((t.threshold.mean, t.threshold.ci_low, t.threshold.ci_high)),
            })
            .collect(),
        confidence: r.level,
        threshold,
        source,
        empty_reason: "no groups were tested".into(),
    }
}

/// The page.
pub fn threshold_page(j: &Jurisdiction, r: &ThresholdResult, api: &str, threshold: u32) -> String {
    let id = query_escape(&j.id);
    let span = match (r.from, r.to) {
        (Some(a), Some(b)) => format!("{a} to {b}"),
        _ => "every stop on record".to_owned(),
    };
    let title = format!("Threshold test, {}", j.name);
    let svg = forest_svg(&threshold_forest(r, title.clone(), format!("Source: Oversight API {api}"), threshold));
    let d = &r.diagnostics;
    let p = &r.predictive_check;
    let lo = &r.left_out;
    let count = |n: Option<u64>| n.map_or_else(|| format!("fewer than {threshold}"), |n| fmt_value(n as f64, false));
    let body = html! {
        h1 { "Searched on less evidence? " span.muted { (j.name) } }
        p.lede {
            "A search tells us how sure an officer had to be that the person carried something. From how often each \
             group is searched and how often those searches find something, the threshold test infers that level of \
             certainty for each group. A lower threshold for one group means its members are searched on less \
             evidence — something hit rates alone can hide, because groups differ in who carries contraband."
        }
        p.note { (span) " · " (r.districts) " district(s) · " a href=(api) { "API" } }
        section #threshold-words {
            @for s in threshold_sentences(r) { p.impact { (s) } }
        }
        table #thresholds {
            thead { tr {
                th { "Group" } th { "Stops" } th { "Searches" } th { "Hits" } th { "Threshold" }
                th { (format!("{:.0}% interval", r.level * 100.0)) } th { "Difference from " (r.reference) " (points)" }
                th { "Interval" } th { "Probability lower" }
            } }
            tbody { @for t in &r.thresholds {
                tr data-race=(t.race) {
                    td { (title_case(&t.race)) }
                    (value_cell("stops", t.stops.map(|n| n as f64), false, t.suppressed))
                    (value_cell("searches", t.searches.map(|n| n as f64), false, t.suppressed))
                    (value_cell("hits", t.hits.map(|n| n as f64), false, t.suppressed))
                    (value_cell("threshold", Some(t.threshold.mean), true, false))
                    td.num data-field="interval" data-low=(t.threshold.ci_low) data-high=(t.threshold.ci_high) {
                        (pct(t.threshold.ci_low)) "–" (pct(t.threshold.ci_high))
                    }
                    @match (&t.difference, t.probability_lower) {
                        (Some(x), Some(pl)) => {
                            td.num data-field="difference" data-value=(x.mean) { (points(x.mean)) }
                            td.num data-field="difference_interval" data-low=(x.ci_low) data-high=(x.ci_high) {
                                (points(x.ci_low)) " to " (points(x.ci_high))
                            }
                            td.num data-field="probability_lower" data-value=(pl) { (format!("{:.0}%", pl * 100.0)) }
                        }
                        _ => { td.none data-field="difference" { "reference" } td.none { "–" } td.none { "–" } }
                    }
                }
            } }
        }
        figure.chart {
            (PreEscaped(svg))
            figcaption { a href=(api) { "Data (JSON)" } }
        }
        h2 { "How far to trust it" }
        p {
            "Model check: predicted search rates are off the observed ones by " (format!("{:.2}", p.search_rate_rmse * 100.0))
            " points on average (root mean square), hit rates by " (format!("{:.2}", p.hit_rate_rmse * 100.0))
            " points; " (format!("{:.0}%", p.search_covered * 100.0)) " of the cells' search rates and "
            (format!("{:.0}%", p.hit_covered * 100.0)) " of their hit rates lie inside the 95% range of data simulated from the fit."
        }
        p {
            "Sampler: " (d.chains) " chains × " (fmt_value(d.draws as f64, false)) " draws after "
            (fmt_value(d.tune as f64, false)) " warm-up (seed " (d.seed) "); largest R-hat "
            (format!("{:.3}", d.max_r_hat)) " (at most 1.01 is required), smallest effective sample size "
            (fmt_value(d.min_ess_bulk.round(), false)) " (at least 400), " (d.divergences) " divergent transitions. "
            "A test that fails these is not shown at all."
        }
        p.note {
            "Left out: " (count(lo.search_unknown)) " stops with no recorded search decision, "
            (count(lo.result_unknown)) " searches with no recorded result, " (count(lo.contraband_without_search))
            " with contraband but no search, " (count(lo.no_district)) " with no district, "
            (count(lo.other_races)) " of other groups."
        }
        @for n in &r.notes { p.note { (n) } }
        p.note { (r.method) }
    };
    layout(
        &title,
        &[("Jurisdictions", "/"), (j.name.as_str(), &format!("/jurisdictions/{id}")), ("Threshold test", "")],
        threshold,
        body,
    )
}

#[cfg(test)]
mod tests {
    use super::sentence;

    #[test]
    fn the_sentence_says_less_more_or_cannot_tell_from_the_differences_interval() {
        let less = sentence("black", (0.21, 0.17, 0.25), "white", 0.24, (-0.031, -0.058, -0.004), 0.985, 0.95);
        assert_eq!(
            less,
            "Black people stopped were searched when officers judged the chance of finding contraband to be about \
             21.0% (95% interval 17.0%–25.0%), against 24.0% for white people: they were searched on less evidence, \
             3.1 points lower (−5.8 to −0.4; the probability that their threshold is lower is 98%)."
        );
        let more = sentence("hispanic", (0.3, 0.27, 0.33), "white", 0.24, (0.06, 0.02, 0.1), 0.001, 0.95);
        assert!(more.contains("on more evidence, 6.0 points higher (+2.0 to +10.0;"), "{more}");
        let unclear = sentence("asian", (0.23, 0.15, 0.3), "white", 0.24, (-0.01, -0.08, 0.05), 0.6, 0.95);
        assert!(unclear.contains("cannot tell the two apart (a difference of −1.0 points, −8.0 to +5.0;"), "{unclear}");
    }
}
