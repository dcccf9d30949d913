//! Recovery: put every record back under an orchestration that drives it. Runs at start-up
//! and then every `--reconcile-interval-secs`.
//!
//! - A `creating` record with no create orchestration: the API reserved it and the server
//!   died before starting create-instance. Start it, with the id the record names. One
//!   whose create ended (failed, or completed without leaving it running) is marked
//!   `failed` with the create's error: no record stays in a state whose operation ended.
//! - A `running` record whose actor is not running: the actor failed (duroxide fails an
//!   orchestration for good when a database blip outlasts its retries) or was cancelled,
//!   so nobody watches the instance. Replace it with a fresh actor under the same id.
//!
//! - A `stopping`, `starting`, `restarting` or `configuring` record whose operation
//!   orchestration never started (or failed for good): start it again under the id the
//!   record names.
//! - Backups and backup schedules left without their orchestration: see `backups`.
//! - Sets in the backup repositories that no record accounts for: see `sets` (when the
//!   reconciler starts, then hourly).
//! - The system orchestrations (history pruner, warm pool): see `system_orchestrations`.
//!
//! Servers sharing a database run this under one advisory lock, so two do not both replace
//! the same actor. Only records unchanged for [`SETTLE`] are touched: between the API's
//! reservation and its start of create-instance, and between mark-running and the actor's
//! start, a record is briefly without its orchestration by design.

mod backups;
mod sets;

use std::sync::Arc;

use duroxide::{Client, OrchestrationStatus};
use sqlx::PgPool;
use toygres_cms::instances::InstanceRecord;
use toygres_cms::{self as cms, InstanceState};
use toygres_domain::{InstanceName, PostgresVersion, StorageSize};
use toygres_orchestrations::names;
use toygres_orchestrations::types::v1_1::InstanceActorInput;
use toygres_orchestrations::types::v1_2::CreateInstanceInput;
use toygres_platform::{InstanceSpec, Platform};

use crate::ensure_running::{Ensured, WhenCompleted, ensure_running};
use crate::instance_operation::InstanceOperation;
use crate::system_orchestrations::{self, SystemSettings};

/// The key of the reconciliation lock ("toygres" in ASCII).
const LOCK_KEY: i64 = 0x0074_6f79_6772_6573;

/// How long a record must be unchanged before reconciliation acts on it.
pub const SETTLE: chrono::TimeDelta = chrono::TimeDelta::seconds(10);

/// What a reconciliation did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reconciled {
    pub creates_started: usize,
    pub actors_restarted: usize,
    pub operations_resumed: usize,
    pub backups_resumed: usize,
    pub schedules_resumed: usize,
    pub system_started: usize,
}

/// The counter of what reconciliation did, by action.
const ACTIONS: &str = "toygres_reconciliation_actions_total";

pub fn describe_metrics() {
    metrics::describe_counter!(
        ACTIONS,
        "Records recovered by reconciliation, by action (each a crash or failure repaired)"
    );
}

impl Reconciled {
    /// Adds what this pass did to the counter.
    fn count(&self) {
        let actions = [
            ("create_started", self.creates_started),
            ("actor_restarted", self.actors_restarted),
            ("operation_resumed", self.operations_resumed),
            ("backup_resumed", self.backups_resumed),
            ("schedule_resumed", self.schedules_resumed),
            ("system_started", self.system_started),
        ];
        for (action, count) in actions {
            metrics::counter!(ACTIONS, "action" => action).increment(count as u64);
        }
    }
}

/// What reconciliation needs besides the database and the store.
#[derive(Clone)]
pub struct Settings {
    /// Where instances run (to judge what an ended backup left).
    pub platform: Arc<dyn Platform>,
    pub health_check_interval_secs: u64,
    /// This server's settings for the system orchestrations, used until a server publishes
    /// its own (see `system_orchestrations`).
    pub system: SystemSettings,
}

