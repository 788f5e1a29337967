//! An indicator's series over time: a line per group with its interval as a band, withheld periods as shaded
//! gaps, low-reliability points hollow, the jurisdiction's policy events as labelled dashed lines at their dates.

use crate::chart::{
    Drawn, EVENT_COLOUR, FONT, FOOTER_CHARS, INK, MUTED, PALETTE, SIZE, WITHHELD, date_of, draw_footer, event_label,
    finish, footer_height, next_start, no_data, number, period_label, runs, text_anchor_left, ticks, wrap, x_of,
};
use chrono::NaiveDate;
use oversight_core::Grain;
use plotters::prelude::*;

/// One period of a group as published: a withheld period has no value.
#[derive(Debug, Clone)]
pub struct Point {
    pub start: NaiveDate,
    pub value: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub suppressed: bool,
    pub low_reliability: bool,
}

/// A group's points, in period order.
#[derive(Debug, Clone)]
pub struct Line {
    pub group: String,
    pub points: Vec<Point>,
}

/// A policy event drawn on a chart.
#[derive(Debug, Clone)]
pub struct Marker {
    pub date: NaiveDate,
    pub label: String,
}

/// What a series chart shows.
#[derive(Debug, Clone)]
pub struct SeriesChart {
    pub title: String,
    /// The y axis title, with its unit.
    pub y_title: String,
    /// Values are shares (drawn as percentages).
    pub percent: bool,
    pub grain: Grain,
    pub lines: Vec<Line>,
    pub events: Vec<Marker>,
    /// The suppression threshold (a withheld period says "fewer than" it).
    pub threshold: u32,
    /// Where the numbers come from and where the method is described.
    pub source: String,
    /// Why there is nothing to draw, when there is nothing.
    pub empty_reason: String,
}

/// The chart as SVG: an image saying why when there is nothing to draw.
pub fn series_svg(c: &SeriesChart) -> String {
    let lines: Vec<&Line> = c.lines.iter().filter(|l| !l.points.is_empty()).collect();
    if lines.is_empty() {
        return no_data(&c.title, &c.empty_reason);
    }
    let mut svg = String::with_capacity(16_384);
    if let Err(e) = draw(&mut svg, c, &lines) {
        return no_data(&c.title, &e.0);
    }
    finish(svg, &c.title, &describe(c, &lines))
}

/// What the chart shows, in words (the SVG's `<desc>`).
fn describe(c: &SeriesChart, lines: &[&Line]) -> String {
    let mut d = format!("{} by {}. ", c.y_title, c.grain.as_str());
    for l in lines {
        let shown = l.points.iter().filter(|p| p.value.is_some()).count();
        let withheld = l.points.iter().filter(|p| p.suppressed).count();
        let last = l.points.iter().rev().find_map(|p| p.value.map(|v| (p.start, v)));
        d.push_str(&format!("{}: {shown} periods shown, {withheld} withheld", l.group));
        if let Some((s, v)) = last {
            d.push_str(&format!(", latest {} in {}", number(v, c.percent), period_label(c.grain, s)));
        }
        d.push_str(". ");
    }
    for e in &c.events {
        d.push_str(&format!("Policy event {} on {}. ", e.label, e.date));
    }
    d.push_str(&c.source);
    d
}

