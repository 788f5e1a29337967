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
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// One `[[schedule]]` entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
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
    /// A URL source: seconds the download may go without a byte (and to connect) before the attempt fails
    /// (default 60; the whole download is cut off after two hours).
    #[serde(default)]
    pub download_timeout_secs: Option<u64>,
    /// A URL source: attempts after a failed one (a timeout, a refused connection, a 5xx answer), waiting 1,
    /// 2, 4 … seconds between them (default 2; a 4xx answer is not retried).
    #[serde(default)]
    pub download_retries: Option<u32>,
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
    /// A URL source: the `ETag` and `Last-Modified` of the last download that imported cleanly, sent back
    /// (`If-None-Match`, `If-Modified-Since`) so that an unchanged file is not downloaded again.
    pub(crate) validators: std::sync::Mutex<Validators>,
}

/// What a server said identifies the version of a file it sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Validators {
    pub(crate) etag: Option<String>,
    pub(crate) last_modified: Option<String>,
}

/// Re-reads the configuration's schedules (given by the program that started the server).
pub type ScheduleSource = Box<dyn Fn() -> Result<Vec<ScheduleConfig>, String> + Send + Sync>;

/// The schedules in force. A reload replaces them whole, or not at all; `generation` tells the running
/// schedule tasks when theirs has been replaced (they stop; the new set's tasks start).
pub(crate) struct Schedules {
    current: std::sync::RwLock<Arc<Vec<Arc<Schedule>>>>,
    pub(crate) generation: tokio::sync::watch::Sender<u64>,
    pub(crate) source: std::sync::OnceLock<ScheduleSource>,
}

/// Checks every entry (a bad cron expression, time zone, dataset or profile, or a name used twice, is an
/// error naming the schedule).
pub(crate) fn check_all(cfgs: Vec<ScheduleConfig>) -> Result<Vec<Schedule>, String> {
    let mut names = std::collections::HashSet::new();
    let mut out = Vec::new();
    for s in cfgs {
        if !names.insert(s.name.clone()) {
            return Err(format!("two schedules are named {:?}", s.name));
        }
        out.push(Schedule::new(s)?);
    }
    Ok(out)
}

impl Schedules {
    pub(crate) fn new(list: Vec<Schedule>) -> Self {
        Self {
            current: std::sync::RwLock::new(Arc::new(list.into_iter().map(Arc::new).collect())),
            generation: tokio::sync::watch::Sender::new(0),
            source: std::sync::OnceLock::new(),
        }
    }

    /// The schedules in force now.
    pub(crate) fn list(&self) -> Arc<Vec<Arc<Schedule>>> {
        self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    pub(crate) fn find(&self, name: &str) -> Option<Arc<Schedule>> {
        self.list().iter().find(|s| s.cfg.name == name).cloned()
    }

    /// Puts `list` in force: a schedule whose entry did not change is kept as it is (its running state, the
    /// files and versions it has seen). Returns the new set and its generation.
    pub(crate) fn replace(&self, list: Vec<Schedule>) -> (Arc<Vec<Arc<Schedule>>>, u64) {
        let mut cur = self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let new: Vec<Arc<Schedule>> = list
            .into_iter()
            .map(|s| cur.iter().find(|old| old.cfg == s.cfg).cloned().unwrap_or_else(|| Arc::new(s)))
            .collect();
        *cur = Arc::new(new);
        let mut generation = 0;
        self.generation.send_modify(|g| {
            *g += 1;
            generation = *g;
        });
        (cur.clone(), generation)
    }
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
        Ok(Self {
            cfg,
            cron,
            tz,
            running: AtomicBool::new(false),
            known: Default::default(),
            validators: Default::default(),
        })
    }

    pub(crate) fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&t.with_timezone(&self.tz), false).ok().map(|d| d.with_timezone(&Utc))
    }
}
