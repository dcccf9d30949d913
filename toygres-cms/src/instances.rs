//! Instance records: reservation, state transitions and reads.
//!
//! Transitions lock the row (`SELECT … FOR UPDATE`), check that the move is allowed, update
//! and append an `instance_events` row in one transaction. Asking for the state a record is
//! already in is a no-op, which is what makes a re-run activity harmless.

use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::{HealthStatus, InstanceState};
use toygres_domain::Labels;
use toygres_domain::parameters::Settings;
use toygres_domain::{DatabaseName, RoleName, Standbys, UnknownText};
use toygres_platform::{Access, Endpoint, InstanceSpec};

#[derive(Debug, thiserror::Error)]
pub enum CmsError {
    #[error("an instance named {0:?} already exists")]
    NameTaken(String),
    #[error("instance {0} is not in the metadata store")]
    UnknownInstance(Uuid),
    /// A row holds text no code knows (a corrupt row, or one a newer version wrote).
    #[error("metadata store: instance {id}: {problem}")]
    Corrupt { id: Uuid, problem: UnknownText },
    #[error("metadata store: {0}")]
    Database(#[from] sqlx::Error),
}

/// One row of `toygres_cms.instances`. Its states decode into their enums; a row with an
/// unknown one is an error, never a guess.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InstanceRecord {
    pub id: Uuid,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub state: InstanceState,
    pub platform: String,
    pub postgres_version: String,
    pub storage_gb: i32,
    pub endpoint_host: Option<String>,
    pub endpoint_port: Option<i32>,
    pub endpoint_user: Option<String>,
    pub endpoint_database: Option<String>,
    /// The owner role and database asked for at create (`None`: a record made before
    /// owner roles, whose instance logs in as the superuser).
    pub owner_role: Option<String>,
    pub database_name: Option<String>,
    /// Whether the tenant may log in as the superuser.
    pub superuser_access: bool,
    /// What the superuser-access change in progress (or last) asked for.
    pub superuser_access_wanted: Option<bool>,
    #[sqlx(try_from = "String")]
    pub health_status: HealthStatus,
    pub last_health_check_at: Option<DateTime<Utc>>,
    /// Why the instance is degraded or unhealthy.
    pub health_reason: Option<String>,
    /// While its WAL archiving is stuck: how far its archived WAL reaches.
    pub wal_archived_until: Option<DateTime<Utc>>,
    pub create_orchestration_id: String,
    pub delete_orchestration_id: Option<String>,
    pub actor_orchestration_id: Option<String>,
    pub operation_orchestration_id: Option<String>,
    /// The source of a restored instance (`types::v1_2::Restore`, as JSON).
    pub restore_source: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// The standbys asked for at create (see [`Self::standbys`]).
    #[sqlx(rename = "standbys")]
    pub standby_count: i16,
    pub synchronous_standbys: bool,
    /// The member the switchover in progress (or last) was asked to move the primary to.
    pub switchover_to: Option<i16>,
    /// The PostgreSQL parameters its tenant asked for.
    pub settings: sqlx::types::Json<Settings>,
    pub labels: sqlx::types::Json<Labels>,
}

impl InstanceRecord {
    /// The standbys its instance was asked to keep (the table's checks keep them valid;
    /// a row that is not reads as none).
    pub fn standbys(&self) -> Standbys {
        u32::try_from(self.standby_count)
            .ok()
            .and_then(|count| Standbys::new(count, self.synchronous_standbys).ok())
            .unwrap_or_default()
    }

    /// The logins its instance was asked to have. A record made before owner roles (no
    /// owner recorded) stands for the defaults; its platform keeps the superuser login.
    pub fn access(&self) -> Access {
        let defaults = Access::default();
        Access {
            owner: self
                .owner_role
                .as_deref()
                .and_then(|owner| RoleName::parse(owner).ok())
                .unwrap_or(defaults.owner),
            database: self
                .database_name
                .as_deref()
                .and_then(|database| DatabaseName::parse(database).ok())
                .unwrap_or(defaults.database),
            superuser_access: self.superuser_access,
        }
    }
}

