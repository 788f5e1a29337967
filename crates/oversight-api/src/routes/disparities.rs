//! Disparity tables (`oversight_metrics::disparity`): JSON, or CSV written by serialising the rows.

use super::shared::{AcceptsCsv, csv_of, csv_response, with_basis};
use crate::auth::Reader;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::query::{Query, range};
use crate::state::{AppState, Basis};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use oversight_metrics::disparity::{self, CsvRow, DisparityTable};
use std::sync::Arc;

/// The parameters every disparity table takes, with the dataset's measure.
struct Request {
    dataset: &'static str,
    measure: &'static str,
    jurisdiction: String,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    reference: Option<String>,
}

/// A dataset's measures as a type, and its query parameters.
macro_rules! disparity_query {
    ($query:ident, $measure:ident, $dataset:literal, $doc:literal, default $default:ident, [$($variant:ident = $s:literal),+]) => {
        #[derive(Debug, Clone, Copy, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub(crate) enum $measure {
            $($variant),+
        }

        impl $measure {
            fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $s),+
                }
            }
        }

        #[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
        #[serde(deny_unknown_fields)]
        #[into_params(parameter_in = Query)]
        pub(crate) struct $query {
            jurisdiction: String,
            #[serde(default, deserialize_with = "crate::query::date")]
            from: Option<NaiveDate>,
            #[serde(default, deserialize_with = "crate::query::date")]
            to: Option<NaiveDate>,
            /// The group ratios compare with, e.g. race:white (default: the configured reference group).
            reference: Option<String>,
            #[doc = $doc]
            #[param(inline)]
            outcome: Option<$measure>,
        }

        impl From<$query> for Request {
            fn from(q: $query) -> Self {
                Request {
                    dataset: $dataset,
                    measure: q.outcome.unwrap_or($measure::$default).as_str(),
                    jurisdiction: q.jurisdiction,
                    from: q.from,
                    to: q.to,
                    reference: q.reference,
                }
            }
        }
    };
}

disparity_query!(StopsQuery, StopsMeasure, "stops", "stop (per resident), search, arrest, citation, hit or frisk (default stop)",
    default Stop, [Stop = "stop", Search = "search", Arrest = "arrest", Citation = "citation", Hit = "hit", Frisk = "frisk"]);
disparity_query!(ComplaintsQuery, ComplaintsMeasure, "complaints", "sustain", default Sustain, [Sustain = "sustain"]);
disparity_query!(DetainersQuery, DetainersMeasure, "detainers", "criminality or outcome (default criminality)",
    default Criminality, [Criminality = "criminality", Outcome = "outcome"]);

/// The reference group: dimension:value, and only where the table compares groups.
fn check_reference(dataset: &str, reference: Option<&str>) -> ApiResult<()> {
    let Some(r) = reference else { return Ok(()) };
    if !disparity::has_reference(dataset) {
        return Err(ApiError::param(
            "reference",
            "detainer tables are shares of all requests: there is no reference group",
        ));
    }
    if !r.contains(':') {
        return Err(ApiError::param("reference", format!("expected dimension:value such as race:white, got {r:?}")));
    }
    Ok(())
}

/// What a disparity table is answered as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Out {
    Json,
    Csv,
    Svg,
}

impl Out {
    fn json_or_csv(csv: bool) -> Self {
        if csv { Out::Csv } else { Out::Json }
    }
}

/// A disparity table, computed once per write whichever asks first (the JSON, its CSV, its chart).
async fn table(st: &AppState, q: Request) -> ApiResult<Arc<(Basis, DisparityTable)>> {
    let (from, to) = range(q.from, q.to)?;
    check_reference(q.dataset, q.reference.as_deref())?;
    let (dataset, measure) = (q.dataset, q.measure);
    let key = format!(
        "disparity\u{1f}{dataset}\u{1f}{measure}\u{1f}{}\u{1f}{from:?}\u{1f}{to:?}\u{1f}{:?}",
        q.jurisdiction, q.reference
    );
    let st2 = st.clone();
    st.memo(key, || {
        st.read_basis(move |s| {
            let spec = disparity::Spec {
                dataset,
                measure,
                jurisdiction: &q.jurisdiction,
                from,
                to,
                reference: q.reference.as_deref(),
            };
            Ok(disparity::table(s, &st2.0.metrics_cfg, &spec)?)
        })
    })
    .await
}

