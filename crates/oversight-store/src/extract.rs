//! Record-level extracts: the public columns of a dataset's records, filtered and ordered, streamed as CSV or
//! JSON Lines in chunks (memory stays flat whatever the row count), or written to a Parquet file. Column
//! names come from the public allow-list (`oversight_core::public`), never from a request; every value a
//! request gives (jurisdiction, dates, filter values) is a bound parameter.

use crate::{Result, Store, StoreError};
use chrono::{Months, NaiveDate};
use duckdb::arrow::array::{Array, BooleanArray, StringArray};
use duckdb::arrow::datatypes::DataType;
use duckdb::arrow::record_batch::RecordBatch;
use duckdb::arrow::util::display::{ArrayFormatter, FormatOptions};
use oversight_core::filter::{Dimension, Op, RowFilter, SortKey};
pub use oversight_core::public::KEYED_ID_COLUMNS;
use oversight_core::public::{Source, public_columns};

/// What an extract reads.
#[derive(Debug, Clone)]
pub struct ExtractQuery<'a> {
    pub source: Source,
    /// Public columns, in the order wanted.
    pub columns: &'a [&'a str],
    pub jurisdiction: Option<&'a str>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Row filters, all of which a row meets.
    pub filters: &'a [RowFilter],
    /// The order asked for; the date, then the batch and source line, follow (a stable order).
    pub sort: &'a [SortKey],
}

/// A dimension as SQL over the records (`date` the records' date expression).
fn dimension_sql(d: Dimension, date: &str) -> String {
    match d {
        Dimension::Column(c) => format!("\"{c}\""),
        Dimension::Year => format!("strftime({date}, '%Y')"),
        Dimension::Quarter => format!("strftime({date}, '%Y') || '-Q' || quarter({date})"),
        Dimension::Month => format!("strftime({date}, '%Y-%m')"),
    }
}

/// `FROM … WHERE …` over an extract's records, and its parameters.
type Records = (String, Vec<Option<String>>);

/// The most records a window of the default order sorts at once (see `Store::date_windows`).
const WINDOW_ROWS: i64 = 500_000;

/// A part of an extract in the default order: the records dated in [from, to), or those without a date.
#[derive(Debug, Clone, Copy)]
enum Window {
    /// From the first date to the second (none: no end).
    Dates(NaiveDate, Option<NaiveDate>),
    NoDate,
}

/// One cell of a cross-tabulation, before disclosure control.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossCell {
    pub row: String,
    pub column: String,
    pub count: i64,
    /// Records with the measure recorded (None: no measure asked).
    pub known: Option<i64>,
    /// Records with the measure true.
    pub yes: Option<i64>,
}

/// How rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowFormat {
    /// CSV with a header line: the delimiter, and a UTF-8 byte-order mark first (what Excel needs to read
    /// UTF-8). A text cell a spreadsheet would take as a formula is neutralised (see [`neutralise`]).
    Csv { delimiter: u8, bom: bool },
    /// One JSON object per line: numbers and booleans as JSON numbers and booleans, empty cells as null.
    JsonLines,
}

/// The records of a source as SQL: its table, or for allegations the query that joins their complaint.
fn source_sql(source: Source) -> String {
    match source {
        Source::Allegations => format!("({}) AS allegations", crate::queries::EXTRACT_ALLEGATIONS.trim()),
        s => s.table().name().to_owned(),
    }
}

/// The characters that make a spreadsheet read a cell as a formula when they come first (OWASP, "CSV
/// injection").
const FORMULA_START: &[u8] = b"=+-@\t\r";

/// A text cell as a spreadsheet will show it and not run it: one that starts like a formula gets a leading
/// apostrophe (the OWASP advice); any other is unchanged.
pub fn neutralise(cell: &mut String) {
    if starts_like_a_formula(cell) {
        cell.insert(0, '\'');
    }
}

fn starts_like_a_formula(cell: &str) -> bool {
    matches!(cell.as_bytes().first(), Some(b) if FORMULA_START.contains(b))
}

