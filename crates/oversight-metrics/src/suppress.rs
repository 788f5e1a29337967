//! Disclosure control for public output.
//!
//! - **Primary**: a count from 1 to threshold − 1 (default 1–10) is suppressed; a proportion or rate is
//!   suppressed when its numerator or denominator is (zero is not suppressed: it identifies no one).
//! - **Complementary**: where a suppressed cell could be recovered by subtracting the published cells from a
//!   published total, more cells are suppressed. Families are the groups of one dimension in one period (their
//!   total is the `all` group), and the months of a quarter or year, the quarters of a year and the years of
//!   all time (their totals are the coarser period). In a family with exactly one suppressed cell the
//!   smallest other non-zero cell is suppressed too, or, if there is none, the total; repeated until no
//!   family has exactly one. Weeks straddle months and years, so they form no family: a week's count is
//!   only protected by its own threshold.
//! - Indicators that share a numerator (a count and the rate built on it) share suppression.
//! - A ratio or difference is suppressed when the group's or the reference group's underlying rate is.
//!
//! Values are kept in the store with the flag and reason; public output withholds them (never shows zero).

use crate::catalog::{Kind, indicator};
use crate::config::MetricsConfig;
use oversight_core::{Grain, IndicatorId};
use oversight_store::PointRow;
use std::collections::{BTreeMap, HashMap};

/// Indicators whose points have the same numerator for the same period and group.
const SAME_NUMERATOR: &[(IndicatorId, IndicatorId)] = &[
    (IndicatorId::StopsCount, IndicatorId::StopsRatePer1000),
    (IndicatorId::CrimeReportsCount, IndicatorId::CrimeReportsRaceShare),
    (IndicatorId::DetainersCount, IndicatorId::DetainersCriminalityShare),
    (IndicatorId::DetainersCount, IndicatorId::DetainersCountryShare),
    (IndicatorId::DetainersCount, IndicatorId::DetainersSexShare),
    (IndicatorId::DetainersCount, IndicatorId::DetainersOutcomeShare),
];

/// Ratio and difference indicators and the rate each compares.
const DERIVED: &[(IndicatorId, IndicatorId)] = &[
    (IndicatorId::StopsRateRatio, IndicatorId::StopsRatePer1000),
    (IndicatorId::StopsSearchRateRatio, IndicatorId::StopsSearchRate),
    (IndicatorId::StopsFriskRateRatio, IndicatorId::StopsFriskRate),
    (IndicatorId::StopsArrestRateRatio, IndicatorId::StopsArrestRate),
    (IndicatorId::StopsCitationRateRatio, IndicatorId::StopsCitationRate),
    (IndicatorId::StopsHitRateDifference, IndicatorId::StopsHitRate),
];

fn kind(p: &PointRow) -> Kind {
    indicator(&p.indicator).map(|i| i.kind).unwrap_or(Kind::Count)
}

/// The count a cell publishes (what a subtraction would recover).
fn size(p: &PointRow) -> f64 {
    match kind(p) {
        Kind::Count | Kind::OfficerCount => p.value.unwrap_or(0.0),
        _ => p.numerator.unwrap_or(0.0),
    }
}

fn small(x: Option<f64>, threshold: f64) -> bool {
    x.is_some_and(|v| v > 0.0 && v < threshold)
}

fn suppress(p: &mut PointRow, reason: &str) -> bool {
    if p.suppressed {
        return false;
    }
    p.suppressed = true;
    p.suppression_reason = Some(reason.to_owned());
    true
}

fn dim_of(group: &str) -> &str {
    group.split_once(':').map(|x| x.0).unwrap_or("all")
}

fn grain_of(s: &str) -> Option<Grain> {
    s.parse().ok()
}

