//! Backups: a consistent snapshot of the whole database as Parquet (DuckDB's `EXPORT DATABASE`) with a
//! manifest — the schema version, each table's row count, each file's size and sha256 — and the restore
//! that checks every file against it before it loads a byte.
//!
//! The snapshot is written into a sibling directory (`DIR.partial-PID`) and renamed to `DIR` only once the
//! manifest, written last, is complete: a backup that fails (a full disk, a directory it may not write)
//! leaves no directory that `restore` would take (there is no manifest in a partial one, and it is removed).

use crate::{Result, Store, StoreError};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The manifest's file name in a snapshot.
pub const MANIFEST: &str = "manifest.json";
/// What a manifest says it is.
const FORMAT: &str = "oversight-backup/1";

/// A snapshot's manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupManifest {
    pub format: String,
    /// The database's schema version (the last migration applied).
    pub schema_version: i64,
    /// When the snapshot was taken, UTC.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Rows of every table, as the snapshot holds them.
    pub tables: BTreeMap<String, i64>,
    /// Every file of the snapshot but the manifest.
    pub files: Vec<BackupFile>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupFile {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

/// Checks the files found in a snapshot, lake or cube directory against its manifest's list: nothing found that
/// the manifest does not list, and every listed file there with its size and sha256. The first difference is
/// the error, naming the file; `what` names the directory ("backup", "lake", "cube directory").
pub(crate) fn check_listed(dir: &Path, listed: &[BackupFile], found: &[String], what: &str) -> Result<()> {
    if let Some(name) = found.iter().find(|n| !listed.iter().any(|f| &f.name == *n)) {
        return Err(StoreError::Invalid(format!(
            "{name} is in the {what} but not in its manifest (tampered with?): refused"
        )));
    }
    for f in listed {
        let (bytes, sha256) = sha256_file(&dir.join(&f.name)).map_err(|e| {
            StoreError::Invalid(format!("{} is in the manifest but not in the {what}, or cannot be read ({e})", f.name))
        })?;
        if bytes != f.bytes || sha256 != f.sha256 {
            return Err(StoreError::Invalid(format!(
                "{}: its sha256 is {sha256} ({bytes} bytes) where the manifest says {} ({} bytes): the {what} was \
                 changed or damaged; refused",
                f.name, f.sha256, f.bytes
            )));
        }
    }
    Ok(())
}

pub(crate) fn sha256_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut f = std::fs::File::open(path)?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((n, hex::encode(h.finalize())))
}

/// The files of a snapshot directory, by name, the manifest aside.
fn snapshot_files(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name != MANIFEST {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// The row count of every table of a connection's database.
fn table_counts(conn: &duckdb::Connection) -> Result<BTreeMap<String, i64>> {
    let names: Vec<String> = conn
        .prepare("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND NOT temporary ORDER BY 1")?
        .query_map([], |r| r.get(0))?
        .collect::<duckdb::Result<_>>()?;
    let mut out = BTreeMap::new();
    for t in names {
        let q = format!("SELECT count(*) FROM \"{}\"", t.replace('"', "\"\""));
        out.insert(t, conn.query_row(&q, [], |r| r.get(0))?);
    }
    Ok(out)
}

/// SQL text for a path (DuckDB takes no parameter there).
pub(crate) fn quoted(p: &Path) -> String {
    format!("'{}'", p.to_string_lossy().replace('\'', "''"))
}

impl Store {
    /// Writes a consistent snapshot of the database to `dir` (which must not exist, or be an empty
    /// directory), and returns its manifest. Reads on other connections go on meanwhile; the caller holds
    /// writes back (the server runs it on its writer).
    pub fn backup(&self, dir: &Path) -> Result<BackupManifest> {
        if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
            return Err(StoreError::Invalid(format!(
                "{} is not empty: a backup goes to a new directory",
                dir.display()
            )));
        }
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "backup".into());
        let partial = dir.with_file_name(format!("{name}.partial-{}", std::process::id()));
        let out = (|| {
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)?;
            }
            let m = self.backup_into(&partial)?;
            if dir.exists() {
                std::fs::remove_dir(dir)?;
            }
            std::fs::rename(&partial, dir)?;
            Ok(m)
        })();
        if out.is_err() {
            let _ = std::fs::remove_dir_all(&partial);
        }
        // A directory that cannot be written is the caller's to fix, not an internal error; a full disk says so.
        out.map_err(|e| match e {
            StoreError::Io(_) | StoreError::Duckdb(_) | StoreError::ReadOnly(_) => {
                StoreError::Invalid(format!("cannot write the backup to {}: {e}", dir.display()))
            }
            e => e,
        })
    }

    fn backup_into(&self, partial: &Path) -> Result<BackupManifest> {
        if partial.exists() {
            std::fs::remove_dir_all(partial)?;
        }
        // One transaction: the counts and the files are of the same moment.
        self.conn.execute_batch("BEGIN TRANSACTION")?;
        let taken = (|| {
            let schema_version: i64 =
                self.conn.query_row("SELECT coalesce(max(version), 0) FROM schema_migrations", [], |r| r.get(0))?;
            let tables = table_counts(&self.conn)?;
            let sql = format!("EXPORT DATABASE {} (FORMAT parquet, COMPRESSION zstd)", quoted(partial));
            self.conn.execute_batch(&sql)?;
            Ok::<_, StoreError>((schema_version, tables))
        })();
        let _ = self.conn.execute_batch("COMMIT");
        let (schema_version, tables) = taken?;
        let mut files = Vec::new();
        for name in snapshot_files(partial)? {
            let (bytes, sha256) = sha256_file(&partial.join(&name))?;
            files.push(BackupFile { name, bytes, sha256 });
        }
        let manifest =
            BackupManifest { format: FORMAT.into(), schema_version, created_at: chrono::Utc::now(), tables, files };
        let text = serde_json::to_string_pretty(&manifest).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let path = partial.join(MANIFEST);
        std::fs::write(&path, text + "\n")?;
        std::fs::File::open(&path)?.sync_all()?;
        Ok(manifest)
    }
}

