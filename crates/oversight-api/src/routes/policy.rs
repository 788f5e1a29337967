//! Policy events: the dated agreements, policies and laws that impact analyses run around.

use super::shared::{NoParams, id_param, page, read_body};
use crate::auth::{Analyst, Reader};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::query::Query;
use crate::state::AppState;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde_json::json;
use utoipa::ToSchema;

/// The policy-event list's parameters.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventsQuery {
    /// Only this jurisdiction's events.
    jurisdiction: Option<String>,
    /// At most this many items (1 to 1000, default 100).
    #[serde(default, deserialize_with = "crate::query::int_in::<1, 1000, _>")]
    #[param(value_type = Option<usize>, minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[serde(default, deserialize_with = "crate::query::cursor")]
    #[param(value_type = Option<String>)]
    cursor: Option<i64>,
}

/// Policy events (cursor pagination; optionally of one jurisdiction).
#[utoipa::path(get, path = "/v1/policy-events", tag = "policy", params(EventsQuery),
    responses((status = 200, body = super::shared::Page, example = json!({"items": [{"id": 1, "jurisdiction_id": "demo-city", "effective_date": "2019-01-01", "kind": "287g_jail_model",
        "title": "287(g) agreement signed", "source": "https://www.ice.gov/287g", "agency": "Sheriff", "batch_id": 2}], "next_cursor": null})), (status = 400, body = ErrorBody)))]
pub(crate) async fn events_list(
    State(st): State<AppState>,
    _: Reader,
    Query(q): Query<EventsQuery>,
) -> ApiResult<Response> {
    let (limit, after, j) = (crate::query::limit(q.limit), q.cursor, q.jurisdiction);
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

impl NewEvent {
    /// The event as the store takes it, its kind checked against the code list.
    fn checked(self) -> ApiResult<oversight_store::NewPolicyEvent> {
        use oversight_core::CodeList as _;
        let kind: oversight_core::PolicyKind =
            self.kind.parse().map_err(|_| ApiError::param("kind", format!("{:?} is not a policy kind", self.kind)))?;
        Ok(oversight_store::NewPolicyEvent {
            jurisdiction_id: self.jurisdiction_id,
            effective_date: self.effective_date,
            kind: kind.as_str().to_owned(),
            title: self.title,
            source: self.source,
            agency: self.agency,
        })
    }
}

/// Adds a policy event (analyst).
#[utoipa::path(post, path = "/v1/policy-events", tag = "policy", params(NoParams), request_body = NewEvent, security(("api_key" = [])),
    responses((status = 201, body = Object, example = json!({"id": 3, "jurisdiction_id": "demo-city", "effective_date": "2021-07-01", "kind": "sanctuary_policy",
        "title": "Welcoming city ordinance", "source": "Ordinance 2021-7", "agency": null, "batch_id": null})),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn events_add(
    State(st): State<AppState>,
    Analyst(caller): Analyst,
    _: Query<NoParams>,
    body: Body,
) -> ApiResult<Response> {
    let body = read_body(&st, body).await?;
    let e: NewEvent =
        serde_json::from_slice(&body).map_err(|e| ApiError::param("body", format!("not a policy event: {e}")))?;
    let new = e.checked()?;
    let params = json!({"jurisdiction_id": new.jurisdiction_id, "effective_date": new.effective_date, "kind": new.kind, "title": new.title});
    let added = st.write(move |s| Ok(s.add_policy_event(&new)?)).await?;
    st.audit(&caller, "POST", "/v1/policy-events", params, 201, Some(1)).await;
    Ok((StatusCode::CREATED, Json(added)).into_response())
}

/// Removes an event added by hand (analyst); imported events change by re-importing their file.
#[utoipa::path(delete, path = "/v1/policy-events/{id}", tag = "policy", params(("id" = i64, Path), NoParams), security(("api_key" = [])),
    responses((status = 200, description = "The removed event", body = Object, example = json!({"id": 3, "jurisdiction_id": "demo-city", "effective_date": "2021-07-01",
        "kind": "sanctuary_policy", "title": "Welcoming city ordinance", "source": null, "agency": null, "batch_id": null})),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn events_remove(
    State(st): State<AppState>,
    Analyst(caller): Analyst,
    Path(id): Path<String>,
    _: Query<NoParams>,
) -> ApiResult<Response> {
    let id = id_param("id", &id)?;
    let removed = st.write(move |s| Ok(s.remove_policy_event(id)?)).await?;
    st.audit(&caller, "DELETE", "/v1/policy-events/{id}", json!({"id": id}), 200, Some(1)).await;
    Ok(Json(removed).into_response())
}
