//! `POST /api/v1/instances/{name}/superuser-access` with `{"enabled": true|false}`: turns
//! the tenant's superuser login on or off, as an operation (`set-superuser-access`),
//! answered 202 like stop, start and restart.
//!
//! Turning it on is refused (400 `unsupported_on_platform`) where a superuser could reach
//! more than its own instance (a local platform whose server is not root); either way where
//! the platform cannot change it (Kubernetes, for now); 409 `invalid_state` when the
//! instance is not running or already has what is asked.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use toygres_cms::InstanceState;
use toygres_domain::ErrorCode;
use toygres_domain::api::{Accepted, SuperuserAccessRequest};

use super::{NamePath, power};
use crate::api::json::ApiJson;
use crate::api::{ApiError, AppState};
use crate::instance_operation::InstanceOperation;

pub async fn handle(
    State(app): State<AppState>,
    NamePath(name): NamePath,
    ApiJson(request): ApiJson<SuperuserAccessRequest>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let supported = match request.enabled {
        true => app
            .platform
            .superuser_access_changes()
            .and_then(|()| app.platform.superuser_access_support()),
        false => app.platform.superuser_access_changes(),
    };
    if let Err(reason) = supported {
        return Err(ApiError::new(ErrorCode::UnsupportedOnPlatform, reason));
    }
    let record = power::live(&app, &name).await?;
    if record.state == InstanceState::Running && record.superuser_access == request.enabled {
        return Err(ApiError::new(
            ErrorCode::InvalidState,
            format!(
                "superuser access of \"{name}\" is already {}",
                if request.enabled { "on" } else { "off" }
            ),
        ));
    }
    let asked = power::Asked {
        superuser_access: Some(request.enabled),
        ..power::Asked::default()
    };
    power::operate(&app, &record, InstanceOperation::SuperuserAccess, asked).await
}
