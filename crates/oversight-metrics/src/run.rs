//! A metric run: which cube days to rebuild (everything, or the days the imports since the last run
//! touched), the rebuild, the points of the touched periods, disclosure control, and the run's record.

use crate::config::MetricsConfig;
use crate::cube::{self, MISSING};
use crate::frame::to_frame;
use crate::points::{self, Residents, Sink};
use crate::totals::Totals;
use crate::{MetricsError, catalog, complaints, durations, quality, suppress};
use chrono::{Datelike, NaiveDate};
use oversight_core::{Dataset, Grain, Period, Table};
use oversight_core::{IndicatorId, Measure};
use oversight_store::{Frame, MetricRun, MetricTxn, PointRow, QualityNote, Store};
use serde::Serialize;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What to compute.
#[derive(Debug, Clone, Default)]
pub struct ComputeRequest {
    /// Only write this indicator's points.
    pub indicator: Option<String>,
    /// Only this jurisdiction.
    pub jurisdiction: Option<String>,
    /// Rebuild everything from this date on, whatever was imported.
    pub since: Option<NaiveDate>,
    /// Rebuild everything.
    pub full: bool,
    /// Compute every indicator from this externally built cube (a directory the cube job in `contrib/spark`
    /// wrote) instead of building the cube from the records.
    pub cube: Option<std::path::PathBuf>,
}

/// One piece of work: a dataset's records of a jurisdiction between two dates.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct WorkItem {
    pub dataset: String,
    pub jurisdiction: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// What a run did.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ComputeReport {
    /// None when there was nothing to do (nothing was written).
    pub run: Option<MetricRun>,
    pub message: String,
    pub work: Vec<WorkItem>,
    pub points_written: i64,
    pub notes: Vec<QualityNote>,
}

/// The version of this code, recorded with every run.
pub fn code_version() -> String {
    format!("oversight-metrics {} ({})", env!("CARGO_PKG_VERSION"), env!("OVERSIGHT_GIT_HASH"))
}

const MIN_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(d) => d,
    None => panic!("valid"),
};
const MAX_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2199, 12, 31) {
    Some(d) => d,
    None => panic!("valid"),
};

/// The datasets indicators are computed for.
const DATASETS: &[Dataset] = &[Dataset::Stops, Dataset::Detainers, Dataset::CrimeReports, Dataset::Complaints];

