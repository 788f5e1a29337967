//! A disparity table as a forest plot: each group's ratio to the reference group with its interval, on a log
//! scale, against a line at 1; for tables of shares (detainers) each group's share with its interval. Withheld
//! groups are listed as withheld, never drawn.

use crate::chart::{
    Drawn, FONT, FOOTER_CHARS, INK, MUTED, PALETTE, SIZE, draw_footer, finish, footer_height, no_data, number,
    text_anchor_left, wrap,
};
use oversight_metrics::disparity::{DisparityRow, DisparityTable};
use plotters::prelude::*;

/// A row of a dot-and-interval chart: its label, and its estimate with interval or why there is none.
#[derive(Debug, Clone)]
pub struct ForestRow {
    pub label: String,
    pub mark: Result<(f64, f64, f64), String>,
}

/// How the x axis reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Scale {
    /// Ratios to a reference, on a log scale with a line at 1.
    Ratio { reference: String },
    /// Values from 0 (shares as percentages when `percent`).
    Value { percent: bool },
}

/// What a forest plot shows.
#[derive(Debug, Clone)]
pub struct Forest {
    pub title: String,
    pub x_title: String,
    pub scale: Scale,
    pub rows: Vec<ForestRow>,
    pub confidence: f64,
    pub threshold: u32,
    pub source: String,
    /// Why there is nothing to draw, when there is nothing.
    pub empty_reason: String,
}

/// A disparity table as a forest plot: ratios to the reference group, or shares where the table has no
/// reference (detainers).
pub fn disparity_forest(t: &DisparityTable, title: String, threshold: u32, source: String) -> Forest {
    let scale = match &t.reference {
        Some(r) => Scale::Ratio { reference: r.clone() },
        None => Scale::Value { percent: true },
    };
    let x_title = match &t.reference {
        Some(r) => format!("{} ratio to {r} (log scale; 1 = same rate)", t.unit),
        None => format!("{} (share)", t.unit),
    };
    Forest {
        title,
        x_title,
        scale,
        rows: t.rows.iter().map(|r| ForestRow { label: r.group.clone(), mark: mark(r, t, threshold) }).collect(),
        confidence: t.confidence,
        threshold,
        source,
        empty_reason: format!("no {} records for {} in this window", t.dataset, t.jurisdiction),
    }
}

/// The plot as SVG (a "no data" image when there are no rows).
pub fn forest_svg(f: &Forest) -> String {
    if f.rows.is_empty() {
        return no_data(&f.title, &f.empty_reason);
    }
    let mut svg = String::with_capacity(8_192);
    if let Err(e) = draw(&mut svg, f) {
        return no_data(&f.title, &e.0);
    }
    finish(svg, &f.title, &describe(f))
}

fn mark(r: &DisparityRow, t: &DisparityTable, threshold: u32) -> Result<(f64, f64, f64), String> {
    if r.suppressed {
        return Err(format!("withheld (fewer than {threshold})"));
    }
    if t.reference.as_deref() == Some(r.group.as_str()) {
        return Err("reference group (ratio 1)".into());
    }
    let (v, lo, hi) = if t.reference.is_some() {
        (r.ratio, r.ratio_ci_low, r.ratio_ci_high)
    } else {
        (r.rate, r.rate_ci_low, r.rate_ci_high)
    };
    estimate(v, lo, hi, t.reference.is_some())
}

/// An estimate with its interval as drawn (a ratio of 0 cannot sit on a log scale).
pub(crate) fn estimate(v: Option<f64>, lo: Option<f64>, hi: Option<f64>, log: bool) -> Result<(f64, f64, f64), String> {
    match (v, lo, hi) {
        (Some(v), Some(lo), Some(hi)) if !log || lo > 0.0 => Ok((v, lo, hi)),
        (Some(v), _, _) if !log || v > 0.0 => Ok((v, v, v)),
        _ => Err("no estimate (no events in the group or in what it is compared with)".into()),
    }
}

fn label(v: (f64, f64, f64), scale: &Scale) -> String {
    let n = |x: f64| match scale {
        Scale::Ratio { .. } => format!("{x:.2}"),
        Scale::Value { percent } => number(x, *percent),
    };
    format!("{} ({}–{})", n(v.0), n(v.1), n(v.2))
}

fn describe(f: &Forest) -> String {
    let mut d = format!("{}, with {:.0}% intervals. ", f.x_title, f.confidence * 100.0);
    for r in &f.rows {
        match &r.mark {
            Ok(v) => d.push_str(&format!("{}: {}. ", r.label, label(*v, &f.scale))),
            Err(why) => d.push_str(&format!("{}: {why}. ", r.label)),
        }
    }
    d.push_str(&f.source);
    d
}

