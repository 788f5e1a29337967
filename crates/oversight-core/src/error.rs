//! Error codes shared by every layer.
//!
//! Policy: library crates define their own `thiserror` enums and give each variant one of these codes;
//! `anyhow` is used only in the `oversight` binary (startup, config, wiring). The API maps a code to an HTTP
//! status in exactly one function (`oversight_api::error`), and the CLI maps it to an exit code. Internal
//! errors are logged in full and shown to API clients only as a generic message.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A parameter or field has a bad value.
    InvalidParameter,
    /// A query parameter the endpoint does not take.
    UnknownParameter,
    /// No such resource.
    NotFound,
    /// No or an unknown API key.
    Unauthorized,
    /// The key's role is too low.
    Forbidden,
    /// The request conflicts with the current state (e.g. a duplicate).
    Conflict,
    /// The request body is larger than allowed.
    PayloadTooLarge,
    /// A file was refused as a whole before any row landed.
    FileRefused,
    /// The analysis cannot run on this data (too few periods, no variation).
    Unprocessable,
    /// The database is held by another process or the server is shutting down.
    Unavailable,
    /// The database file is damaged (a block fails its checksum): nothing can be trusted until it is restored.
    DatabaseCorrupt,
    /// The database is open read-only: writes are refused.
    ReadOnly,
    /// The disk holding the database or the upload spool is full.
    InsufficientStorage,
    /// One client has too many requests in flight.
    TooManyRequests,
    /// The client sent its request too slowly.
    RequestTimeout,
    /// A bug or an unexpected failure; details go to the log only.
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidParameter => "invalid_parameter",
            Self::UnknownParameter => "unknown_parameter",
            Self::NotFound => "not_found",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::Conflict => "conflict",
            Self::PayloadTooLarge => "payload_too_large",
            Self::FileRefused => "file_refused",
            Self::Unprocessable => "unprocessable",
            Self::Unavailable => "unavailable",
            Self::DatabaseCorrupt => "database_corrupt",
            Self::ReadOnly => "read_only",
            Self::InsufficientStorage => "insufficient_storage",
            Self::TooManyRequests => "too_many_requests",
            Self::RequestTimeout => "request_timeout",
            Self::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
