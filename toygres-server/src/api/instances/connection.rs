//! `GET /api/v1/instances/{name}/connection[?login=superuser][&route=read_only]`: the
//! connection string, password included, with the CA certificate to verify the server by.
//! Of an instance with standbys it names every member and reaches the primary (or, with
//! `read_only`, a standby when one answers), wherever a failover put it. The only place a
//! password leaves the server: fetched from the platform on each request, never logged,
//! and answered with `Cache-Control: no-store` so no cache along the way keeps it.
//!
//! The login is the owner's; the superuser's only for an instance with superuser access.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header::{CACHE_CONTROL, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use toygres_cms::{self as cms, InstanceState};
use toygres_domain::ErrorCode;
use toygres_domain::api::ConnectionView;
use toygres_platform::{Login, Route};

use super::NamePath;
use crate::api::{ApiError, AppState};

/// Which login to hand out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AskedLogin {
    #[default]
    Owner,
    Superuser,
}

/// Which member to reach.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AskedRoute {
    #[default]
    ReadWrite,
    ReadOnly,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionQuery {
    #[serde(default)]
    login: AskedLogin,
    #[serde(default)]
    route: AskedRoute,
}

pub async fn handle(
    State(app): State<AppState>,
    NamePath(name): NamePath,
    query: Result<Query<ConnectionQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let record = cms::instances::find_live(&app.cms, name.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no instance named \"{name}\"")))?;
    if record.state != InstanceState::Running {
        return Err(ApiError::new(
            ErrorCode::NotRunning,
            format!(
                "instance \"{name}\" is {}; its connection string is available once it is running",
                record.state
            ),
        ));
    }
    let login = match query.login {
        AskedLogin::Owner => Login::Owner,
        AskedLogin::Superuser if record.superuser_access => Login::Superuser,
        AskedLogin::Superuser => {
            return Err(ApiError::new(
                ErrorCode::SuperuserAccessOff,
                format!(
                    "instance \"{name}\" has no superuser access; turn it on first \
                     (toygres-cli superuser-access {name} on)"
                ),
            ));
        }
    };
    let route = match query.route {
        AskedRoute::ReadWrite => Route::ReadWrite,
        AskedRoute::ReadOnly => Route::ReadOnly,
    };
    let endpoint = app
        .platform
        .endpoint(&name)
        .await
        .map_err(ApiError::internal)?;
    let credentials = app
        .platform
        .credentials(&name, login)
        .await
        .map_err(ApiError::internal)?;
    tracing::info!(instance = %name, login = ?query.login, "connection string handed out");
    let view = ConnectionView {
        name: name.to_string(),
        connection_string: credentials.connection_string_to(&endpoint, route),
        user: credentials.user.clone(),
        database: credentials.database.clone(),
        ca_certificate: credentials
            .root_certificate
            .as_ref()
            .map(|ca| ca.pem().to_string()),
    };
    let mut response = Json(view).into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
