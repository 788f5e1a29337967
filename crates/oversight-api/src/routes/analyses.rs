//! Analyses: the impact of a policy event on an indicator (ITS, DiD), and the veil-of-darkness test.

use super::shared::{id_param, with_basis};
use crate::auth::Reader;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::query::Query;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use oversight_core::Grain;
use oversight_metrics::analysis::{DidRequest, Inference, ItsModel, ItsRequest, ItsResult, VodRequest};
use oversight_store::Store;
use serde_json::Value;

/// Which analysis of an event's impact.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Model {
    /// Interrupted time series.
    #[default]
    Its,
    /// Difference in differences: a group against a reference group.
    Did,
}

/// The periods an impact analysis counts in.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum AnalysisGrain {
    #[default]
    Month,
    Quarter,
    Year,
}

impl From<AnalysisGrain> for Grain {
    fn from(g: AnalysisGrain) -> Self {
        match g {
            AnalysisGrain::Month => Grain::Month,
            AnalysisGrain::Quarter => Grain::Quarter,
            AnalysisGrain::Year => Grain::Year,
        }
    }
}

/// The parameters of an impact analysis.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ImpactQuery {
    /// The indicator, e.g. crime_reports.count.
    indicator: String,
    /// e.g. race:hispanic (required for did).
    group: Option<String>,
    /// its (default) or did.
    #[serde(default)]
    #[param(inline)]
    model: Option<Model>,
    /// its: poisson (default) or ols.
    #[serde(default)]
    #[param(inline)]
    fit: Option<ItsModel>,
    /// did: the comparison group (default everyone else).
    reference: Option<String>,
    /// Default: the event's jurisdiction.
    jurisdiction: Option<String>,
    /// month (default), quarter or year.
    #[serde(default)]
    #[param(inline)]
    grain: Option<AnalysisGrain>,
    /// How the intervals are computed: quasi-ar1 (default: quasi-likelihood with AR(1) errors, Student-t
    /// critical values on each effect's Satterthwaite degrees of freedom) or hac (Newey–West / Driscoll–Kraay
    /// errors, normal values: the estimator before).
    #[serde(default)]
    #[param(inline)]
    inference: Option<Inference>,
    /// Newey–West lags for inference=hac (0 to 24; default from the series' length).
    #[serde(default, deserialize_with = "crate::query::int_in::<0, 24, _>")]
    #[param(value_type = Option<usize>, minimum = 0, maximum = 24)]
    maxlags: Option<i64>,
}