/// Several tables of one jurisdiction over all its time (a page's), in one read: each cube sum read once.
pub(super) async fn whole_tables(
    st: &AppState,
    jurisdiction: &str,
    which: Vec<(&'static str, &'static str)>,
) -> ApiResult<Vec<Result<DisparityTable, ApiError>>> {
    let (cfg, j) = (st.0.metrics_cfg.clone(), jurisdiction.to_owned());
    st.read(move |s| {
        let specs: Vec<disparity::Spec<'_>> = which
            .iter()
            .map(|(dataset, measure)| disparity::Spec {
                dataset,
                measure,
                jurisdiction: &j,
                from: None,
                to: None,
                reference: None,
            })
            .collect();
        Ok(disparity::tables(s, &cfg, &specs).into_iter().map(|t| t.map_err(ApiError::from)).collect())
    })
    .await
}

async fn disparity(st: AppState, out: Out, q: Request) -> ApiResult<Response> {
    let (dataset, measure) = (q.dataset, q.measure);
    let memo = table(&st, q).await?;
    let (basis, table) = (&memo.0, &memo.1);
    match out {
        Out::Json => Ok(with_basis(Json(table).into_response(), basis)),
        Out::Csv => {
            let body = csv_of(&disparity::CSV_HEADER, table.rows.iter().map(CsvRow::from))?;
            let name = format!("disparities-{dataset}-{}-{measure}.csv", table.jurisdiction);
            Ok(with_basis(csv_response(body, &name), basis))
        }
        Out::Svg => {
            let t = st.0.metrics_cfg.suppression_threshold;
            let title = format!("{} by group, {}", table.unit, table.jurisdiction);
            let source = format!("{} Method: /v1/disparities/{dataset}", super::charts::source_text(basis));
            let svg = oversight_web::forest_svg(&oversight_web::disparity_forest(table, title, t, source));
            Ok(with_basis(super::charts::svg_response(svg), basis))
        }
    }
}

