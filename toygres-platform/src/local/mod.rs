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

pub mod binaries;
pub mod cluster;
pub mod os_user;
pub mod ports;
mod scram;
mod secret_file;
mod warm_pool;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, Executor};
use tokio::sync::{Mutex, Semaphore};

use self::binaries::PgBinaries;
use self::cluster::{
    Auth, ClusterSettings, PgCluster, StopMode, io_error, remove_dir_if_present, tail,
};
use self::os_user::RunAs;
use self::ports::PortRange;
use self::warm_pool::WarmPool;
use super::{
    Credentials, Deployed, Endpoint, InstanceSpec, InstanceStatus, Platform, PlatformError,
    WarmPoolFill,
};
use toygres_domain::{InstanceName, PostgresVersion};

const SUPERUSER: &str = "postgres";
const DATABASE: &str = "postgres";
const HOST: &str = "127.0.0.1";
/// Where an adopted warm-pool directory waits until the instance's password is set.
const CLAIMED: &str = "claimed";
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
        Ok(Self {
            warm_pool: WarmPool::new(&root, run_as),
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
    ) -> Result<InstanceFile, PlatformError> {
        let log = dir.join("postgres.log");
        for attempt in 1..=PORT_ATTEMPTS {
            cluster
                .configure(&ClusterSettings {
                    port: record.port,
                    extra: Vec::new(),
                })
                .await?;
            match cluster.start(&log, Some(self.config.startup_timeout)).await {
                Ok(()) => return Ok(record),
                Err(error) if attempt < PORT_ATTEMPTS && self.port_was_taken(dir).await => {
                    tracing::warn!(port = record.port, %error, "instance port taken; choosing another");
                    let _allocating = self.port_allocation.lock().await;
                    record.port = self.free_port()?;
                    self.write_instance_file(dir, &record).await?;
                }
                Err(error) => return Err(error),
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
    let statement = format!("ALTER ROLE {SUPERUSER} PASSWORD '{}'", scram::verifier(new));
    let altered = connection.execute(sqlx::raw_sql(&statement)).await;
    let _ = connection.close().await;
    altered
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
        let record = self.start_on_own_port(&cluster, &dir, record).await?;
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
                self.log_tail(name).await
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
        PgCluster::new(dir.join("data"), install, self.run_as)
            .stop(StopMode::Immediate)
            .await?;
        remove_dir_if_present(&dir).await
    }

    async fn stop(&self, name: &InstanceName) -> Result<(), PlatformError> {
        let record = self.read_instance_file(name).await?;
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
        cluster
            .configure(&ClusterSettings {
                port: record.port,
                extra: Vec::new(),
            })
            .await?;
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
    /// Warm data directories ready for the default version.
    pub fn warm_pool_ready(&self) -> usize {
        self.warm_pool.ready(self.default_version().major()).len()
    }

    /// Where the warm pool keeps the directories of `major`.
    pub fn warm_pool_dir(&self, major: u32) -> PathBuf {
        self.warm_pool.major_dir(major)
    }

    async fn log_tail(&self, name: &InstanceName) -> String {
        let path = self.instance_dir(name).join("postgres.log");
        match tokio::fs::read_to_string(&path).await {
            Ok(log) => tail(log.trim(), 400).to_string(),
            Err(_) => "(no log)".into(),
        }
    }
}
