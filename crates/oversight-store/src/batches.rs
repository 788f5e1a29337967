//! Import batches and their rejects.

use crate::{Result, Store, StoreError, queries};
use chrono::{NaiveDate, NaiveDateTime};
use duckdb::{OptionalExt, Row, params};
use serde::{Deserialize, Serialize};
use std::fmt;

/// One input file of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchFile {
    /// The profile's name for the file (`main` for single-file profiles).
    pub role: String,
    pub name: String,
    pub sha256: String,
    pub bytes: u64,
}

/// Where a batch stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchStatus {
    /// Its rows are in the record tables.
    Committed,
    /// A later import with `--replace` removed its rows.
    Superseded,
    /// The file was refused as a whole; no row landed.
    Refused,
    /// The import failed (an internal error); no row landed.
    Failed,
}

impl BatchStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Committed => "committed",
            Self::Superseded => "superseded",
            Self::Refused => "refused",
            Self::Failed => "failed",
        }
    }
    fn parse(s: &str) -> Self {
        match s {
            "committed" => Self::Committed,
            "superseded" => Self::Superseded,
            "refused" => Self::Refused,
            _ => Self::Failed,
        }
    }
}

impl fmt::Display for BatchStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is known of a batch before its rows are read.
#[derive(Debug, Clone)]
pub struct NewBatch {
    pub dataset: String,
    pub profile: String,
    pub profile_sha256: String,
    pub files: Vec<BatchFile>,
    /// Identity of the input: sha256 over the files' hashes in role order.
    pub sha256: String,
    pub jurisdiction_id: Option<String>,
    pub started_at: NaiveDateTime,
    /// `cli`, `api`, `schedule:<name>`.
    pub origin: String,
}

impl NewBatch {
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
    pub fn file_names(&self) -> String {
        self.files.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(" + ")
    }
}

/// A row of `import_batches`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchRecord {
    pub id: i64,
    pub dataset: String,
    pub profile: String,
    pub profile_sha256: String,
    pub files: Vec<BatchFile>,
    pub sha256: String,
    pub bytes: i64,
    pub jurisdiction_id: Option<String>,
    pub rows_read: i64,
    pub rows_accepted: i64,
    pub rows_rejected: i64,
    pub date_min: Option<NaiveDate>,
    pub date_max: Option<NaiveDate>,
    pub started_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    pub status: BatchStatus,
    pub replaces: Option<i64>,
    pub superseded_by: Option<i64>,
    pub origin: String,
    pub message: Option<String>,
    /// What the reading counted besides records (absent for batches imported before it was recorded).
    pub details: Option<BatchDetails>,
}

/// What a batch's reading counted besides records.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BatchDetails {
    /// Physical lines of the main file, the header and lines skipped before it included.
    pub lines_read: i64,
    /// Lines without a value (empty, blanks or delimiters only): skipped.
    pub blank_lines: i64,
    /// Rows the profile's `[[filter]]` left out.
    pub rows_filtered: i64,
    /// Records of other batches whose keys this batch's records superseded (`[keys] existing = "supersede"`).
    pub records_superseded: i64,
    /// Rows each cross-field rule kept (cleared under `null`, flagged under `keep`), by rule name.
    pub rules: std::collections::BTreeMap<String, i64>,
}

impl BatchRecord {
    pub fn file_names(&self) -> String {
        self.files.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(" + ")
    }

    /// Reads the batch columns; `files` is filled by [`Store::attach_files`].
    pub(crate) fn from_row(r: &Row<'_>) -> duckdb::Result<Self> {
        Ok(Self {
            id: r.get("id")?,
            dataset: r.get("dataset")?,
            profile: r.get("profile")?,
            profile_sha256: r.get("profile_sha256")?,
            files: Vec::new(),
            sha256: r.get("sha256")?,
            bytes: r.get("bytes")?,
            jurisdiction_id: r.get("jurisdiction_id")?,
            rows_read: r.get("rows_read")?,
            rows_accepted: r.get("rows_accepted")?,
            rows_rejected: r.get("rows_rejected")?,
            date_min: r.get("date_min")?,
            date_max: r.get("date_max")?,
            started_at: r.get("started_at")?,
            finished_at: r.get("finished_at")?,
            status: BatchStatus::parse(&r.get::<_, String>("status")?),
            replaces: r.get("replaces")?,
            superseded_by: r.get("superseded_by")?,
            origin: r.get("origin")?,
            message: r.get("message")?,
            details: None,
        })
    }
}

