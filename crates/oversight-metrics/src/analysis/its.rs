//! Interrupted time series around a policy event:
//! `Y_t = β0 + β1·t + β2·D_t + β3·(t − T0)·D_t + γ1·sin(2πφ_t) + γ2·cos(2πφ_t) + ε_t`, `D_t = 1` from the first
//! complete period after the event (T0) on, φ the season phase (month of year / 12).
//!
//! Two models: OLS on log counts (or log rates), and a Poisson GLM on counts (offset: log exposure for rates).
//! Intervals by default from quasi-likelihood with AR(1) errors and Student-t critical values on each
//! coefficient's Satterthwaite degrees of freedom ([`super::inference::Inference::QuasiAr1`]); by name, the earlier Newey–West errors (Bartlett, default lag
//! ⌊4·(T/100)^(2/9)⌋, small-sample correction n/(n−k)) with normal intervals ([`super::inference::Inference::Hac`]). Guards: enough periods on each side, the partial period holding the event left
//! out, a placebo fit at T0 − 12 on pre-event data, and the unknown-race share before and after beside it.

use super::series::{
    DroppedPeriod, Effect, Obs, Series, guard_periods, load, lookup_event, lookup_indicator, season_phase,
};
use crate::{AnalysisConfig, MetricsError};
use chrono::NaiveDate;
use oversight_core::{Dataset, Grain, Period};
use oversight_stats::intervals::wald_difference;
use oversight_stats::regression::{Coef, CovType, Design, Family, Fit, Reference, default_maxlags, glm, ols};
use oversight_store::{PolicyEvent, Store};
use serde::{Deserialize, Serialize};

/// Which model to fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ItsModel {
    /// OLS on the log of the count or rate.
    Ols,
    /// Poisson GLM on counts (log exposure as offset for rates).
    #[default]
    Poisson,
}

impl ItsModel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ols => "ols",
            Self::Poisson => "poisson",
        }
    }
}

impl std::str::FromStr for ItsModel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ols" => Ok(Self::Ols),
            "poisson" => Ok(Self::Poisson),
            other => Err(format!("unknown model {other:?} (expected ols or poisson)")),
        }
    }
}

/// What to analyse.
#[derive(Debug, Clone)]
pub struct ItsRequest {
    pub indicator: String,
    pub event_id: i64,
    /// Default: the event's jurisdiction.
    pub jurisdiction: Option<String>,
    /// Default `all`.
    pub group: Option<String>,
    pub model: ItsModel,
    pub grain: Grain,
}

/// One period of the fitted series, in the outcome's units (count, or count per unit of exposure).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItsPoint {
    pub period_start: NaiveDate,
    pub post: bool,
    pub count: f64,
    pub exposure: Option<f64>,
    pub observed: f64,
    pub fitted: f64,
    /// The fit with the post-event terms removed: what the model expects had nothing changed.
    pub counterfactual: f64,
    /// Public output withholds this period's count (under the suppression threshold).
    pub suppressed: bool,
}

/// The placebo fit: the same model on pre-event periods only, with the event moved earlier.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Placebo {
    pub available: bool,
    pub reason: Option<String>,
    pub t0_period: Option<NaiveDate>,
    pub n: usize,
    pub level_change: Option<Effect>,
    pub slope_change: Option<Effect>,
}

/// Share of records with unknown race/ethnicity before and after the event (a drop in reports can be a drop
/// in recording).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnknownRaceTrend {
    pub pre_unknown: f64,
    pub pre_records: f64,
    pub pre_share: f64,
    pub post_unknown: f64,
    pub post_records: f64,
    pub post_share: f64,
    /// post share − pre share, with a Wald interval.
    pub difference: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub ci_method: String,
}

/// The result of an interrupted time series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItsResult {
    pub indicator: String,
    pub jurisdiction: String,
    pub group: String,
    pub grain: Grain,
    pub event: PolicyEvent,
    /// `ols-log` or `poisson-glm`.
    pub model: String,
    /// `count` or `rate` (count per unit of the indicator's denominator).
    pub outcome: String,
    pub formula: String,
    /// How the intervals were computed: `quasi-ar1` (default) or `hac`.
    pub inference: String,
    pub covariance: String,
    /// The critical values' distribution (e.g. "Student t, 54 df", or "normal").
    pub reference_distribution: String,
    /// quasi-ar1: the dispersion (variance over the model's) and the residuals' AR(1) coefficient it used.
    pub dispersion: Option<f64>,
    pub ar1: Option<f64>,
    /// Newey–West lags (used by `hac` only).
    pub maxlags: usize,
    pub confidence: f64,
    /// Periods in the fit (before + after).
    pub n: usize,
    pub n_pre: usize,
    pub n_post: usize,
    pub first_period: NaiveDate,
    pub last_period: NaiveDate,
    /// First complete period from the event on.
    pub t0_period: NaiveDate,
    /// β2 (log scale) and exp(β2): the change in level at T0.
    pub level_change: Effect,
    /// β3 (log scale per period) and exp(β3): the change in the per-period trend.
    pub slope_change: Effect,
    /// β1: the pre-event trend per period.
    pub pre_trend: Effect,
    pub coefficients: Vec<Coef>,
    pub series: Vec<ItsPoint>,
    pub placebo: Placebo,
    pub unknown_race: Option<UnknownRaceTrend>,
    pub dropped_periods: Vec<DroppedPeriod>,
    pub notes: Vec<String>,
}

