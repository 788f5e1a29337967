//! What every command shares: refusing with a user error, and opening the database.

use anyhow::Result;
use oversight_store::Store;
use std::path::Path;

/// A user error outside the library crates (a bad argument).
#[derive(Debug)]
pub(crate) struct Refusal(pub(crate) String);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Refusal {}

pub(crate) fn refuse<T>(msg: impl Into<String>) -> Result<T> {
    Err(Refusal(msg.into()).into())
}

/// `--read-only`: every command opens the database read-only.
pub(crate) static READ_ONLY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `[database] memory`: DuckDB's memory limit for commands (set once, from the settings).
pub(crate) static MEMORY_LIMIT: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The store, with DuckDB's memory limited by `[database] memory`.
pub(crate) fn open(db: &Path) -> Result<Store> {
    open_limited(db, MEMORY_LIMIT.get().cloned())
}

/// The store with DuckDB's memory capped, threads from `OVERSIGHT_DUCKDB_THREADS`.
pub(crate) fn open_limited(db: &Path, memory_limit: Option<String>) -> Result<Store> {
    let threads = std::env::var("OVERSIGHT_DUCKDB_THREADS").ok().and_then(|t| t.parse().ok());
    let read_only = READ_ONLY.load(std::sync::atomic::Ordering::Relaxed);
    Ok(Store::open_with(db, &oversight_store::StoreOptions { threads, memory_limit, read_only })?)
}

/// The store for a command that writes: a read-only database is refused up front, saying why.
pub(crate) fn open_writable(db: &Path) -> Result<Store> {
    let store = open(db)?;
    if let Some(why) = store.read_only() {
        return refuse(format!("the database {} is read-only ({why}): this command writes to it", db.display()));
    }
    Ok(store)
}
