//! One import batch as one transaction: records and rejects are appended inside it, and the batch row is
//! written last, just before COMMIT. Dropping an [`Ingest`] without committing rolls everything back; a
//! crash or `kill -9` leaves nothing of the batch (DuckDB replays only committed transactions).

use crate::batches::BatchRow;
use crate::{BatchRecord, BatchStatus, Jurisdiction, NewBatch, Result, Store, StoreError, queries};
use duckdb::arrow::datatypes::SchemaRef;
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::{Appender, params};
use oversight_core::Table;
use std::collections::HashMap;

/// The figures of a batch once its rows are read.
#[derive(Debug, Clone, Default)]
pub struct IngestSummary {
    pub rows_read: i64,
    pub rows_accepted: i64,
    pub rows_rejected: i64,
    /// Earliest and latest record date (the periods a recompute must revisit).
    pub date_range: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
    pub details: crate::BatchDetails,
}

/// A record key on several rows of one batch.
#[derive(Debug, Clone)]
pub struct RepeatedKey {
    pub jurisdiction_id: String,
    /// The key's values, joined with " / " where it has several columns.
    pub key: String,
    /// The source lines holding it, in order.
    pub lines: Vec<i64>,
}

/// A record key of this batch that another batch already holds.
#[derive(Debug, Clone)]
pub struct HeldKey {
    pub line: i64,
    pub key: String,
    pub other_batch: i64,
    pub other_line: i64,
}

/// The key columns of a table as SQL: (key expression over alias `t`, "all present" condition, join
/// condition between aliases `n` and `o`). Column names come from the closed schema, never from users.
pub(crate) fn key_sql(table: Table) -> Option<(String, String, String)> {
    let cols = table.key_fields();
    if cols.is_empty() {
        return None;
    }
    let expr = |a: &str| cols.iter().map(|c| format!("{a}.\"{c}\"")).collect::<Vec<_>>().join(", ");
    let key = format!("concat_ws(' / ', {})", expr("t"));
    let present = cols.iter().map(|c| format!("t.\"{c}\" IS NOT NULL")).collect::<Vec<_>>().join(" AND ");
    let join = cols.iter().map(|c| format!("n.\"{c}\" = o.\"{c}\"")).collect::<Vec<_>>().join(" AND ");
    Some((key, present, join))
}

/// An open import transaction.
pub struct Ingest<'s> {
    store: &'s Store,
    batch: NewBatch,
    id: i64,
    replaces: Option<i64>,
    appenders: HashMap<Table, Appender<'s>>,
    rejects: Option<Appender<'s>>,
    /// The last (file, line) a reject was recorded for, and how many problems it had so far.
    last_reject: (usize, i64, i64),
    open: bool,
}

impl std::fmt::Debug for Ingest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingest").field("id", &self.id).field("replaces", &self.replaces).finish()
    }
}

impl Store {
    /// Opens the transaction of a new batch. With `replaces`, committing also supersedes that batch and
    /// deletes its rows, in the same transaction.
    pub fn begin_ingest(&self, batch: NewBatch, replaces: Option<i64>) -> Result<Ingest<'_>> {
        let id: i64 = self.conn.query_row(queries::NEXT_BATCH_ID, [], |r| r.get(0))?;
        self.conn.execute_batch("BEGIN TRANSACTION")?;
        Ok(Ingest {
            store: self,
            batch,
            id,
            replaces,
            appenders: HashMap::new(),
            rejects: None,
            last_reject: (usize::MAX, -1, 0),
            open: true,
        })
    }
}

/// The stored columns of a table as the importer fills them (policy events get their id from a sequence).
pub fn appended_columns(table: Table) -> Vec<String> {
    table.stored_columns().into_iter().map(|c| c.0).collect()
}

impl<'s> Ingest<'s> {
    pub fn id(&self) -> i64 {
        self.id
    }

    pub fn batch(&self) -> &NewBatch {
        &self.batch
    }

    /// Appends records to a table. The batch's columns must be [`appended_columns`] of the table, in order.
    pub fn append(&mut self, table: Table, batch: RecordBatch) -> Result<()> {
        if !self.appenders.contains_key(&table) {
            let cols = appended_columns(table);
            let refs: Vec<&str> = cols.iter().map(String::as_str).collect();
            let app = self.store.conn.appender_with_columns(table.name(), &refs)?;
            self.appenders.insert(table, app);
        }
        let app = self.appenders.get_mut(&table).ok_or_else(|| StoreError::Invalid("no appender".into()))?;
        app.append_record_batch(batch)?;
        Ok(())
    }

