//! The fleet's state as gauges, read from the database at each scrape: instances by state,
//! running instances by health (`stale` as the API shows it), and operations by kind and
//! status. Every value is set, zeros included, so a series never keeps an old value.

use std::collections::HashMap;
use std::time::Duration;

use sqlx::PgPool;
use toygres_domain::{HealthStatus, InstanceState, OperationKind, OperationStatus};
use toygres_orchestrations::DUROXIDE_SCHEMA;

use crate::operations::kind;

const INSTANCES: &str = "toygres_instances";
const INSTANCES_BY_HEALTH: &str = "toygres_running_instances";
const OPERATIONS: &str = "toygres_operations";

pub fn describe() {
    metrics::describe_gauge!(
        INSTANCES,
        "Instances by state (deleted ones are not counted)"
    );
    metrics::describe_gauge!(
        INSTANCES_BY_HEALTH,
        "Running instances by health (stale: unchecked for three intervals)"
    );
    metrics::describe_gauge!(
        OPERATIONS,
        "Operations in the store by kind and status (failed ones stay until pruned)"
    );
}

/// Sets the gauges from the database.
pub async fn refresh(pool: &PgPool, health_interval: Duration) -> Result<(), sqlx::Error> {
    let states: HashMap<String, i64> = sqlx::query_as(
        "SELECT state, count(*) FROM toygres_cms.instances WHERE state <> 'deleted' GROUP BY state",
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .collect();
    for state in InstanceState::ALL
        .iter()
        .filter(|s| **s != InstanceState::Deleted)
    {
        let count = states.get(state.as_str()).copied().unwrap_or(0);
        metrics::gauge!(INSTANCES, "state" => state.as_str()).set(count as f64);
    }

    let stale_after = (health_interval * 3).as_secs_f64();
    let health: HashMap<String, i64> = sqlx::query_as(
        "SELECT CASE WHEN health_status <> 'unknown'
                      AND last_health_check_at < now() - make_interval(secs => $1)
                     THEN 'stale' ELSE health_status END,
                count(*)
         FROM toygres_cms.instances WHERE state = 'running' GROUP BY 1",
    )
    .bind(stale_after)
    .fetch_all(pool)
    .await?
    .into_iter()
    .collect();
    for status in HealthStatus::ALL {
        let count = health.get(status.as_str()).copied().unwrap_or(0);
        metrics::gauge!(INSTANCES_BY_HEALTH, "health" => status.as_str()).set(count as f64);
    }

    let operations: Vec<(String, Option<String>, i64)> = sqlx::query_as(&format!(
        "SELECT i.orchestration_name, e.status, count(*)
         FROM {DUROXIDE_SCHEMA}.instances i
         LEFT JOIN {DUROXIDE_SCHEMA}.executions e
           ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id
         GROUP BY 1, 2"
    ))
    .fetch_all(pool)
    .await?;
    let mut counts: HashMap<(OperationKind, &str), i64> = HashMap::new();
    for (orchestration, status, count) in &operations {
        let status = match status.as_deref() {
            // No execution row yet: duroxide reads that as running too.
            Some("Running") | None => OperationStatus::Running,
            Some("Completed") => OperationStatus::Completed,
            Some("Failed") => OperationStatus::Failed,
            _ => OperationStatus::Unknown,
        };
        *counts
            .entry((kind::of(orchestration), status.as_str()))
            .or_default() += count;
    }
    for kind in OperationKind::ALL {
        for status in [
            OperationStatus::Running,
            OperationStatus::Completed,
            OperationStatus::Failed,
        ] {
            let count = counts.get(&(*kind, status.as_str())).copied().unwrap_or(0);
            metrics::gauge!(OPERATIONS, "kind" => kind.as_str(), "status" => status.as_str())
                .set(count as f64);
        }
    }
    Ok(())
}
