//! The threshold test (Simoiu, Corbett-Davies & Goel 2017; Pierson et al. 2018) on a jurisdiction's
//! stops: counts of stops, searches and hits by race (and district) from the store, the model fitted by
//! `oversight-threshold`, and the published shape: thresholds with credible intervals, differences from
//! the reference group, the posterior predictive check, the sampler's diagnostics, and every stop left out
//! counted with its reason. Cells under the suppression threshold keep their place in the fit but their
//! counts and observed rates are withheld.

use crate::MetricsError;
use chrono::NaiveDate;
use oversight_core::codes::{CodeList, Race};
use oversight_store::Store;
use oversight_threshold::{Cell, Data, Settings, ThresholdError, ThresholdFit};
use serde::Serialize;

pub use oversight_threshold::{Diagnostics, Estimate, PredictiveCheck, RaceThreshold};

/// What to test.
#[derive(Debug, Clone)]
pub struct ThresholdRequest {
    pub jurisdiction: String,
    /// First and last year; None: every stop.
    pub years: Option<(i32, i32)>,
    /// Race codes compared (default black, hispanic, white).
    pub races: Vec<String>,
    /// The group every other is compared with (default white).
    pub reference: String,
    /// Hierarchical over the stops' districts (default); false: one jurisdiction-wide cell per race.
    pub districts: bool,
    /// Kept draws per chain (default 3,000) and the seed (the result is reproducible).
    pub draws: Option<u64>,
    pub seed: Option<u64>,
    /// Counts from 1 to this less one are withheld in the cells shown.
    pub suppression_threshold: u32,
}

/// Stops the test could not use, by reason, as counted.
#[derive(Debug, Clone, Default, PartialEq)]
struct Tally {
    other_races: u64,
    no_district: u64,
    search_unknown: u64,
    result_unknown: u64,
    contraband_without_search: u64,
}

/// Stops the test could not use, by reason, as published: a count from 1 to the suppression threshold less
/// one is withheld (None), like every count (stops of other races, say, would give a small group's count back).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LeftOut {
    /// Of another race (or none recorded): not among the groups compared.
    pub other_races: Option<u64>,
    /// No district recorded (when testing by district).
    pub no_district: Option<u64>,
    /// No recorded search decision.
    pub search_unknown: Option<u64>,
    /// Searched, but whether contraband was found is not recorded.
    pub result_unknown: Option<u64>,
    /// Contraband recorded without a search: inconsistent, left out.
    pub contraband_without_search: Option<u64>,
}

/// One cell as published: counts and observed rates withheld when small.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublishedCell {
    pub race: String,
    pub district: String,
    pub suppressed: bool,
    pub stops: Option<u64>,
    pub searches: Option<u64>,
    pub hits: Option<u64>,
    pub threshold: oversight_threshold::Estimate,
    pub observed_search_rate: Option<f64>,
    pub predicted_search_rate: f64,
    pub replicated_search_rate: (f64, f64),
    pub observed_hit_rate: Option<f64>,
    pub predicted_hit_rate: f64,
    pub replicated_hit_rate: Option<(f64, f64)>,
}

/// One group's threshold as published: its totals withheld when one is small or when one of its cells is
/// withheld (the totals less the published cells would give the withheld ones back).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublishedThreshold {
    pub race: String,
    pub suppressed: bool,
    pub stops: Option<u64>,
    pub searches: Option<u64>,
    pub hits: Option<u64>,
    /// Probability of contraband at which officers search this group, averaged over districts weighted by
    /// each district's stops of all groups (the same weights for every group).
    pub threshold: oversight_threshold::Estimate,
    /// This group's threshold minus the reference group's (None for the reference).
    pub difference: Option<oversight_threshold::Estimate>,
    /// Posterior probability that this group's threshold is below the reference group's.
    pub probability_lower: Option<f64>,
}

