//! `oversight export` and `oversight table`: the journalist's extracts, data dictionaries and safe tables
//! without a server, the same bytes as `GET /v1/extracts/{dataset}` and `GET /v1/tables/{dataset}`.

use crate::cli::{ExportArgs, RecordsArgs, TableArgs};
use crate::support::{open, refuse};
use anyhow::{Context, Result};
use oversight_core::filter::{self, FilterError, RowFilter};
use oversight_core::public::Source;
use oversight_metrics::tables::TableSpec;
use oversight_service::dictionary::{ExtractFile, datapackage, source_batches};
use oversight_store::{ExtractQuery, RowFormat};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

fn refused<T>(e: FilterError) -> Result<T> {
    refuse(format!("{}: {}", e.param, e.message))
}

fn dataset(name: &str) -> Result<Source> {
    match name.parse() {
        Ok(d) => Ok(d),
        Err(e) => refuse(format!("--dataset: {e}")),
    }
}

/// The `--where` filters, each `column=value` or `column__op=value` as the API takes them.
fn filters(ds: Source, given: &[String]) -> Result<Vec<RowFilter>> {
    let mut out: Vec<RowFilter> = Vec::new();
    for w in given {
        let Some((k, v)) = w.split_once('=') else {
            return refuse(format!("--where {w:?}: expected column=value or column__op=value"));
        };
        if out.iter().any(|f| f.param == k) {
            return refuse(format!("--where {k}: given more than once"));
        }
        out.push(filter::parse_filter(ds, k, v).or_else(refused)?);
    }
    Ok(out)
}

/// The records an export or a table reads, checked: the dataset and its row filters.
fn records(r: &RecordsArgs) -> Result<(Source, Vec<RowFilter>)> {
    let ds = dataset(&r.dataset)?;
    Ok((ds, filters(ds, &r.filters)?))
}

/// The reader's query over those records (no columns or order: a table's).
fn query<'a>(ds: Source, r: &'a RecordsArgs, filters: &'a [RowFilter]) -> ExtractQuery<'a> {
    ExtractQuery {
        source: ds,
        columns: &[],
        jurisdiction: r.jurisdiction.as_deref(),
        from: r.since,
        to: r.until,
        filters,
        sort: &[],
    }
}

/// How the filters are reported (the manifest's and the API's `filters`).
fn reported(r: &RecordsArgs, filters: &[RowFilter]) -> serde_json::Value {
    serde_json::json!({"jurisdiction": r.jurisdiction, "from": r.since, "to": r.until, "where": filters})
}

/// Writes an extract to `--to` and its data dictionary (datapackage.json) beside it.
pub(crate) fn export(db: &Path, a: &ExportArgs) -> Result<ExitCode> {
    let r = &a.records;
    let (ds, rows) = records(r)?;
    let columns = filter::parse_columns(ds, a.columns.as_deref()).or_else(refused)?;
    let sort = match &a.sort {
        Some(s) => filter::parse_sort(ds, s).or_else(refused)?,
        None => Vec::new(),
    };
    let delimiter = match a.delimiter.as_deref() {
        None | Some(",") => b',',
        Some(";") => b';',
        Some("tab") => b'\t',
        Some("|") => b'|',
        Some(d) => return refuse(format!("--delimiter {d:?}: one of , ; tab |")),
    };
    // None: Parquet, which DuckDB writes itself.
    let format = match (a.format.as_str(), a.bom || a.delimiter.is_some()) {
        ("csv", _) => Some(RowFormat::Csv { delimiter, bom: a.bom }),
        ("jsonl", false) => Some(RowFormat::JsonLines),
        ("parquet", false) => None,
        ("jsonl" | "parquet", true) => return refuse("--bom and --delimiter apply to CSV only"),
        (f, _) => return refuse(format!("--format {f:?}: one of csv, jsonl, parquet")),
    };
    let store = open(db)?;
    if let Some(j) = &r.jurisdiction
        && store.jurisdiction(j)?.is_none()
    {
        return refuse(format!("--jurisdiction: unknown jurisdiction {j:?}"));
    }
    let q = ExtractQuery { columns: &columns, sort: &sort, ..query(ds, r, &rows) };
    let n = if let Some(format) = format {
        let mut file = std::io::BufWriter::new(
            std::fs::File::create(&a.to).with_context(|| format!("creating {}", a.to.display()))?,
        );
        let mut failed = None;
        let n = store.stream_extract(&q, format, &mut |chunk| match file.write_all(&chunk) {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        })?;
        if let Some(e) = failed {
            return Err(e).with_context(|| format!("writing {}", a.to.display()));
        }
        file.flush()?;
        n
    } else {
        store.extract_parquet(&q, &a.to)?
    };
    let filename = a.to.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let batches = source_batches(&store, ds.dataset(), r.jurisdiction.as_deref(), r.since, r.until)?;
    let mut reported = reported(r, &rows);
    reported["sort"] = serde_json::json!(sort);
    let file = ExtractFile {
        source: ds,
        columns: &columns,
        filename: &filename,
        format: &a.format,
        delimiter,
        bom: a.bom,
        filters: reported,
        batches: &batches,
    };
    let dict = a.to.with_file_name("datapackage.json");
    std::fs::write(&dict, serde_json::to_string_pretty(&datapackage(&file))? + "\n")
        .with_context(|| format!("writing {}", dict.display()))?;
    println!("{n} records written to {}; their data dictionary to {}", a.to.display(), dict.display());
    Ok(ExitCode::SUCCESS)
}

