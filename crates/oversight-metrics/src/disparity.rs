//! Disparity tables: one row per group with its counts, rate and interval, the ratio to a reference group
//! with its interval and method, and disclosure flags. Summed from the daily cube over [from, to], so any
//! window works without recomputing indicators.

use crate::{MetricsConfig, MetricsError};
use chrono::NaiveDate;
use oversight_core::{IndicatorId, Measure};
use oversight_stats::intervals::{Comparison, Counts, poisson_rate, proportion_rse, wilson};
use oversight_store::{PointRow, Store};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// One group of a disparity table.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DisparityRow {
    /// e.g. `race:black`.
    pub group: String,
    /// Events (stops, searches, sustained allegations, detainers); null when withheld.
    pub numerator: Option<f64>,
    /// What the rate is out of (resident-years, stops, searches, allegations with a finding); null when withheld.
    pub denominator: Option<f64>,
    pub rate: Option<f64>,
    pub rate_ci_low: Option<f64>,
    pub rate_ci_high: Option<f64>,
    pub rate_method: String,
    /// The group's rate over the reference group's; null for the reference itself and when withheld.
    pub ratio: Option<f64>,
    pub ratio_ci_low: Option<f64>,
    pub ratio_ci_high: Option<f64>,
    pub ratio_method: Option<String>,
    pub suppressed: bool,
    pub suppression_reason: Option<String>,
    /// Fewer than `min_events` events or a relative standard error over `max_rse`.
    pub low_reliability: bool,
}

/// A disparity table.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"dataset": "stops", "jurisdiction": "demo-city", "from": "2016-01-01", "to": "2020-12-31",
    "measure": "search", "unit": "share of stops with search status recorded", "reference": "race:white", "confidence": 0.95,
    "rows": [{"group": "race:black", "numerator": 603.0, "denominator": 6025.0, "rate": 0.1, "rate_ci_low": 0.093,
    "rate_ci_high": 0.108, "rate_method": "wilson", "ratio": 2.0, "ratio_ci_low": 1.8, "ratio_ci_high": 2.2,
    "ratio_method": "katz-log", "suppressed": false, "suppression_reason": null, "low_reliability": false}], "notes": []}))]
pub struct DisparityTable {
    pub dataset: String,
    pub jurisdiction: String,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// stop, search, arrest, citation, hit (stops); sustain (complaints); criminality or outcome (detainers).
    pub measure: String,
    pub unit: String,
    pub reference: Option<String>,
    pub confidence: f64,
    pub rows: Vec<DisparityRow>,
    pub notes: Vec<String>,
}

/// A row of a disparity table's CSV: the same columns, numbers written plainly (`603`, not `603.0`).
#[derive(Debug, Serialize)]
pub struct CsvRow<'a> {
    pub group: &'a str,
    #[serde(serialize_with = "crate::published::plain")]
    pub numerator: Option<f64>,
    #[serde(serialize_with = "crate::published::plain")]
    pub denominator: Option<f64>,
    #[serde(serialize_with = "crate::published::plain")]
    pub rate: Option<f64>,
    #[serde(serialize_with = "crate::published::plain")]
    pub rate_ci_low: Option<f64>,
    #[serde(serialize_with = "crate::published::plain")]
    pub rate_ci_high: Option<f64>,
    pub rate_method: &'a str,
    #[serde(serialize_with = "crate::published::plain")]
    pub ratio: Option<f64>,
    #[serde(serialize_with = "crate::published::plain")]
    pub ratio_ci_low: Option<f64>,
    #[serde(serialize_with = "crate::published::plain")]
    pub ratio_ci_high: Option<f64>,
    pub ratio_method: Option<&'a str>,
    pub suppressed: bool,
    pub suppression_reason: Option<&'a str>,
    pub low_reliability: bool,
}

impl<'a> From<&'a DisparityRow> for CsvRow<'a> {
    fn from(r: &'a DisparityRow) -> Self {
        Self {
            group: &r.group,
            numerator: r.numerator,
            denominator: r.denominator,
            rate: r.rate,
            rate_ci_low: r.rate_ci_low,
            rate_ci_high: r.rate_ci_high,
            rate_method: &r.rate_method,
            ratio: r.ratio,
            ratio_ci_low: r.ratio_ci_low,
            ratio_ci_high: r.ratio_ci_high,
            ratio_method: r.ratio_method.as_deref(),
            suppressed: r.suppressed,
            suppression_reason: r.suppression_reason.as_deref(),
            low_reliability: r.low_reliability,
        }
    }
}

