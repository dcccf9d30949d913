//! Recovery at start-up.
//!
//! The API reserves the CMS record, then starts create-instance. A server that dies between
//! the two leaves a `creating` record with no orchestration; this starts it, with the id the
//! record names, so the create finishes as if nothing had happened. Starting an
//! orchestration that already exists is never attempted.

use duroxide::{Client, OrchestrationStatus};
use sqlx::PgPool;
use toygres_orchestrations::cms::{self, InstanceState};
use toygres_orchestrations::domain::{InstanceName, PostgresVersion, StorageSize};
use toygres_orchestrations::names;
use toygres_orchestrations::platform::InstanceSpec;
use toygres_orchestrations::types::CreateInstanceInput;

pub async fn start_orphaned_creates(
    cms: &PgPool,
    client: &Client,
    health_check_interval_secs: u64,
) -> anyhow::Result<usize> {
    let mut started = 0;
    for record in cms::instances::list(cms).await? {
        if record.state() != InstanceState::Creating {
            continue;
        }
        let id = &record.create_orchestration_id;
        if client.get_orchestration_status(id).await? != OrchestrationStatus::NotFound {
            continue;
        }
        let spec = InstanceSpec {
            name: InstanceName::parse(record.name.as_str())?,
            postgres_version: PostgresVersion::parse(&record.postgres_version)?,
            storage: StorageSize::from_gib(record.storage_gb.try_into()?)?,
        };
        let input = CreateInstanceInput {
            health_check_interval_secs,
            ..CreateInstanceInput::new(spec)
        };
        client
            .start_orchestration_typed(id, names::orchestrations::CREATE_INSTANCE, input)
            .await?;
        tracing::warn!(
            instance = %record.name,
            orchestration_id = %id,
            "started the create orchestration of a record left without one"
        );
        started += 1;
    }
    Ok(started)
}