/// One row of `toygres_cms.instance_events`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InstanceEvent {
    #[sqlx(try_from = "OptionalState")]
    pub from_state: Option<InstanceState>,
    #[sqlx(try_from = "String")]
    pub to_state: InstanceState,
    pub message: Option<String>,
    pub orchestration_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

/// A nullable state column as it comes from the database.
pub struct OptionalState(Option<String>);

impl<'r> sqlx::Decode<'r, sqlx::Postgres> for OptionalState {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(Self(
            <Option<String> as sqlx::Decode<sqlx::Postgres>>::decode(value)?,
        ))
    }
}

impl sqlx::Type<sqlx::Postgres> for OptionalState {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <String as sqlx::Type<sqlx::Postgres>>::type_info()
    }
}

impl TryFrom<OptionalState> for Option<InstanceState> {
    type Error = UnknownText;
    fn try_from(text: OptionalState) -> Result<Self, Self::Error> {
        text.0.map(|state| state.parse()).transpose()
    }
}

/// Creates the record for `spec`, or returns the one this orchestration already created.
pub async fn reserve(
    pool: &PgPool,
    spec: &InstanceSpec,
    platform: &str,
    create_orchestration_id: &str,
) -> Result<Uuid, CmsError> {
    reserve_restored(
        pool,
        spec,
        platform,
        create_orchestration_id,
        None,
        &Labels::new(),
    )
    .await
}

/// [`reserve`], for an instance whose data comes from `restore_source` (kept with the
/// record).
pub async fn reserve_restored(
    pool: &PgPool,
    spec: &InstanceSpec,
    platform: &str,
    create_orchestration_id: &str,
    restore_source: Option<&serde_json::Value>,
    labels: &Labels,
) -> Result<Uuid, CmsError> {
    let mut tx = pool.begin().await?;
    let existing: Option<(Uuid, String)> = sqlx::query_as(
        "SELECT id, name FROM toygres_cms.instances WHERE create_orchestration_id = $1",
    )
    .bind(create_orchestration_id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((id, _)) = existing {
        return Ok(id);
    }
    let id = Uuid::new_v4();
    let inserted = sqlx::query(
        "INSERT INTO toygres_cms.instances
             (id, name, state, platform, postgres_version, storage_gb, create_orchestration_id,
              restore_source, owner_role, database_name, superuser_access, standbys,
              synchronous_standbys, labels, settings)
         VALUES ($1, $2, 'creating', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(id)
    .bind(spec.name.as_str())
    .bind(platform)
    .bind(spec.postgres_version.to_string())
    .bind(spec.storage.gib() as i32)
    .bind(create_orchestration_id)
    .bind(restore_source)
    .bind(spec.access.owner.as_str())
    .bind(spec.access.database.as_str())
    .bind(spec.access.superuser_access)
    .bind(i16::from(spec.standbys.count()))
    .bind(spec.standbys.synchronous())
    .bind(sqlx::types::Json(labels))
    .bind(sqlx::types::Json(&spec.settings))
    .execute(&mut *tx)
    .await;
    match inserted {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            // Either another orchestration holds the name, or a concurrent run of this very
            // reservation won the race on create_orchestration_id.
            drop(tx);
            return concurrent_reservation(pool, spec, create_orchestration_id).await;
        }
        other => other?,
    };
    append_event(
        &mut tx,
        id,
        None,
        InstanceState::Creating,
        None,
        create_orchestration_id,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

async fn concurrent_reservation(
    pool: &PgPool,
    spec: &InstanceSpec,
    create_orchestration_id: &str,
) -> Result<Uuid, CmsError> {
    let id: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM toygres_cms.instances WHERE create_orchestration_id = $1",
    )
    .bind(create_orchestration_id)
    .fetch_optional(pool)
    .await?;
    id.ok_or_else(|| CmsError::NameTaken(spec.name.to_string()))
}

/// Columns a transition may fill in besides `state`.
#[derive(Debug, Default, Clone)]
pub struct Change<'a> {
    pub endpoint: Option<&'a Endpoint>,
    pub actor_orchestration_id: Option<&'a str>,
    pub delete_orchestration_id: Option<&'a str>,
    pub operation_orchestration_id: Option<&'a str>,
    pub error: Option<&'a str>,
    /// Superuser access as the operation left it (an endpoint whose login is the
    /// superuser's means it is on, whatever was asked).
    pub superuser_access: Option<bool>,
    /// What a superuser-access change is for (moving to `configuring`).
    pub superuser_access_wanted: Option<bool>,
    /// The member a switchover moves the primary to (moving to `switching_over`; none:
    /// the most caught-up standby).
    pub switchover_to: Option<u8>,
    /// Every parameter the tenant now asks for (moving to `configuring`).
    pub settings: Option<&'a Settings>,
}

/// What a transition did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Applied {
        from: InstanceState,
    },
    /// The record was already in the target state: nothing changed.
    AlreadyThere,
    /// The move is not allowed from the record's current state: nothing changed.
    NotAllowed {
        current: InstanceState,
    },
}

