//! What the REST layer needs beyond the other modules: API keys (hashes only), the audit log, cube sums for
//! disparity tables and per-dataset summaries (extracts: [`crate::extract`]).

use crate::{Result, Store, StoreError, queries};
use chrono::{NaiveDate, NaiveDateTime};
use duckdb::{OptionalExt, params};
use oversight_core::Dataset;
use serde::Serialize;

/// A row of `api_keys` (never the key or its hash).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    /// viewer, analyst or admin.
    pub role: String,
    /// The first characters of the key, to recognise it.
    pub prefix: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

/// A row of `audit_log`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub logged_at: NaiveDateTime,
    pub key_name: String,
    pub method: String,
    pub endpoint: String,
    /// JSON text of the request's parameters.
    pub parameters: String,
    pub status: i32,
    pub rows: Option<i64>,
}

/// A request to audit.
#[derive(Debug, Clone)]
pub struct NewAuditEntry<'a> {
    pub key_name: &'a str,
    pub method: &'a str,
    pub endpoint: &'a str,
    pub parameters: &'a str,
    pub status: i32,
    pub rows: Option<i64>,
}

/// Records and imports of one dataset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetSummary {
    pub dataset: String,
    pub rows: i64,
    pub date_min: Option<NaiveDate>,
    pub date_max: Option<NaiveDate>,
    pub batches: i64,
    pub rows_read: i64,
    pub rows_rejected: i64,
    pub last_import: Option<NaiveDateTime>,
    /// Of `batches`, how many the indicators include (those the last indicator run read); the rest landed
    /// after it and are not in any indicator yet.
    pub batches_in_indicators: i64,
}

/// A row of `schedule_runs`. Its times are UTC, and say so (`2026-11-22T07:00:00Z`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduleRun {
    pub id: i64,
    pub schedule: String,
    /// cron, manual or catch-up.
    pub trigger: String,
    #[serde(serialize_with = "utc")]
    pub started_at: NaiveDateTime,
    #[serde(serialize_with = "utc_opt")]
    pub finished_at: Option<NaiveDateTime>,
    /// running, ok, partial or failed.
    pub outcome: String,
    pub files_imported: i64,
    pub files_skipped: i64,
    pub files_failed: i64,
    pub rows_accepted: i64,
    pub batches: Vec<i64>,
    pub error: Option<String>,
}

/// A UTC time with its offset, `Z`.
fn utc<S: serde::Serializer>(t: &NaiveDateTime, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(&t.and_utc().format("%Y-%m-%dT%H:%M:%S%.fZ"))
}

fn utc_opt<S: serde::Serializer>(t: &Option<NaiveDateTime>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match t {
        Some(t) => utc(t, s),
        None => s.serialize_none(),
    }
}

fn key_from_row(r: &duckdb::Row<'_>) -> duckdb::Result<ApiKey> {
    Ok(ApiKey {
        id: r.get(0)?,
        name: r.get(1)?,
        role: r.get(2)?,
        prefix: r.get(3)?,
        created_at: r.get(4)?,
        last_used_at: r.get(5)?,
        revoked_at: r.get(6)?,
    })
}

impl Store {
    /// Stores a new key by its sha256 hash.
    pub fn insert_api_key(&self, name: &str, role: &str, prefix: &str, key_hash: &str) -> Result<ApiKey> {
        if name.trim().is_empty() {
            return Err(StoreError::Invalid("a key needs a name".into()));
        }
        let mut st = self.conn.prepare_cached(queries::INSERT_API_KEY)?;
        Ok(st.query_row(params![name, role, prefix, key_hash], key_from_row)?)
    }

    pub fn api_keys(&self) -> Result<Vec<ApiKey>> {
        let mut st = self.conn.prepare_cached(queries::LIST_API_KEYS)?;
        let rows = st.query_map([], key_from_row)?;
        Ok(rows.collect::<duckdb::Result<_>>()?)
    }

    /// The live (unrevoked) key with this hash.
    pub fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>> {
        let mut st = self.conn.prepare_cached(queries::API_KEY_BY_HASH)?;
        Ok(st.query_row(params![key_hash], key_from_row).optional()?)
    }

    /// Revokes a key; NotFound when no live key has this id.
    pub fn revoke_api_key(&self, id: i64) -> Result<()> {
        let n = self.conn.prepare_cached(queries::REVOKE_API_KEY)?.execute(params![id])?;
        if n == 0 {
            return Err(StoreError::NotFound { what: "live API key", id: id.to_string() });
        }
        Ok(())
    }

    pub fn touch_api_key(&self, id: i64) -> Result<()> {
        self.conn.prepare_cached(queries::TOUCH_API_KEY)?.execute(params![id])?;
        Ok(())
    }

    pub fn audit(&self, e: &NewAuditEntry<'_>) -> Result<()> {
        let mut st = self.conn.prepare_cached(queries::INSERT_AUDIT)?;
        st.execute(params![e.key_name, e.method, e.endpoint, e.parameters, e.status, e.rows])?;
        Ok(())
    }

