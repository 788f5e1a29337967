//! Difference in differences between two groups around a policy event, e.g. crime reports of Hispanic
//! victims against everyone else's: did the group's series change relative to the reference's?
//!
//! Reported two ways:
//! - the ratio of ratios `(a_post / a_pre) / (c_post / c_pre)` over the whole windows, with
//!   `SE(log) = √(1/a_pre + 1/a_post + 1/c_pre + 1/c_post)` (counts; rates divide by their exposures);
//! - the regression form: a Poisson GLM `count ~ group + period fixed effects + group:post` (offset: log
//!   exposure for rates) whose `exp(group:post)` is the same ratio, with Driscoll–Kraay errors (scores summed
//!   per period, then Newey–West over periods; statsmodels' `hac-groupsum`), which allow for correlation
//!   between the two groups in a period and across periods. A plain HAC over the stacked rows would treat
//!   the two groups' rows of one period as neighbours in time; the period sums are the right unit.
//!
//! Intervals by default ([`super::inference::Inference::QuasiAr1`]): quasi-likelihood with AR(1) errors within each
//! group's series (the period fixed effects take what the groups share), Student-t critical values on the
//! interaction's Satterthwaite degrees of freedom; the ratio of ratios then takes the regression's standard error (for counts the
//! two estimates are the same number). By name ([`super::inference::Inference::Hac`]): the Driscoll–Kraay errors above
//! with normal values, and the ratio of ratios' Poisson standard error.
//!
//! Beside it, a pre-trend check: on pre-event periods only, the group × time interaction (parallel trends
//! is what the difference in differences assumes).

use super::inference::Inference;
use super::series::{DroppedPeriod, Effect, Obs, Series, guard_periods, load, lookup_event, lookup_indicator};
use crate::{AnalysisConfig, MetricsError};
use chrono::NaiveDate;
use oversight_core::Grain;
use oversight_stats::intervals::{two_sided_p, z_for};
use oversight_stats::regression::{CovType, Design, Family, GroupsumCorrection, Reference, default_maxlags, glm};
use oversight_store::{PolicyEvent, Store};
use serde::Serialize;

/// What to analyse.
#[derive(Debug, Clone)]
pub struct DidRequest {
    pub indicator: String,
    pub event_id: i64,
    pub jurisdiction: Option<String>,
    /// The group whose change is measured, e.g. `race:hispanic`.
    pub group: String,
    /// The comparison group; None: everyone else (`all` minus the group; counts only).
    pub reference: Option<String>,
    pub grain: Grain,
}

/// Counts of the two-by-two table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DidCounts {
    pub group_pre: f64,
    pub group_post: f64,
    pub reference_pre: f64,
    pub reference_post: f64,
    /// Exposures (denominators) of rates; None for counts.
    pub group_pre_exposure: Option<f64>,
    pub group_post_exposure: Option<f64>,
    pub reference_pre_exposure: Option<f64>,
    pub reference_post_exposure: Option<f64>,
}

/// The ratio of ratios with its log-scale standard error.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RatioOfRatios {
    pub estimate: f64,
    pub se_log: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub p_value: f64,
    pub method: String,
}

/// The regression form.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DidRegression {
    pub model: String,
    pub formula: String,
    /// How the intervals were computed: `quasi-ar1` (default) or `hac`.
    pub inference: String,
    pub covariance: String,
    /// The critical values' distribution (e.g. "Student t, 58 df", or "normal").
    pub reference_distribution: String,
    pub maxlags: usize,
    pub n_obs: usize,
    /// group:post on the log scale, and exp of it (the ratio of ratios).
    pub interaction: Effect,
    /// Degrees of freedom of the t reference (None: normal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub df: Option<f64>,
}

/// One period of the two series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DidPoint {
    pub period_start: NaiveDate,
    pub post: bool,
    pub group_count: f64,
    pub reference_count: f64,
    pub group_exposure: Option<f64>,
    pub reference_exposure: Option<f64>,
    /// Public output withholds this period's counts (under the suppression threshold).
    pub suppressed: bool,
}

