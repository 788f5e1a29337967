//! The pages a committee member reads (`/`, `/jurisdictions/{id}`, `/compare`) and their stylesheet. They are
//! HTML for people, so they are not in the OpenAPI document; every number on them is read with the same
//! service functions as the API (series points, disparity tables, ITS fits, the comparison) and each table
//! or chart links the API request that serves it. Reads follow `public_reads` like the API; a page is cached
//! until the next write, as the series are.

use super::disparities;
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
        .route("/jurisdictions/{id}/threshold-test", get(threshold_test))
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

/// The analyses a policy event can get, in order of preference, where the jurisdiction has the dataset:
/// indicator and group (did crime reports from Hispanic victims fall; else did stops, or detainers, change).
const IMPACTS: &[(&str, IndicatorId, &str)] = &[
    ("crime-reports", IndicatorId::CrimeReportsCount, "race:hispanic"),
    ("stops", IndicatorId::StopsCount, "all"),
    ("detainers", IndicatorId::DetainersCount, "all"),
];

async fn jurisdiction(State(st): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    page(st, &headers, format!("page\u{1f}/jurisdictions/\u{1f}{id}"), |st| jurisdiction_view(st, id)).await
}

/// The threshold test of a jurisdiction's stops, with the API's defaults (the same computation as
/// `/v1/threshold-test`, shared through the memo): refused pages keep the API's status and message.
async fn threshold_test(State(st): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    page(st, &headers, format!("page\u{1f}/threshold-test\u{1f}{id}"), |st| async move {
        let id2 = id.clone();
        let j =
            st.read(move |s| s.jurisdiction(&id2)?.ok_or_else(|| ApiError::not_found("jurisdiction", &id2))).await?;
        let fit = super::threshold::threshold_fit(&st, super::threshold::default_request(&st, id.clone())).await?;
        let api = format!("/v1/threshold-test?jurisdiction={}", crate::routes::shared::query_escape(&id));
        Ok(oversight_web::threshold_page(&j, &fit.1, &api, st.0.metrics_cfg.suppression_threshold))
    })
    .await
}

async fn jurisdiction_view(st: AppState, id: String) -> ApiResult<String> {
    let id2 = id.clone();
    // The basis (which batches the indicators include) is read once, with the page's first read.
    let (basis, (j, coverage, notes, events)) = st
        .read_basis(move |s| {
            let j = s.jurisdiction(&id2)?.ok_or_else(|| ApiError::not_found("jurisdiction", &id2))?;
            Ok((j, s.coverage(Some(&id2))?, s.quality_notes(Some(&id2))?, s.policy_events(Some(&id2), None, 1000)?))
        })
        .await?;
    let q = crate::routes::shared::query_escape(&id);
    let coverage: Vec<_> = coverage.into_iter().filter(|c| c.rows > 0).collect();
    // Every read and fit of the page at once (each on the blocking pool, as the API's own).
    let id3 = id.clone();
    let points = st.read(move |s| Ok(s.group_points(&id3, "month", "all")?));
    let all_tables = page_tables(&st, &coverage, &id, &q);
    let has = |d: &str| coverage.iter().any(|c| c.dataset == d);
    let impacts = events.iter().map(|e| {
        // The first analysis the jurisdiction has data for is fitted; the page links the others.
        let fits = IMPACTS
            .iter()
            .filter(|(d, _, _)| has(d))
            .take(1)
            .map(|(_, ind, group)| impact(&st, e, *ind, group, &q, &basis));
        futures::future::try_join_all(fits)
    });
    let (points, tables, impacts) =
        futures::future::try_join3(points, all_tables, futures::future::try_join_all(impacts)).await?;
    let at = |ind: IndicatorId| (&st, ind, &j, events.as_slice(), &basis, q.as_str());
    let heads: Vec<Vec<Headline>> =
        coverage.iter().map(|c| headlines(&c.dataset).iter().map(|i| headline(at(*i), &points)).collect()).collect();
    let datasets = coverage
        .into_iter()
        .zip(heads.into_iter().zip(tables))
        .map(|(coverage, (headlines, disparities))| DatasetPart { coverage, headlines, disparities })
        .collect();
    let events = events.into_iter().zip(impacts).map(|(event, impacts)| EventPart { event, impacts }).collect();
    let threshold = st.0.metrics_cfg.suppression_threshold;
    Ok(oversight_web::jurisdiction_page(&JurisdictionView { jurisdiction: j, datasets, events, notes, threshold }))
}