impl Store {
    /// `FROM (public columns of the records in the jurisdiction and dates) AS records WHERE filters`, and its
    /// parameters: $1 the jurisdiction, $2 and $3 the dates, then each filter value.
    fn records_sql(&self, q: &ExtractQuery<'_>) -> Result<Records> {
        let table = source_sql(q.source);
        let date = q.source.date_column();
        let inner = self.extract_columns(public_columns(q.source))?;
        let mut params =
            vec![q.jurisdiction.map(str::to_owned), q.from.map(|d| d.to_string()), q.to.map(|d| d.to_string())];
        let conditions: Vec<String> = q.filters.iter().map(|f| condition(f, &mut params)).collect();
        let sql = format!(
            "FROM (SELECT {} FROM {table} WHERE ($1::VARCHAR IS NULL OR jurisdiction_id = $1) \
             AND ($2::DATE IS NULL OR {date} >= $2::DATE) AND ($3::DATE IS NULL OR {date} <= $3::DATE)) AS records \
             WHERE {}",
            inner.join(", "),
            if conditions.is_empty() { "true".to_owned() } else { conditions.join(" AND ") },
        );
        Ok((sql, params))
    }

    /// `SELECT columns FROM records WHERE filters [AND the window] ORDER BY` the sort asked for, then the
    /// date, batch and line.
    fn extract_sql(q: &ExtractQuery<'_>, records: &Records, window: Option<Window>) -> (String, Vec<Option<String>>) {
        let (from, mut params) = records.clone();
        let date = q.source.date_column();
        let within = match window {
            None => String::new(),
            Some(Window::Dates(a, b)) => {
                params.extend([Some(a.to_string()), b.map(|b| b.to_string())]);
                let n = params.len();
                format!(" AND {date} >= ${}::DATE AND (${n}::DATE IS NULL OR {date} < ${n}::DATE)", n - 1)
            }
            Some(Window::NoDate) => format!(" AND {date} IS NULL"),
        };
        let outer: Vec<String> = q.columns.iter().map(|c| format!("\"{c}\"")).collect();
        let mut order: Vec<String> = q
            .sort
            .iter()
            .map(|k| format!("\"{}\" {} NULLS LAST", k.column, if k.descending { "DESC" } else { "ASC" }))
            .collect();
        order.extend([format!("{date} NULLS LAST"), "batch_id".into(), "source_row".into()]);
        (format!("SELECT {} {from}{within} ORDER BY {}", outer.join(", "), order.join(", ")), params)
    }

    /// The default order (date, batch, line) a window of whole months at a time, each of at most about
    /// [`WINDOW_ROWS`] records (or one month): each window is sorted on its own, so memory holds a window,
    /// not the extract, and rows stream from the first window on. Then the records without a date.
    fn date_windows(&self, q: &ExtractQuery<'_>, (from, params): &Records) -> Result<Vec<Window>> {
        let params = params.clone();
        let date = q.source.date_column();
        let sql = format!(
            "SELECT CAST(date_trunc('month', {date}) AS DATE) AS m, count(*) {from} GROUP BY m ORDER BY m NULLS LAST"
        );
        let mut st = self.conn.prepare(&sql)?;
        let months = st
            .query_map(duckdb::params_from_iter(params), |r| {
                Ok((r.get::<_, Option<NaiveDate>>(0)?, r.get::<_, i64>(1)?))
            })?
            .collect::<duckdb::Result<Vec<_>>>()?;
        let mut out = Vec::new();
        let mut open: Option<(NaiveDate, i64)> = None;
        for (month, n) in months {
            let Some(month) = month else {
                out.push(Window::NoDate);
                continue;
            };
            let next = month.checked_add_months(Months::new(1));
            open = match open {
                Some((start, rows)) if rows + n <= WINDOW_ROWS => Some((start, rows + n)),
                Some((start, _)) => {
                    out.push(Window::Dates(start, Some(month)));
                    Some((month, n))
                }
                None => Some((month, n)),
            };
            if let Some((start, _)) = open.filter(|(_, rows)| *rows >= WINDOW_ROWS) {
                out.push(Window::Dates(start, next));
                open = None;
            }
        }
        if let Some((start, _)) = open {
            out.insert(out.len() - usize::from(matches!(out.last(), Some(Window::NoDate))), Window::Dates(start, None));
        }
        Ok(out)
    }