    /// Audit entries newest first, before the id `before`.
    pub fn audit_log(&self, before: Option<i64>, limit: usize) -> Result<Vec<AuditEntry>> {
        let mut st = self.conn.prepare_cached(queries::LIST_AUDIT)?;
        let rows = st.query_map(params![before, limit as i64], |r| {
            Ok(AuditEntry {
                id: r.get(0)?,
                logged_at: r.get(1)?,
                key_name: r.get(2)?,
                method: r.get(3)?,
                endpoint: r.get(4)?,
                parameters: r.get(5)?,
                status: r.get(6)?,
                rows: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<duckdb::Result<_>>()?)
    }

    /// The cube of `dataset` summed over [from, to] by the groups of `dim`: (group, measure, sum).
    pub fn cube_sums(
        &self,
        dataset: &str,
        jurisdiction: &str,
        from: NaiveDate,
        to: NaiveDate,
        dim: &str,
    ) -> Result<Vec<(String, String, f64)>> {
        let mut st = self.conn.prepare_cached(queries::CUBE_SUMS)?;
        let rows =
            st.query_map(params![dataset, jurisdiction, from, to, dim], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<duckdb::Result<_>>()?)
    }

    /// The first and last day of a dataset's cube in [from, to].
    pub fn cube_span(
        &self,
        dataset: &str,
        jurisdiction: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Option<(NaiveDate, NaiveDate)>> {
        let mut st = self.conn.prepare_cached(queries::CUBE_SPAN)?;
        let (a, b): (Option<NaiveDate>, Option<NaiveDate>) =
            st.query_row(params![dataset, jurisdiction, from, to], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(a.zip(b))
    }

    /// Records the start of a scheduled run; returns its id.
    pub fn start_schedule_run(&self, schedule: &str, trigger: &str, at: NaiveDateTime) -> Result<i64> {
        let mut st = self.conn.prepare_cached(queries::INSERT_SCHEDULE_RUN)?;
        Ok(st.query_row(params![schedule, trigger, at], |r| r.get(0))?)
    }

    /// Records how a scheduled run ended.
    pub fn finish_schedule_run(&self, run: &ScheduleRun) -> Result<()> {
        let batches = serde_json::to_string(&run.batches).unwrap_or_else(|_| "[]".into());
        self.conn.prepare_cached(queries::FINISH_SCHEDULE_RUN)?.execute(params![
            run.id,
            run.finished_at,
            run.outcome,
            run.files_imported,
            run.files_skipped,
            run.files_failed,
            run.rows_accepted,
            batches,
            run.error
        ])?;
        Ok(())
    }

    pub fn last_schedule_run(&self, schedule: &str) -> Result<Option<ScheduleRun>> {
        let mut st = self.conn.prepare_cached(queries::LAST_SCHEDULE_RUN)?;
        Ok(st
            .query_row(params![schedule], |r| {
                let batches: String = r.get(10)?;
                Ok(ScheduleRun {
                    id: r.get(0)?,
                    schedule: r.get(1)?,
                    trigger: r.get(2)?,
                    started_at: r.get(3)?,
                    finished_at: r.get(4)?,
                    outcome: r.get(5)?,
                    files_imported: r.get(6)?,
                    files_skipped: r.get(7)?,
                    files_failed: r.get(8)?,
                    rows_accepted: r.get(9)?,
                    batches: serde_json::from_str(&batches).unwrap_or_default(),
                    error: r.get(11)?,
                })
            })
            .optional()?)
    }

    /// Every dataset's records (rows and date coverage) and committed imports.
    pub fn dataset_summaries(&self) -> Result<Vec<DatasetSummary>> {
        let included: std::collections::HashSet<i64> =
            self.last_metric_run()?.map(|r| r.batches.into_iter().collect()).unwrap_or_default();
        let mut in_indicators: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
        for b in self.committed_batches()? {
            if included.contains(&b.id) {
                *in_indicators.entry(b.dataset.clone()).or_default() += 1;
            }
        }
        let mut imports = std::collections::HashMap::new();
        let mut st = self.conn.prepare_cached(queries::DATASET_IMPORTS)?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                (
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, Option<i64>>(4)?,
                    r.get::<_, Option<NaiveDateTime>>(5)?,
                ),
            ))
        })?;
        for r in rows {
            let (k, v) = r?;
            imports.insert(k, v);
        }
        let mut out = Vec::new();
        for dataset in Dataset::ALL {
            let table = dataset.main_table().name();
            let date = oversight_core::public::Source::from(*dataset).date_column();
            let sql = format!("SELECT count(*), min({date}), max({date}) FROM {table}");
            let (rows, date_min, date_max) =
                self.conn.query_row(&sql, [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            let (batches, read, rejected, last) =
                imports.get(dataset.as_str()).cloned().unwrap_or((0, None, None, None));
            out.push(DatasetSummary {
                dataset: dataset.as_str().to_owned(),
                rows,
                date_min,
                date_max,
                batches,
                rows_read: read.unwrap_or(0),
                rows_rejected: rejected.unwrap_or(0),
                last_import: last,
                batches_in_indicators: in_indicators.get(dataset.as_str()).copied().unwrap_or(0),
            });
        }
        Ok(out)
    }
}