pub(crate) const NAMES: [&str; 6] = ["const", "t", "post", "t_since_event", "season_sin", "season_cos"];

/// The ITS design over `obs` with the first post period at index `t0` (`with_season`: harmonics).
fn design(obs: &[Obs], t0: i64, with_season: bool) -> Design {
    let origin = obs.first().map_or(0, |o| o.index);
    let col = |f: &dyn Fn(&Obs) -> f64| obs.iter().map(f).collect::<Vec<f64>>();
    let post = |o: &Obs| f64::from(u8::from(o.index >= t0));
    let mut cols = vec![
        (NAMES[0].to_owned(), col(&|_| 1.0)),
        (NAMES[1].to_owned(), col(&|o| (o.index - origin) as f64)),
        (NAMES[2].to_owned(), col(&post)),
        (NAMES[3].to_owned(), col(&|o| (o.index - t0) as f64 * post(o))),
    ];
    if with_season {
        let phase = |o: &Obs| season_phase(o.period).unwrap_or(0.0) * std::f64::consts::TAU;
        cols.push((NAMES[4].to_owned(), col(&|o| phase(o).sin())));
        cols.push((NAMES[5].to_owned(), col(&|o| phase(o).cos())));
    }
    Design::from_columns(cols)
}

struct Fitted {
    fit: Fit,
    design: Design,
    cov: CovType,
    reference: Reference,
    maxlags: usize,
}

fn fit_model(
    obs: &[Obs],
    t0: i64,
    model: ItsModel,
    is_rate: bool,
    cfg: &AnalysisConfig,
) -> Result<Fitted, MetricsError> {
    // Seasonal terms need at least two full cycles to be told apart from the level and trend.
    let with_season = obs.len() >= 24 && obs.first().is_some_and(|o| season_phase(o.period).is_some());
    let d = design(obs, t0, with_season);
    let maxlags = cfg.hac_maxlags.unwrap_or_else(|| default_maxlags(obs.len()));
    let hac = CovType::Hac { maxlags: Some(maxlags), correction: true };
    let fit = match model {
        ItsModel::Ols => {
            if let Some(o) = obs.iter().find(|o| o.count <= 0.0) {
                return Err(MetricsError::Refused(format!(
                    "OLS on the log needs a positive count in every period; {} has {}: use --model poisson",
                    o.period.label(),
                    o.count
                )));
            }
            let y: Vec<f64> = obs.iter().map(|o| (o.count / o.exposure.unwrap_or(1.0)).ln()).collect();
            ols(&d, &y)?
        }
        ItsModel::Poisson => {
            let y: Vec<f64> = obs.iter().map(|o| o.count).collect();
            let offset: Option<Vec<f64>> =
                is_rate.then(|| obs.iter().map(|o| o.exposure.unwrap_or(1.0).ln()).collect());
            glm(&d, &y, Family::Poisson, offset.as_deref())?
        }
    };
    let (cov, reference) = super::inference::inference_for(cfg.inference, hac, None);
    Ok(Fitted { fit, design: d, cov, reference, maxlags })
}

fn effect(coefs: &[Coef], name: &str) -> Effect {
    coefs.iter().find(|c| c.name == name).map(Effect::from).unwrap_or(Effect {
        estimate: f64::NAN,
        se: f64::NAN,
        ci_low: f64::NAN,
        ci_high: f64::NAN,
        p_value: f64::NAN,
        ratio: f64::NAN,
        ratio_ci_low: f64::NAN,
        ratio_ci_high: f64::NAN,
        df: None,
    })
}

