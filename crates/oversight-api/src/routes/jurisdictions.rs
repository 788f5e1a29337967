//! Jurisdictions (list, one, changes) and the datasets' coverage.

use super::shared::{NoParams, page_response, read_body, with_basis};
use crate::auth::{Analyst, Reader};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::query::Query;
use crate::state::AppState;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use utoipa::ToSchema;

/// `limit` and `cursor` of the jurisdiction list, whose cursor is a jurisdiction id.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct JurisdictionPage {
    /// At most this many items (1 to 1000, default 100).
    #[serde(default, deserialize_with = "crate::query::int_in::<1, 1000, _>")]
    #[param(value_type = Option<usize>, minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[serde(default, deserialize_with = "text_cursor")]
    #[param(value_type = Option<String>)]
    cursor: Option<String>,
}

/// Jurisdictions (cursor pagination).
#[utoipa::path(get, path = "/v1/jurisdictions", tag = "data", params(JurisdictionPage),
    responses((status = 200, body = super::shared::Page, example = json!({"items": [{"id": "demo-city", "name": "Demo City", "kind": "city", "parent_id": null, "state": null, "fips": null,
        "lat": 41.88, "lng": -87.63, "timezone": "America/Chicago", "population_benchmark_id": null}], "next_cursor": null})), (status = 400, body = ErrorBody)))]
pub(crate) async fn jurisdictions(
    State(st): State<AppState>,
    _: Reader,
    Query(q): Query<JurisdictionPage>,
) -> ApiResult<Response> {
    let limit = crate::query::limit(q.limit);
    let after = q.cursor;
    let items = st.read(move |s| Ok(s.list_jurisdictions(after.as_deref(), limit)?)).await?;
    let next = if items.len() == limit { items.last().map(|j| encode_text_cursor(&j.id)) } else { None };
    page_response(&items, next)
}

/// One jurisdiction.
#[utoipa::path(get, path = "/v1/jurisdictions/{id}", tag = "data", params(("id" = String, Path), NoParams),
    responses((status = 200, body = Object, example = json!({"id": "ct-hartford", "name": "Hartford", "kind": "city", "parent_id": null, "state": "CT", "fips": null,
        "lat": 41.7637, "lng": -72.6851, "timezone": "America/New_York", "population_benchmark_id": null})), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn jurisdiction(
    State(st): State<AppState>,
    _: Reader,
    Path(id): Path<String>,
    _: Query<NoParams>,
) -> ApiResult<Response> {
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

impl From<JurisdictionChanges> for oversight_store::JurisdictionPatch {
    fn from(c: JurisdictionChanges) -> Self {
        Self {
            name: c.name,
            kind: c.kind,
            parent_id: c.parent_id,
            state: c.state,
            fips: c.fips,
            lat: c.lat,
            lng: c.lng,
            timezone: c.timezone,
            population_benchmark_id: c.population_benchmark_id,
        }
    }
}

/// The parameters of a jurisdiction's change.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct PatchQuery {
    /// Create the jurisdiction (name = id, kind other, until the changes say otherwise) when there is none
    /// with this id, as `oversight jurisdictions set` does; without it an unknown id is a 404.
    #[serde(default)]
    create: bool,
}

/// Sets attributes of a jurisdiction (analyst): its time zone and centroid, for instance.
#[utoipa::path(patch, path = "/v1/jurisdictions/{id}", tag = "data", params(("id" = String, Path), PatchQuery), request_body = JurisdictionChanges, security(("api_key" = [])),
    responses((status = 200, description = "The jurisdiction as it now is", body = Object, example = json!({"id": "ct-hartford", "name": "Hartford", "kind": "city",
        "parent_id": null, "state": null, "fips": null, "lat": 41.7637, "lng": -72.6851, "timezone": "America/New_York", "population_benchmark_id": null})),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub(crate) async fn jurisdiction_patch(
    State(st): State<AppState>,
    Analyst(caller): Analyst,
    Path(id): Path<String>,
    Query(q): Query<PatchQuery>,
    body: Body,
) -> ApiResult<Response> {
    let body = read_body(&st, body).await?;
    if q.create {
        oversight_core::JurisdictionId::new(id.as_str()).map_err(|e| ApiError::param("id", e.to_string()))?;
    }
    let c: JurisdictionChanges = serde_json::from_slice(&body)
        .map_err(|e| ApiError::param("body", format!("not a set of jurisdiction attributes: {e}")))?;
    let params = json!({"id": id, "changes": serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null)});
    let patch = oversight_store::JurisdictionPatch::from(c);
    patch.check().map_err(|(field, msg)| ApiError::param(field, msg))?;
    let id2 = id.clone();
    let j = st
        .write(move |s| {
            Ok(if q.create { s.set_jurisdiction(&id2, &patch)? } else { s.update_jurisdiction(&id2, &patch)? })
        })
        .await?;
    st.audit(&caller, "PATCH", "/v1/jurisdictions/{id}", params, 200, Some(1)).await;
    Ok(Json(j).into_response())
}

fn encode_text_cursor(s: &str) -> String {
    format!("j{}", hex::encode(s))
}

fn text_cursor<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let c = <String as serde::Deserialize>::deserialize(d)?;
    c.strip_prefix('j')
        .and_then(|h| hex::decode(h).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom("not a cursor this API returned"))
}

/// Per dataset: rows, date coverage, imports, rejects and data-quality notes.
#[utoipa::path(get, path = "/v1/datasets", tag = "data", params(NoParams),
    responses((status = 200, body = Vec<Object>, example = json!([{"dataset": "stops", "rows": 18435, "date_min": "2013-10-01", "date_max": "2016-09-29",
        "batches": 1, "rows_read": 18439, "rows_rejected": 4, "last_import": "2026-11-22T05:00:00", "quality_notes": 2}])), (status = 400, body = ErrorBody)))]
pub(crate) async fn datasets(State(st): State<AppState>, _: Reader, _: Query<NoParams>) -> ApiResult<Response> {
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
