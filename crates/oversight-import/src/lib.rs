//! Importers of Oversight: CSV and Parquet readers, TOML source profiles that map any agency's layout onto
//! the canonical record model, row validation with a rejects report, and idempotent, all-or-nothing batches.
//! Also the seeded generator of the synthetic fixtures.
//!
//! It reads files and writes through `oversight-store`; it must not compute indicators or serve HTTP.
//! Everything here blocks: async callers run it on the blocking pool.

pub mod bench;
mod check;
mod dir;
mod engine;
mod error;
mod filter;
pub mod fixtures;
mod group;
mod hash;
mod import;
mod parse;
pub mod profile;
mod profile_check;
mod reader;
pub mod shipped;
mod values;

pub use check::{CheckReport, FieldCheck, ProblemGroup, Unmapped, check};
pub use dir::files_in;
pub use error::ImportError;
pub use import::{
    DEFAULT_MAX_REJECT_SHARE, ImportConfig, ImportOutcome, ImportReport, ImportRequest, InputFile, Progress,
    TableCounts, import,
};
pub use profile::{Profile, ProfileError};
pub use shipped::{resolve_profile, shipped_profiles};
pub use values::glob_match;
