//! What every chart shares: its size, palette, the x axis of dates, the `<title>`/`<desc>` a screen reader
//! reads, and the "no data" image. Drawing is plotters' SVG backend; nothing here writes SVG shapes by hand.

use chrono::{Datelike, NaiveDate};
use oversight_core::Grain;
use plotters::prelude::*;

/// Width and height of every chart, in CSS pixels (the SVG scales with its container).
pub(crate) const SIZE: (u32, u32) = (760, 380);

/// The groups' colours (Okabe–Ito, distinguishable with the common colour-vision deficiencies). Colour is never
/// the only cue: every line is labelled at its end.
pub(crate) const PALETTE: [RGBColor; 6] = [
    RGBColor(0x00, 0x5A, 0xB5),
    RGBColor(0xD5, 0x5E, 0x00),
    RGBColor(0x00, 0x9E, 0x73),
    RGBColor(0xCC, 0x79, 0xA7),
    RGBColor(0x56, 0x3D, 0x7C),
    RGBColor(0x7F, 0x6A, 0x00),
];

/// Policy events: a vertical line in this colour, labelled with the event's title and date.
pub const EVENT_COLOUR: RGBColor = RGBColor(0xB0, 0x00, 0x20);
/// The shading of a withheld period.
pub(crate) const WITHHELD: RGBColor = RGBColor(0xE4, 0xE4, 0xE4);
pub(crate) const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
pub(crate) const MUTED: RGBColor = RGBColor(0x59, 0x59, 0x59);

pub(crate) const FONT: &str = "sans-serif";

/// A chart that could not be drawn (plotters reports errors of its backend as strings).
#[derive(Debug)]
pub struct ChartError(pub String);

impl std::fmt::Display for ChartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "chart: {}", self.0)
    }
}

impl std::error::Error for ChartError {}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for ChartError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        ChartError(e.to_string())
    }
}

pub(crate) type Drawn<T = ()> = Result<T, ChartError>;

/// A date as the x coordinate (days; integer coordinates are the ones plotters lets an axis put its labelled
/// ticks exactly where it is told, at period starts).
pub(crate) fn x_of(d: NaiveDate) -> i32 {
    d.num_days_from_ce()
}

/// The date at an x coordinate.
pub(crate) fn date_of(x: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(x).unwrap_or(NaiveDate::MIN)
}

/// A period's label on the axis.
pub(crate) fn period_label(grain: Grain, d: NaiveDate) -> String {
    match grain {
        Grain::Year | Grain::All => d.format("%Y").to_string(),
        Grain::Quarter => format!("{} Q{}", d.year(), d.month0() / 3 + 1),
        Grain::Month => d.format("%Y-%m").to_string(),
        Grain::Week => d.format("%Y-%m-%d").to_string(),
    }
}

/// Where the axis puts labelled ticks: at period starts, at most `max` of them, evenly thinned.
pub(crate) fn ticks(starts: &[NaiveDate], max: usize) -> Vec<i32> {
    let step = starts.len().div_ceil(max.max(1)).max(1);
    starts.iter().step_by(step).map(|d| x_of(*d)).collect()
}

/// The start of the period after `d`.
pub(crate) fn next_start(grain: Grain, d: NaiveDate) -> NaiveDate {
    oversight_core::Period { grain, start: d }.next().map_or(d + chrono::Days::new(1), |p| p.start)
}

/// Axis numbers: percentages for shares, else plain numbers with few digits.
pub(crate) fn number(v: f64, percent: bool) -> String {
    if percent {
        return format!("{}%", trim(v * 100.0));
    }
    trim(v)
}

fn trim(v: f64) -> String {
    let a = v.abs();
    let s = if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    };
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_owned() } else { s }
}

/// XML text escaping (for what this module adds around plotters' output).
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Gives plotters' SVG what assistive technology reads: `role="img"`, a `<title>` and a `<desc>` as the first
/// children of the root element.
pub(crate) fn finish(svg: String, title: &str, desc: &str) -> String {
    let Some(end) = svg.find("<svg").and_then(|i| svg[i..].find('>').map(|j| i + j)) else { return svg };
    let mut out = String::with_capacity(svg.len() + title.len() + desc.len() + 64);
    out.push_str(&svg[..end]);
    out.push_str(" role=\"img\">\n<title>");
    out.push_str(&escape(title));
    out.push_str("</title>\n<desc>");
    out.push_str(&escape(desc));
    out.push_str("</desc>");
    out.push_str(&svg[end + 1..]);
    out
}

