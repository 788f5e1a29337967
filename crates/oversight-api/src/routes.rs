//! Handlers: thin, each parses and checks its parameters, runs the work on the blocking pool and shapes
//! the answer. Paths and schemas are documented with utoipa.

use crate::disparities::{self, DisparityTable};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::params::{Params, encode_cursor};
use crate::state::{AppState, Role};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use oversight_core::{ErrorCode, Grain};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

/// A page of a list: items and the cursor of the next page (null on the last).
#[derive(Debug, Serialize, ToSchema)]
pub struct Page {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Value>,
    pub next_cursor: Option<String>,
}

fn page<T: Serialize>(items: Vec<T>, limit: usize, cursor_of: impl Fn(&T) -> i64) -> ApiResult<Response> {
    let next = if items.len() == limit { items.last().map(|i| encode_cursor(cursor_of(i))) } else { None };
    page_response(&items, next)
}

fn page_response<T: Serialize>(items: &[T], next_cursor: Option<String>) -> ApiResult<Response> {
    let items = items
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::internal("json", e))?;
    Ok(Json(Page { items, next_cursor }).into_response())
}

/// A CSV document: the header, then one record per row.
fn csv_bytes(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> ApiResult<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let write = || -> Result<(), csv::Error> {
        w.write_record(header)?;
        for r in rows {
            w.write_record(r)?;
        }
        w.flush()?;
        Ok(())
    };
    write().map_err(|e| ApiError::internal("csv", e))?;
    w.into_inner().map_err(|e| ApiError::internal("csv", e.into_error()))
}

fn wants_csv(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/csv"))
}

fn csv_response(body: Vec<u8>, filename: &str) -> Response {
    let mut r = Body::from(body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

fn id_param(name: &str, raw: &str) -> ApiResult<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::param(name, format!("expected a positive whole number, got {raw:?}")))
}

// ---------------------------------------------------------------- indicators

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
        id: i.id.into(),
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
#[utoipa::path(get, path = "/v1/indicators", tag = "indicators",
    responses((status = 200, description = "Every indicator", body = Vec<IndicatorDoc>, example = json!([{"id": "stops.search_rate", "title": "Search rate", "dataset": "stops",
        "kind": "proportion", "unit": "share of stops", "definition": "Share of stops with a search, among stops whose search status is recorded.",
        "formula": "searches / stops with search recorded", "ci_method": "wilson", "groups": ["all", "race", "sex", "age"],
        "suppression_rule": "counts from 1 to 10 are withheld, with complementary suppression", "sources": ["stops"], "caveats": []}])),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn indicators(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    st.authorize(&headers, None).await?;
    Params::parse(q.as_deref(), &[])?;
    let t = st.0.metrics_cfg.suppression_threshold;
    Ok(Json(oversight_metrics::CATALOG.iter().map(|i| doc(i, t)).collect::<Vec<_>>()).into_response())
}

/// One indicator's full methodology.
#[utoipa::path(get, path = "/v1/indicators/{id}", tag = "indicators", params(("id" = String, Path, description = "e.g. stops.search_rate")),
    responses((status = 200, body = IndicatorDoc), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn indicator(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    st.authorize(&headers, None).await?;
    Params::parse(q.as_deref(), &[])?;
    let i = oversight_metrics::indicator(&id).ok_or_else(|| ApiError::not_found("indicator", &id))?;
    Ok(Json(doc(i, st.0.metrics_cfg.suppression_threshold)).into_response())
}

/// A point of a series.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeriesPoint {
    pub period_start: NaiveDate,
    pub period: String,
    pub group: String,
    pub numerator: Option<f64>,
    pub denominator: Option<f64>,
    pub value: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub ci_method: Option<String>,
    pub reference_group: Option<String>,
    pub suppressed: bool,
    pub suppression_reason: Option<String>,
    pub low_reliability: bool,
    pub note: Option<String>,
    /// The metric run that wrote the point (provenance: /v1/datasets, /v1/imports).
    pub run_id: i64,
}

/// A [`SeriesPoint`] as it is written, borrowing the cached point (suppressed values withheld): the same
/// fields in the same order (a test compares the two).
#[derive(Serialize)]
struct PointOut<'a> {
    period_start: NaiveDate,
    period: String,
    group: &'a str,
    numerator: Option<f64>,
    denominator: Option<f64>,
    value: Option<f64>,
    ci_low: Option<f64>,
    ci_high: Option<f64>,
    ci_method: Option<&'a str>,
    reference_group: Option<&'a str>,
    suppressed: bool,
    suppression_reason: Option<&'a str>,
    low_reliability: bool,
    note: Option<&'a str>,
    run_id: i64,
}

impl<'a> PointOut<'a> {
    fn new(p: &'a oversight_store::PointRow, grain: Grain) -> Self {
        let shown = |v: Option<f64>| if p.suppressed { None } else { v };
        Self {
            period_start: p.period_start,
            period: oversight_core::Period { grain, start: p.period_start }.label(),
            group: &p.group,
            numerator: shown(p.numerator),
            denominator: shown(p.denominator),
            value: shown(p.value),
            ci_low: shown(p.ci_low),
            ci_high: shown(p.ci_high),
            ci_method: p.ci_method.as_deref(),
            reference_group: p.reference_group.as_deref(),
            suppressed: p.suppressed,
            suppression_reason: p.suppression_reason.as_deref(),
            low_reliability: p.low_reliability,
            note: p.note.as_deref(),
            run_id: p.run_id,
        }
    }
}

