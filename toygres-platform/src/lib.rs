//! Where database instances run.
//!
//! A [`Platform`] turns an [`InstanceSpec`] into a running PostgreSQL server and back into
//! nothing. Every operation is idempotent and safe to repeat after a crash at any point,
//! because activities run at least once. The platform also owns each instance's password:
//! it is generated and stored where the instance lives and handed out by
//! [`Platform::credentials`], so it never travels through orchestration history.
//!
//! Two platforms: [`local`] (PostgreSQL processes on this machine, also the control
//! plane's embedded database and the tests' throwaway clusters) and [`kubernetes`]. This
//! crate is all I/O; the workflows that drive it live in `toygres-orchestrations`, which
//! only reaches it from activities. [`probe`] is the real login both use to tell whether
//! an instance works. [`access`] says who logs in as what (least privilege by default),
//! [`certificates`] how clients know they reached the right server.

pub mod access;
pub mod certificates;
mod credentials;
pub mod kubernetes;
pub mod local;
pub mod password;
pub mod private_file;
pub mod probe;
pub mod scram;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use toygres_domain::parameters::Settings;
use toygres_domain::{InstanceName, PostgresVersion, Standbys, StorageSize};
pub use toygres_domain::{MemberRole, MemberState};
use uuid::Uuid;

pub use access::{Access, Login};
pub use credentials::{Credentials, Route};

/// Whose instance of a name a call that changes it is for. Names are reused once an
/// instance is deleted, and a platform call can come late (a retried step of an operation
/// that ended); with `Record`, an instance that another record holds is never touched
/// (the platform remembers the record each instance was made for). `Any` is for what is
/// no record's (the embedded control database) and tests' clean-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whose {
    Record(Uuid),
    Any,
}

impl Whose {
    /// Whether a call for `self` may act on an instance made for `made_for` (`None`: an
    /// instance from before the platform remembered it, anyone's).
    pub fn may_act_on(self, made_for: Option<Uuid>) -> bool {
        match (self, made_for) {
            (Self::Record(asked), Some(made_for)) => asked == made_for,
            _ => true,
        }
    }

    /// The error a call gets for an instance of the name another record holds.
    pub fn refused(name: &InstanceName) -> PlatformError {
        PlatformError::NotFound(format!(
            "{name} (the instance of that name belongs to another record)"
        ))
    }
}

/// The size of a file system and what is left of it, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskUsage {
    pub total_bytes: u64,
    /// What an unprivileged writer (the instance's server) may still use.
    pub available_bytes: u64,
}

impl DiskUsage {
    /// The share in use, 0–100 (an empty file system counts as full).
    pub fn used_percent(&self) -> f64 {
        match self.total_bytes {
            0 => 100.0,
            total => 100.0 - self.available_bytes.min(total) as f64 * 100.0 / total as f64,
        }
    }
}

/// What a user asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceSpec {
    pub name: InstanceName,
    pub postgres_version: PostgresVersion,
    pub storage: StorageSize,
    /// Its logins. Histories recorded before there were any decode with the defaults, and
    /// the defaults are not written, so an old orchestration replaying re-sends its
    /// activities the very input it recorded.
    #[serde(default, skip_serializing_if = "Access::is_default")]
    pub access: Access,
    /// Its standbys (none is not written, for the same reason).
    #[serde(default, skip_serializing_if = "Standbys::is_none")]
    pub standbys: Standbys,
    /// The tenant's PostgreSQL parameters it starts with (a restore gets its source's;
    /// none is not written, for the same reason).
    #[serde(default, skip_serializing_if = "Settings::is_empty")]
    pub settings: Settings,
}

/// Where a read of an instance's server log starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStart {
    /// The last lines.
    Tail { lines: usize },
    /// What was written after an earlier read.
    After(LogCursor),
}

/// Where the next read of a server log starts: the member whose log it is, the file (so a
/// replaced log is noticed) and the offset in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogCursor {
    pub member: u8,
    pub file: u64,
    pub offset: u64,
}

/// Whole lines of a server log, and where to read on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRead {
    pub text: String,
    pub next: LogCursor,
}

