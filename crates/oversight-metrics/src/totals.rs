//! Stage two: the daily cube summed into periods of every grain.

use crate::MetricsError;
use crate::cube::MISSING;
use chrono::{Duration, NaiveDate};
use oversight_core::{Grain, Measure, Period};
use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Cube sums per (grain, period start, dimension, group, measure).
#[derive(Debug, Default)]
pub(crate) struct Totals {
    sums: HashMap<(Grain, NaiveDate, u16, u16, u8), f64>,
    dims: Vec<String>,
    groups: Vec<String>,
    measures: Vec<Measure>,
    /// Groups seen per dimension.
    pub(crate) seen: BTreeMap<String, BTreeSet<String>>,
    /// First and last day with data.
    pub(crate) span: Option<(NaiveDate, NaiveDate)>,
    /// Only periods starting in this window get points (all time always does).
    pub(crate) window: Option<(NaiveDate, NaiveDate)>,
}

fn intern(v: &mut Vec<String>, s: &str) -> usize {
    match v.iter().position(|x| x == s) {
        Some(i) => i,
        None => {
            v.push(s.to_owned());
            v.len() - 1
        }
    }
}

/// The start stored for the all-time period.
use oversight_core::period::from_epoch_days;

pub(crate) const ALL_START: NaiveDate = oversight_core::period::ALL_TIME_START;

impl Totals {
    /// Sums cube days (day, dim, grp, measure, value) into the periods of every grain but all time that
    /// start in `window`, and takes all time from `all_time` (first_day, last_day, dim, grp, measure, value).
    pub(crate) fn from_cube(
        days: &DataFrame,
        all_time: &DataFrame,
        window: (NaiveDate, NaiveDate),
    ) -> Result<Self, MetricsError> {
        let mut t = Totals { window: Some(window), ..Default::default() };
        let (lo, hi) = window;
        if all_time.height() > 0 {
            let first = all_time.column("first_day")?.as_materialized_series().cast(&DataType::Int32)?;
            let last = all_time.column("last_day")?.as_materialized_series().cast(&DataType::Int32)?;
            let (first, last) = (first.i32()?, last.i32()?);
            let (a, b) = (first.min(), last.max());
            if let (Some(a), Some(b)) = (a, b) {
                t.span = Some((from_epoch_days(a), from_epoch_days(b)));
            }
            let dim = all_time.column("dim")?.as_materialized_series().str()?.clone();
            let grp = all_time.column("grp")?.as_materialized_series().str()?.clone();
            let measure = all_time.column("measure")?.as_materialized_series().str()?.clone();
            let value = all_time.column("value")?.as_materialized_series().cast(&DataType::Float64)?;
            let value = value.f64()?;
            for i in 0..all_time.height() {
                let (Some(di), Some(g), Some(m), Some(v)) = (dim.get(i), grp.get(i), measure.get(i), value.get(i))
                else {
                    continue;
                };
                let k = t.key(di, g, m)?;
                if di != "all" {
                    t.seen.entry(di.to_owned()).or_default().insert(g.to_owned());
                }
                *t.sums.entry((Grain::All, crate::totals::ALL_START, k.0, k.1, k.2)).or_insert(0.0) += v;
            }
        }
        if days.height() == 0 {
            return Ok(t);
        }
        let day = days.column("day")?.as_materialized_series().cast(&DataType::Int32)?;
        let day = day.i32()?;
        let dim = days.column("dim")?.as_materialized_series().str()?.clone();
        let grp = days.column("grp")?.as_materialized_series().str()?.clone();
        let measure = days.column("measure")?.as_materialized_series().str()?.clone();
        let value = days.column("value")?.as_materialized_series().cast(&DataType::Float64)?;
        let value = value.f64()?;
        // The interned key of the last (dim, grp, measure) seen: rows come in runs of the same one.
        type Last = (String, String, String, (u16, u16, u8));
        let mut last: Option<Last> = None;
        for i in 0..days.height() {
            let (Some(d), Some(di), Some(g), Some(m), Some(v)) =
                (day.get(i), dim.get(i), grp.get(i), measure.get(i), value.get(i))
            else {
                continue;
            };
            let date = from_epoch_days(d);
            let k = match &last {
                Some((a, b, c, k)) if a == di && b == g && c == m => *k,
                _ => {
                    let k = t.key(di, g, m)?;
                    last = Some((di.to_owned(), g.to_owned(), m.to_owned(), k));
                    k
                }
            };
            for grain in Grain::ALL {
                if *grain == Grain::All {
                    continue;
                }
                let start = grain.period_start(date);
                if start < lo || start > hi {
                    continue;
                }
                *t.sums.entry((*grain, start, k.0, k.1, k.2)).or_insert(0.0) += v;
            }
        }
        Ok(t)
    }

