//! Stage one of every job: records to the daily cube. Each dataset's records are read into a polars frame,
//! given group and measure columns, and summed by day for the whole population and for each group dimension
//! (lazy group-bys). The cube is additive: every grain's indicator points are sums over its days.

use crate::MetricsError;
use oversight_core::{CodeList, Measure, Race, Sex};
use oversight_store::CubeRow;
use polars::prelude::*;

/// The group used when a record has no value for a dimension.
pub(crate) const MISSING: &str = "(missing)";

/// How a dataset's frame becomes cube rows.
pub(crate) struct CubeSpec {
    /// (dimension name, expression giving the group: text, or a 1-based code whose labels `labels` gives).
    pub(crate) dims: Vec<(&'static str, Expr)>,
    /// Labels of coded dimensions, by dimension name.
    pub(crate) labels: Vec<(&'static str, Vec<&'static str>)>,
    /// (measure, numeric expression summed per day and group).
    pub(crate) measures: Vec<(Measure, Expr)>,
}

fn text_or_missing(c: &str) -> Expr {
    col(c).cast(DataType::String).fill_null(lit(MISSING))
}

/// Measures are booleans (one bit a row); summing one counts its true values.
fn flag(e: Expr) -> Expr {
    e.fill_null(lit(false))
}

fn known(c: &str) -> Expr {
    col(c).is_not_null()
}

/// Age bands of stopped people.
pub(crate) const AGE_BANDS: &[&str] = &["under 18", "18-24", "25-34", "35-44", "45-54", "55-64", "65 and over"];

/// The age band's 1-based position in [`AGE_BANDS`] (null when the age is missing): grouping on a small number
/// is far cheaper than on text; the label is put back after grouping.
fn age_band() -> Expr {
    let age = || col("age");
    when(age().lt(lit(18i64)))
        .then(lit(1i32))
        .when(age().lt(lit(25i64)))
        .then(lit(2i32))
        .when(age().lt(lit(35i64)))
        .then(lit(3i32))
        .when(age().lt(lit(45i64)))
        .then(lit(4i32))
        .when(age().lt(lit(55i64)))
        .then(lit(5i32))
        .when(age().lt(lit(65i64)))
        .then(lit(6i32))
        .when(age().is_not_null())
        .then(lit(7i32))
        .otherwise(lit(NULL).cast(DataType::Int32))
}

/// The text of a group value read back from a grouped column (coded dimensions hold 1-based positions).
fn label(labels: Option<&[&'static str]>, raw: Option<&str>) -> String {
    match (labels, raw) {
        (_, None) => MISSING.to_owned(),
        (Some(l), Some(i)) => i
            .parse::<usize>()
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| l.get(i))
            .map_or(MISSING, |v| v)
            .to_owned(),
        (None, Some(v)) => v.to_owned(),
    }
}

pub(crate) fn stops_spec() -> CubeSpec {
    let searched = || col("searched").fill_null(lit(false));
    CubeSpec {
        dims: vec![("race", col("race")), ("sex", col("sex")), ("age", age_band())],
        labels: vec![("race", Race::all_strs()), ("sex", Sex::all_strs()), ("age", AGE_BANDS.to_vec())],
        measures: vec![
            (Measure::Stops, lit(true)),
            (Measure::SearchKnown, known("searched")),
            (Measure::Searches, flag(col("searched"))),
            (Measure::FoundKnown, flag(searched().and(col("found").is_not_null()))),
            (Measure::Found, flag(searched().and(col("found").fill_null(lit(false))))),
            (Measure::ArrestKnown, known("arrested")),
            (Measure::Arrests, flag(col("arrested"))),
            (Measure::CitationKnown, known("cited")),
            (Measure::Citations, flag(col("cited"))),
            (Measure::ReferralKnown, known("referred")),
            (Measure::Referrals, flag(col("referred"))),
        ],
    }
}

pub(crate) fn detainers_spec() -> CubeSpec {
    CubeSpec {
        dims: vec![
            ("criminality", text_or_missing("criminality")),
            ("outcome", text_or_missing("outcome")),
            ("country", text_or_missing("country")),
            ("sex", text_or_missing("sex")),
            ("severity", text_or_missing("severity")),
            ("warrant", text_or_missing("warrant")),
            ("race", text_or_missing("race")),
        ],
        labels: Vec::new(),
        measures: vec![(Measure::Count, lit(true))],
    }
}

pub(crate) fn crime_reports_spec() -> CubeSpec {
    CubeSpec {
        dims: vec![("race", text_or_missing("race")), ("offense", text_or_missing("offense"))],
        labels: Vec::new(),
        measures: vec![(Measure::Count, lit(true))],
    }
}

pub(crate) fn complaints_spec() -> CubeSpec {
    CubeSpec {
        dims: vec![("race", text_or_missing("race"))],
        labels: Vec::new(),
        measures: vec![(Measure::Count, lit(true))],
    }
}

pub(crate) fn allegations_spec() -> CubeSpec {
    let finding = || col("finding");
    CubeSpec {
        dims: vec![("category", text_or_missing("category")), ("race", text_or_missing("race"))],
        labels: Vec::new(),
        measures: vec![
            (Measure::Allegations, lit(true)),
            (Measure::WithFinding, flag(finding().is_not_null().and(finding().neq(lit("pending"))))),
            (Measure::Sustained, flag(finding().eq(lit("sustained")))),
        ],
    }
}

/// Sums the measures per day, overall and per group of each dimension.
pub(crate) fn build(df: DataFrame, spec: &CubeSpec) -> Result<Vec<CubeRow>, MetricsError> {
    if df.height() == 0 {
        return Ok(Vec::new());
    }
    let mut exprs = vec![col("date").cast(DataType::Int32).alias("day")];
    for (name, e) in &spec.dims {
        exprs.push(e.clone().alias(format!("d_{name}")));
    }
    for (name, e) in &spec.measures {
        exprs.push(e.clone().alias(format!("m_{name}")));
    }
    // One group-by over the records by day and every dimension at once; the per-dimension sums come from
    // that (small) result.
    let t = std::time::Instant::now();
    let dim_cols: Vec<String> = spec.dims.iter().map(|d| format!("d_{}", d.0)).collect();
    let sums: Vec<Expr> = spec.measures.iter().map(|(m, _)| col(format!("m_{m}")).sum()).collect();
    let mut keys = vec![col("day")];
    keys.extend(dim_cols.iter().map(|c| col(c.as_str())));
    let fine = df.lazy().select(exprs).group_by(keys).agg(sums.clone()).collect()?;
    tracing::debug!(seconds = t.elapsed().as_secs_f64(), groups = fine.height(), "cube: records grouped");
    let mut rows = Vec::new();
    let all = std::iter::once("all").chain(spec.dims.iter().map(|d| d.0));
    for dim in all {
        let mut keys = vec![col("day")];
        if dim != "all" {
            keys.push(col(format!("d_{dim}")));
        }
        let g = fine.clone().lazy().group_by(keys).agg(sums.clone()).collect()?;
        let days = g.column("day")?.as_materialized_series().i32()?.clone();
        let groups = if dim == "all" {
            None
        } else {
            let c = g.column(&format!("d_{dim}"))?.as_materialized_series().cast(&DataType::String)?;
            Some(c.str()?.clone())
        };
        for (m, _) in &spec.measures {
            let vals = g.column(&format!("m_{m}"))?.as_materialized_series().cast(&DataType::Float64)?;
            let vals = vals.f64()?;
            for i in 0..g.height() {
                let (Some(day), Some(v)) = (days.get(i), vals.get(i)) else { continue };
                if v == 0.0 {
                    continue;
                }
                let grp = match &groups {
                    None => "all".to_owned(),
                    Some(s) => label(spec.labels.iter().find(|l| l.0 == dim).map(|l| l.1.as_slice()), s.get(i)),
                };
                rows.push(CubeRow {
                    day: oversight_core::period::from_epoch_days(day),
                    dim: dim.to_owned(),
                    grp,
                    measure: m.as_str().to_owned(),
                    value: v,
                });
            }
        }
    }
    Ok(rows)
}