/// Prints a safe table (JSON, CSV or HTML).
pub(crate) fn table(db: &Path, cfg: &oversight_metrics::MetricsConfig, a: &TableArgs) -> Result<ExitCode> {
    let (ds, where_) = records(&a.records)?;
    let (rows, columns, measure) =
        filter::parse_table(ds, ("--rows", &a.rows), ("--columns", a.columns.as_deref()), a.measure.as_deref())
            .or_else(refused)?;
    let store = open(db)?;
    let spec = TableSpec { records: query(ds, &a.records, &where_), rows, columns, measure };
    let t = oversight_service::tables::publish(&store, cfg, &spec, reported(&a.records, &where_))?;
    let out = match a.format.as_str() {
        "json" => serde_json::to_string_pretty(&t)? + "\n",
        "csv" => String::from_utf8(oversight_service::tables::csv_of(&t)?)?,
        "html" => oversight_service::tables::html_of(&t),
        f => return refuse(format!("--format {f:?}: one of json, csv, html")),
    };
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// `oversight lake export|import`.
pub(crate) fn lake(db: &Path, settings: &crate::config::Settings, cmd: crate::cli::LakeCmd) -> Result<ExitCode> {
    match cmd {
        crate::cli::LakeCmd::Export { to, full } => {
            let store = crate::support::open(db)?;
            let m = store.export_lake(&to, full)?;
            let rows: i64 = m.tables.values().sum();
            println!(
                "wrote the {} lake {}: {} files, {rows} rows in {} tables, batches {}; manifest {}",
                if full { "full" } else { "public" },
                to.display(),
                m.files.len(),
                m.tables.len(),
                m.batches.len(),
                to.join(oversight_store::LAKE_MANIFEST).display()
            );
            Ok(ExitCode::SUCCESS)
        }
        crate::cli::LakeCmd::Import { dir } => {
            let store = crate::support::open_writable(db)?;
            let r = store.import_lake(&dir)?;
            let rows: i64 = r.rows.values().sum();
            println!(
                "loaded {} ({} rows): {} batches loaded, {} already here and skipped",
                dir.display(),
                rows,
                r.batches_loaded.len(),
                r.batches_skipped.len()
            );
            if !r.derived_loaded && !r.batches_loaded.is_empty() {
                let req = oversight_metrics::ComputeRequest::default();
                let report = oversight_metrics::compute(&store, &settings.metrics, &req)?;
                println!("indicators recomputed for the new batches: {} points written", report.points_written);
            }
            Ok(ExitCode::SUCCESS)
        }
        crate::cli::LakeCmd::CubeSql => {
            print!("{}", oversight_metrics::cube::spark_sql()?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
