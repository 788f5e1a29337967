//! Charts (SVG, drawn by `oversight_web` from the numbers the JSON endpoints serve) and the comparison of one
//! indicator across jurisdictions (JSON, CSV, SVG).

use super::shared::{AcceptsCsv, csv_of, csv_response, with_basis};
use crate::auth::Reader;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::query::Query;
use crate::state::{AppState, Basis};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use oversight_core::Grain;
use oversight_metrics::Indicator;
use oversight_metrics::compare::{self, CompareSpec, Comparison, CsvRow, Order, SortKey};
use oversight_metrics::published::PublishedPoint;
use std::sync::Arc;

/// Where a chart's numbers come from, for its footer: the indicator run and the batches it read.
pub(super) fn source_text(b: &Basis) -> String {
    let batches = b.batches.to_str().ok().filter(|b| !b.is_empty()).unwrap_or("none");
    format!(
        "Source: Oversight indicator run {}, import batches {batches} (/v1/imports).",
        b.run.to_str().unwrap_or("none")
    )
}

/// An SVG response.
pub(super) fn svg_response(body: String) -> Response {
    let mut r = Body::from(body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    r
}

/// A series' chart: its points as published, the jurisdiction's name and policy events, its source.
pub(super) async fn series_chart(
    st: &AppState,
    ind: &'static Indicator,
    jurisdiction: &str,
    grain: Grain,
    points: &[PublishedPoint<'_>],
    basis: &Basis,
) -> ApiResult<String> {
    let context = chart_context(st, jurisdiction).await?;
    Ok(series_svg(st, ind, &context.0, &context.1, grain, points, basis))
}

/// [`series_chart`] with the jurisdiction's name and events at hand (a page has them).
pub(super) fn series_svg(
    st: &AppState,
    ind: &'static Indicator,
    name: &str,
    events: &[oversight_store::PolicyEvent],
    grain: Grain,
    points: &[PublishedPoint<'_>],
    basis: &Basis,
) -> String {
    // Groups in the order their first point comes (the store sorts by period, then group).
    let mut lines: Vec<oversight_web::Line> = Vec::new();
    for p in points {
        let point = oversight_web::Point {
            start: p.period_start,
            value: p.value,
            ci_low: p.ci_low,
            ci_high: p.ci_high,
            suppressed: p.suppressed,
            low_reliability: p.low_reliability,
        };
        match lines.iter_mut().find(|l| l.group == p.group) {
            Some(l) => l.points.push(point),
            None => lines.push(oversight_web::Line { group: p.group.to_owned(), points: vec![point] }),
        }
    }
    let percent = ind.kind == oversight_metrics::Kind::Proportion;
    let chart = oversight_web::SeriesChart {
        title: format!("{}, {name}", ind.title),
        y_title: if percent { format!("{} (%)", ind.unit) } else { ind.unit.to_owned() },
        percent,
        grain,
        lines,
        events: events
            .iter()
            .map(|e| oversight_web::Marker { date: e.effective_date, label: e.title.clone() })
            .collect(),
        threshold: st.0.metrics_cfg.suppression_threshold,
        source: format!("{} Method: /v1/indicators/{}", source_text(basis), ind.id),
        empty_reason: format!("{name} has no published {} for these groups and periods", ind.title.to_lowercase()),
    };
    oversight_web::series_svg(&chart)
}

/// An impact chart (the `impact.svg` endpoint's and a page's).
pub(super) fn impact_chart(
    ind: &'static Indicator,
    group: &str,
    event: &str,
    fit: &oversight_metrics::analysis::ItsResult,
    basis: &Basis,
) -> String {
    let title = format!("{} ({group}) around {event}", ind.title);
    let source = format!("{} Method: /v1/indicators/{}", source_text(basis), ind.id);
    oversight_web::impact_svg(fit, &title, ind.unit, &source)
}

/// A jurisdiction's name and policy events, as its charts show them: read once per write, not per chart.
async fn chart_context(
    st: &AppState,
    jurisdiction: &str,
) -> ApiResult<Arc<(String, Vec<oversight_store::PolicyEvent>)>> {
    let j = jurisdiction.to_owned();
    st.memo(format!("chart-context\u{1f}{jurisdiction}"), || {
        st.read(move |s| {
            let name = s.jurisdiction(&j)?.map_or_else(|| j.clone(), |x| x.name);
            Ok((name, s.policy_events(Some(&j), None, 1000)?))
        })
    })
    .await
}

/// An interrupted time series, fitted once per write whichever asks first (a page, its chart, the JSON).
pub(super) async fn its_fit(
    st: &AppState,
    req: oversight_metrics::analysis::ItsRequest,
    cfg: oversight_metrics::AnalysisConfig,
) -> ApiResult<Arc<oversight_metrics::analysis::ItsResult>> {
    let key = format!("its\u{1f}{req:?}\u{1f}{:?}\u{1f}{:?}", cfg.hac_maxlags, cfg.inference);
    st.memo(key, || {
        st.read(move |s| {
            let r = oversight_metrics::analysis::its(s, &req, &cfg)?;
            super::shared::no_withheld_periods(r.series.iter().filter(|p| p.suppressed).count(), "its")?;
            Ok(r)
        })
    })
    .await
}

/// The parameters of a comparison.
#[derive(Debug, Clone, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct CompareQuery {
    /// Period length (default year).
    #[serde(default)]
    #[param(inline)]
    grain: Option<Grain>,
    /// A date in the period to compare (default: the latest period with points).
    #[serde(default, deserialize_with = "crate::query::date")]
    period: Option<NaiveDate>,
    /// all (default), or dimension:value such as race:black.
    group: Option<String>,
    /// Compare each jurisdiction with this one (default: with the others combined).
    reference: Option<String>,
    /// The column to sort by (default value).
    #[serde(default)]
    #[param(inline)]
    sort: Option<SortKey>,
    /// asc or desc (default desc).
    #[serde(default)]
    #[param(inline)]
    order: Option<Order>,
}

impl CompareQuery {
    pub(super) fn new(
        grain: Option<Grain>,
        period: Option<NaiveDate>,
        group: Option<String>,
        reference: Option<String>,
        sort: Option<SortKey>,
        order: Option<Order>,
    ) -> Self {
        Self { grain, period, group, reference, sort, order }
    }
}

/// The comparison, read with the store's service function.
pub(crate) async fn comparison(st: &AppState, id: &str, q: CompareQuery) -> ApiResult<(Basis, Comparison)> {
    let ind = oversight_metrics::indicator(id).ok_or_else(|| ApiError::not_found("indicator", id))?;
    if let Some(g) = &q.group {
        ind.check_group(g).map_err(|why| ApiError::param("group", why))?;
    }
    let cfg = st.0.metrics_cfg.clone();
    let id = ind.id.as_str();
    st.read_basis(move |s| {
        let spec = CompareSpec {
            indicator: id,
            grain: q.grain.unwrap_or(Grain::Year),
            period: q.period,
            group: q.group.as_deref().unwrap_or("all"),
            reference: q.reference.as_deref(),
            sort: q.sort.unwrap_or_default(),
            order: q.order.unwrap_or_default(),
        };
        Ok(compare::compare(s, &cfg, &spec)?)
    })
    .await
}

fn compare_csv_response(id: &str, basis: &Basis, c: &Comparison) -> ApiResult<Response> {
    let period = c.period.as_deref();
    let body = csv_of(&compare::CSV_HEADER, c.rows.iter().map(|r| CsvRow::new(r, period)))?;
    let name = format!("compare-{id}-{}-{}.csv", c.grain.as_str(), period.unwrap_or("none"));
    Ok(with_basis(csv_response(body, &name), basis))
}

/// One indicator in every jurisdiction for one period: value, interval, and the ratio to the others combined
/// (or to a reference jurisdiction) with its interval. JSON, or CSV with `Accept: text/csv`.
#[utoipa::path(get, path = "/v1/indicators/{id}/compare", tag = "indicators", params(("id" = String, Path), CompareQuery),
    responses((status = 200, body = Comparison), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn compare(
    State(st): State<AppState>,
    _: Reader,
    AcceptsCsv(csv): AcceptsCsv,
    axum::extract::Path(id): axum::extract::Path<String>,
    Query(q): Query<CompareQuery>,
) -> ApiResult<Response> {
    let (basis, c) = comparison(&st, &id, q).await?;
    if csv {
        return compare_csv_response(&id, &basis, &c);
    }
    Ok(with_basis(Json(c).into_response(), &basis))
}

/// [`compare`] as CSV at a URL of its own.
#[utoipa::path(get, path = "/v1/indicators/{id}/compare.csv", tag = "indicators", params(("id" = String, Path), CompareQuery),
    responses((status = 200, description = "CSV", content_type = "text/csv", body = String,
        example = "jurisdiction,name,numerator,denominator,value,ci_low,ci_high,ci_method,ratio,ratio_ci_low,ratio_ci_high,ratio_method,suppressed,suppression_reason,low_reliability,note,period\ndemo-city,Demo City,603,6025,0.1,0.093,0.108,wilson,1.2,1.0,1.4,katz-log,false,,false,,2020\n"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn compare_csv(
    State(st): State<AppState>,
    _: Reader,
    axum::extract::Path(id): axum::extract::Path<String>,
    Query(q): Query<CompareQuery>,
) -> ApiResult<Response> {
    let (basis, c) = comparison(&st, &id, q).await?;
    compare_csv_response(&id, &basis, &c)
}

/// [`compare`] as a chart: each jurisdiction's value with its interval; withheld ones listed as withheld.
#[utoipa::path(get, path = "/v1/indicators/{id}/compare.svg", tag = "indicators", params(("id" = String, Path), CompareQuery),
    responses((status = 200, description = "SVG", content_type = "image/svg+xml", body = String, example = "<svg width=\"760\" height=\"425\" viewBox=\"0 0 760 425\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\"><title>…</title><desc>…</desc>…</svg>"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn compare_svg(
    State(st): State<AppState>,
    _: Reader,
    axum::extract::Path(id): axum::extract::Path<String>,
    Query(q): Query<CompareQuery>,
) -> ApiResult<Response> {
    let (basis, c) = comparison(&st, &id, q).await?;
    let source = format!("{} Method: /v1/indicators/{id}", source_text(&basis));
    let f = oversight_web::compare_forest(&c, st.0.metrics_cfg.suppression_threshold, source);
    Ok(with_basis(svg_response(oversight_web::forest_svg(&f)), &basis))
}