    /// Counts of the records by one or two dimensions (public columns, or periods of the records' date), and
    /// for a boolean `measure` how many have it recorded and how many have it true. A missing value is the
    /// group `(missing)`.
    pub fn crosstab(
        &self,
        q: &ExtractQuery<'_>,
        rows: Dimension,
        columns: Option<Dimension>,
        measure: Option<&str>,
    ) -> Result<Vec<CrossCell>> {
        let (from, params) = self.records_sql(q)?;
        let date = q.source.date_column();
        let r = dimension_sql(rows, date);
        let c = columns.map_or("'all'".to_owned(), |d| dimension_sql(d, date));
        let (known, yes) = match measure {
            Some(m) => (format!("count(\"{m}\")"), format!("count(*) FILTER (WHERE \"{m}\")")),
            None => ("NULL::BIGINT".to_owned(), "NULL::BIGINT".to_owned()),
        };
        let sql = format!(
            "SELECT coalesce(CAST({r} AS VARCHAR), '(missing)') AS r, coalesce(CAST({c} AS VARCHAR), '(missing)') AS c, \
             count(*), {known}, {yes} {from} GROUP BY ALL ORDER BY r, c"
        );
        let mut st = self.conn.prepare(&sql)?;
        let cells = st
            .query_map(duckdb::params_from_iter(params), |row| {
                Ok(CrossCell {
                    row: row.get(0)?,
                    column: row.get(1)?,
                    count: row.get(2)?,
                    known: row.get(3)?,
                    yes: row.get(4)?,
                })
            })?
            .collect::<duckdb::Result<Vec<_>>>()?;
        Ok(cells)
    }

    /// Streams an extract in chunks of about a DuckDB vector batch each, handed to `sink` as they are made.
    /// `sink` returning false (the client went away) stops the query. Returns the rows sent.
    pub fn stream_extract(
        &self,
        q: &ExtractQuery<'_>,
        format: RowFormat,
        sink: &mut dyn FnMut(Vec<u8>) -> bool,
    ) -> Result<u64> {
        if let RowFormat::Csv { delimiter, bom } = format {
            let mut header = if bom { "\u{feff}".as_bytes().to_vec() } else { Vec::new() };
            let mut w = csv::WriterBuilder::new().delimiter(delimiter).from_writer(&mut header);
            w.write_record(q.columns).map_err(|e| StoreError::Invalid(e.to_string()))?;
            w.flush()?;
            drop(w);
            if !sink(header) {
                return Ok(0);
            }
        }
        // An order asked for sorts the whole selection (within DuckDB's memory limit, spilling past it); the
        // default order goes a window of months at a time. The records' SQL is made once.
        let records = self.records_sql(q)?;
        let windows = if q.sort.is_empty() {
            self.date_windows(q, &records)?.into_iter().map(Some).collect()
        } else {
            vec![None]
        };
        let mut sent = 0u64;
        for window in windows {
            let (sql, params) = Self::extract_sql(q, &records, window);
            let mut st = self.conn.prepare(&sql)?;
            let batches = st.stream_arrow(duckdb::params_from_iter(params))?;
            for batch in batches {
                let batch = batch?;
                let buf = match format {
                    RowFormat::Csv { delimiter, .. } => csv_rows(&batch, delimiter)?,
                    RowFormat::JsonLines => json_rows(&batch, q.columns)?,
                };
                sent += batch.num_rows() as u64;
                if !sink(buf) {
                    return Ok(sent);
                }
            }
        }
        Ok(sent)
    }