/// Applies primary, linked, complementary and derived suppression to one jurisdiction's points.
pub fn apply(points: &mut [PointRow], cfg: &MetricsConfig) {
    let thr = f64::from(cfg.suppression_threshold);
    // Primary.
    for p in points.iter_mut() {
        match kind(p) {
            Kind::Count | Kind::OfficerCount => {
                if small(p.value, thr) {
                    suppress(p, "small_count");
                }
            }
            Kind::Proportion | Kind::PopulationRate | Kind::Quantile => {
                if small(p.numerator, thr) {
                    suppress(p, "small_count");
                } else if kind(p) == Kind::Proportion && small(p.denominator, thr) {
                    suppress(p, "small_denominator");
                }
            }
            Kind::Ratio | Kind::Difference | Kind::Flag => {}
        }
    }
    let index: HashMap<(String, String, chrono::NaiveDate, String), usize> = points
        .iter()
        .enumerate()
        .map(|(i, p)| ((p.indicator.clone(), p.grain.clone(), p.period_start, p.group.clone()), i))
        .collect();
    let additive =
        |p: &PointRow| matches!(kind(p), Kind::Count | Kind::OfficerCount | Kind::Proportion | Kind::PopulationRate);
    // Families: (total index, cell indices).
    let mut families: Vec<(Option<usize>, Vec<usize>)> = Vec::new();
    {
        // Ordered maps, and ties broken by the cell's group and period below: the cells chosen for
        // complementary suppression depend on the data only, never on the order the points came in or on a hash
        // seed. Two runs over the same data withhold the same cells (two different patterns, published one after
        // the other, could give a withheld cell back).
        let mut by_dim: BTreeMap<(String, String, chrono::NaiveDate, String), Vec<usize>> = BTreeMap::new();
        let mut by_parent: BTreeMap<(String, String, String, chrono::NaiveDate), Vec<usize>> = BTreeMap::new();
        for (i, p) in points.iter().enumerate() {
            if !additive(p) {
                continue;
            }
            let dim = dim_of(&p.group);
            if dim != "all" {
                by_dim
                    .entry((p.indicator.clone(), p.grain.clone(), p.period_start, dim.to_owned()))
                    .or_default()
                    .push(i);
            }
            let Some(g) = grain_of(&p.grain) else { continue };
            let parents: &[Grain] = match g {
                Grain::Month => &[Grain::Quarter, Grain::Year],
                Grain::Quarter => &[Grain::Year],
                Grain::Year => &[Grain::All],
                Grain::Week | Grain::All => &[],
            };
            for parent in parents {
                let key = (
                    p.indicator.clone(),
                    p.group.clone(),
                    parent.as_str().to_owned(),
                    parent.period_start(p.period_start),
                );
                by_parent.entry(key).or_default().push(i);
            }
        }
        for ((ind, grain, start, _), cells) in by_dim {
            let total = index.get(&(ind, grain, start, "all".to_owned())).copied();
            families.push((total, cells));
        }
        for ((ind, group, grain, start), cells) in by_parent {
            let total = index.get(&(ind, grain, start, group)).copied();
            families.push((total, cells));
        }
    }
    let links: HashMap<&str, Vec<&str>> = SAME_NUMERATOR.iter().fold(HashMap::new(), |mut m, (a, b)| {
        m.entry(a.as_str()).or_insert_with(Vec::new).push(b.as_str());
        m.entry(b.as_str()).or_insert_with(Vec::new).push(a.as_str());
        m
    });
    loop {
        let mut changed = false;
        // Linked indicators share suppression.
        let suppressed: Vec<usize> = points.iter().enumerate().filter(|(_, p)| p.suppressed).map(|(i, _)| i).collect();
        for i in suppressed {
            let (ind, grain, start, group) = {
                let p = &points[i];
                (p.indicator.clone(), p.grain.clone(), p.period_start, p.group.clone())
            };
            for other in links.get(ind.as_str()).into_iter().flatten() {
                if let Some(&j) = index.get(&((*other).to_owned(), grain.clone(), start, group.clone())) {
                    changed |= suppress(&mut points[j], "linked");
                }
            }
        }
        for (total, cells) in &families {
            let Some(total) = total else { continue };
            if points[*total].suppressed {
                continue;
            }
            let n_supp = cells.iter().filter(|&&c| points[c].suppressed).count();
            if n_supp != 1 {
                continue;
            }
            let candidate =
                cells.iter().copied().filter(|&c| !points[c].suppressed && size(&points[c]) > 0.0).min_by(|&a, &b| {
                    let (pa, pb) = (&points[a], &points[b]);
                    size(pa).total_cmp(&size(pb)).then_with(|| {
                        (&pa.group, pa.period_start, &pa.grain).cmp(&(&pb.group, pb.period_start, &pb.grain))
                    })
                });
            match candidate {
                Some(c) => changed |= suppress(&mut points[c], "complementary"),
                None => changed |= suppress(&mut points[*total], "complementary"),
            }
        }
        if !changed {
            break;
        }
    }
    // Ratios and differences follow the rates they compare.
    let base: HashMap<&str, &str> = DERIVED.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    for i in 0..points.len() {
        let Some(b) = base.get(points[i].indicator.as_str()) else { continue };
        let (grain, start, group) = (points[i].grain.clone(), points[i].period_start, points[i].group.clone());
        let reference = points[i].reference_group.clone().map(|r| format!("race:{r}"));
        let hidden = |g: &str| {
            index.get(&((*b).to_owned(), grain.clone(), start, g.to_owned())).is_some_and(|&j| points[j].suppressed)
        };
        if hidden(&group) {
            suppress(&mut points[i], "small_count");
        } else if reference.as_deref().is_some_and(hidden) {
            suppress(&mut points[i], "reference_suppressed");
        }
    }
}

