//! Indicators: the catalogue with each one's methodology, and their series (JSON or CSV), cached by request
//! until the next write.

use super::shared::{AcceptsCsv, NoParams};
use crate::auth::Reader;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::query::{Query, range};
use crate::state::{AppState, Cached};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use oversight_core::Grain;
use oversight_metrics::published::{PublishedPoint, write_series_csv};
use serde::Serialize;
use utoipa::ToSchema;

/// An indicator's methodology.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "stops.search_rate", "title": "Search rate", "dataset": "stops", "kind": "proportion",
    "unit": "share of stops", "definition": "Share of stops with a search, among stops whose search status is recorded.",
    "formula": "searches / stops with search recorded", "ci_method": "wilson", "groups": ["all", "race", "sex", "age"],
    "suppression_rule": "counts from 1 to 10 are withheld, with complementary suppression", "sources": ["stops"],
    "caveats": ["Race/ethnicity is as the source recorded it."]}))]
pub struct IndicatorDoc {
    pub id: String,
    pub title: String,
    pub dataset: String,
    pub kind: String,
    pub unit: String,
    pub definition: String,
    pub formula: String,
    pub ci_method: Option<String>,
    pub groups: Vec<String>,
    pub suppression_rule: String,
    pub sources: Vec<String>,
    pub caveats: Vec<String>,
}