/// What applying the tenant's parameters did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedSettings {
    /// The parameters whose change needed a restart (none: a reload was enough).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restarted_for: Vec<String>,
    /// Parameters the server would not take, with its reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_applied: Vec<String>,
}

/// How far an instance is from accepting connections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum InstanceStatus {
    /// The server accepts connections.
    Ready,
    /// Resources exist but the server does not accept connections yet; `reason` says why.
    NotReady { reason: String },
    /// Nothing exists for this instance.
    Missing,
    /// The server cannot become ready without someone fixing something (e.g. its image
    /// cannot be pulled); `reason` says what.
    Failed { reason: String },
}

/// What a deploy did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployed {
    /// The data directory came from the warm pool, which should be refilled.
    pub from_warm_pool: bool,
}

/// The warm pool after a refill.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WarmPoolFill {
    pub ready: u32,
    pub made: u32,
}

/// One backup of an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupSet {
    /// The platform's name for it (pgBackRest's label on the local platform).
    pub label: String,
    /// The request it was taken for.
    pub request: Option<String>,
    /// Bytes of the database it holds, and what the repository stores for it.
    pub size_bytes: u64,
    pub repository_bytes: u64,
    /// Unix seconds.
    pub started_at: i64,
    pub finished_at: i64,
}

/// Where a new instance's data comes from, when not from `initdb`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreFrom {
    /// The backups of the source instance (its stanza).
    pub stanza: String,
    /// The backup to start from.
    pub label: String,
    /// How far to replay the archived WAL after it.
    pub target: RestoreTarget,
}

/// Where a restore's recovery stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum RestoreTarget {
    /// The backup as taken: recovery ends as soon as the data is consistent.
    EndOfBackup,
    /// Point-in-time recovery: replay WAL up to this moment.
    Time { at: chrono::DateTime<chrono::Utc> },
    /// Replay all the WAL the archive holds: the source's latest archived state.
    Latest,
}

impl RestoreTarget {
    /// Whether recovery reads WAL written after the backup, so a running source should
    /// archive what it has written first.
    pub fn reads_later_wal(self) -> bool {
        !matches!(self, Self::EndOfBackup)
    }
}

/// Where to connect to an instance (everything but the password): the owner's login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// The primary's address when the endpoint was read.
    pub host: String,
    pub port: u16,
    pub user: String,
    pub database: String,
    /// How a client verifies the server. Endpoints recorded before TLS decode as `off`,
    /// which is not written, so replayed activity inputs stay byte for byte as recorded.
    #[serde(default, skip_serializing_if = "Tls::is_off")]
    pub tls: Tls,
    /// The other members' addresses. A connection string that names them all lets a
    /// client find the primary itself after a failover (see
    /// [`Credentials::connection_string`]). None is not written, like `tls`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub standbys: Vec<Address>,
}

/// A server's address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub host: String,
    pub port: u16,
}

/// Whether an instance's primary is there, as the platform itself can tell (not only by
/// a login timing out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrimaryHealth {
    /// It answers a query; `wal_position` is where its WAL reaches (none while it is in
    /// recovery), what failover measures a standby's lag against.
    Answers { wal_position: Option<u64> },
    /// Its server process is proven gone.
    Gone,
    /// Its server process runs but does not answer (hung, stopped, overloaded).
    Silent,
}

/// One server of an instance with standbys, as the platform sees it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// `<instance>-<number>`, fixed for the member's lifetime whatever its role.
    pub name: String,
    pub number: u8,
    pub role: MemberRole,
    pub host: String,
    pub port: u16,
    pub state: MemberState,
    /// How far it is behind the primary's WAL, in bytes (a standby that answers).
    pub lag_bytes: Option<u64>,
    /// Where its WAL reaches (a member that answers): written, for the primary; received
    /// or replayed, whichever is further, for a standby. What a failover promotes by.
    pub wal_position: Option<u64>,
    /// The timeline it is on (a member that answers).
    pub timeline: Option<u32>,
}

