//! Use cases of Oversight that the CLI, the HTTP upload, the scheduler and the demo share, so each is written
//! once: an import (or several) and the incremental recompute of indicators that it implies. Everything here
//! blocks and runs on the writer connection the caller holds.

pub mod dictionary;
pub mod tables;

use oversight_core::ErrorCode;
use oversight_import::{ImportError, ImportOutcome, ImportRequest, Progress};
use oversight_metrics::{ComputeReport, ComputeRequest, MetricsConfig, MetricsError};
use oversight_store::Store;
use std::time::{Duration, Instant};

/// Imports, then the incremental recompute they imply: once, after the last, and only when a batch landed.
pub struct Apply<'s> {
    store: &'s Store,
    /// None: the caller recomputes separately (the CLI's `import`, then `compute`).
    metrics: Option<&'s MetricsConfig>,
    landed: bool,
    /// Time spent importing so far.
    pub import_time: Duration,
}

/// What a recompute did and how long it took.
#[derive(Debug)]
pub struct Recomputed {
    pub report: ComputeReport,
    pub time: Duration,
}

impl<'s> Apply<'s> {
    pub fn new(store: &'s Store, metrics: Option<&'s MetricsConfig>) -> Self {
        Self { store, metrics, landed: false, import_time: Duration::ZERO }
    }

    /// One import (a batch lands whole or not at all; a file already imported is a no-op).
    pub fn import(
        &mut self,
        req: &ImportRequest,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<ImportOutcome, ImportError> {
        let t = Instant::now();
        let out = oversight_import::import(self.store, req, progress);
        self.import_time += t.elapsed();
        self.landed |= matches!(out, Ok(ImportOutcome::Imported(_)));
        let files = req.files.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(" + ");
        let secs = t.elapsed().as_secs_f64();
        match &out {
            Ok(ImportOutcome::Imported(r)) => tracing::info!(
                batch = r.batch.id,
                dataset = %r.batch.dataset,
                profile = %r.batch.profile,
                files = %files,
                rows_read = r.batch.rows_read,
                rows_accepted = r.batch.rows_accepted,
                rows_rejected = r.batch.rows_rejected,
                duration_s = secs,
                "import {files}: batch {} ({} accepted, {} rejected) in {secs:.2} s",
                r.batch.id,
                r.batch.rows_accepted,
                r.batch.rows_rejected
            ),
            Ok(ImportOutcome::AlreadyImported(b)) => {
                tracing::info!(batch = b.id, files = %files, "import {files}: already imported as batch {}", b.id)
            }
            // The caller reports the error (the CLI prints it, the API answers it): logged, not shown twice.
            Err(e) => tracing::info!(files = %files, duration_s = secs, error = %e, "import {files} failed: {e}"),
        }
        out
    }

    /// The incremental recompute, when something landed and indicators are kept up to date here.
    pub fn finish(self) -> Result<Option<Recomputed>, MetricsError> {
        let Some(cfg) = self.metrics.filter(|_| self.landed) else { return Ok(None) };
        let t = Instant::now();
        let report = oversight_metrics::compute(self.store, cfg, &ComputeRequest::default())?;
        let secs = t.elapsed().as_secs_f64();
        tracing::info!(
            points_written = report.points_written,
            duration_s = secs,
            "recomputed the indicators in {secs:.2} s"
        );
        Ok(Some(Recomputed { report, time: t.elapsed() }))
    }
}

/// Why [`import_and_recompute`] failed: the import (nothing landed) or the recompute after it (the batch
/// landed; the indicators are as before until the next compute).
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Compute(#[from] MetricsError),
}

impl ApplyError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Import(e) => e.code(),
            Self::Compute(e) => e.code(),
        }
    }
}

/// One import and the recompute it implies.
pub fn import_and_recompute(
    store: &Store,
    req: &ImportRequest,
    metrics: &MetricsConfig,
) -> Result<(ImportOutcome, Option<Recomputed>, Duration), ApplyError> {
    let mut apply = Apply::new(store, Some(metrics));
    let outcome = apply.import(req, &|_| {})?;
    let import_time = apply.import_time;
    Ok((outcome, apply.finish()?, import_time))
}
