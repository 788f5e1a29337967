//! API keys (admin), so that keys are given out and taken back while the server runs: a key is shown once,
//! when it is made; only its hash is stored.

use super::shared::{NoParams, id_param, read_body};
use crate::auth::Admin;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::query::Query;
use crate::state::{AppState, Role};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use utoipa::ToSchema;

/// A key to make.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "committee-dashboard", "role": "viewer"}))]
pub struct NewKey {
    /// Who or what holds it (shown in the audit log and the access log).
    pub name: String,
    /// viewer, analyst or admin.
    pub role: String,
}

/// Every key, live and revoked (never a key or its hash: its first characters only).
#[utoipa::path(get, path = "/v1/keys", tag = "admin", params(NoParams), security(("api_key" = [])),
    responses((status = 200, body = Vec<Object>, example = json!([{"id": 1, "name": "admin", "role": "admin", "prefix": "ovs_1a2b3c4d", "created_at": "2026-11-22T06:00:00", "last_used_at": null, "revoked_at": null}])),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn keys_list(State(st): State<AppState>, _: Admin, _: Query<NoParams>) -> ApiResult<Response> {
    let keys = st.read(|s| Ok(s.api_keys()?)).await?;
    Ok(Json(keys).into_response())
}

/// Makes a key (admin). The answer holds the key itself, once: it cannot be read again.
#[utoipa::path(post, path = "/v1/keys", tag = "admin", params(NoParams), request_body = NewKey, security(("api_key" = [])),
    responses((status = 201, body = Object, example = json!({"key": "ovs_1a2b…", "id": 4, "name": "committee-dashboard", "role": "viewer", "prefix": "ovs_1a2b3c4d", "created_at": "2026-11-22T06:00:00", "last_used_at": null, "revoked_at": null})),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub(crate) async fn keys_create(
    State(st): State<AppState>,
    Admin(caller): Admin,
    _: Query<NoParams>,
    body: Body,
) -> ApiResult<Response> {
    let body = read_body(&st, body).await?;
    let k: NewKey = serde_json::from_slice(&body).map_err(|e| ApiError::param("body", format!("not a key: {e}")))?;
    let role = Role::parse(&k.role)
        .ok_or_else(|| ApiError::param("role", format!("{:?}: expected viewer, analyst or admin", k.role)))?;
    let name = k.name.clone();
    let (key, row) = st.write(move |s| Ok(crate::state::create_key(s, &name, role)?)).await?;
    st.audit(&caller, "POST", "/v1/keys", json!({"name": k.name, "role": role.as_str(), "id": row.id}), 201, Some(1))
        .await;
    let mut v = serde_json::to_value(&row).map_err(|e| ApiError::internal("json", e))?;
    v["key"] = json!(key);
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// Revokes a key (admin): it stops working at once.
#[utoipa::path(delete, path = "/v1/keys/{id}", tag = "admin", params(("id" = i64, Path), NoParams), security(("api_key" = [])),
    responses((status = 200, description = "The revoked key", body = Object, example = json!({"id": 4, "name": "committee-dashboard", "role": "viewer", "prefix": "ovs_1a2b3c4d", "created_at": "2026-11-22T06:00:00", "last_used_at": null, "revoked_at": "2026-11-23T09:00:00"})),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn keys_revoke(
    State(st): State<AppState>,
    Admin(caller): Admin,
    Path(id): Path<String>,
    _: Query<NoParams>,
) -> ApiResult<Response> {
    let id = id_param("id", &id)?;
    let row = st
        .write(move |s| {
            s.revoke_api_key(id)?;
            Ok(s.api_keys()?.into_iter().find(|k| k.id == id))
        })
        .await?;
    st.audit(&caller, "DELETE", "/v1/keys/{id}", json!({"id": id}), 200, Some(1)).await;
    Ok(Json(row).into_response())
}
