//! Domain types of Oversight: the datasets and their canonical columns, the code lists every importer maps
//! into, time grains and periods, indicator ids and measures, jurisdiction ids and the error codes that every layer shares.
//!
//! This crate does no IO and links nothing heavy: every other crate depends on it, so it must stay small and
//! quick to compile. It must not know about DuckDB, polars or HTTP.

pub mod codes;
pub mod error;
pub mod filter;
pub mod ids;
pub mod period;
pub mod public;
pub mod schema;
pub mod vocab;

pub use codes::*;
pub use error::ErrorCode;
pub use ids::{IdError, JurisdictionId};
pub use period::{Grain, Period};
pub use schema::{Dataset, FieldDef, FieldType, Table};
pub use vocab::{IndicatorId, Measure};
