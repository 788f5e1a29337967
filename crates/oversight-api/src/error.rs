//! The one error body of the API, `{"error": {"code", "message", "details"}}`, and the one mapping from
//! error codes to HTTP statuses. 5xx bodies never carry internals: those go to the log.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use oversight_core::ErrorCode;
use serde::Serialize;
use utoipa::ToSchema;

/// The error body of every non-2xx response.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"error": {"code": "invalid_parameter", "message": "from: expected a date (YYYY-MM-DD), got \"2020-13-01\"", "details": {"parameter": "from"}}}))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// invalid_parameter, unknown_parameter, not_found, unauthorized, forbidden, conflict, payload_too_large,
    /// file_refused, unprocessable, unavailable, database_corrupt, read_only, insufficient_storage,
    /// too_many_requests, request_timeout or internal.
    pub code: String,
    pub message: String,
    /// Extra structured context (e.g. the parameter at fault), or null.
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

/// An error on its way to becoming a response.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<serde_json::Value>,
}

/// The status of each error code: the only place it is decided.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidParameter | ErrorCode::UnknownParameter => StatusCode::BAD_REQUEST,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::FileRefused | ErrorCode::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::Unavailable | ErrorCode::DatabaseCorrupt => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::ReadOnly => StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::InsufficientStorage => StatusCode::INSUFFICIENT_STORAGE,
        ErrorCode::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), details: None }
    }
    /// A bad value of a named parameter.
    pub fn param(name: &str, message: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::InvalidParameter,
            message: format!("{name}: {}", message.into()),
            details: Some(serde_json::json!({ "parameter": name })),
        }
    }
    pub fn not_found(what: &str, id: impl std::fmt::Display) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} {id} not found"))
    }
    pub fn internal(context: &str, e: impl std::fmt::Display) -> Self {
        let _in_request = crate::telemetry::request_span().entered();
        tracing::error!("{context}: {e}");
        Self::new(ErrorCode::Internal, "internal error; the server log has the details")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(self.code);
        // Internals stay in the log; the 5xx errors with their own code say what happened in words written
        // for the client.
        let message = if self.code == ErrorCode::Internal {
            "internal error; the server log has the details".to_owned()
        } else {
            self.message
        };
        let body =
            ErrorBody { error: ErrorDetail { code: self.code.as_str().to_owned(), message, details: self.details } };
        let mut resp = (status, axum::Json(body)).into_response();
        if self.code == ErrorCode::ReadOnly {
            resp.headers_mut().insert(axum::http::header::ALLOW, axum::http::HeaderValue::from_static("GET, HEAD"));
        }
        resp
    }
}

/// Errors of the layers below keep their own codes; their text is safe to show except for internals.
macro_rules! from_layer {
    ($t:ty) => {
        impl From<$t> for ApiError {
            fn from(e: $t) -> Self {
                let code = e.code();
                if code == ErrorCode::Internal {
                    return ApiError::internal(stringify!($t), e);
                }
                ApiError::new(code, e.to_string())
            }
        }
    };
}
from_layer!(oversight_store::StoreError);
from_layer!(oversight_metrics::MetricsError);
from_layer!(oversight_import::ImportError);
from_layer!(oversight_service::ApplyError);

/// A refused row filter, sort, column list or table shape: a 400 naming the parameter.
impl From<oversight_core::filter::FilterError> for ApiError {
    fn from(e: oversight_core::filter::FilterError) -> Self {
        ApiError::param(&e.param, e.message)
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::internal("blocking task", e)
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;
