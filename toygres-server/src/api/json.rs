//! A JSON body extractor whose rejections are API errors (axum's are plain text).
//!
//! The body must be a JSON object: serde would otherwise also accept an array as a struct
//! (`["shop"]` as `{"name": "shop"}`), which no client means.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::Value;
use toygres_domain::ErrorCode;

use super::ApiError;

pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(value) = axum::Json::<Value>::from_request(request, state)
            .await
            .map_err(into_api_error)?;
        if !value.is_object() {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                "the request body must be a JSON object",
            ));
        }
        serde_json::from_value(value).map(Self).map_err(|e| {
            ApiError::new(
                ErrorCode::InvalidRequest,
                format!("invalid request body: {e}"),
            )
        })
    }
}

fn into_api_error(rejection: JsonRejection) -> ApiError {
    let message = rejection.body_text();
    match rejection {
        JsonRejection::JsonDataError(_) => ApiError::new(ErrorCode::InvalidRequest, message),
        JsonRejection::JsonSyntaxError(_) => ApiError::new(ErrorCode::MalformedJson, message),
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send the body as JSON with Content-Type: application/json",
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "request bodies are limited to {} bytes",
                super::MAX_BODY_BYTES
            ),
        ),
        _ => ApiError::new(ErrorCode::InvalidRequest, message),
    }
}
