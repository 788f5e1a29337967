//! `oversight profiles check`: a dry run of a profile on files. The files are imported exactly as
//! `oversight import` would import them, into a throwaway database in a temporary folder, and what landed
//! and what was rejected is summarised field by field. Nothing is written to the user's database.

use crate::ImportError;
use crate::import::{ImportOutcome, ImportRequest, InputFile, TableCounts, import};
use crate::profile::{FieldSpec, Profile};
use oversight_store::{BatchRecord, Store};
use serde::Serialize;

/// What a dry run found.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub profile: String,
    pub dataset: String,
    /// The batch the import would make: rows read, accepted, rejected, lines, blank lines, filtered rows.
    pub batch: BatchRecord,
    pub tables: Vec<TableCounts>,
    pub fields: Vec<FieldCheck>,
    /// Source values a code map lacks (the rows holding them are rejected), by field.
    pub unmapped: Vec<Unmapped>,
    /// Rejected rows grouped by column and kind of reason (numbers and quoted values folded), with examples.
    pub problems: Vec<ProblemGroup>,
    /// Rows rejected because their record key repeats or is held elsewhere.
    pub repeated_keys: i64,
    /// The first mapped records, as they would be stored.
    pub sample: Vec<Vec<(String, Option<String>)>>,
    pub warnings: Vec<String>,
}

