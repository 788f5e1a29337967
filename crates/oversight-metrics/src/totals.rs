//! Stage two: the daily cube summed into periods of every grain.

use crate::MetricsError;
use crate::cube::MISSING;
use chrono::{Duration, NaiveDate};
use oversight_core::{Grain, Period};
use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Cube sums per (grain, period start, dimension, group, measure).
#[derive(Debug, Default)]
pub(crate) struct Totals {
    sums: HashMap<(Grain, NaiveDate, u16, u16, u8), f64>,
    dims: Vec<String>,
    groups: Vec<String>,
    measures: Vec<String>,
    /// Groups seen per dimension.
    pub(crate) seen: BTreeMap<String, BTreeSet<String>>,
    /// First and last day with data.
    pub(crate) span: Option<(NaiveDate, NaiveDate)>,
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

const EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d,
    None => panic!("1970-01-01 is a date"),
};

impl Totals {
    /// Sums a cube frame (day, dim, grp, measure, value) into every grain's periods.
    pub(crate) fn from_cube(cube: &DataFrame) -> Result<Self, MetricsError> {
        let mut t = Totals::default();
        if cube.height() == 0 {
            return Ok(t);
        }
        let day = cube.column("day")?.as_materialized_series().cast(&DataType::Int32)?;
        let day = day.i32()?;
        let dim = cube.column("dim")?.as_materialized_series().str()?.clone();
        let grp = cube.column("grp")?.as_materialized_series().str()?.clone();
        let measure = cube.column("measure")?.as_materialized_series().str()?.clone();
        let value = cube.column("value")?.as_materialized_series().cast(&DataType::Float64)?;
        let value = value.f64()?;
        // Interning through small caches keyed by the last value seen keeps this loop cheap.
        let mut last: [(String, usize); 3] = Default::default();
        for i in 0..cube.height() {
            let (Some(d), Some(di), Some(g), Some(m), Some(v)) =
                (day.get(i), dim.get(i), grp.get(i), measure.get(i), value.get(i))
            else {
                continue;
            };
            let date = EPOCH + Duration::days(i64::from(d));
            t.span = Some(match t.span {
                None => (date, date),
                Some((a, b)) => (a.min(date), b.max(date)),
            });
            let mut idx = |k: usize, s: &str, v: &mut Vec<String>| {
                if last[k].0 != s || v.is_empty() {
                    last[k] = (s.to_owned(), intern(v, s));
                }
                last[k].1
            };
            let di_i = idx(0, di, &mut t.dims);
            let g_i = idx(1, g, &mut t.groups);
            let m_i = idx(2, m, &mut t.measures);
            if di != "all" {
                t.seen.entry(di.to_owned()).or_default().insert(g.to_owned());
            }
            for grain in Grain::ALL {
                let key = (*grain, grain.period_start(date), di_i as u16, g_i as u16, m_i as u8);
                *t.sums.entry(key).or_insert(0.0) += v;
            }
        }
        Ok(t)
    }

    /// A measure's sum for a period and group (`dim` "all" with group "all" for everyone); 0 when absent.
    pub(crate) fn get(&self, p: Period, dim: &str, grp: &str, measure: &str) -> f64 {
        let (Some(d), Some(g), Some(m)) = (
            self.dims.iter().position(|x| x == dim),
            self.groups.iter().position(|x| x == grp),
            self.measures.iter().position(|x| x == measure),
        ) else {
            return 0.0;
        };
        self.sums.get(&(p.grain, p.start, d as u16, g as u16, m as u8)).copied().unwrap_or(0.0)
    }

    /// Every period of a grain from the first day with data to the last (empty periods included).
    pub(crate) fn periods(&self, grain: Grain) -> Vec<Period> {
        let Some((a, b)) = self.span else { return Vec::new() };
        let mut out = vec![grain.period_of(a)];
        if grain == Grain::All {
            return out;
        }
        while let Some(next) = out.last().and_then(|p| p.next()) {
            if next.start > b {
                break;
            }
            out.push(next);
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
