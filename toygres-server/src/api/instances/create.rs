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
use toygres_domain::ErrorCode;
use toygres_domain::api::{Accepted, CreateInstanceRequest};
use toygres_domain::{InstanceName, PostgresVersion, StorageSize};
use toygres_orchestrations::cms::instances::{self, CmsError};
use toygres_orchestrations::names;
use toygres_orchestrations::types::DEFAULT_READINESS_TIMEOUT_SECS;
use toygres_orchestrations::types::v1_2::CreateInstanceInput;
use toygres_platform::InstanceSpec;
use uuid::Uuid;

use super::{restore, view};
use crate::api::json::ApiJson;
use crate::api::{ApiError, AppState};

pub async fn handle(
    State(app): State<AppState>,
    ApiJson(request): ApiJson<CreateInstanceRequest>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let restore = restore::source(&app, &request).await?;
    let spec = validate(&app, request, restore.as_ref().map(|(_, version)| *version))?;
    let restore = restore.map(|(restore, _)| restore);
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

/// The spec of the new instance; a restore runs `restored_version` (its source's), which
/// must be installed like any other.
fn validate(
    app: &AppState,
    request: CreateInstanceRequest,
    restored_version: Option<PostgresVersion>,
) -> Result<InstanceSpec, ApiError> {
    let name = InstanceName::parse(request.name)
        .map_err(|e| ApiError::new(ErrorCode::InvalidName, e.0))?;
    let postgres_version = match (restored_version, request.postgres_version) {
        (Some(version), _) => version,
        (None, Some(version)) => PostgresVersion::parse(&version.as_text())
            .map_err(|e| ApiError::new(ErrorCode::InvalidPostgresVersion, e.0))?,
        (None, None) => app.platform.default_version(),
    };
    app.platform
        .check_version(postgres_version)
        .map_err(|e| ApiError::new(ErrorCode::UnsupportedPostgresVersion, e.to_string()))?;
    let storage = match request.storage_gb {
        Some(gib) => StorageSize::from_gib(gib)
            .map_err(|e| ApiError::new(ErrorCode::InvalidStorageSize, e.0))?,
        None => StorageSize::default(),
    };
    Ok(InstanceSpec {
        name,
        postgres_version,
        storage,
    })
}