const SERIES_PARAMS: &[&str] = &["jurisdiction", "grain", "from", "to", "group"];

/// An indicator's points, JSON or CSV (`Accept: text/csv` or the `.csv` path).
#[utoipa::path(get, path = "/v1/indicators/{id}/series", tag = "indicators",
    params(("id" = String, Path), ("jurisdiction" = String, Query), ("grain" = Option<String>, Query, description = "week, month, quarter, year or all (default month)"),
        ("from" = Option<NaiveDate>, Query), ("to" = Option<NaiveDate>, Query), ("group" = Option<String>, Query, description = "all, or dimension:value such as race:black; default every group")),
    responses((status = 200, body = Vec<SeriesPoint>, example = json!([{"period_start": "2019-01-01", "period": "2019-01", "group": "race:black",
        "numerator": 52.0, "denominator": 510.0, "value": 0.102, "ci_low": 0.078, "ci_high": 0.131, "ci_method": "wilson", "reference_group": null,
        "suppressed": false, "suppression_reason": null, "low_reliability": false, "note": null, "run_id": 1}])),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn series(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let csv = wants_csv(&headers);
    series_inner(st, headers, id, q, csv).await
}

/// The same series as CSV.
#[utoipa::path(get, path = "/v1/indicators/{id}/series.csv", tag = "indicators",
    params(("id" = String, Path), ("jurisdiction" = String, Query), ("grain" = Option<String>, Query), ("from" = Option<NaiveDate>, Query), ("to" = Option<NaiveDate>, Query), ("group" = Option<String>, Query)),
    responses((status = 200, description = "CSV", content_type = "text/csv", body = String,
        example = "period,group,numerator,denominator,value,ci_low,ci_high,ci_method,suppressed,suppression_reason,low_reliability,note\n2019-01,race:black,52,510,0.102,0.078,0.131,wilson,false,,false,\n"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn series_csv(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    series_inner(st, headers, id, q, true).await
}

async fn series_inner(
    st: AppState,
    headers: HeaderMap,
    id: String,
    q: Option<String>,
    csv: bool,
) -> ApiResult<Response> {
    st.authorize(&headers, None).await?;
    // Series change only when a write happens (imports, computes: all through this server), so rendered
    // responses are cached by request until the next write.
    let key = format!("series\u{1f}{id}\u{1f}{}\u{1f}{csv}", q.as_deref().unwrap_or(""));
    if let Some(c) = st.cached(&key) {
        return Ok(cached_response(c));
    }
    let generation = st.generation();
    let c = {
        let _permit = st.0.renders.acquire().await.map_err(|e| ApiError::internal("render permit", e))?;
        // Another request may have rendered it while this one waited.
        if let Some(c) = st.cached(&key) {
            return Ok(cached_response(c));
        }
        render_series(&st, &id, q.as_deref(), csv).await?
    };
    st.cache(key, generation, c.clone());
    Ok(cached_response(c))
}

/// A response with the indicator-basis headers (which batches its indicators include).
fn with_basis(mut r: Response, basis: &crate::state::Basis) -> Response {
    basis.headers(r.headers_mut());
    r
}

fn cached_response(c: crate::state::Cached) -> Response {
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

async fn render_series(st: &AppState, id: &str, q: Option<&str>, csv: bool) -> ApiResult<crate::state::Cached> {
    let p = Params::parse(q, SERIES_PARAMS)?;
    let ind = oversight_metrics::indicator(id).ok_or_else(|| ApiError::not_found("indicator", id))?;
    let jurisdiction = p.required("jurisdiction")?.to_owned();
    let grain_s = p.str("grain")?.unwrap_or("month").to_owned();
    let grain: Grain = grain_s.parse().map_err(|_| {
        ApiError::param("grain", format!("expected week, month, quarter, year or all, got {grain_s:?}"))
    })?;
    let (from, to) = p.range()?;
    let group = p.str("group")?.map(str::to_owned);
    if let Some(g) = &group
        && g != "all"
        && !g.split_once(':').is_some_and(|(d, v)| ind.groups.contains(&d) && !v.is_empty())
    {
        return Err(ApiError::param(
            "group",
            format!(
                "{g:?}: {} is broken down by all, {}",
                ind.id,
                ind.groups.iter().map(|d| format!("{d}:…")).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    let series = st.series_points(ind.id, &jurisdiction, grain.as_str()).await?;
    let basis = Some(series.basis.clone());
    let all = &series.points;
    if all.is_empty() {
        let j2 = jurisdiction.clone();
        if st.read(move |s| Ok(s.jurisdiction(&j2)?)).await?.is_none() {
            return Err(ApiError::not_found("jurisdiction", &jurisdiction));
        }
    }
    let (lo, hi) = (from.unwrap_or(NaiveDate::MIN), to.unwrap_or(NaiveDate::MAX));
    let out: Vec<PointOut<'_>> = all
        .iter()
        .filter(|p| (lo..=hi).contains(&p.period_start) && group.as_deref().is_none_or(|g| p.group == g))
        .map(|p| PointOut::new(p, grain))
        .collect();
    if !csv {
        // Sized up front: growing the buffer while writing cost a fifth of an uncached request.
        let mut body = Vec::with_capacity(2 + out.len() * 400);
        serde_json::to_writer(&mut body, &out).map_err(|e| ApiError::internal("json", e))?;
        return Ok(crate::state::Cached { body: body.into(), content_type: "application/json", filename: None, basis });
    }
    let f = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    let body = csv_bytes(
        &[
            "period",
            "group",
            "numerator",
            "denominator",
            "value",
            "ci_low",
            "ci_high",
            "ci_method",
            "suppressed",
            "suppression_reason",
            "low_reliability",
            "note",
        ],
        out.iter().map(|p| {
            vec![
                p.period.clone(),
                p.group.to_owned(),
                f(p.numerator),
                f(p.denominator),
                f(p.value),
                f(p.ci_low),
                f(p.ci_high),
                p.ci_method.unwrap_or_default().to_owned(),
                p.suppressed.to_string(),
                p.suppression_reason.unwrap_or_default().to_owned(),
                p.low_reliability.to_string(),
                p.note.unwrap_or_default().to_owned(),
            ]
        }),
    )?;
    Ok(crate::state::Cached {
        body: body.into(),
        content_type: "text/csv; charset=utf-8",
        filename: Some(format!("{id}-{jurisdiction}-{grain_s}.csv")),
        basis,
    })
}

// ---------------------------------------------------------------- disparities

const DISPARITY_PARAMS: &[&str] = &["jurisdiction", "from", "to", "reference", "outcome"];

async fn disparity(
    st: AppState,
    headers: HeaderMap,
    q: Option<String>,
    dataset: &'static str,
    choices: &'static [&'static str],
    default: &'static str,
) -> ApiResult<Response> {
    st.authorize(&headers, None).await?;
    let p = Params::parse(q.as_deref(), DISPARITY_PARAMS)?;
    let jurisdiction = p.required("jurisdiction")?.to_owned();
    let (from, to) = p.range()?;
    let measure = p.choice("outcome", choices)?.unwrap_or(default);
    let reference = p.str("reference")?.map(str::to_owned);
    if let Some(r) = &reference
        && !r.contains(':')
    {
        return Err(ApiError::param("reference", format!("expected dimension:value such as race:white, got {r:?}")));
    }
    let csv = wants_csv(&headers);
    let st2 = st.clone();
    let (basis, table): (crate::state::Basis, DisparityTable) = st
        .read_basis(move |s| {
            disparities::table(
                s,
                &st2.0.metrics_cfg,
                &disparities::Spec {
                    dataset,
                    measure,
                    jurisdiction: &jurisdiction,
                    from,
                    to,
                    reference: reference.as_deref(),
                },
            )
        })
        .await?;
    if !csv {
        return Ok(with_basis(Json(table).into_response(), &basis));
    }
    let f = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    let body = csv_bytes(
        &[
            "group",
            "numerator",
            "denominator",
            "rate",
            "rate_ci_low",
            "rate_ci_high",
            "rate_method",
            "ratio",
            "ratio_ci_low",
            "ratio_ci_high",
            "ratio_method",
            "suppressed",
            "suppression_reason",
            "low_reliability",
        ],
        table.rows.iter().map(|r| {
            vec![
                r.group.clone(),
                f(r.numerator),
                f(r.denominator),
                f(r.rate),
                f(r.rate_ci_low),
                f(r.rate_ci_high),
                r.rate_method.clone(),
                f(r.ratio),
                f(r.ratio_ci_low),
                f(r.ratio_ci_high),
                r.ratio_method.clone().unwrap_or_default(),
                r.suppressed.to_string(),
                r.suppression_reason.clone().unwrap_or_default(),
                r.low_reliability.to_string(),
            ]
        }),
    )?;
    Ok(with_basis(csv_response(body, &format!("disparities-{dataset}-{}-{measure}.csv", table.jurisdiction)), &basis))
}

/// Stops by race: counts, rate, ratio vs reference (default the configured reference group), CI, flags.
#[utoipa::path(get, path = "/v1/disparities/stops", tag = "disparities",
    params(("jurisdiction" = String, Query), ("from" = Option<NaiveDate>, Query), ("to" = Option<NaiveDate>, Query), ("reference" = Option<String>, Query, description = "e.g. race:white"),
        ("outcome" = Option<String>, Query, description = "stop (per resident), search, arrest, citation or hit (default stop)")),
    responses((status = 200, body = DisparityTable), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn disparities_stops(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    disparity(st, headers, q, "stops", &["stop", "search", "arrest", "citation", "hit"], "stop").await
}

/// Complaints: sustain rate of allegations by complainant race.
#[utoipa::path(get, path = "/v1/disparities/complaints", tag = "disparities",
    params(("jurisdiction" = String, Query), ("from" = Option<NaiveDate>, Query), ("to" = Option<NaiveDate>, Query), ("reference" = Option<String>, Query), ("outcome" = Option<String>, Query, description = "sustain")),
    responses((status = 200, body = DisparityTable), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn disparities_complaints(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    disparity(st, headers, q, "complaints", &["sustain"], "sustain").await
}

/// Detainer requests by criminality or by outcome: counts and shares.
#[utoipa::path(get, path = "/v1/disparities/detainers", tag = "disparities",
    params(("jurisdiction" = String, Query), ("from" = Option<NaiveDate>, Query), ("to" = Option<NaiveDate>, Query), ("reference" = Option<String>, Query), ("outcome" = Option<String>, Query, description = "criminality or outcome (default criminality)")),
    responses((status = 200, body = DisparityTable), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn disparities_detainers(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    disparity(st, headers, q, "detainers", &["criminality", "outcome"], "criminality").await
}

// ---------------------------------------------------------------- jurisdictions, datasets

/// Jurisdictions (cursor pagination).
#[utoipa::path(get, path = "/v1/jurisdictions", tag = "data", params(("limit" = Option<usize>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Page, example = json!({"items": [{"id": "demo-city", "name": "Demo City", "kind": "city", "parent_id": null, "state": null, "fips": null,
        "lat": 41.88, "lng": -87.63, "timezone": "America/Chicago", "population_benchmark_id": null}], "next_cursor": null})), (status = 400, body = ErrorBody)))]
pub(crate) async fn jurisdictions(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    st.authorize(&headers, None).await?;
    let p = Params::parse(q.as_deref(), &["limit", "cursor"])?;
    let limit = p.limit()?;
    let after = p.str("cursor")?.map(decode_text_cursor).transpose()?;
    let items = st.read(move |s| Ok(s.list_jurisdictions(after.as_deref(), limit)?)).await?;
    let next = if items.len() == limit { items.last().map(|j| encode_text_cursor(&j.id)) } else { None };
    page_response(&items, next)
}

/// One jurisdiction.
#[utoipa::path(get, path = "/v1/jurisdictions/{id}", tag = "data", params(("id" = String, Path)),
    responses((status = 200, body = Object, example = json!({"id": "ct-hartford", "name": "Hartford", "kind": "city", "parent_id": null, "state": "CT", "fips": null,
        "lat": 41.7637, "lng": -72.6851, "timezone": "America/New_York", "population_benchmark_id": null})), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn jurisdiction(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    st.authorize(&headers, None).await?;
    Params::parse(q.as_deref(), &[])?;
    let id2 = id.clone();
    let j =
        st.read(move |s| Ok(s.jurisdiction(&id2)?)).await?.ok_or_else(|| ApiError::not_found("jurisdiction", &id))?;
    Ok(Json(j).into_response())
}

/// Attributes of a jurisdiction to set (absent ones stay as they are).
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"timezone": "America/New_York", "lat": 41.7637, "lng": -72.6851}))]
pub struct JurisdictionChanges {
    pub name: Option<String>,
    /// state, county, city, agency, neighborhood, district or other.
    pub kind: Option<String>,
    pub parent_id: Option<String>,
    pub state: Option<String>,
    pub fips: Option<String>,
    /// Centroid latitude (for dusk times in the veil-of-darkness test).
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    /// IANA time zone, e.g. America/New_York.
    pub timezone: Option<String>,
    /// Jurisdiction whose residents per-capita rates divide by.
    pub population_benchmark_id: Option<String>,
}