/// One problem with one row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectRecord {
    pub batch_id: i64,
    /// Order within the batch.
    pub seq: i64,
    /// Source file name.
    pub file: String,
    /// Line of the source file (1 is the header line of a CSV).
    pub line: i64,
    pub column: Option<String>,
    pub value: Option<String>,
    pub reason: String,
}

impl Store {
    /// The committed batch that already holds this input under this profile, if any.
    pub fn find_committed_batch(&self, dataset: &str, profile: &str, sha256: &str) -> Result<Option<BatchRecord>> {
        let mut st = self.conn.prepare_cached(queries::FIND_COMMITTED_BATCH)?;
        let found = st.query_row(params![dataset, profile, sha256], BatchRecord::from_row).optional()?;
        found.map(|b| self.attach_files(b)).transpose()
    }

    /// Whether a committed batch of this dataset and profile read exactly `bytes` bytes (a possible re-run).
    pub fn committed_batch_with_size(&self, dataset: &str, profile: &str, bytes: i64) -> Result<bool> {
        let mut st = self.conn.prepare_cached(queries::COMMITTED_BATCH_WITH_SIZE)?;
        Ok(st.exists(params![dataset, profile, bytes])?)
    }

    /// The committed batch of `dataset` that read a file with this hash, if any (folder watchers skip it).
    pub fn file_hash_seen(&self, dataset: &str, sha256: &str) -> Result<Option<i64>> {
        let mut st = self.conn.prepare_cached(queries::FIND_BATCH_BY_FILE_HASH)?;
        Ok(st.query_row(params![dataset, sha256], |r| r.get(0)).optional()?)
    }

    pub(crate) fn attach_files(&self, mut batch: BatchRecord) -> Result<BatchRecord> {
        let mut st = self.conn.prepare_cached(queries::BATCH_FILES)?;
        let rows = st.query_map(params![batch.id], |r| {
            Ok(BatchFile { role: r.get(0)?, name: r.get(1)?, sha256: r.get(2)?, bytes: r.get::<_, i64>(3)? as u64 })
        })?;
        batch.files = rows.collect::<duckdb::Result<_>>()?;
        let mut st = self.conn.prepare_cached(queries::BATCH_DETAILS)?;
        batch.details = st
            .query_row(params![batch.id], |r| {
                let rules: String = r.get(4)?;
                Ok(BatchDetails {
                    lines_read: r.get(0)?,
                    blank_lines: r.get(1)?,
                    rows_filtered: r.get(2)?,
                    records_superseded: r.get(3)?,
                    rules: serde_json::from_str(&rules).unwrap_or_default(),
                })
            })
            .optional()?;
        Ok(batch)
    }

    pub fn batch(&self, id: i64) -> Result<BatchRecord> {
        let mut st = self.conn.prepare_cached(queries::GET_BATCH)?;
        let found = st.query_row(params![id], BatchRecord::from_row).optional()?;
        let batch = found.ok_or_else(|| StoreError::NotFound { what: "import batch", id: id.to_string() })?;
        self.attach_files(batch)
    }

    /// Batches, newest first, with ids below `before` (cursor) if given.
    pub fn list_batches(&self, before: Option<i64>, limit: usize) -> Result<Vec<BatchRecord>> {
        let mut st = self.conn.prepare_cached(queries::LIST_BATCHES)?;
        let rows = st.query_map(params![before.unwrap_or(i64::MAX), limit as i64], BatchRecord::from_row)?;
        let batches: Vec<BatchRecord> = rows.collect::<duckdb::Result<_>>()?;
        batches.into_iter().map(|b| self.attach_files(b)).collect()
    }

