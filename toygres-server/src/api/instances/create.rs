//! `POST /api/v1/instances`: validate, reserve the name, start create-instance, answer 202.
//!
//! The record is reserved here, under the id of the orchestration about to start, so a
//! duplicate name is a synchronous 409; create-instance is handed the record and never
//! reserves again. A server that dies in between is covered by `reconcile`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use toygres_domain::ErrorCode;
use toygres_domain::api::{Accepted, CreateInstanceRequest};
use toygres_domain::{InstanceName, PostgresVersion, StorageSize};
use toygres_orchestrations::cms::instances::{self, CmsError};
use toygres_orchestrations::names;
use toygres_orchestrations::types::DEFAULT_READINESS_TIMEOUT_SECS;
use toygres_orchestrations::types::v1_1::CreateInstanceInput;
use toygres_platform::InstanceSpec;
use uuid::Uuid;

use super::view;
use crate::api::json::ApiJson;
use crate::api::{ApiError, AppState};

pub async fn handle(
    State(app): State<AppState>,
    ApiJson(request): ApiJson<CreateInstanceRequest>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let spec = validate(&app, request)?;
    let orchestration_id = names::instance_ids::create_instance(&spec.name, Uuid::new_v4());
    let instance_id = instances::reserve(&app.cms, &spec, app.platform.kind(), &orchestration_id)
        .await
        .map_err(|error| match error {
            CmsError::NameTaken(name) => ApiError::new(
                ErrorCode::AlreadyExists,
                format!(
                    "an instance named {name:?} already exists; delete it or choose another name"
                ),
            ),
            other => ApiError::internal(other),
        })?;
    let input = CreateInstanceInput {
        record_id: instance_id,
        spec: spec.clone(),
        health_check_interval_secs: app.health_check_interval_secs,
        readiness_timeout_secs: DEFAULT_READINESS_TIMEOUT_SECS,
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
        instance: view::instance(&record),
        orchestration_id,
    };
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

fn validate(app: &AppState, request: CreateInstanceRequest) -> Result<InstanceSpec, ApiError> {
    let name = InstanceName::parse(request.name)
        .map_err(|e| ApiError::new(ErrorCode::InvalidName, e.0))?;
    let postgres_version = match request.postgres_version {
        Some(version) => PostgresVersion::parse(&version.as_text())
            .map_err(|e| ApiError::new(ErrorCode::InvalidPostgresVersion, e.0))?,
        None => app.platform.default_version(),
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
