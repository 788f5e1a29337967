//! The threshold test: at what probability of contraband officers search each group.

use super::shared::with_basis;
use crate::auth::Reader;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::query::Query;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use oversight_core::ErrorCode;
use oversight_metrics::analysis::{ThresholdRequest, ThresholdResult};

/// The parameters of the threshold test.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ThresholdQuery {
    jurisdiction: String,
    /// 2018, or a range 2016-2020; default every stop.
    #[serde(default, deserialize_with = "some_years")]
    #[param(value_type = Option<String>)]
    year: Option<(i32, i32)>,
    /// Race codes compared, comma-separated (default black,hispanic,white).
    races: Option<String>,
    /// default white.
    reference: Option<String>,
    /// Hierarchical over districts (default true); false: one jurisdiction-wide cell per race.
    districts: Option<bool>,
    /// Kept draws per chain, 500–20000 (default 3000; 4 chains).
    #[serde(default, deserialize_with = "crate::query::int_in::<500, 20000, _>")]
    #[param(value_type = Option<u64>, minimum = 500, maximum = 20000)]
    draws: Option<i64>,
    /// The sampler's seed: the same seed and data give the same result.
    #[serde(default, deserialize_with = "crate::query::int_in::<0, 4294967295, _>")]
    #[param(value_type = Option<u64>, minimum = 0, maximum = 4294967295u64)]
    seed: Option<i64>,
}

fn some_years<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<(i32, i32)>, D::Error> {
    super::analyses::years(d).map(Some)
}

/// The threshold test (Pierson et al. 2018) on a jurisdiction's stops: each group's search threshold with a
/// credible interval, its difference from the reference group, the posterior predictive check and the
/// sampler's diagnostics. Refused (422) when the chains do not converge. Computed once per write for the
/// same parameters; one test is computed at a time (another meanwhile: 429).
#[utoipa::path(get, path = "/v1/threshold-test", tag = "policy", params(ThresholdQuery),
    responses((status = 200, description = "As `oversight analyze threshold --json` prints it", body = Object, example = json!({"jurisdiction": "ct-hartford", "reference": "white",
        "thresholds": [{"race": "black", "stops": 7104, "searches": 2037, "hits": 620, "threshold": {"mean": 0.21, "median": 0.21, "ci_low": 0.17, "ci_high": 0.25, "mcse": 0.0004},
            "difference": {"mean": -0.03, "median": -0.03, "ci_low": -0.06, "ci_high": 0.0, "mcse": 0.0003}, "probability_lower": 0.97}]})),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub(crate) async fn threshold_test(
    State(st): State<AppState>,
    _: Reader,
    Query(q): Query<ThresholdQuery>,
) -> ApiResult<Response> {
    let defaults = default_request(&st, q.jurisdiction);
    let req = ThresholdRequest {
        years: q.year,
        races: q.races.map_or(defaults.races.clone(), |r| r.split(',').map(|r| r.trim().to_owned()).collect()),
        reference: q.reference.unwrap_or_else(|| defaults.reference.clone()),
        districts: q.districts.unwrap_or(defaults.districts),
        draws: q.draws.map(|d| d as u64),
        seed: q.seed.map(|s| s as u64),
        ..defaults
    };
    let fit = threshold_fit(&st, req).await?;
    let value = serde_json::to_value(&fit.1).map_err(|e| ApiError::internal("json", e))?;
    Ok(with_basis(Json(value).into_response(), &fit.0))
}

/// The test with the API's defaults (the page shows it).
pub(super) fn default_request(st: &AppState, jurisdiction: String) -> ThresholdRequest {
    ThresholdRequest {
        jurisdiction,
        years: None,
        races: ["black", "hispanic", "white"].map(str::to_owned).to_vec(),
        reference: "white".into(),
        districts: true,
        draws: None,
        seed: None,
        suppression_threshold: st.0.metrics_cfg.suppression_threshold,
    }
}

/// A threshold test, computed once per write whichever asks first (the JSON or the page). A test takes both
/// cores for seconds to a minute, so one is computed at a time: another meanwhile is refused (429), and the
/// permit travels with the computation, so a request that times out cannot free it while its sampler runs.
pub(super) async fn threshold_fit(
    st: &AppState,
    req: ThresholdRequest,
) -> ApiResult<std::sync::Arc<(crate::state::Basis, ThresholdResult)>> {
    let key = format!(
        "threshold\u{1f}{}\u{1f}{:?}\u{1f}{:?}\u{1f}{}\u{1f}{}\u{1f}{:?}\u{1f}{:?}",
        req.jurisdiction, req.years, req.races, req.reference, req.districts, req.draws, req.seed
    );
    st.memo(key, || async {
        let permit = st.0.samplers.clone().try_acquire_owned().map_err(|_| {
            ApiError::new(
                ErrorCode::TooManyRequests,
                "another threshold test is being computed (one at a time): retry in a minute",
            )
        })?;
        st.read_basis(move |s| {
            let _running = permit;
            Ok(oversight_metrics::analysis::threshold(s, &req)?)
        })
        .await
    })
    .await
}