/// The result of a threshold test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdResult {
    pub jurisdiction: String,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub method: String,
    pub reference: String,
    pub level: f64,
    pub by_district: bool,
    pub districts: usize,
    /// Stops, searches and hits used, by race, with each race's threshold and its difference.
    pub thresholds: Vec<PublishedThreshold>,
    pub predictive_check: oversight_threshold::PredictiveCheck,
    pub cells: Vec<PublishedCell>,
    pub diagnostics: oversight_threshold::Diagnostics,
    pub left_out: LeftOut,
    pub notes: Vec<String>,
}

const METHOD: &str = "Threshold test (Simoiu, Corbett-Davies & Goel 2017) with the discriminant distribution of \
     Pierson et al. 2018, hierarchical over districts (the Open Policing Project's threshold_test.stan), \
     fitted by NUTS (nuts-rs); thresholds are probabilities of contraband, averaged over districts weighted \
     by each district's stops";

/// Runs the threshold test.
pub fn threshold(store: &Store, req: &ThresholdRequest) -> Result<ThresholdResult, MetricsError> {
    let races = check(req)?;
    store
        .jurisdiction(&req.jurisdiction)?
        .ok_or_else(|| MetricsError::NotFound { what: "jurisdiction", id: req.jurisdiction.clone() })?;
    let (from, to) = match req.years {
        Some((a, b)) => {
            let d = |y, m, day| {
                NaiveDate::from_ymd_opt(y, m, day).ok_or_else(|| MetricsError::Invalid("year: out of range".into()))
            };
            (Some(d(a, 1, 1)?), Some(d(b, 12, 31)?))
        }
        None => (None, None),
    };
    let rows = store.search_counts(&req.jurisdiction, from.unwrap_or(NaiveDate::MIN), to.unwrap_or(NaiveDate::MAX))?;
    if rows.is_empty() {
        return Err(MetricsError::Empty(format!("{} has no stops in the period", req.jurisdiction)));
    }
    let mut left = Tally::default();
    let mut districts: Vec<String> = Vec::new();
    let mut cells: Vec<Cell> = Vec::new();
    for r in &rows {
        let Some(race) = r.race.as_deref().and_then(|x| races.iter().position(|g| g == x)) else {
            left.other_races += r.stops;
            continue;
        };
        let district = if req.districts {
            match &r.district {
                Some(d) => d.clone(),
                None => {
                    left.no_district += r.stops;
                    continue;
                }
            }
        } else {
            "all".to_owned()
        };
        left.search_unknown += r.search_unknown;
        left.result_unknown += r.result_unknown;
        left.contraband_without_search += r.contraband_without_search;
        let used = r.stops - r.search_unknown - r.result_unknown - r.contraband_without_search;
        if used == 0 {
            continue;
        }
        let d = match districts.iter().position(|x| *x == district) {
            Some(d) => d,
            None => {
                districts.push(district);
                districts.len() - 1
            }
        };
        match cells.iter_mut().find(|c| c.race == race && c.district == d) {
            Some(c) => {
                c.stops += used;
                c.searches += r.searches;
                c.hits += r.hits;
            }
            None => cells.push(Cell { race, district: d, stops: used, searches: r.searches, hits: r.hits }),
        }
    }
    if cells.is_empty() && left.no_district > 0 {
        return Err(MetricsError::Refused(format!(
            "none of the {} stops of these groups has a district: test the jurisdiction as a whole \
             (--no-districts, or districts=false in the API)",
            left.no_district
        )));
    }
    let reference = races.iter().position(|g| *g == req.reference).expect("checked: the reference is a race");
    let mut settings = Settings::default();
    settings.draws = req.draws.unwrap_or(settings.draws);
    settings.seed = req.seed.unwrap_or(settings.seed);
    let data = Data { races: races.clone(), districts: districts.clone(), cells };
    let fit = oversight_threshold::fit(&data, reference, &settings).map_err(|e| match e {
        ThresholdError::Data(m) => MetricsError::Refused(m),
        ThresholdError::Sampler(m) => MetricsError::Internal(m),
        ThresholdError::NotConverged { reason, diagnostics } => MetricsError::Refused(format!(
            "the threshold test's sampler did not converge, so no thresholds are reported: {reason} \
             ({} chains × {} draws after {} warm-up, seed {}, {} divergent)",
            diagnostics.chains, diagnostics.draws, diagnostics.tune, diagnostics.seed, diagnostics.divergences
        )),
    })?;
    Ok(publish(req, from, to, districts.len(), fit, left))
}