    /// Writes an extract to a Parquet file (zstd), for streaming from disk.
    pub fn extract_parquet(&self, q: &ExtractQuery<'_>, out: &std::path::Path) -> Result<u64> {
        let (sql, params) = Self::extract_sql(q, &self.records_sql(q)?, None);
        // The values are bound; the file name cannot be (DuckDB takes no parameter after TO), and it is ours —
        // a file in a temporary directory the server made —, never a client's.
        let path = out.to_string_lossy().replace('\'', "''");
        let sql = format!("COPY ({sql}) TO '{path}' (FORMAT parquet, COMPRESSION zstd)");
        Ok(self.conn.execute(&sql, duckdb::params_from_iter(params))? as u64)
    }

    /// The select list of an extract: allow-listed column names quoted, keyed-hash columns as their
    /// expression (the database's own key, checked to be plain hex, is written into it).
    fn extract_columns(&self, columns: &[&str]) -> Result<Vec<String>> {
        let mut key = None;
        columns
            .iter()
            .map(|c| match KEYED_ID_COLUMNS.iter().find(|k| k.0 == *c) {
                None => Ok(format!("\"{c}\"")),
                Some((alias, source)) => {
                    if key.is_none() {
                        let k = self.hash_key()?;
                        if !k.chars().all(|ch| ch.is_ascii_alphanumeric()) {
                            return Err(StoreError::Invalid("the database's hash key is not plain text".into()));
                        }
                        key = Some(k);
                    }
                    let k = key.as_deref().unwrap_or_default();
                    Ok(format!("left(sha256('{k}:' || \"{source}\"), 16) AS \"{alias}\""))
                }
            })
            .collect()
    }
}

/// A filter as SQL over the public columns, its values appended to `params` (each cast to the column's
/// type: the filter checked that it parses as one).
fn condition(f: &RowFilter, params: &mut Vec<Option<String>>) -> String {
    let c = format!("\"{}\"", f.column);
    let mut bind = |v: &String| {
        params.push(Some(v.clone()));
        format!("CAST(${} AS {})", params.len(), f.sql_type)
    };
    let first = f.values.first().cloned().unwrap_or_default();
    match f.op {
        Op::Exact => format!("{c} = {}", bind(&first)),
        Op::Not => format!("{c} IS DISTINCT FROM {}", bind(&first)),
        Op::Gt => format!("{c} > {}", bind(&first)),
        Op::Gte => format!("{c} >= {}", bind(&first)),
        Op::Lt => format!("{c} < {}", bind(&first)),
        Op::Lte => format!("{c} <= {}", bind(&first)),
        Op::In | Op::NotIn => {
            let list: Vec<String> = f.values.iter().map(&mut bind).collect();
            if f.op == Op::In {
                format!("{c} IN ({})", list.join(", "))
            } else {
                format!("({c} IS NULL OR {c} NOT IN ({}))", list.join(", "))
            }
        }
        Op::IsNull => format!("{c} IS {}NULL", if first == "true" { "" } else { "NOT " }),
        Op::Contains => format!("contains(lower({c}), lower({}))", bind(&first)),
    }
}