fn doc(i: &oversight_metrics::Indicator, threshold: u32) -> IndicatorDoc {
    let mut groups = vec!["all".to_owned()];
    groups.extend(i.groups.iter().map(|g| g.to_string()));
    IndicatorDoc {
        id: i.id.as_str().into(),
        title: i.title.into(),
        dataset: i.dataset.into(),
        kind: serde_json::to_value(i.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
        unit: i.unit.into(),
        definition: i.definition.into(),
        formula: i.formula.into(),
        ci_method: i.ci_method.map(str::to_owned),
        groups,
        suppression_rule: format!(
            "counts from 1 to {} (and rates whose numerator or denominator is one) are withheld, with complementary \
             suppression so a withheld cell cannot be recovered from a total",
            threshold.saturating_sub(1)
        ),
        sources: vec![format!("{} records imported into Oversight (see /v1/imports and /v1/datasets)", i.dataset)],
        caveats: i.caveats.iter().map(|c| c.to_string()).collect(),
    }
}

/// The indicator catalogue.
#[utoipa::path(get, path = "/v1/indicators", tag = "indicators", params(NoParams),
    responses((status = 200, description = "Every indicator", body = Vec<IndicatorDoc>, example = json!([{"id": "stops.search_rate", "title": "Search rate", "dataset": "stops",
        "kind": "proportion", "unit": "share of stops", "definition": "Share of stops with a search, among stops whose search status is recorded.",
        "formula": "searches / stops with search recorded", "ci_method": "wilson", "groups": ["all", "race", "sex", "age"],
        "suppression_rule": "counts from 1 to 10 are withheld, with complementary suppression", "sources": ["stops"], "caveats": []}])),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn indicators(State(st): State<AppState>, _: Reader, _: Query<NoParams>) -> Json<Vec<IndicatorDoc>> {
    let t = st.0.metrics_cfg.suppression_threshold;
    Json(oversight_metrics::CATALOG.iter().map(|i| doc(i, t)).collect())
}

/// One indicator's full methodology.
#[utoipa::path(get, path = "/v1/indicators/{id}", tag = "indicators", params(("id" = String, Path, description = "e.g. stops.search_rate"), NoParams),
    responses((status = 200, body = IndicatorDoc), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn indicator(
    State(st): State<AppState>,
    _: Reader,
    Path(id): Path<String>,
    _: Query<NoParams>,
) -> ApiResult<Json<IndicatorDoc>> {
    let i = oversight_metrics::indicator(&id).ok_or_else(|| ApiError::not_found("indicator", &id))?;
    Ok(Json(doc(i, st.0.metrics_cfg.suppression_threshold)))
}

/// The parameters of a series.
#[derive(Debug, Clone, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct SeriesQuery {
    /// The jurisdiction's id, e.g. demo-city.
    jurisdiction: String,
    /// Period length (default month).
    #[serde(default)]
    #[param(inline)]
    grain: Option<Grain>,
    /// First period start to include.
    #[serde(default, deserialize_with = "crate::query::date")]
    from: Option<NaiveDate>,
    /// Last period start to include.
    #[serde(default, deserialize_with = "crate::query::date")]
    to: Option<NaiveDate>,
    /// all, or dimension:value such as race:black, or several separated by commas; default every group (the
    /// chart: all).
    group: Option<String>,
}

/// An indicator's points, JSON or CSV (`Accept: text/csv` or the `.csv` path).
#[utoipa::path(get, path = "/v1/indicators/{id}/series", tag = "indicators",
    params(("id" = String, Path), SeriesQuery),
    responses((status = 200, body = Vec<PublishedPoint>, example = json!([{"period_start": "2019-01-01", "period": "2019-01", "group": "race:black",
        "numerator": 52.0, "denominator": 510.0, "value": 0.102, "ci_low": 0.078, "ci_high": 0.131, "ci_method": "wilson", "reference_group": null,
        "suppressed": false, "suppression_reason": null, "low_reliability": false, "note": null, "run_id": 1}])),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn series(
    State(st): State<AppState>,
    _: Reader,
    AcceptsCsv(csv): AcceptsCsv,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    series_cached(st, id, query, if csv { Shape::Csv } else { Shape::Json }).await
}

/// The same series as CSV.
#[utoipa::path(get, path = "/v1/indicators/{id}/series.csv", tag = "indicators",
    params(("id" = String, Path), SeriesQuery),
    responses((status = 200, description = "CSV", content_type = "text/csv", body = String,
        example = "period,group,numerator,denominator,value,ci_low,ci_high,ci_method,suppressed,suppression_reason,low_reliability,note\n2019-01,race:black,52,510,0.102,0.078,0.131,wilson,false,,false,\n"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn series_csv(
    State(st): State<AppState>,
    _: Reader,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    series_cached(st, id, query, Shape::Csv).await
}

/// The same series as a chart: a line per group with its 95% interval as a band, withheld periods as shaded
/// gaps, low-reliability points hollow, the jurisdiction's policy events as labelled dashed lines.
#[utoipa::path(get, path = "/v1/indicators/{id}/series.svg", tag = "indicators",
    params(("id" = String, Path), SeriesQuery),
    responses((status = 200, description = "SVG", content_type = "image/svg+xml", body = String,
        example = "<svg width=\"760\" height=\"380\" viewBox=\"0 0 760 380\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\"><title>Search rate, Demo City</title><desc>…</desc>…</svg>"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn series_svg(
    State(st): State<AppState>,
    _: Reader,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    series_cached(st, id, query, Shape::Svg).await
}

/// What a series is rendered as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Json,
    Csv,
    Svg,
}

/// Series change only when a write happens (imports, computes: all through this server), so rendered
/// responses are cached by request until the next write. The key is the request as sent: a query string
/// in the cache was parsed and accepted before, so a hit skips the parsing (a miss parses it, with the same
/// errors as every endpoint's [`Query`]).
async fn series_cached(st: AppState, id: String, query: Option<String>, shape: Shape) -> ApiResult<Response> {
    let query = query.unwrap_or_default();
    let mut key = String::with_capacity(16 + id.len() + query.len());
    let name = match shape {
        Shape::Json => "series",
        Shape::Csv => "series.csv",
        Shape::Svg => "series.svg",
    };
    for part in [name, &id, &query] {
        key.push_str(part);
        key.push('\u{1f}');
    }
    if let Some(c) = st.cached(&key) {
        return Ok(cached_response(c));
    }
    let q: SeriesQuery = crate::query::parse(Some(&query))?;
    let generation = st.generation();
    let c = {
        let _permit = st.0.renders.acquire().await.map_err(|e| ApiError::internal("render permit", e))?;
        // Another request may have rendered it while this one waited.
        if let Some(c) = st.cached(&key) {
            return Ok(cached_response(c));
        }
        render_series(&st, &id, q, shape).await?
    };
    st.cache(key, generation, c.clone());
    Ok(cached_response(c))
}

fn cached_response(c: Cached) -> Response {
    let mut r = Body::from(c.body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(c.content_type));
    if let Some(f) = c.filename
        && let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{f}\""))
    {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    if let Some(b) = &c.basis {
        b.headers(r.headers_mut());
    }
    r
}

async fn render_series(st: &AppState, id: &str, q: SeriesQuery, shape: Shape) -> ApiResult<Cached> {
    let ind = oversight_metrics::indicator(id).ok_or_else(|| ApiError::not_found("indicator", id))?;
    let grain = q.grain.unwrap_or(Grain::Month);
    let (from, to) = range(q.from, q.to)?;
    // One group, or several separated by commas.
    let groups: Vec<&str> = q.group.as_deref().map(|g| g.split(',').map(str::trim).collect()).unwrap_or_default();
    for g in &groups {
        ind.check_group(g).map_err(|why| ApiError::param("group", why))?;
    }
    // One group: only its points are read (a chart, a dashboard's line); several or all: the whole series,
    // filtered in memory.
    let one = (groups.len() == 1).then(|| groups[0]);
    let series = st.series_points(ind.id, &q.jurisdiction, grain, one).await?;
    if series.points.is_empty() {
        let j2 = q.jurisdiction.clone();
        if st.read(move |s| Ok(s.jurisdiction(&j2)?)).await?.is_none() {
            return Err(ApiError::not_found("jurisdiction", &q.jurisdiction));
        }
    }
    let (lo, hi) = (from.unwrap_or(NaiveDate::MIN), to.unwrap_or(NaiveDate::MAX));
    let out: Vec<PublishedPoint<'_>> = series
        .points
        .iter()
        .filter(|p| (lo..=hi).contains(&p.period_start) && (groups.is_empty() || groups.contains(&p.group.as_str())))
        .map(|p| PublishedPoint::new(p, grain))
        .collect();
    let basis = Some(series.basis.clone());
    if shape == Shape::Svg {
        // A chart of every group of every dimension is unreadable: without groups it draws `all`.
        let out: Vec<PublishedPoint<'_>> =
            if groups.is_empty() { out.into_iter().filter(|p| p.group == "all").collect() } else { out };
        let body = super::charts::series_chart(st, ind, &q.jurisdiction, grain, &out, &series.basis).await?;
        return Ok(Cached { body: body.into(), content_type: "image/svg+xml", filename: None, basis });
    }
    if shape == Shape::Json {
        // Sized up front: growing the buffer while writing cost a fifth of an uncached request.
        let mut body = Vec::with_capacity(2 + out.len() * 400);
        serde_json::to_writer(&mut body, &out).map_err(|e| ApiError::internal("json", e))?;
        return Ok(Cached { body: body.into(), content_type: "application/json", filename: None, basis });
    }
    let mut body = Vec::with_capacity(64 + out.len() * 120);
    write_series_csv(&mut body, &out).map_err(|e| ApiError::internal("csv", e))?;
    let filename = Some(format!("{id}-{}-{}.csv", q.jurisdiction, grain.as_str()));
    Ok(Cached { body: body.into(), content_type: "text/csv; charset=utf-8", filename, basis })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A point is written with its numbers withheld exactly when the store's mask withholds them, suppressed or not.
    #[test]
    fn a_point_is_written_as_documented() {
        for suppressed in [false, true] {
            let row = oversight_store::PointRow {
                indicator: "stops.search_rate".into(),
                jurisdiction_id: "x".into(),
                grain: "month".into(),
                period_start: NaiveDate::from_ymd_opt(2020, 3, 1).unwrap(),
                group: "race:black".into(),
                numerator: Some(5.0),
                denominator: Some(50.0),
                value: Some(0.1),
                ci_low: Some(0.05),
                ci_high: Some(0.2),
                ci_method: Some("wilson".into()),
                reference_group: Some("race:white".into()),
                suppressed,
                suppression_reason: suppressed.then(|| "small count".into()),
                low_reliability: true,
                note: Some("n".into()),
                run_id: 3,
                ..Default::default()
            };
            let p = oversight_metrics::suppress::mask(row.clone());
            let documented = serde_json::json!({
                "period_start": p.period_start,
                "period": oversight_core::Period { grain: Grain::Month, start: p.period_start }.label(),
                "group": p.group,
                "numerator": p.numerator,
                "denominator": p.denominator,
                "value": p.value,
                "ci_low": p.ci_low,
                "ci_high": p.ci_high,
                "ci_method": p.ci_method,
                "reference_group": p.reference_group,
                "suppressed": p.suppressed,
                "suppression_reason": p.suppression_reason,
                "low_reliability": p.low_reliability,
                "note": p.note,
                "run_id": p.run_id,
            });
            assert_eq!(serde_json::to_value(PublishedPoint::new(&row, Grain::Month)).unwrap(), documented);
        }
    }
}