/// The header of a disparity table's CSV.
pub const CSV_HEADER: [&str; 14] = [
    "group",
    "numerator",
    "denominator",
    "rate",
    "rate_ci_low",
    "rate_ci_high",
    "rate_method",
    "ratio",
    "ratio_ci_low",
    "ratio_ci_high",
    "ratio_method",
    "suppressed",
    "suppression_reason",
    "low_reliability",
];

/// What to tabulate.
pub struct Spec<'a> {
    pub dataset: &'static str,
    pub measure: &'a str,
    pub jurisdiction: &'a str,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub reference: Option<&'a str>,
}

/// (cube dataset, dimension, numerator measure, denominator measure (None: the dimension's total), unit).
type Layout = (&'static str, &'static str, Measure, Option<Measure>, &'static str);

fn layout(dataset: &str, measure: &str) -> Option<Layout> {
    use Measure::*;
    Some(match (dataset, measure) {
        ("stops", "stop") => ("stops", "race", Stops, None, "stops per 1,000 residents per year"),
        ("stops", "search") => {
            ("stops", "race", Searches, Some(SearchKnown), "share of stops with search status recorded")
        }
        ("stops", "arrest") => {
            ("stops", "race", Arrests, Some(ArrestKnown), "share of stops with arrest status recorded")
        }
        ("stops", "citation") => {
            ("stops", "race", Citations, Some(CitationKnown), "share of stops with citation status recorded")
        }
        ("stops", "hit") => ("stops", "race", Found, Some(FoundKnown), "share of searches that found contraband"),
        ("stops", "frisk") => ("stops", "race", Frisks, Some(FriskKnown), "share of stops with frisk status recorded"),
        ("complaints", "sustain") => (
            "allegations",
            "race",
            Sustained,
            Some(WithFinding),
            "share of allegations with a finding that were sustained, by complainant race",
        ),
        ("detainers", "criminality") => ("detainers", "criminality", Count, None, "share of detainer requests"),
        ("detainers", "outcome") => ("detainers", "outcome", Count, None, "share of detainer requests"),
        _ => return None,
    })
}

/// The measures of each dataset's table, the default first.
pub fn measures(dataset: &str) -> &'static [&'static str] {
    match dataset {
        "stops" => &["stop", "search", "arrest", "citation", "hit", "frisk"],
        "complaints" => &["sustain"],
        "detainers" => &["criminality", "outcome"],
        _ => &[],
    }
}

/// Whether a dataset's tables compare groups with a reference group (detainer tables are shares of all
/// requests instead).
pub fn has_reference(dataset: &str) -> bool {
    dataset != "detainers"
}

/// A cube sum: cube, jurisdiction, window, dimension.
type SumsKey = (&'static str, String, NaiveDate, NaiveDate, &'static str);

/// Sums of the cube read for one table, kept for the next tables of the same request (a page shows four
/// tables of stops from one read).
#[derive(Debug, Default)]
pub struct Reads {
    jurisdictions: BTreeMap<String, bool>,
    sums: BTreeMap<SumsKey, Vec<(String, String, f64)>>,
}

/// A disparity table over [from, to] (either end open) from the daily cube.
pub fn table(store: &Store, cfg: &MetricsConfig, spec: &Spec<'_>) -> Result<DisparityTable, MetricsError> {
    table_with(store, cfg, spec, &mut Reads::default())
}

