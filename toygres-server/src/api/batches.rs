//! `/api/v1/batches`: many creates or many deletes as one operation (`batch`), answered
//! 202 with the operation's id and the instances it acts on.
//!
//! `create`: `count` instances from one template, named `NAME-1` .. `NAME-count`, every
//! one checked as a single create would be before anything starts (a name already taken
//! is a 409 that creates nothing). `delete`: the live instances a label selector picks, or
//! those named (an unknown name is a 404); each is deleted as `DELETE /instances/{name}`
//! would (the same operation id), so asking again finds what is left, and with nothing
//! left the answer is 200 with no operation.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use toygres_cms::instances::{self, InstanceRecord};
use toygres_domain::api::{BatchAccepted, BatchCreateRequest, BatchDeleteRequest};
use toygres_domain::{ErrorCode, InstanceName, Selector, check_labels};
use toygres_orchestrations::names;
use toygres_orchestrations::types::{BatchChild, BatchInput, DEFAULT_READINESS_TIMEOUT_SECS};
use uuid::Uuid;

use super::instances::create;
use crate::api::json::ApiJson;
use crate::api::{ApiError, AppState};

/// The largest batch one request makes.
pub const MAX_BATCH: u32 = 500;

pub async fn create(
    State(app): State<AppState>,
    ApiJson(request): ApiJson<BatchCreateRequest>,
) -> Result<(StatusCode, Json<BatchAccepted>), ApiError> {
    let template = &request.template;
    if !(1..=MAX_BATCH).contains(&request.count) {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("count must be 1 to {MAX_BATCH}"),
        ));
    }
    if template.from_backup.is_some() || template.from_instance.is_some() || template.at.is_some() {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "a batch creates empty instances: restore them one at a time",
        ));
    }
    check_labels(&template.labels).map_err(|e| ApiError::new(ErrorCode::InvalidLabels, e.0))?;
    let mut children = Vec::new();
    let mut taken = Vec::new();
    for number in 1..=request.count {
        let name = format!("{}-{number}", template.name);
        let spec = create::validate(
            &app,
            toygres_domain::api::CreateInstanceRequest {
                name: name.clone(),
                ..template.clone()
            },
            None,
        )?;
        if instances::find_live(&app.cms, &name).await?.is_some() {
            taken.push(name);
            continue;
        }
        children.push(BatchChild::Create {
            orchestration_id: names::instance_ids::create_instance(&spec.name, Uuid::new_v4()),
            spec,
            labels: template.labels.clone(),
            health_check_interval_secs: app.health_check_interval_secs,
            readiness_timeout_secs: DEFAULT_READINESS_TIMEOUT_SECS,
        });
    }
    if !taken.is_empty() {
        return Err(ApiError::new(
            ErrorCode::AlreadyExists,
            format!("instances named {} already exist", taken.join(", ")),
        ));
    }
    start(&app, children).await
}

pub async fn delete(
    State(app): State<AppState>,
    ApiJson(request): ApiJson<BatchDeleteRequest>,
) -> Result<(StatusCode, Json<BatchAccepted>), ApiError> {
    let records = match (&request.selector, request.names.is_empty()) {
        (Some(selector), true) => selected(&app, selector).await?,
        (None, false) => named(&app, &request.names).await?,
        _ => {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                "give either a selector or names",
            ));
        }
    };
    let children = records
        .iter()
        .map(|record| {
            Ok(BatchChild::Delete {
                orchestration_id: record
                    .delete_orchestration_id
                    .clone()
                    .unwrap_or_else(|| names::instance_ids::delete_instance(record.id)),
                record_id: record.id,
                name: InstanceName::parse(record.name.as_str()).map_err(ApiError::internal)?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    start(&app, children).await
}

/// The live records whose labels `selector` picks.
async fn selected(app: &AppState, selector: &str) -> Result<Vec<InstanceRecord>, ApiError> {
    let selector =
        Selector::parse(selector).map_err(|e| ApiError::new(ErrorCode::InvalidLabels, e.0))?;
    Ok(instances::list_live(&app.cms)
        .await?
        .into_iter()
        .filter(|record| selector.matches(&record.labels.0))
        .collect())
}

/// The live records of `names`; 404 for a name without one.
async fn named(app: &AppState, names: &[String]) -> Result<Vec<InstanceRecord>, ApiError> {
    let mut records = Vec::new();
    for name in names {
        let record = instances::find_live(&app.cms, name)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no live instance named \"{name}\"")))?;
        if !records.iter().any(|r: &InstanceRecord| r.id == record.id) {
            records.push(record);
        }
    }
    Ok(records)
}

/// Starts the batch of `children` (200 and no operation when there are none).
async fn start(
    app: &AppState,
    children: Vec<BatchChild>,
) -> Result<(StatusCode, Json<BatchAccepted>), ApiError> {
    let instances: Vec<String> = children.iter().map(|c| c.name().to_string()).collect();
    if children.is_empty() {
        return Ok((
            StatusCode::OK,
            Json(BatchAccepted {
                orchestration_id: None,
                instances,
            }),
        ));
    }
    let id = names::instance_ids::batch(Uuid::new_v4());
    let input = BatchInput {
        children,
        parallelism: app.batch_parallelism,
    };
    app.client
        .start_orchestration_typed(&id, names::orchestrations::BATCH, input)
        .await
        .map_err(ApiError::internal)?;
    tracing::info!(orchestration_id = %id, instances = instances.len(), "batch accepted");
    Ok((
        StatusCode::ACCEPTED,
        Json(BatchAccepted {
            orchestration_id: Some(id),
            instances,
        }),
    ))
}
