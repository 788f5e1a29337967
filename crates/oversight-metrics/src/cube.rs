//! Stage one of every job: records to the daily cube. Each dataset's records are read into a polars frame,
//! given group and measure columns, and summed by day for the whole population and for each group dimension
//! (lazy group-bys). The cube is additive: every grain's indicator points are sums over its days.
//!
//! Each cube is defined once, as data ([`CubeSpec`]: the frame's SQL, its group dimensions and its measures
//! over the frame's columns), and rendered two ways: as polars expressions for `oversight compute`, and as
//! Spark SQL for the cube job in `contrib/spark` ([`spark_sql`]), so the two cannot drift apart. A cube built
//! by Spark names the digest of the SQL it ran; `oversight compute --cube` takes only a cube whose digest is
//! this build's.

use crate::MetricsError;
use oversight_core::{CodeList, Dataset, Measure, Race, Sex};
use oversight_store::{CubeRow, Frame};
use polars::prelude::*;
use std::fmt::Write as _;

/// The group used when a record has no value for a dimension.
pub(crate) const MISSING: &str = "(missing)";

/// A measure over a frame's columns: true counts the record (measures are summed flags).
#[derive(Debug, Clone)]
pub(crate) enum Flag {
    /// Every record.
    Always,
    /// A boolean column (null counts as false).
    Col(&'static str),
    /// The column has a value.
    Known(&'static str),
    /// Both (null as false).
    And(Box<Flag>, Box<Flag>),
    /// The text column equals the value.
    Is(&'static str, &'static str),
    /// The text column has a value other than this one.
    KnownAndNot(&'static str, &'static str),
    /// The text column equals one of the values.
    OneOf(&'static str, &'static [&'static str]),
}

/// A group dimension over a frame's column.
#[derive(Debug, Clone)]
pub(crate) enum Dim {
    /// The column's text; `(missing)` when null.
    Text(&'static str),
    /// A 1-based position in a code list (the frame's SQL codes it: grouping on a small number is far cheaper
    /// than on text), labelled after grouping; `(missing)` when null.
    Coded(&'static str, fn() -> Vec<&'static str>),
    /// The age band ([`AGE_BANDS`]) of an age column.
    AgeBand(&'static str),
}

/// How a dataset's frame becomes cube rows.
pub(crate) struct CubeSpec {
    /// The cube's name (`metric_cube.dataset`).
    pub(crate) name: &'static str,
    /// The records it reads.
    pub(crate) frame: Frame,
    pub(crate) dims: Vec<(&'static str, Dim)>,
    pub(crate) measures: Vec<(Measure, Flag)>,
}

/// Age bands of stopped people.
pub(crate) const AGE_BANDS: &[&str] = &["under 18", "18-24", "25-34", "35-44", "45-54", "55-64", "65 and over"];
/// The upper bounds (exclusive) of the bands but the last.
const AGE_BOUNDS: &[i64] = &[18, 25, 35, 45, 55, 65];

fn age_bands() -> Vec<&'static str> {
    AGE_BANDS.to_vec()
}

impl Flag {
    fn and(self, other: Flag) -> Flag {
        Flag::And(Box::new(self), Box::new(other))
    }

    /// The polars expression (null is false).
    fn polars(&self) -> Expr {
        match self {
            Flag::Always => lit(true),
            Flag::Col(c) => col(*c).fill_null(lit(false)),
            Flag::Known(c) => col(*c).is_not_null(),
            Flag::And(a, b) => a.polars().and(b.polars()),
            Flag::Is(c, v) => col(*c).eq(lit(*v)).fill_null(lit(false)),
            Flag::KnownAndNot(c, v) => col(*c).is_not_null().and(col(*c).neq(lit(*v)).fill_null(lit(false))),
            Flag::OneOf(c, vs) => vs
                .iter()
                .map(|v| col(*c).eq(lit(*v)))
                .reduce(|a, b| a.or(b))
                .unwrap_or(lit(false))
                .fill_null(lit(false)),
        }
    }

    /// The Spark SQL expression (null is false).
    fn sql(&self) -> String {
        match self {
            Flag::Always => "TRUE".into(),
            Flag::Col(c) => format!("coalesce({c}, FALSE)"),
            Flag::Known(c) => format!("({c} IS NOT NULL)"),
            Flag::And(a, b) => format!("({} AND {})", a.sql(), b.sql()),
            Flag::Is(c, v) => format!("coalesce({c} = {}, FALSE)", text(v)),
            Flag::KnownAndNot(c, v) => format!("({c} IS NOT NULL AND coalesce({c} <> {}, FALSE))", text(v)),
            Flag::OneOf(c, vs) => {
                format!("coalesce({c} IN ({}), FALSE)", vs.iter().map(|v| text(v)).collect::<Vec<_>>().join(", "))
            }
        }
    }
}

/// A SQL text literal.
fn text(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

impl Dim {
    fn labels(&self) -> Option<Vec<&'static str>> {
        match self {
            Dim::Text(_) => None,
            Dim::Coded(_, l) => Some(l()),
            Dim::AgeBand(_) => Some(age_bands()),
        }
    }

    /// The polars expression giving the group (text, or a 1-based code).
    fn polars(&self) -> Expr {
        match self {
            Dim::Text(c) => col(*c).cast(DataType::String).fill_null(lit(MISSING)),
            Dim::Coded(c, _) => col(*c),
            Dim::AgeBand(c) => {
                let last = AGE_BOUNDS.len() as i32 + 1;
                let mut e = when(col(*c).is_not_null()).then(lit(last)).otherwise(lit(NULL).cast(DataType::Int32));
                for (i, b) in AGE_BOUNDS.iter().enumerate().rev() {
                    e = when(col(*c).lt(lit(*b))).then(lit(i as i32 + 1)).otherwise(e);
                }
                e
            }
        }
    }

    /// The Spark SQL expression giving the group (as [`Dim::polars`]).
    fn sql(&self) -> String {
        match self {
            Dim::Text(c) => format!("coalesce(CAST({c} AS STRING), {})", text(MISSING)),
            Dim::Coded(c, _) => (*c).to_owned(),
            Dim::AgeBand(c) => {
                let mut s = "CASE".to_owned();
                for (i, b) in AGE_BOUNDS.iter().enumerate() {
                    let _ = write!(s, " WHEN {c} < {b} THEN {}", i + 1);
                }
                let _ = write!(s, " WHEN {c} IS NOT NULL THEN {} END", AGE_BOUNDS.len() + 1);
                s
            }
        }
    }
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

fn stops_spec() -> CubeSpec {
    let searched = || Flag::Col("searched");
    CubeSpec {
        name: "stops",
        frame: Frame::Stops,
        dims: vec![
            ("race", Dim::Coded("race", Race::all_strs)),
            ("sex", Dim::Coded("sex", Sex::all_strs)),
            ("age", Dim::AgeBand("age")),
        ],
        measures: vec![
            (Measure::Stops, Flag::Always),
            (Measure::SearchKnown, Flag::Known("searched")),
            (Measure::Searches, searched()),
            (Measure::FoundKnown, searched().and(Flag::Known("found"))),
            (Measure::Found, searched().and(Flag::Col("found"))),
            (Measure::ArrestKnown, Flag::Known("arrested")),
            (Measure::Arrests, Flag::Col("arrested")),
            (Measure::CitationKnown, Flag::Known("cited")),
            (Measure::Citations, Flag::Col("cited")),
            (Measure::ReferralKnown, Flag::Known("referred")),
            (Measure::Referrals, Flag::Col("referred")),
            (Measure::FriskKnown, Flag::Known("frisked")),
            (Measure::Frisks, Flag::Col("frisked")),
        ],
    }
}

fn detainers_spec() -> CubeSpec {
    let dims = ["criminality", "outcome", "country", "sex", "severity", "warrant", "race"];
    CubeSpec {
        name: "detainers",
        frame: Frame::Detainers,
        dims: dims.iter().map(|d| (*d, Dim::Text(d))).collect(),
        measures: vec![(Measure::Count, Flag::Always)],
    }
}

fn crime_reports_spec() -> CubeSpec {
    CubeSpec {
        name: "crime-reports",
        frame: Frame::CrimeReports,
        dims: vec![("race", Dim::Text("race")), ("offense", Dim::Text("offense"))],
        measures: vec![(Measure::Count, Flag::Always)],
    }
}

fn complaints_spec() -> CubeSpec {
    CubeSpec {
        name: "complaints",
        frame: Frame::Complaints,
        dims: vec![("race", Dim::Text("race"))],
        measures: vec![(Measure::Count, Flag::Always)],
    }
}

fn allegations_spec() -> CubeSpec {
    let sustained = || Flag::Is("finding", "sustained");
    CubeSpec {
        name: "allegations",
        frame: Frame::Allegations,
        dims: vec![
            ("category", Dim::Text("category")),
            ("race", Dim::Text("race")),
            ("officer_race", Dim::Text("officer_race")),
        ],
        measures: vec![
            (Measure::Allegations, Flag::Always),
            (Measure::WithFinding, Flag::KnownAndNot("finding", "pending")),
            (Measure::Sustained, sustained()),
            (
                Measure::DisciplineDecided,
                sustained().and(Flag::OneOf("outcome", &["disciplined", "corrective", "none"])),
            ),
            (Measure::Disciplined, sustained().and(Flag::Is("outcome", "disciplined"))),
            (Measure::Actioned, sustained().and(Flag::OneOf("outcome", &["disciplined", "corrective"]))),
        ],
    }
}

/// The cubes a dataset fills.
pub(crate) fn cubes(d: Dataset) -> Vec<CubeSpec> {
    match d {
        Dataset::Stops => vec![stops_spec()],
        Dataset::Detainers => vec![detainers_spec()],
        Dataset::CrimeReports => vec![crime_reports_spec()],
        Dataset::Complaints => vec![complaints_spec(), allegations_spec()],
        Dataset::PolicyEvents | Dataset::Populations => Vec::new(),
    }
}

/// Sums the measures per day, overall and per group of each dimension.
pub(crate) fn build(df: DataFrame, spec: &CubeSpec) -> Result<Vec<CubeRow>, MetricsError> {
    if df.height() == 0 {
        return Ok(Vec::new());
    }
    let mut exprs = vec![col("date").cast(DataType::Int32).alias("day")];
    for (name, d) in &spec.dims {
        exprs.push(d.polars().alias(format!("d_{name}")));
    }
    for (name, f) in &spec.measures {
        exprs.push(f.polars().alias(format!("m_{name}")));
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
    let all = std::iter::once(("all", None)).chain(spec.dims.iter().map(|(n, d)| (*n, Some(d))));
    for (dim, d) in all {
        let mut keys = vec![col("day")];
        if d.is_some() {
            keys.push(col(format!("d_{dim}")));
        }
        let g = fine.clone().lazy().group_by(keys).agg(sums.clone()).collect()?;
        let days = g.column("day")?.as_materialized_series().i32()?.clone();
        let groups = match d {
            None => None,
            Some(d) => {
                let c = g.column(&format!("d_{dim}"))?.as_materialized_series().cast(&DataType::String)?;
                Some((c.str()?.clone(), d.labels()))
            }
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
                    Some((s, labels)) => label(labels.as_deref(), s.get(i)),
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

/// The datasets with cubes, in the order [`spark_sql`] lists them.
const CUBE_DATASETS: &[Dataset] = &[Dataset::Stops, Dataset::Detainers, Dataset::CrimeReports, Dataset::Complaints];

/// A frame's SQL without its parameter filter: every jurisdiction and day.
fn frame_body(frame: Frame) -> Result<&'static str, MetricsError> {
    let sql = frame.sql();
    // Every frame ends with its one parameter filter (jurisdiction and dates); the cube job reads every
    // jurisdiction and day, so it takes the rest.
    let (body, filter) = sql.trim_end().rsplit_once("\nWHERE ").ok_or_else(|| {
        MetricsError::Invalid(format!("the {frame:?} frame's SQL does not end with its WHERE clause"))
    })?;
    if !filter.contains("$1") || !filter.contains("BETWEEN $2 AND $3") || body.contains('$') {
        return Err(MetricsError::Invalid(format!("the {frame:?} frame's SQL has parameters outside its last WHERE")));
    }
    Ok(body)
}

/// One cube as a Spark SQL query over the lake's record tables (registered as views under their table
/// names): rows of (dataset, jurisdiction_id, day, dim, grp, measure, value), as [`build`] makes them.
fn spark_query(spec: &CubeSpec) -> Result<String, MetricsError> {
    let mut s = String::new();
    let _ = writeln!(s, "-- cube: {}", spec.name);
    let _ = writeln!(s, "WITH frame AS (\n{}\n),", frame_body(spec.frame)?);
    let _ = writeln!(s, "fine AS (\n    SELECT jurisdiction_id, date AS day");
    for (name, d) in &spec.dims {
        let _ = writeln!(s, "        , {} AS d_{name}", d.sql());
    }
    for (m, f) in &spec.measures {
        let _ = writeln!(s, "        , CASE WHEN {} THEN 1 ELSE 0 END AS m_{m}", f.sql());
    }
    let _ = writeln!(s, "    FROM frame\n),\nsums AS (");
    let sums: Vec<String> = spec.measures.iter().map(|(m, _)| format!("sum(m_{m}) AS m_{m}")).collect();
    let sums = sums.join(", ");
    let _ = writeln!(
        s,
        "    SELECT jurisdiction_id, day, 'all' AS dim, 'all' AS grp, {sums}\n    FROM fine GROUP BY jurisdiction_id, day"
    );
    for (name, d) in &spec.dims {
        let grp = match d.labels() {
            None => format!("d_{name}"),
            Some(l) => {
                let mut c = format!("CASE d_{name}");
                for (i, v) in l.iter().enumerate() {
                    let _ = write!(c, " WHEN {} THEN {}", i + 1, text(v));
                }
                let _ = write!(c, " ELSE {} END", text(MISSING));
                c
            }
        };
        let _ = writeln!(
            s,
            "    UNION ALL\n    SELECT jurisdiction_id, day, {} AS dim, {grp} AS grp, {sums}\n    FROM fine GROUP BY jurisdiction_id, day, d_{name}",
            text(name)
        );
    }
    let stack: Vec<String> = spec.measures.iter().map(|(m, _)| format!("{}, m_{m}", text(m.as_str()))).collect();
    let _ = writeln!(
        s,
        ")\nSELECT {} AS dataset, jurisdiction_id, day, dim, grp, measure, CAST(value AS DOUBLE) AS value\n\
         FROM sums LATERAL VIEW stack({}, {}) m AS measure, value\nWHERE value <> 0",
        text(spec.name),
        spec.measures.len(),
        stack.join(", ")
    );
    Ok(s)
}

/// Every cube's Spark SQL, one query per cube separated by `;` lines: what `contrib/spark/cube.sql` holds
/// (`oversight lake cube-sql` prints it; a test keeps the committed file equal to it).
pub fn spark_sql() -> Result<String, MetricsError> {
    let mut out = String::from(
        "-- The daily cube of every dataset, as Spark SQL over the lake's record tables (each registered as a\n\
         -- view under its table name). Generated from the cube definitions in oversight-metrics (cube.rs) by\n\
         -- `oversight lake cube-sql`: do not edit; regenerate.\n",
    );
    for d in CUBE_DATASETS {
        for spec in cubes(*d) {
            out.push('\n');
            out.push_str(&spark_query(&spec)?);
            out.push_str(";\n");
        }
    }
    Ok(out)
}

/// sha256 of [`spark_sql`]: what a cube built elsewhere must name to be taken.
pub fn definition_sha256() -> Result<String, MetricsError> {
    use sha2::Digest;
    Ok(hex::encode(sha2::Sha256::digest(spark_sql()?.as_bytes())))
}

/// The names of the cubes (`metric_cube.dataset`).
pub fn cube_names() -> Vec<&'static str> {
    CUBE_DATASETS.iter().flat_map(|d| cubes(*d)).map(|s| s.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_frame_ends_with_its_filter_and_spark_sql_names_every_measure() {
        let sql = spark_sql().unwrap();
        for d in CUBE_DATASETS {
            for spec in cubes(*d) {
                assert!(sql.contains(&format!("-- cube: {}\n", spec.name)));
                for (m, _) in &spec.measures {
                    assert!(sql.contains(&format!("'{m}', m_{m}")), "{m}");
                }
            }
        }
        assert_eq!(sql.matches(";\n").count(), cube_names().len());
    }

    #[test]
    fn age_bands_match_their_bounds() {
        let df = df!("age" => [Some(17i64), Some(18), Some(64), Some(65), None]).unwrap();
        let out = df.lazy().select([Dim::AgeBand("age").polars().alias("b")]).collect().unwrap();
        let b = out.column("b").unwrap().as_materialized_series().i32().unwrap().clone();
        let b: Vec<Option<i32>> = (0..b.len()).map(|i| b.get(i)).collect();
        assert_eq!(b, vec![Some(1), Some(2), Some(6), Some(7), None]);
        assert_eq!(AGE_BANDS.len(), AGE_BOUNDS.len() + 1);
    }
}
