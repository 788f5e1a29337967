//! Reads for the metrics jobs (records and the daily cube, as polars-ready Arrow columns) and the
//! transaction that writes a metric run.

use crate::polars_bridge::ArrowColumns;
use crate::{Result, Store, StoreError, queries};
use chrono::{NaiveDate, NaiveDateTime};
use duckdb::arrow::array::{ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, StringArray};
use duckdb::arrow::datatypes::{DataType, Field, Schema};
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::{OptionalExt, params};
use serde::Serialize;
use std::sync::Arc;

/// The record frames the metrics jobs read (closed set: each is a named query).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    Stops,
    Detainers,
    CrimeReports,
    Complaints,
    Allegations,
}

impl Frame {
    /// The frame's SQL (DuckDB's; the cube job in `contrib/spark` runs its body, without the last WHERE, on
    /// Spark, so it keeps to SQL both understand).
    pub fn sql(self) -> &'static str {
        match self {
            Self::Stops => queries::FRAME_STOPS,
            Self::Detainers => queries::FRAME_DETAINERS,
            Self::CrimeReports => queries::FRAME_CRIME_REPORTS,
            Self::Complaints => queries::FRAME_COMPLAINTS,
            Self::Allegations => queries::FRAME_ALLEGATIONS,
        }
    }
}

/// What a batch covers: its dataset, the jurisdiction it names (if one), and its records' date range.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchExtent {
    pub id: i64,
    pub dataset: String,
    pub jurisdiction_id: Option<String>,
    pub date_min: Option<NaiveDate>,
    pub date_max: Option<NaiveDate>,
}

fn extent_from_row(r: &duckdb::Row<'_>) -> duckdb::Result<BatchExtent> {
    Ok(BatchExtent {
        id: r.get(0)?,
        dataset: r.get(1)?,
        jurisdiction_id: r.get(2)?,
        date_min: r.get(3)?,
        date_max: r.get(4)?,
    })
}

/// One population figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PopulationFigure {
    pub group: String,
    pub year: i64,
    pub population: f64,
    pub source: Option<String>,
}

/// One row of the daily cube.
#[derive(Debug, Clone, PartialEq)]
pub struct CubeRow {
    pub day: NaiveDate,
    pub dim: String,
    pub grp: String,
    pub measure: String,
    pub value: f64,
}

/// One indicator point, as stored (read back from a published point: what that leaves out is empty).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, Default)]
#[serde(default)]
pub struct PointRow {
    pub indicator: String,
    pub jurisdiction_id: String,
    pub grain: String,
    pub period_start: NaiveDate,
    pub group: String,
    pub numerator: Option<f64>,
    pub denominator: Option<f64>,
    pub value: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub ci_method: Option<String>,
    pub reference_group: Option<String>,
    pub reference_numerator: Option<f64>,
    pub reference_denominator: Option<f64>,
    pub suppressed: bool,
    pub suppression_reason: Option<String>,
    pub low_reliability: bool,
    pub note: Option<String>,
    pub run_id: i64,
}

/// A data-quality finding.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct QualityNote {
    pub dataset: String,
    pub jurisdiction_id: String,
    pub code: String,
    pub message: String,
    pub value: Option<f64>,
}

/// A row of `metric_runs`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct MetricRun {
    pub id: i64,
    pub started_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    pub status: String,
    pub parameters: serde_json::Value,
    pub code_version: String,
    pub batches: Vec<i64>,
    pub points_written: i64,
    pub points_deleted: i64,
    pub message: Option<String>,
}

impl Store {
    /// Records of one jurisdiction with dates in [from, to] (`to` inclusive), as Arrow columns for polars.
    pub fn frame(&self, frame: Frame, jurisdiction: &str, from: NaiveDate, to: NaiveDate) -> Result<ArrowColumns> {
        let mut st = self.conn.prepare_cached(frame.sql())?;
        let mut out = ArrowColumns::default();
        // Streamed: DuckDB does not materialise the whole result before handing it over.
        for rb in st.stream_arrow(params![jurisdiction, from, to])? {
            out.push(&rb?)?;
        }
        Ok(out)
    }

    /// The daily cube of a dataset and jurisdiction, days in [from, to].
    pub fn cube(&self, dataset: &str, jurisdiction: &str, from: NaiveDate, to: NaiveDate) -> Result<ArrowColumns> {
        let mut st = self.conn.prepare_cached(queries::CUBE)?;
        let mut out = ArrowColumns::default();
        for rb in st.stream_arrow(params![dataset, jurisdiction, from, to])? {
            out.push(&rb?)?;
        }
        Ok(out)
    }

