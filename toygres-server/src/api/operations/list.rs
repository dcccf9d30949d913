//! `GET /api/v1/operations[?instance=NAME][&status=S][&kind=K][&limit=N][&cursor=C]`:
//! operations newest first, a page at a time (`next_cursor` continues).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use toygres_domain::api::OperationList;
use toygres_domain::{ErrorCode, InstanceName, OperationKind, OperationStatus};

use super::summaries;
use crate::api::{ApiError, AppState};
use crate::operations::{kind, store, subject};

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 500;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    instance: Option<String>,
    status: Option<OperationStatus>,
    kind: Option<OperationKind>,
    limit: Option<i64>,
    cursor: Option<String>,
}

pub async fn handle(
    State(app): State<AppState>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<OperationList>, ApiError> {
    let Query(params) = params?;
    if let Some(status) = params.status
        && !matches!(
            status,
            OperationStatus::Running | OperationStatus::Completed | OperationStatus::Failed
        )
    {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("status {status} is not one to list by: running, completed or failed"),
        ));
    }
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("limit must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let after = params
        .cursor
        .as_deref()
        .map(|text| {
            store::Cursor::decode(text, &app.token).ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidRequest,
                    "cursor is not one this server gave out",
                )
            })
        })
        .transpose()?;
    let id_patterns = match params.instance {
        None => None,
        Some(name) => {
            let name = InstanceName::parse(name)
                .map_err(|e| ApiError::new(ErrorCode::InvalidName, e.0))?;
            Some(subject::id_patterns(&app.cms, name.as_str()).await?)
        }
    };
    let filter = store::Filter {
        status: params.status,
        orchestrations: params.kind.map(|k| {
            kind::orchestrations_of(k)
                .iter()
                .map(|name| name.to_string())
                .collect()
        }),
        id_patterns,
        parent: None,
        after,
        // One more than asked tells whether there is a next page.
        limit: limit + 1,
    };
    let mut rows = store::list(&app.cms, &filter)
        .await
        .map_err(ApiError::internal)?;
    let next_cursor = (rows.len() as i64 > limit).then(|| {
        rows.truncate(limit as usize);
        rows.last().map(|row| row.cursor().encode(&app.token))
    });
    Ok(Json(OperationList {
        operations: summaries(&app.cms, &rows).await?,
        next_cursor: next_cursor.flatten(),
    }))
}