/// The disparity tables of each dataset the page shows, read together (see [`disparities::whole_tables`]);
/// a table the data cannot make (no population for a rate per resident, say) is left out, as the API would
/// answer its request with the reason.
async fn page_tables(
    st: &AppState,
    coverage: &[oversight_store::Coverage],
    id: &str,
    q: &str,
) -> ApiResult<Vec<Vec<(String, oversight_metrics::DisparityTable, String)>>> {
    let which: Vec<_> = coverage.iter().map(|c| tables(&c.dataset)).collect();
    let pairs = which.iter().flat_map(|w| w.iter().map(|(_, d, m)| (*d, *m))).collect();
    let mut got = disparities::whole_tables(st, id, pairs).await?.into_iter();
    let mut out = Vec::new();
    for chunk in which {
        let mut part = Vec::new();
        for ((title, dataset, measure), t) in chunk.iter().zip(got.by_ref()) {
            match t {
                Ok(t) => part.push((
                    (*title).to_owned(),
                    t,
                    format!("/v1/disparities/{dataset}?jurisdiction={q}&outcome={measure}"),
                )),
                Err(e) if status_of(e.code).is_client_error() => tracing::debug!("{title} for {id}: {}", e.message),
                Err(e) => return Err(e),
            }
        }
        out.push(part);
    }
    Ok(out)
}

/// An event's impact on an indicator, in words (or why it was not estimated), with its chart.
async fn impact(
    st: &AppState,
    event: &oversight_store::PolicyEvent,
    ind: IndicatorId,
    group: &str,
    q: &str,
    basis: &crate::state::Basis,
) -> ApiResult<Impact> {
    let req = ItsRequest {
        indicator: ind.as_str().to_owned(),
        event_id: event.id,
        jurisdiction: Some(event.jurisdiction_id.clone()),
        group: (group != "all").then(|| group.to_owned()),
        model: Default::default(),
        grain: Grain::Month,
    };
    let fit = super::charts::its_fit(st, req, st.0.analysis_cfg.clone()).await;
    let info = oversight_metrics::info(ind);
    let (words, chart) = match fit {
        Ok(r) => {
            let chart = super::charts::impact_chart(info, group, &event.title, &r, basis);
            (
                Ok(oversight_web::change_in_words(&r.level_change, oversight_web::counted(info.unit), r.confidence)),
                Some(chart),
            )
        }
        Err(e) if status_of(e.code).is_client_error() => (Err(e.message), None),
        Err(e) => return Err(e),
    };
    let group_param = if group == "all" { String::new() } else { format!("&group={group}") };
    Ok(Impact {
        indicator_title: info.title.to_owned(),
        group: group.to_owned(),
        words,
        api: format!("/v1/policy-events/{}/impact?indicator={}&jurisdiction={q}{group_param}", event.id, ind.as_str()),
        chart,
    })
}

/// What a headline is drawn with: the state, the indicator, the jurisdiction and its events, the basis and
/// the jurisdiction's id as a query value.
type At<'a> = (
    &'a AppState,
    IndicatorId,
    &'a oversight_store::Jurisdiction,
    &'a [oversight_store::PolicyEvent],
    &'a crate::state::Basis,
    &'a str,
);

/// A headline: the latest monthly point of group `all` and the chart of them all, as the series endpoint
/// publishes and draws them.
fn headline((st, id, j, events, basis, q): At<'_>, points: &[oversight_store::PointRow]) -> Headline {
    let info = oversight_metrics::info(id);
    let mine: Vec<PublishedPoint<'_>> =
        points.iter().filter(|p| p.indicator == id.as_str()).map(|p| PublishedPoint::new(p, Grain::Month)).collect();
    let latest = mine.last().map(|p| Latest {
        period: p.period.clone(),
        value: p.value,
        ci_low: p.ci_low,
        ci_high: p.ci_high,
        numerator: p.numerator,
        denominator: p.denominator,
        suppressed: p.suppressed,
        low_reliability: p.low_reliability,
    });
    Headline {
        indicator: id.as_str().to_owned(),
        title: info.title.to_owned(),
        unit: info.unit.to_owned(),
        percent: info.kind == oversight_metrics::Kind::Proportion,
        group: "all".into(),
        latest,
        api: format!("/v1/indicators/{}/series?jurisdiction={q}&group=all", id.as_str()),
        chart: super::charts::series_svg(st, info, &j.name, events, Grain::Month, &mine, basis),
    }
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
        let (basis, c) = super::charts::comparison(&st, &indicator, api).await?;
        let source = format!("{} Method: /v1/indicators/{}", super::charts::source_text(&basis), c.indicator);
        let svg = oversight_web::forest_svg(&oversight_web::compare_forest(
            &c,
            st.0.metrics_cfg.suppression_threshold,
            source,
        ));
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
        Ok(oversight_web::compare_page(&c, &svg, &choices, sort, order, st.0.metrics_cfg.suppression_threshold))
    })
    .await
}