/// Sets attributes of a jurisdiction (analyst): its time zone and centroid, for instance.
#[utoipa::path(patch, path = "/v1/jurisdictions/{id}", tag = "data", params(("id" = String, Path)), request_body = JurisdictionChanges, security(("api_key" = [])),
    responses((status = 200, description = "The jurisdiction as it now is", body = Object, example = json!({"id": "ct-hartford", "name": "Hartford", "kind": "city",
        "parent_id": null, "state": null, "fips": null, "lat": 41.7637, "lng": -72.6851, "timezone": "America/New_York", "population_benchmark_id": null})),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub(crate) async fn jurisdiction_patch(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    body: Body,
) -> ApiResult<Response> {
    let caller = st.authorize(&headers, Some(Role::Analyst)).await?;
    Params::parse(q.as_deref(), &[])?;
    let body = read_body(&st, body).await?;
    let c: JurisdictionChanges = serde_json::from_slice(&body)
        .map_err(|e| ApiError::param("body", format!("not a set of jurisdiction attributes: {e}")))?;
    let params = json!({"id": id, "changes": serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null)});
    let patch = oversight_store::JurisdictionPatch {
        name: c.name,
        kind: c.kind,
        parent_id: c.parent_id,
        state: c.state,
        fips: c.fips,
        lat: c.lat,
        lng: c.lng,
        timezone: c.timezone,
        population_benchmark_id: c.population_benchmark_id,
    };
    patch.check().map_err(|(field, msg)| ApiError::param(field, msg))?;
    let id2 = id.clone();
    let j = st.write(move |s| Ok(s.update_jurisdiction(&id2, &patch)?)).await?;
    st.audit(&caller, "PATCH", "/v1/jurisdictions/{id}", params, 200, Some(1)).await;
    Ok(Json(j).into_response())
}

