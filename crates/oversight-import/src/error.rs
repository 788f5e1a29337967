//! Import errors. A refused file is the user's to fix (exit code 2, HTTP 422 with `file_refused`); anything
//! else is ours (exit code 1, HTTP 500).

use oversight_core::ErrorCode;
use oversight_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file as a whole cannot be imported; nothing of it landed.
    #[error("{file}{}: {message}", location(*line, column.as_deref()))]
    Refused { file: String, line: Option<u64>, column: Option<String>, message: String },
    #[error(transparent)]
    Profile(#[from] crate::profile::ProfileError),
    /// More rows were rejected than the request allows, and it asked for nothing to land then (`--strict`).
    #[error("{file}: {message}")]
    TooManyRejects { file: String, message: String },
    /// A grouped file is not sorted by its group key: the streaming pass gives way to the in-memory one.
    /// (Never returned by `import`.)
    #[error("the file is not sorted by its group key")]
    Unsorted,
    #[error("{0}")]
    Usage(String),
    /// Ours, not the user's: a worker thread panicked, a channel broke, an invariant failed (exit code 1,
    /// HTTP 500).
    #[error("internal error: {0}")]
    Internal(String),
    #[error("cannot read {file}: {source}")]
    Io { file: String, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn location(line: Option<u64>, column: Option<&str>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(", line {l}, column {c:?}"),
        (Some(l), None) => format!(", line {l}"),
        (None, Some(c)) => format!(", column {c:?}"),
        (None, None) => String::new(),
    }
}

impl ImportError {
    pub(crate) fn refused(file: &str, line: Option<u64>, column: Option<&str>, message: String) -> Self {
        Self::Refused { file: file.to_owned(), line, column: column.map(str::to_owned), message }
    }

    pub(crate) fn io(file: &str, source: std::io::Error) -> Self {
        Self::Io { file: file.to_owned(), source }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Refused { .. } | Self::TooManyRejects { .. } => ErrorCode::FileRefused,
            Self::Profile(_) | Self::Usage(_) | Self::Unsorted => ErrorCode::InvalidParameter,
            Self::Io { .. } => ErrorCode::FileRefused,
            Self::Internal(_) => ErrorCode::Internal,
            Self::Store(e) => e.code(),
        }
    }

    /// Whether the user's input (file, profile or arguments) is at fault rather than the program.
    pub fn is_refusal(&self) -> bool {
        !matches!(
            self.code(),
            ErrorCode::Internal | ErrorCode::Unavailable | ErrorCode::InsufficientStorage | ErrorCode::DatabaseCorrupt
        )
    }

    /// Whether the message is fit for the batch record and the user (everything but internal errors).
    pub fn is_explained(&self) -> bool {
        self.code() != ErrorCode::Internal
    }
}
