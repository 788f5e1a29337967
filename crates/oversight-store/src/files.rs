//! Reading external files through DuckDB (Parquet).

use crate::{Result, Store, StoreError};
use duckdb::arrow::record_batch::RecordBatch;
use std::path::Path;

impl Store {
    /// Streams a Parquet file as Arrow record batches, in file order, to `f`.
    pub fn scan_parquet<E: From<StoreError>>(
        &self,
        path: &Path,
        mut f: impl FnMut(RecordBatch) -> Result<(), E>,
    ) -> Result<(), E> {
        let p = path.to_str().ok_or_else(|| StoreError::Invalid(format!("{} is not a UTF-8 path", path.display())))?;
        let mut st = self.conn.prepare("SELECT * FROM read_parquet(?)").map_err(StoreError::from)?;
        let stream = st.stream_arrow(duckdb::params![p]).map_err(StoreError::from)?;
        for batch in stream {
            f(batch.map_err(StoreError::from)?)?;
        }
        Ok(())
    }

    /// Column names of a Parquet file.
    pub fn parquet_columns(&self, path: &Path) -> Result<Vec<String>> {
        let p = path.to_str().ok_or_else(|| StoreError::Invalid(format!("{} is not a UTF-8 path", path.display())))?;
        let mut st = self.conn.prepare("SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet(?))")?;
        let rows = st.query_map(duckdb::params![p], |r| r.get(0))?;
        Ok(rows.collect::<duckdb::Result<_>>()?)
    }
}

/// Quotes a path as an SQL string literal (COPY's target cannot be a bound parameter).
fn path_literal(path: &Path) -> Result<String> {
    let p = path.to_str().ok_or_else(|| StoreError::Invalid(format!("{} is not a UTF-8 path", path.display())))?;
    Ok(format!("'{}'", p.replace('\'', "''")))
}

impl Store {
    /// Writes the public columns of a record table (no personal data, no bookkeeping columns) to a Parquet
    /// file.
    pub fn export_parquet(&self, table: oversight_core::Table, path: &Path) -> Result<u64> {
        let cols: Vec<String> =
            table.fields().iter().filter(|f| !f.personal).map(|f| format!("\"{}\"", f.name)).collect();
        let sql = format!(
            "COPY (SELECT {} FROM {} ORDER BY batch_id, source_row) TO {} (FORMAT parquet)",
            cols.join(", "),
            table.name(),
            path_literal(path)?
        );
        Ok(self.conn.execute(&sql, [])? as u64)
    }
}

/// DuckDB reading a CSV by itself: the physical limit the import benchmark compares with.
pub mod bench {
    use super::*;
    use std::time::Instant;

    /// `COPY opp_raw FROM 'file'` into a table shaped like the OPP file (what COPY can load as it is).
    /// Returns (rows, seconds).
    pub fn copy_into_opp_shaped_table(store: &Store, csv: &Path) -> Result<(u64, f64)> {
        store.conn.execute_batch(include_str!("../../../sql/bench/opp_raw_table.sql"))?;
        let t = Instant::now();
        let sql = format!("COPY opp_raw FROM {} (HEADER, NULLSTR 'NA')", path_literal(csv)?);
        let n = store.conn.execute(&sql, [])? as u64;
        Ok((n, t.elapsed().as_secs_f64()))
    }

    /// `COPY stops (…) FROM 'file'`: DuckDB's COPY of the file into the stops table itself (the three
    /// bookkeeping columns take constant defaults, set untimed). Returns (rows, seconds).
    pub fn copy_into_stops(store: &Store, csv: &Path) -> Result<(u64, f64)> {
        store.conn.execute_batch(include_str!("../../../sql/bench/copy_stops_defaults.sql"))?;
        let t = Instant::now();
        let sql = include_str!("../../../sql/bench/copy_stops.sql").replace("$FILE", &path_literal(csv)?);
        let n = store.conn.execute(&sql, [])? as u64;
        Ok((n, t.elapsed().as_secs_f64()))
    }

    /// DuckDB storing rows that are already mapped: the stops in the database are copied to an in-memory
    /// table, and the stops table emptied and checkpointed (untimed); then `INSERT INTO stops SELECT * FROM`
    /// the copy is timed. That is what storing an import's output costs DuckDB by itself, with no reading,
    /// parsing or mapping: the floor under any importer that writes this table. Returns (rows, wall seconds,
    /// CPU seconds of the process's threads during the insert).
    pub fn reinsert_stops(store: &Store) -> Result<(u64, f64, f64)> {
        store.conn.execute_batch("CREATE TEMP TABLE mapped AS SELECT * FROM stops; DELETE FROM stops; CHECKPOINT;")?;
        let (t, cpu) = (Instant::now(), process_cpu_seconds());
        let n = store.conn.execute("INSERT INTO stops SELECT * FROM mapped", [])? as u64;
        Ok((n, t.elapsed().as_secs_f64(), process_cpu_seconds() - cpu))
    }

    /// User + system CPU time of this process so far, from `/proc/self/stat` (Linux, 100 ticks a second);
    /// 0 where it cannot be read.
    fn process_cpu_seconds() -> f64 {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        // Fields after the command name (which may hold spaces, inside parentheses): utime and stime are
        // the 12th and 13th.
        let rest = stat.rsplit_once(')').map(|x| x.1).unwrap_or_default();
        let f: Vec<f64> = rest.split_whitespace().skip(11).take(2).filter_map(|v| v.parse().ok()).collect();
        f.iter().sum::<f64>() / 100.0
    }

    /// `INSERT INTO stops SELECT … FROM read_csv(file)`: DuckDB's CSV reader loading the same file into the
    /// same table (with the column renames COPY cannot express). Returns (rows, seconds).
    pub fn insert_into_stops(store: &Store, csv: &Path) -> Result<(u64, f64)> {
        let t = Instant::now();
        let sql = include_str!("../../../sql/bench/insert_stops_from_csv.sql").replace("$FILE", &path_literal(csv)?);
        let n = store.conn.execute(&sql, [])? as u64;
        Ok((n, t.elapsed().as_secs_f64()))
    }
}
