//! Durations that are not sums (days to close a complaint, days held in jail): per period of the day they
//! ended, overall and by group, order-statistic intervals for quantiles and Student-t intervals for means.

use crate::MetricsError;
use crate::points::Sink;
use chrono::NaiveDate;
use oversight_core::{Grain, IndicatorId, Period};
use oversight_stats::intervals::{Estimate, Method, mean_with_interval, quantile_with_interval};
use oversight_store::QualityNote;
use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// A date column of a record frame, as dates.
pub(crate) fn dates(df: &DataFrame, name: &str) -> Result<Vec<Option<NaiveDate>>, MetricsError> {
    let s = df.column(name)?.as_materialized_series().cast(&DataType::Int32)?;
    let ca = s.i32()?;
    Ok((0..ca.len()).map(|i| ca.get(i).map(oversight_core::period::from_epoch_days)).collect())
}

/// One duration: the day it ended, its length in days, and its group label (`race:black`), if it has one.
pub(crate) struct Span {
    pub(crate) end: NaiveDate,
    pub(crate) days: f64,
    pub(crate) group: Option<String>,
}

/// What to report of each group's durations in a period.
#[derive(Clone, Copy)]
pub(crate) enum Stat {
    Quantile(IndicatorId, f64),
    Mean(IndicatorId),
}

pub(crate) fn periods_between(grain: Grain, a: NaiveDate, b: NaiveDate) -> Vec<Period> {
    let mut out = vec![grain.period_of(a)];
    if grain == Grain::All {
        return out;
    }
    while let Some(n) = out.last().and_then(|p| p.next()) {
        if n.start > b {
            break;
        }
        out.push(n);
    }
    out
}

/// Points of every stat for `all` and each group, every grain and period between the first and last end;
/// a period with no durations gets a point with no value and `none_note`.
pub(crate) fn points(s: &mut Sink<'_>, spans: &[Span], stats: &[Stat], none_note: &str) {
    let (Some(first), Some(last)) = (spans.iter().map(|p| p.end).min(), spans.iter().map(|p| p.end).max()) else {
        return;
    };
    let groups: BTreeSet<&str> = spans.iter().filter_map(|r| r.group.as_deref()).collect();
    for group in std::iter::once("all").chain(groups) {
        for grain in Grain::ALL {
            let mut by: BTreeMap<NaiveDate, Vec<f64>> = BTreeMap::new();
            for r in spans.iter().filter(|r| group == "all" || r.group.as_deref() == Some(group)) {
                by.entry(grain.period_start(r.end)).or_default().push(r.days);
            }
            for p in periods_between(*grain, first, last) {
                let mut v = by.remove(&p.start).unwrap_or_default();
                v.sort_by(f64::total_cmp);
                for stat in stats {
                    push(s, *grain, p, group, &v, *stat, none_note);
                }
            }
        }
    }
}

fn push(s: &mut Sink<'_>, grain: Grain, p: Period, group: &str, v: &[f64], stat: Stat, none_note: &str) {
    let (ind, est, method): (IndicatorId, Option<Estimate>, Method) = match stat {
        Stat::Quantile(ind, q) => (ind, quantile_with_interval(v, q, s.cfg.confidence), Method::OrderStatistic),
        Stat::Mean(ind) => (ind, mean_with_interval(v, s.cfg.confidence), Method::StudentT),
    };
    let mut pt = oversight_store::PointRow {
        indicator: ind.as_str().into(),
        jurisdiction_id: s.jurisdiction.into(),
        grain: grain.as_str().into(),
        period_start: p.start,
        group: group.into(),
        numerator: Some(v.len() as f64),
        ..Default::default()
    };
    match est {
        Some(e) => {
            pt.value = Some(e.value);
            pt.ci_low = Some(e.low);
            pt.ci_high = Some(e.high);
            pt.ci_method = Some(method.as_str().into());
            pt.low_reliability = (v.len() as u32) < s.cfg.min_events;
        }
        None => pt.note = Some(none_note.into()),
    }
    s.points.push(pt);
}