    /// Rejects of a batch in source order, after the reject numbered `after` if given.
    pub fn rejects(&self, batch_id: i64, after: Option<i64>, limit: usize) -> Result<Vec<RejectRecord>> {
        self.batch(batch_id)?;
        let mut st = self.conn.prepare_cached(queries::LIST_REJECTS)?;
        let rows = st.query_map(params![batch_id, after.unwrap_or(-1), limit as i64], |r| {
            Ok(RejectRecord {
                batch_id: r.get(0)?,
                seq: r.get(1)?,
                file: r.get(2)?,
                line: r.get(3)?,
                column: r.get(4)?,
                value: r.get(5)?,
                reason: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<duckdb::Result<_>>()?)
    }

    /// The most frequent reject reasons of a batch with their counts.
    pub fn top_reject_reasons(&self, batch_id: i64, limit: usize) -> Result<Vec<(String, i64)>> {
        let mut st = self.conn.prepare_cached(queries::TOP_REJECT_REASONS)?;
        let rows = st.query_map(params![batch_id, limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<duckdb::Result<_>>()?)
    }

    /// Records an attempt that landed nothing (a refused file or a failed import), in its own transaction.
    pub fn record_unlanded_batch(
        &self,
        batch: &NewBatch,
        status: BatchStatus,
        rows_read: i64,
        message: &str,
    ) -> Result<i64> {
        let id: i64 = self.conn.query_row(queries::NEXT_BATCH_ID, [], |r| r.get(0))?;
        self.conn.execute_batch("BEGIN TRANSACTION")?;
        let row = BatchRow {
            id,
            rows_read,
            rows_accepted: 0,
            rows_rejected: 0,
            date_range: None,
            status,
            replaces: None,
            details: None,
        };
        let res = self.insert_batch_row(batch, &row, Some(message));
        match res {
            Ok(()) => self.conn.execute_batch("COMMIT")?,
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                return Err(e);
            }
        }
        Ok(id)
    }

    /// Inserts the batch row and its files (inside the caller's transaction).
    pub(crate) fn insert_batch_row(&self, batch: &NewBatch, row: &BatchRow, message: Option<&str>) -> Result<()> {
        let mut st = self.conn.prepare_cached(queries::INSERT_BATCH)?;
        st.execute(params![
            row.id,
            batch.dataset,
            batch.profile,
            batch.profile_sha256,
            batch.file_names(),
            batch.sha256,
            batch.bytes() as i64,
            batch.jurisdiction_id,
            row.rows_read,
            row.rows_accepted,
            row.rows_rejected,
            row.date_range.map(|r| r.0),
            row.date_range.map(|r| r.1),
            batch.started_at,
            chrono::Utc::now().naive_utc(),
            row.status.as_str(),
            row.replaces,
            batch.origin,
            message,
        ])?;
        let mut st = self.conn.prepare_cached(queries::INSERT_BATCH_FILE)?;
        for f in &batch.files {
            st.execute(params![row.id, f.role, f.name, f.sha256, f.bytes as i64])?;
        }
        if let Some(d) = &row.details {
            let rules = serde_json::to_string(&d.rules).map_err(|e| StoreError::Invalid(e.to_string()))?;
            let mut st = self.conn.prepare_cached(queries::INSERT_BATCH_DETAILS)?;
            st.execute(params![row.id, d.lines_read, d.blank_lines, d.rows_filtered, d.records_superseded, rules])?;
        }
        Ok(())
    }
}

/// The figures of a batch known once its rows are read.
#[derive(Debug, Clone)]
pub(crate) struct BatchRow {
    pub(crate) id: i64,
    pub(crate) rows_read: i64,
    pub(crate) rows_accepted: i64,
    pub(crate) rows_rejected: i64,
    pub(crate) date_range: Option<(NaiveDate, NaiveDate)>,
    pub(crate) status: BatchStatus,
    pub(crate) replaces: Option<i64>,
    pub(crate) details: Option<BatchDetails>,
}
