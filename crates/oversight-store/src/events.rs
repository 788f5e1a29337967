//! Policy events (287(g) agreements, detainer and sanctuary policies, …) that impact analyses run around,
//! and the stop rows the veil-of-darkness test reads.

use crate::{Result, Store, StoreError, queries};
use chrono::NaiveDate;
use duckdb::{OptionalExt, params};
use serde::{Deserialize, Serialize};

/// A row of `policy_events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyEvent {
    pub id: i64,
    pub jurisdiction_id: String,
    pub effective_date: NaiveDate,
    /// A `policy_kind` code.
    pub kind: String,
    pub title: String,
    pub source: Option<String>,
    pub agency: Option<String>,
    /// The import batch the event came from (None: added by hand).
    pub batch_id: Option<i64>,
}

/// An event to add by hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewPolicyEvent {
    pub jurisdiction_id: String,
    pub effective_date: NaiveDate,
    pub kind: String,
    pub title: String,
    pub source: Option<String>,
    pub agency: Option<String>,
}

/// Stops of one district and race for the threshold test, with those it cannot use counted apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchCounts {
    pub district: Option<String>,
    pub race: Option<String>,
    pub stops: u64,
    /// No recorded search decision.
    pub search_unknown: u64,
    /// Searched, with no recorded result.
    pub result_unknown: u64,
    /// Contraband recorded but no search.
    pub contraband_without_search: u64,
    /// Searches with a recorded result, and hits among them.
    pub searches: u64,
    pub hits: u64,
}

/// A stop for the veil-of-darkness test.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedStop {
    pub date: NaiveDate,
    /// Minute of the (local) day, 0–1439.
    pub minute: i32,
    pub race: Option<String>,
    pub district: Option<String>,
}

fn from_row(r: &duckdb::Row<'_>) -> duckdb::Result<PolicyEvent> {
    Ok(PolicyEvent {
        id: r.get(0)?,
        jurisdiction_id: r.get(1)?,
        effective_date: r.get(2)?,
        kind: r.get(3)?,
        title: r.get(4)?,
        source: r.get(5)?,
        agency: r.get(6)?,
        batch_id: r.get(7)?,
    })
}

impl Store {
    /// Events in id order (of one jurisdiction if given), after the id `after`.
    pub fn policy_events(
        &self,
        jurisdiction: Option<&str>,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Vec<PolicyEvent>> {
        let mut st = self.conn.prepare_cached(queries::LIST_POLICY_EVENTS)?;
        let rows = st.query_map(params![jurisdiction, after, limit as i64], from_row)?;
        Ok(rows.collect::<duckdb::Result<_>>()?)
    }

    pub fn policy_event(&self, id: i64) -> Result<Option<PolicyEvent>> {
        let mut st = self.conn.prepare_cached(queries::GET_POLICY_EVENT)?;
        Ok(st.query_row(params![id], from_row).optional()?)
    }

    /// Adds an event by hand; the kind must already be a `policy_kind` code (callers parse it).
    pub fn add_policy_event(&self, e: &NewPolicyEvent) -> Result<PolicyEvent> {
        if e.title.trim().is_empty() {
            return Err(StoreError::Invalid("an event needs a title".into()));
        }
        if self.jurisdiction(&e.jurisdiction_id)?.is_none() {
            return Err(StoreError::NotFound { what: "jurisdiction", id: e.jurisdiction_id.clone() });
        }
        let mut st = self.conn.prepare_cached(queries::INSERT_POLICY_EVENT)?;
        let id: i64 = st
            .query_row(params![e.jurisdiction_id, e.effective_date, e.kind, e.title, e.source, e.agency], |r| {
                r.get(0)
            })?;
        self.policy_event(id)?.ok_or(StoreError::NotFound { what: "policy event", id: id.to_string() })
    }

    /// Removes an event added by hand. Imported events belong to their batch: they are refused (re-import
    /// the corrected file with `--replace` instead), so every batch stays whole.
    pub fn remove_policy_event(&self, id: i64) -> Result<PolicyEvent> {
        let event = self.policy_event(id)?.ok_or(StoreError::NotFound { what: "policy event", id: id.to_string() })?;
        if let Some(batch) = event.batch_id {
            return Err(StoreError::Invalid(format!(
                "policy event {id} came from import batch {batch}; change it by re-importing a corrected file \
                 with --replace"
            )));
        }
        self.conn.prepare_cached(queries::DELETE_POLICY_EVENT)?.execute(params![id])?;
        Ok(event)
    }

    /// Stops of a jurisdiction with a clock time, dates in [from, to].
    pub fn timed_stops(&self, jurisdiction: &str, from: NaiveDate, to: NaiveDate) -> Result<Vec<TimedStop>> {
        let mut st = self.conn.prepare_cached(queries::VOD_STOPS)?;
        let rows = st.query_map(params![jurisdiction, from, to], |r| {
            Ok(TimedStop { date: r.get(0)?, minute: r.get::<_, i64>(1)? as i32, race: r.get(2)?, district: r.get(3)? })
        })?;
        Ok(rows.collect::<duckdb::Result<_>>()?)
    }

    /// Stops, searches and hits by district and race between two dates (inclusive).
    pub fn search_counts(&self, jurisdiction: &str, from: NaiveDate, to: NaiveDate) -> Result<Vec<SearchCounts>> {
        let mut st = self.conn.prepare_cached(queries::THRESHOLD_COUNTS)?;
        let n = |r: &duckdb::Row<'_>, i: usize| r.get::<_, i64>(i).map(|v| v as u64);
        let rows = st.query_map(params![jurisdiction, from, to], |r| {
            Ok(SearchCounts {
                district: r.get(0)?,
                race: r.get(1)?,
                stops: n(r, 2)?,
                search_unknown: n(r, 3)?,
                result_unknown: n(r, 4)?,
                contraband_without_search: n(r, 5)?,
                searches: n(r, 6)?,
                hits: n(r, 7)?,
            })
        })?;
        Ok(rows.collect::<duckdb::Result<_>>()?)
    }

    /// Median coordinates of a jurisdiction's geocoded stops, and how many there are.
    pub fn stops_median_location(&self, jurisdiction: &str) -> Result<Option<(f64, f64, i64)>> {
        let mut st = self.conn.prepare_cached(queries::STOPS_MEDIAN_LOCATION)?;
        let r: (Option<f64>, Option<f64>, i64) =
            st.query_row(params![jurisdiction], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(match r {
            (Some(lat), Some(lng), n) if n > 0 => Some((lat, lng, n)),
            _ => None,
        })
    }
}
