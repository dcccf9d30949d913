//! API errors: a stable code a program can match (`ErrorCode`, which also fixes the HTTP
//! status) and a sentence for a person. `docs/api.md` lists every code; a test holds that
//! table to the enum.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use toygres_cms::instances::CmsError;
use toygres_domain::ErrorCode;
use toygres_domain::api::ErrorBody;

#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            ErrorCode::Unauthorized,
            "a valid API token is required: Authorization: Bearer <token>",
        )
    }

    /// The control database did not answer in time: retrying later may work.
    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %cause, "request answered 503");
        Self::new(
            ErrorCode::Unavailable,
            "the control plane's database is not answering; try again shortly",
        )
    }

    /// Logs the cause and answers without it: internals are for operators.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        Self::new(
            ErrorCode::Internal,
            "internal error; the server log has the details",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.code.status()).expect("every error code has a valid status");
        let body = ErrorBody {
            error: self.code,
            message: self.message,
        };
        (status, Json(body)).into_response()
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

/// A query string of the wrong shape (unknown parameter, wrong type).
impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::new(ErrorCode::InvalidRequest, rejection.body_text())
    }
}

pub async fn no_such_route() -> ApiError {
    ApiError::not_found("no such route; the API is under /api/v1")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this route does not accept that method",
    )
}
