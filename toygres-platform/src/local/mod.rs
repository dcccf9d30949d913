//! The local platform: each instance is a real PostgreSQL server process on this machine.
//!
//! Everything the platform needs to find an instance again is in its directory (see
//! `layout`), so a restarted control plane picks up where it left off; servers run
//! detached and keep serving while the control plane is down. `initdb` is the slow part of
//! a deploy and uses a whole core, so at most [`LocalConfig::max_concurrent_initdb`] run at
//! once: a burst of creates queues here instead of thrashing the machine.
//!
//! Who can reach what: each instance runs as an OS account of its own when the control
//! plane is root ([`os_user`]), listens on 127.0.0.1 with TLS only (a certificate from the
//! control plane's CA, see `server_tls`), and gives its tenant an owner role without
//! superuser ([`crate::access`]); the control plane itself logs in over the instance's
//! private Unix socket. The work is split by concern: `provision` (deploy, start,
//! configure), `restore`, `superuser`, `archive` (backups and WAL).

mod archive;
mod backups;
pub mod binaries;
pub mod cluster;
mod disk;
mod instance_file;
mod layout;
mod logins;
mod members;
pub mod os_user;
mod parameters;
mod pgbackrest_processes;
pub mod ports;
mod provision;
mod restart_marker;
mod restore;
mod roles;
mod secret_file;
mod server_log;
mod server_tls;
mod socket_dir;
mod superuser;
mod warm_pool;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{Mutex, Semaphore};
use uuid::Uuid;

use self::backups::{PgTarget, Repository};
use self::binaries::PgBinaries;
use self::cluster::{PgCluster, StopMode, io_error, remove_dir_if_present, tail};
use self::instance_file::InstanceFile;
use self::layout::Layout;
use self::logins::{Passwords, read_secret};
use self::os_user::{Identity, OsUsers, RunAs};
use self::ports::PortRange;
use self::restart_marker::RestartMarker;
use self::warm_pool::WarmPool;
use super::{
    Address, AppliedSettings, BackupSet, Credentials, Deployed, DiskUsage, Endpoint, InstanceSpec,
    InstanceStatus, LogRead, LogStart, Login, Member, Platform, PlatformError, PrimaryHealth,
    RestoreFrom, Tls, WarmPoolFill, Whose,
};
use crate::access;
use crate::certificates::CertificateAuthority;
use toygres_domain::parameters::Settings;
use toygres_domain::{InstanceName, PostgresVersion};

pub use self::socket_dir::of_earlier_version as socket_dir_of_earlier_version;

const HOST: &str = "127.0.0.1";
/// Where clients connect from: the servers listen on loopback only.
const CLIENTS: &[&str] = &["127.0.0.1/32"];

/// Who the instances of a platform run as, when the control plane is root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accounts {
    /// An OS account per instance (instances of users).
    PerInstance,
    /// One account, `toygres-<role>-<root>`, for every instance (the embedded control
    /// database).
    Dedicated(&'static str),
}

/// How the local platform runs instances.
#[derive(Debug, Clone)]
pub struct LocalConfig {
    /// Ports instances listen on.
    pub port_range: PortRange,
    /// `initdb` runs allowed at the same time.
    pub max_concurrent_initdb: usize,
    /// How long a server may take to accept connections after `pg_ctl start`.
    pub startup_timeout: Duration,
    /// The CA that signs the instances' certificates; `None`: one kept in the platform's
    /// own directory (`<root>/.ca`).
    pub certificate_authority: Option<CertificateAuthority>,
    pub accounts: Accounts,
}

impl Default for LocalConfig {
    fn default() -> Self {
        Self {
            port_range: PortRange::DEFAULT,
            max_concurrent_initdb: std::thread::available_parallelism().map_or(2, |n| n.get()),
            startup_timeout: Duration::from_secs(60),
            certificate_authority: None,
            accounts: Accounts::PerInstance,
        }
    }
}

pub struct LocalPlatform {
    root: PathBuf,
    binaries: PgBinaries,
    users: OsUsers,
    ca: CertificateAuthority,
    /// Where sockets go whose path in the instance's directory would be too long.
    socket_base: PathBuf,
    config: LocalConfig,
    initdb_slots: Semaphore,
    /// Held while a port is chosen and recorded, so two deploys never pick the same one.
    port_allocation: Mutex<()>,
    warm_pool: WarmPool,
    backups: Repository,
}

