//! Scheduled imports: `[[schedule]]` entries run inside `oversight serve`. Each run imports the files of its
//! source that no batch holds yet (the importer recognises a file by sha256), recomputes the periods they
//! touched and records the outcome in `schedule_runs`. A run that would overlap a running one is skipped with
//! a log line; a run missed while the server was down runs once at start-up (`catch_up`); one failing source
//! or file never stops the others.

use crate::error::{ApiError, ApiResult};
pub use crate::schedule_def::ScheduleConfig;
use crate::schedule_def::{Schedule, Validators, stamp};
use crate::state::AppState;
use chrono::{DateTime, NaiveDateTime, Utc};
use oversight_core::{Dataset, ErrorCode};
use oversight_import::{ImportOutcome, ImportRequest, InputFile, glob_match};
use oversight_store::{ScheduleRun, Store};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use utoipa::ToSchema;

/// A schedule's state, as `GET /v1/schedules` shows it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"name": "nightly-stops", "cron": "0 2 * * *", "timezone": "America/New_York", "dataset": "stops",
    "profile": "opp", "source": "/srv/drop/stops", "jurisdiction": "ct-hartford", "running": false, "next_run": "2026-11-23T07:00:00Z",
    "last_run": {"id": 4, "schedule": "nightly-stops", "trigger": "cron", "started_at": "2026-11-22T07:00:00Z", "finished_at": "2026-11-22T07:00:03Z",
    "outcome": "ok", "files_imported": 1, "files_skipped": 3, "files_failed": 0, "rows_accepted": 18435, "batches": [9], "error": null}}))]
pub struct ScheduleStatus {
    pub name: String,
    pub cron: String,
    pub timezone: String,
    pub dataset: String,
    pub profile: String,
    pub source: String,
    pub jurisdiction: Option<String>,
    pub running: bool,
    pub next_run: Option<DateTime<Utc>>,
    #[schema(value_type = Option<Object>)]
    pub last_run: Option<ScheduleRun>,
}

pub(crate) fn status(s: &Schedule, last: Option<ScheduleRun>) -> ScheduleStatus {
    ScheduleStatus {
        name: s.cfg.name.clone(),
        cron: s.cfg.cron.clone(),
        timezone: s.tz.name().to_owned(),
        dataset: s.cfg.dataset.clone(),
        profile: s.cfg.profile.clone(),
        source: redact(&s.cfg.source),
        jurisdiction: s.cfg.jurisdiction.clone(),
        running: s.running.load(Ordering::SeqCst),
        next_run: s.next_after(Utc::now()),
        last_run: last,
    }
}

/// A source as `/v1/schedules` shows it: a URL loses its credentials and query string (tokens live there).
fn redact(source: &str) -> String {
    let Some((scheme, rest)) = source.split_once("://") else { return source.to_owned() };
    let (host_path, had_query) = match rest.split_once('?') {
        Some((hp, _)) => (hp, true),
        None => (rest, false),
    };
    let host_path = match host_path.split_once('/') {
        Some((authority, path)) => format!("{}/{path}", authority.rsplit('@').next().unwrap_or(authority)),
        None => host_path.rsplit('@').next().unwrap_or(host_path).to_owned(),
    };
    format!("{scheme}://{host_path}{}", if had_query { "?…" } else { "" })
}

/// Starts one task per schedule in force on the current runtime; each stops when a reload replaces its set.
pub(crate) fn spawn_all(state: &AppState) {
    let generation = *state.0.schedules.generation.borrow();
    for sched in state.0.schedules.list().iter() {
        let (st, sched) = (state.clone(), sched.clone());
        tokio::spawn(async move { run_loop(st, sched, generation).await });
    }
}

/// Re-reads the configuration's schedules and puts them in force, or keeps the running ones and says why
/// not: an entry that does not check (cron, time zone, dataset, profile, a name used twice), a configuration
/// that cannot be read, a read-only database. Returns the names now in force.
pub(crate) async fn reload(state: &AppState) -> ApiResult<Vec<String>> {
    if let Some(why) = state.read_only() {
        return Err(ApiError::new(ErrorCode::ReadOnly, format!("the database is read-only ({why}): no schedule runs")));
    }
    let st = state.clone();
    let checked = tokio::task::spawn_blocking(move || {
        let source =
            st.0.schedules.source.get().ok_or_else(|| {
                "this server was started without a configuration to read schedules from again".to_owned()
            })?;
        crate::schedule_def::check_all(source()?)
    })
    .await?
    .map_err(|why| ApiError::param("configuration", format!("{why}; the schedules in force are kept")))?;
    let (list, _) = state.0.schedules.replace(checked);
    spawn_all(state);
    let names: Vec<String> = list.iter().map(|s| s.cfg.name.clone()).collect();
    tracing::info!(schedules = ?names, "schedules reloaded: {} in force", names.len());
    Ok(names)
}

