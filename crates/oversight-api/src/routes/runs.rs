//! Indicator runs and what they found: a recompute on demand (analyst) and the data-quality notes.

use crate::auth::{Analyst, Reader};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::query::Query;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde_json::json;

/// What a recompute covers (none: what imports since the last run touched).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ComputeQuery {
    /// Only this indicator.
    indicator: Option<String>,
    /// Only this jurisdiction.
    jurisdiction: Option<String>,
    /// Recompute everything from this date (YYYY-MM-DD) on.
    #[serde(default, deserialize_with = "crate::query::date")]
    since: Option<NaiveDate>,
    /// Recompute everything.
    #[serde(default)]
    full: bool,
}

/// Computes the indicators into the metric store (analyst), as `oversight compute` does.
#[utoipa::path(post, path = "/v1/compute", tag = "admin", params(ComputeQuery), security(("api_key" = [])),
    responses((status = 200, description = "What the run did (`run` null when there was nothing to do)", body = Object, example = json!({"run": {"id": 4, "points_written": 1200}, "message": "computed", "work": [], "points_written": 1200, "notes": []})),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn compute(
    State(st): State<AppState>,
    Analyst(caller): Analyst,
    Query(q): Query<ComputeQuery>,
) -> ApiResult<Response> {
    let params = json!({"indicator": q.indicator, "jurisdiction": q.jurisdiction, "since": q.since, "full": q.full});
    let req = oversight_metrics::ComputeRequest {
        indicator: q.indicator,
        jurisdiction: q.jurisdiction,
        since: q.since,
        full: q.full,
        cube: None,
    };
    let cfg = st.0.metrics_cfg.clone();
    let st2 = st.clone();
    let report = st
        .write(move |s| {
            let t = std::time::Instant::now();
            let r = oversight_metrics::compute(s, &cfg, &req)?;
            st2.0.stats.job("compute", t.elapsed().as_secs_f64());
            Ok(r)
        })
        .await?;
    st.audit(&caller, "POST", "/v1/compute", params, 200, Some(report.points_written)).await;
    Ok(Json(report).into_response())
}

/// Data-quality notes from the last runs.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct QualityQuery {
    /// Only this jurisdiction's.
    jurisdiction: Option<String>,
}

/// Data-quality notes the indicator runs found (missing race, implausible dates, gaps, …).
#[utoipa::path(get, path = "/v1/quality", tag = "data", params(QualityQuery),
    responses((status = 200, body = Vec<Object>, example = json!([{"dataset": "stops", "jurisdiction_id": "demo-city", "code": "race_missing", "message": "4.1% of stops have no race", "value": 0.041}])),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn quality(
    State(st): State<AppState>,
    _: Reader,
    Query(q): Query<QualityQuery>,
) -> ApiResult<Response> {
    let notes = st
        .read(move |s| {
            if let Some(j) = &q.jurisdiction
                && s.jurisdiction(j)?.is_none()
            {
                return Err(ApiError::not_found("jurisdiction", j));
            }
            Ok(s.quality_notes(q.jurisdiction.as_deref())?)
        })
        .await?;
    Ok(Json(notes).into_response())
}