pub async fn transition(
    pool: &PgPool,
    id: Uuid,
    to: InstanceState,
    change: &Change<'_>,
    orchestration_id: &str,
) -> Result<Transition, CmsError> {
    let mut tx = pool.begin().await?;
    let moved = transition_in(&mut tx, id, to, change, orchestration_id).await?;
    tx.commit().await?;
    Ok(moved)
}

/// [`transition`], refused with the running backup's id while one runs: checked under the
/// record's lock, which a backup's reservation takes too, so a backup cannot start between
/// the check and the move (stop and restart take the instance away from a backup).
pub async fn transition_unless_backing_up(
    pool: &PgPool,
    id: Uuid,
    to: InstanceState,
    change: &Change<'_>,
    orchestration_id: &str,
) -> Result<Result<Transition, Uuid>, CmsError> {
    let mut tx = pool.begin().await?;
    lock_state(&mut tx, id).await?;
    let running: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM toygres_cms.backups WHERE instance_id = $1 AND state = 'running'",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(backup) = running {
        return Ok(Err(backup));
    }
    let moved = transition_in(&mut tx, id, to, change, orchestration_id).await?;
    tx.commit().await?;
    Ok(Ok(moved))
}

async fn transition_in(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    to: InstanceState,
    change: &Change<'_>,
    orchestration_id: &str,
) -> Result<Transition, CmsError> {
    let current = lock_state(tx, id).await?;
    if current == to {
        return Ok(Transition::AlreadyThere);
    }
    if !to.allowed_from().contains(&current) {
        return Ok(Transition::NotAllowed { current });
    }
    sqlx::query(
        "UPDATE toygres_cms.instances SET
             state = $2,
             updated_at = clock_timestamp(),
             endpoint_host = COALESCE($3, endpoint_host),
             endpoint_port = COALESCE($4, endpoint_port),
             endpoint_user = COALESCE($5, endpoint_user),
             endpoint_database = COALESCE($6, endpoint_database),
             actor_orchestration_id = COALESCE($7, actor_orchestration_id),
             delete_orchestration_id = COALESCE(delete_orchestration_id, $8),
             last_error = CASE WHEN $2 IN ('running', 'stopped') THEN $9
                               ELSE COALESCE($9, last_error) END,
             deleted_at = CASE WHEN $2 = 'deleted' THEN clock_timestamp() ELSE deleted_at END,
             operation_orchestration_id = COALESCE($10, operation_orchestration_id),
             superuser_access = COALESCE($11, superuser_access)
                 OR COALESCE($5 = 'postgres', false),
             superuser_access_wanted = COALESCE($12, superuser_access_wanted),
             switchover_to = CASE WHEN $2 = 'switching_over' THEN $13 ELSE switchover_to END,
             settings = COALESCE($14, settings)
         WHERE id = $1",
    )
    .bind(id)
    .bind(to.as_str())
    .bind(change.endpoint.map(|e| e.host.as_str()))
    .bind(change.endpoint.map(|e| i32::from(e.port)))
    .bind(change.endpoint.map(|e| e.user.as_str()))
    .bind(change.endpoint.map(|e| e.database.as_str()))
    .bind(change.actor_orchestration_id)
    .bind(change.delete_orchestration_id)
    .bind(change.error)
    .bind(change.operation_orchestration_id)
    .bind(change.superuser_access)
    .bind(change.superuser_access_wanted)
    .bind(change.switchover_to.map(i16::from))
    .bind(change.settings.map(sqlx::types::Json))
    .execute(&mut **tx)
    .await?;
    append_event(tx, id, Some(current), to, change.error, orchestration_id).await?;
    Ok(Transition::Applied { from: current })
}