/// Several tables, reading each cube sum once.
pub fn tables(store: &Store, cfg: &MetricsConfig, specs: &[Spec<'_>]) -> Vec<Result<DisparityTable, MetricsError>> {
    let mut reads = Reads::default();
    specs.iter().map(|spec| table_with(store, cfg, spec, &mut reads)).collect()
}

fn table_with(
    store: &Store,
    cfg: &MetricsConfig,
    spec: &Spec<'_>,
    reads: &mut Reads,
) -> Result<DisparityTable, MetricsError> {
    let (cube, dim, num_m, den_m, unit) = layout(spec.dataset, spec.measure)
        .ok_or_else(|| MetricsError::Invalid(format!("{:?} is not a measure of {}", spec.measure, spec.dataset)))?;
    let exists = match reads.jurisdictions.get(spec.jurisdiction) {
        Some(e) => *e,
        None => {
            let e = store.jurisdiction(spec.jurisdiction)?.is_some();
            reads.jurisdictions.insert(spec.jurisdiction.to_owned(), e);
            e
        }
    };
    if !exists {
        return Err(MetricsError::NotFound { what: "jurisdiction", id: spec.jurisdiction.to_owned() });
    }
    let lo = spec.from.unwrap_or(NaiveDate::MIN);
    let hi = spec.to.unwrap_or(NaiveDate::MAX);
    let key = (cube, spec.jurisdiction.to_owned(), lo, hi, dim);
    if !reads.sums.contains_key(&key) {
        let sums = store.cube_sums(cube, spec.jurisdiction, lo, hi, dim)?;
        reads.sums.insert(key.clone(), sums);
    }
    let sums = reads.sums.get(&key).map(Vec::as_slice).unwrap_or_default();
    let mut by_group: BTreeMap<String, BTreeMap<Measure, f64>> = BTreeMap::new();
    for (g, m, v) in sums.iter().cloned() {
        let m = Measure::parse(&m).ok_or_else(|| {
            MetricsError::Internal(format!("the cube holds measure {m:?}, which the code does not know"))
        })?;
        by_group.entry(g).or_default().insert(m, v);
    }
    let level = cfg.confidence;
    let mut notes = Vec::new();
    let is_share = !has_reference(spec.dataset);
    let reference = if is_share {
        if spec.reference.is_some() {
            return Err(MetricsError::Invalid(
                "detainer tables are shares of all requests: there is no reference group".into(),
            ));
        }
        None
    } else {
        Some(spec.reference.map(str::to_owned).unwrap_or_else(|| format!("race:{}", cfg.reference_group)))
    };

    // Denominators: per group for proportions; residents × years for stop rates; the total for shares.
    let total: f64 = by_group.values().map(|m| m.get(&num_m).copied().unwrap_or(0.0)).sum();
    let mut resident_years: BTreeMap<String, f64> = BTreeMap::new();
    if spec.measure == "stop" {
        let span = store.cube_span(cube, spec.jurisdiction, lo, hi)?;
        let Some((first, last)) = span else {
            return Err(MetricsError::Empty(format!("no stops of {} in the window", spec.jurisdiction)));
        };
        let years = ((last - first).num_days() + 1) as f64 / 365.25;
        let mid = first + (last - first) / 2;
        let pops = store.populations_of(spec.jurisdiction)?;
        let target = i64::from(chrono::Datelike::year(&mid));
        let mut nearest: BTreeMap<String, (i64, f64)> = BTreeMap::new();
        for p in &pops {
            let e = nearest.entry(format!("race:{}", p.group)).or_insert((p.year, p.population));
            if (p.year - target).abs() < (e.0 - target).abs() {
                *e = (p.year, p.population);
            }
        }
        resident_years.extend(nearest.into_iter().map(|(g, (_, pop))| (g, pop * years)));
        if pops.is_empty() {
            notes.push("no population figures for this jurisdiction: stop rates per resident are not available".into());
        } else {
            notes.push(format!(
                "resident-years: the population figure of the year nearest {mid} times the {:.2} years the stops cover",
                years
            ));
        }
    }

    let mut rows: Vec<DisparityRow> = Vec::new();
    for (g, m) in &by_group {
        let group = format!("{dim}:{g}");
        let x = m.get(&num_m).copied().unwrap_or(0.0);
        let (n, rate, method) = match (spec.measure, den_m) {
            ("stop", _) => {
                let Some(ry) = resident_years.get(&group) else { continue };
                (*ry, poisson_rate(x, *ry, 1000.0, level), "poisson-exact-garwood")
            }
            (_, Some(d)) => {
                let n = m.get(&d).copied().unwrap_or(0.0);
                (n, wilson(x, n, level), "wilson")
            }
            (_, None) => (total, wilson(x, total, level), "wilson"),
        };
        let rse = if spec.measure == "stop" {
            if x > 0.0 { Some(1.0 / x.sqrt()) } else { None }
        } else {
            proportion_rse(x, n)
        };
        rows.push(DisparityRow {
            group,
            numerator: Some(x),
            denominator: Some(n),
            rate: rate.as_ref().map(|e| e.value),
            rate_ci_low: rate.as_ref().map(|e| e.low),
            rate_ci_high: rate.as_ref().map(|e| e.high),
            rate_method: method.into(),
            ratio: None,
            ratio_ci_low: None,
            ratio_ci_high: None,
            ratio_method: None,
            suppressed: false,
            suppression_reason: None,
            low_reliability: x < f64::from(cfg.min_events) || rse.is_some_and(|r| r > cfg.max_rse),
        });
    }
    if let Some(reference) = &reference {
        match rows
            .iter()
            .find(|r| &r.group == reference)
            .map(|r| Counts::new(r.numerator.unwrap_or(0.0), r.denominator.unwrap_or(0.0)))
        {
            None => notes.push(format!("the reference group {reference} has no records here: no ratios")),
            Some(of_reference) => {
                for r in rows.iter_mut().filter(|r| &r.group != reference) {
                    let of_group = Counts::new(r.numerator.unwrap_or(0.0), r.denominator.unwrap_or(0.0));
                    let cmp = Comparison::new(of_group, of_reference);
                    let (est, method) = if spec.measure == "stop" {
                        (cmp.poisson_rate_ratio(level), "poisson-log-wald")
                    } else {
                        (cmp.katz_ratio(level), "katz-log")
                    };
                    if let Some(e) = est {
                        r.ratio = Some(e.value);
                        r.ratio_ci_low = Some(e.low);
                        r.ratio_ci_high = Some(e.high);
                        r.ratio_method = Some(method.into());
                    }
                }
            }
        }
    }
    let all_events: f64 = by_group.values().map(|m| m.get(&num_m).copied().unwrap_or(0.0)).sum();
    suppress(&mut rows, rate_indicator(spec.dataset, spec.measure), all_events, reference.as_deref(), cfg);
    Ok(DisparityTable {
        dataset: spec.dataset.into(),
        jurisdiction: spec.jurisdiction.into(),
        from: spec.from,
        to: spec.to,
        measure: spec.measure.into(),
        unit: unit.into(),
        reference,
        confidence: level,
        rows,
        notes,
    })
}

/// The catalogue indicator whose disclosure rules a table's rates follow (its kind decides what is checked:
/// the count of events, and for proportions the denominator too).
fn rate_indicator(dataset: &str, measure: &str) -> IndicatorId {
    match (dataset, measure) {
        ("stops", "stop") => IndicatorId::StopsRatePer1000,
        ("stops", "search") => IndicatorId::StopsSearchRate,
        ("stops", "arrest") => IndicatorId::StopsArrestRate,
        ("stops", "citation") => IndicatorId::StopsCitationRate,
        ("stops", "hit") => IndicatorId::StopsHitRate,
        ("stops", "frisk") => IndicatorId::StopsFriskRate,
        ("complaints", _) => IndicatorId::ComplaintsSustainRate,
        (_, "outcome") => IndicatorId::DetainersOutcomeShare,
        _ => IndicatorId::DetainersCriminalityShare,
    }
}

/// Disclosure control by the metric store's own rules (`crate::suppress::apply`): the rows are
/// cells of one family whose total (every event of the window, published by the series) is known, so a lone
/// withheld cell takes the next smallest with it. A ratio follows the rates it compares: it is withheld when
/// the reference group's rate is.
fn suppress(
    rows: &mut [DisparityRow],
    indicator: IndicatorId,
    all_events: f64,
    reference: Option<&str>,
    cfg: &MetricsConfig,
) {
    let cell = |group: &str, numerator: Option<f64>, denominator: Option<f64>| PointRow {
        indicator: indicator.as_str().to_owned(),
        grain: "all".to_owned(),
        group: group.to_owned(),
        numerator,
        denominator,
        ..Default::default()
    };
    let mut cells: Vec<PointRow> = rows.iter().map(|r| cell(&r.group, r.numerator, r.denominator)).collect();
    let all_denominator = rows.iter().filter_map(|r| r.denominator).sum();
    cells.push(cell("all", Some(all_events), Some(all_denominator)));
    crate::suppress::apply(&mut cells, cfg);
    for (r, c) in rows.iter_mut().zip(&cells) {
        if c.suppressed {
            withhold(r, c.suppression_reason.clone().unwrap_or_default());
        }
    }
    if let Some(reference) = reference
        && rows.iter().any(|r| r.group == reference && r.suppressed)
    {
        for r in rows.iter_mut().filter(|r| r.ratio.is_some()) {
            r.ratio = None;
            r.ratio_ci_low = None;
            r.ratio_ci_high = None;
            r.suppression_reason.get_or_insert_with(|| "reference_suppressed".to_owned());
        }
    }
}

fn withhold(r: &mut DisparityRow, reason: String) {
    r.suppressed = true;
    r.suppression_reason = Some(reason);
    r.numerator = None;
    r.denominator = None;
    r.rate = None;
    r.rate_ci_low = None;
    r.rate_ci_high = None;
    r.ratio = None;
    r.ratio_ci_low = None;
    r.ratio_ci_high = None;
}
