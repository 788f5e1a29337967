//! The number of officers named in 3 or more complaints in 12 months, read from the records (a count;
//! identities never leave).

use crate::MetricsError;
use crate::durations::{self, dates};
use crate::points::Sink;
use chrono::{Months, NaiveDate};
use oversight_core::Grain;
use oversight_core::IndicatorId;
use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

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