fn check(req: &ThresholdRequest) -> Result<Vec<String>, MetricsError> {
    let mut races = Vec::new();
    for g in &req.races {
        if g.parse::<Race>().is_err() {
            return Err(MetricsError::Invalid(format!(
                "races: {g:?} is not a race code ({})",
                Race::all_strs().join(", ")
            )));
        }
        if races.contains(g) {
            return Err(MetricsError::Invalid(format!("races: {g} is named twice")));
        }
        races.push(g.clone());
    }
    if races.len() < 2 {
        return Err(MetricsError::Invalid("races: name at least two groups".into()));
    }
    if !races.contains(&req.reference) {
        return Err(MetricsError::Invalid(format!("reference: {} is not among the races tested", req.reference)));
    }
    if let Some((a, b)) = req.years
        && (b < a || b - a > 30)
    {
        return Err(MetricsError::Invalid(format!("year: {a}-{b} is not a range of up to 30 years")));
    }
    if let Some(d) = req.draws
        && !(500..=20_000).contains(&d)
    {
        return Err(MetricsError::Invalid(format!("draws: 500 to 20,000 per chain, got {d}")));
    }
    Ok(races)
}

/// A cell's group, district and counts (stops, searches, hits), as [`complementary`] reads them.
type CellCounts<'a> = (&'a str, &'a str, [u64; 3]);

