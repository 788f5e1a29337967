//! Indicators read from the records rather than the cube: days to close a complaint and days held in jail
//! (durations), and the number of officers named in 3 or more complaints in 12 months (a count; identities
//! never leave).

use crate::MetricsError;
use crate::durations::{self, Span, Stat};
use crate::points::Sink;
use chrono::{Months, NaiveDate};
use oversight_core::Grain;
use oversight_core::IndicatorId;
use oversight_store::QualityNote;
use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

fn dates(df: &DataFrame, name: &str) -> Result<Vec<Option<NaiveDate>>, MetricsError> {
    let s = df.column(name)?.as_materialized_series().cast(&DataType::Int32)?;
    let ca = s.i32()?;
    Ok((0..ca.len()).map(|i| ca.get(i).map(oversight_core::period::from_epoch_days)).collect())
}

/// Days from receipt to closure, by the period a complaint closed in: for all complaints and by complainant
/// race (as recorded; complaints without one are in `all` only).
pub(crate) fn days_to_close(s: &mut Sink<'_>, complaints: &DataFrame) -> Result<Option<QualityNote>, MetricsError> {
    let (spans, backwards) = spans(complaints, "date", "closed_date")?;
    let stats = [
        Stat::Quantile(IndicatorId::ComplaintsDaysToCloseMedian, 0.5),
        Stat::Quantile(IndicatorId::ComplaintsDaysToCloseP90, 0.9),
    ];
    durations::points(s, &spans, &stats, "no value: no complaint closed in this period");
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
    durations::points(s, &spans, &stats, "no value: no booking ended in this period");
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
        for p in durations::periods_between(*grain, first, last) {
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