/// Stops by race: counts, rate, ratio vs reference (default the configured reference group), CI, flags.
#[utoipa::path(get, path = "/v1/disparities/stops", tag = "disparities", params(StopsQuery),
    responses((status = 200, body = DisparityTable), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn disparities_stops(
    State(st): State<AppState>,
    _: Reader,
    AcceptsCsv(csv): AcceptsCsv,
    Query(q): Query<StopsQuery>,
) -> ApiResult<Response> {
    disparity(st, Out::json_or_csv(csv), q.into()).await
}

/// Complaints: sustain rate of allegations by complainant race.
#[utoipa::path(get, path = "/v1/disparities/complaints", tag = "disparities", params(ComplaintsQuery),
    responses((status = 200, body = DisparityTable), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn disparities_complaints(
    State(st): State<AppState>,
    _: Reader,
    AcceptsCsv(csv): AcceptsCsv,
    Query(q): Query<ComplaintsQuery>,
) -> ApiResult<Response> {
    disparity(st, Out::json_or_csv(csv), q.into()).await
}

/// Detainer requests by criminality or by outcome: counts and shares.
#[utoipa::path(get, path = "/v1/disparities/detainers", tag = "disparities", params(DetainersQuery),
    responses((status = 200, body = DisparityTable), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn disparities_detainers(
    State(st): State<AppState>,
    _: Reader,
    AcceptsCsv(csv): AcceptsCsv,
    Query(q): Query<DetainersQuery>,
) -> ApiResult<Response> {
    disparity(st, Out::json_or_csv(csv), q.into()).await
}

/// [`disparities_stops`] as CSV at a URL of its own (a spreadsheet's `IMPORTDATA`, a link).
#[utoipa::path(get, path = "/v1/disparities/stops.csv", tag = "disparities", params(StopsQuery),
    responses((status = 200, description = "CSV", content_type = "text/csv", body = String, example = "group,numerator,denominator,rate,rate_ci_low,rate_ci_high,rate_method,ratio,ratio_ci_low,ratio_ci_high,ratio_method,suppressed,suppression_reason,low_reliability\nblack,412,2050,0.201,0.184,0.219,wilson,2.01,1.78,2.27,katz-log,false,,false\n"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn disparities_stops_csv(
    State(st): State<AppState>,
    _: Reader,
    Query(q): Query<StopsQuery>,
) -> ApiResult<Response> {
    disparity(st, Out::Csv, q.into()).await
}

/// [`disparities_complaints`] as CSV at a URL of its own.
#[utoipa::path(get, path = "/v1/disparities/complaints.csv", tag = "disparities", params(ComplaintsQuery),
    responses((status = 200, description = "CSV", content_type = "text/csv", body = String, example = "group,numerator,denominator,rate,rate_ci_low,rate_ci_high,rate_method,ratio,ratio_ci_low,ratio_ci_high,ratio_method,suppressed,suppression_reason,low_reliability\nblack,412,2050,0.201,0.184,0.219,wilson,2.01,1.78,2.27,katz-log,false,,false\n"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn disparities_complaints_csv(
    State(st): State<AppState>,
    _: Reader,
    Query(q): Query<ComplaintsQuery>,
) -> ApiResult<Response> {
    disparity(st, Out::Csv, q.into()).await
}

/// [`disparities_detainers`] as CSV at a URL of its own.
#[utoipa::path(get, path = "/v1/disparities/detainers.csv", tag = "disparities", params(DetainersQuery),
    responses((status = 200, description = "CSV", content_type = "text/csv", body = String, example = "group,numerator,denominator,rate,rate_ci_low,rate_ci_high,rate_method,ratio,ratio_ci_low,ratio_ci_high,ratio_method,suppressed,suppression_reason,low_reliability\nblack,412,2050,0.201,0.184,0.219,wilson,2.01,1.78,2.27,katz-log,false,,false\n"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn disparities_detainers_csv(
    State(st): State<AppState>,
    _: Reader,
    Query(q): Query<DetainersQuery>,
) -> ApiResult<Response> {
    disparity(st, Out::Csv, q.into()).await
}

/// [`disparities_stops`] as a forest plot: each group's ratio to the reference group with its interval.
#[utoipa::path(get, path = "/v1/disparities/stops.svg", tag = "disparities", params(StopsQuery),
    responses((status = 200, description = "SVG", content_type = "image/svg+xml", body = String, example = "<svg width=\"760\" height=\"425\" viewBox=\"0 0 760 425\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\"><title>…</title><desc>…</desc>…</svg>"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn disparities_stops_svg(
    State(st): State<AppState>,
    _: Reader,
    Query(q): Query<StopsQuery>,
) -> ApiResult<Response> {
    disparity(st, Out::Svg, q.into()).await
}

/// [`disparities_complaints`] as a forest plot.
#[utoipa::path(get, path = "/v1/disparities/complaints.svg", tag = "disparities", params(ComplaintsQuery),
    responses((status = 200, description = "SVG", content_type = "image/svg+xml", body = String, example = "<svg width=\"760\" height=\"425\" viewBox=\"0 0 760 425\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\"><title>…</title><desc>…</desc>…</svg>"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn disparities_complaints_svg(
    State(st): State<AppState>,
    _: Reader,
    Query(q): Query<ComplaintsQuery>,
) -> ApiResult<Response> {
    disparity(st, Out::Svg, q.into()).await
}

/// [`disparities_detainers`] as a chart of each group's share with its interval.
#[utoipa::path(get, path = "/v1/disparities/detainers.svg", tag = "disparities", params(DetainersQuery),
    responses((status = 200, description = "SVG", content_type = "image/svg+xml", body = String, example = "<svg width=\"760\" height=\"425\" viewBox=\"0 0 760 425\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\"><title>…</title><desc>…</desc>…</svg>"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn disparities_detainers_svg(
    State(st): State<AppState>,
    _: Reader,
    Query(q): Query<DetainersQuery>,
) -> ApiResult<Response> {
    disparity(st, Out::Svg, q.into()).await
}
