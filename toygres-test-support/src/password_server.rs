//! A real PostgreSQL server with a given superuser password on a given port: the database
//! behind a fake pod, and the baseline the benchmarks compare a create against.

use std::os::unix::fs::PermissionsExt;

use sqlx::Connection;
use toygres_platform::local::binaries::PgBinaries;
use toygres_platform::local::cluster::{Auth, ClusterSettings, PgCluster, StopMode};
use toygres_platform::local::os_user;

use crate::scratch;

/// The server's log, in its directory.
const LOG_FILE: &str = "postgres.log";

/// What a pod of the Kubernetes platform finds in its volumes and environment.
pub struct PodFiles {
    pub superuser_password: String,
    pub database: String,
    pub certificate: String,
    pub key: String,
    pub hba: String,
    pub init_sql: String,
}

/// Stopped (immediately) when dropped.
pub struct PasswordServer {
    cluster: PgCluster,
    dir: std::path::PathBuf,
    pub port: u16,
}

impl PasswordServer {
    /// initdb (scram-sha-256, superuser `postgres`), configure, start, and wait until it
    /// accepts connections on 127.0.0.1:`port`.
    pub async fn start(password: &[u8], port: u16) -> Self {
        let binaries = PgBinaries::discover(None).expect("PostgreSQL binaries");
        let run_as = os_user::detect().expect("an OS user for PostgreSQL");
        let dir = scratch::subdir("pg");
        let password_file = dir.join("password");
        std::fs::write(&password_file, password).expect("write the password file");
        if let Some(run_as) = &run_as {
            run_as.give(&dir).expect("chown the directory");
            run_as
                .give(&password_file)
                .expect("chown the password file");
        }
        let cluster = PgCluster::new(dir.join("data"), binaries.newest().clone(), run_as);
        cluster
            .init("postgres", &Auth::Password(password_file))
            .await
            .expect("initdb");
        cluster
            .configure(&ClusterSettings {
                port,
                extra: Vec::new(),
                tenant: Vec::new(),
            })
            .await
            .expect("configure");
        cluster
            .start(
                &dir.join(LOG_FILE),
                Some(std::time::Duration::from_secs(60)),
            )
            .await
            .expect("start");
        Self { cluster, dir, port }
    }

    /// The server's log (what a container's stderr would be).
    pub fn log_file(&self) -> std::path::PathBuf {
        self.dir.join(LOG_FILE)
    }

    /// What the official image does with a pod's volumes on an empty data directory, for
    /// a fake pod: the superuser's password, TLS with the mounted certificate, the
    /// database of `POSTGRES_DB`, the init script run as the superuser, and then the
    /// mounted authentication rules.
    pub async fn start_as_pod(pod: &PodFiles, port: u16) -> Self {
        let server = Self::start(pod.superuser_password.as_bytes(), port).await;
        let data = server.dir.join("data");
        let run_as = os_user::detect().expect("an OS user for PostgreSQL");
        for (file, content) in [
            ("server.crt", &pod.certificate),
            ("server.key", &pod.key),
            ("pod_hba.conf", &pod.hba),
        ] {
            let path = data.join(file);
            std::fs::write(&path, content).expect("write a pod file");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .expect("chmod a pod file");
            if let Some(run_as) = &run_as {
                run_as.give(&path).expect("chown a pod file");
            }
        }
        let url = format!(
            "postgres://postgres:{}@127.0.0.1:{port}/postgres",
            pod.superuser_password
        );
        let mut connection = sqlx::postgres::PgConnection::connect(&url)
            .await
            .expect("the superuser logs in");
        let create = format!("CREATE DATABASE \"{}\"", pod.database);
        for sql in [create.as_str(), pod.init_sql.as_str()] {
            sqlx::raw_sql(sql)
                .execute(&mut connection)
                .await
                .expect("the image's init step");
        }
        let _ = connection.close().await;
        let settings = [
            ("ssl", "on"),
            ("ssl_cert_file", "'server.crt'"),
            ("ssl_key_file", "'server.key'"),
            ("hba_file", "'pod_hba.conf'"),
        ];
        server
            .cluster
            .configure(&ClusterSettings {
                port,
                extra: settings
                    .iter()
                    .map(|(name, value)| (name.to_string(), value.to_string()))
                    .collect(),
                tenant: Vec::new(),
            })
            .await
            .expect("configure the pod's server");
        server.cluster.reload().await.expect("reload");
        server
    }

    /// `pg_ctl stop -m fast` and `rm -rf` of everything: what deleting an instance by
    /// hand takes.
    pub async fn stop_fast_and_remove(self) {
        self.cluster
            .stop(StopMode::Fast)
            .await
            .expect("stop PostgreSQL");
        tokio::fs::remove_dir_all(&self.dir)
            .await
            .expect("remove the data directory");
    }

    pub async fn stop(self) {
        self.cluster
            .stop(StopMode::Immediate)
            .await
            .expect("stop PostgreSQL");
    }
}

impl Drop for PasswordServer {
    fn drop(&mut self) {
        if let Some(pid) = self.cluster.running_pid() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGQUIT,
            );
        }
    }
}