    /// Inserts every record batch received from `rx` into `table` with one INSERT that DuckDB runs on all its
    /// threads; returns when the senders are gone and the batches are in. The batches' columns must be
    /// [`appended_columns`] of the table, in order. Returns the rows inserted.
    pub fn append_stream(
        &mut self,
        table: Table,
        schema: SchemaRef,
        rx: std::sync::mpsc::Receiver<RecordBatch>,
    ) -> Result<u64> {
        if let Some(mut app) = self.appenders.remove(&table) {
            app.flush()?;
        }
        let reg = crate::stream::Registration::new(schema, rx)?;
        let cols = appended_columns(table).iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
        let sql = format!("INSERT INTO {} ({cols}) SELECT * FROM {}(?)", table.name(), crate::stream::FUNCTION);
        let n = self.store.conn.execute(&sql, params![reg.token()])?;
        Ok(n as u64)
    }

    /// Keys of `table` that several rows of this batch hold (within one jurisdiction).
    pub fn repeated_keys(&self, table: Table) -> Result<Vec<RepeatedKey>> {
        let Some((key, present, _)) = key_sql(table) else { return Ok(Vec::new()) };
        // The repeated keys first (one count per key), then the lines of those alone.
        let sql = format!(
            "WITH keyed AS (SELECT t.jurisdiction_id AS j, {key} AS k, t.source_row AS line FROM {} t
                            WHERE t.batch_id = ? AND {present}),
                  repeated AS (SELECT j, k FROM keyed GROUP BY j, k HAVING count(*) > 1)
             SELECT keyed.j, keyed.k, list(keyed.line ORDER BY keyed.line)::VARCHAR
             FROM keyed JOIN repeated USING (j, k) GROUP BY keyed.j, keyed.k ORDER BY min(keyed.line)",
            table.name()
        );
        let mut st = self.store.conn.prepare(&sql)?;
        let rows = st.query_map(params![self.id], |r| {
            let lines: String = r.get(2)?;
            Ok(RepeatedKey {
                jurisdiction_id: r.get(0)?,
                key: r.get(1)?,
                lines: lines
                    .trim_matches(|c| c == '[' || c == ']')
                    .split(',')
                    .filter_map(|x| x.trim().parse().ok())
                    .collect(),
            })
        })?;
        Ok(rows.collect::<duckdb::Result<_>>()?)
    }

    /// Keys of this batch's records in `table` that records of other batches hold in the same
    /// jurisdiction (the batch this one replaces aside).
    pub fn keys_held_elsewhere(&self, table: Table) -> Result<Vec<HeldKey>> {
        let Some((key, present, join)) = key_sql(table) else { return Ok(Vec::new()) };
        // Most often no other batch has records of the table yet: one row tells.
        let others = format!("SELECT EXISTS (SELECT 1 FROM {} WHERE batch_id <> ? AND batch_id <> ?)", table.name());
        let any: bool =
            self.store.conn.query_row(&others, params![self.id, self.replaces.unwrap_or(-1)], |r| r.get(0))?;
        if !any {
            return Ok(Vec::new());
        }
        let key = key.replace("t.", "n.");
        let present = present.replace("t.", "n.");
        let sql = format!(
            "SELECT n.source_row, {key}, o.batch_id, o.source_row
             FROM {t} n JOIN {t} o ON n.jurisdiction_id = o.jurisdiction_id AND {join}
             WHERE n.batch_id = ? AND o.batch_id <> ? AND o.batch_id <> ? AND {present}
             ORDER BY n.source_row, o.batch_id",
            t = table.name()
        );
        let mut st = self.store.conn.prepare(&sql)?;
        let rows = st.query_map(params![self.id, self.id, self.replaces.unwrap_or(-1)], |r| {
            Ok(HeldKey { line: r.get(0)?, key: r.get(1)?, other_batch: r.get(2)?, other_line: r.get(3)? })
        })?;
        Ok(rows.collect::<duckdb::Result<_>>()?)
    }

    /// Removes records of this batch from `table` (rows found to break a key rule after they were written),
    /// by source line.
    pub fn remove_rows(&mut self, table: Table, lines: &[i64]) -> Result<()> {
        if let Some(mut app) = self.appenders.remove(&table) {
            app.flush()?;
        }
        for chunk in lines.chunks(1000) {
            let list = chunk.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
            // The lines are integers: formatting them into the statement is safe.
            let sql = format!("DELETE FROM {} WHERE batch_id = ? AND source_row IN ({list})", table.name());
            self.store.conn.execute(&sql, params![self.id])?;
        }
        Ok(())
    }

    /// Deletes the records of other batches whose keys records of this batch hold in `table` (and their
    /// child rows); returns how many main records went.
    pub fn supersede_keys(&mut self, table: Table, children: &[Table]) -> Result<i64> {
        let Some((_, _, join)) = key_sql(table) else { return Ok(0) };
        let t = table.name();
        for child in children {
            // Children link by the parent's key columns (complaint_id).
            let cjoin =
                table.key_fields().iter().map(|c| format!("n.\"{c}\" = o.\"{c}\"")).collect::<Vec<_>>().join(" AND ");
            let sql = format!(
                "DELETE FROM {c} o WHERE o.batch_id <> ? AND EXISTS (SELECT 1 FROM {t} n WHERE n.batch_id = ? AND
                 n.jurisdiction_id = o.jurisdiction_id AND {cjoin})",
                c = child.name()
            );
            self.store.conn.execute(&sql, params![self.id, self.id])?;
        }
        let sql = format!(
            "DELETE FROM {t} o WHERE o.batch_id <> ? AND o.batch_id <> ? AND EXISTS (SELECT 1 FROM {t} n WHERE
             n.batch_id = ? AND n.jurisdiction_id = o.jurisdiction_id AND {join})"
        );
        let replaced = self.replaces.unwrap_or(-1);
        Ok(self.store.conn.execute(&sql, params![self.id, replaced, self.id])? as i64)
    }

    /// Records one problem with one row of the batch's file number `file` (its index in the batch's files).
    /// Rejects are numbered in source order (file, line, problem), whatever order they arrive in.
    pub fn reject(
        &mut self,
        file: usize,
        line: i64,
        column: Option<&str>,
        value: Option<&str>,
        reason: &str,
    ) -> Result<()> {
        if self.rejects.is_none() {
            self.rejects = Some(self.store.conn.appender("import_rejects")?);
        }
        let k = if (self.last_reject.0, self.last_reject.1) == (file, line) { self.last_reject.2 + 1 } else { 0 };
        self.last_reject = (file, line, k);
        let seq = ((file as i64) << 50) | (line << 8) | k.min(255);
        let name = self.batch.files.get(file).map(|f| f.name.clone()).unwrap_or_default();
        let app = self.rejects.as_mut().ok_or_else(|| StoreError::Invalid("no appender".into()))?;
        app.append_row(params![self.id, seq, name, line, column, value, reason])?;
        Ok(())
    }

    /// Sets the input's identity once it is known (a file hashed while it was read), and the batch it
    /// replaces.
    pub fn set_identity(&mut self, files: Vec<crate::BatchFile>, sha256: String, replaces: Option<i64>) {
        self.batch.files = files;
        self.batch.sha256 = sha256;
        self.replaces = replaces;
    }

    /// Creates a jurisdiction the batch refers to, inside the batch's transaction.
    pub fn ensure_jurisdiction(&self, j: &Jurisdiction) -> Result<bool> {
        self.store.ensure_jurisdiction(j)
    }

    /// Fills attributes an existing jurisdiction lacks (an import never overwrites what a user set).
    pub fn fill_jurisdiction(&self, j: &Jurisdiction) -> Result<()> {
        self.store.fill_jurisdiction(j)
    }

    /// Writes the batch row and commits. Returns the committed batch.
    pub fn commit(mut self, summary: IngestSummary) -> Result<BatchRecord> {
        let res = self.finish(&summary);
        if let Err(e) = res {
            self.rollback_now();
            return Err(e);
        }
        self.open = false;
        self.store.batch(self.id)
    }

    fn finish(&mut self, summary: &IngestSummary) -> Result<()> {
        for (_, mut app) in self.appenders.drain() {
            app.flush()?;
        }
        if let Some(mut app) = self.rejects.take() {
            app.flush()?;
        }
        let conn = &self.store.conn;
        if let Some(old) = self.replaces {
            let n = conn.execute(queries::SUPERSEDE_BATCH, params![self.id, old])?;
            if n == 0 {
                return Err(StoreError::Invalid(format!(
                    "batch {old} is not a committed batch and cannot be replaced"
                )));
            }
            let dataset: oversight_core::Dataset = self
                .batch
                .dataset
                .parse()
                .map_err(|e: oversight_core::schema::UnknownDataset| StoreError::Invalid(e.to_string()))?;
            for t in dataset.tables() {
                conn.execute(&format!("DELETE FROM {} WHERE batch_id = ?", t.name()), params![old])?;
            }
        }
        let row = BatchRow {
            id: self.id,
            rows_read: summary.rows_read,
            rows_accepted: summary.rows_accepted,
            rows_rejected: summary.rows_rejected,
            date_range: summary.date_range,
            status: BatchStatus::Committed,
            replaces: self.replaces,
            details: Some(summary.details.clone()),
        };
        self.store.insert_batch_row(&self.batch, &row, None)?;
        conn.execute_batch("COMMIT")?;
        Ok(())
    }

    /// Abandons the batch: nothing of it stays.
    pub fn rollback(mut self) {
        self.rollback_now();
    }

    fn rollback_now(&mut self) {
        if self.open {
            self.appenders.clear();
            self.rejects = None;
            // A failed COMMIT has rolled back already (DuckDB says there is no transaction left).
            if let Err(e) = self.store.conn.execute_batch("ROLLBACK")
                && !e.to_string().contains("no transaction is active")
            {
                tracing::warn!(error = %e, "rollback failed");
            }
            self.open = false;
        }
    }
}

impl Drop for Ingest<'_> {
    fn drop(&mut self) {
        self.rollback_now();
    }
}