fn draw(svg: &mut String, c: &SeriesChart, lines: &[&Line]) -> Drawn {
    let mut starts: Vec<NaiveDate> = lines.iter().flat_map(|l| l.points.iter().map(|p| p.start)).collect();
    starts.sort_unstable();
    starts.dedup();
    let (first, last) = (starts[0], *starts.last().unwrap_or(&starts[0]));
    let x0 = x_of(first);
    let x1 = x_of(next_start(c.grain, last)).max(x0 + 1);
    let top = lines.iter().flat_map(|l| l.points.iter().filter_map(|p| p.ci_high.or(p.value))).fold(0.0_f64, f64::max);
    let y1 = if top > 0.0 { top * 1.12 } else { 1.0 };

    let key = format!(
        "Band: 95% interval. Hollow point: low reliability. Shaded (or a bar along the bottom in the line's colour): withheld, fewer than {}. Red vertical line: policy event. {}",
        c.threshold, c.source
    );
    let footer_lines = wrap(&key, FOOTER_CHARS);
    let height = SIZE.1 + footer_height(&footer_lines);
    let root = SVGBackend::with_string(svg, (SIZE.0, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let (plot_area, footer) = root.split_vertically(SIZE.1);
    let mut chart = ChartBuilder::on(&plot_area)
        .caption(&c.title, (FONT, 18).into_font().color(&INK))
        .margin_top(8)
        .margin_left(8)
        .margin_right(120)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d((x0..x1).with_key_points(ticks(&starts, 8)), 0.0..y1)?;
    let grain = c.grain;
    let percent = c.percent;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBColor(0xEE, 0xEE, 0xEE))
        .x_desc(format!("Period ({})", grain.as_str()))
        .y_desc(c.y_title.clone())
        .x_label_formatter(&|x| period_label(grain, date_of(*x)))
        .y_label_formatter(&|y| number(*y, percent))
        .y_labels(6)
        .label_style((FONT, 12).into_font().color(&INK))
        .axis_desc_style((FONT, 13).into_font().color(&INK))
        .draw()?;

    // Withheld periods: shaded across the plot where every line is withheld (a gap in all of them), labelled
    // once; where only some lines are, a short mark in the line's colour along the bottom of the plot.
    let withheld_by_all = |d: &NaiveDate| {
        lines.iter().all(|l| l.points.iter().find(|p| p.start == *d).is_none_or(|p| p.suppressed))
            && lines.iter().any(|l| l.points.iter().any(|p| p.start == *d && p.suppressed))
    };
    let mut labelled = false;
    for run in runs(&starts, withheld_by_all) {
        let (a, b) = (x_of(run[0]), x_of(next_start(grain, run[run.len() - 1])));
        chart.draw_series(std::iter::once(Rectangle::new([(a, 0.0), (b, y1)], WITHHELD.filled())))?;
        if !labelled {
            let style = (FONT, 11).into_font().color(&MUTED).pos(text_anchor_left());
            chart.draw_series(std::iter::once(Text::new(" withheld", (a, y1 * 0.97), style)))?;
            labelled = true;
        }
    }
    if lines.len() > 1 {
        for (i, l) in lines.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            let h = y1 * 0.025;
            let (lo, hi) = (h * i as f64, h * (i as f64 + 0.8));
            chart.draw_series(l.points.iter().filter(|p| p.suppressed && !withheld_by_all(&p.start)).map(|p| {
                Rectangle::new([(x_of(p.start), lo), (x_of(next_start(grain, p.start)), hi)], colour.mix(0.5).filled())
            }))?;
        }
    }
    // x at the middle of each period: a point stands for its whole period.
    let mid = |d: NaiveDate| (x_of(d) + x_of(next_start(grain, d))) / 2;
    for (i, l) in lines.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        for run in runs(&l.points, |p| p.ci_low.is_some() && p.ci_high.is_some() && p.value.is_some()) {
            let mut band: Vec<(i32, f64)> = run.iter().map(|p| (mid(p.start), p.ci_high.unwrap_or(0.0))).collect();
            band.extend(run.iter().rev().map(|p| (mid(p.start), p.ci_low.unwrap_or(0.0))));
            chart.draw_series(std::iter::once(Polygon::new(band, colour.mix(0.16).filled())))?;
        }
        for run in runs(&l.points, |p| p.value.is_some()) {
            let pts = run.iter().map(|p| (mid(p.start), p.value.unwrap_or(0.0)));
            chart.draw_series(LineSeries::new(pts, colour.stroke_width(2)))?;
        }
        // Points: hollow where the estimate is of low reliability, filled where a point stands alone (no line
        // through it); elsewhere the line shows them.
        for run in runs(&l.points, |p| p.value.is_some()) {
            let alone = run.len() == 1;
            chart.draw_series(run.iter().filter(|p| alone || p.low_reliability).filter_map(|p| {
                let style = if p.low_reliability { colour.stroke_width(2) } else { colour.filled() };
                Some(Circle::new((mid(p.start), p.value?), 3, style))
            }))?;
        }
        if let Some((d, v)) = p_last(l) {
            let style = (FONT, 12).into_font().color(&colour).pos(text_anchor_left());
            chart.draw_series(std::iter::once(Text::new(format!("    {}", l.group), (mid(d), v), style)))?;
        }
    }
    for (i, e) in c.events.iter().enumerate() {
        let x = x_of(e.date);
        if !(x0..=x1).contains(&x) {
            continue;
        }
        let style = ShapeStyle::from(&EVENT_COLOUR).stroke_width(2);
        chart.draw_series(std::iter::once(PathElement::new(vec![(x, 0.0), (x, y1)], style)))?;
        chart.draw_series(std::iter::once(event_label(
            &e.label,
            e.date,
            x,
            (x0, x1),
            y1 * (0.9 - 0.06 * (i % 4) as f64),
        )))?;
    }
    draw_footer(&footer, &footer_lines, false)?;
    root.present()?;
    Ok(())
}

fn p_last(l: &Line) -> Option<(NaiveDate, f64)> {
    l.points.iter().rev().find_map(|p| p.value.map(|v| (p.start, v)))
}
