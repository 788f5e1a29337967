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

    pub fn open_with(path: impl AsRef<Path>, opts: &StoreOptions) -> Result<Self> {
        let path = path.as_ref().to_owned();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty() && !p.exists()) {
            std::fs::create_dir_all(parent)?;
        }
        let open = || -> duckdb::Result<Connection> {
            // Extensions are compiled in or absent: never try to download one (there may be no network).
            let mut config =
                Config::default().enable_autoload_extension(false)?.with("autoinstall_known_extensions", "false")?;
            if opts.read_only {
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
        if !opts.read_only {
            migrate::migrate(&conn, &path)?;
        }
        // Rows carry their own order (source lines, ORDER BY in every query that needs one), so DuckDB may
        // insert and scan in parallel without keeping insertion order.
        conn.execute_batch("SET preserve_insertion_order = false")?;
        crate::stream::register(&conn)?;
        Ok(Self { conn, path })
    }

    /// A second handle on the same database, for another thread.
    pub fn try_clone(&self) -> Result<Self> {
        let conn = self.conn.try_clone()?;
        crate::stream::register(&conn)?;
        Ok(Self { conn, path: self.path.clone() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version the file is at.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self.conn.query_row("SELECT coalesce(max(version), 0) FROM schema_migrations", [], |r| r.get(0))?)
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