pub async fn run(cms: &PgPool, client: &Client, settings: &Settings) -> anyhow::Result<Reconciled> {
    let mut lock = cms.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *lock)
        .await?;
    let mut done = Reconciled {
        system_started: ensure_system(cms, client, &settings.system).await,
        ..Reconciled::default()
    };
    let health_check_interval_secs = settings.health_check_interval_secs;
    let settled_before = chrono::Utc::now() - SETTLE;
    let records = cms::instances::settled_in(
        cms,
        &[
            InstanceState::Creating,
            InstanceState::Running,
            InstanceState::Stopping,
            InstanceState::Starting,
            InstanceState::Restarting,
            InstanceState::Configuring,
            InstanceState::SwitchingOver,
            InstanceState::FailingOver,
        ],
        settled_before,
    )
    .await?;
    for record in &records {
        match record.state {
            InstanceState::Creating => {
                let started =
                    start_orphaned_create(cms, client, record, health_check_interval_secs);
                done.creates_started += counted(started.await, &record.name);
            }
            InstanceState::Running => {
                let restarted = restart_dead_actor(client, record, health_check_interval_secs);
                done.actors_restarted += counted(restarted.await, &record.name);
            }
            _ => {
                if let Some(operation) = InstanceOperation::running_on(record) {
                    let resumed =
                        resume_operation(client, record, operation, health_check_interval_secs);
                    done.operations_resumed += counted(resumed.await, &record.name);
                }
            }
        }
    }
    let platform = settings.platform.as_ref();
    done.backups_resumed = backups::resume_backups(cms, client, platform, settled_before).await?;
    done.schedules_resumed = backups::resume_schedules(cms, client, settled_before).await?;
    done.count();

    lock.commit().await?;
    Ok(done)
}

/// How many system orchestrations were started. A failure is logged and does not stop the
/// pass: recovering records never waits on the singletons.
async fn ensure_system(cms: &PgPool, client: &Client, own: &SystemSettings) -> usize {
    match system_orchestrations::ensure_agreed(cms, client, own).await {
        Ok(ensured) => ensured.started,
        Err(error) => {
            tracing::error!("reconciliation could not ensure the system orchestrations: {error:#}");
            0
        }
    }
}

/// 1 when a record was recovered. A record that cannot be (a row this version cannot
/// read, say) is logged and skipped, so it never holds up the others.
fn counted(recovered: anyhow::Result<bool>, instance: &str) -> usize {
    match recovered {
        Ok(recovered) => usize::from(recovered),
        Err(error) => {
            tracing::error!(
                instance,
                "reconciliation could not recover the record: {error:#}"
            );
            0
        }
    }
}

async fn start_orphaned_create(
    cms: &PgPool,
    client: &Client,
    record: &InstanceRecord,
    health_check_interval_secs: u64,
) -> anyhow::Result<bool> {
    let id = &record.create_orchestration_id;
    match client.get_orchestration_status(id).await? {
        OrchestrationStatus::NotFound => {}
        OrchestrationStatus::Running { .. } => return Ok(false),
        OrchestrationStatus::Failed { details, .. } => {
            let why = format!("the create failed: {}", details.display_message());
            return mark_failed(cms, record, id, &why).await;
        }
        OrchestrationStatus::Completed { .. } => {
            let why = "the create ended without marking the instance running";
            return mark_failed(cms, record, id, why).await;
        }
    }
    let spec = InstanceSpec {
        name: InstanceName::parse(record.name.as_str())?,
        postgres_version: PostgresVersion::parse(&record.postgres_version)?,
        storage: StorageSize::from_gib(record.storage_gb.try_into()?)?,
        access: record.access(),
        standbys: record.standbys(),
        settings: record.settings.0.clone(),
    };
    let restore = record
        .restore_source
        .clone()
        .map(serde_json::from_value)
        .transpose()?;
    let input = CreateInstanceInput {
        restore,
        record_id: record.id,
        spec,
        health_check_interval_secs,
        readiness_timeout_secs: toygres_orchestrations::types::DEFAULT_READINESS_TIMEOUT_SECS,
    };
    client
        .start_orchestration_typed(id, names::orchestrations::CREATE_INSTANCE, input)
        .await?;
    tracing::warn!(
        instance = %record.name,
        orchestration_id = %id,
        "started the create orchestration of a record left without one"
    );
    Ok(true)
}

