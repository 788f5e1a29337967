//! A metric point as it is published (the API's series, its CSV, the CLI's `series --csv`): suppressed values
//! withheld, the period labelled, written by serialising these rows so every writer has the same columns.

use oversight_core::{Grain, Period};
use oversight_store::PointRow;
use serde::{Serialize, Serializer};

/// A point of a series.
// As the series endpoint writes it (borrowing the stored point), and as the API documents it (`SeriesPoint`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = SeriesPoint)]
pub struct PublishedPoint<'a> {
    pub period_start: chrono::NaiveDate,
    pub period: String,
    pub group: &'a str,
    pub numerator: Option<f64>,
    pub denominator: Option<f64>,
    pub value: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub ci_method: Option<&'a str>,
    pub reference_group: Option<&'a str>,
    pub suppressed: bool,
    pub suppression_reason: Option<&'a str>,
    pub low_reliability: bool,
    pub note: Option<&'a str>,
    /// The metric run that wrote the point (provenance: /v1/datasets, /v1/imports).
    pub run_id: i64,
}

impl<'a> PublishedPoint<'a> {
    /// The point of `grain` as published: a suppressed point's numbers are withheld.
    pub fn new(p: &'a PointRow, grain: Grain) -> Self {
        let shown = |v: Option<f64>| if p.suppressed { None } else { v };
        Self {
            period_start: p.period_start,
            period: Period { grain, start: p.period_start }.label(),
            group: &p.group,
            numerator: shown(p.numerator),
            denominator: shown(p.denominator),
            value: shown(p.value),
            ci_low: shown(p.ci_low),
            ci_high: shown(p.ci_high),
            ci_method: p.ci_method.as_deref(),
            reference_group: p.reference_group.as_deref(),
            suppressed: p.suppressed,
            suppression_reason: p.suppression_reason.as_deref(),
            low_reliability: p.low_reliability,
            note: p.note.as_deref(),
            run_id: p.run_id,
        }
    }
}

/// One line of a series CSV: the columns of `/v1/indicators/{id}/series.csv` and `oversight series --csv`.
#[derive(Debug, Serialize)]
pub struct CsvPoint<'a> {
    pub period: &'a str,
    pub group: &'a str,
    #[serde(serialize_with = "plain")]
    pub numerator: Option<f64>,
    #[serde(serialize_with = "plain")]
    pub denominator: Option<f64>,
    #[serde(serialize_with = "plain")]
    pub value: Option<f64>,
    #[serde(serialize_with = "plain")]
    pub ci_low: Option<f64>,
    #[serde(serialize_with = "plain")]
    pub ci_high: Option<f64>,
    pub ci_method: Option<&'a str>,
    pub suppressed: bool,
    pub suppression_reason: Option<&'a str>,
    pub low_reliability: bool,
    pub note: Option<&'a str>,
}

impl<'a> From<&'a PublishedPoint<'a>> for CsvPoint<'a> {
    fn from(p: &'a PublishedPoint<'a>) -> Self {
        Self {
            period: &p.period,
            group: p.group,
            numerator: p.numerator,
            denominator: p.denominator,
            value: p.value,
            ci_low: p.ci_low,
            ci_high: p.ci_high,
            ci_method: p.ci_method,
            suppressed: p.suppressed,
            suppression_reason: p.suppression_reason,
            low_reliability: p.low_reliability,
            note: p.note,
        }
    }
}

/// A number as people write it (`52`, `0.102`), not `52.0`; empty when absent.
pub fn plain<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(x) => s.collect_str(x),
        None => s.serialize_none(),
    }
}

/// Writes a series as CSV (header, then one line per point) to `w`.
pub fn write_series_csv<W: std::io::Write>(w: W, points: &[PublishedPoint<'_>]) -> Result<(), csv::Error> {
    let mut w = csv::Writer::from_writer(w);
    if points.is_empty() {
        // serialize() writes the header with the first row; an empty series still has one.
        w.write_record(CSV_HEADER)?;
    }
    for p in points {
        w.serialize(CsvPoint::from(p))?;
    }
    w.flush()?;
    Ok(())
}

/// The header of a series CSV.
pub const CSV_HEADER: [&str; 12] = [
    "period",
    "group",
    "numerator",
    "denominator",
    "value",
    "ci_low",
    "ci_high",
    "ci_method",
    "suppressed",
    "suppression_reason",
    "low_reliability",
    "note",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_csv_has_the_header_and_plain_numbers_and_withholds_suppressed_values() {
        let p = PointRow {
            group: "race:black".into(),
            period_start: chrono::NaiveDate::from_ymd_opt(2019, 1, 1).unwrap(),
            numerator: Some(52.0),
            denominator: Some(510.0),
            value: Some(0.102),
            ci_method: Some("wilson".into()),
            ..Default::default()
        };
        let q = PointRow { suppressed: true, suppression_reason: Some("small_count".into()), ..p.clone() };
        let pts = [PublishedPoint::new(&p, Grain::Month), PublishedPoint::new(&q, Grain::Month)];
        let mut out = Vec::new();
        write_series_csv(&mut out, &pts).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!(
                "{}\n2019-01,race:black,52,510,0.102,,,wilson,false,,false,\n\
                 2019-01,race:black,,,,,,wilson,true,small_count,false,\n",
                CSV_HEADER.join(",")
            )
        );
        let mut empty = Vec::new();
        write_series_csv(&mut empty, &[]).unwrap();
        assert_eq!(String::from_utf8(empty).unwrap(), format!("{}\n", CSV_HEADER.join(",")));
    }
}