/// Runs the indicator jobs. A run with no new imports (and no `since` or `full`) writes nothing.
pub fn compute(store: &Store, cfg: &MetricsConfig, req: &ComputeRequest) -> Result<ComputeReport, MetricsError> {
    let only =
        match &req.indicator {
            Some(i) => Some(catalog::indicator(i).ok_or_else(|| {
                MetricsError::Invalid(format!("unknown indicator {i:?} (see `oversight indicators`)"))
            })?),
            None => None,
        };
    if let Some(j) = &req.jurisdiction
        && store.jurisdiction(j)?.is_none()
    {
        return Err(MetricsError::Invalid(format!("unknown jurisdiction {j:?}")));
    }
    let committed = store.committed_batches()?;
    let batch_ids: Vec<i64> = committed.iter().map(|b| b.id).collect();
    if let Some(dir) = &req.cube {
        return compute_from_cube(store, cfg, req, dir, &batch_ids);
    }
    let last = store.last_metric_run()?;
    let cfg_json = serde_json::to_value(cfg).map_err(|e| MetricsError::Invalid(e.to_string()))?;
    let config_changed = last.as_ref().is_none_or(|r| r.parameters.get("config") != Some(&cfg_json));
    let full = req.full || config_changed;
    let mut work: BTreeMap<(Dataset, String), (NaiveDate, NaiveDate)> = BTreeMap::new();
    let mut widen = |d: Dataset, j: String, from: NaiveDate, to: NaiveDate| {
        let e = work.entry((d, j)).or_insert((from, to));
        e.0 = e.0.min(from);
        e.1 = e.1.max(to);
    };
    if full {
        for (d, j) in every_piece(store)? {
            widen(d, j, MIN_DATE, MAX_DATE);
        }
    } else {
        let prev: BTreeSet<i64> = last.as_ref().map(|r| r.batches.iter().copied().collect()).unwrap_or_default();
        let now: BTreeSet<i64> = batch_ids.iter().copied().collect();
        for (b, is_new) in now.difference(&prev).map(|b| (*b, true)).chain(prev.difference(&now).map(|b| (*b, false))) {
            let Some(extent) = store.batch_extent(b)? else { continue };
            let (jur, dmin, dmax) = (extent.jurisdiction_id, extent.date_min, extent.date_max);
            let Ok(dataset) = extent.dataset.parse::<Dataset>() else { continue };
            match dataset {
                Dataset::PolicyEvents => {}
                Dataset::Populations => {
                    // Per-resident stop rates of every jurisdiction may change.
                    for j in store.jurisdictions_with_records(Table::Stops)? {
                        widen(Dataset::Stops, j, MIN_DATE, MAX_DATE);
                    }
                }
                d => {
                    let from = dmin.unwrap_or(MIN_DATE);
                    // Complaints close after they are received: closing periods after the batch change too.
                    let to = if d == Dataset::Complaints { MAX_DATE } else { dmax.unwrap_or(MAX_DATE) };
                    let js = if is_new {
                        store.jurisdictions_of_batches(d.main_table(), &[b])?
                    } else {
                        match jur {
                            Some(j) => vec![j],
                            None => store.cube_jurisdictions(cube_name(d))?,
                        }
                    };
                    for j in js {
                        widen(d, j, from, to);
                    }
                }
            }
        }
        if let Some(since) = req.since {
            for d in DATASETS {
                for j in store.jurisdictions_with_records(d.main_table())? {
                    widen(*d, j, since, MAX_DATE);
                }
            }
        }
    }
    if let Some(j) = &req.jurisdiction {
        work.retain(|k, _| &k.1 == j);
    }
    if let Some(i) = only {
        work.retain(|k, _| i.dataset == "any" || k.0.as_str() == i.dataset);
    }
    let items: Vec<WorkItem> = work
        .iter()
        .map(|((d, j), (f, t))| WorkItem { dataset: d.as_str().into(), jurisdiction: j.clone(), from: *f, to: *t })
        .collect();
    if work.is_empty() {
        let message = match &last {
            Some(r) => format!("nothing to do: no import since metric run {}", r.id),
            None => "nothing to do: no records to compute indicators from".to_owned(),
        };
        return Ok(ComputeReport { run: None, message, work: items, points_written: 0, notes: Vec::new() });
    }
    let params = serde_json::json!({
        "config": cfg_json,
        "mode": if full { "full" } else { "incremental" },
        "indicator": req.indicator,
        "jurisdiction": req.jurisdiction,
        "since": req.since,
    });
    let mut txn = store.begin_metric_run(&params, &code_version())?;
    let mut notes = Vec::new();
    for ((dataset, j), (from, to)) in &work {
        rebuild_cube(store, &mut txn, *dataset, j, *from, *to)?;
    }
    for ((dataset, j), (from, to)) in &work {
        let n = write_points(store, &mut txn, cfg, (*dataset, j), (*from, *to), only.map(|i| i.id))?;
        notes.extend(n);
    }
    let written = txn.points_written();
    let message = format!("{} piece(s) of work, {written} points written", work.len());
    let run = txn.finish(&batch_ids, Some(&message))?;
    Ok(ComputeReport { run: Some(run), message, work: items, points_written: written, notes })
}