fn draw(svg: &mut String, f: &Forest) -> Drawn {
    let rows = &f.rows;
    let n = rows.len();
    let ratios = matches!(f.scale, Scale::Ratio { .. });
    let marks = || rows.iter().filter_map(|r| r.mark.as_ref().ok());
    let lo = marks().map(|m| m.1).filter(|x| *x > 0.0).fold(if ratios { 1.0 } else { 0.0 }, f64::min);
    let hi = marks().map(|m| m.2).fold(if ratios { 1.0 } else { 0.0 }, f64::max);
    let key = format!(
        "Dot: estimate; bar: {:.0}% interval. Withheld: fewer than {} events. {}",
        f.confidence * 100.0,
        f.threshold,
        f.source
    );
    let lines = wrap(&key, FOOTER_CHARS);
    let plot_h = (110 + 30 * n as u32).clamp(180, 2000);
    let root = SVGBackend::with_string(svg, (SIZE.0, plot_h + footer_height(&lines))).into_drawing_area();
    root.fill(&WHITE)?;
    let (plot_area, footer) = root.split_vertically(plot_h);
    let mut builder = ChartBuilder::on(&plot_area);
    builder
        .caption(&f.title, (FONT, 18).into_font().color(&INK))
        .margin_top(8)
        .margin_right(170)
        .x_label_area_size(40)
        .y_label_area_size(150);
    let y_name = move |y: &i32| {
        if (0..n as i32).contains(y) { rows[n - 1 - *y as usize].label.clone() } else { String::new() }
    };
    let y_range = (-1..n as i32).with_key_points((0..n as i32).collect());
    let row_y = |i: usize| (n - 1 - i) as i32;
    let text = |c: &RGBColor| (FONT, 12).into_font().color(c).pos(text_anchor_left());
    let scale = &f.scale;
    macro_rules! rows_drawn {
        ($chart:ident, $x_ref:expr, $x_text:expr) => {{
            for (i, r) in rows.iter().enumerate() {
                let y = row_y(i);
                match &r.mark {
                    Ok(m) => {
                        let colour = PALETTE[0];
                        let bar = PathElement::new(vec![(m.1, y), (m.2, y)], colour.stroke_width(2));
                        $chart.draw_series(std::iter::once(bar))?;
                        $chart.draw_series(std::iter::once(Circle::new((m.0, y), 5, colour.filled())))?;
                        let t = Text::new(format!("  {}", label(*m, scale)), ($x_text, y), text(&INK));
                        $chart.draw_series(std::iter::once(t))?;
                    }
                    Err(why) => {
                        $chart.draw_series(std::iter::once(Text::new(why.clone(), ($x_ref, y), text(&MUTED))))?;
                    }
                }
            }
        }};
    }
    macro_rules! mesh {
        ($chart:ident, $fmt:expr) => {
            $chart
                .configure_mesh()
                .disable_y_mesh()
                .light_line_style(TRANSPARENT)
                .bold_line_style(RGBColor(0xEE, 0xEE, 0xEE))
                .x_desc(f.x_title.clone())
                .x_label_formatter($fmt)
                .y_label_formatter(&y_name)
                .label_style((FONT, 12).into_font().color(&INK))
                .axis_desc_style((FONT, 13).into_font().color(&INK))
                .draw()?
        };
    }
    match scale {
        Scale::Ratio { .. } => {
            let (a, b) = (lo / 1.25, hi * 1.25);
            let mut chart = builder.build_cartesian_2d((a..b).log_scale(), y_range)?;
            mesh!(chart, &|x: &f64| format!("{x:.2}"));
            let one = ShapeStyle::from(&INK).stroke_width(1);
            chart.draw_series(DashedLineSeries::new([(1.0, -1), (1.0, n as i32)], 4, 4, one))?;
            rows_drawn!(chart, 1.0, b);
        }
        Scale::Value { percent } => {
            let b = (hi * 1.15).max(if *percent { 0.01 } else { 1.0 });
            let mut chart = builder.build_cartesian_2d(0.0..b, y_range)?;
            let p = *percent;
            mesh!(chart, &|x: &f64| number(*x, p));
            rows_drawn!(chart, 0.0, b);
        }
    }
    draw_footer(&footer, &lines, false)?;
    root.present()?;
    Ok(())
}