/// A request body, at most `api.max_body_bytes` (413 with the common error body past it).
async fn read_body(st: &AppState, body: Body) -> ApiResult<Bytes> {
    let max = st.cfg().max_body_bytes;
    axum::body::to_bytes(body, max).await.map_err(|_| {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the body is larger than {max} bytes (api.max_body_bytes) or was cut off"),
        )
    })
}

fn encode_text_cursor(s: &str) -> String {
    format!("j{}", hex::encode(s))
}

fn decode_text_cursor(c: &str) -> ApiResult<String> {
    c.strip_prefix('j')
        .and_then(|h| hex::decode(h).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| ApiError::param("cursor", "not a cursor this API returned"))
}

/// Per dataset: rows, date coverage, imports, rejects and data-quality notes.
#[utoipa::path(get, path = "/v1/datasets", tag = "data",
    responses((status = 200, body = Vec<Object>, example = json!([{"dataset": "stops", "rows": 18435, "date_min": "2013-10-01", "date_max": "2016-09-29",
        "batches": 1, "rows_read": 18439, "rows_rejected": 4, "last_import": "2026-11-22T05:00:00", "quality_notes": 2}])), (status = 400, body = ErrorBody)))]
pub(crate) async fn datasets(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    st.authorize(&headers, None).await?;
    Params::parse(q.as_deref(), &[])?;
    let (basis, out) = st
        .read_basis(|s| {
            let notes = s.quality_notes(None)?;
            Ok(s.dataset_summaries()?
                .into_iter()
                .map(|d| {
                    let cube_name = d.dataset.replace('-', "_");
                    let n = notes.iter().filter(|q| q.dataset == d.dataset || q.dataset == cube_name).count();
                    let mut v = serde_json::to_value(&d).unwrap_or(Value::Null);
                    v["quality_notes"] = json!(n);
                    v
                })
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(with_basis(Json(out).into_response(), &basis))
}

// ---------------------------------------------------------------- policy events and analyses

/// Policy events (cursor pagination; optionally of one jurisdiction).
#[utoipa::path(get, path = "/v1/policy-events", tag = "policy", params(("jurisdiction" = Option<String>, Query), ("limit" = Option<usize>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Page, example = json!({"items": [{"id": 1, "jurisdiction_id": "demo-city", "effective_date": "2019-01-01", "kind": "287g_jail_model",
        "title": "287(g) agreement signed", "source": "https://www.ice.gov/287g", "agency": "Sheriff", "batch_id": 2}], "next_cursor": null})), (status = 400, body = ErrorBody)))]