/// A create whose orchestration ended and left its record `creating` (its last step, the
/// one marking the record failed, failed too): the record says failed, with why, so a
/// delete cleans up and nothing runs the create again.
async fn mark_failed(
    cms: &PgPool,
    record: &InstanceRecord,
    create_id: &str,
    why: &str,
) -> anyhow::Result<bool> {
    let change = cms::instances::Change {
        error: Some(why),
        ..Default::default()
    };
    let moved =
        cms::instances::transition(cms, record.id, InstanceState::Failed, &change, create_id)
            .await?;
    let marked = matches!(moved, cms::instances::Transition::Applied { .. });
    if marked {
        tracing::warn!(
            instance = %record.name,
            orchestration_id = %create_id,
            "marked failed a record whose create had ended: {why}"
        );
    }
    Ok(marked)
}

async fn restart_dead_actor(
    client: &Client,
    record: &InstanceRecord,
    health_check_interval_secs: u64,
) -> anyhow::Result<bool> {
    let id = names::instance_ids::instance_actor(record.id);
    let start = || async {
        let input = InstanceActorInput {
            instance_id: record.id,
            name: InstanceName::parse(record.name.as_str())?,
            interval_secs: health_check_interval_secs,
            cycle: 0,
            // A new incarnation: its executions count from 1 again.
            incarnation: uuid::Uuid::new_v4().to_string(),
        };
        let orchestration = names::orchestrations::INSTANCE_ACTOR;
        Ok(client
            .start_orchestration_typed(&id, orchestration, input)
            .await?)
    };
    let Ensured::Started { replaced: status } =
        ensure_running(client, &id, WhenCompleted::Replace, start).await?
    else {
        return Ok(false);
    };
    tracing::warn!(
        instance = %record.name,
        orchestration_id = %id,
        previous = ?status,
        "restarted the health actor of a running instance"
    );
    Ok(true)
}

/// A stop, start, restart or superuser-access change the API recorded but whose
/// orchestration is gone (never started, or failed for good): start it again under the id
/// the record names.
async fn resume_operation(
    client: &Client,
    record: &InstanceRecord,
    operation: InstanceOperation,
    health_check_interval_secs: u64,
) -> anyhow::Result<bool> {
    let Some(id) = &record.operation_orchestration_id else {
        return Ok(false);
    };
    let start = || operation.start(client, record, id, health_check_interval_secs);
    let Ensured::Started { replaced: status } =
        ensure_running(client, id, WhenCompleted::Keep, start).await?
    else {
        return Ok(false);
    };
    tracing::warn!(
        instance = %record.name,
        orchestration_id = %id,
        operation = operation.kind(),
        previous = ?status,
        "resumed an operation left without its orchestration"
    );
    Ok(true)
}

/// How often the sets in the backup repositories are compared with the records.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Reconciles every `interval` until the task is aborted; failures are logged and retried
/// at the next tick. Sweeps the backup sets first, then every [`SWEEP_EVERY`].
pub async fn every(interval: std::time::Duration, cms: PgPool, client: Client, settings: Settings) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    sweep_sets(&cms, settings.platform.as_ref()).await;
    let mut swept_at = tokio::time::Instant::now();
    loop {
        ticks.tick().await;
        if swept_at.elapsed() >= SWEEP_EVERY {
            sweep_sets(&cms, settings.platform.as_ref()).await;
            swept_at = tokio::time::Instant::now();
        }
        match run(&cms, &client, &settings).await {
            Ok(done) if done != Reconciled::default() => {
                tracing::warn!(?done, "reconciliation recovered records");
            }
            Ok(_) => {}
            Err(error) => tracing::error!("reconciliation failed: {error:#}"),
        }
    }
}

async fn sweep_sets(cms: &PgPool, platform: &dyn Platform) {
    match sets::sweep(cms, platform).await {
        Ok(swept) if swept != sets::Swept::default() => {
            tracing::warn!(?swept, "backup sets reconciled with their records");
        }
        Ok(_) => {}
        Err(error) => tracing::error!("comparing backup sets with their records: {error:#}"),
    }
}
