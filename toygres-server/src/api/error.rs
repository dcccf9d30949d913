//! API errors: a status, a stable code a program can match, and a sentence for a person.
//!
//! | status | codes |
//! |---|---|
//! | 400 | `malformed_json`, `invalid_request`, `invalid_name`, `invalid_postgres_version`, `unsupported_postgres_version`, `invalid_storage_size` |
//! | 401 | `unauthorized` |
//! | 404 | `not_found` |
//! | 405 | `method_not_allowed` |
//! | 409 | `already_exists`, `not_running` |
//! | 413 | `payload_too_large` |
//! | 415 | `unsupported_media_type` |
//! | 500 | `internal` (details in the server log only) |
//! | 503 | `unavailable` (the control database did not answer in time) |

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use toygres_orchestrations::cms::instances::CmsError;
use toygres_orchestrations::domain::api::ErrorBody;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid API token is required: Authorization: Bearer <token>",
        )
    }

    /// The control database did not answer in time: retrying later may work.
    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %cause, "request answered 503");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the control plane's database is not answering; try again shortly",
        )
    }

    /// Logs the cause and answers without it: internals are for operators.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; the server log has the details",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code.to_string(),
            message: self.message,
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<CmsError> for ApiError {
    fn from(error: CmsError) -> Self {
        match &error {
            CmsError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_)) => {
                Self::unavailable(error)
            }
            _ => Self::internal(error),
        }
    }
}

pub async fn no_such_route() -> ApiError {
    ApiError::not_found("no such route; the API is under /api/v1")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept that method",
    )
}