pub(crate) async fn events_list(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    st.authorize(&headers, None).await?;
    let p = Params::parse(q.as_deref(), &["jurisdiction", "limit", "cursor"])?;
    let (limit, after, j) = (p.limit()?, p.cursor()?, p.str("jurisdiction")?.map(str::to_owned));
    let items = st.read(move |s| Ok(s.policy_events(j.as_deref(), after, limit)?)).await?;
    page(items, limit, |e| e.id)
}

/// A policy event to add.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"jurisdiction_id": "demo-city", "effective_date": "2021-07-01", "kind": "sanctuary_policy", "title": "Welcoming city ordinance", "source": "Ordinance 2021-7"}))]
pub struct NewEvent {
    pub jurisdiction_id: String,
    pub effective_date: NaiveDate,
    /// 287g_jail_model, 287g_task_force, 287g_warrant_service_officer, detainer_policy, sanctuary_policy, state_law, mou, training or other.
    pub kind: String,
    pub title: String,
    pub source: Option<String>,
    pub agency: Option<String>,
}

/// Adds a policy event (analyst).
#[utoipa::path(post, path = "/v1/policy-events", tag = "policy", request_body = NewEvent, security(("api_key" = [])),
    responses((status = 201, body = Object, example = json!({"id": 3, "jurisdiction_id": "demo-city", "effective_date": "2021-07-01", "kind": "sanctuary_policy",
        "title": "Welcoming city ordinance", "source": "Ordinance 2021-7", "agency": null, "batch_id": null})),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn events_add(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Body,
) -> ApiResult<Response> {
    let caller = st.authorize(&headers, Some(Role::Analyst)).await?;
    Params::parse(q.as_deref(), &[])?;
    let body = read_body(&st, body).await?;
    let e: NewEvent =
        serde_json::from_slice(&body).map_err(|e| ApiError::param("body", format!("not a policy event: {e}")))?;
    use oversight_core::CodeList as _;
    let kind: oversight_core::PolicyKind =
        e.kind.parse().map_err(|_| ApiError::param("kind", format!("{:?} is not a policy kind", e.kind)))?;
    let new = oversight_store::NewPolicyEvent {
        jurisdiction_id: e.jurisdiction_id,
        effective_date: e.effective_date,
        kind: kind.as_str().to_owned(),
        title: e.title,
        source: e.source,
        agency: e.agency,
    };
    let params = serde_json::to_value(json!({"jurisdiction_id": new.jurisdiction_id, "effective_date": new.effective_date, "kind": new.kind, "title": new.title})).unwrap_or(Value::Null);
    let added = st.write(move |s| Ok(s.add_policy_event(&new)?)).await?;
    st.audit(&caller, "POST", "/v1/policy-events", params, 201, Some(1)).await;
    Ok((StatusCode::CREATED, Json(added)).into_response())
}

/// Removes an event added by hand (analyst); imported events change by re-importing their file.
#[utoipa::path(delete, path = "/v1/policy-events/{id}", tag = "policy", params(("id" = i64, Path)), security(("api_key" = [])),
    responses((status = 200, description = "The removed event", body = Object, example = json!({"id": 3, "jurisdiction_id": "demo-city", "effective_date": "2021-07-01",
        "kind": "sanctuary_policy", "title": "Welcoming city ordinance", "source": null, "agency": null, "batch_id": null})),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn events_remove(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let caller = st.authorize(&headers, Some(Role::Analyst)).await?;
    Params::parse(q.as_deref(), &[])?;
    let id = id_param("id", &id)?;
    let removed = st.write(move |s| Ok(s.remove_policy_event(id)?)).await?;
    st.audit(&caller, "DELETE", "/v1/policy-events/{id}", json!({"id": id}), 200, Some(1)).await;
    Ok(Json(removed).into_response())
}

const IMPACT_PARAMS: &[&str] = &["indicator", "group", "model", "fit", "reference", "jurisdiction", "grain", "maxlags"];

/// Interrupted time series or difference in differences of an indicator around the event.
#[utoipa::path(get, path = "/v1/policy-events/{id}/impact", tag = "policy",
    params(("id" = i64, Path), ("indicator" = String, Query), ("group" = Option<String>, Query, description = "e.g. race:hispanic (required for did)"),
        ("model" = Option<String>, Query, description = "its (default) or did"), ("fit" = Option<String>, Query, description = "its: poisson (default) or ols"),
        ("reference" = Option<String>, Query, description = "did: the comparison group (default everyone else)"), ("jurisdiction" = Option<String>, Query),
        ("grain" = Option<String>, Query, description = "month (default), quarter or year"), ("maxlags" = Option<usize>, Query)),
    responses((status = 200, description = "The fit, as `oversight analyze its|did --json` prints it", body = Object, example = json!({"indicator": "crime_reports.count", "model": "poisson-glm", "n": 60,
        "level_change": {"estimate": -0.24, "se": 0.07, "ci_low": -0.38, "ci_high": -0.10, "p_value": 0.0006, "ratio": 0.78, "ratio_ci_low": 0.68, "ratio_ci_high": 0.90}})),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn impact(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    st.authorize(&headers, None).await?;
    let p = Params::parse(q.as_deref(), IMPACT_PARAMS)?;
    let event_id = id_param("id", &id)?;
    let indicator = p.required("indicator")?.to_owned();
    if oversight_metrics::indicator(&indicator).is_none() {
        return Err(ApiError::param("indicator", format!("{indicator:?}: no such indicator")));
    }
    let model = p.choice("model", &["its", "did"])?.unwrap_or("its");
    let fit = p.choice("fit", &["poisson", "ols"])?.unwrap_or("poisson");
    let grain_s = p.choice("grain", &["month", "quarter", "year"])?.unwrap_or("month");
    let grain: Grain = grain_s.parse().map_err(|_| ApiError::param("grain", "bad grain"))?;
    let group = p.str("group")?.map(str::to_owned);
    let reference = p.str("reference")?.map(str::to_owned);
    let jurisdiction = p.str("jurisdiction")?.map(str::to_owned);
    let mut cfg = st.0.analysis_cfg.clone();
    if let Some(l) = p.int("maxlags", 0, 24)? {
        cfg.hac_maxlags = Some(l as usize);
    }
    let (basis, value) = st
        .read_basis(move |s| {
            if s.policy_event(event_id)?.is_none() {
                return Err(ApiError::not_found("policy event", event_id));
            }
            let v = if model == "its" {
                let req = oversight_metrics::analysis::ItsRequest {
                    indicator,
                    event_id,
                    jurisdiction,
                    group,
                    model: fit.parse().map_err(|_| ApiError::param("fit", "expected poisson or ols"))?,
                    grain,
                };
                serde_json::to_value(oversight_metrics::analysis::its(s, &req, &cfg)?)
            } else {
                let group = group.ok_or_else(|| ApiError::param("group", "required for did (e.g. race:hispanic)"))?;
                let req = oversight_metrics::analysis::DidRequest {
                    indicator,
                    event_id,
                    jurisdiction,
                    group,
                    reference,
                    grain,
                };
                serde_json::to_value(oversight_metrics::analysis::did(s, &req, &cfg)?)
            };
            v.map_err(|e| ApiError::internal("json", e))
        })
        .await?;
    Ok(with_basis(Json(value).into_response(), &basis))
}

/// The veil-of-darkness test on a jurisdiction's stops.
#[utoipa::path(get, path = "/v1/veil-of-darkness", tag = "policy",
    params(("jurisdiction" = String, Query), ("year" = String, Query, description = "2018, or a range 2016-2020"), ("group" = Option<String>, Query, description = "default black"),
        ("reference" = Option<String>, Query, description = "default white"), ("df" = Option<usize>, Query, description = "spline degrees of freedom, 1–10 (default 6)")),
    responses((status = 200, description = "As `oversight analyze vod --json` prints it", body = Object, example = json!({"jurisdiction": "ct-hartford", "year": 2014, "to_year": 2014,
        "dark": {"spline_df": 6, "estimate": 0.13, "se": 0.24, "odds_ratio": 1.14, "ci_low": 0.71, "ci_high": 1.84, "p_value": 0.59, "n": 750}})),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn vod(State(st): State<AppState>, headers: HeaderMap, RawQuery(q): RawQuery) -> ApiResult<Response> {
    st.authorize(&headers, None).await?;
    let p = Params::parse(q.as_deref(), &["jurisdiction", "year", "group", "reference", "df"])?;
    let jurisdiction = p.required("jurisdiction")?.to_owned();
    let year_s = p.required("year")?;
    let (year, to_year) = parse_years(year_s).ok_or_else(|| {
        ApiError::param("year", format!("expected a year (2018) or a range (2016-2020), got {year_s:?}"))
    })?;
    let group = p.str("group")?.unwrap_or("black").to_owned();
    let reference = p.str("reference")?.unwrap_or("white").to_owned();
    let df = p.int("df", 1, 10)?.map(|d| d as usize);
    let cfg = st.0.analysis_cfg.clone();
    let (basis, value) = st
        .read_basis(move |s| {
            let req = oversight_metrics::analysis::VodRequest {
                jurisdiction,
                year,
                to_year,
                group,
                reference,
                spline_df: df,
                districts: true,
            };
            serde_json::to_value(oversight_metrics::analysis::vod(s, &req, &cfg)?)
                .map_err(|e| ApiError::internal("json", e))
        })
        .await?;
    Ok(with_basis(Json(value).into_response(), &basis))
}

fn parse_years(s: &str) -> Option<(i32, i32)> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let (a, b): (i32, i32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    ((1900..=2200).contains(&a) && (a..=2200).contains(&b)).then_some((a, b))
}

// ---------------------------------------------------------------- imports

/// Import batches, newest first (cursor pagination).
#[utoipa::path(get, path = "/v1/imports", tag = "imports", params(("limit" = Option<usize>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Page, example = json!({"items": [{"id": 3, "dataset": "stops", "profile": "opp", "files": [{"role": "main", "name": "ct_hartford_2020_04_01.csv", "sha256": "5e1f…", "bytes": 4719023}],
        "rows_read": 18439, "rows_accepted": 18435, "rows_rejected": 4, "status": "committed", "origin": "cli"}], "next_cursor": "c3"})), (status = 400, body = ErrorBody)))]
