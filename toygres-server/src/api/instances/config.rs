//! `/api/v1/instances/{name}/config`: an instance's PostgreSQL parameters.
//!
//! `GET` reads the running server's `pg_settings` (with the monitor's login, as the health
//! probe does) and answers the parameters set for the instance (not PostgreSQL's defaults,
//! not the reading session's own, not the control plane's paths) and those the tenant
//! asked for, each with where its value comes from and
//! whether a change waits for a restart.
//!
//! `POST` with `{"set": {"work_mem": "64MB"}, "reset": ["statement_timeout"]}` checks every
//! name and value against that same server's `pg_settings` before anything changes: a
//! parameter it does not have, a value it would refuse (PostgreSQL's own sentence), or one
//! the control plane keeps to itself is a 400 `invalid_parameter` that changes nothing.
//! Then the record keeps the new desired parameters and moves to `configuring`, and
//! `configure-instance` applies them (202, like restart).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use toygres_cms::InstanceState;
use toygres_cms::instances::InstanceRecord;
use toygres_domain::ErrorCode;
use toygres_domain::api::{Accepted, ConfigChangeRequest, ConfigView, ParameterView};
use toygres_domain::parameters::{
    ParameterName, ParameterSetting, PreloadAllowList, SHARED_PRELOAD_LIBRARIES, Settings,
};
use toygres_platform::{Login, probe};

use super::{NamePath, power};
use crate::api::json::ApiJson;
use crate::api::{ApiError, AppState};
use crate::instance_operation::InstanceOperation;

/// How long reading a server's parameters may take.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn show(
    State(app): State<AppState>,
    NamePath(name): NamePath,
) -> Result<Json<ConfigView>, ApiError> {
    let record = power::live(&app, &name).await?;
    let settings = read(&app, &record).await?;
    let desired = &record.settings.0;
    let parameters = settings
        .into_iter()
        .filter_map(|setting| {
            let name = ParameterName::parse(&setting.name).ok()?;
            let asked = desired.get(&name).cloned();
            (asked.is_some() || setting.pending_restart || tenants_to_see(&name, &setting))
                .then(|| view(setting, asked))
        })
        .collect();
    Ok(Json(ConfigView {
        instance: record.name,
        parameters,
    }))
}

pub async fn change(
    State(app): State<AppState>,
    NamePath(name): NamePath,
    ApiJson(request): ApiJson<ConfigChangeRequest>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let (set, reset) = parse(&request, &app.preload)?;
    if let Err(reason) = app.platform.settings_support() {
        return Err(ApiError::new(ErrorCode::UnsupportedOnPlatform, reason));
    }
    let record = power::live(&app, &name).await?;
    let known = read(&app, &record).await?;
    for (parameter, value) in &set {
        known_setting(&known, parameter)?
            .check(value)
            .map_err(|invalid| ApiError::new(ErrorCode::InvalidParameter, invalid.0))?;
    }
    for parameter in &reset {
        if !record.settings.0.contains_key(parameter) {
            known_setting(&known, parameter)?;
        }
    }
    let mut settings = record.settings.0.clone();
    settings.retain(|parameter, _| !reset.contains(parameter));
    settings.extend(set);
    let asked = power::Asked {
        settings: Some(settings),
        ..power::Asked::default()
    };
    power::operate(&app, &record, InstanceOperation::Configure, asked).await
}

/// The names and values asked for, each name a parameter the tenant may change.
fn parse(
    request: &ConfigChangeRequest,
    preload: &PreloadAllowList,
) -> Result<(Settings, Vec<ParameterName>), ApiError> {
    let invalid = |message: String| ApiError::new(ErrorCode::InvalidParameter, message);
    let name = |raw: &str| {
        let name = ParameterName::parse(raw).map_err(|e| invalid(e.0))?;
        let preloading = name.as_str() == SHARED_PRELOAD_LIBRARIES;
        match name.owned_by_control_plane() {
            Some(_) if preloading && !preload.is_empty() => Ok(name),
            Some(why) if preloading => Err(invalid(format!(
                "parameter \"{name}\" is the control plane's to set: {why}, and this server \
                 allows no library (--allow-preload-library)"
            ))),
            Some(why) => Err(invalid(format!(
                "parameter \"{name}\" is the control plane's to set: {why}"
            ))),
            None => Ok(name),
        }
    };
    if request.set.is_empty() && request.reset.is_empty() {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "name a parameter to set or to reset",
        ));
    }
    let mut set = Settings::new();
    for (raw, value) in &request.set {
        if value.contains(['\n', '\r', '\0']) {
            return Err(ApiError::new(
                ErrorCode::InvalidParameter,
                format!("the value of \"{raw}\" must be one line"),
            ));
        }
        let parameter = name(raw)?;
        if parameter.as_str() == SHARED_PRELOAD_LIBRARIES {
            preload.check(value).map_err(|e| invalid(e.0))?;
        }
        set.insert(parameter, value.trim().to_string());
    }
    let reset = request
        .reset
        .iter()
        .map(|raw| name(raw))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(both) = reset.iter().find(|name| set.contains_key(*name)) {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("\"{both}\" is both set and reset"),
        ));
    }
    Ok((set, reset))
}

/// What the instance's running server says about each of its parameters.
async fn read(app: &AppState, record: &InstanceRecord) -> Result<Vec<ParameterSetting>, ApiError> {
    let name = &record.name;
    if record.state != InstanceState::Running {
        return Err(ApiError::new(
            ErrorCode::InvalidState,
            format!(
                "instance \"{name}\" is {}: its parameters are read from its running server",
                record.state
            ),
        ));
    }
    let instance = toygres_domain::InstanceName::parse(name).map_err(ApiError::internal)?;
    let endpoint = app
        .platform
        .endpoint(&instance)
        .await
        .map_err(ApiError::internal)?;
    let credentials = app
        .platform
        .credentials(&instance, Login::Monitor)
        .await
        .map_err(ApiError::internal)?;
    probe::parameters(&endpoint, &credentials, READ_TIMEOUT)
        .await
        .map_err(|e| ApiError::internal(format!("reading the parameters of \"{name}\": {e}")))
}

/// `parameter`'s row, or PostgreSQL's sentence for a parameter it does not know.
fn known_setting<'a>(
    known: &'a [ParameterSetting],
    parameter: &ParameterName,
) -> Result<&'a ParameterSetting, ApiError> {
    known
        .iter()
        .find(|setting| setting.name == parameter.as_str())
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidParameter,
                format!("unrecognized configuration parameter \"{parameter}\""),
            )
        })
}

/// A parameter set for the whole instance (not by the reading session, not left at its
/// default), unless it is one of the control plane's that names a path: where the control
/// plane keeps its files is not the tenant's business.
fn tenants_to_see(name: &ParameterName, setting: &ParameterSetting) -> bool {
    let instance_wide = !matches!(
        setting.source.as_str(),
        "default" | "client" | "session" | "override"
    );
    let control_plane_path =
        name.owned_by_control_plane().is_some() && setting.setting.contains('/');
    instance_wide && !control_plane_path
}

fn view(setting: ParameterSetting, desired: Option<String>) -> ParameterView {
    ParameterView {
        needs_restart: setting.needs_restart(),
        pending_restart: setting.pending_restart,
        value: match &setting.unit {
            Some(unit) if unit.starts_with(|c: char| c.is_ascii_digit()) => {
                format!("{} × {unit}", setting.setting)
            }
            Some(unit) => format!("{}{unit}", setting.setting),
            None => setting.setting,
        },
        source: setting.source,
        name: setting.name,
        desired,
    }
}
