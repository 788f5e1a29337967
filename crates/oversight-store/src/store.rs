//! Opening the database file.

use crate::{Result, StoreError, migrate};
use duckdb::{AccessMode, Config, Connection};
use std::path::{Path, PathBuf};

/// How to open the store.
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// DuckDB's memory limit, e.g. `"1GB"`; `None` keeps DuckDB's default (80% of RAM).
    pub memory_limit: Option<String>,
    /// Worker threads DuckDB may use; `None` means one per core.
    pub threads: Option<i64>,
    /// Open read-only (several processes may then share the file while nobody writes).
    pub read_only: bool,
}

/// A handle on the database. Not `Sync`: clone one per thread with [`Store::try_clone`] (clones share the
/// database and see each other's committed writes).
pub struct Store {
    pub(crate) conn: Connection,
    path: PathBuf,
    /// Why the file was opened read-only, when it was.
    read_only: Option<String>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, &StoreOptions::default())
    }

    /// A file that may not be written (its mode has no write bit, the process may not open it for writing,
    /// or its directory takes no new files, where DuckDB keeps the write-ahead log) is opened read-only:
    /// reads work, writes fail with [`StoreError::ReadOnly`], and [`Store::read_only`] says why.
    pub fn open_with(path: impl AsRef<Path>, opts: &StoreOptions) -> Result<Self> {
        let path = path.as_ref().to_owned();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty() && !p.exists()) {
            std::fs::create_dir_all(parent)?;
        }
        let read_only = if opts.read_only { Some("opened read-only on request".to_owned()) } else { unwritable(&path) };
        let open = || -> duckdb::Result<Connection> {
            // Extensions are compiled in or absent: never try to download one (there may be no network).
            let mut config =
                Config::default().enable_autoload_extension(false)?.with("autoinstall_known_extensions", "false")?;
            if read_only.is_some() {
                config = config.access_mode(AccessMode::ReadOnly)?;
            }
            if let Some(m) = &opts.memory_limit {
                config = config.max_memory(m)?;
            }
            if let Some(t) = opts.threads {
                config = config.threads(t)?;
            }
            Connection::open_with_flags(&path, config)
        };
        let conn = open().map_err(|e| StoreError::from_open(path.clone(), e))?;
        match &read_only {
            None => migrate::migrate(&conn, &path)?,
            Some(why) if !opts.read_only => {
                let found: i64 = conn
                    .query_row("SELECT coalesce(max(version), 0) FROM schema_migrations", [], |r| r.get(0))
                    .unwrap_or(0);
                let known = i64::from(migrate::MIGRATIONS.last().map(|m| m.0).unwrap_or(0));
                if found != known {
                    return Err(StoreError::Open {
                        path,
                        message: format!(
                            "{why}, and it is at schema version {found} where this build needs {known}: open it \
                             writable once so it can be migrated"
                        ),
                    });
                }
                tracing::warn!("the database {} is read-only ({why}): reads only", path.display());
            }
            Some(_) => {}
        }
        // Rows carry their own order (source lines, ORDER BY in every query that needs one), so DuckDB may
        // insert and scan in parallel without keeping insertion order.
        conn.execute_batch("SET preserve_insertion_order = false")?;
        crate::stream::register(&conn)?;
        Ok(Self { conn, path, read_only })
    }

    /// Why the database is open read-only, or None when it may be written.
    pub fn read_only(&self) -> Option<&str> {
        self.read_only.as_deref()
    }

    /// A second handle on the same database, for another thread.
    pub fn try_clone(&self) -> Result<Self> {
        let conn = self.conn.try_clone()?;
        crate::stream::register(&conn)?;
        Ok(Self { conn, path: self.path.clone(), read_only: self.read_only.clone() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version the file is at.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self.conn.query_row("SELECT coalesce(max(version), 0) FROM schema_migrations", [], |r| r.get(0))?)
    }

    /// Runs `f` in one read transaction: everything it reads comes from the same committed state (a write
    /// committing meanwhile is not seen half).
    pub fn snapshot<T>(&self, f: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
        self.conn.execute_batch("BEGIN TRANSACTION")?;
        let out = f(self);
        let end = if out.is_ok() { "COMMIT" } else { "ROLLBACK" };
        let closed = self.conn.execute_batch(end);
        let out = out?;
        closed?;
        Ok(out)
    }

    /// Reads a row of every table (a block of each of its columns): what `/readyz` asks, so a damaged or
    /// unreadable file shows there and not only in the request that happens to read the bad block.
    pub fn probe(&self) -> Result<()> {
        for t in self.table_names()? {
            self.conn
                .query_row(&format!("SELECT count(*) FROM (SELECT * FROM {t} LIMIT 1)"), [], |r| r.get::<_, i64>(0))?;
        }
        Ok(())
    }

    /// Bytes DuckDB holds in memory (its buffer pool: cached blocks, indexes, temporary results), as its own
    /// `duckdb_memory()` counts them; shared by every connection of the process.
    pub fn memory_bytes(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT coalesce(sum(memory_usage_bytes), 0)::BIGINT FROM duckdb_memory()",
            [],
            |r| r.get(0),
        )?)
    }

    /// Every table of the database, quoted for SQL.
    fn table_names(&self) -> Result<Vec<String>> {
        let mut st = self.conn.prepare_cached(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' \
             ORDER BY table_name",
        )?;
        let names = st.query_map([], |r| r.get::<_, String>(0))?.collect::<duckdb::Result<Vec<_>>>()?;
        Ok(names.into_iter().map(|t| format!("\"{}\"", t.replace('"', "\"\""))).collect())
    }

    /// Reads every block of every table (each row hashed whole, so no column is skipped): a damaged block
    /// anywhere is [`StoreError::Corrupt`]. The server runs it once in the background at start-up.
    pub fn scrub(&self) -> Result<()> {
        for t in self.table_names()? {
            self.conn.query_row(&format!("SELECT bit_xor(hash({t})) FROM {t}"), [], |r| r.get::<_, Option<u64>>(0))?;
        }
        Ok(())
    }

    /// The per-database key for hashing officer identifiers.
    pub fn hash_key(&self) -> Result<String> {
        Ok(self.conn.query_row("SELECT value FROM settings WHERE key = 'hash_key'", [], |r| r.get(0))?)
    }

    /// Writes a checkpoint so the WAL is folded into the file.
    pub fn checkpoint(&self) -> Result<()> {
        Ok(self.conn.execute_batch("CHECKPOINT")?)
    }

    /// Row count of a record table (closed set of names).
    pub fn count_rows(&self, table: oversight_core::Table) -> Result<i64> {
        let sql = format!("SELECT count(*) FROM {}", table.name());
        Ok(self.conn.query_row(&sql, [], |r| r.get(0))?)
    }
}