pub(crate) async fn imports_list(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    st.authorize(&headers, None).await?;
    let p = Params::parse(q.as_deref(), &["limit", "cursor"])?;
    let (limit, before) = (p.limit()?, p.cursor()?);
    let items = st.read(move |s| Ok(s.list_batches(before, limit)?)).await?;
    page(items, limit, |b| b.id)
}

/// One import batch.
#[utoipa::path(get, path = "/v1/imports/{id}", tag = "imports", params(("id" = i64, Path, description = "the batch id")),
    responses((status = 200, body = Object, example = json!({"id": 1, "dataset": "stops", "profile": "canonical", "rows_read": 19001, "rows_accepted": 19001, "rows_rejected": 0, "status": "committed"})),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn import_get(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(batch): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    st.authorize(&headers, None).await?;
    Params::parse(q.as_deref(), &[])?;
    let id = id_param("batch", &batch)?;
    let b = st.read(move |s| Ok(s.batch(id)?)).await?;
    Ok(Json(b).into_response())
}

/// A batch's rejected rows: file, line, column, value and reason (analyst: values may hold personal data).
#[utoipa::path(get, path = "/v1/imports/{batch}/rejects", tag = "imports", params(("batch" = i64, Path), ("limit" = Option<usize>, Query), ("cursor" = Option<String>, Query)), security(("api_key" = [])),
    responses((status = 200, body = Page, example = json!({"items": [{"batch_id": 1, "seq": 1, "file": "stops.csv", "line": 7, "column": "date", "value": "", "reason": "a stop needs a date"}], "next_cursor": null})),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn import_rejects(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(batch): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    st.authorize(&headers, Some(Role::Analyst)).await?;
    let p = Params::parse(q.as_deref(), &["limit", "cursor"])?;
    let id = id_param("batch", &batch)?;
    let (limit, after) = (p.limit()?, p.cursor()?);
    let csv = wants_csv(&headers);
    let rows = st
        .read(move |s| {
            s.batch(id)?;
            Ok(s.rejects(id, after, limit)?)
        })
        .await?;
    if !csv {
        return page(rows, limit, |r| r.seq);
    }
    let body = csv_bytes(
        &["batch_id", "file", "line", "column", "value", "reason"],
        rows.iter().map(|r| {
            vec![
                r.batch_id.to_string(),
                r.file.clone(),
                r.line.to_string(),
                r.column.clone().unwrap_or_default(),
                r.value.clone().unwrap_or_default(),
                r.reason.clone(),
            ]
        }),
    )?;
    Ok(csv_response(body, &format!("rejects-batch-{id}.csv")))
}

/// The audit log (admin): every write and extract.
#[utoipa::path(get, path = "/v1/audit", tag = "admin", params(("limit" = Option<usize>, Query), ("cursor" = Option<String>, Query)), security(("api_key" = [])),
    responses((status = 200, body = Page, example = json!({"items": [{"id": 1, "logged_at": "2026-11-22T06:00:00", "key_name": "analyst-1", "method": "POST", "endpoint": "/v1/imports/{dataset}", "parameters": "{}", "status": 201, "rows": 100}], "next_cursor": null})),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn audit(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    st.authorize(&headers, Some(Role::Admin)).await?;
    let p = Params::parse(q.as_deref(), &["limit", "cursor"])?;
    let (limit, before) = (p.limit()?, p.cursor()?);
    let rows = st.read(move |s| Ok(s.audit_log(before, limit)?)).await?;
    page(rows, limit, |a| a.id)
}

/// Record-level extract: CSV streamed in constant memory, or Parquet; personal identifiers never included.
/// Provenance (source batches, filters) is in the `X-Oversight-Source-Batches` and `X-Oversight-Filters` headers.
#[utoipa::path(get, path = "/v1/extracts/{dataset}", tag = "extracts",
    params(("dataset" = String, Path, description = "stops, detainers, crime-reports, complaints, policy-events or populations"), ("jurisdiction" = Option<String>, Query),
        ("from" = Option<NaiveDate>, Query), ("to" = Option<NaiveDate>, Query), ("columns" = Option<String>, Query, description = "comma-separated public columns"),
        ("format" = Option<String>, Query, description = "csv (default) or parquet")),
    responses((status = 200, description = "CSV (or Parquet)", content_type = "text/csv", body = String, example = "batch_id,source_row,jurisdiction_id,date\n1,2,demo-city,2016-01-01\n"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn extract(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(dataset): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let caller = st.authorize(&headers, None).await?;
    crate::extracts::extract(st, caller, &dataset, q.as_deref()).await
}

/// Scheduled imports: last run, outcome, next run, last error.
#[utoipa::path(get, path = "/v1/schedules", tag = "schedules",
    responses((status = 200, body = Vec<crate::schedule::ScheduleStatus>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn schedules(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    st.authorize(&headers, None).await?;
    Params::parse(q.as_deref(), &[])?;
    let names: Vec<String> = st.0.schedules.iter().map(|s| s.cfg.name.clone()).collect();
    let lasts =
        st.read(move |s| names.iter().map(|n| Ok(s.last_schedule_run(n)?)).collect::<ApiResult<Vec<_>>>()).await?;
    let out: Vec<_> = st.0.schedules.iter().zip(lasts).map(|(s, l)| crate::schedule::status(s, l)).collect();
    Ok(Json(out).into_response())
}

/// Runs a schedule now (analyst) and returns the run; 409 while it is already running.
#[utoipa::path(post, path = "/v1/schedules/{name}/run", tag = "schedules", params(("name" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "The run, whatever its outcome (ok, partial, failed)", body = Object, example = json!({"id": 5, "schedule": "nightly-stops", "trigger": "manual",
        "started_at": "2026-11-22T07:10:00", "finished_at": "2026-11-22T07:10:02", "outcome": "ok", "files_imported": 1, "files_skipped": 3, "files_failed": 0,
        "rows_accepted": 1200, "batches": [10], "error": null})),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn schedule_run(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let caller = st.authorize(&headers, Some(Role::Analyst)).await?;
    Params::parse(q.as_deref(), &[])?;
    let i =
        st.0.schedules.iter().position(|s| s.cfg.name == name).ok_or_else(|| ApiError::not_found("schedule", &name))?;
    let run = crate::schedule::run_now(&st, i, "manual").await?;
    st.audit(&caller, "POST", "/v1/schedules/{name}/run", json!({"name": name}), 200, Some(run.rows_accepted)).await;
    Ok(Json(run).into_response())
}

/// The sidecar of an extract: its file name, filters, columns, what is withheld, and the source batches.
#[utoipa::path(get, path = "/v1/extracts/{dataset}/manifest", tag = "extracts",
    params(("dataset" = String, Path), ("jurisdiction" = Option<String>, Query), ("from" = Option<NaiveDate>, Query), ("to" = Option<NaiveDate>, Query),
        ("columns" = Option<String>, Query), ("format" = Option<String>, Query)),
    responses((status = 200, body = crate::extracts::ExtractManifest), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn extract_manifest(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(dataset): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    st.authorize(&headers, None).await?;
    crate::extracts::manifest(st, &dataset, q.as_deref()).await
}

/// Fallback: unknown paths get the common error body.
pub(crate) async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such endpoint (see /openapi.json)")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented point and the one written agree field for field, suppressed or not.
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
            let documented = SeriesPoint {
                period: oversight_core::Period { grain: Grain::Month, start: p.period_start }.label(),
                period_start: p.period_start,
                group: p.group,
                numerator: p.numerator,
                denominator: p.denominator,
                value: p.value,
                ci_low: p.ci_low,
                ci_high: p.ci_high,
                ci_method: p.ci_method,
                reference_group: p.reference_group,
                suppressed: p.suppressed,
                suppression_reason: p.suppression_reason,
                low_reliability: p.low_reliability,
                note: p.note,
                run_id: p.run_id,
            };
            assert_eq!(
                serde_json::to_string(&PointOut::new(&row, Grain::Month)).unwrap(),
                serde_json::to_string(&documented).unwrap()
            );
        }
    }
}