/// Locks the row for the rest of `tx` and returns its state.
pub(super) async fn lock_state(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
) -> Result<InstanceState, CmsError> {
    let state: Option<String> =
        sqlx::query_scalar("SELECT state FROM toygres_cms.instances WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    parse_state(id, state)
}

/// The state a row holds, as read by `SELECT state …` (`None`: no such row).
pub(crate) fn parse_state(id: Uuid, state: Option<String>) -> Result<InstanceState, CmsError> {
    state
        .ok_or(CmsError::UnknownInstance(id))?
        .parse()
        .map_err(|problem| CmsError::Corrupt { id, problem })
}

async fn append_event(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
    from: Option<InstanceState>,
    to: InstanceState,
    message: Option<&str>,
    orchestration_id: &str,
) -> Result<(), CmsError> {
    sqlx::query(
        // The moment of the change, not of the transaction's start: a transition that
        // waited for the row's lock (behind a fenced platform call) happened when it got it.
        "INSERT INTO toygres_cms.instance_events
             (instance_id, from_state, to_state, message, orchestration_id, occurred_at)
         VALUES ($1, $2, $3, $4, $5, clock_timestamp())",
    )
    .bind(id)
    .bind(from.map(InstanceState::as_str))
    .bind(to.as_str())
    .bind(message)
    .bind(orchestration_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

const SELECT_RECORD: &str = "SELECT id, name, state, platform, postgres_version, storage_gb,
        endpoint_host, endpoint_port, endpoint_user, endpoint_database, health_status,
        last_health_check_at, create_orchestration_id, delete_orchestration_id,
        actor_orchestration_id, created_at, updated_at, deleted_at, last_error,
        operation_orchestration_id, restore_source, owner_role, database_name, superuser_access,
        superuser_access_wanted, health_reason, wal_archived_until, standbys,
        synchronous_standbys, switchover_to, settings, labels
     FROM toygres_cms.instances";

pub async fn get(pool: &PgPool, id: Uuid) -> Result<Option<InstanceRecord>, CmsError> {
    Ok(sqlx::query_as(&format!("{SELECT_RECORD} WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?)
}

/// The record that currently holds `name` (any state but `deleted`).
pub async fn find_live(pool: &PgPool, name: &str) -> Result<Option<InstanceRecord>, CmsError> {
    Ok(sqlx::query_as(&format!(
        "{SELECT_RECORD} WHERE name = $1 AND state <> 'deleted'"
    ))
    .bind(name)
    .fetch_optional(pool)
    .await?)
}

/// The live record for `name`, else the most recently deleted one.
pub async fn find_latest(pool: &PgPool, name: &str) -> Result<Option<InstanceRecord>, CmsError> {
    Ok(sqlx::query_as(&format!(
        "{SELECT_RECORD} WHERE name = $1 ORDER BY (state = 'deleted'), created_at DESC LIMIT 1"
    ))
    .bind(name)
    .fetch_optional(pool)
    .await?)
}

/// Records that the platform turned superuser access on or off for record `id` (while the
/// change's operation still holds it: a delete that overtook it changes nothing more).
pub async fn record_superuser_access(
    pool: &PgPool,
    id: Uuid,
    enabled: bool,
) -> Result<(), CmsError> {
    sqlx::query(
        "UPDATE toygres_cms.instances SET superuser_access = $2, updated_at = clock_timestamp()
         WHERE id = $1 AND state = 'configuring'",
    )
    .bind(id)
    .bind(enabled)
    .execute(pool)
    .await?;
    Ok(())
}

/// Names the orchestration that now deletes record `id` (an operator's retry of a failed
/// delete).
pub async fn set_delete_orchestration(
    pool: &PgPool,
    id: Uuid,
    orchestration_id: &str,
) -> Result<(), CmsError> {
    sqlx::query(
        "UPDATE toygres_cms.instances SET delete_orchestration_id = $2, updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(orchestration_id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Every record that had `name` (live or deleted), newest first.
pub async fn all_named(pool: &PgPool, name: &str) -> Result<Vec<InstanceRecord>, CmsError> {
    Ok(sqlx::query_as(&format!(
        "{SELECT_RECORD} WHERE name = $1 ORDER BY created_at DESC"
    ))
    .bind(name)
    .fetch_all(pool)
    .await?)
}

/// The names of records `ids` (those that exist).
pub async fn names_of(pool: &PgPool, ids: &[Uuid]) -> Result<Vec<(Uuid, String)>, CmsError> {
    Ok(
        sqlx::query_as("SELECT id, name FROM toygres_cms.instances WHERE id = ANY($1)")
            .bind(ids)
            .fetch_all(pool)
            .await?,
    )
}

/// Live records (every state but `deleted`), newest first.
pub async fn list_live(pool: &PgPool) -> Result<Vec<InstanceRecord>, CmsError> {
    Ok(sqlx::query_as(&format!(
        "{SELECT_RECORD} WHERE state <> 'deleted' ORDER BY created_at DESC"
    ))
    .fetch_all(pool)
    .await?)
}

/// Every record, live ones first, newest first.
pub async fn list_all(pool: &PgPool) -> Result<Vec<InstanceRecord>, CmsError> {
    Ok(sqlx::query_as(&format!(
        "{SELECT_RECORD} ORDER BY (state = 'deleted'), created_at DESC"
    ))
    .fetch_all(pool)
    .await?)
}

/// The running records whose instances have standbys (what failure detection watches).
pub async fn running_with_standbys(pool: &PgPool) -> Result<Vec<InstanceRecord>, CmsError> {
    Ok(sqlx::query_as(&format!(
        "{SELECT_RECORD} WHERE state = 'running' AND standbys > 0 ORDER BY created_at"
    ))
    .fetch_all(pool)
    .await?)
}

/// The id and name of every running record (what the health sweep probes).
pub async fn running(pool: &PgPool) -> Result<Vec<(Uuid, String)>, CmsError> {
    Ok(
        sqlx::query_as("SELECT id, name FROM toygres_cms.instances WHERE state = 'running'")
            .fetch_all(pool)
            .await?,
    )
}

/// Live records in one of `states` that have not changed since `before`.
pub async fn settled_in(
    pool: &PgPool,
    states: &[InstanceState],
    before: DateTime<Utc>,
) -> Result<Vec<InstanceRecord>, CmsError> {
    let states: Vec<&str> = states.iter().map(|state| state.as_str()).collect();
    Ok(sqlx::query_as(&format!(
        "{SELECT_RECORD} WHERE state <> 'deleted' AND state = ANY($1) AND updated_at < $2
         ORDER BY created_at"
    ))
    .bind(states)
    .bind(before)
    .fetch_all(pool)
    .await?)
}

pub async fn events(pool: &PgPool, id: Uuid) -> Result<Vec<InstanceEvent>, CmsError> {
    Ok(sqlx::query_as(
        "SELECT from_state, to_state, message, orchestration_id, occurred_at
         FROM toygres_cms.instance_events WHERE instance_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(pool)
    .await?)
}

/// Sets `set` and removes `remove` among the labels of live record `id`, in one statement
/// (two changes at once both land); the record as it now is, or `None` when it is gone.
pub async fn change_labels(
    pool: &PgPool,
    id: Uuid,
    set: &Labels,
    remove: &[String],
) -> Result<Option<InstanceRecord>, CmsError> {
    let changed = sqlx::query(
        "UPDATE toygres_cms.instances SET labels = (labels || $2) - $3::text[],
             updated_at = clock_timestamp()
         WHERE id = $1 AND state <> 'deleted'",
    )
    .bind(id)
    .bind(sqlx::types::Json(set))
    .bind(remove)
    .execute(pool)
    .await?;
    if changed.rows_affected() == 0 {
        return Ok(None);
    }
    get(pool, id).await
}