/// Why an existing database file may not be written, if it may not.
fn unwritable(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode();
        if mode & 0o222 == 0 {
            return Some(format!("the file's mode is {:04o}", mode & 0o7777));
        }
    }
    #[cfg(not(unix))]
    if meta.permissions().readonly() {
        return Some("the file is marked read-only".into());
    }
    if let Err(e) = std::fs::OpenOptions::new().write(true).open(path)
        && e.kind() == std::io::ErrorKind::PermissionDenied
    {
        return Some(format!("this user may not write it ({e})"));
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let wal = PathBuf::from(format!("{}.wal", path.display()));
    if !wal.exists() {
        // DuckDB creates the write-ahead log beside the file: the directory must take new files.
        let probe = dir.join(format!(".oversight-write-check-{}", std::process::id()));
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&probe) {
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied || e.raw_os_error() == Some(30) => {
                return Some(format!("its directory {} takes no new files ({e})", dir.display()));
            }
            Ok(_) => {
                let _ = std::fs::remove_file(&probe);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    if let Ok(m) = std::fs::metadata(dir)
                        && m.permissions().mode() & 0o222 == 0
                    {
                        let mode = m.permissions().mode() & 0o7777;
                        return Some(format!("its directory {} has mode {mode:04o}", dir.display()));
                    }
                }
            }
            Err(_) => {}
        }
    }
    None
}

impl Store {
    /// Runs a read-only query written by a developer (diagnostics and tests; never user text) and returns
    /// every value as text.
    pub fn inspect(&self, sql: &str, params: &[&str]) -> Result<Vec<Vec<Option<String>>>> {
        let trimmed = sql.trim_start().to_ascii_lowercase();
        if !(trimmed.starts_with("select") || trimmed.starts_with("with")) {
            return Err(StoreError::Invalid("inspect runs SELECT queries only".into()));
        }
        let wrapped = format!("SELECT COLUMNS(*)::VARCHAR FROM ({sql})");
        let mut st = self.conn.prepare(&wrapped)?;
        let p: Vec<&dyn duckdb::ToSql> = params.iter().map(|s| s as &dyn duckdb::ToSql).collect();
        let mut rows = st.query(p.as_slice())?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let n = r.as_ref().column_count();
            let mut v = Vec::with_capacity(n);
            for i in 0..n {
                v.push(r.get::<_, Option<String>>(i)?);
            }
            out.push(v);
        }
        Ok(out)
    }

    /// One value of a read-only query, as text (see [`Store::inspect`]).
    pub fn inspect_one(&self, sql: &str, params: &[&str]) -> Result<Option<String>> {
        Ok(self.inspect(sql, params)?.into_iter().next().and_then(|r| r.into_iter().next()).flatten())
    }
}