/// A clear image in place of a chart that has nothing to show (no data for the jurisdiction, every period
/// outside the range asked for): the title, and the reason in the middle.
pub fn no_data(title: &str, reason: &str) -> String {
    let mut svg = String::new();
    let drawn: Drawn = (|| {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        root.draw(&Text::new(title.to_owned(), (16, 14), (FONT, 18).into_font().color(&INK)))?;
        let (w, h) = (SIZE.0 as i32, SIZE.1 as i32);
        root.draw(&Rectangle::new([(16, 48), (w - 16, h - 16)], ShapeStyle::from(&MUTED).stroke_width(1)))?;
        let centre = (FONT, 16).into_font().color(&MUTED).pos(text_anchor_centre());
        root.draw(&Text::new(format!("No data: {reason}"), (w / 2, h / 2), centre))?;
        root.present()?;
        Ok(())
    })();
    if drawn.is_err() {
        svg.clear();
    }
    finish(svg, title, &format!("No data: {reason}"))
}

pub(crate) fn text_anchor_centre() -> plotters::style::text_anchor::Pos {
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    Pos::new(HPos::Center, VPos::Center)
}

pub(crate) fn text_anchor_left() -> plotters::style::text_anchor::Pos {
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    Pos::new(HPos::Left, VPos::Center)
}

/// Lines of at most `max` characters, broken at spaces (the footer of a chart: SVG text does not wrap).
pub(crate) fn wrap(text: &str, max: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > max {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Characters of 11-pixel text that fit across a chart.
pub(crate) const FOOTER_CHARS: usize = 140;

/// The height the footer's lines take.
pub(crate) fn footer_height(lines: &[String]) -> u32 {
    10 + 15 * lines.len() as u32
}

/// Draws the footer's lines (the first in ink, the rest muted).
pub(crate) fn draw_footer<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    lines: &[String],
    first_ink: bool,
) -> Drawn {
    for (i, l) in lines.iter().enumerate() {
        let colour = if i == 0 && first_ink { &INK } else { &MUTED };
        area.draw(&Text::new(l.clone(), (12, 4 + 15 * i as i32), (FONT, 11).into_font().color(colour)))?;
    }
    Ok(())
}

/// A policy event's label beside its line: to the right of it in the left part of the chart, to the left
/// in the right part (so it stays inside the image).
pub(crate) fn event_label(
    label: &str,
    date: NaiveDate,
    x: i32,
    (x0, x1): (i32, i32),
    y: f64,
) -> Text<'static, (i32, f64), String> {
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    let right_half = f64::from(x - x0) > 0.55 * f64::from(x1 - x0);
    let (text, pos) = if right_half {
        (format!("{label} ({date}) "), Pos::new(HPos::Right, VPos::Center))
    } else {
        (format!(" {label} ({date})"), Pos::new(HPos::Left, VPos::Center))
    };
    Text::new(text, (x, y), (FONT, 12).into_font().color(&EVENT_COLOUR).pos(pos))
}

/// Splits an indexed sequence into maximal runs where `keep` holds (a line is drawn per run, so what is
/// withheld between two runs is a gap, never a line across it).
pub(crate) fn runs<T>(items: &[T], keep: impl Fn(&T) -> bool) -> Vec<&[T]> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, it) in items.iter().enumerate() {
        match (keep(it), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push(&items[s..i]);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(&items[s..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_split_at_what_is_left_out() {
        let v = [1, 2, 0, 3, 0, 0, 4, 5];
        let r = runs(&v, |x| *x != 0);
        assert_eq!(r, vec![&[1, 2][..], &[3][..], &[4, 5][..]]);
        assert!(runs(&[0, 0], |x: &i32| *x != 0).is_empty());
    }

    #[test]
    fn footers_wrap_at_spaces() {
        assert_eq!(wrap("aa bb cc dd", 5), vec!["aa bb", "cc dd"]);
        assert_eq!(wrap("", 5), Vec::<String>::new());
    }

    #[test]
    fn numbers_and_labels() {
        assert_eq!(number(0.125, true), "12.5%");
        assert_eq!(number(1234.0, false), "1234");
        assert_eq!(number(2.5, false), "2.5");
        let d = NaiveDate::from_ymd_opt(2019, 5, 1).unwrap();
        assert_eq!(period_label(Grain::Quarter, d), "2019 Q2");
        assert_eq!(date_of(x_of(d)), d);
        assert_eq!(next_start(Grain::Month, d), NaiveDate::from_ymd_opt(2019, 6, 1).unwrap());
    }

    #[test]
    fn no_data_is_an_image_with_its_reason() {
        let s = no_data("Search rate, Atlantis", "no stops recorded");
        assert!(s.starts_with("<svg") && s.contains("<title>Search rate, Atlantis</title>"), "{s}");
        assert!(s.contains("No data: no stops recorded"));
    }
}