/// Public output: a suppressed point keeps its flags and reason but loses every number.
pub fn mask(mut p: PointRow) -> PointRow {
    if p.suppressed {
        p.numerator = None;
        p.denominator = None;
        p.value = None;
        p.ci_low = None;
        p.ci_high = None;
        p.reference_numerator = None;
        p.reference_denominator = None;
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn pt(ind: IndicatorId, grain: &str, start: &str, group: &str, n: f64) -> PointRow {
        PointRow {
            indicator: ind.as_str().into(),
            jurisdiction_id: "x".into(),
            grain: grain.into(),
            period_start: start.parse::<NaiveDate>().unwrap(),
            group: group.into(),
            numerator: Some(n),
            value: Some(n),
            ..Default::default()
        }
    }

    fn cfg() -> MetricsConfig {
        MetricsConfig::default()
    }

    fn flags(points: &[PointRow]) -> Vec<(String, bool)> {
        points.iter().map(|p| (p.group.clone(), p.suppressed)).collect()
    }

    #[test]
    fn counts_just_under_the_threshold_are_suppressed_and_at_or_over_it_are_not() {
        let mut v = vec![
            pt(IndicatorId::StopsCount, "year", "2016-01-01", "race:a", 10.0),
            pt(IndicatorId::StopsCount, "year", "2016-01-01", "race:b", 11.0),
            pt(IndicatorId::StopsCount, "year", "2016-01-01", "race:c", 12.0),
            pt(IndicatorId::StopsCount, "year", "2016-01-01", "race:d", 0.0),
        ];
        apply(&mut v, &cfg());
        assert_eq!(
            flags(&v),
            vec![("race:a".into(), true), ("race:b".into(), false), ("race:c".into(), false), ("race:d".into(), false)]
        );
        assert_eq!(v[0].suppression_reason.as_deref(), Some("small_count"));
    }

    #[test]
    fn a_lone_suppressed_cell_cannot_be_recovered_from_its_row_total() {
        // 5 + 40 + 100 = 145: with the total published, hiding 5 alone would let 145 − 40 − 100 recover it.
        let mut v = vec![
            pt(IndicatorId::StopsCount, "year", "2016-01-01", "all", 145.0),
            pt(IndicatorId::StopsCount, "year", "2016-01-01", "race:a", 5.0),
            pt(IndicatorId::StopsCount, "year", "2016-01-01", "race:b", 40.0),
            pt(IndicatorId::StopsCount, "year", "2016-01-01", "race:c", 100.0),
        ];
        apply(&mut v, &cfg());
        assert!(v[1].suppressed);
        assert_eq!((v[2].suppressed, v[2].suppression_reason.as_deref()), (true, Some("complementary")));
        assert!(!v[3].suppressed && !v[0].suppressed);
        // Recovery attempt: the published cells no longer determine any hidden one.
        let published: f64 = v[1..].iter().filter(|p| !p.suppressed).map(|p| p.value.unwrap()).sum();
        let hidden = v[1..].iter().filter(|p| p.suppressed).count();
        assert_eq!((v[0].value.unwrap() - published, hidden), (45.0, 2));
    }

    #[test]
    fn the_complementary_cell_depends_on_the_data_not_on_the_order_of_the_points() {
        // Two cells tie for the complementary choice (40 and 40), in months of one year too: whichever order
        // the points come in, the same cells are withheld.
        let mut v = vec![pt(IndicatorId::StopsCount, "year", "2016-01-01", "all", 185.0)];
        for (g, n) in [("race:a", 5.0), ("race:b", 40.0), ("race:c", 40.0), ("race:d", 100.0)] {
            v.push(pt(IndicatorId::StopsCount, "year", "2016-01-01", g, n));
            v.push(pt(IndicatorId::StopsCount, "month", "2016-01-01", g, n / 2.0));
            v.push(pt(IndicatorId::StopsCount, "month", "2016-02-01", g, n / 2.0));
        }
        let key = |p: &PointRow| (p.grain.clone(), p.period_start, p.group.clone());
        let outcome = |mut v: Vec<PointRow>| {
            apply(&mut v, &cfg());
            let mut o: Vec<_> = v.iter().map(|p| (key(p), p.suppressed)).collect();
            o.sort();
            o
        };
        let forward = outcome(v.clone());
        v.reverse();
        assert_eq!(outcome(v.clone()), forward);
        v.rotate_left(5);
        assert_eq!(outcome(v), forward);
        let year = |g: &str| forward.iter().find(|(k, _)| k.0 == "year" && k.2 == g).unwrap().1;
        assert!(year("race:a") && year("race:b") && !year("race:c") && !year("race:d"), "{forward:?}");
    }

    #[test]
    fn with_no_other_non_zero_cell_the_total_is_suppressed() {
        let mut v = vec![
            pt(IndicatorId::StopsCount, "year", "2016-01-01", "all", 5.0),
            pt(IndicatorId::StopsCount, "year", "2016-01-01", "race:a", 5.0),
            pt(IndicatorId::StopsCount, "year", "2016-01-01", "race:b", 0.0),
        ];
        apply(&mut v, &cfg());
        assert!(v[0].suppressed && v[1].suppressed && !v[2].suppressed);
    }

    #[test]
    fn a_suppressed_month_is_protected_within_its_year() {
        let mut v = vec![pt(IndicatorId::StopsCount, "year", "2016-01-01", "all", 300.0)];
        for (m, n) in [(1, 3.0), (2, 50.0), (3, 47.0), (4, 200.0)] {
            v.push(pt(IndicatorId::StopsCount, "month", &format!("2016-{m:02}-01"), "all", n));
        }
        apply(&mut v, &cfg());
        let hidden: Vec<_> = v.iter().filter(|p| p.suppressed).map(|p| p.period_start.to_string()).collect();
        assert_eq!(hidden, vec!["2016-01-01", "2016-03-01"]);
    }

    #[test]
    fn masking_removes_every_number_but_keeps_the_reason() {
        let mut p = pt(IndicatorId::StopsCount, "year", "2016-01-01", "all", 3.0);
        p.suppressed = true;
        p.suppression_reason = Some("small_count".into());
        let m = mask(p);
        assert_eq!((m.value, m.numerator, m.suppression_reason.as_deref()), (None, None, Some("small_count")));
    }
}