/// The result of a difference in differences.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DidResult {
    pub indicator: String,
    pub jurisdiction: String,
    pub group: String,
    pub reference: String,
    pub grain: Grain,
    pub event: PolicyEvent,
    pub confidence: f64,
    pub t0_period: NaiveDate,
    pub n_pre: usize,
    pub n_post: usize,
    pub counts: DidCounts,
    pub ratio_of_ratios: RatioOfRatios,
    pub regression: DidRegression,
    /// Group × time on pre-event periods (log scale per period): near zero if the trends were parallel.
    pub pre_trend_difference: Option<Effect>,
    pub series: Vec<DidPoint>,
    pub dropped_periods: Vec<DroppedPeriod>,
    pub notes: Vec<String>,
}

/// Aligns the group's and the reference's series on common periods.
fn align(g: &Series, r: &Series, subtract: bool) -> Vec<(Obs, Obs)> {
    let by: std::collections::BTreeMap<NaiveDate, &Obs> = r.obs.iter().map(|o| (o.period.start, o)).collect();
    g.obs
        .iter()
        .filter_map(|o| {
            let ro = by.get(&o.period.start)?;
            let mut ro = (*ro).clone();
            if subtract {
                ro.count -= o.count;
                ro.suppressed = ro.suppressed || o.suppressed;
            }
            Some((o.clone(), ro))
        })
        .collect()
}

/// Runs a difference in differences.
pub fn did(store: &Store, req: &DidRequest, cfg: &AnalysisConfig) -> Result<DidResult, MetricsError> {
    let ind = lookup_indicator(&req.indicator)?;
    let event = lookup_event(store, req.event_id)?;
    let jurisdiction = req.jurisdiction.clone().unwrap_or_else(|| event.jurisdiction_id.clone());
    if req.group == "all" || req.reference.as_deref() == Some(req.group.as_str()) {
        return Err(MetricsError::Invalid(
            "group: a difference in differences compares a group (e.g. race:hispanic) with another one".into(),
        ));
    }
    let mut g = load(store, ind, &jurisdiction, req.grain, &req.group)?;
    let (mut r, subtract, reference_label) = match &req.reference {
        Some(rg) => (load(store, ind, &jurisdiction, req.grain, rg)?, false, rg.clone()),
        None => {
            if g.is_rate {
                return Err(MetricsError::Invalid(format!(
                    "reference: {} is a rate; name the comparison group (e.g. --reference race:white)",
                    ind.id
                )));
            }
            (load(store, ind, &jurisdiction, req.grain, "all")?, true, format!("all except {}", req.group))
        }
    };
    let t0 = g.split_at_event(event.effective_date);
    r.split_at_event(event.effective_date);
    let rows = align(&g, &r, subtract);
    let n_pre = rows.iter().filter(|(o, _)| o.period < t0).count();
    let n_post = rows.len() - n_pre;
    guard_periods("A difference in differences", n_pre, n_post, cfg.min_pre_periods, cfg.min_post_periods, req.grain)?;
    let is_rate = g.is_rate;

    // The two-by-two table.
    let sum = |pick: &dyn Fn(&(Obs, Obs)) -> f64, post: bool| -> f64 {
        rows.iter().filter(|(o, _)| (o.period >= t0) == post).map(pick).sum()
    };
    let exp_sum = |pick: &dyn Fn(&(Obs, Obs)) -> f64, post: bool| is_rate.then(|| sum(pick, post));
    let counts = DidCounts {
        group_pre: sum(&|(o, _)| o.count, false),
        group_post: sum(&|(o, _)| o.count, true),
        reference_pre: sum(&|(_, o)| o.count, false),
        reference_post: sum(&|(_, o)| o.count, true),
        group_pre_exposure: exp_sum(&|(o, _)| o.exposure.unwrap_or(0.0), false),
        group_post_exposure: exp_sum(&|(o, _)| o.exposure.unwrap_or(0.0), true),
        reference_pre_exposure: exp_sum(&|(_, o)| o.exposure.unwrap_or(0.0), false),
        reference_post_exposure: exp_sum(&|(_, o)| o.exposure.unwrap_or(0.0), true),
    };
    let c = [counts.group_pre, counts.group_post, counts.reference_pre, counts.reference_post];
    if let Some(z) = c.iter().find(|v| **v <= 0.0) {
        return Err(MetricsError::Refused(format!(
            "a cell of the two-by-two table is {z}: the ratio of ratios is undefined"
        )));
    }
    let rate = |x: f64, e: Option<f64>| x / e.unwrap_or(1.0);
    let ror = (rate(counts.group_post, counts.group_post_exposure) / rate(counts.group_pre, counts.group_pre_exposure))
        / (rate(counts.reference_post, counts.reference_post_exposure)
            / rate(counts.reference_pre, counts.reference_pre_exposure));
    let regression = regression(&rows, t0.start, is_rate, cfg)?;
    let ratio_of_ratios = match cfg.inference {
        Inference::Hac => {
            let se_log = c.iter().map(|v| 1.0 / v).sum::<f64>().sqrt();
            let z = z_for(cfg.confidence);
            RatioOfRatios {
                estimate: ror,
                se_log,
                ci_low: (ror.ln() - z * se_log).exp(),
                ci_high: (ror.ln() + z * se_log).exp(),
                p_value: two_sided_p(ror.ln() / se_log),
                method: "ratio of ratios, SE(log) = √(1/a_pre + 1/a_post + 1/c_pre + 1/c_post), normal interval".into(),
            }
        }
        Inference::QuasiAr1 => {
            // The regression's interval, moved to the ratio of ratios' estimate (the same number for counts).
            let e = &regression.interaction;
            let (lo, hi) = (e.ci_low - e.estimate, e.ci_high - e.estimate);
            RatioOfRatios {
                estimate: ror,
                se_log: e.se,
                ci_low: (ror.ln() + lo).exp(),
                ci_high: (ror.ln() + hi).exp(),
                p_value: regression.p_value_at(ror.ln()),
                method: format!(
                    "ratio of ratios, SE(log) from the regression (quasi-likelihood with AR(1) errors), {} interval",
                    regression.reference_distribution
                ),
            }
        }
    };
    let pre_rows: Vec<(Obs, Obs)> = rows.iter().filter(|(o, _)| o.period < t0).cloned().collect();
    let pre_trend_difference = pre_trend(&pre_rows, is_rate, cfg).ok();

    let series: Vec<DidPoint> = rows
        .iter()
        .map(|(a, b)| DidPoint {
            period_start: a.period.start,
            post: a.period >= t0,
            group_count: a.count,
            reference_count: b.count,
            group_exposure: a.exposure,
            reference_exposure: b.exposure,
            suppressed: a.suppressed || b.suppressed,
        })
        .collect();
    let mut notes = Vec::new();
    if pre_trend_difference.as_ref().is_some_and(|e| e.ci_low > 0.0 || e.ci_high < 0.0) {
        notes.push(
            "the two groups' trends differed before the event (pre-trend interval excludes 0): the parallel-trends \
             assumption is doubtful"
                .to_owned(),
        );
    }
    let mut dropped = g.dropped.clone();
    dropped.extend(r.dropped.iter().filter(|d| !g.dropped.contains(d)).cloned());
    dropped.sort_by_key(|d| d.period_start);
    Ok(DidResult {
        indicator: ind.id.as_str().to_owned(),
        jurisdiction,
        group: req.group.clone(),
        reference: reference_label,
        grain: req.grain,
        event,
        confidence: cfg.confidence,
        t0_period: t0.start,
        n_pre,
        n_post,
        counts,
        ratio_of_ratios,
        regression,
        pre_trend_difference,
        series,
        dropped_periods: dropped,
        notes,
    })
}

