//! One indicator, one period, every jurisdiction (the view across agencies): each one's published value and
//! interval, and its ratio to the others combined with the ratio's interval. Read from the metric store, so
//! the values are the series' values; withheld points stay withheld and are left out of every pool, so no
//! ratio can give a withheld count back.

use crate::{Kind, MetricsConfig, MetricsError, suppress};
use chrono::NaiveDate;
use oversight_core::{Grain, Period};
use oversight_stats::intervals::{katz_ratio, poisson_rate_ratio};
use oversight_store::{Jurisdiction, PointRow, Store};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

/// The column a comparison is sorted by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    /// The jurisdiction's name.
    Jurisdiction,
    #[default]
    Value,
    Ratio,
    Numerator,
    Denominator,
}

/// Ascending or descending.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    Asc,
    #[default]
    Desc,
}

/// What to compare.
#[derive(Debug, Clone)]
pub struct CompareSpec<'a> {
    pub indicator: &'a str,
    pub grain: Grain,
    /// A period start; None: the latest period the indicator has.
    pub period: Option<NaiveDate>,
    /// `all` or `dimension:value`.
    pub group: &'a str,
    /// Compare each with this jurisdiction instead of with the others combined.
    pub reference: Option<&'a str>,
    pub sort: SortKey,
    pub order: Order,
}

/// One jurisdiction's row.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CompareRow {
    pub jurisdiction: String,
    pub name: String,
    /// Null when withheld.
    pub numerator: Option<f64>,
    pub denominator: Option<f64>,
    pub value: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub ci_method: Option<String>,
    /// This jurisdiction's rate over the comparison's (see `ratio_to`); null when withheld or undefined.
    pub ratio: Option<f64>,
    pub ratio_ci_low: Option<f64>,
    pub ratio_ci_high: Option<f64>,
    pub ratio_method: Option<String>,
    pub suppressed: bool,
    pub suppression_reason: Option<String>,
    pub low_reliability: bool,
    pub note: Option<String>,
}

/// The comparison.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"indicator": "stops.search_rate", "title": "Search rate", "unit": "share of stops", "grain": "year",
    "period_start": "2020-01-01", "period": "2020", "group": "race:black", "ratio_to": "the other jurisdictions combined (published values only)",
    "confidence": 0.95, "rows": [{"jurisdiction": "demo-city", "name": "Demo City", "numerator": 603.0, "denominator": 6025.0, "value": 0.1,
    "ci_low": 0.093, "ci_high": 0.108, "ci_method": "wilson", "ratio": 1.2, "ratio_ci_low": 1.0, "ratio_ci_high": 1.4, "ratio_method": "katz-log",
    "suppressed": false, "suppression_reason": null, "low_reliability": false, "note": null}], "notes": []}))]
pub struct Comparison {
    pub indicator: String,
    pub title: String,
    pub unit: String,
    pub grain: Grain,
    pub period_start: Option<NaiveDate>,
    pub period: Option<String>,
    pub group: String,
    /// What each ratio divides by.
    pub ratio_to: String,
    pub confidence: f64,
    pub rows: Vec<CompareRow>,
    pub notes: Vec<String>,
}

/// The comparison's CSV header (the rows' fields, in order).
pub const CSV_HEADER: [&str; 17] = [
    "jurisdiction",
    "name",
    "numerator",
    "denominator",
    "value",
    "ci_low",
    "ci_high",
    "ci_method",
    "ratio",
    "ratio_ci_low",
    "ratio_ci_high",
    "ratio_method",
    "suppressed",
    "suppression_reason",
    "low_reliability",
    "note",
    "period",
];

/// A row of the comparison's CSV: the row's fields, numbers written plainly, and the period.
#[derive(Debug, Serialize)]
pub struct CsvRow<'a> {
    pub jurisdiction: &'a str,
    pub name: &'a str,
    #[serde(serialize_with = "crate::published::plain")]
    pub numerator: Option<f64>,
    #[serde(serialize_with = "crate::published::plain")]
    pub denominator: Option<f64>,
    #[serde(serialize_with = "crate::published::plain")]
    pub value: Option<f64>,
    #[serde(serialize_with = "crate::published::plain")]
    pub ci_low: Option<f64>,
    #[serde(serialize_with = "crate::published::plain")]
    pub ci_high: Option<f64>,
    pub ci_method: Option<&'a str>,
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
    pub note: Option<&'a str>,
    pub period: Option<&'a str>,
}