/// Runs an interrupted time series.
pub fn its(store: &Store, req: &ItsRequest, cfg: &AnalysisConfig) -> Result<ItsResult, MetricsError> {
    let ind = lookup_indicator(&req.indicator)?;
    let event = lookup_event(store, req.event_id)?;
    let jurisdiction = req.jurisdiction.clone().unwrap_or_else(|| event.jurisdiction_id.clone());
    let group = req.group.clone().unwrap_or_else(|| "all".into());
    let mut series = load(store, ind, &jurisdiction, req.grain, &group)?;
    let t0 = series.split_at_event(event.effective_date);
    let (n_pre, n_post) = series.counts_pre_post(t0);
    guard_periods("An interrupted time series", n_pre, n_post, cfg.min_pre_periods, cfg.min_post_periods, req.grain)?;
    let t0_index = super::series::period_index(t0);
    let fitted = fit_model(&series.obs, t0_index, req.model, series.is_rate, cfg)?;
    let coefficients = fitted.fit.coefficients_with(&fitted.cov, cfg.confidence, fitted.reference);
    let reported: Vec<(&str, &Coef)> =
        [("level change", NAMES[2]), ("slope change", NAMES[3]), ("pre-trend", NAMES[1])]
            .into_iter()
            .filter_map(|(what, name)| coefficients.iter().find(|c| c.name == name).map(|c| (what, c)))
            .collect();
    let reference_words = super::inference::reference_words(fitted.reference, &reported);
    let (dispersion, ar1) = match &fitted.cov {
        CovType::QuasiAr1 { series } => {
            let (phi, rho) = fitted.fit.dispersion_ar1(series.as_deref());
            (Some(phi), Some(rho))
        }
        _ => (None, None),
    };

    // Fitted values and the counterfactual (post terms removed), back on the outcome's scale.
    let mut x_cf = fitted.design.x.clone();
    for j in [2, 3] {
        x_cf.column_mut(j).fill(0.0);
    }
    let lin = &fitted.fit.linear;
    let lin_cf = fitted.fit.predict_linear(&x_cf);
    let points: Vec<ItsPoint> = series
        .obs
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let scale = o.exposure.unwrap_or(1.0);
            ItsPoint {
                period_start: o.period.start,
                post: o.period >= t0,
                count: o.count,
                exposure: o.exposure,
                observed: o.count / scale,
                fitted: lin[i].exp(),
                counterfactual: lin_cf[i].exp(),
                suppressed: o.suppressed,
            }
        })
        .collect();

    let placebo = placebo(&series, t0, req.model, cfg);
    let (unknown_race, unknown_withheld) = unknown_race_trend(store, ind.dataset, &jurisdiction, &series, t0, cfg)?;
    let mut notes = Vec::new();
    if unknown_withheld > 0 {
        notes.push(format!(
            "the share of records with unknown race/ethnicity before and after is not shown: {unknown_withheld} of \
             its periods have counts under the suppression threshold, which its totals would give back"
        ));
    }
    if series.obs.iter().any(|o| o.suppressed) {
        notes.push(
            "some periods have counts under the suppression threshold: the fit uses them; public output withholds them"
                .to_owned(),
        );
    }
    if fitted.design.ncols() == 4 {
        notes.push("fewer than 24 periods: no seasonal terms".to_owned());
    }
    if let Some(u) = &unknown_race
        && (u.ci_low > 0.0 || u.ci_high < 0.0)
    {
        notes.push(format!(
            "the share of records with unknown race/ethnicity changed from {:.1}% to {:.1}%: part of a change \
             in a group's counts may be a change in recording",
            u.pre_share * 100.0,
            u.post_share * 100.0
        ));
    }
    if placebo.level_change.as_ref().is_some_and(|e| e.ci_low > 0.0 || e.ci_high < 0.0) {
        notes.push(
            "the placebo fit finds a level change where there was no event: the series has breaks of its own, read \
             the result with care"
                .to_owned(),
        );
    }
    let outcome = if series.is_rate { "rate" } else { "count" };
    let model = match req.model {
        ItsModel::Ols => "ols-log",
        ItsModel::Poisson => "poisson-glm",
    };
    let lhs = match (req.model, series.is_rate) {
        (ItsModel::Ols, false) => "log(count)",
        (ItsModel::Ols, true) => "log(count / exposure)",
        (ItsModel::Poisson, false) => "count ~ Poisson, log link:",
        (ItsModel::Poisson, true) => "count ~ Poisson, log link, offset log(exposure):",
    };
    let season = if fitted.design.ncols() == 6 { " + γ1·sin(2πφ) + γ2·cos(2πφ)" } else { "" };
    Ok(ItsResult {
        indicator: ind.id.as_str().to_owned(),
        jurisdiction,
        group,
        grain: req.grain,
        model: model.to_owned(),
        outcome: outcome.to_owned(),
        formula: format!("{lhs} β0 + β1·t + β2·post + β3·(t − T0)·post{season}"),
        inference: cfg.inference.as_str().to_owned(),
        covariance: fitted.cov.describe(),
        reference_distribution: reference_words,
        dispersion,
        ar1,
        maxlags: fitted.maxlags,
        confidence: cfg.confidence,
        n: series.obs.len(),
        n_pre,
        n_post,
        first_period: series.obs.first().map(|o| o.period.start).unwrap_or(t0.start),
        last_period: series.obs.last().map(|o| o.period.start).unwrap_or(t0.start),
        t0_period: t0.start,
        level_change: effect(&coefficients, NAMES[2]),
        slope_change: effect(&coefficients, NAMES[3]),
        pre_trend: effect(&coefficients, NAMES[1]),
        coefficients,
        series: points,
        placebo,
        unknown_race,
        dropped_periods: series.dropped.clone(),
        notes,
        event,
    })
}

