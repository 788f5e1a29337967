//! Series for the policy-impact analyses: an indicator's points at one grain, restricted to periods the data
//! covers completely, as counts with (for proportions and rates) their exposure.

use crate::catalog::{Indicator, Kind};
use crate::{MetricsError, indicator};
use chrono::{Datelike, NaiveDate};
use oversight_core::{Dataset, Grain, Period};
use oversight_stats::regression::Coef;
use oversight_store::{PolicyEvent, Store};
use serde::Serialize;

/// An estimated effect on the log scale, with its ratio form (exp), interval and p-value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Effect {
    /// The coefficient (log scale for every model here).
    pub estimate: f64,
    pub se: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub p_value: f64,
    /// exp(estimate): the multiplicative change (rate ratio).
    pub ratio: f64,
    pub ratio_ci_low: f64,
    pub ratio_ci_high: f64,
    /// Degrees of freedom of the Student-t reference of the interval and p-value (absent: normal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub df: Option<f64>,
}

impl From<&Coef> for Effect {
    fn from(c: &Coef) -> Self {
        Self {
            estimate: c.estimate,
            se: c.se,
            ci_low: c.ci_low,
            ci_high: c.ci_high,
            p_value: c.p_value,
            ratio: c.estimate.exp(),
            ratio_ci_low: c.ci_low.exp(),
            ratio_ci_high: c.ci_high.exp(),
            df: c.df,
        }
    }
}

/// A period left out of a fit, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DroppedPeriod {
    pub period_start: NaiveDate,
    pub reason: String,
}

/// One period of a series.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Obs {
    pub(crate) period: Period,
    /// Periods since an arbitrary origin (consecutive periods differ by 1).
    pub(crate) index: i64,
    /// The count (numerator).
    pub(crate) count: f64,
    /// The denominator of a proportion or rate (None for counts).
    pub(crate) exposure: Option<f64>,
    /// Whether public output withholds this point (small counts).
    pub(crate) suppressed: bool,
}

/// A series ready for modelling.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub(crate) grain: Grain,
    pub(crate) obs: Vec<Obs>,
    pub(crate) dropped: Vec<DroppedPeriod>,
    /// Whether the outcome is a rate (count over exposure) rather than a count.
    pub(crate) is_rate: bool,
}

pub(crate) fn lookup_indicator(id: &str) -> Result<&'static Indicator, MetricsError> {
    indicator(id).ok_or_else(|| MetricsError::NotFound { what: "indicator", id: id.to_owned() })
}

pub(crate) fn lookup_event(store: &Store, id: i64) -> Result<PolicyEvent, MetricsError> {
    store.policy_event(id)?.ok_or_else(|| MetricsError::NotFound { what: "policy event", id: id.to_string() })
}

/// Index of a period: consecutive periods of a grain differ by one.
pub(crate) fn period_index(p: Period) -> i64 {
    let s = p.start;
    match p.grain {
        Grain::Month => i64::from(s.year()) * 12 + i64::from(s.month0()),
        Grain::Quarter => i64::from(s.year()) * 4 + i64::from(s.month0() / 3),
        Grain::Week => (s - NaiveDate::from_ymd_opt(1970, 1, 5).unwrap_or_default()).num_days().div_euclid(7),
        Grain::Year => i64::from(s.year()),
        Grain::All => 0,
    }
}

/// Seasonal phase of a period in [0, 1): month of year / 12, quarter / 4, ISO week / 52.18; None for years.
pub(crate) fn season_phase(p: Period) -> Option<f64> {
    let s = p.start;
    match p.grain {
        Grain::Month => Some(f64::from(s.month0()) / 12.0),
        Grain::Quarter => Some(f64::from(s.month0() / 3) / 4.0),
        Grain::Week => Some(f64::from(s.iso_week().week0()) / (365.25 / 7.0)),
        Grain::Year | Grain::All => None,
    }
}

/// The first period counted as "after" an event, and the partial period containing it (if the event does
/// not fall on a period's first day, that period mixes before and after and is left out).
pub(crate) fn event_split(grain: Grain, date: NaiveDate) -> (Period, Option<Period>) {
    let p = grain.period_of(date);
    if p.start == date { (p, None) } else { (p.next().unwrap_or(p), Some(p)) }
}