async fn run_loop(state: AppState, sched: Arc<Schedule>, generation: u64) {
    let name = sched.cfg.name.clone();
    let mut replaced = state.0.schedules.generation.subscribe();
    let stale = |g: u64| g != generation;
    if sched.cfg.catch_up {
        let n2 = name.clone();
        let last = state.read(move |s| Ok(s.last_schedule_run(&n2)?)).await.ok().flatten();
        if let Some(last) = last {
            let last_start = last.started_at.and_utc();
            if sched.next_after(last_start).is_some_and(|t| t < Utc::now()) && !stale(*replaced.borrow()) {
                tracing::info!("schedule {name}: an occurrence was missed while the server was down; running it now");
                let _ = run_now(&state, &sched, "catch-up").await;
            }
        }
    }
    loop {
        if stale(*replaced.borrow_and_update()) {
            return;
        }
        let now = Utc::now();
        let Some(next) = sched.next_after(now) else {
            tracing::warn!("schedule {name}: the cron expression has no future occurrence; stopping");
            return;
        };
        let wait = (next - now).to_std().unwrap_or_default();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            changed = replaced.changed() => {
                if changed.is_err() || stale(*replaced.borrow()) {
                    return;
                }
                continue;
            }
        }
        if let Err(e) = run_now(&state, &sched, "cron").await
            && e.code != ErrorCode::Conflict
        {
            tracing::error!("schedule {name}: {}", e.message);
        }
    }
}

/// Runs a schedule now unless it is already running (then a Conflict error, logged for cron ticks).
pub(crate) async fn run_now(state: &AppState, sched: &Arc<Schedule>, trigger: &'static str) -> ApiResult<ScheduleRun> {
    if sched.running.swap(true, Ordering::SeqCst) {
        tracing::info!(
            "schedule {}: still running from the previous tick; this {trigger} run is skipped",
            sched.cfg.name
        );
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("schedule {} is running; try again when it ends", sched.cfg.name),
        ));
    }
    // The source is listed (a URL downloaded) before the writer is taken: a slow server must not hold every
    // other write back.
    let s2 = sched.clone();
    let listed = tokio::task::spawn_blocking(move || list_source(&s2))
        .await
        .unwrap_or_else(|e| Err(format!("listing the source failed: {e}")));
    let (st, s2) = (state.clone(), sched.clone());
    let res = state.write(move |store| Ok(run_blocking(&st, store, &s2, trigger, listed))).await;
    sched.running.store(false, Ordering::SeqCst);
    let run = res?;
    let secs = run.finished_at.map_or(0.0, |f| (f - run.started_at).as_seconds_f64());
    tracing::info!(
        schedule = %run.schedule,
        trigger,
        outcome = %run.outcome,
        batches = ?run.batches,
        rows_accepted = run.rows_accepted,
        duration_s = secs,
        error = run.error.as_deref().unwrap_or(""),
        "schedule {}: {} ({} imported, {} already imported, {} failed)",
        run.schedule,
        run.outcome,
        run.files_imported,
        run.files_skipped,
        run.files_failed
    );
    Ok(run)
}

/// Runs are stamped in UTC, like import batches (the catch-up check reads them back as UTC).
fn now_utc() -> NaiveDateTime {
    Utc::now().naive_utc()
}