fn placebo(series: &Series, t0: Period, model: ItsModel, cfg: &AnalysisConfig) -> Placebo {
    let pre: Vec<Obs> = series.obs.iter().filter(|o| o.period < t0).cloned().collect();
    let fake_index = super::series::period_index(t0) - cfg.placebo_shift as i64;
    let n_pre = pre.iter().filter(|o| o.index < fake_index).count();
    let n_post = pre.len() - n_pre;
    let fake_start = pre.iter().find(|o| o.index >= fake_index).map(|o| o.period.start);
    let unavailable = |reason: String| Placebo {
        available: false,
        reason: Some(reason),
        t0_period: fake_start,
        n: pre.len(),
        level_change: None,
        slope_change: None,
    };
    if let Err(e) = guard_periods(
        &format!("The placebo (event moved {} periods earlier, pre-event data only)", cfg.placebo_shift),
        n_pre,
        n_post,
        cfg.min_pre_periods,
        cfg.min_post_periods.min(cfg.placebo_shift),
        series.grain,
    ) {
        return unavailable(e.to_string());
    }
    match fit_model(&pre, fake_index, model, series.is_rate, cfg) {
        Ok(f) => {
            let c = f.fit.coefficients_with(&f.cov, cfg.confidence, f.reference);
            Placebo {
                available: true,
                reason: None,
                t0_period: fake_start,
                n: pre.len(),
                level_change: Some(effect(&c, NAMES[2])),
                slope_change: Some(effect(&c, NAMES[3])),
            }
        }
        Err(e) => unavailable(e.to_string()),
    }
}

/// The unknown-race share before and after the event, and how many of its periods are withheld (a count of
/// records with unknown race under the suppression threshold). With any withheld, none is reported: the totals
/// less the published periods would give the withheld ones back.
fn unknown_race_trend(
    store: &Store,
    dataset: &str,
    jurisdiction: &str,
    series: &Series,
    t0: Period,
    cfg: &AnalysisConfig,
) -> Result<(Option<UnknownRaceTrend>, usize), MetricsError> {
    let Ok(ds) = dataset.parse::<Dataset>() else { return Ok((None, 0)) };
    if ds.race_column().is_none() {
        return Ok((None, 0));
    }
    let (Some(first), Some(last)) = (series.obs.first(), series.obs.last()) else { return Ok((None, 0)) };
    let group = format!("dataset:{}", ds.as_str());
    let pts = store.points(
        "quality.unknown_race_share",
        jurisdiction,
        series.grain.as_str(),
        Some(&group),
        first.period.start,
        last.period.start,
    )?;
    let in_fit: std::collections::BTreeSet<NaiveDate> = series.obs.iter().map(|o| o.period.start).collect();
    let withheld = pts.iter().filter(|p| in_fit.contains(&p.period_start) && p.suppressed).count();
    if withheld > 0 {
        return Ok((None, withheld));
    }
    let (mut pu, mut pn, mut qu, mut qn) = (0.0, 0.0, 0.0, 0.0);
    for p in pts.iter().filter(|p| in_fit.contains(&p.period_start)) {
        let (u, n) = (p.numerator.unwrap_or(0.0), p.denominator.unwrap_or(0.0));
        if p.period_start < t0.start {
            pu += u;
            pn += n;
        } else {
            qu += u;
            qn += n;
        }
    }
    if pn <= 0.0 || qn <= 0.0 {
        return Ok((None, 0));
    }
    let Some(d) = wald_difference(qu, qn, pu, pn, cfg.confidence) else { return Ok((None, 0)) };
    Ok((
        Some(UnknownRaceTrend {
            pre_unknown: pu,
            pre_records: pn,
            pre_share: pu / pn,
            post_unknown: qu,
            post_records: qn,
            post_share: qu / qn,
            difference: d.value,
            ci_low: d.low,
            ci_high: d.high,
            ci_method: "wald-difference".into(),
        }),
        0,
    ))
}