impl<'a> CsvRow<'a> {
    pub fn new(r: &'a CompareRow, period: Option<&'a str>) -> Self {
        Self {
            jurisdiction: &r.jurisdiction,
            name: &r.name,
            numerator: r.numerator,
            denominator: r.denominator,
            value: r.value,
            ci_low: r.ci_low,
            ci_high: r.ci_high,
            ci_method: r.ci_method.as_deref(),
            ratio: r.ratio,
            ratio_ci_low: r.ratio_ci_low,
            ratio_ci_high: r.ratio_ci_high,
            ratio_method: r.ratio_method.as_deref(),
            suppressed: r.suppressed,
            suppression_reason: r.suppression_reason.as_deref(),
            low_reliability: r.low_reliability,
            note: r.note.as_deref(),
            period,
        }
    }
}

/// Builds the comparison from the metric store.
pub fn compare(s: &Store, cfg: &MetricsConfig, spec: &CompareSpec<'_>) -> Result<Comparison, MetricsError> {
    let ind = crate::indicator(spec.indicator)
        .ok_or_else(|| MetricsError::NotFound { what: "indicator", id: spec.indicator.to_owned() })?;
    ind.check_group(spec.group).map_err(MetricsError::Invalid)?;
    let grain = spec.grain.as_str();
    let period = match spec.period {
        Some(p) => Some(spec.grain.period_start(p)),
        None => s.latest_period(ind.id.as_str(), grain, spec.group)?,
    };
    let jurisdictions: HashMap<String, Jurisdiction> =
        s.list_jurisdictions(None, usize::MAX >> 1)?.into_iter().map(|j| (j.id.clone(), j)).collect();
    if let Some(r) = spec.reference
        && !jurisdictions.contains_key(r)
    {
        return Err(MetricsError::NotFound { what: "jurisdiction", id: r.to_owned() });
    }
    let points: Vec<PointRow> = match period {
        Some(p) => s.points_across(ind.id.as_str(), grain, p, spec.group)?,
        None => Vec::new(),
    };
    let mut notes = Vec::new();
    if points.is_empty() {
        notes.push(format!("no jurisdiction has {} for {} in this period", ind.id, spec.group));
    }
    let method = match ind.kind {
        Kind::Proportion => Some("katz-log"),
        Kind::PopulationRate => Some("poisson-log-wald"),
        _ => {
            notes.push(format!(
                "{} is a {:?} indicator: a ratio between jurisdictions needs a rate or a share with its base, so none is given",
                ind.id, ind.kind
            ));
            None
        }
    };
    let published: Vec<&PointRow> = points.iter().filter(|p| !p.suppressed).collect();
    let ratio_to = match spec.reference {
        Some(r) => format!("{r} ({})", jurisdictions.get(r).map_or("", |j| j.name.as_str())),
        None => "the other jurisdictions combined (published values only; a jurisdiction's parent and children \
                 are left out of its pool)"
            .to_owned(),
    };
    let mut rows: Vec<CompareRow> = points
        .iter()
        .map(|p| {
            let name =
                jurisdictions.get(&p.jurisdiction_id).map_or_else(|| p.jurisdiction_id.clone(), |j| j.name.clone());
            let ratio = method.and_then(|m| {
                if p.suppressed {
                    return None;
                }
                let pool = published.iter().filter(|q| in_pool(p, q, spec.reference, &jurisdictions));
                let (c, n2) = pool
                    .fold((0.0, 0.0), |(c, n), q| (c + q.numerator.unwrap_or(0.0), n + q.denominator.unwrap_or(0.0)));
                let (a, n1) = (p.numerator?, p.denominator?);
                let e = if m == "katz-log" {
                    katz_ratio(a, n1, c, n2, cfg.confidence)
                } else {
                    poisson_rate_ratio(a, n1, c, n2, cfg.confidence)
                }?;
                Some((e, m))
            });
            let m = suppress::mask(p.clone());
            CompareRow {
                jurisdiction: p.jurisdiction_id.clone(),
                name,
                numerator: m.numerator,
                denominator: m.denominator,
                value: m.value,
                ci_low: m.ci_low,
                ci_high: m.ci_high,
                ci_method: m.ci_method,
                ratio: ratio.map(|r| r.0.value),
                ratio_ci_low: ratio.map(|r| r.0.low),
                ratio_ci_high: ratio.map(|r| r.0.high),
                ratio_method: ratio.map(|r| r.1.to_owned()),
                suppressed: m.suppressed,
                suppression_reason: m.suppression_reason,
                low_reliability: m.low_reliability,
                note: m.note,
            }
        })
        .collect();
    sort(&mut rows, spec.sort, spec.order);
    Ok(Comparison {
        indicator: ind.id.as_str().to_owned(),
        title: ind.title.to_owned(),
        unit: ind.unit.to_owned(),
        grain: spec.grain,
        period_start: period,
        period: period.map(|start| Period { grain: spec.grain, start }.label()),
        group: spec.group.to_owned(),
        ratio_to,
        confidence: cfg.confidence,
        rows,
        notes,
    })
}