/// Stacks the two groups: rows (group indicator, period label, count, log exposure).
fn stack(rows: &[(Obs, Obs)]) -> Vec<(f64, i64, f64, Option<f64>)> {
    let mut out = Vec::with_capacity(rows.len() * 2);
    for (g, r) in rows {
        for (is_g, o) in [(1.0, g), (0.0, r)] {
            out.push((is_g, o.index, o.count, o.exposure.map(f64::ln)));
        }
    }
    out
}

fn regression(
    rows: &[(Obs, Obs)],
    t0: NaiveDate,
    is_rate: bool,
    cfg: &AnalysisConfig,
) -> Result<DidRegression, MetricsError> {
    let stacked = stack(rows);
    let periods: Vec<i64> = rows.iter().map(|(o, _)| o.index).collect();
    let post_of: std::collections::BTreeMap<i64, bool> =
        rows.iter().map(|(o, _)| (o.index, o.period.start >= t0)).collect();
    let n = stacked.len();
    let mut cols =
        vec![("const".to_owned(), vec![1.0; n]), ("group".to_owned(), stacked.iter().map(|s| s.0).collect())];
    for p in periods.iter().skip(1) {
        cols.push((format!("period_{p}"), stacked.iter().map(|s| f64::from(u8::from(s.1 == *p))).collect()));
    }
    cols.push((
        "group:post".to_owned(),
        stacked.iter().map(|s| s.0 * f64::from(u8::from(post_of.get(&s.1).copied().unwrap_or(false)))).collect(),
    ));
    let y: Vec<f64> = stacked.iter().map(|s| s.2).collect();
    let offset: Option<Vec<f64>> = is_rate.then(|| stacked.iter().map(|s| s.3.unwrap_or(0.0)).collect());
    let fit = glm(&Design::from_columns(cols), &y, Family::Poisson, offset.as_deref())?;
    let maxlags = cfg.hac_maxlags.unwrap_or_else(|| default_maxlags(periods.len()));
    let (cov, reference) = did_inference(&stacked, maxlags, cfg);
    let c = fit
        .coefficients_with(&cov, cfg.confidence, reference)
        .into_iter()
        .find(|c| c.name == "group:post")
        .ok_or_else(|| MetricsError::Refused("the group:post term could not be estimated".into()))?;
    Ok(DidRegression {
        model: "poisson-glm".into(),
        formula: format!(
            "count ~ Poisson, log link: group + period fixed effects + group:post{}",
            if is_rate { ", offset log(exposure)" } else { "" }
        ),
        inference: cfg.inference.as_str().to_owned(),
        covariance: cov.describe(),
        reference_distribution: super::inference::reference_words(reference, &[("interaction", &c)]),
        maxlags,
        n_obs: n,
        interaction: Effect::from(&c),
        df: c.df,
    })
}

