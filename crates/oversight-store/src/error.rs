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
    Duckdb(#[from] duckdb::Error),
    #[error("io error: {0}")]
    Io(#[from] std::io::Error),
}

impl StoreError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Locked { .. } => ErrorCode::Unavailable,
            Self::NotFound { .. } => ErrorCode::NotFound,
            Self::Invalid(_) => ErrorCode::InvalidParameter,
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
        } else {
            Self::Open { path, message }
        }
    }
}