/// What a client can check of an instance's server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tls {
    /// A server started before Toygres gave instances certificates: no TLS until its next
    /// restart.
    #[default]
    Off,
    /// TLS with a certificate from the control plane's CA naming the endpoint's host.
    VerifyFull,
    /// TLS with a certificate from the control plane's CA that cannot name the host (an
    /// address a load balancer assigns later).
    VerifyCa,
}

impl Tls {
    pub fn is_off(&self) -> bool {
        *self == Self::Off
    }

    /// libpq's `sslmode` for it (`None`: the server has no TLS).
    pub fn sslmode(self) -> Option<&'static str> {
        match self {
            Self::Off => None,
            Self::VerifyFull => Some("verify-full"),
            Self::VerifyCa => Some("verify-ca"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// The request cannot succeed as asked, whatever the retries (e.g. a version that is
    /// not installed).
    #[error("{0}")]
    Unsupported(String),
    /// The instance has no resources where the operation needs them.
    #[error("instance {0} does not exist on this platform")]
    NotFound(String),
    /// Anything else: a failed command, an I/O error, an API error.
    #[error("{0}")]
    Failed(String),
}

#[async_trait]
pub trait Platform: Send + Sync {
    /// Short name recorded in the CMS (`local`, `kubernetes`).
    fn kind(&self) -> &'static str;

    /// Whether this platform can run `version` at all (the API asks before accepting a
    /// create, so an impossible request changes nothing).
    fn check_version(&self, version: PostgresVersion) -> Result<(), PlatformError>;

    /// The version used when a request names none.
    fn default_version(&self) -> PostgresVersion;

    /// Creates whatever is missing (for the CMS record `record`, which names what must
    /// never be shared with a later instance of the same name) and starts the server with
    /// its logins; converges when repeated. Where the platform can tell, it returns once
    /// the server accepts connections.
    async fn deploy(&self, spec: &InstanceSpec, record: Uuid) -> Result<Deployed, PlatformError>;

    async fn status(&self, name: &InstanceName) -> Result<InstanceStatus, PlatformError>;

    /// Whether instances here can have standbys: `Err` says why not, for the user.
    fn standby_support(&self) -> Result<(), String> {
        Err(format!(
            "standbys are not supported on the {} platform yet",
            self.kind()
        ))
    }

    /// Every server of the instance, primary first; empty for an instance without
    /// standbys.
    async fn members(&self, _name: &InstanceName) -> Result<Vec<Member>, PlatformError> {
        Ok(Vec::new())
    }

    /// Whether the primary is there (for failure detection: cheap, bounded to about a
    /// second).
    async fn primary_health(&self, _name: &InstanceName) -> Result<PrimaryHealth, PlatformError> {
        Err(self.standbys_unsupported())
    }

    /// A failover's fence: makes sure the failed primary's server, and every process of
    /// it, is gone (killed when it hangs), so it takes no write again; it is started next
    /// only by `rejoin`, as a standby, after it has been rewound. Repeatable.
    async fn fence_primary(
        &self,
        _name: &InstanceName,
        _whose: Whose,
    ) -> Result<(), PlatformError> {
        Err(self.standbys_unsupported())
    }

    /// A switchover's first step: checkpoints and cleanly stops the primary (writes stop
    /// here) and answers where its WAL ends, which the standby to be promoted must have
    /// replayed. Repeatable.
    async fn stop_primary(
        &self,
        _name: &InstanceName,
        _whose: Whose,
    ) -> Result<u64, PlatformError> {
        Err(self.standbys_unsupported())
    }

    /// Promotes member `member` (`<name>-<member>`), once it has replayed past
    /// `caught_up_to` when given, and makes it the instance's primary. Repeatable.
    async fn promote(
        &self,
        _name: &InstanceName,
        _whose: Whose,
        _member: u8,
        _caught_up_to: Option<u64>,
    ) -> Result<(), PlatformError> {
        Err(self.standbys_unsupported())
    }

    /// Makes every member but the primary a standby streaming from it (a former primary is
    /// rewound first); a member that takes writes but is not the primary is stopped.
    /// Repeatable.
    async fn rejoin(&self, _name: &InstanceName, _whose: Whose) -> Result<(), PlatformError> {
        Err(self.standbys_unsupported())
    }

    fn standbys_unsupported(&self) -> PlatformError {
        PlatformError::Unsupported(
            self.standby_support()
                .err()
                .unwrap_or_else(|| format!("{} has no standbys here", self.kind())),
        )
    }

    /// How full the file system that holds the instance's data is, where the platform
    /// can tell (`None` where it cannot).
    async fn disk_usage(&self, _name: &InstanceName) -> Result<Option<DiskUsage>, PlatformError> {
        Ok(None)
    }

    async fn endpoint(&self, name: &InstanceName) -> Result<Endpoint, PlatformError>;

    /// One of the instance's logins. `Login::Superuser` answers for any instance (the
    /// control plane's own use); whether a tenant may have it is the instance's
    /// `superuser_access`, which the control plane keeps.
    async fn credentials(
        &self,
        name: &InstanceName,
        login: Login,
    ) -> Result<Credentials, PlatformError>;

    /// The certificate of the CA that signs instances' server certificates (public), for
    /// clients to verify servers with.
    fn ca_certificate(&self) -> Option<String>;

    /// Whether a tenant with superuser access would reach only its own instance here:
    /// `Err` says why not, for the user.
    fn superuser_access_support(&self) -> Result<(), String> {
        Err(format!(
            "superuser access cannot be turned on or off on the {} platform",
            self.kind()
        ))
    }

    /// Whether superuser access can be changed after create here at all (turning it on
    /// also needs [`Self::superuser_access_support`]): `Err` says why not, for the user.
    fn superuser_access_changes(&self) -> Result<(), String> {
        self.superuser_access_support()
    }

    /// Turns the tenant's superuser login on or off; repeatable. Turning it off also takes
    /// back what a superuser could have handed out (see [`access::revoke_superuser_sql`])
    /// and restarts the server, so nothing a superuser left running survives.
    async fn set_superuser_access(
        &self,
        _name: &InstanceName,
        _whose: Whose,
        _enabled: bool,
    ) -> Result<(), PlatformError> {
        Err(PlatformError::Unsupported(
            self.superuser_access_support()
                .err()
                .unwrap_or_else(|| format!("{} cannot change superuser access", self.kind())),
        ))
    }

    /// Reads the instance's PostgreSQL server log (its primary's): the last lines, or what
    /// was written after a cursor an earlier read returned. Bounded: never the whole of a
    /// large log.
    async fn read_log(
        &self,
        _name: &InstanceName,
        _start: LogStart,
    ) -> Result<LogRead, PlatformError> {
        Err(PlatformError::Unsupported(format!(
            "the {} platform cannot read an instance's server log yet",
            self.kind()
        )))
    }

    /// Whether the tenant's PostgreSQL parameters can be changed here: `Err` says why not,
    /// for the user.
    fn settings_support(&self) -> Result<(), String> {
        Err(format!(
            "PostgreSQL parameters cannot be changed on the {} platform yet",
            self.kind()
        ))
    }

    /// Makes `settings` the tenant's parameters on every server of the instance (those not
    /// in it go back to their defaults), reloads, and restarts (rolling, with standbys,
    /// under `restart_token`, as [`Self::restart`]) when a changed parameter needs it.
    /// Repeatable.
    async fn apply_settings(
        &self,
        _name: &InstanceName,
        _whose: Whose,
        _settings: &Settings,
        _restart_token: &str,
    ) -> Result<AppliedSettings, PlatformError> {
        Err(PlatformError::Unsupported(
            self.settings_support()
                .err()
                .unwrap_or_else(|| format!("{} cannot change parameters", self.kind())),
        ))
    }

    /// Stops the server and removes everything; an absent instance is success, and so is
    /// an instance of the name that another record holds (left alone).
    async fn delete(&self, name: &InstanceName, whose: Whose) -> Result<(), PlatformError>;

    /// Stops the server and keeps everything (data, port, password); a stopped instance
    /// is success.
    async fn stop(&self, name: &InstanceName, whose: Whose) -> Result<(), PlatformError>;

    /// Starts a stopped instance's server again with its data, port and password; a
    /// running one is success. Returns once it accepts connections where the platform can
    /// tell (else `status` says).
    async fn start(&self, name: &InstanceName, whose: Whose) -> Result<(), PlatformError>;

    /// Replaces the server process, keeping everything else. `token` names the request: a
    /// repeat with the same token restarts nothing. With standbys it is rolling: the
    /// standbys first, then the primary role moves to one of them (see `stop_primary`,
    /// `promote`, `rejoin`) and the former primary starts again as a standby.
    async fn restart(
        &self,
        name: &InstanceName,
        whose: Whose,
        token: &str,
    ) -> Result<(), PlatformError>;

    /// Whether this platform can back instances up and restore them here: `Err` says why
    /// not, for the user.
    fn backup_support(&self) -> Result<(), String> {
        Err(format!(
            "backups and restores are not supported on the {} platform yet",
            self.kind()
        ))
    }

    /// Takes a full backup of a running instance into `stanza`, for request `request`
    /// (taking none if one for that request exists) and enables continuous WAL archiving,
    /// so any later moment can be restored.
    async fn backup(
        &self,
        _name: &InstanceName,
        _stanza: &str,
        _request: &str,
    ) -> Result<BackupSet, PlatformError> {
        Err(self.backups_unsupported())
    }

    /// Whether a backup of `stanza` is being taken now: a pgBackRest that still runs after
    /// its attempt was abandoned (a cancel, a crash) may yet finish a backup, so what it
    /// leaves is judged only once it has ended.
    fn backup_in_progress(&self, _stanza: &str) -> Result<bool, PlatformError> {
        Ok(false)
    }

    /// The backups of `stanza`, oldest first.
    async fn backups(&self, _stanza: &str) -> Result<Vec<BackupSet>, PlatformError> {
        Err(self.backups_unsupported())
    }

    /// Keeps the newest `keep` backups of `stanza` and the WAL they need.
    async fn expire_backups(&self, _stanza: &str, _keep: u32) -> Result<(), PlatformError> {
        Err(self.backups_unsupported())
    }

    /// Removes one backup; one already gone is success.
    async fn remove_backup(&self, _stanza: &str, _label: &str) -> Result<(), PlatformError> {
        Err(self.backups_unsupported())
    }

    /// Makes sure everything the instance has written so far is archived (for a
    /// point-in-time restore up to now).
    async fn archive_now(&self, _name: &InstanceName) -> Result<(), PlatformError> {
        Err(self.backups_unsupported())
    }

    /// The long first step of a restore: copies backup `from` into place for the new
    /// instance `spec` (its own password and port are chosen here). Repeatable; not fenced
    /// (the caller abandons it when the instance is deleted meanwhile), so it starts no
    /// server.
    async fn stage_restore(
        &self,
        _spec: &InstanceSpec,
        _record: Uuid,
        _from: &RestoreFrom,
    ) -> Result<(), PlatformError> {
        Err(self.backups_unsupported())
    }

    /// Starts the new instance on what `stage_restore` copied, like `deploy` (and fenced
    /// like it): returns once the server runs, recovering.
    async fn restore(
        &self,
        _spec: &InstanceSpec,
        _record: Uuid,
        _from: &RestoreFrom,
    ) -> Result<Deployed, PlatformError> {
        Err(self.backups_unsupported())
    }

    /// Waits until a restored server has recovered as far as it was asked and is open for
    /// writes, then gives it the new instance's own logins (the data came with the
    /// source's roles and passwords). Repeatable.
    async fn finish_restore(
        &self,
        _name: &InstanceName,
        _whose: Whose,
    ) -> Result<(), PlatformError> {
        Err(self.backups_unsupported())
    }

    fn backups_unsupported(&self) -> PlatformError {
        PlatformError::Unsupported(
            self.backup_support()
                .err()
                .unwrap_or_else(|| format!("{} has no backups here", self.kind())),
        )
    }

    /// Whether this platform keeps pre-initialised servers ready (see `fill_warm_pool`).
    fn has_warm_pool(&self) -> bool {
        false
    }

    /// Prepares servers ahead of time until `size` are ready for the default version.
    async fn fill_warm_pool(&self, _size: u32) -> Result<WarmPoolFill, PlatformError> {
        Ok(WarmPoolFill::default())
    }
}
