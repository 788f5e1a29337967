//! What an import is asked and what it answers: the request, its files, its progress and its report; and
//! one attempt at it ([`Run`]), which the steps of an import share.

use super::input::{FileSnapshot, InputFile};
use crate::ImportError;
use crate::profile::Profile;
use oversight_store::{BatchRecord, Store};

/// Rows per record batch handed to DuckDB.
pub(super) const CHUNK_ROWS: usize = 8_192;

/// What to import.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    pub profile: Profile,
    /// The files of one input (one per file role of the profile).
    pub files: Vec<InputFile>,
    /// Jurisdiction of every record, overriding the profile.
    pub jurisdiction: Option<String>,
    /// Supersede the batch that already holds this input.
    pub replace: bool,
    /// `cli`, `api`, `schedule:<name>`.
    pub origin: String,
    /// The share of rejected rows above which the import is not a success (reported; with `strict`,
    /// nothing lands).
    pub max_reject_share: f64,
    /// Land nothing when the reject share is above `max_reject_share`.
    pub strict: bool,
}

/// The default share of rejected rows above which an import is not a success.
pub const DEFAULT_MAX_REJECT_SHARE: f64 = 0.05;

/// `[import]` settings.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImportConfig {
    /// Share of rejected rows (0 to 1) above which an import is not a success: the CLI exits 4 and the API
    /// answers 422 (the batch still lands, or nothing with `--strict`).
    pub max_reject_share: f64,
}

impl Default for ImportConfig {
    fn default() -> Self {
        Self { max_reject_share: DEFAULT_MAX_REJECT_SHARE }
    }
}

impl ImportRequest {
    /// A request with the defaults: no jurisdiction override, no replace, the default reject share.
    pub fn new(profile: Profile, files: Vec<InputFile>, origin: &str) -> Self {
        Self {
            profile,
            files,
            jurisdiction: None,
            replace: false,
            origin: origin.to_owned(),
            max_reject_share: DEFAULT_MAX_REJECT_SHARE,
            strict: false,
        }
    }
}

/// Progress of a running import.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub bytes_read: u64,
    pub bytes_total: u64,
    pub rows_read: u64,
}

/// Rows per output table.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TableCounts {
    pub table: String,
    pub read: i64,
    pub accepted: i64,
    pub rejected: i64,
}

/// A finished import.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportReport {
    pub batch: BatchRecord,
    pub tables: Vec<TableCounts>,
    /// Most frequent reject reasons with their row counts.
    pub top_reasons: Vec<(String, i64)>,
    pub jurisdictions_created: Vec<String>,
    /// What the reader should know (a record key the profile does not map, say).
    pub warnings: Vec<String>,
    /// Rejected rows / rows read (all tables).
    pub reject_share: f64,
    /// The reject share is above the request's limit: the batch landed, but the import is not a success.
    pub over_reject_share: bool,
}

/// The result of an import request.
#[derive(Debug, Clone)]
pub enum ImportOutcome {
    Imported(ImportReport),
    /// The same input with the same profile is already in this batch: nothing was done.
    AlreadyImported(BatchRecord),
}

/// Rows per chunk of the main file, and the most text a chunk holds (a chunk of long records is sent
/// sooner).
pub(super) const READ_CHUNK: usize = 4096;
pub(super) const READ_CHUNK_TEXT: usize = 8 << 20;

/// The outcome for an input a committed batch holds: a no-op, or a refusal when that batch read it with
/// another version of the profile (a batch is the file and the profile's content, not its name).
pub(super) fn already_imported(profile: &Profile, f: &InputFile, b: BatchRecord) -> Result<ImportOutcome, ImportError> {
    if b.profile_sha256 != profile.sha256 {
        return Err(ImportError::refused(
            &f.name,
            None,
            None,
            format!(
                "this file was imported in batch {} with an earlier version of profile {} (the profile has changed \
                 since): pass --replace (replace=true) to import it again with this version",
                b.id, profile.name
            ),
        ));
    }
    Ok(ImportOutcome::AlreadyImported(b))
}

/// One attempt at an import: what it reads and where it reports.
pub(super) struct Run<'a> {
    pub(super) store: &'a Store,
    pub(super) req: &'a ImportRequest,
    /// The input files by role, the main file first.
    pub(super) roles: &'a [(String, InputFile)],
    pub(super) snapshots: &'a [FileSnapshot],
    pub(super) progress: &'a (dyn Fn(Progress) + Sync),
}

impl Run<'_> {
    pub(super) fn profile(&self) -> &Profile {
        &self.req.profile
    }

    pub(super) fn main_file(&self) -> &InputFile {
        &self.roles[0].1
    }
}
