//! The Parquet lake: the records, the daily cube and the metric points as Hive-partitioned Parquet
//! (`records/dataset=stops/jurisdiction=…/year=…/…parquet`, `cube/dataset=…/…`, `metric_points/jurisdiction=…/
//! year=…/…`), the bookkeeping tables beside them (`tables/<name>.parquet`), and a manifest (format, schema
//! version, whether the lake is full or public, the batches included, each table's rows, each file's size and
//! sha256). DuckDB's partitioned `COPY` writes it; Spark, DuckDB or polars read it as it is.
//!
//! A **public** lake (the default) holds only the public columns of the records (those the extracts publish)
//! and the metric points with withheld values withheld; a **full** lake every column, for an administrator
//! moving data between installations. Only a full lake can be imported: into an empty database it gives the
//! same tables; into a populated one, the batches the database already has (the same input and profile) are
//! skipped and the others land under new batch ids, in one transaction. Times of day are written as text
//! (`HH:MM:SS`): Spark 4.0 reads no Parquet TIME column, and the lake is for Spark too.

use crate::backup::{BackupFile, quoted, sha256_file};
use crate::{Result, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The manifest's file name in a lake.
pub const LAKE_MANIFEST: &str = "manifest.json";
const FORMAT: &str = "oversight-lake/1";

/// A lake's manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LakeManifest {
    pub format: String,
    pub schema_version: i64,
    /// Every column (an administrator's lake, importable), or the public ones only.
    pub full: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The committed import batches whose records the lake holds.
    pub batches: Vec<i64>,
    /// Rows of each table, as the lake holds them.
    pub tables: BTreeMap<String, i64>,
    /// Every file but the manifest, by its path under the lake.
    pub files: Vec<BackupFile>,
}

/// How a table is laid out in the lake.
struct Part {
    table: &'static str,
    /// The lake directory it goes to.
    dir: &'static str,
    /// SQL for the `year` partition (None: partitioned by jurisdiction only).
    year: Option<&'static str>,
    /// Has a `batch_id` column (records of a batch).
    batched: bool,
    /// The public columns' source (None: the table is public as it is, or not in a public lake).
    public: Option<oversight_core::public::Source>,
}

const PARTS: &[Part] = {
    use oversight_core::Dataset::*;
    use oversight_core::public::Source::*;
    &[
        Part {
            table: "stops",
            dir: "records/dataset=stops",
            year: Some("year(date)"),
            batched: true,
            public: Some(Records(Stops)),
        },
        Part {
            table: "detainers",
            dir: "records/dataset=detainers",
            year: Some("year(received_date)"),
            batched: true,
            public: Some(Records(Detainers)),
        },
        Part {
            table: "crime_reports",
            dir: "records/dataset=crime_reports",
            year: Some("year(reported_date)"),
            batched: true,
            public: Some(Records(CrimeReports)),
        },
        Part {
            table: "complaints",
            dir: "records/dataset=complaints",
            year: Some("year(received_date)"),
            batched: true,
            public: Some(Records(Complaints)),
        },
        Part {
            table: "allegations",
            dir: "records/dataset=allegations",
            year: None,
            batched: true,
            public: Some(Allegations),
        },
        Part {
            table: "policy_events",
            dir: "records/dataset=policy_events",
            year: Some("year(effective_date)"),
            batched: true,
            public: None,
        },
        Part { table: "populations", dir: "records/dataset=populations", year: None, batched: true, public: None },
        Part { table: "metric_cube", dir: "cube", year: Some("year(day)"), batched: false, public: None },
        Part {
            table: "metric_points",
            dir: "metric_points",
            year: Some("year(period_start)"),
            batched: false,
            public: None,
        },
    ]
};

/// Tables written whole (`tables/<name>.parquet`): (table, in a public lake too).
const WHOLE: &[(&str, bool)] = &[
    ("jurisdictions", true),
    ("import_batches", false),
    ("import_batch_files", false),
    ("import_batch_details", false),
    ("import_rejects", false),
    ("metric_runs", true),
    ("quality_notes", true),
];

