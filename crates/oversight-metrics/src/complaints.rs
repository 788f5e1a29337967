//! Complaint indicators that are not sums: days to close (quantiles with order-statistic intervals) and the
//! number of officers named in 3 or more complaints in 12 months (a count; identities never leave).

use crate::MetricsError;
use crate::points::Sink;
use chrono::{Months, NaiveDate};
use oversight_core::IndicatorId;
use oversight_core::{Grain, Period};
use oversight_stats::intervals::{Method, quantile_with_interval};
use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

fn dates(df: &DataFrame, name: &str) -> Result<Vec<Option<NaiveDate>>, MetricsError> {
    let s = df.column(name)?.as_materialized_series().cast(&DataType::Int32)?;
    let ca = s.i32()?;
    Ok((0..ca.len()).map(|i| ca.get(i).map(oversight_core::period::from_epoch_days)).collect())
}

fn periods_between(grain: Grain, a: NaiveDate, b: NaiveDate) -> Vec<Period> {
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

/// Days from receipt to closure, by the period a complaint closed in: for all complaints and by complainant
/// race (as recorded; complaints without one are in `all` only).
pub(crate) fn days_to_close(s: &mut Sink<'_>, complaints: &DataFrame) -> Result<(), MetricsError> {
    let received = dates(complaints, "date")?;
    let closed = dates(complaints, "closed_date")?;
    let race = complaints.column("race")?.as_materialized_series().cast(&DataType::String)?;
    let race = race.str()?;
    // (closing date, days, group label of the complainant's race)
    let rows: Vec<(NaiveDate, f64, Option<String>)> = (0..received.len())
        .filter_map(|i| {
            let (r, c) = (received[i]?, closed[i]?);
            let days = (c - r).num_days() as f64;
            let group = race.get(i).filter(|g| *g != crate::cube::MISSING).map(|g| format!("race:{g}"));
            (days >= 0.0).then_some((c, days, group))
        })
        .collect();
    let (Some(first), Some(last)) = (rows.iter().map(|p| p.0).min(), rows.iter().map(|p| p.0).max()) else {
        return Ok(());
    };
    let groups: BTreeSet<&str> = rows.iter().filter_map(|r| r.2.as_deref()).collect();
    let groups = std::iter::once("all").chain(groups);
    for group in groups {
        for grain in Grain::ALL {
            let mut by: BTreeMap<NaiveDate, Vec<f64>> = BTreeMap::new();
            for (c, d, g) in &rows {
                if group == "all" || g.as_deref() == Some(group) {
                    by.entry(grain.period_start(*c)).or_default().push(*d);
                }
            }
            for p in periods_between(*grain, first, last) {
                let mut v = by.remove(&p.start).unwrap_or_default();
                v.sort_by(f64::total_cmp);
                quantile_points(s, grain, p, group, &v);
            }
        }
    }
    Ok(())
}

/// The median and 90th percentile of one group's days to close in one period, with order-statistic intervals.
fn quantile_points(s: &mut Sink<'_>, grain: &Grain, p: Period, group: &str, v: &[f64]) {
    for (ind, q) in [(IndicatorId::ComplaintsDaysToCloseMedian, 0.5), (IndicatorId::ComplaintsDaysToCloseP90, 0.9)] {
        let mut pt = oversight_store::PointRow {
            indicator: ind.as_str().into(),
            jurisdiction_id: s.jurisdiction.into(),
            grain: grain.as_str().into(),
            period_start: p.start,
            group: group.into(),
            numerator: Some(v.len() as f64),
            ..Default::default()
        };
        match quantile_with_interval(v, q, s.cfg.confidence) {
            Some(e) => {
                pt.value = Some(e.value);
                pt.ci_low = Some(e.low);
                pt.ci_high = Some(e.high);
                pt.ci_method = Some(Method::OrderStatistic.as_str().into());
                pt.low_reliability = (v.len() as u32) < s.cfg.min_events;
            }
            None => pt.note = Some("no value: no complaint closed in this period".into()),
        }
        s.points.push(pt);
    }
}

/// Officers named in 3 or more distinct complaints received in the 12 months ending with each period (for
/// all time: in any 12 months).
pub(crate) fn officers_3plus(s: &mut Sink<'_>, allegations: &DataFrame) -> Result<(), MetricsError> {
    let received = dates(allegations, "date")?;
    let officers = allegations.column("officer_key")?.as_materialized_series().str()?.clone();
    let complaints = allegations.column("complaint_id")?.as_materialized_series().str()?.clone();
    let mut by_officer: BTreeMap<String, BTreeSet<(NaiveDate, String)>> = BTreeMap::new();
    for (i, d) in received.iter().enumerate() {
        let (Some(o), Some(c), Some(d)) = (officers.get(i), complaints.get(i), *d) else { continue };
        by_officer.entry(o.to_owned()).or_default().insert((d, c.to_owned()));
    }
    let officer_dates: Vec<Vec<NaiveDate>> = by_officer.values().map(|s| s.iter().map(|x| x.0).collect()).collect();
    let all: Vec<NaiveDate> = officer_dates.iter().flatten().copied().collect();
    let (Some(first), Some(last)) = (all.iter().min().copied(), all.iter().max().copied()) else { return Ok(()) };
    let in_window = |ds: &[NaiveDate], end: NaiveDate| {
        let start = end.checked_sub_months(Months::new(12)).unwrap_or(end);
        ds.iter().filter(|d| **d > start && **d <= end).count()
    };
    for grain in Grain::ALL {
        for p in periods_between(*grain, first, last) {
            let n = match p.end() {
                Some(end) => {
                    let end = end - chrono::Duration::days(1);
                    officer_dates.iter().filter(|ds| in_window(ds, end) >= 3).count()
                }
                // All time: any window of 12 months ending at one of the officer's complaints.
                None => officer_dates.iter().filter(|ds| ds.iter().any(|d| in_window(ds, *d) >= 3)).count(),
            };
            s.count(IndicatorId::ComplaintsOfficers3plus12m, p, "all", n as f64);
        }
    }
    Ok(())
}
