//! The real `toygres-server` binary as a child process, driven by the real `toygres-cli`.
//!
//! Binaries come from the same target directory as the running test (`cargo test
//! --workspace` builds both). Each server gets a free port and a data directory under the
//! scratch root; its logs go to `<data-dir>/server-<port>.log`.

use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use toygres_domain::InstanceName;
use toygres_domain::api::InstanceView;
use toygres_orchestrations::names;
use toygres_platform::certificates::CertificateAuthority;
use toygres_platform::local::binaries::PgBinaries;
use toygres_platform::local::{Accounts, LocalConfig, LocalPlatform};
use toygres_platform::{Credentials, Login, Platform};

use crate::TestDatabase;
use crate::control_plane::{duroxide_client, kill_orchestration};
use crate::database::free_port;
use crate::eventually::eventually;
use crate::scratch;

/// How to start a server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub data_dir: PathBuf,
    /// `None`: the embedded database.
    pub database_url: Option<String>,
    /// `None`: let the server generate one (embedded mode only).
    pub api_token: Option<String>,
    pub health_check_interval_secs: u64,
    /// More `toygres-server` flags.
    pub extra_args: Vec<String>,
    /// Serve the API over TLS (`--tls-cert`, `--tls-key`); the CLI trusts `ca`.
    pub api_tls: Option<ApiTls>,
}

/// The API's certificate and key, and the CA that signed them (PEM files).
#[derive(Debug, Clone)]
pub struct ApiTls {
    pub certificate: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

impl ApiTls {
    /// A fresh CA and a certificate from it for 127.0.0.1, in a scratch directory.
    pub fn for_loopback() -> Self {
        let ca = CertificateAuthority::generate().expect("a CA");
        let server = ca
            .issue_server(&["127.0.0.1".to_string()])
            .expect("a certificate");
        let dir = scratch::subdir("api-tls");
        let tls = Self {
            certificate: dir.join("server.crt"),
            key: dir.join("server.key"),
            ca: dir.join("ca.crt"),
        };
        std::fs::write(&tls.certificate, &server.certificate_pem).unwrap();
        std::fs::write(&tls.key, &server.key_pem).unwrap();
        std::fs::write(&tls.ca, ca.certificate_pem()).unwrap();
        tls
    }

    /// A client that trusts the CA.
    pub fn client(&self) -> reqwest::Client {
        let pem = std::fs::read(&self.ca).unwrap();
        reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
            .build()
            .unwrap()
    }
}

impl ServerOptions {
    /// Embedded database, generated token, a fresh data directory, 1 s health checks.
    pub fn embedded() -> Self {
        Self {
            data_dir: scratch::subdir("server"),
            database_url: None,
            api_token: None,
            health_check_interval_secs: 1,
            extra_args: Vec::new(),
            api_tls: None,
        }
    }

    /// An external database shared with other servers.
    pub fn external(database_url: &str, api_token: &str) -> Self {
        Self {
            database_url: Some(database_url.to_string()),
            api_token: Some(api_token.to_string()),
            ..Self::embedded()
        }
    }
}

pub struct TestServer {
    pub options: ServerOptions,
    pub url: String,
    pub token: String,
    /// This process's log (servers sharing a data directory log apart).
    pub log_path: PathBuf,
    child: Option<Child>,
}

impl TestServer {
    /// Starts a server and waits until it serves.
    pub async fn start(options: ServerOptions) -> Self {
        let mut server = Self::spawn(options);
        server.wait_until_serving().await;
        server.read_token();
        server
    }