/// One canonical field the profile fills.
#[derive(Debug, Clone, Serialize)]
pub struct FieldCheck {
    pub table: String,
    pub field: String,
    /// Where the profile reads it from (a column, a constant, a template, ...).
    pub source: String,
    pub distinct: i64,
    /// Accepted records without a value.
    pub nulls: i64,
    /// The most frequent values: (the source's value where the table keeps it, the stored value, records).
    pub values: Vec<(Option<String>, Option<String>, i64)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Unmapped {
    pub column: String,
    pub value: String,
    pub rows: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProblemGroup {
    pub column: Option<String>,
    /// The reason with numbers and quoted values folded (`…`, `N`).
    pub kind: String,
    pub rows: i64,
    /// The first few (line, value, reason).
    pub examples: Vec<(i64, Option<String>, String)>,
}

/// Imports `files` with `profile` into a throwaway database and reports field by field.
pub fn check(
    profile: &Profile,
    files: Vec<InputFile>,
    jurisdiction: Option<String>,
    top: usize,
) -> Result<CheckReport, ImportError> {
    let dir = tempfile::Builder::new()
        .prefix("oversight-check-")
        .tempdir()
        .map_err(|e| ImportError::io("a temporary folder", e))?;
    let store = Store::open(dir.path().join("check.duckdb"))?;
    let req =
        ImportRequest { jurisdiction, max_reject_share: 1.0, ..ImportRequest::new(profile.clone(), files, "check") };
    let report = match import(&store, &req, &|_| {})? {
        ImportOutcome::Imported(r) => r,
        ImportOutcome::AlreadyImported(_) => {
            return Err(ImportError::Usage("a fresh database already held the input".into()));
        }
    };
    let id = report.batch.id.to_string();
    let q = |sql: &str| store.inspect(sql, &[id.as_str()]).map_err(ImportError::from);
    let num = |v: &Option<String>| v.as_deref().and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
    let mut fields = Vec::new();
    for table in profile.dataset.tables() {
        let Some(specs) = profile.table_fields(table) else { continue };
        for def in table.fields() {
            let Some(spec) = specs.get(def.name) else { continue };
            let f = format!("\"{}\"", def.name);
            let stats = q(&format!(
                "SELECT count(DISTINCT {f}), count(*) - count({f}) FROM {} WHERE batch_id = ?::BIGINT",
                table.name()
            ))?;
            let raw = if def.has_raw() { format!("\"raw_{}\"", def.name) } else { "NULL".to_owned() };
            let values = q(&format!(
                "SELECT {raw}, {f}, count(*) AS n FROM {} WHERE batch_id = ?::BIGINT GROUP BY ALL
                 ORDER BY n DESC, 2 NULLS LAST, 1 LIMIT {top}",
                table.name()
            ))?;
            fields.push(FieldCheck {
                table: table.name().to_owned(),
                field: def.name.to_owned(),
                source: describe(spec),
                distinct: stats.first().map(|r| num(&r[0])).unwrap_or(0),
                nulls: stats.first().map(|r| num(&r[1])).unwrap_or(0),
                values: values.iter().map(|r| (r[0].clone(), r[1].clone(), num(&r[2]))).collect(),
            });
        }
    }
    let unmapped = q("SELECT \"column\", value, count(*) AS n FROM import_rejects WHERE batch_id = ?::BIGINT
                      AND reason LIKE '%is not a known code%' GROUP BY ALL ORDER BY n DESC, 1, 2 LIMIT 200")?
    .into_iter()
    .map(|r| Unmapped {
        column: r[0].clone().unwrap_or_default(),
        value: r[1].clone().unwrap_or_default(),
        rows: num(&r[2]),
    })
    .collect();
    let groups = q("WITH k AS (SELECT *, regexp_replace(regexp_replace(reason, '\"[^\"]*\"', '\"…\"', 'g'), '[0-9]+',
                       'N', 'g') AS kind FROM import_rejects WHERE batch_id = ?::BIGINT)
                   SELECT \"column\", kind, count(*) AS n FROM k GROUP BY ALL ORDER BY n DESC, 1, 2 LIMIT 50")?;
    let mut problems = Vec::new();
    for g in groups {
        let (column, kind) = (g[0].clone(), g[1].clone().unwrap_or_default());
        let examples = store
            .inspect(
                "SELECT line, value, reason FROM import_rejects WHERE batch_id = ?::BIGINT AND coalesce(\"column\", '') = ? AND regexp_replace(regexp_replace(reason, '\"[^\"]*\"', '\"…\"', 'g'), '[0-9]+', 'N', 'g') = ?
                 ORDER BY seq LIMIT 3",
                &[id.as_str(), column.as_deref().unwrap_or(""), kind.as_str()],
            )?
            .into_iter()
            .map(|r| (num(&r[0]), r[1].clone(), r[2].clone().unwrap_or_default()))
            .collect();
        problems.push(ProblemGroup { column, kind, rows: num(&g[2]), examples });
    }
    let repeated_keys = q("SELECT count(DISTINCT line) FROM import_rejects WHERE batch_id = ?::BIGINT AND reason LIKE
                          'record key %'")?
    .first()
    .map(|r| num(&r[0]))
    .unwrap_or(0);
    let main = profile.dataset.main_table();
    let sample_rows =
        q(&format!("SELECT * FROM {} WHERE batch_id = ?::BIGINT ORDER BY source_row LIMIT 5", main.name()))?;
    let names: Vec<String> = main.stored_columns().into_iter().map(|c| c.0).collect();
    let sample = sample_rows
        .into_iter()
        .map(|r| names.iter().cloned().zip(r).filter(|(n, _)| n != "batch_id").collect())
        .collect();
    Ok(CheckReport {
        profile: profile.name.clone(),
        dataset: profile.dataset.to_string(),
        batch: report.batch,
        tables: report.tables,
        fields,
        unmapped,
        problems,
        repeated_keys,
        sample,
        warnings: report.warnings,
    })
}

/// Where a field's value comes from, in a line.
fn describe(spec: &FieldSpec) -> String {
    let s = spec.full();
    let mut out = if let Some(c) = &s.column {
        format!("column {c:?}")
    } else if let Some(v) = &s.value {
        format!("the constant {v}")
    } else if let Some(t) = &s.template {
        format!("template {t:?}")
    } else if let Some(c) = s.coalesce.as_ref().or(s.any.as_ref()).or(s.sum.as_ref()) {
        format!("columns {}", c.join(", "))
    } else {
        "a combination of columns".to_owned()
    };
    if let Some(f) = &s.format {
        out.push_str(&format!(", format {}", f.to_vec().join(" | ")));
    }
    if let Some(p) = &s.pad {
        out.push_str(&format!(", padded to {} with {:?}", p.width, p.with));
    }
    if let Some(a) = s.aggregate {
        out.push_str(&format!(", {} of the group's rows", a.as_str()));
    }
    out
}
