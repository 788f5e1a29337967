//! Indicator jobs of Oversight. Records are read from the store (Arrow, handed to polars without copying),
//! summed by day into an additive cube with polars lazy group-bys, and the cube is summed into periods of
//! every grain (week, month, quarter, year, all time) to give indicator points: counts, proportions,
//! per-resident rates, and ratios or differences against a reference group, each with numerator,
//! denominator, interval and method, then disclosure control. A new import rebuilds only the cube days it
//! touched and rewrites only the periods those days fall in.
//!
//! This is the only crate that links polars. It must not serve HTTP or parse source files; it reads and
//! writes through `oversight-store` and blocks (async callers use the blocking pool).

pub mod analysis;
pub mod catalog;
pub mod compare;
mod complaints;
pub mod config;
pub mod cube;
pub mod disparity;
mod durations;
mod frame;
mod points;
pub mod published;
mod quality;
mod run;
pub mod suppress;
pub mod tables;
mod totals;

pub use catalog::{CATALOG, Indicator, Kind, indicator, info};
pub use config::{AnalysisConfig, MetricsConfig};
pub use disparity::{DisparityRow, DisparityTable};
pub use run::{ComputeReport, ComputeRequest, code_version, compute};

use oversight_core::ErrorCode;

/// Errors of the metrics jobs.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error(transparent)]
    Store(#[from] oversight_store::StoreError),
    #[error("polars: {0}")]
    Polars(#[from] polars::prelude::PolarsError),
    #[error("{0}")]
    Invalid(String),
    /// The data cannot support the analysis asked for (too few periods, no variation, …).
    #[error("{0}")]
    Refused(String),
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    /// Nothing to compute from (no records in the window).
    #[error("{0}")]
    Empty(String),
    /// A fault of Oversight itself (stored data and code disagree), never the caller's.
    #[error("internal error: {0}")]
    Internal(String),
}

impl MetricsError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Store(e) => e.code(),
            Self::Invalid(_) => ErrorCode::InvalidParameter,
            Self::Refused(_) => ErrorCode::Unprocessable,
            Self::NotFound { .. } | Self::Empty(_) => ErrorCode::NotFound,
            Self::Polars(_) | Self::Internal(_) => ErrorCode::Internal,
        }
    }
}