/// Days from receipt to closure, by the period a complaint closed in: for all complaints and by complainant
/// race (as recorded; complaints without one are in `all` only).
pub(crate) fn days_to_close(s: &mut Sink<'_>, complaints: &DataFrame) -> Result<Option<QualityNote>, MetricsError> {
    let (spans, backwards) = spans(complaints, "date", "closed_date")?;
    let stats = [
        Stat::Quantile(IndicatorId::ComplaintsDaysToCloseMedian, 0.5),
        Stat::Quantile(IndicatorId::ComplaintsDaysToCloseP90, 0.9),
    ];
    points(s, &spans, &stats, "no value: no complaint closed in this period");
    Ok(backwards_note(
        s,
        "complaints",
        "closed_before_received",
        "complaints close before they were received",
        backwards,
    ))
}

/// Days held in jail of bookings with an immigration hold (booking to release or hand-over), by the period
/// they ended in: for all and by recorded race.
pub(crate) fn days_held(s: &mut Sink<'_>, detainers: &DataFrame) -> Result<Option<QualityNote>, MetricsError> {
    let (spans, backwards) = spans(detainers, "date", "outcome_date")?;
    let stats =
        [Stat::Quantile(IndicatorId::DetainersDaysHeldMedian, 0.5), Stat::Mean(IndicatorId::DetainersDaysHeldMean)];
    points(s, &spans, &stats, "no value: no booking ended in this period");
    Ok(backwards_note(s, "detainers", "ended_before_booked", "bookings end before they began", backwards))
}

/// A quality note for the records whose end precedes their start (left out of the durations), if any.
fn backwards_note(s: &Sink<'_>, dataset: &str, code: &str, what: &str, n: usize) -> Option<QualityNote> {
    (n > 0).then(|| QualityNote {
        dataset: dataset.into(),
        jurisdiction_id: s.jurisdiction.into(),
        code: code.into(),
        message: format!("{n} {what}: left out of the durations (check the source's dates)"),
        value: Some(n as f64),
    })
}

/// (end, days from `from` to `to`, race group) of every row with both dates, the end not before the start;
/// and how many rows end before they start (counted, never measured).
fn spans(df: &DataFrame, from: &str, to: &str) -> Result<(Vec<Span>, usize), MetricsError> {
    let (start, end) = (dates(df, from)?, dates(df, to)?);
    let race = df.column("race")?.as_materialized_series().cast(&DataType::String)?;
    let race = race.str()?;
    let mut backwards = 0;
    let mut out = Vec::new();
    for i in 0..start.len() {
        let (Some(a), Some(b)) = (start[i], end[i]) else { continue };
        let days = (b - a).num_days() as f64;
        if days < 0.0 {
            backwards += 1;
            continue;
        }
        let group = race.get(i).filter(|g| *g != crate::cube::MISSING).map(|g| format!("race:{g}"));
        out.push(Span { end: b, days, group });
    }
    Ok((out, backwards))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_that_end_before_they_start_are_counted_not_measured() {
        // Days since the epoch: received 100, closed 140 (40 days); received 200, closed 150 (backwards, kept by
        // a profile whose rule says "keep"); received 300, not closed.
        let df = df!(
            "date" => [100i32, 200, 300],
            "closed_date" => [Some(140i32), Some(150), None],
            "race" => ["white", "black", "white"],
        )
        .unwrap();
        let df = df
            .lazy()
            .with_columns([col("date").cast(DataType::Date), col("closed_date").cast(DataType::Date)])
            .collect()
            .unwrap();
        let (spans, backwards) = spans(&df, "date", "closed_date").unwrap();
        assert_eq!(backwards, 1);
        assert_eq!(spans.len(), 1);
        assert_eq!((spans[0].days, spans[0].group.as_deref()), (40.0, Some("race:white")));
    }
}