fn formatters<'a>(batch: &'a RecordBatch, opts: &'a FormatOptions<'a>) -> Result<Vec<ArrayFormatter<'a>>> {
    batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), opts))
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| StoreError::Invalid(e.to_string()))
}

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// A batch's rows as CSV lines, text cells neutralised.
fn csv_rows(batch: &RecordBatch, delimiter: u8) -> Result<Vec<u8>> {
    let opts = FormatOptions::default().with_null("");
    let fmts = formatters(batch, &opts)?;
    // Text columns are read as they are (and neutralised); the rest printed by Arrow's formatters.
    let texts: Vec<Option<&StringArray>> =
        batch.columns().iter().map(|c| c.as_any().downcast_ref::<StringArray>()).collect();
    let other_text: Vec<bool> = batch.schema().fields().iter().map(|f| is_text(f.data_type())).collect();
    let flags: Vec<Option<&BooleanArray>> =
        batch.columns().iter().map(|c| c.as_any().downcast_ref::<BooleanArray>()).collect();
    let mut buf = Vec::with_capacity(batch.num_rows() * 16 * fmts.len());
    {
        let mut w = csv::WriterBuilder::new().delimiter(delimiter).from_writer(&mut buf);
        let invalid = |e: csv::Error| StoreError::Invalid(e.to_string());
        let mut cell = String::new();
        for row in 0..batch.num_rows() {
            for (((f, text), other_text), flag) in fmts.iter().zip(&texts).zip(&other_text).zip(&flags) {
                if let Some(b) = flag {
                    let v = if b.is_null(row) {
                        ""
                    } else if b.value(row) {
                        "true"
                    } else {
                        "false"
                    };
                    w.write_field(v).map_err(invalid)?;
                    continue;
                }
                match text {
                    Some(t) if t.is_null(row) => w.write_field("").map_err(invalid)?,
                    Some(t) => {
                        let v = t.value(row);
                        if starts_like_a_formula(v) {
                            cell.clear();
                            cell.push('\'');
                            cell.push_str(v);
                            w.write_field(&cell).map_err(invalid)?;
                        } else {
                            w.write_field(v).map_err(invalid)?;
                        }
                    }
                    None => {
                        cell.clear();
                        use std::fmt::Write as _;
                        let _ = write!(cell, "{}", f.value(row));
                        if *other_text {
                            neutralise(&mut cell);
                        }
                        w.write_field(&cell).map_err(invalid)?;
                    }
                }
            }
            w.write_record(None::<&[u8]>).map_err(invalid)?;
        }
        w.flush()?;
    }
    Ok(buf)
}

/// A batch's rows as JSON Lines.
fn json_rows(batch: &RecordBatch, columns: &[&str]) -> Result<Vec<u8>> {
    let opts = FormatOptions::default();
    let fmts = formatters(batch, &opts)?;
    let kinds: Vec<JsonKind> = batch.schema().fields().iter().map(|f| JsonKind::of(f.data_type())).collect();
    let keys: Vec<String> =
        columns.iter().map(|c| serde_json::to_string(c).unwrap_or_else(|_| format!("\"{c}\""))).collect();
    let mut buf = Vec::with_capacity(batch.num_rows() * 24 * fmts.len());
    let mut cell = String::new();
    for row in 0..batch.num_rows() {
        buf.push(b'{');
        for (i, (f, kind)) in fmts.iter().zip(&kinds).enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(keys[i].as_bytes());
            buf.push(b':');
            if batch.column(i).is_null(row) {
                buf.extend_from_slice(b"null");
                continue;
            }
            cell.clear();
            use std::fmt::Write as _;
            let _ = write!(cell, "{}", f.value(row));
            match kind {
                JsonKind::Literal => buf.extend_from_slice(cell.as_bytes()),
                JsonKind::Text => {
                    serde_json::to_writer(&mut buf, &cell).map_err(|e| StoreError::Invalid(e.to_string()))?
                }
            }
        }
        buf.extend_from_slice(b"}\n");
    }
    Ok(buf)
}

/// How a column's cells are written in JSON: as they print (numbers, booleans) or as strings.
enum JsonKind {
    Literal,
    Text,
}

impl JsonKind {
    fn of(t: &DataType) -> Self {
        if t.is_numeric() || matches!(t, DataType::Boolean) { Self::Literal } else { Self::Text }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_that_starts_like_a_formula_is_neutralised() {
        let n = |s: &str| {
            let mut c = s.to_owned();
            neutralise(&mut c);
            c
        };
        for f in ["=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(n(f), format!("'{f}"));
        }
        assert_eq!(n("black"), "black");
        assert_eq!(n(""), "");
    }
}
