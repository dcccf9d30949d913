//! `POST /api/v1/instances/{name}/switchover` with `{}` or `{"to": "shop-2"}`: moves the
//! instance's primary role to a standby, as an operation (`switchover-instance`), answered
//! 202 like stop, start and restart.
//!
//! Checked before anything changes, against the members as the platform sees them now:
//! 400 `unsupported_on_platform` where there are no standbys at all; 409 `invalid_state`
//! for an instance without standbys, one that is not running (another operation owns it),
//! or `to` the primary itself or a standby that does not stream; 404 `not_found` for a
//! `to` that names no member. The orchestration checks the member again when it starts.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use toygres_cms::InstanceState;
use toygres_domain::api::{Accepted, SwitchoverRequest};
use toygres_domain::{ErrorCode, InstanceName, MemberRole, MemberState};
use toygres_platform::Member;

use super::{NamePath, power};
use crate::api::json::ApiJson;
use crate::api::{ApiError, AppState};
use crate::instance_operation::InstanceOperation;

pub async fn handle(
    State(app): State<AppState>,
    NamePath(name): NamePath,
    ApiJson(request): ApiJson<SwitchoverRequest>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    if let Err(reason) = app.platform.standby_support() {
        return Err(ApiError::new(ErrorCode::UnsupportedOnPlatform, reason));
    }
    let record = power::live(&app, &name).await?;
    if record.standbys().is_none() {
        return Err(ApiError::new(
            ErrorCode::InvalidState,
            format!("instance \"{name}\" has no standbys to switch over to"),
        ));
    }
    let to = match &request.to {
        Some(member) if record.state == InstanceState::Running => {
            let members = app
                .platform
                .members(&name)
                .await
                .map_err(ApiError::internal)?;
            Some(target(&name, &members, member)?)
        }
        _ => None,
    };
    let asked = power::Asked {
        switchover_to: to,
        ..power::Asked::default()
    };
    power::operate(&app, &record, InstanceOperation::Switchover, asked).await
}

/// The number of the member `asked` names, when it can take over.
fn target(name: &InstanceName, members: &[Member], asked: &str) -> Result<u8, ApiError> {
    let member = members
        .iter()
        .find(|member| member.name == asked)
        .ok_or_else(|| {
            let known: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
            ApiError::not_found(format!(
                "instance \"{name}\" has no member \"{asked}\" (its members: {})",
                known.join(", ")
            ))
        })?;
    if member.role == MemberRole::Primary {
        return Err(ApiError::new(
            ErrorCode::InvalidState,
            format!("{asked} is the primary of \"{name}\" already"),
        ));
    }
    if member.state != MemberState::Streaming {
        return Err(ApiError::new(
            ErrorCode::InvalidState,
            format!(
                "{asked} is {} and does not stream from the primary: it cannot take over",
                member.state
            ),
        ));
    }
    Ok(member.number)
}
