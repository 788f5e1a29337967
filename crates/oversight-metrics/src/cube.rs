//! Stage one of every job: records to the daily cube. Each dataset's records are read into a polars frame,
//! given group and measure columns, and summed by day for the whole population and for each group dimension
//! (lazy group-bys). The cube is additive: every grain's indicator points are sums over its days.

use crate::MetricsError;
use chrono::NaiveDate;
use oversight_store::CubeRow;
use polars::prelude::*;

/// The group used when a record has no value for a dimension.
pub(crate) const MISSING: &str = "(missing)";

/// How a dataset's frame becomes cube rows.
pub(crate) struct CubeSpec {
    /// (dimension name, expression giving the group as text).
    pub(crate) dims: Vec<(&'static str, Expr)>,
    /// (measure name, numeric expression summed per day and group).
    pub(crate) measures: Vec<(&'static str, Expr)>,
}

fn text_or_missing(c: &str) -> Expr {
    col(c).cast(DataType::String).fill_null(lit(MISSING))
}

fn flag(e: Expr) -> Expr {
    e.fill_null(lit(false)).cast(DataType::Int64)
}

fn known(c: &str) -> Expr {
    col(c).is_not_null().cast(DataType::Int64)
}

/// Age bands of stopped people.
pub(crate) const AGE_BANDS: &[&str] = &["under 18", "18-24", "25-34", "35-44", "45-54", "55-64", "65 and over"];

fn age_band() -> Expr {
    when(col("age").is_null())
        .then(lit(MISSING))
        .when(col("age").lt(lit(18)))
        .then(lit(AGE_BANDS[0]))
        .when(col("age").lt(lit(25)))
        .then(lit(AGE_BANDS[1]))
        .when(col("age").lt(lit(35)))
        .then(lit(AGE_BANDS[2]))
        .when(col("age").lt(lit(45)))
        .then(lit(AGE_BANDS[3]))
        .when(col("age").lt(lit(55)))
        .then(lit(AGE_BANDS[4]))
        .when(col("age").lt(lit(65)))
        .then(lit(AGE_BANDS[5]))
        .otherwise(lit(AGE_BANDS[6]))
}

pub(crate) fn stops_spec() -> CubeSpec {
    let searched = || col("searched").fill_null(lit(false));
    CubeSpec {
        dims: vec![("race", text_or_missing("race")), ("sex", text_or_missing("sex")), ("age", age_band())],
        measures: vec![
            ("stops", lit(1i64)),
            ("search_known", known("searched")),
            ("searches", flag(col("searched"))),
            ("found_known", flag(searched().and(col("found").is_not_null()))),
            ("found", flag(searched().and(col("found").fill_null(lit(false))))),
            ("arrest_known", known("arrested")),
            ("arrests", flag(col("arrested"))),
            ("citation_known", known("cited")),
            ("citations", flag(col("cited"))),
            ("referral_known", known("referred")),
            ("referrals", flag(col("referred"))),
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
        measures: vec![("count", lit(1i64))],
    }
}

pub(crate) fn crime_reports_spec() -> CubeSpec {
    CubeSpec {
        dims: vec![("race", text_or_missing("race")), ("offense", text_or_missing("offense"))],
        measures: vec![("count", lit(1i64))],
    }
}

pub(crate) fn complaints_spec() -> CubeSpec {
    CubeSpec { dims: vec![("race", text_or_missing("race"))], measures: vec![("count", lit(1i64))] }
}

pub(crate) fn allegations_spec() -> CubeSpec {
    let finding = || col("finding");
    CubeSpec {
        dims: vec![("category", text_or_missing("category")), ("race", text_or_missing("race"))],
        measures: vec![
            ("allegations", lit(1i64)),
            ("with_finding", flag(finding().is_not_null().and(finding().neq(lit("pending"))))),
            ("sustained", flag(finding().eq(lit("sustained")))),
        ],
    }
}

const EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d,
    None => panic!("1970-01-01 is a date"),
};

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
        exprs.push(e.clone().cast(DataType::Int64).alias(format!("m_{name}")));
    }
    let prepared = df.lazy().select(exprs).collect()?;
    let mut rows = Vec::new();
    let all = std::iter::once("all").chain(spec.dims.iter().map(|d| d.0));
    for dim in all {
        let mut keys = vec![col("day")];
        if dim != "all" {
            keys.push(col(format!("d_{dim}")));
        }
        let aggs: Vec<Expr> = spec.measures.iter().map(|(m, _)| col(format!("m_{m}")).sum()).collect();
        let g = prepared.clone().lazy().group_by(keys).agg(aggs).collect()?;
        let days = g.column("day")?.as_materialized_series().i32()?.clone();
        let groups = if dim == "all" {
            None
        } else {
            Some(g.column(&format!("d_{dim}"))?.as_materialized_series().str()?.clone())
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
                    Some(s) => s.get(i).unwrap_or(MISSING).to_owned(),
                };
                rows.push(CubeRow {
                    day: EPOCH + chrono::Duration::days(i64::from(day)),
                    dim: dim.to_owned(),
                    grp,
                    measure: (*m).to_owned(),
                    value: v,
                });
            }
        }
    }
    Ok(rows)
}