/// Every file under `dir` but the manifest, as paths relative to it, sorted.
fn lake_files(dir: &Path) -> std::io::Result<Vec<String>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
        for e in std::fs::read_dir(dir)? {
            let p = e?.path();
            if p.is_dir() {
                walk(root, &p, out)?;
            } else if let Ok(rel) = p.strip_prefix(root) {
                let rel = rel.to_string_lossy().into_owned();
                if rel != LAKE_MANIFEST {
                    out.push(rel);
                }
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out)?;
    out.sort();
    Ok(out)
}

impl Store {
    /// A table's columns, each as the lake writes it: times of day as text (`HH:MM:SS`), because Spark (up to
    /// 4.0) cannot read Parquet's TIME; `lake import` casts them back.
    fn columns(&self, table: &str) -> Result<Vec<(String, String)>> {
        let mut st = self.conn.prepare(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = ? \
             ORDER BY column_index",
        )?;
        let cols: Vec<(String, String)> =
            st.query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<duckdb::Result<_>>()?;
        Ok(cols
            .into_iter()
            .map(|(c, t)| {
                let e = if t == "TIME" { format!("CAST(\"{c}\" AS VARCHAR) AS \"{c}\"") } else { format!("\"{c}\"") };
                (c, e)
            })
            .collect())
    }