    /// The interned key of a cube row; a measure the code does not know is an error (the cube and the code
    /// disagree), never a silent zero.
    fn key(&mut self, dim: &str, grp: &str, measure: &str) -> Result<(u16, u16, u8), MetricsError> {
        let m = Measure::parse(measure).ok_or_else(|| {
            MetricsError::Internal(format!("the cube holds measure {measure:?}, which the code does not know"))
        })?;
        let mi = match self.measures.iter().position(|x| *x == m) {
            Some(i) => i,
            None => {
                self.measures.push(m);
                self.measures.len() - 1
            }
        };
        Ok((intern(&mut self.dims, dim) as u16, intern(&mut self.groups, grp) as u16, mi as u8))
    }

    /// A measure's sum for a period and group (`dim` "all" with group "all" for everyone); 0 when absent.
    pub(crate) fn get(&self, p: Period, dim: &str, grp: &str, measure: Measure) -> f64 {
        let (Some(d), Some(g), Some(m)) = (
            self.dims.iter().position(|x| x == dim),
            self.groups.iter().position(|x| x == grp),
            self.measures.iter().position(|x| *x == measure),
        ) else {
            return 0.0;
        };
        self.sums.get(&(p.grain, p.start, d as u16, g as u16, m as u8)).copied().unwrap_or(0.0)
    }

    /// Every period of a grain from the first day with data to the last (empty periods included), within the
    /// window if one is set.
    pub(crate) fn periods(&self, grain: Grain) -> Vec<Period> {
        self.periods_in(grain, self.span)
    }

    fn periods_in(&self, grain: Grain, span: Option<(NaiveDate, NaiveDate)>) -> Vec<Period> {
        let Some((a, b)) = span else { return Vec::new() };
        if grain == Grain::All {
            return vec![grain.period_of(a)];
        }
        let (lo, hi) = self.window.unwrap_or((NaiveDate::MIN, NaiveDate::MAX));
        let mut p = grain.period_of(a.max(lo));
        let mut out = Vec::new();
        loop {
            if p.start > b || p.start > hi {
                break;
            }
            if p.start >= lo {
                out.push(p);
            }
            match p.next() {
                Some(n) => p = n,
                None => break,
            }
        }
        out
    }

    /// Days of a period that the data covers.
    pub(crate) fn covered_days(&self, p: Period) -> f64 {
        let Some((a, b)) = self.span else { return 0.0 };
        let start = p.start.max(a);
        let end = p.end().map(|e| e - Duration::days(1)).unwrap_or(b).min(b);
        if end < start { 0.0 } else { (end - start).num_days() as f64 + 1.0 }
    }

    /// Groups of a dimension seen in the data, known ones first, the missing group last.
    pub(crate) fn groups(&self, dim: &str) -> Vec<String> {
        let mut v: Vec<String> =
            self.seen.get(dim).map(|s| s.iter().filter(|g| *g != MISSING).cloned().collect()).unwrap_or_default();
        if self.seen.get(dim).is_some_and(|s| s.contains(MISSING)) {
            v.push(MISSING.to_owned());
        }
        v
    }
}
