//! A schedule's definition: the `[[schedule]]` entry as configured, and as checked and ready to run (its
//! cron, its zone, whether it is running, the files it has seen) — what the server's state holds, kept apart
//! from the runs (`schedule.rs`), which take the state.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use oversight_core::Dataset;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::AtomicBool;

/// One `[[schedule]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Unique; used in `/v1/schedules/{name}/run`.
    pub name: String,
    /// Five fields (minute hour day-of-month month day-of-week), or six with seconds first.
    pub cron: String,
    /// IANA time zone the cron expression is read in (default UTC).
    #[serde(default)]
    pub timezone: Option<String>,
    pub dataset: String,
    /// A shipped profile name or a profile file on the server.
    pub profile: String,
    /// A directory (every file in it), a glob in the last path segment (`/data/stops/*.csv`), or an
    /// http(s) URL of one file.
    pub source: String,
    #[serde(default)]
    pub jurisdiction: Option<String>,
    /// Run once at start-up when an occurrence was missed while the server was down (default true).
    #[serde(default = "yes")]
    pub catch_up: bool,
    /// A URL source: seconds the download may go without a byte (and to connect) before the run fails
    /// (default 60; the whole download is cut off after two hours).
    #[serde(default)]
    pub download_timeout_secs: Option<u64>,
}

pub(crate) fn yes() -> bool {
    true
}

/// A schedule ready to run.
pub(crate) struct Schedule {
    pub(crate) cfg: ScheduleConfig,
    pub(crate) cron: Cron,
    pub(crate) tz: Tz,
    pub(crate) running: AtomicBool,
    /// Files a run of this process imported or found already imported, by (path, size, modification time):
    /// later runs skip them without reading them again to hash.
    pub(crate) known: std::sync::Mutex<std::collections::HashSet<FileStamp>>,
}

pub(crate) type FileStamp = (PathBuf, u64, Option<std::time::SystemTime>);

pub(crate) fn stamp(path: &Path) -> Option<FileStamp> {
    let m = std::fs::metadata(path).ok()?;
    Some((path.to_path_buf(), m.len(), m.modified().ok()))
}

impl Schedule {
    /// Checks an entry: the cron expression, time zone, dataset and profile must all be valid.
    pub(crate) fn new(cfg: ScheduleConfig) -> Result<Self, String> {
        let cron =
            Cron::from_str(&cfg.cron).map_err(|e| format!("schedule {:?}: cron {:?}: {e}", cfg.name, cfg.cron))?;
        let tz: Tz = match &cfg.timezone {
            None => Tz::UTC,
            Some(t) => t.parse().map_err(|_| format!("schedule {:?}: unknown time zone {t:?}", cfg.name))?,
        };
        let ds: Dataset = cfg.dataset.parse().map_err(|e| format!("schedule {:?}: dataset: {e}", cfg.name))?;
        oversight_import::resolve_profile(&cfg.profile, Some(ds))
            .map_err(|e| format!("schedule {:?}: profile: {e}", cfg.name))?;
        if cfg.source.trim().is_empty() {
            return Err(format!("schedule {:?}: empty source", cfg.name));
        }
        Ok(Self { cfg, cron, tz, running: AtomicBool::new(false), known: Default::default() })
    }

    pub(crate) fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&t.with_timezone(&self.tz), false).ok().map(|d| d.with_timezone(&Utc))
    }
}
