//! The veil-of-darkness test (Grogger & Ridgeway 2006; Pierson et al. 2020): officers see a driver's race
//! less well after dark, so if a group's share of stops is higher in daylight than after dark at the same
//! clock time, that suggests the group is stopped more when it can be seen.
//!
//! Per date, sunset and civil dusk (sun 6° below the horizon) at the jurisdiction's centroid (or the median
//! of its geocoded stops), in its IANA time zone. Stops are kept in the inter-twilight window (between the
//! year's earliest and latest dusk, local clock time), those between sunset and dusk are dropped (neither
//! light nor dark), and dark means at or after dusk. Then a logistic regression of "the stopped person is in
//! the group" (vs the reference group) on dark + a natural cubic spline of the minute of day (patsy's
//! `cr(minute, df, constraints='center')`) [+ district fixed effects]. A dark odds ratio below 1 means the
//! group's share of stops falls after dark.

use crate::{AnalysisConfig, MetricsError};
use chrono::{Datelike, NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Tz;
use oversight_stats::regression::{CovType, Design, Family, glm};
use oversight_stats::solar::{civil_dusk_utc, sunset_utc};
use oversight_stats::spline::CubicRegressionSpline;
use oversight_store::{Store, TimedStop};
use serde::Serialize;

/// What to test.
#[derive(Debug, Clone)]
pub struct VodRequest {
    pub jurisdiction: String,
    /// First and last year (the same for one year). Each year has its own inter-twilight window; several
    /// years are pooled with year fixed effects.
    pub year: i32,
    pub to_year: i32,
    /// The group whose share is modelled (a race code), default `black`.
    pub group: String,
    /// The comparison group, default `white`.
    pub reference: String,
    /// Spline degrees of freedom; None: the configured default.
    pub spline_df: Option<usize>,
    /// Use district fixed effects when the stops have districts (default true).
    pub districts: bool,
}

/// The dark odds ratio of one fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DarkEffect {
    pub spline_df: usize,
    /// The coefficient of `dark` (log odds ratio) and its standard error.
    pub estimate: f64,
    pub se: f64,
    pub odds_ratio: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub p_value: f64,
    pub n: usize,
    /// Why this fit failed, if it did (robustness table only).
    pub error: Option<String>,
}

/// Where dusk was computed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Location {
    pub lat: f64,
    pub lng: f64,
    pub timezone: String,
    /// `jurisdiction centroid` or `median of N geocoded stops`.
    pub source: String,
}

/// One year's inter-twilight window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct YearWindow {
    pub year: i32,
    pub earliest_dusk: NaiveTime,
    pub latest_dusk: NaiveTime,
}

/// Stops in the sample, by group and light.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VodCounts {
    pub group_light: usize,
    pub group_dark: usize,
    pub reference_light: usize,
    pub reference_dark: usize,
}

/// The result of a veil-of-darkness test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VodResult {
    pub jurisdiction: String,
    pub year: i32,
    pub to_year: i32,
    pub group: String,
    pub reference: String,
    pub location: Location,
    /// Earliest and latest civil dusk of each year (local clock time): the inter-twilight windows.
    pub windows: Vec<YearWindow>,
    pub model: String,
    pub formula: String,
    pub covariance: String,
    pub confidence: f64,
    pub districts: Option<usize>,
    /// Stops of the year with a clock time.
    pub stops_with_time: usize,
    /// Of those, outside the inter-twilight window.
    pub outside_window: usize,
    /// Dropped: between sunset and dusk.
    pub twilight_dropped: usize,
    /// Dropped: of neither group.
    pub other_groups: usize,
    pub counts: VodCounts,
    /// The main fit (the configured spline df).
    pub dark: DarkEffect,
    /// The same fit with spline df 1 to 6.
    pub robustness: Vec<DarkEffect>,
    pub notes: Vec<String>,
}

/// A stop in the analysis sample.
#[derive(Debug, Clone)]
struct Row {
    minute: f64,
    dark: bool,
    in_group: bool,
    district: String,
    year: i32,
}

fn minutes_after_local_midnight(tz: Tz, date: NaiveDate, utc: chrono::NaiveDateTime) -> f64 {
    let local = tz.from_utc_datetime(&utc).naive_local();
    (local - date.and_time(NaiveTime::MIN)).num_milliseconds() as f64 / 60_000.0
}

fn minute_to_time(m: f64) -> NaiveTime {
    let secs = (m * 60.0).round().clamp(0.0, 86_399.0) as u32;
    NaiveTime::from_num_seconds_from_midnight_opt(secs, 0).unwrap_or(NaiveTime::MIN)
}

