//! The instance name in a URL path, checked like a name in a request body, as an extractor
//! whose rejections are API errors (axum's own are plain text): a path segment that is not
//! valid percent-encoded UTF-8 is `invalid_request`, one that is not a valid name
//! `invalid_name`.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use toygres_domain::{ErrorCode, InstanceName};

use crate::api::ApiError;

pub struct NamePath(pub InstanceName);

impl<S: Send + Sync> FromRequestParts<S> for NamePath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| {
                ApiError::new(
                    ErrorCode::InvalidRequest,
                    format!(
                        "the instance name in the path cannot be read: {}",
                        rejection.body_text()
                    ),
                )
            })?;
        InstanceName::parse(raw)
            .map(Self)
            .map_err(|e| ApiError::new(ErrorCode::InvalidName, e.0))
    }
}