    /// The SELECT list of a table in the lake: every column, or the public ones it has (and, for the metric
    /// points, withheld values withheld).
    fn lake_select(&self, part: &Part, full: bool) -> Result<String> {
        let cols = self.columns(part.table)?;
        let list = |cols: &mut dyn Iterator<Item = &(String, String)>| {
            cols.map(|(_, e)| e.as_str()).collect::<Vec<_>>().join(", ")
        };
        if full {
            return Ok(list(&mut cols.iter()));
        }
        if part.table == "metric_points" {
            let masked = [
                "numerator",
                "denominator",
                "value",
                "ci_low",
                "ci_high",
                "reference_numerator",
                "reference_denominator",
            ];
            return Ok(cols
                .iter()
                .map(|(c, e)| {
                    if masked.contains(&c.as_str()) {
                        format!("CASE WHEN suppressed THEN NULL ELSE \"{c}\" END AS \"{c}\"")
                    } else {
                        e.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(", "));
        }
        let Some(source) = part.public else { return Ok(list(&mut cols.iter())) };
        let public = oversight_core::public::public_columns(source);
        Ok(list(&mut cols.iter().filter(|(c, _)| public.contains(&c.as_str()))))
    }

    /// Writes the lake into `dir` (new, or an empty directory) and returns its manifest.
    pub fn export_lake(&self, dir: &Path, full: bool) -> Result<LakeManifest> {
        if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
            return Err(StoreError::Invalid(format!("{} is not empty: a lake goes to a new directory", dir.display())));
        }
        std::fs::create_dir_all(dir)?;
        self.conn.execute_batch("BEGIN TRANSACTION")?;
        let written = (|| {
            let schema_version: i64 =
                self.conn.query_row("SELECT coalesce(max(version), 0) FROM schema_migrations", [], |r| r.get(0))?;
            let batches: Vec<i64> = self
                .conn
                .prepare("SELECT id FROM import_batches WHERE status = 'committed' ORDER BY id")?
                .query_map([], |r| r.get(0))?
                .collect::<duckdb::Result<_>>()?;
            let mut tables = BTreeMap::new();
            for part in PARTS {
                let select = self.lake_select(part, full)?;
                let n: i64 = self.conn.query_row(&format!("SELECT count(*) FROM {}", part.table), [], |r| r.get(0))?;
                tables.insert(part.table.to_owned(), n);
                if n == 0 {
                    continue;
                }
                let (extra, by) = match part.year {
                    Some(y) => (format!(", jurisdiction_id AS jurisdiction, {y} AS year"), "jurisdiction, year"),
                    None => (", jurisdiction_id AS jurisdiction".to_owned(), "jurisdiction"),
                };
                if let Some(parent) = dir.join(part.dir).parent() {
                    std::fs::create_dir_all(parent)?;
                }
                let sql = format!(
                    "COPY (SELECT {select}{extra} FROM {}) TO {} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY ({by}))",
                    part.table,
                    quoted(&dir.join(part.dir))
                );
                self.conn.execute_batch(&sql)?;
            }
            std::fs::create_dir_all(dir.join("tables"))?;
            for (table, public) in WHOLE {
                if !full && !public {
                    continue;
                }
                let n: i64 = self.conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
                tables.insert((*table).to_owned(), n);
                let path = dir.join("tables").join(format!("{table}.parquet"));
                self.conn.execute_batch(&format!(
                    "COPY (SELECT * FROM {table}) TO {} (FORMAT parquet, COMPRESSION zstd)",
                    quoted(&path)
                ))?;
            }
            Ok::<_, StoreError>((schema_version, batches, tables))
        })();
        let _ = self.conn.execute_batch("COMMIT");
        // A lake that failed half-way is no lake: nothing is left for an import to take.
        let (schema_version, batches, tables) = written.inspect_err(|_| {
            let _ = std::fs::remove_dir_all(dir);
        })?;
        let mut files = Vec::new();
        for name in lake_files(dir)? {
            let (bytes, sha256) = sha256_file(&dir.join(&name))?;
            files.push(BackupFile { name, bytes, sha256 });
        }
        let m = LakeManifest {
            format: FORMAT.into(),
            schema_version,
            full,
            created_at: chrono::Utc::now(),
            batches,
            tables,
            files,
        };
        let text = serde_json::to_string_pretty(&m).map_err(|e| StoreError::Invalid(e.to_string()))?;
        std::fs::write(dir.join(LAKE_MANIFEST), text + "\n")?;
        Ok(m)
    }
}

impl Store {
    /// After a merge: no record of a batch the lake brought may have a record key (stop_id, detainer_id, …)
    /// that a record of this database's own batches holds in the same jurisdiction; both would be counted.
    /// The first few such keys are the error (and the import is rolled back).
    fn check_merged_keys(&self) -> Result<()> {
        for table in oversight_core::Table::ALL {
            let Some((key, present, join)) = crate::ingest::key_sql(*table) else { continue };
            let (key, present) = (key.replace("t.", "n."), present.replace("t.", "n."));
            let sql = format!(
                "SELECT {key}, n.jurisdiction_id, n.batch_id, n.source_row, o.batch_id, o.source_row
                 FROM {t} n JOIN {t} o ON n.jurisdiction_id = o.jurisdiction_id AND {join}
                 WHERE n.batch_id IN (SELECT new FROM lake_batch_map)
                   AND o.batch_id NOT IN (SELECT new FROM lake_batch_map) AND {present}
                 ORDER BY n.batch_id, n.source_row LIMIT 5",
                t = table.name()
            );
            let mut st = self.conn.prepare(&sql)?;
            let held: Vec<String> = st
                .query_map([], |r| {
                    Ok(format!(
                        "{} ({}): the lake's record (batch {} here, line {}) and batch {} line {}",
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, i64>(5)?
                    ))
                })?
                .collect::<duckdb::Result<_>>()?;
            if !held.is_empty() {
                return Err(StoreError::Invalid(format!(
                    "the lake's {table} records repeat record keys this database's own batches hold (each would be \
                     counted twice): {}; nothing was imported (retract or replace one of the batches first)",
                    held.join("; ")
                )));
            }
        }
        Ok(())
    }

    /// Every data table's rows and an order-independent digest of their values (the sum of the rows'
    /// hashes): two databases with the same rows in any order give the same digests. API keys, the audit log,
    /// schedule runs and settings are left out (they belong to an installation, not to its data). The metric
    /// points and quality notes are also digested without their run id (`… (values)`).
    pub fn table_digests(&self) -> Result<BTreeMap<String, (i64, String)>> {
        let mut out = BTreeMap::new();
        let tables = PARTS.iter().map(|p| p.table).chain(WHOLE.iter().map(|(t, _)| *t));
        let digest = |from: &str| -> Result<(i64, String)> {
            let sql = format!("SELECT count(*), coalesce(sum(hash(x)::HUGEINT), 0)::VARCHAR FROM {from} x");
            Ok(self.conn.query_row(&sql, [], |r| Ok((r.get(0)?, r.get(1)?)))?)
        };
        for t in tables {
            out.insert(t.to_owned(), digest(t)?);
        }
        // The derived tables once more without the run that wrote them: two databases that computed the same
        // values in different runs give the same digests here.
        for t in ["metric_points", "quality_notes"] {
            out.insert(format!("{t} (values)"), digest(&format!("(SELECT * EXCLUDE (run_id) FROM {t})"))?);
        }
        Ok(out)
    }
}

/// Checks a lake against its manifest: every file listed is there with its size and sha256, and nothing else
/// is. The first difference is the error, naming the file.
pub fn verify_lake(dir: &Path) -> Result<LakeManifest> {
    let text = std::fs::read_to_string(dir.join(LAKE_MANIFEST)).map_err(|e| {
        StoreError::Invalid(format!("{} has no readable {LAKE_MANIFEST} ({e}): not an Oversight lake", dir.display()))
    })?;
    let m: LakeManifest = serde_json::from_str(&text)
        .map_err(|e| StoreError::Invalid(format!("{}: {LAKE_MANIFEST} is not a lake manifest ({e})", dir.display())))?;
    if m.format != FORMAT {
        return Err(StoreError::Invalid(format!(
            "{}: format {:?}, this build reads {FORMAT}",
            dir.display(),
            m.format
        )));
    }
    crate::backup::check_listed(dir, &m.files, &lake_files(dir)?, "lake")?;
    Ok(m)
}

/// What importing a lake did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LakeImport {
    /// Batches loaded (their ids in this database).
    pub batches_loaded: Vec<i64>,
    /// Batches of the lake this database already had (their ids in the lake).
    pub batches_skipped: Vec<i64>,
    /// Rows loaded per table.
    pub rows: BTreeMap<String, i64>,
    /// The derived tables (cube, metric points, runs, quality notes) came with it (an empty database); else
    /// they are to be recomputed.
    pub derived_loaded: bool,
}

impl Store {
    /// Loads a full lake (checked against its manifest first) in one transaction.
    pub fn import_lake(&self, dir: &Path) -> Result<LakeImport> {
        let m = verify_lake(dir)?;
        if !m.full {
            return Err(StoreError::Invalid(format!(
                "{} is a public lake (public columns only): only a full lake (`oversight lake export --full`) can be imported",
                dir.display()
            )));
        }
        let here = self.schema_version()?;
        if m.schema_version != here {
            return Err(StoreError::Invalid(format!(
                "{} is at schema version {}, this database at {here}: export it again with this build",
                dir.display(),
                m.schema_version
            )));
        }
        self.conn.execute_batch("BEGIN TRANSACTION")?;
        let out = self.import_lake_in(dir, &m);
        match out {
            Ok(r) => {
                self.conn.execute_batch("COMMIT")?;
                Ok(r)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    fn import_lake_in(&self, dir: &Path, m: &LakeManifest) -> Result<LakeImport> {
        let files = |sub: &str| -> PathBuf { dir.join(sub) };
        let whole = |t: &str| quoted(&files("tables").join(format!("{t}.parquet")));
        let part_glob = |p: &Part| quoted(&files(p.dir).join("**").join("*.parquet"));
        let has_part = |p: &Part| m.tables.get(p.table).copied().unwrap_or(0) > 0;
        let empty: i64 = self.conn.query_row("SELECT count(*) FROM import_batches", [], |r| r.get(0))?;
        // Lake batch id → this database's: the same id in an empty database; a new one otherwise, for the
        // batches this database does not have (the same dataset, input sha256 and profile).
        self.conn.execute_batch("CREATE OR REPLACE TEMP TABLE lake_batch_map (old BIGINT, new BIGINT)")?;
        if empty == 0 {
            self.conn.execute_batch(&format!(
                "INSERT INTO lake_batch_map SELECT id, id FROM read_parquet({})",
                whole("import_batches")
            ))?;
        } else {
            self.conn.execute_batch(&format!(
                "INSERT INTO lake_batch_map SELECT l.id, nextval('import_batch_ids') FROM read_parquet({}) l \
                 WHERE NOT EXISTS (SELECT 1 FROM import_batches b WHERE b.dataset = l.dataset AND b.sha256 = l.sha256 \
                 AND b.profile_sha256 = l.profile_sha256 AND b.status = 'committed') ORDER BY l.id",
                whole("import_batches")
            ))?;
        }
        let mut rows = BTreeMap::new();
        let mut load = |table: &str, from: String, remap: bool| -> Result<()> {
            let sql = if remap {
                format!(
                    "INSERT INTO {table} BY NAME SELECT r.* REPLACE (m.new AS batch_id) FROM {from} r \
                     JOIN lake_batch_map m ON r.batch_id = m.old"
                )
            } else {
                format!("INSERT INTO {table} BY NAME SELECT * FROM {from} r")
            };
            let n = self.conn.execute(&sql, [])?;
            *rows.entry(table.to_owned()).or_insert(0) += n as i64;
            Ok(())
        };
        // Jurisdictions this database lacks.
        load(
            "jurisdictions",
            format!(
                "(SELECT * FROM read_parquet({}) j WHERE j.id NOT IN (SELECT id FROM jurisdictions))",
                whole("jurisdictions")
            ),
            false,
        )?;
        load(
            "import_batches",
            format!(
                "(SELECT b.* REPLACE (m.new AS id) FROM read_parquet({}) b JOIN lake_batch_map m ON b.id = m.old)",
                whole("import_batches")
            ),
            false,
        )?;
        for t in ["import_batch_files", "import_batch_details", "import_rejects"] {
            load(t, format!("read_parquet({})", whole(t)), true)?;
        }
        for p in PARTS.iter().filter(|p| p.batched && has_part(p)) {
            // The partition columns are in the paths only (hive_partitioning off): the files hold the table's own.
            let from = format!("read_parquet({}, hive_partitioning = false)", part_glob(p));
            if p.table == "policy_events" {
                // Imported events come with their batch (under new ids where the database has events of its
                // own); events added by hand only into an empty database.
                let ids = if empty == 0 { "" } else { " REPLACE (nextval('policy_event_ids') AS id)" };
                load(p.table, format!("(SELECT *{ids} FROM {from} WHERE batch_id IS NOT NULL)"), true)?;
                if empty == 0 {
                    load(p.table, format!("(SELECT * FROM {from} WHERE batch_id IS NULL)"), false)?;
                }
            } else {
                load(p.table, from, true)?;
            }
        }
        if empty != 0 {
            self.check_merged_keys()?;
        }
        let derived = empty == 0;
        if derived {
            for p in PARTS.iter().filter(|p| !p.batched && has_part(p)) {
                load(p.table, format!("read_parquet({}, hive_partitioning = false)", part_glob(p)), false)?;
            }
            for t in ["metric_runs", "quality_notes"] {
                load(t, format!("read_parquet({})", whole(t)), false)?;
            }
            // The sequences continue after the ids the lake brought.
            for (seq, table, col) in [
                ("import_batch_ids", "import_batches", "id"),
                ("metric_run_ids", "metric_runs", "id"),
                ("policy_event_ids", "policy_events", "id"),
            ] {
                self.conn.execute_batch(&format!(
                    "SELECT max(nextval('{seq}')) FROM range((SELECT coalesce(max({col}), 0) FROM {table}))"
                ))?;
            }
        }
        let loaded: Vec<i64> = self
            .conn
            .prepare("SELECT new FROM lake_batch_map ORDER BY new")?
            .query_map([], |r| r.get(0))?
            .collect::<duckdb::Result<_>>()?;
        let mapped: Vec<i64> = self
            .conn
            .prepare("SELECT old FROM lake_batch_map")?
            .query_map([], |r| r.get(0))?
            .collect::<duckdb::Result<_>>()?;
        let skipped = m.batches.iter().copied().filter(|b| !mapped.contains(b)).collect();
        self.conn.execute_batch("DROP TABLE lake_batch_map")?;
        Ok(LakeImport { batches_loaded: loaded, batches_skipped: skipped, rows, derived_loaded: derived })
    }
}
