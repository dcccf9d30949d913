//! The local platform: each instance is a real PostgreSQL server process on this machine.
//!
//! Layout of one instance, under the platform's root directory:
//!
//! ```text
//! <root>/<name>/instance.json   port and major version, fixed at the first deploy
//! <root>/<name>/password        the superuser's password, mode 0600
//! <root>/<name>/data/           PGDATA
//! <root>/<name>/postgres.log    server log
//! ```
//!
//! Everything the platform needs to find an instance again is in that directory, so a
//! restarted control plane picks up where it left off; servers run detached and keep
//! serving while the control plane is down.

pub mod binaries;
pub mod cluster;
pub mod os_user;

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use self::binaries::PgBinaries;
use self::cluster::{
    Auth, ClusterSettings, PgCluster, StopMode, io_error, remove_dir_if_present, tail,
};
use self::os_user::RunAs;
use super::{
    Credentials, Endpoint, InstanceSpec, InstanceStatus, Platform, PlatformError, password,
};
use crate::domain::{InstanceName, PostgresVersion};

const SUPERUSER: &str = "postgres";
const DATABASE: &str = "postgres";
const HOST: &str = "127.0.0.1";

/// What deploy fixes for the lifetime of an instance.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct InstanceFile {
    port: u16,
    postgres_major: u32,
}

pub struct LocalPlatform {
    root: PathBuf,
    binaries: PgBinaries,
    run_as: Option<RunAs>,
}

impl LocalPlatform {
    /// Instances live under `root`, which is created if needed. A relative `root` is
    /// resolved now: PostgreSQL tools run in other working directories.
    pub fn new(root: PathBuf, binaries: PgBinaries) -> Result<Self, PlatformError> {
        let root = std::path::absolute(&root).map_err(|e| io_error("resolving", &root, e))?;
        let run_as = os_user::detect()?;
        std::fs::create_dir_all(&root).map_err(|e| io_error("creating", &root, e))?;
        if run_as.is_some() {
            // The postgres user must be able to traverse into its instance directories.
            std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o711))
                .map_err(|e| io_error("setting permissions on", &root, e))?;
        }
        Ok(Self {
            root,
            binaries,
            run_as,
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

    async fn ensure_instance_dir(&self, name: &InstanceName) -> Result<PathBuf, PlatformError> {
        let dir = self.instance_dir(name);
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| io_error("creating", &dir, e))?;
        tokio::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .await
            .map_err(|e| io_error("setting permissions on", &dir, e))?;
        if let Some(run_as) = &self.run_as {
            run_as.give(&dir)?;
        }
        Ok(dir)
    }

    /// Creates the password file once; later deploys keep the password.
    fn ensure_password_file(&self, dir: &Path) -> Result<PathBuf, PlatformError> {
        let path = dir.join("password");
        if path.is_file() {
            return Ok(path);
        }
        let password = password::generate();
        let scratch = dir.join("password.tmp");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&scratch)
            .map_err(|e| io_error("creating", &scratch, e))?;
        file.write_all(password.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| io_error("writing", &scratch, e))?;
        if let Some(run_as) = &self.run_as {
            run_as.give(&scratch)?;
        }
        std::fs::rename(&scratch, &path).map_err(|e| io_error("renaming into", &path, e))?;
        Ok(path)
    }

    /// Fixes the port and version at the first deploy; a later deploy must agree.
    async fn ensure_instance_file(
        &self,
        spec: &InstanceSpec,
        dir: &Path,
    ) -> Result<InstanceFile, PlatformError> {
        let wanted = spec.postgres_version.major();
        match self.read_instance_file(&spec.name).await {
            Ok(existing) if existing.postgres_major == wanted => Ok(existing),
            Ok(existing) => Err(PlatformError::Unsupported(format!(
                "instance {} already exists with PostgreSQL {}, not {wanted}",
                spec.name, existing.postgres_major
            ))),
            Err(PlatformError::NotFound(_)) => {
                let record = InstanceFile {
                    port: free_port()?,
                    postgres_major: wanted,
                };
                let json = serde_json::to_vec_pretty(&record)
                    .map_err(|e| PlatformError::Failed(e.to_string()))?;
                cluster::write_file(&dir.join("instance.json"), &json).await?;
                Ok(record)
            }
            Err(other) => Err(other),
        }
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

    async fn deploy(&self, spec: &InstanceSpec) -> Result<(), PlatformError> {
        // Refuse an uninstalled version before anything touches the disk.
        let cluster = self.cluster(&spec.name, spec.postgres_version.major())?;
        let dir = self.ensure_instance_dir(&spec.name).await?;
        let password_file = self.ensure_password_file(&dir)?;
        let record = self.ensure_instance_file(spec, &dir).await?;
        cluster
            .init(SUPERUSER, &Auth::Password(password_file))
            .await?;
        cluster
            .configure(&ClusterSettings {
                port: record.port,
                extra: Vec::new(),
            })
            .await?;
        cluster.start(&dir.join("postgres.log")).await
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
        match tokio::fs::read_to_string(&path).await {
            Ok(password) => Ok(Credentials::new(SUPERUSER, password.trim())),
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
}

impl LocalPlatform {
    /// Stops an instance's server and keeps its files, so a later deploy starts it again.
    /// Instances belong to users and outlive the control plane; this is for the control
    /// plane's own embedded database.
    pub async fn stop(&self, name: &InstanceName) -> Result<(), PlatformError> {
        let record = match self.read_instance_file(name).await {
            Ok(record) => record,
            Err(PlatformError::NotFound(_)) => return Ok(()),
            Err(other) => return Err(other),
        };
        self.cluster(name, record.postgres_major)?
            .stop(StopMode::Fast)
            .await
    }

    async fn log_tail(&self, name: &InstanceName) -> String {
        let path = self.instance_dir(name).join("postgres.log");
        match tokio::fs::read_to_string(&path).await {
            Ok(log) => tail(log.trim(), 400).to_string(),
            Err(_) => "(no log)".into(),
        }
    }
}

/// A port nobody listens on right now, chosen by the kernel.
fn free_port() -> Result<u16, PlatformError> {
    std::net::TcpListener::bind((HOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| PlatformError::Failed(format!("allocating a port: {e}")))
}