/// The covariance of a DiD fit under the configured inference: Driscoll–Kraay over periods, or AR(1) errors
/// within each group's series.
fn did_inference(
    stacked: &[(f64, i64, f64, Option<f64>)],
    maxlags: usize,
    cfg: &AnalysisConfig,
) -> (CovType, Reference) {
    let dk = CovType::HacGroupsum {
        time: stacked.iter().map(|s| s.1).collect(),
        maxlags: Some(maxlags),
        correction: GroupsumCorrection::Cluster,
    };
    let series = stacked.iter().map(|s| s.0 as i64).collect();
    super::inference::inference_for(cfg.inference, dk, Some(series))
}

impl DidRegression {
    /// The two-sided p-value of a log-scale estimate with the interaction's standard error and reference.
    fn p_value_at(&self, estimate: f64) -> f64 {
        let z = estimate / self.interaction.se;
        match self.df {
            Some(df) => oversight_stats::intervals::two_sided_p_t(z, df),
            None => two_sided_p(z),
        }
    }
}

fn pre_trend(rows: &[(Obs, Obs)], is_rate: bool, cfg: &AnalysisConfig) -> Result<Effect, MetricsError> {
    if rows.len() < 6 {
        return Err(MetricsError::Refused("too few pre-event periods for a pre-trend check".into()));
    }
    let stacked = stack(rows);
    let origin = rows.first().map_or(0, |(o, _)| o.index);
    let n = stacked.len();
    let mut cols =
        vec![("const".to_owned(), vec![1.0; n]), ("group".to_owned(), stacked.iter().map(|s| s.0).collect())];
    for (o, _) in rows.iter().skip(1) {
        cols.push((
            format!("period_{}", o.index),
            stacked.iter().map(|s| f64::from(u8::from(s.1 == o.index))).collect(),
        ));
    }
    cols.push(("group:t".to_owned(), stacked.iter().map(|s| s.0 * (s.1 - origin) as f64).collect()));
    let y: Vec<f64> = stacked.iter().map(|s| s.2).collect();
    let offset: Option<Vec<f64>> = is_rate.then(|| stacked.iter().map(|s| s.3.unwrap_or(0.0)).collect());
    let fit = glm(&Design::from_columns(cols), &y, Family::Poisson, offset.as_deref())?;
    let maxlags = cfg.hac_maxlags.unwrap_or_else(|| default_maxlags(rows.len()));
    let (cov, reference) = did_inference(&stacked, maxlags, cfg);
    fit.coefficients_with(&cov, cfg.confidence, reference)
        .into_iter()
        .find(|c| c.name == "group:t")
        .map(|c| Effect::from(&c))
        .ok_or_else(|| MetricsError::Refused("no pre-trend estimate".into()))
}