/// A full run on a cube built elsewhere: the cube directory is checked (its manifest, the definition it ran,
/// the batches it was built from, its rows), replaces the cube in the run's transaction, and every
/// indicator of every jurisdiction is written from it.
fn compute_from_cube(
    store: &Store,
    cfg: &MetricsConfig,
    req: &ComputeRequest,
    dir: &std::path::Path,
    batch_ids: &[i64],
) -> Result<ComputeReport, MetricsError> {
    if req.indicator.is_some() || req.jurisdiction.is_some() || req.since.is_some() {
        return Err(MetricsError::Invalid(
            "--cube replaces the whole cube and recomputes everything: it takes no --indicator, --jurisdiction or \
             --since"
                .into(),
        ));
    }
    let m = oversight_store::verify_cube_dir(dir)?;
    let definition = cube::definition_sha256()?;
    if m.definition_sha256 != definition {
        return Err(MetricsError::Invalid(format!(
            "the cube in {} was built by a different cube definition (sha256 {}; this build's is {definition}): \
             rebuild it with this build's contrib/spark/cube.sql",
            dir.display(),
            m.definition_sha256
        )));
    }
    if m.batches != batch_ids {
        return Err(MetricsError::Invalid(format!(
            "the cube in {} was built from import batches {:?}; this database holds {batch_ids:?}: export the lake \
             again and rebuild the cube",
            dir.display(),
            m.batches
        )));
    }
    let rows = store.check_cube_dir(dir, &m, &cube::cube_names())?;
    let cfg_json = serde_json::to_value(cfg).map_err(|e| MetricsError::Invalid(e.to_string()))?;
    let params = serde_json::json!({
        "config": cfg_json,
        "mode": "cube",
        "cube": {"dir": dir.display().to_string(), "built_by": m.built_by, "definition_sha256": m.definition_sha256,
                 "rows": rows},
    });
    let mut txn = store.begin_metric_run(&params, &code_version())?;
    txn.replace_cube(dir, &m)?;
    let work = every_piece(store)?;
    let mut notes = Vec::new();
    let mut items = Vec::new();
    for (d, j) in &work {
        notes.extend(write_points(store, &mut txn, cfg, (*d, j), (MIN_DATE, MAX_DATE), None)?);
        items.push(WorkItem { dataset: d.as_str().into(), jurisdiction: j.clone(), from: MIN_DATE, to: MAX_DATE });
    }
    let written = txn.points_written();
    let message = format!(
        "{} piece(s) of work from the cube in {} ({rows} cube rows), {written} points written",
        work.len(),
        dir.display()
    );
    let run = txn.finish(batch_ids, Some(&message))?;
    Ok(ComputeReport { run: Some(run), message, work: items, points_written: written, notes })
}

/// Every (dataset, jurisdiction) with records or cube rows: what a full run rewrites.
fn every_piece(store: &Store) -> Result<BTreeSet<(Dataset, String)>, MetricsError> {
    let mut out = BTreeSet::new();
    for d in DATASETS {
        for j in store.jurisdictions_with_records(d.main_table())? {
            out.insert((*d, j));
        }
        for j in store.cube_jurisdictions(cube_name(*d))? {
            out.insert((*d, j));
        }
    }
    Ok(out)
}

fn cube_name(d: Dataset) -> &'static str {
    match d {
        Dataset::Stops => "stops",
        Dataset::Detainers => "detainers",
        Dataset::CrimeReports => "crime-reports",
        Dataset::Complaints => "complaints",
        Dataset::PolicyEvents | Dataset::Populations => "none",
    }
}