    /// Monthly totals of one measure of a cube (everyone), in month order.
    pub fn cube_monthly(&self, dataset: &str, jurisdiction: &str, measure: &str) -> Result<Vec<(NaiveDate, f64)>> {
        let mut st = self.conn.prepare_cached(queries::CUBE_MONTHLY)?;
        let rows = st.query_map(params![dataset, jurisdiction, measure], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<duckdb::Result<_>>()?)
    }

    /// The all-time sums of a cube (first_day, last_day, dim, grp, measure, value).
    pub fn cube_all_time(&self, dataset: &str, jurisdiction: &str) -> Result<ArrowColumns> {
        let mut st = self.conn.prepare_cached(queries::CUBE_ALL_TIME)?;
        let mut out = ArrowColumns::default();
        for rb in st.stream_arrow(params![dataset, jurisdiction])? {
            out.push(&rb?)?;
        }
        Ok(out)
    }

    /// Jurisdictions that have records of a dataset (closed set of tables).
    pub fn jurisdictions_with_records(&self, table: oversight_core::Table) -> Result<Vec<String>> {
        let sql = format!("SELECT DISTINCT jurisdiction_id FROM {} ORDER BY 1", table.name());
        let mut st = self.conn.prepare(&sql)?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<duckdb::Result<_>>()?)
    }

    /// Jurisdictions that have rows in a cube.
    pub fn cube_jurisdictions(&self, dataset: &str) -> Result<Vec<String>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT DISTINCT jurisdiction_id FROM metric_cube WHERE dataset = ? ORDER BY 1")?;
        let rows = st.query_map(params![dataset], |r| r.get(0))?;
        Ok(rows.collect::<duckdb::Result<_>>()?)
    }

    /// Jurisdictions whose records came from any of these batches (closed set of tables).
    pub fn jurisdictions_of_batches(&self, table: oversight_core::Table, batches: &[i64]) -> Result<Vec<String>> {
        if batches.is_empty() {
            return Ok(Vec::new());
        }
        let list = batches.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(",");
        let sql =
            format!("SELECT DISTINCT jurisdiction_id FROM {} WHERE batch_id IN ({list}) ORDER BY 1", table.name());
        let mut st = self.conn.prepare(&sql)?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<duckdb::Result<_>>()?)
    }

    /// First and last record date of a jurisdiction in a table (its date column).
    pub fn date_span(
        &self,
        table: oversight_core::Table,
        jurisdiction: &str,
    ) -> Result<Option<(NaiveDate, NaiveDate)>> {
        let Some(col) = table.date_column() else { return Ok(None) };
        let sql = format!("SELECT min({col}), max({col}) FROM {} WHERE jurisdiction_id = ?", table.name());
        let r: (Option<NaiveDate>, Option<NaiveDate>) =
            self.conn.query_row(&sql, params![jurisdiction], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(r.0.zip(r.1))
    }

    /// Committed import batches with their dataset and date range.
    pub fn committed_batches(&self) -> Result<Vec<BatchExtent>> {
        let mut st = self.conn.prepare_cached(queries::COMMITTED_BATCHES)?;
        let rows = st.query_map([], extent_from_row)?;
        Ok(rows.collect::<duckdb::Result<_>>()?)
    }

    /// A batch's dataset, jurisdiction and date range, whatever its status (for superseded batches).
    pub fn batch_extent(&self, id: i64) -> Result<Option<BatchExtent>> {
        let mut st = self.conn.prepare_cached(queries::BATCH_EXTENT)?;
        Ok(st.query_row(params![id], extent_from_row).optional()?)
    }

    /// Rows read and rejected by the committed batches of a dataset that name this jurisdiction or hold its
    /// records.
    pub fn batch_rows(&self, dataset: oversight_core::Dataset, jurisdiction: &str) -> Result<(i64, i64)> {
        let mut st = self.conn.prepare_cached(queries::BATCH_ROWS)?;
        let rows: Vec<(i64, bool, i64, i64)> = st
            .query_map(params![dataset.as_str(), jurisdiction], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<duckdb::Result<_>>()?;
        let holds =
            format!("SELECT 1 FROM {} WHERE batch_id = ? AND jurisdiction_id = ? LIMIT 1", dataset.main_table().name());
        let mut holds = self.conn.prepare_cached(&holds)?;
        let (mut read, mut rejected) = (0, 0);
        for (id, names_it, r, x) in rows {
            if names_it || holds.exists(params![id, jurisdiction])? {
                read += r;
                rejected += x;
            }
        }
        Ok((read, rejected))
    }

    /// Every population figure of a jurisdiction.
    pub fn populations_of(&self, jurisdiction: &str) -> Result<Vec<PopulationFigure>> {
        let mut st = self.conn.prepare_cached(queries::POPULATIONS_OF)?;
        let rows = st.query_map(params![jurisdiction], |r| {
            Ok(PopulationFigure { group: r.get(0)?, year: r.get(1)?, population: r.get(2)?, source: r.get(3)? })
        })?;
        Ok(rows.collect::<duckdb::Result<_>>()?)
    }

    /// The last finished metric run.
    pub fn last_metric_run(&self) -> Result<Option<MetricRun>> {
        let mut st = self.conn.prepare_cached(queries::LAST_METRIC_RUN)?;
        Ok(st.query_row([], metric_run_from_row).optional()?)
    }

    pub fn metric_runs(&self, limit: usize) -> Result<Vec<MetricRun>> {
        let mut st = self.conn.prepare_cached(queries::LIST_METRIC_RUNS)?;
        let rows = st.query_map(params![limit as i64], metric_run_from_row)?;
        Ok(rows.collect::<duckdb::Result<_>>()?)
    }

    /// Points of one series: indicator, jurisdiction, grain, an optional group, periods in [from, to].
    pub fn points(
        &self,
        indicator: &str,
        jurisdiction: &str,
        grain: &str,
        group: Option<&str>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<PointRow>> {
        let mut st = self.conn.prepare_cached(queries::POINTS)?;
        let rows = st.query_map(params![indicator, jurisdiction, grain, group, from, to], point_from_row)?;
        Ok(rows.collect::<duckdb::Result<_>>()?)
    }

    /// One period of an indicator in every jurisdiction that has it (one grain and group).
    pub fn points_across(
        &self,
        indicator: &str,
        grain: &str,
        period_start: NaiveDate,
        group: &str,
    ) -> Result<Vec<PointRow>> {
        let mut st = self.conn.prepare_cached(queries::POINTS_ACROSS)?;
        let rows = st.query_map(params![indicator, grain, period_start, group], point_from_row)?;
        Ok(rows.collect::<duckdb::Result<_>>()?)
    }

    /// The latest period start an indicator has points for at `grain` and `group`, in any jurisdiction.
    pub fn latest_period(&self, indicator: &str, grain: &str, group: &str) -> Result<Option<NaiveDate>> {
        let mut st = self.conn.prepare_cached(queries::LATEST_PERIOD)?;
        Ok(st.query_row(params![indicator, grain, group], |r| r.get(0))?)
    }

    /// One group's points of every indicator for a jurisdiction and grain (one scan), by indicator and period.
    pub fn group_points(&self, jurisdiction: &str, grain: &str, group: &str) -> Result<Vec<PointRow>> {
        let mut st = self.conn.prepare_cached(queries::GROUP_POINTS)?;
        let rows = st.query_map(params![jurisdiction, grain, group], point_from_row)?;
        Ok(rows.collect::<duckdb::Result<_>>()?)
    }

    /// Every point of a jurisdiction (all indicators), for export and tests.
    pub fn all_points(&self, jurisdiction: Option<&str>) -> Result<Vec<PointRow>> {
        let mut st = self.conn.prepare_cached(queries::ALL_POINTS)?;
        let rows = st.query_map(params![jurisdiction], point_from_row)?;
        Ok(rows.collect::<duckdb::Result<_>>()?)
    }

    pub fn quality_notes(&self, jurisdiction: Option<&str>) -> Result<Vec<QualityNote>> {
        let mut st = self.conn.prepare_cached(queries::QUALITY_NOTES)?;
        let rows = st.query_map(params![jurisdiction], |r| {
            Ok(QualityNote {
                dataset: r.get(0)?,
                jurisdiction_id: r.get(1)?,
                code: r.get(2)?,
                message: r.get(3)?,
                value: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<duckdb::Result<_>>()?)
    }

    /// Opens the transaction of a metric run.
    pub fn begin_metric_run(&self, parameters: &serde_json::Value, code_version: &str) -> Result<MetricTxn<'_>> {
        let id: i64 = self.conn.query_row("SELECT nextval('metric_run_ids')", [], |r| r.get(0))?;
        self.conn.execute_batch("BEGIN TRANSACTION")?;
        Ok(MetricTxn {
            store: self,
            id,
            started_at: chrono::Utc::now().naive_utc(),
            parameters: parameters.clone(),
            code_version: code_version.to_owned(),
            deleted: 0,
            written: 0,
            open: true,
        })
    }
}

fn metric_run_from_row(r: &duckdb::Row<'_>) -> duckdb::Result<MetricRun> {
    let params: String = r.get(4)?;
    let batches: String = r.get(6)?;
    Ok(MetricRun {
        id: r.get(0)?,
        started_at: r.get(1)?,
        finished_at: r.get(2)?,
        status: r.get(3)?,
        parameters: serde_json::from_str(&params).unwrap_or(serde_json::Value::Null),
        code_version: r.get(5)?,
        batches: serde_json::from_str(&batches).unwrap_or_default(),
        points_written: r.get(7)?,
        points_deleted: r.get(8)?,
        message: r.get(9)?,
    })
}

pub(crate) fn point_from_row(r: &duckdb::Row<'_>) -> duckdb::Result<PointRow> {
    Ok(PointRow {
        indicator: r.get(0)?,
        jurisdiction_id: r.get(1)?,
        grain: r.get(2)?,
        period_start: r.get(3)?,
        group: r.get(4)?,
        numerator: r.get(5)?,
        denominator: r.get(6)?,
        value: r.get(7)?,
        ci_low: r.get(8)?,
        ci_high: r.get(9)?,
        ci_method: r.get(10)?,
        reference_group: r.get(11)?,
        reference_numerator: r.get(12)?,
        reference_denominator: r.get(13)?,
        suppressed: r.get(14)?,
        suppression_reason: r.get(15)?,
        low_reliability: r.get(16)?,
        note: r.get(17)?,
        run_id: r.get(18)?,
    })
}

/// An open metric run: deletes and writes happen in one transaction, committed by [`MetricTxn::finish`].
pub struct MetricTxn<'s> {
    store: &'s Store,
    id: i64,
    started_at: NaiveDateTime,
    parameters: serde_json::Value,
    code_version: String,
    deleted: i64,
    written: i64,
    open: bool,
}

impl std::fmt::Debug for MetricTxn<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricTxn").field("id", &self.id).finish()
    }
}

impl MetricTxn<'_> {
    pub(crate) fn store(&self) -> &Store {
        self.store
    }

    pub fn id(&self) -> i64 {
        self.id
    }

    /// Removes cube rows of a dataset and jurisdiction with days in [from, to].
    pub fn delete_cube(&mut self, dataset: &str, jurisdiction: &str, from: NaiveDate, to: NaiveDate) -> Result<()> {
        self.store.conn.execute(queries::DELETE_CUBE, params![dataset, jurisdiction, from, to])?;
        Ok(())
    }

    pub fn write_cube(&mut self, dataset: &str, jurisdiction: &str, rows: &[CubeRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let n = rows.len();
        let schema = Schema::new(vec![
            Field::new("dataset", DataType::Utf8, false),
            Field::new("jurisdiction_id", DataType::Utf8, false),
            Field::new("day", DataType::Date32, false),
            Field::new("dim", DataType::Utf8, false),
            Field::new("grp", DataType::Utf8, false),
            Field::new("measure", DataType::Utf8, false),
            Field::new("value", DataType::Float64, false),
        ]);
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![dataset; n])),
            Arc::new(StringArray::from(vec![jurisdiction; n])),
            Arc::new(Date32Array::from(
                rows.iter().map(|r| oversight_core::period::epoch_days(r.day)).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(rows.iter().map(|r| r.dim.as_str()).collect::<Vec<_>>())),
            Arc::new(StringArray::from(rows.iter().map(|r| r.grp.as_str()).collect::<Vec<_>>())),
            Arc::new(StringArray::from(rows.iter().map(|r| r.measure.as_str()).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(rows.iter().map(|r| r.value).collect::<Vec<_>>())),
        ];
        let rb = RecordBatch::try_new(Arc::new(schema), cols).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let mut app = self.store.conn.appender("metric_cube")?;
        app.append_record_batch(rb)?;
        app.flush()?;
        Ok(())
    }

    /// Removes the points of these indicators for a jurisdiction whose group matches `group_like` (SQL LIKE):
    /// every all-time point, and the other grains' points whose period starts in [from, to].
    pub fn delete_points(
        &mut self,
        indicators: &[&str],
        jurisdiction: &str,
        group_like: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<()> {
        let mut st = self.store.conn.prepare_cached(queries::DELETE_POINTS)?;
        for ind in indicators {
            self.deleted += st.execute(params![ind, jurisdiction, from, to, group_like])? as i64;
        }
        Ok(())
    }

    pub fn write_points(&mut self, points: &[PointRow]) -> Result<()> {
        if points.is_empty() {
            return Ok(());
        }
        let s = |f: fn(&PointRow) -> Option<&str>| -> ArrayRef {
            Arc::new(StringArray::from(points.iter().map(f).collect::<Vec<_>>()))
        };
        let fl = |f: fn(&PointRow) -> Option<f64>| -> ArrayRef {
            Arc::new(Float64Array::from(points.iter().map(f).collect::<Vec<_>>()))
        };
        let cols: Vec<ArrayRef> = vec![
            s(|p| Some(&p.indicator)),
            s(|p| Some(&p.jurisdiction_id)),
            s(|p| Some(&p.grain)),
            Arc::new(Date32Array::from(
                points.iter().map(|p| oversight_core::period::epoch_days(p.period_start)).collect::<Vec<_>>(),
            )),
            s(|p| Some(&p.group)),
            fl(|p| p.numerator),
            fl(|p| p.denominator),
            fl(|p| p.value),
            fl(|p| p.ci_low),
            fl(|p| p.ci_high),
            s(|p| p.ci_method.as_deref()),
            s(|p| p.reference_group.as_deref()),
            fl(|p| p.reference_numerator),
            fl(|p| p.reference_denominator),
            Arc::new(BooleanArray::from(points.iter().map(|p| p.suppressed).collect::<Vec<_>>())),
            s(|p| p.suppression_reason.as_deref()),
            Arc::new(BooleanArray::from(points.iter().map(|p| p.low_reliability).collect::<Vec<_>>())),
            s(|p| p.note.as_deref()),
            Arc::new(Int64Array::from(vec![self.id; points.len()])),
        ];
        let names = [
            "indicator",
            "jurisdiction_id",
            "grain",
            "period_start",
            "group",
            "numerator",
            "denominator",
            "value",
            "ci_low",
            "ci_high",
            "ci_method",
            "reference_group",
            "reference_numerator",
            "reference_denominator",
            "suppressed",
            "suppression_reason",
            "low_reliability",
            "note",
            "run_id",
        ];
        let fields: Vec<Field> =
            names.iter().zip(&cols).map(|(n, c)| Field::new(*n, c.data_type().clone(), true)).collect();
        let rb = RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let mut app = self.store.conn.appender("metric_points")?;
        app.append_record_batch(rb)?;
        app.flush()?;
        self.written += points.len() as i64;
        Ok(())
    }

    /// Replaces the quality notes of a dataset and jurisdiction.
    pub fn replace_quality_notes(&mut self, dataset: &str, jurisdiction: &str, notes: &[QualityNote]) -> Result<()> {
        self.store.conn.execute(
            "DELETE FROM quality_notes WHERE dataset = ? AND jurisdiction_id = ?",
            params![dataset, jurisdiction],
        )?;
        let mut st = self.store.conn.prepare_cached(queries::INSERT_QUALITY_NOTE)?;
        for n in notes {
            st.execute(params![n.dataset, n.jurisdiction_id, n.code, n.message, n.value, self.id])?;
        }
        Ok(())
    }

    pub fn points_written(&self) -> i64 {
        self.written
    }

    /// Records the run and commits everything.
    pub fn finish(mut self, batches: &[i64], message: Option<&str>) -> Result<MetricRun> {
        let res = (|| -> Result<()> {
            let mut st = self.store.conn.prepare_cached(queries::INSERT_METRIC_RUN)?;
            st.execute(params![
                self.id,
                self.started_at,
                chrono::Utc::now().naive_utc(),
                "done",
                self.parameters.to_string(),
                self.code_version,
                serde_json::to_string(batches).unwrap_or_else(|_| "[]".into()),
                self.written,
                self.deleted,
                message
            ])?;
            self.store.conn.execute_batch("COMMIT")?;
            Ok(())
        })();
        if let Err(e) = res {
            self.rollback_now();
            return Err(e);
        }
        self.open = false;
        self.store
            .last_metric_run()?
            .ok_or_else(|| StoreError::NotFound { what: "metric run", id: self.id.to_string() })
    }

    fn rollback_now(&mut self) {
        if self.open {
            if let Err(e) = self.store.conn.execute_batch("ROLLBACK") {
                tracing::warn!(error = %e, "rollback failed");
            }
            self.open = false;
        }
    }
}

impl Drop for MetricTxn<'_> {
    fn drop(&mut self) {
        self.rollback_now();
    }
}