/// Checks a snapshot against its manifest: every file listed is there with its size and sha256, and
/// nothing else is. The first difference is the error, naming the file.
pub fn verify_backup(dir: &Path) -> Result<BackupManifest> {
    let text = std::fs::read_to_string(dir.join(MANIFEST)).map_err(|e| {
        StoreError::Invalid(format!(
            "{} has no readable {MANIFEST} ({e}): not a complete Oversight backup",
            dir.display()
        ))
    })?;
    let m: BackupManifest = serde_json::from_str(&text).map_err(|e| {
        StoreError::Invalid(format!("{}: not an Oversight backup manifest ({e})", dir.join(MANIFEST).display()))
    })?;
    if m.format != FORMAT {
        return Err(StoreError::Invalid(format!(
            "{}: format {:?}, this build reads {FORMAT}",
            dir.display(),
            m.format
        )));
    }
    let known = i64::from(crate::migrate::MIGRATIONS.last().map(|m| m.0).unwrap_or(0));
    if m.schema_version > known {
        return Err(StoreError::Invalid(format!(
            "the backup is at schema version {}, newer than this build's {known}: restore it with a newer Oversight",
            m.schema_version
        )));
    }
    check_listed(dir, &m.files, &snapshot_files(dir)?, "backup")?;
    Ok(m)
}

/// Restores a verified snapshot into a new database file `db` (which must not exist): every file checked
/// against the manifest first, then loaded, then every table's row count checked. A restore that fails
/// leaves no database behind.
pub fn restore(dir: &Path, db: &Path) -> Result<BackupManifest> {
    if db.exists() {
        return Err(StoreError::Invalid(format!(
            "{} exists: restore writes a new database file (choose another --db, or move that one away)",
            db.display()
        )));
    }
    let m = verify_backup(dir)?;
    let out = (|| {
        let conn = duckdb::Connection::open(db).map_err(|e| StoreError::from_open(db.to_path_buf(), e))?;
        conn.execute_batch(&format!("IMPORT DATABASE {}", quoted(dir)))?;
        let counts = table_counts(&conn)?;
        if counts != m.tables {
            return Err(StoreError::Invalid(format!(
                "the restored tables do not hold the rows the manifest lists (restored {counts:?}, manifest {:?})",
                m.tables
            )));
        }
        conn.execute_batch("CHECKPOINT")?;
        Ok(())
    })();
    if let Err(e) = out {
        for p in [db.to_path_buf(), wal(db)] {
            let _ = std::fs::remove_file(p);
        }
        return Err(e);
    }
    Ok(m)
}

fn wal(db: &Path) -> PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".wal");
    db.with_file_name(name)
}