fn rebuild_cube(
    store: &Store,
    txn: &mut MetricTxn<'_>,
    d: Dataset,
    jurisdiction: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(), MetricsError> {
    for spec in cube::cubes(d) {
        let (name, frame) = (spec.name, spec.frame);
        let t = std::time::Instant::now();
        let cols = store.frame(frame, jurisdiction, from, to)?;
        let t_read = t.elapsed().as_secs_f64();
        let df = to_frame(cols)?;
        let rows = df.height();
        let cube_rows = cube::build(df, &spec)?;
        tracing::debug!(read_seconds = t_read, group_seconds = t.elapsed().as_secs_f64() - t_read, "cube stages");
        txn.delete_cube(name, jurisdiction, from, to)?;
        txn.write_cube(name, jurisdiction, &cube_rows)?;
        tracing::debug!(
            cube = name,
            jurisdiction,
            rows,
            cube_rows = cube_rows.len(),
            seconds = t.elapsed().as_secs_f64(),
            "cube rebuilt"
        );
    }
    Ok(())
}

/// Period totals of a cube: the days of the window (the periods being rewritten) and all-time sums.
fn totals(
    store: &Store,
    name: &str,
    jurisdiction: &str,
    window: (NaiveDate, NaiveDate),
) -> Result<Totals, MetricsError> {
    // Weeks starting in the window reach six days past it.
    let days = to_frame(store.cube(name, jurisdiction, window.0, window.1 + chrono::Duration::days(6))?)?;
    let all_time = to_frame(store.cube_all_time(name, jurisdiction)?)?;
    Totals::from_cube(&days, &all_time, window)
}

/// A population figure: residents, reference year, source.
type Population = (f64, i64, Option<String>);

/// Residents for per-capita rates: the jurisdiction's own, or its declared benchmark's.
struct StoreResidents {
    /// Every figure of the jurisdiction whose residents are used.
    figures: Vec<oversight_store::PopulationFigure>,
    /// (jurisdiction whose residents are used, whether it is a declared benchmark).
    source: (String, bool),
    span: Option<(NaiveDate, NaiveDate)>,
    cache: RefCell<HashMap<(String, i32), Option<Population>>>,
}

impl StoreResidents {
    /// The figure of a group for the year nearest `year` (later years win ties).
    fn nearest(&self, group: &str, year: i32) -> Option<Population> {
        self.figures
            .iter()
            .filter(|f| f.group == group)
            .min_by_key(|f| ((f.year - i64::from(year)).abs(), -f.year))
            .map(|f| (f.population, f.year, f.source.clone()))
    }
}

impl Residents for StoreResidents {
    fn person_years(&self, group: &str, p: Period, covered_days: f64) -> (Option<f64>, String) {
        let year = match (p.grain, self.span) {
            (Grain::All, Some((a, b))) => (a.year() + b.year()) / 2,
            _ => p.start.year(),
        };
        let key = (group.to_owned(), year);
        let pop = self.cache.borrow_mut().entry(key).or_insert_with(|| self.nearest(group, year)).clone();
        let (jur, benchmark) = (&self.source.0, self.source.1);
        match pop {
            Some((pop, y, src)) if pop > 0.0 => {
                let py = pop * covered_days / 365.25;
                let note = format!(
                    "residents: {pop:.0} ({group}) of {jur}{} in {y}{}; {covered_days:.0} days covered",
                    if benchmark { ", the declared benchmark" } else { "" },
                    src.map(|s| format!(", {s}")).unwrap_or_default()
                );
                (Some(py), note)
            }
            _ => (
                None,
                format!(
                    "no value: no population of group {group} for {jur}; import one (e.g. --profile acs-b03002) or declare a benchmark (oversight jurisdictions set {jur} --benchmark ID)"
                ),
            ),
        }
    }
}

/// The first period start a rewrite covers: the week holding the year's first day (weeks straddle years).
fn window_start(from: NaiveDate) -> NaiveDate {
    if from <= MIN_DATE {
        return MIN_DATE;
    }
    Grain::Week.period_start(Grain::Year.period_start(from))
}

/// The last period start a rewrite covers: the end of the year holding `to`.
fn window_end(to: NaiveDate) -> NaiveDate {
    if to >= MAX_DATE {
        return MAX_DATE;
    }
    NaiveDate::from_ymd_opt(to.year(), 12, 31).unwrap_or(MAX_DATE)
}

/// The indicator that is always rewritten whole (its threshold depends on every month).
const WHOLE: IndicatorId = IndicatorId::QualityLowVolumeMonths;

/// Rewrites the points of one piece of work (a dataset of a jurisdiction over the days [from, to] that changed),
/// all indicators or `only` one.
fn write_points(
    store: &Store,
    txn: &mut MetricTxn<'_>,
    cfg: &MetricsConfig,
    (d, jurisdiction): (Dataset, &str),
    (from, to): (NaiveDate, NaiveDate),
    only: Option<IndicatorId>,
) -> Result<Vec<QualityNote>, MetricsError> {
    let mut sink = Sink { cfg, jurisdiction, points: Vec::new() };
    let mut notes = Vec::new();
    let t = std::time::Instant::now();
    let (wf, wt) = (window_start(from), window_end(to));
    let window = (wf, wt);
    let main = totals(store, cube_name(d), jurisdiction, window)?;
    tracing::debug!(seconds = t.elapsed().as_secs_f64(), "totals");
    let batch_rows = store.batch_rows(d, jurisdiction)?;
    match d {
        Dataset::Stops => {
            let j = store.jurisdiction(jurisdiction)?;
            let benchmark = j.as_ref().and_then(|j| j.population_benchmark_id.clone());
            let source_jurisdiction = benchmark.clone().unwrap_or_else(|| jurisdiction.to_owned());
            let residents = StoreResidents {
                figures: store.populations_of(&source_jurisdiction)?,
                source: (benchmark.clone().unwrap_or_else(|| jurisdiction.to_owned()), benchmark.is_some()),
                span: main.span,
                cache: RefCell::new(HashMap::new()),
            };
            points::stops(&mut sink, &main, &residents);
            tracing::debug!(seconds = t.elapsed().as_secs_f64(), "stop points");
            notes.extend(quality::stop_notes(&main, d.as_str(), jurisdiction));
            let monthly = store.cube_monthly(cube_name(d), jurisdiction, Measure::Stops.as_str())?;
            tracing::debug!(seconds = t.elapsed().as_secs_f64(), "monthly");
            notes.extend(quality::quality(&mut sink, &main, d.as_str(), Measure::Stops, true, batch_rows, &monthly));
        }
        Dataset::Detainers => {
            let all = main.periods(Grain::All);
            let mut countries: Vec<(String, f64)> = main
                .groups("country")
                .into_iter()
                .filter(|g| g != MISSING)
                .map(|g| {
                    let n = all.first().map(|p| main.get(*p, "country", &g, Measure::Count)).unwrap_or(0.0);
                    (g, n)
                })
                .collect();
            countries.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let top: Vec<String> = countries.into_iter().take(cfg.top_countries).map(|c| c.0).collect();
            points::detainers(&mut sink, &main, &top);
            let ddf = to_frame(store.frame(Frame::Detainers, jurisdiction, MIN_DATE, MAX_DATE)?)?;
            notes.extend(durations::days_held(&mut sink, &ddf)?);
            let monthly = store.cube_monthly(cube_name(d), jurisdiction, Measure::Count.as_str())?;
            notes.extend(quality::quality(&mut sink, &main, d.as_str(), Measure::Count, true, batch_rows, &monthly));
        }
        Dataset::CrimeReports => {
            points::crime_reports(&mut sink, &main);
            let monthly = store.cube_monthly(cube_name(d), jurisdiction, Measure::Count.as_str())?;
            notes.extend(quality::quality(&mut sink, &main, d.as_str(), Measure::Count, true, batch_rows, &monthly));
        }
        Dataset::Complaints => {
            let allegations = totals(store, "allegations", jurisdiction, window)?;
            points::complaints(&mut sink, &main, &allegations);
            let cdf = to_frame(store.frame(Frame::Complaints, jurisdiction, MIN_DATE, MAX_DATE)?)?;
            notes.extend(durations::days_to_close(&mut sink, &cdf)?);
            let adf = to_frame(store.frame(Frame::Allegations, jurisdiction, MIN_DATE, MAX_DATE)?)?;
            complaints::officers_3plus(&mut sink, &adf)?;
            let monthly = store.cube_monthly(cube_name(d), jurisdiction, Measure::Count.as_str())?;
            notes.extend(quality::quality(&mut sink, &main, d.as_str(), Measure::Count, true, batch_rows, &monthly));
        }
        Dataset::PolicyEvents | Dataset::Populations => {}
    }
    tracing::debug!(seconds = t.elapsed().as_secs_f64(), points = sink.points.len(), "points");
    suppress::apply(&mut sink.points, cfg);
    tracing::debug!(seconds = t.elapsed().as_secs_f64(), "suppressed");
    let run_id = txn.id();
    let keep = |p: &PointRow| {
        (p.grain == "all" || p.indicator == WHOLE || (p.period_start >= wf && p.period_start <= wt))
            && only.is_none_or(|o| p.indicator == o)
    };
    let points: Vec<PointRow> = sink
        .points
        .into_iter()
        .filter(keep)
        .map(|mut p| {
            p.run_id = run_id;
            p
        })
        .collect();
    let dataset_indicators: Vec<&str> = catalog::indicators_of(d.as_str())
        .into_iter()
        .filter(|i| only.is_none_or(|o| *i == o))
        .map(IndicatorId::as_str)
        .collect();
    txn.delete_points(&dataset_indicators, jurisdiction, "%", wf, wt)?;
    let quality_indicators: Vec<&str> = catalog::indicators_of("any")
        .into_iter()
        .filter(|i| only.is_none_or(|o| *i == o) && *i != WHOLE)
        .map(IndicatorId::as_str)
        .collect();
    let group = format!("dataset:{}", d.as_str());
    txn.delete_points(&quality_indicators, jurisdiction, &group, wf, wt)?;
    if only.is_none_or(|o| o == WHOLE) {
        txn.delete_points(&[WHOLE.as_str()], jurisdiction, &group, MIN_DATE, MAX_DATE)?;
    }
    txn.write_points(&points)?;
    tracing::debug!(seconds = t.elapsed().as_secs_f64(), "written");
    if only.is_none() {
        txn.replace_quality_notes(d.as_str(), jurisdiction, &notes)?;
    }
    Ok(notes)
}
