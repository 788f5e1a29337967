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
        out
    }

    /// The incremental recompute, when something landed and indicators are kept up to date here.
    pub fn finish(self) -> Result<Option<Recomputed>, MetricsError> {
        let Some(cfg) = self.metrics.filter(|_| self.landed) else { return Ok(None) };
        let t = Instant::now();
        let report = oversight_metrics::compute(self.store, cfg, &ComputeRequest::default())?;
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
