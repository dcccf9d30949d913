//! `GET /api/v1/instances/{name}/connection`: the connection string, password included.
//! The only place a password leaves the server; it is fetched from the platform on each
//! request and never logged.

use axum::Json;
use axum::extract::State;
use toygres_domain::ErrorCode;
use toygres_domain::api::ConnectionView;
use toygres_orchestrations::cms::{self, InstanceState};
use toygres_platform::Endpoint;

use super::NamePath;
use crate::api::{ApiError, AppState};

pub async fn handle(
    State(app): State<AppState>,
    NamePath(name): NamePath,
) -> Result<Json<ConnectionView>, ApiError> {
    let record = cms::instances::find_live(&app.cms, name.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no instance named \"{name}\"")))?;
    let (Some(host), Some(port), InstanceState::Running) = (
        record.endpoint_host.clone(),
        record.endpoint_port,
        record.state,
    ) else {
        return Err(ApiError::new(
            ErrorCode::NotRunning,
            format!(
                "instance \"{name}\" is {}; its connection string is available once it is running",
                record.state
            ),
        ));
    };
    let endpoint = Endpoint {
        host,
        port: u16::try_from(port).map_err(ApiError::internal)?,
        user: record.endpoint_user.clone().unwrap_or_default(),
        database: record.endpoint_database.clone().unwrap_or_default(),
    };
    let credentials = app
        .platform
        .credentials(&name)
        .await
        .map_err(ApiError::internal)?;
    tracing::info!(instance = %name, "connection string handed out");
    Ok(Json(ConnectionView {
        name: name.to_string(),
        connection_string: credentials.connection_string(&endpoint),
    }))
}