/// Interrupted time series or difference in differences of an indicator around the event. Refused (422) when
/// a period of the series has a count under the suppression threshold: the fit would give it back.
#[utoipa::path(get, path = "/v1/policy-events/{id}/impact", tag = "policy", params(("id" = i64, Path), ImpactQuery),
    responses((status = 200, description = "The fit, as `oversight analyze its|did --json` prints it", body = Object, example = json!({"indicator": "crime_reports.count", "model": "poisson-glm", "n": 60,
        "level_change": {"estimate": -0.24, "se": 0.07, "ci_low": -0.38, "ci_high": -0.10, "p_value": 0.0006, "ratio": 0.78, "ratio_ci_low": 0.68, "ratio_ci_high": 0.90}})),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn impact(
    State(st): State<AppState>,
    _: Reader,
    Path(id): Path<String>,
    Query(q): Query<ImpactQuery>,
) -> ApiResult<Response> {
    let event_id = id_param("id", &id)?;
    if oversight_metrics::indicator(&q.indicator).is_none() {
        return Err(ApiError::param("indicator", format!("{:?}: no such indicator", q.indicator)));
    }
    let cfg = analysis_cfg(&st, q.maxlags, q.inference);
    let (basis, value) = st
        .read_basis(move |s| {
            if s.policy_event(event_id)?.is_none() {
                return Err(ApiError::not_found("policy event", event_id));
            }
            let v = match q.model.unwrap_or_default() {
                Model::Its => its(s, event_id, q, &cfg)?,
                Model::Did => did(s, event_id, q, &cfg)?,
            };
            v.map_err(|e| ApiError::internal("json", e))
        })
        .await?;
    let value = withhold(value, st.0.metrics_cfg.suppression_threshold);
    Ok(with_basis(Json(value).into_response(), &basis))
}

/// A count from 1 to the threshold less one: withheld.
fn small_count(x: Option<&Value>, threshold: u32) -> bool {
    x.and_then(Value::as_f64).is_some_and(|n| n > 0.0 && n < f64::from(threshold))
}

/// The fit as published: the fit used every period's count, but a period whose count is under the
/// suppression threshold shows none (nor its rate, which gives the count back), and totals from 1 to the
/// threshold less one are withheld too.
fn withhold(mut v: Value, threshold: u32) -> Value {
    if let Some(series) = v.get_mut("series").and_then(Value::as_array_mut) {
        for p in series.iter_mut().filter(|p| p.get("suppressed") == Some(&Value::Bool(true))) {
            for k in ["count", "observed", "group_count", "reference_count"] {
                if let Some(x) = p.get_mut(k) {
                    *x = Value::Null;
                }
            }
        }
    }
    let small = |x: &Value| small_count(Some(x), threshold);
    for (part, keys) in [
        ("counts", &["group_pre", "group_post", "reference_pre", "reference_post"][..]),
        ("unknown_race", &["pre_unknown", "pre_records", "post_unknown", "post_records"][..]),
    ] {
        if let Some(c) = v.get_mut(part).and_then(Value::as_object_mut) {
            for k in keys {
                if let Some(x) = c.get_mut(*k).filter(|x| small(x)) {
                    *x = Value::Null;
                }
            }
        }
    }
    v
}

type Json_ = Result<Value, serde_json::Error>;

fn its(s: &Store, event_id: i64, q: ImpactQuery, cfg: &oversight_metrics::AnalysisConfig) -> ApiResult<Json_> {
    Ok(serde_json::to_value(its_result(s, event_id, q, cfg)?))
}

fn its_result(
    s: &Store,
    event_id: i64,
    q: ImpactQuery,
    cfg: &oversight_metrics::AnalysisConfig,
) -> ApiResult<ItsResult> {
    let r = oversight_metrics::analysis::its(s, &its_request(event_id, q), cfg)?;
    super::shared::no_withheld_periods(r.series.iter().filter(|p| p.suppressed).count(), "its")?;
    Ok(r)
}

fn its_request(event_id: i64, q: ImpactQuery) -> ItsRequest {
    ItsRequest {
        indicator: q.indicator,
        event_id,
        jurisdiction: q.jurisdiction,
        group: q.group,
        model: q.fit.unwrap_or_default(),
        grain: q.grain.unwrap_or_default().into(),
    }
}

/// The analyses' settings with the request's inference and Newey–West lags, if it gives them.
fn analysis_cfg(
    st: &AppState,
    maxlags: Option<i64>,
    inference: Option<Inference>,
) -> oversight_metrics::AnalysisConfig {
    let mut cfg = st.0.analysis_cfg.clone();
    if let Some(l) = maxlags {
        cfg.hac_maxlags = Some(l as usize);
    }
    if let Some(i) = inference {
        cfg.inference = i;
    }
    cfg
}

/// The interrupted time series of an event as a chart: observed, fitted, the counterfactual after the event,
/// the event marker, and the estimate with its interval in the caption. Where the data cannot support the
/// fit, the image says why.
#[utoipa::path(get, path = "/v1/policy-events/{id}/impact.svg", tag = "policy", params(("id" = i64, Path), ImpactQuery),
    responses((status = 200, description = "SVG", content_type = "image/svg+xml", body = String, example = "<svg width=\"760\" height=\"425\" viewBox=\"0 0 760 425\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\"><title>…</title><desc>…</desc>…</svg>"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn impact_svg(
    State(st): State<AppState>,
    _: Reader,
    Path(id): Path<String>,
    Query(q): Query<ImpactQuery>,
) -> ApiResult<Response> {
    let event_id = id_param("id", &id)?;
    let ind = oversight_metrics::indicator(&q.indicator)
        .ok_or_else(|| ApiError::param("indicator", format!("{:?}: no such indicator", q.indicator)))?;
    if matches!(q.model, Some(Model::Did)) {
        return Err(ApiError::param(
            "model",
            "the chart draws the interrupted time series (its); did is served as JSON",
        ));
    }
    let cfg = analysis_cfg(&st, q.maxlags, q.inference);
    let group = q.group.clone().unwrap_or_else(|| "all".into());
    let (basis, event) = st
        .read_basis(move |s| s.policy_event(event_id)?.ok_or_else(|| ApiError::not_found("policy event", event_id)))
        .await?;
    let svg = match super::charts::its_fit(&st, its_request(event_id, q), cfg).await {
        Ok(r) => super::charts::impact_chart(ind, &group, &event.title, &r, &basis),
        Err(e) if crate::error::status_of(e.code).is_client_error() => {
            oversight_web::no_data(&format!("{} ({group}) around {}", ind.title, event.title), &e.message)
        }
        Err(e) => return Err(e),
    };
    Ok(with_basis(super::charts::svg_response(svg), &basis))
}

fn did(s: &Store, event_id: i64, q: ImpactQuery, cfg: &oversight_metrics::AnalysisConfig) -> ApiResult<Json_> {
    let group = q.group.ok_or_else(|| ApiError::param("group", "required for did (e.g. race:hispanic)"))?;
    let req = DidRequest {
        indicator: q.indicator,
        event_id,
        jurisdiction: q.jurisdiction,
        group,
        reference: q.reference,
        grain: q.grain.unwrap_or_default().into(),
    };
    let r = oversight_metrics::analysis::did(s, &req, cfg)?;
    super::shared::no_withheld_periods(r.series.iter().filter(|p| p.suppressed).count(), "did")?;
    Ok(serde_json::to_value(r))
}

/// The parameters of the veil-of-darkness test.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct VodQuery {
    jurisdiction: String,
    /// 2018, or a range 2016-2020.
    #[serde(deserialize_with = "years")]
    #[param(value_type = String)]
    year: (i32, i32),
    /// default black.
    group: Option<String>,
    /// default white.
    reference: Option<String>,
    /// Spline degrees of freedom, 1–10 (default 6).
    #[serde(default, deserialize_with = "crate::query::int_in::<1, 10, _>")]
    #[param(value_type = Option<usize>, minimum = 1, maximum = 10)]
    df: Option<i64>,
}

/// The veil-of-darkness test on a jurisdiction's stops.
#[utoipa::path(get, path = "/v1/veil-of-darkness", tag = "policy", params(VodQuery),
    responses((status = 200, description = "As `oversight analyze vod --json` prints it", body = Object, example = json!({"jurisdiction": "ct-hartford", "year": 2014, "to_year": 2014,
        "dark": {"spline_df": 6, "estimate": 0.13, "se": 0.24, "odds_ratio": 1.14, "ci_low": 0.71, "ci_high": 1.84, "p_value": 0.59, "n": 750}})),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn vod(State(st): State<AppState>, _: Reader, Query(q): Query<VodQuery>) -> ApiResult<Response> {
    let cfg = st.0.analysis_cfg.clone();
    let req = VodRequest {
        jurisdiction: q.jurisdiction,
        year: q.year.0,
        to_year: q.year.1,
        group: q.group.unwrap_or_else(|| "black".into()),
        reference: q.reference.unwrap_or_else(|| "white".into()),
        spline_df: q.df.map(|d| d as usize),
        districts: true,
    };
    let (basis, value) = st
        .read_basis(move |s| {
            serde_json::to_value(oversight_metrics::analysis::vod(s, &req, &cfg)?)
                .map_err(|e| ApiError::internal("json", e))
        })
        .await?;
    let value = withhold_vod(value, st.0.metrics_cfg.suppression_threshold);
    Ok(with_basis(Json(value).into_response(), &basis))
}

/// The veil-of-darkness result as published: its counts are counts of people stopped, so one from 1 to the
/// threshold less one is withheld, and so are the counts that would give it back. The four light/dark counts
/// add up to the fits' `n`, so one small count withholds all four; the stops with a clock time are the sum of
/// those outside the window, dropped in twilight, of other groups and in the sample, so a small one of the
/// first three withholds the three and that total.
fn withhold_vod(mut v: Value, threshold: u32) -> Value {
    let small = |x: Option<&Value>| small_count(x, threshold);
    let null_all = |v: &mut Value, keys: &[&str]| {
        if keys.iter().any(|k| small(v.get(*k))) {
            for k in keys {
                if let Some(x) = v.get_mut(*k) {
                    *x = Value::Null;
                }
            }
        }
    };
    if let Some(c) = v.get_mut("counts") {
        null_all(c, &["group_light", "group_dark", "reference_light", "reference_dark"]);
    }
    if ["outside_window", "twilight_dropped", "other_groups"].iter().any(|k| small(v.get(*k))) {
        null_all(&mut v, &["outside_window", "twilight_dropped", "other_groups", "stops_with_time"]);
    }
    v
}

/// `year`: 2018, or 2016-2020.
pub(super) fn years<'de, D: serde::Deserializer<'de>>(d: D) -> Result<(i32, i32), D::Error> {
    let s = <String as serde::Deserialize>::deserialize(d)?;
    let parse = || {
        let (a, b) = s.split_once('-').unwrap_or((&s, &s));
        let (a, b): (i32, i32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
        ((1900..=2200).contains(&a) && (a..=2200).contains(&b)).then_some((a, b))
    };
    parse().ok_or_else(|| serde::de::Error::custom(format!("expected a year (2018) or a range (2016-2020), got {s:?}")))
}

#[cfg(test)]
mod tests {
    use super::withhold_vod;
    use serde_json::json;

    #[test]
    fn a_small_vod_count_is_withheld_with_the_counts_that_would_give_it_back() {
        let v = json!({"stops_with_time": 900, "outside_window": 500, "twilight_dropped": 7, "other_groups": 93,
            "counts": {"group_light": 120, "group_dark": 4, "reference_light": 150, "reference_dark": 26}});
        let w = withhold_vod(v, 11);
        assert_eq!(
            w["counts"],
            json!({"group_light": null, "group_dark": null, "reference_light": null, "reference_dark": null})
        );
        for k in ["stops_with_time", "outside_window", "twilight_dropped", "other_groups"] {
            assert!(w[k].is_null(), "{k}");
        }
        let v = json!({"stops_with_time": 900, "outside_window": 500, "twilight_dropped": 0, "other_groups": 100,
            "counts": {"group_light": 120, "group_dark": 24, "reference_light": 130, "reference_dark": 26}});
        assert_eq!(withhold_vod(v.clone(), 11), v, "nothing small, nothing withheld (0 is not small)");
    }
}
