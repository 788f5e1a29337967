//! Store errors. Each maps to an [`ErrorCode`]; the DuckDB text is kept for logs.

use oversight_core::ErrorCode;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the database file.
    #[error(
        "the database {path} is in use by another process{holder}; if `oversight serve` is running on it, \
         send the work through the server (--server URL) or stop it first"
    )]
    Locked { path: PathBuf, holder: String },
    #[error("cannot open the database {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error("migration {version} ({name}) failed: {source}")]
    Migration { version: u32, name: &'static str, source: duckdb::Error },
    #[error("the database {path} was written by a newer Oversight (schema version {found}, this build knows {known})")]
    TooNew { path: PathBuf, found: i64, known: u32 },
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("{0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Duckdb(duckdb::Error),
    /// A block of the file fails its checksum (or another sign of a damaged file).
    #[error("the database file is damaged ({0}); restore it from a backup")]
    Corrupt(String),
    /// A write failed for want of space.
    #[error("the disk is full: {0}; nothing of this write was kept: free space and try again")]
    DiskFull(String),
    /// A write on a database opened read-only.
    #[error("the database is open read-only, so it cannot be changed ({0})")]
    ReadOnly(String),
    #[error("io error: {0}")]
    Io(std::io::Error),
}

impl From<duckdb::Error> for StoreError {
    /// DuckDB's errors that mean the same to every caller get their own variant (and error code).
    fn from(e: duckdb::Error) -> Self {
        let m = e.to_string();
        let lower = m.to_ascii_lowercase();
        if lower.contains("corrupt database file") || (lower.contains("checksum") && lower.contains("does not match")) {
            Self::Corrupt(m)
        } else if lower.contains("no space left on device") || lower.contains("disk full") {
            Self::DiskFull(short_io(&m))
        } else if lower.contains("read-only mode") {
            Self::ReadOnly(m)
        } else {
            Self::Duckdb(e)
        }
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::StorageFull { Self::DiskFull(e.to_string()) } else { Self::Io(e) }
    }
}

/// DuckDB's message about a failed write, short: `could not write /db/x.duckdb.wal (No space left on device)`.
fn short_io(m: &str) -> String {
    let first = m.lines().next().unwrap_or(m);
    if let Some(i) = first.find("file \"")
        && let Some(j) = first[i + 6..].find('"')
    {
        let path = &first[i + 6..i + 6 + j];
        let why = first[i + 6 + j + 1..].trim_start_matches([':', ' ']);
        let why = if why.is_empty() { "No space left on device" } else { why };
        return format!("could not write {path} ({why})");
    }
    first.rsplit(": ").next().unwrap_or(first).trim().to_owned()
}

impl StoreError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Locked { .. } => ErrorCode::Unavailable,
            Self::NotFound { .. } => ErrorCode::NotFound,
            Self::Invalid(_) => ErrorCode::InvalidParameter,
            Self::Corrupt(_) => ErrorCode::DatabaseCorrupt,
            Self::DiskFull(_) => ErrorCode::InsufficientStorage,
            Self::ReadOnly(_) => ErrorCode::ReadOnly,
            Self::Open { .. } | Self::Migration { .. } | Self::TooNew { .. } | Self::Duckdb(_) | Self::Io(_) => {
                ErrorCode::Internal
            }
        }
    }

    pub(crate) fn from_open(path: PathBuf, e: duckdb::Error) -> Self {
        let message = e.to_string();
        if message.contains("Could not set lock") || message.contains("Conflicting lock") {
            let holder = message
                .find("(PID ")
                .and_then(|i| message[i..].find(')').map(|j| format!(" {}", &message[i..i + j + 1])))
                .unwrap_or_default();
            Self::Locked { path, holder }
        } else if matches!(Self::from(e), Self::Corrupt(_)) {
            Self::Corrupt(format!("{}: {message}", path.display()))
        } else {
            Self::Open { path, message }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_full_disk_is_one_short_sentence() {
        assert_eq!(
            super::short_io(
                "TransactionContext Error: Failed to commit: Could not write file \"/d/db.duckdb.wal\": No space left on device"
            ),
            "could not write /d/db.duckdb.wal (No space left on device)"
        );
        assert_eq!(super::short_io("IO Error: No space left on device"), "No space left on device");
    }
}