    /// Starts a server without waiting for it (it may be waiting for its database);
    /// `wait_until_serving` waits.
    pub fn spawn(options: ServerOptions) -> Self {
        crate::init_tracing();
        let port = free_port();
        let scheme = if options.api_tls.is_some() {
            "https"
        } else {
            "http"
        };
        let url = format!("{scheme}://127.0.0.1:{port}");
        let log_path = options.data_dir.join(format!("server-{port}.log"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("open the server log");
        let mut command = Command::new(binary("toygres-server"));
        command
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(&options.data_dir)
            .arg("--health-check-interval-secs")
            .arg(options.health_check_interval_secs.to_string())
            .args(["--poll-interval-ms", "250", "--shutdown-grace-secs", "5"])
            .args(["--reconcile-interval-secs", "1"])
            .args(&options.extra_args)
            .env_remove("DATABASE_URL")
            .env_remove("TOYGRES_API_TOKEN")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log handle"))
            .stderr(log)
            .kill_on_drop(true);
        if let Some(database_url) = &options.database_url {
            command.env("DATABASE_URL", database_url);
        }
        if let Some(token) = &options.api_token {
            command.env("TOYGRES_API_TOKEN", token);
        }
        if let Some(tls) = &options.api_tls {
            command
                .arg("--tls-cert")
                .arg(&tls.certificate)
                .arg("--tls-key")
                .arg(&tls.key);
        }
        let child = command.spawn().expect("start toygres-server");
        Self {
            options,
            url,
            token: String::new(),
            log_path,
            child: Some(child),
        }
    }

    /// The token the server was given, or the one it generated.
    pub fn read_token(&mut self) {
        self.token = match &self.options.api_token {
            Some(token) => token.clone(),
            None => std::fs::read_to_string(self.options.data_dir.join("api-token"))
                .expect("the server wrote its API token")
                .trim()
                .to_string(),
        };
    }

    /// Waits until `/healthz` answers; panics (with the log) when the server exits first.
    pub async fn wait_until_serving(&mut self) {
        let health = format!("{}/healthz", self.url);
        let http = match &self.options.api_tls {
            Some(tls) => tls.client(),
            None => reqwest::Client::new(),
        };
        eventually("toygres-server to serve", Duration::from_secs(120), || {
            if let Some(status) = self.try_exit() {
                panic!("toygres-server exited with {status}:\n{}", self.log());
            }
            let (health, http) = (health.clone(), http.clone());
            async move {
                let response = http.get(&health).send().await.ok()?;
                response.status().is_success().then_some(())
            }
        })
        .await;
    }

    /// Runs `toygres-cli ARGS` against this server.
    pub async fn cli(&self, args: &[&str]) -> Output {
        self.cli_with_token(args, Some(&self.token)).await
    }

    pub async fn cli_with_token(&self, args: &[&str], token: Option<&str>) -> Output {
        self.cli_command(args, token)
            .output()
            .await
            .expect("run toygres-cli")
    }

    /// Runs `toygres-cli ARGS` with its stdout a pipe nobody reads (`| head` that has
    /// stopped reading): the reader's end is closed before the CLI writes.
    pub async fn cli_into_a_closed_pipe(&self, args: &[&str]) -> Output {
        let mut child = self
            .cli_command(args, Some(&self.token))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run toygres-cli");
        drop(child.stdout.take());
        child
            .wait_with_output()
            .await
            .expect("wait for toygres-cli")
    }

    /// Starts `toygres-cli ARGS` and leaves it running, its stdout a pipe to read (for
    /// commands that stream until interrupted). Killed when dropped.
    pub fn cli_spawn(&self, args: &[&str]) -> tokio::process::Child {
        self.cli_command(args, Some(&self.token))
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("run toygres-cli")
    }

    fn cli_command(&self, args: &[&str], token: Option<&str>) -> Command {
        let mut command = Command::new(binary("toygres-cli"));
        command
            .args(args)
            .env("TOYGRES_URL", &self.url)
            .env_remove("TOYGRES_TOKEN")
            // The CA files `connection-string` writes go to the scratch directory.
            .env("HOME", scratch::root())
            .current_dir(scratch::root())
            .stdin(Stdio::null());
        if let Some(tls) = &self.options.api_tls {
            command.env("TOYGRES_SERVER_CA", &tls.ca);
        }
        if let Some(token) = token {
            command.env("TOYGRES_TOKEN", token);
        }
        command
    }

    /// `cli`, asserting success; returns stdout.
    pub async fn cli_ok(&self, args: &[&str]) -> String {
        let output = self.cli(args).await;
        assert!(
            output.status.success(),
            "toygres-cli {args:?} failed ({}):\nstdout: {}\nstderr: {}\nserver log:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            self.log()
        );
        String::from_utf8(output.stdout).expect("utf-8 output")
    }

    pub fn pid(&self) -> Option<i32> {
        self.child.as_ref().and_then(|c| c.id()).map(|id| id as i32)
    }

    /// The exit status once the server has exited by itself.
    pub fn try_exit(&mut self) -> Option<std::process::ExitStatus> {
        self.child.as_mut()?.try_wait().ok().flatten()
    }

    /// `kill -9`: no shutdown, no cleanup.
    pub async fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("kill -9 toygres-server");
        }
    }