/// Loads an indicator's series (one group) for a jurisdiction, keeping only periods inside the dataset's
/// coverage; missing periods of a count inside it are zeros (no records), of a rate are left out.
pub(crate) fn load(
    store: &Store,
    ind: &'static Indicator,
    jurisdiction: &str,
    grain: Grain,
    group: &str,
) -> Result<Series, MetricsError> {
    if matches!(grain, Grain::Year | Grain::All) {
        return Err(MetricsError::Invalid(format!(
            "grain {grain}: impact analyses need weeks, months or quarters (seasonality and enough periods)"
        )));
    }
    let is_rate = match ind.kind {
        Kind::Count | Kind::OfficerCount => false,
        Kind::Proportion | Kind::PopulationRate => true,
        other => {
            return Err(MetricsError::Invalid(format!(
                "indicator {} is a {other:?} ({}); impact analyses model counts, proportions and per-resident \
                 rates — analyse the counts it is made of, or compare groups with the difference in differences",
                ind.id, ind.unit
            )));
        }
    };
    let dataset: Dataset = ind.dataset.parse().map_err(|e| MetricsError::Invalid(format!("{e}")))?;
    let table = dataset.main_table();
    let Some((first, last)) = store.date_span(table, jurisdiction)? else {
        return Err(MetricsError::Refused(format!("jurisdiction {jurisdiction} has no {dataset} records")));
    };
    let from = grain.period_start(first);
    let points = store.points(ind.id.as_str(), jurisdiction, grain.as_str(), Some(group), from, last)?;
    if points.is_empty() {
        return Err(MetricsError::Refused(format!(
            "no points of {} for {jurisdiction}, group {group}, by {grain}: check the group (e.g. race:hispanic) \
             and run `oversight compute`",
            ind.id
        )));
    }
    let mut by_start: std::collections::BTreeMap<NaiveDate, &oversight_store::PointRow> =
        points.iter().map(|p| (p.period_start, p)).collect();
    let mut obs = Vec::new();
    let mut dropped = Vec::new();
    let mut p = grain.period_of(first);
    while p.start <= last {
        let end = p.end().unwrap_or(p.start);
        let point = by_start.remove(&p.start);
        if p.start < first || end.pred_opt().is_some_and(|e| e > last) {
            dropped.push(DroppedPeriod {
                period_start: p.start,
                reason: format!("partial: the {dataset} records cover {first} to {last}"),
            });
        } else if let Some(pt) = point {
            let count = pt.numerator.or(pt.value).unwrap_or(0.0);
            let exposure = pt.denominator;
            if is_rate && exposure.is_none_or(|e| e <= 0.0) {
                dropped.push(DroppedPeriod {
                    period_start: p.start,
                    reason: pt.note.clone().unwrap_or_else(|| "no denominator".into()),
                });
            } else {
                obs.push(Obs {
                    period: p,
                    index: period_index(p),
                    count,
                    exposure: if is_rate { exposure } else { None },
                    suppressed: pt.suppressed,
                });
            }
        } else if is_rate {
            dropped.push(DroppedPeriod { period_start: p.start, reason: "no point (no records)".into() });
        } else {
            obs.push(Obs { period: p, index: period_index(p), count: 0.0, exposure: None, suppressed: false });
        }
        match p.next() {
            Some(n) => p = n,
            None => break,
        }
    }
    Ok(Series { grain, obs, dropped, is_rate })
}

impl Series {
    /// Leaves out the partial period holding the event; returns the first post-event period.
    pub(crate) fn split_at_event(&mut self, date: NaiveDate) -> Period {
        let (t0, partial) = event_split(self.grain, date);
        if let Some(pp) = partial
            && let Some(i) = self.obs.iter().position(|o| o.period == pp)
        {
            self.obs.remove(i);
            self.dropped.push(DroppedPeriod {
                period_start: pp.start,
                reason: format!("holds the event date {date}: part before, part after"),
            });
        }
        self.dropped.sort_by_key(|d| d.period_start);
        t0
    }

    pub(crate) fn counts_pre_post(&self, t0: Period) -> (usize, usize) {
        let pre = self.obs.iter().filter(|o| o.period < t0).count();
        (pre, self.obs.len() - pre)
    }
}

/// Refuses a series with too few periods on either side, saying how many there are.
pub(crate) fn guard_periods(
    what: &str,
    pre: usize,
    post: usize,
    min_pre: usize,
    min_post: usize,
    grain: Grain,
) -> Result<(), MetricsError> {
    if pre < min_pre || post < min_post {
        return Err(MetricsError::Refused(format!(
            "{what} needs at least {min_pre} complete {grain}s before the event and {min_post} from it on; \
             this series has {pre} before and {post} after"
        )));
    }
    Ok(())
}
