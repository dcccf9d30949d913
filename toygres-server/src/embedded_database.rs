//! The embedded control-plane database: without `--database-url`, the server runs its own
//! PostgreSQL inside the data directory.
//!
//! It is an instance of the local platform rooted at `<data-dir>/control-plane`, so it is
//! created, started, found again after a restart (or a `kill -9`: the server process runs
//! detached), password-protected and reached over TLS exactly like a user's instance. As
//! root it runs under an OS account of its own (`toygres-cms-<root>`), so no instance's
//! account can read its files; the server logs in as its owner role (`cms`, not a
//! superuser) and verifies its certificate against the control plane's CA. The server
//! stops it on shutdown and keeps its data.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use secrecy::SecretString;
use toygres_domain::{
    DatabaseName, InstanceName, PostgresVersion, RoleName, Standbys, StorageSize,
};
use toygres_platform::certificates::CertificateAuthority;
use toygres_platform::local::binaries::PgBinaries;
use toygres_platform::local::{Accounts, LocalConfig, LocalPlatform};
use toygres_platform::{
    Access, InstanceSpec, InstanceStatus, Login, Platform, PlatformError, Whose,
};
use uuid::Uuid;

const NAME: &str = "cms";
const READY_TIMEOUT: Duration = Duration::from_secs(60);

pub struct EmbeddedDatabase {
    platform: LocalPlatform,
    name: InstanceName,
    url: SecretString,
}

impl EmbeddedDatabase {
    /// Starts the embedded database, or reuses it when it already runs. Its certificate
    /// comes from `ca`, whose certificate file is `ca_file`.
    pub async fn start(
        dir: PathBuf,
        binaries: PgBinaries,
        ca: CertificateAuthority,
        ca_file: &Path,
    ) -> anyhow::Result<Self> {
        let major = binaries.newest().major;
        let config = LocalConfig {
            certificate_authority: Some(ca),
            accounts: Accounts::Dedicated("cms"),
            ..LocalConfig::default()
        };
        let platform = LocalPlatform::with_config(dir, binaries, config)?;
        let spec = InstanceSpec {
            name: InstanceName::parse(NAME)?,
            postgres_version: PostgresVersion::new(major)?,
            storage: StorageSize::default(),
            access: Access {
                owner: RoleName::parse(NAME)?,
                database: DatabaseName::parse(NAME)?,
                superuser_access: false,
            },
            standbys: Standbys::NONE,
            settings: Default::default(),
        };
        platform
            .deploy(&spec, Uuid::nil())
            .await
            .context("starting the embedded database")?;
        wait_until_ready(&platform, &spec.name).await?;
        let endpoint = platform.endpoint(&spec.name).await?;
        let credentials = platform.credentials(&spec.name, Login::Owner).await?;
        let mut url = credentials.connection_string(&endpoint);
        if endpoint.tls.sslmode().is_some() {
            url.push_str(&format!("&sslrootcert={}", ca_file.display()));
        }
        Ok(Self {
            url: SecretString::from(url),
            platform,
            name: spec.name,
        })
    }

    pub fn url(&self) -> &SecretString {
        &self.url
    }

    /// Shuts the database down cleanly; its data stays for the next start.
    pub async fn stop(&self) -> anyhow::Result<()> {
        match self.platform.stop(&self.name, Whose::Any).await {
            Ok(()) | Err(PlatformError::NotFound(_)) => Ok(()),
            Err(other) => Err(other.into()),
        }
    }
}

async fn wait_until_ready(platform: &LocalPlatform, name: &InstanceName) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    loop {
        match platform.status(name).await? {
            InstanceStatus::Ready => return Ok(()),
            InstanceStatus::NotReady { reason } if tokio::time::Instant::now() >= deadline => {
                anyhow::bail!("the embedded database did not start: {reason}")
            }
            InstanceStatus::Missing => anyhow::bail!("the embedded database disappeared"),
            InstanceStatus::Failed { reason } => {
                anyhow::bail!("the embedded database cannot start: {reason}")
            }
            InstanceStatus::NotReady { .. } => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