    /// SIGTERM, then waits for the process to exit; panics if it does not within 30 s.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("the server is running");
        let pid = Pid::from_raw(child.id().expect("a pid") as i32);
        kill(pid, Signal::SIGTERM).expect("send SIGTERM");
        tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .expect("toygres-server exits after SIGTERM")
            .expect("wait for toygres-server")
    }

    /// Starts the server again with the same options (same data directory).
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "stop the server before restarting it");
        let again = Self::start(self.options.clone()).await;
        *self = again;
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Where the server keeps a local instance's data directory.
    pub fn instance_data_dir(&self, name: &str) -> PathBuf {
        self.options
            .data_dir
            .join("instances")
            .join(name)
            .join("data")
    }

    /// A login of a local instance, read the way the platform reads it.
    pub async fn instance_credentials(&self, name: &str, login: Login) -> Credentials {
        self.local_platform("instances", Accounts::PerInstance)
            .credentials(&InstanceName::parse(name).expect("a valid name"), login)
            .await
            .expect("the instance's credentials")
    }

    /// The owner's password of a local instance.
    pub async fn instance_password(&self, name: &str) -> String {
        self.instance_credentials(name, Login::Owner)
            .await
            .password()
            .to_string()
    }

    /// The server's CA certificate file.
    pub fn ca_file(&self) -> PathBuf {
        self.options.data_dir.join("ca").join("ca.crt")
    }

    /// URL of the database the server uses (embedded or external), as the server logs in.
    pub async fn database_url(&self) -> String {
        if let Some(url) = &self.options.database_url {
            return url.clone();
        }
        let platform = self.local_platform("control-plane", Accounts::Dedicated("cms"));
        let name = InstanceName::parse("cms").expect("a valid name");
        let endpoint = platform.endpoint(&name).await.expect("embedded endpoint");
        let credentials = platform
            .credentials(&name, Login::Owner)
            .await
            .expect("embedded credentials");
        let url = credentials.connection_string(&endpoint);
        match endpoint.tls.sslmode() {
            Some(_) => format!("{url}&sslrootcert={}", self.ca_file().display()),
            None => url,
        }
    }

    /// A view of the server's local platform in `<data-dir>/<dir>`, with its CA.
    fn local_platform(&self, dir: &str, accounts: Accounts) -> LocalPlatform {
        let ca = CertificateAuthority::load_or_create(&self.options.data_dir.join("ca"))
            .expect("the server's CA");
        let config = LocalConfig {
            certificate_authority: Some(ca),
            accounts,
            ..LocalConfig::default()
        };
        LocalPlatform::with_config(
            self.options.data_dir.join(dir),
            PgBinaries::discover(None).expect("binaries"),
            config,
        )
        .expect("a local platform view")
    }

    /// Makes the delete of `name` fail: asks for it while a transaction holds the record's
    /// row lock (so it waits at its first step), kills its orchestration, lets go of the
    /// lock. Returns the failed delete's id.
    pub async fn fail_a_delete(&self, name: &str) -> String {
        let view: InstanceView =
            serde_json::from_str(&self.cli_ok(&["get", name, "-o", "json"]).await).unwrap();
        let db = TestDatabase::connect(&self.database_url().await).await;
        let client = duroxide_client(&db.url).await;
        let mut lock = db.pool.begin().await.unwrap();
        sqlx::query("SELECT 1 FROM toygres_cms.instances WHERE id = $1 FOR UPDATE")
            .bind(view.id)
            .execute(&mut *lock)
            .await
            .unwrap();
        self.cli_ok(&["delete", name]).await;
        let delete_id = names::instance_ids::delete_instance(view.id);
        kill_orchestration(&client, &delete_id).await;
        lock.rollback().await.unwrap();
        delete_id
    }
}

/// A workspace binary next to the running test executable (`target/<profile>/NAME`).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps/<test>");
    let path = profile_dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: run the tests with `cargo test --workspace` so every binary is built",
        path.display()
    );
    path
}
