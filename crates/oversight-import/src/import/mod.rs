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

mod request;

pub use input::InputFile;
pub use request::{
    DEFAULT_MAX_REJECT_SHARE, ImportConfig, ImportOutcome, ImportReport, ImportRequest, Progress, TableCounts,
};

use crate::ImportError;
use crate::hash::sha256_file;
use input::{FileSnapshot, assign_roles, check_regular_file, identity, is_parquet, refuse_same_file_twice};
use oversight_store::Store;
use oversight_store::{BatchFile, BatchStatus, NewBatch};
use request::{Run, already_imported};
use std::sync::atomic::Ordering;

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

impl Run<'_> {
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
