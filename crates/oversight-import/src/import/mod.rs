//! One import: files hashed, checked against earlier batches, read, mapped, validated and written as one
//! transaction, in three steps: [`prepare`] opens the input and compiles the profile's plans against its
//! headers, [`pipeline`] maps the main file's rows on worker threads while this thread appends them to
//! DuckDB, and [`finish`] checks what was read, the record keys and the child rows, and commits.
//! [`input`] holds what concerns the files themselves (roles, snapshots, loading one whole).

mod children;
mod finish;
mod input;
mod keys;
mod pipeline;
mod prepare;

use crate::ImportError;
use crate::hash::sha256_file;
use crate::profile::Profile;
use input::{FileSnapshot, assign_roles, check_regular_file, identity, is_parquet, refuse_same_file_twice};
use oversight_store::{BatchFile, BatchRecord, BatchStatus, NewBatch, Store};
use std::path::PathBuf;
use std::sync::atomic::Ordering;

/// Rows per record batch handed to DuckDB.
const CHUNK_ROWS: usize = 8_192;

/// A file to import, with the name it is known by (an upload's original name, say).
#[derive(Debug, Clone)]
pub struct InputFile {
    pub path: PathBuf,
    pub name: String,
}

impl InputFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let name =
            path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string());
        Self { path, name }
    }
}

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

/// Imports one input (all files of one batch).
pub fn import(
    store: &Store,
    req: &ImportRequest,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<ImportOutcome, ImportError> {
    let profile = &req.profile;
    if req.files.is_empty() {
        return Err(ImportError::Usage("no file to import".into()));
    }
    for f in &req.files {
        check_regular_file(f)?;
    }
    if let Some(j) = &req.jurisdiction {
        oversight_core::JurisdictionId::new(j.as_str()).map_err(|e| ImportError::Usage(e.to_string()))?;
    }
    refuse_same_file_twice(&req.files)?;
    let roles = assign_roles(store, profile, &req.files)?;
    let snapshots: Vec<FileSnapshot> = roles.iter().map(|(_, f)| FileSnapshot::take(f)).collect::<Result<_, _>>()?;
    let dataset = profile.dataset.as_str().to_owned();
    let mut files: Vec<BatchFile> = roles
        .iter()
        .zip(&snapshots)
        .map(|((role, f), snap)| BatchFile {
            role: role.clone(),
            name: f.name.clone(),
            sha256: String::new(),
            bytes: snap.len,
        })
        .collect();
    // The input's identity is its sha256. A CSV main file is hashed while it is read (one pass over the
    // bytes); when an earlier batch of this profile has the same size the input may be a re-run, so it is
    // hashed first and a re-run costs one pass and nothing more.
    let total: u64 = files.iter().map(|f| f.bytes).sum();
    let maybe_rerun = store.committed_batch_with_size(&dataset, &profile.name, total as i64)?;
    let stream_main = !maybe_rerun && !is_parquet(profile, &roles[0].1.path);
    let t_hash = std::time::Instant::now();
    for (k, (_, f)) in roles.iter().enumerate() {
        if k == 0 && stream_main {
            continue;
        }
        files[k].sha256 = sha256_file(&f.path).map_err(|e| ImportError::io(&f.name, e))?.0;
    }
    tracing::debug!(seconds = t_hash.elapsed().as_secs_f64(), streamed = stream_main, "hashed the input");
    let jurisdiction_id = req.jurisdiction.clone().or_else(|| profile.toml.jurisdiction.id.clone());
    let mut batch = NewBatch {
        dataset,
        profile: profile.name.clone(),
        profile_sha256: profile.sha256.clone(),
        files,
        sha256: String::new(),
        jurisdiction_id: jurisdiction_id.clone(),
        started_at: chrono::Utc::now().naive_utc(),
        origin: req.origin.clone(),
    };
    if !stream_main {
        batch.sha256 = identity(&batch.files);
        if let Some(b) = store.find_committed_batch(&batch.dataset, &batch.profile, &batch.sha256)?
            && !req.replace
        {
            return already_imported(profile, &roles[0].1, b);
        }
    }
    // A grouped file sorted by its key streams; one that is not is read again, whole, in memory.
    let attempt = Run { store, req, roles: &roles, snapshots: &snapshots, progress };
    let attempt = |stream: bool| attempt.run(batch.clone(), stream);
    let result = match attempt(true) {
        Err(ImportError::Unsorted) => {
            tracing::debug!("the grouped file is not sorted by its key: grouping it in memory");
            attempt(false)
        }
        other => other,
    };
    match result {
        Ok(outcome) => Ok(outcome),
        Err(e) => {
            let status = if e.is_refusal() { BatchStatus::Refused } else { BatchStatus::Failed };
            let message = if e.is_explained() { e.to_string() } else { "internal error (see the log)".to_owned() };
            if batch.sha256.is_empty() {
                // Refused before it was read whole: hash it now so the attempt is on record by its identity.
                for (k, (_, f)) in roles.iter().enumerate() {
                    if batch.files[k].sha256.is_empty() {
                        batch.files[k].sha256 = sha256_file(&f.path).map(|h| h.0).unwrap_or_default();
                    }
                }
                batch.sha256 = identity(&batch.files);
            }
            if let Err(e2) = store.record_unlanded_batch(&batch, status, 0, &message) {
                tracing::warn!(error = %e2, "could not record the refused batch");
            }
            Err(e)
        }
    }
}

/// The outcome for an input a committed batch holds: a no-op, or a refusal when that batch read it with
/// another version of the profile (a batch is the file and the profile's content, not its name).
fn already_imported(profile: &Profile, f: &InputFile, b: BatchRecord) -> Result<ImportOutcome, ImportError> {
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

/// Rows per chunk of the main file, and the most text a chunk holds (a chunk of long records is sent
/// sooner).
const READ_CHUNK: usize = 4096;
const READ_CHUNK_TEXT: usize = 8 << 20;

/// One attempt at an import: what it reads and where it reports.
struct Run<'a> {
    store: &'a Store,
    req: &'a ImportRequest,
    /// The input files by role, the main file first.
    roles: &'a [(String, InputFile)],
    snapshots: &'a [FileSnapshot],
    progress: &'a (dyn Fn(Progress) + Sync),
}

impl Run<'_> {
    fn profile(&self) -> &Profile {
        &self.req.profile
    }

    fn main_file(&self) -> &InputFile {
        &self.roles[0].1
    }

    /// Prepare, map, finish. `stream_groups`: stream a grouped CSV file through its groups (the reader
    /// answers [`ImportError::Unsorted`] when it is not sorted by its key).
    fn run(&self, batch: NewBatch, stream_groups: bool) -> Result<ImportOutcome, ImportError> {
        let (inputs, main) = prepare::open(self, stream_groups)?;
        let workers = pipeline::workers();
        let (plans, children) = prepare::compile(self, &inputs, batch.jurisdiction_id.as_deref(), workers)?;
        let mut ing = self.store.begin_ingest(batch.clone(), None)?;
        let bytes_total = batch.bytes();
        let report = |rows: u64| {
            let bytes_read = inputs.counter.load(Ordering::Relaxed);
            (self.progress)(Progress { bytes_read, bytes_total, rows_read: rows })
        };
        let mapped = pipeline::map_main(self, &mut ing, &inputs, main, plans, &report)?;
        finish::finish(self, ing, batch, inputs, mapped, children)
    }
}