/// Withholds more cells of a group until its withheld ones cannot be worked out from the group's totals (the
/// disparity tables publish each group's stops, searches and hits for any window): none withheld, or at least
/// two whose summed stops, searches and hits are each 0 or at least the threshold. The next cell withheld is
/// the group's smallest (by hits, then searches, stops, district), so the same data always gives the same
/// pattern.
fn complementary(cells: &[CellCounts<'_>], withheld: &mut [bool], t: u64) {
    let small = |n: u64| n > 0 && n < t;
    let mut races: Vec<&str> = cells.iter().map(|c| c.0).collect();
    races.sort_unstable();
    races.dedup();
    for race in races {
        let group: Vec<usize> = (0..cells.len()).filter(|&i| cells[i].0 == race).collect();
        loop {
            let out: Vec<usize> = group.iter().copied().filter(|&i| withheld[i]).collect();
            let sum = |k: usize| out.iter().map(|&i| cells[i].2[k]).sum::<u64>();
            if out.is_empty() || (out.len() >= 2 && (0..3).all(|k| !small(sum(k)))) {
                break;
            }
            let next = group.iter().copied().filter(|&i| !withheld[i]).min_by(|&a, &b| {
                let key = |i: usize| (cells[i].2[2], cells[i].2[1], cells[i].2[0], cells[i].1);
                key(a).cmp(&key(b))
            });
            match next {
                Some(i) => withheld[i] = true,
                None => break,
            }
        }
    }
}

fn publish(
    req: &ThresholdRequest,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    districts: usize,
    fit: ThresholdFit,
    left: Tally,
) -> ThresholdResult {
    let t = u64::from(req.suppression_threshold);
    let small = |n: u64| n > 0 && n < t;
    let shown = |n: u64| (!small(n)).then_some(n);
    let left_out = LeftOut {
        other_races: shown(left.other_races),
        no_district: shown(left.no_district),
        search_unknown: shown(left.search_unknown),
        result_unknown: shown(left.result_unknown),
        contraband_without_search: shown(left.contraband_without_search),
    };
    // A small count of stops, searches or hits withholds the cell's counts and observed rates (a rate and one
    // count give the other count back); then more cells, so that none can be worked out from its group's totals.
    let mut withheld: Vec<bool> =
        fit.cells.iter().map(|c| small(c.stops) || small(c.searches) || small(c.hits)).collect();
    let counts: Vec<CellCounts<'_>> =
        fit.cells.iter().map(|c| (c.race.as_str(), c.district.as_str(), [c.stops, c.searches, c.hits])).collect();
    complementary(&counts, &mut withheld, t);
    let cells: Vec<PublishedCell> = fit
        .cells
        .into_iter()
        .zip(withheld)
        .map(|(c, suppressed)| {
            let keep = |v| (!suppressed).then_some(v);
            PublishedCell {
                race: c.race,
                district: c.district,
                suppressed,
                stops: keep(c.stops),
                searches: keep(c.searches),
                hits: keep(c.hits),
                threshold: c.threshold,
                observed_search_rate: (!suppressed).then_some(c.observed_search_rate),
                predicted_search_rate: c.predicted_search_rate,
                replicated_search_rate: c.replicated_search_rate,
                observed_hit_rate: c.observed_hit_rate.filter(|_| !suppressed),
                predicted_hit_rate: c.predicted_hit_rate,
                replicated_hit_rate: c.replicated_hit_rate,
            }
        })
        .collect();
    let thresholds = fit
        .races
        .into_iter()
        .map(|r| {
            let suppressed = small(r.stops)
                || small(r.searches)
                || small(r.hits)
                || cells.iter().any(|c| c.race == r.race && c.suppressed);
            let keep = |v| (!suppressed).then_some(v);
            PublishedThreshold {
                suppressed,
                stops: keep(r.stops),
                searches: keep(r.searches),
                hits: keep(r.hits),
                race: r.race,
                threshold: r.threshold,
                difference: r.difference,
                probability_lower: r.probability_lower,
            }
        })
        .collect();
    let mut notes = Vec::new();
    let p = &fit.predictive_check;
    if p.search_covered < 0.9 || p.hit_covered < 0.9 {
        notes.push(format!(
            "The model fits the data poorly: only {:.0}% of cells' search rates and {:.0}% of their hit rates lie \
             inside the 95% interval of data replicated from the fit; read the thresholds with caution.",
            p.search_covered * 100.0,
            p.hit_covered * 100.0
        ));
    }
    if districts == 1 && req.districts {
        notes.push("Every stop is in one district: the test is jurisdiction-wide.".into());
    }
    if left.result_unknown + left.search_unknown + left.contraband_without_search + left.no_district > 0 {
        let said = |n: Option<u64>| n.map_or_else(|| format!("fewer than {t}"), |n| n.to_string());
        let lo = &left_out;
        notes.push(format!(
            "Left out: {} stops with no recorded search decision, {} searches with no recorded result, {} with \
             contraband but no search, {} with no district.",
            said(lo.search_unknown),
            said(lo.result_unknown),
            said(lo.contraband_without_search),
            said(lo.no_district)
        ));
    }
    ThresholdResult {
        jurisdiction: req.jurisdiction.clone(),
        from,
        to,
        method: METHOD.into(),
        reference: fit.reference,
        level: fit.level,
        by_district: req.districts,
        districts,
        thresholds,
        predictive_check: fit.predictive_check,
        cells,
        diagnostics: fit.diagnostics,
        left_out,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::complementary;

    #[test]
    fn a_lone_withheld_cell_takes_its_groups_smallest_other_cell_with_it_until_the_sum_is_not_small() {
        let cells = [
            ("black", "a", [900, 90, 3]),  // withheld: 3 hits
            ("black", "b", [800, 80, 30]), // the group's smallest other: withheld with it
            ("black", "c", [700, 70, 40]),
            ("white", "a", [500, 50, 20]),
            ("white", "b", [400, 40, 25]),
            ("asian", "a", [5, 1, 0]),    // withheld on its own (5 stops, 1 search)
            ("asian", "b", [4, 0, 0]),    // withheld on its own (4 stops)
            ("asian", "c", [60, 6, 1]),   // withheld on its own (6 searches); the three: 7 searches, still small …
            ("asian", "d", [70, 20, 12]), // … so this one too (139 stops, 27 searches, 13 hits)
        ];
        let mut withheld: Vec<bool> = cells.iter().map(|c| c.2.iter().any(|&n| n > 0 && n < 11)).collect();
        complementary(&cells, &mut withheld, 11);
        assert_eq!(withheld, [true, true, false, false, false, true, true, true, true]);
    }
}
