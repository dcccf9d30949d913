//! The local platform: each instance is a real PostgreSQL server process on this machine.
//!
//! Layout of one instance, under the platform's root directory:
//!
//! ```text
//! <root>/<name>/instance.json   port and major version, fixed at the first deploy
//! <root>/<name>/password        the superuser's password, mode 0600
//! <root>/<name>/data/           PGDATA
//! <root>/<name>/postgres.log    server log
//! <root>/<name>/claimed/        while a warm-pool directory is being adopted
//! ```
//!
//! Everything the platform needs to find an instance again is in that directory, so a
//! restarted control plane picks up where it left off; servers run detached and keep
//! serving while the control plane is down. `initdb` is the slow part of a deploy and
//! uses a whole core, so at most [`LocalConfig::max_concurrent_initdb`] run at once: a
//! burst of creates queues here instead of thrashing the machine.

mod backups;
pub mod binaries;
pub mod cluster;
pub mod os_user;
pub mod ports;
mod scram;
mod secret_file;
mod socket_dir;
mod warm_pool;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, Executor};
use tokio::sync::{Mutex, Semaphore};

use self::backups::{PgTarget, Repository};
use self::binaries::PgBinaries;
use self::cluster::{
    Auth, ClusterSettings, PgCluster, StopMode, io_error, remove_dir_if_present, tail,
};
use self::os_user::RunAs;
use self::ports::PortRange;
use self::warm_pool::WarmPool;
use super::{
    BackupSet, Credentials, Deployed, Endpoint, InstanceSpec, InstanceStatus, Platform,
    PlatformError, RestoreFrom, WarmPoolFill,
};
use toygres_domain::{InstanceName, PostgresVersion};

const SUPERUSER: &str = "postgres";
const DATABASE: &str = "postgres";
const HOST: &str = "127.0.0.1";
/// Where an adopted warm-pool directory waits until the instance's password is set.
const CLAIMED: &str = "claimed";
/// The authentication rules Toygres writes (`hba_file`), in place of initdb's.
const HBA_FILE: &str = "toygres_hba.conf";
/// A password over TCP; trust on the instance's private Unix socket, whose directory only
/// the server's OS user (and root) may enter: for pgBackRest and the platform itself.
const HBA_RULES: &str = "# Written by Toygres; rewritten at every start.\n\
    local all all trust\n\
    host all all 127.0.0.1/32 scram-sha-256\n";
/// Names the stanza the instance archives WAL to, once it has one.
const ARCHIVE_TO: &str = "archive-to";
/// Where a restore's copy of the backup waits, complete, for the server to start on it.
const STAGED: &str = "data.staged";
/// How long a restored server may take to replay its WAL and open.
const RESTORE_STARTUP: Duration = Duration::from_secs(3600);
/// How often a server that finds its port taken gets another one.
const PORT_ATTEMPTS: usize = 3;

/// What deploy fixes for the lifetime of an instance.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct InstanceFile {
    port: u16,
    postgres_major: u32,
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
}

impl Default for LocalConfig {
    fn default() -> Self {
        Self {
            port_range: PortRange::DEFAULT,
            max_concurrent_initdb: std::thread::available_parallelism().map_or(2, |n| n.get()),
            startup_timeout: Duration::from_secs(60),
        }
    }
}

pub struct LocalPlatform {
    root: PathBuf,
    binaries: PgBinaries,
    run_as: Option<RunAs>,
    config: LocalConfig,
    initdb_slots: Semaphore,
    /// Held while a port is chosen and recorded, so two deploys never pick the same one.
    port_allocation: Mutex<()>,
    warm_pool: WarmPool,
    backups: Repository,
}

