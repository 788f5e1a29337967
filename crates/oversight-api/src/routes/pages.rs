//! The pages a committee member reads (`/`, `/jurisdictions/{id}`, `/compare`) and their stylesheet. They are
//! HTML for people, so they are not in the OpenAPI document; every number on them is read with the same
//! service functions as the API (series points, disparity tables, ITS fits, the comparison) and each table
//! or chart links the API request that serves it. Reads follow `public_reads` like the API; a page is cached
//! until the next write, as the series are.

use super::disparities::{self, Request};
use crate::error::{ApiError, ApiResult, status_of};
use crate::state::{AppState, Cached};
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use oversight_core::{Grain, IndicatorId};
use oversight_metrics::analysis::ItsRequest;
use oversight_metrics::compare::{Order, SortKey};
use oversight_metrics::published::PublishedPoint;
use oversight_web::{DatasetPart, EventPart, Headline, Impact, JurisdictionView, Latest};

/// The pages' routes.
pub(crate) fn pages() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/jurisdictions/{id}", get(jurisdiction))
        .route("/compare", get(compare))
        .route(oversight_web::STYLESHEET_PATH, get(stylesheet))
}

async fn stylesheet() -> Response {
    let mut r = Body::from(oversight_web::STYLESHEET).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    r
}

fn html(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut r = (status, body.into()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    r
}

/// A page: the reader checked as the API checks it, then from the cache or rendered by `render`. A refusal
/// or an error is a page too, with the API's status and message.
async fn page<F, Fut>(st: AppState, headers: &HeaderMap, key: String, render: F) -> Response
where
    F: FnOnce(AppState) -> Fut,
    Fut: std::future::Future<Output = ApiResult<String>>,
{
    let threshold = st.0.metrics_cfg.suppression_threshold;
    let refused = |e: ApiError| {
        let status = status_of(e.code);
        let title = if status == StatusCode::NOT_FOUND { "Not found" } else { "Not available" };
        html(status, oversight_web::message_page(title, &e.message, threshold))
    };
    if let Err(e) = st.authorize(headers, None).await {
        return refused(e);
    }
    if let Some(c) = st.cached(&key) {
        return html(StatusCode::OK, c.body);
    }
    let generation = st.generation();
    match render(st.clone()).await {
        Ok(body) => {
            let c = Cached { body: body.into(), content_type: "text/html; charset=utf-8", filename: None, basis: None };
            st.cache(key, generation, c.clone());
            html(StatusCode::OK, c.body)
        }
        Err(e) => refused(e),
    }
}

async fn home(State(st): State<AppState>, headers: HeaderMap) -> Response {
    page(st, &headers, "page\u{1f}/".into(), |st| async move {
        let rows = st
            .read(|s| {
                let coverage = s.coverage(None)?;
                let notes = s.quality_notes(None)?;
                let js = s.list_jurisdictions(None, 10_000)?;
                Ok(js
                    .into_iter()
                    .map(|j| oversight_web::HomeRow {
                        coverage: coverage.iter().filter(|c| c.jurisdiction_id == j.id).cloned().collect(),
                        notes: notes.iter().filter(|n| n.jurisdiction_id == j.id).cloned().collect(),
                        jurisdiction: j,
                    })
                    .collect::<Vec<_>>())
            })
            .await?;
        Ok(oversight_web::home(&rows, st.0.metrics_cfg.suppression_threshold))
    })
    .await
}

/// The headline indicators of each dataset (group `all`, by month).
fn headlines(dataset: &str) -> &'static [IndicatorId] {
    match dataset {
        "stops" => &[IndicatorId::StopsCount, IndicatorId::StopsSearchRate],
        "detainers" => &[IndicatorId::DetainersCount],
        "crime-reports" => &[IndicatorId::CrimeReportsCount],
        "complaints" => &[IndicatorId::ComplaintsCount, IndicatorId::ComplaintsSustainRate],
        _ => &[],
    }
}

