//! Durations that are not sums (days to close a complaint, days held in jail): per period of the day they
//! ended, overall and by group, order-statistic intervals for quantiles and Student-t intervals for means.

use crate::points::Sink;
use chrono::NaiveDate;
use oversight_core::{Grain, IndicatorId, Period};
use oversight_stats::intervals::{Estimate, Method, mean_with_interval, quantile_with_interval};
use std::collections::{BTreeMap, BTreeSet};

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
