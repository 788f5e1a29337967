//! `oversight export` and `oversight table`: the journalist's extracts, data dictionaries and safe tables
//! without a server, the same bytes as `GET /v1/extracts/{dataset}` and `GET /v1/tables/{dataset}`.

use crate::cli::{ExportArgs, TableArgs};
use crate::support::{open, refuse};
use anyhow::{Context, Result};
use oversight_core::Dataset;
use oversight_core::filter::{self, FilterError, RowFilter};
use oversight_metrics::tables::TableSpec;
use oversight_service::dictionary::{ExtractFile, datapackage, source_batches};
use oversight_store::{ExtractQuery, RowFormat};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

fn refused<T>(e: FilterError) -> Result<T> {
    refuse(format!("{}: {}", e.param, e.message))
}

fn dataset(name: &str) -> Result<Dataset> {
    match name.parse() {
        Ok(d) => Ok(d),
        Err(e) => refuse(format!("--dataset: {e}")),
    }
}

/// The `--where` filters, each `column=value` or `column__op=value` as the API takes them.
fn filters(ds: Dataset, given: &[String]) -> Result<Vec<RowFilter>> {
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

/// Writes an extract to `--to` and its data dictionary (datapackage.json) beside it.
pub(crate) fn export(db: &Path, a: &ExportArgs) -> Result<ExitCode> {
    let ds = dataset(&a.dataset)?;
    let columns = filter::parse_columns(ds, a.columns.as_deref()).or_else(refused)?;
    let rows = filters(ds, &a.filters)?;
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
    if let Some(j) = &a.jurisdiction
        && store.jurisdiction(j)?.is_none()
    {
        return refuse(format!("--jurisdiction: unknown jurisdiction {j:?}"));
    }
    let q = ExtractQuery {
        dataset: ds,
        columns: &columns,
        jurisdiction: a.jurisdiction.as_deref(),
        from: a.since,
        to: a.until,
        filters: &rows,
        sort: &sort,
    };
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
    let batches = source_batches(&store, ds, a.jurisdiction.as_deref(), a.since, a.until)?;
    let reported = serde_json::json!({"jurisdiction": a.jurisdiction, "from": a.since, "to": a.until, "where": rows, "sort": sort});
    let file = ExtractFile {
        dataset: ds,
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
    let ds = dataset(&a.dataset)?;
    let rows = filter::parse_dimension(ds, "--rows", &a.rows).or_else(refused)?;
    let columns =
        a.columns.as_deref().map(|c| filter::parse_dimension(ds, "--columns", c)).transpose().or_else(refused)?;
    if columns == Some(rows) {
        return refuse(format!("--columns: the rows are already {}", rows.name()));
    }
    let measure = a.measure.as_deref().map(|m| filter::parse_measure(ds, m)).transpose().or_else(refused)?;
    let where_ = filters(ds, &a.filters)?;
    let store = open(db)?;
    let records = ExtractQuery {
        dataset: ds,
        columns: &[],
        jurisdiction: a.jurisdiction.as_deref(),
        from: a.since,
        to: a.until,
        filters: &where_,
        sort: &[],
    };
    let reported = serde_json::json!({"jurisdiction": a.jurisdiction, "from": a.since, "to": a.until, "where": where_});
    let t = oversight_service::tables::publish(&store, cfg, &TableSpec { records, rows, columns, measure }, reported)?;
    let out = match a.format.as_str() {
        "json" => serde_json::to_string_pretty(&t)? + "\n",
        "csv" => String::from_utf8(oversight_service::tables::csv_of(&t)?)?,
        "html" => oversight_service::tables::html_of(&t),
        f => return refuse(format!("--format {f:?}: one of json, csv, html")),
    };
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}