impl LocalPlatform {
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
        let run_as = os_user::detect()?;
        std::fs::create_dir_all(&root).map_err(|e| io_error("creating", &root, e))?;
        if run_as.is_some() {
            // The postgres user must be able to traverse into its instance directories.
            std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o711))
                .map_err(|e| io_error("setting permissions on", &root, e))?;
        }
        if root.to_string_lossy().contains(['"', '\'', '$', '`', '\\']) {
            return Err(PlatformError::Unsupported(format!(
                "the instances directory {} must not contain quotes, $, ` or \\",
                root.display()
            )));
        }
        Ok(Self {
            warm_pool: WarmPool::new(&root, run_as),
            backups: Repository::new(&root, run_as),
            initdb_slots: Semaphore::new(config.max_concurrent_initdb.max(1)),
            port_allocation: Mutex::new(()),
            root,
            binaries,
            run_as,
            config,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory that holds everything of one instance.
    pub fn instance_dir(&self, name: &InstanceName) -> PathBuf {
        self.root.join(name.as_str())
    }

    fn cluster(&self, name: &InstanceName, major: u32) -> Result<PgCluster, PlatformError> {
        let install = self.binaries.for_major(major)?.clone();
        Ok(PgCluster::new(
            self.instance_dir(name).join("data"),
            install,
            self.run_as,
        ))
    }

    async fn read_instance_file(&self, name: &InstanceName) -> Result<InstanceFile, PlatformError> {
        let path = self.instance_dir(name).join("instance.json");
        match tokio::fs::read(&path).await {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| PlatformError::Failed(format!("{} is corrupt: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(PlatformError::NotFound(name.to_string()))
            }
            Err(e) => Err(io_error("reading", &path, e)),
        }
    }

    async fn write_instance_file(
        &self,
        dir: &Path,
        record: &InstanceFile,
    ) -> Result<(), PlatformError> {
        let json =
            serde_json::to_vec_pretty(record).map_err(|e| PlatformError::Failed(e.to_string()))?;
        cluster::write_file(&dir.join("instance.json"), &json).await
    }

    async fn ensure_instance_dir(&self, name: &InstanceName) -> Result<PathBuf, PlatformError> {
        let dir = self.instance_dir(name);
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| io_error("creating", &dir, e))?;
        secret_file::set_private(&dir)?;
        if let Some(run_as) = &self.run_as {
            run_as.give(&dir)?;
        }
        Ok(dir)
    }

    /// Writes the instance's configuration and authentication rules and makes its socket
    /// directory, before a start: every (re)start runs on the settings of this version of
    /// Toygres, whatever version made the instance.
    async fn configure(
        &self,
        cluster: &PgCluster,
        dir: &Path,
        port: u16,
    ) -> Result<(), PlatformError> {
        socket_dir::ensure(dir, self.run_as.as_ref()).await?;
        let hba = dir.join("data").join(HBA_FILE);
        cluster::write_file(&hba, HBA_RULES.as_bytes()).await?;
        if let Some(run_as) = &self.run_as {
            run_as.give(&hba)?;
        }
        cluster.configure(&self.cluster_settings(dir, port)).await
    }

    /// What Toygres writes into an instance's configuration: its port, its private
    /// socket, and WAL archiving to its stanza once it has one (see `backups`).
    fn cluster_settings(&self, dir: &Path, port: u16) -> ClusterSettings {
        let quoted = |value: String| format!("'{}'", value.replace('\'', "''"));
        let data = dir.join("data");
        ClusterSettings {
            port,
            extra: vec![
                (
                    "unix_socket_directories".into(),
                    quoted(socket_dir::for_instance(dir).display().to_string()),
                ),
                ("unix_socket_permissions".into(), "0700".into()),
                (
                    "hba_file".into(),
                    quoted(data.join(HBA_FILE).display().to_string()),
                ),
                ("archive_mode".into(), "on".into()),
                (
                    "archive_command".into(),
                    quoted(self.backups.archive_command(&dir.join(ARCHIVE_TO), &data)),
                ),
                ("archive_timeout".into(), "'60s'".into()),
            ],
        }
    }

    /// The directory of the instance a stanza (`<name>-<record id>`) belongs to.
    fn stanza_instance_dir(&self, stanza: &str) -> PathBuf {
        let name = stanza.rsplit_once('-').map_or(stanza, |(name, _)| name);
        self.root.join(name)
    }

    /// Stops the instance in `dir` archiving WAL into `stanza` (a no-op when it archives
    /// elsewhere, to a later record's stanza of the same name, or nowhere).
    async fn stop_archiving(&self, dir: &Path, stanza: &str) -> Result<(), PlatformError> {
        let marker = dir.join(ARCHIVE_TO);
        if tokio::fs::read_to_string(&marker).await.ok().as_deref() == Some(stanza) {
            tokio::fs::remove_file(&marker)
                .await
                .map_err(|e| io_error("removing", &marker, e))?;
        }
        Ok(())
    }

    /// What pgBackRest needs to reach an instance.
    async fn pg_target(&self, name: &InstanceName) -> Result<PgTarget, PlatformError> {
        let record = self.read_instance_file(name).await?;
        let dir = self.instance_dir(name);
        Ok(PgTarget {
            data_dir: dir.join("data"),
            port: record.port,
            socket_dir: socket_dir::for_instance(&dir),
        })
    }

    /// Creates the password file once; later deploys keep the password.
    fn ensure_password_file(&self, dir: &Path) -> Result<PathBuf, PlatformError> {
        let path = dir.join("password");
        if !path.is_file() {
            secret_file::write_new(&path, self.run_as.as_ref())?;
        }
        Ok(path)
    }

    /// Fixes the port and version at the first deploy; a later deploy must agree.
    async fn ensure_instance_file(
        &self,
        spec: &InstanceSpec,
        dir: &Path,
    ) -> Result<InstanceFile, PlatformError> {
        let wanted = spec.postgres_version.major();
        let _allocating = self.port_allocation.lock().await;
        match self.read_instance_file(&spec.name).await {
            Ok(existing) if existing.postgres_major == wanted => Ok(existing),
            Ok(existing) => Err(PlatformError::Unsupported(format!(
                "instance {} already exists with PostgreSQL {}, not {wanted}",
                spec.name, existing.postgres_major
            ))),
            Err(PlatformError::NotFound(_)) => {
                let record = InstanceFile {
                    port: self.free_port()?,
                    postgres_major: wanted,
                };
                self.write_instance_file(dir, &record).await?;
                Ok(record)
            }
            Err(other) => Err(other),
        }
    }

    /// A port of the range that no instance here has and nobody listens on.
    fn free_port(&self) -> Result<u16, PlatformError> {
        self.config
            .port_range
            .pick(&ports::recorded_under(&self.root), HOST)
    }

    /// Takes a warm data directory when the instance has none yet, and finishes moving one
    /// that an interrupted deploy claimed. True when the instance runs on a warm one.
    async fn adopt_warm_data(
        &self,
        dir: &Path,
        cluster: &PgCluster,
        major: u32,
    ) -> Result<bool, PlatformError> {
        let claimed = dir.join(CLAIMED);
        if !cluster.is_initialised()
            && !claimed.exists()
            && !self.warm_pool.claim(major, &claimed).await?
        {
            return Ok(false);
        }
        let warm_data = claimed.join("data");
        if warm_data.is_dir() && !cluster.is_initialised() {
            let data = dir.join("data");
            tokio::fs::rename(&warm_data, &data)
                .await
                .map_err(|e| io_error("moving a warm data directory to", &data, e))?;
        }
        Ok(claimed.exists())
    }

    /// Gives the superuser of an adopted warm directory the instance's own password.
    async fn finish_warm_claim(&self, dir: &Path, port: u16) -> Result<(), PlatformError> {
        let claimed = dir.join(CLAIMED);
        let bootstrap = claimed.join(warm_pool::BOOTSTRAP_PASSWORD);
        if bootstrap.is_file() {
            let bootstrap = read_secret(&bootstrap).await?;
            let own = read_secret(&dir.join("password")).await?;
            set_superuser_password(port, &bootstrap, &own).await?;
        }
        remove_dir_if_present(&claimed).await
    }

    /// Starts the server on its recorded port; a port someone else took meanwhile is
    /// replaced (only before the instance ever ran, since the port is fixed once known).
    async fn start_on_own_port(
        &self,
        cluster: &PgCluster,
        dir: &Path,
        mut record: InstanceFile,
        startup: Duration,
    ) -> Result<InstanceFile, PlatformError> {
        let log = dir.join("postgres.log");
        for attempt in 1..=PORT_ATTEMPTS {
            self.configure(cluster, dir, record.port).await?;
            match cluster.start(&log, Some(startup)).await {
                Ok(()) => return Ok(record),
                Err(error) if attempt < PORT_ATTEMPTS && self.port_was_taken(dir).await => {
                    tracing::warn!(port = record.port, %error, "instance port taken; choosing another");
                    let _allocating = self.port_allocation.lock().await;
                    record.port = self.free_port()?;
                    self.write_instance_file(dir, &record).await?;
                }
                Err(error) => {
                    return Err(PlatformError::Failed(format!(
                        "{error}; last log lines: {}",
                        log_tail(dir).await
                    )));
                }
            }
        }
        unreachable!("the last attempt returns")
    }

    async fn port_was_taken(&self, dir: &Path) -> bool {
        let log = tokio::fs::read_to_string(dir.join("postgres.log"))
            .await
            .unwrap_or_default();
        tail(&log, 600).contains("Address already in use")
    }
}

async fn read_secret(path: &Path) -> Result<String, PlatformError> {
    secret_file::read(path)
        .await
        .map_err(|e| io_error("reading", path, e))
}

/// Logs in with `current` and sets `new` as the superuser's password (as a SCRAM
/// verifier, so the plaintext never reaches the server). An earlier attempt may have set
/// it already and stopped before cleaning up: then `new` logs in and nothing is left to do.
async fn set_superuser_password(port: u16, current: &str, new: &str) -> Result<(), PlatformError> {
    let mut connection = match connect(port, current).await {
        Ok(connection) => connection,
        Err(_) if connect(port, new).await.is_ok() => return Ok(()),
        Err(e) => return Err(e),
    };
    let altered = alter_superuser_password(&mut connection, new).await;
    let _ = connection.close().await;
    altered
}

/// How long a delete waits for the instance's last WAL to be archived.
const FINAL_ARCHIVE_WAIT: Duration = Duration::from_secs(15);
/// How long `archive_now` waits for the archiver.
const ARCHIVE_WAIT: Duration = Duration::from_secs(60);

/// A superuser connection over the instance's private socket (trust there); statements
/// are not logged.
async fn connect_socket(target: &PgTarget) -> Result<PgConnection, PlatformError> {
    let options = PgConnectOptions::new()
        .socket(&target.socket_dir)
        .port(target.port)
        .username(SUPERUSER)
        .database(DATABASE)
        .log_statements(log::LevelFilter::Off)
        .log_slow_statements(log::LevelFilter::Off, Duration::MAX);
    PgConnection::connect_with(&options).await.map_err(|e| {
        PlatformError::Failed(format!(
            "connecting to {}: {e}",
            target.socket_dir.display()
        ))
    })
}

/// Waits until a server that replays WAL has finished and opened for writing.
async fn wait_until_open(
    target: &PgTarget,
    deadline: tokio::time::Instant,
) -> Result<(), PlatformError> {
    loop {
        if let Ok(mut connection) = connect_socket(target).await {
            let recovering: Result<bool, _> = sqlx::query_scalar("SELECT pg_is_in_recovery()")
                .fetch_one(&mut connection)
                .await;
            if recovering.is_ok_and(|recovering| !recovering) {
                return Ok(());
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(PlatformError::Failed(format!(
                "the restored server at {} did not open in time",
                target.socket_dir.display()
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Sets the superuser's password as a SCRAM verifier (the plaintext never reaches the
/// server, where a failed statement would be logged).
async fn alter_superuser_password(
    connection: &mut PgConnection,
    password: &str,
) -> Result<(), PlatformError> {
    let statement = format!(
        "ALTER ROLE {SUPERUSER} PASSWORD '{}'",
        scram::verifier(password)
    );
    connection
        .execute(sqlx::raw_sql(&statement))
        .await
        .map(|_| ())
        .map_err(|e| PlatformError::Failed(format!("setting the instance's password: {e}")))
}

/// A superuser connection to a local instance; statements are not logged.
async fn connect(port: u16, password: &str) -> Result<PgConnection, PlatformError> {
    let options = PgConnectOptions::new()
        .host(HOST)
        .port(port)
        .username(SUPERUSER)
        .password(password)
        .database(DATABASE)
        .log_statements(log::LevelFilter::Off)
        .log_slow_statements(log::LevelFilter::Off, Duration::MAX);
    PgConnection::connect_with(&options)
        .await
        .map_err(|e| PlatformError::Failed(format!("connecting to 127.0.0.1:{port}: {e}")))
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

    async fn deploy(&self, spec: &InstanceSpec) -> Result<Deployed, PlatformError> {
        let major = spec.postgres_version.major();
        // Refuse an uninstalled version before anything touches the disk.
        let cluster = self.cluster(&spec.name, major)?;
        let dir = self.ensure_instance_dir(&spec.name).await?;
        let password_file = self.ensure_password_file(&dir)?;
        let record = self.ensure_instance_file(spec, &dir).await?;
        let from_warm_pool = self.adopt_warm_data(&dir, &cluster, major).await?;
        if !cluster.is_initialised() {
            let _slot = self.initdb_slots.acquire().await.expect("never closed");
            cluster
                .init(SUPERUSER, &Auth::Password(password_file))
                .await?;
        }
        let record = self
            .start_on_own_port(&cluster, &dir, record, self.config.startup_timeout)
            .await?;
        self.finish_warm_claim(&dir, record.port).await?;
        Ok(Deployed { from_warm_pool })
    }

    async fn status(&self, name: &InstanceName) -> Result<InstanceStatus, PlatformError> {
        if !self.instance_dir(name).is_dir() {
            return Ok(InstanceStatus::Missing);
        }
        let record = match self.read_instance_file(name).await {
            Ok(record) => record,
            Err(PlatformError::NotFound(_)) => {
                return Ok(InstanceStatus::NotReady {
                    reason: "deployment has not finished".into(),
                });
            }
            Err(other) => return Err(other),
        };
        let cluster = self.cluster(name, record.postgres_major)?;
        if cluster.accepts_connections(record.port).await {
            return Ok(InstanceStatus::Ready);
        }
        let reason = match cluster.running_pid() {
            Some(pid) => format!("server (pid {pid}) is starting"),
            None => format!(
                "server is not running; last log lines: {}",
                log_tail(&self.instance_dir(name)).await
            ),
        };
        Ok(InstanceStatus::NotReady { reason })
    }

    async fn endpoint(&self, name: &InstanceName) -> Result<Endpoint, PlatformError> {
        let record = self.read_instance_file(name).await?;
        Ok(Endpoint {
            host: HOST.into(),
            port: record.port,
            user: SUPERUSER.into(),
            database: DATABASE.into(),
        })
    }

    async fn credentials(&self, name: &InstanceName) -> Result<Credentials, PlatformError> {
        let path = self.instance_dir(name).join("password");
        match secret_file::read(&path).await {
            Ok(password) => Ok(Credentials::new(SUPERUSER, password)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(PlatformError::NotFound(name.to_string()))
            }
            Err(e) => Err(io_error("reading", &path, e)),
        }
    }

    async fn delete(&self, name: &InstanceName) -> Result<(), PlatformError> {
        let dir = self.instance_dir(name);
        if !dir.exists() {
            return Ok(());
        }
        let major = match self.read_instance_file(name).await {
            Ok(record) => record.postgres_major,
            Err(_) => self.binaries.newest().major,
        };
        let install = self
            .binaries
            .for_major(major)
            .unwrap_or(self.binaries.newest())
            .clone();
        if dir.join(ARCHIVE_TO).exists() {
            // Its WAL up to now goes to the archive, so a point-in-time restore can reach
            // any moment until the delete.
            match tokio::time::timeout(FINAL_ARCHIVE_WAIT, self.archive_now(name)).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::warn!(instance = %name, %error, "last WAL not archived"),
                Err(_) => tracing::warn!(instance = %name, "last WAL not archived in time"),
            }
        }
        PgCluster::new(dir.join("data"), install, self.run_as)
            .stop(StopMode::Immediate)
            .await?;
        socket_dir::remove(&dir).await?;
        remove_dir_if_present(&dir).await
    }

    async fn stop(&self, name: &InstanceName) -> Result<(), PlatformError> {
        let record = match self.read_instance_file(name).await {
            Ok(record) => record,
            // Nothing deployed: nothing runs.
            Err(PlatformError::NotFound(_)) => return Ok(()),
            Err(other) => return Err(other),
        };
        self.cluster(name, record.postgres_major)?
            .stop(StopMode::Fast)
            .await
    }

    async fn start(&self, name: &InstanceName) -> Result<(), PlatformError> {
        let record = self.read_instance_file(name).await?;
        let cluster = self.cluster(name, record.postgres_major)?;
        if !cluster.is_initialised() {
            return Err(PlatformError::Unsupported(format!(
                "instance {name} has no data to start from"
            )));
        }
        let dir = self.instance_dir(name);
        self.configure(&cluster, &dir, record.port).await?;
        cluster
            .start(&dir.join("postgres.log"), Some(self.config.startup_timeout))
            .await
    }

    async fn restart(&self, name: &InstanceName, token: &str) -> Result<(), PlatformError> {
        let record = self.read_instance_file(name).await?;
        let dir = self.instance_dir(name);
        let done = dir.join("restarted-by");
        if tokio::fs::read_to_string(&done).await.ok().as_deref() == Some(token) {
            return Ok(());
        }
        let cluster = self.cluster(name, record.postgres_major)?;
        // The new server reads the settings of this version of Toygres.
        self.configure(&cluster, &dir, record.port).await?;
        let log = dir.join("postgres.log");
        match cluster.running_pid() {
            Some(_) => cluster.restart(&log, self.config.startup_timeout).await?,
            None => {
                cluster
                    .start(&log, Some(self.config.startup_timeout))
                    .await?
            }
        }
        cluster::write_file(&done, token.as_bytes()).await
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
        let target = self.pg_target(name).await?;
        if !target
            .socket_dir
            .join(format!(".s.PGSQL.{}", target.port))
            .exists()
        {
            // Its server was started by a version of Toygres without backups: no private
            // socket, no WAL archiving. A restart rewrites its settings.
            return Err(PlatformError::Unsupported(format!(
                "instance {name} was started before backups existed: restart it once \
                 (toygres-cli restart {name}) to enable WAL archiving, then back it up"
            )));
        }
        self.backups.ensure().await?;
        let marker = self.instance_dir(name).join(ARCHIVE_TO);
        if tokio::fs::read_to_string(&marker).await.ok().as_deref() != Some(stanza) {
            cluster::write_file(&marker, stanza.as_bytes()).await?;
            if let Some(run_as) = &self.run_as {
                run_as.give(&marker)?;
            }
        }
        self.backups.backup(stanza, &target, request).await
    }

    async fn backups(&self, stanza: &str) -> Result<Vec<BackupSet>, PlatformError> {
        self.backups.ensure().await?;
        self.backups.info(stanza).await
    }

    async fn expire_backups(&self, stanza: &str, keep: u32) -> Result<(), PlatformError> {
        self.backups.ensure().await?;
        self.backups.expire(stanza, keep).await
    }

    async fn remove_backup(&self, stanza: &str, label: &str) -> Result<(), PlatformError> {
        self.backups.ensure().await?;
        let sets = self.backups.info(stanza).await?;
        match sets.iter().any(|set| set.label == label) {
            false => Ok(()),
            // The last backup: its stanza and WAL go with it, and the instance (when it
            // still runs) stops archiving until its next backup starts a new series.
            true if sets.len() == 1 => {
                let dir = self.stanza_instance_dir(stanza);
                self.stop_archiving(&dir, stanza).await?;
                self.backups.delete_stanza(stanza, &dir.join("data")).await
            }
            true => self.backups.remove(stanza, label).await,
        }
    }

    async fn archive_now(&self, name: &InstanceName) -> Result<(), PlatformError> {
        let target = self.pg_target(name).await?;
        let mut connection = connect_socket(&target).await?;
        let segment: String = sqlx::query_scalar("SELECT pg_walfile_name(pg_switch_wal())")
            .fetch_one(&mut connection)
            .await
            .map_err(|e| PlatformError::Failed(format!("switching the WAL of {name}: {e}")))?;
        let deadline = tokio::time::Instant::now() + ARCHIVE_WAIT;
        loop {
            let archived: String =
                sqlx::query_scalar("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
                    .fetch_one(&mut connection)
                    .await
                    .map_err(|e| {
                        PlatformError::Failed(format!("reading the archiver of {name}: {e}"))
                    })?;
            // WAL file names of one timeline sort in the order they were written.
            if archived.get(8..) >= segment.get(8..) {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(PlatformError::Failed(format!(
                    "WAL segment {segment} of {name} was not archived within {}s",
                    ARCHIVE_WAIT.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn stage_restore(
        &self,
        spec: &InstanceSpec,
        from: &RestoreFrom,
    ) -> Result<(), PlatformError> {
        let cluster = self.cluster(&spec.name, spec.postgres_version.major())?;
        let dir = self.ensure_instance_dir(&spec.name).await?;
        self.ensure_password_file(&dir)?;
        self.ensure_instance_file(spec, &dir).await?;
        if cluster.is_initialised() || dir.join(STAGED).exists() {
            return Ok(());
        }
        self.restore_data(&dir, from).await
    }

    async fn restore(
        &self,
        spec: &InstanceSpec,
        _from: &RestoreFrom,
    ) -> Result<Deployed, PlatformError> {
        let cluster = self.cluster(&spec.name, spec.postgres_version.major())?;
        let dir = self.instance_dir(&spec.name);
        let record = self.read_instance_file(&spec.name).await?;
        if !cluster.is_initialised() {
            let data = dir.join("data");
            tokio::fs::rename(dir.join(STAGED), &data)
                .await
                .map_err(|e| io_error("moving the restored data to", &data, e))?;
        }
        // Returns once the server is consistent and takes read-only connections; it goes
        // on replaying up to its target (see `finish_restore`).
        self.start_on_own_port(&cluster, &dir, record, RESTORE_STARTUP)
            .await?;
        Ok(Deployed::default())
    }

    async fn finish_restore(&self, name: &InstanceName) -> Result<(), PlatformError> {
        let target = self.pg_target(name).await?;
        wait_until_open(&target, tokio::time::Instant::now() + RESTORE_STARTUP).await?;
        let own = read_secret(&self.instance_dir(name).join("password")).await?;
        let mut connection = connect_socket(&target).await?;
        let altered = alter_superuser_password(&mut connection, &own).await;
        let _ = connection.close().await;
        altered
    }

    fn has_warm_pool(&self) -> bool {
        true
    }

    async fn fill_warm_pool(&self, size: u32) -> Result<WarmPoolFill, PlatformError> {
        let install = self
            .binaries
            .for_major(self.default_version().major())?
            .clone();
        let major = install.major;
        let discarded = self.warm_pool.discard_half_made(major).await?;
        if discarded > 0 {
            tracing::warn!(
                discarded,
                "discarded warm-pool directories a crash left half-made"
            );
        }
        let mut fill = WarmPoolFill {
            ready: self.warm_pool.ready(major).len() as u32,
            made: 0,
        };
        while fill.ready < size {
            let _slot = self.initdb_slots.acquire().await.expect("never closed");
            self.warm_pool
                .make_one(major, |data| {
                    PgCluster::new(data, install.clone(), self.run_as)
                })
                .await?;
            fill.ready += 1;
            fill.made += 1;
        }
        Ok(fill)
    }
}

impl LocalPlatform {
    /// Restores `from` for the instance in `dir`, through a scratch directory renamed to
    /// [`STAGED`] when complete: a crash in the middle never leaves a half-restored copy.
    async fn restore_data(&self, dir: &Path, from: &RestoreFrom) -> Result<(), PlatformError> {
        let scratch = dir.join("data.restore");
        remove_dir_if_present(&scratch).await?;
        tokio::fs::create_dir_all(&scratch)
            .await
            .map_err(|e| io_error("creating", &scratch, e))?;
        secret_file::set_private(&scratch)?;
        if let Some(run_as) = &self.run_as {
            run_as.give(&scratch)?;
        }
        self.backups.ensure().await?;
        let data = dir.join("data");
        self.backups
            .restore(&from.stanza, &scratch, &data, &from.label, from.target)
            .await?;
        let staged = dir.join(STAGED);
        tokio::fs::rename(&scratch, &staged)
            .await
            .map_err(|e| io_error("moving the restored data to", &staged, e))
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

/// The last lines of the server log in instance directory `dir`, for error messages.
async fn log_tail(dir: &Path) -> String {
    match tokio::fs::read_to_string(dir.join("postgres.log")).await {
        Ok(log) => tail(log.trim(), 400).to_string(),
        Err(_) => "(no log)".into(),
    }
}
