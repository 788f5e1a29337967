//! A policy event's impact: the observed series, the model's fit, the counterfactual (the fit without the
//! post-event terms) after the event, the event marker, and the estimate with its interval in words.

use crate::chart::{
    Drawn, EVENT_COLOUR, FONT, FOOTER_CHARS, INK, MUTED, PALETTE, SIZE, date_of, event_label, finish, footer_height,
    next_start, no_data, number, period_label, runs, ticks, wrap, x_of,
};
use chrono::NaiveDate;
use oversight_metrics::analysis::{Effect, ItsResult};
use plotters::prelude::*;

/// A change as a committee reads it: "22% fewer reports than the trend predicted (95% interval 12%–31% fewer)".
pub fn change_in_words(e: &Effect, what: &str, confidence: f64) -> String {
    let pct = |r: f64| ((r - 1.0).abs() * 100.0).round();
    let dir = |r: f64| if r < 1.0 { "fewer" } else { "more" };
    let head = if (e.ratio - 1.0).abs() < 0.005 {
        format!("no change in {what} from what the trend predicted")
    } else {
        format!("{}% {} {what} than the trend predicted", pct(e.ratio), dir(e.ratio))
    };
    let (lo, hi) = (e.ratio_ci_low, e.ratio_ci_high);
    let interval = if lo < 1.0 && hi < 1.0 {
        format!("{}%–{}% fewer", pct(hi), pct(lo))
    } else if lo > 1.0 && hi > 1.0 {
        format!("{}%–{}% more", pct(lo), pct(hi))
    } else {
        format!("from {}% fewer to {}% more: no change is within the interval", pct(lo), pct(hi))
    };
    format!("{head} ({:.0}% interval {interval})", confidence * 100.0)
}

/// What the indicator counts, for [`change_in_words`]: "reports" for crime reports, else the unit.
pub fn counted(unit: &str) -> &str {
    match unit {
        "victims" | "crime reports" => "reports",
        u => u,
    }
}

/// The impact chart as SVG.
pub fn impact_svg(r: &ItsResult, title: &str, unit: &str, source: &str) -> String {
    if r.series.is_empty() {
        return no_data(title, "no periods to fit");
    }
    let caption = format!(
        "{}: {}. {}, {}; {}.",
        r.event.title,
        change_in_words(&r.level_change, counted(unit), r.confidence),
        r.model,
        r.covariance,
        r.reference_distribution
    );
    let mut svg = String::with_capacity(16_384);
    if let Err(e) = draw(&mut svg, r, title, unit, &caption, source) {
        return no_data(title, &e.0);
    }
    let desc = format!(
        "Observed {unit} by {} from {} to {} ({} periods), the fitted trend, and after the event on {} the \
         counterfactual trend. {caption} {source}",
        r.grain.as_str(),
        r.first_period,
        r.last_period,
        r.n,
        r.event.effective_date
    );
    finish(svg, title, &desc)
}

fn draw(svg: &mut String, r: &ItsResult, title: &str, unit: &str, caption: &str, source: &str) -> Drawn {
    let grain = r.grain;
    let starts: Vec<NaiveDate> = r.series.iter().map(|p| p.period_start).collect();
    let x0 = x_of(starts[0]);
    let x1 = x_of(next_start(grain, starts[starts.len() - 1]));
    let top = r
        .series
        .iter()
        .flat_map(|p| [if p.suppressed { 0.0 } else { p.observed }, p.fitted, p.counterfactual])
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    let y1 = if top > 0.0 { top * 1.15 } else { 1.0 };
    let mut lines = wrap(caption, FOOTER_CHARS);
    let key = format!(
        "Dots: observed (gaps: withheld). Solid: model fit. Dashed after the event: the trend the model expects without it. {source}"
    );
    lines.extend(wrap(&key, FOOTER_CHARS));
    let height = SIZE.1 + footer_height(&lines);
    let root = SVGBackend::with_string(svg, (SIZE.0, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let (plot_area, footer) = root.split_vertically(SIZE.1);
    let mut chart = ChartBuilder::on(&plot_area)
        .caption(title, (FONT, 18).into_font().color(&INK))
        .margin_top(8)
        .margin_left(8)
        .margin_right(24)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d((x0..x1).with_key_points(ticks(&starts, 8)), 0.0..y1)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBColor(0xEE, 0xEE, 0xEE))
        .x_desc(format!("Period ({})", grain.as_str()))
        .y_desc(unit.to_owned())
        .x_label_formatter(&|x| period_label(grain, date_of(*x)))
        .y_label_formatter(&|y| number(*y, false))
        .label_style((FONT, 12).into_font().color(&INK))
        .axis_desc_style((FONT, 13).into_font().color(&INK))
        .draw()?;
    let mid = |d: NaiveDate| (x_of(d) + x_of(next_start(grain, d))) / 2;
    let (observed, fit, counter) = (PALETTE[0], INK, PALETTE[1]);
    chart.draw_series(
        r.series
            .iter()
            .filter(|p| !p.suppressed && p.observed.is_finite())
            .map(|p| Circle::new((mid(p.period_start), p.observed), 3, observed.filled())),
    )?;
    for run in runs(&r.series, |p| !p.post) {
        chart.draw_series(LineSeries::new(run.iter().map(|p| (mid(p.period_start), p.fitted)), fit.stroke_width(2)))?;
    }
    for run in runs(&r.series, |p| p.post) {
        chart.draw_series(LineSeries::new(run.iter().map(|p| (mid(p.period_start), p.fitted)), fit.stroke_width(2)))?;
        let cf: Vec<(i32, f64)> = run.iter().map(|p| (mid(p.period_start), p.counterfactual)).collect();
        chart.draw_series(DashedLineSeries::new(cf, 12, 6, counter.stroke_width(2)))?;
    }
    let x = x_of(r.event.effective_date);
    let style = ShapeStyle::from(&EVENT_COLOUR).stroke_width(2);
    chart.draw_series(std::iter::once(PathElement::new(vec![(x, 0.0), (x, y1)], style)))?;
    chart.draw_series(std::iter::once(event_label(&r.event.title, r.event.effective_date, x, (x0, x1), y1 * 0.93)))?;
    let caption_lines = wrap(caption, FOOTER_CHARS).len();
    for (i, l) in lines.iter().enumerate() {
        let colour = if i < caption_lines { &INK } else { &MUTED };
        footer.draw(&Text::new(l.clone(), (12, 4 + 15 * i as i32), (FONT, 11).into_font().color(colour)))?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn effect(ratio: f64, lo: f64, hi: f64) -> Effect {
        Effect {
            estimate: ratio.ln(),
            se: 0.1,
            ci_low: lo.ln(),
            ci_high: hi.ln(),
            p_value: 0.01,
            ratio,
            ratio_ci_low: lo,
            ratio_ci_high: hi,
            df: Some(20.0),
        }
    }

    #[test]
    fn changes_read_as_a_committee_would_say_them() {
        assert_eq!(
            change_in_words(&effect(0.78, 0.69, 0.88), "reports", 0.95),
            "22% fewer reports than the trend predicted (95% interval 12%–31% fewer)"
        );
        assert_eq!(
            change_in_words(&effect(1.3, 1.1, 1.5), "stops", 0.95),
            "30% more stops than the trend predicted (95% interval 10%–50% more)"
        );
        assert!(change_in_words(&effect(0.9, 0.7, 1.2), "reports", 0.95).contains("from 30% fewer to 20% more"));
    }
}
