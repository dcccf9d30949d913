//! `POST /api/v1/instances/{name}/labels` with `{"set": {"tier": "gold"}, "remove":
//! ["team"]}`: changes an instance's labels at once (no operation: labels are the
//! control plane's bookkeeping, not the instance's), answered 200 with the instance.
//! A key or value outside Kubernetes' rules is a 400 `invalid_labels` that changes nothing.

use axum::Json;
use axum::extract::State;
use toygres_cms::instances;
use toygres_domain::api::{InstanceView, LabelsRequest};
use toygres_domain::{ErrorCode, check_label, check_labels};

use super::{NamePath, power, view};
use crate::api::json::ApiJson;
use crate::api::{ApiError, AppState};

pub async fn handle(
    State(app): State<AppState>,
    NamePath(name): NamePath,
    ApiJson(request): ApiJson<LabelsRequest>,
) -> Result<Json<InstanceView>, ApiError> {
    let invalid = |e: toygres_domain::InvalidValue| ApiError::new(ErrorCode::InvalidLabels, e.0);
    check_labels(&request.set).map_err(invalid)?;
    for key in &request.remove {
        check_label(key, "").map_err(invalid)?;
        if request.set.contains_key(key) {
            return Err(ApiError::new(
                ErrorCode::InvalidLabels,
                format!("label \"{key}\" is both set and removed"),
            ));
        }
    }
    if request.set.is_empty() && request.remove.is_empty() {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "name a label to set or to remove",
        ));
    }
    let record = power::live(&app, &name).await?;
    let changed = instances::change_labels(&app.cms, record.id, &request.set, &request.remove)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no instance named \"{name}\"")))?;
    tracing::info!(instance = %name, labels = ?changed.labels.0, "labels changed");
    Ok(Json(view::instance(&changed, app.health_interval())))
}