/// The disparity tables of each dataset: title, dataset, measure.
fn tables(dataset: &str) -> &'static [(&'static str, &'static str, &'static str)] {
    match dataset {
        "stops" => &[
            ("Stops per resident, by race", "stops", "stop"),
            ("Searches among stops, by race", "stops", "search"),
            ("Arrests among stops, by race", "stops", "arrest"),
            ("Hit rate: searches that found contraband, by race", "stops", "hit"),
        ],
        "complaints" => &[("Sustained allegations, by complainant race", "complaints", "sustain")],
        "detainers" => &[
            ("Detainer requests by criminality", "detainers", "criminality"),
            ("Detainer requests by outcome", "detainers", "outcome"),
        ],
        _ => &[],
    }
}

/// The analyses each policy event gets, where the jurisdiction has the dataset: indicator and group.
const IMPACTS: &[(&str, IndicatorId, &str)] = &[
    ("crime-reports", IndicatorId::CrimeReportsCount, "race:hispanic"),
    ("stops", IndicatorId::StopsCount, "all"),
    ("detainers", IndicatorId::DetainersCount, "all"),
];

async fn jurisdiction(State(st): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    page(st, &headers, format!("page\u{1f}/jurisdictions/\u{1f}{id}"), |st| jurisdiction_view(st, id)).await
}

async fn jurisdiction_view(st: AppState, id: String) -> ApiResult<String> {
    let id2 = id.clone();
    let (j, coverage, notes, events) = st
        .read(move |s| {
            let j = s.jurisdiction(&id2)?.ok_or_else(|| ApiError::not_found("jurisdiction", &id2))?;
            Ok((j, s.coverage(Some(&id2))?, s.quality_notes(Some(&id2))?, s.policy_events(Some(&id2), None, 1000)?))
        })
        .await?;
    let q = crate::routes::shared::query_escape(&id);
    let mut datasets = Vec::new();
    for c in coverage.into_iter().filter(|c| c.rows > 0) {
        let mut part = DatasetPart { coverage: c, headlines: Vec::new(), disparities: Vec::new() };
        for ind in headlines(&part.coverage.dataset) {
            part.headlines.push(headline(&st, *ind, &id, &q).await?);
        }
        for (title, dataset, measure) in tables(&part.coverage.dataset) {
            let req = Request { dataset, measure, jurisdiction: id.clone(), from: None, to: None, reference: None };
            let api = format!("/v1/disparities/{dataset}?jurisdiction={q}&outcome={measure}");
            match disparities::table(&st, req).await {
                Ok((_, t)) => part.disparities.push(((*title).to_owned(), t, api)),
                Err(e) if status_of(e.code).is_client_error() => {
                    tracing::debug!("{title} for {id}: {}", e.message);
                }
                Err(e) => return Err(e),
            }
        }
        datasets.push(part);
    }
    let has = |d: &str| datasets.iter().any(|p| p.coverage.dataset == d);
    let cfg = st.0.analysis_cfg.clone();
    let mut parts = Vec::new();
    for e in events {
        let mut impacts = Vec::new();
        for (dataset, ind, group) in IMPACTS.iter().filter(|(d, _, _)| has(d)) {
            let req = ItsRequest {
                indicator: ind.as_str().to_owned(),
                event_id: e.id,
                jurisdiction: Some(id.clone()),
                group: (*group != "all").then(|| (*group).to_owned()),
                model: Default::default(),
                grain: Grain::Month,
            };
            let cfg = cfg.clone();
            let fit =
                st.read(move |s| Ok(oversight_metrics::analysis::its(s, &req, &cfg).map_err(ApiError::from))).await?;
            let info = oversight_metrics::info(*ind);
            let words = match fit {
                Ok(r) => {
                    Ok(oversight_web::change_in_words(&r.level_change, oversight_web::counted(info.unit), r.confidence))
                }
                Err(e) if status_of(e.code).is_client_error() => Err(e.message),
                Err(e) => return Err(e),
            };
            let _ = dataset;
            impacts.push(Impact {
                indicator_title: info.title.to_owned(),
                group: (*group).to_owned(),
                words,
                api: format!(
                    "/v1/policy-events/{}/impact?indicator={}&jurisdiction={q}{}",
                    e.id,
                    ind.as_str(),
                    if *group == "all" { String::new() } else { format!("&group={group}") }
                ),
            });
        }
        parts.push(EventPart { event: e, impacts });
    }
    let view = JurisdictionView {
        jurisdiction: j,
        datasets,
        events: parts,
        notes,
        threshold: st.0.metrics_cfg.suppression_threshold,
    };
    Ok(oversight_web::jurisdiction_page(&view))
}

