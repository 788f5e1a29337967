//! The DuckDB store of Oversight: opens (or creates) the database file, applies the numbered migrations in
//! `sql/migrations`, and owns every SQL statement the project runs — named queries live in `sql/queries` and
//! are loaded here with `include_str!`.
//!
//! This is the only crate that links `duckdb`. It owns the blocking boundary: its calls block, so async
//! callers run them on the blocking pool. It must not contain indicator logic (that is `oversight-metrics`)
//! or source-format knowledge (that is `oversight-import`). Parameters are always bound; the only identifiers
//! placed in SQL text come from closed enums (`oversight_core::Table`).

mod api;
mod arrow_chunk;
mod backup;
mod batches;
mod cube_dir;
mod error;
mod events;
mod extract;
mod files;
mod ingest;
mod jurisdictions;
mod lake;
mod metrics;
mod migrate;
pub mod polars_bridge;
pub mod queries;
mod store;
mod stream;

pub use api::{ApiKey, AuditEntry, DatasetSummary, NewAuditEntry, ScheduleRun};
pub use backup::{BackupFile, BackupManifest, MANIFEST, restore, verify_backup};
pub use batches::{BatchDetails, BatchFile, BatchRecord, BatchStatus, NewBatch, RejectRecord};
pub use cube_dir::{CUBE_MANIFEST, CubeManifest, verify_cube_dir};
pub use error::StoreError;
pub use events::{NewPolicyEvent, PolicyEvent, SearchCounts, TimedStop};
pub use extract::{CrossCell, ExtractQuery, KEYED_ID_COLUMNS, RowFormat, neutralise};
pub use files::bench;
pub use ingest::{Ingest, IngestSummary, appended_columns};
pub use jurisdictions::{Coverage, Jurisdiction, JurisdictionPatch};
pub use lake::{LAKE_MANIFEST, LakeImport, LakeManifest, verify_lake};
pub use metrics::{BatchExtent, CubeRow, Frame, MetricRun, MetricTxn, PointRow, PopulationFigure, QualityNote};
pub use migrate::MIGRATIONS;
pub use store::{Store, StoreOptions};

/// Arrow (arrow-rs, as DuckDB links it): importers build record batches with it.
pub use duckdb::arrow;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests;
