//! A daily cube built outside Oversight (the Spark job in `contrib/spark`): a directory with the cube as the
//! lake lays it out (`cube/jurisdiction=…/year=…/*.parquet`: dataset, jurisdiction_id, day, dim, grp,
//! measure, value) and `cube.json`, its manifest (the digest of the cube definition it ran, the lake's
//! batches, each Parquet file's size and sha256). Checked before anything is read; loaded in the metric
//! run's transaction in place of the cube Oversight would have built.

use crate::BackupFile;
use crate::backup::quoted;
use crate::{MetricTxn, Result, Store, StoreError};
use duckdb::{OptionalExt, params};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The manifest's file name in a cube directory.
pub const CUBE_MANIFEST: &str = "cube.json";
const FORMAT: &str = "oversight-cube/1";

/// An external cube's manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CubeManifest {
    pub format: String,
    /// sha256 of the cube definition (the Spark SQL) it ran.
    pub definition_sha256: String,
    /// The committed import batches of the lake it was built from.
    pub batches: Vec<i64>,
    /// What built it (e.g. "spark 4.0.5").
    pub built_by: String,
    pub rows: i64,
    /// Every Parquet file, by its path under the cube directory.
    pub files: Vec<BackupFile>,
}

/// The Parquet files under `dir/cube`, as paths relative to `dir`, sorted.
fn parquet_files(dir: &Path) -> std::io::Result<Vec<String>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
        for e in std::fs::read_dir(dir)? {
            let p = e?.path();
            if p.is_dir() {
                walk(root, &p, out)?;
            } else if p.extension().is_some_and(|x| x == "parquet")
                && let Ok(rel) = p.strip_prefix(root)
            {
                out.push(rel.to_string_lossy().into_owned());
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    let cube = dir.join("cube");
    if cube.is_dir() {
        walk(dir, &cube, &mut out)?;
    }
    out.sort();
    Ok(out)
}

/// Checks a cube directory against its manifest: the format, every Parquet file listed with its size and
/// sha256, and no other Parquet file. The first difference is the error, naming the file.
pub fn verify_cube_dir(dir: &Path) -> Result<CubeManifest> {
    let text = std::fs::read_to_string(dir.join(CUBE_MANIFEST)).map_err(|e| {
        StoreError::Invalid(format!("{} has no readable {CUBE_MANIFEST} ({e}): not a cube directory", dir.display()))
    })?;
    let m: CubeManifest = serde_json::from_str(&text)
        .map_err(|e| StoreError::Invalid(format!("{}: {CUBE_MANIFEST} is not a cube manifest ({e})", dir.display())))?;
    if m.format != FORMAT {
        return Err(StoreError::Invalid(format!(
            "{}: format {:?}, this build reads {FORMAT}",
            dir.display(),
            m.format
        )));
    }
    crate::backup::check_listed(dir, &m.files, &parquet_files(dir)?, "cube directory")?;
    Ok(m)
}

/// The SELECT reading a cube directory's rows with the cube table's column types.
fn cube_select(dir: &Path, files: &[BackupFile]) -> Result<String> {
    if files.is_empty() {
        return Ok("SELECT * FROM metric_cube WHERE false".into());
    }
    let list: Vec<String> = files.iter().map(|f| quoted(&dir.join(&f.name))).collect::<Vec<_>>();
    Ok(format!(
        "SELECT CAST(dataset AS VARCHAR) AS dataset, CAST(jurisdiction_id AS VARCHAR) AS jurisdiction_id, \
         CAST(day AS DATE) AS day, CAST(dim AS VARCHAR) AS dim, CAST(grp AS VARCHAR) AS grp, \
         CAST(measure AS VARCHAR) AS measure, CAST(value AS DOUBLE) AS value \
         FROM read_parquet([{}], hive_partitioning = false)",
        list.join(", ")
    ))
}

impl Store {
    /// Checks the rows of a verified cube directory: every cube name is one of `cubes`, every jurisdiction is
    /// known, no value is missing, negative or fractional, and no (dataset, jurisdiction, day, dim, group,
    /// measure) repeats. Returns the rows; the first problem is the error.
    pub fn check_cube_dir(&self, dir: &Path, m: &CubeManifest, cubes: &[&str]) -> Result<i64> {
        let select = cube_select(dir, &m.files)?;
        let names = cubes.iter().map(|c| format!("'{}'", c.replace('\'', "''"))).collect::<Vec<_>>().join(", ");
        let checks = [
            (
                format!("SELECT dataset FROM ({select}) WHERE dataset IS NULL OR dataset NOT IN ({names}) LIMIT 1"),
                "a cube this build does not define (or none)",
            ),
            (
                format!(
                    "SELECT jurisdiction_id FROM ({select}) WHERE jurisdiction_id IS NULL \
                     OR jurisdiction_id NOT IN (SELECT id FROM jurisdictions) LIMIT 1"
                ),
                "a jurisdiction this database does not have (or none)",
            ),
            (
                format!(
                    "SELECT concat_ws(' ', dataset, jurisdiction_id, day, dim, grp, measure, value) FROM ({select}) \
                     WHERE day IS NULL OR dim IS NULL OR grp IS NULL OR measure IS NULL OR value IS NULL \
                     OR NOT isfinite(value) OR value <= 0 OR value <> round(value) LIMIT 1"
                ),
                "a row with a missing part, or a value that is not a positive whole count",
            ),
            (
                format!(
                    "SELECT concat_ws(' ', dataset, jurisdiction_id, day, dim, grp, measure) FROM ({select}) \
                     GROUP BY ALL HAVING count(*) > 1 LIMIT 1"
                ),
                "a cell given twice",
            ),
        ];
        for (sql, what) in checks {
            let bad: Option<Option<String>> = self.conn.query_row(&sql, [], |r| r.get(0)).optional()?;
            if let Some(v) = bad {
                return Err(StoreError::Invalid(format!(
                    "the cube in {} has {what}: {}; refused",
                    dir.display(),
                    v.unwrap_or_else(|| "(null)".into())
                )));
            }
        }
        let rows: i64 = self.conn.query_row(&format!("SELECT count(*) FROM ({select})"), [], |r| r.get(0))?;
        if rows != m.rows {
            return Err(StoreError::Invalid(format!(
                "the cube in {} has {rows} rows, its manifest says {}; refused",
                dir.display(),
                m.rows
            )));
        }
        Ok(rows)
    }
}

impl MetricTxn<'_> {
    /// Replaces the whole daily cube with a checked cube directory's rows; returns the rows loaded.
    pub fn replace_cube(&mut self, dir: &Path, m: &CubeManifest) -> Result<i64> {
        let conn = &self.store().conn;
        conn.execute("DELETE FROM metric_cube", params![])?;
        let select = cube_select(dir, &m.files)?;
        let n = conn.execute(&format!("INSERT INTO metric_cube {select}"), params![])?;
        Ok(n as i64)
    }
}