/// One run, on the writer connection: never returns an error, records it instead.
fn run_blocking(
    state: &AppState,
    store: &Store,
    sched: &Schedule,
    trigger: &str,
    listed: Result<Listed, String>,
) -> ScheduleRun {
    let cfg = &sched.cfg;
    let started = now_utc();
    let id = store.start_schedule_run(&cfg.name, trigger, started).unwrap_or(0);
    let mut run = ScheduleRun {
        id,
        schedule: cfg.name.clone(),
        trigger: trigger.to_owned(),
        started_at: started,
        finished_at: None,
        outcome: "ok".into(),
        files_imported: 0,
        files_skipped: 0,
        files_failed: 0,
        rows_accepted: 0,
        batches: Vec::new(),
        error: None,
    };
    let mut errors: Vec<String> = Vec::new();
    let prepared = (|| -> Result<(oversight_import::Profile, Listed), String> {
        let ds: Dataset = cfg.dataset.parse().map_err(|e| format!("dataset: {e}"))?;
        let profile = oversight_import::resolve_profile(&cfg.profile, Some(ds)).map_err(|e| format!("profile: {e}"))?;
        Ok((profile, listed?))
    })();
    match prepared {
        Err(e) => {
            run.outcome = "failed".into();
            // The error text may quote the URL: never its credentials (runs are shown publicly).
            let shown = redact(&cfg.source);
            errors.push(format!("source {shown}: {}", e.replace(&cfg.source, &shown)));
        }
        Ok((_, Listed { unchanged: true, .. })) => run.files_skipped += 1,
        Ok((profile, Listed { files, dir: _dir, validators, .. })) => {
            let mut known = sched.known.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut apply = oversight_service::Apply::new(store, Some(&state.0.metrics_cfg));
            for f in files {
                let file_stamp = stamp(&f);
                if file_stamp.as_ref().is_some_and(|st| known.contains(st)) {
                    run.files_skipped += 1;
                    continue;
                }
                let req = ImportRequest {
                    jurisdiction: cfg.jurisdiction.clone(),
                    max_reject_share: state.cfg().import.max_reject_share,
                    ..ImportRequest::new(profile.clone(), vec![InputFile::new(&f)], &format!("schedule:{}", cfg.name))
                };
                match apply.import(&req, &|_| {}) {
                    Ok(ImportOutcome::Imported(r)) => {
                        run.files_imported += 1;
                        run.rows_accepted += r.batch.rows_accepted;
                        run.batches.push(r.batch.id);
                        known.extend(file_stamp);
                        // Landed, but mostly rejects: the run says so (as the CLI's exit 4 and the API's 422).
                        if r.over_reject_share {
                            errors.push(format!(
                                "{}: batch {} landed with {:.1}% of its rows rejected, above [import] \
                                 max_reject_share",
                                f.display(),
                                r.batch.id,
                                100.0 * r.reject_share
                            ));
                            run.outcome = "partial".into();
                        }
                    }
                    Ok(ImportOutcome::AlreadyImported(_)) => {
                        run.files_skipped += 1;
                        known.extend(file_stamp);
                    }
                    Err(e) => {
                        run.files_failed += 1;
                        errors.push(format!("{}: {e}", f.display()));
                    }
                }
            }
            if run.files_failed > 0 {
                run.outcome = "partial".into();
            } else if let Some(v) = validators {
                // Only a download that imported cleanly is not downloaded again while it does not change.
                *sched.validators.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = v;
            }
            state.0.stats.job("import", apply.import_time.as_secs_f64());
            match apply.finish() {
                Ok(Some(c)) => state.0.stats.job("compute", c.time.as_secs_f64()),
                Ok(None) => {}
                Err(e) => {
                    errors.push(format!("compute: {e}"));
                    run.outcome = "partial".into();
                }
            }
        }
    }
    run.finished_at = Some(now_utc());
    run.error = (!errors.is_empty()).then(|| errors.join("\n"));
    if let Err(e) = store.finish_schedule_run(&run) {
        tracing::error!("schedule {}: could not record the run: {e}", cfg.name);
    }
    run
}

/// What a run found at its source: the files to import (a download in `dir`, removed with it), or for a URL
/// that answered 304 nothing (`unchanged`), and the validators of a download.
pub(crate) struct Listed {
    files: Vec<PathBuf>,
    dir: Option<tempfile::TempDir>,
    unchanged: bool,
    validators: Option<Validators>,
}

/// The files of a source: a directory's files, a glob's matches (`*` and `?` in the last segment), or a URL
/// downloaded to a temporary directory (before the writer is taken, with timeouts, retries and a conditional
/// request). Hidden files and partial downloads (`.part`, `.tmp`) are left alone.
fn list_source(sched: &Schedule) -> Result<Listed, String> {
    let source = sched.cfg.source.as_str();
    if source.starts_with("http://") || source.starts_with("https://") {
        return download(sched);
    }
    let p = Path::new(source);
    let (dir, pattern) = if p.is_dir() {
        (p.to_path_buf(), None)
    } else {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if !name.contains(['*', '?']) {
            return if p.is_file() {
                Ok(Listed { files: vec![p.to_path_buf()], dir: None, unchanged: false, validators: None })
            } else {
                Err("no such file or directory".into())
            };
        }
        (p.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(".")), Some(name))
    };
    // Files still being written (`.part`, `.tmp`) wait for the next run.
    let files = oversight_import::files_in(&dir, |n| {
        !n.ends_with(".part") && !n.ends_with(".tmp") && pattern.as_deref().is_none_or(|g| glob_match(g, n))
    })
    .map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    Ok(Listed { files, dir: None, unchanged: false, validators: None })
}

