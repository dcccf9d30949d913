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
//! an instance works.

mod credentials;
pub mod kubernetes;
pub mod local;
pub mod password;
pub mod probe;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use toygres_domain::{InstanceName, PostgresVersion, StorageSize};

pub use credentials::Credentials;

/// What a user asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceSpec {
    pub name: InstanceName,
    pub postgres_version: PostgresVersion,
    pub storage: StorageSize,
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

/// Where to connect to an instance (everything but the password).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub database: String,
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

    /// Creates whatever is missing and starts the server; converges when repeated. Where
    /// the platform can tell, it returns once the server accepts connections.
    async fn deploy(&self, spec: &InstanceSpec) -> Result<Deployed, PlatformError>;

    async fn status(&self, name: &InstanceName) -> Result<InstanceStatus, PlatformError>;

    async fn endpoint(&self, name: &InstanceName) -> Result<Endpoint, PlatformError>;

    async fn credentials(&self, name: &InstanceName) -> Result<Credentials, PlatformError>;

    /// Stops the server and removes everything; an absent instance is success.
    async fn delete(&self, name: &InstanceName) -> Result<(), PlatformError>;

    /// Stops the server and keeps everything (data, port, password); a stopped instance
    /// is success.
    async fn stop(&self, name: &InstanceName) -> Result<(), PlatformError>;

    /// Starts a stopped instance's server again with its data, port and password; a
    /// running one is success. Returns once it accepts connections where the platform can
    /// tell (else `status` says).
    async fn start(&self, name: &InstanceName) -> Result<(), PlatformError>;

    /// Replaces the server process, keeping everything else. `token` names the request: a
    /// repeat with the same token restarts nothing.
    async fn restart(&self, name: &InstanceName, token: &str) -> Result<(), PlatformError>;

    /// Whether this platform keeps pre-initialised servers ready (see `fill_warm_pool`).
    fn has_warm_pool(&self) -> bool {
        false
    }

    /// Prepares servers ahead of time until `size` are ready for the default version.
    async fn fill_warm_pool(&self, _size: u32) -> Result<WarmPoolFill, PlatformError> {
        Ok(WarmPoolFill::default())
    }
}