/// Whether `q` belongs to the pool `p` is compared with: the reference jurisdiction, or every other one that
/// is neither `p`'s parent nor its child (their records overlap `p`'s).
fn in_pool(p: &PointRow, q: &PointRow, reference: Option<&str>, js: &HashMap<String, Jurisdiction>) -> bool {
    if q.jurisdiction_id == p.jurisdiction_id {
        return false;
    }
    if let Some(r) = reference {
        return q.jurisdiction_id == r;
    }
    let parent = |id: &str| js.get(id).and_then(|j| j.parent_id.clone());
    parent(&p.jurisdiction_id).as_deref() != Some(q.jurisdiction_id.as_str())
        && parent(&q.jurisdiction_id).as_deref() != Some(p.jurisdiction_id.as_str())
}

/// Sorts rows by a column; rows without a value in it come last either way.
pub fn sort(rows: &mut [CompareRow], key: SortKey, order: Order) {
    let num = |r: &CompareRow| match key {
        SortKey::Value => r.value,
        SortKey::Ratio => r.ratio,
        SortKey::Numerator => r.numerator,
        SortKey::Denominator => r.denominator,
        SortKey::Jurisdiction => None,
    };
    rows.sort_by(|a, b| {
        if key == SortKey::Jurisdiction {
            let o = a.name.cmp(&b.name).then_with(|| a.jurisdiction.cmp(&b.jurisdiction));
            return if order == Order::Asc { o } else { o.reverse() };
        }
        match (num(a), num(b)) {
            (Some(x), Some(y)) => {
                let o = x.total_cmp(&y);
                if order == Order::Asc { o } else { o.reverse() }
            }
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.jurisdiction.cmp(&b.jurisdiction),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(j: &str, v: Option<f64>) -> CompareRow {
        CompareRow {
            jurisdiction: j.into(),
            name: j.to_uppercase(),
            numerator: v,
            denominator: v,
            value: v,
            ci_low: None,
            ci_high: None,
            ci_method: None,
            ratio: v,
            ratio_ci_low: None,
            ratio_ci_high: None,
            ratio_method: None,
            suppressed: v.is_none(),
            suppression_reason: None,
            low_reliability: false,
            note: None,
        }
    }

    #[test]
    fn withheld_rows_sort_last_both_ways() {
        let mut rows = vec![row("a", Some(1.0)), row("b", None), row("c", Some(3.0))];
        sort(&mut rows, SortKey::Value, Order::Desc);
        assert_eq!(rows.iter().map(|r| r.jurisdiction.as_str()).collect::<Vec<_>>(), ["c", "a", "b"]);
        sort(&mut rows, SortKey::Ratio, Order::Asc);
        assert_eq!(rows.iter().map(|r| r.jurisdiction.as_str()).collect::<Vec<_>>(), ["a", "c", "b"]);
        sort(&mut rows, SortKey::Jurisdiction, Order::Desc);
        assert_eq!(rows.iter().map(|r| r.jurisdiction.as_str()).collect::<Vec<_>>(), ["c", "b", "a"]);
    }
}
