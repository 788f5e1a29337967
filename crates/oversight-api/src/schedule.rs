//! Scheduled imports: `[[schedule]]` entries run inside `oversight serve`. Each run imports the files of its
//! source that no batch holds yet (the importer recognises a file by sha256), recomputes the periods they
//! touched and records the outcome in `schedule_runs`. A run that would overlap a running one is skipped with
//! a log line; a run missed while the server was down runs once at start-up (`catch_up`); one failing source
//! or file never stops the others.

use crate::error::{ApiError, ApiResult};
pub use crate::schedule_def::ScheduleConfig;
use crate::schedule_def::{Schedule, stamp};
use crate::state::AppState;
use chrono::{DateTime, NaiveDateTime, Utc};
use oversight_core::{Dataset, ErrorCode};
use oversight_import::{ImportOutcome, ImportRequest, InputFile, glob_match};
use oversight_store::{ScheduleRun, Store};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use utoipa::ToSchema;

/// A schedule's state, as `GET /v1/schedules` shows it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"name": "nightly-stops", "cron": "0 2 * * *", "timezone": "America/New_York", "dataset": "stops",
    "profile": "opp", "source": "/srv/drop/stops", "jurisdiction": "ct-hartford", "running": false, "next_run": "2026-11-23T07:00:00Z",
    "last_run": {"id": 4, "schedule": "nightly-stops", "trigger": "cron", "started_at": "2026-11-22T07:00:00", "finished_at": "2026-11-22T07:00:03",
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

/// Starts one task per schedule on the current runtime.
pub(crate) fn spawn_all(state: &AppState) {
    for i in 0..state.0.schedules.len() {
        let st = state.clone();
        tokio::spawn(async move { run_loop(st, i).await });
    }
}

async fn run_loop(state: AppState, i: usize) {
    let sched = &state.0.schedules[i];
    let name = sched.cfg.name.clone();
    if sched.cfg.catch_up {
        let n2 = name.clone();
        let last = state.read(move |s| Ok(s.last_schedule_run(&n2)?)).await.ok().flatten();
        if let Some(last) = last {
            let last_start = last.started_at.and_utc();
            if sched.next_after(last_start).is_some_and(|t| t < Utc::now()) {
                tracing::info!("schedule {name}: an occurrence was missed while the server was down; running it now");
                let _ = run_now(&state, i, "catch-up").await;
            }
        }
    }
    loop {
        let now = Utc::now();
        let Some(next) = sched.next_after(now) else {
            tracing::warn!("schedule {name}: the cron expression has no future occurrence; stopping");
            return;
        };
        let wait = (next - now).to_std().unwrap_or_default();
        tokio::time::sleep(wait).await;
        if let Err(e) = run_now(&state, i, "cron").await
            && e.code != ErrorCode::Conflict
        {
            tracing::error!("schedule {name}: {}", e.message);
        }
    }
}

/// Runs schedule `i` now unless it is already running (then a Conflict error, logged for cron ticks).
pub(crate) async fn run_now(state: &AppState, i: usize, trigger: &'static str) -> ApiResult<ScheduleRun> {
    let sched = &state.0.schedules[i];
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
    let cfg = sched.cfg.clone();
    let listed = tokio::task::spawn_blocking(move || list_source(&cfg))
        .await
        .unwrap_or_else(|e| Err(format!("listing the source failed: {e}")));
    let st = state.clone();
    let res = state
        .write(move |store| {
            let sched = &st.0.schedules[i];
            Ok(run_blocking(&st, store, sched, trigger, listed))
        })
        .await;
    state.0.schedules[i].running.store(false, Ordering::SeqCst);
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
    listed: Result<(Vec<PathBuf>, Option<tempfile::TempDir>), String>,
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
    let prepared = (|| -> Result<(oversight_import::Profile, Vec<PathBuf>, Option<tempfile::TempDir>), String> {
        let ds: Dataset = cfg.dataset.parse().map_err(|e| format!("dataset: {e}"))?;
        let profile = oversight_import::resolve_profile(&cfg.profile, Some(ds)).map_err(|e| format!("profile: {e}"))?;
        let (files, tmp) = listed?;
        Ok((profile, files, tmp))
    })();
    match prepared {
        Err(e) => {
            run.outcome = "failed".into();
            // The error text may quote the URL: never its credentials (runs are shown publicly).
            let shown = redact(&cfg.source);
            errors.push(format!("source {shown}: {}", e.replace(&cfg.source, &shown)));
        }
        Ok((profile, files, _tmp)) => {
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

/// The files of a source: a directory's files, a glob's matches (`*` and `?` in the last segment), or a URL
/// downloaded to a temporary directory (before the writer is taken, with timeouts). Hidden files and partial
/// downloads (`.part`, `.tmp`) are left alone.
fn list_source(cfg: &ScheduleConfig) -> Result<(Vec<PathBuf>, Option<tempfile::TempDir>), String> {
    let source = cfg.source.as_str();
    if source.starts_with("http://") || source.starts_with("https://") {
        let dir = tempfile::Builder::new().prefix("oversight-schedule-").tempdir().map_err(|e| e.to_string())?;
        let name = source.split('?').next().unwrap_or(source).rsplit('/').next().filter(|n| !n.is_empty());
        let path = dir.path().join(crate::upload::sanitize(name.unwrap_or("download.csv")));
        // Bounded: at most download_timeout_secs (default 60 s) to connect and without a byte, two hours in all.
        let silence = std::time::Duration::from_secs(cfg.download_timeout_secs.unwrap_or(60).max(1));
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(silence))
            .timeout_recv_response(Some(silence))
            .timeout_per_read(Some(silence))
            .timeout_global(Some(std::time::Duration::from_secs(2 * 3600)))
            .build()
            .into();
        let resp = agent.get(source).call().map_err(|e| format!("download failed: {e}"))?;
        let mut reader = resp.into_body().into_reader();
        let mut f = std::fs::File::create(&path).map_err(|e| e.to_string())?;
        std::io::copy(&mut reader, &mut f).map_err(|e| format!("download failed: {e}"))?;
        return Ok((vec![path], Some(dir)));
    }
    let p = Path::new(source);
    let (dir, pattern) = if p.is_dir() {
        (p.to_path_buf(), None)
    } else {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if !name.contains(['*', '?']) {
            return if p.is_file() {
                Ok((vec![p.to_path_buf()], None))
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
    Ok((files, None))
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
