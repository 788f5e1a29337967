//! Data-quality indicators and notes, for every dataset: how many records, how many without race, how many
//! rows the imports rejected, which months are too sparse to trust; and plain-language notes where a figure
//! is implausible (Stanford's Hartford notes are the model: a 28% search rate or a 1% hit rate is flagged).

use crate::cube::MISSING;
use crate::points::Sink;
use crate::totals::Totals;
use oversight_core::{Grain, Period};
use oversight_core::{IndicatorId, Measure};
use oversight_store::QualityNote;

/// Quality points of one dataset (group `dataset:<name>`) and its notes.
pub(crate) fn quality(
    s: &mut Sink<'_>,
    t: &Totals,
    dataset: &str,
    rows_measure: Measure,
    has_race: bool,
    batch_rows: (i64, i64),
    monthly: &[(chrono::NaiveDate, f64)],
) -> Vec<QualityNote> {
    let group = format!("dataset:{dataset}");
    let rows = |p: Period| t.get(p, "all", "all", rows_measure);
    let unknown = |p: Period| t.get(p, "race", "unknown", rows_measure) + t.get(p, "race", MISSING, rows_measure);
    for grain in Grain::ALL {
        for p in t.periods(*grain) {
            s.count(IndicatorId::QualityRows, p, &group, rows(p));
            if has_race {
                s.proportion(IndicatorId::QualityUnknownRaceShare, p, &group, unknown(p), rows(p), "records");
            }
        }
    }
    let all = t.periods(Grain::All);
    let mut notes = Vec::new();
    let jurisdiction = s.jurisdiction.to_owned();
    let note = |code: &str, message: String, value: Option<f64>| QualityNote {
        dataset: dataset.to_owned(),
        jurisdiction_id: jurisdiction.clone(),
        code: code.to_owned(),
        message,
        value,
    };
    if let Some(p) = all.first().copied() {
        let (read, rejected) = batch_rows;
        if read > 0 {
            s.proportion(IndicatorId::QualityRejectedShare, p, &group, rejected as f64, read as f64, "rows read");
            let share = rejected as f64 / read as f64;
            if share > 0.01 {
                notes.push(note(
                    "rejected_rows",
                    format!("{:.1}% of the rows read were rejected at import ({rejected} of {read}): see the rejects report", share * 100.0),
                    Some(share),
                ));
            }
        }
        if has_race && rows(p) > 0.0 {
            let share = unknown(p) / rows(p);
            if share > 0.10 {
                notes.push(note(
                    "unknown_race",
                    format!(
                        "{:.1}% of records have unknown or missing race: group counts and shares are understated",
                        share * 100.0
                    ),
                    Some(share),
                ));
            }
        }
    }
    // Sparse months: fewer records than the minimum or half the median month. The threshold depends on every
    // month, so this indicator is always rewritten whole (from the cube's monthly totals).
    let months: Vec<Period> = {
        let (Some(first), Some(last)) = (monthly.first(), monthly.last()) else { return notes };
        let mut v = vec![Grain::Month.period_of(first.0)];
        while let Some(n) = v.last().and_then(|p| p.next()).filter(|n| n.start <= last.0) {
            v.push(n);
        }
        v
    };
    let count = |p: &Period| monthly.iter().find(|m| m.0 == p.start).map_or(0.0, |m| m.1);
    let mut counts: Vec<f64> = months.iter().map(count).collect();
    if !counts.is_empty() {
        counts.sort_by(f64::total_cmp);
        let median = counts[counts.len() / 2];
        let threshold = f64::from(s.cfg.low_volume_minimum).max(median / 2.0);
        let flagged: Vec<Period> = months.iter().copied().filter(|p| count(p) < threshold).collect();
        let mut parents: Vec<Period> = Vec::new();
        for m in &months {
            for g in [Grain::Quarter, Grain::Year, Grain::All] {
                let p = g.period_of(m.start);
                if !parents.contains(&p) {
                    parents.push(p);
                }
            }
        }
        for p in months.iter().chain(&parents) {
            let n = if p.grain == Grain::Month {
                f64::from(u8::from(flagged.contains(p)))
            } else {
                flagged.iter().filter(|m| p.grain.period_start(m.start) == p.start).count() as f64
            };
            let mut pt = oversight_store::PointRow {
                indicator: IndicatorId::QualityLowVolumeMonths.as_str().into(),
                jurisdiction_id: jurisdiction.clone(),
                grain: p.grain.as_str().into(),
                period_start: p.start,
                group: group.clone(),
                value: Some(n),
                denominator: Some(threshold),
                ..Default::default()
            };
            if p.grain == Grain::Month {
                pt.numerator = Some(count(p));
            }
            s.points.push(pt);
        }
        if !flagged.is_empty() {
            let list: Vec<String> = flagged.iter().take(6).map(|p| p.label()).collect();
            notes.push(note(
                "low_volume_months",
                format!(
                    "{} month(s) have fewer than {threshold:.0} records (half the median month): {}{}; analyses usually leave such months out",
                    flagged.len(),
                    list.join(", "),
                    if flagged.len() > 6 { ", …" } else { "" }
                ),
                Some(flagged.len() as f64),
            ));
        }
    }
    notes
}

/// Notes on implausible stop figures (all time).
pub(crate) fn stop_notes(t: &Totals, dataset: &str, jurisdiction: &str) -> Vec<QualityNote> {
    let Some(p) = t.periods(Grain::All).first().copied() else { return Vec::new() };
    let m = |measure: Measure| t.get(p, "all", "all", measure);
    let mut notes = Vec::new();
    let mut add = |code: &str, message: String, value: f64| {
        notes.push(QualityNote {
            dataset: dataset.into(),
            jurisdiction_id: jurisdiction.into(),
            code: code.into(),
            message,
            value: Some(value),
        })
    };
    if m(Measure::SearchKnown) >= 100.0 {
        let rate = m(Measure::Searches) / m(Measure::SearchKnown);
        if rate > 0.20 {
            add(
                "search_rate_high",
                format!(
                    "the search rate is {:.1}%, far above the few per cent typical of US departments (Stanford Open Policing): check how searches are recorded before comparing",
                    rate * 100.0
                ),
                rate,
            );
        }
    }
    if m(Measure::FoundKnown) >= 100.0 {
        let hit = m(Measure::Found) / m(Measure::FoundKnown);
        if hit < 0.05 {
            add(
                "hit_rate_low",
                format!(
                    "the hit rate is {:.2}%, suspiciously low: contraband may be under-recorded, which makes outcome tests unreliable",
                    hit * 100.0
                ),
                hit,
            );
        }
    }
    notes
}