fn locate(store: &Store, jurisdiction: &str) -> Result<Location, MetricsError> {
    let j = store
        .jurisdiction(jurisdiction)?
        .ok_or_else(|| MetricsError::NotFound { what: "jurisdiction", id: jurisdiction.to_owned() })?;
    let timezone = j.timezone.clone().ok_or_else(|| {
        MetricsError::Refused(format!(
            "jurisdiction {jurisdiction} has no time zone, so local dusk is unknown: set it with \
             `oversight jurisdictions set {jurisdiction} --timezone America/New_York` (its IANA zone), or \
             PATCH /v1/jurisdictions/{jurisdiction} with {{\"timezone\": \"America/New_York\"}} on a running server"
        ))
    })?;
    if let (Some(lat), Some(lng)) = (j.lat, j.lng) {
        return Ok(Location { lat, lng, timezone, source: "jurisdiction centroid".into() });
    }
    match store.stops_median_location(jurisdiction)? {
        Some((lat, lng, n)) => Ok(Location { lat, lng, timezone, source: format!("median of {n} geocoded stops") }),
        None => Err(MetricsError::Refused(format!(
            "jurisdiction {jurisdiction} has no centroid and no geocoded stops: set one with \
             `oversight jurisdictions set {jurisdiction} --lat … --lng …`"
        ))),
    }
}

/// Runs the veil-of-darkness test.
pub fn vod(store: &Store, req: &VodRequest, cfg: &AnalysisConfig) -> Result<VodResult, MetricsError> {
    if req.group == req.reference {
        return Err(MetricsError::Invalid("reference: must differ from the group".into()));
    }
    for g in [&req.group, &req.reference] {
        if g.parse::<oversight_core::codes::Race>().is_err() {
            return Err(MetricsError::Invalid(format!(
                "group {g:?}: expected a race code ({})",
                <oversight_core::codes::Race as oversight_core::codes::CodeList>::all_strs().join(", ")
            )));
        }
    }
    let df = req.spline_df.unwrap_or(cfg.spline_df);
    if !(1..=12).contains(&df) {
        return Err(MetricsError::Invalid(format!("df: the spline needs 1 to 12 degrees of freedom, got {df}")));
    }
    let location = locate(store, &req.jurisdiction)?;
    let tz: Tz = location
        .timezone
        .parse()
        .map_err(|_| MetricsError::Invalid(format!("time zone {:?} is not an IANA zone", location.timezone)))?;
    if req.to_year < req.year || req.to_year - req.year > 20 {
        return Err(MetricsError::Invalid(format!(
            "year: {}-{} is not a range of up to 20 years",
            req.year, req.to_year
        )));
    }
    let (from, to) = (
        NaiveDate::from_ymd_opt(req.year, 1, 1).ok_or_else(|| MetricsError::Invalid("year: out of range".into()))?,
        NaiveDate::from_ymd_opt(req.to_year, 12, 31)
            .ok_or_else(|| MetricsError::Invalid("year: out of range".into()))?,
    );

    // Sunset and dusk of every date, in local minutes after midnight, and each year's window.
    let mut sun: std::collections::HashMap<NaiveDate, (f64, f64)> = std::collections::HashMap::new();
    for d in from.iter_days().take_while(|d| *d <= to) {
        let (Some(ss), Some(du)) =
            (sunset_utc(d, location.lat, location.lng), civil_dusk_utc(d, location.lat, location.lng))
        else {
            return Err(MetricsError::Refused(format!(
                "no sunset or dusk on {d} at ({}, {}) (polar day or night)",
                location.lat, location.lng
            )));
        };
        sun.insert(d, (minutes_after_local_midnight(tz, d, ss), minutes_after_local_midnight(tz, d, du)));
    }
    let mut window: std::collections::BTreeMap<i32, (f64, f64)> = std::collections::BTreeMap::new();
    for (d, (_, dusk)) in &sun {
        let w = window.entry(d.year()).or_insert((f64::INFINITY, f64::NEG_INFINITY));
        w.0 = w.0.min(*dusk);
        w.1 = w.1.max(*dusk);
    }

    let stops = store.timed_stops(&req.jurisdiction, from, to)?;
    if stops.is_empty() {
        return Err(MetricsError::Refused(format!(
            "jurisdiction {} has no stops with a clock time in {}",
            req.jurisdiction, req.year
        )));
    }
    let (mut outside, mut twilight, mut others) = (0, 0, 0);
    let mut rows = Vec::new();
    for s in &stops {
        let TimedStop { date, minute, race, district } = s;
        let m = f64::from(*minute);
        let (Some((sunset, dusk)), Some((earliest, latest))) = (sun.get(date), window.get(&date.year())) else {
            continue;
        };
        if m < *earliest || m > *latest {
            outside += 1;
            continue;
        }
        if m >= *sunset && m < *dusk {
            twilight += 1;
            continue;
        }
        let in_group = match race.as_deref() {
            Some(r) if r == req.group => true,
            Some(r) if r == req.reference => false,
            _ => {
                others += 1;
                continue;
            }
        };
        rows.push(Row {
            minute: m,
            dark: m >= *dusk,
            in_group,
            district: district.clone().unwrap_or_else(|| "(unknown)".into()),
            year: date.year(),
        });
    }
    let counts = VodCounts {
        group_light: rows.iter().filter(|r| r.in_group && !r.dark).count(),
        group_dark: rows.iter().filter(|r| r.in_group && r.dark).count(),
        reference_light: rows.iter().filter(|r| !r.in_group && !r.dark).count(),
        reference_dark: rows.iter().filter(|r| !r.in_group && r.dark).count(),
    };
    if rows.len() < cfg.min_vod_stops
        || [counts.group_light, counts.group_dark, counts.reference_light, counts.reference_dark].contains(&0)
    {
        return Err(MetricsError::Refused(format!(
            "too few stops for the test: {} of {} or {} in the inter-twilight window ({} needed; by light: {:?})",
            rows.len(),
            req.group,
            req.reference,
            cfg.min_vod_stops,
            counts
        )));
    }
    let mut levels: Vec<String> = rows.iter().map(|r| r.district.clone()).collect();
    levels.sort();
    levels.dedup();
    let use_districts = req.districts && levels.len() >= 2;
    let fe = FixedEffects {
        districts: if use_districts { levels.clone() } else { Vec::new() },
        years: window.keys().copied().collect(),
    };

    let dark = fit(&rows, df, &fe, cfg)?;
    let robustness = (1..=6).map(|k| fit(&rows, k, &fe, cfg).unwrap_or_else(|e| failed(k, rows.len(), e))).collect();
    let mut notes = Vec::new();
    if !use_districts && req.districts {
        notes.push("the stops have no districts (or one): no district fixed effects".to_owned());
    }
    Ok(VodResult {
        jurisdiction: req.jurisdiction.clone(),
        year: req.year,
        to_year: req.to_year,
        group: req.group.clone(),
        reference: req.reference.clone(),
        windows: window
            .iter()
            .map(|(y, (a, b))| YearWindow {
                year: *y,
                earliest_dusk: minute_to_time(*a),
                latest_dusk: minute_to_time(*b),
            })
            .collect(),
        location,
        model: "logit-glm".into(),
        formula: format!(
            "P({} vs {}) ~ logit: dark + cr(minute, df={df}, constraints='center'){}{}",
            req.group,
            req.reference,
            if use_districts { " + C(district)" } else { "" },
            if fe.years.len() > 1 { " + C(year)" } else { "" }
        ),
        covariance: CovType::NonRobust.describe(),
        confidence: cfg.confidence,
        districts: use_districts.then_some(levels.len()),
        stops_with_time: stops.len(),
        outside_window: outside,
        twilight_dropped: twilight,
        other_groups: others,
        counts,
        dark,
        robustness,
        notes,
    })
}