/// Downloads a URL source: at most `download_timeout_secs` (default 60 s) to connect and without a byte,
/// two hours in all; `download_retries` more attempts (default 2) after a timeout, a refused connection or
/// a 5xx, 1, 2, 4 … s apart; `If-None-Match` / `If-Modified-Since` from the last clean import, so a 304
/// downloads nothing.
fn download(sched: &Schedule) -> Result<Listed, String> {
    let cfg = &sched.cfg;
    let source = cfg.source.as_str();
    let silence = std::time::Duration::from_secs(cfg.download_timeout_secs.unwrap_or(60).max(1));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(silence))
        .timeout_recv_response(Some(silence))
        .timeout_per_read(Some(silence))
        .timeout_global(Some(std::time::Duration::from_secs(2 * 3600)))
        .build()
        .into();
    let known = sched.validators.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    let attempts = cfg.download_retries.unwrap_or(2) + 1;
    let mut last_error = String::new();
    for attempt in 0..attempts {
        if attempt > 0 {
            let wait = std::time::Duration::from_secs(1 << (attempt - 1).min(6));
            tracing::info!("schedule {}: attempt {} of {attempts} in {wait:?} ({last_error})", cfg.name, attempt + 1);
            std::thread::sleep(wait);
        }
        let mut req = agent.get(source);
        if let Some(e) = &known.etag {
            req = req.header("If-None-Match", e);
        }
        if let Some(m) = &known.last_modified {
            req = req.header("If-Modified-Since", m);
        }
        let resp = match req.call() {
            Ok(r) => r,
            Err(e) => {
                last_error = format!("download failed: {e}");
                continue;
            }
        };
        let status = resp.status().as_u16();
        if status == 304 {
            return Ok(Listed { files: Vec::new(), dir: None, unchanged: true, validators: None });
        }
        if status >= 500 {
            last_error = format!("download failed: the server answered {status}");
            continue;
        }
        if status >= 400 {
            return Err(format!("download failed: the server answered {status}"));
        }
        let header = |h: &str| resp.headers().get(h).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let validators = Validators { etag: header("etag"), last_modified: header("last-modified") };
        let dir = tempfile::Builder::new().prefix("oversight-schedule-").tempdir().map_err(|e| e.to_string())?;
        let name = source.split('?').next().unwrap_or(source).rsplit('/').next().filter(|n| !n.is_empty());
        let path = dir.path().join(crate::upload::sanitize(name.unwrap_or("download.csv")));
        let mut reader = resp.into_body().into_reader();
        let mut f = std::fs::File::create(&path).map_err(|e| e.to_string())?;
        match std::io::copy(&mut reader, &mut f) {
            Ok(_) => {
                return Ok(Listed {
                    files: vec![path],
                    dir: Some(dir),
                    unchanged: false,
                    validators: Some(validators),
                });
            }
            Err(e) => last_error = format!("download failed: {e}"),
        }
    }
    Err(format!("{last_error} (after {attempts} attempt{})", if attempts == 1 { "" } else { "s" }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_the_last_segment() {
        assert!(glob_match("*.csv", "stops_2020.csv"));
        assert!(glob_match("stops_20??.csv", "stops_2020.csv"));
        assert!(!glob_match("*.csv", "stops.csv.part"));
        assert!(!glob_match("a?c", "ac"));
    }

    #[test]
    fn urls_shown_lose_credentials_and_query_strings() {
        assert_eq!(
            redact("https://user:tok@data.example.org/stops.csv?key=abc"),
            "https://data.example.org/stops.csv?…"
        );
        assert_eq!(redact("https://data.example.org/stops.csv"), "https://data.example.org/stops.csv");
        assert_eq!(redact("/srv/drop/*.csv"), "/srv/drop/*.csv");
    }

    #[test]
    fn bad_entries_are_refused_with_the_schedule_named() {
        let base = ScheduleConfig {
            name: "n".into(),
            cron: "*/5 * * * *".into(),
            timezone: Some("America/Chicago".into()),
            dataset: "stops".into(),
            profile: "opp".into(),
            source: "/tmp".into(),
            jurisdiction: None,
            catch_up: true,
            download_timeout_secs: None,
            download_retries: None,
        };
        let s = Schedule::new(base.clone()).unwrap();
        let t = DateTime::parse_from_rfc3339("2026-01-01T10:02:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(s.next_after(t).unwrap().to_rfc3339(), "2026-01-01T10:05:00+00:00");
        for bad in [
            ScheduleConfig { cron: "every day".into(), ..base.clone() },
            ScheduleConfig { timezone: Some("Mars/Olympus".into()), ..base.clone() },
            ScheduleConfig { dataset: "people".into(), ..base.clone() },
            ScheduleConfig { profile: "nope".into(), ..base.clone() },
        ] {
            let e = Schedule::new(bad).err().unwrap();
            assert!(e.starts_with("schedule \"n\""), "{e}");
        }
    }
}
