//! A scripted platform: it answers from a script instead of running anything, so every
//! failure branch of create-instance runs in milliseconds, without `initdb`. It sits
//! beside the real platforms in the tests, never instead of them: every happy path and
//! every crash test still runs real PostgreSQL processes.
//!
//! A login still needs a real server: the scripted endpoint can be the test cluster,
//! which trusts loopback connections, so any password logs in.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::Notify;
use toygres_domain::{InstanceName, PostgresVersion};
use toygres_platform::{
    Credentials, Deployed, Endpoint, InstanceSpec, InstanceStatus, Login, Platform, PlatformError,
    Tls, Whose,
};
use uuid::Uuid;

/// What one platform call answers.
#[derive(Debug, Clone)]
pub enum Answer {
    Ok,
    NotFound,
    Unsupported(String),
    Failed(String),
}

impl Answer {
    fn into_result<T>(self, name: &InstanceName, ok: T) -> Result<T, PlatformError> {
        match self {
            Self::Ok => Ok(ok),
            Self::NotFound => Err(PlatformError::NotFound(name.to_string())),
            Self::Unsupported(reason) => Err(PlatformError::Unsupported(reason)),
            Self::Failed(reason) => Err(PlatformError::Failed(reason)),
        }
    }
}

/// The script: one answer per kind of call, the same every time.
#[derive(Debug, Clone)]
pub struct Script {
    pub deploy: Answer,
    pub status: InstanceStatus,
    pub endpoint: Answer,
    pub credentials: Answer,
    /// Where `endpoint` points when it answers.
    pub address: Endpoint,
}

impl Script {
    /// Everything works; logins go to `address`.
    pub fn healthy(address: Endpoint) -> Self {
        Self {
            deploy: Answer::Ok,
            status: InstanceStatus::Ready,
            endpoint: Answer::Ok,
            credentials: Answer::Ok,
            address,
        }
    }
}

/// Holds a call until the test lets it go: for "something happens in between" cases.
#[derive(Default)]
pub struct Gate {
    reached: Notify,
    released: Notify,
}

impl Gate {
    /// Waits until a call reaches the gate.
    pub async fn reached(&self) {
        self.reached.notified().await;
    }

    /// Lets the waiting call go on.
    pub fn release(&self) {
        self.released.notify_one();
    }

    async fn pass(&self) {
        self.reached.notify_one();
        self.released.notified().await;
    }
}

pub struct FakePlatform {
    script: Mutex<Script>,
    calls: Mutex<Vec<&'static str>>,
    /// When set, `credentials` stops here first.
    pub credentials_gate: Mutex<Option<Arc<Gate>>>,
}

impl FakePlatform {
    pub fn new(script: Script) -> Self {
        Self {
            script: Mutex::new(script),
            calls: Mutex::new(Vec::new()),
            credentials_gate: Mutex::new(None),
        }
    }

    /// Replaces the script (for the next instance a test creates).
    pub fn set_script(&self, script: Script) {
        *self.script.lock().expect("script") = script;
        self.calls.lock().expect("calls").clear();
    }

    /// The calls made so far, in order (`deploy`, `status`, `endpoint`, ...).
    pub fn calls(&self) -> Vec<&'static str> {
        self.calls.lock().expect("calls").clone()
    }

    fn answer(&self, call: &'static str) -> Script {
        self.calls.lock().expect("calls").push(call);
        self.script.lock().expect("script").clone()
    }
}

#[async_trait]
impl Platform for FakePlatform {
    fn kind(&self) -> &'static str {
        "fake"
    }

    fn check_version(&self, _version: PostgresVersion) -> Result<(), PlatformError> {
        Ok(())
    }

    fn default_version(&self) -> PostgresVersion {
        PostgresVersion::default()
    }

    async fn deploy(&self, spec: &InstanceSpec, _record: Uuid) -> Result<Deployed, PlatformError> {
        self.answer("deploy")
            .deploy
            .into_result(&spec.name, Deployed::default())
    }

    async fn status(&self, _name: &InstanceName) -> Result<InstanceStatus, PlatformError> {
        Ok(self.answer("status").status)
    }

    async fn endpoint(&self, name: &InstanceName) -> Result<Endpoint, PlatformError> {
        let script = self.answer("endpoint");
        script.endpoint.into_result(name, script.address)
    }

    async fn credentials(
        &self,
        name: &InstanceName,
        _login: Login,
    ) -> Result<Credentials, PlatformError> {
        let gate = self.credentials_gate.lock().expect("gate").clone();
        if let Some(gate) = gate {
            gate.pass().await;
        }
        self.answer("credentials")
            .credentials
            .into_result(name, Credentials::new("postgres", "scripted", "postgres"))
    }

    fn ca_certificate(&self) -> Option<String> {
        None
    }

    async fn delete(&self, _name: &InstanceName, _whose: Whose) -> Result<(), PlatformError> {
        self.answer("delete");
        Ok(())
    }

    async fn stop(&self, name: &InstanceName, _whose: Whose) -> Result<(), PlatformError> {
        self.answer("stop").deploy.into_result(name, ())
    }

    async fn start(&self, name: &InstanceName, _whose: Whose) -> Result<(), PlatformError> {
        self.answer("start").deploy.into_result(name, ())
    }

    async fn restart(
        &self,
        name: &InstanceName,
        _whose: Whose,
        _token: &str,
    ) -> Result<(), PlatformError> {
        self.answer("restart").deploy.into_result(name, ())
    }
}

/// The endpoint of the server behind a `postgres://user@host:port/db` URL (the test
/// cluster, which trusts loopback logins).
pub fn endpoint_of(url: &str) -> Endpoint {
    let after_at = url.rsplit_once('@').map_or(url, |(_, rest)| rest);
    let (address, database) = after_at.split_once('/').unwrap_or((after_at, "postgres"));
    let (host, port) = address.rsplit_once(':').expect("host:port in the URL");
    Endpoint {
        host: host.to_string(),
        port: port.parse().expect("a port"),
        user: "postgres".to_string(),
        database: database.split('?').next().unwrap_or("postgres").to_string(),
        tls: Tls::Off,
        standbys: Vec::new(),
    }
}