fn failed(df: usize, n: usize, e: MetricsError) -> DarkEffect {
    DarkEffect {
        spline_df: df,
        estimate: f64::NAN,
        se: f64::NAN,
        odds_ratio: f64::NAN,
        ci_low: f64::NAN,
        ci_high: f64::NAN,
        p_value: f64::NAN,
        n,
        error: Some(e.to_string()),
    }
}

/// Fixed-effect levels (the first of each is the reference level).
struct FixedEffects {
    districts: Vec<String>,
    years: Vec<i32>,
}

fn fit(rows: &[Row], df: usize, fe: &FixedEffects, cfg: &AnalysisConfig) -> Result<DarkEffect, MetricsError> {
    let minutes: Vec<f64> = rows.iter().map(|r| r.minute).collect();
    let spline = CubicRegressionSpline::fit(&minutes, df)
        .map_err(|e| MetricsError::Refused(format!("the minute-of-day spline cannot be built: {e}")))?;
    let basis = spline.basis(&minutes);
    let n = rows.len();
    let mut cols = vec![
        ("Intercept".to_owned(), vec![1.0; n]),
        ("dark".to_owned(), rows.iter().map(|r| f64::from(u8::from(r.dark))).collect()),
    ];
    for j in 0..spline.df() {
        cols.push((format!("minute_spline[{j}]"), basis.column(j).iter().copied().collect()));
    }
    for l in fe.districts.iter().skip(1) {
        cols.push((format!("district[T.{l}]"), rows.iter().map(|r| f64::from(u8::from(&r.district == l))).collect()));
    }
    for y in fe.years.iter().skip(1) {
        cols.push((format!("year[T.{y}]"), rows.iter().map(|r| f64::from(u8::from(r.year == *y))).collect()));
    }
    let y: Vec<f64> = rows.iter().map(|r| f64::from(u8::from(r.in_group))).collect();
    let fit = glm(&Design::from_columns(cols), &y, Family::Logit, None)?;
    let c = fit
        .coefficient(&CovType::NonRobust, cfg.confidence, "dark")
        .ok_or_else(|| MetricsError::Refused("no dark coefficient".into()))?;
    Ok(DarkEffect {
        spline_df: df,
        estimate: c.estimate,
        se: c.se,
        odds_ratio: c.estimate.exp(),
        ci_low: c.ci_low.exp(),
        ci_high: c.ci_high.exp(),
        p_value: c.p_value,
        n,
        error: None,
    })
}