impl LocalPlatform {
    /// Restarts the primary where it is (started, when it is down), with its settings
    /// written for this version of Toygres.
    pub(super) async fn restart_primary_in_place(
        &self,
        layout: &Layout,
        file: InstanceFile,
    ) -> Result<InstanceFile, PlatformError> {
        let cluster = self.cluster(layout, &file)?;
        let file = self.configure(&cluster, layout, file).await?;
        let log = layout.member(file.primary).log();
        match cluster.running_pid() {
            Some(_) => cluster.restart(&log, self.config.startup_timeout).await?,
            None => {
                cluster
                    .start(&log, Some(self.config.startup_timeout))
                    .await?
            }
        }
        self.record_tls(layout, file).await
    }

    /// Instances live under `root`, which is created if needed. A relative `root` is
    /// resolved now: PostgreSQL tools run in other working directories.
    pub fn new(root: PathBuf, binaries: PgBinaries) -> Result<Self, PlatformError> {
        Self::with_config(root, binaries, LocalConfig::default())
    }

    pub fn with_config(
        root: PathBuf,
        binaries: PgBinaries,
        config: LocalConfig,
    ) -> Result<Self, PlatformError> {
        let root = std::path::absolute(&root).map_err(|e| io_error("resolving", &root, e))?;
        if root
            .to_string_lossy()
            .contains(['"', '\'', '$', '`', '\\', ':', '\n'])
        {
            return Err(PlatformError::Unsupported(format!(
                "the instances directory {} must not contain quotes, $, `, \\, : or newlines",
                root.display()
            )));
        }
        let users = match config.accounts {
            Accounts::PerInstance => OsUsers::per_instance(&root),
            Accounts::Dedicated(role) => OsUsers::dedicated(&root, role),
        };
        std::fs::create_dir_all(&root).map_err(|e| io_error("creating", &root, e))?;
        // Other local users may not list what is here; as root, instances' accounts pass
        // through to their own directories.
        let mode = if users.is_root() { 0o711 } else { 0o700 };
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(mode))
            .map_err(|e| io_error("setting permissions on", &root, e))?;
        let ca = match &config.certificate_authority {
            Some(ca) => ca.clone(),
            None => CertificateAuthority::load_or_create(&root.join(".ca"))?,
        };
        Ok(Self {
            warm_pool: WarmPool::new(&root, users.is_root()),
            backups: Repository::new(&root),
            socket_base: socket_dir::private_base(&root)?,
            initdb_slots: Semaphore::new(config.max_concurrent_initdb.max(1)),
            port_allocation: Mutex::new(()),
            ca,
            users,
            root,
            binaries,
            config,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory that holds everything of the instance named `name` (its record's).
    pub fn instance_dir(&self, name: &InstanceName) -> PathBuf {
        self.layout(name).dir
    }

    fn layout(&self, name: &InstanceName) -> Layout {
        Layout::of_name(&self.root, name.as_str())
    }

    /// Where a deploy (or a restore) for `record` puts instance `name` (see
    /// [`Layout::place`]).
    fn place(&self, name: &InstanceName, record: Uuid) -> Result<Layout, PlatformError> {
        Layout::place(&self.root, name.as_str(), record, self.shared_dir_mode())
    }

    /// The OS account instance `name` runs as (`None`: ours), for tests that check what
    /// a tenant's server can reach.
    pub async fn os_account(&self, name: &InstanceName) -> Result<Option<String>, PlatformError> {
        let file = InstanceFile::read(&self.layout(name), name.as_str()).await?;
        Ok(match file.account(&self.users) {
            Identity::Account(account) => Some(account),
            Identity::Inherited => None,
        })
    }

    /// The mode of directories other accounts only pass through.
    fn shared_dir_mode(&self) -> u32 {
        if self.users.is_root() { 0o711 } else { 0o700 }
    }

    fn cluster_as(
        &self,
        layout: &Layout,
        major: u32,
        run_as: Option<RunAs>,
    ) -> Result<PgCluster, PlatformError> {
        let install = self.binaries.for_major(major)?.clone();
        Ok(PgCluster::new(layout.data(), install, run_as))
    }

    /// The instance's primary server, run as the account it runs as now.
    fn cluster(&self, layout: &Layout, file: &InstanceFile) -> Result<PgCluster, PlatformError> {
        let run_as = self.users.resolve(&file.account(&self.users))?;
        self.cluster_as(&layout.member(file.primary), file.postgres_major, run_as)
    }

    async fn read_file(&self, name: &InstanceName) -> Result<InstanceFile, PlatformError> {
        InstanceFile::read(&self.layout(name), name.as_str()).await
    }

    /// `instance.json` of `name`, if the instance is `whose` (else `NotFound`).
    async fn read_file_of(
        &self,
        name: &InstanceName,
        whose: Whose,
    ) -> Result<InstanceFile, PlatformError> {
        let file = self.read_file(name).await?;
        match whose.may_act_on(file.record) {
            true => Ok(file),
            false => Err(Whose::refused(name)),
        }
    }

    /// What pgBackRest (and the platform's own connection) needs to reach an instance:
    /// its socket where this version puts it, or, for a server an earlier version started,
    /// where that version put it (a directory of the instance's own account with the
    /// server's socket in it).
    async fn pg_target(&self, name: &InstanceName) -> Result<PgTarget, PlatformError> {
        let file = self.read_file(name).await?;
        let layout = self.layout(name).member(file.primary);
        let current = layout.socket_dir(&self.socket_base);
        let owner = std::fs::metadata(layout.data())
            .map(|metadata| std::os::unix::fs::MetadataExt::uid(&metadata))
            .ok();
        let socket_dir = [current.clone(), socket_dir::of_earlier_version(&layout.dir)]
            .into_iter()
            .find(|dir| socket_dir::serves(dir, file.primary_port(), owner))
            .unwrap_or(current);
        Ok(PgTarget {
            data_dir: layout.data(),
            port: file.primary_port(),
            socket_dir,
        })
    }

    /// The superuser's connection over the instance's private socket.
    async fn connect_socket(
        &self,
        name: &InstanceName,
    ) -> Result<sqlx::postgres::PgConnection, PlatformError> {
        let target = self.pg_target(name).await?;
        logins::connect_socket(&target.socket_dir, target.port).await
    }

    /// Removes the OS account of a removed instance, unless a stanza still needs it.
    async fn release_account(&self, identity: &Identity) -> Result<(), PlatformError> {
        let Some(account) = self.users.resolve(identity)? else {
            return Ok(());
        };
        if self.backups.stanza_owners().contains(&account.uid()) {
            return Ok(());
        }
        self.users.remove(identity).await
    }

    /// Warm data directories ready for the default version.
    pub fn warm_pool_ready(&self) -> usize {
        self.warm_pool.ready(self.default_version().major()).len()
    }

    /// Where the warm pool keeps the directories of `major`.
    pub fn warm_pool_dir(&self, major: u32) -> PathBuf {
        self.warm_pool.major_dir(major)
    }
}

#[async_trait]
impl Platform for LocalPlatform {
    fn kind(&self) -> &'static str {
        "local"
    }

    fn check_version(&self, version: PostgresVersion) -> Result<(), PlatformError> {
        self.binaries.for_major(version.major()).map(|_| ())
    }

    /// The project default when it is installed, else the newest installed version.
    fn default_version(&self) -> PostgresVersion {
        let preferred = PostgresVersion::default();
        if self.check_version(preferred).is_ok() {
            return preferred;
        }
        PostgresVersion::new(self.binaries.newest().major).unwrap_or(preferred)
    }

    async fn deploy(&self, spec: &InstanceSpec, record: Uuid) -> Result<Deployed, PlatformError> {
        self.provision(spec, record).await
    }

    async fn status(&self, name: &InstanceName) -> Result<InstanceStatus, PlatformError> {
        let layout = self.layout(name);
        if !layout.dir.is_dir() {
            return Ok(InstanceStatus::Missing);
        }
        let file = match self.read_file(name).await {
            Ok(file) => file,
            Err(PlatformError::NotFound(_)) => {
                return Ok(InstanceStatus::NotReady {
                    reason: "deployment has not finished".into(),
                });
            }
            Err(other) => return Err(other),
        };
        let cluster = self.cluster(&layout, &file)?;
        if cluster.accepts_connections(file.primary_port()).await {
            return Ok(InstanceStatus::Ready);
        }
        let reason = match cluster.running_pid() {
            Some(pid) => format!("server (pid {pid}) is starting"),
            None => format!(
                "server is not running; last log lines: {}",
                log_tail(&layout.member(file.primary).log()).await
            ),
        };
        Ok(InstanceStatus::NotReady { reason })
    }

    fn standby_support(&self) -> Result<(), String> {
        Ok(())
    }

    async fn members(&self, name: &InstanceName) -> Result<Vec<Member>, PlatformError> {
        self.read_members(name).await
    }

    async fn primary_health(&self, name: &InstanceName) -> Result<PrimaryHealth, PlatformError> {
        LocalPlatform::primary_health(self, name).await
    }

    async fn fence_primary(&self, name: &InstanceName, whose: Whose) -> Result<(), PlatformError> {
        self.fence(name, whose).await
    }

    async fn stop_primary(&self, name: &InstanceName, whose: Whose) -> Result<u64, PlatformError> {
        self.stop_primary_cleanly(name, whose).await
    }

    async fn promote(
        &self,
        name: &InstanceName,
        whose: Whose,
        member: u8,
        caught_up_to: Option<u64>,
    ) -> Result<(), PlatformError> {
        self.promote_member(name, whose, member, caught_up_to).await
    }

    async fn rejoin(&self, name: &InstanceName, whose: Whose) -> Result<(), PlatformError> {
        self.rejoin_members(name, whose).await
    }

    async fn disk_usage(&self, name: &InstanceName) -> Result<Option<DiskUsage>, PlatformError> {
        // The primary's data; a gone instance's has no file system to measure.
        let primary = self.read_file(name).await.map_or(1, |file| file.primary);
        disk::usage(&self.layout(name).member(primary).data()).await
    }

    async fn endpoint(&self, name: &InstanceName) -> Result<Endpoint, PlatformError> {
        let file = self.read_file(name).await?;
        let logins = file.logins();
        Ok(Endpoint {
            host: HOST.into(),
            port: file.primary_port(),
            user: logins.owner,
            database: logins.database,
            tls: if file.tls { Tls::VerifyFull } else { Tls::Off },
            standbys: file
                .member_numbers()
                .into_iter()
                .filter(|number| *number != file.primary)
                .map(|number| Address {
                    host: HOST.into(),
                    port: file.port_of(number),
                })
                .collect(),
        })
    }

    async fn credentials(
        &self,
        name: &InstanceName,
        login: Login,
    ) -> Result<Credentials, PlatformError> {
        let layout = self.layout(name);
        let file = self.read_file(name).await?;
        let logins = file.logins();
        let (user, password_file, database) = match (login, file.access.is_some()) {
            (Login::Owner, true) => (logins.owner, layout.owner_password(), logins.database),
            (Login::Monitor, true) => (
                access::MONITOR.to_string(),
                layout.monitor_password(),
                access::MAINTENANCE_DATABASE.to_string(),
            ),
            // An instance made before owner roles has only its superuser.
            (Login::Superuser, _) | (_, false) => (
                access::SUPERUSER.to_string(),
                layout.superuser_password(),
                access::MAINTENANCE_DATABASE.to_string(),
            ),
        };
        let password = read_secret(&password_file).await?;
        let credentials = Credentials::new(user, password, database);
        Ok(match file.tls {
            true => credentials.verified_by(self.ca.trusted()),
            false => credentials,
        })
    }

    fn ca_certificate(&self) -> Option<String> {
        Some(self.ca.certificate_pem().to_string())
    }

    fn superuser_access_support(&self) -> Result<(), String> {
        match self.users.isolates() {
            true => Ok(()),
            false => Err(
                "superuser access needs instances under OS accounts of their own, which the \
                 local platform makes only when the control plane runs as root; here every \
                 instance shares the control plane's account, so a superuser could read its \
                 neighbours' files"
                    .into(),
            ),
        }
    }

    /// Turning it off is safe anywhere; turning it on needs an account per instance.
    fn superuser_access_changes(&self) -> Result<(), String> {
        Ok(())
    }

    async fn set_superuser_access(
        &self,
        name: &InstanceName,
        whose: Whose,
        enabled: bool,
    ) -> Result<(), PlatformError> {
        self.read_file_of(name, whose).await?;
        self.change_superuser_access(name, enabled).await
    }

    async fn read_log(
        &self,
        name: &InstanceName,
        start: LogStart,
    ) -> Result<LogRead, PlatformError> {
        self.read_server_log(name, start).await
    }

    fn settings_support(&self) -> Result<(), String> {
        Ok(())
    }

    async fn apply_settings(
        &self,
        name: &InstanceName,
        whose: Whose,
        settings: &Settings,
        restart_token: &str,
    ) -> Result<AppliedSettings, PlatformError> {
        self.apply_parameters(name, whose, settings, restart_token)
            .await
    }

    async fn delete(&self, name: &InstanceName, whose: Whose) -> Result<(), PlatformError> {
        let layout = self.layout(name);
        if !layout.dir.exists() {
            return layout.unlink_name(&self.root, name.as_str());
        }
        let file = self.read_file(name).await.ok();
        if let Some(held) = file.as_ref().and_then(|f| f.record)
            && !whose.may_act_on(Some(held))
        {
            tracing::info!(instance = %name, record = %held, "not deleted: another record holds the name");
            return Ok(());
        }
        if layout.archive_to().exists() {
            self.archive_last_wal(name).await;
        }
        let major = file
            .as_ref()
            .map_or(self.binaries.newest().major, |f| f.postgres_major);
        let install = self
            .binaries
            .for_major(major)
            .unwrap_or(self.binaries.newest())
            .clone();
        let members = file.as_ref().map_or(&[][..], |f| &f.members[..]);
        for number in std::iter::once(1).chain(members.iter().map(|m| m.number)) {
            PgCluster::new(layout.member(number).data(), install.clone(), None)
                .stop(StopMode::Immediate)
                .await?;
            socket_dir::remove(&layout.member(number).dir, &self.socket_base).await?;
        }
        self.backups.end_restores_into(&layout.dir).await?;
        remove_dir_if_present(&layout.dir).await?;
        layout.unlink_name(&self.root, name.as_str())?;
        match file {
            Some(file) => self.release_account(&file.own_account(&self.users)).await,
            None => Ok(()),
        }
    }

    async fn stop(&self, name: &InstanceName, whose: Whose) -> Result<(), PlatformError> {
        let layout = self.layout(name);
        let file = match self.read_file_of(name, whose).await {
            Ok(file) => file,
            // Nothing deployed: nothing runs.
            Err(PlatformError::NotFound(_)) => return Ok(()),
            Err(other) => return Err(other),
        };
        // The primary first: a fast stop hands its last WAL to the standbys.
        self.cluster(&layout, &file)?.stop(StopMode::Fast).await?;
        self.stop_standbys(&layout, &file, StopMode::Fast).await
    }

    async fn start(&self, name: &InstanceName, whose: Whose) -> Result<(), PlatformError> {
        let layout = self.layout(name);
        let file = self.read_file_of(name, whose).await?;
        let cluster = self.cluster(&layout, &file)?;
        if !cluster.is_initialised() {
            return Err(PlatformError::Unsupported(format!(
                "instance {name} has no data to start from"
            )));
        }
        let file = match cluster.running_pid() {
            Some(_) => file,
            None => {
                let file = self.configure(&cluster, &layout, file).await?;
                cluster
                    .start(
                        &layout.member(file.primary).log(),
                        Some(self.config.startup_timeout),
                    )
                    .await?;
                self.record_tls(&layout, file).await?
            }
        };
        self.ensure_standbys(&layout, file).await.map(|_| ())
    }

    async fn restart(
        &self,
        name: &InstanceName,
        whose: Whose,
        token: &str,
    ) -> Result<(), PlatformError> {
        let layout = self.layout(name);
        let marker = RestartMarker::read(&layout).await;
        if marker.records(token) {
            return Ok(());
        }
        let file = self.read_file_of(name, whose).await?;
        let rolling = RollingRestart::of(token, file.primary);
        match rolling.resumed_from(&marker.recorded) {
            Some(from) if from != file.primary => {
                // The role moved before a crash: only the rejoin was left.
                self.rejoin_members(name, whose).await?;
                return marker.record(token).await;
            }
            Some(_) => {}
            // Standbys first, one at a time, so a synchronous primary always has one.
            None => self.restart_standbys(&layout, &file).await?,
        }
        if let Some(successor) = self.successor(name).await? {
            // Rolling: the primary role moves to a restarted standby (a switchover: writes
            // pause for a moment), and the former primary starts again as its standby.
            marker.record(&rolling.marker()).await?;
            let wal_ends_at = self.stop_primary_cleanly(name, whose).await?;
            self.promote_member(name, whose, successor, Some(wal_ends_at))
                .await?;
            self.rejoin_members(name, whose).await?;
            return marker.record(token).await;
        }
        self.restart_primary_in_place(&layout, file).await?;
        marker.record(token).await
    }

    fn backup_support(&self) -> Result<(), String> {
        match self.backups.available() {
            true => Ok(()),
            false => Err(
                "backups and restores on the local platform need pgBackRest, which was not \
                 installed when the server started (apt-get install pgbackrest, then restart \
                 the server)"
                    .into(),
            ),
        }
    }

    async fn backup(
        &self,
        name: &InstanceName,
        stanza: &str,
        request: &str,
    ) -> Result<BackupSet, PlatformError> {
        self.take_backup(name, stanza, request).await
    }

    fn backup_in_progress(&self, stanza: &str) -> Result<bool, PlatformError> {
        self.backups.backup_in_progress(stanza)
    }

    async fn backups(&self, stanza: &str) -> Result<Vec<BackupSet>, PlatformError> {
        self.backups.ensure().await?;
        let owner = self.stanza_owner(stanza)?;
        self.backups.info(stanza, owner.as_ref()).await
    }

    async fn expire_backups(&self, stanza: &str, keep: u32) -> Result<(), PlatformError> {
        self.backups.ensure().await?;
        let owner = self.stanza_owner(stanza)?;
        self.backups.expire(stanza, owner.as_ref(), keep).await
    }

    async fn remove_backup(&self, stanza: &str, label: &str) -> Result<(), PlatformError> {
        self.remove_one_backup(stanza, label).await
    }

    async fn archive_now(&self, name: &InstanceName) -> Result<(), PlatformError> {
        self.switch_and_archive(name).await
    }

    async fn stage_restore(
        &self,
        spec: &InstanceSpec,
        record: Uuid,
        from: &RestoreFrom,
    ) -> Result<(), PlatformError> {
        self.stage(spec, record, from).await
    }

    async fn restore(
        &self,
        spec: &InstanceSpec,
        _record: Uuid,
        _from: &RestoreFrom,
    ) -> Result<Deployed, PlatformError> {
        self.start_restored(spec).await
    }

    async fn finish_restore(&self, name: &InstanceName, whose: Whose) -> Result<(), PlatformError> {
        self.read_file_of(name, whose).await?;
        self.finish_restored(name).await
    }

    fn has_warm_pool(&self) -> bool {
        true
    }

    async fn fill_warm_pool(&self, size: u32) -> Result<WarmPoolFill, PlatformError> {
        self.fill_pool(size).await
    }
}

/// A rolling restart in progress, as `restarted-by` records it before the primary role
/// moves (`<token> rolling from <member>`), so a repeat after a crash knows what is left.
struct RollingRestart<'a> {
    token: &'a str,
    from: u8,
}

impl<'a> RollingRestart<'a> {
    fn of(token: &'a str, from: u8) -> Self {
        Self { token, from }
    }

    fn marker(&self) -> String {
        format!("{} rolling from {}", self.token, self.from)
    }

    /// The member the role was moving from, when `recorded` is this restart's marker.
    fn resumed_from(&self, recorded: &str) -> Option<u8> {
        recorded
            .strip_prefix(self.token)?
            .strip_prefix(" rolling from ")?
            .parse()
            .ok()
    }
}

/// The last lines of a server's log, for error messages.
async fn log_tail(log: &Path) -> String {
    match tokio::fs::read_to_string(log).await {
        Ok(log) => tail(log.trim(), 400).to_string(),
        Err(_) => "(no log)".into(),
    }
}

/// Passwords of the instance in `layout`, created when missing.
async fn passwords(layout: &Layout) -> Result<Passwords, PlatformError> {
    Passwords::ensure_files(layout)?;
    Passwords::read(layout).await
}