/// A headline: the latest monthly point of group `all`, as the series endpoint publishes it.
async fn headline(st: &AppState, id: IndicatorId, jurisdiction: &str, q: &str) -> ApiResult<Headline> {
    let info = oversight_metrics::info(id);
    let series = st.series_points(id, jurisdiction, Grain::Month).await?;
    let latest = series.points.iter().rev().find(|p| p.group == "all").map(|p| {
        let p = PublishedPoint::new(p, Grain::Month);
        Latest {
            period: p.period,
            value: p.value,
            ci_low: p.ci_low,
            ci_high: p.ci_high,
            numerator: p.numerator,
            denominator: p.denominator,
            suppressed: p.suppressed,
            low_reliability: p.low_reliability,
        }
    });
    Ok(Headline {
        indicator: id.as_str().to_owned(),
        title: info.title.to_owned(),
        unit: info.unit.to_owned(),
        percent: info.kind == oversight_metrics::Kind::Proportion,
        group: "all".into(),
        latest,
        api: format!("/v1/indicators/{}/series?jurisdiction={q}&group=all", id.as_str()),
    })
}

/// The parameters of `/compare`: those of the API's comparison, and the indicator.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ComparePageQuery {
    indicator: Option<String>,
    #[serde(default)]
    grain: Option<Grain>,
    #[serde(default, deserialize_with = "crate::query::date")]
    period: Option<chrono::NaiveDate>,
    group: Option<String>,
    reference: Option<String>,
    #[serde(default)]
    sort: Option<SortKey>,
    #[serde(default)]
    order: Option<Order>,
}

async fn compare(State(st): State<AppState>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let key = format!("page\u{1f}/compare\u{1f}{}", raw.as_deref().unwrap_or(""));
    page(st, &headers, key, |st| async move {
        // An empty form field is the same as leaving the parameter out.
        let cleaned: String = raw
            .as_deref()
            .unwrap_or("")
            .split('&')
            .filter(|kv| !kv.is_empty() && !kv.ends_with('='))
            .collect::<Vec<_>>()
            .join("&");
        let q: ComparePageQuery = crate::query::parse(Some(&cleaned))?;
        let indicator = q.indicator.unwrap_or_else(|| IndicatorId::StopsSearchRate.as_str().to_owned());
        let (sort, order) = (q.sort.unwrap_or_default(), q.order.unwrap_or_default());
        let api = super::charts::CompareQuery::new(q.grain, q.period, q.group, q.reference, Some(sort), Some(order));
        let (_, c) = super::charts::comparison(&st, &indicator, api).await?;
        let choices: Vec<(&str, &str)> = oversight_metrics::CATALOG
            .iter()
            .filter(|i| {
                matches!(
                    i.kind,
                    oversight_metrics::Kind::Proportion
                        | oversight_metrics::Kind::PopulationRate
                        | oversight_metrics::Kind::Count
                )
            })
            .map(|i| (i.id.as_str(), i.title))
            .collect();
        Ok(oversight_web::compare_page(&c, &choices, sort, order, st.0.metrics_cfg.suppression_threshold))
    })
    .await
}
