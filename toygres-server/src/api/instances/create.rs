//! `POST /api/v1/instances`: validate, reserve the name, start create-instance, answer 202.
//!
//! The record is reserved here, under the id of the orchestration about to start, so a
//! duplicate name is a synchronous 409; create-instance is handed the record and never
//! reserves again. A server that dies in between is covered by `reconcile`. A restore
//! (`from_backup` or `from_instance`, with or without `at`) is checked here too (see
//! `restore`), so an impossible one is a 400 that creates nothing.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use toygres_cms::instances::{self, CmsError};
use toygres_domain::ErrorCode;
use toygres_domain::api::{Accepted, CreateInstanceRequest};
use toygres_domain::{
    DatabaseName, InstanceName, PostgresVersion, RoleName, Standbys, StorageSize, check_labels,
};
use toygres_orchestrations::names;
use toygres_orchestrations::types::DEFAULT_READINESS_TIMEOUT_SECS;
use toygres_orchestrations::types::v1_2::CreateInstanceInput;
use toygres_platform::{Access, InstanceSpec};
use uuid::Uuid;

use super::{restore, view};
use crate::api::json::ApiJson;
use crate::api::{ApiError, AppState};

pub async fn handle(
    State(app): State<AppState>,
    ApiJson(request): ApiJson<CreateInstanceRequest>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let source = restore::source(&app, &request).await?;
    check_labels(&request.labels).map_err(|e| ApiError::new(ErrorCode::InvalidLabels, e.0))?;
    let labels = request.labels.clone();
    let spec = validate(&app, request, source.as_ref())?;
    let restore = source.map(|source| source.restore);
    let restore_json = restore
        .as_ref()
        .map(serde_json::to_value)
        .transpose()
        .map_err(ApiError::internal)?;
    let orchestration_id = names::instance_ids::create_instance(&spec.name, Uuid::new_v4());
    let instance_id = instances::reserve_restored(
        &app.cms,
        &spec,
        app.platform.kind(),
        &orchestration_id,
        restore_json.as_ref(),
        &labels,
    )
    .await
    .map_err(|error| match error {
        CmsError::NameTaken(name) => ApiError::new(
            ErrorCode::AlreadyExists,
            format!("an instance named {name:?} already exists; delete it or choose another name"),
        ),
        other => ApiError::internal(other),
    })?;
    let input = CreateInstanceInput {
        record_id: instance_id,
        spec: spec.clone(),
        health_check_interval_secs: app.health_check_interval_secs,
        readiness_timeout_secs: DEFAULT_READINESS_TIMEOUT_SECS,
        restore,
    };
    app.client
        .start_orchestration_typed(
            &orchestration_id,
            names::orchestrations::CREATE_INSTANCE,
            input,
        )
        .await
        .map_err(ApiError::internal)?;
    tracing::info!(
        instance = %spec.name,
        orchestration_id = %orchestration_id,
        postgres_version = %spec.postgres_version,
        storage = %spec.storage,
        "create accepted"
    );
    let record = instances::get(&app.cms, instance_id)
        .await?
        .ok_or_else(|| ApiError::internal(format!("record {instance_id} vanished")))?;
    let accepted = Accepted {
        instance: view::instance(&record, app.health_interval()),
        orchestration_id,
    };
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

/// The spec of the new instance; a restore runs its source's version (which must be
/// installed like any other) with its source's owner and database.
pub(crate) fn validate(
    app: &AppState,
    request: CreateInstanceRequest,
    source: Option<&restore::Source>,
) -> Result<InstanceSpec, ApiError> {
    let name = InstanceName::parse(request.name)
        .map_err(|e| ApiError::new(ErrorCode::InvalidName, e.0))?;
    let access = match source {
        Some(source) => source.access.clone(),
        None => access(
            app,
            request.owner,
            request.database,
            request.superuser_access,
        )?,
    };
    let postgres_version = match (
        source.map(|source| source.version),
        request.postgres_version,
    ) {
        (Some(version), _) => version,
        (None, Some(version)) => PostgresVersion::parse(&version.as_text())
            .map_err(|e| ApiError::new(ErrorCode::InvalidPostgresVersion, e.0))?,
        (None, None) => app.platform.default_version(),
    };
    app.platform
        .check_version(postgres_version)
        .map_err(|e| ApiError::new(ErrorCode::UnsupportedPostgresVersion, e.to_string()))?;
    let standbys = Standbys::new(
        request.standbys.unwrap_or(0),
        request.synchronous.unwrap_or(false),
    )
    .map_err(|e| ApiError::new(ErrorCode::InvalidStandbys, e.0))?;
    if !standbys.is_none()
        && let Err(reason) = app.platform.standby_support()
    {
        return Err(ApiError::new(ErrorCode::UnsupportedOnPlatform, reason));
    }
    let storage = match request.storage_gb {
        Some(gib) => StorageSize::from_gib(gib)
            .map_err(|e| ApiError::new(ErrorCode::InvalidStorageSize, e.0))?,
        None => StorageSize::default(),
    };
    Ok(InstanceSpec {
        name,
        postgres_version,
        storage,
        access,
        standbys,
        settings: source
            .map(|source| source.settings.clone())
            .unwrap_or_default(),
    })
}

/// The logins asked for: names checked, and superuser access only where a superuser would
/// reach nothing but its own instance.
fn access(
    app: &AppState,
    owner: Option<String>,
    database: Option<String>,
    superuser_access: Option<bool>,
) -> Result<Access, ApiError> {
    let defaults = Access::default();
    let owner = match owner {
        Some(owner) => {
            RoleName::parse(owner).map_err(|e| ApiError::new(ErrorCode::InvalidOwner, e.0))?
        }
        None => defaults.owner,
    };
    let database = match database {
        Some(database) => DatabaseName::parse(database)
            .map_err(|e| ApiError::new(ErrorCode::InvalidDatabase, e.0))?,
        None => defaults.database,
    };
    let superuser_access = superuser_access.unwrap_or(false);
    if superuser_access && let Err(reason) = app.platform.superuser_access_support() {
        return Err(ApiError::new(ErrorCode::UnsupportedOnPlatform, reason));
    }
    Ok(Access {
        owner,
        database,
        superuser_access,
    })
}
